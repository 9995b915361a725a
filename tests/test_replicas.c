/* The copies of `mcd train -gpus 0,1,...` (train/gpu_replicas.c), on the CPU: copies work
 * alike wherever they run (the device transfers do nothing for a CPU network), so two CPU
 * copies, each taking half of every batch, must update exactly as one network on the whole
 * batch: labeled passes, unlabeled passes (the margin of tests/cfg/gpu-agreement-nobn.cfg
 * keeps [mcd_discrepancy]'s hinge active in both halves) and momentum over three updates,
 * in a network without batch norm (whose statistics are per half). Then the copies agree
 * with each other exactly, their update buffers are back to zero but network 0's, and
 * network 0 scores the whole batch again when asked. The GPU check of the same is in
 * tests/test_gpu_agreement.c (`-gpus 0,0`). */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "backend/gpu_device.h"
#include "darknet.h"
#include "network/mcd_network.h"
#include "network/network_gpu.h"
#include "network/weights_file.h"
#include "train/gpu_replicas.h"
#include "util/mcd_error.h"
#include "test_util.h"

#define CFG TEST_CFG_DIR "/gpu-agreement-nobn.cfg"

typedef struct share_pass {
    const float *x, *y; /* the whole batch; y NULL: unlabeled */
    int share;
} share_pass;

/* As the trainer's pass: network i takes rows i * share ... of the batch. */
static void pass_share(network *net, int i, void *arg)
{
    const share_pass *p = arg;
    memcpy(net->input, p->x + (size_t)i * p->share * net->inputs,
           sizeof(float) * p->share * net->inputs);
    float *truth = net->truth;
    if (p->y)
        memcpy(net->truth, p->y + (size_t)i * p->share * net->truths,
               sizeof(float) * p->share * net->truths);
    else
        net->truth = NULL;
    net->train = 1;
    forward_network(net);
    backward_network(net);
    net->truth = truth;
}

/* The largest |a - b| over every trained (or update) array, over the largest |a|. */
static double worst_ratio(network *a, network *b, int updates)
{
    double diff = 0, scale = 0;
    for (int i = 0; i < a->n; ++i) {
        float *x[MCD_MAX_TRAINED_ARRAYS], *y[MCD_MAX_TRAINED_ARRAYS];
        long n[MCD_MAX_TRAINED_ARRAYS];
        int count = updates ? mcd_update_arrays(&a->layers[i], x, n)
                            : mcd_trained_arrays(&a->layers[i], 0, x, n);
        if (updates) mcd_update_arrays(&b->layers[i], y, n);
        else mcd_trained_arrays(&b->layers[i], 0, y, n);
        for (int k = 0; k < count; ++k)
            for (long j = 0; j < n[k]; ++j) {
                diff = fmax(diff, fabs((double)x[k][j] - y[k][j]));
                scale = fmax(scale, fabs(x[k][j]));
            }
    }
    return scale > 0 ? diff / scale : diff;
}

static int all_zero_updates(network *net)
{
    for (int i = 0; i < net->n; ++i) {
        float *u[MCD_MAX_UPDATE_ARRAYS];
        long n[MCD_MAX_UPDATE_ARRAYS];
        int count = mcd_update_arrays(&net->layers[i], u, n);
        for (int k = 0; k < count; ++k)
            for (long j = 0; j < n[k]; ++j)
                if (u[k][j] != 0) return 0;
    }
    return 1;
}

static void test_two_copies_update_as_one(void)
{
    mcd_gpu_select(-1);
    srand(11);
    network *one = mcd_parse_network_cfg(CFG), *base = mcd_parse_network_cfg(CFG);
    CU_ASSERT_PTR_NOT_NULL_FATAL(one);
    CU_ASSERT_PTR_NOT_NULL_FATAL(base);
    const char *w = test_write_temp("");
    CU_ASSERT_EQUAL_FATAL(mcd_save_weights(one, w), 0);
    CU_ASSERT_EQUAL_FATAL(mcd_load_weights(base, w, base->n, 1), 0);
    remove(w);
    mcd_layout m;
    CU_ASSERT_EQUAL_FATAL(mcd_find_layout(one, &m), 0);
    int B = one->batch;
    mcd_replicas r;
    int devices[2] = {-1, -1};
    CU_ASSERT_EQUAL_FATAL(mcd_replicas_start(&r, base, CFG, devices, 2), 0);
    CU_ASSERT_EQUAL(r.n, 2);
    CU_ASSERT_EQUAL(r.share, B / 2);
    CU_ASSERT_EQUAL(base->batch, B); /* the update divides by the whole batch */
    CU_ASSERT_EQUAL(base->layers[0].batch, B / 2);
    CU_ASSERT(worst_ratio(one, r.net[1], 0) == 0); /* the copy starts from base's weights */

    float *x = malloc(sizeof(float) * B * one->inputs), *y = calloc((size_t)B * one->truths, sizeof(float));
    for (int step = 0; step < 3; ++step) {
        for (int i = 0; i < B * one->inputs; ++i) x[i] = (float)rand() / RAND_MAX;
        memset(y, 0, sizeof(float) * B * one->truths);
        for (int b = 0; b < B; ++b) y[b * one->truths + rand() % m.classes] = 1;
        /* step B's shape: a labeled and an unlabeled pass, one update */
        for (int labeled = 1; labeled >= 0; --labeled) {
            share_pass whole = {x, labeled ? y : NULL, B}, half = {x, labeled ? y : NULL, B / 2};
            pass_share(one, 0, &whole);
            mcd_replicas_run(&r, pass_share, &half);
            if (!labeled) CU_ASSERT(one->layers[m.discrepancy].cost[0] > 0);
        }
        update_network(one);
        mcd_replicas_update(&r);
        *one->seen += B;
        *base->seen += B;
    }
    double ratio = worst_ratio(one, base, 0);
    if (ratio > 1e-5) printf("\n  weights: worst |two - one| / max |one| = %.3g\n", ratio);
    CU_ASSERT(ratio <= 1e-5);
    CU_ASSERT(worst_ratio(one, base, 1) <= 1e-5); /* the momentum is network 0's */
    CU_ASSERT(worst_ratio(base, r.net[1], 0) == 0);
    CU_ASSERT(all_zero_updates(r.net[1]));
    CU_ASSERT(!all_zero_updates(base));

    mcd_replicas_whole_batch(&r, 1);
    CU_ASSERT_EQUAL(base->layers[0].batch, B);
    mcd_replicas_whole_batch(&r, 0);
    CU_ASSERT_EQUAL(base->layers[0].batch, B / 2);
    CU_ASSERT_EQUAL(base->batch, B);
    mcd_replicas_stop(&r);
    free(x);
    free(y);
    free_network(one);
    free_network(base);
}

/* A batch that the devices cannot share evenly is refused before anything runs. */
static void test_uneven_share_refused(void)
{
    mcd_gpu_select(-1);
    network *net = mcd_parse_network_cfg(CFG);
    CU_ASSERT_PTR_NOT_NULL_FATAL(net);
    mcd_replicas r;
    int devices[3] = {-1, -1, -1};
    CU_ASSERT_EQUAL(mcd_replicas_start(&r, net, CFG, devices, 3), -1);
    CU_ASSERT_PTR_NOT_NULL(strstr(mcd_last_error(), "3 devices cannot share a batch of 16"));
    mcd_replicas_stop(&r);
    free_network(net);
}

/* -gpus on a machine (or build) without a GPU: one line that says so, exit 1. */
static void test_gpus_without_gpu(void)
{
    if (mcd_gpu_count(NULL) > 0) return; /* a GPU machine: the agreement suite runs it */
    char out[4096];
    int rc = test_run_darknet(out, sizeof out, "mcd train %s -gpus 0 -data cfg/fmnist-small.data",
                              CFG);
    CU_ASSERT_EQUAL(rc, 1);
    CU_ASSERT_PTR_NOT_NULL(strstr(out, "darknet: error: -gpus 0: GPU 0 was asked for, but "));
    rc = test_run_darknet(out, sizeof out, "mcd calibrate %s x.weights -gpu 1", CFG);
    CU_ASSERT_EQUAL(rc, 1);
    CU_ASSERT_PTR_NOT_NULL(strstr(out, "darknet: error: GPU 1 was asked for, but "));
    rc = test_run_darknet(out, sizeof out, "mcd train %s -gpus 0,x", CFG);
    CU_ASSERT_EQUAL(rc, 1);
    CU_ASSERT_PTR_NOT_NULL(strstr(out, "-gpus 0,x: expected device numbers"));
}

int add_replicas_suite(void)
{
    CU_pSuite s = test_add_suite("replicas");
    if (!s) return -1;
    if (!CU_add_test(s, "two copies, half a batch each, update as one network", test_two_copies_update_as_one) ||
        !CU_add_test(s, "a batch the devices cannot share evenly is refused", test_uneven_share_refused) ||
        !CU_add_test(s, "-gpus and -gpu without a GPU: one error line", test_gpus_without_gpu))
        return -1;
    return 0;
}
