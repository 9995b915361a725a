#include "split_layer.h"

#include <stdio.h>
#include <stdlib.h>

#include "blas.h"

/* Both layer types are pure data movement: no weights, so save/load_weights skip them. */

static layer make_passthrough(LAYER_TYPE type, int batch, int w, int h, int c)
{
    layer l = {0};
    l.type = type;
    l.batch = batch;
    l.w = l.out_w = w;
    l.h = l.out_h = h;
    l.c = l.out_c = c;
    l.inputs = l.outputs = w * h * c;
    l.output = calloc((size_t)l.outputs * batch, sizeof(float));
    l.delta = calloc((size_t)l.outputs * batch, sizeof(float));
    return l;
}

layer make_mcd_split_layer(int batch, int w, int h, int c)
{
    fprintf(stderr, "mcd_split                    %4d x%4d x%4d -> two heads\n", w, h, c);
    layer l = make_passthrough(MCD_SPLIT, batch, w, h, c);
    l.forward = forward_mcd_split_layer;
    l.backward = backward_mcd_split_layer;
    return l;
}

/* input: batch x outputs trunk features -> output: the same, copied. */
void forward_mcd_split_layer(const layer l, network net)
{
    copy_cpu(l.outputs * l.batch, net.input, 1, l.output, 1);
}

/* l.delta holds head 1's gradient plus (unless blocked) head 2's: hand it to the trunk. */
void backward_mcd_split_layer(const layer l, network net)
{
    if (net.delta) axpy_cpu(l.outputs * l.batch, 1, l.delta, 1, net.delta, 1);
}

/* The split's index lives in l.index, as Darknet's shortcut layer keeps its source there;
 * the block flag in l.stopbackward would stop all of backward_network, so it uses l.reverse
 * (read by reorg layers only). */
layer make_mcd_head_layer(int batch, int split_index, const layer *split)
{
    fprintf(stderr, "mcd_head    from %4d         %4d x%4d x%4d -> head 2\n", split_index,
            split->out_w, split->out_h, split->out_c);
    layer l = make_passthrough(MCD_HEAD, batch, split->out_w, split->out_h, split->out_c);
    l.index = split_index;
    l.forward = forward_mcd_head_layer;
    l.backward = backward_mcd_head_layer;
    return l;
}

/* input: head 1's output (ignored) -> output: the split's features, for head 2. */
void forward_mcd_head_layer(const layer l, network net)
{
    copy_cpu(l.outputs * l.batch, net.layers[l.index].output, 1, l.output, 1);
}

/* net.delta here is head 1's last delta: head 2's gradient goes to the split instead. */
void backward_mcd_head_layer(const layer l, network net)
{
    if (!mcd_head_is_blocked(&l))
        axpy_cpu(l.outputs * l.batch, 1, l.delta, 1, net.layers[l.index].delta, 1);
}

void mcd_head_set_blocked(layer *head, int blocked)
{
    head->reverse = blocked ? 1 : 0;
}

int mcd_head_is_blocked(const layer *head)
{
    return head->reverse;
}
