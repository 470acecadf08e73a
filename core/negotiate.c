/* negotiate.c - explicit-mode negotiation frames (format in negotiate.h). */
#include <string.h>

#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>

#include "negotiate.h"

static const uint8_t neg_magic[4] = {'M', 'S', 'G', 'N'};

#define LABEL_CLIENT "msgsec confirm client"
#define LABEL_SERVER "msgsec confirm server"

static int bad(char *why, size_t why_len, const char *msg)
{
    msgsec_detail_set(why, why_len, "%s", msg);
    return MSGSEC_ERR_BAD_FRAME;
}

int msgsec_neg_name_ok(const char *name, size_t len)
{
    if (!name || len == 0 || len > MSGSEC_NEG_MAX_NAME)
        return 0;
    for (size_t i = 0; i < len; i++) {
        char c = name[i];
        if (!((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-'))
            return 0;
    }
    return 1;
}

int msgsec_neg_parse(const uint8_t *buf, size_t len, msgsec_neg_frame *f,
                     char *why, size_t why_len)
{
    /* Judge the magic byte by byte so that garbage fails at once instead
     * of waiting for a full header. */
    size_t m = len < sizeof(neg_magic) ? len : sizeof(neg_magic);
    if (memcmp(buf, neg_magic, m) != 0)
        return bad(why, why_len, "not a msgsec negotiation frame (bad magic)");
    if (len < MSGSEC_NEG_HDR)
        return MSGSEC_CONTINUE;
    if (buf[4] != MSGSEC_NEG_VERSION) {
        msgsec_detail_set(why, why_len,
                          "negotiation frame version %u, expected %u",
                          (unsigned)buf[4], (unsigned)MSGSEC_NEG_VERSION);
        return MSGSEC_ERR_BAD_FRAME;
    }
    int type = buf[5];
    if (type < MSGSEC_NEG_OFFER || type > MSGSEC_NEG_ERROR) {
        msgsec_detail_set(why, why_len, "unknown negotiation frame type %d",
                          type);
        return MSGSEC_ERR_BAD_FRAME;
    }
    size_t blen = ((size_t)buf[6] << 8) | buf[7];
    if (blen > MSGSEC_NEG_MAX_BODY) {
        msgsec_detail_set(why, why_len,
                          "negotiation frame body of %zu bytes exceeds %d",
                          blen, MSGSEC_NEG_MAX_BODY);
        return MSGSEC_ERR_BAD_FRAME;
    }
    if (len < MSGSEC_NEG_HDR + blen)
        return MSGSEC_CONTINUE;
    f->type = type;
    f->body = buf + MSGSEC_NEG_HDR;
    f->len = blen;
    f->total = MSGSEC_NEG_HDR + blen;
    return 0;
}

/* Reads a length-prefixed provider name at body[*pos]. */
static int read_name(const uint8_t *body, size_t len, size_t *pos,
                     char name[MSGSEC_NEG_MAX_NAME + 1], char *why,
                     size_t why_len)
{
    if (*pos >= len)
        return bad(why, why_len, "provider name missing");
    size_t n = body[*pos];
    if (n == 0 || n > MSGSEC_NEG_MAX_NAME || len - *pos - 1 < n)
        return bad(why, why_len, "provider name length out of range");
    const char *p = (const char *)body + *pos + 1;
    if (!msgsec_neg_name_ok(p, n))
        return bad(why, why_len, "provider name has characters outside [a-z0-9-]");
    memcpy(name, p, n);
    name[n] = '\0';
    *pos += 1 + n;
    return 0;
}

int msgsec_neg_parse_offer(const uint8_t *body, size_t len,
                           msgsec_neg_offer *o, char *why, size_t why_len)
{
    if (len < MSGSEC_NEG_NONCE + 1)
        return bad(why, why_len, "OFFER too short");
    memcpy(o->nonce, body, MSGSEC_NEG_NONCE);
    size_t count = body[MSGSEC_NEG_NONCE];
    if (count == 0 || count > MSGSEC_NEG_MAX_OFFER)
        return bad(why, why_len, "OFFER names no provider or too many");
    size_t pos = MSGSEC_NEG_NONCE + 1;
    o->n = 0;
    for (size_t i = 0; i < count; i++) {
        MSGSEC_GUARD(read_name(body, len, &pos, o->names[i], why, why_len));
        for (size_t j = 0; j < i; j++)
            if (strcmp(o->names[i], o->names[j]) == 0)
                return bad(why, why_len, "OFFER repeats a provider");
        o->n = i + 1;
    }
    if (pos != len)
        return bad(why, why_len, "OFFER has trailing bytes");
    return 0;
}

int msgsec_neg_parse_select(const uint8_t *body, size_t len,
                            uint8_t nonce[MSGSEC_NEG_NONCE],
                            char name[MSGSEC_NEG_MAX_NAME + 1], char *why,
                            size_t why_len)
{
    if (len < MSGSEC_NEG_NONCE + 2)
        return bad(why, why_len, "SELECT too short");
    memcpy(nonce, body, MSGSEC_NEG_NONCE);
    size_t pos = MSGSEC_NEG_NONCE;
    MSGSEC_GUARD(read_name(body, len, &pos, name, why, why_len));
    if (pos != len)
        return bad(why, why_len, "SELECT has trailing bytes");
    return 0;
}

int msgsec_neg_parse_confirm(const uint8_t *body, size_t len,
                             uint8_t mac[MSGSEC_NEG_MAC], char *why,
                             size_t why_len)
{
    if (len != MSGSEC_NEG_MAC)
        return bad(why, why_len, "CONFIRM has the wrong length");
    memcpy(mac, body, MSGSEC_NEG_MAC);
    return 0;
}

int msgsec_neg_parse_error(const uint8_t *body, size_t len, int *code,
                           char reason[MSGSEC_NEG_MAX_REASON + 1], char *why,
                           size_t why_len)
{
    if (len < 3)
        return bad(why, why_len, "ERROR too short");
    unsigned v = ((unsigned)body[0] << 8) | body[1];
    size_t n = body[2];
    if (v == 0)
        return bad(why, why_len, "ERROR carries no error code");
    if (n > MSGSEC_NEG_MAX_REASON || len != 3 + n)
        return bad(why, why_len, "ERROR reason length out of range");
    for (size_t i = 0; i < n; i++)
        if (body[3 + i] < 0x20 || body[3 + i] > 0x7e)
            return bad(why, why_len, "ERROR reason is not printable ASCII");
    memcpy(reason, body + 3, n);
    reason[n] = '\0';
    *code = -(int)v;
    return 0;
}

int msgsec_neg_build_header(uint8_t out[MSGSEC_NEG_HDR], int type, size_t len)
{
    if (type < MSGSEC_NEG_OFFER || type > MSGSEC_NEG_ERROR ||
        len > MSGSEC_NEG_MAX_BODY)
        return MSGSEC_ERR_INVALID_ARG;
    memcpy(out, neg_magic, sizeof(neg_magic));
    out[4] = MSGSEC_NEG_VERSION;
    out[5] = (uint8_t)type;
    out[6] = (uint8_t)(len >> 8);
    out[7] = (uint8_t)len;
    return 0;
}

int msgsec_neg_build_offer(uint8_t *out, size_t cap,
                           const uint8_t nonce[MSGSEC_NEG_NONCE],
                           const char *const *names, size_t n, size_t *out_len)
{
    if (n == 0 || n > MSGSEC_NEG_MAX_OFFER)
        return MSGSEC_ERR_INVALID_ARG;
    size_t body = MSGSEC_NEG_NONCE + 1;
    for (size_t i = 0; i < n; i++) {
        size_t l = names[i] ? strlen(names[i]) : 0;
        if (!msgsec_neg_name_ok(names[i], l))
            return MSGSEC_ERR_INVALID_ARG;
        body += 1 + l;
    }
    if (cap < MSGSEC_NEG_HDR + body)
        return MSGSEC_ERR_BUFFER_TOO_SMALL;
    MSGSEC_GUARD(msgsec_neg_build_header(out, MSGSEC_NEG_OFFER, body));
    uint8_t *p = out + MSGSEC_NEG_HDR;
    memcpy(p, nonce, MSGSEC_NEG_NONCE);
    p += MSGSEC_NEG_NONCE;
    *p++ = (uint8_t)n;
    for (size_t i = 0; i < n; i++) {
        size_t l = strlen(names[i]);
        *p++ = (uint8_t)l;
        memcpy(p, names[i], l);
        p += l;
    }
    *out_len = MSGSEC_NEG_HDR + body;
    return 0;
}

int msgsec_neg_build_select(uint8_t *out, size_t cap,
                            const uint8_t nonce[MSGSEC_NEG_NONCE],
                            const char *name, size_t *out_len)
{
    size_t l = name ? strlen(name) : 0;
    if (!msgsec_neg_name_ok(name, l))
        return MSGSEC_ERR_INVALID_ARG;
    size_t body = MSGSEC_NEG_NONCE + 1 + l;
    if (cap < MSGSEC_NEG_HDR + body)
        return MSGSEC_ERR_BUFFER_TOO_SMALL;
    MSGSEC_GUARD(msgsec_neg_build_header(out, MSGSEC_NEG_SELECT, body));
    uint8_t *p = out + MSGSEC_NEG_HDR;
    memcpy(p, nonce, MSGSEC_NEG_NONCE);
    p[MSGSEC_NEG_NONCE] = (uint8_t)l;
    memcpy(p + MSGSEC_NEG_NONCE + 1, name, l);
    *out_len = MSGSEC_NEG_HDR + body;
    return 0;
}

int msgsec_neg_build_error(uint8_t *out, size_t cap, int code,
                           const char *reason, size_t *out_len)
{
    if (code >= 0 || code < -65535)
        return MSGSEC_ERR_INVALID_ARG;
    size_t n = 0;
    /* Keep only printable characters, as the parser demands. */
    uint8_t r[MSGSEC_NEG_MAX_REASON];
    for (const char *c = reason ? reason : ""; *c && n < sizeof(r); c++)
        r[n++] = (*c >= 0x20 && *c <= 0x7e) ? (uint8_t)*c : '?';
    size_t body = 3 + n;
    if (cap < MSGSEC_NEG_HDR + body)
        return MSGSEC_ERR_BUFFER_TOO_SMALL;
    MSGSEC_GUARD(msgsec_neg_build_header(out, MSGSEC_NEG_ERROR, body));
    uint8_t *p = out + MSGSEC_NEG_HDR;
    unsigned v = (unsigned)-code;
    p[0] = (uint8_t)(v >> 8);
    p[1] = (uint8_t)v;
    p[2] = (uint8_t)n;
    memcpy(p + 3, r, n);
    *out_len = MSGSEC_NEG_HDR + body;
    return 0;
}

int msgsec_neg_transcript(const uint8_t *offer, size_t offer_len,
                          const uint8_t *select, size_t select_len,
                          uint8_t th[32])
{
    EVP_MD_CTX *ctx = EVP_MD_CTX_new();
    unsigned n = 0;
    int ok = ctx && EVP_DigestInit_ex(ctx, EVP_sha256(), NULL) &&
             EVP_DigestUpdate(ctx, offer, offer_len) &&
             EVP_DigestUpdate(ctx, select, select_len) &&
             EVP_DigestFinal_ex(ctx, th, &n) && n == 32;
    EVP_MD_CTX_free(ctx);
    return ok ? 0 : MSGSEC_ERR_INTERNAL;
}

int msgsec_neg_confirm(const uint8_t *key, size_t key_len,
                       const uint8_t th[32], int role,
                       uint8_t mac[MSGSEC_NEG_MAC])
{
    if (!key) {
        memcpy(mac, th, MSGSEC_NEG_MAC);
        return 0;
    }
    const char *label =
        role == MSGSEC_ROLE_CLIENT ? LABEL_CLIENT : LABEL_SERVER;
    size_t ll = strlen(label);
    uint8_t data[64];
    memcpy(data, label, ll);
    memcpy(data + ll, th, 32);
    unsigned n = 0;
    int ok = HMAC(EVP_sha256(), key, (int)key_len, data, ll + 32, mac, &n) &&
             n == MSGSEC_NEG_MAC;
    OPENSSL_cleanse(data, sizeof(data));
    return ok ? 0 : MSGSEC_ERR_INTERNAL;
}
