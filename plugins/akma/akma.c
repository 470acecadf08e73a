/*
 * akma.c - the AKMA provider (TS 33.535): TLS with K_AF as the pre-shared
 * key between a UE (client) and an AKMA AF such as the MSGin5G Server.
 *
 * UE:  K_AKMA and the A-KID come from policy (derived from K_AUSF and the
 *      SUPI, or provisioned as such). For each connection K_AF is derived
 *      for the server's FQDN and the Ua* identifier of the TLS version in
 *      use; the PSK identity is "3GPP-AKMA" followed by the A-KID.
 * AF:  claims ClientHellos offering an AKMA identity; fetches K_AF from the
 *      AAnF (Naanf_AKMA_ApplicationKey_Get, or the NEF's 3gpp-akma
 *      retrieve) through the SDK's HTTP client without blocking (the
 *      session is pending meanwhile) and caches it per (A-KID, afId) until
 *      its expiry (<msgsec/keycache.h>).
 *
 * The TLS work is the SDK's engine (<msgsec/tlspsk.h>); this file supplies
 * keys, maps failures to their own codes and reports the peer. Only the
 * provider ABI and the SDK are used. Policy keys: see akma_keys[] and
 * msgsec-akma(7).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <openssl/crypto.h>

#include <msgsec/aanf.h>
#include <msgsec/akma_keys.h>
#include <msgsec/http.h>
#include <msgsec/kdf.h>
#include <msgsec/keycache.h>
#include <msgsec/provcfg.h>
#include <msgsec/provider.h>
#include <msgsec/tlsprov.h>
#include <msgsec/tlspsk.h>


#define AKMA_VERSION "1.0"
/* TS 33.535 Annex B: the PSK identity prefix and the TLS 1.2 hint. */
#define AKMA_PREFIX "3GPP-AKMA"
#define AKMA_PREFIX_LEN (sizeof(AKMA_PREFIX) - 1)
#define AKMA_IDENTITY_MAX (AKMA_PREFIX_LEN + MSGSEC_AKID_MAX_LEN)

#define DEFAULT_CACHE_SIZE 10000
#define MAX_TIMEOUT_MS 600000L

typedef struct akma_pd {
    const msgsec_upcalls *up;
    msgsec_pctx *pc;
    msgsec_kdf *kdf;
    msgsec_akid_settings akid_set;
    msgsec_aanf_settings aanf_set;
    msgsec_tlspsk_ctx *tls;
    msgsec_provcfg_tls tlsset; /* its tls12_cipher is Ua* of TLS 1.2 */
    char af_fqdn[MSGSEC_AKMA_FQDN_MAX + 1];

    /* UE role. */
    int ue;
    uint8_t k_akma[MSGSEC_AKMA_KEY_LEN];
    char identity[AKMA_IDENTITY_MAX + 1]; /* "3GPP-AKMA" + A-KID */
    size_t identity_len;

    /* AF role. */
    int af;
    int nef;
    char url[MSGSEC_HTTP_MAX_URL];
    long timeout_ms;
    char afid13[MSGSEC_AANF_AFID_MAX + 1];
    char afid12[MSGSEC_AANF_AFID_MAX + 1];
    msgsec_http_client *http;
    msgsec_keycache *cache;
} akma_pd;

/* Begins with the SDK's session part (<msgsec/tlsprov.h>): connection,
 * psession, role, bytes sent to the peer so far, the look-up failure. */
typedef struct akma_st {
    msgsec_tlsprov_session tls;
    akma_pd *pd;
    /* UE: the AF's FQDN. */
    char fqdn[MSGSEC_AKMA_FQDN_MAX + 1];
    /* AF: the A-KID asked for and what the AAnF said of it. */
    msgsec_keycache_waiter w;
    char akid[MSGSEC_AKID_MAX_LEN + 1];
    int64_t expiry;
    char supi[MSGSEC_AANF_ID_MAX + 1];
    char gpsi[MSGSEC_AANF_ID_MAX + 1];
} akma_st;

static const char *const akma_keys[] = {
    /* both roles */
    "af_fqdn", "tls12", "tls12_cipher", "allow_psk_ke",
    MSGSEC_AKID_KEY_SEPARATOR, MSGSEC_AKID_KEY_ATID_ENCODING,
    /* UE */
    "kausf", "kausf_file", "supi", "rid", "mcc", "mnc", "kakma", "kakma_file",
    "akid",
    /* AF */
    "aanf_uri", "nef_uri", "http_version", "aanf_timeout_ms",
    "aanf_connect_timeout_ms", "cache_size", MSGSEC_AANF_KEY_KEY_ENCODING,
    MSGSEC_AANF_KEY_AFID_FORMAT, "aanf_ca_file", "aanf_cert_file",
    "aanf_key_file", NULL};

/* ------------------------------------------------------------ config */

static int all_digits(const char *s, size_t min, size_t max)
{
    size_t n = strlen(s);
    if (n < min || n > max)
        return 0;
    for (size_t i = 0; i < n; i++)
        if (s[i] < '0' || s[i] > '9')
            return 0;
    return 1;
}

static const char *where(const akma_pd *pd, const char *key)
{
    return pd->up->config_where(pd->pc, key);
}

/* A "key at FILE:LINE: ..." init failure. */
#define bad(pd, code, key, ...)                                                \
    msgsec_provcfg_fail((pd)->up, (pd)->pc, code, key, __VA_ARGS__)

/* A 32-byte key from `name` (inline hex) or `name`_file. 1 when present,
 * 0 when absent, < 0 on error. */
static int get_key(akma_pd *pd, const char *name, uint8_t out[32])
{
    return msgsec_provcfg_hex_key(pd->up, pd->pc, name, out, 32);
}

static int config_tls(akma_pd *pd, msgsec_tlspsk_config *cfg)
{
    return msgsec_provcfg_tls_settings(pd->up, pd->pc, cfg, &pd->tlsset);
}

static int config_akid_settings(akma_pd *pd)
{
    msgsec_akid_settings_default(&pd->akid_set);
    static const char *const keys[] = {MSGSEC_AKID_KEY_SEPARATOR,
                                       MSGSEC_AKID_KEY_ATID_ENCODING};
    for (size_t i = 0; i < 2; i++) {
        const char *v = pd->up->config(pd->pc, keys[i]), *why = "";
        if (v && msgsec_akid_settings_set(&pd->akid_set, keys[i], v, &why))
            return bad(pd, MSGSEC_ERR_POLICY_BAD_VALUE, keys[i], "%s",
                       why ? why : "invalid value");
    }
    return 0;
}

static int set_identity(akma_pd *pd, const char *akid, size_t len)
{
    memcpy(pd->identity, AKMA_PREFIX, AKMA_PREFIX_LEN);
    memcpy(pd->identity + AKMA_PREFIX_LEN, akid, len);
    pd->identity[AKMA_PREFIX_LEN + len] = '\0';
    pd->identity_len = AKMA_PREFIX_LEN + len;
    return 0;
}

/* The key that gave a key value: name or name_file. */
static const char *key_given(const akma_pd *pd, const char *name,
                             const char *file_key)
{
    return pd->up->config(pd->pc, name) ? name : file_key;
}

/* The UE role: K_AKMA and the A-KID. */
static int config_ue(akma_pd *pd)
{
    const msgsec_upcalls *up = pd->up;
    uint8_t k_ausf[MSGSEC_AKMA_KEY_LEN];
    int has_ausf = get_key(pd, "kausf", k_ausf);
    if (has_ausf < 0)
        return has_ausf;
    int has_akma = get_key(pd, "kakma", pd->k_akma);
    if (has_akma < 0) {
        OPENSSL_cleanse(k_ausf, sizeof(k_ausf));
        return has_akma;
    }
    int rc = 0;
    const char *supi = up->config(pd->pc, "supi");
    const char *rid = up->config(pd->pc, "rid");
    const char *mcc = up->config(pd->pc, "mcc");
    const char *mnc = up->config(pd->pc, "mnc");
    const char *akid = up->config(pd->pc, "akid");
    if (has_ausf && has_akma) {
        rc = bad(pd, MSGSEC_ERR_POLICY_BAD_VALUE,
                 key_given(pd, "kakma", "kakma_file"),
                 "K_AKMA is derived from K_AUSF (at %s): give one of them",
                 where(pd, key_given(pd, "kausf", "kausf_file")));
    } else if (has_ausf) {
        const char *missing = !supi ? "supi" : !rid ? "rid" : !mcc ? "mcc"
                            : !mnc  ? "mnc"  : NULL;
        const char *v;
        size_t vlen, alen;
        uint8_t a_tid[MSGSEC_AKMA_A_TID_LEN];
        char buf[MSGSEC_AKID_MAX_LEN + 1];
        if (missing)
            rc = bad(pd, MSGSEC_ERR_POLICY_BAD_VALUE,
                     key_given(pd, "kausf", "kausf_file"),
                     "deriving K_AKMA and the A-KID also needs %s", missing);
        else if (akid)
            rc = bad(pd, MSGSEC_ERR_POLICY_BAD_VALUE, "akid",
                     "the A-KID is derived from K_AUSF: drop akid, or give "
                     "kakma instead of kausf");
        else if (msgsec_akma_supi_value(supi, strlen(supi), &v, &vlen))
            rc = bad(pd, MSGSEC_ERR_POLICY_BAD_VALUE, "supi",
                     "\"%s\": empty, too long, or imsi- not followed by 5 to "
                     "15 digits", supi);
        else if (!all_digits(rid, 1, MSGSEC_AKID_RID_MAX))
            rc = bad(pd, MSGSEC_ERR_POLICY_BAD_VALUE, "rid",
                     "\"%s\": 1 to 4 digits expected", rid);
        else if (!all_digits(mcc, 3, 3))
            rc = bad(pd, MSGSEC_ERR_POLICY_BAD_VALUE, "mcc",
                     "\"%s\": 3 digits expected", mcc);
        else if (!all_digits(mnc, 2, 3))
            rc = bad(pd, MSGSEC_ERR_POLICY_BAD_VALUE, "mnc",
                     "\"%s\": 2 or 3 digits expected", mnc);
        else if (msgsec_akma_derive_k_akma(pd->kdf, k_ausf, sizeof(k_ausf),
                                           supi, strlen(supi),
                                           pd->k_akma) != 0 ||
                 msgsec_akma_derive_a_tid(pd->kdf, k_ausf, sizeof(k_ausf),
                                          supi, strlen(supi), a_tid) != 0 ||
                 msgsec_akid_build(&pd->akid_set, rid, strlen(rid), a_tid,
                                   mcc, strlen(mcc), mnc, strlen(mnc), buf,
                                   sizeof(buf), &alen) != 0)
            rc = bad(pd, MSGSEC_ERR_PROVIDER_INIT,
                     key_given(pd, "kausf", "kausf_file"),
                     "deriving K_AKMA and the A-KID failed");
        else
            rc = set_identity(pd, buf, alen);
        OPENSSL_cleanse(a_tid, sizeof(a_tid));
    } else if (has_akma) {
        const char *why = NULL;
        msgsec_akid_parts parts;
        if (!akid)
            rc = bad(pd, MSGSEC_ERR_POLICY_BAD_VALUE,
                     key_given(pd, "kakma", "kakma_file"),
                     "a provisioned K_AKMA needs its akid");
        else if (msgsec_akid_parse(akid, strlen(akid), &pd->akid_set, &parts,
                                   &why) != 0)
            rc = bad(pd, MSGSEC_ERR_POLICY_BAD_VALUE, "akid",
                     "\"%s\" is not an A-KID (username@realm): %s", akid,
                     why ? why : "malformed");
        else
            rc = set_identity(pd, akid, strlen(akid));
    } else {
        const char *stray = supi ? "supi" : rid ? "rid" : mcc ? "mcc"
                          : mnc ? "mnc" : akid ? "akid" : NULL;
        if (stray)
            rc = bad(pd, MSGSEC_ERR_POLICY_BAD_VALUE, stray,
                     "the UE role needs kausf (or kausf_file) or kakma (or "
                     "kakma_file)");
    }
    OPENSSL_cleanse(k_ausf, sizeof(k_ausf));
    if (rc < 0) {
        OPENSSL_cleanse(pd->k_akma, sizeof(pd->k_akma));
        return rc;
    }
    pd->ue = has_ausf || has_akma;
    return 0;
}

/* The AF role: the AAnF client and the cache. */
static int af_fetch(void *arg, void *token, const char *akid,
                    const char *afid, void **handle, char *detail,
                    size_t detail_len);
static void af_abandon(void *arg, void *handle);

static int config_af(akma_pd *pd)
{
    const msgsec_upcalls *up = pd->up;
    const char *aanf = up->config(pd->pc, "aanf_uri");
    const char *nef = up->config(pd->pc, "nef_uri");
    if (!aanf && !nef)
        return 0;
    if (aanf && nef)
        return bad(pd, MSGSEC_ERR_POLICY_BAD_VALUE, "nef_uri",
                   "give aanf_uri or nef_uri, not both (aanf_uri is at %s)",
                   where(pd, "aanf_uri"));
    const char *ukey = aanf ? "aanf_uri" : "nef_uri";
    pd->nef = !aanf;
    if (msgsec_aanf_url(aanf ? aanf : nef,
                        aanf ? MSGSEC_AANF_PATH_RETRIEVE
                             : MSGSEC_NEF_PATH_RETRIEVE,
                        pd->url, sizeof(pd->url)) != 0)
        return bad(pd, MSGSEC_ERR_POLICY_BAD_VALUE, ukey,
                   "\"%s\": an http:// or https:// apiRoot expected (no "
                   "query, fragment or blank)",
                   aanf ? aanf : nef);
    if (!pd->af_fqdn[0])
        return bad(pd, MSGSEC_ERR_POLICY_BAD_VALUE, ukey,
                   "the AF role needs af_fqdn, the FQDN UEs derive K_AF for");

    msgsec_aanf_settings_default(&pd->aanf_set);
    static const char *const skeys[] = {MSGSEC_AANF_KEY_KEY_ENCODING,
                                        MSGSEC_AANF_KEY_AFID_FORMAT};
    for (size_t i = 0; i < 2; i++) {
        const char *v = up->config(pd->pc, skeys[i]), *why = NULL;
        if (v && msgsec_aanf_settings_set(&pd->aanf_set, skeys[i], v, &why))
            return bad(pd, MSGSEC_ERR_POLICY_BAD_VALUE, skeys[i], "%s",
                       why ? why : "invalid value");
    }
    uint8_t ua[MSGSEC_AKMA_UA_ID_LEN];
    size_t n;
    msgsec_akma_ua_id_tls13(ua);
    if (pd->tlsset.mode != MSGSEC_PROVCFG_TLS12 &&
        msgsec_aanf_afid_build(&pd->aanf_set, pd->af_fqdn,
                               strlen(pd->af_fqdn), ua, pd->afid13,
                               sizeof(pd->afid13), &n) != 0)
        return bad(pd, MSGSEC_ERR_POLICY_BAD_VALUE, "af_fqdn",
                   "\"%s\" cannot be written as an afId", pd->af_fqdn);
    msgsec_akma_ua_id_tls12(pd->tlsset.tls12_cipher, ua);
    if (pd->tlsset.mode != MSGSEC_PROVCFG_TLS13) {
        int rc = msgsec_aanf_afid_build(&pd->aanf_set, pd->af_fqdn,
                                        strlen(pd->af_fqdn), ua, pd->afid12,
                                        sizeof(pd->afid12), &n);
        if (rc == MSGSEC_ERR_UNSUPPORTED)
            return bad(pd, MSGSEC_ERR_POLICY_BAD_VALUE,
                       MSGSEC_AANF_KEY_AFID_FORMAT,
                       "the afId format fqdn cannot carry the TLS 1.2 Ua* "
                       "identifier: use fqdn-ua, or tls12 = no");
        if (rc != 0)
            return bad(pd, MSGSEC_ERR_POLICY_BAD_VALUE, "af_fqdn",
                       "\"%s\" cannot be written as an afId", pd->af_fqdn);
    }

    msgsec_http_config hc;
    memset(&hc, 0, sizeof(hc));
    hc.size = sizeof(hc);
    const char *v = up->config(pd->pc, "http_version");
    if (v && msgsec_http_version_from_name(v, &hc.version) != 0)
        return bad(pd, MSGSEC_ERR_POLICY_BAD_VALUE, "http_version",
                   "\"%s\": 2-prior-knowledge, 2 or 1.1 expected", v);
    long cache_size = DEFAULT_CACHE_SIZE;
    int rc;
    if ((rc = msgsec_provcfg_number(up, pd->pc, "aanf_timeout_ms", 1,
                                    MAX_TIMEOUT_MS, &hc.timeout_ms)) < 0 ||
        (rc = msgsec_provcfg_number(up, pd->pc, "aanf_connect_timeout_ms", 1,
                                    MAX_TIMEOUT_MS,
                                    &hc.connect_timeout_ms)) < 0 ||
        (rc = msgsec_provcfg_number(up, pd->pc, "cache_size",
                                    MSGSEC_KEYCACHE_MIN, MSGSEC_KEYCACHE_MAX,
                                    &cache_size)) < 0)
        return rc;
    pd->timeout_ms =
        hc.timeout_ms ? hc.timeout_ms : MSGSEC_HTTP_DEFAULT_TIMEOUT_MS;
    hc.ca_file = up->config(pd->pc, "aanf_ca_file");
    hc.cert_file = up->config(pd->pc, "aanf_cert_file");
    hc.key_file = up->config(pd->pc, "aanf_key_file");
    if (!hc.cert_file != !hc.key_file)
        return bad(pd, MSGSEC_ERR_POLICY_BAD_VALUE,
                   hc.cert_file ? "aanf_cert_file" : "aanf_key_file",
                   "a client certificate needs both aanf_cert_file and "
                   "aanf_key_file");
    char detail[256] = "";
    rc = msgsec_http_client_new(&hc, &pd->http, detail, sizeof(detail));
    if (rc < 0)
        return bad(pd, rc == MSGSEC_ERR_INVALID_ARG
                           ? MSGSEC_ERR_POLICY_BAD_VALUE
                           : rc,
                   ukey, "the AAnF client cannot be set up: %s", detail);

    msgsec_keycache_ops ops = {.arg = pd,
                               .fetch = af_fetch,
                               .abandon = af_abandon,
                               .up = up,
                               .pc = pd->pc};
    rc = msgsec_keycache_new(&ops, (size_t)cache_size, NULL, &pd->cache);
    if (rc < 0) {
        up->set_detail(pd->pc, "cannot create the K_AF cache (%ld entries)",
                       cache_size);
        return rc;
    }
    pd->af = 1;
    return 0;
}

/* ------------------------------------------------------- AAnF fetch */

typedef struct fetch_ctx {
    akma_pd *pd;
    void *token;
    msgsec_http_request *req;
    char akid[MSGSEC_AKID_MAX_LEN + 1];
} fetch_ctx;

static const char *const json_headers[] = {
    "Content-Type: " MSGSEC_AANF_MEDIA_JSON,
    "Accept: " MSGSEC_AANF_MEDIA_JSON ", " MSGSEC_AANF_MEDIA_PROBLEM, NULL};

/* On the HTTP client's worker thread: decode, fill the cache, wake. */
static void af_http_done(void *arg, msgsec_http_request *req,
                         const msgsec_http_response *resp)
{
    fetch_ctx *fc = arg;
    akma_pd *pd = fc->pd;
    const char *api = pd->nef ? "NEF" : "AAnF";
    msgsec_keycache_result r;
    memset(&r, 0, sizeof(r));
    if (!msgsec_keycache_http_failure(&r, resp,
                                      pd->nef ? "the NEF" : "the AAnF",
                                      pd->timeout_ms)) {
        msgsec_aanf_key_data kd;
        char d[256] = "";
        int rc = msgsec_aanf_retrieve_result(
            &pd->aanf_set, resp->status, resp->content_type, resp->body,
            resp->body_len, &kd, NULL, d, sizeof(d));
        if (rc == 0) {
            memcpy(r.key, kd.kaf, MSGSEC_AKMA_KEY_LEN);
            r.key_len = MSGSEC_AKMA_KEY_LEN;
            r.expiry = kd.expiry;
            memcpy(r.id1, kd.supi, sizeof(r.id1));
            memcpy(r.id2, kd.gpsi, sizeof(r.id2));
        } else if (rc == MSGSEC_ERR_KEY_UNAVAILABLE) {
            msgsec_keycache_result_fail(
                &r, rc,
                "the %s has no K_AF for this A-KID (HTTP 204: unknown or "
                "expired); the UE must run primary authentication again",
                api);
        } else if (rc == MSGSEC_ERR_BAD_FRAME) {
            msgsec_keycache_result_fail(&r, MSGSEC_ERR_LOOKUP_FAILED,
                                        "malformed answer from the %s: %s",
                                        api, d);
        } else if (rc == MSGSEC_ERR_NOMEM) {
            msgsec_keycache_result_fail(&r, rc,
                                        "no memory to decode the %s answer",
                                        api);
        } else {
            msgsec_keycache_result_fail(&r, MSGSEC_ERR_LOOKUP_FAILED,
                                        "the %s refused: %s", api, d);
        }
        msgsec_aanf_clear(&kd, sizeof(kd));
    }
    if (r.rc < 0) {
        pd->up->log(pd->pc, MSGSEC_LOG_WARNING, "K_AF for A-KID %s (%s): %s",
                    fc->akid, pd->url,
                    resp->result < 0 ? resp->detail : r.detail);
    } else {
        char when[MSGSEC_AANF_DATETIME_SIZE];
        if (msgsec_aanf_datetime_format(r.expiry, when) != 0)
            snprintf(when, sizeof(when), "%lld", (long long)r.expiry);
        pd->up->log(pd->pc, MSGSEC_LOG_DEBUG,
                    "K_AF for A-KID %s obtained from the %s in %.3f s, "
                    "valid until %s",
                    fc->akid, api, resp->elapsed, when);
    }
    msgsec_keycache_complete(pd->cache, fc->token, &r);
    msgsec_keycache_result_clear(&r);
    /* From inside its callback the request is freed once it returns. */
    msgsec_http_request_free(req);
    pd->up->free(pd->pc, fc, sizeof(*fc));
}

/* Under the cache lock: starts one retrieve request. */
static int af_fetch(void *arg, void *token, const char *akid,
                    const char *afid, void **handle, char *detail,
                    size_t detail_len)
{
    akma_pd *pd = arg;
    msgsec_aanf_key_request kr;
    memset(&kr, 0, sizeof(kr));
    snprintf(kr.af_id, sizeof(kr.af_id), "%s", afid);
    snprintf(kr.a_kid, sizeof(kr.a_kid), "%s", akid);
    char body[MSGSEC_AANF_AFID_MAX + MSGSEC_AKID_MAX_LEN + 128];
    size_t n = 0;
    int rc = msgsec_aanf_encode_key_request(&pd->aanf_set, &kr, body,
                                            sizeof(body), &n);
    if (rc < 0) {
        snprintf(detail, detail_len,
                 "the A-KID cannot be put in an AkmaAfKeyRequest");
        return MSGSEC_ERR_AUTH_FAILED;
    }
    fetch_ctx *fc = pd->up->alloc(pd->pc, sizeof(*fc));
    if (!fc) {
        snprintf(detail, detail_len, "no memory for the AAnF request");
        return MSGSEC_ERR_NOMEM;
    }
    fc->pd = pd;
    fc->token = token;
    snprintf(fc->akid, sizeof(fc->akid), "%s", akid);
    msgsec_http_request_spec spec = {.method = "POST",
                                     .url = pd->url,
                                     .headers = json_headers,
                                     .body = body,
                                     .body_len = n};
    rc = msgsec_http_start(pd->http, &spec, af_http_done, fc, &fc->req);
    if (rc < 0) {
        msgsec_http_request_free(fc->req);
        pd->up->free(pd->pc, fc, sizeof(*fc));
        snprintf(detail, detail_len,
                 "the %s request cannot be started (error %d)",
                 pd->nef ? "NEF" : "AAnF", rc);
        return rc == MSGSEC_ERR_NOMEM ? rc : MSGSEC_ERR_LOOKUP_FAILED;
    }
    *handle = fc;
    return 0;
}

/* fini(), after the HTTP client is gone: requests that never completed. */
static void af_abandon(void *arg, void *handle)
{
    akma_pd *pd = arg;
    fetch_ctx *fc = handle;
    msgsec_http_request_free(fc->req);
    pd->up->free(pd->pc, fc, sizeof(*fc));
}

/* -------------------------------------------------------- key look-up */

#define lookup_fail(st, ...) msgsec_tlsprov_fail(&(st)->tls, __VA_ARGS__)

/* The outcome of the cache for st->akid. */
static int use_result(akma_st *st, msgsec_keycache_result *res, uint8_t *key,
                      size_t *key_len)
{
    int rc = res->rc;
    if (rc == 0 && res->expiry <= (int64_t)time(NULL))
        rc = lookup_fail(st, MSGSEC_ERR_KEY_EXPIRED,
                         "A-KID %s: K_AF expired before it could be used",
                         st->akid);
    else if (rc < 0)
        lookup_fail(st, rc, "A-KID %s: %s", st->akid, res->detail);
    if (rc == 0) {
        memcpy(key, res->key, MSGSEC_AKMA_KEY_LEN);
        *key_len = MSGSEC_AKMA_KEY_LEN;
        st->expiry = res->expiry;
        memcpy(st->supi, res->id1, sizeof(st->supi));
        memcpy(st->gpsi, res->id2, sizeof(st->gpsi));
    }
    msgsec_keycache_result_clear(res);
    return rc;
}

/* The engine's server look-up: K_AF of "3GPP-AKMA" + A-KID. */
/* K_AF of a parsed A-KID for afid through the cache (asked again until
 * answered). */
static int af_key(akma_st *st, const char *akid, size_t alen,
                  const char *afid, uint8_t *key, size_t *key_len)
{
    akma_pd *pd = st->pd;
    if (alen != strlen(st->akid) || memcmp(akid, st->akid, alen) != 0)
        msgsec_keycache_cancel(pd->cache, &st->w);
    memcpy(st->akid, akid, alen);
    st->akid[alen] = '\0';
    st->w.wake = msgsec_tlsprov_wake;
    st->w.arg = &st->tls;
    msgsec_keycache_result res;
    int rc = msgsec_keycache_lookup(pd->cache, st->akid, afid, &st->w, &res);
    return rc == MSGSEC_PENDING ? rc : use_result(st, &res, key, key_len);
}

/* The engine's server look-up: K_AF of "3GPP-AKMA" + A-KID. */
static int af_lookup(void *arg, const uint8_t *id, size_t id_len,
                     uint8_t *key, size_t *key_len)
{
    akma_st *st = arg;
    akma_pd *pd = st->pd;
    if (id_len <= AKMA_PREFIX_LEN ||
        memcmp(id, AKMA_PREFIX, AKMA_PREFIX_LEN) != 0)
        return lookup_fail(st, MSGSEC_ERR_AUTH_FAILED,
                           "the PSK identity is not an AKMA one (\"" AKMA_PREFIX
                           "\" followed by an A-KID)");
    const char *akid = (const char *)id + AKMA_PREFIX_LEN;
    size_t alen = id_len - AKMA_PREFIX_LEN;
    msgsec_akid_parts parts;
    const char *why = NULL;
    if (msgsec_akid_parse(akid, alen, &pd->akid_set, &parts, &why) != 0)
        return lookup_fail(st, MSGSEC_ERR_AUTH_FAILED,
                           "the PSK identity carries no valid A-KID: %s",
                           why ? why : "malformed");
    /* TLS 1.3 asks for the key before the server has said anything; TLS
     * 1.2 only after ServerHelloDone. The Ua* identifier follows. */
    const char *afid = st->tls.wrote > 0 ? pd->afid12 : pd->afid13;
    if (!afid[0])
        return lookup_fail(st, MSGSEC_ERR_AUTH_FAILED,
                           "A-KID %.*s: TLS version not enabled", (int)alen,
                           akid);
    return af_key(st, akid, alen, afid, key, key_len);
}

/* UE: identity and K_AF for the TLS version and suite in use. */
static int ue_client_key(void *arg, const msgsec_tlspsk_client_query *q,
                         uint8_t *identity, size_t *identity_len,
                         uint8_t *key, size_t *key_len)
{
    akma_st *st = arg;
    akma_pd *pd = st->pd;
    uint8_t ua[MSGSEC_AKMA_UA_ID_LEN];
    if (q->version == MSGSEC_TLSPSK_TLS1_3)
        msgsec_akma_ua_id_tls13(ua);
    else
        msgsec_akma_ua_id_tls12(q->cipher, ua);
    int rc = msgsec_akma_derive_k_af_fqdn(pd->kdf, pd->k_akma,
                                          sizeof(pd->k_akma), st->fqdn,
                                          strlen(st->fqdn), ua, key);
    if (rc < 0)
        return rc;
    *key_len = MSGSEC_AKMA_KEY_LEN;
    memcpy(identity, pd->identity, pd->identity_len);
    *identity_len = pd->identity_len;
    return 0;
}

/* ----------------------------------------------------------- provider */

static void akma_fini(void *pdata)
{
    akma_pd *pd = pdata;
    if (!pd)
        return;
    /* The worker first: then no completion can run any more. */
    msgsec_http_client_free(pd->http);
    msgsec_keycache_free(pd->cache);
    msgsec_tlspsk_ctx_free(pd->tls);
    msgsec_kdf_free(pd->kdf);
    pd->up->free(pd->pc, pd, sizeof(*pd));
}

static int akma_init(const msgsec_upcalls *up, msgsec_pctx *pc, void **pdata)
{
    akma_pd *pd = up->alloc(pc, sizeof(*pd));
    if (!pd)
        return MSGSEC_ERR_NOMEM;
    pd->up = up;
    pd->pc = pc;
    int rc = msgsec_kdf_new(&pd->kdf);
    if (rc < 0) {
        up->set_detail(pc, "cannot set up the KDF (SHA-256)");
        akma_fini(pd);
        return rc;
    }
    msgsec_tlspsk_config cfg;
    memset(&cfg, 0, sizeof(cfg));
    cfg.size = sizeof(cfg);
    const char *fqdn = up->config(pc, "af_fqdn");
    if (fqdn) {
        uint8_t tmp[MSGSEC_AKMA_AF_ID_MAX], ua[MSGSEC_AKMA_UA_ID_LEN];
        size_t n;
        msgsec_akma_ua_id_tls13(ua);
        if (msgsec_akma_af_id(fqdn, strlen(fqdn), ua, tmp, sizeof(tmp), &n))
            rc = bad(pd, MSGSEC_ERR_POLICY_BAD_VALUE, "af_fqdn",
                     "\"%s\": 1 to 255 bytes of printable ASCII or UTF-8 "
                     "expected", fqdn);
        else
            snprintf(pd->af_fqdn, sizeof(pd->af_fqdn), "%s", fqdn);
    }
    if (rc < 0 || (rc = config_tls(pd, &cfg)) < 0 ||
        (rc = config_akid_settings(pd)) < 0 || (rc = config_ue(pd)) < 0 ||
        (rc = config_af(pd)) < 0) {
        akma_fini(pd);
        return rc;
    }
    if (!pd->ue && !pd->af) {
        up->set_detail(pc, "nothing to do: configure the UE role (kausf or "
                           "kakma, or their _file keys) or the AF role "
                           "(af_fqdn and aanf_uri or nef_uri)");
        akma_fini(pd);
        return MSGSEC_ERR_POLICY_BAD_VALUE;
    }
    cfg.hint = AKMA_PREFIX;
    cfg.lookup = af_lookup;
    cfg.client_key = ue_client_key;
    char detail[256] = "";
    rc = msgsec_tlspsk_ctx_new(&cfg, &pd->tls, detail, sizeof(detail));
    if (rc < 0) {
        up->set_detail(pc, "TLS context: %s", detail);
        akma_fini(pd);
        return rc;
    }
    up->log(pc, MSGSEC_LOG_DEBUG, "roles:%s%s; TLS %s", pd->ue ? " UE" : "",
            pd->af ? " AF" : "",
            pd->tlsset.mode == MSGSEC_PROVCFG_TLS13 ? "1.3" : pd->tlsset.mode == MSGSEC_PROVCFG_TLS12 ? "1.2"
                                                                    : "1.2-1.3");
    *pdata = pd;
    return 0;
}

/* The known answers of TS 33.535 Annex A computed independently (DOMAIN
 * values), through the same derivations the sessions use. */
static int akma_self_test(void *pdata)
{
    akma_pd *pd = pdata;
    static const uint8_t k_akma_kat[32] = {
        0xbb, 0xa5, 0xe9, 0x5f, 0x12, 0x05, 0xd4, 0xf1, 0xc2, 0x17, 0xb9,
        0x1e, 0x08, 0xec, 0x35, 0x09, 0xad, 0x62, 0xcf, 0xbf, 0x43, 0xf4,
        0x74, 0xc6, 0xbf, 0x49, 0x5d, 0xa8, 0x31, 0x32, 0xc9, 0x5e};
    static const uint8_t a_tid_kat[32] = {
        0x67, 0xd8, 0xde, 0xe4, 0x7b, 0x7d, 0x74, 0xe6, 0xf4, 0x57, 0xb7,
        0xb2, 0x3d, 0x58, 0x06, 0x74, 0x6e, 0xd8, 0x7b, 0x92, 0x0a, 0xa8,
        0x03, 0x5f, 0x37, 0xb4, 0x94, 0xc1, 0xbf, 0xc5, 0xd8, 0x3b};
    static const uint8_t k_af_kat[32] = {
        0x23, 0xbe, 0xf2, 0x38, 0xa0, 0x02, 0xc7, 0x58, 0xf4, 0x28, 0x45,
        0xfe, 0x14, 0x22, 0xdd, 0xe4, 0xa9, 0xf2, 0x87, 0x01, 0x60, 0x74,
        0x12, 0x8f, 0x5c, 0x51, 0x01, 0xbc, 0xb2, 0x8b, 0x9a, 0xdb};
    static const char fqdn[] = "msgin5g.example.com";
    static const char supi[] = "001010000000001";
    int rc = msgsec_akma_self_test(pd->kdf);
    if (rc < 0) {
        pd->up->set_detail(pd->pc, "SDK AKMA known-answer test failed "
                                   "(error %d)", rc);
        return MSGSEC_ERR_PROVIDER_SELF_TEST;
    }
    uint8_t k_ausf[32], k_akma[32], a_tid[32], k_af[32], ua[5];
    for (size_t i = 0; i < sizeof(k_ausf); i++)
        k_ausf[i] = (uint8_t)i;
    msgsec_akma_ua_id_tls13(ua);
    rc = msgsec_akma_derive_k_akma(pd->kdf, k_ausf, 32, supi,
                                   sizeof(supi) - 1, k_akma);
    if (rc == 0)
        rc = msgsec_akma_derive_a_tid(pd->kdf, k_ausf, 32, supi,
                                      sizeof(supi) - 1, a_tid);
    if (rc == 0)
        rc = msgsec_akma_derive_k_af_fqdn(pd->kdf, k_akma, 32, fqdn,
                                          sizeof(fqdn) - 1, ua, k_af);
    int ok = rc == 0 && CRYPTO_memcmp(k_akma, k_akma_kat, 32) == 0 &&
             CRYPTO_memcmp(a_tid, a_tid_kat, 32) == 0 &&
             CRYPTO_memcmp(k_af, k_af_kat, 32) == 0;
    OPENSSL_cleanse(k_akma, sizeof(k_akma));
    OPENSSL_cleanse(k_af, sizeof(k_af));
    if (!ok) {
        pd->up->set_detail(pd->pc, "K_AKMA, A-TID or K_AF differs from the "
                                   "known answer");
        return MSGSEC_ERR_PROVIDER_SELF_TEST;
    }
    return 0;
}

static int akma_claim(void *pdata, const uint8_t *tok, size_t len)
{
    const akma_pd *pd = pdata;
    if (!pd->af)
        return MSGSEC_CLAIM_NOT_MINE;
    unsigned versions = msgsec_provcfg_tls_versions(&pd->tlsset);
    return msgsec_tlsprov_claim_prefix(pd->up, pd->pc, tok, len, versions,
                                       AKMA_PREFIX);
}

static int akma_start(void *pdata, void *state, msgsec_psession *ps)
{
    akma_pd *pd = pdata;
    akma_st *st = state;
    const msgsec_upcalls *up = pd->up;
    st->pd = pd;
    msgsec_tlspsk_conn_config cc;
    if (msgsec_tlsprov_begin(&st->tls, up, ps, &cc) == MSGSEC_ROLE_CLIENT) {
        if (!pd->ue) {
            up->session_detail(ps, "the policy %s gives this provider no UE "
                                   "keys (kausf or kakma): it can only be "
                                   "an AF",
                               up->config_where(pd->pc, "kausf"));
            return MSGSEC_ERR_UNSUPPORTED;
        }
        const char *name = up->session_peer_name(ps);
        if (!name || !name[0])
            name = pd->af_fqdn;
        uint8_t tmp[MSGSEC_AKMA_AF_ID_MAX], ua[MSGSEC_AKMA_UA_ID_LEN];
        size_t n;
        msgsec_akma_ua_id_tls13(ua);
        if (!name[0]) {
            up->session_detail(ps, "the AF's FQDN is unknown: give the "
                                   "session a peer name or set af_fqdn");
            return MSGSEC_ERR_INVALID_ARG;
        }
        if (msgsec_akma_af_id(name, strlen(name), ua, tmp, sizeof(tmp), &n)) {
            up->session_detail(ps, "the AF's FQDN \"%.64s\" cannot go into "
                                   "K_AF's derivation", name);
            return MSGSEC_ERR_INVALID_ARG;
        }
        snprintf(st->fqdn, sizeof(st->fqdn), "%s", name);
        cc.server_name = st->fqdn;
    } else if (!pd->af) {
        up->session_detail(ps, "the policy %s does not configure this "
                               "provider as an AF (aanf_uri or nef_uri)",
                           up->config_where(pd->pc, "aanf_uri"));
        return MSGSEC_ERR_UNSUPPORTED;
    }
    return msgsec_tlsprov_connect(&st->tls, pd->tls, &cc);
}

static int akma_step(void *pdata, void *state, const uint8_t *in, size_t len,
                     size_t *consumed)
{
    akma_pd *pd = pdata;
    akma_st *st = state;
    msgsec_tlspsk_info info;
    int rc = msgsec_tlsprov_step_report(&st->tls, pd->pc, in, len, consumed,
                                        "A-KID", st->akid, &info);
    if (rc < 0 && st->tls.role == MSGSEC_ROLE_CLIENT) {
        if (info.alert_received == MSGSEC_TLSPROV_ALERT_UNKNOWN_PSK_IDENTITY) {
            /* TS 33.535: the AF has no K_AF for this A-KID any more. */
            pd->up->session_detail(
                st->tls.ps,
                "the AF %s does not know A-KID %s (alert "
                "unknown_psk_identity): run primary authentication again "
                "to get a fresh K_AKMA and A-KID",
                st->fqdn, pd->identity + AKMA_PREFIX_LEN);
            return MSGSEC_ERR_REAUTH_REQUIRED;
        }
        if (info.alert_received == MSGSEC_TLSPROV_ALERT_INTERNAL_ERROR)
            pd->up->session_detail(
                st->tls.ps,
                "the AF %s could not complete the handshake (alert "
                "internal_error): it may have failed to obtain K_AF from "
                "the AAnF; retrying later may succeed",
                st->fqdn);
    }
    return rc;
}

static int akma_result(void *pdata, void *state, msgsec_peer *peer)
{
    akma_pd *pd = pdata;
    akma_st *st = state;
    msgsec_tlspsk_info info;
    int rc = msgsec_tlsprov_peer(&st->tls, peer, &info);
    if (rc < 0)
        return rc;
    if (info.version == MSGSEC_TLSPSK_TLS1_2 &&
        info.cipher_id != pd->tlsset.tls12_cipher) {
        /* The key was derived for the configured suite only. */
        memset(peer, 0, sizeof(*peer));
        pd->up->session_detail(st->tls.ps, "TLS 1.2 suite %s is not the "
                                           "configured tls12_cipher",
                               info.cipher);
        return MSGSEC_ERR_AUTH_FAILED;
    }
    peer->scheme = "akma";
    if (st->tls.role == MSGSEC_ROLE_SERVER) {
        peer->identity = st->akid;
        peer->supi = st->supi[0] ? st->supi : NULL;
        peer->gpsi = st->gpsi[0] ? st->gpsi : NULL;
        peer->key_expiry = st->expiry;
    } else {
        /* The AF proved it holds K_AF bound to this FQDN. */
        peer->identity = st->fqdn;
    }
    return 0;
}

static void akma_end(void *pdata, void *state)
{
    akma_pd *pd = pdata;
    akma_st *st = state;
    /* After this no completion wakes the session. */
    msgsec_keycache_cancel(pd->cache, &st->w);
    msgsec_tlsprov_end(pdata, state);
}

/*
 * ABI 1.1, for an AF whose own (D)TLS stack received the PSK identity:
 * K_AF of "3GPP-AKMA" + A-KID from the cache or the AAnF, as af_lookup()
 * gets it for the engine, with the afId of the protocol the integrator
 * names ((D)TLS 1.3: the TLS 1.3 Ua* identifier; (D)TLS 1.2: the TLS 1.2
 * one of tls12_cipher, the only suite the policy allows).
 */
static int akma_psk_resolve(void *pdata, void *state, msgsec_psession *ps,
                            const msgsec_psk_query *q, uint8_t *key,
                            size_t *key_len, msgsec_peer *peer)
{
    akma_pd *pd = pdata;
    akma_st *st = state;
    int rc;
    if (!pd->af || q->identity_len <= AKMA_PREFIX_LEN ||
        memcmp(q->identity, AKMA_PREFIX, AKMA_PREFIX_LEN) != 0)
        return MSGSEC_PSK_NOT_MINE;
    if (*key_len < MSGSEC_AKMA_KEY_LEN)
        return MSGSEC_ERR_BUFFER_TOO_SMALL;
    const char *akid = (const char *)q->identity + AKMA_PREFIX_LEN;
    size_t alen = q->identity_len - AKMA_PREFIX_LEN;
    int tls12 = q->version == MSGSEC_PSK_TLS1_2 ||
                q->version == MSGSEC_PSK_DTLS1_2;
    const char *afid = tls12 ? pd->afid12 : pd->afid13;
    msgsec_akid_parts parts;
    const char *why = NULL;
    st->pd = pd;
    msgsec_tlsprov_attach(&st->tls, pd->up, ps, MSGSEC_ROLE_SERVER);
    if (msgsec_akid_parse(akid, alen, &pd->akid_set, &parts, &why) != 0)
        rc = lookup_fail(st, MSGSEC_ERR_AUTH_FAILED,
                         "the PSK identity carries no valid A-KID: %s",
                         why ? why : "malformed");
    else if (!afid[0])
        rc = lookup_fail(st, MSGSEC_ERR_UNSUPPORTED,
                         "TLS %s is not enabled by the policy (tls12 at %s)",
                         tls12 ? "1.2" : "1.3", where(pd, "tls12"));
    else if (tls12 && q->cipher && q->cipher != pd->tlsset.tls12_cipher)
        rc = lookup_fail(st, MSGSEC_ERR_UNSUPPORTED,
                         "TLS 1.2 suite 0x%04x is not the configured "
                         "tls12_cipher (0x%04x)",
                         (unsigned)q->cipher,
                         (unsigned)pd->tlsset.tls12_cipher);
    else
        rc = af_key(st, akid, alen, afid, key, key_len);
    if (rc == MSGSEC_PENDING)
        return rc;
    if (rc < 0)
        return msgsec_tlsprov_refuse(&st->tls, pd->pc, rc,
                                     "PSK identity refused");
    memset(peer, 0, sizeof(*peer));
    peer->scheme = "akma";
    peer->identity = st->akid;
    peer->supi = st->supi[0] ? st->supi : NULL;
    peer->gpsi = st->gpsi[0] ? st->gpsi : NULL;
    peer->key_expiry = st->expiry;
    return 0;
}

static const msgsec_provider akma_provider = {
    MSGSEC_PROVIDER_HEADER,
    .name = "akma",
    .version = AKMA_VERSION,
    .summary = "AKMA (TS 33.535): TLS with K_AF, the AF fetching it from "
               "the AAnF",
    .caps = MSGSEC_CAP_CLIENT | MSGSEC_CAP_SERVER | MSGSEC_CAP_MUTUAL_AUTH |
            MSGSEC_CAP_CONFIDENTIALITY | MSGSEC_CAP_INTEGRITY |
            MSGSEC_CAP_REPLAY_DETECTION | MSGSEC_CAP_FORWARD_SECRECY |
            MSGSEC_CAP_KEY_EXPORT | MSGSEC_CAP_IMPLICIT,
    .state_size = sizeof(akma_st),
    .config_keys = akma_keys,
    .init = akma_init,
    .fini = akma_fini,
    .self_test = akma_self_test,
    .claim = akma_claim,
    .start = akma_start,
    .step = akma_step,
    .result = akma_result,
    .export_key = msgsec_tlsprov_export_key,
    .wrap = msgsec_tlsprov_wrap,
    .unwrap = msgsec_tlsprov_unwrap,
    .limits = msgsec_tlsprov_limits,
    .end = akma_end,
    .close = msgsec_tlsprov_close,
    .psk_resolve = akma_psk_resolve,
};

MSGSEC_PROVIDER_DEFINE(akma, akma_provider)
