/* The robustness suites of `make test-robust` (tests/run_tests.c runs them only when
 * TEST_SUITE names them): what a hostile image and a kill -9 can do.
 *
 * "robust: bombs": a 20000x20000 PNG of zeros (400 Mpixel, well under a megabyte) and a
 * PNG whose header claims 100000x100000, through `mcd detect` (refused, the other image
 * still classified, exit 1) and `mcd train` (stops naming list and file), under
 * /usr/bin/time: a refusal takes well under a second and no more memory than reading a
 * 28x28 image (decoded, a 20000x20000 RGB bomb took 54 s and 5.9 GB here).
 *
 * "robust: kill -9": SIGKILL at random moments of `mcd calibrate` (the threshold file is
 * absent, or whole: byte for byte the file of an uninterrupted run) and of `mcd detect
 * -video -out` (the annotated video is absent, or whole when the run had finished); after a
 * SIGINT the video holds exactly the frames that were printed. KILL_SEED fixes the moments;
 * KILLS (default 4) sets how many of each. */
#define _GNU_SOURCE
#include <fcntl.h>
#include <glob.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "darknet.h"
#include "io/annotate.h"
#include "io/image_io.h"
#include "io/video_writer.h"
#include "test_util.h"
#include "util/mcd_error.h"

#define SMALL "data/fmnist-small"
#define GOOD SMALL "/id-test/00001_pullover.png"
#define VIDEO_FRAMES 600

static char dir[64];
static char out[1 << 16];
static unsigned kill_seed;

static const char *path_in(const char *name)
{
    return test_path(dir, name);
}

static double now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return ts.tv_sec + ts.tv_nsec * 1e-9;
}

/* A video of VIDEO_FRAMES 28x28 frames, each a little brighter than the one before. */
static int make_video(const char *path)
{
    mcd_video_writer *vw = mcd_video_writer_open(path, 28, 28, 25);
    if (!vw) return -1;
    int rc = 0;
    for (int i = 0; i < VIDEO_FRAMES && rc == 0; ++i) {
        image im = make_image(28, 28, 3);
        for (int k = 0; k < 28 * 28 * 3; ++k) im.data[k] = (float)((i + k) % 256) / 255;
        mcd_canvas *c = mcd_canvas_plain(im);
        rc = mcd_video_writer_write(vw, c);
        mcd_canvas_free(c);
        free_image(im);
    }
    return mcd_video_writer_close(vw) || rc ? -1 : 0;
}

static int setup(void)
{
    strcpy(dir, "/tmp/mcd-robust-XXXXXX");
    if (!mkdtemp(dir)) return -1;
    const char *seed = getenv("KILL_SEED");
    kill_seed = seed && *seed ? (unsigned)atoi(seed) : (unsigned)time(NULL) ^ (unsigned)getpid();
    srand(kill_seed);
    int rc = test_make_small_network(dir);
    char data[1024];
    snprintf(data, sizeof data, "classes=10\nlabels=" SMALL "/labels.list\nnames=" SMALL
             "/labels.list\nvalid=" SMALL "/id-valid.list\n");
    return rc || test_write_text(path_in("cal.data"), data) || make_video(path_in("in.avi"));
}

static int teardown(void)
{
    char cmd[128];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", dir);
    return system(cmd) != 0;
}

/* --- bombs ------------------------------------------------------------------------------ */

static void test_bombs(void)
{
    double t0 = now();
    CU_ASSERT_EQUAL_FATAL(test_write_zero_png(path_in("bomb_boot.png"), 20000, 20000, 20000), 0);
    CU_ASSERT_EQUAL_FATAL(test_write_zero_png(path_in("claim_boot.png"), 100000, 100000, 0), 0);
    struct stat st;
    stat(path_in("bomb_boot.png"), &st);
    printf("\n    bomb: 20000x20000 in %ld KB (made in %.1f s)", (long)st.st_size / 1024,
           now() - t0);
    /* the refusal alone, in this process */
    t0 = now();
    CU_ASSERT_EQUAL(mcd_check_image_size(path_in("bomb_boot.png"), MCD_DEFAULT_MAX_PIXELS), -1);
    double check = now() - t0;
    CU_ASSERT(check < 0.05);
    /* through the binary: a 28x28 image alone, then with the bomb and the claim before it */
    char cmd[2048];
    double s_ref, s_bomb;
    long rss_ref, rss_bomb;
    snprintf(cmd, sizeof cmd, "%s mcd detect %s %s -thresh 0.5 -data %s %s",
             test_darknet_bin(), path_in("small.cfg"), path_in("small.weights"),
             path_in("cal.data"), GOOD);
    CU_ASSERT_EQUAL(test_run_measured(cmd, out, sizeof out, &s_ref, &rss_ref), 0);
    snprintf(cmd, sizeof cmd, "%s mcd detect %s %s -thresh 0.5 -data %s %s %s %s",
             test_darknet_bin(), path_in("small.cfg"), path_in("small.weights"),
             path_in("cal.data"), path_in("bomb_boot.png"), path_in("claim_boot.png"), GOOD);
    int rc = test_run_measured(cmd, out, sizeof out, &s_bomb, &rss_bomb);
    CU_ASSERT_EQUAL(rc, 1);
    CU_ASSERT_PTR_NOT_NULL(strstr(out, "bomb_boot.png' is 20000x20000"));
    CU_ASSERT_PTR_NOT_NULL(strstr(out, "claim_boot.png' is 100000x100000"));
    CU_ASSERT_PTR_NOT_NULL(strstr(out, "00001_pullover.png: "));
    CU_ASSERT_PTR_NOT_NULL(strstr(out, "darknet: 2 inputs failed"));
    printf("\n    refusal %.1f ms in process; detect: 28x28 alone %.2f s %ld KB, with the bomb "
           "and the claim %.2f s %ld KB", 1e3 * check, s_ref, rss_ref, s_bomb, rss_bomb);
    /* the process's own size (libraries, network) is ~80-100 MB whatever it reads (more
     * under the sanitizers), and moves by up to ~16 MB between runs; the bombs add nothing
     * to it (decoded, the bomb alone would be 4.8 GB) */
    CU_ASSERT(s_bomb >= 0 && s_bomb < s_ref + 1.0);
    CU_ASSERT(rss_bomb > 0 && rss_bomb < rss_ref + 20 * 1024);
    /* training: the bomb in the training list stops the run at the batch that draws it,
     * naming list and file, having saved nothing; at the cost of a run stopped by the
     * claim (a header and nothing to decode) */
    double s_train[2];
    long rss_train[2];
    const char *bad[2] = {"claim_boot.png", "bomb_boot.png"};
    for (int i = 0; i < 2; ++i) {
        char list[600], data[2048];
        snprintf(list, sizeof list, "%s\n", path_in(bad[i]));
        test_write_text(path_in("bad.list"), list);
        snprintf(data, sizeof data, "classes=10\nlabels=" SMALL "/labels.list\ntrain=%s\nvalid="
                 SMALL "/id-valid.list\nunlabeled=" SMALL "/unlabeled.list\n", path_in("bad.list"));
        test_write_text(path_in("bad.data"), data);
        snprintf(cmd, sizeof cmd, "%s mcd train %s -data %s -backup %s -seed 1 "
                 "-pretrain_batches 2 -finetune_batches 1", test_darknet_bin(),
                 path_in("small.cfg"), path_in("bad.data"), path_in("bad-backup"));
        rc = test_run_measured(cmd, out, sizeof out, &s_train[i], &rss_train[i]);
        CU_ASSERT_EQUAL(rc, 1);
        CU_ASSERT_PTR_NOT_NULL(strstr(out, bad[i]));
        CU_ASSERT_PTR_NOT_NULL(strstr(out, i ? "is 20000x20000" : "is 100000x100000"));
        CU_ASSERT_PTR_NOT_NULL(strstr(out, "bad.list"));
        CU_ASSERT_NOT_EQUAL(access(path_in("bad-backup/small.weights"), F_OK), 0);
    }
    CU_ASSERT(rss_train[1] > 0 && rss_train[1] < rss_train[0] + 20 * 1024);
    CU_ASSERT(s_train[1] >= 0 && s_train[1] < s_train[0] + 1.0);
    printf("\n    train stopped by the claim: %.2f s %ld KB, by the bomb: %.2f s %ld KB\n",
           s_train[0], rss_train[0], s_train[1], rss_train[1]);
}

/* --- kill -9 ---------------------------------------------------------------------------- */

static int file_has(const char *path, const char *text);

/* Start `cmd` (run through sh's exec: the process is the binary itself), its stdout to
 * out_file; kill it with `sig` `seconds` after its start (0: let it finish), or after
 * `after` appears in its output when not NULL. Its wait status. */
static int run_and_kill(const char *cmd, const char *out_file, double seconds, int sig,
                        const char *after)
{
    /* emptied before the fork: the wait for `after` must not find the last run's output */
    int fd = open(out_file, O_WRONLY | O_CREAT | O_TRUNC, 0644);
    if (fd < 0) return -1;
    pid_t pid = fork();
    if (pid == 0) {
        int null = open("/dev/null", O_WRONLY);
        if (fd >= 0) dup2(fd, 1);
        if (null >= 0) dup2(null, 2);
        execl("/bin/sh", "sh", "-c", cmd, (char *)NULL);
        _exit(127);
    }
    close(fd);
    if (pid < 0) return -1;
    for (int i = 0; after && i < 6000 && !file_has(out_file, after); ++i) {
        struct timespec ts = {0, 10000000};
        nanosleep(&ts, NULL);
    }
    if (seconds > 0) {
        struct timespec ts = {(time_t)seconds, (long)((seconds - (time_t)seconds) * 1e9)};
        nanosleep(&ts, NULL);
        kill(pid, sig);
    }
    int st;
    waitpid(pid, &st, 0);
    return st;
}

static char *read_whole(const char *path, size_t *n);

static int file_has(const char *path, const char *text)
{
    size_t n;
    char *t = read_whole(path, &n);
    int has = t && strstr(t, text);
    free(t);
    return has;
}

static double random_moment(double longest)
{
    return longest * (0.05 + 0.95 * rand() / (double)RAND_MAX);
}

static char *read_whole(const char *path, size_t *n)
{
    FILE *f = fopen(path, "rb");
    if (!f) return NULL;
    char *b = malloc(1 << 16);
    *n = fread(b, 1, (1 << 16) - 1, f);
    b[*n] = 0;
    fclose(f);
    return b;
}

/* Leftover temporaries: path followed by anything (path.XXXXXX, NAME.partial.avi). */
static int count_matching(const char *pattern)
{
    glob_t g;
    int n = glob(pattern, 0, NULL, &g) == 0 ? (int)g.gl_pathc : 0;
    globfree(&g);
    return n;
}

static int kills(void)
{
    const char *k = getenv("KILLS");
    return k && atoi(k) > 0 ? atoi(k) : 4;
}

static void test_kill_calibrate(void)
{
    char cmd[2048], ref_file[600];
    /* an uninterrupted run, on a copy of the weights: the threshold file to expect */
    snprintf(cmd, sizeof cmd, "cp %s %s && cp %s %s", path_in("small.weights"),
             path_in("ref.weights"), path_in("small.weights"), path_in("w.weights"));
    CU_ASSERT_EQUAL_FATAL(system(cmd), 0);
    snprintf(cmd, sizeof cmd, "exec %s mcd calibrate %s %s -data %s", test_darknet_bin(),
             path_in("small.cfg"), path_in("ref.weights"), path_in("cal.data"));
    double t0 = now();
    CU_ASSERT_EQUAL_FATAL(run_and_kill(cmd, path_in("cal.out"), 0, 0, NULL), 0);
    double full = now() - t0;
    snprintf(ref_file, sizeof ref_file, "%s", path_in("ref.weights.threshold"));
    size_t nref;
    char *ref = read_whole(ref_file, &nref);
    CU_ASSERT_PTR_NOT_NULL_FATAL(ref);
    snprintf(cmd, sizeof cmd, "exec %s mcd calibrate %s %s -data %s", test_darknet_bin(),
             path_in("small.cfg"), path_in("w.weights"), path_in("cal.data"));
    char thr[600]; /* path_in's buffers are reused */
    snprintf(thr, sizeof thr, "%s", path_in("w.weights.threshold"));
    printf("\n    KILL_SEED=%u; calibrate takes %.2f s; killed at", kill_seed, full);
    /* first with no threshold file yet, then (after one whole run) over an existing one */
    for (int round = 0; round < 2; ++round) {
        if (round == 1) CU_ASSERT_EQUAL(run_and_kill(cmd, path_in("cal.out"), 0, 0, NULL), 0);
        for (int k = 0; k < kills(); ++k) {
            double at = random_moment(full * 1.2);
            printf(" %.2f", at);
            run_and_kill(cmd, path_in("cal.out"), at, SIGKILL, NULL);
            size_t n;
            char *got = read_whole(thr, &n);
            /* absent (the first round only), or whole: the uninterrupted run's bytes */
            int ok = got ? n == nref && memcmp(got, ref, n) == 0 : round == 0;
            if (!ok) printf("\n    after a kill at %.2f s: %s\n%s", at, got ? "a different file:" : "absent", got ? got : "");
            CU_ASSERT(ok);
            free(got);
        }
    }
    char pattern[640];
    snprintf(pattern, sizeof pattern, "%s.*", thr);
    printf(" s; temporaries left: %d\n", count_matching(pattern));
    free(ref);
}

/* Frames printed by detect (its stdout lines "frame N ..."). */
static int printed_frames(const char *path)
{
    size_t n;
    char *t = read_whole(path, &n);
    int count = 0;
    for (char *p = t; p && (p = strstr(p, "frame ")); ++p)
        if (p == t || p[-1] == '\n') ++count;
    free(t);
    return count;
}

static void test_kill_video(void)
{
    char cmd[2048];
    char video[600]; /* path_in's buffers are reused */
    snprintf(video, sizeof video, "%s", path_in("out.avi"));
    snprintf(cmd, sizeof cmd, "exec %s mcd detect %s %s -thresh 0.5 -data %s -video %s "
             "-nodisplay -out %s", test_darknet_bin(), path_in("small.cfg"),
             path_in("small.weights"), path_in("cal.data"), path_in("in.avi"), video);
    double t0 = now();
    CU_ASSERT_EQUAL_FATAL(run_and_kill(cmd, path_in("video.out"), 0, 0, NULL), 0);
    double full = now() - t0;
    int frames = 0, w, h;
    double fps;
    CU_ASSERT_EQUAL(mcd_video_probe(video, &frames, &w, &h, &fps), 0);
    CU_ASSERT_EQUAL(frames, VIDEO_FRAMES);
    printf("\n    detect -video -out takes %.2f s; killed at", full);
    for (int k = 0; k < kills(); ++k) {
        unlink(video);
        double at = random_moment(full);
        printf(" %.2f", at);
        int st = run_and_kill(cmd, path_in("video.out"), at, SIGKILL, NULL);
        int finished = WIFEXITED(st) && WEXITSTATUS(st) == 0;
        frames = -1;
        int present = access(video, F_OK) == 0;
        if (present) mcd_video_probe(video, &frames, &w, &h, &fps);
        /* absent, or (when the run had finished before the kill) every frame */
        int ok = present ? finished && frames == VIDEO_FRAMES : !finished;
        if (!ok) printf("\n    after a kill at %.2f s: %s, %d frames\n", at,
                        present ? "present" : "absent", frames);
        CU_ASSERT(ok);
    }
    /* a polite stop, once frames flow: the video holds exactly the frames that were printed */
    unlink(video);
    double at = random_moment(full * 0.5);
    int st = run_and_kill(cmd, path_in("video.out"), at, SIGINT, "frame 0 ");
    int printed = printed_frames(path_in("video.out"));
    frames = -1;
    CU_ASSERT_EQUAL(mcd_video_probe(video, &frames, &w, &h, &fps), 0);
    printf("; SIGINT %.2f s after frame 0: exit %d, %d frames printed, %d in the video\n", at,
           WIFEXITED(st) ? WEXITSTATUS(st) : -1, printed, frames);
    CU_ASSERT(printed > 0 && frames == printed);
}

int add_robust_suites(void)
{
    CU_pSuite b = CU_add_suite("robust: bombs", setup, teardown);
    CU_pSuite k = CU_add_suite("robust: kill -9", setup, teardown);
    if (!b || !k) return -1;
    return !CU_add_test(b, "a 20000x20000 bomb and a 100000x100000 claim: refused at once",
                        test_bombs) ||
           !CU_add_test(k, "kill -9 during calibrate: the threshold file whole or absent",
                        test_kill_calibrate) ||
           !CU_add_test(k, "kill -9 during detect -video -out: the video whole or absent",
                        test_kill_video);
}
