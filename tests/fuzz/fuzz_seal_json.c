/*
 * fuzz_seal_json.c - libFuzzer target for the SEAL codec's other parsers.
 * The first input byte chooses one, the rest is its input: ValKeyInfo,
 * token response, association answer (decode, re-encode, decode, compare),
 * the key-records and association queries and the token request (parse,
 * rebuild, parse, compare), the key answer for a few statuses, and the PSK
 * identity. Failures must leave zeroed outputs and a fault.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <msgsec/seal.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define NOW 1767225600 /* 2026-01-01T00:00:00Z */

/* Larger than any output checked here. */
static const uint8_t zeros[8192];

/* A failure leaves a zeroed output and, for BAD_FRAME, a fault. */
static void check_fail(int rc, const msgsec_aanf_fault *f, const void *out,
                       size_t n)
{
    int frame = rc == MSGSEC_ERR_BAD_FRAME;
    if (rc && ((!frame && rc != MSGSEC_ERR_NOMEM) || memcmp(out, zeros, n) ||
               (frame &&
                (f->kind == MSGSEC_AANF_FAULT_NONE ||
                 !memchr(f->reason, 0, sizeof(f->reason)) || !f->reason[0]))))
        abort();
}

static void printable(const char *s)
{
    for (; *s; s++)
        if ((unsigned char)*s < 0x20 || *s == 0x7f)
            abort();
}

/* Decode, encode, decode again: the same value. */
#define ROUND_TRIP(type, dec, enc, d, n)                                       \
    do {                                                                       \
        static type v_, w_;                                                    \
        static char j_[MSGSEC_SEAL_BODY_MAX + 1];                              \
        msgsec_aanf_fault f_;                                                  \
        size_t n_;                                                             \
        int rc_ = dec(d, n, &v_, &f_);                                         \
        check_fail(rc_, &f_, &v_, sizeof(v_));                                 \
        if (rc_ == 0 &&                                                        \
            (enc(&v_, j_, sizeof(j_), &n_) != 0 ||                             \
             dec(j_, n_, &w_, &f_) != 0 || memcmp(&v_, &w_, sizeof(v_)) != 0)) \
            abort();                                                           \
        msgsec_seal_clear(&v_, sizeof(v_));                                    \
        msgsec_seal_clear(&w_, sizeof(w_));                                    \
    } while (0)

static void key_records_query(const char *q, size_t n)
{
    char sid[MSGSEC_SEAL_ID_MAX + 1], sid2[MSGSEC_SEAL_ID_MAX + 1];
    msgsec_seal_target t, t2;
    msgsec_aanf_fault f;
    int has, has2;
    int rc = msgsec_seal_parse_key_records_query(q, n, sid, sizeof(sid), &t,
                                                 &has, &f);
    check_fail(rc, &f, &t, sizeof(t));
    if (rc != 0) {
        if (sid[0] || has)
            abort();
        return;
    }
    static char url[16384];
    if (msgsec_seal_key_records_url("http://km", sid, has ? &t : NULL, url,
                                    sizeof(url)) != 0)
        abort();
    const char *q2 = strchr(url, '?') + 1;
    if (msgsec_seal_parse_key_records_query(q2, strlen(q2), sid2, sizeof(sid2),
                                            &t2, &has2, &f) != 0 ||
        strcmp(sid, sid2) != 0 || has != has2 || memcmp(&t, &t2, sizeof(t)))
        abort();
}

static void assoc_query(const char *q, size_t n)
{
    char id[MSGSEC_SEAL_ID_MAX + 1], id2[MSGSEC_SEAL_ID_MAX + 1];
    msgsec_aanf_fault f;
    int rc = msgsec_seal_parse_assoc_query(q, n, id, &f);
    check_fail(rc, &f, id, sizeof(id));
    if (rc != 0) {
        if (id[0])
            abort();
        return;
    }
    char url[1024];
    if (msgsec_seal_assoc_url("https://cm/x", id, url, sizeof(url)) != 0)
        abort();
    const char *q2 = strchr(url, '?') + 1;
    if (msgsec_seal_parse_assoc_query(q2, strlen(q2), id2, &f) != 0 ||
        strcmp(id, id2) != 0)
        abort();
}

static void token_request(const char *b, size_t n)
{
    char id[MSGSEC_SEAL_CLIENT_MAX + 1], sec[MSGSEC_SEAL_CLIENT_MAX + 1],
        sc[MSGSEC_SEAL_ID_MAX + 1];
    char id2[MSGSEC_SEAL_CLIENT_MAX + 1], sec2[MSGSEC_SEAL_CLIENT_MAX + 1],
        sc2[MSGSEC_SEAL_ID_MAX + 1];
    msgsec_aanf_fault f;
    int rc = msgsec_seal_token_request_parse(b, n, id, sec, sc, &f);
    check_fail(rc, &f, sec, sizeof(sec));
    if (rc != 0) {
        if (memcmp(id, zeros, sizeof(id)) || memcmp(sc, zeros, sizeof(sc)))
            abort();
        return;
    }
    char body[4096];
    size_t bl;
    if (msgsec_seal_token_request_encode(id, sec, sc, body, sizeof(body),
                                         &bl) != 0 ||
        msgsec_seal_token_request_parse(body, bl, id2, sec2, sc2, &f) != 0 ||
        strcmp(id, id2) || strcmp(sec, sec2) || strcmp(sc, sc2))
        abort();
    msgsec_seal_clear(sec, sizeof(sec));
    msgsec_seal_clear(sec2, sizeof(sec2));
    msgsec_seal_clear(body, sizeof(body));
}

static void key_result(uint8_t sel, const uint8_t *d, size_t n)
{
    static const int statuses[] = {200, 200, 401, 403, 404, 500};
    static const char *const types[] = {"application/json",
                                        "application/problem+json", NULL};
    int status = statuses[sel % 6];
    msgsec_seal_psk k;
    msgsec_aanf_problem p;
    char detail[512];
    int rc = msgsec_seal_key_result(status, types[sel % 3], d, n, "msgin5g",
                                    NOW, &k, &p, detail, sizeof(detail));
    printable(detail);
    if (rc != 0 && (!detail[0] || memcmp(&k, zeros, sizeof(k))))
        abort();
    if (rc == 0 && (status != 200 || k.expiry <= NOW))
        abort();
    if (status != 200 && rc != (status == 404   ? MSGSEC_ERR_KEY_UNAVAILABLE
                                : status == 500 ? MSGSEC_ERR_LOOKUP_FAILED
                                                : MSGSEC_ERR_TOKEN_REJECTED))
        abort();
    msgsec_seal_clear(&k, sizeof(k));

    msgsec_seal_assoc *a = malloc(sizeof(*a));
    if (!a)
        return;
    rc = msgsec_seal_assoc_result(status, types[sel % 3], d, n, "imsi-1", a,
                                  detail, sizeof(detail));
    printable(detail);
    if (rc != 0 && (!detail[0] || memcmp(a, zeros, sizeof(*a))))
        abort();
    if (rc == 0 && (status != 200 || strcmp(a->identity, "imsi-1") != 0))
        abort();
    free(a);
}

static void identity(const uint8_t *d, size_t n)
{
    char user[MSGSEC_SEAL_ID_MAX + 1], key[MSGSEC_SEAL_ID_MAX + 1];
    char back[MSGSEC_SEAL_ID_MAX + 1];
    if (msgsec_seal_identity_parse(NULL, d, n, user, key) != 0) {
        if (user[0] || key[0])
            abort();
        return;
    }
    if (msgsec_seal_identity_build(NULL, user, key, back, sizeof(back)) != 0 ||
        strlen(back) != n || memcmp(back, d, n) != 0)
        abort();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size == 0)
        return 0;
    uint8_t sel = data[0];
    const uint8_t *d = data + 1;
    const char *t = (const char *)d;
    size_t n = size - 1;
    switch (sel & 7) {
    case 0:
        ROUND_TRIP(msgsec_seal_val_key_info, msgsec_seal_decode_val_key_info,
                   msgsec_seal_encode_val_key_info, d, n);
        break;
    case 1:
        ROUND_TRIP(msgsec_seal_token, msgsec_seal_decode_token,
                   msgsec_seal_encode_token, d, n);
        break;
    case 2:
        ROUND_TRIP(msgsec_seal_assoc, msgsec_seal_decode_assoc,
                   msgsec_seal_encode_assoc, d, n);
        break;
    case 3:
        key_records_query(t, n);
        break;
    case 4:
        assoc_query(t, n);
        break;
    case 5:
        token_request(t, n);
        break;
    case 6:
        key_result((uint8_t)(sel >> 3), d, n);
        break;
    default:
        identity(d, n);
        break;
    }
    return 0;
}
