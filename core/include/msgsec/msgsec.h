/*
 * msgsec.h - the integrator API of msgsec.
 *
 * msgsec authenticates MSGin5G clients and servers and protects the messages
 * between them. A msgsec_core is built once from a policy file; it loads the
 * authentication providers the policy names and compiles, per service, the
 * ordered list of providers a session may use. A msgsec_session is one
 * connection. The API is sans-IO: the core never touches a socket; the caller
 * feeds received bytes in with msgsec_session_feed() and takes bytes to send
 * out with msgsec_session_pull().
 *
 * Threads: a core is immutable after creation and may be shared by any number
 * of threads. A session must be used by one thread at a time (its owner);
 * different sessions of one core may be used concurrently.
 *
 * Return values: 0 is success; MSGSEC_CONTINUE and MSGSEC_PENDING (positive)
 * say "not yet"; negative values are errors from the table below, named by
 * msgsec_error_name() and described by msgsec_strerror(). A failing call
 * leaves a detail string (which provider, which policy line, why) on the
 * session or the core.
 */
#ifndef MSGSEC_MSGSEC_H
#define MSGSEC_MSGSEC_H

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

#if defined(MSGSEC_BUILDING) && defined(__GNUC__)
#define MSGSEC_EXPORT __attribute__((visibility("default")))
#else
#define MSGSEC_EXPORT
#endif

#define MSGSEC_VERSION_MAJOR 0
#define MSGSEC_VERSION_MINOR 1
#define MSGSEC_VERSION_PATCH 0
#define MSGSEC_VERSION_HEX                                                   \
    ((MSGSEC_VERSION_MAJOR << 16) | (MSGSEC_VERSION_MINOR << 8) |            \
     MSGSEC_VERSION_PATCH)

/* Positive "not yet" statuses. */
#define MSGSEC_OK 0
#define MSGSEC_CONTINUE 1 /* more input is needed */
#define MSGSEC_PENDING 2  /* waiting for a look-up; see msgsec_core_fd() */

/*
 * The one table of error codes: X(symbol, value, message).
 * Values are stable across releases; new codes are only ever added.
 */
#define MSGSEC_ERROR_TABLE(X)                                                  \
    X(MSGSEC_ERR_INVALID_ARG, -1, "invalid argument")                          \
    X(MSGSEC_ERR_NOMEM, -2, "out of memory")                                   \
    X(MSGSEC_ERR_INTERNAL, -3, "internal error")                               \
    X(MSGSEC_ERR_IO, -4, "I/O error")                                          \
    X(MSGSEC_ERR_STATE, -5, "call not valid in this state")                    \
    X(MSGSEC_ERR_BUFFER_TOO_SMALL, -6, "buffer too small")                     \
    X(MSGSEC_ERR_UNSUPPORTED, -7, "operation not supported")                   \
    X(MSGSEC_ERR_TIMEOUT, -8, "timed out")                                     \
    X(MSGSEC_ERR_POLICY_SYNTAX, -20, "policy syntax error")                    \
    X(MSGSEC_ERR_POLICY_UNKNOWN_KEY, -21, "unknown policy key")                \
    X(MSGSEC_ERR_POLICY_BAD_VALUE, -22, "bad policy value")                    \
    X(MSGSEC_ERR_POLICY_DUPLICATE, -23, "duplicate policy section or key")     \
    X(MSGSEC_ERR_POLICY_EMPTY_SERVICE, -24, "service has no usable provider")  \
    X(MSGSEC_ERR_POLICY_UNSAFE_FILE, -25, "unsafe file ownership or mode")     \
    X(MSGSEC_ERR_POLICY_UNKNOWN_SERVICE, -26, "no such service in policy")     \
    X(MSGSEC_ERR_POLICY_UNKNOWN_PROVIDER, -27, "provider not declared")        \
    X(MSGSEC_ERR_PROVIDER_NOT_FOUND, -40, "provider module not found")         \
    X(MSGSEC_ERR_PROVIDER_BAD_MAGIC, -41, "not a msgsec provider")             \
    X(MSGSEC_ERR_PROVIDER_ABI, -42, "provider ABI version mismatch")           \
    X(MSGSEC_ERR_PROVIDER_CRITICAL_CAP, -43,                                   \
      "provider requires an unknown critical capability")                      \
    X(MSGSEC_ERR_PROVIDER_INIT, -44, "provider initialisation failed")         \
    X(MSGSEC_ERR_PROVIDER_SELF_TEST, -45, "provider self-test failed")         \
    X(MSGSEC_ERR_PROVIDER_PIN, -46, "provider module does not match its pin")  \
    X(MSGSEC_ERR_PROVIDER_MANDATORY, -47, "mandatory provider not available")  \
    X(MSGSEC_ERR_PROVIDER_BAD_DESCRIPTOR, -48, "malformed provider descriptor")\
    X(MSGSEC_ERR_NO_COMMON_PROVIDER, -60, "no acceptable provider in common")  \
    X(MSGSEC_ERR_DOWNGRADE, -61, "negotiation was tampered with (downgrade)")  \
    X(MSGSEC_ERR_BAD_FRAME, -62, "malformed protocol frame")                   \
    X(MSGSEC_ERR_INSECURE_REFUSED, -63, "insecure provider refused by policy") \
    X(MSGSEC_ERR_UNCLAIMED, -64, "no provider claimed the first token")        \
    X(MSGSEC_ERR_PEER_REJECTED, -65, "the peer rejected the session")          \
    X(MSGSEC_ERR_AUTH_FAILED, -80, "authentication failed")                    \
    X(MSGSEC_ERR_KEY_UNAVAILABLE, -81, "key material unavailable")             \
    X(MSGSEC_ERR_KEY_EXPIRED, -82, "key material expired")                     \
    X(MSGSEC_ERR_REAUTH_REQUIRED, -83,                                         \
      "peer must re-run primary authentication")                               \
    X(MSGSEC_ERR_LOOKUP_FAILED, -84, "key server look-up failed")              \
    X(MSGSEC_ERR_TOKEN_REJECTED, -85,                                          \
      "the key server refused the access token")                               \
    X(MSGSEC_ERR_NOT_AUTHORIZED, -86,                                          \
      "identity not associated with the UE service ID")                        \
    X(MSGSEC_ERR_INTEGRITY, -100, "message failed integrity check")            \
    X(MSGSEC_ERR_REPLAY, -101, "replayed or reordered message")                \
    X(MSGSEC_ERR_MESSAGE_TOO_LARGE, -102, "message too large")                 \
    X(MSGSEC_ERR_CLOSED, -103, "session closed")

enum msgsec_error {
#define MSGSEC_X_ENUM(sym, val, msg) sym = (val),
    MSGSEC_ERROR_TABLE(MSGSEC_X_ENUM)
#undef MSGSEC_X_ENUM
};

/* The message for code (OK, CONTINUE and PENDING included); never NULL. */
MSGSEC_EXPORT const char *msgsec_strerror(int code);
/* The symbol for code, e.g. "MSGSEC_ERR_DOWNGRADE"; never NULL. */
MSGSEC_EXPORT const char *msgsec_error_name(int code);
/* "0.1.0"; the library actually loaded, which may differ from the macros. */
MSGSEC_EXPORT const char *msgsec_version_string(void);

/* Capabilities of a provider (also used by policy `require`). */
#define MSGSEC_CAP_CLIENT (1u << 0)
#define MSGSEC_CAP_SERVER (1u << 1)
#define MSGSEC_CAP_MUTUAL_AUTH (1u << 2)
#define MSGSEC_CAP_CONFIDENTIALITY (1u << 3)
#define MSGSEC_CAP_INTEGRITY (1u << 4)
#define MSGSEC_CAP_REPLAY_DETECTION (1u << 5)
#define MSGSEC_CAP_FORWARD_SECRECY (1u << 6)
#define MSGSEC_CAP_KEY_EXPORT (1u << 7)
#define MSGSEC_CAP_INSECURE (1u << 8)
#define MSGSEC_CAP_IMPLICIT (1u << 9) /* claims a first token (implicit mode) */
#define MSGSEC_CAP_KNOWN_MASK ((1u << 10) - 1)

/* Name of one capability bit ("mutual-auth"), NULL for an unknown bit. */
MSGSEC_EXPORT const char *msgsec_cap_name(uint32_t cap);
/* Bit of a capability name, 0 when unknown. */
MSGSEC_EXPORT uint32_t msgsec_cap_from_name(const char *name);

/* ------------------------------------------------------------------ core */

typedef struct msgsec_core msgsec_core;
typedef struct msgsec_session msgsec_session;

enum msgsec_log_level {
    MSGSEC_LOG_ERROR = 0,
    MSGSEC_LOG_WARNING = 1,
    MSGSEC_LOG_INFO = 2,
    MSGSEC_LOG_DEBUG = 3
};

/*
 * Hooks given at core creation. Every field may be zero. `size` must be
 * sizeof(msgsec_hooks) as the caller compiled it (fields are only appended).
 * alloc must return zeroed memory or NULL; free receives the size that was
 * allocated. The core wipes secrets before it frees. log receives one line
 * without a trailing newline and never key material.
 */
typedef struct msgsec_hooks {
    size_t size;
    void *user_data;
    void *(*alloc)(void *user_data, size_t n);
    void (*free)(void *user_data, void *p, size_t n);
    void (*log)(void *user_data, int level, const char *line);
    int log_level; /* highest level passed to log; 0 means MSGSEC_LOG_INFO */
} msgsec_hooks;

/* Flags for msgsec_core_new(). */
#define MSGSEC_CORE_INSPECT (1u << 0) /* build the core even when a mandatory
                                        provider failed: for diagnostics
                                        (msgsec providers); sessions are then
                                        refused with MSGSEC_ERR_PROVIDER_MANDATORY */

/*
 * Creates a core from the policy file at path. The file and the provider
 * directory are checked for safe ownership and mode. On success *out owns a
 * new core (free it with msgsec_core_free()). On failure *out is NULL and,
 * when detail is non-NULL, detail receives "FILE:LINE: message" text naming
 * the provider and cause. hooks may be NULL.
 * Errors: MSGSEC_ERR_INVALID_ARG, MSGSEC_ERR_NOMEM, MSGSEC_ERR_IO,
 * MSGSEC_ERR_POLICY_*, MSGSEC_ERR_PROVIDER_MANDATORY (a mandatory provider did
 * not load; the detail says why).
 */
MSGSEC_EXPORT int msgsec_core_new(const char *path, const msgsec_hooks *hooks,
                                  unsigned flags, msgsec_core **out,
                                  char *detail, size_t detail_len);

/*
 * As msgsec_core_new(), with the policy given as text. name is used in
 * FILE:LINE messages (e.g. "<string>"). No file checks apply to the text.
 */
MSGSEC_EXPORT int msgsec_core_new_from_string(const char *text,
                                              const char *name,
                                              const msgsec_hooks *hooks,
                                              unsigned flags, msgsec_core **out,
                                              char *detail, size_t detail_len);

/* Frees a core. All its sessions, PSK look-ups and authorization checks
 * must have been freed first. NULL is ok. */
MSGSEC_EXPORT void msgsec_core_free(msgsec_core *core);

/* One diagnostic of msgsec_policy_check(). Strings live for the callback. */
typedef struct msgsec_diagnostic {
    const char *file;
    int line; /* 0 when the problem has no single line */
    int code; /* MSGSEC_ERR_* */
    const char *message;
} msgsec_diagnostic;

typedef void (*msgsec_diagnostic_cb)(void *user_data,
                                     const msgsec_diagnostic *diag);

/*
 * Validates the policy file at path without loading providers: syntax,
 * sections, keys, values, references, file safety. Calls cb once per problem
 * (cb may be NULL). Returns 0 when the policy is valid, otherwise the code of
 * the first problem.
 */
MSGSEC_EXPORT int msgsec_policy_check(const char *path, msgsec_diagnostic_cb cb,
                                      void *user_data);
/* As msgsec_policy_check(), on text (name is used in diagnostics). */
MSGSEC_EXPORT int msgsec_policy_check_string(const char *text, const char *name,
                                             msgsec_diagnostic_cb cb,
                                             void *user_data);

/* Support levels of a provider in policy. */
enum msgsec_support {
    MSGSEC_SUPPORT_OFF = 0,
    MSGSEC_SUPPORT_OPTIONAL = 1,
    MSGSEC_SUPPORT_MANDATORY = 2,
    MSGSEC_SUPPORT_MANDATORY_IF_SEAL_CLIENT = 3
};

/* What the core knows of one provider declared in policy (or built in). */
typedef struct msgsec_provider_info {
    const char *name;
    const char *version;   /* NULL when not loaded */
    const char *summary;   /* NULL when not loaded */
    const char *module;    /* path loaded or looked for; "(built-in)" */
    unsigned abi_major, abi_minor;
    uint32_t caps;
    int support;           /* enum msgsec_support, as written in policy */
    int effective_mandatory; /* support after conditions are decided */
    int status;            /* 0 loaded; else why not (MSGSEC_ERR_*) or
                              MSGSEC_CONTINUE when off by policy */
    const char *detail;    /* why not loaded / condition decision; "" if none */
    int line;              /* policy line of its section, 0 if built in */
} msgsec_provider_info;

/* Number of providers the core knows (declared in policy, plus null). */
MSGSEC_EXPORT size_t msgsec_core_provider_count(const msgsec_core *core);
/* Fills *info for provider i. Strings are owned by the core.
 * Errors: MSGSEC_ERR_INVALID_ARG when i is out of range. */
MSGSEC_EXPORT int msgsec_core_provider_info(const msgsec_core *core, size_t i,
                                            msgsec_provider_info *info);
/* 0 when the core is usable; else the first problem that makes it unusable
 * (only seen with MSGSEC_CORE_INSPECT): MSGSEC_ERR_PROVIDER_MANDATORY (a
 * mandatory provider did not load), MSGSEC_ERR_POLICY_EMPTY_SERVICE (a
 * service has no usable provider) or MSGSEC_ERR_POLICY_BAD_VALUE (a
 * service's `authorize` names a provider that did not load or cannot
 * authorize). msgsec_core_detail() says which. */
MSGSEC_EXPORT int msgsec_core_status(const msgsec_core *core);
/* Human-readable detail of the core (load problems). Never NULL. */
MSGSEC_EXPORT const char *msgsec_core_detail(const msgsec_core *core);

/* Services declared in policy. Names are owned by the core. */
MSGSEC_EXPORT size_t msgsec_core_service_count(const msgsec_core *core);
MSGSEC_EXPORT const char *msgsec_core_service_name(const msgsec_core *core,
                                                   size_t i);

/*
 * Explains which provider the server side of service would select for a
 * client offering the providers named in offer (in the client's order;
 * n may be 0 meaning "implicit mode, whatever claims first"). Writes a
 * multi-line human explanation into buf (truncated to len, NUL-terminated),
 * one line per candidate with why it was or was not chosen.
 * Returns the index (>= 0) in msgsec_core_provider_info() of the selected
 * provider, or an error: MSGSEC_ERR_POLICY_UNKNOWN_SERVICE,
 * MSGSEC_ERR_NO_COMMON_PROVIDER, MSGSEC_ERR_INVALID_ARG.
 */
MSGSEC_EXPORT int msgsec_core_explain(const msgsec_core *core,
                                      const char *service,
                                      const char *const *offer, size_t n,
                                      char *buf, size_t len);

/* ------------------------------------------------------------- sessions */

enum msgsec_role { MSGSEC_ROLE_CLIENT = 0, MSGSEC_ROLE_SERVER = 1 };

enum msgsec_state {
    MSGSEC_STATE_HANDSHAKING = 0,
    MSGSEC_STATE_PENDING = 1, /* waiting for a look-up to complete */
    MSGSEC_STATE_ESTABLISHED = 2,
    MSGSEC_STATE_CLOSED = 3,
    MSGSEC_STATE_FAILED = 4
};

enum msgsec_framing {
    MSGSEC_FRAMING_DEFAULT = 0, /* as the policy service says (message) */
    MSGSEC_FRAMING_MESSAGE = 1, /* whole messages, msgsec length framing */
    MSGSEC_FRAMING_STREAM = 2   /* plaintext byte stream; app frames it */
};

/*
 * Options of one session. Zero-initialise, set size = sizeof(*cfg).
 * peer_name: the server's name as the client targets it (an AKMA AF FQDN);
 * identity: the local identity to present when a provider supports several.
 * Strings are copied.
 */
typedef struct msgsec_session_config {
    size_t size;
    int framing;            /* enum msgsec_framing */
    const char *peer_name;
    const char *identity;
    void *user_data;        /* returned by msgsec_session_user_data() */
} msgsec_session_config;

/*
 * Detail of the last failing msgsec_session_new() in the calling thread
 * (which provider, which policy line, why). Thread-local, like errno, so
 * that the shared core stays immutable. Never NULL, "" when none.
 */
MSGSEC_EXPORT const char *msgsec_last_detail(void);

/*
 * Creates a session of core for the policy service `service` in role.
 * A client session has its first bytes ready to pull at once.
 * cfg may be NULL. *out owns the session; free with msgsec_session_free().
 * Errors: MSGSEC_ERR_INVALID_ARG, MSGSEC_ERR_NOMEM,
 * MSGSEC_ERR_POLICY_UNKNOWN_SERVICE, MSGSEC_ERR_PROVIDER_MANDATORY (core built
 * with MSGSEC_CORE_INSPECT and incomplete), MSGSEC_ERR_NO_COMMON_PROVIDER, or
 * a provider's start error; on error *out is NULL and msgsec_last_detail()
 * says why.
 */
MSGSEC_EXPORT int msgsec_session_new(msgsec_core *core, const char *service,
                                     int role, const msgsec_session_config *cfg,
                                     msgsec_session **out);

/* Wipes and frees a session, cancelling pending look-ups. NULL is ok. */
MSGSEC_EXPORT void msgsec_session_free(msgsec_session *s);

/*
 * Feeds bytes received from the peer. The session takes all len bytes
 * (copying what it must keep) and advances the handshake or decodes
 * messages. Returns 0, MSGSEC_PENDING (a look-up is running; more input is
 * buffered meanwhile), or a negative error after which the session is
 * FAILED (pull any bytes it queued for the peer, e.g. an alert).
 * Stream framing, once ESTABLISHED: when no plaintext is waiting and len is
 * more than one record, the last record of these bytes is left for
 * msgsec_session_recv() to decode straight into its buffer; that record's
 * errors (e.g. MSGSEC_ERR_INTEGRITY, MSGSEC_ERR_REPLAY), a close it carries
 * and bytes it makes the session queue for the peer then come from the
 * next recv or feed.
 * Errors: MSGSEC_ERR_BAD_FRAME, MSGSEC_ERR_DOWNGRADE, MSGSEC_ERR_AUTH_FAILED,
 * MSGSEC_ERR_INTEGRITY, MSGSEC_ERR_REPLAY, MSGSEC_ERR_MESSAGE_TOO_LARGE,
 * MSGSEC_ERR_NO_COMMON_PROVIDER, MSGSEC_ERR_UNCLAIMED, provider errors.
 */
MSGSEC_EXPORT int msgsec_session_feed(msgsec_session *s, const void *data,
                                      size_t len);

/* Bytes queued for the peer. */
MSGSEC_EXPORT size_t msgsec_session_pending_output(const msgsec_session *s);

/* Moves up to cap queued bytes into buf; returns how many. */
MSGSEC_EXPORT size_t msgsec_session_pull(msgsec_session *s, void *buf,
                                         size_t cap);

/* The framing in use (MSGSEC_FRAMING_MESSAGE or _STREAM): the session
 * config's, else the policy service's. */
MSGSEC_EXPORT int msgsec_session_framing(const msgsec_session *s);

/* Current state (enum msgsec_state). */
MSGSEC_EXPORT int msgsec_session_state(const msgsec_session *s);

/*
 * Protects one message (message framing) or a chunk of the stream (stream
 * framing) and queues it for the peer. Only when ESTABLISHED.
 * Errors: MSGSEC_ERR_STATE, MSGSEC_ERR_MESSAGE_TOO_LARGE, MSGSEC_ERR_NOMEM,
 * provider errors.
 */
MSGSEC_EXPORT int msgsec_session_send(msgsec_session *s, const void *msg,
                                      size_t len);

/*
 * Takes the next received message (message framing) or all buffered
 * plaintext up to cap (stream framing). Returns 0 and sets *len;
 * MSGSEC_CONTINUE when nothing is there yet; MSGSEC_ERR_BUFFER_TOO_SMALL
 * with *len set to the size needed (the message stays queued);
 * MSGSEC_ERR_CLOSED when the peer closed and nothing is left. Records that
 * msgsec_session_feed() left encoded are decoded here: any of its errors
 * about them is returned here, and the session is then FAILED.
 */
MSGSEC_EXPORT int msgsec_session_recv(msgsec_session *s, void *buf, size_t cap,
                                      size_t *len);

/* Queues an orderly close for the peer; the session becomes CLOSED. */
MSGSEC_EXPORT int msgsec_session_close(msgsec_session *s);

/* The authenticated peer, once ESTABLISHED. Strings live with the session. */
typedef struct msgsec_peer {
    const char *scheme;   /* provider name */
    const char *identity; /* e.g. an A-KID, a SEAL user, a test identity */
    const char *supi;     /* NULL when unknown */
    const char *gpsi;     /* NULL when unknown */
    int64_t key_expiry;   /* Unix seconds; 0 when the key has no expiry */
    uint32_t caps;        /* capabilities of the session's protection */
} msgsec_peer;

/* Fills *peer. Errors: MSGSEC_ERR_STATE before ESTABLISHED. */
MSGSEC_EXPORT int msgsec_session_peer(const msgsec_session *s,
                                      msgsec_peer *peer);

/* Name of the provider in use, or NULL before selection. */
MSGSEC_EXPORT const char *msgsec_session_provider(const msgsec_session *s);

/* Detail of the last failure or warning; never NULL, "" when none. */
MSGSEC_EXPORT const char *msgsec_session_detail(const msgsec_session *s);

MSGSEC_EXPORT void *msgsec_session_user_data(const msgsec_session *s);

/*
 * Keying material exported from the session's provider (RFC 5705 style).
 * Errors: MSGSEC_ERR_STATE, MSGSEC_ERR_UNSUPPORTED (provider cannot export).
 */
MSGSEC_EXPORT int msgsec_session_export_key(msgsec_session *s,
                                            const char *label,
                                            const void *context,
                                            size_t context_len, void *out,
                                            size_t out_len);

/* ------------------------------------------------------ pending look-ups */

/*
 * A descriptor that becomes readable when a look-up of any session of this
 * core completes. Poll it in the event loop, then call
 * msgsec_core_dispatch(). Owned by the core.
 */
MSGSEC_EXPORT int msgsec_core_fd(const msgsec_core *core);

typedef void (*msgsec_ready_cb)(void *user_data, msgsec_session *s);

/*
 * Drains the completions signalled on msgsec_core_fd(). For each woken
 * session: when cb is NULL, resumes it at once (msgsec_session_resume());
 * otherwise calls cb so that the session's owner can resume it. For each
 * woken PSK look-up (msgsec_psk_lookup_new()): calls the ready callback of
 * its config, or resumes it at once when it has none. Returns the number of
 * sessions and look-ups woken (>= 0).
 */
MSGSEC_EXPORT int msgsec_core_dispatch(msgsec_core *core, msgsec_ready_cb cb,
                                       void *user_data);

/*
 * Continues a PENDING session whose look-up completed. Returns 0 (progressed;
 * pull output), MSGSEC_PENDING (still waiting) or an error as for feed.
 */
MSGSEC_EXPORT int msgsec_session_resume(msgsec_session *s);

/*
 * Blocking convenience: waits up to timeout_ms (-1 forever) for a PENDING
 * session's look-up, then resumes it. Errors: MSGSEC_ERR_TIMEOUT and those of
 * msgsec_session_resume(). Do not mix with dispatch for the same session.
 */
MSGSEC_EXPORT int msgsec_session_wait(msgsec_session *s, int timeout_ms);

/* ------------------------------------------------- PSK identity look-ups */

/*
 * For servers with a TLS or DTLS stack of their own (an OpenSSL server,
 * libcoap): the stack receives a PSK identity in a handshake and asks
 * msgsec for the key and the authenticated peer. The core asks the
 * providers of a policy service, in the order of its `use` list, which one
 * owns the identity (AKMA: "3GPP-AKMA" followed by an A-KID) and lets that
 * provider resolve it, which may take a look-up at a key server (the AAnF):
 * such a look-up is pending like a session's, completing through
 * msgsec_core_fd() and msgsec_core_dispatch() or a blocking wait.
 *
 * A provider takes part when it has the server capability, meets the
 * service's `require` list and insecure rule (its negotiation mode does
 * not matter: the handshake is the integrator's), and implements the
 * provider ABI 1.1 operation psk_resolve.
 *
 * Threads: like sessions. A look-up is used by one thread at a time;
 * different look-ups of one core may run concurrently, alongside sessions.
 */
typedef struct msgsec_psk_lookup msgsec_psk_lookup;

/* The largest key a look-up returns, and the longest identity (TLS). */
#define MSGSEC_PSK_KEY_MAX 256
#define MSGSEC_PSK_IDENTITY_MAX 65535

/* Protocol of the integrator's stack, as wire version numbers. It selects
 * the key where a scheme binds keys to the protocol (AKMA's Ua* protocol
 * identifier). */
#define MSGSEC_PSK_TLS1_2 0x0303
#define MSGSEC_PSK_TLS1_3 0x0304
#define MSGSEC_PSK_DTLS1_2 0xfefd
#define MSGSEC_PSK_DTLS1_3 0xfefc

/* Called by msgsec_core_dispatch() when a pending look-up may go on. */
typedef void (*msgsec_psk_ready_cb)(void *user_data, msgsec_psk_lookup *l);

/*
 * Options of one look-up. Zero-initialise, set size = sizeof(*cfg); only
 * the fields within size are read.
 * version: MSGSEC_PSK_*; 0 means MSGSEC_PSK_TLS1_3.
 * cipher: for (D)TLS 1.2, the IANA code point of the suite negotiated
 *   (e.g. 0x00a8 for PSK-AES128-GCM-SHA256); 0 leaves the choice to the
 *   provider's policy (AKMA: its tls12_cipher).
 * ready: the owner's callback for msgsec_core_dispatch() (see there); NULL
 *   lets dispatch resume the look-up itself.
 * user_data: given to ready, returned by msgsec_psk_lookup_user_data().
 */
typedef struct msgsec_psk_lookup_config {
    size_t size;
    unsigned version;
    unsigned cipher;
    msgsec_psk_ready_cb ready;
    void *user_data;
} msgsec_psk_lookup_config;

/*
 * Starts resolving the PSK identity (len bytes, 1 to
 * MSGSEC_PSK_IDENTITY_MAX; copied) for the policy service `service` of
 * core. cfg may be NULL (TLS 1.3, no callback).
 * Returns 0 with *out resolved (take the key with msgsec_psk_lookup_key()
 * and the peer with msgsec_psk_lookup_peer()), or MSGSEC_PENDING with *out
 * waiting for a look-up (poll msgsec_core_fd() and call
 * msgsec_core_dispatch(), or call msgsec_psk_lookup_wait()). Either way
 * the caller owns *out and frees it with msgsec_psk_lookup_free().
 * Errors, with *out NULL and msgsec_last_detail() saying why (provider,
 * policy line, cause; never key material):
 *   MSGSEC_ERR_INVALID_ARG             bad argument or config
 *   MSGSEC_ERR_NOMEM
 *   MSGSEC_ERR_POLICY_UNKNOWN_SERVICE  no such service
 *   MSGSEC_ERR_PROVIDER_MANDATORY      core built with MSGSEC_CORE_INSPECT
 *                                      and incomplete
 *   MSGSEC_ERR_UNSUPPORTED             no provider of the service can
 *                                      resolve PSK identities (e.g. all
 *                                      built against provider ABI 1.0)
 *   MSGSEC_ERR_UNCLAIMED               no provider owns this identity
 *   the owning provider's error        e.g. MSGSEC_ERR_KEY_UNAVAILABLE
 *                                      (unknown identity),
 *                                      MSGSEC_ERR_KEY_EXPIRED,
 *                                      MSGSEC_ERR_LOOKUP_FAILED,
 *                                      MSGSEC_ERR_TIMEOUT (key server)
 */
MSGSEC_EXPORT int msgsec_psk_lookup_new(msgsec_core *core, const char *service,
                                        const void *identity, size_t len,
                                        const msgsec_psk_lookup_config *cfg,
                                        msgsec_psk_lookup **out);

/* Cancels a pending look-up (no callback follows once this returns), wipes
 * the key and frees the look-up. Peer strings become invalid. NULL is ok. */
MSGSEC_EXPORT void msgsec_psk_lookup_free(msgsec_psk_lookup *l);

/* 0 when resolved, MSGSEC_PENDING while a look-up runs, else the error it
 * failed with (MSGSEC_ERR_INVALID_ARG for NULL). */
MSGSEC_EXPORT int msgsec_psk_lookup_status(const msgsec_psk_lookup *l);

/*
 * Continues a look-up after its wake (from the ready callback, or when
 * msgsec_core_fd() was readable): returns 0 (resolved), MSGSEC_PENDING (not
 * woken yet, or a further look-up started) or the error it failed with
 * (detail in msgsec_psk_lookup_detail()). On a look-up already resolved or
 * failed it returns that outcome again.
 */
MSGSEC_EXPORT int msgsec_psk_lookup_resume(msgsec_psk_lookup *l);

/*
 * Blocking convenience: waits up to timeout_ms (-1 forever) until the
 * look-up completes. Returns as msgsec_psk_lookup_resume(), or
 * MSGSEC_ERR_TIMEOUT (the look-up stays pending: wait again or free it).
 * Do not mix with msgsec_core_dispatch() for the same look-up.
 */
MSGSEC_EXPORT int msgsec_psk_lookup_wait(msgsec_psk_lookup *l, int timeout_ms);

/*
 * Copies the key into buf (cap bytes) and sets *len. The caller wipes its
 * copy when done (OPENSSL_cleanse); the look-up keeps its own until freed.
 * Errors: MSGSEC_ERR_INVALID_ARG, MSGSEC_ERR_STATE (not resolved),
 * MSGSEC_ERR_BUFFER_TOO_SMALL (*len set to the size needed).
 */
MSGSEC_EXPORT int msgsec_psk_lookup_key(const msgsec_psk_lookup *l, void *buf,
                                        size_t cap, size_t *len);

/*
 * The peer the identity stands for (AKMA: the A-KID as identity, SUPI or
 * GPSI when the AAnF gave one, the key's expiry). scheme is the provider
 * name; caps is what the provider states (usually 0: the protection is the
 * integrator's stack's). Strings live until msgsec_psk_lookup_free().
 * Errors: MSGSEC_ERR_INVALID_ARG, MSGSEC_ERR_STATE (not resolved).
 */
MSGSEC_EXPORT int msgsec_psk_lookup_peer(const msgsec_psk_lookup *l,
                                         msgsec_peer *peer);

/* Name of the provider that owns the identity; NULL before one did. */
MSGSEC_EXPORT const char *msgsec_psk_lookup_provider(const msgsec_psk_lookup *l);

/* Detail of the failure; never NULL, "" when none. */
MSGSEC_EXPORT const char *msgsec_psk_lookup_detail(const msgsec_psk_lookup *l);

MSGSEC_EXPORT void *msgsec_psk_lookup_user_data(const msgsec_psk_lookup *l);

/* ------------------------------------------------------- authorization */

/*
 * SEAL authorization (TS 33.501 Annex Y): when MSGin5G runs with SEAL, the
 * server checks that the UE service ID a client registers with is
 * associated with the identity its authentication produced (the SUPI or
 * GPSI the AAnF returned for AKMA, the SEAL user for SEAL TLS-PSK). The
 * association is held by SEAL configuration management; a provider that
 * implements the provider ABI 1.2 operation `authorize` answers for it
 * (seal-tlspsk: from a configuration-management server or a mapping
 * file). A policy service names that provider with
 * `authorize = PROVIDER`; a service without it requires no authorization.
 *
 * A check that waits for a server is pending like a session: it completes
 * through msgsec_core_fd() and msgsec_core_dispatch() (which calls the
 * ready callback of its config, or resumes it when there is none), or a
 * blocking msgsec_authz_wait().
 *
 * Threads: like sessions. A check is used by one thread at a time.
 */
typedef struct msgsec_authz msgsec_authz;

/* Called by msgsec_core_dispatch() when a pending check may go on. */
typedef void (*msgsec_authz_ready_cb)(void *user_data, msgsec_authz *a);

/* Options of one check. Zero-initialise, set size = sizeof(*cfg); only the
 * fields within size are read. */
typedef struct msgsec_authz_config {
    size_t size;
    msgsec_authz_ready_cb ready;
    void *user_data;
} msgsec_authz_config;

/*
 * Starts checking that `peer` (an authenticated peer, as
 * msgsec_session_peer() or msgsec_psk_lookup_peer() gave it; its strings
 * are copied) may use `ue_service_id` (1 to 255 bytes, no control
 * characters; copied) in the policy service `service` of core. cfg may be
 * NULL.
 * Returns 0 with *out resolved and the peer authorized (also when the
 * service requires no authorization: msgsec_authz_source() is then NULL),
 * or MSGSEC_PENDING with *out waiting for its source. The caller owns *out
 * in both cases and frees it with msgsec_authz_free().
 * Errors, with *out NULL and msgsec_last_detail() saying why (provider,
 * policy line, identity, cause):
 *   MSGSEC_ERR_INVALID_ARG             bad argument
 *   MSGSEC_ERR_NOMEM
 *   MSGSEC_ERR_POLICY_UNKNOWN_SERVICE  no such service
 *   MSGSEC_ERR_NOT_AUTHORIZED          the source says the identity is not
 *                                      associated with ue_service_id (or
 *                                      the peer carries no identity the
 *                                      source can check)
 *   MSGSEC_ERR_LOOKUP_FAILED, MSGSEC_ERR_TIMEOUT, MSGSEC_ERR_TOKEN_REJECTED,
 *   MSGSEC_ERR_BAD_FRAME               the source could not answer
 */
MSGSEC_EXPORT int msgsec_authz_new(msgsec_core *core, const char *service,
                                   const msgsec_peer *peer,
                                   const char *ue_service_id,
                                   const msgsec_authz_config *cfg,
                                   msgsec_authz **out);

/*
 * msgsec_authz_new() for an ESTABLISHED session: its core, its service and
 * its peer. Errors as there, and MSGSEC_ERR_STATE before ESTABLISHED.
 */
MSGSEC_EXPORT int msgsec_session_authorize(msgsec_session *s,
                                           const char *ue_service_id,
                                           const msgsec_authz_config *cfg,
                                           msgsec_authz **out);

/* Cancels a pending check (no callback follows once this returns) and
 * frees it. NULL is ok. */
MSGSEC_EXPORT void msgsec_authz_free(msgsec_authz *a);

/* 0 when authorized, MSGSEC_PENDING while the source is asked, else the
 * error (MSGSEC_ERR_NOT_AUTHORIZED, ...). MSGSEC_ERR_INVALID_ARG for NULL. */
MSGSEC_EXPORT int msgsec_authz_status(const msgsec_authz *a);

/* Continues a check after its wake; returns as msgsec_authz_status() does
 * afterwards. On a finished check it returns that outcome again. */
MSGSEC_EXPORT int msgsec_authz_resume(msgsec_authz *a);

/* Blocking convenience: waits up to timeout_ms (-1 forever), then returns
 * as msgsec_authz_resume(), or MSGSEC_ERR_TIMEOUT (still pending). Do not
 * mix with msgsec_core_dispatch() for the same check. */
MSGSEC_EXPORT int msgsec_authz_wait(msgsec_authz *a, int timeout_ms);

/* The provider that answers for the service (its `authorize`), or NULL
 * when the service requires no authorization. */
MSGSEC_EXPORT const char *msgsec_authz_source(const msgsec_authz *a);

/* Detail of the outcome; never NULL, "" when none. */
MSGSEC_EXPORT const char *msgsec_authz_detail(const msgsec_authz *a);

MSGSEC_EXPORT void *msgsec_authz_user_data(const msgsec_authz *a);

/* The provider a service's `authorize` names, or NULL (none, or no such
 * service). The string lives as long as the core. */
MSGSEC_EXPORT const char *msgsec_core_service_authorizer(
    const msgsec_core *core, const char *service);

/*
 * "The UE has a SEAL client", as the policy decided it at load ([core]
 * seal_client = auto | yes | no; auto: yes when a [provider.*] section
 * whose support is not off sets km_uri or val_user_id). Returns 1 or 0
 * (MSGSEC_ERR_INVALID_ARG for NULL); when why is non-NULL, *why is the
 * reason, naming the key and FILE:LINE that decided (owned by the core).
 */
MSGSEC_EXPORT int msgsec_core_seal_client(const msgsec_core *core,
                                          const char **why);

#ifdef __cplusplus
}
#endif
#endif /* MSGSEC_MSGSEC_H */
