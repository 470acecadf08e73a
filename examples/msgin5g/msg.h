/*
 * msg.h - the MSGin5G-1 wire form of the examples (doc/msgin5g.md): one
 * JSON object per line, ended by LF, at most MSGSEC_M5G_LINE_MAX bytes;
 * message types of TS 24.538 (REG, DEREG, MSG, MSGRESP, IMDN), field names
 * of TS 29.538 (oriAddr, destAddr, msgId, payload, delivStReqInd,
 * stoAndFwInd, stoAndFwParams.exprTime, delivSt, failureCause).
 *
 * Shared by msgin5g-server and msgin5g-client; no I/O here.
 */
#ifndef MSGSEC_M5G_MSG_H
#define MSGSEC_M5G_MSG_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

/* Longest line, its LF (and a CR before it) not counted. */
#define MSGSEC_M5G_LINE_MAX 16384u
/* Longest ueServiceId, address and msgId (bytes). */
#define MSGSEC_M5G_ID_MAX 255u
#define MSGSEC_M5G_MSGID_MAX 128u

enum msgsec_m5g_type {
    MSGSEC_M5G_REG = 1,
    MSGSEC_M5G_DEREG,
    MSGSEC_M5G_MSG,
    MSGSEC_M5G_MSGRESP,
    MSGSEC_M5G_IMDN
};

enum msgsec_m5g_addr_type {
    MSGSEC_M5G_ADDR_UE = 1,
    MSGSEC_M5G_ADDR_GROUP,
    MSGSEC_M5G_ADDR_BC
};

/* MSGRESP status. */
enum msgsec_m5g_status {
    MSGSEC_M5G_REG_SUCCESS = 1,
    MSGSEC_M5G_DEREG_SUCCESS,
    MSGSEC_M5G_DELY_ACCEPTED,
    MSGSEC_M5G_DELY_STORED,
    MSGSEC_M5G_DELY_FAILED,
    MSGSEC_M5G_REJECTED
};

/* IMDN delivSt. */
enum msgsec_m5g_delivst {
    MSGSEC_M5G_REPT_DELY_SUCCESS = 1,
    MSGSEC_M5G_REPT_DELY_FAILED
};

typedef struct msgsec_m5g_addr {
    int type;         /* enum msgsec_m5g_addr_type; 0 when absent */
    const char *addr; /* 1 to MSGSEC_M5G_ID_MAX bytes, no control chars */
} msgsec_m5g_addr;

/*
 * One message. Parsed, its strings point into the parsed document (root)
 * until msgsec_m5g_msg_clear(); to build one, set the fields the type uses
 * (root stays NULL).
 */
typedef struct msgsec_m5g_msg {
    int type;                  /* enum msgsec_m5g_type; 0 when unknown */
    const char *msg_id;        /* every type */
    const char *ue_service_id; /* REG */
    msgsec_m5g_addr ori, dest; /* MSG, IMDN */
    const char *payload;       /* MSG; NULL when absent */
    size_t payload_len;
    int deliv_st_req;          /* MSG: delivStReqInd */
    int sto_and_fw;            /* MSG: stoAndFwInd */
    int has_expr_time;         /* MSG: stoAndFwParams.exprTime given */
    int64_t expr_time;         /* Unix seconds */
    int status;                /* MSGRESP: enum msgsec_m5g_status */
    int deliv_st;              /* IMDN: enum msgsec_m5g_delivst */
    const char *failure_cause; /* MSGRESP, IMDN; NULL when absent */
    void *root;
} msgsec_m5g_msg;

/* Whether s (len bytes) is an identifier: 1 to max bytes, no NUL or
 * other control character. */
int msgsec_m5g_id_ok(const char *s, size_t len, size_t max);

/* msgsec_m5g_parse() outcomes. */
#define MSGSEC_M5G_BAD_JSON (-1)   /* not a JSON object */
#define MSGSEC_M5G_BAD_FIELDS (-2) /* an object, but not a valid message:
                                      msg_id is set when it was valid */

/*
 * Parses one line (without its LF). Returns 0 with *m filled, or one of
 * the outcomes above with why (a short English reason naming the field)
 * filled. Fields of other types than m->type are zero. Unknown members are
 * ignored. Call msgsec_m5g_msg_clear() after any outcome.
 */
int msgsec_m5g_parse(const char *line, size_t len, msgsec_m5g_msg *m,
                     char *why, size_t why_len);

/* Releases what a parse kept and zeroes *m. */
void msgsec_m5g_msg_clear(msgsec_m5g_msg *m);

/*
 * The wire line of m (compact JSON with its LF), malloc'd, its length in
 * *len; NULL when out of memory, when m lacks what its type requires, or
 * when the line would be longer than MSGSEC_M5G_LINE_MAX.
 */
char *msgsec_m5g_build(const msgsec_m5g_msg *m, size_t *len);

/* Names on the wire ("REG", "UE", "DELY_STORED", "REPT_DELY_FAILED"), and
 * back (0 when unknown). The names of unknown values are "?". */
const char *msgsec_m5g_type_name(int type);
const char *msgsec_m5g_addr_type_name(int type);
const char *msgsec_m5g_status_name(int status);
const char *msgsec_m5g_delivst_name(int st);
int msgsec_m5g_type_from(const char *s);
int msgsec_m5g_addr_type_from(const char *s);
int msgsec_m5g_status_from(const char *s);
int msgsec_m5g_delivst_from(const char *s);

/*
 * RFC 3339 date-time ("2025-01-31T12:00:00Z", fractions and offsets
 * allowed) to Unix seconds: 0, or -1 when malformed. Formatting gives
 * "YYYY-MM-DDTHH:MM:SSZ" (out: 21 bytes at least): 0, or -1 out of range.
 */
int msgsec_m5g_time_parse(const char *s, int64_t *t);
int msgsec_m5g_time_format(int64_t t, char *out, size_t n);

/*
 * Splits a byte stream into lines. Bytes live at buf[off .. off+len).
 */
typedef struct msgsec_m5g_lines {
    char *buf;
    size_t off, len, cap;
} msgsec_m5g_lines;

/* Appends n bytes: 0, or -1 out of memory. */
int msgsec_m5g_lines_push(msgsec_m5g_lines *l, const void *d, size_t n);
/*
 * The next complete line (LF and a CR before it removed; valid until the
 * next push or next call): 1; 0 when no complete line is there yet; -1
 * when the next line is, or already grows, longer than MSGSEC_M5G_LINE_MAX
 * (the splitter is then unusable: the connection is to be closed).
 */
int msgsec_m5g_lines_next(msgsec_m5g_lines *l, const char **line,
                          size_t *len);
/* Bytes held that are not yet a complete line returned. */
size_t msgsec_m5g_lines_pending(const msgsec_m5g_lines *l);
/* Wipes and releases the buffer. */
void msgsec_m5g_lines_free(msgsec_m5g_lines *l);

/* Writes n bytes of s for a terminal line: printable bytes and UTF-8 as
 * they are, control bytes and '\' as \xHH. */
void msgsec_m5g_print_text(FILE *f, const char *s, size_t n);

#endif /* MSGSEC_M5G_MSG_H */
