/*
 * test_akma_keys.c - AKMA derivations (DOMAIN.md's known answers and an
 * independent implementation), SUPI forms, AF_ID and Ua* identifiers, the
 * home network realm, and A-KID building and parsing, hostile input
 * included.
 */
#include <stdlib.h>
#include <string.h>

#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <openssl/rand.h>

#include <msgsec/akma_keys.h>

#include "testutil.h"

/* DOMAIN.md, "AKMA key derivation". */
static const char KAT_K_AUSF[] =
    "000102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f";
static const char KAT_SUPI[] = "001010000000001";
static const char KAT_K_AKMA[] =
    "bba5e95f1205d4f1c217b91e08ec3509ad62cfbf43f474c6bf495da83132c95e";
static const char KAT_A_TID[] =
    "67d8dee47b7d74e6f457b7b23d5806746ed87b920aa8035f37b494c1bfc5d83b";
static const char KAT_FQDN[] = "msgin5g.example.com";
static const char KAT_K_AF[] =
    "23bef238a002c758f42845fe1422dde4a9f287016074128f5c5101bcb28b9adb";
/* The first bytes of K_AKMA when "imsi-" is wrongly left in. */
static const uint8_t WRONG_K_AKMA_PREFIX[4] = {0x84, 0xed, 0xc0, 0x4f};

static const uint8_t UA_TLS13[5] = {0x01, 0x00, 0x00, 0x00, 0x07};

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

static int is_zero(const uint8_t *p, size_t n)
{
    for (size_t i = 0; i < n; i++)
        if (p[i])
            return 0;
    return 1;
}

/* Independent KDF: S by hand, then OpenSSL's HMAC(). p1 may be NULL. */
static void reference(const uint8_t *key, uint8_t fc, const void *p0,
                      size_t l0, const void *p1, size_t l1, uint8_t *out)
{
    uint8_t s[1 + 2 * 300];
    size_t o = 0;
    unsigned int olen;

    CU_ASSERT_FATAL(l0 <= 290 && l1 <= 290);
    s[o++] = fc;
    memcpy(s + o, p0, l0);
    o += l0;
    s[o++] = (uint8_t)(l0 >> 8);
    s[o++] = (uint8_t)l0;
    if (p1) {
        memcpy(s + o, p1, l1);
        o += l1;
        s[o++] = (uint8_t)(l1 >> 8);
        s[o++] = (uint8_t)l1;
    }
    CU_ASSERT_PTR_NOT_NULL(HMAC(EVP_sha256(), key, 32, s, o, out, &olen));
}

/* Independent base64url without padding. */
static void reference_b64url(const uint8_t *in, size_t n, char *out)
{
    int len = EVP_EncodeBlock((unsigned char *)out, in, (int)n);
    for (int i = 0; i < len; i++) {
        if (out[i] == '+')
            out[i] = '-';
        else if (out[i] == '/')
            out[i] = '_';
        else if (out[i] == '=')
            out[i] = '\0';
    }
    out[len] = '\0';
}

static void tohex(const uint8_t *in, size_t n, char *out)
{
    for (size_t i = 0; i < n; i++)
        snprintf(out + 2 * i, 3, "%02x", in[i]);
}

/* ------------------------------------------------------ derivations */

static void test_known_answers(void)
{
    uint8_t k_ausf[32], want[32], k_akma[32], out[32], af_id[64];
    size_t af_id_len;

    unhex(KAT_K_AUSF, k_ausf, 32);
    CU_ASSERT_EQUAL(msgsec_akma_derive_k_akma(kdf, k_ausf, 32, KAT_SUPI,
                                              strlen(KAT_SUPI), k_akma),
                    MSGSEC_OK);
    unhex(KAT_K_AKMA, want, 32);
    CU_ASSERT_EQUAL(memcmp(k_akma, want, 32), 0);

    CU_ASSERT_EQUAL(msgsec_akma_derive_a_tid(kdf, k_ausf, 32, KAT_SUPI,
                                             strlen(KAT_SUPI), out),
                    MSGSEC_OK);
    unhex(KAT_A_TID, want, 32);
    CU_ASSERT_EQUAL(memcmp(out, want, 32), 0);

    unhex(KAT_K_AF, want, 32);
    CU_ASSERT_EQUAL(msgsec_akma_derive_k_af_fqdn(kdf, k_akma, 32, KAT_FQDN,
                                                 strlen(KAT_FQDN), UA_TLS13,
                                                 out),
                    MSGSEC_OK);
    CU_ASSERT_EQUAL(memcmp(out, want, 32), 0);
    CU_ASSERT_EQUAL(msgsec_akma_af_id(KAT_FQDN, strlen(KAT_FQDN), UA_TLS13,
                                      af_id, sizeof(af_id), &af_id_len),
                    MSGSEC_OK);
    CU_ASSERT_EQUAL(af_id_len, 24);
    CU_ASSERT_EQUAL(memcmp(af_id, "msgin5g.example.com\x01\x00\x00\x00\x07",
                           24),
                    0);
    memset(out, 0, sizeof(out));
    CU_ASSERT_EQUAL(msgsec_akma_derive_k_af(kdf, k_akma, 32, af_id,
                                            af_id_len, out),
                    MSGSEC_OK);
    CU_ASSERT_EQUAL(memcmp(out, want, 32), 0);

    /* Without an object: a temporary one, same values. */
    memset(out, 0, sizeof(out));
    CU_ASSERT_EQUAL(msgsec_akma_derive_k_af(NULL, k_akma, 32, af_id,
                                            af_id_len, out),
                    MSGSEC_OK);
    CU_ASSERT_EQUAL(memcmp(out, want, 32), 0);
    unhex(KAT_K_AKMA, want, 32);
    CU_ASSERT_EQUAL(msgsec_akma_derive_k_akma(NULL, k_ausf, 32, KAT_SUPI,
                                              strlen(KAT_SUPI), out),
                    MSGSEC_OK);
    CU_ASSERT_EQUAL(memcmp(out, want, 32), 0);

    CU_ASSERT_EQUAL(msgsec_akma_self_test(kdf), MSGSEC_OK);
    CU_ASSERT_EQUAL(msgsec_akma_self_test(NULL), MSGSEC_OK);
}

/* The SBI form "imsi-..." is normalised; left in, it gives the wrong key
 * that DOMAIN.md warns about. */
static void test_supi_forms(void)
{
    uint8_t k_ausf[32], want[32], out[32], wrong[32];
    const char *v;
    size_t vlen;

    unhex(KAT_K_AUSF, k_ausf, 32);
    unhex(KAT_K_AKMA, want, 32);
    CU_ASSERT_EQUAL(msgsec_akma_derive_k_akma(kdf, k_ausf, 32,
                                              "imsi-001010000000001", 20,
                                              out),
                    MSGSEC_OK);
    CU_ASSERT_EQUAL(memcmp(out, want, 32), 0);
    CU_ASSERT_EQUAL(msgsec_akma_derive_k_akma(kdf, k_ausf, 32,
                                              "IMSI-001010000000001", 20,
                                              out),
                    MSGSEC_OK);
    CU_ASSERT_EQUAL(memcmp(out, want, 32), 0);

    reference(k_ausf, 0x80, "AKMA", 4, "imsi-001010000000001", 20, wrong);
    CU_ASSERT_EQUAL(memcmp(wrong, WRONG_K_AKMA_PREFIX, 4), 0);
    CU_ASSERT_NOT_EQUAL(memcmp(wrong, want, 32), 0);

    /* The A-TID likewise. */
    unhex(KAT_A_TID, want, 32);
    CU_ASSERT_EQUAL(msgsec_akma_derive_a_tid(kdf, k_ausf, 32,
                                             "imsi-001010000000001", 20, out),
                    MSGSEC_OK);
    CU_ASSERT_EQUAL(memcmp(out, want, 32), 0);

    /* Normalisation itself. */
    CU_ASSERT_EQUAL(msgsec_akma_supi_value("imsi-12345", 10, &v, &vlen),
                    MSGSEC_OK);
    CU_ASSERT_EQUAL(vlen, 5);
    CU_ASSERT_EQUAL(memcmp(v, "12345", 5), 0);
    CU_ASSERT_EQUAL(msgsec_akma_supi_value("imsi-123456789012345", 20, &v,
                                           &vlen),
                    MSGSEC_OK);
    CU_ASSERT_EQUAL(vlen, 15);
    /* Other forms pass unchanged. */
    CU_ASSERT_EQUAL(msgsec_akma_supi_value("nai-user@example.com", 20, &v,
                                           &vlen),
                    MSGSEC_OK);
    CU_ASSERT_EQUAL(vlen, 20);
    CU_ASSERT_EQUAL(memcmp(v, "nai-user@example.com", 20), 0);
    CU_ASSERT_EQUAL(msgsec_akma_supi_value("imsi", 4, &v, &vlen), MSGSEC_OK);
    CU_ASSERT_EQUAL(vlen, 4);
    /* "imsi-" must be followed by 5 to 15 digits. */
    CU_ASSERT_EQUAL(msgsec_akma_supi_value("imsi-1234", 9, &v, &vlen),
                    MSGSEC_ERR_INVALID_ARG);
    CU_ASSERT_EQUAL(msgsec_akma_supi_value("imsi-1234567890123456", 21, &v,
                                           &vlen),
                    MSGSEC_ERR_INVALID_ARG);
    CU_ASSERT_EQUAL(msgsec_akma_supi_value("imsi-00101x000000001", 20, &v,
                                           &vlen),
                    MSGSEC_ERR_INVALID_ARG);
    CU_ASSERT_EQUAL(msgsec_akma_supi_value("imsi-", 5, &v, &vlen),
                    MSGSEC_ERR_INVALID_ARG);
    CU_ASSERT_EQUAL(msgsec_akma_supi_value("", 0, &v, &vlen),
                    MSGSEC_ERR_INVALID_ARG);
    CU_ASSERT_EQUAL(msgsec_akma_supi_value(NULL, 3, &v, &vlen),
                    MSGSEC_ERR_INVALID_ARG);
    CU_ASSERT_EQUAL(msgsec_akma_supi_value("12345", 5, NULL, &vlen),
                    MSGSEC_ERR_INVALID_ARG);

    /* An NAI SUPI goes in byte for byte. */
    reference(k_ausf, 0x80, "AKMA", 4, "nai-user@example.com", 20, want);
    CU_ASSERT_EQUAL(msgsec_akma_derive_k_akma(kdf, k_ausf, 32,
                                              "nai-user@example.com", 20,
                                              out),
                    MSGSEC_OK);
    CU_ASSERT_EQUAL(memcmp(out, want, 32), 0);
}

/* Random keys, SUPIs and FQDNs against the independent implementation. */
static void test_against_reference(void)
{
    static const char *const fqdns[] = {
        "a.b", "msgin5g.example.com", "af1.msgin5g.operator.example",
        "xn--bcher-kva.example", "b\303\274cher.example"};
    uint8_t k_ausf[32], k_akma[32], want[32], got[32], af[300], ua[5];
    char supi[32];

    for (int round = 0; round < 50; round++) {
        size_t n = (size_t)(5 + round % 11);
        CU_ASSERT_FATAL(RAND_bytes(k_ausf, 32) == 1);
        for (size_t i = 0; i < n; i++)
            supi[i] = (char)('0' + (k_ausf[i] % 10));

        reference(k_ausf, 0x80, "AKMA", 4, supi, n, want);
        CU_ASSERT_EQUAL(msgsec_akma_derive_k_akma(kdf, k_ausf, 32, supi, n,
                                                  k_akma),
                        MSGSEC_OK);
        CU_ASSERT_EQUAL(memcmp(k_akma, want, 32), 0);

        reference(k_ausf, 0x81, "A-TID", 5, supi, n, want);
        CU_ASSERT_EQUAL(msgsec_akma_derive_a_tid(kdf, k_ausf, 32, supi, n,
                                                 got),
                        MSGSEC_OK);
        CU_ASSERT_EQUAL(memcmp(got, want, 32), 0);

        const char *f = fqdns[round % 5];
        size_t fl = strlen(f);
        CU_ASSERT_EQUAL(msgsec_akma_ua_id_tls12((uint16_t)(round * 977), ua),
                        MSGSEC_OK);
        memcpy(af, f, fl);
        memcpy(af + fl, ua, 5);
        reference(k_akma, 0x82, af, fl + 5, NULL, 0, want);
        CU_ASSERT_EQUAL(msgsec_akma_derive_k_af_fqdn(kdf, k_akma, 32, f, fl,
                                                     ua, got),
                        MSGSEC_OK);
        CU_ASSERT_EQUAL(memcmp(got, want, 32), 0);
    }

    /* The longest FQDN. */
    memset(af, 'a', 255);
    af[100] = '.';
    memcpy(af + 255, UA_TLS13, 5);
    reference(k_akma, 0x82, af, 260, NULL, 0, want);
    CU_ASSERT_EQUAL(msgsec_akma_derive_k_af_fqdn(kdf, k_akma, 32,
                                                 (const char *)af, 255,
                                                 UA_TLS13, got),
                    MSGSEC_OK);
    CU_ASSERT_EQUAL(memcmp(got, want, 32), 0);
}

static void test_ua_identifiers(void)
{
    uint8_t ua[5], k_akma[32], a[32], b[32];

    CU_ASSERT_EQUAL(msgsec_akma_ua_id_tls13(ua), MSGSEC_OK);
    CU_ASSERT_EQUAL(memcmp(ua, "\x01\x00\x00\x00\x07", 5), 0);
    /* TLS 1.2: 01 00 01 and the cipher suite, big-endian. */
    CU_ASSERT_EQUAL(msgsec_akma_ua_id_tls12(0x00a8, ua), MSGSEC_OK);
    CU_ASSERT_EQUAL(memcmp(ua, "\x01\x00\x01\x00\xa8", 5), 0);
    CU_ASSERT_EQUAL(msgsec_akma_ua_id_tls12(0xc0a5, ua), MSGSEC_OK);
    CU_ASSERT_EQUAL(memcmp(ua, "\x01\x00\x01\xc0\xa5", 5), 0);
    CU_ASSERT_EQUAL(msgsec_akma_ua_id_tls13(NULL), MSGSEC_ERR_INVALID_ARG);
    CU_ASSERT_EQUAL(msgsec_akma_ua_id_tls12(1, NULL), MSGSEC_ERR_INVALID_ARG);

    /* Each protocol gets its own K_AF. */
    unhex(KAT_K_AKMA, k_akma, 32);
    CU_ASSERT_EQUAL(msgsec_akma_derive_k_af_fqdn(kdf, k_akma, 32, KAT_FQDN,
                                                 strlen(KAT_FQDN), UA_TLS13,
                                                 a),
                    MSGSEC_OK);
    CU_ASSERT_EQUAL(msgsec_akma_ua_id_tls12(0x00a8, ua), MSGSEC_OK);
    CU_ASSERT_EQUAL(msgsec_akma_derive_k_af_fqdn(kdf, k_akma, 32, KAT_FQDN,
                                                 strlen(KAT_FQDN), ua, b),
                    MSGSEC_OK);
    CU_ASSERT_NOT_EQUAL(memcmp(a, b, 32), 0);
}

static void test_derivation_arguments(void)
{
    uint8_t key[33] = {0}, out[32], af[300];
    size_t len;

    /* Keys must be 32 bytes; failures zero the output. */
    memset(out, 0xaa, 32);
    CU_ASSERT_EQUAL(msgsec_akma_derive_k_akma(kdf, key, 31, KAT_SUPI, 15, out),
                    MSGSEC_ERR_INVALID_ARG);
    CU_ASSERT(is_zero(out, 32));
    memset(out, 0xaa, 32);
    CU_ASSERT_EQUAL(msgsec_akma_derive_a_tid(kdf, key, 33, KAT_SUPI, 15, out),
                    MSGSEC_ERR_INVALID_ARG);
    CU_ASSERT(is_zero(out, 32));
    memset(out, 0xaa, 32);
    CU_ASSERT_EQUAL(msgsec_akma_derive_k_akma(kdf, NULL, 32, KAT_SUPI, 15,
                                              out),
                    MSGSEC_ERR_INVALID_ARG);
    CU_ASSERT(is_zero(out, 32));
    memset(out, 0xaa, 32);
    CU_ASSERT_EQUAL(msgsec_akma_derive_k_akma(kdf, key, 32, "imsi-12", 7,
                                              out),
                    MSGSEC_ERR_INVALID_ARG);
    CU_ASSERT(is_zero(out, 32));
    CU_ASSERT_EQUAL(msgsec_akma_derive_k_akma(kdf, key, 32, KAT_SUPI, 15,
                                              NULL),
                    MSGSEC_ERR_INVALID_ARG);
    memset(out, 0xaa, 32);
    CU_ASSERT_EQUAL(msgsec_akma_derive_k_af(kdf, key, 32,
                                            (const uint8_t *)"\x01\x00\x00"
                                                             "\x00\x07",
                                            5, out),
                    MSGSEC_ERR_INVALID_ARG);
    CU_ASSERT(is_zero(out, 32));
    CU_ASSERT_EQUAL(msgsec_akma_derive_k_af(kdf, key, 32, af, 261, out),
                    MSGSEC_ERR_INVALID_ARG);
    CU_ASSERT_EQUAL(msgsec_akma_derive_k_af(kdf, key, 31, af, 24, out),
                    MSGSEC_ERR_INVALID_ARG);
    CU_ASSERT_EQUAL(msgsec_akma_derive_k_af(kdf, key, 32, NULL, 24, out),
                    MSGSEC_ERR_INVALID_ARG);

    /* FQDNs: 1 to 255 bytes, printable ASCII without space, or UTF-8. */
    CU_ASSERT_EQUAL(msgsec_akma_af_id("a", 1, UA_TLS13, af, 6, &len),
                    MSGSEC_OK);
    CU_ASSERT_EQUAL(len, 6);
    CU_ASSERT_EQUAL(msgsec_akma_af_id("ab", 2, UA_TLS13, af, 6, &len),
                    MSGSEC_ERR_BUFFER_TOO_SMALL);
    CU_ASSERT_EQUAL(len, 7);
    CU_ASSERT_EQUAL(msgsec_akma_af_id("", 0, UA_TLS13, af, sizeof(af), &len),
                    MSGSEC_ERR_INVALID_ARG);
    CU_ASSERT_EQUAL(msgsec_akma_af_id("a b", 3, UA_TLS13, af, sizeof(af),
                                      &len),
                    MSGSEC_ERR_INVALID_ARG);
    CU_ASSERT_EQUAL(msgsec_akma_af_id("a\nb", 3, UA_TLS13, af, sizeof(af),
                                      &len),
                    MSGSEC_ERR_INVALID_ARG);
    CU_ASSERT_EQUAL(msgsec_akma_af_id("a\0b", 3, UA_TLS13, af, sizeof(af),
                                      &len),
                    MSGSEC_ERR_INVALID_ARG);
    CU_ASSERT_EQUAL(msgsec_akma_af_id("a\xc3", 2, UA_TLS13, af, sizeof(af),
                                      &len),
                    MSGSEC_ERR_INVALID_ARG);
    CU_ASSERT_EQUAL(msgsec_akma_af_id("\xc0\xaf", 2, UA_TLS13, af,
                                      sizeof(af), &len),
                    MSGSEC_ERR_INVALID_ARG);
    CU_ASSERT_EQUAL(msgsec_akma_af_id("\xc3\xbc.de", 5, UA_TLS13, af,
                                      sizeof(af), &len),
                    MSGSEC_OK);
    memset(af, 'a', sizeof(af));
    CU_ASSERT_EQUAL(msgsec_akma_af_id((const char *)af, 256, UA_TLS13, af,
                                      sizeof(af), &len),
                    MSGSEC_ERR_INVALID_ARG);
    CU_ASSERT_EQUAL(msgsec_akma_af_id("a", 1, NULL, af, sizeof(af), &len),
                    MSGSEC_ERR_INVALID_ARG);
    memset(out, 0xaa, 32);
    CU_ASSERT_EQUAL(msgsec_akma_derive_k_af_fqdn(kdf, key, 32, "a b", 3,
                                                 UA_TLS13, out),
                    MSGSEC_ERR_INVALID_ARG);
    CU_ASSERT(is_zero(out, 32));
}

/* ------------------------------------------------------------ realm */

static void test_realm(void)
{
    char buf[64], mcc[4], mnc[4];
    size_t len;

    CU_ASSERT_EQUAL(msgsec_akma_realm_build("001", 3, "01", 2, buf,
                                            sizeof(buf), &len),
                    MSGSEC_OK);
    CU_ASSERT_STRING_EQUAL(buf, "5gc.mnc001.mcc001.3gppnetwork.org");
    CU_ASSERT_EQUAL(len, strlen(buf));
    CU_ASSERT_EQUAL(len, MSGSEC_AKMA_REALM_LEN);
    CU_ASSERT_EQUAL(msgsec_akma_realm_build("310", 3, "260", 3, buf,
                                            MSGSEC_AKMA_REALM_LEN + 1, &len),
                    MSGSEC_OK);
    CU_ASSERT_STRING_EQUAL(buf, "5gc.mnc260.mcc310.3gppnetwork.org");
    CU_ASSERT_EQUAL(msgsec_akma_realm_build("310", 3, "260", 3, buf,
                                            MSGSEC_AKMA_REALM_LEN, &len),
                    MSGSEC_ERR_BUFFER_TOO_SMALL);
    CU_ASSERT_EQUAL(msgsec_akma_realm_build("31", 2, "260", 3, buf,
                                            sizeof(buf), &len),
                    MSGSEC_ERR_INVALID_ARG);
    CU_ASSERT_EQUAL(msgsec_akma_realm_build("31a", 3, "260", 3, buf,
                                            sizeof(buf), &len),
                    MSGSEC_ERR_INVALID_ARG);
    CU_ASSERT_EQUAL(msgsec_akma_realm_build("310", 3, "2", 1, buf,
                                            sizeof(buf), &len),
                    MSGSEC_ERR_INVALID_ARG);
    CU_ASSERT_EQUAL(msgsec_akma_realm_build("310", 3, "2600", 4, buf,
                                            sizeof(buf), &len),
                    MSGSEC_ERR_INVALID_ARG);
    CU_ASSERT_EQUAL(msgsec_akma_realm_build("310", 3, "2-", 2, buf,
                                            sizeof(buf), &len),
                    MSGSEC_ERR_INVALID_ARG);

    CU_ASSERT_EQUAL(msgsec_akma_realm_parse(
                        "5GC.MNC260.MCC310.3GPPNETWORK.ORG", 33, mcc, mnc),
                    MSGSEC_OK);
    CU_ASSERT_STRING_EQUAL(mcc, "310");
    CU_ASSERT_STRING_EQUAL(mnc, "260");
    CU_ASSERT_EQUAL(msgsec_akma_realm_parse(
                        "5gc.mnc26.mcc310.3gppnetwork.org", 32, mcc, mnc),
                    MSGSEC_ERR_BAD_FRAME);
    CU_ASSERT_EQUAL(msgsec_akma_realm_parse(
                        "5gc.mncabc.mcc310.3gppnetwork.org", 33, mcc, mnc),
                    MSGSEC_ERR_BAD_FRAME);
    CU_ASSERT_EQUAL(msgsec_akma_realm_parse(
                        "ims.mnc260.mcc310.3gppnetwork.org", 33, mcc, mnc),
                    MSGSEC_ERR_BAD_FRAME);
    CU_ASSERT_EQUAL(msgsec_akma_realm_parse("example.com", 11, mcc, mnc),
                    MSGSEC_ERR_BAD_FRAME);
    CU_ASSERT_EQUAL(msgsec_akma_realm_parse(NULL, 33, mcc, mnc),
                    MSGSEC_ERR_INVALID_ARG);
}

/* ------------------------------------------------------------ A-KID */

static void test_akid_default_form(void)
{
    uint8_t atid[32];
    char want[128], hex[65], buf[128];
    size_t len;
    msgsec_akid_parts parts;
    const char *why = "unset";

    unhex(KAT_A_TID, atid, 32);
    tohex(atid, 32, hex);
    snprintf(want, sizeof(want), "0.%s@5gc.mnc001.mcc001.3gppnetwork.org",
             hex);
    CU_ASSERT_EQUAL(msgsec_akid_build(NULL, "0", 1, atid, "001", 3, "01", 2,
                                      buf, sizeof(buf), &len),
                    MSGSEC_OK);
    CU_ASSERT_STRING_EQUAL(buf, want);
    CU_ASSERT_EQUAL(len, strlen(want));

    CU_ASSERT_EQUAL(msgsec_akid_parse(buf, len, NULL, &parts, &why),
                    MSGSEC_OK);
    CU_ASSERT_PTR_NULL(why);
    CU_ASSERT_PTR_EQUAL(parts.username, buf);
    CU_ASSERT_EQUAL(parts.username_len, 66);
    CU_ASSERT_PTR_EQUAL(parts.realm, buf + 67);
    CU_ASSERT_EQUAL(parts.realm_len, 33);
    CU_ASSERT_EQUAL(parts.has_rid_a_tid, 1);
    CU_ASSERT_EQUAL(parts.rid_len, 1);
    CU_ASSERT_EQUAL(parts.rid[0], '0');
    CU_ASSERT_EQUAL(memcmp(parts.a_tid, atid, 32), 0);
    CU_ASSERT_EQUAL(parts.has_home_network, 1);
    CU_ASSERT_STRING_EQUAL(parts.mcc, "001");
    CU_ASSERT_STRING_EQUAL(parts.mnc, "001");

    /* The buffer: exact fit, one short (the NUL), and the length needed. */
    CU_ASSERT_EQUAL(msgsec_akid_build(NULL, "0", 1, atid, "001", 3, "01", 2,
                                      buf, strlen(want) + 1, &len),
                    MSGSEC_OK);
    CU_ASSERT_EQUAL(msgsec_akid_build(NULL, "0", 1, atid, "001", 3, "01", 2,
                                      buf, strlen(want), &len),
                    MSGSEC_ERR_BUFFER_TOO_SMALL);
    CU_ASSERT_EQUAL(len, strlen(want));
}

static void test_akid_settings(void)
{
    msgsec_akid_settings s, before;
    const char *why;

    msgsec_akid_settings_default(&s);
    CU_ASSERT_STRING_EQUAL(s.separator, ".");
    CU_ASSERT_EQUAL(s.atid_encoding, MSGSEC_AKID_ATID_HEX);

    CU_ASSERT_EQUAL(msgsec_akid_settings_set(&s, MSGSEC_AKID_KEY_SEPARATOR,
                                             "-", &why),
                    MSGSEC_OK);
    CU_ASSERT_STRING_EQUAL(s.separator, "-");
    CU_ASSERT_EQUAL(msgsec_akid_settings_set(&s, "akid_separator", "", &why),
                    MSGSEC_OK);
    CU_ASSERT_STRING_EQUAL(s.separator, "");
    CU_ASSERT_EQUAL(msgsec_akid_settings_set(&s, "akid_separator", "._.x~",
                                             &why),
                    MSGSEC_OK);
    CU_ASSERT_EQUAL(msgsec_akid_settings_set(&s, "akid_separator", "12345678",
                                             &why),
                    MSGSEC_OK);
    CU_ASSERT_EQUAL(msgsec_akid_settings_set(
                        &s, MSGSEC_AKID_KEY_ATID_ENCODING, "base64url", &why),
                    MSGSEC_OK);
    CU_ASSERT_EQUAL(s.atid_encoding, MSGSEC_AKID_ATID_BASE64URL);
    CU_ASSERT_EQUAL(msgsec_akid_settings_set(&s, "akid_atid_encoding", "HEX",
                                             &why),
                    MSGSEC_OK);
    CU_ASSERT_EQUAL(s.atid_encoding, MSGSEC_AKID_ATID_HEX);

    /* Refused values leave the settings as they were, with a reason. */
    before = s;
    static const char *const bad_sep[] = {"..", "@", " ", "a b", "123456789",
                                          ",", "\"", "(", "\xc3\xbc"};
    for (size_t i = 0; i < sizeof(bad_sep) / sizeof(bad_sep[0]); i++) {
        why = NULL;
        CU_ASSERT_EQUAL(msgsec_akid_settings_set(&s, "akid_separator",
                                                 bad_sep[i], &why),
                        MSGSEC_ERR_POLICY_BAD_VALUE);
        CU_ASSERT_PTR_NOT_NULL(why);
    }
    why = NULL;
    CU_ASSERT_EQUAL(msgsec_akid_settings_set(&s, "akid_atid_encoding", "b64",
                                             &why),
                    MSGSEC_ERR_POLICY_BAD_VALUE);
    CU_ASSERT_PTR_NOT_NULL(why);
    CU_ASSERT_EQUAL(msgsec_akid_settings_set(&s, "akid_atid_encoding", "",
                                             &why),
                    MSGSEC_ERR_POLICY_BAD_VALUE);
    CU_ASSERT_EQUAL(memcmp(&s, &before, sizeof(s)), 0);
    CU_ASSERT_EQUAL(msgsec_akid_settings_set(&s, "aanf_uri", "x", &why),
                    MSGSEC_ERR_POLICY_UNKNOWN_KEY);
    CU_ASSERT_EQUAL(msgsec_akid_settings_set(NULL, "akid_separator", "x",
                                             &why),
                    MSGSEC_ERR_INVALID_ARG);
    CU_ASSERT_EQUAL(msgsec_akid_settings_set(&s, "akid_separator", NULL,
                                             NULL),
                    MSGSEC_ERR_INVALID_ARG);
}

/* Every separator, encoding and RID length round-trips. */
static void test_akid_round_trips(void)
{
    static const char *const seps[] = {".", "", "-", "_", ".x.", "~~"};
    static const char *const rids[] = {"0", "12", "123", "9999"};
    static const char *const mncs[] = {"01", "260", "999"};
    msgsec_akid_settings s;
    uint8_t atid[32];
    char buf[160], enc[80], want[200], realm[40];
    size_t len, rlen;
    msgsec_akid_parts parts;
    const char *why;

    for (int e = 0; e < 2; e++)
        for (size_t si = 0; si < sizeof(seps) / sizeof(seps[0]); si++)
            for (size_t ri = 0; ri < 4; ri++) {
                msgsec_akid_settings_default(&s);
                CU_ASSERT_EQUAL_FATAL(msgsec_akid_settings_set(
                                          &s, "akid_separator", seps[si],
                                          NULL),
                                      MSGSEC_OK);
                s.atid_encoding = e ? MSGSEC_AKID_ATID_BASE64URL
                                    : MSGSEC_AKID_ATID_HEX;
                CU_ASSERT_FATAL(RAND_bytes(atid, 32) == 1);
                const char *mnc = mncs[(si + ri) % 3];
                CU_ASSERT_EQUAL(msgsec_akid_build(&s, rids[ri],
                                                  strlen(rids[ri]), atid,
                                                  "262", 3, mnc, strlen(mnc),
                                                  buf, sizeof(buf), &len),
                                MSGSEC_OK);
                /* Independently encoded expectation. */
                if (e)
                    reference_b64url(atid, 32, enc);
                else
                    tohex(atid, 32, enc);
                CU_ASSERT_EQUAL_FATAL(msgsec_akma_realm_build(
                                          "262", 3, mnc, strlen(mnc), realm,
                                          sizeof(realm), &rlen),
                                      MSGSEC_OK);
                snprintf(want, sizeof(want), "%s%s%s@%s", rids[ri], seps[si],
                         enc, realm);
                CU_ASSERT_STRING_EQUAL(buf, want);

                why = "unset";
                CU_ASSERT_EQUAL(msgsec_akid_parse(buf, len, &s, &parts, &why),
                                MSGSEC_OK);
                CU_ASSERT_PTR_NULL(why);
                CU_ASSERT_EQUAL(parts.has_rid_a_tid, 1);
                CU_ASSERT_EQUAL(parts.rid_len, strlen(rids[ri]));
                CU_ASSERT(parts.rid &&
                          memcmp(parts.rid, rids[ri], parts.rid_len) == 0);
                CU_ASSERT_EQUAL(memcmp(parts.a_tid, atid, 32), 0);
                CU_ASSERT_EQUAL(parts.has_home_network, 1);
                CU_ASSERT_STRING_EQUAL(parts.mcc, "262");
                CU_ASSERT_EQUAL(strlen(parts.mnc), 3);
            }
}

static void test_akid_build_arguments(void)
{
    uint8_t atid[32] = {0};
    char buf[160];
    size_t len;
    msgsec_akid_settings s;

    CU_ASSERT_EQUAL(msgsec_akid_build(NULL, "", 0, atid, "001", 3, "01", 2,
                                      buf, sizeof(buf), &len),
                    MSGSEC_ERR_INVALID_ARG);
    CU_ASSERT_EQUAL(msgsec_akid_build(NULL, "12345", 5, atid, "001", 3, "01",
                                      2, buf, sizeof(buf), &len),
                    MSGSEC_ERR_INVALID_ARG);
    CU_ASSERT_EQUAL(msgsec_akid_build(NULL, "1a", 2, atid, "001", 3, "01", 2,
                                      buf, sizeof(buf), &len),
                    MSGSEC_ERR_INVALID_ARG);
    CU_ASSERT_EQUAL(msgsec_akid_build(NULL, "1", 1, NULL, "001", 3, "01", 2,
                                      buf, sizeof(buf), &len),
                    MSGSEC_ERR_INVALID_ARG);
    CU_ASSERT_EQUAL(msgsec_akid_build(NULL, "1", 1, atid, "01", 2, "01", 2,
                                      buf, sizeof(buf), &len),
                    MSGSEC_ERR_INVALID_ARG);
    CU_ASSERT_EQUAL(msgsec_akid_build(NULL, "1", 1, atid, "001", 3, "1", 1,
                                      buf, sizeof(buf), &len),
                    MSGSEC_ERR_INVALID_ARG);
    CU_ASSERT_EQUAL(msgsec_akid_build(NULL, "1", 1, atid, "001", 3, "01", 2,
                                      NULL, sizeof(buf), &len),
                    MSGSEC_ERR_INVALID_ARG);
    /* Settings filled by hand are checked too. */
    msgsec_akid_settings_default(&s);
    memset(s.separator, 'x', sizeof(s.separator)); /* no NUL */
    CU_ASSERT_EQUAL(msgsec_akid_build(&s, "1", 1, atid, "001", 3, "01", 2,
                                      buf, sizeof(buf), &len),
                    MSGSEC_ERR_INVALID_ARG);
    msgsec_akid_settings_default(&s);
    strcpy(s.separator, "@");
    CU_ASSERT_EQUAL(msgsec_akid_build(&s, "1", 1, atid, "001", 3, "01", 2,
                                      buf, sizeof(buf), &len),
                    MSGSEC_ERR_INVALID_ARG);
    msgsec_akid_settings_default(&s);
    s.atid_encoding = 7;
    CU_ASSERT_EQUAL(msgsec_akid_build(&s, "1", 1, atid, "001", 3, "01", 2,
                                      buf, sizeof(buf), &len),
                    MSGSEC_ERR_INVALID_ARG);
}

/* Valid NAIs that are not of the settings' form: parsed, no RID/A-TID. */
static void test_akid_other_forms(void)
{
    msgsec_akid_parts parts;
    msgsec_akid_settings b64;
    uint8_t atid[32];
    char buf[160], hex[65];
    size_t len;
    const char *why;

    CU_ASSERT_EQUAL(msgsec_akid_parse("user@example.com", 16, NULL, &parts,
                                      &why),
                    MSGSEC_OK);
    CU_ASSERT_EQUAL(parts.has_rid_a_tid, 0);
    CU_ASSERT_EQUAL(parts.has_home_network, 0);
    CU_ASSERT_EQUAL(parts.username_len, 4);
    CU_ASSERT_EQUAL(parts.realm_len, 11);

    /* Upper-case hex is accepted. */
    unhex(KAT_A_TID, atid, 32);
    tohex(atid, 32, hex);
    for (int i = 0; hex[i]; i++)
        if (hex[i] >= 'a' && hex[i] <= 'f')
            hex[i] = (char)(hex[i] - 'a' + 'A');
    len = (size_t)snprintf(buf, sizeof(buf),
                           "42.%s@5gc.mnc001.mcc001.3gppnetwork.org", hex);
    CU_ASSERT_EQUAL(msgsec_akid_parse(buf, len, NULL, &parts, &why),
                    MSGSEC_OK);
    CU_ASSERT_EQUAL(parts.has_rid_a_tid, 1);
    CU_ASSERT_EQUAL(memcmp(parts.a_tid, atid, 32), 0);

    /* A 5-digit RID, a wrong separator, a short A-TID: not the form. */
    tohex(atid, 32, hex);
    len = (size_t)snprintf(buf, sizeof(buf), "12345.%s@a.example", hex);
    CU_ASSERT_EQUAL(msgsec_akid_parse(buf, len, NULL, &parts, &why),
                    MSGSEC_OK);
    CU_ASSERT_EQUAL(parts.has_rid_a_tid, 0);
    len = (size_t)snprintf(buf, sizeof(buf), "1-%s@a.example", hex);
    CU_ASSERT_EQUAL(msgsec_akid_parse(buf, len, NULL, &parts, &why),
                    MSGSEC_OK);
    CU_ASSERT_EQUAL(parts.has_rid_a_tid, 0);
    len = (size_t)snprintf(buf, sizeof(buf), "1.%.62s@a.example", hex);
    CU_ASSERT_EQUAL(msgsec_akid_parse(buf, len, NULL, &parts, &why),
                    MSGSEC_OK);
    CU_ASSERT_EQUAL(parts.has_rid_a_tid, 0);
    len = (size_t)snprintf(buf, sizeof(buf), "1.%.63sg@a.example", hex);
    CU_ASSERT_EQUAL(msgsec_akid_parse(buf, len, NULL, &parts, &why),
                    MSGSEC_OK);
    CU_ASSERT_EQUAL(parts.has_rid_a_tid, 0);
    len = (size_t)snprintf(buf, sizeof(buf), ".%s@a.example", hex + 1);
    CU_ASSERT_EQUAL(msgsec_akid_parse(buf, len, NULL, &parts, &why),
                    MSGSEC_ERR_BAD_FRAME);

    /* A base64url A-KID read with the hex settings, and the reverse. */
    msgsec_akid_settings_default(&b64);
    b64.atid_encoding = MSGSEC_AKID_ATID_BASE64URL;
    CU_ASSERT_EQUAL(msgsec_akid_build(&b64, "7", 1, atid, "001", 3, "01", 2,
                                      buf, sizeof(buf), &len),
                    MSGSEC_OK);
    CU_ASSERT_EQUAL(msgsec_akid_parse(buf, len, NULL, &parts, &why),
                    MSGSEC_OK);
    CU_ASSERT_EQUAL(parts.has_rid_a_tid, 0);
    CU_ASSERT_EQUAL(parts.has_home_network, 1);
    CU_ASSERT_EQUAL(msgsec_akid_parse(buf, len, &b64, &parts, &why),
                    MSGSEC_OK);
    CU_ASSERT_EQUAL(parts.has_rid_a_tid, 1);
    /* Non-canonical base64url (the unused low bits set) is not the form. */
    {
        static const char alpha[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZ"
                                    "abcdefghijklmnopqrstuvwxyz0123456789-_";
        char *last = buf + 2 + 42;
        const char *pos = strchr(alpha, *last);
        CU_ASSERT_EQUAL_FATAL(last[1], '@');
        CU_ASSERT_PTR_NOT_NULL_FATAL(pos);
        CU_ASSERT_EQUAL((pos - alpha) % 4, 0);
        *last = alpha[(pos - alpha) | 1];
        CU_ASSERT_EQUAL(msgsec_akid_parse(buf, len, &b64, &parts, &why),
                        MSGSEC_OK);
        CU_ASSERT_EQUAL(parts.has_rid_a_tid, 0);
    }

    /* UTF-8 in username and realm is allowed by RFC 7542. */
    CU_ASSERT_EQUAL(msgsec_akid_parse("j\303\274rgen@b\303\274cher.de", 17,
                                      NULL, &parts, &why),
                    MSGSEC_OK);
    CU_ASSERT_EQUAL(msgsec_akid_parse("\xf0\x9f\x98\x80@a-b.c-d.e", 14, NULL,
                                      &parts, &why),
                    MSGSEC_OK);
    CU_ASSERT_EQUAL(msgsec_akid_parse("!#$%&'*+-/=?^_`{|}~@a.b", 23, NULL,
                                      &parts, &why),
                    MSGSEC_OK);
}

typedef struct hostile {
    const char *text;
    size_t len; /* 0: strlen(text) */
} hostile;

static void test_akid_hostile(void)
{
    static const hostile cases[] = {
        {"", 0},
        {"no-at-sign.example.com", 0},
        {"a@b@c.d", 0},
        {"@5gc.mnc001.mcc001.3gppnetwork.org", 0},
        {"0.abcd@", 0},
        {"0.abcd@single", 0},
        {"0 .abcd@a.b", 0},
        {"0.ab\tcd@a.b", 0},
        {"0.ab\"cd@a.b", 0},
        {"0.ab(cd)@a.b", 0},
        {"0.ab,cd@a.b", 0},
        {"0.ab\\cd@a.b", 0},
        {"0.ab[cd]@a.b", 0},
        {"0.ab:cd@a.b", 0},
        {"0.ab;cd@a.b", 0},
        {"0.ab<cd>@a.b", 0},
        {".abcd@a.b", 0},
        {"abcd.@a.b", 0},
        {"ab..cd@a.b", 0},
        {"ab@.a.b", 0},
        {"ab@a.b.", 0},
        {"ab@a..b", 0},
        {"ab@-a.b", 0},
        {"ab@a-.b", 0},
        {"ab@a.b-", 0},
        {"ab@a_b.c", 0},
        {"ab@a.b c", 0},
        {"ab@a.b\x7f", 0},
        {"ab\x80@a.b", 0},          /* lone continuation byte */
        {"ab\xc0\xaf@a.b", 0},      /* overlong '/' */
        {"ab\xe0\x80\xaf@a.b", 0},  /* overlong, 3 bytes */
        {"ab\xed\xa0\x80@a.b", 0},  /* UTF-16 surrogate */
        {"ab\xf4\x90\x80\x80@a.b", 0}, /* above U+10FFFF */
        {"ab\xf5\x80\x80\x80@a.b", 0},
        {"ab\xff@a.b", 0},
        {"ab@a.b\xe2\x82", 0},      /* truncated at the end */
        {"ab\xe2\x82@a.b", 0},      /* truncated before '@' */
        {"ab\0cd@a.b", 9},          /* NUL inside */
        {"ab@a.b\0", 7},            /* NUL at the end */
    };
    msgsec_akid_parts parts;
    const char *why;
    char big[400];

    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        size_t len = cases[i].len ? cases[i].len : strlen(cases[i].text);
        why = NULL;
        memset(&parts, 0x5a, sizeof(parts));
        int rc = msgsec_akid_parse(cases[i].text, len, NULL, &parts, &why);
        if (rc != MSGSEC_ERR_BAD_FRAME)
            fprintf(stderr, "case %zu: rc %d\n", i, rc);
        CU_ASSERT_EQUAL(rc, MSGSEC_ERR_BAD_FRAME);
        CU_ASSERT_PTR_NOT_NULL(why);
        CU_ASSERT_PTR_NULL(parts.username);
        CU_ASSERT_PTR_NULL(parts.realm);
        CU_ASSERT_EQUAL(parts.has_rid_a_tid, 0);
    }

    /* Length limit: 253 bytes parse, 254 do not. */
    memset(big, 'u', sizeof(big));
    memcpy(big + 253 - 4, "@a.b", 4);
    CU_ASSERT_EQUAL(msgsec_akid_parse(big, 253, NULL, &parts, &why),
                    MSGSEC_OK);
    memset(big, 'u', sizeof(big));
    memcpy(big + 254 - 4, "@a.b", 4);
    why = NULL;
    CU_ASSERT_EQUAL(msgsec_akid_parse(big, 254, NULL, &parts, &why),
                    MSGSEC_ERR_BAD_FRAME);
    CU_ASSERT_PTR_NOT_NULL(why);
    CU_ASSERT_EQUAL(msgsec_akid_parse(big, sizeof(big), NULL, &parts, &why),
                    MSGSEC_ERR_BAD_FRAME);
    /* Realm labels: 63 bytes parse, 64 do not. */
    memset(big, 'l', sizeof(big));
    memcpy(big, "u@", 2);
    memcpy(big + 2 + 63, ".b", 2);
    CU_ASSERT_EQUAL(msgsec_akid_parse(big, 2 + 63 + 2, NULL, &parts, &why),
                    MSGSEC_OK);
    memset(big, 'l', sizeof(big));
    memcpy(big, "u@", 2);
    memcpy(big + 2 + 64, ".b", 2);
    CU_ASSERT_EQUAL(msgsec_akid_parse(big, 2 + 64 + 2, NULL, &parts, &why),
                    MSGSEC_ERR_BAD_FRAME);

    /* Arguments. */
    CU_ASSERT_EQUAL(msgsec_akid_parse(NULL, 5, NULL, &parts, &why),
                    MSGSEC_ERR_INVALID_ARG);
    CU_ASSERT_EQUAL(msgsec_akid_parse("a@b.c", 5, NULL, NULL, &why),
                    MSGSEC_ERR_INVALID_ARG);
    CU_ASSERT_EQUAL(msgsec_akid_parse("a@b.c", 5, NULL, &parts, NULL),
                    MSGSEC_OK);
    {
        msgsec_akid_settings s;
        msgsec_akid_settings_default(&s);
        s.atid_encoding = -1;
        CU_ASSERT_EQUAL(msgsec_akid_parse("a@b.c", 5, &s, &parts, &why),
                        MSGSEC_ERR_INVALID_ARG);
    }
}

/* Random bytes never crash the parser, and what it accepts is sane. */
static void test_akid_random_input(void)
{
    uint8_t buf[64];
    msgsec_akid_parts parts;
    const char *why;
    static const char alphabet[] = "0123456789abcdef.@-_\xc3\xbc";

    for (int round = 0; round < 20000; round++) {
        CU_ASSERT_FATAL(RAND_bytes(buf, sizeof(buf)) == 1);
        size_t len = buf[0] % sizeof(buf);
        /* Mostly plausible characters, so that some inputs are valid. */
        for (size_t i = 1; i < len; i++)
            if (buf[i] & 1)
                buf[i] = (uint8_t)alphabet[buf[i] % (sizeof(alphabet) - 1)];
        int rc = msgsec_akid_parse((const char *)buf + 1, len ? len - 1 : 0,
                                   NULL, &parts, &why);
        if (rc == MSGSEC_OK) {
            CU_ASSERT_EQUAL(parts.username_len + 1 + parts.realm_len,
                            len - 1);
            CU_ASSERT_EQUAL(parts.realm[-1], '@');
        } else {
            CU_ASSERT_EQUAL(rc, MSGSEC_ERR_BAD_FRAME);
            CU_ASSERT_PTR_NOT_NULL(why);
        }
    }
}

static void test_akid_realm(void)
{
    const char akid[] = "0.abc@5gc.mnc001.mcc001.3gppnetwork.org";
    const char *realm = NULL, *why;
    size_t len = 0;

    CU_ASSERT_EQUAL(msgsec_akid_realm(akid, strlen(akid), &realm, &len, &why),
                    MSGSEC_OK);
    CU_ASSERT_PTR_EQUAL(realm, akid + 6);
    CU_ASSERT_EQUAL(len, 33);
    why = NULL;
    CU_ASSERT_EQUAL(msgsec_akid_realm("0.abc", 5, &realm, &len, &why),
                    MSGSEC_ERR_BAD_FRAME);
    CU_ASSERT_PTR_NULL(realm);
    CU_ASSERT_EQUAL(len, 0);
    CU_ASSERT_PTR_NOT_NULL(why);
    CU_ASSERT_EQUAL(msgsec_akid_realm("a@b@c.d", 7, &realm, &len, &why),
                    MSGSEC_ERR_BAD_FRAME);
    CU_ASSERT_EQUAL(msgsec_akid_realm(akid, strlen(akid), NULL, &len, &why),
                    MSGSEC_ERR_INVALID_ARG);
}

int main(void)
{
    CU_TestInfo tests[] = {
        {"DOMAIN.md known answers and self-test", test_known_answers},
        {"SUPI forms; the wrong form's key", test_supi_forms},
        {"derivations agree with an independent implementation",
         test_against_reference},
        {"Ua* identifiers", test_ua_identifiers},
        {"derivation arguments and FQDNs", test_derivation_arguments},
        {"home network realm", test_realm},
        {"A-KID default form", test_akid_default_form},
        {"A-KID settings", test_akid_settings},
        {"A-KID round trips", test_akid_round_trips},
        {"A-KID build arguments", test_akid_build_arguments},
        {"A-KID other valid forms", test_akid_other_forms},
        {"A-KID hostile input", test_akid_hostile},
        {"A-KID random input", test_akid_random_input},
        {"A-KID realm extraction", test_akid_realm},
        CU_TEST_INFO_NULL,
    };
    return msgsec_test_main("akma_keys", suite_init, suite_cleanup, tests);
}
