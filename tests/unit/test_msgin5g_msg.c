/* test_msgin5g_msg.c - the MSGin5G-1 codec and line splitter of the
 * examples (examples/msgin5g/msg.c). */
#include <stdlib.h>
#include <string.h>

#include "msg.h"
#include "testutil.h"

#define PARSE(text, m)                                                       \
    msgsec_m5g_parse((text), strlen(text), (m), why, sizeof(why))

static void test_parse_reg_dereg(void)
{
    msgsec_m5g_msg m;
    char why[256];

    CU_ASSERT_EQUAL(PARSE("{\"type\":\"REG\",\"msgId\":\"1\","
                          "\"ueServiceId\":\"ue1@msgin5g.example\"}",
                          &m),
                    0);
    CU_ASSERT_EQUAL(m.type, MSGSEC_M5G_REG);
    CU_ASSERT_STRING_EQUAL(m.msg_id, "1");
    CU_ASSERT_STRING_EQUAL(m.ue_service_id, "ue1@msgin5g.example");
    msgsec_m5g_msg_clear(&m);
    CU_ASSERT_PTR_NULL(m.root);

    CU_ASSERT_EQUAL(PARSE("{\"type\":\"DEREG\",\"msgId\":\"2\",\"x\":[1]}",
                          &m),
                    0);
    CU_ASSERT_EQUAL(m.type, MSGSEC_M5G_DEREG);
    CU_ASSERT_PTR_NULL(m.ue_service_id);
    msgsec_m5g_msg_clear(&m);
}

static void test_parse_msg(void)
{
    msgsec_m5g_msg m;
    char why[256];
    const char *t =
        "{\"type\":\"MSG\",\"msgId\":\"3\",\"oriAddr\":{\"addrType\":\"UE\","
        "\"addr\":\"ue1\"},\"destAddr\":{\"addrType\":\"GROUP\",\"addr\":"
        "\"team\"},\"payload\":\"h\\u00e9llo\\n\",\"delivStReqInd\":true,"
        "\"stoAndFwInd\":true,\"stoAndFwParams\":{\"exprTime\":"
        "\"2030-01-02T03:04:05Z\"}}";

    CU_ASSERT_EQUAL(PARSE(t, &m), 0);
    CU_ASSERT_EQUAL(m.type, MSGSEC_M5G_MSG);
    CU_ASSERT_EQUAL(m.ori.type, MSGSEC_M5G_ADDR_UE);
    CU_ASSERT_STRING_EQUAL(m.ori.addr, "ue1");
    CU_ASSERT_EQUAL(m.dest.type, MSGSEC_M5G_ADDR_GROUP);
    CU_ASSERT_STRING_EQUAL(m.dest.addr, "team");
    CU_ASSERT_EQUAL(m.payload_len, 7);
    CU_ASSERT_EQUAL(memcmp(m.payload, "h\xc3\xa9llo\n", 7), 0);
    CU_ASSERT_TRUE(m.deliv_st_req);
    CU_ASSERT_TRUE(m.sto_and_fw);
    CU_ASSERT_TRUE(m.has_expr_time);
    CU_ASSERT_EQUAL(m.expr_time, 1893553445);
    msgsec_m5g_msg_clear(&m);

    /* Optional members absent; BC destination. */
    CU_ASSERT_EQUAL(PARSE("{\"type\":\"MSG\",\"msgId\":\"4\",\"oriAddr\":{"
                          "\"addrType\":\"UE\",\"addr\":\"a\"},\"destAddr\":"
                          "{\"addrType\":\"BC\",\"addr\":\"area\"}}",
                          &m),
                    0);
    CU_ASSERT_EQUAL(m.dest.type, MSGSEC_M5G_ADDR_BC);
    CU_ASSERT_PTR_NULL(m.payload);
    CU_ASSERT_FALSE(m.deliv_st_req);
    CU_ASSERT_FALSE(m.sto_and_fw);
    CU_ASSERT_FALSE(m.has_expr_time);
    msgsec_m5g_msg_clear(&m);
}

static void test_parse_resp_imdn(void)
{
    msgsec_m5g_msg m;
    char why[256];

    CU_ASSERT_EQUAL(PARSE("{\"type\":\"MSGRESP\",\"msgId\":\"3\",\"status\":"
                          "\"DELY_FAILED\",\"failureCause\":\"EXPIRED\"}",
                          &m),
                    0);
    CU_ASSERT_EQUAL(m.status, MSGSEC_M5G_DELY_FAILED);
    CU_ASSERT_STRING_EQUAL(m.failure_cause, "EXPIRED");
    msgsec_m5g_msg_clear(&m);

    CU_ASSERT_EQUAL(PARSE("{\"type\":\"IMDN\",\"msgId\":\"3\",\"oriAddr\":{"
                          "\"addrType\":\"UE\",\"addr\":\"ue2\"},\"destAddr\":"
                          "{\"addrType\":\"UE\",\"addr\":\"ue1\"},\"delivSt\":"
                          "\"REPT_DELY_SUCCESS\"}",
                          &m),
                    0);
    CU_ASSERT_EQUAL(m.type, MSGSEC_M5G_IMDN);
    CU_ASSERT_EQUAL(m.deliv_st, MSGSEC_M5G_REPT_DELY_SUCCESS);
    CU_ASSERT_STRING_EQUAL(m.dest.addr, "ue1");
    CU_ASSERT_PTR_NULL(m.failure_cause);
    msgsec_m5g_msg_clear(&m);
}

/* Each bad line: its outcome, and whether the msgId survives. */
static void test_parse_bad(void)
{
    static const struct {
        const char *text;
        int rc;
        const char *msg_id;
        const char *why; /* a part of the reason */
    } cases[] = {
        {"", MSGSEC_M5G_BAD_JSON, NULL, "not JSON"},
        {"garbage", MSGSEC_M5G_BAD_JSON, NULL, "not JSON"},
        {"[1,2]", MSGSEC_M5G_BAD_JSON, NULL, "object"},
        {"{\"type\":\"REG\",\"msgId\":\"1\"} x", MSGSEC_M5G_BAD_JSON, NULL,
         "not JSON"},
        {"{\"msgId\":\"1\",\"msgId\":\"2\"}", MSGSEC_M5G_BAD_JSON, NULL,
         "not JSON"},
        {"{\"type\":\"REG\"}", MSGSEC_M5G_BAD_FIELDS, NULL, "msgId"},
        {"{\"type\":\"REG\",\"msgId\":\"\"}", MSGSEC_M5G_BAD_FIELDS, NULL,
         "msgId"},
        {"{\"type\":\"REG\",\"msgId\":\"a\\u0001\"}", MSGSEC_M5G_BAD_FIELDS,
         NULL, "msgId"},
        {"{\"type\":\"NOPE\",\"msgId\":\"7\"}", MSGSEC_M5G_BAD_FIELDS, "7",
         "type"},
        {"{\"msgId\":\"7\"}", MSGSEC_M5G_BAD_FIELDS, "7", "type"},
        {"{\"type\":\"REG\",\"msgId\":\"7\"}", MSGSEC_M5G_BAD_FIELDS, "7",
         "ueServiceId"},
        {"{\"type\":\"REG\",\"msgId\":\"7\",\"ueServiceId\":5}",
         MSGSEC_M5G_BAD_FIELDS, "7", "ueServiceId"},
        {"{\"type\":\"MSG\",\"msgId\":\"7\",\"oriAddr\":{\"addrType\":"
         "\"GROUP\",\"addr\":\"g\"},\"destAddr\":{\"addrType\":\"UE\","
         "\"addr\":\"b\"}}",
         MSGSEC_M5G_BAD_FIELDS, "7", "oriAddr.addrType"},
        {"{\"type\":\"MSG\",\"msgId\":\"7\",\"oriAddr\":{\"addrType\":\"UE\","
         "\"addr\":\"a\"},\"destAddr\":{\"addrType\":\"AS\",\"addr\":\"b\"}}",
         MSGSEC_M5G_BAD_FIELDS, "7", "destAddr.addrType"},
        {"{\"type\":\"MSG\",\"msgId\":\"7\",\"oriAddr\":{\"addrType\":\"UE\","
         "\"addr\":\"a\"},\"destAddr\":{\"addrType\":\"UE\",\"addr\":\"\"}}",
         MSGSEC_M5G_BAD_FIELDS, "7", "destAddr.addr"},
        {"{\"type\":\"MSG\",\"msgId\":\"7\",\"oriAddr\":\"a\",\"destAddr\":{"
         "\"addrType\":\"UE\",\"addr\":\"b\"}}",
         MSGSEC_M5G_BAD_FIELDS, "7", "oriAddr"},
        {"{\"type\":\"MSG\",\"msgId\":\"7\",\"oriAddr\":{\"addrType\":\"UE\","
         "\"addr\":\"a\"},\"destAddr\":{\"addrType\":\"UE\",\"addr\":\"b\"},"
         "\"payload\":3}",
         MSGSEC_M5G_BAD_FIELDS, "7", "payload"},
        {"{\"type\":\"MSG\",\"msgId\":\"7\",\"oriAddr\":{\"addrType\":\"UE\","
         "\"addr\":\"a\"},\"destAddr\":{\"addrType\":\"UE\",\"addr\":\"b\"},"
         "\"stoAndFwInd\":\"yes\"}",
         MSGSEC_M5G_BAD_FIELDS, "7", "stoAndFwInd"},
        {"{\"type\":\"MSG\",\"msgId\":\"7\",\"oriAddr\":{\"addrType\":\"UE\","
         "\"addr\":\"a\"},\"destAddr\":{\"addrType\":\"UE\",\"addr\":\"b\"},"
         "\"stoAndFwParams\":{\"exprTime\":\"tomorrow\"}}",
         MSGSEC_M5G_BAD_FIELDS, "7", "exprTime"},
        {"{\"type\":\"MSGRESP\",\"msgId\":\"7\",\"status\":\"FINE\"}",
         MSGSEC_M5G_BAD_FIELDS, "7", "status"},
        {"{\"type\":\"IMDN\",\"msgId\":\"7\",\"oriAddr\":{\"addrType\":\"UE\","
         "\"addr\":\"a\"},\"destAddr\":{\"addrType\":\"GROUP\",\"addr\":"
         "\"b\"},\"delivSt\":\"REPT_DELY_SUCCESS\"}",
         MSGSEC_M5G_BAD_FIELDS, "7", "destAddr.addrType"},
        {"{\"type\":\"IMDN\",\"msgId\":\"7\",\"oriAddr\":{\"addrType\":\"UE\","
         "\"addr\":\"a\"},\"destAddr\":{\"addrType\":\"UE\",\"addr\":\"b\"},"
         "\"delivSt\":\"DONE\"}",
         MSGSEC_M5G_BAD_FIELDS, "7", "delivSt"},
    };
    char why[256];

    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        msgsec_m5g_msg m;
        int rc = PARSE(cases[i].text, &m);
        CU_ASSERT_EQUAL(rc, cases[i].rc);
        CU_ASSERT_PTR_NOT_NULL(strstr(why, cases[i].why));
        if (cases[i].msg_id) {
            CU_ASSERT_PTR_NOT_NULL_FATAL(m.msg_id);
            CU_ASSERT_STRING_EQUAL(m.msg_id, cases[i].msg_id);
        } else {
            CU_ASSERT_PTR_NULL(m.msg_id);
        }
        /* Nothing of a failed parse but the request's identity. */
        CU_ASSERT_PTR_NULL(m.ue_service_id);
        CU_ASSERT_PTR_NULL(m.ori.addr);
        msgsec_m5g_msg_clear(&m);
    }
}

static void test_id_limits(void)
{
    char text[600], why[256], id[300];
    msgsec_m5g_msg m;

    memset(id, 'u', 255);
    id[255] = '\0';
    snprintf(text, sizeof(text),
             "{\"type\":\"REG\",\"msgId\":\"1\",\"ueServiceId\":\"%s\"}", id);
    CU_ASSERT_EQUAL(PARSE(text, &m), 0);
    msgsec_m5g_msg_clear(&m);
    id[255] = 'u';
    id[256] = '\0';
    snprintf(text, sizeof(text),
             "{\"type\":\"REG\",\"msgId\":\"1\",\"ueServiceId\":\"%s\"}", id);
    CU_ASSERT_EQUAL(PARSE(text, &m), MSGSEC_M5G_BAD_FIELDS);
    msgsec_m5g_msg_clear(&m);
    /* An embedded NUL is refused by the JSON reader. */
    CU_ASSERT_EQUAL(PARSE("{\"type\":\"REG\",\"msgId\":\"1\",\"ueServiceId\":"
                          "\"a\\u0000b\"}",
                          &m),
                    MSGSEC_M5G_BAD_JSON);
    msgsec_m5g_msg_clear(&m);
}

static void test_build_round_trip(void)
{
    msgsec_m5g_msg m, back;
    char why[256];
    size_t len;

    memset(&m, 0, sizeof(m));
    m.type = MSGSEC_M5G_MSG;
    m.msg_id = "42";
    m.ori.type = MSGSEC_M5G_ADDR_UE;
    m.ori.addr = "ue1";
    m.dest.type = MSGSEC_M5G_ADDR_UE;
    m.dest.addr = "ue2";
    m.payload = "two\nlines \"quoted\"";
    m.payload_len = strlen(m.payload);
    m.deliv_st_req = 1;
    m.sto_and_fw = 1;
    m.has_expr_time = 1;
    m.expr_time = 1700000000;
    char *line = msgsec_m5g_build(&m, &len);
    CU_ASSERT_PTR_NOT_NULL_FATAL(line);
    CU_ASSERT_EQUAL(line[len - 1], '\n');
    CU_ASSERT_PTR_NULL(memchr(line, '\n', len - 1)); /* one line */
    CU_ASSERT_PTR_NOT_NULL(strstr(line, "\"exprTime\":\"2023-11-14T22:13:20Z\""));
    CU_ASSERT_EQUAL(msgsec_m5g_parse(line, len - 1, &back, why, sizeof(why)),
                    0);
    CU_ASSERT_EQUAL(back.payload_len, m.payload_len);
    CU_ASSERT_EQUAL(memcmp(back.payload, m.payload, m.payload_len), 0);
    CU_ASSERT_EQUAL(back.expr_time, m.expr_time);
    CU_ASSERT_TRUE(back.deliv_st_req && back.sto_and_fw);
    msgsec_m5g_msg_clear(&back);
    free(line);

    memset(&m, 0, sizeof(m));
    m.type = MSGSEC_M5G_MSGRESP;
    m.msg_id = "1";
    m.status = MSGSEC_M5G_REJECTED;
    m.failure_cause = "ORIADDR_MISMATCH";
    line = msgsec_m5g_build(&m, &len);
    CU_ASSERT_PTR_NOT_NULL_FATAL(line);
    CU_ASSERT_STRING_EQUAL(line, "{\"type\":\"MSGRESP\",\"msgId\":\"1\","
                                 "\"status\":\"REJECTED\",\"failureCause\":"
                                 "\"ORIADDR_MISMATCH\"}\n");
    free(line);

    memset(&m, 0, sizeof(m));
    m.type = MSGSEC_M5G_IMDN;
    m.msg_id = "3";
    m.ori.type = m.dest.type = MSGSEC_M5G_ADDR_UE;
    m.ori.addr = "ue2";
    m.dest.addr = "ue1";
    m.deliv_st = MSGSEC_M5G_REPT_DELY_FAILED;
    m.failure_cause = "EXPIRED";
    line = msgsec_m5g_build(&m, &len);
    CU_ASSERT_PTR_NOT_NULL_FATAL(line);
    CU_ASSERT_EQUAL(msgsec_m5g_parse(line, len - 1, &back, why, sizeof(why)),
                    0);
    CU_ASSERT_EQUAL(back.deliv_st, MSGSEC_M5G_REPT_DELY_FAILED);
    CU_ASSERT_STRING_EQUAL(back.failure_cause, "EXPIRED");
    msgsec_m5g_msg_clear(&back);
    free(line);
}

/* Every line either side sends, whatever the framing, ends with one LF
 * (message framing carries the same lines, one per message). */
static void test_build_lf(void)
{
    static const int statuses[] = {
        MSGSEC_M5G_REG_SUCCESS, MSGSEC_M5G_DEREG_SUCCESS,
        MSGSEC_M5G_DELY_ACCEPTED, MSGSEC_M5G_DELY_STORED,
        MSGSEC_M5G_DELY_FAILED, MSGSEC_M5G_REJECTED};
    msgsec_m5g_msg m[5 + sizeof(statuses) / sizeof(statuses[0])];
    size_t n = 0, len;

    memset(m, 0, sizeof(m));
    m[n].type = MSGSEC_M5G_REG;
    m[n].msg_id = "1";
    m[n++].ue_service_id = "ue1";
    m[n].type = MSGSEC_M5G_DEREG;
    m[n++].msg_id = "2";
    m[n].type = MSGSEC_M5G_MSG;
    m[n].msg_id = "3";
    m[n].ori.type = m[n].dest.type = MSGSEC_M5G_ADDR_UE;
    m[n].ori.addr = "ue1";
    m[n++].dest.addr = "ue2";
    m[n].type = MSGSEC_M5G_IMDN;
    m[n].msg_id = "3";
    m[n].ori.type = m[n].dest.type = MSGSEC_M5G_ADDR_UE;
    m[n].ori.addr = "ue2";
    m[n].dest.addr = "ue1";
    m[n++].deliv_st = MSGSEC_M5G_REPT_DELY_SUCCESS;
    for (size_t i = 0; i < sizeof(statuses) / sizeof(statuses[0]); i++) {
        m[n].type = MSGSEC_M5G_MSGRESP;
        m[n].msg_id = "4";
        m[n].status = statuses[i];
        if (statuses[i] == MSGSEC_M5G_DELY_FAILED)
            m[n].failure_cause = "STORAGE_FULL";
        n++;
    }
    for (size_t i = 0; i < n; i++) {
        char *line = msgsec_m5g_build(&m[i], &len);
        CU_ASSERT_PTR_NOT_NULL_FATAL(line);
        CU_ASSERT_TRUE(len >= 2);
        CU_ASSERT_EQUAL(line[len - 1], '\n');
        CU_ASSERT_PTR_NULL(memchr(line, '\n', len - 1));
        CU_ASSERT_EQUAL(strlen(line), len);
        free(line);
    }
}

static void test_build_refused(void)
{
    msgsec_m5g_msg m;
    size_t len = 9;

    memset(&m, 0, sizeof(m));
    m.type = MSGSEC_M5G_REG; /* no msgId, no ueServiceId */
    CU_ASSERT_PTR_NULL(msgsec_m5g_build(&m, &len));
    CU_ASSERT_EQUAL(len, 0);
    m.msg_id = "1";
    CU_ASSERT_PTR_NULL(msgsec_m5g_build(&m, &len));
    m.type = 99;
    CU_ASSERT_PTR_NULL(msgsec_m5g_build(&m, &len));

    /* A payload that makes the line too long. */
    char *big = malloc(MSGSEC_M5G_LINE_MAX);
    CU_ASSERT_PTR_NOT_NULL_FATAL(big);
    memset(big, 'x', MSGSEC_M5G_LINE_MAX);
    memset(&m, 0, sizeof(m));
    m.type = MSGSEC_M5G_MSG;
    m.msg_id = "1";
    m.ori.type = m.dest.type = MSGSEC_M5G_ADDR_UE;
    m.ori.addr = m.dest.addr = "u";
    m.payload = big;
    m.payload_len = MSGSEC_M5G_LINE_MAX;
    CU_ASSERT_PTR_NULL(msgsec_m5g_build(&m, &len));
    m.payload_len = MSGSEC_M5G_LINE_MAX - 200;
    char *line = msgsec_m5g_build(&m, &len);
    CU_ASSERT_PTR_NOT_NULL(line);
    CU_ASSERT_TRUE(len <= MSGSEC_M5G_LINE_MAX + 1);
    free(line);
    free(big);
}

static void test_time(void)
{
    int64_t t;
    char out[32];

    CU_ASSERT_EQUAL(msgsec_m5g_time_parse("1970-01-01T00:00:00Z", &t), 0);
    CU_ASSERT_EQUAL(t, 0);
    CU_ASSERT_EQUAL(msgsec_m5g_time_parse("2024-02-29T12:00:00.123+02:00",
                                          &t),
                    0);
    CU_ASSERT_EQUAL(t, 1709200800);
    CU_ASSERT_EQUAL(msgsec_m5g_time_parse("1969-12-31T23:59:59-00:00", &t),
                    0);
    CU_ASSERT_EQUAL(t, -1);
    CU_ASSERT_EQUAL(msgsec_m5g_time_parse("2023-02-29T00:00:00Z", &t), -1);
    CU_ASSERT_EQUAL(msgsec_m5g_time_parse("2024-13-01T00:00:00Z", &t), -1);
    CU_ASSERT_EQUAL(msgsec_m5g_time_parse("2024-01-01 00:00:00Z", &t), -1);
    CU_ASSERT_EQUAL(msgsec_m5g_time_parse("2024-01-01T00:00:00", &t), -1);
    CU_ASSERT_EQUAL(msgsec_m5g_time_parse("2024-01-01T00:00:00Zx", &t), -1);
    CU_ASSERT_EQUAL(msgsec_m5g_time_parse("2024-01-01T00:00:00.Z", &t), -1);
    CU_ASSERT_EQUAL(msgsec_m5g_time_format(1709200800, out, sizeof(out)), 0);
    CU_ASSERT_STRING_EQUAL(out, "2024-02-29T10:00:00Z");
    CU_ASSERT_EQUAL(msgsec_m5g_time_format(INT64_MAX, out, sizeof(out)), -1);
}

static void test_names(void)
{
    CU_ASSERT_STRING_EQUAL(msgsec_m5g_type_name(MSGSEC_M5G_IMDN), "IMDN");
    CU_ASSERT_STRING_EQUAL(msgsec_m5g_type_name(0), "?");
    CU_ASSERT_STRING_EQUAL(msgsec_m5g_status_name(MSGSEC_M5G_DELY_STORED),
                           "DELY_STORED");
    CU_ASSERT_EQUAL(msgsec_m5g_status_from("REG_SUCCESS"),
                    MSGSEC_M5G_REG_SUCCESS);
    CU_ASSERT_EQUAL(msgsec_m5g_addr_type_from("BC"), MSGSEC_M5G_ADDR_BC);
    CU_ASSERT_EQUAL(msgsec_m5g_addr_type_from("bc"), 0);
    CU_ASSERT_EQUAL(msgsec_m5g_delivst_from(NULL), 0);
}

static void test_lines(void)
{
    msgsec_m5g_lines l;
    const char *line;
    size_t len;

    memset(&l, 0, sizeof(l));
    CU_ASSERT_EQUAL(msgsec_m5g_lines_next(&l, &line, &len), 0);
    CU_ASSERT_EQUAL(msgsec_m5g_lines_push(&l, "one\r\ntw", 7), 0);
    CU_ASSERT_EQUAL(msgsec_m5g_lines_next(&l, &line, &len), 1);
    CU_ASSERT_EQUAL(len, 3);
    CU_ASSERT_EQUAL(memcmp(line, "one", 3), 0);
    CU_ASSERT_EQUAL(msgsec_m5g_lines_next(&l, &line, &len), 0);
    CU_ASSERT_EQUAL(msgsec_m5g_lines_pending(&l), 2);
    CU_ASSERT_EQUAL(msgsec_m5g_lines_push(&l, "o\n\nthree\n", 9), 0);
    CU_ASSERT_EQUAL(msgsec_m5g_lines_next(&l, &line, &len), 1);
    CU_ASSERT_EQUAL(len, 3);
    CU_ASSERT_EQUAL(memcmp(line, "two", 3), 0);
    CU_ASSERT_EQUAL(msgsec_m5g_lines_next(&l, &line, &len), 1);
    CU_ASSERT_EQUAL(len, 0);
    CU_ASSERT_EQUAL(msgsec_m5g_lines_next(&l, &line, &len), 1);
    CU_ASSERT_EQUAL(memcmp(line, "three", 5), 0);
    CU_ASSERT_EQUAL(msgsec_m5g_lines_next(&l, &line, &len), 0);
    CU_ASSERT_EQUAL(msgsec_m5g_lines_pending(&l), 0);
    msgsec_m5g_lines_free(&l);
    CU_ASSERT_PTR_NULL(l.buf);
    /* A freed (or never used) splitter has no buffer: asking it again is
     * "nothing yet", and it takes bytes again. */
    CU_ASSERT_EQUAL(msgsec_m5g_lines_next(&l, &line, &len), 0);
    CU_ASSERT_EQUAL(msgsec_m5g_lines_pending(&l), 0);
    CU_ASSERT_EQUAL(msgsec_m5g_lines_push(&l, "", 0), 0);
    CU_ASSERT_PTR_NULL(l.buf);
    CU_ASSERT_EQUAL(msgsec_m5g_lines_next(&l, &line, &len), 0);
    CU_ASSERT_EQUAL(msgsec_m5g_lines_push(&l, "four\n", 5), 0);
    CU_ASSERT_EQUAL(msgsec_m5g_lines_next(&l, &line, &len), 1);
    CU_ASSERT_EQUAL(len, 4);
    CU_ASSERT_EQUAL(memcmp(line, "four", 4), 0);
    msgsec_m5g_lines_free(&l);
}

/* A line of exactly the limit passes, one byte more fails, also before
 * its LF arrives. */
static void test_lines_limit(void)
{
    msgsec_m5g_lines l;
    const char *line;
    size_t len;
    char *big = malloc(MSGSEC_M5G_LINE_MAX + 2);

    CU_ASSERT_PTR_NOT_NULL_FATAL(big);
    memset(big, 'a', MSGSEC_M5G_LINE_MAX + 2);
    memset(&l, 0, sizeof(l));
    /* In pieces, as a socket delivers it. */
    for (size_t off = 0; off < MSGSEC_M5G_LINE_MAX; off += 1000) {
        size_t n = MSGSEC_M5G_LINE_MAX - off < 1000 ? MSGSEC_M5G_LINE_MAX - off
                                                     : 1000;
        CU_ASSERT_EQUAL(msgsec_m5g_lines_push(&l, big, n), 0);
        CU_ASSERT_EQUAL(msgsec_m5g_lines_next(&l, &line, &len), 0);
    }
    CU_ASSERT_EQUAL(msgsec_m5g_lines_push(&l, "\r\n", 2), 0);
    CU_ASSERT_EQUAL(msgsec_m5g_lines_next(&l, &line, &len), 1);
    CU_ASSERT_EQUAL(len, MSGSEC_M5G_LINE_MAX);
    msgsec_m5g_lines_free(&l);

    CU_ASSERT_EQUAL(msgsec_m5g_lines_push(&l, big, MSGSEC_M5G_LINE_MAX + 1),
                    0);
    CU_ASSERT_EQUAL(msgsec_m5g_lines_push(&l, "\n", 1), 0);
    CU_ASSERT_EQUAL(msgsec_m5g_lines_next(&l, &line, &len), -1);
    msgsec_m5g_lines_free(&l);

    /* No LF yet, already too long. */
    CU_ASSERT_EQUAL(msgsec_m5g_lines_push(&l, big, MSGSEC_M5G_LINE_MAX + 2),
                    0);
    CU_ASSERT_EQUAL(msgsec_m5g_lines_next(&l, &line, &len), -1);
    msgsec_m5g_lines_free(&l);
    free(big);
}

int main(void)
{
    CU_TestInfo tests[] = {
        {"REG and DEREG parse", test_parse_reg_dereg},
        {"MSG parses with every field", test_parse_msg},
        {"MSGRESP and IMDN parse", test_parse_resp_imdn},
        {"bad lines: outcome, reason, msgId kept", test_parse_bad},
        {"identifier length limits", test_id_limits},
        {"built lines parse back", test_build_round_trip},
        {"every built line ends with one LF", test_build_lf},
        {"incomplete or oversized messages are not built",
         test_build_refused},
        {"RFC 3339 date-times", test_time},
        {"wire names", test_names},
        {"line splitter", test_lines},
        {"line splitter limit of 16384 bytes", test_lines_limit},
        CU_TEST_INFO_NULL,
    };
    return msgsec_test_main("msgin5g_msg", NULL, NULL, tests);
}
