/* test_authz.c - SEAL authorization (msgsec_authz_*, provider ABI 1.2
 * authorize) through the test provider testpsk, whose authz_map stands for
 * SEAL configuration management: a match, a mismatch, the subject's
 * precedence (GPSI, SUPI, identity), a source that is down, pending checks
 * completed through the core descriptor and dispatch or through wait,
 * freeing while pending, services without authorize, sessions not yet
 * established, bad arguments, and `authorize` naming a provider that
 * cannot answer. */
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "testutil.h"

#define SECRET "000102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f"
#define SECRET2 "1f1e1d1c1b1a191817161514131211100f0e0d0c0b0a09080706050403020100"

/* testpsk answers at once, testpsk2 from a thread after 30 ms. */
static const char *policy =
    "[core]\nprovider_dir = @PROVIDER_DIR@\n"                      /* 1-2 */
    "[provider.testpsk]\nsecret = " SECRET "\n"                    /* 3-4 */
    "authz_map = \"alice=ue1|ue2;imsi-001010000000001=ue4;"
    "msisdn-15551230000=ue3\"\n"                                 /* 5 */
    "[provider.testpsk2]\nsecret = " SECRET2 "\n"                  /* 6-7 */
    "authz_delay_ms = 30\nauthz_map = alice=ue1\n"                 /* 8-9 */
    "[service.s]\nuse = testpsk\nauthorize = testpsk\n"            /* 10-12 */
    "[service.slow]\nuse = testpsk\nauthorize = testpsk2\n"        /* 13-15 */
    "[service.open]\nuse = testpsk\n";                             /* 16-17 */

static msgsec_core *core;

static const msgsec_peer alice = {.scheme = "testpsk", .identity = "alice"};

static int check(const char *svc, const msgsec_peer *peer, const char *ue,
                 const msgsec_authz_config *cfg, msgsec_authz **a)
{
    return msgsec_authz_new(core, svc, peer, ue, cfg, a);
}

static int has(const char *text, const char *part)
{
    if (strstr(text, part))
        return 1;
    fprintf(stderr, "\n  \"%s\"\n  lacks \"%s\"\n", text, part);
    return 0;
}

static int wait_fd(msgsec_core *c, int timeout_ms)
{
    struct pollfd p = {.fd = msgsec_core_fd(c), .events = POLLIN};
    return poll(&p, 1, timeout_ms);
}

/* ------------------------------------------------------------ immediate */

static void test_match(void)
{
    msgsec_authz *a = NULL;
    int tag = 1;
    msgsec_authz_config cfg = {.size = sizeof(cfg), .user_data = &tag};
    CU_ASSERT_EQUAL_FATAL(check("s", &alice, "ue2", &cfg, &a), 0);
    CU_ASSERT_PTR_NOT_NULL_FATAL(a);
    CU_ASSERT_EQUAL(msgsec_authz_status(a), 0);
    CU_ASSERT_STRING_EQUAL(msgsec_authz_source(a), "testpsk");
    CU_ASSERT_STRING_EQUAL(msgsec_authz_detail(a), "");
    CU_ASSERT_PTR_EQUAL(msgsec_authz_user_data(a), &tag);
    /* A finished check gives its outcome again. */
    CU_ASSERT_EQUAL(msgsec_authz_resume(a), 0);
    CU_ASSERT_EQUAL(msgsec_authz_wait(a, 0), 0);
    msgsec_authz_free(a);
}

static void test_mismatch(void)
{
    msgsec_authz *a = (msgsec_authz *)&a;
    CU_ASSERT_EQUAL(check("s", &alice, "ue3", NULL, &a),
                    MSGSEC_ERR_NOT_AUTHORIZED);
    CU_ASSERT_PTR_NULL(a);
    const char *d = msgsec_last_detail();
    /* The policy line of authorize, the peer, the UE service ID, the
     * provider and its cause. */
    CU_ASSERT(has(d, ".conf:12: [service.s] authorize: testpsk peer "
                     "\"alice\" is not authorized for UE service ID \"ue3\": "
                     "provider testpsk: \"alice\" is not associated with "
                     "\"ue3\""));

    /* An identity the source does not know at all. */
    msgsec_peer bob = {.scheme = "testpsk", .identity = "bob"};
    CU_ASSERT_EQUAL(check("s", &bob, "ue1", NULL, &a),
                    MSGSEC_ERR_NOT_AUTHORIZED);
    CU_ASSERT(has(msgsec_last_detail(), "peer \"bob\""));
    /* UE service IDs are compared exactly. */
    CU_ASSERT_EQUAL(check("s", &alice, "UE1", NULL, &a),
                    MSGSEC_ERR_NOT_AUTHORIZED);
    CU_ASSERT_EQUAL(check("s", &alice, "ue", NULL, &a),
                    MSGSEC_ERR_NOT_AUTHORIZED);
    CU_ASSERT_EQUAL(check("s", &alice, "ue11", NULL, &a),
                    MSGSEC_ERR_NOT_AUTHORIZED);
    /* Quotes and non-ASCII bytes are shown escaped. */
    CU_ASSERT_EQUAL(check("s", &alice, "u\"e\xc3\xa9", NULL, &a),
                    MSGSEC_ERR_NOT_AUTHORIZED);
    CU_ASSERT(has(msgsec_last_detail(), "UE service ID \"u\\x22e\\xc3\\xa9\""));
}

/* The subject the source checks: GPSI, else SUPI, else the identity; the
 * detail shows what the peer carries. */
static void test_subject(void)
{
    msgsec_authz *a = NULL;
    msgsec_peer p = {.scheme = "akma",
                     .identity = "0.abc@realm",
                     .supi = "imsi-001010000000001",
                     .gpsi = "msisdn-15551230000"};
    CU_ASSERT_EQUAL(check("s", &p, "ue3", NULL, &a), 0);
    msgsec_authz_free(a);
    CU_ASSERT_EQUAL(check("s", &p, "ue4", NULL, &a),
                    MSGSEC_ERR_NOT_AUTHORIZED);
    CU_ASSERT(has(msgsec_last_detail(),
                  "akma peer \"0.abc@realm\" (SUPI imsi-001010000000001) "
                  "(GPSI msisdn-15551230000)"));
    p.gpsi = NULL;
    CU_ASSERT_EQUAL(check("s", &p, "ue4", NULL, &a), 0);
    msgsec_authz_free(a);
    p.supi = NULL;
    CU_ASSERT_EQUAL(check("s", &p, "ue4", NULL, &a),
                    MSGSEC_ERR_NOT_AUTHORIZED);
}

static void test_source_down(void)
{
    msgsec_core *c = msgsec_test_core(
        "[core]\nprovider_dir = @PROVIDER_DIR@\n"
        "[provider.testpsk]\nsecret = " SECRET "\n"
        "authz_map = alice=ue1\nauthz_down = yes\n"          /* 5-6 */
        "[service.s]\nuse = testpsk\nauthorize = testpsk\n"); /* 7-9 */
    CU_ASSERT_PTR_NOT_NULL_FATAL(c);
    msgsec_authz *a = NULL;
    CU_ASSERT_EQUAL(msgsec_authz_new(c, "s", &alice, "ue1", NULL, &a),
                    MSGSEC_ERR_LOOKUP_FAILED);
    CU_ASSERT_PTR_NULL(a);
    const char *d = msgsec_last_detail();
    CU_ASSERT(has(d, ".conf:9: [service.s] authorize: testpsk peer \"alice\" "
                     "could not be checked for UE service ID \"ue1\": "
                     "provider testpsk: association source unreachable "
                     "(authz_down at "));
    CU_ASSERT(has(d, ".conf:6)"));
    msgsec_core_free(c);
}

/* -------------------------------------------------------------- pending */

typedef struct ready_rec {
    int calls;
    int status;
    msgsec_authz *seen;
} ready_rec;

static void on_ready(void *ud, msgsec_authz *a)
{
    ready_rec *r = ud;
    r->calls++;
    r->seen = a;
    r->status = msgsec_authz_resume(a);
}

/* Runs the core's descriptor until rec has a verdict (5 s at most). */
static void pump(ready_rec *rec)
{
    for (int i = 0; i < 100 && (rec->calls == 0 || rec->status == MSGSEC_PENDING);
         i++) {
        if (wait_fd(core, 50) > 0)
            msgsec_core_dispatch(core, NULL, NULL);
    }
}

static void test_pending_dispatch(void)
{
    ready_rec rec = {0};
    msgsec_authz_config cfg = {.size = sizeof(cfg), .ready = on_ready,
                               .user_data = &rec};
    msgsec_authz *a = NULL;
    CU_ASSERT_EQUAL_FATAL(check("slow", &alice, "ue1", &cfg, &a),
                          MSGSEC_PENDING);
    CU_ASSERT_PTR_NOT_NULL_FATAL(a);
    CU_ASSERT_EQUAL(msgsec_authz_status(a), MSGSEC_PENDING);
    CU_ASSERT_STRING_EQUAL(msgsec_authz_source(a), "testpsk2");
    /* No wake yet: resuming changes nothing. */
    CU_ASSERT_EQUAL(msgsec_authz_resume(a), MSGSEC_PENDING);
    pump(&rec);
    CU_ASSERT_EQUAL(rec.calls, 1);
    CU_ASSERT_PTR_EQUAL(rec.seen, a);
    CU_ASSERT_EQUAL(rec.status, 0);
    CU_ASSERT_EQUAL(msgsec_authz_status(a), 0);
    CU_ASSERT_STRING_EQUAL(msgsec_authz_detail(a), "");
    msgsec_authz_free(a);

    /* A refusal that took a look-up. */
    memset(&rec, 0, sizeof(rec));
    CU_ASSERT_EQUAL_FATAL(check("slow", &alice, "ue2", &cfg, &a),
                          MSGSEC_PENDING);
    pump(&rec);
    CU_ASSERT_EQUAL(rec.calls, 1);
    CU_ASSERT_EQUAL(rec.status, MSGSEC_ERR_NOT_AUTHORIZED);
    CU_ASSERT_EQUAL(msgsec_authz_status(a), MSGSEC_ERR_NOT_AUTHORIZED);
    CU_ASSERT(has(msgsec_authz_detail(a),
                  ".conf:15: [service.slow] authorize: testpsk peer "
                  "\"alice\" is not authorized for UE service ID \"ue2\": "
                  "provider testpsk2: "));
    msgsec_authz_free(a);
}

/* Without a ready callback, dispatch resumes the check itself. */
static void test_pending_dispatch_resumes(void)
{
    msgsec_authz *a = NULL;
    CU_ASSERT_EQUAL_FATAL(check("slow", &alice, "ue1", NULL, &a),
                          MSGSEC_PENDING);
    for (int i = 0; i < 100 && msgsec_authz_status(a) == MSGSEC_PENDING; i++)
        if (wait_fd(core, 50) > 0)
            msgsec_core_dispatch(core, NULL, NULL);
    CU_ASSERT_EQUAL(msgsec_authz_status(a), 0);
    msgsec_authz_free(a);
}

static void test_pending_wait(void)
{
    msgsec_authz *a = NULL;
    CU_ASSERT_EQUAL_FATAL(check("slow", &alice, "ue1", NULL, &a),
                          MSGSEC_PENDING);
    /* 30 ms are not over yet. */
    CU_ASSERT_EQUAL(msgsec_authz_wait(a, 0), MSGSEC_ERR_TIMEOUT);
    CU_ASSERT(has(msgsec_authz_detail(a), "provider testpsk2: look-up still "
                                          "pending after 0 ms"));
    CU_ASSERT_EQUAL(msgsec_authz_status(a), MSGSEC_PENDING);
    CU_ASSERT_EQUAL(msgsec_authz_wait(a, 5000), 0);
    CU_ASSERT_EQUAL(msgsec_authz_status(a), 0);
    msgsec_authz_free(a);

    CU_ASSERT_EQUAL_FATAL(check("slow", &alice, "ue9", NULL, &a),
                          MSGSEC_PENDING);
    CU_ASSERT_EQUAL(msgsec_authz_wait(a, -1), MSGSEC_ERR_NOT_AUTHORIZED);
    msgsec_authz_free(a);
    /* The descriptor may have been signalled: nothing is left to run. */
    CU_ASSERT_EQUAL(msgsec_core_dispatch(core, NULL, NULL), 0);
}

static void test_free_pending(void)
{
    ready_rec rec = {0};
    msgsec_authz_config cfg = {.size = sizeof(cfg), .ready = on_ready,
                               .user_data = &rec};
    msgsec_authz *a = NULL, *b = NULL;
    CU_ASSERT_EQUAL_FATAL(check("slow", &alice, "ue1", &cfg, &a),
                          MSGSEC_PENDING);
    CU_ASSERT_EQUAL_FATAL(check("slow", &alice, "ue1", &cfg, &b),
                          MSGSEC_PENDING);
    /* One freed at once, the other after its wake came but before the
     * dispatch: neither is ever called back. */
    msgsec_authz_free(a);
    struct timespec ts = {0, 100 * 1000000L};
    nanosleep(&ts, NULL);
    msgsec_authz_free(b);
    CU_ASSERT_EQUAL(msgsec_core_dispatch(core, NULL, NULL), 0);
    CU_ASSERT_EQUAL(rec.calls, 0);
}

/* ----------------------------------------------------- without authorize */

static void test_no_authorize(void)
{
    msgsec_authz *a = NULL;
    CU_ASSERT_EQUAL_FATAL(check("open", &alice, "anything", NULL, &a), 0);
    CU_ASSERT_PTR_NOT_NULL_FATAL(a);
    CU_ASSERT_EQUAL(msgsec_authz_status(a), 0);
    CU_ASSERT_PTR_NULL(msgsec_authz_source(a));
    CU_ASSERT_STRING_EQUAL(msgsec_authz_detail(a), "");
    CU_ASSERT_EQUAL(msgsec_authz_wait(a, 10), 0);
    msgsec_authz_free(a);

    CU_ASSERT_PTR_NULL(msgsec_core_service_authorizer(core, "open"));
    CU_ASSERT_STRING_EQUAL(msgsec_core_service_authorizer(core, "s"),
                           "testpsk");
    CU_ASSERT_STRING_EQUAL(msgsec_core_service_authorizer(core, "slow"),
                           "testpsk2");
    CU_ASSERT_PTR_NULL(msgsec_core_service_authorizer(core, "nosuch"));
    CU_ASSERT_PTR_NULL(msgsec_core_service_authorizer(NULL, "s"));
    CU_ASSERT_PTR_NULL(msgsec_core_service_authorizer(core, NULL));
}

/* ------------------------------------------------------------ sessions */

static void test_session(void)
{
    msgsec_session *c = NULL, *s = NULL;
    msgsec_session_config cc = {.size = sizeof(cc), .identity = "alice"};
    CU_ASSERT_EQUAL_FATAL(
        msgsec_session_new(core, "s", MSGSEC_ROLE_CLIENT, &cc, &c), 0);
    CU_ASSERT_EQUAL_FATAL(
        msgsec_session_new(core, "s", MSGSEC_ROLE_SERVER, NULL, &s), 0);

    /* Not established yet. */
    msgsec_authz *a = (msgsec_authz *)&a;
    CU_ASSERT_EQUAL(msgsec_session_authorize(s, "ue1", NULL, &a),
                    MSGSEC_ERR_STATE);
    CU_ASSERT_PTR_NULL(a);
    CU_ASSERT(has(msgsec_last_detail(), "not established"));

    CU_ASSERT_EQUAL_FATAL(msgsec_test_pump(c, s), 0);
    CU_ASSERT_EQUAL(msgsec_session_authorize(s, "ue1", NULL, &a), 0);
    CU_ASSERT_STRING_EQUAL(msgsec_authz_source(a), "testpsk");
    msgsec_authz_free(a);
    CU_ASSERT_EQUAL(msgsec_session_authorize(s, "ue3", NULL, &a),
                    MSGSEC_ERR_NOT_AUTHORIZED);
    CU_ASSERT(has(msgsec_last_detail(), "testpsk peer \"alice\""));
    CU_ASSERT_EQUAL(msgsec_session_authorize(s, "", NULL, &a),
                    MSGSEC_ERR_INVALID_ARG);
    CU_ASSERT_EQUAL(msgsec_session_authorize(NULL, "ue1", NULL, &a),
                    MSGSEC_ERR_INVALID_ARG);
    CU_ASSERT_EQUAL(msgsec_session_authorize(s, "ue1", NULL, NULL),
                    MSGSEC_ERR_INVALID_ARG);
    msgsec_session_free(c);
    msgsec_session_free(s);
}

/* ------------------------------------------------------- bad arguments */

static void test_bad_arguments(void)
{
    msgsec_authz *a = (msgsec_authz *)&a;
    char long_id[300];
    memset(long_id, 'u', sizeof(long_id));
    long_id[256] = '\0';
    static const char *const bad_ids[] = {"", "ue\n1", "ue\x01", "\x7f",
                                          "tab\there"};
    for (size_t i = 0; i < sizeof(bad_ids) / sizeof(bad_ids[0]); i++) {
        CU_ASSERT_EQUAL(check("s", &alice, bad_ids[i], NULL, &a),
                        MSGSEC_ERR_INVALID_ARG);
        CU_ASSERT_PTR_NULL(a);
    }
    CU_ASSERT_EQUAL(check("s", &alice, long_id, NULL, &a),
                    MSGSEC_ERR_INVALID_ARG);
    CU_ASSERT(has(msgsec_last_detail(), "longer than 255 bytes"));
    /* 255 bytes are a UE service ID (one alice does not have). */
    long_id[255] = '\0';
    CU_ASSERT_EQUAL(check("s", &alice, long_id, NULL, &a),
                    MSGSEC_ERR_NOT_AUTHORIZED);
    CU_ASSERT(has(msgsec_last_detail(), "uuu...\""));

    CU_ASSERT_EQUAL(check("s", &alice, NULL, NULL, &a),
                    MSGSEC_ERR_INVALID_ARG);
    CU_ASSERT_EQUAL(check("s", NULL, "ue1", NULL, &a), MSGSEC_ERR_INVALID_ARG);
    msgsec_peer anon = {.scheme = "testpsk"};
    CU_ASSERT_EQUAL(check("s", &anon, "ue1", NULL, &a),
                    MSGSEC_ERR_INVALID_ARG);
    CU_ASSERT(has(msgsec_last_detail(), "not an authenticated peer"));
    CU_ASSERT_EQUAL(check(NULL, &alice, "ue1", NULL, &a),
                    MSGSEC_ERR_INVALID_ARG);
    CU_ASSERT_EQUAL(msgsec_authz_new(NULL, "s", &alice, "ue1", NULL, &a),
                    MSGSEC_ERR_INVALID_ARG);
    CU_ASSERT_EQUAL(check("s", &alice, "ue1", NULL, NULL),
                    MSGSEC_ERR_INVALID_ARG);
    CU_ASSERT_EQUAL(check("nosuch", &alice, "ue1", NULL, &a),
                    MSGSEC_ERR_POLICY_UNKNOWN_SERVICE);
    CU_ASSERT(has(msgsec_last_detail(), "no [service.nosuch]"));
    msgsec_authz_config small = {.size = 1};
    CU_ASSERT_EQUAL(check("s", &alice, "ue1", &small, &a),
                    MSGSEC_ERR_INVALID_ARG);
    /* A config compiled before user_data existed: only ready is read. */
    msgsec_authz_config older = {.size = offsetof(msgsec_authz_config,
                                                  user_data),
                                 .user_data = &a};
    CU_ASSERT_EQUAL(check("s", &alice, "ue1", &older, &a), 0);
    CU_ASSERT_PTR_NULL(msgsec_authz_user_data(a));
    msgsec_authz_free(a);

    CU_ASSERT_EQUAL(msgsec_authz_status(NULL), MSGSEC_ERR_INVALID_ARG);
    CU_ASSERT_EQUAL(msgsec_authz_resume(NULL), MSGSEC_ERR_INVALID_ARG);
    CU_ASSERT_EQUAL(msgsec_authz_wait(NULL, 0), MSGSEC_ERR_INVALID_ARG);
    CU_ASSERT_PTR_NULL(msgsec_authz_source(NULL));
    CU_ASSERT_STRING_EQUAL(msgsec_authz_detail(NULL), "");
    CU_ASSERT_PTR_NULL(msgsec_authz_user_data(NULL));
    msgsec_authz_free(NULL);
}

/* -------------------------------------------------------- policy errors */

/* A core from text must fail with code, its detail holding each part. */
static void core_fails(const char *text, int code, const char *part1,
                       const char *part2)
{
    const char *path = msgsec_test_write_policy(text);
    CU_ASSERT_PTR_NOT_NULL_FATAL(path);
    char detail[1024] = "";
    msgsec_core *c = NULL;
    CU_ASSERT_EQUAL(msgsec_core_new(path, NULL, 0, &c, detail, sizeof(detail)),
                    code);
    CU_ASSERT_PTR_NULL(c);
    CU_ASSERT(has(detail, part1));
    if (part2)
        CU_ASSERT(has(detail, part2));
}

#define BASE                                                                   \
    "[core]\nprovider_dir = @PROVIDER_DIR@\n"                 /* 1-2 */        \
    "[provider.testpsk]\nsecret = " SECRET "\n"               /* 3-4 */        \
    "[provider.testpsk0]\nsecret = " SECRET "\n"              /* 5-6 */        \
    "[provider.failinit]\nreason = configured to fail\n"      /* 7-8 */        \
    "[provider.off]\nsupport = off\n"                         /* 9-10 */       \
    "[service.s]\nuse = testpsk\n"                            /* 11-12 */

static void test_policy_errors(void)
{
    /* Checked when the policy is read. */
    core_fails(BASE "authorize = ghost\n", MSGSEC_ERR_POLICY_UNKNOWN_PROVIDER,
               ".conf:13: [service.s] authorize: provider \"ghost\" is not "
               "declared",
               NULL);
    core_fails(BASE "authorize = off\n", MSGSEC_ERR_POLICY_BAD_VALUE,
               ".conf:13: [service.s] authorize: provider \"off\" has "
               "support = off (line 10)",
               NULL);
    /* Checked when the core is built. */
    core_fails(BASE "authorize = testpsk0\n", MSGSEC_ERR_POLICY_BAD_VALUE,
               ".conf:13: [service.s] authorize: provider testpsk0 does not "
               "implement authorize (provider ABI 1.0",
               NULL);
    core_fails(BASE "authorize = null\n", MSGSEC_ERR_POLICY_BAD_VALUE,
               ".conf:13: [service.s] authorize: provider null does not "
               "implement authorize",
               NULL);
    core_fails(BASE "authorize = failinit\n", MSGSEC_ERR_POLICY_BAD_VALUE,
               ".conf:13: [service.s] authorize: provider failinit did not "
               "load: ",
               "configured to fail");

    /* Inspect mode: the core is built and says why it is unusable. */
    const char *path = msgsec_test_write_policy(BASE "authorize = testpsk0\n");
    msgsec_core *c = NULL;
    CU_ASSERT_EQUAL_FATAL(
        msgsec_core_new(path, NULL, MSGSEC_CORE_INSPECT, &c, NULL, 0), 0);
    CU_ASSERT_EQUAL(msgsec_core_status(c), MSGSEC_ERR_POLICY_BAD_VALUE);
    CU_ASSERT(has(msgsec_core_detail(c), ":13: [service.s] authorize: "
                                         "provider testpsk0"));
    CU_ASSERT_STRING_EQUAL(msgsec_core_service_authorizer(c, "s"), "testpsk0");
    msgsec_authz *a = (msgsec_authz *)&a;
    CU_ASSERT_EQUAL(msgsec_authz_new(c, "s", &alice, "ue1", NULL, &a),
                    MSGSEC_ERR_POLICY_BAD_VALUE);
    CU_ASSERT_PTR_NULL(a);
    msgsec_core_free(c);
}

/* --------------------------------------------------------------- suite */

/* Without assertions: CUnit has no test running here. */
static int suite_init(void)
{
    const char *path = msgsec_test_write_policy(policy);
    char detail[1024] = "";
    if (!path ||
        msgsec_core_new(path, NULL, 0, &core, detail, sizeof(detail)) != 0) {
        fprintf(stderr, "test_authz: core: %s\n", detail);
        return 1;
    }
    return 0;
}

static int suite_cleanup(void)
{
    msgsec_core_free(core);
    msgsec_test_cleanup_files();
    return 0;
}

int main(void)
{
    CU_TestInfo tests[] = {
        {"associated: authorized", test_match},
        {"not associated: NOT_AUTHORIZED with the detail", test_mismatch},
        {"subject: GPSI, else SUPI, else the identity", test_subject},
        {"source down: LOOKUP_FAILED", test_source_down},
        {"pending: core descriptor, dispatch, ready callback",
         test_pending_dispatch},
        {"pending: dispatch without a callback resumes",
         test_pending_dispatch_resumes},
        {"pending: wait", test_pending_wait},
        {"free while pending: no callback afterwards", test_free_pending},
        {"no authorize in the policy", test_no_authorize},
        {"sessions: established only", test_session},
        {"bad arguments", test_bad_arguments},
        {"authorize naming a provider that cannot answer",
         test_policy_errors},
        CU_TEST_INFO_NULL,
    };
    return msgsec_test_main("authz", suite_init, suite_cleanup, tests);
}
