/*
 * failinit.c - test module: a valid descriptor whose init() always fails.
 * It accepts one policy key, `reason`, and puts it with its FILE:LINE in
 * the detail, so tests see both the config upcalls and the detail travel.
 */
#include <msgsec/provider.h>

static const char *const failinit_keys[] = {"reason", NULL};

static int failinit_init(const msgsec_upcalls *up, msgsec_pctx *pc,
                         void **pdata)
{
    const char *reason = up->config(pc, "reason");
    *pdata = NULL;
    up->set_detail(pc, "failinit refuses to start: %s (%s)",
                   reason ? reason : "no reason configured",
                   up->config_where(pc, "reason"));
    return MSGSEC_ERR_KEY_UNAVAILABLE;
}

/* The loader refuses this module before any session can exist: the
 * session functions below only make the descriptor complete. */
static int failinit_start(void *pdata, void *state, msgsec_psession *ps)
{
    (void)pdata;
    (void)state;
    (void)ps;
    return MSGSEC_ERR_UNSUPPORTED;
}

static int failinit_step(void *pdata, void *state, const uint8_t *in, size_t len,
                   size_t *consumed)
{
    (void)pdata;
    (void)state;
    (void)in;
    (void)len;
    *consumed = 0;
    return MSGSEC_ERR_UNSUPPORTED;
}

static int failinit_result(void *pdata, void *state, msgsec_peer *peer)
{
    (void)pdata;
    (void)state;
    (void)peer;
    return MSGSEC_ERR_STATE;
}

static int failinit_wrap(void *pdata, void *state, const uint8_t *in, size_t len,
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

static int failinit_unwrap(void *pdata, void *state, const uint8_t *in,
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

static int failinit_limits(void *pdata, void *state, size_t *overhead,
                     size_t *max_record)
{
    (void)pdata;
    (void)state;
    *overhead = 0;
    *max_record = 1024;
    return MSGSEC_OK;
}

static const msgsec_provider failinit_provider = {
    MSGSEC_PROVIDER_HEADER,
    .name = "failinit",
    .version = "1.0",
    .summary = "test: init always fails",
    .caps = MSGSEC_CAP_CLIENT | MSGSEC_CAP_SERVER,
    .config_keys = failinit_keys,
    .init = failinit_init,
    .start = failinit_start,
    .step = failinit_step,
    .result = failinit_result,
    .wrap = failinit_wrap,
    .unwrap = failinit_unwrap,
    .limits = failinit_limits,
};

MSGSEC_PROVIDER_DEFINE(failinit, failinit_provider)
