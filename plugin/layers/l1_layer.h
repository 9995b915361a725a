/* [mcd_l1]: the MCD out-of-distribution score, the network's output.
 *
 * For each image, from the [mcd_discrepancy] layer's output [p1 | p2]:
 *     score = sum_k |p1_k - p2_k|, in [0, 2]
 * near 0 when the heads agree (in-distribution), near 2 - 2/K when head 1 is uniform and
 * head 2 one-hot (out-of-distribution). Inference only: it passes no gradient back. */
#ifndef MCD_L1_LAYER_H
#define MCD_L1_LAYER_H

#include "darknet.h"
#include "layers/mcd_layer_types.h"

layer make_mcd_l1_layer(int batch, int classes);
void forward_mcd_l1_layer(const layer l, network net);
void backward_mcd_l1_layer(const layer l, network net);
#ifdef GPU
/* For networks on a GPU: the input (batch x 2 classes) comes to the host, the score goes
 * back. */
void forward_mcd_l1_layer_gpu(const layer l, network net);
void backward_mcd_l1_layer_gpu(const layer l, network net);
#endif
/* Resize (mcd_resize_network): input batch x 2 classes -> output batch x 1, whatever the
 * image size. 0 when the input is still 2 x classes wide (inputs), -1 when not. */
int resize_mcd_l1_layer(layer *l, int inputs);

#endif
