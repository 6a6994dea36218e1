/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* coap-probe: drives iotpub-cloudsim's coap-aes endpoint over a raw UDP socket, one step per argument, and
 * prints one line per step ("<step> <code> [key=value...]"). Requests come from lib/shared's coap_msg_*
 * builders and are then edited (other token option, bad seq, ...) so that tests can probe every rejection. */
#include <arpa/inet.h>
#include <errno.h>
#include <getopt.h>
#include <json-c/json.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "aes.h"
#include "auth.h"
#include "coap-msg.h"
#include "macro.h"
#include "coap-probe-msg.h"
#include "sign.h"

#define AUTH_SEQ 4321

typedef struct Probe {
        int fd;
        struct sockaddr_in peer;
        const char *product_key, *device_name;
        char *secret;
        unsigned timeout_ms;
        uint16_t mid;
        uint32_t token_counter;         /* as the SDK: 0x01020304, little-endian on the wire */
        char *iot_token, *old_token;
        uint8_t key[AES_KEY_SIZE];
        uint32_t seq_offset, next_seq, last_seq;
        uint8_t last_sent[COAP_MSG_PDU_MAX];
        size_t last_sent_len;
        uint8_t last_coap_token[4];
        Response last_response;
} Probe;

/* The value of key in a step's "name,key=value,..." list, or NULL. */
static const char *step_arg(const char *step, const char *key) {
        static char buf[512];
        const char *p = strchr(step, ',');
        size_t klen = strlen(key);

        while (p) {
                const char *item = p + 1, *end = strchrnul(item, ',');

                if ((size_t) (end - item) > klen && strncmp(item, key, klen) == 0 && item[klen] == '=') {
                        snprintf(buf, sizeof(buf), "%.*s", (int) (end - item - klen - 1), item + klen + 1);
                        return buf;
                }
                if ((size_t) (end - item) == klen && strncmp(item, key, klen) == 0)
                        return "";
                p = *end ? end : NULL;
        }
        return NULL;
}

static uint64_t now_ms(void) {
        struct timespec ts;

        clock_gettime(CLOCK_MONOTONIC, &ts);
        return (uint64_t) ts.tv_sec * 1000 + (uint64_t) ts.tv_nsec / 1000000;
}

static void send_empty_ack(Probe *p, const uint8_t *dgram) {
        uint8_t ack[4] = { 0x60, 0x00, dgram[2], dgram[3] };

        (void) sendto(p->fd, ack, sizeof(ack), 0, (struct sockaddr *) &p->peer, sizeof(p->peer));
}

/* Waits for the response carrying our CoAP token; an empty ACK for our MID first marks it separate, and a
 * CON response is acknowledged. Returns 0 or -ETIMEDOUT. */
static int receive(Probe *p, uint16_t mid, Response *r) {
        uint64_t deadline = now_ms() + p->timeout_ms;
        uint8_t buf[COAP_MSG_PDU_MAX];

        r->separate = false;
        for (uint64_t now = now_ms(); now < deadline; now = now_ms()) {
                struct pollfd pfd = { .fd = p->fd, .events = POLLIN };
                ssize_t n;

                if (poll(&pfd, 1, (int) (deadline - now)) <= 0)
                        continue;
                n = recv(p->fd, buf, sizeof(buf), 0);
                if (n < 4)
                        continue;
                if ((buf[0] & 0x0f) == 0 && buf[1] == 0 && ((buf[2] << 8) | buf[3]) == mid) {
                        r->separate = true;
                        continue;
                }
                if ((size_t) n < 8 || (buf[0] & 0x0f) != 4 || memcmp(buf + 4, p->last_coap_token, 4) != 0)
                        continue;
                if (((buf[0] >> 4) & 3) == COAP_MESSAGE_CON)
                        send_empty_ack(p, buf);
                return parse_response(buf, (size_t) n, r);
        }
        return -ETIMEDOUT;
}

static void next_coap_token(Probe *p, uint8_t token[static 4]) {
        for (int i = 0; i < 4; i++)
                token[i] = (uint8_t) (p->token_counter >> (8 * i));
        p->token_counter++;
        memcpy(p->last_coap_token, token, 4);
}

/* Common step options: cf=, accept= (a number or "none"), method=get, non, path=a/b. */
static void apply_edits(const char *step, Msg *m) {
        const char *v;

        if ((v = step_arg(step, "cf"))) {
                msg_drop_option(m, COAP_OPTION_CONTENT_FORMAT);
                if (!streq(v, "none"))
                        msg_add_option(m, COAP_OPTION_CONTENT_FORMAT, (uint8_t[]) { (uint8_t) atoi(v) }, 1);
        }
        if ((v = step_arg(step, "accept"))) {
                msg_drop_option(m, COAP_OPTION_ACCEPT);
                if (!streq(v, "none"))
                        msg_add_option(m, COAP_OPTION_ACCEPT, (uint8_t[]) { (uint8_t) atoi(v) }, 1);
        }
        if ((v = step_arg(step, "method")) && streq(v, "get"))
                m->code = COAP_REQUEST_CODE_GET;
        if (step_arg(step, "non"))
                m->type = COAP_MESSAGE_NON;
        if ((v = step_arg(step, "path"))) {
                char copy[512], *save = NULL;

                msg_drop_option(m, COAP_OPTION_URI_PATH);
                snprintf(copy, sizeof(copy), "%s", v);
                for (char *s = strtok_r(copy, "/", &save); s; s = strtok_r(NULL, "/", &save))
                        msg_add_option(m, COAP_OPTION_URI_PATH, s, strlen(s));
        }
}

/* Sends the datagram (remembered for "resend") and waits for the answer. Returns 0, or 1 after printing
 * "<name> timeout", or a negative errno. */
static int exchange(Probe *p, const char *name, const uint8_t *dgram, size_t len, Response *r) {
        int k;

        if (sendto(p->fd, dgram, len, 0, (struct sockaddr *) &p->peer, sizeof(p->peer)) < 0)
                return -errno;
        k = receive(p, (uint16_t) (dgram[2] << 8 | dgram[3]), r);
        if (k == -ETIMEDOUT)
                printf("%s timeout\n", name);
        return k == -ETIMEDOUT ? 1 : k;
}

/* ackMode is not something auth_request_build() emits (the SDK never sends it), so build that body here,
 * signed by the generic rule over every field sent (E.2). */
static int auth_json_ack_mode(Probe *p, char **ret) {
        char client_id[128], seq[16];
        _cleanup_free_ char *sign = NULL;
        const SignField fields[] = {
                { "productKey", p->product_key }, { "deviceName", p->device_name },
                { "clientId", client_id }, { "seq", seq }, { "ackMode", "1" },
        };
        json_object *o;
        int r;

        snprintf(client_id, sizeof(client_id), "%s.%s", p->product_key, p->device_name);
        snprintf(seq, sizeof(seq), "%d", AUTH_SEQ);
        r = sign_compute(SIGN_HMACMD5, p->secret, fields, ELEMENTSOF(fields), &sign);
        if (r < 0)
                return r;
        o = json_object_new_object();
        json_object_object_add(o, "productKey", json_object_new_string(p->product_key));
        json_object_object_add(o, "deviceName", json_object_new_string(p->device_name));
        json_object_object_add(o, "clientId", json_object_new_string(client_id));
        json_object_object_add(o, "sign", json_object_new_string(sign));
        json_object_object_add(o, "seq", json_object_new_string(seq));
        json_object_object_add(o, "ackMode", json_object_new_int(1));
        *ret = strdup(json_object_to_json_string_ext(o, JSON_C_TO_STRING_PLAIN));
        json_object_put(o);
        return *ret ? 0 : -ENOMEM;
}

static int auth_json(Probe *p, const char *step, char **ret) {
        const char *v = step_arg(step, "sign"), *dn = step_arg(step, "dn");
        AuthParams params = {
                .product_key = p->product_key,
                .device_name = dn ? dn : p->device_name,
                .sign_method = SIGN_HMACMD5,
                .has_seq = !step_arg(step, "noseq"),
                .seq = AUTH_SEQ,
        };

        if (step_arg(step, "garbage"))
                return (*ret = strdup("{\"productKey\":")) ? 0 : -ENOMEM;
        if (step_arg(step, "ackmode"))
                return auth_json_ack_mode(p, ret);
        return auth_request_build(&params, v && streq(v, "bad") ? "not-the-device-secret" : p->secret, ret);
}

static bool auth_shape_ok(const AuthResponse *a) {
        if (strlen(a->random) != 16 || strspn(a->random, "0123456789abcdef") != 16)
                return false;
        if (strlen(a->token) > AUTH_TOKEN_MAX ||
            strspn(a->token, "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-._~") != strlen(a->token))
                return false;
        return a->seq_offset >= 1 && a->seq_offset <= 1000;
}

static int auth_accept(Probe *p, const Response *r) {
        AuthResponse a = {};
        int k;

        k = auth_response_parse(r->payload, r->payload_len, true, &a);
        if (k < 0) {
                printf(" payload=unparsable");
                return 0;
        }
        k = aes_derive_key(p->secret, a.random, p->key);
        if (k >= 0) {
                free(p->old_token);
                p->old_token = p->iot_token;
                p->iot_token = strdup(a.token);
                p->seq_offset = (uint32_t) a.seq_offset;
                p->next_seq = p->seq_offset + 1;
                printf(" seqOffset=%u shape=%s", p->seq_offset, auth_shape_ok(&a) ? "ok" : "bad");
        }
        auth_response_done(&a);
        return p->iot_token ? k : -ENOMEM;
}

static int step_auth(Probe *p, const char *step) {
        _cleanup_free_ char *json = NULL;
        coap_pdu_t *pdu = NULL;
        uint8_t token[4];
        Response r;
        Msg m;
        int k;

        k = auth_json(p, step, &json);
        if (k < 0)
                return k;
        next_coap_token(p, token);
        k = coap_msg_auth(p->mid++, token, json, &pdu);
        if (k < 0)
                return k;
        k = msg_from_pdu(pdu, &m);
        coap_delete_pdu(pdu);
        if (k < 0)
                return k;
        apply_edits(step, &m);

        p->last_sent_len = msg_encode(&m, p->last_sent);
        k = exchange(p, "auth", p->last_sent, p->last_sent_len, &r);
        if (k != 0)
                return MIN(k, 0);
        p->last_response = r;
        printf("auth %u.%02u", r.code >> 5, r.code & 0x1f);
        if (r.separate)
                printf(" separate");
        if (r.code == COAP_RESPONSE_CODE(205))
                k = auth_accept(p, &r);
        printf("\n");
        return k;
}

static uint32_t pub_seq(const Probe *p, const char *step) {
        const char *v = step_arg(step, "seq");

        if (!v)
                return p->next_seq;
        if (streq(v, "offset"))
                return p->seq_offset;
        if (streq(v, "last"))
                return p->last_seq;
        return (uint32_t) strtoul(v, NULL, 10);
}

/* Option 2089: AES of the decimal seq, or per seqopt= none | junk (5 raw bytes) | text:XYZ (AES of XYZ). */
static int pub_seq_option(Probe *p, const char *step, uint32_t seq, uint8_t **ret, size_t *ret_len) {
        const char *v = step_arg(step, "seqopt");
        char text[64];

        *ret = NULL;
        *ret_len = 0;
        if (v && streq(v, "none"))
                return 0;
        if (v && streq(v, "junk")) {
                *ret = (uint8_t *) strdup("junk!");
                *ret_len = 5;
                return *ret ? 0 : -ENOMEM;
        }
        if (v && startswith(v, "text:"))
                snprintf(text, sizeof(text), "%s", v + 5);
        else
                snprintf(text, sizeof(text), "%u", seq);
        return aes_encrypt(p->key, text, strlen(text), ret, ret_len);
}

/* Token per token= old | bogus (default: the current one) and tokopt= 2088 | 61 | query | none. */
static void pub_token_option(Probe *p, const char *step, const char *token, Msg *m) {
        const char *v = step_arg(step, "tokopt");
        char query[OPT_VALUE_MAX];

        if (!v || streq(v, "2088"))
                return;
        msg_drop_option(m, COAP_MSG_OPTION_TOKEN);
        if (streq(v, "61"))
                msg_add_option(m, COAP_MSG_OPTION_TOKEN_V3, token, strlen(token));
        else if (streq(v, "query")) {
                snprintf(query, sizeof(query), "token=%s", token);
                msg_add_option(m, COAP_OPTION_URI_QUERY, query, strlen(query));
        }
}

static int pub_build(Probe *p, const char *step, uint32_t seq, Msg *m) {
        const char *topic = step_arg(step, "topic"), *payload = step_arg(step, "payload"), *t = step_arg(step, "token");
        _cleanup_free_ uint8_t *seq_opt = NULL, *enc = NULL;
        char default_topic[256], default_payload[64];
        const char *token = t && streq(t, "old") ? p->old_token : t && streq(t, "bogus") ? "bogus.tok" : p->iot_token;
        size_t seq_len, enc_len;
        coap_pdu_t *pdu = NULL;
        uint8_t ctoken[4];
        int k;

        snprintf(default_topic, sizeof(default_topic), "/%s/%s/user/update", p->product_key, p->device_name);
        snprintf(default_payload, sizeof(default_payload), "{\"seq\":%u}", seq);
        topic = topic ?: default_topic;
        payload = payload ?: default_payload;
        token = token ?: "not.authenticated";

        k = pub_seq_option(p, step, seq, &seq_opt, &seq_len);
        if (k >= 0 && step_arg(step, "rawpayload"))
                k = (enc = (uint8_t *) strdup(payload)) ? (enc_len = strlen(payload), 0) : -ENOMEM;
        else if (k >= 0)
                k = aes_encrypt(p->key, payload, strlen(payload), &enc, &enc_len);
        if (k < 0)
                return k;

        next_coap_token(p, ctoken);
        k = coap_msg_publish(p->mid++, ctoken, &(CoapPublish) {
                .topic = topic, .content_format = COAP_MSG_CF_JSON, .iot_token = token,
                .seq = seq_opt, .seq_len = seq_len, .payload = enc, .payload_len = enc_len, .confirmable = true,
        }, &pdu);
        if (k < 0)
                return k;
        k = msg_from_pdu(pdu, m);
        coap_delete_pdu(pdu);
        if (k < 0)
                return k;
        pub_token_option(p, step, token, m);
        apply_edits(step, m);
        return 0;
}

static int step_pub(Probe *p, const char *step) {
        uint32_t seq = pub_seq(p, step);
        Response r;
        Msg m;
        int k;

        k = pub_build(p, step, seq, &m);
        if (k < 0)
                return k;
        p->last_sent_len = msg_encode(&m, p->last_sent);
        k = exchange(p, "pub", p->last_sent, p->last_sent_len, &r);
        if (k != 0)
                return MIN(k, 0);
        p->last_response = r;
        printf("pub %u.%02u", r.code >> 5, r.code & 0x1f);
        printf(" seq=%u", seq);
        if (r.message_id[0])
                printf(" id=%s", r.message_id);
        if (r.code == COAP_RESPONSE_CODE(205)) {
                p->last_seq = seq;
                if (!step_arg(step, "seq"))
                        p->next_seq++;
        }
        printf("\n");
        return 0;
}

/* Sends the previous datagram again, byte for byte, and says whether the answer is byte-identical. */
static int step_resend(Probe *p) {
        Response r;
        int k;

        if (p->last_sent_len == 0)
                return -EINVAL;
        k = exchange(p, "resend", p->last_sent, p->last_sent_len, &r);
        if (k != 0)
                return MIN(k, 0);
        printf("resend %u.%02u", r.code >> 5, r.code & 0x1f);
        if (r.message_id[0])
                printf(" id=%s", r.message_id);
        printf(" %s\n", r.raw_len == p->last_response.raw_len &&
               memcmp(r.raw, p->last_response.raw, r.raw_len) == 0 ? "same" : "different");
        return 0;
}

static int run_step(Probe *p, const char *step) {
        size_t n = strcspn(step, ",");

        if (strncmp(step, "auth", n) == 0 && n == 4)
                return step_auth(p, step);
        if (strncmp(step, "pub", n) == 0 && n == 3)
                return step_pub(p, step);
        if (streq(step, "resend"))
                return step_resend(p);
        fprintf(stderr, "coap-probe: unknown step \"%s\"\n", step);
        return -EINVAL;
}

static int read_secret(const char *path, char **ret) {
        char buf[128];
        FILE *f = fopen(path, "re");
        bool ok;

        if (!f)
                return -errno;
        ok = fgets(buf, sizeof(buf), f) != NULL;
        fclose(f);
        if (!ok)
                return -EINVAL;
        buf[strcspn(buf, "\r\n")] = '\0';
        *ret = strdup(buf);
        explicit_bzero(buf, sizeof(buf));
        return *ret ? 0 : -ENOMEM;
}

static void usage(void) {
        fprintf(stderr, "usage: coap-probe --port=PORT --device=PK/DN --secret-file=FILE [--timeout=MS] STEP...\n"
                "steps: auth[,sign=bad|,dn=NAME|,noseq|,garbage|,ackmode]... | resend | pub[,topic=T|,payload=P|\n"
                "  ,seq=N|offset|last|,seqopt=none|junk|text:X|,rawpayload|,token=old|bogus|,tokopt=61|query|none]...\n"
                "  any step also: ,cf=N|none ,accept=N|none ,method=get ,non ,path=a/b\n");
}

static int parse_args(int argc, char *argv[], Probe *p, int *ret_port, const char **ret_secret_file) {
        static const struct option options[] = {
                { "port", required_argument, NULL, 'p' },
                { "device", required_argument, NULL, 'd' },
                { "secret-file", required_argument, NULL, 's' },
                { "timeout", required_argument, NULL, 't' },
                {},
        };
        int c;

        while ((c = getopt_long(argc, argv, "", options, NULL)) >= 0) {
                if (c == 'p')
                        *ret_port = atoi(optarg);
                else if (c == 'd' && strchr(optarg, '/')) {
                        p->product_key = strndup(optarg, strcspn(optarg, "/"));
                        p->device_name = strchr(optarg, '/') + 1;
                } else if (c == 's')
                        *ret_secret_file = optarg;
                else if (c == 't')
                        p->timeout_ms = (unsigned) atoi(optarg);
                else
                        return -EINVAL;
        }
        if (*ret_port <= 0 || *ret_port > 65535 || !p->product_key || !*ret_secret_file || optind >= argc)
                return -EINVAL;
        return 0;
}

int main(int argc, char *argv[]) {
        Probe p = { .fd = -1, .timeout_ms = 3000, .token_counter = 0x01020304 };
        const char *secret_file = NULL;
        int port = 0, k = 0;

        if (parse_args(argc, argv, &p, &port, &secret_file) < 0) {
                usage();
                return 2;
        }
        if (read_secret(secret_file, &p.secret) < 0) {
                fprintf(stderr, "coap-probe: cannot read %s\n", secret_file);
                return 2;
        }
        /* Loopback only: this tool talks to a local emulator and nothing else. */
        p.peer = (struct sockaddr_in) { .sin_family = AF_INET, .sin_port = htons((uint16_t) port),
                                        .sin_addr.s_addr = htonl(INADDR_LOOPBACK) };
        p.fd = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
        if (p.fd < 0 || getrandom(&p.mid, sizeof(p.mid), 0) != sizeof(p.mid))
                return 1;

        for (int i = optind; i < argc && k >= 0; i++) {
                k = run_step(&p, argv[i]);
                fflush(stdout);
                if (k < 0)
                        fprintf(stderr, "coap-probe: step \"%s\" failed: %s\n", argv[i], strerror(-k));
        }
        close(p.fd);
        erase_and_free(p.secret);
        erase_and_free(p.iot_token);
        erase_and_free(p.old_token);
        free((char *) p.product_key);
        return k < 0 ? 1 : 0;
}
