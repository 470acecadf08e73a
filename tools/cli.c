/* cli.c - dispatch, messages, exit codes and core creation for the tool. */
#include <errno.h>
#include <getopt.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <msgsec/msgsec.h>
#include <msgsec/provider.h>

#include "cli.h"

#define CLI_DETAIL_MAX 2048

static const msgsec_cli_command *find_command(const msgsec_cli_command *table,
                                              size_t n, const char *name)
{
    for (size_t i = 0; i < n; i++)
        if (strcmp(table[i].name, name) == 0)
            return &table[i];
    return NULL;
}

void msgsec_cli_list(const msgsec_cli_command *table, size_t n)
{
    printf("Commands:\n");
    for (size_t i = 0; i < n; i++)
        printf("  %-11s %s\n", table[i].name, table[i].summary);
    printf("  %-11s %s\n", "help", "show the help of a command");
}

int msgsec_cli_dispatch(const msgsec_cli_command *table, size_t n,
                        const char *prefix, int argc, char **argv)
{
    const msgsec_cli_command *cmd;

    if (argc < 1 || !argv[0]) {
        msgsec_cli_error("%s: missing command", prefix);
        fprintf(stderr, "Try '%s --help'.\n", prefix);
        return MSGSEC_EXIT_USAGE;
    }
    if (strcmp(argv[0], "help") == 0) {
        if (argc < 2) {
            printf("Usage: %s COMMAND [OPTION]...\n\n", prefix);
            msgsec_cli_list(table, n);
            return MSGSEC_EXIT_OK;
        }
        if (argc > 2) {
            msgsec_cli_error("%s help: too many arguments", prefix);
            return MSGSEC_EXIT_USAGE;
        }
        cmd = find_command(table, n, argv[1]);
        if (!cmd) {
            msgsec_cli_error("%s: unknown command '%s'", prefix, argv[1]);
            fprintf(stderr, "Try '%s --help'.\n", prefix);
            return MSGSEC_EXIT_USAGE;
        }
        fputs(cmd->usage, stdout);
        return MSGSEC_EXIT_OK;
    }
    cmd = find_command(table, n, argv[0]);
    if (!cmd) {
        msgsec_cli_error("%s: unknown command '%s'", prefix, argv[0]);
        fprintf(stderr, "Try '%s --help'.\n", prefix);
        return MSGSEC_EXIT_USAGE;
    }
    return cmd->run(cmd, argc, argv);
}

static void verror(const char *fmt, va_list ap)
    __attribute__((format(printf, 1, 0)));

static void verror(const char *fmt, va_list ap)
{
    fputs("msgsec: ", stderr);
    vfprintf(stderr, fmt, ap);
    fputc('\n', stderr);
}

void msgsec_cli_error(const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    verror(fmt, ap);
    va_end(ap);
}

int msgsec_cli_usage_error(const char *cmd, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    verror(fmt, ap);
    va_end(ap);
    fprintf(stderr, "Try 'msgsec %s --help'.\n", cmd);
    return MSGSEC_EXIT_USAGE;
}

int msgsec_cli_usage_error_for(const char *prog, const char *cmd,
                               const char *fmt, ...)
{
    va_list ap;
    fprintf(stderr, "%s: %s%s", prog, cmd ? cmd : "", cmd ? ": " : "");
    va_start(ap, fmt);
    vfprintf(stderr, fmt, ap);
    va_end(ap);
    fprintf(stderr, "\nTry '%s%s%s --help'.\n", prog, cmd ? " " : "",
            cmd ? cmd : "");
    return MSGSEC_EXIT_USAGE;
}

int msgsec_cli_opt_other(const char *prog, const char *cmd, int c,
                         const char *usage, char **argv)
{
    if (c == 'h') {
        fputs(usage, stdout);
        return MSGSEC_EXIT_OK;
    }
    if (c == 'V') {
        msgsec_cli_version();
        return MSGSEC_EXIT_OK;
    }
    if (c == ':')
        return msgsec_cli_usage_error_for(prog, cmd,
                                          "option '%s' needs an argument",
                                          argv[optind - 1]);
    if (optopt > 0 && optopt < 256)
        return msgsec_cli_usage_error_for(prog, cmd, "unknown option '-%c'",
                                          optopt);
    return msgsec_cli_usage_error_for(prog, cmd, "unknown option '%s'",
                                      argv[optind - 1]);
}

int msgsec_cli_number(const char *s, long lo, long hi, long *out)
{
    char *end = NULL;
    errno = 0;
    long v = strtol(s, &end, 10);
    if (errno || end == s || *end || v < lo || v > hi)
        return -1;
    *out = v;
    return 0;
}

void msgsec_cli_version(void)
{
    printf("msgsec %s\n", PACKAGE_VERSION);
    printf("library %s, provider ABI %d.%d\n", msgsec_version_string(),
           MSGSEC_PROVIDER_ABI_MAJOR, MSGSEC_PROVIDER_ABI_MINOR);
}

int msgsec_cli_exit_for(int code)
{
    if (code >= 0)
        return MSGSEC_EXIT_OK;
    /* The error table groups codes by tens: -20.. policy, -40.. provider
     * loading, -60.. negotiation, -80.. authentication and keys. */
    if (code == MSGSEC_ERR_POLICY_UNKNOWN_SERVICE)
        return MSGSEC_EXIT_USAGE;
    if (code <= -20 && code > -40)
        return MSGSEC_EXIT_POLICY;
    if (code <= -40 && code > -100)
        return MSGSEC_EXIT_PROVIDER;
    return MSGSEC_EXIT_INTERNAL;
}

const char *msgsec_cli_default_policy(void)
{
    return MSGSEC_SYSCONFDIR "/msgsec.conf";
}

static void log_line(void *ud, int level, const char *line)
{
    static const char *const names[] = {"error", "warning", "info", "debug"};
    (void)ud;
    if (level < 0 || level > MSGSEC_LOG_DEBUG)
        level = MSGSEC_LOG_DEBUG;
    fprintf(stderr, "msgsec: %s: %s\n", names[level], line);
}

int msgsec_cli_open_core(const char *path, int verbose, msgsec_core **out)
{
    msgsec_hooks hooks;
    char detail[CLI_DETAIL_MAX] = "";
    int rc;

    /* Each command reports load failures itself; the library's own log
     * would repeat them, so it is shown only when asked for. */
    memset(&hooks, 0, sizeof(hooks));
    hooks.size = sizeof(hooks);
    if (verbose) {
        hooks.log = log_line;
        hooks.log_level = MSGSEC_LOG_DEBUG;
    }
    *out = NULL;
    rc = msgsec_core_new(path, &hooks, MSGSEC_CORE_INSPECT, out, detail,
                         sizeof(detail));
    if (rc < 0) {
        *out = NULL;
        if (detail[0])
            msgsec_cli_error("%s", detail);
        else
            msgsec_cli_error("%s: %s", path, msgsec_strerror(rc));
        return msgsec_cli_exit_for(rc);
    }
    return MSGSEC_EXIT_OK;
}

void msgsec_cli_print_seal_client(const msgsec_core *core)
{
    const char *why = "";
    int yes = msgsec_core_seal_client(core, &why);

    printf("seal client: %s (%s)\n", yes > 0 ? "yes" : "no", why);
}

void msgsec_cli_print_authorize(const msgsec_core *core, const char *service)
{
    const char *by = msgsec_core_service_authorizer(core, service);

    if (by)
        printf("authorize: %s (answers whether a client's UE service ID is "
               "associated with its identity)\n",
               by);
    else
        printf("authorize: none (no authorize key in [service.%s]: no "
               "authorization required)\n",
               service);
}

int msgsec_cli_finish(int status)
{
    if (fflush(stdout) != 0 || ferror(stdout)) {
        msgsec_cli_error("error writing to standard output");
        return MSGSEC_EXIT_INTERNAL;
    }
    return status;
}
