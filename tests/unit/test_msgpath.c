/* test_msgpath.c - the message path: message and stream framing, split
 * messages, tampering, replay, loss, size limits, close, allocation. */
#include <stdlib.h>
#include <string.h>

#include "testutil.h"

#define SECRET "000102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f"
#define MAX_MSG (1u << 20)

static const char *policy =
    "[core]\nprovider_dir = @PROVIDER_DIR@\n"
    "[provider.testpsk]\nsecret = " SECRET "\n"
    "[service.imp]\nuse = testpsk\n"
    "[service.exp]\nuse = testpsk\nnegotiation = explicit\n"
    "[service.str]\nuse = testpsk\nframing = stream\n";

/* Counting allocator: the steady state must not allocate, and what a
 * session holds (live bytes) stays small when its messages are. */
static size_t allocs, live;

static void *count_alloc(void *ud, size_t n)
{
    (void)ud;
    void *p = calloc(1, n);
    if (p) {
        __atomic_add_fetch(&allocs, 1, __ATOMIC_RELAXED);
        __atomic_add_fetch(&live, n, __ATOMIC_RELAXED);
    }
    return p;
}

static void count_free(void *ud, void *p, size_t n)
{
    (void)ud;
    if (p)
        __atomic_sub_fetch(&live, n, __ATOMIC_RELAXED);
    free(p);
}

static msgsec_core *core;

static int setup(void)
{
    const char *path = msgsec_test_write_policy(policy);
    msgsec_hooks hooks = {.size = sizeof(hooks),
                          .alloc = count_alloc,
                          .free = count_free};
    char detail[1024] = "";
    if (!path ||
        msgsec_core_new(path, &hooks, 0, &core, detail, sizeof(detail)) != 0) {
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

static void pair(const char *svc, int framing, msgsec_session **c,
                 msgsec_session **s)
{
    msgsec_session_config cfg = {.size = sizeof(cfg), .framing = framing};
    *c = *s = NULL;
    CU_ASSERT_EQUAL_FATAL(msgsec_session_new(core, svc, MSGSEC_ROLE_CLIENT,
                                             &cfg, c),
                          0);
    CU_ASSERT_EQUAL_FATAL(msgsec_session_new(core, svc, MSGSEC_ROLE_SERVER,
                                             &cfg, s),
                          0);
    CU_ASSERT_EQUAL_FATAL(msgsec_test_pump(*c, *s), 0);
}

static void unpair(msgsec_session *c, msgsec_session *s)
{
    msgsec_session_free(c);
    msgsec_session_free(s);
}

/* All queued output of from, in a malloc'd buffer. */
static uint8_t *take(msgsec_session *from, size_t *n)
{
    *n = msgsec_session_pending_output(from);
    uint8_t *p = malloc(*n ? *n : 1);
    CU_ASSERT_EQUAL(msgsec_session_pull(from, p, *n), *n);
    return p;
}

static void fill(uint8_t *p, size_t n, unsigned seed)
{
    for (size_t i = 0; i < n; i++)
        p[i] = (uint8_t)(i * 31u + seed + (i >> 8));
}

/* Sends each size from a to b (fed in chunks of `chunk` bytes, 0 = all
 * at once) and checks what arrives. */
static void roundtrip(msgsec_session *a, msgsec_session *b, size_t chunk)
{
    static const size_t sizes[] = {0, 1, 64, 16384, 16383, 16385, 200 * 1024};
    size_t nsizes = sizeof(sizes) / sizeof(sizes[0]);
    uint8_t *msg = malloc(200 * 1024), *got = malloc(200 * 1024);
    for (size_t i = 0; i < nsizes; i++) {
        fill(msg, sizes[i], (unsigned)i);
        CU_ASSERT_EQUAL(msgsec_session_send(a, msg, sizes[i]), 0);
    }
    size_t n;
    uint8_t *wire = take(a, &n);
    /* Large messages span several records. */
    CU_ASSERT(n > 200 * 1024 + 13 * 27);
    size_t step = chunk ? chunk : n;
    for (size_t off = 0; off < n; off += step)
        CU_ASSERT_EQUAL(msgsec_session_feed(b, wire + off,
                                            n - off < step ? n - off : step),
                        0);
    for (size_t i = 0; i < nsizes; i++) {
        size_t len = 12345;
        CU_ASSERT_EQUAL(msgsec_session_recv(b, got, 200 * 1024, &len), 0);
        CU_ASSERT_EQUAL(len, sizes[i]);
        fill(msg, sizes[i], (unsigned)i);
        CU_ASSERT(len == sizes[i] && memcmp(got, msg, len) == 0);
    }
    size_t len;
    CU_ASSERT_EQUAL(msgsec_session_recv(b, got, 200 * 1024, &len),
                    MSGSEC_CONTINUE);
    free(wire);
    free(msg);
    free(got);
}

static void test_roundtrip(void)
{
    const char *svcs[] = {"imp", "exp"};
    for (int i = 0; i < 2; i++) {
        msgsec_session *c, *s;
        pair(svcs[i], 0, &c, &s);
        roundtrip(c, s, 0);
        roundtrip(s, c, 0);
        roundtrip(c, s, 1000);
        roundtrip(s, c, 7);
        unpair(c, s);
    }
}

static void test_largest_message(void)
{
    msgsec_session *c, *s;
    pair("imp", 0, &c, &s);
    uint8_t *msg = malloc(MAX_MSG + 1), *got = malloc(MAX_MSG);
    fill(msg, MAX_MSG + 1, 9);
    CU_ASSERT_EQUAL(msgsec_session_send(c, msg, MAX_MSG + 1),
                    MSGSEC_ERR_MESSAGE_TOO_LARGE);
    CU_ASSERT_PTR_NOT_NULL(strstr(msgsec_session_detail(c), "at most"));
    /* The session is still usable. */
    CU_ASSERT_EQUAL(msgsec_session_state(c), MSGSEC_STATE_ESTABLISHED);
    CU_ASSERT_EQUAL(msgsec_session_pending_output(c), 0);
    CU_ASSERT_EQUAL(msgsec_session_send(c, msg, MAX_MSG), 0);
    size_t n, len = 0;
    uint8_t *wire = take(c, &n);
    CU_ASSERT_EQUAL(msgsec_session_feed(s, wire, n), 0);
    /* Too small a buffer: told the size, the message stays. */
    CU_ASSERT_EQUAL(msgsec_session_recv(s, got, 100, &len),
                    MSGSEC_ERR_BUFFER_TOO_SMALL);
    CU_ASSERT_EQUAL(len, MAX_MSG);
    CU_ASSERT_EQUAL(msgsec_session_recv(s, got, MAX_MSG, &len), 0);
    CU_ASSERT_EQUAL(len, MAX_MSG);
    CU_ASSERT_EQUAL(memcmp(got, msg, MAX_MSG), 0);
    free(wire);
    free(msg);
    free(got);
    unpair(c, s);
}

/* Many large messages fed before any recv: decoded as recv makes room. */
static void test_backlog(void)
{
    msgsec_session *c, *s;
    pair("exp", 0, &c, &s);
    size_t sz = 700 * 1024;
    uint8_t *msg = malloc(sz), *got = malloc(sz);
    for (unsigned i = 0; i < 5; i++) {
        fill(msg, sz, i);
        CU_ASSERT_EQUAL(msgsec_session_send(c, msg, sz), 0);
        CU_ASSERT_EQUAL(msgsec_session_send(c, &i, sizeof(i)), 0);
    }
    size_t n, len;
    uint8_t *wire = take(c, &n);
    CU_ASSERT_EQUAL(msgsec_session_feed(s, wire, n), 0);
    for (unsigned i = 0; i < 5; i++) {
        fill(msg, sz, i);
        CU_ASSERT_EQUAL(msgsec_session_recv(s, got, sz, &len), 0);
        CU_ASSERT(len == sz && memcmp(got, msg, sz) == 0);
        unsigned k = 99;
        CU_ASSERT_EQUAL(msgsec_session_recv(s, &k, sizeof(k), &len), 0);
        CU_ASSERT_EQUAL(k, i);
    }
    CU_ASSERT_EQUAL(msgsec_session_recv(s, got, sz, &len), MSGSEC_CONTINUE);
    free(wire);
    free(msg);
    free(got);
    unpair(c, s);
}

static void test_stream(void)
{
    msgsec_session *c, *s;
    /* Stream framing from policy, and asked for by the session. */
    for (int v = 0; v < 2; v++) {
        if (v == 0)
            pair("str", 0, &c, &s);
        else
            pair("exp", MSGSEC_FRAMING_STREAM, &c, &s);
        size_t total = 100000;
        uint8_t *msg = malloc(total), *got = malloc(total);
        fill(msg, total, 3);
        CU_ASSERT_EQUAL(msgsec_session_send(c, msg, 10), 0);
        CU_ASSERT_EQUAL(msgsec_session_send(c, msg + 10, 0), 0);
        CU_ASSERT_EQUAL(msgsec_session_send(c, msg + 10, total - 10), 0);
        size_t n, len, have = 0;
        uint8_t *wire = take(c, &n);
        CU_ASSERT_EQUAL(msgsec_session_feed(s, wire, n), 0);
        /* Whatever is buffered, in pieces of the caller's choosing. */
        while (have < total) {
            int rc = msgsec_session_recv(s, got + have, 777, &len);
            CU_ASSERT_EQUAL_FATAL(rc, 0);
            CU_ASSERT(len > 0 && len <= 777);
            have += len;
        }
        CU_ASSERT_EQUAL(memcmp(got, msg, total), 0);
        CU_ASSERT_EQUAL(msgsec_session_recv(s, got, total, &len),
                        MSGSEC_CONTINUE);
        /* No length prefix on the wire: a stream peer of a message peer
         * would see raw bytes. */
        CU_ASSERT(n < total + 10 * 27);
        free(wire);
        free(msg);
        free(got);
        unpair(c, s);
    }
}

/* A peer announcing a message over the limit is refused at its header. */
static void test_receive_too_large(void)
{
    msgsec_session_config sc = {.size = sizeof(sc),
                                .framing = MSGSEC_FRAMING_STREAM};
    msgsec_session *c = NULL, *s = NULL;
    CU_ASSERT_EQUAL_FATAL(msgsec_session_new(core, "imp", MSGSEC_ROLE_CLIENT,
                                             &sc, &c),
                          0);
    CU_ASSERT_EQUAL_FATAL(msgsec_session_new(core, "imp", MSGSEC_ROLE_SERVER,
                                             NULL, &s),
                          0);
    CU_ASSERT_EQUAL_FATAL(msgsec_test_pump(c, s), 0);
    /* The stream client forges a message-framing header of 1 MiB + 1. */
    uint8_t hdr[4] = {0x00, 0x10, 0x00, 0x01};
    CU_ASSERT_EQUAL(msgsec_session_send(c, hdr, 4), 0);
    size_t n;
    uint8_t *wire = take(c, &n);
    CU_ASSERT_EQUAL(msgsec_session_feed(s, wire, n),
                    MSGSEC_ERR_MESSAGE_TOO_LARGE);
    CU_ASSERT_EQUAL(msgsec_session_state(s), MSGSEC_STATE_FAILED);
    CU_ASSERT_PTR_NOT_NULL(strstr(msgsec_session_detail(s), "1048577"));
    free(wire);
    unpair(c, s);
}

static void test_tampered(void)
{
    for (int where = 0; where < 3; where++) {
        msgsec_session *c, *s;
        pair(where == 1 ? "exp" : "imp", 0, &c, &s);
        CU_ASSERT_EQUAL(msgsec_session_send(c, "attack at dawn", 14), 0);
        size_t n;
        uint8_t *wire = take(c, &n);
        /* Ciphertext, tag, or the sequence number in the header. */
        size_t pos = where == 0 ? 15 : where == 1 ? n - 1 : 5;
        wire[pos] ^= 0x04;
        CU_ASSERT_EQUAL(msgsec_session_feed(s, wire, n), MSGSEC_ERR_INTEGRITY);
        CU_ASSERT_EQUAL(msgsec_session_state(s), MSGSEC_STATE_FAILED);
        CU_ASSERT_PTR_NOT_NULL(strstr(msgsec_session_detail(s),
                                      "provider testpsk"));
        uint8_t buf[32];
        size_t len;
        CU_ASSERT_EQUAL(msgsec_session_recv(s, buf, sizeof(buf), &len),
                        MSGSEC_ERR_STATE);
        CU_ASSERT_EQUAL(msgsec_session_send(s, "x", 1), MSGSEC_ERR_STATE);
        free(wire);
        unpair(c, s);
    }
}

/* Replayed, dropped and reordered records. */
static void test_replay(void)
{
    for (int variant = 0; variant < 3; variant++) {
        msgsec_session *c, *s;
        pair("imp", 0, &c, &s);
        size_t na, nb;
        CU_ASSERT_EQUAL(msgsec_session_send(c, "first", 5), 0);
        uint8_t *a = take(c, &na);
        CU_ASSERT_EQUAL(msgsec_session_send(c, "second", 6), 0);
        uint8_t *b = take(c, &nb);
        uint8_t buf[16];
        size_t len;
        int rc;
        if (variant == 0) {
            CU_ASSERT_EQUAL(msgsec_session_feed(s, a, na), 0);
            CU_ASSERT_EQUAL(msgsec_session_recv(s, buf, sizeof(buf), &len), 0);
            rc = msgsec_session_feed(s, a, na); /* replay */
        } else if (variant == 1) {
            rc = msgsec_session_feed(s, b, nb); /* a was lost */
        } else {
            rc = msgsec_session_feed(s, b, nb); /* b before a */
            if (rc == 0)
                rc = msgsec_session_feed(s, a, na);
        }
        CU_ASSERT_EQUAL(rc, MSGSEC_ERR_REPLAY);
        CU_ASSERT_EQUAL(msgsec_session_state(s), MSGSEC_STATE_FAILED);
        CU_ASSERT_PTR_NOT_NULL(strstr(msgsec_session_detail(s), "sequence"));
        free(a);
        free(b);
        unpair(c, s);
    }
}

static void test_close(void)
{
    msgsec_session *c, *s;
    pair("exp", 0, &c, &s);
    CU_ASSERT_EQUAL(msgsec_session_send(c, "one", 3), 0);
    CU_ASSERT_EQUAL(msgsec_session_send(c, "two", 3), 0);
    CU_ASSERT_EQUAL(msgsec_session_close(c), 0);
    CU_ASSERT_EQUAL(msgsec_session_state(c), MSGSEC_STATE_CLOSED);
    CU_ASSERT_EQUAL(msgsec_session_send(c, "three", 5), MSGSEC_ERR_CLOSED);
    size_t n, len;
    uint8_t *wire = take(c, &n);
    CU_ASSERT_EQUAL(msgsec_session_feed(s, wire, n), 0);
    CU_ASSERT_EQUAL(msgsec_session_state(s), MSGSEC_STATE_CLOSED);
    /* Messages before the close are still delivered. */
    char buf[8];
    CU_ASSERT_EQUAL(msgsec_session_recv(s, buf, sizeof(buf), &len), 0);
    CU_ASSERT(len == 3 && memcmp(buf, "one", 3) == 0);
    CU_ASSERT_EQUAL(msgsec_session_recv(s, buf, sizeof(buf), &len), 0);
    CU_ASSERT(len == 3 && memcmp(buf, "two", 3) == 0);
    CU_ASSERT_EQUAL(msgsec_session_recv(s, buf, sizeof(buf), &len),
                    MSGSEC_ERR_CLOSED);
    CU_ASSERT_EQUAL(msgsec_session_feed(s, wire, n), MSGSEC_ERR_CLOSED);
    CU_ASSERT_EQUAL(msgsec_session_send(s, "late", 4), MSGSEC_ERR_CLOSED);
    /* The server answers with its own close, which the client reads. */
    CU_ASSERT_EQUAL(msgsec_session_close(s), 0);
    free(wire);
    wire = take(s, &n);
    CU_ASSERT(n > 0);
    CU_ASSERT_EQUAL(msgsec_session_feed(c, wire, n), 0);
    CU_ASSERT_EQUAL(msgsec_session_recv(c, buf, sizeof(buf), &len),
                    MSGSEC_ERR_CLOSED);
    free(wire);
    unpair(c, s);
}

/* Stream framing with a large input: the last record may be decoded by
 * recv (straight into the caller's buffer). Its tampering, and a close
 * behind it, must still be reported: by feed or by the next recv. */
static void test_stream_large_input(void)
{
    for (int variant = 0; variant < 2; variant++) {
        msgsec_session *c, *s;
        pair("str", 0, &c, &s);
        size_t total = 3 * 16384, n, len, have = 0;
        uint8_t *msg = malloc(total), *got = malloc(total);
        fill(msg, total, 7);
        CU_ASSERT_EQUAL(msgsec_session_send(c, msg, total), 0);
        if (variant == 1)
            CU_ASSERT_EQUAL(msgsec_session_close(c), 0);
        uint8_t *wire = take(c, &n);
        if (variant == 0)
            wire[n - 3] ^= 0x01; /* the last record's tag */
        int rc = msgsec_session_feed(s, wire, n);
        int failed = rc < 0;
        if (variant == 0 && failed) {
            CU_ASSERT_EQUAL(rc, MSGSEC_ERR_INTEGRITY);
        } else {
            CU_ASSERT_EQUAL(rc, 0);
        }
        while (!failed) {
            rc = msgsec_session_recv(s, got + have, total - have, &len);
            if (rc != 0)
                break;
            have += len;
        }
        if (variant == 0) {
            /* Everything before the tampered record, never its bytes. */
            CU_ASSERT(have < total);
            CU_ASSERT_EQUAL(memcmp(got, msg, have), 0);
            CU_ASSERT(failed || rc == MSGSEC_ERR_INTEGRITY);
            CU_ASSERT_EQUAL(msgsec_session_state(s), MSGSEC_STATE_FAILED);
        } else {
            CU_ASSERT_EQUAL(have, total);
            CU_ASSERT_EQUAL(memcmp(got, msg, total), 0);
            CU_ASSERT_EQUAL(rc, MSGSEC_ERR_CLOSED);
            CU_ASSERT_EQUAL(msgsec_session_state(s), MSGSEC_STATE_CLOSED);
        }
        free(wire);
        free(msg);
        free(got);
        unpair(c, s);
    }
}

/* After warm-up, send and receive allocate nothing from the core. */
static void test_no_steady_allocation(void)
{
    msgsec_session *c, *s;
    pair("imp", 0, &c, &s);
    uint8_t msg[3000], got[3000], wire[8192];
    fill(msg, sizeof(msg), 1);
    size_t len, before = 0;
    for (int i = 0; i < 2000; i++) {
        if (i == 10)
            before = __atomic_load_n(&allocs, __ATOMIC_RELAXED);
        /* Warm up with the largest size, then vary. */
        size_t sz = i < 10 ? sizeof(msg) : 1 + (size_t)(i * 37) % sizeof(msg);
        CU_ASSERT_EQUAL(msgsec_session_send(c, msg, sz), 0);
        size_t n = msgsec_session_pull(c, wire, sizeof(wire));
        CU_ASSERT_EQUAL(msgsec_session_feed(s, wire, n), 0);
        CU_ASSERT_EQUAL(msgsec_session_recv(s, got, sizeof(got), &len), 0);
        CU_ASSERT_EQUAL(len, sz);
    }
    CU_ASSERT_EQUAL(__atomic_load_n(&allocs, __ATOMIC_RELAXED), before);
    unpair(c, s);
}

/* Sessions that exchanged short messages and went idle hold buffers of
 * their traffic's size, not of the provider's largest record (16 KiB
 * here), in either framing; a large message still comes through whole. */
static void test_idle_small(void)
{
    static const struct {
        const char *svc;
        int framing;
    } modes[] = {{"imp", 0}, {"str", MSGSEC_FRAMING_STREAM}};
    for (size_t m = 0; m < 2; m++) {
        size_t base = __atomic_load_n(&live, __ATOMIC_RELAXED);
        msgsec_session *c, *s;
        pair(modes[m].svc, modes[m].framing, &c, &s);
        uint8_t msg[64], got[64], wire[1024];
        fill(msg, sizeof(msg), 3);
        size_t n, len;
        for (int i = 0; i < 4; i++) {
            msgsec_session *from = i % 2 ? s : c, *to = i % 2 ? c : s;
            CU_ASSERT_EQUAL(msgsec_session_send(from, msg, sizeof(msg)), 0);
            n = msgsec_session_pull(from, wire, sizeof(wire));
            CU_ASSERT_EQUAL(msgsec_session_feed(to, wire, n), 0);
            CU_ASSERT_EQUAL(msgsec_session_recv(to, got, sizeof(got), &len),
                            0);
            CU_ASSERT_EQUAL(len, sizeof(msg));
        }
        size_t held = __atomic_load_n(&live, __ATOMIC_RELAXED) - base;
        /* Both sessions together: state and small buffers only. */
        CU_ASSERT(held < 16384);
        uint8_t *big = malloc(100000), *back = malloc(100000);
        fill(big, 100000, 4);
        CU_ASSERT_EQUAL(msgsec_session_send(c, big, 100000), 0);
        uint8_t *w = take(c, &n);
        CU_ASSERT_EQUAL(msgsec_session_feed(s, w, n), 0);
        size_t at = 0;
        while (at < 100000 &&
               msgsec_session_recv(s, back + at, 100000 - at, &len) == 0)
            at += len;
        CU_ASSERT_EQUAL(at, 100000);
        CU_ASSERT(memcmp(big, back, 100000) == 0);
        free(w);
        free(big);
        free(back);
        unpair(c, s);
    }
}

int main(void)
{
    CU_TestInfo tests[] = {
        {"roundtrip 0 B to 200 KiB, both modes", test_roundtrip},
        {"largest message and too large", test_largest_message},
        {"backlog of large messages", test_backlog},
        {"stream framing", test_stream},
        {"stream framing, large input: errors and close", test_stream_large_input},
        {"received message too large", test_receive_too_large},
        {"tampered record", test_tampered},
        {"replayed, dropped, reordered records", test_replay},
        {"orderly close", test_close},
        {"no allocation in steady state", test_no_steady_allocation},
        {"idle sessions of short messages stay small", test_idle_small},
        CU_TEST_INFO_NULL,
    };
    return msgsec_test_main("msgpath", setup, teardown, tests);
}
