/*
 * badabi.c - test module: built for the next ABI major version. The
 * loader must refuse it and name both majors.
 */
#include <msgsec/provider.h>

static int badabi_init(const msgsec_upcalls *up, msgsec_pctx *pc, void **pdata)
{
    (void)up;
    (void)pc;
    *pdata = NULL;
    return MSGSEC_OK;
}

/* The loader refuses this module before any session can exist: the
 * session functions below only make the descriptor complete. */
static int badabi_start(void *pdata, void *state, msgsec_psession *ps)
{
    (void)pdata;
    (void)state;
    (void)ps;
    return MSGSEC_ERR_UNSUPPORTED;
}

static int badabi_step(void *pdata, void *state, const uint8_t *in, size_t len,
                   size_t *consumed)
{
    (void)pdata;
    (void)state;
    (void)in;
    (void)len;
    *consumed = 0;
    return MSGSEC_ERR_UNSUPPORTED;
}

static int badabi_result(void *pdata, void *state, msgsec_peer *peer)
{
    (void)pdata;
    (void)state;
    (void)peer;
    return MSGSEC_ERR_STATE;
}

static int badabi_wrap(void *pdata, void *state, const uint8_t *in, size_t len,
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

static int badabi_unwrap(void *pdata, void *state, const uint8_t *in,
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

static int badabi_limits(void *pdata, void *state, size_t *overhead,
                     size_t *max_record)
{
    (void)pdata;
    (void)state;
    *overhead = 0;
    *max_record = 1024;
    return MSGSEC_OK;
}

static const msgsec_provider badabi_provider = {
    .magic = MSGSEC_PROVIDER_MAGIC,
    .size = sizeof(msgsec_provider),
    .abi_major = MSGSEC_PROVIDER_ABI_MAJOR + 1,
    .abi_minor = 0,
    .name = "badabi",
    .version = "1.0",
    .summary = "test: provider ABI major version from the future",
    .caps = MSGSEC_CAP_CLIENT | MSGSEC_CAP_SERVER,
    .init = badabi_init,
    .start = badabi_start,
    .step = badabi_step,
    .result = badabi_result,
    .wrap = badabi_wrap,
    .unwrap = badabi_unwrap,
    .limits = badabi_limits,
};

MSGSEC_PROVIDER_DEFINE(badabi, badabi_provider)
