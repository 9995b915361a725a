#include "train/checkpoints.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "network/network_gpu.h"
#include "network/weights_file.h"
#include "util/file_tree.h"
#include "util/mcd_error.h"

/* backup (1024) + '/' + base (256) + the longest suffix */
#define PATH_SIZE 1400

void mcd_checkpoint_path(const mcd_checkpoints *c, const char *suffix, char *buf, size_t n)
{
    snprintf(buf, n, "%s/%s%s", c->backup, c->base, suffix);
}

int mcd_checkpoint_save(const mcd_checkpoints *c, network *net, const char *suffix)
{
    char path[PATH_SIZE];
    snprintf(path, sizeof path, "%s/%s%s.weights", c->backup, c->base, suffix);
    return mcd_save_weights(net, path) ? -1 : 0;
}

static void average_path(const mcd_checkpoints *c, const char *suffix, char *buf, size_t n)
{
    snprintf(buf, n, "%s/%s_average.weights%s", c->backup, c->base, suffix);
}

int mcd_checkpoint_save_average(mcd_checkpoints *c, network *net, const char *path)
{
    size_t seen = *net->seen;
    *net->seen = c->avg_seen;
    mcd_average_swap(&c->avg, net);
    int rc = mcd_save_weights(net, path);
    mcd_average_swap(&c->avg, net);
    *net->seen = seen;
    return rc;
}

int mcd_checkpoint_save_latest(mcd_checkpoints *c, network *net)
{
    if (c->avg.mean && c->avg.samples) {
        char path[PATH_SIZE], prev[PATH_SIZE];
        average_path(c, "", path, sizeof path);
        average_path(c, ".prev", prev, sizeof prev);
        if (rename(path, prev) != 0 && errno != ENOENT) {
            mcd_set_error("cannot rename '%s' to '%s': %s", path, prev, strerror(errno));
            return -1;
        }
        if (mcd_checkpoint_save_average(c, net, path)) return -1;
    }
    return mcd_checkpoint_save(c, net, "");
}

void mcd_checkpoint_remove_stale(const mcd_checkpoints *c)
{
    static const char *names[] = {".weights", "_pretrain.weights", "_best.weights",
                                  "_final.weights", "_best.state", "_average.weights"};
    char path[PATH_SIZE];
    for (size_t i = 0; i < sizeof names / sizeof names[0]; ++i) {
        snprintf(path, sizeof path, "%s/%s%s.tmp", c->backup, c->base, names[i]);
        unlink(path);
    }
}

/* Every file of a run: BACKUP/BASE<suffix>. The lock stays (run_lock.h). */
static const char *run_files[] = {".weights", "_pretrain.weights", "_best.weights",
                                  "_final.weights", "_best.state", "_average.weights",
                                  "_average.weights.prev", "_train.csv", "_select.csv",
                                  ".health"};
#define N_RUN_FILES (int)(sizeof run_files / sizeof run_files[0])

int mcd_checkpoint_keep_failed(const mcd_checkpoints *c, unsigned long seed, char *kept,
                               size_t n)
{
    char from[PATH_SIZE], to[PATH_SIZE];
    /* BASE-failed-seedS, else BASE-failed-seedS-2, -3, ...: a name none of whose files exist */
    for (int k = 1;; ++k) {
        if (k == 1) snprintf(kept, n, "%s-failed-seed%lu", c->base, seed);
        else snprintf(kept, n, "%s-failed-seed%lu-%d", c->base, seed, k);
        int taken = 0;
        for (int i = 0; i < N_RUN_FILES && !taken; ++i) {
            snprintf(to, sizeof to, "%s/%s%s", c->backup, kept, run_files[i]);
            taken = access(to, F_OK) == 0;
        }
        if (!taken) break;
        if (k == 1000) {
            mcd_set_error("%s/%s-failed-seed%lu: a thousand names taken", c->backup, c->base,
                          seed);
            return -1;
        }
    }
    for (int i = 0; i < N_RUN_FILES; ++i) {
        snprintf(from, sizeof from, "%s/%s%s", c->backup, c->base, run_files[i]);
        snprintf(to, sizeof to, "%s/%s%s", c->backup, kept, run_files[i]);
        if (access(from, F_OK) != 0) continue;
        if (rename(from, to) != 0) {
            mcd_set_error("cannot rename %s to %s: %s", from, to, strerror(errno));
            return -1;
        }
    }
    return 0;
}

void mcd_checkpoint_average_add(mcd_checkpoints *c, network *net)
{
    if (!c->avg.mean) return;
    mcd_average_add(&c->avg, net);
    c->avg_seen = *net->seen;
}

/* The fine-tuning batch (net->seen) of the average in `path`, read into the average's
 * place; the network keeps its own numbers and count. 0, or -1 with the error set. */
static int read_average(mcd_checkpoints *c, network *net, const char *path, size_t *batch)
{
    size_t seen = *net->seen;
    mcd_average_swap(&c->avg, net); /* the network's numbers wait in the mean's place */
    int rc = mcd_load_weights(net, path, net->n, 1);
    *batch = get_current_batch(net);
    mcd_average_swap(&c->avg, net);
    mcd_network_push_weights(net); /* on a GPU, the load put the mean's numbers there */
    *net->seen = seen;
    return rc ? -1 : 0;
}

int mcd_checkpoint_load_average(mcd_checkpoints *c, network *net, size_t start,
                                size_t select_interval)
{
    size_t si = select_interval, samples = start / si;
    if (!samples) return 0;
    size_t want = net->max_batches + samples * si, found = 0;
    char path[PATH_SIZE];
    for (int i = 0; i < 2; ++i) {
        average_path(c, i ? ".prev" : "", path, sizeof path);
        if (access(path, F_OK) != 0) continue;
        size_t got;
        if (read_average(c, net, path, &got)) return -1;
        if (got == want) {
            c->avg.samples = (int)samples;
            c->avg_seen = want * (size_t)net->batch * net->subdivisions;
            printf("resumed the weight average of %zu networks (iterations %zu to %zu) from %s\n",
                   samples, si, samples * si, path);
            return 0;
        }
        if (!found && got > net->max_batches) found = got - net->max_batches;
    }
    average_path(c, "", path, sizeof path);
    char what[64] = "which is missing";
    if (found) snprintf(what, sizeof what, "which holds iteration %zu", found);
    mcd_set_error("finetune_average=1: resuming at fine-tuning iteration %zu needs the mean of "
                  "the networks up to iteration %zu in %s, %s; fine-tune again from "
                  "%s/%s_pretrain.weights, or set finetune_average=0", start, samples * si,
                  path, what, c->backup, c->base);
    return -1;
}

void mcd_best_state_save(const mcd_checkpoints *c, const mcd_choice *choice)
{
    char path[PATH_SIZE], tmp[PATH_SIZE + 8];
    mcd_checkpoint_path(c, "_best.state", path, sizeof path);
    snprintf(tmp, sizeof tmp, "%s.tmp", path);
    FILE *f = fopen(tmp, "w");
    if (!f) return;
    fprintf(f, "best_select=%.9g\nbest_acc=%.9g\ntop_select=%.9g\nchosen_acc=%.9g\n",
            choice->chosen_flagged, choice->best_acc, choice->top_flagged, choice->chosen_acc);
    if (fclose(f) == 0) rename(tmp, path);
}

void mcd_best_state_load(const mcd_checkpoints *c, mcd_choice *choice)
{
    char path[PATH_SIZE];
    mcd_checkpoint_path(c, "_best.state", path, sizeof path);
    FILE *f = fopen(path, "r");
    if (!f) return;
    double b, a, top, ca;
    if (fscanf(f, "best_select=%lf\nbest_acc=%lf\n", &b, &a) == 2) {
        choice->chosen_flagged = choice->top_flagged = b;
        choice->best_acc = a;
        choice->chosen_acc = 0; /* a state file from before select_tolerance: not kept */
        if (fscanf(f, "top_select=%lf\nchosen_acc=%lf", &top, &ca) == 2) {
            choice->top_flagged = top;
            choice->chosen_acc = ca;
        }
    }
    fclose(f);
}

int mcd_checkpoint_best_from_pretrain(const mcd_checkpoints *c)
{
    char pre[1400], best[1400], tmp[1420];
    mcd_checkpoint_path(c, "_pretrain.weights", pre, sizeof pre);
    mcd_checkpoint_path(c, "_best.weights", best, sizeof best);
    snprintf(tmp, sizeof tmp, "%s.tmp", best);
    unlink(tmp);
    if (mcd_copy_file(pre, tmp)) return -1;
    if (rename(tmp, best)) {
        mcd_set_error("cannot rename '%s' to '%s': %s", tmp, best, strerror(errno));
        unlink(tmp);
        return -1;
    }
    return 0;
}
