#include "train/weight_average.h"

#include <stdlib.h>
#include <string.h>

#include "util/mcd_error.h"
#include "network/weights_file.h"

/* Every float a weights file holds for `net`, or -1 naming a layer whose arrays are not
 * known (a mean that skipped them would be the last network's numbers there). */
static long total_floats(const network *net)
{
    long total = 0;
    for (int i = 0; i < net->n; ++i) {
        float *arrays[MCD_MAX_TRAINED_ARRAYS];
        long sizes[MCD_MAX_TRAINED_ARRAYS];
        int count = mcd_trained_arrays(&net->layers[i], 0, arrays, sizes);
        if (count < 0) {
            mcd_set_error("finetune_average: layer %d's weights (a recurrent or binary layer) "
                          "cannot be averaged; set finetune_average=0", i);
            return -1;
        }
        for (int j = 0; j < count; ++j) total += sizes[j];
    }
    return total;
}

int mcd_average_init(mcd_weight_average *a, const network *net)
{
    a->mean = NULL;
    a->samples = 0;
    if ((a->n = total_floats(net)) < 0) return -1;
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
        float *arrays[MCD_MAX_TRAINED_ARRAYS];
        long sizes[MCD_MAX_TRAINED_ARRAYS];
        int count = mcd_trained_arrays(&net->layers[i], 0, arrays, sizes);
        for (int j = 0; j < count; ++j)
            for (long k = 0; k < sizes[j]; ++k, ++m) *m += (arrays[j][k] - *m) * inv;
    }
}

void mcd_average_swap(mcd_weight_average *a, network *net)
{
    float *m = a->mean;
    for (int i = 0; i < net->n; ++i) {
        float *arrays[MCD_MAX_TRAINED_ARRAYS];
        long sizes[MCD_MAX_TRAINED_ARRAYS];
        int count = mcd_trained_arrays(&net->layers[i], 0, arrays, sizes);
        for (int j = 0; j < count; ++j)
            for (long k = 0; k < sizes[j]; ++k, ++m) {
                float t = arrays[j][k];
                arrays[j][k] = *m;
                *m = t;
            }
    }
}
