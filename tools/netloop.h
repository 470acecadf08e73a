/*
 * netloop.h - the event loops shared by the diagnostic pair (`msgsec
 * serve`, `msgsec connect`) and the MSGin5G examples (msgin5g-server,
 * msgin5g-client); part of tools/libmsgsec-netio.
 *
 * The server: one thread, one epoll set holding the listening socket,
 * every connection (non-blocking), a signalfd and each watched core's
 * descriptor (msgsec_core_fd()), so that a session waiting for a key
 * look-up never blocks the others. A connection is ACTIVE, then FINISHING
 * (its last bytes, a close or an alert, are written out), then DRAINING
 * (our side shut down; the peer's late bytes are read and dropped until it
 * closes, so that closing the socket does not reset the connection and
 * destroy those last bytes), at most linger_ms for both. What a server
 * does with its plaintext and how it logs are its callbacks.
 *
 * The client: one session over one socket, waited on with poll() together
 * with the core's descriptor and the caller's own descriptors.
 */
#ifndef MSGSEC_NETLOOP_H
#define MSGSEC_NETLOOP_H

#include <poll.h>
#include <stddef.h>
#include <stdint.h>

#include <msgsec/msgsec.h>

#include "netio.h"

/* Bytes read from a socket at once. */
#define MSGSEC_NL_READ_CHUNK 65536u

typedef struct msgsec_nl_server msgsec_nl_server;

/* What an epoll event points at; ready NULL: ended, skipped. */
typedef struct msgsec_nl_src {
    void (*ready)(void *owner, uint32_t events);
    void *owner;
} msgsec_nl_src;

/* One connection; the first member of the server's own connection type
 * (ops->conn_size bytes are allocated, zeroed). */
typedef struct msgsec_nl_conn {
    msgsec_nl_src src;
    msgsec_nl_server *srv;
    int fd;
    msgsec_session *s;  /* made by ops->open, user_data this connection */
    int phase;          /* MSGSEC_NET_ACTIVE, _FINISHING, _DRAINING */
    int established;    /* the handshake completed */
    int hold;           /* set by the owner: read nothing for now */
    uint32_t events;    /* mask registered with epoll */
    int64_t deadline;   /* FINISHING/DRAINING: ended by then */
    int64_t settle_by;  /* ACTIVE, > 0: closed (MSGSEC_NL_UNSETTLED) at this
                           time unless msgsec_nl_settle() is called first */
    int64_t last_in;    /* last bytes from the peer (idle timeout) */
    msgsec_netbuf out;  /* protected bytes for the peer */
    struct msgsec_nl_conn *prev, *next;
    char addr[MSGSEC_NET_ADDR_MAX];
} msgsec_nl_conn;

/* Why the loop ends a connection (ops->end). */
enum msgsec_nl_why {
    MSGSEC_NL_FAILED = 1, /* the session failed: code, detail its detail */
    MSGSEC_NL_PEER_CLOSED, /* the peer's close message came */
    MSGSEC_NL_PEER_EOF,   /* the TCP connection ended while ACTIVE */
    MSGSEC_NL_READ_ERROR, /* code -errno, detail strerror */
    MSGSEC_NL_WRITE_ERROR,
    MSGSEC_NL_NOMEM,
    MSGSEC_NL_OVERSIZED,  /* a message over msg_max; code its length */
    MSGSEC_NL_IDLE,       /* nothing from the peer for idle_ms */
    MSGSEC_NL_UNSETTLED,  /* not settled within settle_ms */
    MSGSEC_NL_SHUTDOWN    /* msgsec_nl_stop() */
};

typedef struct msgsec_nl_ops {
    size_t conn_size;
    /* A connection was accepted (c->fd, c->addr set): make c->s with
     * user_data c. 0, or -1: dropped (the callback said why). */
    int (*open)(msgsec_nl_conn *c);
    /* The handshake completed. 0, or -1 when c was closed. */
    int (*established)(msgsec_nl_conn *c);
    /* Plaintext: one message, or a piece of the stream (stream framing);
     * wiped after. 0, or -1 when c is no longer ACTIVE. */
    int (*data)(msgsec_nl_conn *c, const unsigned char *p, size_t n);
    /* The loop ends c for why: the callback logs it and drops its own
     * per-connection state; the loop then closes the session when still
     * usable (not for PEER_EOF and I/O errors) and finishes c. */
    void (*end)(msgsec_nl_conn *c, int why, int code, const char *detail);
    /* c's socket and session are gone (the struct is freed later). */
    void (*gone)(msgsec_nl_conn *c);
    /* A blocked signal arrived (optional). */
    void (*signal)(msgsec_nl_server *srv, int signo);
    /* Every tick_ms (optional). */
    void (*tick)(msgsec_nl_server *srv);
    /* Between two loop rounds, after ended connections are freed
     * (optional). */
    void (*between)(msgsec_nl_server *srv);
    /* accept() failed with err (e.g. EMFILE): accepting pauses 100 ms
     * (optional). */
    void (*accept_paused)(msgsec_nl_server *srv, int err);
} msgsec_nl_ops;

struct msgsec_nl_server {
    const msgsec_nl_ops *ops;
    void *user;
    /* settings: set before msgsec_nl_run() (0: none, unless said) */
    size_t max_conns;    /* required */
    size_t out_high;     /* stop reading from a peer this far behind */
    size_t msg_max;      /* larger messages end the connection */
    int linger_ms;       /* required */
    int64_t idle_ms, settle_ms, tick_ms;
    int quit_when_idle;  /* msgsec_nl_run() returns once no connection is
                            left (after a last one, e.g. serve --once) */
    /* state */
    int epfd, lfd, sfd;
    msgsec_nl_src lsrc, ssrc;
    int listening, stopping;
    int64_t accept_retry, next_tick;
    msgsec_nl_conn *conns, *zombies;
    size_t nconns, nlinger;
    unsigned char *rbuf;
    unsigned char *mbuf; /* a received message */
    size_t mcap;
};

/* A core whose descriptor the loop watches: look-ups that complete resume
 * their sessions. First member of a bigger struct if wanted. */
typedef struct msgsec_nl_core {
    msgsec_nl_src src;
    msgsec_nl_server *srv;
    msgsec_core *core;
} msgsec_nl_core;

/*
 * Prepares srv (zeroed by the caller, settings filled): a signalfd for the
 * 0-ended list sigs (before any core exists: provider threads inherit the
 * mask; SIGPIPE ignored), the epoll set and buffers. 0, or -1 with err.
 */
int msgsec_nl_init(msgsec_nl_server *srv, const msgsec_nl_ops *ops,
                   const int *sigs, char *err, size_t n);
/* Listens on host:port and reports the address bound in addr. 0, or -1
 * with err. */
int msgsec_nl_listen(msgsec_nl_server *srv, const char *host,
                     const char *port, int backlog, char *addr, size_t addr_n,
                     char *err, size_t n);
/* Watches (or stops watching) the descriptor of core through w. 0 or -1
 * with errno. */
int msgsec_nl_watch_core(msgsec_nl_server *srv, msgsec_nl_core *w,
                         msgsec_core *core);
void msgsec_nl_unwatch_core(msgsec_nl_server *srv, msgsec_nl_core *w);
/* Runs until stopped and no connection is left: 0, or -errno when
 * epoll_wait failed. */
int msgsec_nl_run(msgsec_nl_server *srv);
/* Stops accepting; every ACTIVE connection is ended (MSGSEC_NL_SHUTDOWN). */
void msgsec_nl_stop(msgsec_nl_server *srv);
/* Closes the listening socket (no new connections). */
void msgsec_nl_stop_listening(msgsec_nl_server *srv);
/* Ends every connection and releases what msgsec_nl_init() took. */
void msgsec_nl_free(msgsec_nl_server *srv);

/* Our side of c is done: when close_session, the session's close (if it
 * is still usable); its last bytes are queued, written out, then c
 * drains. The caller logged why. */
void msgsec_nl_finish(msgsec_nl_conn *c, int close_session);
/* Writes out what is queued, moves on from FINISHING, updates the epoll
 * mask. 0, or -1 when c ended. */
int msgsec_nl_progress(msgsec_nl_conn *c);
/* Sends n bytes on c's session and writes them out. 0, or -1 when c is
 * no longer ACTIVE (it is then finishing or ended). */
int msgsec_nl_send(msgsec_nl_conn *c, const void *p, size_t n);
/* c needs no settle timeout any more (e.g. it is registered). */
void msgsec_nl_settle(msgsec_nl_conn *c);

/* A client's connection. */
typedef struct msgsec_nl_client {
    msgsec_core *core;
    msgsec_session *s;
    int fd;
    msgsec_netbuf out;   /* protected bytes for the server */
    unsigned char *mbuf; /* a received message */
    size_t mcap;
    unsigned char *rbuf;
} msgsec_nl_client;

/* Buffers, no session nor socket yet; SIGPIPE ignored. 0, or -1. */
int msgsec_nl_client_init(msgsec_nl_client *cl);
/*
 * A client session of service on cl->core (cfg: framing, names), then the
 * connection to host:port within timeout_ms. Returns 0; or the msgsec
 * error with err filled and *connecting 0 when the session could not be
 * made, 1 when the connection could not.
 */
int msgsec_nl_client_open(msgsec_nl_client *cl, const char *service,
                          const msgsec_session_config *cfg, const char *host,
                          const char *port, int timeout_ms, char *err,
                          size_t n, int *connecting);
/* Moves what the session queued to the socket: 0, MSGSEC_ERR_NOMEM, or
 * -errno from writing. */
int msgsec_nl_client_flush(msgsec_nl_client *cl);

/* msgsec_nl_client_wait() outcomes. */
enum {
    MSGSEC_NL_QUIET = 0,   /* timeout, or only the caller's descriptors */
    MSGSEC_NL_MOVED = 1,   /* the session was fed or resumed: *rc */
    MSGSEC_NL_EOF = 2      /* the server ended the connection */
};
/*
 * Waits at most timeout_ms (< 0: no limit) for the socket (output too
 * while bytes wait), the core's descriptor and the n descriptors of extra
 * (their revents filled). Resumes the session when its look-up completed,
 * else feeds what the socket brought; *rc is what resume or feed returned.
 * Returns an outcome above, or -errno when poll or recv failed.
 */
int msgsec_nl_client_wait(msgsec_nl_client *cl, struct pollfd *extra,
                          size_t n, int timeout_ms, int *rc);
/* Takes one decoded message into cl->mbuf (*len): as
 * msgsec_net_recv_grow(), the buffer grown as needed up to max bytes. */
int msgsec_nl_client_recv(msgsec_nl_client *cl, size_t max, size_t *len);
/* Closes the socket, frees the session, the core and the buffers. */
void msgsec_nl_client_free(msgsec_nl_client *cl);

#endif /* MSGSEC_NETLOOP_H */
