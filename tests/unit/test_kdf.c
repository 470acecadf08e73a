/*
 * test_kdf.c - the TS 33.220 KDF: DOMAIN.md's known answers, agreement with
 * an independent implementation (S built here by hand, OpenSSL's HMAC()),
 * parameter counts and lengths, FC values, key lengths, bad arguments and
 * one object shared by many threads.
 */
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <openssl/rand.h>

#include <msgsec/kdf.h>

#include "testutil.h"

/* DOMAIN.md, "AKMA key derivation". */
static const char KAT_K_AUSF[] =
    "000102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f";
static const char KAT_K_AKMA[] =
    "bba5e95f1205d4f1c217b91e08ec3509ad62cfbf43f474c6bf495da83132c95e";
static const char KAT_A_TID[] =
    "67d8dee47b7d74e6f457b7b23d5806746ed87b920aa8035f37b494c1bfc5d83b";
static const char KAT_K_AF[] =
    "23bef238a002c758f42845fe1422dde4a9f287016074128f5c5101bcb28b9adb";

static msgsec_kdf *kdf;

static int suite_init(void)
{
    return msgsec_kdf_new(&kdf) == MSGSEC_OK ? 0 : 1;
}

static int suite_cleanup(void)
{
    msgsec_kdf_free(kdf);
    kdf = NULL;
    return 0;
}

static void unhex(const char *hex, uint8_t *out, size_t len)
{
    for (size_t i = 0; i < len; i++) {
        unsigned v;
        CU_ASSERT_FATAL(sscanf(hex + 2 * i, "%2x", &v) == 1);
        out[i] = (uint8_t)v;
    }
}

/*
 * The independent implementation: S = FC || P0 || L0 || ... built in one
 * buffer, then OpenSSL's HMAC() with SHA-256.
 */
static void reference_kdf(const uint8_t *key, size_t key_len, uint8_t fc,
                          const msgsec_kdf_param *p, size_t n, uint8_t *out)
{
    size_t len = 1, o = 0;
    uint8_t *s;
    unsigned int olen = 0;

    for (size_t i = 0; i < n; i++)
        len += p[i].len + 2;
    s = malloc(len);
    CU_ASSERT_PTR_NOT_NULL_FATAL(s);
    s[o++] = fc;
    for (size_t i = 0; i < n; i++) {
        if (p[i].len)
            memcpy(s + o, p[i].data, p[i].len);
        o += p[i].len;
        s[o++] = (uint8_t)(p[i].len / 256);
        s[o++] = (uint8_t)(p[i].len % 256);
    }
    CU_ASSERT_PTR_NOT_NULL(HMAC(EVP_sha256(), key_len ? key : (const uint8_t *)"",
                                (int)key_len, s, len, out, &olen));
    CU_ASSERT_EQUAL(olen, 32);
    free(s);
}

static msgsec_kdf_param str_param(const char *s)
{
    msgsec_kdf_param p;
    p.data = (const uint8_t *)s;
    p.len = strlen(s);
    return p;
}

/* ------------------------------------------------------------ tests */

static void test_known_answers(void)
{
    uint8_t k_ausf[32], want[32], k_akma[32], out[32];
    uint8_t af_id[24];
    msgsec_kdf_param p[2];

    unhex(KAT_K_AUSF, k_ausf, 32);
    p[0] = str_param("AKMA");
    p[1] = str_param("001010000000001");
    CU_ASSERT_EQUAL(msgsec_kdf_derive(kdf, k_ausf, 32, 0x80, p, 2, k_akma),
                    MSGSEC_OK);
    unhex(KAT_K_AKMA, want, 32);
    CU_ASSERT_EQUAL(memcmp(k_akma, want, 32), 0);

    p[0] = str_param("A-TID");
    CU_ASSERT_EQUAL(msgsec_kdf_derive(kdf, k_ausf, 32, 0x81, p, 2, out),
                    MSGSEC_OK);
    unhex(KAT_A_TID, want, 32);
    CU_ASSERT_EQUAL(memcmp(out, want, 32), 0);

    memcpy(af_id, "msgin5g.example.com", 19);
    memcpy(af_id + 19, "\x01\x00\x00\x00\x07", 5);
    p[0].data = af_id;
    p[0].len = sizeof(af_id);
    CU_ASSERT_EQUAL(msgsec_kdf_derive(kdf, k_akma, 32, 0x82, p, 1, out),
                    MSGSEC_OK);
    unhex(KAT_K_AF, want, 32);
    CU_ASSERT_EQUAL(memcmp(out, want, 32), 0);

    /* The same through the one-shot function. */
    CU_ASSERT_EQUAL(msgsec_kdf_oneshot(k_akma, 32, 0x82, p, 1, out),
                    MSGSEC_OK);
    CU_ASSERT_EQUAL(memcmp(out, want, 32), 0);
}

/* The reference agrees with DOMAIN.md too: it is a sound yardstick. */
static void test_reference_known_answer(void)
{
    uint8_t k_ausf[32], want[32], out[32];
    msgsec_kdf_param p[2];

    unhex(KAT_K_AUSF, k_ausf, 32);
    unhex(KAT_K_AKMA, want, 32);
    p[0] = str_param("AKMA");
    p[1] = str_param("001010000000001");
    reference_kdf(k_ausf, 32, 0x80, p, 2, out);
    CU_ASSERT_EQUAL(memcmp(out, want, 32), 0);
}

/* Compares msgsec with the reference for n parameters of the given sizes. */
static void check_against_reference(const uint8_t *key, size_t key_len,
                                    uint8_t fc, const size_t *sizes,
                                    size_t n)
{
    msgsec_kdf_param p[16];
    uint8_t *data[16];
    uint8_t got[32], want[32], once[32];

    CU_ASSERT_FATAL(n <= 16);
    for (size_t i = 0; i < n; i++) {
        data[i] = malloc(sizes[i] ? sizes[i] : 1);
        CU_ASSERT_PTR_NOT_NULL_FATAL(data[i]);
        CU_ASSERT_FATAL(RAND_bytes(data[i], (int)(sizes[i] ? sizes[i] : 1))
                        == 1);
        p[i].data = data[i];
        p[i].len = sizes[i];
    }
    memset(got, 0xaa, sizeof(got));
    CU_ASSERT_EQUAL(msgsec_kdf_derive(kdf, key, key_len, fc, p, n, got),
                    MSGSEC_OK);
    reference_kdf(key, key_len, fc, p, n, want);
    CU_ASSERT_EQUAL(memcmp(got, want, 32), 0);
    CU_ASSERT_EQUAL(msgsec_kdf_oneshot(key, key_len, fc, p, n, once),
                    MSGSEC_OK);
    CU_ASSERT_EQUAL(memcmp(once, want, 32), 0);
    for (size_t i = 0; i < n; i++)
        free(data[i]);
}

static void test_parameter_counts(void)
{
    static const size_t sizes[16] = {4,  15, 0, 1,  7,  32, 2,  19,
                                     24, 3,  5, 11, 13, 17, 64, 8};
    uint8_t key[32];

    CU_ASSERT_FATAL(RAND_bytes(key, sizeof(key)) == 1);
    /* From S = FC alone up to 16 parameters. */
    for (size_t n = 0; n <= 16; n++)
        check_against_reference(key, sizeof(key), 0x80, sizes, n);
}

static void test_empty_parameters(void)
{
    static const size_t none[4] = {0, 0, 0, 0};
    static const size_t mixed[5] = {0, 4, 0, 0, 9};
    msgsec_kdf_param p[2] = {{NULL, 0}, {NULL, 0}};
    uint8_t key[32], a[32], b[32];

    CU_ASSERT_FATAL(RAND_bytes(key, sizeof(key)) == 1);
    check_against_reference(key, sizeof(key), 0x81, none, 1);
    check_against_reference(key, sizeof(key), 0x81, none, 4);
    check_against_reference(key, sizeof(key), 0x81, mixed, 5);
    /* NULL data with length 0 is an empty parameter; and an empty
     * parameter is not the same as no parameter (L0 = 00 00 is in S). */
    CU_ASSERT_EQUAL(msgsec_kdf_derive(kdf, key, 32, 0x81, p, 1, a),
                    MSGSEC_OK);
    CU_ASSERT_EQUAL(msgsec_kdf_derive(kdf, key, 32, 0x81, p, 0, b),
                    MSGSEC_OK);
    CU_ASSERT_NOT_EQUAL(memcmp(a, b, 32), 0);
    CU_ASSERT_EQUAL(msgsec_kdf_derive(kdf, key, 32, 0x81, NULL, 0, b),
                    MSGSEC_OK);
    CU_ASSERT_NOT_EQUAL(memcmp(a, b, 32), 0);
}

/* Lengths around the 1- and 2-byte boundaries of Li and around the
 * internal staging buffer, and the largest parameter. */
static void test_long_parameters(void)
{
    static const size_t lens[] = {126, 127,  128,  190,  191,  192,  193,
                                  255, 256,  257,  383,  384,  385,  1000,
                                  4096, 65534, 65535};
    uint8_t key[32];

    CU_ASSERT_FATAL(RAND_bytes(key, sizeof(key)) == 1);
    for (size_t i = 0; i < sizeof(lens) / sizeof(lens[0]); i++) {
        size_t one[1] = {lens[i]};
        size_t three[3] = {5, lens[i], 70};
        check_against_reference(key, sizeof(key), 0x82, one, 1);
        check_against_reference(key, sizeof(key), 0x82, three, 3);
    }
}

/* Li is 2 bytes big-endian: a 0x0102-byte parameter is followed by
 * 01 02 in S, and the swapped 02 01 gives another key. */
static void test_length_field(void)
{
    static uint8_t big[0x0102];
    msgsec_kdf_param p;
    uint8_t key[32], out[32], want[32];
    uint8_t s[1 + 0x0102 + 2];
    unsigned int olen;

    CU_ASSERT_FATAL(RAND_bytes(key, sizeof(key)) == 1);
    memset(big, 'x', sizeof(big));
    p.data = big;
    p.len = 0x0102;
    CU_ASSERT_EQUAL(msgsec_kdf_derive(kdf, key, 32, 0x10, &p, 1, out),
                    MSGSEC_OK);
    s[0] = 0x10;
    memset(s + 1, 'x', 0x0102);
    s[1 + 0x0102] = 0x01;
    s[2 + 0x0102] = 0x02;
    CU_ASSERT_PTR_NOT_NULL(
        HMAC(EVP_sha256(), key, 32, s, sizeof(s), want, &olen));
    CU_ASSERT_EQUAL(memcmp(out, want, 32), 0);
    s[1 + 0x0102] = 0x02;
    s[2 + 0x0102] = 0x01;
    CU_ASSERT_PTR_NOT_NULL(
        HMAC(EVP_sha256(), key, 32, s, sizeof(s), want, &olen));
    CU_ASSERT_NOT_EQUAL(memcmp(out, want, 32), 0);
}

static void test_fc_values(void)
{
    static const size_t sizes[2] = {4, 15};
    static const uint8_t fcs[] = {0x00, 0x01, 0x10, 0x69, 0x7f,
                                  0x80, 0x81, 0x82, 0xfe, 0xff};
    uint8_t key[32], prev[32] = {0}, out[32];
    msgsec_kdf_param p = str_param("param");

    CU_ASSERT_FATAL(RAND_bytes(key, sizeof(key)) == 1);
    for (size_t i = 0; i < sizeof(fcs); i++) {
        check_against_reference(key, sizeof(key), fcs[i], sizes, 2);
        /* Each FC gives its own key from the same input. */
        CU_ASSERT_EQUAL(msgsec_kdf_derive(kdf, key, 32, fcs[i], &p, 1, out),
                        MSGSEC_OK);
        CU_ASSERT_NOT_EQUAL(memcmp(out, prev, 32), 0);
        memcpy(prev, out, 32);
    }
}

/* HMAC pads keys up to 64 bytes and hashes longer ones first. */
static void test_key_lengths(void)
{
    static const size_t sizes[2] = {4, 15};
    static const size_t lens[] = {0, 1, 16, 31, 32, 33, 63, 64, 65, 100, 1000};
    uint8_t key[1000];

    CU_ASSERT_FATAL(RAND_bytes(key, sizeof(key)) == 1);
    for (size_t i = 0; i < sizeof(lens) / sizeof(lens[0]); i++)
        check_against_reference(key, lens[i], 0x80, sizes, 2);
    /* An empty key may be given as NULL. */
    {
        msgsec_kdf_param p = str_param("AKMA");
        uint8_t a[32], b[32];
        CU_ASSERT_EQUAL(msgsec_kdf_derive(kdf, NULL, 0, 0x80, &p, 1, a),
                        MSGSEC_OK);
        CU_ASSERT_EQUAL(msgsec_kdf_derive(kdf, key, 0, 0x80, &p, 1, b),
                        MSGSEC_OK);
        CU_ASSERT_EQUAL(memcmp(a, b, 32), 0);
    }
}

static void test_random_agreement(void)
{
    uint8_t key[80], r[20];

    /* Random key lengths, FCs, parameter counts and sizes. */
    for (int round = 0; round < 300; round++) {
        size_t sizes[8], n;
        CU_ASSERT_FATAL(RAND_bytes(r, sizeof(r)) == 1);
        CU_ASSERT_FATAL(RAND_bytes(key, sizeof(key)) == 1);
        n = r[0] % 9;
        for (size_t i = 0; i < n; i++)
            sizes[i] = (size_t)r[2 + i] * (r[10 + i] % 4 + 1) % 700;
        check_against_reference(key, r[1] % sizeof(key), r[19], sizes, n);
    }
}

static int is_zero(const uint8_t *p, size_t n)
{
    for (size_t i = 0; i < n; i++)
        if (p[i])
            return 0;
    return 1;
}

static void test_bad_arguments(void)
{
    static uint8_t big[MSGSEC_KDF_PARAM_MAX + 1];
    uint8_t key[32] = {1}, out[32];
    msgsec_kdf_param p[2] = {{(const uint8_t *)"AKMA", 4}, {NULL, 3}};
    msgsec_kdf_param huge = {big, sizeof(big)};

    CU_ASSERT_EQUAL(msgsec_kdf_derive(NULL, key, 32, 0x80, p, 1, out),
                    MSGSEC_ERR_INVALID_ARG);
    CU_ASSERT_EQUAL(msgsec_kdf_derive(kdf, key, 32, 0x80, p, 1, NULL),
                    MSGSEC_ERR_INVALID_ARG);
    /* A failing call leaves a zeroed output, never a stale key. */
    memset(out, 0xaa, sizeof(out));
    CU_ASSERT_EQUAL(msgsec_kdf_derive(kdf, NULL, 32, 0x80, p, 1, out),
                    MSGSEC_ERR_INVALID_ARG);
    CU_ASSERT(is_zero(out, 32));
    memset(out, 0xaa, sizeof(out));
    CU_ASSERT_EQUAL(msgsec_kdf_derive(kdf, key, 32, 0x80, NULL, 1, out),
                    MSGSEC_ERR_INVALID_ARG);
    CU_ASSERT(is_zero(out, 32));
    memset(out, 0xaa, sizeof(out));
    CU_ASSERT_EQUAL(msgsec_kdf_derive(kdf, key, 32, 0x80, p, 2, out),
                    MSGSEC_ERR_INVALID_ARG);
    CU_ASSERT(is_zero(out, 32));
    memset(out, 0xaa, sizeof(out));
    CU_ASSERT_EQUAL(msgsec_kdf_derive(kdf, key, 32, 0x80, &huge, 1, out),
                    MSGSEC_ERR_INVALID_ARG);
    CU_ASSERT(is_zero(out, 32));
    memset(out, 0xaa, sizeof(out));
    CU_ASSERT_EQUAL(msgsec_kdf_oneshot(key, 32, 0x80, &huge, 1, out),
                    MSGSEC_ERR_INVALID_ARG);
    CU_ASSERT(is_zero(out, 32));
    CU_ASSERT_EQUAL(msgsec_kdf_oneshot(key, 32, 0x80, p, 1, NULL),
                    MSGSEC_ERR_INVALID_ARG);

    CU_ASSERT_EQUAL(msgsec_kdf_new(NULL), MSGSEC_ERR_INVALID_ARG);
    msgsec_kdf_free(NULL);
}

/* A property query no provider satisfies: no SHA-256, a clear error. */
static void test_unavailable_digest(void)
{
    msgsec_kdf *k = (msgsec_kdf *)&k;

    CU_ASSERT_EQUAL(msgsec_kdf_new_ex(NULL, "provider=no-such-provider", &k),
                    MSGSEC_ERR_UNSUPPORTED);
    CU_ASSERT_PTR_NULL(k);
    CU_ASSERT_EQUAL(msgsec_kdf_new_ex(NULL, "provider=default", &k),
                    MSGSEC_OK);
    CU_ASSERT_PTR_NOT_NULL(k);
    msgsec_kdf_free(k);
}

/* ---------------------------------------------------- concurrency */

#define THREADS 20 /* more than the object's pool of contexts */
#define ROUNDS 300

typedef struct worker {
    int id;
    int mismatches;
    int errors;
} worker;

static void *work(void *arg)
{
    worker *w = arg;
    uint8_t key[32], sup[16], got[32], want[32];
    msgsec_kdf_param p[2];

    for (int i = 0; i < ROUNDS; i++) {
        /* Inputs unique to this thread and round. */
        memset(key, 0, sizeof(key));
        memcpy(key, &w->id, sizeof(w->id));
        memcpy(key + 8, &i, sizeof(i));
        memset(sup, '0' + (i % 10), sizeof(sup));
        p[0].data = (const uint8_t *)"AKMA";
        p[0].len = 4;
        p[1].data = sup;
        p[1].len = (size_t)(1 + (i + w->id) % 16);
        if (msgsec_kdf_derive(kdf, key, 32, (uint8_t)(0x80 + i % 3), p, 2,
                              got) != MSGSEC_OK) {
            w->errors++;
            continue;
        }
        {
            /* The reference, inline: no CUnit calls off the main thread. */
            uint8_t s[1 + 4 + 2 + 16 + 2];
            size_t o = 0;
            unsigned int olen;
            s[o++] = (uint8_t)(0x80 + i % 3);
            memcpy(s + o, "AKMA\x00\x04", 6);
            o += 6;
            memcpy(s + o, sup, p[1].len);
            o += p[1].len;
            s[o++] = 0;
            s[o++] = (uint8_t)p[1].len;
            HMAC(EVP_sha256(), key, 32, s, o, want, &olen);
        }
        if (memcmp(got, want, 32) != 0)
            w->mismatches++;
    }
    return NULL;
}

static void test_threads_share_one_object(void)
{
    pthread_t t[THREADS];
    worker w[THREADS];
    int started = 0;

    for (int i = 0; i < THREADS; i++) {
        w[i].id = i;
        w[i].mismatches = 0;
        w[i].errors = 0;
        if (pthread_create(&t[i], NULL, work, &w[i]) == 0)
            started++;
        else
            break;
    }
    CU_ASSERT_EQUAL(started, THREADS);
    for (int i = 0; i < started; i++) {
        pthread_join(t[i], NULL);
        CU_ASSERT_EQUAL(w[i].errors, 0);
        CU_ASSERT_EQUAL(w[i].mismatches, 0);
    }
}

int main(void)
{
    CU_TestInfo tests[] = {
        {"DOMAIN.md known answers", test_known_answers},
        {"reference implementation meets them too",
         test_reference_known_answer},
        {"0 to 16 parameters agree with the reference", test_parameter_counts},
        {"empty parameters", test_empty_parameters},
        {"long parameters up to 65535 bytes", test_long_parameters},
        {"length field is 2 bytes big-endian", test_length_field},
        {"FC values", test_fc_values},
        {"key lengths 0 to 1000 bytes", test_key_lengths},
        {"random inputs agree with the reference", test_random_agreement},
        {"bad arguments, zeroed output", test_bad_arguments},
        {"SHA-256 unavailable", test_unavailable_digest},
        {"20 threads share one object", test_threads_share_one_object},
        CU_TEST_INFO_NULL,
    };
    return msgsec_test_main("kdf", suite_init, suite_cleanup, tests);
}
