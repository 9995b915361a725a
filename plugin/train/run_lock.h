/* One training run per backup directory and cfg name. Two runs writing BACKUP/BASE*
 * would overwrite each other's checkpoints and interleave their logs, silently; so a run
 * holds an exclusive flock(2) on BACKUP/BASE.lock from before its first write to its end.
 * The kernel releases it when the process ends, however it ends (a SIGKILL leaves no stale
 * lock to clean up), and the file itself stays: removing it would let a run that opened
 * the old file and one that made a new one both hold "the" lock.
 *
 * The file holds one record, "pid PID PHASE" padded to a fixed length and rewritten in
 * place with one pwrite, PHASE being "pre-training" or "fine-tuning": what the holder
 * still writes, for the error of a second run and for `mcd calibrate`'s rule
 * (mcd_training_rewrites). The two phase words differ at every position, so a read that
 * races a rewrite sees one word, or neither and tries again. The record is for messages
 * only; the flock alone decides who runs. */
#ifndef MCD_RUN_LOCK_H
#define MCD_RUN_LOCK_H

#include <stddef.h>

#define MCD_PHASE_PRETRAIN "pre-training"
#define MCD_PHASE_FINETUNE "fine-tuning"

typedef struct mcd_run_lock {
    int fd; /* -1: not held */
    char path[1400];
} mcd_run_lock;

/* Nothing written: -1 with an error naming the directory and the holder's process id if a
 * running process holds BACKUP/BASE.lock, else 0. For a quick refusal before a run spends
 * time checking its data; mcd_run_lock_take decides. */
int mcd_run_lock_check(const char *backup, const char *base);

/* Take BACKUP/BASE.lock (the directory exists) and record this process and `phase`. 0, or
 * -1 with an error naming the directory and the process id of the run that holds it (or
 * why the file cannot be made); then nothing has been written. */
int mcd_run_lock_take(mcd_run_lock *l, const char *backup, const char *base, const char *phase);

/* Record the phase the holder is in now (best effort: the record is for messages). */
void mcd_run_lock_set_phase(mcd_run_lock *l, const char *phase);

/* Release (close) the lock; l->fd becomes -1. Safe on a lock never taken when its fd is -1. */
void mcd_run_lock_release(mcd_run_lock *l);

/* Whether a running training will still write the weights file `weights`: its name is
 * BASE.weights, BASE_average.weights, BASE_best.weights or BASE_final.weights of a run that
 * holds DIR/BASE.lock (DIR being the file's directory), or BASE_pretrain.weights of one that
 * is still pre-training (or whose phase cannot be read). 1, with *pid (-1 if unknown) and
 * the lock's path in lock_path; 0 if not. Nothing is written. */
int mcd_training_rewrites(const char *weights, long *pid, char *lock_path, size_t n);

#endif
