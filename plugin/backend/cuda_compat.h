/* What CUDA 13 and cuDNN 8 removed from under Darknet's pinned GPU code, put back for it.
 * A GPU build force-includes this header (-include, mk/gpu.mk) into Darknet's C objects;
 * darknet/ itself is never edited.
 *
 *   cudaThreadSynchronize   removed in CUDA 13 (deprecated since CUDA 4); the timing helper
 *                           of src/gemm.c calls it, and the link fails on it. It is
 *                           cudaDeviceSynchronize under its old name.
 *   cudnnGetConvolution{Forward,BackwardData,BackwardFilter}Algorithm with a preference
 *                           and a workspace limit: removed in cuDNN 8; src/convolutional_
 *                           layer.c's cudnn_convolutional_setup calls them (CUDNN=1). Here
 *                           they are the plugin's functions (cuda_compat.c) of the same
 *                           arguments, on cuDNN's *_v7 calls.
 *
 * Without GPU defined (a CPU build) this header declares nothing. */
#ifndef MCD_CUDA_COMPAT_H
#define MCD_CUDA_COMPAT_H

#ifdef GPU
#include <cuda_runtime.h>

#if CUDART_VERSION >= 13000
#define cudaThreadSynchronize cudaDeviceSynchronize
#endif

#ifdef CUDNN
#include <cudnn.h>
#if CUDNN_MAJOR >= 8
#ifdef __cplusplus
extern "C" {
#endif

/* cuDNN 7's preferences; only the workspace limit is honoured (what Darknet asks for). */
typedef enum {
    CUDNN_CONVOLUTION_FWD_NO_WORKSPACE,
    CUDNN_CONVOLUTION_FWD_PREFER_FASTEST,
    CUDNN_CONVOLUTION_FWD_SPECIFY_WORKSPACE_LIMIT,
} mcd_cudnn_fwd_preference;
typedef enum {
    CUDNN_CONVOLUTION_BWD_DATA_NO_WORKSPACE,
    CUDNN_CONVOLUTION_BWD_DATA_PREFER_FASTEST,
    CUDNN_CONVOLUTION_BWD_DATA_SPECIFY_WORKSPACE_LIMIT,
} mcd_cudnn_bwd_data_preference;
typedef enum {
    CUDNN_CONVOLUTION_BWD_FILTER_NO_WORKSPACE,
    CUDNN_CONVOLUTION_BWD_FILTER_PREFER_FASTEST,
    CUDNN_CONVOLUTION_BWD_FILTER_SPECIFY_WORKSPACE_LIMIT,
} mcd_cudnn_bwd_filter_preference;

/* The fastest algorithm (by cuDNN's heuristics) whose workspace fits memory_limit bytes
 * (NO_WORKSPACE: 0 bytes, PREFER_FASTEST: any). */
cudnnStatus_t mcd_cudnn_forward_algorithm(cudnnHandle_t handle, cudnnTensorDescriptor_t x,
                                          cudnnFilterDescriptor_t w,
                                          cudnnConvolutionDescriptor_t conv,
                                          cudnnTensorDescriptor_t y,
                                          mcd_cudnn_fwd_preference preference,
                                          size_t memory_limit, cudnnConvolutionFwdAlgo_t *algo);
cudnnStatus_t mcd_cudnn_backward_data_algorithm(cudnnHandle_t handle,
                                                cudnnFilterDescriptor_t w,
                                                cudnnTensorDescriptor_t dy,
                                                cudnnConvolutionDescriptor_t conv,
                                                cudnnTensorDescriptor_t dx,
                                                mcd_cudnn_bwd_data_preference preference,
                                                size_t memory_limit,
                                                cudnnConvolutionBwdDataAlgo_t *algo);
cudnnStatus_t mcd_cudnn_backward_filter_algorithm(cudnnHandle_t handle,
                                                  cudnnTensorDescriptor_t x,
                                                  cudnnTensorDescriptor_t dy,
                                                  cudnnConvolutionDescriptor_t conv,
                                                  cudnnFilterDescriptor_t dw,
                                                  mcd_cudnn_bwd_filter_preference preference,
                                                  size_t memory_limit,
                                                  cudnnConvolutionBwdFilterAlgo_t *algo);

#define cudnnGetConvolutionForwardAlgorithm mcd_cudnn_forward_algorithm
#define cudnnGetConvolutionBackwardDataAlgorithm mcd_cudnn_backward_data_algorithm
#define cudnnGetConvolutionBackwardFilterAlgorithm mcd_cudnn_backward_filter_algorithm

#ifdef __cplusplus
}
#endif
#endif /* CUDNN_MAJOR >= 8 */
#endif /* CUDNN */
#endif /* GPU */

#endif
