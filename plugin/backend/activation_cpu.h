/* Darknet's activations over one contiguous run of values (an image plane), vectorized for
 * the ones networks here use (linear, leaky, relu); any other goes through Darknet's own
 * activate_array / gradient_array (plugin/backend/activation_cpu.c). */
#ifndef MCD_ACTIVATION_CPU_H
#define MCD_ACTIVATION_CPU_H

#include "darknet.h"

/* Build a hot loop for AVX-512, AVX2 and the baseline; the CPU's best is picked at load
 * time (the binary stays portable, the loops vectorize as wide as the CPU allows). */
#define VECTOR_CLONES __attribute__((target_clones("avx512f", "avx2", "default")))

/* v = act(v), n values */
void activate_plane(float *v, int n, ACTIVATION a);
/* delta *= act'(out), Darknet's gradient taken at the activation's output */
void gradient_plane(const float *out, int n, ACTIVATION a, float *delta);

#endif
