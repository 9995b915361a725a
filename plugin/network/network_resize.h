/* Resizing a parsed network to a new input width and height: Darknet's resize_network for
 * networks with the plugin's layers.
 *
 * Darknet resizes a network for images of another size: `classifier train` with random=1
 * every 40 batches, `classifier predict`, `detector train`. Its resize_network
 * (src/network.c) stops the program ("Cannot resize this type of layer") on any layer type
 * it has no resize for: the MCD layers, and the [connected] and [softmax] layers of the
 * heads. Stock commands reach this one instead through -Wl,--wrap=resize_network
 * (plugin/commands/stock_wrappers.c). */
#ifndef MCD_NETWORK_RESIZE_H
#define MCD_NETWORK_RESIZE_H

#include "darknet.h"

/* Resize net to w x h, as resize_network does: net->w and net->h, every layer in turn on
 * the output of the layer before it, then net->inputs, outputs, truths, output, and new
 * input, truth and workspace buffers (zeroed). Stock layers are resized by Darknet's
 * resize_* functions, the MCD layers by resize_mcd_*; a layer whose input count cannot
 * change ([connected], [softmax]) must keep it, which a global [avgpool] before the heads
 * gives. Convolution, shortcut and average-pool layers get the selected CPU backend again
 * (cpu_backend.h), as after a parse.
 * 0, or -1 with an error naming the layer (index and type) that cannot take the new size;
 * the network is then as it was before the call. */
int mcd_resize_network(network *net, int w, int h);

#endif
