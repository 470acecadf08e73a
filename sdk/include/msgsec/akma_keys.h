/*
 * akma_keys.h - AKMA key derivations and identifiers (TS 33.535 Annex A,
 * TS 33.220 Annex B.2 and H, TS 23.003 28.2, RFC 7542).
 *
 *   K_AKMA = KDF(K_AUSF, 0x80, "AKMA", SUPI)
 *   A-TID  = KDF(K_AUSF, 0x81, "A-TID", SUPI)
 *   K_AF   = KDF(K_AKMA, 0x82, AF_ID)      AF_ID = FQDN || Ua* identifier
 *   A-KID  = username@realm (an NAI)
 *
 * Every function takes byte buffers with lengths (strings need no NUL) and
 * returns 0 or a negative MSGSEC_ERR_* code. The derivation functions take a
 * msgsec_kdf (see <msgsec/kdf.h>) that may be shared between threads; NULL
 * makes a temporary one for the call, which is much slower. Keys are 32
 * bytes (256 bits). On failure a key output is zeroed.
 *
 * SUPI. TS 33.501 A.7.0 puts an IMSI into the KDF as its bare digits
 * ("001010000000001"), not in the SBI form "imsi-001010000000001". The
 * derivations therefore strip a leading "imsi-" (any case), after which 5 to
 * 15 digits must follow. Every other form ("nai-...", "gci-...", bare
 * digits, an NAI) is used byte for byte as given.
 *
 * Settings where 3GPP is open, with their defaults (the provider and the
 * emulators read the same settings through these functions):
 *   - the Ua* identifier of TLS 1.2: 01 00 01 yy zz, yy zz the cipher suite
 *     code point (a parameter of msgsec_akma_ua_id_tls12());
 *   - the A-KID username: "<RID><separator><A-TID>", separator "." and the
 *     A-TID as 64 lowercase hex digits, or 43 base64url characters without
 *     padding (msgsec_akid_settings; keys akid_separator and
 *     akid_atid_encoding).
 */
#ifndef MSGSEC_AKMA_KEYS_H
#define MSGSEC_AKMA_KEYS_H

#include <stddef.h>
#include <stdint.h>

#include <msgsec/kdf.h>
#include <msgsec/sdk.h>

#ifdef __cplusplus
extern "C" {
#endif

#define MSGSEC_AKMA_KEY_LEN 32  /* K_AUSF, K_AKMA, K_AF */
#define MSGSEC_AKMA_A_TID_LEN 32
#define MSGSEC_AKMA_UA_ID_LEN 5 /* Ua* security protocol identifier */
#define MSGSEC_AKMA_FQDN_MAX 255
#define MSGSEC_AKMA_AF_ID_MAX (MSGSEC_AKMA_FQDN_MAX + MSGSEC_AKMA_UA_ID_LEN)

/* FC values of TS 33.535 Annex A. */
#define MSGSEC_AKMA_FC_K_AKMA 0x80
#define MSGSEC_AKMA_FC_A_TID 0x81
#define MSGSEC_AKMA_FC_K_AF 0x82

/* Ua* identifier of shared-key TLS 1.3 (TS 33.222 5.4.0.2), for static
 * initialisers: static const uint8_t id[] = MSGSEC_AKMA_UA_ID_TLS13; */
#define MSGSEC_AKMA_UA_ID_TLS13 {0x01, 0x00, 0x00, 0x00, 0x07}

/* ------------------------------------------------------------ SUPI */

/*
 * The SUPI as it goes into the KDF: *value points into supi (no copy).
 * Errors: MSGSEC_ERR_INVALID_ARG (NULL pointers, empty SUPI, longer than
 * the KDF allows, "imsi-" not followed by 5 to 15 digits).
 */
MSGSEC_SDK_EXPORT int msgsec_akma_supi_value(const char *supi, size_t len,
                                             const char **value,
                                             size_t *value_len);

/* ----------------------------------------------------- derivations */

/* K_AKMA from K_AUSF (32 bytes) and the SUPI (normalised as above). */
MSGSEC_SDK_EXPORT int msgsec_akma_derive_k_akma(
    msgsec_kdf *kdf, const uint8_t *k_ausf, size_t k_ausf_len,
    const char *supi, size_t supi_len, uint8_t out[MSGSEC_AKMA_KEY_LEN]);

/* A-TID from K_AUSF (32 bytes) and the SUPI (normalised as above). */
MSGSEC_SDK_EXPORT int msgsec_akma_derive_a_tid(
    msgsec_kdf *kdf, const uint8_t *k_ausf, size_t k_ausf_len,
    const char *supi, size_t supi_len, uint8_t out[MSGSEC_AKMA_A_TID_LEN]);

/* K_AF from K_AKMA (32 bytes) and a complete AF_ID (FQDN || Ua* id, as
 * msgsec_akma_af_id() builds it; 6 to MSGSEC_AKMA_AF_ID_MAX bytes). */
MSGSEC_SDK_EXPORT int msgsec_akma_derive_k_af(
    msgsec_kdf *kdf, const uint8_t *k_akma, size_t k_akma_len,
    const uint8_t *af_id, size_t af_id_len, uint8_t out[MSGSEC_AKMA_KEY_LEN]);

/* K_AF from K_AKMA, the AF's FQDN and its Ua* identifier (no buffer for
 * the AF_ID needed). The FQDN is checked as by msgsec_akma_af_id(). */
MSGSEC_SDK_EXPORT int msgsec_akma_derive_k_af_fqdn(
    msgsec_kdf *kdf, const uint8_t *k_akma, size_t k_akma_len,
    const char *fqdn, size_t fqdn_len,
    const uint8_t ua_id[MSGSEC_AKMA_UA_ID_LEN],
    uint8_t out[MSGSEC_AKMA_KEY_LEN]);

/*
 * AF_ID = FQDN || ua_id into out (cap bytes); *out_len = fqdn_len + 5.
 * The FQDN: 1 to 255 bytes of printable ASCII or well-formed UTF-8 (it
 * goes into the KDF as given: no case folding, no trailing-dot removal).
 * Errors: MSGSEC_ERR_INVALID_ARG, MSGSEC_ERR_BUFFER_TOO_SMALL.
 */
MSGSEC_SDK_EXPORT int msgsec_akma_af_id(
    const char *fqdn, size_t fqdn_len,
    const uint8_t ua_id[MSGSEC_AKMA_UA_ID_LEN], uint8_t *out, size_t cap,
    size_t *out_len);

/* Ua* identifier of shared-key TLS 1.3: 01 00 00 00 07. */
MSGSEC_SDK_EXPORT int msgsec_akma_ua_id_tls13(
    uint8_t out[MSGSEC_AKMA_UA_ID_LEN]);
/* Ua* identifier of shared-key TLS 1.2: 01 00 01 yy zz, yy zz the cipher
 * suite code point (e.g. 0x00a8 for TLS_PSK_WITH_AES_128_GCM_SHA256). */
MSGSEC_SDK_EXPORT int msgsec_akma_ua_id_tls12(
    uint16_t cipher_suite, uint8_t out[MSGSEC_AKMA_UA_ID_LEN]);

/*
 * Runs the known-answer values (K_AKMA, A-TID and K_AF of a fixed K_AUSF,
 * SUPI and AF, the SUPI given in both forms) through kdf (NULL: a
 * temporary object). Errors: MSGSEC_ERR_PROVIDER_SELF_TEST on a wrong value,
 * else those of the derivations.
 */
MSGSEC_SDK_EXPORT int msgsec_akma_self_test(msgsec_kdf *kdf);

/* ---------------------------------------------- home network realm */

/* "5gc.mnc" + 3 + ".mcc" + 3 + ".3gppnetwork.org" */
#define MSGSEC_AKMA_REALM_LEN 33

/*
 * The home network domain 5gc.mnc<MNC>.mcc<MCC>.3gppnetwork.org (TS 23.003
 * 28.2) into out (cap >= 34: it is NUL-terminated). mcc: 3 digits; mnc: 2
 * or 3 digits, a 2-digit MNC is zero-padded to 3.
 * Errors: MSGSEC_ERR_INVALID_ARG, MSGSEC_ERR_BUFFER_TOO_SMALL.
 */
MSGSEC_SDK_EXPORT int msgsec_akma_realm_build(const char *mcc, size_t mcc_len,
                                              const char *mnc, size_t mnc_len,
                                              char *out, size_t cap,
                                              size_t *out_len);

/*
 * Whether realm is a home network domain (compared without regard to
 * case); when it is, mcc and mnc receive the 3 digits each, NUL-terminated.
 * Errors: MSGSEC_ERR_INVALID_ARG (NULL pointers), MSGSEC_ERR_BAD_FRAME
 * (another realm).
 */
MSGSEC_SDK_EXPORT int msgsec_akma_realm_parse(const char *realm, size_t len,
                                              char mcc[4], char mnc[4]);

/* ----------------------------------------------------------- A-KID */

/* RFC 7542: an NAI of up to 253 octets must be supported. Longer A-KIDs
 * are refused. */
#define MSGSEC_AKID_MAX_LEN 253
#define MSGSEC_AKID_SEPARATOR_MAX 8
#define MSGSEC_AKID_RID_MAX 4 /* Routing Indicator: 1 to 4 digits */

/* Setting names, as the provider and the emulators read them. */
#define MSGSEC_AKID_KEY_SEPARATOR "akid_separator"
#define MSGSEC_AKID_KEY_ATID_ENCODING "akid_atid_encoding"

enum msgsec_akid_atid_encoding {
    MSGSEC_AKID_ATID_HEX = 0,      /* "hex": 64 lowercase hex digits */
    MSGSEC_AKID_ATID_BASE64URL = 1 /* "base64url": 43 characters, no '=' */
};

/* The A-KID username form: <RID><separator><A-TID encoded>. */
typedef struct msgsec_akid_settings {
    /* NUL-terminated, 0 to 8 characters: letters, digits, '.' (never two
     * in a row) and !#$%&'*+-/=?^_`{|}~ */
    char separator[MSGSEC_AKID_SEPARATOR_MAX + 1];
    int atid_encoding; /* enum msgsec_akid_atid_encoding */
} msgsec_akid_settings;

/* Fills s with the defaults: separator ".", A-TID in hex. */
MSGSEC_SDK_EXPORT void msgsec_akid_settings_default(msgsec_akid_settings *s);

/*
 * Sets one setting by name: MSGSEC_AKID_KEY_SEPARATOR (any allowed
 * separator, "" for none) or MSGSEC_AKID_KEY_ATID_ENCODING ("hex" or
 * "base64url"). On error s is unchanged and *reason (when reason is not
 * NULL) says why. Errors: MSGSEC_ERR_INVALID_ARG (NULL pointers),
 * MSGSEC_ERR_POLICY_UNKNOWN_KEY (another key), MSGSEC_ERR_POLICY_BAD_VALUE.
 */
MSGSEC_SDK_EXPORT int msgsec_akid_settings_set(msgsec_akid_settings *s,
                                               const char *key,
                                               const char *value,
                                               const char **reason);

/*
 * Builds "<RID><sep><A-TID>@5gc.mnc<MNC>.mcc<MCC>.3gppnetwork.org" into out
 * (NUL-terminated; *out_len is the length without the NUL, and on
 * MSGSEC_ERR_BUFFER_TOO_SMALL the length needed). s NULL: the defaults.
 * rid: 1 to 4 digits; mcc: 3 digits; mnc: 2 or 3 digits.
 * Errors: MSGSEC_ERR_INVALID_ARG, MSGSEC_ERR_BUFFER_TOO_SMALL.
 */
MSGSEC_SDK_EXPORT int msgsec_akid_build(
    const msgsec_akid_settings *s, const char *rid, size_t rid_len,
    const uint8_t a_tid[MSGSEC_AKMA_A_TID_LEN], const char *mcc,
    size_t mcc_len, const char *mnc, size_t mnc_len, char *out, size_t cap,
    size_t *out_len);

/* An A-KID taken apart. Pointers point into the parsed text. */
typedef struct msgsec_akid_parts {
    const char *username;
    size_t username_len;
    const char *realm;
    size_t realm_len;
    /* 1 when the username has the form of the settings: rid and a_tid
     * are then set (hex is accepted in either case). */
    int has_rid_a_tid;
    const char *rid;
    size_t rid_len;
    uint8_t a_tid[MSGSEC_AKMA_A_TID_LEN];
    /* 1 when the realm is a home network domain: mcc and mnc are set. */
    int has_home_network;
    char mcc[4];
    char mnc[4];
} msgsec_akid_parts;

/*
 * Parses an A-KID of len bytes (no NUL needed): an NAI username@realm per
 * RFC 7542 (a dot-string username; a realm of at least two labels of
 * letters, digits, inner '-' and UTF-8, at most 63 bytes each), at most
 * MSGSEC_AKID_MAX_LEN bytes, well-formed UTF-8, nothing else. s NULL: the
 * defaults. Any valid NAI succeeds; the RID and A-TID are extracted when the
 * username has the settings' form. On error *out is zeroed and *reason (when
 * reason is not NULL) is a static string saying what is wrong.
 * Errors: MSGSEC_ERR_INVALID_ARG (NULL akid or out), MSGSEC_ERR_BAD_FRAME.
 */
MSGSEC_SDK_EXPORT int msgsec_akid_parse(const char *akid, size_t len,
                                        const msgsec_akid_settings *s,
                                        msgsec_akid_parts *out,
                                        const char **reason);

/*
 * The realm of an A-KID, which routes an AF's request to the right AAnF:
 * checks the whole A-KID as msgsec_akid_parse() does, then points *realm
 * into akid. Errors: as msgsec_akid_parse().
 */
MSGSEC_SDK_EXPORT int msgsec_akid_realm(const char *akid, size_t len,
                                        const char **realm, size_t *realm_len,
                                        const char **reason);

#ifdef __cplusplus
}
#endif

#endif /* MSGSEC_AKMA_KEYS_H */
