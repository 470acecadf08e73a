/*
 * provcfg.h - reading a provider's policy section: errors that name the
 * key and its FILE:LINE, numbers, secrets in files that only their owner
 * may read, hex keys given inline or in a file, and the TLS settings that
 * TLS-PSK providers share (tls12, tls12_cipher, allow_psk_ke; see
 * msgsec-akma(7)).
 *
 * Every function taking up and pc reports a failure through
 * up->set_detail() as "KEY at FILE:LINE: cause" (never a secret) and
 * returns the error, so that init() can return it as it is.
 */
#ifndef MSGSEC_PROVCFG_H
#define MSGSEC_PROVCFG_H

#include <stddef.h>
#include <stdint.h>

#include <msgsec/provider.h>
#include <msgsec/sdk.h>
#include <msgsec/tlspsk.h>

#ifdef __cplusplus
extern "C" {
#endif

/* A "KEY at FILE:LINE: ..." init failure; returns code. */
MSGSEC_SDK_EXPORT int msgsec_provcfg_fail(const msgsec_upcalls *up,
                                          msgsec_pctx *pc, int code,
                                          const char *key, const char *fmt,
                                          ...)
#ifdef __GNUC__
    __attribute__((format(printf, 5, 6)))
#endif
    ;

/* A decimal number from min to max: 0 (*out set, or left alone when the
 * key is absent) or MSGSEC_ERR_POLICY_BAD_VALUE. */
MSGSEC_SDK_EXPORT int msgsec_provcfg_number(const msgsec_upcalls *up,
                                            msgsec_pctx *pc, const char *key,
                                            long min, long max, long *out);

/*
 * Reads the file a policy key names that holds a secret: it must be a
 * regular file owned by this user or root that neither group nor others
 * may access, and shorter than cap bytes. Writes its bytes to buf (NUL
 * added, *len without it). Errors: MSGSEC_ERR_POLICY_BAD_VALUE (cannot
 * read, too long), MSGSEC_ERR_POLICY_UNSAFE_FILE (mode, owner); buf wiped.
 */
MSGSEC_SDK_EXPORT int msgsec_provcfg_secret_file(const msgsec_upcalls *up,
                                                 msgsec_pctx *pc,
                                                 const char *key,
                                                 const char *path, char *buf,
                                                 size_t cap, size_t *len);

/*
 * A secret written in the policy itself (key) is as secret as a key file:
 * the policy file must then be readable by its owner only. 0 or
 * MSGSEC_ERR_POLICY_UNSAFE_FILE.
 */
MSGSEC_SDK_EXPORT int msgsec_provcfg_inline_secret(const msgsec_upcalls *up,
                                                   msgsec_pctx *pc,
                                                   const char *key);

/*
 * A key of exactly n bytes written as 2n hex digits, from the key `name`
 * (inline; the policy file must be private) or `name`_file (a secret file
 * of the digits, blanks around them allowed). Giving both is an error.
 * Returns 1 (out filled), 0 (neither key present) or an error (out wiped).
 */
MSGSEC_SDK_EXPORT int msgsec_provcfg_hex_key(const msgsec_upcalls *up,
                                             msgsec_pctx *pc,
                                             const char *name, uint8_t *out,
                                             size_t n);

/*
 * A secret string (an access token, a client secret) from the key `name`
 * (inline; the policy file must be private) or `name`_file (a secret file;
 * blanks around the text ignored): 1 to cap - 1 bytes of printable ASCII.
 * Returns 1 (out filled), 0 (neither present) or an error (out wiped).
 */
MSGSEC_SDK_EXPORT int msgsec_provcfg_secret_text(const msgsec_upcalls *up,
                                                 msgsec_pctx *pc,
                                                 const char *name, char *out,
                                                 size_t cap);

/* The TLS versions a policy allows (tls12 = no | yes | only). */
enum msgsec_provcfg_tls_mode {
    MSGSEC_PROVCFG_TLS13 = 0,    /* no: TLS 1.3 only */
    MSGSEC_PROVCFG_TLS12_13 = 1, /* yes: TLS 1.2 and 1.3 */
    MSGSEC_PROVCFG_TLS12 = 2     /* only: TLS 1.2 only */
};

typedef struct msgsec_provcfg_tls {
    int mode;              /* enum msgsec_provcfg_tls_mode */
    uint16_t tls12_cipher; /* the one TLS 1.2 suite (IANA code point) */
    const char *tls12_cipher_name; /* its OpenSSL name (static) */
} msgsec_provcfg_tls;

/*
 * Reads tls12 (no | yes | only; default no), allow_psk_ke (no | yes |
 * prefer; default no) and tls12_cipher (one TLS 1.2 PSK suite; default
 * ECDHE-PSK-CHACHA20-POLY1305; a suite without forward secrecy needs
 * allow_psk_ke) into cfg's versions, kex and cipher_list, and *out.
 * Returns 0 or MSGSEC_ERR_POLICY_BAD_VALUE.
 */
MSGSEC_SDK_EXPORT int msgsec_provcfg_tls_settings(const msgsec_upcalls *up,
                                                  msgsec_pctx *pc,
                                                  msgsec_tlspsk_config *cfg,
                                                  msgsec_provcfg_tls *out);

/* The MSGSEC_TLSPROV_TLS13/_TLS12 bits of a mode, for claim. */
MSGSEC_SDK_EXPORT unsigned msgsec_provcfg_tls_versions(
    const msgsec_provcfg_tls *t);

#ifdef __cplusplus
}
#endif
#endif /* MSGSEC_PROVCFG_H */
