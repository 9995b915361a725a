/* The small helpers of plugin/util/: mcd_make_dirs (nested, existing, a file in the way, an
 * unwritable parent), mcd_base_name (extension removed only at the end, truncation), the
 * monotonic clock, and the stop signal (the flag, the signal's number, a second signal
 * ending the process, a new install clearing the flag). Signals are raised in child
 * processes, so the test runner keeps its own handlers. */
#define _GNU_SOURCE
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "test_util.h"
#include "util/file_paths.h"
#include "util/mcd_error.h"
#include "util/stop_signal.h"
#include "util/wall_clock.h"

static char dir[64];

static int setup(void)
{
    strcpy(dir, "/tmp/mcd-util-XXXXXX");
    return mkdtemp(dir) ? 0 : -1;
}

static int teardown(void)
{
    char cmd[128];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", dir);
    return system(cmd) == 0 ? 0 : -1;
}

static int is_dir(const char *path)
{
    struct stat st;
    return stat(path, &st) == 0 && S_ISDIR(st.st_mode);
}

static void test_make_dirs(void)
{
    const char *deep = test_path(dir, "a/b/c");
    CU_ASSERT_EQUAL(mcd_make_dirs(deep), 0);
    CU_ASSERT(is_dir(deep));
    CU_ASSERT_EQUAL(mcd_make_dirs(deep), 0); /* already there */
    CU_ASSERT_EQUAL(mcd_make_dirs(test_path(dir, "a/b/d/")), 0); /* a trailing slash */
    CU_ASSERT(is_dir(test_path(dir, "a/b/d")));

    /* a file where a directory should be: at the end, and in the middle */
    CU_ASSERT_EQUAL_FATAL(test_write_text(test_path(dir, "file"), "x\n"), 0);
    CU_ASSERT_EQUAL(mcd_make_dirs(test_path(dir, "file")), -1);
    CU_ASSERT_PTR_NOT_NULL(strstr(mcd_last_error(), "file' exists and is not a directory"));
    CU_ASSERT_EQUAL(mcd_make_dirs(test_path(dir, "file/sub")), -1);
    CU_ASSERT_PTR_NOT_NULL(strstr(mcd_last_error(), "cannot create directory"));
    CU_ASSERT_PTR_NOT_NULL(strstr(mcd_last_error(), "file/sub'"));

    CU_ASSERT_EQUAL(mcd_make_dirs(""), -1);
    CU_ASSERT_PTR_NOT_NULL(strstr(mcd_last_error(), "empty"));
}

static void check_base(const char *path, const char *ext, size_t n, const char *want)
{
    char out[64];
    memset(out, '#', sizeof out);
    mcd_base_name(path, ext, out, n);
    CU_ASSERT_STRING_EQUAL(out, want);
    if (strcmp(out, want)) printf("\nmcd_base_name(\"%s\", \"%s\", %zu) = \"%s\", want \"%s\"\n",
                                  path, ext ? ext : "(null)", n, out, want);
}

static void test_base_name(void)
{
    check_base("cfg/mcd-small.cfg", ".cfg", 64, "mcd-small");
    check_base("mcd-small.cfg", ".cfg", 64, "mcd-small");
    check_base("/a/b.c/mcd.v2.cfg", ".cfg", 64, "mcd.v2");
    check_base("cfg/mcd.cfg.bak", ".cfg", 64, "mcd.cfg.bak"); /* only at the end */
    check_base("cfg/mcd-small.cfg", NULL, 64, "mcd-small.cfg");
    check_base("cfg/mcd-small.cfg", ".weights", 64, "mcd-small.cfg");
    check_base("video/clip.mp4", "", 64, "clip.mp4");
    check_base("dir/", ".cfg", 64, "");
    check_base("cfg/mcd-small.cfg", ".cfg", 4, "mcd"); /* cut to fit */
}

static void test_now_seconds(void)
{
    double t0 = mcd_now_seconds();
    struct timespec pause = {0, 20 * 1000 * 1000};
    nanosleep(&pause, NULL);
    double dt = mcd_now_seconds() - t0;
    CU_ASSERT(dt >= 0.019 && dt < 5);
}

/* In a child: install (second_ends), raise `first`, exit with what mcd_stop_signal() saw
 * (0 before); with `again`, raise `again` too first (which, with second_ends, should end
 * the child). */
static int child_status(int second_ends, int first, int again)
{
    pid_t pid = fork();
    if (pid == 0) {
        mcd_stop_signal_install(second_ends);
        if (mcd_stop_signal() != 0) _exit(100);
        raise(first);
        int got = mcd_stop_signal();
        if (again) raise(again);
        mcd_stop_signal_install(second_ends); /* cleared for a new loop */
        if (mcd_stop_signal() != 0) _exit(101);
        _exit(got);
    }
    int st;
    if (pid < 0 || waitpid(pid, &st, 0) != pid) return -1;
    return st;
}

static void test_stop_signal(void)
{
    for (int second_ends = 0; second_ends <= 1; ++second_ends) {
        int st = child_status(second_ends, SIGINT, 0);
        CU_ASSERT(WIFEXITED(st) && WEXITSTATUS(st) == SIGINT);
        st = child_status(second_ends, SIGTERM, 0);
        CU_ASSERT(WIFEXITED(st) && WEXITSTATUS(st) == SIGTERM);
    }
    /* a video's second Ctrl-C has its default action: the process ends by it */
    int st = child_status(1, SIGINT, SIGINT);
    CU_ASSERT(WIFSIGNALED(st) && WTERMSIG(st) == SIGINT);
    /* the trainer's is caught like the first (SIGTERM after SIGINT too): the save goes on */
    st = child_status(0, SIGINT, SIGINT);
    CU_ASSERT(WIFEXITED(st) && WEXITSTATUS(st) == SIGINT);
    st = child_status(0, SIGINT, SIGTERM);
    CU_ASSERT(WIFEXITED(st) && WEXITSTATUS(st) == SIGINT);
}

int add_util_helpers_suite(void)
{
    CU_pSuite s = CU_add_suite("util helpers", setup, teardown);
    if (!s || !CU_add_test(s, "mcd_make_dirs", test_make_dirs) ||
        !CU_add_test(s, "mcd_base_name", test_base_name) ||
        !CU_add_test(s, "mcd_now_seconds", test_now_seconds) ||
        !CU_add_test(s, "stop signal", test_stop_signal))
        return -1;
    return 0;
}
