/*
 * badcrit.c - test module: marks as critical a capability bit (1 << 20)
 * that no core knows. The loader must refuse it and name the bit.
 */
#include <msgsec/provider.h>

#define BADCRIT_FUTURE_CAP (1u << 20)

static int badcrit_init(const msgsec_upcalls *up, msgsec_pctx *pc, void **pdata)
{
    (void)up;
    (void)pc;
    *pdata = NULL;
    return MSGSEC_OK;
}

/* The loader refuses this module before any session can exist: the
 * session functions below only make the descriptor complete. */
static int badcrit_start(void *pdata, void *state, msgsec_psession *ps)
{
    (void)pdata;
    (void)state;
    (void)ps;
    return MSGSEC_ERR_UNSUPPORTED;
}

static int badcrit_step(void *pdata, void *state, const uint8_t *in, size_t len,
                   size_t *consumed)
{
    (void)pdata;
    (void)state;
    (void)in;
    (void)len;
    *consumed = 0;
    return MSGSEC_ERR_UNSUPPORTED;
}

static int badcrit_result(void *pdata, void *state, msgsec_peer *peer)
{
    (void)pdata;
    (void)state;
    (void)peer;
    return MSGSEC_ERR_STATE;
}

static int badcrit_wrap(void *pdata, void *state, const uint8_t *in, size_t len,
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

static int badcrit_unwrap(void *pdata, void *state, const uint8_t *in,
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

static int badcrit_limits(void *pdata, void *state, size_t *overhead,
                     size_t *max_record)
{
    (void)pdata;
    (void)state;
    *overhead = 0;
    *max_record = 1024;
    return MSGSEC_OK;
}

static const msgsec_provider badcrit_provider = {
    MSGSEC_PROVIDER_HEADER,
    .name = "badcrit",
    .version = "1.0",
    .summary = "test: requires an unknown critical capability",
    .caps = MSGSEC_CAP_CLIENT | MSGSEC_CAP_SERVER | BADCRIT_FUTURE_CAP,
    .critical_caps = MSGSEC_CAP_CLIENT | BADCRIT_FUTURE_CAP,
    .init = badcrit_init,
    .start = badcrit_start,
    .step = badcrit_step,
    .result = badcrit_result,
    .wrap = badcrit_wrap,
    .unwrap = badcrit_unwrap,
    .limits = badcrit_limits,
};

MSGSEC_PROVIDER_DEFINE(badcrit, badcrit_provider)
