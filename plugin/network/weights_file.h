/* Darknet weights files, checked: Darknet's load_weights reads with unchecked fread, so a
 * truncated file or one from another cfg loads silently as garbage, and a missing file
 * exits with status 0. These wrappers check the file against the network first and write
 * atomically (temporary file + rename), so a checkpoint is never half-written. */
#ifndef MCD_WEIGHTS_FILE_H
#define MCD_WEIGHTS_FILE_H

#include "darknet.h"

/* The arrays of layer l that a Darknet weights file holds (biases, weights, batch-norm
 * scales and rolling statistics), with their lengths in floats: how many (at most
 * MCD_MAX_TRAINED_ARRAYS), 0 for a weight-free layer, -1 for a layer whose layout is not
 * known here (recurrent, binary). With loaded_only, as load_weights_upto fills them
 * (without the batch-norm arrays of a dontloadscales layer). Not in the file's order. */
#define MCD_MAX_TRAINED_ARRAYS 5
int mcd_trained_arrays(const layer *l, int loaded_only, float **arrays, long *sizes);

/* Bytes that load_weights_upto(net, *, 0, cutoff) reads from a file with this header:
 * -1 when a layer type's size is not known here (recurrent layers). */
long mcd_weights_bytes(const network *net, int cutoff, int major, int minor);

/* Load layers [0, cutoff) (cutoff = net->n for all). With exact, the file must hold exactly
 * those layers' weights; otherwise at least. A network on a GPU gets them in its device
 * copies too. 0, or -1 with an error naming the file. */
int mcd_load_weights(network *net, const char *file, int cutoff, int exact);

/* Save the host copy of the weights through file.tmp + rename: for a network trained on a
 * GPU, pull them first (mcd_network_pull_weights, network_gpu.h). 0, or -1 with an error
 * naming the file. */
int mcd_save_weights(network *net, const char *file);

#endif
