/*
 * msgin5g_load.c - a load generator for msgin5g-server: N concurrent AKMA
 * clients in one process, one epoll loop, libmsgsec client sessions.
 *
 * K UEs (SUPI and K_AUSF, registered with the AAnF beforehand; see
 * bench/run-load.sh) give K distinct A-KIDs; client i authenticates as UE
 * i mod K, so the server's AAnF sees K look-ups at most, however large N
 * is. Phases:
 *   1. connect all N (at most --inflight handshakes at a time),
 *      authenticate, REG as load-<i>@DOMAIN; the server's VmRSS is read
 *      before and after, all N connections idle and registered;
 *   2. client i sends M messages, one at a time (the next after the
 *      server's MSGRESP), to client (i + 1) mod N; the payload carries the
 *      send time, so that the receiver measures send-to-receipt latency.
 * Prints handshakes/s, messages/s, p50 and p99 latency, the AAnF requests
 * made (from msgsec-aanf's log) and server memory per idle authenticated
 * connection, and, as the project's benchmarks do, a raw-OpenSSL figure
 * from the same process: in-memory TLS 1.3 PSK handshakes (informative:
 * the load figure includes the network, the server and the AAnF).
 *
 * Without arguments it runs bench/run-load.sh, which sets all of that up
 * and runs it again with the arguments below.
 *
 * Nothing is asserted about timings; the exit status says whether every
 * client registered and every message arrived (0), or not (1); 2 is a
 * usage error.
 */
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include <openssl/crypto.h>

#include <msgsec/msgsec.h>

#include "benchutil.h"
#include "examples/msgin5g/msg.h"
#include "tools/netio.h"

#define UE_MAX 4096
#define ID_LEN 80
#define READ_CHUNK 65536
#define MAX_EVENTS 256
/* Descriptors kept for the process itself (stdio, the cores, epoll). */
#define FD_RESERVE 32

enum cstate {
    C_IDLE = 0,
    C_CONNECTING,
    C_HANDSHAKE,
    C_REGISTERING,
    C_REGISTERED,
    C_FAILED
};

enum src_kind { SRC_CONN = 1, SRC_CORE };

typedef struct ue {
    char supi[64];
    char kausf_file[1024];
    msgsec_core *core;
    int src; /* SRC_CORE, for epoll */
} ue;

typedef struct client {
    int src; /* SRC_CONN, first member */
    int idx;
    int fd;
    int state;
    msgsec_session *s;
    msgsec_netbuf out;
    msgsec_m5g_lines in;
    int sent;      /* messages sent */
    int accepted;  /* MSGRESP DELY_ACCEPTED received */
    int received;  /* MSG received */
    int waiting;   /* a MSG awaits its MSGRESP */
    uint32_t events;
} client;

typedef struct load {
    const char *host, *port, *service, *provider_dir, *af_fqdn, *domain;
    int framing;
    int n, m, inflight;
    ue *ues;
    size_t k;
    client *c;
    int ep;
    int phase; /* 1: registration, 2: messages */
    int connecting, next_conn;
    int established, registered, failed;
    long long accepted, received, sent;
    double t0, t_last_est, t_last_reg, t2, t_last_recv;
    double *lat;
    size_t nlat;
    long refused; /* MSGRESP other than expected */
} load;

static double now(void)
{
    return msgsec_bench_now();
}

static int64_t now_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

/* ---------------------------------------------------------- the UEs */

static size_t read_ues(const char *path, ue **out)
{
    FILE *f = fopen(path, "r");
    if (!f) {
        fprintf(stderr, "msgin5g_load: %s: %s\n", path, strerror(errno));
        exit(2);
    }
    ue *u = calloc(UE_MAX, sizeof(*u));
    if (!u)
        msgsec_bench_die("no memory");
    char line[512];
    size_t k = 0;
    unsigned lineno = 0;
    while (fgets(line, sizeof(line), f)) {
        lineno++;
        if (line[0] == '#' || line[0] == '\n')
            continue;
        if (k == UE_MAX ||
            sscanf(line, "%63s %1023s", u[k].supi, u[k].kausf_file) != 2) {
            fprintf(stderr, "msgin5g_load: %s:%u: want \"SUPI KAUSF-FILE\" "
                            "(at most %d lines)\n",
                    path, lineno, UE_MAX);
            exit(2);
        }
        k++;
    }
    fclose(f);
    if (k == 0) {
        fprintf(stderr, "msgin5g_load: %s: no UE\n", path);
        exit(2);
    }
    *out = u;
    return k;
}

static void open_cores(load *L)
{
    for (size_t i = 0; i < L->k; i++) {
        char policy[2048], detail[1024] = "";
        snprintf(policy, sizeof(policy),
                 "[core]\nprovider_dir = %s\n"
                 "[provider.akma]\nsupport = mandatory\nkausf_file = %s\n"
                 "supi = %s\nrid = 0\nmcc = 001\nmnc = 01\naf_fqdn = %s\n"
                 "[service.%s]\nuse = akma\nnegotiation = implicit\n"
                 "framing = %s\n",
                 L->provider_dir, L->ues[i].kausf_file, L->ues[i].supi,
                 L->af_fqdn, L->service,
                 L->framing == MSGSEC_FRAMING_STREAM ? "stream" : "message");
        int rc = msgsec_core_new_from_string(policy, "<load UE>", NULL, 0,
                                             &L->ues[i].core, detail,
                                             sizeof(detail));
        if (rc != 0) {
            fprintf(stderr, "msgin5g_load: UE %s: %s: %s\n", L->ues[i].supi,
                    msgsec_error_name(rc), detail);
            exit(1);
        }
        L->ues[i].src = SRC_CORE;
        struct epoll_event ev = {.events = EPOLLIN, .data.ptr = &L->ues[i]};
        if (epoll_ctl(L->ep, EPOLL_CTL_ADD, msgsec_core_fd(L->ues[i].core),
                      &ev) != 0)
            msgsec_bench_die("epoll_ctl (core)");
    }
}

/* ------------------------------------------------------- connections */

static void set_events(load *L, client *c, uint32_t ev)
{
    if (c->events == ev)
        return;
    struct epoll_event e = {.events = ev, .data.ptr = c};
    if (epoll_ctl(L->ep, EPOLL_CTL_MOD, c->fd, &e) == 0)
        c->events = ev;
}

static void fail(load *L, client *c, const char *why)
{
    if (c->state == C_FAILED)
        return;
    if (c->state == C_CONNECTING || c->state == C_HANDSHAKE)
        L->connecting--;
    if (L->failed < 10)
        fprintf(stderr, "msgin5g_load: client %d: %s\n", c->idx, why);
    else if (L->failed == 10)
        fprintf(stderr, "msgin5g_load: (further client failures not shown)\n");
    L->failed++;
    c->state = C_FAILED;
    if (c->fd >= 0) {
        epoll_ctl(L->ep, EPOLL_CTL_DEL, c->fd, NULL);
        close(c->fd);
        c->fd = -1;
    }
    msgsec_session_free(c->s);
    c->s = NULL;
    msgsec_netbuf_free(&c->out);
    msgsec_m5g_lines_free(&c->in);
}

/* Sends the session's queued bytes; waits for EPOLLOUT when the socket
 * is full. */
static void flush(load *L, client *c)
{
    if (msgsec_net_pull(c->s, &c->out) != 0) {
        fail(L, c, "out of memory");
        return;
    }
    int rc = msgsec_net_flush(c->fd, &c->out);
    if (rc < 0) {
        fail(L, c, strerror(-rc));
        return;
    }
    set_events(L, c, EPOLLIN | (c->out.len ? EPOLLOUT : 0));
}

static void id_of(const load *L, int i, char *out)
{
    snprintf(out, ID_LEN, "load-%d@%s", i, L->domain);
}

static int send_msg(load *L, client *c, const msgsec_m5g_msg *m)
{
    size_t len = 0;
    char *line = msgsec_m5g_build(m, &len);
    if (!line) {
        fail(L, c, "cannot build a message");
        return -1;
    }
    int rc = msgsec_session_send(c->s, line, len);
    free(line);
    if (rc != 0) {
        fail(L, c, msgsec_session_detail(c->s));
        return -1;
    }
    flush(L, c);
    return c->state == C_FAILED ? -1 : 0;
}

static void send_next(load *L, client *c)
{
    char me[ID_LEN], dest[ID_LEN], id[32], payload[48];
    id_of(L, c->idx, me);
    id_of(L, (c->idx + 1) % L->n, dest);
    snprintf(id, sizeof(id), "m%d", c->sent + 1);
    snprintf(payload, sizeof(payload), "t=%lld", (long long)now_ns());
    msgsec_m5g_msg m = {.type = MSGSEC_M5G_MSG,
                        .msg_id = id,
                        .ori = {MSGSEC_M5G_ADDR_UE, me},
                        .dest = {MSGSEC_M5G_ADDR_UE, dest},
                        .payload = payload,
                        .payload_len = strlen(payload)};
    if (send_msg(L, c, &m) == 0) {
        c->sent++;
        c->waiting = 1;
        L->sent++;
    }
}

static void on_line(load *L, client *c, const char *line, size_t len)
{
    msgsec_m5g_msg m;
    char why[256];
    int rc = msgsec_m5g_parse(line, len, &m, why, sizeof(why));
    if (rc != 0) {
        msgsec_m5g_msg_clear(&m);
        char t[300];
        snprintf(t, sizeof(t), "the server sent a bad line: %s", why);
        fail(L, c, t);
        return;
    }
    if (m.type == MSGSEC_M5G_MSGRESP && c->state == C_REGISTERING) {
        if (m.status == MSGSEC_M5G_REG_SUCCESS) {
            c->state = C_REGISTERED;
            L->registered++;
            L->t_last_reg = now();
        } else {
            char t[300];
            snprintf(t, sizeof(t), "REG answered %s %s",
                     msgsec_m5g_status_name(m.status),
                     m.failure_cause ? m.failure_cause : "");
            fail(L, c, t);
        }
    } else if (m.type == MSGSEC_M5G_MSGRESP && c->waiting) {
        c->waiting = 0;
        if (m.status == MSGSEC_M5G_DELY_ACCEPTED) {
            c->accepted++;
            L->accepted++;
            if (c->sent < L->m)
                send_next(L, c);
        } else {
            L->refused++;
            char t[300];
            snprintf(t, sizeof(t), "MSG answered %s %s",
                     msgsec_m5g_status_name(m.status),
                     m.failure_cause ? m.failure_cause : "");
            fail(L, c, t);
        }
    } else if (m.type == MSGSEC_M5G_MSG && m.payload &&
               m.payload_len > 2 && strncmp(m.payload, "t=", 2) == 0) {
        int64_t t = strtoll(m.payload + 2, NULL, 10);
        if (L->nlat < (size_t)L->n * (size_t)L->m)
            L->lat[L->nlat++] = (double)(now_ns() - t) / 1e6;
        c->received++;
        L->received++;
        L->t_last_recv = now();
    }
    msgsec_m5g_msg_clear(&m);
}

static void take_input(load *L, client *c)
{
    static unsigned char buf[READ_CHUNK];
    for (;;) {
        size_t got = 0;
        int rc = msgsec_session_recv(c->s, buf, sizeof(buf), &got);
        if (rc == MSGSEC_CONTINUE)
            break;
        if (rc != 0) {
            fail(L, c, rc == MSGSEC_ERR_CLOSED ? "the server closed"
                                                : msgsec_session_detail(c->s));
            return;
        }
        if (L->framing == MSGSEC_FRAMING_MESSAGE) {
            /* One message, one JSON object (its LF optional). */
            if (got > 0 && buf[got - 1] == '\n')
                got--;
            on_line(L, c, (const char *)buf, got);
            if (c->state == C_FAILED)
                return;
            continue;
        }
        if (msgsec_m5g_lines_push(&c->in, buf, got) != 0) {
            fail(L, c, "out of memory");
            return;
        }
        const char *line;
        size_t len;
        int r;
        while (c->state != C_FAILED &&
               (r = msgsec_m5g_lines_next(&c->in, &line, &len)) == 1)
            on_line(L, c, line, len);
        if (c->state == C_FAILED)
            return;
        if (r < 0) {
            fail(L, c, "the server sent an overlong line");
            return;
        }
    }
}

/* After input or a resumed look-up: the handshake's next step. */
static void progress(load *L, client *c)
{
    flush(L, c);
    if (c->state == C_FAILED)
        return;
    int st = msgsec_session_state(c->s);
    if (st == MSGSEC_STATE_FAILED || st == MSGSEC_STATE_CLOSED) {
        fail(L, c, msgsec_session_detail(c->s));
        return;
    }
    if (c->state == C_HANDSHAKE && st == MSGSEC_STATE_ESTABLISHED) {
        L->connecting--;
        L->established++;
        L->t_last_est = now();
        c->state = C_REGISTERING;
        char me[ID_LEN];
        id_of(L, c->idx, me);
        msgsec_m5g_msg m = {.type = MSGSEC_M5G_REG,
                            .msg_id = "r",
                            .ue_service_id = me};
        if (send_msg(L, c, &m) != 0)
            return;
    }
    if (st == MSGSEC_STATE_ESTABLISHED)
        take_input(L, c);
}

static void start_conn(load *L, client *c)
{
    struct addrinfo hints = {.ai_family = AF_UNSPEC,
                             .ai_socktype = SOCK_STREAM};
    struct addrinfo *ai = NULL;
    if (getaddrinfo(L->host, L->port, &hints, &ai) != 0 || !ai) {
        fail(L, c, "cannot resolve the server's address");
        return;
    }
    c->fd = socket(ai->ai_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC,
                   0);
    int rc = c->fd < 0 ? -1 : connect(c->fd, ai->ai_addr, ai->ai_addrlen);
    freeaddrinfo(ai);
    L->connecting++;
    c->state = C_CONNECTING;
    if (c->fd < 0 || (rc != 0 && errno != EINPROGRESS)) {
        fail(L, c, strerror(errno));
        return;
    }
    int one = 1;
    setsockopt(c->fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
    c->events = EPOLLOUT;
    struct epoll_event ev = {.events = EPOLLOUT, .data.ptr = c};
    if (epoll_ctl(L->ep, EPOLL_CTL_ADD, c->fd, &ev) != 0)
        fail(L, c, "epoll_ctl");
}

static void connected(load *L, client *c)
{
    int err = 0;
    socklen_t el = sizeof(err);
    if (getsockopt(c->fd, SOL_SOCKET, SO_ERROR, &err, &el) != 0 || err) {
        fail(L, c, strerror(err ? err : errno));
        return;
    }
    msgsec_session_config cfg = {.size = sizeof(cfg),
                                 .peer_name = L->af_fqdn,
                                 .user_data = c};
    int rc = msgsec_session_new(L->ues[(size_t)c->idx % L->k].core,
                                L->service, MSGSEC_ROLE_CLIENT, &cfg, &c->s);
    if (rc != 0) {
        fail(L, c, msgsec_last_detail());
        return;
    }
    c->state = C_HANDSHAKE;
    flush(L, c);
}

static void on_conn(load *L, client *c, uint32_t ev)
{
    if (c->state == C_CONNECTING) {
        connected(L, c);
        return;
    }
    if (ev & EPOLLOUT) {
        int rc = msgsec_net_flush(c->fd, &c->out);
        if (rc < 0) {
            fail(L, c, strerror(-rc));
            return;
        }
        set_events(L, c, EPOLLIN | (c->out.len ? EPOLLOUT : 0));
    }
    if (!(ev & (EPOLLIN | EPOLLHUP | EPOLLERR)))
        return;
    static unsigned char buf[READ_CHUNK];
    ssize_t n = read(c->fd, buf, sizeof(buf));
    if (n < 0 && (errno == EAGAIN || errno == EINTR))
        return;
    if (n <= 0) {
        fail(L, c, n == 0 ? "the server closed the connection"
                          : strerror(errno));
        return;
    }
    int rc = msgsec_session_feed(c->s, buf, (size_t)n);
    if (rc < 0) {
        flush(L, c);
        fail(L, c, msgsec_session_detail(c->s));
        return;
    }
    if (rc != MSGSEC_PENDING)
        progress(L, c);
}

static void on_ready(void *arg, msgsec_session *s)
{
    load *L = arg;
    client *c = msgsec_session_user_data(s);
    int rc = msgsec_session_resume(s);
    if (rc < 0)
        fail(L, c, msgsec_session_detail(s));
    else if (rc != MSGSEC_PENDING)
        progress(L, c);
}

/* Runs the loop until done() holds or the deadline passes; 0 or -1. */
static int run(load *L, int (*done)(load *), double deadline)
{
    struct epoll_event evs[MAX_EVENTS];
    while (!done(L)) {
        while (L->phase == 1 && L->next_conn < L->n &&
               L->connecting < L->inflight)
            start_conn(L, &L->c[L->next_conn++]);
        if (done(L))
            break;
        double left = deadline - now();
        if (left <= 0)
            return -1;
        int n = epoll_wait(L->ep, evs, MAX_EVENTS,
                           left > 1 ? 1000 : (int)(left * 1000) + 1);
        if (n < 0 && errno != EINTR)
            msgsec_bench_die("epoll_wait");
        for (int i = 0; i < n; i++) {
            int kind = *(int *)evs[i].data.ptr;
            if (kind == SRC_CORE)
                msgsec_core_dispatch(((ue *)evs[i].data.ptr)->core, on_ready,
                                     L);
            else
                on_conn(L, evs[i].data.ptr, evs[i].events);
        }
    }
    return 0;
}

static int phase1_done(load *L)
{
    return L->registered + L->failed >= L->n;
}

/* Every sender has its answers, and every accepted message arrived (or
 * none has for QUIET_S: a receiver failed). */
#define QUIET_S 3.0
static int phase2_done(load *L)
{
    for (int i = 0; i < L->n; i++) {
        const client *c = &L->c[i];
        if (c->state == C_REGISTERED && (c->sent < L->m || c->waiting))
            return 0;
    }
    double last = L->t_last_recv > L->t2 ? L->t_last_recv : L->t2;
    return L->received >= L->accepted || now() - last > QUIET_S;
}

/* ------------------------------------------------------------ figures */

static long server_rss_kb(long pid)
{
    char path[64], line[256];
    snprintf(path, sizeof(path), "/proc/%ld/status", pid);
    FILE *f = fopen(path, "r");
    if (!f)
        return -1;
    long kb = -1;
    while (fgets(line, sizeof(line), f))
        if (sscanf(line, "VmRSS: %ld kB", &kb) == 1)
            break;
    fclose(f);
    return kb;
}

/* Retrieve requests the AAnF answered, from its one-line-per-request log. */
static long aanf_requests(const char *log)
{
    FILE *f = fopen(log, "r");
    if (!f)
        return -1;
    char line[4096];
    long n = 0;
    while (fgets(line, sizeof(line), f))
        if (strstr(line, "/naanf-akma/v1/retrieve-applicationkey ->"))
            n++;
    fclose(f);
    return n;
}

static int cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return x < y ? -1 : x > y;
}

static double percentile(const double *v, size_t n, double p)
{
    if (n == 0)
        return 0;
    size_t i = (size_t)(p * (double)(n - 1) + 0.5);
    return v[i < n ? i : n - 1];
}

static double raw_handshakes(void)
{
    msgsec_bench_raw raw;
    msgsec_bench_raw_init(&raw, 0, 1);
    msgsec_bench_raw_check_kex(&raw, 1);
    msgsec_bench_method m = {"raw", msgsec_bench_raw_op_handshake, &raw, 0};
    msgsec_bench_measure(&m, 1, 0.2, 3);
    msgsec_bench_raw_free(&raw);
    return m.best;
}

/* -------------------------------------------------------------- main */

static const char usage_text[] =
    "Usage: msgin5g_load --connect HOST:PORT --ues FILE --provider-dir DIR\n"
    "                    [OPTION]...\n"
    "N concurrent AKMA clients against msgin5g-server (see "
    "bench/run-load.sh).\n"
    "\n"
    "  --connect HOST:PORT   the server\n"
    "  --ues FILE            \"SUPI KAUSF-FILE\" lines: the UEs registered\n"
    "                        with the AAnF, their K_AUSF in private files\n"
    "                        (client i is UE i mod K)\n"
    "  --provider-dir DIR    where the akma module is\n"
    "  --clients N           concurrent clients (1000; capped by\n"
    "                        RLIMIT_NOFILE)\n"
    "  --messages M          messages each client sends (10)\n"
    "  --inflight H          handshakes in progress at most (64)\n"
    "  --service NAME        policy service (msgin5g-1)\n"
    "  --framing F           message or stream, as the server's policy\n"
    "                        (message)\n"
    "  --af-fqdn FQDN        the server's AKMA AF name (msgin5g.example.com)\n"
    "  --domain D            ueServiceIds are load-<i>@D (msgin5g.example)\n"
    "  --server-pid PID      read the server's VmRSS (memory per idle\n"
    "                        connection)\n"
    "  --aanf-log FILE       msgsec-aanf's log (AAnF requests made)\n"
    "  --timeout-s S         give up after S seconds per phase (120)\n"
    "  --hold-s S            keep the N idle connections open S seconds\n"
    "                        after the memory reading, before phase 2\n"
    "                        (to inspect the server's heap meanwhile)\n"
    "Exit status: 0 every client registered and every message arrived,\n"
    "1 otherwise, 2 usage error.\n";

static int usage(const char *why)
{
    fprintf(stderr, "msgin5g_load: %s\n%s", why, usage_text);
    return 2;
}

/* A whole number in [min, max] and nothing after it. */
static int num(const char *s, long min, long max, long *out)
{
    char extra;
    return sscanf(s, "%ld%c", out, &extra) == 1 && *out >= min &&
                   *out <= max
               ? 0
               : -1;
}

int main(int argc, char **argv)
{
    load L = {.service = "msgin5g-1",
              .af_fqdn = "msgin5g.example.com",
              .domain = "msgin5g.example",
              .framing = MSGSEC_FRAMING_MESSAGE,
              .n = 1000,
              .m = 10,
              .inflight = 64};
    const char *connect_to = NULL, *ues = NULL, *aanf_log = NULL;
    long server_pid = 0, timeout_s = 120, hold_s = 0, v;
    msgsec_bench_set_name("msgin5g_load");
    if (argc == 1) {
        /* As `make bench` runs it: the whole set-up, by the script. */
        execl("/bin/sh", "sh", MSGSEC_LOAD_SCRIPT, MSGSEC_LOAD_SRCDIR,
              MSGSEC_LOAD_BUILDDIR, (char *)NULL);
        fprintf(stderr, "msgin5g_load: %s: %s\n", MSGSEC_LOAD_SCRIPT,
                strerror(errno));
        return 1;
    }
    static const struct option opts[] = {
        {"connect", required_argument, NULL, 'c'},
        {"ues", required_argument, NULL, 'u'},
        {"provider-dir", required_argument, NULL, 'p'},
        {"clients", required_argument, NULL, 'n'},
        {"messages", required_argument, NULL, 'm'},
        {"inflight", required_argument, NULL, 'i'},
        {"service", required_argument, NULL, 's'},
        {"framing", required_argument, NULL, 'f'},
        {"af-fqdn", required_argument, NULL, 'a'},
        {"domain", required_argument, NULL, 'd'},
        {"server-pid", required_argument, NULL, 'P'},
        {"aanf-log", required_argument, NULL, 'l'},
        {"timeout-s", required_argument, NULL, 't'},
        {"hold-s", required_argument, NULL, 'H'},
        {"help", no_argument, NULL, 'h'},
        {NULL, 0, NULL, 0}};
    int o;
    while ((o = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
        switch (o) {
        case 'c': connect_to = optarg; break;
        case 'u': ues = optarg; break;
        case 'p': L.provider_dir = optarg; break;
        case 's': L.service = optarg; break;
        case 'a': L.af_fqdn = optarg; break;
        case 'd': L.domain = optarg; break;
        case 'l': aanf_log = optarg; break;
        case 'f':
            L.framing = msgsec_net_framing(optarg);
            if (L.framing < 0)
                return usage("--framing: message or stream");
            break;
        case 'n':
            if (num(optarg, 2, 1000000, &v))
                return usage("--clients: 2 to 1000000");
            L.n = (int)v;
            break;
        case 'm':
            if (num(optarg, 1, 1000000, &v))
                return usage("--messages: 1 to 1000000");
            L.m = (int)v;
            break;
        case 'i':
            if (num(optarg, 1, 100000, &v))
                return usage("--inflight: 1 to 100000");
            L.inflight = (int)v;
            break;
        case 'P':
            if (num(optarg, 1, 1L << 30, &server_pid))
                return usage("--server-pid: a process id");
            break;
        case 't':
            if (num(optarg, 1, 86400, &timeout_s))
                return usage("--timeout-s: 1 to 86400");
            break;
        case 'H':
            if (num(optarg, 0, 86400, &hold_s))
                return usage("--hold-s: 0 to 86400");
            break;
        case 'h': fputs(usage_text, stdout); return 0;
        default: return usage("unknown option");
        }
    }
    if (optind != argc || !connect_to || !ues || !L.provider_dir)
        return usage("--connect, --ues and --provider-dir are required");
    char host[256], port[32], err[256];
    if (msgsec_net_split(connect_to, host, sizeof(host), port, sizeof(port),
                         err, sizeof(err)) != 0)
        return usage(err);
    L.host = host;
    L.port = port;
    L.k = read_ues(ues, &L.ues);

    /* One descriptor per client: as many as the limit allows. */
    struct rlimit rl;
    if (getrlimit(RLIMIT_NOFILE, &rl) == 0) {
        if (rl.rlim_cur < rl.rlim_max) {
            rl.rlim_cur = rl.rlim_max;
            setrlimit(RLIMIT_NOFILE, &rl);
            getrlimit(RLIMIT_NOFILE, &rl);
        }
        long cap = (long)rl.rlim_cur - FD_RESERVE - (long)L.k;
        if (rl.rlim_cur != RLIM_INFINITY && L.n > cap) {
            printf("clients capped at %ld by RLIMIT_NOFILE (%ld descriptors;"
                   " raise ulimit -n for more)\n",
                   cap, (long)rl.rlim_cur);
            if (cap < 2)
                return 1;
            L.n = (int)cap;
        }
    }

    printf("msgin5g-server load: %d AKMA clients, %zu A-KIDs, %d messages "
           "each, %s framing\n",
           L.n, L.k, L.m,
           L.framing == MSGSEC_FRAMING_STREAM ? "stream" : "message");
    /* The raw reference first, before the load makes the machine busy. */
    double raw = raw_handshakes();

    L.ep = epoll_create1(EPOLL_CLOEXEC);
    L.c = calloc((size_t)L.n, sizeof(*L.c));
    L.lat = malloc(sizeof(double) * (size_t)L.n * (size_t)L.m);
    if (L.ep < 0 || !L.c || !L.lat)
        msgsec_bench_die("no memory");
    for (int i = 0; i < L.n; i++) {
        L.c[i].src = SRC_CONN;
        L.c[i].idx = i;
        L.c[i].fd = -1;
    }
    open_cores(&L);

    long rss0 = server_pid ? server_rss_kb(server_pid) : -1;
    L.phase = 1;
    L.t0 = now();
    int ok = run(&L, phase1_done, L.t0 + (double)timeout_s) == 0;
    if (!ok)
        printf("phase 1 timed out: %d of %d registered, %d failed\n",
               L.registered, L.n, L.failed);
    /* Let the server settle before its memory is read. */
    usleep(300 * 1000);
    long rss1 = server_pid ? server_rss_kb(server_pid) : -1;
    if (hold_s > 0) {
        printf("holding %d idle connections for %ld s\n", L.registered,
               hold_s);
        fflush(stdout);
        sleep((unsigned)hold_s);
    }

    L.phase = 2;
    L.t2 = now();
    for (int i = 0; i < L.n; i++)
        if (L.c[i].state == C_REGISTERED)
            send_next(&L, &L.c[i]);
    if (run(&L, phase2_done, L.t2 + (double)timeout_s) != 0) {
        ok = 0;
        printf("phase 2 timed out: %lld of %lld messages received\n",
               L.received, (long long)L.registered * L.m);
    }

    double hs_time = L.t_last_est - L.t0;
    double msg_time = L.received ? L.t_last_recv - L.t2 : 0;
    qsort(L.lat, L.nlat, sizeof(double), cmp_double);
    double hs_rate = hs_time > 0 ? L.established / hs_time : 0;
    printf("\nclients established %d, registered %d, failed %d\n",
           L.established, L.registered, L.failed);
    printf("handshakes/s        %10.0f  (%d in %.2f s, at most %d in "
           "progress)\n",
           hs_rate, L.established, hs_time, L.inflight);
    printf("registrations done  %10.2f s after the first connect\n",
           L.t_last_reg - L.t0);
    printf("messages/s          %10.0f  (%lld received in %.2f s)\n",
           msg_time > 0 ? (double)L.received / msg_time : 0, L.received,
           msg_time);
    printf("latency p50         %10.3f ms (send to receipt)\n",
           percentile(L.lat, L.nlat, 0.50));
    printf("latency p99         %10.3f ms\n", percentile(L.lat, L.nlat, 0.99));
    if (aanf_log) {
        long req = aanf_requests(aanf_log);
        printf("AAnF requests       %10ld  (%zu A-KIDs: one request per "
               "A-KID is the cache working)\n",
               req, L.k);
    }
    if (rss0 > 0 && rss1 > 0 && L.registered > 0)
        printf("server memory       %10.1f KiB per idle authenticated "
               "connection (VmRSS %ld -> %ld KiB for %d)\n",
               (double)(rss1 - rss0) / L.registered, rss0, rss1,
               L.registered);
    printf("\nraw OpenSSL %s, TLS 1.3 PSK (psk_dhe_ke) handshakes in memory,"
           "\nclient and server in this process: %.0f/s\n",
           OpenSSL_version(OPENSSL_VERSION_STRING), raw);
    printf("msgsec client handshakes / raw: %.3f (informative: the load "
           "figure\nincludes the network, the server in another process "
           "sharing the CPUs,\nthe AAnF look-ups and the core's policy and "
           "provider layers)\n",
           raw > 0 ? hs_rate / raw : 0);

    for (int i = 0; i < L.n; i++) {
        if (L.c[i].fd >= 0)
            close(L.c[i].fd);
        msgsec_session_free(L.c[i].s);
        msgsec_netbuf_free(&L.c[i].out);
        msgsec_m5g_lines_free(&L.c[i].in);
    }
    for (size_t i = 0; i < L.k; i++)
        msgsec_core_free(L.ues[i].core);
    free(L.ues);
    free(L.c);
    free(L.lat);
    close(L.ep);
    ok = ok && L.failed == 0 && L.received == (long long)L.n * L.m;
    printf("\n%s\n", ok ? "every client registered and every message arrived"
                        : "NOT every client registered or message arrived");
    return ok ? 0 : 1;
}
