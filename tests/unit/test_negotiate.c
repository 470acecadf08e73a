/* test_negotiate.c - implicit claims, explicit selection, errors seen by
 * the client, insecure refusal, downgrade detection, malformed frames. */
#include <string.h>

#include "negotiate.h"
#include "testutil.h"

#define SECRET "000102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f"

#define BASE "[core]\nprovider_dir = @PROVIDER_DIR@\n"
#define BOTH                                                                   \
    "[provider.testpsk]\nsecret = " SECRET "\n"                                \
    "[provider.testpsk2]\nsecret = " SECRET "\n"

static const char *policy_all =
    BASE BOTH
    "[service.i1]\nuse = testpsk\n"
    "[service.i2]\nuse = testpsk2\n"
    "[service.i12]\nuse = testpsk, testpsk2\n"
    "[service.i21]\nuse = testpsk2, testpsk\n"
    "[service.e1]\nuse = testpsk\nnegotiation = explicit\n"
    "[service.e2]\nuse = testpsk2\nnegotiation = explicit\n"
    "[service.e12]\nuse = testpsk, testpsk2\nnegotiation = explicit\n"
    "[service.e21]\nuse = testpsk2, testpsk\nnegotiation = explicit\n";

static msgsec_core *core;

static int setup(void)
{
    const char *path = msgsec_test_write_policy(policy_all);
    char detail[1024] = "";
    if (!path || msgsec_core_new(path, NULL, 0, &core, detail,
                                 sizeof(detail)) != 0) {
        fprintf(stderr, "core: %s\n", detail);
        return 1;
    }
    return 0;
}

static int teardown(void)
{
    msgsec_core_free(core);
    return 0;
}

static msgsec_session *mk(msgsec_core *co, const char *svc, int role)
{
    msgsec_session *s = NULL;
    int rc = msgsec_session_new(co, svc, role, NULL, &s);
    CU_ASSERT_EQUAL(rc, 0);
    if (rc)
        fprintf(stderr, "%s: %s\n", msgsec_error_name(rc),
                msgsec_last_detail());
    return s;
}

/* Pulls everything from `from` into buf; returns the length. */
static size_t drain(msgsec_session *from, uint8_t *buf, size_t cap)
{
    size_t n = 0, k;
    while (n < cap && (k = msgsec_session_pull(from, buf + n, cap - n)) > 0)
        n += k;
    return n;
}

static int xfer(msgsec_session *from, msgsec_session *to)
{
    uint8_t buf[65536];
    size_t n = drain(from, buf, sizeof(buf));
    return n ? msgsec_session_feed(to, buf, n) : 0;
}

/* The implicit server chooses by claim, whatever its own order. */
static void test_implicit_claims(void)
{
    const char *servers[] = {"i12", "i21"};
    const char *clients[] = {"i1", "i2"};
    const char *expect[] = {"testpsk", "testpsk2"};
    for (int sv = 0; sv < 2; sv++) {
        for (int cl = 0; cl < 2; cl++) {
            msgsec_session *c = mk(core, clients[cl], MSGSEC_ROLE_CLIENT);
            msgsec_session *s = mk(core, servers[sv], MSGSEC_ROLE_SERVER);
            CU_ASSERT_EQUAL(msgsec_test_pump(c, s), 0);
            CU_ASSERT_STRING_EQUAL(msgsec_session_provider(s), expect[cl]);
            CU_ASSERT_STRING_EQUAL(msgsec_session_provider(c), expect[cl]);
            msgsec_peer peer;
            CU_ASSERT_EQUAL(msgsec_session_peer(s, &peer), 0);
            CU_ASSERT_STRING_EQUAL(peer.scheme, expect[cl]);
            msgsec_session_free(c);
            msgsec_session_free(s);
        }
    }
    /* The client of a two-provider service speaks its first. */
    msgsec_session *c = mk(core, "i21", MSGSEC_ROLE_CLIENT);
    msgsec_session *s = mk(core, "i12", MSGSEC_ROLE_SERVER);
    CU_ASSERT_EQUAL(msgsec_test_pump(c, s), 0);
    CU_ASSERT_STRING_EQUAL(msgsec_session_provider(s), "testpsk2");
    msgsec_session_free(c);
    msgsec_session_free(s);
}

/* No core framing in implicit mode: the first bytes are the provider's. */
static void test_implicit_raw(void)
{
    msgsec_session *c = mk(core, "i1", MSGSEC_ROLE_CLIENT);
    uint8_t buf[512];
    size_t n = drain(c, buf, sizeof(buf));
    CU_ASSERT(n > 4);
    CU_ASSERT_EQUAL(memcmp(buf, "TPSK", 4), 0);
    msgsec_session_free(c);
}

static void test_implicit_partial_and_unclaimed(void)
{
    /* Byte by byte: claims wait for enough bytes, then it completes. */
    msgsec_session *c = mk(core, "i2", MSGSEC_ROLE_CLIENT);
    msgsec_session *s = mk(core, "i12", MSGSEC_ROLE_SERVER);
    uint8_t buf[512];
    size_t n = drain(c, buf, sizeof(buf));
    for (size_t i = 0; i < n; i++) {
        CU_ASSERT_EQUAL(msgsec_session_feed(s, buf + i, 1), 0);
        if (i + 1 < n)
            CU_ASSERT_EQUAL(msgsec_session_pending_output(s), 0);
    }
    CU_ASSERT_STRING_EQUAL(msgsec_session_provider(s), "testpsk2");
    CU_ASSERT_EQUAL(msgsec_test_pump(c, s), 0);
    msgsec_session_free(c);
    msgsec_session_free(s);

    /* Nobody's token. */
    s = mk(core, "i12", MSGSEC_ROLE_SERVER);
    CU_ASSERT_EQUAL(msgsec_session_feed(s, "TP", 2), 0);
    CU_ASSERT_EQUAL(msgsec_session_state(s), MSGSEC_STATE_HANDSHAKING);
    CU_ASSERT_EQUAL(msgsec_session_feed(s, "XX", 2), MSGSEC_ERR_UNCLAIMED);
    CU_ASSERT_EQUAL(msgsec_session_state(s), MSGSEC_STATE_FAILED);
    const char *d = msgsec_session_detail(s);
    CU_ASSERT_PTR_NOT_NULL(strstr(d, "testpsk:"));
    CU_ASSERT_PTR_NOT_NULL(strstr(d, "testpsk2:"));
    /* No core frame answers in implicit mode. */
    CU_ASSERT_EQUAL(msgsec_session_pending_output(s), 0);
    msgsec_session_free(s);

    /* A token naming another provider is not claimed by this service. */
    c = mk(core, "i2", MSGSEC_ROLE_CLIENT);
    s = mk(core, "i1", MSGSEC_ROLE_SERVER);
    CU_ASSERT_EQUAL(xfer(c, s), MSGSEC_ERR_UNCLAIMED);
    msgsec_session_free(c);
    msgsec_session_free(s);
}

/* The server's policy order decides among what the client offered. */
static void test_explicit_server_preference(void)
{
    static const struct {
        const char *client, *server, *expect;
    } cases[] = {
        {"e12", "e21", "testpsk2"}, {"e21", "e12", "testpsk"},
        {"e12", "e12", "testpsk"},  {"e21", "e21", "testpsk2"},
        {"e2", "e12", "testpsk2"},  {"e12", "e1", "testpsk"},
    };
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        msgsec_session *c = mk(core, cases[i].client, MSGSEC_ROLE_CLIENT);
        msgsec_session *s = mk(core, cases[i].server, MSGSEC_ROLE_SERVER);
        CU_ASSERT_EQUAL(msgsec_test_pump(c, s), 0);
        CU_ASSERT_STRING_EQUAL(msgsec_session_provider(c), cases[i].expect);
        CU_ASSERT_STRING_EQUAL(msgsec_session_provider(s), cases[i].expect);
        /* Messages flow after the confirmation. */
        uint8_t buf[16];
        size_t n = 0;
        CU_ASSERT_EQUAL(msgsec_session_send(s, "sel", 3), 0);
        CU_ASSERT_EQUAL(xfer(s, c), 0);
        CU_ASSERT_EQUAL(msgsec_session_recv(c, buf, sizeof(buf), &n), 0);
        CU_ASSERT_EQUAL(n, 3);
        msgsec_session_free(c);
        msgsec_session_free(s);
    }
}

/* The OFFER frame lists the client's providers in its order. */
static void test_offer_contents(void)
{
    msgsec_session *c = mk(core, "e21", MSGSEC_ROLE_CLIENT);
    uint8_t buf[4096];
    size_t n = drain(c, buf, sizeof(buf));
    msgsec_neg_frame f;
    char why[256];
    CU_ASSERT_EQUAL_FATAL(msgsec_neg_parse(buf, n, &f, why, sizeof(why)), 0);
    CU_ASSERT_EQUAL(f.type, MSGSEC_NEG_OFFER);
    CU_ASSERT_EQUAL(f.total, n);
    msgsec_neg_offer o;
    CU_ASSERT_EQUAL_FATAL(msgsec_neg_parse_offer(f.body, f.len, &o, why,
                                                 sizeof(why)),
                          0);
    CU_ASSERT_EQUAL(o.n, 2);
    CU_ASSERT_STRING_EQUAL(o.names[0], "testpsk2");
    CU_ASSERT_STRING_EQUAL(o.names[1], "testpsk");
    msgsec_session_free(c);
}

/* No common provider: the server says so in an ERROR frame. */
static void test_no_common_provider(void)
{
    msgsec_session *c = mk(core, "e1", MSGSEC_ROLE_CLIENT);
    msgsec_session *s = mk(core, "e2", MSGSEC_ROLE_SERVER);
    CU_ASSERT_EQUAL(xfer(c, s), MSGSEC_ERR_NO_COMMON_PROVIDER);
    CU_ASSERT_EQUAL(msgsec_session_state(s), MSGSEC_STATE_FAILED);
    CU_ASSERT_PTR_NOT_NULL(strstr(msgsec_session_detail(s), "testpsk"));

    uint8_t buf[512];
    size_t n = drain(s, buf, sizeof(buf));
    msgsec_neg_frame f;
    char why[256], reason[MSGSEC_NEG_MAX_REASON + 1];
    int code = 0;
    CU_ASSERT_EQUAL_FATAL(msgsec_neg_parse(buf, n, &f, why, sizeof(why)), 0);
    CU_ASSERT_EQUAL(f.type, MSGSEC_NEG_ERROR);
    CU_ASSERT_EQUAL(msgsec_neg_parse_error(f.body, f.len, &code, reason, why,
                                           sizeof(why)),
                    0);
    CU_ASSERT_EQUAL(code, MSGSEC_ERR_NO_COMMON_PROVIDER);
    CU_ASSERT_STRING_EQUAL(reason, "no common provider");

    CU_ASSERT_EQUAL(msgsec_session_feed(c, buf, n), MSGSEC_ERR_PEER_REJECTED);
    CU_ASSERT_EQUAL(msgsec_session_state(c), MSGSEC_STATE_FAILED);
    const char *d = msgsec_session_detail(c);
    CU_ASSERT_PTR_NOT_NULL(strstr(d, "MSGSEC_ERR_NO_COMMON_PROVIDER"));
    CU_ASSERT_PTR_NOT_NULL(strstr(d, "no common provider"));
    /* The client does not answer an ERROR with another. */
    CU_ASSERT_EQUAL(msgsec_session_pending_output(c), 0);
    msgsec_session_free(c);
    msgsec_session_free(s);
}

/* null needs allow_insecure on each side that would use it. */
static void test_null_refused(void)
{
    /* Not allowed: a null-only service has no usable provider. */
    const char *path = msgsec_test_write_policy(
        BASE "[service.lab]\nuse = null\nnegotiation = explicit\n");
    msgsec_core *co = NULL;
    char detail[1024] = "";
    int rc = msgsec_core_new(path, NULL, 0, &co, detail, sizeof(detail));
    CU_ASSERT_EQUAL(rc, MSGSEC_ERR_POLICY_EMPTY_SERVICE);
    CU_ASSERT_PTR_NOT_NULL(strstr(detail, "insecure"));

    /* Next to a secure provider, null is neither offered nor selected. */
    msgsec_core *strict = msgsec_test_core(
        BASE "[provider.testpsk]\nsecret = " SECRET "\n"
             "[service.mix]\nuse = null, testpsk\nnegotiation = explicit\n"
             "[service.lab]\nuse = null, testpsk\nnegotiation = explicit\n"
             "allow_insecure = yes\n");
    CU_ASSERT_PTR_NOT_NULL_FATAL(strict);
    msgsec_session *c = mk(strict, "mix", MSGSEC_ROLE_CLIENT);
    uint8_t buf[4096];
    size_t n = drain(c, buf, sizeof(buf));
    msgsec_neg_frame f;
    msgsec_neg_offer o;
    char why[256];
    CU_ASSERT_EQUAL_FATAL(msgsec_neg_parse(buf, n, &f, why, sizeof(why)), 0);
    CU_ASSERT_EQUAL_FATAL(msgsec_neg_parse_offer(f.body, f.len, &o, why,
                                                 sizeof(why)),
                          0);
    CU_ASSERT_EQUAL(o.n, 1);
    CU_ASSERT_STRING_EQUAL(o.names[0], "testpsk");
    msgsec_session_free(c);

    /* A client that allows null and prefers it gets testpsk from a strict
     * server, null from a lax one. */
    c = mk(strict, "lab", MSGSEC_ROLE_CLIENT);
    msgsec_session *s = mk(strict, "mix", MSGSEC_ROLE_SERVER);
    CU_ASSERT_EQUAL(msgsec_test_pump(c, s), 0);
    CU_ASSERT_STRING_EQUAL(msgsec_session_provider(s), "testpsk");
    msgsec_session_free(c);
    msgsec_session_free(s);
    c = mk(strict, "lab", MSGSEC_ROLE_CLIENT);
    s = mk(strict, "lab", MSGSEC_ROLE_SERVER);
    CU_ASSERT_EQUAL(msgsec_test_pump(c, s), 0);
    CU_ASSERT_STRING_EQUAL(msgsec_session_provider(s), "null");
    msgsec_session_free(c);
    msgsec_session_free(s);

    /* Offered only null, the strict server refuses. */
    msgsec_core *lab = msgsec_test_core(
        BASE "allow_insecure = yes\n"
             "[service.mix]\nuse = null\nnegotiation = explicit\n");
    CU_ASSERT_PTR_NOT_NULL_FATAL(lab);
    c = mk(lab, "mix", MSGSEC_ROLE_CLIENT);
    s = mk(strict, "mix", MSGSEC_ROLE_SERVER);
    CU_ASSERT_EQUAL(xfer(c, s), MSGSEC_ERR_NO_COMMON_PROVIDER);
    CU_ASSERT_PTR_NOT_NULL(strstr(msgsec_session_detail(s), "insecure"));
    CU_ASSERT_EQUAL(xfer(s, c), MSGSEC_ERR_PEER_REJECTED);
    msgsec_session_free(c);
    msgsec_session_free(s);
    msgsec_core_free(lab);
    msgsec_core_free(strict);
}

/*
 * An active attacker between client and server rewrites the client's
 * OFFER so that the server picks a provider it would not otherwise pick.
 * Both providers work, so the handshake itself succeeds; only the
 * confirmation reveals it.
 */
static void test_downgrade_offer(void)
{
    msgsec_session *c = mk(core, "e12", MSGSEC_ROLE_CLIENT);
    msgsec_session *s = mk(core, "e12", MSGSEC_ROLE_SERVER);
    uint8_t buf[4096], forged[4096];
    size_t n = drain(c, buf, sizeof(buf)), fn = 0;
    msgsec_neg_frame f;
    msgsec_neg_offer o;
    char why[256];
    CU_ASSERT_EQUAL_FATAL(msgsec_neg_parse(buf, n, &f, why, sizeof(why)), 0);
    CU_ASSERT_EQUAL_FATAL(msgsec_neg_parse_offer(f.body, f.len, &o, why,
                                                 sizeof(why)),
                          0);
    CU_ASSERT_EQUAL_FATAL(o.n, 2);
    const char *only2[] = {"testpsk2"};
    CU_ASSERT_EQUAL_FATAL(msgsec_neg_build_offer(forged, sizeof(forged),
                                                 o.nonce, only2, 1, &fn),
                          0);
    CU_ASSERT_EQUAL(msgsec_session_feed(s, forged, fn), 0);
    /* The rest passes untouched. */
    int rc_c = 0, rc_s = 0;
    for (int i = 0; i < 10 && rc_c >= 0 && rc_s >= 0; i++) {
        rc_c = xfer(s, c);
        if (rc_c >= 0)
            rc_s = xfer(c, s);
    }
    /* The server picked testpsk2 and both ran it to the end... */
    CU_ASSERT_STRING_EQUAL(msgsec_session_provider(s), "testpsk2");
    CU_ASSERT_STRING_EQUAL(msgsec_session_provider(c), "testpsk2");
    /* ...and then the confirmation failed. */
    CU_ASSERT(rc_c == MSGSEC_ERR_DOWNGRADE || rc_s == MSGSEC_ERR_DOWNGRADE);
    if (rc_s == MSGSEC_ERR_DOWNGRADE) {
        CU_ASSERT_EQUAL(xfer(s, c), MSGSEC_ERR_DOWNGRADE);
    }
    CU_ASSERT_EQUAL(msgsec_session_state(c), MSGSEC_STATE_FAILED);
    CU_ASSERT_EQUAL(msgsec_session_state(s), MSGSEC_STATE_FAILED);
    CU_ASSERT_PTR_NOT_NULL(strstr(msgsec_session_detail(c), "CONFIRM"));
    CU_ASSERT_PTR_NOT_NULL(strstr(msgsec_session_detail(s), "CONFIRM"));
    /* Nothing usable was established on either side. */
    CU_ASSERT_EQUAL(msgsec_session_send(c, "x", 1), MSGSEC_ERR_STATE);
    msgsec_session_free(c);
    msgsec_session_free(s);
}

/* Pass frames one at a time so that a test can alter one. */
static size_t next_frame(uint8_t *buf, size_t n, int type, size_t *off)
{
    msgsec_neg_frame f;
    char why[256];
    size_t o = 0;
    while (o < n && msgsec_neg_parse(buf + o, n - o, &f, why, sizeof(why)) == 0) {
        if (f.type == type) {
            *off = o;
            return f.total;
        }
        o += f.total;
    }
    return 0;
}

static void test_downgrade_select(void)
{
    for (int variant = 0; variant < 3; variant++) {
        msgsec_session *c = mk(core, "e12", MSGSEC_ROLE_CLIENT);
        msgsec_session *s = mk(core, "e21", MSGSEC_ROLE_SERVER);
        CU_ASSERT_EQUAL(xfer(c, s), 0);
        uint8_t buf[4096];
        size_t n = drain(s, buf, sizeof(buf)), off = 0;
        size_t len = next_frame(buf, n, MSGSEC_NEG_SELECT, &off);
        CU_ASSERT_FATAL(len > 0);
        int expect;
        if (variant == 0) {
            /* Alter the server nonce. */
            buf[off + MSGSEC_NEG_HDR + 3] ^= 0x01;
            expect = MSGSEC_ERR_DOWNGRADE;
        } else if (variant == 1) {
            /* Select something the client never offered. */
            uint8_t nonce[MSGSEC_NEG_NONCE] = {0};
            size_t l = 0;
            CU_ASSERT_EQUAL(msgsec_neg_build_select(buf, sizeof(buf), nonce,
                                                    "null", &l),
                            0);
            n = l;
            expect = MSGSEC_ERR_BAD_FRAME;
        } else {
            /* Swap the selected name: the providers cannot talk. */
            uint8_t nonce[MSGSEC_NEG_NONCE] = {0};
            size_t l = 0;
            CU_ASSERT_EQUAL(msgsec_neg_build_select(buf, sizeof(buf), nonce,
                                                    "testpsk", &l),
                            0);
            n = l;
            expect = MSGSEC_ERR_BAD_FRAME; /* server's testpsk2 refuses */
        }
        int rc = msgsec_session_feed(c, buf, n);
        for (int i = 0; i < 10 && rc >= 0; i++) {
            rc = xfer(c, s);
            if (rc < 0) {
                /* Deliver the server's complaint to the client. */
                xfer(s, c);
                break;
            }
            rc = xfer(s, c);
        }
        CU_ASSERT_EQUAL(rc, expect);
        CU_ASSERT_EQUAL(msgsec_session_state(c) == MSGSEC_STATE_FAILED ||
                            msgsec_session_state(s) == MSGSEC_STATE_FAILED,
                        1);
        CU_ASSERT_NOT_EQUAL(msgsec_session_state(c), MSGSEC_STATE_ESTABLISHED);
        msgsec_session_free(c);
        msgsec_session_free(s);
    }
}

/* An altered CONFIRM is a downgrade too. */
static void test_tampered_confirm(void)
{
    msgsec_session *c = mk(core, "e1", MSGSEC_ROLE_CLIENT);
    msgsec_session *s = mk(core, "e1", MSGSEC_ROLE_SERVER);
    int rc = 0;
    uint8_t buf[4096];
    for (int i = 0; i < 10 && rc == 0; i++) {
        CU_ASSERT_EQUAL(xfer(c, s), 0);
        size_t n = drain(s, buf, sizeof(buf)), off = 0;
        size_t len = next_frame(buf, n, MSGSEC_NEG_CONFIRM, &off);
        if (len)
            buf[off + MSGSEC_NEG_HDR] ^= 0x80;
        rc = msgsec_session_feed(c, buf, n);
        if (len)
            break;
    }
    CU_ASSERT_EQUAL(rc, MSGSEC_ERR_DOWNGRADE);
    CU_ASSERT_EQUAL(msgsec_session_state(c), MSGSEC_STATE_FAILED);
    msgsec_session_free(c);
    msgsec_session_free(s);
}

static const uint8_t hdr_ok[] = {'M', 'S', 'G', 'N', 1};

/* Feeds bytes to a fresh explicit session of role; expects rc and, when
 * answer is set, an ERROR frame carrying rc for the peer. */
static void expect_rc(int role, const uint8_t *p, size_t n, int expect,
                      int answer)
{
    msgsec_session *s = mk(core, "e12", role);
    if (role == MSGSEC_ROLE_CLIENT) {
        uint8_t junk[4096];
        drain(s, junk, sizeof(junk));
    }
    int rc = msgsec_session_feed(s, p, n);
    CU_ASSERT_EQUAL(rc, expect);
    if (rc != expect)
        fprintf(stderr, "got %s: %s\n", msgsec_error_name(rc),
                msgsec_session_detail(s));
    if (!answer) {
        CU_ASSERT_EQUAL(msgsec_session_pending_output(s), 0);
    } else {
        uint8_t out[512];
        size_t on = drain(s, out, sizeof(out));
        msgsec_neg_frame f;
        char why[256], reason[MSGSEC_NEG_MAX_REASON + 1];
        int code = 0;
        CU_ASSERT_EQUAL(msgsec_neg_parse(out, on, &f, why, sizeof(why)), 0);
        CU_ASSERT_EQUAL(f.type, MSGSEC_NEG_ERROR);
        CU_ASSERT_EQUAL(msgsec_neg_parse_error(f.body, f.len, &code, reason,
                                               why, sizeof(why)),
                        0);
        CU_ASSERT_EQUAL(code, expect);
    }
    msgsec_session_free(s);
}

static void expect_bad(int role, const uint8_t *p, size_t n, int expect)
{
    expect_rc(role, p, n, expect, expect < 0);
}

static size_t frame(uint8_t *out, int type, const void *body, size_t len)
{
    memcpy(out, hdr_ok, sizeof(hdr_ok));
    out[5] = (uint8_t)type;
    out[6] = (uint8_t)(len >> 8);
    out[7] = (uint8_t)len;
    memcpy(out + 8, body, len);
    return 8 + len;
}

static void test_malformed_frames(void)
{
    uint8_t b[256], body[128];
    size_t n;
    int S = MSGSEC_ROLE_SERVER, C = MSGSEC_ROLE_CLIENT, BAD = MSGSEC_ERR_BAD_FRAME;

    expect_bad(S, (const uint8_t *)"GET / HTTP/1.1\r\n", 16, BAD);
    expect_bad(S, (const uint8_t *)"MSGX", 4, BAD);
    /* A partial header waits. */
    expect_bad(S, hdr_ok, 5, 0);
    memcpy(b, hdr_ok, 5);
    b[4] = 2; /* version */
    b[5] = 1;
    b[6] = b[7] = 0;
    expect_bad(S, b, 8, BAD);
    n = frame(b, 9, "", 0); /* unknown type */
    expect_bad(S, b, n, BAD);
    n = frame(b, MSGSEC_NEG_TOKEN, "", 0);
    b[6] = 0x40; /* 16384 + 1 bytes announced */
    b[7] = 0x01;
    expect_bad(S, b, n, BAD);

    /* OFFER bodies. */
    memset(body, 0, sizeof(body));
    n = frame(b, MSGSEC_NEG_OFFER, body, 33); /* zero names */
    expect_bad(S, b, n, BAD);
    body[32] = 1;
    body[33] = 3;
    memcpy(body + 34, "ABC", 3); /* upper case */
    n = frame(b, MSGSEC_NEG_OFFER, body, 37);
    expect_bad(S, b, n, BAD);
    body[32] = 2;
    memcpy(body + 33, "\x07testpsk\x07testpsk", 16); /* repeated */
    n = frame(b, MSGSEC_NEG_OFFER, body, 49);
    expect_bad(S, b, n, BAD);
    body[32] = 1;
    memcpy(body + 33, "\x07testpskX", 9); /* trailing byte */
    n = frame(b, MSGSEC_NEG_OFFER, body, 42);
    expect_bad(S, b, n, BAD);
    body[33] = 20; /* name runs past the body */
    n = frame(b, MSGSEC_NEG_OFFER, body, 41);
    expect_bad(S, b, n, BAD);
    body[32] = 33; /* too many names */
    n = frame(b, MSGSEC_NEG_OFFER, body, 41);
    expect_bad(S, b, n, BAD);

    /* Frames out of order. */
    n = frame(b, MSGSEC_NEG_TOKEN, "TPSK", 4);
    expect_bad(S, b, n, BAD);
    n = frame(b, MSGSEC_NEG_SELECT, body, 40);
    expect_bad(S, b, n, BAD);
    n = frame(b, MSGSEC_NEG_OFFER, body, 41);
    expect_bad(C, b, n, BAD);
    memset(body, 0, 32);
    n = frame(b, MSGSEC_NEG_CONFIRM, body, 32);
    expect_bad(C, b, n, BAD);
    expect_bad(S, b, n, BAD);
    /* SELECT with a short body. */
    n = frame(b, MSGSEC_NEG_SELECT, body, 20);
    expect_bad(C, b, n, BAD);
    /* A malformed ERROR is still the end, and is not answered. */
    n = frame(b, MSGSEC_NEG_ERROR, "\x00\x00\x00", 3);
    expect_rc(C, b, n, BAD, 0);
    n = frame(b, MSGSEC_NEG_ERROR, "\x00\x3d\x02\x01\x02", 5);
    expect_rc(C, b, n, BAD, 0);
    /* A well-formed ERROR from the peer. */
    n = frame(b, MSGSEC_NEG_ERROR, "\x00\x50\x03" "bye", 6);
    expect_rc(C, b, n, MSGSEC_ERR_PEER_REJECTED, 0);
    expect_rc(S, b, n, MSGSEC_ERR_PEER_REJECTED, 0);
}

/* An empty TOKEN, a CONFIRM before the provider finished, or a second
 * OFFER, mid-session. */
static void test_malformed_midway(void)
{
    for (int variant = 0; variant < 3; variant++) {
        msgsec_session *c = mk(core, "e1", MSGSEC_ROLE_CLIENT);
        msgsec_session *s = mk(core, "e1", MSGSEC_ROLE_SERVER);
        uint8_t offer[512];
        size_t on = msgsec_session_pending_output(c);
        CU_ASSERT_EQUAL(msgsec_session_pull(c, offer, sizeof(offer)), on);
        CU_ASSERT_EQUAL(msgsec_session_feed(s, offer, on), 0);
        CU_ASSERT_EQUAL(xfer(s, c), 0); /* SELECT */
        uint8_t b[512], z[32] = {0};
        size_t n = variant == 0   ? frame(b, MSGSEC_NEG_TOKEN, z, 0)
                   : variant == 1 ? frame(b, MSGSEC_NEG_CONFIRM, z, 32)
                                  : (memcpy(b, offer, on), on);
        CU_ASSERT_EQUAL(msgsec_session_feed(s, b, n), MSGSEC_ERR_BAD_FRAME);
        /* The client learns why. */
        CU_ASSERT_EQUAL(xfer(s, c), MSGSEC_ERR_PEER_REJECTED);
        CU_ASSERT_PTR_NOT_NULL(strstr(msgsec_session_detail(c),
                                      "MSGSEC_ERR_BAD_FRAME"));
        msgsec_session_free(c);
        msgsec_session_free(s);
    }
}

/* The frame codec on its own. */
static void test_codec(void)
{
    uint8_t buf[MSGSEC_NEG_MAX_OFFER_FRAME], nonce[32];
    for (int i = 0; i < 32; i++)
        nonce[i] = (uint8_t)i;
    const char *names[] = {"akma", "seal-tlspsk", "x1"};
    size_t n = 0;
    CU_ASSERT_EQUAL(msgsec_neg_build_offer(buf, sizeof(buf), nonce, names, 3,
                                           &n),
                    0);
    msgsec_neg_frame f;
    char why[256];
    /* Every strict prefix is incomplete, never an error. */
    for (size_t k = 0; k < n; k++)
        CU_ASSERT_EQUAL(msgsec_neg_parse(buf, k, &f, why, sizeof(why)),
                        MSGSEC_CONTINUE);
    CU_ASSERT_EQUAL(msgsec_neg_parse(buf, n, &f, why, sizeof(why)), 0);
    msgsec_neg_offer o;
    CU_ASSERT_EQUAL(msgsec_neg_parse_offer(f.body, f.len, &o, why, sizeof(why)),
                    0);
    CU_ASSERT_EQUAL(o.n, 3);
    CU_ASSERT_STRING_EQUAL(o.names[1], "seal-tlspsk");
    CU_ASSERT_EQUAL(memcmp(o.nonce, nonce, 32), 0);

    /* Builders refuse what parsers would refuse. */
    const char *bad1[] = {"Upper"};
    const char *bad2[] = {""};
    CU_ASSERT_EQUAL(msgsec_neg_build_offer(buf, sizeof(buf), nonce, bad1, 1, &n),
                    MSGSEC_ERR_INVALID_ARG);
    CU_ASSERT_EQUAL(msgsec_neg_build_offer(buf, sizeof(buf), nonce, bad2, 1, &n),
                    MSGSEC_ERR_INVALID_ARG);
    CU_ASSERT_EQUAL(msgsec_neg_build_offer(buf, sizeof(buf), nonce, names, 0, &n),
                    MSGSEC_ERR_INVALID_ARG);
    CU_ASSERT_EQUAL(msgsec_neg_build_offer(buf, 20, nonce, names, 3, &n),
                    MSGSEC_ERR_BUFFER_TOO_SMALL);

    char name[MSGSEC_NEG_MAX_NAME + 1];
    uint8_t nonce2[32];
    CU_ASSERT_EQUAL(msgsec_neg_build_select(buf, sizeof(buf), nonce, "akma", &n),
                    0);
    CU_ASSERT_EQUAL(msgsec_neg_parse(buf, n, &f, why, sizeof(why)), 0);
    CU_ASSERT_EQUAL(f.type, MSGSEC_NEG_SELECT);
    CU_ASSERT_EQUAL(msgsec_neg_parse_select(f.body, f.len, nonce2, name, why,
                                            sizeof(why)),
                    0);
    CU_ASSERT_STRING_EQUAL(name, "akma");

    /* ERROR reasons are made printable and bounded. */
    char longr[400];
    memset(longr, 'r', sizeof(longr) - 1);
    longr[sizeof(longr) - 1] = '\0';
    longr[3] = '\n';
    CU_ASSERT_EQUAL(msgsec_neg_build_error(buf, sizeof(buf),
                                           MSGSEC_ERR_DOWNGRADE, longr, &n),
                    0);
    CU_ASSERT_EQUAL(msgsec_neg_parse(buf, n, &f, why, sizeof(why)), 0);
    int code = 0;
    char reason[MSGSEC_NEG_MAX_REASON + 1];
    CU_ASSERT_EQUAL(msgsec_neg_parse_error(f.body, f.len, &code, reason, why,
                                           sizeof(why)),
                    0);
    CU_ASSERT_EQUAL(code, MSGSEC_ERR_DOWNGRADE);
    CU_ASSERT_EQUAL(strlen(reason), MSGSEC_NEG_MAX_REASON);
    CU_ASSERT_EQUAL(reason[3], '?');
    CU_ASSERT_EQUAL(msgsec_neg_build_error(buf, sizeof(buf), 5, "x", &n),
                    MSGSEC_ERR_INVALID_ARG);

    /* CONFIRM values differ by role and by key; without a key it is TH. */
    uint8_t th[32], k1[32], k2[32], m1[32], m2[32], m3[32];
    memset(k1, 1, 32);
    memset(k2, 2, 32);
    CU_ASSERT_EQUAL(msgsec_neg_transcript((const uint8_t *)"ab", 2,
                                          (const uint8_t *)"c", 1, th),
                    0);
    CU_ASSERT_EQUAL(msgsec_neg_confirm(k1, 32, th, MSGSEC_ROLE_CLIENT, m1), 0);
    CU_ASSERT_EQUAL(msgsec_neg_confirm(k1, 32, th, MSGSEC_ROLE_SERVER, m2), 0);
    CU_ASSERT_EQUAL(msgsec_neg_confirm(k2, 32, th, MSGSEC_ROLE_CLIENT, m3), 0);
    CU_ASSERT_NOT_EQUAL(memcmp(m1, m2, 32), 0);
    CU_ASSERT_NOT_EQUAL(memcmp(m1, m3, 32), 0);
    CU_ASSERT_EQUAL(msgsec_neg_confirm(NULL, 0, th, MSGSEC_ROLE_CLIENT, m1), 0);
    CU_ASSERT_EQUAL(memcmp(m1, th, 32), 0);
    /* SHA-256("abc"): the transcript is the plain concatenation. */
    static const uint8_t abc[32] = {
        0xba, 0x78, 0x16, 0xbf, 0x8f, 0x01, 0xcf, 0xea, 0x41, 0x41, 0x40,
        0xde, 0x5d, 0xae, 0x22, 0x23, 0xb0, 0x03, 0x61, 0xa3, 0x96, 0x17,
        0x7a, 0x9c, 0xb4, 0x10, 0xff, 0x61, 0xf2, 0x00, 0x15, 0xad};
    CU_ASSERT_EQUAL(memcmp(th, abc, 32), 0);
}

int main(void)
{
    CU_TestInfo tests[] = {
        {"implicit: claims in both orders", test_implicit_claims},
        {"implicit: no core framing", test_implicit_raw},
        {"implicit: partial and unclaimed tokens",
         test_implicit_partial_and_unclaimed},
        {"explicit: server preference", test_explicit_server_preference},
        {"explicit: offer contents", test_offer_contents},
        {"explicit: no common provider", test_no_common_provider},
        {"explicit: null refused unless allowed", test_null_refused},
        {"downgrade: rewritten offer", test_downgrade_offer},
        {"downgrade: tampered select", test_downgrade_select},
        {"downgrade: tampered confirm", test_tampered_confirm},
        {"malformed frames", test_malformed_frames},
        {"malformed frames mid-handshake", test_malformed_midway},
        {"frame codec", test_codec},
        CU_TEST_INFO_NULL,
    };
    return msgsec_test_main("negotiate", setup, teardown, tests);
}
