/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* Auth sessions of the AES mode: token, AES key, seqOffset, expiry and used seq values per device.
 * A successful /auth replaces the device's previous session (PROTOCOL.md A.5, A.6, A.9, E.4). */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "aes.h"
#include "sim-seqset.h"

typedef struct SimSession {
        char *product_key;
        char *device_name;
        char *token;
        uint8_t key[AES_KEY_SIZE];
        uint32_t seq_offset;
        uint64_t expires_usec;  /* CLOCK_MONOTONIC */
        int ack_mode;           /* as requested in /auth: 0 piggy-backed, 1 separate (E.13) */
        SimSeqSet used;
} SimSession;

typedef struct SimSessionParams {
        const char *product_key;
        const char *device_name;
        const char *token;
        const uint8_t *key;     /* AES_KEY_SIZE bytes */
        uint32_t seq_offset;
        uint64_t expires_usec;
        int ack_mode;
} SimSessionParams;

typedef struct SimSessions SimSessions;

int sim_sessions_new(SimSessions **ret);
SimSessions *sim_sessions_free(SimSessions *s);

/* Creates a session, dropping any earlier session of the same device. The returned pointer stays valid
 * until that device authenticates again or s is freed. Returns 0, -EINVAL, -ENOMEM. */
int sim_sessions_start(SimSessions *s, const SimSessionParams *p, SimSession **ret);
/* The session whose token is exactly these bytes, expired or not, or NULL. */
SimSession *sim_sessions_find(SimSessions *s, const void *token, size_t len);
size_t sim_sessions_count(const SimSessions *s);

bool sim_session_expired(const SimSession *s, uint64_t now_usec);
/* 0 if seq may be used now; -ERANGE if below seqOffset (or equal to it when strict); -EEXIST if used. */
int sim_session_check_seq(const SimSession *s, uint32_t seq, bool strict);
/* Marks seq as used. Returns 0, -EEXIST, -ENOBUFS (too many gaps), -ENOMEM. */
int sim_session_use_seq(SimSession *s, uint32_t seq);
