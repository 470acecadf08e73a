/*
 * bench_seal.c - SEAL TLS-PSK handshakes through the whole msgsec stack
 * against raw OpenSSL, in one process.
 *
 * Two msgsec cores, a UE's and a server's, each loading the seal-tlspsk
 * provider module; implicit negotiation (the provider claims the
 * ClientHello by its SEAL-form PSK identity). A handshake: both sessions
 * created with msgsec_session_new(), bytes moved with pull()/feed() until
 * both are ESTABLISHED, both freed. TLS 1.3 external PSK, psk_dhe_ke
 * (X25519), the engine's suites, as the provider's defaults are.
 *
 * Keys come from the provider's local sources, so that no key-management
 * round trip is measured:
 *   derive    both sides derive the PSK from K_MSG (TS 33.220 KDF): the UE
 *             from its VAL user, the server from the presented identity;
 *   psk_file  both sides read the PSK from a file of identity:hexkey
 *             lines (the server's look-up is in memory).
 * (K_MSG and the psk_file are written to private temporary files, removed
 * at the end.)
 * Raw: two SSL objects on a BIO pair with the same settings and suites
 * (benchutil.c), the PSK handed over by the find/use-session callbacks,
 * handshaken and freed.
 *
 * Methods run in interleaved time slices and each keeps its best slice.
 * Timings are printed, never asserted.
 *
 * Usage: bench_seal [SECONDS_PER_SLICE [ROUNDS]]   (defaults 0.2 and 5)
 * The module comes from $MSGSEC_BENCH_SEAL_DIR, else from the build
 * tree's plugins/seal-tlspsk.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <openssl/crypto.h>

#include "benchsess.h"

#define TARGET_HANDSHAKE 0.9

/* The UE's SEAL user, and its identity in the psk_file. */
#define USER "bench"
#define FILE_ID "3GPP-SEAL:" USER "#1"
/* K_MSG of the derive source (not a key of any deployment). */
#define K_MSG "6b6d73672062656e63686d61726b206b6579206f66206d7367736563203030"  \
              "31"

static msgsec_core *core_new(const char *dir, const char *keys)
{
    char policy[2048];
    snprintf(policy, sizeof(policy),
             "[core]\nprovider_dir = %s\n"
             "[provider.seal-tlspsk]\nsupport = mandatory\n%s"
             "[service." MSGSEC_BENCH_SERVICE "]\nuse = seal-tlspsk\n"
             "negotiation = implicit\n",
             dir, keys);
    return msgsec_bench_core_new(policy);
}

/* The key files, removed however the program ends (die() exits). */
static char pskf[512], kmsg[512];

static void remove_key_files(void)
{
    if (pskf[0])
        unlink(pskf);
    if (kmsg[0])
        unlink(kmsg);
}

/* A private file (mode 0600) holding text; its path in path. */
static void write_private(char *path, size_t len, const char *text)
{
    const char *t = getenv("TMPDIR");
    snprintf(path, len, "%s/msgsec-bench-seal.XXXXXX",
             t && t[0] ? t : "/tmp");
    mode_t old = umask(077);
    int fd = mkstemp(path);
    umask(old);
    if (fd < 0) {
        path[0] = '\0';
        msgsec_bench_die("cannot create a key file");
    }
    size_t n = strlen(text);
    ssize_t w = write(fd, text, n);
    close(fd);
    if (w != (ssize_t)n)
        msgsec_bench_die("cannot write a key file");
}

int main(int argc, char **argv)
{
    double seconds;
    int rounds;
    msgsec_bench_set_name("bench_seal");
    msgsec_bench_args(argc, argv, &seconds, &rounds);
    const char *dir = getenv("MSGSEC_BENCH_SEAL_DIR");
    if (!dir || !dir[0])
        dir = MSGSEC_BENCH_SEAL_DIR;

    /* Secrets in a policy given as a string are refused: key files. */
    atexit(remove_key_files);
    write_private(pskf, sizeof(pskf), FILE_ID ":" MSGSEC_BENCH_KEY_HEX "\n");
    write_private(kmsg, sizeof(kmsg), K_MSG "\n");
    char fkeys[1024], fukeys[1200], dkeys[1024], dukeys[1200];
    snprintf(fkeys, sizeof(fkeys), "psk_file = %s\n", pskf);
    snprintf(fukeys, sizeof(fukeys), "%sval_user_id = " USER "\nkey_id = 1\n",
             fkeys);
    snprintf(dkeys, sizeof(dkeys), "msg_key_file = %s\n", kmsg);
    snprintf(dukeys, sizeof(dukeys), "%sval_user_id = " USER "\n", dkeys);
    const struct {
        const char *name, *ckeys, *skeys;
    } sources[] = {
        {"derive (K_MSG)", dukeys, dkeys},
        {"psk_file", fukeys, fkeys},
    };

    printf("SEAL TLS-PSK: msgsec sessions (client and server core, implicit "
           "negotiation,\nseal-tlspsk provider, keys from local sources: no "
           "key management measured)\nvs raw OpenSSL %s (best of %d slices "
           "of %.2f s)\n",
           OpenSSL_version(OPENSSL_VERSION_STRING), rounds, seconds);
    printf("\nhandshakes per second (TLS 1.3 psk_dhe_ke X25519, "
           "TLS_AES_128_GCM_SHA256,\nclient + server, new sessions)\n");
    printf("  %-22s %12s %12s %8s\n", "key source", "msgsec", "raw", "ratio");

    int ok = 1;
    msgsec_bench_raw raw;
    msgsec_bench_raw_init(&raw, 0, 1);
    for (size_t i = 0; i < sizeof(sources) / sizeof(sources[0]); i++) {
        msgsec_bench_cores x = {.client = core_new(dir, sources[i].ckeys),
                                .server = core_new(dir, sources[i].skeys)};
        msgsec_bench_check_kex(&x, USER, &raw, 1);
        ok &= msgsec_bench_handshake_row(sources[i].name,
                                         msgsec_bench_op_handshake, &x, &raw,
                                         seconds, rounds, TARGET_HANDSHAKE);
        msgsec_core_free(x.client);
        msgsec_core_free(x.server);
    }
    msgsec_bench_raw_free(&raw);
    printf("\ntarget: handshakes >= %.2f of raw: %s\n", TARGET_HANDSHAKE,
           ok ? "met" : "NOT met");
    return 0;
}
