/*
 * pcall.c - what PSK look-ups and authorization checks share: provider
 * state that is ended, wiped and freed once, details the provider adds,
 * resuming after a wake and waiting for one.
 */
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "pcall.h"

int msgsec_pcall_new(msgsec_core *core, const char *service, size_t size,
                     int kind, int (*run)(msgsec_pcall *pc), const char *what,
                     msgsec_pcall **out)
{
    *out = NULL;
    int st = msgsec_core_status(core);
    if (st != 0) {
        msgsec_thread_detail_set("%s", core->detail);
        return st;
    }
    const msgsec_csvc *svc = msgsec_core_find_service(core, service);
    if (!svc) {
        msgsec_thread_detail_set("%s: no [service.%s] in the policy",
                                 core->policy->file, service);
        return MSGSEC_ERR_POLICY_UNKNOWN_SERVICE;
    }
    msgsec_pcall *pc = msgsec_mem_alloc(&core->mem, size);
    if (!pc) {
        msgsec_thread_detail_set("%s: no memory", what);
        return MSGSEC_ERR_NOMEM;
    }
    pc->w.kind = kind;
    pc->w.core = core;
    pc->svc = svc;
    pc->run = run;
    *out = pc;
    return 0;
}

int msgsec_pcall_begin(msgsec_pcall *pc, struct msgsec_pctx *p)
{
    size_t n = p->d.state_size ? p->d.state_size : 1;
    pc->pstate = msgsec_mem_alloc(&pc->w.core->mem, n);
    if (!pc->pstate) {
        msgsec_pcall_set_detail(pc, "no memory for provider %s state",
                                p->name);
        return MSGSEC_ERR_NOMEM;
    }
    pc->pstate_size = n;
    pc->prov = p;
    return 0;
}

void msgsec_pcall_end(msgsec_pcall *pc)
{
    msgsec_core *core = pc->w.core;
    if (pc->pstate && pc->prov->d.end)
        pc->prov->d.end(pc->prov->pdata, pc->pstate);
    /* Only now can no wake come: forget one that came meanwhile. */
    msgsec_waiter_forget(core, &pc->w);
    if (pc->pstate)
        msgsec_mem_free(&core->mem, pc->pstate, pc->pstate_size);
    pc->pstate = NULL;
    pc->pstate_size = 0;
}

void msgsec_pcall_set_detail(msgsec_pcall *pc, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    msgsec_detail_vset(pc->detail, sizeof(pc->detail), fmt, ap);
    va_end(ap);
}

const char *msgsec_pcall_provider(const msgsec_pcall *pc)
{
    return pc->prov ? pc->prov->name : "(none)";
}

int msgsec_pcall_resume(msgsec_pcall *pc)
{
    if (pc->status != MSGSEC_PENDING)
        return pc->status;
    if (!msgsec_waiter_take(pc->w.core, &pc->w))
        return MSGSEC_PENDING;
    return pc->run(pc);
}

static int64_t now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

int msgsec_pcall_wait(msgsec_pcall *pc, int timeout_ms)
{
    int64_t end = now_ms() + (timeout_ms > 0 ? timeout_ms : 0);
    /* One answer may take more than one look-up. */
    while (pc->status == MSGSEC_PENDING) {
        int left = -1;
        if (timeout_ms >= 0) {
            int64_t d = end - now_ms();
            left = d > 0 ? (int)d : 0;
        }
        if (msgsec_waiter_wait(pc->w.core, &pc->w, left) < 0) {
            msgsec_pcall_set_detail(pc,
                                    "provider %s: look-up still pending "
                                    "after %d ms",
                                    msgsec_pcall_provider(pc), timeout_ms);
            return MSGSEC_ERR_TIMEOUT;
        }
        msgsec_pcall_resume(pc);
    }
    return pc->status;
}

void msgsec_pcall_up_detail(msgsec_psession *ps, const char *msg)
{
    msgsec_pcall *pc = (msgsec_pcall *)ps;
    msgsec_pcall_set_detail(pc, "provider %s: %s", msgsec_pcall_provider(pc),
                            msg);
    pc->pdetail = 1;
}

const char *msgsec_pcall_up_service(msgsec_psession *ps)
{
    return ((msgsec_pcall *)ps)->svc->pol->name;
}

void msgsec_pcall_dispatched(msgsec_waiter *w)
{
    msgsec_pcall *pc = (msgsec_pcall *)w;
    if (pc->notify)
        pc->notify(pc);
    else
        msgsec_pcall_resume(pc);
}

void msgsec_show_bytes(char *out, size_t cap, const void *p, size_t n,
                       size_t max)
{
    const unsigned char *b = p;
    size_t o = 0;
    if (cap == 0)
        return;
    for (size_t i = 0; i < n && i < max && o + 5 < cap; i++) {
        unsigned char c = b[i];
        if (c >= 0x20 && c < 0x7f && c != '"' && c != '\\')
            out[o++] = (char)c;
        else
            o += (size_t)snprintf(out + o, cap - o, "\\x%02x", c);
    }
    if (n > max && o + 4 < cap)
        o += (size_t)snprintf(out + o, cap - o, "...");
    out[o < cap ? o : cap - 1] = '\0';
}
