/*
 * tlsprov.h - the provider ops of a TLS-PSK provider, ready-made.
 *
 * A provider on the TLS-PSK engine (<msgsec/tlspsk.h>) supplies keys and
 * reports its peer; the message path and the handshake plumbing are the
 * same for all such providers and live here, with the exact signatures of
 * the provider ABI (<msgsec/provider.h>), so that a descriptor points
 * straight at them:
 *
 *   .step = msgsec_tlsprov_step,          .result = msgsec_tlsprov_result,
 *   .wrap = msgsec_tlsprov_wrap,          .unwrap = msgsec_tlsprov_unwrap,
 *   .limits = msgsec_tlsprov_limits,      .close = msgsec_tlsprov_close,
 *   .export_key = msgsec_tlsprov_export_key,
 *   .end = msgsec_tlsprov_end
 *
 * CONVENTION. The provider's per-session state (the state_size bytes the
 * core hands to start()) begins with a msgsec_tlsprov_session:
 *
 *   typedef struct my_state {
 *       msgsec_tlsprov_session tls;   first member
 *       ... the provider's own fields
 *   } my_state;
 *
 * start() fills it with msgsec_tlsprov_begin() and creates the connection
 * with msgsec_tlsprov_connect(). The engine's callbacks (write, detail,
 * and the context's lookup and client_key) then receive the state pointer
 * itself as their arg, so a provider's lookup may cast arg to my_state *.
 *
 * A provider with more to do in an op (mapping a step() failure to its own
 * error, extra peer fields, cancelling its own look-ups in end()) writes
 * that op itself and calls the function here for the common part; the
 * functions taking void *pdata ignore it.
 */
#ifndef MSGSEC_TLSPROV_H
#define MSGSEC_TLSPROV_H

#include <stddef.h>
#include <stdint.h>

#include <msgsec/provider.h>
#include <msgsec/sdk.h>
#include <msgsec/tlspsk.h>

#ifdef __cplusplus
extern "C" {
#endif

/* The start of a TLS-PSK provider's per-session state. */
typedef struct msgsec_tlsprov_session {
    const msgsec_upcalls *up;
    msgsec_psession *ps;
    msgsec_tlspsk_conn *conn; /* NULL until connect(), and after end() */
    int role;                 /* MSGSEC_ROLE_CLIENT or _SERVER */
    /* Bytes sent to the peer through the write callback so far. A TLS 1.2
     * server has written its first flight before it asks for a key, a TLS
     * 1.3 server has not: a look-up can tell the version from this. */
    size_t wrote;
    /* Why the last key look-up refused (msgsec_tlsprov_fail()): its code
     * (0: none) and the cause, for details and logs; never a key. */
    int fail_rc;
    char fail[512];
} msgsec_tlsprov_session;

/*
 * start(), first half: fills s (up, ps, role from up->session_role()) and
 * *cc (size, role, arg = s, the write and detail callbacks below); the
 * provider then sets what its role needs (a client's identity, key and
 * server_name) and calls msgsec_tlsprov_connect(). Returns the role.
 */
MSGSEC_SDK_EXPORT int msgsec_tlsprov_begin(msgsec_tlsprov_session *s,
                                           const msgsec_upcalls *up,
                                           msgsec_psession *ps,
                                           msgsec_tlspsk_conn_config *cc);

/* start(), second half: creates s->conn on ctx. Returns 0 or the engine's
 * error, after a session detail. */
MSGSEC_SDK_EXPORT int msgsec_tlsprov_connect(
    msgsec_tlsprov_session *s, msgsec_tlspsk_ctx *ctx,
    const msgsec_tlspsk_conn_config *cc);

/*
 * Attaches s to a session without a connection, for the ops that answer
 * look-ups on the provider's own (psk_resolve, authorize): up, ps and role
 * set, the recorded failure cleared; conn is left alone.
 */
MSGSEC_SDK_EXPORT void msgsec_tlsprov_attach(msgsec_tlsprov_session *s,
                                             const msgsec_upcalls *up,
                                             msgsec_psession *ps, int role);

/* The engine's write callback (msgsec_tlspsk_write_fn), arg being the
 * msgsec_tlsprov_session: counts the bytes, then up->session_write(). */
MSGSEC_SDK_EXPORT int msgsec_tlsprov_write(void *arg, const void *p,
                                           size_t n);

/* The engine's detail callback (msgsec_tlspsk_detail_fn): passes the
 * engine's detail on through up->session_detail(). */
MSGSEC_SDK_EXPORT void msgsec_tlsprov_detail(void *arg, const char *detail);

/* ----------------------------------------------- look-up failures */

/* TLS alert descriptions (RFC 8446 6) a provider maps to its own errors. */
#define MSGSEC_TLSPROV_ALERT_INTERNAL_ERROR 80
#define MSGSEC_TLSPROV_ALERT_UNKNOWN_PSK_IDENTITY 115

/*
 * Records why a key look-up (the engine's lookup callback, psk_resolve,
 * authorize) refuses: code rc and the printf-formatted cause in s->fail
 * (cut at its size). Returns rc, so that a look-up may end with
 * `return msgsec_tlsprov_fail(s, rc, ...)`. The cause reaches the session
 * through msgsec_tlsprov_step_report() or msgsec_tlsprov_refuse().
 */
MSGSEC_SDK_EXPORT int msgsec_tlsprov_fail(msgsec_tlsprov_session *s, int rc,
                                          const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

/*
 * A look-up answered on the provider's own (psk_resolve, authorize)
 * failed with rc: the recorded cause becomes the session detail and, when
 * what is not NULL, the log line "WHAT: CAUSE" (INFO, through pc).
 * Returns rc.
 */
MSGSEC_SDK_EXPORT int msgsec_tlsprov_refuse(msgsec_tlsprov_session *s,
                                            msgsec_pctx *pc, int rc,
                                            const char *what);

/* A keycache waiter's wake (msgsec_keycache_waiter.wake) for a session:
 * arg is the msgsec_tlsprov_session; calls up->session_wake(). */
MSGSEC_SDK_EXPORT void msgsec_tlsprov_wake(void *arg);

/*
 * step() of a provider that maps failures itself: clears the recorded
 * failure, runs msgsec_tlspsk_step() and, when it fails, fills *info (the
 * alerts sent and received) and reports a server's failure: the one a
 * look-up recorded with msgsec_tlsprov_fail() becomes the session detail
 * "CAUSE (alert NAME sent)" and the log line "handshake refused: CAUSE";
 * another is logged as "handshake with PEER_KIND PEER failed: ENGINE
 * DETAIL" when peer (read after the step, so a buffer the look-up fills)
 * is not "". A client's failure is left to the provider (its alerts in
 * *info). Returns the engine's code.
 */
MSGSEC_SDK_EXPORT int msgsec_tlsprov_step_report(msgsec_tlsprov_session *s,
                                                 msgsec_pctx *pc,
                                                 const uint8_t *in,
                                                 size_t len, size_t *consumed,
                                                 const char *peer_kind,
                                                 const char *peer,
                                                 msgsec_tlspsk_info *info);

/* ------------------------------------------- provider ops (ABI shapes) */

/* step(): msgsec_tlspsk_step(). */
MSGSEC_SDK_EXPORT int msgsec_tlsprov_step(void *pdata, void *state,
                                          const uint8_t *in, size_t len,
                                          size_t *consumed);

/*
 * The common part of result(): MSGSEC_ERR_STATE unless the handshake is
 * done; then zeroes *peer, sets peer->caps (mutual authentication,
 * confidentiality, integrity, replay detection, key export, and forward
 * secrecy when an (EC)DHE exchange took place) and, when info is not
 * NULL, fills *info. The provider adds scheme, identity and the rest.
 */
MSGSEC_SDK_EXPORT int msgsec_tlsprov_peer(const msgsec_tlsprov_session *s,
                                          msgsec_peer *peer,
                                          msgsec_tlspsk_info *info);

/* result(): msgsec_tlsprov_peer(), and as identity the PSK identity the
 * client was accepted with (server) or the session's peer name (client:
 * the server proved it holds the key for the name asked for). The scheme
 * is left to the core (the provider's name). */
MSGSEC_SDK_EXPORT int msgsec_tlsprov_result(void *pdata, void *state,
                                            msgsec_peer *peer);

/* export_key(): msgsec_tlspsk_export(). */
MSGSEC_SDK_EXPORT int msgsec_tlsprov_export_key(void *pdata, void *state,
                                                const char *label,
                                                const uint8_t *context,
                                                size_t context_len,
                                                uint8_t *out, size_t out_len);

/* wrap(): msgsec_tlspsk_wrap(). */
MSGSEC_SDK_EXPORT int msgsec_tlsprov_wrap(void *pdata, void *state,
                                          const uint8_t *in, size_t len,
                                          uint8_t *out, size_t cap,
                                          size_t *out_len);

/* unwrap(): msgsec_tlspsk_unwrap() (MSGSEC_TLSPSK_CLOSED is
 * MSGSEC_UNWRAP_CLOSED). */
MSGSEC_SDK_EXPORT int msgsec_tlsprov_unwrap(void *pdata, void *state,
                                            const uint8_t *in, size_t len,
                                            size_t *consumed, uint8_t *out,
                                            size_t cap, size_t *out_len,
                                            unsigned *flags);

/* limits(): msgsec_tlspsk_limits(). */
MSGSEC_SDK_EXPORT int msgsec_tlsprov_limits(void *pdata, void *state,
                                            size_t *overhead,
                                            size_t *max_record);

/* close(): msgsec_tlspsk_close() (close_notify). */
MSGSEC_SDK_EXPORT int msgsec_tlsprov_close(void *pdata, void *state);

/* end(): frees the connection. A provider with look-ups of its own
 * cancels them first (no callback may run afterwards), then calls this. */
MSGSEC_SDK_EXPORT void msgsec_tlsprov_end(void *pdata, void *state);

/* The name of a TLS alert description (RFC 8446 6), for details:
 * "unknown_psk_identity" for 115, "another alert" when not listed. */
MSGSEC_SDK_EXPORT const char *msgsec_tlsprov_alert_name(int alert);

/* ------------------------------------------------------------- keys */

/*
 * A pre-shared key written in hex, as policies, `openssl s_client -psk`
 * and PSK files (identity:hexkey, as gnutls-serv reads them) give it: all
 * len characters hex digits (either case), an even number of them, at
 * most 2 * cap. Writes the bytes to out and their count to *out_len.
 * Returns 0 or MSGSEC_ERR_INVALID_ARG, with out wiped.
 */
MSGSEC_SDK_EXPORT int msgsec_tlsprov_hex_key(const char *s, size_t len,
                                             uint8_t *out, size_t cap,
                                             size_t *out_len);

/* ------------------------------------------------------------- claim */

/* TLS versions a provider serves, for claim. */
#define MSGSEC_TLSPROV_TLS13 (1u << 0)
#define MSGSEC_TLSPROV_TLS12 (1u << 1)

/* The MSGSEC_TLSPROV_* versions of an engine configuration (0 versions
 * meaning TLS 1.3, as msgsec_tlspsk_ctx_new() reads them). */
MSGSEC_SDK_EXPORT unsigned msgsec_tlsprov_versions(
    const msgsec_tlspsk_config *cfg);

/* Is this PSK identity the provider's? Non-zero: yes. */
typedef int (*msgsec_tlsprov_match_fn)(void *arg, const uint8_t *identity,
                                       size_t len);

/*
 * claim() for a TLS-PSK provider, deciding by the identities a ClientHello
 * offers. With TLS 1.3 among versions, a ClientHello offering TLS 1.3 and
 * a pre_shared_key extension is the provider's when match accepts one of
 * its identities (the first MSGSEC_TLSPSK_HELLO_IDS that fit), and is not
 * otherwise. Any other ClientHello is the provider's when it serves TLS 1.2
 * and the ClientHello offers a TLS 1.2 PSK suite: TLS 1.2 names the
 * identity only after the ClientHello. Returns MSGSEC_CLAIM_MINE,
 * MSGSEC_CLAIM_NOT_MINE (also for what is not a well-formed ClientHello),
 * MSGSEC_CLAIM_MORE (a ClientHello so far), or MSGSEC_ERR_NOMEM. The
 * parsed ClientHello (4.6 KB) is allocated through up->alloc.
 */
MSGSEC_SDK_EXPORT int msgsec_tlsprov_claim_match(const msgsec_upcalls *up,
                                                 msgsec_pctx *pc,
                                                 const uint8_t *tok,
                                                 size_t len, unsigned versions,
                                                 msgsec_tlsprov_match_fn match,
                                                 void *arg);

/* msgsec_tlsprov_claim_match() accepting the identities that start with
 * prefix and are longer than it (AKMA: "3GPP-AKMA" and an A-KID). */
MSGSEC_SDK_EXPORT int msgsec_tlsprov_claim_prefix(const msgsec_upcalls *up,
                                                  msgsec_pctx *pc,
                                                  const uint8_t *tok,
                                                  size_t len,
                                                  unsigned versions,
                                                  const char *prefix);

#ifdef __cplusplus
}
#endif
#endif /* MSGSEC_TLSPROV_H */
