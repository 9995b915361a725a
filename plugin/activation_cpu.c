/* Vectorized activations (see activation_cpu.h). Leaky is Darknet's: x > 0 ? x : .1 x. */
#include "activation_cpu.h"
#include "activations.h"

void activate_plane(float *v, int n, ACTIVATION a)
{
    if (a == LINEAR) return;
    if (a == RELU || a == LEAKY) {
        const float low = a == RELU ? 0.f : .1f;
#pragma omp simd
        for (int i = 0; i < n; ++i) v[i] = v[i] > 0 ? v[i] : low * v[i];
        return;
    }
    activate_array(v, n, a);
}

void gradient_plane(const float *out, int n, ACTIVATION a, float *delta)
{
    if (a == LINEAR) return;
    if (a == RELU || a == LEAKY) {
        const float low = a == RELU ? 0.f : .1f;
#pragma omp simd
        for (int i = 0; i < n; ++i) delta[i] *= out[i] > 0 ? 1.f : low;
        return;
    }
    gradient_array((float *)out, n, a, delta);
}
