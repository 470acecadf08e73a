/*
 * http.c - the non-blocking HTTP client of the SDK: one worker thread per
 * client drives a libcurl multi handle; callers queue requests and cancel
 * them under the client's mutex and wake the worker with
 * curl_multi_wakeup(). See <msgsec/http.h> for the contract.
 *
 * Request life cycle (state changes under the client mutex):
 *   QUEUED     in the submit queue; freeing unlinks and frees it at once
 *   ACTIVE     added to the multi handle by the worker; freeing marks it
 *              CANCELLED and hands it to the worker, which frees it
 *   CALLING    the worker runs the callback; freeing waits for DONE
 *              (or, from inside the callback, frees it afterwards)
 *   DONE       completed; freeing frees it at once
 */
#include <ctype.h>
#include <pthread.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include <curl/curl.h>
#include <openssl/crypto.h>

#include <msgsec/http.h>

enum req_state { RS_QUEUED, RS_ACTIVE, RS_CALLING, RS_DONE, RS_CANCELLED };

struct msgsec_http_request {
    msgsec_http_client *client; /* NULL once the client is gone */
    int state;
    int free_after_callback;
    msgsec_http_done_fn done;
    void *arg;

    CURL *easy;
    struct curl_slist *headers;
    char *method;
    char *url;
    uint8_t *req_body;
    size_t req_body_len;

    uint8_t *body;
    size_t body_len, body_cap, max_body;
    int too_large;
    char *content_type;
    char errbuf[CURL_ERROR_SIZE];
    char detail[768];
    struct timespec t0;
    msgsec_http_response resp;

    /* Submit or cancel queue. */
    msgsec_http_request *qprev, *qnext;
    /* The worker's private list of requests to add. */
    msgsec_http_request *wnext;
    /* Every live request of the client. */
    msgsec_http_request *aprev, *anext;
};

typedef struct req_queue {
    msgsec_http_request *head, *tail;
} req_queue;

struct msgsec_http_client {
    CURLM *multi;
    pthread_t thread;
    int thread_started;
    pthread_mutex_t mu;
    pthread_cond_t cv; /* a request reached DONE */
    int stopping;
    req_queue submit;
    req_queue cancel;
    msgsec_http_request *all;

    int version;
    int h2c_no_reuse; /* libcurl with the h2c reuse bug */
    long connect_timeout_ms;
    long timeout_ms;
    size_t max_response;
    char *ca_file, *cert_file, *key_file, *proxy;
};

static pthread_once_t curl_once = PTHREAD_ONCE_INIT;
static CURLcode curl_init_rc = CURLE_FAILED_INIT;

static void curl_init(void)
{
    curl_init_rc = curl_global_init(CURL_GLOBAL_DEFAULT);
}

static void set_detail(char *d, size_t n, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

static void set_detail(char *d, size_t n, const char *fmt, ...)
{
    if (!d || !n)
        return;
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(d, n, fmt, ap);
    va_end(ap);
}

MSGSEC_SDK_EXPORT int msgsec_http_version_from_name(const char *name,
                                                    int *version)
{
    static const struct {
        const char *name;
        int v;
    } names[] = {{"2-prior-knowledge", MSGSEC_HTTP_2_PRIOR_KNOWLEDGE},
                 {"2", MSGSEC_HTTP_2},
                 {"1.1", MSGSEC_HTTP_1_1}};
    if (!name || !version)
        return MSGSEC_ERR_INVALID_ARG;
    for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++)
        if (strcmp(name, names[i].name) == 0) {
            *version = names[i].v;
            return 0;
        }
    return MSGSEC_ERR_INVALID_ARG;
}

MSGSEC_SDK_EXPORT const char *msgsec_http_version_name(int version)
{
    switch (version) {
    case MSGSEC_HTTP_2_PRIOR_KNOWLEDGE:
        return "2-prior-knowledge";
    case MSGSEC_HTTP_2:
        return "2";
    case MSGSEC_HTTP_1_1:
        return "1.1";
    default:
        return NULL;
    }
}

MSGSEC_SDK_EXPORT int msgsec_http_media_type_is(const char *content_type,
                                                const char *type)
{
    if (!content_type || !type)
        return 0;
    const char *p = content_type;
    while (*p == ' ' || *p == '\t')
        p++;
    size_t n = strlen(type);
    if (strncasecmp(p, type, n) != 0)
        return 0;
    p += n;
    while (*p == ' ' || *p == '\t')
        p++;
    return *p == '\0' || *p == ';';
}

/* ------------------------------------------------------------ queues */

static void q_push(req_queue *q, msgsec_http_request *r)
{
    r->qnext = NULL;
    r->qprev = q->tail;
    if (q->tail)
        q->tail->qnext = r;
    else
        q->head = r;
    q->tail = r;
}

static void q_unlink(req_queue *q, msgsec_http_request *r)
{
    if (r->qprev)
        r->qprev->qnext = r->qnext;
    else
        q->head = r->qnext;
    if (r->qnext)
        r->qnext->qprev = r->qprev;
    else
        q->tail = r->qprev;
    r->qprev = r->qnext = NULL;
}

static void all_link(msgsec_http_client *c, msgsec_http_request *r)
{
    r->aprev = NULL;
    r->anext = c->all;
    if (c->all)
        c->all->aprev = r;
    c->all = r;
}

static void all_unlink(msgsec_http_client *c, msgsec_http_request *r)
{
    if (r->aprev)
        r->aprev->anext = r->anext;
    else
        c->all = r->anext;
    if (r->anext)
        r->anext->aprev = r->aprev;
    r->aprev = r->anext = NULL;
}

/* Frees a request that no list and no multi handle refers to any more. */
static void req_destroy(msgsec_http_request *r)
{
    if (r->easy)
        curl_easy_cleanup(r->easy);
    /* Header lines may carry credentials (Authorization: Bearer ...). */
    for (struct curl_slist *h = r->headers; h; h = h->next)
        OPENSSL_cleanse(h->data, strlen(h->data));
    curl_slist_free_all(r->headers);
    free(r->method);
    free(r->url);
    if (r->req_body) {
        OPENSSL_cleanse(r->req_body, r->req_body_len);
        free(r->req_body);
    }
    if (r->body) {
        OPENSSL_cleanse(r->body, r->body_cap + 1);
        free(r->body);
    }
    free(r->content_type);
    OPENSSL_cleanse(r, sizeof(*r));
    free(r);
}

/* ------------------------------------------------------------ worker */

static size_t on_write(char *p, size_t size, size_t n, void *ud)
{
    msgsec_http_request *r = ud;
    size_t len = size * n;
    if (len > r->max_body - r->body_len) {
        r->too_large = 1;
        return 0; /* curl ends the transfer with CURLE_WRITE_ERROR */
    }
    if (r->body_len + len > r->body_cap) {
        size_t cap = r->body_cap ? r->body_cap : 1024;
        while (cap < r->body_len + len)
            cap *= 2;
        if (cap > r->max_body)
            cap = r->max_body;
        /* Not realloc: the old block may hold key material. */
        uint8_t *nb = malloc(cap + 1);
        if (!nb)
            return 0;
        if (r->body) {
            memcpy(nb, r->body, r->body_len);
            OPENSSL_cleanse(r->body, r->body_cap + 1);
            free(r->body);
        }
        r->body = nb;
        r->body_cap = cap;
    }
    memcpy(r->body + r->body_len, p, len);
    r->body_len += len;
    r->body[r->body_len] = 0;
    return len;
}

/* The URL without user information, for details. */
static void redacted_url(const char *url, char *out, size_t n)
{
    const char *s = strstr(url, "://");
    const char *at = NULL;
    if (s) {
        s += 3;
        size_t hostpart = strcspn(s, "/?#");
        const char *a = memchr(s, '@', hostpart);
        at = a;
    }
    if (at)
        snprintf(out, n, "%.*s***%s", (int)(s - url), url, at);
    else
        snprintf(out, n, "%s", url);
}

static double elapsed_since(const struct timespec *t0)
{
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (double)(t.tv_sec - t0->tv_sec) +
           (double)(t.tv_nsec - t0->tv_nsec) / 1e9;
}

/* Fills r->resp from the finished transfer (worker thread). */
static void collect(msgsec_http_request *r, CURLcode code)
{
    msgsec_http_response *resp = &r->resp;
    char url[MSGSEC_HTTP_MAX_URL + 8];
    redacted_url(r->url, url, sizeof(url));
    resp->elapsed = elapsed_since(&r->t0);
    resp->detail = r->detail;
    r->detail[0] = 0;

    long v = 0;
    if (r->easy && curl_easy_getinfo(r->easy, CURLINFO_HTTP_VERSION, &v) ==
                       CURLE_OK) {
        resp->http_version = v == CURL_HTTP_VERSION_1_0   ? 10
                             : v == CURL_HTTP_VERSION_1_1 ? 11
                             : v == CURL_HTTP_VERSION_2_0 ? 20
                                                          : 0;
    }
    const char *why = r->errbuf[0] ? r->errbuf : curl_easy_strerror(code);
    if (code == CURLE_OK) {
        long status = 0;
        char *ct = NULL;
        curl_easy_getinfo(r->easy, CURLINFO_RESPONSE_CODE, &status);
        curl_easy_getinfo(r->easy, CURLINFO_CONTENT_TYPE, &ct);
        resp->result = 0;
        resp->status = (int)status;
        if (ct && !(r->content_type = strdup(ct))) {
            resp->result = MSGSEC_ERR_NOMEM;
            resp->status = 0;
            set_detail(r->detail, sizeof(r->detail), "%s %s: out of memory",
                       r->method, url);
        }
        resp->content_type = r->content_type;
    } else if (code == CURLE_OPERATION_TIMEDOUT) {
        resp->result = MSGSEC_ERR_TIMEOUT;
        set_detail(r->detail, sizeof(r->detail), "%s %s: timed out (%s)",
                   r->method, url, why);
    } else if (code == CURLE_OUT_OF_MEMORY) {
        resp->result = MSGSEC_ERR_NOMEM;
        set_detail(r->detail, sizeof(r->detail), "%s %s: out of memory",
                   r->method, url);
    } else if (r->too_large || code == CURLE_FILESIZE_EXCEEDED) {
        resp->result = MSGSEC_ERR_LOOKUP_FAILED;
        set_detail(r->detail, sizeof(r->detail),
                   "%s %s: response body larger than %zu bytes", r->method,
                   url, r->max_body);
    } else {
        const char *what;
        switch (code) {
        case CURLE_COULDNT_RESOLVE_HOST:
        case CURLE_COULDNT_RESOLVE_PROXY:
            what = "name not resolved";
            break;
        case CURLE_COULDNT_CONNECT:
            what = "cannot connect";
            break;
        case CURLE_SSL_CONNECT_ERROR:
        case CURLE_PEER_FAILED_VERIFICATION:
        case CURLE_SSL_CERTPROBLEM:
        case CURLE_SSL_CIPHER:
        case CURLE_SSL_CACERT_BADFILE:
        case CURLE_SSL_ISSUER_ERROR:
        case CURLE_SSL_CRL_BADFILE:
        case CURLE_SSL_PINNEDPUBKEYNOTMATCH:
        case CURLE_SSL_INVALIDCERTSTATUS:
        case CURLE_SSL_ENGINE_INITFAILED:
        case CURLE_SSL_ENGINE_NOTFOUND:
        case CURLE_SSL_ENGINE_SETFAILED:
        case CURLE_SSL_SHUTDOWN_FAILED:
        case CURLE_USE_SSL_FAILED:
            what = "TLS failure";
            break;
        case CURLE_GOT_NOTHING:
        case CURLE_RECV_ERROR:
        case CURLE_SEND_ERROR:
        case CURLE_PARTIAL_FILE:
            what = "connection lost";
            break;
        case CURLE_HTTP2:
        case CURLE_HTTP2_STREAM:
        case CURLE_WEIRD_SERVER_REPLY:
        case CURLE_UNSUPPORTED_PROTOCOL:
            what = "protocol error";
            break;
        default:
            what = "transfer failed";
            break;
        }
        resp->result = MSGSEC_ERR_LOOKUP_FAILED;
        set_detail(r->detail, sizeof(r->detail), "%s %s: %s (%s)", r->method,
                   url, what, why);
    }
    if (resp->result != 0)
        resp->status = 0;
    resp->body = r->body && resp->result == 0 ? r->body : (const uint8_t *)"";
    resp->body_len = resp->result == 0 ? r->body_len : 0;
}

/* A transfer ended: run its callback unless it was cancelled. */
static void finish(msgsec_http_client *c, msgsec_http_request *r,
                   CURLcode code)
{
    if (r->easy) {
        collect(r, code);
        curl_multi_remove_handle(c->multi, r->easy);
        curl_easy_cleanup(r->easy);
        r->easy = NULL;
    }
    pthread_mutex_lock(&c->mu);
    if (r->state == RS_CANCELLED) {
        /* It is in the cancel queue; the worker frees it there. */
        pthread_mutex_unlock(&c->mu);
        return;
    }
    r->state = RS_CALLING;
    pthread_mutex_unlock(&c->mu);

    r->done(r->arg, r, &r->resp);

    pthread_mutex_lock(&c->mu);
    if (r->free_after_callback) {
        all_unlink(c, r);
        pthread_mutex_unlock(&c->mu);
        req_destroy(r);
        return;
    }
    r->state = RS_DONE;
    pthread_cond_broadcast(&c->cv);
    pthread_mutex_unlock(&c->mu);
}

static void *worker(void *arg)
{
    msgsec_http_client *c = arg;
    for (;;) {
        pthread_mutex_lock(&c->mu);
        if (c->stopping) {
            pthread_mutex_unlock(&c->mu);
            break;
        }
        /* Once ACTIVE a request may be freed by its owner, which reuses its
         * queue links for the cancel queue: the worker keeps its own. */
        msgsec_http_request *add = NULL, **tail = &add;
        for (msgsec_http_request *r = c->submit.head, *n; r; r = n) {
            n = r->qnext;
            r->qnext = r->qprev = NULL;
            r->state = RS_ACTIVE;
            r->wnext = NULL;
            *tail = r;
            tail = &r->wnext;
        }
        msgsec_http_request *cancel = c->cancel.head;
        c->submit.head = c->submit.tail = NULL;
        c->cancel.head = c->cancel.tail = NULL;
        pthread_mutex_unlock(&c->mu);

        while (add) {
            msgsec_http_request *r = add;
            add = r->wnext;
            CURLMcode mc = curl_multi_add_handle(c->multi, r->easy);
            if (mc != CURLM_OK) {
                collect(r, mc == CURLM_OUT_OF_MEMORY ? CURLE_OUT_OF_MEMORY
                                                     : CURLE_FAILED_INIT);
                curl_easy_cleanup(r->easy);
                r->easy = NULL;
                finish(c, r, CURLE_FAILED_INIT);
            }
        }
        while (cancel) {
            msgsec_http_request *r = cancel;
            cancel = r->qnext;
            if (r->easy)
                curl_multi_remove_handle(c->multi, r->easy);
            pthread_mutex_lock(&c->mu);
            all_unlink(c, r);
            pthread_mutex_unlock(&c->mu);
            req_destroy(r);
        }

        int running = 0;
        curl_multi_perform(c->multi, &running);
        CURLMsg *m;
        int left;
        while ((m = curl_multi_info_read(c->multi, &left))) {
            if (m->msg != CURLMSG_DONE)
                continue;
            char *priv = NULL;
            curl_easy_getinfo(m->easy_handle, CURLINFO_PRIVATE, &priv);
            if (priv)
                finish(c, (msgsec_http_request *)(void *)priv, m->data.result);
        }
        curl_multi_poll(c->multi, NULL, 0, 1000, NULL);
    }
    return NULL;
}

/* ------------------------------------------------------------ client */

static int dup_opt(const char *s, char **out)
{
    *out = NULL;
    if (!s)
        return 0;
    return (*out = strdup(s)) ? 0 : MSGSEC_ERR_NOMEM;
}

static void client_destroy(msgsec_http_client *c)
{
    if (c->multi)
        curl_multi_cleanup(c->multi);
    free(c->ca_file);
    free(c->cert_file);
    free(c->key_file);
    free(c->proxy);
    pthread_cond_destroy(&c->cv);
    pthread_mutex_destroy(&c->mu);
    free(c);
}

MSGSEC_SDK_EXPORT int msgsec_http_client_new(const msgsec_http_config *cfg,
                                             msgsec_http_client **out,
                                             char *detail, size_t detail_len)
{
    if (!out)
        return MSGSEC_ERR_INVALID_ARG;
    *out = NULL;
    msgsec_http_config def = {.size = sizeof(def)};
    msgsec_http_config k = def;
    if (cfg) {
        if (cfg->size < offsetof(msgsec_http_config, version) + sizeof(int)) {
            set_detail(detail, detail_len, "http config: bad size %zu",
                       cfg->size);
            return MSGSEC_ERR_INVALID_ARG;
        }
        memcpy(&k, cfg, cfg->size < sizeof(k) ? cfg->size : sizeof(k));
    }
    if (!msgsec_http_version_name(k.version)) {
        set_detail(detail, detail_len, "http_version: unknown value %d",
                   k.version);
        return MSGSEC_ERR_INVALID_ARG;
    }
    if (k.connect_timeout_ms < 0 || k.timeout_ms < 0 ||
        k.max_host_connections < 0) {
        set_detail(detail, detail_len,
                   "http config: timeouts and limits must not be negative");
        return MSGSEC_ERR_INVALID_ARG;
    }
    pthread_once(&curl_once, curl_init);
    if (curl_init_rc != CURLE_OK) {
        set_detail(detail, detail_len, "libcurl initialisation failed: %s",
                   curl_easy_strerror(curl_init_rc));
        return MSGSEC_ERR_INTERNAL;
    }

    msgsec_http_client *c = calloc(1, sizeof(*c));
    if (!c)
        return MSGSEC_ERR_NOMEM;
    if (pthread_mutex_init(&c->mu, NULL) != 0) {
        free(c);
        return MSGSEC_ERR_INTERNAL;
    }
    if (pthread_cond_init(&c->cv, NULL) != 0) {
        pthread_mutex_destroy(&c->mu);
        free(c);
        return MSGSEC_ERR_INTERNAL;
    }
    c->version = k.version;
    const curl_version_info_data *vi = curl_version_info(CURLVERSION_NOW);
    c->h2c_no_reuse = vi && vi->version_num >= 0x075800 &&
                      vi->version_num < 0x080000;
    c->connect_timeout_ms = k.connect_timeout_ms
                                ? k.connect_timeout_ms
                                : MSGSEC_HTTP_DEFAULT_CONNECT_TIMEOUT_MS;
    c->timeout_ms = k.timeout_ms ? k.timeout_ms : MSGSEC_HTTP_DEFAULT_TIMEOUT_MS;
    c->max_response =
        k.max_response ? k.max_response : MSGSEC_HTTP_DEFAULT_MAX_RESPONSE;
    int rc;
    if ((rc = dup_opt(k.ca_file, &c->ca_file)) ||
        (rc = dup_opt(k.cert_file, &c->cert_file)) ||
        (rc = dup_opt(k.key_file, &c->key_file)) ||
        (rc = dup_opt(k.proxy, &c->proxy))) {
        client_destroy(c);
        return rc;
    }
    if (!(c->multi = curl_multi_init())) {
        client_destroy(c);
        set_detail(detail, detail_len, "libcurl: cannot create a multi handle");
        return MSGSEC_ERR_NOMEM;
    }
    curl_multi_setopt(c->multi, CURLMOPT_PIPELINING, (long)CURLPIPE_MULTIPLEX);
    if (k.max_host_connections)
        curl_multi_setopt(c->multi, CURLMOPT_MAX_HOST_CONNECTIONS,
                          k.max_host_connections);

    /* The worker takes no signals: they belong to the application. */
    sigset_t all, old;
    sigfillset(&all);
    pthread_sigmask(SIG_SETMASK, &all, &old);
    int e = pthread_create(&c->thread, NULL, worker, c);
    pthread_sigmask(SIG_SETMASK, &old, NULL);
    if (e != 0) {
        client_destroy(c);
        set_detail(detail, detail_len, "cannot start the HTTP worker thread");
        return MSGSEC_ERR_INTERNAL;
    }
    c->thread_started = 1;
    *out = c;
    return 0;
}

MSGSEC_SDK_EXPORT void msgsec_http_client_free(msgsec_http_client *c)
{
    if (!c)
        return;
    pthread_mutex_lock(&c->mu);
    c->stopping = 1;
    pthread_mutex_unlock(&c->mu);
    if (c->thread_started) {
        curl_multi_wakeup(c->multi);
        pthread_join(c->thread, NULL);
    }
    /* Only this thread is left; detach what the owners still hold. */
    msgsec_http_request *r = c->all;
    while (r) {
        msgsec_http_request *next = r->anext;
        if (r->easy) {
            if (r->state == RS_ACTIVE || r->state == RS_CANCELLED)
                curl_multi_remove_handle(c->multi, r->easy);
            curl_easy_cleanup(r->easy);
            r->easy = NULL;
        }
        if (r->state == RS_CANCELLED) {
            req_destroy(r);
        } else {
            if (r->state != RS_DONE) {
                r->resp.result = MSGSEC_ERR_STATE;
                r->resp.status = 0;
                r->resp.body = (const uint8_t *)"";
                r->resp.body_len = 0;
                r->resp.detail = "request cancelled: HTTP client shut down";
                r->state = RS_DONE;
            }
            r->client = NULL;
            r->aprev = r->anext = r->qprev = r->qnext = NULL;
        }
        r = next;
    }
    c->all = NULL;
    client_destroy(c);
}

/* ------------------------------------------------------------ requests */

static int has_header(const char *const *headers, const char *name)
{
    size_t n = strlen(name);
    for (size_t i = 0; headers && headers[i]; i++)
        if (strncasecmp(headers[i], name, n) == 0 && headers[i][n] == ':')
            return 1;
    return 0;
}

static long http_version_opt(int version, int https)
{
    switch (version) {
    case MSGSEC_HTTP_1_1:
        return CURL_HTTP_VERSION_1_1;
    case MSGSEC_HTTP_2:
        return https ? CURL_HTTP_VERSION_2TLS : CURL_HTTP_VERSION_2_0;
    default:
        return https ? CURL_HTTP_VERSION_2TLS
                     : CURL_HTTP_VERSION_2_PRIOR_KNOWLEDGE;
    }
}

static int req_setup(msgsec_http_client *c, msgsec_http_request *r,
                     const msgsec_http_request_spec *s, int https)
{
    CURL *e = r->easy;
    CURLcode x = CURLE_OK;
#define SET(opt, val)                                                          \
    do {                                                                       \
        if (x == CURLE_OK)                                                     \
            x = curl_easy_setopt(e, opt, val);                                 \
    } while (0)
    SET(CURLOPT_URL, r->url);
    SET(CURLOPT_PRIVATE, (void *)r);
    SET(CURLOPT_NOSIGNAL, 1L);
    SET(CURLOPT_ERRORBUFFER, r->errbuf);
#if LIBCURL_VERSION_NUM >= 0x075500
    SET(CURLOPT_PROTOCOLS_STR, "http,https");
#else
    SET(CURLOPT_PROTOCOLS, (long)(CURLPROTO_HTTP | CURLPROTO_HTTPS));
#endif
    SET(CURLOPT_FOLLOWLOCATION, 0L);
    SET(CURLOPT_HTTP_VERSION, http_version_opt(c->version, https));
    if (!https && c->version == MSGSEC_HTTP_2_PRIOR_KNOWLEDGE &&
        c->h2c_no_reuse) {
        /* libcurl 7.88 fails every transfer that reuses an h2c
         * connection (curl issue 10634): one connection per request. */
        SET(CURLOPT_FRESH_CONNECT, 1L);
        SET(CURLOPT_FORBID_REUSE, 1L);
    } else if (c->version != MSGSEC_HTTP_1_1) {
        SET(CURLOPT_PIPEWAIT, 1L); /* share one HTTP/2 connection */
    }
    SET(CURLOPT_TIMEOUT_MS, s->timeout_ms ? s->timeout_ms : c->timeout_ms);
    SET(CURLOPT_CONNECTTIMEOUT_MS, s->connect_timeout_ms
                                       ? s->connect_timeout_ms
                                       : c->connect_timeout_ms);
    SET(CURLOPT_WRITEFUNCTION, on_write);
    SET(CURLOPT_WRITEDATA, (void *)r);
    SET(CURLOPT_MAXFILESIZE_LARGE, (curl_off_t)c->max_response);
    SET(CURLOPT_PROXY, c->proxy ? c->proxy : "");
    SET(CURLOPT_USERAGENT, "msgsec/" PACKAGE_VERSION);
    if (c->ca_file)
        SET(CURLOPT_CAINFO, c->ca_file);
    if (c->cert_file)
        SET(CURLOPT_SSLCERT, c->cert_file);
    if (c->key_file)
        SET(CURLOPT_SSLKEY, c->key_file);

    if (strcmp(r->method, "GET") == 0) {
        SET(CURLOPT_HTTPGET, 1L);
    } else if (strcmp(r->method, "HEAD") == 0) {
        SET(CURLOPT_NOBODY, 1L);
    } else {
        SET(CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)r->req_body_len);
        SET(CURLOPT_POSTFIELDS, r->req_body ? (char *)r->req_body : "");
        if (strcmp(r->method, "POST") != 0)
            SET(CURLOPT_CUSTOMREQUEST, r->method);
    }
#undef SET
    if (x != CURLE_OK)
        return x == CURLE_OUT_OF_MEMORY ? MSGSEC_ERR_NOMEM
                                        : MSGSEC_ERR_INTERNAL;

    /* No "Expect: 100-continue" round trip; no form content type unless
     * the caller names one. */
    const char *extra[] = {"Expect:", "Content-Type:"};
    size_t nextra = has_header(s->headers, "content-type") ? 1 : 2;
    for (size_t i = 0; s->headers && s->headers[i]; i++) {
        struct curl_slist *l = curl_slist_append(r->headers, s->headers[i]);
        if (!l)
            return MSGSEC_ERR_NOMEM;
        r->headers = l;
    }
    for (size_t i = 0; i < nextra; i++) {
        struct curl_slist *l = curl_slist_append(r->headers, extra[i]);
        if (!l)
            return MSGSEC_ERR_NOMEM;
        r->headers = l;
    }
    if (curl_easy_setopt(e, CURLOPT_HTTPHEADER, r->headers) != CURLE_OK)
        return MSGSEC_ERR_INTERNAL;
    return 0;
}

static int valid_method(const char *m)
{
    size_t n = strlen(m);
    if (n == 0 || n > 16)
        return 0;
    for (size_t i = 0; i < n; i++)
        if (!isupper((unsigned char)m[i]))
            return 0;
    return 1;
}

MSGSEC_SDK_EXPORT int msgsec_http_start(msgsec_http_client *c,
                                        const msgsec_http_request_spec *s,
                                        msgsec_http_done_fn done, void *arg,
                                        msgsec_http_request **out)
{
    if (out)
        *out = NULL;
    if (!c || !s || !done || !out || !s->url ||
        (s->body_len && !s->body) || s->body_len > MSGSEC_HTTP_MAX_REQUEST_BODY ||
        s->timeout_ms < 0 || s->connect_timeout_ms < 0)
        return MSGSEC_ERR_INVALID_ARG;
    size_t ulen = strlen(s->url);
    int https = strncasecmp(s->url, "https://", 8) == 0;
    if (ulen > MSGSEC_HTTP_MAX_URL ||
        (!https && strncasecmp(s->url, "http://", 7) != 0) ||
        strpbrk(s->url, " \t\r\n"))
        return MSGSEC_ERR_INVALID_ARG;
    const char *method = s->method ? s->method : s->body_len ? "POST" : "GET";
    if (!valid_method(method))
        return MSGSEC_ERR_INVALID_ARG;
    for (size_t i = 0; s->headers && s->headers[i]; i++)
        if (strpbrk(s->headers[i], "\r\n") || !strchr(s->headers[i], ':'))
            return MSGSEC_ERR_INVALID_ARG;

    msgsec_http_request *r = calloc(1, sizeof(*r));
    if (!r)
        return MSGSEC_ERR_NOMEM;
    r->client = c;
    r->done = done;
    r->arg = arg;
    r->max_body = c->max_response;
    r->resp.detail = "";
    int rc = MSGSEC_ERR_NOMEM;
    if (!(r->method = strdup(method)) || !(r->url = strdup(s->url)))
        goto fail;
    if (s->body_len) {
        if (!(r->req_body = malloc(s->body_len)))
            goto fail;
        memcpy(r->req_body, s->body, s->body_len);
        r->req_body_len = s->body_len;
    }
    if (!(r->easy = curl_easy_init()))
        goto fail;
    if ((rc = req_setup(c, r, s, https)) != 0)
        goto fail;
    clock_gettime(CLOCK_MONOTONIC, &r->t0);

    *out = r;
    pthread_mutex_lock(&c->mu);
    if (c->stopping) {
        pthread_mutex_unlock(&c->mu);
        *out = NULL;
        rc = MSGSEC_ERR_STATE;
        goto fail;
    }
    r->state = RS_QUEUED;
    q_push(&c->submit, r);
    all_link(c, r);
    pthread_mutex_unlock(&c->mu);
    curl_multi_wakeup(c->multi);
    return 0;

fail:
    req_destroy(r);
    return rc;
}

MSGSEC_SDK_EXPORT void msgsec_http_request_free(msgsec_http_request *r)
{
    if (!r)
        return;
    msgsec_http_client *c = r->client;
    if (!c) {
        req_destroy(r);
        return;
    }
    pthread_mutex_lock(&c->mu);
    if (r->state == RS_CALLING) {
        if (c->thread_started && pthread_equal(pthread_self(), c->thread)) {
            r->free_after_callback = 1;
            pthread_mutex_unlock(&c->mu);
            return;
        }
        while (r->state == RS_CALLING)
            pthread_cond_wait(&c->cv, &c->mu);
    }
    switch (r->state) {
    case RS_QUEUED:
        q_unlink(&c->submit, r);
        all_unlink(c, r);
        pthread_mutex_unlock(&c->mu);
        req_destroy(r);
        return;
    case RS_ACTIVE:
        r->state = RS_CANCELLED;
        q_push(&c->cancel, r);
        pthread_mutex_unlock(&c->mu);
        curl_multi_wakeup(c->multi);
        return;
    case RS_DONE:
        all_unlink(c, r);
        pthread_mutex_unlock(&c->mu);
        req_destroy(r);
        return;
    default: /* already being freed */
        pthread_mutex_unlock(&c->mu);
        return;
    }
}

MSGSEC_SDK_EXPORT const msgsec_http_response *
msgsec_http_request_response(const msgsec_http_request *r)
{
    if (!r)
        return NULL;
    msgsec_http_client *c = r->client;
    if (!c)
        return &r->resp;
    /* Complete and immutable from the callback's start: a woken session
     * may read it while the callback is still returning. */
    pthread_mutex_lock(&c->mu);
    int done = r->state == RS_DONE || r->state == RS_CALLING;
    pthread_mutex_unlock(&c->mu);
    return done ? &r->resp : NULL;
}

static void perform_done(void *arg, msgsec_http_request *req,
                         const msgsec_http_response *resp)
{
    (void)arg;
    (void)req;
    (void)resp;
}

MSGSEC_SDK_EXPORT int msgsec_http_perform(msgsec_http_client *c,
                                          const msgsec_http_request_spec *spec,
                                          msgsec_http_request **out)
{
    if (out)
        *out = NULL;
    if (!c || !out)
        return MSGSEC_ERR_INVALID_ARG;
    if (c->thread_started && pthread_equal(pthread_self(), c->thread))
        return MSGSEC_ERR_STATE;
    msgsec_http_request *r;
    int rc = msgsec_http_start(c, spec, perform_done, NULL, &r);
    if (rc != 0)
        return rc;
    pthread_mutex_lock(&c->mu);
    while (r->state != RS_DONE)
        pthread_cond_wait(&c->cv, &c->mu);
    pthread_mutex_unlock(&c->mu);
    *out = r;
    return 0;
}
