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

#endif
