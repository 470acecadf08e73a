/* testutil.h - helpers shared by the CUnit programs. */
#ifndef MSGSEC_TESTUTIL_H
#define MSGSEC_TESTUTIL_H

#include <CUnit/CUnit.h>
#include <stddef.h>
#include <stdio.h>

#include "msgsec/msgsec.h"

/*
 * Runs one suite (NULL-terminated tests) in CUnit's basic mode, verbose,
 * with optional init/cleanup, and returns the process exit status: 0 when
 * every test and assertion passed and at least one test ran.
 */
int msgsec_test_main(const char *suite, CU_InitializeFunc init,
                     CU_CleanupFunc cleanup, CU_TestInfo *tests);

/* Directory holding the test provider modules (.la files). */
const char *msgsec_test_provider_dir(void);
/* Source directory of tests/data. */
const char *msgsec_test_data_dir(void);

/*
 * Writes text to a fresh file (mode 0600) in a private temporary directory
 * and returns its path (static storage per call slot, valid until
 * msgsec_test_cleanup_files()). Substitutes "@PROVIDER_DIR@" with
 * msgsec_test_provider_dir().
 */
const char *msgsec_test_write_policy(const char *text);
/* Removes every file msgsec_test_write_policy() wrote. */
void msgsec_test_cleanup_files(void);

/*
 * Creates a core from policy text (after "@PROVIDER_DIR@" substitution)
 * and asserts success; returns NULL (after a failed assertion) otherwise.
 */
msgsec_core *msgsec_test_core(const char *policy_text);

/*
 * Moves bytes between a client and a server session until neither has
 * output, resolving pending look-ups by waiting (up to 5 s each). Returns
 * 0 when both are ESTABLISHED, else the first error seen.
 */
int msgsec_test_pump(msgsec_session *client, msgsec_session *server);

/*
 * An AAnF emulator ($MSGSEC_TEST_BUILDDIR/tools/msgsec-aanf) as a child
 * process on 127.0.0.1 with an ephemeral port.
 */
typedef struct msgsec_test_aanf {
    int pid;       /* 0 when not running */
    int port;
    char root[64]; /* "http://127.0.0.1:PORT", the apiRoot */
    char log[512]; /* its standard error (a line per request), or "" */
} msgsec_test_aanf;

/*
 * Starts the emulator with extra arguments (args NULL-terminated, at most
 * 8; args itself may be NULL), its standard error into log_path (NULL:
 * inherited), and reads the port it announces. The child dies with the
 * test. Returns 0, or -1 with nothing left running.
 */
int msgsec_test_aanf_start(msgsec_test_aanf *e, const char *log_path,
                           const char *const *args);
/*
 * The same for the SEAL key-management emulator
 * ($MSGSEC_TEST_BUILDDIR/tools/msgsec-seal-km); args must include
 * "--records", FILE.
 */
int msgsec_test_seal_km_start(msgsec_test_aanf *e, const char *log_path,
                              const char *const *args);
/* Stops either emulator by PID (SIGTERM, then waits). 1 when it exited
 * with status 0. */
int msgsec_test_aanf_stop(msgsec_test_aanf *e);

/* ------------------------------------------------------ captured log */

/* A msgsec_hooks log hook keeping every line (the providers log from
 * their HTTP workers too), and whether a captured line holds s. */
void msgsec_test_log_hook(void *user, int level, const char *line);
int msgsec_test_log_has(const char *s);

/*
 * A core from policy text (after "@PROVIDER_DIR@" substitution) logging
 * at DEBUG into the captured log. NULL on failure, with *rc and detail
 * when given (else the failure is printed).
 */
msgsec_core *msgsec_test_core_logged(const char *text, int *rc, char *detail,
                                     size_t cap);

/* ------------------------------------------------- a pair of sessions */

typedef struct msgsec_test_pair {
    msgsec_session *c, *s;
    int crc, src; /* the first error of each side */
} msgsec_test_pair;

/* Feeds what `from` queued to `to` (dropped when `to` has failed),
 * keeping to's first error in *to_rc. 1 when bytes moved. */
int msgsec_test_shuttle(msgsec_session *from, msgsec_session *to,
                        int *to_rc);

/* A client session of cc (peer_name may be NULL) and a server session of
 * sc on service svc. 0, or the first error. */
int msgsec_test_pair_new(msgsec_test_pair *p, msgsec_core *cc,
                         msgsec_core *sc, const char *svc,
                         const char *peer_name);

/* Moves bytes both ways until nothing moves, waiting (up to 10 s) for a
 * pending side. 0 when both are ESTABLISHED, else -1 (errors in crc and
 * src). */
int msgsec_test_pair_run(msgsec_test_pair *p);

void msgsec_test_pair_free(msgsec_test_pair *p);

/* Bytes an SDK engine connection writes (its write callback, arg being
 * the msgsec_test_wire): appended; MSGSEC_ERR_NOMEM when full. */
typedef struct msgsec_test_wire {
    unsigned char b[16384];
    size_t n;
} msgsec_test_wire;

int msgsec_test_wire_write(void *arg, const void *p, size_t n);

/* --------------------------------------- private directory, emulators */

/* Makes $TMPDIR/msgsec-TAG-XXXXXX into dir, and ignores SIGPIPE (peers
 * such as the emulators may go away). 0 or -1. */
int msgsec_test_mkdir(char *dir, size_t cap, const char *tag);
/* Removes dir and everything in it. 0 or -1. */
int msgsec_test_rmdir(const char *dir);

/*
 * Starts tools/prog ("msgsec-aanf" or "msgsec-seal-km") with args in the
 * first free one of n slots, its log in dir; NULL when none is free or it
 * did not start.
 */
msgsec_test_aanf *msgsec_test_emu_start(msgsec_test_aanf *slots, size_t n,
                                        const char *dir, const char *prog,
                                        const char *const *args);
/* Stops it and removes its log. NULL is ok. */
void msgsec_test_emu_stop(msgsec_test_aanf *e);
/* Lines of the file at path holding s; -1 when it cannot be read. */
int msgsec_test_count_lines(const char *path, const char *s);

#endif
