/*
 * server.c - msgin5g-server: an MSGin5G Server embedding libmsgsec through
 * its integrator API only (doc/msgin5g.md).
 *
 * One thread and one epoll set hold the listening socket, every
 * connection, a signalfd (SIGTERM, SIGINT, SIGHUP) and the descriptor of
 * each live core: a session waiting for a key look-up, or a registration
 * waiting for its SEAL authorization, never blocks the others.
 *
 * Cores are reference counted: SIGHUP builds a new one from the policy for
 * new connections; a connection keeps the core it started with, and an old
 * core is freed at the end of the loop round in which its last connection
 * ended (never inside its own dispatch).
 *
 * A connection is ACTIVE, then FINISHING (its last bytes, a close or an
 * alert, are written out), then DRAINING (our side shut down, the peer's
 * late bytes read and dropped so that closing does not reset the
 * connection), at most LINGER_MS for both.
 *
 * Registrations live in a hash table keyed by ueServiceId: a UE whose
 * connection ended without DEREG stays registered (offline) and gets its
 * stored messages when it registers again.
 */
#include <errno.h>
#include <getopt.h>
#include <inttypes.h>
#include <limits.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/resource.h>
#include <sys/signalfd.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include <msgsec/msgsec.h>

#include "cmdline.h"
#include "msg.h"
#include "netio.h"

#define READ_CHUNK 65536u
/* Stop reading from a peer this far behind with its answers... */
#define OUT_HIGH (1u << 20)
/* ...and cut off a recipient this far behind with its messages. */
#define OUT_LIMIT (4u << 20)
/* The largest message (message framing) the server takes. */
#define MSG_CAP (1u << 20)
#define LINGER_MS 2000
#define TICK_MS 1000
#define BACKLOG 1024
#define MAX_EVENTS 128
#define LOG_MAX 4096
#define DETAIL_MAX 1024
#define EXIT_OK 0
#define EXIT_CONFIG 1
#define EXIT_USAGE 2
#define EXIT_IO 4

enum src_kind { SRC_LISTEN = 1, SRC_CORE, SRC_SIGNAL, SRC_CONN };
enum conn_phase {
    PH_ACTIVE = MSGSEC_NET_ACTIVE,
    PH_FINISHING = MSGSEC_NET_FINISHING,
    PH_DRAINING = MSGSEC_NET_DRAINING
};

/* What an epoll event points at: the first member of its owner. */
typedef struct ev_src {
    int kind;
} ev_src;

typedef struct server server;
typedef struct conn conn;
typedef struct ue_rec ue_rec;

typedef struct corebox {
    ev_src src;
    msgsec_core *core;
    unsigned gen;   /* 1 at start, +1 per reload */
    size_t refs;    /* connections, plus one while it is the current core */
    struct corebox *next;
} corebox;

/* A message (or report) kept for a registered UE that is offline. */
typedef struct stored_msg {
    struct stored_msg *next;         /* in the recipient's queue */
    struct stored_msg *gprev, *gnext; /* in the server's list (expiry) */
    ue_rec *rec;
    int type;       /* MSGSEC_M5G_MSG or MSGSEC_M5G_IMDN */
    int report;     /* MSG: the sender asked for a delivery report */
    int64_t expiry; /* Unix seconds */
    char *sender, *msg_id;
    char *line;     /* the wire line, LF included */
    size_t len;
} stored_msg;

struct ue_rec {
    ue_rec *hnext;
    char *id;
    conn *c;        /* the connection registered as this UE, or NULL */
    int registered;
    stored_msg *qhead, *qtail;
};

typedef struct group {
    char *id;
    char **members;
    size_t n;
} group;

typedef struct groups {
    group *g;
    size_t n;
} groups;

struct conn {
    ev_src src;
    server *srv;
    corebox *box;
    int fd;
    msgsec_session *s;
    unsigned long long id;
    int phase;
    int established;
    uint32_t events;      /* mask registered with epoll */
    int64_t deadline;     /* FINISHING/DRAINING: close by then */
    int64_t last_in;      /* last bytes from the peer (idle timeout) */
    msgsec_netbuf out;    /* protected bytes for the peer */
    msgsec_m5g_lines lines;
    char who[900];        /* " scheme=S identity=I" once established */
    ue_rec *reg;          /* the registration this connection holds */
    msgsec_authz *authz;  /* a REG waiting for its authorization */
    char *authz_ue, *authz_msg_id;
    conn *prev, *next;
    char addr[MSGSEC_NET_ADDR_MAX];
};

struct server {
    const char *policy, *service, *groups_path;
    int64_t store_ttl;
    int64_t idle_ms;
    size_t max_conns;
    corebox *cur, *boxes;
    unsigned gen;
    int epfd, lfd, sfd;
    ev_src lsrc, ssrc;
    int listening;
    int64_t accept_retry; /* > 0: accept again at this time (out of fds) */
    int stopping;
    conn *conns, *zombies;
    size_t nconns, nlinger;
    unsigned long long next_id;
    ue_rec **buckets;
    size_t nbuckets, nrecs;
    stored_msg *shead, *stail;
    size_t nstored;
    groups *groups;
    int64_t next_tick;
    unsigned char rbuf[READ_CHUNK];
    unsigned char *mbuf;
    size_t mcap;
};

static const char usage_text[] =
    "Usage: msgin5g-server --policy FILE --listen HOST:PORT [OPTION]...\n"
    "\n"
    "An MSGin5G Server: accepts MSGin5G clients on HOST:PORT, authenticates\n"
    "each with the provider its policy and the client agree on (msgsec),\n"
    "registers them (REG, checked against SEAL authorization when the\n"
    "policy service has `authorize`), and routes point-to-point, group and\n"
    "broadcast messages and delivery reports (IMDN), storing messages for\n"
    "registered UEs that are offline. Wire form: doc/msgin5g.md.\n"
    "\n"
    "  --policy FILE          the msgsec policy\n"
    "  --service NAME         the policy service (default msgin5g-1)\n"
    "  --listen HOST:PORT     address to listen on (PORT 0: any free port)\n"
    "  --groups FILE          group lists, lines `GROUP-ID: member, member`\n"
    "  --store-ttl SECONDS    keep stored messages this long when they name\n"
    "                         no exprTime (default 300)\n"
    "  --max-connections N    at most N connections at once (default: the\n"
    "                         descriptor limit, raised to its hard limit,\n"
    "                         less 32); more wait in the listen queue\n"
    "  --idle-timeout S       close connections silent for S seconds\n"
    "                         (default 0: never)\n"
    "  -h, --help             show this help\n"
    "\n"
    "Standard error: \"listening on HOST:PORT\" first, then one key=value\n"
    "line per event (doc/msgin5g.md). SIGTERM or SIGINT: stop accepting,\n"
    "close every session cleanly, exit 0. SIGHUP: build a new core from the\n"
    "policy (and reread the groups file) for new connections; on error the\n"
    "old ones stay.\n"
    "\n"
    "Exit status: 0 stopped by a signal, 1 policy or groups file invalid,\n"
    "2 usage error, 4 I/O error (e.g. the address is in use).\n";

/* ------------------------------------------------------------ logging */

typedef struct logbuf {
    char t[LOG_MAX];
    size_t n;
} logbuf;

static void lb_add(logbuf *b, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));
static void lb_add(logbuf *b, const char *fmt, ...)
{
    va_list ap;
    if (b->n >= sizeof(b->t) - 1)
        return;
    va_start(ap, fmt);
    int r = vsnprintf(b->t + b->n, sizeof(b->t) - b->n, fmt, ap);
    va_end(ap);
    if (r > 0)
        b->n += (size_t)r < sizeof(b->t) - b->n ? (size_t)r
                                                 : sizeof(b->t) - 1 - b->n;
}

/* " key=value", the value escaped so that it is one token. */
static void lb_kv(logbuf *b, const char *key, const char *v)
{
    char e[1024];
    msgsec_net_escape(v, e, sizeof(e));
    lb_add(b, " %s=%s", key, e);
}

static void lb_start(logbuf *b, const char *event, const conn *c)
{
    b->n = 0;
    lb_add(b, "event=%s", event);
    if (!c)
        return;
    lb_add(b, " conn=%llu addr=%s%s", c->id, c->addr, c->who);
    if (c->reg)
        lb_kv(b, "ue", c->reg->id);
}

/* The last field: free text, control bytes escaped. */
static void lb_detail(logbuf *b, const char *d)
{
    lb_add(b, " detail=");
    for (; *d && b->n < sizeof(b->t) - 5; d++) {
        unsigned char ch = (unsigned char)*d;
        if (ch < 0x20 || ch == 0x7f)
            lb_add(b, "\\x%02x", ch);
        else
            b->t[b->n++] = (char)ch;
    }
    b->t[b->n] = '\0';
}

static void lb_emit(logbuf *b)
{
    b->t[b->n] = '\0';
    fprintf(stderr, "%s\n", b->t);
    fflush(stderr);
}

static void lib_log(void *ud, int level, const char *line)
{
    static const char *const names[] = {"error", "warning", "info", "debug"};
    logbuf b;
    (void)ud;
    lb_start(&b, "library", NULL);
    lb_add(&b, " level=%s",
           level >= 0 && level <= MSGSEC_LOG_DEBUG ? names[level] : "debug");
    lb_detail(&b, line);
    lb_emit(&b);
}

static int64_t wall_now(void)
{
    return (int64_t)time(NULL);
}

/* ------------------------------------------------------------ groups */

static void groups_free(groups *gs)
{
    if (!gs)
        return;
    for (size_t i = 0; i < gs->n; i++) {
        for (size_t k = 0; k < gs->g[i].n; k++)
            free(gs->g[i].members[k]);
        free(gs->g[i].members);
        free(gs->g[i].id);
    }
    free(gs->g);
    free(gs);
}

static char *trim(char *s)
{
    while (*s == ' ' || *s == '\t')
        s++;
    size_t n = strlen(s);
    while (n > 0 && (s[n - 1] == ' ' || s[n - 1] == '\t' ||
                     s[n - 1] == '\r' || s[n - 1] == '\n'))
        s[--n] = '\0';
    return s;
}

/* Group files separate IDs by commas and blanks. */
static int id_valid(const char *s)
{
    return msgsec_m5g_id_ok(s, strlen(s), MSGSEC_M5G_ID_MAX) &&
           !strpbrk(s, " ,");
}

static const group *group_find(const groups *gs, const char *id)
{
    for (size_t i = 0; gs && i < gs->n; i++)
        if (strcmp(gs->g[i].id, id) == 0)
            return &gs->g[i];
    return NULL;
}

/* One `GROUP-ID: member, member` line into gs. 0, or -1 with err. */
static int group_line(groups *gs, char *s, char *err, size_t n)
{
    char *colon = strchr(s, ':');
    if (!colon) {
        snprintf(err, n, "expected `GROUP-ID: member, member`");
        return -1;
    }
    *colon = '\0';
    char *id = trim(s);
    if (!id_valid(id)) {
        snprintf(err, n, "bad group ID '%s'", id);
        return -1;
    }
    if (group_find(gs, id)) {
        snprintf(err, n, "group '%s' listed twice", id);
        return -1;
    }
    group *ng = realloc(gs->g, (gs->n + 1) * sizeof(*gs->g));
    if (!ng) {
        snprintf(err, n, "out of memory");
        return -1;
    }
    gs->g = ng;
    group *g = &gs->g[gs->n];
    memset(g, 0, sizeof(*g));
    if (!(g->id = strdup(id))) {
        snprintf(err, n, "out of memory");
        return -1;
    }
    gs->n++;
    for (char *save = NULL, *m = strtok_r(colon + 1, ",", &save); m;
         m = strtok_r(NULL, ",", &save)) {
        m = trim(m);
        if (!id_valid(m)) {
            snprintf(err, n, "bad member '%s' in group '%s'", m, id);
            return -1;
        }
        char **nm = realloc(g->members, (g->n + 1) * sizeof(*nm));
        if (!nm || !(nm[g->n] = strdup(m))) {
            if (nm)
                g->members = nm;
            snprintf(err, n, "out of memory");
            return -1;
        }
        g->members = nm;
        g->n++;
    }
    if (g->n == 0) {
        snprintf(err, n, "group '%s' has no member", id);
        return -1;
    }
    return 0;
}

/* Reads a groups file; '#' starts a comment line. 0, or -1 with err
 * ("FILE:LINE: why"). */
static int groups_load(const char *path, groups **out, char *err, size_t n)
{
    FILE *f = fopen(path, "r");
    char *line = NULL, why[512];
    size_t cap = 0;
    unsigned lineno = 0;
    int rc = 0;

    *out = NULL;
    if (!f) {
        snprintf(err, n, "%s: %s", path, strerror(errno));
        return -1;
    }
    groups *gs = calloc(1, sizeof(*gs));
    if (!gs) {
        fclose(f);
        snprintf(err, n, "%s: out of memory", path);
        return -1;
    }
    while (getline(&line, &cap, f) >= 0) {
        lineno++;
        char *s = trim(line);
        if (!*s || *s == '#')
            continue;
        if (group_line(gs, s, why, sizeof(why)) < 0) {
            snprintf(err, n, "%s:%u: %s", path, lineno, why);
            rc = -1;
            break;
        }
    }
    if (rc == 0 && ferror(f)) {
        snprintf(err, n, "%s: %s", path, strerror(errno));
        rc = -1;
    }
    free(line);
    fclose(f);
    if (rc < 0) {
        groups_free(gs);
        return -1;
    }
    *out = gs;
    return 0;
}

/* ------------------------------------------------------- registrations */

static uint64_t hash_id(const char *s)
{
    uint64_t h = 1469598103934665603ull;
    for (; *s; s++)
        h = (h ^ (unsigned char)*s) * 1099511628211ull;
    return h;
}

static ue_rec *rec_find(server *srv, const char *id)
{
    if (!srv->nbuckets)
        return NULL;
    for (ue_rec *r = srv->buckets[hash_id(id) % srv->nbuckets]; r;
         r = r->hnext)
        if (strcmp(r->id, id) == 0)
            return r;
    return NULL;
}

static int rec_grow(server *srv)
{
    size_t nb = srv->nbuckets ? srv->nbuckets * 2 : 1024;
    ue_rec **b = calloc(nb, sizeof(*b));
    if (!b)
        return -1;
    for (size_t i = 0; i < srv->nbuckets; i++) {
        for (ue_rec *r = srv->buckets[i], *next; r; r = next) {
            next = r->hnext;
            size_t k = hash_id(r->id) % nb;
            r->hnext = b[k];
            b[k] = r;
        }
    }
    free(srv->buckets);
    srv->buckets = b;
    srv->nbuckets = nb;
    return 0;
}

/* The record of id, created when absent; NULL when out of memory. */
static ue_rec *rec_get(server *srv, const char *id)
{
    ue_rec *r = rec_find(srv, id);
    if (r)
        return r;
    if (srv->nrecs >= srv->nbuckets && rec_grow(srv) < 0)
        return NULL;
    r = calloc(1, sizeof(*r));
    if (!r || !(r->id = strdup(id))) {
        free(r);
        return NULL;
    }
    size_t k = hash_id(id) % srv->nbuckets;
    r->hnext = srv->buckets[k];
    srv->buckets[k] = r;
    srv->nrecs++;
    return r;
}

/* Frees r once nothing refers to it. */
static void rec_release(server *srv, ue_rec *r)
{
    if (r->registered || r->c || r->qhead)
        return;
    ue_rec **pp = &srv->buckets[hash_id(r->id) % srv->nbuckets];
    while (*pp != r)
        pp = &(*pp)->hnext;
    *pp = r->hnext;
    srv->nrecs--;
    free(r->id);
    free(r);
}

static void stored_free(stored_msg *m)
{
    if (m->line) {
        explicit_bzero(m->line, m->len);
        free(m->line);
    }
    free(m->sender);
    free(m->msg_id);
    free(m);
}

/* Takes m out of its recipient's queue (its head) and the server list. */
static void stored_unlink(server *srv, stored_msg *m)
{
    ue_rec *r = m->rec;
    if (r->qhead == m) {
        r->qhead = m->next;
        if (!r->qhead)
            r->qtail = NULL;
    } else {
        stored_msg *p = r->qhead;
        while (p->next != m)
            p = p->next;
        p->next = m->next;
        if (r->qtail == m)
            r->qtail = p;
    }
    if (m->gprev)
        m->gprev->gnext = m->gnext;
    else
        srv->shead = m->gnext;
    if (m->gnext)
        m->gnext->gprev = m->gprev;
    else
        srv->stail = m->gprev;
    srv->nstored--;
}

/* Keeps a line for r, which is registered and offline. 0 or -1. */
static int store_for(server *srv, ue_rec *r, int type, int report,
                     int64_t expiry, const char *sender, const char *msg_id,
                     const char *line, size_t len)
{
    stored_msg *m = calloc(1, sizeof(*m));
    if (!m)
        return -1;
    m->rec = r;
    m->type = type;
    m->report = report;
    m->expiry = expiry;
    m->sender = strdup(sender);
    m->msg_id = strdup(msg_id);
    m->line = malloc(len);
    if (!m->sender || !m->msg_id || !m->line) {
        stored_free(m);
        return -1;
    }
    memcpy(m->line, line, len);
    m->len = len;
    if (r->qtail)
        r->qtail->next = m;
    else
        r->qhead = m;
    r->qtail = m;
    m->gprev = srv->stail;
    if (srv->stail)
        srv->stail->gnext = m;
    else
        srv->shead = m;
    srv->stail = m;
    srv->nstored++;
    return 0;
}

/* ------------------------------------------------------------ cores */

static int ep_set(server *srv, int fd, ev_src *src, uint32_t events, int op)
{
    return msgsec_net_epoll(srv->epfd, fd, src, events, op);
}

/* A core from the policy, checked to hold the service. 0, or -1 with err. */
static int core_open(server *srv, msgsec_core **out, char *err, size_t n)
{
    msgsec_hooks hooks;
    char detail[DETAIL_MAX] = "";
    int rc;

    memset(&hooks, 0, sizeof(hooks));
    hooks.size = sizeof(hooks);
    hooks.log = lib_log;
    hooks.log_level = MSGSEC_LOG_WARNING;
    *out = NULL;
    rc = msgsec_core_new(srv->policy, &hooks, 0, out, detail, sizeof(detail));
    if (rc < 0) {
        snprintf(err, n, "%s: %s", msgsec_error_name(rc),
                 detail[0] ? detail : msgsec_strerror(rc));
        *out = NULL;
        return -1;
    }
    size_t ns = msgsec_core_service_count(*out);
    for (size_t i = 0; i < ns; i++)
        if (strcmp(msgsec_core_service_name(*out, i), srv->service) == 0)
            return 0;
    snprintf(err, n, "%s: %s: no [service.%s] in the policy",
             msgsec_error_name(MSGSEC_ERR_POLICY_UNKNOWN_SERVICE), srv->policy,
             srv->service);
    msgsec_core_free(*out);
    *out = NULL;
    return -1;
}

/* Makes core the one new connections use. 0, or -1 (core freed). */
static int core_install(server *srv, msgsec_core *core, char *err, size_t n)
{
    corebox *b = calloc(1, sizeof(*b));
    if (!b) {
        snprintf(err, n, "out of memory");
        msgsec_core_free(core);
        return -1;
    }
    b->src.kind = SRC_CORE;
    b->core = core;
    b->gen = ++srv->gen;
    b->refs = 1;
    if (ep_set(srv, msgsec_core_fd(core), &b->src, EPOLLIN, EPOLL_CTL_ADD) <
        0) {
        snprintf(err, n, "epoll: %s", strerror(errno));
        msgsec_core_free(core);
        free(b);
        return -1;
    }
    b->next = srv->boxes;
    srv->boxes = b;
    if (srv->cur)
        srv->cur->refs--;
    srv->cur = b;
    return 0;
}

/* Frees the cores nothing uses any more (between loop rounds). */
static void cores_collect(server *srv)
{
    for (corebox **pp = &srv->boxes; *pp;) {
        corebox *b = *pp;
        if (b->refs > 0) {
            pp = &b->next;
            continue;
        }
        *pp = b->next;
        epoll_ctl(srv->epfd, EPOLL_CTL_DEL, msgsec_core_fd(b->core), NULL);
        msgsec_core_free(b->core);
        if (!srv->stopping) {
            logbuf l;
            lb_start(&l, "core-freed", NULL);
            lb_add(&l, " core=%u", b->gen);
            lb_emit(&l);
        }
        free(b);
    }
}

/* ------------------------------------------------------------ connections */

static void conn_watch(conn *c)
{
    /* A REG waiting for its check holds back the lines after it. */
    uint32_t want = msgsec_net_watch_mask(
        c->phase, !c->authz && c->out.len < OUT_HIGH, c->out.len);
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

/* The connection no longer stands for its UE, which stays registered. */
static void conn_unbind(conn *c)
{
    if (c->reg) {
        ue_rec *r = c->reg;
        c->reg = NULL;
        if (r->c == c)
            r->c = NULL;
        rec_release(c->srv, r);
    }
    msgsec_authz_free(c->authz);
    c->authz = NULL;
    free(c->authz_ue);
    free(c->authz_msg_id);
    c->authz_ue = c->authz_msg_id = NULL;
}

/* Closes the socket and frees the session; the struct waits for the end
 * of the round (events of this round may still name it). */
static void conn_end(conn *c)
{
    server *srv = c->srv;

    conn_unbind(c);
    epoll_ctl(srv->epfd, EPOLL_CTL_DEL, c->fd, NULL);
    close(c->fd);
    c->fd = -1;
    msgsec_session_free(c->s);
    c->s = NULL;
    c->box->refs--;
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
    c->src.kind = 0;
    srv->nconns--;
    if (!srv->stopping && srv->nconns < srv->max_conns &&
        srv->accept_retry == 0)
        listen_on(srv, 1);
}

static void conn_free(conn *c)
{
    msgsec_netbuf_free(&c->out);
    msgsec_m5g_lines_free(&c->lines);
    free(c);
}

/* Our side is done: log why, queue the session's last bytes, then write
 * them out, shut down and drain. */
static void conn_finish(conn *c, const char *reason, const char *detail)
{
    logbuf l;

    if (c->phase != PH_ACTIVE)
        return;
    lb_start(&l, "close", c);
    lb_kv(&l, "reason", reason);
    if (detail)
        lb_detail(&l, detail);
    lb_emit(&l);
    if (c->s && msgsec_net_pull(c->s, &c->out) < 0)
        msgsec_netbuf_free(&c->out);
    conn_unbind(c);
    c->phase = PH_FINISHING;
    c->deadline = msgsec_net_now_ms() + LINGER_MS;
    c->srv->nlinger++;
    msgsec_m5g_lines_free(&c->lines);
}

/* Closes a usable session properly (close_notify), then finishes. */
static void conn_close(conn *c, const char *reason, const char *detail)
{
    int st = c->s ? msgsec_session_state(c->s) : MSGSEC_STATE_FAILED;
    if (st != MSGSEC_STATE_FAILED &&
        (st != MSGSEC_STATE_CLOSED || c->established))
        (void)msgsec_session_close(c->s);
    conn_finish(c, reason, detail);
}

/* The handshake failed with code. */
static void auth_failed(conn *c, int code, const char *detail)
{
    logbuf l;
    lb_start(&l, "auth", c);
    lb_add(&l, " core=%u outcome=failed error=%s", c->box->gen,
           msgsec_error_name(code));
    lb_detail(&l, detail);
    lb_emit(&l);
    conn_finish(c, "auth-failed", NULL);
}

/* The session failed with code: the session's detail says why. */
static void conn_session_failed(conn *c, int code)
{
    const char *d = msgsec_session_detail(c->s);
    if (!d[0])
        d = msgsec_strerror(code);
    if (!c->established) {
        auth_failed(c, code, d);
    } else {
        char t[DETAIL_MAX];
        snprintf(t, sizeof(t), "%s: %s", msgsec_error_name(code), d);
        conn_finish(c, "session-failed", t);
    }
}

/* Writes what is queued; moves on from FINISHING once all is out.
 * Returns 0, or -1 when c ended. */
static int conn_progress(conn *c)
{
    int rc = msgsec_net_linger_step(c->fd, &c->out, &c->phase);
    if (rc < 0) {
        if (c->phase == PH_ACTIVE)
            conn_finish(c, "write-error", strerror(-rc));
        conn_end(c);
        return -1;
    }
    conn_watch(c);
    return 0;
}

/* Sends one wire line on c's session and writes it out. 0, or -1 when c
 * can take no more (it is then finishing or ended). */
static int conn_send(conn *c, const char *line, size_t len)
{
    if (c->phase != PH_ACTIVE)
        return -1;
    if (c->out.len > OUT_LIMIT) {
        conn_close(c, "slow-reader", "too much output waiting for the peer");
        conn_progress(c);
        return -1;
    }
    int rc = msgsec_session_send(c->s, line, len);
    if (rc < 0) {
        conn_session_failed(c, rc);
        conn_progress(c);
        return -1;
    }
    if (msgsec_net_pull(c->s, &c->out) < 0) {
        conn_finish(c, "no-memory", NULL);
        conn_progress(c);
        return -1;
    }
    return conn_progress(c);
}

/* Answers a request with MSGRESP. */
static void reply(conn *c, const char *msg_id, int status, const char *cause)
{
    msgsec_m5g_msg r;
    size_t len;

    memset(&r, 0, sizeof(r));
    r.type = MSGSEC_M5G_MSGRESP;
    r.msg_id = msg_id;
    r.status = status;
    r.failure_cause = cause;
    char *line = msgsec_m5g_build(&r, &len);
    if (!line) {
        conn_finish(c, "no-memory", NULL);
        return;
    }
    conn_send(c, line, len);
    free(line);
}

/* --------------------------------------------------------- message routing */

/* Where a line for the UE r goes: forwarded (1), stored (2), or nowhere
 * (0: offline and not to be stored; -1: storing failed). */
static int deliver_to(server *srv, ue_rec *r, int store, int type,
                      int report, int64_t expiry, const char *sender,
                      const char *msg_id, const char *line, size_t len)
{
    if (r->c && r->c->phase == PH_ACTIVE && conn_send(r->c, line, len) == 0)
        return 1;
    if (!r->registered || !store)
        return 0;
    return store_for(srv, r, type, report, expiry, sender, msg_id, line,
                     len) == 0
               ? 2
               : -1;
}

static void log_route(conn *c, const msgsec_m5g_msg *m, const char *outcome,
                      const char *cause, int delivered, int stored)
{
    logbuf l;
    char dest[MSGSEC_M5G_ID_MAX + 16];

    lb_start(&l, m->type == MSGSEC_M5G_MSG ? "msg" : "imdn", c);
    lb_kv(&l, "msgId", m->msg_id);
    snprintf(dest, sizeof(dest), "%s:%s", msgsec_m5g_addr_type_name(m->dest.type),
             m->dest.addr);
    lb_kv(&l, "dest", dest);
    if (m->type == MSGSEC_M5G_IMDN)
        lb_add(&l, " delivSt=%s", msgsec_m5g_delivst_name(m->deliv_st));
    lb_add(&l, " outcome=%s", outcome);
    if (cause)
        lb_add(&l, " cause=%s", cause);
    lb_add(&l, " delivered=%d stored=%d", delivered, stored);
    lb_emit(&l);
}

/* MSG from the registered UE of c (oriAddr verified). */
static void route_msg(conn *c, const msgsec_m5g_msg *m, const char *line,
                      size_t len)
{
    server *srv = c->srv;
    const char *me = c->reg->id, *cause = NULL, *msg_id = m->msg_id;
    int delivered = 0, stored = 0, status;
    int64_t expiry = m->has_expr_time ? m->expr_time
                                      : wall_now() + srv->store_ttl;

    if (m->sto_and_fw && m->has_expr_time && expiry <= wall_now()) {
        cause = "EXPIRED";
    } else if (m->dest.type == MSGSEC_M5G_ADDR_UE) {
        ue_rec *r = rec_find(srv, m->dest.addr);
        if (!r || !r->registered) {
            cause = "UNKNOWN_DESTINATION";
        } else {
            int k = deliver_to(srv, r, m->sto_and_fw, MSGSEC_M5G_MSG,
                               m->deliv_st_req, expiry, me, msg_id, line, len);
            delivered = k == 1;
            stored = k == 2;
        }
    } else if (m->dest.type == MSGSEC_M5G_ADDR_GROUP) {
        const group *g = group_find(srv->groups, m->dest.addr);
        if (!g)
            cause = "UNKNOWN_DESTINATION";
        for (size_t i = 0; g && i < g->n; i++) {
            ue_rec *r;
            if (strcmp(g->members[i], me) == 0 ||
                !(r = rec_find(srv, g->members[i])))
                continue;
            int k = deliver_to(srv, r, m->sto_and_fw, MSGSEC_M5G_MSG,
                               m->deliv_st_req, expiry, me, msg_id, line, len);
            delivered += k == 1;
            stored += k == 2;
        }
    } else {
        /* Broadcast: every other connected, registered UE. */
        for (conn *t = srv->conns, *next; t; t = next) {
            next = t->next;
            if (t != c && t->reg && t->phase == PH_ACTIVE &&
                conn_send(t, line, len) == 0)
                delivered++;
        }
    }
    /* Some recipient got it (or will): the sender hears of the rest
     * through delivery reports. */
    if (delivered)
        status = MSGSEC_M5G_DELY_ACCEPTED;
    else if (stored)
        status = MSGSEC_M5G_DELY_STORED;
    else
        status = MSGSEC_M5G_DELY_FAILED;
    if (status != MSGSEC_M5G_DELY_FAILED)
        cause = NULL;
    else if (!cause)
        cause = "NO_MEMBER_ONLINE";
    log_route(c, m, msgsec_m5g_status_name(status), cause, delivered, stored);
    reply(c, msg_id, status, cause);
}

/* IMDN from the registered UE of c to the original sender. */
static void route_imdn(conn *c, const msgsec_m5g_msg *m, const char *line,
                       size_t len)
{
    server *srv = c->srv;
    ue_rec *r = rec_find(srv, m->dest.addr);
    const char *cause = NULL;
    int k = 0, status;

    if (!r || !r->registered)
        cause = "UNKNOWN_DESTINATION";
    else
        k = deliver_to(srv, r, 1, MSGSEC_M5G_IMDN, 0,
                       wall_now() + srv->store_ttl, c->reg->id, m->msg_id,
                       line, len);
    status = k == 1   ? MSGSEC_M5G_DELY_ACCEPTED
             : k == 2 ? MSGSEC_M5G_DELY_STORED
                      : MSGSEC_M5G_DELY_FAILED;
    if (status == MSGSEC_M5G_DELY_FAILED && !cause)
        cause = "NO_MEMBER_ONLINE";
    log_route(c, m, msgsec_m5g_status_name(status), cause, k == 1, k == 2);
    reply(c, m->msg_id, status, cause);
}

/* Forwards what was stored for r, now online on c, in order. */
static void deliver_stored(conn *c, ue_rec *r)
{
    server *srv = c->srv;

    while (r->qhead && c->phase == PH_ACTIVE && c->reg == r) {
        stored_msg *m = r->qhead;
        logbuf l;
        if (conn_send(c, m->line, m->len) < 0)
            return;
        lb_start(&l, "deliver-stored", c);
        lb_add(&l, " type=%s", msgsec_m5g_type_name(m->type));
        lb_kv(&l, "msgId", m->msg_id);
        lb_kv(&l, "from", m->sender);
        lb_emit(&l);
        stored_unlink(srv, m);
        stored_free(m);
    }
}

/* Registration r of c is decided: rc 0 (authorized) or the error. */
static void reg_done(conn *c, const char *msg_id, const char *ue, int rc,
                     const char *source, const char *detail)
{
    server *srv = c->srv;
    logbuf l;

    if (rc == 0) {
        ue_rec *r = rec_get(srv, ue);
        if (!r) {
            conn_finish(c, "no-memory", NULL);
            return;
        }
        if (c->reg && c->reg != r) {
            /* A new ID on this connection replaces the old one. */
            ue_rec *old = c->reg;
            old->registered = 0;
            conn_unbind(c);
        }
        if (r->c && r->c != c) {
            conn *prev = r->c;
            lb_start(&l, "superseded", prev);
            lb_add(&l, " by=%llu", c->id);
            lb_emit(&l);
            conn_close(prev, "superseded", NULL);
            conn_progress(prev);
        }
        r->c = c;
        r->registered = 1;
        c->reg = r;
    }
    lb_start(&l, "reg", c);
    if (rc != 0)
        lb_kv(&l, "ue", ue);
    lb_kv(&l, "msgId", msg_id);
    lb_kv(&l, "authz", source ? source : "none");
    if (rc == 0) {
        lb_add(&l, " outcome=REG_SUCCESS");
    } else {
        lb_add(&l, " outcome=REJECTED cause=%s error=%s",
               rc == MSGSEC_ERR_NOT_AUTHORIZED ? "NOT_AUTHORIZED"
                                               : "AUTHZ_UNAVAILABLE",
               msgsec_error_name(rc));
        lb_detail(&l, detail && detail[0] ? detail : msgsec_strerror(rc));
    }
    lb_emit(&l);
    if (rc == 0) {
        reply(c, msg_id, MSGSEC_M5G_REG_SUCCESS, NULL);
        if (c->reg)
            deliver_stored(c, c->reg);
    } else {
        reply(c, msg_id, MSGSEC_M5G_REJECTED,
              rc == MSGSEC_ERR_NOT_AUTHORIZED ? "NOT_AUTHORIZED"
                                              : "AUTHZ_UNAVAILABLE");
    }
}

static void process_lines(conn *c);

static void on_authz_ready(void *user_data, msgsec_authz *a)
{
    conn *c = user_data;
    if (!c || !c->src.kind || c->phase != PH_ACTIVE || c->authz != a)
        return;
    int rc = msgsec_authz_resume(a);
    if (rc == MSGSEC_PENDING)
        return;
    char *ue = c->authz_ue, *id = c->authz_msg_id;
    char detail[DETAIL_MAX];
    const char *src = msgsec_authz_source(a);
    snprintf(detail, sizeof(detail), "%s", msgsec_authz_detail(a));
    char source[128];
    snprintf(source, sizeof(source), "%s", src ? src : "none");
    c->authz_ue = c->authz_msg_id = NULL;
    c->authz = NULL;
    msgsec_authz_free(a);
    reg_done(c, id, ue, rc, source, detail);
    free(ue);
    free(id);
    process_lines(c);
    if (c->src.kind && c->phase == PH_ACTIVE)
        conn_progress(c);
}

static void handle_reg(conn *c, const msgsec_m5g_msg *m)
{
    const char *source =
        msgsec_core_service_authorizer(c->box->core, c->srv->service);
    msgsec_authz_config cfg;
    msgsec_authz *a = NULL;

    if (!source) {
        reg_done(c, m->msg_id, m->ue_service_id, 0, NULL, NULL);
        return;
    }
    memset(&cfg, 0, sizeof(cfg));
    cfg.size = sizeof(cfg);
    cfg.ready = on_authz_ready;
    cfg.user_data = c;
    int rc = msgsec_session_authorize(c->s, m->ue_service_id, &cfg, &a);
    if (rc == MSGSEC_PENDING) {
        c->authz = a;
        c->authz_ue = strdup(m->ue_service_id);
        c->authz_msg_id = strdup(m->msg_id);
        if (!c->authz_ue || !c->authz_msg_id)
            conn_finish(c, "no-memory", NULL);
        return;
    }
    char detail[DETAIL_MAX];
    snprintf(detail, sizeof(detail), "%s",
             a ? msgsec_authz_detail(a) : msgsec_last_detail());
    msgsec_authz_free(a);
    reg_done(c, m->msg_id, m->ue_service_id, rc, source, detail);
}

/* A request the server refuses: log and answer REJECTED. */
static void refuse(conn *c, const msgsec_m5g_msg *m, const char *cause,
                   const char *detail)
{
    logbuf l;
    static const char *const events[] = {"request", "reg",     "dereg",
                                         "msg",     "msgresp", "imdn"};
    lb_start(&l, events[m->type >= 0 && m->type <= MSGSEC_M5G_IMDN ? m->type
                                                                   : 0],
             c);
    lb_kv(&l, "msgId", m->msg_id);
    lb_add(&l, " outcome=REJECTED cause=%s", cause);
    if (detail)
        lb_detail(&l, detail);
    lb_emit(&l);
    reply(c, m->msg_id, MSGSEC_M5G_REJECTED, cause);
}

static void handle_line(conn *c, const char *line, size_t len)
{
    msgsec_m5g_msg m;
    char why[256], forged[1200];
    int rc = msgsec_m5g_parse(line, len, &m, why, sizeof(why));

    if (rc == MSGSEC_M5G_BAD_JSON || (rc < 0 && !m.msg_id)) {
        logbuf l;
        lb_start(&l, "malformed", c);
        lb_add(&l, " bytes=%zu", len);
        lb_detail(&l, why);
        lb_emit(&l);
        msgsec_m5g_msg_clear(&m);
        conn_close(c, "malformed", NULL);
        return;
    }
    if (rc < 0) {
        refuse(c, &m, "MALFORMED", why);
    } else if (m.type == MSGSEC_M5G_MSGRESP) {
        refuse(c, &m, "MALFORMED", "MSGRESP is sent by the server only");
    } else if (m.type == MSGSEC_M5G_REG) {
        handle_reg(c, &m);
    } else if (!c->reg) {
        refuse(c, &m, "NOT_REGISTERED", NULL);
    } else if (m.type == MSGSEC_M5G_DEREG) {
        logbuf l;
        ue_rec *r = c->reg;
        lb_start(&l, "dereg", c);
        lb_kv(&l, "msgId", m.msg_id);
        lb_add(&l, " outcome=DEREG_SUCCESS");
        lb_emit(&l);
        r->registered = 0;
        conn_unbind(c);
        reply(c, m.msg_id, MSGSEC_M5G_DEREG_SUCCESS, NULL);
    } else if (strcmp(m.ori.addr, c->reg->id) != 0) {
        char e[MSGSEC_M5G_ID_MAX * 4 + 1];
        msgsec_net_escape(m.ori.addr, e, sizeof(e));
        snprintf(forged, sizeof(forged), "oriAddr %s is not the registered "
                                         "UE service ID", e);
        refuse(c, &m, "ORIADDR_MISMATCH", forged);
    } else {
        /* Forwarded as received, LF included (a CR is dropped). */
        char *wire = malloc(len + 1);
        if (!wire) {
            conn_finish(c, "no-memory", NULL);
        } else {
            memcpy(wire, line, len);
            wire[len] = '\n';
            if (m.type == MSGSEC_M5G_MSG)
                route_msg(c, &m, wire, len + 1);
            else
                route_imdn(c, &m, wire, len + 1);
            explicit_bzero(wire, len + 1);
            free(wire);
        }
    }
    msgsec_m5g_msg_clear(&m);
}

/* Handles the complete lines received, until a REG waits for its check. */
static void process_lines(conn *c)
{
    const char *line;
    size_t len;

    while (c->src.kind && c->phase == PH_ACTIVE && !c->authz) {
        int rc = msgsec_m5g_lines_next(&c->lines, &line, &len);
        if (rc == 0)
            return;
        if (rc < 0) {
            logbuf l;
            lb_start(&l, "malformed", c);
            lb_detail(&l, "a line longer than 16384 bytes");
            lb_emit(&l);
            conn_close(c, "oversized", NULL);
            return;
        }
        if (len == 0)
            continue; /* blank lines (typed by hand) carry nothing */
        handle_line(c, line, len);
    }
}

static void announce(conn *c)
{
    msgsec_peer peer;
    char text[MSGSEC_NET_PEER_MAX], scheme[128], id[700];
    logbuf l;

    c->established = 1;
    if (msgsec_session_peer(c->s, &peer) < 0)
        memset(&peer, 0, sizeof(peer));
    if (!peer.scheme)
        peer.scheme = msgsec_session_provider(c->s);
    msgsec_net_escape(peer.scheme, scheme, sizeof(scheme));
    msgsec_net_escape(peer.identity, id, sizeof(id));
    snprintf(c->who, sizeof(c->who), " scheme=%s identity=%s", scheme, id);
    msgsec_net_peer_text(&peer, text, sizeof(text));
    lb_start(&l, "auth", NULL);
    lb_add(&l, " conn=%llu addr=%s%s core=%u outcome=ok", c->id, c->addr,
           text, c->box->gen);
    lb_emit(&l);
}

/* Takes the plaintext the session decoded into the line splitter.
 * Returns 1 when the peer closed, 0, or -1 when c failed. */
static int take_plaintext(conn *c)
{
    server *srv = c->srv;

    for (;;) {
        size_t len = 0;
        int rc = msgsec_session_recv(c->s, srv->mbuf, srv->mcap, &len);
        if (rc == MSGSEC_ERR_BUFFER_TOO_SMALL && len > srv->mcap) {
            if (len > MSG_CAP) {
                logbuf l;
                lb_start(&l, "malformed", c);
                lb_add(&l, " bytes=%zu", len);
                lb_detail(&l, "a message longer than 16384 bytes");
                lb_emit(&l);
                conn_close(c, "oversized", NULL);
                return -1;
            }
            unsigned char *p = malloc(len);
            if (!p) {
                conn_finish(c, "no-memory", NULL);
                return -1;
            }
            explicit_bzero(srv->mbuf, srv->mcap);
            free(srv->mbuf);
            srv->mbuf = p;
            srv->mcap = len;
            continue;
        }
        if (rc == MSGSEC_CONTINUE)
            return 0;
        if (rc == MSGSEC_ERR_CLOSED)
            return 1;
        if (rc < 0) {
            conn_session_failed(c, rc);
            return -1;
        }
        rc = msgsec_m5g_lines_push(&c->lines, srv->mbuf, len);
        explicit_bzero(srv->mbuf, len);
        if (rc < 0) {
            conn_finish(c, "no-memory", NULL);
            return -1;
        }
    }
}

/* After feed/resume returned rc. */
static void conn_after(conn *c, int rc)
{
    if (rc < 0) {
        conn_session_failed(c, rc);
    } else {
        int st = msgsec_session_state(c->s);
        if (st == MSGSEC_STATE_ESTABLISHED || st == MSGSEC_STATE_CLOSED) {
            if (!c->established)
                announce(c);
            int closed = take_plaintext(c);
            if (closed >= 0)
                process_lines(c);
            if (closed == 1 && c->src.kind && c->phase == PH_ACTIVE)
                conn_close(c, msgsec_m5g_lines_pending(&c->lines)
                                  ? "peer-closed-mid-line"
                                  : "peer-closed",
                           NULL);
        }
        if (c->src.kind && c->phase == PH_ACTIVE &&
            msgsec_net_pull(c->s, &c->out) < 0)
            conn_finish(c, "no-memory", NULL);
    }
    if (c->src.kind)
        conn_progress(c);
}

static void conn_readable(conn *c)
{
    server *srv = c->srv;
    ssize_t r = recv(c->fd, srv->rbuf, sizeof(srv->rbuf), 0);

    if (r < 0) {
        if (errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR)
            return;
        if (c->phase == PH_ACTIVE)
            conn_finish(c, "read-error", strerror(errno));
        conn_end(c);
        return;
    }
    if (c->phase == PH_DRAINING) {
        if (r == 0)
            conn_end(c);
        return;
    }
    if (c->phase == PH_FINISHING)
        return; /* late bytes are dropped */
    if (r == 0) {
        if (c->established)
            conn_finish(c, "peer-disconnected", NULL);
        else
            auth_failed(c, MSGSEC_ERR_PEER_REJECTED,
                        "the peer closed the connection during the "
                        "handshake");
        conn_end(c);
        return;
    }
    c->last_in = msgsec_net_now_ms();
    int rc = msgsec_session_feed(c->s, srv->rbuf, (size_t)r);
    explicit_bzero(srv->rbuf, (size_t)r);
    conn_after(c, rc);
}

static void conn_event(conn *c, uint32_t events)
{
    if (c->phase == PH_FINISHING && (events & (EPOLLHUP | EPOLLERR))) {
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

/* ------------------------------------------------------------ accepting */

static void accept_one(server *srv, int fd, const char *addr)
{
    conn *c = calloc(1, sizeof(*c));
    msgsec_session_config cfg;
    int rc;
    logbuf l;

    if (!c) {
        close(fd);
        return;
    }
    c->src.kind = SRC_CONN;
    c->srv = srv;
    c->fd = fd;
    c->id = ++srv->next_id;
    c->box = srv->cur;
    c->last_in = msgsec_net_now_ms();
    snprintf(c->addr, sizeof(c->addr), "%s", addr);
    memset(&cfg, 0, sizeof(cfg));
    cfg.size = sizeof(cfg);
    cfg.user_data = c;
    rc = msgsec_session_new(c->box->core, srv->service, MSGSEC_ROLE_SERVER,
                            &cfg, &c->s);
    if (rc < 0 || ep_set(srv, fd, &c->src, EPOLLIN, EPOLL_CTL_ADD) < 0) {
        lb_start(&l, "auth", c);
        lb_add(&l, " core=%u outcome=failed error=%s", c->box->gen,
               msgsec_error_name(rc < 0 ? rc : MSGSEC_ERR_IO));
        lb_detail(&l, rc < 0 ? msgsec_last_detail() : strerror(errno));
        lb_emit(&l);
        msgsec_session_free(c->s);
        close(fd);
        free(c);
        return;
    }
    c->box->refs++;
    c->events = EPOLLIN;
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
            logbuf l;
            lb_start(&l, "accept", NULL);
            lb_add(&l, " outcome=paused");
            lb_detail(&l, strerror(-fd));
            lb_emit(&l);
            listen_on(srv, 0);
            srv->accept_retry = msgsec_net_now_ms() + 100;
            return;
        }
        accept_one(srv, fd, addr);
    }
    if (srv->nconns >= srv->max_conns)
        listen_on(srv, 0);
}

/* ------------------------------------------------------------ the loop */

static void on_session_ready(void *user_data, msgsec_session *s)
{
    conn *c = msgsec_session_user_data(s);
    (void)user_data;
    if (!c || !c->src.kind || c->phase != PH_ACTIVE ||
        msgsec_session_state(s) != MSGSEC_STATE_PENDING)
        return;
    conn_after(c, msgsec_session_resume(s));
}

/* SIGHUP: a new core (and groups) for new connections. */
static void reload(server *srv)
{
    char err[DETAIL_MAX];
    msgsec_core *core = NULL;
    logbuf l;

    lb_start(&l, "reload", NULL);
    if (core_open(srv, &core, err, sizeof(err)) < 0 ||
        core_install(srv, core, err, sizeof(err)) < 0) {
        lb_add(&l, " outcome=failed core=%u", srv->cur->gen);
        lb_detail(&l, err);
    } else {
        lb_add(&l, " outcome=ok core=%u", srv->cur->gen);
    }
    lb_emit(&l);
    if (srv->groups_path) {
        groups *gs = NULL;
        lb_start(&l, "groups", NULL);
        if (groups_load(srv->groups_path, &gs, err, sizeof(err)) < 0) {
            lb_add(&l, " outcome=failed");
            lb_detail(&l, err);
        } else {
            groups_free(srv->groups);
            srv->groups = gs;
            lb_add(&l, " outcome=ok groups=%zu", gs->n);
        }
        lb_emit(&l);
    }
}

/* SIGTERM/SIGINT: stop accepting; close every session cleanly. */
static void begin_stop(server *srv)
{
    logbuf l;

    lb_start(&l, "shutdown", NULL);
    lb_add(&l, " connections=%zu stored=%zu", srv->nconns, srv->nstored);
    lb_emit(&l);
    srv->stopping = 1;
    listen_on(srv, 0);
    if (srv->lfd >= 0)
        close(srv->lfd);
    srv->lfd = -1;
    srv->accept_retry = 0;
    for (conn *c = srv->conns, *next; c; c = next) {
        next = c->next;
        if (c->phase != PH_ACTIVE)
            continue;
        conn_close(c, "server-shutdown", NULL);
        conn_progress(c);
    }
}

/* Stored messages past their time: dropped, and the sender told when it
 * asked for a report. */
static void expire_stored(server *srv)
{
    int64_t now = wall_now();

    for (stored_msg *m = srv->shead, *next; m; m = next) {
        next = m->gnext;
        if (m->expiry > now)
            continue;
        ue_rec *r = m->rec;
        logbuf l;
        lb_start(&l, "expired", NULL);
        lb_add(&l, " type=%s", msgsec_m5g_type_name(m->type));
        lb_kv(&l, "msgId", m->msg_id);
        lb_kv(&l, "from", m->sender);
        lb_kv(&l, "ue", r->id);
        lb_add(&l, " report=%s", m->type == MSGSEC_M5G_MSG && m->report
                                     ? "yes"
                                     : "no");
        lb_emit(&l);
        stored_unlink(srv, m);
        ue_rec *s;
        if (m->type == MSGSEC_M5G_MSG && m->report &&
            (s = rec_find(srv, m->sender)) != NULL && s->registered) {
            msgsec_m5g_msg rep;
            size_t len;
            memset(&rep, 0, sizeof(rep));
            rep.type = MSGSEC_M5G_IMDN;
            rep.msg_id = m->msg_id;
            rep.ori.type = rep.dest.type = MSGSEC_M5G_ADDR_UE;
            rep.ori.addr = r->id;
            rep.dest.addr = m->sender;
            rep.deliv_st = MSGSEC_M5G_REPT_DELY_FAILED;
            rep.failure_cause = "EXPIRED";
            char *line = msgsec_m5g_build(&rep, &len);
            if (line) {
                deliver_to(srv, s, 1, MSGSEC_M5G_IMDN, 0,
                           now + srv->store_ttl, r->id, m->msg_id, line, len);
                free(line);
            }
        }
        stored_free(m);
        rec_release(srv, r);
    }
}

/* Lingering connections, idle ones, stored messages; the epoll timeout. */
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
    if (srv->nlinger > 0 || (srv->idle_ms > 0 && now >= srv->next_tick)) {
        for (conn *c = srv->conns, *n; c; c = n) {
            n = c->next;
            if (c->phase == PH_ACTIVE) {
                if (srv->idle_ms > 0 && now - c->last_in >= srv->idle_ms) {
                    conn_close(c, "idle", NULL);
                    conn_progress(c);
                }
                continue;
            }
            if (now >= c->deadline)
                conn_end(c);
            else if (next < 0 || c->deadline < next)
                next = c->deadline;
        }
    }
    if (now >= srv->next_tick) {
        if (srv->nstored > 0)
            expire_stored(srv);
        srv->next_tick = now + TICK_MS;
    }
    if ((srv->nstored > 0 || srv->idle_ms > 0) &&
        (next < 0 || srv->next_tick < next))
        next = srv->next_tick;
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
    cores_collect(srv);
}

static int run(server *srv)
{
    struct epoll_event evs[MAX_EVENTS];

    for (;;) {
        int timeout = check_timers(srv);
        free_zombies(srv);
        if (srv->stopping && srv->nconns == 0)
            return EXIT_OK;
        int n = epoll_wait(srv->epfd, evs, MAX_EVENTS, timeout);
        if (n < 0) {
            if (errno == EINTR)
                continue;
            fprintf(stderr, "msgin5g-server: epoll_wait: %s\n",
                    strerror(errno));
            return EXIT_IO;
        }
        for (int i = 0; i < n; i++) {
            ev_src *src = evs[i].data.ptr;
            switch (src->kind) {
            case SRC_LISTEN:
                accept_all(srv);
                break;
            case SRC_CORE:
                msgsec_core_dispatch(((corebox *)src)->core, on_session_ready,
                                     srv);
                break;
            case SRC_SIGNAL: {
                struct signalfd_siginfo si;
                while (read(srv->sfd, &si, sizeof(si)) ==
                       (ssize_t)sizeof(si)) {
                    if (si.ssi_signo == SIGHUP && !srv->stopping)
                        reload(srv);
                    else if (si.ssi_signo != SIGHUP && !srv->stopping)
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

/* ------------------------------------------------------------ start-up */

enum {
    OPT_POLICY = 256,
    OPT_SERVICE,
    OPT_LISTEN,
    OPT_GROUPS,
    OPT_STORE_TTL,
    OPT_MAX_CONNS,
    OPT_IDLE
};

#define PROG "msgin5g-server"
#define usage_error(...) msgsec_m5g_usage_error(PROG, __VA_ARGS__)

static int parse_opts(server *srv, int argc, char **argv, const char **listen)
{
    static const struct option longopts[] = {
        {"policy", required_argument, NULL, OPT_POLICY},
        {"service", required_argument, NULL, OPT_SERVICE},
        {"listen", required_argument, NULL, OPT_LISTEN},
        {"groups", required_argument, NULL, OPT_GROUPS},
        {"store-ttl", required_argument, NULL, OPT_STORE_TTL},
        {"max-connections", required_argument, NULL, OPT_MAX_CONNS},
        {"idle-timeout", required_argument, NULL, OPT_IDLE},
        {"help", no_argument, NULL, 'h'},
        {NULL, 0, NULL, 0},
    };
    long v;
    int c;

    opterr = 0;
    while ((c = getopt_long(argc, argv, ":h", longopts, NULL)) != -1) {
        switch (c) {
        case OPT_POLICY:
            srv->policy = optarg;
            break;
        case OPT_SERVICE:
            srv->service = optarg;
            break;
        case OPT_LISTEN:
            *listen = optarg;
            break;
        case OPT_GROUPS:
            srv->groups_path = optarg;
            break;
        case OPT_STORE_TTL:
            if (msgsec_m5g_number(optarg, 1, 315360000, &v) < 0)
                return usage_error("--store-ttl '%s': seconds, 1 or more",
                                   optarg);
            srv->store_ttl = v;
            break;
        case OPT_MAX_CONNS:
            if (msgsec_m5g_number(optarg, 1, 10000000, &v) < 0)
                return usage_error("--max-connections '%s': a number from 1 "
                                   "to 10000000",
                                   optarg);
            srv->max_conns = (size_t)v;
            break;
        case OPT_IDLE:
            if (msgsec_m5g_number(optarg, 0, 86400 * 365, &v) < 0)
                return usage_error("--idle-timeout '%s': seconds, 0 for none",
                                   optarg);
            srv->idle_ms = (int64_t)v * 1000;
            break;
        default:
            return msgsec_m5g_opt_other(c, PROG, usage_text, argv);
        }
    }
    if (optind < argc)
        return usage_error("unexpected argument '%s'", argv[optind]);
    if (!srv->policy || !srv->policy[0])
        return usage_error("--policy FILE is required");
    if (!srv->service[0])
        return usage_error("--service: empty name");
    if (!*listen)
        return usage_error("--listen HOST:PORT is required");
    return -1;
}

/* More connections need more descriptors: the soft limit goes up to the
 * hard one. Returns the limit in force. */
static size_t raise_nofile(void)
{
    struct rlimit rl;
    if (getrlimit(RLIMIT_NOFILE, &rl) < 0)
        return 1024;
    if (rl.rlim_cur < rl.rlim_max) {
        rlim_t want = rl.rlim_max;
        rl.rlim_cur = want;
        if (setrlimit(RLIMIT_NOFILE, &rl) < 0)
            getrlimit(RLIMIT_NOFILE, &rl);
    }
    return rl.rlim_cur == RLIM_INFINITY || rl.rlim_cur > 10000000
               ? 10000000
               : (size_t)rl.rlim_cur;
}

static int start(server *srv, const char *host, const char *port)
{
    static const int sigs[] = {SIGTERM, SIGINT, SIGHUP, 0};
    char err[DETAIL_MAX], addr[MSGSEC_NET_ADDR_MAX];
    msgsec_core *core = NULL;

    /* Before any core exists: its provider threads inherit the mask. */
    if ((srv->sfd = msgsec_net_signalfd(sigs)) < 0) {
        fprintf(stderr, "msgin5g-server: signalfd: %s\n", strerror(errno));
        return EXIT_IO;
    }
    signal(SIGPIPE, SIG_IGN);
    if (srv->groups_path &&
        groups_load(srv->groups_path, &srv->groups, err, sizeof(err)) < 0) {
        fprintf(stderr, "msgin5g-server: groups: %s\n", err);
        return EXIT_CONFIG;
    }
    if ((srv->epfd = epoll_create1(EPOLL_CLOEXEC)) < 0 ||
        ep_set(srv, srv->sfd, &srv->ssrc, EPOLLIN, EPOLL_CTL_ADD) < 0) {
        fprintf(stderr, "msgin5g-server: epoll: %s\n", strerror(errno));
        return EXIT_IO;
    }
    if (core_open(srv, &core, err, sizeof(err)) < 0) {
        fprintf(stderr, "msgin5g-server: %s\n", err);
        return EXIT_CONFIG;
    }
    if (core_install(srv, core, err, sizeof(err)) < 0) {
        fprintf(stderr, "msgin5g-server: %s\n", err);
        return EXIT_IO;
    }
    if (msgsec_net_listen(host, port, BACKLOG, &srv->lfd, err, sizeof(err)) <
        0) {
        fprintf(stderr, "msgin5g-server: %s\n", err);
        return EXIT_IO;
    }
    listen_on(srv, 1);
    int rc = msgsec_net_local_text(srv->lfd, addr, sizeof(addr));
    if (!srv->listening || rc < 0) {
        fprintf(stderr, "msgin5g-server: listen: %s\n",
                strerror(rc < 0 ? -rc : errno));
        return EXIT_IO;
    }
    fprintf(stderr, "listening on %s\n", addr);
    fflush(stderr);
    srv->next_tick = msgsec_net_now_ms() + TICK_MS;
    return run(srv);
}

static void server_free(server *srv)
{
    srv->stopping = 1;
    while (srv->conns)
        conn_end(srv->conns);
    free_zombies(srv);
    while (srv->shead) {
        stored_msg *m = srv->shead;
        stored_unlink(srv, m);
        stored_free(m);
    }
    for (size_t i = 0; i < srv->nbuckets; i++) {
        for (ue_rec *r = srv->buckets[i], *next; r; r = next) {
            next = r->hnext;
            free(r->id);
            free(r);
        }
    }
    free(srv->buckets);
    groups_free(srv->groups);
    if (srv->cur)
        srv->cur->refs--;
    cores_collect(srv);
    if (srv->lfd >= 0)
        close(srv->lfd);
    if (srv->epfd >= 0)
        close(srv->epfd);
    if (srv->sfd >= 0)
        close(srv->sfd);
    if (srv->mbuf) {
        explicit_bzero(srv->mbuf, srv->mcap);
        free(srv->mbuf);
    }
    free(srv);
}

int main(int argc, char **argv)
{
    char host[256], port[8], err[MSGSEC_NET_ERR_MAX];
    const char *listen = NULL;
    server *srv = calloc(1, sizeof(*srv));
    int rc;

    if (!srv) {
        fputs("msgin5g-server: out of memory\n", stderr);
        return EXIT_IO;
    }
    srv->epfd = srv->lfd = srv->sfd = -1;
    srv->service = "msgin5g-1";
    srv->store_ttl = 300;
    srv->lsrc.kind = SRC_LISTEN;
    srv->ssrc.kind = SRC_SIGNAL;
    rc = parse_opts(srv, argc, argv, &listen);
    if (rc < 0 && msgsec_net_split(listen, host, sizeof(host), port,
                                   sizeof(port), err, sizeof(err)) < 0)
        rc = usage_error("--listen %s", err);
    if (rc < 0) {
        size_t lim = raise_nofile();
        if (!srv->max_conns)
            srv->max_conns = lim > 64 ? lim - 32 : 32;
        srv->mcap = READ_CHUNK;
        srv->mbuf = malloc(srv->mcap);
        rc = srv->mbuf ? start(srv, host, port) : EXIT_IO;
    }
    server_free(srv);
    return rc;
}
