/*
 * aanf.h - the AAnF API messages (TS 29.535 Naanf_AKMA, and TS 29.522
 * 3gpp-akma via the NEF) as JSON, with the settings where 3GPP is open.
 *
 * Operations (all POST, bodies application/json, errors
 * application/problem+json):
 *   {apiRoot}/naanf-akma/v1/retrieve-applicationkey
 *        AkmaAfKeyRequest -> 200 AkmaAfKeyData, 204 when the key material
 *        does not exist (unknown or expired A-KID)
 *   {apiRoot}/naanf-akma/v1/register-anchorkey
 *        AkmaKeyInfo -> 200 AkmaKeyInfo
 *   {apiRoot}/naanf-akma/v1/remove-context
 *        CtxRemove -> 204
 *   {apiRoot}/3gpp-akma/v1/retrieve          (NEF, AF outside the operator)
 *        AkmaAfKeyRequest -> 200 AkmaAfKeyData, 204 as above
 *
 * Decoders are strict: the body must be one JSON object of at most
 * MSGSEC_AANF_BODY_MAX bytes without duplicate members; mandatory members
 * must be there and every known member must have its type and form
 * (keys of exactly 32 bytes in the configured encoding, date-times per
 * RFC 3339, identifiers of 1 to 255 bytes without control characters).
 * Unknown members are ignored, as TS 29.500 asks of receivers. A failing
 * decoder returns MSGSEC_ERR_BAD_FRAME and describes the fault (member and
 * reason, never its value); its output is then zeroed.
 *
 * Secrets: keys are wiped from every buffer this code owns and from the
 * JSON values before they are freed. The JSON parser's own token buffer
 * (jansson) is freed without wiping; callers should wipe the body they
 * pass in (msgsec_http_request_free() does).
 *
 * SETTINGS (policy keys read by the akma provider and options of
 * msgsec-aanf; both sides must agree):
 *   aanf_key_encoding   how kaf and kAkma are written:
 *       "hex"     64 hexadecimal digits, written lower case (default;
 *                 either case accepted)
 *       "base64"  44 characters of RFC 4648 base64 with padding
 *   aanf_afid_format    how afId carries the Ua* protocol identifier:
 *       "fqdn-ua" "<FQDN>;ua=<10 hex digits>" (default), e.g.
 *                 "msgin5g.example.com;ua=0100000007"
 *       "fqdn"    the bare FQDN; the Ua* identifier is not carried and
 *                 the AAnF assumes shared-key TLS 1.3 (01 00 00 00 07)
 */
#ifndef MSGSEC_AANF_H
#define MSGSEC_AANF_H

#include <stddef.h>
#include <stdint.h>

#include <msgsec/akma_keys.h>
#include <msgsec/sdk.h>

#ifdef __cplusplus
extern "C" {
#endif

/* Resource paths, appended to the apiRoot. */
#define MSGSEC_AANF_PATH_RETRIEVE "/naanf-akma/v1/retrieve-applicationkey"
#define MSGSEC_AANF_PATH_REGISTER "/naanf-akma/v1/register-anchorkey"
#define MSGSEC_AANF_PATH_REMOVE "/naanf-akma/v1/remove-context"
#define MSGSEC_NEF_PATH_RETRIEVE "/3gpp-akma/v1/retrieve"

#define MSGSEC_AANF_MEDIA_JSON "application/json"
#define MSGSEC_AANF_MEDIA_PROBLEM "application/problem+json"

/* Largest body a decoder accepts (and the emulator reads). */
#define MSGSEC_AANF_BODY_MAX 16384
/* Longest SUPI, GPSI. */
#define MSGSEC_AANF_ID_MAX 255
/* Longest afId: FQDN + ";ua=" + 10 hex digits. */
#define MSGSEC_AANF_AFID_MAX (MSGSEC_AKMA_FQDN_MAX + 14)
/* Room for an RFC 3339 date-time as msgsec_aanf_datetime_format() writes
 * it ("2025-01-31T12:00:00Z" and longer years), NUL included. */
#define MSGSEC_AANF_DATETIME_SIZE 32

/* ------------------------------------------------------------ settings */

#define MSGSEC_AANF_KEY_KEY_ENCODING "aanf_key_encoding"
#define MSGSEC_AANF_KEY_AFID_FORMAT "aanf_afid_format"

enum msgsec_aanf_key_encoding {
    MSGSEC_AANF_KEY_HEX = 0,   /* "hex" */
    MSGSEC_AANF_KEY_BASE64 = 1 /* "base64" */
};

enum msgsec_aanf_afid_format {
    MSGSEC_AANF_AFID_FQDN_UA = 0, /* "fqdn-ua" */
    MSGSEC_AANF_AFID_FQDN = 1     /* "fqdn" */
};

typedef struct msgsec_aanf_settings {
    int key_encoding; /* enum msgsec_aanf_key_encoding */
    int afid_format;  /* enum msgsec_aanf_afid_format */
} msgsec_aanf_settings;

/* The defaults: hex keys, "fqdn-ua" afId. */
MSGSEC_SDK_EXPORT void msgsec_aanf_settings_default(msgsec_aanf_settings *s);

/*
 * Sets one setting by name (MSGSEC_AANF_KEY_KEY_ENCODING or
 * MSGSEC_AANF_KEY_AFID_FORMAT) from its value text. On error s is
 * unchanged and *reason (when reason is not NULL) is a static string.
 * Errors: MSGSEC_ERR_INVALID_ARG, MSGSEC_ERR_POLICY_UNKNOWN_KEY,
 * MSGSEC_ERR_POLICY_BAD_VALUE.
 */
MSGSEC_SDK_EXPORT int msgsec_aanf_settings_set(msgsec_aanf_settings *s,
                                               const char *key,
                                               const char *value,
                                               const char **reason);

/* Names of setting values ("hex", "fqdn-ua", ...); NULL when unknown. */
MSGSEC_SDK_EXPORT const char *msgsec_aanf_key_encoding_name(int encoding);
MSGSEC_SDK_EXPORT const char *msgsec_aanf_afid_format_name(int format);

/* ---------------------------------------------------------------- afId */

/*
 * Writes the afId of an AF (fqdn of fqdn_len bytes, ua_id its Ua*
 * identifier) in the settings' format into out (NUL-terminated; *out_len
 * without the NUL). s NULL: the defaults. The FQDN is checked as
 * msgsec_akma_af_id() does and must not contain ';'.
 * Errors: MSGSEC_ERR_INVALID_ARG, MSGSEC_ERR_BUFFER_TOO_SMALL,
 * MSGSEC_ERR_UNSUPPORTED (format "fqdn" with a Ua* identifier other than
 * TLS 1.3's: it cannot be carried).
 */
MSGSEC_SDK_EXPORT int msgsec_aanf_afid_build(
    const msgsec_aanf_settings *s, const char *fqdn, size_t fqdn_len,
    const uint8_t ua_id[MSGSEC_AKMA_UA_ID_LEN], char *out, size_t cap,
    size_t *out_len);

/*
 * Takes an afId of len bytes apart: fqdn receives the FQDN (NUL-terminated,
 * *fqdn_len without the NUL), ua_id the Ua* identifier (TLS 1.3's in the
 * "fqdn" format). The ten hex digits may be of either case. On error the
 * outputs are zeroed and *reason (when not NULL) is a static string.
 * Errors: MSGSEC_ERR_INVALID_ARG (NULL pointers), MSGSEC_ERR_BAD_FRAME.
 */
MSGSEC_SDK_EXPORT int msgsec_aanf_afid_parse(
    const msgsec_aanf_settings *s, const char *af_id, size_t len,
    char fqdn[MSGSEC_AKMA_FQDN_MAX + 1], size_t *fqdn_len,
    uint8_t ua_id[MSGSEC_AKMA_UA_ID_LEN], const char **reason);

/* ----------------------------------------------------------- date-time */

/* seconds since 1970-01-01T00:00:00Z -> "YYYY-MM-DDTHH:MM:SSZ".
 * Errors: MSGSEC_ERR_INVALID_ARG (years outside 0000 to 9999). */
MSGSEC_SDK_EXPORT int msgsec_aanf_datetime_format(
    int64_t t, char out[MSGSEC_AANF_DATETIME_SIZE]);

/* An RFC 3339 date-time (fractional seconds truncated, offsets applied,
 * a leap second read as :59) -> seconds since the epoch.
 * Errors: MSGSEC_ERR_INVALID_ARG (NULL), MSGSEC_ERR_BAD_FRAME. */
MSGSEC_SDK_EXPORT int msgsec_aanf_datetime_parse(const char *text, size_t len,
                                                 int64_t *t);

/* -------------------------------------------------------------- faults */

enum msgsec_aanf_fault_kind {
    MSGSEC_AANF_FAULT_NONE = 0,
    MSGSEC_AANF_FAULT_SYNTAX,    /* not one JSON object, or too large */
    MSGSEC_AANF_FAULT_MISSING,   /* a mandatory member is absent */
    MSGSEC_AANF_FAULT_INCORRECT  /* a member has a wrong type or form */
};

/* What a decoder found wrong. Never holds a member's value. */
typedef struct msgsec_aanf_fault {
    int kind;          /* enum msgsec_aanf_fault_kind */
    char param[48];    /* JSON pointer of the member ("/kaf"), "" if none */
    char reason[160];  /* e.g. "64 hexadecimal digits expected" */
} msgsec_aanf_fault;

/* "param: reason" (or the reason alone) into out; returns out. */
MSGSEC_SDK_EXPORT const char *msgsec_aanf_fault_text(
    const msgsec_aanf_fault *f, char *out, size_t cap);

/* ------------------------------------------------------------ messages */

/* AkmaAfKeyRequest (TS 29.522): the AF asks for K_AF. */
typedef struct msgsec_aanf_key_request {
    char af_id[MSGSEC_AANF_AFID_MAX + 1];
    char a_kid[MSGSEC_AKID_MAX_LEN + 1];
    int anon_ind; /* 1: anonymous access asked; absent means 0 */
} msgsec_aanf_key_request;

/* AkmaAfKeyData (TS 29.522): the answer. */
typedef struct msgsec_aanf_key_data {
    uint8_t kaf[MSGSEC_AKMA_KEY_LEN];
    int64_t expiry;                    /* seconds since the epoch */
    char supi[MSGSEC_AANF_ID_MAX + 1]; /* "" when absent */
    char gpsi[MSGSEC_AANF_ID_MAX + 1]; /* "" when absent */
} msgsec_aanf_key_data;

/* AkmaKeyInfo (TS 29.535): the AUSF registers K_AKMA; exactly one of
 * supi and gpsi is set. */
typedef struct msgsec_aanf_key_info {
    char a_kid[MSGSEC_AKID_MAX_LEN + 1];
    uint8_t k_akma[MSGSEC_AKMA_KEY_LEN];
    char supi[MSGSEC_AANF_ID_MAX + 1];
    char gpsi[MSGSEC_AANF_ID_MAX + 1];
} msgsec_aanf_key_info;

/* CtxRemove (TS 29.535). */
typedef struct msgsec_aanf_ctx_remove {
    char supi[MSGSEC_AANF_ID_MAX + 1];
} msgsec_aanf_ctx_remove;

/* ProblemDetails (TS 29.571). Text longer than its field is cut (at a
 * character boundary) and control characters become '?': it is for logs. */
#define MSGSEC_AANF_PROBLEM_PARAMS_MAX 4
typedef struct msgsec_aanf_invalid_param {
    char param[128];
    char reason[256];
} msgsec_aanf_invalid_param;

typedef struct msgsec_aanf_problem {
    char type[256];
    char title[256];
    int status; /* 0 when absent */
    char detail[512];
    char cause[128];
    size_t n_invalid_params; /* those kept, at most PARAMS_MAX */
    msgsec_aanf_invalid_param invalid_params[MSGSEC_AANF_PROBLEM_PARAMS_MAX];
} msgsec_aanf_problem;

/*
 * Encoders: write compact JSON into out (NUL-terminated; *out_len without
 * the NUL). s NULL: the defaults. The input is checked as the decoder
 * would check it. On error out is wiped.
 * Errors: MSGSEC_ERR_INVALID_ARG, MSGSEC_ERR_BUFFER_TOO_SMALL,
 * MSGSEC_ERR_NOMEM.
 */
MSGSEC_SDK_EXPORT int msgsec_aanf_encode_key_request(
    const msgsec_aanf_settings *s, const msgsec_aanf_key_request *in,
    char *out, size_t cap, size_t *out_len);
MSGSEC_SDK_EXPORT int msgsec_aanf_encode_key_data(
    const msgsec_aanf_settings *s, const msgsec_aanf_key_data *in, char *out,
    size_t cap, size_t *out_len);
MSGSEC_SDK_EXPORT int msgsec_aanf_encode_key_info(
    const msgsec_aanf_settings *s, const msgsec_aanf_key_info *in, char *out,
    size_t cap, size_t *out_len);
MSGSEC_SDK_EXPORT int msgsec_aanf_encode_ctx_remove(
    const msgsec_aanf_settings *s, const msgsec_aanf_ctx_remove *in,
    char *out, size_t cap, size_t *out_len);
MSGSEC_SDK_EXPORT int msgsec_aanf_encode_problem(
    const msgsec_aanf_settings *s, const msgsec_aanf_problem *in, char *out,
    size_t cap, size_t *out_len);

/*
 * Decoders: parse len bytes of body (no NUL needed). s NULL: the defaults.
 * fault may be NULL. Errors: MSGSEC_ERR_INVALID_ARG, MSGSEC_ERR_NOMEM,
 * MSGSEC_ERR_BAD_FRAME.
 */
MSGSEC_SDK_EXPORT int msgsec_aanf_decode_key_request(
    const msgsec_aanf_settings *s, const void *body, size_t len,
    msgsec_aanf_key_request *out, msgsec_aanf_fault *fault);
MSGSEC_SDK_EXPORT int msgsec_aanf_decode_key_data(
    const msgsec_aanf_settings *s, const void *body, size_t len,
    msgsec_aanf_key_data *out, msgsec_aanf_fault *fault);
MSGSEC_SDK_EXPORT int msgsec_aanf_decode_key_info(
    const msgsec_aanf_settings *s, const void *body, size_t len,
    msgsec_aanf_key_info *out, msgsec_aanf_fault *fault);
MSGSEC_SDK_EXPORT int msgsec_aanf_decode_ctx_remove(
    const msgsec_aanf_settings *s, const void *body, size_t len,
    msgsec_aanf_ctx_remove *out, msgsec_aanf_fault *fault);
MSGSEC_SDK_EXPORT int msgsec_aanf_decode_problem(
    const msgsec_aanf_settings *s, const void *body, size_t len,
    msgsec_aanf_problem *out, msgsec_aanf_fault *fault);

/*
 * Interprets the answer to a retrieve (Naanf or NEF) as an AF must:
 *   200 application/json AkmaAfKeyData  -> 0, *out filled
 *   204                                  -> MSGSEC_ERR_KEY_UNAVAILABLE
 *                                           (unknown or expired A-KID: the
 *                                           UE must re-run primary
 *                                           authentication)
 *   200 with another type or a body that
 *   does not decode                      -> MSGSEC_ERR_BAD_FRAME
 *   any other status                     -> MSGSEC_ERR_LOOKUP_FAILED;
 *                                           *problem (when not NULL) holds
 *                                           the ProblemDetails if there was
 *                                           a decodable one, else status only
 * detail (when not NULL) receives one line for the log: the status, the
 * ProblemDetails title, cause and detail, or the decoding fault; never key
 * material. On error *out is zeroed.
 */
MSGSEC_SDK_EXPORT int msgsec_aanf_retrieve_result(
    const msgsec_aanf_settings *s, int status, const char *content_type,
    const void *body, size_t len, msgsec_aanf_key_data *out,
    msgsec_aanf_problem *problem, char *detail, size_t detail_len);

/*
 * Joins an apiRoot ("http://aanf.example.com:8080", a trailing '/' and a
 * path prefix allowed) and one of the paths above into out.
 * Errors: MSGSEC_ERR_INVALID_ARG (not http:// or https://, a query,
 * fragment, blank or control character), MSGSEC_ERR_BUFFER_TOO_SMALL.
 */
MSGSEC_SDK_EXPORT int msgsec_aanf_url(const char *api_root, const char *path,
                                      char *out, size_t cap);

/* Wipes any of the message structures above (keys included). */
MSGSEC_SDK_EXPORT void msgsec_aanf_clear(void *msg, size_t size);

#ifdef __cplusplus
}
#endif
#endif /* MSGSEC_AANF_H */
