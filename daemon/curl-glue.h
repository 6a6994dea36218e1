/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* One libcurl multi handle driven by sd-event (an io source per socket curl watches, one timer), and transfers
 * on caller-owned easy handles whose completion comes back through a callback. CURLcode stays in here. */
#pragma once

#include <curl/curl.h>
#include <systemd/sd-event.h>

#include "macro.h"

typedef struct CurlGlue CurlGlue;

/* error is 0 when an HTTP response arrived (whatever its status), else a negative errno:
 *   -EKEYREJECTED  the server's certificate failed verification (unknown CA, wrong host name, expired)
 *   -ENOKEY        the CA file could not be loaded
 *   -ECONNREFUSED, -EHOSTUNREACH (also name resolution), -ETIMEDOUT, -ECONNRESET, -EPROTO (TLS handshake),
 *   -EPROTONOSUPPORT (not an https:// URL), -EINVAL (bad URL), -ENOMEM, -EIO (anything else) */
typedef void (*curl_glue_done_t)(void *userdata, CURL *easy, int error);

int curl_glue_new(sd_event *event, CurlGlue **ret);
CurlGlue *curl_glue_free(CurlGlue *g);
DEFINE_TRIVIAL_CLEANUP_FUNC(CurlGlue *, curl_glue_free);

/* How many connections to the host may be open and kept alive at once (one by default): transfers beyond that
 * wait for a connection. */
int curl_glue_set_connections(CurlGlue *g, unsigned n);
/* Starts the transfer set up on easy (CURLOPT_ERRORBUFFER is the glue's to set). cb runs from
 * the event loop, never from inside this call. Returns 0, -EBUSY (easy is in progress already), -ENOMEM. */
int curl_glue_start(CurlGlue *g, CURL *easy, curl_glue_done_t cb, void *userdata);
/* Abandons the transfer on easy, if it is in progress, without calling its callback. */
void curl_glue_cancel(CurlGlue *g, CURL *easy);
