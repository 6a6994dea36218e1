/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* GnuTLS has one process-wide audit log function. libcoap 4.3.1 installs its own in coap_startup(), and that
 * one takes whatever gnutls_transport_get_ptr() returns for a coap_session_t, so a GnuTLS session of anything
 * else in the process (libcurl's, libmicrohttpd's) that has something to audit -- a record that does not decrypt,
 * say, which anyone on the network can send -- crashes the process. tls_audit_install() puts a function in its
 * place that only logs the text, at debug level. Call it right after coap_startup() (libcoap sets the function
 * nowhere else: its coap_dtls_startup() is the only caller of gnutls_global_set_audit_log_function()). */
#pragma once

void tls_audit_install(void);

/* How many audit messages were logged (for the tests). */
unsigned tls_audit_count(void);
