#include "layers/l1_layer.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>

#ifdef GPU
#include "cuda.h"
#endif

layer make_mcd_l1_layer(int batch, int classes)
{
    fprintf(stderr, "mcd_l1                       %4d classes x 2 -> 1 score\n", classes);
    layer l = {0};
    l.type = MCD_L1;
    l.batch = batch;
    l.classes = classes;
    l.inputs = 2 * classes;
    l.outputs = 1;
    l.out_w = l.out_h = l.out_c = 1;
    /* The labels of a labeled batch are one-hot over the classes: net->truths comes from
     * the last layer's truths, and both heads' softmax layers read that truth. */
    l.truths = classes;
    l.output = calloc(batch, sizeof(float));
    l.delta = calloc(batch, sizeof(float));
    l.forward = forward_mcd_l1_layer;
    l.backward = backward_mcd_l1_layer;
#ifdef GPU
    l.forward_gpu = forward_mcd_l1_layer_gpu;
    l.backward_gpu = backward_mcd_l1_layer_gpu;
    if (gpu_index >= 0) {
        l.output_gpu = cuda_make_array(l.output, batch);
        l.delta_gpu = cuda_make_array(l.delta, batch);
    }
#endif
    return l;
}

/* input: batch x [p1 | p2] -> output: batch x 1. */
void forward_mcd_l1_layer(const layer l, network net)
{
    const int K = l.classes;
    for (int b = 0; b < l.batch; ++b) {
        const float *p = net.input + b * 2 * K;
        double s = 0;
        for (int k = 0; k < K; ++k) s += fabs((double)p[k] - p[K + k]);
        l.output[b] = (float)s;
    }
}

/* The score is read, never trained on. */
void backward_mcd_l1_layer(const layer l, network net)
{
}

#ifdef GPU
/* The input (batch x 2 classes) to the host, the score there, the output back. */
void forward_mcd_l1_layer_gpu(const layer l, network net)
{
    cuda_pull_array(net.input_gpu, net.input, (size_t)l.inputs * l.batch);
    forward_mcd_l1_layer(l, net);
    cuda_push_array(l.output_gpu, l.output, l.batch);
}

void backward_mcd_l1_layer_gpu(const layer l, network net)
{
}
#endif

int resize_mcd_l1_layer(layer *l, int inputs)
{
    return inputs == l->inputs ? 0 : -1;
}
