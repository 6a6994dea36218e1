/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* iotpub-cloudsim: local emulator of the Alibaba Cloud IoT Platform device endpoints. Exit status 0 on
 * SIGTERM/SIGINT, 2 for bad arguments or a bad devices or record file, 1 for other failures. */
#include "log.h"
#include "macro.h"
#include "sim-config.h"
#include "sim-server.h"

int main(int argc, char *argv[]) {
        _cleanup_(sim_server_freep) SimServer *server = NULL;
        SimConfig config;
        int r;

        log_setup("iotpub-cloudsim");
        r = sim_config_parse(argc, argv, &config);
        if (r != 0)
                return r < 0 ? 2 : 0;
        log_set_max_level(config.log_level);

        r = sim_server_new(&config, &server);
        if (r < 0)
                return r == -EINVAL || r == -ENOENT || r == -EACCES ? 2 : 1;
        r = sim_server_start(server);
        if (r < 0)
                return 1;
        return sim_server_run(server) < 0 ? 1 : 0;
}
