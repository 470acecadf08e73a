/*
 * server.c - msgin5g-server: an MSGin5G Server embedding libmsgsec through
 * its integrator API only (doc/msgin5g.md).
 *
 * The event loop is netloop's (tools/netloop.h): one thread and one epoll
 * set hold the listening socket, every connection, a signalfd (SIGTERM,
 * SIGINT, SIGHUP) and the descriptor of each live core: a session waiting
 * for a key look-up, or a registration waiting for its SEAL authorization,
 * never blocks the others. A connection not authenticated and registered
 * within --handshake-timeout is closed.
 *
 * Cores are reference counted: SIGHUP builds a new one from the policy for
 * new connections; a connection keeps the core it started with, and an old
 * core is freed at the end of the loop round in which its last connection
 * ended (never inside its own dispatch).
 *
 * Registrations live in a hash table keyed by ueServiceId: a UE whose
 * connection ended without DEREG stays registered (offline) and gets its
 * stored messages when it registers again; what is stored is capped per
 * UE and in all (--max-stored-per-ue, --max-stored).
 */
#include <errno.h>
#include <getopt.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <time.h>

#include <msgsec/msgsec.h>

#include "cli.h"
#include "msg.h"
#include "netio.h"
#include "netloop.h"

/* Stop reading from a peer this far behind with its answers... */
#define OUT_HIGH (1u << 20)
/* ...and cut off a recipient this far behind with its messages. */
#define OUT_LIMIT (4u << 20)
/* The largest message (message framing) the server takes. */
#define MSG_CAP (1u << 20)
#define LINGER_MS 2000
#define TICK_MS 1000
#define BACKLOG 1024
#define DEFAULT_SETTLE_S 10
#define DEFAULT_MAX_STORED 10000
#define DEFAULT_MAX_STORED_UE 100
#define LOG_MAX 4096
#define DETAIL_MAX 1024
#define EXIT_OK 0
#define EXIT_CONFIG 1
#define EXIT_USAGE 2
#define EXIT_IO 4

#define PH_ACTIVE MSGSEC_NET_ACTIVE

typedef struct server server;
typedef struct conn conn;
typedef struct ue_rec ue_rec;

typedef struct corebox {
    msgsec_nl_core w;  /* the core and its watch */
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
    size_t nq;      /* messages in the queue */
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
    msgsec_nl_conn nl;    /* socket, session, phase, output (netloop) */
    server *srv;
    corebox *box;
    unsigned long long id;
    msgsec_m5g_lines lines;
    char *who;            /* " scheme=S identity=I" once established
                             (sized to fit: connections are many) */
    ue_rec *reg;          /* the registration this connection holds */
    msgsec_authz *authz;  /* a REG waiting for its authorization */
    char *authz_ue, *authz_msg_id;
};

struct server {
    msgsec_nl_server nl;  /* the loop, its connections and settings */
    const char *policy, *service, *groups_path;
    int64_t store_ttl;
    size_t max_stored, max_stored_ue;
    corebox *cur, *boxes;
    unsigned gen;
    unsigned long long next_id;
    ue_rec **buckets;
    size_t nbuckets, nrecs;
    stored_msg *shead, *stail;
    size_t nstored;
    groups *groups;
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
    "  --handshake-timeout S  close a connection not authenticated and\n"
    "                         registered within S seconds (default 10;\n"
    "                         0: never)\n"
    "  --max-stored N         messages and reports stored in all, at most\n"
    "                         (default 10000); beyond, DELY_FAILED with\n"
    "                         failureCause STORAGE_FULL\n"
    "  --max-stored-per-ue N  the same for each offline UE (default 100)\n"
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
    lb_add(b, " conn=%llu addr=%s%s", c->id, c->nl.addr,
           c->who ? c->who : "");
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
    r->nq--;
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

/* Keeps a line for r, which is registered and offline. 0, -1 (out of
 * memory) or -2 (a storage cap reached). */
static int store_for(server *srv, ue_rec *r, int type, int report,
                     int64_t expiry, const char *sender, const char *msg_id,
                     const char *line, size_t len)
{
    if (srv->nstored >= srv->max_stored || r->nq >= srv->max_stored_ue)
        return -2;
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
    r->nq++;
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
    b->gen = ++srv->gen;
    b->refs = 1;
    if (msgsec_nl_watch_core(&srv->nl, &b->w, core) < 0) {
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
static void cores_collect(msgsec_nl_server *nl)
{
    server *srv = (server *)nl;

    for (corebox **pp = &srv->boxes; *pp;) {
        corebox *b = *pp;
        if (b->refs > 0) {
            pp = &b->next;
            continue;
        }
        *pp = b->next;
        msgsec_nl_unwatch_core(nl, &b->w);
        msgsec_core_free(b->w.core);
        if (!nl->stopping) {
            logbuf l;
            lb_start(&l, "core-freed", NULL);
            lb_add(&l, " core=%u", b->gen);
            lb_emit(&l);
        }
        free(b);
    }
}

/* ------------------------------------------------------------ connections */

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
    c->nl.hold = 0;
    free(c->authz_ue);
    free(c->authz_msg_id);
    c->authz_ue = c->authz_msg_id = NULL;
}

/* Logs why c closes and drops what it holds (its registration stays). */
static void conn_log_close(conn *c, const char *reason, const char *detail)
{
    logbuf l;

    lb_start(&l, "close", c);
    lb_kv(&l, "reason", reason);
    if (detail)
        lb_detail(&l, detail);
    lb_emit(&l);
    conn_unbind(c);
    msgsec_m5g_lines_free(&c->lines);
}

/* Our side is done: log why, queue the session's last bytes (a close
 * message first when close_session), then write them out, shut down and
 * drain. */
static void conn_end_why(conn *c, int close_session, const char *reason,
                         const char *detail)
{
    if (c->nl.phase != PH_ACTIVE)
        return;
    conn_log_close(c, reason, detail);
    msgsec_nl_finish(&c->nl, close_session);
}

static void conn_finish(conn *c, const char *reason, const char *detail)
{
    conn_end_why(c, 0, reason, detail);
}

/* Closes a usable session properly (close_notify), then finishes. */
static void conn_close(conn *c, const char *reason, const char *detail)
{
    conn_end_why(c, 1, reason, detail);
}

/* The handshake failed with code. */
static void log_auth_failed(conn *c, int code, const char *detail)
{
    logbuf l;
    lb_start(&l, "auth", c);
    lb_add(&l, " core=%u outcome=failed error=%s", c->box->gen,
           msgsec_error_name(code));
    lb_detail(&l, detail);
    lb_emit(&l);
}

/* netloop ends c: the log line and the close reason. */
static void on_end(msgsec_nl_conn *nc, int why, int code, const char *detail)
{
    conn *c = (conn *)nc;
    char t[DETAIL_MAX];
    logbuf l;

    switch (why) {
    case MSGSEC_NL_FAILED:
        if (!nc->established) {
            log_auth_failed(c, code, detail);
            conn_log_close(c, "auth-failed", NULL);
        } else {
            snprintf(t, sizeof(t), "%s: %s", msgsec_error_name(code), detail);
            conn_log_close(c, "session-failed", t);
        }
        break;
    case MSGSEC_NL_PEER_CLOSED:
        conn_log_close(c, msgsec_m5g_lines_pending(&c->lines)
                              ? "peer-closed-mid-line"
                              : "peer-closed",
                       NULL);
        break;
    case MSGSEC_NL_PEER_EOF:
        if (nc->established) {
            conn_log_close(c, "peer-disconnected", NULL);
        } else {
            log_auth_failed(c, MSGSEC_ERR_PEER_REJECTED,
                            "the peer closed the connection during the "
                            "handshake");
            conn_log_close(c, "auth-failed", NULL);
        }
        break;
    case MSGSEC_NL_READ_ERROR:
        conn_log_close(c, "read-error", detail);
        break;
    case MSGSEC_NL_WRITE_ERROR:
        conn_log_close(c, "write-error", detail);
        break;
    case MSGSEC_NL_OVERSIZED:
        lb_start(&l, "malformed", c);
        lb_add(&l, " bytes=%d", code);
        lb_detail(&l, "a message longer than 16384 bytes");
        lb_emit(&l);
        conn_log_close(c, "oversized", NULL);
        break;
    case MSGSEC_NL_IDLE:
        conn_log_close(c, "idle", NULL);
        break;
    case MSGSEC_NL_UNSETTLED:
        snprintf(t, sizeof(t), "%s within %lld s",
                 nc->established ? "authenticated but not registered"
                                 : "not authenticated",
                 (long long)(nc->srv->settle_ms / 1000));
        conn_log_close(c, "handshake-timeout", t);
        break;
    case MSGSEC_NL_SHUTDOWN:
        conn_log_close(c, "server-shutdown", NULL);
        break;
    default:
        conn_log_close(c, "no-memory", NULL);
        break;
    }
}

static void on_gone(msgsec_nl_conn *nc)
{
    conn *c = (conn *)nc;
    conn_unbind(c);
    msgsec_m5g_lines_free(&c->lines);
    free(c->who);
    c->who = NULL;
    c->box->refs--;
}

/* Sends one wire line on c's session and writes it out. 0, or -1 when c
 * can take no more (it is then finishing or ended). */
static int conn_send(conn *c, const char *line, size_t len)
{
    if (c->nl.phase != PH_ACTIVE)
        return -1;
    if (c->nl.out.len > OUT_LIMIT) {
        conn_close(c, "slow-reader", "too much output waiting for the peer");
        msgsec_nl_progress(&c->nl);
        return -1;
    }
    return msgsec_nl_send(&c->nl, line, len);
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
 * (0: offline and not to be stored; -1: storing failed; -2: a storage cap
 * reached). */
static int deliver_to(server *srv, ue_rec *r, int store, int type,
                      int report, int64_t expiry, const char *sender,
                      const char *msg_id, const char *line, size_t len)
{
    if (r->c && r->c->nl.phase == PH_ACTIVE &&
        conn_send(r->c, line, len) == 0)
        return 1;
    if (!r->registered || !store)
        return 0;
    int rc = store_for(srv, r, type, report, expiry, sender, msg_id, line,
                       len);
    return rc == 0 ? 2 : rc;
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

/* The MSGRESP status for a delivery, and the cause of a failure. */
static int route_status(int delivered, int stored, int full,
                        const char **cause)
{
    /* Some recipient got it (or will): the sender hears of the rest
     * through delivery reports. */
    if (delivered || stored) {
        *cause = NULL;
        return delivered ? MSGSEC_M5G_DELY_ACCEPTED : MSGSEC_M5G_DELY_STORED;
    }
    if (!*cause)
        *cause = full ? "STORAGE_FULL" : "NO_MEMBER_ONLINE";
    return MSGSEC_M5G_DELY_FAILED;
}

/* MSG from the registered UE of c (oriAddr verified). */
static void route_msg(conn *c, const msgsec_m5g_msg *m, const char *line,
                      size_t len)
{
    server *srv = c->srv;
    const char *me = c->reg->id, *cause = NULL, *msg_id = m->msg_id;
    int delivered = 0, stored = 0, full = 0, status;
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
            full = k == -2;
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
            full += k == -2;
        }
    } else {
        /* Broadcast: every other connected, registered UE. */
        for (msgsec_nl_conn *t = srv->nl.conns, *next; t; t = next) {
            conn *tc = (conn *)t;
            next = t->next;
            if (tc != c && tc->reg && t->phase == PH_ACTIVE &&
                conn_send(tc, line, len) == 0)
                delivered++;
        }
    }
    status = route_status(delivered, stored, full, &cause);
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
    status = route_status(k == 1, k == 2, k == -2, &cause);
    log_route(c, m, msgsec_m5g_status_name(status), cause, k == 1, k == 2);
    reply(c, m->msg_id, status, cause);
}

/* Forwards what was stored for r, now online on c, in order. */
static void deliver_stored(conn *c, ue_rec *r)
{
    server *srv = c->srv;

    while (r->qhead && c->nl.phase == PH_ACTIVE && c->reg == r) {
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
            msgsec_nl_progress(&prev->nl);
        }
        r->c = c;
        r->registered = 1;
        c->reg = r;
        msgsec_nl_settle(&c->nl);
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
    if (!c || !c->nl.src.ready || c->nl.phase != PH_ACTIVE || c->authz != a)
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
    c->nl.hold = 0;
    msgsec_authz_free(a);
    reg_done(c, id, ue, rc, source, detail);
    free(ue);
    free(id);
    process_lines(c);
    if (c->nl.src.ready && c->nl.phase == PH_ACTIVE)
        msgsec_nl_progress(&c->nl);
}

static void handle_reg(conn *c, const msgsec_m5g_msg *m)
{
    const char *source =
        msgsec_core_service_authorizer(c->box->w.core, c->srv->service);
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
    int rc = msgsec_session_authorize(c->nl.s, m->ue_service_id, &cfg, &a);
    if (rc == MSGSEC_PENDING) {
        /* The lines after it wait (answers stay in order). */
        c->authz = a;
        c->nl.hold = 1;
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

    while (c->nl.src.ready && c->nl.phase == PH_ACTIVE && !c->authz) {
        int rc = msgsec_m5g_lines_next(&c->lines, &line, &len);
        if (rc == 0) {
            /* Drained: an idle connection keeps no line buffer. */
            if (msgsec_m5g_lines_pending(&c->lines) == 0)
                msgsec_m5g_lines_free(&c->lines);
            return;
        }
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


/* The handshake completed: the auth line. */
static int on_established(msgsec_nl_conn *nc)
{
    conn *c = (conn *)nc;
    msgsec_peer peer;
    char text[MSGSEC_NET_PEER_MAX], scheme[128], id[700], who[900];
    logbuf l;

    msgsec_net_session_peer(nc->s, &peer);
    msgsec_net_escape(peer.scheme, scheme, sizeof(scheme));
    msgsec_net_escape(peer.identity, id, sizeof(id));
    snprintf(who, sizeof(who), " scheme=%s identity=%s", scheme, id);
    if (!(c->who = strdup(who))) {
        conn_finish(c, "no-memory", NULL);
        return -1;
    }
    msgsec_net_peer_text(&peer, text, sizeof(text));
    lb_start(&l, "auth", NULL);
    lb_add(&l, " conn=%llu addr=%s%s core=%u outcome=ok", c->id, nc->addr,
           text, c->box->gen);
    lb_emit(&l);
    return 0;
}

/* Plaintext into the line splitter; the complete lines handled. */
static int on_data(msgsec_nl_conn *nc, const unsigned char *p, size_t n)
{
    conn *c = (conn *)nc;

    /* With message framing a message is a line: its LF may be left out
     * (e.g. `msgsec connect` sends typed lines without theirs). */
    int add_lf = msgsec_session_framing(nc->s) == MSGSEC_FRAMING_MESSAGE &&
                 (n == 0 || p[n - 1] != '\n');
    if (msgsec_m5g_lines_push(&c->lines, p, n) < 0 ||
        (add_lf && msgsec_m5g_lines_push(&c->lines, "\n", 1) < 0)) {
        conn_finish(c, "no-memory", NULL);
        return -1;
    }
    process_lines(c);
    return nc->src.ready && nc->phase == PH_ACTIVE ? 0 : -1;
}

/* A connection was accepted: its session, on the current core. */
static int on_open(msgsec_nl_conn *nc)
{
    conn *c = (conn *)nc;
    server *srv = (server *)nc->srv;
    msgsec_session_config cfg;
    int rc;

    c->srv = srv;
    c->id = ++srv->next_id;
    c->box = srv->cur;
    memset(&cfg, 0, sizeof(cfg));
    cfg.size = sizeof(cfg);
    cfg.user_data = c;
    rc = msgsec_session_new(c->box->w.core, srv->service, MSGSEC_ROLE_SERVER,
                            &cfg, &nc->s);
    if (rc < 0) {
        log_auth_failed(c, rc, msgsec_last_detail());
        return -1;
    }
    c->box->refs++;
    return 0;
}

static void on_accept_paused(msgsec_nl_server *nl, int err)
{
    logbuf l;
    (void)nl;
    lb_start(&l, "accept", NULL);
    lb_add(&l, " outcome=paused");
    lb_detail(&l, strerror(err));
    lb_emit(&l);
}

/* ------------------------------------------------------------ signals, timers */

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

/* SIGHUP reloads; SIGTERM/SIGINT stop accepting and close every session
 * cleanly. */
static void on_signal(msgsec_nl_server *nl, int signo)
{
    server *srv = (server *)nl;
    logbuf l;

    if (nl->stopping)
        return;
    if (signo == SIGHUP) {
        reload(srv);
        return;
    }
    lb_start(&l, "shutdown", NULL);
    lb_add(&l, " connections=%zu stored=%zu", nl->nconns, srv->nstored);
    lb_emit(&l);
    msgsec_nl_stop(nl);
}

/* Stored messages past their time: dropped, and the sender told when it
 * asked for a report. */
static void expire_stored(msgsec_nl_server *nl)
{
    server *srv = (server *)nl;
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

static const msgsec_nl_ops server_ops = {
    .conn_size = sizeof(conn),
    .open = on_open,
    .established = on_established,
    .data = on_data,
    .end = on_end,
    .gone = on_gone,
    .signal = on_signal,
    .tick = expire_stored,
    .between = cores_collect,
    .accept_paused = on_accept_paused,
};

/* ------------------------------------------------------------ start-up */

enum {
    OPT_POLICY = 256,
    OPT_SERVICE,
    OPT_LISTEN,
    OPT_GROUPS,
    OPT_STORE_TTL,
    OPT_MAX_CONNS,
    OPT_IDLE,
    OPT_SETTLE,
    OPT_MAX_STORED,
    OPT_MAX_STORED_UE
};

#define PROG "msgin5g-server"
#define usage_error(...) msgsec_cli_usage_error_for(PROG, NULL, __VA_ARGS__)

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
        {"handshake-timeout", required_argument, NULL, OPT_SETTLE},
        {"max-stored", required_argument, NULL, OPT_MAX_STORED},
        {"max-stored-per-ue", required_argument, NULL, OPT_MAX_STORED_UE},
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
            if (msgsec_cli_number(optarg, 1, 315360000, &v) < 0)
                return usage_error("--store-ttl '%s': seconds, 1 or more",
                                   optarg);
            srv->store_ttl = v;
            break;
        case OPT_MAX_CONNS:
            if (msgsec_cli_number(optarg, 1, 10000000, &v) < 0)
                return usage_error("--max-connections '%s': a number from 1 "
                                   "to 10000000",
                                   optarg);
            srv->nl.max_conns = (size_t)v;
            break;
        case OPT_IDLE:
        case OPT_SETTLE:
            if (msgsec_cli_number(optarg, 0, 86400 * 365, &v) < 0)
                return usage_error("%s '%s': seconds, 0 for none",
                                   c == OPT_IDLE ? "--idle-timeout"
                                                 : "--handshake-timeout",
                                   optarg);
            *(c == OPT_IDLE ? &srv->nl.idle_ms : &srv->nl.settle_ms) =
                (int64_t)v * 1000;
            break;
        case OPT_MAX_STORED:
        case OPT_MAX_STORED_UE:
            if (msgsec_cli_number(optarg, 0, 100000000, &v) < 0)
                return usage_error("%s '%s': a number from 0 to 100000000",
                                   c == OPT_MAX_STORED ? "--max-stored"
                                                       : "--max-stored-per-ue",
                                   optarg);
            *(c == OPT_MAX_STORED ? &srv->max_stored : &srv->max_stored_ue) =
                (size_t)v;
            break;
        default:
            return msgsec_cli_opt_other(PROG, NULL, c, usage_text, argv);
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
    if (msgsec_nl_init(&srv->nl, &server_ops, sigs, err, sizeof(err)) < 0) {
        fprintf(stderr, PROG ": %s\n", err);
        return EXIT_IO;
    }
    if (srv->groups_path &&
        groups_load(srv->groups_path, &srv->groups, err, sizeof(err)) < 0) {
        fprintf(stderr, PROG ": groups: %s\n", err);
        return EXIT_CONFIG;
    }
    if (core_open(srv, &core, err, sizeof(err)) < 0) {
        fprintf(stderr, PROG ": %s\n", err);
        return EXIT_CONFIG;
    }
    if (core_install(srv, core, err, sizeof(err)) < 0 ||
        msgsec_nl_listen(&srv->nl, host, port, BACKLOG, addr, sizeof(addr),
                         err, sizeof(err)) < 0) {
        fprintf(stderr, PROG ": %s\n", err);
        return EXIT_IO;
    }
    fprintf(stderr, "listening on %s\n", addr);
    fflush(stderr);
    int rc = msgsec_nl_run(&srv->nl);
    if (rc < 0) {
        fprintf(stderr, PROG ": epoll_wait: %s\n", strerror(-rc));
        return EXIT_IO;
    }
    return EXIT_OK;
}

static void server_free(server *srv)
{
    msgsec_nl_free(&srv->nl);
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
    cores_collect(&srv->nl);
    free(srv);
}

int main(int argc, char **argv)
{
    char host[256], port[8], err[MSGSEC_NET_ERR_MAX];
    const char *listen = NULL;
    server *srv = calloc(1, sizeof(*srv));
    int rc;

    if (!srv) {
        fputs(PROG ": out of memory\n", stderr);
        return EXIT_IO;
    }
    srv->nl.epfd = srv->nl.lfd = srv->nl.sfd = -1;
    srv->service = "msgin5g-1";
    srv->store_ttl = 300;
    srv->max_stored = DEFAULT_MAX_STORED;
    srv->max_stored_ue = DEFAULT_MAX_STORED_UE;
    srv->nl.settle_ms = DEFAULT_SETTLE_S * 1000;
    srv->nl.out_high = OUT_HIGH;
    srv->nl.msg_max = MSG_CAP;
    srv->nl.linger_ms = LINGER_MS;
    srv->nl.tick_ms = TICK_MS;
    rc = parse_opts(srv, argc, argv, &listen);
    if (rc < 0 && msgsec_net_split(listen, host, sizeof(host), port,
                                   sizeof(port), err, sizeof(err)) < 0)
        rc = usage_error("--listen %s", err);
    if (rc < 0) {
        size_t lim = raise_nofile();
        if (!srv->nl.max_conns)
            srv->nl.max_conns = lim > 64 ? lim - 32 : 32;
        rc = start(srv, host, port);
    }
    server_free(srv);
    return rc;
}
