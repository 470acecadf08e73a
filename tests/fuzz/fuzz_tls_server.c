/*
 * fuzz_tls_server.c - libFuzzer target: arbitrary bytes fed to a server
 * connection of the TLS-PSK engine, as a client would send them.
 *
 * Byte 0 chooses the context (bit 0: TLS 1.2 enabled; bit 1: psk_ke
 * allowed and preferred) and the look-up's
 * behaviour (bit 2: pending for one round; bit 3: a look-up failure);
 * byte 1 the feed chunk size (0: all at once). The server knows the
 * identity "fuzz-id". Whatever the input: the engine consumes no more than
 * it was given, fails cleanly (the connection then refuses further input),
 * and neither crashes nor leaks; a connection freed in any state releases
 * everything.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <msgsec/tlspsk.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static const uint8_t KEY[32] = {0,  1,  2,  3,  4,  5,  6,  7,  8,  9,  10,
                                11, 12, 13, 14, 15, 16, 17, 18, 19, 20, 21,
                                22, 23, 24, 25, 26, 27, 28, 29, 30, 31};

typedef struct fz {
    int hold, fail;
    size_t written;
} fz;

static int fz_write(void *arg, const void *p, size_t n)
{
    fz *f = arg;
    (void)p;
    f->written += n;
    return 0;
}

static int fz_lookup(void *arg, const uint8_t *id, size_t n, uint8_t *key,
                     size_t *key_len)
{
    fz *f = arg;
    if (f->hold) {
        f->hold = 0;
        return MSGSEC_PENDING;
    }
    if (f->fail)
        return MSGSEC_ERR_LOOKUP_FAILED;
    if (n != 7 || memcmp(id, "fuzz-id", 7) != 0)
        return MSGSEC_ERR_AUTH_FAILED;
    memcpy(key, KEY, sizeof(KEY));
    *key_len = sizeof(KEY);
    return 0;
}

static msgsec_tlspsk_ctx *ctx_for(unsigned sel)
{
    /* Contexts live for the whole run, as in a provider. */
    static msgsec_tlspsk_ctx *ctx[4];
    if (!ctx[sel]) {
        msgsec_tlspsk_config cfg = {
            .size = sizeof(cfg),
            .kex = (sel & 2) ? MSGSEC_TLSPSK_KEX_PREFER_KE
                             : MSGSEC_TLSPSK_KEX_DHE,
            .min_version = (sel & 1) ? MSGSEC_TLSPSK_TLS1_2 : 0,
            .max_version = MSGSEC_TLSPSK_TLS1_3,
            .hint = "3GPP-AKMA",
            .lookup = fz_lookup};
        if (msgsec_tlspsk_ctx_new(&cfg, &ctx[sel], NULL, 0) != 0)
            abort();
    }
    return ctx[sel];
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < 2)
        return 0;
    unsigned sel = data[0] & 3;
    fz f = {.hold = !!(data[0] & 4), .fail = !!(data[0] & 8)};
    size_t chunk = data[1] ? data[1] : size;
    data += 2;
    size -= 2;
    msgsec_tlspsk_conn_config cc = {.size = sizeof(cc),
                                    .role = MSGSEC_ROLE_SERVER,
                                    .arg = &f,
                                    .write = fz_write};
    msgsec_tlspsk_conn *c = NULL;
    if (msgsec_tlspsk_conn_new(ctx_for(sel), &cc, &c) != 0)
        abort();
    /* The stream arrives chunk by chunk; unconsumed bytes are offered
     * again with the next chunk, as the core does. */
    size_t pos = 0, avail = 0;
    int rc = MSGSEC_CONTINUE, done = 0;
    for (size_t round = 0; rc >= 0 && pos < size && round <= size + 2;
         round++) {
        avail = avail + chunk < size - pos ? avail + chunk : size - pos;
        size_t used = 0;
        if (!done) {
            rc = msgsec_tlspsk_step(c, data + pos, avail, &used);
            if (rc == MSGSEC_PENDING)
                rc = msgsec_tlspsk_step(c, NULL, 0, &used);
            if (rc == MSGSEC_OK)
                done = 1;
        } else {
            uint8_t out[MSGSEC_TLSPSK_MAX_PLAINTEXT];
            size_t n = 0;
            unsigned fl = 0;
            rc = msgsec_tlspsk_unwrap(c, data + pos, avail, &used, out,
                                      sizeof(out), &n, &fl);
            if (rc == 0 && fl)
                break;
        }
        if (used > avail)
            abort();
        pos += used;
        avail -= used;
        if (rc == MSGSEC_CONTINUE && used == 0 && pos + avail >= size)
            break;
    }
    if (rc < 0) {
        /* Failed: no further input is taken. */
        size_t used = 1;
        if (msgsec_tlspsk_step(c, data, size, &used) != MSGSEC_ERR_STATE ||
            used != 0)
            abort();
        if (msgsec_tlspsk_detail(c)[0] == '\0')
            abort();
    }
    msgsec_tlspsk_conn_free(c);
    return 0;
}
