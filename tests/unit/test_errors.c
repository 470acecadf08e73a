/* test_errors.c - the error table, capability names, version. */
#include <string.h>

#include "testutil.h"

static void test_every_code_named(void)
{
#define CHECK_ENTRY(sym, val, msg)                                             \
    CU_ASSERT_STRING_EQUAL(msgsec_error_name(val), #sym);                      \
    CU_ASSERT_STRING_EQUAL(msgsec_strerror(val), msg);                         \
    CU_ASSERT((val) < 0);
    MSGSEC_ERROR_TABLE(CHECK_ENTRY)
#undef CHECK_ENTRY
}

static void test_codes_unique(void)
{
    static const int codes[] = {
#define CODE(sym, val, msg) val,
        MSGSEC_ERROR_TABLE(CODE)
#undef CODE
    };
    size_t n = sizeof(codes) / sizeof(codes[0]);
    for (size_t i = 0; i < n; i++)
        for (size_t j = i + 1; j < n; j++)
            CU_ASSERT_NOT_EQUAL(codes[i], codes[j]);
}

static void test_positive_and_unknown(void)
{
    CU_ASSERT_STRING_EQUAL(msgsec_error_name(MSGSEC_OK), "MSGSEC_OK");
    CU_ASSERT_STRING_EQUAL(msgsec_error_name(MSGSEC_PENDING), "MSGSEC_PENDING");
    CU_ASSERT_STRING_EQUAL(msgsec_error_name(MSGSEC_CONTINUE),
                           "MSGSEC_CONTINUE");
    CU_ASSERT_STRING_EQUAL(msgsec_error_name(-9999), "MSGSEC_ERR_UNKNOWN");
    CU_ASSERT_STRING_EQUAL(msgsec_strerror(-9999), "unknown error code");
}

/* The values are ABI: integrators and providers compile them in. */
static void test_authorization_codes(void)
{
    CU_ASSERT_EQUAL(MSGSEC_ERR_LOOKUP_FAILED, -84);
    CU_ASSERT_EQUAL(MSGSEC_ERR_TOKEN_REJECTED, -85);
    CU_ASSERT_EQUAL(MSGSEC_ERR_NOT_AUTHORIZED, -86);
    CU_ASSERT_STRING_EQUAL(msgsec_error_name(-86), "MSGSEC_ERR_NOT_AUTHORIZED");
    CU_ASSERT_STRING_EQUAL(msgsec_strerror(-86),
                           "identity not associated with the UE service ID");
    CU_ASSERT_STRING_EQUAL(msgsec_error_name(-85),
                           "MSGSEC_ERR_TOKEN_REJECTED");
}

static void test_caps_roundtrip(void)
{
    for (uint32_t bit = 1; bit <= MSGSEC_CAP_KNOWN_MASK; bit <<= 1) {
        const char *name = msgsec_cap_name(bit);
        CU_ASSERT_PTR_NOT_NULL_FATAL(name);
        CU_ASSERT_EQUAL(msgsec_cap_from_name(name), bit);
    }
    CU_ASSERT_PTR_NULL(msgsec_cap_name(MSGSEC_CAP_KNOWN_MASK + 1));
    CU_ASSERT_EQUAL(msgsec_cap_from_name("no-such-cap"), 0);
    CU_ASSERT_EQUAL(msgsec_cap_from_name(NULL), 0);
    CU_ASSERT_EQUAL(msgsec_cap_from_name("mutual-auth"),
                    MSGSEC_CAP_MUTUAL_AUTH);
}

static void test_version(void)
{
    char want[32];
    snprintf(want, sizeof(want), "%d.%d.%d", MSGSEC_VERSION_MAJOR,
             MSGSEC_VERSION_MINOR, MSGSEC_VERSION_PATCH);
    CU_ASSERT_STRING_EQUAL(msgsec_version_string(), want);
}

int main(void)
{
    CU_TestInfo tests[] = {
        {"every code has a name and message", test_every_code_named},
        {"codes are unique", test_codes_unique},
        {"positive and unknown codes", test_positive_and_unknown},
        {"authorization codes -85 and -86", test_authorization_codes},
        {"capability names round-trip", test_caps_roundtrip},
        {"version string matches macros", test_version},
        CU_TEST_INFO_NULL,
    };
    return msgsec_test_main("errors", NULL, NULL, tests);
}
