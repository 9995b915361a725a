/* `darknet mcd train` through the binary on a tiny synthetic data set: the schedule runs to
 * the end and writes every checkpoint; a checkpoint resumes where it stopped; SIGTERM saves
 * and exits 143; a diverging loss stops with a message and leaves the last good checkpoint
 * alone; bad data gets an error naming the file (and line) and exit status 1; the health
 * check is recorded and `mcd valid` prints it; -retries keeps a failed run and trains
 * again with the next seed. */
#define _GNU_SOURCE
#include <math.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "darknet.h"
#include "util/mcd_error.h"
#include "test_util.h"
#include "ood/threshold_file.h"
#include "train/training_health.h"
#include "train/weight_average.h"
#include "network/weights_file.h"

static const char *labels[] = {"alpha", "beta", "gamma"};
static char dir[64];
static char out[1 << 16];

static const char *path_in(const char *name)
{
    return test_path(dir, name);
}

static int write_text(const char *name, const char *text)
{
    return test_write_text(path_in(name), text);
}

/* Class c: a bright horizontal band in third c of the image; OOD: noise. */
static void write_png(const char *stem, int cls, unsigned seed)
{
    image im = make_image(12, 12, 3);
    srand(seed);
    for (int y = 0; y < 12; ++y)
        for (int x = 0; x < 12; ++x) {
            float v = cls >= 0 ? (y / 4 == cls ? 0.9f : 0.1f) : (float)rand() / RAND_MAX;
            for (int ch = 0; ch < 3; ++ch) im.data[ch * 144 + y * 12 + x] = v;
        }
    save_image_options(im, path_in(stem), PNG, 0); /* appends .png */
    free_image(im);
}

/* n labeled images per class (file names carry the label) into a list file. */
static void write_labeled(const char *list, const char *prefix, int n, unsigned seed)
{
    FILE *f = fopen(path_in(list), "w");
    for (int i = 0; i < 3 * n; ++i) {
        char stem[128];
        snprintf(stem, sizeof stem, "img/%s%03d_%s", prefix, i, labels[i % 3]);
        write_png(stem, i % 3, seed + i);
        fprintf(f, "%s.png\n", path_in(stem));
    }
    fclose(f);
}

static void write_cfg(const char *name, const char *extra)
{
    char text[2048];
    snprintf(text, sizeof text,
             "[net]\nbatch=8\nheight=12\nwidth=12\nchannels=3\nlearning_rate=0.05\n"
             "momentum=0.9\ndecay=0.0005\nmax_batches=30\nmin_crop=12\nmax_crop=12\n"
             "finetune_batches=20\ncheckpoint_interval=10\nselect_interval=5\n"
             "select_images=30\nselect_holdout=10\nlog_interval=5\n%s\n"
             "[convolutional]\nbatch_normalize=1\nfilters=4\nsize=3\npad=1\nactivation=leaky\n"
             "[avgpool]\n[mcd_split]\n[connected]\noutput=3\nactivation=linear\n[softmax]\n"
             "[mcd_discrepancy]\n[mcd_l1]\n",
             extra);
    write_text(name, text);
}

static int setup(void)
{
    strcpy(dir, "/tmp/mcd-train-XXXXXX");
    if (!mkdtemp(dir) || mkdir(path_in("img"), 0777)) return -1;
    write_labeled("train.list", "t", 20, 1);
    write_labeled("valid.list", "v", 10, 1000);
    FILE *f = fopen(path_in("unlabeled.list"), "w"), *noise = fopen(path_in("noise.list"), "w");
    for (int i = 0; i < 40; ++i) { /* half ID (no label in the name), half noise */
        char stem[64];
        snprintf(stem, sizeof stem, "img/u%03d", i);
        write_png(stem, i % 2 ? -1 : (i / 2) % 3, 2000 + i);
        fprintf(f, "%s.png\n", path_in(stem));
        if (i % 2) fprintf(noise, "%s.png\n", path_in(stem));
    }
    fclose(f);
    fclose(noise);
    write_text("labels.list", "alpha\nbeta\ngamma\n");
    char data[1024];
    snprintf(data, sizeof data, "classes=3\ntrain=%s\nvalid=%s\nlabels=%s\nunlabeled=%s\nbackup=%s\n",
             path_in("train.list"), path_in("valid.list"), path_in("labels.list"),
             path_in("unlabeled.list"), path_in("backup"));
    write_text("tiny.data", data);
    snprintf(data, sizeof data, "classes=3\nid_test=%s\nood=%s\nlabels=%s\n",
             path_in("valid.list"), path_in("noise.list"), path_in("labels.list"));
    write_text("eval.data", data);
    write_cfg("tiny.cfg", "");
    return 0;
}

static int teardown(void)
{
    char cmd[128];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", dir);
    return system(cmd) == 0 ? 0 : -1;
}

static int train(const char *args)
{
    char cmd[2048];
    snprintf(cmd, sizeof cmd, "%s mcd train %s -data %s -seed 3 %s", test_darknet_bin(),
             path_in("tiny.cfg"), path_in("tiny.data"), args);
    int rc = test_run_command(cmd, out, sizeof out);
    return rc;
}

static size_t seen_of(const char *weights)
{
    FILE *f = fopen(weights, "rb");
    if (!f) return (size_t)-1;
    int header[3];
    size_t seen = (size_t)-1;
    if (fread(header, sizeof(int), 3, f) != 3 || fread(&seen, sizeof seen, 1, f) != 1)
        seen = (size_t)-1;
    fclose(f);
    return seen;
}

static void test_full_schedule(void)
{
    int rc = train("");
    if (rc) printf("\n%s\n", out);
    CU_ASSERT_EQUAL_FATAL(rc, 0);
    static const char *files[] = {"tiny.weights", "tiny_pretrain.weights", "tiny_final.weights",
                                  "tiny_best.weights", "tiny_train.csv", "tiny_select.csv"};
    char p[600];
    for (size_t i = 0; i < sizeof files / sizeof files[0]; ++i) {
        snprintf(p, sizeof p, "backup/%s", files[i]);
        CU_ASSERT_EQUAL(access(path_in(p), R_OK), 0);
    }
    /* 30 pre-training batches + 20 fine-tuning iterations, 8 images each */
    CU_ASSERT_EQUAL(seen_of(path_in("backup/tiny_final.weights")), 50 * 8);
    CU_ASSERT_EQUAL(seen_of(path_in("backup/tiny_pretrain.weights")), 30 * 8);
    CU_ASSERT_PTR_NOT_NULL(strstr(out, "pretrain"));
    CU_ASSERT_PTR_NOT_NULL(strstr(out, "finetune"));
    CU_ASSERT_PTR_NOT_NULL(strstr(out, "L_u"));
    CU_ASSERT_PTR_NOT_NULL(strstr(out, "training complete"));
    /* nothing half-written is left behind */
    CU_ASSERT_NOT_EQUAL(access(path_in("backup/tiny.weights.tmp"), F_OK), 0);
}

static void test_resume(void)
{
    /* from the pre-training checkpoint: fine-tuning only, counted from iteration 0 */
    char args[700];
    snprintf(args, sizeof args, "%s -backup %s", path_in("backup/tiny_pretrain.weights"),
             path_in("resumed"));
    int rc = train(args);
    if (rc) printf("\n%s\n", out);
    CU_ASSERT_EQUAL_FATAL(rc, 0);
    CU_ASSERT_PTR_NULL(strstr(out, "pretrain "));
    CU_ASSERT_PTR_NOT_NULL(strstr(out, "fine-tuning: iterations 0 to 20"));
    CU_ASSERT_EQUAL(seen_of(path_in("resumed/tiny_final.weights")), 50 * 8);
}

/* select_tpr sets the ID share the choice's threshold keeps: the threshold printed for the
 * pre-trained network is `mcd calibrate -tpr` of the same weights on the same images
 * (select_images covers the 30 validation images). The tiny network scores the 10 images of a
 * class alike, so 0.5 and the default 0.95 give different thresholds, 0.9 and 0.95 would not. */
static void test_select_tpr(void)
{
    write_cfg("tpr.cfg", "select_tpr=0.5");
    char cmd[2048];
    snprintf(cmd, sizeof cmd, "%s mcd train %s %s -data %s -seed 3 -backup %s -finetune_batches 5",
             test_darknet_bin(), path_in("tpr.cfg"), path_in("backup/tiny_pretrain.weights"),
             path_in("tiny.data"), path_in("tpr"));
    int rc = test_run_command(cmd, out, sizeof out);
    if (rc) printf("\n%s\n", out);
    CU_ASSERT_EQUAL_FATAL(rc, 0);
    const char *at = strstr(out, "pre-trained network: ");
    CU_ASSERT_PTR_NOT_NULL_FATAL(at);
    at = strstr(at, "L1 threshold@50%TPR ");
    CU_ASSERT_PTR_NOT_NULL_FATAL(at);
    double printed = -1;
    CU_ASSERT_EQUAL_FATAL(sscanf(at, "L1 threshold@50%%TPR %lf", &printed), 1);
    mcd_threshold t[2];
    const char *tpr[2] = {"0.5", "0.95"};
    for (int i = 0; i < 2; ++i) {
        snprintf(cmd, sizeof cmd, "%s mcd calibrate %s %s -data %s -tpr %s", test_darknet_bin(),
                 path_in("tpr.cfg"), path_in("backup/tiny_pretrain.weights"),
                 path_in("tiny.data"), tpr[i]);
        CU_ASSERT_EQUAL_FATAL(test_run_command(cmd, out, sizeof out), 0);
        CU_ASSERT_EQUAL_FATAL(
            mcd_threshold_load(path_in("backup/tiny_pretrain.weights.threshold"), &t[i]), 0);
    }
    /* printed with 4 decimals */
    CU_ASSERT_DOUBLE_EQUAL(printed, t[0].threshold, 6e-5);
    CU_ASSERT(fabs(t[0].threshold - t[1].threshold) > 1e-3);
    remove(path_in("backup/tiny_pretrain.weights.threshold"));
}

/* A run killed while writing: its log's cut last line is dropped and its temporary files
 * removed when training starts again in that directory. */
static void test_killed_run_leftovers(void)
{
    CU_ASSERT_EQUAL_FATAL(mkdir(path_in("killed"), 0777), 0);
    write_text("killed/tiny_train.csv", "phase,batch,ce1,ce2,l_u,h1,h2,acc1,lr,images_per_s\n"
                                        "pretrain,5,1.0,1.0,,,,0.5,0.05,100\npretrain,10,0.9");
    write_text("killed/tiny.weights.tmp", "half a checkpoint");
    write_text("killed/tiny_best.state.tmp", "best_sel");
    char args[700];
    snprintf(args, sizeof args, "%s -backup %s", path_in("backup/tiny_pretrain.weights"),
             path_in("killed"));
    int rc = train(args);
    if (rc) printf("\n%s\n", out);
    CU_ASSERT_EQUAL_FATAL(rc, 0);
    CU_ASSERT_NOT_EQUAL(access(path_in("killed/tiny.weights.tmp"), F_OK), 0);
    CU_ASSERT_NOT_EQUAL(access(path_in("killed/tiny_best.state.tmp"), F_OK), 0);
    char csv[1 << 14] = {0};
    FILE *f = fopen(path_in("killed/tiny_train.csv"), "r");
    CU_ASSERT_PTR_NOT_NULL_FATAL(f);
    size_t n = fread(csv, 1, sizeof csv - 1, f);
    fclose(f);
    CU_ASSERT_PTR_NULL(strstr(csv, "pretrain,10,0.9\n"));  /* the cut line is gone */
    CU_ASSERT_PTR_NOT_NULL(strstr(csv, "pretrain,5,1.0,1.0,,,,0.5,0.05,100\nfinetune,"));
    CU_ASSERT(n > 0 && csv[n - 1] == '\n');
}

static void test_trunk_from_weights(void)
{
    /* the trunk (layers before [mcd_split]) from another run's weights; the schedule
     * starts from batch 0 */
    char args[900];
    snprintf(args, sizeof args, "-trunk %s -pretrain_batches 2 -finetune_batches 0 -backup %s",
             path_in("backup/tiny_final.weights"), path_in("trunk"));
    int rc = train(args);
    if (rc) printf("\n%s\n", out);
    CU_ASSERT_EQUAL(rc, 0);
    CU_ASSERT_PTR_NOT_NULL(strstr(out, "loaded layers 0-1 of"));
    CU_ASSERT_EQUAL(seen_of(path_in("trunk/tiny_pretrain.weights")), 2 * 8);
    /* more layers than the trunk has, or a file too short for them: errors */
    snprintf(args, sizeof args, "-trunk %s -trunk_layers 5", path_in("backup/tiny_final.weights"));
    CU_ASSERT_EQUAL(train(args), 1);
    CU_ASSERT_PTR_NOT_NULL(strstr(out, "-trunk_layers 5"));
    snprintf(args, sizeof args, "-trunk %s", path_in("labels.list"));
    CU_ASSERT_EQUAL(train(args), 1);
    CU_ASSERT_PTR_NOT_NULL(strstr(out, "labels.list"));
}

/* The numbers of a weights file (after its 20-byte header); their count in *n. */
static float *weights_floats(const char *name, long *n)
{
    FILE *f = fopen(path_in(name), "rb");
    if (!f) return NULL;
    fseek(f, 0, SEEK_END);
    *n = (ftell(f) - 20) / (long)sizeof(float);
    float *x = malloc(*n * sizeof(float));
    fseek(f, 20, SEEK_SET);
    if (fread(x, sizeof(float), *n, f) != (size_t)*n) *n = -1;
    fclose(f);
    return x;
}

/* Whether weights file `mean` holds the element-wise mean of the k files in `parts` (and
 * is not simply a copy of the last one). */
static int is_mean_of(const char *mean, const char **parts, int k)
{
    long n = 0, m = 0;
    float *avg = weights_floats(mean, &n), *x[4] = {0};
    int ok = avg && n > 0, differs = 0;
    for (int i = 0; i < k && ok; ++i) ok = (x[i] = weights_floats(parts[i], &m)) && m == n;
    for (long j = 0; ok && j < n; ++j) {
        double sum = 0;
        for (int i = 0; i < k; ++i) sum += x[i][j];
        ok = fabs(avg[j] - sum / k) <= 1e-5 * (1 + fabs(sum / k));
        differs |= avg[j] != x[k - 1][j];
    }
    free(avg);
    for (int i = 0; i < k; ++i) free(x[i]);
    return ok && differs;
}

static int train_avg(const char *weights, const char *backup, int iterations)
{
    char cmd[2048];
    snprintf(cmd, sizeof cmd, "%s mcd train %s %s -data %s -seed 3 -backup %s "
             "-finetune_batches %d", test_darknet_bin(), path_in("avg.cfg"), path_in(weights),
             path_in("tiny.data"), path_in(backup), iterations);
    return test_run_command(cmd, out, sizeof out);
}

/* finetune_average=1: BASE_best.weights is the mean of the networks at iterations 5, 10, 15
 * and 20 (select_interval=5). A run draws the same batches whatever its length and the
 * learning rate is constant, so the network at iteration k is BASE_final.weights of a run
 * of k iterations: the mean is computed here from four such runs. A run resumed at
 * iteration 10 reads the mean so far back (here from the .prev file a crash can leave) and
 * refuses to go on without the right one. */
static void test_weight_average(void)
{
    /* 10 held-out images: the margin is 0.32, the verdict little-ood, and the pre-trained
     * network would be kept; this test is about the mean */
    write_cfg("avg.cfg", "finetune_average=1\nno_ood_keep_pretrained=0");
    static const char *dirs[] = {"avg5", "avg10", "avg15", "avg20"};
    for (int i = 0; i < 4; ++i) {
        int rc = train_avg("backup/tiny_pretrain.weights", dirs[i], 5 * (i + 1));
        if (rc) printf("\n%s\n", out);
        CU_ASSERT_EQUAL_FATAL(rc, 0);
    }
    CU_ASSERT_PTR_NOT_NULL(strstr(out, "average  of 4 networks"));
    CU_ASSERT_EQUAL(seen_of(path_in("avg20/avg_best.weights")), 50 * 8);
    const char *nets[] = {"avg5/avg_final.weights", "avg10/avg_final.weights",
                          "avg15/avg_final.weights", "avg20/avg_final.weights"};
    CU_ASSERT(is_mean_of("avg20/avg_best.weights", nets, 4));
    CU_ASSERT(!is_mean_of("avg20/avg_best.weights", nets + 1, 3));

    /* resumed at 10; momentum starts again from 0 there, so 15 is this run's own network */
    CU_ASSERT_EQUAL_FATAL(rename(path_in("avg10/avg_final.weights"), path_in("n10.weights")), 0);
    CU_ASSERT_EQUAL_FATAL(rename(path_in("avg10/avg_average.weights"),
                                 path_in("avg10/avg_average.weights.prev")), 0);
    int rc = train_avg("avg10/avg.weights", "avg10", 15);
    if (rc) printf("\n%s\n", out);
    CU_ASSERT_EQUAL_FATAL(rc, 0);
    CU_ASSERT_PTR_NOT_NULL(strstr(out, "resumed the weight average of 2 networks"));
    const char *resumed[] = {"avg5/avg_final.weights", "n10.weights", "avg10/avg_final.weights"};
    CU_ASSERT(is_mean_of("avg10/avg_best.weights", resumed, 3));

    /* no mean to resume with, or one from another iteration: exit 1, naming the file */
    unlink(path_in("avg10/avg_average.weights"));
    unlink(path_in("avg10/avg_average.weights.prev"));
    CU_ASSERT_EQUAL(train_avg("avg10/avg.weights", "avg10", 20), 1);
    CU_ASSERT_PTR_NOT_NULL(strstr(out, "avg_average.weights, which is missing"));
    CU_ASSERT_EQUAL(train_avg("avg5/avg.weights", "avg20", 10), 1);
    CU_ASSERT_PTR_NOT_NULL(strstr(out, "avg_average.weights, which holds iteration 20"));
}

/* The mean covers every float the weights file holds, whatever the layer type ([local],
 * [batchnorm] and batch norm's arrays included: a layer left out would keep the last
 * network's numbers in BASE_best.weights), and refuses a layer it cannot average. */
static void test_average_every_array(void)
{
    const char *path = test_write_temp(
        "[net]\nbatch=2\nheight=8\nwidth=8\nchannels=3\n"
        "[convolutional]\nbatch_normalize=1\nfilters=4\nsize=3\npad=1\nactivation=leaky\n"
        "[local]\nfilters=2\nsize=3\nstride=1\npad=1\nactivation=linear\n"
        "[batchnorm]\n[connected]\noutput=3\nbatch_normalize=1\nactivation=linear\n");
    CU_ASSERT_PTR_NOT_NULL_FATAL(path);
    network *net = parse_network_cfg((char *)path);
    CU_ASSERT_PTR_NOT_NULL_FATAL(net);
    mcd_weight_average avg;
    CU_ASSERT_EQUAL_FATAL(mcd_average_init(&avg, net), 0);
    CU_ASSERT_EQUAL(avg.n * (long)sizeof(float), mcd_weights_bytes(net, net->n, 0, 2) - 20);
    for (int sample = 0; sample < 2; ++sample) { /* every number 1, then 3 */
        for (int i = 0; i < net->n; ++i) {
            float *arrays[MCD_MAX_TRAINED_ARRAYS];
            long sizes[MCD_MAX_TRAINED_ARRAYS];
            int count = mcd_trained_arrays(&net->layers[i], 0, arrays, sizes);
            for (int j = 0; j < count; ++j)
                for (long k = 0; k < sizes[j]; ++k) arrays[j][k] = 1 + 2 * sample;
        }
        mcd_average_add(&avg, net);
    }
    mcd_average_swap(&avg, net);
    save_weights(net, (char *)path); /* every float of the file: the mean, 2 */
    long n = 0;
    FILE *f = fopen(path, "rb");
    CU_ASSERT_PTR_NOT_NULL_FATAL(f);
    fseek(f, 20, SEEK_SET);
    float v;
    int all_two = 1;
    while (fread(&v, sizeof v, 1, f) == 1) all_two &= v == 2, ++n;
    fclose(f);
    CU_ASSERT_EQUAL(n, avg.n);
    CU_ASSERT(all_two);
    mcd_average_free(&avg);
    free_network(net);

    CU_ASSERT_EQUAL_FATAL(test_write_text(path, "[net]\nbatch=2\nheight=8\nwidth=8\nchannels=3\n"
                                                "[convolutional]\nbinary=1\nfilters=4\nsize=3\n"
                                                "pad=1\nactivation=leaky\n"), 0);
    net = parse_network_cfg((char *)path);
    CU_ASSERT_PTR_NOT_NULL_FATAL(net);
    CU_ASSERT_EQUAL(mcd_average_init(&avg, net), -1);
    CU_ASSERT_PTR_NOT_NULL(strstr(mcd_last_error(), "finetune_average"));
    free_network(net);
    remove(path);
}

static void test_sigterm_saves(void)
{
    char cmd[2048];
    /* a long schedule, stopped by SIGTERM once its first progress line is out (not after a
     * fixed time: on a loaded machine loading alone can take seconds, and a signal before
     * training starts only kills) */
    snprintf(cmd, sizeof cmd, "%s mcd train %s -data %s -backup %s -pretrain_batches 100000 "
             "> %s 2>&1 & pid=$!; i=0; while [ $i -lt 1200 ] && ! grep -q '^pretrain ' %s; "
             "do sleep 0.1; i=$((i+1)); done; kill -TERM $pid; wait $pid; st=$?; "
             "tail -n 3 %s; exit $st",
             test_darknet_bin(), path_in("tiny.cfg"), path_in("tiny.data"), path_in("stopped"),
             path_in("stopped.log"), path_in("stopped.log"), path_in("stopped.log"));
    int rc = test_run_command(cmd, out, sizeof out);
    if (rc != 143) printf("\n%s\n", out);
    CU_ASSERT_EQUAL(rc, 143);
    CU_ASSERT_PTR_NOT_NULL(strstr(out, "saving a checkpoint"));
    CU_ASSERT_PTR_NOT_NULL(strstr(out, "resume with"));
    size_t seen = seen_of(path_in("stopped/tiny.weights"));
    CU_ASSERT(seen != (size_t)-1 && seen > 0 && seen % 8 == 0);
}

static void test_divergence_stops(void)
{
    write_cfg("diverge.cfg", "");
    /* an absurd learning rate overflows the weights within a few batches */
    char text[4096];
    FILE *f = fopen(path_in("diverge.cfg"), "r");
    size_t n = fread(text, 1, sizeof text - 1, f);
    fclose(f);
    text[n] = 0;
    char *lr = strstr(text, "learning_rate=0.05");
    CU_ASSERT_PTR_NOT_NULL_FATAL(lr);
    memcpy(lr, "learning_rate=1e30", 18);
    write_text("diverge.cfg", text);
    char cmd[2048];
    snprintf(cmd, sizeof cmd, "%s mcd train %s -data %s -backup %s -seed 1",
             test_darknet_bin(), path_in("diverge.cfg"), path_in("tiny.data"), path_in("div"));
    int rc = test_run_command(cmd, out, sizeof out);
    if (rc != 1) printf("\n%s\n", out);
    CU_ASSERT_EQUAL(rc, 1);
    CU_ASSERT_PTR_NOT_NULL(strstr(out, "not finite"));
    CU_ASSERT_NOT_EQUAL(access(path_in("div/diverge_final.weights"), F_OK), 0);
}

static void test_bad_inputs(void)
{
    struct {
        const char *data_extra; /* appended to a copy of tiny.data (later keys lose) */
        const char *list_text;  /* written as bad.list when not NULL */
        const char *want;
    } cases[] = {
        {"", "%s/img/missing.png\n", "missing.png"},
        {"", "%s/img/t000_alpha.png\n%s/img/u000.png\n", ":2:"},
    };
    char cmd[2048];
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; ++i) {
        char list[1024];
        snprintf(list, sizeof list, cases[i].list_text, dir, dir);
        write_text("bad.list", list);
        char data[1024];
        snprintf(data, sizeof data, "classes=3\ntrain=%s\nvalid=%s\nlabels=%s\nunlabeled=%s\n",
                 path_in("bad.list"), path_in("valid.list"), path_in("labels.list"),
                 path_in("unlabeled.list"));
        write_text("bad.data", data);
        snprintf(cmd, sizeof cmd, "%s mcd train %s -data %s -backup %s", test_darknet_bin(),
                 path_in("tiny.cfg"), path_in("bad.data"), path_in("badrun"));
        int rc = test_run_command(cmd, out, sizeof out);
        CU_ASSERT_EQUAL(rc, 1);
        CU_ASSERT_PTR_NOT_NULL(strstr(out, "bad.list"));
        CU_ASSERT_PTR_NOT_NULL(strstr(out, cases[i].want));
    }
    /* a missing data file, a data file without unlabeled=, a bad option, a bad key */
    snprintf(cmd, sizeof cmd, "%s mcd train %s -data /nonexistent.data", test_darknet_bin(),
             path_in("tiny.cfg"));
    CU_ASSERT_EQUAL(test_run_command(cmd, out, sizeof out), 1);
    CU_ASSERT_PTR_NOT_NULL(strstr(out, "/nonexistent.data"));
    char data[1024];
    snprintf(data, sizeof data, "classes=3\ntrain=%s\nvalid=%s\nlabels=%s\n",
             path_in("train.list"), path_in("valid.list"), path_in("labels.list"));
    write_text("nounl.data", data);
    snprintf(cmd, sizeof cmd, "%s mcd train %s -data %s", test_darknet_bin(), path_in("tiny.cfg"),
             path_in("nounl.data"));
    CU_ASSERT_EQUAL(test_run_command(cmd, out, sizeof out), 1);
    CU_ASSERT_PTR_NOT_NULL(strstr(out, "unlabeled="));
    snprintf(cmd, sizeof cmd, "%s mcd train %s -bogus 1", test_darknet_bin(), path_in("tiny.cfg"));
    CU_ASSERT_EQUAL(test_run_command(cmd, out, sizeof out), 1);
    CU_ASSERT_PTR_NOT_NULL(strstr(out, "-bogus"));
    write_cfg("badkey.cfg", "finetune_momentum=fast");
    snprintf(cmd, sizeof cmd, "%s mcd train %s -data %s", test_darknet_bin(),
             path_in("badkey.cfg"), path_in("tiny.data"));
    CU_ASSERT_EQUAL(test_run_command(cmd, out, sizeof out), 1);
    CU_ASSERT_PTR_NOT_NULL(strstr(out, "finetune_momentum=fast"));
}

/* 1 when the run in DIR (relative to the suite's directory) delivered its pre-trained
 * network: DIR/BASE_best.weights is byte for byte DIR/BASE_pretrain.weights. */
static int kept_pretrained(const char *run_dir, const char *base)
{
    char name[160], cmd[2048], tmp[256];
    snprintf(name, sizeof name, "%s/%s_pretrain.weights", run_dir, base);
    snprintf(cmd, sizeof cmd, "cmp -s %s", path_in(name));
    snprintf(name, sizeof name, "%s/%s_best.weights", run_dir, base);
    snprintf(cmd + strlen(cmd), sizeof cmd - strlen(cmd), " %s", path_in(name));
    return test_run_command(cmd, tmp, sizeof tmp) == 0;
}

static int read_health(const char *name, mcd_health *h)
{
    int pending;
    return mcd_health_read(path_in(name), h, &pending) == 0 && !pending ? 0 : -1;
}

/* The health record of the full schedule's run: a verdict, the run's seed, attempt 1; the
 * same line on stdout; `mcd valid` prints it above its tables, with each set's L1
 * percentiles, and says when weights have no record. */
static void test_health_record(void)
{
    mcd_health h;
    int pending = -1;
    CU_ASSERT_EQUAL_FATAL(mcd_health_read(path_in("backup/tiny.health"), &h, &pending), 0);
    CU_ASSERT_EQUAL(pending, 0);
    CU_ASSERT(h.verdict == MCD_HEALTH_HEALTHY || h.verdict == MCD_HEALTH_NO_OOD ||
              h.verdict == MCD_HEALTH_LITTLE_OOD || h.verdict == MCD_HEALTH_FAILED);
    CU_ASSERT_EQUAL(h.seed, 3);
    CU_ASSERT_EQUAL(h.attempt, 1);
    CU_ASSERT(h.f.pretrained >= 0 && h.f.result >= 0 && h.f.n_unl == 10);
    CU_ASSERT_EQUAL(h.f.averaged, 0);
    CU_ASSERT(h.f.result == h.f.chosen);
    /* no outliers: the delivered network is the pre-trained one exactly when the pool
     * showed no OOD or too little to judge (with 10 held-out images, little-ood) */
    int kept = kept_pretrained("backup", "tiny");
    CU_ASSERT_EQUAL(kept, h.verdict == MCD_HEALTH_NO_OOD || h.verdict == MCD_HEALTH_LITTLE_OOD);
    CU_ASSERT_EQUAL(kept, strstr(h.reason, "is the pre-trained network") != NULL);
    char line[400];
    snprintf(line, sizeof line, "training health: %s: %s", mcd_health_name(h.verdict), h.reason);
    int rc = test_run_darknet(out, sizeof out, "mcd valid %s %s -data %s", path_in("tiny.cfg"),
                              path_in("backup/tiny_best.weights"), path_in("eval.data"));
    if (rc) printf("\n%s\n", out);
    CU_ASSERT_EQUAL_FATAL(rc, 0);
    CU_ASSERT_PTR_NOT_NULL(strstr(out, line));
    CU_ASSERT_PTR_NOT_NULL(strstr(out, "seed 3, attempt 1"));
    CU_ASSERT_PTR_NOT_NULL(strstr(out, "MCD L1 score per set"));
    CU_ASSERT_PTR_NOT_NULL(strstr(out, "ID  valid"));
    CU_ASSERT_PTR_NOT_NULL(strstr(out, "OOD noise"));
    /* weights without a record */
    char cmd[1200];
    snprintf(cmd, sizeof cmd, "cp %s %s", path_in("backup/tiny_best.weights"), path_in("loose.weights"));
    CU_ASSERT_EQUAL_FATAL(system(cmd), 0);
    rc = test_run_darknet(out, sizeof out, "mcd valid %s %s -data %s", path_in("tiny.cfg"),
                          path_in("loose.weights"), path_in("eval.data"));
    CU_ASSERT_EQUAL(rc, 0);
    snprintf(line, sizeof line, "training health: no health record (%s)", path_in("loose.health"));
    CU_ASSERT_PTR_NOT_NULL(strstr(out, line));
}

/* Train BASE.cfg (tiny.cfg's keys plus `extra`) on idonly.data, a pool of ID images only:
 * exit 0, the verdict no-ood in BASE.health and on stdout, `says` in the output (left in
 * `out`). 1 when BASE_best.weights is a copy of BASE_pretrain.weights, else 0. */
static int train_id_only(const char *base, const char *extra, const char *says)
{
    char cfg[64], name[96];
    snprintf(cfg, sizeof cfg, "%s.cfg", base);
    write_cfg(cfg, extra);
    int rc = test_run_darknet(out, sizeof out, "mcd train %s -data %s -seed 3 -pretrain_batches 10 "
                              "-finetune_batches 10", path_in(cfg), path_in("idonly.data"));
    if (rc) printf("\n%s\n", out);
    CU_ASSERT_EQUAL_FATAL(rc, 0);
    mcd_health h;
    snprintf(name, sizeof name, "idonly/%s.health", base);
    CU_ASSERT_EQUAL_FATAL(read_health(name, &h), 0);
    if (h.verdict != MCD_HEALTH_NO_OOD) printf("\n%s\n", h.reason);
    CU_ASSERT_EQUAL(h.verdict, MCD_HEALTH_NO_OOD);
    CU_ASSERT_PTR_NOT_NULL(strstr(out, "training health: no-ood: the pool showed no OOD"));
    CU_ASSERT_PTR_NOT_NULL(strstr(out, says));
    return kept_pretrained("idonly", base);
}

/* A pool of ID images only: nothing flagged beyond the ID rate, the verdict says the pool
 * showed no OOD. (The tiny network scores the images of a class alike, so the held-out ID
 * images score as the validation images do, and none is above the threshold.) */
static void test_health_no_ood(void)
{
    FILE *f = fopen(path_in("idonly.list"), "w");
    for (int i = 0; i < 40; ++i) {
        char stem[64];
        snprintf(stem, sizeof stem, "img/i%03d", i);
        write_png(stem, i % 3, 3000 + i);
        fprintf(f, "%s.png\n", path_in(stem));
    }
    fclose(f);
    char data[1024];
    snprintf(data, sizeof data, "classes=3\ntrain=%s\nvalid=%s\nlabels=%s\nunlabeled=%s\nbackup=%s\n",
             path_in("train.list"), path_in("valid.list"), path_in("labels.list"),
             path_in("idonly.list"), path_in("idonly"));
    write_text("idonly.data", data);
    /* no_ood_keep_pretrained=1 (the default): the result is the pre-trained network */
    CU_ASSERT_TRUE(train_id_only("tiny", "", "tiny_best.weights is the pre-trained network"));
    /* with 0, the fine-tuned mean, which differs */
    CU_ASSERT_FALSE(train_id_only("keepft", "no_ood_keep_pretrained=0", "training health: no-ood"));
    CU_ASSERT_PTR_NULL(strstr(out, "is the pre-trained network"));
    /* with synthetic outliers the heads had OOD to learn from: the fine-tuned result stays */
    CU_ASSERT_FALSE(train_id_only("keepout", "finetune_outliers=0.5",
                                  "the fine-tuned result stays: synthetic outliers"));
    /* a bad value: one line naming the key */
    write_cfg("badkeep.cfg", "no_ood_keep_pretrained=2");
    int rc = test_run_darknet(out, sizeof out, "mcd train %s -data %s", path_in("badkeep.cfg"),
                              path_in("idonly.data"));
    CU_ASSERT(test_is_error(rc, out, "no_ood_keep_pretrained=2", "no_ood_keep_pretrained", NULL));
}

/* The bootstrap section of valid's output (from its title to the end). */
static const char *bootstrap_part(const char *text)
{
    const char *p = strstr(text, "95% bootstrap intervals");
    return p ? p : "";
}

/* -bootstrap N: an interval per score and OOD set; the same seed prints the same intervals,
 * another seed others. */
static void test_valid_bootstrap(void)
{
    static char first[1 << 16];
    const char *w = path_in("backup/tiny_best.weights");
    int rc = test_run_darknet(first, sizeof first, "mcd valid %s %s -data %s -bootstrap 200",
                              path_in("tiny.cfg"), w, path_in("eval.data"));
    if (rc) printf("\n%s\n", first);
    CU_ASSERT_EQUAL_FATAL(rc, 0);
    CU_ASSERT_PTR_NOT_NULL(strstr(first, "95% bootstrap intervals, 200 resamples, seed 1"));
    CU_ASSERT_PTR_NOT_NULL(strstr(bootstrap_part(first), "MCD L1"));
    rc = test_run_darknet(out, sizeof out, "mcd valid %s %s -data %s -bootstrap 200 -seed 1",
                          path_in("tiny.cfg"), w, path_in("eval.data"));
    CU_ASSERT_EQUAL(rc, 0);
    CU_ASSERT_STRING_EQUAL(bootstrap_part(out), bootstrap_part(first));
    rc = test_run_darknet(out, sizeof out, "mcd valid %s %s -data %s -bootstrap 200 -seed 9",
                          path_in("tiny.cfg"), w, path_in("eval.data"));
    CU_ASSERT_EQUAL(rc, 0);
    CU_ASSERT_STRING_NOT_EQUAL(strchr(bootstrap_part(out), '\n'), strchr(bootstrap_part(first), '\n'));
    rc = test_run_darknet(out, sizeof out, "mcd valid %s %s -data %s -bootstrap 0",
                          path_in("tiny.cfg"), w, path_in("eval.data"));
    CU_ASSERT_EQUAL(rc, 1);
}

/* -retries: a run that fails the check (forced by the test hook) is kept under
 * BASE-failed-seedS and trained again with the next seed; every attempt is listed; a second
 * series into the same directory keeps the first one's files (the names get -2). */
static void test_retries(void)
{
    char cmd[2048];
    const char *schedule = "-pretrain_batches 10 -finetune_batches 10";
    snprintf(cmd, sizeof cmd, "MCD_TEST_FAILED_SEEDS=3 %s mcd train %s -data %s -seed 3 "
             "-backup %s %s -retries 1", test_darknet_bin(), path_in("tiny.cfg"),
             path_in("tiny.data"), path_in("retry"), schedule);
    int rc = test_run_command(cmd, out, sizeof out);
    if (rc) printf("\n%s\n", out);
    CU_ASSERT_EQUAL_FATAL(rc, 0);
    CU_ASSERT_PTR_NOT_NULL(strstr(out, "attempt 1 (seed 3) failed the health check"));
    CU_ASSERT_PTR_NOT_NULL(strstr(out, "attempt 2 of 2: seed 4"));
    CU_ASSERT_PTR_NOT_NULL(strstr(out, "attempts:\n  1  seed 3  failed: forced by MCD_TEST_FAILED_SEEDS"));
    CU_ASSERT_PTR_NOT_NULL(strstr(out, "  2  seed 4  "));
    mcd_health h;
    CU_ASSERT_EQUAL(read_health("retry/tiny-failed-seed3.health", &h), 0);
    CU_ASSERT_EQUAL(h.verdict, MCD_HEALTH_FAILED);
    CU_ASSERT_EQUAL(h.seed, 3);
    static const char *kept[] = {"tiny-failed-seed3_pretrain.weights", "tiny-failed-seed3_best.weights",
                                 "tiny-failed-seed3_final.weights", "tiny-failed-seed3_select.csv",
                                 "tiny-failed-seed3_train.csv", "tiny-failed-seed3.weights",
                                 "tiny_best.weights", "tiny_pretrain.weights"};
    char p[300];
    for (size_t i = 0; i < sizeof kept / sizeof kept[0]; ++i) {
        snprintf(p, sizeof p, "retry/%s", kept[i]);
        CU_ASSERT_EQUAL(access(path_in(p), R_OK), 0);
    }
    CU_ASSERT_EQUAL(read_health("retry/tiny.health", &h), 0);
    CU_ASSERT_EQUAL(h.seed, 4);
    CU_ASSERT_EQUAL(h.attempt, 2);
    /* -retries 1: two attempts at most, whatever the second one's verdict */
    CU_ASSERT_PTR_NULL(strstr(out, "attempt 3"));

    /* every attempt fails: three attempts, the last one's files stay as BASE */
    snprintf(cmd, sizeof cmd, "MCD_TEST_FAILED_SEEDS=3,4,5 %s mcd train %s -data %s -seed 3 "
             "-backup %s %s -retries 2", test_darknet_bin(), path_in("tiny.cfg"),
             path_in("tiny.data"), path_in("retry"), schedule);
    rc = test_run_command(cmd, out, sizeof out);
    if (rc) printf("\n%s\n", out);
    CU_ASSERT_EQUAL_FATAL(rc, 0);
    CU_ASSERT_PTR_NOT_NULL(strstr(out, "  3  seed 5  failed: forced"));
    CU_ASSERT_EQUAL(access(path_in("retry/tiny-failed-seed3-2_best.weights"), R_OK), 0);
    CU_ASSERT_EQUAL(access(path_in("retry/tiny-failed-seed4_best.weights"), R_OK), 0);
    CU_ASSERT_EQUAL(read_health("retry/tiny-failed-seed3.health", &h), 0); /* the first series' */
    CU_ASSERT_EQUAL(h.attempt, 1);
    CU_ASSERT_EQUAL(read_health("retry/tiny.health", &h), 0);
    CU_ASSERT_EQUAL(h.seed, 5);
    CU_ASSERT_EQUAL(h.verdict, MCD_HEALTH_FAILED);

    /* retries start over: refused with weights to resume from */
    snprintf(cmd, sizeof cmd, "%s -retries 1", path_in("backup/tiny_pretrain.weights"));
    CU_ASSERT_EQUAL(train(cmd), 1);
    CU_ASSERT_PTR_NOT_NULL(strstr(out, "-retries 1 pre-trains again from the start"));
}

int add_train_suite(void)
{
    CU_pSuite s = CU_add_suite("mcd train", setup, teardown);
    if (!s) return -1;
    return !CU_add_test(s, "full schedule: every checkpoint, seen count", test_full_schedule) ||
           !CU_add_test(s, "resume from the pre-training checkpoint", test_resume) ||
           !CU_add_test(s, "select_tpr: the threshold mcd calibrate gives", test_select_tpr) ||
           !CU_add_test(s, "a killed run's cut log line and temporaries", test_killed_run_leftovers) ||
           !CU_add_test(s, "-trunk: the extractor from other weights", test_trunk_from_weights) ||
           !CU_add_test(s, "finetune_average: the mean of the checkpoints, resumed",
                        test_weight_average) ||
           !CU_add_test(s, "finetune_average: every array of the weights file",
                        test_average_every_array) ||
           !CU_add_test(s, "SIGTERM saves a checkpoint, exit 143", test_sigterm_saves) ||
           !CU_add_test(s, "a diverging loss stops training, exit 1", test_divergence_stops) ||
           !CU_add_test(s, "bad data and options: exit 1 naming the file", test_bad_inputs) ||
           !CU_add_test(s, "the health record; mcd valid prints it", test_health_record) ||
           !CU_add_test(s, "a pool of ID images only: no-ood", test_health_no_ood) ||
           !CU_add_test(s, "mcd valid -bootstrap: seeded intervals", test_valid_bootstrap) ||
           !CU_add_test(s, "-retries: a failed run kept, the next seed trained", test_retries);
}
