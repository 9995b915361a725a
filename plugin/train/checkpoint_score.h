/* Checkpoint choice while fine-tuning, without OOD labels: the images kept in memory for
 * it (ID validation images with labels, unlabeled images held out of fine-tuning), the
 * score of a network on them, and the choice of BASE_best.weights.
 *
 * The score: the L1 threshold that keeps select_tpr of the ID validation images, then the
 * share of held-out unlabeled images (an unknown mix of ID and OOD) above it. At a fixed ID
 * loss, more flagged means more OOD caught. Which checkpoint wins is checkpoint_choice.h's
 * rule; this file scores, logs and saves. */
#ifndef MCD_CHECKPOINT_SCORE_H
#define MCD_CHECKPOINT_SCORE_H

#include <stddef.h>

#include "darknet.h"
#include "network/mcd_network.h"
#include "network/train_config.h"
#include "train/checkpoint_choice.h"
#include "train/checkpoints.h"
#include "train/train_log.h"

/* Images at the network's input size, no augmentation; label -1 when unlabeled. */
typedef struct mcd_image_set {
    float *x;
    int *label;
    int n;
} mcd_image_set;

/* Read n images of `paths`, labelled from their paths when labels is not NULL. 0, or -1
 * with the error naming the image. Free with mcd_image_set_free, also after an error. */
int mcd_image_set_load(mcd_image_set *s, const network *net, char **paths, int n,
                       char **labels, int classes);
void mcd_image_set_free(mcd_image_set *s);

typedef struct mcd_selection {
    network *net;
    const mcd_layout *m;
    const mcd_train_config *tc; /* select_tpr, select_max_acc_drop, select_tolerance */
    const mcd_image_set *id, *unl;
    mcd_choice choice;
} mcd_selection;

/* The network's held-out flagged share; its ID validation accuracy (the heads' average)
 * and the L1 threshold into acc and thresh. An empty set scores 0. -1 with the error set
 * when the backend could not complete a pass. */
double mcd_select_score(const mcd_selection *s, double *acc, double *thresh);

/* Score the network at fine-tuning iteration `iter`, log it, and save BASE_best.weights
 * when the choice takes it (with an average the choice is only followed, for
 * mcd_select_average's check). A network trained on a GPU has its weights pulled to the
 * host first (network/network_gpu.h), for the file. 0, or -1 with the error set. */
int mcd_select_checkpoint(mcd_selection *s, mcd_checkpoints *c, mcd_train_log *log,
                          size_t iter);

/* finetune_average=1, at the end of fine-tuning: save the mean of the networks as
 * BASE_best.weights, score and log it; its held-out flagged share goes into *result (-1
 * when there are no held-out images), for the health check (training_health.h). On a GPU
 * the mean is pushed there for the scoring, and the network's own weights back after it;
 * its host copy must be current. 0, or -1 with the error set. */
int mcd_select_average(mcd_selection *s, mcd_checkpoints *c, mcd_train_log *log,
                       double *result);

#endif
