/*
 * negotiate.h - explicit-mode negotiation frames (msgsec to msgsec).
 *
 * WIRE FORMAT (integers big-endian). Every frame:
 *
 *   magic    4  "MSGN"
 *   version  1  1
 *   type     1  OFFER 1, SELECT 2, TOKEN 3, CONFIRM 4, ERROR 5
 *   length   2  body length, at most MSGSEC_NEG_MAX_BODY
 *   body     length bytes
 *
 * Bodies:
 *
 *   OFFER    nonce[32]  count[1] (1..32)
 *            count x ( len[1] (1..63)  name[len] of [a-z0-9-] ), no repeats;
 *            the client's providers in its order of preference
 *   SELECT   nonce[32]  len[1] (1..63)  name[len]: the server's choice
 *   TOKEN    1..MSGSEC_NEG_MAX_BODY bytes of the provider's handshake
 *   CONFIRM  mac[32]
 *   ERROR    code[2] (the MSGSEC_ERR_* value negated)
 *            len[1] (0..200)  reason[len] (printable ASCII, no key material)
 *
 * EXCHANGE
 *
 *   client -> server  OFFER
 *   server -> client  SELECT, or ERROR (e.g. no common provider)
 *   both ways         TOKEN frames as the selected provider speaks; a
 *                     provider's output is cut into frames, a receiver
 *                     joins their bodies into one stream for the provider
 *   each side         CONFIRM, as soon as its own provider is done
 *
 * After its CONFIRM a side sends only the provider's protected records, no
 * more frames. A side that gives up before its CONFIRM sends ERROR instead.
 *
 * DOWNGRADE PROTECTION
 *
 *   TH      = SHA-256(OFFER frame || SELECT frame), whole frames as sent
 *   K       = provider export_key("EXPORTER-msgsec-negotiation", no
 *             context, 32 bytes)
 *   CONFIRM = HMAC-SHA256(K, "msgsec confirm client" || TH) from the client,
 *             HMAC-SHA256(K, "msgsec confirm server" || TH) from the server
 *
 * Each side checks the peer's CONFIRM in constant time; a mismatch means
 * the offer or the selection was altered: MSGSEC_ERR_DOWNGRADE. An insecure
 * provider without key export, accepted only where policy allows insecure
 * operation, sends CONFIRM = TH: it catches accidental mismatches and gives
 * no protection against an active attacker.
 */
#ifndef MSGSEC_NEGOTIATE_H
#define MSGSEC_NEGOTIATE_H

#include <stddef.h>
#include <stdint.h>

#include "internal.h"

#define MSGSEC_NEG_VERSION 1
#define MSGSEC_NEG_HDR 8
#define MSGSEC_NEG_MAX_BODY 16384
#define MSGSEC_NEG_NONCE 32
#define MSGSEC_NEG_MAX_OFFER 32
#define MSGSEC_NEG_MAX_NAME 63
#define MSGSEC_NEG_MAC 32
#define MSGSEC_NEG_MAX_REASON 200
/* Largest OFFER frame. */
#define MSGSEC_NEG_MAX_OFFER_FRAME                                             \
    (MSGSEC_NEG_HDR + MSGSEC_NEG_NONCE + 1 +                                   \
     MSGSEC_NEG_MAX_OFFER * (1 + MSGSEC_NEG_MAX_NAME))
/* Largest SELECT frame. */
#define MSGSEC_NEG_MAX_SELECT_FRAME                                            \
    (MSGSEC_NEG_HDR + MSGSEC_NEG_NONCE + 1 + MSGSEC_NEG_MAX_NAME)

#define MSGSEC_NEG_EXPORT_LABEL "EXPORTER-msgsec-negotiation"

enum msgsec_neg_type {
    MSGSEC_NEG_OFFER = 1,
    MSGSEC_NEG_SELECT = 2,
    MSGSEC_NEG_TOKEN = 3,
    MSGSEC_NEG_CONFIRM = 4,
    MSGSEC_NEG_ERROR = 5
};

/* One frame found in a buffer; body points into that buffer. */
typedef struct msgsec_neg_frame {
    int type;
    const uint8_t *body;
    size_t len;   /* body length */
    size_t total; /* header + body */
} msgsec_neg_frame;

typedef struct msgsec_neg_offer {
    uint8_t nonce[MSGSEC_NEG_NONCE];
    size_t n;
    char names[MSGSEC_NEG_MAX_OFFER][MSGSEC_NEG_MAX_NAME + 1];
} msgsec_neg_offer;

/*
 * Finds the frame at the start of buf. Returns 0 with *f filled,
 * MSGSEC_CONTINUE when buf holds only part of it, or MSGSEC_ERR_BAD_FRAME
 * (bad magic, version, type or length) with why filled.
 */
MSGSEC_HIDDEN int msgsec_neg_parse(const uint8_t *buf, size_t len,
                                   msgsec_neg_frame *f, char *why,
                                   size_t why_len);

/* Body parsers: 0 or MSGSEC_ERR_BAD_FRAME with why filled. */
MSGSEC_HIDDEN int msgsec_neg_parse_offer(const uint8_t *body, size_t len,
                                         msgsec_neg_offer *o, char *why,
                                         size_t why_len);
MSGSEC_HIDDEN int msgsec_neg_parse_select(const uint8_t *body, size_t len,
                                          uint8_t nonce[MSGSEC_NEG_NONCE],
                                          char name[MSGSEC_NEG_MAX_NAME + 1],
                                          char *why, size_t why_len);
MSGSEC_HIDDEN int msgsec_neg_parse_confirm(const uint8_t *body, size_t len,
                                           uint8_t mac[MSGSEC_NEG_MAC],
                                           char *why, size_t why_len);
/* *code is negative (a MSGSEC_ERR_* value, possibly one this version does
 * not know); reason is NUL-terminated. */
MSGSEC_HIDDEN int msgsec_neg_parse_error(const uint8_t *body, size_t len,
                                         int *code,
                                         char reason[MSGSEC_NEG_MAX_REASON + 1],
                                         char *why, size_t why_len);

/* 1 when name is a valid provider name for frames ([a-z0-9-], 1..63). */
MSGSEC_HIDDEN int msgsec_neg_name_ok(const char *name, size_t len);

/*
 * Frame builders: write the whole frame into out (capacity cap) and set
 * *out_len. Return 0, MSGSEC_ERR_BUFFER_TOO_SMALL or MSGSEC_ERR_INVALID_ARG
 * (a field out of the bounds above).
 */
MSGSEC_HIDDEN int msgsec_neg_build_offer(uint8_t *out, size_t cap,
                                         const uint8_t nonce[MSGSEC_NEG_NONCE],
                                         const char *const *names, size_t n,
                                         size_t *out_len);
MSGSEC_HIDDEN int msgsec_neg_build_select(uint8_t *out, size_t cap,
                                          const uint8_t nonce[MSGSEC_NEG_NONCE],
                                          const char *name, size_t *out_len);
/* Writes only the 8-byte header of a frame whose body is len bytes. */
MSGSEC_HIDDEN int msgsec_neg_build_header(uint8_t out[MSGSEC_NEG_HDR],
                                          int type, size_t len);
MSGSEC_HIDDEN int msgsec_neg_build_error(uint8_t *out, size_t cap, int code,
                                         const char *reason, size_t *out_len);

/* TH = SHA-256(offer || select). 0 or MSGSEC_ERR_INTERNAL. */
MSGSEC_HIDDEN int msgsec_neg_transcript(const uint8_t *offer, size_t offer_len,
                                        const uint8_t *select,
                                        size_t select_len,
                                        uint8_t th[32]);
/*
 * The CONFIRM value that side role sends: HMAC-SHA256(key, label || th),
 * or th itself when key is NULL (insecure, no key export).
 * 0 or MSGSEC_ERR_INTERNAL.
 */
MSGSEC_HIDDEN int msgsec_neg_confirm(const uint8_t *key, size_t key_len,
                                     const uint8_t th[32], int role,
                                     uint8_t mac[MSGSEC_NEG_MAC]);

#endif /* MSGSEC_NEGOTIATE_H */
