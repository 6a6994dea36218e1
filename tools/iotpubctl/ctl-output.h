/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* Output for iotpubctl: aligned tables with an optional legend, a streaming JSON writer producing one
 * compact document per line, and time formatting. */
#pragma once

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>

#include "ctl.h"

typedef struct Table Table;

Table *table_new(size_t n_columns, const char *const headers[]);
Table *table_free(Table *t);
DEFINE_TRIVIAL_CLEANUP_FUNC(Table *, table_free);
/* Appends one cell; rows fill left to right. NULL prints as "-". */
int table_add(Table *t, const char *cell);
int table_addf(Table *t, const char *format, ...) _printf_(2, 3);
/* Prints the header and a "N what listed." footer when legend is true. */
void table_print(const Table *t, bool legend, const char *what);

#define JSON_DEPTH_MAX 16

typedef struct Json {
        FILE *f;
        int depth;
        bool need_comma[JSON_DEPTH_MAX];
} Json;

/* key is NULL inside arrays and for the top-level value. */
void json_init(Json *j, FILE *f);
void json_begin_object(Json *j, const char *key);
void json_end_object(Json *j);
void json_begin_array(Json *j, const char *key);
void json_end_array(Json *j);
void json_string(Json *j, const char *key, const char *value);
void json_u64(Json *j, const char *key, uint64_t value);
void json_i64(Json *j, const char *key, int64_t value);
void json_bool(Json *j, const char *key, bool value);
void json_null(Json *j, const char *key);
/* A property's value with its D-Bus type. */
void json_property(Json *j, const Property *p);
/* Ends the top-level document with a newline and flushes. */
void json_finish(Json *j);

/* "2024-05-01 12:00:00 UTC"-style local time of a CLOCK_REALTIME microsecond value; "-" for 0. */
const char *format_usec(uint64_t usec, char *buf, size_t size);
