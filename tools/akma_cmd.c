/*
 * akma_cmd.c - "msgsec akma": AKMA (TS 33.535) helpers for operators and
 * tests. "akma derive" computes what a UE derives from K_AUSF: K_AKMA,
 * A-TID, A-KID and K_AF, through the SDK's derivations. "akma register"
 * plays the AUSF: it registers K_AKMA and the A-KID with an AAnF.
 */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/crypto.h>

#include <msgsec/aanf.h>
#include <msgsec/akma_keys.h>
#include <msgsec/http.h>

#include "akma_cmd.h"

#define DERIVE "akma derive"

/* The group's commands; further sub-commands are added here. */
static const msgsec_cli_command akma_commands[] = {
    {"derive", "derive K_AKMA, A-TID, A-KID and K_AF from K_AUSF",
     msgsec_akma_derive_usage, msgsec_cmd_akma_derive},
    {"register", "register K_AKMA and the A-KID with an AAnF (as the AUSF)",
     msgsec_akma_register_usage, msgsec_cmd_akma_register},
};

const char msgsec_akma_usage[] =
    "Usage: msgsec akma COMMAND [OPTION]...\n"
    "\n"
    "AKMA (TS 33.535) helpers.\n"
    "\n"
    "Commands:\n"
    "  derive      derive K_AKMA, A-TID, A-KID and K_AF from K_AUSF\n"
    "  register    register K_AKMA and the A-KID with an AAnF (as the AUSF)\n"
    "  help        show the help of a command\n"
    "\n"
    "Run 'msgsec akma COMMAND --help' for the options of a command.\n";

int msgsec_cmd_akma(const msgsec_cli_command *cmd, int argc, char **argv)
{
    if (argc >= 2 &&
        (strcmp(argv[1], "--help") == 0 || strcmp(argv[1], "-h") == 0)) {
        fputs(cmd->usage, stdout);
        return MSGSEC_EXIT_OK;
    }
    if (argc >= 2 &&
        (strcmp(argv[1], "--version") == 0 || strcmp(argv[1], "-V") == 0)) {
        msgsec_cli_version();
        return MSGSEC_EXIT_OK;
    }
    if (argc >= 2 && argv[1][0] == '-')
        return msgsec_cli_usage_error("akma", "akma: unknown option '%s'",
                                      argv[1]);
    return msgsec_cli_dispatch(akma_commands,
                               sizeof(akma_commands) / sizeof(akma_commands[0]),
                               "msgsec akma", argc - 1, argv + 1);
}

/* ------------------------------------------------------------ derive */

const char msgsec_akma_derive_usage[] =
    "Usage: msgsec akma derive --kausf HEX --supi SUPI\n"
    "                          [--rid RID --mcc MCC --mnc MNC]\n"
    "                          [--af-fqdn FQDN [--ua-id HEX10]]\n"
    "\n"
    "Derives the AKMA keys and identifiers of a UE (TS 33.535 Annex A) and\n"
    "prints them one per line: K_AKMA=<hex> and A-TID=<hex>; A-KID=<NAI>\n"
    "when --rid, --mcc and --mnc are given; K_AF=<hex> when --af-fqdn is.\n"
    "The output holds keys: it is meant for tests and diagnostics.\n"
    "\n"
    "  --kausf HEX           K_AUSF, 64 hex digits (32 bytes)\n"
    "  --supi SUPI           the SUPI: an IMSI as digits or as imsi-DIGITS\n"
    "                        (the prefix is removed, TS 33.501 A.7.0); any\n"
    "                        other form is used as given\n"
    "  --rid RID             routing indicator, 1 to 4 digits\n"
    "  --mcc MCC             home network MCC, 3 digits\n"
    "  --mnc MNC             home network MNC, 2 or 3 digits\n"
    "  --akid-separator SEP  between RID and A-TID in the A-KID username\n"
    "                        (default \".\"; may be empty)\n"
    "  --akid-encoding ENC   the A-TID in the A-KID: hex (default) or\n"
    "                        base64url\n"
    "  --af-fqdn FQDN        the AF's FQDN, for K_AF\n"
    "  --ua-id HEX10         the Ua* security protocol identifier, 5 bytes\n"
    "                        (default 0100000007: shared-key TLS 1.3; TLS 1.2\n"
    "                        is 010001 followed by the cipher suite)\n"
    "  -h, --help            show this help\n"
    "  -V, --version         show the version\n"
    "\n"
    "A-KID: <RID><SEP><A-TID>@5gc.mnc<MNC>.mcc<MCC>.3gppnetwork.org\n"
    "Exit status: 0 success, 2 usage error, 4 internal error.\n";

enum {
    OPT_KAUSF = 256,
    OPT_SUPI,
    OPT_RID,
    OPT_MCC,
    OPT_MNC,
    OPT_SEP,
    OPT_ENC,
    OPT_FQDN,
    OPT_UA
};

typedef struct derive_opts {
    const char *kausf, *supi, *rid, *mcc, *mnc, *sep, *enc, *fqdn, *ua;
} derive_opts;

/* Exactly 2 * n hex digits into out; 1 on success. */
static int parse_hex(const char *s, uint8_t *out, size_t n)
{
    if (strlen(s) != 2 * n)
        return 0;
    for (size_t i = 0; i < 2 * n; i++) {
        char c = s[i];
        int v;
        if (c >= '0' && c <= '9')
            v = c - '0';
        else if (c >= 'a' && c <= 'f')
            v = c - 'a' + 10;
        else if (c >= 'A' && c <= 'F')
            v = c - 'A' + 10;
        else
            return 0;
        if (i % 2 == 0)
            out[i / 2] = (uint8_t)(v << 4);
        else
            out[i / 2] |= (uint8_t)v;
    }
    return 1;
}

static int digits(const char *s, size_t min, size_t max)
{
    size_t n = strlen(s);
    if (n < min || n > max)
        return 0;
    for (size_t i = 0; i < n; i++)
        if (s[i] < '0' || s[i] > '9')
            return 0;
    return 1;
}

static void print_hex(const char *name, const uint8_t *p, size_t n)
{
    printf("%s=", name);
    for (size_t i = 0; i < n; i++)
        printf("%02x", p[i]);
    putchar('\n');
}

/* Returns -1 to go on, or an exit status. */
static int parse_derive(int argc, char **argv, derive_opts *o)
{
    static const struct option longopts[] = {
        {"kausf", required_argument, NULL, OPT_KAUSF},
        {"supi", required_argument, NULL, OPT_SUPI},
        {"rid", required_argument, NULL, OPT_RID},
        {"mcc", required_argument, NULL, OPT_MCC},
        {"mnc", required_argument, NULL, OPT_MNC},
        {"akid-separator", required_argument, NULL, OPT_SEP},
        {"akid-encoding", required_argument, NULL, OPT_ENC},
        {"af-fqdn", required_argument, NULL, OPT_FQDN},
        {"ua-id", required_argument, NULL, OPT_UA},
        {"help", no_argument, NULL, 'h'},
        {"version", no_argument, NULL, 'V'},
        {NULL, 0, NULL, 0},
    };
    int c;

    memset(o, 0, sizeof(*o));
    opterr = 0;
    optind = 0; /* full reinitialisation (GNU getopt) */
    while ((c = getopt_long(argc, argv, "+:hV", longopts, NULL)) != -1) {
        switch (c) {
        case OPT_KAUSF:
            o->kausf = optarg;
            break;
        case OPT_SUPI:
            o->supi = optarg;
            break;
        case OPT_RID:
            o->rid = optarg;
            break;
        case OPT_MCC:
            o->mcc = optarg;
            break;
        case OPT_MNC:
            o->mnc = optarg;
            break;
        case OPT_SEP:
            o->sep = optarg;
            break;
        case OPT_ENC:
            o->enc = optarg;
            break;
        case OPT_FQDN:
            o->fqdn = optarg;
            break;
        case OPT_UA:
            o->ua = optarg;
            break;
        default:
            return msgsec_cli_opt_other("msgsec", DERIVE, c,
                                        msgsec_akma_derive_usage, argv);
        }
    }
    if (optind < argc)
        return msgsec_cli_usage_error(DERIVE,
                                      DERIVE ": unexpected argument '%s'",
                                      argv[optind]);
    if (!o->kausf)
        return msgsec_cli_usage_error(DERIVE, DERIVE ": --kausf is required");
    if (!o->supi)
        return msgsec_cli_usage_error(DERIVE, DERIVE ": --supi is required");
    if ((o->rid || o->mcc || o->mnc) && !(o->rid && o->mcc && o->mnc))
        return msgsec_cli_usage_error(DERIVE, DERIVE ": --rid, --mcc and "
                                                     "--mnc go together");
    if ((o->sep || o->enc) && !o->rid)
        return msgsec_cli_usage_error(DERIVE,
                                      DERIVE ": --akid-separator and "
                                             "--akid-encoding need --rid, "
                                             "--mcc and --mnc");
    if (o->ua && !o->fqdn)
        return msgsec_cli_usage_error(DERIVE,
                                      DERIVE ": --ua-id needs --af-fqdn");
    return -1;
}

/* Checks the values; fills k_ausf, ua and settings. -1 or exit status. */
static int check_derive(const derive_opts *o, uint8_t *k_ausf, uint8_t *ua,
                        msgsec_akid_settings *set)
{
    const char *v, *why;
    size_t vlen;

    if (!parse_hex(o->kausf, k_ausf, MSGSEC_AKMA_KEY_LEN))
        return msgsec_cli_usage_error(DERIVE, DERIVE ": --kausf must be 64 "
                                                     "hex digits (32 bytes)");
    if (msgsec_akma_supi_value(o->supi, strlen(o->supi), &v, &vlen) !=
        MSGSEC_OK)
        return msgsec_cli_usage_error(DERIVE,
                                      DERIVE ": --supi '%s': empty, or "
                                             "imsi- not followed by 5 to 15 "
                                             "digits",
                                      o->supi);
    if (o->rid) {
        if (!digits(o->rid, 1, MSGSEC_AKID_RID_MAX))
            return msgsec_cli_usage_error(DERIVE, DERIVE ": --rid must be 1 "
                                                         "to 4 digits");
        if (!digits(o->mcc, 3, 3))
            return msgsec_cli_usage_error(DERIVE,
                                          DERIVE ": --mcc must be 3 digits");
        if (!digits(o->mnc, 2, 3))
            return msgsec_cli_usage_error(DERIVE, DERIVE ": --mnc must be 2 "
                                                         "or 3 digits");
    }
    msgsec_akid_settings_default(set);
    if (o->sep && msgsec_akid_settings_set(set, MSGSEC_AKID_KEY_SEPARATOR,
                                           o->sep, &why) != MSGSEC_OK)
        return msgsec_cli_usage_error(DERIVE, DERIVE ": --akid-separator: %s",
                                      why);
    if (o->enc && msgsec_akid_settings_set(set, MSGSEC_AKID_KEY_ATID_ENCODING,
                                           o->enc, &why) != MSGSEC_OK)
        return msgsec_cli_usage_error(DERIVE, DERIVE ": --akid-encoding: %s",
                                      why);
    if (o->ua) {
        if (!parse_hex(o->ua, ua, MSGSEC_AKMA_UA_ID_LEN))
            return msgsec_cli_usage_error(DERIVE, DERIVE ": --ua-id must be "
                                                         "10 hex digits (5 "
                                                         "bytes)");
    } else
        msgsec_akma_ua_id_tls13(ua);
    if (o->fqdn) {
        uint8_t af_id[MSGSEC_AKMA_AF_ID_MAX];
        size_t len;
        if (msgsec_akma_af_id(o->fqdn, strlen(o->fqdn), ua, af_id,
                              sizeof(af_id), &len) != MSGSEC_OK)
            return msgsec_cli_usage_error(DERIVE,
                                          DERIVE ": --af-fqdn: 1 to 255 "
                                                 "bytes of printable ASCII "
                                                 "(no space) or UTF-8");
    }
    return -1;
}

static int derive(const derive_opts *o)
{
    uint8_t k_ausf[MSGSEC_AKMA_KEY_LEN], k_akma[MSGSEC_AKMA_KEY_LEN];
    uint8_t a_tid[MSGSEC_AKMA_A_TID_LEN], k_af[MSGSEC_AKMA_KEY_LEN];
    uint8_t ua[MSGSEC_AKMA_UA_ID_LEN];
    char akid[MSGSEC_AKID_MAX_LEN + 1];
    msgsec_akid_settings set;
    msgsec_kdf *kdf = NULL;
    size_t len;
    int rc;

    rc = check_derive(o, k_ausf, ua, &set);
    if (rc >= 0)
        goto out;
    rc = msgsec_kdf_new(&kdf);
    if (rc == MSGSEC_OK)
        rc = msgsec_akma_derive_k_akma(kdf, k_ausf, sizeof(k_ausf), o->supi,
                                       strlen(o->supi), k_akma);
    if (rc == MSGSEC_OK)
        rc = msgsec_akma_derive_a_tid(kdf, k_ausf, sizeof(k_ausf), o->supi,
                                      strlen(o->supi), a_tid);
    if (rc == MSGSEC_OK && o->rid)
        rc = msgsec_akid_build(&set, o->rid, strlen(o->rid), a_tid, o->mcc,
                               strlen(o->mcc), o->mnc, strlen(o->mnc), akid,
                               sizeof(akid), &len);
    if (rc == MSGSEC_OK && o->fqdn)
        rc = msgsec_akma_derive_k_af_fqdn(kdf, k_akma, sizeof(k_akma),
                                          o->fqdn, strlen(o->fqdn), ua, k_af);
    if (rc != MSGSEC_OK) {
        msgsec_cli_error(DERIVE ": %s", msgsec_strerror(rc));
        rc = MSGSEC_EXIT_INTERNAL;
        goto out;
    }
    print_hex("K_AKMA", k_akma, sizeof(k_akma));
    print_hex("A-TID", a_tid, sizeof(a_tid));
    if (o->rid)
        printf("A-KID=%s\n", akid);
    if (o->fqdn)
        print_hex("K_AF", k_af, sizeof(k_af));
    rc = MSGSEC_EXIT_OK;
out:
    msgsec_kdf_free(kdf);
    OPENSSL_cleanse(k_ausf, sizeof(k_ausf));
    OPENSSL_cleanse(k_akma, sizeof(k_akma));
    OPENSSL_cleanse(k_af, sizeof(k_af));
    return rc;
}

int msgsec_cmd_akma_derive(const msgsec_cli_command *cmd, int argc,
                           char **argv)
{
    derive_opts o;
    int rc;

    (void)cmd;
    rc = parse_derive(argc, argv, &o);
    if (rc >= 0)
        return rc;
    return derive(&o);
}

/* ---------------------------------------------------------- register */

#define REGISTER "akma register"

const char msgsec_akma_register_usage[] =
    "Usage: msgsec akma register --aanf URL --kausf HEX --supi SUPI\n"
    "                            --rid RID --mcc MCC --mnc MNC [OPTION]...\n"
    "\n"
    "Plays the AUSF of TS 33.535: derives K_AKMA and the A-KID of a UE from\n"
    "K_AUSF and registers them with the AAnF (Naanf_AKMA_AnchorKey_Register,\n"
    "POST {apiRoot}/naanf-akma/v1/register-anchorkey with an AkmaKeyInfo).\n"
    "Prints the A-KID on success, alone on one line.\n"
    "\n"
    "  --aanf URL            the AAnF's apiRoot, e.g. http://127.0.0.1:8081\n"
    "  --kausf HEX           K_AUSF, 64 hex digits (32 bytes)\n"
    "  --supi SUPI           the SUPI, sent as given; imsi-DIGITS goes into\n"
    "                        the KDF as DIGITS (TS 33.501 A.7.0)\n"
    "  --rid RID             routing indicator, 1 to 4 digits\n"
    "  --mcc MCC             home network MCC, 3 digits\n"
    "  --mnc MNC             home network MNC, 2 or 3 digits\n"
    "  --akid-separator SEP  between RID and A-TID (default \".\")\n"
    "  --akid-encoding ENC   the A-TID in the A-KID: hex (default) or\n"
    "                        base64url\n"
    "  --key-encoding ENC    kAkma in the body: hex (default) or base64\n"
    "  --http-version V      2-prior-knowledge (default), 2 or 1.1\n"
    "  --timeout-ms N        give up after N milliseconds (default 5000)\n"
    "  -h, --help            show this help\n"
    "  -V, --version         show the version\n"
    "\n"
    "The settings must match those of the AAnF and the AFs (msgsec-akma(7)).\n"
    "Exit status: 0 registered, 2 usage error, 4 the AAnF could not be\n"
    "reached or refused (the reason is printed).\n";

enum {
    ROPT_AANF = 256,
    ROPT_KAUSF,
    ROPT_SUPI,
    ROPT_RID,
    ROPT_MCC,
    ROPT_MNC,
    ROPT_SEP,
    ROPT_ENC,
    ROPT_KEYENC,
    ROPT_HTTP,
    ROPT_TIMEOUT
};

typedef struct register_opts {
    const char *aanf, *kausf, *supi, *rid, *mcc, *mnc, *sep, *enc, *keyenc,
        *http, *timeout;
} register_opts;

/* Returns -1 to go on, or an exit status. */
static int parse_register(int argc, char **argv, register_opts *o)
{
    static const struct option longopts[] = {
        {"aanf", required_argument, NULL, ROPT_AANF},
        {"kausf", required_argument, NULL, ROPT_KAUSF},
        {"supi", required_argument, NULL, ROPT_SUPI},
        {"rid", required_argument, NULL, ROPT_RID},
        {"mcc", required_argument, NULL, ROPT_MCC},
        {"mnc", required_argument, NULL, ROPT_MNC},
        {"akid-separator", required_argument, NULL, ROPT_SEP},
        {"akid-encoding", required_argument, NULL, ROPT_ENC},
        {"key-encoding", required_argument, NULL, ROPT_KEYENC},
        {"http-version", required_argument, NULL, ROPT_HTTP},
        {"timeout-ms", required_argument, NULL, ROPT_TIMEOUT},
        {"help", no_argument, NULL, 'h'},
        {"version", no_argument, NULL, 'V'},
        {NULL, 0, NULL, 0},
    };
    const char **slot[] = {&o->aanf, &o->kausf, &o->supi, &o->rid,
                           &o->mcc,  &o->mnc,   &o->sep,  &o->enc,
                           &o->keyenc, &o->http, &o->timeout};
    int c;

    memset(o, 0, sizeof(*o));
    opterr = 0;
    optind = 0; /* full reinitialisation (GNU getopt) */
    while ((c = getopt_long(argc, argv, "+:hV", longopts, NULL)) != -1) {
        if (c >= ROPT_AANF && c <= ROPT_TIMEOUT) {
            *slot[c - ROPT_AANF] = optarg;
            continue;
        }
        return msgsec_cli_opt_other("msgsec", REGISTER, c,
                                    msgsec_akma_register_usage, argv);
    }
    if (optind < argc)
        return msgsec_cli_usage_error(REGISTER,
                                      REGISTER ": unexpected argument '%s'",
                                      argv[optind]);
    static const char *const names[] = {"--aanf", "--kausf", "--supi",
                                        "--rid",  "--mcc",   "--mnc"};
    for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++)
        if (!*slot[i])
            return msgsec_cli_usage_error(REGISTER,
                                          REGISTER ": %s is required",
                                          names[i]);
    return -1;
}

/* Prints why the AAnF refused (its ProblemDetails when it sent one). */
static void register_refused(const msgsec_http_response *rs)
{
    msgsec_aanf_problem p;
    if (rs->body_len &&
        msgsec_aanf_decode_problem(NULL, rs->body, rs->body_len, &p, NULL) ==
            MSGSEC_OK)
        msgsec_cli_error(REGISTER ": the AAnF answered HTTP %d%s%s%s%s%s%s%s",
                         rs->status, p.title[0] ? ": " : "", p.title,
                         p.cause[0] ? " (" : "", p.cause,
                         p.cause[0] ? ")" : "", p.detail[0] ? ": " : "",
                         p.detail);
    else
        msgsec_cli_error(REGISTER ": the AAnF answered HTTP %d", rs->status);
}

static int do_register(const register_opts *o)
{
    uint8_t k_ausf[MSGSEC_AKMA_KEY_LEN], a_tid[MSGSEC_AKMA_A_TID_LEN];
    msgsec_aanf_key_info ki;
    msgsec_akid_settings set;
    msgsec_aanf_settings aset;
    msgsec_http_config hc = {.size = sizeof(hc)};
    msgsec_http_client *client = NULL;
    msgsec_http_request *req = NULL;
    char url[MSGSEC_HTTP_MAX_URL], body[1024], detail[256] = "";
    const char *why = "invalid value", *value;
    size_t len;
    int rc = MSGSEC_EXIT_USAGE;

    memset(&ki, 0, sizeof(ki));
    msgsec_akid_settings_default(&set);
    msgsec_aanf_settings_default(&aset);
    if (!parse_hex(o->kausf, k_ausf, sizeof(k_ausf))) {
        msgsec_cli_usage_error(REGISTER, REGISTER ": --kausf must be 64 hex "
                                                 "digits (32 bytes)");
        goto out;
    }
    if (strlen(o->supi) > MSGSEC_AANF_ID_MAX ||
        msgsec_akma_supi_value(o->supi, strlen(o->supi), &value, &len) !=
            MSGSEC_OK) {
        msgsec_cli_usage_error(REGISTER,
                               REGISTER ": --supi '%s': empty, too long, or "
                                        "imsi- not followed by 5 to 15 digits",
                               o->supi);
        goto out;
    }
    if (!digits(o->rid, 1, MSGSEC_AKID_RID_MAX) || !digits(o->mcc, 3, 3) ||
        !digits(o->mnc, 2, 3)) {
        msgsec_cli_usage_error(REGISTER, REGISTER ": --rid takes 1 to 4 "
                                                 "digits, --mcc 3, --mnc 2 or "
                                                 "3");
        goto out;
    }
    if ((o->sep && msgsec_akid_settings_set(&set, MSGSEC_AKID_KEY_SEPARATOR,
                                            o->sep, &why) != MSGSEC_OK) ||
        (o->enc &&
         msgsec_akid_settings_set(&set, MSGSEC_AKID_KEY_ATID_ENCODING, o->enc,
                                  &why) != MSGSEC_OK) ||
        (o->keyenc &&
         msgsec_aanf_settings_set(&aset, MSGSEC_AANF_KEY_KEY_ENCODING,
                                  o->keyenc, &why) != MSGSEC_OK)) {
        msgsec_cli_usage_error(REGISTER, REGISTER ": %s", why);
        goto out;
    }
    if (o->http && msgsec_http_version_from_name(o->http, &hc.version) !=
                       MSGSEC_OK) {
        msgsec_cli_usage_error(REGISTER, REGISTER ": --http-version must be "
                                                 "2-prior-knowledge, 2 or "
                                                 "1.1");
        goto out;
    }
    if (o->timeout) {
        char *end;
        long t = strtol(o->timeout, &end, 10);
        if (!*o->timeout || *end || t < 1 || t > 600000) {
            msgsec_cli_usage_error(REGISTER, REGISTER ": --timeout-ms takes "
                                                     "1 to 600000");
            goto out;
        }
        hc.timeout_ms = t;
    }
    if (msgsec_aanf_url(o->aanf, MSGSEC_AANF_PATH_REGISTER, url,
                        sizeof(url)) != MSGSEC_OK) {
        msgsec_cli_usage_error(REGISTER, REGISTER ": --aanf '%s' is not an "
                                                 "http:// or https:// apiRoot",
                               o->aanf);
        goto out;
    }

    rc = MSGSEC_EXIT_INTERNAL;
    int r = msgsec_akma_derive_k_akma(NULL, k_ausf, sizeof(k_ausf), o->supi,
                                      strlen(o->supi), ki.k_akma);
    if (r == MSGSEC_OK)
        r = msgsec_akma_derive_a_tid(NULL, k_ausf, sizeof(k_ausf), o->supi,
                                     strlen(o->supi), a_tid);
    if (r == MSGSEC_OK)
        r = msgsec_akid_build(&set, o->rid, strlen(o->rid), a_tid, o->mcc,
                              strlen(o->mcc), o->mnc, strlen(o->mnc),
                              ki.a_kid, sizeof(ki.a_kid), &len);
    snprintf(ki.supi, sizeof(ki.supi), "%s", o->supi);
    if (r == MSGSEC_OK)
        r = msgsec_aanf_encode_key_info(&aset, &ki, body, sizeof(body), &len);
    if (r != MSGSEC_OK) {
        msgsec_cli_error(REGISTER ": %s", msgsec_strerror(r));
        goto out;
    }
    if (msgsec_http_client_new(&hc, &client, detail, sizeof(detail)) !=
        MSGSEC_OK) {
        msgsec_cli_error(REGISTER ": HTTP client: %s", detail);
        goto out;
    }
    static const char *const headers[] = {
        "Content-Type: " MSGSEC_AANF_MEDIA_JSON,
        "Accept: " MSGSEC_AANF_MEDIA_JSON ", " MSGSEC_AANF_MEDIA_PROBLEM,
        NULL};
    msgsec_http_request_spec spec = {.method = "POST",
                                     .url = url,
                                     .headers = headers,
                                     .body = body,
                                     .body_len = len};
    r = msgsec_http_perform(client, &spec, &req);
    const msgsec_http_response *rs = msgsec_http_request_response(req);
    if (r != MSGSEC_OK || !rs) {
        msgsec_cli_error(REGISTER ": the request could not be made: %s",
                         msgsec_strerror(r));
    } else if (rs->result != MSGSEC_OK) {
        msgsec_cli_error(REGISTER ": %s", rs->detail);
    } else if (rs->status != 200 && rs->status != 201 && rs->status != 204) {
        register_refused(rs);
    } else {
        printf("%s\n", ki.a_kid);
        rc = MSGSEC_EXIT_OK;
    }
out:
    msgsec_http_request_free(req);
    msgsec_http_client_free(client);
    OPENSSL_cleanse(k_ausf, sizeof(k_ausf));
    OPENSSL_cleanse(body, sizeof(body));
    msgsec_aanf_clear(&ki, sizeof(ki));
    return rc;
}

int msgsec_cmd_akma_register(const msgsec_cli_command *cmd, int argc,
                             char **argv)
{
    register_opts o;
    int rc;

    (void)cmd;
    rc = parse_register(argc, argv, &o);
    if (rc >= 0)
        return rc;
    return do_register(&o);
}
