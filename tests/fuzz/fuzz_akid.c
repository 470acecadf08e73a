/*
 * fuzz_akid.c - libFuzzer target for the A-KID parser: any bytes give
 * either a parsed NAI whose parts are consistent with the input, or
 * MSGSEC_ERR_BAD_FRAME with a reason; never a crash, a read past the
 * input or a leak. What parses with a RID and an A-TID must rebuild to the
 * same text.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <msgsec/akma_keys.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static int same_nocase(const char *a, const char *b, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        char x = a[i], y = b[i];
        if (x >= 'A' && x <= 'Z')
            x = (char)(x - 'A' + 'a');
        if (y >= 'A' && y <= 'Z')
            y = (char)(y - 'A' + 'a');
        if (x != y)
            return 0;
    }
    return 1;
}

static void check(const char *text, size_t len, const msgsec_akid_settings *s)
{
    msgsec_akid_parts p;
    const char *why = NULL, *realm;
    size_t realm_len;
    int rc = msgsec_akid_parse(text, len, s, &p, &why);

    if (rc != MSGSEC_OK) {
        if (rc != MSGSEC_ERR_BAD_FRAME || !why || !why[0] || p.username ||
            p.realm)
            abort();
        if (msgsec_akid_realm(text, len, &realm, &realm_len, &why) !=
            MSGSEC_ERR_BAD_FRAME)
            abort();
        return;
    }
    if (len == 0 || len > MSGSEC_AKID_MAX_LEN || p.username != text ||
        p.username_len == 0 || p.realm_len == 0 ||
        p.realm != text + p.username_len + 1 || text[p.username_len] != '@' ||
        p.username_len + 1 + p.realm_len != len ||
        memchr(p.realm, '@', p.realm_len) != NULL)
        abort();
    if (msgsec_akid_realm(text, len, &realm, &realm_len, &why) != MSGSEC_OK ||
        realm != p.realm || realm_len != p.realm_len)
        abort();
    if (p.has_home_network) {
        char rebuilt[MSGSEC_AKMA_REALM_LEN + 1];
        size_t n;
        if (msgsec_akma_realm_build(p.mcc, 3, p.mnc, 3, rebuilt,
                                    sizeof(rebuilt), &n) != MSGSEC_OK ||
            n != p.realm_len || !same_nocase(rebuilt, p.realm, n))
            abort();
    }
    if (p.has_rid_a_tid && p.has_home_network) {
        char rebuilt[MSGSEC_AKID_MAX_LEN + 1];
        size_t n;
        if (p.rid != text || p.rid_len == 0 ||
            p.rid_len > MSGSEC_AKID_RID_MAX)
            abort();
        if (msgsec_akid_build(s, p.rid, p.rid_len, p.a_tid, p.mcc, 3, p.mnc,
                              3, rebuilt, sizeof(rebuilt), &n) != MSGSEC_OK ||
            n != len)
            abort();
        /* Hex is read in either case; base64url is case-sensitive; the
         * realm is a domain name. */
        if (s && s->atid_encoding == MSGSEC_AKID_ATID_BASE64URL
                ? memcmp(rebuilt, text, p.username_len) != 0
                : !same_nocase(rebuilt, text, p.username_len))
            abort();
        if (!same_nocase(rebuilt + p.username_len, text + p.username_len,
                         len - p.username_len))
            abort();
    }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    msgsec_akid_settings b64;
    /* An exact-size copy, so that ASan sees any read past the end. */
    char *text = malloc(size ? size : 1);

    if (!text)
        return 0;
    if (size)
        memcpy(text, data, size);
    check(text, size, NULL);
    msgsec_akid_settings_default(&b64);
    if (msgsec_akid_settings_set(&b64, MSGSEC_AKID_KEY_SEPARATOR, "-",
                                 NULL) != MSGSEC_OK ||
        msgsec_akid_settings_set(&b64, MSGSEC_AKID_KEY_ATID_ENCODING,
                                 "base64url", NULL) != MSGSEC_OK)
        abort();
    check(text, size, &b64);
    free(text);
    return 0;
}
