/*
 * connect_cmd.c - `msgsec connect`: a diagnostic client, like openssl
 * s_client. It runs a client session over one TCP connection, sends its
 * standard input line by line once the session is established, and prints
 * the server's answers on standard output; everything else (the
 * authenticated server, a failure) goes to standard error.
 *
 * One poll() loop holds the socket, standard input and the core's
 * descriptor (a client-side provider may also wait for a look-up).
 */
#include <errno.h>
#include <getopt.h>
#include <limits.h>
#include <poll.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include <openssl/crypto.h>

#include <msgsec/msgsec.h>

#include "cli.h"
#include "netio.h"

#define READ_CHUNK 65536u
/* Stop reading standard input while this much waits for the server. */
#define OUT_HIGH (1u << 20)
#define DEFAULT_TIMEOUT_MS 10000
#define DETAIL_MAX 2048

typedef struct client {
    msgsec_core *core;
    msgsec_session *s;
    int fd;
    int framing;
    int timeout_ms;
    int established;
    int stdin_done;
    int closing;          /* our close is queued: only the end remains */
    int shut;             /* our side of the socket is shut down */
    int resumed, resume_rc; /* a look-up completed: what resume said */
    unsigned long long sent, answered;
    int64_t last;         /* last progress from the server */
    msgsec_netbuf out;    /* protected bytes for the server */
    msgsec_netbuf line;   /* standard input: the line being read */
    msgsec_netbuf ans;    /* stream framing: the answer being received */
    unsigned char *mbuf;  /* a received message */
    size_t mcap;
    const char *target;   /* HOST:PORT as given */
    unsigned char rbuf[READ_CHUNK];
} client;

const char msgsec_connect_usage[] =
    "Usage: msgsec connect [-c POLICY] --service NAME --connect HOST:PORT\n"
    "                      [--peer-name NAME] [--identity ID]\n"
    "                      [--framing message|stream] [--timeout MS] [-v]\n"
    "\n"
    "A diagnostic client, like openssl s_client: connects to HOST:PORT, runs\n"
    "a client session of service NAME, then sends its standard input line by\n"
    "line (each line one message in message framing; the raw lines in stream\n"
    "framing) and prints each answer of the server on standard output. It\n"
    "exits when standard input has ended and every line is answered.\n"
    "\n"
    "Standard error gets \"established scheme=S identity=I ...\" (the\n"
    "authenticated server) or \"failed: ERROR_NAME: detail\". Key material\n"
    "is never printed.\n"
    "\n"
    "  -c, --config POLICY  policy file (default " MSGSEC_SYSCONFDIR
    "/msgsec.conf)\n"
    "  -s, --service NAME   the policy service ([service.NAME])\n"
    "  -C, --connect HOST:PORT  the server ([ADDR]:PORT for IPv6)\n"
    "      --peer-name NAME the server's name as the client targets it (e.g.\n"
    "                       the AKMA AF's FQDN); default: the provider's own\n"
    "      --identity ID    the identity to present, where the provider\n"
    "                       supports several; default: the provider's own\n"
    "  -f, --framing MODE   message or stream (default: the policy's framing)\n"
    "  -t, --timeout MS     give up when the server has not answered for MS\n"
    "                       milliseconds while an answer is due (connection,\n"
    "                       handshake, answers); 0: wait forever; default "
    "10000\n"
    "  -v, --verbose        also show the library's log on standard error\n"
    "  -h, --help           show this help\n"
    "  -V, --version        show the version\n"
    "\n"
    "Exit status: 0 every line answered, 1 policy invalid, 2 usage error or\n"
    "unknown service, 3 the session failed (refused, authentication failed,\n"
    "no common provider) or a mandatory provider did not load, 4 I/O error\n"
    "(the connection could not be made or broke, timeout).\n";

static void fail_line(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

static void fail_line(const char *fmt, ...)
{
    va_list ap;
    fflush(stdout);
    fputs("failed: ", stderr);
    va_start(ap, fmt);
    vfprintf(stderr, fmt, ap);
    va_end(ap);
    fputc('\n', stderr);
}

/* The session failed with code: report, send its last bytes (an alert or
 * an ERROR frame tells the server why), and give the exit status. */
static int session_failed(client *cl, int code)
{
    const char *d = msgsec_session_detail(cl->s);
    fail_line("%s: %s", msgsec_error_name(code),
              d[0] ? d : msgsec_strerror(code));
    if (cl->fd >= 0 && msgsec_net_pull(cl->s, &cl->out) == 0)
        (void)msgsec_net_flush(cl->fd, &cl->out);
    return msgsec_net_exit_for(code);
}

static int announce(client *cl)
{
    msgsec_peer peer;
    char text[MSGSEC_NET_PEER_MAX];
    int rc = msgsec_session_peer(cl->s, &peer);

    if (rc < 0)
        return session_failed(cl, rc);
    if (!peer.scheme)
        peer.scheme = msgsec_session_provider(cl->s);
    msgsec_net_peer_text(&peer, text, sizeof(text));
    fflush(stdout);
    fprintf(stderr, "established%s\n", text);
    cl->established = 1;
    return -1;
}

/* Prints one answer line (stream framing: with its newline). */
static void print_answer(const unsigned char *p, size_t n, int newline)
{
    fwrite(p, 1, n, stdout);
    if (newline)
        putchar('\n');
}

/* Stream framing: prints each complete answer line of p. */
static int answer_lines(client *cl, const unsigned char *p, size_t n)
{
    while (n > 0) {
        const unsigned char *nl = memchr(p, '\n', n);
        size_t seg = nl ? (size_t)(nl - p) + 1 : n;
        if (!nl && cl->ans.len + seg > 2 * MSGSEC_NET_LINE_MAX) {
            fail_line("%s: an answer line of more than %u bytes",
                      msgsec_error_name(MSGSEC_ERR_MESSAGE_TOO_LARGE),
                      2 * MSGSEC_NET_LINE_MAX);
            return msgsec_net_exit_for(MSGSEC_ERR_MESSAGE_TOO_LARGE);
        }
        if (!nl || cl->ans.len > 0) {
            if (msgsec_netbuf_append(&cl->ans, p, seg) < 0) {
                fail_line("%s: no memory for an answer",
                          msgsec_error_name(MSGSEC_ERR_NOMEM));
                return MSGSEC_EXIT_INTERNAL;
            }
        }
        if (nl) {
            if (cl->ans.len > 0) {
                print_answer(cl->ans.p + cl->ans.off, cl->ans.len, 0);
                msgsec_netbuf_consume(&cl->ans, cl->ans.len);
            } else {
                print_answer(p, seg, 0);
            }
            cl->answered++;
        }
        p += seg;
        n -= seg;
    }
    return -1;
}

/*
 * Takes what the session decoded. Returns -1 to go on, or an exit status.
 * A close from the server is expected only once ours is sent.
 */
static int take_answers(client *cl)
{
    int rc;

    for (;;) {
        size_t len = 0;
        rc = msgsec_session_recv(cl->s, cl->mbuf, cl->mcap, &len);
        if (rc == MSGSEC_ERR_BUFFER_TOO_SMALL && len > cl->mcap) {
            unsigned char *p = malloc(len);
            if (!p) {
                fail_line("%s: no memory for an answer of %zu bytes",
                          msgsec_error_name(MSGSEC_ERR_NOMEM), len);
                return MSGSEC_EXIT_INTERNAL;
            }
            OPENSSL_cleanse(cl->mbuf, cl->mcap);
            free(cl->mbuf);
            cl->mbuf = p;
            cl->mcap = len;
            continue;
        }
        if (rc == MSGSEC_CONTINUE)
            break;
        if (rc == MSGSEC_ERR_CLOSED) {
            /* Expected once our close is out, or when nothing is due. */
            if (cl->closing || (cl->stdin_done && cl->answered >= cl->sent))
                break;
            fflush(stdout);
            fail_line("%s: the server closed the session with %llu of %llu "
                      "answers in",
                      msgsec_error_name(MSGSEC_ERR_CLOSED), cl->answered,
                      cl->sent);
            return msgsec_net_exit_for(MSGSEC_ERR_CLOSED);
        }
        if (rc < 0)
            return session_failed(cl, rc);
        if (cl->framing == MSGSEC_FRAMING_STREAM) {
            rc = answer_lines(cl, cl->mbuf, len);
            if (rc >= 0)
                return rc;
        } else {
            print_answer(cl->mbuf, len, 1);
            cl->answered++;
        }
        OPENSSL_cleanse(cl->mbuf, len);
    }
    fflush(stdout);
    return -1;
}

/* After feed/resume returned rc. Returns -1 to go on, or an exit status. */
static int after(client *cl, int rc)
{
    if (rc < 0) {
        if (rc == MSGSEC_ERR_CLOSED && cl->closing)
            return -1; /* bytes after the server's close */
        return session_failed(cl, rc);
    }
    int st = msgsec_session_state(cl->s);
    if (!cl->established &&
        (st == MSGSEC_STATE_ESTABLISHED || st == MSGSEC_STATE_CLOSED) &&
        (rc = announce(cl)) >= 0)
        return rc;
    if (cl->established && (rc = take_answers(cl)) >= 0)
        return rc;
    if (msgsec_net_pull(cl->s, &cl->out) < 0) {
        fail_line("%s: no memory for output",
                  msgsec_error_name(MSGSEC_ERR_NOMEM));
        return MSGSEC_EXIT_INTERNAL;
    }
    return -1;
}

/* Sends one line of standard input (without its newline). */
static int send_line(client *cl, const unsigned char *p, size_t n)
{
    int rc;

    if (cl->framing == MSGSEC_FRAMING_STREAM) {
        /* The newline is part of the stream: one send, one record. */
        unsigned char *tmp = malloc(n + 1);
        if (!tmp) {
            fail_line("%s: no memory for a line",
                      msgsec_error_name(MSGSEC_ERR_NOMEM));
            return MSGSEC_EXIT_INTERNAL;
        }
        if (n)
            memcpy(tmp, p, n);
        tmp[n] = '\n';
        rc = msgsec_session_send(cl->s, tmp, n + 1);
        OPENSSL_cleanse(tmp, n + 1);
        free(tmp);
    } else {
        rc = msgsec_session_send(cl->s, p, n);
    }
    if (rc < 0)
        return session_failed(cl, rc);
    if (cl->sent == cl->answered)
        cl->last = msgsec_net_now_ms(); /* the answer is due from now */
    cl->sent++;
    return -1;
}

/* Standard input has data (or ended). Returns -1 or an exit status. */
static int read_stdin(client *cl)
{
    unsigned char buf[READ_CHUNK];
    ssize_t r = read(STDIN_FILENO, buf, sizeof(buf));
    int rc;

    if (r < 0) {
        if (errno == EINTR || errno == EAGAIN)
            return -1;
        fail_line("%s: reading standard input: %s",
                  msgsec_error_name(MSGSEC_ERR_IO), strerror(errno));
        return MSGSEC_EXIT_INTERNAL;
    }
    if (r == 0) {
        cl->stdin_done = 1;
        /* A last line without its newline is still a line. */
        if (cl->line.len > 0) {
            rc = send_line(cl, cl->line.p + cl->line.off, cl->line.len);
            msgsec_netbuf_free(&cl->line);
            if (rc >= 0)
                return rc;
        }
        return -1;
    }
    const unsigned char *p = buf;
    size_t n = (size_t)r;
    while (n > 0) {
        const unsigned char *nl = memchr(p, '\n', n);
        size_t seg = nl ? (size_t)(nl - p) : n;
        if (cl->line.len + seg > MSGSEC_NET_LINE_MAX) {
            fail_line("%s: input line %llu is longer than %u bytes",
                      msgsec_error_name(MSGSEC_ERR_MESSAGE_TOO_LARGE),
                      cl->sent + 1, MSGSEC_NET_LINE_MAX);
            return MSGSEC_EXIT_INTERNAL; /* our input, not the session */
        }
        if (!nl || cl->line.len > 0) {
            if (msgsec_netbuf_append(&cl->line, p, seg) < 0) {
                fail_line("%s: no memory for a line",
                          msgsec_error_name(MSGSEC_ERR_NOMEM));
                return MSGSEC_EXIT_INTERNAL;
            }
        }
        if (nl) {
            if (cl->line.len > 0) {
                rc = send_line(cl, cl->line.p + cl->line.off, cl->line.len);
                msgsec_netbuf_consume(&cl->line, cl->line.len);
            } else {
                rc = send_line(cl, p, seg);
            }
            if (rc >= 0)
                return rc;
            p += seg + 1;
            n -= seg + 1;
        } else {
            break;
        }
    }
    OPENSSL_cleanse(buf, (size_t)r);
    return -1;
}

/* The server ended the TCP connection. Returns the exit status. */
static int server_eof(client *cl)
{
    const char *prov = msgsec_session_provider(cl->s);

    if (cl->closing)
        return MSGSEC_EXIT_OK;
    fflush(stdout);
    if (!cl->established) {
        /* E.g. an implicit-mode server that refused our identity. */
        fail_line("%s: the server closed the connection during the "
                  "handshake%s%s%s",
                  msgsec_error_name(MSGSEC_ERR_PEER_REJECTED),
                  prov ? " (provider " : "", prov ? prov : "",
                  prov ? ")" : "");
        return msgsec_net_exit_for(MSGSEC_ERR_PEER_REJECTED);
    }
    fail_line("%s: the server ended the connection with %llu of %llu answers "
              "in",
              msgsec_error_name(MSGSEC_ERR_CLOSED), cl->answered, cl->sent);
    return msgsec_net_exit_for(MSGSEC_ERR_CLOSED);
}

/* Waiting for the server: connection, handshake, answers or its close. */
static int waiting(const client *cl)
{
    return !cl->established || cl->answered < cl->sent || cl->closing;
}

static void on_ready(void *user_data, msgsec_session *s)
{
    client *cl = user_data;
    if (s != cl->s || msgsec_session_state(s) != MSGSEC_STATE_PENDING)
        return;
    cl->resume_rc = msgsec_session_resume(s);
    cl->resumed = 1;
}

static int loop(client *cl)
{
    int rc;

    cl->last = msgsec_net_now_ms();
    for (;;) {
        struct pollfd p[3];
        int np = 0, ip = -1, timeout = -1;

        /* Every line sent and answered: close, then wait for the
         * server's close or end of connection. */
        if (cl->established && cl->stdin_done && !cl->closing &&
            cl->answered >= cl->sent) {
            rc = msgsec_session_close(cl->s);
            if (rc < 0)
                return session_failed(cl, rc);
            cl->closing = 1;
            cl->last = msgsec_net_now_ms();
        }
        /* Whatever the session queued since the last turn. */
        if (msgsec_net_pull(cl->s, &cl->out) < 0) {
            fail_line("%s: no memory for output",
                      msgsec_error_name(MSGSEC_ERR_NOMEM));
            return MSGSEC_EXIT_INTERNAL;
        }
        rc = msgsec_net_flush(cl->fd, &cl->out);
        if (rc < 0) {
            if (cl->closing)
                return MSGSEC_EXIT_OK;
            fail_line("%s: write to %s: %s", msgsec_error_name(MSGSEC_ERR_IO),
                      cl->target, strerror(-rc));
            return MSGSEC_EXIT_INTERNAL;
        }
        if (cl->closing && cl->out.len == 0 && !cl->shut) {
            shutdown(cl->fd, SHUT_WR);
            cl->shut = 1;
        }

        p[np].fd = cl->fd;
        p[np].events = POLLIN | (cl->out.len > 0 ? POLLOUT : 0);
        np++;
        p[np].fd = msgsec_core_fd(cl->core);
        p[np].events = POLLIN;
        np++;
        if (cl->established && !cl->stdin_done && !cl->closing &&
            cl->out.len < OUT_HIGH) {
            ip = np;
            p[np].fd = STDIN_FILENO;
            p[np].events = POLLIN;
            np++;
        }
        if (cl->timeout_ms > 0 && waiting(cl)) {
            int64_t left = cl->last + cl->timeout_ms - msgsec_net_now_ms();
            if (left <= 0) {
                if (cl->closing)
                    return MSGSEC_EXIT_OK; /* our part is done */
                /* Give up properly: an explicit-mode server is told. */
                if (msgsec_session_close(cl->s) == 0 &&
                    msgsec_net_pull(cl->s, &cl->out) == 0)
                    (void)msgsec_net_flush(cl->fd, &cl->out);
                fflush(stdout);
                fail_line("%s: no answer from %s within %d ms (%s)",
                          msgsec_error_name(MSGSEC_ERR_TIMEOUT), cl->target,
                          cl->timeout_ms,
                          cl->established ? "answers outstanding"
                                          : "handshake not complete");
                return msgsec_net_exit_for(MSGSEC_ERR_TIMEOUT);
            }
            timeout = left > INT_MAX ? INT_MAX : (int)left;
        }
        int n = poll(p, (nfds_t)np, timeout);
        if (n < 0) {
            if (errno == EINTR)
                continue;
            fail_line("%s: poll: %s", msgsec_error_name(MSGSEC_ERR_IO),
                      strerror(errno));
            return MSGSEC_EXIT_INTERNAL;
        }
        if (n == 0)
            continue;

        if (p[1].revents & POLLIN) {
            cl->resumed = 0;
            msgsec_core_dispatch(cl->core, on_ready, cl);
            if (cl->resumed && (rc = after(cl, cl->resume_rc)) >= 0)
                return rc;
        }
        if (p[0].revents & (POLLIN | POLLHUP | POLLERR)) {
            ssize_t r = recv(cl->fd, cl->rbuf, sizeof(cl->rbuf), 0);
            if (r < 0 && errno != EAGAIN && errno != EINTR) {
                if (cl->closing)
                    return MSGSEC_EXIT_OK;
                fflush(stdout);
                fail_line("%s: read from %s: %s",
                          msgsec_error_name(MSGSEC_ERR_IO), cl->target,
                          strerror(errno));
                return MSGSEC_EXIT_INTERNAL;
            }
            if (r == 0)
                return server_eof(cl);
            if (r > 0) {
                cl->last = msgsec_net_now_ms();
                rc = msgsec_session_feed(cl->s, cl->rbuf, (size_t)r);
                OPENSSL_cleanse(cl->rbuf, (size_t)r);
                if ((rc = after(cl, rc)) >= 0)
                    return rc;
            }
        }
        if (ip >= 0 && (p[ip].revents & (POLLIN | POLLHUP | POLLERR)) &&
            (rc = read_stdin(cl)) >= 0)
            return rc;
    }
}

typedef struct connect_opts {
    const char *policy, *service, *target, *peer_name, *identity;
    int framing, verbose, timeout_ms;
} connect_opts;

enum { OPT_PEER_NAME = 256, OPT_IDENTITY };

static int parse_opts(const msgsec_cli_command *cmd, int argc, char **argv,
                      connect_opts *o)
{
    static const struct option longopts[] = {
        {"config", required_argument, NULL, 'c'},
        {"service", required_argument, NULL, 's'},
        {"connect", required_argument, NULL, 'C'},
        {"peer-name", required_argument, NULL, OPT_PEER_NAME},
        {"identity", required_argument, NULL, OPT_IDENTITY},
        {"framing", required_argument, NULL, 'f'},
        {"timeout", required_argument, NULL, 't'},
        {"verbose", no_argument, NULL, 'v'},
        {"help", no_argument, NULL, 'h'},
        {"version", no_argument, NULL, 'V'},
        {NULL, 0, NULL, 0},
    };
    int c;

    memset(o, 0, sizeof(*o));
    o->policy = msgsec_cli_default_policy();
    o->framing = MSGSEC_FRAMING_DEFAULT; /* the policy service's */
    o->timeout_ms = DEFAULT_TIMEOUT_MS;
    opterr = 0;
    optind = 0;
    while ((c = getopt_long(argc, argv, "+:c:s:C:f:t:vhV", longopts, NULL)) !=
           -1) {
        switch (c) {
        case 'c':
            o->policy = optarg;
            break;
        case 's':
            o->service = optarg;
            break;
        case 'C':
            o->target = optarg;
            break;
        case OPT_PEER_NAME:
            if (!optarg[0])
                return msgsec_cli_usage_error(cmd->name,
                                              "connect: empty --peer-name");
            o->peer_name = optarg;
            break;
        case OPT_IDENTITY:
            if (!optarg[0])
                return msgsec_cli_usage_error(cmd->name,
                                              "connect: empty --identity");
            o->identity = optarg;
            break;
        case 'f':
            o->framing = msgsec_net_framing(optarg);
            if (o->framing < 0)
                return msgsec_cli_usage_error(
                    cmd->name, "connect: --framing '%s': message or stream",
                    optarg);
            break;
        case 't': {
            char *end = NULL;
            errno = 0;
            long v = strtol(optarg, &end, 10);
            if (errno || end == optarg || *end || v < 0 || v > INT_MAX)
                return msgsec_cli_usage_error(
                    cmd->name, "connect: --timeout '%s': milliseconds, 0 for "
                               "none",
                    optarg);
            o->timeout_ms = (int)v;
            break;
        }
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
                                          "connect: option '%s' needs an "
                                          "argument",
                                          argv[optind - 1]);
        default:
            if (optopt > 0 && optopt < 256)
                return msgsec_cli_usage_error(
                    cmd->name, "connect: unknown option '-%c'", optopt);
            return msgsec_cli_usage_error(cmd->name,
                                          "connect: unknown option '%s'",
                                          argv[optind - 1]);
        }
    }
    if (optind < argc)
        return msgsec_cli_usage_error(cmd->name,
                                      "connect: unexpected argument '%s'",
                                      argv[optind]);
    if (o->policy[0] == '\0')
        return msgsec_cli_usage_error(cmd->name, "connect: empty policy path");
    if (!o->service || !o->service[0])
        return msgsec_cli_usage_error(cmd->name,
                                      "connect: --service NAME is required");
    if (!o->target)
        return msgsec_cli_usage_error(cmd->name,
                                      "connect: --connect HOST:PORT is "
                                      "required");
    return -1;
}

static int run_client(client *cl, const connect_opts *o, const char *host,
                      const char *port)
{
    msgsec_session_config cfg;
    char err[MSGSEC_NET_ERR_MAX];
    int rc;

    rc = msgsec_net_open_core("connect", o->policy, o->service, o->verbose,
                              &cl->core);
    if (rc != MSGSEC_EXIT_OK)
        return rc;
    memset(&cfg, 0, sizeof(cfg));
    cfg.size = sizeof(cfg);
    cfg.framing = o->framing;
    cfg.peer_name = o->peer_name;
    cfg.identity = o->identity;
    /* The session first: a policy that cannot make one needs no network. */
    rc = msgsec_session_new(cl->core, o->service, MSGSEC_ROLE_CLIENT, &cfg,
                            &cl->s);
    if (rc < 0) {
        const char *d = msgsec_last_detail();
        fail_line("%s: %s", msgsec_error_name(rc),
                  d[0] ? d : msgsec_strerror(rc));
        return msgsec_cli_exit_for(rc);
    }
    cl->framing = msgsec_session_framing(cl->s);
    rc = msgsec_net_connect(host, port, o->timeout_ms, &cl->fd, err,
                            sizeof(err));
    if (rc < 0) {
        fail_line("%s: %s", msgsec_error_name(rc), err);
        return MSGSEC_EXIT_INTERNAL;
    }
    /* A session established at once (a provider without a server
     * answer) and the first bytes to send. */
    if ((rc = after(cl, 0)) >= 0)
        return rc;
    return loop(cl);
}

int msgsec_cmd_connect(const msgsec_cli_command *cmd, int argc, char **argv)
{
    connect_opts o;
    client *cl;
    char host[256], port[8], err[MSGSEC_NET_ERR_MAX];
    int rc = parse_opts(cmd, argc, argv, &o);

    if (rc >= 0)
        return rc;
    if (msgsec_net_split(o.target, host, sizeof(host), port, sizeof(port), err,
                         sizeof(err)) < 0)
        return msgsec_cli_usage_error(cmd->name, "connect: --connect %s", err);
    cl = calloc(1, sizeof(*cl));
    if (!cl) {
        msgsec_cli_error("connect: out of memory");
        return MSGSEC_EXIT_INTERNAL;
    }
    cl->fd = -1;
    cl->timeout_ms = o.timeout_ms;
    cl->target = o.target;
    cl->mcap = READ_CHUNK;
    cl->mbuf = malloc(cl->mcap);
    signal(SIGPIPE, SIG_IGN);
    if (!cl->mbuf) {
        msgsec_cli_error("connect: out of memory");
        rc = MSGSEC_EXIT_INTERNAL;
    } else {
        rc = run_client(cl, &o, host, port);
    }

    fflush(stdout);
    if (cl->fd >= 0)
        close(cl->fd);
    msgsec_session_free(cl->s);
    msgsec_core_free(cl->core);
    msgsec_netbuf_free(&cl->out);
    msgsec_netbuf_free(&cl->line);
    msgsec_netbuf_free(&cl->ans);
    if (cl->mbuf) {
        OPENSSL_cleanse(cl->mbuf, cl->mcap);
        free(cl->mbuf);
    }
    free(cl);
    return rc;
}
