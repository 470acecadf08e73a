/*
 * akma_keys.c - AKMA derivations (TS 33.535 Annex A), Ua* identifiers,
 * the home network realm and the A-KID (an RFC 7542 NAI).
 */
#include <string.h>

#include <openssl/crypto.h>

#include <msgsec/akma_keys.h>

#define IMSI_PREFIX "imsi-"
#define IMSI_PREFIX_LEN 5
#define IMSI_MIN_DIGITS 5
#define IMSI_MAX_DIGITS 15
#define HEX_ATID_LEN (2 * MSGSEC_AKMA_A_TID_LEN)
#define B64_ATID_LEN 43 /* ceil(32 * 8 / 6), no padding */
#define REALM_LABEL_MAX 63

static int is_digit(unsigned char c)
{
    return c >= '0' && c <= '9';
}

static int is_alpha(unsigned char c)
{
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z');
}

static unsigned char lower(unsigned char c)
{
    return (c >= 'A' && c <= 'Z') ? (unsigned char)(c - 'A' + 'a') : c;
}

static int all_digits(const char *s, size_t len)
{
    for (size_t i = 0; i < len; i++)
        if (!is_digit((unsigned char)s[i]))
            return 0;
    return 1;
}

/* ASCII case-insensitive comparison of len bytes. */
static int same_nocase(const char *a, const char *b, size_t len)
{
    for (size_t i = 0; i < len; i++)
        if (lower((unsigned char)a[i]) != lower((unsigned char)b[i]))
            return 0;
    return 1;
}

/*
 * Length of the well-formed UTF-8 multi-byte sequence (RFC 3629: no
 * overlong forms, no surrogates, nothing above U+10FFFF) at p, or 0.
 */
static size_t utf8_seq(const unsigned char *p, size_t left)
{
    unsigned char c = p[0];
    unsigned char lo = 0x80, hi = 0xbf;
    size_t n;

    if (c >= 0xc2 && c <= 0xdf)
        n = 2;
    else if (c >= 0xe0 && c <= 0xef) {
        n = 3;
        if (c == 0xe0)
            lo = 0xa0;
        else if (c == 0xed)
            hi = 0x9f;
    } else if (c >= 0xf0 && c <= 0xf4) {
        n = 4;
        if (c == 0xf0)
            lo = 0x90;
        else if (c == 0xf4)
            hi = 0x8f;
    } else
        return 0;
    if (left < n || p[1] < lo || p[1] > hi)
        return 0;
    for (size_t i = 2; i < n; i++)
        if (p[i] < 0x80 || p[i] > 0xbf)
            return 0;
    return n;
}

/* RFC 7542 utf8-atext, ASCII part. */
static int is_atext(unsigned char c)
{
    return is_alpha(c) || is_digit(c) ||
           (c != 0 && strchr("!#$%&'*+-/=?^_`{|}~", c) != NULL);
}

/* ------------------------------------------------------------ SUPI */

MSGSEC_SDK_EXPORT int msgsec_akma_supi_value(const char *supi, size_t len,
                                             const char **value,
                                             size_t *value_len)
{
    if (!supi || !value || !value_len || len == 0 ||
        len > MSGSEC_KDF_PARAM_MAX)
        return MSGSEC_ERR_INVALID_ARG;
    if (len >= IMSI_PREFIX_LEN &&
        same_nocase(supi, IMSI_PREFIX, IMSI_PREFIX_LEN)) {
        size_t n = len - IMSI_PREFIX_LEN;
        if (n < IMSI_MIN_DIGITS || n > IMSI_MAX_DIGITS ||
            !all_digits(supi + IMSI_PREFIX_LEN, n))
            return MSGSEC_ERR_INVALID_ARG;
        *value = supi + IMSI_PREFIX_LEN;
        *value_len = n;
        return MSGSEC_OK;
    }
    *value = supi;
    *value_len = len;
    return MSGSEC_OK;
}

/* ----------------------------------------------------- derivations */

static int derive(msgsec_kdf *kdf, const uint8_t *key, size_t key_len,
                  uint8_t fc, const msgsec_kdf_param *params, size_t n,
                  uint8_t *out)
{
    if (kdf)
        return msgsec_kdf_derive(kdf, key, key_len, fc, params, n, out);
    return msgsec_kdf_oneshot(key, key_len, fc, params, n, out);
}

static int derive_from_supi(msgsec_kdf *kdf, const uint8_t *k_ausf,
                            size_t k_ausf_len, uint8_t fc, const char *label,
                            const char *supi, size_t supi_len, uint8_t *out)
{
    msgsec_kdf_param p[2];
    const char *v;
    size_t vlen;
    int rc;

    if (!out)
        return MSGSEC_ERR_INVALID_ARG;
    rc = msgsec_akma_supi_value(supi, supi_len, &v, &vlen);
    if (rc == MSGSEC_OK && (!k_ausf || k_ausf_len != MSGSEC_AKMA_KEY_LEN))
        rc = MSGSEC_ERR_INVALID_ARG;
    if (rc != MSGSEC_OK) {
        OPENSSL_cleanse(out, MSGSEC_AKMA_KEY_LEN);
        return rc;
    }
    p[0].data = (const uint8_t *)label;
    p[0].len = strlen(label);
    p[1].data = (const uint8_t *)v;
    p[1].len = vlen;
    return derive(kdf, k_ausf, k_ausf_len, fc, p, 2, out);
}

MSGSEC_SDK_EXPORT int msgsec_akma_derive_k_akma(
    msgsec_kdf *kdf, const uint8_t *k_ausf, size_t k_ausf_len,
    const char *supi, size_t supi_len, uint8_t out[MSGSEC_AKMA_KEY_LEN])
{
    return derive_from_supi(kdf, k_ausf, k_ausf_len, MSGSEC_AKMA_FC_K_AKMA,
                            "AKMA", supi, supi_len, out);
}

MSGSEC_SDK_EXPORT int msgsec_akma_derive_a_tid(
    msgsec_kdf *kdf, const uint8_t *k_ausf, size_t k_ausf_len,
    const char *supi, size_t supi_len, uint8_t out[MSGSEC_AKMA_A_TID_LEN])
{
    return derive_from_supi(kdf, k_ausf, k_ausf_len, MSGSEC_AKMA_FC_A_TID,
                            "A-TID", supi, supi_len, out);
}

MSGSEC_SDK_EXPORT int msgsec_akma_derive_k_af(
    msgsec_kdf *kdf, const uint8_t *k_akma, size_t k_akma_len,
    const uint8_t *af_id, size_t af_id_len, uint8_t out[MSGSEC_AKMA_KEY_LEN])
{
    msgsec_kdf_param p;

    if (!out)
        return MSGSEC_ERR_INVALID_ARG;
    if (!k_akma || k_akma_len != MSGSEC_AKMA_KEY_LEN || !af_id ||
        af_id_len <= MSGSEC_AKMA_UA_ID_LEN ||
        af_id_len > MSGSEC_AKMA_AF_ID_MAX) {
        OPENSSL_cleanse(out, MSGSEC_AKMA_KEY_LEN);
        return MSGSEC_ERR_INVALID_ARG;
    }
    p.data = af_id;
    p.len = af_id_len;
    return derive(kdf, k_akma, k_akma_len, MSGSEC_AKMA_FC_K_AF, &p, 1, out);
}

/* An FQDN as the KDF takes it: printable ASCII (no space) or UTF-8. */
static int fqdn_ok(const char *fqdn, size_t len)
{
    const unsigned char *p = (const unsigned char *)fqdn;

    if (!fqdn || len == 0 || len > MSGSEC_AKMA_FQDN_MAX)
        return 0;
    for (size_t i = 0; i < len;) {
        if (p[i] > 0x20 && p[i] < 0x7f) {
            i++;
            continue;
        }
        size_t n = utf8_seq(p + i, len - i);
        if (n == 0)
            return 0;
        i += n;
    }
    return 1;
}

MSGSEC_SDK_EXPORT int msgsec_akma_af_id(
    const char *fqdn, size_t fqdn_len,
    const uint8_t ua_id[MSGSEC_AKMA_UA_ID_LEN], uint8_t *out, size_t cap,
    size_t *out_len)
{
    if (!ua_id || !out || !out_len || !fqdn_ok(fqdn, fqdn_len))
        return MSGSEC_ERR_INVALID_ARG;
    *out_len = fqdn_len + MSGSEC_AKMA_UA_ID_LEN;
    if (cap < *out_len)
        return MSGSEC_ERR_BUFFER_TOO_SMALL;
    memcpy(out, fqdn, fqdn_len);
    memcpy(out + fqdn_len, ua_id, MSGSEC_AKMA_UA_ID_LEN);
    return MSGSEC_OK;
}

MSGSEC_SDK_EXPORT int msgsec_akma_derive_k_af_fqdn(
    msgsec_kdf *kdf, const uint8_t *k_akma, size_t k_akma_len,
    const char *fqdn, size_t fqdn_len,
    const uint8_t ua_id[MSGSEC_AKMA_UA_ID_LEN],
    uint8_t out[MSGSEC_AKMA_KEY_LEN])
{
    uint8_t af_id[MSGSEC_AKMA_AF_ID_MAX];
    size_t len;
    int rc;

    if (!out)
        return MSGSEC_ERR_INVALID_ARG;
    rc = msgsec_akma_af_id(fqdn, fqdn_len, ua_id, af_id, sizeof(af_id), &len);
    if (rc != MSGSEC_OK) {
        OPENSSL_cleanse(out, MSGSEC_AKMA_KEY_LEN);
        return rc;
    }
    return msgsec_akma_derive_k_af(kdf, k_akma, k_akma_len, af_id, len, out);
}

MSGSEC_SDK_EXPORT int msgsec_akma_ua_id_tls13(
    uint8_t out[MSGSEC_AKMA_UA_ID_LEN])
{
    static const uint8_t id[MSGSEC_AKMA_UA_ID_LEN] = MSGSEC_AKMA_UA_ID_TLS13;

    if (!out)
        return MSGSEC_ERR_INVALID_ARG;
    memcpy(out, id, sizeof(id));
    return MSGSEC_OK;
}

MSGSEC_SDK_EXPORT int msgsec_akma_ua_id_tls12(
    uint16_t cipher_suite, uint8_t out[MSGSEC_AKMA_UA_ID_LEN])
{
    if (!out)
        return MSGSEC_ERR_INVALID_ARG;
    out[0] = 0x01;
    out[1] = 0x00;
    out[2] = 0x01;
    out[3] = (uint8_t)(cipher_suite >> 8);
    out[4] = (uint8_t)cipher_suite;
    return MSGSEC_OK;
}

/* ------------------------------------------------------- self-test */

/* DOMAIN.md's known answers (computed independently in two languages). */
static const uint8_t kat_k_ausf[32] = {
    0x00, 0x01, 0x02, 0x03, 0x04, 0x05, 0x06, 0x07, 0x08, 0x09, 0x0a,
    0x0b, 0x0c, 0x0d, 0x0e, 0x0f, 0x10, 0x11, 0x12, 0x13, 0x14, 0x15,
    0x16, 0x17, 0x18, 0x19, 0x1a, 0x1b, 0x1c, 0x1d, 0x1e, 0x1f};
static const uint8_t kat_k_akma[32] = {
    0xbb, 0xa5, 0xe9, 0x5f, 0x12, 0x05, 0xd4, 0xf1, 0xc2, 0x17, 0xb9,
    0x1e, 0x08, 0xec, 0x35, 0x09, 0xad, 0x62, 0xcf, 0xbf, 0x43, 0xf4,
    0x74, 0xc6, 0xbf, 0x49, 0x5d, 0xa8, 0x31, 0x32, 0xc9, 0x5e};
static const uint8_t kat_a_tid[32] = {
    0x67, 0xd8, 0xde, 0xe4, 0x7b, 0x7d, 0x74, 0xe6, 0xf4, 0x57, 0xb7,
    0xb2, 0x3d, 0x58, 0x06, 0x74, 0x6e, 0xd8, 0x7b, 0x92, 0x0a, 0xa8,
    0x03, 0x5f, 0x37, 0xb4, 0x94, 0xc1, 0xbf, 0xc5, 0xd8, 0x3b};
static const uint8_t kat_k_af[32] = {
    0x23, 0xbe, 0xf2, 0x38, 0xa0, 0x02, 0xc7, 0x58, 0xf4, 0x28, 0x45,
    0xfe, 0x14, 0x22, 0xdd, 0xe4, 0xa9, 0xf2, 0x87, 0x01, 0x60, 0x74,
    0x12, 0x8f, 0x5c, 0x51, 0x01, 0xbc, 0xb2, 0x8b, 0x9a, 0xdb};

MSGSEC_SDK_EXPORT int msgsec_akma_self_test(msgsec_kdf *kdf)
{
    static const char supi[] = "001010000000001";
    static const char supi_sbi[] = "imsi-001010000000001";
    static const char fqdn[] = "msgin5g.example.com";
    static const uint8_t ua[] = MSGSEC_AKMA_UA_ID_TLS13;
    uint8_t k[MSGSEC_AKMA_KEY_LEN];
    int rc, bad = 0;

    rc = msgsec_akma_derive_k_akma(kdf, kat_k_ausf, sizeof(kat_k_ausf), supi,
                                   sizeof(supi) - 1, k);
    if (rc != MSGSEC_OK)
        goto out;
    bad |= CRYPTO_memcmp(k, kat_k_akma, sizeof(k));
    rc = msgsec_akma_derive_k_akma(kdf, kat_k_ausf, sizeof(kat_k_ausf),
                                   supi_sbi, sizeof(supi_sbi) - 1, k);
    if (rc != MSGSEC_OK)
        goto out;
    bad |= CRYPTO_memcmp(k, kat_k_akma, sizeof(k));
    rc = msgsec_akma_derive_a_tid(kdf, kat_k_ausf, sizeof(kat_k_ausf), supi,
                                  sizeof(supi) - 1, k);
    if (rc != MSGSEC_OK)
        goto out;
    bad |= CRYPTO_memcmp(k, kat_a_tid, sizeof(k));
    rc = msgsec_akma_derive_k_af_fqdn(kdf, kat_k_akma, sizeof(kat_k_akma),
                                      fqdn, sizeof(fqdn) - 1, ua, k);
    if (rc != MSGSEC_OK)
        goto out;
    bad |= CRYPTO_memcmp(k, kat_k_af, sizeof(k));
    rc = bad ? MSGSEC_ERR_PROVIDER_SELF_TEST : MSGSEC_OK;
out:
    OPENSSL_cleanse(k, sizeof(k));
    return rc;
}

/* ---------------------------------------------- home network realm */

MSGSEC_SDK_EXPORT int msgsec_akma_realm_build(const char *mcc, size_t mcc_len,
                                              const char *mnc, size_t mnc_len,
                                              char *out, size_t cap,
                                              size_t *out_len)
{
    char *p = out;

    if (!mcc || !mnc || !out || !out_len || mcc_len != 3 ||
        !all_digits(mcc, 3) || (mnc_len != 2 && mnc_len != 3) ||
        !all_digits(mnc, mnc_len))
        return MSGSEC_ERR_INVALID_ARG;
    *out_len = MSGSEC_AKMA_REALM_LEN;
    if (cap < MSGSEC_AKMA_REALM_LEN + 1)
        return MSGSEC_ERR_BUFFER_TOO_SMALL;
    memcpy(p, "5gc.mnc", 7);
    p += 7;
    if (mnc_len == 2)
        *p++ = '0';
    memcpy(p, mnc, mnc_len);
    p += mnc_len;
    memcpy(p, ".mcc", 4);
    p += 4;
    memcpy(p, mcc, 3);
    p += 3;
    memcpy(p, ".3gppnetwork.org", 17); /* with the NUL */
    return MSGSEC_OK;
}

MSGSEC_SDK_EXPORT int msgsec_akma_realm_parse(const char *realm, size_t len,
                                              char mcc[4], char mnc[4])
{
    if (!realm || !mcc || !mnc)
        return MSGSEC_ERR_INVALID_ARG;
    /* 5gc.mncNNN.mccNNN.3gppnetwork.org */
    if (len != MSGSEC_AKMA_REALM_LEN || !same_nocase(realm, "5gc.mnc", 7) ||
        !all_digits(realm + 7, 3) || !same_nocase(realm + 10, ".mcc", 4) ||
        !all_digits(realm + 14, 3) ||
        !same_nocase(realm + 17, ".3gppnetwork.org", 16))
        return MSGSEC_ERR_BAD_FRAME;
    memcpy(mnc, realm + 7, 3);
    mnc[3] = '\0';
    memcpy(mcc, realm + 14, 3);
    mcc[3] = '\0';
    return MSGSEC_OK;
}

/* ----------------------------------------------------------- A-KID */

static const char b64url[] =
    "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";

MSGSEC_SDK_EXPORT void msgsec_akid_settings_default(msgsec_akid_settings *s)
{
    if (!s)
        return;
    memset(s, 0, sizeof(*s));
    s->separator[0] = '.';
    s->atid_encoding = MSGSEC_AKID_ATID_HEX;
}

/* Why a separator is unusable, or NULL when it is fine. */
static const char *separator_problem(const char *sep, size_t len)
{
    if (len > MSGSEC_AKID_SEPARATOR_MAX)
        return "the A-KID separator is longer than 8 characters";
    for (size_t i = 0; i < len; i++) {
        unsigned char c = (unsigned char)sep[i];
        if (c == '.') {
            if (i + 1 < len && sep[i + 1] == '.')
                return "the A-KID separator has two '.' in a row";
        } else if (!is_atext(c))
            return "the A-KID separator has a character an NAI username "
                   "cannot hold (allowed: letters, digits, '.' and "
                   "!#$%&'*+-/=?^_`{|}~)";
    }
    return NULL;
}

/* The settings in use, checked; NULL when they are invalid. */
static const msgsec_akid_settings *settings_or_default(
    const msgsec_akid_settings *s, msgsec_akid_settings *def)
{
    const char *nul;

    if (!s) {
        msgsec_akid_settings_default(def);
        return def;
    }
    nul = memchr(s->separator, '\0', sizeof(s->separator));
    if (!nul || separator_problem(s->separator,
                                  (size_t)(nul - s->separator)) != NULL)
        return NULL;
    if (s->atid_encoding != MSGSEC_AKID_ATID_HEX &&
        s->atid_encoding != MSGSEC_AKID_ATID_BASE64URL)
        return NULL;
    return s;
}

MSGSEC_SDK_EXPORT int msgsec_akid_settings_set(msgsec_akid_settings *s,
                                               const char *key,
                                               const char *value,
                                               const char **reason)
{
    const char *why;
    size_t len;

    if (reason)
        *reason = NULL;
    if (!s || !key || !value)
        return MSGSEC_ERR_INVALID_ARG;
    len = strlen(value);
    if (strcmp(key, MSGSEC_AKID_KEY_SEPARATOR) == 0) {
        why = separator_problem(value, len);
        if (why) {
            if (reason)
                *reason = why;
            return MSGSEC_ERR_POLICY_BAD_VALUE;
        }
        memset(s->separator, 0, sizeof(s->separator));
        memcpy(s->separator, value, len);
        return MSGSEC_OK;
    }
    if (strcmp(key, MSGSEC_AKID_KEY_ATID_ENCODING) == 0) {
        if (len == 3 && same_nocase(value, "hex", 3))
            s->atid_encoding = MSGSEC_AKID_ATID_HEX;
        else if (len == 9 && same_nocase(value, "base64url", 9))
            s->atid_encoding = MSGSEC_AKID_ATID_BASE64URL;
        else {
            if (reason)
                *reason = "the A-TID encoding must be hex or base64url";
            return MSGSEC_ERR_POLICY_BAD_VALUE;
        }
        return MSGSEC_OK;
    }
    if (reason)
        *reason = "not an A-KID setting";
    return MSGSEC_ERR_POLICY_UNKNOWN_KEY;
}

static size_t encoded_atid_len(int encoding)
{
    return encoding == MSGSEC_AKID_ATID_HEX ? HEX_ATID_LEN : B64_ATID_LEN;
}

static void encode_atid(int encoding, const uint8_t *atid, char *out)
{
    static const char hex[] = "0123456789abcdef";

    if (encoding == MSGSEC_AKID_ATID_HEX) {
        for (size_t i = 0; i < MSGSEC_AKMA_A_TID_LEN; i++) {
            out[2 * i] = hex[atid[i] >> 4];
            out[2 * i + 1] = hex[atid[i] & 0x0f];
        }
        return;
    }
    /* base64url without padding: 10 groups of 3 bytes, then 2 bytes. */
    size_t o = 0, i = 0;
    for (; i + 3 <= MSGSEC_AKMA_A_TID_LEN; i += 3) {
        uint32_t v = ((uint32_t)atid[i] << 16) | ((uint32_t)atid[i + 1] << 8) |
                     atid[i + 2];
        out[o++] = b64url[(v >> 18) & 63];
        out[o++] = b64url[(v >> 12) & 63];
        out[o++] = b64url[(v >> 6) & 63];
        out[o++] = b64url[v & 63];
    }
    uint32_t v = ((uint32_t)atid[i] << 16) | ((uint32_t)atid[i + 1] << 8);
    out[o++] = b64url[(v >> 18) & 63];
    out[o++] = b64url[(v >> 12) & 63];
    out[o] = b64url[(v >> 6) & 63];
}

static int hex_value(unsigned char c)
{
    if (is_digit(c))
        return c - '0';
    c = lower(c);
    if (c >= 'a' && c <= 'f')
        return c - 'a' + 10;
    return -1;
}

static int b64url_value(unsigned char c)
{
    if (c >= 'A' && c <= 'Z')
        return c - 'A';
    if (c >= 'a' && c <= 'z')
        return c - 'a' + 26;
    if (is_digit(c))
        return c - '0' + 52;
    if (c == '-')
        return 62;
    if (c == '_')
        return 63;
    return -1;
}

/* Decodes an encoded A-TID of the right length; 1 when well-formed. */
static int decode_atid(int encoding, const char *in, uint8_t *atid)
{
    const unsigned char *p = (const unsigned char *)in;

    if (encoding == MSGSEC_AKID_ATID_HEX) {
        for (size_t i = 0; i < MSGSEC_AKMA_A_TID_LEN; i++) {
            int hi = hex_value(p[2 * i]), lo = hex_value(p[2 * i + 1]);
            if (hi < 0 || lo < 0)
                return 0;
            atid[i] = (uint8_t)(hi << 4 | lo);
        }
        return 1;
    }
    uint32_t acc = 0;
    unsigned bits = 0;
    size_t o = 0;
    for (size_t i = 0; i < B64_ATID_LEN; i++) {
        int v = b64url_value(p[i]);
        if (v < 0)
            return 0;
        acc = (acc << 6) | (uint32_t)v;
        bits += 6;
        if (bits >= 8) {
            bits -= 8;
            atid[o++] = (uint8_t)(acc >> bits);
            acc &= (1u << bits) - 1;
        }
    }
    /* Canonical form only: the 2 bits left over must be zero. */
    return o == MSGSEC_AKMA_A_TID_LEN && acc == 0;
}

MSGSEC_SDK_EXPORT int msgsec_akid_build(
    const msgsec_akid_settings *s, const char *rid, size_t rid_len,
    const uint8_t a_tid[MSGSEC_AKMA_A_TID_LEN], const char *mcc,
    size_t mcc_len, const char *mnc, size_t mnc_len, char *out, size_t cap,
    size_t *out_len)
{
    msgsec_akid_settings def;
    const msgsec_akid_settings *set = settings_or_default(s, &def);
    char realm[MSGSEC_AKMA_REALM_LEN + 1];
    size_t realm_len, sep_len, enc_len, need, o = 0;
    int rc;

    if (!set || !rid || !a_tid || !out || !out_len || rid_len == 0 ||
        rid_len > MSGSEC_AKID_RID_MAX || !all_digits(rid, rid_len))
        return MSGSEC_ERR_INVALID_ARG;
    rc = msgsec_akma_realm_build(mcc, mcc_len, mnc, mnc_len, realm,
                                 sizeof(realm), &realm_len);
    if (rc != MSGSEC_OK)
        return rc;
    sep_len = strlen(set->separator);
    enc_len = encoded_atid_len(set->atid_encoding);
    need = rid_len + sep_len + enc_len + 1 + realm_len;
    *out_len = need;
    if (cap < need + 1)
        return MSGSEC_ERR_BUFFER_TOO_SMALL;
    memcpy(out + o, rid, rid_len);
    o += rid_len;
    memcpy(out + o, set->separator, sep_len);
    o += sep_len;
    encode_atid(set->atid_encoding, a_tid, out + o);
    o += enc_len;
    out[o++] = '@';
    memcpy(out + o, realm, realm_len + 1);
    return MSGSEC_OK;
}

/* Checks an RFC 7542 dot-string username; NULL or why not. */
static const char *username_problem(const unsigned char *p, size_t len)
{
    if (len == 0)
        return "empty username (nothing before '@')";
    if (p[0] == '.' || p[len - 1] == '.')
        return "the username starts or ends with '.'";
    for (size_t i = 0; i < len;) {
        if (p[i] == '.') {
            if (p[i + 1] == '.')
                return "the username has two '.' in a row";
            i++;
        } else if (p[i] < 0x80) {
            if (!is_atext(p[i]))
                return "the username has a character an NAI does not allow";
            i++;
        } else {
            size_t n = utf8_seq(p + i, len - i);
            if (n == 0)
                return "the username is not well-formed UTF-8";
            i += n;
        }
    }
    return NULL;
}

/* Checks an RFC 7542 realm (two labels or more); NULL or why not. */
static const char *realm_problem(const unsigned char *p, size_t len)
{
    size_t labels = 0;

    if (len == 0)
        return "empty realm (nothing after '@')";
    for (size_t i = 0; i <= len;) {
        size_t start = i;
        int last_hyphen = 0;

        /* One label: letters, digits, UTF-8, '-' inside only. */
        while (i < len && p[i] != '.') {
            if (p[i] == '-') {
                if (i == start)
                    return "a realm label starts with '-'";
                last_hyphen = 1;
                i++;
            } else if (p[i] < 0x80) {
                if (!is_alpha(p[i]) && !is_digit(p[i]))
                    return "the realm has a character an NAI does not allow";
                last_hyphen = 0;
                i++;
            } else {
                size_t n = utf8_seq(p + i, len - i);
                if (n == 0)
                    return "the realm is not well-formed UTF-8";
                last_hyphen = 0;
                i += n;
            }
        }
        if (i == start)
            return "the realm has an empty label (a '.' at the start, at "
                   "the end or twice in a row)";
        if (last_hyphen)
            return "a realm label ends with '-'";
        if (i - start > REALM_LABEL_MAX)
            return "a realm label is longer than 63 bytes";
        labels++;
        i++; /* past the '.', or past the end */
    }
    if (labels < 2)
        return "the realm has a single label (an NAI realm is a domain "
               "name such as 5gc.mnc001.mcc001.3gppnetwork.org)";
    return NULL;
}

/* The RID and A-TID when the username has the settings' form. */
static void split_username(const msgsec_akid_settings *set,
                           msgsec_akid_parts *out)
{
    size_t sep_len = strlen(set->separator);
    size_t enc_len = encoded_atid_len(set->atid_encoding);
    size_t ulen = out->username_len;
    size_t rid_len;
    uint8_t atid[MSGSEC_AKMA_A_TID_LEN];

    if (ulen < 1 + sep_len + enc_len)
        return;
    rid_len = ulen - sep_len - enc_len;
    if (rid_len > MSGSEC_AKID_RID_MAX ||
        !all_digits(out->username, rid_len) ||
        memcmp(out->username + rid_len, set->separator, sep_len) != 0 ||
        !decode_atid(set->atid_encoding,
                     out->username + rid_len + sep_len, atid))
        return;
    out->has_rid_a_tid = 1;
    out->rid = out->username;
    out->rid_len = rid_len;
    memcpy(out->a_tid, atid, sizeof(atid));
}

MSGSEC_SDK_EXPORT int msgsec_akid_parse(const char *akid, size_t len,
                                        const msgsec_akid_settings *s,
                                        msgsec_akid_parts *out,
                                        const char **reason)
{
    msgsec_akid_settings def;
    const msgsec_akid_settings *set;
    const unsigned char *p = (const unsigned char *)akid;
    const char *why = NULL;
    const char *at = NULL;
    size_t ats = 0;

    if (reason)
        *reason = NULL;
    if (out)
        memset(out, 0, sizeof(*out));
    set = settings_or_default(s, &def);
    if (!akid || !out || !set) {
        if (reason)
            *reason = !set ? "invalid A-KID settings" : "no A-KID given";
        return MSGSEC_ERR_INVALID_ARG;
    }
    if (len == 0)
        why = "empty A-KID";
    else if (len > MSGSEC_AKID_MAX_LEN)
        why = "the A-KID is longer than 253 bytes";
    if (!why) {
        for (size_t i = 0; i < len; i++)
            if (p[i] == '@') {
                if (ats++ == 0)
                    at = akid + i;
            }
        if (ats == 0)
            why = "no '@' (an A-KID is username@realm)";
        else if (ats > 1)
            why = "more than one '@'";
    }
    if (!why)
        why = username_problem(p, (size_t)(at - akid));
    if (!why)
        why = realm_problem((const unsigned char *)at + 1,
                            len - (size_t)(at - akid) - 1);
    if (why) {
        if (reason)
            *reason = why;
        return MSGSEC_ERR_BAD_FRAME;
    }
    out->username = akid;
    out->username_len = (size_t)(at - akid);
    out->realm = at + 1;
    out->realm_len = len - out->username_len - 1;
    split_username(set, out);
    if (msgsec_akma_realm_parse(out->realm, out->realm_len, out->mcc,
                                out->mnc) == MSGSEC_OK)
        out->has_home_network = 1;
    return MSGSEC_OK;
}

MSGSEC_SDK_EXPORT int msgsec_akid_realm(const char *akid, size_t len,
                                        const char **realm, size_t *realm_len,
                                        const char **reason)
{
    msgsec_akid_parts parts;
    int rc;

    if (!realm || !realm_len) {
        if (reason)
            *reason = "no place for the realm given";
        return MSGSEC_ERR_INVALID_ARG;
    }
    *realm = NULL;
    *realm_len = 0;
    rc = msgsec_akid_parse(akid, len, NULL, &parts, reason);
    if (rc != MSGSEC_OK)
        return rc;
    *realm = parts.realm;
    *realm_len = parts.realm_len;
    return MSGSEC_OK;
}
