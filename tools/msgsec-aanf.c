/*
 * msgsec-aanf.c - an AAnF emulator for tests and demonstrations: serves
 * Naanf_AKMA (TS 29.535: register-anchorkey, retrieve-applicationkey,
 * remove-context) and the NEF's 3gpp-akma retrieve (TS 29.522) over h2c
 * with prior knowledge and HTTP/1.1, with knobs that make it fail on
 * purpose. Keys are held in memory only and never logged. See
 * msgsec-aanf(1).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <openssl/crypto.h>

#include <msgsec/aanf.h>
#include <msgsec/akma_keys.h>
#include <msgsec/http.h>
#include <msgsec/kdf.h>

#include "emu.h"

#define BUCKETS 4096
#define MAX_ENTRIES 1000000
#define BODY_CAP 4096 /* every answer fits */

typedef struct entry {
    struct entry *next;
    char a_kid[MSGSEC_AKID_MAX_LEN + 1];
    uint8_t k_akma[MSGSEC_AKMA_KEY_LEN];
    char supi[MSGSEC_AANF_ID_MAX + 1];
    char gpsi[MSGSEC_AANF_ID_MAX + 1];
    int64_t created; /* seconds since the epoch */
} entry;

typedef struct aanf {
    msgsec_aanf_settings set;
    msgsec_kdf *kdf;
    msgsec_emu emu; /* listen address, --delay-ms, --fail-status, --garbage */
    long expiry;
    int wrong_kaf_length;
    entry *tab[BUCKETS];
    size_t count;
} aanf;

enum op { OP_NONE, OP_RETRIEVE, OP_REGISTER, OP_REMOVE, OP_NEF_RETRIEVE };

/* ------------------------------------------------------------ store */

static size_t bucket(const char *s)
{
    uint32_t h = 2166136261u; /* FNV-1a */
    for (; *s; s++)
        h = (h ^ (uint8_t)*s) * 16777619u;
    return h % BUCKETS;
}

static void entry_free(entry *e)
{
    OPENSSL_cleanse(e, sizeof(*e));
    free(e);
}

static entry *find(aanf *a, const char *a_kid)
{
    for (entry *e = a->tab[bucket(a_kid)]; e; e = e->next)
        if (strcmp(e->a_kid, a_kid) == 0)
            return e;
    return NULL;
}

static void unlink_entry(aanf *a, entry *e)
{
    for (entry **pp = &a->tab[bucket(e->a_kid)]; *pp; pp = &(*pp)->next)
        if (*pp == e) {
            *pp = e->next;
            a->count--;
            entry_free(e);
            return;
        }
}

/* Removes the contexts of a UE (by SUPI, or GPSI when supi is ""). */
static size_t remove_ue(aanf *a, const char *supi, const char *gpsi)
{
    size_t n = 0;
    for (size_t b = 0; b < BUCKETS; b++)
        for (entry **pp = &a->tab[b]; *pp;) {
            entry *e = *pp;
            if ((supi[0] && strcmp(e->supi, supi) == 0) ||
                (!supi[0] && gpsi[0] && strcmp(e->gpsi, gpsi) == 0)) {
                *pp = e->next;
                a->count--;
                entry_free(e);
                n++;
            } else {
                pp = &e->next;
            }
        }
    return n;
}

static void store_clear(aanf *a)
{
    for (size_t b = 0; b < BUCKETS; b++)
        while (a->tab[b]) {
            entry *e = a->tab[b];
            a->tab[b] = e->next;
            entry_free(e);
        }
    a->count = 0;
}

/* ---------------------------------------------------------- answers */

static void retrieve(aanf *a, const msgsec_h2s_request *rq,
                     msgsec_h2s_response *rs, int nef, char *note,
                     size_t note_len)
{
    msgsec_aanf_key_request kr;
    msgsec_aanf_fault f;
    int rc = msgsec_aanf_decode_key_request(&a->set, rq->body, rq->body_len,
                                            &kr, &f);
    if (rc != 0) {
        msgsec_emu_bad_input(rs, rc, &f, note, note_len);
        return;
    }
    int w = snprintf(note, note_len, "aKId=%s afId=%s%s", kr.a_kid, kr.af_id,
                     kr.anon_ind ? " anonInd" : "");
    size_t used = w < 0 ? 0 : (size_t)w < note_len ? (size_t)w : note_len - 1;
    rs->delay_ms = a->emu.delay_ms;
    if (a->emu.fail_status) {
        msgsec_emu_problem(rs, a->emu.fail_status, NULL,
                "failure requested by --fail-status", NULL);
        snprintf(note + used, note_len - used, " (--fail-status)");
        return;
    }
    if (a->emu.garbage) {
        static const char junk[] = "{\"kaf\":\"0011223344";
        msgsec_emu_set_body(rs, 200, MSGSEC_AANF_MEDIA_JSON, junk,
                            sizeof(junk) - 1);
        snprintf(note + used, note_len - used, " (--garbage)");
        return;
    }
    entry *e = find(a, kr.a_kid);
    int64_t now = (int64_t)time(NULL);
    if (e && now >= e->created + a->expiry) {
        unlink_entry(a, e);
        snprintf(note + used, note_len - used, " (expired)");
        rs->status = 204;
        return;
    }
    if (!e) {
        snprintf(note + used, note_len - used, " (unknown A-KID)");
        rs->status = 204;
        return;
    }
    char fqdn[MSGSEC_AKMA_FQDN_MAX + 1];
    size_t fqlen;
    uint8_t ua[MSGSEC_AKMA_UA_ID_LEN];
    msgsec_aanf_key_data kd = {.expiry = e->created + a->expiry};
    if (msgsec_aanf_afid_parse(&a->set, kr.af_id, strlen(kr.af_id), fqdn,
                               &fqlen, ua, NULL) != 0 ||
        msgsec_akma_derive_k_af_fqdn(a->kdf, e->k_akma, sizeof(e->k_akma),
                                     fqdn, fqlen, ua, kd.kaf) != 0) {
        msgsec_emu_problem(rs, 500, "SYSTEM_FAILURE", "K_AF derivation failed",
                           NULL);
        snprintf(note + used, note_len - used, " (derivation failed)");
        return;
    }
    /* Anonymous access gets no identity; the NEF never exposes a SUPI. */
    if (!kr.anon_ind) {
        if (!nef)
            memcpy(kd.supi, e->supi, sizeof(kd.supi));
        memcpy(kd.gpsi, e->gpsi, sizeof(kd.gpsi));
    }
    char out[BODY_CAP];
    size_t n;
    rc = msgsec_aanf_encode_key_data(&a->set, &kd, out, sizeof(out), &n);
    msgsec_aanf_clear(&kd, sizeof(kd));
    if (rc != 0) {
        msgsec_emu_problem(rs, 500, "SYSTEM_FAILURE",
                           "cannot encode the answer", NULL);
        return;
    }
    if (a->wrong_kaf_length) {
        /* Drop the last two characters of the kaf value. */
        char *k = strstr(out, "\"kaf\":\"");
        char *q = k ? strchr(k + 7, '"') : NULL;
        if (q && q - (k + 7) >= 2) {
            memmove(q - 2, q, (size_t)(out + n + 1 - q));
            n -= 2;
        }
    }
    msgsec_emu_set_body(rs, 200, MSGSEC_AANF_MEDIA_JSON, out, n);
    OPENSSL_cleanse(out, sizeof(out));
    char when[MSGSEC_AANF_DATETIME_SIZE];
    msgsec_aanf_datetime_format(e->created + a->expiry, when);
    snprintf(note + used, note_len - used, " expiry=%s%s", when,
             a->wrong_kaf_length ? " (--wrong-kaf-length)" : "");
}

static void reg(aanf *a, const msgsec_h2s_request *rq,
                msgsec_h2s_response *rs, char *note, size_t note_len)
{
    msgsec_aanf_key_info ki;
    msgsec_aanf_fault f;
    int rc = msgsec_aanf_decode_key_info(&a->set, rq->body, rq->body_len,
                                         &ki, &f);
    if (rc != 0) {
        msgsec_emu_bad_input(rs, rc, &f, note, note_len);
        return;
    }
    /* A new K_AKMA replaces the UE's old context (and the same A-KID). */
    entry *old = find(a, ki.a_kid);
    if (old)
        unlink_entry(a, old);
    remove_ue(a, ki.supi, ki.gpsi);
    entry *e = a->count < MAX_ENTRIES ? calloc(1, sizeof(*e)) : NULL;
    if (!e) {
        msgsec_aanf_clear(&ki, sizeof(ki));
        msgsec_emu_problem(rs, 500, "INSUFFICIENT_RESOURCES", "store full",
                           NULL);
        snprintf(note, note_len, "store full");
        return;
    }
    memcpy(e->a_kid, ki.a_kid, sizeof(e->a_kid));
    memcpy(e->k_akma, ki.k_akma, sizeof(e->k_akma));
    memcpy(e->supi, ki.supi, sizeof(e->supi));
    memcpy(e->gpsi, ki.gpsi, sizeof(e->gpsi));
    e->created = (int64_t)time(NULL);
    size_t b = bucket(e->a_kid);
    e->next = a->tab[b];
    a->tab[b] = e;
    a->count++;

    char out[BODY_CAP];
    size_t n;
    rc = msgsec_aanf_encode_key_info(&a->set, &ki, out, sizeof(out), &n);
    snprintf(note, note_len, "aKId=%s %s=%s", ki.a_kid,
             ki.supi[0] ? "supi" : "gpsi", ki.supi[0] ? ki.supi : ki.gpsi);
    msgsec_aanf_clear(&ki, sizeof(ki));
    if (rc != 0) {
        msgsec_emu_problem(rs, 500, "SYSTEM_FAILURE",
                           "cannot encode the answer", NULL);
        return;
    }
    msgsec_emu_set_body(rs, 200, MSGSEC_AANF_MEDIA_JSON, out, n);
    OPENSSL_cleanse(out, sizeof(out));
}

static void remove_ctx(aanf *a, const msgsec_h2s_request *rq,
                       msgsec_h2s_response *rs, char *note, size_t note_len)
{
    msgsec_aanf_ctx_remove cr;
    msgsec_aanf_fault f;
    int rc = msgsec_aanf_decode_ctx_remove(&a->set, rq->body, rq->body_len,
                                           &cr, &f);
    if (rc != 0) {
        msgsec_emu_bad_input(rs, rc, &f, note, note_len);
        return;
    }
    size_t n = remove_ue(a, cr.supi, "");
    snprintf(note, note_len, "supi=%s removed=%zu", cr.supi, n);
    rs->status = 204;
}

static enum op path_op(const char *path)
{
    static const struct {
        const char *path;
        enum op op;
    } ops[] = {{MSGSEC_AANF_PATH_RETRIEVE, OP_RETRIEVE},
               {MSGSEC_AANF_PATH_REGISTER, OP_REGISTER},
               {MSGSEC_AANF_PATH_REMOVE, OP_REMOVE},
               {MSGSEC_NEF_PATH_RETRIEVE, OP_NEF_RETRIEVE}};
    for (size_t i = 0; i < sizeof(ops) / sizeof(ops[0]); i++)
        if (msgsec_emu_path_is(path, ops[i].path))
            return ops[i].op;
    return OP_NONE;
}

static void handle(void *arg, const msgsec_h2s_request *rq,
                   msgsec_h2s_response *rs)
{
    aanf *a = arg;
    char note[768] = "";
    enum op op = path_op(rq->path);
    if (msgsec_emu_request_error(rq, rs, MSGSEC_AANF_BODY_MAX)) {
        /* answered */
    } else if (op == OP_NONE) {
        msgsec_emu_problem(rs, 404, "RESOURCE_URI_STRUCTURE_NOT_FOUND",
                           "no such resource", NULL);
    } else if (strcmp(rq->method, "POST") != 0) {
        msgsec_emu_problem(rs, 405, NULL, "only POST is allowed here", NULL);
        rs->allow = "POST";
    } else if (!msgsec_http_media_type_is(rq->content_type,
                                          MSGSEC_AANF_MEDIA_JSON)) {
        msgsec_emu_problem(rs, 415, NULL,
                           "the body must be " MSGSEC_AANF_MEDIA_JSON, NULL);
    } else if (op == OP_REGISTER) {
        reg(a, rq, rs, note, sizeof(note));
    } else if (op == OP_REMOVE) {
        remove_ctx(a, rq, rs, note, sizeof(note));
    } else {
        retrieve(a, rq, rs, op == OP_NEF_RETRIEVE, note, sizeof(note));
    }
    msgsec_emu_log(rq, rs, note);
}

/* ------------------------------------------------------------ main */

static const char usage_text[] =
    "Usage: msgsec-aanf --listen HOST:PORT [OPTION]...\n"
    "An AAnF emulator: Naanf_AKMA (TS 29.535) and the NEF's 3gpp-akma\n"
    "retrieve (TS 29.522) over HTTP/2 without TLS and HTTP/1.1.\n"
    "\n"
    "  --listen HOST:PORT      address to serve (PORT 0: any free port)\n"
    "  --expiry SECONDS        K_AF lifetime from registration (3600)\n"
    "  --key-encoding ENC      kaf/kAkma text: hex (default) or base64\n"
    "  --afid-format FMT       afId form: fqdn-ua (default) or fqdn\n"
    "Failure knobs (for tests; they apply to retrieve requests):\n"
    "  --delay-ms N            answer N milliseconds late\n"
    "  --fail-status CODE      answer with a ProblemDetails of status CODE\n"
    "  --garbage               answer 200 with malformed JSON\n"
    "  --wrong-kaf-length      answer with a kaf one byte short\n"
    "\n"
    "  --help                  this text\n"
    "  --version               the version\n";

int main(int argc, char **argv)
{
    enum { O_EXPIRY = MSGSEC_EMU_O_OWN, O_KEYENC, O_AFID, O_WRONG };
    static const struct option opts[] = {
        MSGSEC_EMU_OPTIONS,
        {"expiry", required_argument, NULL, O_EXPIRY},
        {"key-encoding", required_argument, NULL, O_KEYENC},
        {"afid-format", required_argument, NULL, O_AFID},
        {"wrong-kaf-length", no_argument, NULL, O_WRONG},
        {NULL, 0, NULL, 0}};
    static aanf a; /* large (the hash table): not on the stack */
    const char *reason;
    long v;
    a.emu.prog = "msgsec-aanf";
    a.emu.usage = usage_text;
    msgsec_aanf_settings_default(&a.set);
    a.expiry = 3600;
    int c, rc;
    while ((c = msgsec_emu_getopt(&a.emu, argc, argv, opts, &rc)) != -1) {
        switch (c) {
        case O_EXPIRY:
            if (msgsec_emu_parse_long(optarg, 1, 10L * 366 * 86400, &v) != 0)
                return msgsec_emu_usage_error(
                    &a.emu, "--expiry %s: seconds from 1 to 10 years", optarg);
            a.expiry = v;
            break;
        case O_KEYENC:
            if (msgsec_aanf_settings_set(&a.set, MSGSEC_AANF_KEY_KEY_ENCODING,
                                         optarg, &reason) != 0)
                return msgsec_emu_usage_error(
                    &a.emu, "--key-encoding %s: must be hex or base64",
                    optarg);
            break;
        case O_AFID:
            if (msgsec_aanf_settings_set(&a.set, MSGSEC_AANF_KEY_AFID_FORMAT,
                                         optarg, &reason) != 0)
                return msgsec_emu_usage_error(
                    &a.emu, "--afid-format %s: must be fqdn-ua or fqdn",
                    optarg);
            break;
        default: /* O_WRONG */
            a.wrong_kaf_length = 1;
            break;
        }
    }
    if (rc != MSGSEC_EMU_CONTINUE)
        return rc;

    if (msgsec_kdf_new(&a.kdf) != 0) {
        fprintf(stderr, "msgsec-aanf: cannot set up the KDF (SHA-256)\n");
        return 1;
    }
    rc = msgsec_emu_serve(&a.emu, MSGSEC_AANF_BODY_MAX, handle, &a);
    store_clear(&a);
    msgsec_kdf_free(a.kdf);
    return rc;
}
