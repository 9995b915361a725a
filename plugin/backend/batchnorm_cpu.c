/* Batch norm, bias and activation on a whole mini-batch (see batchnorm_cpu.h). Sums run
 * in float over one image's plane (vectorized) and in double across planes, so a channel
 * of 128 x 32 x 32 values keeps the reference's accuracy. */
#include <math.h>

#include "backend/activation_cpu.h"
#include "backend/batchnorm_cpu.h"

VECTOR_CLONES static float plane_sum(const float *v, int n)
{
    float s = 0;
#pragma omp simd reduction(+ : s)
    for (int i = 0; i < n; ++i) s += v[i];
    return s;
}

VECTOR_CLONES static float plane_centered_squares(const float *v, int n, float mean)
{
    float s = 0;
#pragma omp simd reduction(+ : s)
    for (int i = 0; i < n; ++i) s += (v[i] - mean) * (v[i] - mean);
    return s;
}

/* One channel f of the training forward pass. */
VECTOR_CLONES static void forward_channel(const layer *l, int f)
{
    const int batch = l->batch, channels = l->out_c, spatial = l->out_h * l->out_w;
    const size_t image = (size_t)channels * spatial;
    const double count = (double)batch * spatial;
    const float *x = l->x + (size_t)f * spatial;
    double sum = 0;
    for (int b = 0; b < batch; ++b) sum += plane_sum(x + b * image, spatial);
    float mean = (float)(sum / count);
    double squares = 0;
    for (int b = 0; b < batch; ++b)
        squares += plane_centered_squares(x + b * image, spatial, mean);
    float variance = (float)(squares / (count - 1));
    l->mean[f] = mean;
    l->variance[f] = variance;
    l->rolling_mean[f] = .99f * l->rolling_mean[f] + .01f * mean;
    l->rolling_variance[f] = .99f * l->rolling_variance[f] + .01f * variance;

    const float inv_std = 1.f / (sqrtf(variance) + .000001f);
    const float scale = l->scales[f], bias = l->biases[f];
    for (int b = 0; b < batch; ++b) {
        const float *xb = x + b * image;
        float *out = l->output + b * image + (size_t)f * spatial;
        if (l->x_norm) {
            float *xn = l->x_norm + b * image + (size_t)f * spatial;
#pragma omp simd
            for (int i = 0; i < spatial; ++i) xn[i] = (xb[i] - mean) * inv_std;
        }
#pragma omp simd
        for (int i = 0; i < spatial; ++i) out[i] = (xb[i] - mean) * inv_std * scale + bias;
        activate_plane(out, spatial, l->activation);
    }
}

void batchnorm_cpu_forward(const layer *l)
{
#pragma omp parallel for schedule(static)
    for (int f = 0; f < l->out_c; ++f) forward_channel(l, f);
}

/* One channel f of the backward pass, with the statistics the forward pass normalized by. */
VECTOR_CLONES static void backward_channel(const layer *l, int f, const float *means,
                                           const float *variances)
{
    const int batch = l->batch, channels = l->out_c, spatial = l->out_h * l->out_w;
    const size_t image = (size_t)channels * spatial;
    const float count = (float)batch * spatial;
    const float mean = means[f], variance = variances[f], scale = l->scales[f];
    /* pass 1: through the activation; sums of delta and of delta * (x - mean) */
    double sum_d = 0, sum_dxc = 0;
    for (int b = 0; b < batch; ++b) {
        size_t at = b * image + (size_t)f * spatial;
        float *d = l->delta + at;
        const float *x = l->x + at;
        gradient_plane(l->output + at, spatial, l->activation, d);
        float sd = 0, sdx = 0;
#pragma omp simd reduction(+ : sd, sdx)
        for (int i = 0; i < spatial; ++i) {
            sd += d[i];
            sdx += d[i] * (x[i] - mean);
        }
        sum_d += sd;
        sum_dxc += sdx;
    }
    l->bias_updates[f] += (float)sum_d;
    l->scale_updates[f] += (float)(sum_dxc / (sqrt(variance) + .000001f)); /* sum d*x_norm */

    /* pass 2: Darknet's mean_delta, variance_delta and normalize_delta */
    const float inv_std = 1.f / sqrtf(variance + .00001f);
    const float mean_delta = (float)(-scale * sum_d) * inv_std;
    const float variance_delta =
        (float)(scale * sum_dxc) * -.5f * powf(variance + .00001f, -1.5f);
    const float dvar = variance_delta * 2.f / count, dmean = mean_delta / count;
    for (int b = 0; b < batch; ++b) {
        size_t at = b * image + (size_t)f * spatial;
        float *d = l->delta + at;
        const float *x = l->x + at;
#pragma omp simd
        for (int i = 0; i < spatial; ++i)
            d[i] = d[i] * scale * inv_std + dvar * (x[i] - mean) + dmean;
    }
}

void batchnorm_cpu_backward(const layer *l, int train)
{
    const float *means = train ? l->mean : l->rolling_mean;
    const float *variances = train ? l->variance : l->rolling_variance;
#pragma omp parallel for schedule(static)
    for (int f = 0; f < l->out_c; ++f) backward_channel(l, f, means, variances);
}

void bias_activation_cpu_forward(const layer *l)
{
    const int batch = l->batch, channels = l->out_c, spatial = l->out_h * l->out_w;
#pragma omp parallel for schedule(static)
    for (int f = 0; f < channels; ++f)
        for (int b = 0; b < batch; ++b) {
            float *out = l->output + ((size_t)b * channels + f) * spatial;
            const float bias = l->biases[f];
#pragma omp simd
            for (int i = 0; i < spatial; ++i) out[i] += bias;
            activate_plane(out, spatial, l->activation);
        }
}

void bias_activation_cpu_backward(const layer *l)
{
    const int batch = l->batch, channels = l->out_c, spatial = l->out_h * l->out_w;
#pragma omp parallel for schedule(static)
    for (int f = 0; f < channels; ++f) {
        double sum = 0;
        for (int b = 0; b < batch; ++b) {
            size_t at = ((size_t)b * channels + f) * spatial;
            gradient_plane(l->output + at, spatial, l->activation, l->delta + at);
            sum += plane_sum(l->delta + at, spatial);
        }
        l->bias_updates[f] += (float)sum;
    }
}
