/* Per-image OOD scores from one forward pass of an MCD network, and batched scoring of a
 * list of images. Used by `darknet mcd valid`, `calibrate` and `detect`.
 *
 * From the two heads' probabilities p1, p2 (the [softmax] layers' outputs) and logits z1, z2
 * (the outputs of the layer feeding each head's [softmax], i.e. before any softmax
 * temperature), K classes, H(p) = -sum_k p_k ln p_k (0 ln 0 = 0), pa = (p1 + p2) / 2:
 *
 *   kind               raw value                       orientation (higher = more OOD)
 *   OOD_MCD_L1         sum_k |p1_k - p2_k| (the network's [mcd_l1] output), [0, 2]   +raw
 *   OOD_ENTROPY_GAP    H(p1) - H(p2), what MCD fine-tuning widens on OOD              +raw
 *   OOD_MSP1           max_k p1_k, head 1's max softmax probability                  -raw
 *   OOD_MSP_AVG        max_k pa_k                                                    -raw
 *   OOD_MAX_LOGIT1     max_k z1_k, head 1                                            -raw
 *   OOD_ENERGY1        -ln sum_k exp(z1_k), head 1 (energy at temperature 1)         +raw
 *   OOD_ENTROPY_AVG    H(pa), entropy of the averaged prediction                     +raw
 *
 * Head 1 is the head MCD pushes towards high entropy on OOD inputs, so the single-head
 * baselines (MSP1, max logit, energy) use head 1. Predicted classes: argmax of p1, p2, pa
 * (the lowest index on ties). Scores are computed in double from the network's floats. */
#ifndef MCD_OOD_SCORES_H
#define MCD_OOD_SCORES_H

#include "darknet.h"
#include "network/mcd_network.h"

enum ood_score_kind {
    OOD_MCD_L1,
    OOD_ENTROPY_GAP,
    OOD_MSP1,
    OOD_MSP_AVG,
    OOD_MAX_LOGIT1,
    OOD_ENERGY1,
    OOD_ENTROPY_AVG,
    OOD_NSCORES
};

typedef struct ood_image_scores {
    double raw[OOD_NSCORES]; /* raw values, as in the table above */
    int pred1, pred2, pred_avg;
} ood_image_scores;

/* Short name, for CSV columns and file names: "mcd_l1", "entropy_gap", "msp1", "msp_avg",
 * "max_logit1", "energy1", "entropy_avg". */
const char *ood_score_name(int kind);
/* Human-readable name, for tables and plots: "MCD L1", "MSP (head 1)", ... */
const char *ood_score_title(int kind);
/* The score oriented for the metrics (ood_metrics.h): higher = more OOD. */
double ood_score_oodness(int kind, double raw);

/* All scores of one image from its probabilities and logits (classes values each) and its
 * L1 score. */
void ood_scores_compute(const float *p1, const float *p2, const float *z1, const float *z2,
                        int classes, float l1, ood_image_scores *out);
/* The same for image b of the last forward pass of net. */
void ood_scores_from_network(const network *net, const mcd_layout *m, int b,
                             ood_image_scores *out);

/* The decision with a calibrated threshold (threshold_file.h): OOD when the L1 score is
 * above it. The comparison is in float, the network's precision, so that a threshold read
 * back from its 9-digit text form decides exactly as the float score it was taken from. */
int ood_is_ood(double l1, double threshold);

/* Parse cfg, check that it is an MCD network (layout in *m) and load weights, checked
 * against the network's size (mcd_load_weights, exact). NULL with an error naming the file. */
network *ood_load_network(const char *cfg, const char *weights, mcd_layout *m);

/* Score n images (paths) with net in batches of net->batch (the last, shorter batch shrinks
 * the batch with set_batch_network; the batch size is restored afterwards). Images are read
 * with mcd_read_image (c = net->c, resized to net->w x net->h) by a background thread while
 * the previous batch is computed. With label (e.g. the list's name) and more than one
 * batch of images, prints progress to stderr. out holds n entries.
 * 0, or -1 with an error naming the image (and list_name, when given), or the backend's
 * when it could not complete a pass (mcd_predict). */
int ood_score_images(network *net, const mcd_layout *m, char **paths, int n,
                     const char *list_name, const char *label, ood_image_scores *out);

#endif
