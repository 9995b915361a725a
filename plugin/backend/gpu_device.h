/* Which processor runs a network: the CPU, or a CUDA device of a GPU build (make GPU=1,
 * docs/gpu.md).
 *
 * Darknet decides per network, from its global gpu_index when the network is built:
 * make_*_layer allocate GPU buffers, and forward_network, backward_network and
 * update_network run the layers' *_gpu functions, when net->gpu_index >= 0. The plugin's
 * commands run on the CPU unless asked (-gpu N, -gpus LIST): mcd_gpu_select sets
 * gpu_index before a cfg is parsed. In a CPU build there is no device, and asking for one
 * is an error that says so. */
#ifndef MCD_GPU_DEVICE_H
#define MCD_GPU_DEVICE_H

/* Whether this binary was built with CUDA (GPU=1). */
int mcd_gpu_built(void);

/* The CUDA devices this process sees: 0 in a CPU build, without a CUDA driver or without
 * a device, and then *why (when not NULL) says which, in a few words. Asked once. */
int mcd_gpu_count(const char **why);

/* Networks built from now on run on `device` (>= 0) or on the CPU (-1); `device` becomes
 * this thread's current CUDA device. 0, or -1 with the error set (a CPU build, no CUDA
 * device, no device of that number). */
int mcd_gpu_select(int device);

/* "0,1" -> devices[] (at most max), each checked as mcd_gpu_select checks it; a device
 * may appear twice (two networks on one GPU). The count, or -1 with an error naming
 * `option`. */
int mcd_gpu_parse_list(const char *option, const char *text, int *devices, int max);

/* "GPU 0 (NVIDIA H200)", or "the CPU" for -1: for progress lines. A static buffer. */
const char *mcd_gpu_describe(int device);

#endif
