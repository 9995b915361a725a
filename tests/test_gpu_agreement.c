/* The CPU against the GPU (a GPU build, make GPU=1, on a machine with a CUDA device): one
 * network built twice from one cfg and one weights file, once for the CPU (gpu_index -1,
 * the CPU backend installed as bin/darknet installs it) and once for GPU 0 (Darknet's GPU
 * layers, the plugin's *_gpu layer functions), must compute the same numbers: every
 * layer's output in a training pass, the inference scores, the MCD loss and every delta and
 * gradient of an unlabeled pass, and the weights after one pre-training step, one step A
 * (head 2 blocked) and one step B; the same after a resize; then `mcd train` on both
 * processors (pre-training, fine-tuning, the weight average), `-gpus 0,0` (two copies
 * sharing each batch) against `-gpus 0`, and `mcd calibrate` and `mcd detect` with -gpu 0.
 * A tensor agrees when max |gpu - cpu| <= 1e-3 * max |cpu| (an absolute 1e-6 for tensors
 * of zeros). The worst ratio of each test is printed, for docs/gpu.md.
 *
 * Without a GPU (a CPU build, or no CUDA device) the suite prints one SKIP line with the
 * reason and has no tests. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "backend/gpu_device.h"
#include "backend/inference.h"
#include "darknet.h"
#include "layers/discrepancy_layer.h"
#include "layers/l1_layer.h"
#include "layers/mcd_layer_types.h"
#include "network/mcd_network.h"
#include "network/network_gpu.h"
#include "network/network_resize.h"
#include "network/weights_file.h"
#include "ood/threshold_file.h"
#include "test_util.h"
#include "util/wall_clock.h"

#define AGREE_CFG TEST_CFG_DIR "/gpu-agreement.cfg"
#define NOBN_CFG TEST_CFG_DIR "/gpu-agreement-nobn.cfg"
#define SMALL_DATA "cfg/fmnist-small.data"
#define RTOL 1e-3
#define ATOL 1e-6

#ifdef GPU

static char dir[64];
static char out[1 << 16];
static double worst; /* the largest difference / scale of the test running */
static char worst_what[160];

/* Whether cpu and gpu (n floats each, on the host) agree; prints what does not. */
static int agree(const char *what, int layer, const float *cpu, const float *gpu, size_t n)
{
    double diff = 0, scale = 0;
    size_t at = 0;
    for (size_t k = 0; k < n; ++k) {
        double d = fabs((double)gpu[k] - cpu[k]);
        if (!(d <= diff)) diff = d, at = k; /* NaN counts as the worst */
        if (fabs(cpu[k]) > scale) scale = fabs(cpu[k]);
    }
    double ratio = scale > ATOL / RTOL ? diff / scale : diff * RTOL / ATOL;
    if (!(ratio <= worst)) {
        worst = ratio;
        snprintf(worst_what, sizeof worst_what, "layer %d %s", layer, what);
    }
    if (ratio <= RTOL) return 1;
    printf("\n  layer %d %s: |gpu - cpu| %.3g at %zu (cpu %.6g, gpu %.6g), largest |cpu| %.3g",
           layer, what, diff, at, n ? cpu[at] : 0, n ? gpu[at] : 0, scale);
    return 0;
}

static void report(const char *test)
{
    printf(" [worst %.2g: %s] ", worst, worst_what);
    (void)test;
}

/* A device array on the host (a fresh buffer). */
static float *pulled(float *device, size_t n)
{
    float *h = malloc((n ? n : 1) * sizeof(float));
    cuda_pull_array(device, h, n);
    return h;
}

typedef struct pair {
    network *cpu, *gpu;
    mcd_layout m;
    float *x, *y; /* a batch of inputs and one-hot labels */
} pair;

/* Both networks from cfg with the same weights (the CPU network's initialisation, through
 * a weights file into the GPU one), and a random batch. */
static int make_pair(pair *p, const char *cfg, unsigned seed)
{
    memset(p, 0, sizeof *p);
    srand(seed);
    mcd_gpu_select(-1);
    p->cpu = mcd_parse_network_cfg(cfg);
    mcd_gpu_select(0);
    p->gpu = mcd_parse_network_cfg(cfg);
    if (!p->cpu || !p->gpu || mcd_find_layout(p->cpu, &p->m)) return -1;
    /* settled-looking batch-norm statistics, for the inference pass (a fresh layer's
     * rolling variance of 0 would saturate every softmax) */
    for (int i = 0; i < p->cpu->n; ++i) {
        layer *l = &p->cpu->layers[i];
        if (!l->rolling_variance || !(l->batch_normalize || l->type == BATCHNORM)) continue;
        int n = l->type == BATCHNORM ? l->c : l->type == CONNECTED ? l->outputs : l->n;
        for (int k = 0; k < n; ++k) {
            l->rolling_mean[k] = 0.1f * k / n;
            l->rolling_variance[k] = 1 + 0.05f * k;
        }
    }
    const char *w = test_path(dir, "pair.weights");
    if (mcd_save_weights(p->cpu, w) || mcd_load_weights(p->gpu, w, p->gpu->n, 1)) return -1;
    int B = p->cpu->batch;
    p->x = malloc(sizeof(float) * B * p->cpu->inputs);
    p->y = calloc((size_t)B * p->cpu->truths, sizeof(float));
    for (int i = 0; i < B * p->cpu->inputs; ++i) p->x[i] = (float)rand() / RAND_MAX;
    for (int b = 0; b < B; ++b) p->y[b * p->cpu->truths + rand() % p->m.classes] = 1;
    worst = 0;
    worst_what[0] = 0;
    return 0;
}

static void free_pair(pair *p)
{
    mcd_gpu_select(0);
    if (p->gpu) free_network(p->gpu);
    mcd_gpu_select(-1);
    if (p->cpu) free_network(p->cpu);
    free(p->x);
    free(p->y);
}

/* A training pass (labeled with y, or unlabeled), forward only or forward and backward. */
static void pass(network *net, const float *x, const float *y, int backward)
{
    mcd_gpu_select(mcd_network_on_gpu(net) ? 0 : -1);
    memcpy(net->input, x, sizeof(float) * net->batch * net->inputs);
    float *truth = net->truth;
    if (y) memcpy(net->truth, y, sizeof(float) * net->batch * net->truths);
    else net->truth = NULL;
    net->train = 1;
    forward_network(net);
    if (backward) backward_network(net);
    net->truth = truth;
}

static void update(network *net)
{
    mcd_gpu_select(mcd_network_on_gpu(net) ? 0 : -1);
    update_network(net);
}

/* Every layer's output (which = 0) or delta (1) of both networks. */
static int layers_agree(pair *p, int which)
{
    int ok = 1;
    for (int i = 0; i < p->cpu->n; ++i) {
        layer *c = &p->cpu->layers[i], *g = &p->gpu->layers[i];
        float *cpu = which ? c->delta : c->output, *dev = which ? g->delta_gpu : g->output_gpu;
        if (!cpu || !dev) continue;
        size_t n = (size_t)c->outputs * c->batch;
        /* [mcd_discrepancy] keeps its delta on the host, on a GPU too */
        int host = which && c->type == MCD_DISCREPANCY;
        float *gpu = host ? g->delta : pulled(dev, n);
        ok &= agree(which ? "delta" : "output", i, cpu, gpu, n);
        if (!host) free(gpu);
    }
    return ok;
}

/* Every trained array (updates = 0) or update buffer (1) of both networks. */
static int arrays_agree(pair *p, int updates)
{
    if (updates) mcd_network_pull_updates(p->gpu);
    else mcd_network_pull_weights(p->gpu);
    int ok = 1;
    for (int i = 0; i < p->cpu->n; ++i) {
        float *c[MCD_MAX_TRAINED_ARRAYS], *g[MCD_MAX_TRAINED_ARRAYS];
        long n[MCD_MAX_TRAINED_ARRAYS];
        int count = updates ? mcd_update_arrays(&p->cpu->layers[i], c, n)
                            : mcd_trained_arrays(&p->cpu->layers[i], 0, c, n);
        if (updates) mcd_update_arrays(&p->gpu->layers[i], g, n);
        else mcd_trained_arrays(&p->gpu->layers[i], 0, g, n);
        for (int k = 0; k < count; ++k) {
            char what[48];
            snprintf(what, sizeof what, "%s %d", updates ? "update buffer" : "trained array", k);
            ok &= agree(what, i, c[k], g[k], n[k]);
        }
    }
    return ok;
}

static int costs_agree(pair *p, int i, int count)
{
    return agree("cost", i, p->cpu->layers[i].cost, p->gpu->layers[i].cost, count);
}

/* --- the layers and the steps ------------------------------------------------------------ */

static void agree_forward(void)
{
    pair p;
    CU_ASSERT_EQUAL_FATAL(make_pair(&p, AGREE_CFG, 1), 0);
    pass(p.cpu, p.x, p.y, 0);
    pass(p.gpu, p.x, p.y, 0);
    CU_ASSERT(layers_agree(&p, 0));
    CU_ASSERT(costs_agree(&p, p.m.softmax1, 1));
    CU_ASSERT(costs_agree(&p, p.m.softmax2, 1));
    report("forward");
    free_pair(&p);
}

/* mcd_predict: the GPU pass, and what it brings to the host for the scores. */
static void agree_inference(void)
{
    pair p;
    CU_ASSERT_EQUAL_FATAL(make_pair(&p, AGREE_CFG, 2), 0);
    network *nets[2] = {p.cpu, p.gpu};
    float *scores[2];
    for (int k = 0; k < 2; ++k) {
        mcd_gpu_select(k ? 0 : -1);
        float *o = mcd_predict(nets[k], p.x);
        CU_ASSERT_PTR_NOT_NULL_FATAL(o);
        scores[k] = malloc(sizeof(float) * nets[k]->batch);
        memcpy(scores[k], o, sizeof(float) * nets[k]->batch);
    }
    int B = p.cpu->batch;
    CU_ASSERT(agree("L1 score", p.m.l1, scores[0], scores[1], B));
    int at[] = {p.m.softmax1 - 1, p.m.softmax1, p.m.softmax2 - 1, p.m.softmax2};
    for (int k = 0; k < 4; ++k) {
        const layer *c = &p.cpu->layers[at[k]], *g = &p.gpu->layers[at[k]];
        CU_ASSERT(agree(k % 2 ? "probabilities (host)" : "logits (host)", at[k], c->output,
                        g->output, (size_t)c->outputs * B));
    }
    report("inference");
    free(scores[0]);
    free(scores[1]);
    free_pair(&p);
}

/* An unlabeled pass: L_u, the entropies, every delta, every gradient. */
static void agree_mcd_gradients(void)
{
    pair p;
    CU_ASSERT_EQUAL_FATAL(make_pair(&p, AGREE_CFG, 3), 0);
    pass(p.cpu, p.x, NULL, 1);
    pass(p.gpu, p.x, NULL, 1);
    CU_ASSERT(p.cpu->layers[p.m.discrepancy].cost[0] > 0); /* the hinge is active */
    CU_ASSERT(costs_agree(&p, p.m.discrepancy, 3));
    CU_ASSERT(layers_agree(&p, 1));
    CU_ASSERT(arrays_agree(&p, 1));
    report("gradients");
    free_pair(&p);
}

static void agree_pretraining_step(void)
{
    pair p;
    CU_ASSERT_EQUAL_FATAL(make_pair(&p, AGREE_CFG, 4), 0);
    for (int k = 0; k < 2; ++k) {
        network *net = k ? p.gpu : p.cpu;
        pass(net, p.x, p.y, 1);
        update(net);
        *net->seen += net->batch;
    }
    CU_ASSERT(arrays_agree(&p, 0));
    CU_ASSERT(arrays_agree(&p, 1)); /* the momentum */
    report("pre-training step");
    free_pair(&p);
}

/* Step A: head 2's gradient kept from the trunk. That must matter here (the trunk's
 * gradient without the block differs by far more than the tolerance), so that agreement
 * says the GPU blocked it too. */
static void agree_step_a(void)
{
    pair p;
    CU_ASSERT_EQUAL_FATAL(make_pair(&p, AGREE_CFG, 5), 0);
    mcd_gpu_select(-1);
    network *open = mcd_parse_network_cfg(AGREE_CFG);
    CU_ASSERT_PTR_NOT_NULL_FATAL(open);
    CU_ASSERT_EQUAL_FATAL(mcd_load_weights(open, test_path(dir, "pair.weights"), open->n, 1), 0);
    pass(open, p.x, p.y, 1);
    for (int k = 0; k < 2; ++k) {
        network *net = k ? p.gpu : p.cpu;
        mcd_block_head2(net, &p.m, 1);
        pass(net, p.x, p.y, 1);
        mcd_block_head2(net, &p.m, 0);
    }
    const layer *blocked = &p.cpu->layers[0], *unblocked = &open->layers[0];
    double diff = 0, scale = 0;
    for (int k = 0; k < blocked->nweights; ++k) {
        diff = fmax(diff, fabs(blocked->weight_updates[k] - unblocked->weight_updates[k]));
        scale = fmax(scale, fabs(blocked->weight_updates[k]));
    }
    CU_ASSERT(diff > 100 * RTOL * scale);
    free_network(open);
    update(p.cpu);
    update(p.gpu);
    CU_ASSERT(arrays_agree(&p, 0));
    report("step A");
    free_pair(&p);
}

/* Step B: a labeled and an unlabeled pass, their gradients summed, one update. */
static void agree_step_b(void)
{
    pair p;
    CU_ASSERT_EQUAL_FATAL(make_pair(&p, AGREE_CFG, 6), 0);
    float *x2 = malloc(sizeof(float) * p.cpu->batch * p.cpu->inputs);
    for (int i = 0; i < p.cpu->batch * p.cpu->inputs; ++i) x2[i] = (float)rand() / RAND_MAX;
    for (int k = 0; k < 2; ++k) {
        network *net = k ? p.gpu : p.cpu;
        pass(net, p.x, p.y, 1);
        pass(net, x2, NULL, 1);
        update(net);
    }
    CU_ASSERT(costs_agree(&p, p.m.discrepancy, 3));
    CU_ASSERT(arrays_agree(&p, 0));
    CU_ASSERT(arrays_agree(&p, 1));
    report("step B");
    free(x2);
    free_pair(&p);
}

/* Resized to 20x20 (the [mcd_split] buffers, the workspace and the input on the device
 * made anew), a training pass; then back to 28x28. */
static void agree_resize(void)
{
    pair p;
    CU_ASSERT_EQUAL_FATAL(make_pair(&p, AGREE_CFG, 7), 0);
    int sizes[] = {20, 28};
    for (int s = 0; s < 2; ++s) {
        int n = p.cpu->batch * sizes[s] * sizes[s] * p.cpu->c;
        float *x = malloc(sizeof(float) * n);
        for (int i = 0; i < n; ++i) x[i] = (float)rand() / RAND_MAX;
        for (int k = 0; k < 2; ++k) {
            network *net = k ? p.gpu : p.cpu;
            mcd_gpu_select(k ? 0 : -1);
            CU_ASSERT_EQUAL_FATAL(mcd_resize_network(net, sizes[s], sizes[s]), 0);
            pass(net, x, p.y, 1);
        }
        free(x);
        CU_ASSERT(layers_agree(&p, 0));
        CU_ASSERT(layers_agree(&p, 1));
    }
    report("resize");
    free_pair(&p);
}

/* The MCD layers go through the host on a GPU (discrepancy_layer.c, l1_layer.c): their
 * share of a training pass of cfg/mcd-resnet.cfg (batch 128), timed, must stay small. */
static void agree_host_round_trip_cost(void)
{
    mcd_gpu_select(0);
    network *net = mcd_parse_network_cfg("cfg/mcd-resnet.cfg");
    CU_ASSERT_PTR_NOT_NULL_FATAL(net);
    mcd_layout m;
    CU_ASSERT_EQUAL_FATAL(mcd_find_layout(net, &m), 0);
    float *x = malloc(sizeof(float) * net->batch * net->inputs);
    for (int i = 0; i < net->batch * net->inputs; ++i) x[i] = (float)rand() / RAND_MAX;
    const int reps = 20;
    double t0 = 0;
    for (int k = 0; k <= reps; ++k) {
        if (k == 1) { /* the first pass makes cuBLAS's handle and warms up */
            cudaDeviceSynchronize();
            t0 = mcd_now_seconds();
        }
        pass(net, x, NULL, 1);
    }
    cudaDeviceSynchronize();
    double per_pass = (mcd_now_seconds() - t0) / reps;
    network run = *net;
    run.train = 1;
    run.truth = NULL;
    layer *d = &net->layers[m.discrepancy], *l1 = &net->layers[m.l1];
    t0 = mcd_now_seconds();
    for (int k = 0; k < reps; ++k) {
        run.index = m.discrepancy;
        forward_mcd_discrepancy_layer_gpu(*d, run);
        backward_mcd_discrepancy_layer_gpu(*d, run);
        run.index = m.l1;
        run.input = d->output;
        run.input_gpu = d->output_gpu;
        forward_mcd_l1_layer_gpu(*l1, run);
    }
    cudaDeviceSynchronize();
    double per_layers = (mcd_now_seconds() - t0) / reps;
    printf(" [mcd-resnet, batch %d: a training pass %.2f ms, the MCD layers' host round trip "
           "%.3f ms (%.1f%%)] ", net->batch, 1e3 * per_pass, 1e3 * per_layers,
           100 * per_layers / per_pass);
    CU_ASSERT(per_layers < 0.1 * per_pass);
    free(x);
    free_network(net);
    mcd_gpu_select(-1);
}

/* --- the commands ---------------------------------------------------------------------- */

/* The weights in files a and b (written for cfg) agree. */
static int files_agree(const char *cfg, const char *a, const char *b)
{
    mcd_gpu_select(-1);
    network *na = mcd_parse_network_cfg(cfg), *nb = mcd_parse_network_cfg(cfg);
    int ok = na && nb && mcd_load_weights(na, a, na->n, 1) == 0 &&
             mcd_load_weights(nb, b, nb->n, 1) == 0;
    for (int i = 0; ok && i < na->n; ++i) {
        float *c[MCD_MAX_TRAINED_ARRAYS], *g[MCD_MAX_TRAINED_ARRAYS];
        long n[MCD_MAX_TRAINED_ARRAYS];
        int count = mcd_trained_arrays(&na->layers[i], 0, c, n);
        mcd_trained_arrays(&nb->layers[i], 0, g, n);
        for (int k = 0; k < count; ++k) ok &= agree(b, i, c[k], g[k], n[k]);
    }
    if (na) free_network(na);
    if (nb) free_network(nb);
    return ok;
}

static int train(const char *cfg, const char *backup, const char *gpus)
{
    int rc = test_run_darknet(out, sizeof out, "mcd train %s -data %s -seed 5 -backup %s %s%s",
                              cfg, SMALL_DATA, test_path(dir, backup), gpus ? "-gpus " : "",
                              gpus ? gpus : "");
    if (rc) printf("\n%s\n", out);
    return rc;
}

/* `mcd train cfg` twice, into backup directories a and b (with -gpus a_gpus, b_gpus; NULL:
 * the CPU): the pre-trained, final and averaged weights agree. */
static void train_both(const char *cfg, const char *base, const char *a, const char *a_gpus,
                       const char *b, const char *b_gpus, const char *must_say)
{
    worst = 0;
    CU_ASSERT_EQUAL_FATAL(train(cfg, a, a_gpus), 0);
    CU_ASSERT_EQUAL_FATAL(train(cfg, b, b_gpus), 0);
    CU_ASSERT_PTR_NOT_NULL(strstr(out, must_say));
    const char *suffix[] = {"_pretrain", "_final", "_best"};
    for (int k = 0; k < 3; ++k) {
        char fa[300], fb[300];
        snprintf(fa, sizeof fa, "%s/%s%s.weights", a, base, suffix[k]);
        snprintf(fb, sizeof fb, "%s/%s%s.weights", b, base, suffix[k]);
        CU_ASSERT(files_agree(cfg, test_path(dir, fa), test_path(dir, fb)));
    }
}

/* The trainer on the GPU against the CPU: pre-training, fine-tuning, the mean. */
static void agree_train_command(void)
{
    train_both(AGREE_CFG, "gpu-agreement", "cpu", NULL, "gpu", "0", "training on GPU 0");
    report("mcd train");
}

/* Two copies on GPU 0, each half of every batch, against one copy. */
static void agree_train_two_copies(void)
{
    train_both(NOBN_CFG, "gpu-agreement-nobn", "one", "0", "two", "0,0",
               "8 of the 16 images of each pass");
    report("mcd train -gpus 0,0");
}

/* calibrate's threshold and detect's scores of the trained network, -gpu 0 against the CPU. */
static void agree_eval_commands(void)
{
    worst = 0;
    /* the network without batch norm: after a few batches the rolling statistics of the
     * other are far from settled, and its inference scores all sit at 2 */
    const char *weights = test_path(dir, "one/gpu-agreement-nobn_best.weights");
    CU_ASSERT_EQUAL_FATAL(access(weights, R_OK), 0);
    float t[2], score[2][8];
    const char *calibrate_on[2] = {"", "-gpu 0"}, *detect_on[2] = {"", "-i 0"};
    for (int k = 0; k < 2; ++k) {
        int rc = test_run_darknet(out, sizeof out, "mcd calibrate %s %s -data %s %s", NOBN_CFG,
                                  weights, SMALL_DATA, calibrate_on[k]);
        if (rc) printf("\n%s\n", out);
        CU_ASSERT_EQUAL_FATAL(rc, 0);
        char path[400];
        snprintf(path, sizeof path, "%s.threshold", weights);
        mcd_threshold th;
        CU_ASSERT_EQUAL_FATAL(mcd_threshold_load(path, &th), 0);
        t[k] = th.threshold;
        rc = test_run_darknet(out, sizeof out, "mcd detect %s %s -data %s -json %s -list "
                              "data/fmnist-small/id-test.list 2>/dev/null | head -8",
                              NOBN_CFG, weights, SMALL_DATA, detect_on[k]);
        CU_ASSERT_EQUAL_FATAL(rc, 0);
        const char *at = out;
        for (int i = 0; i < 8; ++i) {
            at = strstr(at, "\"score\":");
            CU_ASSERT_PTR_NOT_NULL_FATAL(at);
            at += 8;
            score[k][i] = strtof(at, NULL);
        }
    }
    CU_ASSERT(agree("calibrate threshold", -1, &t[0], &t[1], 1));
    CU_ASSERT(agree("detect scores", -1, score[0], score[1], 8));
    report("calibrate, detect");
}

static int setup(void)
{
    strcpy(dir, "/tmp/mcd-gpu-XXXXXX");
    return mkdtemp(dir) ? 0 : -1;
}

static int teardown(void)
{
    char cmd[128];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", dir);
    mcd_gpu_select(-1);
    return system(cmd) == 0 ? 0 : -1;
}
#endif /* GPU */

int add_gpu_agreement_suite(void)
{
    const char *why;
    if (mcd_gpu_count(&why) == 0) {
        printf("SKIP gpu agreement: %s\n", why);
        return test_add_suite("gpu agreement") ? 0 : -1;
    }
#ifdef GPU
    CU_pSuite s = CU_add_suite("gpu agreement", setup, teardown);
    if (!s) return -1;
    struct {
        const char *name;
        void (*fn)(void);
    } tests[] = {
        {"every layer's output and the heads' losses (training forward)", agree_forward},
        {"inference: L1 scores, logits and probabilities on the host", agree_inference},
        {"MCD loss, entropies, every delta and gradient (unlabeled pass)", agree_mcd_gradients},
        {"weights and momentum after one pre-training step", agree_pretraining_step},
        {"weights after one step A (head 2 blocked, and that matters)", agree_step_a},
        {"weights and momentum after one step B (labeled + unlabeled)", agree_step_b},
        {"resized to 20x20 and back: outputs and deltas", agree_resize},
        {"the MCD layers' trip through the host: under 10% of a training pass", agree_host_round_trip_cost},
        {"mcd train -gpus 0 against the CPU: pre-trained, final, averaged weights", agree_train_command},
        {"mcd train -gpus 0,0 (two copies, half a batch each) against -gpus 0", agree_train_two_copies},
        {"mcd calibrate -gpu 0 and detect -i 0 against the CPU", agree_eval_commands},
    };
    for (size_t i = 0; i < sizeof tests / sizeof tests[0]; ++i)
        if (!CU_add_test(s, tests[i].name, tests[i].fn)) return -1;
#endif
    return 0;
}
