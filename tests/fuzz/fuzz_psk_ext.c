/*
 * fuzz_psk_ext.c - libFuzzer target for the TLS-PSK parsers of the SDK:
 * OfferedPsks (pre_shared_key), psk_key_exchange_modes and the ClientHello
 * reader used by providers' claim(). Any bytes give a result consistent
 * with the input or a clean refusal; never a crash, a read past the input
 * or a leak.
 *
 * The whole input goes to each parser; the ClientHello reader also gets
 * every prefix length that byte 0 selects, which must never give a verdict
 * that the full input contradicts ("need more" for a prefix of a hello
 * that parses).
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <msgsec/tlspsk.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void offered(const uint8_t *data, size_t size)
{
    msgsec_tlspsk_identity ids[4];
    size_t n = 99;
    int rc = msgsec_tlspsk_parse_offered_psks(data, size, ids, 4, &n);
    if (rc == 0) {
        /* Each stored identity lies inside the input, in order, and the
         * smallest OfferedPsks is 2 + 7 + 2 + 33 bytes. */
        if (n == 0 || size < 44)
            abort();
        const uint8_t *prev = data;
        for (size_t i = 0; i < n && i < 4; i++) {
            if (ids[i].len == 0 || ids[i].p < prev ||
                ids[i].p + ids[i].len > data + size)
                abort();
            prev = ids[i].p + ids[i].len;
        }
    } else if (rc != MSGSEC_ERR_BAD_FRAME || n != 0) {
        abort();
    }
}

static void modes(const uint8_t *data, size_t size)
{
    unsigned m = 99;
    int rc = msgsec_tlspsk_parse_kex_modes(data, size, &m);
    if (rc == 0 ? (m & ~3u) != 0 || size < 2 || data[0] != size - 1
                : rc != MSGSEC_ERR_BAD_FRAME || m != 0)
        abort();
}

static int hello(const uint8_t *data, size_t size, msgsec_tlspsk_hello *h)
{
    int rc = msgsec_tlspsk_client_hello(data, size, h);
    if (rc == 0) {
        if (h->n_stored > h->n_identities ||
            h->n_stored > MSGSEC_TLSPSK_HELLO_IDS ||
            (h->n_identities > 0 && !h->has_psk) ||
            memchr(h->server_name, 0, sizeof(h->server_name)) == NULL)
            abort();
        size_t used = 0;
        for (size_t i = 0; i < h->n_stored; i++) {
            if (h->identities[i].p != h->buf + used ||
                h->identities[i].len == 0)
                abort();
            used += h->identities[i].len;
        }
        if (used > sizeof(h->buf))
            abort();
    } else if (rc != MSGSEC_CONTINUE && rc != MSGSEC_ERR_BAD_FRAME &&
               rc != MSGSEC_ERR_NOMEM) {
        abort();
    }
    return rc;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    offered(data, size);
    modes(data, size);
    static msgsec_tlspsk_hello h;
    int full = hello(data, size, &h);
    if (size > 1) {
        /* A prefix of a hello that parses can only ask for more. */
        size_t cut = (size_t)data[0] * size / 256;
        int part = hello(data, cut, &h);
        if (full == 0 && part != 0 && part != MSGSEC_CONTINUE)
            abort();
    }
    return 0;
}
