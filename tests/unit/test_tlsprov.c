/*
 * test_tlsprov.c - the SDK's ready-made ops of a TLS-PSK provider
 * (<msgsec/tlsprov.h>) under upcalls of the test's own, without a core:
 * the state convention (the engine's callbacks get the state pointer),
 * write and detail forwarding, the ops, the peer, claim by prefix and by
 * matcher on ClientHellos the engine wrote, and hex keys.
 */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <msgsec/tlsprov.h>

#include "testutil.h"

static const uint8_t KEY[32] = {1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11};
#define ID "prefix-client-one"
#define SERVER_NAME "af.example.com"

/* ------------------------------------------------ a core, as far as needed */

struct msgsec_psession {
    int role;
    uint8_t out[8192];
    size_t out_len;
    char detail[512];
    int fail_write;
};

static size_t live; /* bytes allocated through the upcalls */

static void *t_alloc(msgsec_pctx *pc, size_t n)
{
    (void)pc;
    live += n;
    return calloc(1, n);
}

static void t_free(msgsec_pctx *pc, void *p, size_t n)
{
    (void)pc;
    if (p)
        live -= n;
    free(p);
}

static void t_session_detail(msgsec_psession *ps, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));
static void t_session_detail(msgsec_psession *ps, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(ps->detail, sizeof(ps->detail), fmt, ap);
    va_end(ap);
}

static int t_session_write(msgsec_psession *ps, const void *p, size_t n)
{
    if (ps->fail_write || n > sizeof(ps->out) - ps->out_len)
        return MSGSEC_ERR_NOMEM;
    memcpy(ps->out + ps->out_len, p, n);
    ps->out_len += n;
    return 0;
}

static int t_session_role(msgsec_psession *ps)
{
    return ps->role;
}

static const char *t_session_peer_name(msgsec_psession *ps)
{
    return ps->role == MSGSEC_ROLE_CLIENT ? SERVER_NAME : NULL;
}

static const msgsec_upcalls up = {
    .size = sizeof(msgsec_upcalls),
    .alloc = t_alloc,
    .free = t_free,
    .session_detail = t_session_detail,
    .session_write = t_session_write,
    .session_role = t_session_role,
    .session_peer_name = t_session_peer_name,
};

/* A provider's state: the SDK part first, then its own. */
typedef struct state {
    msgsec_tlsprov_session tls;
    int marker;
    int lookups;
} state;

#define MARKER 0x5ca1ab1e

/* The engine's look-up: arg must be the provider's state. */
static int lookup(void *arg, const uint8_t *id, size_t n, uint8_t *key,
                  size_t *key_len)
{
    state *st = arg;
    CU_ASSERT_EQUAL(st->marker, MARKER);
    st->lookups++;
    if (n != sizeof(ID) - 1 || memcmp(id, ID, n) != 0)
        return MSGSEC_ERR_AUTH_FAILED;
    memcpy(key, KEY, sizeof(KEY));
    *key_len = sizeof(KEY);
    return 0;
}

static msgsec_tlspsk_ctx *ctx_new(uint16_t min, uint16_t max)
{
    msgsec_tlspsk_config cfg = {.size = sizeof(cfg),
                                .min_version = min,
                                .max_version = max,
                                .kex = MSGSEC_TLSPSK_KEX_ALLOW_KE,
                                .lookup = lookup};
    msgsec_tlspsk_ctx *x = NULL;
    char d[256] = "";
    CU_ASSERT_EQUAL(msgsec_tlspsk_ctx_new(&cfg, &x, d, sizeof(d)), 0);
    return x;
}

typedef struct side {
    struct msgsec_psession ps;
    state st;
} side;

/* start() as a provider writes it with the SDK. */
static int start(side *sd, msgsec_tlspsk_ctx *x, int role, const uint8_t *key)
{
    memset(sd, 0, sizeof(*sd));
    sd->ps.role = role;
    sd->st.marker = MARKER;
    msgsec_tlspsk_conn_config cc;
    CU_ASSERT_EQUAL(msgsec_tlsprov_begin(&sd->st.tls, &up, &sd->ps, &cc),
                    role);
    CU_ASSERT_PTR_EQUAL(cc.arg, &sd->st);
    CU_ASSERT_EQUAL(cc.role, role);
    CU_ASSERT_EQUAL(cc.size, sizeof(cc));
    if (role == MSGSEC_ROLE_CLIENT && key) {
        cc.identity = (const uint8_t *)ID;
        cc.identity_len = sizeof(ID) - 1;
        cc.key = key;
        cc.key_len = sizeof(KEY);
        cc.server_name = SERVER_NAME;
    }
    return msgsec_tlsprov_connect(&sd->st.tls, x, &cc);
}

/* Feeds one side's output to the other through step(). */
static int feed(side *from, side *to)
{
    size_t used = 0;
    int rc = msgsec_tlsprov_step(NULL, &to->st, from->ps.out,
                                 from->ps.out_len, &used);
    memmove(from->ps.out, from->ps.out + used, from->ps.out_len - used);
    from->ps.out_len -= used;
    return rc;
}

/* The client's ClientHello, written by its first step(). */
static size_t client_hello(msgsec_tlspsk_ctx *x, uint8_t *buf, size_t cap)
{
    side c;
    CU_ASSERT_EQUAL(start(&c, x, MSGSEC_ROLE_CLIENT, KEY), 0);
    size_t used = 0;
    CU_ASSERT_EQUAL(msgsec_tlsprov_step(NULL, &c.st, NULL, 0, &used),
                    MSGSEC_CONTINUE);
    CU_ASSERT(c.ps.out_len > 0 && c.ps.out_len <= cap);
    CU_ASSERT_EQUAL(c.st.tls.wrote, c.ps.out_len);
    size_t n = c.ps.out_len <= cap ? c.ps.out_len : 0;
    memcpy(buf, c.ps.out, n);
    msgsec_tlsprov_end(NULL, &c.st);
    return n;
}

/* ---------------------------------------------------------------- tests */

static void test_session_ops(void)
{
    msgsec_tlspsk_ctx *x = ctx_new(0, 0);
    CU_ASSERT_PTR_NOT_NULL_FATAL(x);
    side c, s;
    CU_ASSERT_EQUAL(start(&c, x, MSGSEC_ROLE_CLIENT, KEY), 0);
    CU_ASSERT_EQUAL(start(&s, x, MSGSEC_ROLE_SERVER, NULL), 0);
    msgsec_peer peer;
    CU_ASSERT_EQUAL(msgsec_tlsprov_result(NULL, &c.st, &peer),
                    MSGSEC_ERR_STATE);
    size_t used = 0;
    int rc_c = msgsec_tlsprov_step(NULL, &c.st, NULL, 0, &used);
    int rc_s = MSGSEC_CONTINUE;
    CU_ASSERT_EQUAL(rc_c, MSGSEC_CONTINUE);
    for (int i = 0; i < 6 && (rc_c || rc_s); i++) {
        if (rc_s)
            rc_s = feed(&c, &s);
        if (rc_c)
            rc_c = feed(&s, &c);
    }
    CU_ASSERT_EQUAL_FATAL(rc_c, 0);
    CU_ASSERT_EQUAL_FATAL(rc_s, 0);
    CU_ASSERT_EQUAL(s.st.lookups, 1);
    /* Every byte went through the write upcall and was counted. */
    CU_ASSERT(c.st.tls.wrote > 0 && s.st.tls.wrote > 0);

    /* The peer: the server knows the client by its identity, the client
     * the server by the name it asked for. */
    memset(&peer, 0xff, sizeof(peer));
    CU_ASSERT_EQUAL(msgsec_tlsprov_result(NULL, &s.st, &peer), 0);
    CU_ASSERT_STRING_EQUAL(peer.identity, ID);
    CU_ASSERT_PTR_NULL(peer.scheme);
    CU_ASSERT_PTR_NULL(peer.supi);
    CU_ASSERT_EQUAL(peer.key_expiry, 0);
    CU_ASSERT(peer.caps & MSGSEC_CAP_FORWARD_SECRECY);
    CU_ASSERT(peer.caps & MSGSEC_CAP_MUTUAL_AUTH);
    CU_ASSERT(peer.caps & MSGSEC_CAP_KEY_EXPORT);
    CU_ASSERT_EQUAL(msgsec_tlsprov_result(NULL, &c.st, &peer), 0);
    CU_ASSERT_STRING_EQUAL(peer.identity, SERVER_NAME);
    msgsec_tlspsk_info info;
    CU_ASSERT_EQUAL(msgsec_tlsprov_peer(&c.st.tls, &peer, &info), 0);
    CU_ASSERT_EQUAL(info.version, MSGSEC_TLSPSK_TLS1_3);
    CU_ASSERT_PTR_NULL(peer.identity);
    CU_ASSERT_EQUAL(msgsec_tlsprov_peer(&c.st.tls, &peer, NULL), 0);

    /* Message path. */
    size_t overhead = 0, max = 0;
    CU_ASSERT_EQUAL(msgsec_tlsprov_limits(NULL, &c.st, &overhead, &max), 0);
    CU_ASSERT_EQUAL(overhead, 22);
    CU_ASSERT_EQUAL(max, MSGSEC_TLSPSK_MAX_PLAINTEXT);
    uint8_t rec[256], pt[256];
    size_t n = 0, got = 0;
    unsigned flags = 1;
    size_t wrote = c.st.tls.wrote;
    CU_ASSERT_EQUAL(msgsec_tlsprov_wrap(NULL, &c.st, (const uint8_t *)"hello",
                                        5, rec, sizeof(rec), &n),
                    0);
    CU_ASSERT_EQUAL(n, 5 + overhead);
    CU_ASSERT_EQUAL(c.st.tls.wrote, wrote); /* records go to the caller */
    CU_ASSERT_EQUAL(msgsec_tlsprov_unwrap(NULL, &s.st, rec, n, &used, pt,
                                          sizeof(pt), &got, &flags),
                    0);
    CU_ASSERT_EQUAL(used, n);
    CU_ASSERT_EQUAL(got, 5);
    CU_ASSERT_EQUAL(flags, 0);
    CU_ASSERT(got == 5 && memcmp(pt, "hello", 5) == 0);
    uint8_t e1[32], e2[32];
    CU_ASSERT_EQUAL(msgsec_tlsprov_export_key(NULL, &c.st, "EXPORTER-t",
                                              (const uint8_t *)"c", 1, e1,
                                              sizeof(e1)),
                    0);
    CU_ASSERT_EQUAL(msgsec_tlsprov_export_key(NULL, &s.st, "EXPORTER-t",
                                              (const uint8_t *)"c", 1, e2,
                                              sizeof(e2)),
                    0);
    CU_ASSERT_EQUAL(memcmp(e1, e2, sizeof(e1)), 0);

    /* close() writes close_notify through the write upcall. */
    c.ps.out_len = 0;
    CU_ASSERT_EQUAL(msgsec_tlsprov_close(NULL, &c.st), 0);
    CU_ASSERT(c.ps.out_len > 0);
    CU_ASSERT_EQUAL(msgsec_tlsprov_unwrap(NULL, &s.st, c.ps.out, c.ps.out_len,
                                          &used, pt, sizeof(pt), &got, &flags),
                    0);
    CU_ASSERT_EQUAL(flags, MSGSEC_UNWRAP_CLOSED);
    CU_ASSERT_EQUAL(msgsec_tlsprov_wrap(NULL, &c.st, (const uint8_t *)"x", 1,
                                        rec, sizeof(rec), &n),
                    MSGSEC_ERR_CLOSED);

    msgsec_tlsprov_end(NULL, &c.st);
    CU_ASSERT_PTR_NULL(c.st.tls.conn);
    msgsec_tlsprov_end(NULL, &c.st); /* twice is harmless */
    msgsec_tlsprov_end(NULL, &s.st);
    msgsec_tlspsk_ctx_free(x);
}

/* Failures reach the core as session details and write errors. */
static void test_failures(void)
{
    msgsec_tlspsk_ctx *x = ctx_new(0, 0);
    CU_ASSERT_PTR_NOT_NULL_FATAL(x);
    side c, s;
    /* A client without identity or key: the connection is refused. */
    CU_ASSERT(start(&c, x, MSGSEC_ROLE_CLIENT, NULL) < 0);
    CU_ASSERT_PTR_NULL(c.st.tls.conn);
    CU_ASSERT_PTR_NOT_NULL(strstr(c.ps.detail, "TLS connection"));
    msgsec_tlsprov_end(NULL, &c.st);

    /* Wrong key: the engine's detail comes through the detail upcall. */
    static const uint8_t other[32] = {9};
    CU_ASSERT_EQUAL(start(&c, x, MSGSEC_ROLE_CLIENT, other), 0);
    CU_ASSERT_EQUAL(start(&s, x, MSGSEC_ROLE_SERVER, NULL), 0);
    size_t used = 0;
    CU_ASSERT_EQUAL(msgsec_tlsprov_step(NULL, &c.st, NULL, 0, &used),
                    MSGSEC_CONTINUE);
    CU_ASSERT_EQUAL(feed(&c, &s), MSGSEC_ERR_AUTH_FAILED);
    CU_ASSERT(s.ps.detail[0] != '\0');
    CU_ASSERT_STRING_EQUAL(s.ps.detail, msgsec_tlspsk_detail(s.st.tls.conn));
    CU_ASSERT(s.ps.out_len > 0); /* the alert */
    msgsec_tlsprov_end(NULL, &c.st);
    msgsec_tlsprov_end(NULL, &s.st);

    /* A write upcall that fails fails the step. */
    CU_ASSERT_EQUAL(start(&c, x, MSGSEC_ROLE_CLIENT, KEY), 0);
    c.ps.fail_write = 1;
    CU_ASSERT(msgsec_tlsprov_step(NULL, &c.st, NULL, 0, &used) < 0);
    msgsec_tlsprov_end(NULL, &c.st);
    msgsec_tlspsk_ctx_free(x);
}

static int count_matches;

static int match_exact(void *arg, const uint8_t *id, size_t n)
{
    const char *want = arg;
    count_matches++;
    return n == strlen(want) && memcmp(id, want, n) == 0;
}

static void test_claim(void)
{
    const unsigned v13 = MSGSEC_TLSPROV_TLS13, v12 = MSGSEC_TLSPROV_TLS12;
    msgsec_tlspsk_ctx *x13 = ctx_new(0, 0);
    msgsec_tlspsk_ctx *x12 = ctx_new(MSGSEC_TLSPSK_TLS1_2,
                                     MSGSEC_TLSPSK_TLS1_2);
    CU_ASSERT_PTR_NOT_NULL_FATAL(x13);
    CU_ASSERT_PTR_NOT_NULL_FATAL(x12);
    uint8_t h13[4096], h12[4096];
    size_t n13 = client_hello(x13, h13, sizeof(h13));
    size_t n12 = client_hello(x12, h12, sizeof(h12));
    CU_ASSERT_FATAL(n13 > 50 && n12 > 50);
    live = 0;

    /* TLS 1.3: by the identities offered. */
    CU_ASSERT_EQUAL(msgsec_tlsprov_claim_prefix(&up, NULL, h13, n13, v13,
                                                "prefix-"),
                    MSGSEC_CLAIM_MINE);
    CU_ASSERT_EQUAL(msgsec_tlsprov_claim_prefix(&up, NULL, h13, n13,
                                                v13 | v12, "prefix-"),
                    MSGSEC_CLAIM_MINE);
    CU_ASSERT_EQUAL(msgsec_tlsprov_claim_prefix(&up, NULL, h13, n13, v13,
                                                "other-"),
                    MSGSEC_CLAIM_NOT_MINE);
    /* The prefix alone names nobody. */
    CU_ASSERT_EQUAL(msgsec_tlsprov_claim_prefix(&up, NULL, h13, n13, v13, ID),
                    MSGSEC_CLAIM_NOT_MINE);
    /* Not served: TLS 1.3 identities do not count for a TLS 1.2 provider,
     * and this ClientHello offers no TLS 1.2 PSK suite. */
    CU_ASSERT_EQUAL(msgsec_tlsprov_claim_prefix(&up, NULL, h13, n13, v12,
                                                "prefix-"),
                    MSGSEC_CLAIM_NOT_MINE);
    count_matches = 0;
    CU_ASSERT_EQUAL(msgsec_tlsprov_claim_match(&up, NULL, h13, n13, v13,
                                               match_exact, (void *)ID),
                    MSGSEC_CLAIM_MINE);
    CU_ASSERT_EQUAL(count_matches, 1);
    CU_ASSERT_EQUAL(msgsec_tlsprov_claim_match(&up, NULL, h13, n13, v13,
                                               match_exact, "prefix-client"),
                    MSGSEC_CLAIM_NOT_MINE);

    /* Incomplete, then not TLS at all. */
    for (size_t k = 1; k < n13; k += 37)
        CU_ASSERT_EQUAL(msgsec_tlsprov_claim_prefix(&up, NULL, h13, k, v13,
                                                    "prefix-"),
                        MSGSEC_CLAIM_MORE);
    CU_ASSERT_EQUAL(msgsec_tlsprov_claim_prefix(
                        &up, NULL, (const uint8_t *)"GET / HTTP/1.1\r\n", 16,
                        v13 | v12, "prefix-"),
                    MSGSEC_CLAIM_NOT_MINE);

    /* TLS 1.2 names no identity in its ClientHello: PSK suites decide. */
    CU_ASSERT_EQUAL(msgsec_tlsprov_claim_prefix(&up, NULL, h12, n12, v12,
                                                "other-"),
                    MSGSEC_CLAIM_MINE);
    CU_ASSERT_EQUAL(msgsec_tlsprov_claim_prefix(&up, NULL, h12, n12, v13,
                                                "prefix-"),
                    MSGSEC_CLAIM_NOT_MINE);
    /* Every parse was freed through the upcalls. */
    CU_ASSERT_EQUAL(live, 0);
    msgsec_tlspsk_ctx_free(x13);
    msgsec_tlspsk_ctx_free(x12);
}

static void test_versions(void)
{
    msgsec_tlspsk_config cfg = {.size = sizeof(cfg)};
    CU_ASSERT_EQUAL(msgsec_tlsprov_versions(&cfg), MSGSEC_TLSPROV_TLS13);
    cfg.min_version = MSGSEC_TLSPSK_TLS1_2;
    CU_ASSERT_EQUAL(msgsec_tlsprov_versions(&cfg),
                    MSGSEC_TLSPROV_TLS12 | MSGSEC_TLSPROV_TLS13);
    cfg.max_version = MSGSEC_TLSPSK_TLS1_2;
    CU_ASSERT_EQUAL(msgsec_tlsprov_versions(&cfg), MSGSEC_TLSPROV_TLS12);
    cfg.min_version = cfg.max_version = MSGSEC_TLSPSK_TLS1_3;
    CU_ASSERT_EQUAL(msgsec_tlsprov_versions(&cfg), MSGSEC_TLSPROV_TLS13);
}

static void test_hex_key(void)
{
    uint8_t k[4], k5[5];
    size_t n = 0;
    CU_ASSERT_EQUAL(msgsec_tlsprov_hex_key("00fFa9", 6, k, sizeof(k), &n), 0);
    CU_ASSERT_EQUAL(n, 3);
    CU_ASSERT(k[0] == 0x00 && k[1] == 0xff && k[2] == 0xa9);
    /* Only len characters are read. */
    CU_ASSERT_EQUAL(msgsec_tlsprov_hex_key("0102zz", 4, k, sizeof(k), &n), 0);
    CU_ASSERT_EQUAL(n, 2);
    CU_ASSERT_EQUAL(msgsec_tlsprov_hex_key("0102030405", 10, k5, 5, &n), 0);
    CU_ASSERT(n == 5 && k5[4] == 5);
    static const char *const bad[] = {"", "0", "abc", "0g", "g0", " 00",
                                      "00 ", "0x00", "-1", "0102030405"};
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        memset(k, 0x77, sizeof(k));
        n = 99;
        CU_ASSERT_EQUAL(msgsec_tlsprov_hex_key(bad[i], strlen(bad[i]), k,
                                               sizeof(k), &n),
                        MSGSEC_ERR_INVALID_ARG);
        CU_ASSERT_EQUAL(n, 99);
    }
    /* A bad digit after good ones: what was decoded is wiped. */
    memset(k, 0x77, sizeof(k));
    CU_ASSERT_EQUAL(msgsec_tlsprov_hex_key("a1b2c3x4", 8, k, sizeof(k), &n),
                    MSGSEC_ERR_INVALID_ARG);
    static const uint8_t zero[4];
    CU_ASSERT_EQUAL(memcmp(k, zero, sizeof(k)), 0);
}

int main(void)
{
    CU_TestInfo tests[] = {
        {"session ops on the state convention", test_session_ops},
        {"failures: details, write errors", test_failures},
        {"claim by prefix and matcher", test_claim},
        {"TLS versions of a configuration", test_versions},
        {"hex keys", test_hex_key},
        CU_TEST_INFO_NULL,
    };
    return msgsec_test_main("tlsprov", NULL, NULL, tests);
}
