/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* DTLS-PSK identity and key in the form SDK v3.2.0 puts on the wire (PROTOCOL.md B.2, E.3), and the
 * emulator's parser for received identities. */
#include <stdio.h>

#include "macro.h"
#include "psk.h"

int psk_identity(SignMethod m, const char *product_key, const char *device_name, char **ret) {
        const char *method = sign_method_to_string(m);
        char *s;

        if (!method || isempty(product_key) || isempty(device_name) || !ret)
                return -EINVAL;

        if (asprintf(&s, "devicename|%s|%s&%s|%s", method, product_key, device_name, PSK_TIMESTAMP) < 0)
                return -ENOMEM;
        *ret = s;
        return 0;
}

int psk_key(SignMethod m, const char *secret, const char *product_key, const char *device_name,
            const char *timestamp, char **ret) {
        _cleanup_free_ char *msg = NULL;
        int len;

        if (!secret || isempty(product_key) || isempty(device_name) || isempty(timestamp) || !ret)
                return -EINVAL;

        len = asprintf(&msg, "id%s&%stimestamp%s", product_key, device_name, timestamp);
        if (len < 0) {
                msg = NULL;
                return -ENOMEM;
        }

        /* The 64 (SHA-256) uppercase hex characters themselves are the PSK bytes, not the raw MAC. */
        return sign_hmac_hex(m, secret, strlen(secret), msg, (size_t) len, true, ret);
}

static bool all_digits(const char *s) {
        if (isempty(s))
                return false;
        for (; *s; s++)
                if (*s < '0' || *s > '9')
                        return false;
        return true;
}

int psk_identity_parse(const char *identity, SignMethod *ret_method, char **ret_product_key,
                       char **ret_device_name, char **ret_timestamp) {
        _cleanup_free_ char *copy = NULL, *pk = NULL, *dn = NULL, *ts = NULL;
        char *fields[4], *rest, *amp;
        SignMethod m;
        size_t n = 0;

        if (!identity)
                return -EBADMSG;
        copy = strdup(identity);
        if (!copy)
                return -ENOMEM;

        rest = copy;
        for (char *p; (p = strsep(&rest, "|")); n++) {
                if (n >= ELEMENTSOF(fields))
                        return -EBADMSG;
                fields[n] = p;
        }
        if (n != ELEMENTSOF(fields) || !strcaseeq(fields[0], "devicename"))
                return -EBADMSG;

        m = sign_method_from_string(fields[1]);
        if (m < 0)
                return -EBADMSG;

        /* Neither a productKey nor a deviceName may contain '&', so the first one separates them. */
        amp = strchr(fields[2], '&');
        if (!amp || amp == fields[2] || amp[1] == 0 || strchr(amp + 1, '&'))
                return -EBADMSG;
        *amp = 0;
        if (!all_digits(fields[3]))
                return -EBADMSG;

        pk = strdup(fields[2]);
        dn = strdup(amp + 1);
        ts = strdup(fields[3]);
        if (!pk || !dn || !ts)
                return -ENOMEM;

        if (ret_method)
                *ret_method = m;
        if (ret_product_key)
                *ret_product_key = TAKE_PTR(pk);
        if (ret_device_name)
                *ret_device_name = TAKE_PTR(dn);
        if (ret_timestamp)
                *ret_timestamp = TAKE_PTR(ts);
        return 0;
}
