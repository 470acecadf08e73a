/*
 * authz.c - SEAL authorization (TS 33.501 Annex Y): is an authenticated
 * peer associated with the UE service ID it claims? The provider a
 * service's `authorize` names answers (provider ABI 1.2, authorize); a
 * check that waits for a configuration-management server sits on the
 * core's wake list as a msgsec_pcall, like a PSK look-up.
 */
#include <stdio.h>
#include <string.h>

#include "pcall.h"

/* Longest UE service ID (bytes), and the longest rendering of a peer
 * string in details and logs. */
#define UE_ID_MAX 255
#define SHOWN 64

enum { S_UE, S_SCHEME, S_IDENTITY, S_SUPI, S_GPSI, S_COUNT };

struct msgsec_authz {
    msgsec_pcall c; /* first: the provider's msgsec_psession points here */
    msgsec_authz_ready_cb ready;
    msgsec_authz_query q;
    char *s[S_COUNT]; /* copies the query points to; NULL when not given */
    char ue_shown[4 * SHOWN + 8];
    char who[5 * SHOWN + 64]; /* the peer, for details and logs */
};

/* ------------------------------------------------------------ the check */

static void end_with(msgsec_authz *a, int rc)
{
    msgsec_pcall_end(&a->c);
    a->c.status = rc;
}

/* The outcome rc < 0: the detail names the policy line, the peer, the UE
 * service ID and the provider's cause (already in the detail). */
static int fail(msgsec_authz *a, int rc)
{
    msgsec_pcall *pc = &a->c;
    const msgsec_pol_service *ps = pc->svc->pol;
    char cause[MSGSEC_DETAIL_MAX];
    msgsec_detail_set(cause, sizeof(cause), "%s", pc->detail);
    msgsec_pcall_set_detail(pc,
                            "%s:%d: [service.%s] authorize: %s %s UE service "
                            "ID \"%s\": %s",
                            pc->w.core->policy->file, ps->authorize_line,
                            ps->name, a->who,
                            rc == MSGSEC_ERR_NOT_AUTHORIZED
                                ? "is not authorized for"
                                : "could not be checked for",
                            a->ue_shown, cause);
    end_with(a, rc);
    msgsec_log(pc->w.core, MSGSEC_LOG_INFO, "%s: %s", msgsec_error_name(rc),
               pc->detail);
    return rc;
}

static int run(msgsec_pcall *pc)
{
    msgsec_authz *a = (msgsec_authz *)pc;
    struct msgsec_pctx *p = pc->prov;
    pc->pdetail = 0;
    int rc = p->d.authorize(p->pdata, pc->pstate, (msgsec_psession *)pc,
                            &a->q);
    if (rc == MSGSEC_PENDING) {
        pc->status = MSGSEC_PENDING;
        return MSGSEC_PENDING;
    }
    if (rc == MSGSEC_OK) {
        pc->detail[0] = '\0';
        end_with(a, 0);
        msgsec_log(pc->w.core, MSGSEC_LOG_DEBUG,
                   "service %s: %s authorized for UE service ID \"%s\" by "
                   "provider %s",
                   pc->svc->pol->name, a->who, a->ue_shown, p->name);
        return 0;
    }
    if (rc > 0) {
        msgsec_pcall_set_detail(pc, "provider %s: authorize returned %d",
                                p->name, rc);
        rc = MSGSEC_ERR_INTERNAL;
    } else if (!pc->pdetail) {
        msgsec_pcall_set_detail(pc, "provider %s: %s", p->name,
                                msgsec_strerror(rc));
    }
    return fail(a, rc);
}

static void notify(msgsec_pcall *pc)
{
    msgsec_authz *a = (msgsec_authz *)pc;
    a->ready(pc->user_data, a);
}

/* ------------------------------------------------------------ arguments */

/* NULL when ue is an acceptable UE service ID, else why not. */
static const char *bad_ue_id(const char *ue)
{
    size_t n = strnlen(ue, UE_ID_MAX + 1);
    if (n == 0)
        return "empty UE service ID";
    if (n > UE_ID_MAX)
        return "UE service ID longer than 255 bytes";
    for (size_t i = 0; i < n; i++) {
        unsigned char c = (unsigned char)ue[i];
        if (c < 0x20 || c == 0x7f)
            return "control character in the UE service ID";
    }
    return NULL;
}

/* Copies the strings and fills the query and the renderings. */
static int fill(msgsec_authz *a, const char *service, const msgsec_peer *peer,
                const char *ue)
{
    const msgsec_mem *mem = &a->c.w.core->mem;
    const char *from[S_COUNT] = {ue, peer->scheme, peer->identity, peer->supi,
                                 peer->gpsi};
    for (int i = 0; i < S_COUNT; i++)
        if (from[i] && !(a->s[i] = msgsec_mem_strdup(mem, from[i])))
            return MSGSEC_ERR_NOMEM;
    a->q.size = sizeof(a->q);
    a->q.service = service;
    a->q.ue_service_id = a->s[S_UE];
    a->q.scheme = a->s[S_SCHEME];
    a->q.identity = a->s[S_IDENTITY];
    a->q.supi = a->s[S_SUPI];
    a->q.gpsi = a->s[S_GPSI];

    char t[4 * SHOWN + 8];
    msgsec_show_bytes(a->ue_shown, sizeof(a->ue_shown), ue, strlen(ue),
                      SHOWN);
    msgsec_show_bytes(t, sizeof(t), peer->scheme, strlen(peer->scheme),
                      SHOWN);
    msgsec_detail_set(a->who, sizeof(a->who), "%s peer", t);
    msgsec_show_bytes(t, sizeof(t), peer->identity, strlen(peer->identity),
                      SHOWN);
    msgsec_detail_append(a->who, sizeof(a->who), " \"%s\"", t);
    for (int i = S_SUPI; i <= S_GPSI; i++) {
        if (!from[i])
            continue;
        msgsec_show_bytes(t, sizeof(t), from[i], strlen(from[i]), SHOWN);
        msgsec_detail_append(a->who, sizeof(a->who), " (%s %s)",
                             i == S_SUPI ? "SUPI" : "GPSI", t);
    }
    return 0;
}

/* ----------------------------------------------------------------- API */

MSGSEC_EXPORT int msgsec_authz_new(msgsec_core *core, const char *service,
                                   const msgsec_peer *peer,
                                   const char *ue_service_id,
                                   const msgsec_authz_config *cfg,
                                   msgsec_authz **out)
{
    if (!out)
        return MSGSEC_ERR_INVALID_ARG;
    *out = NULL;
    const char *bad = !core || !service  ? "no core or no service"
                      : !peer            ? "no peer"
                      : !peer->scheme || !peer->identity
                          ? "the peer has no scheme or no identity (not an "
                            "authenticated peer)"
                      : !ue_service_id   ? "no UE service ID"
                                         : bad_ue_id(ue_service_id);
    if (!bad && cfg && cfg->size < sizeof(cfg->size))
        bad = "config size too small";
    if (bad) {
        msgsec_thread_detail_set("authorization: %s", bad);
        return MSGSEC_ERR_INVALID_ARG;
    }
    /* Only the fields inside the size the caller compiled. */
    msgsec_authz_config c;
    memset(&c, 0, sizeof(c));
    if (cfg && cfg->size >= offsetof(msgsec_authz_config, ready) +
                                sizeof(cfg->ready))
        c.ready = cfg->ready;
    if (cfg && cfg->size >= offsetof(msgsec_authz_config, user_data) +
                                sizeof(cfg->user_data))
        c.user_data = cfg->user_data;

    msgsec_pcall *pc;
    int rc = msgsec_pcall_new(core, service, sizeof(msgsec_authz),
                              MSGSEC_WAITER_AUTHZ, run, "authorization", &pc);
    if (rc < 0)
        return rc;
    msgsec_authz *a = (msgsec_authz *)pc;
    const msgsec_csvc *svc = pc->svc;
    a->ready = c.ready;
    a->c.notify = c.ready ? notify : NULL;
    a->c.user_data = c.user_data;
    rc = fill(a, svc->pol->name, peer, ue_service_id);
    if (rc == 0 && svc->authz)
        rc = msgsec_pcall_begin(&a->c, svc->authz);
    if (rc < 0) {
        msgsec_thread_detail_set("authorization: no memory");
        msgsec_authz_free(a);
        return rc;
    }
    if (!svc->authz) {
        /* The policy requires none: authorized as it stands. */
        msgsec_log(core, MSGSEC_LOG_DEBUG,
                   "service %s: no authorize in the policy: %s may use UE "
                   "service ID \"%s\"",
                   svc->pol->name, a->who, a->ue_shown);
        *out = a;
        return 0;
    }
    rc = run(&a->c);
    if (rc < 0) {
        msgsec_thread_detail_set("%s", a->c.detail);
        msgsec_authz_free(a);
        return rc;
    }
    *out = a;
    return rc;
}

MSGSEC_EXPORT int msgsec_session_authorize(msgsec_session *s,
                                           const char *ue_service_id,
                                           const msgsec_authz_config *cfg,
                                           msgsec_authz **out)
{
    if (!out)
        return MSGSEC_ERR_INVALID_ARG;
    *out = NULL;
    if (!s) {
        msgsec_thread_detail_set("authorization: no session");
        return MSGSEC_ERR_INVALID_ARG;
    }
    msgsec_peer peer;
    if (msgsec_session_state(s) != MSGSEC_STATE_ESTABLISHED ||
        msgsec_session_peer(s, &peer) != 0) {
        msgsec_thread_detail_set("authorization: the session of service %s "
                                 "is not established",
                                 msgsec_session_service(s));
        return MSGSEC_ERR_STATE;
    }
    return msgsec_authz_new(msgsec_session_core(s), msgsec_session_service(s),
                            &peer, ue_service_id, cfg, out);
}

MSGSEC_EXPORT void msgsec_authz_free(msgsec_authz *a)
{
    if (!a)
        return;
    const msgsec_mem *mem = &a->c.w.core->mem;
    msgsec_pcall_end(&a->c);
    for (int i = 0; i < S_COUNT; i++)
        msgsec_mem_strfree(mem, a->s[i]);
    msgsec_mem_free(mem, a, sizeof(*a));
}

MSGSEC_EXPORT int msgsec_authz_status(const msgsec_authz *a)
{
    return a ? a->c.status : MSGSEC_ERR_INVALID_ARG;
}

MSGSEC_EXPORT int msgsec_authz_resume(msgsec_authz *a)
{
    return a ? msgsec_pcall_resume(&a->c) : MSGSEC_ERR_INVALID_ARG;
}

MSGSEC_EXPORT int msgsec_authz_wait(msgsec_authz *a, int timeout_ms)
{
    return a ? msgsec_pcall_wait(&a->c, timeout_ms) : MSGSEC_ERR_INVALID_ARG;
}

MSGSEC_EXPORT const char *msgsec_authz_source(const msgsec_authz *a)
{
    return a && a->c.prov ? a->c.prov->name : NULL;
}

MSGSEC_EXPORT const char *msgsec_authz_detail(const msgsec_authz *a)
{
    return a ? a->c.detail : "";
}

MSGSEC_EXPORT void *msgsec_authz_user_data(const msgsec_authz *a)
{
    return a ? a->c.user_data : NULL;
}

MSGSEC_EXPORT const char *msgsec_core_service_authorizer(
    const msgsec_core *core, const char *service)
{
    const msgsec_csvc *svc = msgsec_core_find_service(core, service);
    return svc ? svc->pol->authorize : NULL;
}
