/* `darknet mcd calibrate CFG WEIGHTS [-data FILE] [-tpr 0.95]`: pick the MCD L1 threshold
 * that keeps the share tpr of the ID validation images and save it as WEIGHTS.threshold.
 *
 * A threshold belongs to the weights it was computed from. So calibrate refuses weights
 * that a running training will write again (train/run_lock.h: BASE.weights, _average,
 * _best and _final while the run holds BACKUP/BASE.lock, _pretrain while it is still
 * pre-training: the threshold would outlive its weights), and it refuses to save when the
 * weights file was replaced while it was scoring (by a run that started meanwhile).
 * Weights the running training is done with (_pretrain once it fine-tunes) or does not
 * write (any other name) are calibrated as usual. */
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "backend/gpu_device.h"
#include "commands/command_line.h"
#include "commands/verbs.h"
#include "io/data_lists.h"
#include "ood/ood_metrics.h"
#include "ood/ood_scores.h"
#include "ood/threshold_file.h"
#include "train/run_lock.h"
#include "util/mcd_error.h"

typedef struct calibrate_options {
    const char *cfg, *weights, *data;
    double tpr;
    long max_pixels;
    int gpu; /* -1: the CPU */
} calibrate_options;

static const mcd_positional positionals[] = {
    {"CFG", offsetof(calibrate_options, cfg), 1},
    {"WEIGHTS", offsetof(calibrate_options, weights), 1},
};

static const mcd_option options[] = {
    {.name = "-data", .kind = MCD_OPT_STRING, .offset = offsetof(calibrate_options, data),
     .value = "FILE", .help = ".data file whose valid= list is scored (default: the cfg's data=,\n"
                              "else " MCD_DEFAULT_DATA ")"},
    {.name = "-tpr", .kind = MCD_OPT_DOUBLE, .offset = offsetof(calibrate_options, tpr),
     .value = "X", .min = 0, .max = 1, .min_exclusive = 1,
     .help = "share of ID images to keep, in (0, 1] (default 0.95)"},
    MCD_MAX_PIXELS_OPTION(calibrate_options, max_pixels),
    MCD_GPU_OPTIONS(calibrate_options, gpu),
};

static int run(int argc, char **argv);

const mcd_command mcd_calibrate_command = {
    .name = "calibrate",
    .summary = "pick the L1 threshold that keeps the share tpr of the ID validation images, save it\n"
               "as WEIGHTS.threshold",
    .description = "Scores the ID validation images (the .data file's valid= list) and saves, as\n"
                   "WEIGHTS.threshold, the smallest MCD L1 score t such that the share tpr of them\n"
                   "has score <= t (an image is OOD when its score is above t). No OOD data is needed.",
    .positionals = positionals, .n_positionals = MCD_COUNT(positionals),
    .options = options, .n_options = MCD_COUNT(options),
    .run = run,
};

/* Weights that a running training will write again: refused, naming the run. */
static int refuse_training_weights(const char *weights)
{
    long pid;
    char lock[1400], who[64] = "a training run";
    if (!mcd_training_rewrites(weights, &pid, lock, sizeof lock)) return 0;
    if (pid > 0) snprintf(who, sizeof who, "a training run (process %ld)", pid);
    mcd_set_error("'%s': %s holds %s and will write this file again, which would leave a "
                  "threshold for weights that are gone; calibrate it when the run has ended, "
                  "or calibrate a copy", weights, who, lock);
    return -1;
}

/* Whether two stats of the weights file are the same file: a file renamed over it is
 * another inode, a file written in place another size or time. */
static int same_file(const struct stat *a, const struct stat *b)
{
    return a->st_dev == b->st_dev && a->st_ino == b->st_ino && a->st_size == b->st_size &&
           a->st_mtim.tv_sec == b->st_mtim.tv_sec && a->st_mtim.tv_nsec == b->st_mtim.tv_nsec;
}

/* The threshold of the ID validation list's scores, saved beside the weights. */
static int calibrate(const calibrate_options *o, const char *data)
{
    struct stat before, after; /* a missing file is ood_load_network's error */
    int have_before = stat(o->weights, &before) == 0;
    list *dataset = mcd_read_data_file(data);
    const char *valid = dataset ? mcd_data_value(dataset, data, "valid") : NULL;
    int n = 0, rc = -1;
    char **paths = valid ? mcd_read_list(valid, &n, 1) : NULL;
    mcd_layout m;
    network *net = paths ? ood_load_network(o->cfg, o->weights, &m) : NULL;
    ood_image_scores *sc = malloc(sizeof *sc * (n ? n : 1));
    double *l1 = malloc(sizeof(double) * (n ? n : 1));
    mcd_threshold t = {.tpr = o->tpr, .id_images = n};
    if (!net || !sc || !l1 ||
        ood_score_images(net, &m, paths, n, valid, "scoring ID validation images", sc))
        goto done;
    for (int i = 0; i < n; ++i) l1[i] = sc[i].raw[OOD_MCD_L1];
    if (ood_calibration_threshold(l1, n, o->tpr, &t.threshold)) goto done;
    snprintf(t.id_list, sizeof t.id_list, "%s", valid);
    int kept = 0;
    double lo = l1[0], hi = l1[0];
    for (int i = 0; i < n; ++i) {
        kept += !ood_is_ood(l1[i], t.threshold);
        lo = l1[i] < lo ? l1[i] : lo;
        hi = l1[i] > hi ? l1[i] : hi;
    }
    char path[4096];
    mcd_threshold_path(o->weights, path, sizeof path);
    if (!have_before || stat(o->weights, &after) != 0 || !same_file(&before, &after)) {
        mcd_set_error("'%s' was replaced while it was being calibrated (by a training run?): "
                      "nothing saved; calibrate it again", o->weights);
        goto done;
    }
    if (refuse_training_weights(o->weights) || mcd_threshold_save(path, &t)) goto done;
    printf("%d ID validation images (%s): MCD L1 scores from %.6g to %.6g\n", n, valid, lo, hi);
    printf("threshold %.9g keeps %.2f%% of them (%d of %d; asked for %.4g%%): an image whose "
           "L1 score is above it is OOD\n", t.threshold, 100.0 * kept / n, kept, n, 100 * o->tpr);
    printf("saved %s\n", path);
    rc = 0;
done:
    free(sc);
    free(l1);
    mcd_free_list(paths, n);
    mcd_free_data_file(dataset);
    if (net) free_network(net);
    return rc;
}

static int run(int argc, char **argv)
{
    calibrate_options o = {.tpr = 0.95, .gpu = -1};
    int status;
    if (mcd_command_start(&mcd_calibrate_command, argc, argv, &o, &status)) return status;
    mcd_set_image_max_pixels(o.max_pixels);
    char data[4096];
    if (mcd_gpu_select(o.gpu) || refuse_training_weights(o.weights) ||
        mcd_resolve_data_file(o.cfg, o.data, data, sizeof data, NULL) || calibrate(&o, data))
        return mcd_command_failed();
    return 0;
}
