/* Checkpoint choice during fine-tuning, without OOD labels: each checked checkpoint has a
 * held-out flagged share (the share of held-out unlabeled images whose MCD L1 score is above
 * the threshold that keeps 95% of the ID validation images) and an ID validation accuracy.
 *
 * A checkpoint is eligible while its accuracy is within `max_acc_drop` of the best accuracy
 * seen so far in fine-tuning. Among eligible checkpoints the highest flagged share wins; with
 * `tolerance` > 0, every eligible checkpoint whose share is within `tolerance` of the highest
 * eligible share counts as tied with it, and among tied checkpoints the more accurate one
 * wins (the share saturates near the unlabeled set's OOD fraction, and at that point the
 * differences between checkpoints are a few images). With `tolerance` 0 the rule is the
 * plain maximum (the first of equal shares is kept). */
#ifndef MCD_CHECKPOINT_CHOICE_H
#define MCD_CHECKPOINT_CHOICE_H

typedef struct mcd_choice {
    double best_acc;       /* highest ID validation accuracy seen in fine-tuning (0: none) */
    double top_flagged;    /* highest flagged share of an eligible checkpoint (-1: none) */
    double chosen_flagged; /* the chosen checkpoint's share (-1: none chosen yet) */
    double chosen_acc;     /* and its accuracy */
} mcd_choice;

/* The state before the first checkpoint. */
void mcd_choice_init(mcd_choice *c);

/* Feed one checkpoint's figures; 1 when it becomes the chosen checkpoint, else 0. */
int mcd_choice_update(mcd_choice *c, double flagged, double acc, double max_acc_drop,
                      double tolerance);

#endif
