/*
 * jsonutil.c - strict JSON helpers shared by the SDK's codecs. See
 * jsonutil.h.
 */
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include <openssl/crypto.h>

#include <msgsec/http.h>

#include "jsonutil.h"

MSGSEC_SDK_HIDDEN int msgsec_json_fault(msgsec_aanf_fault *f, int kind,
                                        const char *param, const char *fmt, ...)
{
    if (f) {
        f->kind = kind;
        snprintf(f->param, sizeof(f->param), "%s", param);
        va_list ap;
        va_start(ap, fmt);
        vsnprintf(f->reason, sizeof(f->reason), fmt, ap);
        va_end(ap);
    }
    return MSGSEC_ERR_BAD_FRAME;
}

MSGSEC_SDK_HIDDEN int msgsec_json_hexval(int c)
{
    return OPENSSL_hexchar2int((unsigned char)c);
}

MSGSEC_SDK_HIDDEN void msgsec_json_hex_encode(const uint8_t *k, size_t n,
                                              char *out)
{
    static const char hx[] = "0123456789abcdef";
    for (size_t i = 0; i < n; i++) {
        out[2 * i] = hx[k[i] >> 4];
        out[2 * i + 1] = hx[k[i] & 15];
    }
    out[2 * n] = 0;
}

MSGSEC_SDK_HIDDEN int msgsec_json_hex_decode(const char *t, size_t n,
                                             uint8_t *k)
{
    for (size_t i = 0; i < n; i++) {
        int hi = msgsec_json_hexval((unsigned char)t[2 * i]);
        int lo = msgsec_json_hexval((unsigned char)t[2 * i + 1]);
        if (hi < 0 || lo < 0) {
            OPENSSL_cleanse(k, n);
            return -1;
        }
        k[i] = (uint8_t)(hi << 4 | lo);
    }
    return 0;
}

MSGSEC_SDK_HIDDEN int msgsec_json_no_controls(const char *s, size_t n)
{
    for (size_t i = 0; i < n; i++)
        if ((unsigned char)s[i] < 0x20 || s[i] == 0x7f)
            return 0;
    return 1;
}

MSGSEC_SDK_HIDDEN int msgsec_json_valid_ident(const char *s, size_t max)
{
    size_t n = strnlen(s, max + 1);
    return n > 0 && n <= max && msgsec_json_no_controls(s, n);
}

MSGSEC_SDK_HIDDEN void msgsec_json_copy_text(char *dst, size_t cap,
                                             const char *src, size_t n)
{
    if (n > cap - 1) {
        n = cap - 1;
        while (n > 0 && ((unsigned char)src[n] & 0xc0) == 0x80)
            n--;
    }
    for (size_t i = 0; i < n; i++)
        dst[i] =
            ((unsigned char)src[i] < 0x20 || src[i] == 0x7f) ? '?' : src[i];
    dst[n] = 0;
}

/* ------------------------------------------------------------ decoding */

static const char *json_what(enum json_error_code c)
{
    switch (c) {
    case json_error_invalid_utf8:
        return "invalid UTF-8";
    case json_error_premature_end_of_input:
        return "premature end of input";
    case json_error_end_of_input_expected:
        return "data after the JSON text";
    case json_error_stack_overflow:
        return "nesting too deep";
    case json_error_null_character:
    case json_error_null_byte_in_key:
        return "NUL character";
    case json_error_duplicate_key:
        return "duplicate member";
    case json_error_numeric_overflow:
        return "number out of range";
    default:
        return "syntax error";
    }
}

MSGSEC_SDK_HIDDEN int msgsec_json_begin(const void *body, size_t len, void *out,
                                        size_t size, msgsec_aanf_fault *f)
{
    if (f)
        memset(f, 0, sizeof(*f));
    if (out)
        memset(out, 0, size);
    if (!out || (!body && len))
        return MSGSEC_ERR_INVALID_ARG;
    return 0;
}

MSGSEC_SDK_HIDDEN int msgsec_json_load(const void *body, size_t len, size_t max,
                                       json_t **root, msgsec_aanf_fault *f)
{
    *root = NULL;
    if (len > max)
        return msgsec_json_fault(f, MSGSEC_AANF_FAULT_SYNTAX, "",
                                 "body of %zu bytes, more than %zu", len, max);
    json_error_t e;
    /* The parser's messages may quote the input, keys included: only the
     * error class and position are reported. */
    json_t *j = json_loadb(body ? body : "", len, JSON_REJECT_DUPLICATES, &e);
    if (!j) {
        enum json_error_code c = json_error_code(&e);
        int pos = e.position;
        OPENSSL_cleanse(&e, sizeof(e));
        if (c == json_error_out_of_memory)
            return MSGSEC_ERR_NOMEM;
        return msgsec_json_fault(f, MSGSEC_AANF_FAULT_SYNTAX, "",
                                 "not valid JSON: %s at byte %d", json_what(c),
                                 pos);
    }
    if (!json_is_object(j)) {
        json_decref(j);
        return msgsec_json_fault(f, MSGSEC_AANF_FAULT_SYNTAX, "",
                                 "not a JSON object");
    }
    *root = j;
    return 0;
}

MSGSEC_SDK_HIDDEN void msgsec_json_release(json_t *root, const char *secret)
{
    if (!root)
        return;
    json_t *v = secret ? json_object_get(root, secret) : NULL;
    if (v && json_is_string(v))
        OPENSSL_cleanse((char *)json_string_value(v), json_string_length(v));
    json_decref(root);
}

MSGSEC_SDK_HIDDEN int msgsec_json_end(json_t *root, const char *secret, int rc,
                                      void *out, size_t size)
{
    msgsec_json_release(root, secret);
    if (rc != 0 && out)
        OPENSSL_cleanse(out, size);
    return rc;
}

/* Type, emptiness and length of a string value. */
static int string_value(json_t *j, const char *param, size_t max,
                        const char **v, size_t *len, msgsec_aanf_fault *f)
{
    if (!json_is_string(j))
        return msgsec_json_fault(f, MSGSEC_AANF_FAULT_INCORRECT, param,
                                 "not a string");
    size_t n = json_string_length(j);
    if (n == 0)
        return msgsec_json_fault(f, MSGSEC_AANF_FAULT_INCORRECT, param,
                                 "empty string");
    if (n > max)
        return msgsec_json_fault(f, MSGSEC_AANF_FAULT_INCORRECT, param,
                                 "longer than %zu bytes", max);
    *v = json_string_value(j);
    *len = n;
    return 0;
}

MSGSEC_SDK_HIDDEN int msgsec_json_member(json_t *o, const char *name,
                                         int mandatory, json_t **j,
                                         char param[48], msgsec_aanf_fault *f)
{
    snprintf(param, 48, "/%s", name);
    *j = json_object_get(o, name);
    if (*j || !mandatory)
        return 0;
    return msgsec_json_fault(f, MSGSEC_AANF_FAULT_MISSING, param,
                             "mandatory member missing");
}

MSGSEC_SDK_HIDDEN int msgsec_json_get_string(json_t *o, const char *name,
                                             int mandatory, size_t max,
                                             const char **v, size_t *len,
                                             msgsec_aanf_fault *f)
{
    char param[48];
    json_t *j;
    *v = NULL;
    *len = 0;
    int rc = msgsec_json_member(o, name, mandatory, &j, param, f);
    return rc || !j ? rc : string_value(j, param, max, v, len, f);
}

MSGSEC_SDK_HIDDEN int msgsec_json_ident_value(json_t *j, const char *param,
                                              char *dst, size_t cap,
                                              msgsec_aanf_fault *f)
{
    const char *v;
    size_t n;
    int rc = string_value(j, param, cap - 1, &v, &n, f);
    if (rc)
        return rc;
    if (!msgsec_json_no_controls(v, n))
        return msgsec_json_fault(f, MSGSEC_AANF_FAULT_INCORRECT, param,
                                 "control character");
    memcpy(dst, v, n);
    dst[n] = 0;
    return 0;
}

MSGSEC_SDK_HIDDEN int msgsec_json_get_ident(json_t *o, const char *name,
                                            int mandatory, char *dst,
                                            size_t cap, msgsec_aanf_fault *f)
{
    char param[48];
    json_t *j;
    int rc = msgsec_json_member(o, name, mandatory, &j, param, f);
    return rc || !j ? rc : msgsec_json_ident_value(j, param, dst, cap, f);
}

MSGSEC_SDK_HIDDEN int msgsec_json_get_datetime(json_t *o, const char *name,
                                               int64_t *t, msgsec_aanf_fault *f)
{
    const char *v;
    size_t n;
    int rc = msgsec_json_get_string(o, name, 1, 64, &v, &n, f);
    if (rc)
        return rc;
    if (msgsec_aanf_datetime_parse(v, n, t) != 0) {
        char param[48];
        snprintf(param, sizeof(param), "/%s", name);
        return msgsec_json_fault(f, MSGSEC_AANF_FAULT_INCORRECT, param,
                                 "not an RFC 3339 date-time");
    }
    return 0;
}

/* ------------------------------------------------------------ encoding */

MSGSEC_SDK_HIDDEN int msgsec_json_enc_begin(const void *in, char *out,
                                            size_t cap, size_t *out_len,
                                            json_t **o)
{
    *o = NULL;
    if (out_len)
        *out_len = 0;
    if (!in || !out || !out_len)
        return MSGSEC_ERR_INVALID_ARG;
    if (cap)
        out[0] = 0;
    return (*o = json_object()) ? 0 : MSGSEC_ERR_NOMEM;
}

MSGSEC_SDK_HIDDEN int msgsec_json_put_string(json_t *o, const char *name,
                                             const char *v)
{
    json_t *j = json_string(v);
    if (!j)
        return MSGSEC_ERR_INVALID_ARG; /* not UTF-8 */
    return json_object_set_new(o, name, j) == 0 ? 0 : MSGSEC_ERR_NOMEM;
}

MSGSEC_SDK_HIDDEN int msgsec_json_dump(json_t *o, int rc, const char *secret,
                                       char *out, size_t cap, size_t *out_len)
{
    if (rc == 0) {
        size_t n = json_dumpb(o, out, cap, JSON_COMPACT);
        if (n == 0)
            rc = MSGSEC_ERR_NOMEM;
        else if (n >= cap)
            rc = MSGSEC_ERR_BUFFER_TOO_SMALL;
        else {
            out[n] = 0;
            *out_len = n;
        }
    }
    msgsec_json_release(o, secret);
    if (rc != 0 && out && cap)
        OPENSSL_cleanse(out, cap);
    return rc;
}

/* ------------------------------------------------------ HTTP answers */

static void type_text(const char *content_type, char ct[64])
{
    const char *t = content_type ? content_type : "none";
    msgsec_json_copy_text(ct, 64, t, strlen(t));
}

MSGSEC_SDK_HIDDEN int msgsec_json_expect_json(const char *content_type,
                                              char *detail, size_t detail_len)
{
    if (msgsec_http_media_type_is(content_type, MSGSEC_AANF_MEDIA_JSON))
        return 0;
    char ct[64];
    type_text(content_type, ct);
    snprintf(detail, detail_len,
             "HTTP 200 with content type %s, not " MSGSEC_AANF_MEDIA_JSON, ct);
    return MSGSEC_ERR_BAD_FRAME;
}

MSGSEC_SDK_HIDDEN int msgsec_json_decode_detail(int rc, const char *what,
                                                const msgsec_aanf_fault *f,
                                                char *detail, size_t detail_len)
{
    char ftext[256];
    if (rc == MSGSEC_ERR_BAD_FRAME)
        snprintf(detail, detail_len, "HTTP 200 with a bad %s: %s", what,
                 msgsec_aanf_fault_text(f, ftext, sizeof(ftext)));
    else if (rc)
        snprintf(detail, detail_len, "decoding %s: %s", what,
                 rc == MSGSEC_ERR_NOMEM ? "out of memory" : "invalid argument");
    return rc;
}

MSGSEC_SDK_HIDDEN void msgsec_json_error_answer(int status,
                                                const char *content_type,
                                                const void *body, size_t len,
                                                msgsec_aanf_problem *problem,
                                                char *detail, size_t detail_len)
{
    msgsec_aanf_problem p;
    msgsec_aanf_fault f = {0};
    int prc = MSGSEC_ERR_BAD_FRAME;
    if (len &&
        (msgsec_http_media_type_is(content_type, MSGSEC_AANF_MEDIA_PROBLEM) ||
         msgsec_http_media_type_is(content_type, MSGSEC_AANF_MEDIA_JSON)))
        prc = msgsec_aanf_decode_problem(NULL, body, len, &p, &f);
    if (prc == 0) {
        if (problem)
            *problem = p;
        snprintf(detail, detail_len, "HTTP %d%s%s%s%s%s%s%s", status,
                 p.title[0] ? ": " : "", p.title, p.cause[0] ? " (" : "",
                 p.cause, p.cause[0] ? ")" : "", p.detail[0] ? ": " : "",
                 p.detail);
        return;
    }
    if (problem)
        problem->status = status;
    char ftext[256], ct[64];
    type_text(content_type, ct);
    if (len == 0)
        snprintf(detail, detail_len, "HTTP %d without ProblemDetails", status);
    else if (prc == MSGSEC_ERR_BAD_FRAME && f.kind != MSGSEC_AANF_FAULT_NONE)
        snprintf(detail, detail_len, "HTTP %d with a bad ProblemDetails: %s",
                 status, msgsec_aanf_fault_text(&f, ftext, sizeof(ftext)));
    else
        snprintf(detail, detail_len,
                 "HTTP %d with a %s body, not " MSGSEC_AANF_MEDIA_PROBLEM,
                 status, ct);
}
