/* What stock Darknet commands get from the plugin: Darknet functions replaced at link time
 * (-Wl,--wrap=NAME in the Makefile's WRAP), so that `darknet classifier ...`, `detector`
 * and the rest work on MCD cfgs too.
 *
 * This is the boundary with Darknet's code, which ignores errors: a wrapper whose plugin
 * function fails prints "darknet: error: <message>" and exits 1 here (as a command would)
 * rather than hand Darknet a network it would crash on. */
#include <stdio.h>
#include <stdlib.h>

#include "commands/stock_wrappers.h"

#include "backend/gpu_device.h"
#include "darknet.h"
#include "network/mcd_network.h"
#include "network/network_resize.h"
#include "util/mcd_error.h"

/* parse_network_cfg: the plugin's parse loop reads MCD cfgs too, and a bad cfg ends the
 * program with a message naming the file, line and key instead of Darknet's crash further on. */
network *__wrap_parse_network_cfg(char *filename)
{
    network *net = mcd_parse_network_cfg(filename);
    if (!net) mcd_stock_command_failed(mcd_last_error());
    return net;
}

/* resize_network: Darknet's exits on the MCD layers, [connected] and [softmax]
 * (network_resize.h); `classifier train` with random=1 calls it every 40 batches. */
int __wrap_resize_network(network *net, int w, int h)
{
    if (mcd_resize_network(net, w, h)) mcd_stock_command_failed(mcd_last_error());
    return 0;
}

#ifdef GPU
/* Darknet's CUDA helpers (mk/gpu.mk, CUDA_WRAPPED). Its make_*_layer functions ask for GPU
 * memory whatever gpu_index says (only the convolutional layers look), and cuda_make_array
 * aborts the program when there is no device: with gpu_index < 0 a network gets no device
 * buffers, so that a GPU build runs on the CPU where asked, and on a machine without a
 * GPU. Networks built for a GPU (gpu_index >= 0) get them as before. */
float *__real_cuda_make_array(float *x, size_t n);
int *__real_cuda_make_int_array(int *x, size_t n);
void __real_cuda_free(float *x_gpu);
void __real_cuda_set_device(int n);

float *__wrap_cuda_make_array(float *x, size_t n)
{
    return gpu_index < 0 ? NULL : __real_cuda_make_array(x, n);
}

int *__wrap_cuda_make_int_array(int *x, size_t n)
{
    return gpu_index < 0 ? NULL : __real_cuda_make_int_array(x, n);
}

/* cudaFree(NULL) fails without a device; a CPU network's device pointers are NULL. */
void __wrap_cuda_free(float *x_gpu)
{
    if (x_gpu) __real_cuda_free(x_gpu);
}

/* Darknet's commands call cuda_set_device(gpu_index) also when -nogpu made it -1
 * (`classifier train`): that is the CPU. A device that is not there is an error that
 * says so, not Darknet's assertion. */
void __wrap_cuda_set_device(int n)
{
    if (n < 0) {
        gpu_index = -1;
        return;
    }
    if (n >= mcd_gpu_count(NULL)) {
        mcd_gpu_select(n); /* fails, with the message that says why */
        mcd_stock_command_failed(mcd_last_error());
    }
    __real_cuda_set_device(n);
}

#ifdef CUDNN
/* Darknet's set_batch_network and resize_convolutional_layer set up cuDNN for every
 * convolution, also on the CPU; cudnn_handle would abort without a device. With no handle
 * cuDNN refuses the calls, and a CPU network does not need them. */
cudnnHandle_t __real_cudnn_handle(void);
cudnnHandle_t __wrap_cudnn_handle(void)
{
    return gpu_index < 0 ? NULL : __real_cudnn_handle();
}
#endif
#endif

void mcd_stock_command_failed(const char *message)
{
    fprintf(stderr, "darknet: error: %s\n", message);
    exit(1);
}
