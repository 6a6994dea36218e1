/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* The session table: at most one session per device, so it is bounded by the devices file. Keys and
 * tokens are wiped when a session is dropped. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "macro.h"
#include "sim-session.h"

struct SimSessions {
        SimSession **sessions;
        size_t n_sessions;
};

static SimSession *session_free(SimSession *s) {
        if (!s)
                return NULL;
        free(s->product_key);
        free(s->device_name);
        erase_and_free(s->token);
        explicit_bzero(s->key, sizeof(s->key));
        sim_seqset_done(&s->used);
        free(s);
        return NULL;
}

int sim_sessions_new(SimSessions **ret) {
        SimSessions *s = calloc(1, sizeof(*s));

        if (!s)
                return -ENOMEM;
        *ret = s;
        return 0;
}

SimSessions *sim_sessions_free(SimSessions *s) {
        if (!s)
                return NULL;
        for (size_t i = 0; i < s->n_sessions; i++)
                session_free(s->sessions[i]);
        free(s->sessions);
        free(s);
        return NULL;
}

static SimSession *session_new(const SimSessionParams *p) {
        SimSession *x = calloc(1, sizeof(*x));

        if (!x)
                return NULL;
        x->product_key = strdup(p->product_key);
        x->device_name = strdup(p->device_name);
        x->token = strdup(p->token);
        if (!x->product_key || !x->device_name || !x->token)
                return session_free(x);
        memcpy(x->key, p->key, AES_KEY_SIZE);
        x->seq_offset = p->seq_offset;
        x->expires_usec = p->expires_usec;
        x->ack_mode = p->ack_mode;
        return x;
}

static SimSession **find_device(SimSessions *s, const char *product_key, const char *device_name) {
        for (size_t i = 0; i < s->n_sessions; i++)
                if (streq(s->sessions[i]->product_key, product_key) &&
                    streq(s->sessions[i]->device_name, device_name))
                        return &s->sessions[i];
        return NULL;
}

int sim_sessions_start(SimSessions *s, const SimSessionParams *p, SimSession **ret) {
        SimSession *x, **slot;

        if (isempty(p->product_key) || isempty(p->device_name) || isempty(p->token) || !p->key)
                return -EINVAL;

        x = session_new(p);
        if (!x)
                return -ENOMEM;

        slot = find_device(s, p->product_key, p->device_name);
        if (slot)
                session_free(*slot);
        else {
                SimSession **array = reallocarray(s->sessions, s->n_sessions + 1, sizeof(SimSession *));

                if (!array) {
                        session_free(x);
                        return -ENOMEM;
                }
                s->sessions = array;
                slot = &s->sessions[s->n_sessions++];
        }
        *slot = x;

        if (ret)
                *ret = x;
        return 0;
}

SimSession *sim_sessions_find(SimSessions *s, const void *token, size_t len) {
        for (size_t i = 0; i < s->n_sessions; i++) {
                SimSession *x = s->sessions[i];

                if (strlen(x->token) == len && memcmp(x->token, token, len) == 0)
                        return x;
        }
        return NULL;
}

size_t sim_sessions_count(const SimSessions *s) {
        return s->n_sessions;
}

bool sim_session_expired(const SimSession *s, uint64_t now_usec) {
        return now_usec >= s->expires_usec;
}

int sim_session_check_seq(const SimSession *s, uint32_t seq, bool strict) {
        if (seq < s->seq_offset || (strict && seq == s->seq_offset))
                return -ERANGE;
        if (sim_seqset_contains(&s->used, seq))
                return -EEXIST;
        return 0;
}

int sim_session_use_seq(SimSession *s, uint32_t seq) {
        return sim_seqset_add(&s->used, seq);
}
