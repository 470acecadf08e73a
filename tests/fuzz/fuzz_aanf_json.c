/*
 * fuzz_aanf_json.c - libFuzzer target for the AAnF codec: every decoder
 * (with both key encodings and both afId formats), the retrieve result, the
 * afId and date-time parsers on arbitrary bytes. Whatever decodes must
 * encode again and decode to the same value; whatever fails must leave a
 * zeroed output and a fault.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <msgsec/aanf.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static int is_zero(const void *p, size_t n)
{
    const uint8_t *b = p;
    for (size_t i = 0; i < n; i++)
        if (b[i])
            return 0;
    return 1;
}

static void check_fail(int rc, const msgsec_aanf_fault *f, const void *out,
                       size_t n)
{
    if (rc == 0)
        return;
    if (rc != MSGSEC_ERR_BAD_FRAME && rc != MSGSEC_ERR_NOMEM)
        abort();
    if (!is_zero(out, n))
        abort();
    if (rc == MSGSEC_ERR_BAD_FRAME &&
        (f->kind == MSGSEC_AANF_FAULT_NONE || !f->reason[0] ||
         !memchr(f->reason, 0, sizeof(f->reason))))
        abort();
}

#define ROUND_TRIP(type, dec, enc, s, v)                                       \
    do {                                                                       \
        char j_[8192];                                                         \
        size_t n_;                                                             \
        type w_;                                                               \
        msgsec_aanf_fault f_;                                                  \
        if (enc(s, v, j_, sizeof(j_), &n_) != 0 ||                             \
            dec(s, j_, n_, &w_, &f_) != 0 || memcmp(&w_, v, sizeof(w_)) != 0)  \
            abort();                                                           \
        msgsec_aanf_clear(&w_, sizeof(w_));                                    \
    } while (0)

static void one_setting(const msgsec_aanf_settings *s, const uint8_t *d,
                        size_t n)
{
    msgsec_aanf_fault f;
    int rc;

    msgsec_aanf_key_request req;
    rc = msgsec_aanf_decode_key_request(s, d, n, &req, &f);
    check_fail(rc, &f, &req, sizeof(req));
    if (rc == 0)
        ROUND_TRIP(msgsec_aanf_key_request, msgsec_aanf_decode_key_request,
                   msgsec_aanf_encode_key_request, s, &req);

    msgsec_aanf_key_data kd;
    rc = msgsec_aanf_decode_key_data(s, d, n, &kd, &f);
    check_fail(rc, &f, &kd, sizeof(kd));
    if (rc == 0) {
        /* Years outside 0000-9999 decode (offsets) but do not encode. */
        char t[MSGSEC_AANF_DATETIME_SIZE];
        if (msgsec_aanf_datetime_format(kd.expiry, t) == 0)
            ROUND_TRIP(msgsec_aanf_key_data, msgsec_aanf_decode_key_data,
                       msgsec_aanf_encode_key_data, s, &kd);
        msgsec_aanf_clear(&kd, sizeof(kd));
    }

    msgsec_aanf_key_info ki;
    rc = msgsec_aanf_decode_key_info(s, d, n, &ki, &f);
    check_fail(rc, &f, &ki, sizeof(ki));
    if (rc == 0) {
        ROUND_TRIP(msgsec_aanf_key_info, msgsec_aanf_decode_key_info,
                   msgsec_aanf_encode_key_info, s, &ki);
        msgsec_aanf_clear(&ki, sizeof(ki));
    }

    msgsec_aanf_ctx_remove cr;
    rc = msgsec_aanf_decode_ctx_remove(s, d, n, &cr, &f);
    check_fail(rc, &f, &cr, sizeof(cr));
    if (rc == 0)
        ROUND_TRIP(msgsec_aanf_ctx_remove, msgsec_aanf_decode_ctx_remove,
                   msgsec_aanf_encode_ctx_remove, s, &cr);

    msgsec_aanf_problem p;
    rc = msgsec_aanf_decode_problem(s, d, n, &p, &f);
    check_fail(rc, &f, &p, sizeof(p));
    if (rc == 0) {
        /* Cut texts re-encode; the status is always in range. */
        char j[16384];
        size_t jn;
        if (msgsec_aanf_encode_problem(s, &p, j, sizeof(j), &jn) != 0)
            abort();
    }

    /* The AF's view of an answer; the detail is one printable line. */
    static const int statuses[] = {200, 204, 400, 404, 500, 503};
    static const char *const types[] = {"application/json",
                                        "application/problem+json", NULL};
    int status = statuses[n % 6];
    char detail[512];
    rc = msgsec_aanf_retrieve_result(s, status, types[n % 3], d, n, &kd, &p,
                                     detail, sizeof(detail));
    if (rc != 0 && (!detail[0] || !is_zero(&kd, sizeof(kd))))
        abort();
    for (const char *c = detail; *c; c++)
        if ((unsigned char)*c < 0x20 || *c == 0x7f)
            abort();
    msgsec_aanf_clear(&kd, sizeof(kd));

    char fq[MSGSEC_AKMA_FQDN_MAX + 1];
    size_t fqlen;
    uint8_t ua[MSGSEC_AKMA_UA_ID_LEN];
    if (msgsec_aanf_afid_parse(s, (const char *)d, n, fq, &fqlen, ua, NULL) ==
        0) {
        char back[MSGSEC_AANF_AFID_MAX + 1];
        size_t bl;
        /* Hex digits come back lower case: compare what they mean. */
        uint8_t ua2[MSGSEC_AKMA_UA_ID_LEN];
        char fq2[MSGSEC_AKMA_FQDN_MAX + 1];
        size_t fq2len;
        if (msgsec_aanf_afid_build(s, fq, fqlen, ua, back, sizeof(back),
                                   &bl) != 0 ||
            msgsec_aanf_afid_parse(s, back, bl, fq2, &fq2len, ua2, NULL) !=
                0 ||
            fq2len != fqlen || memcmp(fq, fq2, fqlen) != 0 ||
            memcmp(ua, ua2, sizeof(ua)) != 0)
            abort();
    }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    for (int e = MSGSEC_AANF_KEY_HEX; e <= MSGSEC_AANF_KEY_BASE64; e++) {
        msgsec_aanf_settings s = {e, e ? MSGSEC_AANF_AFID_FQDN
                                       : MSGSEC_AANF_AFID_FQDN_UA};
        one_setting(&s, data, size);
    }
    int64_t t;
    if (msgsec_aanf_datetime_parse((const char *)data, size, &t) == 0) {
        char out[MSGSEC_AANF_DATETIME_SIZE];
        int64_t t2;
        if (msgsec_aanf_datetime_format(t, out) == 0 &&
            (msgsec_aanf_datetime_parse(out, strlen(out), &t2) != 0 ||
             t2 != t))
            abort();
    }
    return 0;
}
