/*
 * fuzz_keyinfo.c - libFuzzer target for the keyInfo decoder of the SEAL
 * codec: any bytes give either a key that encodes again to a text that
 * decodes to the same key, or MSGSEC_ERR_BAD_FRAME with a fault and a
 * zeroed output; never a crash, a read past the input or a leak.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <msgsec/seal.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    msgsec_seal_psk k, back;
    msgsec_aanf_fault f;
    int rc = msgsec_seal_keyinfo_decode((const char *)data, size, &k, &f);
    if (rc != 0) {
        /* Nothing of a refused key stays behind; the fault says why. */
        msgsec_seal_psk zero;
        memset(&zero, 0, sizeof(zero));
        if (memcmp(&k, &zero, sizeof(k)) != 0 ||
            (rc == MSGSEC_ERR_BAD_FRAME
                 ? f.kind == MSGSEC_AANF_FAULT_NONE || !f.reason[0]
                 : rc != MSGSEC_ERR_NOMEM))
            abort();
        return 0;
    }
    if (k.psk_len < MSGSEC_SEAL_PSK_MIN || k.psk_len > MSGSEC_SEAL_PSK_MAX ||
        !k.psk_id[0])
        abort();
    /* Years outside 0000-9999 decode (offsets) but do not encode. */
    char when[MSGSEC_AANF_DATETIME_SIZE];
    if (msgsec_aanf_datetime_format(k.expiry, when) == 0) {
        char text[MSGSEC_SEAL_KEYINFO_MAX + 1];
        size_t n;
        if (msgsec_seal_keyinfo_encode(&k, text, sizeof(text), &n) != 0 ||
            msgsec_seal_keyinfo_decode(text, n, &back, &f) != 0 ||
            memcmp(&k, &back, sizeof(k)) != 0)
            abort();
        msgsec_seal_clear(&back, sizeof(back));
    }
    msgsec_seal_clear(&k, sizeof(k));
    return 0;
}
