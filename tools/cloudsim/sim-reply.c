/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* SimReply helpers: option and payload setters, deep copy, comparison. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "macro.h"
#include "sim-reply.h"

int sim_reply_add_option(SimReply *r, uint16_t number, const void *value, size_t len) {
        SimReplyOption *o;

        if (r->n_options >= SIM_REPLY_OPTIONS_MAX)
                return -ENOBUFS;
        if (len > SIM_REPLY_OPTION_VALUE_MAX)
                return -E2BIG;
        if (r->n_options > 0 && r->options[r->n_options - 1].number > number)
                return -EINVAL;

        o = &r->options[r->n_options++];
        o->number = number;
        o->len = (uint8_t) len;
        if (len > 0)
                memcpy(o->value, value, len);
        return 0;
}

int sim_reply_add_uint_option(SimReply *r, uint16_t number, uint32_t value) {
        uint8_t buf[4];
        size_t n = 0;

        for (int shift = 24; shift >= 0; shift -= 8) {
                uint8_t b = (uint8_t) (value >> shift);

                if (n == 0 && b == 0)
                        continue;
                buf[n++] = b;
        }
        return sim_reply_add_option(r, number, buf, n);
}

int sim_reply_set_payload(SimReply *r, const void *data, size_t len) {
        uint8_t *p = NULL;

        if (len > 0) {
                p = malloc(len);
                if (!p)
                        return -ENOMEM;
                memcpy(p, data, len);
        }
        free(r->payload);
        r->payload = p;
        r->payload_len = len;
        return 0;
}

int sim_reply_copy(const SimReply *src, SimReply *ret) {
        SimReply c = *src;

        c.payload = NULL;
        c.payload_len = 0;
        if (sim_reply_set_payload(&c, src->payload, src->payload_len) < 0)
                return -ENOMEM;
        *ret = c;
        return 0;
}

bool sim_reply_equal(const SimReply *a, const SimReply *b) {
        if (a->code != b->code || a->form != b->form || a->n_options != b->n_options ||
            a->payload_len != b->payload_len)
                return false;
        for (size_t i = 0; i < a->n_options; i++) {
                const SimReplyOption *x = &a->options[i], *y = &b->options[i];

                if (x->number != y->number || x->len != y->len || memcmp(x->value, y->value, x->len) != 0)
                        return false;
        }
        return a->payload_len == 0 || memcmp(a->payload, b->payload, a->payload_len) == 0;
}

void sim_reply_done(SimReply *r) {
        if (!r)
                return;
        free(r->payload);
        *r = (SimReply) {};
}
