/*
 * failselftest.c - test module: init() succeeds and allocates, self_test()
 * fails. The core must report the self-test's detail and still call
 * fini(), which logs "released" so tests can see it ran.
 */
#include <msgsec/provider.h>

typedef struct failselftest_data {
    const msgsec_upcalls *up;
    msgsec_pctx *pc;
} failselftest_data;

static int failselftest_init(const msgsec_upcalls *up, msgsec_pctx *pc,
                             void **pdata)
{
    failselftest_data *d = up->alloc(pc, sizeof(*d));
    if (!d) {
        up->set_detail(pc, "out of memory");
        return MSGSEC_ERR_NOMEM;
    }
    d->up = up;
    d->pc = pc;
    *pdata = d;
    return MSGSEC_OK;
}

static void failselftest_fini(void *pdata)
{
    failselftest_data *d = pdata;
    const msgsec_upcalls *up = d->up;
    msgsec_pctx *pc = d->pc;
    up->free(pc, d, sizeof(*d));
    up->log(pc, MSGSEC_LOG_INFO, "released");
}

static int failselftest_self_test(void *pdata)
{
    failselftest_data *d = pdata;
    d->up->set_detail(d->pc, "known-answer test 2 of 3: output mismatch");
    return MSGSEC_ERR_PROVIDER_SELF_TEST;
}

/* The loader refuses this module before any session can exist: the
 * session functions below only make the descriptor complete. */
static int failselftest_start(void *pdata, void *state, msgsec_psession *ps)
{
    (void)pdata;
    (void)state;
    (void)ps;
    return MSGSEC_ERR_UNSUPPORTED;
}

static int failselftest_step(void *pdata, void *state, const uint8_t *in, size_t len,
                   size_t *consumed)
{
    (void)pdata;
    (void)state;
    (void)in;
    (void)len;
    *consumed = 0;
    return MSGSEC_ERR_UNSUPPORTED;
}

static int failselftest_result(void *pdata, void *state, msgsec_peer *peer)
{
    (void)pdata;
    (void)state;
    (void)peer;
    return MSGSEC_ERR_STATE;
}

static int failselftest_wrap(void *pdata, void *state, const uint8_t *in, size_t len,
                   uint8_t *out, size_t cap, size_t *out_len)
{
    (void)pdata;
    (void)state;
    (void)in;
    (void)len;
    (void)out;
    (void)cap;
    *out_len = 0;
    return MSGSEC_ERR_STATE;
}

static int failselftest_unwrap(void *pdata, void *state, const uint8_t *in,
                     size_t len, size_t *consumed, uint8_t *out, size_t cap,
                     size_t *out_len, unsigned *flags)
{
    (void)pdata;
    (void)state;
    (void)in;
    (void)len;
    (void)out;
    (void)cap;
    *consumed = 0;
    *out_len = 0;
    *flags = 0;
    return MSGSEC_ERR_STATE;
}

static int failselftest_limits(void *pdata, void *state, size_t *overhead,
                     size_t *max_record)
{
    (void)pdata;
    (void)state;
    *overhead = 0;
    *max_record = 1024;
    return MSGSEC_OK;
}

static const msgsec_provider failselftest_provider = {
    MSGSEC_PROVIDER_HEADER,
    .name = "failselftest",
    .version = "1.0",
    .summary = "test: self_test always fails",
    .caps = MSGSEC_CAP_CLIENT | MSGSEC_CAP_SERVER,
    .fini = failselftest_fini,
    .self_test = failselftest_self_test,
    .init = failselftest_init,
    .start = failselftest_start,
    .step = failselftest_step,
    .result = failselftest_result,
    .wrap = failselftest_wrap,
    .unwrap = failselftest_unwrap,
    .limits = failselftest_limits,
};

MSGSEC_PROVIDER_DEFINE(failselftest, failselftest_provider)
