/*
 * seal_tlspsk.c - the SEAL TLS-PSK provider (TR 33.862 solution #5): TLS
 * with a pre-shared key relying on the SEAL client and server, between a
 * UE (client) and the MSGin5G Server (server).
 *
 * Key sources (key_source):
 *   km        SEAL key management (TS 29.549 SS_KeyInfoRetrieval) with an
 *             OAuth2 bearer token, configured or obtained with the client
 *             credentials grant; the PSK, its identity and its expiry are
 *             carried in keyInfo as <msgsec/seal.h> defines. Both roles ask
 *             for the key record of a VAL user; the server asks about the
 *             user the presented identity names, without blocking (the
 *             session is pending meanwhile), once per user however many
 *             sessions wait, and keeps the key until its expiry.
 *   derive    PSK = KDF(K_MSG, FC, P0, L0, ...) (TS 33.220 Annex B.2),
 *             FC and parameters being settings.
 *   psk_file  identity:hexkey lines, for labs.
 * Authorization (ABI 1.2 authorize): is a peer's SUPI, GPSI or VAL user ID
 * associated with a UE service ID? From SEAL configuration management
 * (cm_uri, without blocking, answers cached) or a mapping file (cm_file).
 *
 * The TLS work is the SDK's engine; this file supplies keys, maps failures
 * to their own codes and reports the peer. Policy keys: seal_keys[] and
 * msgsec-seal-tlspsk(7).
 */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <openssl/crypto.h>
#include <openssl/evp.h>

#include <msgsec/http.h>
#include <msgsec/kdf.h>
#include <msgsec/keycache.h>
#include <msgsec/provcfg.h>
#include <msgsec/provider.h>
#include <msgsec/seal.h>
#include <msgsec/tlsprov.h>
#include <msgsec/tlspsk.h>

#define SEAL_VERSION "1.0"
#define SEAL_SCHEME "seal-tlspsk"
#define DEFAULT_SERVICE "msgin5g"
#define DEFAULT_FC 0x7e
#define DEFAULT_CACHE_SIZE 1024
#define DEFAULT_KM_TIMEOUT_MS 3000
#define DEFAULT_CM_CACHE_SECONDS 60
#define MAX_TIMEOUT_MS 600000L
#define MAX_CM_CACHE_SECONDS 86400L
/* A token is used until this many seconds before its expires_in ends. */
#define TOKEN_MARGIN 10
/* Longest token lifetime believed (a year). */
#define TOKEN_LIFE_MAX (366L * 86400)
#define LIST_FILE_MAX (1024 * 1024)
#define ID_SIZE (MSGSEC_SEAL_ID_MAX + 1)

enum { SRC_NONE = 0, SRC_KM, SRC_DERIVE, SRC_FILE };
enum { P_IDENTITY = 1, P_SERVICE, P_USER };
enum { JOB_KEY = 1, JOB_ASSOC };
/* The association cache stores, per identity, a tag and a digest of each
 * of its UE service IDs (the answer lists them all): the first
 * ASSOC_DIGEST bytes of their SHA-256, so that any answer fits a cache
 * entry. */
enum { ASSOC_KNOWN = 1, ASSOC_UNKNOWN = 2 };
#define ASSOC_DIGEST 16

typedef struct psk_entry {
    char id[ID_SIZE];
    uint8_t key[MSGSEC_SEAL_PSK_MAX];
    size_t key_len;
} psk_entry;

typedef struct cm_entry {
    char identity[ID_SIZE];
    char *ids; /* the comma list as written */
} cm_entry;

typedef struct fetch_ctx fetch_ctx;

typedef struct seal_pd {
    const msgsec_upcalls *up;
    msgsec_pctx *pc;
    int source;
    const char *source_key; /* the key that chose it, for details */
    char service[ID_SIZE];
    char prefix[ID_SIZE];
    char user[ID_SIZE];
    char key_id[ID_SIZE];
    msgsec_provcfg_tls tlsset;
    msgsec_tlspsk_ctx *tls;
    msgsec_kdf *kdf;
    int client, server;

    /* Client: its identity; its key unless key management gives it. */
    char identity[ID_SIZE];
    uint8_t ckey[MSGSEC_SEAL_PSK_MAX];
    size_t ckey_len;

    /* derive */
    uint8_t k_msg[MSGSEC_KDF_OUT_LEN];
    uint8_t fc;
    int params[8];
    size_t nparams;

    /* psk_file */
    psk_entry *psks;
    size_t npsks, psks_cap;

    /* km and cm_uri: HTTP, token */
    char km_root[MSGSEC_HTTP_MAX_URL];
    long timeout_ms;
    msgsec_http_client *http;
    msgsec_keycache *cache;
    pthread_mutex_t tok_mu;
    int tok_mu_ok;
    int grant; /* client credentials; else a static token */
    char token_url[MSGSEC_HTTP_MAX_URL];
    char client_id[MSGSEC_SEAL_CLIENT_MAX + 1];
    char client_secret[MSGSEC_SEAL_CLIENT_MAX + 1];
    char scope[ID_SIZE];
    char token[MSGSEC_SEAL_TOKEN_MAX + 1];
    int have_token;
    int64_t token_expiry; /* 0: until rejected */
    unsigned token_gen;
    msgsec_http_request *tok_req;
    fetch_ctx *tok_waiters;

    /* authorization */
    int authz;
    char cm_root[MSGSEC_HTTP_MAX_URL];
    cm_entry *cms;
    size_t ncms, cms_cap;
    long cm_cache_seconds;
    msgsec_keycache *acache;
} seal_pd;

/* One request to key or configuration management. */
struct fetch_ctx {
    seal_pd *pd;
    msgsec_keycache *cache;
    void *entry; /* the cache's token */
    int kind;
    char name[ID_SIZE];  /* VAL user ID, or the identity asked about */
    char url[MSGSEC_HTTP_MAX_URL];
    char auth[MSGSEC_SEAL_TOKEN_MAX + 32];
    unsigned gen; /* token generation in auth */
    int retried;
    msgsec_http_request *req;
    fetch_ctx *next; /* waiting for a token */
};

/* Begins with the SDK's session part (<msgsec/tlsprov.h>). */
typedef struct seal_st {
    msgsec_tlsprov_session tls;
    seal_pd *pd;
    /* km look-ups: keys (both roles) and associations (authorize) */
    int refetched, waited;
    msgsec_keycache_waiter w;
    msgsec_keycache_waiter aw;
    /* The peer's VAL user ID (server), its key's expiry. */
    char user[ID_SIZE];
    int64_t expiry;
    /* Client: identity and key once known. */
    char identity[ID_SIZE];
    uint8_t key[MSGSEC_SEAL_PSK_MAX];
    size_t key_len;
} seal_st;

static const char *const seal_keys[] = {
    "key_source", "val_service_id", "identity_prefix", "val_user_id",
    "key_id", "identity", "tls12", "tls12_cipher", "allow_psk_ke",
    /* km */
    "km_uri", "km_token", "km_token_file", "token_uri", "client_id",
    "client_secret", "client_secret_file", "token_scope", "http_version",
    "km_timeout_ms", "cache_size",
    /* derive */
    "msg_key", "msg_key_file", "kdf_fc", "kdf_params",
    /* psk_file */
    "psk_file",
    /* authorization */
    "cm_uri", "cm_file", "cm_cache_seconds", NULL};

#define bad(pd, code, key, ...)                                                \
    msgsec_provcfg_fail((pd)->up, (pd)->pc, code, key, __VA_ARGS__)

static const char *cfg(const seal_pd *pd, const char *key)
{
    return pd->up->config(pd->pc, key);
}

static int64_t now_s(void)
{
    return (int64_t)time(NULL);
}

/* An identifier setting: 1 to MSGSEC_SEAL_ID_MAX printable characters. */
static int id_setting(seal_pd *pd, const char *key, const char *def,
                      char *out)
{
    const char *v = cfg(pd, key);
    if (!v)
        v = def;
    size_t n = strlen(v);
    int ok = n > 0 && n <= MSGSEC_SEAL_ID_MAX;
    for (size_t i = 0; ok && i < n; i++)
        ok = (unsigned char)v[i] >= 0x20 && v[i] != 0x7f;
    if (!ok)
        return bad(pd, MSGSEC_ERR_POLICY_BAD_VALUE, key,
                   "1 to %d printable characters expected",
                   MSGSEC_SEAL_ID_MAX);
    memcpy(out, v, n + 1);
    return 0;
}

/* ------------------------------------------------------- derivation */

/* PSK = KDF(k_msg, fc, the params of identity/service/user). */
static int derive_psk(msgsec_kdf *kdf, const uint8_t *k_msg, uint8_t fc,
                      const int *params, size_t nparams,
                      const uint8_t *identity, size_t identity_len,
                      const char *service, const char *user, uint8_t *out)
{
    msgsec_kdf_param p[8];
    for (size_t i = 0; i < nparams; i++) {
        switch (params[i]) {
        case P_IDENTITY:
            p[i].data = identity;
            p[i].len = identity_len;
            break;
        case P_SERVICE:
            p[i].data = (const uint8_t *)service;
            p[i].len = strlen(service);
            break;
        default:
            p[i].data = (const uint8_t *)user;
            p[i].len = strlen(user);
            break;
        }
    }
    return msgsec_kdf_derive(kdf, k_msg, MSGSEC_KDF_OUT_LEN, fc, p, nparams,
                             out);
}

static int config_derive(seal_pd *pd)
{
    int rc = msgsec_provcfg_hex_key(pd->up, pd->pc, "msg_key", pd->k_msg,
                                    sizeof(pd->k_msg));
    if (rc < 0)
        return rc;
    if (rc == 0)
        return bad(pd, MSGSEC_ERR_POLICY_BAD_VALUE, "key_source",
                   "the derive source needs msg_key or msg_key_file (K_MSG, "
                   "64 hex digits)");
    long fc = DEFAULT_FC;
    const char *v = cfg(pd, "kdf_fc");
    if (v) {
        char *end = NULL;
        fc = strtol(v, &end, 0);
        if (end == v || *end || fc < 0 || fc > 0xff)
            return bad(pd, MSGSEC_ERR_POLICY_BAD_VALUE, "kdf_fc",
                       "\"%s\": one byte expected (0x00 to 0xff)", v);
    }
    pd->fc = (uint8_t)fc;
    v = cfg(pd, "kdf_params");
    if (!v)
        v = "identity,service";
    pd->nparams = 0;
    for (const char *p = v; *p;) {
        size_t n = strcspn(p, ",");
        const char *t = p;
        while (n && (*t == ' ' || *t == '\t')) {
            t++;
            n--;
        }
        while (n && (t[n - 1] == ' ' || t[n - 1] == '\t'))
            n--;
        int k = n == 8 && !memcmp(t, "identity", 8)  ? P_IDENTITY
                : n == 7 && !memcmp(t, "service", 7) ? P_SERVICE
                : n == 4 && !memcmp(t, "user", 4)    ? P_USER
                                                     : 0;
        if (!k || pd->nparams == 8)
            return bad(pd, MSGSEC_ERR_POLICY_BAD_VALUE, "kdf_params",
                       "\"%s\": a comma list of identity, service and user "
                       "expected",
                       v);
        pd->params[pd->nparams++] = k;
        p += strcspn(p, ",");
        if (*p)
            p++;
    }
    if (pd->nparams == 0)
        return bad(pd, MSGSEC_ERR_POLICY_BAD_VALUE, "kdf_params",
                   "at least one parameter expected");
    if (pd->client) {
        int r = derive_psk(pd->kdf, pd->k_msg, pd->fc, pd->params,
                           pd->nparams, (const uint8_t *)pd->identity,
                           strlen(pd->identity), pd->service, pd->user,
                           pd->ckey);
        if (r < 0)
            return bad(pd, MSGSEC_ERR_PROVIDER_INIT, "msg_key",
                       "deriving the PSK failed");
        pd->ckey_len = MSGSEC_KDF_OUT_LEN;
    }
    return 0;
}

/* ------------------------------------------------------- list files */

/* Reads a file of lines into a buffer from up->alloc (private: checked
 * like a key file); *cap is its size. */
static int read_list(seal_pd *pd, const char *key, int secret, char **buf,
                     size_t *cap)
{
    const char *path = cfg(pd, key);
    *cap = LIST_FILE_MAX + 1;
    *buf = pd->up->alloc(pd->pc, *cap);
    if (!*buf)
        return bad(pd, MSGSEC_ERR_NOMEM, key, "no memory to read %s", path);
    size_t len = 0;
    int rc = 0;
    if (secret) {
        rc = msgsec_provcfg_secret_file(pd->up, pd->pc, key, path, *buf,
                                        *cap, &len);
    } else {
        FILE *f = fopen(path, "r");
        if (!f) {
            rc = bad(pd, MSGSEC_ERR_POLICY_BAD_VALUE, key, "cannot open %s",
                     path);
        } else {
            len = fread(*buf, 1, *cap - 1, f);
            if (ferror(f) || len >= *cap - 1)
                rc = bad(pd, MSGSEC_ERR_POLICY_BAD_VALUE, key,
                         "cannot read %s (at most %d bytes)", path,
                         LIST_FILE_MAX - 1);
            fclose(f);
        }
    }
    if (rc < 0) {
        pd->up->free(pd->pc, *buf, *cap);
        *buf = NULL;
    }
    return rc;
}

/* The next line of [*p, e) without blanks around it; NULL at the end.
 * Comment and blank lines are skipped; *lineno counts. */
static char *next_line(char **p, char *e, int *lineno)
{
    while (*p < e) {
        char *s = *p, *nl = memchr(s, '\n', (size_t)(e - s));
        char *end = nl ? nl : e;
        *p = nl ? nl + 1 : e;
        (*lineno)++;
        *end = '\0';
        while (end > s && strchr(" \t\r", end[-1]))
            *--end = '\0';
        while (*s == ' ' || *s == '\t')
            s++;
        if (*s && *s != '#')
            return s;
    }
    return NULL;
}

static int load_psk_file(seal_pd *pd)
{
    char *buf = NULL;
    size_t cap = 0;
    int rc = read_list(pd, "psk_file", 1, &buf, &cap);
    if (rc < 0)
        return rc;
    const char *path = cfg(pd, "psk_file");
    size_t max = 0;
    for (size_t i = 0; buf[i]; i++)
        max += buf[i] == '\n';
    pd->psks = pd->up->alloc(pd->pc, (max + 1) * sizeof(*pd->psks));
    if (!pd->psks) {
        pd->up->free(pd->pc, buf, cap);
        return bad(pd, MSGSEC_ERR_NOMEM, "psk_file", "no memory");
    }
    /* Freed with the size allocated (the memory hooks' contract). */
    pd->psks_cap = max + 1;
    char *p = buf, *e = buf + strlen(buf), *line;
    int lineno = 0;
    while (rc == 0 && (line = next_line(&p, e, &lineno))) {
        /* gnutls-serv's form; the identity may hold ':' (SEAL does). */
        char *colon = strrchr(line, ':');
        psk_entry *pe = &pd->psks[pd->npsks];
        size_t idl = colon ? (size_t)(colon - line) : 0;
        int ok = colon && idl > 0 && idl <= MSGSEC_SEAL_ID_MAX;
        for (size_t i = 0; ok && i < idl; i++)
            ok = (unsigned char)line[i] >= 0x20 && line[i] != 0x7f;
        size_t hl = ok ? strlen(colon + 1) : 0;
        if (!ok || hl < 2 * MSGSEC_SEAL_PSK_MIN ||
            msgsec_tlsprov_hex_key(colon + 1, hl, pe->key, sizeof(pe->key),
                                   &pe->key_len) != 0) {
            rc = bad(pd, MSGSEC_ERR_POLICY_BAD_VALUE, "psk_file",
                     "%s:%d: IDENTITY:HEXKEY expected (identity of 1 to %d "
                     "printable characters, key of %d to %d bytes in hex)",
                     path, lineno, MSGSEC_SEAL_ID_MAX, MSGSEC_SEAL_PSK_MIN,
                     MSGSEC_SEAL_PSK_MAX);
            break;
        }
        memcpy(pe->id, line, idl);
        pe->id[idl] = '\0';
        pd->npsks++;
    }
    pd->up->free(pd->pc, buf, cap);
    return rc;
}

static const psk_entry *find_psk(const seal_pd *pd, const uint8_t *id,
                                 size_t len)
{
    for (size_t i = 0; i < pd->npsks; i++)
        if (strlen(pd->psks[i].id) == len && !memcmp(pd->psks[i].id, id, len))
            return &pd->psks[i];
    return NULL;
}

/* A UE service ID list "A[,B...]": each 1 to MSGSEC_SEAL_ID_MAX bytes
 * without blanks. */
static int list_ok(const char *list)
{
    if (!*list || strpbrk(list, " \t"))
        return 0;
    for (const char *t = list;;) {
        size_t k = strcspn(t, ",");
        if (k == 0 || k > MSGSEC_SEAL_ID_MAX)
            return 0;
        t += k;
        if (!*t)
            return 1;
        t++;
    }
}

static int load_cm_file(seal_pd *pd)
{
    char *buf = NULL;
    size_t cap = 0;
    int rc = read_list(pd, "cm_file", 0, &buf, &cap);
    if (rc < 0)
        return rc;
    const char *path = cfg(pd, "cm_file");
    pd->cms_cap = 1;
    for (size_t i = 0; buf[i]; i++)
        pd->cms_cap += buf[i] == '\n';
    pd->cms = pd->up->alloc(pd->pc, pd->cms_cap * sizeof(*pd->cms));
    if (!pd->cms)
        rc = bad(pd, MSGSEC_ERR_NOMEM, "cm_file", "no memory for %s", path);
    char *p = buf, *e = buf + strlen(buf), *line;
    int lineno = 0;
    while (rc == 0 && (line = next_line(&p, e, &lineno))) {
        size_t il = strcspn(line, " \t");
        char *list = line + il;
        list += strspn(list, " \t");
        if (il == 0 || il > MSGSEC_SEAL_ID_MAX || !list_ok(list)) {
            rc = bad(pd, MSGSEC_ERR_POLICY_BAD_VALUE, "cm_file",
                     "%s:%d: IDENTITY UE-SERVICE-ID[,UE-SERVICE-ID...] "
                     "expected",
                     path, lineno);
            break;
        }
        cm_entry *ce = &pd->cms[pd->ncms];
        size_t ll = strlen(list);
        if (!(ce->ids = pd->up->alloc(pd->pc, ll + 1))) {
            rc = bad(pd, MSGSEC_ERR_NOMEM, "cm_file", "no memory for %s",
                     path);
            break;
        }
        memcpy(ce->identity, line, il);
        ce->identity[il] = '\0';
        memcpy(ce->ids, list, ll + 1);
        pd->ncms++;
    }
    pd->up->free(pd->pc, buf, cap);
    return rc;
}

/* Is id one of the comma list's? */
static int in_list(const char *list, const char *id)
{
    size_t n = strlen(id);
    for (const char *t = list; *t;) {
        size_t k = strcspn(t, ",");
        if (k == n && !memcmp(t, id, n))
            return 1;
        t += k;
        if (*t)
            t++;
    }
    return 0;
}

/* --------------------------------------------------- tokens and HTTP */

static void job_free(fetch_ctx *fc)
{
    msgsec_http_request_free(fc->req);
    fc->pd->up->free(fc->pd->pc, fc, sizeof(*fc));
}

/* Reports a job's outcome to its cache and frees it. */
static void job_finish(fetch_ctx *fc, msgsec_keycache_result *r)
{
    seal_pd *pd = fc->pd;
    if (r->rc < 0)
        pd->up->log(pd->pc, MSGSEC_LOG_WARNING, "%s %s: %s",
                    fc->kind == JOB_KEY ? "key of VAL user" : "association of",
                    fc->name, r->detail);
    msgsec_keycache_complete(fc->cache, fc->entry, r);
    msgsec_keycache_result_clear(r);
    job_free(fc);
}

static void job_fail(fetch_ctx *fc, int rc, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
static void job_fail(fetch_ctx *fc, int rc, const char *fmt, ...)
{
    msgsec_keycache_result r;
    memset(&r, 0, sizeof(r));
    r.rc = rc;
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(r.detail, sizeof(r.detail), fmt, ap);
    va_end(ap);
    job_finish(fc, &r);
}

static void job_done(void *arg, msgsec_http_request *req,
                     const msgsec_http_response *resp);
static int job_send(fetch_ctx *fc);

static const char *const get_headers_tail =
    "Accept: " MSGSEC_AANF_MEDIA_JSON ", " MSGSEC_AANF_MEDIA_PROBLEM;

/* Starts the job's GET with the token in fc->auth. */
static int job_start(fetch_ctx *fc)
{
    const char *headers[] = {get_headers_tail, fc->auth, NULL};
    msgsec_http_request_spec spec = {
        .method = "GET", .url = fc->url, .headers = headers};
    int rc = msgsec_http_start(fc->pd->http, &spec, job_done, fc, &fc->req);
    if (rc < 0) {
        msgsec_http_request_free(fc->req);
        fc->req = NULL;
    }
    return rc;
}

/* Under tok_mu: the stored token into fc->auth. */
static void take_token(seal_pd *pd, fetch_ctx *fc)
{
    snprintf(fc->auth, sizeof(fc->auth), "Authorization: Bearer %s",
             pd->token);
    fc->gen = pd->token_gen;
}

static void token_done(void *arg, msgsec_http_request *req,
                       const msgsec_http_response *resp)
{
    seal_pd *pd = arg;
    msgsec_seal_token tok;
    msgsec_aanf_fault fault;
    int rc = 0;
    char detail[320] = "";
    memset(&tok, 0, sizeof(tok));
    msgsec_keycache_result fr;
    if (msgsec_keycache_http_failure(&fr, resp, "the token endpoint",
                                     pd->timeout_ms)) {
        rc = fr.rc;
        snprintf(detail, sizeof(detail), "%s", fr.detail);
    } else if (resp->status == 400 || resp->status == 401 ||
               resp->status == 403) {
        rc = MSGSEC_ERR_TOKEN_REJECTED;
        snprintf(detail, sizeof(detail),
                 "the token endpoint refused the client credentials of %s "
                 "(HTTP %d)",
                 pd->client_id, resp->status);
    } else if (resp->status != 200) {
        rc = MSGSEC_ERR_LOOKUP_FAILED;
        snprintf(detail, sizeof(detail),
                 "the token endpoint answered HTTP %d", resp->status);
    } else if (msgsec_seal_decode_token(resp->body, resp->body_len, &tok,
                                        &fault) != 0) {
        char ft[256];
        rc = MSGSEC_ERR_BAD_FRAME;
        snprintf(detail, sizeof(detail), "malformed token response: %s",
                 msgsec_aanf_fault_text(&fault, ft, sizeof(ft)));
    }
    pthread_mutex_lock(&pd->tok_mu);
    if (rc == 0) {
        memcpy(pd->token, tok.access_token, sizeof(pd->token));
        pd->have_token = 1;
        /* Bounded: a huge expires_in must not overflow the sum. */
        int64_t life = tok.expires_in < TOKEN_LIFE_MAX ? tok.expires_in
                                                       : TOKEN_LIFE_MAX;
        pd->token_expiry =
            life > 0 ? now_s() + (life > TOKEN_MARGIN ? life - TOKEN_MARGIN
                                                      : 0)
                     : 0;
        pd->token_gen++;
    }
    msgsec_seal_clear(&tok, sizeof(tok));
    fetch_ctx *list = pd->tok_waiters;
    pd->tok_waiters = NULL;
    pd->tok_req = NULL;
    for (fetch_ctx *fc = list; rc == 0 && fc; fc = fc->next)
        take_token(pd, fc);
    pthread_mutex_unlock(&pd->tok_mu);
    msgsec_http_request_free(req);
    if (rc == 0)
        pd->up->log(pd->pc, MSGSEC_LOG_DEBUG,
                    "access token obtained for client %s", pd->client_id);
    for (fetch_ctx *fc = list, *next; fc; fc = next) {
        next = fc->next;
        int src = rc;
        if (src == 0 && (src = job_start(fc)) < 0)
            snprintf(detail, sizeof(detail),
                     "the request cannot be started (error %d)", src);
        if (src < 0)
            job_fail(fc, src, "%s", detail);
    }
}

/* Under tok_mu: asks the token endpoint. */
static int token_request(seal_pd *pd)
{
    char body[3 * (2 * MSGSEC_SEAL_CLIENT_MAX + MSGSEC_SEAL_ID_MAX) + 128];
    size_t n = 0;
    int rc = msgsec_seal_token_request_encode(
        pd->client_id, pd->client_secret, pd->scope[0] ? pd->scope : NULL,
        body, sizeof(body), &n);
    if (rc < 0)
        return rc;
    static const char *const hdr[] = {
        "Content-Type: application/x-www-form-urlencoded",
        "Accept: " MSGSEC_AANF_MEDIA_JSON, NULL};
    msgsec_http_request_spec spec = {.method = "POST",
                                     .url = pd->token_url,
                                     .headers = hdr,
                                     .body = body,
                                     .body_len = n};
    rc = msgsec_http_start(pd->http, &spec, token_done, pd, &pd->tok_req);
    OPENSSL_cleanse(body, sizeof(body));
    if (rc < 0) {
        msgsec_http_request_free(pd->tok_req);
        pd->tok_req = NULL;
    }
    return rc;
}

/* Sends the job with a valid token, first fetching one when needed.
 * 0 (running, or waiting for the token) or an error (not started). */
static int job_send(fetch_ctx *fc)
{
    seal_pd *pd = fc->pd;
    pthread_mutex_lock(&pd->tok_mu);
    if (pd->have_token &&
        (pd->token_expiry == 0 || pd->token_expiry > now_s())) {
        take_token(pd, fc);
        pthread_mutex_unlock(&pd->tok_mu);
        return job_start(fc);
    }
    int rc = 0;
    pd->have_token = 0;
    if (!pd->tok_req)
        rc = token_request(pd);
    if (rc == 0) {
        fc->next = pd->tok_waiters;
        pd->tok_waiters = fc;
    }
    pthread_mutex_unlock(&pd->tok_mu);
    return rc;
}

/* The digest of a UE service ID in the association cache. */
static void assoc_digest(const char *usid, uint8_t out[ASSOC_DIGEST])
{
    uint8_t md[EVP_MAX_MD_SIZE];
    unsigned n = 0;
    if (EVP_Digest(usid, strlen(usid), md, &n, EVP_sha256(), NULL) != 1 ||
        n < ASSOC_DIGEST)
        memset(md, 0, sizeof(md)); /* matches no answer's digest list */
    memcpy(out, md, ASSOC_DIGEST);
}

/* On the HTTP worker: the answer of key or configuration management. */
static void job_done(void *arg, msgsec_http_request *req,
                     const msgsec_http_response *resp)
{
    fetch_ctx *fc = arg;
    seal_pd *pd = fc->pd;
    const char *what = fc->kind == JOB_KEY ? "key management"
                                           : "configuration management";
    msgsec_keycache_result r;
    memset(&r, 0, sizeof(r));
    if (msgsec_keycache_http_failure(&r, resp, what, pd->timeout_ms)) {
        pd->up->log(pd->pc, MSGSEC_LOG_DEBUG, "%s", resp->detail);
        job_finish(fc, &r);
        return;
    }
    if ((resp->status == 401 || resp->status == 403) && pd->grant &&
        !fc->retried) {
        /* The token may have been revoked: a new one, once. */
        pthread_mutex_lock(&pd->tok_mu);
        if (pd->token_gen == fc->gen)
            pd->have_token = 0;
        pthread_mutex_unlock(&pd->tok_mu);
        fc->retried = 1;
        msgsec_http_request_free(req);
        fc->req = NULL;
        int rc = job_send(fc);
        if (rc < 0)
            job_fail(fc, rc, "the retry cannot be started (error %d)", rc);
        return;
    }
    char d[256] = "";
    if (fc->kind == JOB_KEY) {
        msgsec_seal_psk psk;
        r.rc = msgsec_seal_key_result(resp->status, resp->content_type,
                                      resp->body, resp->body_len, pd->service,
                                      now_s(), &psk, NULL, d, sizeof(d));
        if (r.rc == 0) {
            memcpy(r.key, psk.psk, psk.psk_len);
            r.key_len = psk.psk_len;
            r.expiry = psk.expiry;
            snprintf(r.id1, sizeof(r.id1), "%s", psk.psk_id);
            pd->up->log(pd->pc, MSGSEC_LOG_DEBUG,
                        "key of VAL user %s obtained in %.3f s", fc->name,
                        resp->elapsed);
        } else {
            snprintf(r.detail, sizeof(r.detail), "%s: %s", what, d);
        }
        msgsec_seal_clear(&psk, sizeof(psk));
    } else {
        msgsec_seal_assoc as;
        int rc = msgsec_seal_assoc_result(resp->status, resp->content_type,
                                          resp->body, resp->body_len,
                                          fc->name, &as, d, sizeof(d));
        r.rc = rc == MSGSEC_ERR_NOT_AUTHORIZED ? 0 : rc;
        if (r.rc == 0) {
            r.key_len = 1;
            r.key[0] = rc ? ASSOC_UNKNOWN : ASSOC_KNOWN;
            for (size_t i = 0; !rc && i < as.n && i < MSGSEC_SEAL_ASSOC_MAX;
                 i++) {
                assoc_digest(as.ue_service_ids[i], r.key + r.key_len);
                r.key_len += ASSOC_DIGEST;
            }
            r.expiry = now_s() + pd->cm_cache_seconds;
        } else {
            snprintf(r.detail, sizeof(r.detail), "%s: %s", what, d);
        }
    }
    job_finish(fc, &r);
}

/* The caches' fetch: under the cache lock, starts one job. */
static int job_new(seal_pd *pd, msgsec_keycache *cache, int kind,
                   void *entry, const char *name, void **handle,
                   char *detail, size_t detail_len)
{
    fetch_ctx *fc = pd->up->alloc(pd->pc, sizeof(*fc));
    if (!fc) {
        snprintf(detail, detail_len, "no memory for the request");
        return MSGSEC_ERR_NOMEM;
    }
    fc->pd = pd;
    fc->cache = cache;
    fc->kind = kind;
    fc->entry = entry;
    snprintf(fc->name, sizeof(fc->name), "%s", name);
    msgsec_seal_target tgt;
    memset(&tgt, 0, sizeof(tgt));
    snprintf(tgt.val_user_id, sizeof(tgt.val_user_id), "%s", name);
    int rc = kind == JOB_KEY
                 ? msgsec_seal_key_records_url(pd->km_root, pd->service, &tgt,
                                               fc->url, sizeof(fc->url))
                 : msgsec_seal_assoc_url(pd->cm_root, name, fc->url,
                                         sizeof(fc->url));
    if (rc < 0) {
        pd->up->free(pd->pc, fc, sizeof(*fc));
        snprintf(detail, detail_len, "\"%s\" cannot be put in the request URL",
                 name);
        return MSGSEC_ERR_INVALID_ARG;
    }
    *handle = fc;
    rc = job_send(fc);
    if (rc < 0) {
        pd->up->free(pd->pc, fc, sizeof(*fc));
        snprintf(detail, detail_len, "the request cannot be started (error "
                                     "%d)", rc);
        return rc == MSGSEC_ERR_NOMEM ? rc : MSGSEC_ERR_LOOKUP_FAILED;
    }
    return 0;
}

static int key_fetch(void *arg, void *token, const char *name,
                     const char *scope, void **handle, char *detail,
                     size_t detail_len)
{
    seal_pd *pd = arg;
    (void)scope;
    return job_new(pd, pd->cache, JOB_KEY, token, name, handle, detail,
                   detail_len);
}

static int assoc_fetch(void *arg, void *token, const char *name,
                       const char *scope, void **handle, char *detail,
                       size_t detail_len)
{
    seal_pd *pd = arg;
    (void)scope;
    return job_new(pd, pd->acache, JOB_ASSOC, token, name, handle, detail,
                   detail_len);
}

/* fini(), after the HTTP client is gone: jobs that never completed. */
static void job_abandon(void *arg, void *handle)
{
    (void)arg;
    job_free(handle);
}

static int new_cache(seal_pd *pd, size_t size,
                     int (*fetch)(void *, void *, const char *, const char *,
                                  void **, char *, size_t),
                     msgsec_keycache **out)
{
    msgsec_keycache_ops ops = {.arg = pd,
                               .fetch = fetch,
                               .abandon = job_abandon,
                               .up = pd->up,
                               .pc = pd->pc};
    int rc = msgsec_keycache_new(&ops, size, NULL, out);
    if (rc < 0)
        pd->up->set_detail(pd->pc, "cannot create a cache of %zu entries",
                           size);
    return rc;
}

/* The HTTP client and the token settings, for km_uri or cm_uri. */
static int config_http(seal_pd *pd, const char *ukey)
{
    if (pd->http)
        return 0;
    msgsec_http_config hc;
    memset(&hc, 0, sizeof(hc));
    hc.size = sizeof(hc);
    const char *v = cfg(pd, "http_version");
    if (v && msgsec_http_version_from_name(v, &hc.version) != 0)
        return bad(pd, MSGSEC_ERR_POLICY_BAD_VALUE, "http_version",
                   "\"%s\": 2-prior-knowledge, 2 or 1.1 expected", v);
    pd->timeout_ms = DEFAULT_KM_TIMEOUT_MS;
    int rc = msgsec_provcfg_number(pd->up, pd->pc, "km_timeout_ms", 1,
                                   MAX_TIMEOUT_MS, &pd->timeout_ms);
    if (rc < 0)
        return rc;
    hc.timeout_ms = pd->timeout_ms;
    if (hc.timeout_ms < MSGSEC_HTTP_DEFAULT_CONNECT_TIMEOUT_MS)
        hc.connect_timeout_ms = hc.timeout_ms;

    rc = msgsec_provcfg_secret_text(pd->up, pd->pc, "km_token", pd->token,
                                    sizeof(pd->token));
    if (rc < 0)
        return rc;
    const char *turi = cfg(pd, "token_uri");
    if (rc == 1) {
        if (turi)
            return bad(pd, MSGSEC_ERR_POLICY_BAD_VALUE, "token_uri",
                       "give a static token (km_token at %s) or the client "
                       "credentials grant (token_uri), not both",
                       pd->up->config_where(pd->pc, "km_token"));
        pd->have_token = 1;
    } else if (turi) {
        const char *id = cfg(pd, "client_id");
        if (!id)
            return bad(pd, MSGSEC_ERR_POLICY_BAD_VALUE, "token_uri",
                       "the client credentials grant needs client_id");
        _Static_assert(MSGSEC_SEAL_CLIENT_MAX <= MSGSEC_SEAL_ID_MAX,
                       "client_id fits id_setting()");
        /* Checked here so that a control character is a policy error,
         * not a failure of every token request. */
        if ((rc = id_setting(pd, "client_id", NULL, pd->client_id)) < 0)
            return rc;
        rc = msgsec_provcfg_secret_text(pd->up, pd->pc, "client_secret",
                                        pd->client_secret,
                                        sizeof(pd->client_secret));
        if (rc < 0)
            return rc;
        if (rc == 0)
            return bad(pd, MSGSEC_ERR_POLICY_BAD_VALUE, "token_uri",
                       "the client credentials grant needs client_secret or "
                       "client_secret_file");
        if ((v = cfg(pd, "token_scope")) &&
            (rc = id_setting(pd, "token_scope", NULL, pd->scope)) < 0)
            return rc;
        if (strlen(turi) >= sizeof(pd->token_url) ||
            (strncmp(turi, "http://", 7) && strncmp(turi, "https://", 8)))
            return bad(pd, MSGSEC_ERR_POLICY_BAD_VALUE, "token_uri",
                       "\"%s\": an http:// or https:// URL expected", turi);
        snprintf(pd->token_url, sizeof(pd->token_url), "%s", turi);
        pd->grant = 1;
    } else {
        return bad(pd, MSGSEC_ERR_POLICY_BAD_VALUE, ukey,
                   "%s needs an access token: km_token, km_token_file, or "
                   "token_uri with client_id and client_secret",
                   ukey);
    }
    if (pthread_mutex_init(&pd->tok_mu, NULL) != 0)
        return bad(pd, MSGSEC_ERR_INTERNAL, ukey, "no mutex");
    pd->tok_mu_ok = 1;
    char detail[256] = "";
    rc = msgsec_http_client_new(&hc, &pd->http, detail, sizeof(detail));
    if (rc < 0)
        return bad(pd,
                   rc == MSGSEC_ERR_INVALID_ARG ? MSGSEC_ERR_POLICY_BAD_VALUE
                                                : rc,
                   ukey, "the HTTP client cannot be set up: %s", detail);
    return 0;
}

/* An apiRoot setting, checked as the URL builders want it. */
static int api_root(seal_pd *pd, const char *key, char *out, size_t cap)
{
    const char *v = cfg(pd, key);
    char probe[MSGSEC_HTTP_MAX_URL];
    if (strlen(v) >= cap ||
        msgsec_aanf_url(v, MSGSEC_SEAL_PATH_KEY_RECORDS, probe,
                        sizeof(probe)) != 0)
        return bad(pd, MSGSEC_ERR_POLICY_BAD_VALUE, key,
                   "\"%s\": an http:// or https:// apiRoot expected (no "
                   "query, fragment or blank)",
                   v);
    snprintf(out, cap, "%s", v);
    return 0;
}

/* ----------------------------------------------------------- config */

static int choose_source(seal_pd *pd)
{
    const char *v = cfg(pd, "key_source");
    int km = cfg(pd, "km_uri") != NULL;
    int der = cfg(pd, "msg_key") || cfg(pd, "msg_key_file");
    int file = cfg(pd, "psk_file") != NULL;
    if (v) {
        pd->source = !strcmp(v, "km")         ? SRC_KM
                     : !strcmp(v, "derive")   ? SRC_DERIVE
                     : !strcmp(v, "psk_file") ? SRC_FILE
                                              : SRC_NONE;
        if (pd->source == SRC_NONE)
            return bad(pd, MSGSEC_ERR_POLICY_BAD_VALUE, "key_source",
                       "\"%s\": km, derive or psk_file expected", v);
        pd->source_key = "key_source";
        return 0;
    }
    if (km + der + file > 1)
        return bad(pd, MSGSEC_ERR_POLICY_BAD_VALUE,
                   km ? "km_uri" : "psk_file",
                   "keys of two key sources are set (km_uri: km, msg_key or "
                   "msg_key_file: derive, psk_file: psk_file): choose one "
                   "with key_source");
    pd->source = km ? SRC_KM : der ? SRC_DERIVE : file ? SRC_FILE : SRC_NONE;
    pd->source_key = km    ? "km_uri"
                     : der ? (cfg(pd, "msg_key") ? "msg_key" : "msg_key_file")
                     : file ? "psk_file"
                            : "key_source";
    return 0;
}

/* Keys that only one source reads, refused under another. */
static int stray_keys(seal_pd *pd)
{
    static const struct {
        const char *key;
        int source;
    } own[] = {{"km_uri", SRC_KM},         {"cache_size", SRC_KM},
               {"msg_key", SRC_DERIVE},    {"msg_key_file", SRC_DERIVE},
               {"kdf_fc", SRC_DERIVE},     {"kdf_params", SRC_DERIVE},
               {"psk_file", SRC_FILE},     {"identity", SRC_FILE}};
    for (size_t i = 0; i < sizeof(own) / sizeof(own[0]); i++)
        if (cfg(pd, own[i].key) && pd->source != own[i].source)
            return bad(pd, MSGSEC_ERR_POLICY_BAD_VALUE, own[i].key,
                       "not used by the key source chosen at %s",
                       pd->up->config_where(pd->pc, pd->source_key));
    if (cfg(pd, "key_id") && pd->source == SRC_KM)
        return bad(pd, MSGSEC_ERR_POLICY_BAD_VALUE, "key_id",
                   "key management gives the identity: key_id is for the "
                   "derive and psk_file sources");
    return 0;
}

static int config_client(seal_pd *pd)
{
    int rc;
    const char *user = cfg(pd, "val_user_id");
    const char *ident = cfg(pd, "identity");
    if (!user && !ident)
        return 0;
    if (pd->source == SRC_NONE)
        return bad(pd, MSGSEC_ERR_POLICY_BAD_VALUE,
                   user ? "val_user_id" : "identity",
                   "the client role needs a key source (km_uri, msg_key or "
                   "psk_file)");
    if (user && (rc = id_setting(pd, "val_user_id", NULL, pd->user)) < 0)
        return rc;
    if (cfg(pd, "key_id") &&
        (rc = id_setting(pd, "key_id", NULL, pd->key_id)) < 0)
        return rc;
    if (ident) {
        if ((rc = id_setting(pd, "identity", NULL, pd->identity)) < 0)
            return rc;
    } else if (pd->source != SRC_KM &&
               msgsec_seal_identity_build(pd->prefix, pd->user, pd->key_id,
                                          pd->identity,
                                          sizeof(pd->identity)) != 0) {
        return bad(pd, MSGSEC_ERR_POLICY_BAD_VALUE, "val_user_id",
                   "\"%s\" (with key_id \"%s\") cannot form a PSK identity: "
                   "no '#' or control characters, at most %d bytes with the "
                   "prefix",
                   pd->user, pd->key_id, MSGSEC_SEAL_ID_MAX);
    }
    if (pd->source == SRC_KM && !user)
        return bad(pd, MSGSEC_ERR_POLICY_BAD_VALUE, "identity",
                   "key management is asked about val_user_id: set it");
    pd->client = 1;
    return 0;
}

static int config_km(seal_pd *pd)
{
    int rc;
    if (!cfg(pd, "km_uri"))
        return bad(pd, MSGSEC_ERR_POLICY_BAD_VALUE, "key_source",
                   "the km source needs km_uri, the apiRoot of SEAL key "
                   "management");
    if ((rc = api_root(pd, "km_uri", pd->km_root, sizeof(pd->km_root))) < 0 ||
        (rc = config_http(pd, "km_uri")) < 0)
        return rc;
    long size = DEFAULT_CACHE_SIZE;
    if ((rc = msgsec_provcfg_number(pd->up, pd->pc, "cache_size",
                                    MSGSEC_KEYCACHE_MIN, MSGSEC_KEYCACHE_MAX,
                                    &size)) < 0)
        return rc;
    return new_cache(pd, (size_t)size, key_fetch, &pd->cache);
}

static int config_authz(seal_pd *pd)
{
    int rc;
    const char *uri = cfg(pd, "cm_uri"), *file = cfg(pd, "cm_file");
    if (!uri && !file) {
        if (cfg(pd, "cm_cache_seconds"))
            return bad(pd, MSGSEC_ERR_POLICY_BAD_VALUE, "cm_cache_seconds",
                       "needs cm_uri");
        return 0;
    }
    if (uri && file)
        return bad(pd, MSGSEC_ERR_POLICY_BAD_VALUE, "cm_file",
                   "give cm_uri or cm_file, not both (cm_uri is at %s)",
                   pd->up->config_where(pd->pc, "cm_uri"));
    pd->authz = 1;
    if (file)
        return load_cm_file(pd);
    pd->cm_cache_seconds = DEFAULT_CM_CACHE_SECONDS;
    if ((rc = api_root(pd, "cm_uri", pd->cm_root, sizeof(pd->cm_root))) < 0 ||
        (rc = msgsec_provcfg_number(pd->up, pd->pc, "cm_cache_seconds", 1,
                                    MAX_CM_CACHE_SECONDS,
                                    &pd->cm_cache_seconds)) < 0 ||
        (rc = config_http(pd, "cm_uri")) < 0)
        return rc;
    return new_cache(pd, DEFAULT_CACHE_SIZE, assoc_fetch, &pd->acache);
}

/* ------------------------------------------------------ key look-up */

#define lookup_fail(st, ...) msgsec_tlsprov_fail(&(st)->tls, __VA_ARGS__)

/* Youngest stored key record that an identity mismatch fetches again. */
#define REFETCH_MIN_AGE 10

static int km_key(seal_st *st, const uint8_t *id, size_t id_len,
                  uint8_t *key, size_t *key_len);

/*
 * A key record for st->user from the cache: checks it and copies the key.
 * id (NULL for the client) is the identity the key must carry; a stored
 * record with another identity may be stale (a newer key generation) and
 * is fetched again once.
 */
static int use_record(seal_st *st, msgsec_keycache_result *res, int fresh,
                      const uint8_t *id, size_t id_len, uint8_t *key,
                      size_t *key_len)
{
    seal_pd *pd = st->pd;
    int rc = res->rc;
    if (rc < 0) {
        lookup_fail(st, rc, "VAL user %s: %s", st->user, res->detail);
    } else if (res->expiry <= now_s()) {
        rc = lookup_fail(st, MSGSEC_ERR_KEY_EXPIRED,
                         "VAL user %s: the key expired before it could be "
                         "used",
                         st->user);
    } else if (id && (strlen(res->id1) != id_len ||
                      memcmp(res->id1, id, id_len) != 0)) {
        /* At most one refetch per user every REFETCH_MIN_AGE seconds:
         * a client presenting made-up key ids must not turn every
         * handshake into a key-management request. */
        if (!fresh && !st->refetched &&
            now_s() - res->fetched >= REFETCH_MIN_AGE) {
            st->refetched = 1;
            msgsec_keycache_result_clear(res);
            msgsec_keycache_drop(pd->cache, st->user, "");
            return km_key(st, id, id_len, key, key_len);
        }
        rc = lookup_fail(st, MSGSEC_ERR_KEY_UNAVAILABLE,
                         "unknown PSK identity %.*s: key management's key "
                         "for VAL user %s has the identity %s",
                         (int)id_len, (const char *)id, st->user, res->id1);
    } else {
        memcpy(key, res->key, res->key_len);
        *key_len = res->key_len;
        st->expiry = res->expiry;
        if (!id)
            snprintf(st->identity, sizeof(st->identity), "%s", res->id1);
    }
    msgsec_keycache_result_clear(res);
    return rc;
}

/* The key of VAL user st->user from key management, through the cache. */
static int km_key(seal_st *st, const uint8_t *id, size_t id_len,
                  uint8_t *key, size_t *key_len)
{
    seal_pd *pd = st->pd;
    msgsec_keycache_result res;
    st->w.wake = msgsec_tlsprov_wake;
    st->w.arg = &st->tls;
    int rc = msgsec_keycache_lookup(pd->cache, st->user, "", &st->w, &res);
    if (rc == MSGSEC_PENDING) {
        st->waited = 1;
        return rc;
    }
    /* Waited for: fetched now, not a stored record. */
    int fresh = st->waited;
    st->waited = 0;
    return use_record(st, &res, fresh, id, id_len, key, key_len);
}

/* The engine's server look-up (and psk_resolve's): the key of a SEAL
 * identity. */
static int server_lookup(void *arg, const uint8_t *id, size_t id_len,
                         uint8_t *key, size_t *key_len)
{
    seal_st *st = arg;
    seal_pd *pd = st->pd;
    char user[ID_SIZE], kid[ID_SIZE];
    if (msgsec_seal_identity_parse(pd->prefix, id, id_len, user, kid) != 0)
        return lookup_fail(st, MSGSEC_ERR_AUTH_FAILED,
                           "the PSK identity is not of the SEAL form "
                           "(\"%s\" VAL-USER-ID [\"#\" KEY-ID])",
                           pd->prefix);
    if (strcmp(user, st->user) != 0) {
        msgsec_keycache_cancel(pd->cache, &st->w);
        st->waited = 0;
    }
    memcpy(st->user, user, sizeof(st->user));
    const psk_entry *pe;
    switch (pd->source) {
    case SRC_KM:
        return km_key(st, id, id_len, key, key_len);
    case SRC_DERIVE:
        if (derive_psk(pd->kdf, pd->k_msg, pd->fc, pd->params, pd->nparams,
                       id, id_len, pd->service, user, key) != 0)
            return lookup_fail(st, MSGSEC_ERR_INTERNAL,
                               "VAL user %s: deriving the PSK failed", user);
        *key_len = MSGSEC_KDF_OUT_LEN;
        st->expiry = 0;
        return 0;
    case SRC_FILE:
        if (!(pe = find_psk(pd, id, id_len)))
            return lookup_fail(st, MSGSEC_ERR_KEY_UNAVAILABLE,
                               "unknown PSK identity %.*s: not in psk_file "
                               "%s",
                               (int)id_len, (const char *)id,
                               cfg(pd, "psk_file"));
        memcpy(key, pe->key, pe->key_len);
        *key_len = pe->key_len;
        st->expiry = 0;
        return 0;
    default:
        return lookup_fail(st, MSGSEC_ERR_KEY_UNAVAILABLE,
                           "no key source configured");
    }
}

/* ----------------------------------------------------------- provider */

static void seal_fini(void *pdata)
{
    seal_pd *pd = pdata;
    if (!pd)
        return;
    /* The worker first: then no completion can run any more. */
    msgsec_http_client_free(pd->http);
    msgsec_http_request_free(pd->tok_req);
    /* Jobs waiting for a token are the caches' fetches: abandoned there. */
    msgsec_keycache_free(pd->cache);
    msgsec_keycache_free(pd->acache);
    if (pd->tok_mu_ok)
        pthread_mutex_destroy(&pd->tok_mu);
    msgsec_tlspsk_ctx_free(pd->tls);
    msgsec_kdf_free(pd->kdf);
    if (pd->psks)
        pd->up->free(pd->pc, pd->psks, pd->psks_cap * sizeof(*pd->psks));
    for (size_t i = 0; i < pd->ncms; i++)
        pd->up->free(pd->pc, pd->cms[i].ids, strlen(pd->cms[i].ids) + 1);
    pd->up->free(pd->pc, pd->cms, pd->cms_cap * sizeof(*pd->cms));
    pd->up->free(pd->pc, pd, sizeof(*pd));
}

static int seal_init(const msgsec_upcalls *up, msgsec_pctx *pc, void **pdata)
{
    seal_pd *pd = up->alloc(pc, sizeof(*pd));
    if (!pd)
        return MSGSEC_ERR_NOMEM;
    pd->up = up;
    pd->pc = pc;
    msgsec_tlspsk_config tc;
    memset(&tc, 0, sizeof(tc));
    tc.size = sizeof(tc);
    int rc = msgsec_kdf_new(&pd->kdf);
    if (rc < 0)
        up->set_detail(pc, "cannot set up the KDF (SHA-256)");
    if (rc < 0 || (rc = choose_source(pd)) < 0 || (rc = stray_keys(pd)) < 0 ||
        (rc = id_setting(pd, "val_service_id", DEFAULT_SERVICE,
                         pd->service)) < 0 ||
        (rc = id_setting(pd, "identity_prefix", MSGSEC_SEAL_DEFAULT_PREFIX,
                         pd->prefix)) < 0 ||
        (rc = msgsec_provcfg_tls_settings(up, pc, &tc, &pd->tlsset)) < 0 ||
        (rc = config_client(pd)) < 0)
        goto fail;
    switch (pd->source) {
    case SRC_KM:
        rc = config_km(pd);
        break;
    case SRC_DERIVE:
        rc = config_derive(pd);
        break;
    case SRC_FILE:
        if (!cfg(pd, "psk_file")) {
            rc = bad(pd, MSGSEC_ERR_POLICY_BAD_VALUE, "key_source",
                     "the psk_file source needs psk_file");
            break;
        }
        if ((rc = load_psk_file(pd)) == 0 && pd->client) {
            const psk_entry *pe =
                find_psk(pd, (const uint8_t *)pd->identity,
                         strlen(pd->identity));
            if (!pe)
                rc = bad(pd, MSGSEC_ERR_POLICY_BAD_VALUE, "psk_file",
                         "no line for this client's identity %s",
                         pd->identity);
            else
                memcpy(pd->ckey, pe->key, (pd->ckey_len = pe->key_len));
        }
        break;
    default:
        break;
    }
    if (rc < 0 || (rc = config_authz(pd)) < 0)
        goto fail;
    if (pd->source == SRC_NONE && !pd->authz) {
        up->set_detail(pc, "nothing to do: configure a key source (km_uri, "
                           "msg_key or psk_file) or authorization (cm_uri "
                           "or cm_file)");
        rc = MSGSEC_ERR_POLICY_BAD_VALUE;
        goto fail;
    }
    pd->server = pd->source != SRC_NONE;
    tc.hint = pd->prefix;
    tc.lookup = server_lookup;
    char detail[256] = "";
    if ((rc = msgsec_tlspsk_ctx_new(&tc, &pd->tls, detail, sizeof(detail))) <
        0) {
        up->set_detail(pc, "TLS context: %s", detail);
        goto fail;
    }
    static const char *const names[] = {"none", "km", "derive", "psk_file"};
    up->log(pc, MSGSEC_LOG_DEBUG, "key source %s; roles:%s%s%s",
            names[pd->source], pd->client ? " client" : "",
            pd->server ? " server" : "", pd->authz ? " authorization" : "");
    *pdata = pd;
    return 0;
fail:
    seal_fini(pd);
    return rc;
}

/* The derivation's known answer: K_MSG 00..1f, FC 0x7e, parameters
 * identity "3GPP-SEAL:kat-user" and service "msgin5g" (HMAC-SHA-256 over
 * 7e || identity || 00 12 || service || 00 07, computed independently). */
static int seal_self_test(void *pdata)
{
    seal_pd *pd = pdata;
    static const uint8_t want[32] = {
        0x2d, 0x86, 0xc1, 0xe5, 0x64, 0x5b, 0x77, 0x6d, 0x58, 0x56, 0x63,
        0x61, 0x49, 0xfd, 0xca, 0xa4, 0x16, 0x54, 0xce, 0x05, 0x7d, 0xe7,
        0xe6, 0xf3, 0x00, 0x91, 0xa1, 0xc3, 0x1d, 0xa1, 0xf7, 0xda};
    static const char id[] = "3GPP-SEAL:kat-user";
    static const int params[] = {P_IDENTITY, P_SERVICE};
    uint8_t k[32], out[32];
    for (size_t i = 0; i < sizeof(k); i++)
        k[i] = (uint8_t)i;
    int rc = derive_psk(pd->kdf, k, DEFAULT_FC, params, 2,
                        (const uint8_t *)id, sizeof(id) - 1, DEFAULT_SERVICE,
                        "kat-user", out);
    int ok = rc == 0 && CRYPTO_memcmp(out, want, sizeof(out)) == 0;
    OPENSSL_cleanse(out, sizeof(out));
    if (!ok) {
        pd->up->set_detail(pd->pc, "the PSK derivation differs from its "
                                   "known answer");
        return MSGSEC_ERR_PROVIDER_SELF_TEST;
    }
    return 0;
}

static int seal_claim(void *pdata, const uint8_t *tok, size_t len)
{
    const seal_pd *pd = pdata;
    if (!pd->server)
        return MSGSEC_CLAIM_NOT_MINE;
    return msgsec_tlsprov_claim_prefix(pd->up, pd->pc, tok, len,
                                       msgsec_provcfg_tls_versions(
                                           &pd->tlsset),
                                       pd->prefix);
}

/* Client: creates the connection once identity and key are known. */
static int client_connect(seal_st *st)
{
    seal_pd *pd = st->pd;
    const msgsec_upcalls *up = pd->up;
    msgsec_tlspsk_conn_config cc;
    msgsec_tlsprov_begin(&st->tls, up, st->tls.ps, &cc);
    cc.identity = (const uint8_t *)st->identity;
    cc.identity_len = strlen(st->identity);
    cc.key = st->key;
    cc.key_len = st->key_len;
    cc.server_name = up->session_peer_name(st->tls.ps);
    int rc = msgsec_tlsprov_connect(&st->tls, pd->tls, &cc);
    OPENSSL_cleanse(st->key, sizeof(st->key));
    return rc;
}

static int seal_start(void *pdata, void *state, msgsec_psession *ps)
{
    seal_pd *pd = pdata;
    seal_st *st = state;
    const msgsec_upcalls *up = pd->up;
    st->pd = pd;
    msgsec_tlspsk_conn_config cc;
    int role = msgsec_tlsprov_begin(&st->tls, up, ps, &cc);
    if (pd->source == SRC_NONE) {
        up->session_detail(ps, "no key source configured: this instance "
                               "only answers authorization checks");
        return MSGSEC_ERR_KEY_UNAVAILABLE;
    }
    if (role == MSGSEC_ROLE_SERVER)
        return msgsec_tlsprov_connect(&st->tls, pd->tls, &cc);
    if (!pd->client) {
        up->session_detail(ps, "the policy %s names no VAL user "
                               "(val_user_id): this instance can only be a "
                               "server",
                           up->config_where(pd->pc, "val_user_id"));
        return MSGSEC_ERR_UNSUPPORTED;
    }
    snprintf(st->user, sizeof(st->user), "%s", pd->user);
    if (pd->source == SRC_KM)
        return 0; /* the key is asked for in the first step() */
    snprintf(st->identity, sizeof(st->identity), "%s", pd->identity);
    memcpy(st->key, pd->ckey, pd->ckey_len);
    st->key_len = pd->ckey_len;
    return client_connect(st);
}

static int seal_step(void *pdata, void *state, const uint8_t *in, size_t len,
                     size_t *consumed)
{
    seal_pd *pd = pdata;
    seal_st *st = state;
    const msgsec_upcalls *up = pd->up;
    *consumed = 0;
    if (!st->tls.conn) {
        /* A km client: its key first. */
        int rc = km_key(st, NULL, 0, st->key, &st->key_len);
        if (rc == MSGSEC_PENDING)
            return rc;
        if (rc < 0)
            return msgsec_tlsprov_refuse(&st->tls, pd->pc, rc, NULL);
        if ((rc = client_connect(st)) < 0)
            return rc;
    }
    msgsec_tlspsk_info info;
    int rc = msgsec_tlsprov_step_report(&st->tls, pd->pc, in, len, consumed,
                                        "VAL user", st->user, &info);
    if (rc < 0 && st->tls.role == MSGSEC_ROLE_CLIENT) {
        if (info.alert_received == MSGSEC_TLSPROV_ALERT_UNKNOWN_PSK_IDENTITY) {
            up->session_detail(st->tls.ps,
                               "the server does not know the PSK identity "
                               "%s (alert unknown_psk_identity): it has no "
                               "key for this VAL user, or another one",
                               st->identity);
            return MSGSEC_ERR_KEY_UNAVAILABLE;
        }
        if (info.alert_received == MSGSEC_TLSPROV_ALERT_INTERNAL_ERROR)
            up->session_detail(st->tls.ps,
                               "the server could not complete the handshake "
                               "(alert internal_error): it may have failed "
                               "to obtain the key from key management; "
                               "retrying later may succeed");
    }
    return rc;
}

static int seal_result(void *pdata, void *state, msgsec_peer *peer)
{
    seal_pd *pd = pdata;
    seal_st *st = state;
    int rc = msgsec_tlsprov_peer(&st->tls, peer, NULL);
    if (rc < 0)
        return rc;
    if (st->tls.role == MSGSEC_ROLE_SERVER) {
        peer->identity = st->user;
        peer->key_expiry = st->expiry;
    } else {
        /* The server proved it holds this user's key. */
        const char *name = pd->up->session_peer_name(st->tls.ps);
        peer->identity = name && name[0] ? name : pd->service;
        peer->key_expiry = st->expiry;
    }
    return 0;
}

static void seal_end(void *pdata, void *state)
{
    seal_pd *pd = pdata;
    seal_st *st = state;
    /* After this no completion wakes the session. */
    msgsec_keycache_cancel(pd->cache, &st->w);
    msgsec_keycache_cancel(pd->acache, &st->aw);
    OPENSSL_cleanse(st->key, sizeof(st->key));
    msgsec_tlsprov_end(pdata, state);
}

/* ABI 1.1: the key of a SEAL identity for an integrator's own stack. */
static int seal_psk_resolve(void *pdata, void *state, msgsec_psession *ps,
                            const msgsec_psk_query *q, uint8_t *key,
                            size_t *key_len, msgsec_peer *peer)
{
    seal_pd *pd = pdata;
    seal_st *st = state;
    char user[ID_SIZE];
    if (!pd->server ||
        msgsec_seal_identity_parse(pd->prefix, q->identity, q->identity_len,
                                   user, NULL) != 0)
        return MSGSEC_PSK_NOT_MINE;
    if (*key_len < MSGSEC_SEAL_PSK_MAX)
        return MSGSEC_ERR_BUFFER_TOO_SMALL;
    int tls12 = q->version == MSGSEC_PSK_TLS1_2 ||
                q->version == MSGSEC_PSK_DTLS1_2;
    st->pd = pd;
    msgsec_tlsprov_attach(&st->tls, pd->up, ps, MSGSEC_ROLE_SERVER);
    unsigned v = msgsec_provcfg_tls_versions(&pd->tlsset);
    int rc;
    if (!(v & (tls12 ? MSGSEC_TLSPROV_TLS12 : MSGSEC_TLSPROV_TLS13)))
        rc = lookup_fail(st, MSGSEC_ERR_UNSUPPORTED,
                         "TLS %s is not enabled by the policy (tls12 at %s)",
                         tls12 ? "1.2" : "1.3",
                         pd->up->config_where(pd->pc, "tls12"));
    else
        rc = server_lookup(st, q->identity, q->identity_len, key, key_len);
    if (rc == MSGSEC_PENDING)
        return rc;
    if (rc < 0)
        return msgsec_tlsprov_refuse(&st->tls, pd->pc, rc,
                                     "PSK identity refused");
    memset(peer, 0, sizeof(*peer));
    peer->scheme = SEAL_SCHEME;
    peer->identity = st->user;
    peer->key_expiry = st->expiry;
    return 0;
}

/* The outcome of the association look-up of subject: is usid among its
 * UE service IDs? */
static int assoc_outcome(seal_st *st, msgsec_keycache_result *res,
                         const char *subject, const char *usid)
{
    int rc = res->rc;
    if (rc < 0) {
        lookup_fail(st, rc, "%s", res->detail);
    } else if (res->key[0] == ASSOC_UNKNOWN) {
        rc = lookup_fail(st, MSGSEC_ERR_NOT_AUTHORIZED,
                         "%s is unknown to SEAL configuration management",
                         subject);
    } else {
        uint8_t d[ASSOC_DIGEST];
        int found = 0;
        assoc_digest(usid, d);
        for (size_t i = 1; i + ASSOC_DIGEST <= res->key_len;
             i += ASSOC_DIGEST)
            found |= CRYPTO_memcmp(res->key + i, d, ASSOC_DIGEST) == 0;
        if (!found)
            rc = lookup_fail(st, MSGSEC_ERR_NOT_AUTHORIZED,
                             "%s is not associated with UE service ID %s",
                             subject, usid);
    }
    msgsec_keycache_result_clear(res);
    return rc;
}

/* No control characters (the peer's identifiers are integrator input). */
static int printable(const char *s)
{
    for (; *s; s++)
        if ((unsigned char)*s < 0x20 || *s == 0x7f)
            return 0;
    return 1;
}

/* ABI 1.2: is the peer associated with q->ue_service_id? */
static int seal_authorize(void *pdata, void *state, msgsec_psession *ps,
                          const msgsec_authz_query *q)
{
    seal_pd *pd = pdata;
    seal_st *st = state;
    const msgsec_upcalls *up = pd->up;
    st->pd = pd;
    msgsec_tlsprov_attach(&st->tls, up, ps, MSGSEC_ROLE_SERVER);
    const char *subject = q->gpsi && q->gpsi[0]   ? q->gpsi
                          : q->supi && q->supi[0] ? q->supi
                          : q->scheme && !strcmp(q->scheme, SEAL_SCHEME)
                              ? q->identity
                              : NULL;
    const char *usid = q->ue_service_id ? q->ue_service_id : "";
    int rc;
    if (!pd->authz) {
        rc = lookup_fail(st, MSGSEC_ERR_UNSUPPORTED,
                         "no authorization source: the policy %s sets "
                         "neither cm_uri nor cm_file",
                         up->config_where(pd->pc, "cm_uri"));
    } else if (!subject || !subject[0]) {
        rc = lookup_fail(st, MSGSEC_ERR_NOT_AUTHORIZED,
                         "the peer (%s %s) has no SUPI or GPSI",
                         q->scheme ? q->scheme : "?",
                         q->identity ? q->identity : "?");
    } else if (strlen(subject) > MSGSEC_SEAL_ID_MAX || !printable(subject) ||
               !usid[0] || strlen(usid) > MSGSEC_SEAL_ID_MAX) {
        /* Not echoed: control characters would reach details and logs. */
        rc = lookup_fail(st, MSGSEC_ERR_NOT_AUTHORIZED,
                         "identity or UE service ID out of form");
    } else if (pd->cms) {
        const cm_entry *ce = NULL;
        for (size_t i = 0; i < pd->ncms && !ce; i++)
            if (!strcmp(pd->cms[i].identity, subject))
                ce = &pd->cms[i];
        rc = !ce ? lookup_fail(st, MSGSEC_ERR_NOT_AUTHORIZED,
                               "%s is not in cm_file %s", subject,
                               cfg(pd, "cm_file"))
             : !in_list(ce->ids, usid)
                 ? lookup_fail(st, MSGSEC_ERR_NOT_AUTHORIZED,
                               "%s is not associated with UE service ID %s "
                               "(cm_file %s)",
                               subject, usid, cfg(pd, "cm_file"))
                 : 0;
    } else {
        /* One answer per identity serves every UE service ID. */
        msgsec_keycache_result res;
        st->aw.wake = msgsec_tlsprov_wake;
        st->aw.arg = &st->tls;
        rc = msgsec_keycache_lookup(pd->acache, subject, "", &st->aw, &res);
        if (rc == MSGSEC_PENDING)
            return rc;
        rc = assoc_outcome(st, &res, subject, usid);
    }
    return rc < 0 ? msgsec_tlsprov_refuse(&st->tls, pd->pc, rc, NULL) : rc;
}

static const msgsec_provider seal_provider = {
    MSGSEC_PROVIDER_HEADER,
    .name = SEAL_SCHEME,
    .version = SEAL_VERSION,
    .summary = "SEAL TLS-PSK (TR 33.862 #5): PSKs from SEAL key "
               "management, a K_MSG derivation or a PSK file; SEAL "
               "authorization",
    .caps = MSGSEC_CAP_CLIENT | MSGSEC_CAP_SERVER | MSGSEC_CAP_MUTUAL_AUTH |
            MSGSEC_CAP_CONFIDENTIALITY | MSGSEC_CAP_INTEGRITY |
            MSGSEC_CAP_REPLAY_DETECTION | MSGSEC_CAP_FORWARD_SECRECY |
            MSGSEC_CAP_KEY_EXPORT | MSGSEC_CAP_IMPLICIT,
    .state_size = sizeof(seal_st),
    .config_keys = seal_keys,
    .init = seal_init,
    .fini = seal_fini,
    .self_test = seal_self_test,
    .claim = seal_claim,
    .start = seal_start,
    .step = seal_step,
    .result = seal_result,
    .export_key = msgsec_tlsprov_export_key,
    .wrap = msgsec_tlsprov_wrap,
    .unwrap = msgsec_tlsprov_unwrap,
    .limits = msgsec_tlsprov_limits,
    .end = seal_end,
    .close = msgsec_tlsprov_close,
    .psk_resolve = seal_psk_resolve,
    .authorize = seal_authorize,
};

MSGSEC_PROVIDER_DEFINE(seal_tlspsk, seal_provider)
