/* benchutil.c - see benchutil.h. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <openssl/bio.h>
#include <openssl/crypto.h>
#include <openssl/err.h>

#include "benchutil.h"

const uint8_t msgsec_bench_key[32] = {0,  1,  2,  3,  4,  5,  6,  7,
                                      8,  9,  10, 11, 12, 13, 14, 15,
                                      16, 17, 18, 19, 20, 21, 22, 23,
                                      24, 25, 26, 27, 28, 29, 30, 31};

/* Set once by main() before anything runs. */
static const char *prog = "bench";

void msgsec_bench_set_name(const char *name)
{
    prog = name;
}

void msgsec_bench_die(const char *what)
{
    fprintf(stderr, "%s: %s\n", prog, what);
    ERR_print_errors_fp(stderr);
    exit(1);
}

void msgsec_bench_args(int argc, char **argv, double *seconds, int *rounds)
{
    *seconds = argc > 1 ? atof(argv[1]) : 0.2;
    *rounds = argc > 2 ? atoi(argv[2]) : 5;
    if (argc > 3 || *seconds <= 0 || *rounds <= 0) {
        fprintf(stderr, "usage: %s [SECONDS_PER_SLICE [ROUNDS]]\n", prog);
        exit(2);
    }
}

int msgsec_bench_key_of(const uint8_t *id, size_t n, uint8_t *key,
                        size_t *len)
{
    if (n != sizeof(MSGSEC_BENCH_ID) - 1 || memcmp(id, MSGSEC_BENCH_ID, n))
        return -1;
    memcpy(key, msgsec_bench_key, sizeof(msgsec_bench_key));
    *len = sizeof(msgsec_bench_key);
    return 0;
}

double msgsec_bench_now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static double slice(msgsec_bench_method *m, double seconds)
{
    long n = 0;
    double t0 = msgsec_bench_now(), t;
    do {
        for (int i = 0; i < 16; i++)
            m->run(m->arg);
        n += 16;
        t = msgsec_bench_now();
    } while (t - t0 < seconds);
    return (double)n / (t - t0);
}

void msgsec_bench_measure(msgsec_bench_method *ms, size_t n, double seconds,
                          int rounds)
{
    for (size_t i = 0; i < n; i++) {
        ms[i].best = 0;
        slice(&ms[i], seconds / 4); /* warm-up */
    }
    for (int r = 0; r < rounds; r++)
        for (size_t i = 0; i < n; i++) {
            double v = slice(&ms[i], seconds);
            if (v > ms[i].best)
                ms[i].best = v;
        }
}

const char *msgsec_bench_verdict(double ratio, double target)
{
    return ratio >= target ? "" : "  below target";
}

int msgsec_bench_handshake_row(const char *name, void (*op)(void *),
                               void *arg, msgsec_bench_raw *r,
                               double seconds, int rounds, double target)
{
    msgsec_bench_method ms[2] = {
        {"msgsec", op, arg, 0},
        {"raw", msgsec_bench_raw_op_handshake, r, 0}};
    msgsec_bench_measure(ms, 2, seconds, rounds);
    double ratio = ms[0].best / ms[1].best;
    printf("  %-22s %12.0f %12.0f %8.3f%s\n", name, ms[0].best, ms[1].best,
           ratio, msgsec_bench_verdict(ratio, target));
    return ratio >= target;
}

/* ---------------------------------------------------------------- raw */

static int r_use(SSL *ssl, const EVP_MD *md, const unsigned char **id,
                 size_t *idlen, SSL_SESSION **sess)
{
    (void)md;
    const msgsec_bench_raw *r = SSL_get_app_data(ssl);
    SSL_SESSION *s = SSL_SESSION_new();
    if (!s ||
        !SSL_SESSION_set1_master_key(s, msgsec_bench_key,
                                     sizeof(msgsec_bench_key)) ||
        !SSL_SESSION_set_cipher(s, r->cipher) ||
        !SSL_SESSION_set_protocol_version(s, TLS1_3_VERSION)) {
        SSL_SESSION_free(s);
        return 0;
    }
    *id = (const unsigned char *)MSGSEC_BENCH_ID;
    *idlen = sizeof(MSGSEC_BENCH_ID) - 1;
    *sess = s;
    return 1;
}

static int r_find(SSL *ssl, const unsigned char *id, size_t n,
                  SSL_SESSION **sess)
{
    uint8_t key[64];
    size_t kl = 0;
    *sess = NULL;
    if (msgsec_bench_key_of(id, n, key, &kl) != 0)
        return 1;
    SSL_SESSION *s = SSL_SESSION_new();
    const SSL_CIPHER *ci = SSL_get_pending_cipher(ssl);
    int ok = s && SSL_SESSION_set1_master_key(s, key, kl) &&
             SSL_SESSION_set_cipher(s, ci) &&
             SSL_SESSION_set_protocol_version(s, TLS1_3_VERSION);
    OPENSSL_cleanse(key, sizeof(key));
    if (!ok) {
        SSL_SESSION_free(s);
        return 0;
    }
    *sess = s;
    return 1;
}

/* The engine's SSL_CTX settings, by hand. */
static SSL_CTX *r_one(int psk_ke, int server, int release)
{
    SSL_CTX *x = SSL_CTX_new(TLS_method());
    if (!x)
        msgsec_bench_die("SSL_CTX_new");
    SSL_CTX_set_options(x, SSL_OP_NO_TICKET | SSL_OP_NO_RENEGOTIATION |
                               SSL_OP_CIPHER_SERVER_PREFERENCE |
                               (psk_ke ? SSL_OP_ALLOW_NO_DHE_KEX : 0));
    if (release)
        SSL_CTX_set_mode(x, SSL_MODE_RELEASE_BUFFERS);
    SSL_CTX_set_session_cache_mode(x, SSL_SESS_CACHE_OFF);
    SSL_CTX_set_min_proto_version(x, TLS1_3_VERSION);
    SSL_CTX_set_num_tickets(x, 0);
    SSL_CTX_set_max_early_data(x, 0);
    SSL_CTX_set_recv_max_early_data(x, 0);
    if (!SSL_CTX_set_ciphersuites(
            x, "TLS_AES_128_GCM_SHA256:TLS_CHACHA20_POLY1305_SHA256") ||
        !SSL_CTX_set1_groups_list(x, server && psk_ke
                                         ? "ffdhe2048"
                                         : "X25519:P-256:X448:P-384:P-521"))
        msgsec_bench_die("raw settings");
    if (server)
        SSL_CTX_set_psk_find_session_callback(x, r_find);
    else
        SSL_CTX_set_psk_use_session_callback(x, r_use);
    return x;
}

void msgsec_bench_raw_init(msgsec_bench_raw *r, int psk_ke, int release)
{
    r->c = r_one(psk_ke, 0, release);
    r->s = r_one(psk_ke, 1, release);
    SSL *t = SSL_new(r->c);
    const unsigned char id[2] = {0x13, 0x01};
    r->cipher = SSL_CIPHER_find(t, id);
    SSL_free(t);
}

void msgsec_bench_raw_free(msgsec_bench_raw *r)
{
    SSL_CTX_free(r->c);
    SSL_CTX_free(r->s);
}

void msgsec_bench_raw_handshake(msgsec_bench_raw *r, msgsec_bench_rpair *p)
{
    BIO *bc = NULL, *bs = NULL;
    p->c = SSL_new(r->c);
    p->s = SSL_new(r->s);
    if (!p->c || !p->s ||
        !BIO_new_bio_pair(&bc, MSGSEC_BENCH_PAIR_BUF, &bs,
                          MSGSEC_BENCH_PAIR_BUF))
        msgsec_bench_die("raw SSL_new");
    SSL_set_app_data(p->c, r);
    SSL_set_bio(p->c, bc, bc);
    SSL_set_bio(p->s, bs, bs);
    SSL_set_connect_state(p->c);
    SSL_set_accept_state(p->s);
    int dc = 0, ds = 0;
    for (int i = 0; i < 8 && !(dc && ds); i++) {
        if (!dc)
            dc = SSL_do_handshake(p->c) == 1;
        if (!ds)
            ds = SSL_do_handshake(p->s) == 1;
    }
    if (!dc || !ds)
        msgsec_bench_die("raw handshake did not complete");
}

void msgsec_bench_raw_close(msgsec_bench_rpair *p)
{
    SSL_free(p->c);
    SSL_free(p->s);
}

void msgsec_bench_raw_check_kex(msgsec_bench_raw *r, int want_fs)
{
    msgsec_bench_rpair p;
    msgsec_bench_raw_handshake(r, &p);
    EVP_PKEY *pk = NULL;
    int fs = SSL_get_peer_tmp_key(p.s, &pk);
    EVP_PKEY_free(pk);
    if (fs != want_fs || !SSL_session_reused(p.c))
        msgsec_bench_die("raw: unexpected key exchange mode");
    msgsec_bench_raw_close(&p);
}

void msgsec_bench_raw_op_handshake(void *arg)
{
    msgsec_bench_rpair p;
    msgsec_bench_raw_handshake(arg, &p);
    msgsec_bench_raw_close(&p);
}

void msgsec_bench_raw_op_message(void *arg)
{
    msgsec_bench_rmsg *a = arg;
    size_t w = 0, got = 0;
    if (SSL_write_ex(a->r->c, a->msg, a->len, &w) != 1 ||
        SSL_read_ex(a->r->s, a->out, 16384, &got) != 1 || got != a->len)
        msgsec_bench_die("raw message");
}
