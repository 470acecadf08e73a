/* test_aanf.c - the AAnF JSON codec (TS 29.535 / TS 29.522 / TS 29.571):
 * settings, afId, date-times, every message on good and hostile input,
 * both key encodings, the retrieve result and URL joining. */
#include <stdlib.h>
#include <string.h>

#include <openssl/evp.h>

#include <msgsec/aanf.h>

#include "testutil.h"

#define AKID                                                                   \
    "0001.67d8dee47b7d74e6f457b7b23d5806746ed87b920aa8035f37b494c1bfc5d83b"    \
    "@5gc.mnc001.mcc001.3gppnetwork.org"
#define KAF_HEX "23bef238a002c758f42845fe1422dde4a9f287016074128f5c5101bcb28b9adb"
#define AFID "msgin5g.example.com;ua=0100000007"

static const uint8_t kaf[32] = {
    0x23, 0xbe, 0xf2, 0x38, 0xa0, 0x02, 0xc7, 0x58, 0xf4, 0x28, 0x45,
    0xfe, 0x14, 0x22, 0xdd, 0xe4, 0xa9, 0xf2, 0x87, 0x01, 0x60, 0x74,
    0x12, 0x8f, 0x5c, 0x51, 0x01, 0xbc, 0xb2, 0x8b, 0x9a, 0xdb};
static const uint8_t ua13[5] = {1, 0, 0, 0, 7};

static msgsec_aanf_settings hex_set, b64_set;

static int setup(void)
{
    msgsec_aanf_settings_default(&hex_set);
    msgsec_aanf_settings_default(&b64_set);
    b64_set.key_encoding = MSGSEC_AANF_KEY_BASE64;
    return 0;
}

static int is_zero(const void *p, size_t n)
{
    const uint8_t *b = p;
    for (size_t i = 0; i < n; i++)
        if (b[i])
            return 0;
    return 1;
}

/* Base64 of kaf by OpenSSL: an implementation independent of the codec. */
static void kaf_base64(char out[64])
{
    EVP_EncodeBlock((unsigned char *)out, kaf, sizeof(kaf));
}

/* ------------------------------------------------------------ settings */

static void t_settings(void)
{
    msgsec_aanf_settings s;
    const char *why;
    msgsec_aanf_settings_default(&s);
    CU_ASSERT_EQUAL(s.key_encoding, MSGSEC_AANF_KEY_HEX);
    CU_ASSERT_EQUAL(s.afid_format, MSGSEC_AANF_AFID_FQDN_UA);
    CU_ASSERT_EQUAL(msgsec_aanf_settings_set(&s, "aanf_key_encoding",
                                             "base64", &why),
                    0);
    CU_ASSERT_EQUAL(s.key_encoding, MSGSEC_AANF_KEY_BASE64);
    CU_ASSERT_EQUAL(
        msgsec_aanf_settings_set(&s, "aanf_afid_format", "fqdn", &why), 0);
    CU_ASSERT_EQUAL(s.afid_format, MSGSEC_AANF_AFID_FQDN);
    CU_ASSERT_EQUAL(msgsec_aanf_settings_set(&s, "aanf_key_encoding", "HEX",
                                             &why),
                    MSGSEC_ERR_POLICY_BAD_VALUE);
    CU_ASSERT_PTR_NOT_NULL(why);
    CU_ASSERT_EQUAL(s.key_encoding, MSGSEC_AANF_KEY_BASE64);
    CU_ASSERT_EQUAL(msgsec_aanf_settings_set(&s, "aanf_afid_format", "",
                                             NULL),
                    MSGSEC_ERR_POLICY_BAD_VALUE);
    CU_ASSERT_EQUAL(msgsec_aanf_settings_set(&s, "aanf_uri", "x", &why),
                    MSGSEC_ERR_POLICY_UNKNOWN_KEY);
    CU_ASSERT_EQUAL(msgsec_aanf_settings_set(NULL, "aanf_uri", "x", &why),
                    MSGSEC_ERR_INVALID_ARG);
    CU_ASSERT_STRING_EQUAL(msgsec_aanf_key_encoding_name(0), "hex");
    CU_ASSERT_STRING_EQUAL(msgsec_aanf_key_encoding_name(1), "base64");
    CU_ASSERT_PTR_NULL(msgsec_aanf_key_encoding_name(2));
    CU_ASSERT_STRING_EQUAL(msgsec_aanf_afid_format_name(0), "fqdn-ua");
    CU_ASSERT_STRING_EQUAL(msgsec_aanf_afid_format_name(1), "fqdn");
    CU_ASSERT_PTR_NULL(msgsec_aanf_afid_format_name(-1));

    /* Settings out of range are refused, not guessed. */
    msgsec_aanf_settings bad = {7, 0};
    char out[64];
    size_t n;
    CU_ASSERT_EQUAL(msgsec_aanf_afid_build(&bad, "a.b", 3, ua13, out,
                                           sizeof(out), &n),
                    MSGSEC_ERR_INVALID_ARG);
}

/* ---------------------------------------------------------------- afId */

static void t_afid_build(void)
{
    char out[300];
    size_t n;
    const char *fq = "msgin5g.example.com";
    CU_ASSERT_EQUAL(msgsec_aanf_afid_build(NULL, fq, strlen(fq), ua13, out,
                                           sizeof(out), &n),
                    0);
    CU_ASSERT_STRING_EQUAL(out, AFID);
    CU_ASSERT_EQUAL(n, strlen(AFID));

    uint8_t ua12[5];
    CU_ASSERT_EQUAL(msgsec_akma_ua_id_tls12(0x00a8, ua12), 0);
    CU_ASSERT_EQUAL(msgsec_aanf_afid_build(&hex_set, fq, strlen(fq), ua12,
                                           out, sizeof(out), &n),
                    0);
    CU_ASSERT_STRING_EQUAL(out, "msgin5g.example.com;ua=01000100a8");

    msgsec_aanf_settings f = hex_set;
    f.afid_format = MSGSEC_AANF_AFID_FQDN;
    CU_ASSERT_EQUAL(msgsec_aanf_afid_build(&f, fq, strlen(fq), ua13, out,
                                           sizeof(out), &n),
                    0);
    CU_ASSERT_STRING_EQUAL(out, fq);
    /* The bare FQDN cannot say "TLS 1.2". */
    CU_ASSERT_EQUAL(msgsec_aanf_afid_build(&f, fq, strlen(fq), ua12, out,
                                           sizeof(out), &n),
                    MSGSEC_ERR_UNSUPPORTED);

    /* Exactly the room needed, then one byte less. */
    CU_ASSERT_EQUAL(msgsec_aanf_afid_build(NULL, fq, strlen(fq), ua13, out,
                                           strlen(AFID) + 1, &n),
                    0);
    CU_ASSERT_EQUAL(msgsec_aanf_afid_build(NULL, fq, strlen(fq), ua13, out,
                                           strlen(AFID), &n),
                    MSGSEC_ERR_BUFFER_TOO_SMALL);
    CU_ASSERT_EQUAL(n, 0);

    CU_ASSERT_EQUAL(msgsec_aanf_afid_build(NULL, "", 0, ua13, out,
                                           sizeof(out), &n),
                    MSGSEC_ERR_INVALID_ARG);
    CU_ASSERT_EQUAL(msgsec_aanf_afid_build(NULL, "a;ua=1", 6, ua13, out,
                                           sizeof(out), &n),
                    MSGSEC_ERR_INVALID_ARG);
    CU_ASSERT_EQUAL(msgsec_aanf_afid_build(NULL, "a\nb", 3, ua13, out,
                                           sizeof(out), &n),
                    MSGSEC_ERR_INVALID_ARG);
    char longfq[300];
    memset(longfq, 'a', sizeof(longfq));
    CU_ASSERT_EQUAL(msgsec_aanf_afid_build(NULL, longfq, 256, ua13, out,
                                           sizeof(out), &n),
                    MSGSEC_ERR_INVALID_ARG);
    CU_ASSERT_EQUAL(msgsec_aanf_afid_build(NULL, NULL, 0, ua13, out,
                                           sizeof(out), &n),
                    MSGSEC_ERR_INVALID_ARG);
}

static void t_afid_parse(void)
{
    char fq[MSGSEC_AKMA_FQDN_MAX + 1];
    size_t n;
    uint8_t ua[5];
    const char *why;
    CU_ASSERT_EQUAL(msgsec_aanf_afid_parse(NULL, AFID, strlen(AFID), fq, &n,
                                           ua, &why),
                    0);
    CU_ASSERT_STRING_EQUAL(fq, "msgin5g.example.com");
    CU_ASSERT_EQUAL(n, 19);
    CU_ASSERT_EQUAL(memcmp(ua, ua13, 5), 0);

    const char *upper = "af.example.org;ua=01000100A8";
    CU_ASSERT_EQUAL(msgsec_aanf_afid_parse(NULL, upper, strlen(upper), fq, &n,
                                           ua, &why),
                    0);
    static const uint8_t ua12[5] = {1, 0, 1, 0, 0xa8};
    CU_ASSERT_EQUAL(memcmp(ua, ua12, 5), 0);

    static const char *bad[] = {
        "msgin5g.example.com",               /* no ;ua= */
        "msgin5g.example.com;ua=01000000",   /* 8 digits */
        "msgin5g.example.com;ua=010000000700", /* 12 digits */
        "msgin5g.example.com;ua=01000000g7", /* not hex */
        "msgin5g.example.com;UA=0100000007", /* other key */
        "msgin5g.example.com;ua=0100000007;", /* trailing */
        ";ua=0100000007",                    /* no FQDN */
        "msgin5g example;ua=0100000007",     /* blank in the FQDN */
    };
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        why = NULL;
        CU_ASSERT_EQUAL(msgsec_aanf_afid_parse(NULL, bad[i], strlen(bad[i]),
                                               fq, &n, ua, &why),
                        MSGSEC_ERR_BAD_FRAME);
        CU_ASSERT_PTR_NOT_NULL(why);
        CU_ASSERT_EQUAL(n, 0);
        CU_ASSERT(is_zero(ua, 5));
    }

    msgsec_aanf_settings f = hex_set;
    f.afid_format = MSGSEC_AANF_AFID_FQDN;
    const char *plain = "msgin5g.example.com";
    CU_ASSERT_EQUAL(msgsec_aanf_afid_parse(&f, plain, strlen(plain), fq, &n,
                                           ua, &why),
                    0);
    CU_ASSERT_EQUAL(memcmp(ua, ua13, 5), 0);
    CU_ASSERT_EQUAL(msgsec_aanf_afid_parse(&f, AFID, strlen(AFID), fq, &n, ua,
                                           &why),
                    MSGSEC_ERR_BAD_FRAME);

    /* Round trip of a built afId; the length bounds the parse. */
    char built[300];
    size_t bl;
    CU_ASSERT_EQUAL(msgsec_aanf_afid_build(NULL, "x.y", 3, ua12, built,
                                           sizeof(built), &bl),
                    0);
    CU_ASSERT_EQUAL(msgsec_aanf_afid_parse(NULL, built, bl, fq, &n, ua, NULL),
                    0);
    CU_ASSERT_STRING_EQUAL(fq, "x.y");
    CU_ASSERT_EQUAL(memcmp(ua, ua12, 5), 0);
    CU_ASSERT_EQUAL(msgsec_aanf_afid_parse(NULL, built, bl - 1, fq, &n, ua,
                                           NULL),
                    MSGSEC_ERR_BAD_FRAME);
}

/* ----------------------------------------------------------- date-time */

static void t_datetime(void)
{
    char out[MSGSEC_AANF_DATETIME_SIZE];
    int64_t t;
    CU_ASSERT_EQUAL(msgsec_aanf_datetime_format(0, out), 0);
    CU_ASSERT_STRING_EQUAL(out, "1970-01-01T00:00:00Z");
    CU_ASSERT_EQUAL(msgsec_aanf_datetime_format(951782400, out), 0);
    CU_ASSERT_STRING_EQUAL(out, "2000-02-29T00:00:00Z");
    CU_ASSERT_EQUAL(msgsec_aanf_datetime_format(-1, out), 0);
    CU_ASSERT_STRING_EQUAL(out, "1969-12-31T23:59:59Z");
    CU_ASSERT_EQUAL(msgsec_aanf_datetime_format(253402300799LL, out), 0);
    CU_ASSERT_STRING_EQUAL(out, "9999-12-31T23:59:59Z");
    CU_ASSERT_EQUAL(msgsec_aanf_datetime_format(253402300800LL, out),
                    MSGSEC_ERR_INVALID_ARG);

    static const struct {
        const char *text;
        int64_t t;
    } good[] = {
        {"1970-01-01T00:00:00Z", 0},
        {"2000-02-29T00:00:00Z", 951782400},
        {"2000-02-29t00:00:00z", 951782400},
        {"2000-02-29T01:00:00+01:00", 951782400},
        {"2000-02-28T23:30:00-00:30", 951782400},
        {"2000-02-29T00:00:00.999999Z", 951782400},
        {"1998-12-31T23:59:60Z", 915148799}, /* leap second */
        {"2025-06-30T12:34:56Z", 1751286896},
    };
    for (size_t i = 0; i < sizeof(good) / sizeof(good[0]); i++) {
        CU_ASSERT_EQUAL(msgsec_aanf_datetime_parse(good[i].text,
                                                   strlen(good[i].text), &t),
                        0);
        CU_ASSERT_EQUAL(t, good[i].t);
    }
    static const char *bad[] = {
        "",
        "2000-02-30T00:00:00Z",
        "2001-02-29T00:00:00Z",
        "2000-13-01T00:00:00Z",
        "2000-00-01T00:00:00Z",
        "2000-01-01T24:00:00Z",
        "2000-01-01T00:60:00Z",
        "2000-01-01T00:00:61Z",
        "2000-01-01T00:00:00",
        "2000-01-01 00:00:00Z",
        "2000-01-01T00:00:00Z ",
        "2000-01-01T00:00:00.Z",
        "2000-01-01T00:00:00+0100",
        "2000-01-01T00:00:00+24:00",
        "+2000-01-01T00:00:00Z",
        "20000-01-01T00:00:00Z",
    };
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
        CU_ASSERT_EQUAL(msgsec_aanf_datetime_parse(bad[i], strlen(bad[i]), &t),
                        MSGSEC_ERR_BAD_FRAME);
    /* Round trip over a range of instants. */
    for (int64_t x = -86400LL * 800; x < 86400LL * 40000; x += 86400 * 97 + 3671) {
        CU_ASSERT_EQUAL_FATAL(msgsec_aanf_datetime_format(x, out), 0);
        CU_ASSERT_EQUAL_FATAL(msgsec_aanf_datetime_parse(out, strlen(out), &t),
                              0);
        CU_ASSERT_EQUAL_FATAL(t, x);
    }
}

/* ------------------------------------------------------- key request */

static void t_key_request(void)
{
    msgsec_aanf_key_request in = {.af_id = AFID, .a_kid = AKID}, out;
    char json[1024];
    size_t n;
    msgsec_aanf_fault f;
    CU_ASSERT_EQUAL(msgsec_aanf_encode_key_request(NULL, &in, json,
                                                   sizeof(json), &n),
                    0);
    CU_ASSERT_STRING_EQUAL(json, "{\"afId\":\"" AFID "\",\"aKId\":\"" AKID "\"}");
    CU_ASSERT_EQUAL(n, strlen(json));
    CU_ASSERT_EQUAL(msgsec_aanf_decode_key_request(NULL, json, n, &out, &f),
                    0);
    CU_ASSERT_STRING_EQUAL(out.af_id, AFID);
    CU_ASSERT_STRING_EQUAL(out.a_kid, AKID);
    CU_ASSERT_EQUAL(out.anon_ind, 0);

    in.anon_ind = 1;
    CU_ASSERT_EQUAL(msgsec_aanf_encode_key_request(NULL, &in, json,
                                                   sizeof(json), &n),
                    0);
    CU_ASSERT_PTR_NOT_NULL(strstr(json, "\"anonInd\":true"));
    CU_ASSERT_EQUAL(msgsec_aanf_decode_key_request(NULL, json, n, &out, &f),
                    0);
    CU_ASSERT_EQUAL(out.anon_ind, 1);

    /* Too small a buffer: an error and nothing left in it. */
    memset(json, 'x', sizeof(json));
    CU_ASSERT_EQUAL(msgsec_aanf_encode_key_request(NULL, &in, json, 40, &n),
                    MSGSEC_ERR_BUFFER_TOO_SMALL);
    CU_ASSERT(is_zero(json, 40));

    /* Encoding checks what decoding would refuse. */
    msgsec_aanf_key_request bad = in;
    strcpy(bad.af_id, "msgin5g.example.com");
    CU_ASSERT_EQUAL(msgsec_aanf_encode_key_request(NULL, &bad, json,
                                                   sizeof(json), &n),
                    MSGSEC_ERR_INVALID_ARG);
    bad = in;
    strcpy(bad.a_kid, "no-realm");
    CU_ASSERT_EQUAL(msgsec_aanf_encode_key_request(NULL, &bad, json,
                                                   sizeof(json), &n),
                    MSGSEC_ERR_INVALID_ARG);
    bad = in;
    bad.anon_ind = 2;
    CU_ASSERT_EQUAL(msgsec_aanf_encode_key_request(NULL, &bad, json,
                                                   sizeof(json), &n),
                    MSGSEC_ERR_INVALID_ARG);

    /* Unknown members and suppFeat are accepted. */
    const char *extra = "{\"suppFeat\":\"0aF\",\"x\":[1,{}],\"afId\":\"" AFID
                        "\",\"aKId\":\"" AKID "\",\"anonInd\":false}";
    CU_ASSERT_EQUAL(msgsec_aanf_decode_key_request(NULL, extra, strlen(extra),
                                                   &out, &f),
                    0);
}

/* Decodes text with the decoder of kind, expecting BAD_FRAME with a fault
 * on param (NULL: any) of kind fk, and a zeroed output. */
enum { D_REQ, D_DATA, D_INFO, D_CTX, D_PROBLEM };

static void expect_bad(int which, const msgsec_aanf_settings *s,
                       const char *text, size_t len, int fk,
                       const char *param)
{
    union {
        msgsec_aanf_key_request req;
        msgsec_aanf_key_data data;
        msgsec_aanf_key_info info;
        msgsec_aanf_ctx_remove ctx;
        msgsec_aanf_problem problem;
    } out;
    msgsec_aanf_fault f;
    int rc;
    size_t size;
    memset(&out, 0x5a, sizeof(out));
    switch (which) {
    case D_REQ:
        rc = msgsec_aanf_decode_key_request(s, text, len, &out.req, &f);
        size = sizeof(out.req);
        break;
    case D_DATA:
        rc = msgsec_aanf_decode_key_data(s, text, len, &out.data, &f);
        size = sizeof(out.data);
        break;
    case D_INFO:
        rc = msgsec_aanf_decode_key_info(s, text, len, &out.info, &f);
        size = sizeof(out.info);
        break;
    case D_CTX:
        rc = msgsec_aanf_decode_ctx_remove(s, text, len, &out.ctx, &f);
        size = sizeof(out.ctx);
        break;
    default:
        rc = msgsec_aanf_decode_problem(s, text, len, &out.problem, &f);
        size = sizeof(out.problem);
        break;
    }
    CU_ASSERT_EQUAL(rc, MSGSEC_ERR_BAD_FRAME);
    CU_ASSERT_EQUAL(f.kind, fk);
    if (param)
        CU_ASSERT_STRING_EQUAL(f.param, param);
    CU_ASSERT(f.reason[0] != 0);
    CU_ASSERT(is_zero(&out, size));
    if (rc != MSGSEC_ERR_BAD_FRAME || f.kind != fk ||
        (param && strcmp(f.param, param) != 0))
        fprintf(stderr, "\n  input %.*s -> %d %d %s: %s\n", (int)len, text,
                rc, f.kind, f.param, f.reason);
}

#define BAD(w, s, text, fk, param) expect_bad(w, s, text, strlen(text), fk, param)

static void t_hostile_json(void)
{
    const int SY = MSGSEC_AANF_FAULT_SYNTAX, MI = MSGSEC_AANF_FAULT_MISSING,
              IN = MSGSEC_AANF_FAULT_INCORRECT;
    BAD(D_REQ, NULL, "", SY, "");
    BAD(D_REQ, NULL, "   ", SY, "");
    BAD(D_REQ, NULL, "[]", SY, "");
    BAD(D_REQ, NULL, "\"afId\"", SY, "");
    BAD(D_REQ, NULL, "null", SY, "");
    BAD(D_REQ, NULL, "{", SY, "");
    BAD(D_REQ, NULL, "{\"afId\":\"" AFID "\",\"aKId\":\"" AKID "\"}x", SY, "");
    BAD(D_REQ, NULL, "{\"afId\":\"" AFID "\",\"aKId\":\"" AKID "\"}{}", SY, "");
    BAD(D_REQ, NULL,
        "{\"afId\":\"" AFID "\",\"afId\":\"" AFID "\",\"aKId\":\"" AKID "\"}",
        SY, "");
    BAD(D_REQ, NULL, "{\"aKId\":\"" AKID "\"}", MI, "/afId");
    BAD(D_REQ, NULL, "{\"afId\":\"" AFID "\"}", MI, "/aKId");
    BAD(D_REQ, NULL, "{\"afId\":7,\"aKId\":\"" AKID "\"}", IN, "/afId");
    BAD(D_REQ, NULL, "{\"afId\":null,\"aKId\":\"" AKID "\"}", IN, "/afId");
    BAD(D_REQ, NULL, "{\"afId\":\"\",\"aKId\":\"" AKID "\"}", IN, "/afId");
    BAD(D_REQ, NULL, "{\"afId\":\"" AFID "\",\"aKId\":[]}", IN, "/aKId");
    BAD(D_REQ, NULL, "{\"afId\":\"" AFID "\",\"aKId\":\"nobody\"}", IN,
        "/aKId");
    BAD(D_REQ, NULL, "{\"afId\":\"msgin5g.example.com\",\"aKId\":\"" AKID "\"}",
        IN, "/afId");
    BAD(D_REQ, NULL,
        "{\"afId\":\"" AFID "\",\"aKId\":\"" AKID "\",\"anonInd\":\"true\"}",
        IN, "/anonInd");
    BAD(D_REQ, NULL,
        "{\"afId\":\"" AFID "\",\"aKId\":\"" AKID "\",\"suppFeat\":\"xyz\"}",
        IN, "/suppFeat");
    /* NUL and control characters, invalid UTF-8. */
    BAD(D_REQ, NULL, "{\"afId\":\"a\\u0000b;ua=0100000007\",\"aKId\":\"" AKID "\"}",
        SY, "");
    BAD(D_REQ, NULL, "{\"afId\":\"a\\nb;ua=0100000007\",\"aKId\":\"" AKID "\"}",
        IN, "/afId");
    BAD(D_REQ, NULL, "{\"afId\":\"\xff\xfe;ua=0100000007\",\"aKId\":\"" AKID "\"}",
        SY, "");
    expect_bad(D_REQ, NULL, "{\"afId\"\0:1}", 11, SY, "");

    /* Hostile sizes: a long string, deep nesting, a body over the limit. */
    size_t big = 4000;
    char *s = malloc(big + 100);
    int k = snprintf(s, 100, "{\"afId\":\"" AFID "\",\"aKId\":\"");
    memset(s + k, 'a', big);
    strcpy(s + k + big, "@x.y\"}");
    BAD(D_REQ, NULL, s, IN, "/aKId");
    free(s);
    /* {"x":[[[...]]]} nested deeper than the parser allows. */
    enum { DEPTH = 5000 };
    char *nest = malloc(2 * DEPTH + 8);
    CU_ASSERT_PTR_NOT_NULL_FATAL(nest);
    memcpy(nest, "{\"x\":", 5);
    for (size_t i = 0; i < DEPTH; i++) {
        nest[5 + i] = '[';
        nest[5 + DEPTH + i] = ']';
    }
    strcpy(nest + 5 + 2 * DEPTH, "}");
    BAD(D_REQ, NULL, nest, SY, "");
    msgsec_aanf_fault df;
    msgsec_aanf_key_request dr;
    msgsec_aanf_decode_key_request(NULL, nest, strlen(nest), &dr, &df);
    CU_ASSERT_PTR_NOT_NULL(strstr(df.reason, "nesting too deep"));
    free(nest);
    s = malloc(MSGSEC_AANF_BODY_MAX + 2);
    memset(s, ' ', MSGSEC_AANF_BODY_MAX + 1);
    s[0] = '{';
    s[MSGSEC_AANF_BODY_MAX] = '}';
    s[MSGSEC_AANF_BODY_MAX + 1] = 0;
    BAD(D_REQ, NULL, s, SY, "");
    /* One byte less is within the limit. */
    msgsec_aanf_key_request r;
    msgsec_aanf_fault f;
    s[MSGSEC_AANF_BODY_MAX - 1] = '}';
    CU_ASSERT_EQUAL(msgsec_aanf_decode_key_request(NULL, s,
                                                   MSGSEC_AANF_BODY_MAX, &r, &f),
                    MSGSEC_ERR_BAD_FRAME);
    CU_ASSERT_EQUAL(f.kind, MSGSEC_AANF_FAULT_MISSING);
    free(s);

    CU_ASSERT_EQUAL(msgsec_aanf_decode_key_request(NULL, NULL, 3, &r, &f),
                    MSGSEC_ERR_INVALID_ARG);
    CU_ASSERT_EQUAL(msgsec_aanf_decode_key_request(NULL, "{}", 2, NULL, &f),
                    MSGSEC_ERR_INVALID_ARG);
}

/* ---------------------------------------------------------- key data */

static void t_key_data_hex(void)
{
    msgsec_aanf_key_data in = {.expiry = 1751286896}, out;
    memcpy(in.kaf, kaf, sizeof(kaf));
    strcpy(in.supi, "imsi-001010000000001");
    char json[1024];
    size_t n;
    msgsec_aanf_fault f;
    CU_ASSERT_EQUAL(msgsec_aanf_encode_key_data(&hex_set, &in, json,
                                                sizeof(json), &n),
                    0);
    CU_ASSERT_STRING_EQUAL(json, "{\"kaf\":\"" KAF_HEX
                                 "\",\"expiry\":\"2025-06-30T12:34:56Z\","
                                 "\"supi\":\"imsi-001010000000001\"}");
    CU_ASSERT_EQUAL(msgsec_aanf_decode_key_data(&hex_set, json, n, &out, &f),
                    0);
    CU_ASSERT_EQUAL(memcmp(out.kaf, kaf, 32), 0);
    CU_ASSERT_EQUAL(out.expiry, 1751286896);
    CU_ASSERT_STRING_EQUAL(out.supi, "imsi-001010000000001");
    CU_ASSERT_STRING_EQUAL(out.gpsi, "");

    /* Upper-case hex is hex too; gpsi instead of supi; no identity. */
    const char *up = "{\"kaf\":\"23BEF238A002C758F42845FE1422DDE4A9F287016074"
                     "128F5C5101BCB28B9ADB\",\"expiry\":\"2025-06-30T14:34:56+02:00\","
                     "\"gpsi\":\"msisdn-491701234567\"}";
    CU_ASSERT_EQUAL(msgsec_aanf_decode_key_data(NULL, up, strlen(up), &out,
                                                &f),
                    0);
    CU_ASSERT_EQUAL(memcmp(out.kaf, kaf, 32), 0);
    CU_ASSERT_EQUAL(out.expiry, 1751286896);
    CU_ASSERT_STRING_EQUAL(out.gpsi, "msisdn-491701234567");
    CU_ASSERT_STRING_EQUAL(out.supi, "");
    msgsec_aanf_clear(&out, sizeof(out));
    CU_ASSERT(is_zero(&out, sizeof(out)));
}

static void t_key_data_base64(void)
{
    char b64[64];
    kaf_base64(b64);
    CU_ASSERT_EQUAL(strlen(b64), 44);
    msgsec_aanf_key_data in = {.expiry = 0}, out;
    memcpy(in.kaf, kaf, sizeof(kaf));
    char json[1024], want[1024];
    size_t n;
    msgsec_aanf_fault f;
    CU_ASSERT_EQUAL(msgsec_aanf_encode_key_data(&b64_set, &in, json,
                                                sizeof(json), &n),
                    0);
    snprintf(want, sizeof(want),
             "{\"kaf\":\"%s\",\"expiry\":\"1970-01-01T00:00:00Z\"}", b64);
    CU_ASSERT_STRING_EQUAL(json, want);
    CU_ASSERT_EQUAL(msgsec_aanf_decode_key_data(&b64_set, json, n, &out, &f),
                    0);
    CU_ASSERT_EQUAL(memcmp(out.kaf, kaf, 32), 0);

    /* Every key value survives both encodings (an independent base64). */
    for (int i = 0; i < 64; i++) {
        uint8_t k[32];
        for (int j = 0; j < 32; j++)
            k[j] = (uint8_t)(i * 37 + j * 101 + (i ^ j));
        memcpy(in.kaf, k, 32);
        CU_ASSERT_EQUAL_FATAL(msgsec_aanf_encode_key_data(&b64_set, &in, json,
                                                          sizeof(json), &n),
                              0);
        char ref[64];
        EVP_EncodeBlock((unsigned char *)ref, k, 32);
        CU_ASSERT_PTR_NOT_NULL(strstr(json, ref));
        CU_ASSERT_EQUAL(msgsec_aanf_decode_key_data(&b64_set, json, n, &out,
                                                    &f),
                        0);
        CU_ASSERT_EQUAL(memcmp(out.kaf, k, 32), 0);
        CU_ASSERT_EQUAL_FATAL(msgsec_aanf_encode_key_data(&hex_set, &in, json,
                                                          sizeof(json), &n),
                              0);
        CU_ASSERT_EQUAL(msgsec_aanf_decode_key_data(&hex_set, json, n, &out,
                                                    &f),
                        0);
        CU_ASSERT_EQUAL(memcmp(out.kaf, k, 32), 0);
    }
}

static void t_key_data_hostile(void)
{
    const int MI = MSGSEC_AANF_FAULT_MISSING, IN = MSGSEC_AANF_FAULT_INCORRECT;
    const char *exp = ",\"expiry\":\"2025-06-30T12:34:56Z\"}";
    char t[512];
#define KD(kafjson, set, fk, param)                                            \
    do {                                                                       \
        snprintf(t, sizeof(t), "{\"kaf\":%s%s", kafjson, exp);                 \
        BAD(D_DATA, set, t, fk, param);                                        \
    } while (0)
    /* Wrong length: 31 and 33 bytes, empty. */
    KD("\"23bef238a002c758f42845fe1422dde4a9f287016074128f5c5101bcb28b9a\"",
       &hex_set, IN, "/kaf");
    KD("\"23bef238a002c758f42845fe1422dde4a9f287016074128f5c5101bcb28b9adb00\"",
       &hex_set, IN, "/kaf");
    KD("\"\"", &hex_set, IN, "/kaf");
    /* Not the configured encoding. */
    KD("\"23bef238a002c758f42845fe1422dde4a9f287016074128f5c5101bcb28b9adz\"",
       &hex_set, IN, "/kaf");
    KD("\"I77yOKACx1j0KEX+FCLd5KnyhwFgdBKPXFEBvLKLmts=\"", &hex_set, IN,
       "/kaf");
    KD("\"" KAF_HEX "\"", &b64_set, IN, "/kaf");
    /* Base64: missing padding, non-zero trailing bits, bad characters. */
    KD("\"I77yOKACx1j0KEX+FCLd5KnyhwFgdBKPXFEBvLKLmtsA\"", &b64_set, IN,
       "/kaf");
    KD("\"I77yOKACx1j0KEX+FCLd5KnyhwFgdBKPXFEBvLKLmtt=\"", &b64_set, IN,
       "/kaf");
    KD("\"I77yOKACx1j0KEX-FCLd5KnyhwFgdBKPXFEBvLKLmts=\"", &b64_set, IN,
       "/kaf");
    KD("\"I77yOKACx1j0KEX+FCLd5KnyhwFgdBKPXFEBvLKL=ts=\"", &b64_set, IN,
       "/kaf");
    /* Wrong types. */
    KD("32", &hex_set, IN, "/kaf");
    KD("[\"" KAF_HEX "\"]", &hex_set, IN, "/kaf");
    KD("null", &hex_set, IN, "/kaf");
#undef KD
    BAD(D_DATA, NULL, "{\"expiry\":\"2025-06-30T12:34:56Z\"}", MI, "/kaf");
    BAD(D_DATA, NULL, "{\"kaf\":\"" KAF_HEX "\"}", MI, "/expiry");
    BAD(D_DATA, NULL, "{\"kaf\":\"" KAF_HEX "\",\"expiry\":1751286896}", IN,
        "/expiry");
    BAD(D_DATA, NULL, "{\"kaf\":\"" KAF_HEX "\",\"expiry\":\"tomorrow\"}", IN,
        "/expiry");
    BAD(D_DATA, NULL,
        "{\"kaf\":\"" KAF_HEX "\",\"expiry\":\"2025-06-30T12:34:56Z\","
        "\"supi\":1}",
        IN, "/supi");
    BAD(D_DATA, NULL,
        "{\"kaf\":\"" KAF_HEX "\",\"expiry\":\"2025-06-30T12:34:56Z\","
        "\"gpsi\":\"a\\tb\"}",
        IN, "/gpsi");
    BAD(D_DATA, NULL,
        "{\"kaf\":\"" KAF_HEX "\",\"expiry\":\"2025-06-30T12:34:56Z\","
        "\"supi\":\"\"}",
        IN, "/supi");

    /* The fault never repeats the key text. */
    msgsec_aanf_key_data out;
    msgsec_aanf_fault f;
    const char *leak = "{\"kaf\":\"23bef238a002c758f42845fe1422dde4a9f2870160"
                       "74128f5c5101bcb28b9adq\",\"expiry\":\"x\"}";
    CU_ASSERT_EQUAL(msgsec_aanf_decode_key_data(NULL, leak, strlen(leak), &out,
                                                &f),
                    MSGSEC_ERR_BAD_FRAME);
    CU_ASSERT_PTR_NULL(strstr(f.reason, "23bef2"));
    const char *unquoted = "{\"kaf\":23bef238a002c758f42845fe}";
    CU_ASSERT_EQUAL(msgsec_aanf_decode_key_data(NULL, unquoted,
                                                strlen(unquoted), &out, &f),
                    MSGSEC_ERR_BAD_FRAME);
    CU_ASSERT_PTR_NULL(strstr(f.reason, "23bef2"));
    CU_ASSERT_PTR_NULL(strstr(f.reason, "bef238"));

    /* Encoding refuses what decoding would. */
    msgsec_aanf_key_data in = {.expiry = 253402300800LL};
    char json[512];
    size_t n;
    CU_ASSERT_EQUAL(msgsec_aanf_encode_key_data(NULL, &in, json, sizeof(json),
                                                &n),
                    MSGSEC_ERR_INVALID_ARG);
    in.expiry = 0;
    strcpy(in.supi, "a\x01");
    CU_ASSERT_EQUAL(msgsec_aanf_encode_key_data(NULL, &in, json, sizeof(json),
                                                &n),
                    MSGSEC_ERR_INVALID_ARG);
}

/* ---------------------------------------------------------- key info */

static void t_key_info(void)
{
    msgsec_aanf_key_info in = {.a_kid = AKID, .supi = "imsi-001010000000001"},
                         out;
    for (int i = 0; i < 32; i++)
        in.k_akma[i] = (uint8_t)(0xa0 + i);
    char json[1024];
    size_t n;
    msgsec_aanf_fault f;
    CU_ASSERT_EQUAL(msgsec_aanf_encode_key_info(NULL, &in, json, sizeof(json),
                                                &n),
                    0);
    CU_ASSERT_STRING_EQUAL(
        json, "{\"aKId\":\"" AKID "\",\"kAkma\":\"a0a1a2a3a4a5a6a7a8a9aaabacadae"
              "afb0b1b2b3b4b5b6b7b8b9babbbcbdbebf\",\"supi\":"
              "\"imsi-001010000000001\"}");
    CU_ASSERT_EQUAL(msgsec_aanf_decode_key_info(NULL, json, n, &out, &f), 0);
    CU_ASSERT_EQUAL(memcmp(out.k_akma, in.k_akma, 32), 0);
    CU_ASSERT_STRING_EQUAL(out.a_kid, AKID);
    CU_ASSERT_STRING_EQUAL(out.supi, in.supi);

    CU_ASSERT_EQUAL(msgsec_aanf_encode_key_info(&b64_set, &in, json,
                                                sizeof(json), &n),
                    0);
    CU_ASSERT_EQUAL(msgsec_aanf_decode_key_info(&b64_set, json, n, &out, &f),
                    0);
    CU_ASSERT_EQUAL(memcmp(out.k_akma, in.k_akma, 32), 0);
    /* The hex decoder refuses the base64 form. */
    CU_ASSERT_EQUAL(msgsec_aanf_decode_key_info(&hex_set, json, n, &out, &f),
                    MSGSEC_ERR_BAD_FRAME);
    CU_ASSERT_STRING_EQUAL(f.param, "/kAkma");

    msgsec_aanf_key_info g = {.a_kid = AKID, .gpsi = "msisdn-491701234567"};
    CU_ASSERT_EQUAL(msgsec_aanf_encode_key_info(NULL, &g, json, sizeof(json),
                                                &n),
                    0);
    CU_ASSERT_EQUAL(msgsec_aanf_decode_key_info(NULL, json, n, &out, &f), 0);
    CU_ASSERT_STRING_EQUAL(out.gpsi, g.gpsi);
    CU_ASSERT_STRING_EQUAL(out.supi, "");

    /* oneOf: exactly one of supi and gpsi. */
    msgsec_aanf_key_info both = in;
    strcpy(both.gpsi, "msisdn-491701234567");
    CU_ASSERT_EQUAL(msgsec_aanf_encode_key_info(NULL, &both, json,
                                                sizeof(json), &n),
                    MSGSEC_ERR_INVALID_ARG);
    msgsec_aanf_key_info none = {.a_kid = AKID};
    CU_ASSERT_EQUAL(msgsec_aanf_encode_key_info(NULL, &none, json,
                                                sizeof(json), &n),
                    MSGSEC_ERR_INVALID_ARG);
    const char *k = "\"kAkma\":\"" KAF_HEX "\"";
    char t[1024];
    snprintf(t, sizeof(t), "{\"aKId\":\"" AKID "\",%s}", k);
    BAD(D_INFO, NULL, t, MSGSEC_AANF_FAULT_MISSING, "/supi");
    snprintf(t, sizeof(t),
             "{\"aKId\":\"" AKID "\",%s,\"supi\":\"imsi-1\",\"gpsi\":\"x\"}",
             k);
    BAD(D_INFO, NULL, t, MSGSEC_AANF_FAULT_INCORRECT, "/gpsi");
    snprintf(t, sizeof(t), "{%s,\"supi\":\"imsi-1\"}", k);
    BAD(D_INFO, NULL, t, MSGSEC_AANF_FAULT_MISSING, "/aKId");
    BAD(D_INFO, NULL, "{\"aKId\":\"" AKID "\",\"supi\":\"imsi-1\"}",
        MSGSEC_AANF_FAULT_MISSING, "/kAkma");
}

static void t_ctx_remove(void)
{
    msgsec_aanf_ctx_remove in = {.supi = "imsi-001010000000001"}, out;
    char json[256];
    size_t n;
    msgsec_aanf_fault f;
    CU_ASSERT_EQUAL(msgsec_aanf_encode_ctx_remove(NULL, &in, json,
                                                  sizeof(json), &n),
                    0);
    CU_ASSERT_STRING_EQUAL(json, "{\"supi\":\"imsi-001010000000001\"}");
    CU_ASSERT_EQUAL(msgsec_aanf_decode_ctx_remove(NULL, json, n, &out, &f), 0);
    CU_ASSERT_STRING_EQUAL(out.supi, in.supi);
    BAD(D_CTX, NULL, "{}", MSGSEC_AANF_FAULT_MISSING, "/supi");
    BAD(D_CTX, NULL, "{\"supi\":true}", MSGSEC_AANF_FAULT_INCORRECT, "/supi");
    char longsupi[300] = "{\"supi\":\"";
    memset(longsupi + 9, '1', 256);
    strcpy(longsupi + 9 + 256, "\"}");
    BAD(D_CTX, NULL, longsupi, MSGSEC_AANF_FAULT_INCORRECT, "/supi");
    msgsec_aanf_ctx_remove empty = {.supi = ""};
    CU_ASSERT_EQUAL(msgsec_aanf_encode_ctx_remove(NULL, &empty, json,
                                                  sizeof(json), &n),
                    MSGSEC_ERR_INVALID_ARG);
}

/* ----------------------------------------------------------- problems */

static void t_problem(void)
{
    msgsec_aanf_problem in = {.status = 400,
                              .title = "Bad Request",
                              .cause = "MANDATORY_IE_MISSING",
                              .detail = "/aKId: mandatory member missing",
                              .n_invalid_params = 2},
                        out;
    strcpy(in.invalid_params[0].param, "/aKId");
    strcpy(in.invalid_params[0].reason, "missing");
    strcpy(in.invalid_params[1].param, "/afId");
    char json[2048];
    size_t n;
    msgsec_aanf_fault f;
    CU_ASSERT_EQUAL(msgsec_aanf_encode_problem(NULL, &in, json, sizeof(json),
                                               &n),
                    0);
    CU_ASSERT_STRING_EQUAL(
        json, "{\"title\":\"Bad Request\",\"status\":400,\"detail\":\"/aKId: "
              "mandatory member missing\",\"cause\":\"MANDATORY_IE_MISSING\","
              "\"invalidParams\":[{\"param\":\"/aKId\",\"reason\":\"missing\"},"
              "{\"param\":\"/afId\"}]}");
    CU_ASSERT_EQUAL(msgsec_aanf_decode_problem(NULL, json, n, &out, &f), 0);
    CU_ASSERT_EQUAL(out.status, 400);
    CU_ASSERT_STRING_EQUAL(out.cause, in.cause);
    CU_ASSERT_STRING_EQUAL(out.title, in.title);
    CU_ASSERT_STRING_EQUAL(out.detail, in.detail);
    CU_ASSERT_EQUAL(out.n_invalid_params, 2);
    CU_ASSERT_STRING_EQUAL(out.invalid_params[1].param, "/afId");
    CU_ASSERT_STRING_EQUAL(out.invalid_params[1].reason, "");

    /* An empty problem is valid JSON "{}" and decodes to nothing. */
    msgsec_aanf_problem empty = {0};
    CU_ASSERT_EQUAL(msgsec_aanf_encode_problem(NULL, &empty, json,
                                               sizeof(json), &n),
                    0);
    CU_ASSERT_STRING_EQUAL(json, "{}");
    empty.status = 99;
    CU_ASSERT_EQUAL(msgsec_aanf_encode_problem(NULL, &empty, json,
                                               sizeof(json), &n),
                    MSGSEC_ERR_INVALID_ARG);

    /* Long texts are cut at a character boundary, controls replaced, extra
     * invalid params counted out, unknown members ignored. */
    char *t = malloc(8192);
    int k = snprintf(t, 8192, "{\"status\":503,\"type\":\"urn:x\",\"detail\":\"");
    for (int i = 0; i < 600; i++)
        k += snprintf(t + k, 8192 - (size_t)k, "\xc3\xa9"); /* é */
    k += snprintf(t + k, 8192 - (size_t)k,
                  "\",\"title\":\"a\\u001b[31mb\",\"instance\":\"/x\","
                  "\"invalidParams\":[");
    for (int i = 0; i < 6; i++)
        k += snprintf(t + k, 8192 - (size_t)k, "%s{\"param\":\"/p%d\"}",
                      i ? "," : "", i);
    snprintf(t + k, 8192 - (size_t)k, "],\"nrfId\":\"nrf.example\"}");
    CU_ASSERT_EQUAL(msgsec_aanf_decode_problem(NULL, t, strlen(t), &out, &f),
                    0);
    CU_ASSERT_EQUAL(out.status, 503);
    CU_ASSERT_STRING_EQUAL(out.type, "urn:x");
    CU_ASSERT_STRING_EQUAL(out.title, "a?[31mb");
    CU_ASSERT_EQUAL(strlen(out.detail), 510); /* 255 whole characters */
    CU_ASSERT_EQUAL(out.n_invalid_params, MSGSEC_AANF_PROBLEM_PARAMS_MAX);
    CU_ASSERT_STRING_EQUAL(out.invalid_params[3].param, "/p3");
    free(t);

    const int IN = MSGSEC_AANF_FAULT_INCORRECT;
    BAD(D_PROBLEM, NULL, "{\"status\":\"400\"}", IN, "/status");
    BAD(D_PROBLEM, NULL, "{\"status\":400.5}", IN, "/status");
    BAD(D_PROBLEM, NULL, "{\"status\":1000}", IN, "/status");
    BAD(D_PROBLEM, NULL, "{\"title\":{}}", IN, "/title");
    BAD(D_PROBLEM, NULL, "{\"invalidParams\":[]}", IN, "/invalidParams");
    BAD(D_PROBLEM, NULL, "{\"invalidParams\":{}}", IN, "/invalidParams");
    BAD(D_PROBLEM, NULL, "{\"invalidParams\":[{\"reason\":\"x\"}]}", IN,
        "/invalidParams/0");
    BAD(D_PROBLEM, NULL, "{\"invalidParams\":[{\"param\":\"a\"},7]}", IN,
        "/invalidParams/1");
    BAD(D_PROBLEM, NULL,
        "{\"invalidParams\":[{\"param\":\"a\",\"reason\":false}]}", IN,
        "/invalidParams/0/reason");
}

/* ---------------------------------------------------- retrieve result */

static void t_retrieve_result(void)
{
    msgsec_aanf_key_data kd;
    msgsec_aanf_problem p;
    char d[512];
    const char *good = "{\"kaf\":\"" KAF_HEX "\",\"expiry\":"
                       "\"2025-06-30T12:34:56Z\",\"supi\":\"imsi-1\"}";
    CU_ASSERT_EQUAL(msgsec_aanf_retrieve_result(NULL, 200,
                                                "application/json; charset=utf-8",
                                                good, strlen(good), &kd, &p, d,
                                                sizeof(d)),
                    0);
    CU_ASSERT_EQUAL(memcmp(kd.kaf, kaf, 32), 0);
    CU_ASSERT_STRING_EQUAL(kd.supi, "imsi-1");

    CU_ASSERT_EQUAL(msgsec_aanf_retrieve_result(NULL, 200, "text/plain", good,
                                                strlen(good), &kd, &p, d,
                                                sizeof(d)),
                    MSGSEC_ERR_BAD_FRAME);
    CU_ASSERT_PTR_NOT_NULL(strstr(d, "text/plain"));
    CU_ASSERT(is_zero(&kd, sizeof(kd)));
    CU_ASSERT_EQUAL(msgsec_aanf_retrieve_result(NULL, 200, NULL, good,
                                                strlen(good), &kd, &p, d,
                                                sizeof(d)),
                    MSGSEC_ERR_BAD_FRAME);

    const char *junk = "{\"kaf\":\"0011";
    CU_ASSERT_EQUAL(msgsec_aanf_retrieve_result(NULL, 200, "application/json",
                                                junk, strlen(junk), &kd, &p, d,
                                                sizeof(d)),
                    MSGSEC_ERR_BAD_FRAME);
    CU_ASSERT_PTR_NOT_NULL(strstr(d, "not valid JSON"));
    CU_ASSERT_PTR_NULL(strstr(d, "0011"));

    const char *shortkaf = "{\"kaf\":\"00\",\"expiry\":\"2025-06-30T12:34:56Z\"}";
    CU_ASSERT_EQUAL(msgsec_aanf_retrieve_result(NULL, 200, "application/json",
                                                shortkaf, strlen(shortkaf), &kd,
                                                NULL, d, sizeof(d)),
                    MSGSEC_ERR_BAD_FRAME);
    CU_ASSERT_PTR_NOT_NULL(strstr(d, "/kaf"));

    CU_ASSERT_EQUAL(msgsec_aanf_retrieve_result(NULL, 204, NULL, "", 0, &kd,
                                                &p, d, sizeof(d)),
                    MSGSEC_ERR_KEY_UNAVAILABLE);
    CU_ASSERT_PTR_NOT_NULL(strstr(d, "204"));

    const char *pd = "{\"status\":503,\"title\":\"Service Unavailable\","
                     "\"cause\":\"NF_CONGESTION\",\"detail\":\"busy\"}";
    CU_ASSERT_EQUAL(msgsec_aanf_retrieve_result(NULL, 503,
                                                "application/problem+json", pd,
                                                strlen(pd), &kd, &p, d,
                                                sizeof(d)),
                    MSGSEC_ERR_LOOKUP_FAILED);
    CU_ASSERT_EQUAL(p.status, 503);
    CU_ASSERT_STRING_EQUAL(p.cause, "NF_CONGESTION");
    CU_ASSERT_STRING_EQUAL(d, "HTTP 503: Service Unavailable (NF_CONGESTION): "
                              "busy");

    CU_ASSERT_EQUAL(msgsec_aanf_retrieve_result(NULL, 404, NULL, "", 0, &kd,
                                                &p, d, sizeof(d)),
                    MSGSEC_ERR_LOOKUP_FAILED);
    CU_ASSERT_EQUAL(p.status, 404);
    CU_ASSERT_STRING_EQUAL(d, "HTTP 404 without ProblemDetails");
    CU_ASSERT_EQUAL(msgsec_aanf_retrieve_result(NULL, 500, "text/html",
                                                "<html>", 6, &kd, &p, d,
                                                sizeof(d)),
                    MSGSEC_ERR_LOOKUP_FAILED);
    CU_ASSERT_PTR_NOT_NULL(strstr(d, "text/html"));
    CU_ASSERT_EQUAL(msgsec_aanf_retrieve_result(NULL, 400,
                                                "application/problem+json",
                                                "{\"status\":\"x\"}", 14, &kd,
                                                &p, d, sizeof(d)),
                    MSGSEC_ERR_LOOKUP_FAILED);
    CU_ASSERT_PTR_NOT_NULL(strstr(d, "/status"));
    /* Other 2xx statuses are not what the API defines. */
    CU_ASSERT_EQUAL(msgsec_aanf_retrieve_result(NULL, 201, "application/json",
                                                good, strlen(good), &kd, &p, d,
                                                sizeof(d)),
                    MSGSEC_ERR_LOOKUP_FAILED);
    CU_ASSERT(is_zero(&kd, sizeof(kd)));
    /* A control character in the content type stays out of the log. */
    CU_ASSERT_EQUAL(msgsec_aanf_retrieve_result(NULL, 200, "text/x\r\nevil",
                                                good, strlen(good), &kd, NULL,
                                                d, sizeof(d)),
                    MSGSEC_ERR_BAD_FRAME);
    CU_ASSERT_PTR_NULL(strchr(d, '\r'));
    CU_ASSERT_PTR_NULL(strchr(d, '\n'));
}

static void t_url(void)
{
    char out[256];
    CU_ASSERT_EQUAL(msgsec_aanf_url("http://127.0.0.1:8081",
                                    MSGSEC_AANF_PATH_RETRIEVE, out,
                                    sizeof(out)),
                    0);
    CU_ASSERT_STRING_EQUAL(
        out, "http://127.0.0.1:8081/naanf-akma/v1/retrieve-applicationkey");
    CU_ASSERT_EQUAL(msgsec_aanf_url("https://nef.example.com/prefix//",
                                    MSGSEC_NEF_PATH_RETRIEVE, out, sizeof(out)),
                    0);
    CU_ASSERT_STRING_EQUAL(out,
                           "https://nef.example.com/prefix/3gpp-akma/v1/retrieve");
    CU_ASSERT_EQUAL(msgsec_aanf_url("http://a", MSGSEC_AANF_PATH_REGISTER, out,
                                    10),
                    MSGSEC_ERR_BUFFER_TOO_SMALL);
    static const char *bad[] = {"ftp://a", "http://", "http:///", "a:8080",
                                "http://a b", "http://a?x=1", "http://a#f",
                                "http://a\n"};
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
        CU_ASSERT_EQUAL(msgsec_aanf_url(bad[i], MSGSEC_AANF_PATH_REMOVE, out,
                                        sizeof(out)),
                        MSGSEC_ERR_INVALID_ARG);
    CU_ASSERT_EQUAL(msgsec_aanf_url("http://a", "no-slash", out, sizeof(out)),
                    MSGSEC_ERR_INVALID_ARG);
}

static void t_fault_text(void)
{
    msgsec_aanf_fault f = {.kind = MSGSEC_AANF_FAULT_MISSING,
                           .param = "/kaf",
                           .reason = "mandatory member missing"};
    char out[64];
    CU_ASSERT_STRING_EQUAL(msgsec_aanf_fault_text(&f, out, sizeof(out)),
                           "/kaf: mandatory member missing");
    f.param[0] = 0;
    CU_ASSERT_STRING_EQUAL(msgsec_aanf_fault_text(&f, out, sizeof(out)),
                           "mandatory member missing");
    CU_ASSERT_STRING_EQUAL(msgsec_aanf_fault_text(NULL, out, sizeof(out)),
                           "no fault");
}

int main(void)
{
    CU_TestInfo tests[] = {{"settings", t_settings},
                           {"afId build", t_afid_build},
                           {"afId parse", t_afid_parse},
                           {"date-time", t_datetime},
                           {"AkmaAfKeyRequest", t_key_request},
                           {"hostile JSON", t_hostile_json},
                           {"AkmaAfKeyData hex", t_key_data_hex},
                           {"AkmaAfKeyData base64", t_key_data_base64},
                           {"AkmaAfKeyData hostile", t_key_data_hostile},
                           {"AkmaKeyInfo", t_key_info},
                           {"CtxRemove", t_ctx_remove},
                           {"ProblemDetails", t_problem},
                           {"retrieve result", t_retrieve_result},
                           {"apiRoot and paths", t_url},
                           {"fault text", t_fault_text},
                           CU_TEST_INFO_NULL};
    return msgsec_test_main("aanf", setup, NULL, tests);
}
