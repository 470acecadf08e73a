/* netloop.c - the server and client loops of the tool and the examples. */
#include <errno.h>
#include <limits.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/signalfd.h>
#include <sys/socket.h>
#include <unistd.h>

#include <openssl/crypto.h>

#include "netloop.h"

#define MAX_EVENTS 128
#define ACCEPT_PAUSE_MS 100

static int ep_set(msgsec_nl_server *srv, int fd, msgsec_nl_src *src,
                  uint32_t events, int op)
{
    return msgsec_net_epoll(srv->epfd, fd, src, events, op);
}

static void listen_on(msgsec_nl_server *srv, int on)
{
    if (srv->lfd < 0 || on == srv->listening)
        return;
    if (ep_set(srv, srv->lfd, &srv->lsrc, on ? EPOLLIN : 0,
               on ? EPOLL_CTL_ADD : EPOLL_CTL_DEL) == 0 ||
        !on)
        srv->listening = on;
}

void msgsec_nl_stop_listening(msgsec_nl_server *srv)
{
    listen_on(srv, 0);
    if (srv->lfd >= 0)
        close(srv->lfd);
    srv->lfd = -1;
}

/* Input unless held or the peer is behind with its output; output while
 * bytes wait. */
static void conn_watch(msgsec_nl_conn *c)
{
    size_t high = c->srv->out_high;
    uint32_t want = msgsec_net_watch_mask(
        c->phase, !c->hold && (high == 0 || c->out.len < high), c->out.len);
    if (want != c->events &&
        ep_set(c->srv, c->fd, &c->src, want, EPOLL_CTL_MOD) == 0)
        c->events = want;
}

/* Closes the socket and frees the session; the struct waits for the end
 * of the round (events of this round may still name it). */
static void conn_end(msgsec_nl_conn *c)
{
    msgsec_nl_server *srv = c->srv;

    epoll_ctl(srv->epfd, EPOLL_CTL_DEL, c->fd, NULL);
    close(c->fd);
    c->fd = -1;
    if (srv->ops->gone)
        srv->ops->gone(c);
    msgsec_session_free(c->s);
    c->s = NULL;
    if (c->phase != MSGSEC_NET_ACTIVE)
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
    c->src.ready = NULL;
    srv->nconns--;
    if (!srv->stopping && srv->nconns < srv->max_conns &&
        srv->accept_retry == 0)
        listen_on(srv, 1);
}

void msgsec_nl_finish(msgsec_nl_conn *c, int close_session)
{
    if (c->phase != MSGSEC_NET_ACTIVE)
        return;
    if (c->s) {
        int st = msgsec_session_state(c->s);
        /* A usable session says goodbye properly. */
        if (close_session && st != MSGSEC_STATE_FAILED &&
            (st != MSGSEC_STATE_CLOSED || c->established))
            (void)msgsec_session_close(c->s);
        if (msgsec_net_pull(c->s, &c->out) < 0)
            msgsec_netbuf_free(&c->out);
    }
    c->phase = MSGSEC_NET_FINISHING;
    c->deadline = msgsec_net_now_ms() + c->srv->linger_ms;
    c->srv->nlinger++;
}

/* The loop ends c: the owner logs why, then c finishes. */
static void conn_close(msgsec_nl_conn *c, int why, int code,
                       const char *detail)
{
    if (c->phase != MSGSEC_NET_ACTIVE)
        return;
    c->srv->ops->end(c, why, code, detail);
    msgsec_nl_finish(c, why != MSGSEC_NL_PEER_EOF &&
                            why != MSGSEC_NL_READ_ERROR &&
                            why != MSGSEC_NL_WRITE_ERROR);
}

static void conn_failed(msgsec_nl_conn *c, int code)
{
    const char *d = msgsec_session_detail(c->s);
    conn_close(c, MSGSEC_NL_FAILED, code, d[0] ? d : msgsec_strerror(code));
}

int msgsec_nl_progress(msgsec_nl_conn *c)
{
    int rc = msgsec_net_linger_step(c->fd, &c->out, &c->phase);

    if (rc < 0) {
        if (c->phase == MSGSEC_NET_ACTIVE)
            conn_close(c, MSGSEC_NL_WRITE_ERROR, rc, strerror(-rc));
        conn_end(c);
        return -1;
    }
    conn_watch(c);
    return 0;
}

int msgsec_nl_send(msgsec_nl_conn *c, const void *p, size_t n)
{
    int rc;

    if (c->phase != MSGSEC_NET_ACTIVE)
        return -1;
    rc = msgsec_session_send(c->s, p, n);
    if (rc < 0)
        conn_failed(c, rc);
    else if (msgsec_net_pull_send(c->fd, c->s, &c->out) < 0)
        conn_close(c, MSGSEC_NL_NOMEM, MSGSEC_ERR_NOMEM, NULL);
    if (msgsec_nl_progress(c) < 0)
        return -1;
    return c->phase == MSGSEC_NET_ACTIVE ? 0 : -1;
}

void msgsec_nl_settle(msgsec_nl_conn *c)
{
    c->settle_by = 0;
}

/* Hands each decoded message to ops->data until none is left. */
static void conn_take(msgsec_nl_conn *c)
{
    msgsec_nl_server *srv = c->srv;

    while (c->phase == MSGSEC_NET_ACTIVE) {
        size_t len = 0;
        int rc = msgsec_net_recv_grow(c->s, &srv->mbuf, &srv->mcap,
                                      srv->msg_max, &len);
        if (rc == MSGSEC_CONTINUE)
            return;
        if (rc == MSGSEC_ERR_MESSAGE_TOO_LARGE && srv->msg_max &&
            len > srv->msg_max) {
            conn_close(c, MSGSEC_NL_OVERSIZED, len > INT_MAX ? INT_MAX
                                                             : (int)len,
                       NULL);
            return;
        }
        if (rc == MSGSEC_ERR_NOMEM) {
            conn_close(c, MSGSEC_NL_NOMEM, rc, NULL);
            return;
        }
        if (rc == MSGSEC_ERR_CLOSED) {
            conn_close(c, MSGSEC_NL_PEER_CLOSED, 0, NULL);
            return;
        }
        if (rc < 0) {
            conn_failed(c, rc);
            return;
        }
        rc = srv->ops->data(c, srv->mbuf, len);
        OPENSSL_cleanse(srv->mbuf, len);
        if (rc < 0)
            return;
    }
}

/* After feed or resume returned rc: report, take the plaintext, send. */
static void conn_after(msgsec_nl_conn *c, int rc)
{
    if (rc < 0) {
        conn_failed(c, rc);
    } else {
        int st = msgsec_session_state(c->s);
        if ((st == MSGSEC_STATE_ESTABLISHED || st == MSGSEC_STATE_CLOSED) &&
            (c->established ||
             (c->established = 1, c->srv->ops->established(c) == 0)))
            conn_take(c);
        if (c->src.ready && c->phase == MSGSEC_NET_ACTIVE &&
            msgsec_net_pull_send(c->fd, c->s, &c->out) < 0)
            conn_close(c, MSGSEC_NL_NOMEM, MSGSEC_ERR_NOMEM, NULL);
    }
    if (c->src.ready)
        msgsec_nl_progress(c);
}

static void conn_readable(msgsec_nl_conn *c)
{
    msgsec_nl_server *srv = c->srv;
    ssize_t r = recv(c->fd, srv->rbuf, MSGSEC_NL_READ_CHUNK, 0);

    if (r < 0) {
        if (errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR)
            return;
        conn_close(c, MSGSEC_NL_READ_ERROR, -errno, strerror(errno));
        conn_end(c);
        return;
    }
    if (c->phase == MSGSEC_NET_DRAINING) {
        if (r == 0)
            conn_end(c);
        return;
    }
    if (c->phase == MSGSEC_NET_FINISHING)
        return; /* late bytes are dropped */
    if (r == 0) {
        conn_close(c, MSGSEC_NL_PEER_EOF, 0, NULL);
        msgsec_nl_progress(c);
        return;
    }
    c->last_in = msgsec_net_now_ms();
    int rc = msgsec_session_feed(c->s, srv->rbuf, (size_t)r);
    OPENSSL_cleanse(srv->rbuf, (size_t)r);
    conn_after(c, rc);
}

static void conn_event(void *owner, uint32_t events)
{
    msgsec_nl_conn *c = owner;

    if (c->phase == MSGSEC_NET_FINISHING &&
        (events & (EPOLLHUP | EPOLLERR))) {
        /* The peer is gone: nothing more can be delivered. */
        conn_end(c);
        return;
    }
    if (events & (EPOLLIN | EPOLLHUP | EPOLLERR)) {
        conn_readable(c);
        if (!c->src.ready)
            return;
    }
    if (events & EPOLLOUT)
        msgsec_nl_progress(c);
}

static void accept_one(msgsec_nl_server *srv, int fd, const char *addr)
{
    msgsec_nl_conn *c = calloc(1, srv->ops->conn_size);

    if (!c) {
        close(fd);
        return;
    }
    c->src.ready = conn_event;
    c->src.owner = c;
    c->srv = srv;
    c->fd = fd;
    c->last_in = msgsec_net_now_ms();
    if (srv->settle_ms > 0)
        c->settle_by = c->last_in + srv->settle_ms;
    snprintf(c->addr, sizeof(c->addr), "%s", addr);
    if (srv->ops->open(c) < 0) {
        close(fd);
        free(c);
        return;
    }
    if (ep_set(srv, fd, &c->src, EPOLLIN, EPOLL_CTL_ADD) < 0) {
        char why[128];
        snprintf(why, sizeof(why), "epoll: %s", strerror(errno));
        srv->ops->end(c, MSGSEC_NL_FAILED, MSGSEC_ERR_IO, why);
        if (srv->ops->gone)
            srv->ops->gone(c);
        msgsec_session_free(c->s);
        close(fd);
        free(c);
        return;
    }
    c->events = EPOLLIN;
    c->next = srv->conns;
    if (srv->conns)
        srv->conns->prev = c;
    srv->conns = c;
    srv->nconns++;
}

static void accept_all(void *owner, uint32_t events)
{
    msgsec_nl_server *srv = owner;

    (void)events;
    while (srv->lfd >= 0 && srv->nconns < srv->max_conns) {
        char addr[MSGSEC_NET_ADDR_MAX];
        int fd = msgsec_net_accept(srv->lfd, addr, sizeof(addr));
        if (fd == 0)
            return;
        if (fd < 0) {
            /* Out of descriptors or memory: pause instead of spinning. */
            if (srv->ops->accept_paused)
                srv->ops->accept_paused(srv, -fd);
            listen_on(srv, 0);
            srv->accept_retry = msgsec_net_now_ms() + ACCEPT_PAUSE_MS;
            return;
        }
        accept_one(srv, fd, addr);
    }
    if (srv->nconns >= srv->max_conns)
        listen_on(srv, 0);
}

static void on_signal(void *owner, uint32_t events)
{
    msgsec_nl_server *srv = owner;
    struct signalfd_siginfo si;

    (void)events;
    while (read(srv->sfd, &si, sizeof(si)) == (ssize_t)sizeof(si))
        if (srv->ops->signal)
            srv->ops->signal(srv, (int)si.ssi_signo);
}

static void on_session_ready(void *user_data, msgsec_session *s)
{
    msgsec_nl_conn *c = msgsec_session_user_data(s);
    (void)user_data;
    if (!c || !c->src.ready || c->phase != MSGSEC_NET_ACTIVE ||
        msgsec_session_state(s) != MSGSEC_STATE_PENDING)
        return;
    conn_after(c, msgsec_session_resume(s));
}

static void on_core(void *owner, uint32_t events)
{
    msgsec_nl_core *w = owner;
    (void)events;
    msgsec_core_dispatch(w->core, on_session_ready, w->srv);
}

int msgsec_nl_watch_core(msgsec_nl_server *srv, msgsec_nl_core *w,
                         msgsec_core *core)
{
    w->src.ready = on_core;
    w->src.owner = w;
    w->srv = srv;
    w->core = core;
    return ep_set(srv, msgsec_core_fd(core), &w->src, EPOLLIN,
                  EPOLL_CTL_ADD);
}

void msgsec_nl_unwatch_core(msgsec_nl_server *srv, msgsec_nl_core *w)
{
    epoll_ctl(srv->epfd, EPOLL_CTL_DEL, msgsec_core_fd(w->core), NULL);
}

void msgsec_nl_stop(msgsec_nl_server *srv)
{
    srv->stopping = 1;
    msgsec_nl_stop_listening(srv);
    srv->accept_retry = 0;
    for (msgsec_nl_conn *c = srv->conns, *next; c; c = next) {
        next = c->next;
        if (c->phase != MSGSEC_NET_ACTIVE)
            continue;
        conn_close(c, MSGSEC_NL_SHUTDOWN, 0, NULL);
        msgsec_nl_progress(c);
    }
}

/* The connection timers (lingering, idle, settle), the owner's tick;
 * returns the epoll timeout. */
static int check_timers(msgsec_nl_server *srv)
{
    int64_t now = msgsec_net_now_ms(), next = -1;
    int ticking = srv->tick_ms > 0 || srv->idle_ms > 0 || srv->settle_ms > 0;
    int tick = ticking && now >= srv->next_tick;

    if (srv->accept_retry > 0) {
        if (now >= srv->accept_retry) {
            srv->accept_retry = 0;
            if (!srv->stopping && srv->nconns < srv->max_conns)
                listen_on(srv, 1);
        } else {
            next = srv->accept_retry;
        }
    }
    if (srv->nlinger > 0 || tick) {
        for (msgsec_nl_conn *c = srv->conns, *n; c; c = n) {
            n = c->next;
            if (c->phase == MSGSEC_NET_ACTIVE) {
                if (!tick)
                    continue;
                if (c->settle_by > 0 && now >= c->settle_by)
                    conn_close(c, MSGSEC_NL_UNSETTLED, 0, NULL);
                else if (srv->idle_ms > 0 && now - c->last_in >= srv->idle_ms)
                    conn_close(c, MSGSEC_NL_IDLE, 0, NULL);
                else
                    continue;
                if (msgsec_nl_progress(c) < 0 ||
                    c->phase == MSGSEC_NET_ACTIVE)
                    continue;
            }
            if (now >= c->deadline)
                conn_end(c);
            else if (next < 0 || c->deadline < next)
                next = c->deadline;
        }
    }
    if (tick) {
        if (srv->tick_ms > 0 && srv->ops->tick)
            srv->ops->tick(srv);
        srv->next_tick = now + (srv->tick_ms > 0 ? srv->tick_ms : 1000);
    }
    if (ticking && (next < 0 || srv->next_tick < next))
        next = srv->next_tick;
    if (next < 0)
        return -1;
    return next - now > INT_MAX ? INT_MAX : (int)(next - now);
}

static void free_zombies(msgsec_nl_server *srv)
{
    while (srv->zombies) {
        msgsec_nl_conn *c = srv->zombies;
        srv->zombies = c->next;
        msgsec_netbuf_free(&c->out);
        free(c);
    }
    /* ops is NULL when msgsec_nl_init() was never reached (e.g. a usage
     * error): msgsec_nl_free() must still be safe. */
    if (srv->ops && srv->ops->between)
        srv->ops->between(srv);
}

int msgsec_nl_run(msgsec_nl_server *srv)
{
    struct epoll_event evs[MAX_EVENTS];

    srv->next_tick = msgsec_net_now_ms() + srv->tick_ms;
    for (;;) {
        int timeout = check_timers(srv);
        free_zombies(srv);
        if (srv->nconns == 0 && (srv->stopping || srv->quit_when_idle))
            return 0;
        int n = epoll_wait(srv->epfd, evs, MAX_EVENTS, timeout);
        if (n < 0) {
            if (errno == EINTR)
                continue;
            return -errno;
        }
        for (int i = 0; i < n; i++) {
            msgsec_nl_src *src = evs[i].data.ptr;
            /* A connection ended earlier in this round is skipped. */
            if (src->ready)
                src->ready(src->owner, evs[i].events);
        }
    }
}

int msgsec_nl_init(msgsec_nl_server *srv, const msgsec_nl_ops *ops,
                   const int *sigs, char *err, size_t n)
{
    srv->ops = ops;
    srv->epfd = srv->lfd = srv->sfd = -1;
    srv->lsrc.ready = accept_all;
    srv->lsrc.owner = srv;
    srv->ssrc.ready = on_signal;
    srv->ssrc.owner = srv;
    if ((srv->sfd = msgsec_net_signalfd(sigs)) < 0) {
        snprintf(err, n, "signalfd: %s", strerror(errno));
        return -1;
    }
    signal(SIGPIPE, SIG_IGN);
    if ((srv->epfd = epoll_create1(EPOLL_CLOEXEC)) < 0 ||
        ep_set(srv, srv->sfd, &srv->ssrc, EPOLLIN, EPOLL_CTL_ADD) < 0) {
        snprintf(err, n, "epoll: %s", strerror(errno));
        return -1;
    }
    srv->rbuf = malloc(MSGSEC_NL_READ_CHUNK);
    srv->mcap = MSGSEC_NL_READ_CHUNK;
    srv->mbuf = malloc(srv->mcap);
    if (!srv->rbuf || !srv->mbuf) {
        snprintf(err, n, "out of memory");
        return -1;
    }
    return 0;
}

int msgsec_nl_listen(msgsec_nl_server *srv, const char *host,
                     const char *port, int backlog, char *addr, size_t addr_n,
                     char *err, size_t n)
{
    int rc;

    if (msgsec_net_listen(host, port, backlog, &srv->lfd, err, n) < 0)
        return -1;
    listen_on(srv, 1);
    if (!srv->listening) {
        snprintf(err, n, "epoll: %s", strerror(errno));
        return -1;
    }
    if ((rc = msgsec_net_local_text(srv->lfd, addr, addr_n)) < 0) {
        snprintf(err, n, "getsockname: %s", strerror(-rc));
        return -1;
    }
    return 0;
}

void msgsec_nl_free(msgsec_nl_server *srv)
{
    srv->stopping = 1;
    while (srv->conns)
        conn_end(srv->conns);
    free_zombies(srv);
    msgsec_nl_stop_listening(srv);
    if (srv->epfd >= 0)
        close(srv->epfd);
    if (srv->sfd >= 0)
        close(srv->sfd);
    srv->epfd = srv->sfd = -1;
    if (srv->rbuf) {
        OPENSSL_cleanse(srv->rbuf, MSGSEC_NL_READ_CHUNK);
        free(srv->rbuf);
    }
    if (srv->mbuf) {
        OPENSSL_cleanse(srv->mbuf, srv->mcap);
        free(srv->mbuf);
    }
    srv->rbuf = srv->mbuf = NULL;
}

/* ------------------------------------------------------------ the client */

int msgsec_nl_client_init(msgsec_nl_client *cl)
{
    memset(cl, 0, sizeof(*cl));
    cl->fd = -1;
    signal(SIGPIPE, SIG_IGN);
    cl->rbuf = malloc(MSGSEC_NL_READ_CHUNK);
    cl->mcap = MSGSEC_NL_READ_CHUNK;
    cl->mbuf = malloc(cl->mcap);
    return cl->rbuf && cl->mbuf ? 0 : -1;
}

int msgsec_nl_client_open(msgsec_nl_client *cl, const char *service,
                          const msgsec_session_config *cfg, const char *host,
                          const char *port, int timeout_ms, char *err,
                          size_t n, int *connecting)
{
    /* The session first: a policy that cannot make one needs no network. */
    int rc = msgsec_session_new(cl->core, service, MSGSEC_ROLE_CLIENT, cfg,
                                &cl->s);

    *connecting = 0;
    if (rc < 0) {
        const char *d = msgsec_last_detail();
        snprintf(err, n, "%s", d[0] ? d : msgsec_strerror(rc));
        return rc;
    }
    *connecting = 1;
    return msgsec_net_connect(host, port, timeout_ms, &cl->fd, err, n);
}

int msgsec_nl_client_flush(msgsec_nl_client *cl)
{
    if (msgsec_net_pull(cl->s, &cl->out) < 0)
        return MSGSEC_ERR_NOMEM;
    return msgsec_net_flush(cl->fd, &cl->out);
}

typedef struct resumed {
    int moved, rc;
} resumed;

static void client_ready(void *user_data, msgsec_session *s)
{
    resumed *r = user_data;
    if (msgsec_session_state(s) == MSGSEC_STATE_PENDING) {
        r->rc = msgsec_session_resume(s);
        r->moved = 1;
    }
}

int msgsec_nl_client_wait(msgsec_nl_client *cl, struct pollfd *extra,
                          size_t n, int timeout_ms, int *rc)
{
    struct pollfd p[8];

    if (n > sizeof(p) / sizeof(p[0]) - 2)
        return -EINVAL;
    p[0].fd = cl->fd;
    p[0].events = POLLIN | (cl->out.len ? POLLOUT : 0);
    p[1].fd = msgsec_core_fd(cl->core);
    p[1].events = POLLIN;
    for (size_t i = 0; i < n; i++)
        p[2 + i] = extra[i];
    int r = poll(p, (nfds_t)(n + 2), timeout_ms);
    if (r < 0)
        return errno == EINTR ? MSGSEC_NL_QUIET : -errno;
    for (size_t i = 0; i < n; i++)
        extra[i].revents = p[2 + i].revents;
    if (p[1].revents & POLLIN) {
        resumed back = {0, 0};
        msgsec_core_dispatch(cl->core, client_ready, &back);
        if (back.moved) {
            *rc = back.rc;
            return MSGSEC_NL_MOVED;
        }
    }
    if (!(p[0].revents & (POLLIN | POLLHUP | POLLERR)))
        return MSGSEC_NL_QUIET;
    ssize_t got = recv(cl->fd, cl->rbuf, MSGSEC_NL_READ_CHUNK, 0);
    if (got < 0)
        return errno == EAGAIN || errno == EINTR ? MSGSEC_NL_QUIET : -errno;
    if (got == 0)
        return MSGSEC_NL_EOF;
    *rc = msgsec_session_feed(cl->s, cl->rbuf, (size_t)got);
    OPENSSL_cleanse(cl->rbuf, (size_t)got);
    return MSGSEC_NL_MOVED;
}

int msgsec_nl_client_recv(msgsec_nl_client *cl, size_t max, size_t *len)
{
    return msgsec_net_recv_grow(cl->s, &cl->mbuf, &cl->mcap, max, len);
}

void msgsec_nl_client_free(msgsec_nl_client *cl)
{
    if (cl->fd >= 0)
        close(cl->fd);
    cl->fd = -1;
    msgsec_session_free(cl->s);
    msgsec_core_free(cl->core);
    cl->s = NULL;
    cl->core = NULL;
    msgsec_netbuf_free(&cl->out);
    if (cl->mbuf) {
        OPENSSL_cleanse(cl->mbuf, cl->mcap);
        free(cl->mbuf);
    }
    if (cl->rbuf) {
        OPENSSL_cleanse(cl->rbuf, MSGSEC_NL_READ_CHUNK);
        free(cl->rbuf);
    }
    cl->mbuf = cl->rbuf = NULL;
}
