/* The OOD gate: an MCD network, its threshold and its class names; pictures in, verdicts
 * out (the class the two heads predict on average, its probability, the MCD L1 score and
 * whether it is above the threshold). The library API (include/mcd.h, plugin/api/) and
 * through it `darknet mcd detect` run every image and video frame through it. */
#ifndef MCD_OOD_GATE_H
#define MCD_OOD_GATE_H

#include "darknet.h"
#include "network/mcd_network.h"

typedef struct ood_gate {
    network *net;    /* at batch 1 for single images, `batch` for lists (set per call) */
    mcd_layout m;
    int batch;       /* the cfg's batch: the size of ood_gate_classify_paths's batches */
    float threshold; /* OOD when the score is above it */
    char **names;    /* m.classes class names, or NULL */
} ood_gate;

typedef struct ood_verdict {
    int cls;         /* argmax of (p1 + p2) / 2 */
    float prob;      /* that class's averaged probability */
    float score;     /* sum_k |p1_k - p2_k|, in [0, 2] */
    int ood;         /* score > threshold */
} ood_verdict;

/* Load cfg and weights (checked, ood_load_network). The threshold and names are the
 * caller's to set. 0, or -1 with an error (the gate is then empty). */
int ood_gate_open(ood_gate *g, const char *cfg, const char *weights);

/* A colour image (3 planes, any size; grey and resizing through io/image_io.h's
 * mcd_network_image) through the network at batch 1. 0, or -1 with an error when the
 * backend cannot complete the pass or the output is not a number. */
int ood_gate_classify(ood_gate *g, image colour, ood_verdict *r);

/* n image files, read as the network reads them (mcd_read_image) by a reader thread ahead
 * of the network, in batches of g->batch (ood_scores.h's ood_score_images). 0, or -1 with
 * an error naming the first image that cannot be read. */
int ood_gate_classify_paths(ood_gate *g, char **paths, int n, ood_verdict *out);

void ood_gate_close(ood_gate *g);

#endif
