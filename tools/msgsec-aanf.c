/*
 * msgsec-aanf.c - an AAnF emulator for tests and demonstrations: serves
 * Naanf_AKMA (TS 29.535: register-anchorkey, retrieve-applicationkey,
 * remove-context) and the NEF's 3gpp-akma retrieve (TS 29.522) over h2c
 * with prior knowledge and HTTP/1.1, with knobs that make it fail on
 * purpose. Keys are held in memory only and never logged. See
 * msgsec-aanf(1).
 */
#include <errno.h>
#include <getopt.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <openssl/crypto.h>

#include <msgsec/aanf.h>
#include <msgsec/akma_keys.h>
#include <msgsec/http.h>
#include <msgsec/kdf.h>

#include "h2server.h"

#define BUCKETS 4096
#define MAX_ENTRIES 1000000
#define BODY_CAP 4096 /* every answer fits */

typedef struct entry {
    struct entry *next;
    char a_kid[MSGSEC_AKID_MAX_LEN + 1];
    uint8_t k_akma[MSGSEC_AKMA_KEY_LEN];
    char supi[MSGSEC_AANF_ID_MAX + 1];
    char gpsi[MSGSEC_AANF_ID_MAX + 1];
    int64_t created; /* seconds since the epoch */
} entry;

typedef struct aanf {
    msgsec_aanf_settings set;
    msgsec_kdf *kdf;
    long expiry;
    unsigned delay_ms;
    int fail_status;
    int garbage;
    int wrong_kaf_length;
    entry *tab[BUCKETS];
    size_t count;
} aanf;

enum op { OP_NONE, OP_RETRIEVE, OP_REGISTER, OP_REMOVE, OP_NEF_RETRIEVE };

/* ------------------------------------------------------------ store */

static size_t bucket(const char *s)
{
    uint32_t h = 2166136261u; /* FNV-1a */
    for (; *s; s++)
        h = (h ^ (uint8_t)*s) * 16777619u;
    return h % BUCKETS;
}

static void entry_free(entry *e)
{
    OPENSSL_cleanse(e, sizeof(*e));
    free(e);
}

static entry *find(aanf *a, const char *a_kid)
{
    for (entry *e = a->tab[bucket(a_kid)]; e; e = e->next)
        if (strcmp(e->a_kid, a_kid) == 0)
            return e;
    return NULL;
}

static void unlink_entry(aanf *a, entry *e)
{
    for (entry **pp = &a->tab[bucket(e->a_kid)]; *pp; pp = &(*pp)->next)
        if (*pp == e) {
            *pp = e->next;
            a->count--;
            entry_free(e);
            return;
        }
}

/* Removes the contexts of a UE (by SUPI, or GPSI when supi is ""). */
static size_t remove_ue(aanf *a, const char *supi, const char *gpsi)
{
    size_t n = 0;
    for (size_t b = 0; b < BUCKETS; b++)
        for (entry **pp = &a->tab[b]; *pp;) {
            entry *e = *pp;
            if ((supi[0] && strcmp(e->supi, supi) == 0) ||
                (!supi[0] && gpsi[0] && strcmp(e->gpsi, gpsi) == 0)) {
                *pp = e->next;
                a->count--;
                entry_free(e);
                n++;
            } else {
                pp = &e->next;
            }
        }
    return n;
}

static void store_clear(aanf *a)
{
    for (size_t b = 0; b < BUCKETS; b++)
        while (a->tab[b]) {
            entry *e = a->tab[b];
            a->tab[b] = e->next;
            entry_free(e);
        }
    a->count = 0;
}

/* ---------------------------------------------------------- answers */

static const char *title_of(int status)
{
    switch (status) {
    case 400: return "Bad Request";
    case 401: return "Unauthorized";
    case 403: return "Forbidden";
    case 404: return "Not Found";
    case 405: return "Method Not Allowed";
    case 411: return "Length Required";
    case 413: return "Content Too Large";
    case 415: return "Unsupported Media Type";
    case 429: return "Too Many Requests";
    case 500: return "Internal Server Error";
    case 502: return "Bad Gateway";
    case 503: return "Service Unavailable";
    case 504: return "Gateway Timeout";
    default: return "Error";
    }
}

static void set_body(msgsec_h2s_response *rs, int status, const char *ctype,
                     const char *text, size_t len)
{
    rs->status = status;
    rs->content_type = ctype;
    rs->body = malloc(len ? len : 1);
    if (!rs->body) {
        rs->status = 500;
        rs->content_type = NULL;
        rs->body_len = 0;
        return;
    }
    memcpy(rs->body, text, len);
    rs->body_len = len;
}

/* A ProblemDetails answer (TS 29.500 causes where one applies). */
static void problem(aanf *a, msgsec_h2s_response *rs, int status,
                    const char *cause, const char *detail,
                    const msgsec_aanf_fault *f)
{
    msgsec_aanf_problem p = {.status = status};
    snprintf(p.title, sizeof(p.title), "%s", title_of(status));
    if (cause)
        snprintf(p.cause, sizeof(p.cause), "%s", cause);
    if (detail)
        snprintf(p.detail, sizeof(p.detail), "%s", detail);
    if (f && f->param[0]) {
        snprintf(p.invalid_params[0].param, sizeof(p.invalid_params[0].param),
                 "%s", f->param);
        snprintf(p.invalid_params[0].reason,
                 sizeof(p.invalid_params[0].reason), "%s", f->reason);
        p.n_invalid_params = 1;
    }
    char out[BODY_CAP];
    size_t n;
    if (msgsec_aanf_encode_problem(&a->set, &p, out, sizeof(out), &n) != 0) {
        rs->status = status;
        return;
    }
    set_body(rs, status, MSGSEC_AANF_MEDIA_PROBLEM, out, n);
}

/* 400 for a body that does not decode. */
static void bad_body(aanf *a, msgsec_h2s_response *rs, int rc,
                     const msgsec_aanf_fault *f, char *note, size_t note_len)
{
    if (rc != MSGSEC_ERR_BAD_FRAME) {
        problem(a, rs, 500, "SYSTEM_FAILURE", "cannot decode the request",
                NULL);
        snprintf(note, note_len, "decoding failed: out of memory");
        return;
    }
    const char *cause = f->kind == MSGSEC_AANF_FAULT_MISSING
                            ? "MANDATORY_IE_MISSING"
                        : f->kind == MSGSEC_AANF_FAULT_INCORRECT
                            ? "MANDATORY_IE_INCORRECT"
                            : "INVALID_MSG_FORMAT";
    char text[256];
    msgsec_aanf_fault_text(f, text, sizeof(text));
    problem(a, rs, 400, cause, text, f);
    snprintf(note, note_len, "%s", text);
}

static void retrieve(aanf *a, const msgsec_h2s_request *rq,
                     msgsec_h2s_response *rs, int nef, char *note,
                     size_t note_len)
{
    msgsec_aanf_key_request kr;
    msgsec_aanf_fault f;
    int rc = msgsec_aanf_decode_key_request(&a->set, rq->body, rq->body_len,
                                            &kr, &f);
    if (rc != 0) {
        bad_body(a, rs, rc, &f, note, note_len);
        return;
    }
    int w = snprintf(note, note_len, "aKId=%s afId=%s%s", kr.a_kid, kr.af_id,
                     kr.anon_ind ? " anonInd" : "");
    size_t used = w < 0 ? 0 : (size_t)w < note_len ? (size_t)w : note_len - 1;
    rs->delay_ms = a->delay_ms;
    if (a->fail_status) {
        problem(a, rs, a->fail_status, NULL,
                "failure requested by --fail-status", NULL);
        snprintf(note + used, note_len - used, " (--fail-status)");
        return;
    }
    if (a->garbage) {
        static const char junk[] = "{\"kaf\":\"0011223344";
        set_body(rs, 200, MSGSEC_AANF_MEDIA_JSON, junk, sizeof(junk) - 1);
        snprintf(note + used, note_len - used, " (--garbage)");
        return;
    }
    entry *e = find(a, kr.a_kid);
    int64_t now = (int64_t)time(NULL);
    if (e && now >= e->created + a->expiry) {
        unlink_entry(a, e);
        snprintf(note + used, note_len - used, " (expired)");
        rs->status = 204;
        return;
    }
    if (!e) {
        snprintf(note + used, note_len - used, " (unknown A-KID)");
        rs->status = 204;
        return;
    }
    char fqdn[MSGSEC_AKMA_FQDN_MAX + 1];
    size_t fqlen;
    uint8_t ua[MSGSEC_AKMA_UA_ID_LEN];
    msgsec_aanf_key_data kd = {.expiry = e->created + a->expiry};
    if (msgsec_aanf_afid_parse(&a->set, kr.af_id, strlen(kr.af_id), fqdn,
                               &fqlen, ua, NULL) != 0 ||
        msgsec_akma_derive_k_af_fqdn(a->kdf, e->k_akma, sizeof(e->k_akma),
                                     fqdn, fqlen, ua, kd.kaf) != 0) {
        problem(a, rs, 500, "SYSTEM_FAILURE", "K_AF derivation failed", NULL);
        snprintf(note + used, note_len - used, " (derivation failed)");
        return;
    }
    /* Anonymous access gets no identity; the NEF never exposes a SUPI. */
    if (!kr.anon_ind) {
        if (!nef)
            memcpy(kd.supi, e->supi, sizeof(kd.supi));
        memcpy(kd.gpsi, e->gpsi, sizeof(kd.gpsi));
    }
    char out[BODY_CAP];
    size_t n;
    rc = msgsec_aanf_encode_key_data(&a->set, &kd, out, sizeof(out), &n);
    msgsec_aanf_clear(&kd, sizeof(kd));
    if (rc != 0) {
        problem(a, rs, 500, "SYSTEM_FAILURE", "cannot encode the answer",
                NULL);
        return;
    }
    if (a->wrong_kaf_length) {
        /* Drop the last two characters of the kaf value. */
        char *k = strstr(out, "\"kaf\":\"");
        char *q = k ? strchr(k + 7, '"') : NULL;
        if (q && q - (k + 7) >= 2) {
            memmove(q - 2, q, (size_t)(out + n + 1 - q));
            n -= 2;
        }
    }
    set_body(rs, 200, MSGSEC_AANF_MEDIA_JSON, out, n);
    OPENSSL_cleanse(out, sizeof(out));
    char when[MSGSEC_AANF_DATETIME_SIZE];
    msgsec_aanf_datetime_format(e->created + a->expiry, when);
    snprintf(note + used, note_len - used, " expiry=%s%s", when,
             a->wrong_kaf_length ? " (--wrong-kaf-length)" : "");
}

static void reg(aanf *a, const msgsec_h2s_request *rq,
                msgsec_h2s_response *rs, char *note, size_t note_len)
{
    msgsec_aanf_key_info ki;
    msgsec_aanf_fault f;
    int rc = msgsec_aanf_decode_key_info(&a->set, rq->body, rq->body_len,
                                         &ki, &f);
    if (rc != 0) {
        bad_body(a, rs, rc, &f, note, note_len);
        return;
    }
    /* A new K_AKMA replaces the UE's old context (and the same A-KID). */
    entry *old = find(a, ki.a_kid);
    if (old)
        unlink_entry(a, old);
    remove_ue(a, ki.supi, ki.gpsi);
    entry *e = a->count < MAX_ENTRIES ? calloc(1, sizeof(*e)) : NULL;
    if (!e) {
        msgsec_aanf_clear(&ki, sizeof(ki));
        problem(a, rs, 500, "INSUFFICIENT_RESOURCES", "store full", NULL);
        snprintf(note, note_len, "store full");
        return;
    }
    memcpy(e->a_kid, ki.a_kid, sizeof(e->a_kid));
    memcpy(e->k_akma, ki.k_akma, sizeof(e->k_akma));
    memcpy(e->supi, ki.supi, sizeof(e->supi));
    memcpy(e->gpsi, ki.gpsi, sizeof(e->gpsi));
    e->created = (int64_t)time(NULL);
    size_t b = bucket(e->a_kid);
    e->next = a->tab[b];
    a->tab[b] = e;
    a->count++;

    char out[BODY_CAP];
    size_t n;
    rc = msgsec_aanf_encode_key_info(&a->set, &ki, out, sizeof(out), &n);
    snprintf(note, note_len, "aKId=%s %s=%s", ki.a_kid,
             ki.supi[0] ? "supi" : "gpsi", ki.supi[0] ? ki.supi : ki.gpsi);
    msgsec_aanf_clear(&ki, sizeof(ki));
    if (rc != 0) {
        problem(a, rs, 500, "SYSTEM_FAILURE", "cannot encode the answer",
                NULL);
        return;
    }
    set_body(rs, 200, MSGSEC_AANF_MEDIA_JSON, out, n);
    OPENSSL_cleanse(out, sizeof(out));
}

static void remove_ctx(aanf *a, const msgsec_h2s_request *rq,
                       msgsec_h2s_response *rs, char *note, size_t note_len)
{
    msgsec_aanf_ctx_remove cr;
    msgsec_aanf_fault f;
    int rc = msgsec_aanf_decode_ctx_remove(&a->set, rq->body, rq->body_len,
                                           &cr, &f);
    if (rc != 0) {
        bad_body(a, rs, rc, &f, note, note_len);
        return;
    }
    size_t n = remove_ue(a, cr.supi, "");
    snprintf(note, note_len, "supi=%s removed=%zu", cr.supi, n);
    rs->status = 204;
}

static enum op path_op(const char *path)
{
    size_t n = strcspn(path, "?");
    static const struct {
        const char *path;
        enum op op;
    } ops[] = {{MSGSEC_AANF_PATH_RETRIEVE, OP_RETRIEVE},
               {MSGSEC_AANF_PATH_REGISTER, OP_REGISTER},
               {MSGSEC_AANF_PATH_REMOVE, OP_REMOVE},
               {MSGSEC_NEF_PATH_RETRIEVE, OP_NEF_RETRIEVE}};
    for (size_t i = 0; i < sizeof(ops) / sizeof(ops[0]); i++)
        if (strlen(ops[i].path) == n && strncmp(path, ops[i].path, n) == 0)
            return ops[i].op;
    return OP_NONE;
}

/* A log-safe, bounded copy of text from the network. */
static void clean(char *dst, size_t cap, const char *src)
{
    size_t i = 0;
    for (; src[i] && i + 1 < cap; i++)
        dst[i] = ((unsigned char)src[i] < 0x20 || (unsigned char)src[i] >= 0x7f)
                     ? '?'
                     : src[i];
    dst[i] = 0;
}

static void handle(void *arg, const msgsec_h2s_request *rq,
                   msgsec_h2s_response *rs)
{
    aanf *a = arg;
    char note[768] = "";
    enum op op = path_op(rq->path);
    if (rq->error == 411) {
        problem(a, rs, 411, "INCORRECT_LENGTH", "a Content-Length is required",
                NULL);
    } else if (rq->error == 413) {
        char d[96];
        snprintf(d, sizeof(d), "the body exceeds %d bytes",
                 MSGSEC_AANF_BODY_MAX);
        problem(a, rs, 413, NULL, d, NULL);
    } else if (rq->error) {
        problem(a, rs, 400, "INVALID_MSG_FORMAT", "malformed HTTP request",
                NULL);
    } else if (op == OP_NONE) {
        problem(a, rs, 404, "RESOURCE_URI_STRUCTURE_NOT_FOUND",
                "no such resource", NULL);
    } else if (strcmp(rq->method, "POST") != 0) {
        problem(a, rs, 405, NULL, "only POST is allowed here", NULL);
        rs->allow = "POST";
    } else if (!msgsec_http_media_type_is(rq->content_type,
                                          MSGSEC_AANF_MEDIA_JSON)) {
        problem(a, rs, 415, NULL, "the body must be " MSGSEC_AANF_MEDIA_JSON,
                NULL);
    } else if (op == OP_REGISTER) {
        reg(a, rq, rs, note, sizeof(note));
    } else if (op == OP_REMOVE) {
        remove_ctx(a, rq, rs, note, sizeof(note));
    } else {
        retrieve(a, rq, rs, op == OP_NEF_RETRIEVE, note, sizeof(note));
    }
    char method[24], path[160], shown[sizeof(note)];
    clean(method, sizeof(method), rq->method);
    clean(path, sizeof(path), rq->path);
    clean(shown, sizeof(shown), note);
    fprintf(stderr, "%s %s %s %s -> %d%s%s%s\n", rq->peer,
            rq->proto == 20 ? "h2c" : "http/1.1", method, path, rs->status,
            shown[0] ? " " : "", shown,
            rs->delay_ms ? " (delayed)" : "");
    fflush(stderr);
}

/* ------------------------------------------------------------ main */

static const char usage_text[] =
    "Usage: msgsec-aanf --listen HOST:PORT [OPTION]...\n"
    "An AAnF emulator: Naanf_AKMA (TS 29.535) and the NEF's 3gpp-akma\n"
    "retrieve (TS 29.522) over HTTP/2 without TLS and HTTP/1.1.\n"
    "\n"
    "  --listen HOST:PORT      address to serve (PORT 0: any free port)\n"
    "  --expiry SECONDS        K_AF lifetime from registration (3600)\n"
    "  --key-encoding ENC      kaf/kAkma text: hex (default) or base64\n"
    "  --afid-format FMT       afId form: fqdn-ua (default) or fqdn\n"
    "Failure knobs (for tests; they apply to retrieve requests):\n"
    "  --delay-ms N            answer N milliseconds late\n"
    "  --fail-status CODE      answer with a ProblemDetails of status CODE\n"
    "  --garbage               answer 200 with malformed JSON\n"
    "  --wrong-kaf-length      answer with a kaf one byte short\n"
    "\n"
    "  --help                  this text\n"
    "  --version               the version\n";

static int parse_long(const char *s, long min, long max, long *out)
{
    char *end;
    errno = 0;
    long v = strtol(s, &end, 10);
    if (!*s || *end || errno || v < min || v > max)
        return -1;
    *out = v;
    return 0;
}

static int usage_error(const char *fmt, ...)
    __attribute__((format(printf, 1, 2)));
static int usage_error(const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    fprintf(stderr, "msgsec-aanf: ");
    vfprintf(stderr, fmt, ap);
    fprintf(stderr, "\nTry 'msgsec-aanf --help'.\n");
    va_end(ap);
    return 2;
}

int main(int argc, char **argv)
{
    enum {
        O_LISTEN = 256, O_EXPIRY, O_KEYENC, O_AFID, O_DELAY, O_FAIL,
        O_GARBAGE, O_WRONG, O_HELP, O_VERSION
    };
    static const struct option opts[] = {
        {"listen", required_argument, NULL, O_LISTEN},
        {"expiry", required_argument, NULL, O_EXPIRY},
        {"key-encoding", required_argument, NULL, O_KEYENC},
        {"afid-format", required_argument, NULL, O_AFID},
        {"delay-ms", required_argument, NULL, O_DELAY},
        {"fail-status", required_argument, NULL, O_FAIL},
        {"garbage", no_argument, NULL, O_GARBAGE},
        {"wrong-kaf-length", no_argument, NULL, O_WRONG},
        {"help", no_argument, NULL, O_HELP},
        {"version", no_argument, NULL, O_VERSION},
        {NULL, 0, NULL, 0}};
    static aanf a; /* large (the hash table): not on the stack */
    const char *listen = NULL, *reason;
    long v;
    msgsec_aanf_settings_default(&a.set);
    a.expiry = 3600;
    int c;
    while ((c = getopt_long(argc, argv, "", opts, NULL)) != -1) {
        switch (c) {
        case O_LISTEN:
            listen = optarg;
            break;
        case O_EXPIRY:
            if (parse_long(optarg, 1, 10L * 366 * 86400, &v) != 0)
                return usage_error("--expiry %s: seconds from 1 to 10 years",
                                   optarg);
            a.expiry = v;
            break;
        case O_KEYENC:
            if (msgsec_aanf_settings_set(&a.set, MSGSEC_AANF_KEY_KEY_ENCODING,
                                         optarg, &reason) != 0)
                return usage_error("--key-encoding %s: must be hex or base64",
                                   optarg);
            break;
        case O_AFID:
            if (msgsec_aanf_settings_set(&a.set, MSGSEC_AANF_KEY_AFID_FORMAT,
                                         optarg, &reason) != 0)
                return usage_error("--afid-format %s: must be fqdn-ua or fqdn",
                                   optarg);
            break;
        case O_DELAY:
            if (parse_long(optarg, 0, 600000, &v) != 0)
                return usage_error("--delay-ms %s: 0 to 600000", optarg);
            a.delay_ms = (unsigned)v;
            break;
        case O_FAIL:
            if (parse_long(optarg, 400, 599, &v) != 0)
                return usage_error("--fail-status %s: a status from 400 to 599",
                                   optarg);
            a.fail_status = (int)v;
            break;
        case O_GARBAGE:
            a.garbage = 1;
            break;
        case O_WRONG:
            a.wrong_kaf_length = 1;
            break;
        case O_HELP:
            fputs(usage_text, stdout);
            return 0;
        case O_VERSION:
            printf("msgsec-aanf %s\n", PACKAGE_VERSION);
            return 0;
        default:
            fprintf(stderr, "Try 'msgsec-aanf --help'.\n");
            return 2;
        }
    }
    if (optind < argc)
        return usage_error("unexpected argument '%s'", argv[optind]);
    if (!listen)
        return usage_error("%s", "--listen HOST:PORT is required");

    if (msgsec_kdf_new(&a.kdf) != 0) {
        fprintf(stderr, "msgsec-aanf: cannot set up the KDF (SHA-256)\n");
        return 1;
    }
    msgsec_h2s_config cfg = {.listen = listen,
                             .max_body = MSGSEC_AANF_BODY_MAX,
                             .handler = handle,
                             .arg = &a,
                             .announce = stdout};
    char err[256] = "";
    int rc = msgsec_h2s_run(&cfg, err, sizeof(err));
    if (rc != 0)
        fprintf(stderr, "msgsec-aanf: %s\n", err);
    else
        fprintf(stderr, "msgsec-aanf: stopped\n");
    store_clear(&a);
    msgsec_kdf_free(a.kdf);
    return rc == 0 ? 0 : 1;
}
