/* The trainer's set-up, its two phases and the pass that both run (see trainer.h). The
 * files it writes are checkpoints.c's, its reports train_log.c's, its checkpoint choice
 * checkpoint_score.c's; here is the order of things. */
#include "train/trainer.h"

#include <math.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "backend/cpu_backend.h"
#include "backend/gpu_device.h"
#include "darknet.h"
#include "io/data_lists.h"
#include "io/image_io.h"
#include "layers/discrepancy_layer.h"
#include "network/mcd_network.h"
#include "network/network_gpu.h"
#include "network/train_config.h"
#include "network/weights_file.h"
#include "train/batch_loader.h"
#include "train/checkpoint_score.h"
#include "train/checkpoints.h"
#include "train/run_lock.h"
#include "train/gpu_replicas.h"
#include "train/train_data.h"
#include "train/train_log.h"
#include "train/training_health.h"
#include "util/file_paths.h"
#include "util/mcd_error.h"
#include "util/stop_signal.h"

typedef struct trainer {
    network *net;         /* the network trained (on the CPU, or the first GPU) */
    mcd_replicas rep;     /* net and its copies on the other GPUs (gpu_replicas.h) */
    mcd_layout m;
    mcd_train_config tc;
    const mcd_train_options *opt;
    unsigned long seed;
    mcd_train_data data;
    mcd_checkpoints ck;
    mcd_train_log log;
    mcd_selection sel;
    int gpus[MCD_MAX_GPUS], ngpus; /* opt->gpus read; 0: the CPU */
    batch_loader lload, uload; /* labeled, unlabeled */
    mcd_run_lock lock;         /* BACKUP/BASE.lock: one run per backup directory and name */
    double pretrained_flagged; /* the pre-trained network's held-out share (-1: not known) */
    int attempt;               /* 1, then 2, ... with -retries */
    mcd_health health;         /* the end-of-training check (training_health.h) */
} trainer;

/* --- set-up ---------------------------------------------------------------------------- */

/* The cfg's schedule and network, with the options' overrides. */
static int read_network(trainer *t)
{
    const mcd_train_options *o = t->opt;
    if (mcd_read_train_config(o->cfg, &t->tc)) return -1;
    srand((unsigned)t->seed); /* the heads' initial weights, the checkpoint-choice subsets */
    if (o->gpus && (t->ngpus = mcd_gpu_parse_list("-gpus", o->gpus, t->gpus, MCD_MAX_GPUS)) < 0)
        return -1;
    if (mcd_gpu_select(t->ngpus ? t->gpus[0] : -1)) return -1;
    t->net = mcd_parse_network_cfg(o->cfg);
    if (!t->net) return -1;
    if (mcd_network_gpu_check(t->net)) {
        mcd_set_error("%s: %s", o->cfg, mcd_last_error());
        return -1;
    }
    if (mcd_find_layout(t->net, &t->m)) {
        mcd_set_error("%s: %s", o->cfg, mcd_last_error());
        return -1;
    }
    if (t->net->c != 1 && t->net->c != 3) {
        mcd_set_error("%s: [net] channels=%d: images are read as 3 channels (colour) or 1 "
                      "(grey)", o->cfg, t->net->c);
        return -1;
    }
    if (o->pretrain_batches >= 0) t->net->max_batches = o->pretrain_batches;
    if (o->finetune_batches >= 0) t->tc.finetune_batches = o->finetune_batches;
    return 0;
}

static int load_start_weights(trainer *t)
{
    network *net = t->net;
    const mcd_train_options *o = t->opt;
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

/* A run already training into the same backup directory under the same name is refused
 * at once, before anything is parsed, read or written. Only a quick look: a cfg or data
 * file that cannot be read is reported by the steps that read them, and the lock itself
 * is taken (mcd_run_lock_take) once the data is checked, before the first write. */
static int refuse_if_running(trainer *t)
{
    char datafile[4096], backup[1024];
    if (mcd_resolve_data_file(t->opt->cfg, t->opt->data, datafile, sizeof datafile, NULL) ||
        mcd_train_backup_dir(datafile, t->opt->backup, backup, sizeof backup))
        return 0;
    return mcd_run_lock_check(backup, t->ck.base);
}

static void print_devices(const trainer *t)
{
    const mcd_replicas *r = &t->rep;
    if (r->device[0] < 0) return;
    printf("training on %s", mcd_gpu_describe(r->device[0]));
    for (int g = 1; g < r->n; ++g) printf(", %s", mcd_gpu_describe(r->device[g]));
    if (r->n > 1) printf(": %d of the %d images of each pass on each", r->share, r->batch);
    printf("\n");
}

static int setup(trainer *t)
{
    mcd_base_name(t->opt->cfg, ".cfg", t->ck.base, sizeof t->ck.base);
    if (refuse_if_running(t) || read_network(t)) return -1;
    char datafile[4096];
    if (mcd_resolve_data_file(t->opt->cfg, t->opt->data, datafile, sizeof datafile, NULL) ||
        load_start_weights(t) ||
        mcd_train_data_load(&t->data, datafile, t->opt->backup, t->net, &t->tc, t->m.classes))
        return -1;
    snprintf(t->ck.backup, sizeof t->ck.backup, "%s", t->data.backup);
    /* from here on the run writes: the temporaries of a killed run are removed, the log
     * opened, checkpoints saved; another run must not be doing the same */
    int finetuning = get_current_batch(t->net) >= (size_t)t->net->max_batches;
    if (mcd_run_lock_take(&t->lock, t->ck.backup, t->ck.base,
                          finetuning ? MCD_PHASE_FINETUNE : MCD_PHASE_PRETRAIN))
        return -1;
    mcd_checkpoint_remove_stale(&t->ck);
    if (mcd_replicas_start(&t->rep, t->net, t->opt->cfg, t->gpus, t->ngpus))
        return -1;
    print_devices(t);
    t->sel = (mcd_selection){.net = t->net, .m = &t->m, .tc = &t->tc,
                             .id = &t->data.sel_id, .unl = &t->data.sel_unl};
    return mcd_train_log_open(&t->log, t->ck.backup, t->ck.base, t->net->max_batches,
                              t->tc.finetune_batches);
}

static void trainer_free(trainer *t)
{
    mcd_replicas_stop(&t->rep);
    mcd_train_log_close(&t->log);
    mcd_train_data_free(&t->data);
    mcd_average_free(&t->ck.avg);
    if (t->net) free_network(t->net);
    t->net = NULL;
    mcd_run_lock_release(&t->lock); /* last: every file is written and closed */
}

/* Streams of the loaders' random numbers: one per loader and phase. */
enum { STREAM_PRETRAIN = 1, STREAM_FINETUNE_LABELED, STREAM_FINETUNE_UNLABELED };

/* Start a loader of the labeled or the unlabeled list at batch `first` of its stream. */
static void start_loader(trainer *t, batch_loader *l, int labeled, int augment, int stream,
                         size_t first)
{
    network *net = t->net;
    const mcd_train_data *d = &t->data;
    batch_loader_config c = {
        .paths = labeled ? d->train_paths : d->unl_paths,
        .npaths = labeled ? d->ntrain : d->nunl,
        .list_name = labeled ? d->train_list : d->unl_list,
        .labels = labeled ? d->labels : NULL, .classes = d->classes,
        .batch = net->batch, .w = net->w, .h = net->h, .c = net->c,
        .seed = t->seed, .stream = (uint64_t)stream, .first = first,
    };
    if (!labeled && stream == STREAM_FINETUNE_UNLABELED) { /* step B's synthetic outliers */
        c.outliers = t->tc.finetune_outliers;
        c.outlier_kinds = t->tc.finetune_outlier_kinds;
        c.source_paths = d->train_paths;
        c.nsource = d->ntrain;
        c.source_labels = d->labels;
        c.source_list_name = d->train_list;
    }
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

/* --- one pass -------------------------------------------------------------------------- */

/* A labeled pass's figures for the log (the pass of `net` on rows first.. of d); -1 if a
 * loss is not finite. */
static int log_labeled_pass(trainer *t, network *net, data d, int first, int rows)
{
    layer *s1 = &net->layers[t->m.softmax1], *s2 = &net->layers[t->m.softmax2];
    double ce1 = s1->cost[0] / rows, ce2 = s2->cost[0] / rows;
    if (!isfinite(ce1) || !isfinite(ce2)) return -1;
    int K = t->data.classes, correct = 0;
    for (int b = 0; b < rows; ++b) {
        int best = 0, truth_k = 0;
        const float *truth = d.y.vals[first + b];
        for (int k = 0; k < K; ++k) {
            if (s1->output[b * K + k] > s1->output[b * K + best]) best = k;
            if (truth[k] > truth[truth_k]) truth_k = k;
        }
        correct += best == truth_k;
    }
    mcd_train_log_labeled(&t->log, ce1, ce2, (double)correct / rows, rows);
    return 0;
}

/* An unlabeled pass's figures for the log; -1 if the loss is not finite. */
static int log_unlabeled_pass(trainer *t, network *net, int rows)
{
    layer *dl = &net->layers[t->m.discrepancy];
    double lu = dl->cost[0] / rows; /* the layer reports batch * L_u */
    if (!isfinite(lu)) return -1;
    mcd_train_log_unlabeled(&t->log, lu, mcd_discrepancy_mean_entropy(dl, 1),
                            mcd_discrepancy_mean_entropy(dl, 2), mcd_discrepancy_distance(dl),
                            rows);
    return 0;
}

/* One network's pass: its share of the batch d (rows i * share ...). */
typedef struct pass_job {
    data d;
    int labeled, share;
} pass_job;

/* One forward + backward pass; labeled passes train the heads with CE, unlabeled passes
 * (no truth) with [mcd_discrepancy]. */
static void train_pass(network *net, int i, void *arg)
{
    const pass_job *p = arg;
    int first = i * p->share;
    for (int b = 0; b < p->share; ++b)
        memcpy(net->input + (size_t)b * net->inputs, p->d.X.vals[first + b],
               sizeof(float) * net->inputs);
    float *truth = net->truth;
    if (p->labeled)
        for (int b = 0; b < p->share; ++b)
            memcpy(net->truth + (size_t)b * net->truths, p->d.y.vals[first + b],
                   sizeof(float) * net->truths);
    else
        net->truth = NULL;
    net->train = 1;
    forward_network(net);
    backward_network(net);
    net->truth = truth;
}

/* The pass on every network (each its share of d), then the log; 0, or -1 if a loss is
 * not finite. */
static int train_passes(trainer *t, data d, int labeled)
{
    mcd_replicas *r = &t->rep;
    pass_job job = {d, labeled, r->share};
    mcd_replicas_run(r, train_pass, &job);
    int bad = 0;
    for (int g = 0; g < r->n; ++g)
        bad |= labeled ? log_labeled_pass(t, r->net[g], d, g * r->share, r->share)
                       : log_unlabeled_pass(t, r->net[g], r->share);
    return bad ? -1 : 0;
}

static int diverged(trainer *t, const char *phase, size_t step)
{
    mcd_set_error("the loss is not finite (NaN or Inf) at %s batch %zu: training stopped "
                  "without saving; the last good checkpoint is in %s/ (try a lower "
                  "learning rate)", phase, step, t->ck.backup);
    return -1;
}

/* The loader's next batch, one pass on it (labeled or not); 0, or -1 with the error set:
 * the batch could not be loaded, the backend could not complete the pass, or the loss
 * diverged at `phase` batch `step`. */
static int train_next(trainer *t, batch_loader *l, int labeled, const char *phase, size_t step)
{
    data d;
    int rc = 0;
    if (batch_loader_next(l, &d)) {
        rc = -1;
    } else {
        int loss_bad = train_passes(t, d, labeled);
        /* a pass the backend could not complete: its losses mean nothing */
        if (mcd_backend_check()) rc = -1;
        else if (loss_bad) rc = diverged(t, phase, step);
    }
    free_data(d);
    return rc;
}

/* 1 after saving BASE.weights when SIGINT or SIGTERM came; 0 when none did; -1 when the
 * save failed. */
static int stop_for_signal(trainer *t)
{
    int sig = mcd_stop_signal();
    if (!sig) return 0;
    fprintf(stderr, "\n%s: saving a checkpoint and stopping\n",
            sig == SIGINT ? "interrupted" : "terminated");
    mcd_network_pull_weights(t->net);
    if (mcd_checkpoint_save_latest(&t->ck, t->net)) return -1;
    fprintf(stderr, "saved %s/%s.weights; resume with: darknet mcd train %s %s/%s.weights\n",
            t->ck.backup, t->ck.base, t->opt->cfg, t->ck.backup, t->ck.base);
    return 1;
}

/* --- pre-training ---------------------------------------------------------------------- */

static int run_pretraining(trainer *t)
{
    network *net = t->net;
    size_t P = net->max_batches;
    if (get_current_batch(net) >= P) return 0;
    static const char *policies[] = {"constant", "step", "exp", "poly", "steps", "sig", "random"};
    int pol = net->policy;
    printf("pre-training: batches %zu to %zu, batch %d, lr %g now (base %g, policy %s), "
           "momentum %g, decay %g\n", get_current_batch(net), P, net->batch * net->subdivisions,
           get_current_rate(net), net->learning_rate,
           pol >= 0 && pol <= RANDOM ? policies[pol] : "?", net->momentum, net->decay);
    start_loader(t, &t->lload, 1, 1, STREAM_PRETRAIN, get_current_batch(net) * net->subdivisions);
    mcd_replicas_block_head2(&t->rep, &t->m, 0);
    mcd_train_log_start(&t->log);
    int rc = 0;
    while (get_current_batch(net) < P) {
        size_t step = get_current_batch(net);
        for (int s = 0; s < net->subdivisions && rc == 0; ++s)
            rc = train_next(t, &t->lload, 1, "pre-training", step);
        if (rc) break;
        float lr = get_current_rate(net);
        mcd_replicas_update(&t->rep);
        *net->seen += (size_t)net->batch * net->subdivisions;
        mcd_train_log_step(&t->log);
        size_t done = get_current_batch(net);
        if (done % t->tc.log_interval == 0 || done == P) mcd_train_log_progress(&t->log, 0, done, lr);
        if (done % t->tc.checkpoint_interval == 0) {
            mcd_network_pull_weights(net); /* from the GPU, when training there */
            if (mcd_checkpoint_save(&t->ck, net, "")) rc = -1;
        }
        if (rc || (rc = stop_for_signal(t))) break;
    }
    batch_loader_stop(&t->lload);
    if (rc) return rc;
    mcd_network_pull_weights(net);
    if (mcd_checkpoint_save(&t->ck, net, "_pretrain") || mcd_checkpoint_save(&t->ck, net, ""))
        return -1;
    printf("pre-training done: %s/%s_pretrain.weights\n", t->ck.backup, t->ck.base);
    return 0;
}

/* --- fine-tuning ----------------------------------------------------------------------- */

/* The figures of the health check as they stand. */
static mcd_health_figures health_figures(const trainer *t, double result, int averaged)
{
    const mcd_choice *c = &t->sel.choice;
    return (mcd_health_figures){
        .id_rate = 1 - t->tc.select_tpr, .n_val = t->data.sel_id.n, .n_unl = t->data.sel_unl.n,
        .pretrained = t->pretrained_flagged, .top = c->top_flagged, .chosen = c->chosen_flagged,
        .result = result, .averaged = averaged};
}

/* BACKUP/BASE.health: pending (at the start of fine-tuning, with the pre-trained network's
 * share), else the verdict. 0, or -1 with the error set. */
static int write_health(trainer *t, int pending)
{
    char path[1400];
    mcd_checkpoint_path(&t->ck, ".health", path, sizeof path);
    if (pending) {
        t->health.f = health_figures(t, -1, t->tc.finetune_average);
        t->health.margin = mcd_health_margin(&t->health.f);
    }
    t->health.seed = (long)t->seed;
    t->health.attempt = t->attempt;
    return mcd_health_write(path, &t->health, pending);
}

/* A resumed fine-tuning: the pre-trained network's share from the record written when
 * fine-tuning started, if there is one. */
static void read_pretrained_share(trainer *t)
{
    char path[1400];
    mcd_health h;
    int pending;
    mcd_checkpoint_path(&t->ck, ".health", path, sizeof path);
    if (mcd_health_read(path, &h, &pending) == 0) t->pretrained_flagged = h.f.pretrained;
}

/* Whether MCD_TEST_FAILED_SEEDS, a comma-separated list of seeds, names this run's: a hook
 * for the tests of -retries, which need a run that fails the check. */
static int forced_to_fail(const trainer *t)
{
    const char *list = getenv("MCD_TEST_FAILED_SEEDS");
    while (list && *list) {
        char *end;
        unsigned long v = strtoul(list, &end, 10);
        if (end == list) break;
        if (v == t->seed) return 1;
        list = *end == ',' ? end + 1 : end;
    }
    return 0;
}

/* Fine-tuning on a pool without OOD taught the heads nothing about OOD, only to agree
 * more: with the verdict no-ood or little-ood (and no_ood_keep_pretrained=1) the
 * pre-trained network becomes the result (docs/commands.md, "The health check"), and the
 * reason says what happened. Not with synthetic outliers: they were OOD the heads learnt
 * to disagree on. 0, or -1 with the error set. */
static int keep_pretrained_if_no_ood(trainer *t)
{
    mcd_health_verdict v = t->health.verdict;
    if ((v != MCD_HEALTH_NO_OOD && v != MCD_HEALTH_LITTLE_OOD) || !t->tc.no_ood_keep_pretrained)
        return 0;
    char pre[1400];
    mcd_checkpoint_path(&t->ck, "_pretrain.weights", pre, sizeof pre);
    const char *note;
    if (t->tc.finetune_outliers > 0)
        note = "; the fine-tuned result stays: synthetic outliers (finetune_outliers) were OOD "
               "to learn from";
    else if (access(pre, F_OK) != 0) /* a run resumed from an older tree's files */
        note = "; no %s_pretrain.weights here to keep: the fine-tuned result stays";
    else if (mcd_checkpoint_best_from_pretrain(&t->ck))
        return -1;
    else
        note = "; %s_best.weights is the pre-trained network (no_ood_keep_pretrained=1)";
    size_t len = strlen(t->health.reason);
    snprintf(t->health.reason + len, sizeof t->health.reason - len, note, t->ck.base);
    return 0;
}

/* The health check at the end of fine-tuning: judge, print, record. result: the held-out
 * share of BASE_best.weights. 0, or -1 with the error set. */
static int check_health(trainer *t, double result)
{
    int averaged = t->tc.finetune_average;
    if (!averaged) result = t->sel.choice.chosen_flagged;
    mcd_health_figures f = health_figures(t, result, averaged);
    mcd_health_judge(&f, &t->health);
    if (forced_to_fail(t)) {
        t->health.verdict = MCD_HEALTH_FAILED;
        snprintf(t->health.reason, sizeof t->health.reason,
                 "forced by MCD_TEST_FAILED_SEEDS (a test hook)");
    }
    if (keep_pretrained_if_no_ood(t)) return -1;
    char path[1400];
    mcd_checkpoint_path(&t->ck, ".health", path, sizeof path);
    printf("training health: %s: %s (%s)\n", mcd_health_name(t->health.verdict),
           t->health.reason, path);
    if (t->health.verdict == MCD_HEALTH_FAILED)
        fprintf(stderr, "darknet: warning: training health check failed: %s; see %s/%s_select.csv;"
                        " fine-tuning again with another -seed, or pre-training again "
                        "(-retries), may do better\n", t->health.reason, t->ck.backup, t->ck.base);
    return write_health(t, 0);
}

/* Fine-tuning's optimizer, and checkpoint choice (with the weight average) as it stood at
 * iteration `start`: from the pre-trained network's score at 0, else from the files. */
static int start_finetuning(trainer *t, size_t start)
{
    network *net = t->net;
    net->policy = CONSTANT;
    net->learning_rate = t->tc.finetune_learning_rate;
    net->momentum = t->tc.finetune_momentum;
    net->decay = t->tc.finetune_decay;
    net->burn_in = 0;
    mcd_choice_init(&t->sel.choice);
    if (start == 0) {
        /* momentum lives in Darknet's *_updates buffers: a new phase, a new optimizer */
        mcd_replicas_zero_updates(&t->rep);
        double thresh, acc;
        mcd_replicas_whole_batch(&t->rep, 1);
        double flagged = mcd_select_score(&t->sel, &acc, &thresh);
        mcd_replicas_whole_batch(&t->rep, 0);
        if (flagged < 0) return -1;
        printf("pre-trained network: ID-val accuracy %.4f, L1 threshold@%g%%TPR %.4f, "
               "held-out unlabeled flagged %.4f\n", acc, 100 * t->tc.select_tpr, thresh, flagged);
        mcd_best_state_save(&t->ck, &t->sel.choice);
        /* fine-tuning started from another directory's pre-trained weights: a copy here,
         * the result no_ood_keep_pretrained falls back on */
        char pre[1400];
        mcd_checkpoint_path(&t->ck, "_pretrain.weights", pre, sizeof pre);
        if (access(pre, F_OK) != 0) {
            mcd_network_pull_weights(net);
            if (mcd_checkpoint_save(&t->ck, net, "_pretrain")) return -1;
        }
        if (t->data.sel_id.n && t->data.sel_unl.n) t->pretrained_flagged = flagged;
        if (write_health(t, 1)) return -1;
    } else {
        mcd_best_state_load(&t->ck, &t->sel.choice);
        read_pretrained_share(t);
    }
    if (t->tc.finetune_average && (mcd_average_init(&t->ck.avg, net) ||
                                   mcd_checkpoint_load_average(&t->ck, net, start,
                                                               t->tc.select_interval)))
        return -1;
    const layer *dl = &net->layers[t->m.discrepancy];
    printf("fine-tuning: iterations %zu to %d (step A + step B each), lr %g, momentum %g, "
           "decay %g, loss %s, margin %g\n", start, t->tc.finetune_batches, net->learning_rate,
           net->momentum, net->decay, mcd_loss_kind_name(mcd_discrepancy_loss_kind(dl)),
           mcd_discrepancy_margin(dl));
    if (t->tc.finetune_outliers > 0) {
        printf("synthetic outliers: %g of each unlabeled batch, made from %s (",
               t->tc.finetune_outliers, t->data.train_list);
        for (int i = 0, n = 0; i < MCD_OUTLIER_KINDS; ++i)
            if (t->tc.finetune_outlier_kinds & (1 << i))
                printf("%s%s", n++ ? ", " : "", mcd_outlier_kind_name(i));
        printf(")\n");
    }
    /* an iteration takes 2 labeled batches (steps A and B) and 1 unlabeled per subdivision */
    start_loader(t, &t->lload, 1, t->tc.finetune_augment, STREAM_FINETUNE_LABELED,
                 start * 2 * net->subdivisions);
    start_loader(t, &t->uload, 0, t->tc.finetune_augment, STREAM_FINETUNE_UNLABELED,
                 start * net->subdivisions);
    mcd_train_log_start(&t->log);
    return 0;
}

/* Steps A and B of fine-tuning iteration `it`; 0, or -1 with the error set. */
static int finetune_iteration(trainer *t, size_t it)
{
    network *net = t->net;
    int rc = 0;
    /* step A: CE on both heads; head 2 trains its own weights only */
    mcd_replicas_block_head2(&t->rep, &t->m, 1);
    for (int s = 0; s < net->subdivisions && rc == 0; ++s)
        rc = train_next(t, &t->lload, 1, "fine-tuning (step A)", it);
    mcd_replicas_block_head2(&t->rep, &t->m, 0);
    if (rc) return rc;
    mcd_replicas_update(&t->rep);
    /* step B: CE on a labeled batch + L_u on an unlabeled batch, one update */
    for (int s = 0; s < net->subdivisions && rc == 0; ++s) {
        rc = train_next(t, &t->lload, 1, "fine-tuning (step B)", it);
        if (rc == 0) rc = train_next(t, &t->uload, 0, "fine-tuning (step B, unlabeled)", it);
    }
    if (rc) return rc;
    mcd_replicas_update(&t->rep);
    *net->seen += (size_t)net->batch * net->subdivisions;
    mcd_train_log_step(&t->log);
    return 0;
}

/* After iteration `done`: the log line, checkpoint choice, BASE.weights, as due. */
static int after_iteration(trainer *t, size_t done)
{
    size_t F = t->tc.finetune_batches;
    if (done % t->tc.log_interval == 0 || done == F)
        mcd_train_log_progress(&t->log, 1, done, t->net->learning_rate);
    int select = done % t->tc.select_interval == 0 || done == F;
    /* the weight average and the checkpoint files read the host copy */
    if (select || done % t->tc.checkpoint_interval == 0) mcd_network_pull_weights(t->net);
    if (select) {
        mcd_checkpoint_average_add(&t->ck, t->net);
        mcd_replicas_whole_batch(&t->rep, 1);
        int rc = mcd_select_checkpoint(&t->sel, &t->ck, &t->log, done);
        mcd_replicas_whole_batch(&t->rep, 0);
        if (rc) return -1;
    }
    if (done % t->tc.checkpoint_interval == 0 && mcd_checkpoint_save_latest(&t->ck, t->net))
        return -1;
    return 0;
}

static int run_finetuning(trainer *t)
{
    network *net = t->net;
    size_t P = net->max_batches, F = t->tc.finetune_batches;
    if (F == 0 || get_current_batch(net) >= P + F) return 0;
    mcd_run_lock_set_phase(&t->lock, MCD_PHASE_FINETUNE); /* BASE_pretrain.weights is final */
    int rc = start_finetuning(t, get_current_batch(net) - P);
    if (rc) return rc;
    while (get_current_batch(net) < P + F) {
        size_t it = get_current_batch(net) - P;
        rc = finetune_iteration(t, it);
        if (rc == 0) rc = after_iteration(t, it + 1);
        if (rc || (rc = stop_for_signal(t))) break;
    }
    batch_loader_stop(&t->lload);
    batch_loader_stop(&t->uload);
    mcd_network_pull_weights(net);
    mcd_replicas_whole_batch(&t->rep, 1);
    double result = -1;
    if (rc == 0 && t->ck.avg.mean) rc = mcd_select_average(&t->sel, &t->ck, &t->log, &result);
    if (rc == 0 && (mcd_checkpoint_save(&t->ck, net, "_final") ||
                    mcd_checkpoint_save_latest(&t->ck, net)))
        rc = -1;
    mcd_average_free(&t->ck.avg);
    if (rc == 0) rc = check_health(t, result);
    if (rc) return rc;
    printf("fine-tuning done: %s/%s_final.weights; %s: %s/%s_best.weights\n", t->ck.backup,
           t->ck.base, t->tc.finetune_average ? "the mean of its checkpoints"
                                              : "best by checkpoint choice",
           t->ck.backup, t->ck.base);
    return 0;
}

/* --- the run --------------------------------------------------------------------------- */

/* One run of the schedule with this seed; its health check into *health, and its backup
 * directory and base name into *ck (for -retries). */
static int run_attempt(const mcd_train_options *o, unsigned long seed, int attempt,
                       mcd_health *health, mcd_checkpoints *ck)
{
    trainer t;
    memset(&t, 0, sizeof t);
    t.opt = o;
    t.seed = seed;
    t.attempt = attempt;
    t.pretrained_flagged = -1;
    t.lock.fd = -1;
    mcd_set_image_max_pixels(o->max_pixels);
    int rc = setup(&t);
    if (rc == 0) {
        mcd_stop_signal_install(0); /* every signal waits for the save */
        rc = run_pretraining(&t);
        if (rc == 0) rc = run_finetuning(&t);
        /* a schedule of 0 batches after -trunk: the network with its loaded trunk is the
         * result, a starting point to check or train from */
        if (rc == 0 && o->trunk && get_current_batch(t.net) == 0) {
            rc = mcd_checkpoint_save(&t.ck, t.net, "");
            if (rc == 0) printf("nothing to train: saved %s/%s.weights\n", t.ck.backup, t.ck.base);
        }
    }
    if (rc == 0)
        printf("training complete: %zu batches (%d pre-training + %d fine-tuning)\n",
               get_current_batch(t.net), t.net->max_batches, t.tc.finetune_batches);
    *health = t.health;
    if (!health->reason[0])
        snprintf(health->reason, sizeof health->reason, "no fine-tuning ran: not checked");
    snprintf(ck->backup, sizeof ck->backup, "%s", t.ck.backup);
    snprintf(ck->base, sizeof ck->base, "%s", t.ck.base);
    trainer_free(&t);
    return rc;
}

static void print_attempts(const mcd_health *h, const unsigned long *seeds, int n)
{
    printf("attempts:\n");
    for (int a = 0; a < n; ++a)
        printf("  %d  seed %lu  %s: %s\n", a + 1, seeds[a], mcd_health_name(h[a].verdict),
               h[a].reason);
}

int mcd_trainer_run(const mcd_train_options *o)
{
    if (o->retries > 0 && o->weights && !o->clear) {
        mcd_set_error("-retries %d pre-trains again from the start: give no WEIGHTS (or "
                      "-clear to start each attempt from them)", o->retries);
        return -1;
    }
    unsigned long seed = o->seed >= 0 ? (unsigned long)o->seed : (unsigned long)time(0);
    int n = o->retries > 0 ? o->retries + 1 : 1, rc = 0, a;
    mcd_health *h = calloc((size_t)n, sizeof *h);
    unsigned long *seeds = calloc((size_t)n, sizeof *seeds);
    if (!h || !seeds) {
        free(h);
        free(seeds);
        mcd_set_error("out of memory for %d attempts", n);
        return -1;
    }
    for (a = 0; a < n; ++a) {
        mcd_checkpoints ck;
        seeds[a] = seed + (unsigned long)a;
        if (a) printf("\nattempt %d of %d: seed %lu\n", a + 1, n, seeds[a]);
        rc = run_attempt(o, seeds[a], a + 1, &h[a], &ck);
        if (rc || h[a].verdict != MCD_HEALTH_FAILED || a + 1 == n) break;
        char kept[300];
        if ((rc = mcd_checkpoint_keep_failed(&ck, seeds[a], kept, sizeof kept))) break;
        printf("attempt %d (seed %lu) failed the health check: its files are kept as "
               "%s/%s*; pre-training again with seed %lu\n", a + 1, seeds[a], ck.backup, kept,
               seeds[a] + 1);
        if (o->weights && access(o->weights, R_OK) != 0) {
            mcd_set_error("-retries: WEIGHTS '%s' was one of the failed run's files (kept as "
                          "%s/%s*): start the attempts from weights outside the backup "
                          "directory", o->weights, ck.backup, kept);
            rc = -1;
            break;
        }
    }
    if (o->retries > 0 && rc == 0) print_attempts(h, seeds, a < n ? a + 1 : n);
    free(h);
    free(seeds);
    return rc;
}
