/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* Parsing numbers from configuration files and command lines. */
#pragma once

#include <stdint.h>

/* A decimal number in min..max, digits only (no sign, no blanks, nothing after it). Returns 0 or -EINVAL. */
int parse_u64(const char *s, uint64_t min, uint64_t max, uint64_t *ret);
