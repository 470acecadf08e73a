/* netio.c - sockets, buffers and reporting for msgsec serve / connect. */
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/signalfd.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include <arpa/inet.h>
#include <openssl/crypto.h>

#include "netio.h"

/* Buffers larger than this are released once drained: a server holds
 * many mostly idle connections. */
#define NETBUF_KEEP 4096u

int msgsec_netbuf_append(msgsec_netbuf *b, const void *d, size_t n)
{
    if (n == 0)
        return 0;
    if (b->off + b->len + n > b->cap) {
        if (b->off > 0 && b->len + n <= b->cap) {
            memmove(b->p, b->p + b->off, b->len);
            b->off = 0;
        } else {
            size_t cap = b->cap ? b->cap : 1024;
            if (b->len + n > SIZE_MAX / 2)
                return MSGSEC_ERR_NOMEM;
            while (cap < b->len + n)
                cap *= 2;
            unsigned char *p = malloc(cap);
            if (!p)
                return MSGSEC_ERR_NOMEM;
            if (b->len)
                memcpy(p, b->p + b->off, b->len);
            if (b->p) {
                OPENSSL_cleanse(b->p, b->cap);
                free(b->p);
            }
            b->p = p;
            b->cap = cap;
            b->off = 0;
        }
    }
    memcpy(b->p + b->off + b->len, d, n);
    b->len += n;
    return 0;
}

void msgsec_netbuf_consume(msgsec_netbuf *b, size_t n)
{
    if (n >= b->len) {
        b->off = 0;
        b->len = 0;
        if (b->cap > NETBUF_KEEP)
            msgsec_netbuf_free(b);
        return;
    }
    b->off += n;
    b->len -= n;
}

void msgsec_netbuf_free(msgsec_netbuf *b)
{
    if (b->p) {
        /* Plaintext passes through these buffers. */
        OPENSSL_cleanse(b->p, b->cap);
        free(b->p);
    }
    memset(b, 0, sizeof(*b));
}

int msgsec_net_pull(msgsec_session *s, msgsec_netbuf *b)
{
    unsigned char tmp[16384];
    size_t n;

    while (msgsec_session_pending_output(s) > 0) {
        n = msgsec_session_pull(s, tmp, sizeof(tmp));
        if (n == 0)
            break;
        if (msgsec_netbuf_append(b, tmp, n) < 0)
            return MSGSEC_ERR_NOMEM;
    }
    return 0;
}

int msgsec_net_pull_send(int fd, msgsec_session *s, msgsec_netbuf *b)
{
    unsigned char tmp[16384];

    while (b->len == 0 && msgsec_session_pending_output(s) > 0) {
        size_t n = msgsec_session_pull(s, tmp, sizeof(tmp)), off = 0;
        if (n == 0)
            break;
        while (off < n) {
            ssize_t w = send(fd, tmp + off, n - off, MSG_NOSIGNAL);
            if (w < 0 && errno == EINTR)
                continue;
            if (w <= 0)
                break; /* full or failing: the flush that follows tells */
            off += (size_t)w;
        }
        if (msgsec_netbuf_append(b, tmp + off, n - off) < 0)
            return MSGSEC_ERR_NOMEM;
    }
    return msgsec_net_pull(s, b);
}

int msgsec_net_flush(int fd, msgsec_netbuf *b)
{
    while (b->len > 0) {
        ssize_t w = send(fd, b->p + b->off, b->len, MSG_NOSIGNAL);
        if (w < 0) {
            if (errno == EINTR)
                continue;
            if (errno == EAGAIN || errno == EWOULDBLOCK)
                return 0;
            return -errno;
        }
        msgsec_netbuf_consume(b, (size_t)w);
    }
    return 0;
}

int msgsec_net_split(const char *arg, char *host, size_t host_len, char *port,
                     size_t port_len, char *err, size_t err_len)
{
    const char *h, *colon;
    size_t hl;

    if (arg[0] == '[') {
        const char *close = strchr(arg, ']');
        if (!close || close[1] != ':') {
            snprintf(err, err_len, "'%s': expected [ADDRESS]:PORT", arg);
            return -1;
        }
        h = arg + 1;
        hl = (size_t)(close - h);
        colon = close + 1;
    } else {
        colon = strrchr(arg, ':');
        if (!colon || strchr(arg, ':') != colon) {
            snprintf(err, err_len, "'%s': expected HOST:PORT", arg);
            return -1;
        }
        h = arg;
        hl = (size_t)(colon - arg);
    }
    const char *p = colon + 1;
    size_t pl = strlen(p);
    if (hl == 0 || hl >= host_len) {
        snprintf(err, err_len, "'%s': missing or overlong host", arg);
        return -1;
    }
    if (pl == 0 || pl > 5 || pl >= port_len || strspn(p, "0123456789") != pl ||
        atol(p) > 65535) {
        snprintf(err, err_len, "'%s': the port must be a number from 0 to "
                               "65535", arg);
        return -1;
    }
    memcpy(host, h, hl);
    host[hl] = '\0';
    memcpy(port, p, pl + 1);
    return 0;
}

static int set_flags(int fd)
{
    int fl = fcntl(fd, F_GETFL);
    if (fl < 0 || fcntl(fd, F_SETFL, fl | O_NONBLOCK) < 0)
        return -1;
    return fcntl(fd, F_SETFD, FD_CLOEXEC) < 0 ? -1 : 0;
}

static int resolve(const char *host, const char *port, int passive,
                   struct addrinfo **res, char *err, size_t err_len)
{
    struct addrinfo hints;
    memset(&hints, 0, sizeof(hints));
    hints.ai_family = AF_UNSPEC;
    hints.ai_socktype = SOCK_STREAM;
    hints.ai_protocol = IPPROTO_TCP;
    hints.ai_flags = AI_NUMERICSERV | (passive ? AI_PASSIVE : 0);
    int e = getaddrinfo(host, port, &hints, res);
    if (e != 0) {
        snprintf(err, err_len, "%s: %s", host,
                 e == EAI_SYSTEM ? strerror(errno) : gai_strerror(e));
        return -1;
    }
    return 0;
}

int msgsec_net_listen(const char *host, const char *port, int backlog,
                      int *fd, char *err, size_t err_len)
{
    struct addrinfo *res = NULL;
    int s = -1, saved = 0;

    *fd = -1;
    if (resolve(host, port, 1, &res, err, err_len) < 0)
        return -1;
    for (struct addrinfo *ai = res; ai; ai = ai->ai_next) {
        int one = 1;
        s = socket(ai->ai_family, ai->ai_socktype, ai->ai_protocol);
        if (s < 0) {
            saved = errno;
            continue;
        }
        if (set_flags(s) == 0 &&
            setsockopt(s, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one)) == 0 &&
            bind(s, ai->ai_addr, ai->ai_addrlen) == 0 &&
            listen(s, backlog) == 0)
            break;
        saved = errno;
        close(s);
        s = -1;
    }
    freeaddrinfo(res);
    if (s < 0) {
        snprintf(err, err_len, "cannot listen on %s:%s: %s", host, port,
                 strerror(saved ? saved : EADDRNOTAVAIL));
        return -1;
    }
    *fd = s;
    return 0;
}

/* Waits for a non-blocking connect on s until deadline (< 0: none).
 * 0, or an errno value (ETIMEDOUT when the deadline passed). */
static int finish_connect(int s, int64_t deadline)
{
    for (;;) {
        struct pollfd p = {.fd = s, .events = POLLOUT};
        int wait = -1;
        if (deadline >= 0) {
            int64_t left = deadline - msgsec_net_now_ms();
            if (left <= 0)
                return ETIMEDOUT;
            wait = left > 1000000 ? 1000000 : (int)left;
        }
        int r = poll(&p, 1, wait);
        if (r < 0) {
            if (errno == EINTR)
                continue;
            return errno;
        }
        if (r == 0)
            continue; /* the deadline check above decides */
        int e = 0;
        socklen_t el = sizeof(e);
        if (getsockopt(s, SOL_SOCKET, SO_ERROR, &e, &el) < 0)
            return errno;
        return e;
    }
}

int msgsec_net_connect(const char *host, const char *port, int timeout_ms,
                       int *fd, char *err, size_t err_len)
{
    struct addrinfo *res = NULL;
    int64_t deadline = timeout_ms > 0 ? msgsec_net_now_ms() + timeout_ms : -1;
    int s = -1, saved = ECONNREFUSED;

    *fd = -1;
    if (resolve(host, port, 0, &res, err, err_len) < 0)
        return MSGSEC_ERR_IO;
    for (struct addrinfo *ai = res; ai; ai = ai->ai_next) {
        s = socket(ai->ai_family, ai->ai_socktype, ai->ai_protocol);
        if (s < 0) {
            saved = errno;
            continue;
        }
        if (set_flags(s) < 0) {
            saved = errno;
        } else if (connect(s, ai->ai_addr, ai->ai_addrlen) == 0) {
            break;
        } else if (errno == EINPROGRESS) {
            saved = finish_connect(s, deadline);
            if (saved == 0)
                break;
        } else {
            saved = errno;
        }
        close(s);
        s = -1;
        if (saved == ETIMEDOUT && deadline >= 0)
            break;
    }
    freeaddrinfo(res);
    if (s < 0) {
        if (saved == ETIMEDOUT && deadline >= 0) {
            snprintf(err, err_len, "connect to %s:%s: no answer within %d ms",
                     host, port, timeout_ms);
            return MSGSEC_ERR_TIMEOUT;
        }
        snprintf(err, err_len, "connect to %s:%s: %s", host, port,
                 strerror(saved));
        return MSGSEC_ERR_IO;
    }
    /* Handshakes are small back-and-forth writes. */
    int one = 1;
    (void)setsockopt(s, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
    *fd = s;
    return 0;
}

void msgsec_net_addr_text(const struct sockaddr *sa, socklen_t len, char *buf,
                          size_t n)
{
    char host[INET6_ADDRSTRLEN] = "?";
    unsigned port = 0;

    if (sa->sa_family == AF_INET && len >= sizeof(struct sockaddr_in)) {
        const struct sockaddr_in *in = (const struct sockaddr_in *)sa;
        inet_ntop(AF_INET, &in->sin_addr, host, sizeof(host));
        port = ntohs(in->sin_port);
        snprintf(buf, n, "%s:%u", host, port);
    } else if (sa->sa_family == AF_INET6 &&
               len >= sizeof(struct sockaddr_in6)) {
        const struct sockaddr_in6 *in6 = (const struct sockaddr_in6 *)sa;
        inet_ntop(AF_INET6, &in6->sin6_addr, host, sizeof(host));
        port = ntohs(in6->sin6_port);
        snprintf(buf, n, "[%s]:%u", host, port);
    } else {
        snprintf(buf, n, "(address family %d)", (int)sa->sa_family);
    }
}

int msgsec_net_local_text(int fd, char *buf, size_t n)
{
    struct sockaddr_storage ss;
    socklen_t len = sizeof(ss);
    if (getsockname(fd, (struct sockaddr *)&ss, &len) < 0)
        return -errno;
    msgsec_net_addr_text((struct sockaddr *)&ss, len, buf, n);
    return 0;
}

void msgsec_net_escape(const char *s, char *out, size_t n)
{
    size_t k = 0;

    if (n == 0)
        return;
    if (!s)
        s = "-";
    for (; *s; s++) {
        unsigned char c = (unsigned char)*s;
        if (c >= '!' && c <= '~' && c != '\\') {
            if (k + 1 >= n)
                break;
            out[k++] = (char)c;
        } else {
            if (k + 4 >= n)
                break;
            snprintf(out + k, n - k, "\\x%02x", c);
            k += 4;
        }
    }
    out[k] = '\0';
}

void msgsec_net_peer_text(const msgsec_peer *peer, char *out, size_t n)
{
    char scheme[128], id[768], supi[256], gpsi[256], exp[64] = "";

    msgsec_net_escape(peer->scheme, scheme, sizeof(scheme));
    msgsec_net_escape(peer->identity, id, sizeof(id));
    supi[0] = gpsi[0] = '\0';
    if (peer->supi) {
        memcpy(supi, " supi=", 7);
        msgsec_net_escape(peer->supi, supi + 6, sizeof(supi) - 6);
    }
    if (peer->gpsi) {
        memcpy(gpsi, " gpsi=", 7);
        msgsec_net_escape(peer->gpsi, gpsi + 6, sizeof(gpsi) - 6);
    }
    if (peer->key_expiry != 0) {
        time_t t = (time_t)peer->key_expiry;
        struct tm tm;
        if (gmtime_r(&t, &tm))
            strftime(exp, sizeof(exp), " expiry=%Y-%m-%dT%H:%M:%SZ", &tm);
        else
            snprintf(exp, sizeof(exp), " expiry=%" PRId64, peer->key_expiry);
    }
    snprintf(out, n, " scheme=%s identity=%s%s%s%s", scheme, id, supi, gpsi,
             exp);
}

void msgsec_net_fail_text(const msgsec_session *s, int code, char *out,
                          size_t n)
{
    const char *d = s ? msgsec_session_detail(s) : "";
    snprintf(out, n, "%s: %s", msgsec_error_name(code),
             d[0] ? d : msgsec_strerror(code));
}

int msgsec_net_exit_for(int code)
{
    switch (code) {
    case MSGSEC_ERR_NOMEM:
    case MSGSEC_ERR_INTERNAL:
    case MSGSEC_ERR_IO:
    case MSGSEC_ERR_TIMEOUT:
    case MSGSEC_ERR_CLOSED:
        return MSGSEC_EXIT_INTERNAL;
    default:
        return code < 0 ? MSGSEC_EXIT_PROVIDER : MSGSEC_EXIT_OK;
    }
}

int64_t msgsec_net_now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

void msgsec_net_say(const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vprintf(fmt, ap);
    va_end(ap);
    fflush(stdout);
}

int msgsec_net_signalfd(const int *sigs)
{
    sigset_t set;

    sigemptyset(&set);
    for (const int *s = sigs; *s; s++)
        sigaddset(&set, *s);
    if (sigprocmask(SIG_BLOCK, &set, NULL) < 0)
        return -1;
    for (const int *s = sigs; *s; s++)
        if (signal(*s, SIG_DFL) == SIG_ERR)
            return -1;
    return signalfd(-1, &set, SFD_NONBLOCK | SFD_CLOEXEC);
}

int msgsec_net_epoll(int epfd, int fd, void *ptr, uint32_t events, int op)
{
    struct epoll_event ev;
    memset(&ev, 0, sizeof(ev));
    ev.events = events;
    ev.data.ptr = ptr;
    return epoll_ctl(epfd, op, fd, &ev);
}

int msgsec_net_linger_step(int fd, msgsec_netbuf *out, int *phase)
{
    if (*phase != MSGSEC_NET_DRAINING) {
        int rc = msgsec_net_flush(fd, out);
        if (rc < 0)
            return rc;
    }
    if (*phase == MSGSEC_NET_FINISHING && out->len == 0) {
        *phase = MSGSEC_NET_DRAINING;
        if (shutdown(fd, SHUT_WR) < 0)
            return -errno;
    }
    return 0;
}

int msgsec_net_accept(int lfd, char *addr, size_t n)
{
    for (;;) {
        struct sockaddr_storage ss;
        socklen_t len = sizeof(ss);
        int one = 1;
        int fd = accept4(lfd, (struct sockaddr *)&ss, &len,
                         SOCK_NONBLOCK | SOCK_CLOEXEC);
        if (fd >= 0) {
            /* Handshakes are small back-and-forth writes. */
            (void)setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
            msgsec_net_addr_text((struct sockaddr *)&ss, len, addr, n);
            return fd;
        }
        if (errno == EINTR || errno == ECONNABORTED)
            continue;
        if (errno == EAGAIN || errno == EWOULDBLOCK)
            return 0;
        return -errno;
    }
}

uint32_t msgsec_net_watch_mask(int phase, int reading, size_t out_len)
{
    uint32_t want = 0;
    if (phase == MSGSEC_NET_DRAINING ||
        (phase == MSGSEC_NET_ACTIVE && reading))
        want |= EPOLLIN;
    if (out_len > 0 && phase != MSGSEC_NET_DRAINING)
        want |= EPOLLOUT;
    return want;
}

int msgsec_net_open_core(const char *cmd, const char *policy,
                         const char *service, int verbose, msgsec_core **out)
{
    msgsec_core *core = NULL;
    int rc = msgsec_cli_open_core(policy, verbose, &core);
    size_t n;
    int found = 0;

    *out = NULL;
    if (rc != MSGSEC_EXIT_OK)
        return rc;
    /* Built for inspection, the core may be unable to serve: say why now
     * rather than on every connection. */
    rc = msgsec_core_status(core);
    if (rc != 0) {
        const char *d = msgsec_core_detail(core);
        msgsec_cli_error("%s: %s", cmd, d[0] ? d : msgsec_strerror(rc));
        msgsec_core_free(core);
        return msgsec_cli_exit_for(rc);
    }
    n = msgsec_core_service_count(core);
    for (size_t i = 0; i < n; i++)
        if (strcmp(msgsec_core_service_name(core, i), service) == 0)
            found = 1;
    if (!found) {
        msgsec_cli_error("%s: %s: no [service.%s] in the policy", cmd, policy,
                         service);
        fputs("msgsec: services in this policy:", stderr);
        for (size_t i = 0; i < n; i++)
            fprintf(stderr, "%s %s", i ? "," : "",
                    msgsec_core_service_name(core, i));
        fputs(n ? "\n" : " none\n", stderr);
        msgsec_core_free(core);
        return MSGSEC_EXIT_USAGE;
    }
    *out = core;
    return MSGSEC_EXIT_OK;
}

int msgsec_net_framing(const char *arg)
{
    if (strcmp(arg, "message") == 0)
        return MSGSEC_FRAMING_MESSAGE;
    if (strcmp(arg, "stream") == 0)
        return MSGSEC_FRAMING_STREAM;
    return -1;
}

int msgsec_net_recv_grow(msgsec_session *s, unsigned char **buf, size_t *cap,
                         size_t max, size_t *len)
{
    for (;;) {
        int rc = msgsec_session_recv(s, *buf, *cap, len);
        if (rc != MSGSEC_ERR_BUFFER_TOO_SMALL || *len <= *cap)
            return rc;
        if (max > 0 && *len > max)
            return MSGSEC_ERR_MESSAGE_TOO_LARGE;
        unsigned char *p = malloc(*len);
        if (!p)
            return MSGSEC_ERR_NOMEM;
        if (*buf) {
            OPENSSL_cleanse(*buf, *cap);
            free(*buf);
        }
        *buf = p;
        *cap = *len;
    }
}

int msgsec_net_session_peer(msgsec_session *s, msgsec_peer *peer)
{
    int rc = msgsec_session_peer(s, peer);

    if (rc < 0)
        memset(peer, 0, sizeof(*peer));
    if (!peer->scheme)
        peer->scheme = msgsec_session_provider(s);
    return rc < 0 ? rc : 0;
}
