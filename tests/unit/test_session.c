/* test_session.c - session lifecycle, states, peer, detail, bad arguments,
 * freeing in every state, unknown services, the test provider's config. */
#include <pthread.h>
#include <string.h>

#include "testutil.h"

#define SECRET "000102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f"
#define SECRET_B "ff0102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f"

#define BASE "[core]\nprovider_dir = @PROVIDER_DIR@\n"
#define SERVICES                                                               \
    "[service.imp]\nuse = testpsk\nnegotiation = implicit\n"                   \
    "[service.exp]\nuse = testpsk\nnegotiation = explicit\n"

static const char *policy_std =
    BASE "[provider.testpsk]\nsecret = " SECRET "\n" SERVICES;

/* Log capture for the hooks tests. */
static pthread_mutex_t log_mu = PTHREAD_MUTEX_INITIALIZER;
static char logbuf[8192];
static int warnings;

static void capture_log(void *ud, int level, const char *line)
{
    (void)ud;
    pthread_mutex_lock(&log_mu);
    if (level == MSGSEC_LOG_WARNING)
        warnings++;
    strncat(logbuf, line, sizeof(logbuf) - strlen(logbuf) - 2);
    strcat(logbuf, "\n");
    pthread_mutex_unlock(&log_mu);
}

static msgsec_core *core_hooked(const char *text)
{
    const char *path = msgsec_test_write_policy(text);
    CU_ASSERT_PTR_NOT_NULL_FATAL(path);
    msgsec_hooks hooks = {.size = sizeof(hooks),
                          .log = capture_log,
                          .log_level = MSGSEC_LOG_DEBUG};
    msgsec_core *core = NULL;
    char detail[1024] = "";
    int rc = msgsec_core_new(path, &hooks, 0, &core, detail, sizeof(detail));
    CU_ASSERT_EQUAL(rc, 0);
    return core;
}

static msgsec_session *mk(msgsec_core *core, const char *svc, int role,
                          const msgsec_session_config *cfg)
{
    msgsec_session *s = NULL;
    int rc = msgsec_session_new(core, svc, role, cfg, &s);
    CU_ASSERT_EQUAL(rc, 0);
    if (rc != 0)
        fprintf(stderr, "session_new: %s: %s\n", msgsec_error_name(rc),
                msgsec_last_detail());
    return s;
}

static void lifecycle(const char *svc)
{
    msgsec_core *core = msgsec_test_core(policy_std);
    CU_ASSERT_PTR_NOT_NULL_FATAL(core);
    int tag_c = 1, tag_s = 2;
    msgsec_session_config cc = {.size = sizeof(cc), .user_data = &tag_c,
                                .peer_name = "msgin5g.example.org",
                                .identity = "ue-0001"};
    msgsec_session_config sc = {.size = sizeof(sc), .user_data = &tag_s};
    msgsec_session *c = mk(core, svc, MSGSEC_ROLE_CLIENT, &cc);
    msgsec_session *s = mk(core, svc, MSGSEC_ROLE_SERVER, &sc);
    CU_ASSERT_PTR_NOT_NULL_FATAL(c);
    CU_ASSERT_PTR_NOT_NULL_FATAL(s);

    /* Fresh sessions. */
    CU_ASSERT_EQUAL(msgsec_session_state(c), MSGSEC_STATE_HANDSHAKING);
    CU_ASSERT_EQUAL(msgsec_session_state(s), MSGSEC_STATE_HANDSHAKING);
    CU_ASSERT(msgsec_session_pending_output(c) > 0);
    CU_ASSERT_EQUAL(msgsec_session_pending_output(s), 0);
    CU_ASSERT_PTR_NULL(msgsec_session_provider(s));
    CU_ASSERT_STRING_EQUAL(msgsec_session_detail(c), "");
    CU_ASSERT_PTR_EQUAL(msgsec_session_user_data(c), &tag_c);
    CU_ASSERT_PTR_EQUAL(msgsec_session_user_data(s), &tag_s);

    /* Nothing of the message path before the handshake. */
    msgsec_peer peer;
    uint8_t buf[64];
    size_t n = 99;
    CU_ASSERT_EQUAL(msgsec_session_peer(c, &peer), MSGSEC_ERR_STATE);
    CU_ASSERT_EQUAL(msgsec_session_send(c, "x", 1), MSGSEC_ERR_STATE);
    CU_ASSERT_EQUAL(msgsec_session_recv(s, buf, sizeof(buf), &n),
                    MSGSEC_CONTINUE);
    CU_ASSERT_EQUAL(n, 0);
    CU_ASSERT_EQUAL(msgsec_session_export_key(c, "EXPORTER-test", NULL, 0,
                                              buf, 32),
                    MSGSEC_ERR_STATE);

    CU_ASSERT_EQUAL_FATAL(msgsec_test_pump(c, s), 0);
    CU_ASSERT_EQUAL(msgsec_session_state(c), MSGSEC_STATE_ESTABLISHED);
    CU_ASSERT_EQUAL(msgsec_session_state(s), MSGSEC_STATE_ESTABLISHED);
    CU_ASSERT_STRING_EQUAL(msgsec_session_provider(c), "testpsk");
    CU_ASSERT_STRING_EQUAL(msgsec_session_provider(s), "testpsk");

    /* The server authenticated the client's identity, the client the
     * server it targeted. */
    CU_ASSERT_EQUAL(msgsec_session_peer(s, &peer), 0);
    CU_ASSERT_STRING_EQUAL(peer.scheme, "testpsk");
    CU_ASSERT_STRING_EQUAL(peer.identity, "ue-0001");
    CU_ASSERT_PTR_NULL(peer.supi);
    CU_ASSERT_PTR_NULL(peer.gpsi);
    CU_ASSERT_EQUAL(peer.key_expiry, 0);
    CU_ASSERT(peer.caps & MSGSEC_CAP_MUTUAL_AUTH);
    CU_ASSERT(peer.caps & MSGSEC_CAP_CONFIDENTIALITY);
    CU_ASSERT_FALSE(peer.caps & MSGSEC_CAP_INSECURE);
    CU_ASSERT_EQUAL(msgsec_session_peer(c, &peer), 0);
    CU_ASSERT_STRING_EQUAL(peer.identity, "msgin5g.example.org");

    /* Both sides export the same keys; labels and contexts separate them. */
    uint8_t kc[32], ks[32], kx[32];
    CU_ASSERT_EQUAL(msgsec_session_export_key(c, "EXPORTER-app", "ctx", 3, kc,
                                              32), 0);
    CU_ASSERT_EQUAL(msgsec_session_export_key(s, "EXPORTER-app", "ctx", 3, ks,
                                              32), 0);
    CU_ASSERT_EQUAL(memcmp(kc, ks, 32), 0);
    CU_ASSERT_EQUAL(msgsec_session_export_key(s, "EXPORTER-app", "ctY", 3, kx,
                                              32), 0);
    CU_ASSERT_NOT_EQUAL(memcmp(kc, kx, 32), 0);
    CU_ASSERT_EQUAL(msgsec_session_export_key(s, "EXPORTER-other", NULL, 0, kx,
                                              32), 0);
    CU_ASSERT_NOT_EQUAL(memcmp(kc, kx, 32), 0);
    /* The negotiation's own label is not for applications. */
    CU_ASSERT_EQUAL(msgsec_session_export_key(s, "EXPORTER-msgsec-negotiation",
                                              NULL, 0, kx, 32),
                    MSGSEC_ERR_INVALID_ARG);

    /* One message each way. */
    CU_ASSERT_EQUAL(msgsec_session_send(c, "hello", 5), 0);
    CU_ASSERT(msgsec_test_pump(c, s) == 0);
    CU_ASSERT_EQUAL(msgsec_session_recv(s, buf, sizeof(buf), &n), 0);
    CU_ASSERT_EQUAL(n, 5);
    CU_ASSERT_EQUAL(memcmp(buf, "hello", 5), 0);
    CU_ASSERT_EQUAL(msgsec_session_recv(s, buf, sizeof(buf), &n),
                    MSGSEC_CONTINUE);

    /* Orderly close reaches the peer. */
    CU_ASSERT_EQUAL(msgsec_session_close(c), 0);
    CU_ASSERT_EQUAL(msgsec_session_state(c), MSGSEC_STATE_CLOSED);
    CU_ASSERT_EQUAL(msgsec_session_close(c), 0);
    CU_ASSERT_EQUAL(msgsec_session_send(c, "x", 1), MSGSEC_ERR_CLOSED);
    uint8_t wire[256];
    size_t w = msgsec_session_pull(c, wire, sizeof(wire));
    CU_ASSERT(w > 0);
    CU_ASSERT_EQUAL(msgsec_session_feed(s, wire, w), 0);
    CU_ASSERT_EQUAL(msgsec_session_state(s), MSGSEC_STATE_CLOSED);
    CU_ASSERT_EQUAL(msgsec_session_recv(s, buf, sizeof(buf), &n),
                    MSGSEC_ERR_CLOSED);
    /* The peer is still known after close. */
    CU_ASSERT_EQUAL(msgsec_session_peer(s, &peer), 0);

    msgsec_session_free(c);
    msgsec_session_free(s);
    msgsec_core_free(core);
}

static void test_lifecycle_implicit(void)
{
    lifecycle("imp");
}

static void test_lifecycle_explicit(void)
{
    lifecycle("exp");
}

static void test_bad_arguments(void)
{
    msgsec_core *core = msgsec_test_core(policy_std);
    CU_ASSERT_PTR_NOT_NULL_FATAL(core);
    msgsec_session *s = (msgsec_session *)&s; /* must be reset to NULL */
    CU_ASSERT_EQUAL(msgsec_session_new(NULL, "imp", 0, NULL, &s),
                    MSGSEC_ERR_INVALID_ARG);
    CU_ASSERT_PTR_NULL(s);
    CU_ASSERT_EQUAL(msgsec_session_new(core, NULL, 0, NULL, &s),
                    MSGSEC_ERR_INVALID_ARG);
    CU_ASSERT_EQUAL(msgsec_session_new(core, "imp", 0, NULL, NULL),
                    MSGSEC_ERR_INVALID_ARG);
    CU_ASSERT_EQUAL(msgsec_session_new(core, "imp", 7, NULL, &s),
                    MSGSEC_ERR_INVALID_ARG);
    msgsec_session_config cfg = {.size = sizeof(cfg), .framing = 9};
    CU_ASSERT_EQUAL(msgsec_session_new(core, "imp", 0, &cfg, &s),
                    MSGSEC_ERR_INVALID_ARG);
    cfg.framing = 0;
    cfg.size = 0;
    CU_ASSERT_EQUAL(msgsec_session_new(core, "imp", 0, &cfg, &s),
                    MSGSEC_ERR_INVALID_ARG);
    CU_ASSERT_PTR_NULL(s);

    /* An older caller's smaller config: fields past its size are ignored. */
    struct {
        size_t size;
        int framing;
    } old = {sizeof(old), MSGSEC_FRAMING_STREAM};
    CU_ASSERT_EQUAL(msgsec_session_new(core, "imp", 0,
                                       (const msgsec_session_config *)&old,
                                       &s),
                    0);
    CU_ASSERT_PTR_NULL(msgsec_session_user_data(s));

    uint8_t buf[8];
    size_t n;
    CU_ASSERT_EQUAL(msgsec_session_feed(NULL, buf, 1), MSGSEC_ERR_INVALID_ARG);
    CU_ASSERT_EQUAL(msgsec_session_feed(s, NULL, 1), MSGSEC_ERR_INVALID_ARG);
    CU_ASSERT_EQUAL(msgsec_session_feed(s, NULL, 0), 0);
    CU_ASSERT_EQUAL(msgsec_session_pull(NULL, buf, sizeof(buf)), 0);
    CU_ASSERT_EQUAL(msgsec_session_pull(s, NULL, 8), 0);
    CU_ASSERT_EQUAL(msgsec_session_pending_output(NULL), 0);
    CU_ASSERT_EQUAL(msgsec_session_state(NULL), MSGSEC_ERR_INVALID_ARG);
    CU_ASSERT_EQUAL(msgsec_session_send(NULL, "x", 1), MSGSEC_ERR_INVALID_ARG);
    CU_ASSERT_EQUAL(msgsec_session_send(s, NULL, 1), MSGSEC_ERR_INVALID_ARG);
    CU_ASSERT_EQUAL(msgsec_session_recv(NULL, buf, 8, &n),
                    MSGSEC_ERR_INVALID_ARG);
    CU_ASSERT_EQUAL(msgsec_session_recv(s, buf, 8, NULL),
                    MSGSEC_ERR_INVALID_ARG);
    CU_ASSERT_EQUAL(msgsec_session_close(NULL), MSGSEC_ERR_INVALID_ARG);
    msgsec_peer peer;
    CU_ASSERT_EQUAL(msgsec_session_peer(NULL, &peer), MSGSEC_ERR_INVALID_ARG);
    CU_ASSERT_EQUAL(msgsec_session_peer(s, NULL), MSGSEC_ERR_INVALID_ARG);
    CU_ASSERT_PTR_NULL(msgsec_session_provider(NULL));
    CU_ASSERT_STRING_EQUAL(msgsec_session_detail(NULL), "");
    CU_ASSERT_PTR_NULL(msgsec_session_user_data(NULL));
    CU_ASSERT_EQUAL(msgsec_session_export_key(s, NULL, NULL, 0, buf, 8),
                    MSGSEC_ERR_INVALID_ARG);
    CU_ASSERT_EQUAL(msgsec_session_export_key(s, "l", NULL, 3, buf, 8),
                    MSGSEC_ERR_INVALID_ARG);
    CU_ASSERT_EQUAL(msgsec_session_export_key(NULL, "l", NULL, 0, buf, 8),
                    MSGSEC_ERR_INVALID_ARG);
    CU_ASSERT_EQUAL(msgsec_session_resume(NULL), MSGSEC_ERR_INVALID_ARG);
    CU_ASSERT_EQUAL(msgsec_session_wait(NULL, 0), MSGSEC_ERR_INVALID_ARG);
    /* Not pending: nothing to resume or wait for. */
    CU_ASSERT_EQUAL(msgsec_session_resume(s), MSGSEC_ERR_STATE);
    CU_ASSERT_EQUAL(msgsec_session_wait(s, 0), MSGSEC_ERR_STATE);
    CU_ASSERT_EQUAL(msgsec_core_fd(NULL), MSGSEC_ERR_INVALID_ARG);
    CU_ASSERT_EQUAL(msgsec_core_dispatch(NULL, NULL, NULL),
                    MSGSEC_ERR_INVALID_ARG);
    /* None of it hurt the session. */
    CU_ASSERT_EQUAL(msgsec_session_state(s), MSGSEC_STATE_HANDSHAKING);
    msgsec_session_free(s);
    msgsec_session_free(NULL);
    msgsec_core_free(core);
}

static void test_unknown_service(void)
{
    msgsec_core *core = msgsec_test_core(policy_std);
    CU_ASSERT_PTR_NOT_NULL_FATAL(core);
    msgsec_session *s = NULL;
    CU_ASSERT_EQUAL(msgsec_session_new(core, "nope", MSGSEC_ROLE_CLIENT, NULL,
                                       &s),
                    MSGSEC_ERR_POLICY_UNKNOWN_SERVICE);
    CU_ASSERT_PTR_NULL(s);
    CU_ASSERT_PTR_NOT_NULL(strstr(msgsec_last_detail(), "nope"));
    msgsec_core_free(core);
}

static void test_inspect_core_refuses(void)
{
    const char *path = msgsec_test_write_policy(
        BASE "[provider.testpsk]\nsecret = " SECRET "\n"
             "[provider.missing]\nsupport = mandatory\n" SERVICES);
    msgsec_core *core = NULL;
    CU_ASSERT_EQUAL_FATAL(msgsec_core_new(path, NULL, MSGSEC_CORE_INSPECT,
                                          &core, NULL, 0),
                          0);
    msgsec_session *s = NULL;
    CU_ASSERT_EQUAL(msgsec_session_new(core, "imp", MSGSEC_ROLE_CLIENT, NULL,
                                       &s),
                    MSGSEC_ERR_PROVIDER_MANDATORY);
    CU_ASSERT_PTR_NULL(s);
    CU_ASSERT_PTR_NOT_NULL(strstr(msgsec_last_detail(), "missing"));
    msgsec_core_free(core);
}

/* A session freed in each state leaks nothing (LeakSanitizer checks). */
static void test_free_every_state(void)
{
    msgsec_core *core = msgsec_test_core(
        BASE "[provider.testpsk]\nsecret = " SECRET "\nlookup_delay_ms = 200\n"
             SERVICES);
    CU_ASSERT_PTR_NOT_NULL_FATAL(core);
    uint8_t wire[4096];
    size_t n;
    for (int expl = 0; expl < 2; expl++) {
        const char *svc = expl ? "exp" : "imp";
        /* HANDSHAKING, both roles, untouched. */
        msgsec_session *c = mk(core, svc, MSGSEC_ROLE_CLIENT, NULL);
        msgsec_session *s = mk(core, svc, MSGSEC_ROLE_SERVER, NULL);
        msgsec_session_free(c);
        msgsec_session_free(s);

        /* Mid-handshake and PENDING (the look-up thread is cancelled). */
        c = mk(core, svc, MSGSEC_ROLE_CLIENT, NULL);
        s = mk(core, svc, MSGSEC_ROLE_SERVER, NULL);
        int rc = 0;
        for (int i = 0; i < 4 && rc != MSGSEC_PENDING; i++) {
            n = msgsec_session_pull(c, wire, sizeof(wire));
            rc = msgsec_session_feed(s, wire, n);
            n = msgsec_session_pull(s, wire, sizeof(wire));
            if (n)
                CU_ASSERT(msgsec_session_feed(c, wire, n) >= 0);
        }
        CU_ASSERT_EQUAL(rc, MSGSEC_PENDING);
        CU_ASSERT_EQUAL(msgsec_session_state(s), MSGSEC_STATE_PENDING);
        CU_ASSERT_EQUAL(msgsec_session_resume(s), MSGSEC_PENDING);
        msgsec_session_free(s);
        msgsec_session_free(c);

        /* ESTABLISHED with unread data and unpulled output. */
        c = mk(core, svc, MSGSEC_ROLE_CLIENT, NULL);
        s = mk(core, svc, MSGSEC_ROLE_SERVER, NULL);
        CU_ASSERT_EQUAL_FATAL(msgsec_test_pump(c, s), 0);
        CU_ASSERT_EQUAL(msgsec_session_send(c, "data", 4), 0);
        n = msgsec_session_pull(c, wire, sizeof(wire));
        CU_ASSERT_EQUAL(msgsec_session_feed(s, wire, n), 0);
        CU_ASSERT_EQUAL(msgsec_session_send(s, "unpulled", 8), 0);
        msgsec_session_free(s);

        /* CLOSED. */
        CU_ASSERT_EQUAL(msgsec_session_close(c), 0);
        msgsec_session_free(c);

        /* FAILED. */
        s = mk(core, svc, MSGSEC_ROLE_SERVER, NULL);
        CU_ASSERT(msgsec_session_feed(s, "garbage!", 8) < 0);
        CU_ASSERT_EQUAL(msgsec_session_state(s), MSGSEC_STATE_FAILED);
        CU_ASSERT_EQUAL(msgsec_session_feed(s, "x", 1), MSGSEC_ERR_STATE);
        CU_ASSERT_EQUAL(msgsec_session_close(s), MSGSEC_ERR_STATE);
        CU_ASSERT_NOT_EQUAL(msgsec_session_detail(s)[0], '\0');
        msgsec_session_free(s);
    }
    msgsec_core_free(core);
}

/* A client closing mid-handshake tells an explicit server why. */
static void test_close_handshaking(void)
{
    msgsec_core *core = msgsec_test_core(policy_std);
    CU_ASSERT_PTR_NOT_NULL_FATAL(core);
    msgsec_session *c = mk(core, "exp", MSGSEC_ROLE_CLIENT, NULL);
    msgsec_session *s = mk(core, "exp", MSGSEC_ROLE_SERVER, NULL);
    uint8_t wire[4096];
    size_t n = msgsec_session_pull(c, wire, sizeof(wire));
    CU_ASSERT_EQUAL(msgsec_session_feed(s, wire, n), 0);
    CU_ASSERT_EQUAL(msgsec_session_close(c), 0);
    CU_ASSERT_EQUAL(msgsec_session_state(c), MSGSEC_STATE_CLOSED);
    n = msgsec_session_pull(c, wire, sizeof(wire));
    CU_ASSERT(n > 0);
    CU_ASSERT_EQUAL(msgsec_session_feed(s, wire, n), MSGSEC_ERR_PEER_REJECTED);
    CU_ASSERT_PTR_NOT_NULL(strstr(msgsec_session_detail(s), "MSGSEC_ERR_CLOSED"));
    CU_ASSERT_EQUAL(msgsec_session_feed(c, "x", 1), MSGSEC_ERR_CLOSED);
    msgsec_session_free(c);
    msgsec_session_free(s);
    msgsec_core_free(core);
}

/* Different secrets: the client notices first, with a detail naming the
 * provider and no key material. */
static void test_wrong_secret(void)
{
    msgsec_core *cc = msgsec_test_core(policy_std);
    msgsec_core *sc = msgsec_test_core(
        BASE "[provider.testpsk]\nsecret = " SECRET_B "\n" SERVICES);
    CU_ASSERT_PTR_NOT_NULL_FATAL(cc);
    CU_ASSERT_PTR_NOT_NULL_FATAL(sc);
    for (int expl = 0; expl < 2; expl++) {
        const char *svc = expl ? "exp" : "imp";
        msgsec_session *c = mk(cc, svc, MSGSEC_ROLE_CLIENT, NULL);
        msgsec_session *s = mk(sc, svc, MSGSEC_ROLE_SERVER, NULL);
        CU_ASSERT_EQUAL(msgsec_test_pump(c, s), MSGSEC_ERR_AUTH_FAILED);
        CU_ASSERT_EQUAL(msgsec_session_state(c), MSGSEC_STATE_FAILED);
        const char *d = msgsec_session_detail(c);
        CU_ASSERT_PTR_NOT_NULL(strstr(d, "provider testpsk"));
        CU_ASSERT_PTR_NOT_NULL(strstr(d, "secret"));
        CU_ASSERT_PTR_NULL(strstr(d, "0001020304"));
        if (expl) {
            /* The explicit server hears of it through an ERROR frame. */
            uint8_t wire[512];
            size_t n = msgsec_session_pull(c, wire, sizeof(wire));
            CU_ASSERT(n > 0);
            CU_ASSERT_EQUAL(msgsec_session_feed(s, wire, n),
                            MSGSEC_ERR_PEER_REJECTED);
            CU_ASSERT_PTR_NOT_NULL(strstr(msgsec_session_detail(s),
                                          "MSGSEC_ERR_AUTH_FAILED"));
        }
        msgsec_session_free(c);
        msgsec_session_free(s);
    }
    msgsec_core_free(cc);
    msgsec_core_free(sc);
}

static void test_known_identities(void)
{
    msgsec_core *core = msgsec_test_core(
        BASE "[provider.testpsk]\nsecret = " SECRET "\n"
             "known_identities = alice, bob\n" SERVICES);
    CU_ASSERT_PTR_NOT_NULL_FATAL(core);
    const char *ids[] = {"alice", "bob", "mallory", "ali"};
    for (int i = 0; i < 4; i++) {
        msgsec_session_config cfg = {.size = sizeof(cfg), .identity = ids[i]};
        msgsec_session *c = mk(core, "imp", MSGSEC_ROLE_CLIENT, &cfg);
        msgsec_session *s = mk(core, "imp", MSGSEC_ROLE_SERVER, NULL);
        int rc = msgsec_test_pump(c, s);
        if (i < 2) {
            CU_ASSERT_EQUAL(rc, 0);
        } else {
            CU_ASSERT_EQUAL(rc, MSGSEC_ERR_AUTH_FAILED);
            CU_ASSERT_EQUAL(msgsec_session_state(s), MSGSEC_STATE_FAILED);
            CU_ASSERT_PTR_NOT_NULL(strstr(msgsec_session_detail(s),
                                          ids[i]));
        }
        msgsec_session_free(c);
        msgsec_session_free(s);
    }
    msgsec_core_free(core);
}

/* The test provider checks its own configuration. */
static void test_testpsk_config(void)
{
    static const struct {
        const char *keys;
        const char *expect;
    } cases[] = {
        {"", "secret missing"},
        {"secret = 0011\n", "64 hex"},
        {"secret = 0001020304050607080g0a0b0c0d0e0f101112131415161718191a1b1c1d1e1f\n",
         "hex digit"},
        {"secret = " SECRET "\nlookup_delay_ms = soon\n", "lookup_delay_ms"},
        {"secret = " SECRET "\nlookup_delay_ms = -5\n", "lookup_delay_ms"},
        {"secret = " SECRET "\nidentity = two words\n", "identity"},
    };
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        char text[1024];
        snprintf(text, sizeof(text),
                 BASE "[provider.testpsk]\nsupport = mandatory\n%s"
                      "[service.imp]\nuse = testpsk\n",
                 cases[i].keys);
        const char *path = msgsec_test_write_policy(text);
        msgsec_core *core = NULL;
        char detail[1024] = "";
        int rc = msgsec_core_new(path, NULL, 0, &core, detail, sizeof(detail));
        CU_ASSERT_EQUAL(rc, MSGSEC_ERR_PROVIDER_MANDATORY);
        CU_ASSERT_PTR_NULL(core);
        CU_ASSERT_PTR_NOT_NULL(strstr(detail, cases[i].expect));
        /* The detail names the policy file. */
        CU_ASSERT_PTR_NOT_NULL(strstr(detail, path));
        if (!strstr(detail, cases[i].expect))
            fprintf(stderr, "case %zu: %s\n", i, detail);
    }
}

/* null is refused unless allowed; allowed, every session logs a warning. */
static void test_insecure_logged(void)
{
    msgsec_core *core = core_hooked(
        BASE "allow_insecure = yes\n"
             "[service.lab]\nuse = null\nnegotiation = explicit\n");
    CU_ASSERT_PTR_NOT_NULL_FATAL(core);
    for (int i = 0; i < 3; i++) {
        pthread_mutex_lock(&log_mu);
        logbuf[0] = '\0';
        warnings = 0;
        pthread_mutex_unlock(&log_mu);
        msgsec_session_config cfg = {.size = sizeof(cfg), .identity = "lab-ue"};
        msgsec_session *c = mk(core, "lab", MSGSEC_ROLE_CLIENT, &cfg);
        msgsec_session *s = mk(core, "lab", MSGSEC_ROLE_SERVER, NULL);
        CU_ASSERT_EQUAL_FATAL(msgsec_test_pump(c, s), 0);
        msgsec_peer peer;
        CU_ASSERT_EQUAL(msgsec_session_peer(s, &peer), 0);
        CU_ASSERT_STRING_EQUAL(peer.scheme, "null");
        CU_ASSERT_STRING_EQUAL(peer.identity, "lab-ue");
        CU_ASSERT(peer.caps & MSGSEC_CAP_INSECURE);
        uint8_t k[16];
        CU_ASSERT_EQUAL(msgsec_session_export_key(s, "EXPORTER-x", NULL, 0, k,
                                                  16),
                        MSGSEC_ERR_UNSUPPORTED);
        /* Messages still flow, in clear, and close travels in the framing. */
        uint8_t buf[16];
        size_t n;
        CU_ASSERT_EQUAL(msgsec_session_send(s, "clear", 5), 0);
        CU_ASSERT_EQUAL(msgsec_session_close(s), 0);
        CU_ASSERT_EQUAL(msgsec_test_pump(c, s), MSGSEC_ERR_STATE);
        CU_ASSERT_EQUAL(msgsec_session_recv(c, buf, sizeof(buf), &n), 0);
        CU_ASSERT_EQUAL(n, 5);
        CU_ASSERT_EQUAL(msgsec_session_state(c), MSGSEC_STATE_CLOSED);
        CU_ASSERT_EQUAL(msgsec_session_recv(c, buf, sizeof(buf), &n),
                        MSGSEC_ERR_CLOSED);
        pthread_mutex_lock(&log_mu);
        /* One warning per side, naming service and provider. */
        CU_ASSERT_EQUAL(warnings, 2);
        CU_ASSERT_PTR_NOT_NULL(strstr(logbuf, "service lab"));
        CU_ASSERT_PTR_NOT_NULL(strstr(logbuf, "INSECURE provider null"));
        pthread_mutex_unlock(&log_mu);
        msgsec_session_free(c);
        msgsec_session_free(s);
    }
    msgsec_core_free(core);
}

int main(void)
{
    CU_TestInfo tests[] = {
        {"lifecycle, implicit", test_lifecycle_implicit},
        {"lifecycle, explicit", test_lifecycle_explicit},
        {"bad arguments", test_bad_arguments},
        {"unknown service", test_unknown_service},
        {"incomplete core refuses sessions", test_inspect_core_refuses},
        {"free in every state", test_free_every_state},
        {"close while handshaking", test_close_handshaking},
        {"wrong secret", test_wrong_secret},
        {"known identities", test_known_identities},
        {"testpsk configuration errors", test_testpsk_config},
        {"insecure provider logged", test_insecure_logged},
        CU_TEST_INFO_NULL,
    };
    return msgsec_test_main("session", NULL, NULL, tests);
}
