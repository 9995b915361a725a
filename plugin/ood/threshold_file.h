/* The calibrated OOD threshold, stored beside the weights as WEIGHTS.threshold:
 *
 *     # darknet-mcd threshold: an image whose MCD L1 score is above it is OOD
 *     threshold=0.0123
 *     tpr=0.95
 *     id_list=data/fmnist/id-valid.list
 *     id_images=5000
 *
 * threshold: the L1 score that keeps the share `tpr` of the ID validation images
 * (score <= threshold means ID); id_list and id_images say what it was calibrated on.
 * Comment lines start with '#'; unknown keys are an error. */
#ifndef MCD_THRESHOLD_FILE_H
#define MCD_THRESHOLD_FILE_H

#include <stddef.h>

typedef struct mcd_threshold {
    double threshold;
    double tpr;
    char id_list[1024];
    int id_images;
} mcd_threshold;

/* "WEIGHTS.threshold" into buf. */
void mcd_threshold_path(const char *weights, char *buf, size_t n);
/* Written to a temporary file beside it (path.XXXXXX), synced and renamed over path: a
 * crash or kill leaves the old file or the new one, whole. 0, or -1 with an error naming
 * the file. */
int mcd_threshold_save(const char *path, const mcd_threshold *t);
/* 0, or -1 with an error naming the file, line and key. */
int mcd_threshold_load(const char *path, mcd_threshold *t);

#endif
