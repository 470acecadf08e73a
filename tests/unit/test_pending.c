/* test_pending.c - asynchronous look-ups: PENDING, the core descriptor,
 * dispatch with and without a callback, wait, timeouts, freeing. */
#include <poll.h>
#include <string.h>
#include <time.h>

#include "testutil.h"

#define SECRET "000102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f"

static const char *policy =
    "[core]\nprovider_dir = @PROVIDER_DIR@\n"
    "[provider.testpsk]\nsecret = " SECRET "\nlookup_delay_ms = 40\n"
    "known_identities = test-client, ue-1\n"
    "[service.imp]\nuse = testpsk\n"
    "[service.exp]\nuse = testpsk\nnegotiation = explicit\n";

static msgsec_core *core;

static int setup(void)
{
    const char *path = msgsec_test_write_policy(policy);
    char detail[1024] = "";
    if (!path ||
        msgsec_core_new(path, NULL, 0, &core, detail, sizeof(detail)) != 0) {
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

static double now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return ts.tv_sec * 1e3 + ts.tv_nsec / 1e6;
}

static int xfer(msgsec_session *from, msgsec_session *to)
{
    uint8_t buf[8192];
    size_t n = msgsec_session_pull(from, buf, sizeof(buf));
    return n ? msgsec_session_feed(to, buf, n) : 0;
}

/* Runs a pair until the server reports PENDING. */
static void to_pending(const char *svc, const char *identity,
                       msgsec_session **c, msgsec_session **s)
{
    msgsec_session_config cfg = {.size = sizeof(cfg), .identity = identity};
    CU_ASSERT_EQUAL_FATAL(msgsec_session_new(core, svc, MSGSEC_ROLE_CLIENT,
                                             &cfg, c),
                          0);
    CU_ASSERT_EQUAL_FATAL(msgsec_session_new(core, svc, MSGSEC_ROLE_SERVER,
                                             NULL, s),
                          0);
    int rc = 0;
    for (int i = 0; i < 4 && rc != MSGSEC_PENDING; i++) {
        rc = xfer(*c, *s);
        if (rc != MSGSEC_PENDING)
            CU_ASSERT_EQUAL(xfer(*s, *c), 0);
    }
    CU_ASSERT_EQUAL(rc, MSGSEC_PENDING);
    CU_ASSERT_EQUAL(msgsec_session_state(*s), MSGSEC_STATE_PENDING);
}

static int wait_fd(int timeout_ms)
{
    struct pollfd p = {.fd = msgsec_core_fd(core), .events = POLLIN};
    return poll(&p, 1, timeout_ms);
}

static void finish(msgsec_session *c, msgsec_session *s)
{
    CU_ASSERT_EQUAL(msgsec_test_pump(c, s), 0);
    uint8_t buf[16];
    size_t len;
    CU_ASSERT_EQUAL(msgsec_session_send(s, "late key", 8), 0);
    CU_ASSERT_EQUAL(xfer(s, c), 0);
    CU_ASSERT_EQUAL(msgsec_session_recv(c, buf, sizeof(buf), &len), 0);
    CU_ASSERT_EQUAL(len, 8);
}

static void test_poll_dispatch(void)
{
    const char *svcs[] = {"imp", "exp"};
    CU_ASSERT(msgsec_core_fd(core) >= 0);
    for (int i = 0; i < 2; i++) {
        msgsec_session *c, *s;
        to_pending(svcs[i], NULL, &c, &s);
        /* Not yet complete: resume says so and changes nothing. */
        CU_ASSERT_EQUAL(msgsec_session_resume(s), MSGSEC_PENDING);
        CU_ASSERT_EQUAL(msgsec_session_pending_output(s), 0);
        CU_ASSERT_EQUAL_FATAL(wait_fd(5000), 1);
        CU_ASSERT_EQUAL(msgsec_core_dispatch(core, NULL, NULL), 1);
        CU_ASSERT_EQUAL(msgsec_session_state(s), MSGSEC_STATE_HANDSHAKING);
        CU_ASSERT(msgsec_session_pending_output(s) > 0);
        /* The descriptor was drained; nothing more to dispatch. */
        CU_ASSERT_EQUAL(wait_fd(0), 0);
        CU_ASSERT_EQUAL(msgsec_core_dispatch(core, NULL, NULL), 0);
        finish(c, s);
        msgsec_session_free(c);
        msgsec_session_free(s);
    }
}

typedef struct {
    msgsec_session *seen[64];
    int n;
} ready_log;

static void on_ready(void *ud, msgsec_session *s)
{
    ready_log *log = ud;
    if (log->n < 64)
        log->seen[log->n++] = s;
    /* The owner resumes when it likes; here at once. */
    CU_ASSERT_EQUAL(msgsec_session_resume(s), 0);
}

static void test_dispatch_callback(void)
{
    enum { N = 20 };
    msgsec_session *c[N], *s[N];
    for (int i = 0; i < N; i++)
        to_pending(i % 2 ? "exp" : "imp", NULL, &c[i], &s[i]);
    ready_log log = {.n = 0};
    double t0 = now_ms();
    while (log.n < N && now_ms() - t0 < 5000) {
        if (wait_fd(1000) == 1)
            CU_ASSERT(msgsec_core_dispatch(core, on_ready, &log) >= 0);
    }
    CU_ASSERT_EQUAL(log.n, N);
    /* Each session exactly once. */
    for (int i = 0; i < N; i++) {
        int k = 0;
        for (int j = 0; j < log.n; j++)
            k += log.seen[j] == s[i];
        CU_ASSERT_EQUAL(k, 1);
    }
    for (int i = 0; i < N; i++) {
        finish(c[i], s[i]);
        msgsec_session_free(c[i]);
        msgsec_session_free(s[i]);
    }
}

static void test_wait(void)
{
    msgsec_session *c, *s;
    to_pending("exp", "ue-1", &c, &s);
    /* Too short a wait: still pending, nothing lost. */
    CU_ASSERT_EQUAL(msgsec_session_wait(s, 1), MSGSEC_ERR_TIMEOUT);
    CU_ASSERT_EQUAL(msgsec_session_state(s), MSGSEC_STATE_PENDING);
    CU_ASSERT_PTR_NOT_NULL(strstr(msgsec_session_detail(s), "pending"));
    CU_ASSERT_EQUAL(msgsec_session_wait(s, 5000), 0);
    CU_ASSERT_EQUAL(msgsec_session_state(s), MSGSEC_STATE_HANDSHAKING);
    finish(c, s);
    msgsec_peer peer;
    CU_ASSERT_EQUAL(msgsec_session_peer(s, &peer), 0);
    CU_ASSERT_STRING_EQUAL(peer.identity, "ue-1");
    msgsec_session_free(c);
    msgsec_session_free(s);

    /* Wait forever, too. */
    to_pending("imp", NULL, &c, &s);
    CU_ASSERT_EQUAL(msgsec_session_wait(s, -1), 0);
    finish(c, s);
    msgsec_session_free(c);
    msgsec_session_free(s);
    /* wait() consumed the wake: dispatch finds nothing. */
    wait_fd(0);
    CU_ASSERT_EQUAL(msgsec_core_dispatch(core, NULL, NULL), 0);
}

/* The look-up's verdict arrives asynchronously, failures included. */
static void test_pending_failure(void)
{
    msgsec_session *c, *s;
    to_pending("exp", "stranger", &c, &s);
    CU_ASSERT_EQUAL(msgsec_session_wait(s, 5000), MSGSEC_ERR_AUTH_FAILED);
    CU_ASSERT_EQUAL(msgsec_session_state(s), MSGSEC_STATE_FAILED);
    CU_ASSERT_PTR_NOT_NULL(strstr(msgsec_session_detail(s), "stranger"));
    CU_ASSERT_EQUAL(xfer(s, c), MSGSEC_ERR_PEER_REJECTED);
    msgsec_session_free(c);
    msgsec_session_free(s);
}

/* Input arriving during the look-up is kept and handled afterwards. */
static void test_input_while_pending(void)
{
    msgsec_session *c, *s;
    to_pending("exp", NULL, &c, &s);
    CU_ASSERT_EQUAL(msgsec_session_feed(s, "MSGX", 4), MSGSEC_PENDING);
    CU_ASSERT_EQUAL(msgsec_session_state(s), MSGSEC_STATE_PENDING);
    /* Only after the look-up does the server see the bad frame. */
    CU_ASSERT_EQUAL(msgsec_session_wait(s, 5000), MSGSEC_ERR_BAD_FRAME);
    msgsec_session_free(c);
    msgsec_session_free(s);
}

/* Freeing a pending session cancels its look-up, before or after the
 * wake; the core then holds no reference to it. */
static void test_free_pending(void)
{
    msgsec_session *c, *s;
    to_pending("imp", NULL, &c, &s);
    double t0 = now_ms();
    msgsec_session_free(s);
    CU_ASSERT(now_ms() - t0 < 30); /* cancelled, not waited out */
    msgsec_session_free(c);

    /* Woken, not yet dispatched. */
    to_pending("exp", NULL, &c, &s);
    CU_ASSERT_EQUAL_FATAL(wait_fd(5000), 1);
    msgsec_session_free(s);
    msgsec_session_free(c);
    CU_ASSERT_EQUAL(msgsec_core_dispatch(core, NULL, NULL), 0);
}

int main(void)
{
    CU_TestInfo tests[] = {
        {"poll the descriptor, dispatch", test_poll_dispatch},
        {"dispatch with a callback", test_dispatch_callback},
        {"wait, with timeout", test_wait},
        {"look-up fails asynchronously", test_pending_failure},
        {"input while pending", test_input_while_pending},
        {"free while pending", test_free_pending},
        CU_TEST_INFO_NULL,
    };
    return msgsec_test_main("pending", setup, teardown, tests);
}
