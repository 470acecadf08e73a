/*
 * kdf.h - the 3GPP generic key derivation function (TS 33.220 Annex B.2).
 *
 *   derived key = HMAC-SHA-256(Key, S)
 *   S = FC || P0 || L0 || P1 || L1 || ... || Pn || Ln
 *
 * FC is one byte chosen by the specification that uses the KDF (AKMA: 0x80,
 * 0x81, 0x82, see <msgsec/akma_keys.h>); each Li is the length of Pi in
 * bytes as 2 bytes big-endian, so a parameter holds at most 65535 bytes.
 * Any number of parameters, empty ones included. The output is 32 bytes.
 *
 * A msgsec_kdf object fetches SHA-256 once (OpenSSL 3's fetch costs more
 * than the derivation itself) and keeps a small lock-free pool of digest
 * contexts. HMAC is computed directly on the digest: for a new key on every
 * call this is several times faster than EVP_MAC or HMAC() (figures in
 * bench/bench_kdf.c).
 *
 * Threads: one object may be shared by any number of threads without
 * locking; each call takes a digest context of its own from the pool (or
 * makes one when all are busy). Only msgsec_kdf_free() must not run
 * concurrently with other calls on the same object.
 *
 * Secrets: the padded key, the inner hash and the digest state are wiped
 * with OPENSSL_cleanse() before each call returns, also on failure (the
 * output buffer is then zeroed).
 */
#ifndef MSGSEC_KDF_H
#define MSGSEC_KDF_H

#include <stddef.h>
#include <stdint.h>

#include <msgsec/sdk.h>

#ifdef __cplusplus
extern "C" {
#endif

/* Length of every derived key. */
#define MSGSEC_KDF_OUT_LEN 32
/* Largest parameter: its length must fit in the 2-byte Li field. */
#define MSGSEC_KDF_PARAM_MAX 65535u

/* OpenSSL's library context (OSSL_LIB_CTX), without including OpenSSL. */
struct ossl_lib_ctx_st;

typedef struct msgsec_kdf msgsec_kdf;

/* One input parameter Pi. data may be NULL only when len is 0. */
typedef struct msgsec_kdf_param {
    const uint8_t *data;
    size_t len;
} msgsec_kdf_param;

/*
 * Creates a KDF object using the default library context.
 * Errors: MSGSEC_ERR_INVALID_ARG (out NULL), MSGSEC_ERR_NOMEM,
 * MSGSEC_ERR_UNSUPPORTED (SHA-256 is not available).
 */
MSGSEC_SDK_EXPORT int msgsec_kdf_new(msgsec_kdf **out);

/*
 * As msgsec_kdf_new(), fetching SHA-256 from libctx with the property query
 * propq (both may be NULL: the defaults).
 */
MSGSEC_SDK_EXPORT int msgsec_kdf_new_ex(struct ossl_lib_ctx_st *libctx,
                                        const char *propq, msgsec_kdf **out);

/* Frees the object and its pooled contexts. NULL is ok. */
MSGSEC_SDK_EXPORT void msgsec_kdf_free(msgsec_kdf *kdf);

/*
 * out = KDF(key, FC, params[0..nparams-1]). key may be of any length
 * (keys longer than 64 bytes are first hashed, as HMAC specifies); nparams
 * may be 0 (S = FC). out may alias neither key nor a parameter.
 * Errors: MSGSEC_ERR_INVALID_ARG (NULL kdf/out, key NULL with key_len > 0,
 * params NULL with nparams > 0, a parameter NULL with len > 0 or longer
 * than MSGSEC_KDF_PARAM_MAX), MSGSEC_ERR_NOMEM, MSGSEC_ERR_INTERNAL.
 */
MSGSEC_SDK_EXPORT int msgsec_kdf_derive(msgsec_kdf *kdf, const uint8_t *key,
                                        size_t key_len, uint8_t fc,
                                        const msgsec_kdf_param *params,
                                        size_t nparams,
                                        uint8_t out[MSGSEC_KDF_OUT_LEN]);

/*
 * One-shot convenience: as msgsec_kdf_derive() with a temporary object.
 * Fetches SHA-256 on every call: use a msgsec_kdf for anything repeated.
 */
MSGSEC_SDK_EXPORT int msgsec_kdf_oneshot(const uint8_t *key, size_t key_len,
                                         uint8_t fc,
                                         const msgsec_kdf_param *params,
                                         size_t nparams,
                                         uint8_t out[MSGSEC_KDF_OUT_LEN]);

#ifdef __cplusplus
}
#endif

#endif /* MSGSEC_KDF_H */
