/* A network's arrays between host and device memory, for networks built on a GPU
 * (backend/gpu_device.h). Darknet keeps each array twice, in host memory (l.weights) and
 * device memory (l.weights_gpu), and the GPU passes read and update the device copies
 * only. The plugin reads and writes the host copies (weights files, the weight average,
 * checkpoint choice, the heads' probabilities), so it brings them across at those points.
 * For a network on the CPU (and in a CPU build) every function here does nothing. */
#ifndef MCD_NETWORK_GPU_H
#define MCD_NETWORK_GPU_H

#include "darknet.h"

/* Whether net was built for a GPU (net->gpu_index >= 0 in a GPU build). */
int mcd_network_on_gpu(const network *net);

/* 0 when every layer's device arrays are known here (the layers with trained arrays:
 * convolutional, deconvolutional, connected, local, batchnorm), else -1 with an error
 * naming the first layer that is not (recurrent layers). */
int mcd_network_gpu_check(const network *net);

/* The trained arrays (biases, weights, batch-norm scales and rolling statistics: what a
 * weights file holds) of every layer, device to host and host to device. */
void mcd_network_pull_weights(network *net);
void mcd_network_push_weights(network *net);

/* The update buffers (weight_updates, bias_updates, scale_updates: Darknet's gradient
 * sums and momentum), device to host and host to device. */
void mcd_network_pull_updates(network *net);
void mcd_network_push_updates(network *net);

/* The update buffers of layer l (as mcd_trained_arrays lists the trained ones,
 * network/weights_file.h): how many (at most MCD_MAX_UPDATE_ARRAYS), with their lengths
 * in floats; 0 for a layer without. */
#define MCD_MAX_UPDATE_ARRAYS 3
int mcd_update_arrays(const layer *l, float **arrays, long *sizes);

/* Layer i's output (outputs x batch floats), device to host. */
void mcd_network_pull_output(network *net, int i);

#endif
