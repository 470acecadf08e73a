/*
 * tlsprov.c - the provider ops of a TLS-PSK provider on the engine. See
 * <msgsec/tlsprov.h> for the convention: the per-session state begins
 * with a msgsec_tlsprov_session.
 */
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include <openssl/crypto.h>

#include "msgsec/tlsprov.h"

/* The state pointer of every op is the msgsec_tlsprov_session. */
#define SESSION(state) ((msgsec_tlsprov_session *)(state))

MSGSEC_SDK_EXPORT int msgsec_tlsprov_begin(msgsec_tlsprov_session *s,
                                           const msgsec_upcalls *up,
                                           msgsec_psession *ps,
                                           msgsec_tlspsk_conn_config *cc)
{
    s->up = up;
    s->ps = ps;
    s->conn = NULL;
    s->wrote = 0;
    s->fail_rc = 0;
    s->fail[0] = '\0';
    s->role = up->session_role(ps);
    memset(cc, 0, sizeof(*cc));
    cc->size = sizeof(*cc);
    cc->role = s->role;
    cc->arg = s;
    cc->write = msgsec_tlsprov_write;
    cc->detail = msgsec_tlsprov_detail;
    return s->role;
}

MSGSEC_SDK_EXPORT void msgsec_tlsprov_attach(msgsec_tlsprov_session *s,
                                             const msgsec_upcalls *up,
                                             msgsec_psession *ps, int role)
{
    s->up = up;
    s->ps = ps;
    s->role = role;
    s->fail_rc = 0;
    s->fail[0] = '\0';
}

MSGSEC_SDK_EXPORT int msgsec_tlsprov_connect(
    msgsec_tlsprov_session *s, msgsec_tlspsk_ctx *ctx,
    const msgsec_tlspsk_conn_config *cc)
{
    int rc = msgsec_tlspsk_conn_new(ctx, cc, &s->conn);
    if (rc < 0)
        s->up->session_detail(s->ps, "cannot create the TLS connection");
    return rc;
}

MSGSEC_SDK_EXPORT int msgsec_tlsprov_write(void *arg, const void *p, size_t n)
{
    msgsec_tlsprov_session *s = arg;
    s->wrote += n;
    return s->up->session_write(s->ps, p, n);
}

MSGSEC_SDK_EXPORT void msgsec_tlsprov_detail(void *arg, const char *detail)
{
    msgsec_tlsprov_session *s = arg;
    s->up->session_detail(s->ps, "%s", detail);
}

MSGSEC_SDK_EXPORT int msgsec_tlsprov_fail(msgsec_tlsprov_session *s, int rc,
                                          const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(s->fail, sizeof(s->fail), fmt, ap);
    va_end(ap);
    s->fail_rc = rc;
    return rc;
}

MSGSEC_SDK_EXPORT int msgsec_tlsprov_refuse(msgsec_tlsprov_session *s,
                                            msgsec_pctx *pc, int rc,
                                            const char *what)
{
    s->up->session_detail(s->ps, "%s", s->fail);
    if (what)
        s->up->log(pc, MSGSEC_LOG_INFO, "%s: %s", what, s->fail);
    return rc;
}

MSGSEC_SDK_EXPORT void msgsec_tlsprov_wake(void *arg)
{
    msgsec_tlsprov_session *s = arg;
    s->up->session_wake(s->ps);
}

MSGSEC_SDK_EXPORT int msgsec_tlsprov_step_report(msgsec_tlsprov_session *s,
                                                 msgsec_pctx *pc,
                                                 const uint8_t *in,
                                                 size_t len, size_t *consumed,
                                                 const char *peer_kind,
                                                 const char *peer,
                                                 msgsec_tlspsk_info *info)
{
    s->fail_rc = 0;
    s->fail[0] = '\0';
    int rc = msgsec_tlspsk_step(s->conn, in, len, consumed);
    if (rc >= 0)
        return rc;
    msgsec_tlspsk_get_info(s->conn, info);
    if (s->role != MSGSEC_ROLE_SERVER)
        return rc;
    if (s->fail_rc < 0 && rc == s->fail_rc) {
        s->up->session_detail(s->ps, "%s (alert %s sent)", s->fail,
                              info->alert_sent >= 0
                                  ? msgsec_tlsprov_alert_name(info->alert_sent)
                                  : "none");
        s->up->log(pc, MSGSEC_LOG_INFO, "handshake refused: %s", s->fail);
    } else if (peer && peer[0]) {
        s->up->log(pc, MSGSEC_LOG_INFO, "handshake with %s %s failed: %s",
                   peer_kind, peer, msgsec_tlspsk_detail(s->conn));
    }
    return rc;
}

MSGSEC_SDK_EXPORT int msgsec_tlsprov_step(void *pdata, void *state,
                                          const uint8_t *in, size_t len,
                                          size_t *consumed)
{
    (void)pdata;
    return msgsec_tlspsk_step(SESSION(state)->conn, in, len, consumed);
}

MSGSEC_SDK_EXPORT int msgsec_tlsprov_peer(const msgsec_tlsprov_session *s,
                                          msgsec_peer *peer,
                                          msgsec_tlspsk_info *info)
{
    msgsec_tlspsk_info own;
    if (!info)
        info = &own;
    int rc = msgsec_tlspsk_get_info(s->conn, info);
    if (rc < 0)
        return rc;
    if (!info->done)
        return MSGSEC_ERR_STATE;
    memset(peer, 0, sizeof(*peer));
    peer->caps = MSGSEC_CAP_MUTUAL_AUTH | MSGSEC_CAP_CONFIDENTIALITY |
                 MSGSEC_CAP_INTEGRITY | MSGSEC_CAP_REPLAY_DETECTION |
                 MSGSEC_CAP_KEY_EXPORT |
                 (info->forward_secrecy ? MSGSEC_CAP_FORWARD_SECRECY : 0);
    return 0;
}

MSGSEC_SDK_EXPORT int msgsec_tlsprov_result(void *pdata, void *state,
                                            msgsec_peer *peer)
{
    (void)pdata;
    const msgsec_tlsprov_session *s = SESSION(state);
    msgsec_tlspsk_info info;
    int rc = msgsec_tlsprov_peer(s, peer, &info);
    if (rc < 0)
        return rc;
    peer->identity = s->role == MSGSEC_ROLE_SERVER
                         ? info.identity
                         : s->up->session_peer_name(s->ps);
    return 0;
}

MSGSEC_SDK_EXPORT int msgsec_tlsprov_export_key(void *pdata, void *state,
                                                const char *label,
                                                const uint8_t *context,
                                                size_t context_len,
                                                uint8_t *out, size_t out_len)
{
    (void)pdata;
    return msgsec_tlspsk_export(SESSION(state)->conn, label, context,
                                context_len, out, out_len);
}

MSGSEC_SDK_EXPORT int msgsec_tlsprov_wrap(void *pdata, void *state,
                                          const uint8_t *in, size_t len,
                                          uint8_t *out, size_t cap,
                                          size_t *out_len)
{
    (void)pdata;
    return msgsec_tlspsk_wrap(SESSION(state)->conn, in, len, out, cap,
                              out_len);
}

MSGSEC_SDK_EXPORT int msgsec_tlsprov_unwrap(void *pdata, void *state,
                                            const uint8_t *in, size_t len,
                                            size_t *consumed, uint8_t *out,
                                            size_t cap, size_t *out_len,
                                            unsigned *flags)
{
    (void)pdata;
    return msgsec_tlspsk_unwrap(SESSION(state)->conn, in, len, consumed, out,
                                cap, out_len, flags);
}

MSGSEC_SDK_EXPORT int msgsec_tlsprov_limits(void *pdata, void *state,
                                            size_t *overhead,
                                            size_t *max_record)
{
    (void)pdata;
    return msgsec_tlspsk_limits(SESSION(state)->conn, overhead, max_record);
}

MSGSEC_SDK_EXPORT int msgsec_tlsprov_close(void *pdata, void *state)
{
    (void)pdata;
    return msgsec_tlspsk_close(SESSION(state)->conn);
}

MSGSEC_SDK_EXPORT void msgsec_tlsprov_end(void *pdata, void *state)
{
    (void)pdata;
    msgsec_tlsprov_session *s = SESSION(state);
    msgsec_tlspsk_conn_free(s->conn);
    s->conn = NULL;
}

MSGSEC_SDK_EXPORT int msgsec_tlsprov_hex_key(const char *s, size_t len,
                                             uint8_t *out, size_t cap,
                                             size_t *out_len)
{
    if (len == 0 || len % 2 || len / 2 > cap)
        return MSGSEC_ERR_INVALID_ARG;
    for (size_t i = 0; i < len / 2; i++) {
        int hi = OPENSSL_hexchar2int((unsigned char)s[2 * i]);
        int lo = OPENSSL_hexchar2int((unsigned char)s[2 * i + 1]);
        if (hi < 0 || lo < 0) {
            OPENSSL_cleanse(out, len / 2);
            return MSGSEC_ERR_INVALID_ARG;
        }
        out[i] = (uint8_t)(hi << 4 | lo);
    }
    *out_len = len / 2;
    return 0;
}

MSGSEC_SDK_EXPORT unsigned msgsec_tlsprov_versions(
    const msgsec_tlspsk_config *cfg)
{
    uint16_t lo = cfg->min_version ? cfg->min_version : MSGSEC_TLSPSK_TLS1_3;
    uint16_t hi = cfg->max_version ? cfg->max_version : MSGSEC_TLSPSK_TLS1_3;
    unsigned v = 0;
    if (lo <= MSGSEC_TLSPSK_TLS1_3 && hi >= MSGSEC_TLSPSK_TLS1_3)
        v |= MSGSEC_TLSPROV_TLS13;
    if (lo <= MSGSEC_TLSPSK_TLS1_2 && hi >= MSGSEC_TLSPSK_TLS1_2)
        v |= MSGSEC_TLSPROV_TLS12;
    return v;
}

MSGSEC_SDK_EXPORT int msgsec_tlsprov_claim_match(const msgsec_upcalls *up,
                                                 msgsec_pctx *pc,
                                                 const uint8_t *tok,
                                                 size_t len, unsigned versions,
                                                 msgsec_tlsprov_match_fn match,
                                                 void *arg)
{
    msgsec_tlspsk_hello *h = up->alloc(pc, sizeof(*h));
    if (!h)
        return MSGSEC_ERR_NOMEM;
    int rc = msgsec_tlspsk_client_hello(tok, len, h), mine = 0;
    if (rc == 0) {
        if ((versions & MSGSEC_TLSPROV_TLS13) && h->offers_tls13 &&
            h->has_psk) {
            for (size_t i = 0; i < h->n_stored && !mine; i++)
                mine = match(arg, h->identities[i].p, h->identities[i].len);
        } else if ((versions & MSGSEC_TLSPROV_TLS12) && h->offers_psk12) {
            mine = 1;
        }
    }
    /* The identities were copied into h: wiped with it. */
    up->free(pc, h, sizeof(*h));
    if (rc == MSGSEC_CONTINUE)
        return MSGSEC_CLAIM_MORE;
    if (rc == MSGSEC_ERR_NOMEM)
        return rc;
    return mine ? MSGSEC_CLAIM_MINE : MSGSEC_CLAIM_NOT_MINE;
}

static int match_prefix(void *arg, const uint8_t *id, size_t len)
{
    const char *prefix = arg;
    size_t n = strlen(prefix);
    return len > n && memcmp(id, prefix, n) == 0;
}

MSGSEC_SDK_EXPORT int msgsec_tlsprov_claim_prefix(const msgsec_upcalls *up,
                                                  msgsec_pctx *pc,
                                                  const uint8_t *tok,
                                                  size_t len,
                                                  unsigned versions,
                                                  const char *prefix)
{
    return msgsec_tlsprov_claim_match(up, pc, tok, len, versions,
                                      match_prefix, (void *)prefix);
}

MSGSEC_SDK_EXPORT const char *msgsec_tlsprov_alert_name(int alert)
{
    switch (alert) {
    case 0: return "close_notify";
    case 10: return "unexpected_message";
    case 20: return "bad_record_mac";
    case 40: return "handshake_failure";
    case 47: return "illegal_parameter";
    case 50: return "decode_error";
    case 51: return "decrypt_error";
    case 70: return "protocol_version";
    case 71: return "insufficient_security";
    case 80: return "internal_error";
    case 109: return "missing_extension";
    case 115: return "unknown_psk_identity";
    default: return "another alert";
    }
}
