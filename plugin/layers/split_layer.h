/* [mcd_split]: where the shared feature extractor ends and the two classifier heads begin.
 *
 * Darknet runs a flat array of layers, each reading the one before it. The two-branch head
 * is laid out as
 *     trunk..., mcd_split, head 1..., mcd_head, head 2..., mcd_discrepancy, mcd_l1
 * [mcd_split] passes the trunk's features through unchanged; [mcd_head] (written in the cfg
 * for asymmetric heads, inserted by the parser for symmetric ones) hands the same features
 * to head 2 instead of head 1's output. In backward, head 2's gradient collects in
 * [mcd_head]'s delta and head 1's in the split's delta (written by head 1's first layer,
 * as any layer writes the delta of the layer before it); the split passes the sum to the
 * trunk. Blocking head 2 (step A of MCD training) keeps head 2's gradient out of that sum,
 * so it trains head 2's weights only. */
#ifndef MCD_SPLIT_LAYER_H
#define MCD_SPLIT_LAYER_H

#include "darknet.h"
#include "layers/mcd_layer_types.h"

layer make_mcd_split_layer(int batch, int w, int h, int c);
void forward_mcd_split_layer(const layer l, network net);
void backward_mcd_split_layer(const layer l, network net);

/* split_index: the [mcd_split] layer's index in the network. */
layer make_mcd_head_layer(int batch, int split_index, const layer *split);
void forward_mcd_head_layer(const layer l, network net);
void backward_mcd_head_layer(const layer l, network net);

#ifdef GPU
/* The same on the device buffers (output_gpu, delta_gpu), for networks on a GPU. */
void forward_mcd_split_layer_gpu(const layer l, network net);
void backward_mcd_split_layer_gpu(const layer l, network net);
void forward_mcd_head_layer_gpu(const layer l, network net);
void backward_mcd_head_layer_gpu(const layer l, network net);
#endif

/* Resize (mcd_resize_network): the trunk's features are now w x h, c unchanged.
 *   [mcd_split] input: batch x (c x h x w) -> output: the same, in buffers of the new size
 *   [mcd_head]  output: the split's output shape again (head 2 reads the split's features)
 * The buffers' contents are not kept (the next forward pass writes them); on a GPU the
 * device buffers are made anew too. 0, or -1 when
 * memory for them cannot be had (the layer is then left as it was). */
int resize_mcd_split_layer(layer *l, int w, int h);
int resize_mcd_head_layer(layer *l, const layer *split);

/* Whether head 2's gradient reaches the trunk (layer of type MCD_HEAD). */
void mcd_head_set_blocked(layer *head, int blocked);
int mcd_head_is_blocked(const layer *head);

#endif
