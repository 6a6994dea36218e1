/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* The NAME.conf files of a configuration directory (devices/, acl.d/), in name order, hidden files skipped. */
#pragma once

#include "safe-file.h"

/* A NULL-terminated array of malloc'd paths "DIR/NAME.conf". Returns the count, -ENOENT when dir does not exist
 * (*ret_paths is then an empty array), or another negative errno. */
int conf_dir_list(const char *dir, char ***ret_paths);
char **conf_dir_list_free(char **paths);

/* Whether the files in dir may be loaded: it must be a directory that only trusted users may write (see
 * safe_dir_check()), since whoever may write it may add, remove or replace the files in it. Logs the refusal
 * with the fix and returns -EPERM or -EINVAL; 0 when it is fine or does not exist. */
int conf_dir_check(const char *dir, SafeFileFlags flags);
