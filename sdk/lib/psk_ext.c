/*
 * psk_ext.c - bounded parsers for what a PSK server reads before TLS
 * starts: the pre_shared_key extension (OfferedPsks), the
 * psk_key_exchange_modes extension, and a ClientHello at the start of a
 * connection (record and handshake headers included).
 *
 * Every length is checked against what remains before it is used; no
 * parser reads past len, allocates more than the ClientHello bound, or
 * keeps a pointer into its input beyond what its contract says.
 */
#include <stdlib.h>
#include <string.h>

#include <openssl/crypto.h>

#include "msgsec/tlspsk.h"

#define REC_HDR 5
#define REC_HANDSHAKE 22
#define REC_MAX 16384u
#define HS_HDR 4
#define HS_CLIENT_HELLO 1
/* Largest ClientHello body reassembled across records. */
#define HELLO_MAX (65536u - HS_HDR)

#define EXT_SERVER_NAME 0
#define EXT_SUPPORTED_VERSIONS 43
#define EXT_PSK_KEX_MODES 45
#define EXT_PRE_SHARED_KEY 41

/* A read cursor over a byte range. */
typedef struct cur {
    const uint8_t *p;
    size_t n;
} cur;

static int get_u8(cur *c, size_t *v)
{
    if (c->n < 1)
        return 0;
    *v = c->p[0];
    c->p++;
    c->n--;
    return 1;
}

static int get_u16(cur *c, size_t *v)
{
    if (c->n < 2)
        return 0;
    *v = ((size_t)c->p[0] << 8) | c->p[1];
    c->p += 2;
    c->n -= 2;
    return 1;
}

static int get_u32(cur *c, uint32_t *v)
{
    if (c->n < 4)
        return 0;
    *v = ((uint32_t)c->p[0] << 24) | ((uint32_t)c->p[1] << 16) |
         ((uint32_t)c->p[2] << 8) | c->p[3];
    c->p += 4;
    c->n -= 4;
    return 1;
}

/* Takes the next n bytes as a sub-cursor. */
static int get_bytes(cur *c, size_t n, cur *sub)
{
    if (c->n < n)
        return 0;
    sub->p = c->p;
    sub->n = n;
    c->p += n;
    c->n -= n;
    return 1;
}

/* A vector with a 1- or 2-byte length prefix. */
static int get_vec8(cur *c, cur *sub)
{
    size_t l;
    return get_u8(c, &l) && get_bytes(c, l, sub);
}

static int get_vec16(cur *c, cur *sub)
{
    size_t l;
    return get_u16(c, &l) && get_bytes(c, l, sub);
}

MSGSEC_SDK_EXPORT int msgsec_tlspsk_parse_offered_psks(
    const uint8_t *ext, size_t len, msgsec_tlspsk_identity *ids, size_t max,
    size_t *n)
{
    if ((!ext && len) || !n || (!ids && max))
        return MSGSEC_ERR_INVALID_ARG;
    *n = 0;
    cur c = {ext, len}, idl, bl;
    /* identities<7..2^16-1>, binders<33..2^16-1>, nothing after. */
    if (!get_vec16(&c, &idl) || idl.n < 7 || !get_vec16(&c, &bl) ||
        bl.n < 33 || c.n != 0)
        return MSGSEC_ERR_BAD_FRAME;
    size_t count = 0;
    while (idl.n > 0) {
        cur id;
        uint32_t age;
        if (!get_vec16(&idl, &id) || id.n == 0 || !get_u32(&idl, &age))
            return MSGSEC_ERR_BAD_FRAME;
        if (count < max) {
            ids[count].p = id.p;
            ids[count].len = id.n;
            ids[count].obfuscated_age = age;
        }
        count++;
    }
    size_t binders = 0;
    while (bl.n > 0) {
        cur b;
        if (!get_vec8(&bl, &b) || b.n < 32)
            return MSGSEC_ERR_BAD_FRAME;
        binders++;
    }
    if (binders != count)
        return MSGSEC_ERR_BAD_FRAME;
    *n = count;
    return 0;
}

MSGSEC_SDK_EXPORT int msgsec_tlspsk_parse_kex_modes(const uint8_t *ext,
                                                    size_t len,
                                                    unsigned *modes)
{
    if ((!ext && len) || !modes)
        return MSGSEC_ERR_INVALID_ARG;
    *modes = 0;
    cur c = {ext, len}, l;
    if (!get_vec8(&c, &l) || l.n == 0 || c.n != 0)
        return MSGSEC_ERR_BAD_FRAME;
    unsigned m = 0;
    for (size_t i = 0; i < l.n; i++) {
        if (l.p[i] == 0)
            m |= MSGSEC_TLSPSK_MODE_KE;
        else if (l.p[i] == 1)
            m |= MSGSEC_TLSPSK_MODE_DHE_KE;
    }
    *modes = m;
    return 0;
}

/* TLS 1.2 PSK cipher suites (RFC 4279, 4785, 5487, 5489, 6209, 6367,
 * 6655, 7905, 8442): PSK, DHE-PSK, RSA-PSK and ECDHE-PSK key exchanges. */
static int psk_suite(size_t s)
{
    return (s >= 0x008a && s <= 0x0095) || (s >= 0x00a8 && s <= 0x00b9) ||
           (s >= 0x002c && s <= 0x002e) || (s >= 0xc033 && s <= 0xc03b) ||
           (s >= 0xc064 && s <= 0xc071) || (s >= 0xc08e && s <= 0xc09b) ||
           (s >= 0xc0a4 && s <= 0xc0ab) || (s >= 0xccab && s <= 0xccae) ||
           (s >= 0xd001 && s <= 0xd005);
}

/* Extensions parsed at most once each (a duplicate is malformed). */
enum { SEEN_SNI = 1, SEEN_VERSIONS = 2, SEEN_MODES = 4, SEEN_PSK = 8 };

static int hello_sni(cur e, msgsec_tlspsk_hello *h)
{
    cur list;
    if (!get_vec16(&e, &list) || e.n != 0 || list.n == 0)
        return MSGSEC_ERR_BAD_FRAME;
    while (list.n > 0) {
        size_t type;
        cur name;
        if (!get_u8(&list, &type) || !get_vec16(&list, &name))
            return MSGSEC_ERR_BAD_FRAME;
        /* The first host_name that fits, without NUL bytes. */
        if (type == 0 && h->server_name[0] == '\0' && name.n > 0 &&
            name.n < sizeof(h->server_name) && !memchr(name.p, 0, name.n)) {
            memcpy(h->server_name, name.p, name.n);
            h->server_name[name.n] = '\0';
        }
    }
    return 0;
}

static int hello_versions(cur e, msgsec_tlspsk_hello *h)
{
    cur list;
    if (!get_vec8(&e, &list) || e.n != 0 || list.n < 2 || list.n % 2)
        return MSGSEC_ERR_BAD_FRAME;
    while (list.n > 0) {
        size_t v = 0;
        get_u16(&list, &v);
        if (v == MSGSEC_TLSPSK_TLS1_3)
            h->offers_tls13 = 1;
    }
    return 0;
}

static int hello_psk(cur e, msgsec_tlspsk_hello *h)
{
    msgsec_tlspsk_identity ids[MSGSEC_TLSPSK_HELLO_IDS];
    size_t n = 0;
    int rc = msgsec_tlspsk_parse_offered_psks(e.p, e.n, ids,
                                              MSGSEC_TLSPSK_HELLO_IDS, &n);
    if (rc < 0)
        return rc;
    h->has_psk = 1;
    h->n_identities = n;
    size_t used = 0, stored = 0;
    for (size_t i = 0; i < n && i < MSGSEC_TLSPSK_HELLO_IDS; i++) {
        /* Stop at the first that does not fit: order matters. */
        if (ids[i].len > sizeof(h->buf) - used)
            break;
        memcpy(h->buf + used, ids[i].p, ids[i].len);
        h->identities[stored] = ids[i];
        h->identities[stored].p = h->buf + used;
        used += ids[i].len;
        stored++;
    }
    h->n_stored = stored;
    return 0;
}

/* Parses a ClientHello body (after the 4-byte handshake header). */
static int hello_body(const uint8_t *b, size_t n, msgsec_tlspsk_hello *h)
{
    cur c = {b, n}, x, exts;
    size_t v;
    if (!get_u16(&c, &v) || (v >> 8) != 3)
        return MSGSEC_ERR_BAD_FRAME;
    h->legacy_version = (uint16_t)v;
    /* random, legacy_session_id<0..32> */
    if (!get_bytes(&c, 32, &x) || !get_vec8(&c, &x) || x.n > 32)
        return MSGSEC_ERR_BAD_FRAME;
    /* cipher_suites<2..2^16-2> */
    if (!get_vec16(&c, &x) || x.n < 2 || x.n % 2)
        return MSGSEC_ERR_BAD_FRAME;
    while (x.n > 0) {
        get_u16(&x, &v);
        if (psk_suite(v))
            h->offers_psk12 = 1;
    }
    /* legacy_compression_methods<1..2^8-1> */
    if (!get_vec8(&c, &x) || x.n == 0)
        return MSGSEC_ERR_BAD_FRAME;
    if (c.n == 0)
        return 0; /* no extensions (a TLS 1.2 or older client) */
    if (!get_vec16(&c, &exts) || c.n != 0)
        return MSGSEC_ERR_BAD_FRAME;
    unsigned seen = 0;
    while (exts.n > 0) {
        size_t type;
        cur e;
        if (!get_u16(&exts, &type) || !get_vec16(&exts, &e))
            return MSGSEC_ERR_BAD_FRAME;
        /* pre_shared_key must come last (RFC 8446 4.2.11). */
        if (seen & SEEN_PSK)
            return MSGSEC_ERR_BAD_FRAME;
        unsigned bit = type == EXT_SERVER_NAME          ? SEEN_SNI
                       : type == EXT_SUPPORTED_VERSIONS ? SEEN_VERSIONS
                       : type == EXT_PSK_KEX_MODES      ? SEEN_MODES
                       : type == EXT_PRE_SHARED_KEY     ? SEEN_PSK
                                                        : 0;
        if (bit & seen)
            return MSGSEC_ERR_BAD_FRAME;
        seen |= bit;
        int rc = 0;
        switch (type) {
        case EXT_SERVER_NAME:
            rc = hello_sni(e, h);
            break;
        case EXT_SUPPORTED_VERSIONS:
            rc = hello_versions(e, h);
            break;
        case EXT_PSK_KEX_MODES:
            rc = msgsec_tlspsk_parse_kex_modes(e.p, e.n, &h->psk_modes);
            break;
        case EXT_PRE_SHARED_KEY:
            rc = hello_psk(e, h);
            break;
        default:
            break;
        }
        if (rc < 0)
            return rc;
    }
    return 0;
}

/*
 * Handshake payload of the records at data: copies up to want bytes into
 * dst (NULL: only counts) and sets *got. Checks every record header seen.
 * Returns 0 (*got may be < want when the input ends) or
 * MSGSEC_ERR_BAD_FRAME.
 */
static int gather(const uint8_t *data, size_t len, uint8_t *dst, size_t want,
                  size_t *got)
{
    size_t pos = 0, n = 0;
    *got = 0;
    while (n < want && pos < len) {
        const uint8_t *r = data + pos;
        size_t have = len - pos;
        /* Check the header bytes there are, even when incomplete. */
        if (r[0] != REC_HANDSHAKE || (have > 1 && r[1] != 3) ||
            (have > 2 && r[2] > 4))
            return MSGSEC_ERR_BAD_FRAME;
        if (have < REC_HDR)
            break;
        size_t rl = ((size_t)r[3] << 8) | r[4];
        /* Handshake records are never empty (RFC 8446 5.1). */
        if (rl == 0 || rl > REC_MAX)
            return MSGSEC_ERR_BAD_FRAME;
        size_t avail = have - REC_HDR < rl ? have - REC_HDR : rl;
        size_t take = avail < want - n ? avail : want - n;
        if (dst)
            memcpy(dst + n, r + REC_HDR, take);
        n += take;
        if (avail < rl)
            break;
        pos += REC_HDR + rl;
    }
    *got = n;
    return 0;
}

MSGSEC_SDK_EXPORT int msgsec_tlspsk_client_hello(const uint8_t *data,
                                                 size_t len,
                                                 msgsec_tlspsk_hello *h)
{
    if (!h || (!data && len))
        return MSGSEC_ERR_INVALID_ARG;
    memset(h, 0, offsetof(msgsec_tlspsk_hello, buf));
    uint8_t hh[HS_HDR];
    size_t got = 0;
    int rc = gather(data, len, hh, sizeof(hh), &got);
    if (rc < 0)
        return rc;
    if (got > 0 && hh[0] != HS_CLIENT_HELLO)
        return MSGSEC_ERR_BAD_FRAME;
    if (got < HS_HDR)
        return MSGSEC_CONTINUE;
    size_t body = ((size_t)hh[1] << 16) | ((size_t)hh[2] << 8) | hh[3];
    /* version, random, three empty-or-minimal vectors. */
    if (body < 2 + 32 + 1 + 4 + 2 || body > HELLO_MAX)
        return MSGSEC_ERR_BAD_FRAME;
    size_t total = HS_HDR + body;
    size_t rl = ((size_t)data[3] << 8) | data[4];
    if (rl >= total) {
        /* The usual case: the whole message in the first record. */
        if (len < REC_HDR + total)
            return MSGSEC_CONTINUE;
        return hello_body(data + REC_HDR + HS_HDR, body, h);
    }
    if ((rc = gather(data, len, NULL, total, &got)) < 0)
        return rc;
    if (got < total)
        return MSGSEC_CONTINUE;
    uint8_t *msg = OPENSSL_malloc(total);
    if (!msg)
        return MSGSEC_ERR_NOMEM;
    gather(data, len, msg, total, &got);
    rc = hello_body(msg + HS_HDR, body, h);
    OPENSSL_free(msg);
    return rc;
}
