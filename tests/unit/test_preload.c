/*
 * test_preload.c - providers linked into the program with libtool's
 * -dlpreopen (static builds) are found by the loader without any file.
 * This program is linked with -dlpreopen tests/providers/testpsk.la.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <ltdl.h>

#include "testutil.h"

#define SECRET                                                                 \
    "secret = 000102030405060708090a0b0c0d0e0f"                                \
    "101112131415161718191a1b1c1d1e1f\n"

/* An existing, safe directory that holds no module at all. */
static char empty_dir[256];

static int suite_init(void)
{
    const char *t = getenv("TMPDIR");
    snprintf(empty_dir, sizeof(empty_dir), "%s/msgsec-preload-XXXXXX",
             t ? t : "/tmp");
    return mkdtemp(empty_dir) ? 0 : -1;
}

static int suite_cleanup(void)
{
    return rmdir(empty_dir);
}

/* A core (INSPECT) from policy text whose "@EMPTY@" is empty_dir. */
static msgsec_core *core_with(const char *text)
{
    char policy[2048];
    size_t n = 0;
    for (const char *q = text; *q && n + 1 < sizeof(policy);) {
        if (strncmp(q, "@EMPTY@", 7) == 0) {
            n += (size_t)snprintf(policy + n, sizeof(policy) - n, "%s",
                                  empty_dir);
            q += 7;
        } else {
            policy[n++] = *q++;
        }
    }
    policy[n < sizeof(policy) ? n : sizeof(policy) - 1] = '\0';
    const char *path = msgsec_test_write_policy(policy);
    CU_ASSERT_PTR_NOT_NULL_FATAL(path);
    msgsec_core *core = NULL;
    char detail[1024] = "";
    int rc = msgsec_core_new(path, NULL, MSGSEC_CORE_INSPECT, &core, detail,
                             sizeof(detail));
    if (rc != 0)
        fprintf(stderr, "core: %s: %s\n", msgsec_error_name(rc), detail);
    CU_ASSERT_EQUAL(rc, 0);
    return core;
}

static int info_of(const msgsec_core *core, const char *name,
                   msgsec_provider_info *info)
{
    for (size_t i = 0; i < msgsec_core_provider_count(core); i++)
        if (msgsec_core_provider_info(core, i, info) == 0 &&
            strcmp(info->name, name) == 0)
            return 0;
    return -1;
}

static void test_found_preloaded(void)
{
    msgsec_core *core = core_with("[core]\nprovider_dir = @EMPTY@\n"
                                  "[provider.testpsk]\nsupport = mandatory\n" SECRET);
    CU_ASSERT_PTR_NOT_NULL_FATAL(core);
    CU_ASSERT_EQUAL(msgsec_core_status(core), 0);
    msgsec_provider_info info;
    CU_ASSERT_EQUAL_FATAL(info_of(core, "testpsk", &info), 0);
    CU_ASSERT_EQUAL(info.status, 0);
    CU_ASSERT_PTR_NOT_NULL(info.version);
    CU_ASSERT_PTR_NOT_NULL(strstr(info.module, "preloaded"));
    CU_ASSERT(info.caps & MSGSEC_CAP_KEY_EXPORT);
    msgsec_core_free(core);

    /* Named with its .la extension, as a policy may. */
    core = core_with("[core]\nprovider_dir = @EMPTY@\n"
                     "[provider.testpsk]\nsupport = mandatory\n"
                     "module = testpsk.la\n" SECRET);
    CU_ASSERT_PTR_NOT_NULL_FATAL(core);
    CU_ASSERT_EQUAL(msgsec_core_status(core), 0);
    msgsec_core_free(core);
}

static void test_preloaded_session(void)
{
    /* The preloaded provider really works: a handshake and a message. */
    msgsec_core *core = core_with("[core]\nprovider_dir = @EMPTY@\n"
                                  "[provider.testpsk]\nsupport = mandatory\n"
                                  SECRET
                                  "[service.s]\nuse = testpsk\n"
                                  "negotiation = explicit\n");
    CU_ASSERT_PTR_NOT_NULL_FATAL(core);
    msgsec_session *c = NULL, *s = NULL;
    CU_ASSERT_EQUAL_FATAL(
        msgsec_session_new(core, "s", MSGSEC_ROLE_CLIENT, NULL, &c), 0);
    CU_ASSERT_EQUAL_FATAL(
        msgsec_session_new(core, "s", MSGSEC_ROLE_SERVER, NULL, &s), 0);
    CU_ASSERT_EQUAL(msgsec_test_pump(c, s), 0);
    CU_ASSERT_STRING_EQUAL(msgsec_session_provider(s), "testpsk");
    CU_ASSERT_EQUAL(msgsec_session_send(c, "ping", 4), 0);
    unsigned char buf[256];
    size_t n = msgsec_session_pull(c, buf, sizeof(buf));
    CU_ASSERT(n > 4);
    CU_ASSERT_EQUAL(msgsec_session_feed(s, buf, n), 0);
    size_t len = 0;
    CU_ASSERT_EQUAL(msgsec_session_recv(s, buf, sizeof(buf), &len), 0);
    CU_ASSERT_EQUAL(len, 4);
    CU_ASSERT_EQUAL(memcmp(buf, "ping", 4), 0);
    msgsec_session_free(c);
    msgsec_session_free(s);
    msgsec_core_free(core);
}

static void test_pin_needs_file(void)
{
    /* A pin names a file: the preloaded copy is not taken for it. */
    msgsec_core *core = core_with(
        "[core]\nprovider_dir = @EMPTY@\n"
        "[provider.testpsk]\nsupport = mandatory\n"
        "sha256 = 00112233445566778899aabbccddeeff"
        "00112233445566778899aabbccddeeff\n" SECRET);
    CU_ASSERT_PTR_NOT_NULL_FATAL(core);
    CU_ASSERT_EQUAL(msgsec_core_status(core), MSGSEC_ERR_PROVIDER_MANDATORY);
    msgsec_provider_info info;
    CU_ASSERT_EQUAL_FATAL(info_of(core, "testpsk", &info), 0);
    CU_ASSERT_EQUAL(info.status, MSGSEC_ERR_PROVIDER_NOT_FOUND);
    CU_ASSERT_PTR_NOT_NULL(strstr(info.detail, empty_dir));
    msgsec_core_free(core);
}

static void test_not_preloaded(void)
{
    /* testpsk2 was not linked in and is not in provider_dir. */
    msgsec_core *core = core_with("[core]\nprovider_dir = @EMPTY@\n"
                                  "[provider.testpsk2]\n" SECRET);
    CU_ASSERT_PTR_NOT_NULL_FATAL(core);
    msgsec_provider_info info;
    CU_ASSERT_EQUAL_FATAL(info_of(core, "testpsk2", &info), 0);
    CU_ASSERT_EQUAL(info.status, MSGSEC_ERR_PROVIDER_NOT_FOUND);
    CU_ASSERT_PTR_NOT_NULL(strstr(info.detail, "preloaded"));
    CU_ASSERT_PTR_NOT_NULL(strstr(info.detail, "testpsk2.la"));
    msgsec_core_free(core);
}

static CU_TestInfo tests[] = {
    {"preloaded module found without a file", test_found_preloaded},
    {"preloaded module runs a session", test_preloaded_session},
    {"a pinned module must be a file", test_pin_needs_file},
    {"module neither preloaded nor in provider_dir", test_not_preloaded},
    CU_TEST_INFO_NULL,
};

int main(void)
{
    /* Before the first core: the loader's lt_dlinit() picks this up. */
    LTDL_SET_PRELOADED_SYMBOLS();
    return msgsec_test_main("preload", suite_init, suite_cleanup, tests);
}
