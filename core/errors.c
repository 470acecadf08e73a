/* errors.c - the error table, capability names, version. */
#include <string.h>

#include "internal.h"

typedef struct {
    int code;
    const char *name;
    const char *message;
} msgsec_error_entry;

static const msgsec_error_entry error_table[] = {
    {MSGSEC_OK, "MSGSEC_OK", "success"},
    {MSGSEC_CONTINUE, "MSGSEC_CONTINUE", "more input needed"},
    {MSGSEC_PENDING, "MSGSEC_PENDING", "waiting for a look-up"},
#define MSGSEC_X_ENTRY(sym, val, msg) {(val), #sym, (msg)},
    MSGSEC_ERROR_TABLE(MSGSEC_X_ENTRY)
#undef MSGSEC_X_ENTRY
};

static const msgsec_error_entry *find_error(int code)
{
    for (size_t i = 0; i < sizeof(error_table) / sizeof(error_table[0]); i++)
        if (error_table[i].code == code)
            return &error_table[i];
    return NULL;
}

MSGSEC_EXPORT const char *msgsec_strerror(int code)
{
    const msgsec_error_entry *e = find_error(code);
    return e ? e->message : "unknown error code";
}

MSGSEC_EXPORT const char *msgsec_error_name(int code)
{
    const msgsec_error_entry *e = find_error(code);
    return e ? e->name : "MSGSEC_ERR_UNKNOWN";
}

MSGSEC_EXPORT const char *msgsec_version_string(void)
{
    return PACKAGE_VERSION;
}

static const struct {
    uint32_t cap;
    const char *name;
} cap_names[] = {
    {MSGSEC_CAP_CLIENT, "client"},
    {MSGSEC_CAP_SERVER, "server"},
    {MSGSEC_CAP_MUTUAL_AUTH, "mutual-auth"},
    {MSGSEC_CAP_CONFIDENTIALITY, "confidentiality"},
    {MSGSEC_CAP_INTEGRITY, "integrity"},
    {MSGSEC_CAP_REPLAY_DETECTION, "replay-detection"},
    {MSGSEC_CAP_FORWARD_SECRECY, "forward-secrecy"},
    {MSGSEC_CAP_KEY_EXPORT, "key-export"},
    {MSGSEC_CAP_INSECURE, "insecure"},
    {MSGSEC_CAP_IMPLICIT, "implicit"},
};

MSGSEC_EXPORT const char *msgsec_cap_name(uint32_t cap)
{
    for (size_t i = 0; i < sizeof(cap_names) / sizeof(cap_names[0]); i++)
        if (cap_names[i].cap == cap)
            return cap_names[i].name;
    return NULL;
}

MSGSEC_EXPORT uint32_t msgsec_cap_from_name(const char *name)
{
    if (!name)
        return 0;
    for (size_t i = 0; i < sizeof(cap_names) / sizeof(cap_names[0]); i++)
        if (strcmp(cap_names[i].name, name) == 0)
            return cap_names[i].cap;
    return 0;
}
