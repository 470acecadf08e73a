/*
 * loader.c - finds, checks and initialises providers.
 *
 * Modules are named explicitly by policy (never found by scanning a
 * directory) and opened with libltdl: symbols local, modules resident (a
 * provider is never unmapped, so no pointer into it can dangle), preloaded
 * (-dlpreopen) modules first. Every refusal sets its own MSGSEC_ERR_* code
 * and a detail "FILE:LINE: [provider.NAME] cause".
 *
 * libltdl keeps its handle list and its last error in process-wide state;
 * every lt_* call below is made under one mutex, and lt_dlerror() is read
 * under the same lock as the call that failed. That mutex and the
 * initialisation flag are the core's only global state.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <ltdl.h>
#include <openssl/crypto.h>
#include <openssl/evp.h>

#include "internal.h"

/* The built-in null provider (plugins/null/null.c). */
MSGSEC_HIDDEN const msgsec_provider *null_LTX_msgsec_provider_entry(void);

const msgsec_provider *msgsec_null_provider(void)
{
    return null_LTX_msgsec_provider_entry();
}

#define ENTRY_SYMBOL "msgsec_provider_entry"
/* Every field up to the end of minor version 0: the smallest descriptor of
 * ABI major 1 that can exist. */
#define DESCRIPTOR_MIN_SIZE                                                    \
    (offsetof(msgsec_provider, close) + sizeof(((msgsec_provider *)0)->close))
/* Offset just past a descriptor field. */
#define FIELD_END(f)                                                           \
    (offsetof(msgsec_provider, f) + sizeof(((msgsec_provider *)0)->f))
/* Sanity bounds on values read from a module. */
#define DESCRIPTOR_MAX_SIZE 65536u
#define STATE_MAX_SIZE (16u * 1024 * 1024)
#define NAME_MAX_LEN 64
#define CONFIG_KEYS_MAX 256
#define LA_FILE_MAX 65536
#define PATH_BUF 4096 /* longest module path handled, NUL included */

static pthread_mutex_t ltdl_mu = PTHREAD_MUTEX_INITIALIZER;
static int ltdl_ready; /* lt_dlinit() has succeeded; under ltdl_mu */

/* ------------------------------------------------------------- details */

static const char *policy_file(const struct msgsec_pctx *p)
{
    if (p->core && p->core->policy && p->core->policy->file)
        return p->core->policy->file;
    return "<policy>";
}

/* Sets p->status = code and p->detail to "FILE:LINE: [provider.NAME] ...".
 * line 0: the section's line (built-in null without a section: none). */
static int refuse(struct msgsec_pctx *p, int code, int line, const char *fmt,
                  ...) __attribute__((format(printf, 4, 5)));
static int refuse(struct msgsec_pctx *p, int code, int line, const char *fmt,
                  ...)
{
    char msg[MSGSEC_DETAIL_MAX];
    va_list ap;
    va_start(ap, fmt);
    msgsec_detail_vset(msg, sizeof(msg), fmt, ap);
    va_end(ap);
    if (line == 0 && p->pol)
        line = p->pol->line;
    if (line > 0)
        msgsec_detail_set(p->detail, sizeof(p->detail),
                          "%s:%d: [provider.%s] %s", policy_file(p), line,
                          p->name, msg);
    else
        msgsec_detail_set(p->detail, sizeof(p->detail), "[provider.%s] %s",
                          p->name, msg);
    p->status = code;
    /* A refused provider shows no descriptor: nothing of it is usable. */
    memset(&p->d, 0, sizeof(p->d));
    p->dsize = 0;
    return code;
}

/* Formats a path; -1 when it does not fit (the caller refuses it). */
static int pathf(char *out, size_t cap, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
static int pathf(char *out, size_t cap, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(out, cap, fmt, ap);
    va_end(ap);
    return n >= 0 && (size_t)n < cap ? 0 : -1;
}

/* --------------------------------------------------------- descriptors */

static int valid_name(const char *s)
{
    size_t n = 0;
    for (; s[n]; n++) {
        char c = s[n];
        if (n >= NAME_MAX_LEN ||
            !((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-'))
            return 0;
    }
    return n > 0;
}

int msgsec_loader_validate(const msgsec_provider *d, msgsec_provider *copy,
                           char *why, size_t why_len)
{
    if (copy)
        memset(copy, 0, sizeof(*copy));
    if (!d) {
        msgsec_detail_set(why, why_len,
                          "not a msgsec provider: its entry point returned "
                          "no descriptor");
        return MSGSEC_ERR_PROVIDER_BAD_MAGIC;
    }
    /* magic, size and version sit at fixed offsets in every ABI. */
    if (d->magic != MSGSEC_PROVIDER_MAGIC) {
        msgsec_detail_set(why, why_len,
                          "not a msgsec provider: descriptor magic 0x%08x, "
                          "expected 0x%08x",
                          (unsigned)d->magic, (unsigned)MSGSEC_PROVIDER_MAGIC);
        return MSGSEC_ERR_PROVIDER_BAD_MAGIC;
    }
    if (d->abi_major != MSGSEC_PROVIDER_ABI_MAJOR) {
        msgsec_detail_set(why, why_len,
                          "provider ABI %u.%u, this core implements ABI %u.%u "
                          "(major versions must match; rebuild the provider "
                          "against this msgsec)",
                          (unsigned)d->abi_major, (unsigned)d->abi_minor,
                          (unsigned)MSGSEC_PROVIDER_ABI_MAJOR,
                          (unsigned)MSGSEC_PROVIDER_ABI_MINOR);
        return MSGSEC_ERR_PROVIDER_ABI;
    }
    if (d->size < DESCRIPTOR_MIN_SIZE || d->size > DESCRIPTOR_MAX_SIZE) {
        msgsec_detail_set(why, why_len,
                          "malformed descriptor: size %u, ABI %u needs at "
                          "least %zu",
                          (unsigned)d->size, (unsigned)d->abi_major,
                          (size_t)DESCRIPTOR_MIN_SIZE);
        return MSGSEC_ERR_PROVIDER_BAD_DESCRIPTOR;
    }

    /* Read only what the provider declared: an older (smaller) descriptor
     * leaves the newer fields zero, i.e. absent. */
    msgsec_provider c;
    memset(&c, 0, sizeof(c));
    memcpy(&c, d, d->size < sizeof(c) ? d->size : sizeof(c));
    /* An operation is there only when the whole pointer is: a size ending
     * inside one leaves it absent rather than half copied. */
    if (d->size < FIELD_END(psk_resolve))
        c.psk_resolve = NULL;
    if (d->size < FIELD_END(authorize))
        c.authorize = NULL;

    uint32_t unknown = c.critical_caps & ~(uint32_t)MSGSEC_CAP_KNOWN_MASK;
    if (unknown) {
        msgsec_detail_set(why, why_len,
                          "requires capability bits 0x%x that this core does "
                          "not know (critical mask 0x%x, known 0x%x)",
                          (unsigned)unknown, (unsigned)c.critical_caps,
                          (unsigned)MSGSEC_CAP_KNOWN_MASK);
        return MSGSEC_ERR_PROVIDER_CRITICAL_CAP;
    }

    const char *missing = NULL;
    if (!c.name)
        missing = "name";
    else if (!c.version)
        missing = "version";
    else if (!c.summary)
        missing = "summary";
    else if (!c.init)
        missing = "init()";
    else if (!c.start)
        missing = "start()";
    else if (!c.step)
        missing = "step()";
    else if (!c.result)
        missing = "result()";
    else if (!c.wrap)
        missing = "wrap()";
    else if (!c.unwrap)
        missing = "unwrap()";
    else if (!c.limits)
        missing = "limits()";
    else if ((c.caps & MSGSEC_CAP_IMPLICIT) && !c.claim)
        missing = "claim() (required by capability implicit)";
    else if ((c.caps & MSGSEC_CAP_KEY_EXPORT) && !c.export_key)
        missing = "export_key() (required by capability key-export)";
    if (missing) {
        msgsec_detail_set(why, why_len,
                          "malformed descriptor: mandatory %s missing",
                          missing);
        return MSGSEC_ERR_PROVIDER_BAD_DESCRIPTOR;
    }
    if (!valid_name(c.name)) {
        msgsec_detail_set(why, why_len,
                          "malformed descriptor: name is not 1 to %d "
                          "characters of [a-z0-9-]",
                          NAME_MAX_LEN - 1);
        return MSGSEC_ERR_PROVIDER_BAD_DESCRIPTOR;
    }
    if (!(c.caps & (MSGSEC_CAP_CLIENT | MSGSEC_CAP_SERVER))) {
        msgsec_detail_set(why, why_len,
                          "malformed descriptor: %s offers neither the "
                          "client nor the server role",
                          c.name);
        return MSGSEC_ERR_PROVIDER_BAD_DESCRIPTOR;
    }
    if (c.state_size > STATE_MAX_SIZE) {
        msgsec_detail_set(why, why_len,
                          "malformed descriptor: %s asks for %zu bytes of "
                          "session state (at most %u)",
                          c.name, c.state_size, STATE_MAX_SIZE);
        return MSGSEC_ERR_PROVIDER_BAD_DESCRIPTOR;
    }
    /* Non-critical bits this core does not know are ignored by definition;
     * drop them so nothing downstream misreads them. */
    c.caps &= MSGSEC_CAP_KNOWN_MASK;
    if (copy)
        *copy = c;
    return 0;
}

/* ------------------------------------------------------------ libltdl */

/*
 * libltdl is initialised once per process, at the first core's creation
 * rather than at library load: a program that registered its -dlpreopen
 * list with LTDL_SET_PRELOADED_SYMBOLS() before that has it honoured, since
 * libltdl reads lt_dlpreload_default() inside its first lt_dlinit(). It is
 * never shut down: lt_dlexit() would unload modules that are resident by
 * design, and one initialisation serves every core.
 */
static int ltdl_acquire(char *err, size_t err_len)
{
    int rc = 0;
    pthread_mutex_lock(&ltdl_mu);
    if (!ltdl_ready) {
        if (lt_dlinit() == 0) {
            ltdl_ready = 1;
        } else {
            const char *e = lt_dlerror();
            msgsec_detail_set(err, err_len, "lt_dlinit: %s",
                              e ? e : "failed");
            rc = MSGSEC_ERR_INTERNAL;
        }
    }
    pthread_mutex_unlock(&ltdl_mu);
    return rc;
}

/* What one open attempt produced. */
typedef struct {
    lt_dlhandle h;
    char error[256]; /* libltdl's message when h is NULL */
} open_result;

/* Opens the shared object at path, symbols local, resident, under the
 * lock. path is always complete (resolve_object), so the ext advice never
 * has to add .la or .so. */
static void ltdl_open(const char *path, open_result *r)
{
    lt_dladvise adv;
    memset(r, 0, sizeof(*r));
    pthread_mutex_lock(&ltdl_mu);
    if (lt_dladvise_init(&adv) != 0) {
        const char *e = lt_dlerror();
        snprintf(r->error, sizeof(r->error), "%s", e ? e : "out of memory");
        pthread_mutex_unlock(&ltdl_mu);
        return;
    }
    int bad = lt_dladvise_local(&adv) | lt_dladvise_resident(&adv) |
              lt_dladvise_ext(&adv);
    if (!bad)
        r->h = lt_dlopenadvise(path, adv);
    if (!r->h) {
        const char *e = lt_dlerror();
        snprintf(r->error, sizeof(r->error), "%s", e ? e : "unknown error");
    }
    lt_dladvise_destroy(&adv);
    pthread_mutex_unlock(&ltdl_mu);
}

/* lt_dlsym tries <module>_LTX_msgsec_provider_entry first, then the bare
 * name. NULL with err set when neither exists. */
static msgsec_provider_entry_fn ltdl_entry(lt_dlhandle h, char *err,
                                           size_t err_len)
{
    pthread_mutex_lock(&ltdl_mu);
    void *sym = lt_dlsym(h, ENTRY_SYMBOL);
    if (!sym) {
        const char *e = lt_dlerror();
        msgsec_detail_set(err, err_len, "%s", e ? e : "symbol not found");
    }
    pthread_mutex_unlock(&ltdl_mu);
    msgsec_provider_entry_fn fn;
    /* POSIX guarantees data and function pointers convert for dlsym. */
    memcpy(&fn, &sym, sizeof(fn));
    return sym ? fn : NULL;
}

/* -------------------------------------------------------- file checks */

static int has_suffix(const char *s, const char *suffix)
{
    size_t n = strlen(s), m = strlen(suffix);
    return n >= m && strcmp(s + n - m, suffix) == 0;
}

static int file_exists(const char *path)
{
    struct stat st;
    return stat(path, &st) == 0 && S_ISREG(st.st_mode);
}

/*
 * Whoever can write a module, or the directory holding it, can make this
 * process run their code: both must be owned by root or by us and not be
 * writable by group or others. Checked through an open descriptor.
 * also: what else was searched, for the "not found" detail.
 */
static int check_dir(struct msgsec_pctx *p, const char *dir, int line,
                     const char *also)
{
    char why[MSGSEC_DETAIL_MAX] = "";
    int fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (fd < 0) {
        int e = errno;
        return refuse(p, MSGSEC_ERR_PROVIDER_NOT_FOUND, line,
                      "module directory %s: %s%s%s%s", dir, strerror(e),
                      also[0] ? " (looked there" : "",
                      also[0] ? also : "", also[0] ? ")" : "");
    }
    int rc = msgsec_check_fd_safe(fd, 1, why, sizeof(why));
    close(fd);
    if (rc < 0)
        return refuse(p, rc, line, "module directory %s is unsafe: %s", dir,
                      why);
    return 0;
}

static int check_file_fd(struct msgsec_pctx *p, int fd, const char *path,
                         int line)
{
    char why[MSGSEC_DETAIL_MAX] = "";
    int rc = msgsec_check_fd_safe(fd, 0, why, sizeof(why));
    if (rc < 0)
        return refuse(p, rc, line, "module file %s is unsafe: %s", path, why);
    return 0;
}

/* Reads one `key='value'` of a libtool .la file into out. */
static int la_value(const char *text, const char *key, char *out,
                    size_t out_len)
{
    size_t klen = strlen(key);
    for (const char *l = text; l && *l;) {
        const char *eol = strchr(l, '\n');
        if (strncmp(l, key, klen) != 0 || l[klen] != '=') {
            l = eol ? eol + 1 : NULL;
            continue;
        }
        const char *v = l + klen + 1;
        char quote = (*v == '\'' || *v == '"') ? *v++ : '\0';
        size_t n = 0;
        while (v[n] && v[n] != '\n' && (quote ? v[n] != quote : v[n] != ' '))
            n++;
        if (n >= out_len)
            return -1;
        memcpy(out, v, n);
        out[n] = '\0';
        return 0;
    }
    return -1;
}

/*
 * The shared object for base (DIR/NAME, DIR/NAME.la or DIR/NAME.so). The
 * loader resolves it rather than libltdl so that the file it checks (and
 * hashes, when pinned) is exactly the file mapped: a .la file is followed
 * to its dlname in DIR/.libs (uninstalled) or DIR, never to the libdir it
 * names, so nothing outside the checked directory is ever loaded.
 */
static int resolve_object(struct msgsec_pctx *p, const char *base, int line,
                          const char *also, char out[PATH_BUF])
{
    char la[PATH_BUF];
    if (has_suffix(base, ".so")) {
        if (pathf(out, PATH_BUF, "%s", base) == 0 && file_exists(out))
            return 0;
        return refuse(p, MSGSEC_ERR_PROVIDER_NOT_FOUND, line,
                      "module %s not found (looked at %s%s): %s", base, base,
                      also, strerror(ENOENT));
    }
    if (has_suffix(base, ".la")) {
        if (pathf(la, sizeof(la), "%s", base) < 0 || !file_exists(la))
            return refuse(p, MSGSEC_ERR_PROVIDER_NOT_FOUND, line,
                          "module %s not found (looked at %s%s): %s", base,
                          base, also, strerror(ENOENT));
    } else if (pathf(la, sizeof(la), "%s.la", base) < 0 || !file_exists(la)) {
        if (pathf(out, PATH_BUF, "%s.so", base) == 0 && file_exists(out))
            return 0;
        return refuse(p, MSGSEC_ERR_PROVIDER_NOT_FOUND, line,
                      "module %s not found (looked at %s.la, %s.so%s): %s",
                      base, base, base, also, strerror(ENOENT));
    }

    FILE *f = fopen(la, "re");
    if (!f)
        return refuse(p, MSGSEC_ERR_PROVIDER_NOT_FOUND, line, "%s: %s", la,
                      strerror(errno));
    /* The .la file chooses the object: it must be as safe as one. */
    int rc = check_file_fd(p, fileno(f), la, line);
    char *text = rc == 0 ? malloc(LA_FILE_MAX + 1) : NULL;
    size_t n = text ? fread(text, 1, LA_FILE_MAX, f) : 0;
    fclose(f);
    if (rc < 0)
        return rc;
    if (!text)
        return refuse(p, MSGSEC_ERR_NOMEM, line, "out of memory");
    text[n] = '\0';
    char dlname[256], installed[16] = "yes";
    rc = la_value(text, "dlname", dlname, sizeof(dlname));
    la_value(text, "installed", installed, sizeof(installed));
    free(text);
    if (rc < 0 || !dlname[0] || strchr(dlname, '/'))
        return refuse(p, MSGSEC_ERR_PROVIDER_NOT_FOUND, line,
                      "%s names no loadable module (dlname)", la);

    /* la is "DIR/NAME.la": keep "DIR/". */
    char *slash = strrchr(la, '/');
    if (slash)
        slash[1] = '\0';
    else
        la[0] = '\0';
    if (strcmp(installed, "no") == 0 &&
        pathf(out, PATH_BUF, "%s.libs/%s", la, dlname) == 0 &&
        file_exists(out))
        return 0;
    if (pathf(out, PATH_BUF, "%s%s", la, dlname) == 0 && file_exists(out))
        return 0;
    return refuse(p, MSGSEC_ERR_PROVIDER_NOT_FOUND, line,
                  "module %s not found (its .la file names %s): %s", base,
                  dlname, strerror(ENOENT));
}

static void hex(const unsigned char *b, size_t n, char *out)
{
    static const char digits[] = "0123456789abcdef";
    for (size_t i = 0; i < n; i++) {
        out[2 * i] = digits[b[i] >> 4];
        out[2 * i + 1] = digits[b[i] & 15];
    }
    out[2 * n] = '\0';
}

/* SHA-256 of what fd holds, read from its start. */
static int sha256_fd(int fd, unsigned char md[32], char *err, size_t err_len)
{
    EVP_MD_CTX *ctx = EVP_MD_CTX_new();
    int rc = ctx && EVP_DigestInit_ex(ctx, EVP_sha256(), NULL) == 1
                 ? 0
                 : MSGSEC_ERR_INTERNAL;
    unsigned char buf[16384];
    off_t off = 0;
    while (rc == 0) {
        ssize_t r = pread(fd, buf, sizeof(buf), off);
        if (r < 0 && errno == EINTR)
            continue;
        if (r < 0) {
            msgsec_detail_set(err, err_len, "%s", strerror(errno));
            rc = MSGSEC_ERR_IO;
        } else if (r == 0) {
            break;
        } else if (EVP_DigestUpdate(ctx, buf, (size_t)r) != 1) {
            rc = MSGSEC_ERR_INTERNAL;
        }
        off += r > 0 ? r : 0;
    }
    unsigned len = 0;
    if (rc == 0 && EVP_DigestFinal_ex(ctx, md, &len) != 1)
        rc = MSGSEC_ERR_INTERNAL;
    if (rc == MSGSEC_ERR_INTERNAL)
        msgsec_detail_set(err, err_len, "SHA-256 failed");
    EVP_MD_CTX_free(ctx);
    return rc;
}

/* ----------------------------------------------------------- loading */

static int set_module_path(struct msgsec_pctx *p, const char *path)
{
    msgsec_mem_strfree(&p->core->mem, p->module_path);
    p->module_path = msgsec_mem_strdup(&p->core->mem, path);
    if (!p->module_path)
        return refuse(p, MSGSEC_ERR_NOMEM, 0, "out of memory");
    return 0;
}

/*
 * A module linked into the program with libtool's -dlpreopen (static
 * builds). It is part of the program, as trusted as the core, and needs no
 * file. libtool lists it as NAME.a when it linked the static archive and as
 * NAME.so when only the shared object existed; lt_dlopen() matches only
 * the first form without searching, and finds the second only after
 * walking LTDL_LIBRARY_PATH and the system paths, which this loader must
 * never do. So the preloaded-module loader is asked directly, for both
 * names, through libltdl's loader interface. The lists it searches are
 * the ones registered at lt_dlinit(), lt_dlpreload_default() included.
 * Returns 1 with *entry set, 0 when not preloaded.
 */
static int find_preloaded(const char *module, msgsec_provider_entry_fn *entry)
{
    char base[NAME_MAX_LEN * 4], name[NAME_MAX_LEN * 4];
    char file[NAME_MAX_LEN * 4 + 4], sym[NAME_MAX_LEN * 4 + 32];
    size_t n = strlen(module);
    if (has_suffix(module, ".la") || has_suffix(module, ".so"))
        n -= 3;
    if (n == 0 || n >= sizeof(base))
        return 0;
    memcpy(base, module, n);
    base[n] = '\0';
    /* libltdl's symbol prefix: the name with [^A-Za-z0-9] as '_'. */
    for (size_t i = 0; i <= n; i++) {
        char c = base[i];
        name[i] = (c == '\0' || (c >= 'a' && c <= 'z') ||
                   (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9'))
                      ? c
                      : '_';
    }
    if (pathf(sym, sizeof(sym), "%s_LTX_%s", name, ENTRY_SYMBOL) < 0)
        return 0;

    static const char *const forms[] = {".a", ".so"};
    void *addr = NULL;
    pthread_mutex_lock(&ltdl_mu);
    const lt_dlvtable *vt = lt_dlloader_find("lt_preopen");
    for (size_t i = 0; vt && vt->module_open && vt->find_sym && !addr &&
                       i < sizeof(forms) / sizeof(forms[0]);
         i++) {
        if (pathf(file, sizeof(file), "%s%s", base, forms[i]) < 0)
            continue;
        lt_module m = vt->module_open(vt->dlloader_data, file, NULL);
        if (m)
            addr = vt->find_sym(vt->dlloader_data, m, sym);
    }
    (void)lt_dlerror(); /* forget "file not found" of the misses */
    pthread_mutex_unlock(&ltdl_mu);
    if (!addr)
        return 0;
    memcpy(entry, &addr, sizeof(*entry));
    return 1;
}

/*
 * Opens the module at base (in the already checked directory dir).
 *
 * The object file is opened once: its owner and mode are checked through
 * that descriptor and, when policy pins it, its SHA-256 is computed from
 * it. Both happen before dlopen, because dlopen already runs the module's
 * ELF constructors: a pin checked afterwards would protect nothing. libltdl
 * is then given that same path, a plain shared object, and has nothing
 * left to choose. Replacing the file between the check and the mapping
 * needs write access to its directory, which the directory check limits
 * to root and this process's own user, against whom no pin can protect.
 */
static int open_object(struct msgsec_pctx *p, const char *dir,
                       const char *base, int line, const char *also,
                       lt_dlhandle *h)
{
    const msgsec_pol_provider *pol = p->pol;
    char object[PATH_BUF], odir[PATH_BUF];
    MSGSEC_GUARD(resolve_object(p, base, line, also, object));
    MSGSEC_GUARD(set_module_path(p, object));

    /* An uninstalled module lives in DIR/.libs: check that one too. */
    memcpy(odir, object, sizeof(odir));
    char *slash = strrchr(odir, '/');
    if (slash && slash != odir) {
        *slash = '\0';
        if (strcmp(odir, dir) != 0)
            MSGSEC_GUARD(check_dir(p, odir, line, ""));
    }

    int fd = open(object, O_RDONLY | O_CLOEXEC | O_NOCTTY);
    if (fd < 0)
        return refuse(p, MSGSEC_ERR_PROVIDER_NOT_FOUND, line, "module %s: %s",
                      object, strerror(errno));
    int rc = check_file_fd(p, fd, object, line);
    if (rc == 0 && pol->has_pin) {
        unsigned char md[32];
        char err[MSGSEC_DETAIL_MAX] = "";
        rc = sha256_fd(fd, md, err, sizeof(err));
        if (rc < 0) {
            refuse(p, rc, line, "cannot hash module %s: %s", object, err);
        } else if (CRYPTO_memcmp(md, pol->pin, sizeof(md)) != 0) {
            char got[65], want[65];
            hex(md, sizeof(md), got);
            hex(pol->pin, sizeof(pol->pin), want);
            rc = refuse(p, MSGSEC_ERR_PROVIDER_PIN, pol->pin_line,
                        "module %s does not match its pin: sha256 %s, "
                        "pinned %s",
                        object, got, want);
        }
    }
    close(fd);
    if (rc < 0)
        return rc;

    open_result r;
    ltdl_open(object, &r);
    if (!r.h)
        return refuse(p, MSGSEC_ERR_PROVIDER_NOT_FOUND, line,
                      "module %s could not be loaded: %s", object, r.error);
    *h = r.h;
    return 0;
}

/* Finds and opens the module of p; fills *d with its raw descriptor. */
static int find_descriptor(struct msgsec_pctx *p, const char *provider_dir,
                           const msgsec_provider **d)
{
    const msgsec_pol_provider *pol = p->pol;
    const char *module = pol->module ? pol->module : pol->name;
    int mline = pol->module_line ? pol->module_line : pol->line;
    if (!module[0] || (module[0] != '/' && strchr(module, '/')) ||
        strcmp(module, ".") == 0 || strcmp(module, "..") == 0)
        return refuse(p, MSGSEC_ERR_POLICY_BAD_VALUE, mline,
                      "module \"%s\": give a file name (looked up in "
                      "provider_dir) or an absolute path",
                      module);

    char err[MSGSEC_DETAIL_MAX] = "";
    if (ltdl_acquire(err, sizeof(err)) < 0)
        return refuse(p, MSGSEC_ERR_INTERNAL, 0, "%s", err);

    /* A pin names a file; an absolute path names one too. */
    int preload = module[0] != '/' && !pol->has_pin;
    msgsec_provider_entry_fn entry = NULL;
    if (preload && find_preloaded(module, &entry)) {
        char label[PATH_BUF];
        if (pathf(label, sizeof(label), "%s (preloaded)", module) < 0)
            label[0] = '\0';
        MSGSEC_GUARD(set_module_path(p, label));
        *d = entry();
        return 0;
    }
    const char *also = preload ? " and in the program's preloaded modules"
                               : "";

    char dir[PATH_BUF], base[PATH_BUF];
    const char *pd = provider_dir ? provider_dir : MSGSEC_PROVIDER_DIR;
    int fits, dline = mline;
    if (module[0] == '/') {
        fits = pathf(dir, sizeof(dir), "%s", module) == 0 &&
               pathf(base, sizeof(base), "%s", module) == 0;
        char *slash = strrchr(dir, '/');
        slash[slash == dir ? 1 : 0] = '\0';
    } else {
        fits = pathf(dir, sizeof(dir), "%s", pd) == 0 &&
               pathf(base, sizeof(base), "%s/%s", pd, module) == 0;
        if (p->core->policy && p->core->policy->provider_dir_line)
            dline = p->core->policy->provider_dir_line;
    }
    /* Room for the ".la" or ".so" tried after it, too. */
    if (!fits || strlen(base) + 4 >= PATH_BUF)
        return refuse(p, MSGSEC_ERR_POLICY_BAD_VALUE, mline,
                      "module path longer than %d bytes", PATH_BUF - 5);
    MSGSEC_GUARD(set_module_path(p, base));
    MSGSEC_GUARD(check_dir(p, dir, dline, also));

    lt_dlhandle h = NULL;
    MSGSEC_GUARD(open_object(p, dir, base, mline, also, &h));
    entry = ltdl_entry(h, err, sizeof(err));
    if (!entry)
        return refuse(p, MSGSEC_ERR_PROVIDER_BAD_MAGIC, mline,
                      "%s is not a msgsec provider: no entry point "
                      "%s (%s; MSGSEC_PROVIDER_DEFINE's first argument must "
                      "be the module's file name)",
                      p->module_path, ENTRY_SYMBOL, err);
    *d = entry();
    return 0;
}

static int check_config_keys(struct msgsec_pctx *p)
{
    const msgsec_pol_provider *pol = p->pol;
    if (!pol)
        return 0;
    const char *const *keys = p->d.config_keys;
    const msgsec_kv *first = NULL;
    size_t unknown = 0;
    for (size_t i = 0; i < pol->nkeys; i++) {
        msgsec_kv *kv = &pol->keys[i];
        kv->used = 0;
        for (size_t k = 0; keys && k < CONFIG_KEYS_MAX && keys[k]; k++)
            if (strcmp(keys[k], kv->key) == 0)
                kv->used = 1;
        if (!kv->used && unknown++ == 0)
            first = kv;
    }
    if (!first)
        return 0;

    char accepted[MSGSEC_DETAIL_MAX] = "";
    for (size_t k = 0; keys && k < CONFIG_KEYS_MAX && keys[k]; k++)
        msgsec_detail_append(accepted, sizeof(accepted), "%s%s",
                             k ? ", " : "", keys[k]);
    refuse(p, MSGSEC_ERR_POLICY_UNKNOWN_KEY, first->line,
           "%s: not a key of provider %s (accepted: %s)", first->key, p->name,
           accepted[0] ? accepted : "none");
    if (unknown > 1)
        msgsec_detail_append(p->detail, sizeof(p->detail),
                             "; and %zu more unknown key%s", unknown - 1,
                             unknown > 2 ? "s" : "");
    return p->status;
}

int msgsec_loader_load(msgsec_core *core, struct msgsec_pctx *p,
                       const char *provider_dir)
{
    if (!core || !p)
        return MSGSEC_ERR_INVALID_ARG;
    p->core = core;
    if (!p->name)
        p->name = p->pol ? p->pol->name : MSGSEC_NULL_PROVIDER;
    p->status = 0;
    p->detail[0] = '\0';
    p->pdata = NULL;
    p->initialised = 0;
    memset(&p->d, 0, sizeof(p->d));
    p->dsize = 0;

    if (p->pol && p->pol->support == MSGSEC_SUPPORT_OFF) {
        p->status = MSGSEC_CONTINUE;
        msgsec_detail_set(p->detail, sizeof(p->detail),
                          "%s:%d: [provider.%s] off by policy", policy_file(p),
                          p->pol->support_line ? p->pol->support_line
                                               : p->pol->line,
                          p->name);
        return p->status;
    }

    const msgsec_provider *d = NULL;
    if ((!p->pol || !p->pol->module) &&
        strcmp(p->name, MSGSEC_NULL_PROVIDER) == 0) {
        if (p->pol && p->pol->has_pin)
            return refuse(p, MSGSEC_ERR_PROVIDER_PIN, p->pol->pin_line,
                          "null is built into libmsgsec: there is no module "
                          "file to pin (remove sha256, or name a module)");
        MSGSEC_GUARD(set_module_path(p, "(built-in)"));
        d = msgsec_null_provider();
    } else if (!p->pol) {
        return refuse(p, MSGSEC_ERR_POLICY_UNKNOWN_PROVIDER, 0,
                      "not declared in policy");
    } else {
        MSGSEC_GUARD(find_descriptor(p, provider_dir, &d));
    }

    char why[MSGSEC_DETAIL_MAX] = "";
    int rc = msgsec_loader_validate(d, &p->d, why, sizeof(why));
    if (rc < 0)
        return refuse(p, rc, 0, "%s: %s", p->module_path, why);
    p->dsize = d->size;
    if (strcmp(p->d.name, p->name) != 0)
        return refuse(p, MSGSEC_ERR_PROVIDER_BAD_DESCRIPTOR, 0,
                      "%s: malformed descriptor: the module calls itself "
                      "\"%s\", policy section is [provider.%s]",
                      p->module_path, p->d.name, p->name);
    MSGSEC_GUARD(check_config_keys(p));

    /* init() and self_test() report through set_detail into p->detail. */
    p->detail[0] = '\0';
    rc = p->d.init(&core->up, p, &p->pdata);
    if (rc != 0) {
        char msg[MSGSEC_DETAIL_MAX];
        msgsec_detail_set(msg, sizeof(msg), "%s",
                          p->detail[0] ? p->detail : "no detail given");
        p->pdata = NULL;
        return refuse(p, MSGSEC_ERR_PROVIDER_INIT, 0,
                      "%s %s: init failed (%s): %s", p->d.name, p->d.version,
                      rc < 0 ? msgsec_error_name(rc) : "non-error return",
                      msg);
    }
    p->initialised = 1;
    if (p->d.self_test) {
        rc = p->d.self_test(p->pdata);
        if (rc != 0) {
            char msg[MSGSEC_DETAIL_MAX];
            msgsec_detail_set(msg, sizeof(msg), "%s",
                              p->detail[0] ? p->detail : "no detail given");
            msgsec_loader_unload(p);
            return refuse(p, MSGSEC_ERR_PROVIDER_SELF_TEST, 0,
                          "%s %s: self_test failed (%s): %s", p->d.name,
                          p->d.version,
                          rc < 0 ? msgsec_error_name(rc) : "non-error return",
                          msg);
        }
    }
    p->detail[0] = '\0';
    p->status = 0;
    return 0;
}

void msgsec_loader_unload(struct msgsec_pctx *p)
{
    if (!p || !p->initialised)
        return;
    if (p->d.fini)
        p->d.fini(p->pdata);
    p->pdata = NULL;
    p->initialised = 0;
}
