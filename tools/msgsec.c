/*
 * msgsec.c - the operator tool: main, the command table and the policy
 * commands (providers, check, explain). Uses only <msgsec/msgsec.h>.
 */
#include <getopt.h>
#include <inttypes.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <msgsec/msgsec.h>

#include "akma_cmd.h"
#include "cli.h"
#include "netio.h"

#define EXPLAIN_MAX 16384

/* Options every policy command shares. */
typedef struct policy_opts {
    const char *policy;
    int verbose;
    int load;            /* check --load */
    const char *service; /* explain */
    char *offer;         /* explain: comma-separated, concatenated */
} policy_opts;

enum { OPT_LOAD = 256 };

/* Option flags accepted by parse_policy_opts(). */
#define ACCEPT_LOAD 1u
#define ACCEPT_EXPLAIN 2u

static int append_offer(policy_opts *o, const char *cmd, const char *arg)
{
    size_t old = o->offer ? strlen(o->offer) : 0;
    size_t add = strlen(arg);
    char *p;

    if (add == 0)
        return msgsec_cli_usage_error(cmd, "explain: --offer needs at least "
                                           "one provider name");
    p = realloc(o->offer, old + add + 2);
    if (!p) {
        msgsec_cli_error("out of memory");
        return MSGSEC_EXIT_INTERNAL;
    }
    if (old)
        p[old++] = ',';
    memcpy(p + old, arg, add + 1);
    o->offer = p;
    return MSGSEC_EXIT_OK;
}

/*
 * Parses the options of a policy command. Returns -1 to go on, or an exit
 * status (after printing help, the version or a usage error).
 */
static int parse_policy_opts(const msgsec_cli_command *cmd, unsigned accept,
                             int argc, char **argv, policy_opts *o)
{
    static const struct option common[] = {
        {"config", required_argument, NULL, 'c'},
        {"verbose", no_argument, NULL, 'v'},
        {"help", no_argument, NULL, 'h'},
        {"version", no_argument, NULL, 'V'},
    };
    static const struct option load = {"load", no_argument, NULL, OPT_LOAD};
    static const struct option service = {"service", required_argument, NULL,
                                          's'};
    static const struct option offer = {"offer", required_argument, NULL,
                                        'o'};
    /* Only the command's own options are known to getopt, so that any
     * other is reported as unknown by name. */
    struct option longopts[sizeof(common) / sizeof(common[0]) + 4];
    size_t n = 0;
    int c, rc;

    for (; n < sizeof(common) / sizeof(common[0]); n++)
        longopts[n] = common[n];
    if (accept & ACCEPT_LOAD)
        longopts[n++] = load;
    if (accept & ACCEPT_EXPLAIN) {
        longopts[n++] = service;
        longopts[n++] = offer;
    }
    memset(&longopts[n], 0, sizeof(longopts[n]));

    memset(o, 0, sizeof(*o));
    o->policy = msgsec_cli_default_policy();
    opterr = 0;
    optind = 0; /* full reinitialisation (GNU getopt) */
    while ((c = getopt_long(argc, argv,
                            accept & ACCEPT_EXPLAIN ? "+:c:vhVs:o:"
                                                    : "+:c:vhV",
                            longopts, NULL)) != -1) {
        switch (c) {
        case 'c':
            o->policy = optarg;
            break;
        case 'v':
            o->verbose = 1;
            break;
        case 'h':
            fputs(cmd->usage, stdout);
            return MSGSEC_EXIT_OK;
        case 'V':
            msgsec_cli_version();
            return MSGSEC_EXIT_OK;
        case OPT_LOAD:
            o->load = 1;
            break;
        case 's':
            o->service = optarg;
            break;
        case 'o':
            rc = append_offer(o, cmd->name, optarg);
            if (rc != MSGSEC_EXIT_OK)
                return rc;
            break;
        case ':':
            return msgsec_cli_usage_error(cmd->name,
                                          "%s: option '%s' needs an argument",
                                          cmd->name, argv[optind - 1]);
        default:
            if (optopt > 0 && optopt < 256)
                return msgsec_cli_usage_error(cmd->name,
                                              "%s: unknown option '-%c'",
                                              cmd->name, optopt);
            return msgsec_cli_usage_error(cmd->name,
                                          "%s: unknown option '%s'", cmd->name,
                                          argv[optind - 1]);
        }
    }
    if (optind < argc)
        return msgsec_cli_usage_error(cmd->name,
                                      "%s: unexpected argument '%s'",
                                      cmd->name, argv[optind]);
    if (o->policy[0] == '\0')
        return msgsec_cli_usage_error(cmd->name, "%s: empty policy path",
                                      cmd->name);
    return -1;
}

static const char *support_name(int support)
{
    switch (support) {
    case MSGSEC_SUPPORT_OFF:
        return "off";
    case MSGSEC_SUPPORT_OPTIONAL:
        return "optional";
    case MSGSEC_SUPPORT_MANDATORY:
        return "mandatory";
    case MSGSEC_SUPPORT_MANDATORY_IF_SEAL_CLIENT:
        return "mandatory-if-seal-client";
    default:
        return "unknown";
    }
}

static int is_failure(int status)
{
    return status < 0;
}

/* "client, server, ..." for the capability bits of caps. */
static void print_caps(uint32_t caps)
{
    int first = 1;

    if (caps == 0) {
        fputs("none", stdout);
        return;
    }
    for (unsigned bit = 0; bit < 32; bit++) {
        uint32_t cap = UINT32_C(1) << bit;
        const char *name;
        if (!(caps & cap))
            continue;
        name = msgsec_cap_name(cap);
        if (name)
            printf("%s%s", first ? "" : ", ", name);
        else
            printf("%s0x%" PRIx32, first ? "" : ", ", cap);
        first = 0;
    }
}

/*
 * Status of a core built for inspection: a mandatory provider that did not
 * load (3), or a service left without a usable provider (1). Prints why,
 * unless the mandatory failure was already reported (quiet_mandatory).
 */
static int core_status_exit(const msgsec_core *core, int quiet_mandatory)
{
    int st = msgsec_core_status(core);

    if (st == 0)
        return MSGSEC_EXIT_OK;
    if (st == MSGSEC_ERR_PROVIDER_MANDATORY) {
        if (!quiet_mandatory)
            msgsec_cli_error("%s", msgsec_core_detail(core));
        return MSGSEC_EXIT_PROVIDER;
    }
    msgsec_cli_error("%s", msgsec_core_detail(core)[0]
                               ? msgsec_core_detail(core)
                               : msgsec_strerror(st));
    return msgsec_cli_exit_for(st);
}

/* ---------------------------------------------------------- providers */

static void print_provider(const char *policy, const msgsec_provider_info *pi)
{
    int conditional = pi->support == MSGSEC_SUPPORT_MANDATORY_IF_SEAL_CLIENT;

    printf("provider %s\n", pi->name);
    printf("  version       %s\n", pi->version ? pi->version : "-");
    if (pi->summary)
        printf("  summary       %s\n", pi->summary);
    printf("  module        %s\n",
           pi->module && pi->module[0] ? pi->module : "-");
    if (pi->status == 0)
        printf("  abi           %u.%u\n", pi->abi_major, pi->abi_minor);
    else
        printf("  abi           -\n");
    printf("  capabilities  ");
    if (pi->status == 0)
        print_caps(pi->caps);
    else
        fputs("-", stdout);
    putchar('\n');
    if (pi->line > 0)
        printf("  policy        %s:%d\n", policy, pi->line);
    else
        printf("  policy        (built in, not declared)\n");

    /* seal_client is the only condition: the decision tells its value. */
    printf("  support       %s", support_name(pi->support));
    if (conditional)
        printf(" (seal_client = %s: %s)",
               pi->effective_mandatory ? "yes" : "no",
               pi->effective_mandatory ? "mandatory" : "optional");
    putchar('\n');

    if (pi->status == 0)
        printf("  status        loaded\n");
    else if (pi->status == MSGSEC_CONTINUE)
        printf("  status        off\n");
    else
        printf("  status        not loaded: %s (%s)%s\n",
               msgsec_error_name(pi->status), msgsec_strerror(pi->status),
               pi->effective_mandatory ? " [mandatory]" : "");
    /* For a loaded conditional provider the detail only repeats the
     * decision printed above. */
    if (pi->detail && pi->detail[0] && !(pi->status == 0 && conditional))
        printf("  detail        %s\n", pi->detail);
    putchar('\n');
}

static int cmd_providers(const msgsec_cli_command *cmd, int argc, char **argv)
{
    policy_opts o;
    msgsec_core *core;
    size_t n, loaded = 0, off = 0, failed = 0, mandatory_failed = 0;
    int rc = parse_policy_opts(cmd, 0, argc, argv, &o);

    if (rc >= 0)
        return rc;
    rc = msgsec_cli_open_core(o.policy, o.verbose, &core);
    if (rc != MSGSEC_EXIT_OK)
        return rc;

    printf("policy %s\n", o.policy);
    msgsec_cli_print_seal_client(core);
    putchar('\n');
    n = msgsec_core_provider_count(core);
    for (size_t i = 0; i < n; i++) {
        msgsec_provider_info pi;
        if (msgsec_core_provider_info(core, i, &pi) != 0) {
            msgsec_cli_error("provider %zu: cannot read its information", i);
            msgsec_core_free(core);
            return MSGSEC_EXIT_INTERNAL;
        }
        print_provider(o.policy, &pi);
        if (pi.status == 0)
            loaded++;
        else if (pi.status == MSGSEC_CONTINUE)
            off++;
        else if (is_failure(pi.status)) {
            failed++;
            if (pi.effective_mandatory)
                mandatory_failed++;
        }
    }
    printf("%zu provider%s: %zu loaded, %zu off, %zu failed "
           "(%zu mandatory)\n",
           n, n == 1 ? "" : "s", loaded, off, failed, mandatory_failed);

    rc = core_status_exit(core, 0);
    msgsec_core_free(core);
    return rc;
}

/* -------------------------------------------------------------- check */

typedef struct check_state {
    unsigned count;
} check_state;

static void print_diag(void *ud, const msgsec_diagnostic *d)
{
    check_state *st = ud;
    const char *file = d->file ? d->file : "(policy)";

    st->count++;
    if (d->line > 0)
        fprintf(stderr, "%s:%d: %s\n", file, d->line, d->message);
    else
        fprintf(stderr, "%s: %s\n", file, d->message);
}

/*
 * One provider that did not load, compiler style: "FILE:LINE: error: ..."
 * (mandatory) or "FILE:LINE: warning: ..." (optional). The loader's detail
 * starts with "FILE:LINE: "; the level goes after that prefix.
 */
static void report_load_failure(const char *policy,
                                const msgsec_provider_info *pi)
{
    const char *level = pi->effective_mandatory ? "error" : "warning";
    const char *detail = pi->detail ? pi->detail : "";
    size_t plen = strlen(policy), k;

    if (strncmp(detail, policy, plen) == 0 && detail[plen] == ':') {
        k = plen + 1;
        while (detail[k] >= '0' && detail[k] <= '9')
            k++;
        if (k > plen + 1 && detail[k] == ':' && detail[k + 1] == ' ') {
            fprintf(stderr, "%.*s %s: %s", (int)(k + 1), detail, level,
                    detail + k + 2);
            goto tail;
        }
    }
    if (pi->line > 0)
        fprintf(stderr, "%s:%d: %s: [provider.%s] %s", policy, pi->line,
                level, pi->name, detail);
    else
        fprintf(stderr, "%s: %s: [provider.%s] %s", policy, level, pi->name,
                detail);
tail:
    fprintf(stderr, " (%s provider not loaded: %s)\n",
            pi->effective_mandatory ? "mandatory" : "optional",
            msgsec_error_name(pi->status));
}

/* check --load: each provider that did not load, on stderr. The detail
 * starts with the FILE:LINE of the provider's section or faulty key. */
static int check_load(const policy_opts *o)
{
    msgsec_core *core;
    size_t n;
    int rc = msgsec_cli_open_core(o->policy, o->verbose, &core);

    if (rc != MSGSEC_EXIT_OK)
        return rc;
    n = msgsec_core_provider_count(core);
    for (size_t i = 0; i < n; i++) {
        msgsec_provider_info pi;
        if (msgsec_core_provider_info(core, i, &pi) != 0) {
            msgsec_core_free(core);
            return MSGSEC_EXIT_INTERNAL;
        }
        if (!is_failure(pi.status))
            continue;
        report_load_failure(o->policy, &pi);
    }
    rc = core_status_exit(core, 1);
    msgsec_core_free(core);
    return rc;
}

static int cmd_check(const msgsec_cli_command *cmd, int argc, char **argv)
{
    policy_opts o;
    check_state st = {0};
    int rc = parse_policy_opts(cmd, ACCEPT_LOAD, argc, argv, &o);

    if (rc >= 0)
        return rc;
    rc = msgsec_policy_check(o.policy, print_diag, &st);
    if (rc < 0) {
        if (st.count == 0)
            msgsec_cli_error("%s: %s", o.policy, msgsec_strerror(rc));
        return msgsec_cli_exit_for(rc);
    }
    if (o.load) {
        rc = check_load(&o);
        if (rc != MSGSEC_EXIT_OK)
            return rc;
    }
    printf("%s: ok\n", o.policy);
    return MSGSEC_EXIT_OK;
}

/* ------------------------------------------------------------ explain */

/* Splits the comma-separated list s in place into names (spaces trimmed). */
static int split_offer(const char *cmd, char *s, const char ***out, size_t *n)
{
    size_t count = 1, k = 0;
    const char **v;
    char *p = s;

    for (const char *q = s; *q; q++)
        if (*q == ',')
            count++;
    v = calloc(count, sizeof(*v));
    if (!v) {
        msgsec_cli_error("out of memory");
        return MSGSEC_EXIT_INTERNAL;
    }
    for (;;) {
        char *end = strchr(p, ',');
        char *e;
        if (end)
            *end = '\0';
        while (*p == ' ' || *p == '\t')
            p++;
        e = p + strlen(p);
        while (e > p && (e[-1] == ' ' || e[-1] == '\t'))
            *--e = '\0';
        if (*p == '\0') {
            free(v);
            return msgsec_cli_usage_error(cmd, "%s: empty name in --offer",
                                          cmd);
        }
        v[k++] = p;
        if (!end)
            break;
        p = end + 1;
    }
    *out = v;
    *n = k;
    return MSGSEC_EXIT_OK;
}

/* After an unknown --service: what the policy has. */
static void list_services(const msgsec_core *core)
{
    size_t n = msgsec_core_service_count(core);

    fputs("msgsec: services in this policy:", stderr);
    for (size_t i = 0; i < n; i++)
        fprintf(stderr, "%s %s", i ? "," : "", msgsec_core_service_name(core, i));
    fputs(n ? "\n" : " none\n", stderr);
}

static int explain(const msgsec_cli_command *cmd, const policy_opts *o)
{
    const char **offer = NULL;
    size_t n = 0;
    msgsec_core *core;
    char *buf;
    int rc, sel, st;

    if (o->offer) {
        rc = split_offer(cmd->name, o->offer, &offer, &n);
        if (rc != MSGSEC_EXIT_OK)
            return rc;
    }
    buf = malloc(EXPLAIN_MAX);
    if (!buf) {
        free(offer);
        msgsec_cli_error("out of memory");
        return MSGSEC_EXIT_INTERNAL;
    }
    buf[0] = '\0';
    rc = msgsec_cli_open_core(o->policy, o->verbose, &core);
    if (rc != MSGSEC_EXIT_OK) {
        free(buf);
        free(offer);
        return rc;
    }

    sel = msgsec_core_explain(core, o->service, offer, n, buf, EXPLAIN_MAX);
    if (sel < 0 && sel != MSGSEC_ERR_NO_COMMON_PROVIDER) {
        size_t len = strlen(buf);
        while (len > 0 && buf[len - 1] == '\n')
            buf[--len] = '\0';
        msgsec_cli_error("explain: %s", buf[0] ? buf : msgsec_strerror(sel));
        if (sel == MSGSEC_ERR_POLICY_UNKNOWN_SERVICE)
            list_services(core);
        msgsec_core_free(core);
        free(buf);
        free(offer);
        return msgsec_cli_exit_for(sel);
    }

    if (n == 0) {
        printf("client offer: none (implicit mode: claim order)\n");
    } else {
        printf("client offer: ");
        for (size_t i = 0; i < n; i++)
            printf("%s%s", i ? ", " : "", offer[i]);
        putchar('\n');
    }
    if (buf[0]) {
        size_t len = strlen(buf);
        fputs(buf, stdout);
        if (buf[len - 1] != '\n')
            putchar('\n');
    }
    msgsec_cli_print_authorize(core, o->service);
    msgsec_cli_print_seal_client(core);
    if (sel >= 0) {
        msgsec_provider_info pi;
        if (msgsec_core_provider_info(core, (size_t)sel, &pi) == 0)
            printf("selected: %s\n", pi.name);
        else
            rc = MSGSEC_EXIT_INTERNAL;
    } else {
        printf("selected: none (%s)\n", msgsec_strerror(sel));
        rc = MSGSEC_EXIT_PROVIDER;
    }
    /* An incomplete core refuses every session: say so, and why. */
    st = core_status_exit(core, 0);
    if (rc == MSGSEC_EXIT_OK)
        rc = st;
    msgsec_core_free(core);
    free(buf);
    free(offer);
    return rc;
}

static int cmd_explain(const msgsec_cli_command *cmd, int argc, char **argv)
{
    policy_opts o;
    int rc = parse_policy_opts(cmd, ACCEPT_EXPLAIN, argc, argv, &o);

    if (rc < 0) {
        if (!o.service)
            rc = msgsec_cli_usage_error(cmd->name,
                                        "explain: --service is required");
        else if (o.service[0] == '\0')
            rc = msgsec_cli_usage_error(cmd->name,
                                        "explain: empty --service name");
        else
            rc = explain(cmd, &o);
    }
    free(o.offer);
    return rc;
}

/* ------------------------------------------------------------- table */

static const msgsec_cli_command commands[] = {
    {"providers", "list the providers of a policy and whether each loaded",
     "Usage: msgsec providers [-c POLICY] [-v]\n"
     "\n"
     "Loads the providers POLICY declares (plus the built-in null) and shows\n"
     "for each: version, module, ABI, capabilities, support level as written\n"
     "and as decided, and whether it loaded or why not.\n"
     "\n"
     "  -c, --config POLICY  policy file (default " MSGSEC_SYSCONFDIR
     "/msgsec.conf)\n"
     "  -v, --verbose        also show the core's informational log\n"
     "  -h, --help           show this help\n"
     "  -V, --version        show the version\n"
     "\n"
     "Exit status: 0 every mandatory provider loaded, 1 policy invalid,\n"
     "2 usage error, 3 a mandatory provider did not load, 4 I/O error.\n",
     cmd_providers},
    {"check", "validate a policy file",
     "Usage: msgsec check [-c POLICY] [--load] [-v]\n"
     "\n"
     "Validates POLICY without loading providers: syntax, sections, keys,\n"
     "values, references and file safety. Problems are printed to standard\n"
     "error as FILE:LINE: message; a valid policy prints \"POLICY: ok\".\n"
     "\n"
     "  -c, --config POLICY  policy file (default " MSGSEC_SYSCONFDIR
     "/msgsec.conf)\n"
     "      --load           also load the providers: report each that fails\n"
     "                       (a warning when it is optional) and fail when a\n"
     "                       mandatory one does not load\n"
     "  -v, --verbose        also show the core's informational log (--load)\n"
     "  -h, --help           show this help\n"
     "  -V, --version        show the version\n"
     "\n"
     "Exit status: 0 valid, 1 policy invalid, 2 usage error, 3 (--load) a\n"
     "mandatory provider did not load, 4 I/O error.\n",
     cmd_check},
    {"explain", "show which provider a service selects for a client",
     "Usage: msgsec explain [-c POLICY] --service NAME [--offer A,B,...] [-v]\n"
     "\n"
     "Shows which provider the server side of service NAME selects for a\n"
     "client offering providers A, B, ... (in the client's order), and why\n"
     "each other candidate was not chosen. Without --offer, shows the order\n"
     "in which providers claim a client's first bytes (implicit mode).\n"
     "\n"
     "  -c, --config POLICY  policy file (default " MSGSEC_SYSCONFDIR
     "/msgsec.conf)\n"
     "  -s, --service NAME   the policy service ([service.NAME])\n"
     "  -o, --offer LIST     comma-separated provider names the client\n"
     "                       offers; may be repeated (the lists are joined)\n"
     "  -v, --verbose        also show the core's informational log\n"
     "  -h, --help           show this help\n"
     "  -V, --version        show the version\n"
     "\n"
     "Exit status: 0 a provider is selected, 1 policy invalid, 2 usage\n"
     "error or unknown service, 3 no provider selected or a mandatory\n"
     "provider did not load, 4 I/O error.\n",
     cmd_explain},
    {"serve", "diagnostic server: authenticate clients and answer them",
     msgsec_serve_usage, msgsec_cmd_serve},
    {"connect", "diagnostic client: authenticate a server, send stdin lines",
     msgsec_connect_usage, msgsec_cmd_connect},
    {"akma", "AKMA helpers: derive keys and identifiers",
     msgsec_akma_usage, msgsec_cmd_akma},
};

static void usage(void)
{
    printf("Usage: msgsec [--help | --version] COMMAND [OPTION]...\n"
           "\n"
           "Operator tool of msgsec, the MSGin5G security provider framework:\n"
           "validates a policy, shows its providers and explains which\n"
           "provider a client gets.\n"
           "\n");
    msgsec_cli_list(commands, sizeof(commands) / sizeof(commands[0]));
    printf("\n"
           "Run 'msgsec COMMAND --help' for the options of a command.\n"
           "Exit status: 0 ok, 1 policy invalid, 2 usage error, 3 provider\n"
           "problem, 4 I/O or internal error. See msgsec(1).\n");
}

int main(int argc, char **argv)
{
    int rc;

    if (argc < 2) {
        msgsec_cli_error("missing command");
        fprintf(stderr, "Try 'msgsec --help'.\n");
        return MSGSEC_EXIT_USAGE;
    }
    if (strcmp(argv[1], "--help") == 0 || strcmp(argv[1], "-h") == 0) {
        usage();
        return msgsec_cli_finish(MSGSEC_EXIT_OK);
    }
    if (strcmp(argv[1], "--version") == 0 || strcmp(argv[1], "-V") == 0) {
        msgsec_cli_version();
        return msgsec_cli_finish(MSGSEC_EXIT_OK);
    }
    if (argv[1][0] == '-') {
        msgsec_cli_error("unknown option '%s'", argv[1]);
        fprintf(stderr, "Try 'msgsec --help'.\n");
        return MSGSEC_EXIT_USAGE;
    }
    rc = msgsec_cli_dispatch(commands, sizeof(commands) / sizeof(commands[0]),
                             "msgsec", argc - 1, argv + 1);
    return msgsec_cli_finish(rc);
}
