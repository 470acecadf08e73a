/*
 * tlspsk.c - the TLS-PSK engine: TLS 1.3 external PSK and TLS 1.2 PSK on
 * OpenSSL 3, sans-IO. See <msgsec/tlspsk.h> for the contract.
 *
 * I/O: each connection has one BIO of a method of our own, used as both
 * rbio and wbio. Reads come from the caller's input window (so the engine
 * knows exactly how many bytes OpenSSL took, and never buffers input of
 * its own); writes go into the caller's output buffer during wrap() and
 * to the write callback otherwise. OpenSSL reads one record at a time
 * (read_ahead stays off), so step() stops taking input at the end of the
 * handshake and unwrap() at the end of a record.
 *
 * Server key selection (TLS 1.3) happens in the client-hello callback,
 * before OpenSSL looks at the PSK: it reads extensions 45 and 41 itself,
 * asks the look-up callback for the identities in order and either
 * selects one (the find-session callback then hands OpenSSL its key as an
 * SSL_SESSION), refuses (alert unknown_psk_identity), or returns
 * SSL_CLIENT_HELLO_RETRY while a look-up is pending.
 *
 * TLS 1.2 names the identity only in ClientKeyExchange, and OpenSSL asks
 * for the key in the middle of processing it, where it cannot wait. So
 * step() reads that (unencrypted) message itself before handing it over,
 * asks the look-up, and keeps the bytes back while the look-up is pending;
 * the PSK server callback then finds the key ready. (OpenSSL's async jobs
 * could pause inside the callback, but a paused job cannot be resumed or
 * freed from another thread in OpenSSL 3.0, which sessions woken by an
 * event loop need.)
 */
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include <openssl/bio.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/obj_mac.h>
#include <openssl/ssl.h>

#include "msgsec/tlspsk.h"

#define DETAIL_MAX 256
/* Identities of one ClientHello the server considers. */
#define MAX_OFFERED 16
/* Bound on handshake retries within one step() (look-ups answered at
 * once, identity after identity). */
#define MAX_ROUNDS (2 * MAX_OFFERED + 8)

#define DEFAULT_SUITES "TLS_AES_128_GCM_SHA256:TLS_CHACHA20_POLY1305_SHA256"
#define DEFAULT_GROUPS "X25519:P-256:X448:P-384:P-521"
#define TLS12_ECDHE "ECDHE-PSK-CHACHA20-POLY1305:ECDHE-PSK-AES128-CBC-SHA256"
#define TLS12_PLAIN "PSK-AES128-GCM-SHA256:PSK-CHACHA20-POLY1305"

/* TLS alert descriptions the engine chooses itself. */
#define AL_BAD_RECORD_MAC 20
#define AL_HANDSHAKE_FAILURE 40
#define AL_ILLEGAL_PARAMETER 47
#define AL_DECODE_ERROR 50
#define AL_DECRYPT_ERROR 51
#define AL_INSUFFICIENT_SECURITY 71
#define AL_INTERNAL_ERROR 80
#define AL_MISSING_EXTENSION 109
#define AL_UNKNOWN_PSK_IDENTITY 115

struct msgsec_tlspsk_ctx {
    SSL_CTX *ssl;
    BIO_METHOD *bio;
    int kex;
    int tls12;                      /* TLS 1.2 enabled */
    int tls13;                      /* TLS 1.3 enabled */
    uint16_t min_version, max_version;
    const SSL_CIPHER *psk_cipher;   /* TLS 1.3: the key's hash comes from it */
    msgsec_tlspsk_lookup_fn lookup;
    msgsec_tlspsk_client_key_fn client_key;
};

enum conn_state { ST_HANDSHAKE = 0, ST_DONE, ST_FAILED };

/* Server key selection. */
enum sel_state {
    SEL_NONE = 0, /* next identity to be asked */
    SEL_LOOKUP,   /* c->ident is to be asked from step() (or is pending) */
    SEL_FOUND,    /* c->ident with c->key selected */
    SEL_FAILED    /* refused: sel_err, sel_alert */
};

struct msgsec_tlspsk_conn {
    const msgsec_tlspsk_ctx *ctx;
    SSL *ssl;
    int role;
    int state;
    void *arg;
    msgsec_tlspsk_write_fn write;
    msgsec_tlspsk_detail_fn detail_fn;

    /* The I/O windows of the current call. */
    const uint8_t *in;
    size_t in_len, in_pos;
    uint8_t *out;
    size_t out_cap, out_len;
    int write_rc;      /* the write callback failed with this */
    int starved;       /* the last read found the input window empty */

    /* Keys: the client's, or the server's selected one. */
    uint8_t key[MSGSEC_TLSPSK_MAX_KEY];
    size_t key_len;
    uint8_t *ident;    /* NUL-terminated copy */
    size_t ident_len, ident_cap;
    int have_key13;    /* client: client_key answered for TLS 1.3 */
    int psk_used;      /* OpenSSL was handed the key */

    /* Server selection. */
    int sel;
    size_t next_id, n_offered;
    int sel_err, sel_hard, sel_alert;
    int refuse_code;   /* refused in the client-hello callback */
    int cb_err;        /* a client callback failed */
    int asked;         /* the client-hello callback just got PENDING */

    /* Results. */
    int closed_local, closed_peer;
    size_t overhead;
    uint16_t version, cipher_id;
    const char *cipher;
    int forward_secrecy;
    char *hint;
    int alert_sent, alert_recv;
    int alert_sent_now, alert_recv_now;
    char detail[DETAIL_MAX];
};

/* -------------------------------------------------------------- details */

static void set_detail(msgsec_tlspsk_conn *c, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));
static void set_detail(msgsec_tlspsk_conn *c, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(c->detail, sizeof(c->detail), fmt, ap);
    va_end(ap);
}

/* The identity as printable text for details (escaped, shortened). */
static void show_identity(const uint8_t *p, size_t n, char *buf, size_t cap)
{
    static const char hex[] = "0123456789abcdef";
    size_t o = 0;
    for (size_t i = 0; i < n && o + 5 < cap; i++) {
        if (o + 8 >= cap && i + 1 < n) {
            memcpy(buf + o, "...", 3);
            o += 3;
            break;
        }
        if (p[i] >= 0x20 && p[i] < 0x7f && p[i] != '"' && p[i] != '\\') {
            buf[o++] = (char)p[i];
        } else {
            buf[o++] = '\\';
            buf[o++] = 'x';
            buf[o++] = hex[p[i] >> 4];
            buf[o++] = hex[p[i] & 15];
        }
    }
    buf[o] = '\0';
}

/* The SDK does not link the core: its own words for the codes it reports. */
static const char *code_text(int rc)
{
    switch (rc) {
    case MSGSEC_ERR_AUTH_FAILED:
        return "unknown identity";
    case MSGSEC_ERR_KEY_UNAVAILABLE:
        return "key material unavailable";
    case MSGSEC_ERR_KEY_EXPIRED:
        return "key material expired";
    case MSGSEC_ERR_REAUTH_REQUIRED:
        return "peer must re-run primary authentication";
    case MSGSEC_ERR_LOOKUP_FAILED:
        return "key server look-up failed";
    case MSGSEC_ERR_TIMEOUT:
        return "timed out";
    case MSGSEC_ERR_NOMEM:
        return "out of memory";
    case MSGSEC_ERR_INVALID_ARG:
        return "invalid argument";
    default:
        return "failed";
    }
}

static const char *alert_name(int a)
{
    return SSL_alert_desc_string_long(a);
}

/* Fails the connection with code; the detail is already set. */
static int fail(msgsec_tlspsk_conn *c, int code)
{
    c->state = ST_FAILED;
    OPENSSL_cleanse(c->key, sizeof(c->key));
    c->key_len = 0;
    if (c->detail_fn)
        c->detail_fn(c->arg, c->detail);
    return code;
}

static int is_lookup_soft(int rc)
{
    return rc == MSGSEC_ERR_AUTH_FAILED || rc == MSGSEC_ERR_KEY_UNAVAILABLE ||
           rc == MSGSEC_ERR_KEY_EXPIRED || rc == MSGSEC_ERR_REAUTH_REQUIRED;
}

/*
 * Why OpenSSL failed, as a code and a detail. handshake: during step().
 * Reads and clears the thread's error queue.
 */
static int ssl_failure(msgsec_tlspsk_conn *c, int handshake, int sslerr)
{
    const char *what = handshake ? "TLS handshake failed" : "TLS record failed";
    /* The newest error: older ones may be other code's. */
    unsigned long e = ERR_peek_last_error();
    const char *reason = e ? ERR_reason_error_string(e) : NULL;
    char why[128];
    if (reason)
        snprintf(why, sizeof(why), "%s", reason);
    else if (e)
        snprintf(why, sizeof(why), "OpenSSL error %lx", e);
    else if (sslerr == SSL_ERROR_SYSCALL)
        snprintf(why, sizeof(why), "I/O failure");
    else
        snprintf(why, sizeof(why), "SSL error %d", sslerr);
    int malloc_fail = e && ERR_GET_REASON(e) == ERR_R_MALLOC_FAILURE;
    /* A wrong key, whatever alert OpenSSL chose (3.0 answers a bad binder
     * with illegal_parameter). */
    int wrong_key = handshake && e && ERR_GET_LIB(e) == ERR_LIB_SSL &&
                    (ERR_GET_REASON(e) == SSL_R_BINDER_DOES_NOT_VERIFY ||
                     ERR_GET_REASON(e) == SSL_R_DIGEST_CHECK_FAILED);
    ERR_clear_error();

    char al[96] = "";
    if (c->alert_recv_now)
        snprintf(al, sizeof(al), " (alert received: %s)",
                 alert_name(c->alert_recv));
    else if (c->alert_sent_now)
        snprintf(al, sizeof(al), " (alert sent: %s)",
                 alert_name(c->alert_sent));

    int code;
    if (c->write_rc < 0) {
        set_detail(c, "%s: the output could not be queued", what);
        return fail(c, c->write_rc);
    }
    if (handshake && c->sel == SEL_FAILED) {
        /* The look-up's verdict; its detail is set already. */
        return fail(c, c->sel_err);
    }
    if (handshake && (c->refuse_code || c->cb_err))
        return fail(c, c->refuse_code ? c->refuse_code : c->cb_err);
    if (malloc_fail) {
        code = MSGSEC_ERR_NOMEM;
    } else if (wrong_key) {
        code = MSGSEC_ERR_AUTH_FAILED;
    } else if (c->alert_recv_now) {
        switch (c->alert_recv) {
        case AL_UNKNOWN_PSK_IDENTITY:
        case AL_DECRYPT_ERROR:
        case AL_ILLEGAL_PARAMETER: /* OpenSSL 3.0 servers: bad binder */
            code = handshake ? MSGSEC_ERR_AUTH_FAILED
                             : MSGSEC_ERR_PEER_REJECTED;
            break;
        case AL_BAD_RECORD_MAC:
            code = handshake ? MSGSEC_ERR_AUTH_FAILED : MSGSEC_ERR_INTEGRITY;
            break;
        default:
            code = MSGSEC_ERR_PEER_REJECTED;
        }
    } else if (c->alert_sent_now) {
        switch (c->alert_sent) {
        case AL_UNKNOWN_PSK_IDENTITY:
        case AL_DECRYPT_ERROR:
        case AL_HANDSHAKE_FAILURE:
        case AL_INSUFFICIENT_SECURITY:
            code = MSGSEC_ERR_AUTH_FAILED;
            break;
        case AL_BAD_RECORD_MAC:
            /* In the handshake a wrong key shows as a bad MAC (TLS 1.2
             * Finished); afterwards it is tampering. */
            code = handshake ? MSGSEC_ERR_AUTH_FAILED : MSGSEC_ERR_INTEGRITY;
            break;
        case AL_INTERNAL_ERROR:
            code = MSGSEC_ERR_INTERNAL;
            break;
        default:
            code = MSGSEC_ERR_BAD_FRAME;
        }
    } else {
        code = MSGSEC_ERR_INTERNAL;
    }
    set_detail(c, "%s: %s%s", what, why, al);
    return fail(c, code);
}

/* ------------------------------------------------------------------ BIO */

static int bio_write_ex(BIO *b, const char *data, size_t n, size_t *written)
{
    msgsec_tlspsk_conn *c = BIO_get_data(b);
    BIO_clear_retry_flags(b);
    *written = 0;
    if (c->out) {
        /* wrap(): straight into the caller's buffer, checked in advance. */
        if (n > c->out_cap - c->out_len)
            return 0;
        memcpy(c->out + c->out_len, data, n);
        c->out_len += n;
    } else {
        int rc = c->write(c->arg, data, n);
        if (rc < 0) {
            c->write_rc = rc;
            return 0;
        }
    }
    *written = n;
    return 1;
}

static int bio_read_ex(BIO *b, char *data, size_t n, size_t *readbytes)
{
    msgsec_tlspsk_conn *c = BIO_get_data(b);
    BIO_clear_retry_flags(b);
    size_t avail = c->in_len - c->in_pos;
    c->starved = avail == 0;
    if (avail == 0) {
        BIO_set_retry_read(b);
        *readbytes = 0;
        return 0;
    }
    if (n > avail)
        n = avail;
    memcpy(data, c->in + c->in_pos, n);
    c->in_pos += n;
    *readbytes = n;
    return 1;
}

static long bio_ctrl(BIO *b, int cmd, long num, void *ptr)
{
    (void)num;
    (void)ptr;
    msgsec_tlspsk_conn *c = BIO_get_data(b);
    switch (cmd) {
    case BIO_CTRL_FLUSH:
        return 1;
    case BIO_CTRL_PENDING:
        return c ? (long)(c->in_len - c->in_pos) : 0;
    default:
        return 0;
    }
}

static void set_input(msgsec_tlspsk_conn *c, const uint8_t *in, size_t len)
{
    c->starved = 0;
    c->in = in;
    c->in_len = in ? len : 0;
    c->in_pos = 0;
}

/* ------------------------------------------------------------ callbacks */

static msgsec_tlspsk_conn *conn_of(const SSL *ssl)
{
    return SSL_get_app_data(ssl);
}

static void info_cb(const SSL *ssl, int where, int ret)
{
    if (!(where & SSL_CB_ALERT))
        return;
    msgsec_tlspsk_conn *c = conn_of(ssl);
    if (!c)
        return;
    int desc = ret & 0xff;
    if (where & SSL_CB_WRITE) {
        c->alert_sent = desc;
        c->alert_sent_now = 1;
    } else {
        c->alert_recv = desc;
        c->alert_recv_now = 1;
    }
}

/* Copies an identity into c->ident (NUL-terminated). */
static int set_ident(msgsec_tlspsk_conn *c, const uint8_t *p, size_t n)
{
    if (n + 1 > c->ident_cap) {
        uint8_t *q = OPENSSL_malloc(n + 1);
        if (!q)
            return MSGSEC_ERR_NOMEM;
        OPENSSL_free(c->ident);
        c->ident = q;
        c->ident_cap = n + 1;
    }
    memcpy(c->ident, p, n);
    c->ident[n] = '\0';
    c->ident_len = n;
    return 0;
}

/* A TLS 1.3 PSK session holding the key, for cipher's hash. */
static SSL_SESSION *psk_session(const msgsec_tlspsk_conn *c,
                                const SSL_CIPHER *cipher)
{
    SSL_SESSION *s = SSL_SESSION_new();
    if (!s || !SSL_SESSION_set1_master_key(s, c->key, c->key_len) ||
        !SSL_SESSION_set_cipher(s, cipher) ||
        !SSL_SESSION_set_protocol_version(s, TLS1_3_VERSION)) {
        SSL_SESSION_free(s);
        return NULL;
    }
    return s;
}

/*
 * Records the look-up's answer rc for c->ident. Returns SEL_FOUND,
 * SEL_LOOKUP (pending), SEL_NONE (try the next identity) or SEL_FAILED.
 */
static int verdict(msgsec_tlspsk_conn *c, int rc, size_t key_len)
{
    char id[80];
    if (rc == 0 && (key_len == 0 || key_len > MSGSEC_TLSPSK_MAX_KEY)) {
        show_identity(c->ident, c->ident_len, id, sizeof(id));
        set_detail(c, "the key look-up for PSK identity \"%s\" returned a "
                      "key of %zu bytes", id, key_len);
        rc = MSGSEC_ERR_INTERNAL;
    }
    if (rc == 0) {
        c->key_len = key_len;
        return c->sel = SEL_FOUND;
    }
    OPENSSL_cleanse(c->key, sizeof(c->key));
    c->key_len = 0;
    if (rc == MSGSEC_PENDING)
        return c->sel = SEL_LOOKUP;
    if (rc > 0)
        rc = MSGSEC_ERR_INTERNAL;
    /* Keep the first hard failure, else the first verdict. */
    int hard = !is_lookup_soft(rc);
    if (!c->sel_err || (hard && !c->sel_hard)) {
        c->sel_err = rc;
        c->sel_hard = hard;
        if (rc != MSGSEC_ERR_INTERNAL || !c->detail[0]) {
            show_identity(c->ident, c->ident_len, id, sizeof(id));
            set_detail(c, "PSK identity \"%s\": %s", id,
                       code_text(rc));
        }
    }
    c->next_id++;
    if (c->next_id < c->n_offered)
        return c->sel = SEL_NONE;
    c->sel_alert = c->sel_hard ? AL_INTERNAL_ERROR : AL_UNKNOWN_PSK_IDENTITY;
    size_t l = strlen(c->detail);
    snprintf(c->detail + l, sizeof(c->detail) - l, " (alert sent: %s)",
             alert_name(c->sel_alert));
    return c->sel = SEL_FAILED;
}

static int ask(msgsec_tlspsk_conn *c)
{
    size_t key_len = 0;
    int rc = c->ctx->lookup(c->arg, c->ident, c->ident_len, c->key, &key_len);
    return verdict(c, rc, key_len);
}

/* Refuses a ClientHello with alert al and code. */
static int refuse(msgsec_tlspsk_conn *c, int *al, int alert, int code)
{
    c->refuse_code = code;
    *al = alert;
    size_t l = strlen(c->detail);
    snprintf(c->detail + l, sizeof(c->detail) - l, " (alert sent: %s)",
             alert_name(alert));
    return SSL_CLIENT_HELLO_ERROR;
}

static int offers_tls13(const unsigned char *e, size_t n)
{
    if (n < 1 || e[0] != n - 1 || (n - 1) % 2)
        return 0;
    for (size_t i = 1; i + 1 < n; i += 2)
        if (e[i] == 3 && e[i + 1] == 4)
            return 1;
    return 0;
}

/* Server, psk_ke preferred: a group the client does not support, so that
 * no key share is usable and OpenSSL answers without (EC)DHE. */
static int absent_group(const unsigned char *e, size_t n)
{
    static const struct {
        unsigned id;
        int nid;
    } cand[] = {{256, NID_ffdhe2048}, {257, NID_ffdhe3072},
                {258, NID_ffdhe4096}, {30, NID_X448},
                {25, NID_secp521r1},  {24, NID_secp384r1},
                {23, NID_X9_62_prime256v1}, {29, NID_X25519}};
    if (n < 2 || (((size_t)e[0] << 8) | e[1]) != n - 2 || n % 2)
        return NID_undef;
    for (size_t k = 0; k < sizeof(cand) / sizeof(cand[0]); k++) {
        int listed = 0;
        for (size_t i = 2; i + 1 < n && !listed; i += 2)
            listed = (((unsigned)e[i] << 8) | e[i + 1]) == cand[k].id;
        if (!listed)
            return cand[k].nid;
    }
    return NID_undef;
}

static int client_hello_cb(SSL *ssl, int *al, void *arg)
{
    (void)arg;
    msgsec_tlspsk_conn *c = conn_of(ssl);
    const msgsec_tlspsk_ctx *x = c->ctx;
    const unsigned char *e;
    size_t n;

    if (c->sel == SEL_FAILED) {
        *al = c->sel_alert;
        return SSL_CLIENT_HELLO_ERROR;
    }
    int tls13 = x->tls13 && SSL_client_hello_get0_ext(ssl, 43, &e, &n) &&
                offers_tls13(e, n);
    if (!tls13)
        return SSL_CLIENT_HELLO_SUCCESS; /* TLS 1.2: identity comes later */
    if (!SSL_client_hello_get0_ext(ssl, 41, &e, &n)) {
        set_detail(c, "the ClientHello offers TLS 1.3 without a pre-shared "
                      "key");
        return refuse(c, al, AL_HANDSHAKE_FAILURE, MSGSEC_ERR_AUTH_FAILED);
    }
    const unsigned char *psk = e;
    size_t psk_len = n;
    unsigned modes = 0;
    if (!SSL_client_hello_get0_ext(ssl, 45, &e, &n)) {
        set_detail(c, "the ClientHello has pre_shared_key without "
                      "psk_key_exchange_modes");
        return refuse(c, al, AL_MISSING_EXTENSION, MSGSEC_ERR_BAD_FRAME);
    }
    if (msgsec_tlspsk_parse_kex_modes(e, n, &modes) < 0) {
        set_detail(c, "malformed psk_key_exchange_modes extension");
        return refuse(c, al, AL_DECODE_ERROR, MSGSEC_ERR_BAD_FRAME);
    }
    if (!(modes & (MSGSEC_TLSPSK_MODE_DHE_KE | MSGSEC_TLSPSK_MODE_KE))) {
        set_detail(c, "the client offers no known PSK key exchange mode");
        return refuse(c, al, AL_HANDSHAKE_FAILURE, MSGSEC_ERR_AUTH_FAILED);
    }
    if (!(modes & MSGSEC_TLSPSK_MODE_DHE_KE) &&
        x->kex == MSGSEC_TLSPSK_KEX_DHE) {
        set_detail(c, "the client offers only psk_ke (no forward secrecy), "
                      "which this server does not allow");
        return refuse(c, al, AL_INSUFFICIENT_SECURITY, MSGSEC_ERR_AUTH_FAILED);
    }

    if (c->sel != SEL_FOUND) {
        msgsec_tlspsk_identity ids[MAX_OFFERED];
        size_t total = 0;
        if (msgsec_tlspsk_parse_offered_psks(psk, psk_len, ids, MAX_OFFERED,
                                             &total) < 0) {
            set_detail(c, "malformed pre_shared_key extension");
            return refuse(c, al, AL_DECODE_ERROR, MSGSEC_ERR_BAD_FRAME);
        }
        c->n_offered = total < MAX_OFFERED ? total : MAX_OFFERED;
        while (c->sel != SEL_FOUND) {
            if (c->sel == SEL_FAILED) {
                *al = c->sel_alert;
                return SSL_CLIENT_HELLO_ERROR;
            }
            if (c->sel == SEL_LOOKUP)
                return SSL_CLIENT_HELLO_RETRY; /* step() asks first */
            if (c->next_id >= c->n_offered) {
                /* A second ClientHello with fewer identities. */
                set_detail(c, "the ClientHello changed its PSK identities");
                return refuse(c, al, AL_ILLEGAL_PARAMETER,
                              MSGSEC_ERR_BAD_FRAME);
            }
            const msgsec_tlspsk_identity *id = &ids[c->next_id];
            /* Longer than any key store holds: unknown, named by its
             * start. */
            int too_long = id->len > MSGSEC_TLSPSK_MAX_IDENTITY;
            if (set_ident(c, id->p, too_long ? 64 : id->len) < 0) {
                set_detail(c, "no memory for the PSK identity");
                return refuse(c, al, AL_INTERNAL_ERROR, MSGSEC_ERR_NOMEM);
            }
            if (too_long) {
                verdict(c, MSGSEC_ERR_AUTH_FAILED, 0);
                continue;
            }
            c->sel = SEL_LOOKUP;
            if (ask(c) == SEL_LOOKUP) {
                c->asked = 1; /* pending: step() need not ask again now */
                return SSL_CLIENT_HELLO_RETRY;
            }
        }
    }
    if (x->kex == MSGSEC_TLSPSK_KEX_PREFER_KE &&
        (modes & MSGSEC_TLSPSK_MODE_KE) &&
        SSL_client_hello_get0_ext(ssl, 10, &e, &n)) {
        int g = absent_group(e, n);
        if (g != NID_undef && !SSL_set1_groups(ssl, &g, 1))
            ERR_clear_error(); /* then (EC)DHE it is */
    }
    return SSL_CLIENT_HELLO_SUCCESS;
}

static int find_session_cb(SSL *ssl, const unsigned char *id, size_t idlen,
                           SSL_SESSION **sess)
{
    msgsec_tlspsk_conn *c = conn_of(ssl);
    *sess = NULL;
    if (c->sel != SEL_FOUND || idlen != c->ident_len ||
        memcmp(id, c->ident, idlen) != 0)
        return 1; /* not the identity we selected */
    const SSL_CIPHER *cipher = SSL_get_pending_cipher(ssl);
    if (!cipher)
        cipher = c->ctx->psk_cipher;
    if (!(*sess = psk_session(c, cipher)))
        return 0;
    c->psk_used = 1;
    return 1;
}

/* Client, TLS 1.3: the identity and key for the ClientHello. */
static int use_session_cb(SSL *ssl, const EVP_MD *md, const unsigned char **id,
                          size_t *idlen, SSL_SESSION **sess)
{
    msgsec_tlspsk_conn *c = conn_of(ssl);
    const msgsec_tlspsk_ctx *x = c->ctx;
    *sess = NULL;
    *id = NULL;
    *idlen = 0;
    const SSL_CIPHER *cipher = x->psk_cipher;
    if (md) {
        /* After a HelloRetryRequest: a suite of the negotiated hash. */
        STACK_OF(SSL_CIPHER) *sk = SSL_get_ciphers(ssl);
        cipher = NULL;
        for (int i = 0; sk && i < sk_SSL_CIPHER_num(sk) && !cipher; i++) {
            const SSL_CIPHER *ci = sk_SSL_CIPHER_value(sk, i);
            const EVP_MD *h = SSL_CIPHER_get_handshake_digest(ci);
            if ((SSL_CIPHER_get_protocol_id(ci) >> 8) == 0x13 && h &&
                EVP_MD_get_type(h) == EVP_MD_get_type(md))
                cipher = ci;
        }
        if (!cipher)
            return 1; /* no PSK for this hash */
    }
    if (x->client_key && !c->have_key13) {
        msgsec_tlspsk_client_query q = {MSGSEC_TLSPSK_TLS1_3,
                                        SSL_CIPHER_get_protocol_id(cipher),
                                        NULL};
        uint8_t ident[MSGSEC_TLSPSK_MAX_IDENTITY];
        size_t il = 0, kl = 0;
        int rc = x->client_key(c->arg, &q, ident, &il, c->key, &kl);
        if (rc == 0 && (il == 0 || il > MSGSEC_TLSPSK_MAX_IDENTITY || kl == 0 ||
                        kl > MSGSEC_TLSPSK_MAX_KEY))
            rc = MSGSEC_ERR_INVALID_ARG;
        if (rc == 0)
            rc = set_ident(c, ident, il);
        if (rc < 0) {
            OPENSSL_cleanse(c->key, sizeof(c->key));
            set_detail(c, "the client key callback failed: %s",
                       code_text(rc));
            c->cb_err = rc;
            return 0;
        }
        c->key_len = kl;
        c->have_key13 = 1;
    }
    if (c->key_len == 0)
        return 1;
    if (!(*sess = psk_session(c, cipher)))
        return 0;
    c->psk_used = 1;
    *id = c->ident;
    *idlen = c->ident_len;
    return 1;
}

/* Client, TLS 1.2: identity and key after the ServerHello. */
static unsigned int psk_client_cb(SSL *ssl, const char *hint, char *identity,
                                  unsigned int max_identity_len,
                                  unsigned char *psk, unsigned int max_psk_len)
{
    msgsec_tlspsk_conn *c = conn_of(ssl);
    const msgsec_tlspsk_ctx *x = c->ctx;
    if (SSL_version(ssl) >= TLS1_3_VERSION)
        return 0; /* TLS 1.3 uses use_session_cb */
    if (hint && !c->hint)
        c->hint = OPENSSL_strndup(hint, 256);
    if (x->client_key) {
        const SSL_CIPHER *ci = SSL_get_pending_cipher(ssl);
        msgsec_tlspsk_client_query q = {
            MSGSEC_TLSPSK_TLS1_2, ci ? SSL_CIPHER_get_protocol_id(ci) : 0,
            hint};
        uint8_t ident[MSGSEC_TLSPSK_MAX_IDENTITY];
        size_t il = 0, kl = 0;
        int rc = x->client_key(c->arg, &q, ident, &il, c->key, &kl);
        if (rc == 0 && (il == 0 || il > MSGSEC_TLSPSK_MAX_IDENTITY || kl == 0 ||
                        kl > MSGSEC_TLSPSK_MAX_KEY))
            rc = MSGSEC_ERR_INVALID_ARG;
        if (rc == 0)
            rc = set_ident(c, ident, il);
        if (rc < 0) {
            OPENSSL_cleanse(c->key, sizeof(c->key));
            set_detail(c, "the client key callback failed: %s",
                       code_text(rc));
            c->cb_err = rc;
            return 0;
        }
        c->key_len = kl;
    }
    if (c->ident_len == 0 || c->ident_len > max_identity_len ||
        memchr(c->ident, 0, c->ident_len) || c->key_len == 0 ||
        c->key_len > max_psk_len) {
        set_detail(c, "the PSK identity cannot be used with TLS 1.2 (at most "
                      "%u bytes, no NUL byte)", max_identity_len);
        c->cb_err = MSGSEC_ERR_INVALID_ARG;
        return 0;
    }
    memcpy(identity, c->ident, c->ident_len + 1);
    memcpy(psk, c->key, c->key_len);
    c->psk_used = 1;
    return (unsigned int)c->key_len;
}

/* Server, TLS 1.2: the key of the identity from ClientKeyExchange,
 * normally asked for by step() already (see read_cke()). */
static unsigned int psk_server_cb(SSL *ssl, const char *identity,
                                  unsigned char *psk, unsigned int max_psk_len)
{
    msgsec_tlspsk_conn *c = conn_of(ssl);
    if (SSL_version(ssl) >= TLS1_3_VERSION || !identity)
        return 0; /* TLS 1.3 uses find_session_cb */
    size_t il = strlen(identity);
    int same = il == c->ident_len &&
               (il == 0 || memcmp(identity, c->ident, il) == 0);
    if (!same || (c->sel != SEL_FOUND && c->sel != SEL_FAILED)) {
        /* Not read ahead (an unusual ClientKeyExchange): ask now, and
         * fail rather than wait. */
        if (set_ident(c, (const uint8_t *)identity, il) < 0) {
            set_detail(c, "no memory for the PSK identity");
            c->sel = SEL_FAILED;
            c->sel_err = MSGSEC_ERR_NOMEM;
            c->sel_alert = AL_INTERNAL_ERROR;
            return PSK_MAX_PSK_LEN + 1; /* OpenSSL: internal_error */
        }
        c->n_offered = 1;
        c->next_id = 0;
        c->sel = SEL_LOOKUP;
        if (ask(c) == SEL_LOOKUP) {
            set_detail(c, "the key look-up for a TLS 1.2 ClientKeyExchange "
                          "split over several records cannot wait");
            c->sel = SEL_FAILED;
            c->sel_err = MSGSEC_ERR_LOOKUP_FAILED;
            c->sel_alert = AL_INTERNAL_ERROR;
        }
    }
    if (c->sel == SEL_FOUND && c->key_len <= max_psk_len) {
        memcpy(psk, c->key, c->key_len);
        c->psk_used = 1;
        return (unsigned int)c->key_len;
    }
    if (c->sel == SEL_FAILED && c->sel_alert != AL_UNKNOWN_PSK_IDENTITY)
        return PSK_MAX_PSK_LEN + 1; /* OpenSSL: internal_error */
    return 0;                       /* OpenSSL: unknown_psk_identity */
}

/* ------------------------------------------------------------- context */

static void ctx_detail(char *detail, size_t len, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
static void ctx_detail(char *detail, size_t len, const char *fmt, ...)
{
    if (!detail || len == 0)
        return;
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(detail, len, fmt, ap);
    va_end(ap);
}

MSGSEC_SDK_EXPORT void msgsec_tlspsk_ctx_free(msgsec_tlspsk_ctx *ctx)
{
    if (!ctx)
        return;
    SSL_CTX_free(ctx->ssl);
    BIO_meth_free(ctx->bio);
    OPENSSL_free(ctx);
}

MSGSEC_SDK_EXPORT int msgsec_tlspsk_ctx_new(const msgsec_tlspsk_config *cfg,
                                            msgsec_tlspsk_ctx **out,
                                            char *detail, size_t detail_len)
{
    if (detail && detail_len)
        detail[0] = '\0';
    if (!out)
        return MSGSEC_ERR_INVALID_ARG;
    *out = NULL;
    msgsec_tlspsk_config k;
    memset(&k, 0, sizeof(k));
    if (!cfg || cfg->size < offsetof(msgsec_tlspsk_config, kex) + sizeof(int)) {
        ctx_detail(detail, detail_len, "configuration missing or size unset");
        return MSGSEC_ERR_INVALID_ARG;
    }
    memcpy(&k, cfg, cfg->size < sizeof(k) ? cfg->size : sizeof(k));
    if (k.kex < MSGSEC_TLSPSK_KEX_DHE || k.kex > MSGSEC_TLSPSK_KEX_PREFER_KE) {
        ctx_detail(detail, detail_len, "unknown key exchange mode %d", k.kex);
        return MSGSEC_ERR_INVALID_ARG;
    }
    uint16_t minv = k.min_version ? k.min_version : MSGSEC_TLSPSK_TLS1_3;
    uint16_t maxv = k.max_version ? k.max_version : MSGSEC_TLSPSK_TLS1_3;
    if ((minv != MSGSEC_TLSPSK_TLS1_2 && minv != MSGSEC_TLSPSK_TLS1_3) ||
        (maxv != MSGSEC_TLSPSK_TLS1_2 && maxv != MSGSEC_TLSPSK_TLS1_3) ||
        minv > maxv) {
        ctx_detail(detail, detail_len,
                   "TLS versions 0x%04x to 0x%04x: only TLS 1.2 (0x0303) and "
                   "1.3 (0x0304), lowest first",
                   minv, maxv);
        return MSGSEC_ERR_INVALID_ARG;
    }
    if (k.hint && strlen(k.hint) > 128) {
        ctx_detail(detail, detail_len, "identity hint longer than 128 bytes");
        return MSGSEC_ERR_INVALID_ARG;
    }

    msgsec_tlspsk_ctx *x = OPENSSL_zalloc(sizeof(*x));
    if (!x)
        return MSGSEC_ERR_NOMEM;
    x->kex = k.kex;
    x->min_version = minv;
    x->max_version = maxv;
    x->tls12 = minv == MSGSEC_TLSPSK_TLS1_2;
    x->tls13 = maxv == MSGSEC_TLSPSK_TLS1_3;
    x->lookup = k.lookup;
    x->client_key = k.client_key;

    const char *what = "SSL_CTX_new";
    x->ssl = SSL_CTX_new_ex(NULL, NULL, TLS_method());
    if (!x->ssl)
        goto ssl_err;
    SSL_CTX *s = x->ssl;
    uint64_t opts = SSL_OP_NO_TICKET | SSL_OP_NO_RENEGOTIATION |
                    SSL_OP_CIPHER_SERVER_PREFERENCE | SSL_OP_NO_COMPRESSION;
    if (k.kex != MSGSEC_TLSPSK_KEX_DHE)
        opts |= SSL_OP_ALLOW_NO_DHE_KEX;
    SSL_CTX_set_options(s, opts);
    SSL_CTX_set_mode(s, SSL_MODE_RELEASE_BUFFERS);
    SSL_CTX_set_session_cache_mode(s, SSL_SESS_CACHE_OFF);
    what = "TLS versions";
    if (!SSL_CTX_set_min_proto_version(s, minv) ||
        !SSL_CTX_set_max_proto_version(s, maxv) ||
        !SSL_CTX_set_num_tickets(s, 0) || !SSL_CTX_set_max_early_data(s, 0) ||
        !SSL_CTX_set_recv_max_early_data(s, 0))
        goto ssl_err;
    what = "ciphersuites";
    if (!SSL_CTX_set_ciphersuites(s, k.ciphersuites ? k.ciphersuites
                                                   : DEFAULT_SUITES))
        goto ssl_err;
    what = "cipher_list";
    const char *list = k.cipher_list;
    if (!list)
        list = k.kex == MSGSEC_TLSPSK_KEX_DHE ? TLS12_ECDHE
               : k.kex == MSGSEC_TLSPSK_KEX_ALLOW_KE
                   ? TLS12_ECDHE ":" TLS12_PLAIN
                   : TLS12_PLAIN ":" TLS12_ECDHE;
    if (!SSL_CTX_set_cipher_list(s, list))
        goto ssl_err;
    what = "groups";
    if (!SSL_CTX_set1_groups_list(s, k.groups ? k.groups : DEFAULT_GROUPS))
        goto ssl_err;

    /* The TLS 1.3 suite a PSK is bound to: the first configured one. */
    STACK_OF(SSL_CIPHER) *sk = SSL_CTX_get_ciphers(s);
    for (int i = 0; sk && i < sk_SSL_CIPHER_num(sk) && !x->psk_cipher; i++) {
        const SSL_CIPHER *ci = sk_SSL_CIPHER_value(sk, i);
        if ((SSL_CIPHER_get_protocol_id(ci) >> 8) == 0x13)
            x->psk_cipher = ci;
    }
    if (x->tls13 && !x->psk_cipher) {
        ctx_detail(detail, detail_len, "ciphersuites: no TLS 1.3 suite");
        msgsec_tlspsk_ctx_free(x);
        return MSGSEC_ERR_INVALID_ARG;
    }
    SSL_CTX_set_info_callback(s, info_cb);
    SSL_CTX_set_client_hello_cb(s, client_hello_cb, NULL);
    SSL_CTX_set_psk_find_session_callback(s, find_session_cb);
    SSL_CTX_set_psk_use_session_callback(s, use_session_cb);
    if (x->tls12) {
        SSL_CTX_set_psk_client_callback(s, psk_client_cb);
        SSL_CTX_set_psk_server_callback(s, psk_server_cb);
        what = "identity hint";
        if (k.hint && !SSL_CTX_use_psk_identity_hint(s, k.hint))
            goto ssl_err;
    }

    x->bio = BIO_meth_new(BIO_TYPE_SOURCE_SINK, "msgsec tlspsk");
    if (!x->bio || !BIO_meth_set_write_ex(x->bio, bio_write_ex) ||
        !BIO_meth_set_read_ex(x->bio, bio_read_ex) ||
        !BIO_meth_set_ctrl(x->bio, bio_ctrl)) {
        msgsec_tlspsk_ctx_free(x);
        ERR_clear_error();
        return MSGSEC_ERR_NOMEM;
    }
    *out = x;
    return 0;

ssl_err: {
    unsigned long e = ERR_peek_error();
    const char *r = e ? ERR_reason_error_string(e) : NULL;
    int nomem = e && ERR_GET_REASON(e) == ERR_R_MALLOC_FAILURE;
    ctx_detail(detail, detail_len, "%s: %s", what,
               r ? r : "refused by OpenSSL");
    ERR_clear_error();
    msgsec_tlspsk_ctx_free(x);
    return nomem ? MSGSEC_ERR_NOMEM : MSGSEC_ERR_INVALID_ARG;
}
}

/* ---------------------------------------------------------- connection */

MSGSEC_SDK_EXPORT void msgsec_tlspsk_conn_free(msgsec_tlspsk_conn *c)
{
    if (!c)
        return;
    SSL_free(c->ssl);
    OPENSSL_cleanse(c->key, sizeof(c->key));
    OPENSSL_clear_free(c->ident, c->ident_cap);
    OPENSSL_free(c->hint);
    OPENSSL_free(c);
}

MSGSEC_SDK_EXPORT int msgsec_tlspsk_conn_new(msgsec_tlspsk_ctx *ctx,
                                             const msgsec_tlspsk_conn_config *cfg,
                                             msgsec_tlspsk_conn **out)
{
    if (!out)
        return MSGSEC_ERR_INVALID_ARG;
    *out = NULL;
    msgsec_tlspsk_conn_config k;
    memset(&k, 0, sizeof(k));
    if (!ctx || !cfg ||
        cfg->size < offsetof(msgsec_tlspsk_conn_config, detail))
        return MSGSEC_ERR_INVALID_ARG;
    memcpy(&k, cfg, cfg->size < sizeof(k) ? cfg->size : sizeof(k));
    if (!k.write ||
        (k.role != MSGSEC_ROLE_CLIENT && k.role != MSGSEC_ROLE_SERVER))
        return MSGSEC_ERR_INVALID_ARG;
    if (k.role == MSGSEC_ROLE_SERVER && !ctx->lookup)
        return MSGSEC_ERR_INVALID_ARG;
    if (k.role == MSGSEC_ROLE_CLIENT && !ctx->client_key &&
        (!k.identity || k.identity_len == 0 ||
         k.identity_len > MSGSEC_TLSPSK_MAX_IDENTITY || !k.key ||
         k.key_len == 0 || k.key_len > MSGSEC_TLSPSK_MAX_KEY))
        return MSGSEC_ERR_INVALID_ARG;

    msgsec_tlspsk_conn *c = OPENSSL_zalloc(sizeof(*c));
    if (!c)
        return MSGSEC_ERR_NOMEM;
    c->ctx = ctx;
    c->role = k.role;
    c->arg = k.arg;
    c->write = k.write;
    c->detail_fn = k.detail;
    c->alert_sent = c->alert_recv = -1;
    c->cipher = "";
    int rc = MSGSEC_ERR_NOMEM;
    if (k.role == MSGSEC_ROLE_CLIENT && !ctx->client_key) {
        if ((rc = set_ident(c, k.identity, k.identity_len)) < 0)
            goto err;
        memcpy(c->key, k.key, k.key_len);
        c->key_len = k.key_len;
    }
    BIO *bio = NULL;
    if (!(c->ssl = SSL_new(ctx->ssl)) || !(bio = BIO_new(ctx->bio)))
        goto err;
    BIO_set_data(bio, c);
    BIO_set_init(bio, 1);
    SSL_set_bio(c->ssl, bio, bio);
    SSL_set_app_data(c->ssl, c);
    if (k.role == MSGSEC_ROLE_CLIENT) {
        SSL_set_connect_state(c->ssl);
        /* PSK only: a certificate can never be accepted. */
        SSL_set_verify(c->ssl, SSL_VERIFY_PEER, NULL);
        if (k.server_name &&
            !SSL_set_tlsext_host_name(c->ssl, k.server_name)) {
            rc = MSGSEC_ERR_INVALID_ARG;
            goto err;
        }
    } else {
        SSL_set_accept_state(c->ssl);
    }
    *out = c;
    return 0;
err:
    ERR_clear_error();
    msgsec_tlspsk_conn_free(c);
    return rc;
}

/* Bytes a record of the negotiated suite adds to its plaintext. */
static size_t record_overhead(const SSL_CIPHER *ci, int version)
{
    const char *name = SSL_CIPHER_get_name(ci);
    int ccm8 = name && (strstr(name, "CCM_8") || strstr(name, "CCM8"));
    size_t tag = ccm8 ? 8 : 16;
    if (version >= TLS1_3_VERSION)
        return 5 + 1 + tag; /* header, inner content type, tag */
    if (SSL_CIPHER_is_aead(ci)) {
        if (SSL_CIPHER_get_cipher_nid(ci) == NID_chacha20_poly1305)
            return 5 + 16;
        return 5 + 8 + tag; /* explicit nonce */
    }
    /* CBC: explicit IV, MAC, padding of up to one block. */
    const EVP_MD *md = EVP_get_digestbynid(SSL_CIPHER_get_digest_nid(ci));
    size_t mac = md ? (size_t)EVP_MD_get_size(md) : 64;
    size_t block = SSL_CIPHER_get_cipher_nid(ci) == NID_des_ede3_cbc ? 8 : 16;
    return 5 + block + mac + block;
}

static int on_done(msgsec_tlspsk_conn *c)
{
    SSL *ssl = c->ssl;
    const SSL_CIPHER *ci = SSL_get_current_cipher(ssl);
    c->version = (uint16_t)SSL_version(ssl);
    if (!ci) {
        set_detail(c, "TLS handshake completed without a cipher suite");
        return fail(c, MSGSEC_ERR_INTERNAL);
    }
    /* Defensive: PSK only, whatever OpenSSL might have accepted. */
    if (!c->psk_used ||
        (c->version >= TLS1_3_VERSION && !SSL_session_reused(ssl))) {
        set_detail(c, "TLS handshake completed without the pre-shared key");
        return fail(c, MSGSEC_ERR_AUTH_FAILED);
    }
    c->cipher_id = SSL_CIPHER_get_protocol_id(ci);
    c->cipher = SSL_CIPHER_standard_name(ci);
    if (!c->cipher)
        c->cipher = SSL_CIPHER_get_name(ci);
    c->overhead = record_overhead(ci, c->version);
    if (c->version >= TLS1_3_VERSION) {
        /* Set when a key share was used (psk_dhe_ke), on both sides. */
        EVP_PKEY *pk = NULL;
        if (SSL_get_peer_tmp_key(ssl, &pk)) {
            c->forward_secrecy = 1;
            EVP_PKEY_free(pk);
        }
    } else {
        int kx = SSL_CIPHER_get_kx_nid(ci);
        c->forward_secrecy = kx == NID_kx_ecdhe_psk || kx == NID_kx_dhe_psk;
    }
    ERR_clear_error();
    /* The key is in OpenSSL's session now; ours is not needed any more. */
    OPENSSL_cleanse(c->key, sizeof(c->key));
    c->key_len = 0;
    c->state = ST_DONE;
    c->detail[0] = '\0'; /* notes of identities refused on the way */
    return MSGSEC_OK;
}

/*
 * TLS 1.2 server after ServerHelloDone: the PSK identity from the
 * ClientKeyExchange at the start of in (every PSK key exchange begins
 * with it, RFC 4279, 5489). Returns 0 (c->ident set, to be asked),
 * MSGSEC_CONTINUE (the record is not complete yet) or -1 (something else:
 * left to OpenSSL).
 */
static int read_cke(msgsec_tlspsk_conn *c, const uint8_t *in, size_t len)
{
    if (len < 5)
        return in && len > 0 && in[0] != 22 ? -1 : MSGSEC_CONTINUE;
    size_t rl = ((size_t)in[3] << 8) | in[4];
    if (in[0] != 22 || rl > 16384)
        return -1;
    if (len - 5 < rl)
        return MSGSEC_CONTINUE;
    const uint8_t *m = in + 5;
    if (rl < 6 || m[0] != 16)
        return -1;
    size_t ml = ((size_t)m[1] << 16) | ((size_t)m[2] << 8) | m[3];
    size_t il = ((size_t)m[4] << 8) | m[5];
    /* A message split over records, or an identity OpenSSL refuses. */
    if (ml > rl - 4 || il + 2 > ml || il > PSK_MAX_IDENTITY_LEN ||
        memchr(m + 6, 0, il))
        return -1;
    if (set_ident(c, m + 6, il) < 0)
        return -1;
    c->n_offered = 1;
    c->next_id = 0;
    c->sel = SEL_LOOKUP;
    return 0;
}

MSGSEC_SDK_EXPORT int msgsec_tlspsk_step(msgsec_tlspsk_conn *c,
                                         const uint8_t *in, size_t len,
                                         size_t *consumed)
{
    if (!c || !consumed || (!in && len))
        return MSGSEC_ERR_INVALID_ARG;
    *consumed = 0;
    if (c->state != ST_HANDSHAKE) {
        set_detail(c, c->state == ST_DONE ? "the handshake is complete"
                                          : "the connection has failed");
        return MSGSEC_ERR_STATE;
    }
    c->alert_sent_now = c->alert_recv_now = 0;
    c->write_rc = 0;
    ERR_clear_error();
    if (c->sel == SEL_LOOKUP && ask(c) == SEL_LOOKUP)
        return MSGSEC_PENDING; /* input stays with the caller */
    if (c->role == MSGSEC_ROLE_SERVER && c->sel == SEL_NONE &&
        SSL_version(c->ssl) == TLS1_2_VERSION &&
        SSL_get_state(c->ssl) == TLS_ST_SW_SRVR_DONE) {
        int rc = read_cke(c, in, len);
        if (rc == MSGSEC_CONTINUE)
            return rc; /* the whole record first */
        if (rc == 0 && ask(c) == SEL_LOOKUP)
            return MSGSEC_PENDING;
    }
    set_input(c, in, len);
    int rc;
    for (int round = 0;; round++) {
        int r = SSL_do_handshake(c->ssl);
        if (r == 1) {
            *consumed = c->in_pos;
            set_input(c, NULL, 0);
            return on_done(c);
        }
        int e = SSL_get_error(c->ssl, r);
        if (e == SSL_ERROR_WANT_CLIENT_HELLO_CB && round < MAX_ROUNDS) {
            if (c->sel == SEL_LOOKUP && (c->asked || ask(c) == SEL_LOOKUP)) {
                c->asked = 0;
                rc = MSGSEC_PENDING;
                break;
            }
            if (c->sel != SEL_LOOKUP)
                continue; /* answered: let OpenSSL go on */
        }
        if (e == SSL_ERROR_WANT_READ) {
            rc = MSGSEC_CONTINUE;
            break;
        }
        *consumed = c->in_pos;
        set_input(c, NULL, 0);
        return ssl_failure(c, 1, e);
    }
    *consumed = c->in_pos;
    set_input(c, NULL, 0);
    return rc;
}

MSGSEC_SDK_EXPORT int msgsec_tlspsk_wrap(msgsec_tlspsk_conn *c,
                                         const uint8_t *in, size_t len,
                                         uint8_t *out, size_t cap,
                                         size_t *out_len)
{
    if (!c || !out_len || (!in && len) || (!out && cap))
        return MSGSEC_ERR_INVALID_ARG;
    *out_len = 0;
    if (c->state != ST_DONE)
        return MSGSEC_ERR_STATE;
    if (c->closed_local)
        return MSGSEC_ERR_CLOSED;
    if (len > MSGSEC_TLSPSK_MAX_PLAINTEXT)
        return MSGSEC_ERR_MESSAGE_TOO_LARGE;
    if (len == 0)
        return 0;
    if (cap < len + c->overhead)
        return MSGSEC_ERR_BUFFER_TOO_SMALL;
    c->out = out;
    c->out_cap = cap;
    c->out_len = 0;
    c->write_rc = 0;
    size_t w = 0;
    int r = SSL_write_ex(c->ssl, in, len, &w);
    size_t n = c->out_len;
    c->out = NULL;
    if (r == 1 && w == len) {
        *out_len = n;
        return 0;
    }
    c->alert_sent_now = c->alert_recv_now = 0;
    int e = SSL_get_error(c->ssl, r);
    if (e == SSL_ERROR_WANT_WRITE) {
        ERR_clear_error();
        set_detail(c, "a record did not fit the output buffer");
        return fail(c, MSGSEC_ERR_INTERNAL);
    }
    return ssl_failure(c, 0, e);
}

MSGSEC_SDK_EXPORT int msgsec_tlspsk_unwrap(msgsec_tlspsk_conn *c,
                                           const uint8_t *in, size_t len,
                                           size_t *consumed, uint8_t *out,
                                           size_t cap, size_t *out_len,
                                           unsigned *flags)
{
    if (!c || !consumed || !out_len || !flags || (!in && len) ||
        (!out && cap))
        return MSGSEC_ERR_INVALID_ARG;
    *consumed = 0;
    *out_len = 0;
    *flags = 0;
    if (c->state != ST_DONE)
        return MSGSEC_ERR_STATE;
    if (c->closed_peer)
        return MSGSEC_ERR_CLOSED;
    if (cap == 0)
        return MSGSEC_ERR_BUFFER_TOO_SMALL;
    c->alert_sent_now = c->alert_recv_now = 0;
    c->write_rc = 0;
    set_input(c, in, len);
    size_t n = 0;
    int r = SSL_read_ex(c->ssl, out, cap, &n);
    int starved = c->starved;
    *consumed = c->in_pos;
    set_input(c, NULL, 0);
    if (r == 1) {
        *out_len = n;
        return 0;
    }
    /*
     * Decided without SSL_get_error(), which reads the thread's error
     * queue (where other code may have left errors) and would cost a
     * clear of that queue on every record: OpenSSL returns as soon as our
     * BIO runs dry, and a close_notify sets the shutdown flag.
     */
    if (starved && c->write_rc == 0 && !c->alert_sent_now)
        return MSGSEC_CONTINUE;
    if ((SSL_get_shutdown(c->ssl) & SSL_RECEIVED_SHUTDOWN) &&
        c->alert_recv_now && c->alert_recv == 0) {
        c->closed_peer = 1;
        *flags = MSGSEC_TLSPSK_CLOSED;
        ERR_clear_error();
        return 0;
    }
    return ssl_failure(c, 0, SSL_get_error(c->ssl, r));
}

MSGSEC_SDK_EXPORT int msgsec_tlspsk_limits(const msgsec_tlspsk_conn *c,
                                           size_t *overhead,
                                           size_t *max_plaintext)
{
    if (!c || !overhead || !max_plaintext)
        return MSGSEC_ERR_INVALID_ARG;
    if (c->state != ST_DONE)
        return MSGSEC_ERR_STATE;
    *overhead = c->overhead;
    *max_plaintext = MSGSEC_TLSPSK_MAX_PLAINTEXT;
    return 0;
}

MSGSEC_SDK_EXPORT int msgsec_tlspsk_export(msgsec_tlspsk_conn *c,
                                           const char *label,
                                           const uint8_t *context,
                                           size_t context_len, uint8_t *out,
                                           size_t out_len)
{
    if (!c || !label || !out || out_len == 0 || (!context && context_len))
        return MSGSEC_ERR_INVALID_ARG;
    if (c->state != ST_DONE)
        return MSGSEC_ERR_STATE;
    if (!SSL_export_keying_material(c->ssl, out, out_len, label,
                                    strlen(label), context, context_len,
                                    context != NULL)) {
        ERR_clear_error();
        OPENSSL_cleanse(out, out_len);
        set_detail(c, "keying material export refused (label \"%.64s\", "
                      "%zu bytes)", label, out_len);
        return MSGSEC_ERR_INVALID_ARG;
    }
    return 0;
}

MSGSEC_SDK_EXPORT int msgsec_tlspsk_close(msgsec_tlspsk_conn *c)
{
    if (!c)
        return MSGSEC_ERR_INVALID_ARG;
    if (c->state != ST_DONE)
        return MSGSEC_ERR_STATE;
    if (c->closed_local)
        return 0;
    c->write_rc = 0;
    int r = SSL_shutdown(c->ssl);
    c->closed_local = 1;
    if (r < 0 || c->write_rc < 0) {
        int rc = c->write_rc < 0 ? c->write_rc : MSGSEC_ERR_INTERNAL;
        ERR_clear_error();
        set_detail(c, "close_notify could not be sent");
        if (c->detail_fn)
            c->detail_fn(c->arg, c->detail);
        return rc;
    }
    return 0;
}

MSGSEC_SDK_EXPORT int msgsec_tlspsk_get_info(const msgsec_tlspsk_conn *c,
                                             msgsec_tlspsk_info *info)
{
    if (!c || !info)
        return MSGSEC_ERR_INVALID_ARG;
    memset(info, 0, sizeof(*info));
    info->role = c->role;
    info->done = c->state == ST_DONE;
    info->version = c->version;
    info->cipher_id = c->cipher_id;
    info->cipher = c->cipher;
    if (info->done || c->role == MSGSEC_ROLE_CLIENT) {
        info->identity = (const char *)c->ident;
        info->identity_len = c->ident_len;
    }
    info->forward_secrecy = c->forward_secrecy;
    info->hint = c->hint;
    if (c->role == MSGSEC_ROLE_SERVER && info->done)
        info->server_name =
            SSL_get_servername(c->ssl, TLSEXT_NAMETYPE_host_name);
    info->alert_sent = c->alert_sent;
    info->alert_received = c->alert_recv;
    return 0;
}

MSGSEC_SDK_EXPORT const char *msgsec_tlspsk_detail(const msgsec_tlspsk_conn *c)
{
    return c ? c->detail : "";
}
