/*
 * policy.c - the policy file: reading it safely, locating every section and
 * key on its line, taking the values from iniparser, validating them.
 *
 * iniparser gives no line numbers, merges duplicate sections and keys, and
 * reports syntax errors only through a global callback. So a line locator
 * runs first over the very bytes iniparser will read: it follows iniparser's
 * own rules (comments, continuation lines, quoting) to attribute each
 * section and key to its line and to find duplicates and syntax errors.
 * iniparser then parses the same bytes (from a memfd) and gives the values.
 */
#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include <iniparser.h>

#include "internal.h"

#define POLICY_MAX_BYTES (1024 * 1024)
/* iniparser reads lines with fgets into a buffer of this size; a logical
 * line (continuations included) holds at most INI_LINESZ - 2 characters. */
#define INI_LINESZ 1024
#define SECTION_NAME_MAX 128
#define KEY_NAME_MAX 64
#define PROVIDER_NAME_MAX 32
#define SERVICE_NAME_MAX 64
#define MODULE_NAME_MAX 255
/* Bounds on what iniparser and the duplicate checks see (both scan
 * linearly), and on the problems held for sorting. */
#define MAX_ENTRIES 4096
#define MAX_HELD_DIAGS 1000

/* ------------------------------------------------------- diagnostics */

void msgsec_diag(msgsec_diag_sink *sink, const char *file, int line, int code,
                 const char *fmt, ...)
{
    if (!sink)
        return;
    char msg[MSGSEC_DETAIL_MAX];
    va_list ap;
    va_start(ap, fmt);
    msgsec_detail_vset(msg, sizeof(msg), fmt, ap);
    va_end(ap);
    if (!file)
        file = "<policy>";
    sink->count++;
    if (sink->first_code == 0) {
        sink->first_code = code;
        if (line > 0)
            msgsec_detail_set(sink->first, sizeof(sink->first), "%s:%d: %s",
                              file, line, msg);
        else
            msgsec_detail_set(sink->first, sizeof(sink->first), "%s: %s",
                              file, msg);
    }
    if (sink->cb) {
        msgsec_diagnostic d = {file, line, code, msg};
        sink->cb(sink->ud, &d);
    }
}

/* One problem, held back so that all are reported in file order. */
typedef struct pdiag {
    int line;
    int code;
    char *msg;
} pdiag;

typedef struct pctx {
    const msgsec_mem *mem;
    msgsec_diag_sink *sink;
    const char *file;
    pdiag *diags;
    size_t ndiags, capdiags;
    int nerr;
    int nsyntax;
    int first; /* code of the first problem passed to the sink */
    int unheld; /* problems past MAX_HELD_DIAGS */
    int unheld_code;
} pctx;

/* Grows an array of elem-sized items to hold n + 1; NULL on failure (the
 * old array is then untouched). */
static void *grow(const msgsec_mem *mem, void *arr, size_t *cap, size_t n,
                  size_t elem)
{
    if (n < *cap)
        return arr;
    size_t ncap = *cap ? *cap * 2 : 8;
    if (ncap > SIZE_MAX / elem)
        return NULL;
    unsigned char *na = msgsec_mem_alloc(mem, ncap * elem);
    if (!na)
        return NULL;
    if (arr) {
        memcpy(na, arr, *cap * elem);
        msgsec_mem_free(mem, arr, *cap * elem);
    }
    *cap = ncap;
    return na;
}

static void emit(pctx *c, int line, int code, const char *msg)
{
    if (c->first == 0)
        c->first = code;
    msgsec_diag(c->sink, c->file, line, code, "%s", msg);
}

static void report(pctx *c, int line, int code, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));

static void report(pctx *c, int line, int code, const char *fmt, ...)
{
    char msg[MSGSEC_DETAIL_MAX];
    va_list ap;
    va_start(ap, fmt);
    msgsec_detail_vset(msg, sizeof(msg), fmt, ap);
    va_end(ap);
    c->nerr++;
    if (code == MSGSEC_ERR_POLICY_SYNTAX)
        c->nsyntax++;
    if (c->ndiags >= MAX_HELD_DIAGS) {
        if (c->unheld++ == 0)
            c->unheld_code = code;
        return;
    }
    pdiag *nd = grow(c->mem, c->diags, &c->capdiags, c->ndiags, sizeof(*nd));
    char *copy = nd ? msgsec_mem_strdup(c->mem, msg) : NULL;
    if (nd)
        c->diags = nd;
    if (!copy) {
        /* No memory to hold it back: say it at once. */
        emit(c, line, code, msg);
        return;
    }
    c->diags[c->ndiags].line = line;
    c->diags[c->ndiags].code = code;
    c->diags[c->ndiags].msg = copy;
    c->ndiags++;
}

static void report_nomem(pctx *c)
{
    c->nerr++;
    emit(c, 0, MSGSEC_ERR_NOMEM, "out of memory");
}

/* Passes the held-back problems to the sink by line (stable). */
static void flush(pctx *c)
{
    for (size_t i = 1; i < c->ndiags; i++) {
        pdiag d = c->diags[i];
        size_t j = i;
        for (; j > 0 && c->diags[j - 1].line > d.line; j--)
            c->diags[j] = c->diags[j - 1];
        c->diags[j] = d;
    }
    for (size_t i = 0; i < c->ndiags; i++) {
        emit(c, c->diags[i].line, c->diags[i].code, c->diags[i].msg);
        msgsec_mem_strfree(c->mem, c->diags[i].msg);
    }
    msgsec_mem_free(c->mem, c->diags, c->capdiags * sizeof(*c->diags));
    c->diags = NULL;
    c->ndiags = c->capdiags = 0;
    if (c->unheld) {
        char msg[128];
        msgsec_detail_set(msg, sizeof(msg),
                          "%d more problems not shown; fix the above first",
                          c->unheld);
        emit(c, 0, c->unheld_code, msg);
        c->unheld = 0;
    }
}

/* ------------------------------------------------------ file safety */

int msgsec_check_fd_safe(int fd, int dir, char *why, size_t why_len)
{
    struct stat st;
    if (fstat(fd, &st) < 0) {
        msgsec_detail_set(why, why_len, "cannot stat: %s", strerror(errno));
        return MSGSEC_ERR_POLICY_UNSAFE_FILE;
    }
    if (dir ? !S_ISDIR(st.st_mode) : !S_ISREG(st.st_mode)) {
        msgsec_detail_set(why, why_len, "not a %s",
                          dir ? "directory" : "regular file");
        return MSGSEC_ERR_POLICY_UNSAFE_FILE;
    }
    uid_t euid = geteuid();
    if (st.st_uid != 0 && st.st_uid != euid) {
        msgsec_detail_set(why, why_len,
                          "owned by uid %lu; must be owned by root or by uid "
                          "%lu",
                          (unsigned long)st.st_uid, (unsigned long)euid);
        return MSGSEC_ERR_POLICY_UNSAFE_FILE;
    }
    if (st.st_mode & (S_IWGRP | S_IWOTH)) {
        msgsec_detail_set(why, why_len, "writable by %s (mode %04o)",
                          (st.st_mode & S_IWGRP)
                              ? ((st.st_mode & S_IWOTH) ? "group and others"
                                                        : "group")
                              : "others",
                          (unsigned)(st.st_mode & 07777));
        return MSGSEC_ERR_POLICY_UNSAFE_FILE;
    }
    return 0;
}

/* ---------------------------------------------------------- reading */

/* The policy text: always ends with '\n' (iniparser skips a last line of a
 * single character that has none), cap bytes allocated. */
typedef struct ptext {
    char *p;
    size_t len, cap;
} ptext;

static void ptext_free(const msgsec_mem *mem, ptext *t)
{
    msgsec_mem_free(mem, t->p, t->cap);
    t->p = NULL;
    t->len = t->cap = 0;
}

static int too_large(pctx *c)
{
    report(c, 0, MSGSEC_ERR_POLICY_SYNTAX,
           "policy larger than %d bytes; refused", POLICY_MAX_BYTES);
    return MSGSEC_ERR_POLICY_SYNTAX;
}

static void terminate(ptext *t)
{
    if (t->len > 0 && t->p[t->len - 1] != '\n')
        t->p[t->len++] = '\n';
}

static int read_fd(pctx *c, int fd, ptext *t)
{
    for (;;) {
        /* Room for one byte past the limit, and the final newline. */
        if (t->cap - t->len < 2) {
            if (t->cap >= POLICY_MAX_BYTES + 2)
                return too_large(c);
            size_t ncap = t->cap ? t->cap * 2 : 4096;
            if (ncap > POLICY_MAX_BYTES + 2)
                ncap = POLICY_MAX_BYTES + 2;
            char *np = msgsec_mem_alloc(c->mem, ncap);
            if (!np) {
                report_nomem(c);
                return MSGSEC_ERR_NOMEM;
            }
            if (t->p)
                memcpy(np, t->p, t->len);
            msgsec_mem_free(c->mem, t->p, t->cap);
            t->p = np;
            t->cap = ncap;
        }
        ssize_t n = read(fd, t->p + t->len, t->cap - t->len - 1);
        if (n < 0) {
            if (errno == EINTR)
                continue;
            report(c, 0, MSGSEC_ERR_IO, "cannot read: %s", strerror(errno));
            return MSGSEC_ERR_IO;
        }
        if (n == 0)
            break;
        t->len += (size_t)n;
        if (t->len > POLICY_MAX_BYTES)
            return too_large(c);
    }
    terminate(t);
    return 0;
}

static int read_file(pctx *c, const char *path, int check_file, ptext *t)
{
    /* O_NONBLOCK: opening a FIFO must not hang; cleared before reading. */
    int fd = open(path,
                  O_RDONLY | O_CLOEXEC | O_NOFOLLOW | O_NOCTTY | O_NONBLOCK);
    if (fd < 0) {
        int e = errno;
        if (e == ELOOP) {
            report(c, 0, MSGSEC_ERR_POLICY_UNSAFE_FILE,
                   "is a symbolic link; name the file itself");
            return MSGSEC_ERR_POLICY_UNSAFE_FILE;
        }
        report(c, 0, MSGSEC_ERR_IO, "cannot open: %s", strerror(e));
        return MSGSEC_ERR_IO;
    }
    int rc = 0;
    char why[256];
    if (check_file && msgsec_check_fd_safe(fd, 0, why, sizeof(why)) < 0) {
        report(c, 0, MSGSEC_ERR_POLICY_UNSAFE_FILE, "unsafe policy file: %s",
               why);
        rc = MSGSEC_ERR_POLICY_UNSAFE_FILE;
    } else {
        int fl = fcntl(fd, F_GETFL);
        if (fl < 0 || fcntl(fd, F_SETFL, fl & ~O_NONBLOCK) < 0) {
            report(c, 0, MSGSEC_ERR_IO, "cannot read: %s", strerror(errno));
            rc = MSGSEC_ERR_IO;
        } else {
            rc = read_fd(c, fd, t);
        }
    }
    close(fd);
    return rc;
}

static int read_text(pctx *c, const char *text, ptext *t)
{
    size_t n = strnlen(text, POLICY_MAX_BYTES + 1);
    if (n > POLICY_MAX_BYTES)
        return too_large(c);
    t->cap = n + 2;
    t->p = msgsec_mem_alloc(c->mem, t->cap);
    if (!t->p) {
        t->cap = 0;
        report_nomem(c);
        return MSGSEC_ERR_NOMEM;
    }
    memcpy(t->p, text, n);
    t->len = n;
    terminate(t);
    return 0;
}

/* ----------------------------------------------------- line locator */

typedef struct loc_key {
    char *name;  /* lower case */
    int line;
    int dup;     /* repeats a key earlier in its section */
    char *value; /* from iniparser */
} loc_key;

enum sec_kind { SK_SKIP = 0, SK_CORE, SK_PROVIDER, SK_SERVICE };

typedef struct loc_section {
    char *name; /* lower case, as iniparser stores it */
    char *raw;  /* as written, blanks stripped */
    int line;
    int dup_of; /* line of the first [name]; 0 for the first */
    int kind;   /* enum sec_kind, decided when validating */
    size_t index; /* into the policy's providers or services */
    loc_key *keys;
    size_t nkeys, capkeys;
} loc_section;

/* A logical line iniparser must not see as written (see sanitize()). */
enum span_fix { FIX_NONE = 0, FIX_BLANK, FIX_SINK_SECTION };

typedef struct loc_span {
    size_t start, end; /* byte offsets, end after its last '\n' */
    int fix;           /* enum span_fix */
} loc_span;

typedef struct loc {
    loc_section *secs;
    size_t nsecs, capsecs;
    loc_span *spans;
    size_t nspans, capspans;
} loc;

static void loc_free(const msgsec_mem *mem, loc *L)
{
    for (size_t i = 0; i < L->nsecs; i++) {
        loc_section *s = &L->secs[i];
        for (size_t k = 0; k < s->nkeys; k++) {
            msgsec_mem_strfree(mem, s->keys[k].name);
            msgsec_mem_strfree(mem, s->keys[k].value);
        }
        msgsec_mem_free(mem, s->keys, s->capkeys * sizeof(*s->keys));
        msgsec_mem_strfree(mem, s->name);
        msgsec_mem_strfree(mem, s->raw);
    }
    msgsec_mem_free(mem, L->secs, L->capsecs * sizeof(*L->secs));
    msgsec_mem_free(mem, L->spans, L->capspans * sizeof(*L->spans));
    memset(L, 0, sizeof(*L));
}

/* iniparser's strstrip: blanks off both ends, in place; returns the start. */
static char *strip(char *s)
{
    while (*s && isspace((unsigned char)*s))
        s++;
    size_t n = strlen(s);
    while (n > 0 && isspace((unsigned char)s[n - 1]))
        s[--n] = '\0';
    return s;
}

static void lower(char *s)
{
    for (; *s; s++)
        *s = (char)tolower((unsigned char)*s);
}

/* ASCII only, whatever the locale. */
static int key_char(int ch)
{
    return (ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z') ||
           (ch >= '0' && ch <= '9') || ch == '_' || ch == '-' || ch == '.';
}

/* Locator state while walking the text. */
typedef struct walker {
    pctx *c;
    loc *L;
    long cur;     /* index of the current section in L, -1 none */
    int cur_bad;  /* the current header was malformed or repeated: its
                     keys are not located (the header is reported) */
    int fix;      /* enum span_fix for the line just located */
    size_t entries; /* sections and keys iniparser will store */
} walker;

static int locate_section(walker *w, char *s, size_t n, int lineno)
{
    pctx *c = w->c;
    /* Between the brackets: iniparser takes up to the first ']'. */
    s[n - 1] = '\0';
    char *inner = s + 1;
    w->cur = -1;
    w->cur_bad = 1;
    w->fix = FIX_SINK_SECTION;
    if (strpbrk(inner, "[]")) {
        report(c, lineno, MSGSEC_ERR_POLICY_SYNTAX,
               "malformed section header [%s]", inner);
        return 0;
    }
    char *name = strip(inner);
    if (!*name) {
        report(c, lineno, MSGSEC_ERR_POLICY_SYNTAX, "empty section name []");
        return 0;
    }
    if (strlen(name) > SECTION_NAME_MAX) {
        report(c, lineno, MSGSEC_ERR_POLICY_SYNTAX,
               "section name longer than %d characters", SECTION_NAME_MAX);
        return 0;
    }
    loc *L = w->L;
    loc_section *ns = grow(c->mem, L->secs, &L->capsecs, L->nsecs,
                           sizeof(*ns));
    if (!ns)
        return MSGSEC_ERR_NOMEM;
    L->secs = ns;
    loc_section *sec = &L->secs[L->nsecs];
    memset(sec, 0, sizeof(*sec));
    sec->raw = msgsec_mem_strdup(c->mem, name);
    lower(name);
    sec->name = msgsec_mem_strdup(c->mem, name);
    sec->line = lineno;
    L->nsecs++; /* counted now so that loc_free releases it */
    if (!sec->raw || !sec->name)
        return MSGSEC_ERR_NOMEM;
    for (size_t i = 0; i + 1 < L->nsecs; i++) {
        if (!L->secs[i].dup_of && strcmp(L->secs[i].name, sec->name) == 0) {
            sec->dup_of = L->secs[i].line;
            report(c, lineno, MSGSEC_ERR_POLICY_DUPLICATE,
                   "[%s]: duplicate section (first at line %d)", sec->raw,
                   sec->dup_of);
            return 0;
        }
    }
    w->cur = (long)(L->nsecs - 1);
    w->cur_bad = 0;
    w->fix = FIX_NONE;
    return 0;
}

static int locate_value(walker *w, char *s, int lineno)
{
    pctx *c = w->c;
    char key[INI_LINESZ + 1], val[INI_LINESZ + 1];
    /* Exactly the forms iniparser 4.1 accepts, in its order. */
    if (!(sscanf(s, "%1024[^=] = \"%1024[^\"]\"", key, val) == 2 ||
          sscanf(s, "%1024[^=] = '%1024[^\']'", key, val) == 2 ||
          sscanf(s, "%1024[^=] = %1024[^;#]", key, val) == 2 ||
          sscanf(s, "%1024[^=] = %1024[;#]", key, val) == 2 ||
          sscanf(s, "%1024[^=] %1024[=]", key, val) == 2)) {
        report(c, lineno, MSGSEC_ERR_POLICY_SYNTAX,
               "expected \"key = value\", a [section] header or a comment");
        return 0;
    }
    /* iniparser keeps what follows a closing quote and an unclosed quote
     * silently; both are mistakes here. */
    const char *v = strchr(s, '=') + 1;
    while (isspace((unsigned char)*v))
        v++;
    if (*v == '"' || *v == '\'') {
        const char *q = strchr(v + 1, *v);
        if (!q) {
            report(c, lineno, MSGSEC_ERR_POLICY_SYNTAX,
                   "unterminated quoted value");
            return 0;
        }
        for (q++; isspace((unsigned char)*q); q++)
            ;
        if (*q && *q != ';' && *q != '#') {
            report(c, lineno, MSGSEC_ERR_POLICY_SYNTAX,
                   "unexpected text after the quoted value");
            return 0;
        }
    }
    char *k = strip(key);
    for (const char *p = k; *p; p++) {
        if (!key_char((unsigned char)*p)) {
            report(c, lineno, MSGSEC_ERR_POLICY_SYNTAX,
                   "bad key name \"%s\" (letters, digits, '_', '-' and '.' "
                   "only)",
                   k);
            return 0;
        }
    }
    if (strlen(k) > KEY_NAME_MAX) {
        report(c, lineno, MSGSEC_ERR_POLICY_SYNTAX,
               "key name longer than %d characters", KEY_NAME_MAX);
        return 0;
    }
    lower(k);
    w->fix = FIX_NONE;
    if (w->cur_bad)
        return 0;
    if (w->cur < 0) {
        w->fix = FIX_BLANK;
        report(c, lineno, MSGSEC_ERR_POLICY_SYNTAX,
               "key \"%s\" outside of any [section]", k);
        return 0;
    }
    loc_section *sec = &w->L->secs[w->cur];
    loc_key *nk = grow(c->mem, sec->keys, &sec->capkeys, sec->nkeys,
                       sizeof(*nk));
    if (!nk)
        return MSGSEC_ERR_NOMEM;
    sec->keys = nk;
    loc_key *kk = &sec->keys[sec->nkeys];
    memset(kk, 0, sizeof(*kk));
    kk->line = lineno;
    kk->name = msgsec_mem_strdup(c->mem, k);
    sec->nkeys++;
    if (!kk->name)
        return MSGSEC_ERR_NOMEM;
    for (size_t i = 0; i + 1 < sec->nkeys; i++) {
        if (!sec->keys[i].dup && strcmp(sec->keys[i].name, k) == 0) {
            kk->dup = 1;
            w->fix = FIX_BLANK;
            report(c, lineno, MSGSEC_ERR_POLICY_DUPLICATE,
                   "[%s] %s: duplicate key (first at line %d)", sec->raw, k,
                   sec->keys[i].line);
            return 0;
        }
    }
    return 0;
}

/* Classifies one logical line as iniparser_line() does. */
static int locate_line(walker *w, const char *logical, int lineno)
{
    char buf[INI_LINESZ + 1];
    snprintf(buf, sizeof(buf), "%s", logical);
    w->fix = FIX_BLANK; /* unless found fine */
    char *s = strip(buf);
    size_t n = strlen(s);
    if (n == 0 || s[0] == '#' || s[0] == ';') {
        w->fix = FIX_NONE;
        return 0;
    }
    if (w->entries >= MAX_ENTRIES) {
        if (w->entries++ == MAX_ENTRIES)
            report(w->c, lineno, MSGSEC_ERR_POLICY_SYNTAX,
                   "more than %d sections and keys; the rest is ignored",
                   MAX_ENTRIES);
        w->cur = -1;
        w->cur_bad = 1;
        return 0;
    }
    int rc = (s[0] == '[' && s[n - 1] == ']')
                 ? locate_section(w, s, n, lineno)
                 : locate_value(w, s, lineno);
    if (w->fix != FIX_BLANK)
        w->entries++;
    return rc;
}

/*
 * Walks the text as iniparser_load() reads it: physical lines through a
 * fixed buffer, trailing blanks removed, a line ending in '\' continued by
 * the next one (comments too). Problems are reported on the first physical
 * line of the logical line.
 */
static int add_span(pctx *c, loc *L, size_t start, size_t end, int fix)
{
    if (fix == FIX_NONE)
        return 0;
    loc_span *ns = grow(c->mem, L->spans, &L->capspans, L->nspans,
                        sizeof(*ns));
    if (!ns)
        return MSGSEC_ERR_NOMEM;
    L->spans = ns;
    L->spans[L->nspans++] = (loc_span){start, end, fix};
    return 0;
}

static int locate(pctx *c, const ptext *t, loc *L)
{
    walker w = {c, L, -1, 0, FIX_NONE, 0};
    char line[INI_LINESZ + 1];
    size_t last = 0, pos = 0, start_off = 0;
    int lineno = 0, start = 0, rc = 0;
    while (pos < t->len && rc == 0) {
        const char *phys = t->p + pos;
        const char *nl = memchr(phys, '\n', t->len - pos);
        size_t plen = (size_t)(nl - phys) + 1; /* the text ends in '\n' */
        if (last == 0) {
            start = lineno + 1;
            start_off = pos;
        }
        pos += plen;
        lineno++;
        if (memchr(phys, '\0', plen)) {
            report(c, lineno, MSGSEC_ERR_POLICY_SYNTAX, "NUL byte in line");
            last = 0;
            rc = add_span(c, L, start_off, pos, FIX_BLANK);
            continue;
        }
        if (plen > INI_LINESZ - 1 - last) {
            report(c, start, MSGSEC_ERR_POLICY_SYNTAX,
                   "line too long (at most %d characters, continuation lines "
                   "included)",
                   INI_LINESZ - 2);
            last = 0;
            rc = add_span(c, L, start_off, pos, FIX_BLANK);
            continue;
        }
        memcpy(line + last, phys, plen);
        line[last + plen] = '\0';
        long len = (long)strlen(line) - 1;
        if (len <= 0)
            continue;
        while (len >= 0 && isspace((unsigned char)line[len]))
            line[len--] = '\0';
        if (len < 0)
            len = 0;
        if (line[len] == '\\') {
            last = (size_t)len;
            continue;
        }
        last = 0;
        rc = locate_line(&w, line, start);
        if (rc == 0)
            rc = add_span(c, L, start_off, pos, w.fix);
    }
    if (rc == 0 && last)
        report(c, start, MSGSEC_ERR_POLICY_SYNTAX,
               "continuation '\\' on the last line of the file");
    if (rc == MSGSEC_ERR_NOMEM)
        report_nomem(c);
    return rc;
}

/* --------------------------------------------------------- iniparser */

/* iniparser's error callback is process-global: whoever loads holds this
 * mutex, points ini_capture at its own buffer, and restores the default
 * callback afterwards (iniparser offers no way to read the previous one). */
static pthread_mutex_t ini_mu = PTHREAD_MUTEX_INITIALIZER;
static char *ini_capture;
#define INI_CAPTURE_SZ 256

static int ini_error_cb(const char *fmt, ...)
    __attribute__((format(printf, 1, 2)));

static int ini_error_cb(const char *fmt, ...)
{
    if (!ini_capture || ini_capture[0])
        return 0; /* keep the first message only */
    va_list ap;
    va_start(ap, fmt);
    msgsec_detail_vset(ini_capture, INI_CAPTURE_SZ, fmt, ap);
    va_end(ap);
    return 0;
}

/* Writes the text to a memfd and lets iniparser load it from there. */
static dictionary *ini_load(pctx *c, const ptext *t)
{
    int mfd = memfd_create("msgsec-policy", MFD_CLOEXEC);
    if (mfd < 0) {
        report(c, 0, MSGSEC_ERR_IO, "cannot create a memory file: %s",
               strerror(errno));
        return NULL;
    }
    for (size_t off = 0; off < t->len;) {
        ssize_t n = write(mfd, t->p + off, t->len - off);
        if (n < 0 && errno == EINTR)
            continue;
        if (n <= 0) {
            report(c, 0, MSGSEC_ERR_IO, "cannot write a memory file: %s",
                   n < 0 ? strerror(errno) : "short write");
            close(mfd);
            return NULL;
        }
        off += (size_t)n;
    }
    char name[64];
    snprintf(name, sizeof(name), "/proc/self/fd/%d", mfd);
    char captured[INI_CAPTURE_SZ] = "";

    pthread_mutex_lock(&ini_mu);
    ini_capture = captured;
    iniparser_set_error_callback(ini_error_cb);
    dictionary *d = iniparser_load(name);
    iniparser_set_error_callback(NULL);
    ini_capture = NULL;
    pthread_mutex_unlock(&ini_mu);
    close(mfd);

    if (d)
        return d;
    /* The locator accepted the text, so this is unexpected: say what
     * iniparser said. */
    int line = 0;
    const char *at = strstr(captured, name);
    if (at)
        sscanf(at + strlen(name), " (%d)", &line);
    char *nl = strchr(captured, '\n');
    if (nl)
        *nl = '\0';
    if (strstr(captured, "cannot open"))
        report(c, 0, MSGSEC_ERR_IO,
               "cannot read the policy back through %s (is /proc mounted?)",
               name);
    else if (strstr(captured, "memory"))
        report_nomem(c);
    else
        report(c, line, MSGSEC_ERR_POLICY_SYNTAX, "rejected by iniparser: %s",
               captured[0] ? captured : "no reason given");
    return NULL;
}

/*
 * For diagnostics only, when the text has problems already: a copy in which
 * iniparser sees neither the lines with syntax errors (it would refuse the
 * whole file) nor duplicate keys (it would keep the last value), and in
 * which malformed and duplicate section headers become "[!]", a section
 * nobody looks up, so that the keys under them do not merge into another
 * section. Line numbers are kept. Every other value still comes from
 * iniparser, so every problem of the file is found in one pass.
 */
static int sanitize(pctx *c, const ptext *t, const loc *L, ptext *out)
{
    out->cap = t->len + L->nspans + 2;
    out->p = msgsec_mem_alloc(c->mem, out->cap);
    if (!out->p) {
        out->cap = 0;
        return MSGSEC_ERR_NOMEM;
    }
    size_t pos = 0;
    for (size_t i = 0; i < L->nspans; i++) {
        const loc_span *sp = &L->spans[i];
        memcpy(out->p + out->len, t->p + pos, sp->start - pos);
        out->len += sp->start - pos;
        if (sp->fix == FIX_SINK_SECTION) {
            memcpy(out->p + out->len, "[!]", 3);
            out->len += 3;
        }
        for (size_t j = sp->start; j < sp->end; j++)
            if (t->p[j] == '\n')
                out->p[out->len++] = '\n';
        pos = sp->end;
    }
    memcpy(out->p + out->len, t->p + pos, t->len - pos);
    out->len += t->len - pos;
    return 0;
}

/* Fills every located key's value from iniparser. */
static int ini_values(pctx *c, const ptext *t, loc *L)
{
    ptext clean = {0};
    if (L->nspans) {
        if (sanitize(c, t, L, &clean) < 0) {
            report_nomem(c);
            return MSGSEC_ERR_NOMEM;
        }
        t = &clean;
    }
    dictionary *d = ini_load(c, t);
    ptext_free(c->mem, &clean);
    if (!d)
        return MSGSEC_ERR_POLICY_SYNTAX; /* reported */
    int rc = 0;
    for (size_t i = 0; i < L->nsecs && rc == 0; i++) {
        loc_section *s = &L->secs[i];
        for (size_t k = 0; k < s->nkeys; k++) {
            char full[2 * INI_LINESZ + 2];
            snprintf(full, sizeof(full), "%s:%s", s->name, s->keys[k].name);
            const char *v = iniparser_getstring(d, full, NULL);
            if (!v) {
                /* Not expected: the locator follows iniparser's rules. */
                report(c, s->keys[k].line, MSGSEC_ERR_POLICY_SYNTAX,
                       "[%s] %s: not understood by iniparser", s->raw,
                       s->keys[k].name);
                s->keys[k].dup = 1; /* no value: skip when validating */
                continue;
            }
            s->keys[k].value = msgsec_mem_strdup(c->mem, v);
            if (!s->keys[k].value) {
                report_nomem(c);
                rc = MSGSEC_ERR_NOMEM;
                break;
            }
        }
    }
    iniparser_freedict(d);
    return rc;
}

/* ------------------------------------------------------- validation */

static int valid_name(const char *s, size_t max, const char *extra)
{
    size_t n = strlen(s);
    if (n == 0 || n > max)
        return 0;
    for (; *s; s++)
        if (!((*s >= 'a' && *s <= 'z') || (*s >= '0' && *s <= '9') ||
              strchr(extra, *s)))
            return 0;
    return 1;
}

static int parse_bool(pctx *c, const loc_section *s, const loc_key *k,
                      int *out)
{
    if (strcmp(k->value, "yes") == 0)
        *out = 1;
    else if (strcmp(k->value, "no") == 0)
        *out = 0;
    else {
        report(c, k->line, MSGSEC_ERR_POLICY_BAD_VALUE,
               "[%s] %s: \"%s\" is not yes or no", s->raw, k->name, k->value);
        return -1;
    }
    return 0;
}

static int hexval(int ch)
{
    if (ch >= '0' && ch <= '9')
        return ch - '0';
    if (ch >= 'a' && ch <= 'f')
        return ch - 'a' + 10;
    if (ch >= 'A' && ch <= 'F')
        return ch - 'A' + 10;
    return -1;
}

static const char *section_label(int kind)
{
    return kind == SK_PROVIDER ? "provider" : "service";
}

/* Decides what each section is, reporting bad and unknown ones. */
static void classify(pctx *c, loc *L, size_t *nprov, size_t *nsvc)
{
    *nprov = *nsvc = 0;
    for (size_t i = 0; i < L->nsecs; i++) {
        loc_section *s = &L->secs[i];
        s->kind = SK_SKIP;
        if (s->dup_of)
            continue;
        int kind = SK_SKIP;
        size_t skip = 0, max = 0;
        const char *extra = "-";
        if (strcmp(s->name, "core") == 0) {
            s->kind = SK_CORE;
            continue;
        } else if (strncmp(s->name, "provider.", 9) == 0) {
            kind = SK_PROVIDER;
            skip = 9;
            max = PROVIDER_NAME_MAX;
        } else if (strncmp(s->name, "service.", 8) == 0) {
            kind = SK_SERVICE;
            skip = 8;
            max = SERVICE_NAME_MAX;
            extra = "-_.";
        } else {
            report(c, s->line, MSGSEC_ERR_POLICY_UNKNOWN_KEY,
                   "[%s]: unknown section (expected [core], [provider.NAME] "
                   "or [service.NAME])",
                   s->raw);
            continue;
        }
        /* The name as written: iniparser would fold it to lower case. */
        if (!valid_name(s->raw + skip, max, extra)) {
            report(c, s->line, MSGSEC_ERR_POLICY_BAD_VALUE,
                   "[%s]: %s name \"%s\" must be 1 to %zu characters of "
                   "a-z, 0-9 and %s",
                   s->raw, section_label(kind), s->raw + skip, max,
                   kind == SK_PROVIDER ? "'-'" : "'-', '_', '.'");
            continue;
        }
        s->kind = kind;
        s->index = kind == SK_PROVIDER ? (*nprov)++ : (*nsvc)++;
    }
}

static int build_core(pctx *c, msgsec_policy *p, const loc_section *s)
{
    for (size_t i = 0; i < s->nkeys; i++) {
        const loc_key *k = &s->keys[i];
        if (k->dup)
            continue;
        if (strcmp(k->name, "provider_dir") == 0) {
            if (k->value[0] != '/') {
                report(c, k->line, MSGSEC_ERR_POLICY_BAD_VALUE,
                       "[%s] provider_dir: \"%s\" is not an absolute path",
                       s->raw, k->value);
                continue;
            }
            p->provider_dir = msgsec_mem_strdup(c->mem, k->value);
            if (!p->provider_dir)
                return MSGSEC_ERR_NOMEM;
            p->provider_dir_line = k->line;
        } else if (strcmp(k->name, "allow_insecure") == 0) {
            if (parse_bool(c, s, k, &p->allow_insecure) == 0)
                p->allow_insecure_line = k->line;
        } else if (strcmp(k->name, "seal_client") == 0) {
            if (strcmp(k->value, "auto") == 0)
                p->seal_client_mode = MSGSEC_SEAL_CLIENT_AUTO;
            else if (strcmp(k->value, "yes") == 0)
                p->seal_client_mode = MSGSEC_SEAL_CLIENT_YES;
            else if (strcmp(k->value, "no") == 0)
                p->seal_client_mode = MSGSEC_SEAL_CLIENT_NO;
            else {
                report(c, k->line, MSGSEC_ERR_POLICY_BAD_VALUE,
                       "[%s] seal_client: \"%s\" is not auto, yes or no",
                       s->raw, k->value);
                continue;
            }
            p->seal_client_line = k->line;
        } else {
            report(c, k->line, MSGSEC_ERR_POLICY_UNKNOWN_KEY,
                   "[%s] %s: unknown key (known: provider_dir, "
                   "allow_insecure, seal_client)",
                   s->raw, k->name);
        }
    }
    return 0;
}

static const struct {
    const char *word;
    int support;
} support_words[] = {
    {"mandatory", MSGSEC_SUPPORT_MANDATORY},
    {"optional", MSGSEC_SUPPORT_OPTIONAL},
    {"off", MSGSEC_SUPPORT_OFF},
    {"mandatory-if-seal-client", MSGSEC_SUPPORT_MANDATORY_IF_SEAL_CLIENT},
};

static int core_provider_key(const char *name)
{
    return strcmp(name, "support") == 0 || strcmp(name, "module") == 0 ||
           strcmp(name, "sha256") == 0;
}

static void provider_module(pctx *c, msgsec_pol_provider *pp,
                            const loc_section *s, const loc_key *k)
{
    const char *v = k->value;
    int ok;
    if (strchr(v, '/'))
        ok = v[0] == '/';
    else {
        ok = v[0] != '\0' && v[0] != '.' && strlen(v) <= MODULE_NAME_MAX;
        for (const char *q = v; ok && *q; q++)
            ok = key_char((unsigned char)*q);
    }
    if (!ok) {
        report(c, k->line, MSGSEC_ERR_POLICY_BAD_VALUE,
               "[%s] module: \"%s\" is neither a module name (letters, "
               "digits, '_', '-', '.') nor an absolute path",
               s->raw, v);
        return;
    }
    pp->module = msgsec_mem_strdup(c->mem, v);
    pp->module_line = k->line;
}

static void provider_pin(pctx *c, msgsec_pol_provider *pp,
                         const loc_section *s, const loc_key *k)
{
    const char *v = k->value;
    int ok = strlen(v) == 64;
    for (size_t i = 0; ok && i < 32; i++) {
        int hi = hexval((unsigned char)v[2 * i]);
        int lo = hexval((unsigned char)v[2 * i + 1]);
        ok = hi >= 0 && lo >= 0;
        if (ok)
            pp->pin[i] = (unsigned char)((hi << 4) | lo);
    }
    if (!ok) {
        memset(pp->pin, 0, sizeof(pp->pin));
        report(c, k->line, MSGSEC_ERR_POLICY_BAD_VALUE,
               "[%s] sha256: expected 64 hexadecimal digits (the SHA-256 of "
               "the module file)",
               s->raw);
        return;
    }
    pp->has_pin = 1;
    pp->pin_line = k->line;
}

static int build_provider(pctx *c, msgsec_pol_provider *pp,
                          const loc_section *s)
{
    pp->name = msgsec_mem_strdup(c->mem, s->raw + 9);
    if (!pp->name)
        return MSGSEC_ERR_NOMEM;
    pp->line = s->line;
    pp->support = MSGSEC_SUPPORT_OPTIONAL;

    size_t nextra = 0;
    for (size_t i = 0; i < s->nkeys; i++)
        if (!s->keys[i].dup && !core_provider_key(s->keys[i].name))
            nextra++;
    if (nextra) {
        pp->keys = msgsec_mem_alloc(c->mem, nextra * sizeof(*pp->keys));
        if (!pp->keys)
            return MSGSEC_ERR_NOMEM;
        pp->nkeys = nextra;
    }

    size_t e = 0;
    for (size_t i = 0; i < s->nkeys; i++) {
        const loc_key *k = &s->keys[i];
        if (k->dup)
            continue;
        if (strcmp(k->name, "support") == 0) {
            size_t w = 0, nw = sizeof(support_words) / sizeof(support_words[0]);
            while (w < nw && strcmp(support_words[w].word, k->value) != 0)
                w++;
            if (w == nw) {
                report(c, k->line, MSGSEC_ERR_POLICY_BAD_VALUE,
                       "[%s] support: \"%s\" is not mandatory, optional, off "
                       "or mandatory-if-seal-client",
                       s->raw, k->value);
                continue;
            }
            pp->support = support_words[w].support;
            pp->support_line = k->line;
        } else if (strcmp(k->name, "module") == 0) {
            provider_module(c, pp, s, k);
            if (pp->module_line && !pp->module)
                return MSGSEC_ERR_NOMEM;
        } else if (strcmp(k->name, "sha256") == 0) {
            provider_pin(c, pp, s, k);
        } else {
            /* The provider's own key: checked against its declared
             * config keys when it is loaded. */
            msgsec_kv *kv = &pp->keys[e++];
            kv->key = msgsec_mem_strdup(c->mem, k->name);
            kv->value = msgsec_mem_strdup(c->mem, k->value);
            kv->line = k->line;
            if (!kv->key || !kv->value)
                return MSGSEC_ERR_NOMEM;
        }
    }
    return 0;
}

static const msgsec_pol_provider *find_provider(const msgsec_policy *p,
                                                const char *name)
{
    for (size_t i = 0; i < p->nproviders; i++)
        if (p->providers[i].name && strcmp(p->providers[i].name, name) == 0)
            return &p->providers[i];
    return NULL;
}

/*
 * Splits a comma list into trimmed items (in place). Returns the number of
 * items, or -1 after reporting an empty item. An all-blank value has 0.
 */
static long split_list(pctx *c, const loc_section *s, const loc_key *k,
                       char *buf, char **items, size_t max)
{
    char *q = strip(buf);
    if (!*q)
        return 0;
    long n = 0;
    int bad = 0;
    for (;;) {
        char *comma = strchr(q, ',');
        if (comma)
            *comma = '\0';
        char *item = strip(q);
        if (!*item)
            bad = 1;
        else if ((size_t)n < max)
            items[n++] = item;
        if (!comma)
            break;
        q = comma + 1;
    }
    if (bad) {
        report(c, k->line, MSGSEC_ERR_POLICY_BAD_VALUE,
               "[%s] %s: empty name in the comma-separated list", s->raw,
               k->name);
        return -1;
    }
    return n;
}

static size_t count_items(const char *v)
{
    size_t n = 1;
    for (; *v; v++)
        n += *v == ',';
    return n;
}

static int service_use(pctx *c, msgsec_policy *p, msgsec_pol_service *ps,
                       const loc_section *s, const loc_key *k)
{
    ps->use_line = k->line;
    size_t max = count_items(k->value);
    size_t blen = strlen(k->value) + 1; /* buf is cut up in place */
    char *buf = msgsec_mem_strdup(c->mem, k->value);
    char **items = msgsec_mem_alloc(c->mem, max * sizeof(*items));
    int rc = 0;
    if (!buf || !items) {
        rc = MSGSEC_ERR_NOMEM;
        goto out;
    }
    long n = split_list(c, s, k, buf, items, max);
    if (n < 0)
        goto out;
    if (n == 0) {
        report(c, k->line, MSGSEC_ERR_POLICY_EMPTY_SERVICE,
               "[%s] use: empty list; name at least one provider", s->raw);
        goto out;
    }
    ps->use = msgsec_mem_alloc(c->mem, (size_t)n * sizeof(*ps->use));
    if (!ps->use) {
        rc = MSGSEC_ERR_NOMEM;
        goto out;
    }
    ps->nuse = (size_t)n;
    for (long i = 0; i < n; i++) {
        const char *name = items[i];
        int listed = 0;
        for (long j = 0; j < i; j++)
            listed |= strcmp(items[j], name) == 0;
        if (listed) {
            report(c, k->line, MSGSEC_ERR_POLICY_DUPLICATE,
                   "[%s] use: provider \"%s\" is listed twice", s->raw, name);
            continue;
        }
        const msgsec_pol_provider *pp = find_provider(p, name);
        if (!pp && strcmp(name, MSGSEC_NULL_PROVIDER) != 0) {
            report(c, k->line, MSGSEC_ERR_POLICY_UNKNOWN_PROVIDER,
                   "[%s] use: provider \"%s\" is not declared (no "
                   "[provider.%s])",
                   s->raw, name, name);
            continue;
        }
        if (pp && pp->support == MSGSEC_SUPPORT_OFF) {
            report(c, k->line, MSGSEC_ERR_POLICY_BAD_VALUE,
                   "[%s] use: provider \"%s\" has support = off (line %d)",
                   s->raw, name, pp->support_line);
            continue;
        }
        ps->use[i] = msgsec_mem_strdup(c->mem, name);
        if (!ps->use[i]) {
            rc = MSGSEC_ERR_NOMEM;
            goto out;
        }
    }
out:
    msgsec_mem_free(c->mem, items, max * sizeof(*items));
    msgsec_mem_free(c->mem, buf, blen);
    return rc;
}

static void known_caps(char *buf, size_t len)
{
    buf[0] = '\0';
    for (uint32_t bit = 1; bit & MSGSEC_CAP_KNOWN_MASK; bit <<= 1) {
        const char *n = msgsec_cap_name(bit);
        if (n)
            msgsec_detail_append(buf, len, "%s%s", buf[0] ? ", " : "", n);
    }
}

static int service_require(pctx *c, msgsec_pol_service *ps,
                           const loc_section *s, const loc_key *k)
{
    size_t max = count_items(k->value);
    size_t blen = strlen(k->value) + 1; /* buf is cut up in place */
    char *buf = msgsec_mem_strdup(c->mem, k->value);
    char **items = msgsec_mem_alloc(c->mem, max * sizeof(*items));
    int rc = 0;
    if (!buf || !items) {
        rc = MSGSEC_ERR_NOMEM;
        goto out;
    }
    long n = split_list(c, s, k, buf, items, max);
    uint32_t req = 0;
    int ok = n >= 0;
    for (long i = 0; i < n; i++) {
        uint32_t bit = msgsec_cap_from_name(items[i]);
        if (!bit) {
            char known[256];
            known_caps(known, sizeof(known));
            report(c, k->line, MSGSEC_ERR_POLICY_BAD_VALUE,
                   "[%s] require: unknown capability \"%s\" (known: %s)",
                   s->raw, items[i], known);
            ok = 0;
        } else if (req & bit) {
            report(c, k->line, MSGSEC_ERR_POLICY_DUPLICATE,
                   "[%s] require: capability \"%s\" is listed twice", s->raw,
                   items[i]);
            ok = 0;
        }
        req |= bit;
    }
    if (ok) {
        ps->require = req;
        ps->require_line = k->line;
    }
out:
    msgsec_mem_free(c->mem, items, max * sizeof(*items));
    msgsec_mem_free(c->mem, buf, blen);
    return rc;
}

/* authorize = PROVIDER: a declared provider not switched off (whether it
 * loads and can authorize is checked when a core is built). */
static int service_authorize(pctx *c, const msgsec_policy *p,
                             msgsec_pol_service *ps, const loc_section *s,
                             const loc_key *k)
{
    const char *v = k->value;
    const msgsec_pol_provider *pp = find_provider(p, v);
    if (!v[0]) {
        report(c, k->line, MSGSEC_ERR_POLICY_BAD_VALUE,
               "[%s] authorize: empty; name the provider that answers for "
               "the UE service IDs, or remove the key",
               s->raw);
        return 0;
    }
    if (!pp && strcmp(v, MSGSEC_NULL_PROVIDER) != 0) {
        report(c, k->line, MSGSEC_ERR_POLICY_UNKNOWN_PROVIDER,
               "[%s] authorize: provider \"%s\" is not declared (no "
               "[provider.%s])",
               s->raw, v, v);
        return 0;
    }
    if (pp && pp->support == MSGSEC_SUPPORT_OFF) {
        report(c, k->line, MSGSEC_ERR_POLICY_BAD_VALUE,
               "[%s] authorize: provider \"%s\" has support = off (line %d)",
               s->raw, v, pp->support_line);
        return 0;
    }
    ps->authorize = msgsec_mem_strdup(c->mem, v);
    if (!ps->authorize)
        return MSGSEC_ERR_NOMEM;
    ps->authorize_line = k->line;
    return 0;
}

static int build_service(pctx *c, msgsec_policy *p, msgsec_pol_service *ps,
                         const loc_section *s)
{
    ps->name = msgsec_mem_strdup(c->mem, s->raw + 8);
    if (!ps->name)
        return MSGSEC_ERR_NOMEM;
    ps->line = s->line;
    ps->negotiation = MSGSEC_NEG_IMPLICIT;
    ps->framing = MSGSEC_FRAMING_MESSAGE;
    ps->allow_insecure = -1;
    int have_use = 0;
    for (size_t i = 0; i < s->nkeys; i++) {
        const loc_key *k = &s->keys[i];
        const char *v = k->value;
        if (k->dup)
            continue;
        if (strcmp(k->name, "use") == 0) {
            have_use = 1;
            MSGSEC_GUARD(service_use(c, p, ps, s, k));
        } else if (strcmp(k->name, "negotiation") == 0) {
            if (strcmp(v, "implicit") == 0)
                ps->negotiation = MSGSEC_NEG_IMPLICIT;
            else if (strcmp(v, "explicit") == 0)
                ps->negotiation = MSGSEC_NEG_EXPLICIT;
            else {
                report(c, k->line, MSGSEC_ERR_POLICY_BAD_VALUE,
                       "[%s] negotiation: \"%s\" is not implicit or explicit",
                       s->raw, v);
                continue;
            }
            ps->negotiation_line = k->line;
        } else if (strcmp(k->name, "require") == 0) {
            MSGSEC_GUARD(service_require(c, ps, s, k));
        } else if (strcmp(k->name, "framing") == 0) {
            if (strcmp(v, "message") == 0)
                ps->framing = MSGSEC_FRAMING_MESSAGE;
            else if (strcmp(v, "stream") == 0)
                ps->framing = MSGSEC_FRAMING_STREAM;
            else
                report(c, k->line, MSGSEC_ERR_POLICY_BAD_VALUE,
                       "[%s] framing: \"%s\" is not message or stream",
                       s->raw, v);
        } else if (strcmp(k->name, "allow_insecure") == 0) {
            int b;
            if (parse_bool(c, s, k, &b) == 0) {
                ps->allow_insecure = b;
                ps->allow_insecure_line = k->line;
            }
        } else if (strcmp(k->name, "authorize") == 0) {
            MSGSEC_GUARD(service_authorize(c, p, ps, s, k));
        } else {
            report(c, k->line, MSGSEC_ERR_POLICY_UNKNOWN_KEY,
                   "[%s] %s: unknown key (known: use, negotiation, require, "
                   "framing, allow_insecure, authorize)",
                   s->raw, k->name);
        }
    }
    if (!have_use)
        report(c, s->line, MSGSEC_ERR_POLICY_EMPTY_SERVICE,
               "[%s]: no use key; name the providers this service uses",
               s->raw);
    return 0;
}

/*
 * "The UE has a SEAL client": as [core] seal_client says, or with auto
 * (the default) when a provider section that is not off names the SEAL
 * client's key-management server (km_uri) or its VAL user (val_user_id).
 * The first such key in file order is kept as the reason.
 */
static void decide_seal_client(msgsec_policy *p)
{
    for (size_t i = 0; i < p->nproviders && !p->seal_client_key; i++) {
        const msgsec_pol_provider *pp = &p->providers[i];
        if (pp->support == MSGSEC_SUPPORT_OFF)
            continue;
        for (size_t k = 0; k < pp->nkeys; k++) {
            /* An empty value names no server and no user. */
            if ((strcmp(pp->keys[k].key, "km_uri") == 0 ||
                 strcmp(pp->keys[k].key, "val_user_id") == 0) &&
                pp->keys[k].value[0]) {
                p->seal_client_key = &pp->keys[k];
                p->seal_client_by = pp;
                break;
            }
        }
    }
    if (p->seal_client_mode == MSGSEC_SEAL_CLIENT_AUTO)
        p->seal_client = p->seal_client_key != NULL;
    else
        p->seal_client = p->seal_client_mode == MSGSEC_SEAL_CLIENT_YES;
}

void msgsec_policy_seal_client_why(const msgsec_policy *p, char *buf,
                                   size_t len)
{
    static const char *const words[] = {"auto", "yes", "no"};
    const char *word = words[p->seal_client_mode];
    if (p->seal_client_line)
        msgsec_detail_set(buf, len, "seal_client = %s at %s:%d", word,
                          p->file, p->seal_client_line);
    else
        msgsec_detail_set(buf, len, "seal_client = %s (the default)", word);
    if (p->seal_client_mode != MSGSEC_SEAL_CLIENT_AUTO)
        return;
    if (p->seal_client_key)
        msgsec_detail_append(buf, len, ", and [provider.%s] sets %s at %s:%d",
                             p->seal_client_by->name,
                             p->seal_client_key->key, p->file,
                             p->seal_client_key->line);
    else
        msgsec_detail_append(buf, len,
                             ", and no [provider.*] section that is not off "
                             "sets km_uri or val_user_id");
}

/* Builds the policy from the located sections; every problem reported. */
static int build(pctx *c, loc *L, msgsec_policy *p)
{
    size_t nprov, nsvc;
    classify(c, L, &nprov, &nsvc);
    if (nprov) {
        p->providers = msgsec_mem_alloc(c->mem, nprov * sizeof(*p->providers));
        if (!p->providers)
            return MSGSEC_ERR_NOMEM;
        p->nproviders = nprov;
    }
    if (nsvc) {
        p->services = msgsec_mem_alloc(c->mem, nsvc * sizeof(*p->services));
        if (!p->services)
            return MSGSEC_ERR_NOMEM;
        p->nservices = nsvc;
    }
    /* Providers first: services refer to them. */
    for (size_t i = 0; i < L->nsecs; i++) {
        const loc_section *s = &L->secs[i];
        if (s->kind == SK_CORE)
            MSGSEC_GUARD(build_core(c, p, s));
        else if (s->kind == SK_PROVIDER)
            MSGSEC_GUARD(build_provider(c, &p->providers[s->index], s));
    }
    for (size_t i = 0; i < L->nsecs; i++) {
        const loc_section *s = &L->secs[i];
        if (s->kind == SK_SERVICE)
            MSGSEC_GUARD(build_service(c, p, &p->services[s->index], s));
    }
    decide_seal_client(p);
    return 0;
}

void msgsec_policy_free(const msgsec_mem *mem, msgsec_policy *p)
{
    if (!p)
        return;
    for (size_t i = 0; p->providers && i < p->nproviders; i++) {
        msgsec_pol_provider *pp = &p->providers[i];
        msgsec_mem_strfree(mem, pp->name);
        msgsec_mem_strfree(mem, pp->module);
        for (size_t k = 0; pp->keys && k < pp->nkeys; k++) {
            msgsec_mem_strfree(mem, pp->keys[k].key);
            msgsec_mem_strfree(mem, pp->keys[k].value);
        }
        msgsec_mem_free(mem, pp->keys, pp->nkeys * sizeof(*pp->keys));
    }
    msgsec_mem_free(mem, p->providers, p->nproviders * sizeof(*p->providers));
    for (size_t i = 0; p->services && i < p->nservices; i++) {
        msgsec_pol_service *ps = &p->services[i];
        msgsec_mem_strfree(mem, ps->name);
        msgsec_mem_strfree(mem, ps->authorize);
        for (size_t u = 0; ps->use && u < ps->nuse; u++)
            msgsec_mem_strfree(mem, ps->use[u]);
        msgsec_mem_free(mem, ps->use, ps->nuse * sizeof(*ps->use));
    }
    msgsec_mem_free(mem, p->services, p->nservices * sizeof(*p->services));
    msgsec_mem_strfree(mem, p->file);
    msgsec_mem_strfree(mem, p->provider_dir);
    msgsec_mem_free(mem, p, sizeof(*p));
}

int msgsec_policy_load(const msgsec_mem *mem, const char *path,
                       const char *text, const char *name, int check_file,
                       msgsec_diag_sink *sink, msgsec_policy **out)
{
    if (out)
        *out = NULL;
    if (!mem || !out || (path == NULL) == (text == NULL))
        return MSGSEC_ERR_INVALID_ARG;
    const char *file = path ? path : (name ? name : "<string>");
    pctx c = {.mem = mem, .sink = sink, .file = file};
    ptext t = {0};
    loc L = {0};
    msgsec_policy *p = NULL;

    int rc = path ? read_file(&c, path, check_file, &t)
                  : read_text(&c, text, &t);
    if (rc == 0)
        rc = locate(&c, &t, &L);
    if (rc == 0)
        rc = ini_values(&c, &t, &L);
    if (rc == 0) {
        p = msgsec_mem_alloc(mem, sizeof(*p));
        if (!p || !(p->file = msgsec_mem_strdup(mem, file)))
            rc = MSGSEC_ERR_NOMEM;
        else
            rc = build(&c, &L, p);
        if (rc == MSGSEC_ERR_NOMEM)
            report_nomem(&c);
    }
    flush(&c);
    loc_free(mem, &L);
    ptext_free(mem, &t);
    if (rc == 0 && c.nerr == 0) {
        *out = p;
        return 0;
    }
    msgsec_policy_free(mem, p);
    return c.first ? c.first : (rc < 0 ? rc : MSGSEC_ERR_INTERNAL);
}

/* ---------------------------------------------------------- public */

static int check(const char *path, const char *text, const char *name,
                 msgsec_diagnostic_cb cb, void *user_data)
{
    msgsec_mem mem;
    msgsec_mem_init(&mem, NULL);
    msgsec_diag_sink sink;
    memset(&sink, 0, sizeof(sink));
    sink.cb = cb;
    sink.ud = user_data;
    msgsec_policy *p = NULL;
    int rc = msgsec_policy_load(&mem, path, text, name, path != NULL, &sink,
                                &p);
    msgsec_policy_free(&mem, p);
    return rc;
}

MSGSEC_EXPORT int msgsec_policy_check(const char *path, msgsec_diagnostic_cb cb,
                                      void *user_data)
{
    if (!path)
        return MSGSEC_ERR_INVALID_ARG;
    return check(path, NULL, NULL, cb, user_data);
}

MSGSEC_EXPORT int msgsec_policy_check_string(const char *text, const char *name,
                                             msgsec_diagnostic_cb cb,
                                             void *user_data)
{
    if (!text)
        return MSGSEC_ERR_INVALID_ARG;
    return check(NULL, text, name ? name : "<string>", cb, user_data);
}
