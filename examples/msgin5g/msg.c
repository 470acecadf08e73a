/* msg.c - MSGin5G-1 messages as JSON lines (jansson), and the line splitter. */
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <jansson.h>

#include "msg.h"

static const char *const type_names[] = {NULL,  "REG",     "DEREG",
                                         "MSG", "MSGRESP", "IMDN"};
static const char *const addr_names[] = {NULL, "UE", "GROUP", "BC"};
static const char *const status_names[] = {
    NULL,           "REG_SUCCESS", "DEREG_SUCCESS", "DELY_ACCEPTED",
    "DELY_STORED",  "DELY_FAILED", "REJECTED"};
static const char *const delivst_names[] = {NULL, "REPT_DELY_SUCCESS",
                                            "REPT_DELY_FAILED"};

#define COUNT(a) (sizeof(a) / sizeof((a)[0]))

static const char *name_of(const char *const *t, size_t n, int v)
{
    return v > 0 && (size_t)v < n ? t[v] : "?";
}

static int from_name(const char *const *t, size_t n, const char *s)
{
    if (!s)
        return 0;
    for (size_t i = 1; i < n; i++)
        if (strcmp(t[i], s) == 0)
            return (int)i;
    return 0;
}

const char *msgsec_m5g_type_name(int v)
{
    return name_of(type_names, COUNT(type_names), v);
}
const char *msgsec_m5g_addr_type_name(int v)
{
    return name_of(addr_names, COUNT(addr_names), v);
}
const char *msgsec_m5g_status_name(int v)
{
    return name_of(status_names, COUNT(status_names), v);
}
const char *msgsec_m5g_delivst_name(int v)
{
    return name_of(delivst_names, COUNT(delivst_names), v);
}
int msgsec_m5g_type_from(const char *s)
{
    return from_name(type_names, COUNT(type_names), s);
}
int msgsec_m5g_addr_type_from(const char *s)
{
    return from_name(addr_names, COUNT(addr_names), s);
}
int msgsec_m5g_status_from(const char *s)
{
    return from_name(status_names, COUNT(status_names), s);
}
int msgsec_m5g_delivst_from(const char *s)
{
    return from_name(delivst_names, COUNT(delivst_names), s);
}

/* ------------------------------------------------------------ time */

/* Days since 1970-01-01 of a proleptic Gregorian date. */
static int64_t days_from_civil(int64_t y, unsigned m, unsigned d)
{
    y -= m <= 2;
    int64_t era = (y >= 0 ? y : y - 399) / 400;
    unsigned yoe = (unsigned)(y - era * 400);
    unsigned doy = (153 * (m + (m > 2 ? -3 : 9)) + 2) / 5 + d - 1;
    unsigned doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    return era * 146097 + (int64_t)doe - 719468;
}

static int digits(const char *s, int n, int *out)
{
    int v = 0;
    for (int i = 0; i < n; i++) {
        if (s[i] < '0' || s[i] > '9')
            return -1;
        v = v * 10 + (s[i] - '0');
    }
    *out = v;
    return 0;
}

int msgsec_m5g_time_parse(const char *s, int64_t *t)
{
    static const unsigned mdays[] = {31, 29, 31, 30, 31, 30,
                                     31, 31, 30, 31, 30, 31};
    int y, mo, d, h, mi, se, oh = 0, om = 0, sign = 0;

    if (strlen(s) < 20 || digits(s, 4, &y) || s[4] != '-' ||
        digits(s + 5, 2, &mo) || s[7] != '-' || digits(s + 8, 2, &d) ||
        (s[10] != 'T' && s[10] != 't') || digits(s + 11, 2, &h) ||
        s[13] != ':' || digits(s + 14, 2, &mi) || s[16] != ':' ||
        digits(s + 17, 2, &se))
        return -1;
    if (mo < 1 || mo > 12 || d < 1 || (unsigned)d > mdays[mo - 1] ||
        h > 23 || mi > 59 || se > 60)
        return -1;
    if (mo == 2 && d == 29 && !(y % 4 == 0 && (y % 100 != 0 || y % 400 == 0)))
        return -1;
    const char *p = s + 19;
    if (*p == '.') {
        p++;
        if (*p < '0' || *p > '9')
            return -1;
        while (*p >= '0' && *p <= '9')
            p++;
    }
    if (*p == 'Z' || *p == 'z') {
        p++;
    } else if (*p == '+' || *p == '-') {
        sign = *p == '-' ? -1 : 1;
        if (digits(p + 1, 2, &oh) || p[3] != ':' || digits(p + 4, 2, &om) ||
            oh > 23 || om > 59)
            return -1;
        p += 6;
    } else {
        return -1;
    }
    if (*p)
        return -1;
    if (se == 60)
        se = 59; /* a leap second: the instant before the next minute */
    *t = days_from_civil(y, (unsigned)mo, (unsigned)d) * 86400 + h * 3600 +
         mi * 60 + se - sign * (oh * 3600 + om * 60);
    return 0;
}

int msgsec_m5g_time_format(int64_t t, char *out, size_t n)
{
    struct tm tm;
    time_t tt = (time_t)t;

    if ((int64_t)tt != t || !gmtime_r(&tt, &tm) || tm.tm_year < -1900 ||
        tm.tm_year > 9999 - 1900)
        return -1;
    return strftime(out, n, "%Y-%m-%dT%H:%M:%SZ", &tm) == 20 ? 0 : -1;
}

/* ------------------------------------------------------------ parsing */

static int fail(char *why, size_t n, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
static int fail(char *why, size_t n, const char *fmt, ...)
{
    va_list ap;
    if (why && n) {
        va_start(ap, fmt);
        vsnprintf(why, n, fmt, ap);
        va_end(ap);
    }
    return MSGSEC_M5G_BAD_FIELDS;
}

int msgsec_m5g_id_ok(const char *s, size_t len, size_t max)
{
    if (len == 0 || len > max || strlen(s) != len)
        return 0;
    for (size_t i = 0; i < len; i++)
        if ((unsigned char)s[i] < 0x20 || s[i] == 0x7f)
            return 0;
    return 1;
}

/* A member that must be an identifier string; NULL when absent. */
static int get_id(json_t *o, const char *key, size_t max, int required,
                  const char **out, char *why, size_t wn)
{
    json_t *v = json_object_get(o, key);
    *out = NULL;
    if (!v)
        return required ? fail(why, wn, "%s missing", key) : 0;
    if (!json_is_string(v) ||
        !msgsec_m5g_id_ok(json_string_value(v), json_string_length(v),
                          max))
        return fail(why, wn, "%s: a string of 1 to %zu bytes without control "
                             "characters expected",
                    key, max);
    *out = json_string_value(v);
    return 0;
}

static int get_bool(json_t *o, const char *key, int *out, char *why,
                    size_t wn)
{
    json_t *v = json_object_get(o, key);
    *out = 0;
    if (!v)
        return 0;
    if (!json_is_boolean(v))
        return fail(why, wn, "%s: true or false expected", key);
    *out = json_is_true(v);
    return 0;
}

/* An Address {addrType, addr}; ue_only: addrType must be UE. */
static int get_addr(json_t *o, const char *key, int ue_only,
                    msgsec_m5g_addr *a, char *why, size_t wn)
{
    json_t *v = json_object_get(o, key);
    const char *t = NULL;

    if (!v)
        return fail(why, wn, "%s missing", key);
    if (!json_is_object(v))
        return fail(why, wn, "%s: an object {addrType, addr} expected", key);
    json_t *tv = json_object_get(v, "addrType");
    if (tv && json_is_string(tv))
        t = json_string_value(tv);
    a->type = msgsec_m5g_addr_type_from(t);
    if (!a->type || (ue_only && a->type != MSGSEC_M5G_ADDR_UE))
        return fail(why, wn, "%s.addrType: %s expected", key,
                    ue_only ? "UE" : "UE, GROUP or BC");
    json_t *av = json_object_get(v, "addr");
    if (!av || !json_is_string(av) ||
        !msgsec_m5g_id_ok(json_string_value(av), json_string_length(av),
                          MSGSEC_M5G_ID_MAX))
        return fail(why, wn, "%s.addr: a string of 1 to %u bytes without "
                             "control characters expected",
                    key, MSGSEC_M5G_ID_MAX);
    a->addr = json_string_value(av);
    return 0;
}

static int parse_msg(json_t *o, msgsec_m5g_msg *m, char *why, size_t wn)
{
    int rc;

    if ((rc = get_addr(o, "oriAddr", 1, &m->ori, why, wn)) < 0 ||
        (rc = get_addr(o, "destAddr", 0, &m->dest, why, wn)) < 0 ||
        (rc = get_bool(o, "delivStReqInd", &m->deliv_st_req, why, wn)) < 0 ||
        (rc = get_bool(o, "stoAndFwInd", &m->sto_and_fw, why, wn)) < 0)
        return rc;
    json_t *p = json_object_get(o, "payload");
    if (p) {
        if (!json_is_string(p))
            return fail(why, wn, "payload: a string expected");
        m->payload = json_string_value(p);
        m->payload_len = json_string_length(p);
    }
    json_t *sp = json_object_get(o, "stoAndFwParams");
    if (sp) {
        if (!json_is_object(sp))
            return fail(why, wn, "stoAndFwParams: an object expected");
        json_t *e = json_object_get(sp, "exprTime");
        if (e) {
            if (!json_is_string(e) ||
                strlen(json_string_value(e)) != json_string_length(e) ||
                msgsec_m5g_time_parse(json_string_value(e), &m->expr_time) <
                    0)
                return fail(why, wn, "stoAndFwParams.exprTime: an RFC 3339 "
                                     "date-time expected");
            m->has_expr_time = 1;
        }
    }
    return 0;
}

static int parse_fields(json_t *o, msgsec_m5g_msg *m, char *why, size_t wn)
{
    int rc;
    const char *s;

    if ((rc = get_id(o, "msgId", MSGSEC_M5G_MSGID_MAX, 1, &m->msg_id, why,
                     wn)) < 0)
        return rc;
    json_t *tv = json_object_get(o, "type");
    m->type = msgsec_m5g_type_from(tv && json_is_string(tv)
                                       ? json_string_value(tv)
                                       : NULL);
    if (!m->type)
        return fail(why, wn, "type: REG, DEREG, MSG, MSGRESP or IMDN "
                             "expected");
    switch (m->type) {
    case MSGSEC_M5G_REG:
        return get_id(o, "ueServiceId", MSGSEC_M5G_ID_MAX, 1,
                      &m->ue_service_id, why, wn);
    case MSGSEC_M5G_DEREG:
        return 0;
    case MSGSEC_M5G_MSG:
        return parse_msg(o, m, why, wn);
    case MSGSEC_M5G_MSGRESP:
        if ((rc = get_id(o, "status", 64, 1, &s, why, wn)) < 0)
            return rc;
        if (!(m->status = msgsec_m5g_status_from(s)))
            return fail(why, wn, "status: unknown value");
        return get_id(o, "failureCause", 64, 0, &m->failure_cause, why, wn);
    default: /* IMDN */
        if ((rc = get_addr(o, "oriAddr", 1, &m->ori, why, wn)) < 0 ||
            (rc = get_addr(o, "destAddr", 1, &m->dest, why, wn)) < 0 ||
            (rc = get_id(o, "delivSt", 64, 1, &s, why, wn)) < 0)
            return rc;
        if (!(m->deliv_st = msgsec_m5g_delivst_from(s)))
            return fail(why, wn, "delivSt: REPT_DELY_SUCCESS or "
                                 "REPT_DELY_FAILED expected");
        return get_id(o, "failureCause", 64, 0, &m->failure_cause, why, wn);
    }
}

int msgsec_m5g_parse(const char *line, size_t len, msgsec_m5g_msg *m,
                     char *why, size_t why_len)
{
    json_error_t err;
    json_t *root;

    memset(m, 0, sizeof(*m));
    if (why && why_len)
        why[0] = '\0';
    if (len > MSGSEC_M5G_LINE_MAX) {
        snprintf(why, why_len, "longer than %u bytes", MSGSEC_M5G_LINE_MAX);
        return MSGSEC_M5G_BAD_JSON;
    }
    root = json_loadb(line, len, JSON_REJECT_DUPLICATES, &err);
    if (!root) {
        snprintf(why, why_len, "not JSON: %s at column %d", err.text,
                 err.column);
        return MSGSEC_M5G_BAD_JSON;
    }
    if (!json_is_object(root)) {
        json_decref(root);
        snprintf(why, why_len, "not a JSON object");
        return MSGSEC_M5G_BAD_JSON;
    }
    m->root = root;
    int rc = parse_fields(root, m, why, why_len);
    if (rc < 0) {
        /* Keep what identifies the request, so it can be answered. */
        const char *id = m->msg_id;
        int type = m->type;
        void *r = m->root;
        memset(m, 0, sizeof(*m));
        m->msg_id = id;
        m->type = type;
        m->root = r;
    }
    return rc;
}

void msgsec_m5g_msg_clear(msgsec_m5g_msg *m)
{
    if (m->root)
        json_decref(m->root);
    memset(m, 0, sizeof(*m));
}

/* ------------------------------------------------------------ building */

static int set_str(json_t *o, const char *key, const char *v)
{
    return json_object_set_new(o, key, json_string(v));
}

static int set_addr(json_t *o, const char *key, const msgsec_m5g_addr *a)
{
    if (!a->addr || a->type < MSGSEC_M5G_ADDR_UE || a->type > MSGSEC_M5G_ADDR_BC)
        return -1;
    return json_object_set_new(
        o, key, json_pack("{s:s,s:s}", "addrType",
                          msgsec_m5g_addr_type_name(a->type), "addr",
                          a->addr));
}

static int build_fields(json_t *o, const msgsec_m5g_msg *m)
{
    char t[32];

    if (!m->msg_id || set_str(o, "type", msgsec_m5g_type_name(m->type)) < 0 ||
        set_str(o, "msgId", m->msg_id) < 0)
        return -1;
    switch (m->type) {
    case MSGSEC_M5G_REG:
        return m->ue_service_id ? set_str(o, "ueServiceId", m->ue_service_id)
                                : -1;
    case MSGSEC_M5G_DEREG:
        return 0;
    case MSGSEC_M5G_MSG:
        if (set_addr(o, "oriAddr", &m->ori) < 0 ||
            set_addr(o, "destAddr", &m->dest) < 0 ||
            (m->payload &&
             json_object_set_new(o, "payload",
                                 json_stringn(m->payload, m->payload_len)) <
                 0) ||
            json_object_set_new(o, "delivStReqInd",
                                json_boolean(m->deliv_st_req)) < 0 ||
            json_object_set_new(o, "stoAndFwInd",
                                json_boolean(m->sto_and_fw)) < 0)
            return -1;
        if (m->has_expr_time &&
            (msgsec_m5g_time_format(m->expr_time, t, sizeof(t)) < 0 ||
             json_object_set_new(o, "stoAndFwParams",
                                 json_pack("{s:s}", "exprTime", t)) < 0))
            return -1;
        return 0;
    case MSGSEC_M5G_MSGRESP:
        if (set_str(o, "status", msgsec_m5g_status_name(m->status)) < 0 ||
            m->status < MSGSEC_M5G_REG_SUCCESS ||
            m->status > MSGSEC_M5G_REJECTED)
            return -1;
        break;
    case MSGSEC_M5G_IMDN:
        if (m->ori.type != MSGSEC_M5G_ADDR_UE ||
            m->dest.type != MSGSEC_M5G_ADDR_UE ||
            set_addr(o, "oriAddr", &m->ori) < 0 ||
            set_addr(o, "destAddr", &m->dest) < 0 ||
            m->deliv_st < MSGSEC_M5G_REPT_DELY_SUCCESS ||
            m->deliv_st > MSGSEC_M5G_REPT_DELY_FAILED ||
            set_str(o, "delivSt", msgsec_m5g_delivst_name(m->deliv_st)) < 0)
            return -1;
        break;
    default:
        return -1;
    }
    return m->failure_cause ? set_str(o, "failureCause", m->failure_cause) : 0;
}

char *msgsec_m5g_build(const msgsec_m5g_msg *m, size_t *len)
{
    json_t *o = json_object();
    char *text = NULL, *line = NULL;

    *len = 0;
    if (!o)
        return NULL;
    if (build_fields(o, m) == 0)
        text = json_dumps(o, JSON_COMPACT | JSON_PRESERVE_ORDER);
    json_decref(o);
    if (!text)
        return NULL;
    size_t n = strlen(text);
    if (n <= MSGSEC_M5G_LINE_MAX && (line = malloc(n + 2)) != NULL) {
        memcpy(line, text, n);
        line[n] = '\n';
        line[n + 1] = '\0';
        *len = n + 1;
    }
    free(text);
    return line;
}

/* ------------------------------------------------------------ lines */

int msgsec_m5g_lines_push(msgsec_m5g_lines *l, const void *d, size_t n)
{
    if (n == 0)
        return 0;
    if (l->off > 0 && l->off + l->len + n > l->cap) {
        memmove(l->buf, l->buf + l->off, l->len);
        l->off = 0;
    }
    if (l->len + n > l->cap) {
        size_t cap = l->cap ? l->cap : 1024;
        while (cap < l->len + n) {
            if (cap > SIZE_MAX / 2)
                return -1;
            cap *= 2;
        }
        char *p = malloc(cap);
        if (!p)
            return -1;
        size_t keep = l->len;
        if (keep)
            memcpy(p, l->buf + l->off, keep);
        msgsec_m5g_lines_free(l);
        l->buf = p;
        l->cap = cap;
        l->len = keep;
    }
    memcpy(l->buf + l->off + l->len, d, n);
    l->len += n;
    return 0;
}

int msgsec_m5g_lines_next(msgsec_m5g_lines *l, const char **line,
                          size_t *len)
{
    /* Empty (buf may be NULL: no pointer arithmetic on it). */
    if (l->len == 0)
        return 0;
    char *p = l->buf + l->off;
    char *nl = memchr(p, '\n', l->len);

    if (!nl) {
        /* A CR may still come before the LF. */
        return l->len > MSGSEC_M5G_LINE_MAX + 1 ? -1 : 0;
    }
    size_t n = (size_t)(nl - p);
    l->off += n + 1;
    l->len -= n + 1;
    if (n > 0 && p[n - 1] == '\r')
        n--;
    if (n > MSGSEC_M5G_LINE_MAX)
        return -1;
    *line = p;
    *len = n;
    return 1;
}

size_t msgsec_m5g_lines_pending(const msgsec_m5g_lines *l)
{
    return l->len;
}

void msgsec_m5g_lines_free(msgsec_m5g_lines *l)
{
    if (l->buf) {
        /* Plaintext messages pass through here. */
        explicit_bzero(l->buf, l->cap);
        free(l->buf);
    }
    memset(l, 0, sizeof(*l));
}

void msgsec_m5g_print_text(FILE *f, const char *s, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        unsigned char c = (unsigned char)s[i];
        if (c < 0x20 || c == 0x7f || c == '\\')
            fprintf(f, "\\x%02x", c);
        else
            fputc(c, f);
    }
}
