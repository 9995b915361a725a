/* The trainer behind `darknet mcd train CFG [WEIGHTS]`: pre-training, then MCD fine-tuning.
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
 * the networks so far, BASE_average.weights).
 *
 * With -gpus the passes run on CUDA devices (docs/gpu.md): one network on one GPU, or a
 * copy per device, each taking a share of every batch (gpu_replicas.h); the schedule, the
 * checkpoints and their files are the same.
 *
 * The command (commands/train.c) fills the options from its arguments; the trainer reads
 * the cfg, the data and the weights, and runs the schedule. */
#ifndef MCD_TRAINER_H
#define MCD_TRAINER_H


typedef struct mcd_train_options {
    const char *cfg;
    const char *weights;  /* NULL: start from the cfg's initialisation */
    const char *data;     /* NULL: the cfg's data= key */
    const char *trunk;    /* a Darknet classifier's weights for the trunk, or NULL */
    int trunk_layers;     /* -1: up to [mcd_split] */
    const char *backup;   /* NULL: the data file's backup= key */
    int seed;             /* -1: from the clock */
    int clear;            /* start the schedule at batch 0 whatever `weights` have seen */
    int pretrain_batches; /* -1: the cfg's max_batches */
    int finetune_batches; /* -1: the cfg's finetune_batches */
    long max_pixels;      /* the pixel limit of every image read (io/image_io.h); 0: default */
    const char *gpus;     /* CUDA devices, "0" or "0,1,..." (gpu_replicas.h); NULL: the CPU */
    int retries;          /* runs again with seed + 1 while the health check fails, at most
                           * this many times (0: never) */
} mcd_train_options;

/* At the end of fine-tuning, the label-free health check (training_health.h) is printed
 * and recorded in BACKUP/BASE.health. With retries > 0, a run whose check says "failed"
 * has its files kept under BASE-failed-seedS (checkpoints.h) and the whole schedule runs
 * again with seed + 1, up to `retries` times; the attempts are listed at the end. Retries
 * need a fresh start (no weights, or clear).
 *
 * Run the schedule (resuming where `weights` stopped), holding BACKUP/BASE.lock
 * (train/run_lock.h) from before the first write to the end: a second run into the same
 * backup directory under the same name is refused, having written nothing. 0 when it is
 * done; 1 when SIGINT or SIGTERM stopped it, after saving BASE.weights (mcd_stop_signal()
 * says which); -1 with the error set (the cfg, data or weights are bad, another run holds
 * the backup directory, a file cannot be written, or the loss diverged). */
int mcd_trainer_run(const mcd_train_options *o);

#endif
