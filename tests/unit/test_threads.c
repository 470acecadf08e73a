/* test_threads.c - many sessions of one core used from several threads at
 * once: full handshakes (some pending), messages, close, free. */
#include <pthread.h>
#include <stdio.h>
#include <string.h>

#include "testutil.h"

#define SECRET "000102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f"
#define THREADS 8
#define ROUNDS 40
#define LIVE 4 /* pairs each thread keeps open at once */

static const char *policy =
    "[core]\nprovider_dir = @PROVIDER_DIR@\n"
    "[provider.testpsk]\nsecret = " SECRET "\nlookup_delay_ms = 3\n"
    "[provider.testpsk2]\nsecret = " SECRET "\n"
    "[service.slow-imp]\nuse = testpsk\n"
    "[service.slow-exp]\nuse = testpsk\nnegotiation = explicit\n"
    "[service.fast-imp]\nuse = testpsk2\n"
    "[service.fast-exp]\nuse = testpsk2, testpsk\nnegotiation = explicit\n"
    "[service.stream]\nuse = testpsk2\nframing = stream\n";

static const char *services[] = {"slow-imp", "slow-exp", "fast-imp",
                                 "fast-exp", "stream"};

static msgsec_core *core;

/* Failures found in threads, reported by the main thread (CUnit is not
 * thread-safe). */
static pthread_mutex_t fail_mu = PTHREAD_MUTEX_INITIALIZER;
static int failures;
static char first_failure[512];
static int handshakes, pendings;

static void failed(int id, const char *what, int rc)
{
    pthread_mutex_lock(&fail_mu);
    if (failures++ == 0)
        snprintf(first_failure, sizeof(first_failure), "thread %d: %s: %s",
                 id, what, msgsec_error_name(rc));
    pthread_mutex_unlock(&fail_mu);
}

typedef struct {
    msgsec_session *c, *s;
    int stream;
} live_pair;

static int open_pair(int id, int k, live_pair *p)
{
    const char *svc = services[k % 5];
    char ident[32];
    snprintf(ident, sizeof(ident), "ue-%d-%d", id, k);
    msgsec_session_config cfg = {.size = sizeof(cfg), .identity = ident};
    p->stream = k % 5 == 4;
    int rc = msgsec_session_new(core, svc, MSGSEC_ROLE_CLIENT, &cfg, &p->c);
    if (rc == 0)
        rc = msgsec_session_new(core, svc, MSGSEC_ROLE_SERVER, NULL, &p->s);
    if (rc != 0) {
        failed(id, "session_new", rc);
        return rc;
    }
    /* Note whether the server had to wait for its look-up. */
    uint8_t buf[4096];
    int was_pending = 0;
    for (int i = 0; i < 3; i++) {
        size_t n = msgsec_session_pull(p->c, buf, sizeof(buf));
        if (n && msgsec_session_feed(p->s, buf, n) == MSGSEC_PENDING)
            was_pending = 1;
        n = msgsec_session_pull(p->s, buf, sizeof(buf));
        if (n && msgsec_session_feed(p->c, buf, n) < 0)
            break;
        if (was_pending)
            break;
    }
    rc = msgsec_test_pump(p->c, p->s);
    if (rc != 0) {
        failed(id, "handshake", rc);
        return rc;
    }
    msgsec_peer peer;
    if (msgsec_session_peer(p->s, &peer) != 0 ||
        strcmp(peer.identity, ident) != 0) {
        failed(id, "peer identity", MSGSEC_ERR_INTERNAL);
        return -1;
    }
    pthread_mutex_lock(&fail_mu);
    handshakes++;
    pendings += was_pending;
    pthread_mutex_unlock(&fail_mu);
    return 0;
}

/* One message each way, contents tied to the thread and round. */
static int exchange(int id, int k, live_pair *p)
{
    uint8_t msg[20000], got[20000], wire[65536];
    size_t sz = 1 + (size_t)(id * 7919 + k * 104729) % sizeof(msg);
    for (size_t i = 0; i < sz; i++)
        msg[i] = (uint8_t)(i ^ (size_t)id ^ (size_t)k);
    msgsec_session *from = k % 2 ? p->c : p->s, *to = k % 2 ? p->s : p->c;
    int rc = msgsec_session_send(from, msg, sz);
    if (rc != 0) {
        failed(id, "send", rc);
        return rc;
    }
    size_t n;
    while ((n = msgsec_session_pull(from, wire, sizeof(wire))) > 0) {
        if ((rc = msgsec_session_feed(to, wire, n)) != 0) {
            failed(id, "feed", rc);
            return rc;
        }
    }
    size_t have = 0, len;
    while (have < sz) {
        rc = msgsec_session_recv(to, got + have, sizeof(got) - have, &len);
        if (rc != 0) {
            failed(id, "recv", rc);
            return rc;
        }
        have += len;
        if (!p->stream)
            break;
    }
    if (have != sz || memcmp(got, msg, sz) != 0) {
        failed(id, "message contents", MSGSEC_ERR_INTEGRITY);
        return -1;
    }
    return 0;
}

static void close_pair(live_pair *p)
{
    msgsec_session_close(p->c);
    msgsec_session_free(p->c);
    msgsec_session_free(p->s);
    p->c = p->s = NULL;
}

static void *worker(void *arg)
{
    int id = (int)(intptr_t)arg;
    live_pair live[LIVE];
    memset(live, 0, sizeof(live));
    for (int k = 0; k < ROUNDS; k++) {
        live_pair *p = &live[k % LIVE];
        if (p->c)
            close_pair(p);
        if (open_pair(id, k + id, p) != 0) {
            if (p->c || p->s)
                close_pair(p);
            msgsec_session_free(p->c);
            continue;
        }
        /* Talk on every open pair, interleaved. */
        for (int j = 0; j < LIVE; j++)
            if (live[j].c)
                exchange(id, k * LIVE + j, &live[j]);
        /* Now and then abandon a session while its look-up runs. */
        if (k % 7 == 3) {
            msgsec_session *c = NULL, *s = NULL;
            if (msgsec_session_new(core, "slow-imp", MSGSEC_ROLE_CLIENT, NULL,
                                   &c) == 0 &&
                msgsec_session_new(core, "slow-imp", MSGSEC_ROLE_SERVER, NULL,
                                   &s) == 0) {
                uint8_t buf[1024];
                size_t n = msgsec_session_pull(c, buf, sizeof(buf));
                int rc = msgsec_session_feed(s, buf, n);
                if (rc != MSGSEC_PENDING)
                    failed(id, "abandoned look-up", rc);
            }
            msgsec_session_free(s);
            msgsec_session_free(c);
        }
    }
    for (int j = 0; j < LIVE; j++)
        if (live[j].c)
            close_pair(&live[j]);
    return NULL;
}

static void test_concurrent(void)
{
    const char *path = msgsec_test_write_policy(policy);
    char detail[1024] = "";
    CU_ASSERT_EQUAL_FATAL(msgsec_core_new(path, NULL, 0, &core, detail,
                                          sizeof(detail)),
                          0);
    pthread_t t[THREADS];
    for (int i = 0; i < THREADS; i++)
        CU_ASSERT_EQUAL_FATAL(pthread_create(&t[i], NULL, worker,
                                             (void *)(intptr_t)i),
                              0);
    for (int i = 0; i < THREADS; i++)
        pthread_join(t[i], NULL);
    if (failures)
        fprintf(stderr, "%d failures; first: %s\n", failures, first_failure);
    CU_ASSERT_EQUAL(failures, 0);
    CU_ASSERT_EQUAL(handshakes, THREADS * ROUNDS);
    /* The slow services really went through look-ups. */
    CU_ASSERT(pendings >= THREADS * ROUNDS / 5);
    msgsec_core_free(core);
    core = NULL;
}

int main(void)
{
    CU_TestInfo tests[] = {
        {"8 threads, one core, sessions with look-ups", test_concurrent},
        CU_TEST_INFO_NULL,
    };
    return msgsec_test_main("threads", NULL, NULL, tests);
}
