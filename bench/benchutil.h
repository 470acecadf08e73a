/*
 * benchutil.h - what the benchmarks share: timing in interleaved slices,
 * the test key and identity, and raw OpenSSL TLS 1.3 external-PSK pairs
 * set up as the SDK's TLS-PSK engine sets up its own, for the raw figure
 * each benchmark prints next to msgsec's.
 */
#ifndef MSGSEC_BENCHUTIL_H
#define MSGSEC_BENCHUTIL_H

#include <stddef.h>
#include <stdint.h>

#include <openssl/ssl.h>

/* The PSK and identity every benchmark uses (identity in the AKMA form). */
extern const uint8_t msgsec_bench_key[32];
#define MSGSEC_BENCH_KEY_HEX                                                   \
    "000102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f"
#define MSGSEC_BENCH_ID "3GPP-AKMAbench0001@ausf.example.org"

/* The server's key store: 0 and the key for MSGSEC_BENCH_ID, else -1. */
int msgsec_bench_key_of(const uint8_t *id, size_t n, uint8_t *key,
                        size_t *len);

/* Prints "PROGRAM: what" and OpenSSL's error queue, then exits 1. */
void msgsec_bench_die(const char *what);
/* Names the program in msgsec_bench_die() messages. */
void msgsec_bench_set_name(const char *name);

/* Reads [SECONDS_PER_SLICE [ROUNDS]] (defaults 0.2 and 5); exits 2 with a
 * usage line on bad arguments. */
void msgsec_bench_args(int argc, char **argv, double *seconds, int *rounds);

double msgsec_bench_now(void);

/* One measured operation. */
typedef struct msgsec_bench_method {
    const char *name;
    void (*run)(void *arg); /* one operation */
    void *arg;
    double best;            /* operations per second, best slice */
} msgsec_bench_method;

/*
 * Runs the methods in interleaved time slices (after a short warm-up
 * each), `rounds` times, each keeping its best slice: other load on the
 * machine only ever lowers a slice.
 */
void msgsec_bench_measure(msgsec_bench_method *ms, size_t n, double seconds,
                          int rounds);

/* Target verdict text: "" when met, "  below target" otherwise. */
const char *msgsec_bench_verdict(double ratio, double target);

typedef struct msgsec_bench_raw msgsec_bench_raw;

/* Measures handshakes of op(arg) (msgsec's) against raw handshakes on r
 * and prints the row "  NAME  MSGSEC/s  RAW/s  RATIO". Returns whether
 * the ratio met target. */
int msgsec_bench_handshake_row(const char *name, void (*op)(void *),
                               void *arg, msgsec_bench_raw *r,
                               double seconds, int rounds, double target);

/* ---------------------------------------------------------------- raw */

/* BIO pair buffers: one full record (16 KiB + 22) each way, no more. */
#define MSGSEC_BENCH_PAIR_BUF (17 * 1024 + 512)

/* Client and server SSL_CTX with the engine's settings. psk_ke: the
 * server supports no group the client offers, so no key share is usable
 * (how the engine prefers psk_ke); release: SSL_MODE_RELEASE_BUFFERS, as
 * the engine sets it. */
struct msgsec_bench_raw {
    SSL_CTX *c, *s;
    const SSL_CIPHER *cipher;
};

void msgsec_bench_raw_init(msgsec_bench_raw *r, int psk_ke, int release);
void msgsec_bench_raw_free(msgsec_bench_raw *r);

/* A connected pair on a BIO pair. */
typedef struct msgsec_bench_rpair {
    SSL *c, *s;
} msgsec_bench_rpair;

/* New pair, handshaken (dies when it does not complete). */
void msgsec_bench_raw_handshake(msgsec_bench_raw *r, msgsec_bench_rpair *p);
void msgsec_bench_raw_close(msgsec_bench_rpair *p);

/* Dies unless a raw handshake resumes the external PSK and, as want_fs
 * says, with or without an (EC)DHE exchange. */
void msgsec_bench_raw_check_kex(msgsec_bench_raw *r, int want_fs);

/* Operations for msgsec_bench_method: a handshake of a new pair, freed
 * (arg: msgsec_bench_raw); one message client to server (arg:
 * msgsec_bench_rmsg). */
void msgsec_bench_raw_op_handshake(void *arg);

typedef struct msgsec_bench_rmsg {
    msgsec_bench_rpair *r;
    const uint8_t *msg;
    size_t len;
    uint8_t *out; /* 16 KiB */
} msgsec_bench_rmsg;

void msgsec_bench_raw_op_message(void *arg);

#endif
