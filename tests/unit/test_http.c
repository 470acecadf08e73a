/* test_http.c - the SDK's HTTP client against the AAnF emulator
 * (tools/msgsec-aanf started as child processes on 127.0.0.1 with
 * ephemeral ports, stopped by PID): h2c, HTTP/1.1, 204, 4xx/5xx with
 * ProblemDetails, refused connections, timeouts, cancellation, many
 * concurrent requests, the blocking call and shutdown. */
#include <errno.h>
#include <netinet/in.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <msgsec/aanf.h>
#include <msgsec/http.h>

#include "testutil.h"

/* DOMAIN.md: K_AKMA of K_AUSF 00..1f / SUPI 001010000000001, and K_AF of
 * it for "msgin5g.example.com" || 01 00 00 00 07. */
#define K_AKMA "bba5e95f1205d4f1c217b91e08ec3509ad62cfbf43f474c6bf495da83132c95e"
#define K_AF "23bef238a002c758f42845fe1422dde4a9f287016074128f5c5101bcb28b9adb"
#define AKID                                                                   \
    "0001.67d8dee47b7d74e6f457b7b23d5806746ed87b920aa8035f37b494c1bfc5d83b"    \
    "@5gc.mnc001.mcc001.3gppnetwork.org"
#define UNKNOWN_AKID "0001.00@5gc.mnc001.mcc001.3gppnetwork.org"
#define AFID "msgin5g.example.com;ua=0100000007"
#define REQ_BODY "{\"afId\":\"" AFID "\",\"aKId\":\"" AKID "\"}"

static const char *const json_headers[] = {"Content-Type: application/json",
                                           "Accept: application/json, "
                                           "application/problem+json",
                                           NULL};

typedef msgsec_test_aanf emu;

static emu normal, slow, failing, shortkaf;
static uint8_t k_af[32];

static int hex2bin(const char *h, uint8_t *out, size_t n)
{
    for (size_t i = 0; i < n; i++)
        if (sscanf(h + 2 * i, "%2hhx", &out[i]) != 1)
            return -1;
    return 0;
}

static double now_s(void)
{
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (double)t.tv_sec + (double)t.tv_nsec / 1e9;
}

/* Starts the emulator with up to two extra arguments. */
static int emu_start(emu *e, const char *a1, const char *a2)
{
    const char *args[] = {a1, a2, NULL};
    return msgsec_test_aanf_start(e, NULL, args);
}

/* 1 when it exited cleanly with status 0. */
static int emu_stop(emu *e)
{
    return msgsec_test_aanf_stop(e);
}

static void url_of(const emu *e, const char *path, char *out, size_t cap)
{
    msgsec_aanf_url(e->root, path, out, cap);
}

static msgsec_http_client *client_with(int version, long timeout_ms,
                                       size_t max_response)
{
    msgsec_http_config cfg = {.size = sizeof(cfg),
                              .version = version,
                              .timeout_ms = timeout_ms,
                              .max_response = max_response};
    msgsec_http_client *c = NULL;
    char detail[256] = "";
    int rc = msgsec_http_client_new(&cfg, &c, detail, sizeof(detail));
    if (rc != 0)
        fprintf(stderr, "client: %s\n", detail);
    return c;
}

/* POSTs body to path of e with the blocking call. */
static msgsec_http_request *post(msgsec_http_client *c, const emu *e,
                                 const char *path, const char *body,
                                 const char *const *headers)
{
    char url[256];
    url_of(e, path, url, sizeof(url));
    msgsec_http_request_spec s = {.method = "POST",
                                  .url = url,
                                  .headers = headers ? headers : json_headers,
                                  .body = body,
                                  .body_len = strlen(body)};
    msgsec_http_request *r = NULL;
    int rc = msgsec_http_perform(c, &s, &r);
    if (CU_get_current_test()) /* not in the suite's set-up */
        CU_ASSERT_EQUAL(rc, 0);
    return r;
}

static int setup(void)
{
    signal(SIGPIPE, SIG_IGN);
    if (hex2bin(K_AF, k_af, 32) != 0 || emu_start(&normal, NULL, NULL) ||
        emu_start(&slow, "--delay-ms", "1500") ||
        emu_start(&failing, "--fail-status", "503") ||
        emu_start(&shortkaf, "--wrong-kaf-length", NULL))
        return 1;
    /* Play the AUSF: register DOMAIN.md's K_AKMA on the emulators that
     * answer with keys. */
    msgsec_http_client *c = client_with(MSGSEC_HTTP_2_PRIOR_KNOWLEDGE, 0, 0);
    if (!c)
        return 1;
    const char *reg = "{\"aKId\":\"" AKID "\",\"kAkma\":\"" K_AKMA
                      "\",\"supi\":\"imsi-001010000000001\"}";
    int ok = 1;
    const emu *targets[] = {&normal, &slow, &shortkaf};
    for (size_t i = 0; i < 3; i++) {
        msgsec_http_request *r =
            post(c, targets[i], MSGSEC_AANF_PATH_REGISTER, reg, NULL);
        const msgsec_http_response *rs = msgsec_http_request_response(r);
        if (!rs || rs->result != 0 || rs->status != 200)
            ok = 0;
        msgsec_http_request_free(r);
    }
    msgsec_http_client_free(c);
    return ok ? 0 : 1;
}

static int teardown(void)
{
    int ok = emu_stop(&normal) & emu_stop(&slow) & emu_stop(&failing) &
             emu_stop(&shortkaf);
    if (!ok)
        fprintf(stderr, "an emulator did not exit cleanly on SIGTERM\n");
    return ok ? 0 : 1;
}

/* ------------------------------------------------- asynchronous helper */

typedef struct group {
    pthread_mutex_t mu;
    pthread_cond_t cv;
    int pending;
    atomic_int calls;
} group;

typedef struct slot {
    group *g;
    int result, status, version;
    char ctype[64];
    char detail[512];
    int key_rc;
    uint8_t kaf[32];
    double elapsed;
} slot;

static void group_init(group *g, int pending)
{
    pthread_mutex_init(&g->mu, NULL);
    pthread_cond_init(&g->cv, NULL);
    g->pending = pending;
    atomic_init(&g->calls, 0);
}

static void group_fini(group *g)
{
    pthread_cond_destroy(&g->cv);
    pthread_mutex_destroy(&g->mu);
}

/* Waits until every request called back; 0, or -1 after timeout_ms. */
static int group_wait(group *g, int timeout_ms)
{
    struct timespec t;
    clock_gettime(CLOCK_REALTIME, &t);
    t.tv_sec += timeout_ms / 1000;
    t.tv_nsec += (long)(timeout_ms % 1000) * 1000000L;
    if (t.tv_nsec >= 1000000000L) {
        t.tv_sec++;
        t.tv_nsec -= 1000000000L;
    }
    int rc = 0;
    pthread_mutex_lock(&g->mu);
    while (g->pending > 0 && rc == 0)
        rc = pthread_cond_timedwait(&g->cv, &g->mu, &t);
    int left = g->pending;
    pthread_mutex_unlock(&g->mu);
    return left == 0 ? 0 : -1;
}

static void on_done(void *arg, msgsec_http_request *req,
                    const msgsec_http_response *r)
{
    (void)req;
    slot *s = arg;
    s->result = r->result;
    s->status = r->status;
    s->version = r->http_version;
    s->elapsed = r->elapsed;
    snprintf(s->ctype, sizeof(s->ctype), "%s",
             r->content_type ? r->content_type : "");
    snprintf(s->detail, sizeof(s->detail), "%s", r->detail);
    /* Decoding on the worker thread, as a provider would. */
    msgsec_aanf_key_data kd;
    s->key_rc = r->result ? r->result
                          : msgsec_aanf_retrieve_result(
                                NULL, r->status, r->content_type, r->body,
                                r->body_len, &kd, NULL, NULL, 0);
    if (s->key_rc == 0)
        memcpy(s->kaf, kd.kaf, 32);
    msgsec_aanf_clear(&kd, sizeof(kd));
    atomic_fetch_add(&s->g->calls, 1);
    pthread_mutex_lock(&s->g->mu);
    s->g->pending--;
    pthread_cond_broadcast(&s->g->cv);
    pthread_mutex_unlock(&s->g->mu);
}

static int start_retrieve(msgsec_http_client *c, const emu *e,
                          const char *body, long timeout_ms, slot *s,
                          msgsec_http_request **r)
{
    char url[256];
    url_of(e, MSGSEC_AANF_PATH_RETRIEVE, url, sizeof(url));
    msgsec_http_request_spec spec = {.url = url,
                                     .headers = json_headers,
                                     .body = body,
                                     .body_len = strlen(body),
                                     .timeout_ms = timeout_ms};
    return msgsec_http_start(c, &spec, on_done, s, r);
}

/* One retrieve to e with the given version; checks and returns the slot. */
static void one_retrieve(int version, const emu *e, const char *body,
                         slot *s)
{
    msgsec_http_client *c = client_with(version, 0, 0);
    CU_ASSERT_PTR_NOT_NULL_FATAL(c);
    group g;
    group_init(&g, 1);
    memset(s, 0, sizeof(*s));
    s->g = &g;
    msgsec_http_request *r;
    CU_ASSERT_EQUAL(start_retrieve(c, e, body, 0, s, &r), 0);
    CU_ASSERT_EQUAL(group_wait(&g, 10000), 0);
    CU_ASSERT_EQUAL(atomic_load(&g.calls), 1);
    CU_ASSERT_PTR_NOT_NULL(msgsec_http_request_response(r));
    msgsec_http_request_free(r);
    msgsec_http_client_free(c);
    group_fini(&g);
}

/* ------------------------------------------------------------- tests */

static void t_h2c(void)
{
    slot s;
    one_retrieve(MSGSEC_HTTP_2_PRIOR_KNOWLEDGE, &normal, REQ_BODY, &s);
    CU_ASSERT_EQUAL(s.result, 0);
    CU_ASSERT_EQUAL(s.status, 200);
    CU_ASSERT_EQUAL(s.version, 20);
    CU_ASSERT(msgsec_http_media_type_is(s.ctype, "application/json"));
    CU_ASSERT_EQUAL(s.key_rc, 0);
    CU_ASSERT_EQUAL(memcmp(s.kaf, k_af, 32), 0);
    CU_ASSERT_STRING_EQUAL(s.detail, "");
    CU_ASSERT(s.elapsed > 0);
}

static void t_http11(void)
{
    slot s;
    one_retrieve(MSGSEC_HTTP_1_1, &normal, REQ_BODY, &s);
    CU_ASSERT_EQUAL(s.status, 200);
    CU_ASSERT_EQUAL(s.version, 11);
    CU_ASSERT_EQUAL(s.key_rc, 0);
    CU_ASSERT_EQUAL(memcmp(s.kaf, k_af, 32), 0);
    /* "2": an upgrade offer the emulator does not take: HTTP/1.1 stays. */
    one_retrieve(MSGSEC_HTTP_2, &normal, REQ_BODY, &s);
    CU_ASSERT_EQUAL(s.status, 200);
    CU_ASSERT_EQUAL(s.version, 11);
    CU_ASSERT_EQUAL(memcmp(s.kaf, k_af, 32), 0);
}

static void t_no_content(void)
{
    slot s;
    one_retrieve(MSGSEC_HTTP_2_PRIOR_KNOWLEDGE, &normal,
                 "{\"afId\":\"" AFID "\",\"aKId\":\"" UNKNOWN_AKID "\"}", &s);
    CU_ASSERT_EQUAL(s.result, 0);
    CU_ASSERT_EQUAL(s.status, 204);
    CU_ASSERT_EQUAL(s.key_rc, MSGSEC_ERR_KEY_UNAVAILABLE);
    one_retrieve(MSGSEC_HTTP_1_1, &normal,
                 "{\"afId\":\"" AFID "\",\"aKId\":\"" UNKNOWN_AKID "\"}", &s);
    CU_ASSERT_EQUAL(s.status, 204);
    CU_ASSERT_EQUAL(s.key_rc, MSGSEC_ERR_KEY_UNAVAILABLE);
}

/* Checks a ProblemDetails answer of status (and cause when not NULL). */
static void expect_problem(msgsec_http_request *r, int status,
                           const char *cause, const char *param)
{
    const msgsec_http_response *rs = msgsec_http_request_response(r);
    CU_ASSERT_PTR_NOT_NULL_FATAL(rs);
    CU_ASSERT_EQUAL(rs->result, 0);
    CU_ASSERT_EQUAL(rs->status, status);
    CU_ASSERT(msgsec_http_media_type_is(rs->content_type,
                                        "application/problem+json"));
    msgsec_aanf_problem p;
    msgsec_aanf_fault f;
    CU_ASSERT_EQUAL(msgsec_aanf_decode_problem(NULL, rs->body, rs->body_len,
                                               &p, &f),
                    0);
    CU_ASSERT_EQUAL(p.status, status);
    if (cause)
        CU_ASSERT_STRING_EQUAL(p.cause, cause);
    if (param) {
        CU_ASSERT_EQUAL(p.n_invalid_params, 1);
        CU_ASSERT_STRING_EQUAL(p.invalid_params[0].param, param);
    }
    msgsec_http_request_free(r);
}

static void t_client_errors(void)
{
    for (int v = MSGSEC_HTTP_2_PRIOR_KNOWLEDGE; v <= MSGSEC_HTTP_1_1; v += 2) {
        msgsec_http_client *c = client_with(v, 0, 0);
        CU_ASSERT_PTR_NOT_NULL_FATAL(c);
        expect_problem(post(c, &normal, "/naanf-akma/v1/nothing", REQ_BODY,
                            NULL),
                       404, "RESOURCE_URI_STRUCTURE_NOT_FOUND", NULL);
        static const char *const text[] = {"Content-Type: text/plain", NULL};
        expect_problem(post(c, &normal, MSGSEC_AANF_PATH_RETRIEVE, REQ_BODY,
                            text),
                       415, NULL, NULL);
        expect_problem(post(c, &normal, MSGSEC_AANF_PATH_RETRIEVE, "{", NULL),
                       400, "INVALID_MSG_FORMAT", NULL);
        expect_problem(post(c, &normal, MSGSEC_AANF_PATH_RETRIEVE,
                            "{\"afId\":\"" AFID "\"}", NULL),
                       400, "MANDATORY_IE_MISSING", "/aKId");
        expect_problem(post(c, &normal, MSGSEC_AANF_PATH_REGISTER,
                            "{\"aKId\":\"" AKID "\",\"kAkma\":\"00\","
                            "\"supi\":\"imsi-1\"}",
                            NULL),
                       400, "MANDATORY_IE_INCORRECT", "/kAkma");
        /* A body over the emulator's limit. */
        size_t big = MSGSEC_AANF_BODY_MAX + 100;
        char *b = malloc(big + 1);
        memset(b, ' ', big);
        b[0] = '{';
        b[big - 1] = '}';
        b[big] = 0;
        expect_problem(post(c, &normal, MSGSEC_AANF_PATH_RETRIEVE, b, NULL),
                       413, NULL, NULL);
        free(b);
        /* GET on a POST resource. */
        char url[256];
        url_of(&normal, MSGSEC_AANF_PATH_RETRIEVE, url, sizeof(url));
        msgsec_http_request_spec s = {.url = url};
        msgsec_http_request *r;
        CU_ASSERT_EQUAL(msgsec_http_perform(c, &s, &r), 0);
        expect_problem(r, 405, NULL, NULL);
        msgsec_http_client_free(c);
    }
}

static void t_server_errors(void)
{
    slot s;
    one_retrieve(MSGSEC_HTTP_2_PRIOR_KNOWLEDGE, &failing, REQ_BODY, &s);
    CU_ASSERT_EQUAL(s.result, 0);
    CU_ASSERT_EQUAL(s.status, 503);
    CU_ASSERT_EQUAL(s.key_rc, MSGSEC_ERR_LOOKUP_FAILED);
    msgsec_http_client *c = client_with(MSGSEC_HTTP_1_1, 0, 0);
    msgsec_http_request *r = post(c, &failing, MSGSEC_AANF_PATH_RETRIEVE,
                                  REQ_BODY, NULL);
    const msgsec_http_response *rs = msgsec_http_request_response(r);
    CU_ASSERT_PTR_NOT_NULL_FATAL(rs);
    msgsec_aanf_key_data kd;
    msgsec_aanf_problem p;
    char d[512];
    CU_ASSERT_EQUAL(msgsec_aanf_retrieve_result(NULL, rs->status,
                                                rs->content_type, rs->body,
                                                rs->body_len, &kd, &p, d,
                                                sizeof(d)),
                    MSGSEC_ERR_LOOKUP_FAILED);
    CU_ASSERT_EQUAL(p.status, 503);
    CU_ASSERT_STRING_EQUAL(d, "HTTP 503: Service Unavailable: failure "
                              "requested by --fail-status");
    msgsec_http_request_free(r);

    /* A kaf one byte short is a malformed answer, not a key. */
    r = post(c, &shortkaf, MSGSEC_AANF_PATH_RETRIEVE, REQ_BODY, NULL);
    rs = msgsec_http_request_response(r);
    CU_ASSERT_PTR_NOT_NULL_FATAL(rs);
    CU_ASSERT_EQUAL(rs->status, 200);
    CU_ASSERT_EQUAL(msgsec_aanf_retrieve_result(NULL, rs->status,
                                                rs->content_type, rs->body,
                                                rs->body_len, &kd, &p, d,
                                                sizeof(d)),
                    MSGSEC_ERR_BAD_FRAME);
    CU_ASSERT_PTR_NOT_NULL(strstr(d, "/kaf"));
    CU_ASSERT_PTR_NULL(strstr(d, "23bef2"));
    msgsec_http_request_free(r);
    msgsec_http_client_free(c);
}

static void t_refused(void)
{
    /* A port nobody listens on: bound, never listened, closed. */
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    struct sockaddr_in a = {.sin_family = AF_INET,
                            .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
    socklen_t al = sizeof(a);
    CU_ASSERT_EQUAL_FATAL(bind(fd, (struct sockaddr *)&a, sizeof(a)), 0);
    getsockname(fd, (struct sockaddr *)&a, &al);
    emu dead = {.port = ntohs(a.sin_port)};
    snprintf(dead.root, sizeof(dead.root), "http://127.0.0.1:%d", dead.port);
    slot s;
    one_retrieve(MSGSEC_HTTP_2_PRIOR_KNOWLEDGE, &dead, REQ_BODY, &s);
    close(fd);
    CU_ASSERT_EQUAL(s.result, MSGSEC_ERR_LOOKUP_FAILED);
    CU_ASSERT_EQUAL(s.status, 0);
    CU_ASSERT_PTR_NOT_NULL(strstr(s.detail, "cannot connect"));
    CU_ASSERT_PTR_NOT_NULL(strstr(s.detail, dead.root));
}

/* https:// to the cleartext emulator: the TLS handshake cannot succeed. */
static void t_tls_failure(void)
{
    msgsec_http_client *c = client_with(MSGSEC_HTTP_2_PRIOR_KNOWLEDGE, 3000, 0);
    char url[256];
    snprintf(url, sizeof(url), "https://127.0.0.1:%d%s", normal.port,
             MSGSEC_AANF_PATH_RETRIEVE);
    msgsec_http_request_spec s = {.url = url,
                                  .headers = json_headers,
                                  .body = REQ_BODY,
                                  .body_len = strlen(REQ_BODY)};
    msgsec_http_request *r;
    CU_ASSERT_EQUAL_FATAL(msgsec_http_perform(c, &s, &r), 0);
    const msgsec_http_response *rs = msgsec_http_request_response(r);
    CU_ASSERT_EQUAL(rs->result, MSGSEC_ERR_LOOKUP_FAILED);
    CU_ASSERT_EQUAL(rs->status, 0);
    CU_ASSERT_PTR_NOT_NULL(strstr(rs->detail, "TLS failure"));
    msgsec_http_request_free(r);
    msgsec_http_client_free(c);
}

static void t_unresolvable(void)
{
    msgsec_http_client *c = client_with(MSGSEC_HTTP_2_PRIOR_KNOWLEDGE, 3000, 0);
    msgsec_http_request_spec s = {.url = "http://msgsec-test.invalid/x"};
    msgsec_http_request *r;
    CU_ASSERT_EQUAL_FATAL(msgsec_http_perform(c, &s, &r), 0);
    const msgsec_http_response *rs = msgsec_http_request_response(r);
    /* An unreachable resolver gives a timeout instead. */
    CU_ASSERT(rs->result == MSGSEC_ERR_TIMEOUT ||
              (rs->result == MSGSEC_ERR_LOOKUP_FAILED &&
               strstr(rs->detail, "name not resolved")));
    CU_ASSERT_EQUAL(rs->status, 0);
    CU_ASSERT_EQUAL(rs->body_len, 0);
    msgsec_http_request_free(r);
    msgsec_http_client_free(c);
}

static void t_timeout(void)
{
    msgsec_http_client *c = client_with(MSGSEC_HTTP_2_PRIOR_KNOWLEDGE, 0, 0);
    group g;
    group_init(&g, 1);
    slot s = {.g = &g};
    msgsec_http_request *r;
    double t0 = now_s();
    CU_ASSERT_EQUAL(start_retrieve(c, &slow, REQ_BODY, 300, &s, &r), 0);
    CU_ASSERT_EQUAL(group_wait(&g, 5000), 0);
    double took = now_s() - t0;
    CU_ASSERT_EQUAL(s.result, MSGSEC_ERR_TIMEOUT);
    CU_ASSERT_EQUAL(s.status, 0);
    CU_ASSERT_PTR_NOT_NULL(strstr(s.detail, "timed out"));
    /* Well before the emulator's 1.5 s answer. */
    CU_ASSERT(took >= 0.25 && took < 1.4);
    msgsec_http_request_free(r);
    /* The connection still serves a request with a longer timeout. */
    group_fini(&g);
    group_init(&g, 1);
    memset(&s, 0, sizeof(s));
    s.g = &g;
    CU_ASSERT_EQUAL(start_retrieve(c, &slow, REQ_BODY, 5000, &s, &r), 0);
    CU_ASSERT_EQUAL(group_wait(&g, 8000), 0);
    CU_ASSERT_EQUAL(s.status, 200);
    CU_ASSERT_EQUAL(memcmp(s.kaf, k_af, 32), 0);
    msgsec_http_request_free(r);
    msgsec_http_client_free(c);
    group_fini(&g);
}

#define NCANCEL 20

static void t_cancel(void)
{
    msgsec_http_client *c = client_with(MSGSEC_HTTP_2_PRIOR_KNOWLEDGE, 0, 0);
    group g;
    group_init(&g, 2 * NCANCEL);
    slot s[2 * NCANCEL];
    msgsec_http_request *r[2 * NCANCEL];
    memset(s, 0, sizeof(s));
    for (int i = 0; i < 2 * NCANCEL; i++) {
        s[i].g = &g;
        CU_ASSERT_EQUAL(start_retrieve(c, &slow, REQ_BODY, 0, &s[i], &r[i]), 0);
    }
    /* Half at once (most still queued), half once on the wire. */
    for (int i = 0; i < NCANCEL; i++)
        msgsec_http_request_free(r[i]);
    usleep(200 * 1000);
    for (int i = NCANCEL; i < 2 * NCANCEL; i++)
        msgsec_http_request_free(r[i]);
    /* Past the emulator's delay: no callback may come. */
    CU_ASSERT_EQUAL(group_wait(&g, 2200), -1);
    CU_ASSERT_EQUAL(atomic_load(&g.calls), 0);
    /* The client still works. */
    group_fini(&g);
    group_init(&g, 1);
    slot t = {.g = &g};
    msgsec_http_request *q;
    CU_ASSERT_EQUAL(start_retrieve(c, &normal, REQ_BODY, 0, &t, &q), 0);
    CU_ASSERT_EQUAL(group_wait(&g, 5000), 0);
    CU_ASSERT_EQUAL(t.status, 200);
    msgsec_http_request_free(q);
    msgsec_http_client_free(c);
    group_fini(&g);
}

/* A callback that frees its own request. */
static void free_self(void *arg, msgsec_http_request *req,
                      const msgsec_http_response *r)
{
    slot *s = arg;
    s->status = r->status;
    msgsec_http_request_free(req);
    /* The response stays valid until the callback returns. */
    s->result = r->status == 200 && r->body_len > 0 ? 0 : -1;
    pthread_mutex_lock(&s->g->mu);
    s->g->pending--;
    pthread_cond_broadcast(&s->g->cv);
    pthread_mutex_unlock(&s->g->mu);
}

static void t_free_in_callback(void)
{
    msgsec_http_client *c = client_with(MSGSEC_HTTP_2_PRIOR_KNOWLEDGE, 0, 0);
    group g;
    group_init(&g, 1);
    slot s = {.g = &g, .result = -2};
    char url[256];
    url_of(&normal, MSGSEC_AANF_PATH_RETRIEVE, url, sizeof(url));
    msgsec_http_request_spec spec = {.url = url,
                                     .headers = json_headers,
                                     .body = REQ_BODY,
                                     .body_len = strlen(REQ_BODY)};
    msgsec_http_request *r;
    CU_ASSERT_EQUAL(msgsec_http_start(c, &spec, free_self, &s, &r), 0);
    CU_ASSERT_EQUAL(group_wait(&g, 5000), 0);
    CU_ASSERT_EQUAL(s.status, 200);
    CU_ASSERT_EQUAL(s.result, 0);
    msgsec_http_client_free(c);
    group_fini(&g);
}

/* A callback that takes its time: freeing the request must wait for it. */
typedef struct slow_cb {
    atomic_int started, finished;
} slow_cb;

static void sleepy(void *arg, msgsec_http_request *req,
                   const msgsec_http_response *r)
{
    (void)req;
    (void)r;
    slow_cb *x = arg;
    atomic_store(&x->started, 1);
    usleep(300 * 1000);
    atomic_store(&x->finished, 1);
}

static void t_free_waits_for_callback(void)
{
    msgsec_http_client *c = client_with(MSGSEC_HTTP_2_PRIOR_KNOWLEDGE, 0, 0);
    slow_cb x;
    atomic_init(&x.started, 0);
    atomic_init(&x.finished, 0);
    char url[256];
    url_of(&normal, MSGSEC_AANF_PATH_RETRIEVE, url, sizeof(url));
    msgsec_http_request_spec spec = {.url = url,
                                     .headers = json_headers,
                                     .body = REQ_BODY,
                                     .body_len = strlen(REQ_BODY)};
    msgsec_http_request *r;
    CU_ASSERT_EQUAL(msgsec_http_start(c, &spec, sleepy, &x, &r), 0);
    for (int i = 0; i < 500 && !atomic_load(&x.started); i++)
        usleep(10 * 1000);
    CU_ASSERT_EQUAL_FATAL(atomic_load(&x.started), 1);
    CU_ASSERT_EQUAL(atomic_load(&x.finished), 0);
    msgsec_http_request_free(r);
    CU_ASSERT_EQUAL(atomic_load(&x.finished), 1);
    msgsec_http_client_free(c);
}

#define NH2 200
#define NH1 48

static void many(int version, int n)
{
    msgsec_http_client *c = client_with(version, 10000, 0);
    CU_ASSERT_PTR_NOT_NULL_FATAL(c);
    group g;
    group_init(&g, n);
    slot *s = calloc((size_t)n, sizeof(*s));
    msgsec_http_request **r = calloc((size_t)n, sizeof(*r));
    for (int i = 0; i < n; i++) {
        s[i].g = &g;
        s[i].result = -99;
        CU_ASSERT_EQUAL(start_retrieve(c, &normal, REQ_BODY, 0, &s[i], &r[i]),
                        0);
    }
    CU_ASSERT_EQUAL(group_wait(&g, 20000), 0);
    CU_ASSERT_EQUAL(atomic_load(&g.calls), n);
    int good = 0;
    for (int i = 0; i < n; i++) {
        good += s[i].result == 0 && s[i].status == 200 && s[i].key_rc == 0 &&
                memcmp(s[i].kaf, k_af, 32) == 0;
        msgsec_http_request_free(r[i]);
    }
    CU_ASSERT_EQUAL(good, n);
    free(s);
    free(r);
    msgsec_http_client_free(c);
    group_fini(&g);
}

static void t_concurrent(void)
{
    many(MSGSEC_HTTP_2_PRIOR_KNOWLEDGE, NH2);
    many(MSGSEC_HTTP_1_1, NH1);
}

/* The provider pattern: start, go on with the event loop, wake on an
 * eventfd the callback signals, read the result on the loop's thread. */
static void wake_fd(void *arg, msgsec_http_request *req,
                    const msgsec_http_response *r)
{
    (void)req;
    (void)r;
    uint64_t one = 1;
    ssize_t w = write(*(int *)arg, &one, sizeof(one));
    (void)w;
}

static void t_event_loop(void)
{
    msgsec_http_client *c = client_with(MSGSEC_HTTP_2_PRIOR_KNOWLEDGE, 0, 0);
    int efd = eventfd(0, EFD_CLOEXEC);
    CU_ASSERT_FATAL(efd >= 0);
    char url[256];
    url_of(&slow, MSGSEC_AANF_PATH_RETRIEVE, url, sizeof(url));
    msgsec_http_request_spec spec = {.url = url,
                                     .headers = json_headers,
                                     .body = REQ_BODY,
                                     .body_len = strlen(REQ_BODY)};
    msgsec_http_request *r;
    double t0 = now_s();
    CU_ASSERT_EQUAL(msgsec_http_start(c, &spec, wake_fd, &efd, &r), 0);
    /* Starting did not wait for the 1.5 s answer. */
    CU_ASSERT(now_s() - t0 < 1.0);
    CU_ASSERT_PTR_NULL(msgsec_http_request_response(r));
    struct pollfd p = {.fd = efd, .events = POLLIN};
    int ticks = 0;
    while (poll(&p, 1, 50) == 0)
        ticks++; /* the loop keeps turning meanwhile */
    CU_ASSERT(ticks > 5);
    const msgsec_http_response *rs = msgsec_http_request_response(r);
    CU_ASSERT_PTR_NOT_NULL_FATAL(rs);
    msgsec_aanf_key_data kd;
    CU_ASSERT_EQUAL(msgsec_aanf_retrieve_result(NULL, rs->status,
                                                rs->content_type, rs->body,
                                                rs->body_len, &kd, NULL, NULL,
                                                0),
                    0);
    CU_ASSERT_EQUAL(memcmp(kd.kaf, k_af, 32), 0);
    msgsec_http_request_free(r);
    close(efd);
    msgsec_http_client_free(c);
}

static void perform_inside(void *arg, msgsec_http_request *req,
                           const msgsec_http_response *r)
{
    (void)req;
    (void)r;
    msgsec_http_client **c = arg;
    msgsec_http_request_spec s = {.url = "http://127.0.0.1:1/"};
    msgsec_http_request *x = (msgsec_http_request *)1;
    int rc = msgsec_http_perform(c[0], &s, &x);
    c[1] = (msgsec_http_client *)(intptr_t)(rc == MSGSEC_ERR_STATE && !x);
}

static void t_perform(void)
{
    msgsec_http_client *c = client_with(MSGSEC_HTTP_2_PRIOR_KNOWLEDGE, 0, 0);
    msgsec_http_request *r = post(c, &normal, MSGSEC_NEF_PATH_RETRIEVE,
                                  REQ_BODY, NULL);
    const msgsec_http_response *rs = msgsec_http_request_response(r);
    CU_ASSERT_PTR_NOT_NULL_FATAL(rs);
    CU_ASSERT_EQUAL(rs->status, 200);
    msgsec_aanf_key_data kd;
    CU_ASSERT_EQUAL(msgsec_aanf_retrieve_result(NULL, rs->status,
                                                rs->content_type, rs->body,
                                                rs->body_len, &kd, NULL, NULL,
                                                0),
                    0);
    CU_ASSERT_EQUAL(memcmp(kd.kaf, k_af, 32), 0);
    /* The NEF never hands out the SUPI. */
    CU_ASSERT_STRING_EQUAL(kd.supi, "");
    CU_ASSERT_EQUAL(rs->body[rs->body_len], 0);
    msgsec_http_request_free(r);

    /* Blocking from a callback would deadlock the worker: refused. */
    msgsec_http_client *pair[2] = {c, NULL};
    char url[256];
    url_of(&normal, MSGSEC_AANF_PATH_RETRIEVE, url, sizeof(url));
    msgsec_http_request_spec spec = {.url = url,
                                     .headers = json_headers,
                                     .body = REQ_BODY,
                                     .body_len = strlen(REQ_BODY)};
    CU_ASSERT_EQUAL(msgsec_http_perform(c, &spec, &r), 0);
    msgsec_http_request_free(r);
    CU_ASSERT_EQUAL(msgsec_http_start(c, &spec, perform_inside, pair, &r), 0);
    for (int i = 0; i < 500 && !msgsec_http_request_response(r); i++)
        usleep(10 * 1000);
    CU_ASSERT_PTR_NOT_NULL(msgsec_http_request_response(r));
    CU_ASSERT_PTR_EQUAL(pair[1], (msgsec_http_client *)1);
    msgsec_http_request_free(r);
    msgsec_http_client_free(c);
}

static void t_too_large(void)
{
    msgsec_http_client *c = client_with(MSGSEC_HTTP_2_PRIOR_KNOWLEDGE, 0, 32);
    msgsec_http_request *r = post(c, &normal, MSGSEC_AANF_PATH_RETRIEVE,
                                  REQ_BODY, NULL);
    const msgsec_http_response *rs = msgsec_http_request_response(r);
    CU_ASSERT_PTR_NOT_NULL_FATAL(rs);
    CU_ASSERT_EQUAL(rs->result, MSGSEC_ERR_LOOKUP_FAILED);
    CU_ASSERT_EQUAL(rs->status, 0);
    CU_ASSERT_EQUAL(rs->body_len, 0);
    CU_ASSERT_PTR_NOT_NULL(strstr(rs->detail, "larger than 32 bytes"));
    msgsec_http_request_free(r);
    msgsec_http_client_free(c);
}

static void ignore(void *arg, msgsec_http_request *req,
                   const msgsec_http_response *r)
{
    (void)req;
    (void)r;
    atomic_fetch_add((atomic_int *)arg, 1);
}

static void t_client_free_outstanding(void)
{
    msgsec_http_client *c = client_with(MSGSEC_HTTP_2_PRIOR_KNOWLEDGE, 0, 0);
    atomic_int calls;
    atomic_init(&calls, 0);
    char url[256];
    url_of(&slow, MSGSEC_AANF_PATH_RETRIEVE, url, sizeof(url));
    msgsec_http_request_spec spec = {.url = url,
                                     .headers = json_headers,
                                     .body = REQ_BODY,
                                     .body_len = strlen(REQ_BODY)};
    msgsec_http_request *r[6];
    for (int i = 0; i < 6; i++)
        CU_ASSERT_EQUAL(msgsec_http_start(c, &spec, ignore, &calls, &r[i]), 0);
    usleep(100 * 1000);
    msgsec_http_request_free(r[0]); /* one cancelled before */
    msgsec_http_client_free(c);
    CU_ASSERT_EQUAL(atomic_load(&calls), 0);
    for (int i = 1; i < 6; i++) {
        const msgsec_http_response *rs = msgsec_http_request_response(r[i]);
        CU_ASSERT_PTR_NOT_NULL(rs);
        if (rs)
            CU_ASSERT_EQUAL(rs->result, MSGSEC_ERR_STATE);
        msgsec_http_request_free(r[i]);
    }
}

static void t_invalid(void)
{
    int v = -1;
    CU_ASSERT_EQUAL(msgsec_http_version_from_name("2-prior-knowledge", &v), 0);
    CU_ASSERT_EQUAL(v, MSGSEC_HTTP_2_PRIOR_KNOWLEDGE);
    CU_ASSERT_EQUAL(msgsec_http_version_from_name("2", &v), 0);
    CU_ASSERT_EQUAL(v, MSGSEC_HTTP_2);
    CU_ASSERT_EQUAL(msgsec_http_version_from_name("1.1", &v), 0);
    CU_ASSERT_EQUAL(v, MSGSEC_HTTP_1_1);
    CU_ASSERT_EQUAL(msgsec_http_version_from_name("h2", &v),
                    MSGSEC_ERR_INVALID_ARG);
    CU_ASSERT_STRING_EQUAL(msgsec_http_version_name(MSGSEC_HTTP_1_1), "1.1");
    CU_ASSERT_PTR_NULL(msgsec_http_version_name(9));

    CU_ASSERT(msgsec_http_media_type_is(" Application/JSON ; charset=utf-8",
                                        "application/json"));
    CU_ASSERT(!msgsec_http_media_type_is("application/jsonx",
                                         "application/json"));
    CU_ASSERT(!msgsec_http_media_type_is(NULL, "application/json"));

    msgsec_http_client *c = NULL;
    char d[256] = "";
    msgsec_http_config bad = {.size = sizeof(bad), .version = 7};
    CU_ASSERT_EQUAL(msgsec_http_client_new(&bad, &c, d, sizeof(d)),
                    MSGSEC_ERR_INVALID_ARG);
    CU_ASSERT_PTR_NULL(c);
    CU_ASSERT(d[0] != 0);
    bad.version = 0;
    bad.timeout_ms = -5;
    CU_ASSERT_EQUAL(msgsec_http_client_new(&bad, &c, d, sizeof(d)),
                    MSGSEC_ERR_INVALID_ARG);
    bad.size = 2;
    CU_ASSERT_EQUAL(msgsec_http_client_new(&bad, &c, d, sizeof(d)),
                    MSGSEC_ERR_INVALID_ARG);
    CU_ASSERT_EQUAL(msgsec_http_client_new(NULL, NULL, d, sizeof(d)),
                    MSGSEC_ERR_INVALID_ARG);
    CU_ASSERT_EQUAL_FATAL(msgsec_http_client_new(NULL, &c, d, sizeof(d)), 0);

    atomic_int calls;
    atomic_init(&calls, 0);
    msgsec_http_request *r = (msgsec_http_request *)1;
    static const char *const crlf[] = {"X-A: b\r\nX-Evil: 1", NULL};
    static const char *const nocolon[] = {"X-A b", NULL};
    const msgsec_http_request_spec bads[] = {
        {.url = NULL},
        {.url = "ftp://127.0.0.1/"},
        {.url = "127.0.0.1:80/x"},
        {.url = "http://a b/"},
        {.url = "http://127.0.0.1/", .method = "post"},
        {.url = "http://127.0.0.1/", .method = ""},
        {.url = "http://127.0.0.1/", .body_len = 3},
        {.url = "http://127.0.0.1/", .headers = crlf},
        {.url = "http://127.0.0.1/", .headers = nocolon},
        {.url = "http://127.0.0.1/", .timeout_ms = -1},
    };
    for (size_t i = 0; i < sizeof(bads) / sizeof(bads[0]); i++) {
        CU_ASSERT_EQUAL(msgsec_http_start(c, &bads[i], ignore, &calls, &r),
                        MSGSEC_ERR_INVALID_ARG);
        CU_ASSERT_PTR_NULL(r);
    }
    msgsec_http_request_spec ok = {.url = "http://127.0.0.1/"};
    CU_ASSERT_EQUAL(msgsec_http_start(c, &ok, NULL, &calls, &r),
                    MSGSEC_ERR_INVALID_ARG);
    CU_ASSERT_EQUAL(msgsec_http_start(NULL, &ok, ignore, &calls, &r),
                    MSGSEC_ERR_INVALID_ARG);
    CU_ASSERT_EQUAL(msgsec_http_perform(c, NULL, &r), MSGSEC_ERR_INVALID_ARG);
    CU_ASSERT_PTR_NULL(msgsec_http_request_response(NULL));
    msgsec_http_request_free(NULL);
    msgsec_http_client_free(c);
    msgsec_http_client_free(NULL);
    CU_ASSERT_EQUAL(atomic_load(&calls), 0);
}

int main(void)
{
    CU_TestInfo tests[] = {{"h2c with prior knowledge", t_h2c},
                           {"HTTP/1.1 and upgrade offer", t_http11},
                           {"204 for an unknown A-KID", t_no_content},
                           {"4xx with ProblemDetails", t_client_errors},
                           {"5xx and a short kaf", t_server_errors},
                           {"connection refused", t_refused},
                           {"unresolvable name", t_unresolvable},
                           {"TLS failure", t_tls_failure},
                           {"timeout", t_timeout},
                           {"cancel: no callback afterwards", t_cancel},
                           {"free from the callback", t_free_in_callback},
                           {"free waits for a running callback",
                            t_free_waits_for_callback},
                           {"many concurrent requests", t_concurrent},
                           {"event loop pattern", t_event_loop},
                           {"blocking call", t_perform},
                           {"response size bound", t_too_large},
                           {"client freed with requests out",
                            t_client_free_outstanding},
                           {"invalid arguments", t_invalid},
                           CU_TEST_INFO_NULL};
    return msgsec_test_main("http", setup, teardown, tests);
}
