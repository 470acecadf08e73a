/*
 * keycache.h - a provider's cache of keys fetched from a key server (the
 * AF's K_AF from the AAnF, SEAL PSKs from key management, ...).
 *
 * A key is kept per (name, scope) until its expiry, in a table of bounded
 * size with least-recently-used eviction. A miss starts exactly one fetch
 * per key, however many sessions ask while it runs: they wait on the
 * entry's waiter list and are all woken by the one completion. The cache
 * does not know HTTP: the owner supplies a fetch function and reports its
 * outcome with msgsec_keycache_complete().
 *
 * Threads: every function may be called from any thread (one mutex);
 * a waiter is owned by one session at a time. Wake callbacks run with the
 * cache lock held, so once msgsec_keycache_cancel() has returned for a
 * waiter no wake for it can follow; a wake callback must therefore be
 * quick and must not call back into the cache.
 *
 * Secrets: key copies are wiped when an entry expires, is evicted, dropped
 * or freed, and from results the caller no longer needs
 * (msgsec_keycache_result_clear()).
 */
#ifndef MSGSEC_KEYCACHE_H
#define MSGSEC_KEYCACHE_H

#include <stddef.h>
#include <stdint.h>

#include <msgsec/http.h>
#include <msgsec/provider.h>
#include <msgsec/sdk.h>

#ifdef __cplusplus
extern "C" {
#endif

typedef struct msgsec_keycache msgsec_keycache;

/* Largest key, name or scope, and identity stored with a key. A "key"
 * may also be another short answer of the key server's (the seal-tlspsk
 * provider stores an association answer: a tag and up to 16 digests of 16
 * bytes). */
#define MSGSEC_KEYCACHE_KEY_MAX 320
#define MSGSEC_KEYCACHE_NAME_MAX 1024
#define MSGSEC_KEYCACHE_ID_MAX 255

/* Outcome of one fetch, as the waiters receive it. */
typedef struct msgsec_keycache_result {
    int rc;                               /* 0, or a MSGSEC_ERR_* code */
    uint8_t key[MSGSEC_KEYCACHE_KEY_MAX]; /* when rc == 0 */
    size_t key_len;                       /* 1 to MSGSEC_KEYCACHE_KEY_MAX */
    int64_t expiry;                       /* seconds since the epoch */
    int64_t fetched;                      /* when the key server answered */
    /* Two identities the key server gave with the key ("" when none;
     * AKMA: SUPI and GPSI, SEAL: the PSK identity). */
    char id1[MSGSEC_KEYCACHE_ID_MAX + 1];
    char id2[MSGSEC_KEYCACHE_ID_MAX + 1];
    char detail[320];                     /* the cause when rc < 0; no keys */
} msgsec_keycache_result;

/* A session waiting for a fetch. Zero-initialise; the cache owns the
 * link fields while the waiter is registered. */
typedef struct msgsec_keycache_waiter {
    struct msgsec_keycache_waiter *prev, *next;
    void *entry;  /* the entry waited on; NULL when not waiting */
    int done;     /* res holds the outcome */
    msgsec_keycache_result res;
    void (*wake)(void *arg);
    void *arg;
} msgsec_keycache_waiter;

typedef struct msgsec_keycache_ops {
    void *arg;
    /* Zeroed memory or NULL; free wipes n bytes before freeing. Both NULL:
     * up->alloc and up->free of the provider below. */
    void *(*alloc)(void *arg, size_t n);
    void (*free)(void *arg, void *p, size_t n);
    /*
     * Starts fetching the key of (name, scope); token identifies the entry
     * in the later msgsec_keycache_complete(). Called with the cache lock
     * held: must not block nor call into the cache (the completion may run
     * on another thread at once; it waits for the lock). Stores in *handle
     * what abandon() needs. Returns 0, or an error that fails the look-up
     * (detail, when not "", says why).
     */
    int (*fetch)(void *arg, void *token, const char *name, const char *scope,
                 void **handle, char *detail, size_t detail_len);
    /* Releases the handle of a fetch that never completed; called only by
     * msgsec_keycache_free(), once nothing can complete any more. */
    void (*abandon)(void *arg, void *handle);
    /* Seconds since the epoch (NULL: time()). */
    int64_t (*now)(void *arg);
    /* A provider's upcalls (or NULL): memory when alloc and free are
     * NULL, and the hash seed when none is given. */
    const msgsec_upcalls *up;
    msgsec_pctx *pc;
} msgsec_keycache_ops;

/* Capacity bounds (entries, fetches in flight included). */
#define MSGSEC_KEYCACHE_MIN 1
#define MSGSEC_KEYCACHE_MAX 1000000

/*
 * Creates a cache of at most capacity entries. seed (16 bytes) keys the
 * hash of the table so that peers cannot choose colliding names; NULL
 * draws it from ops->up->random().
 * Errors: MSGSEC_ERR_INVALID_ARG, MSGSEC_ERR_NOMEM, MSGSEC_ERR_INTERNAL.
 */
MSGSEC_SDK_EXPORT int msgsec_keycache_new(const msgsec_keycache_ops *ops,
                                          size_t capacity,
                                          const uint8_t seed[16],
                                          msgsec_keycache **out);

/* Frees the cache (no waiter may be registered): abandons fetches in
 * flight and wipes every entry. The owner must first make sure that no
 * completion can run any more. NULL is ok. */
MSGSEC_SDK_EXPORT void msgsec_keycache_free(msgsec_keycache *c);

/*
 * The key of (name, scope) (NUL-terminated; name 1 to, scope 0 to
 * MSGSEC_KEYCACHE_NAME_MAX bytes).
 *   0               a fresh entry: *res filled (res->rc == 0)
 *   MSGSEC_PENDING  w is registered on the entry's fetch (started now or
 *                   earlier); w->wake(w->arg) follows once the outcome is
 *                   in; collect it with msgsec_keycache_take()
 *   < 0             no look-up possible (fetch failed to start, cache full
 *                   of fetches in flight, bad arguments); res->detail says
 *                   why
 * An entry past its expiry is a miss: it is fetched again.
 */
MSGSEC_SDK_EXPORT int msgsec_keycache_get(msgsec_keycache *c,
                                          const char *name, const char *scope,
                                          msgsec_keycache_waiter *w,
                                          msgsec_keycache_result *res);

/*
 * The outcome for a waiter registered by msgsec_keycache_get(): 0 with
 * *res filled (res->rc says how the fetch went), MSGSEC_PENDING while it
 * runs, MSGSEC_ERR_STATE when w is not registered.
 */
MSGSEC_SDK_EXPORT int msgsec_keycache_take(msgsec_keycache *c,
                                           msgsec_keycache_waiter *w,
                                           msgsec_keycache_result *res);

/* Unregisters w (its outcome, if any, is wiped). No wake for w follows
 * once this returns. A waiter that is not registered is left alone. */
MSGSEC_SDK_EXPORT void msgsec_keycache_cancel(msgsec_keycache *c,
                                              msgsec_keycache_waiter *w);

/*
 * A session's look-up, called again until it is answered: the first call
 * registers w (msgsec_keycache_get(); set w->wake and w->arg before it),
 * the calls after collect the outcome (msgsec_keycache_take()). A session
 * asking for another (name, scope) than its registered one cancels that
 * wait first (msgsec_keycache_cancel()).
 *   MSGSEC_PENDING  the fetch runs; w->wake(w->arg) follows
 *   0               *res filled: res->rc is 0 (the key) or the error, and
 *                   res->detail its cause (also when the look-up could not
 *                   start); clear *res after use
 * The session's end() calls msgsec_keycache_cancel(), which leaves a
 * waiter that is not registered alone.
 */
MSGSEC_SDK_EXPORT int msgsec_keycache_lookup(msgsec_keycache *c,
                                             const char *name,
                                             const char *scope,
                                             msgsec_keycache_waiter *w,
                                             msgsec_keycache_result *res);

/* Forgets the stored key of (name, scope), e.g. when the key server has
 * issued a newer one; a fetch in flight is left alone. */
MSGSEC_SDK_EXPORT void msgsec_keycache_drop(msgsec_keycache *c,
                                            const char *name,
                                            const char *scope);

/*
 * Reports the outcome of the fetch of token. res->rc == 0 with an expiry
 * in the future stores the key; a key already expired is reported to the
 * waiters as MSGSEC_ERR_KEY_EXPIRED and not stored; errors are not stored
 * (the next look-up fetches again). Wakes every waiter.
 */
MSGSEC_SDK_EXPORT void msgsec_keycache_complete(
    msgsec_keycache *c, void *token, const msgsec_keycache_result *res);

/* Counters, for logs and tests. */
typedef struct msgsec_keycache_stats {
    size_t entries;   /* stored or being fetched */
    size_t fetching;  /* fetches in flight */
    uint64_t hits, misses, fetches, evictions, expired;
} msgsec_keycache_stats;

MSGSEC_SDK_EXPORT void msgsec_keycache_get_stats(msgsec_keycache *c,
                                                 msgsec_keycache_stats *st);

/* A failed fetch's outcome: sets r->rc and the printf-formatted
 * r->detail (cut at its size). Returns rc. */
MSGSEC_SDK_EXPORT int msgsec_keycache_result_fail(msgsec_keycache_result *r,
                                                  int rc, const char *fmt,
                                                  ...)
    __attribute__((format(printf, 3, 4)));

/*
 * The transport failure of a fetch over HTTP (<msgsec/http.h>) as its
 * outcome, server naming the key server in details ("the AAnF"):
 *   resp->result MSGSEC_ERR_TIMEOUT  MSGSEC_ERR_TIMEOUT, "SERVER did not
 *                                    answer within TIMEOUT_MS ms"
 *   MSGSEC_ERR_NOMEM                 MSGSEC_ERR_NOMEM
 *   another error                    MSGSEC_ERR_LOOKUP_FAILED, "SERVER is
 *                                    unreachable: CAUSE"
 * the cause being the HTTP client's detail without its leading "METHOD
 * URL: " (the URL is the owner's to log), so that it fits. Returns 1 when
 * resp is such a failure (*r filled), 0 when resp holds an HTTP answer to
 * decode (*r untouched).
 */
MSGSEC_SDK_EXPORT int msgsec_keycache_http_failure(
    msgsec_keycache_result *r, const msgsec_http_response *resp,
    const char *server, long timeout_ms);

/* Wipes a result. */
MSGSEC_SDK_EXPORT void msgsec_keycache_result_clear(
    msgsec_keycache_result *r);

#ifdef __cplusplus
}
#endif
#endif /* MSGSEC_KEYCACHE_H */
