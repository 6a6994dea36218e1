/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* Unit tests for identity.c: identity files written to a temp directory, the three secret sources and their
 * permission checks, defaults, malformed files, and that no error message ever carries a secret. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <syslog.h>
#include <unistd.h>

#include "../../daemon/identity.h"
#include "log.h"
#include "macro.h"
#include "test-util.h"

#define SECRET_INLINE "Inl1neSecretValue7fd2a9c4e1b0"
#define SECRET_FILE "F1leSecretValue3c8e5a0d92b7"
#define SECRET_CRED "Cr3dSecretValue61b4f0e8a2d5"

static const char *const secrets[] = { SECRET_INLINE, SECRET_FILE, SECRET_CRED };

typedef struct Fixture {
        char dir[64];
        char creds[96];
        char log[96];
} Fixture;

static int setup(void **state) {
        Fixture *f = calloc(1, sizeof(*f));

        assert_non_null(f);
        test_mkdtemp(f->dir, sizeof(f->dir), "identity");
        (void) snprintf(f->creds, sizeof(f->creds), "%s/creds", f->dir);
        assert_int_equal(mkdir(f->creds, 0700), 0);
        (void) snprintf(f->log, sizeof(f->log), "%s/stderr.log", f->dir);
        /* Debug messages too: nothing at any level may carry a secret. */
        log_set_max_level(LOG_DEBUG);
        *state = f;
        return 0;
}

/* Everything the module logged during the test, with every secret that was on disk checked to be absent. */
static int teardown(void **state) {
        Fixture *f = *state;
        _cleanup_free_ char *log = test_read_file(f->log);

        test_rm_rf(f->dir);
        free(f);
        for (size_t i = 0; i < ELEMENTSOF(secrets); i++)
                assert_null(strstr(log, secrets[i]));
        return 0;
}

static const char *path_in(const Fixture *f, const char *name) {
        static char buf[4][256];
        static unsigned next;
        char *p = buf[next++ % ELEMENTSOF(buf)];

        (void) snprintf(p, sizeof(buf[0]), "%s/%s", f->dir, name);
        return p;
}

static void write_conf(const Fixture *f, const char *name, mode_t mode, const char *content) {
        test_write_file(path_in(f, name), mode, content);
}

/* identity_load() with stderr appended to the fixture's log, so teardown can look for secrets in it. */
static int load_with_creds(const Fixture *f, const char *name, const char *creds, Identity **ret) {
        int saved, fd, r;

        fflush(stderr);
        saved = dup(STDERR_FILENO);
        fd = open(f->log, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0600);
        assert_true(saved >= 0 && fd >= 0);
        assert_true(dup2(fd, STDERR_FILENO) >= 0);
        close(fd);

        r = identity_load(path_in(f, name), creds, ret);

        fflush(stderr);
        assert_true(dup2(saved, STDERR_FILENO) >= 0);
        close(saved);
        return r;
}

static int load(const Fixture *f, const char *name, Identity **ret) {
        return load_with_creds(f, name, NULL, ret);
}

static size_t log_size(const Fixture *f) {
        struct stat st;

        return stat(f->log, &st) < 0 ? 0 : (size_t) st.st_size;
}

static void assert_load_fails(const Fixture *f, const char *name, const char *creds, int error) {
        Identity *id = NULL;
        size_t before = log_size(f);

        assert_int_equal(load_with_creds(f, name, creds, &id), error);
        assert_null(id);
        /* Every refusal explains itself. */
        assert_true(log_size(f) > before);
}

static void test_inline_secret_defaults(void **state) {
        _cleanup_(identity_freep) Identity *id = NULL;
        Fixture *f = *state;

        write_conf(f, "sensor-1.conf", 0600,
                   "# a comment\n"
                   "[Device]\n"
                   "ProductKey = a1B2c3D4e5F\n"
                   "DeviceName = dev_01.x:y@z-1\n"
                   "Secret = " SECRET_INLINE "\n");
        assert_int_equal(load(f, "sensor-1.conf", &id), 0);
        assert_non_null(id);
        assert_string_equal(id->name, "sensor-1");
        assert_string_equal(id->path, path_in(f, "sensor-1.conf"));
        assert_string_equal(id->product_key, "a1B2c3D4e5F");
        assert_string_equal(id->device_name, "dev_01.x:y@z-1");
        assert_string_equal(id->secret, SECRET_INLINE);
        assert_string_equal(id->client_id, "a1B2c3D4e5F.dev_01.x:y@z-1");
        assert_string_equal(id->endpoint, "a1B2c3D4e5F.coap.cn-shanghai.link.aliyuncs.com:5682");
        assert_int_equal(id->transport, TRANSPORT_COAP_AES);
        assert_int_equal(id->sign_method, SIGN_HMACMD5);
        assert_null(id->ca_file);
}

static void test_explicit_settings(void **state) {
        _cleanup_(identity_freep) Identity *id = NULL, *dtls = NULL, *https = NULL;
        Fixture *f = *state;

        char conf[512];

        /* 0640 is the documented mode (root:iotpub); only "others" bits are refused. CAFile= must exist: it is
         * checked like the identity file before libcoap or libcurl get its path. */
        test_write_file(path_in(f, "ca.pem"), 0644, "-----BEGIN CERTIFICATE-----\n");
        (void) snprintf(conf, sizeof(conf),
                        "[Device]\n"
                        "ProductKey=pk1\n"
                        "DeviceName=dn1\n"
                        "ClientId=my|client&1\n"
                        "Secret=" SECRET_INLINE "\n"
                        "Transport=coap-dtls\n"
                        "Endpoint=127.0.0.1:15684\n"
                        "SignMethod=hmacSha256\n"
                        "CAFile=%s\n", path_in(f, "ca.pem"));
        write_conf(f, "full.conf", 0640, conf);
        assert_int_equal(load(f, "full.conf", &id), 0);
        assert_string_equal(id->client_id, "my|client&1");
        assert_int_equal(id->transport, TRANSPORT_COAP_DTLS);
        assert_string_equal(id->endpoint, "127.0.0.1:15684");
        assert_int_equal(id->sign_method, SIGN_HMACSHA256);
        assert_string_equal(id->ca_file, path_in(f, "ca.pem"));

        write_conf(f, "dtls.conf", 0600, "[Device]\nProductKey=pk2\nDeviceName=dn2\nSecret=" SECRET_INLINE "\nTransport=coap-dtls\n");
        assert_int_equal(load(f, "dtls.conf", &dtls), 0);
        assert_string_equal(dtls->endpoint, "pk2.coap.cn-shanghai.link.aliyuncs.com:5684");

        write_conf(f, "https.conf", 0600, "[Device]\nProductKey=pk3\nDeviceName=dn3\nSecret=" SECRET_INLINE "\nTransport=https\n");
        assert_int_equal(load(f, "https.conf", &https), 0);
        assert_string_equal(https->endpoint, "https://iot-as-http.cn-shanghai.aliyuncs.com");
}

static void test_secret_file(void **state) {
        _cleanup_(identity_freep) Identity *id = NULL;
        Fixture *f = *state;

        test_write_file(path_in(f, "secret"), 0600, SECRET_FILE "\n\n");
        /* The identity file itself holds no secret, so 0644 is fine for it. */
        write_conf(f, "dev.conf", 0644,
                   "[Device]\nProductKey=pk\nDeviceName=dn\n"
                   "SecretFile=/nonexistent\n");
        assert_load_fails(f, "dev.conf", NULL, -ENOENT);

        {
                char conf[512];

                (void) snprintf(conf, sizeof(conf), "[Device]\nProductKey=pk\nDeviceName=dn\nSecretFile=%s\n",
                                path_in(f, "secret"));
                write_conf(f, "dev.conf", 0644, conf);
        }
        assert_int_equal(load(f, "dev.conf", &id), 0);
        assert_string_equal(id->secret, SECRET_FILE); /* trailing newlines dropped */
        id = identity_free(id);

        /* A secret file others can read is refused. */
        assert_int_equal(chmod(path_in(f, "secret"), 0644), 0);
        assert_load_fails(f, "dev.conf", NULL, -EPERM);
        assert_int_equal(chmod(path_in(f, "secret"), 0604), 0);
        assert_load_fails(f, "dev.conf", NULL, -EPERM);

        /* Empty, too long, or not a regular file. */
        test_write_file(path_in(f, "secret"), 0600, "\n");
        assert_load_fails(f, "dev.conf", NULL, -EINVAL);
        test_write_file(path_in(f, "secret"), 0600,
                 SECRET_FILE SECRET_FILE SECRET_FILE "\n");
        assert_load_fails(f, "dev.conf", NULL, -EINVAL);
        assert_int_equal(unlink(path_in(f, "secret")), 0);
        assert_int_equal(mkdir(path_in(f, "secret"), 0700), 0);
        assert_load_fails(f, "dev.conf", NULL, -EINVAL);

        write_conf(f, "dev.conf", 0600, "[Device]\nProductKey=pk\nDeviceName=dn\nSecretFile=relative/path\n");
        assert_load_fails(f, "dev.conf", NULL, -EINVAL);
}

static void test_inline_secret_world_readable(void **state) {
        Fixture *f = *state;

        write_conf(f, "dev.conf", 0644, "[Device]\nProductKey=pk\nDeviceName=dn\nSecret=" SECRET_INLINE "\n");
        assert_load_fails(f, "dev.conf", NULL, -EPERM);
        write_conf(f, "dev.conf", 0601, "[Device]\nProductKey=pk\nDeviceName=dn\nSecret=" SECRET_INLINE "\n");
        assert_load_fails(f, "dev.conf", NULL, -EPERM);
}

static void test_secret_credential(void **state) {
        _cleanup_(identity_freep) Identity *id = NULL;
        Fixture *f = *state;
        char cred[256];

        (void) snprintf(cred, sizeof(cred), "%s/iotpub.dev", f->creds);
        /* systemd owns the credentials directory; the file's mode is not ours to check. */
        test_write_file(cred, 0444, SECRET_CRED "\n");
        write_conf(f, "dev.conf", 0644, "[Device]\nProductKey=pk\nDeviceName=dn\nSecretCredential=iotpub.dev\n");

        assert_int_equal(load_with_creds(f, "dev.conf", f->creds, &id), 0);
        assert_string_equal(id->secret, SECRET_CRED);

        assert_load_fails(f, "dev.conf", NULL, -ENOENT);
        write_conf(f, "dev.conf", 0644, "[Device]\nProductKey=pk\nDeviceName=dn\nSecretCredential=other\n");
        assert_load_fails(f, "dev.conf", f->creds, -ENOENT);
        write_conf(f, "dev.conf", 0644, "[Device]\nProductKey=pk\nDeviceName=dn\nSecretCredential=../x\n");
        assert_load_fails(f, "dev.conf", f->creds, -EINVAL);
}

static void test_secret_sources(void **state) {
        Fixture *f = *state;
        char conf[512];

        write_conf(f, "none.conf", 0600, "[Device]\nProductKey=pk\nDeviceName=dn\n");
        assert_load_fails(f, "none.conf", NULL, -EINVAL);

        test_write_file(path_in(f, "secret"), 0600, SECRET_FILE);
        (void) snprintf(conf, sizeof(conf),
                        "[Device]\nProductKey=pk\nDeviceName=dn\nSecret=" SECRET_INLINE "\nSecretFile=%s\n",
                        path_in(f, "secret"));
        write_conf(f, "two.conf", 0600, conf);
        assert_load_fails(f, "two.conf", NULL, -EINVAL);

        write_conf(f, "three.conf", 0600,
                   "[Device]\nProductKey=pk\nDeviceName=dn\nSecret=" SECRET_INLINE "\nSecretCredential=c\n");
        assert_load_fails(f, "three.conf", f->creds, -EINVAL);

        write_conf(f, "long.conf", 0600,
                   "[Device]\nProductKey=pk\nDeviceName=dn\nSecret=" SECRET_INLINE SECRET_INLINE SECRET_INLINE "\n");
        assert_load_fails(f, "long.conf", NULL, -EINVAL);
}

static void test_malformed(void **state) {
        static const struct {
                const char *content;
        } cases[] = {
                { "[Device]\nDeviceName=dn\nSecret=" SECRET_INLINE "\n" },                       /* no ProductKey */
                { "[Device]\nProductKey=pk\nSecret=" SECRET_INLINE "\n" },                       /* no DeviceName */
                { "[Device]\nProductKey=pk\nDeviceName=dn\nSecret=" SECRET_INLINE "\nColour=blue\n" },
                { "[Device]\nProductKey=pk\nDeviceName=dn\nSecret=" SECRET_INLINE "\njust some words\n" },
                { "[Device]\nProductKey=pk\nDeviceName=dn\nSecret " SECRET_INLINE "\n" },        /* no '=' */
                { "[Device\nProductKey=pk\nDeviceName=dn\nSecret=" SECRET_INLINE "\n" },
                { "[Devices]\nProductKey=pk\nDeviceName=dn\nSecret=" SECRET_INLINE "\n" },
                { "ProductKey=pk\nDeviceName=dn\nSecret=" SECRET_INLINE "\n" },                  /* no section */
                { "[Device]\nProductKey=pk\nDeviceName=dn\nSecret=" SECRET_INLINE "\nTransport=mqtt\n" },
                { "[Device]\nProductKey=pk\nDeviceName=dn\nSecret=" SECRET_INLINE "\nSignMethod=hmacsha512\n" },
                { "[Device]\nProductKey=pk-1\nDeviceName=dn\nSecret=" SECRET_INLINE "\n" },
                { "[Device]\nProductKey=pk\nDeviceName=d n\nSecret=" SECRET_INLINE "\n" },
                { "[Device]\nProductKey=pk\nDeviceName=dn\nSecret=" SECRET_INLINE "\nEndpoint=\n" },
                { "[Device]\nProductKey=pk\nDeviceName=dn\nSecret=" SECRET_INLINE "\nCAFile=ca.pem\n" },
                { "[Device]\nProductKey=pk\nDeviceName=dn\nSecret=" SECRET_INLINE "\nClientId=a b\n" },
                { "[Device]\nProductKey=pk\nDeviceName=dn\nSecret=\n" },
        };
        Fixture *f = *state;

        for (size_t i = 0; i < ELEMENTSOF(cases); i++) {
                write_conf(f, "dev.conf", 0600, cases[i].content);
                assert_load_fails(f, "dev.conf", NULL, -EINVAL);
        }

        /* A default ClientId longer than 64 characters needs an explicit one. */
        write_conf(f, "dev.conf", 0600,
                   "[Device]\nProductKey=abcdefghijklmnopqrstuvwxyz012345\nDeviceName=abcdefghijklmnopqrstuvwxyz012345\n"
                   "Secret=" SECRET_INLINE "\n");
        assert_load_fails(f, "dev.conf", NULL, -EINVAL);
}

static void test_file_names(void **state) {
        static const char *const bad[] = { "bad name.conf", "x.txt", ".conf", "dev.conf.bak", "dev.CONF",
                                           "d.e.conf" };
        Fixture *f = *state;

        for (size_t i = 0; i < ELEMENTSOF(bad); i++) {
                write_conf(f, bad[i], 0600, "[Device]\nProductKey=pk\nDeviceName=dn\nSecret=" SECRET_INLINE "\n");
                assert_load_fails(f, bad[i], NULL, -EINVAL);
        }
        assert_load_fails(f, "missing.conf", NULL, -ENOENT);
}

static void test_name_is_valid(void **state) {
        char longest[66];

        assert_true(identity_name_is_valid("a"));
        assert_true(identity_name_is_valid("sensor_1-A"));
        memset(longest, 'x', sizeof(longest));
        longest[64] = 0;
        assert_true(identity_name_is_valid(longest));
        longest[64] = 'x';
        longest[65] = 0;
        assert_false(identity_name_is_valid(longest));
        assert_false(identity_name_is_valid(""));
        assert_false(identity_name_is_valid("bad name"));
        assert_false(identity_name_is_valid("a.b"));
        assert_false(identity_name_is_valid("a/b"));
        assert_false(identity_name_is_valid("../x"));
        assert_false(identity_name_is_valid("é"));
}

static void test_transport_kind(void **state) {
        for (TransportKind k = 0; k < _TRANSPORT_KIND_MAX; k++)
                assert_int_equal(transport_kind_from_string(transport_kind_to_string(k)), k);
        assert_int_equal(transport_kind_from_string("coap-aes"), TRANSPORT_COAP_AES);
        assert_int_equal(transport_kind_from_string("coap-dtls"), TRANSPORT_COAP_DTLS);
        assert_int_equal(transport_kind_from_string("https"), TRANSPORT_HTTPS);
        assert_int_equal(transport_kind_from_string("COAP-AES"), _TRANSPORT_KIND_INVALID);
        assert_int_equal(transport_kind_from_string("mqtt"), _TRANSPORT_KIND_INVALID);
        assert_int_equal(transport_kind_from_string(""), _TRANSPORT_KIND_INVALID);
        assert_int_equal(transport_kind_from_string(NULL), _TRANSPORT_KIND_INVALID);
        assert_null(transport_kind_to_string(_TRANSPORT_KIND_MAX));
        assert_null(transport_kind_to_string(_TRANSPORT_KIND_INVALID));
}

/* The capture itself works: a refused load with a secret in the file did log, and not the secret. */
static void test_errors_never_carry_the_secret(void **state) {
        Fixture *f = *state;
        _cleanup_free_ char *log = NULL;

        write_conf(f, "dev.conf", 0644, "[Device]\nProductKey=pk\nDeviceName=dn\nSecret=" SECRET_INLINE "\n");
        assert_load_fails(f, "dev.conf", NULL, -EPERM);
        write_conf(f, "dev.conf", 0600, "[Device]\nSecret=" SECRET_INLINE "\nProductKey=pk\nDeviceName=dn\nX=1\n");
        assert_load_fails(f, "dev.conf", NULL, -EINVAL);

        log = test_read_file(f->log);
        assert_non_null(strstr(log, "dev.conf"));
        assert_null(strstr(log, SECRET_INLINE));
}

int main(void) {
        const struct CMUnitTest tests[] = {
                cmocka_unit_test_setup_teardown(test_inline_secret_defaults, setup, teardown),
                cmocka_unit_test_setup_teardown(test_explicit_settings, setup, teardown),
                cmocka_unit_test_setup_teardown(test_secret_file, setup, teardown),
                cmocka_unit_test_setup_teardown(test_inline_secret_world_readable, setup, teardown),
                cmocka_unit_test_setup_teardown(test_secret_credential, setup, teardown),
                cmocka_unit_test_setup_teardown(test_secret_sources, setup, teardown),
                cmocka_unit_test_setup_teardown(test_malformed, setup, teardown),
                cmocka_unit_test_setup_teardown(test_file_names, setup, teardown),
                cmocka_unit_test_setup_teardown(test_errors_never_carry_the_secret, setup, teardown),
                cmocka_unit_test(test_name_is_valid),
                cmocka_unit_test(test_transport_kind),
        };

        return cmocka_run_group_tests(tests, NULL, NULL);
}
