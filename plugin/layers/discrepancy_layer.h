/* [mcd_discrepancy]: the entropy-discrepancy loss of MCD (Yu & Aizawa, ICCV 2019).
 *
 * On an unlabeled pass (training, no truth), with p1, p2 the heads' softmax outputs for a
 * batch of B images and H the entropy over classes:
 *     L_u = weight * max(0, margin - (mean_b H(p1_b) - mean_b H(p2_b)))
 * Head 1 is pushed towards high entropy, head 2 towards low. On labeled passes and at
 * inference the loss and its gradient are 0 (the heads' softmax layers carry the CE).
 *
 * Darknet's convention for a layer's loss is a sum over the batch: a softmax layer's cost
 * is sum_b CE_b, its delta is -dCE_b/dz per image, and update_network divides the summed
 * gradient by the batch size. L_u is a batch-level mean, so the layer reports
 * cost[0] = B * L_u and delta = -B * dL_u/dz: after Darknet's division by B, the update is
 * exactly lr * dL_u/dw, as in the official PyTorch code (loss = CE_mean + L_u).
 *
 * Output: for each image, p1 then p2 (2*classes floats): the two heads' probabilities
 * side by side, read by [mcd_l1] and by the plugin's commands. */
#ifndef MCD_DISCREPANCY_LAYER_H
#define MCD_DISCREPANCY_LAYER_H

#include "darknet.h"
#include "layers/mcd_layer_types.h"

/* softmax1/softmax2: indices of the heads' [softmax] layers (softmax2 is the layer before). */
layer make_mcd_discrepancy_layer(int batch, int classes, int softmax1, int softmax2,
                                 float margin, float weight);
void forward_mcd_discrepancy_layer(const layer l, network net);
void backward_mcd_discrepancy_layer(const layer l, network net);
#ifdef GPU
/* For networks on a GPU: the heads' probabilities (and, backward, their deltas) come to
 * the host and the functions above run there; the tensors are batch x classes. */
void forward_mcd_discrepancy_layer_gpu(const layer l, network net);
void backward_mcd_discrepancy_layer_gpu(const layer l, network net);
#endif
/* Resize (mcd_resize_network): input batch x classes per head -> output batch x 2 classes,
 * whatever the image size, so there is nothing to reallocate. 0 when both heads' softmax
 * layers in net still give `classes` probabilities, -1 when not. */
int resize_mcd_discrepancy_layer(layer *l, const network *net);

/* The loss and -dL/dlogits for one batch, exactly as defined (no batch scaling): p1, p2 are batch x classes probabilities;
 * delta1, delta2 receive -dL/dz (Darknet's sign), zero when the hinge is inactive.
 * Returns L; stores the batch-mean entropies in *h1, *h2. */
float mcd_discrepancy_loss(const float *p1, const float *p2, int batch, int classes,
                           float margin, float weight, float *delta1, float *delta2,
                           float *h1, float *h2);

/* H(p) = -sum_k p_k ln p_k (0 ln 0 = 0), in double: the loss's entropy, and the OOD
 * scores' (ood/ood_scores.c). */
double mcd_entropy(const double *p, int classes);

/* Mean entropies of head 1 and head 2 over the last forward pass. */
float mcd_discrepancy_mean_entropy(const layer *l, int head);
float mcd_discrepancy_margin(const layer *l);
float mcd_discrepancy_weight(const layer *l);

#endif
