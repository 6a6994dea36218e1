/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* The NAME.conf files of a configuration directory (devices/, acl.d/), in name order, hidden files skipped. */
#pragma once

/* A NULL-terminated array of malloc'd paths "DIR/NAME.conf". Returns the count, -ENOENT when dir does not exist
 * (*ret_paths is then an empty array), or another negative errno. */
int conf_dir_list(const char *dir, char ***ret_paths);
char **conf_dir_list_free(char **paths);
