/*
 * connect_cmd.c - `msgsec connect`: a diagnostic client, like openssl
 * s_client. It runs a client session over one TCP connection, sends its
 * standard input line by line once the session is established, and prints
 * the server's answers on standard output; everything else (the
 * authenticated server, a failure) goes to standard error.
 *
 * One poll() loop (netloop's client wait) holds the socket, standard
 * input and the core's descriptor (a client-side provider may also wait
 * for a look-up).
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
#include "netloop.h"

#define READ_CHUNK MSGSEC_NL_READ_CHUNK
/* Stop reading standard input while this much waits for the server. */
#define OUT_HIGH (1u << 20)
#define DEFAULT_TIMEOUT_MS 10000
#define DETAIL_MAX 2048

typedef struct client {
    msgsec_nl_client io;  /* core, session, socket, buffers */
    int framing;
    int timeout_ms;
    int established;
    int stdin_done;
    int closing;          /* our close is queued: only the end remains */
    int shut;             /* our side of the socket is shut down */
    unsigned long long sent, answered;
    int64_t last;         /* last progress from the server */
    msgsec_netbuf line;   /* standard input: the line being read */
    msgsec_netbuf ans;    /* stream framing: the answer being received */
    const char *target;   /* HOST:PORT as given */
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
    char text[DETAIL_MAX];
    msgsec_net_fail_text(cl->io.s, code, text, sizeof(text));
    fail_line("%s", text);
    if (cl->io.fd >= 0)
        (void)msgsec_nl_client_flush(&cl->io);
    return msgsec_net_exit_for(code);
}

static int announce(client *cl)
{
    msgsec_peer peer;
    char text[MSGSEC_NET_PEER_MAX];
    int rc = msgsec_net_session_peer(cl->io.s, &peer);

    if (rc < 0)
        return session_failed(cl, rc);
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
        rc = msgsec_nl_client_recv(&cl->io, 0, &len);
        if (rc == MSGSEC_ERR_NOMEM) {
            fail_line("%s: no memory for an answer of %zu bytes",
                      msgsec_error_name(MSGSEC_ERR_NOMEM), len);
            return MSGSEC_EXIT_INTERNAL;
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
            rc = answer_lines(cl, cl->io.mbuf, len);
            if (rc >= 0)
                return rc;
        } else {
            print_answer(cl->io.mbuf, len, 1);
            cl->answered++;
        }
        OPENSSL_cleanse(cl->io.mbuf, len);
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
    int st = msgsec_session_state(cl->io.s);
    if (!cl->established &&
        (st == MSGSEC_STATE_ESTABLISHED || st == MSGSEC_STATE_CLOSED) &&
        (rc = announce(cl)) >= 0)
        return rc;
    if (cl->established && (rc = take_answers(cl)) >= 0)
        return rc;
    if (msgsec_net_pull(cl->io.s, &cl->io.out) < 0) {
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
        rc = msgsec_session_send(cl->io.s, tmp, n + 1);
        OPENSSL_cleanse(tmp, n + 1);
        free(tmp);
    } else {
        rc = msgsec_session_send(cl->io.s, p, n);
    }
    if (rc < 0)
        return session_failed(cl, rc);
    if (cl->sent == cl->answered)
        cl->last = msgsec_net_now_ms(); /* the answer is due from now */
    cl->sent++;
    return -1;
}

/* Standard input has data (or ended). Returns -1 or an exit status. */
static int read_stdin_into(client *cl, unsigned char *buf, size_t cap)
{
    ssize_t r = read(STDIN_FILENO, buf, cap);
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
    return -1;
}

/* Reads what standard input has; the stack copy is wiped on every path
 * (the lines are messages for the peer). */
static int read_stdin(client *cl)
{
    unsigned char buf[READ_CHUNK];
    int rc = read_stdin_into(cl, buf, sizeof(buf));
    OPENSSL_cleanse(buf, sizeof(buf));
    return rc;
}

/* The server ended the TCP connection. Returns the exit status. */
static int server_eof(client *cl)
{
    const char *prov = msgsec_session_provider(cl->io.s);

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

static int loop(client *cl)
{
    int rc;

    cl->last = msgsec_net_now_ms();
    for (;;) {
        struct pollfd in = {.fd = STDIN_FILENO, .events = POLLIN};
        size_t nin = 0;
        int timeout = -1;

        /* Every line sent and answered: close, then wait for the
         * server's close or end of connection. */
        if (cl->established && cl->stdin_done && !cl->closing &&
            cl->answered >= cl->sent) {
            rc = msgsec_session_close(cl->io.s);
            if (rc < 0)
                return session_failed(cl, rc);
            cl->closing = 1;
            cl->last = msgsec_net_now_ms();
        }
        /* Whatever the session queued since the last turn. */
        rc = msgsec_nl_client_flush(&cl->io);
        if (rc == MSGSEC_ERR_NOMEM) {
            fail_line("%s: no memory for output",
                      msgsec_error_name(MSGSEC_ERR_NOMEM));
            return MSGSEC_EXIT_INTERNAL;
        }
        if (rc < 0) {
            if (cl->closing)
                return MSGSEC_EXIT_OK;
            fail_line("%s: write to %s: %s", msgsec_error_name(MSGSEC_ERR_IO),
                      cl->target, strerror(-rc));
            return MSGSEC_EXIT_INTERNAL;
        }
        if (cl->closing && cl->io.out.len == 0 && !cl->shut) {
            shutdown(cl->io.fd, SHUT_WR);
            cl->shut = 1;
        }
        if (cl->established && !cl->stdin_done && !cl->closing &&
            cl->io.out.len < OUT_HIGH)
            nin = 1;
        if (cl->timeout_ms > 0 && waiting(cl)) {
            int64_t left = cl->last + cl->timeout_ms - msgsec_net_now_ms();
            if (left <= 0) {
                if (cl->closing)
                    return MSGSEC_EXIT_OK; /* our part is done */
                /* Give up properly: an explicit-mode server is told. */
                if (msgsec_session_close(cl->io.s) == 0)
                    (void)msgsec_nl_client_flush(&cl->io);
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
        int got = msgsec_nl_client_wait(&cl->io, &in, nin, timeout, &rc);
        if (got < 0) {
            if (cl->closing)
                return MSGSEC_EXIT_OK;
            fflush(stdout);
            fail_line("%s: read from %s: %s",
                      msgsec_error_name(MSGSEC_ERR_IO), cl->target,
                      strerror(-got));
            return MSGSEC_EXIT_INTERNAL;
        }
        if (got == MSGSEC_NL_EOF)
            return server_eof(cl);
        if (got == MSGSEC_NL_MOVED) {
            cl->last = msgsec_net_now_ms();
            if ((rc = after(cl, rc)) >= 0)
                return rc;
        }
        if (nin && (in.revents & (POLLIN | POLLHUP | POLLERR)) &&
            (rc = read_stdin(cl)) >= 0)
            return rc;
    }
}

typedef struct connect_opts {
    const char *policy, *service, *target, *peer_name, *identity;
    int framing, verbose, timeout_ms;
} connect_opts;

enum { OPT_PEER_NAME = 256, OPT_IDENTITY };

#define usage_error(...) \
    msgsec_cli_usage_error_for("msgsec", "connect", __VA_ARGS__)

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
    long v;
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
                return usage_error("empty --peer-name");
            o->peer_name = optarg;
            break;
        case OPT_IDENTITY:
            if (!optarg[0])
                return usage_error("empty --identity");
            o->identity = optarg;
            break;
        case 'f':
            o->framing = msgsec_net_framing(optarg);
            if (o->framing < 0)
                return usage_error("--framing '%s': message or stream",
                    optarg);
            break;
        case 't':
            if (msgsec_cli_number(optarg, 0, INT_MAX, &v) < 0)
                return usage_error("--timeout '%s': milliseconds, 0 for none",
                                   optarg);
            o->timeout_ms = (int)v;
            break;
        case 'v':
            o->verbose = 1;
            break;
        default:
            return msgsec_cli_opt_other("msgsec", "connect", c, cmd->usage,
                                        argv);
        }
    }
    if (optind < argc)
        return usage_error("unexpected argument '%s'",
                                      argv[optind]);
    if (o->policy[0] == '\0')
        return usage_error("empty policy path");
    if (!o->service || !o->service[0])
        return usage_error("--service NAME is required");
    if (!o->target)
        return usage_error("--connect HOST:PORT is "
                                      "required");
    return -1;
}

static int run_client(client *cl, const connect_opts *o, const char *host,
                      const char *port)
{
    msgsec_session_config cfg;
    char err[MSGSEC_NET_ERR_MAX];
    int rc, connecting;

    rc = msgsec_net_open_core("connect", o->policy, o->service, o->verbose,
                              &cl->io.core);
    if (rc != MSGSEC_EXIT_OK)
        return rc;
    memset(&cfg, 0, sizeof(cfg));
    cfg.size = sizeof(cfg);
    cfg.framing = o->framing;
    cfg.peer_name = o->peer_name;
    cfg.identity = o->identity;
    rc = msgsec_nl_client_open(&cl->io, o->service, &cfg, host, port,
                               o->timeout_ms, err, sizeof(err), &connecting);
    if (rc < 0) {
        fail_line("%s: %s", msgsec_error_name(rc), err);
        return connecting ? MSGSEC_EXIT_INTERNAL : msgsec_cli_exit_for(rc);
    }
    cl->framing = msgsec_session_framing(cl->io.s);
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
        return usage_error("--connect %s", err);
    cl = calloc(1, sizeof(*cl));
    if (!cl) {
        msgsec_cli_error("connect: out of memory");
        return MSGSEC_EXIT_INTERNAL;
    }
    cl->timeout_ms = o.timeout_ms;
    cl->target = o.target;
    if (msgsec_nl_client_init(&cl->io) < 0) {
        msgsec_cli_error("connect: out of memory");
        rc = MSGSEC_EXIT_INTERNAL;
    } else {
        rc = run_client(cl, &o, host, port);
    }

    fflush(stdout);
    msgsec_nl_client_free(&cl->io);
    msgsec_netbuf_free(&cl->line);
    msgsec_netbuf_free(&cl->ans);
    free(cl);
    return rc;
}
