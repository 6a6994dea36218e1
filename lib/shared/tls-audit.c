/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* See tls-audit.h. */
#include <gnutls/gnutls.h>
#include <string.h>

#include "log.h"
#include "tls-audit.h"

static unsigned audit_count;

/* The text names the event ("Discarded message[3] due to invalid decryption"), never keys or payloads. */
static void on_audit(gnutls_session_t session, const char *text) {
        audit_count++;
        log_debug("GnuTLS: %.*s", (int) strcspn(text, "\n"), text);
}

void tls_audit_install(void) {
        gnutls_global_set_audit_log_function(on_audit);
}

unsigned tls_audit_count(void) {
        return audit_count;
}
