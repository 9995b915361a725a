#include "train/checkpoint_score.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "backend/inference.h"
#include "io/data_lists.h"
#include "io/image_io.h"
#include "network/network_gpu.h"
#include "ood/ood_metrics.h"
#include "util/mcd_error.h"

int mcd_image_set_load(mcd_image_set *s, const network *net, char **paths, int n,
                       char **labels, int classes)
{
    s->n = n;
    s->x = malloc(sizeof(float) * net->inputs * (size_t)(n ? n : 1));
    s->label = calloc(n ? n : 1, sizeof(int));
    if (!s->x || !s->label) {
        mcd_set_error("out of memory for %d images of %d values", n, net->inputs);
        return -1;
    }
    for (int i = 0; i < n; ++i) {
        image im;
        if (mcd_read_image(paths[i], net->w, net->h, net->c, &im)) return -1;
        memcpy(s->x + (size_t)i * net->inputs, im.data, sizeof(float) * net->inputs);
        free_image(im);
        s->label[i] = labels ? mcd_label_of(paths[i], labels, classes) : -1;
    }
    return 0;
}

void mcd_image_set_free(mcd_image_set *s)
{
    free(s->x);
    free(s->label);
    s->x = NULL;
    s->label = NULL;
    s->n = 0;
}

/* L1 scores of a set, and (for labeled sets) the accuracy of the heads' average; 0, or -1
 * with the error set when the backend could not complete a pass. */
static int score_set(const mcd_selection *s, const mcd_image_set *set, double *scores,
                     double *acc)
{
    network *net = s->net;
    int B = net->batch, K = s->m->classes, correct = 0;
    float *x = calloc((size_t)B * net->inputs, sizeof(float));
    for (int start = 0; start < set->n; start += B) {
        int nb = set->n - start < B ? set->n - start : B;
        memcpy(x, set->x + (size_t)start * net->inputs, sizeof(float) * nb * net->inputs);
        float *out = mcd_predict(net, x);
        if (!out) {
            free(x);
            return -1;
        }
        for (int b = 0; b < nb; ++b) {
            scores[start + b] = out[b];
            const float *p1 = mcd_head_probs(net, s->m, 1, b), *p2 = mcd_head_probs(net, s->m, 2, b);
            int best = 0;
            for (int k = 1; k < K; ++k)
                if (p1[k] + p2[k] > p1[best] + p2[best]) best = k;
            correct += best == set->label[start + b];
        }
    }
    free(x);
    if (acc) *acc = set->n ? (double)correct / set->n : 0;
    return 0;
}

double mcd_select_score(const mcd_selection *s, double *acc, double *thresh)
{
    int nid = s->id->n, nunl = s->unl->n;
    double *id = malloc(sizeof(double) * (nid ? nid : 1));
    double *unl = malloc(sizeof(double) * (nunl ? nunl : 1));
    if (score_set(s, s->id, id, acc) || score_set(s, s->unl, unl, NULL)) {
        free(id);
        free(unl);
        return -1;
    }
    /* the rule of `mcd calibrate`; it fails only on non-finite scores, which the
     * trainer's loss check has stopped before (an empty set scores 0) */
    if (!nid || ood_calibration_threshold(id, nid, s->tc->select_tpr, thresh)) *thresh = 0;
    int flagged = 0;
    for (int i = 0; i < nunl; ++i) flagged += unl[i] > *thresh;
    free(id);
    free(unl);
    return nunl ? (double)flagged / nunl : 0;
}

int mcd_select_checkpoint(mcd_selection *s, mcd_checkpoints *c, mcd_train_log *log,
                          size_t iter)
{
    if (!s->id->n || !s->unl->n) return 0;
    double acc, thresh;
    double flagged = mcd_select_score(s, &acc, &thresh);
    if (flagged < 0) return -1;
    /* The heads must stay good classifiers: a checkpoint competes only while its ID
     * validation accuracy is within select_max_acc_drop of the best seen in fine-tuning.
     * (Not of the pre-trained network's: the step from its last learning rate to the
     * fine-tuning one costs a few points at once, whatever the OOD loss does.) Shares
     * within select_tolerance of the best are ties, won by accuracy (checkpoint_choice.h). */
    int better = mcd_choice_update(&s->choice, flagged, acc, s->tc->select_max_acc_drop,
                                   s->tc->select_tolerance);
    int saved = better && !c->avg.mean;
    printf("select   %6zu  ID-val acc %.4f  L1 threshold@%g%%TPR %.4f  held-out unlabeled "
           "flagged %.4f%s\n", iter, acc, 100 * s->tc->select_tpr, thresh, flagged,
           saved ? "  (best so far: saved)" : better ? "  (best so far)" : "");
    char it[32];
    snprintf(it, sizeof it, "%zu", iter);
    mcd_train_log_select(log, it, acc, thresh, flagged, saved);
    if (saved && mcd_checkpoint_save(c, s->net, "_best")) return -1;
    if (better) mcd_best_state_save(c, &s->choice);
    return 0;
}

int mcd_select_average(mcd_selection *s, mcd_checkpoints *c, mcd_train_log *log,
                       double *result)
{
    *result = -1;
    char path[1400];
    mcd_checkpoint_path(c, "_best.weights", path, sizeof path);
    if (mcd_checkpoint_save_average(c, s->net, path)) return -1;
    if (!s->id->n || !s->unl->n) return 0;
    double acc, thresh;
    mcd_average_swap(&c->avg, s->net);
    mcd_network_push_weights(s->net); /* a network on a GPU scores its device copy */
    double flagged = mcd_select_score(s, &acc, &thresh);
    mcd_average_swap(&c->avg, s->net);
    mcd_network_push_weights(s->net);
    if (flagged < 0) return -1;
    printf("average  of %d networks  ID-val acc %.4f  L1 threshold@%g%%TPR %.4f  held-out "
           "unlabeled flagged %.4f  (saved as %s)\n", c->avg.samples, acc,
           100 * s->tc->select_tpr, thresh, flagged, path);
    mcd_train_log_select(log, "average", acc, thresh, flagged, 1);
    *result = flagged;
    return 0;
}
