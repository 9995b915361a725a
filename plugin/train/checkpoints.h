/* The trainer's files in the backup directory, each BACKUP/BASE<suffix> (BASE: the cfg's
 * name without .cfg): the weights checkpoints (BASE.weights, the one a run resumes from;
 * _pretrain, _best and _final), the weight average's files (finetune_average=1), the state
 * of checkpoint choice (_best.state), and the temporaries a killed run can leave.
 *
 * Weights files are written to NAME.tmp and renamed (weights_file.c), so a crash leaves the
 * old file or the new one, never half of one. With finetune_average=1 the mean so far is in
 * BASE_average.weights (its `seen` is that of the last network averaged) and the one before
 * in BASE_average.weights.prev; both are written before BASE.weights, so whatever
 * BASE.weights a crash leaves, one of them is the mean that goes with it. */
#ifndef MCD_CHECKPOINTS_H
#define MCD_CHECKPOINTS_H

#include <stddef.h>

#include "darknet.h"
#include "train/checkpoint_choice.h"
#include "train/weight_average.h"

typedef struct mcd_checkpoints {
    char backup[1024]; /* the directory, without a trailing '/' */
    char base[256];
    /* finetune_average=1: the mean of the networks at every select_interval (mean is NULL
     * otherwise), and the image count (net->seen) at its last sample */
    mcd_weight_average avg;
    size_t avg_seen;
} mcd_checkpoints;

/* BACKUP/BASE<suffix> into buf. */
void mcd_checkpoint_path(const mcd_checkpoints *c, const char *suffix, char *buf, size_t n);

/* BASE<suffix>.weights. 0, or -1 with the error set. */
int mcd_checkpoint_save(const mcd_checkpoints *c, network *net, const char *suffix);

/* BASE.weights, the checkpoint a run resumes from; with an average, the average first.
 * 0, or -1 with the error set. */
int mcd_checkpoint_save_latest(mcd_checkpoints *c, network *net);

/* BASE_best.weights becomes a copy of BASE_pretrain.weights (through BASE_best.weights.tmp
 * and a rename): the result when the pool showed no OOD (no_ood_keep_pretrained). 0, or -1
 * with the error set. */
int mcd_checkpoint_best_from_pretrain(const mcd_checkpoints *c);

/* Remove the NAME.tmp files a killed run can leave: nothing reads them. */
void mcd_checkpoint_remove_stale(const mcd_checkpoints *c);

/* Keep a finished run's files under another name, so that the run can start again
 * (`mcd train -retries`): every BACKUP/BASE<suffix> of a run (the weights, _best.state, the
 * average's files, _train.csv, _select.csv, .health) is renamed to
 * BACKUP/BASE-failed-seedSEED<suffix>, with -2, -3, ... after SEED when files of that name
 * exist (nothing is overwritten). The name chosen goes into kept. 0, or -1 with the error
 * naming the file that could not be renamed. */
int mcd_checkpoint_keep_failed(const mcd_checkpoints *c, unsigned long seed, char *kept,
                               size_t n);

/* With an average: add the network's numbers to it (at a select_interval). */
void mcd_checkpoint_average_add(mcd_checkpoints *c, network *net);

/* Save the average as `path`; the network holds its own numbers again afterwards. */
int mcd_checkpoint_save_average(mcd_checkpoints *c, network *net, const char *path);

/* A run resumed at fine-tuning iteration `start` has averaged the networks at every
 * `select_interval` up to it: read their mean back from whichever file holds it. 0, or -1
 * with an error saying which iteration the files hold and what to do. */
int mcd_checkpoint_load_average(mcd_checkpoints *c, network *net, size_t start,
                                size_t select_interval);

/* The state of checkpoint choice, kept beside the best checkpoint so that a resumed run
 * compares against the same best. Saving is best effort (a resumed run without the file
 * starts the choice afresh); loading a missing or unreadable file leaves `choice` as is. */
void mcd_best_state_save(const mcd_checkpoints *c, const mcd_choice *choice);
void mcd_best_state_load(const mcd_checkpoints *c, mcd_choice *choice);

#endif
