/* Darknet's gemm on OpenBLAS.
 *
 * Darknet's gemm.c is plain loops. Its only entry points used by the CPU layers are gemm()
 * and gemm_cpu(), with cblas_sgemm's row-major semantics (C = ALPHA op(A) op(B) + BETA C).
 * This object defines both and is linked before libdarknet.a, so the linker never pulls in
 * Darknet's gemm.o: every convolution and connected layer runs on OpenBLAS (about 3x). */
#include <cblas.h>

#include "backend/gemm_backend.h"

void openblas_set_num_threads(int n);

void gemm_cpu(int TA, int TB, int M, int N, int K, float ALPHA, float *A, int lda, float *B,
              int ldb, float BETA, float *C, int ldc)
{
    cblas_sgemm(CblasRowMajor, TA ? CblasTrans : CblasNoTrans, TB ? CblasTrans : CblasNoTrans,
                M, N, K, ALPHA, A, lda, B, ldb, BETA, C, ldc);
}

void gemm(int TA, int TB, int M, int N, int K, float ALPHA, float *A, int lda, float *B,
          int ldb, float BETA, float *C, int ldc)
{
    gemm_cpu(TA, TB, M, N, K, ALPHA, A, lda, B, ldb, BETA, C, ldc);
}

void mcd_gemm_set_threads(int n)
{
    openblas_set_num_threads(n);
}

const char *mcd_gemm_backend(void)
{
    return "OpenBLAS";
}
