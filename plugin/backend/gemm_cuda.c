/* Darknet's gemm_gpu on cuBLAS, for GPU builds (mk/gpu.mk), with cuBLAS loaded when a
 * network first multiplies on a GPU.
 *
 * Darknet's gemm_gpu lives in its gemm.o beside gemm() and gemm_cpu(), which the CPU gemm
 * backend (gemm_onednn.c or gemm_openblas.c) defines in its place: linking gemm.o for
 * gemm_gpu would define those twice. So this object, linked with the CPU backend before
 * libdarknet.a, defines gemm_gpu and gemm.o stays out of the binary, as in a CPU build.
 *
 * Row-major C = ALPHA op(A) op(B) + BETA C (the cblas_sgemm convention Darknet's layers
 * call it with) on column-major cuBLAS: the same numbers are C^T = op(B)^T op(A)^T, so B
 * and A swap places, with M and N. A failure is recorded as the CPU backend's are
 * (onednn_runtime.h), and reaches the caller through mcd_backend_check.
 *
 * Linked, libcublas costs every start of the binary about a second (libcublasLt's own
 * start-up), on the CPU as on a GPU, and the test suite starts the binary hundreds of
 * times. So it is opened here at the first call instead (dlopen: found through the
 * binary's rpath, CUDA_PATH/lib64, or LD_LIBRARY_PATH). Darknet's blas_handle (cuda.c),
 * whose handle gemm_gpu uses, calls cublasCreate_v2: it gets the one below, which loads
 * the library and calls the library's. */
#include <dlfcn.h>
#include <pthread.h>

#include "darknet.h"
#include "cuda.h"
#include "gemm.h"

#include "backend/onednn_runtime.h"

#define STR_(x) #x
#define STR(x) STR_(x)
#define CUBLAS_LIBRARY "libcublas.so." STR(CUBLAS_VER_MAJOR)

typedef cublasStatus_t (*create_fn)(cublasHandle_t *);
typedef cublasStatus_t (*sgemm_fn)(cublasHandle_t, cublasOperation_t, cublasOperation_t, int,
                                   int, int, const float *, const float *, int, const float *,
                                   int, const float *, float *, int);
typedef const char *(*status_string_fn)(cublasStatus_t);

static pthread_once_t loaded = PTHREAD_ONCE_INIT;
static create_fn create;
static sgemm_fn sgemm;
static status_string_fn status_string;
static char load_error[512];

static void load_cublas(void)
{
    void *lib = dlopen(CUBLAS_LIBRARY, RTLD_NOW | RTLD_GLOBAL);
    if (lib) {
        create = (create_fn)dlsym(lib, "cublasCreate_v2");
        sgemm = (sgemm_fn)dlsym(lib, "cublasSgemm_v2");
        status_string = (status_string_fn)dlsym(lib, "cublasGetStatusString");
    }
    if (!create || !sgemm || !status_string) {
        const char *why = dlerror();
        snprintf(load_error, sizeof load_error, "cannot load cuBLAS (%s): %s", CUBLAS_LIBRARY,
                 why ? why : "symbols missing");
        create = NULL;
        sgemm = NULL;
    }
}

cublasStatus_t CUBLASWINAPI cublasCreate_v2(cublasHandle_t *handle)
{
    pthread_once(&loaded, load_cublas);
    if (!create) {
        *handle = NULL;
        return CUBLAS_STATUS_NOT_INITIALIZED;
    }
    return create(handle);
}

void gemm_gpu(int TA, int TB, int M, int N, int K, float ALPHA, float *A_gpu, int lda,
              float *B_gpu, int ldb, float BETA, float *C_gpu, int ldc)
{
    cublasHandle_t handle = blas_handle();
    if (!sgemm || !handle) {
        onednn_fail("%s", load_error[0] ? load_error : "cuBLAS has no handle for this GPU");
        return;
    }
    cublasStatus_t st = sgemm(handle, TB ? CUBLAS_OP_T : CUBLAS_OP_N,
                              TA ? CUBLAS_OP_T : CUBLAS_OP_N, N, M, K, &ALPHA, B_gpu, ldb,
                              A_gpu, lda, &BETA, C_gpu, ldc);
    if (st != CUBLAS_STATUS_SUCCESS)
        onednn_fail("cuBLAS sgemm (%dx%dx%d) failed: %s", M, N, K, status_string(st));
}
