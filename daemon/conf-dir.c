/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* Listing a configuration directory's NAME.conf files; see conf-dir.h. */
#include <dirent.h>
#include <stdio.h>

#include "conf-dir.h"
#include "log.h"
#include "macro.h"

static int conf_filter(const struct dirent *de) {
        size_t n = strlen(de->d_name);

        return de->d_name[0] != '.' && n > 5 && streq(de->d_name + n - 5, ".conf");
}

char **conf_dir_list_free(char **paths) {
        for (char **p = paths; p && *p; p++)
                free(*p);
        free(paths);
        return NULL;
}

int conf_dir_list(const char *dir, char ***ret_paths) {
        struct dirent **list = NULL;
        char **paths;
        int n, err;

        n = scandir(dir, &list, conf_filter, alphasort);
        err = n < 0 ? -errno : 0;
        paths = calloc(n < 0 ? 1 : (size_t) n + 1, sizeof(char *));
        for (int i = 0; i < n; i++) {
                char *path;

                if (paths && asprintf(&path, "%s/%s", dir, list[i]->d_name) < 0)
                        paths = conf_dir_list_free(paths);
                else if (paths)
                        paths[i] = path;
                free(list[i]);
        }
        free(list);
        if (!paths)
                return -ENOMEM;
        if (err < 0 && err != -ENOENT) {
                conf_dir_list_free(paths);
                return err;
        }
        *ret_paths = paths;
        return err < 0 ? err : n;
}

int conf_dir_check(const char *dir, SafeFileFlags flags) {
        char reason[SAFE_FILE_REASON_MAX];
        int r;

        r = safe_dir_check(dir, flags, reason);
        if (r >= 0 || r == -ENOENT)
                return 0;
        return log_error_errno(r, "%s; nothing in it is loaded.", reason);
}
