/*
 * provcfg.c - reading a provider's policy section. See <msgsec/provcfg.h>.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <openssl/crypto.h>

#include "msgsec/provcfg.h"
#include "msgsec/tlsprov.h"

/* Longest key or token file read for a hex key. */
#define HEX_FILE_MAX 256

/* TLS 1.2 PSK suites a policy may name (tls12_cipher): OpenSSL name, IANA
 * code point (AKMA puts it in the Ua* identifier 01 00 01 yy zz), and
 * whether it has forward secrecy. */
static const struct {
    const char *name;
    uint16_t id;
    int ecdhe;
} tls12_suites[] = {
    {"ECDHE-PSK-CHACHA20-POLY1305", 0xccac, 1},
    {"ECDHE-PSK-AES128-CBC-SHA256", 0xc037, 1},
    {"PSK-AES128-GCM-SHA256", 0x00a8, 0},
    {"PSK-AES256-GCM-SHA384", 0x00a9, 0},
    {"PSK-CHACHA20-POLY1305", 0xccab, 0},
    {"PSK-AES128-CBC-SHA256", 0x00ae, 0},
};

MSGSEC_SDK_EXPORT int msgsec_provcfg_fail(const msgsec_upcalls *up,
                                          msgsec_pctx *pc, int code,
                                          const char *key, const char *fmt,
                                          ...)
{
    char msg[512];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof(msg), fmt, ap);
    va_end(ap);
    up->set_detail(pc, "%s at %s: %s", key, up->config_where(pc, key), msg);
    return code;
}

MSGSEC_SDK_EXPORT int msgsec_provcfg_number(const msgsec_upcalls *up,
                                            msgsec_pctx *pc, const char *key,
                                            long min, long max, long *out)
{
    const char *v = up->config(pc, key);
    if (!v)
        return 0;
    char *end = NULL;
    errno = 0;
    long n = strtol(v, &end, 10);
    if (errno || end == v || *end || n < min || n > max)
        return msgsec_provcfg_fail(up, pc, MSGSEC_ERR_POLICY_BAD_VALUE, key,
                                   "\"%s\": a number from %ld to %ld "
                                   "expected",
                                   v, min, max);
    *out = n;
    return 0;
}

MSGSEC_SDK_EXPORT int msgsec_provcfg_secret_file(const msgsec_upcalls *up,
                                                 msgsec_pctx *pc,
                                                 const char *key,
                                                 const char *path, char *buf,
                                                 size_t cap, size_t *len)
{
    *len = 0;
    int fd = open(path, O_RDONLY | O_CLOEXEC | O_NOCTTY | O_NONBLOCK);
    if (fd < 0)
        return msgsec_provcfg_fail(up, pc, MSGSEC_ERR_POLICY_BAD_VALUE, key,
                                   "cannot open %s: %s", path,
                                   strerror(errno));
    struct stat st;
    if (fstat(fd, &st) != 0 || !S_ISREG(st.st_mode)) {
        close(fd);
        return msgsec_provcfg_fail(up, pc, MSGSEC_ERR_POLICY_BAD_VALUE, key,
                                   "%s is not a regular file", path);
    }
    if (st.st_mode & (S_IRWXG | S_IRWXO)) {
        close(fd);
        return msgsec_provcfg_fail(
            up, pc, MSGSEC_ERR_POLICY_UNSAFE_FILE, key,
            "%s holds a secret but is accessible by group or others (mode "
            "%04o): it must be readable by its owner only (chmod 600)",
            path, (unsigned)(st.st_mode & 07777));
    }
    if (st.st_uid != geteuid() && st.st_uid != 0) {
        close(fd);
        return msgsec_provcfg_fail(up, pc, MSGSEC_ERR_POLICY_UNSAFE_FILE, key,
                                   "%s is owned by uid %u, neither this user "
                                   "nor root",
                                   path, (unsigned)st.st_uid);
    }
    size_t n = 0;
    ssize_t r;
    while (n < cap && (r = read(fd, buf + n, cap - n)) != 0) {
        if (r < 0) {
            if (errno == EINTR)
                continue;
            int e = errno;
            close(fd);
            OPENSSL_cleanse(buf, cap);
            return msgsec_provcfg_fail(up, pc, MSGSEC_ERR_POLICY_BAD_VALUE,
                                       key, "cannot read %s: %s", path,
                                       strerror(e));
        }
        n += (size_t)r;
    }
    close(fd);
    if (n >= cap) {
        OPENSSL_cleanse(buf, cap);
        return msgsec_provcfg_fail(up, pc, MSGSEC_ERR_POLICY_BAD_VALUE, key,
                                   "%s is too long (at most %zu bytes)",
                                   path, cap - 1);
    }
    buf[n] = '\0';
    *len = n;
    return 0;
}

/* The policy file named by a key's "FILE:LINE". */
static void file_of(const char *w, char *out, size_t cap)
{
    snprintf(out, cap, "%s", w ? w : "");
    char *colon = strrchr(out, ':');
    if (colon && colon[1] &&
        strspn(colon + 1, "0123456789") == strlen(colon + 1))
        *colon = '\0';
}

MSGSEC_SDK_EXPORT int msgsec_provcfg_inline_secret(const msgsec_upcalls *up,
                                                   msgsec_pctx *pc,
                                                   const char *key)
{
    char path[4096];
    file_of(up->config_where(pc, key), path, sizeof(path));
    struct stat st;
    int fd = open(path, O_RDONLY | O_CLOEXEC | O_NOCTTY);
    if (fd < 0 || fstat(fd, &st) != 0 || !S_ISREG(st.st_mode)) {
        int e = errno;
        if (fd >= 0)
            close(fd);
        return msgsec_provcfg_fail(
            up, pc, MSGSEC_ERR_POLICY_UNSAFE_FILE, key,
            "a secret value in the policy needs a policy file whose mode can "
            "be checked (%s: %s); use %s_file",
            path, fd < 0 ? strerror(e) : "not a regular file", key);
    }
    close(fd);
    if (st.st_mode & (S_IRGRP | S_IROTH))
        return msgsec_provcfg_fail(
            up, pc, MSGSEC_ERR_POLICY_UNSAFE_FILE, key,
            "the policy file %s holds a secret but is readable by group or "
            "others (mode %04o): chmod 600 it, or move the secret to %s_file",
            path, (unsigned)(st.st_mode & 07777), key);
    return 0;
}

/* The value of name or name_file: 1 with *v (inline) or the file's bytes
 * in buf, 0 when neither is set, < 0 on error. */
static int secret_source(const msgsec_upcalls *up, msgsec_pctx *pc,
                         const char *name, char *fkey, size_t fkey_cap,
                         const char **v, char *buf, size_t cap, size_t *len)
{
    snprintf(fkey, fkey_cap, "%s_file", name);
    *v = up->config(pc, name);
    const char *f = up->config(pc, fkey);
    if (*v && f)
        return msgsec_provcfg_fail(up, pc, MSGSEC_ERR_POLICY_BAD_VALUE, fkey,
                                   "give %s or %s, not both (%s is at %s)",
                                   name, fkey, name,
                                   up->config_where(pc, name));
    if (f) {
        int rc = msgsec_provcfg_secret_file(up, pc, fkey, f, buf, cap, len);
        return rc < 0 ? rc : 1;
    }
    return *v ? 1 : 0;
}

/* Trims blanks (and line ends) around [*p, *e). */
static void trim(const char **p, const char **e)
{
    while (*p < *e && strchr(" \t\r\n", **p))
        (*p)++;
    while (*e > *p && strchr(" \t\r\n", (*e)[-1]))
        (*e)--;
}

MSGSEC_SDK_EXPORT int msgsec_provcfg_hex_key(const msgsec_upcalls *up,
                                             msgsec_pctx *pc,
                                             const char *name, uint8_t *out,
                                             size_t n)
{
    char fkey[64], buf[HEX_FILE_MAX + 1];
    const char *v = NULL;
    size_t len = 0, got = 0;
    int rc = secret_source(up, pc, name, fkey, sizeof(fkey), &v, buf,
                           sizeof(buf), &len);
    if (rc <= 0)
        return rc;
    const char *p = v ? v : buf, *e = p + (v ? strlen(v) : len);
    if (!v)
        trim(&p, &e);
    int ok = (size_t)(e - p) == 2 * n &&
             msgsec_tlsprov_hex_key(p, (size_t)(e - p), out, n, &got) == 0;
    OPENSSL_cleanse(buf, sizeof(buf));
    if (!ok) {
        OPENSSL_cleanse(out, n);
        if (v)
            return msgsec_provcfg_fail(up, pc, MSGSEC_ERR_POLICY_BAD_VALUE,
                                       name,
                                       "%zu hex digits (%zu bytes) expected",
                                       2 * n, n);
        return msgsec_provcfg_fail(up, pc, MSGSEC_ERR_POLICY_BAD_VALUE, fkey,
                                   "%s must hold the key as %zu hex digits "
                                   "(%zu bytes)",
                                   up->config(pc, fkey), 2 * n, n);
    }
    if (v && (rc = msgsec_provcfg_inline_secret(up, pc, name)) < 0) {
        OPENSSL_cleanse(out, n);
        return rc;
    }
    return 1;
}

MSGSEC_SDK_EXPORT int msgsec_provcfg_secret_text(const msgsec_upcalls *up,
                                                 msgsec_pctx *pc,
                                                 const char *name, char *out,
                                                 size_t cap)
{
    char fkey[64];
    const char *v = NULL;
    size_t len = 0;
    if (cap < 2)
        return MSGSEC_ERR_INVALID_ARG;
    int rc = secret_source(up, pc, name, fkey, sizeof(fkey), &v, out, cap,
                           &len);
    if (rc <= 0)
        return rc;
    const char *p = v ? v : out, *e = p + (v ? strlen(v) : len);
    trim(&p, &e);
    size_t n = (size_t)(e - p);
    int ok = n > 0 && n < cap;
    for (size_t i = 0; ok && i < n; i++)
        ok = p[i] > 0x20 && p[i] < 0x7f;
    if (!ok) {
        OPENSSL_cleanse(out, cap);
        return msgsec_provcfg_fail(up, pc, MSGSEC_ERR_POLICY_BAD_VALUE,
                                   v ? name : fkey,
                                   "1 to %zu printable characters without "
                                   "blanks expected",
                                   cap - 1);
    }
    memmove(out, p, n);
    out[n] = '\0';
    OPENSSL_cleanse(out + n + 1, cap - n - 1);
    if (v && (rc = msgsec_provcfg_inline_secret(up, pc, name)) < 0) {
        OPENSSL_cleanse(out, cap);
        return rc;
    }
    return 1;
}

MSGSEC_SDK_EXPORT int msgsec_provcfg_tls_settings(const msgsec_upcalls *up,
                                                  msgsec_pctx *pc,
                                                  msgsec_tlspsk_config *cfg,
                                                  msgsec_provcfg_tls *out)
{
    const char *v = up->config(pc, "tls12");
    out->mode = MSGSEC_PROVCFG_TLS13;
    if (v) {
        if (!strcmp(v, "yes"))
            out->mode = MSGSEC_PROVCFG_TLS12_13;
        else if (!strcmp(v, "only"))
            out->mode = MSGSEC_PROVCFG_TLS12;
        else if (strcmp(v, "no"))
            return msgsec_provcfg_fail(up, pc, MSGSEC_ERR_POLICY_BAD_VALUE,
                                       "tls12",
                                       "\"%s\": no, yes or only expected", v);
    }
    cfg->min_version = out->mode == MSGSEC_PROVCFG_TLS13
                           ? MSGSEC_TLSPSK_TLS1_3
                           : MSGSEC_TLSPSK_TLS1_2;
    cfg->max_version = out->mode == MSGSEC_PROVCFG_TLS12
                           ? MSGSEC_TLSPSK_TLS1_2
                           : MSGSEC_TLSPSK_TLS1_3;
    cfg->kex = MSGSEC_TLSPSK_KEX_DHE;
    if ((v = up->config(pc, "allow_psk_ke"))) {
        if (!strcmp(v, "yes"))
            cfg->kex = MSGSEC_TLSPSK_KEX_ALLOW_KE;
        else if (!strcmp(v, "prefer"))
            cfg->kex = MSGSEC_TLSPSK_KEX_PREFER_KE;
        else if (strcmp(v, "no"))
            return msgsec_provcfg_fail(up, pc, MSGSEC_ERR_POLICY_BAD_VALUE,
                                       "allow_psk_ke",
                                       "\"%s\": no, yes or prefer expected",
                                       v);
    }
    /* One TLS 1.2 suite: AKMA must know it before the handshake tells,
     * because it is part of the afId it asks the AAnF about. */
    size_t k = 0;
    if ((v = up->config(pc, "tls12_cipher"))) {
        size_t n = sizeof(tls12_suites) / sizeof(tls12_suites[0]);
        for (k = 0; k < n && strcmp(v, tls12_suites[k].name); k++)
            ;
        if (k == n)
            return msgsec_provcfg_fail(
                up, pc, MSGSEC_ERR_POLICY_BAD_VALUE, "tls12_cipher",
                "\"%s\": one of ECDHE-PSK-CHACHA20-POLY1305, "
                "ECDHE-PSK-AES128-CBC-SHA256, PSK-AES128-GCM-SHA256, "
                "PSK-AES256-GCM-SHA384, PSK-CHACHA20-POLY1305, "
                "PSK-AES128-CBC-SHA256 expected",
                v);
        if (!tls12_suites[k].ecdhe && cfg->kex == MSGSEC_TLSPSK_KEX_DHE)
            return msgsec_provcfg_fail(
                up, pc, MSGSEC_ERR_POLICY_BAD_VALUE, "tls12_cipher",
                "%s has no forward secrecy: it needs allow_psk_ke = yes or "
                "prefer",
                v);
    }
    out->tls12_cipher = tls12_suites[k].id;
    out->tls12_cipher_name = tls12_suites[k].name;
    cfg->cipher_list = tls12_suites[k].name;
    return 0;
}

MSGSEC_SDK_EXPORT unsigned msgsec_provcfg_tls_versions(
    const msgsec_provcfg_tls *t)
{
    return (t->mode != MSGSEC_PROVCFG_TLS12 ? MSGSEC_TLSPROV_TLS13 : 0) |
           (t->mode != MSGSEC_PROVCFG_TLS13 ? MSGSEC_TLSPROV_TLS12 : 0);
}
