/*
 * kafcache.h - the AF's K_AF cache (part of the akma provider).
 *
 * K_AF is kept per (A-KID, afId) until its expiry, in a table of bounded
 * size with least-recently-used eviction. A miss starts exactly one fetch
 * per key, however many sessions ask while it runs: they wait on the
 * entry's waiter list and are all woken by the one completion. The cache
 * does not know HTTP: the owner supplies a fetch function and reports its
 * outcome with msgsec_kafc_complete().
 *
 * Threads: every function may be called from any thread (one mutex);
 * a waiter is owned by one session at a time. Wake callbacks run with the
 * cache lock held, so once msgsec_kafc_cancel() has returned for a waiter
 * no wake for it can follow; a wake callback must therefore be quick and
 * must not call back into the cache.
 *
 * Secrets: K_AF copies are wiped when an entry expires, is evicted or
 * freed, and from results the caller no longer needs
 * (msgsec_kafc_result_clear()).
 */
#ifndef MSGSEC_AKMA_KAFCACHE_H
#define MSGSEC_AKMA_KAFCACHE_H

#include <stddef.h>
#include <stdint.h>

#include <msgsec/aanf.h>
#include <msgsec/akma_keys.h>

typedef struct msgsec_kafc msgsec_kafc;

/* Outcome of one fetch, as the waiters receive it. */
typedef struct msgsec_kafc_result {
    int rc;                            /* 0, or a MSGSEC_ERR_* code */
    uint8_t kaf[MSGSEC_AKMA_KEY_LEN];  /* when rc == 0 */
    int64_t expiry;                    /* seconds since the epoch */
    char supi[MSGSEC_AANF_ID_MAX + 1]; /* "" when the AAnF gave none */
    char gpsi[MSGSEC_AANF_ID_MAX + 1];
    char detail[320];                  /* the cause when rc < 0; no keys */
} msgsec_kafc_result;

/* A session waiting for a fetch. Zero-initialise; the cache owns the
 * link fields while the waiter is registered. */
typedef struct msgsec_kafc_waiter {
    struct msgsec_kafc_waiter *prev, *next;
    void *entry;  /* the entry waited on; NULL when not waiting */
    int done;     /* res holds the outcome */
    msgsec_kafc_result res;
    void (*wake)(void *arg);
    void *arg;
} msgsec_kafc_waiter;

typedef struct msgsec_kafc_ops {
    void *arg;
    /* Zeroed memory or NULL; free wipes n bytes before freeing. */
    void *(*alloc)(void *arg, size_t n);
    void (*free)(void *arg, void *p, size_t n);
    /*
     * Starts fetching K_AF of (akid, afid); token identifies the entry in
     * the later msgsec_kafc_complete(). Called with the cache lock held:
     * must not block nor call into the cache (the completion may run on
     * another thread at once; it waits for the lock). Stores in *handle
     * what abandon() needs. Returns 0, or an error that fails the
     * look-up (detail, when not "", says why).
     */
    int (*fetch)(void *arg, void *token, const char *akid, const char *afid,
                 void **handle, char *detail, size_t detail_len);
    /* Releases the handle of a fetch that never completed; called only by
     * msgsec_kafc_free(), once nothing can complete any more. */
    void (*abandon)(void *arg, void *handle);
    /* Seconds since the epoch (NULL: time()). */
    int64_t (*now)(void *arg);
} msgsec_kafc_ops;

/* Capacity bounds (entries, fetches in flight included). */
#define MSGSEC_KAFC_MIN 1
#define MSGSEC_KAFC_MAX 1000000

/*
 * Creates a cache of at most capacity entries. seed (16 bytes) keys the
 * hash of the table so that peers cannot choose colliding A-KIDs.
 * Errors: MSGSEC_ERR_INVALID_ARG, MSGSEC_ERR_NOMEM, MSGSEC_ERR_INTERNAL.
 */
int msgsec_kafc_new(const msgsec_kafc_ops *ops, size_t capacity,
                    const uint8_t seed[16], msgsec_kafc **out);

/* Frees the cache (no waiter may be registered): abandons fetches in
 * flight and wipes every entry. The owner must first make sure that no
 * completion can run any more. NULL is ok. */
void msgsec_kafc_free(msgsec_kafc *c);

/*
 * K_AF of (akid, afid) (NUL-terminated strings).
 *   0               a fresh entry: *res filled (res->rc == 0)
 *   MSGSEC_PENDING  w is registered on the entry's fetch (started now or
 *                   earlier); w->wake(w->arg) follows once the outcome is
 *                   in; collect it with msgsec_kafc_take()
 *   < 0             no look-up possible (fetch failed to start, cache full
 *                   of fetches in flight, bad arguments); res->detail says
 *                   why
 * An entry past its expiry is a miss: it is fetched again.
 */
int msgsec_kafc_get(msgsec_kafc *c, const char *akid, const char *afid,
                    msgsec_kafc_waiter *w, msgsec_kafc_result *res);

/*
 * The outcome for a waiter registered by msgsec_kafc_get(): 0 with *res
 * filled (res->rc says how the fetch went), MSGSEC_PENDING while it runs,
 * MSGSEC_ERR_STATE when w is not registered.
 */
int msgsec_kafc_take(msgsec_kafc *c, msgsec_kafc_waiter *w,
                     msgsec_kafc_result *res);

/* Unregisters w (its outcome, if any, is wiped). No wake for w follows
 * once this returns. A waiter that is not registered is left alone. */
void msgsec_kafc_cancel(msgsec_kafc *c, msgsec_kafc_waiter *w);

/*
 * Reports the outcome of the fetch of token. res->rc == 0 with an expiry
 * in the future stores K_AF; a key already expired is reported to the
 * waiters as MSGSEC_ERR_KEY_EXPIRED and not stored; errors are not stored
 * (the next look-up fetches again). Wakes every waiter.
 */
void msgsec_kafc_complete(msgsec_kafc *c, void *token,
                          const msgsec_kafc_result *res);

/* Counters, for logs and tests. */
typedef struct msgsec_kafc_stats {
    size_t entries;   /* stored or being fetched */
    size_t fetching;  /* fetches in flight */
    uint64_t hits, misses, fetches, evictions, expired;
} msgsec_kafc_stats;

void msgsec_kafc_get_stats(msgsec_kafc *c, msgsec_kafc_stats *st);

/* Wipes a result. */
void msgsec_kafc_result_clear(msgsec_kafc_result *r);

#endif /* MSGSEC_AKMA_KAFCACHE_H */
