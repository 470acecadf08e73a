/*
 * fuzz_policy.c - libFuzzer target for the policy parser: any text must
 * give either a policy or diagnostics, never a crash or a leak.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "internal.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void count(void *ud, const msgsec_diagnostic *d)
{
    size_t *n = ud;
    /* Named after the input, with a message and an error code. */
    if (!d->file || strcmp(d->file, "fuzz") != 0 || !d->message ||
        !d->message[0] || d->line < 0 || d->code >= 0)
        abort();
    (*n)++;
}

static int declared(const msgsec_policy *p, const char *name)
{
    for (size_t i = 0; i < p->nproviders; i++)
        if (strcmp(p->providers[i].name, name) == 0)
            return p->providers[i].support != MSGSEC_SUPPORT_OFF;
    return strcmp(name, MSGSEC_NULL_PROVIDER) == 0;
}

/* What a valid policy promises the core. */
static void check_policy(const msgsec_policy *p)
{
    for (size_t i = 0; i < p->nservices; i++) {
        const msgsec_pol_service *s = &p->services[i];
        if (!s->name || s->nuse == 0 || !s->use)
            abort();
        for (size_t u = 0; u < s->nuse; u++)
            if (!s->use[u] || !declared(p, s->use[u]))
                abort();
    }
    for (size_t i = 0; i < p->nproviders; i++)
        for (size_t k = 0; k < p->providers[i].nkeys; k++)
            if (!p->providers[i].keys[k].key || !p->providers[i].keys[k].value)
                abort();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    char *text = malloc(size + 1);
    if (!text)
        return 0;
    memcpy(text, data, size);
    text[size] = '\0';

    size_t n = 0;
    int rc = msgsec_policy_check_string(text, "fuzz", count, &n);
    if (rc > 0 || (rc == 0) != (n == 0))
        abort();

    msgsec_mem mem;
    msgsec_mem_init(&mem, NULL);
    msgsec_diag_sink sink;
    memset(&sink, 0, sizeof(sink));
    msgsec_policy *p = NULL;
    int rc2 = msgsec_policy_load(&mem, NULL, text, "fuzz", 0, &sink, &p);
    if (rc2 != rc || (rc == 0) != (p != NULL) || sink.first_code != rc)
        abort();
    if (p)
        check_policy(p);
    msgsec_policy_free(&mem, p);
    free(text);
    return 0;
}
