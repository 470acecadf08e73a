/* cmdline.h - command-line helpers shared by msgin5g-server and -client. */
#ifndef MSGSEC_M5G_CMDLINE_H
#define MSGSEC_M5G_CMDLINE_H

/* "PROG: message" and "Try 'PROG --help'." on standard error; returns the
 * usage exit status, 2. */
int msgsec_m5g_usage_error(const char *prog, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

/* A whole decimal number from lo to hi: 0 with *out, or -1. */
int msgsec_m5g_number(const char *s, long lo, long hi, long *out);

/*
 * The getopt_long() results both programs handle alike: 'h' prints usage
 * and gives 0; ':' (missing argument) and anything else unknown give 2.
 * Call it from the default branch; argv and optind as getopt left them.
 */
int msgsec_m5g_opt_other(int c, const char *prog, const char *usage,
                         char **argv);

#endif
