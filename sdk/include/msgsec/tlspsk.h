/*
 * tlspsk.h - the TLS-PSK engine of the provider SDK (OpenSSL 3).
 *
 * TLS 1.3 with an external pre-shared key (psk_dhe_ke by default, psk_ke
 * only when configured, never 0-RTT, no tickets), and TLS 1.2 PSK cipher
 * suites as an option. Sans-IO: the engine never touches a socket. It is
 * shaped after the provider ABI (<msgsec/provider.h>) so that a provider's
 * step/wrap/unwrap/limits/export_key/close are one-line wrappers:
 *
 *   init()    msgsec_tlspsk_ctx_new()      one context, shared by all
 *                                          sessions and threads
 *   start()   msgsec_tlspsk_conn_new()     write = up->session_write
 *   step()    msgsec_tlspsk_step()
 *   result()  msgsec_tlspsk_get_info()
 *   wrap()    msgsec_tlspsk_wrap()         unwrap() msgsec_tlspsk_unwrap()
 *   limits()  msgsec_tlspsk_limits()       close()  msgsec_tlspsk_close()
 *   export_key() msgsec_tlspsk_export()    end()    msgsec_tlspsk_conn_free()
 *   claim()   msgsec_tlspsk_client_hello() (a standalone parser)
 *
 * Server key look-up. The server asks the context's lookup callback for
 * the key of each PSK identity the client offers, in the client's order,
 * until one is known. The callback answers at once (from a cache), says
 * the identity is unknown, or starts a look-up and returns MSGSEC_PENDING:
 * step() then returns MSGSEC_PENDING; when the look-up completes the owner
 * calls step() again with no input (the core does this after
 * session_wake()), the engine asks the callback again, and the callback
 * answers from its cache. Unknown identities are refused before any key is
 * used, with the alert unknown_psk_identity (115), which tells a UE that
 * its identity (for AKMA: its A-KID) is not valid any more.
 *
 * TLS 1.2 carries the identity only in ClientKeyExchange, after the
 * ClientHello, and OpenSSL wants the key while it processes that message.
 * So the engine reads the identity from the ClientKeyExchange record
 * itself (it is not encrypted) before handing the record to OpenSSL and
 * asks the look-up then: TLS 1.2 look-ups may be pending too, with the
 * record left unconsumed meanwhile (offer it again with the next step(),
 * as the core does). Only a ClientKeyExchange split over several records
 * (no known client does that) is left to OpenSSL, and its look-up must
 * then answer at once (a pending answer fails the handshake with
 * MSGSEC_ERR_LOOKUP_FAILED). No OpenSSL async jobs are used: a paused job
 * cannot move between threads in OpenSSL 3.0.
 *
 * Memory: SSL_CTX and algorithms are set up once per context. A connection
 * holds one SSL object; idle connections release their record buffers
 * (SSL_MODE_RELEASE_BUFFERS). The engine copies keys and wipes its copies
 * (OPENSSL_cleanse) once the handshake no longer needs them; OpenSSL wipes
 * its own copy when the connection is freed.
 *
 * Threads: a context is immutable after creation and may be used by any
 * number of threads at once; a connection is used by one thread at a time.
 * Callbacks run on the thread that called into the connection.
 *
 * Errors: functions return MSGSEC_OK (0), MSGSEC_CONTINUE, MSGSEC_PENDING or
 * a negative MSGSEC_ERR_* code. A failing call leaves a detail string (the
 * OpenSSL reason and the alert, never key material) that
 * msgsec_tlspsk_detail() returns and the conn's detail callback receives;
 * any alert for the peer has already gone through the write callback.
 * After an error in step(), wrap() or unwrap() the connection is failed:
 * every later call but the getters and free returns MSGSEC_ERR_STATE.
 */
#ifndef MSGSEC_TLSPSK_H
#define MSGSEC_TLSPSK_H

#include <stddef.h>
#include <stdint.h>

#include <msgsec/sdk.h>

#ifdef __cplusplus
extern "C" {
#endif

typedef struct msgsec_tlspsk_ctx msgsec_tlspsk_ctx;
typedef struct msgsec_tlspsk_conn msgsec_tlspsk_conn;

#define MSGSEC_TLSPSK_TLS1_2 0x0303
#define MSGSEC_TLSPSK_TLS1_3 0x0304

/* Largest key the engine accepts (bytes). */
#define MSGSEC_TLSPSK_MAX_KEY 64
/* Largest identity (bytes). TLS 1.2 identities: at most 256 bytes, and no
 * NUL byte (OpenSSL passes them as C strings). */
#define MSGSEC_TLSPSK_MAX_IDENTITY 1024
/* Largest plaintext one wrap() protects: one TLS record. */
#define MSGSEC_TLSPSK_MAX_PLAINTEXT 16384

/* TLS 1.3 key exchange modes. TLS 1.2 follows the same setting: with
 * MSGSEC_TLSPSK_KEX_DHE only ECDHE-PSK suites are offered by default. */
enum msgsec_tlspsk_kex {
    /* psk_dhe_ke only (forward secrecy). A server refuses a client that
     * offers only psk_ke, with the alert insufficient_security (71). */
    MSGSEC_TLSPSK_KEX_DHE = 0,
    /* psk_ke allowed too. A server accepts clients offering only psk_ke
     * and uses psk_dhe_ke with those offering both. A client offers both
     * (OpenSSL 3.0 clients always offer psk_dhe_ke and a key share). */
    MSGSEC_TLSPSK_KEX_ALLOW_KE = 1,
    /* Server: psk_ke whenever the client offers it (the constrained-device
     * setting). OpenSSL 3.0 has no option for this: for such a client the
     * engine narrows the connection's groups to one the client does not
     * support, so no key share is usable and OpenSSL completes with psk_ke;
     * a client supporting every group still gets psk_dhe_ke. A client
     * context behaves as MSGSEC_TLSPSK_KEX_ALLOW_KE. */
    MSGSEC_TLSPSK_KEX_PREFER_KE = 2
};

/*
 * Server: the key of a PSK identity offered by a client. Writes the key to
 * key (capacity MSGSEC_TLSPSK_MAX_KEY) and its length to *key_len.
 * identity is not NUL-terminated and is valid for the call only.
 * Returns:
 *   0                          the key is in key
 *   MSGSEC_PENDING             a look-up was started; the owner will call
 *                              step() again once it completes
 *   MSGSEC_ERR_AUTH_FAILED     unknown identity: the next identity is
 *                              tried, then the alert unknown_psk_identity
 *   MSGSEC_ERR_KEY_UNAVAILABLE, MSGSEC_ERR_KEY_EXPIRED,
 *   MSGSEC_ERR_REAUTH_REQUIRED no usable key for this identity (alert
 *                              unknown_psk_identity, this code reported)
 *   other errors (e.g. MSGSEC_ERR_LOOKUP_FAILED, MSGSEC_ERR_TIMEOUT)
 *                              the look-up itself failed: the alert is
 *                              internal_error, and this code is reported
 * arg is the connection's msgsec_tlspsk_conn_config.arg.
 */
typedef int (*msgsec_tlspsk_lookup_fn)(void *arg, const uint8_t *identity,
                                       size_t identity_len, uint8_t *key,
                                       size_t *key_len);

/* What a client needs a key for (see msgsec_tlspsk_client_key_fn). */
typedef struct msgsec_tlspsk_client_query {
    /* MSGSEC_TLSPSK_TLS1_3: before the ClientHello (or again after a
     * HelloRetryRequest); MSGSEC_TLSPSK_TLS1_2: after the ServerHello. */
    uint16_t version;
    /* TLS 1.3: the suite whose hash the key is bound to; TLS 1.2: the
     * negotiated suite (IANA code point, e.g. 0x00a8). */
    uint16_t cipher;
    /* TLS 1.2: the server's identity hint, or NULL. */
    const char *hint;
} msgsec_tlspsk_client_query;

/*
 * Client (optional): the identity and key to use, when they depend on the
 * TLS version, suite or hint (AKMA's Ua* protocol identifier does). Writes
 * the identity (capacity MSGSEC_TLSPSK_MAX_IDENTITY) and key (capacity
 * MSGSEC_TLSPSK_MAX_KEY). Returns 0 or an error, which fails the handshake.
 * Without it, the connection's configured identity and key are used.
 */
typedef int (*msgsec_tlspsk_client_key_fn)(void *arg,
                                           const msgsec_tlspsk_client_query *q,
                                           uint8_t *identity,
                                           size_t *identity_len, uint8_t *key,
                                           size_t *key_len);

/* Context settings. Zero-initialise, set size = sizeof(*cfg); zero fields
 * take the defaults shown. Strings are read during msgsec_tlspsk_ctx_new()
 * only. */
typedef struct msgsec_tlspsk_config {
    size_t size;
    int kex; /* enum msgsec_tlspsk_kex; MSGSEC_TLSPSK_KEX_DHE */
    /* MSGSEC_TLSPSK_TLS1_2 or _TLS1_3; 0 means TLS 1.3 for both. */
    uint16_t min_version, max_version;
    /* TLS 1.3 suites (OpenSSL syntax). Default
     * "TLS_AES_128_GCM_SHA256:TLS_CHACHA20_POLY1305_SHA256": the key is
     * bound to the hash of the first suite, SHA-256. */
    const char *ciphersuites;
    /* TLS 1.2 suites (OpenSSL syntax). Default: ECDHE-PSK suites, and
     * with psk_ke allowed also PSK-AES128-GCM-SHA256 and
     * PSK-CHACHA20-POLY1305 (first when psk_ke is preferred). */
    const char *cipher_list;
    /* Key-exchange groups (OpenSSL syntax). Default
     * "X25519:P-256:X448:P-384:P-521". */
    const char *groups;
    /* Server, TLS 1.2: the identity hint (AKMA: "3GPP-AKMA"), or NULL. */
    const char *hint;
    /* Server: mandatory when the context serves server connections. */
    msgsec_tlspsk_lookup_fn lookup;
    /* Client: optional. */
    msgsec_tlspsk_client_key_fn client_key;
} msgsec_tlspsk_config;

/*
 * Creates a context (one SSL_CTX, configured once). On failure *out is
 * NULL and detail (when not NULL) says which setting is wrong.
 * Errors: MSGSEC_ERR_INVALID_ARG (bad setting), MSGSEC_ERR_NOMEM,
 * MSGSEC_ERR_INTERNAL.
 */
MSGSEC_SDK_EXPORT int msgsec_tlspsk_ctx_new(const msgsec_tlspsk_config *cfg,
                                            msgsec_tlspsk_ctx **out,
                                            char *detail, size_t detail_len);

/* Frees a context after all its connections. NULL is ok. */
MSGSEC_SDK_EXPORT void msgsec_tlspsk_ctx_free(msgsec_tlspsk_ctx *ctx);

/*
 * Bytes for the peer: handshake messages, alerts, close_notify, key
 * updates. Called from step(), unwrap() and close(), never from wrap().
 * Returns 0 or an error (MSGSEC_ERR_NOMEM), which fails the call.
 * Its shape matches the provider upcall session_write once arg is the
 * psession: `up->session_write(arg, p, n)`.
 */
typedef int (*msgsec_tlspsk_write_fn)(void *arg, const void *p, size_t n);

/* Receives the detail of each failure (also kept for
 * msgsec_tlspsk_detail()). Never contains key material. */
typedef void (*msgsec_tlspsk_detail_fn)(void *arg, const char *detail);

/* Connection settings. Zero-initialise, set size = sizeof(*cfg). Buffers
 * are copied. */
typedef struct msgsec_tlspsk_conn_config {
    size_t size;
    int role;                       /* MSGSEC_ROLE_CLIENT or _SERVER */
    void *arg;                      /* passed to every callback */
    msgsec_tlspsk_write_fn write;   /* mandatory */
    msgsec_tlspsk_detail_fn detail; /* optional */
    /* Client: the PSK identity and key, unless the context has a
     * client_key callback. */
    const uint8_t *identity;
    size_t identity_len;
    const uint8_t *key;
    size_t key_len;
    /* Client: server name for SNI, or NULL. */
    const char *server_name;
} msgsec_tlspsk_conn_config;

/*
 * Creates a connection. Nothing is sent yet: a client's first step() (with
 * no input) writes the ClientHello. Errors: MSGSEC_ERR_INVALID_ARG,
 * MSGSEC_ERR_NOMEM, MSGSEC_ERR_INTERNAL.
 */
MSGSEC_SDK_EXPORT int msgsec_tlspsk_conn_new(msgsec_tlspsk_ctx *ctx,
                                             const msgsec_tlspsk_conn_config *cfg,
                                             msgsec_tlspsk_conn **out);

/* Frees a connection (wiping keys); a paused look-up is abandoned and no
 * callback runs any more. Sends nothing. NULL is ok. */
MSGSEC_SDK_EXPORT void msgsec_tlspsk_conn_free(msgsec_tlspsk_conn *c);

/*
 * Advances the handshake with len received bytes (in may be NULL with len
 * 0: a client's first call, or a server resuming after a look-up). Sets
 * *consumed: the engine takes every byte up to the end of the handshake,
 * and leaves later bytes (the peer's first records) for unwrap(). Output
 * goes through the write callback. Returns:
 *   MSGSEC_OK        handshake complete
 *   MSGSEC_CONTINUE  more input needed
 *   MSGSEC_PENDING   a key look-up is pending (server); call again once
 *                    it completes, with no input or with the unconsumed
 *                    bytes (input given meanwhile is not taken)
 *   < 0              failed: MSGSEC_ERR_AUTH_FAILED (unknown identity, wrong
 *                    key, PSK refused, psk_ke refused by policy), the code
 *                    the look-up returned, MSGSEC_ERR_PEER_REJECTED (the
 *                    peer sent an alert), MSGSEC_ERR_BAD_FRAME (malformed
 *                    input), MSGSEC_ERR_NOMEM, MSGSEC_ERR_INTERNAL
 */
MSGSEC_SDK_EXPORT int msgsec_tlspsk_step(msgsec_tlspsk_conn *c,
                                         const uint8_t *in, size_t len,
                                         size_t *consumed);

/*
 * Protects len bytes (at most MSGSEC_TLSPSK_MAX_PLAINTEXT) as one record
 * written to out (capacity cap, at least len plus the overhead limits()
 * reports); sets *out_len. len 0 writes nothing. Errors:
 * MSGSEC_ERR_MESSAGE_TOO_LARGE, MSGSEC_ERR_BUFFER_TOO_SMALL (nothing
 * done), MSGSEC_ERR_STATE (handshake not done), MSGSEC_ERR_CLOSED (after
 * close()).
 */
MSGSEC_SDK_EXPORT int msgsec_tlspsk_wrap(msgsec_tlspsk_conn *c,
                                         const uint8_t *in, size_t len,
                                         uint8_t *out, size_t cap,
                                         size_t *out_len);

/* Flags of msgsec_tlspsk_unwrap(); the value of MSGSEC_UNWRAP_CLOSED. */
#define MSGSEC_TLSPSK_CLOSED (1u << 0)

/*
 * Stream input: in holds len received bytes. Decodes at most one record
 * of application data into out (capacity cap; MSGSEC_TLSPSK_MAX_PLAINTEXT
 * always suffices; with less, the rest of a record comes out in the next
 * calls, taking no input), sets *consumed, *out_len and *flags
 * (MSGSEC_TLSPSK_CLOSED when the peer sent close_notify). Returns 0,
 * MSGSEC_CONTINUE (incomplete record or a record without data; *consumed
 * may be > 0), or an error: MSGSEC_ERR_INTEGRITY (bad record MAC, alert
 * bad_record_mac queued), MSGSEC_ERR_BAD_FRAME (malformed record),
 * MSGSEC_ERR_PEER_REJECTED (fatal alert received), MSGSEC_ERR_STATE,
 * MSGSEC_ERR_CLOSED (input after the peer's close_notify).
 */
MSGSEC_SDK_EXPORT int msgsec_tlspsk_unwrap(msgsec_tlspsk_conn *c,
                                           const uint8_t *in, size_t len,
                                           size_t *consumed, uint8_t *out,
                                           size_t cap, size_t *out_len,
                                           unsigned *flags);

/* After the handshake: the most bytes wrap() adds to a record of the
 * negotiated suite (22 for TLS 1.3 AES-GCM / ChaCha20-Poly1305), and the
 * largest plaintext one wrap() takes. Errors: MSGSEC_ERR_STATE. */
MSGSEC_SDK_EXPORT int msgsec_tlspsk_limits(const msgsec_tlspsk_conn *c,
                                           size_t *overhead,
                                           size_t *max_plaintext);

/* RFC 5705 / RFC 8446 exporter (SSL_export_keying_material); context NULL
 * means "no context". Errors: MSGSEC_ERR_STATE, MSGSEC_ERR_INVALID_ARG. */
MSGSEC_SDK_EXPORT int msgsec_tlspsk_export(msgsec_tlspsk_conn *c,
                                           const char *label,
                                           const uint8_t *context,
                                           size_t context_len, uint8_t *out,
                                           size_t out_len);

/* Sends close_notify through the write callback (once; later calls do
 * nothing). wrap() then returns MSGSEC_ERR_CLOSED; unwrap() still reads
 * the peer's last records. Errors: MSGSEC_ERR_STATE before the handshake
 * completed. */
MSGSEC_SDK_EXPORT int msgsec_tlspsk_close(msgsec_tlspsk_conn *c);

/* The outcome of a connection. Strings live as long as the connection. */
typedef struct msgsec_tlspsk_info {
    int role;
    int done;             /* handshake complete */
    uint16_t version;     /* MSGSEC_TLSPSK_TLS1_3 or _TLS1_2, 0 before */
    uint16_t cipher_id;   /* IANA code point, 0 before */
    const char *cipher;   /* IANA name, "" before */
    /* The PSK identity used (server: the one the client was accepted
     * with; client: its own), NUL-terminated; NULL before. */
    const char *identity;
    size_t identity_len;
    int forward_secrecy;  /* an (EC)DHE exchange took place */
    const char *hint;     /* client, TLS 1.2: the server's hint, or NULL */
    const char *server_name; /* server: the SNI the client sent, or NULL */
    int alert_sent;       /* last alert description sent, -1 none */
    int alert_received;   /* last alert description received, -1 none */
} msgsec_tlspsk_info;

/* Fills *info (at any time; fields not known yet are 0/NULL/""). */
MSGSEC_SDK_EXPORT int msgsec_tlspsk_get_info(const msgsec_tlspsk_conn *c,
                                             msgsec_tlspsk_info *info);

/* The detail of the last failure, "" when none. Never NULL. */
MSGSEC_SDK_EXPORT const char *msgsec_tlspsk_detail(const msgsec_tlspsk_conn *c);

/* ------------------------------------------------ parsers (psk_ext.c) */

/* One PskIdentity of a pre_shared_key extension. */
typedef struct msgsec_tlspsk_identity {
    const uint8_t *p;        /* points into the parsed input */
    size_t len;
    uint32_t obfuscated_age;
} msgsec_tlspsk_identity;

/*
 * Parses the body of a ClientHello pre_shared_key extension (type 41,
 * RFC 8446 4.2.11: OfferedPsks): checks every length, that there is one
 * binder (32..255 bytes) per identity and nothing after the binders.
 * Stores up to max identities in ids (pointing into ext) and the count
 * offered in *n (which may exceed max). Returns 0 or MSGSEC_ERR_BAD_FRAME.
 */
MSGSEC_SDK_EXPORT int msgsec_tlspsk_parse_offered_psks(
    const uint8_t *ext, size_t len, msgsec_tlspsk_identity *ids, size_t max,
    size_t *n);

#define MSGSEC_TLSPSK_MODE_KE (1u << 0)     /* psk_ke (0) offered */
#define MSGSEC_TLSPSK_MODE_DHE_KE (1u << 1) /* psk_dhe_ke (1) offered */

/* Parses a psk_key_exchange_modes extension body (type 45) into
 * MSGSEC_TLSPSK_MODE_* bits (unknown modes are ignored). Returns 0 or
 * MSGSEC_ERR_BAD_FRAME. */
MSGSEC_SDK_EXPORT int msgsec_tlspsk_parse_kex_modes(const uint8_t *ext,
                                                    size_t len,
                                                    unsigned *modes);

/* Identities copied out of a ClientHello (see msgsec_tlspsk_client_hello). */
#define MSGSEC_TLSPSK_HELLO_IDS 8
#define MSGSEC_TLSPSK_HELLO_ID_BYTES 2048

typedef struct msgsec_tlspsk_hello {
    uint16_t legacy_version;
    int offers_tls13;     /* supported_versions lists TLS 1.3 */
    int offers_psk12;     /* a TLS 1.2 PSK cipher suite is offered */
    unsigned psk_modes;   /* MSGSEC_TLSPSK_MODE_* (0: no extension) */
    int has_psk;          /* a pre_shared_key extension is present */
    size_t n_identities;  /* identities offered */
    size_t n_stored;      /* identities stored below (those that fit) */
    msgsec_tlspsk_identity identities[MSGSEC_TLSPSK_HELLO_IDS]; /* in buf */
    char server_name[256];   /* SNI host_name, NUL-terminated, "" if none */
    uint8_t buf[MSGSEC_TLSPSK_HELLO_ID_BYTES];
} msgsec_tlspsk_hello;

/*
 * Looks at the first bytes of a connection: is it a TLS ClientHello, and
 * which PSK identities does it offer? Reads the record and handshake
 * headers itself (the ClientHello may span several records, up to 64 KiB)
 * and copies what it reports into *h, so h does not point into data.
 * Returns 0 (a well-formed ClientHello; h filled), MSGSEC_CONTINUE (a
 * ClientHello so far, more bytes needed), MSGSEC_ERR_BAD_FRAME (not TLS,
 * or a malformed ClientHello), or MSGSEC_ERR_NOMEM (reassembling a
 * ClientHello that spans records). h is about 4.6 KB.
 */
MSGSEC_SDK_EXPORT int msgsec_tlspsk_client_hello(const uint8_t *data,
                                                 size_t len,
                                                 msgsec_tlspsk_hello *h);

#ifdef __cplusplus
}
#endif
#endif /* MSGSEC_TLSPSK_H */
