/* Host and device copies of a network's arrays (network_gpu.h). */
#include "network/network_gpu.h"

#include <string.h>

#include "network.h"
#include "network/weights_file.h"
#include "util/mcd_error.h"

int mcd_network_on_gpu(const network *net)
{
#ifdef GPU
    return net->gpu_index >= 0;
#else
    return 0;
#endif
}

int mcd_update_arrays(const layer *l, float **arrays, long *sizes)
{
    long n, w;
    int bn = l->batch_normalize, k = 0;
    switch (l->type) {
    case CONVOLUTIONAL:
    case DECONVOLUTIONAL: n = l->n, w = l->nweights; break;
    case CONNECTED: n = l->outputs, w = (long)l->outputs * l->inputs; break;
    case LOCAL:
        n = l->outputs, w = (long)l->size * l->size * l->c * l->n * l->out_w * l->out_h, bn = 0;
        break;
    case BATCHNORM: n = l->c, w = 0, bn = 1; break;
    default: return 0;
    }
    arrays[k] = l->bias_updates, sizes[k++] = n;
    if (w) arrays[k] = l->weight_updates, sizes[k++] = w;
    if (bn) arrays[k] = l->scale_updates, sizes[k++] = n;
    return k;
}

#ifdef GPU
/* The device array beside host array `host` of layer l (one of its trained or update
 * arrays), or NULL. */
static float *device_of(const layer *l, const float *host)
{
    const float *hosts[] = {l->biases, l->weights, l->scales, l->rolling_mean,
                            l->rolling_variance, l->bias_updates, l->weight_updates,
                            l->scale_updates};
    float *devices[] = {l->biases_gpu, l->weights_gpu, l->scales_gpu, l->rolling_mean_gpu,
                        l->rolling_variance_gpu, l->bias_updates_gpu, l->weight_updates_gpu,
                        l->scale_updates_gpu};
    for (size_t i = 0; i < sizeof hosts / sizeof hosts[0]; ++i)
        if (hosts[i] == host) return devices[i];
    return NULL;
}

/* Every listed array of every layer one way: to_host 1 pulls, 0 pushes. */
static void copy_arrays(network *net, int updates, int to_host)
{
    if (!mcd_network_on_gpu(net)) return;
    cuda_set_device(net->gpu_index);
    for (int i = 0; i < net->n; ++i) {
        const layer *l = &net->layers[i];
        float *arrays[MCD_MAX_TRAINED_ARRAYS + MCD_MAX_UPDATE_ARRAYS];
        long sizes[MCD_MAX_TRAINED_ARRAYS + MCD_MAX_UPDATE_ARRAYS];
        int count = updates ? mcd_update_arrays(l, arrays, sizes)
                            : mcd_trained_arrays(l, 0, arrays, sizes);
        /* a [batchnorm] layer trains biases that Darknet's weights files leave out */
        if (!updates && l->type == BATCHNORM && count >= 0)
            arrays[count] = l->biases, sizes[count++] = l->c;
        for (int k = 0; k < count; ++k) {
            float *dev = device_of(l, arrays[k]);
            if (!dev || !sizes[k]) continue;
            if (to_host) cuda_pull_array(dev, arrays[k], sizes[k]);
            else cuda_push_array(dev, arrays[k], sizes[k]);
        }
    }
}
#else
static void copy_arrays(network *net, int updates, int to_host)
{
}
#endif

int mcd_network_gpu_check(const network *net)
{
    for (int i = 0; mcd_network_on_gpu(net) && i < net->n; ++i) {
        float *arrays[MCD_MAX_TRAINED_ARRAYS];
        long sizes[MCD_MAX_TRAINED_ARRAYS];
        if (mcd_trained_arrays(&net->layers[i], 0, arrays, sizes) < 0) {
            mcd_set_error("layer %d [%s]: its arrays are not brought between GPU and host "
                          "here (recurrent and binary layers): train this network on the CPU",
                          i, get_layer_string(net->layers[i].type));
            return -1;
        }
    }
    return 0;
}

void mcd_network_pull_weights(network *net)
{
    copy_arrays(net, 0, 1);
}

void mcd_network_push_weights(network *net)
{
    copy_arrays(net, 0, 0);
}

void mcd_network_pull_updates(network *net)
{
    copy_arrays(net, 1, 1);
}

void mcd_network_push_updates(network *net)
{
    copy_arrays(net, 1, 0);
}

void mcd_network_pull_output(network *net, int i)
{
#ifdef GPU
    const layer *l = &net->layers[i];
    if (!mcd_network_on_gpu(net) || !l->output_gpu) return;
    cuda_set_device(net->gpu_index);
    cuda_pull_array(l->output_gpu, l->output, (size_t)l->outputs * l->batch);
#endif
}
