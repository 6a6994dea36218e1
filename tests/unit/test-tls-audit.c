/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* GnuTLS's audit log function is process-wide, and libcoap 4.3.1 installs one that takes any GnuTLS session's
 * transport pointer for a coap_session_t. A DTLS record that does not decrypt, arriving on a session that is not
 * libcoap's (as libcurl's and libmicrohttpd's are not), made it crash the process: cloudsim died that way under
 * make bench-field. Here a DTLS-PSK pair over a socketpair, with plain file descriptors as transports as those
 * libraries use, gets a corrupted record after a libcoap context was made and tls_audit_install() ran: the record
 * is audited through our function, nothing crashes, and the session still works. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <coap3/coap.h>
#include <errno.h>
#include <gnutls/dtls.h>
#include <gnutls/gnutls.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "tls-audit.h"

#define ROUNDS 200 /* handshake steps at most */

typedef struct Pair {
        int fd[2];
        gnutls_session_t s[2]; /* [0] client, [1] server */
        gnutls_psk_client_credentials_t ccred;
        gnutls_psk_server_credentials_t scred;
} Pair;

static const gnutls_datum_t key = { .data = (unsigned char *) "0123456789abcdef", .size = 16 };

static int server_key(gnutls_session_t session, const char *username, gnutls_datum_t *ret) {
        ret->data = gnutls_malloc(key.size);
        if (!ret->data)
                return -1;
        memcpy(ret->data, key.data, key.size);
        ret->size = key.size;
        return 0;
}

static void pair_open(Pair *p) {
        assert_int_equal(socketpair(AF_UNIX, SOCK_DGRAM | SOCK_NONBLOCK, 0, p->fd), 0);
        assert_int_equal(gnutls_psk_allocate_client_credentials(&p->ccred), 0);
        assert_int_equal(gnutls_psk_set_client_credentials(p->ccred, "test", &key, GNUTLS_PSK_KEY_RAW), 0);
        assert_int_equal(gnutls_psk_allocate_server_credentials(&p->scred), 0);
        gnutls_psk_set_server_credentials_function(p->scred, server_key);
        for (int i = 0; i < 2; i++) {
                assert_int_equal(gnutls_init(&p->s[i], (i ? GNUTLS_SERVER : GNUTLS_CLIENT) | GNUTLS_DATAGRAM |
                                                               GNUTLS_NONBLOCK), 0);
                assert_int_equal(gnutls_priority_set_direct(p->s[i], "NORMAL:+PSK:-VERS-ALL:+VERS-DTLS1.2", NULL), 0);
                assert_int_equal(gnutls_credentials_set(p->s[i], GNUTLS_CRD_PSK, i ? (void *) p->scred
                                                                                   : (void *) p->ccred), 0);
                gnutls_transport_set_int(p->s[i], p->fd[i]);
                gnutls_dtls_set_mtu(p->s[i], 1400);
        }
}

static void pair_close(Pair *p) {
        for (int i = 0; i < 2; i++) {
                gnutls_deinit(p->s[i]);
                close(p->fd[i]);
        }
        gnutls_psk_free_client_credentials(p->ccred);
        gnutls_psk_free_server_credentials(p->scred);
}

static void handshake(Pair *p) {
        int r[2] = { GNUTLS_E_AGAIN, GNUTLS_E_AGAIN };

        for (unsigned i = 0; i < ROUNDS && (r[0] != 0 || r[1] != 0); i++)
                for (int j = 0; j < 2; j++)
                        if (r[j] != 0) {
                                r[j] = gnutls_handshake(p->s[j]);
                                assert_true(r[j] == 0 || r[j] == GNUTLS_E_AGAIN || r[j] == GNUTLS_E_INTERRUPTED);
                        }
        assert_int_equal(r[0], 0);
        assert_int_equal(r[1], 0);
}

/* What the server reads now: the record's plaintext length, or a GnuTLS error code. */
static ssize_t server_read(Pair *p, char *buf, size_t size) {
        return gnutls_record_recv(p->s[1], buf, size);
}

static void test_foreign_session_audit(void **state) {
        uint8_t raw[2048];
        char buf[256];
        coap_context_t *ctx;
        unsigned before;
        Pair p = {};
        ssize_t n;

        /* libcoap installs its audit function in coap_startup(); ours replaces it, as coap-glue and cloudsim do.
         * A context with its DTLS setup comes after, as in the daemon. */
        coap_startup();
        tls_audit_install();
        ctx = coap_new_context(NULL);
        assert_non_null(ctx);

        pair_open(&p);
        handshake(&p);

        /* A record that does not decrypt: the client's next record, one byte of its ciphertext flipped on the way. */
        assert_int_equal(gnutls_record_send(p.s[0], "first", 5), 5);
        n = recv(p.fd[1], raw, sizeof(raw), 0);
        assert_true(n > 13 + 5);
        raw[n - 1] ^= 0x5a;
        assert_int_equal(send(p.fd[0], raw, (size_t) n, 0), n);
        before = tls_audit_count();
        n = server_read(&p, buf, sizeof(buf));
        assert_true(n == GNUTLS_E_AGAIN || n == GNUTLS_E_INTERRUPTED);
        assert_int_equal(tls_audit_count(), before + 1);

        /* DTLS drops such a record and goes on. */
        assert_int_equal(gnutls_record_send(p.s[0], "second", 6), 6);
        n = server_read(&p, buf, sizeof(buf));
        assert_int_equal(n, 6);
        assert_memory_equal(buf, "second", 6);

        pair_close(&p);
        coap_free_context(ctx);
        coap_cleanup();
}

int main(void) {
        const struct CMUnitTest tests[] = {
                cmocka_unit_test(test_foreign_session_audit),
        };

        return cmocka_run_group_tests(tests, NULL, NULL);
}
