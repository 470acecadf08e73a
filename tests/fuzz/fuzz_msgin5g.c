/*
 * fuzz_msgin5g.c - libFuzzer target for the MSGin5G-1 codec of the examples
 * (examples/msgin5g/msg.c): the input is split into lines in uneven pieces
 * and each line parsed; whatever parses must build again and parse to the
 * same message; a failed parse keeps nothing but the request's identity.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "msg.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static int same_str(const char *a, const char *b)
{
    return (!a && !b) || (a && b && strcmp(a, b) == 0);
}

static void check_round_trip(const msgsec_m5g_msg *m)
{
    msgsec_m5g_msg b;
    char why[256];
    size_t len;
    char *line = msgsec_m5g_build(m, &len);

    /* Only a line pushed over the limit by escaping may fail to build. */
    if (!line)
        return;
    if (len == 0 || line[len - 1] != '\n' || memchr(line, '\n', len - 1) ||
        msgsec_m5g_parse(line, len - 1, &b, why, sizeof(why)) != 0)
        abort();
    if (b.type != m->type || !same_str(b.msg_id, m->msg_id) ||
        !same_str(b.ue_service_id, m->ue_service_id) ||
        b.ori.type != m->ori.type || !same_str(b.ori.addr, m->ori.addr) ||
        b.dest.type != m->dest.type || !same_str(b.dest.addr, m->dest.addr) ||
        b.payload_len != m->payload_len ||
        (m->payload && (!b.payload ||
                        memcmp(b.payload, m->payload, m->payload_len))) ||
        b.deliv_st_req != m->deliv_st_req || b.sto_and_fw != m->sto_and_fw ||
        b.status != m->status || b.deliv_st != m->deliv_st ||
        !same_str(b.failure_cause, m->failure_cause))
        abort();
    /* Times outside years 0000-9999 parse from offsets but do not format. */
    if (b.has_expr_time && b.expr_time != m->expr_time)
        abort();
    msgsec_m5g_msg_clear(&b);
    free(line);
}

static void one_line(const char *line, size_t len)
{
    msgsec_m5g_msg m;
    char why[256];
    int rc = msgsec_m5g_parse(line, len, &m, why, sizeof(why));

    if (rc == 0) {
        if (!m.msg_id || !m.type)
            abort();
        check_round_trip(&m);
    } else {
        if ((rc != MSGSEC_M5G_BAD_JSON && rc != MSGSEC_M5G_BAD_FIELDS) ||
            !why[0] || m.ue_service_id || m.ori.addr || m.payload ||
            (rc == MSGSEC_M5G_BAD_JSON && (m.msg_id || m.root)))
            abort();
    }
    msgsec_m5g_msg_clear(&m);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    msgsec_m5g_lines l;
    const char *line;
    size_t len, off = 0, step = size % 7 + 1;

    memset(&l, 0, sizeof(l));
    /* An empty splitter (no buffer yet) has nothing to give. */
    if (msgsec_m5g_lines_next(&l, &line, &len) != 0)
        abort();
    while (off < size) {
        size_t n = size - off < step ? size - off : step;
        if (msgsec_m5g_lines_push(&l, data + off, n) < 0)
            break;
        off += n;
        step = step * 3 % 4097 + 1;
        int rc;
        while ((rc = msgsec_m5g_lines_next(&l, &line, &len)) == 1) {
            if (len > MSGSEC_M5G_LINE_MAX || memchr(line, '\n', len))
                abort();
            one_line(line, len);
        }
        if (rc < 0)
            break;
    }
    msgsec_m5g_lines_free(&l);
    /* The whole input as one line, too. */
    one_line((const char *)data, size);
    return 0;
}
