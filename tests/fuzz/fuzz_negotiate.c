/*
 * fuzz_negotiate.c - libFuzzer target for explicit-mode negotiation frames.
 *
 * Input: byte 0 chooses the target, byte 1 the feed chunk size (0: all at
 * once), the rest is the data.
 *   target % 4 == 0   the frame codec alone (every frame in the data)
 *   target % 4 == 1   a server session (explicit, null provider allowed)
 *   target % 4 == 2   a client session, after its OFFER
 *   target % 4 == 3   a server session with stream framing
 * Sessions use the built-in null provider, so the target needs no module.
 */
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "msgsec/msgsec.h"
#include "negotiate.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static const char fuzz_policy[] =
    "[core]\n"
    "allow_insecure = yes\n"
    "[service.msg]\n"
    "use = null\n"
    "negotiation = explicit\n"
    "[service.str]\n"
    "use = null\n"
    "negotiation = explicit\n"
    "framing = stream\n";

static msgsec_core *fuzz_core(void)
{
    /* One core for the whole run: creating it per input would only fuzz
     * the policy parser again. */
    static msgsec_core *core;
    if (!core) {
        char detail[1024] = "";
        if (msgsec_core_new_from_string(fuzz_policy, "<fuzz>", NULL, 0, &core,
                                        detail, sizeof(detail)) != 0) {
            fprintf(stderr, "fuzz_negotiate: core: %s\n", detail);
            abort();
        }
    }
    return core;
}

static void codec(const uint8_t *p, size_t n)
{
    char why[256];
    msgsec_neg_frame f;
    while (n > 0) {
        int rc = msgsec_neg_parse(p, n, &f, why, sizeof(why));
        if (rc != 0)
            return;
        switch (f.type) {
        case MSGSEC_NEG_OFFER: {
            msgsec_neg_offer o;
            if (msgsec_neg_parse_offer(f.body, f.len, &o, why, sizeof(why)) ==
                0) {
                /* What parses must build again, identically. */
                const char *names[MSGSEC_NEG_MAX_OFFER];
                for (size_t i = 0; i < o.n; i++)
                    names[i] = o.names[i];
                uint8_t again[MSGSEC_NEG_MAX_OFFER_FRAME];
                size_t len = 0;
                if (msgsec_neg_build_offer(again, sizeof(again), o.nonce,
                                           names, o.n, &len) != 0 ||
                    len != f.total || memcmp(again, p, len) != 0)
                    abort();
            }
            break;
        }
        case MSGSEC_NEG_SELECT: {
            uint8_t nonce[MSGSEC_NEG_NONCE];
            char name[MSGSEC_NEG_MAX_NAME + 1];
            if (msgsec_neg_parse_select(f.body, f.len, nonce, name, why,
                                        sizeof(why)) == 0) {
                uint8_t again[MSGSEC_NEG_MAX_SELECT_FRAME];
                size_t len = 0;
                if (msgsec_neg_build_select(again, sizeof(again), nonce, name,
                                            &len) != 0 ||
                    len != f.total || memcmp(again, p, len) != 0)
                    abort();
            }
            break;
        }
        case MSGSEC_NEG_CONFIRM: {
            uint8_t mac[MSGSEC_NEG_MAC];
            msgsec_neg_parse_confirm(f.body, f.len, mac, why, sizeof(why));
            break;
        }
        case MSGSEC_NEG_ERROR: {
            int code = 0;
            char reason[MSGSEC_NEG_MAX_REASON + 1];
            if (msgsec_neg_parse_error(f.body, f.len, &code, reason, why,
                                       sizeof(why)) == 0 &&
                (code >= 0 || strlen(reason) > MSGSEC_NEG_MAX_REASON))
                abort();
            break;
        }
        default:
            break;
        }
        p += f.total;
        n -= f.total;
    }
}

static void session(const char *service, int role, const uint8_t *p, size_t n,
                    size_t chunk)
{
    msgsec_session *s = NULL;
    if (msgsec_session_new(fuzz_core(), service, role, NULL, &s) != 0)
        abort();
    uint8_t out[4096];
    while (msgsec_session_pull(s, out, sizeof(out)) > 0)
        ;
    size_t step = chunk ? chunk : (n ? n : 1);
    for (size_t off = 0; off < n; off += step) {
        size_t k = n - off < step ? n - off : step;
        int rc = msgsec_session_feed(s, p + off, k);
        while (msgsec_session_pull(s, out, sizeof(out)) > 0)
            ;
        if (rc < 0) {
            /* An error leaves the session failed, or closed by the peer. */
            int st = msgsec_session_state(s);
            if (st != MSGSEC_STATE_FAILED && st != MSGSEC_STATE_CLOSED)
                abort();
            break;
        }
    }
    /* Drain whatever messages made it through. */
    size_t len;
    while (msgsec_session_recv(s, out, sizeof(out), &len) == 0)
        ;
    if (msgsec_session_state(s) == MSGSEC_STATE_ESTABLISHED)
        msgsec_session_send(s, "pong", 4);
    msgsec_session_free(s);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < 2)
        return 0;
    int target = data[0] % 4;
    size_t chunk = data[1];
    data += 2;
    size -= 2;
    switch (target) {
    case 0:
        codec(data, size);
        break;
    case 1:
        session("msg", MSGSEC_ROLE_SERVER, data, size, chunk);
        break;
    case 2:
        session("msg", MSGSEC_ROLE_CLIENT, data, size, chunk);
        break;
    default:
        session("str", MSGSEC_ROLE_SERVER, data, size, chunk);
        break;
    }
    return 0;
}
