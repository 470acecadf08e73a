/* test_seal_codec.c - the SEAL codecs of the SDK: keyInfo, ValKeyInfo,
 * key-records and association URLs and queries, the key and association
 * answers, the PSK identity, OAuth2 token requests and responses, on good
 * and hostile input. */
#include <stdlib.h>
#include <string.h>

#include <msgsec/seal.h>

#include "testutil.h"

#define PSK_HEX                                                                \
    "000102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f"
#define EXPIRY 1767225600 /* 2026-01-01T00:00:00Z */
#define ROOT "http://km.example.com:8080"

/* Larger than any structure checked here. */
static const uint8_t zeros[8192];
#define is_zero(p, n) (memcmp((p), zeros, (n)) == 0)

static void sample_psk(msgsec_seal_psk *k, size_t len)
{
    memset(k, 0, sizeof(*k));
    strcpy(k->psk_id, "3GPP-SEAL:alice@msgin5g.example#k1");
    for (size_t i = 0; i < len; i++)
        k->psk[i] = (uint8_t)i;
    k->psk_len = len;
    k->expiry = EXPIRY;
}

static void sample_vki(msgsec_seal_val_key_info *v)
{
    memset(v, 0, sizeof(*v));
    strcpy(v->user_uri, "sip:alice@msgin5g.example");
    strcpy(v->val_service, "msgin5g");
    strcpy(v->key_info,
           "{\"v\":1,\"pskId\":\"3GPP-SEAL:alice\",\"psk\":\"" PSK_HEX
           "\",\"expiry\":\"2026-01-01T00:00:00Z\"}");
}

/* A failed decoder: BAD_FRAME, a fault of this kind on this member. */
#define ASSERT_FAULT(rc, f, k, p)                                              \
    do {                                                                       \
        CU_ASSERT_EQUAL(rc, MSGSEC_ERR_BAD_FRAME);                             \
        CU_ASSERT_EQUAL((f).kind, k);                                          \
        CU_ASSERT_STRING_EQUAL((f).param, p);                                  \
        CU_ASSERT((f).reason[0] != 0);                                         \
    } while (0)

/* ------------------------------------------------------------ keyInfo */

static void t_keyinfo_round_trip(void)
{
    msgsec_seal_psk k, back;
    msgsec_aanf_fault f;
    char out[MSGSEC_SEAL_KEYINFO_MAX + 1];
    size_t n;
    sample_psk(&k, 32);
    CU_ASSERT_EQUAL(msgsec_seal_keyinfo_encode(&k, out, sizeof(out), &n), 0);
    CU_ASSERT_STRING_EQUAL(out, "{\"v\":1,\"pskId\":\"3GPP-SEAL:alice@msgin5g."
                                "example#k1\",\"psk\":\"" PSK_HEX
                                "\",\"expiry\":\"2026-01-01T00:00:00Z\"}");
    CU_ASSERT_EQUAL(n, strlen(out));
    CU_ASSERT_EQUAL(msgsec_seal_keyinfo_decode(out, n, &back, &f), 0);
    CU_ASSERT_EQUAL(memcmp(&k, &back, sizeof(k)), 0);

    /* Smallest and largest keys; a pskId with JSON escapes. */
    size_t sizes[] = {MSGSEC_SEAL_PSK_MIN, MSGSEC_SEAL_PSK_MAX};
    for (size_t i = 0; i < 2; i++) {
        sample_psk(&k, sizes[i]);
        memset(k.psk_id, 0, sizeof(k.psk_id));
        strcpy(k.psk_id, "id \"quoted\" \\ back");
        CU_ASSERT_EQUAL(msgsec_seal_keyinfo_encode(&k, out, sizeof(out), &n),
                        0);
        CU_ASSERT_EQUAL(msgsec_seal_keyinfo_decode(out, n, &back, &f), 0);
        CU_ASSERT_EQUAL(back.psk_len, sizes[i]);
        CU_ASSERT_STRING_EQUAL(back.psk_id, "id \"quoted\" \\ back");
        CU_ASSERT_EQUAL(memcmp(&k, &back, sizeof(k)), 0);
    }

    /* Upper-case hex, an offset, fractions, unknown members: read. */
    const char *other =
        "{\"expiry\":\"2026-01-01T02:00:00.5+02:00\",\"psk\":"
        "\"000102030405060708090A0B0C0D0E0F\",\"pskId\":\"x\",\"v\":1,"
        "\"extra\":{\"a\":[1,2]}}";
    CU_ASSERT_EQUAL(msgsec_seal_keyinfo_decode(other, strlen(other), &back, &f),
                    0);
    CU_ASSERT_EQUAL(back.expiry, EXPIRY);
    CU_ASSERT_EQUAL(back.psk_len, 16);
    CU_ASSERT_EQUAL(back.psk[15], 15);
    CU_ASSERT_STRING_EQUAL(back.psk_id, "x");
    CU_ASSERT_EQUAL(f.kind, MSGSEC_AANF_FAULT_NONE);
}

static void t_keyinfo_encode_bad(void)
{
    msgsec_seal_psk k;
    char out[MSGSEC_SEAL_KEYINFO_MAX + 1];
    size_t n;
    sample_psk(&k, 15);
    CU_ASSERT_EQUAL(msgsec_seal_keyinfo_encode(&k, out, sizeof(out), &n),
                    MSGSEC_ERR_INVALID_ARG);
    sample_psk(&k, 32);
    k.psk_len = 65;
    CU_ASSERT_EQUAL(msgsec_seal_keyinfo_encode(&k, out, sizeof(out), &n),
                    MSGSEC_ERR_INVALID_ARG);
    sample_psk(&k, 32);
    k.psk_id[0] = 0;
    CU_ASSERT_EQUAL(msgsec_seal_keyinfo_encode(&k, out, sizeof(out), &n),
                    MSGSEC_ERR_INVALID_ARG);
    sample_psk(&k, 32);
    k.psk_id[3] = '\t';
    CU_ASSERT_EQUAL(msgsec_seal_keyinfo_encode(&k, out, sizeof(out), &n),
                    MSGSEC_ERR_INVALID_ARG);
    sample_psk(&k, 32);
    strcpy(k.psk_id, "caf\xc3\xa9"); /* not ASCII */
    CU_ASSERT_EQUAL(msgsec_seal_keyinfo_encode(&k, out, sizeof(out), &n),
                    MSGSEC_ERR_INVALID_ARG);
    sample_psk(&k, 32);
    memset(k.psk_id, 'a', sizeof(k.psk_id)); /* not terminated */
    CU_ASSERT_EQUAL(msgsec_seal_keyinfo_encode(&k, out, sizeof(out), &n),
                    MSGSEC_ERR_INVALID_ARG);
    sample_psk(&k, 32);
    k.expiry = 253402300800LL; /* year 10000 */
    CU_ASSERT_EQUAL(msgsec_seal_keyinfo_encode(&k, out, sizeof(out), &n),
                    MSGSEC_ERR_INVALID_ARG);
    CU_ASSERT_EQUAL(msgsec_seal_keyinfo_encode(NULL, out, sizeof(out), &n),
                    MSGSEC_ERR_INVALID_ARG);

    /* Too small: an error, and no trace of the key in out. */
    sample_psk(&k, 32);
    memset(out, 'x', sizeof(out));
    CU_ASSERT_EQUAL(msgsec_seal_keyinfo_encode(&k, out, 100, &n),
                    MSGSEC_ERR_BUFFER_TOO_SMALL);
    CU_ASSERT(is_zero(out, 100));
    CU_ASSERT_EQUAL(n, 0);
}

static void t_keyinfo_hostile(void)
{
    static const struct {
        const char *json;
        int kind;
        const char *param;
    } bad[] = {
        {"", MSGSEC_AANF_FAULT_SYNTAX, ""},
        {"[1]", MSGSEC_AANF_FAULT_SYNTAX, ""},
        {"{\"v\":1,\"pskId\":\"a\"", MSGSEC_AANF_FAULT_SYNTAX, ""},
        {"{\"v\":1,\"pskId\":\"a\",\"psk\":\"" PSK_HEX "\",\"psk\":\"" PSK_HEX
         "\",\"expiry\":\"2026-01-01T00:00:00Z\"}",
         MSGSEC_AANF_FAULT_SYNTAX, ""},
        {"{\"pskId\":\"a\",\"psk\":\"" PSK_HEX
         "\",\"expiry\":\"2026-01-01T00:00:00Z\"}",
         MSGSEC_AANF_FAULT_MISSING, "/v"},
        {"{\"v\":2,\"pskId\":\"a\",\"psk\":\"" PSK_HEX
         "\",\"expiry\":\"2026-01-01T00:00:00Z\"}",
         MSGSEC_AANF_FAULT_INCORRECT, "/v"},
        {"{\"v\":\"1\",\"pskId\":\"a\",\"psk\":\"" PSK_HEX
         "\",\"expiry\":\"2026-01-01T00:00:00Z\"}",
         MSGSEC_AANF_FAULT_INCORRECT, "/v"},
        {"{\"v\":1.0,\"pskId\":\"a\",\"psk\":\"" PSK_HEX
         "\",\"expiry\":\"2026-01-01T00:00:00Z\"}",
         MSGSEC_AANF_FAULT_INCORRECT, "/v"},
        {"{\"v\":1,\"psk\":\"" PSK_HEX
         "\",\"expiry\":\"2026-01-01T00:00:00Z\"}",
         MSGSEC_AANF_FAULT_MISSING, "/pskId"},
        {"{\"v\":1,\"pskId\":7,\"psk\":\"" PSK_HEX
         "\",\"expiry\":\"2026-01-01T00:00:00Z\"}",
         MSGSEC_AANF_FAULT_INCORRECT, "/pskId"},
        {"{\"v\":1,\"pskId\":\"\",\"psk\":\"" PSK_HEX
         "\",\"expiry\":\"2026-01-01T00:00:00Z\"}",
         MSGSEC_AANF_FAULT_INCORRECT, "/pskId"},
        {"{\"v\":1,\"pskId\":\"a\\u0001b\",\"psk\":\"" PSK_HEX
         "\",\"expiry\":\"2026-01-01T00:00:00Z\"}",
         MSGSEC_AANF_FAULT_INCORRECT, "/pskId"},
        {"{\"v\":1,\"pskId\":\"caf\\u00e9\",\"psk\":\"" PSK_HEX
         "\",\"expiry\":\"2026-01-01T00:00:00Z\"}",
         MSGSEC_AANF_FAULT_INCORRECT, "/pskId"},
        {"{\"v\":1,\"pskId\":\"a\",\"expiry\":\"2026-01-01T00:00:00Z\"}",
         MSGSEC_AANF_FAULT_MISSING, "/psk"},
        {"{\"v\":1,\"pskId\":\"a\",\"psk\":\"" PSK_HEX
         "0\",\"expiry\":\"2026-01-01T00:00:00Z\"}",
         MSGSEC_AANF_FAULT_INCORRECT, "/psk"},
        {"{\"v\":1,\"pskId\":\"a\",\"psk\":\"zz0102030405060708090a0b0c0d0e0f"
         "\",\"expiry\":\"2026-01-01T00:00:00Z\"}",
         MSGSEC_AANF_FAULT_INCORRECT, "/psk"},
        {"{\"v\":1,\"pskId\":\"a\",\"psk\":\"000102030405060708090a0b0c0d0e"
         "\",\"expiry\":\"2026-01-01T00:00:00Z\"}",
         MSGSEC_AANF_FAULT_INCORRECT, "/psk"}, /* 15 bytes */
        {"{\"v\":1,\"pskId\":\"a\",\"psk\":\"" PSK_HEX PSK_HEX
         "00\",\"expiry\":\"2026-01-01T00:00:00Z\"}",
         MSGSEC_AANF_FAULT_INCORRECT, "/psk"}, /* 65 bytes */
        {"{\"v\":1,\"pskId\":\"a\",\"psk\":[],"
         "\"expiry\":\"2026-01-01T00:00:00Z\"}",
         MSGSEC_AANF_FAULT_INCORRECT, "/psk"},
        {"{\"v\":1,\"pskId\":\"a\",\"psk\":\"" PSK_HEX "\"}",
         MSGSEC_AANF_FAULT_MISSING, "/expiry"},
        {"{\"v\":1,\"pskId\":\"a\",\"psk\":\"" PSK_HEX
         "\",\"expiry\":\"2026-02-30T00:00:00Z\"}",
         MSGSEC_AANF_FAULT_INCORRECT, "/expiry"},
    };
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        msgsec_seal_psk k;
        msgsec_aanf_fault f;
        int rc = msgsec_seal_keyinfo_decode(bad[i].json, strlen(bad[i].json),
                                            &k, &f);
        ASSERT_FAULT(rc, f, bad[i].kind, bad[i].param);
        CU_ASSERT(is_zero(&k, sizeof(k)));
        /* Never the key in the fault. */
        CU_ASSERT_PTR_NULL(strstr(f.reason, "0102030405"));
    }

    /* A pskId over 255 bytes; a text over the keyInfo limit is a syntax
     * fault before parsing. */
    char big[MSGSEC_SEAL_KEYINFO_MAX + 64];
    char id[300];
    memset(id, 'i', 256);
    id[256] = 0;
    snprintf(big, sizeof(big),
             "{\"v\":1,\"pskId\":\"%s\",\"psk\":\"" PSK_HEX
             "\",\"expiry\":\"2026-01-01T00:00:00Z\"}",
             id);
    msgsec_seal_psk k;
    msgsec_aanf_fault f;
    ASSERT_FAULT(msgsec_seal_keyinfo_decode(big, strlen(big), &k, &f), f,
                 MSGSEC_AANF_FAULT_INCORRECT, "/pskId");
    memset(big, ' ', sizeof(big));
    memcpy(big, "{}", 2);
    ASSERT_FAULT(
        msgsec_seal_keyinfo_decode(big, MSGSEC_SEAL_KEYINFO_MAX + 1, &k, &f), f,
        MSGSEC_AANF_FAULT_SYNTAX, "");
    /* No NUL needed, a NUL inside refused. */
    const char nul[] = "{\"v\":1\0}";
    CU_ASSERT_EQUAL(msgsec_seal_keyinfo_decode(nul, sizeof(nul) - 1, &k, &f),
                    MSGSEC_ERR_BAD_FRAME);
    CU_ASSERT_EQUAL(msgsec_seal_keyinfo_decode(NULL, 3, &k, &f),
                    MSGSEC_ERR_INVALID_ARG);
    CU_ASSERT_EQUAL(msgsec_seal_keyinfo_decode("{}", 2, NULL, &f),
                    MSGSEC_ERR_INVALID_ARG);
    /* fault may be NULL. */
    CU_ASSERT_EQUAL(msgsec_seal_keyinfo_decode("{}", 2, &k, NULL),
                    MSGSEC_ERR_BAD_FRAME);
}

/* ---------------------------------------------------------- ValKeyInfo */

static void t_val_key_info(void)
{
    msgsec_seal_val_key_info v, back;
    msgsec_aanf_fault f;
    char out[4096];
    size_t n;
    sample_vki(&v);
    CU_ASSERT_EQUAL(msgsec_seal_encode_val_key_info(&v, out, sizeof(out), &n),
                    0);
    const char *pre = "{\"userUri\":\"sip:alice@msgin5g.example\","
                      "\"valService\":\"msgin5g\",\"keyInfo\":\"{\\\"v\\\":1,";
    CU_ASSERT_EQUAL(strncmp(out, pre, strlen(pre)), 0);
    CU_ASSERT_PTR_NULL(strstr(out, "skmsId"));
    CU_ASSERT_PTR_NULL(strstr(out, "valTgtUe"));
    CU_ASSERT_EQUAL(msgsec_seal_decode_val_key_info(out, n, &back, &f), 0);
    CU_ASSERT_EQUAL(memcmp(&v, &back, sizeof(v)), 0);

    strcpy(v.skms_id, "skms-1");
    v.has_tgt = 1;
    strcpy(v.val_tgt_ue.val_user_id, "bob@msgin5g.example");
    CU_ASSERT_EQUAL(msgsec_seal_encode_val_key_info(&v, out, sizeof(out), &n),
                    0);
    CU_ASSERT_PTR_NOT_NULL(
        strstr(out, ",\"skmsId\":\"skms-1\",\"valTgtUe\":{\"valUserId\":"
                    "\"bob@msgin5g.example\"}}"));
    CU_ASSERT_EQUAL(msgsec_seal_decode_val_key_info(out, n, &back, &f), 0);
    CU_ASSERT_EQUAL(memcmp(&v, &back, sizeof(v)), 0);
    CU_ASSERT_EQUAL(back.has_tgt, 1);

    memset(&v.val_tgt_ue, 0, sizeof(v.val_tgt_ue));
    strcpy(v.val_tgt_ue.val_ue_id, "ue-77");
    CU_ASSERT_EQUAL(msgsec_seal_encode_val_key_info(&v, out, sizeof(out), &n),
                    0);
    CU_ASSERT_EQUAL(msgsec_seal_decode_val_key_info(out, n, &back, &f), 0);
    CU_ASSERT_STRING_EQUAL(back.val_tgt_ue.val_ue_id, "ue-77");
    CU_ASSERT_STRING_EQUAL(back.val_tgt_ue.val_user_id, "");

    /* Encoder refusals. */
    strcpy(v.val_tgt_ue.val_user_id, "both");
    CU_ASSERT_EQUAL(msgsec_seal_encode_val_key_info(&v, out, sizeof(out), &n),
                    MSGSEC_ERR_INVALID_ARG);
    memset(&v.val_tgt_ue, 0, sizeof(v.val_tgt_ue));
    CU_ASSERT_EQUAL(msgsec_seal_encode_val_key_info(&v, out, sizeof(out), &n),
                    MSGSEC_ERR_INVALID_ARG);
    sample_vki(&v);
    v.has_tgt = 2;
    CU_ASSERT_EQUAL(msgsec_seal_encode_val_key_info(&v, out, sizeof(out), &n),
                    MSGSEC_ERR_INVALID_ARG);
    sample_vki(&v);
    v.val_service[0] = 0;
    CU_ASSERT_EQUAL(msgsec_seal_encode_val_key_info(&v, out, sizeof(out), &n),
                    MSGSEC_ERR_INVALID_ARG);
    sample_vki(&v);
    strcpy(v.user_uri, "sip:\x7f");
    CU_ASSERT_EQUAL(msgsec_seal_encode_val_key_info(&v, out, sizeof(out), &n),
                    MSGSEC_ERR_INVALID_ARG);
    sample_vki(&v);
    memset(out, 'x', 64);
    CU_ASSERT_EQUAL(msgsec_seal_encode_val_key_info(&v, out, 64, &n),
                    MSGSEC_ERR_BUFFER_TOO_SMALL);
    CU_ASSERT(is_zero(out, 64));
}

static void t_val_key_info_hostile(void)
{
#define KI "\"keyInfo\":\"k\""
    static const struct {
        const char *json;
        int kind;
        const char *param;
    } bad[] = {
        {"{\"valService\":\"s\"," KI "}", MSGSEC_AANF_FAULT_MISSING,
         "/userUri"},
        {"{\"userUri\":\"u\"," KI "}", MSGSEC_AANF_FAULT_MISSING,
         "/valService"},
        {"{\"userUri\":\"u\",\"valService\":\"s\"}", MSGSEC_AANF_FAULT_MISSING,
         "/keyInfo"},
        {"{\"userUri\":\"u\",\"valService\":1," KI "}",
         MSGSEC_AANF_FAULT_INCORRECT, "/valService"},
        {"{\"userUri\":\"u\",\"valService\":\"s\",\"valService\":\"s\"," KI "}",
         MSGSEC_AANF_FAULT_SYNTAX, ""},
        {"{\"userUri\":\"u\\n\",\"valService\":\"s\"," KI "}",
         MSGSEC_AANF_FAULT_INCORRECT, "/userUri"},
        {"{\"userUri\":\"u\",\"valService\":\"s\"," KI ",\"skmsId\":null}",
         MSGSEC_AANF_FAULT_INCORRECT, "/skmsId"},
        {"{\"userUri\":\"u\",\"valService\":\"s\"," KI ",\"valTgtUe\":\"x\"}",
         MSGSEC_AANF_FAULT_INCORRECT, "/valTgtUe"},
        {"{\"userUri\":\"u\",\"valService\":\"s\"," KI ",\"valTgtUe\":{}}",
         MSGSEC_AANF_FAULT_MISSING, "/valTgtUe"},
        {"{\"userUri\":\"u\",\"valService\":\"s\"," KI
         ",\"valTgtUe\":{\"valUserId\":\"a\",\"valUeId\":\"b\"}}",
         MSGSEC_AANF_FAULT_INCORRECT, "/valTgtUe"},
        {"{\"userUri\":\"u\",\"valService\":\"s\"," KI
         ",\"valTgtUe\":{\"valUeId\":\"\"}}",
         MSGSEC_AANF_FAULT_INCORRECT, "/valTgtUe/valUeId"},
    };
#undef KI
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        msgsec_seal_val_key_info v;
        msgsec_aanf_fault f;
        int rc = msgsec_seal_decode_val_key_info(bad[i].json,
                                                 strlen(bad[i].json), &v, &f);
        ASSERT_FAULT(rc, f, bad[i].kind, bad[i].param);
        CU_ASSERT(is_zero(&v, sizeof(v)));
    }

    /* Lengths: keyInfo of 1024 bytes is read, 1025 is not. */
    char body[4096], ki[MSGSEC_SEAL_KEYINFO_MAX + 2];
    memset(ki, 'k', sizeof(ki));
    ki[MSGSEC_SEAL_KEYINFO_MAX] = 0;
    msgsec_seal_val_key_info v;
    msgsec_aanf_fault f;
    snprintf(body, sizeof(body),
             "{\"userUri\":\"u\",\"valService\":\"s\",\"keyInfo\":\"%s\"}", ki);
    CU_ASSERT_EQUAL(msgsec_seal_decode_val_key_info(body, strlen(body), &v, &f),
                    0);
    CU_ASSERT_EQUAL(strlen(v.key_info), MSGSEC_SEAL_KEYINFO_MAX);
    ki[MSGSEC_SEAL_KEYINFO_MAX] = 'k';
    ki[MSGSEC_SEAL_KEYINFO_MAX + 1] = 0;
    snprintf(body, sizeof(body),
             "{\"userUri\":\"u\",\"valService\":\"s\",\"keyInfo\":\"%s\"}", ki);
    ASSERT_FAULT(msgsec_seal_decode_val_key_info(body, strlen(body), &v, &f), f,
                 MSGSEC_AANF_FAULT_INCORRECT, "/keyInfo");
    /* valService of 256 bytes. */
    char id[300];
    memset(id, 's', 256);
    id[256] = 0;
    snprintf(body, sizeof(body),
             "{\"userUri\":\"u\",\"valService\":\"%s\",\"keyInfo\":\"k\"}", id);
    ASSERT_FAULT(msgsec_seal_decode_val_key_info(body, strlen(body), &v, &f), f,
                 MSGSEC_AANF_FAULT_INCORRECT, "/valService");
    /* The body limit. */
    char *huge = malloc(MSGSEC_SEAL_BODY_MAX + 2);
    CU_ASSERT_FATAL(huge != NULL);
    memset(huge, ' ', MSGSEC_SEAL_BODY_MAX + 1);
    huge[0] = '{';
    huge[MSGSEC_SEAL_BODY_MAX] = '}';
    ASSERT_FAULT(
        msgsec_seal_decode_val_key_info(huge, MSGSEC_SEAL_BODY_MAX + 1, &v, &f),
        f, MSGSEC_AANF_FAULT_SYNTAX, "");
    free(huge);
}

/* -------------------------------------------------- URLs and queries */

static void t_key_records_url(void)
{
    char url[1024];
    CU_ASSERT_EQUAL(msgsec_seal_key_records_url(ROOT "/", "msgin5g", NULL, url,
                                                sizeof(url)),
                    0);
    CU_ASSERT_STRING_EQUAL(url, ROOT
                           "/ss-kir/v1/key-records?val-service-id=msgin5g");

    msgsec_seal_target t = {0};
    strcpy(t.val_user_id, "alice@x y");
    CU_ASSERT_EQUAL(
        msgsec_seal_key_records_url(ROOT, "svc/1&2", &t, url, sizeof(url)), 0);
    CU_ASSERT_STRING_EQUAL(
        url, ROOT "/ss-kir/v1/key-records?val-service-id=svc%2F1%262"
                  "&val-tgt-ue=%7B%22valUserId%22%3A%22alice%40x%20y%22%7D");

    /* Exactly the room needed, then one byte less. */
    size_t need = strlen(url) + 1;
    CU_ASSERT_EQUAL(msgsec_seal_key_records_url(ROOT, "svc/1&2", &t, url, need),
                    0);
    CU_ASSERT_EQUAL(
        msgsec_seal_key_records_url(ROOT, "svc/1&2", &t, url, need - 1),
        MSGSEC_ERR_BUFFER_TOO_SMALL);
    CU_ASSERT_STRING_EQUAL(url, "");

    CU_ASSERT_EQUAL(
        msgsec_seal_key_records_url("ftp://x", "s", NULL, url, sizeof(url)),
        MSGSEC_ERR_INVALID_ARG);
    CU_ASSERT_EQUAL(
        msgsec_seal_key_records_url(ROOT "?q", "s", NULL, url, sizeof(url)),
        MSGSEC_ERR_INVALID_ARG);
    CU_ASSERT_EQUAL(
        msgsec_seal_key_records_url(ROOT, "", NULL, url, sizeof(url)),
        MSGSEC_ERR_INVALID_ARG);
    CU_ASSERT_EQUAL(
        msgsec_seal_key_records_url(ROOT, "a\rb", NULL, url, sizeof(url)),
        MSGSEC_ERR_INVALID_ARG);
    CU_ASSERT_EQUAL(
        msgsec_seal_key_records_url(ROOT, "\xff", NULL, url, sizeof(url)),
        MSGSEC_ERR_INVALID_ARG);
    strcpy(t.val_ue_id, "both");
    CU_ASSERT_EQUAL(
        msgsec_seal_key_records_url(ROOT, "s", &t, url, sizeof(url)),
        MSGSEC_ERR_INVALID_ARG);
    CU_ASSERT_STRING_EQUAL(url, "");
    memset(&t, 0, sizeof(t));
    CU_ASSERT_EQUAL(
        msgsec_seal_key_records_url(ROOT, "s", &t, url, sizeof(url)),
        MSGSEC_ERR_INVALID_ARG);
}

static void t_key_records_query(void)
{
    char url[2048], sid[MSGSEC_SEAL_ID_MAX + 1];
    msgsec_seal_target t = {0}, back;
    msgsec_aanf_fault f;
    int has;
    /* Round trip of what the builder writes, with awkward characters. */
    strcpy(t.val_ue_id, "ue \"7\" \\ %41 + caf\xc3\xa9");
    CU_ASSERT_EQUAL(
        msgsec_seal_key_records_url(ROOT, "s+p a%", &t, url, sizeof(url)), 0);
    const char *q = strchr(url, '?') + 1;
    CU_ASSERT_EQUAL(msgsec_seal_parse_key_records_query(
                        q, strlen(q), sid, sizeof(sid), &back, &has, &f),
                    0);
    CU_ASSERT_STRING_EQUAL(sid, "s+p a%");
    CU_ASSERT_EQUAL(has, 1);
    CU_ASSERT_EQUAL(memcmp(&t, &back, sizeof(t)), 0);

    /* Without target; in either order; lower-case escapes; '+' is '+'. */
    const char *good[] = {"val-service-id=msgin5g",
                          "val-tgt-ue=%7b%22valUserId%22%3a%22u%22%7d&"
                          "val-service-id=a+b%2fc"};
    CU_ASSERT_EQUAL(
        msgsec_seal_parse_key_records_query(good[0], strlen(good[0]), sid,
                                            sizeof(sid), &back, &has, &f),
        0);
    CU_ASSERT_STRING_EQUAL(sid, "msgin5g");
    CU_ASSERT_EQUAL(has, 0);
    CU_ASSERT(is_zero(&back, sizeof(back)));
    CU_ASSERT_EQUAL(
        msgsec_seal_parse_key_records_query(good[1], strlen(good[1]), sid,
                                            sizeof(sid), &back, &has, &f),
        0);
    CU_ASSERT_STRING_EQUAL(sid, "a+b/c");
    CU_ASSERT_EQUAL(has, 1);
    CU_ASSERT_STRING_EQUAL(back.val_user_id, "u");

    static const struct {
        const char *q;
        int kind;
        const char *param;
    } bad[] = {
        {"", MSGSEC_AANF_FAULT_MISSING, "val-service-id"},
        {"val-tgt-ue=%7B%22valUeId%22%3A%22u%22%7D", MSGSEC_AANF_FAULT_MISSING,
         "val-service-id"},
        {"val-service-id=%zz", MSGSEC_AANF_FAULT_SYNTAX, "val-service-id"},
        {"val-service-id=ab%4", MSGSEC_AANF_FAULT_SYNTAX, "val-service-id"},
        {"val-service-id=ab%", MSGSEC_AANF_FAULT_SYNTAX, "val-service-id"},
        {"val-service-id=a%00b", MSGSEC_AANF_FAULT_INCORRECT, "val-service-id"},
        {"val-service-id=a%0Ab", MSGSEC_AANF_FAULT_INCORRECT, "val-service-id"},
        {"val-service-id=%C3%28", MSGSEC_AANF_FAULT_INCORRECT,
         "val-service-id"},
        {"val-service-id=", MSGSEC_AANF_FAULT_INCORRECT, "val-service-id"},
        {"val-service-id=a&val-service-id=a", MSGSEC_AANF_FAULT_INCORRECT,
         "val-service-id"},
        {"val-service-id=a&x=1", MSGSEC_AANF_FAULT_INCORRECT, ""},
        {"val-service-id=a&", MSGSEC_AANF_FAULT_SYNTAX, ""},
        {"&val-service-id=a", MSGSEC_AANF_FAULT_SYNTAX, ""},
        {"val-service-id=a&&x", MSGSEC_AANF_FAULT_SYNTAX, ""},
        {"val-service-id", MSGSEC_AANF_FAULT_SYNTAX, ""},
        {"val%2zservice-id=a", MSGSEC_AANF_FAULT_SYNTAX, ""},
        {"val-service-id=a&val-tgt-ue=notjson", MSGSEC_AANF_FAULT_SYNTAX,
         "val-tgt-ue"},
        {"val-service-id=a&val-tgt-ue=%5B%5D", MSGSEC_AANF_FAULT_SYNTAX,
         "val-tgt-ue"},
        {"val-service-id=a&val-tgt-ue=%7B%7D", MSGSEC_AANF_FAULT_MISSING,
         "val-tgt-ue"},
        {"val-service-id=a&val-tgt-ue=%7B%22valUeId%22%3A1%7D",
         MSGSEC_AANF_FAULT_INCORRECT, "val-tgt-ue/valUeId"},
        {"val-service-id=a&val-tgt-ue=%7B%22valUeId%22%3A%22a%22%2C"
         "%22valUeId%22%3A%22b%22%7D",
         MSGSEC_AANF_FAULT_SYNTAX, "val-tgt-ue"},
        {"val-service-id=a&val-tgt-ue=%7B%22valUeId%22%3A%22a%22%7D&"
         "val-tgt-ue=%7B%22valUeId%22%3A%22a%22%7D",
         MSGSEC_AANF_FAULT_INCORRECT, "val-tgt-ue"},
    };
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        int rc = msgsec_seal_parse_key_records_query(
            bad[i].q, strlen(bad[i].q), sid, sizeof(sid), &back, &has, &f);
        ASSERT_FAULT(rc, f, bad[i].kind, bad[i].param);
        CU_ASSERT_STRING_EQUAL(sid, "");
        CU_ASSERT_EQUAL(has, 0);
        CU_ASSERT(is_zero(&back, sizeof(back)));
    }

    /* 255 bytes fit, 256 do not; nor what does not fit sid_cap. */
    char query[400], id[300];
    memset(id, 'a', 256);
    id[255] = 0;
    snprintf(query, sizeof(query), "val-service-id=%s", id);
    CU_ASSERT_EQUAL(msgsec_seal_parse_key_records_query(query, strlen(query),
                                                        sid, sizeof(sid), &back,
                                                        &has, &f),
                    0);
    CU_ASSERT_EQUAL(strlen(sid), 255);
    char small[8];
    ASSERT_FAULT(msgsec_seal_parse_key_records_query(query, strlen(query),
                                                     small, sizeof(small),
                                                     &back, &has, &f),
                 f, MSGSEC_AANF_FAULT_INCORRECT, "val-service-id");
    id[255] = 'a';
    id[256] = 0;
    snprintf(query, sizeof(query), "val-service-id=%s", id);
    ASSERT_FAULT(msgsec_seal_parse_key_records_query(
                     query, strlen(query), sid, sizeof(sid), &back, &has, &f),
                 f, MSGSEC_AANF_FAULT_INCORRECT, "val-service-id");
    CU_ASSERT_EQUAL(
        msgsec_seal_parse_key_records_query("a", 1, sid, 0, &back, &has, &f),
        MSGSEC_ERR_INVALID_ARG);
    CU_ASSERT_EQUAL(msgsec_seal_parse_key_records_query(
                        NULL, 1, sid, sizeof(sid), &back, &has, &f),
                    MSGSEC_ERR_INVALID_ARG);
}

static void t_assoc_url_query(void)
{
    char url[512], id[MSGSEC_SEAL_ID_MAX + 1];
    msgsec_aanf_fault f;
    CU_ASSERT_EQUAL(
        msgsec_seal_assoc_url(ROOT, "imsi-001010000000001", url, sizeof(url)),
        0);
    CU_ASSERT_STRING_EQUAL(url, ROOT "/msgsec-seal-cm/v1/associations"
                                     "?identity=imsi-001010000000001");
    CU_ASSERT_EQUAL(msgsec_seal_assoc_url(ROOT, "alice@x#1", url, sizeof(url)),
                    0);
    CU_ASSERT_STRING_EQUAL(url, ROOT "/msgsec-seal-cm/v1/associations"
                                     "?identity=alice%40x%231");
    const char *q = strchr(url, '?') + 1;
    CU_ASSERT_EQUAL(msgsec_seal_parse_assoc_query(q, strlen(q), id, &f), 0);
    CU_ASSERT_STRING_EQUAL(id, "alice@x#1");
    CU_ASSERT_EQUAL(msgsec_seal_assoc_url(ROOT, "", url, sizeof(url)),
                    MSGSEC_ERR_INVALID_ARG);
    CU_ASSERT_EQUAL(msgsec_seal_assoc_url(ROOT, "a", url, 10),
                    MSGSEC_ERR_BUFFER_TOO_SMALL);
    CU_ASSERT_EQUAL(msgsec_seal_assoc_url("http://", "a", url, sizeof(url)),
                    MSGSEC_ERR_INVALID_ARG);

    static const struct {
        const char *q;
        int kind;
        const char *param;
    } bad[] = {
        {"", MSGSEC_AANF_FAULT_MISSING, "identity"},
        {"identity=a&identity=a", MSGSEC_AANF_FAULT_INCORRECT, "identity"},
        {"identity=a&supi=b", MSGSEC_AANF_FAULT_INCORRECT, ""},
        {"identity=%zz", MSGSEC_AANF_FAULT_SYNTAX, "identity"},
        {"identity=%00", MSGSEC_AANF_FAULT_INCORRECT, "identity"},
        {"identity=a%", MSGSEC_AANF_FAULT_SYNTAX, "identity"},
    };
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        int rc =
            msgsec_seal_parse_assoc_query(bad[i].q, strlen(bad[i].q), id, &f);
        ASSERT_FAULT(rc, f, bad[i].kind, bad[i].param);
        CU_ASSERT_STRING_EQUAL(id, "");
    }
    CU_ASSERT_EQUAL(msgsec_seal_parse_assoc_query("identity=a", 10, NULL, &f),
                    MSGSEC_ERR_INVALID_ARG);
}

/* --------------------------------------------------------- key answer */

/* A ValKeyInfo for service svc whose key expires at `expiry`. */
static size_t answer(char *out, size_t cap, const char *svc, int64_t expiry)
{
    msgsec_seal_psk k;
    msgsec_seal_val_key_info v;
    size_t n;
    sample_psk(&k, 32);
    k.expiry = expiry;
    sample_vki(&v);
    strcpy(v.val_service, svc);
    CU_ASSERT_FATAL(msgsec_seal_keyinfo_encode(&k, v.key_info,
                                               sizeof(v.key_info), &n) == 0);
    CU_ASSERT_FATAL(msgsec_seal_encode_val_key_info(&v, out, cap, &n) == 0);
    return n;
}

static void t_key_result(void)
{
    char body[4096], detail[256];
    msgsec_seal_psk k, want;
    msgsec_aanf_problem p;
    sample_psk(&want, 32);
    size_t n = answer(body, sizeof(body), "msgin5g", EXPIRY);

    CU_ASSERT_EQUAL(msgsec_seal_key_result(
                        200, "application/json; charset=utf-8", body, n,
                        "msgin5g", EXPIRY - 1, &k, &p, detail, sizeof(detail)),
                    0);
    CU_ASSERT_EQUAL(memcmp(&k, &want, sizeof(k)), 0);
    CU_ASSERT_STRING_EQUAL(detail, "");

    /* Expired at `now` (and when its lifetime ends exactly now). */
    CU_ASSERT_EQUAL(msgsec_seal_key_result(200, "application/json", body, n,
                                           "msgin5g", EXPIRY, &k, &p, detail,
                                           sizeof(detail)),
                    MSGSEC_ERR_KEY_EXPIRED);
    CU_ASSERT(is_zero(&k, sizeof(k)));
    CU_ASSERT_PTR_NOT_NULL(strstr(detail, "2026-01-01T00:00:00Z"));
    CU_ASSERT_PTR_NULL(strstr(detail, "0102030405"));
    CU_ASSERT_EQUAL(msgsec_seal_key_result(200, "application/json", body, n,
                                           "msgin5g", EXPIRY + 3600, &k, NULL,
                                           NULL, 0),
                    MSGSEC_ERR_KEY_EXPIRED);

    /* Another service's key. */
    CU_ASSERT_EQUAL(msgsec_seal_key_result(200, "application/json", body, n,
                                           "other", 0, &k, &p, detail,
                                           sizeof(detail)),
                    MSGSEC_ERR_BAD_FRAME);
    CU_ASSERT(is_zero(&k, sizeof(k)));
    CU_ASSERT_PTR_NOT_NULL(strstr(detail, "another VAL service"));

    /* Wrong content type; garbage; keyInfo that does not decode. */
    CU_ASSERT_EQUAL(msgsec_seal_key_result(200, "text/plain", body, n,
                                           "msgin5g", 0, &k, &p, detail,
                                           sizeof(detail)),
                    MSGSEC_ERR_BAD_FRAME);
    CU_ASSERT_PTR_NOT_NULL(strstr(detail, "text/plain"));
    CU_ASSERT_EQUAL(msgsec_seal_key_result(200, NULL, body, n, "msgin5g", 0, &k,
                                           &p, detail, sizeof(detail)),
                    MSGSEC_ERR_BAD_FRAME);
    CU_ASSERT_EQUAL(msgsec_seal_key_result(200, "application/json", "<html>", 6,
                                           "msgin5g", 0, &k, &p, detail,
                                           sizeof(detail)),
                    MSGSEC_ERR_BAD_FRAME);
    CU_ASSERT_PTR_NOT_NULL(strstr(detail, "bad ValKeyInfo"));
    const char *badki = "{\"userUri\":\"u\",\"valService\":\"msgin5g\","
                        "\"keyInfo\":\"{\\\"v\\\":1,\\\"pskId\\\":\\\"a\\\","
                        "\\\"psk\\\":\\\"00\\\",\\\"expiry\\\":"
                        "\\\"2026-01-01T00:00:00Z\\\"}\"}";
    CU_ASSERT_EQUAL(msgsec_seal_key_result(200, "application/json", badki,
                                           strlen(badki), "msgin5g", 0, &k, &p,
                                           detail, sizeof(detail)),
                    MSGSEC_ERR_BAD_FRAME);
    CU_ASSERT_PTR_NOT_NULL(strstr(detail, "bad keyInfo: /psk"));

    /* Error answers with and without ProblemDetails. */
    const char *pd = "{\"title\":\"Unauthorized\",\"status\":401,"
                     "\"cause\":\"INVALID_TOKEN\"}";
    CU_ASSERT_EQUAL(msgsec_seal_key_result(401, "application/problem+json", pd,
                                           strlen(pd), "msgin5g", 0, &k, &p,
                                           detail, sizeof(detail)),
                    MSGSEC_ERR_TOKEN_REJECTED);
    CU_ASSERT_STRING_EQUAL(p.title, "Unauthorized");
    CU_ASSERT_STRING_EQUAL(p.cause, "INVALID_TOKEN");
    CU_ASSERT_EQUAL(p.status, 401);
    CU_ASSERT_STRING_EQUAL(detail, "HTTP 401: Unauthorized (INVALID_TOKEN)");
    CU_ASSERT(is_zero(&k, sizeof(k)));
    CU_ASSERT_EQUAL(msgsec_seal_key_result(403, NULL, NULL, 0, "msgin5g", 0, &k,
                                           &p, detail, sizeof(detail)),
                    MSGSEC_ERR_TOKEN_REJECTED);
    CU_ASSERT_EQUAL(p.status, 403);
    CU_ASSERT_STRING_EQUAL(detail, "HTTP 403 without ProblemDetails");
    CU_ASSERT_EQUAL(msgsec_seal_key_result(404, "application/problem+json",
                                           "{\"status\":404}", 14, "msgin5g", 0,
                                           &k, &p, detail, sizeof(detail)),
                    MSGSEC_ERR_KEY_UNAVAILABLE);
    CU_ASSERT_EQUAL(p.status, 404);
    CU_ASSERT_EQUAL(msgsec_seal_key_result(500, "text/html", "<h1>oops</h1>",
                                           13, "msgin5g", 0, &k, &p, detail,
                                           sizeof(detail)),
                    MSGSEC_ERR_LOOKUP_FAILED);
    CU_ASSERT_EQUAL(p.status, 500);
    CU_ASSERT_STRING_EQUAL(detail, "HTTP 500 with a text/html body, not "
                                   "application/problem+json");
    CU_ASSERT_EQUAL(msgsec_seal_key_result(502, "application/problem+json",
                                           "{\"title\":7}", 11, "msgin5g", 0,
                                           &k, &p, detail, sizeof(detail)),
                    MSGSEC_ERR_LOOKUP_FAILED);
    CU_ASSERT_STRING_EQUAL(detail,
                           "HTTP 502 with a bad ProblemDetails: /title: not a "
                           "string");
    CU_ASSERT_EQUAL(msgsec_seal_key_result(204, NULL, NULL, 0, "msgin5g", 0, &k,
                                           &p, detail, sizeof(detail)),
                    MSGSEC_ERR_LOOKUP_FAILED);

    CU_ASSERT_EQUAL(msgsec_seal_key_result(200, "application/json", body, n,
                                           NULL, 0, &k, &p, detail,
                                           sizeof(detail)),
                    MSGSEC_ERR_INVALID_ARG);
    CU_ASSERT_EQUAL(msgsec_seal_key_result(200, "application/json", body, n,
                                           "msgin5g", 0, NULL, &p, detail,
                                           sizeof(detail)),
                    MSGSEC_ERR_INVALID_ARG);
}

/* ---------------------------------------------------------- PSK identity */

static void t_identity_build(void)
{
    char out[MSGSEC_SEAL_ID_MAX + 1];
    CU_ASSERT_EQUAL(msgsec_seal_identity_build(MSGSEC_SEAL_DEFAULT_PREFIX,
                                               "alice@msgin5g.example", NULL,
                                               out, sizeof(out)),
                    0);
    CU_ASSERT_STRING_EQUAL(out, "3GPP-SEAL:alice@msgin5g.example");
    CU_ASSERT_EQUAL(
        msgsec_seal_identity_build(NULL, "alice", "", out, sizeof(out)), 0);
    CU_ASSERT_STRING_EQUAL(out, "3GPP-SEAL:alice");
    CU_ASSERT_EQUAL(msgsec_seal_identity_build("lab/", "alice", "2025-07", out,
                                               sizeof(out)),
                    0);
    CU_ASSERT_STRING_EQUAL(out, "lab/alice#2025-07");
    CU_ASSERT_EQUAL(
        msgsec_seal_identity_build("", "alice", NULL, out, sizeof(out)), 0);
    CU_ASSERT_STRING_EQUAL(out, "alice");

    CU_ASSERT_EQUAL(
        msgsec_seal_identity_build(NULL, "", NULL, out, sizeof(out)),
        MSGSEC_ERR_INVALID_ARG);
    CU_ASSERT_STRING_EQUAL(out, "");
    CU_ASSERT_EQUAL(
        msgsec_seal_identity_build(NULL, "a#b", NULL, out, sizeof(out)),
        MSGSEC_ERR_INVALID_ARG);
    CU_ASSERT_EQUAL(
        msgsec_seal_identity_build(NULL, "a", "k#2", out, sizeof(out)),
        MSGSEC_ERR_INVALID_ARG);
    CU_ASSERT_EQUAL(
        msgsec_seal_identity_build(NULL, "a\tb", NULL, out, sizeof(out)),
        MSGSEC_ERR_INVALID_ARG);
    CU_ASSERT_EQUAL(
        msgsec_seal_identity_build(NULL, "a", "k\x7f", out, sizeof(out)),
        MSGSEC_ERR_INVALID_ARG);
    CU_ASSERT_EQUAL(
        msgsec_seal_identity_build("p\n", "a", NULL, out, sizeof(out)),
        MSGSEC_ERR_INVALID_ARG);
    CU_ASSERT_EQUAL(
        msgsec_seal_identity_build(NULL, NULL, NULL, out, sizeof(out)),
        MSGSEC_ERR_INVALID_ARG);
    /* 255 in all is the limit. */
    char user[300];
    memset(user, 'u', sizeof(user));
    user[255 - 10] = 0;
    CU_ASSERT_EQUAL(
        msgsec_seal_identity_build(NULL, user, NULL, out, sizeof(out)), 0);
    CU_ASSERT_EQUAL(strlen(out), 255);
    user[255 - 10] = 'u';
    user[256 - 10] = 0;
    CU_ASSERT_EQUAL(
        msgsec_seal_identity_build(NULL, user, NULL, out, sizeof(out)),
        MSGSEC_ERR_INVALID_ARG);
    CU_ASSERT_EQUAL(msgsec_seal_identity_build(NULL, "alice", "k", out, 18), 0);
    CU_ASSERT_EQUAL(msgsec_seal_identity_build(NULL, "alice", "k", out, 17),
                    MSGSEC_ERR_BUFFER_TOO_SMALL);
    CU_ASSERT_STRING_EQUAL(out, "");
}

static void t_identity_parse(void)
{
    char user[MSGSEC_SEAL_ID_MAX + 1], key[MSGSEC_SEAL_ID_MAX + 1];
#define ID(s) (const uint8_t *)(s), strlen(s)
    CU_ASSERT_EQUAL(
        msgsec_seal_identity_parse(NULL, ID("3GPP-SEAL:alice#k1"), user, key),
        0);
    CU_ASSERT_STRING_EQUAL(user, "alice");
    CU_ASSERT_STRING_EQUAL(key, "k1");
    CU_ASSERT_EQUAL(msgsec_seal_identity_parse(
                        "3GPP-SEAL:", ID("3GPP-SEAL:bob@x"), user, key),
                    0);
    CU_ASSERT_STRING_EQUAL(user, "bob@x");
    CU_ASSERT_STRING_EQUAL(key, "");
    CU_ASSERT_EQUAL(
        msgsec_seal_identity_parse(NULL, ID("3GPP-SEAL:bob#k"), user, NULL), 0);
    CU_ASSERT_STRING_EQUAL(user, "bob");

    /* Build and parse agree. */
    char id[MSGSEC_SEAL_ID_MAX + 1];
    CU_ASSERT_EQUAL(msgsec_seal_identity_build("x:", "caf\xc3\xa9 ue", "g 2",
                                               id, sizeof(id)),
                    0);
    CU_ASSERT_EQUAL(msgsec_seal_identity_parse("x:", ID(id), user, key), 0);
    CU_ASSERT_STRING_EQUAL(user, "caf\xc3\xa9 ue");
    CU_ASSERT_STRING_EQUAL(key, "g 2");

    static const char *bad[] = {
        "3GPP-SEAL:",         /* empty user */
        "3GPP-SEAL:#k",       /* empty user */
        "3GPP-SEAL:a#k#2",    /* second '#' */
        "3GPP-SEAL:a#",       /* empty key id */
        "3gpp-seal:a",        /* another prefix */
        "SEAL:a",             /* another prefix */
        "3GPP-SEA",           /* shorter than the prefix */
        "3GPP-SEAL:a\nb",     /* control */
        "3GPP-SEAL:a#k\x01",  /* control */
        "3GPP-SEAL:\xc3\x28", /* not UTF-8 */
    };
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        strcpy(user, "junk");
        strcpy(key, "junk");
        CU_ASSERT_EQUAL(msgsec_seal_identity_parse(NULL, ID(bad[i]), user, key),
                        MSGSEC_ERR_BAD_FRAME);
        CU_ASSERT_STRING_EQUAL(user, "");
        CU_ASSERT_STRING_EQUAL(key, "");
    }
    /* A NUL inside (the identity is bytes, not a C string). */
    const uint8_t nul[] = "3GPP-SEAL:a\0b";
    CU_ASSERT_EQUAL(
        msgsec_seal_identity_parse(NULL, nul, sizeof(nul) - 1, user, key),
        MSGSEC_ERR_BAD_FRAME);
    /* Too long: 256 bytes. */
    char longid[300];
    memset(longid, 'u', sizeof(longid));
    memcpy(longid, "3GPP-SEAL:", 10);
    CU_ASSERT_EQUAL(msgsec_seal_identity_parse(NULL, (const uint8_t *)longid,
                                               255, user, key),
                    0);
    CU_ASSERT_EQUAL(strlen(user), 245);
    CU_ASSERT_EQUAL(msgsec_seal_identity_parse(NULL, (const uint8_t *)longid,
                                               256, user, key),
                    MSGSEC_ERR_BAD_FRAME);
    CU_ASSERT_EQUAL(msgsec_seal_identity_parse(NULL, NULL, 3, user, key),
                    MSGSEC_ERR_INVALID_ARG);
    CU_ASSERT_EQUAL(
        msgsec_seal_identity_parse(NULL, ID("3GPP-SEAL:a"), NULL, key),
        MSGSEC_ERR_INVALID_ARG);
#undef ID
}

/* -------------------------------------------------------- OAuth2 tokens */

static void t_token_request(void)
{
    char body[1024], id[MSGSEC_SEAL_CLIENT_MAX + 1],
        secret[MSGSEC_SEAL_CLIENT_MAX + 1], scope[MSGSEC_SEAL_ID_MAX + 1];
    size_t n;
    msgsec_aanf_fault f;
    CU_ASSERT_EQUAL(msgsec_seal_token_request_encode("msgsec app", "s3cr&t=+%",
                                                     "ss-kir", body,
                                                     sizeof(body), &n),
                    0);
    CU_ASSERT_STRING_EQUAL(body, "grant_type=client_credentials&client_id="
                                 "msgsec+app&client_secret=s3cr%26t%3D%2B%25"
                                 "&scope=ss-kir");
    CU_ASSERT_EQUAL(n, strlen(body));
    CU_ASSERT_EQUAL(
        msgsec_seal_token_request_parse(body, n, id, secret, scope, &f), 0);
    CU_ASSERT_STRING_EQUAL(id, "msgsec app");
    CU_ASSERT_STRING_EQUAL(secret, "s3cr&t=+%");
    CU_ASSERT_STRING_EQUAL(scope, "ss-kir");

    CU_ASSERT_EQUAL(msgsec_seal_token_request_encode("c", "s", NULL, body,
                                                     sizeof(body), &n),
                    0);
    CU_ASSERT_STRING_EQUAL(body, "grant_type=client_credentials&client_id=c"
                                 "&client_secret=s");
    CU_ASSERT_EQUAL(
        msgsec_seal_token_request_parse(body, n, id, secret, scope, &f), 0);
    CU_ASSERT_STRING_EQUAL(scope, "");
    /* scope NULL: a scope in the body is checked and dropped. */
    const char *other = "scope=a%20b&client_secret=x%2By&foo=%C3%A9&"
                        "grant_type=client_credentials&client_id=c";
    CU_ASSERT_EQUAL(msgsec_seal_token_request_parse(other, strlen(other), id,
                                                    secret, NULL, &f),
                    0);
    CU_ASSERT_STRING_EQUAL(secret, "x+y");

    /* Encoder refusals; out wiped. */
    CU_ASSERT_EQUAL(
        msgsec_seal_token_request_encode("", "s", NULL, body, sizeof(body), &n),
        MSGSEC_ERR_INVALID_ARG);
    CU_ASSERT_EQUAL(msgsec_seal_token_request_encode("c", "s\n", NULL, body,
                                                     sizeof(body), &n),
                    MSGSEC_ERR_INVALID_ARG);
    CU_ASSERT_EQUAL(msgsec_seal_token_request_encode("c", NULL, NULL, body,
                                                     sizeof(body), &n),
                    MSGSEC_ERR_INVALID_ARG);
    char big[300];
    memset(big, 's', 256);
    big[256] = 0;
    CU_ASSERT_EQUAL(msgsec_seal_token_request_encode("c", big, NULL, body,
                                                     sizeof(body), &n),
                    MSGSEC_ERR_INVALID_ARG);
    memset(body, 'x', 60);
    CU_ASSERT_EQUAL(
        msgsec_seal_token_request_encode("c", "topsecret", NULL, body, 60, &n),
        MSGSEC_ERR_BUFFER_TOO_SMALL);
    CU_ASSERT(is_zero(body, 60));
    CU_ASSERT_EQUAL(n, 0);

    static const struct {
        const char *b;
        int kind;
        const char *param;
    } bad[] = {
        {"", MSGSEC_AANF_FAULT_MISSING, "grant_type"},
        {"grant_type=password&client_id=c&client_secret=s",
         MSGSEC_AANF_FAULT_INCORRECT, "grant_type"},
        {"grant_type=client_credentials&client_id=c", MSGSEC_AANF_FAULT_MISSING,
         "client_secret"},
        {"grant_type=client_credentials&client_secret=s",
         MSGSEC_AANF_FAULT_MISSING, "client_id"},
        {"grant_type=client_credentials&client_id=c&client_id=d&"
         "client_secret=s",
         MSGSEC_AANF_FAULT_INCORRECT, "client_id"},
        {"grant_type=client_credentials&client_id=c&client_secret=%zz",
         MSGSEC_AANF_FAULT_SYNTAX, "client_secret"},
        {"grant_type=client_credentials&client_id=c&client_secret=s%0",
         MSGSEC_AANF_FAULT_SYNTAX, "client_secret"},
        {"grant_type=client_credentials&client_id=c&client_secret=s%00",
         MSGSEC_AANF_FAULT_INCORRECT, "client_secret"},
        {"grant_type=client_credentials&client_id=c&client_secret=",
         MSGSEC_AANF_FAULT_INCORRECT, "client_secret"},
        {"grant_type=client_credentials&client_id=c&client_secret=s&x=%g1",
         MSGSEC_AANF_FAULT_SYNTAX, ""},
        {"grant_type=client_credentials&client_id=c&client_secret=s&&",
         MSGSEC_AANF_FAULT_SYNTAX, ""},
        {"grant_type=client_credentials&client_id=c&client_secret=s&scope=",
         MSGSEC_AANF_FAULT_INCORRECT, "scope"},
    };
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        int rc = msgsec_seal_token_request_parse(bad[i].b, strlen(bad[i].b), id,
                                                 secret, scope, &f);
        ASSERT_FAULT(rc, f, bad[i].kind, bad[i].param);
        CU_ASSERT(is_zero(id, sizeof(id)));
        CU_ASSERT(is_zero(secret, sizeof(secret)));
        CU_ASSERT(is_zero(scope, sizeof(scope)));
        CU_ASSERT_PTR_NULL(strstr(f.reason, "s3cr"));
    }
    /* A secret of 256 bytes. */
    char longb[400];
    snprintf(longb, sizeof(longb),
             "grant_type=client_credentials&client_id=c&client_secret=%s", big);
    ASSERT_FAULT(msgsec_seal_token_request_parse(longb, strlen(longb), id,
                                                 secret, scope, &f),
                 f, MSGSEC_AANF_FAULT_INCORRECT, "client_secret");
    CU_ASSERT(is_zero(secret, sizeof(secret)));
    CU_ASSERT_EQUAL(
        msgsec_seal_token_request_parse("a=b", 3, NULL, secret, scope, &f),
        MSGSEC_ERR_INVALID_ARG);
}

static void t_token(void)
{
    msgsec_seal_token t = {0}, back;
    msgsec_aanf_fault f;
    char out[8192];
    size_t n;
    strcpy(t.access_token, "eyJhbGciOiJSUzI1NiJ9.e30.sig");
    t.expires_in = 3600;
    strcpy(t.scope, "ss-kir");
    CU_ASSERT_EQUAL(msgsec_seal_encode_token(&t, out, sizeof(out), &n), 0);
    CU_ASSERT_STRING_EQUAL(out, "{\"access_token\":\"eyJhbGciOiJSUzI1NiJ9.e30."
                                "sig\",\"token_type\":\"Bearer\","
                                "\"expires_in\":3600,\"scope\":\"ss-kir\"}");
    CU_ASSERT_EQUAL(msgsec_seal_decode_token(out, n, &back, &f), 0);
    CU_ASSERT_EQUAL(memcmp(&t, &back, sizeof(t)), 0);

    t.expires_in = 0;
    memset(t.scope, 0, sizeof(t.scope));
    CU_ASSERT_EQUAL(msgsec_seal_encode_token(&t, out, sizeof(out), &n), 0);
    CU_ASSERT_STRING_EQUAL(out, "{\"access_token\":\"eyJhbGciOiJSUzI1NiJ9.e30."
                                "sig\",\"token_type\":\"Bearer\"}");
    CU_ASSERT_EQUAL(msgsec_seal_decode_token(out, n, &back, &f), 0);
    CU_ASSERT_EQUAL(memcmp(&t, &back, sizeof(t)), 0);

    /* Longest token round trip. */
    memset(t.access_token, 'T', MSGSEC_SEAL_TOKEN_MAX);
    t.access_token[MSGSEC_SEAL_TOKEN_MAX] = 0;
    CU_ASSERT_EQUAL(msgsec_seal_encode_token(&t, out, sizeof(out), &n), 0);
    CU_ASSERT_EQUAL(msgsec_seal_decode_token(out, n, &back, &f), 0);
    CU_ASSERT_EQUAL(strlen(back.access_token), MSGSEC_SEAL_TOKEN_MAX);

    const char *lower = "{\"token_type\":\"bearer\",\"access_token\":\"x\","
                        "\"refresh_token\":\"r\",\"expires_in\":60}";
    CU_ASSERT_EQUAL(msgsec_seal_decode_token(lower, strlen(lower), &back, &f),
                    0);
    CU_ASSERT_STRING_EQUAL(back.access_token, "x");
    CU_ASSERT_EQUAL(back.expires_in, 60);

    strcpy(t.access_token, "a\tb");
    CU_ASSERT_EQUAL(msgsec_seal_encode_token(&t, out, sizeof(out), &n),
                    MSGSEC_ERR_INVALID_ARG);
    strcpy(t.access_token, "x");
    t.expires_in = -1;
    CU_ASSERT_EQUAL(msgsec_seal_encode_token(&t, out, sizeof(out), &n),
                    MSGSEC_ERR_INVALID_ARG);
    t.expires_in = 10;
    memset(out, 'x', 20);
    CU_ASSERT_EQUAL(msgsec_seal_encode_token(&t, out, 20, &n),
                    MSGSEC_ERR_BUFFER_TOO_SMALL);
    CU_ASSERT(is_zero(out, 20));

    static const struct {
        const char *json;
        int kind;
        const char *param;
    } bad[] = {
        {"{\"token_type\":\"Bearer\"}", MSGSEC_AANF_FAULT_MISSING,
         "/access_token"},
        {"{\"access_token\":\"x\"}", MSGSEC_AANF_FAULT_MISSING, "/token_type"},
        {"{\"access_token\":\"x\",\"token_type\":\"mac\"}",
         MSGSEC_AANF_FAULT_INCORRECT, "/token_type"},
        {"{\"access_token\":\"x\",\"token_type\":\"Bearer\",\"expires_in\":0}",
         MSGSEC_AANF_FAULT_INCORRECT, "/expires_in"},
        {"{\"access_token\":\"x\",\"token_type\":\"Bearer\",\"expires_in\":-5}",
         MSGSEC_AANF_FAULT_INCORRECT, "/expires_in"},
        {"{\"access_token\":\"x\",\"token_type\":\"Bearer\","
         "\"expires_in\":\"3600\"}",
         MSGSEC_AANF_FAULT_INCORRECT, "/expires_in"},
        {"{\"access_token\":\"x\",\"token_type\":\"Bearer\","
         "\"expires_in\":36.5}",
         MSGSEC_AANF_FAULT_INCORRECT, "/expires_in"},
        {"{\"access_token\":\"x\",\"token_type\":\"Bearer\",\"scope\":[]}",
         MSGSEC_AANF_FAULT_INCORRECT, "/scope"},
        {"{\"access_token\":\"x\\u0000\",\"token_type\":\"Bearer\"}",
         MSGSEC_AANF_FAULT_SYNTAX, ""},
        {"{\"access_token\":\"x\\r\",\"token_type\":\"Bearer\"}",
         MSGSEC_AANF_FAULT_INCORRECT, "/access_token"},
        {"{\"access_token\":\"x\",\"access_token\":\"y\","
         "\"token_type\":\"Bearer\"}",
         MSGSEC_AANF_FAULT_SYNTAX, ""},
        {"{\"access_token\":\"x\",\"token_type\":\"Bearer\","
         "\"expires_in\":99999999999999999999999}",
         MSGSEC_AANF_FAULT_SYNTAX, ""},
    };
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        int rc = msgsec_seal_decode_token(bad[i].json, strlen(bad[i].json),
                                          &back, &f);
        ASSERT_FAULT(rc, f, bad[i].kind, bad[i].param);
        CU_ASSERT(is_zero(&back, sizeof(back)));
    }
    /* A token of 4097 bytes. */
    char *big = malloc(MSGSEC_SEAL_TOKEN_MAX + 64);
    CU_ASSERT_FATAL(big != NULL);
    int m = snprintf(big, MSGSEC_SEAL_TOKEN_MAX + 64,
                     "{\"token_type\":\"Bearer\",\"access_token\":\"");
    memset(big + m, 'T', MSGSEC_SEAL_TOKEN_MAX + 1);
    strcpy(big + m + MSGSEC_SEAL_TOKEN_MAX + 1, "\"}");
    ASSERT_FAULT(msgsec_seal_decode_token(big, strlen(big), &back, &f), f,
                 MSGSEC_AANF_FAULT_INCORRECT, "/access_token");
    free(big);
}

/* -------------------------------------------------------- associations */

static void t_assoc(void)
{
    static msgsec_seal_assoc a, back;
    msgsec_aanf_fault f;
    char out[8192];
    size_t n;
    memset(&a, 0, sizeof(a));
    strcpy(a.identity, "msisdn-447700900123");
    CU_ASSERT_EQUAL(msgsec_seal_encode_assoc(&a, out, sizeof(out), &n), 0);
    CU_ASSERT_STRING_EQUAL(out, "{\"identity\":\"msisdn-447700900123\","
                                "\"ueServiceIds\":[]}");
    CU_ASSERT_EQUAL(msgsec_seal_decode_assoc(out, n, &back, &f), 0);
    CU_ASSERT_EQUAL(memcmp(&a, &back, sizeof(a)), 0);
    a.n = 2;
    strcpy(a.ue_service_ids[0], "ue1@msgin5g.example");
    strcpy(a.ue_service_ids[1], "ue2@msgin5g.example");
    CU_ASSERT_EQUAL(msgsec_seal_encode_assoc(&a, out, sizeof(out), &n), 0);
    CU_ASSERT_STRING_EQUAL(out, "{\"identity\":\"msisdn-447700900123\","
                                "\"ueServiceIds\":[\"ue1@msgin5g.example\","
                                "\"ue2@msgin5g.example\"]}");
    CU_ASSERT_EQUAL(msgsec_seal_decode_assoc(out, n, &back, &f), 0);
    CU_ASSERT_EQUAL(memcmp(&a, &back, sizeof(a)), 0);
    a.n = MSGSEC_SEAL_ASSOC_MAX;
    for (size_t i = 0; i < a.n; i++)
        snprintf(a.ue_service_ids[i], sizeof(a.ue_service_ids[i]), "ue%zu", i);
    CU_ASSERT_EQUAL(msgsec_seal_encode_assoc(&a, out, sizeof(out), &n), 0);
    CU_ASSERT_EQUAL(msgsec_seal_decode_assoc(out, n, &back, &f), 0);
    CU_ASSERT_EQUAL(back.n, MSGSEC_SEAL_ASSOC_MAX);
    CU_ASSERT_STRING_EQUAL(back.ue_service_ids[15], "ue15");

    a.n = MSGSEC_SEAL_ASSOC_MAX + 1;
    CU_ASSERT_EQUAL(msgsec_seal_encode_assoc(&a, out, sizeof(out), &n),
                    MSGSEC_ERR_INVALID_ARG);
    a.n = 1;
    a.ue_service_ids[0][0] = 0;
    CU_ASSERT_EQUAL(msgsec_seal_encode_assoc(&a, out, sizeof(out), &n),
                    MSGSEC_ERR_INVALID_ARG);
    a.n = 0;
    a.identity[0] = 0;
    CU_ASSERT_EQUAL(msgsec_seal_encode_assoc(&a, out, sizeof(out), &n),
                    MSGSEC_ERR_INVALID_ARG);

    static const struct {
        const char *json;
        int kind;
        const char *param;
    } bad[] = {
        {"{\"ueServiceIds\":[]}", MSGSEC_AANF_FAULT_MISSING, "/identity"},
        {"{\"identity\":\"i\"}", MSGSEC_AANF_FAULT_MISSING, "/ueServiceIds"},
        {"{\"identity\":\"i\",\"ueServiceIds\":\"a\"}",
         MSGSEC_AANF_FAULT_INCORRECT, "/ueServiceIds"},
        {"{\"identity\":\"i\",\"ueServiceIds\":[\"a\",2]}",
         MSGSEC_AANF_FAULT_INCORRECT, "/ueServiceIds/1"},
        {"{\"identity\":\"i\",\"ueServiceIds\":[\"\"]}",
         MSGSEC_AANF_FAULT_INCORRECT, "/ueServiceIds/0"},
        {"{\"identity\":\"i\",\"ueServiceIds\":[\"a\\u001fb\"]}",
         MSGSEC_AANF_FAULT_INCORRECT, "/ueServiceIds/0"},
        {"{\"identity\":\"i\",\"ueServiceIds\":[\"1\",\"2\",\"3\",\"4\",\"5\","
         "\"6\",\"7\",\"8\",\"9\",\"10\",\"11\",\"12\",\"13\",\"14\",\"15\","
         "\"16\",\"17\"]}",
         MSGSEC_AANF_FAULT_INCORRECT, "/ueServiceIds"},
        {"{\"identity\":\"i\",\"identity\":\"j\",\"ueServiceIds\":[]}",
         MSGSEC_AANF_FAULT_SYNTAX, ""},
    };
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        int rc = msgsec_seal_decode_assoc(bad[i].json, strlen(bad[i].json),
                                          &back, &f);
        ASSERT_FAULT(rc, f, bad[i].kind, bad[i].param);
        CU_ASSERT(is_zero(&back, sizeof(back)));
    }
}

static void t_assoc_result(void)
{
    static msgsec_seal_assoc a;
    char detail[256];
    const char *ok = "{\"identity\":\"imsi-001010000000001\","
                     "\"ueServiceIds\":[\"ue1@x\"]}";
    CU_ASSERT_EQUAL(msgsec_seal_assoc_result(200, "application/json", ok,
                                             strlen(ok), "imsi-001010000000001",
                                             &a, detail, sizeof(detail)),
                    0);
    CU_ASSERT_EQUAL(a.n, 1);
    CU_ASSERT_STRING_EQUAL(a.ue_service_ids[0], "ue1@x");
    CU_ASSERT_STRING_EQUAL(detail, "");

    CU_ASSERT_EQUAL(msgsec_seal_assoc_result(200, "application/json", ok,
                                             strlen(ok), "imsi-1", &a, detail,
                                             sizeof(detail)),
                    MSGSEC_ERR_BAD_FRAME);
    CU_ASSERT(is_zero(&a, sizeof(a)));
    CU_ASSERT_PTR_NOT_NULL(strstr(detail, "another identity"));
    CU_ASSERT_EQUAL(msgsec_seal_assoc_result(200, "text/plain", ok, strlen(ok),
                                             "imsi-001010000000001", &a, detail,
                                             sizeof(detail)),
                    MSGSEC_ERR_BAD_FRAME);
    CU_ASSERT_EQUAL(msgsec_seal_assoc_result(200, "application/json", "{", 1,
                                             "imsi-001010000000001", &a, detail,
                                             sizeof(detail)),
                    MSGSEC_ERR_BAD_FRAME);
    CU_ASSERT_PTR_NOT_NULL(strstr(detail, "bad association"));

    const char *pd = "{\"title\":\"Not Found\",\"status\":404}";
    CU_ASSERT_EQUAL(msgsec_seal_assoc_result(404, "application/problem+json",
                                             pd, strlen(pd), "imsi-1", &a,
                                             detail, sizeof(detail)),
                    MSGSEC_ERR_NOT_AUTHORIZED);
    CU_ASSERT_STRING_EQUAL(detail, "HTTP 404: Not Found");
    CU_ASSERT_EQUAL(msgsec_seal_assoc_result(401, NULL, NULL, 0, "imsi-1", &a,
                                             detail, sizeof(detail)),
                    MSGSEC_ERR_TOKEN_REJECTED);
    CU_ASSERT_EQUAL(
        msgsec_seal_assoc_result(403, NULL, NULL, 0, "imsi-1", &a, NULL, 0),
        MSGSEC_ERR_TOKEN_REJECTED);
    CU_ASSERT_EQUAL(msgsec_seal_assoc_result(503, "text/plain", "busy", 4,
                                             "imsi-1", &a, detail,
                                             sizeof(detail)),
                    MSGSEC_ERR_LOOKUP_FAILED);
    CU_ASSERT_STRING_EQUAL(detail, "HTTP 503 with a text/plain body, not "
                                   "application/problem+json");
    CU_ASSERT_EQUAL(msgsec_seal_assoc_result(200, "application/json", ok,
                                             strlen(ok), NULL, &a, detail,
                                             sizeof(detail)),
                    MSGSEC_ERR_INVALID_ARG);
}

static void t_clear(void)
{
    msgsec_seal_psk k;
    sample_psk(&k, 32);
    msgsec_seal_clear(&k, sizeof(k));
    CU_ASSERT(is_zero(&k, sizeof(k)));
    msgsec_seal_clear(NULL, 10); /* no crash */
}

int main(void)
{
    CU_TestInfo tests[] = {{"keyInfo round trip", t_keyinfo_round_trip},
                           {"keyInfo encoder refusals", t_keyinfo_encode_bad},
                           {"keyInfo hostile", t_keyinfo_hostile},
                           {"ValKeyInfo", t_val_key_info},
                           {"ValKeyInfo hostile", t_val_key_info_hostile},
                           {"key-records URL", t_key_records_url},
                           {"key-records query", t_key_records_query},
                           {"association URL and query", t_assoc_url_query},
                           {"key result", t_key_result},
                           {"identity build", t_identity_build},
                           {"identity parse", t_identity_parse},
                           {"token request", t_token_request},
                           {"token response", t_token},
                           {"association answer", t_assoc},
                           {"association result", t_assoc_result},
                           {"clear", t_clear},
                           CU_TEST_INFO_NULL};
    return msgsec_test_main("seal_codec", NULL, NULL, tests);
}
