/*
 * kdf.c - the TS 33.220 Annex B.2 KDF: HMAC-SHA-256 over FC || Pi || Li.
 *
 * HMAC is computed on a pre-fetched SHA-256 digest rather than through
 * EVP_MAC: with a new key on every call, EVP_MAC re-keys three digest
 * contexts and copies two of them, and HMAC()/EVP_Q_mac() also fetch on
 * every call; the direct form is several times faster (bench/bench_kdf.c).
 */
#include <stdatomic.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/crypto.h>
#include <openssl/evp.h>

#include <msgsec/kdf.h>

#define KDF_BLOCK 64  /* SHA-256 block size */
#define KDF_HASH 32   /* SHA-256 output size */
#define KDF_STAGE 192 /* bytes of S gathered before each digest update */
#define KDF_POOL 16   /* idle digest contexts kept per object */

/* One idle context, padded to a cache line of its own so that threads
 * using different slots do not contend. */
typedef struct slot {
    _Atomic(EVP_MD_CTX *) ctx;
    char pad[64 - sizeof(_Atomic(EVP_MD_CTX *))];
} slot;

/*
 * A slot is taken by exchanging it with NULL, so each call owns its context
 * without a lock. Idle contexts stay initialised with SHA-256 (state wiped
 * back to the initial value): the context keeps its reference to the
 * digest, so no call touches the digest's shared reference count.
 */
struct msgsec_kdf {
    EVP_MD *md;
    slot pool[KDF_POOL];
};

/* Gathers S after the padded key, so that short inputs cost one update. */
typedef struct stage {
    EVP_MD_CTX *ctx;
    uint8_t *buf;
    size_t n;
    size_t cap;
    int ok;
} stage;

static void stage_flush(stage *s)
{
    if (s->ok && s->n > 0 && !EVP_DigestUpdate(s->ctx, s->buf, s->n))
        s->ok = 0;
    s->n = 0;
}

static void stage_add(stage *s, const uint8_t *p, size_t len)
{
    while (len > 0 && s->ok) {
        size_t room = s->cap - s->n;
        if (s->n == 0 && len >= s->cap) {
            /* Long parameter: hash it in place rather than copying. */
            if (!EVP_DigestUpdate(s->ctx, p, len))
                s->ok = 0;
            return;
        }
        if (room > len)
            room = len;
        memcpy(s->buf + s->n, p, room);
        s->n += room;
        p += room;
        len -= room;
        if (s->n == s->cap)
            stage_flush(s);
    }
}

/* Where a thread starts looking in the pool: a hash of its stack
 * address, so that concurrent threads tend to use different slots. */
static size_t pool_start(void)
{
    unsigned char here;
    uint64_t x = (uint64_t)(uintptr_t)&here >> 12;

    x ^= x >> 17;
    x *= UINT64_C(0x9e3779b97f4a7c15);
    return (size_t)(x >> 59) % KDF_POOL;
}

/* A context initialised with SHA-256, from the pool or new. */
static EVP_MD_CTX *pool_get(msgsec_kdf *kdf, size_t start)
{
    EVP_MD_CTX *c;

    for (size_t n = 0; n < KDF_POOL; n++) {
        slot *sl = &kdf->pool[(start + n) % KDF_POOL];
        if (atomic_load_explicit(&sl->ctx, memory_order_relaxed) == NULL)
            continue;
        c = atomic_exchange_explicit(&sl->ctx, NULL, memory_order_acquire);
        if (c)
            return c;
    }
    c = EVP_MD_CTX_new();
    if (c && !EVP_DigestInit_ex2(c, kdf->md, NULL)) {
        EVP_MD_CTX_free(c);
        c = NULL;
    }
    return c;
}

/* Gives back a context in its initial state (or frees it). */
static void pool_put(msgsec_kdf *kdf, size_t start, EVP_MD_CTX *c)
{
    for (size_t n = 0; n < KDF_POOL; n++) {
        slot *sl = &kdf->pool[(start + n) % KDF_POOL];
        EVP_MD_CTX *expected = NULL;
        if (atomic_compare_exchange_strong_explicit(
                &sl->ctx, &expected, c, memory_order_release,
                memory_order_relaxed))
            return;
    }
    EVP_MD_CTX_free(c);
}

MSGSEC_SDK_EXPORT int msgsec_kdf_new_ex(struct ossl_lib_ctx_st *libctx,
                                        const char *propq, msgsec_kdf **out)
{
    msgsec_kdf *kdf;

    if (!out)
        return MSGSEC_ERR_INVALID_ARG;
    *out = NULL;
    kdf = calloc(1, sizeof(*kdf));
    if (!kdf)
        return MSGSEC_ERR_NOMEM;
    for (size_t i = 0; i < KDF_POOL; i++)
        atomic_init(&kdf->pool[i].ctx, NULL);
    kdf->md = EVP_MD_fetch(libctx, "SHA2-256", propq);
    if (!kdf->md || EVP_MD_get_size(kdf->md) != KDF_HASH ||
        EVP_MD_get_block_size(kdf->md) != KDF_BLOCK) {
        msgsec_kdf_free(kdf);
        return MSGSEC_ERR_UNSUPPORTED;
    }
    *out = kdf;
    return MSGSEC_OK;
}

MSGSEC_SDK_EXPORT int msgsec_kdf_new(msgsec_kdf **out)
{
    return msgsec_kdf_new_ex(NULL, NULL, out);
}

MSGSEC_SDK_EXPORT void msgsec_kdf_free(msgsec_kdf *kdf)
{
    if (!kdf)
        return;
    for (size_t i = 0; i < KDF_POOL; i++)
        EVP_MD_CTX_free(atomic_exchange(&kdf->pool[i].ctx, NULL));
    EVP_MD_free(kdf->md);
    free(kdf);
}

static int check_args(const uint8_t *key, size_t key_len,
                      const msgsec_kdf_param *params, size_t nparams)
{
    if (!key && key_len > 0)
        return MSGSEC_ERR_INVALID_ARG;
    if (!params && nparams > 0)
        return MSGSEC_ERR_INVALID_ARG;
    for (size_t i = 0; i < nparams; i++)
        if ((!params[i].data && params[i].len > 0) ||
            params[i].len > MSGSEC_KDF_PARAM_MAX)
            return MSGSEC_ERR_INVALID_ARG;
    return MSGSEC_OK;
}

/*
 * HMAC-SHA-256(key, S) on ctx, which is initialised with md on entry and,
 * on success, again on return: the re-initialisation wipes the final state
 * (it equals the output) and readies the context for the next call.
 * 1 on success.
 */
static int hmac_kdf(const EVP_MD *md, EVP_MD_CTX *ctx, const uint8_t *key,
                    size_t key_len, uint8_t fc,
                    const msgsec_kdf_param *params, size_t nparams,
                    uint8_t *out)
{
    uint8_t kpad[KDF_BLOCK];
    uint8_t buf[KDF_BLOCK + KDF_STAGE];
    uint8_t inner[KDF_HASH];
    stage s;
    int ok = 1;

    memset(kpad, 0, sizeof(kpad));
    if (key_len > KDF_BLOCK)
        ok = EVP_DigestUpdate(ctx, key, key_len) &&
             EVP_DigestFinal_ex(ctx, kpad, NULL) &&
             EVP_DigestInit_ex2(ctx, md, NULL);
    else if (key_len > 0)
        memcpy(kpad, key, key_len);

    /* Inner hash: (K ^ ipad) || S, staged together. */
    for (size_t i = 0; i < KDF_BLOCK; i++)
        buf[i] = kpad[i] ^ 0x36;
    buf[KDF_BLOCK] = fc;
    s.ctx = ctx;
    s.buf = buf;
    s.n = KDF_BLOCK + 1;
    s.cap = sizeof(buf);
    s.ok = ok;
    for (size_t i = 0; i < nparams && s.ok; i++) {
        uint8_t li[2];
        li[0] = (uint8_t)(params[i].len >> 8);
        li[1] = (uint8_t)params[i].len;
        stage_add(&s, params[i].data, params[i].len);
        stage_add(&s, li, sizeof(li));
    }
    stage_flush(&s);
    ok = s.ok && EVP_DigestFinal_ex(ctx, inner, NULL);

    /* Outer hash: (K ^ opad) || inner, in one update. */
    if (ok) {
        for (size_t i = 0; i < KDF_BLOCK; i++)
            buf[i] = kpad[i] ^ 0x5c;
        memcpy(buf + KDF_BLOCK, inner, KDF_HASH);
        ok = EVP_DigestInit_ex2(ctx, md, NULL) &&
             EVP_DigestUpdate(ctx, buf, KDF_BLOCK + KDF_HASH) &&
             EVP_DigestFinal_ex(ctx, out, NULL) &&
             EVP_DigestInit_ex2(ctx, md, NULL);
    }
    OPENSSL_cleanse(kpad, sizeof(kpad));
    OPENSSL_cleanse(buf, sizeof(buf));
    OPENSSL_cleanse(inner, sizeof(inner));
    return ok;
}

MSGSEC_SDK_EXPORT int msgsec_kdf_derive(msgsec_kdf *kdf, const uint8_t *key,
                                        size_t key_len, uint8_t fc,
                                        const msgsec_kdf_param *params,
                                        size_t nparams,
                                        uint8_t out[MSGSEC_KDF_OUT_LEN])
{
    EVP_MD_CTX *ctx;
    size_t start;
    int rc, ok;

    if (!kdf || !out)
        return MSGSEC_ERR_INVALID_ARG;
    rc = check_args(key, key_len, params, nparams);
    if (rc != MSGSEC_OK) {
        OPENSSL_cleanse(out, MSGSEC_KDF_OUT_LEN);
        return rc;
    }
    start = pool_start();
    ctx = pool_get(kdf, start);
    if (!ctx) {
        OPENSSL_cleanse(out, MSGSEC_KDF_OUT_LEN);
        return MSGSEC_ERR_NOMEM;
    }
    ok = hmac_kdf(kdf->md, ctx, key, key_len, fc, params, nparams, out);
    if (!ok) {
        /* State unknown: freeing wipes it (the digest clears on free). */
        EVP_MD_CTX_free(ctx);
        OPENSSL_cleanse(out, MSGSEC_KDF_OUT_LEN);
        return MSGSEC_ERR_INTERNAL;
    }
    pool_put(kdf, start, ctx);
    return MSGSEC_OK;
}

MSGSEC_SDK_EXPORT int msgsec_kdf_oneshot(const uint8_t *key, size_t key_len,
                                         uint8_t fc,
                                         const msgsec_kdf_param *params,
                                         size_t nparams,
                                         uint8_t out[MSGSEC_KDF_OUT_LEN])
{
    msgsec_kdf *kdf;
    int rc;

    if (!out)
        return MSGSEC_ERR_INVALID_ARG;
    rc = msgsec_kdf_new(&kdf);
    if (rc != MSGSEC_OK) {
        OPENSSL_cleanse(out, MSGSEC_KDF_OUT_LEN);
        return rc;
    }
    rc = msgsec_kdf_derive(kdf, key, key_len, fc, params, nparams, out);
    msgsec_kdf_free(kdf);
    return rc;
}
