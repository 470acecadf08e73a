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

#endif
