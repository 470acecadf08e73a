/*
 * serve_cmd.c - `msgsec serve`: a diagnostic server, like openssl s_server.
 *
 * One thread and one epoll set hold the listening socket, every
 * connection, a signalfd for SIGTERM/SIGINT and the core's descriptor
 * (msgsec_core_fd()), so that a session waiting for a key look-up never
 * blocks the others: when a look-up completes, msgsec_core_dispatch()
 * hands the session back and it is resumed.
 *
 * A connection goes through three phases:
 *   ACTIVE     bytes from the peer are fed to the session, messages answered
 *   FINISHING  the session has ended (closed or failed): its last bytes (a
 *              close record, an alert, an ERROR frame) are written out
 *   DRAINING   our side is shut down; what the peer still sends is read and
 *              dropped until it closes, so that closing the socket does not
 *              reset the connection and destroy those last bytes in transit
 * FINISHING and DRAINING together last at most LINGER_MS.
 */
#include <errno.h>
#include <getopt.h>
#include <limits.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/signalfd.h>
#include <sys/socket.h>
#include <unistd.h>

#include <openssl/crypto.h>

#include <msgsec/msgsec.h>

#include "cli.h"
#include "netio.h"

#define READ_CHUNK 65536u
/* Stop reading from a peer that does not read its answers. */
#define OUT_HIGH (1u << 20)
#define LINGER_MS 2000
#define BACKLOG 128
#define DEFAULT_MAX_CONNS 1000
#define MAX_EVENTS 64
#define DETAIL_MAX 2048

enum src_kind { SRC_LISTEN = 1, SRC_CORE, SRC_SIGNAL, SRC_CONN };
enum conn_phase {
    PH_ACTIVE = MSGSEC_NET_ACTIVE,
    PH_FINISHING = MSGSEC_NET_FINISHING,
    PH_DRAINING = MSGSEC_NET_DRAINING
};

/* What an epoll event points at; first member of each owner. */
typedef struct ev_src {
    int kind;
} ev_src;

typedef struct server server;

typedef struct conn {
    ev_src src;
    server *srv;
    int fd;
    msgsec_session *s;
    int phase;
    int announced;      /* the "established" line is out */
    int status;         /* exit status this connection stands for (--once) */
    uint32_t events;    /* mask registered with epoll */
    int64_t deadline;   /* FINISHING/DRAINING: close by then */
    char *prefix;       /* "<scheme> <identity>: " once established */
    size_t prefix_len;
    msgsec_netbuf out;  /* protected bytes for the peer */
    msgsec_netbuf line; /* stream framing: the line being received */
    int framing;        /* the session's: --framing, else the policy's */
    struct conn *prev, *next;
    char addr[MSGSEC_NET_ADDR_MAX];
} conn;

struct server {
    msgsec_core *core;
    const char *service;
    int framing;
    size_t max_conns;
    int once;
    int epfd, lfd, sfd;
    ev_src lsrc, csrc, ssrc;
    int listening;        /* lfd is in the epoll set */
    int64_t accept_retry; /* > 0: accept again at this time (out of fds) */
    int stopping;         /* a signal came: no new connections */
    int served;           /* --once: the one connection was accepted */
    int status;           /* exit status */
    conn *conns;
    size_t nconns, nlinger;
    conn *zombies;        /* ended in this round, freed after it */
    unsigned char rbuf[READ_CHUNK];
    unsigned char *mbuf;  /* a received message */
    size_t mcap;
    msgsec_netbuf abuf;   /* an answer being built */
};

const char msgsec_serve_usage[] =
    "Usage: msgsec serve [-c POLICY] --service NAME --listen HOST:PORT\n"
    "                    [--framing message|stream] [--max-conns N] [--once] "
    "[-v]\n"
    "\n"
    "A diagnostic server, like openssl s_server: accepts TCP connections on\n"
    "HOST:PORT, runs a server session of service NAME on each, with whichever\n"
    "provider the policy and the client agree on, and answers every message\n"
    "(message framing) or every line (stream framing) with\n"
    "\"<scheme> <peer identity>: <the message>\".\n"
    "\n"
    "Standard output: first \"listening on HOST:PORT\" (PORT 0 picks a free\n"
    "port; this line tells which), then per connection\n"
    "  established ADDR scheme=S identity=I [supi=..] [gpsi=..] [expiry=..]\n"
    "  failed ADDR: ERROR_NAME: detail\n"
    "  closed ADDR[: reason]\n"
    "Key material is never printed. SIGTERM or SIGINT stops accepting, closes\n"
    "every session cleanly and exits with status 0.\n"
    "\n"
    "  -c, --config POLICY  policy file (default " MSGSEC_SYSCONFDIR
    "/msgsec.conf)\n"
    "  -s, --service NAME   the policy service ([service.NAME])\n"
    "  -l, --listen HOST:PORT  address to listen on ([ADDR]:PORT for IPv6)\n"
    "  -f, --framing MODE   message or stream (default: the policy's framing)\n"
    "      --max-conns N    at most N connections at once (default 1000);\n"
    "                       more wait in the listen queue\n"
    "      --once           serve one connection, then exit\n"
    "  -v, --verbose        also show the library's log on standard error\n"
    "  -h, --help           show this help\n"
    "  -V, --version        show the version\n"
    "\n"
    "Exit status: 0 stopped by a signal (or, with --once, the connection\n"
    "closed cleanly), 1 policy invalid, 2 usage error or unknown service,\n"
    "3 a mandatory provider did not load (or, with --once, the session\n"
    "failed), 4 I/O error (e.g. the address is in use).\n";

#define say msgsec_net_say

/* --------------------------------------------------------- epoll set */

static int ep_set(server *srv, int fd, ev_src *src, uint32_t events, int op)
{
    return msgsec_net_epoll(srv->epfd, fd, src, events, op);
}

/* Registers the events c needs now: input unless the peer is behind with
 * its answers, output while bytes wait. */
static void conn_watch(conn *c)
{
    uint32_t want =
        msgsec_net_watch_mask(c->phase, c->out.len < OUT_HIGH, c->out.len);
    if (want != c->events &&
        ep_set(c->srv, c->fd, &c->src, want, EPOLL_CTL_MOD) == 0)
        c->events = want;
}

static void listen_on(server *srv, int on)
{
    if (srv->lfd < 0 || on == srv->listening)
        return;
    if (ep_set(srv, srv->lfd, &srv->lsrc, on ? EPOLLIN : 0,
               on ? EPOLL_CTL_ADD : EPOLL_CTL_DEL) == 0 ||
        !on)
        srv->listening = on;
}

static void stop_listening(server *srv)
{
    listen_on(srv, 0);
    if (srv->lfd >= 0)
        close(srv->lfd);
    srv->lfd = -1;
}

/* --------------------------------------------------------- connections */

/* Closes the socket and frees the session; the struct waits for the end
 * of the round (events of this round may still name it). */
static void conn_end(conn *c)
{
    server *srv = c->srv;

    epoll_ctl(srv->epfd, EPOLL_CTL_DEL, c->fd, NULL);
    close(c->fd);
    c->fd = -1;
    msgsec_session_free(c->s);
    c->s = NULL;
    if (c->phase != PH_ACTIVE)
        srv->nlinger--;
    if (c->prev)
        c->prev->next = c->next;
    else
        srv->conns = c->next;
    if (c->next)
        c->next->prev = c->prev;
    c->next = srv->zombies;
    c->prev = NULL;
    srv->zombies = c;
    c->src.kind = 0; /* events of this round skip it */
    srv->nconns--;
    if (srv->once && !srv->stopping && c->status != MSGSEC_EXIT_OK)
        srv->status = c->status;
    if (!srv->stopping && !srv->once && srv->nconns < srv->max_conns &&
        srv->accept_retry == 0)
        listen_on(srv, 1);
}

static void conn_free(conn *c)
{
    msgsec_netbuf_free(&c->out);
    msgsec_netbuf_free(&c->line);
    free(c->prefix);
    free(c);
}

/* Our side is done: write what is queued, then shut down and drain. */
static void conn_finish(conn *c)
{
    if (c->phase != PH_ACTIVE)
        return;
    c->phase = PH_FINISHING;
    c->deadline = msgsec_net_now_ms() + LINGER_MS;
    c->srv->nlinger++;
    msgsec_netbuf_free(&c->line);
}

/* Moves on from FINISHING once everything is written. Returns 0 or -1
 * when c ended. */
static int conn_progress(conn *c)
{
    int rc = msgsec_net_linger_step(c->fd, &c->out, &c->phase);

    if (rc < 0) {
        if (c->phase == PH_ACTIVE) {
            say("failed %s: %s: write: %s\n", c->addr,
                msgsec_error_name(MSGSEC_ERR_IO), strerror(-rc));
            c->status = MSGSEC_EXIT_INTERNAL;
        }
        conn_end(c);
        return -1;
    }
    conn_watch(c);
    return 0;
}

/* Reports the end of c's session as a failure and finishes c. */
static void conn_failed(conn *c, int code, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
static void conn_failed(conn *c, int code, const char *fmt, ...)
{
    char text[DETAIL_MAX];
    va_list ap;

    va_start(ap, fmt);
    vsnprintf(text, sizeof(text), fmt, ap);
    va_end(ap);
    say("failed %s: %s: %s\n", c->addr, msgsec_error_name(code), text);
    c->status = msgsec_net_exit_for(code);
    if (c->s) {
        /* A still usable session (the failure is ours, not the
         * protocol's) says goodbye properly. */
        int st = msgsec_session_state(c->s);
        if (st != MSGSEC_STATE_FAILED && st != MSGSEC_STATE_CLOSED)
            msgsec_session_close(c->s);
        if (msgsec_net_pull(c->s, &c->out) < 0)
            msgsec_netbuf_free(&c->out);
    }
    conn_finish(c);
}

/* The session returned code < 0: the session's own detail says why. */
static void conn_session_failed(conn *c, int code)
{
    const char *d = msgsec_session_detail(c->s);
    conn_failed(c, code, "%s", d[0] ? d : msgsec_strerror(code));
}

static void conn_closed(conn *c, const char *why)
{
    if (why)
        say("closed %s: %s\n", c->addr, why);
    else
        say("closed %s\n", c->addr);
    c->status = MSGSEC_EXIT_OK;
    if (msgsec_net_pull(c->s, &c->out) < 0)
        msgsec_netbuf_free(&c->out);
    conn_finish(c);
}

/* Prints the "established" line and keeps the answer prefix. */
static int conn_announce(conn *c)
{
    msgsec_peer peer;
    char text[MSGSEC_NET_PEER_MAX], scheme[128], id[768];
    int rc = msgsec_session_peer(c->s, &peer);

    if (rc < 0) {
        conn_failed(c, rc, "the session gives no peer: %s",
                    msgsec_strerror(rc));
        return -1;
    }
    if (!peer.scheme)
        peer.scheme = msgsec_session_provider(c->s);
    msgsec_net_peer_text(&peer, text, sizeof(text));
    msgsec_net_escape(peer.scheme, scheme, sizeof(scheme));
    msgsec_net_escape(peer.identity, id, sizeof(id));
    size_t n = strlen(scheme) + 1 + strlen(id) + 2;
    c->prefix = malloc(n + 1);
    if (!c->prefix) {
        conn_failed(c, MSGSEC_ERR_NOMEM, "no memory for the connection");
        return -1;
    }
    snprintf(c->prefix, n + 1, "%s %s: ", scheme, id);
    c->prefix_len = n;
    c->announced = 1;
    say("established %s%s\n", c->addr, text);
    return 0;
}

/* Answers one message or line: prefix, the message, and in stream framing
 * the newline. Returns 0 or -1 when c failed. */
static int conn_answer(conn *c, const unsigned char *msg, size_t len)
{
    server *srv = c->srv;
    int rc;

    srv->abuf.len = 0;
    srv->abuf.off = 0;
    if (msgsec_netbuf_append(&srv->abuf, c->prefix, c->prefix_len) < 0 ||
        msgsec_netbuf_append(&srv->abuf, msg, len) < 0 ||
        (c->framing == MSGSEC_FRAMING_STREAM &&
         msgsec_netbuf_append(&srv->abuf, "\n", 1) < 0)) {
        conn_failed(c, MSGSEC_ERR_NOMEM, "no memory for an answer");
        return -1;
    }
    rc = msgsec_session_send(c->s, srv->abuf.p + srv->abuf.off, srv->abuf.len);
    OPENSSL_cleanse(srv->abuf.p + srv->abuf.off, srv->abuf.len);
    msgsec_netbuf_consume(&srv->abuf, srv->abuf.len);
    if (rc < 0) {
        conn_session_failed(c, rc);
        return -1;
    }
    return 0;
}

/* Stream framing: answers each complete line of the plaintext p. */
static int conn_lines(conn *c, const unsigned char *p, size_t n)
{
    while (n > 0) {
        const unsigned char *nl = memchr(p, '\n', n);
        size_t seg = nl ? (size_t)(nl - p) : n;
        if (c->line.len + seg > MSGSEC_NET_LINE_MAX) {
            conn_failed(c, MSGSEC_ERR_MESSAGE_TOO_LARGE,
                        "a line of more than %u bytes",
                        MSGSEC_NET_LINE_MAX);
            return -1;
        }
        if (!nl) {
            if (msgsec_netbuf_append(&c->line, p, seg) < 0) {
                conn_failed(c, MSGSEC_ERR_NOMEM, "no memory for a line");
                return -1;
            }
            return 0;
        }
        if (c->line.len > 0) {
            if (msgsec_netbuf_append(&c->line, p, seg) < 0) {
                conn_failed(c, MSGSEC_ERR_NOMEM, "no memory for a line");
                return -1;
            }
            if (conn_answer(c, c->line.p + c->line.off, c->line.len) < 0)
                return -1;
            msgsec_netbuf_consume(&c->line, c->line.len);
        } else if (conn_answer(c, p, seg) < 0) {
            return -1;
        }
        p += seg + 1;
        n -= seg + 1;
    }
    return 0;
}

/* Takes everything the session decoded and answers it. */
static int conn_deliver(conn *c)
{
    server *srv = c->srv;

    for (;;) {
        size_t len = 0;
        int rc = msgsec_session_recv(c->s, srv->mbuf, srv->mcap, &len);
        if (rc == MSGSEC_ERR_BUFFER_TOO_SMALL && len > srv->mcap) {
            unsigned char *p = malloc(len);
            if (!p) {
                conn_failed(c, MSGSEC_ERR_NOMEM,
                            "no memory for a message of %zu bytes", len);
                return -1;
            }
            OPENSSL_cleanse(srv->mbuf, srv->mcap);
            free(srv->mbuf);
            srv->mbuf = p;
            srv->mcap = len;
            continue;
        }
        if (rc == MSGSEC_CONTINUE)
            return 0;
        if (rc == MSGSEC_ERR_CLOSED) {
            /* The peer closed: answer with our close. */
            rc = msgsec_session_close(c->s);
            if (rc < 0) {
                conn_session_failed(c, rc);
                return -1;
            }
            if (c->line.len > 0)
                conn_closed(c, "the peer closed with an unfinished line");
            else
                conn_closed(c, NULL);
            return -1;
        }
        if (rc < 0) {
            conn_session_failed(c, rc);
            return -1;
        }
        rc = c->framing == MSGSEC_FRAMING_STREAM
                 ? conn_lines(c, srv->mbuf, len)
                 : conn_answer(c, srv->mbuf, len);
        OPENSSL_cleanse(srv->mbuf, len);
        if (rc < 0)
            return -1;
    }
}

/* After feed/resume returned rc: report, answer, send. */
static void conn_after(conn *c, int rc)
{
    if (rc < 0) {
        conn_session_failed(c, rc);
    } else {
        int st = msgsec_session_state(c->s);
        if (st == MSGSEC_STATE_ESTABLISHED || st == MSGSEC_STATE_CLOSED) {
            if ((c->announced || conn_announce(c) == 0) &&
                conn_deliver(c) == 0 &&
                msgsec_net_pull(c->s, &c->out) < 0)
                conn_failed(c, MSGSEC_ERR_NOMEM, "no memory for output");
        } else if (msgsec_net_pull(c->s, &c->out) < 0) {
            conn_failed(c, MSGSEC_ERR_NOMEM, "no memory for output");
        }
    }
    conn_progress(c);
}

/* The peer ended the TCP connection while our session was ACTIVE. */
static void conn_peer_eof(conn *c)
{
    int st = msgsec_session_state(c->s);
    const char *prov = msgsec_session_provider(c->s);

    if (st == MSGSEC_STATE_ESTABLISHED) {
        conn_closed(c, c->line.len > 0 ? "the connection ended with an "
                                         "unfinished line and without a close "
                                         "message"
                                       : "the connection ended without a "
                                         "close message");
    } else {
        /* E.g. an implicit-mode client that did not accept our proof. */
        conn_failed(c, MSGSEC_ERR_PEER_REJECTED,
                    "the peer closed the connection during the handshake%s%s%s",
                    prov ? " (provider " : "", prov ? prov : "",
                    prov ? ")" : "");
    }
    conn_progress(c);
}

static void conn_readable(conn *c)
{
    server *srv = c->srv;
    ssize_t r = recv(c->fd, srv->rbuf, sizeof(srv->rbuf), 0);

    if (r < 0) {
        if (errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR)
            return;
        if (c->phase == PH_ACTIVE) {
            say("failed %s: %s: read: %s\n", c->addr,
                msgsec_error_name(MSGSEC_ERR_IO), strerror(errno));
            c->status = MSGSEC_EXIT_INTERNAL;
        }
        conn_end(c);
        return;
    }
    if (c->phase == PH_DRAINING) {
        if (r == 0)
            conn_end(c);
        return;
    }
    if (c->phase == PH_FINISHING) {
        /* Late bytes are dropped; an end of input changes nothing. */
        if (r == 0)
            conn_watch(c);
        return;
    }
    if (r == 0) {
        conn_peer_eof(c);
        return;
    }
    int rc = msgsec_session_feed(c->s, srv->rbuf, (size_t)r);
    OPENSSL_cleanse(srv->rbuf, (size_t)r);
    conn_after(c, rc);
}

static void conn_event(conn *c, uint32_t events)
{
    if (c->phase == PH_FINISHING && (events & (EPOLLHUP | EPOLLERR))) {
        /* The peer is gone: nothing more can be delivered. */
        conn_end(c);
        return;
    }
    if (events & (EPOLLIN | EPOLLHUP | EPOLLERR)) {
        conn_readable(c);
        if (!c->src.kind)
            return;
    }
    if (events & EPOLLOUT)
        conn_progress(c);
}

/* --------------------------------------------------------- accepting */

static void accept_one(server *srv, int fd, const char *addr)
{
    conn *c = calloc(1, sizeof(*c));
    msgsec_session_config cfg;
    int rc;

    if (!c) {
        msgsec_cli_error("serve: no memory for a connection");
        close(fd);
        return;
    }
    c->src.kind = SRC_CONN;
    c->srv = srv;
    c->fd = fd;
    snprintf(c->addr, sizeof(c->addr), "%s", addr);

    memset(&cfg, 0, sizeof(cfg));
    cfg.size = sizeof(cfg);
    cfg.framing = srv->framing;
    cfg.user_data = c;
    rc = msgsec_session_new(srv->core, srv->service, MSGSEC_ROLE_SERVER, &cfg,
                            &c->s);
    if (rc < 0) {
        const char *d = msgsec_last_detail();
        say("failed %s: %s: %s\n", c->addr, msgsec_error_name(rc),
            d[0] ? d : msgsec_strerror(rc));
        if (srv->once)
            srv->status = msgsec_net_exit_for(rc);
        close(fd);
        free(c);
        return;
    }
    c->framing = msgsec_session_framing(c->s);
    c->events = EPOLLIN;
    if (ep_set(srv, fd, &c->src, EPOLLIN, EPOLL_CTL_ADD) < 0) {
        say("failed %s: %s: epoll: %s\n", c->addr,
            msgsec_error_name(MSGSEC_ERR_IO), strerror(errno));
        if (srv->once)
            srv->status = MSGSEC_EXIT_INTERNAL;
        msgsec_session_free(c->s);
        close(fd);
        free(c);
        return;
    }
    c->next = srv->conns;
    if (srv->conns)
        srv->conns->prev = c;
    srv->conns = c;
    srv->nconns++;
}

static void accept_all(server *srv)
{
    while (srv->lfd >= 0 && srv->nconns < srv->max_conns) {
        char addr[MSGSEC_NET_ADDR_MAX];
        int fd = msgsec_net_accept(srv->lfd, addr, sizeof(addr));
        if (fd == 0)
            return;
        if (fd < 0) {
            /* Out of descriptors or memory: pause instead of spinning. */
            msgsec_cli_error("serve: accept: %s", strerror(-fd));
            listen_on(srv, 0);
            srv->accept_retry = msgsec_net_now_ms() + 100;
            return;
        }
        accept_one(srv, fd, addr);
        if (srv->once) {
            srv->served = 1;
            stop_listening(srv);
            return;
        }
    }
    if (srv->nconns >= srv->max_conns)
        listen_on(srv, 0);
}

/* --------------------------------------------------------- the loop */

static void on_ready(void *user_data, msgsec_session *s)
{
    conn *c = msgsec_session_user_data(s);
    (void)user_data;
    if (!c || !c->src.kind || c->phase != PH_ACTIVE ||
        msgsec_session_state(s) != MSGSEC_STATE_PENDING)
        return;
    conn_after(c, msgsec_session_resume(s));
}

/* SIGTERM/SIGINT: stop accepting; close every session cleanly. */
static void begin_stop(server *srv)
{
    srv->stopping = 1;
    stop_listening(srv);
    srv->accept_retry = 0;
    for (conn *c = srv->conns, *next; c; c = next) {
        next = c->next;
        if (c->phase != PH_ACTIVE)
            continue;
        int st = msgsec_session_state(c->s);
        if (st == MSGSEC_STATE_ESTABLISHED) {
            int rc = msgsec_session_close(c->s);
            if (rc < 0)
                conn_session_failed(c, rc);
            else
                conn_closed(c, "server shutting down");
        } else {
            conn_failed(c, MSGSEC_ERR_CLOSED,
                        "server shutting down during the handshake");
        }
        conn_progress(c);
    }
}

/* Closes connections whose lingering time is over; the epoll timeout. */
static int check_timers(server *srv)
{
    int64_t now = msgsec_net_now_ms(), next = -1;

    if (srv->accept_retry > 0) {
        if (now >= srv->accept_retry) {
            srv->accept_retry = 0;
            if (!srv->stopping && srv->nconns < srv->max_conns)
                listen_on(srv, 1);
        } else {
            next = srv->accept_retry;
        }
    }
    if (srv->nlinger > 0) {
        for (conn *c = srv->conns, *n; c; c = n) {
            n = c->next;
            if (c->phase == PH_ACTIVE)
                continue;
            if (now >= c->deadline)
                conn_end(c);
            else if (next < 0 || c->deadline < next)
                next = c->deadline;
        }
    }
    if (next < 0)
        return -1;
    return next - now > INT_MAX ? INT_MAX : (int)(next - now);
}

static void free_zombies(server *srv)
{
    while (srv->zombies) {
        conn *c = srv->zombies;
        srv->zombies = c->next;
        conn_free(c);
    }
}

static int run(server *srv)
{
    struct epoll_event evs[MAX_EVENTS];

    for (;;) {
        int timeout = check_timers(srv);
        free_zombies(srv);
        if (srv->nconns == 0 &&
            (srv->stopping || (srv->once && srv->served)))
            return srv->status;
        int n = epoll_wait(srv->epfd, evs, MAX_EVENTS, timeout);
        if (n < 0) {
            if (errno == EINTR)
                continue;
            msgsec_cli_error("serve: epoll_wait: %s", strerror(errno));
            return MSGSEC_EXIT_INTERNAL;
        }
        for (int i = 0; i < n; i++) {
            ev_src *src = evs[i].data.ptr;
            switch (src->kind) {
            case SRC_LISTEN:
                accept_all(srv);
                break;
            case SRC_CORE:
                msgsec_core_dispatch(srv->core, on_ready, srv);
                break;
            case SRC_SIGNAL: {
                struct signalfd_siginfo si;
                while (read(srv->sfd, &si, sizeof(si)) == (ssize_t)sizeof(si))
                    ;
                if (!srv->stopping) {
                    srv->status = MSGSEC_EXIT_OK;
                    begin_stop(srv);
                }
                break;
            }
            case SRC_CONN:
                conn_event((conn *)src, evs[i].events);
                break;
            default:
                break; /* a connection ended earlier in this round */
            }
        }
    }
}

/* --------------------------------------------------------- the command */

typedef struct serve_opts {
    const char *policy, *service, *listen;
    int framing, verbose, once;
    size_t max_conns;
} serve_opts;

enum { OPT_MAX_CONNS = 256, OPT_ONCE };

static int parse_opts(const msgsec_cli_command *cmd, int argc, char **argv,
                      serve_opts *o)
{
    static const struct option longopts[] = {
        {"config", required_argument, NULL, 'c'},
        {"service", required_argument, NULL, 's'},
        {"listen", required_argument, NULL, 'l'},
        {"framing", required_argument, NULL, 'f'},
        {"max-conns", required_argument, NULL, OPT_MAX_CONNS},
        {"once", no_argument, NULL, OPT_ONCE},
        {"verbose", no_argument, NULL, 'v'},
        {"help", no_argument, NULL, 'h'},
        {"version", no_argument, NULL, 'V'},
        {NULL, 0, NULL, 0},
    };
    int c;

    memset(o, 0, sizeof(*o));
    o->policy = msgsec_cli_default_policy();
    o->framing = MSGSEC_FRAMING_DEFAULT; /* the policy service's */
    o->max_conns = DEFAULT_MAX_CONNS;
    opterr = 0;
    optind = 0;
    while ((c = getopt_long(argc, argv, "+:c:s:l:f:vhV", longopts, NULL)) !=
           -1) {
        switch (c) {
        case 'c':
            o->policy = optarg;
            break;
        case 's':
            o->service = optarg;
            break;
        case 'l':
            o->listen = optarg;
            break;
        case 'f':
            o->framing = msgsec_net_framing(optarg);
            if (o->framing < 0)
                return msgsec_cli_usage_error(
                    cmd->name, "serve: --framing '%s': message or stream",
                    optarg);
            break;
        case OPT_MAX_CONNS: {
            char *end = NULL;
            errno = 0;
            long v = strtol(optarg, &end, 10);
            if (errno || end == optarg || *end || v < 1 || v > 1000000)
                return msgsec_cli_usage_error(
                    cmd->name, "serve: --max-conns '%s': a number from 1 to "
                               "1000000",
                    optarg);
            o->max_conns = (size_t)v;
            break;
        }
        case OPT_ONCE:
            o->once = 1;
            break;
        case 'v':
            o->verbose = 1;
            break;
        case 'h':
            fputs(cmd->usage, stdout);
            return MSGSEC_EXIT_OK;
        case 'V':
            msgsec_cli_version();
            return MSGSEC_EXIT_OK;
        case ':':
            return msgsec_cli_usage_error(cmd->name,
                                          "serve: option '%s' needs an "
                                          "argument",
                                          argv[optind - 1]);
        default:
            if (optopt > 0 && optopt < 256)
                return msgsec_cli_usage_error(
                    cmd->name, "serve: unknown option '-%c'", optopt);
            return msgsec_cli_usage_error(cmd->name,
                                          "serve: unknown option '%s'",
                                          argv[optind - 1]);
        }
    }
    if (optind < argc)
        return msgsec_cli_usage_error(cmd->name,
                                      "serve: unexpected argument '%s'",
                                      argv[optind]);
    if (o->policy[0] == '\0')
        return msgsec_cli_usage_error(cmd->name, "serve: empty policy path");
    if (!o->service || !o->service[0])
        return msgsec_cli_usage_error(cmd->name,
                                      "serve: --service NAME is required");
    if (!o->listen)
        return msgsec_cli_usage_error(cmd->name,
                                      "serve: --listen HOST:PORT is required");
    return -1;
}

/* Everything set up; runs the loop and releases what setup took. */
static int serve(server *srv, const serve_opts *o, const char *host,
                 const char *port)
{
    char err[MSGSEC_NET_ERR_MAX], addr[MSGSEC_NET_ADDR_MAX];
    static const int sigs[] = {SIGTERM, SIGINT, 0};
    int rc;

    /* Before the core exists: its provider threads inherit the mask. */
    if ((srv->sfd = msgsec_net_signalfd(sigs)) < 0) {
        msgsec_cli_error("serve: signalfd: %s", strerror(errno));
        return MSGSEC_EXIT_INTERNAL;
    }
    rc = msgsec_net_open_core("serve", o->policy, o->service, o->verbose,
                              &srv->core);
    if (rc != MSGSEC_EXIT_OK)
        return rc;
    if (msgsec_net_listen(host, port, BACKLOG, &srv->lfd, err, sizeof(err)) <
        0) {
        msgsec_cli_error("serve: %s", err);
        return MSGSEC_EXIT_INTERNAL;
    }
    srv->epfd = epoll_create1(EPOLL_CLOEXEC);
    if (srv->epfd < 0 ||
        ep_set(srv, srv->sfd, &srv->ssrc, EPOLLIN, EPOLL_CTL_ADD) < 0 ||
        ep_set(srv, msgsec_core_fd(srv->core), &srv->csrc, EPOLLIN,
               EPOLL_CTL_ADD) < 0) {
        msgsec_cli_error("serve: epoll: %s", strerror(errno));
        return MSGSEC_EXIT_INTERNAL;
    }
    listen_on(srv, 1);
    if (!srv->listening) {
        msgsec_cli_error("serve: epoll: %s", strerror(errno));
        return MSGSEC_EXIT_INTERNAL;
    }
    if ((rc = msgsec_net_local_text(srv->lfd, addr, sizeof(addr))) < 0) {
        msgsec_cli_error("serve: getsockname: %s", strerror(-rc));
        return MSGSEC_EXIT_INTERNAL;
    }
    say("listening on %s\n", addr);
    return run(srv);
}

int msgsec_cmd_serve(const msgsec_cli_command *cmd, int argc, char **argv)
{
    serve_opts o;
    server *srv;
    char host[256], port[8], err[MSGSEC_NET_ERR_MAX];
    int rc = parse_opts(cmd, argc, argv, &o);

    if (rc >= 0)
        return rc;
    if (msgsec_net_split(o.listen, host, sizeof(host), port, sizeof(port), err,
                         sizeof(err)) < 0)
        return msgsec_cli_usage_error(cmd->name, "serve: --listen %s", err);
    srv = calloc(1, sizeof(*srv));
    if (!srv) {
        msgsec_cli_error("serve: out of memory");
        return MSGSEC_EXIT_INTERNAL;
    }
    srv->service = o.service;
    srv->framing = o.framing;
    srv->max_conns = o.max_conns;
    srv->once = o.once;
    srv->epfd = srv->lfd = srv->sfd = -1;
    srv->lsrc.kind = SRC_LISTEN;
    srv->csrc.kind = SRC_CORE;
    srv->ssrc.kind = SRC_SIGNAL;
    srv->mcap = READ_CHUNK;
    srv->mbuf = malloc(srv->mcap);
    signal(SIGPIPE, SIG_IGN);
    if (!srv->mbuf) {
        msgsec_cli_error("serve: out of memory");
        rc = MSGSEC_EXIT_INTERNAL;
    } else {
        rc = serve(srv, &o, host, port);
    }

    while (srv->conns)
        conn_end(srv->conns);
    free_zombies(srv);
    stop_listening(srv);
    if (srv->epfd >= 0)
        close(srv->epfd);
    if (srv->sfd >= 0)
        close(srv->sfd);
    msgsec_core_free(srv->core);
    if (srv->mbuf) {
        OPENSSL_cleanse(srv->mbuf, srv->mcap);
        free(srv->mbuf);
    }
    msgsec_netbuf_free(&srv->abuf);
    free(srv);
    return rc;
}
