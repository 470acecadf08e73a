/* test_pskapi.c - PSK identity look-ups for integrators with their own TLS
 * stack (msgsec_psk_lookup_*, provider ABI 1.1 psk_resolve): the test
 * providers testpsk and testpsk2 (claim order, immediate and pending
 * resolution through the core descriptor and dispatch or through wait,
 * unknown and unclaimed identities, freeing while pending, threads), a
 * provider built against ABI 1.0 (testpsk0), and the akma provider against
 * the AAnF emulator tools/msgsec-aanf (child processes on 127.0.0.1 with
 * ephemeral ports, always stopped by PID; the UE registered with
 * `msgsec akma register`). */
#include <fcntl.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <openssl/core_names.h>
#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <openssl/kdf.h>

#include "internal.h"
#include "testutil.h"

#define SECRET "000102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f"
#define SECRET2 "1f1e1d1c1b1a191817161514131211100f0e0d0c0b0a09080706050403020100"

/* testpsk resolves "testpsk:<user>" at once, testpsk2 "testpsk2:<user>"
 * after a look-up of lookup_delay_ms on a thread of its own. */
static const char *policy =
    "[core]\nprovider_dir = @PROVIDER_DIR@\n"
    "[provider.testpsk]\nsecret = " SECRET "\n"
    "known_identities = alice, bob\n"
    "[provider.testpsk2]\nsecret = " SECRET2 "\nlookup_delay_ms = 30\n"
    "known_identities = carol, dave\n"
    "[service.psk]\nuse = testpsk, testpsk2\n"
    "[service.exp]\nuse = testpsk2\nnegotiation = explicit\n"
    "[service.slow]\nuse = testpsk2\n";

/* DOMAIN.md's UE and its K_AF for FQDN with the TLS 1.3 Ua* identifier. */
#define KAUSF "000102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f"
#define K_AKMA "bba5e95f1205d4f1c217b91e08ec3509ad62cfbf43f474c6bf495da83132c95e"
#define K_AF "23bef238a002c758f42845fe1422dde4a9f287016074128f5c5101bcb28b9adb"
#define AKID                                                                   \
    "0.67d8dee47b7d74e6f457b7b23d5806746ed87b920aa8035f37b494c1bfc5d83b"       \
    "@5gc.mnc001.mcc001.3gppnetwork.org"
#define SUPI "imsi-001010000000001"
#define FQDN "msgin5g.example.com"
/* An A-KID of the right form that the AAnF never heard of. */
#define AKID_UNKNOWN                                                           \
    "0.00000000000000000000000000000000000000000000000000000000000000ff"       \
    "@5gc.mnc001.mcc001.3gppnetwork.org"

static msgsec_core *core;

/* --------------------------------------------------------------- helpers */

static const char *builddir(void)
{
    const char *bd = getenv("MSGSEC_TEST_BUILDDIR");
    return bd ? bd : ".";
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

/* testpsk's key, computed here from its specification. */
static void expected_key(const char *secret_hex, unsigned version,
                         const char *identity, uint8_t out[32])
{
    uint8_t secret[32], info[512];
    CU_ASSERT_EQUAL_FATAL(hex2bin(secret_hex, secret, 32), 0);
    size_t n = 0, il = strlen(identity);
    memcpy(info, "tpsk psk v1", 11);
    n = 11;
    info[n++] = (uint8_t)(version >> 8);
    info[n++] = (uint8_t)version;
    memcpy(info + n, identity, il);
    n += il;
    EVP_KDF *kdf = EVP_KDF_fetch(NULL, "HKDF", NULL);
    EVP_KDF_CTX *ctx = EVP_KDF_CTX_new(kdf);
    OSSL_PARAM params[] = {
        OSSL_PARAM_construct_utf8_string(OSSL_KDF_PARAM_DIGEST, "SHA256", 0),
        OSSL_PARAM_construct_octet_string(OSSL_KDF_PARAM_KEY, secret, 32),
        OSSL_PARAM_construct_octet_string(OSSL_KDF_PARAM_INFO, info, n),
        OSSL_PARAM_construct_end(),
    };
    CU_ASSERT_FATAL(ctx && EVP_KDF_derive(ctx, out, 32, params) > 0);
    EVP_KDF_CTX_free(ctx);
    EVP_KDF_free(kdf);
}

/* Asserts that a resolved look-up holds the expected key and user. */
static void check_resolved(msgsec_psk_lookup *l, const char *provider,
                           const char *secret_hex, unsigned version,
                           const char *identity, const char *user)
{
    CU_ASSERT_EQUAL_FATAL(msgsec_psk_lookup_status(l), 0);
    uint8_t key[MSGSEC_PSK_KEY_MAX], want[32];
    size_t len = 0;
    CU_ASSERT_EQUAL(msgsec_psk_lookup_key(l, key, sizeof(key), &len), 0);
    CU_ASSERT_EQUAL(len, 32);
    expected_key(secret_hex, version, identity, want);
    CU_ASSERT_EQUAL(memcmp(key, want, 32), 0);
    OPENSSL_cleanse(key, sizeof(key));
    msgsec_peer peer;
    CU_ASSERT_EQUAL(msgsec_psk_lookup_peer(l, &peer), 0);
    CU_ASSERT_STRING_EQUAL(peer.scheme, provider);
    CU_ASSERT_STRING_EQUAL(peer.identity, user);
    CU_ASSERT_PTR_NULL(peer.supi);
    CU_ASSERT_STRING_EQUAL(msgsec_psk_lookup_provider(l), provider);
    CU_ASSERT_STRING_EQUAL(msgsec_psk_lookup_detail(l), "");
}

static int lookup(msgsec_core *c, const char *svc, const char *identity,
                  const msgsec_psk_lookup_config *cfg, msgsec_psk_lookup **l)
{
    return msgsec_psk_lookup_new(c, svc, identity, strlen(identity), cfg, l);
}

static int wait_fd(msgsec_core *c, int timeout_ms)
{
    struct pollfd p = {.fd = msgsec_core_fd(c), .events = POLLIN};
    return poll(&p, 1, timeout_ms);
}

static int64_t now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* ------------------------------------------------- testpsk: immediate */

static void test_immediate(void)
{
    msgsec_psk_lookup *l = NULL;
    CU_ASSERT_EQUAL_FATAL(lookup(core, "psk", "testpsk:alice", NULL, &l), 0);
    CU_ASSERT_PTR_NOT_NULL_FATAL(l);
    /* No config: TLS 1.3. */
    check_resolved(l, "testpsk", SECRET, MSGSEC_PSK_TLS1_3, "testpsk:alice",
                   "alice");
    /* A resolved look-up stays resolved. */
    CU_ASSERT_EQUAL(msgsec_psk_lookup_resume(l), 0);
    CU_ASSERT_EQUAL(msgsec_psk_lookup_wait(l, 0), 0);
    CU_ASSERT_PTR_NULL(msgsec_psk_lookup_user_data(l));
    msgsec_psk_lookup_free(l);

    /* The protocol reaches the provider: another version, another key. */
    int tag = 7;
    msgsec_psk_lookup_config cfg = {.size = sizeof(cfg),
                                    .version = MSGSEC_PSK_DTLS1_2,
                                    .cipher = 0x00a8,
                                    .user_data = &tag};
    CU_ASSERT_EQUAL_FATAL(lookup(core, "psk", "testpsk:bob", &cfg, &l), 0);
    check_resolved(l, "testpsk", SECRET, MSGSEC_PSK_DTLS1_2, "testpsk:bob",
                   "bob");
    CU_ASSERT_PTR_EQUAL(msgsec_psk_lookup_user_data(l), &tag);
    msgsec_psk_lookup_free(l);
}

static void test_key_buffer(void)
{
    msgsec_psk_lookup *l = NULL;
    CU_ASSERT_EQUAL_FATAL(lookup(core, "psk", "testpsk:alice", NULL, &l), 0);
    uint8_t key[32];
    size_t len = 99;
    CU_ASSERT_EQUAL(msgsec_psk_lookup_key(l, key, 31, &len),
                    MSGSEC_ERR_BUFFER_TOO_SMALL);
    CU_ASSERT_EQUAL(len, 32);
    CU_ASSERT_EQUAL(msgsec_psk_lookup_key(l, NULL, 0, &len),
                    MSGSEC_ERR_BUFFER_TOO_SMALL);
    CU_ASSERT_EQUAL(len, 32);
    CU_ASSERT_EQUAL(msgsec_psk_lookup_key(l, key, sizeof(key), NULL),
                    MSGSEC_ERR_INVALID_ARG);
    CU_ASSERT_EQUAL(msgsec_psk_lookup_key(l, key, sizeof(key), &len), 0);
    CU_ASSERT_EQUAL(len, 32);
    CU_ASSERT_EQUAL(msgsec_psk_lookup_peer(l, NULL), MSGSEC_ERR_INVALID_ARG);
    OPENSSL_cleanse(key, sizeof(key));
    msgsec_psk_lookup_free(l);
}

static void test_bad_arguments(void)
{
    msgsec_psk_lookup *l = (msgsec_psk_lookup *)&l;
    CU_ASSERT_EQUAL(msgsec_psk_lookup_new(core, "psk", "x", 1, NULL, NULL),
                    MSGSEC_ERR_INVALID_ARG);
    CU_ASSERT_EQUAL(msgsec_psk_lookup_new(NULL, "psk", "x", 1, NULL, &l),
                    MSGSEC_ERR_INVALID_ARG);
    CU_ASSERT_PTR_NULL(l);
    CU_ASSERT_EQUAL(msgsec_psk_lookup_new(core, NULL, "x", 1, NULL, &l),
                    MSGSEC_ERR_INVALID_ARG);
    CU_ASSERT_EQUAL(msgsec_psk_lookup_new(core, "psk", NULL, 1, NULL, &l),
                    MSGSEC_ERR_INVALID_ARG);
    CU_ASSERT_EQUAL(msgsec_psk_lookup_new(core, "psk", "x", 0, NULL, &l),
                    MSGSEC_ERR_INVALID_ARG);
    static uint8_t big[MSGSEC_PSK_IDENTITY_MAX + 1];
    CU_ASSERT_EQUAL(msgsec_psk_lookup_new(core, "psk", big, sizeof(big), NULL,
                                          &l),
                    MSGSEC_ERR_INVALID_ARG);
    CU_ASSERT_PTR_NOT_NULL(strstr(msgsec_last_detail(), "65535"));

    msgsec_psk_lookup_config cfg = {.size = sizeof(cfg), .version = 0x0301};
    CU_ASSERT_EQUAL(lookup(core, "psk", "testpsk:alice", &cfg, &l),
                    MSGSEC_ERR_INVALID_ARG);
    CU_ASSERT_PTR_NOT_NULL(strstr(msgsec_last_detail(), "0x0301"));
    cfg.version = MSGSEC_PSK_TLS1_2;
    cfg.cipher = 0x10000;
    CU_ASSERT_EQUAL(lookup(core, "psk", "testpsk:alice", &cfg, &l),
                    MSGSEC_ERR_INVALID_ARG);
    cfg.cipher = 0;
    cfg.size = 4;
    CU_ASSERT_EQUAL(lookup(core, "psk", "testpsk:alice", &cfg, &l),
                    MSGSEC_ERR_INVALID_ARG);
    /* A config from an older caller (only up to version) is fine. */
    cfg.size = offsetof(msgsec_psk_lookup_config, version) +
               sizeof(cfg.version);
    CU_ASSERT_EQUAL(lookup(core, "psk", "testpsk:alice", &cfg, &l), 0);
    msgsec_psk_lookup_free(l);

    CU_ASSERT_EQUAL(lookup(core, "nosuch", "testpsk:alice", NULL, &l),
                    MSGSEC_ERR_POLICY_UNKNOWN_SERVICE);
    CU_ASSERT_PTR_NULL(l);
    CU_ASSERT_PTR_NOT_NULL(strstr(msgsec_last_detail(), "[service.nosuch]"));

    /* NULL handles. */
    msgsec_psk_lookup_free(NULL);
    CU_ASSERT_EQUAL(msgsec_psk_lookup_status(NULL), MSGSEC_ERR_INVALID_ARG);
    CU_ASSERT_EQUAL(msgsec_psk_lookup_resume(NULL), MSGSEC_ERR_INVALID_ARG);
    CU_ASSERT_EQUAL(msgsec_psk_lookup_wait(NULL, 0), MSGSEC_ERR_INVALID_ARG);
    CU_ASSERT_PTR_NULL(msgsec_psk_lookup_provider(NULL));
    CU_ASSERT_STRING_EQUAL(msgsec_psk_lookup_detail(NULL), "");
}

/* ------------------------------------------- unknown and unclaimed */

static void test_unknown_identity(void)
{
    msgsec_psk_lookup *l = (msgsec_psk_lookup *)&l;
    /* testpsk owns it but has no key for the user. */
    CU_ASSERT_EQUAL(lookup(core, "psk", "testpsk:mallory", NULL, &l),
                    MSGSEC_ERR_KEY_UNAVAILABLE);
    CU_ASSERT_PTR_NULL(l);
    const char *d = msgsec_last_detail();
    CU_ASSERT_PTR_NOT_NULL(strstr(d, "provider testpsk"));
    CU_ASSERT_PTR_NOT_NULL(strstr(d, "mallory"));

    /* The same after a pending look-up. */
    CU_ASSERT_EQUAL_FATAL(lookup(core, "psk", "testpsk2:mallory", NULL, &l),
                          MSGSEC_PENDING);
    CU_ASSERT_EQUAL(msgsec_psk_lookup_wait(l, 5000),
                    MSGSEC_ERR_KEY_UNAVAILABLE);
    CU_ASSERT_EQUAL(msgsec_psk_lookup_status(l), MSGSEC_ERR_KEY_UNAVAILABLE);
    CU_ASSERT_PTR_NOT_NULL(strstr(msgsec_psk_lookup_detail(l),
                                  "provider testpsk2"));
    CU_ASSERT_STRING_EQUAL(msgsec_psk_lookup_provider(l), "testpsk2");
    uint8_t key[32];
    size_t len;
    msgsec_peer peer;
    CU_ASSERT_EQUAL(msgsec_psk_lookup_key(l, key, sizeof(key), &len),
                    MSGSEC_ERR_STATE);
    CU_ASSERT_EQUAL(msgsec_psk_lookup_peer(l, &peer), MSGSEC_ERR_STATE);
    /* The outcome stays. */
    CU_ASSERT_EQUAL(msgsec_psk_lookup_resume(l), MSGSEC_ERR_KEY_UNAVAILABLE);
    msgsec_psk_lookup_free(l);

    /* A malformed user of the right prefix. */
    static const uint8_t bad[] = {'t', 'e', 's', 't', 'p', 's', 'k', ':',
                                  'a', 0x00, 'b'};
    CU_ASSERT_EQUAL(msgsec_psk_lookup_new(core, "psk", bad, sizeof(bad), NULL,
                                          &l),
                    MSGSEC_ERR_AUTH_FAILED);
    CU_ASSERT_PTR_NOT_NULL(strstr(msgsec_last_detail(), "printable"));
}

static void test_unclaimed(void)
{
    msgsec_psk_lookup *l = (msgsec_psk_lookup *)&l;
    CU_ASSERT_EQUAL(lookup(core, "psk", "3GPP-AKMAsomeone", NULL, &l),
                    MSGSEC_ERR_UNCLAIMED);
    CU_ASSERT_PTR_NULL(l);
    const char *d = msgsec_last_detail();
    /* Every provider asked, in policy order, with the policy's place. */
    CU_ASSERT_PTR_NOT_NULL(strstr(d, "[service.psk]"));
    CU_ASSERT_PTR_NOT_NULL(strstr(d, "3GPP-AKMAsomeone"));
    const char *a = strstr(d, "testpsk: not its identity");
    const char *b = strstr(d, "testpsk2: not its identity");
    CU_ASSERT(a && b && a < b);

    /* Bytes that are not text are shown escaped. */
    static const uint8_t bin[] = {0x01, 0xff, '"', 'z'};
    CU_ASSERT_EQUAL(msgsec_psk_lookup_new(core, "psk", bin, sizeof(bin), NULL,
                                          &l),
                    MSGSEC_ERR_UNCLAIMED);
    CU_ASSERT_PTR_NOT_NULL(strstr(msgsec_last_detail(), "\\x01\\xff\\x22z"));

    /* An identity for a provider the service does not use. */
    CU_ASSERT_EQUAL(lookup(core, "slow", "testpsk:alice", NULL, &l),
                    MSGSEC_ERR_UNCLAIMED);
}

/* ------------------------------------------------- pending resolution */

typedef struct ready_log {
    int calls;
    int rc;
    msgsec_psk_lookup *seen;
    int free_it;
} ready_log;

static void on_ready(void *ud, msgsec_psk_lookup *l)
{
    ready_log *r = ud;
    r->calls++;
    r->seen = l;
    r->rc = msgsec_psk_lookup_resume(l);
    if (r->free_it)
        msgsec_psk_lookup_free(l);
}

static void test_pending_dispatch(void)
{
    ready_log r = {0};
    msgsec_psk_lookup_config cfg = {.size = sizeof(cfg),
                                    .ready = on_ready,
                                    .user_data = &r};
    msgsec_psk_lookup *l = NULL;
    CU_ASSERT_EQUAL_FATAL(lookup(core, "psk", "testpsk2:carol", &cfg, &l),
                          MSGSEC_PENDING);
    CU_ASSERT_PTR_NOT_NULL_FATAL(l);
    CU_ASSERT_EQUAL(msgsec_psk_lookup_status(l), MSGSEC_PENDING);
    /* Asked before the wake: still pending, nothing taken. */
    CU_ASSERT_EQUAL(msgsec_psk_lookup_resume(l), MSGSEC_PENDING);
    uint8_t key[32];
    size_t len;
    CU_ASSERT_EQUAL(msgsec_psk_lookup_key(l, key, sizeof(key), &len),
                    MSGSEC_ERR_STATE);
    int64_t t0 = now_ms();
    while (r.calls == 0 && now_ms() - t0 < 5000) {
        if (wait_fd(core, 5000) > 0)
            CU_ASSERT(msgsec_core_dispatch(core, NULL, NULL) >= 0);
    }
    CU_ASSERT_EQUAL(r.calls, 1);
    CU_ASSERT_PTR_EQUAL(r.seen, l);
    CU_ASSERT_EQUAL(r.rc, 0);
    check_resolved(l, "testpsk2", SECRET2, MSGSEC_PSK_TLS1_3,
                   "testpsk2:carol", "carol");
    msgsec_psk_lookup_free(l);
    /* Nothing left to dispatch. */
    CU_ASSERT_EQUAL(msgsec_core_dispatch(core, NULL, NULL), 0);
}

/* Without a ready callback, dispatch resumes the look-up itself. */
static void test_pending_dispatch_resumes(void)
{
    msgsec_psk_lookup *l = NULL;
    CU_ASSERT_EQUAL_FATAL(lookup(core, "exp", "testpsk2:dave", NULL, &l),
                          MSGSEC_PENDING);
    int64_t t0 = now_ms();
    while (msgsec_psk_lookup_status(l) == MSGSEC_PENDING &&
           now_ms() - t0 < 5000) {
        if (wait_fd(core, 5000) > 0)
            msgsec_core_dispatch(core, NULL, NULL);
    }
    /* Explicit negotiation does not matter: the stack is the caller's. */
    check_resolved(l, "testpsk2", SECRET2, MSGSEC_PSK_TLS1_3, "testpsk2:dave",
                   "dave");
    msgsec_psk_lookup_free(l);
}

static void test_pending_wait(void)
{
    msgsec_psk_lookup *l = NULL;
    msgsec_psk_lookup_config cfg = {.size = sizeof(cfg),
                                    .version = MSGSEC_PSK_TLS1_2};
    CU_ASSERT_EQUAL_FATAL(lookup(core, "psk", "testpsk2:carol", &cfg, &l),
                          MSGSEC_PENDING);
    CU_ASSERT_EQUAL(msgsec_psk_lookup_wait(l, 5000), 0);
    check_resolved(l, "testpsk2", SECRET2, MSGSEC_PSK_TLS1_2,
                   "testpsk2:carol", "carol");
    msgsec_psk_lookup_free(l);

    /* A timeout leaves it pending; a later wait completes it. */
    CU_ASSERT_EQUAL_FATAL(lookup(core, "psk", "testpsk2:dave", NULL, &l),
                          MSGSEC_PENDING);
    CU_ASSERT_EQUAL(msgsec_psk_lookup_wait(l, 0), MSGSEC_ERR_TIMEOUT);
    CU_ASSERT_EQUAL(msgsec_psk_lookup_status(l), MSGSEC_PENDING);
    CU_ASSERT_PTR_NOT_NULL(strstr(msgsec_psk_lookup_detail(l), "pending"));
    CU_ASSERT_EQUAL(msgsec_psk_lookup_wait(l, -1), 0);
    check_resolved(l, "testpsk2", SECRET2, MSGSEC_PSK_TLS1_3,
                   "testpsk2:dave", "dave");
    msgsec_psk_lookup_free(l);
    /* wait() took the wake itself: the descriptor's signal finds nobody. */
    CU_ASSERT_EQUAL(msgsec_core_dispatch(core, NULL, NULL), 0);
}

/* A ready callback may free the look-up. */
static void test_free_in_callback(void)
{
    ready_log r = {.free_it = 1};
    msgsec_psk_lookup_config cfg = {.size = sizeof(cfg),
                                    .ready = on_ready,
                                    .user_data = &r};
    msgsec_psk_lookup *l = NULL;
    CU_ASSERT_EQUAL_FATAL(lookup(core, "psk", "testpsk2:carol", &cfg, &l),
                          MSGSEC_PENDING);
    int64_t t0 = now_ms();
    while (r.calls == 0 && now_ms() - t0 < 5000)
        if (wait_fd(core, 5000) > 0)
            msgsec_core_dispatch(core, NULL, NULL);
    CU_ASSERT_EQUAL(r.calls, 1);
    CU_ASSERT_EQUAL(r.rc, 0);
}

static void test_free_while_pending(void)
{
    /* The look-up would take ten minutes: freeing cancels it. */
    static const char *slow =
        "[core]\nprovider_dir = @PROVIDER_DIR@\n"
        "[provider.testpsk]\nsecret = " SECRET "\nlookup_delay_ms = 600000\n"
        "[service.psk]\nuse = testpsk\n";
    msgsec_core *c = msgsec_test_core(slow);
    CU_ASSERT_PTR_NOT_NULL_FATAL(c);
    ready_log r = {0};
    msgsec_psk_lookup_config cfg = {.size = sizeof(cfg),
                                    .ready = on_ready,
                                    .user_data = &r};
    msgsec_psk_lookup *l = NULL;
    int64_t t0 = now_ms();
    CU_ASSERT_EQUAL_FATAL(lookup(c, "psk", "testpsk:anyone", &cfg, &l),
                          MSGSEC_PENDING);
    msgsec_psk_lookup_free(l);
    CU_ASSERT(now_ms() - t0 < 5000);
    CU_ASSERT_EQUAL(msgsec_core_dispatch(c, NULL, NULL), 0);
    CU_ASSERT_EQUAL(r.calls, 0);
    msgsec_core_free(c);

    /* Woken but not yet dispatched: freeing takes it off the wake list. */
    CU_ASSERT_EQUAL_FATAL(lookup(core, "psk", "testpsk2:carol", &cfg, &l),
                          MSGSEC_PENDING);
    CU_ASSERT(wait_fd(core, 5000) > 0);
    msgsec_psk_lookup_free(l);
    CU_ASSERT_EQUAL(msgsec_core_dispatch(core, NULL, NULL), 0);
    CU_ASSERT_EQUAL(r.calls, 0);
}

/* Sessions and look-ups share the descriptor and the wake list. */
typedef struct sess_log {
    int calls;
} sess_log;

static void on_session(void *ud, msgsec_session *s)
{
    sess_log *sl = ud;
    sl->calls++;
    msgsec_session_resume(s);
}

static void test_with_sessions(void)
{
    msgsec_session_config sc = {.size = sizeof(sc), .identity = "carol"};
    msgsec_session *cl = NULL, *sv = NULL;
    CU_ASSERT_EQUAL_FATAL(msgsec_session_new(core, "slow", MSGSEC_ROLE_CLIENT,
                                             &sc, &cl),
                          0);
    CU_ASSERT_EQUAL_FATAL(msgsec_session_new(core, "slow", MSGSEC_ROLE_SERVER,
                                             NULL, &sv),
                          0);
    uint8_t buf[4096];
    size_t n = msgsec_session_pull(cl, buf, sizeof(buf));
    CU_ASSERT_EQUAL(msgsec_session_feed(sv, buf, n), MSGSEC_PENDING);

    ready_log r = {0};
    msgsec_psk_lookup_config cfg = {.size = sizeof(cfg),
                                    .ready = on_ready,
                                    .user_data = &r};
    msgsec_psk_lookup *l = NULL;
    CU_ASSERT_EQUAL_FATAL(lookup(core, "psk", "testpsk2:dave", &cfg, &l),
                          MSGSEC_PENDING);
    sess_log sl = {0};
    int total = 0;
    int64_t t0 = now_ms();
    while ((sl.calls == 0 || r.calls == 0) && now_ms() - t0 < 5000)
        if (wait_fd(core, 5000) > 0)
            total += msgsec_core_dispatch(core, on_session, &sl);
    CU_ASSERT_EQUAL(sl.calls, 1);
    CU_ASSERT_EQUAL(r.calls, 1);
    CU_ASSERT_EQUAL(total, 2);
    CU_ASSERT_EQUAL(r.rc, 0);
    CU_ASSERT_EQUAL(msgsec_psk_lookup_status(l), 0);
    CU_ASSERT_EQUAL(msgsec_test_pump(cl, sv), 0);
    msgsec_psk_lookup_free(l);
    msgsec_session_free(cl);
    msgsec_session_free(sv);
}

/* ------------------------------------------------------------ threads */

#define THREADS 8
#define PER_THREAD 12

static void *resolver(void *arg)
{
    long id = (long)arg, bad = 0;
    static const char *const users[] = {"testpsk:alice", "testpsk:bob",
                                        "testpsk2:carol", "testpsk2:dave"};
    for (int i = 0; i < PER_THREAD; i++) {
        const char *who = users[(id + i) % 4];
        int slow = strncmp(who, "testpsk2", 8) == 0;
        msgsec_psk_lookup_config cfg = {.size = sizeof(cfg),
                                        .version = (i & 1)
                                                       ? MSGSEC_PSK_TLS1_2
                                                       : MSGSEC_PSK_TLS1_3};
        msgsec_psk_lookup *l = NULL;
        int rc = lookup(core, "psk", who, &cfg, &l);
        if (rc == MSGSEC_PENDING)
            rc = msgsec_psk_lookup_wait(l, 10000);
        uint8_t key[32], want[32];
        size_t len = 0;
        if (rc != 0 ||
            msgsec_psk_lookup_key(l, key, sizeof(key), &len) != 0 ||
            len != 32) {
            bad++;
        } else {
            expected_key(slow ? SECRET2 : SECRET, cfg.version, who, want);
            if (memcmp(key, want, 32) != 0)
                bad++;
        }
        /* Every third one is abandoned while it may still be pending. */
        msgsec_psk_lookup *m = NULL;
        if (i % 3 == 0 &&
            lookup(core, "psk", "testpsk2:carol", NULL, &m) != MSGSEC_PENDING)
            bad++;
        msgsec_psk_lookup_free(m);
        msgsec_psk_lookup_free(l);
        /* Unclaimed ones at the same time. */
        if (lookup(core, "psk", "nobody", NULL, &l) != MSGSEC_ERR_UNCLAIMED ||
            l != NULL)
            bad++;
    }
    return (void *)bad;
}

static void test_threads(void)
{
    pthread_t t[THREADS];
    for (long i = 0; i < THREADS; i++)
        CU_ASSERT_EQUAL_FATAL(pthread_create(&t[i], NULL, resolver, (void *)i),
                              0);
    long bad = 0;
    for (int i = 0; i < THREADS; i++) {
        void *r = NULL;
        pthread_join(t[i], &r);
        bad += (long)r;
    }
    CU_ASSERT_EQUAL(bad, 0);
    /* Wakes nobody took (all waited) drain to nothing. */
    CU_ASSERT_EQUAL(msgsec_core_dispatch(core, NULL, NULL), 0);
}

/* ---------------------------------------------- a provider of ABI 1.0 */

static int never_called;

static int resolve_behind_size(void *pdata, void *state, msgsec_psession *ps,
                               const msgsec_psk_query *q, uint8_t *key,
                               size_t *key_len, msgsec_peer *peer)
{
    (void)pdata, (void)state, (void)ps, (void)q, (void)key, (void)key_len;
    (void)peer;
    never_called = 1;
    return MSGSEC_ERR_INTERNAL;
}

static void test_minor0_descriptor(void)
{
    /* The loader copies only what the declared size covers. */
    const msgsec_provider *null = msgsec_null_provider();
    msgsec_provider d, copy;
    char why[256] = "";
    memset(&d, 0, sizeof(d));
    d.magic = MSGSEC_PROVIDER_MAGIC;
    d.abi_major = MSGSEC_PROVIDER_ABI_MAJOR;
    d.abi_minor = 0;
    d.size = offsetof(msgsec_provider, psk_resolve);
    d.name = "old";
    d.version = "1";
    d.summary = "built against ABI 1.0";
    d.caps = MSGSEC_CAP_SERVER;
    d.init = null->init;
    d.start = null->start;
    d.step = null->step;
    d.result = null->result;
    d.wrap = null->wrap;
    d.unwrap = null->unwrap;
    d.limits = null->limits;
    d.psk_resolve = resolve_behind_size; /* behind the declared size */
    CU_ASSERT_EQUAL(msgsec_loader_validate(&d, &copy, why, sizeof(why)), 0);
    CU_ASSERT_PTR_NULL(copy.psk_resolve);
    CU_ASSERT_EQUAL(copy.abi_minor, 0);
    CU_ASSERT_PTR_EQUAL(copy.limits, null->limits);
    /* The same descriptor declaring the 1.1 size keeps the operation. */
    d.size = sizeof(d);
    d.abi_minor = 1;
    CU_ASSERT_EQUAL(msgsec_loader_validate(&d, &copy, why, sizeof(why)), 0);
    CU_ASSERT_PTR_EQUAL(copy.psk_resolve, resolve_behind_size);
    CU_ASSERT_EQUAL(never_called, 0);
}

static void test_minor0_module(void)
{
    static const char *p0 =
        "[core]\nprovider_dir = @PROVIDER_DIR@\n"
        "[provider.testpsk0]\nsupport = mandatory\nsecret = " SECRET "\n"
        "[provider.testpsk]\nsecret = " SECRET "\n"
        "[service.old]\nuse = testpsk0\n"
        "[service.both]\nuse = testpsk0, testpsk\n";
    msgsec_core *c = msgsec_test_core(p0);
    CU_ASSERT_PTR_NOT_NULL_FATAL(c);
    /* It loads, reports ABI 1.0, and sessions work as before. */
    int found = 0;
    for (size_t i = 0; i < msgsec_core_provider_count(c); i++) {
        msgsec_provider_info info;
        CU_ASSERT_EQUAL(msgsec_core_provider_info(c, i, &info), 0);
        if (strcmp(info.name, "testpsk0") != 0)
            continue;
        found = 1;
        CU_ASSERT_EQUAL(info.status, 0);
        CU_ASSERT_EQUAL(info.abi_major, 1);
        CU_ASSERT_EQUAL(info.abi_minor, 0);
    }
    CU_ASSERT(found);
    msgsec_session *cl = NULL, *sv = NULL;
    CU_ASSERT_EQUAL(msgsec_session_new(c, "old", MSGSEC_ROLE_CLIENT, NULL, &cl),
                    0);
    CU_ASSERT_EQUAL(msgsec_session_new(c, "old", MSGSEC_ROLE_SERVER, NULL, &sv),
                    0);
    CU_ASSERT_EQUAL(msgsec_test_pump(cl, sv), 0);
    msgsec_session_free(cl);
    msgsec_session_free(sv);

    /* Resolution is unsupported, and says why. */
    msgsec_psk_lookup *l = (msgsec_psk_lookup *)&l;
    CU_ASSERT_EQUAL(lookup(c, "old", "testpsk0:alice", NULL, &l),
                    MSGSEC_ERR_UNSUPPORTED);
    CU_ASSERT_PTR_NULL(l);
    const char *d = msgsec_last_detail();
    CU_ASSERT_PTR_NOT_NULL(strstr(d, "testpsk0"));
    CU_ASSERT_PTR_NOT_NULL(strstr(d, "provider ABI 1.0"));
    CU_ASSERT_PTR_NOT_NULL(strstr(d, "[service.old]"));
    /* Beside a 1.1 provider: its own identities find no taker (its
     * psk_resolve, set behind the declared size, is never called). */
    CU_ASSERT_EQUAL(lookup(c, "both", "testpsk0:alice", NULL, &l),
                    MSGSEC_ERR_UNCLAIMED);
    CU_ASSERT_EQUAL(lookup(c, "both", "testpsk:alice", NULL, &l), 0);
    check_resolved(l, "testpsk", SECRET, MSGSEC_PSK_TLS1_3, "testpsk:alice",
                   "alice");
    msgsec_psk_lookup_free(l);
    msgsec_core_free(c);
}

/* A core built for inspection with a mandatory provider missing. */
static void test_incomplete_core(void)
{
    static const char *text =
        "[core]\nprovider_dir = @PROVIDER_DIR@\n"
        "[provider.ghost]\nsupport = mandatory\n"
        "[provider.testpsk]\nsecret = " SECRET "\n"
        "[service.psk]\nuse = testpsk\n";
    const char *path = msgsec_test_write_policy(text);
    CU_ASSERT_PTR_NOT_NULL_FATAL(path);
    msgsec_core *c = NULL;
    CU_ASSERT_EQUAL_FATAL(msgsec_core_new(path, NULL, MSGSEC_CORE_INSPECT, &c,
                                          NULL, 0),
                          0);
    msgsec_psk_lookup *l = (msgsec_psk_lookup *)&l;
    CU_ASSERT_EQUAL(lookup(c, "psk", "testpsk:alice", NULL, &l),
                    MSGSEC_ERR_PROVIDER_MANDATORY);
    CU_ASSERT_PTR_NULL(l);
    CU_ASSERT_PTR_NOT_NULL(strstr(msgsec_last_detail(), "ghost"));
    msgsec_core_free(c);
}

/* ------------------------------------------------- akma and the AAnF */

typedef msgsec_test_aanf emu;

#define MAX_EMUS 4
static emu emus[MAX_EMUS]; /* static: a failed test never leaves one running */
static char tmpdir[256];

/* Runs argv with stdout captured into out (first line); the exit status. */
static int run_tool(char *const argv[], char *out, size_t cap)
{
    int fds[2];
    if (pipe(fds) != 0)
        return -1;
    pid_t pid = fork();
    if (pid < 0)
        return -1;
    if (pid == 0) {
        dup2(fds[1], 1);
        close(fds[0]);
        close(fds[1]);
        execv(argv[0], argv);
        _exit(127);
    }
    close(fds[1]);
    size_t n = 0;
    ssize_t r;
    while (n + 1 < cap && (r = read(fds[0], out + n, cap - 1 - n)) > 0)
        n += (size_t)r;
    out[n] = '\0';
    close(fds[0]);
    char *nl = strchr(out, '\n');
    if (nl)
        *nl = '\0';
    int st = 0;
    waitpid(pid, &st, 0);
    return WIFEXITED(st) ? WEXITSTATUS(st) : -1;
}

/* Starts the emulator with up to 8 extra arguments (NULL-terminated). */
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

/* Retrieve requests the emulator has served (one log line each). */
static int emu_retrieves(const emu *e)
{
    return msgsec_test_count_lines(e->log, "retrieve");
}

/* DOMAIN.md's UE registered at e by `msgsec akma register`, playing the
 * AUSF; 0 when the tool printed the expected A-KID. */
static int register_ue(const emu *e)
{
    char tool[1024], out[512];
    snprintf(tool, sizeof(tool), "%s/tools/msgsec", builddir());
    char *argv[] = {tool,    "akma",   "register", "--aanf", (char *)e->root,
                    "--kausf", KAUSF,  "--supi",   SUPI,     "--rid",
                    "0",     "--mcc",  "001",      "--mnc",  "01",
                    NULL};
    int rc = run_tool(argv, out, sizeof(out));
    if (rc != 0 || strcmp(out, AKID) != 0) {
        fprintf(stderr, "msgsec akma register: status %d, '%s'\n", rc, out);
        return -1;
    }
    return 0;
}

static emu *main_emu;

/* An AF core: akma after testpsk in the service's use list. */
static msgsec_core *af_core(const char *root, const char *extra)
{
    static char text[4096];
    snprintf(text, sizeof(text),
             "[core]\nprovider_dir = @PROVIDER_DIR@\n"
             "[provider.testpsk]\nsecret = " SECRET "\n"
             "[provider.akma]\nsupport = mandatory\n"
             "module = %s/plugins/akma/akma.la\n"
             "af_fqdn = " FQDN "\naanf_uri = %s\n%s"
             "[service.af]\nuse = testpsk, akma\n",
             builddir(), root, extra ? extra : "");
    const char *path = msgsec_test_write_policy(text);
    CU_ASSERT_PTR_NOT_NULL_FATAL(path);
    msgsec_core *c = NULL;
    char d[1024] = "";
    int rc = msgsec_core_new(path, NULL, 0, &c, d, sizeof(d));
    if (rc != 0)
        fprintf(stderr, "AF core: %s: %s\n", msgsec_error_name(rc), d);
    CU_ASSERT_PTR_NOT_NULL(c);
    return c;
}

/* K_AF for FQDN and a Ua* identifier, computed here (TS 33.535 A.4). */
static void k_af_for(const uint8_t ua[5], uint8_t out[32])
{
    uint8_t k_akma[32], s[1 + sizeof(FQDN) - 1 + 5 + 2];
    CU_ASSERT_EQUAL_FATAL(hex2bin(K_AKMA, k_akma, 32), 0);
    size_t n = 0, p0 = sizeof(FQDN) - 1 + 5;
    s[n++] = 0x82;
    memcpy(s + n, FQDN, sizeof(FQDN) - 1);
    n += sizeof(FQDN) - 1;
    memcpy(s + n, ua, 5);
    n += 5;
    s[n++] = (uint8_t)(p0 >> 8);
    s[n++] = (uint8_t)p0;
    unsigned len = 0;
    CU_ASSERT_PTR_NOT_NULL(HMAC(EVP_sha256(), k_akma, 32, s, n, out, &len));
    CU_ASSERT_EQUAL(len, 32);
}

static int akma_setup(void)
{
    if (msgsec_test_mkdir(tmpdir, sizeof(tmpdir), "pskapi") != 0)
        return 1;
    const char *path = msgsec_test_write_policy(policy);
    char detail[1024] = "";
    if (!path ||
        msgsec_core_new(path, NULL, 0, &core, detail, sizeof(detail)) != 0) {
        fprintf(stderr, "core: %s\n", detail);
        return 1;
    }
    if (!(main_emu = emu_start(NULL)) || register_ue(main_emu) != 0)
        return 1;
    return 0;
}

static int akma_teardown(void)
{
    msgsec_core_free(core);
    for (int i = 0; i < MAX_EMUS; i++)
        emu_stop(&emus[i]);
    return msgsec_test_rmdir(tmpdir) == 0 ? 0 : 1;
}

static void test_akma_resolve(void)
{
    msgsec_core *af = af_core(main_emu->root, NULL);
    CU_ASSERT_PTR_NOT_NULL_FATAL(af);
    const char *id = "3GPP-AKMA" AKID;
    ready_log r = {0};
    msgsec_psk_lookup_config cfg = {.size = sizeof(cfg),
                                    .ready = on_ready,
                                    .user_data = &r};
    int before = emu_retrieves(main_emu);
    msgsec_psk_lookup *l = NULL;
    /* A cache miss: the AAnF is asked; the look-up completes through the
     * descriptor. */
    CU_ASSERT_EQUAL_FATAL(lookup(af, "af", id, &cfg, &l), MSGSEC_PENDING);
    CU_ASSERT_STRING_EQUAL(msgsec_psk_lookup_provider(l), "akma");
    int64_t t0 = now_ms();
    while (r.calls == 0 && now_ms() - t0 < 10000)
        if (wait_fd(af, 10000) > 0)
            msgsec_core_dispatch(af, NULL, NULL);
    CU_ASSERT_EQUAL(r.rc, 0);
    uint8_t key[MSGSEC_PSK_KEY_MAX], want[32];
    size_t len = 0;
    CU_ASSERT_EQUAL(msgsec_psk_lookup_key(l, key, sizeof(key), &len), 0);
    CU_ASSERT_EQUAL(len, 32);
    CU_ASSERT_EQUAL(hex2bin(K_AF, want, 32), 0);
    CU_ASSERT_EQUAL(memcmp(key, want, 32), 0);
    msgsec_peer peer;
    CU_ASSERT_EQUAL(msgsec_psk_lookup_peer(l, &peer), 0);
    CU_ASSERT_STRING_EQUAL(peer.scheme, "akma");
    CU_ASSERT_STRING_EQUAL(peer.identity, AKID);
    CU_ASSERT(peer.supi && strcmp(peer.supi, SUPI) == 0);
    CU_ASSERT(peer.key_expiry > (int64_t)time(NULL));
    msgsec_psk_lookup_free(l);
    CU_ASSERT_EQUAL(emu_retrieves(main_emu), before + 1);

    /* From the cache now: resolved at once, no request. */
    CU_ASSERT_EQUAL_FATAL(lookup(af, "af", id, NULL, &l), 0);
    CU_ASSERT_EQUAL(msgsec_psk_lookup_key(l, key, sizeof(key), &len), 0);
    CU_ASSERT_EQUAL(memcmp(key, want, 32), 0);
    msgsec_psk_lookup_free(l);
    CU_ASSERT_EQUAL(emu_retrieves(main_emu), before + 1);

    /* testpsk, first in the use list, still gets its own identities. */
    CU_ASSERT_EQUAL(lookup(af, "af", "testpsk:x", NULL, &l), 0);
    CU_ASSERT_STRING_EQUAL(msgsec_psk_lookup_provider(l), "testpsk");
    msgsec_psk_lookup_free(l);

    /* TLS 1.2 is not enabled by this policy. */
    msgsec_psk_lookup_config v12 = {.size = sizeof(v12),
                                    .version = MSGSEC_PSK_TLS1_2};
    CU_ASSERT_EQUAL(lookup(af, "af", id, &v12, &l), MSGSEC_ERR_UNSUPPORTED);
    CU_ASSERT_PTR_NOT_NULL(strstr(msgsec_last_detail(), "TLS 1.2"));
    OPENSSL_cleanse(key, sizeof(key));
    msgsec_core_free(af);
}

static void test_akma_tls12_wait(void)
{
    msgsec_core *af = af_core(main_emu->root, "tls12 = yes\n");
    CU_ASSERT_PTR_NOT_NULL_FATAL(af);
    const char *id = "3GPP-AKMA" AKID;
    /* DTLS 1.2 (a CoAP server) with the default suite
     * ECDHE-PSK-CHACHA20-POLY1305 (0xccac): Ua* 01 00 01 cc ac. */
    msgsec_psk_lookup_config cfg = {.size = sizeof(cfg),
                                    .version = MSGSEC_PSK_DTLS1_2,
                                    .cipher = 0xccac};
    msgsec_psk_lookup *l = NULL;
    CU_ASSERT_EQUAL_FATAL(lookup(af, "af", id, &cfg, &l), MSGSEC_PENDING);
    CU_ASSERT_EQUAL(msgsec_psk_lookup_wait(l, 10000), 0);
    uint8_t key[32], want[32];
    size_t len = 0;
    static const uint8_t ua12[5] = {0x01, 0x00, 0x01, 0xcc, 0xac};
    k_af_for(ua12, want);
    CU_ASSERT_EQUAL(msgsec_psk_lookup_key(l, key, sizeof(key), &len), 0);
    CU_ASSERT_EQUAL(len, 32);
    CU_ASSERT_EQUAL(memcmp(key, want, 32), 0);
    msgsec_psk_lookup_free(l);

    /* The TLS 1.3 key is another one (the formula checked on DOMAIN's). */
    static const uint8_t ua13[5] = {0x01, 0x00, 0x00, 0x00, 0x07};
    uint8_t k13[32], kaf[32];
    k_af_for(ua13, k13);
    CU_ASSERT_EQUAL(hex2bin(K_AF, kaf, 32), 0);
    CU_ASSERT_EQUAL(memcmp(k13, kaf, 32), 0);
    CU_ASSERT_NOT_EQUAL(memcmp(k13, want, 32), 0);

    /* Another TLS 1.2 suite than the policy's: refused at once. */
    cfg.cipher = 0x00a8;
    CU_ASSERT_EQUAL(lookup(af, "af", id, &cfg, &l), MSGSEC_ERR_UNSUPPORTED);
    CU_ASSERT_PTR_NOT_NULL(strstr(msgsec_last_detail(), "tls12_cipher"));
    OPENSSL_cleanse(key, sizeof(key));
    msgsec_core_free(af);
}

static void test_akma_failures(void)
{
    msgsec_core *af = af_core(main_emu->root, NULL);
    CU_ASSERT_PTR_NOT_NULL_FATAL(af);
    msgsec_psk_lookup *l = NULL;

    /* Unknown A-KID: the AAnF answers 204. */
    CU_ASSERT_EQUAL_FATAL(lookup(af, "af", "3GPP-AKMA" AKID_UNKNOWN, NULL,
                                 &l),
                          MSGSEC_PENDING);
    CU_ASSERT_EQUAL(msgsec_psk_lookup_wait(l, 10000),
                    MSGSEC_ERR_KEY_UNAVAILABLE);
    const char *d = msgsec_psk_lookup_detail(l);
    CU_ASSERT_PTR_NOT_NULL(strstr(d, "provider akma"));
    CU_ASSERT_PTR_NOT_NULL(strstr(d, "204"));
    msgsec_psk_lookup_free(l);

    /* Not an A-KID after the prefix: refused without asking. */
    int before = emu_retrieves(main_emu);
    CU_ASSERT_EQUAL(lookup(af, "af", "3GPP-AKMAnot-an-akid", NULL, &l),
                    MSGSEC_ERR_AUTH_FAILED);
    CU_ASSERT_PTR_NOT_NULL(strstr(msgsec_last_detail(), "A-KID"));
    CU_ASSERT_EQUAL(emu_retrieves(main_emu), before);
    msgsec_core_free(af);

    /* The AAnF is down (a port nobody listens on any more). */
    emu *gone = emu_start(NULL);
    CU_ASSERT_PTR_NOT_NULL_FATAL(gone);
    char root[64];
    snprintf(root, sizeof(root), "%s", gone->root);
    emu_stop(gone);
    af = af_core(root, NULL);
    CU_ASSERT_PTR_NOT_NULL_FATAL(af);
    CU_ASSERT_EQUAL_FATAL(lookup(af, "af", "3GPP-AKMA" AKID, NULL, &l),
                          MSGSEC_PENDING);
    CU_ASSERT_EQUAL(msgsec_psk_lookup_wait(l, 10000),
                    MSGSEC_ERR_LOOKUP_FAILED);
    CU_ASSERT_PTR_NOT_NULL(strstr(msgsec_psk_lookup_detail(l),
                                  "unreachable"));
    msgsec_psk_lookup_free(l);
    msgsec_core_free(af);

    /* The AAnF is slow: timeout; and freed while pending. */
    emu *slow = emu_start("--delay-ms", "2000", NULL);
    CU_ASSERT_PTR_NOT_NULL_FATAL(slow);
    CU_ASSERT_EQUAL(register_ue(slow), 0);
    af = af_core(slow->root, "aanf_timeout_ms = 200\n");
    CU_ASSERT_PTR_NOT_NULL_FATAL(af);
    CU_ASSERT_EQUAL_FATAL(lookup(af, "af", "3GPP-AKMA" AKID, NULL, &l),
                          MSGSEC_PENDING);
    CU_ASSERT_EQUAL(msgsec_psk_lookup_wait(l, 10000), MSGSEC_ERR_TIMEOUT);
    CU_ASSERT_PTR_NOT_NULL(strstr(msgsec_psk_lookup_detail(l), "200 ms"));
    msgsec_psk_lookup_free(l);
    msgsec_core_free(af);

    af = af_core(slow->root, NULL);
    CU_ASSERT_PTR_NOT_NULL_FATAL(af);
    CU_ASSERT_EQUAL_FATAL(lookup(af, "af", "3GPP-AKMA" AKID, NULL, &l),
                          MSGSEC_PENDING);
    msgsec_psk_lookup_free(l);
    CU_ASSERT_EQUAL(msgsec_core_dispatch(af, NULL, NULL), 0);
    /* The core goes with the request still in flight. */
    msgsec_core_free(af);
    emu_stop(slow);
}

/* Many look-ups of one A-KID from threads: one request to the AAnF. */
static msgsec_core *shared_af;

static void *akma_resolver(void *arg)
{
    (void)arg;
    long bad = 0;
    uint8_t want[32];
    hex2bin(K_AF, want, 32);
    for (int i = 0; i < 4; i++) {
        msgsec_psk_lookup *l = NULL;
        int rc = lookup(shared_af, "af", "3GPP-AKMA" AKID, NULL, &l);
        if (rc == MSGSEC_PENDING)
            rc = msgsec_psk_lookup_wait(l, 10000);
        uint8_t key[32];
        size_t len = 0;
        if (rc != 0 || msgsec_psk_lookup_key(l, key, sizeof(key), &len) != 0 ||
            len != 32 || memcmp(key, want, 32) != 0)
            bad++;
        OPENSSL_cleanse(key, sizeof(key));
        msgsec_psk_lookup_free(l);
    }
    return (void *)bad;
}

static void test_akma_threads(void)
{
    emu *e = emu_start("--delay-ms", "100", NULL);
    CU_ASSERT_PTR_NOT_NULL_FATAL(e);
    CU_ASSERT_EQUAL_FATAL(register_ue(e), 0);
    shared_af = af_core(e->root, NULL);
    CU_ASSERT_PTR_NOT_NULL_FATAL(shared_af);
    pthread_t t[THREADS];
    for (long i = 0; i < THREADS; i++)
        CU_ASSERT_EQUAL_FATAL(
            pthread_create(&t[i], NULL, akma_resolver, (void *)i), 0);
    long bad = 0;
    for (int i = 0; i < THREADS; i++) {
        void *r = NULL;
        pthread_join(t[i], &r);
        bad += (long)r;
    }
    CU_ASSERT_EQUAL(bad, 0);
    CU_ASSERT_EQUAL(emu_retrieves(e), 1);
    msgsec_core_free(shared_af);
    shared_af = NULL;
    emu_stop(e);
}

int main(void)
{
    CU_TestInfo tests[] = {
        {"resolved at once", test_immediate},
        {"key buffer", test_key_buffer},
        {"bad arguments", test_bad_arguments},
        {"unknown identity", test_unknown_identity},
        {"identity claimed by none", test_unclaimed},
        {"pending: descriptor, dispatch, ready callback",
         test_pending_dispatch},
        {"pending: dispatch resumes without callback",
         test_pending_dispatch_resumes},
        {"pending: wait", test_pending_wait},
        {"ready callback frees", test_free_in_callback},
        {"free while pending", test_free_while_pending},
        {"look-ups beside sessions", test_with_sessions},
        {"threads", test_threads},
        {"ABI 1.0 descriptor", test_minor0_descriptor},
        {"ABI 1.0 module", test_minor0_module},
        {"incomplete core", test_incomplete_core},
        {"akma: K_AF from the AAnF, then the cache", test_akma_resolve},
        {"akma: DTLS 1.2 and wait", test_akma_tls12_wait},
        {"akma: failures", test_akma_failures},
        {"akma: threads, one request", test_akma_threads},
        CU_TEST_INFO_NULL,
    };
    return msgsec_test_main("pskapi", akma_setup, akma_teardown, tests);
}
