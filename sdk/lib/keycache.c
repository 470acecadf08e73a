/*
 * keycache.c - a provider's key cache: a hash table keyed by (name, scope)
 * with a keyed hash (SipHash-2-4, so that peers cannot aim names at one
 * bucket), an LRU list of the stored entries, and a waiter list on each
 * entry being fetched. See <msgsec/keycache.h>.
 *
 * Entry states: FETCHING (a fetch is in flight; waiters hang on it; never
 * evicted) and READY (key stored; on the LRU list). Failed fetches are
 * not stored.
 */
#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include <openssl/crypto.h>

#include "msgsec/aanf.h"
#include "msgsec/keycache.h"

enum { E_FETCHING = 1, E_READY = 2 };

typedef struct kentry {
    struct kentry *hnext;
    struct kentry *lprev, *lnext; /* LRU, READY entries only */
    uint64_t hash;
    int state;
    void *handle; /* the fetch's, while FETCHING */
    msgsec_keycache_waiter *waiters;
    uint8_t kv[MSGSEC_KEYCACHE_KEY_MAX];
    size_t kv_len;
    int64_t expiry;
    int64_t fetched; /* when the key server gave it */
    char *ids; /* "id1\0id2\0", or NULL */
    size_t ids_size;
    size_t name_len, scope_len;
    size_t size; /* of this allocation */
    char key[];  /* name \0 scope \0 */
} kentry;

struct msgsec_keycache {
    msgsec_keycache_ops ops;
    pthread_mutex_t mu;
    size_t capacity, nbuckets, count, fetching;
    kentry **tab;
    kentry *lru_head, *lru_tail; /* head: most recently used */
    uint64_t k0, k1;
    msgsec_keycache_stats st;
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

static uint64_t siphash24(uint64_t k0, uint64_t k1, const uint8_t *m, size_t n)
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

static uint64_t key_hash(const msgsec_keycache *c, const char *name,
                         size_t name_len, const char *scope, size_t scope_len)
{
    uint8_t buf[2 * MSGSEC_KEYCACHE_NAME_MAX + 1];
    memcpy(buf, name, name_len);
    buf[name_len] = 0;
    memcpy(buf + name_len + 1, scope, scope_len);
    return siphash24(c->k0, c->k1, buf, name_len + 1 + scope_len);
}

/* ---------------------------------------------------------- helpers */

static void *ops_alloc(const msgsec_keycache_ops *o, size_t n)
{
    return o->alloc ? o->alloc(o->arg, n) : o->up->alloc(o->pc, n);
}

static void ops_free(const msgsec_keycache_ops *o, void *p, size_t n)
{
    if (o->free)
        o->free(o->arg, p, n);
    else
        o->up->free(o->pc, p, n);
}

static int64_t now_of(const msgsec_keycache *c)
{
    return c->ops.now ? c->ops.now(c->ops.arg) : (int64_t)time(NULL);
}

static void lru_unlink(msgsec_keycache *c, kentry *e)
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

static void lru_push(msgsec_keycache *c, kentry *e)
{
    e->lprev = NULL;
    e->lnext = c->lru_head;
    if (c->lru_head)
        c->lru_head->lprev = e;
    c->lru_head = e;
    if (!c->lru_tail)
        c->lru_tail = e;
}

static void drop_key(msgsec_keycache *c, kentry *e)
{
    OPENSSL_cleanse(e->kv, sizeof(e->kv));
    e->kv_len = 0;
    e->expiry = 0;
    if (e->ids)
        ops_free(&c->ops, e->ids, e->ids_size);
    e->ids = NULL;
    e->ids_size = 0;
}

/* Unlinks e from its bucket and the LRU list and frees it (wiped). */
static void remove_entry(msgsec_keycache *c, kentry *e)
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
    ops_free(&c->ops, e, e->size);
}

static kentry *find(msgsec_keycache *c, uint64_t h, const char *name,
                    size_t name_len, const char *scope, size_t scope_len)
{
    for (kentry *e = c->tab[h & (c->nbuckets - 1)]; e; e = e->hnext)
        if (e->hash == h && e->name_len == name_len &&
            e->scope_len == scope_len && memcmp(e->key, name, name_len) == 0 &&
            memcmp(e->key + name_len + 1, scope, scope_len) == 0)
            return e;
    return NULL;
}

static void add_waiter(kentry *e, msgsec_keycache_waiter *w)
{
    w->entry = e;
    w->done = 0;
    w->prev = NULL;
    w->next = e->waiters;
    if (e->waiters)
        e->waiters->prev = w;
    e->waiters = w;
}

static void fill_hit(const kentry *e, msgsec_keycache_result *res)
{
    res->rc = 0;
    memcpy(res->key, e->kv, e->kv_len);
    res->key_len = e->kv_len;
    res->expiry = e->expiry;
    res->fetched = e->fetched;
    if (e->ids) {
        const char *id2 = e->ids + strlen(e->ids) + 1;
        snprintf(res->id1, sizeof(res->id1), "%s", e->ids);
        snprintf(res->id2, sizeof(res->id2), "%s", id2);
    }
}

/* ---------------------------------------------------------- public */

MSGSEC_SDK_EXPORT int msgsec_keycache_new(const msgsec_keycache_ops *ops,
                                          size_t capacity,
                                          const uint8_t seed[16],
                                          msgsec_keycache **out)
{
    if (!out)
        return MSGSEC_ERR_INVALID_ARG;
    *out = NULL;
    if (!ops || !ops->fetch || !ops->abandon ||
        (!ops->alloc || !ops->free ? ops->alloc || ops->free || !ops->up
                                   : 0) ||
        (!seed && !ops->up) || capacity < MSGSEC_KEYCACHE_MIN ||
        capacity > MSGSEC_KEYCACHE_MAX)
        return MSGSEC_ERR_INVALID_ARG;
    uint8_t own[16];
    if (!seed) {
        int rc = ops->up->random(ops->pc, own, sizeof(own));
        if (rc < 0)
            return rc;
        seed = own;
    }
    uint64_t k0 = le64(seed), k1 = le64(seed + 8);
    OPENSSL_cleanse(own, sizeof(own));
    msgsec_keycache *c = ops_alloc(ops, sizeof(*c));
    if (!c)
        return MSGSEC_ERR_NOMEM;
    c->ops = *ops;
    c->capacity = capacity;
    /* About one entry per bucket when full. */
    c->nbuckets = 16;
    while (c->nbuckets < capacity)
        c->nbuckets <<= 1;
    c->tab = ops_alloc(ops, c->nbuckets * sizeof(*c->tab));
    if (!c->tab) {
        ops_free(ops, c, sizeof(*c));
        return MSGSEC_ERR_NOMEM;
    }
    if (pthread_mutex_init(&c->mu, NULL) != 0) {
        ops_free(ops, c->tab, c->nbuckets * sizeof(*c->tab));
        ops_free(ops, c, sizeof(*c));
        return MSGSEC_ERR_INTERNAL;
    }
    c->k0 = k0;
    c->k1 = k1;
    *out = c;
    return 0;
}

MSGSEC_SDK_EXPORT void msgsec_keycache_free(msgsec_keycache *c)
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
    ops_free(&c->ops, c->tab, c->nbuckets * sizeof(*c->tab));
    OPENSSL_cleanse(&c->k0, sizeof(c->k0));
    OPENSSL_cleanse(&c->k1, sizeof(c->k1));
    ops_free(&c->ops, c, sizeof(*c));
}

MSGSEC_SDK_EXPORT int msgsec_keycache_get(msgsec_keycache *c, const char *name,
                                          const char *scope,
                                          msgsec_keycache_waiter *w,
                                          msgsec_keycache_result *res)
{
    if (!res)
        return MSGSEC_ERR_INVALID_ARG;
    memset(res, 0, sizeof(*res));
    if (!scope)
        scope = "";
    size_t name_len = name ? strlen(name) : 0;
    size_t scope_len = strlen(scope);
    if (!c || !w || name_len == 0 || name_len > MSGSEC_KEYCACHE_NAME_MAX ||
        scope_len > MSGSEC_KEYCACHE_NAME_MAX || w->entry) {
        res->rc = MSGSEC_ERR_INVALID_ARG;
        snprintf(res->detail, sizeof(res->detail), "invalid cache look-up");
        return res->rc;
    }
    uint64_t h = key_hash(c, name, name_len, scope, scope_len);
    pthread_mutex_lock(&c->mu);
    kentry *e = find(c, h, name, name_len, scope, scope_len);
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
                         "%zu key look-ups already in flight (the cache "
                         "holds at most %zu entries)",
                         c->fetching, c->capacity);
                return res->rc;
            }
            c->st.evictions++;
            remove_entry(c, c->lru_tail);
        }
        size_t size = sizeof(*e) + name_len + 1 + scope_len + 1;
        e = ops_alloc(&c->ops, size);
        if (!e) {
            pthread_mutex_unlock(&c->mu);
            res->rc = MSGSEC_ERR_NOMEM;
            snprintf(res->detail, sizeof(res->detail),
                     "no memory for a cache entry");
            return res->rc;
        }
        e->size = size;
        e->hash = h;
        e->name_len = name_len;
        e->scope_len = scope_len;
        memcpy(e->key, name, name_len);
        memcpy(e->key + name_len + 1, scope, scope_len);
        e->hnext = c->tab[h & (c->nbuckets - 1)];
        c->tab[h & (c->nbuckets - 1)] = e;
        c->count++;
    }
    e->state = E_FETCHING;
    e->handle = NULL;
    int rc = c->ops.fetch(c->ops.arg, e, e->key, e->key + name_len + 1,
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

MSGSEC_SDK_EXPORT int msgsec_keycache_take(msgsec_keycache *c,
                                           msgsec_keycache_waiter *w,
                                           msgsec_keycache_result *res)
{
    if (!c || !w || !res)
        return MSGSEC_ERR_INVALID_ARG;
    int rc;
    pthread_mutex_lock(&c->mu);
    if (w->done) {
        *res = w->res;
        msgsec_keycache_result_clear(&w->res);
        w->done = 0;
        rc = 0;
    } else {
        rc = w->entry ? MSGSEC_PENDING : MSGSEC_ERR_STATE;
    }
    pthread_mutex_unlock(&c->mu);
    return rc;
}

MSGSEC_SDK_EXPORT void msgsec_keycache_cancel(msgsec_keycache *c,
                                              msgsec_keycache_waiter *w)
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
        msgsec_keycache_result_clear(&w->res);
        w->done = 0;
    }
    pthread_mutex_unlock(&c->mu);
}

MSGSEC_SDK_EXPORT int msgsec_keycache_lookup(msgsec_keycache *c,
                                             const char *name,
                                             const char *scope,
                                             msgsec_keycache_waiter *w,
                                             msgsec_keycache_result *res)
{
    if (!c || !w || !res)
        return MSGSEC_ERR_INVALID_ARG;
    pthread_mutex_lock(&c->mu);
    int registered = w->entry != NULL || w->done;
    pthread_mutex_unlock(&c->mu);
    /* Only the session's own thread registers or collects w: what it saw
     * stays true until take() below. */
    int rc = registered ? msgsec_keycache_take(c, w, res)
                        : msgsec_keycache_get(c, name, scope, w, res);
    if (rc == MSGSEC_PENDING || rc == 0)
        return rc;
    if (res->rc == 0)
        res->rc = rc;
    return 0;
}

MSGSEC_SDK_EXPORT void msgsec_keycache_drop(msgsec_keycache *c,
                                            const char *name, const char *scope)
{
    size_t name_len = name ? strlen(name) : 0;
    size_t scope_len = scope ? strlen(scope) : 0;
    if (!c || name_len == 0 || name_len > MSGSEC_KEYCACHE_NAME_MAX ||
        scope_len > MSGSEC_KEYCACHE_NAME_MAX)
        return;
    uint64_t h = key_hash(c, name, name_len, scope ? scope : "", scope_len);
    pthread_mutex_lock(&c->mu);
    kentry *e = find(c, h, name, name_len, scope ? scope : "", scope_len);
    if (e && e->state == E_READY)
        remove_entry(c, e);
    pthread_mutex_unlock(&c->mu);
}

/* Copies the identities into e (one allocation); 0 or -1. */
static int store_ids(msgsec_keycache *c, kentry *e, const char *id1,
                     const char *id2)
{
    size_t s = strlen(id1), g = strlen(id2);
    if (s == 0 && g == 0)
        return 0;
    e->ids = ops_alloc(&c->ops, s + g + 2);
    if (!e->ids)
        return -1;
    e->ids_size = s + g + 2;
    memcpy(e->ids, id1, s + 1);
    memcpy(e->ids + s + 1, id2, g + 1);
    return 0;
}

MSGSEC_SDK_EXPORT void
msgsec_keycache_complete(msgsec_keycache *c, void *token,
                         const msgsec_keycache_result *res)
{
    if (!c || !token || !res)
        return;
    msgsec_keycache_result r = *res;
    r.id1[sizeof(r.id1) - 1] = r.id2[sizeof(r.id2) - 1] = 0;
    r.detail[sizeof(r.detail) - 1] = 0;
    if (r.rc > 0 ||
        (r.rc == 0 && (r.key_len == 0 || r.key_len > sizeof(r.key))))
        r.rc = MSGSEC_ERR_INTERNAL;
    pthread_mutex_lock(&c->mu);
    kentry *e = token;
    e->handle = NULL;
    c->fetching--;
    if (r.rc == 0 && r.expiry <= now_of(c)) {
        char when[MSGSEC_AANF_DATETIME_SIZE];
        if (msgsec_aanf_datetime_format(r.expiry, when) != 0)
            snprintf(when, sizeof(when), "%lld", (long long)r.expiry);
        OPENSSL_cleanse(r.key, sizeof(r.key));
        r.rc = MSGSEC_ERR_KEY_EXPIRED;
        snprintf(r.detail, sizeof(r.detail),
                 "the key server returned a key that expired at %s", when);
    }
    int keep = 0;
    r.fetched = now_of(c);
    if (r.rc == 0) {
        memcpy(e->kv, r.key, r.key_len);
        e->kv_len = r.key_len;
        e->expiry = r.expiry;
        e->fetched = r.fetched;
        keep = store_ids(c, e, r.id1, r.id2) == 0;
    }
    for (msgsec_keycache_waiter *w = e->waiters, *next; w; w = next) {
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
    msgsec_keycache_result_clear(&r);
}

MSGSEC_SDK_EXPORT void msgsec_keycache_get_stats(msgsec_keycache *c,
                                                 msgsec_keycache_stats *st)
{
    if (!c || !st)
        return;
    pthread_mutex_lock(&c->mu);
    *st = c->st;
    st->entries = c->count;
    st->fetching = c->fetching;
    pthread_mutex_unlock(&c->mu);
}

MSGSEC_SDK_EXPORT void msgsec_keycache_result_clear(msgsec_keycache_result *r)
{
    if (r)
        OPENSSL_cleanse(r, sizeof(*r));
}

MSGSEC_SDK_EXPORT int msgsec_keycache_result_fail(msgsec_keycache_result *r,
                                                  int rc, const char *fmt,
                                                  ...)
{
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(r->detail, sizeof(r->detail), fmt, ap);
    va_end(ap);
    r->rc = rc;
    return rc;
}

/* The HTTP client's detail reads "METHOD URL: CAUSE" (URLs hold no
 * blank): the cause. */
static const char *http_cause(const char *d)
{
    const char *sp = strchr(d, ' ');
    if (!sp || strncmp(sp + 1, "http", 4) != 0)
        return d;
    const char *colon = strstr(sp + 1, ": ");
    return colon && !memchr(sp + 1, ' ', (size_t)(colon - sp - 1))
               ? colon + 2
               : d;
}

MSGSEC_SDK_EXPORT int msgsec_keycache_http_failure(
    msgsec_keycache_result *r, const msgsec_http_response *resp,
    const char *server, long timeout_ms)
{
    if (resp->result >= 0)
        return 0;
    memset(r, 0, sizeof(*r));
    if (resp->result == MSGSEC_ERR_TIMEOUT)
        msgsec_keycache_result_fail(r, MSGSEC_ERR_TIMEOUT,
                                    "%s did not answer within %ld ms", server,
                                    timeout_ms);
    else if (resp->result == MSGSEC_ERR_NOMEM)
        msgsec_keycache_result_fail(r, MSGSEC_ERR_NOMEM,
                                    "no memory for the answer of %s", server);
    else
        msgsec_keycache_result_fail(r, MSGSEC_ERR_LOOKUP_FAILED,
                                    "%s is unreachable: %s", server,
                                    http_cause(resp->detail ? resp->detail
                                                            : ""));
    return 1;
}
