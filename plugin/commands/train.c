/* `darknet mcd train CFG [WEIGHTS]`: pre-training, then MCD fine-tuning.
 *
 * 1. Pre-training (max_batches batches): cross-entropy on both heads over labeled ID
 *    batches, with Darknet's learning-rate policy and augmentation.
 * 2. Fine-tuning (finetune_batches iterations), each iteration:
 *    step A: a labeled batch, CE(F1) + CE(F2) with head 2 blocked from the trunk; update.
 *    step B: a labeled batch (CE on both heads) and an unlabeled batch ([mcd_discrepancy]'s
 *            L_u), separate forward passes, gradients accumulated; one update.
 * Both loaders (batch_loader.c) read one batch ahead of the compute, in threads of their own;
 * a batch's random picks and augmentation come from (seed, loader, batch number), so runs
 * with the same seed train on the same batches.
 * One counter, the weights file's `seen`, says where training is: batch b < max_batches is
 * pre-training, b >= max_batches is fine-tuning iteration b - max_batches. So any
 * checkpoint resumes where it stopped (with finetune_average=1, together with the mean of
 * the networks so far, BASE_average.weights). */
#include <errno.h>
#include <math.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "train/batch_loader.h"
#include "train/checkpoint_choice.h"
#include "darknet.h"
#include "io/data_lists.h"
#include "layers/discrepancy_layer.h"
#include "io/image_io.h"
#include "backend/cpu_backend.h"
#include "backend/inference.h"
#include "commands/verbs.h"
#include "util/mcd_error.h"
#include "network/mcd_network.h"
#include "ood/ood_metrics.h"
#include "option_list.h"
#include "train/train_config.h"
#include "train/weight_average.h"
#include "network/weights_file.h"

static volatile sig_atomic_t stop_signal;

static void on_signal(int sig)
{
    stop_signal = sig;
}

typedef struct train_options {
    const char *cfg;
    const char *weights;
    const char *data;
    const char *trunk;
    int trunk_layers;
    const char *backup;
    int seed;             /* -1: from the clock */
    int clear;
    int pretrain_batches; /* -1: the cfg's max_batches */
    int finetune_batches; /* -1: the cfg's finetune_batches */
} train_options;

/* Images kept in memory for checkpoint choice: ID validation (with labels) and unlabeled
 * images held out of fine-tuning (no labels). */
typedef struct image_set {
    float *x;
    int *label;
    int n;
} image_set;

typedef struct trainer {
    network *net;
    mcd_layout m;
    mcd_train_config tc;
    const train_options *opt;
    char base[256];
    char backup[1024];
    char **labels;
    int classes;
    char **train_paths, **unl_paths;
    char train_list[1024], unl_list[1024]; /* their list files, for messages */
    int ntrain, nunl;
    image_set sel_id, sel_unl;
    unsigned long seed;
    batch_loader lload, uload; /* labeled, unlabeled */
    FILE *csv, *select_csv;
    /* statistics of the current log interval */
    double sum_ce1, sum_ce2, sum_lu, sum_h1, sum_h2, sum_acc;
    int n_lab, n_unl, steps;
    double interval_start, images;
    double time_pre, time_ft; /* seconds per step, measured */
    /* checkpoint choice */
    mcd_choice choice;
    /* finetune_average=1: the mean of the networks at every select_interval, and the
     * image count (net->seen) at its last sample */
    mcd_weight_average avg;
    size_t avg_seen;
} trainer;

static void usage(FILE *f)
{
    fprintf(f,
        "usage: darknet mcd train CFG [WEIGHTS] [options]\n"
        "  Pre-trains both heads on labeled in-distribution images, then fine-tunes with\n"
        "  MCD (step A: labeled batch, head 2 kept off the trunk; step B: labeled batch +\n"
        "  unlabeled batch with the discrepancy loss). Given WEIGHTS, resumes where they\n"
        "  stopped (phase and batch). The schedule is in CFG's [net] section (see README).\n"
        "options:\n"
        "  -data FILE          data set (default: CFG's data= key, else cfg/fmnist.data)\n"
        "  -trunk FILE         start the feature extractor from a Darknet classifier's weights\n"
        "  -trunk_layers N     layers to load from -trunk (default: up to [mcd_split])\n"
        "  -backup DIR         where checkpoints and logs go (default: the data file's backup=)\n"
        "  -seed N             random seed (default: from the clock)\n"
        "  -pretrain_batches N override the cfg's max_batches (pre-training length)\n"
        "  -finetune_batches N override the cfg's finetune_batches\n"
        "  -clear              start the schedule from batch 0 even if WEIGHTS have seen images\n"
        "writes, in the backup directory (BASE = CFG's name without .cfg):\n"
        "  BASE.weights           latest checkpoint (resume from it)\n"
        "  BASE_pretrain.weights  at the end of pre-training\n"
        "  BASE_best.weights      best fine-tuning checkpoint, chosen without OOD labels;\n"
        "                         with finetune_average=1, the mean of the checkpoints\n"
        "  BASE_average.weights   that mean so far (finetune_average=1; resumes with BASE.weights)\n"
        "  BASE_final.weights     at the end of fine-tuning\n"
        "  BASE_train.csv, BASE_select.csv   progress and checkpoint-choice logs\n"
        "SIGINT/SIGTERM save BASE.weights and stop (exit status 130/143).\n");
}

static int parse_options(int argc, char **argv, train_options *o)
{
    memset(o, 0, sizeof *o);
    o->trunk_layers = -1;
    o->seed = -1;
    o->pretrain_batches = o->finetune_batches = -1;
    int pos = 0;
    for (int i = 1; i < argc; ++i) {
        const char *a = argv[i];
        int has_value = i + 1 < argc;
        if (strcmp(a, "-data") == 0 && has_value) o->data = argv[++i];
        else if (strcmp(a, "-trunk") == 0 && has_value) o->trunk = argv[++i];
        else if (strcmp(a, "-trunk_layers") == 0 && has_value) o->trunk_layers = atoi(argv[++i]);
        else if (strcmp(a, "-backup") == 0 && has_value) o->backup = argv[++i];
        else if (strcmp(a, "-seed") == 0 && has_value) o->seed = atoi(argv[++i]);
        else if (strcmp(a, "-pretrain_batches") == 0 && has_value)
            o->pretrain_batches = atoi(argv[++i]);
        else if (strcmp(a, "-finetune_batches") == 0 && has_value)
            o->finetune_batches = atoi(argv[++i]);
        else if (strcmp(a, "-clear") == 0) o->clear = 1;
        else if (a[0] == '-') {
            mcd_set_error("mcd train: unknown option or missing value: %s", a);
            return -1;
        } else if (pos == 0) o->cfg = argv[i], ++pos;
        else if (pos == 1) o->weights = argv[i], ++pos;
        else {
            mcd_set_error("mcd train: unexpected argument '%s'", a);
            return -1;
        }
    }
    if (!o->cfg) {
        mcd_set_error("mcd train: no CFG given (see 'darknet mcd train -h')");
        return -1;
    }
    if (o->seed < -1 || o->trunk_layers < -1 || o->pretrain_batches < -1 || o->finetune_batches < -1) {
        mcd_set_error("mcd train: -seed, -trunk_layers and -*_batches take numbers >= 0");
        return -1;
    }
    return 0;
}

static int make_dirs(const char *dir)
{
    char buf[1024];
    snprintf(buf, sizeof buf, "%s", dir);
    for (char *p = buf + 1; ; ++p) {
        if (*p == '/' || *p == 0) {
            char c = *p;
            *p = 0;
            if (mkdir(buf, 0777) != 0 && errno != EEXIST) {
                mcd_set_error("cannot create directory '%s': %s", buf, strerror(errno));
                return -1;
            }
            *p = c;
            if (!c) break;
        }
    }
    return 0;
}

static void base_name(const char *cfg, char *out, size_t n)
{
    const char *s = strrchr(cfg, '/');
    s = s ? s + 1 : cfg;
    snprintf(out, n, "%s", s);
    char *dot = strrchr(out, '.');
    if (dot && strcmp(dot, ".cfg") == 0) *dot = 0;
}

static void shuffle_paths(char **p, int n)
{
    for (int i = n - 1; i > 0; --i) {
        int j = rand() % (i + 1);
        char *t = p[i];
        p[i] = p[j];
        p[j] = t;
    }
}

/* Read n images into memory at the network's input size (no augmentation). */
static int load_image_set(trainer *t, char **paths, int n, int with_labels, image_set *set)
{
    network *net = t->net;
    set->n = n;
    set->x = malloc(sizeof(float) * net->inputs * (size_t)(n ? n : 1));
    set->label = calloc(n ? n : 1, sizeof(int));
    for (int i = 0; i < n; ++i) {
        image im;
        if (mcd_read_image(paths[i], net->w, net->h, net->c, &im)) return -1;
        memcpy(set->x + (size_t)i * net->inputs, im.data, sizeof(float) * net->inputs);
        free_image(im);
        set->label[i] = with_labels ? mcd_label_of(paths[i], t->labels, t->classes) : -1;
    }
    return 0;
}

static void free_image_set(image_set *s)
{
    free(s->x);
    free(s->label);
}

/* L1 scores of a set, and (for labeled sets) the accuracy of the heads' average; 0, or -1
 * with the error set when the backend could not complete a pass. */
static int score_set(trainer *t, const image_set *s, double *scores, double *acc)
{
    network *net = t->net;
    int B = net->batch, K = t->m.classes, correct = 0;
    float *x = calloc((size_t)B * net->inputs, sizeof(float));
    for (int start = 0; start < s->n; start += B) {
        int nb = s->n - start < B ? s->n - start : B;
        memcpy(x, s->x + (size_t)start * net->inputs, sizeof(float) * nb * net->inputs);
        float *out = mcd_predict(net, x);
        if (!out) {
            free(x);
            return -1;
        }
        for (int b = 0; b < nb; ++b) {
            scores[start + b] = out[b];
            const float *p1 = mcd_head_probs(net, &t->m, 1, b), *p2 = mcd_head_probs(net, &t->m, 2, b);
            int best = 0;
            for (int k = 1; k < K; ++k)
                if (p1[k] + p2[k] > p1[best] + p2[best]) best = k;
            correct += best == s->label[start + b];
        }
    }
    free(x);
    if (acc) *acc = s->n ? (double)correct / s->n : 0;
    return 0;
}

/* Checkpoint choice without OOD labels: the L1 threshold that keeps select_tpr of the ID
 * validation images, then the share of held-out unlabeled images (an unknown mix of ID
 * and OOD) above it. At a fixed ID loss, more flagged means more OOD caught. -1 (the error
 * set) when the backend could not complete a pass. */
static double select_score(trainer *t, double *acc, double *thresh)
{
    double *id = malloc(sizeof(double) * (t->sel_id.n ? t->sel_id.n : 1));
    double *unl = malloc(sizeof(double) * (t->sel_unl.n ? t->sel_unl.n : 1));
    if (score_set(t, &t->sel_id, id, acc) || score_set(t, &t->sel_unl, unl, NULL)) {
        free(id);
        free(unl);
        return -1;
    }
    /* the rule of `mcd calibrate`; it fails only on non-finite scores, which the
     * trainer's loss check has stopped before (an empty set scores 0) */
    if (!t->sel_id.n || ood_calibration_threshold(id, t->sel_id.n, t->tc.select_tpr, thresh))
        *thresh = 0;
    int flagged = 0;
    for (int i = 0; i < t->sel_unl.n; ++i) flagged += unl[i] > *thresh;
    free(id);
    free(unl);
    return t->sel_unl.n ? (double)flagged / t->sel_unl.n : 0;
}

static int setup_data(trainer *t)
{
    const char *datafile = t->opt->data ? t->opt->data : t->tc.data;
    list *opts = mcd_read_data_file(datafile);
    if (!opts) return -1;
    const char *labels_file = mcd_data_value(opts, datafile, "labels");
    const char *train_file = mcd_data_value(opts, datafile, "train");
    const char *valid_file = mcd_data_value(opts, datafile, "valid");
    const char *unl_file = option_find(opts, "unlabeled");
    if (!labels_file || !train_file || !valid_file) return -1;
    if (t->tc.finetune_batches > 0 && !unl_file) {
        mcd_set_error("data file '%s' has no 'unlabeled=' line, which fine-tuning needs "
                      "(or set finetune_batches=0)", datafile);
        return -1;
    }
    const char *backup = t->opt->backup ? t->opt->backup : option_find_str(opts, "backup", "backup/");
    snprintf(t->backup, sizeof t->backup, "%s", backup);
    size_t len = strlen(t->backup); /* "backup/" + "/" + name would read oddly in messages */
    while (len > 1 && t->backup[len - 1] == '/') t->backup[--len] = 0;
    if (make_dirs(t->backup)) return -1;

    int nlab;
    t->labels = mcd_read_list(labels_file, &nlab, 0);
    if (!t->labels) return -1;
    if (nlab != t->m.classes) {
        mcd_set_error("'%s' has %d labels but the network's heads have %d classes",
                      labels_file, nlab, t->m.classes);
        return -1;
    }
    t->classes = nlab;
    fprintf(stderr, "checking the data lists of %s ...\n", datafile);
    snprintf(t->train_list, sizeof t->train_list, "%s", train_file);
    if (unl_file) snprintf(t->unl_list, sizeof t->unl_list, "%s", unl_file);
    t->train_paths = mcd_read_list(train_file, &t->ntrain, 1);
    if (!t->train_paths || mcd_check_labels(t->train_paths, t->ntrain, t->labels, nlab, train_file))
        return -1;
    int nvalid;
    char **valid = mcd_read_list(valid_file, &nvalid, 1);
    if (!valid || mcd_check_labels(valid, nvalid, t->labels, nlab, valid_file)) return -1;
    shuffle_paths(valid, nvalid);
    int nsel = t->tc.select_images < nvalid ? t->tc.select_images : nvalid;
    int rc = load_image_set(t, valid, nsel, 1, &t->sel_id);
    mcd_free_list(valid, nvalid);
    if (rc) return -1;

    if (unl_file) {
        int n;
        char **unl = mcd_read_list(unl_file, &n, 1);
        if (!unl) return -1;
        shuffle_paths(unl, n);
        int hold = t->tc.select_holdout < n / 2 ? t->tc.select_holdout : n / 2;
        if (load_image_set(t, unl, hold, 0, &t->sel_unl)) return -1;
        /* the held-out images never enter fine-tuning */
        for (int i = 0; i < hold; ++i) free(unl[i]);
        memmove(unl, unl + hold, sizeof(char *) * (n - hold));
        t->unl_paths = unl;
        t->nunl = n - hold;
    }
    fprintf(stderr, "%d labeled training images, %d unlabeled for fine-tuning; checkpoint "
            "choice on %d ID validation + %d held-out unlabeled images\n",
            t->ntrain, t->nunl, t->sel_id.n, t->sel_unl.n);
    mcd_free_data_file(opts);
    return 0;
}

/* Streams of the loaders' random numbers: one per loader and phase. */
enum { STREAM_PRETRAIN = 1, STREAM_FINETUNE_LABELED, STREAM_FINETUNE_UNLABELED };

/* Start a loader at batch `first` of its stream. */
static void start_loader(trainer *t, batch_loader *l, char **paths, int n, const char *list,
                         char **labels, int augment, int stream, size_t first)
{
    network *net = t->net;
    batch_loader_config c = {
        .paths = paths, .npaths = n, .list_name = list, .labels = labels, .classes = t->classes,
        .batch = net->batch, .w = net->w, .h = net->h,
        .seed = t->seed, .stream = (uint64_t)stream, .first = first,
    };
    if (augment) {
        c.min = net->min_ratio * net->w;
        c.max = net->max_ratio * net->w;
        c.angle = net->angle;
        c.aspect = net->aspect;
        c.exposure = net->exposure;
        c.saturation = net->saturation;
        c.hue = net->hue;
    } else { /* identity crop; random flips still, as Darknet's loader does */
        c.min = c.max = net->w;
        c.aspect = c.exposure = c.saturation = 1;
    }
    batch_loader_start(l, &c);
}

/* One forward + backward pass; labeled passes train the heads with CE, unlabeled passes
 * (no truth) with [mcd_discrepancy]. Returns 0, or -1 if a loss is not finite. */
static int train_pass(trainer *t, data d, int labeled)
{
    network *net = t->net;
    for (int i = 0; i < net->batch; ++i)
        memcpy(net->input + (size_t)i * net->inputs, d.X.vals[i], sizeof(float) * net->inputs);
    float *truth = net->truth;
    if (labeled)
        for (int i = 0; i < net->batch; ++i)
            memcpy(net->truth + (size_t)i * net->truths, d.y.vals[i], sizeof(float) * net->truths);
    else
        net->truth = NULL;
    net->train = 1;
    forward_network(net);
    backward_network(net);
    net->truth = truth;

    layer *s1 = &net->layers[t->m.softmax1], *s2 = &net->layers[t->m.softmax2];
    layer *dl = &net->layers[t->m.discrepancy];
    if (labeled) {
        double ce1 = s1->cost[0] / net->batch, ce2 = s2->cost[0] / net->batch;
        if (!isfinite(ce1) || !isfinite(ce2)) return -1;
        t->sum_ce1 += ce1;
        t->sum_ce2 += ce2;
        int correct = 0;
        for (int b = 0; b < net->batch; ++b) {
            int best = 0, truth_k = 0;
            for (int k = 0; k < t->classes; ++k) {
                if (s1->output[b * t->classes + k] > s1->output[b * t->classes + best]) best = k;
                if (d.y.vals[b][k] > d.y.vals[b][truth_k]) truth_k = k;
            }
            correct += best == truth_k;
        }
        t->sum_acc += (double)correct / net->batch;
        t->n_lab++;
    } else {
        double lu = dl->cost[0] / net->batch; /* the layer reports batch * L_u */
        if (!isfinite(lu)) return -1;
        t->sum_lu += lu;
        t->sum_h1 += mcd_discrepancy_mean_entropy(dl, 1);
        t->sum_h2 += mcd_discrepancy_mean_entropy(dl, 2);
        t->n_unl++;
    }
    t->images += net->batch;
    return 0;
}

/* Momentum lives in Darknet's *_updates buffers: a new phase starts a new optimizer. */
static void zero_updates(network *net)
{
    for (int i = 0; i < net->n; ++i) {
        layer *l = &net->layers[i];
        size_t nw = l->type == CONNECTED ? (size_t)l->inputs * l->outputs : (size_t)l->nweights;
        size_t nb = l->type == CONNECTED ? (size_t)l->outputs : (size_t)l->n;
        if (l->type != CONVOLUTIONAL && l->type != CONNECTED) continue;
        memset(l->weight_updates, 0, nw * sizeof(float));
        memset(l->bias_updates, 0, nb * sizeof(float));
        if (l->scale_updates) memset(l->scale_updates, 0, nb * sizeof(float));
    }
}

static int save_checkpoint(trainer *t, const char *suffix)
{
    char path[1400];
    snprintf(path, sizeof path, "%s/%s%s.weights", t->backup, t->base, suffix);
    if (mcd_save_weights(t->net, path)) return -1;
    return 0;
}

static size_t current_batch(const network *net)
{
    return *net->seen / ((size_t)net->batch * net->subdivisions);
}

/* finetune_average=1 keeps the mean so far in BASE_average.weights (its `seen` is that of
 * the last network averaged) and the one before in BASE_average.weights.prev. Both are
 * written before BASE.weights, so whatever BASE.weights a crash leaves, one of them is the
 * mean that goes with it. */
static void average_path(trainer *t, const char *suffix, char *buf, size_t n)
{
    snprintf(buf, n, "%s/%s_average.weights%s", t->backup, t->base, suffix);
}

/* Save the mean under BASE + suffix (the network's own numbers are back afterwards). */
static int save_average_as(trainer *t, const char *path)
{
    network *net = t->net;
    size_t seen = *net->seen;
    *net->seen = t->avg_seen;
    mcd_average_swap(&t->avg, net);
    int rc = mcd_save_weights(net, path);
    mcd_average_swap(&t->avg, net);
    *net->seen = seen;
    return rc;
}

/* BASE.weights, the checkpoint a run resumes from; with an average, that first. */
static int save_latest(trainer *t)
{
    if (t->avg.mean && t->avg.samples) {
        char path[1400], prev[1400];
        average_path(t, "", path, sizeof path);
        average_path(t, ".prev", prev, sizeof prev);
        if (rename(path, prev) != 0 && errno != ENOENT) {
            mcd_set_error("cannot rename '%s' to '%s': %s", path, prev, strerror(errno));
            return -1;
        }
        if (save_average_as(t, path)) return -1;
    }
    return save_checkpoint(t, "");
}

/* A run resumed at fine-tuning iteration `start` has averaged the networks at every
 * select_interval up to it: read their mean back, from whichever file holds it. */
static int load_average(trainer *t, size_t start)
{
    network *net = t->net;
    size_t si = t->tc.select_interval, samples = start / si;
    if (!samples) return 0;
    size_t want = net->max_batches + samples * si, seen = *net->seen, found = 0;
    char path[1400];
    for (int i = 0; i < 2; ++i) {
        average_path(t, i ? ".prev" : "", path, sizeof path);
        if (access(path, F_OK) != 0) continue;
        mcd_average_swap(&t->avg, net); /* the network's numbers wait in the mean's place */
        int rc = mcd_load_weights(net, path, net->n, 1);
        size_t got = current_batch(net);
        mcd_average_swap(&t->avg, net);
        *net->seen = seen;
        if (rc) return -1;
        if (got == want) {
            t->avg.samples = (int)samples;
            t->avg_seen = want * (size_t)net->batch * net->subdivisions;
            printf("resumed the weight average of %zu networks (iterations %zu to %zu) from %s\n",
                   samples, si, samples * si, path);
            return 0;
        }
        if (!found && got > net->max_batches) found = got - net->max_batches;
    }
    average_path(t, "", path, sizeof path);
    char what[64] = "which is missing";
    if (found) snprintf(what, sizeof what, "which holds iteration %zu", found);
    mcd_set_error("finetune_average=1: resuming at fine-tuning iteration %zu needs the mean of "
                  "the networks up to iteration %zu in %s, %s; fine-tune again from "
                  "%s/%s_pretrain.weights, or set finetune_average=0", start, samples * si,
                  path, what, t->backup, t->base);
    return -1;
}

static void format_eta(double s, char *buf, size_t n)
{
    if (s < 0 || !isfinite(s)) s = 0;
    int h = (int)(s / 3600), m = (int)(s / 60) % 60, sec = (int)s % 60;
    if (h) snprintf(buf, n, "%dh%02dm", h, m);
    else snprintf(buf, n, "%dm%02ds", m, sec);
}

static void log_progress(trainer *t, int finetune, size_t step, size_t total, float lr)
{
    network *net = t->net;
    double now = what_time_is_it_now();
    double dt = now - t->interval_start;
    double per_step = t->steps ? dt / t->steps : 0;
    if (finetune) t->time_ft = per_step;
    else t->time_pre = per_step;
    size_t P = net->max_batches, F = t->tc.finetune_batches, cur = current_batch(net);
    double ft_step = t->time_ft > 0 ? t->time_ft : 3 * t->time_pre;
    double eta = (cur < P ? (P - cur) * t->time_pre : 0) +
                 (cur < P ? F : P + F - cur) * ft_step;
    char etas[32];
    format_eta(eta, etas, sizeof etas);
    double ce1 = t->n_lab ? t->sum_ce1 / t->n_lab : NAN, ce2 = t->n_lab ? t->sum_ce2 / t->n_lab : NAN;
    double acc = t->n_lab ? t->sum_acc / t->n_lab : NAN;
    double lu = t->n_unl ? t->sum_lu / t->n_unl : NAN, h1 = t->n_unl ? t->sum_h1 / t->n_unl : NAN;
    double h2 = t->n_unl ? t->sum_h2 / t->n_unl : NAN;
    double ips = dt > 0 ? t->images / dt : 0;
    if (finetune)
        printf("finetune %6zu/%zu  ce1 %.4f ce2 %.4f  L_u %.4f  H1 %.3f H2 %.3f  acc1 %.3f"
               "  lr %g  %.0f img/s  ETA %s\n", step, total, ce1, ce2, lu, h1, h2, acc, lr, ips, etas);
    else
        printf("pretrain %6zu/%zu  ce1 %.4f ce2 %.4f  acc1 %.3f  lr %g  %.0f img/s  ETA %s\n",
               step, total, ce1, ce2, acc, lr, ips, etas);
    fflush(stdout);
    fprintf(t->csv, "%s,%zu,%.6f,%.6f,%.6f,%.6f,%.6f,%.6f,%g,%.1f\n",
            finetune ? "finetune" : "pretrain", step, ce1, ce2, lu, h1, h2, acc, lr, ips);
    fflush(t->csv);
    t->sum_ce1 = t->sum_ce2 = t->sum_lu = t->sum_h1 = t->sum_h2 = t->sum_acc = 0;
    t->n_lab = t->n_unl = t->steps = 0;
    t->images = 0;
    t->interval_start = now;
}

/* A run killed while writing (SIGKILL, power loss) can leave a log's last line cut short:
 * drop it, so that the resumed run's lines follow whole ones. */
static void drop_partial_line(const char *path)
{
    FILE *f = fopen(path, "rb");
    if (!f) return;
    long keep = -1;
    if (fseek(f, 0, SEEK_END) == 0) {
        long size = ftell(f);
        for (long pos = size - 1; pos >= 0 && keep < 0; --pos)
            if (fseek(f, pos, SEEK_SET) == 0 && fgetc(f) == '\n') keep = pos + 1;
        if (keep < 0) keep = 0;
        if (keep == size) keep = -1; /* ends with a newline: whole */
    }
    fclose(f);
    if (keep >= 0 && truncate(path, keep) == 0)
        fprintf(stderr, "darknet: %s ended in a cut line (a run killed while writing); "
                        "dropped it\n", path);
}

/* The temporary files a killed run can leave (checkpoints are written to NAME.tmp and
 * renamed): nothing reads them, remove them. */
static void remove_stale_temporaries(trainer *t)
{
    static const char *names[] = {".weights", "_pretrain.weights", "_best.weights",
                                  "_final.weights", "_best.state", "_average.weights"};
    char path[1400];
    for (size_t i = 0; i < sizeof names / sizeof names[0]; ++i) {
        snprintf(path, sizeof path, "%s/%s%s.tmp", t->backup, t->base, names[i]);
        unlink(path);
    }
}

static FILE *open_log(trainer *t, const char *suffix, const char *header)
{
    char path[1400];
    snprintf(path, sizeof path, "%s/%s%s", t->backup, t->base, suffix);
    int exists = access(path, F_OK) == 0;
    if (exists) drop_partial_line(path);
    FILE *f = fopen(path, "a");
    if (!f) {
        mcd_set_error("cannot write log '%s': %s", path, strerror(errno));
        return NULL;
    }
    if (!exists) fprintf(f, "%s\n", header);
    return f;
}

/* The state of checkpoint choice, kept beside the best checkpoint so a resumed run
 * compares against the same best. */
static void best_state_path(trainer *t, char *buf, size_t n)
{
    snprintf(buf, n, "%s/%s_best.state", t->backup, t->base);
}

static void save_best_state(trainer *t)
{
    char path[1400], tmp[1500];
    best_state_path(t, path, sizeof path);
    snprintf(tmp, sizeof tmp, "%s.tmp", path);
    FILE *f = fopen(tmp, "w");
    if (!f) return;
    const mcd_choice *c = &t->choice;
    fprintf(f, "best_select=%.9g\nbest_acc=%.9g\ntop_select=%.9g\nchosen_acc=%.9g\n",
            c->chosen_flagged, c->best_acc, c->top_flagged, c->chosen_acc);
    if (fclose(f) == 0) rename(tmp, path);
}

static void load_best_state(trainer *t)
{
    char path[1400];
    best_state_path(t, path, sizeof path);
    FILE *f = fopen(path, "r");
    if (!f) return;
    double b, a, top, ca;
    if (fscanf(f, "best_select=%lf\nbest_acc=%lf\n", &b, &a) == 2) {
        mcd_choice *c = &t->choice;
        c->chosen_flagged = c->top_flagged = b;
        c->best_acc = a;
        c->chosen_acc = 0; /* a state file from before select_tolerance: not kept */
        if (fscanf(f, "top_select=%lf\nchosen_acc=%lf", &top, &ca) == 2) {
            c->top_flagged = top;
            c->chosen_acc = ca;
        }
    }
    fclose(f);
}

/* Evaluate for checkpoint choice; save BASE_best.weights when it improves. */
static int select_checkpoint(trainer *t, size_t iter)
{
    if (t->avg.mean) {
        mcd_average_add(&t->avg, t->net);
        t->avg_seen = *t->net->seen;
    }
    if (!t->sel_id.n || !t->sel_unl.n) return 0;
    double acc, thresh;
    double flagged = select_score(t, &acc, &thresh);
    if (flagged < 0) return -1;
    /* The heads must stay good classifiers: a checkpoint competes only while its ID
     * validation accuracy is within select_max_acc_drop of the best seen in fine-tuning.
     * (Not of the pre-trained network's: the step from its last learning rate to the
     * fine-tuning one costs a few points at once, whatever the OOD loss does.) Shares
     * within select_tolerance of the best are ties, won by accuracy (checkpoint_choice.h). */
    int better = mcd_choice_update(&t->choice, flagged, acc, t->tc.select_max_acc_drop,
                                   t->tc.select_tolerance);
    /* with finetune_average the choice is only followed, for deliver_average's check */
    int saved = better && !t->avg.mean;
    printf("select   %6zu  ID-val acc %.4f  L1 threshold@%g%%TPR %.4f  held-out unlabeled "
           "flagged %.4f%s\n", iter, acc, 100 * t->tc.select_tpr, thresh, flagged,
           saved ? "  (best so far: saved)" : better ? "  (best so far)" : "");
    fprintf(t->select_csv, "%zu,%.6f,%.6f,%.6f,%d\n", iter, acc, thresh, flagged, saved);
    fflush(t->select_csv);
    if (saved && save_checkpoint(t, "_best")) return -1;
    if (better) save_best_state(t);
    return 0;
}

/* finetune_average=1, at the end of fine-tuning: the mean of the networks is the result,
 * BASE_best.weights; scored like a checkpoint, for the log. */
static int deliver_average(trainer *t)
{
    char path[1400];
    snprintf(path, sizeof path, "%s/%s_best.weights", t->backup, t->base);
    if (save_average_as(t, path)) return -1;
    if (!t->sel_id.n || !t->sel_unl.n) return 0;
    double acc, thresh;
    mcd_average_swap(&t->avg, t->net);
    double flagged = select_score(t, &acc, &thresh);
    mcd_average_swap(&t->avg, t->net);
    if (flagged < 0) return -1;
    printf("average  of %d networks  ID-val acc %.4f  L1 threshold@%g%%TPR %.4f  held-out "
           "unlabeled flagged %.4f  (saved as %s)\n", t->avg.samples, acc,
           100 * t->tc.select_tpr, thresh, flagged, path);
    fprintf(t->select_csv, "average,%.6f,%.6f,%.6f,1\n", acc, thresh, flagged);
    fflush(t->select_csv);
    /* In 16 runs of cfg/mcd-resnet.cfg the mean flagged 0.84-1.01 times the share of the
     * checkpoint the choice would have kept, except for one pre-trained network whose
     * fine-tunings all separated MNIST poorly (0.44 and 0.65; MNIST AUROC 98). */
    const double low_ratio = 0.75;
    if (t->choice.chosen_flagged > 0 && flagged < low_ratio * t->choice.chosen_flagged)
        fprintf(stderr, "darknet: warning: the mean of the networks flags %.3f of the held-out "
                        "unlabeled images, less than %.0f%% of the %.3f of the best single "
                        "checkpoint: this fine-tuning did not settle on separating them (see "
                        "%s/%s_select.csv); fine-tuning again with another -seed, or "
                        "pre-training again, may do better\n", flagged, 100 * low_ratio,
                t->choice.chosen_flagged, t->backup, t->base);
    return 0;
}

static int stop_for_signal(trainer *t)
{
    if (!stop_signal) return 0;
    fprintf(stderr, "\n%s: saving a checkpoint and stopping\n",
            stop_signal == SIGINT ? "interrupted" : "terminated");
    if (save_latest(t)) return -1;
    fprintf(stderr, "saved %s/%s.weights; resume with: darknet mcd train %s %s/%s.weights\n",
            t->backup, t->base, t->opt->cfg, t->backup, t->base);
    return 1;
}

static int diverged(trainer *t, const char *phase, size_t step)
{
    mcd_set_error("the loss is not finite (NaN or Inf) at %s batch %zu: training stopped "
                  "without saving; the last good checkpoint is in %s/ (try a lower "
                  "learning rate)", phase, step, t->backup);
    return -1;
}

/* The loader's next batch, one pass on it (labeled or not); 0, or -1 with the error set:
 * the batch could not be loaded, the backend could not complete the pass, or the loss
 * diverged at `phase` batch `step`. */
static int train_next(trainer *t, batch_loader *l, int labeled, const char *phase, size_t step)
{
    data d;
    int rc = 0;
    if (batch_loader_next(l, &d)) rc = -1;
    else {
        int loss_bad = train_pass(t, d, labeled);
        /* a pass the backend could not complete: its losses mean nothing */
        if (mcd_backend_check()) rc = -1;
        else if (loss_bad) rc = diverged(t, phase, step);
    }
    free_data(d);
    return rc;
}

static int run_pretraining(trainer *t)
{
    network *net = t->net;
    size_t P = net->max_batches;
    if (current_batch(net) >= P) return 0;
    static const char *policies[] = {"constant", "step", "exp", "poly", "steps", "sig", "random"};
    int pol = net->policy;
    printf("pre-training: batches %zu to %zu, batch %d, lr %g now (base %g, policy %s), "
           "momentum %g, decay %g\n", current_batch(net), P, net->batch * net->subdivisions,
           get_current_rate(net), net->learning_rate,
           pol >= 0 && pol <= RANDOM ? policies[pol] : "?", net->momentum, net->decay);
    start_loader(t, &t->lload, t->train_paths, t->ntrain, t->train_list, t->labels, 1,
                 STREAM_PRETRAIN, current_batch(net) * net->subdivisions);
    mcd_block_head2(net, &t->m, 0);
    t->interval_start = what_time_is_it_now();
    int rc = 0;
    while (current_batch(net) < P) {
        size_t step = current_batch(net);
        for (int s = 0; s < net->subdivisions && rc == 0; ++s)
            rc = train_next(t, &t->lload, 1, "pre-training", step);
        if (rc) break;
        float lr = get_current_rate(net);
        update_network(net);
        *net->seen += (size_t)net->batch * net->subdivisions;
        t->steps++;
        size_t done = current_batch(net);
        if (done % t->tc.log_interval == 0 || done == P) log_progress(t, 0, done, P, lr);
        if (done % t->tc.checkpoint_interval == 0 && save_checkpoint(t, "")) rc = -1;
        if (rc || (rc = stop_for_signal(t))) break;
    }
    batch_loader_stop(&t->lload);
    if (rc) return rc;
    if (save_checkpoint(t, "_pretrain") || save_checkpoint(t, "")) return -1;
    printf("pre-training done: %s/%s_pretrain.weights\n", t->backup, t->base);
    return 0;
}

static int run_finetuning(trainer *t)
{
    network *net = t->net;
    size_t P = net->max_batches, F = t->tc.finetune_batches;
    if (F == 0 || current_batch(net) >= P + F) return 0;
    size_t start = current_batch(net) - P;
    net->policy = CONSTANT;
    net->learning_rate = t->tc.finetune_learning_rate;
    net->momentum = t->tc.finetune_momentum;
    net->decay = t->tc.finetune_decay;
    net->burn_in = 0;
    mcd_choice_init(&t->choice);
    if (start == 0) {
        zero_updates(net);
        double thresh, acc;
        double flagged = select_score(t, &acc, &thresh);
        if (flagged < 0) return -1;
        printf("pre-trained network: ID-val accuracy %.4f, L1 threshold@%g%%TPR %.4f, "
               "held-out unlabeled flagged %.4f\n", acc, 100 * t->tc.select_tpr, thresh, flagged);
        save_best_state(t);
    } else {
        load_best_state(t);
    }
    if (t->tc.finetune_average && (mcd_average_init(&t->avg, net) || load_average(t, start)))
        return -1;
    printf("fine-tuning: iterations %zu to %zu (step A + step B each), lr %g, momentum %g, "
           "decay %g, margin %g\n", start, F, net->learning_rate, net->momentum, net->decay,
           mcd_discrepancy_margin(&net->layers[t->m.discrepancy]));
    /* an iteration takes 2 labeled batches (steps A and B) and 1 unlabeled per subdivision */
    start_loader(t, &t->lload, t->train_paths, t->ntrain, t->train_list, t->labels,
                 t->tc.finetune_augment, STREAM_FINETUNE_LABELED, start * 2 * net->subdivisions);
    start_loader(t, &t->uload, t->unl_paths, t->nunl, t->unl_list, NULL,
                 t->tc.finetune_augment, STREAM_FINETUNE_UNLABELED, start * net->subdivisions);
    t->interval_start = what_time_is_it_now();
    int rc = 0;
    while (current_batch(net) < P + F) {
        size_t it = current_batch(net) - P;
        /* step A: CE on both heads; head 2 trains its own weights only */
        mcd_block_head2(net, &t->m, 1);
        for (int s = 0; s < net->subdivisions && rc == 0; ++s)
            rc = train_next(t, &t->lload, 1, "fine-tuning (step A)", it);
        mcd_block_head2(net, &t->m, 0);
        if (rc) break;
        update_network(net);
        /* step B: CE on a labeled batch + L_u on an unlabeled batch, one update */
        for (int s = 0; s < net->subdivisions && rc == 0; ++s) {
            rc = train_next(t, &t->lload, 1, "fine-tuning (step B)", it);
            if (rc == 0) rc = train_next(t, &t->uload, 0, "fine-tuning (step B, unlabeled)", it);
        }
        if (rc) break;
        update_network(net);
        *net->seen += (size_t)net->batch * net->subdivisions;
        t->steps++;
        size_t done = it + 1;
        if (done % t->tc.log_interval == 0 || done == F)
            log_progress(t, 1, done, F, net->learning_rate);
        if (done % t->tc.select_interval == 0 || done == F) rc = select_checkpoint(t, done);
        if (!rc && done % t->tc.checkpoint_interval == 0 && save_latest(t)) rc = -1;
        if (rc || (rc = stop_for_signal(t))) break;
    }
    batch_loader_stop(&t->lload);
    batch_loader_stop(&t->uload);
    if (rc == 0 && t->avg.mean) rc = deliver_average(t);
    if (rc == 0 && (save_checkpoint(t, "_final") || save_latest(t))) rc = -1;
    mcd_average_free(&t->avg);
    if (rc) return rc;
    printf("fine-tuning done: %s/%s_final.weights; %s: %s/%s_best.weights\n", t->backup,
           t->base, t->tc.finetune_average ? "the mean of its checkpoints"
                                           : "best by checkpoint choice", t->backup, t->base);
    return 0;
}

static int load_start_weights(trainer *t)
{
    network *net = t->net;
    const train_options *o = t->opt;
    if (o->weights && mcd_load_weights(net, o->weights, net->n, 1)) return -1;
    if (o->trunk) {
        int n = o->trunk_layers >= 0 ? o->trunk_layers : t->m.split;
        if (n > t->m.split) {
            mcd_set_error("-trunk_layers %d reaches past the trunk (it ends at layer %d)", n,
                          t->m.split);
            return -1;
        }
        if (mcd_load_weights(net, o->trunk, n, 0)) return -1;
        *net->seen = 0; /* a classifier's schedule is not ours */
        printf("loaded layers 0-%d of %s into the trunk\n", n - 1, o->trunk);
    }
    if (o->clear) *net->seen = 0;
    return 0;
}

int mcd_train(int argc, char **argv)
{
    if (argc >= 2 && (strcmp(argv[1], "-h") == 0 || strcmp(argv[1], "--help") == 0)) {
        usage(stdout);
        return 0;
    }
    train_options o;
    if (parse_options(argc, argv, &o)) {
        fprintf(stderr, "darknet: error: %s\n\n", mcd_last_error());
        usage(stderr);
        return 1;
    }
    trainer t = {0};
    t.opt = &o;
    if (mcd_read_train_config(o.cfg, &t.tc)) mcd_die();
    t.seed = o.seed >= 0 ? (unsigned long)o.seed : (unsigned long)time(0);
    srand((unsigned)t.seed); /* the heads' initial weights, the checkpoint-choice subsets */
    t.net = mcd_parse_network_cfg(o.cfg);
    if (!t.net) mcd_die();
    if (mcd_find_layout(t.net, &t.m)) {
        fprintf(stderr, "darknet: error: %s: %s\n", o.cfg, mcd_last_error());
        return 1;
    }
    if (t.net->c != 3) {
        mcd_set_error("%s: [net] channels=%d, but Darknet's classification loader reads "
                      "images as 3 channels: set channels=3", o.cfg, t.net->c);
        mcd_die();
    }
    if (o.pretrain_batches >= 0) t.net->max_batches = o.pretrain_batches;
    if (o.finetune_batches >= 0) t.tc.finetune_batches = o.finetune_batches;
    base_name(o.cfg, t.base, sizeof t.base);
    if (load_start_weights(&t) || setup_data(&t)) mcd_die();
    remove_stale_temporaries(&t);
    t.csv = open_log(&t, "_train.csv", "phase,batch,ce1,ce2,l_u,h1,h2,acc1,lr,images_per_s");
    t.select_csv = open_log(&t, "_select.csv",
                            "iteration,id_val_acc,l1_threshold,heldout_flagged,saved");
    if (!t.csv || !t.select_csv) mcd_die();

    struct sigaction sa = {0};
    sa.sa_handler = on_signal;
    sigaction(SIGINT, &sa, NULL);
    sigaction(SIGTERM, &sa, NULL);

    int rc = run_pretraining(&t);
    if (rc == 0) rc = run_finetuning(&t);
    fclose(t.csv);
    fclose(t.select_csv);
    free_image_set(&t.sel_id);
    free_image_set(&t.sel_unl);
    if (rc < 0) mcd_die();
    if (rc > 0) return stop_signal == SIGTERM ? 143 : 130;
    printf("training complete: %zu batches (%d pre-training + %d fine-tuning)\n",
           current_batch(t.net), t.net->max_batches, t.tc.finetune_batches);
    free_network(t.net);
    return 0;
}
