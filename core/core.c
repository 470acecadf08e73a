/*
 * core.c - the msgsec_core object: policy in, providers loaded, services
 * compiled into immutable candidate lists, provider-level upcalls.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <unistd.h>

#include <openssl/rand.h>

#include "internal.h"

/* ------------------------------------------------------------- logging */

void msgsec_log(const msgsec_core *core, int level, const char *fmt, ...)
{
    if (!core || !core->hooks.log || level > core->log_level)
        return;
    char line[MSGSEC_DETAIL_MAX];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(line, sizeof(line), fmt, ap);
    va_end(ap);
    core->hooks.log(core->hooks.user_data, level, line);
}

/* ------------------------------------------------ provider-level upcalls */

static void *up_alloc(msgsec_pctx *pc, size_t n)
{
    return msgsec_mem_alloc(&pc->core->mem, n);
}

static void up_free(msgsec_pctx *pc, void *p, size_t n)
{
    msgsec_mem_free(&pc->core->mem, p, n);
}

__attribute__((format(printf, 3, 4))) static void
up_log(msgsec_pctx *pc, int level, const char *fmt, ...)
{
    const msgsec_core *core = pc->core;
    if (!core->hooks.log || level > core->log_level)
        return;
    char msg[MSGSEC_DETAIL_MAX];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof(msg), fmt, ap);
    va_end(ap);
    msgsec_log(core, level, "provider %s: %s", pc->name, msg);
}

__attribute__((format(printf, 2, 3))) static void
up_set_detail(msgsec_pctx *pc, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    msgsec_detail_vset(pc->detail, sizeof(pc->detail), fmt, ap);
    va_end(ap);
}

static const msgsec_kv *find_key(const msgsec_pctx *pc, const char *key)
{
    if (!pc->pol || !key)
        return NULL;
    for (size_t i = 0; i < pc->pol->nkeys; i++)
        if (strcmp(pc->pol->keys[i].key, key) == 0)
            return &pc->pol->keys[i];
    return NULL;
}

static const char *up_config(msgsec_pctx *pc, const char *key)
{
    const msgsec_kv *kv = find_key(pc, key);
    return kv ? kv->value : NULL;
}

static const char *up_config_where(msgsec_pctx *pc, const char *key)
{
    const msgsec_kv *kv = find_key(pc, key);
    const char *file = pc->core->policy ? pc->core->policy->file : "<policy>";
    if (kv)
        snprintf(pc->where, sizeof(pc->where), "%s:%d", file, kv->line);
    else if (pc->pol)
        snprintf(pc->where, sizeof(pc->where), "%s:%d", file, pc->pol->line);
    else
        snprintf(pc->where, sizeof(pc->where), "%s", file);
    return pc->where;
}

static int up_random(msgsec_pctx *pc, void *buf, size_t n)
{
    (void)pc;
    if (n > (size_t)INT32_MAX)
        return MSGSEC_ERR_INVALID_ARG;
    return RAND_bytes(buf, (int)n) == 1 ? 0 : MSGSEC_ERR_INTERNAL;
}

static void fill_upcalls(msgsec_upcalls *up)
{
    memset(up, 0, sizeof(*up));
    up->size = sizeof(*up);
    up->abi_minor = MSGSEC_PROVIDER_ABI_MINOR;
    up->alloc = up_alloc;
    up->free = up_free;
    up->log = up_log;
    up->set_detail = up_set_detail;
    up->config = up_config;
    up->config_where = up_config_where;
    up->random = up_random;
    msgsec_session_fill_upcalls(up);
}

/* ------------------------------------------------------------- lookups */

int msgsec_core_find_provider(const msgsec_core *core, const char *name)
{
    for (size_t i = 0; i < core->nprovs; i++)
        if (strcmp(core->provs[i].name, name) == 0)
            return (int)i;
    return -1;
}

const msgsec_csvc *msgsec_core_find_service(const msgsec_core *core,
                                            const char *name)
{
    if (!core || !name)
        return NULL;
    for (size_t i = 0; i < core->nsvcs; i++)
        if (strcmp(core->svcs[i].pol->name, name) == 0)
            return &core->svcs[i];
    return NULL;
}

/* Capability names of mask, comma separated, into buf. */
static void caps_text(uint32_t mask, char *buf, size_t len)
{
    buf[0] = '\0';
    for (uint32_t bit = 1; bit && bit <= MSGSEC_CAP_KNOWN_MASK; bit <<= 1) {
        if (!(mask & bit))
            continue;
        msgsec_detail_append(buf, len, "%s%s", buf[0] ? ", " : "",
                             msgsec_cap_name(bit));
    }
}

int msgsec_core_candidate_ok(const msgsec_core *core, const msgsec_csvc *svc,
                             size_t i, int role, char *why, size_t len)
{
    const struct msgsec_pctx *p = &core->provs[i];
    const msgsec_pol_service *ps = svc->pol;
    char tmp[256];

    if (p->status == MSGSEC_CONTINUE) {
        msgsec_detail_set(why, len, "off by policy");
        return MSGSEC_ERR_PROVIDER_NOT_FOUND;
    }
    if (p->status != 0) {
        msgsec_detail_set(why, len, "not loaded: %s", p->detail);
        return p->status;
    }
    uint32_t caps = p->d.caps;
    if (role == MSGSEC_ROLE_CLIENT && !(caps & MSGSEC_CAP_CLIENT)) {
        msgsec_detail_set(why, len, "cannot act as a client");
        return MSGSEC_ERR_UNSUPPORTED;
    }
    if ((role == MSGSEC_ROLE_SERVER || role == MSGSEC_ROLE_PSK_RESOLVER) &&
        !(caps & MSGSEC_CAP_SERVER)) {
        msgsec_detail_set(why, len, "cannot act as a server");
        return MSGSEC_ERR_UNSUPPORTED;
    }
    if ((caps & ps->require) != ps->require) {
        caps_text(ps->require & ~caps, tmp, sizeof(tmp));
        msgsec_detail_set(why, len, "lacks required %s (%s:%d)", tmp,
                          core->policy->file, ps->require_line);
        return MSGSEC_ERR_UNSUPPORTED;
    }
    if ((caps & MSGSEC_CAP_INSECURE) && !svc->allow_insecure) {
        msgsec_detail_set(why, len,
                          "insecure and allow_insecure is not set for "
                          "[service.%s]",
                          ps->name);
        return MSGSEC_ERR_INSECURE_REFUSED;
    }
    /* The integrator's own TLS stack negotiates: the mode is not ours. */
    if (role == MSGSEC_ROLE_PSK_RESOLVER)
        goto ok;
    if (ps->negotiation == MSGSEC_NEG_IMPLICIT &&
        !(caps & MSGSEC_CAP_IMPLICIT)) {
        msgsec_detail_set(why, len,
                          "cannot be claimed from a first token "
                          "(negotiation = implicit needs it)");
        return MSGSEC_ERR_UNSUPPORTED;
    }
    if (ps->negotiation == MSGSEC_NEG_EXPLICIT &&
        !(caps & (MSGSEC_CAP_KEY_EXPORT | MSGSEC_CAP_INSECURE))) {
        msgsec_detail_set(why, len,
                          "cannot export keys to confirm the negotiation");
        return MSGSEC_ERR_UNSUPPORTED;
    }
ok:
    if (why && len)
        why[0] = '\0';
    return 0;
}

static int offered(const char *const *offer, size_t n, const char *name,
                   size_t *pos)
{
    for (size_t k = 0; k < n; k++) {
        if (offer[k] && strcmp(offer[k], name) == 0) {
            if (pos)
                *pos = k;
            return 1;
        }
    }
    return 0;
}

int msgsec_core_select(const msgsec_core *core, const msgsec_csvc *svc,
                       const char *const *offer, size_t n, char *explain,
                       size_t len)
{
    int chosen = MSGSEC_ERR_NO_COMMON_PROVIDER;
    char why[MSGSEC_DETAIL_MAX];
    const msgsec_pol_service *ps = svc->pol;
    const char *file = core->policy->file;

    if (explain && len) {
        explain[0] = '\0';
        msgsec_detail_append(explain, len,
                             "service %s (%s:%d), negotiation %s\n", ps->name,
                             file, ps->line,
                             ps->negotiation == MSGSEC_NEG_EXPLICIT
                                 ? "explicit: the server picks its most "
                                   "preferred offered provider"
                                 : "implicit: providers claim the client's "
                                   "first token in this order");
    }
    /* The policy's use list in order: compiled candidates and the rest. */
    for (size_t u = 0; u < ps->nuse; u++) {
        const char *name = ps->use[u];
        int idx = msgsec_core_find_provider(core, name);
        const char *verdict;
        why[0] = '\0';
        if (idx < 0) {
            verdict = "rejected";
            msgsec_detail_set(why, sizeof(why), "not known to the core");
        } else if (msgsec_core_candidate_ok(core, svc, (size_t)idx,
                                            MSGSEC_ROLE_SERVER, why,
                                            sizeof(why)) != 0) {
            verdict = "rejected";
        } else if (n > 0 && !offered(offer, n, name, NULL)) {
            verdict = "not chosen";
            msgsec_detail_set(why, sizeof(why), "not offered by the client");
        } else if (chosen >= 0 && n == 0) {
            verdict = "next";
            msgsec_detail_set(why, sizeof(why),
                              "asked to claim when the providers before it "
                              "do not");
        } else if (chosen >= 0) {
            verdict = "not chosen";
            msgsec_detail_set(why, sizeof(why),
                              "the policy prefers %s (earlier in use)",
                              core->provs[chosen].name);
        } else {
            chosen = idx;
            verdict = "SELECTED";
            if (n > 0) {
                size_t pos = 0;
                offered(offer, n, name, &pos);
                msgsec_detail_set(why, sizeof(why),
                                  "first in the policy's order that the "
                                  "client offered (client's choice #%zu)",
                                  pos + 1);
            } else {
                msgsec_detail_set(why, sizeof(why),
                                  "first to be asked to claim");
            }
        }
        if (explain && len)
            msgsec_detail_append(explain, len, "  %-16s %-10s %s\n", name,
                                 verdict, why);
    }
    /* Offered names the service does not use at all. */
    for (size_t k = 0; explain && len && k < n; k++) {
        int in_use = 0;
        for (size_t u = 0; u < ps->nuse; u++)
            if (offer[k] && strcmp(offer[k], ps->use[u]) == 0)
                in_use = 1;
        if (!in_use)
            msgsec_detail_append(explain, len,
                                 "  %-16s %-10s not in the use list of "
                                 "[service.%s] (%s:%d)\n",
                                 offer[k] ? offer[k] : "(null)", "rejected",
                                 ps->name, file, ps->use_line);
    }
    if (explain && len && chosen < 0)
        msgsec_detail_append(explain, len, "no provider selected: %s\n",
                             msgsec_strerror(MSGSEC_ERR_NO_COMMON_PROVIDER));
    return chosen;
}

/* -------------------------------------------------------------- create */

static const char *provider_dir_for(const msgsec_policy *pol)
{
    if (pol->provider_dir)
        return pol->provider_dir;
    /* secure_getenv: ignored in set-uid/set-gid programs. */
    const char *env = secure_getenv("MSGSEC_PROVIDER_DIR");
    return (env && *env) ? env : MSGSEC_PROVIDER_DIR;
}

static int decide_mandatory(const msgsec_core *core,
                            const msgsec_pol_provider *pp, char *note,
                            size_t len)
{
    const msgsec_policy *pol = core->policy;
    switch (pp->support) {
    case MSGSEC_SUPPORT_MANDATORY:
        return 1;
    case MSGSEC_SUPPORT_MANDATORY_IF_SEAL_CLIENT:
        msgsec_detail_set(note, len,
                          "mandatory-if-seal-client: seal client %s (%s), "
                          "so %s",
                          pol->seal_client ? "yes" : "no",
                          core->seal_client_why,
                          pol->seal_client ? "mandatory" : "optional");
        return pol->seal_client;
    default:
        return 0;
    }
}

static int load_providers(msgsec_core *core)
{
    const msgsec_policy *pol = core->policy;
    int null_declared = 0;
    for (size_t i = 0; i < pol->nproviders; i++)
        if (strcmp(pol->providers[i].name, MSGSEC_NULL_PROVIDER) == 0)
            null_declared = 1;

    core->nprovs = pol->nproviders + (null_declared ? 0 : 1);
    core->provs = msgsec_mem_alloc(&core->mem,
                                   core->nprovs * sizeof(*core->provs));
    if (!core->provs)
        return MSGSEC_ERR_NOMEM;

    const char *dir = provider_dir_for(pol);
    for (size_t i = 0; i < core->nprovs; i++) {
        struct msgsec_pctx *p = &core->provs[i];
        p->core = core;
        if (i < pol->nproviders) {
            p->pol = &pol->providers[i];
            p->name = p->pol->name;
        } else {
            p->name = MSGSEC_NULL_PROVIDER; /* built in, optional */
        }
        char note[MSGSEC_DETAIL_MAX] = "";
        p->mandatory = p->pol ? decide_mandatory(core, p->pol, note,
                                                 sizeof(note))
                              : 0;
        if (p->pol && p->pol->support == MSGSEC_SUPPORT_OFF) {
            p->status = MSGSEC_CONTINUE;
            msgsec_detail_set(p->detail, sizeof(p->detail),
                              "off by policy (%s:%d)", pol->file,
                              p->pol->support_line ? p->pol->support_line
                                                   : p->pol->line);
            continue;
        }
        int rc = msgsec_loader_load(core, p, dir);
        if (rc == 0) {
            if (note[0])
                msgsec_detail_set(p->detail, sizeof(p->detail), "%s", note);
            msgsec_log(core, MSGSEC_LOG_INFO, "provider %s %s loaded%s%s",
                       p->name, p->d.version ? p->d.version : "",
                       note[0] ? ": " : "", note);
            continue;
        }
        if (note[0])
            msgsec_detail_append(p->detail, sizeof(p->detail), " [%s]",
                                 note);
        msgsec_log(core, p->mandatory ? MSGSEC_LOG_ERROR : MSGSEC_LOG_WARNING,
                   "provider %s not loaded: %s", p->name, p->detail);
        if (p->mandatory && core->status == 0) {
            core->status = MSGSEC_ERR_PROVIDER_MANDATORY;
            msgsec_detail_set(core->detail, sizeof(core->detail),
                              "%s:%d: mandatory provider %s did not load: "
                              "%s (%s)",
                              pol->file, p->pol->line, p->name,
                              msgsec_error_name(rc), p->detail);
        }
    }
    return 0;
}

/* `authorize` names a loaded provider that implements authorize(); else
 * the core is unusable (POLICY_BAD_VALUE, like a bad value in the file). */
static void compile_authorizer(msgsec_core *core, msgsec_csvc *svc)
{
    const msgsec_pol_service *ps = svc->pol;
    int idx = msgsec_core_find_provider(core, ps->authorize);
    char why[MSGSEC_DETAIL_MAX];
    if (idx < 0) {
        msgsec_detail_set(why, sizeof(why), "is not known to the core");
    } else {
        struct msgsec_pctx *p = &core->provs[idx];
        if (p->status == MSGSEC_CONTINUE)
            msgsec_detail_set(why, sizeof(why), "is off by policy");
        else if (p->status != 0)
            msgsec_detail_set(why, sizeof(why), "did not load: %s",
                              p->detail);
        else if (!p->d.authorize)
            msgsec_detail_set(why, sizeof(why),
                              "does not implement authorize (provider ABI "
                              "%u.%u; authorize needs 1.2)",
                              (unsigned)p->d.abi_major,
                              (unsigned)p->d.abi_minor);
        else {
            svc->authz = p;
            return;
        }
    }
    msgsec_log(core, MSGSEC_LOG_ERROR,
               "%s:%d: [service.%s] authorize: provider %s %s",
               core->policy->file, ps->authorize_line, ps->name,
               ps->authorize, why);
    if (core->status == 0) {
        core->status = MSGSEC_ERR_POLICY_BAD_VALUE;
        msgsec_detail_set(core->detail, sizeof(core->detail),
                          "%s:%d: [service.%s] authorize: provider %s %s",
                          core->policy->file, ps->authorize_line, ps->name,
                          ps->authorize, why);
    }
}

static int compile_services(msgsec_core *core)
{
    const msgsec_policy *pol = core->policy;
    core->nsvcs = pol->nservices;
    if (core->nsvcs == 0)
        return 0;
    core->svcs = msgsec_mem_alloc(&core->mem,
                                  core->nsvcs * sizeof(*core->svcs));
    if (!core->svcs)
        return MSGSEC_ERR_NOMEM;

    for (size_t s = 0; s < core->nsvcs; s++) {
        msgsec_csvc *svc = &core->svcs[s];
        const msgsec_pol_service *ps = &pol->services[s];
        svc->pol = ps;
        svc->allow_insecure = ps->allow_insecure >= 0 ? ps->allow_insecure
                                                      : pol->allow_insecure;
        svc->framing = ps->framing == MSGSEC_FRAMING_STREAM
                           ? MSGSEC_FRAMING_STREAM
                           : MSGSEC_FRAMING_MESSAGE;
        if (ps->nuse) {
            svc->cand = msgsec_mem_alloc(&core->mem,
                                         ps->nuse * sizeof(*svc->cand));
            if (!svc->cand)
                return MSGSEC_ERR_NOMEM;
        }
        char reasons[MSGSEC_DETAIL_MAX] = "";
        for (size_t u = 0; u < ps->nuse; u++) {
            int idx = msgsec_core_find_provider(core, ps->use[u]);
            char why[MSGSEC_DETAIL_MAX] = "not known to the core";
            /* Role is decided per session: accept either here. */
            if (idx >= 0 && msgsec_core_candidate_ok(core, svc, (size_t)idx,
                                                     -1, why,
                                                     sizeof(why)) == 0) {
                svc->cand[svc->ncand++] = (size_t)idx;
                continue;
            }
            msgsec_detail_append(reasons, sizeof(reasons), "%s%s: %s",
                                 reasons[0] ? "; " : "", ps->use[u], why);
            if (idx >= 0 && core->provs[idx].status == 0)
                msgsec_log(core, MSGSEC_LOG_WARNING,
                           "%s:%d: [service.%s] will not use %s: %s",
                           pol->file, ps->use_line, ps->name, ps->use[u],
                           why);
        }
        if (ps->authorize)
            compile_authorizer(core, svc);
        if (svc->ncand == 0 && core->status == 0) {
            core->status = MSGSEC_ERR_POLICY_EMPTY_SERVICE;
            msgsec_detail_set(core->detail, sizeof(core->detail),
                              "%s:%d: [service.%s] has no usable provider: "
                              "%s",
                              pol->file, ps->use_line ? ps->use_line : ps->line,
                              ps->name, reasons);
        }
    }
    return 0;
}

static int core_create(const char *path, const char *text, const char *name,
                       const msgsec_hooks *hooks, unsigned flags,
                       msgsec_core **out, char *detail, size_t detail_len)
{
    if (!out || (!path && !text))
        return MSGSEC_ERR_INVALID_ARG;
    *out = NULL;
    if (detail && detail_len)
        detail[0] = '\0';

    msgsec_mem mem;
    msgsec_mem_init(&mem, hooks);
    msgsec_core *core = msgsec_mem_alloc(&mem, sizeof(*core));
    if (!core)
        return MSGSEC_ERR_NOMEM;
    core->mem = mem;
    core->wake_fd = -1;
    if (hooks && hooks->size >= sizeof(msgsec_hooks))
        core->hooks = *hooks;
    else if (hooks && hooks->size > 0)
        memcpy(&core->hooks, hooks, hooks->size);
    core->hooks.size = sizeof(core->hooks);
    core->log_level = core->hooks.log_level ? core->hooks.log_level
                                            : MSGSEC_LOG_INFO;
    fill_upcalls(&core->up);

    if (pthread_mutex_init(&core->wake_mu, NULL) != 0) {
        msgsec_mem_free(&mem, core, sizeof(*core));
        return MSGSEC_ERR_INTERNAL;
    }
    if (pthread_cond_init(&core->wake_cv, NULL) != 0) {
        pthread_mutex_destroy(&core->wake_mu);
        msgsec_mem_free(&mem, core, sizeof(*core));
        return MSGSEC_ERR_INTERNAL;
    }

    int rc;
    core->wake_fd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
    if (core->wake_fd < 0) {
        msgsec_detail_set(core->detail, sizeof(core->detail),
                          "eventfd: %s", strerror(errno));
        rc = MSGSEC_ERR_IO;
        goto fail;
    }

    msgsec_diag_sink sink;
    memset(&sink, 0, sizeof(sink));
    rc = msgsec_policy_load(&core->mem, path, text, name, path != NULL, &sink,
                            &core->policy);
    if (rc < 0) {
        msgsec_detail_set(core->detail, sizeof(core->detail), "%s",
                          sink.first);
        goto fail;
    }
    msgsec_policy_seal_client_why(core->policy, core->seal_client_why,
                                  sizeof(core->seal_client_why));
    if ((rc = load_providers(core)) < 0 || (rc = compile_services(core)) < 0)
        goto fail;
    if (core->status != 0 && !(flags & MSGSEC_CORE_INSPECT)) {
        rc = core->status;
        goto fail;
    }
    *out = core;
    return 0;

fail:
    if (detail && detail_len)
        msgsec_detail_set(detail, detail_len, "%s",
                          core->detail[0] ? core->detail
                                          : msgsec_strerror(rc));
    msgsec_core_free(core);
    return rc;
}

MSGSEC_EXPORT int msgsec_core_new(const char *path, const msgsec_hooks *hooks,
                                  unsigned flags, msgsec_core **out,
                                  char *detail, size_t detail_len)
{
    return core_create(path, NULL, NULL, hooks, flags, out, detail,
                       detail_len);
}

MSGSEC_EXPORT int msgsec_core_new_from_string(const char *text,
                                              const char *name,
                                              const msgsec_hooks *hooks,
                                              unsigned flags, msgsec_core **out,
                                              char *detail, size_t detail_len)
{
    if (!text)
        return MSGSEC_ERR_INVALID_ARG;
    return core_create(NULL, text, name ? name : "<string>", hooks, flags, out,
                       detail, detail_len);
}

MSGSEC_EXPORT void msgsec_core_free(msgsec_core *core)
{
    if (!core)
        return;
    msgsec_mem mem = core->mem;
    for (size_t i = 0; core->provs && i < core->nprovs; i++) {
        msgsec_loader_unload(&core->provs[i]);
        msgsec_mem_strfree(&mem, core->provs[i].module_path);
    }
    msgsec_mem_free(&mem, core->provs, core->nprovs * sizeof(*core->provs));
    for (size_t s = 0; core->svcs && s < core->nsvcs; s++)
        msgsec_mem_free(&mem, core->svcs[s].cand,
                        core->svcs[s].pol->nuse * sizeof(size_t));
    msgsec_mem_free(&mem, core->svcs, core->nsvcs * sizeof(*core->svcs));
    msgsec_policy_free(&mem, core->policy);
    if (core->wake_fd >= 0)
        close(core->wake_fd);
    pthread_cond_destroy(&core->wake_cv);
    pthread_mutex_destroy(&core->wake_mu);
    msgsec_mem_free(&mem, core, sizeof(*core));
}

/* ------------------------------------------------------------ inspect */

MSGSEC_EXPORT int msgsec_core_status(const msgsec_core *core)
{
    return core ? core->status : MSGSEC_ERR_INVALID_ARG;
}

MSGSEC_EXPORT const char *msgsec_core_detail(const msgsec_core *core)
{
    return core ? core->detail : "";
}

MSGSEC_EXPORT size_t msgsec_core_provider_count(const msgsec_core *core)
{
    return core ? core->nprovs : 0;
}

MSGSEC_EXPORT int msgsec_core_provider_info(const msgsec_core *core, size_t i,
                                            msgsec_provider_info *info)
{
    if (!core || !info || i >= core->nprovs)
        return MSGSEC_ERR_INVALID_ARG;
    const struct msgsec_pctx *p = &core->provs[i];
    memset(info, 0, sizeof(*info));
    info->name = p->name;
    info->version = p->d.version;
    info->summary = p->d.summary;
    info->module = p->module_path ? p->module_path : "";
    info->abi_major = p->d.abi_major;
    info->abi_minor = p->d.abi_minor;
    info->caps = p->d.caps;
    info->support = p->pol ? p->pol->support : MSGSEC_SUPPORT_OPTIONAL;
    info->effective_mandatory = p->mandatory;
    info->status = p->status;
    info->detail = p->detail;
    info->line = p->pol ? p->pol->line : 0;
    return 0;
}

MSGSEC_EXPORT size_t msgsec_core_service_count(const msgsec_core *core)
{
    return core ? core->nsvcs : 0;
}

MSGSEC_EXPORT const char *msgsec_core_service_name(const msgsec_core *core,
                                                   size_t i)
{
    if (!core || i >= core->nsvcs)
        return NULL;
    return core->svcs[i].pol->name;
}

MSGSEC_EXPORT int msgsec_core_explain(const msgsec_core *core,
                                      const char *service,
                                      const char *const *offer, size_t n,
                                      char *buf, size_t len)
{
    if (!core || !service || (n && !offer))
        return MSGSEC_ERR_INVALID_ARG;
    const msgsec_csvc *svc = msgsec_core_find_service(core, service);
    if (!svc) {
        if (buf && len)
            msgsec_detail_set(buf, len, "%s: no [service.%s] in the policy\n",
                              core->policy->file, service);
        return MSGSEC_ERR_POLICY_UNKNOWN_SERVICE;
    }
    return msgsec_core_select(core, svc, offer, n, buf, len);
}

MSGSEC_EXPORT int msgsec_core_seal_client(const msgsec_core *core,
                                          const char **why)
{
    if (!core)
        return MSGSEC_ERR_INVALID_ARG;
    if (why)
        *why = core->seal_client_why;
    return core->policy->seal_client;
}
