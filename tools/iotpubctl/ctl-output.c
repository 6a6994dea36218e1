/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* Tables, JSON and time formatting for iotpubctl; see ctl-output.h. JSON is written by hand because every
 * string we print comes from D-Bus and is therefore valid UTF-8: only quoting and control characters need
 * escaping. */
#include <inttypes.h>
#include <stdarg.h>
#include <time.h>

#include "ctl-output.h"

struct Table {
        size_t n_columns;
        char **cells;
        size_t n_cells, allocated;
};

Table *table_new(size_t n_columns, const char *const headers[]) {
        Table *t = calloc(1, sizeof(Table));

        if (!t)
                return NULL;
        t->n_columns = n_columns;
        for (size_t i = 0; i < n_columns; i++)
                if (table_add(t, headers[i]) < 0)
                        return table_free(t);
        return t;
}

Table *table_free(Table *t) {
        if (!t)
                return NULL;
        for (size_t i = 0; i < t->n_cells; i++)
                free(t->cells[i]);
        free(t->cells);
        free(t);
        return NULL;
}

int table_add(Table *t, const char *cell) {
        char *s;

        if (t->n_cells == t->allocated) {
                size_t n = t->allocated ? t->allocated * 2 : 64;
                char **c = realloc(t->cells, n * sizeof(char *));

                if (!c)
                        return -ENOMEM;
                t->cells = c;
                t->allocated = n;
        }
        s = strdup(isempty(cell) ? "-" : cell);
        if (!s)
                return -ENOMEM;
        t->cells[t->n_cells++] = s;
        return 0;
}

int table_addf(Table *t, const char *format, ...) {
        _cleanup_free_ char *s = NULL;
        va_list ap;
        int r;

        va_start(ap, format);
        r = vasprintf(&s, format, ap);
        va_end(ap);
        if (r < 0)
                return -ENOMEM;
        return table_add(t, s);
}

void table_print(const Table *t, bool legend, const char *what) {
        size_t width[16] = {}, first = legend ? 0 : t->n_columns, rows = t->n_cells / t->n_columns - 1;

        for (size_t i = first; i < t->n_cells; i++) {
                size_t c = i % t->n_columns, l = strlen(t->cells[i]);

                if (c < ELEMENTSOF(width) && l > width[c])
                        width[c] = l;
        }
        for (size_t i = first; i < t->n_cells; i++) {
                size_t c = i % t->n_columns;
                bool last = c == t->n_columns - 1;

                if (last)
                        printf("%s\n", t->cells[i]);
                else
                        printf("%-*s  ", (int) width[MIN(c, ELEMENTSOF(width) - 1)], t->cells[i]);
        }
        if (legend)
                printf("\n%zu %s listed.\n", rows, what);
}

void json_init(Json *j, FILE *f) {
        *j = (Json) { .f = f };
}

static void json_write_string(FILE *f, const char *s) {
        fputc('"', f);
        for (const unsigned char *p = (const unsigned char *) strempty(s); *p; p++) {
                if (*p == '"' || *p == '\\')
                        fprintf(f, "\\%c", *p);
                else if (*p == '\n')
                        fputs("\\n", f);
                else if (*p == '\t')
                        fputs("\\t", f);
                else if (*p < 0x20 || *p == 0x7f)
                        fprintf(f, "\\u%04x", *p);
                else
                        fputc(*p, f);
        }
        fputc('"', f);
}

/* Comma and key before a value. */
static void json_prefix(Json *j, const char *key) {
        if (j->need_comma[j->depth])
                fputc(',', j->f);
        j->need_comma[j->depth] = true;
        if (key) {
                json_write_string(j->f, key);
                fputc(':', j->f);
        }
}

static void json_open(Json *j, const char *key, char c) {
        json_prefix(j, key);
        fputc(c, j->f);
        if (j->depth < JSON_DEPTH_MAX - 1)
                j->depth++;
        j->need_comma[j->depth] = false;
}

static void json_close(Json *j, char c) {
        fputc(c, j->f);
        if (j->depth > 0)
                j->depth--;
}

void json_begin_object(Json *j, const char *key) {
        json_open(j, key, '{');
}
void json_end_object(Json *j) {
        json_close(j, '}');
}
void json_begin_array(Json *j, const char *key) {
        json_open(j, key, '[');
}
void json_end_array(Json *j) {
        json_close(j, ']');
}

void json_string(Json *j, const char *key, const char *value) {
        json_prefix(j, key);
        json_write_string(j->f, value);
}

void json_u64(Json *j, const char *key, uint64_t value) {
        json_prefix(j, key);
        fprintf(j->f, "%" PRIu64, value);
}

void json_i64(Json *j, const char *key, int64_t value) {
        json_prefix(j, key);
        fprintf(j->f, "%" PRIi64, value);
}

void json_bool(Json *j, const char *key, bool value) {
        json_prefix(j, key);
        fputs(value ? "true" : "false", j->f);
}

void json_null(Json *j, const char *key) {
        json_prefix(j, key);
        fputs("null", j->f);
}

void json_property(Json *j, const Property *p) {
        switch (p->type) {
        case 's':
        case 'o':
                json_string(j, p->name, p->str);
                break;
        case 'b':
                json_bool(j, p->name, p->u);
                break;
        case 't':
        case 'u':
        case 'q':
        case 'y':
                json_u64(j, p->name, p->u);
                break;
        case 'x':
        case 'i':
        case 'n':
                json_i64(j, p->name, p->i);
                break;
        case 'd':
                json_prefix(j, p->name);
                fprintf(j->f, "%.17g", p->d);
                break;
        default:
                json_null(j, p->name);
        }
}

void json_finish(Json *j) {
        fputc('\n', j->f);
        fflush(j->f);
}

const char *format_usec(uint64_t usec, char *buf, size_t size) {
        time_t t = (time_t) (usec / 1000000);
        struct tm tm;

        if (usec == 0 || !localtime_r(&t, &tm) || strftime(buf, size, "%Y-%m-%d %H:%M:%S %Z", &tm) == 0)
                snprintf(buf, size, "-");
        return buf;
}
