/*
 * testpsk.c - a test provider that really authenticates and protects.
 *
 * Built twice (modules testpsk and testpsk2, see local.mk) from this one
 * source: TESTPSK_MODULE names the module, TESTPSK_NAME the provider. It
 * uses only the provider ABI and OpenSSL, as a vendor's provider would.
 *
 * Both sides hold a 32-byte secret from policy (`secret`, 64 hex digits).
 *
 *   client hello   "TPSK" | version 1 | name_len | name | id_len | identity
 *                  | client_random[32]
 *   server hello   server_random[32] | HMAC(fin_s, TH)
 *   client finish  HMAC(fin_c, TH)
 *
 * with TH = SHA-256(client hello || server_random) and the keys
 * c2s_key, s2c_key, c2s_iv, s2c_iv, fin_s, fin_c, exporter =
 * HKDF-SHA256(ikm = secret, salt = client_random || server_random,
 *             info = "tpsk keys v1" || TH).
 *
 * Records: type[1] (0x17 data, 0x15 close) | length[2] | seq[8] |
 * AES-256-GCM ciphertext | tag[16], the 11-byte header as AAD and the nonce
 * iv XOR seq. Sequence numbers start at 0 and must arrive exactly in order:
 * a replayed, reordered or missing record is MSGSEC_ERR_REPLAY, a bad tag
 * MSGSEC_ERR_INTEGRITY.
 *
 * Server keys: known_identities (comma list; unset = any identity) and
 * lookup_delay_ms: when > 0 the identity look-up runs on its own thread and
 * step() returns MSGSEC_PENDING until it wakes the session.
 *
 * PSK resolution (provider ABI 1.1, psk_resolve): identities
 * "<provider name>:<user>" are this provider's; the user must be known
 * (known_identities) and the key is
 *   HKDF-SHA256(ikm = secret, no salt,
 *               info = "tpsk psk v1" || version[2] || identity)
 * with version the query's protocol (big-endian), 32 bytes. The same
 * lookup_delay_ms makes the resolution pending.
 *
 * Authorization (provider ABI 1.2, authorize): authz_map lists the UE
 * service IDs of each subject, "ID=ue1|ue2;ID2=ue3" (quoted in the policy:
 * ';' starts a comment there), the subject being the
 * peer's GPSI, else its SUPI, else its identity (what SEAL configuration
 * management checks). authz_delay_ms > 0 answers from a thread as the
 * look-ups do (pending until it wakes the check); authz_down = yes
 * answers MSGSEC_ERR_LOOKUP_FAILED, a source that cannot be reached.
 *
 * Built with TESTPSK_MINOR0 (module testpsk0), the descriptor declares the
 * size and minor version of ABI 1.0, as a provider built before psk_resolve
 * existed; that field and authorize are still set behind that size, so a
 * core that read past the declared size would be caught.
 */
#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <openssl/core_names.h>
#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/kdf.h>
#include <openssl/params.h>

#include <msgsec/provider.h>

#ifndef TESTPSK_MODULE
#define TESTPSK_MODULE testpsk
#endif
#ifndef TESTPSK_NAME
#define TESTPSK_NAME "testpsk"
#endif

#define TPSK_VERSION 1
#define RAND_LEN 32
#define MAC_LEN 32
#define KEY_LEN 32
#define IV_LEN 12
#define TAG_LEN 16
#define REC_HDR 11
#define REC_MAX 16384
#define REC_DATA 0x17
#define REC_CLOSE 0x15
#define ID_MAX 255
#define CH_MAX (4 + 1 + 1 + 63 + 1 + ID_MAX + RAND_LEN)
#define MAX_DELAY_MS 600000L

typedef struct tpsk {
    const msgsec_upcalls *up;
    msgsec_pctx *pc;
    uint8_t secret[KEY_LEN];
    char *identity;
    size_t identity_size;
    long delay_ms;
    char *known; /* comma list, or NULL: any identity */
    size_t known_size;
    char *authz_map; /* "ID=ue1|ue2;...", or NULL: no associations */
    size_t authz_map_size;
    long authz_delay_ms;
    int authz_down;
    EVP_KDF *hkdf;
    EVP_MAC *hmac;
    EVP_MD *sha256;
    EVP_CIPHER *aes;
} tpsk;

enum tpsk_phase {
    PH_NONE = 0,
    PH_CL_WAIT_SH,
    PH_SV_WAIT_CH,
    PH_SV_LOOKUP,
    PH_SV_WAIT_FIN,
    PH_DONE
};

typedef struct tpsk_state {
    msgsec_psession *ps;
    int role;
    int phase;
    uint8_t ch[CH_MAX];
    size_t ch_len;
    uint8_t crand[RAND_LEN], srand[RAND_LEN];
    uint8_t th[32];
    char identity[ID_MAX + 1];      /* the client's identity */
    char peer_identity[ID_MAX + 1]; /* what result() reports */
    /* Derived keys, in the order the KDF outputs them. */
    uint8_t c2s_key[KEY_LEN], s2c_key[KEY_LEN];
    uint8_t c2s_iv[IV_LEN], s2c_iv[IV_LEN];
    uint8_t fin_s[MAC_LEN], fin_c[MAC_LEN], exporter[KEY_LEN];
    EVP_CIPHER_CTX *enc, *dec;
    const uint8_t *enc_iv, *dec_iv;
    uint64_t send_seq, recv_seq;
    int close_sent, close_recv;
    /* Asynchronous look-up. */
    int sync_init;
    pthread_mutex_t mu;
    pthread_cond_t cv;
    int thread_live; /* join owed */
    pthread_t thread;
    int lookup_done, lookup_cancel, lookup_rc;
    long delay_ms;
    const tpsk *pd;
} tpsk_state;

static const char *const tpsk_keys[] = {
    "secret",    "identity",       "lookup_delay_ms", "known_identities",
    "authz_map", "authz_delay_ms", "authz_down",      NULL};

/* -------------------------------------------------------------- helpers */

static int printable(const char *s, size_t n)
{
    for (size_t i = 0; i < n; i++)
        if ((unsigned char)s[i] < 0x21 || (unsigned char)s[i] > 0x7e)
            return 0;
    return 1;
}

static void put_be64(uint8_t *p, uint64_t v)
{
    for (int i = 7; i >= 0; i--) {
        p[i] = (uint8_t)v;
        v >>= 8;
    }
}

static uint64_t get_be64(const uint8_t *p)
{
    uint64_t v = 0;
    for (int i = 0; i < 8; i++)
        v = (v << 8) | p[i];
    return v;
}

static int hmac(const tpsk *pd, const uint8_t *key, const uint8_t *data,
                size_t n, uint8_t out[MAC_LEN])
{
    EVP_MAC_CTX *ctx = EVP_MAC_CTX_new(pd->hmac);
    OSSL_PARAM params[] = {
        OSSL_PARAM_construct_utf8_string(OSSL_MAC_PARAM_DIGEST, "SHA256", 0),
        OSSL_PARAM_construct_end(),
    };
    size_t outl = 0;
    int ok = ctx && EVP_MAC_init(ctx, key, KEY_LEN, params) &&
             EVP_MAC_update(ctx, data, n) &&
             EVP_MAC_final(ctx, out, &outl, MAC_LEN) && outl == MAC_LEN;
    EVP_MAC_CTX_free(ctx);
    return ok ? 0 : MSGSEC_ERR_INTERNAL;
}

static int hkdf(const tpsk *pd, int expand_only, const uint8_t *key,
                size_t key_len, const uint8_t *salt, size_t salt_len,
                const uint8_t *info, size_t info_len, uint8_t *out,
                size_t out_len)
{
    EVP_KDF_CTX *ctx = EVP_KDF_CTX_new(pd->hkdf);
    int mode = expand_only ? EVP_KDF_HKDF_MODE_EXPAND_ONLY
                           : EVP_KDF_HKDF_MODE_EXTRACT_AND_EXPAND;
    OSSL_PARAM params[6], *p = params;
    *p++ = OSSL_PARAM_construct_utf8_string(OSSL_KDF_PARAM_DIGEST, "SHA256", 0);
    *p++ = OSSL_PARAM_construct_int(OSSL_KDF_PARAM_MODE, &mode);
    *p++ = OSSL_PARAM_construct_octet_string(OSSL_KDF_PARAM_KEY, (void *)key,
                                             key_len);
    if (salt)
        *p++ = OSSL_PARAM_construct_octet_string(OSSL_KDF_PARAM_SALT,
                                                 (void *)salt, salt_len);
    *p++ = OSSL_PARAM_construct_octet_string(OSSL_KDF_PARAM_INFO, (void *)info,
                                             info_len);
    *p = OSSL_PARAM_construct_end();
    int ok = ctx && EVP_KDF_derive(ctx, out, out_len, params) > 0;
    EVP_KDF_CTX_free(ctx);
    return ok ? 0 : MSGSEC_ERR_INTERNAL;
}

/* TH, then every session key from the secret and both randoms. */
static int derive(const tpsk *pd, tpsk_state *st)
{
    EVP_MD_CTX *md = EVP_MD_CTX_new();
    unsigned n = 0;
    int ok = md && EVP_DigestInit_ex(md, pd->sha256, NULL) &&
             EVP_DigestUpdate(md, st->ch, st->ch_len) &&
             EVP_DigestUpdate(md, st->srand, RAND_LEN) &&
             EVP_DigestFinal_ex(md, st->th, &n);
    EVP_MD_CTX_free(md);
    if (!ok)
        return MSGSEC_ERR_INTERNAL;

    static const char label[] = "tpsk keys v1";
    uint8_t salt[2 * RAND_LEN], info[sizeof(label) - 1 + 32];
    memcpy(salt, st->crand, RAND_LEN);
    memcpy(salt + RAND_LEN, st->srand, RAND_LEN);
    memcpy(info, label, sizeof(label) - 1);
    memcpy(info + sizeof(label) - 1, st->th, 32);
    /* The key fields are contiguous in the declared order. */
    uint8_t okm[2 * KEY_LEN + 2 * IV_LEN + 2 * MAC_LEN + KEY_LEN];
    int rc = hkdf(pd, 0, pd->secret, KEY_LEN, salt, sizeof(salt), info,
                  sizeof(info), okm, sizeof(okm));
    if (rc == 0) {
        uint8_t *o = okm;
        memcpy(st->c2s_key, o, KEY_LEN), o += KEY_LEN;
        memcpy(st->s2c_key, o, KEY_LEN), o += KEY_LEN;
        memcpy(st->c2s_iv, o, IV_LEN), o += IV_LEN;
        memcpy(st->s2c_iv, o, IV_LEN), o += IV_LEN;
        memcpy(st->fin_s, o, MAC_LEN), o += MAC_LEN;
        memcpy(st->fin_c, o, MAC_LEN), o += MAC_LEN;
        memcpy(st->exporter, o, KEY_LEN);
    }
    OPENSSL_cleanse(okm, sizeof(okm));
    return rc;
}

/* Record ciphers, keyed once; each record then sets only its nonce. */
static int setup_records(const tpsk *pd, tpsk_state *st)
{
    int client = st->role == MSGSEC_ROLE_CLIENT;
    st->enc = EVP_CIPHER_CTX_new();
    st->dec = EVP_CIPHER_CTX_new();
    if (!st->enc || !st->dec)
        return MSGSEC_ERR_NOMEM;
    st->enc_iv = client ? st->c2s_iv : st->s2c_iv;
    st->dec_iv = client ? st->s2c_iv : st->c2s_iv;
    if (!EVP_EncryptInit_ex2(st->enc, pd->aes, client ? st->c2s_key : st->s2c_key,
                             NULL, NULL) ||
        !EVP_DecryptInit_ex2(st->dec, pd->aes, client ? st->s2c_key : st->c2s_key,
                             NULL, NULL))
        return MSGSEC_ERR_INTERNAL;
    /* The keys now live in the cipher contexts. */
    OPENSSL_cleanse(st->c2s_key, KEY_LEN);
    OPENSSL_cleanse(st->s2c_key, KEY_LEN);
    return 0;
}

static void nonce_for(const uint8_t *iv, uint64_t seq, uint8_t nonce[IV_LEN])
{
    uint8_t s[8];
    put_be64(s, seq);
    memcpy(nonce, iv, IV_LEN);
    for (int i = 0; i < 8; i++)
        nonce[IV_LEN - 8 + i] ^= s[i];
}

static int known_identity(const tpsk *pd, const char *id)
{
    if (!pd->known)
        return 1;
    size_t idl = strlen(id);
    const char *p = pd->known;
    while (*p) {
        while (*p == ' ' || *p == '\t' || *p == ',')
            p++;
        const char *e = p;
        while (*e && *e != ',')
            e++;
        const char *t = e;
        while (t > p && (t[-1] == ' ' || t[-1] == '\t'))
            t--;
        if ((size_t)(t - p) == idl && idl > 0 && memcmp(p, id, idl) == 0)
            return 1;
        p = e;
    }
    return 0;
}

/* ------------------------------------------------------------ provider */

static void tpsk_fini(void *pdata)
{
    tpsk *pd = pdata;
    if (!pd)
        return;
    EVP_KDF_free(pd->hkdf);
    EVP_MAC_free(pd->hmac);
    EVP_MD_free(pd->sha256);
    EVP_CIPHER_free(pd->aes);
    const msgsec_upcalls *up = pd->up;
    msgsec_pctx *pc = pd->pc;
    up->free(pc, pd->identity, pd->identity_size);
    up->free(pc, pd->known, pd->known_size);
    up->free(pc, pd->authz_map, pd->authz_map_size);
    up->free(pc, pd, sizeof(*pd));
}

static char *copy_string(const msgsec_upcalls *up, msgsec_pctx *pc,
                         const char *s, size_t *size)
{
    *size = strlen(s) + 1;
    char *d = up->alloc(pc, *size);
    if (d)
        memcpy(d, s, *size);
    return d;
}

/* A delay key: an integer from 0 to MAX_DELAY_MS, 0 when absent. */
static int config_delay(tpsk *pd, const char *key, long *out)
{
    const char *v = pd->up->config(pd->pc, key);
    if (!v)
        return 0;
    char *end = NULL;
    errno = 0;
    long n = strtol(v, &end, 10);
    if (errno || end == v || *end || n < 0 || n > MAX_DELAY_MS) {
        pd->up->set_detail(pd->pc, "%s at %s: an integer from 0 to %ld", key,
                           pd->up->config_where(pd->pc, key), MAX_DELAY_MS);
        return -1;
    }
    *out = n;
    return 0;
}

/* authz_map: entries "ID=UE|UE..." separated by ';', nothing empty. */
static int valid_map(const char *m)
{
    for (;;) {
        const char *eq = strchr(m, '=');
        const char *semi = strchr(m, ';');
        if (!semi)
            semi = m + strlen(m);
        if (!eq || eq > semi || eq == m)
            return 0;
        for (const char *p = eq + 1;; p++) {
            const char *bar = memchr(p, '|', (size_t)(semi - p));
            const char *e = bar ? bar : semi;
            if (e == p)
                return 0;
            if (!bar)
                break;
            p = bar;
        }
        if (!*semi)
            return 1;
        m = semi + 1;
    }
}

/* Whether authz_map associates subject with ue. */
static int map_has(const char *m, const char *subject, const char *ue)
{
    size_t sl = strlen(subject), ul = strlen(ue);
    while (m && *m) {
        const char *eq = strchr(m, '=');
        const char *semi = strchr(m, ';');
        if (!semi)
            semi = m + strlen(m);
        if ((size_t)(eq - m) == sl && memcmp(m, subject, sl) == 0) {
            for (const char *p = eq + 1; p < semi;) {
                const char *bar = memchr(p, '|', (size_t)(semi - p));
                const char *e = bar ? bar : semi;
                if ((size_t)(e - p) == ul && memcmp(p, ue, ul) == 0)
                    return 1;
                p = e + 1;
            }
        }
        m = *semi ? semi + 1 : NULL;
    }
    return 0;
}

static int tpsk_init(const msgsec_upcalls *up, msgsec_pctx *pc, void **pdata)
{
    tpsk *pd = up->alloc(pc, sizeof(*pd));
    if (!pd)
        return MSGSEC_ERR_NOMEM;
    pd->up = up;
    pd->pc = pc;
    int rc = MSGSEC_ERR_PROVIDER_INIT;

    const char *secret = up->config(pc, "secret");
    if (!secret) {
        up->set_detail(pc, "secret missing (%s): 64 hex digits required",
                       up->config_where(pc, "secret"));
        goto fail;
    }
    if (strlen(secret) != 2 * KEY_LEN) {
        up->set_detail(pc, "secret at %s: must be exactly 64 hex digits",
                       up->config_where(pc, "secret"));
        goto fail;
    }
    for (size_t i = 0; i < KEY_LEN; i++) {
        int hi = OPENSSL_hexchar2int((unsigned char)secret[2 * i]);
        int lo = OPENSSL_hexchar2int((unsigned char)secret[2 * i + 1]);
        if (hi < 0 || lo < 0) {
            up->set_detail(pc, "secret at %s: not a hex digit at position %zu",
                           up->config_where(pc, "secret"),
                           (size_t)(hi < 0 ? 2 * i : 2 * i + 1) + 1);
            goto fail;
        }
        pd->secret[i] = (uint8_t)(hi << 4 | lo);
    }

    const char *id = up->config(pc, "identity");
    if (!id)
        id = "test-client";
    if (strlen(id) == 0 || strlen(id) > ID_MAX || !printable(id, strlen(id))) {
        up->set_detail(pc, "identity at %s: 1 to %d printable characters",
                       up->config_where(pc, "identity"), ID_MAX);
        goto fail;
    }
    if (!(pd->identity = copy_string(up, pc, id, &pd->identity_size))) {
        rc = MSGSEC_ERR_NOMEM;
        goto fail;
    }

    if (config_delay(pd, "lookup_delay_ms", &pd->delay_ms) < 0 ||
        config_delay(pd, "authz_delay_ms", &pd->authz_delay_ms) < 0)
        goto fail;

    const char *known = up->config(pc, "known_identities");
    if (known && !(pd->known = copy_string(up, pc, known, &pd->known_size))) {
        rc = MSGSEC_ERR_NOMEM;
        goto fail;
    }

    const char *map = up->config(pc, "authz_map");
    if (map && !valid_map(map)) {
        up->set_detail(pc, "authz_map at %s: expected ID=UE-ID|UE-ID;...",
                       up->config_where(pc, "authz_map"));
        goto fail;
    }
    if (map && !(pd->authz_map = copy_string(up, pc, map,
                                             &pd->authz_map_size))) {
        rc = MSGSEC_ERR_NOMEM;
        goto fail;
    }
    const char *down = up->config(pc, "authz_down");
    if (down && strcmp(down, "yes") != 0 && strcmp(down, "no") != 0) {
        up->set_detail(pc, "authz_down at %s: yes or no",
                       up->config_where(pc, "authz_down"));
        goto fail;
    }
    pd->authz_down = down && strcmp(down, "yes") == 0;

    /* Fetched once: fetching per operation is what makes OpenSSL 3 slow. */
    pd->hkdf = EVP_KDF_fetch(NULL, "HKDF", NULL);
    pd->hmac = EVP_MAC_fetch(NULL, "HMAC", NULL);
    pd->sha256 = EVP_MD_fetch(NULL, "SHA256", NULL);
    pd->aes = EVP_CIPHER_fetch(NULL, "AES-256-GCM", NULL);
    if (!pd->hkdf || !pd->hmac || !pd->sha256 || !pd->aes) {
        up->set_detail(pc, "OpenSSL lacks HKDF, HMAC, SHA256 or AES-256-GCM");
        goto fail;
    }
    *pdata = pd;
    return 0;
fail:
    tpsk_fini(pd);
    return rc;
}

/* Looks for "TPSK", the version and this provider's name. */
static int tpsk_claim(void *pdata, const uint8_t *tok, size_t len)
{
    static const uint8_t magic[4] = {'T', 'P', 'S', 'K'};
    size_t nl = strlen(TESTPSK_NAME);
    size_t m = len < 4 ? len : 4;
    if (memcmp(tok, magic, m) != 0)
        return MSGSEC_CLAIM_NOT_MINE;
    if (len < 6)
        return MSGSEC_CLAIM_MORE;
    if (tok[4] != TPSK_VERSION || tok[5] != nl)
        return MSGSEC_CLAIM_NOT_MINE;
    size_t have = len - 6 < nl ? len - 6 : nl;
    if (memcmp(tok + 6, TESTPSK_NAME, have) != 0)
        return MSGSEC_CLAIM_NOT_MINE;
    return have == nl ? MSGSEC_CLAIM_MINE : MSGSEC_CLAIM_MORE;
}

static int tpsk_start(void *pdata, void *state, msgsec_psession *ps)
{
    tpsk *pd = pdata;
    tpsk_state *st = state;
    const msgsec_upcalls *up = pd->up;
    st->ps = ps;
    st->pd = pd;
    st->role = up->session_role(ps);
    st->delay_ms = pd->delay_ms;
    if (st->role == MSGSEC_ROLE_SERVER) {
        st->phase = PH_SV_WAIT_CH;
        return 0;
    }
    const char *id = up->session_identity(ps);
    if (!id)
        id = pd->identity;
    size_t il = strlen(id), nl = strlen(TESTPSK_NAME);
    if (il == 0 || il > ID_MAX || !printable(id, il)) {
        up->session_detail(ps, "identity must be 1 to %d printable characters",
                           ID_MAX);
        return MSGSEC_ERR_INVALID_ARG;
    }
    int rc = up->random(pd->pc, st->crand, RAND_LEN);
    if (rc < 0)
        return rc;
    uint8_t *p = st->ch;
    memcpy(p, "TPSK", 4), p += 4;
    *p++ = TPSK_VERSION;
    *p++ = (uint8_t)nl;
    memcpy(p, TESTPSK_NAME, nl), p += nl;
    *p++ = (uint8_t)il;
    memcpy(p, id, il), p += il;
    memcpy(p, st->crand, RAND_LEN), p += RAND_LEN;
    st->ch_len = (size_t)(p - st->ch);
    memcpy(st->identity, id, il);
    st->identity[il] = '\0';
    const char *peer = up->session_peer_name(ps);
    snprintf(st->peer_identity, sizeof(st->peer_identity), "%s",
             peer ? peer : "test-server");
    st->phase = PH_CL_WAIT_SH;
    return up->session_write(ps, st->ch, st->ch_len);
}

/* Parses a client hello at in; 0 with *used, CONTINUE, or BAD_FRAME. */
static int parse_hello(const tpsk *pd, tpsk_state *st, const uint8_t *in,
                       size_t len, size_t *used)
{
    const msgsec_upcalls *up = pd->up;
    size_t nl = strlen(TESTPSK_NAME);
    if (len >= 4 && memcmp(in, "TPSK", 4) != 0) {
        up->session_detail(st->ps, "client hello: bad magic");
        return MSGSEC_ERR_BAD_FRAME;
    }
    if (len < 6)
        return MSGSEC_CONTINUE;
    if (in[4] != TPSK_VERSION) {
        up->session_detail(st->ps, "client hello: version %u, expected %u",
                           (unsigned)in[4], (unsigned)TPSK_VERSION);
        return MSGSEC_ERR_BAD_FRAME;
    }
    if (len < 6 + (size_t)in[5] + 1)
        return MSGSEC_CONTINUE;
    if (in[5] != nl || memcmp(in + 6, TESTPSK_NAME, nl) != 0) {
        up->session_detail(st->ps, "client hello is not for provider %s",
                           TESTPSK_NAME);
        return MSGSEC_ERR_BAD_FRAME;
    }
    size_t il = in[6 + nl];
    const char *id = (const char *)in + 7 + nl;
    if (len < 7 + nl + il + RAND_LEN)
        return MSGSEC_CONTINUE;
    if (il == 0 || !printable(id, il)) {
        up->session_detail(st->ps, "client hello: malformed identity");
        return MSGSEC_ERR_BAD_FRAME;
    }
    st->ch_len = 7 + nl + il + RAND_LEN;
    memcpy(st->ch, in, st->ch_len);
    memcpy(st->identity, id, il);
    st->identity[il] = '\0';
    memcpy(st->peer_identity, st->identity, il + 1);
    memcpy(st->crand, in + 7 + nl + il, RAND_LEN);
    *used = st->ch_len;
    return 0;
}

static void *lookup_thread(void *arg)
{
    tpsk_state *st = arg;
    const tpsk *pd = st->pd;
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    ts.tv_sec += st->delay_ms / 1000;
    ts.tv_nsec += (st->delay_ms % 1000) * 1000000L;
    if (ts.tv_nsec >= 1000000000L) {
        ts.tv_sec++;
        ts.tv_nsec -= 1000000000L;
    }
    pthread_mutex_lock(&st->mu);
    while (!st->lookup_cancel) {
        if (pthread_cond_timedwait(&st->cv, &st->mu, &ts) == ETIMEDOUT)
            break;
    }
    int cancelled = st->lookup_cancel;
    if (!cancelled) {
        st->lookup_rc = known_identity(pd, st->identity)
                            ? 0
                            : MSGSEC_ERR_AUTH_FAILED;
        st->lookup_done = 1;
    }
    pthread_mutex_unlock(&st->mu);
    /* end() joins this thread, so the wake precedes end()'s return. */
    if (!cancelled)
        pd->up->session_wake(st->ps);
    return NULL;
}

static int start_lookup(const tpsk *pd, tpsk_state *st)
{
    if (!st->sync_init) {
        pthread_condattr_t ca;
        if (pthread_condattr_init(&ca))
            return MSGSEC_ERR_NOMEM;
        pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
        int e = pthread_cond_init(&st->cv, &ca);
        pthread_condattr_destroy(&ca);
        if (e)
            return MSGSEC_ERR_NOMEM;
        if (pthread_mutex_init(&st->mu, NULL)) {
            pthread_cond_destroy(&st->cv);
            return MSGSEC_ERR_NOMEM;
        }
        st->sync_init = 1;
    }
    if (pthread_create(&st->thread, NULL, lookup_thread, st)) {
        pd->up->session_detail(st->ps, "cannot start the look-up thread");
        return MSGSEC_ERR_LOOKUP_FAILED;
    }
    st->thread_live = 1;
    return 0;
}

/* 1 with the thread's verdict in *lrc once the look-up is over (the
 * thread joined), 0 while it runs. */
static int lookup_finished(tpsk_state *st, int *lrc)
{
    pthread_mutex_lock(&st->mu);
    int done = st->lookup_done;
    *lrc = st->lookup_rc;
    pthread_mutex_unlock(&st->mu);
    if (!done)
        return 0;
    pthread_join(st->thread, NULL);
    st->thread_live = 0;
    return 1;
}

/* The look-up's verdict is in: answer with the server hello. */
static int send_server_hello(const tpsk *pd, tpsk_state *st, int lookup_rc)
{
    const msgsec_upcalls *up = pd->up;
    if (lookup_rc < 0) {
        up->session_detail(st->ps, "unknown identity \"%s\"", st->identity);
        return lookup_rc;
    }
    int rc = up->random(pd->pc, st->srand, RAND_LEN);
    if (rc < 0)
        return rc;
    if ((rc = derive(pd, st)) < 0 || (rc = setup_records(pd, st)) < 0) {
        up->session_detail(st->ps, "key derivation failed");
        return rc;
    }
    uint8_t sh[RAND_LEN + MAC_LEN];
    memcpy(sh, st->srand, RAND_LEN);
    if ((rc = hmac(pd, st->fin_s, st->th, 32, sh + RAND_LEN)) < 0)
        return rc;
    st->phase = PH_SV_WAIT_FIN;
    return up->session_write(st->ps, sh, sizeof(sh));
}

static int tpsk_step(void *pdata, void *state, const uint8_t *in, size_t len,
                     size_t *consumed)
{
    tpsk *pd = pdata;
    tpsk_state *st = state;
    const msgsec_upcalls *up = pd->up;
    int rc;
    *consumed = 0;
    switch (st->phase) {
    case PH_SV_WAIT_CH: {
        size_t used = 0;
        rc = parse_hello(pd, st, in, len, &used);
        if (rc != 0)
            return rc;
        *consumed = used;
        if (st->delay_ms > 0) {
            if ((rc = start_lookup(pd, st)) < 0)
                return rc;
            st->phase = PH_SV_LOOKUP;
            return MSGSEC_PENDING;
        }
        rc = send_server_hello(pd, st,
                               known_identity(pd, st->identity)
                                   ? 0
                                   : MSGSEC_ERR_AUTH_FAILED);
        return rc < 0 ? rc : MSGSEC_CONTINUE;
    }
    case PH_SV_LOOKUP: {
        int lrc;
        if (!lookup_finished(st, &lrc))
            return MSGSEC_PENDING;
        rc = send_server_hello(pd, st, lrc);
        return rc < 0 ? rc : MSGSEC_CONTINUE;
    }
    case PH_SV_WAIT_FIN: {
        if (len < MAC_LEN)
            return MSGSEC_CONTINUE;
        uint8_t mac[MAC_LEN];
        if ((rc = hmac(pd, st->fin_c, st->th, 32, mac)) < 0)
            return rc;
        int ok = CRYPTO_memcmp(mac, in, MAC_LEN) == 0;
        OPENSSL_cleanse(mac, sizeof(mac));
        *consumed = MAC_LEN;
        if (!ok) {
            up->session_detail(st->ps,
                               "client \"%s\" did not prove the shared secret",
                               st->identity);
            return MSGSEC_ERR_AUTH_FAILED;
        }
        st->phase = PH_DONE;
        return MSGSEC_OK;
    }
    case PH_CL_WAIT_SH: {
        if (len < RAND_LEN + MAC_LEN)
            return MSGSEC_CONTINUE;
        memcpy(st->srand, in, RAND_LEN);
        *consumed = RAND_LEN + MAC_LEN;
        if ((rc = derive(pd, st)) < 0 || (rc = setup_records(pd, st)) < 0) {
            up->session_detail(st->ps, "key derivation failed");
            return rc;
        }
        uint8_t mac[MAC_LEN];
        if ((rc = hmac(pd, st->fin_s, st->th, 32, mac)) < 0)
            return rc;
        int ok = CRYPTO_memcmp(mac, in + RAND_LEN, MAC_LEN) == 0;
        if (!ok) {
            OPENSSL_cleanse(mac, sizeof(mac));
            up->session_detail(st->ps, "server did not prove the shared secret");
            return MSGSEC_ERR_AUTH_FAILED;
        }
        rc = hmac(pd, st->fin_c, st->th, 32, mac);
        if (rc == 0)
            rc = up->session_write(st->ps, mac, MAC_LEN);
        OPENSSL_cleanse(mac, sizeof(mac));
        if (rc < 0)
            return rc;
        st->phase = PH_DONE;
        return MSGSEC_OK;
    }
    default:
        up->session_detail(st->ps, "step called outside the handshake");
        return MSGSEC_ERR_STATE;
    }
}

static int tpsk_result(void *pdata, void *state, msgsec_peer *peer)
{
    tpsk_state *st = state;
    (void)pdata;
    if (st->phase != PH_DONE)
        return MSGSEC_ERR_STATE;
    memset(peer, 0, sizeof(*peer));
    peer->identity = st->peer_identity;
    peer->caps = MSGSEC_CAP_MUTUAL_AUTH | MSGSEC_CAP_CONFIDENTIALITY |
                 MSGSEC_CAP_INTEGRITY | MSGSEC_CAP_REPLAY_DETECTION |
                 MSGSEC_CAP_KEY_EXPORT;
    return 0;
}

static int tpsk_export_key(void *pdata, void *state, const char *label,
                           const uint8_t *context, size_t context_len,
                           uint8_t *out, size_t out_len)
{
    tpsk *pd = pdata;
    tpsk_state *st = state;
    if (st->phase != PH_DONE)
        return MSGSEC_ERR_STATE;
    static const char prefix[] = "tpsk exporter";
    size_t ll = label ? strlen(label) : 0;
    /* OpenSSL's HKDF caps info at 1024 bytes; RFC 5869 caps L at 255*32. */
    if (ll > 255 || context_len > 512 || out_len == 0 || out_len > 255 * 32)
        return MSGSEC_ERR_INVALID_ARG;
    uint8_t info[sizeof(prefix) - 1 + 1 + 255 + 2 + 512];
    size_t n = 0;
    memcpy(info, prefix, sizeof(prefix) - 1), n += sizeof(prefix) - 1;
    info[n++] = (uint8_t)ll;
    memcpy(info + n, label, ll), n += ll;
    info[n++] = (uint8_t)(context_len >> 8);
    info[n++] = (uint8_t)context_len;
    if (context_len)
        memcpy(info + n, context, context_len), n += context_len;
    return hkdf(pd, 1, st->exporter, KEY_LEN, NULL, 0, info, n, out, out_len);
}

static int seal_record(tpsk_state *st, int type, const uint8_t *in, size_t len,
                       uint8_t *out, size_t cap, size_t *out_len)
{
    if (st->close_sent)
        return MSGSEC_ERR_CLOSED;
    if (len > REC_MAX)
        return MSGSEC_ERR_MESSAGE_TOO_LARGE;
    if (cap < REC_HDR + len + TAG_LEN)
        return MSGSEC_ERR_BUFFER_TOO_SMALL;
    if (st->send_seq == UINT64_MAX)
        return MSGSEC_ERR_STATE;
    size_t body = len + TAG_LEN;
    out[0] = (uint8_t)type;
    out[1] = (uint8_t)(body >> 8);
    out[2] = (uint8_t)body;
    put_be64(out + 3, st->send_seq);
    uint8_t nonce[IV_LEN];
    nonce_for(st->enc_iv, st->send_seq, nonce);
    int l = 0, l2 = 0;
    if (!EVP_EncryptInit_ex2(st->enc, NULL, NULL, nonce, NULL) ||
        !EVP_EncryptUpdate(st->enc, NULL, &l, out, REC_HDR) ||
        (len && !EVP_EncryptUpdate(st->enc, out + REC_HDR, &l, in, (int)len)) ||
        !EVP_EncryptFinal_ex(st->enc, out + REC_HDR + len, &l2) ||
        !EVP_CIPHER_CTX_ctrl(st->enc, EVP_CTRL_AEAD_GET_TAG, TAG_LEN,
                             out + REC_HDR + len))
        return MSGSEC_ERR_INTERNAL;
    st->send_seq++;
    *out_len = REC_HDR + body;
    return 0;
}

static int tpsk_wrap(void *pdata, void *state, const uint8_t *in, size_t len,
                     uint8_t *out, size_t cap, size_t *out_len)
{
    tpsk_state *st = state;
    (void)pdata;
    if (st->phase != PH_DONE)
        return MSGSEC_ERR_STATE;
    return seal_record(st, REC_DATA, in, len, out, cap, out_len);
}

static int tpsk_unwrap(void *pdata, void *state, const uint8_t *in, size_t len,
                       size_t *consumed, uint8_t *out, size_t cap,
                       size_t *out_len, unsigned *flags)
{
    tpsk *pd = pdata;
    tpsk_state *st = state;
    *consumed = 0;
    *out_len = 0;
    *flags = 0;
    if (st->phase != PH_DONE)
        return MSGSEC_ERR_STATE;
    if (st->close_recv)
        return MSGSEC_ERR_CLOSED;
    if (len < REC_HDR)
        return MSGSEC_CONTINUE;
    size_t body = ((size_t)in[1] << 8) | in[2];
    if ((in[0] != REC_DATA && in[0] != REC_CLOSE) || body < TAG_LEN ||
        body > REC_MAX + TAG_LEN) {
        pd->up->session_detail(st->ps, "malformed record header");
        return MSGSEC_ERR_INTEGRITY;
    }
    if (len < REC_HDR + body)
        return MSGSEC_CONTINUE;
    size_t clen = body - TAG_LEN;
    if (cap < clen)
        return MSGSEC_ERR_BUFFER_TOO_SMALL;
    uint64_t seq = get_be64(in + 3);
    uint8_t nonce[IV_LEN];
    nonce_for(st->dec_iv, seq, nonce);
    int l = 0, l2 = 0;
    int ok = EVP_DecryptInit_ex2(st->dec, NULL, NULL, nonce, NULL) &&
             EVP_DecryptUpdate(st->dec, NULL, &l, in, REC_HDR) &&
             (clen == 0 ||
              EVP_DecryptUpdate(st->dec, out, &l, in + REC_HDR, (int)clen)) &&
             EVP_CIPHER_CTX_ctrl(st->dec, EVP_CTRL_AEAD_SET_TAG, TAG_LEN,
                                 (void *)(in + REC_HDR + clen)) &&
             EVP_DecryptFinal_ex(st->dec, out + clen, &l2) > 0;
    if (!ok) {
        OPENSSL_cleanse(out, clen);
        pd->up->session_detail(st->ps, "record %llu failed authentication",
                               (unsigned long long)seq);
        return MSGSEC_ERR_INTEGRITY;
    }
    if (seq != st->recv_seq) {
        OPENSSL_cleanse(out, clen);
        pd->up->session_detail(st->ps,
                               "record sequence %llu where %llu was due",
                               (unsigned long long)seq,
                               (unsigned long long)st->recv_seq);
        return MSGSEC_ERR_REPLAY;
    }
    st->recv_seq++;
    *consumed = REC_HDR + body;
    if (in[0] == REC_CLOSE) {
        if (clen != 0) {
            pd->up->session_detail(st->ps, "close record carries data");
            return MSGSEC_ERR_INTEGRITY;
        }
        st->close_recv = 1;
        *flags = MSGSEC_UNWRAP_CLOSED;
        return 0;
    }
    *out_len = clen;
    return 0;
}

static int tpsk_limits(void *pdata, void *state, size_t *overhead,
                       size_t *max_record)
{
    (void)pdata;
    (void)state;
    *overhead = REC_HDR + TAG_LEN;
    *max_record = REC_MAX;
    return 0;
}

static int tpsk_close(void *pdata, void *state)
{
    tpsk *pd = pdata;
    tpsk_state *st = state;
    if (st->phase != PH_DONE)
        return MSGSEC_ERR_STATE;
    if (st->close_sent)
        return 0;
    uint8_t rec[REC_HDR + TAG_LEN];
    size_t n = 0;
    int rc = seal_record(st, REC_CLOSE, NULL, 0, rec, sizeof(rec), &n);
    if (rc < 0)
        return rc;
    st->close_sent = 1;
    return pd->up->session_write(st->ps, rec, n);
}

static void tpsk_end(void *pdata, void *state)
{
    tpsk_state *st = state;
    (void)pdata;
    if (st->thread_live) {
        pthread_mutex_lock(&st->mu);
        st->lookup_cancel = 1;
        pthread_cond_broadcast(&st->cv);
        pthread_mutex_unlock(&st->mu);
        pthread_join(st->thread, NULL);
        st->thread_live = 0;
    }
    if (st->sync_init) {
        pthread_mutex_destroy(&st->mu);
        pthread_cond_destroy(&st->cv);
        st->sync_init = 0;
    }
    EVP_CIPHER_CTX_free(st->enc);
    EVP_CIPHER_CTX_free(st->dec);
    OPENSSL_cleanse(st, sizeof(*st));
}

/* ABI 1.1: "<name>:<user>" to its key and peer. */
static int tpsk_psk_resolve(void *pdata, void *state, msgsec_psession *ps,
                            const msgsec_psk_query *q, uint8_t *key,
                            size_t *key_len, msgsec_peer *peer)
{
    tpsk *pd = pdata;
    tpsk_state *st = state;
    const msgsec_upcalls *up = pd->up;
    size_t nl = strlen(TESTPSK_NAME);
    int rc;
    if (q->identity_len <= nl + 1 ||
        memcmp(q->identity, TESTPSK_NAME, nl) != 0 ||
        q->identity[nl] != ':')
        return MSGSEC_PSK_NOT_MINE;
    if (*key_len < KEY_LEN)
        return MSGSEC_ERR_BUFFER_TOO_SMALL;
    if (st->phase == PH_NONE) {
        const char *user = (const char *)q->identity + nl + 1;
        size_t ul = q->identity_len - nl - 1;
        st->ps = ps;
        st->pd = pd;
        st->role = MSGSEC_ROLE_SERVER;
        st->delay_ms = pd->delay_ms;
        if (ul > ID_MAX || !printable(user, ul)) {
            up->session_detail(ps, "PSK identity: the user is not 1 to %d "
                                   "printable characters",
                               ID_MAX);
            return MSGSEC_ERR_AUTH_FAILED;
        }
        memcpy(st->identity, user, ul);
        st->identity[ul] = '\0';
        if (st->delay_ms > 0) {
            if ((rc = start_lookup(pd, st)) < 0)
                return rc;
            st->phase = PH_SV_LOOKUP;
            return MSGSEC_PENDING;
        }
        st->lookup_rc = known_identity(pd, st->identity)
                            ? 0
                            : MSGSEC_ERR_KEY_UNAVAILABLE;
    } else if (st->phase == PH_SV_LOOKUP) {
        int lrc;
        if (!lookup_finished(st, &lrc))
            return MSGSEC_PENDING;
        /* The thread's verdict for an unknown user is AUTH_FAILED. */
        st->lookup_rc = lrc < 0 ? MSGSEC_ERR_KEY_UNAVAILABLE : 0;
    } else {
        up->session_detail(ps, "psk_resolve called again after its outcome");
        return MSGSEC_ERR_STATE;
    }
    st->phase = PH_DONE;
    if (st->lookup_rc < 0) {
        up->session_detail(ps, "no key for user \"%s\"", st->identity);
        return st->lookup_rc;
    }
    static const char label[] = "tpsk psk v1";
    /* The name is at most 63 bytes and the user ID_MAX: within OpenSSL's
     * limit for HKDF info. */
    uint8_t info[sizeof(label) - 1 + 2 + 64 + ID_MAX];
    if (q->identity_len > sizeof(info) - (sizeof(label) - 1 + 2))
        return MSGSEC_ERR_INTERNAL;
    size_t n = sizeof(label) - 1;
    memcpy(info, label, n);
    info[n++] = (uint8_t)(q->version >> 8);
    info[n++] = (uint8_t)q->version;
    memcpy(info + n, q->identity, q->identity_len);
    n += q->identity_len;
    if ((rc = hkdf(pd, 0, pd->secret, KEY_LEN, NULL, 0, info, n, key,
                   KEY_LEN)) < 0) {
        up->session_detail(ps, "key derivation failed");
        return rc;
    }
    *key_len = KEY_LEN;
    memcpy(st->peer_identity, st->identity, sizeof(st->peer_identity));
    memset(peer, 0, sizeof(*peer));
    peer->identity = st->peer_identity;
    return 0;
}

/* The answer of the configuration-management source authz_map stands
 * for. */
static int authz_verdict(const tpsk *pd, msgsec_psession *ps,
                         const msgsec_authz_query *q)
{
    const msgsec_upcalls *up = pd->up;
    if (pd->authz_down) {
        up->session_detail(ps, "association source unreachable (authz_down "
                               "at %s)",
                           up->config_where(pd->pc, "authz_down"));
        return MSGSEC_ERR_LOOKUP_FAILED;
    }
    const char *subject = q->gpsi ? q->gpsi : q->supi ? q->supi : q->identity;
    if (subject && map_has(pd->authz_map, subject, q->ue_service_id))
        return MSGSEC_OK;
    up->session_detail(ps, "\"%s\" is not associated with \"%s\"",
                       subject ? subject : "(none)", q->ue_service_id);
    return MSGSEC_ERR_NOT_AUTHORIZED;
}

/* ABI 1.2: the association of q's peer with q->ue_service_id. */
static int tpsk_authorize(void *pdata, void *state, msgsec_psession *ps,
                          const msgsec_authz_query *q)
{
    tpsk *pd = pdata;
    tpsk_state *st = state;
    int rc, lrc;
    if (st->phase == PH_NONE) {
        st->ps = ps;
        st->pd = pd;
        st->role = MSGSEC_ROLE_SERVER;
        if (pd->authz_delay_ms > 0) {
            st->delay_ms = pd->authz_delay_ms;
            if ((rc = start_lookup(pd, st)) < 0)
                return rc;
            st->phase = PH_SV_LOOKUP;
            return MSGSEC_PENDING;
        }
    } else if (st->phase == PH_SV_LOOKUP) {
        /* The thread only waits: the verdict is taken here. */
        if (!lookup_finished(st, &lrc))
            return MSGSEC_PENDING;
    } else {
        pd->up->session_detail(ps, "authorize called again after its "
                                   "outcome");
        return MSGSEC_ERR_STATE;
    }
    st->phase = PH_DONE;
    return authz_verdict(pd, ps, q);
}

static const msgsec_provider tpsk_provider = {
#ifdef TESTPSK_MINOR0
    .magic = MSGSEC_PROVIDER_MAGIC,
    .size = offsetof(msgsec_provider, psk_resolve),
    .abi_major = MSGSEC_PROVIDER_ABI_MAJOR,
    .abi_minor = 0,
#else
    MSGSEC_PROVIDER_HEADER,
#endif
    .name = TESTPSK_NAME,
    .version = "1.0",
    .summary = "test provider: shared secret, HKDF-SHA256, AES-256-GCM records",
    .caps = MSGSEC_CAP_CLIENT | MSGSEC_CAP_SERVER | MSGSEC_CAP_MUTUAL_AUTH |
            MSGSEC_CAP_CONFIDENTIALITY | MSGSEC_CAP_INTEGRITY |
            MSGSEC_CAP_REPLAY_DETECTION | MSGSEC_CAP_KEY_EXPORT |
            MSGSEC_CAP_IMPLICIT,
    .state_size = sizeof(tpsk_state),
    .config_keys = tpsk_keys,
    .init = tpsk_init,
    .fini = tpsk_fini,
    .claim = tpsk_claim,
    .start = tpsk_start,
    .step = tpsk_step,
    .result = tpsk_result,
    .export_key = tpsk_export_key,
    .wrap = tpsk_wrap,
    .unwrap = tpsk_unwrap,
    .limits = tpsk_limits,
    .end = tpsk_end,
    .close = tpsk_close,
    .psk_resolve = tpsk_psk_resolve,
    .authorize = tpsk_authorize,
};

MSGSEC_PROVIDER_DEFINE(TESTPSK_MODULE, tpsk_provider)
