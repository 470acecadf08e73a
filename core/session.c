/*
 * session.c - sessions: negotiation (implicit and explicit), the message
 * path, pending look-ups, and the session upcalls providers call.
 *
 * Buffers, all owned by the session and reused:
 *   out   bytes for the peer (pull)
 *   in    received bytes not yet parsed (frames, a first token, or input
 *         held while a look-up is pending)
 *   hs    handshake bytes waiting for the provider's step()
 *   rin   protected records waiting for unwrap()
 *   pt    decoded plaintext waiting for recv()
 * In steady state (ESTABLISHED) send and recv neither allocate (once the
 * buffers have grown to the traffic's size) nor take a lock. The buffers
 * follow the traffic, not the provider's record size: a record is
 * decoded through a stack buffer unless pt already has room for a whole
 * one, so that many idle sessions of short messages stay small.
 *
 * Message framing: each message is a 4-byte big-endian length and the
 * message, carried as a plaintext stream inside the provider's records, so
 * a message larger than a record spans several. The length 0xffffffff is
 * an orderly close, sent when the provider has no close record of its own
 * (in stream framing such a provider cannot signal a close at all).
 *
 * Stream framing skips pt when it can: feed() keeps back the last byte of
 * a large input so that the provider holds the last record incomplete,
 * and recv() with nothing in pt and room for a record has it decoded
 * straight into the application's buffer (no copy and no wipe of pt).
 *
 * Input limits: at most one maximum message (plus a record) of decoded
 * plaintext is held; further records stay encoded until recv() makes room.
 * Before the session is established at most IN_MAX bytes are buffered.
 */
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <openssl/crypto.h>

#include "internal.h"
#include "pcall.h"
#include "negotiate.h"

/* Largest message (message framing) or single send (stream framing). */
#define MAX_MESSAGE (1u << 20)
/* Largest first token buffered before some provider claims it. */
#define CLAIM_MAX 16384u
/* Largest handshake input held for a provider that has not consumed it. */
#define HS_MAX (64u * 1024u)
/* Largest input held before the session is established (frames, input
 * arriving during a look-up, early records). */
#define IN_MAX (MAX_MESSAGE + 256u * 1024u)
/* Largest record decoded through a stack buffer (TLS: 16 KiB). */
#define BOUNCE_MAX 16384u
#define CLOSE_MARK 0xffffffffu
#define MSG_HDR 4

enum phase {
    PH_CLAIM = 0,  /* implicit server: waiting for a first token to claim */
    PH_OFFER,      /* explicit server: waiting for OFFER */
    PH_SELECT,     /* explicit client: waiting for SELECT */
    PH_HANDSHAKE,  /* the provider runs */
};

typedef struct msgsec_buf {
    uint8_t *p;
    size_t off, len, cap;
} msgsec_buf;

struct msgsec_session {
    msgsec_waiter w; /* first: a msgsec_psession points here */
    msgsec_core *core;
    const msgsec_csvc *svc;
    int role;
    int framing;
    int explicit_mode;
    int state;
    int phase;
    int fail_code;

    struct msgsec_pctx *prov; /* selected provider, NULL before */
    void *pstate;
    size_t pstate_size;
    int started;       /* start() succeeded: end() owed */
    int prov_done;     /* step() returned OK */
    int confirm_sent;  /* explicit: our CONFIRM is queued, frames end */
    int pdetail;       /* the provider set a detail during the last call */
    int no_error_frame;/* the peer gave up: do not answer with ERROR */
    int local_closed, peer_closed;
    int have_peer;

    char *peer_name;
    char *identity;
    void *user_data;

    msgsec_buf out, in, hs, rin, pt;
    uint8_t *scratch; /* a header and the message start, for one record */
    size_t scratch_cap;
    size_t overhead, max_record;
    size_t scan;      /* pt offset of the first unchecked message header */

    uint8_t *offer;   /* client: its OFFER frame, until SELECT */
    size_t offer_len;
    uint8_t th[32];
    uint8_t peer_mac[MSGSEC_NEG_MAC];

    msgsec_peer peer;

    char *detail; /* MSGSEC_DETAIL_MAX bytes once a detail was set:
                     most sessions never have one */
};

/* ------------------------------------------------------------- buffers */

static uint8_t *bdata(const msgsec_buf *b)
{
    return b->p + b->off;
}

/* Makes room for n more bytes at the tail. */
static int breserve(msgsec_session *s, msgsec_buf *b, size_t n)
{
    if (b->cap - b->off - b->len >= n)
        return 0;
    if (b->off > 0) {
        memmove(b->p, b->p + b->off, b->len);
        b->off = 0;
        if (b->cap - b->len >= n)
            return 0;
    }
    if (n > SIZE_MAX / 2 - b->len)
        return MSGSEC_ERR_NOMEM;
    /* Small to start with: sessions are many and their messages often
     * short; a buffer grows to its traffic once. */
    size_t cap = b->cap ? b->cap : 256;
    while (cap - b->len < n)
        cap *= 2;
    uint8_t *p = msgsec_mem_alloc(&s->core->mem, cap);
    if (!p)
        return MSGSEC_ERR_NOMEM;
    if (b->len)
        memcpy(p, b->p, b->len);
    msgsec_mem_free(&s->core->mem, b->p, b->cap);
    b->p = p;
    b->cap = cap;
    return 0;
}

static int bappend(msgsec_session *s, msgsec_buf *b, const void *d, size_t n)
{
    if (n == 0)
        return 0;
    MSGSEC_GUARD(breserve(s, b, n));
    memcpy(b->p + b->off + b->len, d, n);
    b->len += n;
    return 0;
}

/*
 * Wipes plaintext once the application has it (and scratch copies of
 * it): memset behind a compiler barrier, as explicit_bzero() does, so the
 * stores cannot be dropped. OPENSSL_cleanse() stores a word at a time and
 * would cost as much as a quarter of a 16 KiB message's AES-GCM; keys
 * still go through it.
 */
static void wipe_plaintext(void *p, size_t n)
{
#if defined(__GNUC__)
    memset(p, 0, n);
    __asm__ __volatile__("" : : "r"(p) : "memory");
#else
    OPENSSL_cleanse(p, n);
#endif
}

static void bconsume(msgsec_buf *b, size_t n)
{
    b->off += n;
    b->len -= n;
    if (b->len == 0)
        b->off = 0;
}

static void bfree(msgsec_session *s, msgsec_buf *b)
{
    msgsec_mem_free(&s->core->mem, b->p, b->cap);
    memset(b, 0, sizeof(*b));
}

/* Moves all of from to the tail of to. */
static int bmove(msgsec_session *s, msgsec_buf *to, msgsec_buf *from)
{
    if (from->len == 0)
        return 0;
    if (to->len == 0 && to->cap <= from->cap) {
        msgsec_buf t = *to;
        *to = *from;
        *from = t;
        from->off = from->len = 0;
        return 0;
    }
    MSGSEC_GUARD(bappend(s, to, bdata(from), from->len));
    bconsume(from, from->len);
    return 0;
}

static uint32_t get_be32(const uint8_t *p)
{
    return ((uint32_t)p[0] << 24) | ((uint32_t)p[1] << 16) |
           ((uint32_t)p[2] << 8) | p[3];
}

static void put_be32(uint8_t *p, uint32_t v)
{
    p[0] = (uint8_t)(v >> 24);
    p[1] = (uint8_t)(v >> 16);
    p[2] = (uint8_t)(v >> 8);
    p[3] = (uint8_t)v;
}

/* ------------------------------------------------------------- details */

static const char *prov_name(const msgsec_session *s)
{
    return s->prov ? s->prov->name : "(none)";
}

static const char *svc_name(const msgsec_session *s)
{
    return s->svc->pol->name;
}

/* Sets the detail (lost, the code still telling, when there is no memory
 * for it). */
static void detail_vset(msgsec_session *s, const char *fmt, va_list ap)
{
    if (!s->detail)
        s->detail = msgsec_mem_alloc(&s->core->mem, MSGSEC_DETAIL_MAX);
    if (s->detail)
        msgsec_detail_vset(s->detail, MSGSEC_DETAIL_MAX, fmt, ap);
}

static void set_detail(msgsec_session *s, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));
static void set_detail(msgsec_session *s, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    detail_vset(s, fmt, ap);
    va_end(ap);
}

static void queue_error_frame(msgsec_session *s, int code, const char *reason)
{
    uint8_t f[MSGSEC_NEG_HDR + 3 + MSGSEC_NEG_MAX_REASON];
    size_t n = 0;
    if (msgsec_neg_build_error(f, sizeof(f), code, reason, &n) == 0 &&
        bappend(s, &s->out, f, n) == 0)
        s->confirm_sent = 1; /* no frame may follow an ERROR */
}

/*
 * Fails the session with rc. fmt (may be NULL: keep the detail already
 * set) explains why. In explicit mode, before our CONFIRM, the peer is told
 * with an ERROR frame carrying only the generic message of rc.
 */
static int fail(msgsec_session *s, int rc, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
static int fail(msgsec_session *s, int rc, const char *fmt, ...)
{
    if (s->state == MSGSEC_STATE_FAILED)
        return s->fail_code;
    if (fmt) {
        va_list ap;
        va_start(ap, fmt);
        detail_vset(s, fmt, ap);
        va_end(ap);
    }
    if (s->explicit_mode && !s->confirm_sent && !s->no_error_frame)
        queue_error_frame(s, rc, msgsec_strerror(rc));
    s->state = MSGSEC_STATE_FAILED;
    s->fail_code = rc;
    msgsec_log(s->core, MSGSEC_LOG_INFO, "service %s: session failed: %s: %s",
               svc_name(s), msgsec_error_name(rc),
               msgsec_session_detail(s));
    return rc;
}

/* Fails after a provider op returned rc, keeping the provider's detail. */
static int prov_fail(msgsec_session *s, int rc, const char *op)
{
    if (s->pdetail)
        return fail(s, rc, NULL);
    return fail(s, rc, "provider %s: %s: %s", prov_name(s), op,
                msgsec_strerror(rc));
}

/* A session_new failure: the thread's detail (the core stays immutable). */
static void core_detail(msgsec_core *core, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));
static void core_detail(msgsec_core *core, const char *fmt, ...)
{
    (void)core;
    va_list ap;
    va_start(ap, fmt);
    msgsec_thread_detail_vset(fmt, ap);
    va_end(ap);
}

/* ------------------------------------------------------------- upcalls */

static msgsec_session *from_ps(msgsec_psession *ps)
{
    return (msgsec_session *)ps;
}

/* A PSK look-up's or an authorization check's handle (a msgsec_pcall)
 * rather than a session's. */
static int is_lookup(msgsec_psession *ps)
{
    return ((const msgsec_waiter *)ps)->kind != MSGSEC_WAITER_SESSION;
}

static msgsec_psession *to_ps(msgsec_session *s)
{
    return (msgsec_psession *)s;
}

static void up_session_detail(msgsec_psession *ps, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));
static void up_session_detail(msgsec_psession *ps, const char *fmt, ...)
{
    char msg[MSGSEC_DETAIL_MAX];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof(msg), fmt, ap);
    va_end(ap);
    if (is_lookup(ps)) {
        msgsec_pcall_up_detail(ps, msg);
        return;
    }
    msgsec_session *s = from_ps(ps);
    set_detail(s, "provider %s: %s", prov_name(s), msg);
    s->pdetail = 1;
}

static void up_session_wake(msgsec_psession *ps)
{
    msgsec_waiter *w = (msgsec_waiter *)ps;
    msgsec_core *core = w->core;
    pthread_mutex_lock(&core->wake_mu);
    w->woken = 1;
    if (!w->linked) {
        w->wake_next = core->wake_head;
        core->wake_head = w;
        w->linked = 1;
    }
    pthread_cond_broadcast(&core->wake_cv);
    pthread_mutex_unlock(&core->wake_mu);
    uint64_t one = 1;
    /* EAGAIN means the counter is already enormous: still readable. */
    ssize_t r = write(core->wake_fd, &one, sizeof(one));
    (void)r;
}

/* Cuts provider output into TOKEN frames. */
static int queue_tokens(msgsec_session *s, const uint8_t *p, size_t n)
{
    while (n > 0) {
        size_t chunk = n < MSGSEC_NEG_MAX_BODY ? n : MSGSEC_NEG_MAX_BODY;
        uint8_t hdr[MSGSEC_NEG_HDR];
        msgsec_neg_build_header(hdr, MSGSEC_NEG_TOKEN, chunk);
        MSGSEC_GUARD(breserve(s, &s->out, sizeof(hdr) + chunk));
        bappend(s, &s->out, hdr, sizeof(hdr));
        bappend(s, &s->out, p, chunk);
        p += chunk;
        n -= chunk;
    }
    return 0;
}

static int up_session_write(msgsec_psession *ps, const void *p, size_t n)
{
    if (is_lookup(ps))
        return MSGSEC_ERR_STATE; /* the integrator's stack talks to the peer */
    msgsec_session *s = from_ps(ps);
    if (n == 0)
        return 0;
    if (!p)
        return MSGSEC_ERR_INVALID_ARG;
    if (s->explicit_mode && !s->confirm_sent)
        return queue_tokens(s, p, n);
    return bappend(s, &s->out, p, n);
}

static int up_session_role(msgsec_psession *ps)
{
    return is_lookup(ps) ? MSGSEC_ROLE_SERVER : from_ps(ps)->role;
}

static const char *up_session_service(msgsec_psession *ps)
{
    return is_lookup(ps) ? msgsec_pcall_up_service(ps)
                         : svc_name(from_ps(ps));
}

static const char *up_session_peer_name(msgsec_psession *ps)
{
    return is_lookup(ps) ? NULL : from_ps(ps)->peer_name;
}

static const char *up_session_identity(msgsec_psession *ps)
{
    return is_lookup(ps) ? NULL : from_ps(ps)->identity;
}

void msgsec_session_fill_upcalls(msgsec_upcalls *up)
{
    up->session_detail = up_session_detail;
    up->session_wake = up_session_wake;
    up->session_write = up_session_write;
    up->session_role = up_session_role;
    up->session_service = up_session_service;
    up->session_peer_name = up_session_peer_name;
    up->session_identity = up_session_identity;
}

/* ---------------------------------------------------------- wake list */

/* Call with wake_mu held. */
static void unlink_locked(msgsec_core *core, msgsec_waiter *w)
{
    if (!w->linked)
        return;
    for (msgsec_waiter **pp = &core->wake_head; *pp; pp = &(*pp)->wake_next) {
        if (*pp == w) {
            *pp = w->wake_next;
            break;
        }
    }
    w->wake_next = NULL;
    w->linked = 0;
}

int msgsec_waiter_take(msgsec_core *core, msgsec_waiter *w)
{
    pthread_mutex_lock(&core->wake_mu);
    int woken = w->woken;
    if (woken) {
        w->woken = 0;
        unlink_locked(core, w);
    }
    pthread_mutex_unlock(&core->wake_mu);
    return woken;
}

void msgsec_waiter_forget(msgsec_core *core, msgsec_waiter *w)
{
    pthread_mutex_lock(&core->wake_mu);
    unlink_locked(core, w);
    w->woken = 0;
    pthread_mutex_unlock(&core->wake_mu);
}

int msgsec_waiter_wait(msgsec_core *core, msgsec_waiter *w, int timeout_ms)
{
    struct timespec ts;
    if (timeout_ms >= 0) {
        /* wake_cv uses the default (realtime) clock. */
        clock_gettime(CLOCK_REALTIME, &ts);
        ts.tv_sec += timeout_ms / 1000;
        ts.tv_nsec += (long)(timeout_ms % 1000) * 1000000L;
        if (ts.tv_nsec >= 1000000000L) {
            ts.tv_sec++;
            ts.tv_nsec -= 1000000000L;
        }
    }
    int rc = 0;
    pthread_mutex_lock(&core->wake_mu);
    while (!w->woken) {
        int e = timeout_ms < 0
                    ? pthread_cond_wait(&core->wake_cv, &core->wake_mu)
                    : pthread_cond_timedwait(&core->wake_cv, &core->wake_mu,
                                             &ts);
        if (e == ETIMEDOUT && !w->woken) {
            rc = MSGSEC_ERR_TIMEOUT;
            break;
        }
    }
    pthread_mutex_unlock(&core->wake_mu);
    return rc;
}

/* ------------------------------------------------------ message path */

/* Decodes records from in (len received bytes) into plaintext, holding at
 * most about one maximum message of plaintext; sets *taken to the bytes
 * decoded (all of them once the peer closed). The rest waits for recv(). */
static int decode_in(msgsec_session *s, const uint8_t *in, size_t len,
                     size_t *taken)
{
    const msgsec_provider *d = &s->prov->d;
    uint8_t bounce[BOUNCE_MAX];
    size_t pos = 0;
    *taken = 0;
    while (pos < len && !s->peer_closed &&
           s->pt.len < MAX_MESSAGE + MSG_HDR) {
        /* Straight into pt when it has room for a whole record (it grew
         * to the traffic's size); else through the bounce buffer, so that
         * pt holds what was received rather than a record's maximum. */
        int direct = s->pt.cap - s->pt.off - s->pt.len >= s->max_record ||
                     s->max_record > sizeof(bounce);
        int rc = direct ? breserve(s, &s->pt, s->max_record) : 0;
        if (rc < 0)
            return fail(s, rc, "no memory for a received record");
        uint8_t *dst = direct ? bdata(&s->pt) + s->pt.len : bounce;
        size_t avail = direct ? s->pt.cap - s->pt.off - s->pt.len
                              : s->max_record;
        size_t used = 0, n = 0;
        unsigned flags = 0;
        s->pdetail = 0;
        rc = d->unwrap(s->prov->pdata, s->pstate, in + pos, len - pos, &used,
                       dst, avail, &n, &flags);
        if (!direct) {
            /* Whatever the outcome, no plaintext stays on the stack. */
            int grow = rc >= 0 && n <= avail ? bappend(s, &s->pt, dst, n) : 0;
            wipe_plaintext(dst, rc >= 0 && n <= avail ? n : avail);
            if (grow < 0)
                return fail(s, grow, "no memory for a received record");
        }
        if (used > len - pos || n > avail)
            return fail(s, MSGSEC_ERR_INTERNAL,
                        "provider %s: unwrap reported more bytes than it had",
                        prov_name(s));
        pos += used;
        *taken = pos;
        if (rc == MSGSEC_CONTINUE) {
            if (used > 0)
                continue;
            break;
        }
        if (rc < 0)
            return prov_fail(s, rc, "received record");
        if (rc != 0 || (used == 0 && n == 0 && !(flags & MSGSEC_UNWRAP_CLOSED)))
            return fail(s, MSGSEC_ERR_INTERNAL,
                        "provider %s: unwrap made no progress", prov_name(s));
        if (direct)
            s->pt.len += n;
        if (s->framing == MSGSEC_FRAMING_MESSAGE) {
            /* Check each new header: refuse oversized messages early. */
            while (s->pt.len - s->scan >= MSG_HDR) {
                uint32_t l = get_be32(bdata(&s->pt) + s->scan);
                if (l == CLOSE_MARK) {
                    /* Drop the marker and anything after it. */
                    s->pt.len = s->scan;
                    flags |= MSGSEC_UNWRAP_CLOSED;
                    break;
                }
                if (l > MAX_MESSAGE)
                    return fail(s, MSGSEC_ERR_MESSAGE_TOO_LARGE,
                                "peer sent a message of %lu bytes; at most "
                                "%u are accepted",
                                (unsigned long)l, MAX_MESSAGE);
                if (s->pt.len - s->scan - MSG_HDR < l)
                    break;
                s->scan += MSG_HDR + l;
            }
        }
        if (flags & MSGSEC_UNWRAP_CLOSED) {
            s->peer_closed = 1;
            s->state = MSGSEC_STATE_CLOSED;
            *taken = len;
            break;
        }
    }
    return 0;
}

/*
 * Stream framing, nothing decoded waiting: decodes records from rin
 * straight into the application's buffer (cap at least max_record, as
 * unwrap() requires) until one yields plaintext, so that plaintext never
 * passes through pt and needs no copy or wipe there. Sets *got.
 */
static int decode_direct(msgsec_session *s, uint8_t *buf, size_t cap,
                         size_t *got)
{
    const msgsec_provider *d = &s->prov->d;
    *got = 0;
    while (s->rin.len > 0 && !s->peer_closed && *got == 0) {
        size_t used = 0, n = 0;
        unsigned flags = 0;
        s->pdetail = 0;
        int rc = d->unwrap(s->prov->pdata, s->pstate, bdata(&s->rin),
                           s->rin.len, &used, buf, cap, &n, &flags);
        if (used > s->rin.len || n > cap)
            return fail(s, MSGSEC_ERR_INTERNAL,
                        "provider %s: unwrap reported more bytes than it had",
                        prov_name(s));
        bconsume(&s->rin, used);
        if (rc == MSGSEC_CONTINUE) {
            if (used > 0)
                continue;
            break;
        }
        if (rc < 0)
            return prov_fail(s, rc, "received record");
        if (rc != 0 || (used == 0 && n == 0 && !(flags & MSGSEC_UNWRAP_CLOSED)))
            return fail(s, MSGSEC_ERR_INTERNAL,
                        "provider %s: unwrap made no progress", prov_name(s));
        *got = n;
        if (flags & MSGSEC_UNWRAP_CLOSED) {
            s->peer_closed = 1;
            s->state = MSGSEC_STATE_CLOSED;
            bconsume(&s->rin, s->rin.len);
        }
    }
    return 0;
}

/* decode_in() over the records waiting in rin. */
static int decode(msgsec_session *s)
{
    size_t taken = 0;
    int rc = decode_in(s, bdata(&s->rin), s->rin.len, &taken);
    bconsume(&s->rin, taken);
    return rc;
}

static int establish(msgsec_session *s)
{
    const msgsec_provider *d = &s->prov->d;
    size_t overhead = 0, max_record = 0;
    s->pdetail = 0;
    int rc = d->limits(s->prov->pdata, s->pstate, &overhead, &max_record);
    if (rc < 0)
        return prov_fail(s, rc, "limits");
    if (max_record == 0 || max_record > (16u << 20) || overhead > 65536)
        return fail(s, MSGSEC_ERR_INTERNAL,
                    "provider %s: limits out of range (record %zu, "
                    "overhead %zu)",
                    prov_name(s), max_record, overhead);
    s->overhead = overhead;
    s->max_record = max_record;
    /* Records that came with the handshake go first. */
    if ((rc = bmove(s, &s->rin, &s->hs)) < 0 ||
        (rc = bmove(s, &s->rin, &s->in)) < 0)
        return fail(s, rc, "no memory for received records");
    bfree(s, &s->hs);
    bfree(s, &s->in);
    s->state = MSGSEC_STATE_ESTABLISHED;
    if (d->caps & MSGSEC_CAP_INSECURE)
        msgsec_log(s->core, MSGSEC_LOG_WARNING,
                   "service %s: session established with INSECURE provider "
                   "%s: no authentication, no protection",
                   svc_name(s), prov_name(s));
    else
        msgsec_log(s->core, MSGSEC_LOG_DEBUG,
                   "service %s: session established with provider %s",
                   svc_name(s), prov_name(s));
    /* rin may be a handshake buffer now: once the first records are
     * decoded it is dropped, not kept for an idle session. */
    rc = decode(s);
    if (s->rin.len == 0)
        bfree(s, &s->rin);
    return rc;
}

/* ------------------------------------------------------- negotiation */

/* The negotiation key K, or NULL (insecure provider without export). */
static int confirm_values(msgsec_session *s, uint8_t ours[MSGSEC_NEG_MAC])
{
    const msgsec_provider *d = &s->prov->d;
    int peer_role = s->role == MSGSEC_ROLE_CLIENT ? MSGSEC_ROLE_SERVER
                                                  : MSGSEC_ROLE_CLIENT;
    if ((d->caps & MSGSEC_CAP_KEY_EXPORT) && d->export_key) {
        uint8_t key[32];
        s->pdetail = 0;
        int rc = d->export_key(s->prov->pdata, s->pstate,
                               MSGSEC_NEG_EXPORT_LABEL, NULL, 0, key,
                               sizeof(key));
        if (rc < 0) {
            OPENSSL_cleanse(key, sizeof(key));
            return prov_fail(s, rc, "key export for the negotiation confirmation");
        }
        rc = msgsec_neg_confirm(key, sizeof(key), s->th, s->role, ours);
        if (rc == 0)
            rc = msgsec_neg_confirm(key, sizeof(key), s->th, peer_role,
                                    s->peer_mac);
        OPENSSL_cleanse(key, sizeof(key));
        if (rc < 0)
            return fail(s, rc, "computing the negotiation confirmation failed");
        return 0;
    }
    if ((d->caps & MSGSEC_CAP_INSECURE) && s->svc->allow_insecure) {
        /* No key to bind to: the bare transcript hash, no protection. */
        msgsec_neg_confirm(NULL, 0, s->th, s->role, ours);
        msgsec_neg_confirm(NULL, 0, s->th, peer_role, s->peer_mac);
        return 0;
    }
    return fail(s, MSGSEC_ERR_INSECURE_REFUSED,
                "provider %s cannot export keys to confirm the negotiation",
                prov_name(s));
}

/* Our provider finished its handshake. */
static int on_done(msgsec_session *s)
{
    const msgsec_provider *d = &s->prov->d;
    s->prov_done = 1;
    memset(&s->peer, 0, sizeof(s->peer));
    s->pdetail = 0;
    int rc = d->result(s->prov->pdata, s->pstate, &s->peer);
    if (rc < 0)
        return prov_fail(s, rc, "result");
    if (!s->peer.scheme)
        s->peer.scheme = s->prov->name;
    if (!s->peer.caps)
        s->peer.caps = d->caps & ~(MSGSEC_CAP_CLIENT | MSGSEC_CAP_SERVER |
                                   MSGSEC_CAP_IMPLICIT);
    s->have_peer = 1;
    /* Handshake bytes the provider left are the peer's first records. */
    if ((rc = bmove(s, &s->rin, &s->hs)) < 0)
        return fail(s, rc, "no memory for received records");
    if (!s->explicit_mode)
        return establish(s);

    uint8_t mac[MSGSEC_NEG_MAC];
    MSGSEC_GUARD(confirm_values(s, mac));
    uint8_t f[MSGSEC_NEG_HDR + MSGSEC_NEG_MAC];
    msgsec_neg_build_header(f, MSGSEC_NEG_CONFIRM, MSGSEC_NEG_MAC);
    memcpy(f + MSGSEC_NEG_HDR, mac, MSGSEC_NEG_MAC);
    OPENSSL_cleanse(mac, sizeof(mac));
    rc = bappend(s, &s->out, f, sizeof(f));
    OPENSSL_cleanse(f, sizeof(f));
    if (rc < 0)
        return fail(s, rc, "no memory for the CONFIRM frame");
    s->confirm_sent = 1;
    return 0;
}

/*
 * Runs the provider's step() over the handshake buffer. resume: first call
 * step(NULL, 0) (after a look-up or a client's start()). Returns 0,
 * MSGSEC_PENDING or an error (session failed).
 */
static int run_step(msgsec_session *s, int resume)
{
    const msgsec_provider *d = &s->prov->d;
    for (int first = 1; !s->prov_done; first = 0) {
        const uint8_t *in = NULL;
        size_t len = 0;
        if (!(resume && first)) {
            if (s->hs.len == 0)
                return 0;
            in = bdata(&s->hs);
            len = s->hs.len;
        }
        size_t used = 0;
        s->pdetail = 0;
        int rc = d->step(s->prov->pdata, s->pstate, in, len, &used);
        if (used > len)
            return fail(s, MSGSEC_ERR_INTERNAL,
                        "provider %s: step consumed more bytes than it had",
                        prov_name(s));
        bconsume(&s->hs, used);
        if (rc < 0)
            return prov_fail(s, rc, "handshake");
        switch (rc) {
        case MSGSEC_OK:
            return on_done(s);
        case MSGSEC_PENDING:
            s->state = MSGSEC_STATE_PENDING;
            return MSGSEC_PENDING;
        case MSGSEC_CONTINUE:
            /* Offer the rest only when the provider moved on. */
            if (s->hs.len > 0 && (used > 0 || (resume && first)))
                continue;
            if (s->hs.len > HS_MAX)
                return fail(s, MSGSEC_ERR_BAD_FRAME,
                            "provider %s: %zu handshake bytes unconsumed",
                            prov_name(s), s->hs.len);
            return 0;
        default:
            return fail(s, MSGSEC_ERR_INTERNAL,
                        "provider %s: step returned %d", prov_name(s), rc);
        }
    }
    return 0;
}

/* Allocates the provider's state and runs start() (and a client's first
 * step(NULL, 0)). */
static int start_provider(msgsec_session *s, struct msgsec_pctx *p)
{
    s->prov = p;
    s->pstate_size = p->d.state_size ? p->d.state_size : 1;
    s->pstate = msgsec_mem_alloc(&s->core->mem, s->pstate_size);
    if (!s->pstate) {
        s->pstate_size = 0;
        return fail(s, MSGSEC_ERR_NOMEM, "no memory for provider %s state",
                    p->name);
    }
    s->phase = PH_HANDSHAKE;
    s->pdetail = 0;
    int rc = p->d.start(p->pdata, s->pstate, to_ps(s));
    if (rc < 0)
        return prov_fail(s, rc, "start");
    s->started = 1;
    if (s->role == MSGSEC_ROLE_CLIENT)
        return run_step(s, 1);
    return 0;
}

/* A client's provider list for OFFER, in policy order. */
static int build_offer(msgsec_session *s)
{
    const msgsec_core *core = s->core;
    const char *names[MSGSEC_NEG_MAX_OFFER];
    size_t n = 0;
    char why[MSGSEC_DETAIL_MAX], reasons[MSGSEC_DETAIL_MAX] = "";
    for (size_t i = 0; i < s->svc->ncand; i++) {
        size_t idx = s->svc->cand[i];
        const char *name = core->provs[idx].name;
        if (msgsec_core_candidate_ok(core, s->svc, idx, MSGSEC_ROLE_CLIENT,
                                     why, sizeof(why)) != 0) {
            msgsec_detail_append(reasons, sizeof(reasons), "%s%s: %s",
                                 reasons[0] ? "; " : "", name, why);
            continue;
        }
        if (n < MSGSEC_NEG_MAX_OFFER && msgsec_neg_name_ok(name, strlen(name)))
            names[n++] = name;
    }
    if (n == 0)
        return fail(s, MSGSEC_ERR_NO_COMMON_PROVIDER,
                    "service %s: no provider can act as a client: %s",
                    svc_name(s), reasons);
    uint8_t nonce[MSGSEC_NEG_NONCE];
    uint8_t f[MSGSEC_NEG_MAX_OFFER_FRAME];
    size_t flen = 0;
    int rc = core->up.random((msgsec_pctx *)&core->provs[s->svc->cand[0]],
                             nonce, sizeof(nonce));
    if (rc < 0)
        return fail(s, rc, "no randomness for the OFFER nonce");
    rc = msgsec_neg_build_offer(f, sizeof(f), nonce, names, n, &flen);
    if (rc < 0)
        return fail(s, MSGSEC_ERR_INTERNAL, "building OFFER failed");
    s->offer = msgsec_mem_alloc(&core->mem, flen);
    if (!s->offer)
        return fail(s, MSGSEC_ERR_NOMEM, "no memory for OFFER");
    memcpy(s->offer, f, flen);
    s->offer_len = flen;
    if ((rc = bappend(s, &s->out, f, flen)) < 0)
        return fail(s, rc, "no memory for OFFER");
    s->phase = PH_SELECT;
    return 0;
}

/* Replaces newlines of a multi-line explanation for a one-line detail. */
static void one_line(char *t)
{
    size_t n = strlen(t);
    while (n > 0 && t[n - 1] == '\n')
        t[--n] = '\0';
    for (char *p = t; *p; p++)
        if (*p == '\n')
            *p = ';';
}

static int on_offer(msgsec_session *s, const msgsec_neg_frame *f)
{
    msgsec_core *core = s->core;
    msgsec_neg_offer o;
    char why[256];
    if (msgsec_neg_parse_offer(f->body, f->len, &o, why, sizeof(why)) < 0)
        return fail(s, MSGSEC_ERR_BAD_FRAME, "negotiation: %s", why);
    const char *names[MSGSEC_NEG_MAX_OFFER];
    for (size_t i = 0; i < o.n; i++)
        names[i] = o.names[i];
    char explain[MSGSEC_DETAIL_MAX];
    int idx = msgsec_core_select(core, s->svc, names, o.n, explain,
                                 sizeof(explain));
    if (idx < 0) {
        one_line(explain);
        s->no_error_frame = 1;
        queue_error_frame(s, idx, "no common provider");
        return fail(s, idx, "no common provider with the client: %s",
                    explain);
    }
    struct msgsec_pctx *p = &core->provs[idx];
    uint8_t nonce[MSGSEC_NEG_NONCE], sel[MSGSEC_NEG_MAX_SELECT_FRAME];
    size_t slen = 0;
    int rc = core->up.random(p, nonce, sizeof(nonce));
    if (rc < 0)
        return fail(s, rc, "no randomness for the SELECT nonce");
    if (msgsec_neg_build_select(sel, sizeof(sel), nonce, p->name, &slen) < 0)
        return fail(s, MSGSEC_ERR_INTERNAL, "building SELECT failed");
    if ((rc = msgsec_neg_transcript(bdata(&s->in), f->total, sel, slen,
                                    s->th)) < 0)
        return fail(s, rc, "transcript hash failed");
    if ((rc = bappend(s, &s->out, sel, slen)) < 0)
        return fail(s, rc, "no memory for SELECT");
    return start_provider(s, p);
}

static int on_select(msgsec_session *s, const msgsec_neg_frame *f)
{
    msgsec_core *core = s->core;
    uint8_t nonce[MSGSEC_NEG_NONCE];
    char name[MSGSEC_NEG_MAX_NAME + 1], why[256];
    if (msgsec_neg_parse_select(f->body, f->len, nonce, name, why,
                                sizeof(why)) < 0)
        return fail(s, MSGSEC_ERR_BAD_FRAME, "negotiation: %s", why);
    /* The choice must be one we offered, i.e. acceptable to us. */
    int idx = msgsec_core_find_provider(core, name);
    int offered = 0;
    for (size_t i = 0; idx >= 0 && i < s->svc->ncand; i++)
        if (s->svc->cand[i] == (size_t)idx &&
            msgsec_core_candidate_ok(core, s->svc, (size_t)idx,
                                     MSGSEC_ROLE_CLIENT, why,
                                     sizeof(why)) == 0)
            offered = 1;
    if (!offered)
        return fail(s, MSGSEC_ERR_BAD_FRAME,
                    "negotiation: the server selected %s, which was not "
                    "offered",
                    name);
    int rc = msgsec_neg_transcript(s->offer, s->offer_len, bdata(&s->in),
                                   f->total, s->th);
    msgsec_mem_free(&core->mem, s->offer, s->offer_len);
    s->offer = NULL;
    s->offer_len = 0;
    if (rc < 0)
        return fail(s, rc, "transcript hash failed");
    return start_provider(s, &core->provs[idx]);
}

static int on_peer_error(msgsec_session *s, const msgsec_neg_frame *f)
{
    int code = 0;
    char reason[MSGSEC_NEG_MAX_REASON + 1], why[256];
    s->no_error_frame = 1;
    if (msgsec_neg_parse_error(f->body, f->len, &code, reason, why,
                               sizeof(why)) < 0)
        return fail(s, MSGSEC_ERR_BAD_FRAME, "negotiation: %s", why);
    return fail(s, MSGSEC_ERR_PEER_REJECTED,
                "the peer rejected the session: %s (%s)",
                msgsec_error_name(code), reason);
}

static int on_confirm(msgsec_session *s, const msgsec_neg_frame *f)
{
    uint8_t mac[MSGSEC_NEG_MAC];
    char why[256];
    if (msgsec_neg_parse_confirm(f->body, f->len, mac, why, sizeof(why)) < 0)
        return fail(s, MSGSEC_ERR_BAD_FRAME, "negotiation: %s", why);
    int same = CRYPTO_memcmp(mac, s->peer_mac, MSGSEC_NEG_MAC) == 0;
    OPENSSL_cleanse(mac, sizeof(mac));
    if (!same)
        return fail(s, MSGSEC_ERR_DOWNGRADE,
                    "negotiation: the peer's CONFIRM does not match: the "
                    "offer or the selection was altered in transit "
                    "(provider %s)",
                    prov_name(s));
    return 0;
}

/* Explicit mode: handles frames from `in` while handshaking. */
static int explicit_frames(msgsec_session *s)
{
    char why[256];
    while (s->state == MSGSEC_STATE_HANDSHAKING && s->in.len > 0) {
        msgsec_neg_frame f;
        int rc = msgsec_neg_parse(bdata(&s->in), s->in.len, &f, why,
                                  sizeof(why));
        if (rc == MSGSEC_CONTINUE)
            return 0;
        if (rc < 0)
            return fail(s, MSGSEC_ERR_BAD_FRAME, "negotiation: %s", why);
        if (f.type == MSGSEC_NEG_ERROR)
            return on_peer_error(s, &f);
        int expect = s->phase == PH_OFFER    ? MSGSEC_NEG_OFFER
                     : s->phase == PH_SELECT ? MSGSEC_NEG_SELECT
                                             : -1;
        if (expect > 0 && f.type != expect)
            return fail(s, MSGSEC_ERR_BAD_FRAME,
                        "negotiation: frame type %d where %s was due", f.type,
                        expect == MSGSEC_NEG_OFFER ? "OFFER" : "SELECT");
        if (expect < 0 &&
            (f.type == MSGSEC_NEG_OFFER || f.type == MSGSEC_NEG_SELECT))
            return fail(s, MSGSEC_ERR_BAD_FRAME,
                        "negotiation: a second %s",
                        f.type == MSGSEC_NEG_OFFER ? "OFFER" : "SELECT");
        switch (f.type) {
        case MSGSEC_NEG_OFFER:
            rc = on_offer(s, &f);
            break;
        case MSGSEC_NEG_SELECT:
            rc = on_select(s, &f);
            break;
        case MSGSEC_NEG_TOKEN:
            if (f.len == 0)
                return fail(s, MSGSEC_ERR_BAD_FRAME,
                            "negotiation: empty TOKEN frame");
            /* After our provider is done, they are early records. */
            rc = bappend(s, s->prov_done ? &s->rin : &s->hs, f.body, f.len);
            if (rc < 0)
                return fail(s, rc, "no memory for handshake input");
            bconsume(&s->in, f.total);
            if (!s->prov_done && (rc = run_step(s, 0)) < 0)
                return rc;
            continue;
        case MSGSEC_NEG_CONFIRM:
            if (!s->prov_done)
                return fail(s, MSGSEC_ERR_BAD_FRAME,
                            "negotiation: CONFIRM before provider %s "
                            "finished its handshake",
                            prov_name(s));
            if ((rc = on_confirm(s, &f)) < 0)
                return rc;
            bconsume(&s->in, f.total);
            /* From here on the peer sends records only. */
            return establish(s);
        default:
            return fail(s, MSGSEC_ERR_BAD_FRAME,
                        "negotiation: frame type %d out of place", f.type);
        }
        if (rc < 0)
            return rc;
        bconsume(&s->in, f.total);
    }
    return 0;
}

/* Implicit server: ask the candidates, in policy order, to claim. */
static int implicit_claim(msgsec_session *s)
{
    msgsec_core *core = s->core;
    char why[MSGSEC_DETAIL_MAX], reasons[MSGSEC_DETAIL_MAX] = "";
    if (s->in.len == 0)
        return 0;
    for (size_t i = 0; i < s->svc->ncand; i++) {
        size_t idx = s->svc->cand[i];
        struct msgsec_pctx *p = &core->provs[idx];
        if (msgsec_core_candidate_ok(core, s->svc, idx, MSGSEC_ROLE_SERVER,
                                     why, sizeof(why)) != 0) {
            msgsec_detail_append(reasons, sizeof(reasons), "%s%s: %s",
                                 reasons[0] ? "; " : "", p->name, why);
            continue;
        }
        if (!p->d.claim) {
            msgsec_detail_append(reasons, sizeof(reasons),
                                 "%s%s: has no claim function",
                                 reasons[0] ? "; " : "", p->name);
            continue;
        }
        int rc = p->d.claim(p->pdata, bdata(&s->in), s->in.len);
        if (rc == MSGSEC_CLAIM_MINE)
            return start_provider(s, p);
        if (rc == MSGSEC_CLAIM_MORE) {
            /* The earlier provider in policy order decides first. */
            if (s->in.len > CLAIM_MAX)
                return fail(s, MSGSEC_ERR_BAD_FRAME,
                            "first token of %zu bytes still unclaimed "
                            "(provider %s wants more)",
                            s->in.len, p->name);
            return 0;
        }
        if (rc < 0)
            msgsec_detail_append(reasons, sizeof(reasons), "%s%s: %s",
                                 reasons[0] ? "; " : "", p->name,
                                 msgsec_error_name(rc));
        else if (rc != MSGSEC_CLAIM_NOT_MINE)
            msgsec_detail_append(reasons, sizeof(reasons),
                                 "%s%s: claim returned %d", reasons[0] ? "; " : "",
                                 p->name, rc);
        else
            msgsec_detail_append(reasons, sizeof(reasons), "%s%s: not its token",
                                 reasons[0] ? "; " : "", p->name);
    }
    return fail(s, MSGSEC_ERR_UNCLAIMED,
                "service %s: no provider claimed the first token: %s",
                svc_name(s), reasons);
}

/* Advances a HANDSHAKING session over its buffered input. Returns 0,
 * MSGSEC_PENDING or an error. */
static int advance(msgsec_session *s)
{
    int rc = 0;
    if (s->state != MSGSEC_STATE_HANDSHAKING)
        goto out;
    if (s->explicit_mode) {
        rc = explicit_frames(s);
    } else {
        if (s->phase == PH_CLAIM) {
            if ((rc = implicit_claim(s)) < 0 || s->phase == PH_CLAIM ||
                s->state != MSGSEC_STATE_HANDSHAKING)
                goto out;
        }
        if ((rc = bmove(s, &s->hs, &s->in)) < 0)
            return fail(s, rc, "no memory for handshake input");
        rc = run_step(s, 0);
    }
out:
    if (rc < 0)
        return rc;
    switch (s->state) {
    case MSGSEC_STATE_PENDING:
        return MSGSEC_PENDING;
    case MSGSEC_STATE_FAILED:
        return s->fail_code;
    case MSGSEC_STATE_ESTABLISHED:
        return decode(s);
    default:
        return 0;
    }
}

/* -------------------------------------------------------------- API */

MSGSEC_EXPORT int msgsec_session_new(msgsec_core *core, const char *service,
                                     int role, const msgsec_session_config *cfg,
                                     msgsec_session **out)
{
    if (!out)
        return MSGSEC_ERR_INVALID_ARG;
    *out = NULL;
    if (!core || !service ||
        (role != MSGSEC_ROLE_CLIENT && role != MSGSEC_ROLE_SERVER))
        return MSGSEC_ERR_INVALID_ARG;
    /* Read only the fields inside the size the caller compiled. */
    msgsec_session_config c;
    memset(&c, 0, sizeof(c));
    if (cfg) {
        if (cfg->size < offsetof(msgsec_session_config, framing) +
                            sizeof(cfg->framing))
            return MSGSEC_ERR_INVALID_ARG;
        memcpy(&c, cfg, cfg->size < sizeof(c) ? cfg->size : sizeof(c));
    }
    if (c.framing != MSGSEC_FRAMING_DEFAULT &&
        c.framing != MSGSEC_FRAMING_MESSAGE &&
        c.framing != MSGSEC_FRAMING_STREAM)
        return MSGSEC_ERR_INVALID_ARG;
    int st = msgsec_core_status(core);
    if (st != 0) {
        core_detail(core, "%s", core->detail);
        return st;
    }
    const msgsec_csvc *svc = msgsec_core_find_service(core, service);
    if (!svc) {
        core_detail(core, "%s: no [service.%s] in the policy",
                    core->policy->file, service);
        return MSGSEC_ERR_POLICY_UNKNOWN_SERVICE;
    }

    msgsec_session *s = msgsec_mem_alloc(&core->mem, sizeof(*s));
    if (!s)
        return MSGSEC_ERR_NOMEM;
    s->w.kind = MSGSEC_WAITER_SESSION;
    s->w.core = core;
    s->core = core;
    s->svc = svc;
    s->role = role;
    s->framing = c.framing ? c.framing : svc->framing;
    s->explicit_mode = svc->pol->negotiation == MSGSEC_NEG_EXPLICIT;
    s->state = MSGSEC_STATE_HANDSHAKING;
    s->user_data = c.user_data;
    if ((c.peer_name && !(s->peer_name = msgsec_mem_strdup(&core->mem,
                                                           c.peer_name))) ||
        (c.identity && !(s->identity = msgsec_mem_strdup(&core->mem,
                                                         c.identity)))) {
        msgsec_session_free(s);
        return MSGSEC_ERR_NOMEM;
    }

    int rc = 0;
    if (role == MSGSEC_ROLE_SERVER) {
        s->phase = s->explicit_mode ? PH_OFFER : PH_CLAIM;
    } else if (s->explicit_mode) {
        rc = build_offer(s);
    } else {
        /* Implicit: the first acceptable provider speaks raw at once. */
        char why[MSGSEC_DETAIL_MAX], reasons[MSGSEC_DETAIL_MAX] = "";
        struct msgsec_pctx *p = NULL;
        for (size_t i = 0; i < svc->ncand && !p; i++) {
            size_t idx = svc->cand[i];
            if (msgsec_core_candidate_ok(core, svc, idx, MSGSEC_ROLE_CLIENT,
                                         why, sizeof(why)) == 0)
                p = &core->provs[idx];
            else
                msgsec_detail_append(reasons, sizeof(reasons), "%s%s: %s",
                                     reasons[0] ? "; " : "",
                                     core->provs[idx].name, why);
        }
        if (!p)
            rc = fail(s, MSGSEC_ERR_NO_COMMON_PROVIDER,
                      "service %s: no provider can act as a client: %s",
                      service, reasons);
        else
            rc = start_provider(s, p);
        if (rc == 0 && s->state == MSGSEC_STATE_ESTABLISHED)
            rc = decode(s);
    }
    if (rc < 0) {
        core_detail(core, "%s", msgsec_session_detail(s));
        msgsec_session_free(s);
        return rc;
    }
    *out = s;
    return 0;
}

MSGSEC_EXPORT void msgsec_session_free(msgsec_session *s)
{
    if (!s)
        return;
    msgsec_core *core = s->core;
    /* end() cancels look-ups: no wake can follow it. */
    if (s->started && s->prov->d.end)
        s->prov->d.end(s->prov->pdata, s->pstate);
    msgsec_waiter_forget(core, &s->w);
    msgsec_mem_free(&core->mem, s->pstate, s->pstate_size);
    bfree(s, &s->out);
    bfree(s, &s->in);
    bfree(s, &s->hs);
    bfree(s, &s->rin);
    bfree(s, &s->pt);
    msgsec_mem_free(&core->mem, s->scratch, s->scratch_cap);
    msgsec_mem_free(&core->mem, s->offer, s->offer_len);
    msgsec_mem_strfree(&core->mem, s->peer_name);
    msgsec_mem_strfree(&core->mem, s->identity);
    msgsec_mem_free(&core->mem, s->detail, s->detail ? MSGSEC_DETAIL_MAX : 0);
    msgsec_mem_free(&core->mem, s, sizeof(*s));
}

MSGSEC_EXPORT int msgsec_session_feed(msgsec_session *s, const void *data,
                                      size_t len)
{
    if (!s || (!data && len))
        return MSGSEC_ERR_INVALID_ARG;
    int rc;
    switch (s->state) {
    case MSGSEC_STATE_FAILED:
        return MSGSEC_ERR_STATE;
    case MSGSEC_STATE_CLOSED:
        /* After our close, still read the peer's last records. */
        if (s->peer_closed || !s->max_record)
            return MSGSEC_ERR_CLOSED;
        /* fall through */
    case MSGSEC_STATE_ESTABLISHED:
        if (s->rin.len == 0) {
            /* Nothing held back: decode from the caller's bytes and keep
             * only where decoding stopped (a partial record, or more
             * plaintext than recv() has taken yet). */
            size_t taken = 0;
            /* Stream framing with nothing decoded waiting, a large input
             * (a full record or more): its last byte is kept back, so the
             * provider holds the last record incomplete and recv()
             * decodes it straight into the application's buffer. Small
             * inputs (close and control records, short messages) are
             * decoded here. */
            size_t hold = s->framing == MSGSEC_FRAMING_STREAM &&
                                  s->pt.len == 0 && len > s->max_record
                              ? 1
                              : 0;
            if ((rc = decode_in(s, data, len - hold, &taken)) < 0)
                return rc;
            if (s->peer_closed)
                taken = len;
            if ((rc = bappend(s, &s->rin, (const uint8_t *)data + taken,
                              len - taken)) < 0)
                return fail(s, rc, "no memory for received records");
            return 0;
        }
        if ((rc = bappend(s, &s->rin, data, len)) < 0)
            return fail(s, rc, "no memory for received records");
        return decode(s);
    default:
        break;
    }
    if (len > IN_MAX - s->in.len)
        return fail(s, MSGSEC_ERR_BAD_FRAME,
                    "more than %u bytes received before the handshake "
                    "completed",
                    IN_MAX);
    if ((rc = bappend(s, &s->in, data, len)) < 0)
        return fail(s, rc, "no memory for received bytes");
    if (s->state == MSGSEC_STATE_PENDING)
        return MSGSEC_PENDING;
    return advance(s);
}

MSGSEC_EXPORT size_t msgsec_session_pending_output(const msgsec_session *s)
{
    return s ? s->out.len : 0;
}

MSGSEC_EXPORT size_t msgsec_session_pull(msgsec_session *s, void *buf,
                                         size_t cap)
{
    if (!s || !buf)
        return 0;
    size_t n = s->out.len < cap ? s->out.len : cap;
    if (n == 0)
        return 0;
    memcpy(buf, bdata(&s->out), n);
    bconsume(&s->out, n);
    return n;
}

MSGSEC_EXPORT int msgsec_session_framing(const msgsec_session *s)
{
    return s ? s->framing : MSGSEC_ERR_INVALID_ARG;
}

MSGSEC_EXPORT int msgsec_session_state(const msgsec_session *s)
{
    return s ? s->state : MSGSEC_ERR_INVALID_ARG;
}

/* Wraps one record of plaintext into out. */
static int wrap_one(msgsec_session *s, const uint8_t *p, size_t n)
{
    const msgsec_provider *d = &s->prov->d;
    size_t avail = s->out.cap - s->out.off - s->out.len, w = 0;
    s->pdetail = 0;
    int rc = d->wrap(s->prov->pdata, s->pstate, p, n,
                     bdata(&s->out) + s->out.len, avail, &w);
    if (rc < 0)
        return prov_fail(s, rc, "protecting a message");
    if (w > avail)
        return fail(s, MSGSEC_ERR_INTERNAL,
                    "provider %s: wrap wrote past its buffer", prov_name(s));
    s->out.len += w;
    return 0;
}

/*
 * Protects hdr (0 or 4 bytes) followed by msg, split into the fewest
 * records. The message goes out straight from msg, its remainder
 * (len % max_record bytes) first and then whole records; only that
 * remainder shares the header's record (copied into scratch), or, when
 * it does not fit beside the header, the header has a record of its own.
 * So a large message is never copied, and a 16 KiB one is a 4-byte and a
 * full record.
 */
static int wrap_stream(msgsec_session *s, const uint8_t *hdr, size_t hlen,
                       const uint8_t *msg, size_t len)
{
    size_t mr = s->max_record, total = hlen + len;
    size_t nrec = (total + mr - 1) / mr;
    int rc = breserve(s, &s->out, total + nrec * s->overhead);
    if (rc < 0)
        return rc; /* nothing queued: the session stays usable */
    size_t pos = 0;
    if (hlen > 0) {
        size_t head = len % mr;
        if (hlen + head > mr)
            head = 0;
        if (head == 0) {
            rc = wrap_one(s, hdr, hlen);
        } else {
            /* The scratch grows to the largest such record seen, so
             * sessions of small messages keep a small one. */
            size_t chunk = hlen + head;
            if (chunk > s->scratch_cap) {
                size_t cap = s->scratch_cap ? s->scratch_cap * 2 : 256;
                while (cap < chunk)
                    cap *= 2;
                if (cap > mr)
                    cap = mr;
                uint8_t *p = msgsec_mem_alloc(&s->core->mem, cap);
                if (!p)
                    return MSGSEC_ERR_NOMEM; /* nothing queued either */
                msgsec_mem_free(&s->core->mem, s->scratch, s->scratch_cap);
                s->scratch = p;
                s->scratch_cap = cap;
            }
            memcpy(s->scratch, hdr, hlen);
            memcpy(s->scratch + hlen, msg, head);
            rc = wrap_one(s, s->scratch, chunk);
            wipe_plaintext(s->scratch, chunk);
        }
        if (rc < 0)
            return rc;
        pos = head;
    }
    while (pos < len) {
        size_t chunk = (len - pos) % mr ? (len - pos) % mr : mr;
        if ((rc = wrap_one(s, msg + pos, chunk)) < 0)
            return rc;
        pos += chunk;
    }
    return 0;
}

MSGSEC_EXPORT int msgsec_session_send(msgsec_session *s, const void *msg,
                                      size_t len)
{
    if (!s || (!msg && len))
        return MSGSEC_ERR_INVALID_ARG;
    if (s->state == MSGSEC_STATE_CLOSED)
        return MSGSEC_ERR_CLOSED;
    if (s->state != MSGSEC_STATE_ESTABLISHED)
        return MSGSEC_ERR_STATE;
    if (len > MAX_MESSAGE) {
        set_detail(s, "message of %zu bytes; at most %u may be sent", len,
                   MAX_MESSAGE);
        return MSGSEC_ERR_MESSAGE_TOO_LARGE;
    }
    if (s->framing == MSGSEC_FRAMING_STREAM)
        return len ? wrap_stream(s, NULL, 0, msg, len) : 0;
    uint8_t hdr[MSG_HDR];
    put_be32(hdr, (uint32_t)len);
    return wrap_stream(s, hdr, sizeof(hdr), msg, len);
}

MSGSEC_EXPORT int msgsec_session_recv(msgsec_session *s, void *buf, size_t cap,
                                      size_t *len)
{
    if (!s || !len || (!buf && cap))
        return MSGSEC_ERR_INVALID_ARG;
    *len = 0;
    if (s->state == MSGSEC_STATE_FAILED)
        return MSGSEC_ERR_STATE;
    if (s->state == MSGSEC_STATE_HANDSHAKING ||
        s->state == MSGSEC_STATE_PENDING)
        return MSGSEC_CONTINUE;
    if (s->framing == MSGSEC_FRAMING_STREAM && s->pt.len == 0 &&
        s->rin.len > 0 && cap >= s->max_record) {
        int rc = decode_direct(s, buf, cap, len);
        if (rc < 0)
            return rc;
        if (*len > 0)
            return 0;
    }
    if (s->rin.len > 0) {
        int rc = decode(s);
        if (rc < 0)
            return rc;
    }
    uint8_t *p = bdata(&s->pt);
    if (s->framing == MSGSEC_FRAMING_STREAM) {
        if (s->pt.len > 0) {
            size_t n = s->pt.len < cap ? s->pt.len : cap;
            if (n == 0) {
                *len = s->pt.len;
                return MSGSEC_ERR_BUFFER_TOO_SMALL;
            }
            memcpy(buf, p, n);
            wipe_plaintext(p, n);
            bconsume(&s->pt, n);
            *len = n;
            return 0;
        }
    } else if (s->scan >= MSG_HDR) {
        /* scan is past at least one whole, checked message. */
        uint32_t l = get_be32(p);
        if (cap < l) {
            *len = l;
            return MSGSEC_ERR_BUFFER_TOO_SMALL;
        }
        if (l)
            memcpy(buf, p + MSG_HDR, l);
        wipe_plaintext(p, MSG_HDR + (size_t)l);
        bconsume(&s->pt, MSG_HDR + (size_t)l);
        s->scan -= MSG_HDR + (size_t)l;
        *len = l;
        return 0;
    }
    return s->state == MSGSEC_STATE_CLOSED ? MSGSEC_ERR_CLOSED
                                           : MSGSEC_CONTINUE;
}

MSGSEC_EXPORT int msgsec_session_close(msgsec_session *s)
{
    if (!s)
        return MSGSEC_ERR_INVALID_ARG;
    switch (s->state) {
    case MSGSEC_STATE_FAILED:
        return MSGSEC_ERR_STATE;
    case MSGSEC_STATE_CLOSED:
        if (s->local_closed || !s->max_record)
            return 0;
        break; /* the peer closed first: answer with our close */
    case MSGSEC_STATE_ESTABLISHED:
        break;
    default:
        /* Give up the handshake; tell an explicit peer. */
        if (s->explicit_mode && !s->confirm_sent)
            queue_error_frame(s, MSGSEC_ERR_CLOSED, "closed by the application");
        s->local_closed = 1;
        s->state = MSGSEC_STATE_CLOSED;
        return 0;
    }
    const msgsec_provider *d = &s->prov->d;
    int rc;
    s->pdetail = 0;
    if (d->close) {
        rc = d->close(s->prov->pdata, s->pstate);
        if (rc < 0)
            return prov_fail(s, rc, "close");
    } else if (s->framing == MSGSEC_FRAMING_MESSAGE) {
        uint8_t mark[MSG_HDR];
        put_be32(mark, CLOSE_MARK);
        if ((rc = wrap_stream(s, mark, sizeof(mark), NULL, 0)) < 0)
            return rc;
    }
    s->local_closed = 1;
    s->state = MSGSEC_STATE_CLOSED;
    return 0;
}

MSGSEC_EXPORT int msgsec_session_peer(const msgsec_session *s,
                                      msgsec_peer *peer)
{
    if (!s || !peer)
        return MSGSEC_ERR_INVALID_ARG;
    if (!s->have_peer || (s->state != MSGSEC_STATE_ESTABLISHED &&
                          s->state != MSGSEC_STATE_CLOSED))
        return MSGSEC_ERR_STATE;
    *peer = s->peer;
    return 0;
}

msgsec_core *msgsec_session_core(const msgsec_session *s)
{
    return s->core;
}

const char *msgsec_session_service(const msgsec_session *s)
{
    return svc_name(s);
}

MSGSEC_EXPORT const char *msgsec_session_provider(const msgsec_session *s)
{
    return s && s->prov ? s->prov->name : NULL;
}

MSGSEC_EXPORT const char *msgsec_session_detail(const msgsec_session *s)
{
    return s && s->detail ? s->detail : "";
}

MSGSEC_EXPORT void *msgsec_session_user_data(const msgsec_session *s)
{
    return s ? s->user_data : NULL;
}

MSGSEC_EXPORT int msgsec_session_export_key(msgsec_session *s,
                                            const char *label,
                                            const void *context,
                                            size_t context_len, void *out,
                                            size_t out_len)
{
    if (!s || !label || !out || out_len == 0 || (!context && context_len))
        return MSGSEC_ERR_INVALID_ARG;
    /* The core's own labels stay the core's. */
    if (strncmp(label, "EXPORTER-msgsec-", 16) == 0)
        return MSGSEC_ERR_INVALID_ARG;
    if (s->state != MSGSEC_STATE_ESTABLISHED)
        return MSGSEC_ERR_STATE;
    const msgsec_provider *d = &s->prov->d;
    if (!(d->caps & MSGSEC_CAP_KEY_EXPORT) || !d->export_key)
        return MSGSEC_ERR_UNSUPPORTED;
    s->pdetail = 0;
    int rc = d->export_key(s->prov->pdata, s->pstate, label, context,
                           context_len, out, out_len);
    if (rc < 0) {
        OPENSSL_cleanse(out, out_len);
        if (!s->pdetail)
            set_detail(s, "provider %s: key export: %s", prov_name(s),
                       msgsec_strerror(rc));
    }
    return rc;
}

/* ------------------------------------------------------ pending look-ups */

MSGSEC_EXPORT int msgsec_core_fd(const msgsec_core *core)
{
    return core ? core->wake_fd : MSGSEC_ERR_INVALID_ARG;
}

MSGSEC_EXPORT int msgsec_core_dispatch(msgsec_core *core, msgsec_ready_cb cb,
                                       void *user_data)
{
    if (!core)
        return MSGSEC_ERR_INVALID_ARG;
    uint64_t v;
    /* Drain first: a wake after this read signals the descriptor again. */
    ssize_t r = read(core->wake_fd, &v, sizeof(v));
    (void)r;
    pthread_mutex_lock(&core->wake_mu);
    size_t n = 0;
    for (msgsec_waiter *x = core->wake_head; x; x = x->wake_next)
        n++;
    pthread_mutex_unlock(&core->wake_mu);
    /* One at a time from the shared list, so that a callback may free or
     * resume any session or look-up safely; those woken meanwhile wait for
     * the next round. */
    int count = 0;
    for (size_t i = 0; i < n; i++) {
        pthread_mutex_lock(&core->wake_mu);
        msgsec_waiter *w = core->wake_head;
        if (w) {
            core->wake_head = w->wake_next;
            w->wake_next = NULL;
            w->linked = 0;
        }
        pthread_mutex_unlock(&core->wake_mu);
        if (!w)
            break;
        count++;
        if (w->kind != MSGSEC_WAITER_SESSION) {
            msgsec_pcall_dispatched(w);
            continue;
        }
        msgsec_session *s = (msgsec_session *)w;
        if (cb)
            cb(user_data, s);
        else if (s->state == MSGSEC_STATE_PENDING)
            msgsec_session_resume(s);
    }
    return count;
}

MSGSEC_EXPORT int msgsec_session_resume(msgsec_session *s)
{
    if (!s)
        return MSGSEC_ERR_INVALID_ARG;
    if (s->state != MSGSEC_STATE_PENDING)
        return s->state == MSGSEC_STATE_FAILED ? s->fail_code
                                                : MSGSEC_ERR_STATE;
    if (!msgsec_waiter_take(s->core, &s->w))
        return MSGSEC_PENDING;
    s->state = MSGSEC_STATE_HANDSHAKING;
    int rc = run_step(s, 1);
    if (rc < 0)
        return rc;
    if (s->state == MSGSEC_STATE_PENDING)
        return MSGSEC_PENDING;
    /* Then whatever arrived meanwhile. */
    return advance(s);
}

MSGSEC_EXPORT int msgsec_session_wait(msgsec_session *s, int timeout_ms)
{
    if (!s)
        return MSGSEC_ERR_INVALID_ARG;
    if (s->state != MSGSEC_STATE_PENDING)
        return MSGSEC_ERR_STATE;
    if (msgsec_waiter_wait(s->core, &s->w, timeout_ms) < 0) {
        set_detail(s, "provider %s: look-up still pending after %d ms",
                   prov_name(s), timeout_ms);
        return MSGSEC_ERR_TIMEOUT;
    }
    return msgsec_session_resume(s);
}
