/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* Transports and the wall clock: certificate checks need a right clock (clock.h), so a device that verifies a
 * certificate makes no attempt and arms no timer while the clock is wrong; transport_clock_changed() in
 * transport.c sends at once when it is set. CoAP with AES or a PSK does not look at the clock. */
#pragma once

#include <stdbool.h>

typedef struct Transport Transport;

/* Whether the device's transport verifies a server certificate: https always, coap-dtls with CAFile=. */
bool transport_clock_matters(const Transport *t);

/* Called first by the drain: true if the device must wait for the clock (its State is then waiting-for-clock and
 * LastError names the clock). Looks at the clock again when it was wrong, so a clock set without notice is
 * noticed at the next attempt. */
bool transport_clock_wait(Transport *t);
