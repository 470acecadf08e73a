/*
 * provider.h - the msgsec provider ABI.
 *
 * A provider is an authentication scheme (AKMA, SEAL TLS-PSK, ...) packaged
 * as a loadable module. This header is the whole contract between the msgsec
 * core and a provider; a provider includes it (and the SDK helper headers)
 * and nothing else of msgsec.
 *
 * CONTRACT
 *
 * - A module exports exactly one symbol, emitted by MSGSEC_PROVIDER_DEFINE():
 *   a function returning a pointer to a constant msgsec_provider descriptor.
 *   The symbol carries the libltdl prefix (<module>_LTX_msgsec_provider_entry)
 *   so that one source works as a dlopen module and when preloaded.
 * - The descriptor starts with magic, its own size and the ABI version. The
 *   core refuses a provider whose abi_major differs from its own, and one
 *   that sets, in critical_caps, a capability bit the core does not know.
 *   Structures are append-only: the core reads only the fields that lie
 *   within the size the provider declared, so a provider built against an
 *   older minor version runs on a newer core.
 * - The core owns memory. It allocates state_size bytes of zeroed
 *   per-session state, hands it to start() (or, for a PSK look-up, to
 *   psk_resolve()), and wipes it before freeing it after end(). Providers allocate anything else through the upcalls, which
 *   also give logging, error detail, the provider's own policy keys and
 *   randomness.
 * - A module is loaded once and never unloaded. init() runs once per core
 *   that loads the provider; several cores may exist in one process, so keep
 *   all state in the object init() returns, never in globals.
 * - Thread safety: functions taking only pdata may be called concurrently
 *   from several threads (pdata is shared and read-mostly after init); a
 *   given session's state is used by one thread at a time.
 * - Secrets (keys, PSKs) must be wiped with OPENSSL_cleanse() (or the free
 *   upcall, which wipes), compared in constant time, and never logged or put
 *   in a detail string.
 *
 * Return values: MSGSEC_OK (0), MSGSEC_CONTINUE (1), MSGSEC_PENDING (2), or a
 * negative MSGSEC_ERR_* code from <msgsec/msgsec.h>.
 */
#ifndef MSGSEC_PROVIDER_H
#define MSGSEC_PROVIDER_H

#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <msgsec/msgsec.h>

#ifdef __cplusplus
extern "C" {
#endif

#define MSGSEC_PROVIDER_MAGIC 0x4d534750u /* "MSGP" */
#define MSGSEC_PROVIDER_ABI_MAJOR 1
#define MSGSEC_PROVIDER_ABI_MINOR 2

/* The core's handle for one loaded provider (per core). */
typedef struct msgsec_pctx msgsec_pctx;
/* The core's handle for one session, as a provider sees it. */
typedef struct msgsec_psession msgsec_psession;

/*
 * Services the core offers to a provider. Passed to init(); valid until
 * fini() returns. Append-only like the descriptor: check `size` before using
 * a field added after minor version 0.
 */
typedef struct msgsec_upcalls {
    uint32_t size;
    uint32_t abi_minor; /* the core's minor version */

    /* Zeroed memory, or NULL. */
    void *(*alloc)(msgsec_pctx *pc, size_t n);
    /* Wipes n bytes at p, then frees. p may be NULL. */
    void (*free)(msgsec_pctx *pc, void *p, size_t n);
    /* One log line; the core prefixes the provider name. */
    void (*log)(msgsec_pctx *pc, int level, const char *fmt, ...)
#ifdef __GNUC__
        __attribute__((format(printf, 3, 4)))
#endif
        ;
    /* Detail for a failing init() or self_test(): why, for the operator. */
    void (*set_detail)(msgsec_pctx *pc, const char *fmt, ...)
#ifdef __GNUC__
        __attribute__((format(printf, 2, 3)))
#endif
        ;
    /* The provider's own key from its policy section, or NULL. Keys are
     * lower case. The string lives as long as pdata. */
    const char *(*config)(msgsec_pctx *pc, const char *key);
    /* "FILE:LINE" of a key of the provider's section, for error messages;
     * "FILE" when the key is absent. */
    const char *(*config_where)(msgsec_pctx *pc, const char *key);
    /* Cryptographically strong random bytes; 0 or an error. */
    int (*random)(msgsec_pctx *pc, void *buf, size_t n);

    /* Detail for a failing session call; the core prefixes the provider. */
    void (*session_detail)(msgsec_psession *ps, const char *fmt, ...)
#ifdef __GNUC__
        __attribute__((format(printf, 2, 3)))
#endif
        ;
    /*
     * A look-up for which step() returned MSGSEC_PENDING has completed: the
     * core will call step() again (with no new input). Safe from any thread.
     * Must not be called after end() for that session has returned.
     */
    void (*session_wake)(msgsec_psession *ps);
    /* Queues handshake bytes for the peer (from start(), step() or
     * unwrap(), e.g. a TLS alert or key update). 0 or MSGSEC_ERR_NOMEM. */
    int (*session_write)(msgsec_psession *ps, const void *p, size_t n);
    /* MSGSEC_ROLE_CLIENT or MSGSEC_ROLE_SERVER. */
    int (*session_role)(msgsec_psession *ps);
    /* The policy service name of the session. */
    const char *(*session_service)(msgsec_psession *ps);
    /* The integrator's peer_name (the server's name), or NULL. */
    const char *(*session_peer_name)(msgsec_psession *ps);
    /* The integrator's local identity, or NULL. */
    const char *(*session_identity)(msgsec_psession *ps);
    /* minor version 0 ends here */
} msgsec_upcalls;

/* Results of claim(). MINE is not 1: 1 is MSGSEC_CONTINUE ("need more"). */
#define MSGSEC_CLAIM_NOT_MINE 0
#define MSGSEC_CLAIM_MORE MSGSEC_CONTINUE
#define MSGSEC_CLAIM_MINE 3

/* Flags returned by unwrap(). */
#define MSGSEC_UNWRAP_CLOSED (1u << 0) /* peer sent an orderly close */

/* psk_resolve(): the identity is not of this provider's form; the core
 * asks the next provider of the service. */
#define MSGSEC_PSK_NOT_MINE MSGSEC_ERR_UNCLAIMED

/*
 * What psk_resolve() is asked (minor version 1). Append-only like the
 * descriptor: `size` is the core's sizeof(msgsec_psk_query); check it
 * before reading a field added later.
 */
typedef struct msgsec_psk_query {
    uint32_t size;
    uint16_t version;        /* MSGSEC_PSK_TLS1_3 ... the integrator's stack
                                negotiates (never 0: the core fills in the
                                default, TLS 1.3) */
    uint16_t cipher;         /* (D)TLS 1.2: the IANA suite code point; 0 when
                                the integrator left it to the provider */
    const uint8_t *identity; /* the PSK identity as received; not
                                NUL-terminated; valid during the call */
    size_t identity_len;     /* 1 to MSGSEC_PSK_IDENTITY_MAX */
    const char *service;     /* the policy service */
} msgsec_psk_query;

/*
 * What authorize() is asked (minor version 2). Append-only like the
 * descriptor: `size` is the core's sizeof(msgsec_authz_query).
 */
typedef struct msgsec_authz_query {
    uint32_t size;
    const char *service;       /* the policy service */
    const char *ue_service_id; /* the UE service ID the peer claims */
    const char *scheme;        /* the provider that authenticated the peer */
    const char *identity;      /* its identity (A-KID, SEAL user, ...) */
    const char *supi;          /* NULL when unknown */
    const char *gpsi;          /* NULL when unknown */
} msgsec_authz_query;

typedef struct msgsec_provider {
    uint32_t magic;      /* MSGSEC_PROVIDER_MAGIC */
    uint32_t size;       /* sizeof(msgsec_provider) as the provider built it */
    uint16_t abi_major;  /* MSGSEC_PROVIDER_ABI_MAJOR */
    uint16_t abi_minor;  /* MSGSEC_PROVIDER_ABI_MINOR */
    uint32_t reserved0;  /* zero */

    const char *name;    /* mandatory: [a-z0-9-], as in policy */
    const char *version; /* mandatory: the provider's own version */
    const char *summary; /* mandatory: one line for `msgsec providers` */

    uint32_t caps;          /* MSGSEC_CAP_* this provider offers */
    uint32_t critical_caps; /* bits the core must understand, else refuse */

    /* Size of per-session state the core allocates (zeroed) for start(). */
    size_t state_size;

    /*
     * NULL-terminated list of the keys the provider accepts in its policy
     * section (besides the core's support/module/sha256). The core reports
     * any other key as an error with its FILE:LINE. NULL means none.
     */
    const char *const *config_keys;

    /*
     * init - mandatory. Reads configuration through up->config(), checks
     * it, allocates the provider's data and stores it in *pdata.
     * Returns 0, or an error after calling up->set_detail() with the cause
     * (e.g. "aanf_uri at FILE:LINE: not a URI").
     */
    int (*init)(const msgsec_upcalls *up, msgsec_pctx *pc, void **pdata);

    /* fini - optional. Releases what init() allocated. */
    void (*fini)(void *pdata);

    /*
     * self_test - optional. Runs known-answer tests; called once after init
     * before any session. Returns 0 or MSGSEC_ERR_PROVIDER_SELF_TEST (with
     * set_detail()).
     */
    int (*self_test)(void *pdata);

    /*
     * claim - optional (required for MSGSEC_CAP_IMPLICIT). Server side,
     * implicit negotiation: does this first token (the first bytes the
     * client sent, possibly incomplete) belong to this provider?
     * Returns MSGSEC_CLAIM_MINE, MSGSEC_CLAIM_NOT_MINE (0),
     * MSGSEC_CLAIM_MORE (MSGSEC_CONTINUE: need more bytes to tell), or an
     * error. Must not keep pointers into tok.
     */
    int (*claim)(void *pdata, const uint8_t *tok, size_t len);

    /*
     * start - mandatory. Begins a session in the role
     * up->session_role(ps) tells. A client queues its first token with
     * up->session_write(). state is state_size zeroed bytes; ps is valid
     * until end(). Returns 0 or an error (with up->session_detail()).
     */
    int (*start)(void *pdata, void *state, msgsec_psession *ps);

    /*
     * step - mandatory. Feeds handshake bytes from the peer (in may be
     * NULL with len 0 when resuming after session_wake()). Sets *consumed
     * to the bytes used; unused bytes are offered again with more input.
     * Output goes through up->session_write(). Returns:
     *   MSGSEC_OK        handshake done on this side; later bytes are
     *                    protected records (for unwrap)
     *   MSGSEC_CONTINUE  needs more input
     *   MSGSEC_PENDING   waiting for a look-up; will call session_wake()
     *   < 0              failed (with up->session_detail(); may have
     *                    queued an alert)
     */
    int (*step)(void *pdata, void *state, const uint8_t *in, size_t len,
                size_t *consumed);

    /*
     * result - mandatory. After step() returned MSGSEC_OK: the
     * authenticated peer. Strings must live in state (or pdata) until end().
     */
    int (*result)(void *pdata, void *state, msgsec_peer *peer);

    /*
     * export_key - optional (required for MSGSEC_CAP_KEY_EXPORT). Derives
     * out_len bytes bound to this session and label/context, identical on
     * both sides (TLS: RFC 5705 exporter). Returns 0 or an error.
     */
    int (*export_key)(void *pdata, void *state, const char *label,
                      const uint8_t *context, size_t context_len, uint8_t *out,
                      size_t out_len);

    /*
     * wrap - mandatory. Protects len plaintext bytes into out (capacity
     * cap, at least len + overhead as limits() reports). Sets *out_len.
     * Returns 0, MSGSEC_ERR_MESSAGE_TOO_LARGE, or another error.
     */
    int (*wrap)(void *pdata, void *state, const uint8_t *in, size_t len,
                uint8_t *out, size_t cap, size_t *out_len);

    /*
     * unwrap - mandatory. Stream input: in holds len received bytes (the
     * rest of the stream follows in later calls). Decodes at most one
     * protected record: sets *consumed to the bytes used, writes its
     * plaintext to out (capacity cap, at least max_message from limits())
     * and sets *out_len (0 for records without data), *flags
     * (MSGSEC_UNWRAP_*). Returns 0, MSGSEC_CONTINUE (incomplete record,
     * *consumed may still be > 0), MSGSEC_ERR_INTEGRITY, MSGSEC_ERR_REPLAY,
     * or another error.
     */
    int (*unwrap)(void *pdata, void *state, const uint8_t *in, size_t len,
                  size_t *consumed, uint8_t *out, size_t cap, size_t *out_len,
                  unsigned *flags);

    /*
     * limits - mandatory. Bytes wrap() adds to a record, and the largest
     * plaintext one wrap() takes (the core splits larger sends).
     */
    int (*limits)(void *pdata, void *state, size_t *overhead,
                  size_t *max_record);

    /*
     * end - optional. Releases what the session allocated and cancels its
     * look-ups; after it returns the provider never touches ps again.
     * The core then wipes and frees state.
     */
    void (*end)(void *pdata, void *state);

    /*
     * close - optional. Queues an orderly close (e.g. TLS close_notify)
     * through up->session_write().
     */
    int (*close)(void *pdata, void *state);

    /* minor version 0 ends here */

    /*
     * psk_resolve - optional (minor version 1). Server side for an
     * integrator whose own TLS or DTLS stack received a PSK identity
     * (msgsec_psk_lookup_new()): resolves q->identity to its key and peer.
     * The core asks the service's providers in policy order; state is
     * state_size zeroed bytes of its own per provider asked, ps its handle
     * (session_detail, session_wake and session_service work; there is no
     * peer to write to). *key_len holds the capacity of key
     * (MSGSEC_PSK_KEY_MAX) on entry. Returns:
     *   MSGSEC_OK           key (*key_len set, 1 to the capacity) and peer
     *                       filled; peer strings live in state or pdata
     *                       until end()
     *   MSGSEC_PENDING      a look-up runs: call up->session_wake(ps) when
     *                       it completes; the core then calls psk_resolve
     *                       again with the same q and state
     *   MSGSEC_PSK_NOT_MINE the identity is not of this provider's form
     *                       (decide from the bytes alone); the core asks
     *                       the next provider
     *   < 0                 the identity is this provider's but has no key
     *                       (MSGSEC_ERR_KEY_UNAVAILABLE, _KEY_EXPIRED,
     *                       _LOOKUP_FAILED, ...), with up->session_detail()
     * Whatever it returned, the core calls end(pdata, state) (when set)
     * once before it wipes and frees state: end() must accept a state that
     * only psk_resolve() has used. Never called for a descriptor whose
     * size ends before this field.
     */
    int (*psk_resolve)(void *pdata, void *state, msgsec_psession *ps,
                       const msgsec_psk_query *q, uint8_t *key,
                       size_t *key_len, msgsec_peer *peer);

    /* minor version 1 ends here */

    /*
     * authorize - optional (minor version 2). Answers for a service whose
     * policy names this provider in `authorize` (msgsec_authz_new()): is
     * the authenticated peer q describes associated with
     * q->ue_service_id? Any scheme's peer may be asked about, not only
     * this provider's. state is state_size zeroed bytes of the check's
     * own, ps its handle (session_detail, session_wake and session_service
     * work). Returns:
     *   MSGSEC_OK                  associated
     *   MSGSEC_PENDING             a look-up runs: call up->session_wake(ps)
     *                              when it completes; the core then calls
     *                              authorize again with the same q and state
     *   MSGSEC_ERR_NOT_AUTHORIZED  not associated, or no identity in q the
     *                              source knows how to check
     *   < 0                        the source could not answer
     *                              (MSGSEC_ERR_LOOKUP_FAILED, _TIMEOUT,
     *                              _TOKEN_REJECTED, _BAD_FRAME)
     * Every outcome but MSGSEC_OK and MSGSEC_PENDING comes with
     * up->session_detail(). The core calls end(pdata, state) (when set)
     * once before it frees state. Never called for a descriptor whose size
     * ends before this field.
     */
    int (*authorize)(void *pdata, void *state, msgsec_psession *ps,
                     const msgsec_authz_query *q);

    /* minor version 2 ends here */
} msgsec_provider;

/* The entry point's type. */
typedef const msgsec_provider *(*msgsec_provider_entry_fn)(void);

#if defined(MSGSEC_PROVIDER_BUILTIN)
#define MSGSEC_PROVIDER_EXPORT /* linked into a program: not exported */
#elif defined(__GNUC__)
#define MSGSEC_PROVIDER_EXPORT __attribute__((visibility("default")))
#else
#define MSGSEC_PROVIDER_EXPORT
#endif

/*
 * MSGSEC_PROVIDER_DEFINE(module, descriptor) - emits the one exported entry
 * point. module is the libtool module name with every character other than
 * [A-Za-z0-9] written as '_' (module "seal-tlspsk.la" -> seal_tlspsk).
 */
#define MSGSEC_PROVIDER_DEFINE(module, descriptor)                             \
    MSGSEC_PROVIDER_DEFINE_(module, descriptor)
/* Second level so that a macro given as module is expanded before ##. */
#define MSGSEC_PROVIDER_DEFINE_(module, descriptor)                            \
    MSGSEC_PROVIDER_EXPORT const msgsec_provider                               \
        *module##_LTX_msgsec_provider_entry(void);                             \
    MSGSEC_PROVIDER_EXPORT const msgsec_provider                               \
        *module##_LTX_msgsec_provider_entry(void)                              \
    {                                                                          \
        return &(descriptor);                                                  \
    }

/* Initialiser for the descriptor's header fields. */
#define MSGSEC_PROVIDER_HEADER                                                 \
    .magic = MSGSEC_PROVIDER_MAGIC, .size = sizeof(msgsec_provider),           \
    .abi_major = MSGSEC_PROVIDER_ABI_MAJOR,                                    \
    .abi_minor = MSGSEC_PROVIDER_ABI_MINOR

#ifdef __cplusplus
}
#endif
#endif /* MSGSEC_PROVIDER_H */
