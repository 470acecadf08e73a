/*
 * internal.h - libmsgsec internals shared by the core's source files.
 * Never installed.
 */
#ifndef MSGSEC_INTERNAL_H
#define MSGSEC_INTERNAL_H

#include <pthread.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include "msgsec/msgsec.h"
#include "msgsec/provider.h"

#define MSGSEC_HIDDEN __attribute__((visibility("hidden")))

/* Guard macros for error paths (s2n style). */
#define MSGSEC_GUARD(expr)                                                     \
    do {                                                                       \
        int msgsec_rc__ = (expr);                                              \
        if (msgsec_rc__ < 0)                                                   \
            return msgsec_rc__;                                                \
    } while (0)
#define MSGSEC_ENSURE(cond, err)                                               \
    do {                                                                       \
        if (!(cond))                                                           \
            return (err);                                                      \
    } while (0)

#define MSGSEC_DETAIL_MAX 1024
#define MSGSEC_NULL_PROVIDER "null"

/* ------------------------------------------------------------- memory */

/* The allocator every part of the core uses (the integrator's hooks). */
typedef struct msgsec_mem {
    void *(*alloc)(void *ud, size_t n); /* zeroed */
    void (*free)(void *ud, void *p, size_t n);
    void *ud;
} msgsec_mem;

/* Fills mem from hooks (NULL or zero fields: calloc/free). */
MSGSEC_HIDDEN void msgsec_mem_init(msgsec_mem *mem, const msgsec_hooks *hooks);
/* Zeroed allocation, NULL on failure or n == 0. */
MSGSEC_HIDDEN void *msgsec_mem_alloc(const msgsec_mem *mem, size_t n);
/* Wipes n bytes with OPENSSL_cleanse, then frees. p may be NULL. */
MSGSEC_HIDDEN void msgsec_mem_free(const msgsec_mem *mem, void *p, size_t n);
/* strdup through mem; free with msgsec_mem_strfree(). */
MSGSEC_HIDDEN char *msgsec_mem_strdup(const msgsec_mem *mem, const char *s);
MSGSEC_HIDDEN char *msgsec_mem_strndup(const msgsec_mem *mem, const char *s,
                                       size_t n);
MSGSEC_HIDDEN void msgsec_mem_strfree(const msgsec_mem *mem, char *s);

/* Formats into buf (always NUL-terminated, truncated). */
MSGSEC_HIDDEN void msgsec_detail_set(char *buf, size_t len, const char *fmt,
                                     ...) __attribute__((format(printf, 3, 4)));
MSGSEC_HIDDEN void msgsec_detail_vset(char *buf, size_t len, const char *fmt,
                                      va_list ap)
    __attribute__((format(printf, 3, 0)));
/* Sets the calling thread's msgsec_last_detail(). */
MSGSEC_HIDDEN void msgsec_thread_detail_vset(const char *fmt, va_list ap)
    __attribute__((format(printf, 1, 0)));
MSGSEC_HIDDEN void msgsec_thread_detail_set(const char *fmt, ...)
    __attribute__((format(printf, 1, 2)));

/* Appends to what buf holds. */
MSGSEC_HIDDEN void msgsec_detail_append(char *buf, size_t len, const char *fmt,
                                        ...) __attribute__((format(printf, 3, 4)));

/* ------------------------------------------------------------- policy */

enum msgsec_negotiation {
    MSGSEC_NEG_IMPLICIT = 0,
    MSGSEC_NEG_EXPLICIT = 1
};

/* A key of a provider section handed to the provider as-is. */
typedef struct msgsec_kv {
    char *key;   /* lower case */
    char *value;
    int line;
    int used;    /* set by the core when the provider declared the key */
} msgsec_kv;

typedef struct msgsec_pol_provider {
    char *name;           /* from [provider.NAME], lower case */
    int line;             /* line of the section header */
    int support;          /* enum msgsec_support; default optional */
    int support_line;
    char *module;         /* `module`, default NULL: the name */
    int module_line;
    int has_pin;          /* `sha256` given */
    unsigned char pin[32];
    int pin_line;
    msgsec_kv *keys;      /* every other key, in file order */
    size_t nkeys;
} msgsec_pol_provider;

typedef struct msgsec_pol_service {
    char *name;           /* from [service.NAME] */
    int line;
    char **use;           /* ordered provider names */
    size_t nuse;
    int use_line;
    int negotiation;      /* enum msgsec_negotiation; default implicit */
    int negotiation_line;
    uint32_t require;     /* MSGSEC_CAP_* */
    int require_line;
    int framing;          /* enum msgsec_framing; default message */
    int allow_insecure;   /* -1: as [core] says; else 0/1 */
    int allow_insecure_line;
    char *authorize;      /* provider answering msgsec_authz, or NULL */
    int authorize_line;
} msgsec_pol_service;

/* [core] seal_client as written. */
enum msgsec_seal_client_mode {
    MSGSEC_SEAL_CLIENT_AUTO = 0,
    MSGSEC_SEAL_CLIENT_YES = 1,
    MSGSEC_SEAL_CLIENT_NO = 2
};

typedef struct msgsec_policy {
    char *file;           /* path or name given for diagnostics */
    char *provider_dir;   /* NULL: the compiled-in default */
    int provider_dir_line;
    int allow_insecure;   /* [core] allow_insecure, default 0 */
    int allow_insecure_line;
    int seal_client;      /* "the UE has a SEAL client", decided: 0/1 */
    int seal_client_mode; /* enum msgsec_seal_client_mode; default auto */
    int seal_client_line; /* of [core] seal_client; 0 when absent */
    /* auto and yes: the first key of a [provider.*] section not off that
     * is km_uri or val_user_id (NULL when none), and its section. */
    const msgsec_kv *seal_client_key;
    const struct msgsec_pol_provider *seal_client_by;
    msgsec_pol_provider *providers;
    size_t nproviders;
    msgsec_pol_service *services;
    size_t nservices;
} msgsec_policy;

/* Where policy problems go. Every problem calls cb (if set) once. */
typedef struct msgsec_diag_sink {
    msgsec_diagnostic_cb cb;
    void *ud;
    int first_code;      /* code of the first problem, 0 if none */
    char first[MSGSEC_DETAIL_MAX]; /* "FILE:LINE: message" of the first */
    int count;
} msgsec_diag_sink;

/* Reports one problem to sink (formats "message"; line 0 for none). */
MSGSEC_HIDDEN void msgsec_diag(msgsec_diag_sink *sink, const char *file,
                               int line, int code, const char *fmt, ...)
    __attribute__((format(printf, 5, 6)));

/*
 * Parses and validates a policy. Exactly one of path or text is non-NULL;
 * name names text in diagnostics. check_file: verify the file's owner and
 * mode through the opened descriptor. Reports every problem to sink and
 * returns 0 with *out set, or the first error code with *out NULL.
 * Validates: syntax, duplicate sections and keys, unknown [core]/[service.*]
 * keys and the core's own provider keys, values, use lists naming
 * undeclared providers, services with an empty use list.
 */
MSGSEC_HIDDEN int msgsec_policy_load(const msgsec_mem *mem, const char *path,
                                     const char *text, const char *name,
                                     int check_file, msgsec_diag_sink *sink,
                                     msgsec_policy **out);
MSGSEC_HIDDEN void msgsec_policy_free(const msgsec_mem *mem, msgsec_policy *p);

/* Why seal_client is what it is, naming the key and FILE:LINE that
 * decided, into buf (e.g. "seal_client = auto (default) and
 * [provider.seal-tlspsk] sets km_uri at FILE:LINE"). */
MSGSEC_HIDDEN void msgsec_policy_seal_client_why(const msgsec_policy *p,
                                                 char *buf, size_t len);

/* Checks that fd is a regular file owned by root or the effective user and
 * not writable by group or others. 0, or MSGSEC_ERR_POLICY_UNSAFE_FILE with
 * the reason in why. dir: a directory is expected instead. */
MSGSEC_HIDDEN int msgsec_check_fd_safe(int fd, int dir, char *why,
                                       size_t why_len);

/* ------------------------------------------------------------ providers */

/* One provider as a core holds it; also the provider's msgsec_pctx. */
struct msgsec_pctx {
    msgsec_core *core;
    const msgsec_pol_provider *pol; /* NULL for the built-in null when
                                       policy does not declare it */
    const char *name;               /* pol->name or "null" */
    msgsec_provider d;  /* copy of the descriptor, zero past its size */
    uint32_t dsize;     /* size the provider declared */
    void *pdata;        /* from init() */
    char *module_path;  /* what was loaded or looked for */
    int status;         /* 0 loaded; MSGSEC_CONTINUE off; else MSGSEC_ERR_* */
    int mandatory;      /* effective, conditions decided */
    int initialised;    /* init() succeeded: fini() owed */
    char detail[MSGSEC_DETAIL_MAX];
    char where[256];    /* scratch for config_where() */
};

/*
 * Loads provider p->name as p->pol says (module path from provider_dir and
 * `module`, sha256 pin), validates the descriptor, copies it into p->d,
 * checks config keys, runs init and self_test. Sets p->status and p->detail
 * and returns p->status. The built-in null provider is used when the name
 * is "null" and no `module` is given. libltdl calls are serialised.
 */
MSGSEC_HIDDEN int msgsec_loader_load(msgsec_core *core, struct msgsec_pctx *p,
                                     const char *provider_dir);
/* Runs fini() when init() succeeded. Modules stay resident. */
MSGSEC_HIDDEN void msgsec_loader_unload(struct msgsec_pctx *p);
/* Validates a descriptor obtained from an entry point (exposed for tests
 * and the conformance kit): magic, size, ABI, critical caps, mandatory
 * fields. Copies it into *copy. 0 or MSGSEC_ERR_PROVIDER_* with why. */
MSGSEC_HIDDEN int msgsec_loader_validate(const msgsec_provider *d,
                                         msgsec_provider *copy, char *why,
                                         size_t why_len);
/* The built-in null provider's descriptor. */
MSGSEC_HIDDEN const msgsec_provider *msgsec_null_provider(void);

/* ---------------------------------------------------------- wake list */

enum msgsec_waiter_kind {
    MSGSEC_WAITER_SESSION = 1,
    MSGSEC_WAITER_PSK_LOOKUP = 2, /* a msgsec_pcall (pcall.h) */
    MSGSEC_WAITER_AUTHZ = 3       /* a msgsec_pcall (pcall.h) */
};

/*
 * The head of what a provider knows as a msgsec_psession: a session, a
 * PSK look-up and an authorization check all start with it, so that the
 * session upcalls can tell them apart and one wake list serves all. woken, linked and wake_next
 * are guarded by core->wake_mu.
 */
typedef struct msgsec_waiter {
    int kind;          /* enum msgsec_waiter_kind; set at creation */
    msgsec_core *core; /* set at creation */
    int woken;         /* session_wake() came; taken by a resume */
    int linked;        /* on core->wake_head */
    struct msgsec_waiter *wake_next;
} msgsec_waiter;

/* --------------------------------------------------------------- core */

/* A policy service compiled into its candidate list. */
typedef struct msgsec_csvc {
    const msgsec_pol_service *pol;
    size_t *cand;       /* indices into core->provs, policy order */
    size_t ncand;
    int allow_insecure; /* decided */
    int framing;        /* decided: message or stream */
    struct msgsec_pctx *authz; /* loaded provider of `authorize`, or NULL */
} msgsec_csvc;

struct msgsec_core {
    msgsec_mem mem;
    msgsec_hooks hooks;
    int log_level;
    msgsec_policy *policy;
    struct msgsec_pctx *provs;
    size_t nprovs;
    msgsec_csvc *svcs;
    size_t nsvcs;
    int status;         /* 0 or the first problem (msgsec_core_status()) */
    char detail[MSGSEC_DETAIL_MAX];
    char seal_client_why[MSGSEC_DETAIL_MAX];
    msgsec_upcalls up;

    /* Pending look-ups: woken sessions, signalled on wake_fd. */
    int wake_fd;        /* eventfd */
    pthread_mutex_t wake_mu;
    pthread_cond_t wake_cv;
    msgsec_waiter *wake_head; /* singly linked through wake_next */
};

/* Core log line (prefix optional). Never pass key material. */
MSGSEC_HIDDEN void msgsec_log(const msgsec_core *core, int level,
                              const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

/* Index of provider name in core->provs, or -1. */
MSGSEC_HIDDEN int msgsec_core_find_provider(const msgsec_core *core,
                                            const char *name);
/* Compiled service by name, or NULL. */
MSGSEC_HIDDEN const msgsec_csvc *msgsec_core_find_service(
    const msgsec_core *core, const char *name);
/*
 * Why provider index i is not acceptable for service svc in role
 * (0: acceptable; else an error code with why filled).
 */
MSGSEC_HIDDEN int msgsec_core_candidate_ok(const msgsec_core *core,
                                           const msgsec_csvc *svc, size_t i,
                                           int role, char *why, size_t len);

/*
 * Explicit-mode selection on the server: the first candidate of svc, in
 * policy order, that the client offered (offer[0..n-1], provider names) and
 * that suits the server role. Returns its index in core->provs, or
 * MSGSEC_ERR_NO_COMMON_PROVIDER. When explain is non-NULL, appends one line
 * per candidate saying why it was or was not chosen. With n == 0 (implicit
 * mode) explains the claim order instead and returns the first candidate.
 * Lock-free and deterministic: reads only the immutable compiled policy.
 */
MSGSEC_HIDDEN int msgsec_core_select(const msgsec_core *core,
                                     const msgsec_csvc *svc,
                                     const char *const *offer, size_t n,
                                     char *explain, size_t len);

/*
 * Role for msgsec_core_candidate_ok(): the server side of an integrator's
 * own TLS stack (PSK look-ups). Needs the server capability; the service's
 * negotiation mode does not apply.
 */
#define MSGSEC_ROLE_PSK_RESOLVER 2

/* Session upcalls, implemented in session.c; core.c puts them in core->up. */
MSGSEC_HIDDEN void msgsec_session_fill_upcalls(msgsec_upcalls *up);

/* Wake list (session.c). Takes w's wake if it came (clearing it and
 * unlinking w): 1 if so, else 0. */
MSGSEC_HIDDEN int msgsec_waiter_take(msgsec_core *core, msgsec_waiter *w);
/* Removes w from the wake list, whatever its state (freeing it). */
MSGSEC_HIDDEN void msgsec_waiter_forget(msgsec_core *core, msgsec_waiter *w);
/* Blocks until w is woken or timeout_ms (-1: forever) passed: 0 or
 * MSGSEC_ERR_TIMEOUT. Leaves the wake for msgsec_waiter_take(). */
MSGSEC_HIDDEN int msgsec_waiter_wait(msgsec_core *core, msgsec_waiter *w,
                                     int timeout_ms);

/* A session's core and policy service (for msgsec_session_authorize()). */
MSGSEC_HIDDEN msgsec_core *msgsec_session_core(const msgsec_session *s);
MSGSEC_HIDDEN const char *msgsec_session_service(const msgsec_session *s);

#endif /* MSGSEC_INTERNAL_H */
