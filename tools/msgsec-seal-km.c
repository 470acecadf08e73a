/*
 * msgsec-seal-km.c - a SEAL key-management emulator for tests and
 * demonstrations: serves SS_KeyInfoRetrieval (TS 29.549), the msgsec
 * configuration-management association look-up and an OAuth2
 * client-credentials token endpoint (RFC 6749 4.4) over h2c with prior
 * knowledge and HTTP/1.1, from a records file, with knobs that make it
 * fail on purpose. Keys, tokens and client secrets are held in memory
 * only, wiped on exit and never logged. See msgsec-seal-km(1).
 */
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <openssl/crypto.h>
#include <openssl/rand.h>

#include <msgsec/aanf.h>
#include <msgsec/http.h>
#include <msgsec/seal.h>

#include "emu.h"

#define PROG "msgsec-seal-km"
#define PATH_TOKEN "/oauth2/token"
#define MEDIA_FORM "application/x-www-form-urlencoded"
#define BODY_CAP 8192          /* every answer fits */
#define FILE_MAX (1L << 20)    /* largest records file */
#define LINE_MAX_LEN 8191      /* longest records line */
#define MAX_RECORDS 100000     /* of each kind */
#define ISSUED_MAX 4096        /* issued tokens kept (the most recent) */
#define ISSUED_BYTES 32        /* random bytes of an issued token */
#define LIFETIME_MAX (10L * 366 * 86400)

/* Static strings: the realm, and the error of RFC 6750 3.1. */
#define AUTH_NONE "Bearer realm=\"" PROG "\""
#define AUTH_INVALID "Bearer realm=\"" PROG "\", error=\"invalid_token\""

typedef struct key_rec {
    char service[MSGSEC_SEAL_ID_MAX + 1];
    char user[MSGSEC_SEAL_ID_MAX + 1];
    msgsec_seal_psk psk; /* identity, key, expiry */
} key_rec;

typedef struct client_rec {
    char id[MSGSEC_SEAL_CLIENT_MAX + 1];
    char secret[MSGSEC_SEAL_CLIENT_MAX + 1];
} client_rec;

typedef struct static_token {
    char *text;
    size_t len;
} static_token;

typedef struct issued_token {
    char text[2 * ISSUED_BYTES + 1]; /* "" for a free slot */
    int64_t expiry;
    long uses; /* resource requests it authorized */
} issued_token;

typedef struct km {
    msgsec_emu emu;
    long token_lifetime;
    long forget_after; /* --forget-tokens-after, -1 when not given */
    key_rec *keys;
    size_t nkeys, keys_cap;
    client_rec *clients;
    size_t nclients, clients_cap;
    static_token *tokens;
    size_t ntokens, tokens_cap;
    msgsec_seal_assoc *assocs;
    size_t nassocs, assocs_cap;
    issued_token issued[ISSUED_MAX];
    size_t issued_next; /* ring: the oldest is replaced */
    /* Statistics, shown when the emulator stops. */
    unsigned long n_requests, n_ok, n_unauthorized, n_not_found, n_other;
} km;

enum op { OP_NONE, OP_KEYS, OP_ASSOC, OP_TOKEN };

static int64_t now_s(void)
{
    return (int64_t)time(NULL);
}

/* ------------------------------------------------------ records file */

/* Makes room for one more element; old blocks may hold keys: wiped. */
static int grow(void **arr, size_t *cap, size_t n, size_t size)
{
    if (n < *cap)
        return 0;
    size_t ncap = *cap ? *cap * 2 : 16;
    if (n >= MAX_RECORDS)
        return -1;
    void *q = calloc(ncap, size);
    if (!q)
        return -1;
    if (*arr) {
        memcpy(q, *arr, n * size);
        OPENSSL_cleanse(*arr, n * size);
        free(*arr);
    }
    *arr = q;
    *cap = ncap;
    return 0;
}

static void records_free(km *k)
{
    if (k->keys) {
        OPENSSL_cleanse(k->keys, k->keys_cap * sizeof(*k->keys));
        free(k->keys);
    }
    if (k->clients) {
        OPENSSL_cleanse(k->clients, k->clients_cap * sizeof(*k->clients));
        free(k->clients);
    }
    for (size_t i = 0; i < k->ntokens; i++) {
        OPENSSL_cleanse(k->tokens[i].text, k->tokens[i].len);
        free(k->tokens[i].text);
    }
    free(k->tokens);
    free(k->assocs);
    OPENSSL_cleanse(k->issued, sizeof(k->issued));
    k->keys = NULL;
    k->clients = NULL;
    k->tokens = NULL;
    k->assocs = NULL;
    k->nkeys = k->nclients = k->ntokens = k->nassocs = 0;
}

/* An identifier: 1 to max bytes, no control characters, none of forbid. */
static int id_ok(const char *s, size_t max, const char *forbid)
{
    size_t n = strlen(s);
    if (n == 0 || n > max)
        return 0;
    for (; *s; s++)
        if ((unsigned char)*s < 0x20 || *s == 0x7f || strchr(forbid, *s))
            return 0;
    return 1;
}

/* Printable ASCII without spaces, 1 to max bytes. */
static int ascii_ok(const char *s, size_t max)
{
    size_t n = strlen(s);
    if (n == 0 || n > max)
        return 0;
    for (; *s; s++)
        if (*s < 0x21 || *s > 0x7e)
            return 0;
    return 1;
}

/* RFC 6750 b64token: 1*( ALPHA / DIGIT / "-" / "." / "_" / "~" / "+" /
 * "/" ) *"=". */
static int b64token_ok(const char *s, size_t n)
{
    size_t i = 0;
    while (i < n && (((s[i] | 0x20) >= 'a' && (s[i] | 0x20) <= 'z') ||
                     (s[i] >= '0' && s[i] <= '9') || strchr("-._~+/", s[i])))
        i++;
    if (i == 0)
        return 0;
    while (i < n && s[i] == '=')
        i++;
    return i == n;
}

static int hexval(int c)
{
    return c >= '0' && c <= '9'   ? c - '0'
           : c >= 'a' && c <= 'f' ? c - 'a' + 10
           : c >= 'A' && c <= 'F' ? c - 'A' + 10
                                  : -1;
}

typedef struct loader {
    km *k;
    const char *file;
    size_t line;
    char err[512];
} loader;

static int fail(loader *l, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));
static int fail(loader *l, const char *fmt, ...)
{
    int n = snprintf(l->err, sizeof(l->err), "%s:%zu: ", l->file, l->line);
    va_list ap;
    va_start(ap, fmt);
    if (n > 0 && (size_t)n < sizeof(l->err))
        vsnprintf(l->err + n, sizeof(l->err) - (size_t)n, fmt, ap);
    va_end(ap);
    return -1;
}

static int add_token(loader *l, char **f, size_t nf)
{
    km *k = l->k;
    if (nf != 2)
        return fail(l, "expected: token BEARER-TOKEN");
    size_t n = strlen(f[1]);
    if (n > MSGSEC_SEAL_TOKEN_MAX || !b64token_ok(f[1], n))
        return fail(l, "the token must be 1 to %d characters of an RFC 6750 "
                       "b64token",
                    MSGSEC_SEAL_TOKEN_MAX);
    if (grow((void **)&k->tokens, &k->tokens_cap, k->ntokens,
             sizeof(*k->tokens)) != 0 ||
        !(k->tokens[k->ntokens].text = strdup(f[1])))
        return fail(l, "too many records or out of memory");
    k->tokens[k->ntokens++].len = n;
    return 0;
}

static int add_client(loader *l, char **f, size_t nf)
{
    km *k = l->k;
    if (nf != 3)
        return fail(l, "expected: client CLIENT-ID CLIENT-SECRET");
    if (!ascii_ok(f[1], MSGSEC_SEAL_CLIENT_MAX) ||
        !ascii_ok(f[2], MSGSEC_SEAL_CLIENT_MAX))
        return fail(l, "client id and secret must be 1 to %d printable "
                       "ASCII characters",
                    MSGSEC_SEAL_CLIENT_MAX);
    for (size_t i = 0; i < k->nclients; i++)
        if (strcmp(k->clients[i].id, f[1]) == 0)
            return fail(l, "client '%s' is already defined", f[1]);
    if (grow((void **)&k->clients, &k->clients_cap, k->nclients,
             sizeof(*k->clients)) != 0)
        return fail(l, "too many records or out of memory");
    client_rec *c = &k->clients[k->nclients++];
    memcpy(c->id, f[1], strlen(f[1]) + 1);
    memcpy(c->secret, f[2], strlen(f[2]) + 1);
    return 0;
}

static int add_key(loader *l, char **f, size_t nf, int64_t now)
{
    km *k = l->k;
    if (nf != 6)
        return fail(l, "expected: key VAL-SERVICE-ID VAL-USER-ID "
                       "PSK-IDENTITY HEXKEY LIFETIME-SECONDS");
    if (!id_ok(f[1], MSGSEC_SEAL_ID_MAX, ""))
        return fail(l, "VAL service ID: 1 to %d bytes without control "
                       "characters",
                    MSGSEC_SEAL_ID_MAX);
    if (!id_ok(f[2], MSGSEC_SEAL_ID_MAX, "#"))
        return fail(l, "VAL user ID: 1 to %d bytes without '#' or control "
                       "characters",
                    MSGSEC_SEAL_ID_MAX);
    if (!ascii_ok(f[3], MSGSEC_SEAL_ID_MAX))
        return fail(l, "PSK identity: 1 to %d printable ASCII characters",
                    MSGSEC_SEAL_ID_MAX);
    size_t hl = strlen(f[4]);
    if (hl % 2 || hl < 2 * MSGSEC_SEAL_PSK_MIN || hl > 2 * MSGSEC_SEAL_PSK_MAX)
        return fail(l, "the key must be %d to %d bytes in hex",
                    MSGSEC_SEAL_PSK_MIN, MSGSEC_SEAL_PSK_MAX);
    long life;
    if (msgsec_emu_parse_long(f[5], -LIFETIME_MAX, LIFETIME_MAX, &life) != 0)
        return fail(l, "the lifetime must be a number of seconds within "
                       "10 years either way");
    if (grow((void **)&k->keys, &k->keys_cap, k->nkeys, sizeof(*k->keys)) !=
        0)
        return fail(l, "too many records or out of memory");
    key_rec *r = &k->keys[k->nkeys];
    memset(r, 0, sizeof(*r));
    for (size_t i = 0; i < hl; i += 2) {
        int hi = hexval((unsigned char)f[4][i]),
            lo = hexval((unsigned char)f[4][i + 1]);
        if (hi < 0 || lo < 0) {
            OPENSSL_cleanse(r, sizeof(*r));
            return fail(l, "the key must be %d to %d bytes in hex",
                        MSGSEC_SEAL_PSK_MIN, MSGSEC_SEAL_PSK_MAX);
        }
        r->psk.psk[i / 2] = (uint8_t)(hi << 4 | lo);
    }
    r->psk.psk_len = hl / 2;
    r->psk.expiry = now + life;
    memcpy(r->service, f[1], strlen(f[1]) + 1);
    memcpy(r->user, f[2], strlen(f[2]) + 1);
    memcpy(r->psk.psk_id, f[3], strlen(f[3]) + 1);
    /* What cannot be encoded now could not be served later. */
    char ki[MSGSEC_SEAL_KEYINFO_MAX + 1];
    size_t kn;
    int rc = msgsec_seal_keyinfo_encode(&r->psk, ki, sizeof(ki), &kn);
    OPENSSL_cleanse(ki, sizeof(ki));
    if (rc != 0) {
        OPENSSL_cleanse(r, sizeof(*r));
        return fail(l, "the key record does not fit a keyInfo (error %d)",
                    rc);
    }
    k->nkeys++;
    return 0;
}

static int add_assoc(loader *l, char **f, size_t nf)
{
    km *k = l->k;
    if (nf != 3)
        return fail(l, "expected: assoc IDENTITY UE-SERVICE-ID[,...]");
    if (!id_ok(f[1], MSGSEC_SEAL_ID_MAX, ""))
        return fail(l, "identity: 1 to %d bytes without control characters",
                    MSGSEC_SEAL_ID_MAX);
    for (size_t i = 0; i < k->nassocs; i++)
        if (strcmp(k->assocs[i].identity, f[1]) == 0)
            return fail(l, "identity '%s' already has an assoc line", f[1]);
    if (grow((void **)&k->assocs, &k->assocs_cap, k->nassocs,
             sizeof(*k->assocs)) != 0)
        return fail(l, "too many records or out of memory");
    msgsec_seal_assoc *a = &k->assocs[k->nassocs];
    memset(a, 0, sizeof(*a));
    memcpy(a->identity, f[1], strlen(f[1]) + 1);
    for (char *p = f[2];;) {
        size_t n = strcspn(p, ",");
        if (a->n == MSGSEC_SEAL_ASSOC_MAX)
            return fail(l, "more than %d UE service IDs",
                        MSGSEC_SEAL_ASSOC_MAX);
        if (n == 0 || n > MSGSEC_SEAL_ID_MAX)
            return fail(l, "UE service IDs: a comma list of 1 to %d bytes "
                           "each",
                        MSGSEC_SEAL_ID_MAX);
        memcpy(a->ue_service_ids[a->n], p, n);
        a->ue_service_ids[a->n++][n] = 0;
        if (!p[n])
            break;
        p += n + 1;
    }
    k->nassocs++;
    return 0;
}

static int parse_line(loader *l, char *s, int64_t now)
{
    size_t len = strlen(s);
    if (len && s[len - 1] == '\r')
        s[--len] = 0;
    if (len > LINE_MAX_LEN)
        return fail(l, "line longer than %d bytes", LINE_MAX_LEN);
    char *f[8];
    size_t nf = 0;
    for (char *p = s; *p;) {
        if (*p == ' ' || *p == '\t') {
            *p++ = 0;
            continue;
        }
        if ((unsigned char)*p < 0x20 || *p == 0x7f)
            return fail(l, "control character");
        if (nf == 0 && *p == '#')
            return 0; /* a comment */
        if (nf == sizeof(f) / sizeof(f[0]))
            return fail(l, "too many fields");
        f[nf++] = p;
        while (*p && *p != ' ' && *p != '\t') {
            if ((unsigned char)*p < 0x20 || *p == 0x7f)
                return fail(l, "control character");
            p++;
        }
    }
    if (nf == 0)
        return 0;
    if (strcmp(f[0], "token") == 0)
        return add_token(l, f, nf);
    if (strcmp(f[0], "client") == 0)
        return add_client(l, f, nf);
    if (strcmp(f[0], "key") == 0)
        return add_key(l, f, nf, now);
    if (strcmp(f[0], "assoc") == 0)
        return add_assoc(l, f, nf);
    return fail(l, "unknown record type (token, client, key or assoc "
                   "expected)");
}

/* Reads the whole file, refusing one that group or others may read or
 * write. */
static char *read_records(loader *l, size_t *len)
{
    int fd = open(l->file, O_RDONLY | O_CLOEXEC);
    struct stat st;
    if (fd < 0 || fstat(fd, &st) != 0) {
        snprintf(l->err, sizeof(l->err), "%s: %s", l->file, strerror(errno));
        if (fd >= 0)
            close(fd);
        return NULL;
    }
    if (!S_ISREG(st.st_mode) || st.st_size > FILE_MAX) {
        snprintf(l->err, sizeof(l->err), "%s: not a regular file of at most "
                 "%ld bytes", l->file, FILE_MAX);
        close(fd);
        return NULL;
    }
    if (st.st_mode & (S_IRGRP | S_IWGRP | S_IROTH | S_IWOTH)) {
        snprintf(l->err, sizeof(l->err),
                 "%s: group or others may read or write it (mode %04o); it "
                 "holds keys and secrets: chmod 600",
                 l->file, (unsigned)(st.st_mode & 07777));
        close(fd);
        return NULL;
    }
    size_t cap = (size_t)st.st_size + 1, n = 0;
    char *buf = malloc(cap);
    if (!buf) {
        snprintf(l->err, sizeof(l->err), "%s: out of memory", l->file);
        close(fd);
        return NULL;
    }
    for (;;) {
        ssize_t r = read(fd, buf + n, cap - 1 - n);
        if (r < 0 && errno == EINTR)
            continue;
        if (r < 0) {
            snprintf(l->err, sizeof(l->err), "%s: %s", l->file,
                     strerror(errno));
            OPENSSL_cleanse(buf, cap);
            free(buf);
            close(fd);
            return NULL;
        }
        if (r == 0 || (n += (size_t)r) == cap - 1)
            break;
    }
    close(fd);
    buf[n] = 0;
    *len = n;
    return buf;
}

static int load_records(km *k, const char *file, char *err, size_t err_len)
{
    loader l = {.k = k, .file = file};
    size_t len = 0;
    char *buf = read_records(&l, &len);
    int rc = buf ? 0 : -1;
    int64_t now = now_s();
    for (char *p = buf; !rc && p && p < buf + len;) {
        char *nl = memchr(p, '\n', (size_t)(buf + len - p));
        size_t n = nl ? (size_t)(nl - p) : (size_t)(buf + len - p);
        l.line++;
        if (memchr(p, 0, n)) {
            rc = fail(&l, "NUL byte");
            break;
        }
        p[n] = 0;
        rc = parse_line(&l, p, now);
        p += n + 1;
    }
    if (buf) {
        OPENSSL_cleanse(buf, len + 1);
        free(buf);
    }
    if (rc != 0) {
        snprintf(err, err_len, "%s", l.err);
        records_free(k);
    }
    return rc;
}

/* ------------------------------------------------------------ tokens */

/* The token of an "Authorization: Bearer TOKEN" value, or NULL. */
static const char *bearer_of(const char *auth, size_t *len)
{
    if (!auth || strncasecmp(auth, "Bearer ", 7) != 0)
        return NULL;
    const char *t = auth + 7;
    while (*t == ' ')
        t++;
    *len = strlen(t);
    while (*len && t[*len - 1] == ' ')
        (*len)--;
    return *len && b64token_ok(t, *len) ? t : NULL;
}

enum { TOK_NONE, TOK_UNKNOWN, TOK_EXPIRED, TOK_OK };

static int token_check(km *k, const char *auth)
{
    size_t len;
    const char *t = bearer_of(auth, &len);
    if (!t)
        return TOK_NONE;
    int found = TOK_UNKNOWN;
    for (size_t i = 0; i < k->ntokens; i++)
        if (k->tokens[i].len == len &&
            CRYPTO_memcmp(k->tokens[i].text, t, len) == 0)
            found = TOK_OK;
    if (len == 2 * ISSUED_BYTES) {
        int64_t now = now_s();
        for (size_t i = 0; i < ISSUED_MAX && found != TOK_OK; i++) {
            issued_token *it = &k->issued[i];
            if (!it->text[0] || CRYPTO_memcmp(it->text, t, len) != 0)
                continue;
            if (k->forget_after >= 0 && it->uses >= k->forget_after) {
                /* --forget-tokens-after: as if revoked, unknown from now. */
                OPENSSL_cleanse(it, sizeof(*it));
                continue;
            }
            found = now < it->expiry ? TOK_OK : TOK_EXPIRED;
            if (found == TOK_OK)
                it->uses++;
        }
    }
    return found;
}

/* Fills slot with a fresh random token; -1 when the RNG fails. */
static int token_issue(km *k, issued_token **out)
{
    uint8_t r[ISSUED_BYTES];
    if (RAND_bytes(r, sizeof(r)) != 1)
        return -1;
    issued_token *it = &k->issued[k->issued_next];
    k->issued_next = (k->issued_next + 1) % ISSUED_MAX;
    static const char hex[] = "0123456789abcdef";
    for (size_t i = 0; i < sizeof(r); i++) {
        it->text[2 * i] = hex[r[i] >> 4];
        it->text[2 * i + 1] = hex[r[i] & 15];
    }
    it->text[2 * sizeof(r)] = 0;
    it->expiry = now_s() + k->token_lifetime;
    it->uses = 0;
    OPENSSL_cleanse(r, sizeof(r));
    *out = it;
    return 0;
}

/* An RFC 6749 5.2 error answer. */
static void oauth_error(msgsec_h2s_response *rs, int status,
                        const char *error, const char *description)
{
    char out[512];
    int n = snprintf(out, sizeof(out),
                     "{\"error\":\"%s\",\"error_description\":\"%s\"}", error,
                     description);
    msgsec_emu_set_body(rs, status, MSGSEC_AANF_MEDIA_JSON, out, (size_t)n);
    rs->no_store = 1;
}

static void token_endpoint(km *k, const msgsec_h2s_request *rq,
                           msgsec_h2s_response *rs, char *note,
                           size_t note_len)
{
    if (!msgsec_http_media_type_is(rq->content_type, MEDIA_FORM)) {
        oauth_error(rs, 400, "invalid_request",
                    "the body must be " MEDIA_FORM);
        snprintf(note, note_len, "not a form");
        return;
    }
    char id[MSGSEC_SEAL_CLIENT_MAX + 1], secret[MSGSEC_SEAL_CLIENT_MAX + 1],
        scope[MSGSEC_SEAL_ID_MAX + 1];
    msgsec_aanf_fault f;
    int rc = msgsec_seal_token_request_parse(rq->body, rq->body_len, id,
                                             secret, scope, &f);
    if (rc != 0) {
        char text[256];
        msgsec_aanf_fault_text(&f, text, sizeof(text));
        int grant = rc == MSGSEC_ERR_BAD_FRAME &&
                    f.kind == MSGSEC_AANF_FAULT_INCORRECT &&
                    strstr(f.param, "grant_type");
        oauth_error(rs, rc == MSGSEC_ERR_BAD_FRAME ? 400 : 500,
                    grant ? "unsupported_grant_type" : "invalid_request",
                    grant ? "only client_credentials is supported"
                          : "malformed token request");
        snprintf(note, note_len, "%s", text);
        return;
    }
    const client_rec *c = NULL;
    for (size_t i = 0; i < k->nclients; i++)
        if (strcmp(k->clients[i].id, id) == 0)
            c = &k->clients[i];
    size_t sl = strlen(secret);
    int good = c && strlen(c->secret) == sl &&
               CRYPTO_memcmp(c->secret, secret, sl) == 0;
    OPENSSL_cleanse(secret, sizeof(secret));
    if (!good) {
        oauth_error(rs, 401, "invalid_client",
                    "unknown client or wrong secret");
        snprintf(note, note_len, "client_id=%s (%s)", id,
                 c ? "wrong secret" : "unknown client");
        return;
    }
    issued_token *it;
    msgsec_seal_token t = {.expires_in = k->token_lifetime};
    if (token_issue(k, &it) != 0) {
        msgsec_emu_problem(rs, 500, "SYSTEM_FAILURE", "no random bytes", NULL);
        return;
    }
    memcpy(t.access_token, it->text, sizeof(it->text));
    memcpy(t.scope, scope, sizeof(t.scope));
    char out[BODY_CAP];
    size_t n;
    rc = msgsec_seal_encode_token(&t, out, sizeof(out), &n);
    msgsec_seal_clear(&t, sizeof(t));
    if (rc != 0) {
        OPENSSL_cleanse(it, sizeof(*it)); /* never handed out */
        msgsec_emu_problem(rs, 500, "SYSTEM_FAILURE",
                           "cannot encode the answer", NULL);
        return;
    }
    msgsec_emu_set_body(rs, 200, MSGSEC_AANF_MEDIA_JSON, out, n);
    rs->no_store = 1;
    OPENSSL_cleanse(out, sizeof(out));
    snprintf(note, note_len, "client_id=%s expires_in=%ld", id,
             k->token_lifetime);
}

/* ------------------------------------------------------- look-ups */

/* Of the records matching, the one with the latest expiry. */
static const key_rec *find_key(const km *k, const char *service,
                               const char *user)
{
    const key_rec *best = NULL;
    for (size_t i = 0; i < k->nkeys; i++) {
        const key_rec *r = &k->keys[i];
        if (strcmp(r->service, service) == 0 &&
            (!user || strcmp(r->user, user) == 0) &&
            (!best || r->psk.expiry > best->psk.expiry))
            best = r;
    }
    return best;
}

static void key_records(km *k, const char *query, msgsec_h2s_response *rs,
                        char *note, size_t note_len)
{
    char sid[MSGSEC_SEAL_ID_MAX + 1];
    msgsec_seal_target tgt;
    int has_tgt = 0;
    msgsec_aanf_fault f;
    int rc = msgsec_seal_parse_key_records_query(
        query, strlen(query), sid, sizeof(sid), &tgt, &has_tgt, &f);
    if (rc != 0) {
        msgsec_emu_bad_input(rs, rc, &f, note, note_len);
        return;
    }
    /* Records name VAL users only; a valUeId is looked up among them. */
    const char *user = !has_tgt              ? NULL
                       : tgt.val_user_id[0] ? tgt.val_user_id
                                             : tgt.val_ue_id;
    int w = snprintf(note, note_len, "valServiceId=%s%s%s", sid,
                     user ? " target=" : "", user ? user : "");
    size_t used = w < 0 ? 0 : (size_t)w < note_len ? (size_t)w : note_len - 1;
    const key_rec *r = find_key(k, sid, user);
    if (!r) {
        msgsec_emu_problem(rs, 404, NULL,
                           "no key record for this VAL service and target",
                           NULL);
        snprintf(note + used, note_len - used, " (no record)");
        return;
    }
    msgsec_seal_val_key_info vk;
    memset(&vk, 0, sizeof(vk));
    snprintf(vk.user_uri, sizeof(vk.user_uri), "sip:%s", r->user);
    snprintf(vk.skms_id, sizeof(vk.skms_id), "%s", PROG);
    memcpy(vk.val_service, r->service, sizeof(vk.val_service));
    if (has_tgt) {
        vk.has_tgt = 1;
        vk.val_tgt_ue = tgt;
    }
    size_t n;
    if (k->emu.garbage) {
        /* Valid ValKeyInfo, keyInfo that does not decode. */
        snprintf(vk.key_info, sizeof(vk.key_info), "{\"v\":1,\"pskId\":");
        rc = 0;
    } else {
        rc = msgsec_seal_keyinfo_encode(&r->psk, vk.key_info,
                                        sizeof(vk.key_info), &n);
    }
    char out[BODY_CAP];
    if (rc == 0)
        rc = msgsec_seal_encode_val_key_info(&vk, out, sizeof(out), &n);
    msgsec_seal_clear(&vk, sizeof(vk));
    if (rc != 0) {
        msgsec_emu_problem(rs, 500, "SYSTEM_FAILURE",
                           "cannot encode the answer", NULL);
        snprintf(note + used, note_len - used, " (encoding failed: %d)", rc);
        return;
    }
    msgsec_emu_set_body(rs, 200, MSGSEC_AANF_MEDIA_JSON, out, n);
    OPENSSL_cleanse(out, sizeof(out));
    char when[MSGSEC_AANF_DATETIME_SIZE];
    if (msgsec_aanf_datetime_format(r->psk.expiry, when) != 0)
        snprintf(when, sizeof(when), "?");
    snprintf(note + used, note_len - used, " pskId=%s expiry=%s%s%s",
             r->psk.psk_id, when,
             r->psk.expiry <= now_s() ? " (expired key)" : "",
             k->emu.garbage ? " (--garbage)" : "");
}

static void associations(km *k, const char *query, msgsec_h2s_response *rs,
                         char *note, size_t note_len)
{
    char id[MSGSEC_SEAL_ID_MAX + 1];
    msgsec_aanf_fault f;
    int rc = msgsec_seal_parse_assoc_query(query, strlen(query), id, &f);
    if (rc != 0) {
        msgsec_emu_bad_input(rs, rc, &f, note, note_len);
        return;
    }
    const msgsec_seal_assoc *a = NULL;
    for (size_t i = 0; i < k->nassocs && !a; i++)
        if (strcmp(k->assocs[i].identity, id) == 0)
            a = &k->assocs[i];
    if (!a) {
        msgsec_emu_problem(rs, 404, NULL, "no association for this identity",
                           NULL);
        snprintf(note, note_len, "identity=%s (unknown)", id);
        return;
    }
    if (k->emu.garbage) {
        static const char junk[] = "{\"identity\":\"";
        msgsec_emu_set_body(rs, 200, MSGSEC_AANF_MEDIA_JSON, junk,
                            sizeof(junk) - 1);
        snprintf(note, note_len, "identity=%s (--garbage)", id);
        return;
    }
    char out[BODY_CAP];
    size_t n;
    rc = msgsec_seal_encode_assoc(a, out, sizeof(out), &n);
    if (rc != 0) {
        msgsec_emu_problem(rs, 500, "SYSTEM_FAILURE",
                           "cannot encode the answer", NULL);
        snprintf(note, note_len, "identity=%s (encoding failed: %d)", id,
                 rc);
        return;
    }
    msgsec_emu_set_body(rs, 200, MSGSEC_AANF_MEDIA_JSON, out, n);
    snprintf(note, note_len, "identity=%s ueServiceIds=%zu", id, a->n);
}

/* --------------------------------------------------------- dispatch */

static enum op path_op(const char *path)
{
    if (msgsec_emu_path_is(path, MSGSEC_SEAL_PATH_KEY_RECORDS))
        return OP_KEYS;
    if (msgsec_emu_path_is(path, MSGSEC_SEAL_PATH_ASSOCIATIONS))
        return OP_ASSOC;
    if (msgsec_emu_path_is(path, PATH_TOKEN))
        return OP_TOKEN;
    return OP_NONE;
}

/* Answers a GET resource once the bearer token is good. */
static void get_resource(km *k, enum op op, const msgsec_h2s_request *rq,
                         msgsec_h2s_response *rs, char *note, size_t note_len)
{
    int tok = token_check(k, rq->authorization);
    if (tok != TOK_OK) {
        msgsec_emu_problem(rs, 401, NULL,
                           tok == TOK_NONE
                               ? "a bearer token is required"
                               : "the bearer token is unknown or expired",
                           NULL);
        rs->www_authenticate = tok == TOK_NONE ? AUTH_NONE : AUTH_INVALID;
        snprintf(note, note_len, "(%s)",
                 tok == TOK_NONE      ? "no bearer token"
                 : tok == TOK_EXPIRED ? "expired token"
                                      : "unknown token");
        return;
    }
    const char *q = strchr(rq->path, '?');
    q = q ? q + 1 : "";
    if (op == OP_KEYS)
        key_records(k, q, rs, note, note_len);
    else
        associations(k, q, rs, note, note_len);
}

static void count(km *k, int status)
{
    k->n_requests++;
    if (status >= 200 && status < 300)
        k->n_ok++;
    else if (status == 401)
        k->n_unauthorized++;
    else if (status == 404)
        k->n_not_found++;
    else
        k->n_other++;
}

static void handle(void *arg, const msgsec_h2s_request *rq,
                   msgsec_h2s_response *rs)
{
    km *k = arg;
    char note[768] = "";
    enum op op = path_op(rq->path);
    const char *method = op == OP_TOKEN ? "POST" : "GET";
    if (msgsec_emu_request_error(rq, rs, MSGSEC_SEAL_BODY_MAX)) {
        /* answered */
    } else if (op == OP_NONE) {
        msgsec_emu_problem(rs, 404, "RESOURCE_URI_STRUCTURE_NOT_FOUND",
                           "no such resource", NULL);
    } else if (k->emu.fail_status) {
        msgsec_emu_problem(rs, k->emu.fail_status, NULL,
                           "failure requested by --fail-status", NULL);
        snprintf(note, sizeof(note), "(--fail-status)");
    } else if (strcmp(rq->method, method) != 0) {
        msgsec_emu_problem(rs, 405, NULL,
                           op == OP_TOKEN ? "only POST is allowed here"
                                          : "only GET is allowed here",
                           NULL);
        rs->allow = method;
    } else if (op == OP_TOKEN) {
        token_endpoint(k, rq, rs, note, sizeof(note));
    } else {
        get_resource(k, op, rq, rs, note, sizeof(note));
    }
    if (op != OP_NONE)
        rs->delay_ms = k->emu.delay_ms;
    count(k, rs->status);
    msgsec_emu_log(rq, rs, note);
}

/* ------------------------------------------------------------ main */

static const char usage_text[] =
    "Usage: msgsec-seal-km --listen HOST:PORT --records FILE [OPTION]...\n"
    "A SEAL key-management emulator: SS_KeyInfoRetrieval (TS 29.549), the\n"
    "association look-up and an OAuth2 token endpoint over HTTP/2 without\n"
    "TLS and HTTP/1.1.\n"
    "\n"
    "  --listen HOST:PORT      address to serve (PORT 0: any free port)\n"
    "  --records FILE          tokens, clients, keys and associations\n"
    "                          (mode 0600 or stricter)\n"
    "  --token-lifetime S      lifetime of issued access tokens (3600)\n"
    "Failure knobs (for tests):\n"
    "  --forget-tokens-after N an issued token authorizes N resource\n"
    "                          requests, then is unknown (401), as if\n"
    "                          revoked; 0: issued tokens never work\n"
    "  --delay-ms N            answer every resource N milliseconds late\n"
    "  --fail-status CODE      answer every resource with a ProblemDetails\n"
    "                          of status CODE\n"
    "  --garbage               answer key records with a keyInfo that does\n"
    "                          not decode, associations with broken JSON\n"
    "\n"
    "  --help                  this text\n"
    "  --version               the version\n";

int main(int argc, char **argv)
{
    enum { O_RECORDS = MSGSEC_EMU_O_OWN, O_LIFETIME, O_FORGET };
    static const struct option opts[] = {
        MSGSEC_EMU_OPTIONS,
        {"records", required_argument, NULL, O_RECORDS},
        {"token-lifetime", required_argument, NULL, O_LIFETIME},
        {"forget-tokens-after", required_argument, NULL, O_FORGET},
        {NULL, 0, NULL, 0}};
    static km k; /* large (the issued tokens): not on the stack */
    const char *records = NULL;
    long v;
    k.emu.prog = PROG;
    k.emu.usage = usage_text;
    k.token_lifetime = 3600;
    k.forget_after = -1;
    int c, rc;
    while ((c = msgsec_emu_getopt(&k.emu, argc, argv, opts, &rc)) != -1) {
        if (c == O_RECORDS) {
            records = optarg;
        } else if (c == O_FORGET) {
            if (msgsec_emu_parse_long(optarg, 0, 1000000000L, &v) != 0)
                return msgsec_emu_usage_error(
                    &k.emu, "--forget-tokens-after %s: a count from 0 to "
                            "1000000000 expected",
                    optarg);
            k.forget_after = v;
        } else {
            if (msgsec_emu_parse_long(optarg, 1, LIFETIME_MAX, &v) != 0)
                return msgsec_emu_usage_error(
                    &k.emu, "--token-lifetime %s: seconds from 1 to 10 years",
                    optarg);
            k.token_lifetime = v;
        }
    }
    if (rc != MSGSEC_EMU_CONTINUE)
        return rc;
    if (!records)
        return msgsec_emu_usage_error(&k.emu, "%s",
                                      "--records FILE is required");
    char err[600];
    if (load_records(&k, records, err, sizeof(err)) != 0) {
        fprintf(stderr, PROG ": %s\n", err);
        return 2;
    }
    fprintf(stderr,
            PROG ": %zu keys, %zu static tokens, %zu clients, "
                 "%zu associations from %s\n",
            k.nkeys, k.ntokens, k.nclients, k.nassocs, records);
    rc = msgsec_emu_serve(&k.emu, MSGSEC_SEAL_BODY_MAX, handle, &k);
    fprintf(stderr,
            PROG ": requests: %lu (%lu 2xx, %lu 401, %lu 404, %lu other)\n",
            k.n_requests, k.n_ok, k.n_unauthorized, k.n_not_found, k.n_other);
    records_free(&k);
    return rc;
}
