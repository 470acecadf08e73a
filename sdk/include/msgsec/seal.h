/*
 * seal.h - SEAL key management (TS 29.549 SS_KeyInfoRetrieval), its OAuth2
 * access tokens, the content msgsec gives the opaque keyInfo, and the SEAL
 * configuration-management association look-up, as JSON.
 *
 * NORMATIVE PART (TS 29.549):
 *   GET {apiRoot}/ss-kir/v1/key-records?val-service-id=S[&val-tgt-ue=T]
 *     -> 200 application/json ValKeyInfo
 *          {userUri, valService, keyInfo, skmsId?, valTgtUe?}
 *     errors: application/problem+json ProblemDetails (401, 403, 404, ...)
 *   The request carries "Authorization: Bearer <token>", a token issued
 *   with the OAuth2 client-credentials grant (RFC 6749 4.4).
 *   val-tgt-ue is a ValTargetUe object ({"valUserId": ...} or
 *   {"valUeId": ...}), written in the query as compact JSON and
 *   percent-encoded.
 *
 * NON-NORMATIVE PART (3GPP leaves it open; msgsec defines it and both
 * msgsec-seal-km and the seal-tlspsk provider follow this definition):
 *
 *   keyInfo, version 1: the string holds one compact JSON object
 *     {"v":1,"pskId":"<PSK identity>","psk":"<hex>","expiry":"<date-time>"}
 *     pskId   the TLS PSK identity, 1 to MSGSEC_SEAL_ID_MAX bytes of
 *             printable ASCII
 *     psk     the pre-shared key, MSGSEC_SEAL_PSK_MIN to
 *             MSGSEC_SEAL_PSK_MAX bytes as hex digits (lower case written,
 *             either case read)
 *     expiry  RFC 3339 date-time after which the key must not be used
 *     Unknown members are ignored; "v" other than 1 is refused.
 *
 *   PSK identity (the "SEAL form"): <prefix><VAL user ID>[#<key id>]
 *     prefix  the setting identity_prefix, default "3GPP-SEAL:"
 *     The VAL user ID is what a server asks key management about when a
 *     client presents the identity; the key id tells key generations
 *     apart. Neither may contain '#' or control characters.
 *
 *   Association look-up (SEAL configuration management):
 *   GET {apiRoot}/msgsec-seal-cm/v1/associations?identity=ID
 *     -> 200 application/json {"identity":"ID","ueServiceIds":["...", ...]}
 *        404 ProblemDetails when the identity is unknown
 *     ID is a SUPI ("imsi-..."), a GPSI ("msisdn-..."/"extid-...") or a
 *     SEAL VAL user ID; the answer lists the UE service IDs associated
 *     with it (at most MSGSEC_SEAL_ASSOC_MAX).
 *
 * Decoders are strict in the manner of <msgsec/aanf.h>: one JSON object of
 * at most MSGSEC_SEAL_BODY_MAX bytes, no duplicate members, mandatory
 * members present with their type and form, identifiers 1 to
 * MSGSEC_SEAL_ID_MAX bytes without control characters, unknown members
 * ignored. A failing decoder returns MSGSEC_ERR_BAD_FRAME, describes the
 * fault in a msgsec_aanf_fault (member and reason, never its value), and
 * zeroes its output. Faults and ProblemDetails reuse the types of
 * <msgsec/aanf.h>.
 *
 * Secrets (psk, access tokens, client secrets) are wiped from every buffer
 * this code owns and from JSON values before they are freed.
 */
#ifndef MSGSEC_SEAL_H
#define MSGSEC_SEAL_H

#include <stddef.h>
#include <stdint.h>

#include <msgsec/aanf.h>
#include <msgsec/sdk.h>

#ifdef __cplusplus
extern "C" {
#endif

/* Resource paths, appended to an apiRoot (msgsec_aanf_url() joins them). */
#define MSGSEC_SEAL_PATH_KEY_RECORDS "/ss-kir/v1/key-records"
#define MSGSEC_SEAL_PATH_ASSOCIATIONS "/msgsec-seal-cm/v1/associations"

#define MSGSEC_SEAL_DEFAULT_PREFIX "3GPP-SEAL:"

/* Largest body a decoder accepts (and the emulator reads). */
#define MSGSEC_SEAL_BODY_MAX 16384
/* Longest identifier: VAL service ID, VAL user ID, PSK identity, UE
 * service ID, SUPI/GPSI, skmsId. */
#define MSGSEC_SEAL_ID_MAX 255
/* Longest userUri and keyInfo string. */
#define MSGSEC_SEAL_URI_MAX 1024
#define MSGSEC_SEAL_KEYINFO_MAX 1024
/* PSK sizes carried in keyInfo. */
#define MSGSEC_SEAL_PSK_MIN 16
#define MSGSEC_SEAL_PSK_MAX 64
/* Longest access token, client id and client secret. */
#define MSGSEC_SEAL_TOKEN_MAX 4096
#define MSGSEC_SEAL_CLIENT_MAX 255
/* Most UE service IDs in one association answer. */
#define MSGSEC_SEAL_ASSOC_MAX 16

/* ------------------------------------------------------------ keyInfo */

/* The key keyInfo carries (version 1). */
typedef struct msgsec_seal_psk {
    char psk_id[MSGSEC_SEAL_ID_MAX + 1];
    uint8_t psk[MSGSEC_SEAL_PSK_MAX];
    size_t psk_len;
    int64_t expiry; /* seconds since the epoch */
} msgsec_seal_psk;

/*
 * Writes the keyInfo string for *in into out (NUL-terminated; *out_len
 * without the NUL). Errors: MSGSEC_ERR_INVALID_ARG (a field out of its
 * form), MSGSEC_ERR_BUFFER_TOO_SMALL, MSGSEC_ERR_NOMEM; out wiped on error.
 */
MSGSEC_SDK_EXPORT int msgsec_seal_keyinfo_encode(const msgsec_seal_psk *in,
                                                 char *out, size_t cap,
                                                 size_t *out_len);

/* Parses a keyInfo string (len bytes, no NUL needed). fault may be NULL.
 * Errors: MSGSEC_ERR_INVALID_ARG, MSGSEC_ERR_NOMEM, MSGSEC_ERR_BAD_FRAME. */
MSGSEC_SDK_EXPORT int msgsec_seal_keyinfo_decode(const char *text, size_t len,
                                                 msgsec_seal_psk *out,
                                                 msgsec_aanf_fault *fault);

/* ---------------------------------------------------------- ValKeyInfo */

/* ValTargetUe: exactly one of the two is non-empty. */
typedef struct msgsec_seal_target {
    char val_user_id[MSGSEC_SEAL_ID_MAX + 1];
    char val_ue_id[MSGSEC_SEAL_ID_MAX + 1];
} msgsec_seal_target;

typedef struct msgsec_seal_val_key_info {
    char user_uri[MSGSEC_SEAL_URI_MAX + 1];
    char skms_id[MSGSEC_SEAL_ID_MAX + 1];     /* "" when absent */
    char val_service[MSGSEC_SEAL_ID_MAX + 1];
    int has_tgt;
    msgsec_seal_target val_tgt_ue;            /* when has_tgt */
    char key_info[MSGSEC_SEAL_KEYINFO_MAX + 1];
} msgsec_seal_val_key_info;

/* Encoder and decoder of ValKeyInfo (compact JSON; conventions above and
 * as msgsec_aanf_encode_*()/decode_*()). The decoder checks the members'
 * forms, not keyInfo's content. */
MSGSEC_SDK_EXPORT int msgsec_seal_encode_val_key_info(
    const msgsec_seal_val_key_info *in, char *out, size_t cap,
    size_t *out_len);
MSGSEC_SDK_EXPORT int msgsec_seal_decode_val_key_info(
    const void *body, size_t len, msgsec_seal_val_key_info *out,
    msgsec_aanf_fault *fault);

/*
 * The key-records URL: api_root + MSGSEC_SEAL_PATH_KEY_RECORDS +
 * "?val-service-id=..." (+ "&val-tgt-ue=..." when tgt is not NULL), every
 * value percent-encoded. Errors: MSGSEC_ERR_INVALID_ARG (api_root as
 * msgsec_aanf_url() wants it; identifiers out of form),
 * MSGSEC_ERR_BUFFER_TOO_SMALL.
 */
MSGSEC_SDK_EXPORT int msgsec_seal_key_records_url(const char *api_root,
                                                  const char *val_service_id,
                                                  const msgsec_seal_target *tgt,
                                                  char *out, size_t cap);

/*
 * Parses the query string of a key-records request (the part after '?',
 * len bytes) as a server must: val-service-id exactly once, val-tgt-ue at
 * most once (a ValTargetUe object), unknown parameters refused. *has_tgt
 * says whether val-tgt-ue was there. fault may be NULL.
 * Errors: MSGSEC_ERR_INVALID_ARG, MSGSEC_ERR_BAD_FRAME.
 */
MSGSEC_SDK_EXPORT int msgsec_seal_parse_key_records_query(
    const char *query, size_t len, char *val_service_id, size_t sid_cap,
    msgsec_seal_target *tgt, int *has_tgt, msgsec_aanf_fault *fault);

/*
 * Interprets the answer to a key-records GET as a key-management client
 * must, and decodes the key in it:
 *   200 application/json ValKeyInfo whose valService is val_service_id and
 *       whose keyInfo decodes, not expired at `now`  -> 0, *out filled
 *   200 but keyInfo expired at `now`               -> MSGSEC_ERR_KEY_EXPIRED
 *   200 with another type, a body or keyInfo that does not decode, or
 *       another valService                          -> MSGSEC_ERR_BAD_FRAME
 *   401, 403                                        -> MSGSEC_ERR_TOKEN_REJECTED
 *   404                                             -> MSGSEC_ERR_KEY_UNAVAILABLE
 *   any other status                                -> MSGSEC_ERR_LOOKUP_FAILED
 * *problem (when not NULL) receives a decodable ProblemDetails of an error
 * answer. detail (when not NULL) receives one line for the log: status,
 * ProblemDetails title/cause/detail or the decoding fault; never key
 * material or tokens. On error *out is wiped.
 */
MSGSEC_SDK_EXPORT int msgsec_seal_key_result(int status,
                                             const char *content_type,
                                             const void *body, size_t len,
                                             const char *val_service_id,
                                             int64_t now, msgsec_seal_psk *out,
                                             msgsec_aanf_problem *problem,
                                             char *detail, size_t detail_len);

/* ---------------------------------------------------------- PSK identity */

/*
 * Builds <prefix><val_user_id>[#<key_id>] (key_id NULL or "" for none).
 * Errors: MSGSEC_ERR_INVALID_ARG (empty user, '#' or control characters,
 * total over MSGSEC_SEAL_ID_MAX), MSGSEC_ERR_BUFFER_TOO_SMALL.
 */
MSGSEC_SDK_EXPORT int msgsec_seal_identity_build(const char *prefix,
                                                 const char *val_user_id,
                                                 const char *key_id,
                                                 char *out, size_t cap);

/*
 * Splits an identity of len bytes (not NUL-terminated) of the SEAL form
 * with this prefix into its VAL user ID and key id ("" when none), each
 * NUL-terminated into buffers of MSGSEC_SEAL_ID_MAX + 1 bytes (key_id may
 * be NULL). Errors: MSGSEC_ERR_INVALID_ARG (NULL), MSGSEC_ERR_BAD_FRAME
 * (another prefix, empty user, a second '#', control characters, too long).
 */
MSGSEC_SDK_EXPORT int msgsec_seal_identity_parse(const char *prefix,
                                                 const uint8_t *identity,
                                                 size_t len, char *val_user_id,
                                                 char *key_id);

/* -------------------------------------------------------- OAuth2 tokens */

/* An access token response (RFC 6749 5.1). */
typedef struct msgsec_seal_token {
    char access_token[MSGSEC_SEAL_TOKEN_MAX + 1];
    int64_t expires_in; /* seconds; 0 when the server did not say */
    char scope[MSGSEC_SEAL_ID_MAX + 1]; /* "" when absent */
} msgsec_seal_token;

/*
 * The body of a client-credentials token request,
 * application/x-www-form-urlencoded, client authentication in the body
 * (RFC 6749 2.3.1):
 *   grant_type=client_credentials&client_id=..&client_secret=..[&scope=..]
 * scope may be NULL. Errors: MSGSEC_ERR_INVALID_ARG,
 * MSGSEC_ERR_BUFFER_TOO_SMALL; out wiped on error (it holds the secret).
 */
MSGSEC_SDK_EXPORT int msgsec_seal_token_request_encode(
    const char *client_id, const char *client_secret, const char *scope,
    char *out, size_t cap, size_t *out_len);

/*
 * Parses such a body as a token endpoint must (percent- and '+'-decoding;
 * grant_type must be client_credentials; client_id and client_secret once
 * each; scope optional; unknown parameters ignored). Each output buffer
 * holds MSGSEC_SEAL_CLIENT_MAX + 1 bytes (scope MSGSEC_SEAL_ID_MAX + 1);
 * scope may be NULL. Errors: MSGSEC_ERR_INVALID_ARG, MSGSEC_ERR_BAD_FRAME
 * (outputs wiped).
 */
MSGSEC_SDK_EXPORT int msgsec_seal_token_request_parse(
    const void *body, size_t len, char *client_id, char *client_secret,
    char *scope, msgsec_aanf_fault *fault);

/* Access token response JSON: access_token and token_type ("Bearer",
 * any case) mandatory, expires_in (a positive integer) and scope
 * optional. Conventions as above. */
MSGSEC_SDK_EXPORT int msgsec_seal_encode_token(const msgsec_seal_token *in,
                                               char *out, size_t cap,
                                               size_t *out_len);
MSGSEC_SDK_EXPORT int msgsec_seal_decode_token(const void *body, size_t len,
                                               msgsec_seal_token *out,
                                               msgsec_aanf_fault *fault);

/* -------------------------------------------------------- associations */

typedef struct msgsec_seal_assoc {
    char identity[MSGSEC_SEAL_ID_MAX + 1];
    size_t n;
    char ue_service_ids[MSGSEC_SEAL_ASSOC_MAX][MSGSEC_SEAL_ID_MAX + 1];
} msgsec_seal_assoc;

/* api_root + MSGSEC_SEAL_PATH_ASSOCIATIONS + "?identity=..." (percent-
 * encoded). Errors as msgsec_seal_key_records_url(). */
MSGSEC_SDK_EXPORT int msgsec_seal_assoc_url(const char *api_root,
                                            const char *identity, char *out,
                                            size_t cap);

/* Parses the query of an association request: identity exactly once,
 * unknown parameters refused. out holds MSGSEC_SEAL_ID_MAX + 1 bytes. */
MSGSEC_SDK_EXPORT int msgsec_seal_parse_assoc_query(const char *query,
                                                    size_t len, char *identity,
                                                    msgsec_aanf_fault *fault);

/* Encoder and decoder of the association answer ({"identity", "ueServiceIds"};
 * an empty list is allowed; more than MSGSEC_SEAL_ASSOC_MAX entries is a
 * fault). */
MSGSEC_SDK_EXPORT int msgsec_seal_encode_assoc(const msgsec_seal_assoc *in,
                                               char *out, size_t cap,
                                               size_t *out_len);
MSGSEC_SDK_EXPORT int msgsec_seal_decode_assoc(const void *body, size_t len,
                                               msgsec_seal_assoc *out,
                                               msgsec_aanf_fault *fault);

/*
 * Interprets the answer to an association GET for `identity`:
 *   200 application/json whose identity matches      -> 0, *out filled
 *   200 otherwise undecodable or for another identity -> MSGSEC_ERR_BAD_FRAME
 *   401, 403                                          -> MSGSEC_ERR_TOKEN_REJECTED
 *   404                                               -> MSGSEC_ERR_NOT_AUTHORIZED
 *                                                        (identity unknown)
 *   any other status                                  -> MSGSEC_ERR_LOOKUP_FAILED
 * detail as msgsec_seal_key_result().
 */
MSGSEC_SDK_EXPORT int msgsec_seal_assoc_result(int status,
                                               const char *content_type,
                                               const void *body, size_t len,
                                               const char *identity,
                                               msgsec_seal_assoc *out,
                                               char *detail,
                                               size_t detail_len);

/* Wipes any of the structures above. */
MSGSEC_SDK_EXPORT void msgsec_seal_clear(void *msg, size_t size);

#ifdef __cplusplus
}
#endif
#endif /* MSGSEC_SEAL_H */
