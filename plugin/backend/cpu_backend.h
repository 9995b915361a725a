/* The CPU backend: which code runs Darknet's heavy layers after a cfg is parsed.
 *
 *   onednn   (default) convolutions on oneDNN over the whole mini-batch, batch norm and
 *            activation in batched, threaded loops, batch norm folded into the convolution
 *            at inference (plugin/backend/conv_onednn.c, batchnorm_cpu.c, shortcut_fused.c,
 *            avgpool_blocked.c on onednn_runtime.c)
 *   darknet  Darknet's own layer code (per-image im2col + gemm), for comparison
 *
 * Chosen by `-backend NAME` on any command line, else by the environment variable
 * MCD_BACKEND, else onednn. Weights, cfg keys and the optimizer are Darknet's either way.
 * The parser knows no backend: a program hands mcd_backend_install to
 * mcd_network_set_parse_hook (network/mcd_network.h) before it parses a cfg. */
#ifndef MCD_CPU_BACKEND_H
#define MCD_CPU_BACKEND_H

#include "darknet.h"

/* Select a backend by name; -1 (and the error set) for an unknown name. */
int mcd_backend_select(const char *name);
/* The selected backend's name ("onednn" or "darknet"). */
const char *mcd_backend_name(void);
/* Remove `-backend NAME` from argv (anywhere after argv[0]) and select it; returns the new
 * argc, or -1 with the error set. */
int mcd_backend_take_arg(int argc, char **argv);
/* Install the selected backend's layer functions into a freshly parsed network; a network
 * built for a GPU (network/network_gpu.h) is left as Darknet made it. */
void mcd_backend_install(network *net);

/* Darknet's forward and backward functions return nothing, so the backend cannot fail a
 * pass as it happens: it records the first failure (out of memory, a oneDNN primitive that
 * did not run), its layers do nothing more until it is reported, and the pass's results
 * are garbage. After each pass it ran (forward_network, backward_network, ...), a caller
 * asks here: 0, or -1 with the error set, once per failure (the record is cleared).
 * mcd_predict (inference.h) asks by itself. */
int mcd_backend_check(void);

/* For programs whose passes nobody checks (Darknet's own commands): a function called with
 * the message as soon as the backend records a failure, before the rest of the pass and
 * the passes after it run on garbage. NULL (the default): failures wait for
 * mcd_backend_check. */
void mcd_backend_set_failure_hook(void (*hook)(const char *message));

#endif
