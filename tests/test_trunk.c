/* cfg/mcd-resnet18-224.cfg's trunk is Darknet's ImageNet ResNet-18 (darknet/cfg/resnet18.cfg)
 * layer for layer, and `mcd train -trunk` fills it from that network's weights file: the
 * test builds resnet18.cfg's network with Darknet, gives every trained array (weights,
 * biases, batch-norm scales and rolling statistics) random values, saves it with Darknet's
 * save_weights, loads it into the MCD cfg through the binary (`-trunk`, a schedule of 0
 * batches, which saves the network as loaded) and compares the arrays, bit for bit. The
 * real resnet18.weights cannot be downloaded here; a file of that layout is what Darknet
 * writes, so this is the path those weights take. */
#define _GNU_SOURCE
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "darknet.h"
#include "network/mcd_network.h"
#include "network/weights_file.h"
#include "test_util.h"
#include "util/mcd_error.h"

#define MCD_CFG "cfg/mcd-resnet18-224.cfg"
#define TRUNK_LAYERS 27 /* conv, maxpool, 8 residual blocks of 3 layers, avgpool */

static char dir[64];
static char out[1 << 16];

static const char *path_in(const char *name)
{
    return test_path(dir, name);
}

/* darknet/cfg/resnet18.cfg, or the same file in $DARKNET_SRC (the Makefile's tree). */
static const char *resnet18_cfg(void)
{
    static char path[600];
    const char *src = getenv("DARKNET_SRC");
    snprintf(path, sizeof path, "%s/cfg/resnet18.cfg", src && *src ? src : "darknet");
    return path;
}

static void fill_random(float *a, long n, float lo, float hi)
{
    for (long i = 0; i < n; ++i) a[i] = lo + (hi - lo) * (float)rand() / (float)RAND_MAX;
}

/* The same layer, as far as its weights and what it computes go (the input size aside). */
static int same_layer(const layer *a, const layer *b)
{
    if (a->type != b->type) return 0;
    switch (a->type) {
    case CONVOLUTIONAL:
        return a->n == b->n && a->c == b->c && a->size == b->size && a->stride == b->stride &&
               a->pad == b->pad && a->groups == b->groups &&
               a->batch_normalize == b->batch_normalize && a->activation == b->activation;
    case MAXPOOL:
        return a->size == b->size && a->stride == b->stride && a->pad == b->pad;
    case SHORTCUT:
        return a->index == b->index && a->activation == b->activation;
    case AVGPOOL:
        return 1;
    default:
        return 0;
    }
}

static void test_trunk_is_resnet18(void)
{
    network *mcd = mcd_parse_network_cfg(MCD_CFG);
    network *ref = parse_network_cfg((char *)resnet18_cfg());
    CU_ASSERT_PTR_NOT_NULL_FATAL(mcd);
    CU_ASSERT_PTR_NOT_NULL_FATAL(ref);
    mcd_layout m;
    CU_ASSERT_EQUAL_FATAL(mcd_find_layout(mcd, &m), 0);
    CU_ASSERT_EQUAL(m.split, TRUNK_LAYERS);
    CU_ASSERT_FATAL(ref->n > TRUNK_LAYERS);
    for (int i = 0; i < TRUNK_LAYERS; ++i) {
        if (!same_layer(&mcd->layers[i], &ref->layers[i])) printf("\nlayer %d differs\n", i);
        CU_ASSERT(same_layer(&mcd->layers[i], &ref->layers[i]));
    }
    /* ResNet-18's 1000-way classifier is where the trunk ends */
    CU_ASSERT_EQUAL(ref->layers[TRUNK_LAYERS].type, CONVOLUTIONAL);
    CU_ASSERT_EQUAL(ref->layers[TRUNK_LAYERS].n, 1000);
    free_network(mcd);
    free_network(ref);
}

static void test_trunk_loads_resnet18_weights(void)
{
    /* resnet18.cfg's network with random values in every array it saves */
    network *ref = parse_network_cfg((char *)resnet18_cfg());
    CU_ASSERT_PTR_NOT_NULL_FATAL(ref);
    srand(14);
    for (int i = 0; i < ref->n; ++i) {
        float *arrays[MCD_MAX_TRAINED_ARRAYS];
        long sizes[MCD_MAX_TRAINED_ARRAYS];
        int k = mcd_trained_arrays(&ref->layers[i], 0, arrays, sizes);
        CU_ASSERT_FATAL(k >= 0);
        for (int j = 0; j < k; ++j) fill_random(arrays[j], sizes[j], 0.05f, 1.0f);
    }
    save_weights(ref, (char *)path_in("resnet18.weights"));

    /* a data set of a few images (the schedule is 0 batches: they are only checked) */
    FILE *lists[2] = {fopen(path_in("train.list"), "w"), fopen(path_in("valid.list"), "w")};
    FILE *src = fopen("data/fmnist-small/train.list", "r");
    CU_ASSERT_FATAL(lists[0] && lists[1] && src);
    char line[600];
    for (int i = 0; i < 4 && fgets(line, sizeof line, src); ++i) fputs(line, lists[i % 2]);
    fclose(src);
    fclose(lists[0]);
    fclose(lists[1]);
    char data[2000];
    snprintf(data, sizeof data, "classes=10\nlabels=data/fmnist-small/labels.list\ntrain=%s\n"
             "valid=%s\n", path_in("train.list"), path_in("valid.list"));
    CU_ASSERT_EQUAL_FATAL(test_write_text(path_in("small.data"), data), 0);

    int rc = test_run_darknet(out, sizeof out, "mcd train %s -trunk %s -data %s -backup %s "
                              "-seed 1 -pretrain_batches 0 -finetune_batches 0", MCD_CFG,
                              path_in("resnet18.weights"), path_in("small.data"), dir);
    if (rc) printf("\n%s\n", out);
    CU_ASSERT_EQUAL_FATAL(rc, 0);
    CU_ASSERT_PTR_NOT_NULL(strstr(out, "loaded layers 0-26 of"));

    /* the saved network: its trunk holds resnet18's arrays, its heads their own */
    network *net = mcd_parse_network_cfg(MCD_CFG);
    CU_ASSERT_PTR_NOT_NULL_FATAL(net);
    rc = mcd_load_weights(net, path_in("mcd-resnet18-224.weights"), net->n, 1);
    if (rc) printf("\n%s\n", mcd_last_error());
    CU_ASSERT_EQUAL_FATAL(rc, 0);
    CU_ASSERT_EQUAL(*net->seen, 0); /* ImageNet's schedule is not this one */
    long compared = 0;
    for (int i = 0; i < TRUNK_LAYERS; ++i) {
        float *a[MCD_MAX_TRAINED_ARRAYS], *b[MCD_MAX_TRAINED_ARRAYS];
        long na[MCD_MAX_TRAINED_ARRAYS], nb[MCD_MAX_TRAINED_ARRAYS];
        int ka = mcd_trained_arrays(&net->layers[i], 0, a, na);
        int kb = mcd_trained_arrays(&ref->layers[i], 0, b, nb);
        CU_ASSERT_EQUAL_FATAL(ka, kb);
        for (int j = 0; j < ka; ++j) {
            CU_ASSERT_EQUAL_FATAL(na[j], nb[j]);
            int same = memcmp(a[j], b[j], (size_t)na[j] * sizeof(float)) == 0;
            if (!same) printf("\nlayer %d, array %d differs\n", i, j);
            CU_ASSERT(same);
            compared += na[j];
        }
    }
    /* every trained number of ResNet-18 up to its classifier: 11.0M weights and the
     * batch-norm arrays */
    CU_ASSERT(compared > 11000000);
    mcd_layout m;
    CU_ASSERT_EQUAL_FATAL(mcd_find_layout(net, &m), 0);
    const layer *head = &net->layers[m.split + 1];
    CU_ASSERT_EQUAL(head->type, CONNECTED);
    CU_ASSERT_EQUAL(head->inputs, 512);
    for (int i = 0; i < head->outputs; ++i) CU_ASSERT(head->biases[i] == 0); /* untouched */
    free_network(net);
    free_network(ref);
}

static int setup(void)
{
    strcpy(dir, "/tmp/mcd-trunk-XXXXXX");
    return mkdtemp(dir) ? 0 : -1;
}

static int teardown(void)
{
    char cmd[128];
    snprintf(cmd, sizeof cmd, "rm -rf %s", dir);
    return system(cmd) == 0 ? 0 : -1;
}

int add_trunk_suite(void)
{
    CU_pSuite s = CU_add_suite("trunk", setup, teardown);
    if (!s) return -1;
    return !CU_add_test(s, "cfg/mcd-resnet18-224.cfg's trunk is resnet18.cfg's layers 0-26",
                        test_trunk_is_resnet18) ||
           !CU_add_test(s, "-trunk fills it from a resnet18.cfg weights file, bit for bit",
                        test_trunk_loads_resnet18_weights);
}
