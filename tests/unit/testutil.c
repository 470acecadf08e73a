/* testutil.c - helpers shared by the CUnit programs. */
#include "testutil.h"

#include <CUnit/Basic.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <poll.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#define MAX_FILES 256

static char tmpdir[256];
static char *files[MAX_FILES];
static size_t nfiles;

int msgsec_test_main(const char *suite, CU_InitializeFunc init,
                     CU_CleanupFunc cleanup, CU_TestInfo *tests)
{
    CU_SuiteInfo suites[] = {
        {(char *)suite, init, cleanup, NULL, NULL, tests},
        CU_SUITE_INFO_NULL,
    };
    if (CU_initialize_registry() != CUE_SUCCESS)
        return 2;
    if (CU_register_suites(suites) != CUE_SUCCESS) {
        fprintf(stderr, "%s: %s\n", suite, CU_get_error_msg());
        CU_cleanup_registry();
        return 2;
    }
    CU_basic_set_mode(CU_BRM_VERBOSE);
    CU_basic_run_tests();
    unsigned run = CU_get_number_of_tests_run();
    unsigned failed = CU_get_number_of_tests_failed() +
                      CU_get_number_of_suites_failed();
    unsigned afailed = CU_get_number_of_failures();
    CU_cleanup_registry();
    msgsec_test_cleanup_files();
    if (run == 0) {
        fprintf(stderr, "%s: no test ran\n", suite);
        return 1;
    }
    return (failed || afailed) ? 1 : 0;
}

const char *msgsec_test_provider_dir(void)
{
    const char *d = getenv("MSGSEC_TEST_PROVIDER_DIR");
    return d ? d : "tests/providers";
}

const char *msgsec_test_data_dir(void)
{
    const char *d = getenv("MSGSEC_TEST_DATA");
    return d ? d : "tests/data";
}

static int ensure_tmpdir(void)
{
    if (tmpdir[0])
        return 0;
    const char *base = getenv("TMPDIR");
    snprintf(tmpdir, sizeof(tmpdir), "%s/msgsec-test-XXXXXX",
             base ? base : "/tmp");
    if (!mkdtemp(tmpdir)) {
        tmpdir[0] = '\0';
        return -1;
    }
    return 0;
}

const char *msgsec_test_write_policy(const char *text)
{
    if (ensure_tmpdir() < 0 || nfiles >= MAX_FILES)
        return NULL;
    /* Substitute @PROVIDER_DIR@. */
    const char *pd = msgsec_test_provider_dir();
    const char *tok = "@PROVIDER_DIR@";
    size_t cap = strlen(text) + 1, n = 0;
    for (const char *p = strstr(text, tok); p; p = strstr(p + 1, tok))
        cap += strlen(pd);
    char *buf = malloc(cap);
    if (!buf)
        return NULL;
    for (const char *p = text; *p;) {
        if (strncmp(p, tok, strlen(tok)) == 0) {
            memcpy(buf + n, pd, strlen(pd));
            n += strlen(pd);
            p += strlen(tok);
        } else {
            buf[n++] = *p++;
        }
    }
    buf[n] = '\0';

    char path[512];
    snprintf(path, sizeof(path), "%s/policy-%zu.conf", tmpdir, nfiles);
    int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0600);
    if (fd < 0) {
        free(buf);
        return NULL;
    }
    ssize_t w = write(fd, buf, n);
    close(fd);
    free(buf);
    if (w != (ssize_t)n)
        return NULL;
    files[nfiles] = strdup(path);
    return files[nfiles++];
}

void msgsec_test_cleanup_files(void)
{
    for (size_t i = 0; i < nfiles; i++) {
        unlink(files[i]);
        free(files[i]);
    }
    nfiles = 0;
    if (tmpdir[0]) {
        rmdir(tmpdir);
        tmpdir[0] = '\0';
    }
}

msgsec_core *msgsec_test_core(const char *policy_text)
{
    const char *path = msgsec_test_write_policy(policy_text);
    CU_ASSERT_PTR_NOT_NULL_FATAL(path);
    msgsec_core *core = NULL;
    char detail[1024] = "";
    int rc = msgsec_core_new(path, NULL, 0, &core, detail, sizeof(detail));
    if (rc != 0)
        fprintf(stderr, "core: %s: %s\n", msgsec_error_name(rc), detail);
    CU_ASSERT_EQUAL(rc, 0);
    return core;
}

static int move(msgsec_session *from, msgsec_session *to, int *moved)
{
    unsigned char buf[4096];
    size_t n;
    while ((n = msgsec_session_pull(from, buf, sizeof(buf))) > 0) {
        *moved = 1;
        int rc = msgsec_session_feed(to, buf, n);
        if (rc < 0)
            return rc;
    }
    return 0;
}

int msgsec_test_pump(msgsec_session *client, msgsec_session *server)
{
    for (int round = 0; round < 1000; round++) {
        int moved = 0, rc;
        if ((rc = move(client, server, &moved)) < 0)
            return rc;
        if ((rc = move(server, client, &moved)) < 0)
            return rc;
        msgsec_session *both[2] = {client, server};
        for (int i = 0; i < 2; i++) {
            if (msgsec_session_state(both[i]) == MSGSEC_STATE_PENDING) {
                rc = msgsec_session_wait(both[i], 5000);
                if (rc < 0)
                    return rc;
                moved = 1;
            }
        }
        if (msgsec_session_state(client) == MSGSEC_STATE_FAILED ||
            msgsec_session_state(server) == MSGSEC_STATE_FAILED)
            return MSGSEC_ERR_AUTH_FAILED;
        if (!moved)
            break;
    }
    if (msgsec_session_state(client) == MSGSEC_STATE_ESTABLISHED &&
        msgsec_session_state(server) == MSGSEC_STATE_ESTABLISHED)
        return 0;
    return MSGSEC_ERR_STATE;
}

/* Starts tools/<prog> of the build tree; both emulators share the
 * --listen option and the "listening on" announcement. */
static int emulator_start(const char *prog, msgsec_test_aanf *e,
                          const char *log_path, const char *const *args)
{
    const char *bd = getenv("MSGSEC_TEST_BUILDDIR");
    char path[1024];
    snprintf(path, sizeof(path), "%s/tools/%s", bd ? bd : ".", prog);
    char *argv[12] = {path, "--listen", "127.0.0.1:0"};
    int argc = 3;
    for (size_t i = 0; args && args[i] && argc < 11; i++)
        argv[argc++] = (char *)args[i];
    argv[argc] = NULL;

    memset(e, 0, sizeof(*e));
    int lfd = -1, fds[2];
    if (log_path) {
        snprintf(e->log, sizeof(e->log), "%s", log_path);
        lfd = open(log_path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
        if (lfd < 0)
            return -1;
    }
    if (pipe(fds) != 0) {
        if (lfd >= 0)
            close(lfd);
        return -1;
    }
    pid_t pid = fork();
    if (pid < 0) {
        close(fds[0]);
        close(fds[1]);
        if (lfd >= 0)
            close(lfd);
        return -1;
    }
    if (pid == 0) {
        /* Gone with the test, however it ends. */
        prctl(PR_SET_PDEATHSIG, SIGTERM);
        dup2(fds[1], 1);
        if (lfd >= 0)
            dup2(lfd, 2);
        close(fds[0]);
        close(fds[1]);
        execv(path, argv);
        _exit(127);
    }
    e->pid = (int)pid;
    close(fds[1]);
    if (lfd >= 0)
        close(lfd);
    char line[256];
    size_t n = 0;
    while (n < sizeof(line) - 1 && !memchr(line, '\n', n)) {
        struct pollfd p = {.fd = fds[0], .events = POLLIN};
        if (poll(&p, 1, 10000) <= 0)
            break;
        ssize_t r = read(fds[0], line + n, sizeof(line) - 1 - n);
        if (r <= 0)
            break;
        n += (size_t)r;
    }
    line[n] = 0;
    close(fds[0]);
    if (sscanf(line, "listening on 127.0.0.1:%d", &e->port) != 1) {
        fprintf(stderr, "emulator %s did not start: '%s'\n", path, line);
        kill(pid, SIGKILL);
        waitpid(pid, NULL, 0);
        e->pid = 0;
        return -1;
    }
    snprintf(e->root, sizeof(e->root), "http://127.0.0.1:%d", e->port);
    return 0;
}

int msgsec_test_aanf_start(msgsec_test_aanf *e, const char *log_path,
                           const char *const *args)
{
    return emulator_start("msgsec-aanf", e, log_path, args);
}

int msgsec_test_seal_km_start(msgsec_test_aanf *e, const char *log_path,
                              const char *const *args)
{
    return emulator_start("msgsec-seal-km", e, log_path, args);
}

int msgsec_test_aanf_stop(msgsec_test_aanf *e)
{
    if (e->pid <= 0)
        return 0;
    kill(e->pid, SIGTERM);
    int st = 0;
    waitpid(e->pid, &st, 0);
    e->pid = 0;
    return WIFEXITED(st) && WEXITSTATUS(st) == 0;
}
