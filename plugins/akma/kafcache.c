/*
 * kafcache.c - the AF's K_AF cache: a hash table keyed by (A-KID, afId)
 * with a keyed hash (SipHash-2-4, so that peers cannot aim A-KIDs at one
 * bucket), an LRU list of the stored entries, and a waiter list on each
 * entry being fetched. See kafcache.h.
 *
 * Entry states: FETCHING (a fetch is in flight; waiters hang on it; never
 * evicted) and READY (K_AF stored; on the LRU list). Failed fetches are
 * not stored.
 */
#include <pthread.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include <openssl/crypto.h>

#include "kafcache.h"

enum { E_FETCHING = 1, E_READY = 2 };

typedef struct kentry {
    struct kentry *hnext;
    struct kentry *lprev, *lnext; /* LRU, READY entries only */
    uint64_t hash;
    int state;
    void *handle; /* the fetch's, while FETCHING */
    msgsec_kafc_waiter *waiters;
    uint8_t kaf[MSGSEC_AKMA_KEY_LEN];
    int64_t expiry;
    char *ids; /* "supi\0gpsi\0", or NULL */
    size_t ids_size;
    size_t akid_len, afid_len;
    size_t size; /* of this allocation */
    char key[];  /* akid \0 afid \0 */
} kentry;

struct msgsec_kafc {
    msgsec_kafc_ops ops;
    pthread_mutex_t mu;
    size_t capacity, nbuckets, count, fetching;
    kentry **tab;
    kentry *lru_head, *lru_tail; /* head: most recently used */
    uint64_t k0, k1;
    msgsec_kafc_stats st;
};

/* ---------------------------------------------------------- SipHash */

#define ROTL(x, b) (uint64_t)(((x) << (b)) | ((x) >> (64 - (b))))
#define SIPROUND                                                               \
    do {                                                                       \
        v0 += v1;                                                              \
        v1 = ROTL(v1, 13);                                                     \
        v1 ^= v0;                                                              \
        v0 = ROTL(v0, 32);                                                     \
        v2 += v3;                                                              \
        v3 = ROTL(v3, 16);                                                     \
        v3 ^= v2;                                                              \
        v0 += v3;                                                              \
        v3 = ROTL(v3, 21);                                                     \
        v3 ^= v0;                                                              \
        v2 += v1;                                                              \
        v1 = ROTL(v1, 17);                                                     \
        v1 ^= v2;                                                              \
        v2 = ROTL(v2, 32);                                                     \
    } while (0)

static uint64_t le64(const uint8_t *p)
{
    uint64_t v = 0;
    for (int i = 7; i >= 0; i--)
        v = (v << 8) | p[i];
    return v;
}

static uint64_t siphash24(uint64_t k0, uint64_t k1, const uint8_t *m,
                          size_t n)
{
    uint64_t v0 = k0 ^ 0x736f6d6570736575ull, v1 = k1 ^ 0x646f72616e646f6dull;
    uint64_t v2 = k0 ^ 0x6c7967656e657261ull, v3 = k1 ^ 0x7465646279746573ull;
    size_t full = n & ~(size_t)7;
    for (size_t i = 0; i < full; i += 8) {
        uint64_t w = le64(m + i);
        v3 ^= w;
        SIPROUND;
        SIPROUND;
        v0 ^= w;
    }
    uint64_t b = (uint64_t)n << 56;
    for (size_t i = 0; i < (n & 7); i++)
        b |= (uint64_t)m[full + i] << (8 * i);
    v3 ^= b;
    SIPROUND;
    SIPROUND;
    v0 ^= b;
    v2 ^= 0xff;
    SIPROUND;
    SIPROUND;
    SIPROUND;
    SIPROUND;
    return v0 ^ v1 ^ v2 ^ v3;
}

static uint64_t key_hash(const msgsec_kafc *c, const char *akid,
                         size_t akid_len, const char *afid, size_t afid_len)
{
    uint8_t buf[MSGSEC_AKID_MAX_LEN + 1 + MSGSEC_AANF_AFID_MAX];
    memcpy(buf, akid, akid_len);
    buf[akid_len] = 0;
    memcpy(buf + akid_len + 1, afid, afid_len);
    return siphash24(c->k0, c->k1, buf, akid_len + 1 + afid_len);
}

/* ---------------------------------------------------------- helpers */

static int64_t now_of(const msgsec_kafc *c)
{
    return c->ops.now ? c->ops.now(c->ops.arg) : (int64_t)time(NULL);
}

static void lru_unlink(msgsec_kafc *c, kentry *e)
{
    if (e->lprev)
        e->lprev->lnext = e->lnext;
    else if (c->lru_head == e)
        c->lru_head = e->lnext;
    if (e->lnext)
        e->lnext->lprev = e->lprev;
    else if (c->lru_tail == e)
        c->lru_tail = e->lprev;
    e->lprev = e->lnext = NULL;
}

static void lru_push(msgsec_kafc *c, kentry *e)
{
    e->lprev = NULL;
    e->lnext = c->lru_head;
    if (c->lru_head)
        c->lru_head->lprev = e;
    c->lru_head = e;
    if (!c->lru_tail)
        c->lru_tail = e;
}

static void drop_key(msgsec_kafc *c, kentry *e)
{
    OPENSSL_cleanse(e->kaf, sizeof(e->kaf));
    e->expiry = 0;
    if (e->ids)
        c->ops.free(c->ops.arg, e->ids, e->ids_size);
    e->ids = NULL;
    e->ids_size = 0;
}

/* Unlinks e from its bucket and the LRU list and frees it (wiped). */
static void remove_entry(msgsec_kafc *c, kentry *e)
{
    for (kentry **pp = &c->tab[e->hash & (c->nbuckets - 1)]; *pp;
         pp = &(*pp)->hnext)
        if (*pp == e) {
            *pp = e->hnext;
            break;
        }
    if (e->state == E_READY)
        lru_unlink(c, e);
    drop_key(c, e);
    c->count--;
    c->ops.free(c->ops.arg, e, e->size);
}

static kentry *find(msgsec_kafc *c, uint64_t h, const char *akid,
                    size_t akid_len, const char *afid, size_t afid_len)
{
    for (kentry *e = c->tab[h & (c->nbuckets - 1)]; e; e = e->hnext)
        if (e->hash == h && e->akid_len == akid_len &&
            e->afid_len == afid_len && memcmp(e->key, akid, akid_len) == 0 &&
            memcmp(e->key + akid_len + 1, afid, afid_len) == 0)
            return e;
    return NULL;
}

static void add_waiter(kentry *e, msgsec_kafc_waiter *w)
{
    w->entry = e;
    w->done = 0;
    w->prev = NULL;
    w->next = e->waiters;
    if (e->waiters)
        e->waiters->prev = w;
    e->waiters = w;
}

static void fill_hit(const kentry *e, msgsec_kafc_result *res)
{
    res->rc = 0;
    memcpy(res->kaf, e->kaf, sizeof(res->kaf));
    res->expiry = e->expiry;
    if (e->ids) {
        const char *gpsi = e->ids + strlen(e->ids) + 1;
        snprintf(res->supi, sizeof(res->supi), "%s", e->ids);
        snprintf(res->gpsi, sizeof(res->gpsi), "%s", gpsi);
    }
}

/* ---------------------------------------------------------- public */

int msgsec_kafc_new(const msgsec_kafc_ops *ops, size_t capacity,
                    const uint8_t seed[16], msgsec_kafc **out)
{
    if (!out)
        return MSGSEC_ERR_INVALID_ARG;
    *out = NULL;
    if (!ops || !ops->alloc || !ops->free || !ops->fetch || !ops->abandon ||
        !seed || capacity < MSGSEC_KAFC_MIN || capacity > MSGSEC_KAFC_MAX)
        return MSGSEC_ERR_INVALID_ARG;
    msgsec_kafc *c = ops->alloc(ops->arg, sizeof(*c));
    if (!c)
        return MSGSEC_ERR_NOMEM;
    c->ops = *ops;
    c->capacity = capacity;
    /* About one entry per bucket when full. */
    c->nbuckets = 16;
    while (c->nbuckets < capacity)
        c->nbuckets <<= 1;
    c->tab = ops->alloc(ops->arg, c->nbuckets * sizeof(*c->tab));
    if (!c->tab) {
        ops->free(ops->arg, c, sizeof(*c));
        return MSGSEC_ERR_NOMEM;
    }
    if (pthread_mutex_init(&c->mu, NULL) != 0) {
        ops->free(ops->arg, c->tab, c->nbuckets * sizeof(*c->tab));
        ops->free(ops->arg, c, sizeof(*c));
        return MSGSEC_ERR_INTERNAL;
    }
    c->k0 = le64(seed);
    c->k1 = le64(seed + 8);
    *out = c;
    return 0;
}

void msgsec_kafc_free(msgsec_kafc *c)
{
    if (!c)
        return;
    for (size_t b = 0; b < c->nbuckets; b++)
        while (c->tab[b]) {
            kentry *e = c->tab[b];
            if (e->state == E_FETCHING && e->handle)
                c->ops.abandon(c->ops.arg, e->handle);
            e->handle = NULL;
            remove_entry(c, e);
        }
    pthread_mutex_destroy(&c->mu);
    c->ops.free(c->ops.arg, c->tab, c->nbuckets * sizeof(*c->tab));
    OPENSSL_cleanse(&c->k0, sizeof(c->k0));
    OPENSSL_cleanse(&c->k1, sizeof(c->k1));
    c->ops.free(c->ops.arg, c, sizeof(*c));
}

int msgsec_kafc_get(msgsec_kafc *c, const char *akid, const char *afid,
                    msgsec_kafc_waiter *w, msgsec_kafc_result *res)
{
    if (!res)
        return MSGSEC_ERR_INVALID_ARG;
    memset(res, 0, sizeof(*res));
    size_t akid_len = akid ? strlen(akid) : 0;
    size_t afid_len = afid ? strlen(afid) : 0;
    if (!c || !w || akid_len == 0 || akid_len > MSGSEC_AKID_MAX_LEN ||
        afid_len == 0 || afid_len > MSGSEC_AANF_AFID_MAX || w->entry) {
        res->rc = MSGSEC_ERR_INVALID_ARG;
        snprintf(res->detail, sizeof(res->detail), "invalid cache look-up");
        return res->rc;
    }
    uint64_t h = key_hash(c, akid, akid_len, afid, afid_len);
    pthread_mutex_lock(&c->mu);
    kentry *e = find(c, h, akid, akid_len, afid, afid_len);
    if (e && e->state == E_FETCHING) {
        /* One fetch per key: join it. */
        c->st.hits++;
        add_waiter(e, w);
        pthread_mutex_unlock(&c->mu);
        return MSGSEC_PENDING;
    }
    if (e && e->expiry > now_of(c)) {
        c->st.hits++;
        fill_hit(e, res);
        lru_unlink(c, e);
        lru_push(c, e);
        pthread_mutex_unlock(&c->mu);
        return 0;
    }
    c->st.misses++;
    if (e) {
        /* Past its expiry: never used again; fetched anew. */
        c->st.expired++;
        lru_unlink(c, e);
        drop_key(c, e);
    } else {
        if (c->count >= c->capacity) {
            if (!c->lru_tail) {
                pthread_mutex_unlock(&c->mu);
                res->rc = MSGSEC_ERR_LOOKUP_FAILED;
                snprintf(res->detail, sizeof(res->detail),
                         "%zu AAnF look-ups already in flight (the cache "
                         "holds at most %zu entries)",
                         c->fetching, c->capacity);
                return res->rc;
            }
            c->st.evictions++;
            remove_entry(c, c->lru_tail);
        }
        size_t size = sizeof(*e) + akid_len + 1 + afid_len + 1;
        e = c->ops.alloc(c->ops.arg, size);
        if (!e) {
            pthread_mutex_unlock(&c->mu);
            res->rc = MSGSEC_ERR_NOMEM;
            snprintf(res->detail, sizeof(res->detail),
                     "no memory for a cache entry");
            return res->rc;
        }
        e->size = size;
        e->hash = h;
        e->akid_len = akid_len;
        e->afid_len = afid_len;
        memcpy(e->key, akid, akid_len);
        memcpy(e->key + akid_len + 1, afid, afid_len);
        e->hnext = c->tab[h & (c->nbuckets - 1)];
        c->tab[h & (c->nbuckets - 1)] = e;
        c->count++;
    }
    e->state = E_FETCHING;
    e->handle = NULL;
    int rc = c->ops.fetch(c->ops.arg, e, e->key, e->key + akid_len + 1,
                          &e->handle, res->detail, sizeof(res->detail));
    if (rc < 0) {
        remove_entry(c, e);
        pthread_mutex_unlock(&c->mu);
        res->rc = rc;
        if (!res->detail[0])
            snprintf(res->detail, sizeof(res->detail),
                     "the look-up could not be started");
        return rc;
    }
    c->fetching++;
    c->st.fetches++;
    add_waiter(e, w);
    pthread_mutex_unlock(&c->mu);
    return MSGSEC_PENDING;
}

int msgsec_kafc_take(msgsec_kafc *c, msgsec_kafc_waiter *w,
                     msgsec_kafc_result *res)
{
    if (!c || !w || !res)
        return MSGSEC_ERR_INVALID_ARG;
    int rc;
    pthread_mutex_lock(&c->mu);
    if (w->done) {
        *res = w->res;
        msgsec_kafc_result_clear(&w->res);
        w->done = 0;
        rc = 0;
    } else {
        rc = w->entry ? MSGSEC_PENDING : MSGSEC_ERR_STATE;
    }
    pthread_mutex_unlock(&c->mu);
    return rc;
}

void msgsec_kafc_cancel(msgsec_kafc *c, msgsec_kafc_waiter *w)
{
    if (!c || !w)
        return;
    pthread_mutex_lock(&c->mu);
    kentry *e = w->entry;
    if (e) {
        if (w->prev)
            w->prev->next = w->next;
        else
            e->waiters = w->next;
        if (w->next)
            w->next->prev = w->prev;
        w->prev = w->next = NULL;
        w->entry = NULL;
    }
    if (w->done) {
        msgsec_kafc_result_clear(&w->res);
        w->done = 0;
    }
    pthread_mutex_unlock(&c->mu);
}

/* Copies the identities into e (one allocation); 0 or -1. */
static int store_ids(msgsec_kafc *c, kentry *e, const char *supi,
                     const char *gpsi)
{
    size_t s = strlen(supi), g = strlen(gpsi);
    if (s == 0 && g == 0)
        return 0;
    e->ids = c->ops.alloc(c->ops.arg, s + g + 2);
    if (!e->ids)
        return -1;
    e->ids_size = s + g + 2;
    memcpy(e->ids, supi, s + 1);
    memcpy(e->ids + s + 1, gpsi, g + 1);
    return 0;
}

void msgsec_kafc_complete(msgsec_kafc *c, void *token,
                          const msgsec_kafc_result *res)
{
    if (!c || !token || !res)
        return;
    msgsec_kafc_result r = *res;
    r.supi[sizeof(r.supi) - 1] = r.gpsi[sizeof(r.gpsi) - 1] = 0;
    r.detail[sizeof(r.detail) - 1] = 0;
    if (r.rc > 0)
        r.rc = MSGSEC_ERR_INTERNAL;
    pthread_mutex_lock(&c->mu);
    kentry *e = token;
    e->handle = NULL;
    c->fetching--;
    if (r.rc == 0 && r.expiry <= now_of(c)) {
        char when[MSGSEC_AANF_DATETIME_SIZE];
        if (msgsec_aanf_datetime_format(r.expiry, when) != 0)
            snprintf(when, sizeof(when), "%lld", (long long)r.expiry);
        OPENSSL_cleanse(r.kaf, sizeof(r.kaf));
        r.rc = MSGSEC_ERR_KEY_EXPIRED;
        snprintf(r.detail, sizeof(r.detail),
                 "the AAnF returned a K_AF that expired at %s", when);
    }
    int keep = 0;
    if (r.rc == 0) {
        memcpy(e->kaf, r.kaf, sizeof(e->kaf));
        e->expiry = r.expiry;
        keep = store_ids(c, e, r.supi, r.gpsi) == 0;
    }
    for (msgsec_kafc_waiter *w = e->waiters, *next; w; w = next) {
        next = w->next;
        w->res = r;
        w->done = 1;
        w->entry = NULL;
        w->prev = w->next = NULL;
        w->wake(w->arg);
    }
    e->waiters = NULL;
    if (keep) {
        e->state = E_READY;
        lru_push(c, e);
    } else {
        remove_entry(c, e);
    }
    pthread_mutex_unlock(&c->mu);
    msgsec_kafc_result_clear(&r);
}

void msgsec_kafc_get_stats(msgsec_kafc *c, msgsec_kafc_stats *st)
{
    if (!c || !st)
        return;
    pthread_mutex_lock(&c->mu);
    *st = c->st;
    st->entries = c->count;
    st->fetching = c->fetching;
    pthread_mutex_unlock(&c->mu);
}

void msgsec_kafc_result_clear(msgsec_kafc_result *r)
{
    if (r)
        OPENSSL_cleanse(r, sizeof(*r));
}
