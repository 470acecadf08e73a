/*
 * h2server.h - a small single-threaded HTTP server for the emulators:
 * HTTP/2 without TLS (prior knowledge, libnghttp2) and HTTP/1.1 on the same
 * port, told apart by the HTTP/2 connection preface. Non-blocking sockets on
 * one epoll loop; responses may be delayed without blocking other clients.
 * Runs until SIGTERM or SIGINT.
 */
#ifndef MSGSEC_H2SERVER_H
#define MSGSEC_H2SERVER_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

/* One complete request. Valid during the handler call only. */
typedef struct msgsec_h2s_request {
    const char *method;
    const char *path;         /* request target as sent */
    const char *content_type; /* NULL when absent */
    const char *authorization; /* NULL when absent; may hold a secret */
    const uint8_t *body;      /* body_len bytes (NUL-terminated) */
    size_t body_len;
    int proto;                /* 11 (HTTP/1.x) or 20 (HTTP/2) */
    /* Non-zero when the server already knows the answer's status:
     * 400 bad framing, 411 no Content-Length, 413 body over max_body.
     * The handler still writes the response (a ProblemDetails). */
    int error;
    const char *peer;         /* "ADDRESS:PORT" of the client */
} msgsec_h2s_request;

/* The handler's answer. body is malloc()ed; the server wipes and frees it. */
typedef struct msgsec_h2s_response {
    int status;
    const char *content_type; /* static string or NULL */
    const char *allow;        /* Allow header (405), static string or NULL */
    /* WWW-Authenticate header (401), static string or NULL */
    const char *www_authenticate;
    int no_store;             /* Cache-Control: no-store, Pragma: no-cache
                                 (answers holding credentials) */
    uint8_t *body;
    size_t body_len;
    unsigned delay_ms;        /* send the answer this much later */
} msgsec_h2s_response;

typedef void (*msgsec_h2s_handler)(void *arg, const msgsec_h2s_request *req,
                                   msgsec_h2s_response *resp);

typedef struct msgsec_h2s_config {
    const char *listen;  /* "HOST:PORT" or "[V6]:PORT"; PORT 0: ephemeral */
    size_t max_body;     /* longer bodies get error 413 */
    msgsec_h2s_handler handler;
    void *arg;
    FILE *announce;      /* "listening on HOST:PORT" goes here */
} msgsec_h2s_config;

/* The reason phrase of a status (RFC 9110), NULL for one not listed. */
const char *msgsec_h2s_reason(int status);

/*
 * Listens, announces the actual address, serves until SIGTERM or SIGINT
 * (blocked in the calling thread and read from a signalfd). Returns 0 after
 * a signal, or -1 with err set when the server cannot start.
 */
int msgsec_h2s_run(const msgsec_h2s_config *cfg, char *err, size_t err_len);

#endif /* MSGSEC_H2SERVER_H */
