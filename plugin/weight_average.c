#include "weight_average.h"

#include <stdlib.h>
#include <string.h>

#include "mcd_error.h"

/* The trained arrays of layer l and their lengths (the ones Darknet's weights file holds);
 * returns how many. */
static int trained_arrays(layer *l, float **arrays, long *sizes)
{
    int bn = l->batch_normalize, k = 0;
    long n = 0, w = 0;
    switch (l->type) {
    case CONVOLUTIONAL:
        n = l->n, w = l->nweights;
        break;
    case CONNECTED:
        n = l->outputs, w = (long)l->outputs * l->inputs;
        break;
    case BATCHNORM:
        n = l->c, bn = 1;
        break;
    default:
        return 0;
    }
    if (l->type != BATCHNORM) arrays[k] = l->biases, sizes[k++] = n;
    if (l->type != BATCHNORM) arrays[k] = l->weights, sizes[k++] = w;
    if (bn) {
        arrays[k] = l->scales, sizes[k++] = n;
        arrays[k] = l->rolling_mean, sizes[k++] = n;
        arrays[k] = l->rolling_variance, sizes[k++] = n;
    }
    return k;
}

static long total_floats(const network *net)
{
    long total = 0;
    for (int i = 0; i < net->n; ++i) {
        float *arrays[5];
        long sizes[5];
        int count = trained_arrays(&net->layers[i], arrays, sizes);
        for (int j = 0; j < count; ++j) total += sizes[j];
    }
    return total;
}

int mcd_average_init(mcd_weight_average *a, const network *net)
{
    a->n = total_floats(net);
    a->samples = 0;
    a->mean = calloc(a->n ? a->n : 1, sizeof(float));
    if (!a->mean) {
        mcd_set_error("out of memory for the weight average (%ld floats)", a->n);
        return -1;
    }
    return 0;
}

void mcd_average_free(mcd_weight_average *a)
{
    free(a->mean);
    a->mean = NULL;
    a->n = 0;
    a->samples = 0;
}

void mcd_average_add(mcd_weight_average *a, network *net)
{
    a->samples++;
    float *m = a->mean, inv = 1.0f / a->samples;
    for (int i = 0; i < net->n; ++i) {
        float *arrays[5];
        long sizes[5];
        int count = trained_arrays(&net->layers[i], arrays, sizes);
        for (int j = 0; j < count; ++j)
            for (long k = 0; k < sizes[j]; ++k, ++m) *m += (arrays[j][k] - *m) * inv;
    }
}

void mcd_average_swap(mcd_weight_average *a, network *net)
{
    float *m = a->mean;
    for (int i = 0; i < net->n; ++i) {
        float *arrays[5];
        long sizes[5];
        int count = trained_arrays(&net->layers[i], arrays, sizes);
        for (int j = 0; j < count; ++j)
            for (long k = 0; k < sizes[j]; ++k, ++m) {
                float t = arrays[j][k];
                arrays[j][k] = *m;
                *m = t;
            }
    }
}
