/*
 * serve_cmd.c - `msgsec serve`: a diagnostic server, like openssl s_server.
 *
 * The epoll loop, the connections' phases and the core's descriptor are
 * netloop's (netloop.h); this file answers the plaintext and prints one
 * line per connection event.
 */
#include <errno.h>
#include <getopt.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/crypto.h>

#include <msgsec/msgsec.h>

#include "cli.h"
#include "netio.h"
#include "netloop.h"

/* Stop reading from a peer that does not read its answers. */
#define OUT_HIGH (1u << 20)
#define LINGER_MS 2000
#define BACKLOG 128
#define DEFAULT_MAX_CONNS 1000
#define DETAIL_MAX 2048

typedef struct server {
    msgsec_nl_server nl;
    msgsec_nl_core core;
    const char *service;
    int framing;
    int once;
    int status;           /* exit status */
    msgsec_netbuf abuf;   /* an answer being built */
} server;

typedef struct conn {
    msgsec_nl_conn nl;
    int status;         /* exit status this connection stands for (--once) */
    char *prefix;       /* "<scheme> <identity>: " once established */
    size_t prefix_len;
    msgsec_netbuf line; /* stream framing: the line being received */
    int framing;        /* the session's: --framing, else the policy's */
} conn;

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

static server *srv_of(const conn *c)
{
    return (server *)c->nl.srv;
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
    say("failed %s: %s: %s\n", c->nl.addr, msgsec_error_name(code), text);
    c->status = msgsec_net_exit_for(code);
    msgsec_netbuf_free(&c->line);
    msgsec_nl_finish(&c->nl, 1);
}

static void conn_closed(conn *c, const char *why)
{
    if (why)
        say("closed %s: %s\n", c->nl.addr, why);
    else
        say("closed %s\n", c->nl.addr);
    c->status = MSGSEC_EXIT_OK;
}

/* The loop ends c: say why. */
static void on_end(msgsec_nl_conn *nc, int why, int code, const char *detail)
{
    conn *c = (conn *)nc;
    const char *prov = msgsec_session_provider(nc->s);
    int partial = c->line.len > 0;

    msgsec_netbuf_free(&c->line);
    switch (why) {
    case MSGSEC_NL_PEER_CLOSED:
        conn_closed(c, partial ? "the peer closed with an unfinished line"
                               : NULL);
        return;
    case MSGSEC_NL_PEER_EOF:
        if (nc->established) {
            conn_closed(c, partial ? "the connection ended with an "
                                     "unfinished line and without a close "
                                     "message"
                                   : "the connection ended without a close "
                                     "message");
            return;
        }
        /* E.g. an implicit-mode client that did not accept our proof. */
        code = MSGSEC_ERR_PEER_REJECTED;
        say("failed %s: %s: the peer closed the connection during the "
            "handshake%s%s%s\n",
            nc->addr, msgsec_error_name(code), prov ? " (provider " : "",
            prov ? prov : "", prov ? ")" : "");
        break;
    case MSGSEC_NL_SHUTDOWN:
        if (nc->established) {
            conn_closed(c, "server shutting down");
            return;
        }
        code = MSGSEC_ERR_CLOSED;
        say("failed %s: %s: server shutting down during the handshake\n",
            nc->addr, msgsec_error_name(code));
        break;
    case MSGSEC_NL_READ_ERROR:
    case MSGSEC_NL_WRITE_ERROR:
        code = MSGSEC_ERR_IO;
        say("failed %s: %s: %s: %s\n", nc->addr, msgsec_error_name(code),
            why == MSGSEC_NL_READ_ERROR ? "read" : "write", detail);
        break;
    case MSGSEC_NL_FAILED:
        say("failed %s: %s: %s\n", nc->addr, msgsec_error_name(code), detail);
        break;
    default:
        code = MSGSEC_ERR_NOMEM;
        say("failed %s: %s: no memory for the connection\n", nc->addr,
            msgsec_error_name(code));
        break;
    }
    c->status = msgsec_net_exit_for(code);
}

static void on_gone(msgsec_nl_conn *nc)
{
    conn *c = (conn *)nc;
    server *srv = srv_of(c);

    if (srv->once && !nc->srv->stopping && c->status != MSGSEC_EXIT_OK)
        srv->status = c->status;
    msgsec_netbuf_free(&c->line);
    free(c->prefix);
    c->prefix = NULL;
}

static int on_open(msgsec_nl_conn *nc)
{
    conn *c = (conn *)nc;
    server *srv = srv_of(c);
    msgsec_session_config cfg;
    int rc;

    if (srv->once) {
        /* The one connection: no other is taken. */
        msgsec_nl_stop_listening(&srv->nl);
        srv->nl.quit_when_idle = 1;
    }
    memset(&cfg, 0, sizeof(cfg));
    cfg.size = sizeof(cfg);
    cfg.framing = srv->framing;
    cfg.user_data = c;
    rc = msgsec_session_new(srv->core.core, srv->service, MSGSEC_ROLE_SERVER,
                            &cfg, &nc->s);
    if (rc < 0) {
        const char *d = msgsec_last_detail();
        say("failed %s: %s: %s\n", nc->addr, msgsec_error_name(rc),
            d[0] ? d : msgsec_strerror(rc));
        if (srv->once)
            srv->status = msgsec_net_exit_for(rc);
        return -1;
    }
    c->framing = msgsec_session_framing(nc->s);
    return 0;
}

/* Prints the "established" line and keeps the answer prefix. */
static int on_established(msgsec_nl_conn *nc)
{
    conn *c = (conn *)nc;
    msgsec_peer peer;
    char text[MSGSEC_NET_PEER_MAX], scheme[128], id[768];
    int rc = msgsec_net_session_peer(nc->s, &peer);

    if (rc < 0) {
        conn_failed(c, rc, "the session gives no peer: %s",
                    msgsec_strerror(rc));
        return -1;
    }
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
    say("established %s%s\n", nc->addr, text);
    return 0;
}

/* Answers one message or line: prefix, the message, and in stream framing
 * the newline. Returns 0 or -1 when c is no longer active. */
static int conn_answer(conn *c, const unsigned char *msg, size_t len)
{
    msgsec_netbuf *a = &srv_of(c)->abuf;
    int rc;

    a->len = 0;
    a->off = 0;
    if (msgsec_netbuf_append(a, c->prefix, c->prefix_len) < 0 ||
        msgsec_netbuf_append(a, msg, len) < 0 ||
        (c->framing == MSGSEC_FRAMING_STREAM &&
         msgsec_netbuf_append(a, "\n", 1) < 0)) {
        conn_failed(c, MSGSEC_ERR_NOMEM, "no memory for an answer");
        return -1;
    }
    rc = msgsec_nl_send(&c->nl, a->p + a->off, a->len);
    OPENSSL_cleanse(a->p + a->off, a->len);
    msgsec_netbuf_consume(a, a->len);
    return rc;
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
        if (!nl || c->line.len > 0) {
            if (msgsec_netbuf_append(&c->line, p, seg) < 0) {
                conn_failed(c, MSGSEC_ERR_NOMEM, "no memory for a line");
                return -1;
            }
            if (!nl)
                return 0;
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

static int on_data(msgsec_nl_conn *nc, const unsigned char *p, size_t n)
{
    conn *c = (conn *)nc;
    return c->framing == MSGSEC_FRAMING_STREAM ? conn_lines(c, p, n)
                                               : conn_answer(c, p, n);
}

/* SIGTERM/SIGINT: stop accepting; close every session cleanly. */
static void on_signal(msgsec_nl_server *nl, int signo)
{
    server *srv = (server *)nl;
    (void)signo;
    if (!nl->stopping) {
        srv->status = MSGSEC_EXIT_OK;
        msgsec_nl_stop(nl);
    }
}

static void on_accept_paused(msgsec_nl_server *nl, int err)
{
    (void)nl;
    msgsec_cli_error("serve: accept: %s", strerror(err));
}

static const msgsec_nl_ops serve_ops = {
    .conn_size = sizeof(conn),
    .open = on_open,
    .established = on_established,
    .data = on_data,
    .end = on_end,
    .gone = on_gone,
    .signal = on_signal,
    .accept_paused = on_accept_paused,
};

/* --------------------------------------------------------- the command */

typedef struct serve_opts {
    const char *policy, *service, *listen;
    int framing, verbose, once;
    size_t max_conns;
} serve_opts;

enum { OPT_MAX_CONNS = 256, OPT_ONCE };

#define usage_error(...) msgsec_cli_usage_error_for("msgsec", "serve", __VA_ARGS__)

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
    long v;
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
                return usage_error("--framing '%s': message or stream",
                                   optarg);
            break;
        case OPT_MAX_CONNS:
            if (msgsec_cli_number(optarg, 1, 1000000, &v) < 0)
                return usage_error("--max-conns '%s': a number from 1 to "
                                   "1000000",
                                   optarg);
            o->max_conns = (size_t)v;
            break;
        case OPT_ONCE:
            o->once = 1;
            break;
        case 'v':
            o->verbose = 1;
            break;
        default:
            return msgsec_cli_opt_other("msgsec", "serve", c, cmd->usage,
                                        argv);
        }
    }
    if (optind < argc)
        return usage_error("unexpected argument '%s'", argv[optind]);
    if (o->policy[0] == '\0')
        return usage_error("empty policy path");
    if (!o->service || !o->service[0])
        return usage_error("--service NAME is required");
    if (!o->listen)
        return usage_error("--listen HOST:PORT is required");
    return -1;
}

/* Everything set up; runs the loop. */
static int serve(server *srv, const serve_opts *o, const char *host,
                 const char *port)
{
    char err[MSGSEC_NET_ERR_MAX], addr[MSGSEC_NET_ADDR_MAX];
    static const int sigs[] = {SIGTERM, SIGINT, 0};
    msgsec_core *core = NULL;
    int rc;

    /* Before the core exists: its provider threads inherit the mask. */
    if (msgsec_nl_init(&srv->nl, &serve_ops, sigs, err, sizeof(err)) < 0) {
        msgsec_cli_error("serve: %s", err);
        return MSGSEC_EXIT_INTERNAL;
    }
    rc = msgsec_net_open_core("serve", o->policy, o->service, o->verbose,
                              &core);
    if (rc != MSGSEC_EXIT_OK)
        return rc;
    if (msgsec_nl_watch_core(&srv->nl, &srv->core, core) < 0) {
        msgsec_cli_error("serve: epoll: %s", strerror(errno));
        return MSGSEC_EXIT_INTERNAL;
    }
    if (msgsec_nl_listen(&srv->nl, host, port, BACKLOG, addr, sizeof(addr),
                         err, sizeof(err)) < 0) {
        msgsec_cli_error("serve: %s", err);
        return MSGSEC_EXIT_INTERNAL;
    }
    say("listening on %s\n", addr);
    rc = msgsec_nl_run(&srv->nl);
    if (rc < 0) {
        msgsec_cli_error("serve: epoll_wait: %s", strerror(-rc));
        return MSGSEC_EXIT_INTERNAL;
    }
    return srv->status;
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
        return usage_error("--listen %s", err);
    srv = calloc(1, sizeof(*srv));
    if (!srv) {
        msgsec_cli_error("serve: out of memory");
        return MSGSEC_EXIT_INTERNAL;
    }
    srv->service = o.service;
    srv->framing = o.framing;
    srv->once = o.once;
    srv->nl.max_conns = o.max_conns;
    srv->nl.out_high = OUT_HIGH;
    srv->nl.linger_ms = LINGER_MS;
    rc = serve(srv, &o, host, port);
    msgsec_nl_free(&srv->nl);
    msgsec_core_free(srv->core.core);
    msgsec_netbuf_free(&srv->abuf);
    free(srv);
    return rc;
}
