/* test_core.c - core creation, conditional support, compiled services,
 * explain, provider information, hooks. */
#include <stdlib.h>
#include <string.h>

#include "testutil.h"

#define SECRET "000102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f"

#define PROVIDERS                                                              \
    "[core]\nprovider_dir = @PROVIDER_DIR@\n"                                  \
    "[provider.testpsk]\nsupport = mandatory\nsecret = " SECRET "\n"           \
    "[provider.testpsk2]\nsupport = optional\nsecret = " SECRET "\n"

static msgsec_core *make_core(const char *text, int *rc, char *detail,
                              size_t len, unsigned flags)
{
    const char *path = msgsec_test_write_policy(text);
    CU_ASSERT_PTR_NOT_NULL_FATAL(path);
    msgsec_core *core = NULL;
    *rc = msgsec_core_new(path, NULL, flags, &core, detail, len);
    return core;
}

static int find_info(msgsec_core *core, const char *name,
                     msgsec_provider_info *info)
{
    for (size_t i = 0; i < msgsec_core_provider_count(core); i++) {
        CU_ASSERT_EQUAL(msgsec_core_provider_info(core, i, info), 0);
        if (strcmp(info->name, name) == 0)
            return (int)i;
    }
    return -1;
}

static void test_conditional_support_off(void)
{
    char detail[1024];
    int rc;
    msgsec_core *core = make_core(
        PROVIDERS "[provider.ghost]\nsupport = mandatory-if-seal-client\n"
                  "module = ghost-not-installed\n"
                  "[service.s]\nuse = testpsk\n",
        &rc, detail, sizeof(detail), 0);
    CU_ASSERT_EQUAL_FATAL(rc, 0);
    msgsec_provider_info info;
    CU_ASSERT(find_info(core, "ghost", &info) >= 0);
    CU_ASSERT_EQUAL(info.support, MSGSEC_SUPPORT_MANDATORY_IF_SEAL_CLIENT);
    CU_ASSERT_EQUAL(info.effective_mandatory, 0);
    CU_ASSERT_EQUAL(info.status, MSGSEC_ERR_PROVIDER_NOT_FOUND);
    CU_ASSERT_PTR_NOT_NULL(strstr(info.detail,
                                  "mandatory-if-seal-client: seal client no "
                                  "(seal_client = auto (the default), and no "
                                  "[provider.*] section"));
    CU_ASSERT_EQUAL(msgsec_core_status(core), 0);
    const char *why = NULL;
    CU_ASSERT_EQUAL(msgsec_core_seal_client(core, &why), 0);
    CU_ASSERT_PTR_NOT_NULL_FATAL(why);
    CU_ASSERT_PTR_NOT_NULL(strstr(why, "sets km_uri or val_user_id"));
    CU_ASSERT_EQUAL(msgsec_core_seal_client(core, NULL), 0);
    CU_ASSERT_EQUAL(msgsec_core_seal_client(NULL, &why),
                    MSGSEC_ERR_INVALID_ARG);
    msgsec_core_free(core);
}

/* auto: a section naming the SEAL user makes the UE a SEAL client, so the
 * conditional provider that cannot load stops the core. */
static void test_seal_client_auto(void)
{
    char detail[1024];
    int rc;
    static const char text[] =
        "[core]\nprovider_dir = @PROVIDER_DIR@\n"                /* 1-2 */
        "[provider.testpsk]\nsecret = " SECRET "\n"              /* 3-4 */
        "[provider.ghost]\nsupport = mandatory-if-seal-client\n" /* 5-6 */
        "module = ghost-not-installed\n"                         /* 7 */
        "val_user_id = alice\n"                                  /* 8 */
        "km_uri = http://127.0.0.1:1\n"                          /* 9 */
        "[service.s]\nuse = testpsk\n";
    msgsec_core *core = make_core(text, &rc, detail, sizeof(detail), 0);
    CU_ASSERT_EQUAL(rc, MSGSEC_ERR_PROVIDER_MANDATORY);
    CU_ASSERT_PTR_NULL(core);
    CU_ASSERT_PTR_NOT_NULL(strstr(detail, "seal client yes"));
    CU_ASSERT_PTR_NOT_NULL(strstr(detail, "[provider.ghost] sets val_user_id "
                                          "at "));
    CU_ASSERT_PTR_NOT_NULL(strstr(detail, ".conf:8)"));

    core = make_core(text, &rc, detail, sizeof(detail), MSGSEC_CORE_INSPECT);
    CU_ASSERT_EQUAL_FATAL(rc, 0);
    const char *why = NULL;
    CU_ASSERT_EQUAL(msgsec_core_seal_client(core, &why), 1);
    CU_ASSERT_PTR_NOT_NULL(strstr(why, "seal_client = auto (the default), "
                                       "and [provider.ghost] sets "
                                       "val_user_id at "));
    msgsec_provider_info info;
    CU_ASSERT(find_info(core, "ghost", &info) >= 0);
    CU_ASSERT_EQUAL(info.effective_mandatory, 1);
    msgsec_core_free(core);
}

/* yes and no override whatever the sections hold; the reason names the
 * [core] line. */
static void test_seal_client_yes_no(void)
{
    char detail[1024];
    int rc;
    const char *why = NULL;
    msgsec_core *core = make_core(
        "[core]\nprovider_dir = @PROVIDER_DIR@\nseal_client = no\n"
        "[provider.testpsk]\nsecret = " SECRET "\n"
        "[provider.ghost]\nsupport = mandatory-if-seal-client\n"
        "module = ghost-not-installed\nkm_uri = http://127.0.0.1:1\n"
        "[service.s]\nuse = testpsk\n",
        &rc, detail, sizeof(detail), 0);
    CU_ASSERT_EQUAL_FATAL(rc, 0);
    CU_ASSERT_EQUAL(msgsec_core_seal_client(core, &why), 0);
    CU_ASSERT_PTR_NOT_NULL(strstr(why, "seal_client = no at "));
    CU_ASSERT_PTR_NOT_NULL(strstr(why, ".conf:3"));
    msgsec_core_free(core);

    core = make_core("[core]\nprovider_dir = @PROVIDER_DIR@\n"
                     "seal_client = yes\n"
                     "[provider.testpsk]\nsecret = " SECRET "\n"
                     "support = mandatory-if-seal-client\n"
                     "[service.s]\nuse = testpsk\n",
                     &rc, detail, sizeof(detail), 0);
    CU_ASSERT_EQUAL_FATAL(rc, 0);
    CU_ASSERT_EQUAL(msgsec_core_seal_client(core, &why), 1);
    CU_ASSERT_PTR_NOT_NULL(strstr(why, "seal_client = yes at "));
    msgsec_provider_info info;
    CU_ASSERT(find_info(core, "testpsk", &info) >= 0);
    CU_ASSERT_EQUAL(info.effective_mandatory, 1);
    CU_ASSERT_EQUAL(info.status, 0);
    CU_ASSERT_PTR_NOT_NULL(strstr(info.detail, "seal client yes "
                                               "(seal_client = yes at "));
    msgsec_core_free(core);
}

static void test_conditional_support_on(void)
{
    char detail[1024];
    int rc;
    msgsec_core *core = make_core("[core]\nprovider_dir = @PROVIDER_DIR@\nseal_client = yes\n"
                     "[provider.testpsk]\nsecret = " SECRET "\n"
                     "[provider.ghost]\nsupport = mandatory-if-seal-client\n"
                     "module = ghost-not-installed\n"
                     "[service.s]\nuse = testpsk\n",
                     &rc, detail, sizeof(detail), 0);
    CU_ASSERT_EQUAL(rc, MSGSEC_ERR_PROVIDER_MANDATORY);
    CU_ASSERT_PTR_NULL(core);
    CU_ASSERT_PTR_NOT_NULL(strstr(detail, "ghost"));
    CU_ASSERT_PTR_NOT_NULL(strstr(detail, ".conf:6:")); /* its section line */
    CU_ASSERT_PTR_NOT_NULL(strstr(detail, "seal_client = yes"));
}

static void test_mandatory_failure_inspect(void)
{
    char detail[1024];
    int rc;
    msgsec_core *core = make_core(
        "[core]\nprovider_dir = @PROVIDER_DIR@\n"
        "[provider.missing]\nsupport = mandatory\n"
        "[provider.testpsk]\nsecret = " SECRET "\n"
        "[service.s]\nuse = testpsk\n",
        &rc, detail, sizeof(detail), MSGSEC_CORE_INSPECT);
    CU_ASSERT_EQUAL_FATAL(rc, 0);
    CU_ASSERT_EQUAL(msgsec_core_status(core), MSGSEC_ERR_PROVIDER_MANDATORY);
    CU_ASSERT_PTR_NOT_NULL(strstr(msgsec_core_detail(core), "missing"));
    CU_ASSERT_PTR_NOT_NULL(strstr(msgsec_core_detail(core), ".conf:3:"));
    msgsec_provider_info info;
    CU_ASSERT(find_info(core, "missing", &info) >= 0);
    CU_ASSERT_EQUAL(info.effective_mandatory, 1);
    CU_ASSERT_EQUAL(info.status, MSGSEC_ERR_PROVIDER_NOT_FOUND);
    CU_ASSERT(find_info(core, "testpsk", &info) >= 0);
    CU_ASSERT_EQUAL(info.status, 0);
    CU_ASSERT_STRING_EQUAL(info.summary ? "set" : "unset", "set");
    /* An incomplete core refuses sessions. */
    msgsec_session *s = NULL;
    CU_ASSERT_EQUAL(msgsec_session_new(core, "s", MSGSEC_ROLE_CLIENT, NULL, &s),
                    MSGSEC_ERR_PROVIDER_MANDATORY);
    CU_ASSERT_PTR_NULL(s);
    msgsec_core_free(core);
}

static void test_null_builtin_listed(void)
{
    char detail[1024];
    int rc;
    msgsec_core *core = make_core(PROVIDERS "[service.s]\nuse = testpsk\n", &rc,
                                  detail, sizeof(detail), 0);
    CU_ASSERT_EQUAL_FATAL(rc, 0);
    CU_ASSERT_EQUAL(msgsec_core_provider_count(core), 3);
    msgsec_provider_info info;
    CU_ASSERT(find_info(core, "null", &info) >= 0);
    CU_ASSERT_EQUAL(info.status, 0);
    CU_ASSERT(info.caps & MSGSEC_CAP_INSECURE);
    CU_ASSERT_EQUAL(info.line, 0);
    CU_ASSERT_EQUAL(msgsec_core_provider_info(core, 99, &info),
                    MSGSEC_ERR_INVALID_ARG);
    CU_ASSERT_EQUAL(msgsec_core_service_count(core), 1);
    CU_ASSERT_STRING_EQUAL(msgsec_core_service_name(core, 0), "s");
    CU_ASSERT_PTR_NULL(msgsec_core_service_name(core, 1));
    msgsec_core_free(core);
}

static void test_empty_service(void)
{
    char detail[1024];
    int rc;
    /* null is the only provider and insecure operation is not allowed. */
    msgsec_core *core = make_core(PROVIDERS "[service.lab]\n"
                                            "negotiation = explicit\n"
                                            "use = null\n",
                                  &rc, detail, sizeof(detail), 0);
    CU_ASSERT_EQUAL(rc, MSGSEC_ERR_POLICY_EMPTY_SERVICE);
    CU_ASSERT_PTR_NULL(core);
    CU_ASSERT_PTR_NOT_NULL(strstr(detail, "[service.lab]"));
    CU_ASSERT_PTR_NOT_NULL(strstr(detail, ".conf:11:")); /* use = */
    CU_ASSERT_PTR_NOT_NULL(strstr(detail, "insecure"));

    /* The same with allow_insecure is fine. */
    core = make_core(PROVIDERS "[service.lab]\nnegotiation = explicit\n"
                               "use = null\nallow_insecure = yes\n",
                     &rc, detail, sizeof(detail), 0);
    CU_ASSERT_EQUAL(rc, 0);
    msgsec_core_free(core);
}

static void test_explain_explicit(void)
{
    char detail[1024], buf[4096];
    int rc;
    msgsec_core *core = make_core(PROVIDERS "[service.x]\n"
                                            "negotiation = explicit\n"
                                            "use = testpsk, testpsk2, null\n",
                                  &rc, detail, sizeof(detail), 0);
    CU_ASSERT_EQUAL_FATAL(rc, 0);
    msgsec_provider_info info;
    int i1 = find_info(core, "testpsk", &info);
    int i2 = find_info(core, "testpsk2", &info);

    /* The server's order wins over the client's. */
    const char *offer1[] = {"testpsk2", "testpsk"};
    CU_ASSERT_EQUAL(msgsec_core_explain(core, "x", offer1, 2, buf, sizeof(buf)),
                    i1);
    CU_ASSERT_PTR_NOT_NULL(strstr(buf, "SELECTED"));
    CU_ASSERT_PTR_NOT_NULL(strstr(buf, "prefers testpsk"));
    CU_ASSERT_PTR_NOT_NULL(strstr(buf, "insecure"));

    const char *offer2[] = {"testpsk2"};
    CU_ASSERT_EQUAL(msgsec_core_explain(core, "x", offer2, 1, buf, sizeof(buf)),
                    i2);
    CU_ASSERT_PTR_NOT_NULL(strstr(buf, "not offered by the client"));

    const char *offer3[] = {"bogus", "null"};
    CU_ASSERT_EQUAL(msgsec_core_explain(core, "x", offer3, 2, buf, sizeof(buf)),
                    MSGSEC_ERR_NO_COMMON_PROVIDER);
    CU_ASSERT_PTR_NOT_NULL(strstr(buf, "bogus"));
    CU_ASSERT_PTR_NOT_NULL(strstr(buf, "not in the use list"));

    CU_ASSERT_EQUAL(msgsec_core_explain(core, "nope", offer1, 2, buf,
                                        sizeof(buf)),
                    MSGSEC_ERR_POLICY_UNKNOWN_SERVICE);
    CU_ASSERT_EQUAL(msgsec_core_explain(core, "x", NULL, 2, buf, sizeof(buf)),
                    MSGSEC_ERR_INVALID_ARG);
    /* A tiny buffer truncates but still answers. */
    char small[8];
    CU_ASSERT_EQUAL(msgsec_core_explain(core, "x", offer1, 2, small,
                                        sizeof(small)),
                    i1);
    CU_ASSERT_EQUAL(strlen(small), sizeof(small) - 1);
    msgsec_core_free(core);
}

static void test_explain_implicit(void)
{
    char detail[1024], buf[4096];
    int rc;
    msgsec_core *core = make_core("[core]\nprovider_dir = @PROVIDER_DIR@\n"
                     "allow_insecure = yes\n"
                     "[provider.testpsk]\nsecret = " SECRET "\n"
                     "[provider.testpsk2]\nsecret = " SECRET "\n"
                     "[service.i]\nuse = testpsk2, null, testpsk\n",
                     &rc, detail, sizeof(detail), 0);
    CU_ASSERT_EQUAL_FATAL(rc, 0);
    msgsec_provider_info info;
    int i2 = find_info(core, "testpsk2", &info);
    CU_ASSERT_EQUAL(msgsec_core_explain(core, "i", NULL, 0, buf, sizeof(buf)),
                    i2);
    CU_ASSERT_PTR_NOT_NULL(strstr(buf, "implicit"));
    CU_ASSERT_PTR_NOT_NULL(strstr(buf, "cannot be claimed"));
    CU_ASSERT_PTR_NOT_NULL(strstr(buf, "next"));
    msgsec_core_free(core);
}

/* Hooks: every byte the core allocates is freed; logs carry no secret. */
static size_t live_bytes, allocs;
static char logbuf[16384];

static void *count_alloc(void *ud, size_t n)
{
    (void)ud;
    live_bytes += n;
    allocs++;
    return calloc(1, n);
}

static void count_free(void *ud, void *p, size_t n)
{
    (void)ud;
    live_bytes -= n;
    free(p);
}

static void capture_log(void *ud, int level, const char *line)
{
    (void)ud;
    (void)level;
    strncat(logbuf, line, sizeof(logbuf) - strlen(logbuf) - 2);
    strcat(logbuf, "\n");
}

static void test_hooks(void)
{
    msgsec_hooks hooks = {.size = sizeof(hooks),
                          .alloc = count_alloc,
                          .free = count_free,
                          .log = capture_log,
                          .log_level = MSGSEC_LOG_DEBUG};
    const char *path = msgsec_test_write_policy(
        PROVIDERS "[provider.gone]\nmodule = not-there\n"
                  "[service.s]\nuse = testpsk, gone\n");
    msgsec_core *core = NULL;
    logbuf[0] = '\0';
    CU_ASSERT_EQUAL_FATAL(msgsec_core_new(path, &hooks, 0, &core, NULL, 0), 0);
    CU_ASSERT(allocs > 0);
    CU_ASSERT_PTR_NOT_NULL(strstr(logbuf, "testpsk"));
    CU_ASSERT_PTR_NOT_NULL(strstr(logbuf, "gone"));
    CU_ASSERT_PTR_NULL(strstr(logbuf, SECRET));
    CU_ASSERT_PTR_NULL(strstr(logbuf, "0001020304"));
    msgsec_core_free(core);
    CU_ASSERT_EQUAL(live_bytes, 0);
}

static void test_from_string_and_args(void)
{
    msgsec_core *core = NULL;
    char detail[256];
    CU_ASSERT_EQUAL(msgsec_core_new_from_string("[service.s]\nuse = null\n"
                                                "negotiation = explicit\n"
                                                "allow_insecure = yes\n",
                                                "inline", NULL, 0, &core,
                                                detail, sizeof(detail)),
                    0);
    CU_ASSERT_PTR_NOT_NULL(core);
    msgsec_core_free(core);

    CU_ASSERT_EQUAL(msgsec_core_new_from_string("[service.s]\nuse = nope\n",
                                                "inline", NULL, 0, &core,
                                                detail, sizeof(detail)),
                    MSGSEC_ERR_POLICY_UNKNOWN_PROVIDER);
    CU_ASSERT_PTR_NOT_NULL(strstr(detail, "inline:2:"));
    CU_ASSERT_EQUAL(msgsec_core_new(NULL, NULL, 0, &core, NULL, 0),
                    MSGSEC_ERR_INVALID_ARG);
    CU_ASSERT_EQUAL(msgsec_core_new("/nonexistent/policy.conf", NULL, 0, &core,
                                    detail, sizeof(detail)),
                    MSGSEC_ERR_IO);
    CU_ASSERT_PTR_NOT_NULL(strstr(detail, "/nonexistent/policy.conf"));
    msgsec_core_free(NULL);
}

int main(void)
{
    CU_TestInfo tests[] = {
        {"mandatory-if-seal-client without a SEAL client",
         test_conditional_support_off},
        {"mandatory-if-seal-client with a SEAL client",
         test_conditional_support_on},
        {"seal_client = auto: a SEAL key makes a SEAL client",
         test_seal_client_auto},
        {"seal_client = yes and no", test_seal_client_yes_no},
        {"mandatory failure, inspect mode", test_mandatory_failure_inspect},
        {"null is built in and listed", test_null_builtin_listed},
        {"service with no usable provider", test_empty_service},
        {"explain, explicit negotiation", test_explain_explicit},
        {"explain, implicit negotiation", test_explain_implicit},
        {"allocator and log hooks", test_hooks},
        {"policy from a string, bad arguments", test_from_string_and_args},
        CU_TEST_INFO_NULL,
    };
    return msgsec_test_main("core", NULL, NULL, tests);
}
