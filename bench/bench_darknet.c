/* Times Darknet (this build: the plugin's parser and the backend that -backend/MCD_BACKEND
 * selects) on a cfg with random inputs, for bench/bench.sh:
 *   bench-darknet CFG train|infer|latency STEPS THREADS
 * train: Darknet's training step (train_network_datum: forward, backward, update) at the
 * cfg's batch; infer: mcd_predict (network_predict without the delta zeroing, as the mcd verbs
 * run inference) at that batch; latency: the same on one image.
 * Prints one line: mode, median seconds per step, images per second, peak RSS in MiB.
 * BENCH_CLOCK=cpu times steps in process CPU time instead of wall time. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <time.h>

#include "backend/cpu_backend.h"
#include "backend/gpu_device.h"
#include "backend/inference.h"
#include "darknet.h"
#include "network/mcd_network.h"
#include "util/mcd_error.h"

void omp_set_num_threads(int n);

/* Wall-clock seconds, or with BENCH_CLOCK=cpu the process's CPU seconds: on a machine
 * that other work keeps busy, a step's wall time includes waiting for a core, its CPU time
 * does not (with one thread, CPU time is the step's own compute time). */
static double now(void)
{
    static int cpu = -1;
    if (cpu < 0) cpu = getenv("BENCH_CLOCK") && strcmp(getenv("BENCH_CLOCK"), "cpu") == 0;
    struct timespec t;
    clock_gettime(cpu ? CLOCK_PROCESS_CPUTIME_ID : CLOCK_MONOTONIC, &t);
    return t.tv_sec + t.tv_nsec * 1e-9;
}

static int by_value(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

/* The benchmark is a program of its own: a failure ends it with the message. */
static int fail(void)
{
    fprintf(stderr, "bench-darknet: error: %s\n", mcd_last_error());
    return 1;
}

int main(int argc, char **argv)
{
    argc = mcd_backend_take_arg(argc, argv);
    if (argc != 5) {
        fprintf(stderr, "usage: bench-darknet CFG train|infer|latency STEPS THREADS "
                        "[-backend onednn|darknet]\n");
        return 2;
    }
    const char *mode = argv[2];
    int steps = atoi(argv[3]), threads = atoi(argv[4]);
    omp_set_num_threads(threads);
    srand(1);
    mcd_network_set_parse_hook(mcd_backend_install);
    mcd_gpu_select(-1); /* the CPU, also in a GPU build (Darknet's default is GPU 0) */
    network *net = mcd_parse_network_cfg(argv[1]);
    if (!net) return fail();
    if (strcmp(mode, "latency") == 0) set_batch_network(net, 1);
    int batch = net->batch;
    float *input = malloc((size_t)net->inputs * batch * sizeof(float));
    for (size_t i = 0; i < (size_t)net->inputs * batch; ++i) input[i] = rand() / (float)RAND_MAX;
    for (int b = 0; b < batch; ++b) net->truth[b * net->truths + rand() % net->truths] = 1;

    const int warmup = 2;
    double *times = calloc(steps, sizeof(double));
    for (int s = -warmup; s < steps; ++s) {
        double t0 = now();
        if (strcmp(mode, "train") == 0) {
            memcpy(net->input, input, (size_t)net->inputs * batch * sizeof(float));
            train_network_datum(net);
            if (mcd_backend_check()) return fail();
        } else if (!mcd_predict(net, input)) {
            return fail();
        }
        if (s >= 0) times[s] = now() - t0;
    }
    qsort(times, steps, sizeof(double), by_value);
    double median = times[steps / 2];
    struct rusage ru;
    getrusage(RUSAGE_SELF, &ru);
    printf("%s %.6f %.1f %.0f\n", mode, median, batch / median, ru.ru_maxrss / 1024.0);
    return 0;
}
