/*
 * pcall.h - a provider call made outside a session: a PSK look-up
 * (pskapi.c) or an authorization check (authz.c). Both ask a provider
 * with state of their own, may wait for a key or configuration server,
 * and sit on the core's wake list beside the sessions. The handle starts
 * with msgsec_waiter, so a provider sees it as a msgsec_psession and the
 * session upcalls serve it. Never installed.
 */
#ifndef MSGSEC_PCALL_H
#define MSGSEC_PCALL_H

#include "internal.h"

typedef struct msgsec_pcall msgsec_pcall;

struct msgsec_pcall {
    msgsec_waiter w;          /* first: the provider's msgsec_psession */
    const msgsec_csvc *svc;
    struct msgsec_pctx *prov; /* the provider asked now (or last) */
    void *pstate;             /* its state, until msgsec_pcall_end() */
    size_t pstate_size;
    int pdetail;              /* the provider set a detail in its last call */
    int status;               /* 0, MSGSEC_PENDING, or the error */
    void *user_data;
    /* Asks the provider again once a wake was taken; returns the status. */
    int (*run)(msgsec_pcall *pc);
    /* The integrator's ready callback, typed by the caller; NULL: none. */
    void (*notify)(msgsec_pcall *pc);
    char detail[MSGSEC_DETAIL_MAX];
};

/*
 * A new call for service of core: size zeroed bytes (a structure that
 * starts with msgsec_pcall) set up with the waiter kind and run. 0, or the
 * error with the thread's detail set: the core's status when it is
 * unusable, MSGSEC_ERR_POLICY_UNKNOWN_SERVICE, MSGSEC_ERR_NOMEM (what
 * names the call there). Free it with msgsec_mem_free(size).
 */
MSGSEC_HIDDEN int msgsec_pcall_new(msgsec_core *core, const char *service,
                                   size_t size, int kind,
                                   int (*run)(msgsec_pcall *pc),
                                   const char *what, msgsec_pcall **out);

/* Gives pc fresh zeroed state for provider p: 0, or MSGSEC_ERR_NOMEM with
 * the detail set. */
MSGSEC_HIDDEN int msgsec_pcall_begin(msgsec_pcall *pc, struct msgsec_pctx *p);

/* Ends the provider's part: end() cancels its look-ups (no wake for pc can
 * come afterwards), pc leaves the wake list, the state is wiped and
 * freed. Safe to call again. */
MSGSEC_HIDDEN void msgsec_pcall_end(msgsec_pcall *pc);

MSGSEC_HIDDEN void msgsec_pcall_set_detail(msgsec_pcall *pc, const char *fmt,
                                           ...)
    __attribute__((format(printf, 2, 3)));

/* The provider's name, or "(none)". */
MSGSEC_HIDDEN const char *msgsec_pcall_provider(const msgsec_pcall *pc);

/* Continues after a wake: the status when not pending, MSGSEC_PENDING
 * while no wake came, else what run() returns. */
MSGSEC_HIDDEN int msgsec_pcall_resume(msgsec_pcall *pc);

/* Blocks until pc is no longer pending or timeout_ms (-1: forever) passed:
 * its status, or MSGSEC_ERR_TIMEOUT (still pending, with the detail). */
MSGSEC_HIDDEN int msgsec_pcall_wait(msgsec_pcall *pc, int timeout_ms);

/* Session upcalls on a call's handle (session.c routes them here). */
MSGSEC_HIDDEN void msgsec_pcall_up_detail(msgsec_psession *ps,
                                          const char *msg);
MSGSEC_HIDDEN const char *msgsec_pcall_up_service(msgsec_psession *ps);

/* What msgsec_core_dispatch() does with a woken call: its ready callback,
 * or a resume when there is none. */
MSGSEC_HIDDEN void msgsec_pcall_dispatched(msgsec_waiter *w);

/* Renders n bytes for details and logs: printable ASCII as is, the rest as
 * \xNN, at most max input bytes then "...". Always NUL-terminated; cap of
 * 4 * max + 8 holds any rendering. */
MSGSEC_HIDDEN void msgsec_show_bytes(char *out, size_t cap, const void *p,
                                     size_t n, size_t max);

#endif /* MSGSEC_PCALL_H */
