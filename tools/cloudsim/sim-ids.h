/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* Values the platform makes up (PROTOCOL.md A.5, E.7, E.21): the auth "random", seqOffset and token, the
 * cloud message id of option 2090, and the clocks they are measured with. */
#pragma once

#include <stddef.h>
#include <stdint.h>
#include <time.h>

#define SIM_RANDOM_BYTES 8              /* 16 lowercase hex characters */
#define SIM_SEQ_OFFSET_MAX 1000
#define SIM_TOKEN_RANDOM_CHARS 30
#define SIM_MESSAGE_ID_DIGITS 19

/* Returns 0, -ENOMEM, or -EIO if the random generator fails. */
int sim_random_hex(size_t n_bytes, char **ret);
/* 1..SIM_SEQ_OFFSET_MAX. */
int sim_random_seq_offset(uint32_t *ret);
/* SIM_TOKEN_RANDOM_CHARS of [A-Za-z0-9], '.', the first 4 characters of random (the doc's token shape). */
int sim_random_token(const char *random, char **ret);

/* A decimal id of SIM_MESSAGE_ID_DIGITS digits (milliseconds since the epoch times 10^6, plus a counter),
 * strictly greater than *last, which it updates. */
uint64_t sim_message_id_next(uint64_t *last, uint64_t now_ms);

/* The clock in microseconds. */
uint64_t sim_now(clockid_t clock);
