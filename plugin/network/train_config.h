/* The MCD training schedule: keys of the cfg's [net] section that the plugin reads beside
 * Darknet's own (Darknet ignores unknown [net] keys, so stock commands still load the cfg).
 * It sits with the network code, not the trainer, because the cfg parser (mcd_network.c)
 * checks these keys for every command: the trainer reads them, the parser vets them.
 *
 * Pre-training uses Darknet's keys as `darknet classifier train` would: batch, learning_rate,
 * momentum, decay, policy/steps/scales, max_batches (= pre-training batches), and the
 * augmentation keys (min_crop, max_crop, angle, aspect, exposure, saturation, hue).
 * Fine-tuning (MCD's step A + step B per iteration) uses these:
 *
 *   data=cfg/fmnist.data            the data set of every verb (a `-data` option overrides;
 *                                   read by io/data_lists.c:mcd_resolve_data_file)
 *   finetune_batches=0              fine-tuning iterations (0: pre-training only)
 *   finetune_learning_rate=0.01     constant, as in the official code
 *   finetune_momentum=0.9
 *   finetune_decay=0.0001
 *   finetune_augment=0              1: keep the pre-training augmentation while fine-tuning
 *   finetune_outliers=0             share of each unlabeled batch replaced by outliers made
 *                                   from labeled ID images (synthetic_outliers.h; 0: off)
 *   finetune_outlier_kinds=shuffle,permute,blur,mix
 *                                   the transforms those outliers are made with
 *   finetune_average=0              1: deliver the mean of the networks at every
 *                                   select_interval (weight_average.h) as BASE_best.weights
 *   no_ood_keep_pretrained=1        1: when the health check says the pool showed no OOD
 *                                   (train/training_health.h) and no synthetic outliers
 *                                   were used, BASE_best.weights is the pre-trained network
 *   checkpoint_interval=200         batches/iterations between checkpoints
 *   select_interval=50              fine-tuning iterations between checkpoint-choice checks
 *   select_images=2000              ID validation images used for checkpoint choice
 *   select_holdout=1000             unlabeled images held out of fine-tuning for the choice
 *   select_max_acc_drop=0.02        a checkpoint competes only within this of the best
 *                                   ID validation accuracy seen while fine-tuning
 *   select_tolerance=0              held-out flagged shares within this of the best are
 *                                   ties, won by the higher ID validation accuracy
 *   select_tpr=0.95                 the held-out share is counted above the L1 threshold
 *                                   that keeps this share of the ID validation images
 *   log_interval=10                 batches between progress lines
 */
#ifndef MCD_TRAIN_CONFIG_H
#define MCD_TRAIN_CONFIG_H

/* The kinds of synthetic outliers (finetune_outlier_kinds), as bits; their transforms are
 * train/synthetic_outliers.c's. */
enum {
    MCD_OUTLIER_SHUFFLE = 1, /* the image's patches, shuffled on a 4x4 grid */
    MCD_OUTLIER_PERMUTE = 2, /* its pixels, permuted */
    MCD_OUTLIER_BLUR = 4,    /* a heavy blur */
    MCD_OUTLIER_MIX = 8,     /* the pixel-wise mean of two images of different classes */
    MCD_OUTLIER_ALL = 15,
    MCD_OUTLIER_KINDS = 4
};
/* The name of kind bit i (0..MCD_OUTLIER_KINDS-1) as the cfg spells it. */
const char *mcd_outlier_kind_name(int i);

typedef struct mcd_train_config {
    int finetune_batches;
    float finetune_learning_rate;
    float finetune_momentum;
    float finetune_decay;
    int finetune_augment;
    int finetune_average;
    double finetune_outliers;   /* share of each unlabeled batch, in [0, 1] */
    int finetune_outlier_kinds; /* MCD_OUTLIER_* bits, at least one */
    int no_ood_keep_pretrained;
    int checkpoint_interval;
    int select_interval;
    int select_images;
    int select_holdout;
    float select_max_acc_drop;
    float select_tolerance;
    double select_tpr;
    int log_interval;
} mcd_train_config;

/* 0, or -1 with an error naming the cfg file, line and key. */
int mcd_read_train_config(const char *cfgfile, mcd_train_config *tc);
/* The same from a [net] section already read (cfg_reader.h) of `file`; marks the keys read,
 * so that the parser can warn about the others. */
struct cfg_section;
int mcd_read_train_section(const char *file, const struct cfg_section *net,
                           mcd_train_config *tc);

#endif
