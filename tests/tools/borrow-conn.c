/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* borrow-conn: the "borrowed group" trick of issue 10 item 3. This process connects to the bus, forks a child
 * that keeps the connection, and execs PROGRAM (a setgid program) so that the connection's PID now runs with
 * another effective group. The child waits for that, then speaks D-Bus on the inherited socket and makes CALL.
 * A daemon that reads groups from /proc/PID at call time takes the borrowed group; one that uses the bus's
 * credentials (taken at connect time) does not. */

#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <sys/un.h>
#include <systemd/sd-bus.h>
#include <time.h>
#include <unistd.h>

#include "macro.h"

#define WAIT_STEP_MS 10
#define WAIT_STEPS 500 /* 5 s for the parent to exec PROGRAM */

static void usage(void) {
        fprintf(stderr, "usage: borrow-conn unix:path=SOCKET GID reload|publish DEVICE TOPIC -- PROGRAM [ARGS...]\n"
                        "Prints 'ok' or the D-Bus error name of CALL; exits 0 when CALL was made, 2 on a setup error.\n");
}

static int connect_bus(const char *address) {
        struct sockaddr_un sa = { .sun_family = AF_UNIX };
        const char *path = startswith(address, "unix:path=");
        size_t len;
        int fd;

        if (!path)
                return -EINVAL;
        len = strcspn(path, ",");
        if (len == 0 || len >= sizeof(sa.sun_path))
                return -EINVAL;
        memcpy(sa.sun_path, path, len);
        fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
        if (fd < 0)
                return -errno;
        if (connect(fd, (struct sockaddr *) &sa, sizeof(sa)) < 0) {
                close(fd);
                return -errno;
        }
        return fd;
}

/* The effective gid of pid, from the "Gid:" line of /proc/PID/status. */
static int proc_egid(pid_t pid, unsigned long *ret) {
        _cleanup_free_ char *line = NULL;
        char path[64];
        size_t alloc = 0;
        unsigned long real;
        FILE *f;
        int r = -ENOENT;

        (void) snprintf(path, sizeof(path), "/proc/%d/status", (int) pid);
        f = fopen(path, "re");
        if (!f)
                return -errno;
        while (getline(&line, &alloc, f) > 0)
                if (startswith(line, "Gid:") && sscanf(line + 4, "%lu %lu", &real, ret) == 2) {
                        r = 0;
                        break;
                }
        fclose(f);
        return r;
}

static int make_call(int fd, char **call) {
        _cleanup_(sd_bus_error_free) sd_bus_error error = SD_BUS_ERROR_NULL;
        _cleanup_(sd_bus_unrefp) sd_bus *bus = NULL;
        int r;

        /* The inherited descriptor: sd-bus authenticates and says Hello on it here, in the child. */
        r = sd_bus_new(&bus);
        if (r >= 0)
                r = sd_bus_set_fd(bus, fd, fd);
        if (r >= 0)
                r = sd_bus_set_bus_client(bus, 1);
        if (r >= 0)
                r = sd_bus_start(bus);
        if (r < 0) {
                fprintf(stderr, "borrow-conn: cannot start the bus connection: %s\n", strerror(-r));
                return 2;
        }
        if (streq(call[0], "reload"))
                r = sd_bus_call_method(bus, "org.iotpub1", "/org/iotpub1", "org.iotpub1.Manager", "Reload", &error,
                                       NULL, "");
        else
                r = sd_bus_call_method(bus, "org.iotpub1", "/org/iotpub1", "org.iotpub1.Manager", "Publish", &error,
                                       NULL, "ssaya{sv}", call[1], call[2], 3, 'a', 'b', 'c', 0);
        printf("%s\n", r >= 0 ? "ok" : error.name ? error.name : strerror(-r));
        return 0;
}

/* In the connecting process: fork the child that keeps the connection and makes the call, then become
 * PROGRAM. Never returns. */
static _Noreturn void borrow(const char *address, unsigned long gid, char **call, char **program) {
        unsigned long egid = 0;
        pid_t self = getpid(), child;
        int fd, r;

        fd = connect_bus(address);
        if (fd < 0) {
                fprintf(stderr, "borrow-conn: cannot connect to %s: %s\n", address, strerror(-fd));
                _exit(2);
        }
        child = fork();
        if (child < 0)
                _exit(2);
        if (child > 0) {
                execv(program[0], program);
                fprintf(stderr, "borrow-conn: cannot run %s: %m\n", program[0]);
                _exit(2);
        }
        for (int i = 0; i < WAIT_STEPS && (proc_egid(self, &egid) < 0 || egid != gid); i++)
                (void) nanosleep(&(struct timespec) { .tv_nsec = WAIT_STEP_MS * 1000000L }, NULL);
        if (egid != gid) {
                fprintf(stderr, "borrow-conn: PID %d never ran with effective group %lu\n", (int) self, gid);
                (void) kill(self, SIGTERM);
                _exit(2);
        }
        r = make_call(fd, call);
        fflush(stdout);
        (void) kill(self, SIGTERM);
        _exit(r);
}

int main(int argc, char *argv[]) {
        unsigned long gid;
        char **program, **call = argv + 3;
        pid_t connector, caller;
        int ncall, status;

        ncall = argc > 3 && streq(argv[3], "reload") ? 1 : argc > 3 && streq(argv[3], "publish") ? 3 : 0;
        if (ncall == 0 || argc < 3 + ncall + 2 || !streq(argv[3 + ncall], "--") || sscanf(argv[2], "%lu", &gid) != 1) {
                usage();
                return 2;
        }
        program = argv + 3 + ncall + 1;
        /* The connecting process becomes PROGRAM and its child makes the call; this one waits for that child
         * (a grandchild, found as a subreaper) and reports its status. */
        if (prctl(PR_SET_CHILD_SUBREAPER, 1) < 0)
                return 2;
        connector = fork();
        if (connector < 0)
                return 2;
        if (connector == 0)
                borrow(argv[1], gid, call, program);
        for (int i = 0; i < 3; i++) {
                caller = wait(&status);
                if (caller < 0)
                        return 2;
                if (caller != connector)
                        return WIFEXITED(status) ? WEXITSTATUS(status) : 2;
        }
        return 2;
}
