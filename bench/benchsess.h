/*
 * benchsess.h - what the benchmarks of whole msgsec sessions share: two
 * cores (a UE's and a server's) from policy text, sessions of both roles
 * handshaken in memory by moving bytes with msgsec_session_pull()/feed(),
 * and the handshake operation measured against benchutil's raw OpenSSL.
 */
#ifndef MSGSEC_BENCHSESS_H
#define MSGSEC_BENCHSESS_H

#include <stddef.h>

#include <msgsec/msgsec.h>

#include "benchutil.h"

/* The service every benchmark policy defines, and the server's name. */
#define MSGSEC_BENCH_SERVICE "msgin5g"
#define MSGSEC_BENCH_PEER_NAME "msgin5g.example.com"

/* A core from policy text (dies with the detail when refused). */
msgsec_core *msgsec_bench_core_new(const char *policy);

/* The client's and the server's core and the framing of new sessions. */
typedef struct msgsec_bench_cores {
    msgsec_core *client, *server;
    int framing;
} msgsec_bench_cores;

/* A session of MSGSEC_BENCH_SERVICE (dies when refused). */
msgsec_session *msgsec_bench_session(msgsec_core *core, int role,
                                     int framing);

/* Moves a's output to b. Returns whether anything moved. */
int msgsec_bench_move(msgsec_session *a, msgsec_session *b);

/* New client and server sessions, both ESTABLISHED (dies otherwise). */
void msgsec_bench_handshake(const msgsec_bench_cores *x, msgsec_session **c,
                            msgsec_session **s);

/* Operation for msgsec_bench_method: a handshake, both sessions freed
 * (arg: msgsec_bench_cores). */
void msgsec_bench_op_handshake(void *arg);

/*
 * Dies unless a msgsec handshake gives the server the peer identity
 * `identity` and both sides forward secrecy as want_fs says, and a raw
 * handshake on raw negotiates the same key exchange.
 */
void msgsec_bench_check_kex(const msgsec_bench_cores *x, const char *identity,
                            msgsec_bench_raw *raw, int want_fs);

#endif
