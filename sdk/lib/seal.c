/*
 * seal.c - SEAL key management (TS 29.549), its OAuth2 tokens, msgsec's
 * keyInfo content, the association look-up and the SEAL PSK identity. See
 * <msgsec/seal.h>.
 */
#include <stdio.h>
#include <string.h>
#include <strings.h>

#include <openssl/crypto.h>

#include <msgsec/seal.h>

#include "jsonutil.h"

#define ID_MAX MSGSEC_SEAL_ID_MAX
/* Room for a ValTargetUe as compact JSON: an identifier escaped as
 * \uXXXX throughout is six times as long. */
#define TARGET_JSON_MAX (6 * ID_MAX + 32)

/* --------------------------------------------------------------- text */

/* Strict UTF-8 (RFC 3629): no overlong forms, surrogates or values above
 * U+10FFFF, so that whatever passes can be put into JSON. */
static int utf8_ok(const char *str, size_t n)
{
    const unsigned char *s = (const unsigned char *)str;
    size_t i = 0;
    while (i < n) {
        unsigned c = s[i];
        size_t k;
        unsigned min;
        if (c < 0x80) {
            i++;
            continue;
        }
        if (c >= 0xc2 && c <= 0xdf) {
            k = 1;
            min = 0x80;
        } else if (c >= 0xe0 && c <= 0xef) {
            k = 2;
            min = 0x800;
        } else if (c >= 0xf0 && c <= 0xf4) {
            k = 3;
            min = 0x10000;
        } else {
            return 0;
        }
        if (n - i <= k)
            return 0;
        unsigned v = c & (0x3f >> k);
        for (size_t j = 1; j <= k; j++) {
            if ((s[i + j] & 0xc0) != 0x80)
                return 0;
            v = v << 6 | (s[i + j] & 0x3f);
        }
        if (v < min || v > 0x10ffff || (v >= 0xd800 && v <= 0xdfff))
            return 0;
        i += k + 1;
    }
    return 1;
}

/* 1 to max bytes of UTF-8 without control characters. */
static int text_ok(const char *s, size_t n, size_t max)
{
    return n > 0 && n <= max && msgsec_json_no_controls(s, n) && utf8_ok(s, n);
}

/* A NUL-terminated identifier an encoder may write. */
static int ident_ok(const char *s, size_t max)
{
    return s && text_ok(s, strnlen(s, max + 1), max);
}

/* A part of a PSK identity: as an identifier, and no '#'. */
static int id_part_ok(const char *s, size_t n)
{
    return text_ok(s, n, ID_MAX) && !memchr(s, '#', n);
}

/* ------------------------------------------------------ percent-coding */

enum { COPY, PCT, FORM };

/* Appends n bytes of s to out (cap bytes, NUL kept) at *pos: as they are
 * (COPY), or percent-encoded with only unreserved characters (RFC 3986)
 * left, and with FORM a blank as '+'. -1 when it does not fit. */
static int append(char *out, size_t cap, size_t *pos, const char *s, size_t n,
                  int how)
{
    static const char hx[] = "0123456789ABCDEF";
    size_t p = *pos;
    if (p >= cap)
        return -1;
    for (size_t i = 0; i < n; i++) {
        unsigned char c = (unsigned char)s[i];
        int plain = how == COPY || (c >= 'A' && c <= 'Z') ||
                    (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') ||
                    c == '-' || c == '.' || c == '_' || c == '~';
        if (plain || (how == FORM && c == ' ')) {
            if (p + 1 >= cap)
                return -1;
            out[p++] = plain ? (char)c : '+';
        } else {
            if (p + 3 >= cap)
                return -1;
            out[p++] = '%';
            out[p++] = hx[c >> 4];
            out[p++] = hx[c & 15];
        }
    }
    out[p] = 0;
    *pos = p;
    return 0;
}

#define APPEND_STR(out, cap, pos, s, how)                                      \
    append(out, cap, pos, s, strlen(s), how)

/* Decodes n bytes of percent-encoding (with form, '+' is a blank) into
 * dst (cap bytes, NUL written) or, dst NULL, only checks it. Returns the
 * decoded length, -1 for a bad escape, -2 when over cap - 1 bytes. */
static long pct_decode(const char *s, size_t n, int form, char *dst, size_t cap)
{
    size_t o = 0;
    for (size_t i = 0; i < n; i++) {
        int c = (unsigned char)s[i];
        if (c == '%') {
            if (n - i < 3)
                return -1;
            int hi = msgsec_json_hexval((unsigned char)s[i + 1]);
            int lo = msgsec_json_hexval((unsigned char)s[i + 2]);
            if (hi < 0 || lo < 0)
                return -1;
            c = hi << 4 | lo;
            i += 2;
        } else if (form && c == '+') {
            c = ' ';
        }
        if (dst) {
            if (o + 1 >= cap)
                return -2;
            dst[o] = (char)c;
        }
        o++;
    }
    if (dst)
        dst[o] = 0;
    return (long)o;
}

/* A parameter a query or form parser knows. */
typedef struct qparam {
    const char *name;
    char *dst;  /* receives the decoded value */
    size_t cap; /* of dst: values of 1 to cap - 1 bytes */
    int mandatory;
    int seen;
} qparam;

static qparam *find_param(qparam *p, size_t np, const char *name, long len)
{
    for (size_t i = 0; len > 0 && i < np; i++)
        if (strlen(p[i].name) == (size_t)len &&
            memcmp(p[i].name, name, (size_t)len) == 0)
            return &p[i];
    return NULL;
}

/* One name=value of a query or form. */
static int one_param(const char *seg, size_t sl, int form, qparam *p, size_t np,
                     int unknown_ok, msgsec_aanf_fault *f)
{
    const char *eq = memchr(seg, '=', sl);
    if (!eq)
        return msgsec_json_fault(f, MSGSEC_AANF_FAULT_SYNTAX, "",
                                 "a parameter without '='");
    size_t nn = (size_t)(eq - seg);
    if (pct_decode(seg, nn, form, NULL, 0) < 0)
        return msgsec_json_fault(f, MSGSEC_AANF_FAULT_SYNTAX, "",
                                 "bad percent-encoding in a parameter name");
    /* Names too long for this buffer are no known name. */
    char name[32];
    long nl = pct_decode(seg, nn, form, name, sizeof(name));
    const char *v = eq + 1;
    size_t vn = sl - (size_t)(v - seg);
    qparam *m = find_param(p, np, name, nl);
    if (!m) {
        if (!unknown_ok)
            return msgsec_json_fault(f, MSGSEC_AANF_FAULT_INCORRECT, "",
                                     "unknown parameter");
        if (pct_decode(v, vn, form, NULL, 0) < 0)
            return msgsec_json_fault(f, MSGSEC_AANF_FAULT_SYNTAX, "",
                                     "bad percent-encoding");
        return 0;
    }
    if (m->seen)
        return msgsec_json_fault(f, MSGSEC_AANF_FAULT_INCORRECT, m->name,
                                 "given more than once");
    m->seen = 1;
    long n = pct_decode(v, vn, form, m->dst, m->cap);
    if (n == -1)
        return msgsec_json_fault(f, MSGSEC_AANF_FAULT_SYNTAX, m->name,
                                 "bad percent-encoding");
    if (n == -2)
        return msgsec_json_fault(f, MSGSEC_AANF_FAULT_INCORRECT, m->name,
                                 "longer than %zu bytes", m->cap - 1);
    if (n == 0)
        return msgsec_json_fault(f, MSGSEC_AANF_FAULT_INCORRECT, m->name,
                                 "empty");
    if (!msgsec_json_no_controls(m->dst, (size_t)n))
        return msgsec_json_fault(f, MSGSEC_AANF_FAULT_INCORRECT, m->name,
                                 "control character");
    if (!utf8_ok(m->dst, (size_t)n))
        return msgsec_json_fault(f, MSGSEC_AANF_FAULT_INCORRECT, m->name,
                                 "not UTF-8");
    return 0;
}

/* Parses name=value&... (every segment must be one); each known
 * parameter at most once, mandatory ones present. */
static int parse_params(const char *q, size_t len, int form, qparam *p,
                        size_t np, int unknown_ok, msgsec_aanf_fault *f)
{
    if (len > MSGSEC_SEAL_BODY_MAX)
        return msgsec_json_fault(f, MSGSEC_AANF_FAULT_SYNTAX, "",
                                 "%zu bytes, more than %d", len,
                                 MSGSEC_SEAL_BODY_MAX);
    for (size_t i = 0; len > 0;) {
        const char *amp = memchr(q + i, '&', len - i);
        size_t end = amp ? (size_t)(amp - q) : len;
        if (end == i)
            return msgsec_json_fault(f, MSGSEC_AANF_FAULT_SYNTAX, "",
                                     "an empty parameter");
        int rc = one_param(q + i, end - i, form, p, np, unknown_ok, f);
        if (rc)
            return rc;
        if (end == len)
            break;
        i = end + 1;
        if (i == len)
            return msgsec_json_fault(f, MSGSEC_AANF_FAULT_SYNTAX, "",
                                     "an empty parameter");
    }
    for (size_t i = 0; i < np; i++)
        if (p[i].mandatory && !p[i].seen)
            return msgsec_json_fault(f, MSGSEC_AANF_FAULT_MISSING, p[i].name,
                                     "mandatory parameter missing");
    return 0;
}

/* Clears a decoder's outputs and parses its body (at most max bytes). */
static int start(const void *body, size_t len, size_t max, void *out,
                 size_t size, json_t **o, msgsec_aanf_fault *f)
{
    *o = NULL;
    int rc = msgsec_json_begin(body, len, out, size, f);
    return rc ? rc : msgsec_json_load(body, len, max, o, f);
}

/* ------------------------------------------------------------ keyInfo */

static int psk_id_ok(const char *s, size_t n)
{
    if (n == 0 || n > ID_MAX)
        return 0;
    for (size_t i = 0; i < n; i++)
        if (s[i] < 0x20 || s[i] > 0x7e)
            return 0;
    return 1;
}

MSGSEC_SDK_EXPORT int msgsec_seal_keyinfo_encode(const msgsec_seal_psk *in,
                                                 char *out, size_t cap,
                                                 size_t *out_len)
{
    json_t *o;
    int rc = msgsec_json_enc_begin(in, out, cap, out_len, &o);
    char when[MSGSEC_AANF_DATETIME_SIZE];
    char hex[2 * MSGSEC_SEAL_PSK_MAX + 1];
    if (!rc &&
        (!psk_id_ok(in->psk_id, strnlen(in->psk_id, sizeof(in->psk_id))) ||
         in->psk_len < MSGSEC_SEAL_PSK_MIN ||
         in->psk_len > MSGSEC_SEAL_PSK_MAX ||
         msgsec_aanf_datetime_format(in->expiry, when) != 0))
        rc = MSGSEC_ERR_INVALID_ARG;
    if (!rc) {
        msgsec_json_hex_encode(in->psk, in->psk_len, hex);
        if (json_object_set_new(o, "v", json_integer(1)))
            rc = MSGSEC_ERR_NOMEM;
        if (!rc && !(rc = msgsec_json_put_string(o, "pskId", in->psk_id)) &&
            !(rc = msgsec_json_put_string(o, "psk", hex)))
            rc = msgsec_json_put_string(o, "expiry", when);
        OPENSSL_cleanse(hex, sizeof(hex));
    }
    return msgsec_json_dump(o, rc, "psk", out, cap, out_len);
}

static int get_psk(json_t *o, msgsec_seal_psk *out, msgsec_aanf_fault *f)
{
    const char *v;
    size_t n;
    /* Any length here, to say what is wrong with it. */
    int rc =
        msgsec_json_get_string(o, "psk", 1, MSGSEC_SEAL_KEYINFO_MAX, &v, &n, f);
    if (rc)
        return rc;
    if (n % 2)
        return msgsec_json_fault(f, MSGSEC_AANF_FAULT_INCORRECT, "/psk",
                                 "an odd number of hexadecimal digits");
    if (n / 2 < MSGSEC_SEAL_PSK_MIN || n / 2 > MSGSEC_SEAL_PSK_MAX)
        return msgsec_json_fault(f, MSGSEC_AANF_FAULT_INCORRECT, "/psk",
                                 "a key of %d to %d bytes expected, got %zu",
                                 MSGSEC_SEAL_PSK_MIN, MSGSEC_SEAL_PSK_MAX,
                                 n / 2);
    if (msgsec_json_hex_decode(v, n / 2, out->psk) != 0)
        return msgsec_json_fault(f, MSGSEC_AANF_FAULT_INCORRECT, "/psk",
                                 "not hexadecimal");
    out->psk_len = n / 2;
    return 0;
}

MSGSEC_SDK_EXPORT int msgsec_seal_keyinfo_decode(const char *text, size_t len,
                                                 msgsec_seal_psk *out,
                                                 msgsec_aanf_fault *f)
{
    json_t *o;
    int rc =
        start(text, len, MSGSEC_SEAL_KEYINFO_MAX, out, sizeof(*out), &o, f);
    json_t *ver;
    char param[48];
    if (rc || (rc = msgsec_json_member(o, "v", 1, &ver, param, f)))
        goto done;
    if (!json_is_integer(ver) || json_integer_value(ver) != 1)
        rc = msgsec_json_fault(f, MSGSEC_AANF_FAULT_INCORRECT, param,
                               "only version 1 is known");
    if (rc || (rc = msgsec_json_get_ident(o, "pskId", 1, out->psk_id,
                                          sizeof(out->psk_id), f)))
        goto done;
    if (!psk_id_ok(out->psk_id, strlen(out->psk_id))) {
        rc = msgsec_json_fault(f, MSGSEC_AANF_FAULT_INCORRECT, "/pskId",
                               "not printable ASCII");
        goto done;
    }
    if (!(rc = get_psk(o, out, f)))
        rc = msgsec_json_get_datetime(o, "expiry", &out->expiry, f);
done:
    return msgsec_json_end(o, "psk", rc, out, sizeof(*out));
}

/* ---------------------------------------------------------- ValKeyInfo */

/* Adds the member of a ValTargetUe (exactly one of the two) to o. */
static int target_members(json_t *o, const msgsec_seal_target *t)
{
    int user = t->val_user_id[0] != 0, ue = t->val_ue_id[0] != 0;
    if (user == ue)
        return MSGSEC_ERR_INVALID_ARG;
    const char *v = user ? t->val_user_id : t->val_ue_id;
    if (!ident_ok(v, ID_MAX))
        return MSGSEC_ERR_INVALID_ARG;
    return msgsec_json_put_string(o, user ? "valUserId" : "valUeId", v);
}

static int get_target(json_t *j, const char *base, msgsec_seal_target *t,
                      msgsec_aanf_fault *f)
{
    char param[48];
    if (!json_is_object(j))
        return msgsec_json_fault(f, MSGSEC_AANF_FAULT_INCORRECT, base,
                                 "not a ValTargetUe object");
    json_t *user = json_object_get(j, "valUserId");
    json_t *ue = json_object_get(j, "valUeId");
    if (!user && !ue)
        return msgsec_json_fault(f, MSGSEC_AANF_FAULT_MISSING, base,
                                 "one of valUserId and valUeId is mandatory");
    if (user && ue)
        return msgsec_json_fault(f, MSGSEC_AANF_FAULT_INCORRECT, base,
                                 "only one of valUserId and valUeId may be "
                                 "present");
    snprintf(param, sizeof(param), "%s/%s", base,
             user ? "valUserId" : "valUeId");
    char *dst = user ? t->val_user_id : t->val_ue_id;
    /* jansson hands out valid UTF-8 only. */
    return msgsec_json_ident_value(user ? user : ue, param, dst, ID_MAX + 1, f);
}

MSGSEC_SDK_EXPORT int
msgsec_seal_encode_val_key_info(const msgsec_seal_val_key_info *in, char *out,
                                size_t cap, size_t *out_len)
{
    json_t *o;
    int rc = msgsec_json_enc_begin(in, out, cap, out_len, &o);
    if (!rc && (!ident_ok(in->user_uri, MSGSEC_SEAL_URI_MAX) ||
                !ident_ok(in->val_service, ID_MAX) ||
                !ident_ok(in->key_info, MSGSEC_SEAL_KEYINFO_MAX) ||
                (in->skms_id[0] && !ident_ok(in->skms_id, ID_MAX)) ||
                (in->has_tgt != 0 && in->has_tgt != 1)))
        rc = MSGSEC_ERR_INVALID_ARG;
    if (!rc && !(rc = msgsec_json_put_string(o, "userUri", in->user_uri)) &&
        !(rc = msgsec_json_put_string(o, "valService", in->val_service)) &&
        !(rc = msgsec_json_put_string(o, "keyInfo", in->key_info)) &&
        in->skms_id[0])
        rc = msgsec_json_put_string(o, "skmsId", in->skms_id);
    if (!rc && in->has_tgt) {
        json_t *t = json_object();
        if (!t || json_object_set_new(o, "valTgtUe", t))
            rc = MSGSEC_ERR_NOMEM;
        else
            rc = target_members(t, &in->val_tgt_ue);
    }
    return msgsec_json_dump(o, rc, "keyInfo", out, cap, out_len);
}

MSGSEC_SDK_EXPORT int
msgsec_seal_decode_val_key_info(const void *body, size_t len,
                                msgsec_seal_val_key_info *out,
                                msgsec_aanf_fault *f)
{
    json_t *o;
    int rc = start(body, len, MSGSEC_SEAL_BODY_MAX, out, sizeof(*out), &o, f);
    if (rc ||
        (rc = msgsec_json_get_ident(o, "userUri", 1, out->user_uri,
                                    sizeof(out->user_uri), f)) ||
        (rc = msgsec_json_get_ident(o, "valService", 1, out->val_service,
                                    sizeof(out->val_service), f)) ||
        (rc = msgsec_json_get_ident(o, "keyInfo", 1, out->key_info,
                                    sizeof(out->key_info), f)) ||
        (rc = msgsec_json_get_ident(o, "skmsId", 0, out->skms_id,
                                    sizeof(out->skms_id), f)))
        goto done;
    json_t *t = json_object_get(o, "valTgtUe");
    if (t && !(rc = get_target(t, "/valTgtUe", &out->val_tgt_ue, f)))
        out->has_tgt = 1;
done:
    return msgsec_json_end(o, "keyInfo", rc, out, sizeof(*out));
}

/* ----------------------------------------------------------------- URLs */

/* api_root + path + "?" + name "=" value, value percent-encoded. */
static int url_with(const char *api_root, const char *path, const char *name,
                    const char *value, char *out, size_t cap, size_t *pos)
{
    if (!api_root || !out)
        return MSGSEC_ERR_INVALID_ARG;
    if (cap)
        out[0] = 0;
    if (!ident_ok(value, ID_MAX))
        return MSGSEC_ERR_INVALID_ARG;
    int rc = msgsec_aanf_url(api_root, path, out, cap);
    if (rc)
        return rc;
    *pos = strlen(out);
    if (append(out, cap, pos, "?", 1, COPY) ||
        APPEND_STR(out, cap, pos, name, COPY) ||
        append(out, cap, pos, "=", 1, COPY) ||
        APPEND_STR(out, cap, pos, value, PCT)) {
        out[0] = 0;
        return MSGSEC_ERR_BUFFER_TOO_SMALL;
    }
    return 0;
}

MSGSEC_SDK_EXPORT int msgsec_seal_key_records_url(const char *api_root,
                                                  const char *val_service_id,
                                                  const msgsec_seal_target *tgt,
                                                  char *out, size_t cap)
{
    size_t pos;
    int rc = url_with(api_root, MSGSEC_SEAL_PATH_KEY_RECORDS, "val-service-id",
                      val_service_id, out, cap, &pos);
    if (rc || !tgt)
        return rc;
    json_t *t = json_object();
    if (!t) {
        out[0] = 0;
        return MSGSEC_ERR_NOMEM;
    }
    char js[TARGET_JSON_MAX + 1];
    size_t n = 0;
    if (!(rc = target_members(t, tgt))) {
        n = json_dumpb(t, js, sizeof(js), JSON_COMPACT);
        rc = n == 0 || n >= sizeof(js) ? MSGSEC_ERR_NOMEM : 0;
    }
    json_decref(t);
    if (!rc && (APPEND_STR(out, cap, &pos, "&val-tgt-ue=", COPY) ||
                append(out, cap, &pos, js, n, PCT)))
        rc = MSGSEC_ERR_BUFFER_TOO_SMALL;
    if (rc)
        out[0] = 0;
    return rc;
}

MSGSEC_SDK_EXPORT int msgsec_seal_assoc_url(const char *api_root,
                                            const char *identity, char *out,
                                            size_t cap)
{
    size_t pos;
    return url_with(api_root, MSGSEC_SEAL_PATH_ASSOCIATIONS, "identity",
                    identity, out, cap, &pos);
}

MSGSEC_SDK_EXPORT int msgsec_seal_parse_key_records_query(
    const char *query, size_t len, char *val_service_id, size_t sid_cap,
    msgsec_seal_target *tgt, int *has_tgt, msgsec_aanf_fault *f)
{
    if (f)
        memset(f, 0, sizeof(*f));
    if (tgt)
        memset(tgt, 0, sizeof(*tgt));
    if (has_tgt)
        *has_tgt = 0;
    if (val_service_id && sid_cap)
        val_service_id[0] = 0;
    if (!val_service_id || !sid_cap || !tgt || !has_tgt || (!query && len))
        return MSGSEC_ERR_INVALID_ARG;
    char js[TARGET_JSON_MAX + 1];
    qparam p[] = {
        {"val-service-id", val_service_id,
         sid_cap < ID_MAX + 1 ? sid_cap : ID_MAX + 1, 1, 0},
        {"val-tgt-ue", js, sizeof(js), 0, 0},
    };
    int rc = parse_params(query, len, 0, p, 2, 0, f);
    if (!rc && p[1].seen) {
        json_t *o;
        rc = msgsec_json_load(js, strlen(js), sizeof(js), &o, f);
        if (rc == MSGSEC_ERR_BAD_FRAME && f)
            snprintf(f->param, sizeof(f->param), "val-tgt-ue");
        if (!rc) {
            rc = get_target(o, "val-tgt-ue", tgt, f);
            json_decref(o);
        }
        *has_tgt = rc == 0;
    }
    if (rc) {
        memset(val_service_id, 0, sid_cap);
        memset(tgt, 0, sizeof(*tgt));
    }
    return rc;
}

MSGSEC_SDK_EXPORT int msgsec_seal_parse_assoc_query(const char *query,
                                                    size_t len, char *identity,
                                                    msgsec_aanf_fault *f)
{
    if (f)
        memset(f, 0, sizeof(*f));
    if (identity)
        identity[0] = 0;
    if (!identity || (!query && len))
        return MSGSEC_ERR_INVALID_ARG;
    qparam p[] = {{"identity", identity, ID_MAX + 1, 1, 0}};
    int rc = parse_params(query, len, 0, p, 1, 0, f);
    if (rc)
        memset(identity, 0, ID_MAX + 1);
    return rc;
}

/* ------------------------------------------------------- key answer */

/* detail (or, without one, dummy) emptied. */
static void detail_or_dummy(char **detail, size_t *detail_len, char dummy[1])
{
    if (!*detail || !*detail_len) {
        *detail = dummy;
        *detail_len = 1;
    }
    (*detail)[0] = 0;
}

/* The status of an error answer as an error code. */
static int error_status(int status, int not_found)
{
    if (status == 401 || status == 403)
        return MSGSEC_ERR_TOKEN_REJECTED;
    if (status == 404)
        return not_found;
    return MSGSEC_ERR_LOOKUP_FAILED;
}

/* The key in a decoded ValKeyInfo asked for val_service_id, valid at now. */
static int key_of(const msgsec_seal_val_key_info *v, const char *val_service_id,
                  int64_t now, msgsec_seal_psk *out, char *detail,
                  size_t detail_len)
{
    if (strcmp(v->val_service, val_service_id) != 0) {
        char got[64];
        msgsec_json_copy_text(got, sizeof(got), v->val_service,
                              strlen(v->val_service));
        snprintf(detail, detail_len,
                 "HTTP 200 with a key of another VAL service (%s)", got);
        return MSGSEC_ERR_BAD_FRAME;
    }
    msgsec_aanf_fault f;
    int rc = msgsec_json_decode_detail(
        msgsec_seal_keyinfo_decode(v->key_info, strlen(v->key_info), out, &f),
        "keyInfo", &f, detail, detail_len);
    /* A key whose lifetime ends now is of no use for a handshake. */
    if (rc == 0 && out->expiry <= now) {
        char when[MSGSEC_AANF_DATETIME_SIZE];
        if (msgsec_aanf_datetime_format(out->expiry, when) != 0)
            snprintf(when, sizeof(when), "?");
        snprintf(detail, detail_len, "the key of PSK identity %s expired at %s",
                 out->psk_id, when);
        rc = MSGSEC_ERR_KEY_EXPIRED;
    }
    return rc;
}

MSGSEC_SDK_EXPORT int
msgsec_seal_key_result(int status, const char *content_type, const void *body,
                       size_t len, const char *val_service_id, int64_t now,
                       msgsec_seal_psk *out, msgsec_aanf_problem *problem,
                       char *detail, size_t detail_len)
{
    char dummy[1];
    detail_or_dummy(&detail, &detail_len, dummy);
    if (out)
        memset(out, 0, sizeof(*out));
    if (problem)
        memset(problem, 0, sizeof(*problem));
    if (!out || !val_service_id || (!body && len))
        return MSGSEC_ERR_INVALID_ARG;
    if (status != 200) {
        msgsec_json_error_answer(status, content_type, body, len, problem,
                                 detail, detail_len);
        return error_status(status, MSGSEC_ERR_KEY_UNAVAILABLE);
    }
    int rc = msgsec_json_expect_json(content_type, detail, detail_len);
    if (rc)
        return rc;
    msgsec_seal_val_key_info v;
    msgsec_aanf_fault f;
    rc = msgsec_json_decode_detail(
        msgsec_seal_decode_val_key_info(body, len, &v, &f), "ValKeyInfo", &f,
        detail, detail_len);
    if (rc == 0)
        rc = key_of(&v, val_service_id, now, out, detail, detail_len);
    OPENSSL_cleanse(&v, sizeof(v));
    if (rc)
        OPENSSL_cleanse(out, sizeof(*out));
    return rc;
}

/* ---------------------------------------------------------- PSK identity */

MSGSEC_SDK_EXPORT int msgsec_seal_identity_build(const char *prefix,
                                                 const char *val_user_id,
                                                 const char *key_id, char *out,
                                                 size_t cap)
{
    if (!val_user_id || !out)
        return MSGSEC_ERR_INVALID_ARG;
    if (cap)
        out[0] = 0;
    if (!prefix)
        prefix = MSGSEC_SEAL_DEFAULT_PREFIX;
    size_t pl = strnlen(prefix, ID_MAX + 1);
    size_t ul = strnlen(val_user_id, ID_MAX + 1);
    size_t kl = key_id ? strnlen(key_id, ID_MAX + 1) : 0;
    if (!msgsec_json_no_controls(prefix, pl) || !id_part_ok(val_user_id, ul) ||
        (kl && !id_part_ok(key_id, kl)))
        return MSGSEC_ERR_INVALID_ARG;
    size_t total = pl + ul + (kl ? kl + 1 : 0);
    if (total > ID_MAX)
        return MSGSEC_ERR_INVALID_ARG;
    size_t pos = 0;
    if (append(out, cap, &pos, prefix, pl, COPY) ||
        append(out, cap, &pos, val_user_id, ul, COPY) ||
        (kl && (append(out, cap, &pos, "#", 1, COPY) ||
                append(out, cap, &pos, key_id, kl, COPY)))) {
        if (cap)
            out[0] = 0;
        return MSGSEC_ERR_BUFFER_TOO_SMALL;
    }
    return 0;
}

MSGSEC_SDK_EXPORT int msgsec_seal_identity_parse(const char *prefix,
                                                 const uint8_t *identity,
                                                 size_t len, char *val_user_id,
                                                 char *key_id)
{
    if (val_user_id)
        val_user_id[0] = 0;
    if (key_id)
        key_id[0] = 0;
    if (!val_user_id || (!identity && len))
        return MSGSEC_ERR_INVALID_ARG;
    if (!prefix)
        prefix = MSGSEC_SEAL_DEFAULT_PREFIX;
    const char *s = (const char *)identity;
    size_t pl = strlen(prefix);
    if (len > ID_MAX || len < pl || memcmp(s, prefix, pl) != 0)
        return MSGSEC_ERR_BAD_FRAME;
    const char *user = s + pl;
    size_t rest = len - pl;
    const char *hash = memchr(user, '#', rest);
    size_t ul = hash ? (size_t)(hash - user) : rest;
    size_t kl = hash ? rest - ul - 1 : 0;
    /* "user#" is refused: it would not come back from build. */
    if (!id_part_ok(user, ul) || (hash && !id_part_ok(hash + 1, kl)))
        return MSGSEC_ERR_BAD_FRAME;
    memcpy(val_user_id, user, ul);
    val_user_id[ul] = 0;
    if (key_id && kl) {
        memcpy(key_id, hash + 1, kl);
        key_id[kl] = 0;
    }
    return 0;
}

/* -------------------------------------------------------- OAuth2 tokens */

MSGSEC_SDK_EXPORT int
msgsec_seal_token_request_encode(const char *client_id,
                                 const char *client_secret, const char *scope,
                                 char *out, size_t cap, size_t *out_len)
{
    if (out_len)
        *out_len = 0;
    if (!out || !out_len)
        return MSGSEC_ERR_INVALID_ARG;
    if (cap)
        out[0] = 0;
    if (scope && !scope[0])
        scope = NULL;
    if (!ident_ok(client_id, MSGSEC_SEAL_CLIENT_MAX) ||
        !ident_ok(client_secret, MSGSEC_SEAL_CLIENT_MAX) ||
        (scope && !ident_ok(scope, ID_MAX)))
        return MSGSEC_ERR_INVALID_ARG;
    size_t pos = 0;
    if (APPEND_STR(out, cap, &pos,
                   "grant_type=client_credentials&client_id=", COPY) ||
        APPEND_STR(out, cap, &pos, client_id, FORM) ||
        APPEND_STR(out, cap, &pos, "&client_secret=", COPY) ||
        APPEND_STR(out, cap, &pos, client_secret, FORM) ||
        (scope && (APPEND_STR(out, cap, &pos, "&scope=", COPY) ||
                   APPEND_STR(out, cap, &pos, scope, FORM)))) {
        if (cap)
            OPENSSL_cleanse(out, cap);
        return MSGSEC_ERR_BUFFER_TOO_SMALL;
    }
    *out_len = pos;
    return 0;
}

MSGSEC_SDK_EXPORT int
msgsec_seal_token_request_parse(const void *body, size_t len, char *client_id,
                                char *client_secret, char *scope,
                                msgsec_aanf_fault *f)
{
    if (f)
        memset(f, 0, sizeof(*f));
    if (client_id)
        memset(client_id, 0, MSGSEC_SEAL_CLIENT_MAX + 1);
    if (client_secret)
        memset(client_secret, 0, MSGSEC_SEAL_CLIENT_MAX + 1);
    if (scope)
        memset(scope, 0, ID_MAX + 1);
    if (!client_id || !client_secret || (!body && len))
        return MSGSEC_ERR_INVALID_ARG;
    char grant[32], scratch[ID_MAX + 1];
    qparam p[] = {
        {"grant_type", grant, sizeof(grant), 1, 0},
        {"client_id", client_id, MSGSEC_SEAL_CLIENT_MAX + 1, 1, 0},
        {"client_secret", client_secret, MSGSEC_SEAL_CLIENT_MAX + 1, 1, 0},
        {"scope", scope ? scope : scratch, ID_MAX + 1, 0, 0},
    };
    int rc = parse_params(body, len, 1, p, 4, 1, f);
    if (!rc && strcmp(grant, "client_credentials") != 0)
        rc = msgsec_json_fault(f, MSGSEC_AANF_FAULT_INCORRECT, "grant_type",
                               "not client_credentials");
    if (rc) {
        OPENSSL_cleanse(client_id, MSGSEC_SEAL_CLIENT_MAX + 1);
        OPENSSL_cleanse(client_secret, MSGSEC_SEAL_CLIENT_MAX + 1);
        if (scope)
            OPENSSL_cleanse(scope, ID_MAX + 1);
    }
    return rc;
}

MSGSEC_SDK_EXPORT int msgsec_seal_encode_token(const msgsec_seal_token *in,
                                               char *out, size_t cap,
                                               size_t *out_len)
{
    json_t *o;
    int rc = msgsec_json_enc_begin(in, out, cap, out_len, &o);
    if (!rc &&
        (!ident_ok(in->access_token, MSGSEC_SEAL_TOKEN_MAX) ||
         in->expires_in < 0 || (in->scope[0] && !ident_ok(in->scope, ID_MAX))))
        rc = MSGSEC_ERR_INVALID_ARG;
    if (!rc &&
        !(rc = msgsec_json_put_string(o, "access_token", in->access_token)) &&
        !(rc = msgsec_json_put_string(o, "token_type", "Bearer")) &&
        in->expires_in > 0 &&
        json_object_set_new(o, "expires_in",
                            json_integer((json_int_t)in->expires_in)))
        rc = MSGSEC_ERR_NOMEM;
    if (!rc && in->scope[0])
        rc = msgsec_json_put_string(o, "scope", in->scope);
    return msgsec_json_dump(o, rc, "access_token", out, cap, out_len);
}

MSGSEC_SDK_EXPORT int msgsec_seal_decode_token(const void *body, size_t len,
                                               msgsec_seal_token *out,
                                               msgsec_aanf_fault *f)
{
    json_t *o;
    int rc = start(body, len, MSGSEC_SEAL_BODY_MAX, out, sizeof(*out), &o, f);
    if (rc)
        return rc;
    const char *type;
    size_t n;
    if ((rc = msgsec_json_get_ident(o, "access_token", 1, out->access_token,
                                    sizeof(out->access_token), f)) ||
        (rc = msgsec_json_get_string(o, "token_type", 1, 64, &type, &n, f)))
        goto done;
    if (strcasecmp(type, "bearer") != 0) {
        rc = msgsec_json_fault(f, MSGSEC_AANF_FAULT_INCORRECT, "/token_type",
                               "not Bearer");
        goto done;
    }
    json_t *exp = json_object_get(o, "expires_in");
    if (exp) {
        if (!json_is_integer(exp) || json_integer_value(exp) <= 0) {
            rc = msgsec_json_fault(f, MSGSEC_AANF_FAULT_INCORRECT,
                                   "/expires_in", "not a positive integer");
            goto done;
        }
        out->expires_in = (int64_t)json_integer_value(exp);
    }
    rc =
        msgsec_json_get_ident(o, "scope", 0, out->scope, sizeof(out->scope), f);
done:
    return msgsec_json_end(o, "access_token", rc, out, sizeof(*out));
}

/* -------------------------------------------------------- associations */

MSGSEC_SDK_EXPORT int msgsec_seal_encode_assoc(const msgsec_seal_assoc *in,
                                               char *out, size_t cap,
                                               size_t *out_len)
{
    json_t *o;
    int rc = msgsec_json_enc_begin(in, out, cap, out_len, &o);
    if (!rc &&
        (!ident_ok(in->identity, ID_MAX) || in->n > MSGSEC_SEAL_ASSOC_MAX))
        rc = MSGSEC_ERR_INVALID_ARG;
    json_t *a = NULL;
    if (!rc && !(rc = msgsec_json_put_string(o, "identity", in->identity)) &&
        (!(a = json_array()) || json_object_set_new(o, "ueServiceIds", a)))
        rc = MSGSEC_ERR_NOMEM;
    for (size_t i = 0; !rc && i < in->n; i++) {
        const char *id = in->ue_service_ids[i];
        json_t *s = ident_ok(id, ID_MAX) ? json_string(id) : NULL;
        if (!s)
            rc = MSGSEC_ERR_INVALID_ARG;
        else if (json_array_append_new(a, s))
            rc = MSGSEC_ERR_NOMEM;
    }
    return msgsec_json_dump(o, rc, NULL, out, cap, out_len);
}

MSGSEC_SDK_EXPORT int msgsec_seal_decode_assoc(const void *body, size_t len,
                                               msgsec_seal_assoc *out,
                                               msgsec_aanf_fault *f)
{
    json_t *o;
    int rc = start(body, len, MSGSEC_SEAL_BODY_MAX, out, sizeof(*out), &o, f);
    if (rc || (rc = msgsec_json_get_ident(o, "identity", 1, out->identity,
                                          sizeof(out->identity), f)))
        goto done;
    json_t *a;
    char param[48];
    if ((rc = msgsec_json_member(o, "ueServiceIds", 1, &a, param, f)))
        goto done;
    if (!json_is_array(a) || json_array_size(a) > MSGSEC_SEAL_ASSOC_MAX) {
        rc = msgsec_json_fault(f, MSGSEC_AANF_FAULT_INCORRECT, param,
                               "not an array of at most %d identifiers",
                               MSGSEC_SEAL_ASSOC_MAX);
        goto done;
    }
    for (size_t i = 0; !rc && i < json_array_size(a); i++) {
        snprintf(param, sizeof(param), "/ueServiceIds/%zu", i);
        rc = msgsec_json_ident_value(json_array_get(a, i), param,
                                     out->ue_service_ids[i], ID_MAX + 1, f);
    }
    out->n = json_array_size(a);
done:
    return msgsec_json_end(o, NULL, rc, out, sizeof(*out));
}

MSGSEC_SDK_EXPORT int msgsec_seal_assoc_result(int status,
                                               const char *content_type,
                                               const void *body, size_t len,
                                               const char *identity,
                                               msgsec_seal_assoc *out,
                                               char *detail, size_t detail_len)
{
    char dummy[1];
    detail_or_dummy(&detail, &detail_len, dummy);
    if (out)
        memset(out, 0, sizeof(*out));
    if (!out || !identity || (!body && len))
        return MSGSEC_ERR_INVALID_ARG;
    if (status != 200) {
        msgsec_json_error_answer(status, content_type, body, len, NULL, detail,
                                 detail_len);
        return error_status(status, MSGSEC_ERR_NOT_AUTHORIZED);
    }
    msgsec_aanf_fault f;
    int rc = msgsec_json_expect_json(content_type, detail, detail_len);
    if (!rc)
        rc = msgsec_json_decode_detail(
            msgsec_seal_decode_assoc(body, len, out, &f), "association", &f,
            detail, detail_len);
    if (!rc && strcmp(out->identity, identity) != 0) {
        snprintf(detail, detail_len,
                 "HTTP 200 with the associations of another identity");
        memset(out, 0, sizeof(*out));
        rc = MSGSEC_ERR_BAD_FRAME;
    }
    return rc;
}

MSGSEC_SDK_EXPORT void msgsec_seal_clear(void *msg, size_t size)
{
    if (msg)
        OPENSSL_cleanse(msg, size);
}
