/*
 * client.c - msgin5g-client: an MSGin5G Client embedding libmsgsec
 * through its integrator API only (doc/msgin5g.md).
 *
 * It connects with the scheme its policy selects, registers its UE service
 * ID, sends the --send messages, answers delivery reports, prints one line
 * per event on standard output and exits with a status that says what
 * happened. One poll() loop (netloop's client wait) holds the socket and
 * the core's descriptor.
 *
 * The server answers every request with MSGRESP in the order of the
 * requests, so answers are matched to a queue of what was sent.
 */
#include <errno.h>
#include <getopt.h>
#include <limits.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <sys/socket.h>

#include <msgsec/msgsec.h>

#include "cli.h"
#include "msg.h"
#include "netio.h"
#include "netloop.h"

/* The largest message taken from the server. */
#define MSG_CAP (1u << 20)
#define CONNECT_TIMEOUT_MS 10000
#define CLOSE_WAIT_MS 1000
#define DEFAULT_WAIT_MS 5000

enum {
    EXIT_OK = 0,
    EXIT_USAGE = 2,
    EXIT_AUTH = 3,
    EXIT_REG = 4,
    EXIT_MSG = 5,
    EXIT_REPORT = 6,
    EXIT_IO = 7
};

typedef struct outmsg {
    int dest_type;
    const char *dest;  /* points into argv */
    const char *text;
    char msg_id[48];
    int status;        /* MSGRESP status, 0 until answered */
    int reports, report_failed;
} outmsg;

typedef struct request {
    int type;
    char msg_id[MSGSEC_M5G_MSGID_MAX + 1];
    outmsg *msg;       /* MSG: what it was */
} request;

typedef struct client {
    /* options */
    const char *policy, *service, *target, *ue, *ori, *peer_name;
    int report, store, dereg;
    long expect;
    int wait_ms, wait_given;
    outmsg *msgs;
    size_t nmsgs;
    /* state */
    msgsec_nl_client io;  /* core, session, socket, buffers */
    int established, registered, closing, done, leaving;
    int status;        /* EXIT_* once decided */
    int64_t deadline;  /* of the current wait */
    char prefix[16];
    unsigned counter;
    request *q;        /* requests waiting for MSGRESP */
    size_t qhead, qlen, qcap;
    unsigned long sent, accepted, stored, failed, delivered, received;
    msgsec_m5g_lines lines;
} client;

static const char usage_text[] =
    "Usage: msgin5g-client --policy FILE --connect HOST:PORT\n"
    "                      --ue-service-id ID [OPTION]...\n"
    "\n"
    "An MSGin5G Client: connects to an MSGin5G Server with the scheme its\n"
    "policy selects (msgsec), registers as ID, sends the --send messages,\n"
    "answers delivery reports for the messages it receives, and prints one\n"
    "line per event. Wire form: doc/msgin5g.md.\n"
    "\n"
    "  --policy FILE          the msgsec policy\n"
    "  --service NAME         the policy service (default msgin5g-1)\n"
    "  --connect HOST:PORT    the server\n"
    "  --ue-service-id ID     the UE service ID to register\n"
    "  --send DEST:TEXT       send TEXT (repeatable); DEST is ue:ID,\n"
    "                         group:ID, bc:AREA, or a bare ID (ue:ID)\n"
    "  --report               ask for a delivery report of each message and\n"
    "                         wait for it\n"
    "  --store                ask for store-and-forward when a recipient is\n"
    "                         offline\n"
    "  --ori-addr ID          claim oriAddr ID instead of the registered one\n"
    "                         (a forgery, for tests)\n"
    "  --expect N             wait for N incoming messages\n"
    "  --wait-ms MS           how long to wait for answers, reports and\n"
    "                         expected messages after registering (default\n"
    "                         5000); without --expect or --report, stay\n"
    "                         connected that long printing what arrives\n"
    "  --peer-name NAME       the server's name as the client targets it\n"
    "                         (e.g. the AKMA AF's FQDN)\n"
    "  --dereg                deregister before leaving (by default the UE\n"
    "                         stays registered: messages for it are stored)\n"
    "  -h, --help             show this help\n"
    "\n"
    "Standard output, one line per event:\n"
    "  authenticated scheme=S identity=I [supi=..] [gpsi=..] [expiry=..]\n"
    "  registered ue:ID\n"
    "  sent msgId=M to ue:X status=DELY_ACCEPTED [cause=C]\n"
    "  received from ue:X: TEXT   (group, broadcast: from ue:X via group:G)\n"
    "  report msgId=M from ue:X delivSt=REPT_DELY_SUCCESS [cause=C]\n"
    "  summary sent=N accepted=N stored=N failed=N delivered=N received=N\n"
    "and failures as \"authentication failed: ...\", \"registration refused "
    "...\",\n"
    "\"connection failed: ...\", \"timeout: ...\".\n"
    "\n"
    "Exit status: 0 all as asked, 2 usage error, 3 authentication failed,\n"
    "4 registration refused, 5 a message refused or failed, 6 a requested\n"
    "report missing or failed, or expected messages not received in time,\n"
    "7 connection or I/O error (or the policy could not be loaded).\n";

#define say msgsec_net_say

static const char *dest_prefix(int type)
{
    return type == MSGSEC_M5G_ADDR_GROUP ? "group"
           : type == MSGSEC_M5G_ADDR_BC  ? "bc"
                                         : "ue";
}

/* Ends the run with status (the first decided wins). */
static void decide(client *cl, int status)
{
    if (!cl->status)
        cl->status = status;
    cl->done = 1;
}

/* ------------------------------------------------------------ sending */

static int enqueue(client *cl, int type, const char *msg_id, outmsg *m)
{
    if (cl->qlen == cl->qcap) {
        size_t cap = cl->qcap ? cl->qcap * 2 : 16;
        request *q = malloc(cap * sizeof(*q));
        if (!q)
            return -1;
        for (size_t i = 0; i < cl->qlen; i++)
            q[i] = cl->q[(cl->qhead + i) % cl->qcap];
        free(cl->q);
        cl->q = q;
        cl->qcap = cap;
        cl->qhead = 0;
    }
    request *r = &cl->q[(cl->qhead + cl->qlen) % cl->qcap];
    r->type = type;
    snprintf(r->msg_id, sizeof(r->msg_id), "%s", msg_id);
    r->msg = m;
    cl->qlen++;
    return 0;
}

/* Builds and sends one request (answered by MSGRESP). 0, or -1 (decided). */
static int send_request(client *cl, const msgsec_m5g_msg *m, outmsg *om)
{
    size_t len;
    char *line = msgsec_m5g_build(m, &len);
    int rc;

    if (!line) {
        say("connection failed: cannot build a %s message (out of memory or "
            "over %u bytes)\n",
            msgsec_m5g_type_name(m->type), MSGSEC_M5G_LINE_MAX);
        decide(cl, m->type == MSGSEC_M5G_MSG ? EXIT_MSG : EXIT_IO);
        return -1;
    }
    rc = msgsec_session_send(cl->io.s, line, len);
    explicit_bzero(line, len);
    free(line);
    if (rc < 0) {
        say("connection failed: %s: %s\n", msgsec_error_name(rc),
            msgsec_session_detail(cl->io.s));
        decide(cl, EXIT_IO);
        return -1;
    }
    if (enqueue(cl, m->type, m->msg_id, om) < 0) {
        say("connection failed: out of memory\n");
        decide(cl, EXIT_IO);
        return -1;
    }
    return 0;
}

static void next_id(client *cl, char *out, size_t n)
{
    snprintf(out, n, "%s-%u", cl->prefix, ++cl->counter);
}

static int send_simple(client *cl, int type)
{
    msgsec_m5g_msg m;
    char id[48];

    memset(&m, 0, sizeof(m));
    next_id(cl, id, sizeof(id));
    m.type = type;
    m.msg_id = id;
    m.ue_service_id = cl->ue;
    return send_request(cl, &m, NULL);
}

static int send_messages(client *cl)
{
    for (size_t i = 0; i < cl->nmsgs; i++) {
        outmsg *om = &cl->msgs[i];
        msgsec_m5g_msg m;
        memset(&m, 0, sizeof(m));
        next_id(cl, om->msg_id, sizeof(om->msg_id));
        m.type = MSGSEC_M5G_MSG;
        m.msg_id = om->msg_id;
        m.ori.type = MSGSEC_M5G_ADDR_UE;
        m.ori.addr = cl->ori ? cl->ori : cl->ue;
        m.dest.type = om->dest_type;
        m.dest.addr = om->dest;
        m.payload = om->text;
        m.payload_len = strlen(om->text);
        m.deliv_st_req = cl->report;
        m.sto_and_fw = cl->store;
        if (send_request(cl, &m, om) < 0)
            return -1;
        cl->sent++;
    }
    return 0;
}

/* ------------------------------------------------------------ receiving */

/* Everything asked for is in. */
static int satisfied(const client *cl)
{
    if (!cl->registered || cl->qlen > 0 || cl->received < (unsigned long)cl->expect)
        return 0;
    for (size_t i = 0; cl->report && i < cl->nmsgs; i++) {
        const outmsg *om = &cl->msgs[i];
        if ((om->status == MSGSEC_M5G_DELY_ACCEPTED ||
             om->status == MSGSEC_M5G_DELY_STORED) &&
            om->reports == 0)
            return 0;
    }
    return 1;
}

static void on_msgresp(client *cl, const msgsec_m5g_msg *m)
{
    const char *cause = m->failure_cause;

    if (cl->qlen == 0 || strcmp(cl->q[cl->qhead].msg_id, m->msg_id) != 0) {
        say("connection failed: an answer to msgId=%s, which was not "
            "asked\n",
            m->msg_id);
        decide(cl, EXIT_IO);
        return;
    }
    request r = cl->q[cl->qhead];
    cl->qhead = (cl->qhead + 1) % cl->qcap;
    cl->qlen--;
    switch (r.type) {
    case MSGSEC_M5G_REG:
        if (m->status != MSGSEC_M5G_REG_SUCCESS) {
            say("registration refused status=%s cause=%s\n",
                msgsec_m5g_status_name(m->status), cause ? cause : "-");
            decide(cl, EXIT_REG);
            return;
        }
        cl->registered = 1;
        say("registered ue:%s\n", cl->ue);
        cl->deadline = msgsec_net_now_ms() + cl->wait_ms;
        send_messages(cl);
        return;
    case MSGSEC_M5G_DEREG:
        if (m->status == MSGSEC_M5G_DEREG_SUCCESS)
            say("deregistered\n");
        else
            say("deregistration refused status=%s cause=%s\n",
                msgsec_m5g_status_name(m->status), cause ? cause : "-");
        return;
    case MSGSEC_M5G_IMDN:
        if (m->status != MSGSEC_M5G_DELY_ACCEPTED &&
            m->status != MSGSEC_M5G_DELY_STORED)
            say("report msgId=%s not forwarded status=%s cause=%s\n",
                m->msg_id, msgsec_m5g_status_name(m->status),
                cause ? cause : "-");
        return;
    default: {
        outmsg *om = r.msg;
        om->status = m->status;
        say("sent msgId=%s to %s:%s status=%s%s%s\n", om->msg_id,
            dest_prefix(om->dest_type), om->dest,
            msgsec_m5g_status_name(m->status), cause ? " cause=" : "",
            cause ? cause : "");
        if (m->status == MSGSEC_M5G_DELY_ACCEPTED)
            cl->accepted++;
        else if (m->status == MSGSEC_M5G_DELY_STORED)
            cl->stored++;
        else
            cl->failed++;
        return;
    }
    }
}

static void on_msg(client *cl, const msgsec_m5g_msg *m)
{
    cl->received++;
    fputs("received from ue:", stdout);
    msgsec_m5g_print_text(stdout, m->ori.addr, strlen(m->ori.addr));
    if (m->dest.type != MSGSEC_M5G_ADDR_UE) {
        printf(" via %s:", dest_prefix(m->dest.type));
        msgsec_m5g_print_text(stdout, m->dest.addr, strlen(m->dest.addr));
    }
    fputs(": ", stdout);
    if (m->payload)
        msgsec_m5g_print_text(stdout, m->payload, m->payload_len);
    fputc('\n', stdout);
    fflush(stdout);
    if (m->deliv_st_req) {
        msgsec_m5g_msg rep;
        memset(&rep, 0, sizeof(rep));
        rep.type = MSGSEC_M5G_IMDN;
        rep.msg_id = m->msg_id;
        rep.ori.type = rep.dest.type = MSGSEC_M5G_ADDR_UE;
        rep.ori.addr = cl->ue;
        rep.dest.addr = m->ori.addr;
        rep.deliv_st = MSGSEC_M5G_REPT_DELY_SUCCESS;
        send_request(cl, &rep, NULL);
    }
}

static void on_imdn(client *cl, const msgsec_m5g_msg *m)
{
    fputs("report msgId=", stdout);
    msgsec_m5g_print_text(stdout, m->msg_id, strlen(m->msg_id));
    fputs(" from ue:", stdout);
    msgsec_m5g_print_text(stdout, m->ori.addr, strlen(m->ori.addr));
    printf(" delivSt=%s", msgsec_m5g_delivst_name(m->deliv_st));
    if (m->failure_cause) {
        fputs(" cause=", stdout);
        msgsec_m5g_print_text(stdout, m->failure_cause,
                              strlen(m->failure_cause));
    }
    fputc('\n', stdout);
    fflush(stdout);
    for (size_t i = 0; i < cl->nmsgs; i++) {
        outmsg *om = &cl->msgs[i];
        if (strcmp(om->msg_id, m->msg_id) != 0)
            continue;
        om->reports++;
        if (m->deliv_st == MSGSEC_M5G_REPT_DELY_SUCCESS)
            cl->delivered++;
        else
            om->report_failed = 1;
    }
}

static void on_line(client *cl, const char *line, size_t len)
{
    msgsec_m5g_msg m;
    char why[256];

    if (len == 0)
        return;
    if (msgsec_m5g_parse(line, len, &m, why, sizeof(why)) < 0) {
        say("connection failed: the server sent a malformed message: %s\n",
            why);
        decide(cl, EXIT_IO);
    } else if (m.type == MSGSEC_M5G_MSGRESP) {
        on_msgresp(cl, &m);
    } else if (m.type == MSGSEC_M5G_MSG) {
        on_msg(cl, &m);
    } else if (m.type == MSGSEC_M5G_IMDN) {
        on_imdn(cl, &m);
    } else {
        say("connection failed: the server sent a %s message\n",
            msgsec_m5g_type_name(m.type));
        decide(cl, EXIT_IO);
    }
    msgsec_m5g_msg_clear(&m);
}

/* Takes decoded plaintext; returns 1 when the server closed. */
static int take_plaintext(client *cl)
{
    const char *line;
    size_t len;

    for (;;) {
        size_t n = 0;
        int rc = msgsec_nl_client_recv(&cl->io, MSG_CAP, &n);
        if (rc == MSGSEC_CONTINUE)
            break;
        if (rc == MSGSEC_ERR_CLOSED)
            return 1;
        if (rc < 0) {
            char text[1024];
            msgsec_net_fail_text(cl->io.s, rc, text, sizeof(text));
            say("connection failed: %s\n", text);
            decide(cl, EXIT_IO);
            return 0;
        }
        if (msgsec_m5g_lines_push(&cl->lines, cl->io.mbuf, n) < 0) {
            say("connection failed: out of memory\n");
            decide(cl, EXIT_IO);
            return 0;
        }
    }
    while (!cl->done) {
        int rc = msgsec_m5g_lines_next(&cl->lines, &line, &len);
        if (rc == 0)
            break;
        if (rc < 0) {
            say("connection failed: the server sent a line over %u bytes\n",
                MSGSEC_M5G_LINE_MAX);
            decide(cl, EXIT_IO);
            break;
        }
        on_line(cl, line, len);
    }
    return 0;
}

static void announce(client *cl)
{
    msgsec_peer peer;
    char text[MSGSEC_NET_PEER_MAX];

    cl->established = 1;
    msgsec_net_session_peer(cl->io.s, &peer);
    msgsec_net_peer_text(&peer, text, sizeof(text));
    say("authenticated%s\n", text);
    cl->deadline = msgsec_net_now_ms() + CONNECT_TIMEOUT_MS;
    send_simple(cl, MSGSEC_M5G_REG);
}

/* After feed/resume returned rc. */
static void after(client *cl, int rc)
{
    if (rc < 0) {
        char text[1024];
        msgsec_net_fail_text(cl->io.s, rc, text, sizeof(text));
        if (!cl->established) {
            say("authentication failed: %s\n", text);
            decide(cl, EXIT_AUTH);
        } else if (!cl->closing) {
            say("connection failed: %s\n", text);
            decide(cl, EXIT_IO);
        }
        return;
    }
    int st = msgsec_session_state(cl->io.s);
    if (st != MSGSEC_STATE_ESTABLISHED && st != MSGSEC_STATE_CLOSED)
        return;
    if (!cl->established)
        announce(cl);
    if (take_plaintext(cl) && !cl->closing && !cl->done) {
        say("connection failed: the server closed the session\n");
        decide(cl, EXIT_IO);
    }
}

/* ------------------------------------------------------------ the loop */

/* The wait ran out: what that means depends on what was waited for. */
static void timed_out(client *cl)
{
    if (!cl->registered || cl->qlen > 0) {
        say("timeout: no answer from the server (%s)\n",
            !cl->established ? "handshake"
            : !cl->registered ? "registration"
                              : "message answers");
        decide(cl, EXIT_IO);
        return;
    }
    if (cl->received < (unsigned long)cl->expect)
        say("timeout: %lu of %ld expected messages received\n", cl->received,
            cl->expect);
    else if (!satisfied(cl))
        say("timeout: delivery reports missing\n");
    cl->done = 1;
}

/* Writes queued bytes; 0 or -1 (decided). */
static int flush_out(client *cl)
{
    int rc = msgsec_nl_client_flush(&cl->io);
    if (rc == MSGSEC_ERR_NOMEM) {
        say("connection failed: out of memory\n");
        decide(cl, EXIT_IO);
        return -1;
    }
    if (rc < 0) {
        if (!cl->done) {
            say("connection failed: write: %s\n", strerror(-rc));
            decide(cl, EXIT_IO);
        }
        return -1;
    }
    return 0;
}

static void loop(client *cl)
{
    while (!cl->done) {
        int64_t now = msgsec_net_now_ms();
        int rc = 0;

        if (cl->leaving ? cl->qlen == 0
                        : cl->registered && satisfied(cl) &&
                              !(cl->wait_given && !cl->report &&
                                cl->expect == 0)) {
            cl->done = 1;
            break;
        }
        if (flush_out(cl) < 0)
            return;
        if (now >= cl->deadline) {
            timed_out(cl);
            break;
        }
        int64_t left = cl->deadline - now;
        int got = msgsec_nl_client_wait(&cl->io, NULL, 0,
                                        left > INT_MAX ? INT_MAX : (int)left,
                                        &rc);
        if (got < 0) {
            say("connection failed: read: %s\n", strerror(-got));
            decide(cl, EXIT_IO);
        } else if (got == MSGSEC_NL_EOF) {
            if (!cl->established) {
                say("authentication failed: %s: the server closed the "
                    "connection during the handshake\n",
                    msgsec_error_name(MSGSEC_ERR_PEER_REJECTED));
                decide(cl, EXIT_AUTH);
            } else {
                say("connection failed: the server ended the connection\n");
                decide(cl, EXIT_IO);
            }
        } else if (got == MSGSEC_NL_MOVED) {
            after(cl, rc);
        }
    }
}

/* Deregisters when asked, closes the session and waits briefly for the
 * server's close so that ours is not lost to a reset. */
static void leave(client *cl)
{
    if (cl->io.fd < 0 || !cl->io.s)
        return;
    if (!cl->status && cl->dereg && cl->registered) {
        cl->done = 0;
        cl->leaving = 1;
        cl->deadline = msgsec_net_now_ms() + CONNECT_TIMEOUT_MS;
        if (send_simple(cl, MSGSEC_M5G_DEREG) == 0)
            loop(cl);
    }
    int st = msgsec_session_state(cl->io.s);
    if (st != MSGSEC_STATE_ESTABLISHED)
        return;
    cl->closing = 1;
    if (msgsec_session_close(cl->io.s) < 0 || flush_out(cl) < 0)
        return;
    shutdown(cl->io.fd, SHUT_WR);
    int64_t end = msgsec_net_now_ms() + CLOSE_WAIT_MS;
    for (;;) {
        int64_t left = end - msgsec_net_now_ms();
        struct pollfd p = {.fd = cl->io.fd, .events = POLLIN};
        if (left <= 0 || poll(&p, 1, (int)left) <= 0)
            return;
        ssize_t r = recv(cl->io.fd, cl->io.rbuf, MSGSEC_NL_READ_CHUNK, 0);
        if (r <= 0)
            return;
    }
}

/* ------------------------------------------------------------ options */

#define PROG "msgin5g-client"
#define usage_error(...) msgsec_cli_usage_error_for(PROG, NULL, __VA_ARGS__)

static int id_ok(const char *s)
{
    return msgsec_m5g_id_ok(s, strlen(s), MSGSEC_M5G_ID_MAX);
}

/* DEST:TEXT into om; the ID ends at the first ':' after the type. */
static int parse_send(char *arg, outmsg *om)
{
    static const struct {
        const char *prefix;
        int type;
    } kinds[] = {{"ue:", MSGSEC_M5G_ADDR_UE},
                 {"group:", MSGSEC_M5G_ADDR_GROUP},
                 {"bc:", MSGSEC_M5G_ADDR_BC}};
    char *p = arg;

    om->dest_type = MSGSEC_M5G_ADDR_UE;
    for (size_t i = 0; i < sizeof(kinds) / sizeof(kinds[0]); i++) {
        size_t n = strlen(kinds[i].prefix);
        if (strncmp(arg, kinds[i].prefix, n) == 0) {
            om->dest_type = kinds[i].type;
            p = arg + n;
            break;
        }
    }
    char *colon = strchr(p, ':');
    if (!colon)
        return -1;
    *colon = '\0';
    om->dest = p;
    om->text = colon + 1;
    return id_ok(p) ? 0 : -1;
}

enum {
    OPT_POLICY = 256,
    OPT_SERVICE,
    OPT_CONNECT,
    OPT_UE,
    OPT_SEND,
    OPT_REPORT,
    OPT_STORE,
    OPT_ORI,
    OPT_EXPECT,
    OPT_WAIT,
    OPT_PEER,
    OPT_DEREG
};

static int parse_opts(client *cl, int argc, char **argv)
{
    static const struct option longopts[] = {
        {"policy", required_argument, NULL, OPT_POLICY},
        {"service", required_argument, NULL, OPT_SERVICE},
        {"connect", required_argument, NULL, OPT_CONNECT},
        {"ue-service-id", required_argument, NULL, OPT_UE},
        {"send", required_argument, NULL, OPT_SEND},
        {"report", no_argument, NULL, OPT_REPORT},
        {"store", no_argument, NULL, OPT_STORE},
        {"ori-addr", required_argument, NULL, OPT_ORI},
        {"expect", required_argument, NULL, OPT_EXPECT},
        {"wait-ms", required_argument, NULL, OPT_WAIT},
        {"peer-name", required_argument, NULL, OPT_PEER},
        {"dereg", no_argument, NULL, OPT_DEREG},
        {"help", no_argument, NULL, 'h'},
        {NULL, 0, NULL, 0},
    };
    long v;
    int c;

    opterr = 0;
    while ((c = getopt_long(argc, argv, ":h", longopts, NULL)) != -1) {
        switch (c) {
        case OPT_POLICY:
            cl->policy = optarg;
            break;
        case OPT_SERVICE:
            cl->service = optarg;
            break;
        case OPT_CONNECT:
            cl->target = optarg;
            break;
        case OPT_UE:
            if (!id_ok(optarg))
                return usage_error("--ue-service-id: 1 to %u bytes without "
                                   "control characters",
                                   MSGSEC_M5G_ID_MAX);
            cl->ue = optarg;
            break;
        case OPT_SEND:
            if (parse_send(optarg, &cl->msgs[cl->nmsgs]) < 0)
                return usage_error("--send: DEST:TEXT expected, DEST being "
                                   "ue:ID, group:ID, bc:AREA or ID");
            cl->nmsgs++;
            break;
        case OPT_REPORT:
            cl->report = 1;
            break;
        case OPT_STORE:
            cl->store = 1;
            break;
        case OPT_ORI:
            if (!id_ok(optarg))
                return usage_error("--ori-addr: 1 to %u bytes without "
                                   "control characters",
                                   MSGSEC_M5G_ID_MAX);
            cl->ori = optarg;
            break;
        case OPT_EXPECT:
        case OPT_WAIT:
            if (msgsec_cli_number(optarg, 0, INT_MAX, &v) < 0)
                return usage_error("%s '%s': a number, 0 or more",
                                   c == OPT_EXPECT ? "--expect" : "--wait-ms",
                                   optarg);
            if (c == OPT_EXPECT) {
                cl->expect = v;
            } else {
                cl->wait_ms = (int)v;
                cl->wait_given = 1;
            }
            break;
        case OPT_PEER:
            cl->peer_name = optarg;
            break;
        case OPT_DEREG:
            cl->dereg = 1;
            break;
        default:
            return msgsec_cli_opt_other(PROG, NULL, c, usage_text, argv);
        }
    }
    if (optind < argc)
        return usage_error("unexpected argument '%s'", argv[optind]);
    if (!cl->policy || !cl->policy[0])
        return usage_error("--policy FILE is required");
    if (!cl->target)
        return usage_error("--connect HOST:PORT is required");
    if (!cl->ue)
        return usage_error("--ue-service-id ID is required");
    return -1;
}

/* ------------------------------------------------------------ main */

static int run(client *cl, const char *host, const char *port)
{
    char detail[1024] = "", err[MSGSEC_NET_ERR_MAX];
    msgsec_session_config cfg;
    unsigned char rnd[4];
    int rc, connecting;

    /* msgIds unique across runs: reports stored for an earlier run of the
     * same UE must not match this run's messages. */
    if (getrandom(rnd, sizeof(rnd), 0) != (ssize_t)sizeof(rnd))
        memset(rnd, 0, sizeof(rnd));
    snprintf(cl->prefix, sizeof(cl->prefix), "%02x%02x%02x%02x", rnd[0],
             rnd[1], rnd[2], rnd[3]);
    rc = msgsec_core_new(cl->policy, NULL, 0, &cl->io.core, detail,
                         sizeof(detail));
    if (rc < 0) {
        say("connection failed: %s: %s\n", msgsec_error_name(rc),
            detail[0] ? detail : msgsec_strerror(rc));
        return EXIT_IO;
    }
    memset(&cfg, 0, sizeof(cfg));
    cfg.size = sizeof(cfg);
    cfg.peer_name = cl->peer_name;
    rc = msgsec_nl_client_open(&cl->io, cl->service, &cfg, host, port,
                               CONNECT_TIMEOUT_MS, err, sizeof(err),
                               &connecting);
    if (rc < 0 && !connecting) {
        say("authentication failed: %s: %s\n", msgsec_error_name(rc), err);
        return rc == MSGSEC_ERR_POLICY_UNKNOWN_SERVICE ? EXIT_USAGE
                                                       : EXIT_AUTH;
    }
    if (rc < 0) {
        say("connection failed: %s: %s\n", msgsec_error_name(rc), err);
        return EXIT_IO;
    }
    cl->deadline = msgsec_net_now_ms() + CONNECT_TIMEOUT_MS;
    after(cl, 0);
    loop(cl);
    leave(cl);
    if (cl->status)
        return cl->status;
    for (size_t i = 0; i < cl->nmsgs; i++)
        if (cl->msgs[i].status != MSGSEC_M5G_DELY_ACCEPTED &&
            cl->msgs[i].status != MSGSEC_M5G_DELY_STORED)
            return EXIT_MSG;
    if (cl->received < (unsigned long)cl->expect)
        return EXIT_REPORT;
    for (size_t i = 0; cl->report && i < cl->nmsgs; i++)
        if (cl->msgs[i].reports == 0 || cl->msgs[i].report_failed)
            return EXIT_REPORT;
    return EXIT_OK;
}

int main(int argc, char **argv)
{
    char host[256], port[8], err[MSGSEC_NET_ERR_MAX];
    client *cl = calloc(1, sizeof(*cl));
    int rc;

    if (!cl) {
        fputs("msgin5g-client: out of memory\n", stderr);
        return EXIT_IO;
    }
    cl->service = "msgin5g-1";
    cl->wait_ms = DEFAULT_WAIT_MS;
    /* Each --send takes one argument at least: argc bounds their number. */
    cl->msgs = calloc((size_t)argc + 1, sizeof(*cl->msgs));
    if (msgsec_nl_client_init(&cl->io) < 0 || !cl->msgs) {
        fputs("msgin5g-client: out of memory\n", stderr);
        rc = EXIT_IO;
    } else if ((rc = parse_opts(cl, argc, argv)) < 0) {
        if (msgsec_net_split(cl->target, host, sizeof(host), port,
                             sizeof(port), err, sizeof(err)) < 0) {
            rc = usage_error("--connect %s", err);
        } else {
            rc = run(cl, host, port);
            say("summary sent=%lu accepted=%lu stored=%lu failed=%lu "
                "delivered=%lu received=%lu\n",
                cl->sent, cl->accepted, cl->stored, cl->failed,
                cl->delivered, cl->received);
        }
    }
    msgsec_nl_client_free(&cl->io);
    msgsec_m5g_lines_free(&cl->lines);
    free(cl->msgs);
    free(cl->q);
    free(cl);
    return rc;
}
