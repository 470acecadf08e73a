/*
 * h2server.c - the emulators' HTTP server: h2c with prior knowledge
 * (libnghttp2) and HTTP/1.1 on one port, one epoll loop, non-blocking
 * sockets, delayed answers on a timer. See h2server.h.
 */
#include <errno.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <pthread.h>
#include <signal.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/epoll.h>
#include <sys/signalfd.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include <nghttp2/nghttp2.h>
#include <openssl/crypto.h>

#include "h2server.h"

#define H1_HEAD_MAX 8192  /* request line and headers */
#define MAX_CONNS 4096
#define READ_CHUNK 16384
#define H2_MAX_STREAMS 1000
#define AUTH_MAX 4352     /* an Authorization header: scheme and token */

static const char preface[] = NGHTTP2_CLIENT_MAGIC;
#define PREFACE_LEN (sizeof(preface) - 1)

typedef struct server server;
typedef struct conn conn;

typedef struct buf {
    uint8_t *p;
    size_t len, cap;
} buf;

/* One HTTP/2 request stream. */
typedef struct stream {
    struct stream *next, *prev; /* the connection's open streams */
    int32_t id;
    char method[16];
    char path[1024];
    char ctype[256];
    int has_ctype;
    char *auth; /* AUTH_MAX bytes when present; may hold a bearer token */
    int bad; /* a header too long to keep */
    int dispatched;
    buf body;
    int too_large;
    uint8_t *rbody; /* response body being sent */
    size_t rlen, roff;
} stream;

/* An answer waiting for its time. */
typedef struct deferred {
    struct deferred *next, *prev;
    conn *c;
    int32_t stream_id; /* 0 for HTTP/1.1 */
    int close_after;
    int64_t due;
    msgsec_h2s_response resp;
} deferred;

enum { MODE_DETECT, MODE_H1, MODE_H2 };

struct conn {
    conn *next, *prev;
    server *srv;
    int fd;
    int mode;
    char peer[80];
    buf in;
    buf out;
    size_t out_off;
    nghttp2_session *h2;
    stream *streams;
    int h1_busy;      /* an answer is deferred: parse nothing more */
    int h1_continued; /* "100 Continue" sent for the current request */
    int closing;      /* close after the output is flushed */
    int draining;     /* output done, write side shut, discarding input */
    int dead;
    uint32_t events;
};

struct server {
    const msgsec_h2s_config *cfg;
    int ep, lfd, sfd;
    conn *conns;
    size_t nconns;
    deferred *defs;
};

static const char tag_listen = 'l', tag_signal = 's';

static int64_t now_ms(void)
{
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (int64_t)t.tv_sec * 1000 + t.tv_nsec / 1000000;
}

static void logf_(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static void logf_(const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vfprintf(stderr, fmt, ap);
    va_end(ap);
    fputc('\n', stderr);
}

/* ------------------------------------------------------------- buffers */

/* Grows without realloc: the old block may hold keys and is wiped. */
static int buf_add(buf *b, const void *p, size_t n)
{
    if (n > b->cap - b->len) {
        size_t cap = b->cap ? b->cap : 4096;
        while (cap - b->len < n)
            cap *= 2;
        uint8_t *q = malloc(cap);
        if (!q)
            return -1;
        if (b->p) {
            memcpy(q, b->p, b->len);
            OPENSSL_cleanse(b->p, b->cap);
            free(b->p);
        }
        b->p = q;
        b->cap = cap;
    }
    memcpy(b->p + b->len, p, n);
    b->len += n;
    return 0;
}

static void buf_consume(buf *b, size_t n)
{
    if (n >= b->len) {
        if (b->p)
            OPENSSL_cleanse(b->p, b->len);
        b->len = 0;
        return;
    }
    memmove(b->p, b->p + n, b->len - n);
    OPENSSL_cleanse(b->p + b->len - n, n);
    b->len -= n;
}

static void buf_free(buf *b)
{
    if (b->p) {
        OPENSSL_cleanse(b->p, b->cap);
        free(b->p);
    }
    memset(b, 0, sizeof(*b));
}

static void resp_free(msgsec_h2s_response *r)
{
    if (r->body) {
        OPENSSL_cleanse(r->body, r->body_len);
        free(r->body);
    }
    r->body = NULL;
    r->body_len = 0;
}

/* ---------------------------------------------------------- deferred */

static void def_unlink(server *s, deferred *d)
{
    if (d->prev)
        d->prev->next = d->next;
    else
        s->defs = d->next;
    if (d->next)
        d->next->prev = d->prev;
}

static void def_drop(server *s, deferred *d)
{
    def_unlink(s, d);
    resp_free(&d->resp);
    free(d);
}

/* Drops the deferred answers of a connection (stream_id < 0: all). */
static void def_drop_for(server *s, conn *c, int32_t stream_id)
{
    for (deferred *d = s->defs, *n; d; d = n) {
        n = d->next;
        if (d->c == c && (stream_id < 0 || d->stream_id == stream_id))
            def_drop(s, d);
    }
}

/* ------------------------------------------------------------- output */

static void conn_kill(conn *c)
{
    c->dead = 1;
}

static void conn_write(conn *c)
{
    while (!c->dead && c->out_off < c->out.len) {
        ssize_t n = send(c->fd, c->out.p + c->out_off, c->out.len - c->out_off,
                         MSG_NOSIGNAL);
        if (n < 0) {
            if (errno == EINTR)
                continue;
            if (errno != EAGAIN && errno != EWOULDBLOCK)
                conn_kill(c);
            break;
        }
        c->out_off += (size_t)n;
    }
    if (c->out_off == c->out.len) {
        buf_consume(&c->out, c->out.len);
        c->out_off = 0;
    }
}

static void conn_update(conn *c)
{
    if (c->dead)
        return;
    int pending = c->out.len > c->out_off;
    if (!pending && c->closing && !c->draining) {
        /* Let the client read the answer before the socket goes away. */
        shutdown(c->fd, SHUT_WR);
        c->draining = 1;
    }
    uint32_t ev = EPOLLIN | (pending ? EPOLLOUT : 0);
    if (ev != c->events) {
        struct epoll_event e = {.events = ev, .data.ptr = c};
        if (epoll_ctl(c->srv->ep, EPOLL_CTL_MOD, c->fd, &e) != 0)
            conn_kill(c);
        c->events = ev;
    }
}

/* Moves nghttp2's pending frames to the output and writes. */
static void h2_flush(conn *c)
{
    for (;;) {
        const uint8_t *d;
        ssize_t n = nghttp2_session_mem_send(c->h2, &d);
        if (n < 0) {
            conn_kill(c);
            return;
        }
        if (n == 0)
            break;
        if (buf_add(&c->out, d, (size_t)n) != 0) {
            conn_kill(c);
            return;
        }
    }
    conn_write(c);
    if (!nghttp2_session_want_read(c->h2) &&
        !nghttp2_session_want_write(c->h2) && c->out.len == 0)
        c->closing = 1;
}

static void flush(conn *c)
{
    if (c->dead)
        return;
    if (c->mode == MODE_H2)
        h2_flush(c);
    else
        conn_write(c);
    conn_update(c);
}

const char *msgsec_h2s_reason(int status)
{
    switch (status) {
    case 100: return "Continue";
    case 200: return "OK";
    case 201: return "Created";
    case 204: return "No Content";
    case 400: return "Bad Request";
    case 401: return "Unauthorized";
    case 403: return "Forbidden";
    case 404: return "Not Found";
    case 405: return "Method Not Allowed";
    case 411: return "Length Required";
    case 413: return "Content Too Large";
    case 415: return "Unsupported Media Type";
    case 429: return "Too Many Requests";
    case 500: return "Internal Server Error";
    case 502: return "Bad Gateway";
    case 503: return "Service Unavailable";
    case 504: return "Gateway Timeout";
    default: return NULL;
    }
}

static void h1_send(conn *c, msgsec_h2s_response *r, int close_after)
{
    char head[1024];
    const char *reason = msgsec_h2s_reason(r->status);
    int n = snprintf(head, sizeof(head), "HTTP/1.1 %d %s\r\n", r->status,
                     reason ? reason : "Status");
    if (r->status != 204 && r->status >= 200)
        n += snprintf(head + n, sizeof(head) - (size_t)n,
                      "Content-Length: %zu\r\n", r->body_len);
    if (r->content_type && r->body_len)
        n += snprintf(head + n, sizeof(head) - (size_t)n,
                      "Content-Type: %s\r\n", r->content_type);
    if (r->allow)
        n += snprintf(head + n, sizeof(head) - (size_t)n, "Allow: %s\r\n",
                      r->allow);
    if (r->www_authenticate)
        n += snprintf(head + n, sizeof(head) - (size_t)n,
                      "WWW-Authenticate: %s\r\n", r->www_authenticate);
    if (r->no_store)
        n += snprintf(head + n, sizeof(head) - (size_t)n,
                      "Cache-Control: no-store\r\nPragma: no-cache\r\n");
    if (close_after)
        n += snprintf(head + n, sizeof(head) - (size_t)n,
                      "Connection: close\r\n");
    n += snprintf(head + n, sizeof(head) - (size_t)n, "\r\n");
    if (buf_add(&c->out, head, (size_t)n) != 0 ||
        (r->status != 204 && r->body_len &&
         buf_add(&c->out, r->body, r->body_len) != 0))
        conn_kill(c);
    resp_free(r);
    if (close_after)
        c->closing = 1;
}

static ssize_t h2_read_body(nghttp2_session *s, int32_t id, uint8_t *out,
                            size_t len, uint32_t *flags,
                            nghttp2_data_source *src, void *ud)
{
    (void)s;
    (void)id;
    (void)ud;
    stream *st = src->ptr;
    size_t n = st->rlen - st->roff;
    if (n > len)
        n = len;
    memcpy(out, st->rbody + st->roff, n);
    st->roff += n;
    if (st->roff == st->rlen)
        *flags |= NGHTTP2_DATA_FLAG_EOF;
    return (ssize_t)n;
}

#define NV(n, v)                                                               \
    {                                                                          \
        (uint8_t *)(n), (uint8_t *)(v), sizeof(n) - 1, strlen(v),              \
            NGHTTP2_NV_FLAG_NONE                                               \
    }

static void h2_send(conn *c, int32_t id, msgsec_h2s_response *r)
{
    stream *st = nghttp2_session_get_stream_user_data(c->h2, id);
    if (!st) { /* the client reset the stream meanwhile */
        resp_free(r);
        return;
    }
    char status[8], clen[24];
    snprintf(status, sizeof(status), "%d", r->status);
    snprintf(clen, sizeof(clen), "%zu", r->body_len);
    nghttp2_nv nv[7] = {NV(":status", status)};
    size_t n = 1;
    if (r->status != 204) {
        nghttp2_nv x = NV("content-length", clen);
        nv[n++] = x;
    }
    if (r->content_type && r->body_len) {
        nghttp2_nv x = NV("content-type", r->content_type);
        nv[n++] = x;
    }
    if (r->allow) {
        nghttp2_nv x = NV("allow", r->allow);
        nv[n++] = x;
    }
    if (r->www_authenticate) {
        nghttp2_nv x = NV("www-authenticate", r->www_authenticate);
        nv[n++] = x;
    }
    if (r->no_store) {
        nghttp2_nv x = NV("cache-control", "no-store"),
                   y = NV("pragma", "no-cache");
        nv[n++] = x;
        nv[n++] = y;
    }
    nghttp2_data_provider prd = {.source.ptr = st, .read_callback = h2_read_body};
    int has_body = r->status != 204 && r->body_len > 0;
    if (has_body) {
        st->rbody = r->body;
        st->rlen = r->body_len;
        st->roff = 0;
        r->body = NULL;
        r->body_len = 0;
    }
    if (nghttp2_submit_response(c->h2, id, nv, n, has_body ? &prd : NULL) != 0)
        nghttp2_submit_rst_stream(c->h2, NGHTTP2_FLAG_NONE, id,
                                  NGHTTP2_INTERNAL_ERROR);
    resp_free(r);
}

/* Calls the handler and sends (or schedules) its answer. */
static void dispatch(conn *c, int32_t stream_id, const char *method,
                     const char *path, const char *ctype, const char *auth,
                     const uint8_t *body, size_t body_len, int error,
                     int close_after)
{
    server *s = c->srv;
    msgsec_h2s_request rq = {.method = method,
                             .path = path,
                             .content_type = ctype,
                             .authorization = auth,
                             .body = body ? body : (const uint8_t *)"",
                             .body_len = body_len,
                             .proto = c->mode == MODE_H2 ? 20 : 11,
                             .error = error,
                             .peer = c->peer};
    msgsec_h2s_response rs = {0};
    s->cfg->handler(s->cfg->arg, &rq, &rs);
    if (rs.status < 100 || rs.status > 599)
        rs.status = 500;
    if (rs.delay_ms) {
        deferred *d = calloc(1, sizeof(*d));
        if (d) {
            d->c = c;
            d->stream_id = stream_id;
            d->close_after = close_after;
            d->due = now_ms() + rs.delay_ms;
            d->resp = rs;
            d->next = s->defs;
            if (s->defs)
                s->defs->prev = d;
            s->defs = d;
            if (c->mode == MODE_H1)
                c->h1_busy = 1;
            return;
        }
    }
    if (c->mode == MODE_H2)
        h2_send(c, stream_id, &rs);
    else
        h1_send(c, &rs, close_after);
}

/* ------------------------------------------------------------ HTTP/2 */

static void stream_free(conn *c, stream *st)
{
    if (st->prev)
        st->prev->next = st->next;
    else
        c->streams = st->next;
    if (st->next)
        st->next->prev = st->prev;
    buf_free(&st->body);
    if (st->rbody) {
        OPENSSL_cleanse(st->rbody, st->rlen);
        free(st->rbody);
    }
    if (st->auth) {
        OPENSSL_cleanse(st->auth, AUTH_MAX);
        free(st->auth);
    }
    free(st);
}

static int h2_on_begin_headers(nghttp2_session *h2, const nghttp2_frame *f,
                               void *ud)
{
    conn *c = ud;
    if (f->hd.type != NGHTTP2_HEADERS ||
        f->headers.cat != NGHTTP2_HCAT_REQUEST)
        return 0;
    stream *st = calloc(1, sizeof(*st));
    if (!st)
        return NGHTTP2_ERR_CALLBACK_FAILURE;
    st->id = f->hd.stream_id;
    st->next = c->streams;
    if (c->streams)
        c->streams->prev = st;
    c->streams = st;
    nghttp2_session_set_stream_user_data(h2, st->id, st);
    return 0;
}

static void copy_field(char *dst, size_t cap, const uint8_t *v, size_t n,
                       int *bad)
{
    if (n >= cap) {
        *bad = 1;
        n = cap - 1;
    }
    memcpy(dst, v, n);
    dst[n] = 0;
}

static int h2_on_header(nghttp2_session *h2, const nghttp2_frame *f,
                        const uint8_t *name, size_t namelen,
                        const uint8_t *value, size_t valuelen, uint8_t flags,
                        void *ud)
{
    (void)flags;
    (void)ud;
    if (f->hd.type != NGHTTP2_HEADERS)
        return 0;
    stream *st = nghttp2_session_get_stream_user_data(h2, f->hd.stream_id);
    if (!st)
        return 0;
    if (namelen == 7 && memcmp(name, ":method", 7) == 0)
        copy_field(st->method, sizeof(st->method), value, valuelen, &st->bad);
    else if (namelen == 5 && memcmp(name, ":path", 5) == 0)
        copy_field(st->path, sizeof(st->path), value, valuelen, &st->bad);
    else if (namelen == 12 && memcmp(name, "content-type", 12) == 0) {
        copy_field(st->ctype, sizeof(st->ctype), value, valuelen, &st->bad);
        st->has_ctype = 1;
    } else if (namelen == 13 && memcmp(name, "authorization", 13) == 0) {
        if (!st->auth && !(st->auth = malloc(AUTH_MAX)))
            return NGHTTP2_ERR_CALLBACK_FAILURE;
        copy_field(st->auth, AUTH_MAX, value, valuelen, &st->bad);
    }
    return 0;
}

static int h2_on_data(nghttp2_session *h2, uint8_t flags, int32_t id,
                      const uint8_t *data, size_t len, void *ud)
{
    (void)flags;
    conn *c = ud;
    stream *st = nghttp2_session_get_stream_user_data(h2, id);
    if (!st || st->too_large)
        return 0;
    if (len > c->srv->cfg->max_body - st->body.len) {
        st->too_large = 1;
        buf_free(&st->body);
        return 0;
    }
    return buf_add(&st->body, data, len) == 0 ? 0
                                              : NGHTTP2_ERR_CALLBACK_FAILURE;
}

static int h2_on_frame(nghttp2_session *h2, const nghttp2_frame *f, void *ud)
{
    conn *c = ud;
    if ((f->hd.type != NGHTTP2_HEADERS && f->hd.type != NGHTTP2_DATA) ||
        !(f->hd.flags & NGHTTP2_FLAG_END_STREAM))
        return 0;
    stream *st = nghttp2_session_get_stream_user_data(h2, f->hd.stream_id);
    if (!st || st->dispatched)
        return 0;
    st->dispatched = 1;
    int error = st->bad || !st->method[0] || !st->path[0] ? 400
                : st->too_large                           ? 413
                                                          : 0;
    dispatch(c, st->id, st->method[0] ? st->method : "?",
             st->path[0] ? st->path : "?", st->has_ctype ? st->ctype : NULL,
             st->auth, st->body.p, st->body.len, error, 0);
    return 0;
}

static int h2_on_close(nghttp2_session *h2, int32_t id, uint32_t code,
                       void *ud)
{
    (void)code;
    conn *c = ud;
    stream *st = nghttp2_session_get_stream_user_data(h2, id);
    def_drop_for(c->srv, c, id);
    if (!st)
        return 0;
    nghttp2_session_set_stream_user_data(h2, id, NULL);
    stream_free(c, st);
    return 0;
}

static int h2_start(conn *c)
{
    nghttp2_session_callbacks *cb;
    if (nghttp2_session_callbacks_new(&cb) != 0)
        return -1;
    nghttp2_session_callbacks_set_on_begin_headers_callback(cb,
                                                            h2_on_begin_headers);
    nghttp2_session_callbacks_set_on_header_callback(cb, h2_on_header);
    nghttp2_session_callbacks_set_on_data_chunk_recv_callback(cb, h2_on_data);
    nghttp2_session_callbacks_set_on_frame_recv_callback(cb, h2_on_frame);
    nghttp2_session_callbacks_set_on_stream_close_callback(cb, h2_on_close);
    int rv = nghttp2_session_server_new(&c->h2, cb, c);
    nghttp2_session_callbacks_del(cb);
    if (rv != 0)
        return -1;
    nghttp2_settings_entry iv[] = {
        {NGHTTP2_SETTINGS_MAX_CONCURRENT_STREAMS, H2_MAX_STREAMS}};
    return nghttp2_submit_settings(c->h2, NGHTTP2_FLAG_NONE, iv, 1) == 0 ? 0
                                                                         : -1;
}

static void h2_feed(conn *c, const uint8_t *p, size_t n)
{
    ssize_t rv = nghttp2_session_mem_recv(c->h2, p, n);
    if (rv < 0) {
        logf_("%s: HTTP/2 error: %s", c->peer, nghttp2_strerror((int)rv));
        c->closing = 1;
    }
}

/* ---------------------------------------------------------- HTTP/1.1 */

static const char *find_crlfcrlf(const uint8_t *p, size_t n)
{
    for (size_t i = 0; i + 3 < n; i++)
        if (p[i] == '\r' && p[i + 1] == '\n' && p[i + 2] == '\r' &&
            p[i + 3] == '\n')
            return (const char *)p + i;
    return NULL;
}

static int token_char(int ch)
{
    return ch > 0x20 && ch < 0x7f && !strchr("()<>@,;:\\\"/[]?={}", ch);
}

/* Answers a request that cannot be read further, then closes. */
static void h1_fail(conn *c, int status, const char *method, const char *path)
{
    dispatch(c, 0, method, path, NULL, NULL, NULL, 0, status, 1);
}

/*
 * Answers the request whose head (head_len bytes with the final CRLFCRLF)
 * starts c->in; head is a writable copy. 1 when it was consumed, 0 when
 * parsing must stop (an error answered, or the body still coming).
 */
static int h1_request(conn *c, char *head, size_t head_len)
{
    server *s = c->srv;
    /* Request line: METHOD SP TARGET SP HTTP/1.x CRLF */
    char *line_end = strstr(head, "\r\n");
    if (!line_end) {
        /* A NUL byte before the end of the request line. */
        h1_fail(c, 400, "?", "?");
        return 0;
    }
    *line_end = 0;
    char *sp1 = strchr(head, ' ');
    char *sp2 = sp1 ? strchr(sp1 + 1, ' ') : NULL;
    if (!sp1 || !sp2 || sp1 == head || sp2 == sp1 + 1 ||
        sp1 - head > 15) {
        h1_fail(c, 400, "?", "?");
        return 0;
    }
    *sp1 = 0;
    *sp2 = 0;
    const char *method = head, *target = sp1 + 1, *version = sp2 + 1;
    for (const char *q = method; *q; q++)
        if (!token_char((unsigned char)*q)) {
            h1_fail(c, 400, "?", "?");
            return 0;
        }
    for (const char *q = target; *q; q++)
        if ((unsigned char)*q <= 0x20 || *q == 0x7f) {
            h1_fail(c, 400, method, "?");
            return 0;
        }
    int http10 = strcmp(version, "HTTP/1.0") == 0;
    if (!http10 && strcmp(version, "HTTP/1.1") != 0) {
        h1_fail(c, 400, method, target);
        return 0;
    }

    /* Headers. */
    const char *ctype = NULL, *auth = NULL;
    long long clen = -1;
    int chunked = 0, close_after = http10, expect = 0, bad = 0;
    for (char *h = line_end + 2; *h && !bad;) {
        char *e = strstr(h, "\r\n");
        if (e)
            *e = 0;
        char *colon = strchr(h, ':');
        if (!colon || colon == h) {
            bad = 1;
            break;
        }
        *colon = 0;
        for (const char *q = h; *q; q++)
            if (!token_char((unsigned char)*q))
                bad = 1;
        char *v = colon + 1;
        while (*v == ' ' || *v == '\t')
            v++;
        size_t vl = strlen(v);
        while (vl && (v[vl - 1] == ' ' || v[vl - 1] == '\t'))
            v[--vl] = 0;
        if (strcasecmp(h, "content-length") == 0) {
            char *x;
            errno = 0;
            long long n = strtoll(v, &x, 10);
            if (!*v || *x || n < 0 || errno || (clen >= 0 && n != clen))
                bad = 1;
            clen = n;
        } else if (strcasecmp(h, "transfer-encoding") == 0) {
            chunked = 1;
        } else if (strcasecmp(h, "content-type") == 0) {
            ctype = v;
        } else if (strcasecmp(h, "authorization") == 0) {
            auth = v;
        } else if (strcasecmp(h, "connection") == 0) {
            if (strcasecmp(v, "close") == 0)
                close_after = 1;
            else if (strcasecmp(v, "keep-alive") == 0)
                close_after = 0;
        } else if (strcasecmp(h, "expect") == 0) {
            expect = strcasecmp(v, "100-continue") == 0;
        }
        h = e ? e + 2 : h + strlen(h);
    }
    if (bad) {
        h1_fail(c, 400, method, target);
        return 0;
    }
    int wants_body = strcmp(method, "POST") == 0 ||
                     strcmp(method, "PUT") == 0 ||
                     strcmp(method, "PATCH") == 0;
    if (chunked || (wants_body && clen < 0)) {
        h1_fail(c, 411, method, target);
        return 0;
    }
    if (clen < 0)
        clen = 0;
    if ((unsigned long long)clen > s->cfg->max_body) {
        h1_fail(c, 413, method, target);
        return 0;
    }
    if (c->in.len - head_len < (size_t)clen) {
        if (expect && !c->h1_continued) {
            static const char cont[] = "HTTP/1.1 100 Continue\r\n\r\n";
            c->h1_continued = 1;
            if (buf_add(&c->out, cont, sizeof(cont) - 1) != 0)
                conn_kill(c);
        }
        return 0; /* the body is still coming */
    }
    c->h1_continued = 0;
    dispatch(c, 0, method, target, ctype, auth, c->in.p + head_len,
             (size_t)clen, 0, close_after);
    buf_consume(&c->in, head_len + (size_t)clen);
    return 1;
}

/* Parses and answers complete requests in c->in. */
static void h1_process(conn *c)
{
    while (!c->dead && !c->h1_busy && !c->closing && c->in.len > 0) {
        /* Refuse at once what cannot start a request line (a TLS
         * ClientHello, binary noise) rather than wait for a header end. */
        size_t m = 0;
        while (m < c->in.len && m < 16 && token_char(c->in.p[m]))
            m++;
        if (m == 16 || (m < c->in.len && (m == 0 || c->in.p[m] != ' '))) {
            h1_fail(c, 400, "?", "?");
            return;
        }
        size_t scan = c->in.len < H1_HEAD_MAX ? c->in.len : H1_HEAD_MAX;
        const char *end = find_crlfcrlf(c->in.p, scan);
        if (!end) {
            if (c->in.len >= H1_HEAD_MAX)
                h1_fail(c, 400, "?", "?");
            return;
        }
        size_t head_len = (size_t)(end - (const char *)c->in.p) + 4;
        char head[H1_HEAD_MAX + 1];
        memcpy(head, c->in.p, head_len - 2);
        head[head_len - 2] = 0;
        /* The head may hold a bearer token. */
        int more = h1_request(c, head, head_len);
        OPENSSL_cleanse(head, sizeof(head));
        if (!more)
            return;
    }
}

/* ------------------------------------------------------------- input */

static void conn_feed(conn *c, const uint8_t *p, size_t n)
{
    if (c->mode == MODE_H2) {
        h2_feed(c, p, n);
        return;
    }
    size_t limit = c->srv->cfg->max_body + H1_HEAD_MAX;
    if (c->in.len + n > limit + READ_CHUNK || buf_add(&c->in, p, n) != 0) {
        conn_kill(c);
        return;
    }
    if (c->mode == MODE_DETECT) {
        size_t k = c->in.len < PREFACE_LEN ? c->in.len : PREFACE_LEN;
        if (memcmp(c->in.p, preface, k) != 0) {
            c->mode = MODE_H1;
        } else if (k == PREFACE_LEN) {
            c->mode = MODE_H2;
            if (h2_start(c) != 0) {
                conn_kill(c);
                return;
            }
            h2_feed(c, c->in.p, c->in.len);
            buf_free(&c->in);
            return;
        } else {
            return; /* could still be either */
        }
    }
    h1_process(c);
}

static void conn_read(conn *c)
{
    uint8_t tmp[READ_CHUNK];
    while (!c->dead) {
        ssize_t n = recv(c->fd, tmp, sizeof(tmp), 0);
        if (n == 0) {
            conn_kill(c);
            break;
        }
        if (n < 0) {
            if (errno == EINTR)
                continue;
            if (errno != EAGAIN && errno != EWOULDBLOCK)
                conn_kill(c);
            break;
        }
        if (c->draining)
            continue;
        conn_feed(c, tmp, (size_t)n);
        /* Stop reading while an HTTP/1.1 answer waits: the input buffer
         * is bounded by conn_feed() anyway. */
    }
    OPENSSL_cleanse(tmp, sizeof(tmp));
}

static void conn_free(server *s, conn *c)
{
    def_drop_for(s, c, -1);
    if (c->h2)
        nghttp2_session_del(c->h2); /* without stream-close callbacks */
    while (c->streams)
        stream_free(c, c->streams);
    epoll_ctl(s->ep, EPOLL_CTL_DEL, c->fd, NULL);
    close(c->fd);
    buf_free(&c->in);
    buf_free(&c->out);
    if (c->prev)
        c->prev->next = c->next;
    else
        s->conns = c->next;
    if (c->next)
        c->next->prev = c->prev;
    s->nconns--;
    free(c);
}

static void peer_name(const struct sockaddr *sa, socklen_t len, char *out,
                      size_t cap)
{
    char host[64], port[16];
    if (getnameinfo(sa, len, host, sizeof(host), port, sizeof(port),
                    NI_NUMERICHOST | NI_NUMERICSERV) != 0) {
        snprintf(out, cap, "?");
        return;
    }
    if (sa->sa_family == AF_INET6)
        snprintf(out, cap, "[%s]:%s", host, port);
    else
        snprintf(out, cap, "%s:%s", host, port);
}

static void do_accept(server *s)
{
    for (;;) {
        struct sockaddr_storage ss;
        socklen_t sl = sizeof(ss);
        int fd = accept4(s->lfd, (struct sockaddr *)&ss, &sl,
                         SOCK_NONBLOCK | SOCK_CLOEXEC);
        if (fd < 0) {
            if (errno == EINTR)
                continue;
            return; /* EAGAIN, or out of descriptors: try again later */
        }
        conn *c = s->nconns < MAX_CONNS ? calloc(1, sizeof(*c)) : NULL;
        if (!c) {
            close(fd);
            continue;
        }
        int one = 1;
        setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
        c->srv = s;
        c->fd = fd;
        c->events = EPOLLIN;
        peer_name((struct sockaddr *)&ss, sl, c->peer, sizeof(c->peer));
        struct epoll_event e = {.events = EPOLLIN, .data.ptr = c};
        if (epoll_ctl(s->ep, EPOLL_CTL_ADD, fd, &e) != 0) {
            close(fd);
            free(c);
            continue;
        }
        c->next = s->conns;
        if (s->conns)
            s->conns->prev = c;
        s->conns = c;
        s->nconns++;
    }
}

/* Sends the answers whose time has come; returns ms to the next one. */
static int run_due(server *s)
{
    int64_t now = now_ms(), next = -1;
    for (deferred *d = s->defs, *n; d; d = n) {
        n = d->next;
        if (d->due > now) {
            if (next < 0 || d->due < next)
                next = d->due;
            continue;
        }
        conn *c = d->c;
        def_unlink(s, d);
        if (!c->dead) {
            if (c->mode == MODE_H2) {
                h2_send(c, d->stream_id, &d->resp);
            } else {
                h1_send(c, &d->resp, d->close_after);
                c->h1_busy = 0;
                h1_process(c);
            }
            flush(c);
        }
        resp_free(&d->resp);
        free(d);
        /* The list may have changed under us (h1_process may defer). */
        n = s->defs;
        now = now_ms();
        next = -1;
    }
    if (next < 0)
        return -1;
    int64_t wait = next - now_ms();
    return wait < 0 ? 0 : wait > 60000 ? 60000 : (int)wait;
}

/* ------------------------------------------------------------ set-up */

static int listen_on(const char *spec, char *shown, size_t shown_len,
                     char *err, size_t err_len)
{
    char host[256];
    const char *colon = strrchr(spec, ':');
    if (!colon || colon == spec || (size_t)(colon - spec) >= sizeof(host) ||
        !colon[1]) {
        snprintf(err, err_len, "--listen %s: expected HOST:PORT", spec);
        return -1;
    }
    memcpy(host, spec, (size_t)(colon - spec));
    host[colon - spec] = 0;
    if (host[0] == '[') {
        size_t hl = strlen(host);
        if (hl < 3 || host[hl - 1] != ']') {
            snprintf(err, err_len, "--listen %s: bad IPv6 address", spec);
            return -1;
        }
        memmove(host, host + 1, hl - 2);
        host[hl - 2] = 0;
    }
    const char *port = colon + 1;
    for (const char *q = port; *q; q++)
        if (*q < '0' || *q > '9' || q - port > 5) {
            snprintf(err, err_len, "--listen %s: bad port", spec);
            return -1;
        }
    struct addrinfo hints = {.ai_family = AF_UNSPEC,
                             .ai_socktype = SOCK_STREAM,
                             .ai_flags = AI_PASSIVE | AI_NUMERICSERV},
                    *ai;
    int e = getaddrinfo(host, port, &hints, &ai);
    if (e != 0) {
        snprintf(err, err_len, "--listen %s: %s", spec, gai_strerror(e));
        return -1;
    }
    int fd = socket(ai->ai_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC,
                    0);
    int one = 1;
    if (fd < 0 ||
        setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one)) != 0 ||
        bind(fd, ai->ai_addr, ai->ai_addrlen) != 0 || listen(fd, 512) != 0) {
        snprintf(err, err_len, "--listen %s: %s", spec, strerror(errno));
        if (fd >= 0)
            close(fd);
        freeaddrinfo(ai);
        return -1;
    }
    freeaddrinfo(ai);
    struct sockaddr_storage ss;
    socklen_t sl = sizeof(ss);
    getsockname(fd, (struct sockaddr *)&ss, &sl);
    peer_name((struct sockaddr *)&ss, sl, shown, shown_len);
    return fd;
}

int msgsec_h2s_run(const msgsec_h2s_config *cfg, char *err, size_t err_len)
{
    server s = {.cfg = cfg, .ep = -1, .lfd = -1, .sfd = -1};
    sigset_t set;
    sigemptyset(&set);
    sigaddset(&set, SIGINT);
    sigaddset(&set, SIGTERM);
    if (pthread_sigmask(SIG_BLOCK, &set, NULL) != 0 ||
        (s.sfd = signalfd(-1, &set, SFD_NONBLOCK | SFD_CLOEXEC)) < 0) {
        snprintf(err, err_len, "signalfd: %s", strerror(errno));
        return -1;
    }
    char shown[96];
    if ((s.lfd = listen_on(cfg->listen, shown, sizeof(shown), err, err_len)) <
        0) {
        close(s.sfd);
        return -1;
    }
    s.ep = epoll_create1(EPOLL_CLOEXEC);
    struct epoll_event el = {.events = EPOLLIN, .data.ptr = (void *)&tag_listen};
    struct epoll_event es = {.events = EPOLLIN, .data.ptr = (void *)&tag_signal};
    if (s.ep < 0 || epoll_ctl(s.ep, EPOLL_CTL_ADD, s.lfd, &el) != 0 ||
        epoll_ctl(s.ep, EPOLL_CTL_ADD, s.sfd, &es) != 0) {
        snprintf(err, err_len, "epoll: %s", strerror(errno));
        if (s.ep >= 0)
            close(s.ep);
        close(s.lfd);
        close(s.sfd);
        return -1;
    }
    fprintf(cfg->announce, "listening on %s\n", shown);
    fflush(cfg->announce);

    int stop = 0;
    while (!stop) {
        int timeout = run_due(&s);
        struct epoll_event ev[64];
        int n = epoll_wait(s.ep, ev, 64, timeout);
        if (n < 0 && errno != EINTR) {
            snprintf(err, err_len, "epoll_wait: %s", strerror(errno));
            break;
        }
        for (int i = 0; i < n; i++) {
            void *p = ev[i].data.ptr;
            if (p == &tag_listen) {
                do_accept(&s);
            } else if (p == &tag_signal) {
                struct signalfd_siginfo si;
                while (read(s.sfd, &si, sizeof(si)) == sizeof(si))
                    stop = 1;
            } else {
                conn *c = p;
                if (ev[i].events & (EPOLLIN | EPOLLHUP | EPOLLERR))
                    conn_read(c);
                flush(c);
            }
        }
        for (conn *c = s.conns, *next; c; c = next) {
            next = c->next;
            if (c->dead)
                conn_free(&s, c);
        }
    }
    while (s.conns)
        conn_free(&s, s.conns);
    while (s.defs)
        def_drop(&s, s.defs);
    close(s.ep);
    close(s.lfd);
    close(s.sfd);
    return 0;
}
