/* util.c - memory through the integrator's hooks, detail strings. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/crypto.h>

#include "internal.h"

static void *default_alloc(void *ud, size_t n)
{
    (void)ud;
    return calloc(1, n);
}

static void default_free(void *ud, void *p, size_t n)
{
    (void)ud;
    (void)n;
    free(p);
}

void msgsec_mem_init(msgsec_mem *mem, const msgsec_hooks *hooks)
{
    mem->alloc = default_alloc;
    mem->free = default_free;
    mem->ud = NULL;
    if (hooks && hooks->size >= offsetof(msgsec_hooks, free) + sizeof(hooks->free) &&
        hooks->alloc && hooks->free) {
        mem->alloc = hooks->alloc;
        mem->free = hooks->free;
        mem->ud = hooks->user_data;
    }
}

void *msgsec_mem_alloc(const msgsec_mem *mem, size_t n)
{
    if (n == 0)
        return NULL;
    return mem->alloc(mem->ud, n);
}

void msgsec_mem_free(const msgsec_mem *mem, void *p, size_t n)
{
    if (!p)
        return;
    OPENSSL_cleanse(p, n);
    mem->free(mem->ud, p, n);
}

char *msgsec_mem_strndup(const msgsec_mem *mem, const char *s, size_t n)
{
    char *d = msgsec_mem_alloc(mem, n + 1);
    if (d)
        memcpy(d, s, n);
    return d;
}

char *msgsec_mem_strdup(const msgsec_mem *mem, const char *s)
{
    return s ? msgsec_mem_strndup(mem, s, strlen(s)) : NULL;
}

void msgsec_mem_strfree(const msgsec_mem *mem, char *s)
{
    if (s)
        msgsec_mem_free(mem, s, strlen(s) + 1);
}

void msgsec_detail_vset(char *buf, size_t len, const char *fmt, va_list ap)
{
    if (!buf || len == 0)
        return;
    vsnprintf(buf, len, fmt, ap);
}

/* Failures without an object to carry their detail (session_new). */
static _Thread_local char thread_detail[MSGSEC_DETAIL_MAX];

void msgsec_thread_detail_vset(const char *fmt, va_list ap)
{
    msgsec_detail_vset(thread_detail, sizeof(thread_detail), fmt, ap);
}

void msgsec_thread_detail_set(const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    msgsec_thread_detail_vset(fmt, ap);
    va_end(ap);
}

MSGSEC_EXPORT const char *msgsec_last_detail(void)
{
    return thread_detail;
}

void msgsec_detail_set(char *buf, size_t len, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    msgsec_detail_vset(buf, len, fmt, ap);
    va_end(ap);
}

void msgsec_detail_append(char *buf, size_t len, const char *fmt, ...)
{
    if (!buf || len == 0)
        return;
    size_t used = strnlen(buf, len);
    if (used + 1 >= len)
        return;
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(buf + used, len - used, fmt, ap);
    va_end(ap);
}
