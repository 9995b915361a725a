/* The library API (include/mcd.h, plugin/api/) with the shipped model: the same results
 * from a file, its pixels and a batch; two detectors in two threads give what one thread
 * gives; every bad argument (NULL, a closed detector, sizes, channel counts, missing and
 * corrupt files) returns -1 or NULL with a message and no crash. Run under ASan/LSan with
 * `make SANITIZE=1 test-unit` (CI runs this suite so). */
#include <math.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "mcd.h"

#include "io/data_lists.h"
#include "io/image_io.h"
#include "test_util.h"
#include "util/mcd_error.h"

#define WEIGHTS "weights/mcd-resnet.weights"
#define N_IMAGES 24

static char cfg[128];          /* the shipped cfg with the small data set's names */
static char *paths[N_IMAGES];  /* 12 Fashion-MNIST, 12 MNIST */

static int setup(void)
{
    if (cfg[0]) return 0;
    snprintf(cfg, sizeof cfg, "/tmp/mcd-api-%d.cfg", (int)getpid());
    char cmd[512], out[256];
    snprintf(cmd, sizeof cmd, "sed 's|^data=.*|data=cfg/fmnist-small.data|' cfg/mcd-resnet.cfg > %s", cfg);
    if (test_run_command(cmd, out, sizeof out)) return -1;
    int n1 = 0, n2 = 0;
    char **id = mcd_read_list("data/fmnist-small/id-test.list", &n1, 0);
    char **ood = mcd_read_list("data/fmnist-small/ood-mnist.list", &n2, 0);
    if (!id || !ood || n1 < N_IMAGES / 2 || n2 < N_IMAGES / 2) return -1;
    for (int i = 0; i < N_IMAGES / 2; ++i) {
        paths[i] = strdup(id[i]);
        paths[N_IMAGES / 2 + i] = strdup(ood[i]);
    }
    mcd_free_list(id, n1);
    mcd_free_list(ood, n2);
    return 0;
}

static void test_api_results(void)
{
    CU_ASSERT_FATAL(setup() == 0);
    CU_ASSERT_EQUAL(strncmp(mcd_version(), "darknet-mcd ", 12), 0);
    mcd_detector *d = mcd_detector_open(cfg, WEIGHTS, NULL);
    CU_ASSERT_PTR_NOT_NULL_FATAL(d);
    mcd_result file[N_IMAGES], batch[N_IMAGES];
    int ood = 0;
    for (int i = 0; i < N_IMAGES; ++i) {
        CU_ASSERT_EQUAL_FATAL(mcd_detector_classify_file(d, paths[i], &file[i]), 0);
        CU_ASSERT_PTR_NOT_NULL(file[i].class_name);
        CU_ASSERT_TRUE(file[i].score >= 0 && file[i].score <= 2);
        CU_ASSERT_EQUAL(file[i].is_ood, file[i].score > file[i].threshold);
        ood += file[i].is_ood;
    }
    /* the shipped model: most Fashion-MNIST images ID, most MNIST digits OOD (it keeps 94.6%
     * of fmnist-small's ID test images and flags 99.6% of its MNIST digits; of these 12 and
     * 12, 9 kept and 12 flagged: at least 8 of each is "most" with room for another model) */
    int id_kept = 0, mnist_flagged = 0;
    for (int i = 0; i < N_IMAGES / 2; ++i) id_kept += !file[i].is_ood, mnist_flagged += file[N_IMAGES / 2 + i].is_ood;
    CU_ASSERT_TRUE(id_kept >= 8 && mnist_flagged >= 8);

    /* a batch: the same classes and verdicts, scores equal to float rounding */
    CU_ASSERT_EQUAL_FATAL(mcd_detector_classify_batch(d, (const char *const *)paths, N_IMAGES, batch), 0);
    for (int i = 0; i < N_IMAGES; ++i) {
        CU_ASSERT_EQUAL(batch[i].class_index, file[i].class_index);
        CU_ASSERT_EQUAL(batch[i].is_ood, file[i].is_ood);
        CU_ASSERT_TRUE(fabsf(batch[i].score - file[i].score) < 1e-4f);
        CU_ASSERT_TRUE(fabsf(batch[i].prob - file[i].prob) < 1e-4f);
    }

    /* pixels: the decoded PNG as HWC bytes, in RGB, grey and RGBA: the file's result */
    image im;
    CU_ASSERT_EQUAL_FATAL(mcd_read_image(paths[0], 0, 0, 3, &im), 0);
    int n = im.w * im.h;
    unsigned char *rgb = malloc((size_t)n * 3), *grey = malloc((size_t)n), *rgba = malloc((size_t)n * 4);
    for (int i = 0; i < n; ++i) {
        for (int k = 0; k < 3; ++k) rgb[3 * i + k] = rgba[4 * i + k] = (unsigned char)lrintf(255 * im.data[k * n + i]);
        rgba[4 * i + 3] = 7; /* alpha: ignored */
        grey[i] = rgb[3 * i];
    }
    mcd_result r;
    const unsigned char *px[3] = {rgb, grey, rgba};
    const int ch[3] = {3, 1, 4};
    for (int k = 0; k < 3; ++k) {
        CU_ASSERT_EQUAL_FATAL(mcd_detector_classify_pixels(d, px[k], im.w, im.h, ch[k], &r), 0);
        CU_ASSERT_EQUAL(r.class_index, file[0].class_index);
        CU_ASSERT_TRUE(fabsf(r.score - file[0].score) < 1e-6f);
    }
    free(rgb);
    free(grey);
    free(rgba);
    free_image(im);

    /* the threshold moves the verdict */
    mcd_detector_set_threshold(d, 2.5f);
    CU_ASSERT_EQUAL(mcd_detector_classify_file(d, paths[N_IMAGES - 1], &r), 0);
    CU_ASSERT_EQUAL(r.is_ood, 0);
    CU_ASSERT_TRUE(r.threshold == 2.5f);
    mcd_detector_close(d);
}

typedef struct worker {
    mcd_detector *d;
    mcd_result r[3][N_IMAGES];
    int failures;
    char error[256];
} worker;

static void *work(void *arg)
{
    worker *w = arg;
    for (int round = 0; round < 3; ++round)
        for (int i = 0; i < N_IMAGES; ++i)
            w->failures += mcd_detector_classify_file(w->d, paths[(i + round) % N_IMAGES], &w->r[round][i]) != 0;
    /* this thread's error is its own */
    mcd_detector_classify_file(w->d, "/nonexistent.png", &w->r[0][0]);
    snprintf(w->error, sizeof w->error, "%s", mcd_last_error());
    w->r[0][0] = w->r[1][N_IMAGES - 1]; /* same image: (N-1+1) % N = 0 */
    return NULL;
}

static void test_api_threads(void)
{
    CU_ASSERT_FATAL(setup() == 0);
    mcd_detector *one = mcd_detector_open(cfg, WEIGHTS, NULL);
    CU_ASSERT_PTR_NOT_NULL_FATAL(one);
    mcd_result alone[N_IMAGES];
    for (int i = 0; i < N_IMAGES; ++i) CU_ASSERT_EQUAL(mcd_detector_classify_file(one, paths[i], &alone[i]), 0);
    mcd_detector_close(one);

    static worker w[2];
    pthread_t t[2];
    for (int k = 0; k < 2; ++k) {
        memset(&w[k], 0, sizeof w[k]);
        w[k].d = mcd_detector_open(cfg, WEIGHTS, NULL);
        CU_ASSERT_PTR_NOT_NULL_FATAL(w[k].d);
    }
    for (int k = 0; k < 2; ++k) CU_ASSERT_EQUAL(pthread_create(&t[k], NULL, work, &w[k]), 0);
    for (int k = 0; k < 2; ++k) pthread_join(t[k], NULL);
    mcd_set_error("main thread's own");
    for (int k = 0; k < 2; ++k) {
        CU_ASSERT_EQUAL(w[k].failures, 0);
        CU_ASSERT_PTR_NOT_NULL(strstr(w[k].error, "/nonexistent.png"));
        int same = 1;
        for (int round = 0; round < 3; ++round)
            for (int i = 0; i < N_IMAGES; ++i) {
                const mcd_result *a = &w[k].r[round][i], *b = &alone[(i + round) % N_IMAGES];
                same &= a->class_index == b->class_index && a->score == b->score && a->is_ood == b->is_ood;
            }
        CU_ASSERT_TRUE(same);
        mcd_detector_close(w[k].d);
    }
    CU_ASSERT_STRING_EQUAL(mcd_last_error(), "main thread's own");
}

/* -1 (or NULL) with a message that holds `word` */
#define REFUSED(call, word)                                                              \
    do {                                                                                 \
        int rc_ = (call);                                                                \
        CU_ASSERT_EQUAL(rc_, -1);                                                        \
        CU_ASSERT_PTR_NOT_NULL(strstr(mcd_last_error(), word));                          \
        if (rc_ != -1 || !strstr(mcd_last_error(), word))                                \
            printf("\n%s: %d, '%s'\n", #call, rc_, mcd_last_error());                    \
    } while (0)

static void test_api_bad_inputs(void)
{
    CU_ASSERT_FATAL(setup() == 0);
    char dir[] = "/tmp/mcd-api-bad-XXXXXX";
    CU_ASSERT_PTR_NOT_NULL_FATAL(mkdtemp(dir));
    const char *garbage_cfg = test_path(dir, "garbage.cfg");
    test_write_text(garbage_cfg, "[net]\nwidth=28\nheight=28\n[convolutional\n");
    const char *short_weights = test_path(dir, "short.weights");
    test_write_text(short_weights, "abc");
    const char *corrupt = test_path(dir, "corrupt.png");
    test_write_text(corrupt, "\x89PNG\r\n\x1a\nnot really");

    CU_ASSERT_PTR_NULL(mcd_detector_open(NULL, WEIGHTS, NULL));
    CU_ASSERT_PTR_NOT_NULL(strstr(mcd_last_error(), "NULL"));
    CU_ASSERT_PTR_NULL(mcd_detector_open(cfg, NULL, NULL));
    CU_ASSERT_PTR_NULL(mcd_detector_open("/nonexistent.cfg", WEIGHTS, ""));
    CU_ASSERT_PTR_NOT_NULL(strstr(mcd_last_error(), "/nonexistent.cfg"));
    CU_ASSERT_PTR_NULL(mcd_detector_open(garbage_cfg, WEIGHTS, ""));
    CU_ASSERT_PTR_NOT_NULL(strstr(mcd_last_error(), "garbage.cfg"));
    CU_ASSERT_PTR_NULL(mcd_detector_open(cfg, short_weights, ""));
    CU_ASSERT_PTR_NOT_NULL(strstr(mcd_last_error(), "short.weights"));
    CU_ASSERT_PTR_NULL(mcd_detector_open(cfg, "/nonexistent.weights", ""));
    CU_ASSERT_PTR_NULL(mcd_detector_open(cfg, WEIGHTS, "/nonexistent.threshold"));
    CU_ASSERT_PTR_NOT_NULL(strstr(mcd_last_error(), "/nonexistent.threshold"));

    mcd_detector *d = mcd_detector_open(cfg, WEIGHTS, ""); /* no threshold yet */
    CU_ASSERT_PTR_NOT_NULL_FATAL(d);
    mcd_result r, rs[2];
    REFUSED(mcd_detector_classify_file(d, paths[0], &r), "threshold");
    mcd_detector_set_threshold(d, NAN);
    CU_ASSERT_PTR_NOT_NULL(strstr(mcd_last_error(), "finite"));
    REFUSED(mcd_detector_classify_file(d, paths[0], &r), "threshold");
    mcd_detector_set_threshold(d, 0.5f);
    CU_ASSERT_EQUAL(mcd_detector_classify_file(d, paths[0], &r), 0);

    REFUSED(mcd_detector_classify_file(NULL, paths[0], &r), "NULL");
    REFUSED(mcd_detector_classify_file(d, NULL, &r), "NULL");
    REFUSED(mcd_detector_classify_file(d, paths[0], NULL), "NULL");
    REFUSED(mcd_detector_classify_file(d, "/nonexistent.png", &r), "/nonexistent.png");
    REFUSED(mcd_detector_classify_file(d, corrupt, &r), "corrupt.png");
    REFUSED(mcd_detector_classify_file(d, dir, &r), dir);

    unsigned char px[16 * 16 * 4] = {0};
    REFUSED(mcd_detector_classify_pixels(d, NULL, 16, 16, 3, &r), "NULL");
    REFUSED(mcd_detector_classify_pixels(d, px, 0, 16, 3, &r), "size");
    REFUSED(mcd_detector_classify_pixels(d, px, 16, -1, 3, &r), "size");
    REFUSED(mcd_detector_classify_pixels(d, px, 1 << 20, 1 << 20, 3, &r), "size");
    REFUSED(mcd_detector_classify_pixels(d, px, 16, 16, 2, &r), "channels");
    REFUSED(mcd_detector_classify_pixels(d, px, 16, 16, 5, &r), "channels");
    REFUSED(mcd_detector_classify_pixels(d, px, 16, 16, 3, NULL), "NULL");
    CU_ASSERT_EQUAL(mcd_detector_classify_pixels(d, px, 16, 16, 4, &r), 0);

    const char *two[2] = {paths[0], "/nonexistent.png"}, *with_null[2] = {paths[0], NULL};
    REFUSED(mcd_detector_classify_batch(d, NULL, 2, rs), "NULL");
    REFUSED(mcd_detector_classify_batch(d, two, 0, rs), "above 0");
    REFUSED(mcd_detector_classify_batch(d, two, -3, rs), "above 0");
    REFUSED(mcd_detector_classify_batch(d, with_null, 2, rs), "paths[1]");
    REFUSED(mcd_detector_classify_batch(d, two, 2, rs), "/nonexistent.png");
    REFUSED(mcd_detector_classify_batch(d, two, 2, NULL), "NULL");
    CU_ASSERT_EQUAL(mcd_detector_classify_batch(d, two, 1, rs), 0); /* still works */

    mcd_detector_close(d);
    /* closed: refused, not used */
    REFUSED(mcd_detector_classify_file(d, paths[0], &r), "not an open detector");
    REFUSED(mcd_detector_classify_pixels(d, px, 16, 16, 3, &r), "not an open detector");
    REFUSED(mcd_detector_classify_batch(d, two, 1, rs), "not an open detector");
    mcd_detector_set_threshold(d, 0.3f);
    CU_ASSERT_PTR_NOT_NULL(strstr(mcd_last_error(), "not an open detector"));
    mcd_detector_close(d);    /* twice: nothing */
    mcd_detector_close(NULL); /* nothing */
    char cmd[128], out[64];
    snprintf(cmd, sizeof cmd, "rm -rf %s", dir);
    test_run_command(cmd, out, sizeof out);
}

static void test_api_cleanup(void)
{
    for (int i = 0; i < N_IMAGES; ++i) free(paths[i]), paths[i] = NULL;
    if (cfg[0]) unlink(cfg);
    cfg[0] = 0;
}

int add_api_suite(void)
{
    CU_pSuite s = test_add_suite("library API");
    if (!s) return -1;
    return !CU_add_test(s, "file, pixels and batch agree; the threshold decides", test_api_results) ||
           !CU_add_test(s, "two detectors in two threads = one thread", test_api_threads) ||
           !CU_add_test(s, "bad arguments: -1 or NULL with a message, no crash", test_api_bad_inputs) ||
           !CU_add_test(s, "cleanup", test_api_cleanup);
}
