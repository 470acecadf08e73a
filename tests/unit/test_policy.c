/* test_policy.c - the policy parser: structures, defaults, every error class
 * with its line, duplicates, continuation lines, comments, file safety. */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "internal.h"
#include "testutil.h"

/* ------------------------------------------------------------ helpers */

#define MAX_DIAGS 64

typedef struct diag_rec {
    char file[256];
    int line;
    int code;
    char msg[MSGSEC_DETAIL_MAX];
} diag_rec;

static diag_rec diags[MAX_DIAGS];
static int ndiags; /* calls; the first MAX_DIAGS are kept */
static msgsec_mem mem;

static void collect(void *ud, const msgsec_diagnostic *d)
{
    (void)ud;
    CU_ASSERT_PTR_NOT_NULL(d->file);
    CU_ASSERT_PTR_NOT_NULL(d->message);
    if (ndiags++ >= MAX_DIAGS)
        return;
    diag_rec *r = &diags[ndiags - 1];
    snprintf(r->file, sizeof(r->file), "%s", d->file);
    snprintf(r->msg, sizeof(r->msg), "%s", d->message);
    r->line = d->line;
    r->code = d->code;
}

static void dump_diags(void)
{
    for (int i = 0; i < ndiags && i < MAX_DIAGS; i++)
        fprintf(stderr, "    %s:%d: %s: %s\n", diags[i].file, diags[i].line,
                msgsec_error_name(diags[i].code), diags[i].msg);
}

/* True when a diagnostic with this line, code and text was reported. */
static int has_diag(int line, int code, const char *text)
{
    for (int i = 0; i < ndiags && i < MAX_DIAGS; i++)
        if (diags[i].line == line && diags[i].code == code &&
            (!text || strstr(diags[i].msg, text)))
            return 1;
    fprintf(stderr, "\n  missing %d %s \"%s\"; have:\n", line,
            msgsec_error_name(code), text ? text : "");
    dump_diags();
    return 0;
}

static msgsec_diag_sink sink;

static int load(const char *path, const char *text, int check,
                msgsec_policy **out)
{
    ndiags = 0;
    memset(&sink, 0, sizeof(sink));
    sink.cb = collect;
    return msgsec_policy_load(&mem, path, text, "t.conf", check, &sink, out);
}

/* Loads text that must be valid; NULL after a failed assertion. */
static msgsec_policy *load_ok(const char *text)
{
    msgsec_policy *p = NULL;
    int rc = load(NULL, text, 0, &p);
    if (rc != 0)
        dump_diags();
    CU_ASSERT_EQUAL(rc, 0);
    CU_ASSERT_EQUAL(ndiags, 0);
    CU_ASSERT_EQUAL(sink.first_code, 0);
    return p;
}

/* Loads text that must fail with code (the first problem). */
static void load_bad(const char *text, int code)
{
    msgsec_policy *p = (msgsec_policy *)&p; /* must be reset to NULL */
    int rc = load(NULL, text, 0, &p);
    if (rc != code) {
        fprintf(stderr, "\n  expected %s, got %s\n", msgsec_error_name(code),
                msgsec_error_name(rc));
        dump_diags();
    }
    CU_ASSERT_EQUAL(rc, code);
    CU_ASSERT_PTR_NULL(p);
    CU_ASSERT(ndiags >= 1);
    CU_ASSERT_EQUAL(sink.count, ndiags);
    CU_ASSERT_EQUAL(sink.first_code, code);
}

static const msgsec_pol_provider *prov(const msgsec_policy *p,
                                       const char *name)
{
    for (size_t i = 0; i < p->nproviders; i++)
        if (strcmp(p->providers[i].name, name) == 0)
            return &p->providers[i];
    return NULL;
}

static const msgsec_pol_service *svc(const msgsec_policy *p, const char *name)
{
    for (size_t i = 0; i < p->nservices; i++)
        if (strcmp(p->services[i].name, name) == 0)
            return &p->services[i];
    return NULL;
}

/* Writes raw bytes (NULs allowed) to a fresh 0600 policy file. */
static const char *write_raw(const void *data, size_t len)
{
    const char *path = msgsec_test_write_policy("");
    CU_ASSERT_PTR_NOT_NULL_FATAL(path);
    int fd = open(path, O_WRONLY | O_TRUNC);
    CU_ASSERT_FATAL(fd >= 0);
    CU_ASSERT_EQUAL(write(fd, data, len), (ssize_t)len);
    close(fd);
    return path;
}

/* -------------------------------------------------------- valid input */

static void test_full_structures(void)
{
    static const char text[] =
        "; msgsec policy\n"                                   /* 1 */
        "[core]\n"                                            /* 2 */
        "provider_dir = /opt/msgsec/providers\n"              /* 3 */
        "allow_insecure = no\n"                               /* 4 */
        "seal_client = yes\n"                                 /* 5 */
        "\n"                                                  /* 6 */
        "[provider.akma]\n"                                   /* 7 */
        "support = mandatory\n"                               /* 8 */
        "AANF_URI = http://127.0.0.1:8081 ; own key\n"        /* 9 */
        "module = akma\n"                                     /* 10 */
        "sha256 = 00112233445566778899AABBCCDDEEFF"
        "00112233445566778899aabbccddeeff\n"                  /* 11 */
        "af_id = msgin5g.example.org\n"                       /* 12 */
        "[provider.seal-tlspsk]\n"                            /* 13 */
        "support = mandatory-if-seal-client\n"                /* 14 */
        "module = \"/opt/msgsec/my providers/seal.so\"\n"     /* 15 */
        "[service.msgin5g-1]\n"                               /* 16 */
        "use = seal-tlspsk, akma\n"                           /* 17 */
        "negotiation = implicit\n"                            /* 18 */
        "require = mutual-auth, confidentiality\n"            /* 19 */
        "[service.lab_2]\n"                                   /* 20 */
        "use = null\n"                                        /* 21 */
        "negotiation = explicit\n"                            /* 22 */
        "framing = stream\n"                                  /* 23 */
        "allow_insecure = yes\n";                             /* 24 */
    msgsec_policy *p = load_ok(text);
    CU_ASSERT_PTR_NOT_NULL_FATAL(p);
    CU_ASSERT_STRING_EQUAL(p->file, "t.conf");
    CU_ASSERT_STRING_EQUAL(p->provider_dir, "/opt/msgsec/providers");
    CU_ASSERT_EQUAL(p->provider_dir_line, 3);
    CU_ASSERT_EQUAL(p->allow_insecure, 0);
    CU_ASSERT_EQUAL(p->allow_insecure_line, 4);
    CU_ASSERT_EQUAL(p->seal_client, 1);
    CU_ASSERT_EQUAL(p->seal_client_line, 5);

    CU_ASSERT_EQUAL_FATAL(p->nproviders, 2);
    const msgsec_pol_provider *a = &p->providers[0];
    CU_ASSERT_STRING_EQUAL(a->name, "akma");
    CU_ASSERT_EQUAL(a->line, 7);
    CU_ASSERT_EQUAL(a->support, MSGSEC_SUPPORT_MANDATORY);
    CU_ASSERT_EQUAL(a->support_line, 8);
    CU_ASSERT_STRING_EQUAL(a->module, "akma");
    CU_ASSERT_EQUAL(a->module_line, 10);
    CU_ASSERT_EQUAL(a->has_pin, 1);
    CU_ASSERT_EQUAL(a->pin_line, 11);
    static const unsigned char pin[32] = {
        0x00, 0x11, 0x22, 0x33, 0x44, 0x55, 0x66, 0x77, 0x88, 0x99, 0xaa,
        0xbb, 0xcc, 0xdd, 0xee, 0xff, 0x00, 0x11, 0x22, 0x33, 0x44, 0x55,
        0x66, 0x77, 0x88, 0x99, 0xaa, 0xbb, 0xcc, 0xdd, 0xee, 0xff};
    CU_ASSERT_EQUAL(memcmp(a->pin, pin, 32), 0);
    /* The provider's own keys, in file order, lower case, with lines. */
    CU_ASSERT_EQUAL_FATAL(a->nkeys, 2);
    CU_ASSERT_STRING_EQUAL(a->keys[0].key, "aanf_uri");
    CU_ASSERT_STRING_EQUAL(a->keys[0].value, "http://127.0.0.1:8081");
    CU_ASSERT_EQUAL(a->keys[0].line, 9);
    CU_ASSERT_EQUAL(a->keys[0].used, 0);
    CU_ASSERT_STRING_EQUAL(a->keys[1].key, "af_id");
    CU_ASSERT_STRING_EQUAL(a->keys[1].value, "msgin5g.example.org");
    CU_ASSERT_EQUAL(a->keys[1].line, 12);

    const msgsec_pol_provider *s = &p->providers[1];
    CU_ASSERT_STRING_EQUAL(s->name, "seal-tlspsk");
    CU_ASSERT_EQUAL(s->line, 13);
    CU_ASSERT_EQUAL(s->support, MSGSEC_SUPPORT_MANDATORY_IF_SEAL_CLIENT);
    CU_ASSERT_EQUAL(s->support_line, 14);
    /* Quoted: the blank is kept, the quotes are not. */
    CU_ASSERT_STRING_EQUAL(s->module, "/opt/msgsec/my providers/seal.so");
    CU_ASSERT_EQUAL(s->has_pin, 0);
    CU_ASSERT_EQUAL(s->nkeys, 0);
    CU_ASSERT_PTR_NULL(s->keys);

    CU_ASSERT_EQUAL_FATAL(p->nservices, 2);
    const msgsec_pol_service *m = &p->services[0];
    CU_ASSERT_STRING_EQUAL(m->name, "msgin5g-1");
    CU_ASSERT_EQUAL(m->line, 16);
    CU_ASSERT_EQUAL_FATAL(m->nuse, 2);
    CU_ASSERT_STRING_EQUAL(m->use[0], "seal-tlspsk"); /* order kept */
    CU_ASSERT_STRING_EQUAL(m->use[1], "akma");
    CU_ASSERT_EQUAL(m->use_line, 17);
    CU_ASSERT_EQUAL(m->negotiation, MSGSEC_NEG_IMPLICIT);
    CU_ASSERT_EQUAL(m->negotiation_line, 18);
    CU_ASSERT_EQUAL(m->require,
                    MSGSEC_CAP_MUTUAL_AUTH | MSGSEC_CAP_CONFIDENTIALITY);
    CU_ASSERT_EQUAL(m->require_line, 19);
    CU_ASSERT_EQUAL(m->framing, MSGSEC_FRAMING_MESSAGE);
    CU_ASSERT_EQUAL(m->allow_insecure, -1);

    const msgsec_pol_service *l = &p->services[1];
    CU_ASSERT_STRING_EQUAL(l->name, "lab_2");
    CU_ASSERT_EQUAL(l->line, 20);
    CU_ASSERT_EQUAL_FATAL(l->nuse, 1);
    CU_ASSERT_STRING_EQUAL(l->use[0], "null"); /* built in: no section */
    CU_ASSERT_EQUAL(l->negotiation, MSGSEC_NEG_EXPLICIT);
    CU_ASSERT_EQUAL(l->negotiation_line, 22);
    CU_ASSERT_EQUAL(l->framing, MSGSEC_FRAMING_STREAM);
    CU_ASSERT_EQUAL(l->allow_insecure, 1);
    CU_ASSERT_EQUAL(l->allow_insecure_line, 24);
    CU_ASSERT_EQUAL(l->require, 0);
    msgsec_policy_free(&mem, p);
}

static void test_defaults(void)
{
    msgsec_policy *p = load_ok("[provider.a]\n[service.s]\nuse = a\n");
    CU_ASSERT_PTR_NOT_NULL_FATAL(p);
    CU_ASSERT_PTR_NULL(p->provider_dir);
    CU_ASSERT_EQUAL(p->provider_dir_line, 0);
    CU_ASSERT_EQUAL(p->allow_insecure, 0);
    CU_ASSERT_EQUAL(p->allow_insecure_line, 0);
    CU_ASSERT_EQUAL(p->seal_client, 0);
    CU_ASSERT_EQUAL(p->seal_client_line, 0);
    CU_ASSERT_EQUAL_FATAL(p->nproviders, 1);
    const msgsec_pol_provider *a = &p->providers[0];
    CU_ASSERT_EQUAL(a->support, MSGSEC_SUPPORT_OPTIONAL);
    CU_ASSERT_EQUAL(a->support_line, 0);
    CU_ASSERT_PTR_NULL(a->module);
    CU_ASSERT_EQUAL(a->has_pin, 0);
    CU_ASSERT_EQUAL(a->nkeys, 0);
    CU_ASSERT_EQUAL_FATAL(p->nservices, 1);
    const msgsec_pol_service *s = &p->services[0];
    CU_ASSERT_EQUAL(s->negotiation, MSGSEC_NEG_IMPLICIT);
    CU_ASSERT_EQUAL(s->negotiation_line, 0);
    CU_ASSERT_EQUAL(s->framing, MSGSEC_FRAMING_MESSAGE);
    CU_ASSERT_EQUAL(s->require, 0);
    CU_ASSERT_EQUAL(s->allow_insecure, -1);
    msgsec_policy_free(&mem, p);
}

static void test_empty_and_provider_only(void)
{
    msgsec_policy *p = load_ok("");
    CU_ASSERT_PTR_NOT_NULL_FATAL(p);
    CU_ASSERT_EQUAL(p->nproviders, 0);
    CU_ASSERT_EQUAL(p->nservices, 0);
    msgsec_policy_free(&mem, p);

    p = load_ok("; only comments\n# and blank lines\n\n   \n");
    CU_ASSERT_PTR_NOT_NULL_FATAL(p);
    CU_ASSERT_EQUAL(p->nservices, 0);
    msgsec_policy_free(&mem, p);

    /* No service: still valid (msgsec providers lists what loads). */
    p = load_ok("[core]\n[provider.akma]\nsupport = mandatory\n");
    CU_ASSERT_PTR_NOT_NULL_FATAL(p);
    CU_ASSERT_EQUAL(p->nproviders, 1);
    CU_ASSERT_EQUAL(p->nservices, 0);
    msgsec_policy_free(&mem, p);
}

static void test_support_words(void)
{
    static const struct {
        const char *word;
        int support;
    } words[] = {
        {"mandatory", MSGSEC_SUPPORT_MANDATORY},
        {"optional", MSGSEC_SUPPORT_OPTIONAL},
        {"off", MSGSEC_SUPPORT_OFF},
        {"mandatory-if-seal-client", MSGSEC_SUPPORT_MANDATORY_IF_SEAL_CLIENT},
    };
    for (size_t i = 0; i < sizeof(words) / sizeof(words[0]); i++) {
        char text[256];
        snprintf(text, sizeof(text),
                 "[core]\nseal_client = no\n[provider.x]\nsupport = %s\n",
                 words[i].word);
        msgsec_policy *p = load_ok(text);
        CU_ASSERT_PTR_NOT_NULL_FATAL(p);
        CU_ASSERT_EQUAL(p->providers[0].support, words[i].support);
        CU_ASSERT_EQUAL(p->providers[0].support_line, 4);
        /* The conditional word is kept as written: the core decides it
         * from seal_client. */
        CU_ASSERT_EQUAL(p->seal_client, 0);
        msgsec_policy_free(&mem, p);
    }
    load_bad("[provider.x]\nsupport = Mandatory\n",
             MSGSEC_ERR_POLICY_BAD_VALUE);
    CU_ASSERT(has_diag(2, MSGSEC_ERR_POLICY_BAD_VALUE,
                       "[provider.x] support: \"Mandatory\""));
    load_bad("[provider.x]\nsupport = mandatory-if-seal\n",
             MSGSEC_ERR_POLICY_BAD_VALUE);
    CU_ASSERT(has_diag(2, MSGSEC_ERR_POLICY_BAD_VALUE, "support"));
    load_bad("[provider.x]\nsupport =\n", MSGSEC_ERR_POLICY_BAD_VALUE);
}

static void test_value_forms(void)
{
    /* Case-insensitive section and key names; quoting; inline comments. */
    msgsec_policy *p = load_ok("[CORE]\n"
                               "Allow_Insecure = 'yes'\n"
                               "SEAL_CLIENT = \"no\" ; quoted\n"
                               "[Provider.p1]\n"
                               "token = \"a;b#c\"\n"
                               "empty =\n"
                               "empty2 = \"\"\n"
                               "hash = x # comment\n"
                               "[SERVICE.s]\n"
                               "USE = p1,null # both\n"
                               "require =\n"
                               "framing = message\n");
    CU_ASSERT_PTR_NOT_NULL_FATAL(p);
    CU_ASSERT_EQUAL(p->allow_insecure, 1);
    CU_ASSERT_EQUAL(p->seal_client, 0);
    CU_ASSERT_EQUAL(p->seal_client_line, 3);
    const msgsec_pol_provider *p1 = prov(p, "p1");
    CU_ASSERT_PTR_NOT_NULL_FATAL(p1);
    CU_ASSERT_EQUAL_FATAL(p1->nkeys, 4);
    CU_ASSERT_STRING_EQUAL(p1->keys[0].value, "a;b#c");
    CU_ASSERT_STRING_EQUAL(p1->keys[1].value, "");
    CU_ASSERT_STRING_EQUAL(p1->keys[2].value, "");
    CU_ASSERT_STRING_EQUAL(p1->keys[3].value, "x");
    const msgsec_pol_service *s = svc(p, "s");
    CU_ASSERT_PTR_NOT_NULL_FATAL(s);
    CU_ASSERT_EQUAL_FATAL(s->nuse, 2);
    CU_ASSERT_STRING_EQUAL(s->use[0], "p1");
    CU_ASSERT_STRING_EQUAL(s->use[1], "null");
    CU_ASSERT_EQUAL(s->require, 0);
    CU_ASSERT_EQUAL(s->framing, MSGSEC_FRAMING_MESSAGE);
    msgsec_policy_free(&mem, p);

    /* Every capability name is accepted in require. */
    p = load_ok("[service.s]\nuse = null\nrequire = client, server, "
                "mutual-auth, confidentiality, integrity, replay-detection, "
                "forward-secrecy, key-export, insecure, implicit\n");
    CU_ASSERT_PTR_NOT_NULL_FATAL(p);
    CU_ASSERT_EQUAL(p->services[0].require, MSGSEC_CAP_KNOWN_MASK);
    msgsec_policy_free(&mem, p);

    /* A declared null provider may carry options. */
    p = load_ok("[provider.null]\nsupport = optional\n"
                "[service.s]\nuse = null\n");
    CU_ASSERT_PTR_NOT_NULL_FATAL(p);
    CU_ASSERT_PTR_NOT_NULL(prov(p, "null"));
    msgsec_policy_free(&mem, p);
}

static void test_continuation_and_comments(void)
{
    msgsec_policy *p = load_ok("# comment\n"                      /* 1 */
                               "; another\n"                      /* 2 */
                               "[provider.a]\n"                   /* 3 */
                               "[provider.b]\n"                   /* 4 */
                               "[provider.c]\n"                   /* 5 */
                               "   ; indented comment\n"          /* 6 */
                               "[service.s]\r\n"                  /* 7 */
                               "use = a, \\\n"                    /* 8 */
                               "      b, \\\n"                    /* 9 */
                               "      c\r\n"                      /* 10 */
                               "; a comment continued \\\n"       /* 11 */
                               "negotiation = explicit\n"         /* 12 */
                               "require = integrity\n");          /* 13 */
    CU_ASSERT_PTR_NOT_NULL_FATAL(p);
    const msgsec_pol_service *s = svc(p, "s");
    CU_ASSERT_PTR_NOT_NULL_FATAL(s);
    CU_ASSERT_EQUAL(s->line, 7);
    CU_ASSERT_EQUAL_FATAL(s->nuse, 3);
    CU_ASSERT_STRING_EQUAL(s->use[0], "a");
    CU_ASSERT_STRING_EQUAL(s->use[1], "b");
    CU_ASSERT_STRING_EQUAL(s->use[2], "c");
    /* A continued line is attributed to its first physical line. */
    CU_ASSERT_EQUAL(s->use_line, 8);
    /* As in iniparser, a comment ending in '\' swallows the next line. */
    CU_ASSERT_EQUAL(s->negotiation, MSGSEC_NEG_IMPLICIT);
    CU_ASSERT_EQUAL(s->negotiation_line, 0);
    CU_ASSERT_EQUAL(s->require_line, 13);
    msgsec_policy_free(&mem, p);

    /* Problems after continuation lines carry the right line. */
    load_bad("[service.s]\n"
             "use = \\\n"
             "  null\n"
             "negotiation = \\\n"
             "   \\\n"
             "   sometimes\n"
             "framing = datagram\n",
             MSGSEC_ERR_POLICY_BAD_VALUE);
    CU_ASSERT(has_diag(4, MSGSEC_ERR_POLICY_BAD_VALUE, "negotiation"));
    CU_ASSERT(has_diag(7, MSGSEC_ERR_POLICY_BAD_VALUE, "framing"));
    CU_ASSERT_EQUAL(ndiags, 2);
}

/* ------------------------------------------------------- error classes */

static void test_syntax_errors(void)
{
    load_bad("[core]\nallow_insecure\n", MSGSEC_ERR_POLICY_SYNTAX);
    CU_ASSERT(has_diag(2, MSGSEC_ERR_POLICY_SYNTAX, "key = value"));
    CU_ASSERT_STRING_EQUAL(sink.first, "t.conf:2: expected \"key = value\", "
                                       "a [section] header or a comment");

    load_bad("\n\n[core\n", MSGSEC_ERR_POLICY_SYNTAX);
    CU_ASSERT(has_diag(3, MSGSEC_ERR_POLICY_SYNTAX, NULL));
    load_bad("[core] ; header comment\n", MSGSEC_ERR_POLICY_SYNTAX);
    CU_ASSERT(has_diag(1, MSGSEC_ERR_POLICY_SYNTAX, NULL));
    load_bad("[core]\n= yes\n", MSGSEC_ERR_POLICY_SYNTAX);
    CU_ASSERT(has_diag(2, MSGSEC_ERR_POLICY_SYNTAX, NULL));
    load_bad("[provider.a]\nx = \"open\n", MSGSEC_ERR_POLICY_SYNTAX);
    CU_ASSERT(has_diag(2, MSGSEC_ERR_POLICY_SYNTAX, "unterminated"));
    load_bad("[provider.a]\nx = 'open\n", MSGSEC_ERR_POLICY_SYNTAX);
    CU_ASSERT(has_diag(2, MSGSEC_ERR_POLICY_SYNTAX, "unterminated"));
    load_bad("[provider.a]\nx = \"a\\\"b\"\n", MSGSEC_ERR_POLICY_SYNTAX);
    CU_ASSERT(has_diag(2, MSGSEC_ERR_POLICY_SYNTAX, "after the quoted"));
    load_bad("[provider.a]\nmy key = 1\n", MSGSEC_ERR_POLICY_SYNTAX);
    CU_ASSERT(has_diag(2, MSGSEC_ERR_POLICY_SYNTAX, "bad key name \"my key\""));
    load_bad("[provider.a]\nx:y = 1\n", MSGSEC_ERR_POLICY_SYNTAX);
    CU_ASSERT(has_diag(2, MSGSEC_ERR_POLICY_SYNTAX, "bad key name"));
    load_bad("allow_insecure = yes\n[core]\n", MSGSEC_ERR_POLICY_SYNTAX);
    CU_ASSERT(has_diag(1, MSGSEC_ERR_POLICY_SYNTAX, "outside of any"));
    load_bad("[core]\n[a]b]\n", MSGSEC_ERR_POLICY_SYNTAX);
    CU_ASSERT(has_diag(2, MSGSEC_ERR_POLICY_SYNTAX, "malformed section"));
    load_bad("[core]\n[  ]\n", MSGSEC_ERR_POLICY_SYNTAX);
    CU_ASSERT(has_diag(2, MSGSEC_ERR_POLICY_SYNTAX, "empty section name"));
    /* iniparser drops a line continued past the end of the file. */
    load_bad("[service.s]\nuse = null\nrequire = integrity \\\n",
             MSGSEC_ERR_POLICY_SYNTAX);
    CU_ASSERT(has_diag(3, MSGSEC_ERR_POLICY_SYNTAX, "continuation"));
    CU_ASSERT_EQUAL(ndiags, 1);

    /* Keys under a malformed header are not reported again. */
    load_bad("[a]b]\nx = 1\ny = 2\n", MSGSEC_ERR_POLICY_SYNTAX);
    CU_ASSERT_EQUAL(ndiags, 1);
}

static void test_long_line_and_nul(void)
{
    /* iniparser's line buffer: 1022 characters, continuations included. */
    char text[4096];
    int n = snprintf(text, sizeof(text), "[provider.a]\nk = ");
    memset(text + n, 'v', 1018);
    n += 1018;
    n += snprintf(text + n, sizeof(text) - (size_t)n, "\n");
    msgsec_policy *p = load_ok(text); /* exactly 1022 */
    CU_ASSERT_PTR_NOT_NULL_FATAL(p);
    CU_ASSERT_EQUAL(strlen(p->providers[0].keys[0].value), 1018);
    msgsec_policy_free(&mem, p);

    n = snprintf(text, sizeof(text), "[provider.a]\nk = ");
    memset(text + n, 'v', 1019);
    n += 1019;
    snprintf(text + n, sizeof(text) - (size_t)n, "\nsupport = bad\n");
    load_bad(text, MSGSEC_ERR_POLICY_SYNTAX);
    CU_ASSERT(has_diag(2, MSGSEC_ERR_POLICY_SYNTAX, "too long"));
    /* The rest of the file is still checked. */
    CU_ASSERT(has_diag(3, MSGSEC_ERR_POLICY_BAD_VALUE, "support"));

    /* "k = " stays in the buffer: 1018 more fit, not 1019. */
    n = snprintf(text, sizeof(text), "[provider.a]\nk = \\\n");
    memset(text + n, 'v', 1018);
    n += 1018;
    snprintf(text + n, sizeof(text) - (size_t)n, "\n");
    p = load_ok(text);
    CU_ASSERT_PTR_NOT_NULL_FATAL(p);
    CU_ASSERT_EQUAL(strlen(p->providers[0].keys[0].value), 1018);
    msgsec_policy_free(&mem, p);
    n = snprintf(text, sizeof(text), "[provider.a]\nk = \\\n");
    memset(text + n, 'v', 1019);
    n += 1019;
    snprintf(text + n, sizeof(text) - (size_t)n, "\n");
    load_bad(text, MSGSEC_ERR_POLICY_SYNTAX);
    CU_ASSERT(has_diag(2, MSGSEC_ERR_POLICY_SYNTAX, "too long"));

    static const char raw[] = "[service.s]\nuse = null\nx\0y = 1\n";
    const char *path = write_raw(raw, sizeof(raw) - 1);
    msgsec_policy *q = NULL;
    CU_ASSERT_EQUAL(load(path, NULL, 1, &q), MSGSEC_ERR_POLICY_SYNTAX);
    CU_ASSERT_PTR_NULL(q);
    CU_ASSERT(has_diag(3, MSGSEC_ERR_POLICY_SYNTAX, "NUL"));
}

static void test_duplicates(void)
{
    load_bad("[core]\n"                 /* 1 */
             "seal_client = yes\n"      /* 2 */
             "[provider.a]\n"           /* 3 */
             "[core]\n"                 /* 4 */
             "seal_client = maybe\n",   /* 5: not checked again */
             MSGSEC_ERR_POLICY_DUPLICATE);
    CU_ASSERT(has_diag(4, MSGSEC_ERR_POLICY_DUPLICATE,
                       "[core]: duplicate section (first at line 1)"));
    CU_ASSERT_EQUAL(ndiags, 1);

    /* Case-folded names are the same section for iniparser. */
    load_bad("[provider.a]\n[PROVIDER.a]\n", MSGSEC_ERR_POLICY_DUPLICATE);
    CU_ASSERT(has_diag(2, MSGSEC_ERR_POLICY_DUPLICATE, "first at line 1"));

    load_bad("[provider.a]\n"           /* 1 */
             "support = off\n"          /* 2 */
             "url = x\n"                /* 3 */
             "Support = mandatory\n",   /* 4 */
             MSGSEC_ERR_POLICY_DUPLICATE);
    CU_ASSERT(has_diag(4, MSGSEC_ERR_POLICY_DUPLICATE,
                       "[provider.a] support: duplicate key "
                       "(first at line 2)"));
    CU_ASSERT_EQUAL(ndiags, 1);

    /* The first value is the one checked, not iniparser's last. */
    load_bad("[core]\nallow_insecure = perhaps\nallow_insecure = yes\n",
             MSGSEC_ERR_POLICY_BAD_VALUE);
    CU_ASSERT(has_diag(2, MSGSEC_ERR_POLICY_BAD_VALUE, "\"perhaps\""));
    CU_ASSERT(has_diag(3, MSGSEC_ERR_POLICY_DUPLICATE, "allow_insecure"));

    load_bad("[provider.a]\n[service.s]\nuse = a, null, a\n",
             MSGSEC_ERR_POLICY_DUPLICATE);
    CU_ASSERT(has_diag(3, MSGSEC_ERR_POLICY_DUPLICATE,
                       "[service.s] use: provider \"a\" is listed twice"));
    load_bad("[service.s]\nuse = null\nrequire = integrity,integrity\n",
             MSGSEC_ERR_POLICY_DUPLICATE);
    CU_ASSERT(has_diag(3, MSGSEC_ERR_POLICY_DUPLICATE, "integrity"));
}

static void test_unknown_keys_and_sections(void)
{
    load_bad("[core]\nprovider_directory = /x\n",
             MSGSEC_ERR_POLICY_UNKNOWN_KEY);
    CU_ASSERT(has_diag(2, MSGSEC_ERR_POLICY_UNKNOWN_KEY,
                       "[core] provider_directory: unknown key"));
    load_bad("[service.s]\nuse = null\nnegociation = explicit\n",
             MSGSEC_ERR_POLICY_UNKNOWN_KEY);
    CU_ASSERT(has_diag(3, MSGSEC_ERR_POLICY_UNKNOWN_KEY,
                       "[service.s] negociation: unknown key"));
    load_bad("\n[providers.a]\n", MSGSEC_ERR_POLICY_UNKNOWN_KEY);
    CU_ASSERT(has_diag(2, MSGSEC_ERR_POLICY_UNKNOWN_KEY,
                       "[providers.a]: unknown section"));
    load_bad("[general]\n", MSGSEC_ERR_POLICY_UNKNOWN_KEY);
    CU_ASSERT(has_diag(1, MSGSEC_ERR_POLICY_UNKNOWN_KEY, "unknown section"));

    /* Keys of a provider section are the provider's own: kept. */
    msgsec_policy *p = load_ok("[provider.a]\nanything-goes.here = 1\n");
    CU_ASSERT_PTR_NOT_NULL_FATAL(p);
    CU_ASSERT_EQUAL(p->providers[0].nkeys, 1);
    msgsec_policy_free(&mem, p);
}

static void test_bad_values(void)
{
    static const struct {
        const char *text;
        int line;
        const char *what;
    } cases[] = {
        {"[core]\nallow_insecure = true\n", 2, "allow_insecure: \"true\""},
        {"[core]\nseal_client = 1\n", 2, "seal_client"},
        {"[core]\nprovider_dir = lib/providers\n", 2, "absolute path"},
        {"[core]\nprovider_dir =\n", 2, "provider_dir"},
        {"[provider.a]\nmodule = ../evil\n", 2, "module"},
        {"[provider.a]\nmodule = sub/dir.so\n", 2, "module"},
        {"[provider.a]\nmodule =\n", 2, "module"},
        {"[provider.a]\nsha256 = abcd\n", 2, "sha256"},
        {"[provider.a]\nsha256 = 00112233445566778899aabbccddeeff"
         "00112233445566778899aabbccddeefg\n",
         2, "64 hexadecimal"},
        {"[provider.a]\nsha256 = x0112233445566778899aabbccddeeff"
         "00112233445566778899aabbccddeeff\n",
         2, "64 hexadecimal"},
        {"\n[provider.AKMA]\n", 2, "provider name \"AKMA\""},
        {"[provider.under_score]\n", 1, "provider name"},
        {"[provider.]\n", 1, "provider name"},
        {"[provider.abcdefghijabcdefghijabcdefghijabc]\n", 1, "1 to 32"},
        {"[service.Big]\nuse = null\n", 1, "service name"},
        {"[service.s]\nuse = null\nnegotiation = both\n", 3, "negotiation"},
        {"[service.s]\nuse = null\nframing = datagram\n", 3, "framing"},
        {"[service.s]\nuse = null\nallow_insecure = on\n", 3,
         "allow_insecure"},
        {"[service.s]\nuse = null\nrequire = mutual-auth, telepathy\n", 3,
         "unknown capability \"telepathy\""},
        {"[service.s]\nuse = null\nrequire = integrity,\n", 3, "empty name"},
        {"[service.s]\nuse = null, , null\n", 2, "empty name"},
        {"[provider.a]\nsupport = off\n[service.s]\nuse = a\n", 4,
         "[service.s] use: provider \"a\" has support = off (line 2)"},
        {"[provider.null]\nsupport = off\n[service.s]\nuse = null\n", 4,
         "support = off"},
    };
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        load_bad(cases[i].text, MSGSEC_ERR_POLICY_BAD_VALUE);
        CU_ASSERT(has_diag(cases[i].line, MSGSEC_ERR_POLICY_BAD_VALUE,
                           cases[i].what));
    }
    /* A 33-character name is one too many; 32 is fine. */
    msgsec_policy *p = load_ok("[provider.abcdefghijabcdefghijabcdefghijab]\n");
    CU_ASSERT_PTR_NOT_NULL(p);
    msgsec_policy_free(&mem, p);
}

static void test_empty_service(void)
{
    load_bad("[service.s]\nnegotiation = explicit\n",
             MSGSEC_ERR_POLICY_EMPTY_SERVICE);
    CU_ASSERT(has_diag(1, MSGSEC_ERR_POLICY_EMPTY_SERVICE,
                       "[service.s]: no use key"));
    load_bad("[service.s]\nuse =\n", MSGSEC_ERR_POLICY_EMPTY_SERVICE);
    CU_ASSERT(has_diag(2, MSGSEC_ERR_POLICY_EMPTY_SERVICE,
                       "[service.s] use: empty list"));
    load_bad("[service.s]\nuse = \"  \"\n", MSGSEC_ERR_POLICY_EMPTY_SERVICE);
    CU_ASSERT(has_diag(2, MSGSEC_ERR_POLICY_EMPTY_SERVICE, "use"));
}

static void test_unknown_provider(void)
{
    msgsec_policy *p = NULL;
    ndiags = 0;
    memset(&sink, 0, sizeof(sink));
    sink.cb = collect;
    int rc = msgsec_policy_load(&mem, NULL,
                                "[provider.akma]\n"       /* 1 */
                                "support = mandatory\n"   /* 2 */
                                "\n\n\n\n\n\n\n\n\n"      /* 3-11 */
                                "[service.msgin5g-1]\n"   /* 12 */
                                "use = akma, akma2\n",    /* 13 */
                                "policy.conf", 0, &sink, &p);
    CU_ASSERT_EQUAL(rc, MSGSEC_ERR_POLICY_UNKNOWN_PROVIDER);
    CU_ASSERT_PTR_NULL(p);
    CU_ASSERT(has_diag(13, MSGSEC_ERR_POLICY_UNKNOWN_PROVIDER,
                       "[service.msgin5g-1] use: provider \"akma2\" is not "
                       "declared"));
    CU_ASSERT_STRING_EQUAL(diags[0].file, "policy.conf");
    CU_ASSERT_EQUAL(strncmp(sink.first,
                            "policy.conf:13: [service.msgin5g-1] use: "
                            "provider \"akma2\" is not declared",
                            strlen("policy.conf:13: [service.msgin5g-1] use: "
                                   "provider \"akma2\" is not declared")),
                    0);
    CU_ASSERT_EQUAL(sink.first_code, MSGSEC_ERR_POLICY_UNKNOWN_PROVIDER);

    /* A provider declared after the service that uses it is fine. */
    p = load_ok("[service.s]\nuse = late\n[provider.late]\n");
    CU_ASSERT_PTR_NOT_NULL(p);
    msgsec_policy_free(&mem, p);
}

static void test_many_diagnostics(void)
{
    static const char text[] = "[service.x]\n"               /* 1 */
                               "use = nope\n"                /* 2 */
                               "[core]\n"                    /* 3 */
                               "allow_insecure = sometimes\n"/* 4 */
                               "colour = blue\n"             /* 5 */
                               "[provider.a]\n"              /* 6 */
                               "support = maybe\n"           /* 7 */
                               "support = off\n"             /* 8 */
                               "[provider.a]\n"              /* 9 */
                               "[mystery]\n"                 /* 10 */
                               "[service.y]\n";              /* 11 */
    const char *path = msgsec_test_write_policy(text);
    CU_ASSERT_PTR_NOT_NULL_FATAL(path);
    ndiags = 0;
    int rc = msgsec_policy_check(path, collect, NULL);
    CU_ASSERT_EQUAL(rc, MSGSEC_ERR_POLICY_UNKNOWN_PROVIDER); /* line 2 */
    CU_ASSERT_EQUAL(ndiags, 8);
    CU_ASSERT(has_diag(2, MSGSEC_ERR_POLICY_UNKNOWN_PROVIDER, "\"nope\""));
    CU_ASSERT(has_diag(4, MSGSEC_ERR_POLICY_BAD_VALUE, "\"sometimes\""));
    CU_ASSERT(has_diag(5, MSGSEC_ERR_POLICY_UNKNOWN_KEY, "colour"));
    CU_ASSERT(has_diag(7, MSGSEC_ERR_POLICY_BAD_VALUE, "\"maybe\""));
    CU_ASSERT(has_diag(8, MSGSEC_ERR_POLICY_DUPLICATE, "support"));
    CU_ASSERT(has_diag(9, MSGSEC_ERR_POLICY_DUPLICATE, "first at line 6"));
    CU_ASSERT(has_diag(10, MSGSEC_ERR_POLICY_UNKNOWN_KEY, "[mystery]"));
    CU_ASSERT(has_diag(11, MSGSEC_ERR_POLICY_EMPTY_SERVICE, "[service.y]"));
    /* Reported in file order, with the file's path. */
    for (int i = 1; i < ndiags && i < MAX_DIAGS; i++)
        CU_ASSERT(diags[i - 1].line <= diags[i].line);
    CU_ASSERT_STRING_EQUAL(diags[0].file, path);

    /* Syntax errors do not hide the other problems. */
    load_bad("[core]\n"
             "seal_client = often\n"
             "what is this\n"
             "[service.s]\n"
             "use = ghost\n",
             MSGSEC_ERR_POLICY_BAD_VALUE);
    CU_ASSERT_EQUAL(ndiags, 3);
    CU_ASSERT(has_diag(2, MSGSEC_ERR_POLICY_BAD_VALUE, "seal_client"));
    CU_ASSERT(has_diag(3, MSGSEC_ERR_POLICY_SYNTAX, NULL));
    CU_ASSERT(has_diag(5, MSGSEC_ERR_POLICY_UNKNOWN_PROVIDER, "ghost"));
}

/* ------------------------------------------------------ files, strings */

static void test_unsafe_file(void)
{
    const char *path =
        msgsec_test_write_policy("[service.s]\nuse = null\n");
    if (!path) {
        CU_FAIL("cannot write a policy file");
        return;
    }
    msgsec_policy *p = NULL;
    CU_ASSERT_EQUAL(load(path, NULL, 1, &p), 0);
    CU_ASSERT_PTR_NOT_NULL(p);
    CU_ASSERT_STRING_EQUAL(p->file, path);
    msgsec_policy_free(&mem, p);
    p = NULL;

    CU_ASSERT_EQUAL(chmod(path, 0666), 0);
    CU_ASSERT_EQUAL(load(path, NULL, 1, &p), MSGSEC_ERR_POLICY_UNSAFE_FILE);
    CU_ASSERT_PTR_NULL(p);
    CU_ASSERT(has_diag(0, MSGSEC_ERR_POLICY_UNSAFE_FILE,
                       "writable by group and others (mode 0666)"));
    CU_ASSERT_PTR_NOT_NULL(strstr(sink.first, path));
    CU_ASSERT_EQUAL(msgsec_policy_check(path, NULL, NULL),
                    MSGSEC_ERR_POLICY_UNSAFE_FILE);
    CU_ASSERT_EQUAL(chmod(path, 0620), 0);
    CU_ASSERT_EQUAL(load(path, NULL, 1, &p), MSGSEC_ERR_POLICY_UNSAFE_FILE);
    CU_ASSERT(has_diag(0, MSGSEC_ERR_POLICY_UNSAFE_FILE, "by group"));
    /* Without the check (the internal option) it loads. */
    CU_ASSERT_EQUAL(load(path, NULL, 0, &p), 0);
    msgsec_policy_free(&mem, p);
    p = NULL;

    CU_ASSERT_EQUAL(chmod(path, 0600), 0);
    CU_ASSERT_EQUAL(msgsec_policy_check(path, NULL, NULL), 0);
    CU_ASSERT_EQUAL(chmod(path, 0644), 0); /* readable by others: fine */
    CU_ASSERT_EQUAL(msgsec_policy_check(path, NULL, NULL), 0);

    /* A symbolic link is refused (O_NOFOLLOW). */
    char link[PATH_MAX];
    snprintf(link, sizeof(link), "%s.lnk", path);
    CU_ASSERT_EQUAL_FATAL(symlink(path, link), 0);
    CU_ASSERT_EQUAL(load(link, NULL, 1, &p), MSGSEC_ERR_POLICY_UNSAFE_FILE);
    CU_ASSERT(has_diag(0, MSGSEC_ERR_POLICY_UNSAFE_FILE, "symbolic link"));
    unlink(link);

    /* A directory is not a policy. */
    char dir[PATH_MAX];
    snprintf(dir, sizeof(dir), "%s", path);
    *strrchr(dir, '/') = '\0';
    CU_ASSERT_EQUAL(load(dir, NULL, 1, &p), MSGSEC_ERR_POLICY_UNSAFE_FILE);
    CU_ASSERT(has_diag(0, MSGSEC_ERR_POLICY_UNSAFE_FILE, "regular file"));
    CU_ASSERT_EQUAL(load(dir, NULL, 0, &p), MSGSEC_ERR_IO);
    CU_ASSERT(has_diag(0, MSGSEC_ERR_IO, strerror(EISDIR)));

    /* Unreadable: the message carries strerror. */
    CU_ASSERT_EQUAL(load("/nonexistent/msgsec.conf", NULL, 1, &p),
                    MSGSEC_ERR_IO);
    CU_ASSERT(has_diag(0, MSGSEC_ERR_IO, strerror(ENOENT)));
    CU_ASSERT_STRING_EQUAL(sink.first, "/nonexistent/msgsec.conf: cannot "
                                       "open: No such file or directory");
}

static void test_check_fd_safe(void)
{
    const char *path = msgsec_test_write_policy("");
    CU_ASSERT_PTR_NOT_NULL_FATAL(path);
    char dir[PATH_MAX], why[256];
    snprintf(dir, sizeof(dir), "%s", path);
    *strrchr(dir, '/') = '\0';
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    int dfd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    CU_ASSERT_FATAL(fd >= 0 && dfd >= 0);
    CU_ASSERT_EQUAL(msgsec_check_fd_safe(fd, 0, why, sizeof(why)), 0);
    CU_ASSERT_EQUAL(msgsec_check_fd_safe(fd, 1, why, sizeof(why)),
                    MSGSEC_ERR_POLICY_UNSAFE_FILE);
    CU_ASSERT_STRING_EQUAL(why, "not a directory");
    CU_ASSERT_EQUAL(msgsec_check_fd_safe(dfd, 1, why, sizeof(why)), 0);
    CU_ASSERT_EQUAL(msgsec_check_fd_safe(dfd, 0, why, sizeof(why)),
                    MSGSEC_ERR_POLICY_UNSAFE_FILE);
    CU_ASSERT_EQUAL(fchmod(dfd, 0777), 0);
    CU_ASSERT_EQUAL(msgsec_check_fd_safe(dfd, 1, why, sizeof(why)),
                    MSGSEC_ERR_POLICY_UNSAFE_FILE);
    CU_ASSERT_PTR_NOT_NULL(strstr(why, "mode 0777"));
    CU_ASSERT_EQUAL(fchmod(dfd, 0700), 0);
    CU_ASSERT_EQUAL(fchmod(fd, 0602), 0);
    CU_ASSERT_EQUAL(msgsec_check_fd_safe(fd, 0, why, sizeof(why)),
                    MSGSEC_ERR_POLICY_UNSAFE_FILE);
    CU_ASSERT_STRING_EQUAL(why, "writable by others (mode 0602)");
    /* The check is on the descriptor: what was opened is what counts. */
    CU_ASSERT_EQUAL(chmod(path, 0600), 0);
    CU_ASSERT_EQUAL(msgsec_check_fd_safe(fd, 0, why, sizeof(why)), 0);
    close(fd);
    close(dfd);
}

static void test_string_policies(void)
{
    ndiags = 0;
    CU_ASSERT_EQUAL(msgsec_policy_check_string("[service.s]\nuse = null\n",
                                               "inline", collect, NULL),
                    0);
    CU_ASSERT_EQUAL(ndiags, 0);
    CU_ASSERT_EQUAL(msgsec_policy_check_string("[service.s]\nuse = x\n",
                                               "inline", collect, NULL),
                    MSGSEC_ERR_POLICY_UNKNOWN_PROVIDER);
    CU_ASSERT_EQUAL(ndiags, 1);
    CU_ASSERT_STRING_EQUAL(diags[0].file, "inline");
    CU_ASSERT_EQUAL(diags[0].line, 2);
    ndiags = 0;
    CU_ASSERT_EQUAL(msgsec_policy_check_string("[x]\n", NULL, collect, NULL),
                    MSGSEC_ERR_POLICY_UNKNOWN_KEY);
    CU_ASSERT_STRING_EQUAL(diags[0].file, "<string>");
    /* No callback: the code alone. */
    CU_ASSERT_EQUAL(msgsec_policy_check_string("[x]\n", NULL, NULL, NULL),
                    MSGSEC_ERR_POLICY_UNKNOWN_KEY);
    /* A last line without a newline counts, even of one character. */
    CU_ASSERT_EQUAL(msgsec_policy_check_string("[core]\nx", NULL, NULL, NULL),
                    MSGSEC_ERR_POLICY_SYNTAX);
    CU_ASSERT_EQUAL(msgsec_policy_check_string("[service.s]\nuse = null",
                                               NULL, NULL, NULL),
                    0);

    CU_ASSERT_EQUAL(msgsec_policy_check_string(NULL, NULL, NULL, NULL),
                    MSGSEC_ERR_INVALID_ARG);
    CU_ASSERT_EQUAL(msgsec_policy_check(NULL, NULL, NULL),
                    MSGSEC_ERR_INVALID_ARG);
    msgsec_policy *p = (msgsec_policy *)&p;
    CU_ASSERT_EQUAL(msgsec_policy_load(&mem, "/x", "", NULL, 0, NULL, &p),
                    MSGSEC_ERR_INVALID_ARG);
    CU_ASSERT_PTR_NULL(p);
    CU_ASSERT_EQUAL(msgsec_policy_load(&mem, NULL, NULL, NULL, 0, NULL, &p),
                    MSGSEC_ERR_INVALID_ARG);
    CU_ASSERT_EQUAL(msgsec_policy_load(&mem, NULL, "", NULL, 0, NULL, NULL),
                    MSGSEC_ERR_INVALID_ARG);
    /* A NULL sink is allowed. */
    CU_ASSERT_EQUAL(msgsec_policy_load(&mem, NULL, "[x]\n", NULL, 0, NULL, &p),
                    MSGSEC_ERR_POLICY_UNKNOWN_KEY);
    CU_ASSERT_PTR_NULL(p);
}

static void test_size_limit(void)
{
    size_t n = 1024 * 1024 + 1;
    char *big = malloc(n + 1);
    CU_ASSERT_PTR_NOT_NULL_FATAL(big);
    memset(big, '\n', n);
    big[n] = '\0';
    load_bad(big, MSGSEC_ERR_POLICY_SYNTAX);
    CU_ASSERT(has_diag(0, MSGSEC_ERR_POLICY_SYNTAX, "larger than 1048576"));
    const char *path = write_raw(big, n);
    msgsec_policy *p = NULL;
    CU_ASSERT_EQUAL(load(path, NULL, 1, &p), MSGSEC_ERR_POLICY_SYNTAX);
    CU_ASSERT(has_diag(0, MSGSEC_ERR_POLICY_SYNTAX, "larger than"));
    /* One byte less is accepted (blank lines). */
    big[n - 1] = '\0';
    p = load_ok(big);
    CU_ASSERT_PTR_NOT_NULL(p);
    msgsec_policy_free(&mem, p);
    free(big);
}

static void test_entry_and_problem_limits(void)
{
    /* iniparser and the duplicate checks scan linearly: at most 4096
     * sections and keys are taken. */
    size_t cap = 4100 * 24, n = 0;
    char *text = malloc(cap);
    CU_ASSERT_PTR_NOT_NULL_FATAL(text);
    for (int i = 0; i < 4100; i++)
        n += (size_t)snprintf(text + n, cap - n, "[provider.p%d]\n", i);
    load_bad(text, MSGSEC_ERR_POLICY_SYNTAX);
    CU_ASSERT_EQUAL(ndiags, 1);
    CU_ASSERT(has_diag(4097, MSGSEC_ERR_POLICY_SYNTAX, "more than 4096"));

    /* At most 1000 problems are listed, then how many more there are. */
    n = 0;
    for (int i = 0; i < 1500; i++)
        n += (size_t)snprintf(text + n, cap - n, "junk\n");
    load_bad(text, MSGSEC_ERR_POLICY_SYNTAX);
    CU_ASSERT_EQUAL(sink.count, 1001);
    CU_ASSERT_EQUAL(diags[0].line, 1);
    CU_ASSERT_STRING_EQUAL(sink.first, "t.conf:1: expected \"key = value\", "
                                       "a [section] header or a comment");
    free(text);
}

static void test_shipped_policy(void)
{
    char path[PATH_MAX];
    snprintf(path, sizeof(path), "%s/../../etc/msgsec.conf",
             msgsec_test_data_dir());
    msgsec_policy *p = NULL;
    int rc = load(path, NULL, 0, &p);
    if (rc != 0)
        dump_diags();
    CU_ASSERT_EQUAL_FATAL(rc, 0);
    CU_ASSERT_EQUAL(p->allow_insecure, 0);
    const msgsec_pol_provider *akma = prov(p, "akma");
    const msgsec_pol_provider *seal = prov(p, "seal-tlspsk");
    CU_ASSERT_PTR_NOT_NULL_FATAL(akma);
    CU_ASSERT_PTR_NOT_NULL_FATAL(seal);
    CU_ASSERT_EQUAL(akma->support, MSGSEC_SUPPORT_MANDATORY);
    CU_ASSERT_EQUAL(seal->support, MSGSEC_SUPPORT_MANDATORY_IF_SEAL_CLIENT);
    const msgsec_pol_service *s = svc(p, "msgin5g-1");
    CU_ASSERT_PTR_NOT_NULL_FATAL(s);
    CU_ASSERT_EQUAL_FATAL(s->nuse, 2);
    CU_ASSERT_STRING_EQUAL(s->use[0], "akma");
    CU_ASSERT_STRING_EQUAL(s->use[1], "seal-tlspsk");
    CU_ASSERT_EQUAL(s->negotiation, MSGSEC_NEG_IMPLICIT);
    CU_ASSERT_EQUAL(s->require,
                    MSGSEC_CAP_MUTUAL_AUTH | MSGSEC_CAP_CONFIDENTIALITY);
    CU_ASSERT_NOT_EQUAL(s->allow_insecure, 1);
    msgsec_policy_free(&mem, p);
}

/* -------------------------------------------------- memory, threads */

/* Counts live bytes, checks sizes on free, fails after a budget. */
typedef struct counting {
    long budget; /* allocations left; < 0: unlimited */
    size_t live;
    int bad_free;
    long calls;
} counting;

static void *c_alloc(void *ud, size_t n)
{
    counting *c = ud;
    c->calls++;
    if (c->budget == 0)
        return NULL;
    if (c->budget > 0)
        c->budget--;
    size_t *h = calloc(1, n + sizeof(size_t) * 2);
    if (!h)
        return NULL;
    h[0] = n;
    c->live += n;
    return h + 2;
}

static void c_free(void *ud, void *p, size_t n)
{
    counting *c = ud;
    size_t *h = (size_t *)p - 2;
    if (h[0] != n)
        c->bad_free = 1;
    c->live -= h[0];
    free(h);
}

static const char alloc_ok_text[] =
    "[core]\nprovider_dir = /opt/p\n"
    "[provider.a]\nsupport = mandatory\nmodule = a\nk1 = v1\nk2 = v2\n"
    "[provider.b]\n"
    "[service.s]\nuse = a, b, null\nrequire = integrity\n"
    "[service.t]\nuse = b\n";

static const char alloc_bad_text[] =
    "[core]\nx = 1\n[core]\n[provider.a]\nsupport = no\nsupport = off\n"
    "bad line\n[service.s]\nuse = a, zz\n";

static void test_allocation_failures(void)
{
    const char *path = msgsec_test_write_policy(alloc_ok_text);
    CU_ASSERT_PTR_NOT_NULL_FATAL(path);
    counting cnt = {-1, 0, 0, 0};
    msgsec_mem cm = {c_alloc, c_free, &cnt};
    msgsec_policy *p = NULL;
    CU_ASSERT_EQUAL_FATAL(msgsec_policy_load(&cm, path, NULL, NULL, 1, NULL,
                                             &p),
                          0);
    msgsec_policy_free(&cm, p);
    CU_ASSERT_EQUAL(cnt.live, 0);
    long calls = cnt.calls;
    CU_ASSERT(calls > 10);

    /* Fail each allocation in turn: NOMEM, nothing leaked, no crash. */
    for (long budget = 0; budget < calls; budget++) {
        cnt = (counting){budget, 0, 0, 0};
        msgsec_diag_sink s;
        memset(&s, 0, sizeof(s));
        p = NULL;
        CU_ASSERT_EQUAL(msgsec_policy_load(&cm, path, NULL, NULL, 1, &s, &p),
                        MSGSEC_ERR_NOMEM);
        CU_ASSERT_EQUAL(s.first_code, MSGSEC_ERR_NOMEM);
        CU_ASSERT_PTR_NULL(p);
        CU_ASSERT_EQUAL(cnt.live, 0);
        CU_ASSERT_EQUAL(cnt.bad_free, 0);
    }
    cnt = (counting){calls, 0, 0, 0};
    CU_ASSERT_EQUAL(msgsec_policy_load(&cm, path, NULL, NULL, 1, NULL, &p), 0);
    CU_ASSERT_PTR_NOT_NULL_FATAL(p);
    CU_ASSERT_EQUAL(p->nproviders, 2);
    CU_ASSERT_EQUAL(p->providers[0].nkeys, 2);
    CU_ASSERT_EQUAL(p->nservices, 2);
    CU_ASSERT_EQUAL(p->services[0].nuse, 3);
    msgsec_policy_free(&cm, p);
    CU_ASSERT_EQUAL(cnt.live, 0);

    /* The same on a policy full of problems: some error, never a leak. */
    cnt = (counting){-1, 0, 0, 0};
    p = NULL;
    CU_ASSERT_EQUAL(msgsec_policy_load(&cm, NULL, alloc_bad_text, NULL, 0,
                                       NULL, &p),
                    MSGSEC_ERR_POLICY_UNKNOWN_KEY);
    calls = cnt.calls;
    for (long budget = 0; budget < calls; budget++) {
        cnt = (counting){budget, 0, 0, 0};
        p = NULL;
        int rc = msgsec_policy_load(&cm, NULL, alloc_bad_text, NULL, 0, NULL,
                                    &p);
        CU_ASSERT(rc == MSGSEC_ERR_NOMEM ||
                  (rc <= MSGSEC_ERR_POLICY_SYNTAX &&
                   rc >= MSGSEC_ERR_POLICY_UNKNOWN_PROVIDER));
        CU_ASSERT_PTR_NULL(p);
        CU_ASSERT_EQUAL(cnt.live, 0);
        CU_ASSERT_EQUAL(cnt.bad_free, 0);
    }
}

#define NTHREADS 8

static void *load_many(void *arg)
{
    const char *path = arg;
    long bad = 0;
    for (int i = 0; i < 50; i++) {
        msgsec_policy *p = NULL;
        msgsec_diag_sink s;
        memset(&s, 0, sizeof(s));
        if (msgsec_policy_load(&mem, path, NULL, NULL, 1, &s, &p) != 0 || !p ||
            p->nservices != 1)
            bad++;
        msgsec_policy_free(&mem, p);
        p = NULL;
        memset(&s, 0, sizeof(s));
        if (msgsec_policy_load(&mem, NULL, "[service.s]\nuse = zz\n", NULL, 0,
                               &s, &p) != MSGSEC_ERR_POLICY_UNKNOWN_PROVIDER)
            bad++;
    }
    return (void *)bad;
}

static void test_threads(void)
{
    const char *path = msgsec_test_write_policy(
        "[provider.a]\n[service.s]\nuse = a\n");
    CU_ASSERT_PTR_NOT_NULL_FATAL(path);
    pthread_t th[NTHREADS];
    for (int i = 0; i < NTHREADS; i++)
        CU_ASSERT_EQUAL_FATAL(pthread_create(&th[i], NULL, load_many,
                                             (void *)path),
                              0);
    for (int i = 0; i < NTHREADS; i++) {
        void *res = NULL;
        pthread_join(th[i], &res);
        CU_ASSERT_PTR_NULL(res);
    }
}

static void test_diag_sink(void)
{
    msgsec_diag(NULL, "f", 1, MSGSEC_ERR_POLICY_SYNTAX, "ignored");
    msgsec_diag_sink s;
    memset(&s, 0, sizeof(s));
    msgsec_diag(&s, "f.conf", 0, MSGSEC_ERR_IO, "first %d", 1);
    msgsec_diag(&s, "f.conf", 3, MSGSEC_ERR_POLICY_SYNTAX, "second");
    CU_ASSERT_EQUAL(s.count, 2);
    CU_ASSERT_EQUAL(s.first_code, MSGSEC_ERR_IO);
    CU_ASSERT_STRING_EQUAL(s.first, "f.conf: first 1");
    memset(&s, 0, sizeof(s));
    s.cb = collect;
    ndiags = 0;
    msgsec_diag(&s, NULL, 7, MSGSEC_ERR_POLICY_BAD_VALUE, "x");
    CU_ASSERT_STRING_EQUAL(s.first, "<policy>:7: x");
    CU_ASSERT_EQUAL(ndiags, 1);
    CU_ASSERT_EQUAL(diags[0].line, 7);
}

/* The decision and its reason text, for one policy. */
static void seal_case(const char *text, int want, const char *why)
{
    char buf[MSGSEC_DETAIL_MAX];
    msgsec_policy *p = load_ok(text);
    CU_ASSERT_PTR_NOT_NULL_FATAL(p);
    CU_ASSERT_EQUAL(p->seal_client, want);
    msgsec_policy_seal_client_why(p, buf, sizeof(buf));
    if (!strstr(buf, why))
        fprintf(stderr, "\n  reason: %s\n  expected: %s\n", buf, why);
    CU_ASSERT_PTR_NOT_NULL(strstr(buf, why));
    msgsec_policy_free(&mem, p);
}

static void test_seal_client_rule(void)
{
    /* auto, the default: no SEAL key anywhere. */
    seal_case("[provider.a]\nsecret = x\n", 0,
              "seal_client = auto (the default), and no [provider.*] "
              "section that is not off sets km_uri or val_user_id");
    /* auto: the key-management server or the VAL user of a section. */
    seal_case("[provider.a]\n"          /* 1 */
              "[provider.seal]\n"       /* 2 */
              "support = optional\n"    /* 3 */
              "km_uri = http://km\n",   /* 4 */
              1,
              "seal_client = auto (the default), and [provider.seal] sets "
              "km_uri at t.conf:4");
    seal_case("[core]\n"                /* 1 */
              "seal_client = auto\n"    /* 2 */
              "[provider.seal]\n"       /* 3 */
              "val_user_id = alice\n"   /* 4 */
              "km_uri = http://km\n",   /* 5 */
              1,
              "seal_client = auto at t.conf:2, and [provider.seal] sets "
              "val_user_id at t.conf:4");
    /* A section switched off does not count; the next one does. */
    seal_case("[provider.s1]\n"         /* 1 */
              "support = off\n"         /* 2 */
              "km_uri = http://km\n"    /* 3 */
              "[provider.s2]\n"         /* 4 */
              "val_user_id = bob\n",    /* 5 */
              1, "[provider.s2] sets val_user_id at t.conf:5");
    seal_case("[provider.s1]\nsupport = off\nkm_uri = http://km\n", 0,
              "no [provider.*] section that is not off");
    /* Nor do empty values. */
    seal_case("[provider.s]\nkm_uri =\nval_user_id = \"\"\n", 0,
              "no [provider.*]");
    /* Other keys that merely look alike do not count. */
    seal_case("[provider.s]\nkm_uri_x = 1\ncm_uri = http://cm\n", 0,
              "no [provider.*]");
    /* yes and no say it outright, whatever the sections hold. */
    seal_case("[core]\nseal_client = yes\n[provider.a]\n", 1,
              "seal_client = yes at t.conf:2");
    seal_case("[core]\nseal_client = no\n[provider.s]\nkm_uri = u\n", 0,
              "seal_client = no at t.conf:2");
    msgsec_policy *p = load_ok("[core]\nseal_client = no\n");
    CU_ASSERT_PTR_NOT_NULL_FATAL(p);
    CU_ASSERT_EQUAL(p->seal_client_mode, MSGSEC_SEAL_CLIENT_NO);
    CU_ASSERT_EQUAL(p->seal_client_line, 2);
    msgsec_policy_free(&mem, p);

    load_bad("[core]\nseal_client = Auto\n", MSGSEC_ERR_POLICY_BAD_VALUE);
    CU_ASSERT(has_diag(2, MSGSEC_ERR_POLICY_BAD_VALUE,
                       "[core] seal_client: \"Auto\" is not auto, yes or no"));
}

static void test_authorize_key(void)
{
    msgsec_policy *p = load_ok("[provider.seal]\n"         /* 1 */
                               "[provider.akma]\n"         /* 2 */
                               "[service.s]\n"             /* 3 */
                               "use = akma\n"              /* 4 */
                               "authorize = seal\n"        /* 5 */
                               "[service.t]\n"             /* 6 */
                               "use = akma\n");            /* 7 */
    CU_ASSERT_PTR_NOT_NULL_FATAL(p);
    const msgsec_pol_service *s = svc(p, "s");
    CU_ASSERT_PTR_NOT_NULL_FATAL(s);
    CU_ASSERT_STRING_EQUAL(s->authorize, "seal");
    CU_ASSERT_EQUAL(s->authorize_line, 5);
    CU_ASSERT_PTR_NULL(svc(p, "t")->authorize);
    CU_ASSERT_EQUAL(svc(p, "t")->authorize_line, 0);
    msgsec_policy_free(&mem, p);

    load_bad("[provider.a]\n[service.s]\nuse = a\nauthorize = ghost\n",
             MSGSEC_ERR_POLICY_UNKNOWN_PROVIDER);
    CU_ASSERT(has_diag(4, MSGSEC_ERR_POLICY_UNKNOWN_PROVIDER,
                       "[service.s] authorize: provider \"ghost\" is not "
                       "declared (no [provider.ghost])"));
    load_bad("[provider.a]\n[provider.b]\nsupport = off\n"
             "[service.s]\nuse = a\nauthorize = b\n",
             MSGSEC_ERR_POLICY_BAD_VALUE);
    CU_ASSERT(has_diag(6, MSGSEC_ERR_POLICY_BAD_VALUE,
                       "[service.s] authorize: provider \"b\" has support = "
                       "off (line 3)"));
    load_bad("[provider.a]\n[service.s]\nuse = a\nauthorize =\n",
             MSGSEC_ERR_POLICY_BAD_VALUE);
    CU_ASSERT(has_diag(4, MSGSEC_ERR_POLICY_BAD_VALUE,
                       "[service.s] authorize: empty"));
    load_bad("[provider.a]\n[service.s]\nuse = a\nauthorise = a\n",
             MSGSEC_ERR_POLICY_UNKNOWN_KEY);
    CU_ASSERT(has_diag(4, MSGSEC_ERR_POLICY_UNKNOWN_KEY, "authorize)"));
}

static int suite_init(void)
{
    msgsec_mem_init(&mem, NULL);
    return 0;
}

int main(void)
{
    CU_TestInfo tests[] = {
        {"valid policy: every structure and line", test_full_structures},
        {"defaults", test_defaults},
        {"empty policy, providers without services",
         test_empty_and_provider_only},
        {"support words, the conditional one included", test_support_words},
        {"value forms: case, quotes, inline comments", test_value_forms},
        {"continuation lines and comments", test_continuation_and_comments},
        {"syntax errors with their lines", test_syntax_errors},
        {"line length limit and NUL bytes", test_long_line_and_nul},
        {"duplicate sections, keys and list items", test_duplicates},
        {"unknown sections and keys", test_unknown_keys_and_sections},
        {"bad values", test_bad_values},
        {"services without providers", test_empty_service},
        {"undeclared provider in use", test_unknown_provider},
        {"every problem reported, in file order", test_many_diagnostics},
        {"unsafe, linked, missing and unreadable files", test_unsafe_file},
        {"descriptor safety check", test_check_fd_safe},
        {"string policies and bad arguments", test_string_policies},
        {"size limit", test_size_limit},
        {"entry and problem limits", test_entry_and_problem_limits},
        {"the shipped policy", test_shipped_policy},
        {"allocation failures leak nothing", test_allocation_failures},
        {"concurrent loads", test_threads},
        {"diagnostic sink", test_diag_sink},
        {"seal_client: auto, yes, no and the reason", test_seal_client_rule},
        {"authorize: a declared provider not off", test_authorize_key},
        CU_TEST_INFO_NULL,
    };
    return msgsec_test_main("policy", suite_init, NULL, tests);
}
