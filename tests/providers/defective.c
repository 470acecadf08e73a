/*
 * defective.c - test modules that each carry exactly one defect the loader
 * must refuse with its own message. Built once per defect (see local.mk):
 *   DEFECT_MAGIC     descriptor magic is not msgsec's (0x4d534751, "MSGQ")
 *   DEFECT_ABI       built for the next ABI major version
 *   DEFECT_CRITICAL  marks as critical a capability bit (1 << 20) no core knows
 *   DEFECT_INIT      init() fails; its `reason` key and FILE:LINE travel into
 *                    the detail (config upcalls and set_detail at work)
 *   DEFECT_SELFTEST  init() allocates, self_test() fails; fini() must still
 *                    run and logs "released" so tests can see it
 * Everything else about each module is valid.
 */
#include <msgsec/provider.h>

#if !defined(DEFECT_MODULE) || !defined(DEFECT_NAME)
#error "build with -DDEFECT_MODULE=<module> -DDEFECT_NAME=\"<name>\""
#endif

#define FUTURE_CAP (1u << 20)

typedef struct defective_data {
    const msgsec_upcalls *up;
    msgsec_pctx *pc;
} defective_data;

static int defective_init(const msgsec_upcalls *up, msgsec_pctx *pc,
                          void **pdata)
{
    *pdata = NULL;
#if defined(DEFECT_INIT)
    const char *reason = up->config(pc, "reason");
    up->set_detail(pc, "failinit refuses to start: %s (%s)",
                   reason ? reason : "no reason configured",
                   up->config_where(pc, "reason"));
    return MSGSEC_ERR_KEY_UNAVAILABLE;
#else
    defective_data *d = up->alloc(pc, sizeof(*d));
    if (!d) {
        up->set_detail(pc, "out of memory");
        return MSGSEC_ERR_NOMEM;
    }
    d->up = up;
    d->pc = pc;
    *pdata = d;
    return MSGSEC_OK;
#endif
}

static void defective_fini(void *pdata)
{
    defective_data *d = pdata;
    if (!d)
        return;
    const msgsec_upcalls *up = d->up;
    msgsec_pctx *pc = d->pc;
    up->free(pc, d, sizeof(*d));
    up->log(pc, MSGSEC_LOG_INFO, "released");
}

#if defined(DEFECT_SELFTEST)
static int defective_self_test(void *pdata)
{
    defective_data *d = pdata;
    d->up->set_detail(d->pc, "known-answer test 2 of 3: output mismatch");
    return MSGSEC_ERR_PROVIDER_SELF_TEST;
}
#endif

/* The loader refuses these modules before any session can exist: the
 * session functions only make the descriptor complete. */
static int defective_start(void *pdata, void *state, msgsec_psession *ps)
{
    (void)pdata;
    (void)state;
    (void)ps;
    return MSGSEC_ERR_UNSUPPORTED;
}

static int defective_step(void *pdata, void *state, const uint8_t *in,
                          size_t len, size_t *consumed)
{
    (void)pdata;
    (void)state;
    (void)in;
    (void)len;
    *consumed = 0;
    return MSGSEC_ERR_UNSUPPORTED;
}

static int defective_result(void *pdata, void *state, msgsec_peer *peer)
{
    (void)pdata;
    (void)state;
    (void)peer;
    return MSGSEC_ERR_STATE;
}

static int defective_wrap(void *pdata, void *state, const uint8_t *in,
                          size_t len, uint8_t *out, size_t cap,
                          size_t *out_len)
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

static int defective_unwrap(void *pdata, void *state, const uint8_t *in,
                            size_t len, size_t *consumed, uint8_t *out,
                            size_t cap, size_t *out_len, unsigned *flags)
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

static int defective_limits(void *pdata, void *state, size_t *overhead,
                            size_t *max_record)
{
    (void)pdata;
    (void)state;
    *overhead = 0;
    *max_record = 1024;
    return MSGSEC_OK;
}

#if defined(DEFECT_INIT)
static const char *const defective_keys[] = {"reason", NULL};
#endif

static const msgsec_provider defective_provider = {
#if defined(DEFECT_MAGIC)
    .magic = 0x4d534751u,
#else
    .magic = MSGSEC_PROVIDER_MAGIC,
#endif
    .size = sizeof(msgsec_provider),
#if defined(DEFECT_ABI)
    .abi_major = MSGSEC_PROVIDER_ABI_MAJOR + 1,
    .abi_minor = 0,
#else
    .abi_major = MSGSEC_PROVIDER_ABI_MAJOR,
    .abi_minor = MSGSEC_PROVIDER_ABI_MINOR,
#endif
    .name = DEFECT_NAME,
    .version = "1.0",
#if defined(DEFECT_MAGIC)
    .summary = "test: wrong descriptor magic",
#elif defined(DEFECT_ABI)
    .summary = "test: provider ABI major version from the future",
#elif defined(DEFECT_CRITICAL)
    .summary = "test: requires an unknown critical capability",
#elif defined(DEFECT_INIT)
    .summary = "test: init always fails",
#else
    .summary = "test: self_test always fails",
#endif
#if defined(DEFECT_CRITICAL)
    .caps = MSGSEC_CAP_CLIENT | MSGSEC_CAP_SERVER | FUTURE_CAP,
    .critical_caps = MSGSEC_CAP_CLIENT | FUTURE_CAP,
#else
    .caps = MSGSEC_CAP_CLIENT | MSGSEC_CAP_SERVER,
#endif
#if defined(DEFECT_INIT)
    .config_keys = defective_keys,
#endif
    .init = defective_init,
    .fini = defective_fini,
#if defined(DEFECT_SELFTEST)
    .self_test = defective_self_test,
#endif
    .start = defective_start,
    .step = defective_step,
    .result = defective_result,
    .wrap = defective_wrap,
    .unwrap = defective_unwrap,
    .limits = defective_limits,
};

MSGSEC_PROVIDER_DEFINE(DEFECT_MODULE, defective_provider)
