/*
 * jsonutil.h - strict JSON decoding and encoding on jansson, hex, and the
 * reading of HTTP error answers, shared by the SDK's codecs (aanf.c,
 * seal.c). Internal to libmsgsec-sdk: not installed, not exported.
 */
#ifndef MSGSEC_SDK_JSONUTIL_H
#define MSGSEC_SDK_JSONUTIL_H

#include <stddef.h>
#include <stdint.h>

#include <jansson.h>

#include <msgsec/aanf.h>

#if defined(__GNUC__)
#define MSGSEC_SDK_HIDDEN __attribute__((visibility("hidden")))
#else
#define MSGSEC_SDK_HIDDEN
#endif

/* Fills *f (when not NULL); returns MSGSEC_ERR_BAD_FRAME. */
MSGSEC_SDK_HIDDEN int msgsec_json_fault(msgsec_aanf_fault *f, int kind,
                                        const char *param, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));

/* 0-15 for a hex digit of either case, else -1. */
MSGSEC_SDK_HIDDEN int msgsec_json_hexval(int c);
/* n bytes as 2n lower-case hex digits and a NUL. */
MSGSEC_SDK_HIDDEN void msgsec_json_hex_encode(const uint8_t *k, size_t n,
                                              char *out);
/* 2n hex digits of either case into n bytes; -1 (k wiped) on a non-digit. */
MSGSEC_SDK_HIDDEN int msgsec_json_hex_decode(const char *t, size_t n,
                                             uint8_t *k);

/* 1 when none of the n bytes is a control character (NUL included). */
MSGSEC_SDK_HIDDEN int msgsec_json_no_controls(const char *s, size_t n);
/* A NUL-terminated identifier of 1 to max bytes without controls. */
MSGSEC_SDK_HIDDEN int msgsec_json_valid_ident(const char *s, size_t max);
/* Log-safe copy: cut at a character boundary, controls become '?'. */
MSGSEC_SDK_HIDDEN void msgsec_json_copy_text(char *dst, size_t cap,
                                             const char *src, size_t n);

/* ------------------------------------------------------------ decoding */

/* Zeroes *f and out; MSGSEC_ERR_INVALID_ARG without out or body. */
MSGSEC_SDK_HIDDEN int msgsec_json_begin(const void *body, size_t len, void *out,
                                        size_t size, msgsec_aanf_fault *f);
/* Parses one JSON object of at most max bytes without duplicate members. */
MSGSEC_SDK_HIDDEN int msgsec_json_load(const void *body, size_t len, size_t max,
                                       json_t **root, msgsec_aanf_fault *f);
/* Wipes the text of the member `secret` (may be NULL), frees root. */
MSGSEC_SDK_HIDDEN void msgsec_json_release(json_t *root, const char *secret);
/* Releases root; wipes out when rc is an error; returns rc. */
MSGSEC_SDK_HIDDEN int msgsec_json_end(json_t *root, const char *secret, int rc,
                                      void *out, size_t size);

/* *j: the member `name`, NULL when absent (a fault when it is mandatory);
 * param: its JSON pointer. */
MSGSEC_SDK_HIDDEN int msgsec_json_member(json_t *o, const char *name,
                                         int mandatory, json_t **j,
                                         char param[48], msgsec_aanf_fault *f);
/* A non-empty string member of at most max bytes; *v NULL when absent and
 * not mandatory. */
MSGSEC_SDK_HIDDEN int msgsec_json_get_string(json_t *o, const char *name,
                                             int mandatory, size_t max,
                                             const char **v, size_t *len,
                                             msgsec_aanf_fault *f);
/* A string value j that is an identifier (1 to cap - 1 bytes, no
 * controls) into dst; param names it in a fault. */
MSGSEC_SDK_HIDDEN int msgsec_json_ident_value(json_t *j, const char *param,
                                              char *dst, size_t cap,
                                              msgsec_aanf_fault *f);
/* An identifier member (1 to cap - 1 bytes, no controls) into dst; dst
 * untouched when absent and optional. */
MSGSEC_SDK_HIDDEN int msgsec_json_get_ident(json_t *o, const char *name,
                                            int mandatory, char *dst,
                                            size_t cap, msgsec_aanf_fault *f);
/* A mandatory RFC 3339 date-time member. */
MSGSEC_SDK_HIDDEN int msgsec_json_get_datetime(json_t *o, const char *name,
                                               int64_t *t,
                                               msgsec_aanf_fault *f);

/* ------------------------------------------------------------ encoding */

/* Clears the outputs and makes *o an empty object. */
MSGSEC_SDK_HIDDEN int msgsec_json_enc_begin(const void *in, char *out,
                                            size_t cap, size_t *out_len,
                                            json_t **o);
/* Adds a string member (MSGSEC_ERR_INVALID_ARG when v is not UTF-8). */
MSGSEC_SDK_HIDDEN int msgsec_json_put_string(json_t *o, const char *name,
                                             const char *v);
/* When rc is 0 writes o compactly into out; frees o (wiping the member
 * `secret`); wipes out (when there is one) on error; returns the result. */
MSGSEC_SDK_HIDDEN int msgsec_json_dump(json_t *o, int rc, const char *secret,
                                       char *out, size_t cap, size_t *out_len);

/* ------------------------------------------------------ HTTP answers */

/* Checks that a 200 answer is application/json; else writes detail and
 * returns MSGSEC_ERR_BAD_FRAME. */
MSGSEC_SDK_HIDDEN int msgsec_json_expect_json(const char *content_type,
                                              char *detail, size_t detail_len);
/* The detail of a decoder's failure rc on a 200 answer carrying `what`. */
MSGSEC_SDK_HIDDEN int msgsec_json_decode_detail(int rc, const char *what,
                                                const msgsec_aanf_fault *f,
                                                char *detail,
                                                size_t detail_len);
/*
 * Describes an error answer: *problem (when not NULL) gets its decodable
 * ProblemDetails or the status alone, detail one log line (status, title,
 * cause, detail, or why the body was not a ProblemDetails).
 */
MSGSEC_SDK_HIDDEN void
msgsec_json_error_answer(int status, const char *content_type, const void *body,
                         size_t len, msgsec_aanf_problem *problem, char *detail,
                         size_t detail_len);

#endif /* MSGSEC_SDK_JSONUTIL_H */
