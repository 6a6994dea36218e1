/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* libiotpub: bad arguments give -EINVAL without any bus traffic (checked on a socket that records what the
 * library wrote), and D-Bus error names map to the documented errno values. */
#include <errno.h>
#include <fcntl.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include <cmocka.h>

#include "client.h"
#include "iotpub.h"
#include "macro.h"
#include "test-util.h"

typedef struct Fixture {
        char dir[64];
        char address[128];
        int listen_fd;
        iotpub *client;
} Fixture;

/* A listening socket that never answers: the library can connect (so a stray call would show up in what it
 * wrote) but can never get a reply. */
static int setup(void **state) {
        struct sockaddr_un sa = { .sun_family = AF_UNIX };
        Fixture *f = calloc(1, sizeof(*f));

        assert_non_null(f);
        test_mkdtemp(f->dir, sizeof(f->dir), "client-args");
        snprintf(sa.sun_path, sizeof(sa.sun_path), "%s/bus", f->dir);
        snprintf(f->address, sizeof(f->address), "unix:path=%s", sa.sun_path);
        f->listen_fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
        assert_true(f->listen_fd >= 0);
        assert_int_equal(bind(f->listen_fd, (struct sockaddr *) &sa, sizeof(sa)), 0);
        assert_int_equal(listen(f->listen_fd, 4), 0);
        assert_int_equal(iotpub_open_address(f->address, &f->client), 0);
        *state = f;
        return 0;
}

static int teardown(void **state) {
        Fixture *f = *state;

        assert_null(iotpub_close(f->client));
        safe_close(f->listen_fd);
        test_rm_rf(f->dir);
        free(f);
        return 0;
}

/* Everything the library wrote to the bus so far (only the connection's authentication is allowed). */
static size_t written(Fixture *f, char *buf, size_t size) {
        size_t n = 0;
        ssize_t l;
        int fd;

        fd = accept4(f->listen_fd, NULL, NULL, SOCK_CLOEXEC | SOCK_NONBLOCK);
        assert_true(fd >= 0);
        while (n < size && (l = read(fd, buf + n, size - n)) > 0)
                n += (size_t) l;
        close(fd);
        return n;
}

static bool contains(const char *buf, size_t n, const char *needle) {
        return memmem(buf, n, needle, strlen(needle)) != NULL;
}

static void test_bad_arguments(void **state) {
        iotpub_publish_options bad_size = IOTPUB_PUBLISH_OPTIONS_INIT, bad_type = IOTPUB_PUBLISH_OPTIONS_INIT,
                               bad_ttl = IOTPUB_PUBLISH_OPTIONS_INIT;
        const char *topic = "/a1B2c3D4e5F/sensor_0042/user/update";
        Fixture *f = *state;
        iotpub *c = f->client;
        char long_topic[IOTPUB_TOPIC_MAX + 2], buf[4096];
        uint64_t id = 7, queued_before, queued_after;
        size_t n;

        memset(long_topic, 'a', sizeof(long_topic) - 1);
        long_topic[0] = '/';
        long_topic[sizeof(long_topic) - 1] = 0;
        bad_size.size = 0;
        bad_type.content_type = (iotpub_content_type) 3;
        bad_ttl.ttl_sec = IOTPUB_TTL_MAX + 1;
        assert_int_equal(sd_bus_get_n_queued_write(c->bus, &queued_before), 0);

        assert_int_equal(iotpub_publish(NULL, "dev", topic, "x", 1, NULL, &id), -EINVAL);
        assert_int_equal(iotpub_publish(c, NULL, topic, "x", 1, NULL, &id), -EINVAL);
        assert_int_equal(iotpub_publish(c, "", topic, "x", 1, NULL, &id), -EINVAL);
        assert_int_equal(iotpub_publish(c, "dev", NULL, "x", 1, NULL, &id), -EINVAL);
        assert_int_equal(iotpub_publish(c, "dev", "", "x", 1, NULL, &id), -EINVAL);
        assert_int_equal(iotpub_publish(c, "dev", long_topic, "x", 1, NULL, &id), -EINVAL);
        assert_non_null(strstr(iotpub_last_error(c), "topic"));
        assert_int_equal(iotpub_publish(c, "dev", "/a//b", "x", 1, NULL, &id), -EINVAL);
        assert_int_equal(iotpub_publish(c, "dev", "/a/+/b", "x", 1, NULL, &id), -EINVAL);
        assert_int_equal(iotpub_publish(c, "dev", topic, NULL, 1, NULL, &id), -EINVAL);
        assert_int_equal(iotpub_publish(c, "dev", topic, "x", 1, &bad_size, &id), -EINVAL);
        assert_int_equal(iotpub_publish(c, "dev", topic, "x", 1, &bad_type, &id), -EINVAL);
        assert_int_equal(iotpub_publish(c, "dev", topic, "x", 1, &bad_ttl, &id), -EINVAL);
        assert_int_equal(iotpub_publish_wait(c, NULL, topic, "x", 1, NULL, 1000000, &id, NULL), -EINVAL);
        assert_int_equal(id, 0);
        assert_int_equal(iotpub_publish_wait(c, "dev", long_topic, "x", 1, NULL, 1000000, NULL, NULL), -EINVAL);
        assert_int_equal(iotpub_publish_async(c, "dev", "", "x", 1, NULL, NULL, NULL), -EINVAL);
        assert_int_equal(iotpub_publish_async(NULL, "dev", topic, "x", 1, NULL, NULL, NULL), -EINVAL);
        assert_int_equal(iotpub_publish_async(c, "dev", topic, NULL, 3, NULL, NULL, NULL), -EINVAL);
        assert_int_equal(iotpub_get_device_info(c, NULL, NULL, NULL), -EINVAL);
        assert_int_equal(iotpub_get_message(NULL, 1, NULL, NULL), -EINVAL);

        /* None of that reached the bus: nothing was queued for it, no operation exists, and at most the
         * authentication went out on the socket. */
        assert_int_equal(sd_bus_get_n_queued_write(c->bus, &queued_after), 0);
        assert_int_equal(queued_after, queued_before);
        assert_null(c->ops);
        n = written(f, buf, sizeof(buf));
        assert_false(contains(buf, n, "Publish"));
        assert_false(contains(buf, n, "GetMessage"));
        assert_false(contains(buf, n, "Properties"));

        /* The control: good arguments do queue a Publish call. */
        assert_int_equal(iotpub_publish_async(c, "dev", topic, "x", 1, NULL, NULL, NULL), 0);
        assert_int_equal(sd_bus_get_n_queued_write(c->bus, &queued_after), 0);
        assert_int_equal(queued_after, queued_before + 1);
        assert_non_null(c->ops);
}

static void test_null_handle(void **state) {
        uint64_t t;

        assert_null(iotpub_close(NULL));
        assert_null(iotpub_last_error(NULL));
        assert_int_equal(iotpub_open_address("unix:path=/x", NULL), -EINVAL);
        assert_int_equal(iotpub_open_address("", NULL), -EINVAL);
        assert_int_equal(iotpub_get_fd(NULL), -EINVAL);
        assert_int_equal(iotpub_get_events(NULL), -EINVAL);
        assert_int_equal(iotpub_get_timeout(NULL, &t), -EINVAL);
        assert_int_equal(iotpub_process(NULL), -EINVAL);
        assert_int_equal(iotpub_set_callbacks(NULL, NULL, NULL, NULL), -EINVAL);
}

static void test_open_nothing_listening(void **state) {
        iotpub *c = NULL;
        int r;

        r = iotpub_open_address("unix:path=/nonexistent/iotpub-test-bus", &c);
        assert_true(r < 0);
        assert_null(c);
}

static void test_state_names(void **state) {
        assert_string_equal(iotpub_state_to_string(IOTPUB_STATE_QUEUED), "queued");
        assert_string_equal(iotpub_state_to_string(IOTPUB_STATE_SENDING), "sending");
        assert_string_equal(iotpub_state_to_string(IOTPUB_STATE_DELIVERED), "delivered");
        assert_string_equal(iotpub_state_to_string(IOTPUB_STATE_FAILED), "failed");
        assert_null(iotpub_state_to_string((iotpub_state) 4));
}

static int errno_of(const char *name) {
        sd_bus_error e = SD_BUS_ERROR_MAKE_CONST(name, "message");

        return client_error_to_errno(&e);
}

static void test_error_names(void **state) {
        sd_bus_error none = SD_BUS_ERROR_NULL, gone = SD_BUS_ERROR_MAKE_CONST(SD_BUS_ERROR_SERVICE_UNKNOWN, "x"),
                     owner = SD_BUS_ERROR_MAKE_CONST(SD_BUS_ERROR_NAME_HAS_NO_OWNER, "x"),
                     noreply = SD_BUS_ERROR_MAKE_CONST(SD_BUS_ERROR_NO_REPLY, "x"),
                     denied = SD_BUS_ERROR_MAKE_CONST("org.iotpub1.Error.AccessDenied", "x");

        assert_int_equal(errno_of("org.iotpub1.Error.AccessDenied"), -EACCES);
        assert_int_equal(errno_of("org.iotpub1.Error.NoSuchDevice"), -ENODEV);
        assert_int_equal(errno_of("org.iotpub1.Error.InvalidTopic"), -EINVAL);
        assert_int_equal(errno_of("org.iotpub1.Error.PayloadTooLarge"), -EMSGSIZE);
        assert_int_equal(errno_of("org.iotpub1.Error.QueueFull"), -ENOBUFS);
        assert_int_equal(errno_of("org.iotpub1.Error.InvalidArgument"), -EINVAL);
        assert_int_equal(errno_of("org.iotpub1.Error.NoSuchMessage"), -ENOENT);
        assert_int_equal(errno_of("org.iotpub1.Error.Storage"), -EIO);
        assert_int_equal(errno_of("org.iotpub1.Error.DeviceExists"), -EEXIST);
        assert_int_equal(errno_of("org.iotpub1.Error.InvalidConfiguration"), -EBADMSG);
        assert_int_equal(errno_of(SD_BUS_ERROR_SERVICE_UNKNOWN), -EHOSTDOWN);
        assert_int_equal(errno_of(SD_BUS_ERROR_NAME_HAS_NO_OWNER), -EHOSTDOWN);
        assert_int_equal(errno_of(SD_BUS_ERROR_UNKNOWN_METHOD), -EOPNOTSUPP);
        assert_int_equal(errno_of("org.iotpub1.Error.SomethingNew"), -EIO);
        assert_int_equal(client_error_to_errno(&none), 0);

        assert_true(client_error_is_service_gone(&gone));
        assert_true(client_error_is_service_gone(&owner));
        assert_true(client_error_is_service_gone(&noreply));
        assert_false(client_error_is_service_gone(&denied));
}

int main(void) {
        const struct CMUnitTest tests[] = {
                cmocka_unit_test_setup_teardown(test_bad_arguments, setup, teardown),
                cmocka_unit_test(test_null_handle),
                cmocka_unit_test(test_open_nothing_listening),
                cmocka_unit_test(test_state_names),
                cmocka_unit_test(test_error_names),
        };

        return cmocka_run_group_tests(tests, NULL, NULL);
}
