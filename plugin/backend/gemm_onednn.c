/* Darknet's gemm on oneDNN (Debian libdnnl-dev 2.6), the default backend.
 *
 * Darknet's gemm.c is plain loops; its only entry points used by the CPU layers are gemm()
 * and gemm_cpu(), with row-major semantics (C = ALPHA op(A) op(B) + BETA C), which is
 * what dnnl_sgemm computes. This object defines both and is linked before libdarknet.a,
 * so the linker never pulls in Darknet's gemm.o. oneDNN picks its JIT kernels for the CPU
 * it runs on (AVX-512 here), where Debian's OpenBLAS 0.3.21 falls back to its generic
 * SSE3 kernels on CPUs newer than it knows (measured: docs/performance.md). */
#include <dnnl.h>

#include "backend/gemm_backend.h"

void omp_set_num_threads(int n); /* libgomp, oneDNN's threading runtime in Debian's build */

void gemm_cpu(int TA, int TB, int M, int N, int K, float ALPHA, float *A, int lda, float *B,
              int ldb, float BETA, float *C, int ldc)
{
    dnnl_sgemm(TA ? 'T' : 'N', TB ? 'T' : 'N', M, N, K, ALPHA, A, lda, B, ldb, BETA, C, ldc);
}

void gemm(int TA, int TB, int M, int N, int K, float ALPHA, float *A, int lda, float *B,
          int ldb, float BETA, float *C, int ldc)
{
    gemm_cpu(TA, TB, M, N, K, ALPHA, A, lda, B, ldb, BETA, C, ldc);
}

void mcd_gemm_set_threads(int n)
{
    omp_set_num_threads(n);
}

const char *mcd_gemm_backend(void)
{
    return "oneDNN";
}
