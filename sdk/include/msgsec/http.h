/*
 * http.h - the SDK's non-blocking HTTP client (libcurl), for look-ups such
 * as the AAnF (TS 29.535) and SEAL key management (TS 29.549).
 *
 * A msgsec_http_client owns one worker thread that drives all of its
 * transfers with libcurl's multi interface: connections are reused, HTTP/2
 * streams are multiplexed over one connection per server, and starting or
 * cancelling a request never waits for the network. Bodies are opaque bytes
 * (the JSON codecs sit on top, e.g. <msgsec/aanf.h>).
 *
 * HOW A PROVIDER LOOKS A KEY UP WITHOUT BLOCKING THE CALLER
 *
 *   init():  client = msgsec_http_client_new(...)   one per provider instance
 *   step():  msgsec_http_start(client, &req, done, st, &st->req);
 *            return MSGSEC_PENDING;                  the caller's loop goes on
 *   done():  runs on the worker thread when the answer (or an error) is in:
 *            decode or copy what is needed into st, then
 *            up->session_wake(st->ps);               the core re-runs step()
 *   step():  (in == NULL, len == 0) reads the result from st,
 *            msgsec_http_request_free(st->req), continues the handshake.
 *   end():   msgsec_http_request_free(st->req) when a request is still
 *            outstanding: it cancels the transfer and waits for a done()
 *            already running to return, so no wake follows end().
 *   fini():  msgsec_http_client_free(client).
 *
 * done() must be quick and must not block: every transfer of the client
 * waits while it runs. It must not take a lock that the thread calling
 * msgsec_http_request_free() for the same request may hold, and it must not
 * call msgsec_http_perform() (it may start new requests and free requests,
 * its own included).
 *
 * Threads: every function may be called from any thread; one request
 * handle is owned by one thread at a time.
 *
 * libcurl 7.88.x fails any transfer that reuses an h2c (prior knowledge)
 * connection (curl issue 10634, fixed in 8.0.0); with those versions each
 * h2c request opens a connection of its own. HTTP/2 over TLS and HTTP/1.1
 * reuse connections with every version.
 */
#ifndef MSGSEC_HTTP_H
#define MSGSEC_HTTP_H

#include <stddef.h>
#include <stdint.h>

#include <msgsec/sdk.h>

#ifdef __cplusplus
extern "C" {
#endif

typedef struct msgsec_http_client msgsec_http_client;
typedef struct msgsec_http_request msgsec_http_request;

/*
 * HTTP versions (the setting http_version):
 *   "2-prior-knowledge"  http:// speaks HTTP/2 from the first byte (h2c, as
 *                        SBI servers do); https:// offers h2 and http/1.1
 *                        by ALPN. The default.
 *   "2"                  http:// starts with HTTP/1.1 and offers an upgrade
 *                        to h2c, staying on HTTP/1.1 when the server does
 *                        not take it; https:// as above.
 *   "1.1"                HTTP/1.1 only.
 */
enum msgsec_http_version {
    MSGSEC_HTTP_2_PRIOR_KNOWLEDGE = 0,
    MSGSEC_HTTP_2 = 1,
    MSGSEC_HTTP_1_1 = 2
};

/* Parses a version name (above); 0 or MSGSEC_ERR_INVALID_ARG. */
MSGSEC_SDK_EXPORT int msgsec_http_version_from_name(const char *name,
                                                    int *version);
/* The name of a version, NULL when unknown. */
MSGSEC_SDK_EXPORT const char *msgsec_http_version_name(int version);

/* Defaults for the zero fields of msgsec_http_config. */
#define MSGSEC_HTTP_DEFAULT_CONNECT_TIMEOUT_MS 2000
#define MSGSEC_HTTP_DEFAULT_TIMEOUT_MS 5000
#define MSGSEC_HTTP_DEFAULT_MAX_RESPONSE 65536
/* Longest accepted request body and URL. */
#define MSGSEC_HTTP_MAX_REQUEST_BODY (1024 * 1024)
#define MSGSEC_HTTP_MAX_URL 2048

/*
 * Client settings. `size` must be sizeof(msgsec_http_config) as the caller
 * compiled it; fields are only appended. Zero means the default.
 */
typedef struct msgsec_http_config {
    size_t size;
    int version;              /* enum msgsec_http_version */
    long connect_timeout_ms;  /* TCP + TLS set-up of a new connection */
    long timeout_ms;          /* whole request, connection included */
    size_t max_response;      /* longest response body accepted */
    /* https:// only; NULL for the system defaults. */
    const char *ca_file;      /* trusted CAs (PEM) */
    const char *cert_file;    /* client certificate (PEM) for mutual TLS */
    const char *key_file;     /* its private key (PEM) */
    /* Proxy URL; NULL: none (proxy environment variables are ignored). */
    const char *proxy;
    /* Most connections to one host:port (HTTP/1.1 opens one per request in
     * flight; HTTP/2 multiplexes). 0: no limit. */
    long max_host_connections;
} msgsec_http_config;

/*
 * Creates a client and starts its worker thread. cfg may be NULL for all
 * defaults. On failure *out is NULL and detail (when non-NULL) says why.
 * Errors: MSGSEC_ERR_INVALID_ARG (bad setting), MSGSEC_ERR_NOMEM,
 * MSGSEC_ERR_INTERNAL (libcurl or thread set-up failed).
 */
MSGSEC_SDK_EXPORT int msgsec_http_client_new(const msgsec_http_config *cfg,
                                             msgsec_http_client **out,
                                             char *detail, size_t detail_len);

/*
 * Stops the worker and frees the client. Requests still outstanding are
 * cancelled (their callbacks are not called); their handles must still be
 * freed with msgsec_http_request_free(), which then only releases memory.
 * Must not be called from a completion callback. NULL is ok.
 */
MSGSEC_SDK_EXPORT void msgsec_http_client_free(msgsec_http_client *client);

/* One request. Everything is copied by msgsec_http_start(). */
typedef struct msgsec_http_request_spec {
    const char *method;          /* "GET", "POST", ...; NULL: POST with a
                                    body, GET without */
    const char *url;             /* http:// or https:// only */
    const char *const *headers;  /* NULL-terminated "Name: value" lines */
    const void *body;            /* may be NULL when body_len is 0 */
    size_t body_len;
    long timeout_ms;             /* 0: the client's */
    long connect_timeout_ms;     /* 0: the client's */
} msgsec_http_request_spec;

/*
 * The outcome of a request. result is 0 when an HTTP response arrived
 * (whatever its status), else:
 *   MSGSEC_ERR_LOOKUP_FAILED  no usable response: connection refused or
 *                             reset, name not resolved, TLS failure,
 *                             protocol error, body over max_response
 *   MSGSEC_ERR_TIMEOUT        the connect or total timeout expired
 *   MSGSEC_ERR_NOMEM
 * detail says what happened (for logs; never holds body bytes).
 * Everything stays valid until the request is freed.
 */
typedef struct msgsec_http_response {
    int result;
    int status;               /* HTTP status code; 0 when result < 0 */
    int http_version;         /* 11 or 20 as spoken; 0 when unknown */
    const char *content_type; /* media type with parameters, or NULL */
    const uint8_t *body;      /* body_len bytes, plus a NUL not counted */
    size_t body_len;
    const char *detail;       /* never NULL; "" when nothing to say */
    double elapsed;           /* seconds from start to completion */
} msgsec_http_response;

/*
 * Completion callback: runs exactly once per request that is not cancelled
 * first, on the client's worker thread. resp is valid until the request is
 * freed. See the rules at the top of this file.
 */
typedef void (*msgsec_http_done_fn)(void *arg, msgsec_http_request *req,
                                    const msgsec_http_response *resp);

/*
 * Starts a request and returns at once; done(arg, ...) follows on the
 * worker thread. *out receives the handle, which the caller frees with
 * msgsec_http_request_free() in every case (done or not). *out is set
 * before done() can run.
 * Errors: MSGSEC_ERR_INVALID_ARG (no URL, a scheme other than http or
 * https, a header with CR or LF, sizes over the limits above),
 * MSGSEC_ERR_NOMEM, MSGSEC_ERR_STATE (the client is shutting down).
 */
MSGSEC_SDK_EXPORT int msgsec_http_start(msgsec_http_client *client,
                                        const msgsec_http_request_spec *spec,
                                        msgsec_http_done_fn done, void *arg,
                                        msgsec_http_request **out);

/*
 * Cancels the request if it has not completed and frees it. When it
 * returns, the callback is not running and will never run. From inside the
 * request's own callback the handle is freed when the callback returns.
 * The response bytes are wiped (they may hold keys). NULL is ok.
 */
MSGSEC_SDK_EXPORT void msgsec_http_request_free(msgsec_http_request *req);

/* The response once the request has completed (from the moment its
 * callback starts, so a woken session may read it at once), else NULL. */
MSGSEC_SDK_EXPORT const msgsec_http_response *
msgsec_http_request_response(const msgsec_http_request *req);

/*
 * Blocking convenience for tools and tests: runs one request on the
 * client's worker and waits for it. On return (0 or not) *out is a
 * completed request whose response tells the outcome, or NULL when it
 * could not be started; free it with msgsec_http_request_free().
 * Returns 0 or the error of msgsec_http_start(); MSGSEC_ERR_STATE when
 * called from a completion callback.
 */
MSGSEC_SDK_EXPORT int msgsec_http_perform(msgsec_http_client *client,
                                          const msgsec_http_request_spec *spec,
                                          msgsec_http_request **out);

/*
 * True when content_type names media type `type` ("application/json"),
 * ignoring case, surrounding blanks and parameters such as "; charset=".
 */
MSGSEC_SDK_EXPORT int msgsec_http_media_type_is(const char *content_type,
                                                const char *type);

#ifdef __cplusplus
}
#endif
#endif /* MSGSEC_HTTP_H */
