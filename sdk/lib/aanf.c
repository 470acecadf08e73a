/*
 * aanf.c - JSON codec of the AAnF / NEF AKMA API (TS 29.535, TS 29.522,
 * ProblemDetails of TS 29.571) on jansson, and the settings where 3GPP is
 * open. See <msgsec/aanf.h>.
 */
#include <stdio.h>
#include <string.h>
#include <strings.h>

#include <jansson.h>
#include <openssl/crypto.h>

#include <msgsec/aanf.h>

#include "jsonutil.h"

static const uint8_t ua_tls13[MSGSEC_AKMA_UA_ID_LEN] = MSGSEC_AKMA_UA_ID_TLS13;
static const msgsec_aanf_settings defaults = {MSGSEC_AANF_KEY_HEX,
                                              MSGSEC_AANF_AFID_FQDN_UA};

/* ------------------------------------------------------------ settings */

MSGSEC_SDK_EXPORT void msgsec_aanf_settings_default(msgsec_aanf_settings *s)
{
    if (s)
        *s = defaults;
}

MSGSEC_SDK_EXPORT const char *msgsec_aanf_key_encoding_name(int encoding)
{
    switch (encoding) {
    case MSGSEC_AANF_KEY_HEX:
        return "hex";
    case MSGSEC_AANF_KEY_BASE64:
        return "base64";
    default:
        return NULL;
    }
}

MSGSEC_SDK_EXPORT const char *msgsec_aanf_afid_format_name(int format)
{
    switch (format) {
    case MSGSEC_AANF_AFID_FQDN_UA:
        return "fqdn-ua";
    case MSGSEC_AANF_AFID_FQDN:
        return "fqdn";
    default:
        return NULL;
    }
}

MSGSEC_SDK_EXPORT int msgsec_aanf_settings_set(msgsec_aanf_settings *s,
                                               const char *key,
                                               const char *value,
                                               const char **reason)
{
    const char *dummy;
    if (!reason)
        reason = &dummy;
    *reason = NULL;
    if (!s || !key || !value) {
        *reason = "missing argument";
        return MSGSEC_ERR_INVALID_ARG;
    }
    if (strcmp(key, MSGSEC_AANF_KEY_KEY_ENCODING) == 0) {
        for (int e = MSGSEC_AANF_KEY_HEX; e <= MSGSEC_AANF_KEY_BASE64; e++)
            if (strcmp(value, msgsec_aanf_key_encoding_name(e)) == 0) {
                s->key_encoding = e;
                return 0;
            }
        *reason = "must be hex or base64";
        return MSGSEC_ERR_POLICY_BAD_VALUE;
    }
    if (strcmp(key, MSGSEC_AANF_KEY_AFID_FORMAT) == 0) {
        for (int f = MSGSEC_AANF_AFID_FQDN_UA; f <= MSGSEC_AANF_AFID_FQDN; f++)
            if (strcmp(value, msgsec_aanf_afid_format_name(f)) == 0) {
                s->afid_format = f;
                return 0;
            }
        *reason = "must be fqdn-ua or fqdn";
        return MSGSEC_ERR_POLICY_BAD_VALUE;
    }
    *reason = "not an AAnF setting";
    return MSGSEC_ERR_POLICY_UNKNOWN_KEY;
}

static const msgsec_aanf_settings *settings_or_default(
    const msgsec_aanf_settings *s)
{
    if (!s)
        return &defaults;
    if (!msgsec_aanf_key_encoding_name(s->key_encoding) ||
        !msgsec_aanf_afid_format_name(s->afid_format))
        return NULL;
    return s;
}

/* ---------------------------------------------------------------- afId */

/* The FQDN rules of msgsec_akma_af_id(), plus no ';' (our separator). */
static int fqdn_ok(const char *fqdn, size_t len)
{
    uint8_t buf[MSGSEC_AKMA_AF_ID_MAX];
    size_t n;
    if (len == 0 || memchr(fqdn, ';', len))
        return 0;
    return msgsec_akma_af_id(fqdn, len, ua_tls13, buf, sizeof(buf), &n) == 0;
}

MSGSEC_SDK_EXPORT int msgsec_aanf_afid_build(
    const msgsec_aanf_settings *s, const char *fqdn, size_t fqdn_len,
    const uint8_t ua_id[MSGSEC_AKMA_UA_ID_LEN], char *out, size_t cap,
    size_t *out_len)
{
    if (!(s = settings_or_default(s)) || !fqdn || !ua_id || !out || !out_len)
        return MSGSEC_ERR_INVALID_ARG;
    *out_len = 0;
    if (cap)
        out[0] = 0;
    if (!fqdn_ok(fqdn, fqdn_len))
        return MSGSEC_ERR_INVALID_ARG;
    size_t need = fqdn_len;
    if (s->afid_format == MSGSEC_AANF_AFID_FQDN) {
        if (memcmp(ua_id, ua_tls13, sizeof(ua_tls13)) != 0)
            return MSGSEC_ERR_UNSUPPORTED;
    } else {
        need += 14;
    }
    if (need + 1 > cap)
        return MSGSEC_ERR_BUFFER_TOO_SMALL;
    memcpy(out, fqdn, fqdn_len);
    if (s->afid_format == MSGSEC_AANF_AFID_FQDN_UA)
        snprintf(out + fqdn_len, cap - fqdn_len, ";ua=%02x%02x%02x%02x%02x",
                 ua_id[0], ua_id[1], ua_id[2], ua_id[3], ua_id[4]);
    out[need] = 0;
    *out_len = need;
    return 0;
}

MSGSEC_SDK_EXPORT int msgsec_aanf_afid_parse(
    const msgsec_aanf_settings *s, const char *af_id, size_t len,
    char fqdn[MSGSEC_AKMA_FQDN_MAX + 1], size_t *fqdn_len,
    uint8_t ua_id[MSGSEC_AKMA_UA_ID_LEN], const char **reason)
{
    const char *dummy;
    if (!reason)
        reason = &dummy;
    *reason = NULL;
    if (!(s = settings_or_default(s)) || !af_id || !fqdn || !fqdn_len ||
        !ua_id) {
        *reason = "missing argument";
        return MSGSEC_ERR_INVALID_ARG;
    }
    fqdn[0] = 0;
    *fqdn_len = 0;
    memset(ua_id, 0, MSGSEC_AKMA_UA_ID_LEN);
    size_t flen = len;
    uint8_t ua[MSGSEC_AKMA_UA_ID_LEN];
    memcpy(ua, ua_tls13, sizeof(ua));
    if (s->afid_format == MSGSEC_AANF_AFID_FQDN_UA) {
        const char *semi = memchr(af_id, ';', len);
        if (!semi) {
            *reason = "no \";ua=\" part after the FQDN";
            return MSGSEC_ERR_BAD_FRAME;
        }
        flen = (size_t)(semi - af_id);
        const char *p = semi + 1;
        size_t rest = len - flen - 1;
        if (rest != 13 || memcmp(p, "ua=", 3) != 0) {
            *reason = "\";ua=\" must be followed by exactly 10 hex digits";
            return MSGSEC_ERR_BAD_FRAME;
        }
        for (size_t i = 0; i < MSGSEC_AKMA_UA_ID_LEN; i++) {
            int hi = msgsec_json_hexval((unsigned char)p[3 + 2 * i]);
            int lo = msgsec_json_hexval((unsigned char)p[4 + 2 * i]);
            if (hi < 0 || lo < 0) {
                *reason = "the Ua* identifier must be 10 hex digits";
                return MSGSEC_ERR_BAD_FRAME;
            }
            ua[i] = (uint8_t)(hi << 4 | lo);
        }
    }
    if (flen > MSGSEC_AKMA_FQDN_MAX || !fqdn_ok(af_id, flen)) {
        *reason = flen == 0 ? "empty FQDN" : "not a valid FQDN";
        return MSGSEC_ERR_BAD_FRAME;
    }
    memcpy(fqdn, af_id, flen);
    fqdn[flen] = 0;
    *fqdn_len = flen;
    memcpy(ua_id, ua, sizeof(ua));
    return 0;
}

/* ----------------------------------------------------------- date-time */

/* Days since 1970-01-01 of a proleptic Gregorian date (H. Hinnant). */
static int64_t days_from_civil(int64_t y, unsigned m, unsigned d)
{
    y -= m <= 2;
    int64_t era = (y >= 0 ? y : y - 399) / 400;
    unsigned yoe = (unsigned)(y - era * 400);
    unsigned doy = (153 * (m > 2 ? m - 3 : m + 9) + 2) / 5 + d - 1;
    unsigned doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    return era * 146097 + (int64_t)doe - 719468;
}

static void civil_from_days(int64_t z, int64_t *y, unsigned *m, unsigned *d)
{
    z += 719468;
    int64_t era = (z >= 0 ? z : z - 146096) / 146097;
    unsigned doe = (unsigned)(z - era * 146097);
    unsigned yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
    unsigned doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    unsigned mp = (5 * doy + 2) / 153;
    *d = doy - (153 * mp + 2) / 5 + 1;
    *m = mp < 10 ? mp + 3 : mp - 9;
    *y = (int64_t)yoe + era * 400 + (*m <= 2);
}

static unsigned days_in_month(int64_t y, unsigned m)
{
    static const unsigned dm[] = {31, 28, 31, 30, 31, 30,
                                  31, 31, 30, 31, 30, 31};
    if (m == 2 && ((y % 4 == 0 && y % 100 != 0) || y % 400 == 0))
        return 29;
    return dm[m - 1];
}

#define DT_MIN (-62167219200LL) /* 0000-01-01T00:00:00Z */
#define DT_MAX 253402300799LL   /* 9999-12-31T23:59:59Z */

MSGSEC_SDK_EXPORT int msgsec_aanf_datetime_format(
    int64_t t, char out[MSGSEC_AANF_DATETIME_SIZE])
{
    if (!out)
        return MSGSEC_ERR_INVALID_ARG;
    out[0] = 0;
    if (t < DT_MIN || t > DT_MAX)
        return MSGSEC_ERR_INVALID_ARG;
    int64_t days = t >= 0 ? t / 86400 : -((-t + 86399) / 86400);
    int64_t secs = t - days * 86400;
    int64_t y;
    unsigned m, d;
    civil_from_days(days, &y, &m, &d);
    /* Wide enough for any int, so the compiler sees no truncation; the
     * ranges checked above keep it to 20 characters. */
    char tmp[96];
    snprintf(tmp, sizeof(tmp), "%04d-%02u-%02uT%02d:%02d:%02dZ", (int)y, m, d,
             (int)(secs / 3600), (int)(secs / 60 % 60), (int)(secs % 60));
    memcpy(out, tmp, strlen(tmp) + 1);
    return 0;
}

/* n decimal digits at p, or -1. */
static int digits(const char *p, size_t n)
{
    int v = 0;
    for (size_t i = 0; i < n; i++) {
        if (p[i] < '0' || p[i] > '9')
            return -1;
        v = v * 10 + (p[i] - '0');
    }
    return v;
}

MSGSEC_SDK_EXPORT int msgsec_aanf_datetime_parse(const char *s, size_t len,
                                                 int64_t *t)
{
    if (!s || !t)
        return MSGSEC_ERR_INVALID_ARG;
    *t = 0;
    /* YYYY-MM-DDTHH:MM:SS is 19 characters, then a zone of at least 1. */
    if (len < 20 || len > 64 || s[4] != '-' || s[7] != '-' ||
        (s[10] != 'T' && s[10] != 't') || s[13] != ':' || s[16] != ':')
        return MSGSEC_ERR_BAD_FRAME;
    int y = digits(s, 4), mo = digits(s + 5, 2), d = digits(s + 8, 2);
    int h = digits(s + 11, 2), mi = digits(s + 14, 2), se = digits(s + 17, 2);
    if (y < 0 || mo < 1 || mo > 12 || d < 1 ||
        (unsigned)d > days_in_month(y, (unsigned)mo) || h < 0 || h > 23 ||
        mi < 0 || mi > 59 || se < 0 || se > 60)
        return MSGSEC_ERR_BAD_FRAME;
    size_t i = 19;
    if (s[i] == '.') {
        size_t start = ++i;
        while (i < len && s[i] >= '0' && s[i] <= '9')
            i++;
        if (i == start)
            return MSGSEC_ERR_BAD_FRAME;
    }
    int64_t off = 0;
    if (i < len && (s[i] == 'Z' || s[i] == 'z')) {
        i++;
    } else if (i + 6 == len && (s[i] == '+' || s[i] == '-') &&
               s[i + 3] == ':') {
        int oh = digits(s + i + 1, 2), om = digits(s + i + 4, 2);
        if (oh < 0 || oh > 23 || om < 0 || om > 59)
            return MSGSEC_ERR_BAD_FRAME;
        off = (int64_t)(oh * 3600 + om * 60) * (s[i] == '-' ? -1 : 1);
        i += 6;
    } else {
        return MSGSEC_ERR_BAD_FRAME;
    }
    if (i != len)
        return MSGSEC_ERR_BAD_FRAME;
    if (se == 60)
        se = 59;
    *t = days_from_civil(y, (unsigned)mo, (unsigned)d) * 86400 + h * 3600 +
         mi * 60 + se - off;
    return 0;
}

/* -------------------------------------------------------------- faults */

MSGSEC_SDK_EXPORT const char *msgsec_aanf_fault_text(
    const msgsec_aanf_fault *f, char *out, size_t cap)
{
    if (!out || !cap)
        return out;
    if (!f || f->kind == MSGSEC_AANF_FAULT_NONE)
        snprintf(out, cap, "no fault");
    else if (f->param[0])
        snprintf(out, cap, "%s: %s", f->param, f->reason);
    else
        snprintf(out, cap, "%s", f->reason);
    return out;
}

/* ----------------------------------------------------------- key text */

static const char b64[] =
    "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

#define KEY_TEXT_MAX 65 /* 64 hex digits or 44 base64 characters, + NUL */

static size_t key_encode(int enc, const uint8_t k[MSGSEC_AKMA_KEY_LEN],
                         char out[KEY_TEXT_MAX])
{
    if (enc == MSGSEC_AANF_KEY_HEX) {
        msgsec_json_hex_encode(k, MSGSEC_AKMA_KEY_LEN, out);
        return 2 * MSGSEC_AKMA_KEY_LEN;
    }
    size_t n = 0, i = 0;
    for (; i + 3 <= MSGSEC_AKMA_KEY_LEN; i += 3) {
        uint32_t v = (uint32_t)k[i] << 16 | (uint32_t)k[i + 1] << 8 | k[i + 2];
        out[n++] = b64[v >> 18];
        out[n++] = b64[(v >> 12) & 63];
        out[n++] = b64[(v >> 6) & 63];
        out[n++] = b64[v & 63];
    }
    /* 32 = 10 * 3 + 2: one group of two bytes, one '='. */
    uint32_t v = (uint32_t)k[i] << 16 | (uint32_t)k[i + 1] << 8;
    out[n++] = b64[v >> 18];
    out[n++] = b64[(v >> 12) & 63];
    out[n++] = b64[(v >> 6) & 63];
    out[n++] = '=';
    out[n] = 0;
    return n;
}

static int b64val(int c)
{
    const char *p = c ? strchr(b64, c) : NULL;
    return p ? (int)(p - b64) : -1;
}

/* Strict: exact length, alphabet, padding and zero trailing bits. */
static int key_decode(int enc, const char *t, size_t len,
                      uint8_t k[MSGSEC_AKMA_KEY_LEN], msgsec_aanf_fault *f,
                      const char *param)
{
    if (enc == MSGSEC_AANF_KEY_HEX) {
        if (len != 2 * MSGSEC_AKMA_KEY_LEN)
            return msgsec_json_fault(
                f, MSGSEC_AANF_FAULT_INCORRECT, param,
                "%d hexadecimal digits expected, got %zu characters",
                2 * MSGSEC_AKMA_KEY_LEN, len);
        if (msgsec_json_hex_decode(t, MSGSEC_AKMA_KEY_LEN, k) != 0)
            return msgsec_json_fault(
                f, MSGSEC_AANF_FAULT_INCORRECT, param,
                "not hexadecimal (the configured key encoding)");
        return 0;
    }
    if (len != 44)
        return msgsec_json_fault(
            f, MSGSEC_AANF_FAULT_INCORRECT, param,
            "44 base64 characters expected, got %zu characters", len);
    size_t n = 0;
    for (size_t i = 0; i < 44; i += 4) {
        int v[4];
        for (int j = 0; j < 4; j++)
            v[j] = b64val((unsigned char)t[i + j]);
        int last = i == 40;
        if (v[0] < 0 || v[1] < 0 || v[2] < 0 ||
            (last ? t[i + 3] != '=' : v[3] < 0) || (last && (v[2] & 3))) {
            OPENSSL_cleanse(k, MSGSEC_AKMA_KEY_LEN);
            return msgsec_json_fault(
                f, MSGSEC_AANF_FAULT_INCORRECT, param,
                "not canonical base64 (the configured key encoding)");
        }
        uint32_t x = (uint32_t)v[0] << 18 | (uint32_t)v[1] << 12 |
                     (uint32_t)v[2] << 6 | (uint32_t)(last ? 0 : v[3]);
        k[n++] = (uint8_t)(x >> 16);
        k[n++] = (uint8_t)(x >> 8);
        if (!last)
            k[n++] = (uint8_t)x;
    }
    return 0;
}

/* ------------------------------------------------------------- decoding */

static int load(const void *body, size_t len, json_t **root,
                msgsec_aanf_fault *f)
{
    return msgsec_json_load(body, len, MSGSEC_AANF_BODY_MAX, root, f);
}

static int begin(const msgsec_aanf_settings **s, const void *body, size_t len,
                 void *out, size_t size, msgsec_aanf_fault *f)
{
    int rc = msgsec_json_begin(body, len, out, size, f);
    if (rc == 0 && !(*s = settings_or_default(*s)))
        rc = MSGSEC_ERR_INVALID_ARG;
    return rc;
}

static int get_akid(json_t *o, char *dst, msgsec_aanf_fault *f)
{
    const char *v, *why = NULL;
    size_t n;
    int rc =
        msgsec_json_get_string(o, "aKId", 1, MSGSEC_AKID_MAX_LEN, &v, &n, f);
    if (rc)
        return rc;
    msgsec_akid_parts parts;
    if (msgsec_akid_parse(v, n, NULL, &parts, &why) != 0)
        return msgsec_json_fault(f, MSGSEC_AANF_FAULT_INCORRECT, "/aKId",
                                 "not an A-KID (NAI): %s",
                                 why ? why : "malformed");
    memcpy(dst, v, n);
    dst[n] = 0;
    return 0;
}

static int get_key(json_t *o, const char *name, int enc,
                   uint8_t k[MSGSEC_AKMA_KEY_LEN], msgsec_aanf_fault *f)
{
    const char *v;
    size_t n;
    char param[48];
    snprintf(param, sizeof(param), "/%s", name);
    /* Any length here: key_decode() names the wrong size. */
    int rc =
        msgsec_json_get_string(o, name, 1, MSGSEC_AANF_BODY_MAX, &v, &n, f);
    if (rc)
        return rc;
    return key_decode(enc, v, n, k, f, param);
}

/* suppFeat, when present: hexadecimal digits (TS 29.571). */
static int check_supp_feat(json_t *o, msgsec_aanf_fault *f)
{
    json_t *j = json_object_get(o, "suppFeat");
    if (!j)
        return 0;
    if (!json_is_string(j))
        return msgsec_json_fault(f, MSGSEC_AANF_FAULT_INCORRECT, "/suppFeat",
                                 "not a string");
    const char *s = json_string_value(j);
    for (size_t i = 0; i < json_string_length(j); i++)
        if (msgsec_json_hexval((unsigned char)s[i]) < 0)
            return msgsec_json_fault(f, MSGSEC_AANF_FAULT_INCORRECT,
                                     "/suppFeat", "not hexadecimal");
    return 0;
}

MSGSEC_SDK_EXPORT int msgsec_aanf_decode_key_request(
    const msgsec_aanf_settings *s, const void *body, size_t len,
    msgsec_aanf_key_request *out, msgsec_aanf_fault *f)
{
    json_t *o;
    int rc = begin(&s, body, len, out, sizeof(*out), f);
    if (rc || (rc = load(body, len, &o, f)))
        return rc;
    const char *v, *why;
    size_t n;
    char fq[MSGSEC_AKMA_FQDN_MAX + 1];
    size_t fqlen;
    uint8_t ua[MSGSEC_AKMA_UA_ID_LEN];
    if ((rc = check_supp_feat(o, f)) ||
        (rc = msgsec_json_get_string(o, "afId", 1, MSGSEC_AANF_AFID_MAX, &v, &n,
                                     f)))
        goto done;
    if (msgsec_aanf_afid_parse(s, v, n, fq, &fqlen, ua, &why) != 0) {
        rc = msgsec_json_fault(f, MSGSEC_AANF_FAULT_INCORRECT, "/afId",
                               "not an afId of format %s: %s",
                               msgsec_aanf_afid_format_name(s->afid_format),
                               why);
        goto done;
    }
    memcpy(out->af_id, v, n);
    out->af_id[n] = 0;
    if ((rc = get_akid(o, out->a_kid, f)))
        goto done;
    json_t *anon = json_object_get(o, "anonInd");
    if (anon) {
        if (!json_is_boolean(anon)) {
            rc = msgsec_json_fault(f, MSGSEC_AANF_FAULT_INCORRECT, "/anonInd",
                                   "not a boolean");
            goto done;
        }
        out->anon_ind = json_is_true(anon);
    }
done:
    return msgsec_json_end(o, NULL, rc, out, sizeof(*out));
}

MSGSEC_SDK_EXPORT int msgsec_aanf_decode_key_data(
    const msgsec_aanf_settings *s, const void *body, size_t len,
    msgsec_aanf_key_data *out, msgsec_aanf_fault *f)
{
    json_t *o;
    int rc = begin(&s, body, len, out, sizeof(*out), f);
    if (rc || (rc = load(body, len, &o, f)))
        return rc;
    if ((rc = check_supp_feat(o, f)) ||
        (rc = get_key(o, "kaf", s->key_encoding, out->kaf, f)) ||
        (rc = msgsec_json_get_datetime(o, "expiry", &out->expiry, f)) ||
        (rc = msgsec_json_get_ident(o, "supi", 0, out->supi, sizeof(out->supi),
                                    f)) ||
        (rc = msgsec_json_get_ident(o, "gpsi", 0, out->gpsi, sizeof(out->gpsi),
                                    f)))
        goto done;
done:
    return msgsec_json_end(o, "kaf", rc, out, sizeof(*out));
}

MSGSEC_SDK_EXPORT int msgsec_aanf_decode_key_info(
    const msgsec_aanf_settings *s, const void *body, size_t len,
    msgsec_aanf_key_info *out, msgsec_aanf_fault *f)
{
    json_t *o;
    int rc = begin(&s, body, len, out, sizeof(*out), f);
    if (rc || (rc = load(body, len, &o, f)))
        return rc;
    if ((rc = check_supp_feat(o, f)) || (rc = get_akid(o, out->a_kid, f)) ||
        (rc = get_key(o, "kAkma", s->key_encoding, out->k_akma, f)) ||
        (rc = msgsec_json_get_ident(o, "supi", 0, out->supi, sizeof(out->supi),
                                    f)) ||
        (rc = msgsec_json_get_ident(o, "gpsi", 0, out->gpsi, sizeof(out->gpsi),
                                    f)))
        goto done;
    /* oneOf: exactly one of them. */
    if (!out->supi[0] && !out->gpsi[0])
        rc = msgsec_json_fault(f, MSGSEC_AANF_FAULT_MISSING, "/supi",
                               "one of supi and gpsi is mandatory");
    else if (out->supi[0] && out->gpsi[0])
        rc = msgsec_json_fault(f, MSGSEC_AANF_FAULT_INCORRECT, "/gpsi",
                               "only one of supi and gpsi may be present");
done:
    return msgsec_json_end(o, "kAkma", rc, out, sizeof(*out));
}

MSGSEC_SDK_EXPORT int msgsec_aanf_decode_ctx_remove(
    const msgsec_aanf_settings *s, const void *body, size_t len,
    msgsec_aanf_ctx_remove *out, msgsec_aanf_fault *f)
{
    json_t *o;
    int rc = begin(&s, body, len, out, sizeof(*out), f);
    if (rc || (rc = load(body, len, &o, f)))
        return rc;
    rc = msgsec_json_get_ident(o, "supi", 1, out->supi, sizeof(out->supi), f);
    return msgsec_json_end(o, NULL, rc, out, sizeof(*out));
}

/* An optional text member of a ProblemDetails (any length, then cut). */
static int get_text(json_t *o, const char *name, char *dst, size_t cap,
                    msgsec_aanf_fault *f, const char *param)
{
    json_t *j = json_object_get(o, name);
    if (!j)
        return 0;
    if (!json_is_string(j))
        return msgsec_json_fault(f, MSGSEC_AANF_FAULT_INCORRECT, param,
                                 "not a string");
    msgsec_json_copy_text(dst, cap, json_string_value(j),
                          json_string_length(j));
    return 0;
}

MSGSEC_SDK_EXPORT int msgsec_aanf_decode_problem(
    const msgsec_aanf_settings *s, const void *body, size_t len,
    msgsec_aanf_problem *out, msgsec_aanf_fault *f)
{
    json_t *o;
    int rc = begin(&s, body, len, out, sizeof(*out), f);
    if (rc || (rc = load(body, len, &o, f)))
        return rc;
    char scratch[2];
    if ((rc = get_text(o, "type", out->type, sizeof(out->type), f, "/type")) ||
        (rc = get_text(o, "title", out->title, sizeof(out->title), f,
                       "/title")) ||
        (rc = get_text(o, "detail", out->detail, sizeof(out->detail), f,
                       "/detail")) ||
        (rc = get_text(o, "cause", out->cause, sizeof(out->cause), f,
                       "/cause")) ||
        (rc = get_text(o, "instance", scratch, sizeof(scratch), f,
                       "/instance")))
        goto done;
    json_t *st = json_object_get(o, "status");
    if (st) {
        json_int_t v = json_is_integer(st) ? json_integer_value(st) : 0;
        if (v < 100 || v > 599) {
            rc = msgsec_json_fault(f, MSGSEC_AANF_FAULT_INCORRECT, "/status",
                                   "not an HTTP status code");
            goto done;
        }
        out->status = (int)v;
    }
    json_t *ip = json_object_get(o, "invalidParams");
    if (ip) {
        if (!json_is_array(ip) || json_array_size(ip) == 0) {
            rc = msgsec_json_fault(f, MSGSEC_AANF_FAULT_INCORRECT,
                                   "/invalidParams", "not a non-empty array");
            goto done;
        }
        for (size_t i = 0; i < json_array_size(ip); i++) {
            json_t *e = json_array_get(ip, i);
            char param[48];
            snprintf(param, sizeof(param), "/invalidParams/%zu", i);
            json_t *p = json_is_object(e) ? json_object_get(e, "param") : NULL;
            if (!json_is_object(e) || !p || !json_is_string(p)) {
                rc = msgsec_json_fault(
                    f, MSGSEC_AANF_FAULT_INCORRECT, param,
                    "not an InvalidParam with a param string");
                goto done;
            }
            msgsec_aanf_invalid_param tmp;
            msgsec_aanf_invalid_param *d =
                i < MSGSEC_AANF_PROBLEM_PARAMS_MAX ? &out->invalid_params[i]
                                                   : &tmp;
            msgsec_json_copy_text(d->param, sizeof(d->param),
                                  json_string_value(p), json_string_length(p));
            d->reason[0] = 0;
            strcat(param, "/reason");
            if ((rc = get_text(e, "reason", d->reason, sizeof(d->reason), f,
                               param)))
                goto done;
            if (i < MSGSEC_AANF_PROBLEM_PARAMS_MAX)
                out->n_invalid_params = i + 1;
        }
    }
done:
    return msgsec_json_end(o, NULL, rc, out, sizeof(*out));
}

/* ------------------------------------------------------------- encoding */

static int akid_ok(const char *a)
{
    msgsec_akid_parts parts;
    size_t n = strnlen(a, MSGSEC_AKID_MAX_LEN + 1);
    return n > 0 && n <= MSGSEC_AKID_MAX_LEN &&
           msgsec_akid_parse(a, n, NULL, &parts, NULL) == 0;
}

static int put_key(json_t *o, const char *name, int enc,
                   const uint8_t k[MSGSEC_AKMA_KEY_LEN])
{
    char t[KEY_TEXT_MAX];
    key_encode(enc, k, t);
    int rc = msgsec_json_put_string(o, name, t);
    OPENSSL_cleanse(t, sizeof(t));
    return rc;
}

static int enc_begin(const msgsec_aanf_settings **s, const void *in,
                     char *out, size_t cap, size_t *out_len, json_t **o)
{
    if (!(*s = settings_or_default(*s))) {
        *o = NULL;
        if (out_len)
            *out_len = 0;
        return MSGSEC_ERR_INVALID_ARG;
    }
    return msgsec_json_enc_begin(in, out, cap, out_len, o);
}

MSGSEC_SDK_EXPORT int msgsec_aanf_encode_key_request(
    const msgsec_aanf_settings *s, const msgsec_aanf_key_request *in,
    char *out, size_t cap, size_t *out_len)
{
    json_t *o;
    int rc = enc_begin(&s, in, out, cap, out_len, &o);
    if (rc)
        return rc;
    char fq[MSGSEC_AKMA_FQDN_MAX + 1];
    size_t fqlen;
    uint8_t ua[MSGSEC_AKMA_UA_ID_LEN];
    size_t n = strnlen(in->af_id, sizeof(in->af_id));
    if (n == sizeof(in->af_id) ||
        msgsec_aanf_afid_parse(s, in->af_id, n, fq, &fqlen, ua, NULL) != 0 ||
        !akid_ok(in->a_kid) || (in->anon_ind != 0 && in->anon_ind != 1))
        rc = MSGSEC_ERR_INVALID_ARG;
    if (!rc && !(rc = msgsec_json_put_string(o, "afId", in->af_id)) &&
        !(rc = msgsec_json_put_string(o, "aKId", in->a_kid)) && in->anon_ind)
        rc = json_object_set_new(o, "anonInd", json_true()) ? MSGSEC_ERR_NOMEM
                                                            : 0;
    return msgsec_json_dump(o, rc, NULL, out, cap, out_len);
}

MSGSEC_SDK_EXPORT int msgsec_aanf_encode_key_data(
    const msgsec_aanf_settings *s, const msgsec_aanf_key_data *in, char *out,
    size_t cap, size_t *out_len)
{
    json_t *o;
    int rc = enc_begin(&s, in, out, cap, out_len, &o);
    if (rc)
        return rc;
    char when[MSGSEC_AANF_DATETIME_SIZE];
    if (msgsec_aanf_datetime_format(in->expiry, when) != 0 ||
        (in->supi[0] &&
         !msgsec_json_valid_ident(in->supi, MSGSEC_AANF_ID_MAX)) ||
        (in->gpsi[0] && !msgsec_json_valid_ident(in->gpsi, MSGSEC_AANF_ID_MAX)))
        rc = MSGSEC_ERR_INVALID_ARG;
    if (!rc && !(rc = put_key(o, "kaf", s->key_encoding, in->kaf)) &&
        !(rc = msgsec_json_put_string(o, "expiry", when)) &&
        !(in->supi[0] && (rc = msgsec_json_put_string(o, "supi", in->supi))) &&
        in->gpsi[0])
        rc = msgsec_json_put_string(o, "gpsi", in->gpsi);
    return msgsec_json_dump(o, rc, "kaf", out, cap, out_len);
}

MSGSEC_SDK_EXPORT int msgsec_aanf_encode_key_info(
    const msgsec_aanf_settings *s, const msgsec_aanf_key_info *in, char *out,
    size_t cap, size_t *out_len)
{
    json_t *o;
    int rc = enc_begin(&s, in, out, cap, out_len, &o);
    if (rc)
        return rc;
    int has_supi = in->supi[0] != 0, has_gpsi = in->gpsi[0] != 0;
    if (!akid_ok(in->a_kid) || has_supi == has_gpsi ||
        (has_supi && !msgsec_json_valid_ident(in->supi, MSGSEC_AANF_ID_MAX)) ||
        (has_gpsi && !msgsec_json_valid_ident(in->gpsi, MSGSEC_AANF_ID_MAX)))
        rc = MSGSEC_ERR_INVALID_ARG;
    if (!rc && !(rc = msgsec_json_put_string(o, "aKId", in->a_kid)) &&
        !(rc = put_key(o, "kAkma", s->key_encoding, in->k_akma)))
        rc = msgsec_json_put_string(o, has_supi ? "supi" : "gpsi",
                                    has_supi ? in->supi : in->gpsi);
    return msgsec_json_dump(o, rc, "kAkma", out, cap, out_len);
}

MSGSEC_SDK_EXPORT int msgsec_aanf_encode_ctx_remove(
    const msgsec_aanf_settings *s, const msgsec_aanf_ctx_remove *in,
    char *out, size_t cap, size_t *out_len)
{
    json_t *o;
    int rc = enc_begin(&s, in, out, cap, out_len, &o);
    if (rc)
        return rc;
    if (!msgsec_json_valid_ident(in->supi, MSGSEC_AANF_ID_MAX))
        rc = MSGSEC_ERR_INVALID_ARG;
    if (!rc)
        rc = msgsec_json_put_string(o, "supi", in->supi);
    return msgsec_json_dump(o, rc, NULL, out, cap, out_len);
}

/* A text field of a problem: "" means absent; must be terminated. */
static int put_text(json_t *o, const char *name, const char *v, size_t cap)
{
    if (strnlen(v, cap) == cap)
        return MSGSEC_ERR_INVALID_ARG;
    return v[0] ? msgsec_json_put_string(o, name, v) : 0;
}

MSGSEC_SDK_EXPORT int msgsec_aanf_encode_problem(
    const msgsec_aanf_settings *s, const msgsec_aanf_problem *in, char *out,
    size_t cap, size_t *out_len)
{
    json_t *o;
    int rc = enc_begin(&s, in, out, cap, out_len, &o);
    if (rc)
        return rc;
    if ((in->status != 0 && (in->status < 100 || in->status > 599)) ||
        in->n_invalid_params > MSGSEC_AANF_PROBLEM_PARAMS_MAX)
        rc = MSGSEC_ERR_INVALID_ARG;
    if (!rc && !(rc = put_text(o, "type", in->type, sizeof(in->type))) &&
        !(rc = put_text(o, "title", in->title, sizeof(in->title))) &&
        !(rc = in->status ? (json_object_set_new(o, "status",
                                                 json_integer(in->status))
                                 ? MSGSEC_ERR_NOMEM
                                 : 0)
                          : 0) &&
        !(rc = put_text(o, "detail", in->detail, sizeof(in->detail))) &&
        !(rc = put_text(o, "cause", in->cause, sizeof(in->cause))) &&
        in->n_invalid_params) {
        json_t *a = json_array();
        if (!a || json_object_set_new(o, "invalidParams", a))
            rc = MSGSEC_ERR_NOMEM;
        for (size_t i = 0; !rc && i < in->n_invalid_params; i++) {
            const msgsec_aanf_invalid_param *p = &in->invalid_params[i];
            json_t *e = json_object();
            if (!e || json_array_append_new(a, e)) {
                rc = MSGSEC_ERR_NOMEM;
                break;
            }
            /* param is mandatory in an InvalidParam, even when empty. */
            if (strnlen(p->param, sizeof(p->param)) == sizeof(p->param))
                rc = MSGSEC_ERR_INVALID_ARG;
            if (!rc)
                rc = msgsec_json_put_string(e, "param", p->param);
            if (!rc)
                rc = put_text(e, "reason", p->reason, sizeof(p->reason));
        }
    }
    return msgsec_json_dump(o, rc, NULL, out, cap, out_len);
}

/* -------------------------------------------------------- retrieve result */

MSGSEC_SDK_EXPORT int msgsec_aanf_retrieve_result(
    const msgsec_aanf_settings *s, int status, const char *content_type,
    const void *body, size_t len, msgsec_aanf_key_data *out,
    msgsec_aanf_problem *problem, char *detail, size_t detail_len)
{
    char dummy[1];
    if (!detail || !detail_len) {
        detail = dummy;
        detail_len = sizeof(dummy);
    }
    detail[0] = 0;
    if (out)
        memset(out, 0, sizeof(*out));
    if (problem)
        memset(problem, 0, sizeof(*problem));
    if (!(s = settings_or_default(s)) || !out || (!body && len))
        return MSGSEC_ERR_INVALID_ARG;
    if (status == 200) {
        msgsec_aanf_fault f;
        int rc = msgsec_json_expect_json(content_type, detail, detail_len);
        if (rc == 0)
            rc = msgsec_json_decode_detail(
                msgsec_aanf_decode_key_data(s, body, len, out, &f),
                "AkmaAfKeyData", &f, detail, detail_len);
        return rc;
    }
    if (status == 204) {
        snprintf(detail, detail_len,
                 "HTTP 204: no key material for this A-KID (unknown or "
                 "expired); the UE must run primary authentication again");
        return MSGSEC_ERR_KEY_UNAVAILABLE;
    }
    msgsec_json_error_answer(status, content_type, body, len, problem, detail,
                             detail_len);
    return MSGSEC_ERR_LOOKUP_FAILED;
}

/* ------------------------------------------------------------------ URL */

MSGSEC_SDK_EXPORT int msgsec_aanf_url(const char *root, const char *path,
                                      char *out, size_t cap)
{
    if (!root || !path || !out || path[0] != '/')
        return MSGSEC_ERR_INVALID_ARG;
    if (cap)
        out[0] = 0;
    size_t n = strlen(root);
    if ((strncasecmp(root, "http://", 7) != 0 &&
         strncasecmp(root, "https://", 8) != 0) ||
        strpbrk(root, "?#"))
        return MSGSEC_ERR_INVALID_ARG;
    for (size_t i = 0; i < n; i++)
        if ((unsigned char)root[i] <= 0x20 || root[i] == 0x7f)
            return MSGSEC_ERR_INVALID_ARG;
    while (n > 0 && root[n - 1] == '/')
        n--;
    const char *host = strstr(root, "://") + 3;
    if (root + n <= host)
        return MSGSEC_ERR_INVALID_ARG; /* no host */
    size_t plen = strlen(path);
    if (n + plen + 1 > cap)
        return MSGSEC_ERR_BUFFER_TOO_SMALL;
    memcpy(out, root, n);
    memcpy(out + n, path, plen + 1);
    return 0;
}

MSGSEC_SDK_EXPORT void msgsec_aanf_clear(void *msg, size_t size)
{
    if (msg)
        OPENSSL_cleanse(msg, size);
}
