/* Resizing MCD networks (network/network_resize.h, resize_mcd_* in plugin/layers/), and
 * stock Darknet's resize_network, which the binary and these tests link to the plugin's.
 *
 * The reference for a network resized to w x h is the same cfg parsed directly at w x h
 * with the same weights (saved and loaded with Darknet's own save_weights/load_weights):
 * every layer's shape and functions, every layer's output and the L1 scores must agree, on
 * both CPU backends, and so must a training step. The cfg (tests/cfg/resize-mcd.cfg) is a
 * fully convolutional trunk and heads that pool globally before their [connected] layer.
 * A head without that pool must be refused, by name, and leave the network as it was. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "backend/cpu_backend.h"
#include "backend/inference.h"
#include "darknet.h"
#include "layers/discrepancy_layer.h"
#include "layers/l1_layer.h"
#include "layers/mcd_layer_types.h"
#include "layers/split_layer.h"
#include "network.h"
#include "network/mcd_network.h"
#include "network/network_resize.h"
#include "test_util.h"
#include "util/mcd_error.h"

#define RESIZE_CFG TEST_CFG_DIR "/resize-mcd.cfg"
#define REL_TOL 1e-5

static const char *backends[] = {"darknet", "onednn"};

/* The cfg at `path` with width= and height= set to w and h, and `extra` lines added to
 * [net] (a static buffer). */
static const char *cfg_text(const char *path, int w, int h, const char *extra)
{
    FILE *f = fopen(path, "r");
    CU_ASSERT_PTR_NOT_NULL_FATAL(f);
    static char text[16384];
    size_t n = 0;
    char line[512];
    while (fgets(line, sizeof line, f)) {
        if (strncmp(line, "width=", 6) == 0) snprintf(line, sizeof line, "width=%d\n", w);
        else if (strncmp(line, "height=", 7) == 0) snprintf(line, sizeof line, "height=%d\n", h);
        n += snprintf(text + n, sizeof text - n, "%s", line);
        if (strcmp(line, "[net]\n") == 0) n += snprintf(text + n, sizeof text - n, "%s", extra);
    }
    fclose(f);
    return text;
}

static network *parse_at(const char *path, int w, int h)
{
    const char *tmp = test_write_temp(cfg_text(path, w, h, ""));
    network *net = mcd_parse_network_cfg(tmp);
    if (!net) printf("\n  %s at %dx%d: %s", path, w, h, mcd_last_error());
    unlink(tmp);
    return net;
}

/* A network parsed at w x h with net's weights, through a weights file. */
static network *direct_parse_like(network *net, int w, int h)
{
    char weights[] = "/tmp/mcd-test-resize-XXXXXX";
    int fd = mkstemp(weights);
    CU_ASSERT_FATAL(fd >= 0);
    close(fd);
    save_weights(net, weights);
    network *ref = parse_at(RESIZE_CFG, w, h);
    if (ref) load_weights(ref, weights);
    unlink(weights);
    return ref;
}

static void fill_random(float *v, size_t n, float lo, float hi)
{
    for (size_t i = 0; i < n; ++i) v[i] = lo + (hi - lo) * rand() / (float)RAND_MAX;
}

/* Batch-norm statistics as after some training (what save_weights writes), so that the
 * inference path does not see the identity of a fresh network. */
static void randomize_statistics(network *net)
{
    for (int i = 0; i < net->n; ++i) {
        layer *l = &net->layers[i];
        int c = l->type == BATCHNORM ? l->c : l->batch_normalize ? l->n : 0;
        if (!c) continue;
        fill_random(l->scales, c, .5f, 1.5f);
        fill_random(l->rolling_mean, c, -.2f, .2f);
        fill_random(l->rolling_variance, c, .5f, 2.f);
    }
}

/* max |a - b| <= REL_TOL * max |b|, printed when not */
static int agree(const char *what, int i, const float *a, const float *b, size_t n)
{
    double diff = 0, scale = 0;
    for (size_t k = 0; k < n; ++k) {
        double d = fabs((double)a[k] - b[k]);
        if (!(d <= diff)) diff = d; /* NaN sticks */
        if (fabs(b[k]) > scale) scale = fabs(b[k]);
    }
    int ok = diff <= REL_TOL * (scale > 0 ? scale : 1);
    if (!ok) printf("\n  %s (layer %d): max diff %g, max |ref| %g", what, i, diff, scale);
    return ok;
}

/* Every layer's shape as Darknet's parse at that size gives it. */
static int same_shapes(const network *a, const network *b)
{
    int ok = a->n == b->n && a->w == b->w && a->h == b->h && a->inputs == b->inputs &&
             a->outputs == b->outputs && a->truths == b->truths;
    for (int i = 0; ok && i < a->n; ++i) {
        const layer *x = &a->layers[i], *y = &b->layers[i];
        int same = x->type == y->type && x->w == y->w && x->h == y->h && x->c == y->c &&
                   x->out_w == y->out_w && x->out_h == y->out_h && x->out_c == y->out_c &&
                   x->inputs == y->inputs && x->outputs == y->outputs &&
                   x->workspace_size == y->workspace_size;
        if (!same)
            printf("\n  layer %d: %dx%dx%d -> %dx%dx%d, reference %dx%dx%d -> %dx%dx%d", i,
                   x->w, x->h, x->c, x->out_w, x->out_h, x->out_c, y->w, y->h, y->c, y->out_w,
                   y->out_h, y->out_c);
        ok &= same;
    }
    return ok;
}

/* The same layer functions: the CPU backend's where the parse at that size installs them. */
static int same_functions(const network *a, const network *b)
{
    int ok = 1;
    for (int i = 0; i < a->n; ++i) {
        int same = a->layers[i].forward == b->layers[i].forward &&
                   a->layers[i].backward == b->layers[i].backward;
        if (!same) printf("\n  layer %d: other layer functions than the parse's", i);
        ok &= same;
    }
    return ok;
}

/* Inference on net and ref from the same input: every layer's output (network_predict,
 * Darknet's loop over the layer functions), then the L1 scores through mcd_predict (the
 * plugin's inference, with the backend's fused residual blocks). */
static int same_inference(network *net, network *ref)
{
    size_t in_n = (size_t)ref->inputs * ref->batch;
    float *input = malloc(in_n * sizeof(float));
    fill_random(input, in_n, 0, 1);
    network_predict(net, input);
    network_predict(ref, input);
    int ok = 1;
    for (int i = 0; i < ref->n; ++i)
        ok &= agree("output", i, net->layers[i].output, ref->layers[i].output,
                    (size_t)ref->layers[i].outputs * ref->batch);
    float *scores = malloc(ref->batch * sizeof(float));
    memcpy(scores, mcd_predict(net, input), ref->batch * sizeof(float));
    ok &= agree("L1 scores (mcd_predict)", ref->n - 1, scores, mcd_predict(ref, input),
                (size_t)ref->batch);
    free(scores);
    free(input);
    return ok;
}

/* The MCD layers' resize functions against the layers made at the new size. */
static int same_layer_shape(const layer *a, const layer *b)
{
    return a->type == b->type && a->w == b->w && a->h == b->h && a->c == b->c &&
           a->out_w == b->out_w && a->out_h == b->out_h && a->out_c == b->out_c &&
           a->inputs == b->inputs && a->outputs == b->outputs;
}

static void test_mcd_layers_resize(void)
{
    layer split = make_mcd_split_layer(3, 4, 5, 8), want = make_mcd_split_layer(3, 7, 2, 8);
    layer head = make_mcd_head_layer(3, 0, &split), head_want = make_mcd_head_layer(3, 0, &want);
    CU_ASSERT_EQUAL_FATAL(resize_mcd_split_layer(&split, 7, 2), 0);
    CU_ASSERT(same_layer_shape(&split, &want));
    /* [mcd_head] follows the split's new shape */
    CU_ASSERT_EQUAL_FATAL(resize_mcd_head_layer(&head, &split), 0);
    CU_ASSERT(same_layer_shape(&head, &head_want));
    CU_ASSERT_EQUAL(head.index, 0);
    /* the buffers are written in full: a short one is an overflow under SANITIZE=1 */
    size_t n = (size_t)want.outputs * want.batch * sizeof(float);
    memset(split.output, 0, n), memset(split.delta, 0, n);
    memset(head.output, 0, n), memset(head.delta, 0, n);

    /* [mcd_discrepancy] and [mcd_l1]: nothing depends on the image size, only the class
     * count of the heads (layers 0 and 1 here) must stay */
    layer heads[3] = {{.outputs = 5}, {.outputs = 5}};
    heads[2] = make_mcd_discrepancy_layer(3, 5, 0, 1, 1.f, 1.f, MCD_LOSS_ENTROPY);
    network net = {.n = 3, .layers = heads};
    CU_ASSERT_EQUAL(resize_mcd_discrepancy_layer(&heads[2], &net), 0);
    heads[1].outputs = 6;
    CU_ASSERT_EQUAL(resize_mcd_discrepancy_layer(&heads[2], &net), -1);
    layer l1 = make_mcd_l1_layer(3, 5);
    CU_ASSERT_EQUAL(resize_mcd_l1_layer(&l1, 10), 0);
    CU_ASSERT_EQUAL(resize_mcd_l1_layer(&l1, 12), -1);
    free_layer(split), free_layer(want), free_layer(head), free_layer(head_want);
    free_layer(heads[2]), free_layer(l1);
}

/* A network parsed at 16x16, resized to 24x24, 13x13 (odd: the stride-2 block is no longer
 * fused) and back to 16x16: at each size its shapes, outputs and scores are those of the
 * cfg parsed at that size with its weights. */
static void test_resized_equals_parsed(void)
{
    static const int sizes[] = {24, 13, 16};
    for (size_t b = 0; b < sizeof backends / sizeof backends[0]; ++b) {
        CU_ASSERT_FATAL(mcd_backend_select(backends[b]) == 0);
        srand(3);
        network *net = parse_at(RESIZE_CFG, 16, 16);
        CU_ASSERT_PTR_NOT_NULL_FATAL(net);
        randomize_statistics(net);
        for (size_t k = 0; k < sizeof sizes / sizeof sizes[0]; ++k) {
            int s = sizes[k];
            if (mcd_resize_network(net, s, s)) printf("\n  %s", mcd_last_error());
            CU_ASSERT_EQUAL_FATAL(net->w, s);
            network *ref = direct_parse_like(net, s, s);
            CU_ASSERT_PTR_NOT_NULL_FATAL(ref);
            int ok = same_shapes(net, ref);
            ok = ok && same_functions(net, ref) + same_inference(net, ref) == 2;
            if (!ok) printf("\n  backend %s, resized to %dx%d", backends[b], s, s);
            CU_ASSERT(ok);
            free_network(ref);
        }
        free_network(net);
    }
    mcd_backend_select("onednn");
}

/* The test cfg parsed at 16x16 from seeded initial weights and resized to s x s by
 * `resize` (mcd_resize_network or Darknet's symbol); *ref: the cfg parsed at s x s with
 * its weights. */
static network *resized_and_reference(int (*resize)(network *, int, int), int s, network **ref)
{
    srand(5);
    network *net = parse_at(RESIZE_CFG, 16, 16);
    CU_ASSERT_PTR_NOT_NULL_FATAL(net);
    CU_ASSERT_EQUAL_FATAL(resize(net, s, s), 0);
    *ref = direct_parse_like(net, s, s);
    CU_ASSERT_PTR_NOT_NULL_FATAL(*ref);
    return net;
}

/* One labeled training step (forward, backward, update) after a resize: the same loss and
 * the same weights and batch-norm statistics after it as the network parsed at that size. */
static void test_training_after_resize(void)
{
    for (size_t b = 0; b < sizeof backends / sizeof backends[0]; ++b) {
        CU_ASSERT_FATAL(mcd_backend_select(backends[b]) == 0);
        network *ref, *net = resized_and_reference(mcd_resize_network, 20, &ref);
        size_t in_n = (size_t)ref->inputs * ref->batch;
        fill_random(ref->input, in_n, 0, 1);
        memcpy(net->input, ref->input, in_n * sizeof(float));
        memset(ref->truth, 0, (size_t)ref->truths * ref->batch * sizeof(float));
        for (int i = 0; i < ref->batch; ++i) ref->truth[i * ref->truths + i % ref->truths] = 1;
        memcpy(net->truth, ref->truth, (size_t)ref->truths * ref->batch * sizeof(float));
        srand(9); /* [dropout]'s mask */
        float loss = train_network_datum(net);
        srand(9);
        float loss_ref = train_network_datum(ref);
        int ok = isfinite(loss) && loss > 0 && agree("loss", -1, &loss, &loss_ref, 1);
        for (int i = 0; i < ref->n; ++i) {
            layer *l = &net->layers[i], *r = &ref->layers[i];
            if (r->nweights) ok &= agree("weights", i, l->weights, r->weights, r->nweights);
            if (r->batch_normalize)
                ok &= agree("rolling_mean", i, l->rolling_mean, r->rolling_mean, r->n);
        }
        if (!ok) printf("\n  backend %s", backends[b]);
        CU_ASSERT(ok);
        free_network(ref);
        free_network(net);
    }
    mcd_backend_select("onednn");
}

/* Without a global [avgpool], head 1's [connected] layer would get another input count: -1,
 * an error naming it, and the network as it was (same shapes, same outputs). */
#define NO_POOL_CFG                                                                          \
    "[net]\nbatch=2\nheight=6\nwidth=6\nchannels=1\n"                                        \
    "[convolutional]\nfilters=4\nsize=3\npad=1\nactivation=leaky\n"                          \
    "[mcd_split]\n[connected]\noutput=3\nactivation=linear\n[softmax]\n"                     \
    "[mcd_discrepancy]\n[mcd_l1]\n"

static void test_head_refuses_new_size(void)
{
    const char *path = test_write_temp(NO_POOL_CFG);
    network *net = mcd_parse_network_cfg(path);
    unlink(path);
    CU_ASSERT_PTR_NOT_NULL_FATAL(net);
    path = test_write_temp(NO_POOL_CFG);
    network *same = mcd_parse_network_cfg(path); /* the shapes before, for comparison */
    unlink(path);
    CU_ASSERT_PTR_NOT_NULL_FATAL(same);
    size_t in_n = (size_t)net->inputs * net->batch;
    float *input = malloc(in_n * sizeof(float));
    fill_random(input, in_n, 0, 1);
    float before[2];
    memcpy(before, network_predict(net, input), sizeof before);

    CU_ASSERT_EQUAL(mcd_resize_network(net, 8, 8), -1);
    const char *e = mcd_last_error();
    CU_ASSERT_PTR_NOT_NULL(strstr(e, "8x8"));
    CU_ASSERT_PTR_NOT_NULL(strstr(e, "layer 2 [connected]"));
    CU_ASSERT_PTR_NOT_NULL(strstr(e, "global [avgpool]"));
    CU_ASSERT(same_shapes(net, same));
    CU_ASSERT_EQUAL(net->layers[1].type, MCD_SPLIT);
    CU_ASSERT(agree("L1 scores after the refusal", -1, network_predict(net, input), before, 2));

    CU_ASSERT_EQUAL(mcd_resize_network(net, 0, 6), -1);
    CU_ASSERT_PTR_NOT_NULL(strstr(mcd_last_error(), "0x6"));
    CU_ASSERT(same_shapes(net, same));
    free(input);
    free_network(net);
    free_network(same);
}

/* Darknet's resize_network, called by its symbol as stock commands do, is the plugin's:
 * Darknet's own would abort on this cfg (its [shortcut] resize asserts on the stride-2
 * block, and it has no resize for [batchnorm] or the MCD layers). */
static void test_stock_symbol_resizes(void)
{
    network *ref, *net = resized_and_reference(resize_network, 32, &ref);
    CU_ASSERT(same_shapes(net, ref) && same_functions(net, ref));
    free_network(ref);
    free_network(net);
}

/* ... and where the plugin refuses, the stock caller gets a message and exit status 1,
 * not Darknet's abort (SIGABRT from error()'s assert). */
static void test_stock_symbol_refusal_exits(void)
{
    const char *path = test_write_temp(NO_POOL_CFG);
    network *net = mcd_parse_network_cfg(path);
    unlink(path);
    CU_ASSERT_PTR_NOT_NULL_FATAL(net);
    char log[] = "/tmp/mcd-test-resize-log-XXXXXX";
    int fd = mkstemp(log);
    CU_ASSERT_FATAL(fd >= 0);
    fflush(stdout);
    fflush(stderr);
    pid_t pid = fork();
    CU_ASSERT_FATAL(pid >= 0);
    if (pid == 0) {
        dup2(fd, 2);
        resize_network(net, 9, 9);
        _exit(0); /* not reached when the wrapper exits */
    }
    int status;
    waitpid(pid, &status, 0);
    char text[1024] = "";
    ssize_t n = pread(fd, text, sizeof text - 1, 0);
    text[n > 0 ? n : 0] = 0;
    close(fd);
    unlink(log);
    CU_ASSERT(WIFEXITED(status) && WEXITSTATUS(status) == 1);
    CU_ASSERT_PTR_NOT_NULL(strstr(text, "darknet: error: resizing the network to 9x9: layer 2 "
                                        "[connected]"));
    free_network(net);
}

/* random=1 makes `darknet classifier train` resize the network (to 128-448 pixels) before
 * its first batch: with an MCD cfg it trains and saves the weights. */
static void test_random_in_classifier_train(void)
{
    char dir[] = "/tmp/mcd-test-resize-XXXXXX";
    CU_ASSERT_PTR_NOT_NULL_FATAL(mkdtemp(dir));
    char data[1024];
    snprintf(data, sizeof data, "classes=4\ntrain=data/fmnist-small/train.list\n"
             "labels=data/fmnist-small/labels.list\nbackup=%s\n", dir);
    CU_ASSERT_EQUAL_FATAL(test_write_text(test_path(dir, "resize.data"), data), 0);
    CU_ASSERT_EQUAL_FATAL(test_write_text(test_path(dir, "resize.cfg"),
                                          cfg_text(RESIZE_CFG, 16, 16, "random=1\n")), 0);
    static char out[1 << 16];
    int rc = test_run_darknet(out, sizeof out, "classifier train %s %s",
                              test_path(dir, "resize.data"), test_path(dir, "resize.cfg"));
    size_t len = strlen(out);
    if (rc != 0) printf("\n  exit %d:\n%s", rc, out + (len > 2000 ? len - 2000 : 0));
    CU_ASSERT_EQUAL(rc, 0);
    CU_ASSERT_PTR_NOT_NULL(strstr(out, "Resizing"));
    CU_ASSERT_EQUAL(access(test_path(dir, "resize.weights"), F_OK), 0);
    char cmd[1024];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", dir);
    CU_ASSERT_EQUAL(system(cmd), 0);
}

int add_resize_suite(void)
{
    CU_pSuite s = test_add_suite("resize");
    if (!s) return -1;
    if (!CU_add_test(s, "the MCD layers' resize functions", test_mcd_layers_resize) ||
        !CU_add_test(s, "resized = parsed at that size, both backends",
                     test_resized_equals_parsed) ||
        !CU_add_test(s, "a training step after a resize", test_training_after_resize) ||
        !CU_add_test(s, "a head that cannot take the size: -1, named",
                     test_head_refuses_new_size) ||
        !CU_add_test(s, "resize_network is the plugin's", test_stock_symbol_resizes) ||
        !CU_add_test(s, "resize_network's refusal exits 1", test_stock_symbol_refusal_exits) ||
        !CU_add_test(s, "random=1: classifier train on an MCD cfg",
                     test_random_in_classifier_train))
        return -1;
    return 0;
}
