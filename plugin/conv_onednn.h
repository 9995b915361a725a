/* Darknet's [convolutional] layer on oneDNN (plugin/conv_onednn.c). */
#ifndef MCD_CONV_ONEDNN_H
#define MCD_CONV_ONEDNN_H

#include "darknet.h"

/* Give net->layers[i] (a CONVOLUTIONAL layer) the oneDNN forward and backward; layers
 * oneDNN cannot run as Darknet does (groups, binary, xnor) keep Darknet's code. Returns 1
 * when installed. The optimizer step stays Darknet's update_convolutional_layer. */
int conv_onednn_install(network *net, int i);

#endif
