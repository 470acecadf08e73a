/*
 * badmagic.c - test module: a descriptor whose magic is not msgsec's.
 * Everything else is valid; the loader must refuse it as "not a msgsec
 * provider" and show the magic it found (0x4d534751, "MSGQ").
 */
#include <msgsec/provider.h>

static int badmagic_init(const msgsec_upcalls *up, msgsec_pctx *pc, void **pdata)
{
    (void)up;
    (void)pc;
    *pdata = NULL;
    return MSGSEC_OK;
}

/* The loader refuses this module before any session can exist: the
 * session functions below only make the descriptor complete. */
static int badmagic_start(void *pdata, void *state, msgsec_psession *ps)
{
    (void)pdata;
    (void)state;
    (void)ps;
    return MSGSEC_ERR_UNSUPPORTED;
}

static int badmagic_step(void *pdata, void *state, const uint8_t *in, size_t len,
                   size_t *consumed)
{
    (void)pdata;
    (void)state;
    (void)in;
    (void)len;
    *consumed = 0;
    return MSGSEC_ERR_UNSUPPORTED;
}

static int badmagic_result(void *pdata, void *state, msgsec_peer *peer)
{
    (void)pdata;
    (void)state;
    (void)peer;
    return MSGSEC_ERR_STATE;
}

static int badmagic_wrap(void *pdata, void *state, const uint8_t *in, size_t len,
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

static int badmagic_unwrap(void *pdata, void *state, const uint8_t *in,
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

static int badmagic_limits(void *pdata, void *state, size_t *overhead,
                     size_t *max_record)
{
    (void)pdata;
    (void)state;
    *overhead = 0;
    *max_record = 1024;
    return MSGSEC_OK;
}

static const msgsec_provider badmagic_provider = {
    .magic = 0x4d534751u,
    .size = sizeof(msgsec_provider),
    .abi_major = MSGSEC_PROVIDER_ABI_MAJOR,
    .abi_minor = MSGSEC_PROVIDER_ABI_MINOR,
    .name = "badmagic",
    .version = "1.0",
    .summary = "test: wrong descriptor magic",
    .caps = MSGSEC_CAP_CLIENT | MSGSEC_CAP_SERVER,
    .init = badmagic_init,
    .start = badmagic_start,
    .step = badmagic_step,
    .result = badmagic_result,
    .wrap = badmagic_wrap,
    .unwrap = badmagic_unwrap,
    .limits = badmagic_limits,
};

MSGSEC_PROVIDER_DEFINE(badmagic, badmagic_provider)
