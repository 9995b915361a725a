/* Vectorized activations (see activation_cpu.h). Leaky is Darknet's: x > 0 ? x : .1 x.
 * Both sides of each choice are computed and one is kept, so the compiler can vectorize
 * (a multiply inside a branch may not be speculated), in VECTOR_CLONES. */
#include "backend/activation_cpu.h"
#include "activations.h"

VECTOR_CLONES static void leaky_plane(float *v, int n, float low)
{
#pragma omp simd
    for (int i = 0; i < n; ++i) {
        float x = v[i], scaled = low * x;
        v[i] = x > 0 ? x : scaled;
    }
}

VECTOR_CLONES static void leaky_gradient_plane(const float *out, int n, float low, float *delta)
{
#pragma omp simd
    for (int i = 0; i < n; ++i) {
        float d = delta[i], scaled = low * d;
        delta[i] = out[i] > 0 ? d : scaled;
    }
}

void activate_plane(float *v, int n, ACTIVATION a)
{
    if (a == LINEAR) return;
    if (a == RELU || a == LEAKY) leaky_plane(v, n, a == RELU ? 0.f : .1f);
    else activate_array(v, n, a);
}

void gradient_plane(const float *out, int n, ACTIVATION a, float *delta)
{
    if (a == LINEAR) return;
    if (a == RELU || a == LEAKY) leaky_gradient_plane(out, n, a == RELU ? 0.f : .1f, delta);
    else gradient_array((float *)out, n, a, delta);
}
