/* cmdline.c - command-line helpers of the MSGin5G examples. */
#include <errno.h>
#include <getopt.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>

#include "cmdline.h"

int msgsec_m5g_usage_error(const char *prog, const char *fmt, ...)
{
    va_list ap;
    fprintf(stderr, "%s: ", prog);
    va_start(ap, fmt);
    vfprintf(stderr, fmt, ap);
    va_end(ap);
    fprintf(stderr, "\nTry '%s --help'.\n", prog);
    return 2;
}

int msgsec_m5g_number(const char *s, long lo, long hi, long *out)
{
    char *end = NULL;
    errno = 0;
    long v = strtol(s, &end, 10);
    if (errno || end == s || *end || v < lo || v > hi)
        return -1;
    *out = v;
    return 0;
}

int msgsec_m5g_opt_other(int c, const char *prog, const char *usage,
                         char **argv)
{
    if (c == 'h') {
        fputs(usage, stdout);
        return 0;
    }
    if (c == ':')
        return msgsec_m5g_usage_error(prog, "option '%s' needs an argument",
                                      argv[optind - 1]);
    return msgsec_m5g_usage_error(prog, "unknown option '%s'",
                                  argv[optind - 1]);
}
