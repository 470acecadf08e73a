/*
 * pskapi.c - PSK identity look-ups for integrators with a TLS or DTLS stack
 * of their own: the providers of a service are asked, in policy order,
 * which one owns an identity, and that one resolves it to its key and peer
 * (provider ABI 1.1, psk_resolve). A look-up that waits for a key server
 * sits on the core's wake list beside the sessions: its handle starts with
 * the same msgsec_waiter, so the session upcalls and msgsec_core_dispatch()
 * serve both.
 */
#include <stdio.h>
#include <string.h>
#include <time.h>

#include <openssl/crypto.h>

#include "internal.h"

/* Longest rendering of an identity in details and logs. */
#define ID_SHOWN 64

struct msgsec_psk_lookup {
    msgsec_waiter w; /* first: the provider's msgsec_psession points here */
    msgsec_core *core;
    const msgsec_csvc *svc;
    uint8_t *identity;
    size_t identity_len;
    msgsec_psk_query q;
    msgsec_psk_ready_cb ready;
    void *user_data;

    int status;       /* 0 resolved, MSGSEC_PENDING, or the error */
    size_t next;      /* position in the service's use list to ask next */
    int resolvers;    /* providers asked so far (they have psk_resolve) */
    struct msgsec_pctx *prov; /* the provider asked now, then the owner */
    void *pstate;     /* its state, until end() */
    size_t pstate_size;
    int pdetail;      /* the provider set a detail during the last call */

    uint8_t key[MSGSEC_PSK_KEY_MAX];
    size_t key_len;
    msgsec_peer peer;

    char shown[4 * ID_SHOWN + 8]; /* the identity, printable */
    char reasons[MSGSEC_DETAIL_MAX];
    char detail[MSGSEC_DETAIL_MAX];
};

static msgsec_psk_lookup *from_ps(msgsec_psession *ps)
{
    return (msgsec_psk_lookup *)ps;
}

/* The identity for humans: printable ASCII as is, the rest as \xNN. Not a
 * secret (AKMA: "3GPP-AKMA" and a pseudonym). */
static void show_identity(msgsec_psk_lookup *l)
{
    size_t n = 0, cap = sizeof(l->shown);
    for (size_t i = 0; i < l->identity_len && i < ID_SHOWN; i++) {
        uint8_t c = l->identity[i];
        if (c >= 0x20 && c < 0x7f && c != '"' && c != '\\')
            l->shown[n++] = (char)c;
        else
            n += (size_t)snprintf(l->shown + n, cap - n, "\\x%02x", c);
    }
    if (l->identity_len > ID_SHOWN)
        n += (size_t)snprintf(l->shown + n, cap - n, "...");
    l->shown[n] = '\0';
}

static void set_detail(msgsec_psk_lookup *l, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));
static void set_detail(msgsec_psk_lookup *l, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    msgsec_detail_vset(l->detail, sizeof(l->detail), fmt, ap);
    va_end(ap);
}

static void thread_detail(const char *fmt, ...)
    __attribute__((format(printf, 1, 2)));
static void thread_detail(const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    msgsec_thread_detail_vset(fmt, ap);
    va_end(ap);
}

static void add_reason(msgsec_psk_lookup *l, const char *name,
                       const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
static void add_reason(msgsec_psk_lookup *l, const char *name,
                       const char *fmt, ...)
{
    char why[MSGSEC_DETAIL_MAX];
    va_list ap;
    va_start(ap, fmt);
    msgsec_detail_vset(why, sizeof(why), fmt, ap);
    va_end(ap);
    msgsec_detail_append(l->reasons, sizeof(l->reasons), "%s%s: %s",
                         l->reasons[0] ? "; " : "", name, why);
}

/* ------------------------------------------------------------- upcalls */

void msgsec_psk_up_detail(msgsec_psession *ps, const char *msg)
{
    msgsec_psk_lookup *l = from_ps(ps);
    set_detail(l, "provider %s: %s", l->prov ? l->prov->name : "(none)",
               msg);
    l->pdetail = 1;
}

const char *msgsec_psk_up_service(msgsec_psession *ps)
{
    return from_ps(ps)->svc->pol->name;
}

/* ------------------------------------------------------------ the run */

/* Ends the provider's part: end() cancels its look-ups, then no wake for
 * this handle can come; the state is wiped and freed. */
static void end_provider(msgsec_psk_lookup *l)
{
    if (!l->pstate)
        return;
    if (l->prov->d.end)
        l->prov->d.end(l->prov->pdata, l->pstate);
    msgsec_waiter_forget(l->core, &l->w);
    msgsec_mem_free(&l->core->mem, l->pstate, l->pstate_size);
    l->pstate = NULL;
    l->pstate_size = 0;
}

static int fail(msgsec_psk_lookup *l, int rc)
{
    OPENSSL_cleanse(l->key, sizeof(l->key));
    l->key_len = 0;
    memset(&l->peer, 0, sizeof(l->peer));
    end_provider(l);
    l->status = rc;
    msgsec_log(l->core, MSGSEC_LOG_INFO,
               "service %s: PSK identity \"%s\" not resolved: %s: %s",
               l->svc->pol->name, l->shown, msgsec_error_name(rc), l->detail);
    return rc;
}

/* The next provider of the use list that can resolve, with fresh state;
 * 0, or an error when none is left. */
static int next_provider(msgsec_psk_lookup *l)
{
    msgsec_core *core = l->core;
    const msgsec_pol_service *ps = l->svc->pol;
    char why[MSGSEC_DETAIL_MAX];
    while (l->next < ps->nuse) {
        const char *name = ps->use[l->next++];
        int idx = msgsec_core_find_provider(core, name);
        if (idx < 0) {
            add_reason(l, name, "not known to the core");
            continue;
        }
        struct msgsec_pctx *p = &core->provs[idx];
        if (msgsec_core_candidate_ok(core, l->svc, (size_t)idx,
                                     MSGSEC_ROLE_PSK_RESOLVER, why,
                                     sizeof(why)) != 0) {
            add_reason(l, name, "%s", why);
            continue;
        }
        if (!p->d.psk_resolve) {
            add_reason(l, name,
                       "cannot resolve PSK identities (provider ABI %u.%u)",
                       (unsigned)p->d.abi_major, (unsigned)p->d.abi_minor);
            continue;
        }
        l->pstate_size = p->d.state_size ? p->d.state_size : 1;
        l->pstate = msgsec_mem_alloc(&core->mem, l->pstate_size);
        if (!l->pstate) {
            l->pstate_size = 0;
            set_detail(l, "no memory for provider %s state", name);
            return MSGSEC_ERR_NOMEM;
        }
        l->prov = p;
        l->resolvers++;
        return 0;
    }
    const char *file = core->policy->file;
    if (l->resolvers == 0) {
        set_detail(l,
                   "%s:%d: [service.%s]: no provider can resolve PSK "
                   "identities: %s",
                   file, ps->use_line ? ps->use_line : ps->line, ps->name,
                   l->reasons);
        return MSGSEC_ERR_UNSUPPORTED;
    }
    set_detail(l,
               "%s:%d: [service.%s]: no provider claimed PSK identity "
               "\"%s\": %s",
               file, ps->use_line ? ps->use_line : ps->line, ps->name,
               l->shown, l->reasons);
    return MSGSEC_ERR_UNCLAIMED;
}

/*
 * Asks the current provider (or the next ones) until one resolves, one is
 * pending, or the identity is refused. Returns and records the outcome.
 */
static int run(msgsec_psk_lookup *l)
{
    for (;;) {
        int rc;
        if (!l->pstate) {
            l->prov = NULL;
            if ((rc = next_provider(l)) < 0)
                return fail(l, rc);
        }
        struct msgsec_pctx *p = l->prov;
        size_t klen = sizeof(l->key);
        memset(&l->peer, 0, sizeof(l->peer));
        l->pdetail = 0;
        rc = p->d.psk_resolve(p->pdata, l->pstate, (msgsec_psession *)l,
                              &l->q, l->key, &klen, &l->peer);
        switch (rc) {
        case MSGSEC_OK:
            if (klen == 0 || klen > sizeof(l->key)) {
                set_detail(l, "provider %s: psk_resolve returned a key of %zu "
                              "bytes (1 to %u allowed)",
                           p->name, klen, (unsigned)sizeof(l->key));
                return fail(l, MSGSEC_ERR_INTERNAL);
            }
            l->key_len = klen;
            if (!l->peer.scheme)
                l->peer.scheme = p->name;
            l->status = 0;
            l->detail[0] = '\0';
            msgsec_log(l->core, MSGSEC_LOG_DEBUG,
                       "service %s: PSK identity \"%s\" resolved by "
                       "provider %s",
                       l->svc->pol->name, l->shown, p->name);
            return 0;
        case MSGSEC_PENDING:
            l->status = MSGSEC_PENDING;
            return MSGSEC_PENDING;
        case MSGSEC_PSK_NOT_MINE:
            OPENSSL_cleanse(l->key, sizeof(l->key));
            add_reason(l, p->name, "not its identity");
            end_provider(l);
            continue;
        default:
            OPENSSL_cleanse(l->key, sizeof(l->key));
            if (rc > 0) {
                set_detail(l, "provider %s: psk_resolve returned %d",
                           p->name, rc);
                return fail(l, MSGSEC_ERR_INTERNAL);
            }
            if (!l->pdetail)
                set_detail(l, "provider %s: PSK identity \"%s\": %s",
                           p->name, l->shown, msgsec_strerror(rc));
            return fail(l, rc);
        }
    }
}

void msgsec_psk_dispatched(msgsec_waiter *w)
{
    msgsec_psk_lookup *l = (msgsec_psk_lookup *)w;
    if (l->ready)
        l->ready(l->user_data, l);
    else if (l->status == MSGSEC_PENDING)
        msgsec_psk_lookup_resume(l);
}

/* ----------------------------------------------------------------- API */

static int valid_version(unsigned v)
{
    return v == MSGSEC_PSK_TLS1_2 || v == MSGSEC_PSK_TLS1_3 ||
           v == MSGSEC_PSK_DTLS1_2 || v == MSGSEC_PSK_DTLS1_3;
}

MSGSEC_EXPORT int msgsec_psk_lookup_new(msgsec_core *core, const char *service,
                                        const void *identity, size_t len,
                                        const msgsec_psk_lookup_config *cfg,
                                        msgsec_psk_lookup **out)
{
    if (!out)
        return MSGSEC_ERR_INVALID_ARG;
    *out = NULL;
    if (!core || !service || !identity || len == 0 ||
        len > MSGSEC_PSK_IDENTITY_MAX) {
        thread_detail("PSK look-up: %s",
                      !core || !service ? "no core or no service"
                      : !identity       ? "no identity"
                                        : "identity of 0 or more than 65535 "
                                          "bytes");
        return MSGSEC_ERR_INVALID_ARG;
    }
    /* Read only the fields inside the size the caller compiled. */
    msgsec_psk_lookup_config c;
    memset(&c, 0, sizeof(c));
    if (cfg) {
        if (cfg->size < offsetof(msgsec_psk_lookup_config, version) +
                            sizeof(cfg->version)) {
            thread_detail("PSK look-up: config size %zu is too small",
                          cfg->size);
            return MSGSEC_ERR_INVALID_ARG;
        }
        memcpy(&c, cfg, cfg->size < sizeof(c) ? cfg->size : sizeof(c));
    }
    if (c.version == 0)
        c.version = MSGSEC_PSK_TLS1_3;
    if (!valid_version(c.version) || c.cipher > 0xffffu) {
        thread_detail("PSK look-up: protocol version 0x%04x or cipher 0x%x "
                      "not known",
                      c.version, c.cipher);
        return MSGSEC_ERR_INVALID_ARG;
    }
    int st = msgsec_core_status(core);
    if (st != 0) {
        thread_detail("%s", core->detail);
        return st;
    }
    const msgsec_csvc *svc = msgsec_core_find_service(core, service);
    if (!svc) {
        thread_detail("%s: no [service.%s] in the policy", core->policy->file,
                      service);
        return MSGSEC_ERR_POLICY_UNKNOWN_SERVICE;
    }

    msgsec_psk_lookup *l = msgsec_mem_alloc(&core->mem, sizeof(*l));
    if (!l) {
        thread_detail("PSK look-up: no memory");
        return MSGSEC_ERR_NOMEM;
    }
    l->w.kind = MSGSEC_WAITER_PSK_LOOKUP;
    l->w.core = core;
    l->core = core;
    l->svc = svc;
    l->ready = c.ready;
    l->user_data = c.user_data;
    l->identity = msgsec_mem_alloc(&core->mem, len);
    if (!l->identity) {
        msgsec_mem_free(&core->mem, l, sizeof(*l));
        thread_detail("PSK look-up: no memory for the identity");
        return MSGSEC_ERR_NOMEM;
    }
    memcpy(l->identity, identity, len);
    l->identity_len = len;
    show_identity(l);
    l->q.size = sizeof(l->q);
    l->q.version = (uint16_t)c.version;
    l->q.cipher = (uint16_t)c.cipher;
    l->q.identity = l->identity;
    l->q.identity_len = len;
    l->q.service = svc->pol->name;

    int rc = run(l);
    if (rc < 0) {
        thread_detail("%s", l->detail);
        msgsec_psk_lookup_free(l);
        return rc;
    }
    *out = l;
    return rc;
}

MSGSEC_EXPORT void msgsec_psk_lookup_free(msgsec_psk_lookup *l)
{
    if (!l)
        return;
    msgsec_core *core = l->core;
    end_provider(l);
    msgsec_waiter_forget(core, &l->w);
    msgsec_mem_free(&core->mem, l->identity, l->identity_len);
    /* Wipes the key with the rest. */
    msgsec_mem_free(&core->mem, l, sizeof(*l));
}

MSGSEC_EXPORT int msgsec_psk_lookup_status(const msgsec_psk_lookup *l)
{
    return l ? l->status : MSGSEC_ERR_INVALID_ARG;
}

MSGSEC_EXPORT int msgsec_psk_lookup_resume(msgsec_psk_lookup *l)
{
    if (!l)
        return MSGSEC_ERR_INVALID_ARG;
    if (l->status != MSGSEC_PENDING)
        return l->status;
    if (!msgsec_waiter_take(l->core, &l->w))
        return MSGSEC_PENDING;
    return run(l);
}

static int64_t now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

MSGSEC_EXPORT int msgsec_psk_lookup_wait(msgsec_psk_lookup *l, int timeout_ms)
{
    if (!l)
        return MSGSEC_ERR_INVALID_ARG;
    int64_t end = now_ms() + (timeout_ms > 0 ? timeout_ms : 0);
    /* A resolution may take more than one look-up. */
    while (l->status == MSGSEC_PENDING) {
        int left = -1;
        if (timeout_ms >= 0) {
            int64_t d = end - now_ms();
            left = d > 0 ? (int)d : 0;
        }
        if (msgsec_waiter_wait(l->core, &l->w, left) < 0) {
            set_detail(l, "provider %s: look-up still pending after %d ms",
                       l->prov ? l->prov->name : "(none)", timeout_ms);
            return MSGSEC_ERR_TIMEOUT;
        }
        msgsec_psk_lookup_resume(l);
    }
    return l->status;
}

MSGSEC_EXPORT int msgsec_psk_lookup_key(const msgsec_psk_lookup *l, void *buf,
                                        size_t cap, size_t *len)
{
    if (!l || !len || (!buf && cap))
        return MSGSEC_ERR_INVALID_ARG;
    *len = 0;
    if (l->status != 0)
        return MSGSEC_ERR_STATE;
    if (cap < l->key_len) {
        *len = l->key_len;
        return MSGSEC_ERR_BUFFER_TOO_SMALL;
    }
    memcpy(buf, l->key, l->key_len);
    *len = l->key_len;
    return 0;
}

MSGSEC_EXPORT int msgsec_psk_lookup_peer(const msgsec_psk_lookup *l,
                                         msgsec_peer *peer)
{
    if (!l || !peer)
        return MSGSEC_ERR_INVALID_ARG;
    if (l->status != 0)
        return MSGSEC_ERR_STATE;
    *peer = l->peer;
    return 0;
}

MSGSEC_EXPORT const char *msgsec_psk_lookup_provider(const msgsec_psk_lookup *l)
{
    return l && l->prov ? l->prov->name : NULL;
}

MSGSEC_EXPORT const char *msgsec_psk_lookup_detail(const msgsec_psk_lookup *l)
{
    return l ? l->detail : "";
}

MSGSEC_EXPORT void *msgsec_psk_lookup_user_data(const msgsec_psk_lookup *l)
{
    return l ? l->user_data : NULL;
}
