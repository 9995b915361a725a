/* From a user's folders of images to a data set the verbs read: one sub-folder per class
 * (the folder's name is the class name), optional folders of unlabeled images, of ID test
 * images and of OOD sets. This half finds and checks the images (each file read and
 * decoded once) and splits them, stratified and seeded; io/import_writer.h writes the
 * result. `darknet mcd import` is the command; docs/data.md the rules. */
#ifndef MCD_FOLDER_IMPORT_H
#define MCD_FOLDER_IMPORT_H

#include <stdint.h>
#include <stdio.h>

#include "util/string_list.h"

typedef struct mcd_import_options {
    const char *labeled;       /* DIR/<class>/... */
    const char *unlabeled;     /* DIR/... : the unlabeled pool as is (NULL: build one) */
    const char *test;          /* DIR/<class>/... : the ID test set (NULL: test_share) */
    const char **ood_names;    /* OOD sets: name and folder; a name given twice is one set */
    const char **ood_dirs;
    int n_ood;
    const char *classes;       /* comma-separated class folders to use (NULL: all) */
    double valid_share, test_share;
    double unlabeled_share;    /* of each class, into the pool (only without `unlabeled`) */
    double ood_pool_share;     /* of each OOD set, into the pool (only without `unlabeled`) */
    uint64_t seed;
    int skip_bad;              /* leave unreadable and ambiguous images out, do not stop */
    FILE *progress;            /* progress lines while reading images, or NULL */
} mcd_import_options;

/* Where an image goes. */
typedef enum mcd_import_split {
    MCD_SPLIT_TRAIN,
    MCD_SPLIT_VALID,       /* ID validation: calibration and checkpoint choice */
    MCD_SPLIT_TEST,        /* ID test */
    MCD_SPLIT_POOL_ID,     /* unlabeled pool, from a class */
    MCD_SPLIT_POOL_OOD,    /* unlabeled pool, from an OOD set */
    MCD_SPLIT_POOL,        /* unlabeled pool, from the unlabeled folder (kind unknown) */
    MCD_SPLIT_OOD_TEST,    /* an OOD test set */
    MCD_SPLIT_LEFT_OUT,    /* unreadable or ambiguous, with skip_bad */
    MCD_SPLIT_COUNT
} mcd_import_split;

typedef struct mcd_import_image {
    char *path;            /* the source file */
    int cls;               /* class index, -1 for unlabeled and OOD images */
    int set;               /* OOD set index, -1 otherwise */
    int split;             /* mcd_import_split */
    int width, height, grey;
    uint64_t hash;
} mcd_import_image;

typedef struct mcd_import_plan {
    mcd_import_options opt;
    mcd_string_list classes;    /* class names, in label order */
    mcd_string_list ood_sets;   /* OOD set names, in order of first appearance */
    mcd_import_image *images;
    int n_images, images_cap;
    int counts[MCD_SPLIT_COUNT];
    int *class_counts;          /* [class * MCD_SPLIT_COUNT + split] */
    int *ood_counts;            /* [set * MCD_SPLIT_COUNT + split] */
    /* what was found besides images */
    int not_images, hidden, loose, unreadable, ambiguous, duplicates;
    mcd_string_list skipped;    /* paths of the files that are not images (first few) */
    /* the images' sizes (of those kept), ordered by pixel count, and colour */
    int min_w, min_h, median_w, median_h, max_w, max_h;
    int grey_images, colour_images;
} mcd_import_plan;

/* Check the folders and the options, read every image, split. 0, or -1 with one line of
 * error (naming the folder, the class, the option, or the files and their count). Free
 * the plan after either. */
int mcd_import_scan(const mcd_import_options *o, mcd_import_plan *plan);
void mcd_import_plan_free(mcd_import_plan *plan);

/* The split's name as the summary prints it ("train", "pool (ID)", ...). */
const char *mcd_import_split_name(int split);

#endif
