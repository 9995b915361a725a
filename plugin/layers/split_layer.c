#include "layers/split_layer.h"

#include <stdio.h>
#include <stdlib.h>

#include "blas.h"
#ifdef GPU
#include "cuda.h"
#endif

/* Both layer types are pure data movement: no weights, so save/load_weights skip them.
 * On a GPU (a GPU build, the network built with gpu_index >= 0) the same copies and sums
 * run on the device buffers, with Darknet's copy_gpu and axpy_gpu: the same numbers. */

#ifdef GPU
/* The device buffers of a layer whose host buffers are n floats each. */
static void make_gpu_buffers(layer *l, size_t n)
{
    if (gpu_index < 0) return;
    l->output_gpu = cuda_make_array(l->output, n);
    l->delta_gpu = cuda_make_array(l->delta, n);
}
#endif

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
#ifdef GPU
    make_gpu_buffers(&l, (size_t)l.outputs * batch);
#endif
    return l;
}

/* New buffers first, so that a failed allocation leaves the layer whole. */
static int resize_passthrough(layer *l, int w, int h)
{
    size_t n = (size_t)w * h * l->c * l->batch;
    float *output = calloc(n, sizeof(float)), *delta = calloc(n, sizeof(float));
    if (!output || !delta) {
        free(output);
        free(delta);
        return -1;
    }
    free(l->output);
    free(l->delta);
    l->output = output;
    l->delta = delta;
#ifdef GPU
    if (l->output_gpu) {
        cuda_free(l->output_gpu);
        cuda_free(l->delta_gpu);
        l->output_gpu = l->delta_gpu = NULL;
        make_gpu_buffers(l, n);
    }
#endif
    l->w = l->out_w = w;
    l->h = l->out_h = h;
    l->inputs = l->outputs = w * h * l->c;
    return 0;
}

layer make_mcd_split_layer(int batch, int w, int h, int c)
{
    fprintf(stderr, "mcd_split                    %4d x%4d x%4d -> two heads\n", w, h, c);
    layer l = make_passthrough(MCD_SPLIT, batch, w, h, c);
    l.forward = forward_mcd_split_layer;
    l.backward = backward_mcd_split_layer;
#ifdef GPU
    l.forward_gpu = forward_mcd_split_layer_gpu;
    l.backward_gpu = backward_mcd_split_layer_gpu;
#endif
    return l;
}

/* input: batch x outputs trunk features -> output: the same, copied. */
void forward_mcd_split_layer(const layer l, network net)
{
    copy_cpu(l.outputs * l.batch, net.input, 1, l.output, 1);
}

/* The [mcd_head] layer after the split running in net, when its gradient goes to the trunk
 * (not blocked); NULL otherwise. */
static const layer *open_head(network net)
{
    for (int i = net.index + 1; i < net.n; ++i)
        if (net.layers[i].type == MCD_HEAD)
            return mcd_head_is_blocked(&net.layers[i]) ? NULL : &net.layers[i];
    return NULL;
}

/* l.delta holds head 1's gradient; head 2's waits in the [mcd_head] layer's delta. Hand
 * the trunk both (head 2's unless blocked). Head 2's is added here rather than into l.delta
 * by [mcd_head]: head 1's first layer may overwrite l.delta instead of adding to it
 * (Darknet's 1x1 [convolutional] backward writes net.delta with gemm beta = 0). */
void backward_mcd_split_layer(const layer l, network net)
{
    if (!net.delta) return;
    axpy_cpu(l.outputs * l.batch, 1, l.delta, 1, net.delta, 1);
    const layer *head = open_head(net);
    if (head) axpy_cpu(l.outputs * l.batch, 1, head->delta, 1, net.delta, 1);
}

int resize_mcd_split_layer(layer *l, int w, int h)
{
    return resize_passthrough(l, w, h);
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
#ifdef GPU
    l.forward_gpu = forward_mcd_head_layer_gpu;
    l.backward_gpu = backward_mcd_head_layer_gpu;
#endif
    return l;
}

/* input: head 1's output (ignored) -> output: the split's features, for head 2. */
void forward_mcd_head_layer(const layer l, network net)
{
    copy_cpu(l.outputs * l.batch, net.layers[l.index].output, 1, l.output, 1);
}

int resize_mcd_head_layer(layer *l, const layer *split)
{
    return resize_passthrough(l, split->out_w, split->out_h);
}

/* net.delta here is head 1's last delta, not ours to touch. Head 2's gradient stays in
 * l.delta: the split's backward adds it to the trunk's (or not, when blocked). */
void backward_mcd_head_layer(const layer l, network net)
{
}

void mcd_head_set_blocked(layer *head, int blocked)
{
    head->reverse = blocked ? 1 : 0;
}

int mcd_head_is_blocked(const layer *head)
{
    return head->reverse;
}

#ifdef GPU
void forward_mcd_split_layer_gpu(const layer l, network net)
{
    copy_gpu(l.outputs * l.batch, net.input_gpu, 1, l.output_gpu, 1);
}

void backward_mcd_split_layer_gpu(const layer l, network net)
{
    if (!net.delta_gpu) return;
    axpy_gpu(l.outputs * l.batch, 1, l.delta_gpu, 1, net.delta_gpu, 1);
    const layer *head = open_head(net);
    if (head) axpy_gpu(l.outputs * l.batch, 1, head->delta_gpu, 1, net.delta_gpu, 1);
}

void forward_mcd_head_layer_gpu(const layer l, network net)
{
    copy_gpu(l.outputs * l.batch, net.layers[l.index].output_gpu, 1, l.output_gpu, 1);
}

void backward_mcd_head_layer_gpu(const layer l, network net)
{
}
#endif
