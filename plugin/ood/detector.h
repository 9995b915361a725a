/* The OOD gate on one image at a time: an MCD network, its threshold and its class names;
 * a picture in, a verdict out (the class the two heads predict on average, its
 * probability, the MCD L1 score and whether it is above the threshold). `darknet mcd
 * detect` runs every image and video frame through it. */
#ifndef MCD_DETECTOR_H
#define MCD_DETECTOR_H

#include "darknet.h"
#include "network/mcd_network.h"

typedef struct mcd_detector {
    network *net;    /* batch 1 */
    mcd_layout m;
    float threshold; /* OOD when the score is above it */
    char **names;    /* m.classes class names, or NULL: classes shown by index */
} mcd_detector;

typedef struct mcd_verdict_result {
    int cls;         /* argmax of (p1 + p2) / 2 */
    float prob;      /* that class's averaged probability */
    float score;     /* sum_k |p1_k - p2_k|, in [0, 2] */
    int ood;         /* score > threshold */
    char label[256]; /* the class's name, or its index */
} mcd_verdict_result;

/* Load cfg and weights (checked, ood_load_network) for one image at a time. The threshold
 * and names are the caller's to set. 0, or -1 with an error (the detector is then empty). */
int mcd_detector_open(mcd_detector *d, const char *cfg, const char *weights);

/* A colour image (3 planes, any size; grey and resizing through io/image_io.h's
 * mcd_network_image) through the network. 0, or -1 with an error when the network's
 * output is not a number. */
int mcd_detector_classify(mcd_detector *d, image colour, mcd_verdict_result *r);

void mcd_detector_close(mcd_detector *d);

#endif
