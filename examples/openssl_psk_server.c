/*
 * openssl_psk_server.c - an OpenSSL TLS 1.3 server that keeps its own TLS
 * stack and asks msgsec only for pre-shared keys (msgsec_psk_lookup_*):
 * with the akma provider, an AKMA AF serving standard TLS clients whose
 * PSK identity is "3GPP-AKMA" followed by an A-KID, K_AF coming from the
 * AAnF without blocking the event loop.
 *
 *   openssl-psk-server -c POLICY --service NAME --listen HOST:PORT
 *
 * Prints "listening on HOST:PORT" (the port actually bound) on standard
 * output, then answers every line a client sends with
 * "<scheme> <peer identity>: <line>". Standard error gets one line per
 * connection: "established ADDR scheme=... identity=... [supi=...]
 * [expiry=...]" or "failed ADDR: reason". SIGTERM or SIGINT: exit 0.
 *
 * How the pieces fit:
 * - A ClientHello callback takes the first identity of the pre_shared_key
 *   extension and starts msgsec_psk_lookup_new(). While the look-up is
 *   pending it returns SSL_CLIENT_HELLO_RETRY: SSL_accept() stops with
 *   SSL_ERROR_WANT_CLIENT_HELLO_CB and the handshake waits.
 * - The event loop polls msgsec_core_fd() beside the sockets. When it is
 *   readable, msgsec_core_dispatch() calls the look-up's ready callback,
 *   which resumes it; the loop then calls SSL_accept() again and the
 *   ClientHello callback finds the look-up resolved (or failed: the client
 *   gets an unknown_psk_identity or internal_error alert).
 * - OpenSSL's PSK find-session callback turns the key into an SSL_SESSION
 *   for the suite chosen. Only SHA-256 suites are enabled: the PSK's hash
 *   must be the suite's, and K_AF is a SHA-256 PSK (as openssl s_client
 *   -psk uses it). OpenSSL checks the client's binder with it, so a client
 *   with the wrong key fails the handshake. psk_dhe_ke only: OpenSSL
 *   refuses psk_ke unless SSL_OP_ALLOW_NO_DHE_KEX is set.
 * A server that may block calls msgsec_psk_lookup_wait() in the callback
 * instead and needs neither the descriptor nor the retry.
 */
#include <errno.h>
#include <getopt.h>
#include <netdb.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>

#include <openssl/crypto.h>
#include <openssl/err.h>
#include <openssl/ssl.h>

#include <msgsec/msgsec.h>

#define MAX_CONNS 256
#define LINE_MAX_LEN 4096
#define OUT_MAX (64 * 1024)

typedef struct conn {
    int fd;
    SSL *ssl;
    char addr[64];
    /* The look-up for the client's identity, until the handshake ends. */
    msgsec_psk_lookup *lookup;
    unsigned char identity[MSGSEC_PSK_IDENTITY_MAX];
    size_t identity_len;
    int waiting;      /* the handshake waits for the look-up */
    int established;
    char failure[1100]; /* why the handshake failed, when msgsec knows */
    char peer[600];   /* "<scheme> <identity>" once established */
    char in[LINE_MAX_LEN];
    size_t in_len;
    unsigned char out[OUT_MAX];
    size_t out_len;
    int closing;      /* close once out is flushed */
    int done;         /* freed at the end of the loop's round */
} conn;

static msgsec_core *core;
static const char *service;
static conn *conns[MAX_CONNS];
static volatile sig_atomic_t stop;

static void on_signal(int sig)
{
    (void)sig;
    stop = 1;
}

/* ------------------------------------------------------ msgsec look-up */

/* The first identity of the ClientHello's pre_shared_key extension
 * (RFC 8446 4.2.11): 1 found, 0 no extension, -1 malformed. */
static int first_identity(SSL *s, const unsigned char **id, size_t *len)
{
    const unsigned char *ext = NULL;
    size_t n = 0;
    if (!SSL_client_hello_get0_ext(s, TLSEXT_TYPE_psk, &ext, &n))
        return 0;
    if (n < 2)
        return -1;
    size_t ids = (size_t)ext[0] << 8 | ext[1];
    if (ids + 2 > n || ids < 2 + 1 + 4)
        return -1;
    size_t l = (size_t)ext[2] << 8 | ext[3];
    if (l == 0 || 2 + l + 4 > ids)
        return -1;
    *id = ext + 4;
    *len = l;
    return 1;
}

/* The alert a client gets when msgsec has no key for its identity. */
static int alert_for(int rc)
{
    switch (rc) {
    case MSGSEC_ERR_UNCLAIMED:
    case MSGSEC_ERR_KEY_UNAVAILABLE:
    case MSGSEC_ERR_KEY_EXPIRED:
    case MSGSEC_ERR_AUTH_FAILED:
        return SSL_AD_UNKNOWN_PSK_IDENTITY;
    default:
        return SSL_AD_INTERNAL_ERROR;
    }
}

/* Called from msgsec_core_dispatch(), in the loop's thread. */
static void on_ready(void *user_data, msgsec_psk_lookup *l)
{
    conn *c = user_data;
    if (msgsec_psk_lookup_resume(l) != MSGSEC_PENDING)
        c->waiting = 0; /* the loop calls SSL_accept() again */
}

static int client_hello_cb(SSL *s, int *al, void *arg)
{
    (void)arg;
    conn *c = SSL_get_app_data(s);
    if (!c->lookup) {
        const unsigned char *id = NULL;
        size_t len = 0;
        int r = first_identity(s, &id, &len);
        if (r <= 0) {
            snprintf(c->failure, sizeof(c->failure), "%s",
                     r == 0 ? "the client offered no PSK"
                            : "malformed pre_shared_key extension");
            *al = r == 0 ? SSL_AD_HANDSHAKE_FAILURE : SSL_AD_DECODE_ERROR;
            return SSL_CLIENT_HELLO_ERROR;
        }
        msgsec_psk_lookup_config cfg = {.size = sizeof(cfg),
                                        .version = MSGSEC_PSK_TLS1_3,
                                        .ready = on_ready,
                                        .user_data = c};
        int rc = msgsec_psk_lookup_new(core, service, id, len, &cfg,
                                       &c->lookup);
        if (rc < 0) {
            snprintf(c->failure, sizeof(c->failure), "%s: %s",
                     msgsec_error_name(rc), msgsec_last_detail());
            *al = alert_for(rc);
            return SSL_CLIENT_HELLO_ERROR;
        }
        memcpy(c->identity, id, len);
        c->identity_len = len;
    }
    int rc = msgsec_psk_lookup_status(c->lookup);
    if (rc == MSGSEC_PENDING) {
        c->waiting = 1;
        return SSL_CLIENT_HELLO_RETRY;
    }
    if (rc < 0) {
        snprintf(c->failure, sizeof(c->failure), "%s: %s",
                 msgsec_error_name(rc), msgsec_psk_lookup_detail(c->lookup));
        *al = alert_for(rc);
        return SSL_CLIENT_HELLO_ERROR;
    }
    return SSL_CLIENT_HELLO_SUCCESS;
}

/* OpenSSL asks for the session of an identity: the resolved key. */
static int psk_find_session_cb(SSL *s, const unsigned char *identity,
                               size_t identity_len, SSL_SESSION **sess)
{
    conn *c = SSL_get_app_data(s);
    *sess = NULL;
    if (!c->lookup || msgsec_psk_lookup_status(c->lookup) != 0 ||
        identity_len != c->identity_len ||
        memcmp(identity, c->identity, identity_len) != 0)
        return 1; /* not this identity: no PSK */
    unsigned char key[MSGSEC_PSK_KEY_MAX];
    size_t klen = 0;
    /* The suite chosen (a SHA-256 one: see the context's ciphersuites). */
    const SSL_CIPHER *cipher = SSL_get_pending_cipher(s);
    SSL_SESSION *ss = SSL_SESSION_new();
    int ok = ss && cipher &&
             msgsec_psk_lookup_key(c->lookup, key, sizeof(key), &klen) == 0 &&
             SSL_SESSION_set1_master_key(ss, key, klen) &&
             SSL_SESSION_set_cipher(ss, cipher) &&
             SSL_SESSION_set_protocol_version(ss, TLS1_3_VERSION);
    OPENSSL_cleanse(key, sizeof(key));
    if (!ok) {
        SSL_SESSION_free(ss);
        return 0;
    }
    *sess = ss;
    return 1;
}

/* ------------------------------------------------------- connections */

static void conn_free(conn *c)
{
    for (int i = 0; i < MAX_CONNS; i++)
        if (conns[i] == c)
            conns[i] = NULL;
    /* Cancels a look-up still pending and wipes the key. */
    msgsec_psk_lookup_free(c->lookup);
    SSL_free(c->ssl);
    close(c->fd);
    OPENSSL_cleanse(c, sizeof(*c));
    free(c);
}

static void queue(conn *c, const char *p, size_t n)
{
    if (n > sizeof(c->out) - c->out_len) {
        c->closing = 1; /* a client that does not read */
        return;
    }
    memcpy(c->out + c->out_len, p, n);
    c->out_len += n;
}

static void flush(conn *c)
{
    while (c->out_len > 0) {
        int w = SSL_write(c->ssl, c->out, (int)c->out_len);
        if (w <= 0) {
            int e = SSL_get_error(c->ssl, w);
            if (e != SSL_ERROR_WANT_WRITE && e != SSL_ERROR_WANT_READ) {
                c->closing = 1;
                c->out_len = 0;
            }
            return;
        }
        memmove(c->out, c->out + w, c->out_len - (size_t)w);
        c->out_len -= (size_t)w;
    }
}

static void answer_lines(conn *c)
{
    char *nl;
    while ((nl = memchr(c->in, '\n', c->in_len)) != NULL) {
        size_t n = (size_t)(nl - c->in);
        char line[LINE_MAX_LEN + sizeof(c->peer) + 8];
        int m = snprintf(line, sizeof(line), "%s: %.*s\n", c->peer, (int)n,
                         c->in);
        if (m > 0)
            queue(c, line, (size_t)m < sizeof(line) ? (size_t)m
                                                     : sizeof(line) - 1);
        memmove(c->in, nl + 1, c->in_len - n - 1);
        c->in_len -= n + 1;
    }
    if (c->in_len == sizeof(c->in))
        c->closing = 1; /* a line longer than we take */
}

static void established(conn *c)
{
    msgsec_peer peer;
    c->established = 1;
    if (msgsec_psk_lookup_peer(c->lookup, &peer) != 0) {
        c->closing = 1;
        return;
    }
    snprintf(c->peer, sizeof(c->peer), "%s %s", peer.scheme,
             peer.identity ? peer.identity : "-");
    fprintf(stderr, "established %s scheme=%s identity=%s", c->addr,
            peer.scheme, peer.identity ? peer.identity : "-");
    if (peer.supi)
        fprintf(stderr, " supi=%s", peer.supi);
    if (peer.key_expiry)
        fprintf(stderr, " expiry=%lld", (long long)peer.key_expiry);
    fprintf(stderr, "\n");
    /* The key is in OpenSSL's session now: drop msgsec's copy. */
    msgsec_psk_lookup_free(c->lookup);
    c->lookup = NULL;
}

/* Advances one connection after an event. 0, or -1 when it is done. */
static int drive(conn *c)
{
    if (!c->established) {
        if (c->waiting)
            return 0;
        ERR_clear_error();
        int r = SSL_accept(c->ssl);
        if (r == 1) {
            established(c);
        } else {
            int e = SSL_get_error(c->ssl, r);
            if (e == SSL_ERROR_WANT_READ || e == SSL_ERROR_WANT_WRITE ||
                e == SSL_ERROR_WANT_CLIENT_HELLO_CB)
                return 0;
            char why[256] = "";
            if (!c->failure[0])
                ERR_error_string_n(ERR_peek_last_error(), why, sizeof(why));
            fprintf(stderr, "failed %s: %s\n", c->addr,
                    c->failure[0] ? c->failure
                    : why[0]      ? why
                                  : "TLS handshake failed");
            return -1;
        }
    }
    while (!c->closing) {
        ERR_clear_error();
        int r = SSL_read(c->ssl, c->in + c->in_len,
                         (int)(sizeof(c->in) - c->in_len));
        if (r > 0) {
            c->in_len += (size_t)r;
            answer_lines(c);
            continue;
        }
        int e = SSL_get_error(c->ssl, r);
        if (e == SSL_ERROR_WANT_READ || e == SSL_ERROR_WANT_WRITE)
            break;
        c->closing = 1; /* closed by the peer, or an error */
    }
    flush(c);
    if (c->closing && c->out_len == 0) {
        SSL_shutdown(c->ssl);
        return -1;
    }
    return 0;
}

static void accept_one(int lfd, SSL_CTX *ctx)
{
    struct sockaddr_storage ss;
    socklen_t sl = sizeof(ss);
    int fd = accept(lfd, (struct sockaddr *)&ss, &sl);
    if (fd < 0)
        return;
    int slot = -1;
    for (int i = 0; i < MAX_CONNS && slot < 0; i++)
        if (!conns[i])
            slot = i;
    conn *c = slot >= 0 ? calloc(1, sizeof(*c)) : NULL;
    if (!c || fcntl(fd, F_SETFL, O_NONBLOCK) != 0 ||
        !(c->ssl = SSL_new(ctx))) {
        free(c);
        close(fd);
        return;
    }
    c->fd = fd;
    char host[INET6_ADDRSTRLEN] = "?", port[8] = "?";
    getnameinfo((struct sockaddr *)&ss, sl, host, sizeof(host), port,
                sizeof(port), NI_NUMERICHOST | NI_NUMERICSERV);
    snprintf(c->addr, sizeof(c->addr), "%s:%s", host, port);
    SSL_set_fd(c->ssl, fd);
    SSL_set_app_data(c->ssl, c);
    conns[slot] = c;
    if (drive(c) < 0)
        conn_free(c);
}

/* ----------------------------------------------------------------- main */

static int listen_on(const char *spec)
{
    char host[256];
    const char *colon = strrchr(spec, ':');
    if (!colon || (size_t)(colon - spec) >= sizeof(host))
        return -1;
    memcpy(host, spec, (size_t)(colon - spec));
    host[colon - spec] = '\0';
    struct addrinfo hints = {.ai_family = AF_UNSPEC,
                             .ai_socktype = SOCK_STREAM,
                             .ai_flags = AI_PASSIVE | AI_NUMERICSERV};
    struct addrinfo *ai = NULL;
    if (getaddrinfo(host, colon + 1, &hints, &ai) != 0)
        return -1;
    int fd = socket(ai->ai_family, SOCK_STREAM | SOCK_CLOEXEC, 0), one = 1;
    if (fd < 0 ||
        setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one)) != 0 ||
        bind(fd, ai->ai_addr, ai->ai_addrlen) != 0 || listen(fd, 64) != 0 ||
        fcntl(fd, F_SETFL, O_NONBLOCK) != 0) {
        if (fd >= 0)
            close(fd);
        freeaddrinfo(ai);
        return -1;
    }
    freeaddrinfo(ai);
    struct sockaddr_storage ss;
    socklen_t sl = sizeof(ss);
    char h[INET6_ADDRSTRLEN], p[8];
    if (getsockname(fd, (struct sockaddr *)&ss, &sl) == 0 &&
        getnameinfo((struct sockaddr *)&ss, sl, h, sizeof(h), p, sizeof(p),
                    NI_NUMERICHOST | NI_NUMERICSERV) == 0)
        printf("listening on %s:%s\n", h, p);
    fflush(stdout);
    return fd;
}

static void usage(FILE *f)
{
    fprintf(f, "Usage: openssl-psk-server -c POLICY --service NAME "
               "--listen HOST:PORT\n");
}

int main(int argc, char **argv)
{
    static const struct option opts[] = {
        {"config", required_argument, NULL, 'c'},
        {"service", required_argument, NULL, 's'},
        {"listen", required_argument, NULL, 'l'},
        {"help", no_argument, NULL, 'h'},
        {NULL, 0, NULL, 0}};
    const char *policy = NULL, *listen_spec = NULL;
    int o;
    while ((o = getopt_long(argc, argv, "c:h", opts, NULL)) != -1) {
        switch (o) {
        case 'c':
            policy = optarg;
            break;
        case 's':
            service = optarg;
            break;
        case 'l':
            listen_spec = optarg;
            break;
        case 'h':
            usage(stdout);
            return 0;
        default:
            usage(stderr);
            return 2;
        }
    }
    if (!policy || !service || !listen_spec || optind != argc) {
        usage(stderr);
        return 2;
    }

    char detail[1024];
    int rc = msgsec_core_new(policy, NULL, 0, &core, detail, sizeof(detail));
    if (rc < 0) {
        fprintf(stderr, "openssl-psk-server: %s: %s\n", msgsec_error_name(rc),
                detail);
        return 1;
    }
    SSL_CTX *ctx = SSL_CTX_new(TLS_server_method());
    if (!ctx || !SSL_CTX_set_min_proto_version(ctx, TLS1_3_VERSION) ||
        !SSL_CTX_set_ciphersuites(ctx, "TLS_AES_128_GCM_SHA256:"
                                       "TLS_CHACHA20_POLY1305_SHA256")) {
        fprintf(stderr, "openssl-psk-server: cannot set up OpenSSL\n");
        SSL_CTX_free(ctx);
        msgsec_core_free(core);
        return 1;
    }
    /* No certificate: PSK only. No tickets: every connection asks msgsec. */
    SSL_CTX_set_num_tickets(ctx, 0);
    SSL_CTX_set_client_hello_cb(ctx, client_hello_cb, NULL);
    SSL_CTX_set_psk_find_session_callback(ctx, psk_find_session_cb);
    SSL_CTX_set_mode(ctx, SSL_MODE_ACCEPT_MOVING_WRITE_BUFFER);

    int lfd = listen_on(listen_spec);
    if (lfd < 0) {
        fprintf(stderr, "openssl-psk-server: cannot listen on %s: %s\n",
                listen_spec, strerror(errno));
        SSL_CTX_free(ctx);
        msgsec_core_free(core);
        return 1;
    }
    struct sigaction sa;
    memset(&sa, 0, sizeof(sa));
    sa.sa_handler = on_signal; /* no SA_RESTART: poll() returns */
    sigaction(SIGTERM, &sa, NULL);
    sigaction(SIGINT, &sa, NULL);
    signal(SIGPIPE, SIG_IGN);

    while (!stop) {
        struct pollfd pfd[MAX_CONNS + 2];
        conn *who[MAX_CONNS + 2];
        nfds_t n = 0;
        pfd[n] = (struct pollfd){.fd = lfd, .events = POLLIN};
        who[n++] = NULL;
        pfd[n] = (struct pollfd){.fd = msgsec_core_fd(core), .events = POLLIN};
        who[n++] = NULL;
        for (int i = 0; i < MAX_CONNS; i++) {
            conn *c = conns[i];
            /* A handshake waiting for msgsec has nothing to read yet. */
            if (!c || c->waiting)
                continue;
            pfd[n] = (struct pollfd){
                .fd = c->fd, .events = POLLIN | (c->out_len ? POLLOUT : 0)};
            who[n++] = c;
        }
        if (poll(pfd, n, -1) < 0) {
            if (errno == EINTR)
                continue;
            break;
        }
        /* Connections are freed only at the end of the round, so that
         * who[] stays valid. */
        if (pfd[1].revents & POLLIN) {
            msgsec_core_dispatch(core, NULL, NULL);
            /* Handshakes whose look-up completed go on. */
            for (int i = 0; i < MAX_CONNS; i++) {
                conn *c = conns[i];
                if (c && !c->established && !c->waiting && c->lookup &&
                    drive(c) < 0)
                    c->done = 1;
            }
        }
        for (nfds_t k = 2; k < n; k++)
            if (pfd[k].revents && !who[k]->done && drive(who[k]) < 0)
                who[k]->done = 1;
        for (int i = 0; i < MAX_CONNS; i++)
            if (conns[i] && conns[i]->done)
                conn_free(conns[i]);
        if (pfd[0].revents & POLLIN)
            accept_one(lfd, ctx);
    }
    for (int i = 0; i < MAX_CONNS; i++)
        if (conns[i])
            conn_free(conns[i]);
    close(lfd);
    SSL_CTX_free(ctx);
    msgsec_core_free(core);
    return 0;
}
