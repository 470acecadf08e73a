/*
 * emu.c - the parts msgsec-aanf and msgsec-seal-km share. See emu.h.
 */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "emu.h"

#define PROBLEM_CAP 4096 /* every ProblemDetails fits */

int msgsec_emu_parse_long(const char *s, long min, long max, long *out)
{
    char *end;
    errno = 0;
    long v = strtol(s, &end, 10);
    if (!*s || *end || errno || v < min || v > max)
        return -1;
    *out = v;
    return 0;
}

int msgsec_emu_usage_error(const msgsec_emu *e, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    fprintf(stderr, "%s: ", e->prog);
    vfprintf(stderr, fmt, ap);
    fprintf(stderr, "\nTry '%s --help'.\n", e->prog);
    va_end(ap);
    return 2;
}

#define NOT_MINE (-2)

/* A common option or getopt's '?': MSGSEC_EMU_CONTINUE, an exit status,
 * or NOT_MINE. */
static int common_option(msgsec_emu *e, int opt, const char *arg)
{
    long v;
    switch (opt) {
    case MSGSEC_EMU_O_LISTEN:
        e->listen = arg;
        return MSGSEC_EMU_CONTINUE;
    case MSGSEC_EMU_O_DELAY:
        if (msgsec_emu_parse_long(arg, 0, 600000, &v) != 0)
            return msgsec_emu_usage_error(e, "--delay-ms %s: 0 to 600000",
                                          arg);
        e->delay_ms = (unsigned)v;
        return MSGSEC_EMU_CONTINUE;
    case MSGSEC_EMU_O_FAIL:
        if (msgsec_emu_parse_long(arg, 400, 599, &v) != 0)
            return msgsec_emu_usage_error(
                e, "--fail-status %s: a status from 400 to 599", arg);
        e->fail_status = (int)v;
        return MSGSEC_EMU_CONTINUE;
    case MSGSEC_EMU_O_GARBAGE:
        e->garbage = 1;
        return MSGSEC_EMU_CONTINUE;
    case MSGSEC_EMU_O_HELP:
        fputs(e->usage, stdout);
        return 0;
    case MSGSEC_EMU_O_VERSION:
        printf("%s %s\n", e->prog, PACKAGE_VERSION);
        return 0;
    case '?':
        fprintf(stderr, "Try '%s --help'.\n", e->prog);
        return 2;
    default:
        return NOT_MINE;
    }
}

int msgsec_emu_getopt(msgsec_emu *e, int argc, char **argv,
                      const struct option *opts, int *status)
{
    int c;
    *status = MSGSEC_EMU_CONTINUE;
    while ((c = getopt_long(argc, argv, "", opts, NULL)) != -1) {
        int rc = common_option(e, c, optarg);
        if (rc == NOT_MINE)
            return c;
        if (rc != MSGSEC_EMU_CONTINUE) {
            *status = rc;
            return -1;
        }
    }
    if (optind < argc)
        *status = msgsec_emu_usage_error(e, "unexpected argument '%s'",
                                         argv[optind]);
    else if (!e->listen)
        *status = msgsec_emu_usage_error(e, "%s",
                                         "--listen HOST:PORT is required");
    return -1;
}

/* ------------------------------------------------------------ answers */

void msgsec_emu_set_body(msgsec_h2s_response *rs, int status,
                         const char *ctype, const char *text, size_t len)
{
    rs->status = status;
    rs->content_type = ctype;
    rs->body = malloc(len ? len : 1);
    if (!rs->body) {
        rs->status = 500;
        rs->content_type = NULL;
        rs->body_len = 0;
        return;
    }
    memcpy(rs->body, text, len);
    rs->body_len = len;
}

/* TS 29.500 causes where one applies. */
void msgsec_emu_problem(msgsec_h2s_response *rs, int status,
                        const char *cause, const char *detail,
                        const msgsec_aanf_fault *f)
{
    msgsec_aanf_problem p = {.status = status};
    const char *title = msgsec_h2s_reason(status);
    snprintf(p.title, sizeof(p.title), "%s", title ? title : "Error");
    if (cause)
        snprintf(p.cause, sizeof(p.cause), "%s", cause);
    if (detail)
        snprintf(p.detail, sizeof(p.detail), "%s", detail);
    if (f && f->param[0]) {
        snprintf(p.invalid_params[0].param, sizeof(p.invalid_params[0].param),
                 "%s", f->param);
        snprintf(p.invalid_params[0].reason,
                 sizeof(p.invalid_params[0].reason), "%s", f->reason);
        p.n_invalid_params = 1;
    }
    char out[PROBLEM_CAP];
    size_t n;
    if (msgsec_aanf_encode_problem(NULL, &p, out, sizeof(out), &n) != 0) {
        rs->status = status;
        return;
    }
    msgsec_emu_set_body(rs, status, MSGSEC_AANF_MEDIA_PROBLEM, out, n);
}

void msgsec_emu_bad_input(msgsec_h2s_response *rs, int rc,
                          const msgsec_aanf_fault *f, char *note,
                          size_t note_len)
{
    if (rc != MSGSEC_ERR_BAD_FRAME) {
        msgsec_emu_problem(rs, 500, "SYSTEM_FAILURE",
                           "cannot decode the request", NULL);
        snprintf(note, note_len, "decoding failed: out of memory");
        return;
    }
    const char *cause = f->kind == MSGSEC_AANF_FAULT_MISSING
                            ? "MANDATORY_IE_MISSING"
                        : f->kind == MSGSEC_AANF_FAULT_INCORRECT
                            ? "MANDATORY_IE_INCORRECT"
                            : "INVALID_MSG_FORMAT";
    char text[256];
    msgsec_aanf_fault_text(f, text, sizeof(text));
    msgsec_emu_problem(rs, 400, cause, text, f);
    snprintf(note, note_len, "%s", text);
}

int msgsec_emu_request_error(const msgsec_h2s_request *rq,
                             msgsec_h2s_response *rs, size_t body_max)
{
    if (rq->error == 411) {
        msgsec_emu_problem(rs, 411, "INCORRECT_LENGTH",
                           "a Content-Length is required", NULL);
    } else if (rq->error == 413) {
        char d[96];
        snprintf(d, sizeof(d), "the body exceeds %zu bytes", body_max);
        msgsec_emu_problem(rs, 413, NULL, d, NULL);
    } else if (rq->error) {
        msgsec_emu_problem(rs, 400, "INVALID_MSG_FORMAT",
                           "malformed HTTP request", NULL);
    } else {
        return 0;
    }
    return 1;
}

int msgsec_emu_path_is(const char *target, const char *resource)
{
    size_t n = strcspn(target, "?");
    return strlen(resource) == n && strncmp(target, resource, n) == 0;
}

/* A log-safe, bounded copy of text from the network. */
static void clean(char *dst, size_t cap, const char *src)
{
    size_t i = 0;
    for (; src[i] && i + 1 < cap; i++)
        dst[i] = ((unsigned char)src[i] < 0x20 || (unsigned char)src[i] >= 0x7f)
                     ? '?'
                     : src[i];
    dst[i] = 0;
}

void msgsec_emu_log(const msgsec_h2s_request *rq,
                    const msgsec_h2s_response *rs, const char *note)
{
    char method[24], path[160], shown[768];
    clean(method, sizeof(method), rq->method);
    clean(path, sizeof(path), rq->path);
    clean(shown, sizeof(shown), note);
    fprintf(stderr, "%s %s %s %s -> %d%s%s%s\n", rq->peer,
            rq->proto == 20 ? "h2c" : "http/1.1", method, path, rs->status,
            shown[0] ? " " : "", shown, rs->delay_ms ? " (delayed)" : "");
    fflush(stderr);
}

int msgsec_emu_serve(const msgsec_emu *e, size_t max_body,
                     msgsec_h2s_handler handler, void *arg)
{
    msgsec_h2s_config cfg = {.listen = e->listen,
                             .max_body = max_body,
                             .handler = handler,
                             .arg = arg,
                             .announce = stdout};
    char err[256] = "";
    int rc = msgsec_h2s_run(&cfg, err, sizeof(err));
    if (rc != 0)
        fprintf(stderr, "%s: %s\n", e->prog, err);
    else
        fprintf(stderr, "%s: stopped\n", e->prog);
    return rc == 0 ? 0 : 1;
}
