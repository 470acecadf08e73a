/*
 * bench_session.c - the whole msgsec stack against raw OpenSSL, in one
 * process.
 *
 * Two msgsec cores, as a UE and a server would have: the client sessions
 * on one (the UE's policy: identity and key), the server sessions on the
 * other (the server's policy: its PSK table). Implicit negotiation with
 * the tlstest provider module, a provider on the SDK's TLS-PSK engine
 * through <msgsec/tlsprov.h>, so every layer an integrator goes through
 * is measured: policy service look-up, provider selection and claim,
 * session buffers, the provider ABI, the SDK, OpenSSL.
 *
 * Handshakes per second: msgsec_session_new() for both sides, bytes moved
 * with msgsec_session_pull()/feed() until both are ESTABLISHED, both
 * freed; TLS 1.3 external PSK with psk_dhe_ke (X25519) and with psk_ke
 * (tlstest's kex key). Raw: two SSL objects on a BIO pair with the
 * engine's settings (benchutil.c), handshaken and freed.
 *
 * Message path: one message client to server through
 * msgsec_session_send(), pull(), feed() and recv(), at 64 B, 1 KiB and
 * 16 KiB, against SSL_write + SSL_read on a BIO pair. With stream
 * framing (the plaintext as a byte stream, as SSL_write sends it) against
 * raw SSL_write of the message; with message framing (msgsec's default: a
 * 4-byte length before each message, so a 16 KiB message takes two TLS
 * records) against raw SSL_write of the same length and message (one
 * write of both, the cheapest way to frame messages on raw TLS), and
 * against raw SSL_write of the bare message for information.
 *
 * Methods run in interleaved time slices and each keeps its best slice.
 *
 * Usage: bench_session [SECONDS_PER_SLICE [ROUNDS]]   (defaults 0.2 and 5)
 * The provider module comes from $MSGSEC_BENCH_PROVIDER_DIR, else from
 * the build tree's tests/providers.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/crypto.h>

#include "benchsess.h"

#define TARGET_HANDSHAKE 0.9
#define TARGET_MESSAGE 0.9

static msgsec_core *core_new(const char *provider_dir, const char *role_keys,
                             const char *kex)
{
    char policy[1024];
    snprintf(policy, sizeof(policy),
             "[core]\nprovider_dir = %s\n"
             "[provider.tlstest]\n%skex = %s\n"
             "[service." MSGSEC_BENCH_SERVICE "]\nuse = tlstest\n"
             "negotiation = implicit\n",
             provider_dir, role_keys, kex);
    return msgsec_bench_core_new(policy);
}

typedef struct msg_arg {
    msgsec_session *c, *s;
    const uint8_t *msg;
    size_t len;
    uint8_t *out;
} msg_arg;

static void op_message(void *arg)
{
    msg_arg *a = arg;
    size_t got = 0;
    if (msgsec_session_send(a->c, a->msg, a->len) != 0 ||
        !msgsec_bench_move(a->c, a->s) ||
        msgsec_session_recv(a->s, a->out, 16384, &got) != 0 ||
        got != a->len)
        msgsec_bench_die("msgsec message");
}

/* Raw TLS carrying a message as msgsec's message framing does. */
typedef struct framed_arg {
    msgsec_bench_rpair *r;
    const uint8_t *msg;
    size_t len;
    uint8_t *buf, *out; /* 4 + 16 KiB each */
} framed_arg;

static void op_raw_framed(void *arg)
{
    framed_arg *a = arg;
    size_t w = 0, got = 0, n = 0;
    a->buf[0] = (uint8_t)(a->len >> 24);
    a->buf[1] = (uint8_t)(a->len >> 16);
    a->buf[2] = (uint8_t)(a->len >> 8);
    a->buf[3] = (uint8_t)a->len;
    memcpy(a->buf + 4, a->msg, a->len);
    if (SSL_write_ex(a->r->c, a->buf, a->len + 4, &w) != 1)
        msgsec_bench_die("raw framed message");
    while (got < a->len + 4) {
        if (SSL_read_ex(a->r->s, a->out + got, a->len + 4 - got, &n) != 1)
            msgsec_bench_die("raw framed message");
        got += n;
    }
}

int main(int argc, char **argv)
{
    double seconds;
    int rounds;
    msgsec_bench_set_name("bench_session");
    msgsec_bench_args(argc, argv, &seconds, &rounds);
    const char *dir = getenv("MSGSEC_BENCH_PROVIDER_DIR");
    if (!dir || !dir[0])
        dir = MSGSEC_BENCH_PROVIDER_DIR;

    int ok = 1;
    printf("msgsec sessions (client and server core, implicit negotiation, "
           "tlstest provider)\nvs raw OpenSSL %s (best of %d slices of "
           "%.2f s)\n",
           OpenSSL_version(OPENSSL_VERSION_STRING), rounds, seconds);

    static const struct {
        const char *name, *ckex, *skex;
        int psk_ke;
    } modes[] = {
        {"psk_dhe_ke (X25519)", "dhe", "dhe", 0},
        {"psk_ke", "allow-ke", "prefer-ke", 1},
    };
    const char *ckeys = "identity = " MSGSEC_BENCH_ID "\n"
                        "key = " MSGSEC_BENCH_KEY_HEX "\n";
    const char *skeys = "psk_table = " MSGSEC_BENCH_ID ":" MSGSEC_BENCH_KEY_HEX
                        "\n";
    printf("\nhandshakes per second (TLS 1.3, client + server, new "
           "sessions)\n");
    printf("  %-22s %12s %12s %8s\n", "mode", "msgsec", "raw", "ratio");
    for (size_t i = 0; i < sizeof(modes) / sizeof(modes[0]); i++) {
        msgsec_bench_cores x = {
            .client = core_new(dir, ckeys, modes[i].ckex),
            .server = core_new(dir, skeys, modes[i].skex)};
        msgsec_bench_raw raw;
        msgsec_bench_raw_init(&raw, modes[i].psk_ke, 1);
        msgsec_bench_check_kex(&x, MSGSEC_BENCH_ID, &raw, !modes[i].psk_ke);
        ok &= msgsec_bench_handshake_row(modes[i].name,
                                         msgsec_bench_op_handshake, &x, &raw,
                                         seconds, rounds, TARGET_HANDSHAKE);
        msgsec_bench_raw_free(&raw);
        msgsec_core_free(x.client);
        msgsec_core_free(x.server);
    }

    static const size_t sizes[] = {64, 1024, 16384};
    msgsec_bench_cores x = {.client = core_new(dir, ckeys, "dhe"),
                            .server = core_new(dir, skeys, "dhe")};
    msgsec_bench_raw raw;
    msgsec_bench_raw_init(&raw, 0, 1);
    msgsec_bench_rpair r;
    msgsec_bench_raw_handshake(&raw, &r);
    msgsec_session *mc, *msv, *sc, *ssv;
    x.framing = MSGSEC_FRAMING_MESSAGE;
    msgsec_bench_handshake(&x, &mc, &msv);
    x.framing = MSGSEC_FRAMING_STREAM;
    msgsec_bench_handshake(&x, &sc, &ssv);
    uint8_t *msg = calloc(1, 16384), *out = malloc(16384 + 4),
            *buf = malloc(16384 + 4);
    if (!msg || !out || !buf)
        msgsec_bench_die("no memory");
    printf("\nsend + recv, one message client to server (TLS 1.3 "
           "AES-128-GCM), MB/s of messages\n");
    printf("  %-6s %9s %9s %7s   %9s %9s %7s %9s\n", "", "stream", "raw",
           "ratio", "message", "raw", "ratio", "vs bare");
    for (size_t i = 0; i < sizeof(sizes) / sizeof(sizes[0]); i++) {
        size_t len = sizes[i];
        msg_arg st = {.c = sc, .s = ssv, .msg = msg, .len = len, .out = out};
        msg_arg m = {.c = mc, .s = msv, .msg = msg, .len = len, .out = out};
        msgsec_bench_rmsg rm = {.r = &r, .msg = msg, .len = len, .out = out};
        framed_arg rf = {.r = &r, .msg = msg, .len = len, .buf = buf,
                         .out = out};
        msgsec_bench_method ms[4] = {
            {"msgsec stream", op_message, &st, 0},
            {"raw", msgsec_bench_raw_op_message, &rm, 0},
            {"msgsec message", op_message, &m, 0},
            {"raw framed", op_raw_framed, &rf, 0}};
        msgsec_bench_measure(ms, 4, seconds, rounds);
        double mb = (double)len / 1e6;
        double stream = ms[0].best / ms[1].best;
        double message = ms[2].best / ms[3].best;
        double worse = stream < message ? stream : message;
        ok &= worse >= TARGET_MESSAGE;
        printf("  %-6zu %9.1f %9.1f %7.3f   %9.1f %9.1f %7.3f %9.3f%s\n",
               len, ms[0].best * mb, ms[1].best * mb, stream, ms[2].best * mb,
               ms[3].best * mb, message, ms[2].best / ms[1].best,
               msgsec_bench_verdict(worse, TARGET_MESSAGE));
    }
    printf("  stream: msgsec stream framing against SSL_write of the message;"
           "\n  message: msgsec message framing (4-byte length + message) "
           "against SSL_write\n  of the same bytes; vs bare: message framing "
           "against SSL_write of the message\n");
    free(msg);
    free(out);
    free(buf);
    msgsec_session_free(mc);
    msgsec_session_free(msv);
    msgsec_session_free(sc);
    msgsec_session_free(ssv);
    msgsec_bench_raw_close(&r);
    msgsec_bench_raw_free(&raw);
    msgsec_core_free(x.client);
    msgsec_core_free(x.server);
    printf("\ntargets: handshakes >= %.2f, message path >= %.2f of raw: %s\n",
           TARGET_HANDSHAKE, TARGET_MESSAGE, ok ? "met" : "NOT met");
    return 0;
}
