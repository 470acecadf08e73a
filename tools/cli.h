/*
 * cli.h - the framework of the msgsec operator tool: exit codes, the
 * subcommand table and helpers shared by the subcommands. Subcommands use
 * only the public API <msgsec/msgsec.h>.
 */
#ifndef MSGSEC_CLI_H
#define MSGSEC_CLI_H

#include <stddef.h>

#include <msgsec/msgsec.h>

/* The one list of exit statuses; documented in msgsec(1). Stable. */
enum msgsec_cli_exit {
    MSGSEC_EXIT_OK = 0,       /* success */
    MSGSEC_EXIT_POLICY = 1,   /* the policy is invalid or unsafe */
    MSGSEC_EXIT_USAGE = 2,    /* bad command line (also an unknown service) */
    MSGSEC_EXIT_PROVIDER = 3, /* mandatory provider failed, none selected */
    MSGSEC_EXIT_INTERNAL = 4  /* I/O, memory or internal error */
};

/*
 * One subcommand. run() gets the entry itself (for its usage text) and
 * argv[0] = the subcommand's name, and returns an exit status. A command
 * with its own sub-table (e.g. "akma derive") calls msgsec_cli_dispatch()
 * from its run().
 */
typedef struct msgsec_cli_command {
    const char *name;
    const char *summary; /* one line for the command list */
    const char *usage;   /* full --help text, ending in a newline */
    int (*run)(const struct msgsec_cli_command *cmd, int argc, char **argv);
} msgsec_cli_command;

/*
 * Runs the command of table named by argv[0], giving it argv. prefix names
 * the level in messages ("msgsec", "msgsec akma"). Handles "help [COMMAND]"
 * itself; the caller handles options before the command name.
 */
int msgsec_cli_dispatch(const msgsec_cli_command *table, size_t n,
                        const char *prefix, int argc, char **argv);
/* Prints the command list of table to stdout. */
void msgsec_cli_list(const msgsec_cli_command *table, size_t n);

/* "msgsec: " + message + newline on stderr. */
void msgsec_cli_error(const char *fmt, ...)
    __attribute__((format(printf, 1, 2)));
/* As msgsec_cli_error(), then "Try 'msgsec CMD --help'."; returns
 * MSGSEC_EXIT_USAGE. */
int msgsec_cli_usage_error(const char *cmd, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));
/*
 * The same for any program: "PROG: [CMD: ]message" and "Try 'PROG[ CMD]
 * --help'." (cmd NULL for a program without subcommands); returns
 * MSGSEC_EXIT_USAGE.
 */
int msgsec_cli_usage_error_for(const char *prog, const char *cmd,
                               const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
/*
 * The getopt_long() results every command handles alike, for its default
 * branch (argv, optind and optopt as getopt left them): 'h' prints usage
 * and 'V' the version (MSGSEC_EXIT_OK); ':' (a missing argument) and
 * anything else unknown are usage errors as msgsec_cli_usage_error_for().
 */
int msgsec_cli_opt_other(const char *prog, const char *cmd, int c,
                         const char *usage, char **argv);
/* A whole decimal number from lo to hi: 0 with *out, or -1. */
int msgsec_cli_number(const char *s, long lo, long hi, long *out);
/* Prints the version lines. */
void msgsec_cli_version(void);

/* Exit status for a msgsec error code. */
int msgsec_cli_exit_for(int code);

/* Policy used when -c is not given: the installed default. */
const char *msgsec_cli_default_policy(void);

/*
 * Creates a core from path with MSGSEC_CORE_INSPECT; when verbose, the
 * library's log (up to debug) goes to stderr. On failure prints the detail
 * and returns the exit status (non-zero) with *out NULL.
 */
int msgsec_cli_open_core(const char *path, int verbose, msgsec_core **out);

/* "seal client: yes|no (REASON)": the policy's decision whether the UE has
 * a SEAL client, with the key and FILE:LINE that made it. */
void msgsec_cli_print_seal_client(const msgsec_core *core);
/* "authorize: PROVIDER (...)" or "authorize: none (...)" for service. */
void msgsec_cli_print_authorize(const msgsec_core *core, const char *service);

/* Flushes stdout; MSGSEC_EXIT_INTERNAL when writing failed, else status. */
int msgsec_cli_finish(int status);

#endif /* MSGSEC_CLI_H */
