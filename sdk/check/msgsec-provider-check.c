/*
 * msgsec-provider-check - the conformance kit for provider authors.
 *
 *   msgsec-provider-check [--config key=value]... [--name NAME]
 *                         [--authorize UE-SERVICE-ID] [--verbose] MODULE.so
 *
 * Loads MODULE through the real loader (a temporary policy names it by
 * absolute path) and, through the public integrator API only, runs what a
 * deployment will do with it: handshakes between an in-memory client and
 * server, messages both ways, and the protections the provider's
 * capabilities promise, and (provider ABI 1.2) authorization through its
 * authorize operation. Prints PASS or FAIL per check and a final line
 * "N passed, N failed"; exits 0 only when every applicable check passed,
 * 1 when one failed, 2 on a usage error.
 */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <openssl/crypto.h>

#include <msgsec/msgsec.h>

/* msgsec's message framing carries messages of up to 1 MiB. */
#define CHECK_MAX_MESSAGE (1u << 20)
#define CHECK_WAIT_MS 10000
#define MAX_CONFIG 64

typedef struct {
    const char *module;         /* absolute path */
    const char *name;           /* provider name (policy section) */
    const char *config[MAX_CONFIG];
    size_t nconfig;
    const char *ue_id;          /* --authorize: associated with the client */
    int verbose;

    char dir[256];              /* private temporary directory */
    char policy[320];           /* policy file in dir */
    int passed, failed;
} checker;

/* -------------------------------------------------------------- output */

static void result(checker *c, int ok, const char *what, const char *fmt,
                   ...) __attribute__((format(printf, 4, 5)));
static void result(checker *c, int ok, const char *what, const char *fmt,
                   ...)
{
    printf("%s  %s", ok ? "PASS" : "FAIL", what);
    if (fmt && fmt[0]) {
        va_list ap;
        va_start(ap, fmt);
        fputs(ok ? ": " : "\n      ", stdout);
        vprintf(fmt, ap);
        va_end(ap);
    }
    putchar('\n');
    if (ok)
        c->passed++;
    else
        c->failed++;
}

static void skip(const char *what, const char *why)
{
    printf("SKIP  %s: %s\n", what, why);
}

static void log_line(void *ud, int level, const char *line)
{
    const checker *c = ud;
    if (c->verbose)
        fprintf(stderr, "  log[%d] %s\n", level, line);
}

/* --------------------------------------------------------------- policy */

static void cleanup(checker *c)
{
    if (c->policy[0])
        unlink(c->policy);
    if (c->dir[0])
        rmdir(c->dir);
    c->policy[0] = c->dir[0] = '\0';
}

/* Writes the policy: the provider (mandatory, by absolute path, with the
 * --config keys) and one service per negotiation mode asked for. */
static int write_policy(checker *c, int allow_insecure, int explicit_svc,
                        int implicit_svc, const char *authz_mode)
{
    /* The core refuses a policy file others could write. */
    int fd = open(c->policy, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
    FILE *f = fd >= 0 ? fdopen(fd, "w") : NULL;
    if (!f) {
        if (fd >= 0)
            close(fd);
        fprintf(stderr, "msgsec-provider-check: %s: %s\n", c->policy,
                strerror(errno));
        return -1;
    }
    fprintf(f, "[core]\nallow_insecure = %s\n\n", allow_insecure ? "yes"
                                                                   : "no");
    fprintf(f, "[provider.%s]\nsupport = mandatory\nmodule = %s\n", c->name,
            c->module);
    for (size_t i = 0; i < c->nconfig; i++) {
        const char *eq = strchr(c->config[i], '=');
        fprintf(f, "%.*s = %s\n", (int)(eq - c->config[i]), c->config[i],
                eq + 1);
    }
    if (explicit_svc)
        fprintf(f, "\n[service.explicit]\nuse = %s\nnegotiation = explicit\n",
                c->name);
    if (implicit_svc)
        fprintf(f, "\n[service.implicit]\nuse = %s\nnegotiation = implicit\n",
                c->name);
    if (authz_mode)
        fprintf(f, "\n[service.authz]\nuse = %s\nnegotiation = %s\n"
                   "authorize = %s\n",
                c->name, authz_mode, c->name);
    return fclose(f) == 0 ? 0 : -1;
}

static int new_core(checker *c, unsigned flags, msgsec_core **core,
                    char *detail, size_t len)
{
    msgsec_hooks hooks;
    memset(&hooks, 0, sizeof(hooks));
    hooks.size = sizeof(hooks);
    hooks.user_data = c;
    hooks.log = log_line;
    hooks.log_level = MSGSEC_LOG_DEBUG;
    return msgsec_core_new(c->policy, &hooks, flags, core, detail, len);
}

/* ------------------------------------------------------------- sessions */

typedef struct {
    msgsec_session *client, *server;
} pair;

static void pair_free(pair *p)
{
    msgsec_session_free(p->client);
    msgsec_session_free(p->server);
    p->client = p->server = NULL;
}

/* Moves everything one side queued to the other. */
static int move(msgsec_session *from, msgsec_session *to, int *moved)
{
    static unsigned char buf[65536];
    size_t n;
    while ((n = msgsec_session_pull(from, buf, sizeof(buf))) > 0) {
        *moved = 1;
        int rc = msgsec_session_feed(to, buf, n);
        if (rc < 0)
            return rc;
    }
    return 0;
}

/* Runs client and server until neither has anything to say, resolving
 * pending look-ups with msgsec_session_wait(). */
static int pump(pair *p, char *why, size_t len)
{
    msgsec_session *both[2] = {p->client, p->server};
    for (int round = 0; round < 10000; round++) {
        int moved = 0, rc = 0;
        for (int i = 0; i < 2 && rc == 0; i++) {
            if ((rc = move(both[i], both[1 - i], &moved)) < 0) {
                snprintf(why, len, "%s: %s: %s",
                         i ? "client" : "server", msgsec_error_name(rc),
                         msgsec_session_detail(both[1 - i]));
                return rc;
            }
        }
        for (int i = 0; i < 2; i++) {
            if (msgsec_session_state(both[i]) != MSGSEC_STATE_PENDING)
                continue;
            rc = msgsec_session_wait(both[i], CHECK_WAIT_MS);
            if (rc < 0) {
                snprintf(why, len, "%s look-up: %s: %s",
                         i ? "server" : "client", msgsec_error_name(rc),
                         msgsec_session_detail(both[i]));
                return rc;
            }
            moved = 1;
        }
        if (!moved)
            break;
    }
    for (int i = 0; i < 2; i++) {
        int st = msgsec_session_state(both[i]);
        if (st != MSGSEC_STATE_ESTABLISHED) {
            snprintf(why, len, "%s ended in state %d: %s",
                     i ? "server" : "client", st,
                     msgsec_session_detail(both[i]));
            return MSGSEC_ERR_STATE;
        }
    }
    return 0;
}

/* A fresh, established pair for service, or -1 with why. */
static int handshake(msgsec_core *core, const char *service, pair *p,
                     char *why, size_t len)
{
    msgsec_session_config cc, sc;
    memset(&cc, 0, sizeof(cc));
    memset(&sc, 0, sizeof(sc));
    cc.size = sc.size = sizeof(cc);
    cc.framing = sc.framing = MSGSEC_FRAMING_MESSAGE;
    cc.identity = "check-client";
    cc.peer_name = "check-server";
    sc.identity = "check-server";
    p->client = p->server = NULL;
    int rc = msgsec_session_new(core, service, MSGSEC_ROLE_CLIENT, &cc,
                                &p->client);
    if (rc == 0)
        rc = msgsec_session_new(core, service, MSGSEC_ROLE_SERVER, &sc,
                                &p->server);
    if (rc < 0) {
        snprintf(why, len, "msgsec_session_new: %s: %s",
                 msgsec_error_name(rc), msgsec_last_detail());
        pair_free(p);
        return -1;
    }
    if (pump(p, why, len) < 0) {
        pair_free(p);
        return -1;
    }
    return 0;
}

/* Sends msg from one side and checks the other receives it unchanged. */
static int transfer(msgsec_session *from, msgsec_session *to,
                    const unsigned char *msg, size_t len, unsigned char *buf,
                    size_t cap, char *why, size_t wlen)
{
    int rc = msgsec_session_send(from, msg, len);
    if (rc < 0) {
        snprintf(why, wlen, "send of %zu bytes: %s: %s", len,
                 msgsec_error_name(rc), msgsec_session_detail(from));
        return -1;
    }
    int moved = 0;
    if ((rc = move(from, to, &moved)) < 0) {
        snprintf(why, wlen, "receiving %zu bytes: %s: %s", len,
                 msgsec_error_name(rc), msgsec_session_detail(to));
        return -1;
    }
    size_t got = 0;
    rc = msgsec_session_recv(to, buf, cap, &got);
    if (rc != 0) {
        snprintf(why, wlen, "recv after a %zu-byte message: %s: %s", len,
                 msgsec_error_name(rc), msgsec_session_detail(to));
        return -1;
    }
    if (got != len || (len && memcmp(buf, msg, len) != 0)) {
        snprintf(why, wlen, "a %zu-byte message arrived as %zu different "
                 "bytes", len, got);
        return -1;
    }
    rc = msgsec_session_recv(to, buf, cap, &got);
    if (rc != MSGSEC_CONTINUE) {
        snprintf(why, wlen, "a %zu-byte message was delivered twice (%s)",
                 len, msgsec_error_name(rc));
        return -1;
    }
    return 0;
}

static int check_messages(pair *p, char *why, size_t len)
{
    size_t cap = CHECK_MAX_MESSAGE + 1;
    unsigned char *big = malloc(cap), *buf = malloc(cap);
    int rc = -1;
    if (!big || !buf) {
        snprintf(why, len, "out of memory");
        goto out;
    }
    for (size_t i = 0; i < cap; i++)
        big[i] = (unsigned char)(i * 131u + (i >> 8));
    static const unsigned char hello[] = "hello from the client";
    static const unsigned char reply[] = "and hello from the server";
    if (transfer(p->client, p->server, hello, sizeof(hello), buf, cap, why,
                 len) < 0 ||
        transfer(p->server, p->client, reply, sizeof(reply), buf, cap, why,
                 len) < 0 ||
        transfer(p->client, p->server, hello, 0, buf, cap, why, len) < 0 ||
        transfer(p->server, p->client, hello, 0, buf, cap, why, len) < 0 ||
        transfer(p->client, p->server, big, CHECK_MAX_MESSAGE, buf, cap, why,
                 len) < 0 ||
        transfer(p->server, p->client, big, CHECK_MAX_MESSAGE, buf, cap, why,
                 len) < 0)
        goto out;
    int trc = msgsec_session_send(p->client, big, CHECK_MAX_MESSAGE + 1);
    if (trc != MSGSEC_ERR_MESSAGE_TOO_LARGE) {
        snprintf(why, len, "a message of %u bytes gave %s, expected "
                 "MSGSEC_ERR_MESSAGE_TOO_LARGE",
                 CHECK_MAX_MESSAGE + 1, msgsec_error_name(trc));
        goto out;
    }
    /* The refusal leaves the session usable. */
    if (transfer(p->client, p->server, hello, sizeof(hello), buf, cap, why,
                 len) < 0)
        goto out;
    rc = 0;
out:
    free(big);
    free(buf);
    return rc;
}

/* One protected message, taken off the wire instead of delivered. */
static unsigned char *capture(msgsec_session *from, const char *msg,
                              size_t *n, char *why, size_t len)
{
    int rc = msgsec_session_send(from, msg, strlen(msg));
    if (rc < 0) {
        snprintf(why, len, "send: %s: %s", msgsec_error_name(rc),
                 msgsec_session_detail(from));
        return NULL;
    }
    *n = msgsec_session_pending_output(from);
    unsigned char *rec = *n ? malloc(*n) : NULL;
    if (!rec) {
        snprintf(why, len, "%s", *n ? "out of memory" : "send queued nothing");
        return NULL;
    }
    *n = msgsec_session_pull(from, rec, *n);
    return rec;
}

static int check_integrity(msgsec_core *core, const char *service, char *why,
                           size_t len)
{
    pair p;
    if (handshake(core, service, &p, why, len) < 0)
        return -1;
    size_t n = 0;
    unsigned char *rec = capture(p.client, "integrity matters", &n, why, len);
    int ok = -1;
    if (rec) {
        /* The last byte: an authentication tag in most record formats. */
        rec[n - 1] ^= 0x01;
        int rc = msgsec_session_feed(p.server, rec, n);
        size_t got = 0;
        unsigned char buf[256];
        if (rc == 0)
            rc = msgsec_session_recv(p.server, buf, sizeof(buf), &got);
        if (rc == MSGSEC_ERR_INTEGRITY)
            ok = 0;
        else
            snprintf(why, len, "a record with one bit flipped gave %s%s, "
                     "expected MSGSEC_ERR_INTEGRITY",
                     msgsec_error_name(rc),
                     rc == 0 ? " (the message was delivered)" : "");
        free(rec);
    }
    pair_free(&p);
    return ok;
}

static int check_replay(msgsec_core *core, const char *service, char *why,
                        size_t len)
{
    pair p;
    if (handshake(core, service, &p, why, len) < 0)
        return -1;
    size_t n = 0;
    unsigned char *rec = capture(p.client, "say it once", &n, why, len);
    int ok = -1;
    if (rec) {
        unsigned char buf[256];
        size_t got = 0;
        int rc = msgsec_session_feed(p.server, rec, n);
        if (rc == 0)
            rc = msgsec_session_recv(p.server, buf, sizeof(buf), &got);
        if (rc != 0) {
            snprintf(why, len, "the original record gave %s: %s",
                     msgsec_error_name(rc), msgsec_session_detail(p.server));
        } else {
            rc = msgsec_session_feed(p.server, rec, n);
            if (rc == 0)
                rc = msgsec_session_recv(p.server, buf, sizeof(buf), &got);
            /* Providers with implicit sequence numbers (TLS) see a replay
             * as a record that does not verify: refused either way. */
            if (rc == MSGSEC_ERR_REPLAY || rc == MSGSEC_ERR_INTEGRITY)
                ok = 0;
            else
                snprintf(why, len, "the replayed record gave %s%s, expected "
                         "MSGSEC_ERR_REPLAY",
                         msgsec_error_name(rc),
                         rc == 0 ? " (delivered twice)" : "");
        }
        free(rec);
    }
    pair_free(&p);
    return ok;
}

static int check_export(pair *p, char *why, size_t len)
{
    static const char label[] = "EXPORTER-conformance-check";
    static const char other[] = "EXPORTER-conformance-other";
    unsigned char a[32], b[32], c[32], d[32];
    int rc = msgsec_session_export_key(p->client, label, "ctx", 3, a,
                                       sizeof(a));
    if (rc == 0)
        rc = msgsec_session_export_key(p->server, label, "ctx", 3, b,
                                       sizeof(b));
    if (rc == 0)
        rc = msgsec_session_export_key(p->server, other, "ctx", 3, c,
                                       sizeof(c));
    if (rc == 0)
        rc = msgsec_session_export_key(p->server, label, "CTX", 3, d,
                                       sizeof(d));
    int ok = -1;
    if (rc != 0)
        snprintf(why, len, "export: %s: %s", msgsec_error_name(rc),
                 msgsec_session_detail(p->server));
    else if (CRYPTO_memcmp(a, b, sizeof(a)) != 0)
        snprintf(why, len, "client and server exported different keys");
    else if (CRYPTO_memcmp(b, c, sizeof(b)) == 0)
        snprintf(why, len, "two labels gave the same key");
    else if (CRYPTO_memcmp(b, d, sizeof(b)) == 0)
        snprintf(why, len, "two contexts gave the same key");
    else
        ok = 0;
    OPENSSL_cleanse(a, sizeof(a));
    OPENSSL_cleanse(b, sizeof(b));
    OPENSSL_cleanse(c, sizeof(c));
    OPENSSL_cleanse(d, sizeof(d));
    return ok;
}

static int check_close(pair *p, char *why, size_t len)
{
    int moved = 0, rc = msgsec_session_close(p->client);
    if (rc == 0)
        rc = move(p->client, p->server, &moved);
    if (rc < 0) {
        snprintf(why, len, "client close: %s: %s", msgsec_error_name(rc),
                 msgsec_session_detail(p->client));
        return -1;
    }
    unsigned char buf[16];
    size_t got = 0;
    rc = msgsec_session_recv(p->server, buf, sizeof(buf), &got);
    if (rc != MSGSEC_ERR_CLOSED ||
        msgsec_session_state(p->server) != MSGSEC_STATE_CLOSED) {
        snprintf(why, len, "after the client's close the server's recv gave "
                 "%s in state %d",
                 msgsec_error_name(rc), msgsec_session_state(p->server));
        return -1;
    }
    rc = msgsec_session_close(p->server);
    if (rc == 0)
        rc = move(p->server, p->client, &moved);
    if (rc < 0 || msgsec_session_state(p->client) != MSGSEC_STATE_CLOSED) {
        snprintf(why, len, "server close: %s, client state %d",
                 msgsec_error_name(rc), msgsec_session_state(p->client));
        return -1;
    }
    return 0;
}

/* ----------------------------------------------------------- the checks */

static void caps_text(uint32_t caps, char *buf, size_t len)
{
    buf[0] = '\0';
    for (uint32_t bit = 1; bit; bit <<= 1) {
        if (!(caps & bit))
            continue;
        const char *n = msgsec_cap_name(bit);
        size_t used = strlen(buf);
        snprintf(buf + used, len - used, "%s%s", used ? ", " : "",
                 n ? n : "?");
    }
}

static int descriptor_error(int status)
{
    switch (status) {
    case MSGSEC_ERR_PROVIDER_NOT_FOUND:
    case MSGSEC_ERR_PROVIDER_BAD_MAGIC:
    case MSGSEC_ERR_PROVIDER_ABI:
    case MSGSEC_ERR_PROVIDER_CRITICAL_CAP:
    case MSGSEC_ERR_PROVIDER_BAD_DESCRIPTOR:
    case MSGSEC_ERR_PROVIDER_PIN:
    case MSGSEC_ERR_POLICY_UNSAFE_FILE:
        return 1;
    default:
        return 0;
    }
}

/* Loads the provider in a diagnostics core; 0 with *caps, or -1. */
static int check_load(checker *c, uint32_t *caps)
{
    char detail[1024] = "";
    msgsec_core *core = NULL;
    if (write_policy(c, 1, 0, 0, NULL) < 0)
        return -1;
    int rc = new_core(c, MSGSEC_CORE_INSPECT, &core, detail, sizeof(detail));
    if (rc < 0) {
        result(c, 0, "descriptor loads", "%s: %s", msgsec_error_name(rc),
               detail);
        return -1;
    }
    msgsec_provider_info info;
    memset(&info, 0, sizeof(info));
    int found = 0;
    for (size_t i = 0; i < msgsec_core_provider_count(core) && !found; i++)
        found = msgsec_core_provider_info(core, i, &info) == 0 &&
                strcmp(info.name, c->name) == 0;
    int ok = -1;
    if (!found) {
        result(c, 0, "descriptor loads", "provider %s missing from the core",
               c->name);
    } else if (descriptor_error(info.status)) {
        result(c, 0, "descriptor loads", "%s: %s",
               msgsec_error_name(info.status), info.detail);
    } else if (info.status != 0) {
        /* The core shows nothing of a provider it did not keep. */
        result(c, 1, "descriptor loads", "accepted by the loader");
        result(c, 0, "configuration, init and self_test", "%s: %s",
               msgsec_error_name(info.status), info.detail);
    } else {
        char capbuf[256];
        caps_text(info.caps, capbuf, sizeof(capbuf));
        result(c, 1, "descriptor loads",
               "%s %s (ABI %u.%u) \"%s\"; capabilities: %s", info.name,
               info.version ? info.version : "?", info.abi_major,
               info.abi_minor, info.summary ? info.summary : "", capbuf);
        result(c, 1, "configuration, init and self_test", NULL);
        *caps = info.caps;
        ok = 0;
    }
    msgsec_core_free(core);
    return ok;
}

static void check_mode(checker *c, msgsec_core *core, const char *service,
                       uint32_t caps)
{
    char what[128], why[2048] = "";
    pair p;
    snprintf(what, sizeof(what), "handshake (%s negotiation)", service);
    if (handshake(core, service, &p, why, sizeof(why)) < 0) {
        result(c, 0, what, "%s", why);
        return;
    }
    msgsec_peer cp, sp;
    int rc = msgsec_session_peer(p.client, &cp);
    if (rc == 0)
        rc = msgsec_session_peer(p.server, &sp);
    const char *cprov = msgsec_session_provider(p.client);
    const char *sprov = msgsec_session_provider(p.server);
    if (rc != 0)
        result(c, 0, what, "msgsec_session_peer: %s", msgsec_error_name(rc));
    else if (!cprov || !sprov || strcmp(cprov, c->name) != 0 ||
             strcmp(sprov, c->name) != 0)
        result(c, 0, what, "sessions use %s and %s, not %s",
               cprov ? cprov : "(none)", sprov ? sprov : "(none)", c->name);
    else if (!sp.scheme || !sp.identity || !cp.scheme || !cp.identity)
        result(c, 0, what, "result() left the scheme or identity unset");
    else
        result(c, 1, what, "server sees %s identity \"%s\"; client sees \"%s\"",
               sp.scheme, sp.identity, cp.identity);

    snprintf(what, sizeof(what), "messages both ways (%s)", service);
    if (check_messages(&p, why, sizeof(why)) < 0)
        result(c, 0, what, "%s", why);
    else
        result(c, 1, what, "empty, small and %u-byte messages; %u refused",
               CHECK_MAX_MESSAGE, CHECK_MAX_MESSAGE + 1);

    snprintf(what, sizeof(what), "key export (%s)", service);
    if (caps & MSGSEC_CAP_KEY_EXPORT) {
        if (check_export(&p, why, sizeof(why)) < 0)
            result(c, 0, what, "%s", why);
        else
            result(c, 1, what, "both sides agree; label and context matter");
    }

    snprintf(what, sizeof(what), "orderly close (%s)", service);
    if (check_close(&p, why, sizeof(why)) < 0)
        result(c, 0, what, "%s", why);
    else
        result(c, 1, what, NULL);
    pair_free(&p);

    snprintf(what, sizeof(what), "tampered record refused (%s)", service);
    if (caps & MSGSEC_CAP_INTEGRITY) {
        if (check_integrity(core, service, why, sizeof(why)) < 0)
            result(c, 0, what, "%s", why);
        else
            result(c, 1, what, "MSGSEC_ERR_INTEGRITY");
    }
    snprintf(what, sizeof(what), "replayed record refused (%s)", service);
    if (caps & MSGSEC_CAP_REPLAY_DETECTION) {
        if (check_replay(core, service, why, sizeof(why)) < 0)
            result(c, 0, what, "%s", why);
        else
            result(c, 1, what, NULL);
    }
}

/* Runs one check for the server side of p to its outcome. */
static int authorize(pair *p, const char *ue_id, char *why, size_t len)
{
    msgsec_authz *a = NULL;
    int rc = msgsec_session_authorize(p->server, ue_id, NULL, &a);
    if (rc == MSGSEC_PENDING) {
        rc = msgsec_authz_wait(a, CHECK_WAIT_MS);
        if (rc == MSGSEC_ERR_TIMEOUT && msgsec_authz_status(a) ==
                                            MSGSEC_PENDING)
            snprintf(why, len, "no answer within %d ms", CHECK_WAIT_MS);
    }
    if (rc < 0 && !why[0])
        snprintf(why, len, "%s", a ? msgsec_authz_detail(a)
                                   : msgsec_last_detail());
    msgsec_authz_free(a);
    return rc;
}

/* The outcomes authorize() may have for a UE service ID it cannot grant:
 * refused, or the source could not answer. */
static int refusal(int rc)
{
    return rc == MSGSEC_ERR_NOT_AUTHORIZED || rc == MSGSEC_ERR_LOOKUP_FAILED ||
           rc == MSGSEC_ERR_TIMEOUT || rc == MSGSEC_ERR_TOKEN_REJECTED ||
           rc == MSGSEC_ERR_BAD_FRAME;
}

/* Provider ABI 1.2: a service whose `authorize` names the provider. */
static void check_authorize(checker *c, const char *mode)
{
    static const char unknown[] = "msgsec-provider-check.invalid";
    char detail[1024] = "", why[2048] = "";
    msgsec_core *core = NULL;
    if (write_policy(c, 0, 0, 0, mode) < 0)
        return;
    int rc = new_core(c, MSGSEC_CORE_INSPECT, &core, detail, sizeof(detail));
    if (rc == 0 && msgsec_core_status(core) == MSGSEC_ERR_POLICY_BAD_VALUE &&
        strstr(msgsec_core_detail(core), "does not implement authorize")) {
        skip("authorization", "no authorize operation (provider ABI 1.2)");
        msgsec_core_free(core);
        return;
    }
    if (rc < 0 || msgsec_core_status(core) != 0) {
        result(c, 0, "core with an authorize service", "%s: %s",
               msgsec_error_name(rc < 0 ? rc : msgsec_core_status(core)),
               rc < 0 ? detail : msgsec_core_detail(core));
        msgsec_core_free(core);
        return;
    }
    pair p;
    if (handshake(core, "authz", &p, why, sizeof(why)) < 0) {
        result(c, 0, "handshake (authorize service)", "%s", why);
        msgsec_core_free(core);
        return;
    }
    rc = authorize(&p, unknown, why, sizeof(why));
    if (rc == 0)
        result(c, 0, "authorization refuses an unknown UE service ID",
               "\"%s\" was authorized", unknown);
    else if (!refusal(rc))
        result(c, 0, "authorization refuses an unknown UE service ID",
               "%s (expected NOT_AUTHORIZED or a source error): %s",
               msgsec_error_name(rc), why);
    else
        result(c, 1, "authorization refuses an unknown UE service ID",
               "%s", msgsec_error_name(rc));

    if (c->ue_id) {
        why[0] = '\0';
        rc = authorize(&p, c->ue_id, why, sizeof(why));
        if (rc == 0)
            result(c, 1, "authorization of the client's UE service ID",
                   "\"%s\"", c->ue_id);
        else
            result(c, 0, "authorization of the client's UE service ID",
                   "%s: %s", msgsec_error_name(rc), why);
    } else {
        skip("authorization of the client's UE service ID",
             "no --authorize given");
    }

    /* A check freed at once: the provider must cancel its look-up, and no
     * wake may reach the core afterwards. */
    msgsec_authz *a = NULL;
    rc = msgsec_session_authorize(p.server, unknown, NULL, &a);
    msgsec_authz_free(a);
    int woken = msgsec_core_dispatch(core, NULL, NULL);
    if (woken != 0)
        result(c, 0, "authorization check freed at once",
               "%d wake(s) after the check was freed", woken);
    else
        result(c, 1, "authorization check freed at once",
               rc == MSGSEC_PENDING ? "while pending" : "answered at once");
    pair_free(&p);
    msgsec_core_free(core);
}

static void run(checker *c)
{
    uint32_t caps = 0;
    if (check_load(c, &caps) < 0)
        return;
    if ((caps & (MSGSEC_CAP_CLIENT | MSGSEC_CAP_SERVER)) !=
        (MSGSEC_CAP_CLIENT | MSGSEC_CAP_SERVER)) {
        skip("sessions", "an in-memory pair needs both the client and the "
                         "server role");
        return;
    }
    int implicit = (caps & MSGSEC_CAP_IMPLICIT) != 0;
    /* Explicit negotiation is confirmed with an exported key; only an
     * insecure provider may go without. */
    int explicit_ok = (caps & (MSGSEC_CAP_KEY_EXPORT | MSGSEC_CAP_INSECURE)) != 0;
    if (!explicit_ok && !implicit) {
        result(c, 0, "usable in some negotiation mode",
               "explicit mode needs key-export, implicit mode needs "
               "implicit (and claim())");
        return;
    }
    char detail[1024] = "";
    msgsec_core *core = NULL;
    if (write_policy(c, (caps & MSGSEC_CAP_INSECURE) != 0, explicit_ok,
                     implicit, NULL) < 0)
        return;
    int rc = new_core(c, 0, &core, detail, sizeof(detail));
    if (rc < 0) {
        result(c, 0, "core with session services", "%s: %s",
               msgsec_error_name(rc), detail);
        return;
    }
    if (explicit_ok)
        check_mode(c, core, "explicit", caps);
    else
        skip("explicit negotiation", "no key-export capability");
    if (implicit)
        check_mode(c, core, "implicit", caps);
    else
        skip("implicit negotiation", "no implicit capability");
    if (!(caps & MSGSEC_CAP_INTEGRITY))
        skip("tampered record", "no integrity capability");
    if (!(caps & MSGSEC_CAP_REPLAY_DETECTION))
        skip("replayed record", "no replay-detection capability");
    msgsec_core_free(core);
    check_authorize(c, implicit ? "implicit" : "explicit");
}

/* ---------------------------------------------------------------- main */

static void usage(FILE *f)
{
    fprintf(f,
            "usage: msgsec-provider-check [--config key=value]... "
            "[--name NAME] [--authorize UE-SERVICE-ID] [--verbose] "
            "MODULE.so\n"
            "\n"
            "Loads a msgsec provider module through the msgsec loader and "
            "checks that it\nkeeps the provider contract: descriptor, "
            "init and self_test, handshakes\nbetween an in-memory client "
            "and server, messages, and the protections its\ncapabilities "
            "promise, and authorization when it has authorize().\n"
            "\n"
            "  --config key=value  a key of the provider's policy section "
            "(repeatable)\n"
            "  --name NAME         the provider's name (default: the module "
            "file's name)\n"
            "  --authorize ID      a UE service ID the provider's "
            "configuration associates\n"
            "                      with the kit's client (\"check-client\"): "
            "checked to be\n"
            "                      authorized (providers with authorize)\n"
            "  --verbose           show the core's log\n"
            "  --help, --version\n"
            "\n"
            "Exit status: 0 every applicable check passed, 1 a check "
            "failed, 2 usage.\n");
}

static int valid_key(const char *s, size_t n)
{
    if (n == 0)
        return 0;
    for (size_t i = 0; i < n; i++)
        if (!((s[i] >= 'a' && s[i] <= 'z') || (s[i] >= '0' && s[i] <= '9') ||
              s[i] == '_' || s[i] == '-'))
            return 0;
    return 1;
}

int main(int argc, char **argv)
{
    checker c;
    memset(&c, 0, sizeof(c));
    const char *module = NULL;
    static char name[256];
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        if (strcmp(a, "--help") == 0 || strcmp(a, "-h") == 0) {
            usage(stdout);
            return 0;
        } else if (strcmp(a, "--version") == 0) {
            printf("msgsec-provider-check (msgsec) %s\n",
                   msgsec_version_string());
            return 0;
        } else if (strcmp(a, "--verbose") == 0 || strcmp(a, "-v") == 0) {
            c.verbose = 1;
        } else if (strcmp(a, "--authorize") == 0 && i + 1 < argc) {
            c.ue_id = argv[++i];
        } else if ((strcmp(a, "--config") == 0 || strcmp(a, "--name") == 0) &&
                   i + 1 < argc) {
            const char *v = argv[++i];
            if (a[2] == 'n') {
                c.name = v;
                continue;
            }
            const char *eq = strchr(v, '=');
            if (!eq || !valid_key(v, (size_t)(eq - v)) ||
                strpbrk(eq + 1, "\r\n") || c.nconfig == MAX_CONFIG) {
                fprintf(stderr, "msgsec-provider-check: --config %s: expected "
                        "key=value, key of [a-z0-9_-], one line\n", v);
                return 2;
            }
            if (strncmp(v, "support=", 8) == 0 ||
                strncmp(v, "module=", 7) == 0) {
                fprintf(stderr, "msgsec-provider-check: --config %s: set by "
                        "the kit itself\n", v);
                return 2;
            }
            c.config[c.nconfig++] = v;
        } else if (a[0] == '-' || module) {
            usage(stderr);
            return 2;
        } else {
            module = a;
        }
    }
    if (!module) {
        usage(stderr);
        return 2;
    }
    static char path[PATH_MAX];
    if (!realpath(module, path)) {
        fprintf(stderr, "msgsec-provider-check: %s: %s\n", module,
                strerror(errno));
        return 2;
    }
    c.module = path;
    if (!c.name) {
        const char *base = strrchr(path, '/') + 1;
        size_t n = strcspn(base, ".");
        snprintf(name, sizeof(name), "%.*s", (int)n, base);
        c.name = name;
    }
    if (!valid_key(c.name, strlen(c.name))) {
        fprintf(stderr, "msgsec-provider-check: provider name \"%s\": use "
                "--name with [a-z0-9-]\n", c.name);
        return 2;
    }

    const char *tmp = getenv("TMPDIR");
    snprintf(c.dir, sizeof(c.dir), "%s/msgsec-check-XXXXXX",
             tmp && tmp[0] == '/' ? tmp : "/tmp");
    if (!mkdtemp(c.dir)) {
        fprintf(stderr, "msgsec-provider-check: %s: %s\n", c.dir,
                strerror(errno));
        return 2;
    }
    snprintf(c.policy, sizeof(c.policy), "%s/check.conf", c.dir);

    printf("msgsec-provider-check %s: %s as provider \"%s\"\n",
           msgsec_version_string(), c.module, c.name);
    run(&c);
    cleanup(&c);
    printf("%d passed, %d failed\n", c.passed, c.failed);
    return c.failed == 0 && c.passed > 0 ? 0 : 1;
}
