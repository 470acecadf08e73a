/*
 * example.c - a minimal msgsec provider, to copy and rename.
 *
 * It does what the built-in null provider does (the client announces an
 * identity, the server believes it, messages travel in clear), so it is
 * marked insecure and policy must say allow_insecure to use it. Replace
 * the handshake in start()/step() and the record format in wrap()/unwrap()
 * with your scheme, and set the capabilities it really provides.
 *
 * It includes only the installed provider ABI header; the full contract of
 * every function is in <msgsec/provider.h>.
 *
 * One policy key of its own shows how configuration reaches a provider:
 *     [provider.example]
 *     max_record = 4096      ; largest record, 1..16384 (default 16384)
 */
#include <stdlib.h>
#include <string.h>

#include <msgsec/provider.h>

#define EXAMPLE_MAX_RECORD 16384u
#define EXAMPLE_IDENTITY_MAX 255u

/* The provider's data for one core: read-only once init() returns. */
typedef struct example_data {
    const msgsec_upcalls *up;
    msgsec_pctx *pc;
    size_t max_record;
} example_data;

/* Per-session state: allocated zeroed by the core, wiped and freed by it. */
typedef struct example_state {
    const example_data *ed;
    msgsec_psession *ps;
    int role;
    int done;
    unsigned want, got;
    char identity[EXAMPLE_IDENTITY_MAX + 1];
} example_state;

static const char *const example_keys[] = {"max_record", NULL};

static int example_init(const msgsec_upcalls *up, msgsec_pctx *pc,
                        void **pdata)
{
    size_t max_record = EXAMPLE_MAX_RECORD;
    const char *v = up->config(pc, "max_record");
    if (v) {
        char *end = NULL;
        unsigned long n = strtoul(v, &end, 10);
        if (!*v || *end || n == 0 || n > EXAMPLE_MAX_RECORD) {
            /* Name the policy line: the operator fixes it from there. */
            up->set_detail(pc, "max_record at %s: \"%s\" is not a number "
                           "from 1 to %u",
                           up->config_where(pc, "max_record"), v,
                           EXAMPLE_MAX_RECORD);
            return MSGSEC_ERR_POLICY_BAD_VALUE;
        }
        max_record = n;
    }
    example_data *ed = up->alloc(pc, sizeof(*ed));
    if (!ed) {
        up->set_detail(pc, "out of memory");
        return MSGSEC_ERR_NOMEM;
    }
    ed->up = up;
    ed->pc = pc;
    ed->max_record = max_record;
    *pdata = ed;
    return MSGSEC_OK;
}

static void example_fini(void *pdata)
{
    example_data *ed = pdata;
    ed->up->free(ed->pc, ed, sizeof(*ed));
}

static int printable(unsigned char c)
{
    return c >= 0x20 && c < 0x7f;
}

/* Client: queue "length, identity". Server: wait for it in step(). */
static int example_start(void *pdata, void *state, msgsec_psession *ps)
{
    example_data *ed = pdata;
    example_state *st = state;
    st->ed = ed;
    st->ps = ps;
    st->role = ed->up->session_role(ps);
    if (st->role != MSGSEC_ROLE_CLIENT)
        return MSGSEC_OK;
    const char *id = ed->up->session_identity(ps);
    if (!id || !*id)
        id = "anonymous";
    size_t n = strlen(id), bad = n > EXAMPLE_IDENTITY_MAX;
    for (size_t i = 0; i < n && !bad; i++)
        bad = !printable((unsigned char)id[i]);
    if (bad) {
        ed->up->session_detail(ps, "identity must be 1 to %u printable "
                               "characters", EXAMPLE_IDENTITY_MAX);
        return MSGSEC_ERR_INVALID_ARG;
    }
    memcpy(st->identity, id, n);
    uint8_t token[1 + EXAMPLE_IDENTITY_MAX];
    token[0] = (uint8_t)n;
    memcpy(token + 1, id, n);
    return ed->up->session_write(ps, token, 1 + n);
}

static int example_step(void *pdata, void *state, const uint8_t *in,
                        size_t len, size_t *consumed)
{
    example_data *ed = pdata;
    example_state *st = state;
    *consumed = 0;
    if (st->role == MSGSEC_ROLE_CLIENT || st->done) {
        st->done = 1;
        return MSGSEC_OK;
    }
    size_t i = 0;
    if (st->want == 0) {
        if (len == 0)
            return MSGSEC_CONTINUE;
        st->want = in[i++];
        if (st->want == 0) {
            ed->up->session_detail(st->ps, "empty identity");
            return MSGSEC_ERR_BAD_FRAME;
        }
    }
    for (; i < len && st->got < st->want; i++) {
        if (!printable(in[i])) {
            ed->up->session_detail(st->ps, "identity is not printable");
            return MSGSEC_ERR_BAD_FRAME;
        }
        st->identity[st->got++] = (char)in[i];
    }
    *consumed = i;
    if (st->got < st->want)
        return MSGSEC_CONTINUE;
    st->done = 1;
    return MSGSEC_OK;
}

static int example_result(void *pdata, void *state, msgsec_peer *peer)
{
    example_data *ed = pdata;
    example_state *st = state;
    if (!st->done)
        return MSGSEC_ERR_STATE;
    memset(peer, 0, sizeof(*peer));
    peer->scheme = "example";
    peer->identity = st->identity;
    if (st->role == MSGSEC_ROLE_CLIENT) {
        const char *name = ed->up->session_peer_name(st->ps);
        peer->identity = name ? name : "anonymous";
    }
    peer->caps = MSGSEC_CAP_INSECURE;
    return MSGSEC_OK;
}

static int example_wrap(void *pdata, void *state, const uint8_t *in,
                        size_t len, uint8_t *out, size_t cap, size_t *out_len)
{
    const example_data *ed = pdata;
    (void)state;
    if (len > ed->max_record)
        return MSGSEC_ERR_MESSAGE_TOO_LARGE;
    if (cap < len)
        return MSGSEC_ERR_BUFFER_TOO_SMALL;
    if (len)
        memcpy(out, in, len);
    *out_len = len;
    return MSGSEC_OK;
}

static int example_unwrap(void *pdata, void *state, const uint8_t *in,
                          size_t len, size_t *consumed, uint8_t *out,
                          size_t cap, size_t *out_len, unsigned *flags)
{
    const example_data *ed = pdata;
    (void)state;
    size_t n = len < cap ? len : cap;
    if (n > ed->max_record)
        n = ed->max_record;
    *consumed = n;
    *out_len = n;
    *flags = 0;
    if (n == 0)
        return MSGSEC_CONTINUE;
    memcpy(out, in, n);
    return MSGSEC_OK;
}

static int example_limits(void *pdata, void *state, size_t *overhead,
                          size_t *max_record)
{
    const example_data *ed = pdata;
    (void)state;
    *overhead = 0;
    *max_record = ed->max_record;
    return MSGSEC_OK;
}

static const msgsec_provider example_provider = {
    MSGSEC_PROVIDER_HEADER,
    .name = "example",
    .version = "0.1",
    .summary = "template provider: identity only, no protection",
    .caps = MSGSEC_CAP_CLIENT | MSGSEC_CAP_SERVER | MSGSEC_CAP_INSECURE,
    .critical_caps = MSGSEC_CAP_INSECURE,
    .state_size = sizeof(example_state),
    .config_keys = example_keys,
    .init = example_init,
    .fini = example_fini,
    .start = example_start,
    .step = example_step,
    .result = example_result,
    .wrap = example_wrap,
    .unwrap = example_unwrap,
    .limits = example_limits,
};

/* The first argument is the module's file name: example.so. */
MSGSEC_PROVIDER_DEFINE(example, example_provider)
