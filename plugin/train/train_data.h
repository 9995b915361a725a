/* The data a training run reads, from its .data file: the labels, the labeled training
 * list, the unlabeled list for fine-tuning, and the images kept aside for checkpoint
 * choice (the first select_images of the shuffled ID validation list, and the first
 * select_holdout of the shuffled unlabeled list, which then never enter fine-tuning).
 * Every list is checked before training starts (each file readable, each labeled path
 * with exactly one label), so a bad entry stops the run at once rather than hours in.
 * Also where the run writes: the backup directory, made here. */
#ifndef MCD_TRAIN_DATA_H
#define MCD_TRAIN_DATA_H

#include "darknet.h"
#include "network/train_config.h"
#include "train/checkpoint_score.h"

typedef struct mcd_train_data {
    char backup[1024];  /* without a trailing '/' */
    char **labels;
    int classes;
    char **train_paths, **unl_paths;
    int ntrain, nunl;
    char train_list[1024], unl_list[1024]; /* their list files, for messages */
    mcd_image_set sel_id, sel_unl;         /* for checkpoint choice */
} mcd_train_data;

/* Read `datafile` for a network whose heads have `classes` classes; `backup`, when not
 * NULL, overrides the file's backup= key. The shuffles draw from rand(). 0, or -1 with an
 * error naming the file, list and line; free with mcd_train_data_free, also after an
 * error. */
int mcd_train_data_load(mcd_train_data *d, const char *datafile, const char *backup,
                        const network *net, const mcd_train_config *tc, int classes);
void mcd_train_data_free(mcd_train_data *d);

/* The backup directory mcd_train_data_load will use (`backup`, else datafile's backup=),
 * into buf, without making it. 0, or -1 with the error set when the data file cannot be
 * read. */
int mcd_train_backup_dir(const char *datafile, const char *backup, char *buf, size_t n);

#endif
