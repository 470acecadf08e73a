/* test_seal.c - the seal-tlspsk provider through the real core: client and
 * server cores (each from its own policy, the module loaded from the build
 * tree) run TLS 1.3 and 1.2 with each key source, key management being
 * tools/msgsec-seal-km (child processes on 127.0.0.1 with ephemeral ports,
 * stopped by PID); every key-management failure; the "UE has a SEAL
 * client" rule; PSK look-ups for integrators; SEAL authorization. */
#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>

#include <msgsec/seal.h>
#include <msgsec/tlspsk.h>

#include "testutil.h"

#define SVC "msgin5g-1"
#define TOKEN "tok-static-7f3a"
#define KEY_ALICE                                                              \
    "a1a2a3a4a5a6a7a8a9aaabacadaeafb0b1b2b3b4b5b6b7b8b9babbbcbdbebfc0"
#define KEY_BOB "00112233445566778899aabbccddeeff"
#define K_MSG "000102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f"
/* The provider's self-test answer (see seal_self_test()). */
#define KAT_PSK                                                                \
    "2d86c1e5645b776d5856636149fdcaa41654ce057de7e6f30091a1c31da1f7da"

static const char records[] =
    "# tokens, clients, keys, associations\n"
    "token " TOKEN "\n"
    "client ue-client s3cret-Pa55\n"
    "key msgin5g alice 3GPP-SEAL:alice#1 " KEY_ALICE " 3600\n"
    "key msgin5g bob 3GPP-SEAL:bob " KEY_BOB " 3600\n"
    "key msgin5g old 3GPP-SEAL:old " KEY_BOB " -60\n"
    "assoc alice ue1@msgin5g.example,ue2@msgin5g.example\n"
    "assoc msisdn-15550001 ue3@msgin5g.example\n";

#define MAX_EMUS 8
static msgsec_test_aanf emus[MAX_EMUS];
static char tmpdir[256];
static const char *records_path;
static msgsec_test_aanf *km; /* the well-behaved one */

/* Starts msgsec-seal-km on the records with up to 2 extra arguments. */
static msgsec_test_aanf *km_start(const char *a1, const char *a2)
{
    const char *args[] = {"--records", records_path, a1, a2, NULL};
    return msgsec_test_emu_start(emus, MAX_EMUS, tmpdir, "msgsec-seal-km",
                                 args);
}

#define km_stop msgsec_test_emu_stop

/* Lines of the emulator's log that contain s. */
static int km_count(const msgsec_test_aanf *e, const char *s)
{
    return msgsec_test_count_lines(e->log, s);
}

/* A policy: one seal-tlspsk section with body, the service SVC. */
static const char *policy(const char *body, const char *svc_extra)
{
    static char text[8192];
    const char *bd = getenv("MSGSEC_TEST_BUILDDIR");
    snprintf(text, sizeof(text),
             "[core]\nprovider_dir = @PROVIDER_DIR@\n"
             "[provider.seal-tlspsk]\nsupport = mandatory\n"
             "module = %s/plugins/seal-tlspsk/seal-tlspsk.la\n%s"
             "[service." SVC "]\nuse = seal-tlspsk\nnegotiation = implicit\n"
             "%s",
             bd ? bd : ".", body, svc_extra ? svc_extra : "");
    return text;
}

/* A core from a section body; NULL with *rc and detail when it fails. */
static msgsec_core *make_core(const char *body, const char *svc_extra,
                              int *rc, char *detail, size_t cap)
{
    return msgsec_test_core_logged(policy(body, svc_extra), rc, detail, cap);
}

#define CORE(body) make_core(body, NULL, NULL, NULL, 0)

/* Key-management section lines for apiRoot root. */
static const char *km_lines(const msgsec_test_aanf *e, const char *extra)
{
    static char b[2][2048];
    static int i;
    i ^= 1;
    snprintf(b[i], sizeof(b[i]), "km_uri = %s\nkm_token = " TOKEN "\n%s",
             e ? e->root : "http://127.0.0.1:9", extra ? extra : "");
    return b[i];
}

typedef struct run {
    msgsec_test_pair p;
    char cd[1024], sd[1024];
} run;

/* A client session of cc against a server session of sc, driven to the
 * end; 0 when both are established. */
static int handshake(run *r, msgsec_core *cc, msgsec_core *sc)
{
    memset(r, 0, sizeof(*r));
    CU_ASSERT_EQUAL_FATAL(
        msgsec_test_pair_new(&r->p, cc, sc, SVC, "msgin5g.example"), 0);
    int rc = msgsec_test_pair_run(&r->p);
    snprintf(r->cd, sizeof(r->cd), "%s", msgsec_session_detail(r->p.c));
    snprintf(r->sd, sizeof(r->sd), "%s", msgsec_session_detail(r->p.s));
    if (rc != 0 && getenv("SEAL_TEST_VERBOSE"))
        fprintf(stderr, "client %s: %s\nserver %s: %s\n",
                msgsec_error_name(r->p.crc), r->cd,
                msgsec_error_name(r->p.src), r->sd);
    return rc;
}

#define run_free(r) msgsec_test_pair_free(&(r)->p)

/* A handshake that must succeed: the server sees VAL user `user`, one
 * message goes each way through msgsec_test_pump()'s sessions. */
static void good(msgsec_core *cc, msgsec_core *sc, const char *user,
                 int expires)
{
    run r;
    int rc = handshake(&r, cc, sc);
    if (rc != 0)
        fprintf(stderr, "handshake: client %s (%s), server %s (%s)\n",
                msgsec_error_name(r.p.crc), r.cd, msgsec_error_name(r.p.src),
                r.sd);
    CU_ASSERT_EQUAL(rc, 0);
    if (rc == 0) {
        msgsec_peer p;
        CU_ASSERT_EQUAL(msgsec_session_peer(r.p.s, &p), 0);
        CU_ASSERT_STRING_EQUAL(p.scheme, "seal-tlspsk");
        CU_ASSERT_STRING_EQUAL(p.identity, user);
        CU_ASSERT(expires ? p.key_expiry > (int64_t)time(NULL)
                          : p.key_expiry == 0);
        CU_ASSERT(p.caps & MSGSEC_CAP_FORWARD_SECRECY);
        uint8_t buf[64];
        size_t n = 0;
        CU_ASSERT_EQUAL(msgsec_session_send(r.p.c, "REG", 3), 0);
        CU_ASSERT_EQUAL(msgsec_test_pump(r.p.c, r.p.s), 0);
        CU_ASSERT_EQUAL(msgsec_session_recv(r.p.s, buf, sizeof(buf), &n), 0);
        CU_ASSERT(n == 3 && memcmp(buf, "REG", 3) == 0);
        CU_ASSERT_EQUAL(msgsec_session_send(r.p.s, "MSGRESP", 7), 0);
        CU_ASSERT_EQUAL(msgsec_test_pump(r.p.c, r.p.s), 0);
        CU_ASSERT_EQUAL(msgsec_session_recv(r.p.c, buf, sizeof(buf), &n), 0);
        CU_ASSERT(n == 7 && memcmp(buf, "MSGRESP", 7) == 0);
    }
    run_free(&r);
}

/* A handshake that must fail with these codes (0: any) and detail words
 * (NULL: not checked). */
static void bad(msgsec_core *cc, msgsec_core *sc, int crc, int src,
                const char *cword, const char *sword)
{
    run r;
    CU_ASSERT_NOT_EQUAL(handshake(&r, cc, sc), 0);
    if (crc) {
        CU_ASSERT_EQUAL(r.p.crc, crc);
        if (r.p.crc != crc)
            fprintf(stderr, "client: %s %s\n", msgsec_error_name(r.p.crc),
                    r.cd);
    }
    if (src) {
        CU_ASSERT_EQUAL(r.p.src, src);
        if (r.p.src != src)
            fprintf(stderr, "server: %s %s\n", msgsec_error_name(r.p.src),
                    r.sd);
    }
    if (cword)
        CU_ASSERT_PTR_NOT_NULL(strstr(r.cd, cword));
    if (sword)
        CU_ASSERT_PTR_NOT_NULL(strstr(r.sd, sword));
    /* Details never carry keys or tokens. */
    CU_ASSERT_PTR_NULL(strstr(r.cd, TOKEN));
    CU_ASSERT_PTR_NULL(strstr(r.sd, KEY_ALICE));
    run_free(&r);
}

/* A private file of text in tmpdir; returns its path (static slots). */
static const char *write_file(const char *name, const char *text,
                              mode_t mode)
{
    static char paths[16][512];
    static int i;
    char *p = paths[i++ % 16];
    snprintf(p, 512, "%s/%s", tmpdir, name);
    FILE *f = fopen(p, "w");
    if (!f)
        return NULL;
    fputs(text, f);
    fclose(f);
    chmod(p, mode);
    return p;
}

/* A client core with one key of its own: a psk_file of the line
 * "IDENTITY:HEXKEY" for VAL user `user` (+ key_id when not NULL). */
static msgsec_core *file_client(const char *identity, const char *hexkey,
                                const char *user, const char *key_id)
{
    static int seq;
    char name[32], line[512], body[1024];
    snprintf(name, sizeof(name), "psk-client-%d", seq++);
    snprintf(line, sizeof(line), "%s:%s\n", identity, hexkey);
    const char *pf = write_file(name, line, 0600);
    snprintf(body, sizeof(body), "psk_file = %s\nval_user_id = %s\n%s%s%s",
             pf ? pf : "/nonexistent", user, key_id ? "key_id = " : "",
             key_id ? key_id : "", key_id ? "\n" : "");
    msgsec_core *c = CORE(body);
    CU_ASSERT_PTR_NOT_NULL(c);
    return c;
}

static int setup(void)
{
    if (msgsec_test_mkdir(tmpdir, sizeof(tmpdir), "seal") != 0)
        return 1;
    /* Kept: write_file() reuses its 16 path slots. */
    static char rpath[512];
    const char *rp = write_file("records", records, 0600);
    records_path = rp ? strcpy(rpath, rp) : NULL;
    km = records_path ? km_start(NULL, NULL) : NULL;
    return km ? 0 : 1;
}

static int teardown(void)
{
    for (int i = 0; i < MAX_EMUS; i++)
        km_stop(&emus[i]);
    return msgsec_test_rmdir(tmpdir) == 0 ? 0 : 1;
}

/* ------------------------------------------------------------- km */

static const char *client_km(const char *user, const char *extra)
{
    static char b[2048];
    snprintf(b, sizeof(b), "%sval_user_id = %s\n", km_lines(km, extra), user);
    return b;
}

static void test_km_tls13(void)
{
    msgsec_core *cc = CORE(client_km("alice", NULL));
    msgsec_core *sc = CORE(km_lines(km, NULL));
    CU_ASSERT_PTR_NOT_NULL_FATAL(cc);
    CU_ASSERT_PTR_NOT_NULL_FATAL(sc);
    good(cc, sc, "alice", 1);
    good(cc, sc, "alice", 1);
    msgsec_core_free(cc);
    msgsec_core_free(sc);
    CU_ASSERT(!msgsec_test_log_has(KEY_ALICE));
    CU_ASSERT(!msgsec_test_log_has(TOKEN));
}

/* The SDK engine as a TLS 1.2-only client (identity, hex key) against a
 * server session of sc: the engine's view of what was negotiated. */
static int engine_tls12_client(msgsec_core *sc, const char *identity,
                               const char *hexkey, msgsec_tlspsk_info *info)
{
    msgsec_tlspsk_config cfg = {.size = sizeof(cfg),
                                .min_version = MSGSEC_TLSPSK_TLS1_2,
                                .max_version = MSGSEC_TLSPSK_TLS1_2};
    uint8_t key[64];
    size_t klen = strlen(hexkey) / 2;
    for (size_t i = 0; i < klen; i++)
        sscanf(hexkey + 2 * i, "%2hhx", &key[i]);
    msgsec_test_wire *out = calloc(1, sizeof(*out));
    msgsec_test_wire *in = calloc(1, sizeof(*in));
    msgsec_tlspsk_conn_config cc = {.size = sizeof(cc),
                                    .role = MSGSEC_ROLE_CLIENT,
                                    .arg = out,
                                    .write = msgsec_test_wire_write,
                                    .identity = (const uint8_t *)identity,
                                    .identity_len = strlen(identity),
                                    .key = key,
                                    .key_len = klen};
    msgsec_tlspsk_ctx *ctx = NULL;
    msgsec_tlspsk_conn *conn = NULL;
    msgsec_session *s = NULL;
    int rc = out && in ? msgsec_tlspsk_ctx_new(&cfg, &ctx, NULL, 0)
                       : MSGSEC_ERR_NOMEM;
    if (rc == 0)
        rc = msgsec_tlspsk_conn_new(ctx, &cc, &conn);
    if (rc == 0)
        rc = msgsec_session_new(sc, SVC, MSGSEC_ROLE_SERVER, NULL, &s);
    size_t used = 0;
    if (rc == 0)
        rc = msgsec_tlspsk_step(conn, NULL, 0, &used);
    for (int round = 0; round < 20 && rc > 0; round++) {
        int r = msgsec_session_feed(s, out->b, out->n);
        out->n = 0;
        if (r == MSGSEC_PENDING)
            r = msgsec_session_wait(s, 10000);
        in->n += msgsec_session_pull(s, in->b + in->n, sizeof(in->b) - in->n);
        rc = r < 0 ? r : msgsec_tlspsk_step(conn, in->b, in->n, &used);
        memmove(in->b, in->b + used, in->n - used);
        in->n -= used;
    }
    if (rc == 0 && out->n)
        rc = msgsec_session_feed(s, out->b, out->n); /* the last flight */
    if (rc == 0 && msgsec_session_state(s) != MSGSEC_STATE_ESTABLISHED)
        rc = MSGSEC_ERR_STATE;
    memset(info, 0, sizeof(*info));
    if (conn)
        msgsec_tlspsk_get_info(conn, info);
    info->identity = NULL; /* freed below */
    info->cipher = "";
    msgsec_session_free(s);
    msgsec_tlspsk_conn_free(conn);
    msgsec_tlspsk_ctx_free(ctx);
    OPENSSL_cleanse(key, sizeof(key));
    free(out);
    free(in);
    return rc;
}

static void test_km_tls12(void)
{
    msgsec_core *cc = CORE(client_km("bob", "tls12 = only\n"));
    msgsec_core *sc = CORE(km_lines(km, "tls12 = yes\n"));
    CU_ASSERT_PTR_NOT_NULL_FATAL(cc);
    CU_ASSERT_PTR_NOT_NULL_FATAL(sc);
    good(cc, sc, "bob", 1);
    /* What the server negotiates, seen from a client of its own. */
    msgsec_tlspsk_info info;
    CU_ASSERT_EQUAL(engine_tls12_client(sc, "3GPP-SEAL:bob", KEY_BOB, &info),
                    0);
    CU_ASSERT_EQUAL(info.version, MSGSEC_TLSPSK_TLS1_2);
    CU_ASSERT(info.done);
    CU_ASSERT(info.forward_secrecy);
    /* A TLS 1.3-only server refuses it. */
    msgsec_core *sc13 = CORE(km_lines(km, NULL));
    CU_ASSERT_PTR_NOT_NULL_FATAL(sc13);
    CU_ASSERT_NOT_EQUAL(
        engine_tls12_client(sc13, "3GPP-SEAL:bob", KEY_BOB, &info), 0);
    msgsec_core_free(sc13);
    msgsec_core_free(cc);
    msgsec_core_free(sc);
}

/* The client credentials grant, both roles; the token endpoint is asked
 * once per core. */
static void test_km_token_fetched(void)
{
    char grant[1024], cbody[1200];
    snprintf(grant, sizeof(grant),
             "km_uri = %s\ntoken_uri = %s/oauth2/token\n"
             "client_id = ue-client\nclient_secret = s3cret-Pa55\n",
             km->root, km->root);
    snprintf(cbody, sizeof(cbody), "%sval_user_id = alice\n", grant);
    int before = km_count(km, "/oauth2/token");
    msgsec_core *cc = CORE(cbody);
    msgsec_core *sc = CORE(grant);
    CU_ASSERT_PTR_NOT_NULL_FATAL(cc);
    CU_ASSERT_PTR_NOT_NULL_FATAL(sc);
    good(cc, sc, "alice", 1);
    CU_ASSERT_EQUAL(km_count(km, "/oauth2/token"), before + 2);
    msgsec_core_free(cc);
    msgsec_core_free(sc);
}

/* Client credentials grant lines for key management at e. */
static const char *grant_lines(const msgsec_test_aanf *e)
{
    static char b[1024];
    snprintf(b, sizeof(b),
             "km_uri = %s\ntoken_uri = %s/oauth2/token\n"
             "client_id = ue-client\nclient_secret = s3cret-Pa55\n",
             e->root, e->root);
    return b;
}

/* An issued token key management stops accepting (revoked): the provider
 * fetches a new one once and goes on; refused again, it gives up. */
static void test_km_token_refetched(void)
{
    /* Each issued token serves one request. */
    msgsec_test_aanf *e = km_start("--forget-tokens-after", "1");
    CU_ASSERT_PTR_NOT_NULL_FATAL(e);
    msgsec_core *sc = CORE(grant_lines(e));
    msgsec_core *alice = file_client("3GPP-SEAL:alice#1", KEY_ALICE, "alice",
                                     "1");
    msgsec_core *bob = file_client("3GPP-SEAL:bob", KEY_BOB, "bob", NULL);
    CU_ASSERT_PTR_NOT_NULL_FATAL(sc);
    CU_ASSERT_PTR_NOT_NULL_FATAL(alice);
    CU_ASSERT_PTR_NOT_NULL_FATAL(bob);
    good(alice, sc, "alice", 1);
    CU_ASSERT_EQUAL(km_count(e, "/oauth2/token"), 1);
    /* bob's record: the token is refused (401), a new one is fetched and
     * the request repeated. */
    good(bob, sc, "bob", 1);
    CU_ASSERT_EQUAL(km_count(e, "/oauth2/token"), 2);
    CU_ASSERT_EQUAL(km_count(e, "(unknown token)"), 1);
    CU_ASSERT_EQUAL(km_count(e, MSGSEC_SEAL_PATH_KEY_RECORDS), 3);
    msgsec_core_free(bob);
    msgsec_core_free(alice);
    msgsec_core_free(sc);
    km_stop(e);

    /* No issued token works: refused right after the new token too. */
    e = km_start("--forget-tokens-after", "0");
    CU_ASSERT_PTR_NOT_NULL_FATAL(e);
    char body[1200];
    snprintf(body, sizeof(body), "%sval_user_id = alice\n", grant_lines(e));
    msgsec_core *cc = CORE(body);
    sc = CORE(km_lines(km, NULL));
    CU_ASSERT_PTR_NOT_NULL_FATAL(cc);
    CU_ASSERT_PTR_NOT_NULL_FATAL(sc);
    bad(cc, sc, MSGSEC_ERR_TOKEN_REJECTED, 0, "alice", NULL);
    CU_ASSERT_EQUAL(km_count(e, "/oauth2/token"), 2);
    CU_ASSERT_EQUAL(km_count(e, "(unknown token)"), 2);
    msgsec_core_free(cc);
    msgsec_core_free(sc);
    km_stop(e);
}

/* ------------------------------------------- a canned token endpoint */

/* An HTTP/1.1 server on 127.0.0.1 (one thread) giving every request the
 * same answer and closing the connection; counts the requests. */
typedef struct canned {
    int fd, port;
    const char *answer;
    atomic_int stop, requests;
    pthread_t th;
} canned;

/* Reads one request (head, then Content-Length bytes); 1 when complete. */
static int canned_read(int c)
{
    char buf[8192];
    size_t n = 0;
    while (n < sizeof(buf) - 1) {
        struct pollfd q = {.fd = c, .events = POLLIN};
        ssize_t r = poll(&q, 1, 2000) > 0
                        ? recv(c, buf + n, sizeof(buf) - 1 - n, 0)
                        : -1;
        if (r <= 0)
            return 0;
        n += (size_t)r;
        buf[n] = 0;
        char *end = strstr(buf, "\r\n\r\n");
        if (!end)
            continue;
        size_t body = 0;
        for (char *l = strstr(buf, "\r\n"); l && l < end;
             l = strstr(l, "\r\n")) {
            l += 2;
            if (!strncasecmp(l, "content-length:", 15))
                body = strtoul(l + 15, NULL, 10);
        }
        if (n >= (size_t)(end + 4 - buf) + body)
            return 1;
    }
    return 0;
}

static void *canned_main(void *arg)
{
    canned *cs = arg;
    while (!atomic_load(&cs->stop)) {
        struct pollfd p = {.fd = cs->fd, .events = POLLIN};
        if (poll(&p, 1, 50) <= 0)
            continue;
        int c = accept(cs->fd, NULL, NULL);
        if (c < 0)
            continue;
        if (canned_read(c)) {
            atomic_fetch_add(&cs->requests, 1);
            ssize_t w = send(c, cs->answer, strlen(cs->answer), MSG_NOSIGNAL);
            (void)w;
        }
        close(c);
    }
    return NULL;
}

static int canned_start(canned *cs, const char *answer)
{
    memset(cs, 0, sizeof(*cs));
    cs->answer = answer;
    struct sockaddr_in a = {.sin_family = AF_INET,
                            .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
    socklen_t al = sizeof(a);
    cs->fd = socket(AF_INET, SOCK_STREAM, 0);
    if (cs->fd < 0 || bind(cs->fd, (struct sockaddr *)&a, sizeof(a)) != 0 ||
        listen(cs->fd, 8) != 0 ||
        getsockname(cs->fd, (struct sockaddr *)&a, &al) != 0 ||
        pthread_create(&cs->th, NULL, canned_main, cs) != 0) {
        if (cs->fd >= 0)
            close(cs->fd);
        return -1;
    }
    cs->port = ntohs(a.sin_port);
    return 0;
}

static void canned_stop(canned *cs)
{
    atomic_store(&cs->stop, 1);
    pthread_join(cs->th, NULL);
    close(cs->fd);
}

/* The largest expires_in JSON allows: the token's expiry must not
 * overflow; the token serves every look-up, fetched once. */
static void test_km_token_long_life(void)
{
    static const char json[] = "{\"access_token\":\"" TOKEN "\","
                               "\"token_type\":\"Bearer\","
                               "\"expires_in\":9223372036854775807}";
    char answer[512], body[1024];
    snprintf(answer, sizeof(answer),
             "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\n"
             "Content-Length: %zu\r\nConnection: close\r\n\r\n%s",
             sizeof(json) - 1, json);
    canned cs;
    CU_ASSERT_EQUAL_FATAL(canned_start(&cs, answer), 0);
    snprintf(body, sizeof(body),
             "km_uri = %s\ntoken_uri = http://127.0.0.1:%d/oauth2/token\n"
             "client_id = ue-client\nclient_secret = s3cret-Pa55\n"
             "http_version = 1.1\n",
             km->root, cs.port);
    msgsec_core *sc = CORE(body);
    msgsec_core *alice = file_client("3GPP-SEAL:alice#1", KEY_ALICE, "alice",
                                     "1");
    msgsec_core *bob = file_client("3GPP-SEAL:bob", KEY_BOB, "bob", NULL);
    if (sc && alice && bob) {
        good(alice, sc, "alice", 1);
        good(bob, sc, "bob", 1);
    }
    CU_ASSERT_PTR_NOT_NULL(sc);
    CU_ASSERT_EQUAL(atomic_load(&cs.requests), 1);
    msgsec_core_free(bob);
    msgsec_core_free(alice);
    msgsec_core_free(sc);
    canned_stop(&cs);
}

static void test_km_token_rejected(void)
{
    /* A static token key management does not know. */
    char body[1024];
    snprintf(body, sizeof(body),
             "km_uri = %s\nkm_token = not-the-token\nval_user_id = alice\n",
             km->root);
    msgsec_core *cc = CORE(body);
    msgsec_core *sc = CORE(km_lines(km, NULL));
    CU_ASSERT_PTR_NOT_NULL_FATAL(cc);
    CU_ASSERT_PTR_NOT_NULL_FATAL(sc);
    bad(cc, sc, MSGSEC_ERR_TOKEN_REJECTED, 0, "alice", NULL);
    /* Wrong client credentials at the token endpoint (server side). */
    snprintf(body, sizeof(body),
             "km_uri = %s\ntoken_uri = %s/oauth2/token\nclient_id = "
             "ue-client\nclient_secret = wrong\n",
             km->root, km->root);
    msgsec_core *sc2 = CORE(body);
    CU_ASSERT_PTR_NOT_NULL_FATAL(sc2);
    msgsec_core *good_c = CORE(client_km("alice", NULL));
    bad(good_c, sc2, 0, MSGSEC_ERR_TOKEN_REJECTED, "internal_error",
        "client credentials");
    msgsec_core_free(good_c);
    msgsec_core_free(sc2);
    msgsec_core_free(cc);
    msgsec_core_free(sc);
}

static void test_km_no_record(void)
{
    msgsec_core *cc = CORE(client_km("nobody", NULL));
    msgsec_core *sc = CORE(km_lines(km, NULL));
    CU_ASSERT_PTR_NOT_NULL_FATAL(cc);
    bad(cc, sc, MSGSEC_ERR_KEY_UNAVAILABLE, 0, "nobody", NULL);
    msgsec_core_free(cc);
    msgsec_core_free(sc);
}

/* A client with a key of its own (psk_file) whose VAL user key management
 * does not know: the server answers unknown_psk_identity. */
static void test_unknown_identity(void)
{
    msgsec_core *cc = file_client("3GPP-SEAL:mallory", KEY_BOB, "mallory",
                                  NULL);
    msgsec_core *sc = CORE(km_lines(km, NULL));
    CU_ASSERT_PTR_NOT_NULL_FATAL(cc);
    CU_ASSERT_PTR_NOT_NULL_FATAL(sc);
    bad(cc, sc, MSGSEC_ERR_KEY_UNAVAILABLE, MSGSEC_ERR_KEY_UNAVAILABLE,
        "unknown_psk_identity", "mallory");
    /* A known user presenting another key generation's identity. */
    msgsec_core *cc2 = file_client("3GPP-SEAL:alice#0", KEY_ALICE, "alice",
                                   "0");
    CU_ASSERT_PTR_NOT_NULL_FATAL(cc2);
    bad(cc2, sc, MSGSEC_ERR_KEY_UNAVAILABLE, MSGSEC_ERR_KEY_UNAVAILABLE,
        "3GPP-SEAL:alice#0", "3GPP-SEAL:alice#1");
    msgsec_core_free(cc2);
    msgsec_core_free(cc);
    msgsec_core_free(sc);
}

static void test_km_garbage(void)
{
    msgsec_test_aanf *g = km_start("--garbage", NULL);
    CU_ASSERT_PTR_NOT_NULL_FATAL(g);
    char body[1024];
    snprintf(body, sizeof(body), "%sval_user_id = alice\n",
             km_lines(g, NULL));
    msgsec_core *cc = CORE(body);
    msgsec_core *sc = CORE(km_lines(km, NULL));
    CU_ASSERT_PTR_NOT_NULL_FATAL(cc);
    bad(cc, sc, MSGSEC_ERR_BAD_FRAME, 0, "keyInfo", NULL);
    msgsec_core_free(cc);
    msgsec_core_free(sc);
    km_stop(g);
}

static void test_km_expired(void)
{
    msgsec_core *cc = CORE(client_km("old", NULL));
    msgsec_core *sc = CORE(km_lines(km, NULL));
    CU_ASSERT_PTR_NOT_NULL_FATAL(cc);
    bad(cc, sc, MSGSEC_ERR_KEY_EXPIRED, 0, "old", NULL);
    /* The server side: the client holds the key, key management says it
     * expired. */
    msgsec_core *cc2 = file_client("3GPP-SEAL:old", KEY_BOB, "old", NULL);
    CU_ASSERT_PTR_NOT_NULL_FATAL(cc2);
    bad(cc2, sc, MSGSEC_ERR_KEY_UNAVAILABLE, MSGSEC_ERR_KEY_EXPIRED,
        "unknown_psk_identity", "expired");
    msgsec_core_free(cc2);
    msgsec_core_free(cc);
    msgsec_core_free(sc);
}

static void test_km_down(void)
{
    msgsec_test_aanf *d = km_start(NULL, NULL);
    CU_ASSERT_PTR_NOT_NULL_FATAL(d);
    char body[1024];
    snprintf(body, sizeof(body), "%sval_user_id = alice\n",
             km_lines(d, NULL));
    km_stop(d); /* nobody listens on its port any more */
    msgsec_core *cc = CORE(body);
    CU_ASSERT_PTR_NOT_NULL_FATAL(cc);
    msgsec_core *sc = CORE(km_lines(km, NULL));
    bad(cc, sc, MSGSEC_ERR_LOOKUP_FAILED, 0, "unreachable", NULL);
    /* Server side: the whole cause fits the detail, before the alert. */
    msgsec_core *sd = CORE(km_lines(d, NULL));
    msgsec_core *fc = file_client("3GPP-SEAL:alice#1", KEY_ALICE, "alice",
                                  "1");
    CU_ASSERT_PTR_NOT_NULL_FATAL(sd);
    CU_ASSERT_PTR_NOT_NULL_FATAL(fc);
    run r;
    CU_ASSERT_NOT_EQUAL(handshake(&r, fc, sd), 0);
    CU_ASSERT_EQUAL(r.p.src, MSGSEC_ERR_LOOKUP_FAILED);
    CU_ASSERT_PTR_NOT_NULL(strstr(r.sd, "key management is unreachable: "
                                        "cannot connect ("));
    CU_ASSERT_PTR_NOT_NULL(strstr(r.sd, ") (alert internal_error sent)"));
    if (!strstr(r.sd, ") (alert internal_error sent)"))
        fprintf(stderr, "server: %s\n", r.sd);
    run_free(&r);
    msgsec_core_free(fc);
    msgsec_core_free(sd);
    msgsec_core_free(cc);
    msgsec_core_free(sc);
}

static void test_km_slow(void)
{
    msgsec_test_aanf *s = km_start("--delay-ms", "1500");
    CU_ASSERT_PTR_NOT_NULL_FATAL(s);
    char body[1024];
    snprintf(body, sizeof(body), "%sval_user_id = alice\n",
             km_lines(s, "km_timeout_ms = 300\n"));
    msgsec_core *cc = CORE(body);
    msgsec_core *sc = CORE(km_lines(s, "km_timeout_ms = 300\n"));
    CU_ASSERT_PTR_NOT_NULL_FATAL(cc);
    CU_ASSERT_PTR_NOT_NULL_FATAL(sc);
    bad(cc, sc, MSGSEC_ERR_TIMEOUT, 0, "300 ms", NULL);
    /* Server side: the client's key from a file. */
    msgsec_core *cc2 = file_client("3GPP-SEAL:alice#1", KEY_ALICE, "alice",
                                   "1");
    CU_ASSERT_PTR_NOT_NULL_FATAL(cc2);
    bad(cc2, sc, 0, MSGSEC_ERR_TIMEOUT, "internal_error", "300 ms");
    msgsec_core_free(cc2);
    msgsec_core_free(cc);
    msgsec_core_free(sc);
    km_stop(s);
}

/* Two server sessions of one VAL user waiting at once: one request. */
static void test_km_one_request(void)
{
    /* Slow enough that the second session arrives during the request. */
    msgsec_test_aanf *e = km_start("--delay-ms", "300");
    CU_ASSERT_PTR_NOT_NULL_FATAL(e);
    msgsec_core *cc = file_client("3GPP-SEAL:alice#1", KEY_ALICE, "alice",
                                  "1");
    msgsec_core *sc = CORE(km_lines(e, NULL));
    CU_ASSERT_PTR_NOT_NULL_FATAL(cc);
    CU_ASSERT_PTR_NOT_NULL_FATAL(sc);
    msgsec_test_pair r[2];
    for (int i = 0; i < 2; i++) {
        CU_ASSERT_EQUAL_FATAL(msgsec_test_pair_new(&r[i], cc, sc, SVC, NULL),
                              0);
        msgsec_test_shuttle(r[i].c, r[i].s, &r[i].src);
        CU_ASSERT_EQUAL(msgsec_session_state(r[i].s), MSGSEC_STATE_PENDING);
    }
    for (int i = 0; i < 2; i++) {
        CU_ASSERT_EQUAL(msgsec_test_pair_run(&r[i]), 0);
        msgsec_test_pair_free(&r[i]);
    }
    CU_ASSERT_EQUAL(km_count(e, MSGSEC_SEAL_PATH_KEY_RECORDS), 1);
    /* Later sessions: from the cache. */
    good(cc, sc, "alice", 1);
    CU_ASSERT_EQUAL(km_count(e, MSGSEC_SEAL_PATH_KEY_RECORDS), 1);
    msgsec_core_free(cc);
    msgsec_core_free(sc);
    km_stop(e);
}

/* Made-up key ids do not turn handshakes into key-management requests: a
 * stored record younger than the refetch age is not fetched again. */
static void test_km_refetch_limited(void)
{
    msgsec_test_aanf *e = km_start(NULL, NULL);
    CU_ASSERT_PTR_NOT_NULL_FATAL(e);
    msgsec_core *cc = file_client("3GPP-SEAL:alice#1", KEY_ALICE, "alice",
                                  "1");
    msgsec_core *bogus = file_client("3GPP-SEAL:alice#7", KEY_ALICE, "alice",
                                     "7");
    msgsec_core *sc = CORE(km_lines(e, NULL));
    CU_ASSERT_PTR_NOT_NULL_FATAL(cc);
    CU_ASSERT_PTR_NOT_NULL_FATAL(bogus);
    CU_ASSERT_PTR_NOT_NULL_FATAL(sc);
    good(cc, sc, "alice", 1);
    CU_ASSERT_EQUAL(km_count(e, MSGSEC_SEAL_PATH_KEY_RECORDS), 1);
    for (int i = 0; i < 3; i++)
        bad(bogus, sc, MSGSEC_ERR_KEY_UNAVAILABLE, MSGSEC_ERR_KEY_UNAVAILABLE,
            NULL, "3GPP-SEAL:alice#1");
    CU_ASSERT_EQUAL(km_count(e, MSGSEC_SEAL_PATH_KEY_RECORDS), 1);
    /* The genuine identity is still served from the cache. */
    good(cc, sc, "alice", 1);
    CU_ASSERT_EQUAL(km_count(e, MSGSEC_SEAL_PATH_KEY_RECORDS), 1);
    msgsec_core_free(bogus);
    msgsec_core_free(cc);
    msgsec_core_free(sc);
    km_stop(e);
}

/* A session freed while its look-up runs, then the core. */
static void test_km_free_pending(void)
{
    msgsec_test_aanf *s = km_start("--delay-ms", "300");
    CU_ASSERT_PTR_NOT_NULL_FATAL(s);
    msgsec_core *sc = CORE(km_lines(s, NULL));
    msgsec_core *cc = file_client("3GPP-SEAL:alice#1", KEY_ALICE, "alice",
                                  "1");
    CU_ASSERT_PTR_NOT_NULL_FATAL(sc);
    CU_ASSERT_PTR_NOT_NULL_FATAL(cc);
    msgsec_test_pair r;
    CU_ASSERT_EQUAL_FATAL(msgsec_test_pair_new(&r, cc, sc, SVC, NULL), 0);
    msgsec_test_shuttle(r.c, r.s, &r.src);
    CU_ASSERT_EQUAL(msgsec_session_state(r.s), MSGSEC_STATE_PENDING);
    msgsec_test_pair_free(&r);
    msgsec_core_free(sc); /* the request still runs */
    msgsec_core_free(cc);
    km_stop(s);
}

/* ---------------------------------------------------------- derive */

static void hex(const char *h, uint8_t *out, size_t n)
{
    for (size_t i = 0; i < n; i++)
        sscanf(h + 2 * i, "%2hhx", &out[i]);
}

static void tohex(const uint8_t *p, size_t n, char *out)
{
    for (size_t i = 0; i < n; i++)
        sprintf(out + 2 * i, "%02x", p[i]);
}

/* TS 33.220 B.2 computed here: HMAC-SHA-256(key, FC || P0 || L0 || P1 ||
 * L1) for two string parameters. */
static void kdf2(const uint8_t key[32], uint8_t fc, const char *p0,
                 const char *p1, uint8_t out[32])
{
    uint8_t s[600];
    size_t n = 0, l0 = strlen(p0), l1 = strlen(p1);
    s[n++] = fc;
    memcpy(s + n, p0, l0);
    n += l0;
    s[n++] = (uint8_t)(l0 >> 8);
    s[n++] = (uint8_t)l0;
    memcpy(s + n, p1, l1);
    n += l1;
    s[n++] = (uint8_t)(l1 >> 8);
    s[n++] = (uint8_t)l1;
    unsigned ol = 0;
    HMAC(EVP_sha256(), key, 32, s, n, out, &ol);
}

static void test_self_test_answer(void)
{
    uint8_t k[32], out[32], want[32];
    for (int i = 0; i < 32; i++)
        k[i] = (uint8_t)i;
    kdf2(k, 0x7e, "3GPP-SEAL:kat-user", "msgin5g", out);
    hex(KAT_PSK, want, 32);
    CU_ASSERT_EQUAL(memcmp(out, want, 32), 0);
    /* The provider runs its self-test at load: loading proves its
     * derivation gives the same answer. */
    msgsec_core *c = CORE("msg_key = " K_MSG "\n");
    CU_ASSERT_PTR_NOT_NULL(c);
    msgsec_core_free(c);
}

static void test_derive(void)
{
    const char *kf = write_file("kmsg", K_MSG "\n", 0600);
    char body[1024];
    snprintf(body, sizeof(body), "msg_key_file = %s\n", kf);
    msgsec_core *sc = CORE(body);
    msgsec_core *sc12 = make_core("msg_key = " K_MSG "\ntls12 = yes\n", NULL,
                                  NULL, NULL, 0);
    msgsec_core *cc = CORE("msg_key = " K_MSG "\nval_user_id = carol\n");
    msgsec_core *cc12 = CORE("msg_key = " K_MSG "\nval_user_id = carol\n"
                             "key_id = 7\ntls12 = only\n");
    CU_ASSERT_PTR_NOT_NULL_FATAL(sc);
    CU_ASSERT_PTR_NOT_NULL_FATAL(sc12);
    CU_ASSERT_PTR_NOT_NULL_FATAL(cc);
    CU_ASSERT_PTR_NOT_NULL_FATAL(cc12);
    good(cc, sc, "carol", 0);
    good(cc12, sc12, "carol", 0);
    /* A client whose key was derived here independently. */
    uint8_t k[32], psk[32];
    char line[256];
    hex(K_MSG, k, 32);
    kdf2(k, 0x7e, "3GPP-SEAL:dave", "msgin5g", psk);
    strcpy(line, "3GPP-SEAL:dave:");
    tohex(psk, 32, line + strlen(line));
    strcat(line, "\n");
    const char *pf = write_file("psk-dave", line, 0600);
    snprintf(body, sizeof(body), "psk_file = %s\nval_user_id = dave\n", pf);
    msgsec_core *cd = CORE(body);
    CU_ASSERT_PTR_NOT_NULL_FATAL(cd);
    good(cd, sc, "dave", 0);
    /* Another K_MSG: the keys differ. */
    msgsec_core *other = CORE("msg_key = "
                              "ff0102030405060708090a0b0c0d0e0f101112131415161"
                              "718191a1b1c1d1e1f\nval_user_id = carol\n");
    CU_ASSERT_PTR_NOT_NULL_FATAL(other);
    bad(other, sc, 0, MSGSEC_ERR_AUTH_FAILED, NULL, NULL);
    msgsec_core_free(other);
    msgsec_core_free(cd);
    msgsec_core_free(cc12);
    msgsec_core_free(cc);
    msgsec_core_free(sc12);
    msgsec_core_free(sc);
}

/* -------------------------------------------------------- psk_file */

static void test_psk_file(void)
{
    const char *pf = write_file(
        "psks",
        "# lab keys\n3GPP-SEAL:erin:" KEY_BOB "\n"
        "3GPP-SEAL:frank#2:" KEY_ALICE "\n",
        0600);
    char body[1024];
    snprintf(body, sizeof(body), "psk_file = %s\ntls12 = yes\n", pf);
    msgsec_core *sc = CORE(body);
    snprintf(body, sizeof(body),
             "psk_file = %s\nval_user_id = frank\nkey_id = 2\n", pf);
    msgsec_core *c13 = CORE(body);
    snprintf(body, sizeof(body),
             "psk_file = %s\nidentity = 3GPP-SEAL:erin\ntls12 = only\n", pf);
    msgsec_core *c12 = CORE(body);
    CU_ASSERT_PTR_NOT_NULL_FATAL(sc);
    CU_ASSERT_PTR_NOT_NULL_FATAL(c13);
    CU_ASSERT_PTR_NOT_NULL_FATAL(c12);
    good(c13, sc, "frank", 0);
    good(c12, sc, "erin", 0);
    msgsec_core_free(c12);
    msgsec_core_free(c13);
    msgsec_core_free(sc);

    /* Group-readable: refused, naming the file. */
    const char *open_pf = write_file("psks-open",
                                     "3GPP-SEAL:erin:" KEY_BOB "\n", 0640);
    snprintf(body, sizeof(body), "psk_file = %s\n", open_pf);
    int rc = 0;
    char d[1024];
    msgsec_core *c = make_core(body, NULL, &rc, d, sizeof(d));
    CU_ASSERT_PTR_NULL(c);
    CU_ASSERT(rc < 0);
    CU_ASSERT_PTR_NOT_NULL(strstr(d, "MSGSEC_ERR_POLICY_UNSAFE_FILE"));
    CU_ASSERT_PTR_NOT_NULL(strstr(d, "psks-open"));
    CU_ASSERT_PTR_NOT_NULL(strstr(d, "group or others"));
    /* A malformed line names its FILE:LINE; no line for the client. */
    const char *badf = write_file("psks-bad", "# x\n3GPP-SEAL:erin:zz\n",
                                  0600);
    snprintf(body, sizeof(body), "psk_file = %s\n", badf);
    c = make_core(body, NULL, &rc, d, sizeof(d));
    CU_ASSERT_PTR_NOT_NULL(strstr(d, "MSGSEC_ERR_POLICY_BAD_VALUE"));
    CU_ASSERT_PTR_NOT_NULL(strstr(d, "psks-bad:2"));
    CU_ASSERT_PTR_NULL(strstr(d, "zz"));
    snprintf(body, sizeof(body), "psk_file = %s\nval_user_id = zoe\n", pf);
    c = make_core(body, NULL, &rc, d, sizeof(d));
    CU_ASSERT_PTR_NOT_NULL(strstr(d, "MSGSEC_ERR_POLICY_BAD_VALUE"));
    CU_ASSERT_PTR_NOT_NULL(strstr(d, "3GPP-SEAL:zoe"));
    msgsec_core_free(c);
}

/* Memory hooks checking that every block is freed with the size it was
 * allocated with (the msgsec_hooks contract). */
static pthread_mutex_t sized_mu = PTHREAD_MUTEX_INITIALIZER;
static long sized_live, sized_wrong;

static void *sized_alloc(void *ud, size_t n)
{
    (void)ud;
    size_t *p = calloc(1, n + 2 * sizeof(size_t));
    if (!p)
        return NULL;
    p[0] = n;
    pthread_mutex_lock(&sized_mu);
    sized_live++;
    pthread_mutex_unlock(&sized_mu);
    return p + 2;
}

static void sized_free(void *ud, void *q, size_t n)
{
    (void)ud;
    size_t *p = (size_t *)q - 2;
    pthread_mutex_lock(&sized_mu);
    sized_live--;
    sized_wrong += p[0] != n;
    pthread_mutex_unlock(&sized_mu);
    free(p);
}

/* A psk_file with comment and blank lines, through sized hooks. */
static void test_psk_file_sizes(void)
{
    const char *pf = write_file("psks-sized",
                                "# lab keys\n\n# erin\n"
                                "3GPP-SEAL:erin:" KEY_BOB "\n\n",
                                0600);
    char body[1024];
    snprintf(body, sizeof(body), "psk_file = %s\n", pf);
    const char *path = msgsec_test_write_policy(policy(body, NULL));
    CU_ASSERT_PTR_NOT_NULL_FATAL(path);
    msgsec_hooks h = {
        .size = sizeof(h), .alloc = sized_alloc, .free = sized_free};
    msgsec_core *sc = NULL;
    CU_ASSERT_EQUAL_FATAL(msgsec_core_new(path, &h, 0, &sc, NULL, 0), 0);
    msgsec_core *cc = file_client("3GPP-SEAL:erin", KEY_BOB, "erin", NULL);
    good(cc, sc, "erin", 0);
    msgsec_core_free(cc);
    msgsec_core_free(sc);
    CU_ASSERT_EQUAL(sized_wrong, 0);
    CU_ASSERT_EQUAL(sized_live, 0);
}

/* ------------------------------------------------- policy, claims */

static void test_config_errors(void)
{
    static const struct {
        const char *body, *word;
    } cases[] = {
        {"km_uri = http://127.0.0.1:9\nkm_token = t\nmsg_key = " K_MSG "\n",
         "two key sources"},
        {"key_source = magic\n", "km, derive or psk_file"},
        {"km_uri = http://127.0.0.1:9\n", "access token"},
        {"km_uri = ftp://x\nkm_token = t\n", "apiRoot"},
        {"msg_key = " K_MSG "\nkdf_params = identity,colour\n", "kdf_params"},
        {"msg_key = " K_MSG "\nkdf_fc = 0x100\n", "kdf_fc"},
        {"msg_key = 0011\n", "64 hex digits"},
        {"km_uri = http://127.0.0.1:9\nkm_token = t\nkey_id = 3\n",
         "key_id"},
        {"msg_key = " K_MSG "\ncache_size = 5\n", "cache_size"},
        {"msg_key = " K_MSG "\ntls12 = maybe\n", "no, yes or only"},
        {"cm_cache_seconds = 5\ncm_file = /nonexistent\n", "cm_file"},
        {"km_uri = http://127.0.0.1:9\ntoken_uri = http://127.0.0.1:9/t\n"
         "client_id = a\tb\nclient_secret = s\n",
         "client_id"},
        {"", "nothing to do"},
    };
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        int rc = 0;
        char d[1024] = "";
        msgsec_core *c = make_core(cases[i].body, NULL, &rc, d, sizeof(d));
        CU_ASSERT_PTR_NULL(c);
        CU_ASSERT(rc < 0);
        CU_ASSERT_PTR_NOT_NULL(strstr(d, cases[i].word));
        if (!strstr(d, cases[i].word))
            fprintf(stderr, "case %zu: %s\n", i, d);
        msgsec_core_free(c);
    }
}

/* [core] seal_client = auto: a section with km_uri or val_user_id makes
 * this UE a SEAL client, and mandatory-if-seal-client mandatory. */
static void test_seal_client_rule(void)
{
    static const struct {
        const char *body;
        int client;
    } cases[] = {
        {"msg_key = " K_MSG "\nval_user_id = carol\n", 1},
        {"km_uri = http://127.0.0.1:9\nkm_token = t\n", 1},
        {"msg_key = " K_MSG "\n", 0},
    };
    for (size_t i = 0; i < 3; i++) {
        char body[1024];
        snprintf(body, sizeof(body), "%s", cases[i].body);
        char *text = strdup(policy(body, NULL));
        CU_ASSERT_PTR_NOT_NULL_FATAL(text);
        char *sup = strstr(text, "support = mandatory");
        CU_ASSERT_PTR_NOT_NULL_FATAL(sup);
        /* support = mandatory-if-seal-client */
        char rebuilt[8192];
        snprintf(rebuilt, sizeof(rebuilt), "%.*ssupport = "
                 "mandatory-if-seal-client%s",
                 (int)(sup - text), text, sup + strlen("support = mandatory"));
        free(text);
        const char *path = msgsec_test_write_policy(rebuilt);
        msgsec_core *c = NULL;
        char d[1024];
        CU_ASSERT_EQUAL_FATAL(msgsec_core_new(path, NULL, 0, &c, d,
                                              sizeof(d)), 0);
        const char *why = NULL;
        CU_ASSERT_EQUAL(msgsec_core_seal_client(c, &why), cases[i].client);
        CU_ASSERT_PTR_NOT_NULL(why);
        if (cases[i].client)
            CU_ASSERT(why && strstr(why, i == 0 ? "val_user_id" : "km_uri"));
        int found = 0;
        for (size_t k = 0; k < msgsec_core_provider_count(c); k++) {
            msgsec_provider_info info;
            CU_ASSERT_EQUAL(msgsec_core_provider_info(c, k, &info), 0);
            if (strcmp(info.name, "seal-tlspsk"))
                continue;
            found = 1;
            CU_ASSERT_EQUAL(info.support,
                            MSGSEC_SUPPORT_MANDATORY_IF_SEAL_CLIENT);
            CU_ASSERT_EQUAL(info.effective_mandatory, cases[i].client);
            CU_ASSERT_PTR_NOT_NULL(strstr(info.detail, "seal client"));
        }
        CU_ASSERT(found);
        msgsec_core_free(c);
    }
}

/* A server with AKMA-like identities next to SEAL ones: only SEAL
 * ClientHellos are claimed (the claim sits before any key look-up). */
static void test_not_seal_identity(void)
{
    msgsec_core *sc = CORE("msg_key = " K_MSG "\n");
    msgsec_core *cc = CORE("msg_key = " K_MSG "\nval_user_id = carol\n"
                           "identity_prefix = 3GPP-AKMA\n");
    CU_ASSERT_PTR_NOT_NULL_FATAL(sc);
    CU_ASSERT_PTR_NOT_NULL_FATAL(cc);
    bad(cc, sc, 0, 0, NULL, NULL);
    msgsec_core_free(cc);
    msgsec_core_free(sc);
}

/* ------------------------------------------------ PSK look-up API */

static void test_psk_lookup(void)
{
    msgsec_core *sc = CORE(km_lines(km, "tls12 = yes\n"));
    CU_ASSERT_PTR_NOT_NULL_FATAL(sc);
    msgsec_psk_lookup *l = NULL;
    static const char id[] = "3GPP-SEAL:alice#1";
    int rc = msgsec_psk_lookup_new(sc, SVC, id, sizeof(id) - 1, NULL, &l);
    CU_ASSERT(rc == 0 || rc == MSGSEC_PENDING);
    if (rc == MSGSEC_PENDING)
        rc = msgsec_psk_lookup_wait(l, 5000);
    CU_ASSERT_EQUAL(rc, 0);
    uint8_t key[256], want[32];
    size_t n = 0;
    CU_ASSERT_EQUAL(msgsec_psk_lookup_key(l, key, sizeof(key), &n), 0);
    hex(KEY_ALICE, want, 32);
    CU_ASSERT(n == 32 && memcmp(key, want, 32) == 0);
    msgsec_peer p;
    CU_ASSERT_EQUAL(msgsec_psk_lookup_peer(l, &p), 0);
    CU_ASSERT_STRING_EQUAL(p.identity, "alice");
    CU_ASSERT(p.key_expiry > (int64_t)time(NULL));
    OPENSSL_cleanse(key, sizeof(key));
    msgsec_psk_lookup_free(l);
    /* Not a SEAL identity; unknown user. */
    l = NULL;
    CU_ASSERT_EQUAL(msgsec_psk_lookup_new(sc, SVC, "3GPP-AKMAx@y", 12, NULL,
                                          &l),
                    MSGSEC_ERR_UNCLAIMED);
    msgsec_psk_lookup_free(l);
    l = NULL;
    rc = msgsec_psk_lookup_new(sc, SVC, "3GPP-SEAL:nobody", 16, NULL, &l);
    if (rc == MSGSEC_PENDING)
        rc = msgsec_psk_lookup_wait(l, 5000);
    CU_ASSERT_EQUAL(rc, MSGSEC_ERR_KEY_UNAVAILABLE);
    msgsec_psk_lookup_free(l);
    msgsec_core_free(sc);
}

/* --------------------------------------------------- authorization */

static int authz(msgsec_core *c, const char *scheme, const char *identity,
                 const char *supi, const char *gpsi, const char *usid,
                 char *detail, size_t cap)
{
    msgsec_peer p = {.scheme = scheme,
                     .identity = identity,
                     .supi = supi,
                     .gpsi = gpsi};
    msgsec_authz *a = NULL;
    int rc = msgsec_authz_new(c, SVC, &p, usid, NULL, &a);
    if (rc == MSGSEC_PENDING)
        rc = msgsec_authz_wait(a, 5000);
    snprintf(detail, cap, "%s", a ? msgsec_authz_detail(a)
                                  : msgsec_last_detail());
    if (a)
        CU_ASSERT_STRING_EQUAL(msgsec_authz_source(a), "seal-tlspsk");
    msgsec_authz_free(a);
    return rc;
}

#define AUTHZ_SVC "authorize = seal-tlspsk\n"

static void authz_cases(msgsec_core *c)
{
    char d[1024];
    CU_ASSERT_EQUAL(authz(c, "seal-tlspsk", "alice", NULL, NULL,
                          "ue2@msgin5g.example", d, sizeof(d)), 0);
    CU_ASSERT_EQUAL(authz(c, "seal-tlspsk", "alice", NULL, NULL,
                          "ue3@msgin5g.example", d, sizeof(d)),
                    MSGSEC_ERR_NOT_AUTHORIZED);
    CU_ASSERT_PTR_NOT_NULL(strstr(d, "ue3@msgin5g.example"));
    /* AKMA peers are checked by GPSI (else SUPI), never by A-KID. */
    CU_ASSERT_EQUAL(authz(c, "akma", "x@y", "imsi-001010000000001",
                          "msisdn-15550001", "ue3@msgin5g.example", d,
                          sizeof(d)), 0);
    CU_ASSERT_EQUAL(authz(c, "akma", "alice", NULL, NULL,
                          "ue2@msgin5g.example", d, sizeof(d)),
                    MSGSEC_ERR_NOT_AUTHORIZED);
    CU_ASSERT_PTR_NOT_NULL(strstr(d, "no SUPI or GPSI"));
    CU_ASSERT_EQUAL(authz(c, "seal-tlspsk", "zed", NULL, NULL,
                          "ue1@msgin5g.example", d, sizeof(d)),
                    MSGSEC_ERR_NOT_AUTHORIZED);
    /* A control character in the subject: refused, never echoed. */
    CU_ASSERT_EQUAL(authz(c, "akma", "x@y", NULL, "msisdn-15550001\nforged",
                          "ue3@msgin5g.example", d, sizeof(d)),
                    MSGSEC_ERR_NOT_AUTHORIZED);
    CU_ASSERT_PTR_NULL(strchr(d, '\n'));
    CU_ASSERT_PTR_NOT_NULL(strstr(d, "out of form"));
}

static void test_authorize_file(void)
{
    const char *cm = write_file("cm",
                                "# identity, UE service IDs\n"
                                "alice ue1@msgin5g.example,"
                                "ue2@msgin5g.example\n"
                                "msisdn-15550001  ue3@msgin5g.example\n",
                                0644);
    char body[1024];
    snprintf(body, sizeof(body), "msg_key = " K_MSG "\ncm_file = %s\n", cm);
    msgsec_core *c = make_core(body, AUTHZ_SVC, NULL, NULL, 0);
    CU_ASSERT_PTR_NOT_NULL_FATAL(c);
    CU_ASSERT_STRING_EQUAL(msgsec_core_service_authorizer(c, SVC),
                           "seal-tlspsk");
    authz_cases(c);
    msgsec_core_free(c);
}

static void test_authorize_km(void)
{
    msgsec_test_aanf *e = km_start(NULL, NULL);
    CU_ASSERT_PTR_NOT_NULL_FATAL(e);
    char body[1024];
    /* An authorization-only instance. */
    snprintf(body, sizeof(body), "cm_uri = %s\nkm_token = " TOKEN "\n",
             e->root);
    msgsec_core *c = make_core(body, AUTHZ_SVC, NULL, NULL, 0);
    CU_ASSERT_PTR_NOT_NULL_FATAL(c);
    authz_cases(c);
    int before = km_count(e, MSGSEC_SEAL_PATH_ASSOCIATIONS);
    char d[1024];
    CU_ASSERT_EQUAL(authz(c, "seal-tlspsk", "alice", NULL, NULL,
                          "ue2@msgin5g.example", d, sizeof(d)), 0);
    /* Answered from the cache: one answer per identity lists all its UE
     * service IDs. */
    CU_ASSERT_EQUAL(authz(c, "seal-tlspsk", "alice", NULL, NULL,
                          "ue1@msgin5g.example", d, sizeof(d)), 0);
    CU_ASSERT_EQUAL(authz(c, "seal-tlspsk", "alice", NULL, NULL,
                          "ue9@msgin5g.example", d, sizeof(d)),
                    MSGSEC_ERR_NOT_AUTHORIZED);
    CU_ASSERT_EQUAL(km_count(e, MSGSEC_SEAL_PATH_ASSOCIATIONS), before);
    msgsec_core_free(c);
    /* A fresh core: one request for alice, whatever she is asked about. */
    c = make_core(body, AUTHZ_SVC, NULL, NULL, 0);
    CU_ASSERT_PTR_NOT_NULL_FATAL(c);
    before = km_count(e, MSGSEC_SEAL_PATH_ASSOCIATIONS);
    static const char *const usids[] = {"ue1@msgin5g.example",
                                        "ue2@msgin5g.example",
                                        "ue3@msgin5g.example"};
    for (int i = 0; i < 3; i++)
        CU_ASSERT_EQUAL(authz(c, "seal-tlspsk", "alice", NULL, NULL, usids[i],
                              d, sizeof(d)),
                        i < 2 ? 0 : MSGSEC_ERR_NOT_AUTHORIZED);
    CU_ASSERT_EQUAL(km_count(e, MSGSEC_SEAL_PATH_ASSOCIATIONS), before + 1);
    /* Unknown identities are cached too. */
    CU_ASSERT_EQUAL(authz(c, "seal-tlspsk", "zed", NULL, NULL,
                          "ue1@msgin5g.example", d, sizeof(d)),
                    MSGSEC_ERR_NOT_AUTHORIZED);
    CU_ASSERT_EQUAL(authz(c, "seal-tlspsk", "zed", NULL, NULL,
                          "ue2@msgin5g.example", d, sizeof(d)),
                    MSGSEC_ERR_NOT_AUTHORIZED);
    CU_ASSERT_PTR_NOT_NULL(strstr(d, "unknown"));
    CU_ASSERT_EQUAL(km_count(e, MSGSEC_SEAL_PATH_ASSOCIATIONS), before + 2);
    /* Sessions of this instance fail: no keys. */
    msgsec_session *s = NULL;
    CU_ASSERT_EQUAL(msgsec_session_new(c, SVC, MSGSEC_ROLE_CLIENT, NULL, &s),
                    MSGSEC_ERR_KEY_UNAVAILABLE);
    CU_ASSERT_PTR_NOT_NULL(strstr(msgsec_last_detail(), "no key source"));
    msgsec_core_free(c);
    /* The source down. */
    km_stop(e);
    c = make_core(body, AUTHZ_SVC, NULL, NULL, 0);
    CU_ASSERT_PTR_NOT_NULL_FATAL(c);
    CU_ASSERT_EQUAL(authz(c, "seal-tlspsk", "alice", NULL, NULL,
                          "ue2@msgin5g.example", d, sizeof(d)),
                    MSGSEC_ERR_LOOKUP_FAILED);
    CU_ASSERT_PTR_NOT_NULL(strstr(d, "unreachable"));
    msgsec_core_free(c);
}

static CU_TestInfo tests[] = {
    {"km: TLS 1.3, both roles, static token", test_km_tls13},
    {"km: TLS 1.2", test_km_tls12},
    {"km: token from the client credentials grant", test_km_token_fetched},
    {"km: token rejected", test_km_token_rejected},
    {"km: a huge expires_in does not overflow", test_km_token_long_life},
    {"km: revoked token fetched again once", test_km_token_refetched},
    {"km: made-up key ids cause no refetch", test_km_refetch_limited},
    {"km: no key record", test_km_no_record},
    {"km: unknown identity at the server", test_unknown_identity},
    {"km: malformed keyInfo", test_km_garbage},
    {"km: expired key", test_km_expired},
    {"km: server down", test_km_down},
    {"km: server slow, timeout", test_km_slow},
    {"km: two sessions of one user, one request", test_km_one_request},
    {"km: freed while pending", test_km_free_pending},
    {"derive: self-test answer computed independently",
     test_self_test_answer},
    {"derive: both roles, TLS 1.3 and 1.2", test_derive},
    {"psk_file: both roles, refused when group-readable", test_psk_file},
    {"psk_file: freed with the sizes allocated", test_psk_file_sizes},
    {"config errors", test_config_errors},
    {"seal_client rule", test_seal_client_rule},
    {"identities of another form are not claimed", test_not_seal_identity},
    {"PSK look-up for integrators", test_psk_lookup},
    {"authorize: cm_file", test_authorize_file},
    {"authorize: cm_uri, cache, source down", test_authorize_km},
    CU_TEST_INFO_NULL,
};

int main(void)
{
    return msgsec_test_main("seal-tlspsk", setup, teardown, tests);
}
