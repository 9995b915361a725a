/* The gemm backend linked in place of Darknet's gemm.o (plugin/backend/gemm_onednn.c, the default,
 * or plugin/backend/gemm_openblas.c: `make GEMM=openblas`). */
#ifndef MCD_GEMM_BACKEND_H
#define MCD_GEMM_BACKEND_H

/* Threads for the matrix products. One is fastest on this project's 2-core machines:
 * Darknet's image-loading threads need the other core, and small products lose more to
 * threads waiting for each other than they gain (measured: docs/performance.md). */
void mcd_gemm_set_threads(int n);
/* The backend's name, for progress lines and benchmarks. */
const char *mcd_gemm_backend(void);

#endif
