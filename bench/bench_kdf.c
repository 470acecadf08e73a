/*
 * bench_kdf.c - K_AF derivations per second through msgsec, next to raw
 * OpenSSL HMAC-SHA-256 with a new key each time, in the same process.
 *
 * Every method computes K_AF = HMAC-SHA-256(K_AKMA, S) for the AF
 * "msgin5g.example.com" over TLS 1.3, each call keyed with the previous
 * output (a new key every time, nothing to hoist). The raw methods get S
 * ready-made; msgsec builds it from the FQDN and the Ua* identifier on every
 * call. Methods run in interleaved time slices and each keeps its best
 * slice, which filters out other load on the machine.
 *
 * Raw methods (all with algorithms fetched once, outside the loop):
 *   EVP_MAC dup       EVP_MAC_CTX_dup() of a ctx with the digest set, then
 *                     EVP_MAC_init(key), update, final, free
 *   EVP_MAC reinit    one EVP_MAC_CTX re-keyed with EVP_MAC_init() (not
 *                     shareable between threads)
 *   HMAC()            the one-shot, with the fetched EVP_MD
 *   EVP_Q_mac()       the quick one-shot (fetches internally)
 *   digest ipad/opad  HMAC written out on one reused EVP_MD_CTX with the
 *                     fetched SHA-256 (not shareable between threads)
 * and, for information only, the deprecated SHA256_Init() family, which
 * bypasses OpenSSL 3's providers (no FIPS provider, no engine) and which a
 * library should not build on.
 *
 * Usage: bench_kdf [SECONDS_PER_SLICE [ROUNDS]]   (defaults 0.2 and 5)
 */
/* For the informational low-level line only. */
#define OPENSSL_SUPPRESS_DEPRECATED

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <openssl/core_names.h>
#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <openssl/params.h>
#include <openssl/sha.h>

#include <msgsec/akma_keys.h>

#define TARGET_RATIO 0.8

static const uint8_t kat_k_akma[32] = {
    0xbb, 0xa5, 0xe9, 0x5f, 0x12, 0x05, 0xd4, 0xf1, 0xc2, 0x17, 0xb9,
    0x1e, 0x08, 0xec, 0x35, 0x09, 0xad, 0x62, 0xcf, 0xbf, 0x43, 0xf4,
    0x74, 0xc6, 0xbf, 0x49, 0x5d, 0xa8, 0x31, 0x32, 0xc9, 0x5e};
static const uint8_t kat_k_af[32] = {
    0x23, 0xbe, 0xf2, 0x38, 0xa0, 0x02, 0xc7, 0x58, 0xf4, 0x28, 0x45,
    0xfe, 0x14, 0x22, 0xdd, 0xe4, 0xa9, 0xf2, 0x87, 0x01, 0x60, 0x74,
    0x12, 0x8f, 0x5c, 0x51, 0x01, 0xbc, 0xb2, 0x8b, 0x9a, 0xdb};

static const char FQDN[] = "msgin5g.example.com";
static const uint8_t UA[5] = MSGSEC_AKMA_UA_ID_TLS13;

/* Shared, read-only after setup. */
static uint8_t S[64];
static size_t S_len;
static EVP_MD *md;
static EVP_MAC *mac;
static EVP_MAC_CTX *mac_template;
static msgsec_kdf *kdf;

typedef struct state {
    EVP_MD_CTX *mdctx;   /* digest ipad/opad */
    EVP_MAC_CTX *macctx; /* EVP_MAC reinit */
} state;

/* One K_AF derivation: out = K_AF(key). 1 on success. */
typedef int (*method_fn)(state *st, const uint8_t *key, uint8_t *out);

static int m_msgsec(state *st, const uint8_t *key, uint8_t *out)
{
    (void)st;
    return msgsec_akma_derive_k_af_fqdn(kdf, key, 32, FQDN, sizeof(FQDN) - 1,
                                        UA, out) == MSGSEC_OK;
}

static int m_mac_dup(state *st, const uint8_t *key, uint8_t *out)
{
    EVP_MAC_CTX *c = EVP_MAC_CTX_dup(mac_template);
    size_t n;
    int ok = c && EVP_MAC_init(c, key, 32, NULL) &&
             EVP_MAC_update(c, S, S_len) && EVP_MAC_final(c, out, &n, 32);
    (void)st;
    EVP_MAC_CTX_free(c);
    return ok;
}

static int m_mac_reinit(state *st, const uint8_t *key, uint8_t *out)
{
    size_t n;
    return EVP_MAC_init(st->macctx, key, 32, NULL) &&
           EVP_MAC_update(st->macctx, S, S_len) &&
           EVP_MAC_final(st->macctx, out, &n, 32);
}

static int m_hmac(state *st, const uint8_t *key, uint8_t *out)
{
    unsigned int n;
    (void)st;
    return HMAC(md, key, 32, S, S_len, out, &n) != NULL;
}

static int m_q_mac(state *st, const uint8_t *key, uint8_t *out)
{
    size_t n;
    (void)st;
    return EVP_Q_mac(NULL, "HMAC", NULL, "SHA256", NULL, key, 32, S, S_len,
                     out, 32, &n) != NULL;
}

static int m_digest(state *st, const uint8_t *key, uint8_t *out)
{
    uint8_t in[64 + 64], outer[64 + 32];
    EVP_MD_CTX *c = st->mdctx;

    for (int i = 0; i < 64; i++)
        in[i] = (uint8_t)((i < 32 ? key[i] : 0) ^ 0x36);
    memcpy(in + 64, S, S_len);
    if (!EVP_DigestInit_ex2(c, md, NULL) ||
        !EVP_DigestUpdate(c, in, 64 + S_len) ||
        !EVP_DigestFinal_ex(c, outer + 64, NULL))
        return 0;
    for (int i = 0; i < 64; i++)
        outer[i] = (uint8_t)(in[i] ^ 0x36 ^ 0x5c);
    return EVP_DigestInit_ex2(c, md, NULL) &&
           EVP_DigestUpdate(c, outer, sizeof(outer)) &&
           EVP_DigestFinal_ex(c, out, NULL);
}

static int m_lowlevel(state *st, const uint8_t *key, uint8_t *out)
{
    uint8_t pad[64], inner[32];
    SHA256_CTX c;

    (void)st;
    for (int i = 0; i < 64; i++)
        pad[i] = (uint8_t)((i < 32 ? key[i] : 0) ^ 0x36);
    SHA256_Init(&c);
    SHA256_Update(&c, pad, 64);
    SHA256_Update(&c, S, S_len);
    SHA256_Final(inner, &c);
    for (int i = 0; i < 64; i++)
        pad[i] ^= 0x36 ^ 0x5c;
    SHA256_Init(&c);
    SHA256_Update(&c, pad, 64);
    SHA256_Update(&c, inner, 32);
    SHA256_Final(out, &c);
    return 1;
}

typedef struct method {
    const char *name;
    method_fn fn;
    int candidate; /* counts for "fastest raw" */
    double best;   /* derivations per second, best slice */
} method;

static method methods[] = {
    {"msgsec K_AF (msgsec_akma_derive_k_af_fqdn)", m_msgsec, 0, 0},
    {"raw EVP_MAC dup + init", m_mac_dup, 1, 0},
    {"raw EVP_MAC reinit (one ctx)", m_mac_reinit, 1, 0},
    {"raw HMAC() one-shot", m_hmac, 1, 0},
    {"raw EVP_Q_mac()", m_q_mac, 1, 0},
    {"raw digest ipad/opad (one EVP_MD_CTX)", m_digest, 1, 0},
    {"info: deprecated SHA256_* ipad/opad", m_lowlevel, 0, 0},
};
#define NMETHODS (sizeof(methods) / sizeof(methods[0]))

static double now(void)
{
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (double)t.tv_sec + (double)t.tv_nsec / 1e9;
}

static int state_init(state *st)
{
    st->mdctx = EVP_MD_CTX_new();
    st->macctx = EVP_MAC_CTX_dup(mac_template);
    return st->mdctx && st->macctx;
}

static void state_free(state *st)
{
    EVP_MD_CTX_free(st->mdctx);
    EVP_MAC_CTX_free(st->macctx);
}

/* Runs fn for about `seconds`; returns derivations per second, or -1. */
static double slice(method_fn fn, state *st, double seconds)
{
    uint8_t key[32], out[32];
    double t0 = now(), t;
    unsigned long n = 0;

    memcpy(key, kat_k_akma, 32);
    do {
        for (int i = 0; i < 256; i++) {
            if (!fn(st, key, out))
                return -1;
            memcpy(key, out, 32);
        }
        n += 256;
        t = now() - t0;
    } while (t < seconds);
    return (double)n / t;
}

/* ------------------------------------------- two threads, one object */

typedef struct tjob {
    method_fn fn;
    double seconds;
    double rate;
} tjob;

static void *tmain(void *arg)
{
    tjob *j = arg;
    state st;
    if (!state_init(&st)) {
        j->rate = -1;
        return NULL;
    }
    j->rate = slice(j->fn, &st, j->seconds);
    state_free(&st);
    return NULL;
}

/* Sum of the rates of two threads running fn at once. */
static double two_threads(method_fn fn, double seconds)
{
    pthread_t t[2];
    tjob j[2] = {{fn, seconds, 0}, {fn, seconds, 0}};

    for (int i = 0; i < 2; i++)
        if (pthread_create(&t[i], NULL, tmain, &j[i]) != 0)
            return -1;
    for (int i = 0; i < 2; i++)
        pthread_join(t[i], NULL);
    if (j[0].rate < 0 || j[1].rate < 0)
        return -1;
    return j[0].rate + j[1].rate;
}

static int setup(void)
{
    OSSL_PARAM p[2];
    size_t n;

    /* S = 0x82 || AF_ID || L0 */
    S[0] = MSGSEC_AKMA_FC_K_AF;
    if (msgsec_akma_af_id(FQDN, sizeof(FQDN) - 1, UA, S + 1, sizeof(S) - 3,
                          &n) != MSGSEC_OK)
        return 0;
    S[1 + n] = (uint8_t)(n >> 8);
    S[2 + n] = (uint8_t)n;
    S_len = n + 3;

    md = EVP_MD_fetch(NULL, "SHA2-256", NULL);
    mac = EVP_MAC_fetch(NULL, "HMAC", NULL);
    if (!md || !mac || msgsec_kdf_new(&kdf) != MSGSEC_OK)
        return 0;
    mac_template = EVP_MAC_CTX_new(mac);
    p[0] = OSSL_PARAM_construct_utf8_string(OSSL_MAC_PARAM_DIGEST,
                                            (char *)"SHA2-256", 0);
    p[1] = OSSL_PARAM_construct_end();
    return mac_template && EVP_MAC_CTX_set_params(mac_template, p);
}

int main(int argc, char **argv)
{
    double seconds = argc > 1 ? atof(argv[1]) : 0.2;
    int rounds = argc > 2 ? atoi(argv[2]) : 5;
    const method *fastest = NULL;
    state st;
    int rc = 1;

    if (seconds <= 0 || rounds <= 0) {
        fprintf(stderr, "usage: bench_kdf [SECONDS_PER_SLICE [ROUNDS]]\n");
        return 2;
    }
    if (!setup() || !state_init(&st)) {
        fprintf(stderr, "bench_kdf: OpenSSL or msgsec setup failed\n");
        goto out;
    }
    /* Every method must give DOMAIN.md's K_AF before it is timed. */
    for (size_t m = 0; m < NMETHODS; m++) {
        uint8_t out[32];
        if (!methods[m].fn(&st, kat_k_akma, out) ||
            memcmp(out, kat_k_af, 32) != 0) {
            fprintf(stderr, "bench_kdf: %s: wrong K_AF\n", methods[m].name);
            goto out_state;
        }
    }
    for (int r = 0; r < rounds; r++)
        for (size_t m = 0; m < NMETHODS; m++) {
            double v = slice(methods[m].fn, &st, seconds);
            if (v < 0) {
                fprintf(stderr, "bench_kdf: %s failed\n", methods[m].name);
                goto out_state;
            }
            if (v > methods[m].best)
                methods[m].best = v;
        }
    printf("K_AF derivations per second, new key each time "
           "(best of %d slices of %.2f s):\n",
           rounds, seconds);
    for (size_t m = 0; m < NMETHODS; m++) {
        printf("  %-46s %10.0f /s\n", methods[m].name, methods[m].best);
        if (methods[m].candidate &&
            (!fastest || methods[m].best > fastest->best))
            fastest = &methods[m];
    }
    {
        double ours = methods[0].best;
        double ratio = ours / fastest->best;
        double t_ours = 0, t_raw = 0;
        for (int r = 0; r < rounds; r++) {
            double a = two_threads(m_msgsec, seconds);
            double b = two_threads(fastest->fn, seconds);
            if (a < 0 || b < 0) {
                fprintf(stderr, "bench_kdf: threads failed\n");
                goto out_state;
            }
            if (a > t_ours)
                t_ours = a;
            if (b > t_raw)
                t_raw = b;
        }
        printf("fastest raw method: %s\n", fastest->name);
        printf("msgsec %.0f /s, raw %.0f /s, ratio %.2f (target >= %.1f: "
               "%s)\n",
               ours, fastest->best, ratio, TARGET_RATIO,
               ratio >= TARGET_RATIO ? "met" : "NOT met");
        printf("two threads: msgsec sharing one object %.0f /s, raw with a "
               "context each %.0f /s, ratio %.2f\n",
               t_ours, t_raw, t_ours / t_raw);
        printf("(deprecated low-level SHA256_*, not provider-based: ratio "
               "%.2f)\n",
               ours / methods[NMETHODS - 1].best);
    }
    rc = 0;
out_state:
    state_free(&st);
out:
    msgsec_kdf_free(kdf);
    EVP_MAC_CTX_free(mac_template);
    EVP_MAC_free(mac);
    EVP_MD_free(md);
    return rc;
}
