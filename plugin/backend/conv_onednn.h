/* Darknet's [convolutional] layer on oneDNN (plugin/backend/conv_onednn.c). */
#ifndef MCD_CONV_ONEDNN_H
#define MCD_CONV_ONEDNN_H

#include "darknet.h"

/* Give net->layers[i] (a CONVOLUTIONAL layer) the oneDNN forward and backward; layers
 * oneDNN cannot run as Darknet does (groups, binary, xnor) keep Darknet's code. Returns 1
 * when installed. The optimizer step stays Darknet's update_convolutional_layer. */
int conv_onednn_install(network *net, int i);
/* Whether l runs the oneDNN forward (installed, not gone back to Darknet's code). */
int conv_onednn_installed(const layer *l);

/* Inference of an installed layer l (linear activation, output in nChw16c) fused with the
 * [shortcut] after it: sum, in nChw16c with l's output shape, holds the shortcut's other
 * input and receives act(conv(input) + sum), in place. 0 when this cannot be done (then
 * nothing was written): the caller runs the two layers as usual. */
int conv_onednn_forward_residual(layer *l, network *net, float *sum, ACTIVATION act);

#endif
