/* testutil.c - helpers shared by the CUnit programs. */
#include "testutil.h"

#include <CUnit/Basic.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <poll.h>
#include <pthread.h>
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

/* ------------------------------------------------------ captured log */

static pthread_mutex_t log_mu = PTHREAD_MUTEX_INITIALIZER;
static char logbuf[65536];
static size_t loglen;

void msgsec_test_log_hook(void *user, int level, const char *line)
{
    (void)user;
    (void)level;
    pthread_mutex_lock(&log_mu);
    size_t n = strlen(line);
    if (loglen + n + 2 < sizeof(logbuf)) {
        memcpy(logbuf + loglen, line, n);
        loglen += n;
        logbuf[loglen++] = '\n';
        logbuf[loglen] = 0;
    }
    pthread_mutex_unlock(&log_mu);
}

int msgsec_test_log_has(const char *s)
{
    pthread_mutex_lock(&log_mu);
    int r = strstr(logbuf, s) != NULL;
    pthread_mutex_unlock(&log_mu);
    return r;
}

msgsec_core *msgsec_test_core_logged(const char *text, int *rc, char *detail,
                                     size_t cap)
{
    const char *path = msgsec_test_write_policy(text);
    msgsec_hooks h = {.size = sizeof(h),
                      .log = msgsec_test_log_hook,
                      .log_level = MSGSEC_LOG_DEBUG};
    msgsec_core *c = NULL;
    char d[1024] = "";
    int r = path ? msgsec_core_new(path, &h, 0, &c, d, sizeof(d))
                 : MSGSEC_ERR_INTERNAL;
    if (rc)
        *rc = r;
    if (detail)
        snprintf(detail, cap, "%s", d);
    else if (r != 0)
        fprintf(stderr, "core: %s: %s\n", msgsec_error_name(r), d);
    return c;
}

/* ------------------------------------------------- a pair of sessions */

int msgsec_test_shuttle(msgsec_session *from, msgsec_session *to,
                        int *to_rc)
{
    unsigned char buf[8192];
    size_t n;
    int moved = 0;
    while ((n = msgsec_session_pull(from, buf, sizeof(buf))) > 0) {
        moved = 1;
        if (msgsec_session_state(to) == MSGSEC_STATE_FAILED)
            continue;
        int rc = msgsec_session_feed(to, buf, n);
        if (rc < 0 && !*to_rc)
            *to_rc = rc;
    }
    return moved;
}

int msgsec_test_pair_new(msgsec_test_pair *p, msgsec_core *cc,
                         msgsec_core *sc, const char *svc,
                         const char *peer_name)
{
    memset(p, 0, sizeof(*p));
    msgsec_session_config cfg = {.size = sizeof(cfg), .peer_name = peer_name};
    int rc = msgsec_session_new(cc, svc, MSGSEC_ROLE_CLIENT, &cfg, &p->c);
    if (rc == 0)
        rc = msgsec_session_new(sc, svc, MSGSEC_ROLE_SERVER, NULL, &p->s);
    return rc;
}

/* Waits for a pending side, keeping its error. 1 when it was pending. */
static int settle(msgsec_session *s, int *rc)
{
    if (msgsec_session_state(s) != MSGSEC_STATE_PENDING)
        return 0;
    int r = msgsec_session_wait(s, 10000);
    if (r < 0 && !*rc)
        *rc = r;
    return 1;
}

int msgsec_test_pair_run(msgsec_test_pair *p)
{
    for (int round = 0; round < 200; round++) {
        int moved = settle(p->c, &p->crc);
        moved |= msgsec_test_shuttle(p->c, p->s, &p->src);
        moved |= settle(p->s, &p->src);
        moved |= msgsec_test_shuttle(p->s, p->c, &p->crc);
        if (!moved)
            break;
    }
    return msgsec_session_state(p->c) == MSGSEC_STATE_ESTABLISHED &&
                   msgsec_session_state(p->s) == MSGSEC_STATE_ESTABLISHED
               ? 0
               : -1;
}

void msgsec_test_pair_free(msgsec_test_pair *p)
{
    msgsec_session_free(p->c);
    msgsec_session_free(p->s);
    p->c = p->s = NULL;
}

int msgsec_test_wire_write(void *arg, const void *p, size_t n)
{
    msgsec_test_wire *w = arg;
    if (w->n + n > sizeof(w->b))
        return MSGSEC_ERR_NOMEM;
    memcpy(w->b + w->n, p, n);
    w->n += n;
    return 0;
}

/* --------------------------------------- private directory, emulators */

int msgsec_test_mkdir(char *dir, size_t cap, const char *tag)
{
    signal(SIGPIPE, SIG_IGN);
    const char *base = getenv("TMPDIR");
    snprintf(dir, cap, "%s/msgsec-%s-XXXXXX", base ? base : "/tmp", tag);
    if (!mkdtemp(dir)) {
        dir[0] = '\0';
        return -1;
    }
    return 0;
}

int msgsec_test_rmdir(const char *dir)
{
    if (!dir[0])
        return 0;
    pid_t pid = fork();
    if (pid < 0)
        return -1;
    if (pid == 0) {
        execlp("rm", "rm", "-rf", "--", dir, (char *)NULL);
        _exit(127);
    }
    int st = 0;
    waitpid(pid, &st, 0);
    return WIFEXITED(st) && WEXITSTATUS(st) == 0 ? 0 : -1;
}

msgsec_test_aanf *msgsec_test_emu_start(msgsec_test_aanf *slots, size_t n,
                                        const char *dir, const char *prog,
                                        const char *const *args)
{
    static int seq;
    msgsec_test_aanf *e = NULL;
    for (size_t i = 0; i < n && !e; i++)
        if (slots[i].pid == 0)
            e = &slots[i];
    if (!e)
        return NULL;
    char log[512];
    snprintf(log, sizeof(log), "%s/%s-%d.log", dir, prog, seq++);
    return emulator_start(prog, e, log, args) == 0 ? e : NULL;
}

void msgsec_test_emu_stop(msgsec_test_aanf *e)
{
    if (!e || e->pid <= 0)
        return;
    msgsec_test_aanf_stop(e);
    unlink(e->log);
}

int msgsec_test_count_lines(const char *path, const char *s)
{
    FILE *f = fopen(path, "r");
    if (!f)
        return -1;
    char line[2048];
    int n = 0;
    while (fgets(line, sizeof(line), f))
        n += strstr(line, s) != NULL;
    fclose(f);
    return n;
}
