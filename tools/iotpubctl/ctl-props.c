/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* Properties.GetAll into a small typed list, so that status, show and check read every property of an
 * object in one round trip and print them without knowing each one in advance. */
#include <inttypes.h>

#include "ctl.h"

void properties_done(Properties *p) {
        for (size_t i = 0; i < p->n; i++) {
                free(p->items[i].name);
                free(p->items[i].str);
        }
        free(p->items);
        *p = (Properties) {};
}

static int property_read_value(sd_bus_message *m, Property *p) {
        const char *contents, *s;
        union { uint8_t y; int b; uint16_t q; int16_t n; uint32_t u; int32_t i; uint64_t t; int64_t x; } v;
        int r;

        r = sd_bus_message_peek_type(m, NULL, &contents);
        if (r < 0)
                return r;
        p->type = contents[1] == '\0' ? contents[0] : '?';
        r = sd_bus_message_enter_container(m, 'v', contents);
        if (r < 0)
                return r;
        switch (p->type) {
        case 's': case 'o':
                r = sd_bus_message_read_basic(m, p->type, &s);
                if (r >= 0 && !(p->str = strdup(s)))
                        r = -ENOMEM;
                break;
        case 'b': r = sd_bus_message_read_basic(m, 'b', &v.b); p->u = !!v.b; break;
        case 'y': r = sd_bus_message_read_basic(m, 'y', &v.y); p->u = v.y; break;
        case 'q': r = sd_bus_message_read_basic(m, 'q', &v.q); p->u = v.q; break;
        case 'u': r = sd_bus_message_read_basic(m, 'u', &v.u); p->u = v.u; break;
        case 't': r = sd_bus_message_read_basic(m, 't', &v.t); p->u = v.t; break;
        case 'n': r = sd_bus_message_read_basic(m, 'n', &v.n); p->i = v.n; break;
        case 'i': r = sd_bus_message_read_basic(m, 'i', &v.i); p->i = v.i; break;
        case 'x': r = sd_bus_message_read_basic(m, 'x', &v.x); p->i = v.x; break;
        case 'd': r = sd_bus_message_read_basic(m, 'd', &p->d); break;
        default:
                /* Containers are not part of our API; skip them rather than fail. */
                p->type = '?';
                r = sd_bus_message_skip(m, contents);
        }
        if (r < 0)
                return r;
        return sd_bus_message_exit_container(m);
}

int properties_read(sd_bus_message *m, Properties *p) {
        const char *name;
        int r;

        r = sd_bus_message_enter_container(m, 'a', "{sv}");
        if (r < 0)
                return r;
        while ((r = sd_bus_message_enter_container(m, 'e', "sv")) > 0) {
                Property *items = realloc(p->items, (p->n + 1) * sizeof(Property));

                if (!items)
                        return -ENOMEM;
                p->items = items;
                r = sd_bus_message_read(m, "s", &name);
                if (r < 0)
                        return r;
                p->items[p->n] = (Property) { .name = strdup(name) };
                if (!p->items[p->n].name)
                        return -ENOMEM;
                r = property_read_value(m, &p->items[p->n++]);
                if (r < 0)
                        return r;
                r = sd_bus_message_exit_container(m);
                if (r < 0)
                        return r;
        }
        if (r < 0)
                return r;
        return sd_bus_message_exit_container(m);
}

int ctl_get_all(sd_bus *bus, const char *path, const char *iface, const char *device, Properties *ret) {
        _cleanup_(sd_bus_message_unrefp) sd_bus_message *reply = NULL;
        int r;

        r = ctl_call(bus, path, "org.freedesktop.DBus.Properties", "GetAll", device, &reply, "s", iface);
        if (r != CTL_EXIT_OK)
                return r;
        r = properties_read(reply, ret);
        if (r < 0) {
                properties_done(ret);
                return ctl_error(CTL_EXIT_FAILED, "Cannot parse the properties of %s: %s", path, strerror(-r));
        }
        return CTL_EXIT_OK;
}

const Property *properties_find(const Properties *p, const char *name) {
        for (size_t i = 0; i < p->n; i++)
                if (streq(p->items[i].name, name))
                        return &p->items[i];
        return NULL;
}

const char *properties_str(const Properties *p, const char *name) {
        const Property *x = properties_find(p, name);

        return x && x->str ? x->str : "";
}

uint64_t properties_u64(const Properties *p, const char *name) {
        const Property *x = properties_find(p, name);

        return x ? x->u : 0;
}

void property_print_value(const Property *p, FILE *f) {
        switch (p->type) {
        case 's': case 'o': fputs(p->str, f); break;
        case 'b': fputs(p->u ? "yes" : "no", f); break;
        case 'x': case 'i': case 'n': fprintf(f, "%" PRIi64, p->i); break;
        case 'd': fprintf(f, "%g", p->d); break;
        case '?': fputs("[unsupported type]", f); break;
        default: fprintf(f, "%" PRIu64, p->u);
        }
}
