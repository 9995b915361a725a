/* Darknet's batch normalization, bias and activation for a convolutional layer, over the
 * whole mini-batch at once: channel by channel (a channel's values stay in cache between
 * the statistics and the normalization), threaded over channels (OpenMP), vectorized.
 * The formulas are Darknet's own (src/batchnorm_layer.c, src/blas.c): unbiased variance,
 * x_norm = (x - mean) / (sqrt(var) + 1e-6), rolling statistics .99/.01, and the backward
 * pass with sqrt(var + 1e-5). Layout NCHW: batch images of `channels` planes of `spatial`. */
#ifndef MCD_BATCHNORM_CPU_H
#define MCD_BATCHNORM_CPU_H

#include "darknet.h"

/* Training forward: l->x (the convolution's output) -> l->output = act(scale * x_norm +
 * bias); sets l->mean, l->variance, updates l->rolling_*; fills l->x_norm if it exists. */
void batchnorm_cpu_forward(const layer *l);
/* Backward: l->delta (gradient of l->output) becomes the gradient of l->x; adds into
 * l->bias_updates and l->scale_updates. Uses the batch statistics, or the rolling ones when
 * the network is not training (as Darknet does). */
void batchnorm_cpu_backward(const layer *l, int train);

/* Without batch norm: l->output = act(l->output + bias) in place. */
void bias_activation_cpu_forward(const layer *l);
/* l->delta *= act'(l->output); l->bias_updates += the delta summed per channel. */
void bias_activation_cpu_backward(const layer *l);

#endif
