/* test_akma.c - the akma provider through the real core: a UE core and an
 * AF core (each from its own policy file, the module loaded from the build
 * tree) run TLS with K_AF in implicit negotiation, the AF fetching K_AF
 * from the AAnF emulator tools/msgsec-aanf (child processes on 127.0.0.1
 * with ephemeral ports, always stopped by PID). Also the K_AF cache on its
 * own (<msgsec/keycache.h> with a fake fetcher and clock), every AAnF failure, key
 * files and policy errors. */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>

#include <msgsec/aanf.h>
#include <msgsec/akma_keys.h>
#include <msgsec/http.h>
#include <msgsec/keycache.h>
#include <msgsec/tlspsk.h>

#include "testutil.h"

/* DOMAIN.md's known answers. */
#define KAUSF "000102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f"
#define K_AKMA "bba5e95f1205d4f1c217b91e08ec3509ad62cfbf43f474c6bf495da83132c95e"
#define K_AF "23bef238a002c758f42845fe1422dde4a9f287016074128f5c5101bcb28b9adb"
#define A_TID "67d8dee47b7d74e6f457b7b23d5806746ed87b920aa8035f37b494c1bfc5d83b"
#define WRONG_KEY                                                              \
    "f0e0d0c0b0a09080706050403020100f0e0d0c0b0a09080706050403020100ff"
#define AKID "0." A_TID "@5gc.mnc001.mcc001.3gppnetwork.org"
#define SUPI "imsi-001010000000001"
#define FQDN "msgin5g.example.com"
#define SVC "msgin5g"

/* ------------------------------------------------------------ helpers */

typedef msgsec_test_aanf emu;

#define MAX_EMUS 16
static emu emus[MAX_EMUS]; /* static: a failed test never leaves one running */
static char tmpdir[256];
static msgsec_http_client *http;

#define log_has msgsec_test_log_has

static const char *builddir(void)
{
    const char *bd = getenv("MSGSEC_TEST_BUILDDIR");
    return bd ? bd : ".";
}

/* Starts the emulator with up to 8 extra arguments (NULL-terminated) in a
 * free slot; its log (one line per request) goes to e->log. NULL when it
 * did not start. */
static emu *emu_start(const char *first, ...)
{
    const char *args[9];
    int argc = 0;
    va_list ap;
    va_start(ap, first);
    for (const char *a = first; argc < 8 && a; a = va_arg(ap, const char *))
        args[argc++] = a;
    va_end(ap);
    args[argc] = NULL;
    return msgsec_test_emu_start(emus, MAX_EMUS, tmpdir, "msgsec-aanf", args);
}

#define emu_stop msgsec_test_emu_stop

/* Retrieve requests the emulator has served (Naanf and NEF). */
static int emu_retrieves(const emu *e)
{
    return msgsec_test_count_lines(e->log, MSGSEC_AANF_PATH_RETRIEVE) +
           msgsec_test_count_lines(e->log, MSGSEC_NEF_PATH_RETRIEVE);
}

static int hex2bin(const char *h, uint8_t *out, size_t n)
{
    if (strlen(h) != 2 * n)
        return -1;
    for (size_t i = 0; i < n; i++)
        if (sscanf(h + 2 * i, "%2hhx", &out[i]) != 1)
            return -1;
    return 0;
}

static void bin2hex(const uint8_t *p, size_t n, char *out)
{
    for (size_t i = 0; i < n; i++)
        sprintf(out + 2 * i, "%02x", p[i]);
}

/* A K_AUSF and IMSI of UE number i (i = 0 is DOMAIN.md's). */
static void ue_of(int i, char kausf[65], char supi[32])
{
    uint8_t k[32];
    for (int j = 0; j < 32; j++)
        k[j] = (uint8_t)(j + 17 * i);
    bin2hex(k, 32, kausf);
    snprintf(supi, 32, "imsi-0010100000%05d", i + 1);
}

/* Plays the AUSF: derives K_AKMA and the A-KID (rid 0, 001/01) and
 * registers them at e. Returns 0 and the A-KID in akid. */
static int reg_ue(const emu *e, const char *kausf_hex, const char *supi,
                  char *akid, size_t akid_cap)
{
    uint8_t kausf[32], a_tid[32];
    msgsec_aanf_key_info ki;
    memset(&ki, 0, sizeof(ki));
    size_t n;
    if (hex2bin(kausf_hex, kausf, 32) ||
        msgsec_akma_derive_k_akma(NULL, kausf, 32, supi, strlen(supi),
                                  ki.k_akma) ||
        msgsec_akma_derive_a_tid(NULL, kausf, 32, supi, strlen(supi),
                                 a_tid) ||
        msgsec_akid_build(NULL, "0", 1, a_tid, "001", 3, "01", 2, ki.a_kid,
                          sizeof(ki.a_kid), &n))
        return -1;
    snprintf(akid, akid_cap, "%s", ki.a_kid);
    snprintf(ki.supi, sizeof(ki.supi), "%s", supi);
    char body[1024], url[256];
    if (msgsec_aanf_encode_key_info(NULL, &ki, body, sizeof(body), &n) ||
        msgsec_aanf_url(e->root, MSGSEC_AANF_PATH_REGISTER, url, sizeof(url)))
        return -1;
    msgsec_aanf_clear(&ki, sizeof(ki));
    static const char *const hdr[] = {"Content-Type: application/json", NULL};
    msgsec_http_request_spec s = {.method = "POST",
                                  .url = url,
                                  .headers = hdr,
                                  .body = body,
                                  .body_len = n};
    msgsec_http_request *r = NULL;
    int rc = msgsec_http_perform(http, &s, &r);
    const msgsec_http_response *rs = msgsec_http_request_response(r);
    int ok = rc == 0 && rs && rs->result == 0 && rs->status == 200;
    msgsec_http_request_free(r);
    OPENSSL_cleanse(body, sizeof(body));
    return ok ? 0 : -1;
}

static const char *module_line(void)
{
    static char line[1200];
    snprintf(line, sizeof(line), "module = %s/plugins/akma/akma.la\n",
             builddir());
    return line;
}

/* Policy text: one [provider.akma] section with body, one service. */
static const char *policy(const char *body)
{
    static char text[8192];
    snprintf(text, sizeof(text),
             "[core]\nprovider_dir = @PROVIDER_DIR@\n"
             "[provider.akma]\nsupport = mandatory\n%s%s"
             "[service." SVC "]\nuse = akma\nnegotiation = implicit\n",
             module_line(), body);
    return text;
}

#define core_from msgsec_test_core_logged

/* An AF core asking the AAnF at root; extra policy lines. */
static msgsec_core *af_core(const char *root, const char *extra)
{
    char body[2048];
    snprintf(body, sizeof(body), "af_fqdn = " FQDN "\naanf_uri = %s\n%s",
             root, extra ? extra : "");
    msgsec_core *c = core_from(policy(body), NULL, NULL, 0);
    CU_ASSERT_PTR_NOT_NULL(c);
    return c;
}

/* A UE core deriving from kausf_hex and supi (rid 0, 001/01). */
static msgsec_core *ue_core(const char *kausf_hex, const char *supi,
                            const char *extra)
{
    char body[2048];
    snprintf(body, sizeof(body),
             "kausf = %s\nsupi = %s\nrid = 0\nmcc = 001\nmnc = 01\n%s",
             kausf_hex, supi, extra ? extra : "");
    msgsec_core *c = core_from(policy(body), NULL, NULL, 0);
    CU_ASSERT_PTR_NOT_NULL(c);
    return c;
}

typedef msgsec_test_pair pair;

static int pair_new(pair *p, msgsec_core *ue, msgsec_core *af)
{
    return msgsec_test_pair_new(p, ue, af, SVC, FQDN);
}

#define pair_free msgsec_test_pair_free
#define move msgsec_test_shuttle
#define pump msgsec_test_pair_run

/* One message each way. */
static void exchange(pair *p)
{
    uint8_t buf[256];
    size_t n = 0;
    CU_ASSERT_EQUAL(msgsec_session_send(p->c, "REG ue", 6), 0);
    move(p->c, p->s, &p->src);
    CU_ASSERT_EQUAL(msgsec_session_recv(p->s, buf, sizeof(buf), &n), 0);
    CU_ASSERT(n == 6 && memcmp(buf, "REG ue", 6) == 0);
    CU_ASSERT_EQUAL(msgsec_session_send(p->s, "MSGRESP", 7), 0);
    move(p->s, p->c, &p->crc);
    CU_ASSERT_EQUAL(msgsec_session_recv(p->c, buf, sizeof(buf), &n), 0);
    CU_ASSERT(n == 7 && memcmp(buf, "MSGRESP", 7) == 0);
}

/* A full handshake that must succeed; checks the AF's view of the UE. */
static void good_handshake(msgsec_core *ue, msgsec_core *af,
                           const char *akid, const char *supi)
{
    pair p;
    CU_ASSERT_EQUAL_FATAL(pair_new(&p, ue, af), 0);
    int rc = pump(&p);
    if (rc != 0)
        fprintf(stderr, "handshake: client %s (%s), server %s (%s)\n",
                msgsec_error_name(p.crc), msgsec_session_detail(p.c),
                msgsec_error_name(p.src), msgsec_session_detail(p.s));
    CU_ASSERT_EQUAL(rc, 0);
    if (rc == 0) {
        msgsec_peer peer;
        CU_ASSERT_EQUAL(msgsec_session_peer(p.s, &peer), 0);
        CU_ASSERT_STRING_EQUAL(peer.scheme, "akma");
        CU_ASSERT_STRING_EQUAL(peer.identity, akid);
        if (supi)
            CU_ASSERT(peer.supi && strcmp(peer.supi, supi) == 0);
        CU_ASSERT(peer.key_expiry > (int64_t)time(NULL));
        CU_ASSERT(peer.caps & MSGSEC_CAP_MUTUAL_AUTH);
        CU_ASSERT(peer.caps & MSGSEC_CAP_FORWARD_SECRECY);
        CU_ASSERT_EQUAL(msgsec_session_peer(p.c, &peer), 0);
        CU_ASSERT_STRING_EQUAL(peer.identity, FQDN);
        uint8_t k1[32], k2[32];
        CU_ASSERT_EQUAL(msgsec_session_export_key(p.c, "EXPORTER-test", "", 0,
                                                  k1, 32), 0);
        CU_ASSERT_EQUAL(msgsec_session_export_key(p.s, "EXPORTER-test", "", 0,
                                                  k2, 32), 0);
        CU_ASSERT_EQUAL(memcmp(k1, k2, 32), 0);
        exchange(&p);
    }
    pair_free(&p);
}

/* A handshake that must fail; returns the pair's errors. */
static void bad_handshake(msgsec_core *ue, msgsec_core *af, int *crc,
                          int *src, char *cdetail, char *sdetail, size_t cap)
{
    pair p;
    CU_ASSERT_EQUAL_FATAL(pair_new(&p, ue, af), 0);
    CU_ASSERT_NOT_EQUAL(pump(&p), 0);
    *crc = p.crc;
    *src = p.src;
    snprintf(cdetail, cap, "%s", msgsec_session_detail(p.c));
    snprintf(sdetail, cap, "%s", msgsec_session_detail(p.s));
    CU_ASSERT_EQUAL(msgsec_session_state(p.c), MSGSEC_STATE_FAILED);
    CU_ASSERT_EQUAL(msgsec_session_state(p.s), MSGSEC_STATE_FAILED);
    pair_free(&p);
}

static emu *main_emu;
static msgsec_core *ue0_core; /* DOMAIN.md's UE, made on first use */
static char akid0[MSGSEC_AKID_MAX_LEN + 1];

#define ue0 ue0_get()
static msgsec_core *ue0_get(void)
{
    if (!ue0_core)
        ue0_core = ue_core(KAUSF, SUPI, NULL);
    CU_ASSERT_PTR_NOT_NULL_FATAL(ue0_core);
    return ue0_core;
}

static int setup(void)
{
    if (msgsec_test_mkdir(tmpdir, sizeof(tmpdir), "akma") != 0)
        return 1;
    msgsec_http_config hc = {.size = sizeof(hc)};
    char d[256];
    if (msgsec_http_client_new(&hc, &http, d, sizeof(d)) != 0 ||
        !(main_emu = emu_start(NULL)) ||
        reg_ue(main_emu, KAUSF, SUPI, akid0, sizeof(akid0)) != 0)
        return 1;
    /* The DOMAIN.md UE, whose A-KID is known in advance. */
    if (strcmp(akid0, AKID) != 0)
        return 1;
    return 0;
}

static int teardown(void)
{
    msgsec_core_free(ue0_core);
    for (int i = 0; i < MAX_EMUS; i++)
        emu_stop(&emus[i]);
    msgsec_http_client_free(http);
    return msgsec_test_rmdir(tmpdir) == 0 ? 0 : 1;
}

/* -------------------------------------------------- the cache alone */

typedef struct fake {
    int fetches, abandoned, wakes, fail_next;
    void *tokens[16];
    int64_t now;
    int handle;
} fake;

static void *f_alloc(void *arg, size_t n)
{
    (void)arg;
    return calloc(1, n);
}

static void f_free(void *arg, void *p, size_t n)
{
    (void)arg;
    if (p)
        OPENSSL_cleanse(p, n);
    free(p);
}

static int f_fetch(void *arg, void *token, const char *akid, const char *afid,
                   void **handle, char *detail, size_t detail_len)
{
    fake *f = arg;
    (void)akid;
    (void)afid;
    if (f->fail_next) {
        f->fail_next = 0;
        snprintf(detail, detail_len, "refused by the fake");
        return MSGSEC_ERR_LOOKUP_FAILED;
    }
    if (f->fetches < 16)
        f->tokens[f->fetches] = token;
    f->fetches++;
    *handle = &f->handle;
    return 0;
}

static void f_abandon(void *arg, void *handle)
{
    fake *f = arg;
    CU_ASSERT_PTR_EQUAL(handle, &f->handle);
    f->abandoned++;
}

static int64_t f_now(void *arg)
{
    return ((fake *)arg)->now;
}

static void f_wake(void *arg)
{
    ((fake *)arg)->wakes++;
}

static msgsec_keycache *fake_cache(fake *f, size_t cap)
{
    memset(f, 0, sizeof(*f));
    f->now = 1000000;
    msgsec_keycache_ops ops = {.arg = f,
                           .alloc = f_alloc,
                           .free = f_free,
                           .fetch = f_fetch,
                           .abandon = f_abandon,
                           .now = f_now};
    static const uint8_t seed[16] = {1, 2, 3};
    msgsec_keycache *c = NULL;
    CU_ASSERT_EQUAL(msgsec_keycache_new(&ops, cap, seed, &c), 0);
    return c;
}

static void fake_result(msgsec_keycache_result *r, uint8_t b, int64_t expiry)
{
    memset(r, 0, sizeof(*r));
    memset(r->key, b, 32);
    r->key_len = 32;
    r->expiry = expiry;
    snprintf(r->id1, sizeof(r->id1), "imsi-00101000000000%d", b % 10);
}

static void test_cache_single_flight(void)
{
    fake f;
    msgsec_keycache *c = fake_cache(&f, 8);
    CU_ASSERT_PTR_NOT_NULL_FATAL(c);
    msgsec_keycache_waiter w[5];
    msgsec_keycache_result res;
    memset(w, 0, sizeof(w));
    for (int i = 0; i < 5; i++) {
        w[i].wake = f_wake;
        w[i].arg = &f;
        CU_ASSERT_EQUAL(msgsec_keycache_get(c, AKID, "af;ua=0100000007", &w[i],
                                        &res),
                        MSGSEC_PENDING);
    }
    /* Another afId is another key. */
    msgsec_keycache_waiter other = {.wake = f_wake, .arg = &f};
    CU_ASSERT_EQUAL(msgsec_keycache_get(c, AKID, "af;ua=01000100a8", &other, &res),
                    MSGSEC_PENDING);
    CU_ASSERT_EQUAL(f.fetches, 2);
    CU_ASSERT_EQUAL(msgsec_keycache_take(c, &w[0], &res), MSGSEC_PENDING);
    /* One waiter leaves: it is not woken. */
    msgsec_keycache_cancel(c, &w[4]);
    msgsec_keycache_result r;
    fake_result(&r, 0x5a, f.now + 60);
    msgsec_keycache_complete(c, f.tokens[0], &r);
    CU_ASSERT_EQUAL(f.wakes, 4);
    for (int i = 0; i < 4; i++) {
        CU_ASSERT_EQUAL(msgsec_keycache_take(c, &w[i], &res), 0);
        CU_ASSERT_EQUAL(res.rc, 0);
        CU_ASSERT_EQUAL(res.key[0], 0x5a);
        CU_ASSERT_EQUAL(res.expiry, f.now + 60);
        CU_ASSERT_STRING_EQUAL(res.id1, "imsi-001010000000000");
    }
    CU_ASSERT_EQUAL(msgsec_keycache_take(c, &w[4], &res), MSGSEC_ERR_STATE);
    /* Now a hit, no fetch. */
    msgsec_keycache_waiter w2 = {.wake = f_wake, .arg = &f};
    CU_ASSERT_EQUAL(msgsec_keycache_get(c, AKID, "af;ua=0100000007", &w2, &res), 0);
    CU_ASSERT_EQUAL(res.key[31], 0x5a);
    CU_ASSERT_EQUAL(f.fetches, 2);
    msgsec_keycache_stats st;
    msgsec_keycache_get_stats(c, &st);
    CU_ASSERT_EQUAL(st.entries, 2);
    CU_ASSERT_EQUAL(st.fetching, 1);
    /* Freed with a fetch in flight: abandoned, not leaked. */
    msgsec_keycache_cancel(c, &other);
    msgsec_keycache_free(c);
    CU_ASSERT_EQUAL(f.abandoned, 1);
}

static void test_cache_expiry(void)
{
    fake f;
    msgsec_keycache *c = fake_cache(&f, 8);
    CU_ASSERT_PTR_NOT_NULL_FATAL(c);
    msgsec_keycache_waiter w = {.wake = f_wake, .arg = &f};
    msgsec_keycache_result res, r;
    CU_ASSERT_EQUAL(msgsec_keycache_get(c, "a@b.c", "x", &w, &res), MSGSEC_PENDING);
    fake_result(&r, 1, f.now + 10);
    msgsec_keycache_complete(c, f.tokens[0], &r);
    CU_ASSERT_EQUAL(msgsec_keycache_take(c, &w, &res), 0);
    f.now += 9;
    CU_ASSERT_EQUAL(msgsec_keycache_get(c, "a@b.c", "x", &w, &res), 0);
    /* At its expiry the key is never handed out: fetched again. */
    f.now += 1;
    CU_ASSERT_EQUAL(msgsec_keycache_get(c, "a@b.c", "x", &w, &res), MSGSEC_PENDING);
    CU_ASSERT_EQUAL(f.fetches, 2);
    /* An answer that is already stale reaches the waiters as expired and
     * is not stored. */
    fake_result(&r, 2, f.now - 1);
    msgsec_keycache_complete(c, f.tokens[1], &r);
    CU_ASSERT_EQUAL(msgsec_keycache_take(c, &w, &res), 0);
    CU_ASSERT_EQUAL(res.rc, MSGSEC_ERR_KEY_EXPIRED);
    CU_ASSERT_PTR_NOT_NULL(strstr(res.detail, "expired"));
    msgsec_keycache_stats st;
    msgsec_keycache_get_stats(c, &st);
    CU_ASSERT_EQUAL(st.entries, 0);
    CU_ASSERT_EQUAL(st.expired, 1);
    msgsec_keycache_free(c);
}

static void test_cache_bound(void)
{
    fake f;
    msgsec_keycache *c = fake_cache(&f, 2);
    CU_ASSERT_PTR_NOT_NULL_FATAL(c);
    msgsec_keycache_waiter w = {.wake = f_wake, .arg = &f};
    msgsec_keycache_result res, r;
    const char *ids[] = {"1@b.c", "2@b.c", "3@b.c"};
    for (int i = 0; i < 2; i++) {
        CU_ASSERT_EQUAL(msgsec_keycache_get(c, ids[i], "x", &w, &res),
                        MSGSEC_PENDING);
        fake_result(&r, (uint8_t)i, f.now + 100);
        msgsec_keycache_complete(c, f.tokens[i], &r);
        CU_ASSERT_EQUAL(msgsec_keycache_take(c, &w, &res), 0);
    }
    /* Touch 1: 2 is now the least recently used. */
    CU_ASSERT_EQUAL(msgsec_keycache_get(c, ids[0], "x", &w, &res), 0);
    CU_ASSERT_EQUAL(msgsec_keycache_get(c, ids[2], "x", &w, &res), MSGSEC_PENDING);
    msgsec_keycache_stats st;
    msgsec_keycache_get_stats(c, &st);
    CU_ASSERT_EQUAL(st.entries, 2);
    CU_ASSERT_EQUAL(st.evictions, 1);
    /* Full of fetches in flight: refused, not grown. */
    msgsec_keycache_waiter w2 = {.wake = f_wake, .arg = &f};
    msgsec_keycache_result res2;
    CU_ASSERT_EQUAL(msgsec_keycache_get(c, ids[1], "x", &w2, &res2),
                    MSGSEC_PENDING); /* evicts 1, the last stored one */
    msgsec_keycache_waiter w3 = {.wake = f_wake, .arg = &f};
    CU_ASSERT_EQUAL(msgsec_keycache_get(c, "4@b.c", "x", &w3, &res2),
                    MSGSEC_ERR_LOOKUP_FAILED);
    CU_ASSERT_PTR_NOT_NULL(strstr(res2.detail, "in flight"));
    fake_result(&r, 3, f.now + 100);
    msgsec_keycache_complete(c, f.tokens[2], &r);
    CU_ASSERT_EQUAL(msgsec_keycache_take(c, &w, &res), 0);
    CU_ASSERT_EQUAL(res.key[0], 3);
    /* A failed fetch is reported and not stored. */
    r.rc = MSGSEC_ERR_LOOKUP_FAILED;
    snprintf(r.detail, sizeof(r.detail), "the AAnF refused");
    msgsec_keycache_complete(c, f.tokens[3], &r);
    CU_ASSERT_EQUAL(msgsec_keycache_take(c, &w2, &res2), 0);
    CU_ASSERT_EQUAL(res2.rc, MSGSEC_ERR_LOOKUP_FAILED);
    CU_ASSERT_STRING_EQUAL(res2.detail, "the AAnF refused");
    msgsec_keycache_get_stats(c, &st);
    CU_ASSERT_EQUAL(st.entries, 1);
    CU_ASSERT_EQUAL(st.fetching, 0);
    /* A fetch that cannot start leaves nothing behind. */
    f.fail_next = 1;
    CU_ASSERT_EQUAL(msgsec_keycache_get(c, "5@b.c", "x", &w3, &res2),
                    MSGSEC_ERR_LOOKUP_FAILED);
    CU_ASSERT_STRING_EQUAL(res2.detail, "refused by the fake");
    msgsec_keycache_get_stats(c, &st);
    CU_ASSERT_EQUAL(st.entries, 1);
    CU_ASSERT_PTR_NULL(w3.entry);
    /* Bad arguments. */
    CU_ASSERT_EQUAL(msgsec_keycache_get(c, "", "x", &w3, &res2),
                    MSGSEC_ERR_INVALID_ARG);
    msgsec_keycache_free(c);
    CU_ASSERT_EQUAL(f.abandoned, 0);
}

/* ------------------------------------------------ through the core */

static void test_handshake(void)
{
    msgsec_core *af = af_core(main_emu->root, NULL);
    CU_ASSERT_PTR_NOT_NULL_FATAL(af);
    int before = emu_retrieves(main_emu);
    good_handshake(ue0, af, AKID, SUPI);
    CU_ASSERT_EQUAL(emu_retrieves(main_emu), before + 1);
    /* The same A-KID again: from the cache, no AAnF round trip. */
    good_handshake(ue0, af, AKID, SUPI);
    good_handshake(ue0, af, AKID, SUPI);
    CU_ASSERT_EQUAL(emu_retrieves(main_emu), before + 1);
    msgsec_core_free(af);
    /* Keys never reach the log. */
    CU_ASSERT_FALSE(log_has(K_AF));
    CU_ASSERT_FALSE(log_has(K_AKMA));
    CU_ASSERT_FALSE(log_has(KAUSF));
}

/* A plain TLS 1.3 client that knows nothing of msgsec, with K_AF computed
 * here independently (HMAC-SHA-256 over TS 33.220's S). */
static void kdf_hmac(const uint8_t *key, uint8_t fc, const uint8_t *p0,
                     size_t l0, const uint8_t *p1, size_t l1, uint8_t *out)
{
    uint8_t s[512];
    size_t n = 0;
    s[n++] = fc;
    memcpy(s + n, p0, l0);
    n += l0;
    s[n++] = (uint8_t)(l0 >> 8);
    s[n++] = (uint8_t)l0;
    if (p1) {
        memcpy(s + n, p1, l1);
        n += l1;
        s[n++] = (uint8_t)(l1 >> 8);
        s[n++] = (uint8_t)l1;
    }
    unsigned olen = 0;
    HMAC(EVP_sha256(), key, 32, s, n, out, &olen);
}

typedef msgsec_test_wire outbuf;
#define ob_write msgsec_test_wire_write

static void test_plain_tls_client(void)
{
    uint8_t kausf[32], kakma[32], kaf[32], want[32];
    CU_ASSERT_EQUAL_FATAL(hex2bin(KAUSF, kausf, 32), 0);
    kdf_hmac(kausf, 0x80, (const uint8_t *)"AKMA", 4,
             (const uint8_t *)"001010000000001", 15, kakma);
    uint8_t afid[64];
    memcpy(afid, FQDN, strlen(FQDN));
    memcpy(afid + strlen(FQDN), "\x01\x00\x00\x00\x07", 5);
    kdf_hmac(kakma, 0x82, afid, strlen(FQDN) + 5, NULL, 0, kaf);
    CU_ASSERT_EQUAL(hex2bin(K_AF, want, 32), 0);
    CU_ASSERT_EQUAL(memcmp(kaf, want, 32), 0);

    msgsec_core *af = af_core(main_emu->root, NULL);
    CU_ASSERT_PTR_NOT_NULL_FATAL(af);
    msgsec_tlspsk_config cfg = {.size = sizeof(cfg)};
    msgsec_tlspsk_ctx *ctx = NULL;
    CU_ASSERT_EQUAL_FATAL(msgsec_tlspsk_ctx_new(&cfg, &ctx, NULL, 0), 0);
    outbuf *ob = calloc(1, sizeof(*ob));
    const char *ident = "3GPP-AKMA" AKID;
    msgsec_tlspsk_conn_config cc = {.size = sizeof(cc),
                                    .role = MSGSEC_ROLE_CLIENT,
                                    .arg = ob,
                                    .write = ob_write,
                                    .identity = (const uint8_t *)ident,
                                    .identity_len = strlen(ident),
                                    .key = kaf,
                                    .key_len = 32,
                                    .server_name = FQDN};
    msgsec_tlspsk_conn *conn = NULL;
    CU_ASSERT_EQUAL_FATAL(msgsec_tlspsk_conn_new(ctx, &cc, &conn), 0);
    msgsec_session *s = NULL;
    CU_ASSERT_EQUAL_FATAL(
        msgsec_session_new(af, SVC, MSGSEC_ROLE_SERVER, NULL, &s), 0);
    size_t used;
    int crc = msgsec_tlspsk_step(conn, NULL, 0, &used);
    uint8_t in[16384];
    size_t in_len = 0;
    for (int round = 0; round < 20 && crc != 0; round++) {
        if (ob->n) {
            int rc = msgsec_session_feed(s, ob->b, ob->n);
            ob->n = 0;
            if (rc == MSGSEC_PENDING)
                rc = msgsec_session_wait(s, 10000);
            CU_ASSERT(rc >= 0);
        }
        size_t n = msgsec_session_pull(s, in + in_len, sizeof(in) - in_len);
        in_len += n;
        crc = msgsec_tlspsk_step(conn, in, in_len, &used);
        memmove(in, in + used, in_len - used);
        in_len -= used;
        if (crc < 0)
            break;
    }
    CU_ASSERT_EQUAL(crc, 0);
    if (ob->n)
        msgsec_session_feed(s, ob->b, ob->n);
    CU_ASSERT_EQUAL(msgsec_session_state(s), MSGSEC_STATE_ESTABLISHED);
    msgsec_peer peer;
    if (msgsec_session_peer(s, &peer) == 0)
        CU_ASSERT_STRING_EQUAL(peer.identity, AKID);
    /* A record from the plain client reaches the server in stream mode of
     * the TLS layer: the session uses message framing, so only check that
     * the exporter agrees. */
    uint8_t e1[32], e2[32];
    CU_ASSERT_EQUAL(msgsec_tlspsk_export(conn, "EXPORTER-x", NULL, 0, e1, 32),
                    0);
    CU_ASSERT_EQUAL(msgsec_session_export_key(s, "EXPORTER-x", NULL, 0, e2,
                                              32), 0);
    CU_ASSERT_EQUAL(memcmp(e1, e2, 32), 0);
    msgsec_session_free(s);
    msgsec_tlspsk_conn_free(conn);
    msgsec_tlspsk_ctx_free(ctx);
    free(ob);
    msgsec_core_free(af);
    OPENSSL_cleanse(kaf, sizeof(kaf));
    OPENSSL_cleanse(kakma, sizeof(kakma));
}

/* Many connections for one A-KID while the AAnF is slow: one request. */
static void test_concurrent_one_request(void)
{
    emu *slow = emu_start("--delay-ms", "400", NULL);
    CU_ASSERT_PTR_NOT_NULL_FATAL(slow);
    char kausf[65], supi[32], akid[256];
    ue_of(1, kausf, supi);
    CU_ASSERT_EQUAL_FATAL(reg_ue(slow, kausf, supi, akid, sizeof(akid)), 0);
    msgsec_core *ue = ue_core(kausf, supi, NULL);
    msgsec_core *af = af_core(slow->root, NULL);
    CU_ASSERT_PTR_NOT_NULL_FATAL(ue);
    CU_ASSERT_PTR_NOT_NULL_FATAL(af);
    enum { N = 20 };
    pair p[N];
    for (int i = 0; i < N; i++) {
        CU_ASSERT_EQUAL_FATAL(pair_new(&p[i], ue, af), 0);
        move(p[i].c, p[i].s, &p[i].src);
        CU_ASSERT_EQUAL(msgsec_session_state(p[i].s), MSGSEC_STATE_PENDING);
    }
    /* The event loop: the core's descriptor, then dispatch. */
    int woken = 0;
    for (int t = 0; t < 100 && woken < N; t++) {
        struct pollfd pf = {.fd = msgsec_core_fd(af), .events = POLLIN};
        if (poll(&pf, 1, 100) > 0)
            woken += msgsec_core_dispatch(af, NULL, NULL);
    }
    CU_ASSERT_EQUAL(woken, N);
    for (int i = 0; i < N; i++) {
        CU_ASSERT_EQUAL(pump(&p[i]), 0);
        pair_free(&p[i]);
    }
    CU_ASSERT_EQUAL(emu_retrieves(slow), 1);
    msgsec_core_free(af);
    msgsec_core_free(ue);
    emu_stop(slow);
}

/* The same from several threads sharing one AF core. */
typedef struct thr {
    msgsec_core *ue, *af;
    int ok;
} thr;

static void *thr_run(void *arg)
{
    thr *t = arg;
    for (int i = 0; i < 5; i++) {
        pair p;
        if (pair_new(&p, t->ue, t->af) == 0 && pump(&p) == 0)
            t->ok++;
        pair_free(&p);
    }
    return NULL;
}

static void test_threads_one_request(void)
{
    emu *slow = emu_start("--delay-ms", "200", NULL);
    CU_ASSERT_PTR_NOT_NULL_FATAL(slow);
    char kausf[65], supi[32], akid[256];
    ue_of(2, kausf, supi);
    CU_ASSERT_EQUAL_FATAL(reg_ue(slow, kausf, supi, akid, sizeof(akid)), 0);
    msgsec_core *ue = ue_core(kausf, supi, NULL);
    msgsec_core *af = af_core(slow->root, NULL);
    CU_ASSERT_PTR_NOT_NULL_FATAL(ue);
    CU_ASSERT_PTR_NOT_NULL_FATAL(af);
    thr t[4];
    pthread_t th[4];
    for (int i = 0; i < 4; i++) {
        t[i] = (thr){ue, af, 0};
        CU_ASSERT_EQUAL_FATAL(pthread_create(&th[i], NULL, thr_run, &t[i]),
                              0);
    }
    int ok = 0;
    for (int i = 0; i < 4; i++) {
        pthread_join(th[i], NULL);
        ok += t[i].ok;
    }
    CU_ASSERT_EQUAL(ok, 20);
    CU_ASSERT_EQUAL(emu_retrieves(slow), 1);
    msgsec_core_free(af);
    msgsec_core_free(ue);
    emu_stop(slow);
}

/* A session freed while it waits: no wake afterwards, the answer still
 * fills the cache. */
static void test_end_while_pending(void)
{
    emu *slow = emu_start("--delay-ms", "300", NULL);
    CU_ASSERT_PTR_NOT_NULL_FATAL(slow);
    char kausf[65], supi[32], akid[256];
    ue_of(3, kausf, supi);
    CU_ASSERT_EQUAL_FATAL(reg_ue(slow, kausf, supi, akid, sizeof(akid)), 0);
    msgsec_core *ue = ue_core(kausf, supi, NULL);
    msgsec_core *af = af_core(slow->root, NULL);
    CU_ASSERT_PTR_NOT_NULL_FATAL(ue);
    CU_ASSERT_PTR_NOT_NULL_FATAL(af);
    pair p;
    CU_ASSERT_EQUAL_FATAL(pair_new(&p, ue, af), 0);
    move(p.c, p.s, &p.src);
    CU_ASSERT_EQUAL(msgsec_session_state(p.s), MSGSEC_STATE_PENDING);
    pair_free(&p);
    /* Let the answer arrive with nobody waiting. */
    struct timespec ts = {0, 600 * 1000000L};
    nanosleep(&ts, NULL);
    CU_ASSERT_EQUAL(msgsec_core_dispatch(af, NULL, NULL), 0);
    good_handshake(ue, af, akid, supi);
    CU_ASSERT_EQUAL(emu_retrieves(slow), 1);
    msgsec_core_free(af);
    msgsec_core_free(ue);
    emu_stop(slow);
}

/* The provider freed (core freed) while a request is in flight. */
static void test_free_while_fetching(void)
{
    emu *slow = emu_start("--delay-ms", "500", NULL);
    CU_ASSERT_PTR_NOT_NULL_FATAL(slow);
    char kausf[65], supi[32], akid[256];
    ue_of(8, kausf, supi);
    CU_ASSERT_EQUAL_FATAL(reg_ue(slow, kausf, supi, akid, sizeof(akid)), 0);
    msgsec_core *ue = ue_core(kausf, supi, NULL);
    msgsec_core *af = af_core(slow->root, NULL);
    CU_ASSERT_PTR_NOT_NULL_FATAL(ue);
    CU_ASSERT_PTR_NOT_NULL_FATAL(af);
    pair p;
    CU_ASSERT_EQUAL_FATAL(pair_new(&p, ue, af), 0);
    move(p.c, p.s, &p.src);
    CU_ASSERT_EQUAL(msgsec_session_state(p.s), MSGSEC_STATE_PENDING);
    pair_free(&p);
    msgsec_core_free(af);
    msgsec_core_free(ue);
    emu_stop(slow);
}

/* psk_ke only where policy allows it: the AF that prefers it gives up
 * forward secrecy, and says so in the peer's capabilities. */
static void test_psk_ke(void)
{
    msgsec_core *ue = core_from(policy("kakma = " K_AKMA "\nakid = " AKID
                                       "\nallow_psk_ke = yes\n"),
                                NULL, NULL, 0);
    msgsec_core *af = af_core(main_emu->root, "allow_psk_ke = prefer\n");
    CU_ASSERT_PTR_NOT_NULL_FATAL(ue);
    CU_ASSERT_PTR_NOT_NULL_FATAL(af);
    CU_ASSERT_EQUAL_FATAL(reg_ue(main_emu, KAUSF, SUPI, akid0, sizeof(akid0)),
                          0);
    pair p;
    CU_ASSERT_EQUAL_FATAL(pair_new(&p, ue, af), 0);
    CU_ASSERT_EQUAL(pump(&p), 0);
    msgsec_peer peer;
    if (msgsec_session_peer(p.s, &peer) == 0) {
        CU_ASSERT_STRING_EQUAL(peer.identity, AKID);
        CU_ASSERT_FALSE(peer.caps & MSGSEC_CAP_FORWARD_SECRECY);
        CU_ASSERT(peer.caps & MSGSEC_CAP_MUTUAL_AUTH);
    }
    pair_free(&p);
    msgsec_core_free(af);
    /* The default AF keeps psk_dhe_ke with the same UE. */
    af = af_core(main_emu->root, NULL);
    CU_ASSERT_PTR_NOT_NULL_FATAL(af);
    good_handshake(ue, af, AKID, SUPI);
    msgsec_core_free(af);
    msgsec_core_free(ue);
}

/* A wrong key at the UE with a valid A-KID: both sides fail
 * authentication; a good client on the same AF still gets in. */
static void test_wrong_key(void)
{
    msgsec_core *af = af_core(main_emu->root, NULL);
    msgsec_core *bad_ue = core_from(
        policy("kakma = " WRONG_KEY "\nakid = " AKID "\n"),
        NULL, NULL, 0);
    CU_ASSERT_PTR_NOT_NULL_FATAL(af);
    CU_ASSERT_PTR_NOT_NULL_FATAL(bad_ue);
    int crc, src;
    char cd[1024], sd[1024];
    bad_handshake(bad_ue, af, &crc, &src, cd, sd, sizeof(cd));
    CU_ASSERT_EQUAL(crc, MSGSEC_ERR_AUTH_FAILED);
    CU_ASSERT_EQUAL(src, MSGSEC_ERR_AUTH_FAILED);
    CU_ASSERT_PTR_NOT_NULL(strstr(sd, "binder"));
    good_handshake(ue0, af, AKID, SUPI);
    msgsec_core_free(bad_ue);
    msgsec_core_free(af);
}

/* An A-KID the AAnF does not know (here: a UE whose K_AUSF the network
 * never had): 204, and the UE is told to re-authenticate. */
static void test_unknown_akid(void)
{
    msgsec_core *af = af_core(main_emu->root, NULL);
    char kausf[65], supi[32];
    ue_of(9, kausf, supi);
    msgsec_core *stranger = ue_core(kausf, supi, NULL);
    CU_ASSERT_PTR_NOT_NULL_FATAL(af);
    CU_ASSERT_PTR_NOT_NULL_FATAL(stranger);
    int before = emu_retrieves(main_emu);
    int crc, src;
    char cd[1024], sd[1024];
    bad_handshake(stranger, af, &crc, &src, cd, sd, sizeof(cd));
    CU_ASSERT_EQUAL(crc, MSGSEC_ERR_REAUTH_REQUIRED);
    CU_ASSERT_PTR_NOT_NULL(strstr(cd, "primary authentication"));
    CU_ASSERT_EQUAL(src, MSGSEC_ERR_KEY_UNAVAILABLE);
    CU_ASSERT_PTR_NOT_NULL(strstr(sd, "204"));
    CU_ASSERT_PTR_NOT_NULL(strstr(sd, "unknown_psk_identity"));
    CU_ASSERT_EQUAL(emu_retrieves(main_emu), before + 1);
    /* Not cached: asked again next time. */
    bad_handshake(stranger, af, &crc, &src, cd, sd, sizeof(cd));
    CU_ASSERT_EQUAL(emu_retrieves(main_emu), before + 2);
    good_handshake(ue0, af, AKID, SUPI);
    msgsec_core_free(stranger);
    msgsec_core_free(af);
}

/* The AAnF goes away: unknown A-KIDs fail with LOOKUP_FAILED, cached ones
 * keep working. */
static void test_aanf_down(void)
{
    emu *e = emu_start(NULL);
    CU_ASSERT_PTR_NOT_NULL_FATAL(e);
    char kausf[65], supi[32], akid[256];
    ue_of(4, kausf, supi);
    CU_ASSERT_EQUAL_FATAL(reg_ue(e, kausf, supi, akid, sizeof(akid)), 0);
    CU_ASSERT_EQUAL_FATAL(reg_ue(e, KAUSF, SUPI, akid0, sizeof(akid0)), 0);
    msgsec_core *ue = ue_core(kausf, supi, NULL);
    msgsec_core *af = af_core(e->root, NULL);
    CU_ASSERT_PTR_NOT_NULL_FATAL(ue);
    CU_ASSERT_PTR_NOT_NULL_FATAL(af);
    good_handshake(ue0, af, AKID, SUPI);
    emu_stop(e);
    int crc, src;
    char cd[1024], sd[1024];
    bad_handshake(ue, af, &crc, &src, cd, sd, sizeof(cd));
    CU_ASSERT_EQUAL(src, MSGSEC_ERR_LOOKUP_FAILED);
    CU_ASSERT_PTR_NOT_NULL(strstr(sd, "unreachable"));
    CU_ASSERT_PTR_NOT_NULL(strstr(sd, "internal_error"));
    CU_ASSERT_EQUAL(crc, MSGSEC_ERR_PEER_REJECTED);
    CU_ASSERT_PTR_NOT_NULL(strstr(cd, "retrying later"));
    CU_ASSERT(log_has("unreachable"));
    good_handshake(ue0, af, AKID, SUPI);
    msgsec_core_free(ue);
    msgsec_core_free(af);
}

/* One AAnF misbehaviour: the AF's error code and a word of its detail. */
static void aanf_failure(const char *opt, const char *val, const char *extra,
                         int want, const char *word)
{
    emu *e = emu_start(opt, val, NULL);
    CU_ASSERT_PTR_NOT_NULL_FATAL(e);
    CU_ASSERT_EQUAL_FATAL(reg_ue(e, KAUSF, SUPI, akid0, sizeof(akid0)), 0);
    msgsec_core *af = af_core(e->root, extra);
    CU_ASSERT_PTR_NOT_NULL_FATAL(af);
    int crc, src;
    char cd[1024], sd[1024];
    bad_handshake(ue0, af, &crc, &src, cd, sd, sizeof(cd));
    CU_ASSERT_EQUAL(src, want);
    if (src != want)
        fprintf(stderr, "%s: got %s: %s\n", opt, msgsec_error_name(src), sd);
    CU_ASSERT_PTR_NOT_NULL(strstr(sd, word));
    CU_ASSERT_EQUAL(crc, MSGSEC_ERR_PEER_REJECTED);
    CU_ASSERT_FALSE(log_has(K_AF));
    msgsec_core_free(af);
    emu_stop(e);
}

static void test_aanf_timeout(void)
{
    aanf_failure("--delay-ms", "2000", "aanf_timeout_ms = 200\n",
                 MSGSEC_ERR_TIMEOUT, "did not answer within 200 ms");
}

static void test_aanf_garbage(void)
{
    aanf_failure("--garbage", NULL, NULL, MSGSEC_ERR_LOOKUP_FAILED,
                 "malformed answer");
}

static void test_aanf_wrong_kaf_length(void)
{
    aanf_failure("--wrong-kaf-length", NULL, NULL, MSGSEC_ERR_LOOKUP_FAILED,
                 "/kaf");
}

static void test_aanf_problem(void)
{
    aanf_failure("--fail-status", "503", NULL, MSGSEC_ERR_LOOKUP_FAILED,
                 "HTTP 503: Service Unavailable");
}

/* K_AF is not used past its expiry: the next connection fetches again. */
static void test_expiry(void)
{
    /* Expiry has whole-second precision on the wire: 3 s leaves a loaded
     * (sanitizer) run at least 2 s for the first handshake. */
    emu *e = emu_start("--expiry", "3", NULL);
    CU_ASSERT_PTR_NOT_NULL_FATAL(e);
    char kausf[65], supi[32], akid[256];
    ue_of(5, kausf, supi);
    CU_ASSERT_EQUAL_FATAL(reg_ue(e, kausf, supi, akid, sizeof(akid)), 0);
    msgsec_core *ue = ue_core(kausf, supi, NULL);
    msgsec_core *af = af_core(e->root, NULL);
    CU_ASSERT_PTR_NOT_NULL_FATAL(ue);
    CU_ASSERT_PTR_NOT_NULL_FATAL(af);
    good_handshake(ue, af, akid, supi);
    CU_ASSERT_EQUAL(emu_retrieves(e), 1);
    sleep(4);
    /* The AAnF's context expired too: 204 and re-authentication... */
    int crc, src;
    char cd[1024], sd[1024];
    bad_handshake(ue, af, &crc, &src, cd, sd, sizeof(cd));
    CU_ASSERT_EQUAL(crc, MSGSEC_ERR_REAUTH_REQUIRED);
    CU_ASSERT_EQUAL(emu_retrieves(e), 2);
    /* ...after which the AUSF registers the UE again. */
    CU_ASSERT_EQUAL_FATAL(reg_ue(e, kausf, supi, akid, sizeof(akid)), 0);
    good_handshake(ue, af, akid, supi);
    CU_ASSERT_EQUAL(emu_retrieves(e), 3);
    msgsec_core_free(af);
    msgsec_core_free(ue);
    emu_stop(e);
}

/* The NEF's retrieve, HTTP/1.1, and a provisioned K_AKMA + A-KID. */
static void test_nef_http11_provisioned(void)
{
    char body[1024];
    snprintf(body, sizeof(body),
             "af_fqdn = " FQDN "\nnef_uri = %s\nhttp_version = 1.1\n",
             main_emu->root);
    msgsec_core *af = core_from(policy(body), NULL, NULL, 0);
    msgsec_core *ue = core_from(policy("kakma = " K_AKMA "\nakid = " AKID
                                       "\n"),
                                NULL, NULL, 0);
    CU_ASSERT_PTR_NOT_NULL_FATAL(af);
    CU_ASSERT_PTR_NOT_NULL_FATAL(ue);
    CU_ASSERT_EQUAL_FATAL(reg_ue(main_emu, KAUSF, SUPI, akid0, sizeof(akid0)),
                          0);
    pair p;
    CU_ASSERT_EQUAL_FATAL(pair_new(&p, ue, af), 0);
    CU_ASSERT_EQUAL(pump(&p), 0);
    msgsec_peer peer;
    if (msgsec_session_peer(p.s, &peer) == 0) {
        CU_ASSERT_STRING_EQUAL(peer.identity, AKID);
        CU_ASSERT_PTR_NULL(peer.supi); /* the NEF never exposes it */
    }
    pair_free(&p);
    msgsec_core_free(ue);
    msgsec_core_free(af);
}

/* TLS 1.2 PSK: the Ua* identifier 01 00 01 + suite on both sides, the
 * identity sent after the ClientHello. */
static void test_tls12(void)
{
    emu *e = emu_start(NULL);
    CU_ASSERT_PTR_NOT_NULL_FATAL(e);
    char kausf[65], supi[32], akid[256];
    ue_of(6, kausf, supi);
    CU_ASSERT_EQUAL_FATAL(reg_ue(e, kausf, supi, akid, sizeof(akid)), 0);
    msgsec_core *ue = ue_core(kausf, supi, "tls12 = only\n");
    msgsec_core *af = af_core(e->root, "tls12 = yes\n");
    CU_ASSERT_PTR_NOT_NULL_FATAL(ue);
    CU_ASSERT_PTR_NOT_NULL_FATAL(af);
    good_handshake(ue, af, akid, supi);
    /* TLS 1.3 clients keep working on the same AF; another afId, so
     * another request. */
    msgsec_core *ue13 = ue_core(kausf, supi, NULL);
    good_handshake(ue13, af, akid, supi);
    CU_ASSERT_EQUAL(emu_retrieves(e), 2);
    msgsec_core_free(ue13);
    msgsec_core_free(af);
    msgsec_core_free(ue);
    emu_stop(e);
}

/* Only AKMA ClientHellos are claimed. */
static void test_claim(void)
{
    msgsec_core *af = af_core(main_emu->root, NULL);
    CU_ASSERT_PTR_NOT_NULL_FATAL(af);
    msgsec_tlspsk_config cfg = {.size = sizeof(cfg)};
    msgsec_tlspsk_ctx *ctx = NULL;
    CU_ASSERT_EQUAL_FATAL(msgsec_tlspsk_ctx_new(&cfg, &ctx, NULL, 0), 0);
    outbuf *ob = calloc(1, sizeof(*ob));
    uint8_t key[32] = {1};
    msgsec_tlspsk_conn_config cc = {.size = sizeof(cc),
                                    .role = MSGSEC_ROLE_CLIENT,
                                    .arg = ob,
                                    .write = ob_write,
                                    .identity = (const uint8_t *)"seal-user",
                                    .identity_len = 9,
                                    .key = key,
                                    .key_len = 32};
    msgsec_tlspsk_conn *conn = NULL;
    CU_ASSERT_EQUAL_FATAL(msgsec_tlspsk_conn_new(ctx, &cc, &conn), 0);
    size_t used;
    CU_ASSERT_EQUAL(msgsec_tlspsk_step(conn, NULL, 0, &used),
                    MSGSEC_CONTINUE);
    msgsec_session *s = NULL;
    CU_ASSERT_EQUAL_FATAL(
        msgsec_session_new(af, SVC, MSGSEC_ROLE_SERVER, NULL, &s), 0);
    CU_ASSERT_EQUAL(msgsec_session_feed(s, ob->b, ob->n), MSGSEC_ERR_UNCLAIMED);
    msgsec_session_free(s);
    /* An AKMA identity that is not an A-KID: claimed, then refused
     * without asking the AAnF. */
    msgsec_tlspsk_conn_free(conn);
    ob->n = 0;
    cc.identity = (const uint8_t *)"3GPP-AKMAnot an nai";
    cc.identity_len = strlen("3GPP-AKMAnot an nai");
    CU_ASSERT_EQUAL_FATAL(msgsec_tlspsk_conn_new(ctx, &cc, &conn), 0);
    msgsec_tlspsk_step(conn, NULL, 0, &used);
    CU_ASSERT_EQUAL_FATAL(
        msgsec_session_new(af, SVC, MSGSEC_ROLE_SERVER, NULL, &s), 0);
    int before = emu_retrieves(main_emu);
    CU_ASSERT_EQUAL(msgsec_session_feed(s, ob->b, ob->n),
                    MSGSEC_ERR_AUTH_FAILED);
    CU_ASSERT_PTR_NOT_NULL(strstr(msgsec_session_detail(s), "no valid A-KID"));
    CU_ASSERT_EQUAL(emu_retrieves(main_emu), before);
    msgsec_session_free(s);
    msgsec_tlspsk_conn_free(conn);
    msgsec_tlspsk_ctx_free(ctx);
    free(ob);
    msgsec_core_free(af);
}

/* Runs `msgsec akma register` (the AUSF); its stdout into out. Returns
 * the exit status. */
static int run_register(const char *aanf, const char *kausf,
                        const char *supi, const char *extra, char *out,
                        size_t cap)
{
    char path[1024];
    snprintf(path, sizeof(path), "%s/tools/msgsec", builddir());
    int fds[2];
    if (pipe(fds) != 0)
        return -1;
    pid_t pid = fork();
    if (pid < 0)
        return -1;
    if (pid == 0) {
        dup2(fds[1], 1);
        int null = open("/dev/null", O_WRONLY);
        if (null >= 0)
            dup2(null, 2); /* the refusals below are expected */
        close(fds[0]);
        close(fds[1]);
        char *argv[] = {path,   "akma",         "register", "--aanf",
                        (char *)aanf, "--kausf", (char *)kausf, "--supi",
                        (char *)supi, "--rid",   "0",      "--mcc",
                        "001",  "--mnc",        "01",       (char *)extra,
                        NULL};
        execv(path, argv);
        _exit(127);
    }
    close(fds[1]);
    size_t n = 0;
    ssize_t r;
    while (n + 1 < cap && (r = read(fds[0], out + n, cap - 1 - n)) > 0)
        n += (size_t)r;
    out[n] = 0;
    close(fds[0]);
    int st = 0;
    waitpid(pid, &st, 0);
    return WIFEXITED(st) ? WEXITSTATUS(st) : -1;
}

/* The AUSF's part through the tool, then the UE gets in. */
static void test_register_tool(void)
{
    emu *e = emu_start(NULL);
    CU_ASSERT_PTR_NOT_NULL_FATAL(e);
    char kausf[65], supi[32], out[512], want[512];
    ue_of(7, kausf, supi);
    CU_ASSERT_EQUAL(run_register(e->root, kausf, supi, NULL, out,
                                 sizeof(out)), 0);
    /* The A-KID the UE derives, alone on its line. */
    uint8_t k[32], a_tid[32];
    size_t n;
    CU_ASSERT_EQUAL(hex2bin(kausf, k, 32), 0);
    CU_ASSERT_EQUAL(msgsec_akma_derive_a_tid(NULL, k, 32, supi, strlen(supi),
                                             a_tid), 0);
    CU_ASSERT_EQUAL(msgsec_akid_build(NULL, "0", 1, a_tid, "001", 3, "01", 2,
                                      want, sizeof(want) - 1, &n), 0);
    strcat(want, "\n");
    CU_ASSERT_STRING_EQUAL(out, want);
    want[strlen(want) - 1] = 0;
    msgsec_core *ue = ue_core(kausf, supi, NULL);
    msgsec_core *af = af_core(e->root, NULL);
    CU_ASSERT_PTR_NOT_NULL_FATAL(ue);
    CU_ASSERT_PTR_NOT_NULL_FATAL(af);
    good_handshake(ue, af, want, supi);
    msgsec_core_free(ue);
    msgsec_core_free(af);
    /* An AAnF reading base64 keys refuses hex ones: exit 4, nothing on
     * stdout. */
    emu *b64 = emu_start("--key-encoding", "base64", NULL);
    CU_ASSERT_PTR_NOT_NULL_FATAL(b64);
    CU_ASSERT_EQUAL(run_register(b64->root, kausf, supi, NULL, out,
                                 sizeof(out)), 4);
    CU_ASSERT_STRING_EQUAL(out, "");
    CU_ASSERT_EQUAL(run_register(b64->root, kausf, supi,
                                 "--key-encoding=base64", out, sizeof(out)),
                    0);
    /* The AF reads the same setting. */
    ue = ue_core(kausf, supi, NULL);
    af = af_core(b64->root, "aanf_key_encoding = base64\n");
    CU_ASSERT_PTR_NOT_NULL_FATAL(ue);
    CU_ASSERT_PTR_NOT_NULL_FATAL(af);
    good_handshake(ue, af, want, supi);
    msgsec_core_free(af);
    /* Mismatched: the AF cannot read the key. */
    af = af_core(b64->root, NULL);
    CU_ASSERT_PTR_NOT_NULL_FATAL(af);
    int crc, src;
    char cd[1024], sd[1024];
    bad_handshake(ue, af, &crc, &src, cd, sd, sizeof(cd));
    CU_ASSERT_EQUAL(src, MSGSEC_ERR_LOOKUP_FAILED);
    CU_ASSERT_PTR_NOT_NULL(strstr(sd, "/kaf"));
    msgsec_core_free(af);
    msgsec_core_free(ue);
    emu_stop(b64);
    /* The afId without the Ua* identifier, on both sides. */
    emu *bare = emu_start("--afid-format", "fqdn", NULL);
    CU_ASSERT_PTR_NOT_NULL_FATAL(bare);
    CU_ASSERT_EQUAL(run_register(bare->root, kausf, supi, NULL, out,
                                 sizeof(out)), 0);
    ue = ue_core(kausf, supi, NULL);
    af = af_core(bare->root, "aanf_afid_format = fqdn\n");
    CU_ASSERT_PTR_NOT_NULL_FATAL(ue);
    CU_ASSERT_PTR_NOT_NULL_FATAL(af);
    good_handshake(ue, af, want, supi);
    msgsec_core_free(af);
    msgsec_core_free(ue);
    emu_stop(bare);
    emu_stop(e);
    /* Nobody listening: exit 4. */
    CU_ASSERT_EQUAL(run_register(e->root, kausf, supi, NULL, out,
                                 sizeof(out)), 4);
}

/* ------------------------------------------------- configuration */

/* The core refuses the policy; detail names FILE:LINE of key and a
 * word. */
static void expect_refused(const char *body, const char *key, int line,
                           const char *word)
{
    const char *text = policy(body);
    char d[1024];
    int rc = 0;
    msgsec_core *c = core_from(text, &rc, d, sizeof(d));
    CU_ASSERT_PTR_NULL(c);
    msgsec_core_free(c);
    CU_ASSERT_EQUAL(rc, MSGSEC_ERR_PROVIDER_MANDATORY);
    char at[600];
    /* The file is the last one written. */
    snprintf(at, sizeof(at), "%s at ", key);
    CU_ASSERT_PTR_NOT_NULL(strstr(d, at));
    snprintf(at, sizeof(at), ".conf:%d", line);
    CU_ASSERT_PTR_NOT_NULL(strstr(d, at));
    CU_ASSERT_PTR_NOT_NULL(strstr(d, word));
    if (!strstr(d, word) || !strstr(d, at))
        fprintf(stderr, "detail: %s\n", d);
}

/* Lines: 1 [core], 2 provider_dir, 3 [provider.akma], 4 support,
 * 5 module, 6... the body. */
static void test_config_errors(void)
{
    expect_refused("aanf_uri = http://127.0.0.1:1\n", "aanf_uri", 6,
                   "af_fqdn");
    expect_refused("af_fqdn = " FQDN "\naanf_uri = ftp://x\n", "aanf_uri", 7,
                   "apiRoot");
    expect_refused("kausf = 00112233\nsupi = " SUPI "\n", "kausf", 6,
                   "64 hex digits");
    expect_refused("kausf = " KAUSF "\nsupi = " SUPI "\n", "kausf", 6,
                   "also needs rid");
    expect_refused("kausf = " KAUSF "\nsupi = " SUPI
                   "\nrid = 12345\nmcc = 001\nmnc = 01\n",
                   "rid", 8, "1 to 4 digits");
    expect_refused("kakma = " K_AKMA "\nakid = no-at-sign\n", "akid", 7,
                   "not an A-KID");
    expect_refused("af_fqdn = " FQDN "\naanf_uri = http://127.0.0.1:1\n"
                   "cache_size = 0\n",
                   "cache_size", 8, "from 1 to");
    expect_refused("af_fqdn = " FQDN "\naanf_uri = http://127.0.0.1:1\n"
                   "tls12 = maybe\n",
                   "tls12", 8, "no, yes or only");
    expect_refused("af_fqdn = " FQDN "\naanf_uri = http://127.0.0.1:1\n"
                   "tls12_cipher = PSK-AES128-GCM-SHA256\n",
                   "tls12_cipher", 8, "forward secrecy");
    expect_refused("af_fqdn = " FQDN "\naanf_uri = http://127.0.0.1:1\n"
                   "tls12 = yes\naanf_afid_format = fqdn\n",
                   "aanf_afid_format", 9, "fqdn-ua");
    /* A section without either role. */
    char d[1024];
    int rc = 0;
    msgsec_core *c = core_from(policy(""), &rc, d, sizeof(d));
    CU_ASSERT_PTR_NULL(c);
    CU_ASSERT_PTR_NOT_NULL(strstr(d, "nothing to do"));
    msgsec_core_free(c);
}

static const char *key_file(const char *hex, mode_t mode)
{
    static int seq;
    static char path[2][512];
    char *p = path[seq % 2];
    snprintf(p, 512, "%s/key-%d", tmpdir, seq++);
    int fd = open(p, O_WRONLY | O_CREAT | O_TRUNC, 0600);
    if (fd < 0)
        return NULL;
    ssize_t w = write(fd, hex, strlen(hex));
    close(fd);
    if (w != (ssize_t)strlen(hex) || chmod(p, mode) != 0)
        return NULL;
    return p;
}

static void test_key_files(void)
{
    char body[1024];
    /* A good key file: the DOMAIN.md UE works from it. */
    const char *kf = key_file(KAUSF "\n", 0600);
    CU_ASSERT_PTR_NOT_NULL_FATAL(kf);
    snprintf(body, sizeof(body),
             "kausf_file = %s\nsupi = " SUPI "\nrid = 0\nmcc = 001\n"
             "mnc = 01\n", kf);
    msgsec_core *ue = core_from(policy(body), NULL, NULL, 0);
    msgsec_core *af = af_core(main_emu->root, NULL);
    CU_ASSERT_PTR_NOT_NULL_FATAL(ue);
    CU_ASSERT_PTR_NOT_NULL_FATAL(af);
    CU_ASSERT_EQUAL_FATAL(reg_ue(main_emu, KAUSF, SUPI, akid0, sizeof(akid0)),
                          0);
    good_handshake(ue, af, AKID, SUPI);
    msgsec_core_free(ue);
    msgsec_core_free(af);
    unlink(kf);
    /* Readable by the group: refused. */
    kf = key_file(KAUSF, 0640);
    CU_ASSERT_PTR_NOT_NULL_FATAL(kf);
    snprintf(body, sizeof(body),
             "kausf_file = %s\nsupi = " SUPI "\nrid = 0\nmcc = 001\n"
             "mnc = 01\n", kf);
    expect_refused(body, "kausf_file", 6, "group or others (mode 0640)");
    unlink(kf);
    kf = key_file(K_AKMA, 0604);
    snprintf(body, sizeof(body), "kakma_file = %s\nakid = " AKID "\n", kf);
    expect_refused(body, "kakma_file", 6, "mode 0604");
    unlink(kf);
    /* Not a key. */
    kf = key_file("not hex at all", 0600);
    snprintf(body, sizeof(body), "kakma_file = %s\nakid = " AKID "\n", kf);
    expect_refused(body, "kakma_file", 6, "64 hex digits");
    unlink(kf);
    snprintf(body, sizeof(body), "kakma_file = %s/absent\nakid = " AKID "\n",
             tmpdir);
    expect_refused(body, "kakma_file", 6, "cannot open");
    /* Both ways at once. */
    kf = key_file(K_AKMA, 0600);
    snprintf(body, sizeof(body),
             "kakma = " K_AKMA "\nkakma_file = %s\nakid = " AKID "\n", kf);
    expect_refused(body, "kakma_file", 7, "not both");
    unlink(kf);
}

/* A key written in a policy file that others can read is refused. */
static void test_inline_key_policy_mode(void)
{
    const char *path = msgsec_test_write_policy(
        policy("kakma = " K_AKMA "\nakid = " AKID "\n"));
    CU_ASSERT_PTR_NOT_NULL_FATAL(path);
    CU_ASSERT_EQUAL_FATAL(chmod(path, 0644), 0);
    msgsec_core *c = NULL;
    char d[1024] = "";
    int rc = msgsec_core_new(path, NULL, 0, &c, d, sizeof(d));
    CU_ASSERT_EQUAL(rc, MSGSEC_ERR_PROVIDER_MANDATORY);
    CU_ASSERT_PTR_NULL(c);
    CU_ASSERT_PTR_NOT_NULL(strstr(d, "kakma at "));
    CU_ASSERT_PTR_NOT_NULL(strstr(d, "readable by group or others"));
    CU_ASSERT_PTR_NOT_NULL(strstr(d, "kakma_file"));
    msgsec_core_free(c);
    /* Policy text that is no file cannot be checked: refused too. */
    char pd[4096];
    snprintf(pd, sizeof(pd), "[core]\nprovider_dir = %s\n"
                             "[provider.akma]\nsupport = mandatory\n%s"
                             "kakma = " K_AKMA "\nakid = " AKID "\n",
             msgsec_test_provider_dir(), module_line());
    rc = msgsec_core_new_from_string(pd, "<inline>", NULL, 0, &c, d,
                                     sizeof(d));
    CU_ASSERT_NOT_EQUAL(rc, 0);
    CU_ASSERT_PTR_NOT_NULL(strstr(d, "use kakma_file"));
    msgsec_core_free(c);
}

/* A UE session needs the AF's FQDN. */
static void test_ue_needs_fqdn(void)
{
    msgsec_session *s = NULL;
    int rc = msgsec_session_new(ue0, SVC, MSGSEC_ROLE_CLIENT, NULL, &s);
    CU_ASSERT_EQUAL(rc, MSGSEC_ERR_INVALID_ARG);
    CU_ASSERT_PTR_NOT_NULL(strstr(msgsec_last_detail(), "FQDN"));
    msgsec_session_free(s);
    /* af_fqdn in the UE's policy serves as the default. */
    msgsec_core *ue = ue_core(KAUSF, SUPI, "af_fqdn = " FQDN "\n");
    msgsec_core *af = af_core(main_emu->root, NULL);
    CU_ASSERT_PTR_NOT_NULL_FATAL(ue);
    CU_ASSERT_PTR_NOT_NULL_FATAL(af);
    msgsec_session *c = NULL, *sv = NULL;
    CU_ASSERT_EQUAL(msgsec_session_new(ue, SVC, MSGSEC_ROLE_CLIENT, NULL, &c),
                    0);
    CU_ASSERT_EQUAL(msgsec_session_new(af, SVC, MSGSEC_ROLE_SERVER, NULL, &sv),
                    0);
    pair p = {.c = c, .s = sv};
    CU_ASSERT_EQUAL(pump(&p), 0);
    pair_free(&p);
    /* An AF-only core cannot be a UE. */
    CU_ASSERT_EQUAL(msgsec_session_new(af, SVC, MSGSEC_ROLE_CLIENT, NULL, &c),
                    MSGSEC_ERR_UNSUPPORTED);
    msgsec_core_free(ue);
    msgsec_core_free(af);
}

static CU_TestInfo tests[] = {
    {"cache: one fetch per key, waiters, hits", test_cache_single_flight},
    {"cache: expiry", test_cache_expiry},
    {"cache: bound, eviction, failures", test_cache_bound},
    {"UE and AF: handshake, cache, no second request", test_handshake},
    {"plain TLS 1.3 client with independently derived K_AF",
     test_plain_tls_client},
    {"20 connections, one A-KID, one AAnF request",
     test_concurrent_one_request},
    {"4 threads, one A-KID, one AAnF request", test_threads_one_request},
    {"session freed while pending", test_end_while_pending},
    {"core freed while a request runs", test_free_while_fetching},
    {"psk_ke only where allowed", test_psk_ke},
    {"wrong key at the UE", test_wrong_key},
    {"unknown A-KID: 204, re-authentication", test_unknown_akid},
    {"AAnF down", test_aanf_down},
    {"AAnF too slow: timeout", test_aanf_timeout},
    {"AAnF garbage", test_aanf_garbage},
    {"AAnF wrong kaf length", test_aanf_wrong_kaf_length},
    {"AAnF ProblemDetails", test_aanf_problem},
    {"K_AF expiry", test_expiry},
    {"NEF, HTTP/1.1, provisioned K_AKMA", test_nef_http11_provisioned},
    {"TLS 1.2", test_tls12},
    {"claim", test_claim},
    {"msgsec akma register", test_register_tool},
    {"config errors name FILE:LINE", test_config_errors},
    {"key files", test_key_files},
    {"inline keys need a private policy", test_inline_key_policy_mode},
    {"UE needs the AF's FQDN", test_ue_needs_fqdn},
    CU_TEST_INFO_NULL,
};

int main(void)
{
    return msgsec_test_main("akma", setup, teardown, tests);
}
