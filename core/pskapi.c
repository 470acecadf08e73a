/*
 * pskapi.c - PSK identity look-ups for integrators with a TLS or DTLS stack
 * of their own: the providers of a service are asked, in policy order,
 * which one owns an identity, and that one resolves it to its key and peer
 * (provider ABI 1.1, psk_resolve). A look-up that waits for a key server
 * sits on the core's wake list beside the sessions as a msgsec_pcall
 * (pcall.h), the machinery it shares with authorization checks.
 */
#include <stdio.h>
#include <string.h>

#include <openssl/crypto.h>

#include "pcall.h"

/* Longest rendering of an identity in details and logs. */
#define ID_SHOWN 64

struct msgsec_psk_lookup {
    msgsec_pcall c; /* first: the provider's msgsec_psession points here */
    uint8_t *identity;
    size_t identity_len;
    msgsec_psk_query q;
    msgsec_psk_ready_cb ready;

    size_t next;      /* position in the service's use list to ask next */
    int resolvers;    /* providers asked so far (they have psk_resolve) */

    uint8_t key[MSGSEC_PSK_KEY_MAX];
    size_t key_len;
    msgsec_peer peer;

    char shown[4 * ID_SHOWN + 8]; /* the identity, printable */
    char reasons[MSGSEC_DETAIL_MAX];
};

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

/* ------------------------------------------------------------ the run */

static int fail(msgsec_psk_lookup *l, int rc)
{
    OPENSSL_cleanse(l->key, sizeof(l->key));
    l->key_len = 0;
    memset(&l->peer, 0, sizeof(l->peer));
    msgsec_pcall_end(&l->c);
    l->c.status = rc;
    msgsec_log(l->c.w.core, MSGSEC_LOG_INFO,
               "service %s: PSK identity \"%s\" not resolved: %s: %s",
               l->c.svc->pol->name, l->shown, msgsec_error_name(rc),
               l->c.detail);
    return rc;
}

/* The next provider of the use list that can resolve, with fresh state;
 * 0, or an error when none is left. */
static int next_provider(msgsec_psk_lookup *l)
{
    msgsec_core *core = l->c.w.core;
    const msgsec_pol_service *ps = l->c.svc->pol;
    char why[MSGSEC_DETAIL_MAX];
    while (l->next < ps->nuse) {
        const char *name = ps->use[l->next++];
        int idx = msgsec_core_find_provider(core, name);
        if (idx < 0) {
            add_reason(l, name, "not known to the core");
            continue;
        }
        struct msgsec_pctx *p = &core->provs[idx];
        if (msgsec_core_candidate_ok(core, l->c.svc, (size_t)idx,
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
        MSGSEC_GUARD(msgsec_pcall_begin(&l->c, p));
        l->resolvers++;
        return 0;
    }
    const char *file = core->policy->file;
    if (l->resolvers == 0) {
        msgsec_pcall_set_detail(&l->c,
                                "%s:%d: [service.%s]: no provider can "
                                "resolve PSK identities: %s",
                                file, ps->use_line ? ps->use_line : ps->line,
                                ps->name, l->reasons);
        return MSGSEC_ERR_UNSUPPORTED;
    }
    msgsec_pcall_set_detail(&l->c,
                            "%s:%d: [service.%s]: no provider claimed PSK "
                            "identity \"%s\": %s",
                            file, ps->use_line ? ps->use_line : ps->line,
                            ps->name, l->shown, l->reasons);
    return MSGSEC_ERR_UNCLAIMED;
}

/*
 * Asks the current provider (or the next ones) until one resolves, one is
 * pending, or the identity is refused. Returns and records the outcome.
 */
static int run(msgsec_pcall *pc)
{
    msgsec_psk_lookup *l = (msgsec_psk_lookup *)pc;
    for (;;) {
        int rc;
        if (!pc->pstate) {
            pc->prov = NULL;
            if ((rc = next_provider(l)) < 0)
                return fail(l, rc);
        }
        struct msgsec_pctx *p = pc->prov;
        size_t klen = sizeof(l->key);
        memset(&l->peer, 0, sizeof(l->peer));
        pc->pdetail = 0;
        rc = p->d.psk_resolve(p->pdata, pc->pstate, (msgsec_psession *)pc,
                              &l->q, l->key, &klen, &l->peer);
        switch (rc) {
        case MSGSEC_OK:
            if (klen == 0 || klen > sizeof(l->key)) {
                msgsec_pcall_set_detail(pc,
                                        "provider %s: psk_resolve returned "
                                        "a key of %zu bytes (1 to %u "
                                        "allowed)",
                                        p->name, klen,
                                        (unsigned)sizeof(l->key));
                return fail(l, MSGSEC_ERR_INTERNAL);
            }
            l->key_len = klen;
            if (!l->peer.scheme)
                l->peer.scheme = p->name;
            pc->status = 0;
            pc->detail[0] = '\0';
            msgsec_log(pc->w.core, MSGSEC_LOG_DEBUG,
                       "service %s: PSK identity \"%s\" resolved by "
                       "provider %s",
                       pc->svc->pol->name, l->shown, p->name);
            return 0;
        case MSGSEC_PENDING:
            pc->status = MSGSEC_PENDING;
            return MSGSEC_PENDING;
        case MSGSEC_PSK_NOT_MINE:
            OPENSSL_cleanse(l->key, sizeof(l->key));
            add_reason(l, p->name, "not its identity");
            msgsec_pcall_end(pc);
            continue;
        default:
            OPENSSL_cleanse(l->key, sizeof(l->key));
            if (rc > 0) {
                msgsec_pcall_set_detail(pc,
                                        "provider %s: psk_resolve returned "
                                        "%d",
                                        p->name, rc);
                return fail(l, MSGSEC_ERR_INTERNAL);
            }
            if (!pc->pdetail)
                msgsec_pcall_set_detail(pc,
                                        "provider %s: PSK identity \"%s\": "
                                        "%s",
                                        p->name, l->shown,
                                        msgsec_strerror(rc));
            return fail(l, rc);
        }
    }
}

static void notify(msgsec_pcall *pc)
{
    msgsec_psk_lookup *l = (msgsec_psk_lookup *)pc;
    l->ready(pc->user_data, l);
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
        msgsec_thread_detail_set("PSK look-up: %s",
                                 !core || !service ? "no core or no service"
                                 : !identity       ? "no identity"
                                                   : "identity of 0 or more "
                                                     "than 65535 bytes");
        return MSGSEC_ERR_INVALID_ARG;
    }
    /* Read only the fields inside the size the caller compiled. */
    msgsec_psk_lookup_config c;
    memset(&c, 0, sizeof(c));
    if (cfg) {
        if (cfg->size < offsetof(msgsec_psk_lookup_config, version) +
                            sizeof(cfg->version)) {
            msgsec_thread_detail_set("PSK look-up: config size %zu is too "
                                     "small",
                                     cfg->size);
            return MSGSEC_ERR_INVALID_ARG;
        }
        memcpy(&c, cfg, cfg->size < sizeof(c) ? cfg->size : sizeof(c));
    }
    if (c.version == 0)
        c.version = MSGSEC_PSK_TLS1_3;
    if (!valid_version(c.version) || c.cipher > 0xffffu) {
        msgsec_thread_detail_set("PSK look-up: protocol version 0x%04x or "
                                 "cipher 0x%x not known",
                                 c.version, c.cipher);
        return MSGSEC_ERR_INVALID_ARG;
    }
    msgsec_pcall *pc;
    int rc = msgsec_pcall_new(core, service, sizeof(msgsec_psk_lookup),
                              MSGSEC_WAITER_PSK_LOOKUP, run, "PSK look-up",
                              &pc);
    if (rc < 0)
        return rc;
    msgsec_psk_lookup *l = (msgsec_psk_lookup *)pc;
    const msgsec_csvc *svc = pc->svc;
    l->ready = c.ready;
    l->c.notify = c.ready ? notify : NULL;
    l->c.user_data = c.user_data;
    l->identity = msgsec_mem_alloc(&core->mem, len);
    if (!l->identity) {
        msgsec_mem_free(&core->mem, l, sizeof(*l));
        msgsec_thread_detail_set("PSK look-up: no memory for the identity");
        return MSGSEC_ERR_NOMEM;
    }
    memcpy(l->identity, identity, len);
    l->identity_len = len;
    msgsec_show_bytes(l->shown, sizeof(l->shown), identity, len, ID_SHOWN);
    l->q.size = sizeof(l->q);
    l->q.version = (uint16_t)c.version;
    l->q.cipher = (uint16_t)c.cipher;
    l->q.identity = l->identity;
    l->q.identity_len = len;
    l->q.service = svc->pol->name;

    rc = run(&l->c);
    if (rc < 0) {
        msgsec_thread_detail_set("%s", l->c.detail);
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
    msgsec_core *core = l->c.w.core;
    msgsec_pcall_end(&l->c);
    msgsec_mem_free(&core->mem, l->identity, l->identity_len);
    /* Wipes the key with the rest. */
    msgsec_mem_free(&core->mem, l, sizeof(*l));
}

MSGSEC_EXPORT int msgsec_psk_lookup_status(const msgsec_psk_lookup *l)
{
    return l ? l->c.status : MSGSEC_ERR_INVALID_ARG;
}

MSGSEC_EXPORT int msgsec_psk_lookup_resume(msgsec_psk_lookup *l)
{
    return l ? msgsec_pcall_resume(&l->c) : MSGSEC_ERR_INVALID_ARG;
}

MSGSEC_EXPORT int msgsec_psk_lookup_wait(msgsec_psk_lookup *l, int timeout_ms)
{
    return l ? msgsec_pcall_wait(&l->c, timeout_ms) : MSGSEC_ERR_INVALID_ARG;
}

MSGSEC_EXPORT int msgsec_psk_lookup_key(const msgsec_psk_lookup *l, void *buf,
                                        size_t cap, size_t *len)
{
    if (!l || !len || (!buf && cap))
        return MSGSEC_ERR_INVALID_ARG;
    *len = 0;
    if (l->c.status != 0)
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
    if (l->c.status != 0)
        return MSGSEC_ERR_STATE;
    *peer = l->peer;
    return 0;
}

MSGSEC_EXPORT const char *msgsec_psk_lookup_provider(const msgsec_psk_lookup *l)
{
    return l && l->c.prov ? l->c.prov->name : NULL;
}

MSGSEC_EXPORT const char *msgsec_psk_lookup_detail(const msgsec_psk_lookup *l)
{
    return l ? l->c.detail : "";
}

MSGSEC_EXPORT void *msgsec_psk_lookup_user_data(const msgsec_psk_lookup *l)
{
    return l ? l->c.user_data : NULL;
}
