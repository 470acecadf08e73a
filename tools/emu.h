/*
 * emu.h - what the emulators (msgsec-aanf, msgsec-seal-km) share: the
 * common command-line options, ProblemDetails answers, the one log line
 * per request, and running the h2server loop.
 */
#ifndef MSGSEC_EMU_H
#define MSGSEC_EMU_H

#include <getopt.h>
#include <stddef.h>

#include <msgsec/aanf.h>

#include "h2server.h"

/* getopt_long codes of the common options; an emulator numbers its own
 * from MSGSEC_EMU_O_OWN. */
enum {
    MSGSEC_EMU_O_LISTEN = 256,
    MSGSEC_EMU_O_DELAY,
    MSGSEC_EMU_O_FAIL,
    MSGSEC_EMU_O_GARBAGE,
    MSGSEC_EMU_O_HELP,
    MSGSEC_EMU_O_VERSION,
    MSGSEC_EMU_O_OWN
};

/* The common entries of a struct option table. */
#define MSGSEC_EMU_OPTIONS                                          \
    {"listen", required_argument, NULL, MSGSEC_EMU_O_LISTEN},       \
    {"delay-ms", required_argument, NULL, MSGSEC_EMU_O_DELAY},      \
    {"fail-status", required_argument, NULL, MSGSEC_EMU_O_FAIL},    \
    {"garbage", no_argument, NULL, MSGSEC_EMU_O_GARBAGE},           \
    {"help", no_argument, NULL, MSGSEC_EMU_O_HELP},                 \
    {"version", no_argument, NULL, MSGSEC_EMU_O_VERSION}

typedef struct msgsec_emu {
    const char *prog;  /* program name, prefix of its messages */
    const char *usage; /* the --help text */
    const char *listen;
    unsigned delay_ms; /* --delay-ms */
    int fail_status;   /* --fail-status, 0 when not given */
    int garbage;       /* --garbage */
} msgsec_emu;

/* *status of msgsec_emu_getopt() when the emulator may go on. */
#define MSGSEC_EMU_CONTINUE (-1)

/*
 * getopt_long() over opts (which include MSGSEC_EMU_OPTIONS), handling
 * the common options itself: returns the next of the emulator's own
 * options (optarg set), or -1 when there is none left. At -1, *status is
 * MSGSEC_EMU_CONTINUE, or the status to exit with: 0 after --help or
 * --version, 2 (with a message) after a bad value, an unknown option, a
 * leftover argument or a missing --listen.
 */
int msgsec_emu_getopt(msgsec_emu *e, int argc, char **argv,
                      const struct option *opts, int *status);

/* A decimal integer in [min, max]: 0, or -1. */
int msgsec_emu_parse_long(const char *s, long min, long max, long *out);

/* "PROG: message", the --help hint; returns 2. */
int msgsec_emu_usage_error(const msgsec_emu *e, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

/* ------------------------------------------------------------ answers */

/* Copies text into a fresh body (500 without a body when out of memory). */
void msgsec_emu_set_body(msgsec_h2s_response *rs, int status,
                         const char *ctype, const char *text, size_t len);

/* A ProblemDetails answer; cause, detail and f may be NULL. */
void msgsec_emu_problem(msgsec_h2s_response *rs, int status,
                        const char *cause, const char *detail,
                        const msgsec_aanf_fault *f);

/* 400 for input that does not decode (500 unless rc is
 * MSGSEC_ERR_BAD_FRAME); the fault goes into note for the log. */
void msgsec_emu_bad_input(msgsec_h2s_response *rs, int rc,
                          const msgsec_aanf_fault *f, char *note,
                          size_t note_len);

/* Answers what h2server already judged (rq->error: 400, 411, 413); 1 when
 * it did, 0 for a sound request. */
int msgsec_emu_request_error(const msgsec_h2s_request *rq,
                             msgsec_h2s_response *rs, size_t body_max);

/* 1 when the request target, without its query, is resource. */
int msgsec_emu_path_is(const char *target, const char *resource);

/* The log line of a request: peer, protocol, method, target, status, note
 * (made printable and bounded). */
void msgsec_emu_log(const msgsec_h2s_request *rq,
                    const msgsec_h2s_response *rs, const char *note);

/* Serves until SIGTERM/SIGINT; the exit status (0, or 1 when the server
 * could not start). */
int msgsec_emu_serve(const msgsec_emu *e, size_t max_body,
                     msgsec_h2s_handler handler, void *arg);

#endif
