/* Inference over a parsed network without Darknet's training bookkeeping. */
#ifndef MCD_INFERENCE_H
#define MCD_INFERENCE_H

#include "darknet.h"

/* network_predict's result (the last layer's output for `input`, batch = net->batch), but
 * without forward_network's zeroing of every layer's delta before it runs: deltas matter
 * only to a backward pass, and at inference that zeroing writes as many bytes as the
 * layers' outputs. The next training forward zeroes them as usual.
 * NULL, with the error set, when the backend could not complete the pass (out of memory;
 * cpu_backend.h, mcd_backend_check). A network on a GPU runs Darknet's GPU pass, and then
 * has on the host the output, and each [softmax] layer's input and output (the plugin's
 * scores read them). */
float *mcd_predict(network *net, float *input);

/* Whether mcd_predict fuses layer i (a convolution) with the [shortcut] after it on an
 * inference pass over `net` as it is now: the shortcut's `from` layer, or -1. */
int mcd_residual_from(const network *net, int i);

/* On by default; off runs every layer on its own (tests compare each layer's output). */
void mcd_predict_fuse_residuals(int on);

#endif
