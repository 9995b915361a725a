/* Layer outputs kept in oneDNN's blocked layout between layers at inference.
 *
 * At inference a convolution or fused shortcut whose output is read only by other such
 * layers (or by a global [avgpool]) writes it in nChw16c (oneDNN's aBcd16b:
 * [batch][channel/16][h][w][16]), the layout the convolution kernels work in, instead of
 * Darknet's NCHW. This saves two reorders per convolution. Training passes always use
 * NCHW. */
#ifndef MCD_BLOCKED_LAYOUT_H
#define MCD_BLOCKED_LAYOUT_H

#include "darknet.h"

#define MCD_BLOCK 16 /* channels per block */

/* Whether, on an inference pass over `net` (its n layers as they are now), layer i's
 * output is written in nChw16c: the layer's forward is registered as writing it, its
 * channels are a multiple of MCD_BLOCK, it is not the network's last layer, and every layer
 * that reads it is registered as reading it. */
int blocked_output(const network *net, int i);

/* Whether a layer after `after` reads layer i's output (as its input or by index). */
int output_read_after(const network *net, int i, int after);

/* Whether the layer now running (net->index) reads its input in nChw16c. */
int blocked_input(const network *net);

/* Layout changes for the rare paths (a layer that must run Darknet's code): NCHW <->
 * nChw16c of a batch x c x h x w tensor, c a multiple of MCD_BLOCK; src and dst distinct. */
void blocked_from_plain(const float *plain, float *blocked, int batch, int c, int h, int w);
void blocked_to_plain(const float *blocked, float *plain, int batch, int c, int h, int w);

/* Which layers read and write nChw16c: each backend kernel registers its forward function
 * when it is installed (conv_onednn.c, shortcut_fused.c, avgpool_blocked.c), so that this
 * code needs none of them. `writes`: it writes its output in nChw16c when its out_c is a
 * multiple of MCD_BLOCK; `reads`: it reads any blocked output it is given (its input, or a
 * layer's by index). Registering a function again replaces its entry; reads = writes = 0
 * removes it. 0, or -1 with the error set when the table is full (then that kernel's
 * layers are decided NCHW: correct, only slower). */
int blocked_layout_register(void (*forward)(layer, network), int reads, int writes);

#endif
