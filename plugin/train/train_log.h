/* What the trainer reports as it goes: a progress line on stdout every log_interval steps
 * (the interval's mean losses, entropies and accuracy, the speed and an ETA for the whole
 * schedule) and the same figures as a row of BASE_train.csv; the rows of BASE_select.csv
 * (checkpoint choice). The figures are summed pass by pass and reset at each line, so a
 * line describes the steps since the one before.
 *
 * Both CSV files are appended to, so a resumed run continues the logs of the run it
 * resumes; a line cut short by a kill is dropped first. */
#ifndef MCD_TRAIN_LOG_H
#define MCD_TRAIN_LOG_H

#include <stddef.h>
#include <stdio.h>

/* Sums of a pass's figures (three or four) over the current interval, and the number of
 * passes. */
typedef struct mcd_pass_sums {
    double sum[4];
    int n;
} mcd_pass_sums;

typedef struct mcd_train_log {
    FILE *csv, *select_csv;
    size_t pretrain_batches, finetune_batches; /* the schedule, for the ETA */
    mcd_pass_sums labeled;   /* ce1, ce2, acc1 */
    mcd_pass_sums unlabeled; /* L_u, H1, H2, D */
    int steps;
    double interval_start, images;
    double time_pre, time_ft; /* seconds per step, measured */
} mcd_train_log;

/* Open (or continue) BACKUP/BASE_train.csv and BACKUP/BASE_select.csv, each with its
 * header when new. 0, or -1 with the error naming the file. */
int mcd_train_log_open(mcd_train_log *log, const char *backup, const char *base,
                       size_t pretrain_batches, size_t finetune_batches);
void mcd_train_log_close(mcd_train_log *log);

/* A new interval starts now (at the start of a phase). */
void mcd_train_log_start(mcd_train_log *log);

/* One labeled pass (mean cross-entropies of the heads, head 1's accuracy), one unlabeled
 * pass (mean L_u, the heads' mean entropies and D, the discrepancy L_u hinges on: H1 - H2,
 * the mean L1 distance or the mean symmetric KL, as [mcd_discrepancy] loss= says), each
 * over `images` images. D is the CSV's last column, d_u. */
void mcd_train_log_labeled(mcd_train_log *log, double ce1, double ce2, double acc, int images);
void mcd_train_log_unlabeled(mcd_train_log *log, double lu, double h1, double h2, double d,
                             int images);

/* One weight update (a batch of pre-training, an iteration of fine-tuning). */
void mcd_train_log_step(mcd_train_log *log);

/* The progress line and CSV row for pre-training batch (finetune 0) or fine-tuning
 * iteration (finetune 1) `step`, just done, at learning rate lr; starts a new interval. */
void mcd_train_log_progress(mcd_train_log *log, int finetune, size_t step, float lr);

/* A row of BASE_select.csv: `iteration` is a number, or "average" for the mean of the
 * networks. */
void mcd_train_log_select(mcd_train_log *log, const char *iteration, double acc,
                          double threshold, double flagged, int saved);

#endif
