/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* libiotpub: publish messages to Alibaba Cloud IoT Platform through iotpubd (D-Bus name org.iotpub1) without
 * ever holding a device credential. The only installed header of iotpub; C89-clean. */
#ifndef IOTPUB_H
#define IOTPUB_H

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

#if defined(__GNUC__) && __GNUC__ >= 4
#define IOTPUB_EXPORT __attribute__((visibility("default")))
#else
#define IOTPUB_EXPORT
#endif

/*
 * Conventions for every function below:
 *   - Functions returning int return 0 (or a documented non-negative value) on success and a negative errno
 *     on failure. iotpub_last_error() then describes the failure in words (the daemon's own message when the
 *     daemon refused the call).
 *   - Daemon errors map to: AccessDenied -EACCES, NoSuchDevice -ENODEV, InvalidTopic -EINVAL,
 *     PayloadTooLarge -EMSGSIZE, QueueFull -ENOBUFS, InvalidArgument -EINVAL, NoSuchMessage -ENOENT,
 *     Storage -EIO, DeviceExists -EEXIST, InvalidConfiguration -EBADMSG; iotpubd not running (and not back
 *     within the bounded wait) -EHOSTDOWN; a daemon too old for the call -EOPNOTSUPP.
 *   - Bad arguments (NULL handle, device or topic; empty or malformed topic; topic longer than
 *     IOTPUB_TOPIC_MAX bytes; NULL payload with a non-zero length; bad options) give -EINVAL without any bus
 *     traffic.
 *   - Thread safety: a handle is not thread-safe. Use one handle per thread, or serialise every call on a
 *     handle (including iotpub_process()) with your own lock. Different handles are independent.
 *   - Blocking calls (iotpub_publish, iotpub_publish_wait, iotpub_get_message, iotpub_get_device_info)
 *     dispatch bus traffic while they wait, so callbacks set with iotpub_set_callbacks() or given to
 *     iotpub_publish_async() may run inside them. From a callback, iotpub_publish() and
 *     iotpub_publish_wait() and iotpub_process() return -EBUSY; iotpub_close() must not be called there.
 *   - The connection repairs itself: if the bus connection dropped, the next call reconnects. If iotpubd
 *     is momentarily not on the bus, a publish waits (bounded, about 10 s) for it to come back and is
 *     sent again once. A restart of iotpubd does not disturb waits for Delivered/Failed. Delivered/Failed
 *     of messages published before a reconnection of the handle's own bus connection are not reported by
 *     signal; iotpub_get_message() still tells their state.
 *   - The library never handles device credentials and never writes to stderr.
 */

/* Longest topic, in bytes, that iotpubd accepts (the platform's limit). */
#define IOTPUB_TOPIC_MAX 128
/* Longest time-to-live, in seconds, for iotpub_publish_options.ttl_sec (366 days). */
#define IOTPUB_TTL_MAX 31622400UL
/* "No time limit" for timeouts. */
#define IOTPUB_INFINITY ((uint64_t) -1)

/* Opaque handle: one connection to iotpubd. */
typedef struct iotpub iotpub;

typedef enum iotpub_content_type {
        IOTPUB_CONTENT_JSON = 0, /* the default */
        IOTPUB_CONTENT_CBOR = 1,
        IOTPUB_CONTENT_OCTET_STREAM = 2
} iotpub_content_type;

typedef enum iotpub_state {
        IOTPUB_STATE_QUEUED = 0,    /* in the outbox, not being sent right now */
        IOTPUB_STATE_SENDING = 1,   /* being sent to the cloud */
        IOTPUB_STATE_DELIVERED = 2, /* acknowledged by the cloud */
        IOTPUB_STATE_FAILED = 3     /* rejected for good, expired, purged or its device was removed */
} iotpub_state;

/* Publish options. Initialise with IOTPUB_PUBLISH_OPTIONS_INIT so that `size` is right: it lets later
 * versions of the library add members without breaking programs built against this one. */
typedef struct iotpub_publish_options {
        size_t size;                     /* sizeof(iotpub_publish_options) */
        iotpub_content_type content_type; /* IOTPUB_CONTENT_JSON unless set */
        uint32_t ttl_sec;                /* 0: no expiry; else 1..IOTPUB_TTL_MAX seconds in the outbox */
} iotpub_publish_options;

#define IOTPUB_PUBLISH_OPTIONS_INIT { sizeof(iotpub_publish_options), IOTPUB_CONTENT_JSON, 0 }

/* Called when the cloud acknowledged message `id`; cloud_message_id is the platform's id for it. */
typedef void (*iotpub_delivered_fn)(iotpub *c, uint64_t id, const char *cloud_message_id, void *userdata);
/* Called when message `id` failed for good; reason is a sentence a person can act on. */
typedef void (*iotpub_failed_fn)(iotpub *c, uint64_t id, const char *reason, void *userdata);
/* Completion of iotpub_publish_async(): error is 0 and id the message id once iotpubd durably accepted the
 * message; else error is a negative errno (see the conventions above) and id is 0. */
typedef void (*iotpub_publish_done_fn)(iotpub *c, int error, uint64_t id, void *userdata);

/* Opens a handle on the system bus, or on the bus at the D-Bus address in $IOTPUB_BUS_ADDRESS if that is set
 * and not empty. Connects at once. ret: receives the handle (free with iotpub_close()).
 * Returns 0; -EINVAL if ret is NULL; -ENOMEM; or the connection error (e.g. -ENOENT, -ECONNREFUSED). */
IOTPUB_EXPORT int iotpub_open(iotpub **ret);

/* Like iotpub_open(), on the bus at `address` (a D-Bus address such as "unix:path=/run/dbus/x"). */
IOTPUB_EXPORT int iotpub_open_address(const char *address, iotpub **ret);

/* Closes the connection and frees the handle. Pending asynchronous publishes are abandoned without their
 * callbacks being called (iotpubd keeps the messages it already accepted). Accepts NULL. Returns NULL. */
IOTPUB_EXPORT iotpub *iotpub_close(iotpub *c);

/* The human-readable message of the last failed call on this handle (for a daemon error, the daemon's
 * message; for a failed delivery, the reason). "" if no call failed yet; NULL only if c is NULL. Valid until
 * the next call on the handle. */
IOTPUB_EXPORT const char *iotpub_last_error(const iotpub *c);

/* Publishes `len` bytes at `payload` to `topic` (e.g. "/a1B2c3D4e5F/sensor_0042/user/update") as device
 * identity `device` (a name configured in iotpubd). options may be NULL (JSON, no TTL). Returns once iotpubd
 * has durably committed the message to its outbox, also while the cloud is unreachable.
 * ret_id: receives the message id (may be NULL). Blocks. */
IOTPUB_EXPORT int iotpub_publish(iotpub *c, const char *device, const char *topic, const void *payload,
                                 size_t len, const iotpub_publish_options *options, uint64_t *ret_id);

/* Publishes like iotpub_publish(), then waits until the message is delivered or failed, at most
 * timeout_usec microseconds in all (IOTPUB_INFINITY: no limit). ret_id (may be NULL) receives the id as soon
 * as it is known, also on -ETIMEDOUT and -EREMOTEIO. ret_detail (may be NULL) receives a malloc()ed string
 * to free(): the cloud message id when delivered, the reason when failed.
 * Returns 0 when delivered; -EREMOTEIO when the message failed (iotpub_last_error() gives the reason too);
 * -ETIMEDOUT if neither happened in time (the message stays queued); any publish error. Blocks. */
IOTPUB_EXPORT int iotpub_publish_wait(iotpub *c, const char *device, const char *topic, const void *payload,
                                      size_t len, const iotpub_publish_options *options, uint64_t timeout_usec,
                                      uint64_t *ret_id, char **ret_detail);

/* Starts a publish without blocking; the payload is copied. `done` (may be NULL) is called from
 * iotpub_process() (or a blocking call) exactly once with the outcome, unless the handle is closed first.
 * Delivered/Failed for the message are then reported through iotpub_set_callbacks().
 * Returns 0 if the publish was started; -EINVAL for bad arguments (done is not called); -ENOMEM; or a
 * connection error. */
IOTPUB_EXPORT int iotpub_publish_async(iotpub *c, const char *device, const char *topic, const void *payload,
                                       size_t len, const iotpub_publish_options *options,
                                       iotpub_publish_done_fn done, void *userdata);

/* Asks iotpubd for the state of message `id` (only the caller's own messages are visible).
 * ret_state: receives the state (may be NULL). ret_detail (may be NULL): a malloc()ed string to free(): the
 * cloud message id when delivered, the reason when failed, "" otherwise.
 * Returns 0; -ENOENT if there is no such message of the caller (or it left the bounded history). Blocks. */
IOTPUB_EXPORT int iotpub_get_message(iotpub *c, uint64_t id, iotpub_state *ret_state, char **ret_detail);

/* Reads the platform identity (ProductKey, DeviceName) of the configured device `device`, e.g. to build
 * "/sys/<ProductKey>/<DeviceName>/..." topics. Each out-parameter may be NULL; strings are malloc()ed, to
 * free(). Never returns a secret. Returns 0; -ENODEV if there is no such device. Blocks. */
IOTPUB_EXPORT int iotpub_get_device_info(iotpub *c, const char *device, char **ret_product_key,
                                         char **ret_device_name);

/* Sets the callbacks for Delivered and Failed of messages published with iotpub_publish() or
 * iotpub_publish_async() on this handle (iotpub_publish_wait() reports its own message itself). Either may
 * be NULL. Replaces earlier callbacks. Returns 0, or -EINVAL if c is NULL. */
IOTPUB_EXPORT int iotpub_set_callbacks(iotpub *c, iotpub_delivered_fn delivered, iotpub_failed_fn failed,
                                       void *userdata);

/* Event-loop integration. The fd is stable for the handle's lifetime, also across reconnections: watch it
 * for the events of iotpub_get_events() (always POLLIN: it is an epoll fd), and call iotpub_process() when it
 * is readable or when the time of iotpub_get_timeout() has passed. Returns the fd, or -EINVAL. */
IOTPUB_EXPORT int iotpub_get_fd(iotpub *c);

/* The poll(2) events to wait for on iotpub_get_fd() (POLLIN), or -EINVAL. */
IOTPUB_EXPORT int iotpub_get_events(iotpub *c);

/* ret_usec: receives how many microseconds from now iotpub_process() must be called at the latest even if
 * the fd did not become readable (0: at once), or IOTPUB_INFINITY. Returns 0, or -EINVAL. */
IOTPUB_EXPORT int iotpub_get_timeout(iotpub *c, uint64_t *ret_usec);

/* Does all work that is due without blocking: reads and dispatches bus messages (calling the callbacks),
 * resends publishes whose daemon came back, expires waits, and reconnects a dropped connection.
 * Returns 0, or a negative errno (e.g. the bus cannot be reached again; call again later). */
IOTPUB_EXPORT int iotpub_process(iotpub *c);

/* The name of a state ("queued", "sending", "delivered", "failed"), or NULL if out of range. */
IOTPUB_EXPORT const char *iotpub_state_to_string(iotpub_state state);

#ifdef __cplusplus
}
#endif

#endif
