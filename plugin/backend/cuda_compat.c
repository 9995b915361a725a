/* cuDNN 7's algorithm choice on cuDNN 8 and later, for Darknet's cudnn_convolutional_setup
 * (cuda_compat.h). Compiled into GPU builds only (mk/gpu.mk). */
#include "backend/cuda_compat.h"

#if defined(CUDNN) && CUDNN_MAJOR >= 8

/* The limit a preference sets: NO_WORKSPACE 0 bytes, PREFER_FASTEST none,
 * SPECIFY_WORKSPACE_LIMIT the caller's. */
static size_t workspace_limit(int preference, size_t memory_limit)
{
    return preference == 0 ? 0 : preference == 1 ? (size_t)-1 : memory_limit;
}

/* The *_v7 calls return every algorithm, fastest first by cuDNN's heuristics: take the
 * first that ran and fits. perf[i].status and .memory are the same fields in all three. */
#define CHOOSE(perf, count, limit, algo)                                                    \
    do {                                                                                   \
        for (int i_ = 0; i_ < (count); ++i_)                                               \
            if ((perf)[i_].status == CUDNN_STATUS_SUCCESS && (perf)[i_].memory <= (limit)) { \
                *(algo) = (perf)[i_].algo;                                                 \
                return CUDNN_STATUS_SUCCESS;                                               \
            }                                                                              \
        return CUDNN_STATUS_NOT_SUPPORTED;                                                 \
    } while (0)

cudnnStatus_t mcd_cudnn_forward_algorithm(cudnnHandle_t handle, cudnnTensorDescriptor_t x,
                                          cudnnFilterDescriptor_t w,
                                          cudnnConvolutionDescriptor_t conv,
                                          cudnnTensorDescriptor_t y,
                                          mcd_cudnn_fwd_preference preference,
                                          size_t memory_limit, cudnnConvolutionFwdAlgo_t *algo)
{
    cudnnConvolutionFwdAlgoPerf_t perf[CUDNN_CONVOLUTION_FWD_ALGO_COUNT];
    int count = 0;
    cudnnStatus_t st = cudnnGetConvolutionForwardAlgorithm_v7(
        handle, x, w, conv, y, CUDNN_CONVOLUTION_FWD_ALGO_COUNT, &count, perf);
    if (st != CUDNN_STATUS_SUCCESS) return st;
    CHOOSE(perf, count, workspace_limit(preference, memory_limit), algo);
}

cudnnStatus_t mcd_cudnn_backward_data_algorithm(cudnnHandle_t handle,
                                                cudnnFilterDescriptor_t w,
                                                cudnnTensorDescriptor_t dy,
                                                cudnnConvolutionDescriptor_t conv,
                                                cudnnTensorDescriptor_t dx,
                                                mcd_cudnn_bwd_data_preference preference,
                                                size_t memory_limit,
                                                cudnnConvolutionBwdDataAlgo_t *algo)
{
    cudnnConvolutionBwdDataAlgoPerf_t perf[CUDNN_CONVOLUTION_BWD_DATA_ALGO_COUNT];
    int count = 0;
    cudnnStatus_t st = cudnnGetConvolutionBackwardDataAlgorithm_v7(
        handle, w, dy, conv, dx, CUDNN_CONVOLUTION_BWD_DATA_ALGO_COUNT, &count, perf);
    if (st != CUDNN_STATUS_SUCCESS) return st;
    CHOOSE(perf, count, workspace_limit(preference, memory_limit), algo);
}

cudnnStatus_t mcd_cudnn_backward_filter_algorithm(cudnnHandle_t handle,
                                                  cudnnTensorDescriptor_t x,
                                                  cudnnTensorDescriptor_t dy,
                                                  cudnnConvolutionDescriptor_t conv,
                                                  cudnnFilterDescriptor_t dw,
                                                  mcd_cudnn_bwd_filter_preference preference,
                                                  size_t memory_limit,
                                                  cudnnConvolutionBwdFilterAlgo_t *algo)
{
    cudnnConvolutionBwdFilterAlgoPerf_t perf[CUDNN_CONVOLUTION_BWD_FILTER_ALGO_COUNT];
    int count = 0;
    cudnnStatus_t st = cudnnGetConvolutionBackwardFilterAlgorithm_v7(
        handle, x, dy, conv, dw, CUDNN_CONVOLUTION_BWD_FILTER_ALGO_COUNT, &count, perf);
    if (st != CUDNN_STATUS_SUCCESS) return st;
    CHOOSE(perf, count, workspace_limit(preference, memory_limit), algo);
}

#endif
