/*
 * null.c - the null provider: no authentication, no protection.
 *
 * The client announces an identity, the server believes it, and messages
 * travel in clear. It exists for laboratories and tests; the core refuses
 * it unless policy says allow_insecure and logs every session that uses
 * it as insecure. Never deploy it.
 *
 * It is also the commented sample for provider authors: every function of
 * the ABI it implements says what the core expects of it. It includes only
 * the ABI header, as any provider may; it even does without <string.h> to
 * show how little the contract needs.
 *
 * Handshake (one message, client to server):
 *     u8 length (1..255) | identity (length bytes, printable ASCII)
 * The identity is the integrator's session identity, or "anonymous".
 */
#include <msgsec/provider.h>

#define NULL_MAX_RECORD 16384u
#define NULL_IDENTITY_MAX 255u

/* What init() returns: the provider's data, shared by every session of
 * one core (read-only after init, so safe from several threads). */
typedef struct null_data {
    const msgsec_upcalls *up;
    msgsec_pctx *pc;
} null_data;

/* Per-session state: the core allocates it zeroed (state_size) and wipes
 * and frees it after end(); the provider never frees it. */
typedef struct null_state {
    const null_data *nd;
    msgsec_psession *ps;
    int role;
    int done;                          /* handshake finished */
    unsigned want;                     /* server: identity length, 0 unknown */
    unsigned got;                      /* server: identity bytes received */
    char identity[NULL_IDENTITY_MAX + 1];
} null_state;

static int printable(unsigned char c)
{
    return c >= 0x20 && c < 0x7f;
}

/*
 * init (mandatory): runs once per core that loads the provider. Reads and
 * checks configuration (null has no keys of its own), allocates the
 * provider's data through the upcalls and stores it in *pdata. On failure
 * it calls up->set_detail() with the cause and returns an error code.
 */
static int null_init(const msgsec_upcalls *up, msgsec_pctx *pc, void **pdata)
{
    null_data *nd = up->alloc(pc, sizeof(*nd));
    if (!nd) {
        up->set_detail(pc, "out of memory");
        return MSGSEC_ERR_NOMEM;
    }
    nd->up = up;
    nd->pc = pc;
    *pdata = nd;
    return MSGSEC_OK;
}

/* fini (optional): releases what init() allocated. The free upcall wipes. */
static void null_fini(void *pdata)
{
    null_data *nd = pdata;
    if (nd)
        nd->up->free(nd->pc, nd, sizeof(*nd));
}

/*
 * wrap (mandatory): protects one record. out has room for at least len
 * plus the overhead limits() reports; null adds nothing and copies.
 */
static int null_wrap(void *pdata, void *state, const uint8_t *in, size_t len,
                     uint8_t *out, size_t cap, size_t *out_len)
{
    (void)pdata;
    (void)state;
    if (len > NULL_MAX_RECORD)
        return MSGSEC_ERR_MESSAGE_TOO_LARGE;
    if (cap < len)
        return MSGSEC_ERR_BUFFER_TOO_SMALL;
    for (size_t i = 0; i < len; i++)
        out[i] = in[i];
    *out_len = len;
    return MSGSEC_OK;
}

/*
 * unwrap (mandatory): decodes at most one record from the stream. The
 * input has no record boundaries here, so whatever arrived (up to cap and
 * the record limit) is plaintext. MSGSEC_CONTINUE means "nothing yet".
 * A real provider returns MSGSEC_ERR_INTEGRITY or MSGSEC_ERR_REPLAY for a
 * record that fails its checks, and never hands out unverified bytes.
 */
static int null_unwrap(void *pdata, void *state, const uint8_t *in,
                       size_t len, size_t *consumed, uint8_t *out, size_t cap,
                       size_t *out_len, unsigned *flags)
{
    (void)pdata;
    (void)state;
    *consumed = 0;
    *out_len = 0;
    *flags = 0;
    size_t n = len < cap ? len : cap;
    if (n > NULL_MAX_RECORD)
        n = NULL_MAX_RECORD;
    if (n == 0)
        return MSGSEC_CONTINUE;
    for (size_t i = 0; i < n; i++)
        out[i] = in[i];
    *consumed = n;
    *out_len = n;
    return MSGSEC_OK;
}

/*
 * self_test (optional): known-answer tests run once after init, before
 * any session. The null transform is the identity: a record must come
 * back unchanged. On failure: set_detail() and MSGSEC_ERR_PROVIDER_SELF_TEST.
 */
static int null_self_test(void *pdata)
{
    null_data *nd = pdata;
    static const uint8_t sample[4] = {0x00, 0x7f, 0x80, 0xff};
    uint8_t rec[sizeof(sample)], back[sizeof(sample)];
    size_t n = 0, used = 0, m = 0;
    unsigned flags = 0;
    if (null_wrap(pdata, NULL, sample, sizeof(sample), rec, sizeof(rec),
                  &n) != MSGSEC_OK ||
        null_unwrap(pdata, NULL, rec, n, &used, back, sizeof(back), &m,
                    &flags) != MSGSEC_OK ||
        used != n || m != sizeof(sample)) {
        nd->up->set_detail(nd->pc, "identity transform round trip failed");
        return MSGSEC_ERR_PROVIDER_SELF_TEST;
    }
    for (size_t i = 0; i < sizeof(sample); i++)
        if (back[i] != sample[i]) {
            nd->up->set_detail(nd->pc, "round trip changed byte %zu", i);
            return MSGSEC_ERR_PROVIDER_SELF_TEST;
        }
    return MSGSEC_OK;
}

/*
 * start (mandatory): begins a session. state is zeroed; ps identifies the
 * session in the session upcalls until end(). A client queues its first
 * token with session_write(); a server waits for it. Errors go with
 * session_detail().
 */
static int null_start(void *pdata, void *state, msgsec_psession *ps)
{
    null_data *nd = pdata;
    null_state *st = state;
    const msgsec_upcalls *up = nd->up;
    st->nd = nd;
    st->ps = ps;
    st->role = up->session_role(ps);
    if (st->role != MSGSEC_ROLE_CLIENT)
        return MSGSEC_OK;

    const char *id = up->session_identity(ps);
    if (!id || !id[0])
        id = "anonymous";
    unsigned n = 0;
    while (id[n]) {
        if (n >= NULL_IDENTITY_MAX || !printable((unsigned char)id[n])) {
            up->session_detail(ps,
                               "identity must be 1 to %u printable ASCII "
                               "characters",
                               NULL_IDENTITY_MAX);
            return MSGSEC_ERR_INVALID_ARG;
        }
        st->identity[n] = id[n];
        n++;
    }
    uint8_t token[1 + NULL_IDENTITY_MAX];
    token[0] = (uint8_t)n;
    for (unsigned i = 0; i < n; i++)
        token[1 + i] = (uint8_t)id[i];
    return up->session_write(ps, token, 1 + n);
}

/*
 * step (mandatory): consumes handshake bytes from the peer and says how
 * far the handshake is: MSGSEC_OK (done on this side; what follows is
 * records), MSGSEC_CONTINUE (more input needed), MSGSEC_PENDING (a look-up
 * runs; session_wake() will follow), or an error with session_detail().
 * *consumed tells the core how many bytes were used; the rest is offered
 * again. The core calls step(NULL, 0) right after a client's start().
 */
static int null_step(void *pdata, void *state, const uint8_t *in, size_t len,
                     size_t *consumed)
{
    null_data *nd = pdata;
    null_state *st = state;
    *consumed = 0;
    if (st->role == MSGSEC_ROLE_CLIENT || st->done) {
        /* The client expects no answer: done once its token is queued. */
        st->done = 1;
        return MSGSEC_OK;
    }
    size_t i = 0;
    if (st->want == 0) {
        if (len == 0)
            return MSGSEC_CONTINUE;
        st->want = in[i++];
        if (st->want == 0) {
            nd->up->session_detail(st->ps, "null token: empty identity");
            return MSGSEC_ERR_BAD_FRAME;
        }
    }
    for (; i < len && st->got < st->want; i++) {
        if (!printable(in[i])) {
            nd->up->session_detail(st->ps,
                                   "null token: identity byte 0x%02x is not "
                                   "printable",
                                   (unsigned)in[i]);
            return MSGSEC_ERR_BAD_FRAME;
        }
        st->identity[st->got++] = (char)in[i];
    }
    *consumed = i;
    if (st->got < st->want)
        return MSGSEC_CONTINUE;
    st->identity[st->got] = '\0';
    st->done = 1;
    return MSGSEC_OK;
}

/*
 * result (mandatory): the peer as authenticated once step() returned OK.
 * Strings must stay valid until end(): they point into state. Null
 * authenticates nothing: the server reports the identity the client
 * claimed; the client the name it was told to reach, if any.
 */
static int null_result(void *pdata, void *state, msgsec_peer *peer)
{
    null_data *nd = pdata;
    null_state *st = state;
    if (!st->done)
        return MSGSEC_ERR_STATE;
    peer->scheme = "null";
    peer->identity = st->identity;
    if (st->role == MSGSEC_ROLE_CLIENT) {
        const char *name = nd->up->session_peer_name(st->ps);
        peer->identity = name ? name : "anonymous";
    }
    peer->supi = NULL;
    peer->gpsi = NULL;
    peer->key_expiry = 0;
    peer->caps = MSGSEC_CAP_INSECURE;
    return MSGSEC_OK;
}

/* limits (mandatory): per-record overhead and largest plaintext record. */
static int null_limits(void *pdata, void *state, size_t *overhead,
                       size_t *max_record)
{
    (void)pdata;
    (void)state;
    *overhead = 0;
    *max_record = NULL_MAX_RECORD;
    return MSGSEC_OK;
}

/*
 * Not implemented, so left NULL in the descriptor:
 *  - claim: only for MSGSEC_CAP_IMPLICIT providers, which recognise their
 *    first token (e.g. a TLS ClientHello with their PSK identity);
 *  - export_key: only for MSGSEC_CAP_KEY_EXPORT; explicit negotiation uses
 *    it to confirm the offer, which is why null needs allow_insecure there;
 *  - end: null allocates nothing per session, and the core wipes state;
 *  - close: null has no close record; the core's framing carries it.
 */
static const msgsec_provider null_provider = {
    MSGSEC_PROVIDER_HEADER,
    .name = "null",
    .version = "1.0",
    .summary = "no authentication, no protection (tests and labs only)",
    .caps = MSGSEC_CAP_CLIENT | MSGSEC_CAP_SERVER | MSGSEC_CAP_INSECURE,
    /* A core that does not know "insecure" must not treat null as safe. */
    .critical_caps = MSGSEC_CAP_INSECURE,
    .state_size = sizeof(null_state),
    .config_keys = NULL,
    .init = null_init,
    .fini = null_fini,
    .self_test = null_self_test,
    .start = null_start,
    .step = null_step,
    .result = null_result,
    .wrap = null_wrap,
    .unwrap = null_unwrap,
    .limits = null_limits,
};

MSGSEC_PROVIDER_DEFINE(null, null_provider)
