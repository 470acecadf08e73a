/*
 * tlstest.c - a test provider on the SDK's TLS-PSK engine.
 *
 * What a TLS-PSK provider looks like when the SDK does the work: the
 * session ops are the ready-made ones of <msgsec/tlsprov.h> on the engine
 * of <msgsec/tlspsk.h>; the provider only supplies keys. It uses the
 * provider ABI and the SDK, as a vendor's provider would.
 *
 * Policy keys:
 *   identity, key        client: PSK identity and key (hex)
 *   psk_table            server: "identity:hexkey, identity:hexkey, ..."
 *   kex                  dhe (default) | allow-ke | prefer-ke
 *   tls                  1.3 (default) | 1.2 | 1.2-1.3
 *   hint                 server, TLS 1.2 identity hint
 *   lookup_delay_ms      server: > 0 makes each key look-up asynchronous
 *                        (a thread answers after the delay, then wakes
 *                        the session)
 *   claim_prefix         server, implicit mode: claim ClientHellos offering
 *                        a PSK identity that starts with this; unset: one
 *                        that is in psk_table. With TLS 1.2 on, also
 *                        ClientHellos without TLS 1.3 identities that
 *                        offer TLS 1.2 PSK suites.
 */
#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <openssl/crypto.h>

#include <msgsec/provider.h>
#include <msgsec/tlsprov.h>
#include <msgsec/tlspsk.h>

#define MAX_ENTRIES 16
#define MAX_DELAY_MS 600000L

typedef struct tt_entry {
    char id[256];
    size_t id_len;
    uint8_t key[MSGSEC_TLSPSK_MAX_KEY];
    size_t key_len;
} tt_entry;

typedef struct tt {
    const msgsec_upcalls *up;
    msgsec_pctx *pc;
    msgsec_tlspsk_ctx *ctx;
    tt_entry client;
    int have_client;
    tt_entry table[MAX_ENTRIES];
    size_t n;
    long delay_ms;
    char prefix[256];
    int have_prefix;
    unsigned versions; /* MSGSEC_TLSPROV_TLS1* */
} tt;

/* Begins with the SDK's session part (<msgsec/tlsprov.h>). */
typedef struct tt_state {
    msgsec_tlsprov_session tls;
    const tt *pd;
    /* Asynchronous look-up of one identity. */
    int sync_init;
    pthread_mutex_t mu;
    pthread_cond_t cv;
    int thread_live;
    pthread_t thread;
    int done, cancel;
    char pending_id[256];
    size_t pending_len;
    const tt_entry *answer; /* NULL: unknown */
} tt_state;

static const char *const tt_keys[] = {"identity",  "key",
                                      "psk_table", "kex",
                                      "tls",       "hint",
                                      "lookup_delay_ms", "claim_prefix",
                                      NULL};

/* --------------------------------------------------------------- config */

static const char *trim(const char *p, const char *e, const char **end)
{
    while (p < e && (*p == ' ' || *p == '\t'))
        p++;
    while (e > p && (e[-1] == ' ' || e[-1] == '\t'))
        e--;
    *end = e;
    return p;
}

/* "identity:hex, identity:hex" into pd->table. */
static int parse_table(tt *pd, const char *s)
{
    const char *p = s;
    while (*p) {
        const char *e = strchr(p, ',');
        if (!e)
            e = p + strlen(p);
        const char *te, *t = trim(p, e, &te);
        const char *colon = NULL;
        for (const char *q = te; q > t; q--)
            if (q[-1] == ':') {
                colon = q - 1;
                break;
            }
        if (pd->n == MAX_ENTRIES || !colon || colon == t ||
            (size_t)(colon - t) >= sizeof(pd->table[0].id))
            return -1;
        tt_entry *en = &pd->table[pd->n];
        en->id_len = (size_t)(colon - t);
        memcpy(en->id, t, en->id_len);
        if (msgsec_tlsprov_hex_key(colon + 1, (size_t)(te - colon - 1),
                                   en->key, sizeof(en->key),
                                   &en->key_len) < 0)
            return -1;
        pd->n++;
        p = *e ? e + 1 : e;
    }
    return pd->n > 0 ? 0 : -1;
}

static const tt_entry *find(const tt *pd, const uint8_t *id, size_t n)
{
    for (size_t i = 0; i < pd->n; i++)
        if (pd->table[i].id_len == n && memcmp(pd->table[i].id, id, n) == 0)
            return &pd->table[i];
    return NULL;
}

/* ------------------------------------------------------------- look-ups */

static void *lookup_thread(void *arg)
{
    tt_state *st = arg;
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    ts.tv_sec += st->pd->delay_ms / 1000;
    ts.tv_nsec += (st->pd->delay_ms % 1000) * 1000000L;
    if (ts.tv_nsec >= 1000000000L) {
        ts.tv_sec++;
        ts.tv_nsec -= 1000000000L;
    }
    pthread_mutex_lock(&st->mu);
    while (!st->cancel)
        if (pthread_cond_timedwait(&st->cv, &st->mu, &ts) == ETIMEDOUT)
            break;
    int cancelled = st->cancel;
    if (!cancelled) {
        st->answer = find(st->pd, (const uint8_t *)st->pending_id,
                          st->pending_len);
        st->done = 1;
    }
    pthread_mutex_unlock(&st->mu);
    /* end() joins this thread: the wake comes before end() returns. */
    if (!cancelled)
        st->pd->up->session_wake(st->tls.ps);
    return NULL;
}

static int start_thread(tt_state *st)
{
    if (!st->sync_init) {
        pthread_condattr_t ca;
        if (pthread_condattr_init(&ca))
            return MSGSEC_ERR_NOMEM;
        pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
        int e = pthread_cond_init(&st->cv, &ca);
        pthread_condattr_destroy(&ca);
        if (e)
            return MSGSEC_ERR_NOMEM;
        if (pthread_mutex_init(&st->mu, NULL)) {
            pthread_cond_destroy(&st->cv);
            return MSGSEC_ERR_NOMEM;
        }
        st->sync_init = 1;
    }
    if (pthread_create(&st->thread, NULL, lookup_thread, st))
        return MSGSEC_ERR_LOOKUP_FAILED;
    st->thread_live = 1;
    return 0;
}

/* The engine's server look-up: from the table, at once or after a delay
 * on a thread of its own (pending). */
static int tt_lookup(void *arg, const uint8_t *id, size_t id_len,
                     uint8_t *key, size_t *key_len)
{
    tt_state *st = arg;
    const tt *pd = st->pd;
    const tt_entry *en = NULL;
    if (pd->delay_ms == 0) {
        en = find(pd, id, id_len);
    } else if (!st->thread_live) {
        if (id_len >= sizeof(st->pending_id))
            return MSGSEC_ERR_AUTH_FAILED;
        memcpy(st->pending_id, id, id_len);
        st->pending_len = id_len;
        int rc = start_thread(st);
        return rc < 0 ? rc : MSGSEC_PENDING;
    } else {
        pthread_mutex_lock(&st->mu);
        int done = st->done;
        en = st->answer;
        pthread_mutex_unlock(&st->mu);
        if (!done)
            return MSGSEC_PENDING;
        pthread_join(st->thread, NULL);
        st->thread_live = 0;
        st->done = 0;
        if (id_len != st->pending_len || memcmp(id, st->pending_id, id_len))
            return MSGSEC_ERR_AUTH_FAILED;
    }
    if (!en)
        return MSGSEC_ERR_AUTH_FAILED;
    memcpy(key, en->key, en->key_len);
    *key_len = en->key_len;
    return 0;
}

/* ------------------------------------------------------------ provider */

static void tt_fini(void *pdata)
{
    tt *pd = pdata;
    if (!pd)
        return;
    msgsec_tlspsk_ctx_free(pd->ctx);
    pd->up->free(pd->pc, pd, sizeof(*pd));
}

static int tt_init(const msgsec_upcalls *up, msgsec_pctx *pc, void **pdata)
{
    tt *pd = up->alloc(pc, sizeof(*pd));
    if (!pd)
        return MSGSEC_ERR_NOMEM;
    pd->up = up;
    pd->pc = pc;
    msgsec_tlspsk_config cfg;
    memset(&cfg, 0, sizeof(cfg));
    cfg.size = sizeof(cfg);
    cfg.lookup = tt_lookup;

    const char *v, *bad = NULL;
    if ((v = up->config(pc, "identity"))) {
        size_t n = strlen(v);
        if (n == 0 || n >= sizeof(pd->client.id))
            bad = "identity";
        memcpy(pd->client.id, v, n < sizeof(pd->client.id) ? n : 0);
        pd->client.id_len = n;
    }
    if ((v = up->config(pc, "key"))) {
        if (msgsec_tlsprov_hex_key(v, strlen(v), pd->client.key,
                                   sizeof(pd->client.key),
                                   &pd->client.key_len) < 0)
            bad = "key";
        pd->have_client = pd->client.id_len > 0;
    }
    if ((v = up->config(pc, "psk_table")) && parse_table(pd, v) < 0)
        bad = "psk_table";
    if ((v = up->config(pc, "kex"))) {
        if (!strcmp(v, "dhe"))
            cfg.kex = MSGSEC_TLSPSK_KEX_DHE;
        else if (!strcmp(v, "allow-ke"))
            cfg.kex = MSGSEC_TLSPSK_KEX_ALLOW_KE;
        else if (!strcmp(v, "prefer-ke"))
            cfg.kex = MSGSEC_TLSPSK_KEX_PREFER_KE;
        else
            bad = "kex";
    }
    if ((v = up->config(pc, "tls"))) {
        if (!strcmp(v, "1.3")) {
            cfg.min_version = cfg.max_version = MSGSEC_TLSPSK_TLS1_3;
        } else if (!strcmp(v, "1.2")) {
            cfg.min_version = cfg.max_version = MSGSEC_TLSPSK_TLS1_2;
        } else if (!strcmp(v, "1.2-1.3")) {
            cfg.min_version = MSGSEC_TLSPSK_TLS1_2;
            cfg.max_version = MSGSEC_TLSPSK_TLS1_3;
        } else {
            bad = "tls";
        }
    }
    pd->versions = msgsec_tlsprov_versions(&cfg);
    cfg.hint = up->config(pc, "hint");
    if ((v = up->config(pc, "lookup_delay_ms"))) {
        char *end = NULL;
        errno = 0;
        long d = strtol(v, &end, 10);
        if (errno || end == v || *end || d < 0 || d > MAX_DELAY_MS)
            bad = "lookup_delay_ms";
        pd->delay_ms = d;
    }
    if ((v = up->config(pc, "claim_prefix"))) {
        if (strlen(v) >= sizeof(pd->prefix))
            bad = "claim_prefix";
        else
            snprintf(pd->prefix, sizeof(pd->prefix), "%s", v);
        pd->have_prefix = 1;
    }
    if (bad) {
        up->set_detail(pc, "%s at %s: invalid value", bad,
                       up->config_where(pc, bad));
        tt_fini(pd);
        return MSGSEC_ERR_PROVIDER_INIT;
    }
    char detail[256];
    int rc = msgsec_tlspsk_ctx_new(&cfg, &pd->ctx, detail, sizeof(detail));
    if (rc < 0) {
        up->set_detail(pc, "TLS context: %s", detail);
        tt_fini(pd);
        return MSGSEC_ERR_PROVIDER_INIT;
    }
    *pdata = pd;
    return 0;
}

static int match_table(void *arg, const uint8_t *id, size_t len)
{
    return find(arg, id, len) != NULL;
}

static int tt_claim(void *pdata, const uint8_t *tok, size_t len)
{
    const tt *pd = pdata;
    if (pd->have_prefix)
        return msgsec_tlsprov_claim_prefix(pd->up, pd->pc, tok, len,
                                           pd->versions, pd->prefix);
    return msgsec_tlsprov_claim_match(pd->up, pd->pc, tok, len, pd->versions,
                                      match_table, (void *)pd);
}

static int tt_start(void *pdata, void *state, msgsec_psession *ps)
{
    tt *pd = pdata;
    tt_state *st = state;
    const msgsec_upcalls *up = pd->up;
    st->pd = pd;
    msgsec_tlspsk_conn_config cc;
    if (msgsec_tlsprov_begin(&st->tls, up, ps, &cc) == MSGSEC_ROLE_CLIENT) {
        if (!pd->have_client) {
            up->session_detail(ps, "no client identity and key in policy");
            return MSGSEC_ERR_INVALID_ARG;
        }
        const char *id = up->session_identity(ps);
        cc.identity = (const uint8_t *)(id ? id : pd->client.id);
        cc.identity_len = id ? strlen(id) : pd->client.id_len;
        cc.key = pd->client.key;
        cc.key_len = pd->client.key_len;
        cc.server_name = up->session_peer_name(ps);
    }
    return msgsec_tlsprov_connect(&st->tls, pd->ctx, &cc);
}

static void tt_end(void *pdata, void *state)
{
    tt_state *st = state;
    if (st->thread_live) {
        pthread_mutex_lock(&st->mu);
        st->cancel = 1;
        pthread_cond_broadcast(&st->cv);
        pthread_mutex_unlock(&st->mu);
        pthread_join(st->thread, NULL);
        st->thread_live = 0;
    }
    if (st->sync_init) {
        pthread_mutex_destroy(&st->mu);
        pthread_cond_destroy(&st->cv);
        st->sync_init = 0;
    }
    msgsec_tlsprov_end(pdata, state);
}

static const msgsec_provider tt_provider = {
    MSGSEC_PROVIDER_HEADER,
    .name = "tlstest",
    .version = "1.0",
    .summary = "test provider: TLS-PSK through the SDK engine",
    .caps = MSGSEC_CAP_CLIENT | MSGSEC_CAP_SERVER | MSGSEC_CAP_MUTUAL_AUTH |
            MSGSEC_CAP_CONFIDENTIALITY | MSGSEC_CAP_INTEGRITY |
            MSGSEC_CAP_REPLAY_DETECTION | MSGSEC_CAP_KEY_EXPORT |
            MSGSEC_CAP_IMPLICIT,
    .state_size = sizeof(tt_state),
    .config_keys = tt_keys,
    .init = tt_init,
    .fini = tt_fini,
    .claim = tt_claim,
    .start = tt_start,
    .step = msgsec_tlsprov_step,
    .result = msgsec_tlsprov_result,
    .export_key = msgsec_tlsprov_export_key,
    .wrap = msgsec_tlsprov_wrap,
    .unwrap = msgsec_tlsprov_unwrap,
    .limits = msgsec_tlsprov_limits,
    .end = tt_end,
    .close = msgsec_tlsprov_close,
};

MSGSEC_PROVIDER_DEFINE(tlstest, tt_provider)
