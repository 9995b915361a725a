/* The label-free health check at the end of training, and its record BACKUP/BASE.health.
 *
 * Checkpoint choice (checkpoint_score.h) measures a network by the share of held-out
 * unlabeled images (select_holdout of them, an unknown mix of ID and OOD) whose MCD L1 score
 * is above the threshold that keeps select_tpr of the ID validation images. If the pool were
 * all ID, that share would be about the ID rate r = 1 - select_tpr, whatever the network;
 * every point above r is OOD that the heads separate. The check compares three of these
 * shares: the pre-trained network's, the best fine-tuning checkpoint's, and that of the
 * network saved as BASE_best.weights (the mean of the checkpoints with finetune_average=1,
 * else the chosen checkpoint).
 *
 * The margin m = max(0.01, 4 * sqrt(r (1 - r) (1/n_unl + 1/n_val))): four standard errors
 * of a share measured on n_unl held-out images against a threshold estimated on n_val
 * validation images, if the pool were all ID. The verdict, first match:
 *   unchecked  no share of the result was measured (no fine-tuning, no held-out or
 *              validation images);
 *   no-ood     no network (pre-trained, fine-tuning checkpoint, result) flags r + m or
 *              more: the pool showed no OOD the heads could separate (a pool of ID images
 *              only, or OOD too close to the ID classes);
 *   little-ood no network flags r + 2m or more: the pool showed too little OOD to judge
 *              (a few percent of OOD, where fine-tuning's gain over the pre-trained network
 *              cannot reach the margin m, or held-out sets so small that m is large);
 *   failed     the pool showed OOD but the result does not hold it: with a weight average,
 *              the mean flags less than 0.75 of the chosen checkpoint's share (it
 *              collapsed); or the result flags less than the pre-trained network's share
 *              + m (fine-tuning did not separate more than pre-training did); or less than
 *              r + m;
 *   healthy    otherwise: the result flags clearly more than the pre-trained network, and
 *              more than the ID rate.
 * docs/commands.md gives the reasons for each number. */
#ifndef MCD_TRAINING_HEALTH_H
#define MCD_TRAINING_HEALTH_H

#include <stddef.h>

typedef enum mcd_health_verdict {
    MCD_HEALTH_UNCHECKED = 0,
    MCD_HEALTH_HEALTHY,
    MCD_HEALTH_NO_OOD,
    MCD_HEALTH_LITTLE_OOD,
    MCD_HEALTH_FAILED,
} mcd_health_verdict;

/* The figures of one run; a share of -1 was not measured. */
typedef struct mcd_health_figures {
    double id_rate;    /* 1 - select_tpr */
    int n_val, n_unl;  /* ID validation and held-out unlabeled images */
    double pretrained; /* the pre-trained network's share */
    double top;        /* the highest share of an eligible fine-tuning checkpoint */
    double chosen;     /* the checkpoint choice's share */
    double result;     /* BASE_best.weights': the mean's, or the chosen checkpoint's */
    int averaged;      /* 1: result is the weight average's */
} mcd_health_figures;

typedef struct mcd_health {
    mcd_health_figures f;
    mcd_health_verdict verdict;
    double margin;
    char reason[320];
    long seed;         /* the run's seed (-1: not known) */
    int attempt;       /* 1 for the first run, 2 for the first retry, ... */
} mcd_health;

/* The collapse ratio of the weight average (see checkpoint_score.c's 16 runs). */
#define MCD_HEALTH_AVERAGE_RATIO 0.75
/* The margin's floor and its number of standard errors. */
#define MCD_HEALTH_MIN_MARGIN 0.01
#define MCD_HEALTH_SIGMAS 4.0

/* The margin for these figures. */
double mcd_health_margin(const mcd_health_figures *f);

/* The verdict of the rule above, its margin and a one-line reason, into h (h->seed and
 * h->attempt are left as they are). */
void mcd_health_judge(const mcd_health_figures *f, mcd_health *h);

/* "healthy", "no-ood", "little-ood", "failed", "unchecked". */
const char *mcd_health_name(mcd_health_verdict v);

/* Write the record (key=value lines) to path, through path.tmp and a rename. "pending"
 * instead of a verdict when pending is 1 (written when fine-tuning starts, so that a
 * resumed run has the pre-trained network's share). 0, or -1 with the error set. */
int mcd_health_write(const char *path, const mcd_health *h, int pending);

/* Read a record. 0; 1 when the file does not exist; -1 with the error naming the file and
 * line when it cannot be read or is not a record. *pending is set to 1 for a record
 * written at the start of fine-tuning. */
int mcd_health_read(const char *path, mcd_health *h, int *pending);

/* The record that goes with a weights file: DIR/STEM.health, STEM being the file's name
 * without .weights and without a last _best, _final, _pretrain or _average (the files of
 * one training run share BACKUP/BASE.health). */
void mcd_health_path_of_weights(const char *weights, char *buf, size_t n);

#endif
