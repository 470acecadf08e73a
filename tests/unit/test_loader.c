/*
 * test_loader.c - the provider loader: every refusal with its own code and
 * detail, support levels, config keys, pins, the built-in null provider,
 * diagnostics cores, concurrent loading.
 */
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <openssl/evp.h>

#include "internal.h"
#include "testutil.h"

/* ------------------------------------------------------------ helpers */

/* A core (INSPECT: built even when a mandatory provider failed) and the
 * info of provider `name` in it. */
typedef struct {
    msgsec_core *core;
    msgsec_provider_info info;
    int rc;
    char detail[MSGSEC_DETAIL_MAX];
    char path[512];
} loaded;

static int find_info(const msgsec_core *core, const char *name,
                     msgsec_provider_info *info)
{
    for (size_t i = 0; i < msgsec_core_provider_count(core); i++)
        if (msgsec_core_provider_info(core, i, info) == 0 &&
            strcmp(info->name, name) == 0)
            return 0;
    memset(info, 0, sizeof(*info));
    return -1;
}

static void load(loaded *l, const char *policy, const char *name,
                 unsigned flags)
{
    memset(l, 0, sizeof(*l));
    const char *path = msgsec_test_write_policy(policy);
    CU_ASSERT_PTR_NOT_NULL_FATAL(path);
    snprintf(l->path, sizeof(l->path), "%s", path);
    l->rc = msgsec_core_new(path, NULL, flags, &l->core, l->detail,
                            sizeof(l->detail));
    if (l->core)
        CU_ASSERT_EQUAL(find_info(l->core, name, &l->info), 0);
}

static void unload(loaded *l)
{
    msgsec_core_free(l->core);
    l->core = NULL;
}

/* Loads [provider.NAME] (optional, with extra lines) and checks that it
 * was refused with code and a detail holding every word of words. */
static void expect_refusal(const char *name, const char *extra, int code,
                           const char *const *words)
{
    char policy[2048];
    snprintf(policy, sizeof(policy),
             "[core]\nprovider_dir = @PROVIDER_DIR@\n\n"
             "[provider.%s]\nsupport = optional\n%s",
             name, extra ? extra : "");
    loaded l;
    load(&l, policy, name, 0);
    CU_ASSERT_EQUAL_FATAL(l.rc, 0);
    CU_ASSERT_EQUAL(l.info.status, code);
    if (l.info.status != code)
        fprintf(stderr, "%s: got %s: %s\n", name,
                msgsec_error_name(l.info.status), l.info.detail);
    CU_ASSERT_PTR_NULL(l.info.version);
    CU_ASSERT_PTR_NOT_NULL(strstr(l.info.detail, name));
    /* Every refusal names the policy file. */
    CU_ASSERT_PTR_NOT_NULL(strstr(l.info.detail, l.path));
    for (size_t i = 0; words && words[i]; i++) {
        if (!strstr(l.info.detail, words[i]))
            fprintf(stderr, "detail lacks \"%s\": %s\n", words[i],
                    l.info.detail);
        CU_ASSERT_PTR_NOT_NULL(strstr(l.info.detail, words[i]));
    }
    CU_ASSERT_EQUAL(msgsec_core_status(l.core), 0); /* optional */
    unload(&l);
}

static void module_file(char *out, size_t len, const char *module)
{
    snprintf(out, len, "%s/.libs/%s.so", msgsec_test_provider_dir(), module);
}

static int sha256_hex(const char *path, char out[65])
{
    FILE *f = fopen(path, "rb");
    if (!f)
        return -1;
    EVP_MD_CTX *ctx = EVP_MD_CTX_new();
    EVP_DigestInit_ex(ctx, EVP_sha256(), NULL);
    unsigned char buf[8192], md[32];
    size_t n;
    while ((n = fread(buf, 1, sizeof(buf), f)) > 0)
        EVP_DigestUpdate(ctx, buf, n);
    fclose(f);
    unsigned mdlen = 0;
    EVP_DigestFinal_ex(ctx, md, &mdlen);
    EVP_MD_CTX_free(ctx);
    for (unsigned i = 0; i < 32; i++)
        sprintf(out + 2 * i, "%02x", md[i]);
    return mdlen == 32 ? 0 : -1;
}

/* A private directory (mode 0700) for copied modules. */
static char scratch[256];

static const char *scratch_dir(void)
{
    if (!scratch[0]) {
        const char *t = getenv("TMPDIR");
        snprintf(scratch, sizeof(scratch), "%s/msgsec-loader-XXXXXX",
                 t ? t : "/tmp");
        if (!mkdtemp(scratch))
            scratch[0] = '\0';
    }
    return scratch;
}

static int copy_file(const char *from, const char *to)
{
    FILE *in = fopen(from, "rb");
    if (!in)
        return -1;
    int fd = open(to, O_WRONLY | O_CREAT | O_TRUNC, 0644);
    if (fd < 0) {
        fclose(in);
        return -1;
    }
    char buf[8192];
    size_t n;
    int rc = 0;
    while ((n = fread(buf, 1, sizeof(buf), in)) > 0)
        if (write(fd, buf, n) != (ssize_t)n)
            rc = -1;
    fclose(in);
    close(fd);
    return rc;
}

static const char *const scratch_files[] = {
    "renamed.so", "writable.so", "garbage.so", "elsewhere.la", NULL};

static int clean_scratch(void)
{
    if (!scratch[0])
        return 0;
    char path[512];
    for (size_t i = 0; scratch_files[i]; i++) {
        snprintf(path, sizeof(path), "%s/%s", scratch, scratch_files[i]);
        unlink(path);
    }
    int rc = rmdir(scratch);
    scratch[0] = '\0';
    return rc;
}

/* ---------------------------------------------------------- refusals */

static void test_not_found(void)
{
    const char *words[] = {"nosuch.la", "nosuch.so", "not found",
                           "preloaded", NULL};
    expect_refusal("ghost", "module = nosuch\n",
                   MSGSEC_ERR_PROVIDER_NOT_FOUND, words);
    /* Without `module`, the provider's own name is the module name. */
    const char *words2[] = {"ghost.la", "ghost.so", NULL};
    expect_refusal("ghost", NULL, MSGSEC_ERR_PROVIDER_NOT_FOUND, words2);
    /* An absolute path is looked at alone. */
    char extra[600];
    snprintf(extra, sizeof(extra), "module = %s/nosuch\n",
             msgsec_test_provider_dir());
    const char *words3[] = {"nosuch.la", "not found", NULL};
    expect_refusal("ghost", extra, MSGSEC_ERR_PROVIDER_NOT_FOUND, words3);
}

static void test_bad_magic(void)
{
    const char *words[] = {"not a msgsec provider", "0x4d534751",
                           "0x4d534750", NULL};
    expect_refusal("badmagic", NULL, MSGSEC_ERR_PROVIDER_BAD_MAGIC, words);
}

static void test_no_entry_point(void)
{
    /* A shared object whose file name does not match the name given to
     * MSGSEC_PROVIDER_DEFINE has no entry point libltdl can find. */
    char from[512], to[512], extra[700];
    module_file(from, sizeof(from), "badmagic");
    CU_ASSERT_PTR_NOT_NULL_FATAL(scratch_dir()[0] ? scratch_dir() : NULL);
    snprintf(to, sizeof(to), "%s/renamed.so", scratch_dir());
    CU_ASSERT_EQUAL_FATAL(copy_file(from, to), 0);
    snprintf(extra, sizeof(extra), "module = %s\n", to);
    const char *words[] = {"not a msgsec provider", "no entry point",
                           "msgsec_provider_entry", "renamed.so", NULL};
    expect_refusal("renamed", extra, MSGSEC_ERR_PROVIDER_BAD_MAGIC, words);
}

static void test_bad_abi(void)
{
    /* The module's version, then the core's. */
    char core_abi[32];
    snprintf(core_abi, sizeof(core_abi), "implements ABI %d.%d",
             MSGSEC_PROVIDER_ABI_MAJOR, MSGSEC_PROVIDER_ABI_MINOR);
    const char *words[] = {"ABI 2.0", core_abi, NULL};
    expect_refusal("badabi", NULL, MSGSEC_ERR_PROVIDER_ABI, words);
}

static void test_bad_critical_cap(void)
{
    const char *words[] = {"0x100000", "capability", NULL};
    expect_refusal("badcrit", NULL, MSGSEC_ERR_PROVIDER_CRITICAL_CAP, words);
}

static void test_name_mismatch(void)
{
    const char *words[] = {"\"failinit\"", "[provider.renamed]", NULL};
    expect_refusal("renamed", "module = failinit\n",
                   MSGSEC_ERR_PROVIDER_BAD_DESCRIPTOR, words);
}

static void test_init_fails(void)
{
    const char *words[] = {"init failed", "MSGSEC_ERR_KEY_UNAVAILABLE",
                           "failinit refuses to start: disk on fire",
                           ":6)", NULL};
    expect_refusal("failinit", "reason = disk on fire\n",
                   MSGSEC_ERR_PROVIDER_INIT, words);
}

/* Log lines and allocation balance of one core, through its hooks. */
typedef struct {
    char log[4096];
    long live;      /* bytes allocated and not yet freed */
    long allocs;
} hook_state;

static void *h_alloc(void *ud, size_t n)
{
    hook_state *h = ud;
    h->live += (long)n;
    h->allocs++;
    return calloc(1, n);
}

static void h_free(void *ud, void *p, size_t n)
{
    hook_state *h = ud;
    h->live -= (long)n;
    free(p);
}

static void h_log(void *ud, int level, const char *line)
{
    hook_state *h = ud;
    (void)level;
    msgsec_detail_append(h->log, sizeof(h->log), "%s\n", line);
}

static void test_self_test_fails(void)
{
    const char *words[] = {"self_test failed",
                           "known-answer test 2 of 3: output mismatch", NULL};
    expect_refusal("failselftest", NULL, MSGSEC_ERR_PROVIDER_SELF_TEST,
                   words);

    /* fini() still runs, and what init() allocated is given back. */
    hook_state h;
    memset(&h, 0, sizeof(h));
    msgsec_hooks hooks = {sizeof(hooks), &h, h_alloc, h_free, h_log,
                          MSGSEC_LOG_DEBUG};
    const char *path = msgsec_test_write_policy(
        "[core]\nprovider_dir = @PROVIDER_DIR@\n"
        "[provider.failselftest]\nsupport = optional\n");
    CU_ASSERT_PTR_NOT_NULL_FATAL(path);
    msgsec_core *core = NULL;
    CU_ASSERT_EQUAL_FATAL(msgsec_core_new(path, &hooks, 0, &core, NULL, 0),
                          0);
    CU_ASSERT_PTR_NOT_NULL(strstr(h.log, "provider failselftest: released"));
    CU_ASSERT(h.allocs > 0);
    msgsec_core_free(core);
    CU_ASSERT_EQUAL(h.live, 0);
}

static void test_unknown_key(void)
{
    loaded l;
    load(&l,
         "[core]\nprovider_dir = @PROVIDER_DIR@\n"
         "[provider.failinit]\n"
         "reason = testing\n"
         "colour = red\n"
         "flavour = salty\n",
         "failinit", 0);
    CU_ASSERT_EQUAL_FATAL(l.rc, 0);
    CU_ASSERT_EQUAL(l.info.status, MSGSEC_ERR_POLICY_UNKNOWN_KEY);
    char want[700];
    snprintf(want, sizeof(want),
             "%s:5: [provider.failinit] colour: not a key of provider "
             "failinit (accepted: reason)",
             l.path);
    CU_ASSERT_PTR_NOT_NULL(strstr(l.info.detail, want));
    CU_ASSERT_PTR_NOT_NULL(strstr(l.info.detail, "1 more unknown key"));
    unload(&l);

    /* A provider that declares no keys accepts none. */
    load(&l,
         "[core]\nallow_insecure = yes\n"
         "[provider.null]\nidentity = me\n",
         "null", 0);
    CU_ASSERT_EQUAL_FATAL(l.rc, 0);
    CU_ASSERT_EQUAL(l.info.status, MSGSEC_ERR_POLICY_UNKNOWN_KEY);
    CU_ASSERT_PTR_NOT_NULL(strstr(l.info.detail, "(accepted: none)"));
    unload(&l);
}

static void test_unsafe_dir(void)
{
    const char *dir = scratch_dir();
    CU_ASSERT_FATAL(dir[0] != '\0');
    char sub[400], policy[1024];
    snprintf(sub, sizeof(sub), "%s/open", dir);
    CU_ASSERT_EQUAL_FATAL(mkdir(sub, 0700), 0);
    CU_ASSERT_EQUAL_FATAL(chmod(sub, 0777), 0);
    snprintf(policy, sizeof(policy),
             "[core]\nprovider_dir = %s\n[provider.failinit]\n", sub);
    loaded l;
    load(&l, policy, "failinit", 0);
    CU_ASSERT_EQUAL_FATAL(l.rc, 0);
    CU_ASSERT_EQUAL(l.info.status, MSGSEC_ERR_POLICY_UNSAFE_FILE);
    CU_ASSERT_PTR_NOT_NULL(strstr(l.info.detail, sub));
    CU_ASSERT_PTR_NOT_NULL(strstr(l.info.detail, "writable"));
    unload(&l);
    rmdir(sub);

    /* A provider_dir that does not exist. */
    snprintf(sub, sizeof(sub), "%s/missing", dir);
    snprintf(policy, sizeof(policy),
             "[core]\nprovider_dir = %s\n[provider.failinit]\n", sub);
    load(&l, policy, "failinit", 0);
    CU_ASSERT_EQUAL_FATAL(l.rc, 0);
    CU_ASSERT_EQUAL(l.info.status, MSGSEC_ERR_PROVIDER_NOT_FOUND);
    CU_ASSERT_PTR_NOT_NULL(strstr(l.info.detail, sub));
    CU_ASSERT_PTR_NOT_NULL(strstr(l.info.detail, "No such file"));
    CU_ASSERT_PTR_NOT_NULL(strstr(l.info.detail, ":2:"));
    unload(&l);
}

static void test_module_forms(void)
{
    /* The .la file by absolute path, and by file name with extension:
     * both reach failinit's init. */
    char extra[700];
    snprintf(extra, sizeof(extra), "module = %s/failinit.la\n",
             msgsec_test_provider_dir());
    const char *words[] = {"init failed", NULL};
    expect_refusal("failinit", extra, MSGSEC_ERR_PROVIDER_INIT, words);
    expect_refusal("failinit", "module = failinit.la\n",
                   MSGSEC_ERR_PROVIDER_INIT, words);
    /* The shared object itself, by absolute path. */
    char so[512];
    module_file(so, sizeof(so), "failinit");
    snprintf(extra, sizeof(extra), "module = %s\n", so);
    expect_refusal("failinit", extra, MSGSEC_ERR_PROVIDER_INIT, words);
}

static int write_file(const char *path, const char *text, mode_t mode)
{
    int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0600);
    if (fd < 0)
        return -1;
    size_t n = strlen(text);
    int rc = write(fd, text, n) == (ssize_t)n ? 0 : -1;
    close(fd);
    return rc == 0 ? chmod(path, mode) : -1;
}

static void test_module_file_checks(void)
{
    const char *dir = scratch_dir();
    CU_ASSERT_FATAL(dir[0] != '\0');
    char from[512], path[512], extra[700];

    /* A module file others may write is refused before it is mapped. */
    module_file(from, sizeof(from), "failinit");
    snprintf(path, sizeof(path), "%s/writable.so", dir);
    CU_ASSERT_EQUAL_FATAL(copy_file(from, path), 0);
    CU_ASSERT_EQUAL_FATAL(chmod(path, 0666), 0);
    snprintf(extra, sizeof(extra), "module = %s\n", path);
    const char *w1[] = {"module file", "unsafe", "writable.so", NULL};
    expect_refusal("failinit", extra, MSGSEC_ERR_POLICY_UNSAFE_FILE, w1);

    /* A file that is there but is no shared object: libltdl's message. */
    snprintf(path, sizeof(path), "%s/garbage.so", dir);
    CU_ASSERT_EQUAL_FATAL(write_file(path, "not an ELF file\n", 0644), 0);
    snprintf(extra, sizeof(extra), "module = %s\n", path);
    const char *w2[] = {"garbage.so", "could not be loaded", NULL};
    expect_refusal("garbage", extra, MSGSEC_ERR_PROVIDER_NOT_FOUND, w2);

    /* A .la file is followed to its dlname beside it (or in .libs), never
     * to the libdir it names: that directory was not checked. */
    char la[1024];
    snprintf(la, sizeof(la),
             "dlname='failinit.so'\nlibdir='%s/.libs'\ninstalled=yes\n",
             msgsec_test_provider_dir());
    snprintf(path, sizeof(path), "%s/elsewhere.la", dir);
    CU_ASSERT_EQUAL_FATAL(write_file(path, la, 0644), 0);
    snprintf(extra, sizeof(extra), "module = %s\n", path);
    const char *w3[] = {"names failinit.so", "not found", NULL};
    expect_refusal("failinit", extra, MSGSEC_ERR_PROVIDER_NOT_FOUND, w3);
}

/* ------------------------------------------------- support and core */

static void test_mandatory_fails_core(void)
{
    const char *path = msgsec_test_write_policy(
        "[core]\nprovider_dir = @PROVIDER_DIR@\n"
        "\n"
        "[provider.badabi]\n"
        "support = mandatory\n");
    CU_ASSERT_PTR_NOT_NULL_FATAL(path);
    msgsec_core *core = (msgsec_core *)&core; /* must be reset to NULL */
    char detail[MSGSEC_DETAIL_MAX] = "";
    int rc = msgsec_core_new(path, NULL, 0, &core, detail, sizeof(detail));
    CU_ASSERT_EQUAL(rc, MSGSEC_ERR_PROVIDER_MANDATORY);
    CU_ASSERT_PTR_NULL(core);
    char where[600];
    snprintf(where, sizeof(where), "%s:4", path);
    CU_ASSERT_PTR_NOT_NULL(strstr(detail, where));
    CU_ASSERT_PTR_NOT_NULL(strstr(detail, "badabi"));
    CU_ASSERT_PTR_NOT_NULL(strstr(detail, "ABI 2.0"));
}

static void test_optional_fails_core(void)
{
    loaded l;
    load(&l,
         "[core]\nprovider_dir = @PROVIDER_DIR@\n"
         "[provider.badabi]\nsupport = optional\n"
         "[provider.badcrit]\n", /* optional is the default */
         "badabi", 0);
    CU_ASSERT_EQUAL(l.rc, 0);
    CU_ASSERT_PTR_NOT_NULL_FATAL(l.core);
    CU_ASSERT_EQUAL(msgsec_core_status(l.core), 0);
    CU_ASSERT_EQUAL(l.info.status, MSGSEC_ERR_PROVIDER_ABI);
    CU_ASSERT_EQUAL(l.info.support, MSGSEC_SUPPORT_OPTIONAL);
    CU_ASSERT_EQUAL(l.info.effective_mandatory, 0);
    unload(&l);
}

static void test_support_off(void)
{
    /* An off provider is not even looked for: the module does not exist. */
    loaded l;
    load(&l,
         "[core]\nprovider_dir = @PROVIDER_DIR@\n"
         "[provider.ghost]\nsupport = off\nmodule = nosuch\n",
         "ghost", 0);
    CU_ASSERT_EQUAL_FATAL(l.rc, 0);
    CU_ASSERT_EQUAL(l.info.status, MSGSEC_CONTINUE);
    CU_ASSERT_EQUAL(l.info.support, MSGSEC_SUPPORT_OFF);
    CU_ASSERT_PTR_NULL(l.info.version);
    CU_ASSERT_PTR_NULL(strstr(l.info.detail, "not found"));
    CU_ASSERT_PTR_NOT_NULL(strstr(l.info.detail, "off"));
    unload(&l);
}

static void test_inspect(void)
{
    loaded l;
    load(&l,
         "[core]\nprovider_dir = @PROVIDER_DIR@\n"
         "[provider.badmagic]\nsupport = mandatory\n"
         "[provider.badabi]\nsupport = mandatory\n"
         "[provider.failinit]\nsupport = mandatory\n"
         "[provider.ghost]\nsupport = optional\n",
         "badmagic", MSGSEC_CORE_INSPECT);
    CU_ASSERT_EQUAL_FATAL(l.rc, 0);
    CU_ASSERT_PTR_NOT_NULL_FATAL(l.core);
    CU_ASSERT_EQUAL(msgsec_core_status(l.core), MSGSEC_ERR_PROVIDER_MANDATORY);
    CU_ASSERT_PTR_NOT_NULL(strstr(msgsec_core_detail(l.core), "badmagic"));

    static const struct {
        const char *name;
        int status;
        const char *word;
        int mandatory;
    } want[] = {
        {"badmagic", MSGSEC_ERR_PROVIDER_BAD_MAGIC, "magic", 1},
        {"badabi", MSGSEC_ERR_PROVIDER_ABI, "ABI 2.0", 1},
        {"failinit", MSGSEC_ERR_PROVIDER_INIT, "no reason configured", 1},
        {"ghost", MSGSEC_ERR_PROVIDER_NOT_FOUND, "not found", 0},
        {"null", 0, "", 0},
    };
    for (size_t i = 0; i < sizeof(want) / sizeof(want[0]); i++) {
        msgsec_provider_info info;
        CU_ASSERT_EQUAL_FATAL(find_info(l.core, want[i].name, &info), 0);
        CU_ASSERT_EQUAL(info.status, want[i].status);
        CU_ASSERT_EQUAL(info.effective_mandatory, want[i].mandatory);
        CU_ASSERT_PTR_NOT_NULL(strstr(info.detail, want[i].word));
        CU_ASSERT_PTR_NOT_NULL(info.module);
    }
    unload(&l);
}

/* --------------------------------------------------------------- pins */

static void test_pin(void)
{
    char so[512], hexd[65], extra[800];
    module_file(so, sizeof(so), "failselftest");
    CU_ASSERT_EQUAL_FATAL(sha256_hex(so, hexd), 0);

    /* The right pin lets the module run (to its failing self-test). */
    snprintf(extra, sizeof(extra), "sha256 = %s\n", hexd);
    const char *ok[] = {"self_test failed", NULL};
    expect_refusal("failselftest", extra, MSGSEC_ERR_PROVIDER_SELF_TEST, ok);

    /* A wrong pin stops it before any of its code runs, showing both. */
    char wrong[65];
    memcpy(wrong, hexd, sizeof(wrong));
    wrong[0] = wrong[0] == '0' ? '1' : '0';
    snprintf(extra, sizeof(extra), "sha256 = %s\n", wrong);
    const char *bad[] = {"does not match its pin", hexd, wrong,
                         ".libs/failselftest.so", ":6:", NULL};
    expect_refusal("failselftest", extra, MSGSEC_ERR_PROVIDER_PIN, bad);

    /* Pins apply to absolute paths of the shared object too. */
    snprintf(extra, sizeof(extra), "module = %s\nsha256 = %s\n", so, wrong);
    const char *bad2[] = {"does not match its pin", NULL};
    expect_refusal("failselftest", extra, MSGSEC_ERR_PROVIDER_PIN, bad2);

    /* A pinned module that is not there. */
    snprintf(extra, sizeof(extra), "module = nosuch\nsha256 = %s\n", hexd);
    const char *nf[] = {"nosuch", "not found", NULL};
    expect_refusal("failselftest", extra, MSGSEC_ERR_PROVIDER_NOT_FOUND, nf);

    /* null is built in: nothing to pin. */
    snprintf(extra, sizeof(extra), "sha256 = %s\n", hexd);
    const char *np[] = {"built into libmsgsec", NULL};
    expect_refusal("null", extra, MSGSEC_ERR_PROVIDER_PIN, np);
}

static void test_pin_loads(void)
{
    char so[512], hexd[65], policy[1024];
    module_file(so, sizeof(so), "testpsk");
    CU_ASSERT_EQUAL_FATAL(sha256_hex(so, hexd), 0);
    snprintf(policy, sizeof(policy),
             "[core]\nprovider_dir = @PROVIDER_DIR@\n"
             "[provider.testpsk]\nsupport = mandatory\nsha256 = %s\n"
             "secret = 000102030405060708090a0b0c0d0e0f"
             "101112131415161718191a1b1c1d1e1f\n",
             hexd);
    loaded l;
    load(&l, policy, "testpsk", 0);
    if (l.rc != 0)
        fprintf(stderr, "testpsk: %s\n", l.detail);
    CU_ASSERT_EQUAL_FATAL(l.rc, 0);
    CU_ASSERT_EQUAL(l.info.status, 0);
    CU_ASSERT_PTR_NOT_NULL(l.info.version);
    CU_ASSERT_PTR_NOT_NULL(strstr(l.info.module, ".libs/testpsk.so"));
    unload(&l);
}

/* ---------------------------------------------------------------- null */

static void test_null_builtin(void)
{
    /* Present without being declared, and without any provider_dir. */
    loaded l;
    load(&l, "[core]\nprovider_dir = /nonexistent\n", "null", 0);
    CU_ASSERT_EQUAL_FATAL(l.rc, 0);
    CU_ASSERT_EQUAL(l.info.status, 0);
    CU_ASSERT_STRING_EQUAL(l.info.module, "(built-in)");
    CU_ASSERT_EQUAL(l.info.caps, MSGSEC_CAP_CLIENT | MSGSEC_CAP_SERVER |
                                     MSGSEC_CAP_INSECURE);
    CU_ASSERT_EQUAL(l.info.abi_major, MSGSEC_PROVIDER_ABI_MAJOR);
    CU_ASSERT_PTR_NOT_NULL(l.info.version);
    CU_ASSERT_PTR_NOT_NULL(l.info.summary);
    unload(&l);

    msgsec_provider copy;
    char why[256] = "";
    CU_ASSERT_EQUAL(msgsec_loader_validate(msgsec_null_provider(), &copy, why,
                                           sizeof(why)),
                    0);
    CU_ASSERT_STRING_EQUAL(copy.name, "null");
    CU_ASSERT_PTR_NULL(copy.export_key);
    CU_ASSERT_PTR_NULL(copy.claim);
}

/* A null session run by hand through the descriptor: the sample provider
 * keeps the contract it documents. */
typedef struct {
    msgsec_psession *self;
    int role;
    const char *identity;
    unsigned char out[512];
    size_t nout;
} fake_session;

static fake_session *fake_of(msgsec_psession *ps)
{
    return (fake_session *)ps;
}

static int f_write(msgsec_psession *ps, const void *p, size_t n)
{
    fake_session *f = fake_of(ps);
    if (f->nout + n > sizeof(f->out))
        return MSGSEC_ERR_NOMEM;
    memcpy(f->out + f->nout, p, n);
    f->nout += n;
    return 0;
}

static int f_role(msgsec_psession *ps)
{
    return fake_of(ps)->role;
}

static const char *f_identity(msgsec_psession *ps)
{
    return fake_of(ps)->identity;
}

static const char *f_peer_name(msgsec_psession *ps)
{
    (void)ps;
    return NULL;
}

static void f_detail(msgsec_psession *ps, const char *fmt, ...)
{
    (void)ps;
    (void)fmt;
}

static void test_null_protocol(void)
{
    /* The core's own upcalls at provider level, session upcalls faked. */
    msgsec_core *core = msgsec_test_core("[core]\nallow_insecure = yes\n");
    CU_ASSERT_PTR_NOT_NULL_FATAL(core);
    int idx = msgsec_core_find_provider(core, "null");
    CU_ASSERT_FATAL(idx >= 0);
    struct msgsec_pctx *p = &core->provs[idx];
    CU_ASSERT_EQUAL_FATAL(p->status, 0);
    msgsec_upcalls up = core->up;
    up.session_write = f_write;
    up.session_role = f_role;
    up.session_identity = f_identity;
    up.session_peer_name = f_peer_name;
    up.session_detail = f_detail;
    void *pdata = NULL;
    CU_ASSERT_EQUAL_FATAL(p->d.init(&up, p, &pdata), 0);

    fake_session c = {0}, s = {0};
    c.self = (msgsec_psession *)&c;
    c.role = MSGSEC_ROLE_CLIENT;
    c.identity = "ue-17@example.org";
    s.self = (msgsec_psession *)&s;
    s.role = MSGSEC_ROLE_SERVER;
    void *cst = calloc(1, p->d.state_size);
    void *sst = calloc(1, p->d.state_size);
    CU_ASSERT_EQUAL(p->d.start(pdata, cst, c.self), 0);
    CU_ASSERT_EQUAL(p->d.start(pdata, sst, s.self), 0);
    size_t used = 99;
    CU_ASSERT_EQUAL(p->d.step(pdata, cst, NULL, 0, &used), MSGSEC_OK);
    CU_ASSERT_EQUAL(used, 0);
    CU_ASSERT_EQUAL(s.nout, 0);
    CU_ASSERT_EQUAL_FATAL(c.nout, 1 + strlen(c.identity));
    CU_ASSERT_EQUAL(c.out[0], strlen(c.identity));

    /* The server needs the whole token: feed it in two parts. */
    CU_ASSERT_EQUAL(p->d.step(pdata, sst, c.out, 5, &used), MSGSEC_CONTINUE);
    CU_ASSERT_EQUAL(used, 5);
    unsigned char tail[300];
    memcpy(tail, c.out + 5, c.nout - 5);
    memcpy(tail + c.nout - 5, "rest", 4);
    CU_ASSERT_EQUAL(p->d.step(pdata, sst, tail, c.nout - 5 + 4, &used),
                    MSGSEC_OK);
    CU_ASSERT_EQUAL(used, c.nout - 5); /* "rest" is left for unwrap */
    msgsec_peer peer;
    CU_ASSERT_EQUAL(p->d.result(pdata, sst, &peer), 0);
    CU_ASSERT_STRING_EQUAL(peer.scheme, "null");
    CU_ASSERT_STRING_EQUAL(peer.identity, "ue-17@example.org");

    /* wrap copies, unwrap takes what fits. */
    unsigned char rec[32], back[32];
    size_t n = 0, m = 0, ov = 1, max = 0;
    unsigned flags = 7;
    CU_ASSERT_EQUAL(p->d.limits(pdata, cst, &ov, &max), 0);
    CU_ASSERT_EQUAL(ov, 0);
    CU_ASSERT_EQUAL(max, 16384);
    CU_ASSERT_EQUAL(p->d.wrap(pdata, cst, (const uint8_t *)"hello", 5, rec,
                              sizeof(rec), &n),
                    0);
    CU_ASSERT_EQUAL(n, 5);
    CU_ASSERT_EQUAL(p->d.unwrap(pdata, sst, rec, n, &used, back, 3, &m,
                                &flags),
                    0);
    CU_ASSERT_EQUAL(used, 3);
    CU_ASSERT_EQUAL(m, 3);
    CU_ASSERT_EQUAL(flags, 0);
    CU_ASSERT_EQUAL(memcmp(back, "hel", 3), 0);
    CU_ASSERT_EQUAL(p->d.unwrap(pdata, sst, rec, 0, &used, back, 3, &m,
                                &flags),
                    MSGSEC_CONTINUE);
    unsigned char big[16385];
    CU_ASSERT_EQUAL(p->d.wrap(pdata, cst, big, sizeof(big), big,
                              sizeof(big), &n),
                    MSGSEC_ERR_MESSAGE_TOO_LARGE);

    /* Bad tokens: empty identity, control characters. */
    memset(sst, 0, p->d.state_size);
    CU_ASSERT_EQUAL(p->d.start(pdata, sst, s.self), 0);
    CU_ASSERT_EQUAL(p->d.step(pdata, sst, (const uint8_t *)"\0", 1, &used),
                    MSGSEC_ERR_BAD_FRAME);
    memset(sst, 0, p->d.state_size);
    CU_ASSERT_EQUAL(p->d.start(pdata, sst, s.self), 0);
    CU_ASSERT_EQUAL(p->d.step(pdata, sst, (const uint8_t *)"\2a\n", 3,
                              &used),
                    MSGSEC_ERR_BAD_FRAME);

    /* A client without an identity says "anonymous". */
    fake_session a = {0};
    a.self = (msgsec_psession *)&a;
    a.role = MSGSEC_ROLE_CLIENT;
    memset(cst, 0, p->d.state_size);
    CU_ASSERT_EQUAL(p->d.start(pdata, cst, a.self), 0);
    CU_ASSERT_EQUAL(a.nout, 10);
    CU_ASSERT_EQUAL(memcmp(a.out, "\x09" "anonymous", 10), 0);

    free(cst);
    free(sst);
    p->d.fini(pdata);
    msgsec_core_free(core);
}

/* ------------------------------------------------- descriptor checks */

static void test_validate(void)
{
    msgsec_provider good = *msgsec_null_provider();
    msgsec_provider copy, d;
    char why[512];

    CU_ASSERT_EQUAL(msgsec_loader_validate(&good, &copy, why, sizeof(why)),
                    0);
    CU_ASSERT_EQUAL(msgsec_loader_validate(NULL, &copy, why, sizeof(why)),
                    MSGSEC_ERR_PROVIDER_BAD_MAGIC);

    d = good;
    d.size = 40;
    CU_ASSERT_EQUAL(msgsec_loader_validate(&d, &copy, why, sizeof(why)),
                    MSGSEC_ERR_PROVIDER_BAD_DESCRIPTOR);
    CU_ASSERT_PTR_NOT_NULL(strstr(why, "size 40"));

    d = good;
    d.step = NULL;
    CU_ASSERT_EQUAL(msgsec_loader_validate(&d, &copy, why, sizeof(why)),
                    MSGSEC_ERR_PROVIDER_BAD_DESCRIPTOR);
    CU_ASSERT_PTR_NOT_NULL(strstr(why, "step()"));

    d = good;
    d.summary = NULL;
    CU_ASSERT_EQUAL(msgsec_loader_validate(&d, &copy, why, sizeof(why)),
                    MSGSEC_ERR_PROVIDER_BAD_DESCRIPTOR);
    CU_ASSERT_PTR_NOT_NULL(strstr(why, "summary"));

    d = good;
    d.name = "Bad Name";
    CU_ASSERT_EQUAL(msgsec_loader_validate(&d, &copy, why, sizeof(why)),
                    MSGSEC_ERR_PROVIDER_BAD_DESCRIPTOR);

    d = good;
    d.caps |= MSGSEC_CAP_IMPLICIT;
    CU_ASSERT_EQUAL(msgsec_loader_validate(&d, &copy, why, sizeof(why)),
                    MSGSEC_ERR_PROVIDER_BAD_DESCRIPTOR);
    CU_ASSERT_PTR_NOT_NULL(strstr(why, "claim()"));

    d = good;
    d.caps |= MSGSEC_CAP_KEY_EXPORT;
    CU_ASSERT_EQUAL(msgsec_loader_validate(&d, &copy, why, sizeof(why)),
                    MSGSEC_ERR_PROVIDER_BAD_DESCRIPTOR);
    CU_ASSERT_PTR_NOT_NULL(strstr(why, "export_key()"));

    d = good;
    d.caps = MSGSEC_CAP_INSECURE;
    CU_ASSERT_EQUAL(msgsec_loader_validate(&d, &copy, why, sizeof(why)),
                    MSGSEC_ERR_PROVIDER_BAD_DESCRIPTOR);

    /* Unknown bits outside the critical mask are ignored, and dropped. */
    d = good;
    d.caps |= 1u << 30;
    CU_ASSERT_EQUAL(msgsec_loader_validate(&d, &copy, why, sizeof(why)), 0);
    CU_ASSERT_EQUAL(copy.caps, good.caps);

    /* A newer minor version (bigger descriptor) still loads; the core
     * reads only the fields it knows. */
    struct {
        msgsec_provider p;
        void (*later)(void);
    } newer;
    memset(&newer, 0, sizeof(newer));
    newer.p = good;
    newer.p.abi_minor = MSGSEC_PROVIDER_ABI_MINOR + 1;
    newer.p.size = sizeof(newer);
    CU_ASSERT_EQUAL(msgsec_loader_validate(&newer.p, &copy, why, sizeof(why)),
                    0);
    CU_ASSERT_EQUAL(copy.size, sizeof(newer));
    CU_ASSERT_PTR_EQUAL(copy.limits, good.limits);

    /* Order: magic before ABI before size. */
    d = good;
    d.magic = 0;
    d.abi_major = 9;
    CU_ASSERT_EQUAL(msgsec_loader_validate(&d, &copy, why, sizeof(why)),
                    MSGSEC_ERR_PROVIDER_BAD_MAGIC);
    d = good;
    d.abi_major = 0;
    d.abi_minor = 0;
    d.size = 8;
    CU_ASSERT_EQUAL(msgsec_loader_validate(&d, &copy, why, sizeof(why)),
                    MSGSEC_ERR_PROVIDER_ABI);
    CU_ASSERT_PTR_NOT_NULL(strstr(why, "ABI 0.0"));
}

static int op_authorize(void *pdata, void *state, msgsec_psession *ps,
                        const msgsec_authz_query *q)
{
    (void)pdata, (void)state, (void)ps, (void)q;
    return 0;
}

static int op_resolve(void *pdata, void *state, msgsec_psession *ps,
                      const msgsec_psk_query *q, uint8_t *key, size_t *len,
                      msgsec_peer *peer)
{
    (void)pdata, (void)state, (void)ps, (void)q, (void)key, (void)len;
    (void)peer;
    return MSGSEC_PSK_NOT_MINE;
}

/* Minor versions 0, 1 and 2: an operation is there only when the declared
 * size holds its whole pointer. */
static void test_validate_minor_versions(void)
{
    msgsec_provider d = *msgsec_null_provider(), copy;
    char why[512];
    d.psk_resolve = op_resolve;
    d.authorize = op_authorize;

    d.abi_minor = 2;
    d.size = sizeof(d);
    CU_ASSERT_EQUAL(msgsec_loader_validate(&d, &copy, why, sizeof(why)), 0);
    CU_ASSERT_PTR_EQUAL(copy.authorize, op_authorize);
    CU_ASSERT_PTR_EQUAL(copy.psk_resolve, op_resolve);

    d.abi_minor = 1;
    d.size = offsetof(msgsec_provider, authorize);
    CU_ASSERT_EQUAL(msgsec_loader_validate(&d, &copy, why, sizeof(why)), 0);
    CU_ASSERT_PTR_NULL(copy.authorize);
    CU_ASSERT_PTR_EQUAL(copy.psk_resolve, op_resolve);

    /* Ending inside a pointer: neither half of it is taken. */
    d.size = offsetof(msgsec_provider, authorize) + 4;
    CU_ASSERT_EQUAL(msgsec_loader_validate(&d, &copy, why, sizeof(why)), 0);
    CU_ASSERT_PTR_NULL(copy.authorize);
    d.size = offsetof(msgsec_provider, psk_resolve) + 4;
    CU_ASSERT_EQUAL(msgsec_loader_validate(&d, &copy, why, sizeof(why)), 0);
    CU_ASSERT_PTR_NULL(copy.psk_resolve);
    CU_ASSERT_PTR_NULL(copy.authorize);

    d.abi_minor = 0;
    d.size = offsetof(msgsec_provider, psk_resolve);
    CU_ASSERT_EQUAL(msgsec_loader_validate(&d, &copy, why, sizeof(why)), 0);
    CU_ASSERT_PTR_NULL(copy.psk_resolve);
    CU_ASSERT_PTR_NULL(copy.authorize);
}

/* ---------------------------------------------------------- threads */

static void *load_loop(void *arg)
{
    const char *path = arg;
    long failures = 0;
    for (int i = 0; i < 20; i++) {
        msgsec_core *core = NULL;
        if (msgsec_core_new(path, NULL, 0, &core, NULL, 0) != 0) {
            failures++;
            continue;
        }
        msgsec_provider_info info;
        if (find_info(core, "badmagic", &info) != 0 ||
            info.status != MSGSEC_ERR_PROVIDER_BAD_MAGIC ||
            find_info(core, "ghost", &info) != 0 ||
            info.status != MSGSEC_ERR_PROVIDER_NOT_FOUND ||
            !strstr(info.detail, "not found"))
            failures++;
        msgsec_core_free(core);
    }
    return (void *)failures;
}

static void test_concurrent_loads(void)
{
    /* libltdl's error state is global: concurrent refusals must each get
     * their own message. */
    const char *path = msgsec_test_write_policy(
        "[core]\nprovider_dir = @PROVIDER_DIR@\n"
        "[provider.badmagic]\n[provider.ghost]\n[provider.failinit]\n");
    CU_ASSERT_PTR_NOT_NULL_FATAL(path);
    pthread_t t[4];
    for (int i = 0; i < 4; i++)
        CU_ASSERT_EQUAL_FATAL(
            pthread_create(&t[i], NULL, load_loop, (void *)path), 0);
    for (int i = 0; i < 4; i++) {
        void *failures = NULL;
        pthread_join(t[i], &failures);
        CU_ASSERT_PTR_NULL(failures);
    }
}

static int suite_cleanup(void)
{
    return clean_scratch();
}

static CU_TestInfo tests[] = {
    {"file not found", test_not_found},
    {"wrong magic", test_bad_magic},
    {"no entry point", test_no_entry_point},
    {"ABI major mismatch", test_bad_abi},
    {"unknown critical capability", test_bad_critical_cap},
    {"name differs from the policy section", test_name_mismatch},
    {"init fails", test_init_fails},
    {"self_test fails, fini runs", test_self_test_fails},
    {"unknown provider key", test_unknown_key},
    {"unsafe or missing provider_dir", test_unsafe_dir},
    {"module given as .la, .so, absolute path", test_module_forms},
    {"module file checks", test_module_file_checks},
    {"mandatory failure fails the core", test_mandatory_fails_core},
    {"optional failure does not", test_optional_fails_core},
    {"support = off is not loaded", test_support_off},
    {"MSGSEC_CORE_INSPECT lists why", test_inspect},
    {"sha256 pin refusals", test_pin},
    {"sha256 pin accepted", test_pin_loads},
    {"null is built in", test_null_builtin},
    {"null protocol", test_null_protocol},
    {"descriptor validation", test_validate},
    {"descriptor minor versions 0, 1 and 2", test_validate_minor_versions},
    {"concurrent loading", test_concurrent_loads},
    CU_TEST_INFO_NULL,
};

int main(void)
{
    return msgsec_test_main("loader", NULL, suite_cleanup, tests);
}
