/* [mcd_discrepancy]: the discrepancy loss of MCD (Yu & Aizawa, ICCV 2019) and two variants.
 *
 * On an unlabeled pass (training, no truth), with p1, p2 the heads' softmax outputs for a
 * batch of B images, the loss is a hinge on a batch-mean discrepancy D between the heads:
 *     L_u = weight * max(0, margin - D)
 * chosen by the cfg key loss=:
 *   entropy (default, the paper's): D = mean_b H(p1_b) - mean_b H(p2_b), H the entropy
 *           over classes. Asymmetric: head 1 is pushed towards high entropy, head 2 low.
 *   l1:     D = mean_b sum_k |p1_bk - p2_bk|, in [0, 2): the detector's own score, averaged
 *           over the batch. Symmetric. Where p1_bk = p2_bk the subgradient of |.| is 0.
 *   skl:    D = mean_b sum_k (p1_bk - p2_bk) (log p1_bk - log p2_bk), the symmetric KL
 *           divergence KL(p1||p2) + KL(p2||p1), with each log taken of max(p, MCD_SKL_FLOOR)
 *           (a float32 softmax gives exact zeros); the floor's derivative is 0.
 *           Symmetric; D in [0, 2 log(1/floor)) = [0, 36.8).
 * On labeled passes and at inference the loss and its gradient are 0 (the heads' softmax
 * layers carry the CE).
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

/* The losses of loss= (the values are the layer's field, see discrepancy_layer.c). */
typedef enum { MCD_LOSS_ENTROPY = 0, MCD_LOSS_L1 = 1, MCD_LOSS_SKL = 2 } mcd_loss_kind;

/* The probability floor of the skl loss's logarithms: log max(p, 1e-8), so that one class's
 * log ratio is at most ln(1e8) = 18.4 nats. */
#define MCD_SKL_FLOOR 1e-8

/* "entropy", "l1", "skl"; and back: the kind of a cfg value, -1 for any other string. */
const char *mcd_loss_kind_name(mcd_loss_kind kind);
int mcd_loss_kind_parse(const char *name);

/* softmax1/softmax2: indices of the heads' [softmax] layers (softmax2 is the layer before). */
layer make_mcd_discrepancy_layer(int batch, int classes, int softmax1, int softmax2,
                                 float margin, float weight, mcd_loss_kind loss);
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

/* The entropy loss and -dL/dlogits for one batch, exactly as defined (no batch scaling):
 * p1, p2 are batch x classes probabilities; delta1, delta2 (may be NULL) receive -dL/dz
 * (Darknet's sign), zero when the hinge is inactive.
 * Returns L; stores the batch-mean entropies in *h1, *h2. */
float mcd_discrepancy_loss(const float *p1, const float *p2, int batch, int classes,
                           float margin, float weight, float *delta1, float *delta2,
                           float *h1, float *h2);

/* What a pass of any loss reports: the heads' batch-mean entropies, and D, the batch-mean
 * discrepancy the loss hinges on (for entropy, h1 - h2). */
typedef struct mcd_discrepancy_figures {
    float h1, h2, distance;
} mcd_discrepancy_figures;

/* The loss `kind` and -dL/dlogits for one batch, as mcd_discrepancy_loss (which it is, for
 * MCD_LOSS_ENTROPY, to the bit). Returns L = weight * max(0, margin - D). */
float mcd_discrepancy_loss_of(mcd_loss_kind kind, const float *p1, const float *p2, int batch,
                              int classes, float margin, float weight, float *delta1,
                              float *delta2, mcd_discrepancy_figures *fig);

/* H(p) = -sum_k p_k ln p_k (0 ln 0 = 0), in double: the loss's entropy, and the OOD
 * scores' (ood/ood_scores.c). */
double mcd_entropy(const double *p, int classes);

/* Mean entropies of head 1 and head 2 over the last forward pass, and its D (the quantity
 * the loss hinges on: the entropy gap, the mean L1 distance or the mean symmetric KL). */
float mcd_discrepancy_mean_entropy(const layer *l, int head);
float mcd_discrepancy_distance(const layer *l);
mcd_loss_kind mcd_discrepancy_loss_kind(const layer *l);
float mcd_discrepancy_margin(const layer *l);
float mcd_discrepancy_weight(const layer *l);

#endif
