/*
 * bench_tls.c - the TLS-PSK engine against raw OpenSSL, in one process.
 *
 * Handshakes per second (a client and a server connection created,
 * handshaken in memory and freed), TLS 1.3 external PSK with psk_dhe_ke
 * (X25519) and with psk_ke, through msgsec_tlspsk_* and through raw
 * OpenSSL: two SSL objects on a BIO pair, the same SSL_CTX settings, the
 * PSK handed over by the same find/use-session callbacks, the key looked
 * up the same way.
 *
 * Message path: wrap + unwrap of one message (client to server) of 64 B,
 * 1 KiB and 16 KiB on an established connection, against raw SSL_write +
 * SSL_read over a BIO pair, same settings (SSL_MODE_RELEASE_BUFFERS
 * included, as idle MIoT connections need). For information, raw without
 * SSL_MODE_RELEASE_BUFFERS too.
 *
 * Methods run in interleaved time slices and each keeps its best slice,
 * which filters out other load on the machine.
 *
 * Memory: a child process counts the bytes OpenSSL and the engine hold
 * per connection (CRYPTO_set_mem_functions must come before any other
 * OpenSSL call, hence the fork): established and idle after one message
 * each way, and waiting for a key look-up.
 *
 * Usage: bench_tls [SECONDS_PER_SLICE [ROUNDS]]   (defaults 0.2 and 5)
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include <openssl/crypto.h>
#include <openssl/ssl.h>

#include <msgsec/tlspsk.h>

#include "benchutil.h"

#define TARGET_HANDSHAKE 0.9
#define TARGET_MESSAGE 0.9

/* ------------------------------------------------------------- engine */

typedef struct ebuf {
    uint8_t p[65536];
    size_t off, len;
} ebuf;

typedef struct eside {
    msgsec_tlspsk_conn *c;
    ebuf *to;  /* the other side's input */
    ebuf in;
    int rc;
} eside;

static int e_write(void *arg, const void *p, size_t n)
{
    eside *s = arg;
    ebuf *b = s->to;
    if (b->off + b->len + n > sizeof(b->p)) {
        memmove(b->p, b->p + b->off, b->len);
        b->off = 0;
        if (b->len + n > sizeof(b->p))
            return MSGSEC_ERR_NOMEM;
    }
    memcpy(b->p + b->off + b->len, p, n);
    b->len += n;
    return 0;
}

static int e_lookup(void *arg, const uint8_t *id, size_t n, uint8_t *key,
                    size_t *len)
{
    (void)arg;
    return msgsec_bench_key_of(id, n, key, len) == 0 ? 0
                                                     : MSGSEC_ERR_AUTH_FAILED;
}

static msgsec_tlspsk_ctx *e_ctx(int kex)
{
    msgsec_tlspsk_config cfg = {.size = sizeof(cfg), .kex = kex,
                                .lookup = e_lookup};
    msgsec_tlspsk_ctx *x = NULL;
    char d[256];
    if (msgsec_tlspsk_ctx_new(&cfg, &x, d, sizeof(d)) != 0)
        msgsec_bench_die(d);
    return x;
}

typedef struct epair {
    msgsec_tlspsk_ctx *cx, *sx;
    eside cl, sv;
} epair;

static void e_open(epair *e)
{
    memset(&e->cl, 0, sizeof(e->cl));
    memset(&e->sv, 0, sizeof(e->sv));
    e->cl.to = &e->sv.in;
    e->sv.to = &e->cl.in;
    msgsec_tlspsk_conn_config cc = {.size = sizeof(cc),
                                    .role = MSGSEC_ROLE_CLIENT,
                                    .arg = &e->cl,
                                    .write = e_write,
                                    .identity =
                                        (const uint8_t *)MSGSEC_BENCH_ID,
                                    .identity_len = sizeof(MSGSEC_BENCH_ID) - 1,
                                    .key = msgsec_bench_key,
                                    .key_len = sizeof(msgsec_bench_key)};
    msgsec_tlspsk_conn_config sc = {.size = sizeof(sc),
                                    .role = MSGSEC_ROLE_SERVER,
                                    .arg = &e->sv,
                                    .write = e_write};
    if (msgsec_tlspsk_conn_new(e->cx, &cc, &e->cl.c) ||
        msgsec_tlspsk_conn_new(e->sx, &sc, &e->sv.c))
        msgsec_bench_die("conn_new");
}

static void e_step(eside *s)
{
    size_t used = 0;
    s->rc = msgsec_tlspsk_step(s->c, s->in.p + s->in.off, s->in.len, &used);
    s->in.off += used;
    s->in.len -= used;
    if (s->in.len == 0)
        s->in.off = 0;
}

static void e_handshake(epair *e)
{
    e_open(e);
    e->cl.rc = e->sv.rc = MSGSEC_CONTINUE;
    e_step(&e->cl); /* ClientHello */
    for (int i = 0; i < 8 && (e->cl.rc != 0 || e->sv.rc != 0); i++) {
        if (e->sv.rc != 0)
            e_step(&e->sv);
        if (e->cl.rc != 0)
            e_step(&e->cl);
        if (e->cl.rc < 0 || e->sv.rc < 0)
            msgsec_bench_die(
                msgsec_tlspsk_detail(e->cl.rc < 0 ? e->cl.c : e->sv.c));
    }
    if (e->cl.rc != 0 || e->sv.rc != 0)
        msgsec_bench_die("engine handshake did not complete");
}

static void e_close(epair *e)
{
    msgsec_tlspsk_conn_free(e->cl.c);
    msgsec_tlspsk_conn_free(e->sv.c);
}

/* Handshake operations. */
typedef struct hs_arg {
    msgsec_tlspsk_ctx *cx, *sx;
    msgsec_bench_raw *raw;
    int want_fs;
} hs_arg;

static void op_e_hs(void *p)
{
    hs_arg *a = p;
    epair e = {.cx = a->cx, .sx = a->sx};
    e_handshake(&e);
    e_close(&e);
}

/* Message operations on established pairs. */
typedef struct msg_arg {
    size_t len;
    uint8_t *msg, *rec, *out;
    epair *e;
} msg_arg;

static void op_e_msg(void *p)
{
    msg_arg *a = p;
    size_t n = 0, used = 0, got = 0;
    unsigned fl = 0;
    if (msgsec_tlspsk_wrap(a->e->cl.c, a->msg, a->len, a->rec, a->len + 64,
                           &n) != 0 ||
        msgsec_tlspsk_unwrap(a->e->sv.c, a->rec, n, &used, a->out, 16384, &got,
                             &fl) != 0 ||
        got != a->len || used != n)
        msgsec_bench_die("engine message");
}

/* The engine and raw handshakes agree on what was negotiated. */
static void check_fs(hs_arg *a)
{
    epair e = {.cx = a->cx, .sx = a->sx};
    e_handshake(&e);
    msgsec_tlspsk_info ci, si;
    msgsec_tlspsk_get_info(e.cl.c, &ci);
    msgsec_tlspsk_get_info(e.sv.c, &si);
    if (ci.forward_secrecy != a->want_fs || si.forward_secrecy != a->want_fs)
        msgsec_bench_die("engine: unexpected key exchange mode");
    e_close(&e);
    msgsec_bench_raw_check_kex(a->raw, a->want_fs);
}

/* ------------------------------------------------------------- memory */

#define MEM_HDR 16
static long long live; /* bytes held through OpenSSL's allocator */
static int hold_lookups;

static void *m_malloc(size_t n, const char *file, int line)
{
    (void)file;
    (void)line;
    size_t *p = malloc(n + MEM_HDR);
    if (!p)
        return NULL;
    p[0] = n;
    live += (long long)n;
    return (char *)p + MEM_HDR;
}

static void *m_realloc(void *q, size_t n, const char *file, int line)
{
    if (!q)
        return m_malloc(n, file, line);
    size_t *p = (size_t *)((char *)q - MEM_HDR), old = p[0];
    p = realloc(p, n + MEM_HDR);
    if (!p)
        return NULL;
    live += (long long)n - (long long)old;
    p[0] = n;
    return (char *)p + MEM_HDR;
}

static void m_free(void *q, const char *file, int line)
{
    (void)file;
    (void)line;
    if (!q)
        return;
    size_t *p = (size_t *)((char *)q - MEM_HDR);
    live -= (long long)p[0];
    free(p);
}

static int e_lookup_hold(void *arg, const uint8_t *id, size_t n,
                         uint8_t *key, size_t *len)
{
    if (hold_lookups)
        return MSGSEC_PENDING;
    return e_lookup(arg, id, n, key, len);
}

#define MEM_N 200

/* Per connection: client and server established and idle (after one
 * message each way), then a server waiting for its key look-up. */
static void memory_report(void)
{
    static epair e[MEM_N];
    static msgsec_bench_rpair r[MEM_N];
    uint8_t rec[128], out[128];
    size_t n, used, got;
    unsigned fl;
    printf("\nmemory per connection, bytes held through OpenSSL's allocator "
           "(%d connections)\n", MEM_N);
    printf("  %-44s %10s %10s\n", "", "client", "server");
    msgsec_tlspsk_config cfg = {.size = sizeof(cfg),
                                .lookup = e_lookup_hold};
    msgsec_tlspsk_ctx *x = NULL;
    if (msgsec_tlspsk_ctx_new(&cfg, &x, NULL, 0) != 0)
        msgsec_bench_die("ctx");
    long long base = live;
    for (int i = 0; i < MEM_N; i++) {
        e[i].cx = e[i].sx = x;
        e_handshake(&e[i]);
        if (msgsec_tlspsk_wrap(e[i].cl.c, (const uint8_t *)"m", 1, rec,
                               sizeof(rec), &n) ||
            msgsec_tlspsk_unwrap(e[i].sv.c, rec, n, &used, out, sizeof(out),
                                 &got, &fl) ||
            msgsec_tlspsk_wrap(e[i].sv.c, (const uint8_t *)"m", 1, rec,
                               sizeof(rec), &n) ||
            msgsec_tlspsk_unwrap(e[i].cl.c, rec, n, &used, out, sizeof(out),
                                 &got, &fl))
            msgsec_bench_die("memory: message");
    }
    long long both = live - base;
    for (int i = 0; i < MEM_N; i++)
        msgsec_tlspsk_conn_free(e[i].cl.c);
    long long server = live - base;
    for (int i = 0; i < MEM_N; i++)
        msgsec_tlspsk_conn_free(e[i].sv.c);
    printf("  %-44s %10lld %10lld\n", "msgsec engine, idle",
           (both - server) / MEM_N, server / MEM_N);

    for (int keep = 0; keep < 2; keep++) {
        msgsec_bench_raw rc;
        msgsec_bench_raw_init(&rc, 0, !keep);
        base = live;
        for (int i = 0; i < MEM_N; i++) {
            msgsec_bench_raw_handshake(&rc, &r[i]);
            size_t w;
            if (SSL_write_ex(r[i].c, "m", 1, &w) != 1 ||
                SSL_read_ex(r[i].s, out, sizeof(out), &got) != 1 ||
                SSL_write_ex(r[i].s, "m", 1, &w) != 1 ||
                SSL_read_ex(r[i].c, out, sizeof(out), &got) != 1)
                msgsec_bench_die("memory: raw message");
        }
        both = live - base;
        for (int i = 0; i < MEM_N; i++)
            SSL_free(r[i].c);
        server = live - base;
        for (int i = 0; i < MEM_N; i++)
            SSL_free(r[i].s);
        /* Each side's BIO pair half holds PAIR_BUF: transport, not TLS. */
        printf("  %-44s %10lld %10lld\n",
               keep ? "raw, without SSL_MODE_RELEASE_BUFFERS, idle"
                    : "raw, same settings, idle",
               (both - server) / MEM_N - MSGSEC_BENCH_PAIR_BUF,
               server / MEM_N - MSGSEC_BENCH_PAIR_BUF);
        msgsec_bench_raw_free(&rc);
    }

    /* Servers that have read a ClientHello and wait for the key. */
    hold_lookups = 1;
    base = live;
    for (int i = 0; i < MEM_N; i++) {
        e[i].cx = e[i].sx = x;
        e_open(&e[i]);
        e_step(&e[i].cl);
        e_step(&e[i].sv);
        if (e[i].sv.rc != MSGSEC_PENDING)
            msgsec_bench_die("memory: expected a pending look-up");
    }
    both = live - base;
    for (int i = 0; i < MEM_N; i++)
        msgsec_tlspsk_conn_free(e[i].cl.c);
    server = live - base;
    for (int i = 0; i < MEM_N; i++)
        msgsec_tlspsk_conn_free(e[i].sv.c);
    printf("  %-44s %10s %10lld\n", "msgsec engine, server waiting for a key",
           "", server / MEM_N);
    msgsec_tlspsk_ctx_free(x);
}

int main(int argc, char **argv)
{
    double seconds;
    int rounds;
    msgsec_bench_set_name("bench_tls");
    msgsec_bench_args(argc, argv, &seconds, &rounds);
    /* Memory first, in a child that counts every OpenSSL allocation. */
    fflush(stdout);
    pid_t pid = fork();
    if (pid == 0) {
        if (!CRYPTO_set_mem_functions(m_malloc, m_realloc, m_free))
            msgsec_bench_die("CRYPTO_set_mem_functions");
        memory_report();
        fflush(stdout);
        _exit(0);
    }
    int st = 0;
    if (pid < 0 || waitpid(pid, &st, 0) != pid || !WIFEXITED(st) ||
        WEXITSTATUS(st) != 0)
        msgsec_bench_die("memory measurement failed");

    int ok = 1;
    printf("\nTLS-PSK engine vs raw OpenSSL %s (best of %d slices of %.2f s)\n",
           OpenSSL_version(OPENSSL_VERSION_STRING), rounds, seconds);

    /* Handshakes. */
    static const struct {
        const char *name;
        int ckex, skex, psk_ke;
    } modes[] = {
        {"psk_dhe_ke (X25519)", MSGSEC_TLSPSK_KEX_DHE, MSGSEC_TLSPSK_KEX_DHE, 0},
        {"psk_ke", MSGSEC_TLSPSK_KEX_ALLOW_KE, MSGSEC_TLSPSK_KEX_PREFER_KE, 1},
    };
    printf("\nhandshakes per second (TLS 1.3, client + server, new "
           "connections)\n");
    printf("  %-22s %12s %12s %8s\n", "mode", "msgsec", "raw", "ratio");
    for (size_t i = 0; i < sizeof(modes) / sizeof(modes[0]); i++) {
        msgsec_bench_raw raw;
        msgsec_bench_raw_init(&raw, modes[i].psk_ke, 1);
        hs_arg a = {.cx = e_ctx(modes[i].ckex), .sx = e_ctx(modes[i].skex),
                    .raw = &raw, .want_fs = !modes[i].psk_ke};
        check_fs(&a);
        ok &= msgsec_bench_handshake_row(modes[i].name, op_e_hs, &a, &raw,
                                         seconds, rounds, TARGET_HANDSHAKE);
        msgsec_tlspsk_ctx_free(a.cx);
        msgsec_tlspsk_ctx_free(a.sx);
        msgsec_bench_raw_free(&raw);
    }

    /* Message path. */
    static const size_t sizes[] = {64, 1024, 16384};
    hs_arg a = {.cx = e_ctx(MSGSEC_TLSPSK_KEX_DHE),
                .sx = e_ctx(MSGSEC_TLSPSK_KEX_DHE)};
    msgsec_bench_raw raw, raw_keep;
    msgsec_bench_raw_init(&raw, 0, 1);
    msgsec_bench_raw_init(&raw_keep, 0, 0);
    epair e = {.cx = a.cx, .sx = a.sx};
    msgsec_bench_rpair r, rk;
    e_handshake(&e);
    msgsec_bench_raw_handshake(&raw, &r);
    msgsec_bench_raw_handshake(&raw_keep, &rk);
    printf("\nwrap + unwrap, one message client to server (TLS 1.3 "
           "AES-128-GCM)\n");
    printf("  %-8s %14s %14s %8s %18s\n", "size", "msgsec MB/s", "raw MB/s",
           "ratio", "raw, no release*");
    for (size_t i = 0; i < sizeof(sizes) / sizeof(sizes[0]); i++) {
        size_t len = sizes[i];
        msg_arg m = {.len = len,
                     .msg = calloc(1, len),
                     .rec = malloc(len + 64),
                     .out = malloc(16384),
                     .e = &e};
        msgsec_bench_rmsg rm = {.r = &r, .msg = m.msg, .len = len,
                                .out = m.out};
        msgsec_bench_rmsg rmk = rm;
        rmk.r = &rk;
        msgsec_bench_method ms[3] = {
            {"msgsec", op_e_msg, &m, 0},
            {"raw", msgsec_bench_raw_op_message, &rm, 0},
            {"raw-keep", msgsec_bench_raw_op_message, &rmk, 0}};
        msgsec_bench_measure(ms, 3, seconds, rounds);
        double mb = (double)len / 1e6;
        double ratio = ms[0].best / ms[1].best;
        ok &= ratio >= TARGET_MESSAGE;
        printf("  %-8zu %14.1f %14.1f %8.3f %18.1f%s\n", len, ms[0].best * mb,
               ms[1].best * mb, ratio, ms[2].best * mb,
               msgsec_bench_verdict(ratio, TARGET_MESSAGE));
        free(m.msg);
        free(m.rec);
        free(m.out);
    }
    printf("  * raw without SSL_MODE_RELEASE_BUFFERS, for information: "
           "idle connections then keep ~34 KB of buffers each\n");
    e_close(&e);
    msgsec_bench_raw_close(&r);
    msgsec_bench_raw_close(&rk);
    msgsec_tlspsk_ctx_free(a.cx);
    msgsec_tlspsk_ctx_free(a.sx);
    msgsec_bench_raw_free(&raw);
    msgsec_bench_raw_free(&raw_keep);
    printf("\ntargets: handshakes >= %.2f, message path >= %.2f of raw: %s\n",
           TARGET_HANDSHAKE, TARGET_MESSAGE, ok ? "met" : "NOT met");
    return 0;
}
