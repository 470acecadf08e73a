/* benchsess.c - see benchsess.h. */
#include <string.h>

#include "benchsess.h"

/* One pull takes a whole flight or a whole 16 KiB message. */
#define WIRE_MAX (40 * 1024)

/* The benchmarks run on one thread. */
static uint8_t wire[WIRE_MAX];

msgsec_core *msgsec_bench_core_new(const char *policy)
{
    char detail[512] = "";
    msgsec_core *core = NULL;
    if (msgsec_core_new_from_string(policy, "<bench>", NULL, 0, &core, detail,
                                    sizeof(detail)) != 0)
        msgsec_bench_die(detail);
    return core;
}

msgsec_session *msgsec_bench_session(msgsec_core *core, int role,
                                     int framing)
{
    msgsec_session_config cfg = {.size = sizeof(cfg),
                                 .framing = framing,
                                 .peer_name = MSGSEC_BENCH_PEER_NAME};
    msgsec_session *s = NULL;
    if (msgsec_session_new(core, MSGSEC_BENCH_SERVICE, role, &cfg, &s) != 0)
        msgsec_bench_die(msgsec_last_detail());
    return s;
}

int msgsec_bench_move(msgsec_session *a, msgsec_session *b)
{
    int moved = 0;
    size_t n;
    while ((n = msgsec_session_pull(a, wire, sizeof(wire))) > 0) {
        moved = 1;
        if (msgsec_session_feed(b, wire, n) != 0)
            msgsec_bench_die(msgsec_session_detail(b));
    }
    return moved;
}

void msgsec_bench_handshake(const msgsec_bench_cores *x, msgsec_session **c,
                            msgsec_session **s)
{
    *c = msgsec_bench_session(x->client, MSGSEC_ROLE_CLIENT, x->framing);
    *s = msgsec_bench_session(x->server, MSGSEC_ROLE_SERVER, x->framing);
    int moved = 1;
    while (moved) {
        moved = msgsec_bench_move(*c, *s);
        moved |= msgsec_bench_move(*s, *c);
    }
    if (msgsec_session_state(*c) != MSGSEC_STATE_ESTABLISHED ||
        msgsec_session_state(*s) != MSGSEC_STATE_ESTABLISHED)
        msgsec_bench_die("msgsec handshake did not complete");
}

void msgsec_bench_op_handshake(void *arg)
{
    msgsec_session *c, *s;
    msgsec_bench_handshake(arg, &c, &s);
    msgsec_session_free(c);
    msgsec_session_free(s);
}

void msgsec_bench_check_kex(const msgsec_bench_cores *x, const char *identity,
                            msgsec_bench_raw *raw, int want_fs)
{
    msgsec_session *c, *s;
    msgsec_bench_handshake(x, &c, &s);
    msgsec_peer pc, ps;
    if (msgsec_session_peer(c, &pc) != 0 || msgsec_session_peer(s, &ps) != 0 ||
        strcmp(ps.identity, identity) != 0 ||
        !(pc.caps & MSGSEC_CAP_FORWARD_SECRECY) != !want_fs ||
        !(ps.caps & MSGSEC_CAP_FORWARD_SECRECY) != !want_fs)
        msgsec_bench_die("msgsec: unexpected peer or key exchange mode");
    msgsec_session_free(c);
    msgsec_session_free(s);
    msgsec_bench_raw_check_kex(raw, want_fs);
}
