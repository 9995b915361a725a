/* The oneDNN backend against Darknet's own layers: the same layer built twice from the same
 * weights and inputs, one left to Darknet's code, one given the backend's, must agree on
 * everything Darknet's layer writes that other code reads: outputs, the gradient added
 * into the previous layer, weight/bias/scale updates (added to, never overwritten), rolling
 * statistics; in training and in inference; then whole networks trained a few steps both
 * ways. Agreement: max |ours - Darknet| <= 1e-4 * max |Darknet| over each tensor (sums
 * and Winograd round differently, element by element near zero only the scale matters). */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "backend/blocked_layout.h"
#include "backend/conv_onednn.h"
#include "convolutional_layer.h"
#include "backend/cpu_backend.h"
#include "darknet.h"
#include "backend/inference.h"
#include "backend/onednn_runtime.h"
#include "util/mcd_error.h"
#include "network/mcd_network.h"
#include "shortcut_layer.h"
#include "backend/shortcut_fused.h"
#include "test_util.h"

#define REL_TOL 1e-4

/* max |a - b| / max |b|, printed with the tensor's name when over the tolerance */
static int tensors_agree(const char *what, const float *a, const float *b, size_t n)
{
    double diff = 0, scale = 0;
    for (size_t i = 0; i < n; ++i) {
        double d = fabs((double)a[i] - b[i]);
        if (!(d <= diff)) diff = d; /* NaN sticks */
        if (fabs(b[i]) > scale) scale = fabs(b[i]);
    }
    int ok = diff <= REL_TOL * (scale > 0 ? scale : 1e-3);
    if (!ok) printf("\n  %s: max diff %g, max |ref| %g", what, diff, scale);
    return ok;
}

static void fill_random(float *v, size_t n, float lo, float hi)
{
    for (size_t i = 0; i < n; ++i) v[i] = lo + (hi - lo) * rand() / (float)RAND_MAX;
}

static float *copy_of(const float *v, size_t n)
{
    float *c = malloc(n * sizeof *c);
    memcpy(c, v, n * sizeof *c);
    return c;
}

typedef struct conv_case {
    int batch, h, w, c, n, size, stride, pad, bn;
    ACTIVATION act;
} conv_case;

/* A one-layer network around l: Darknet's layer functions read net.input, net.delta,
 * net.workspace, net.train, net.layers and net.index. */
static network one_layer_net(layer *l, float *input, float *prev_delta, int train)
{
    network net = {0};
    net.n = 1;
    net.layers = l;
    net.index = 0;
    net.batch = l->batch;
    net.input = input;
    net.delta = prev_delta;
    net.train = train;
    net.workspace = calloc(1, l->workspace_size ? l->workspace_size : 1);
    return net;
}

static void check_conv_case(const conv_case *k)
{
    srand(42);
    layer ref = make_convolutional_layer(k->batch, k->h, k->w, k->c, k->n, 1, k->size,
                                         k->stride, k->pad, k->act, k->bn, 0, 0, 0);
    layer ours = make_convolutional_layer(k->batch, k->h, k->w, k->c, k->n, 1, k->size,
                                          k->stride, k->pad, k->act, k->bn, 0, 0, 0);
    memcpy(ours.weights, ref.weights, ref.nweights * sizeof(float));
    fill_random(ref.biases, ref.n, -.5f, .5f);
    memcpy(ours.biases, ref.biases, ref.n * sizeof(float));
    if (k->bn) {
        fill_random(ref.scales, ref.n, .5f, 1.5f);
        fill_random(ref.rolling_mean, ref.n, -.2f, .2f);
        fill_random(ref.rolling_variance, ref.n, .5f, 2.f);
        memcpy(ours.scales, ref.scales, ref.n * sizeof(float));
        memcpy(ours.rolling_mean, ref.rolling_mean, ref.n * sizeof(float));
        memcpy(ours.rolling_variance, ref.rolling_variance, ref.n * sizeof(float));
    }
    /* the accumulators start non-zero: the backward pass must add into them */
    fill_random(ref.weight_updates, ref.nweights, -.1f, .1f);
    fill_random(ref.bias_updates, ref.n, -.1f, .1f);
    memcpy(ours.weight_updates, ref.weight_updates, ref.nweights * sizeof(float));
    memcpy(ours.bias_updates, ref.bias_updates, ref.n * sizeof(float));
    if (k->bn) {
        fill_random(ref.scale_updates, ref.n, -.1f, .1f);
        memcpy(ours.scale_updates, ref.scale_updates, ref.n * sizeof(float));
    }

    size_t in_n = (size_t)ref.inputs * k->batch, out_n = (size_t)ref.outputs * k->batch;
    float *input = malloc(in_n * sizeof(float)), *grad = malloc(out_n * sizeof(float));
    float *prev_ref = malloc(in_n * sizeof(float));
    fill_random(prev_ref, in_n, -.1f, .1f);
    float *prev_ours = copy_of(prev_ref, in_n);

    network net_ref = one_layer_net(&ref, input, prev_ref, 1);
    network net_ours = one_layer_net(&ours, input, prev_ours, 1);
    CU_ASSERT_FATAL(conv_onednn_install(&net_ours, 0));

    /* two training passes: gradients accumulate across them, as in MCD's step A */
    int ok = 1;
    for (int pass = 0; pass < 2; ++pass) {
        if (k->size == 1) {
            /* Darknet's 1x1 path writes the previous layer's delta with gemm beta 0,
             * dropping what other layers added to it (a Darknet bug the backend does not
             * copy): compare from zero */
            memset(prev_ref, 0, in_n * sizeof(float));
            memset(prev_ours, 0, in_n * sizeof(float));
        }
        fill_random(input, in_n, -1.f, 1.f);
        fill_random(grad, out_n, -1.f, 1.f);
        ref.forward(ref, net_ref);
        ours.forward(ours, net_ours);
        ok &= tensors_agree("output", ours.output, ref.output, out_n);
        if (k->bn) {
            ok &= tensors_agree("rolling_mean", ours.rolling_mean, ref.rolling_mean, ref.n);
            ok &= tensors_agree("rolling_variance", ours.rolling_variance,
                                ref.rolling_variance, ref.n);
        }
        memcpy(ref.delta, grad, out_n * sizeof(float));
        memcpy(ours.delta, grad, out_n * sizeof(float));
        ref.backward(ref, net_ref);
        ours.backward(ours, net_ours);
        ok &= tensors_agree("delta", ours.delta, ref.delta, out_n);
        ok &= tensors_agree("previous layer's delta", prev_ours, prev_ref, in_n);
        ok &= tensors_agree("weight_updates", ours.weight_updates, ref.weight_updates,
                            ref.nweights);
        ok &= tensors_agree("bias_updates", ours.bias_updates, ref.bias_updates, ref.n);
        if (k->bn)
            ok &= tensors_agree("scale_updates", ours.scale_updates, ref.scale_updates, ref.n);
    }
    /* inference: batch norm from the rolling statistics (folded into the convolution) */
    net_ref.train = net_ours.train = 0;
    fill_random(input, in_n, -1.f, 1.f);
    ref.forward(ref, net_ref);
    ours.forward(ours, net_ours);
    ok &= tensors_agree("inference output", ours.output, ref.output, out_n);
    /* changed weights must reach the inference primitive (it caches their reorder) */
    for (int i = 0; i < ref.nweights; ++i) ref.weights[i] = ours.weights[i] *= -.5f;
    ref.forward(ref, net_ref);
    ours.forward(ours, net_ours);
    ok &= tensors_agree("inference output after a weight change", ours.output, ref.output,
                        out_n);
    if (!ok)
        printf("\n  case: batch %d, %dx%dx%d -> %d, size %d stride %d pad %d bn %d act %d",
               k->batch, k->w, k->h, k->c, k->n, k->size, k->stride, k->pad, k->bn, k->act);
    CU_ASSERT(ok);
    free(input), free(grad), free(prev_ref), free(prev_ours);
    free(net_ref.workspace), free(net_ours.workspace);
    free_layer(ref);
    free_layer(ours);
}

static void test_conv_layers(void)
{
    const conv_case cases[] = {
        {4, 8, 8, 16, 32, 3, 1, 1, 1, LEAKY},   /* 16 input channels: direct */
        {5, 16, 16, 32, 32, 3, 1, 1, 1, RELU},  /* a ResNet block's conv: Winograd where the
                                                   CPU has it */
        {3, 9, 9, 5, 7, 3, 2, 1, 1, LINEAR},    /* stride 2, odd sizes */
        {2, 6, 6, 16, 16, 1, 1, 0, 0, LEAKY},   /* 1x1, no batch norm: bias */
        {2, 7, 7, 4, 8, 3, 1, 0, 0, RELU},      /* no padding */
        {2, 10, 10, 3, 16, 5, 2, 2, 1, LOGISTIC}, /* 5x5, an activation oneDNN does not fuse */
        {1, 5, 5, 8, 4, 3, 1, 1, 1, LEAKY},     /* batch 1 */
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; ++i) check_conv_case(&cases[i]);
}

/* The fused [shortcut] against Darknet's: identity and subsampled, zero-padded channels. */
static void check_shortcut(int batch, int w, int h, int c, int out_w, int out_h, int out_c,
                           ACTIVATION act)
{
    srand(7);
    layer from = {0};
    from.batch = batch, from.out_w = w, from.out_h = h, from.out_c = c;
    size_t from_n = (size_t)batch * w * h * c, out_n = (size_t)batch * out_w * out_h * out_c;
    from.output = malloc(from_n * sizeof(float));
    fill_random(from.output, from_n, -1, 1);
    layer layers_ref[2], layers_ours[2];
    layers_ref[0] = from;
    layers_ref[0].delta = calloc(from_n, sizeof(float));
    layers_ours[0] = from;
    layers_ours[0].delta = calloc(from_n, sizeof(float));
    /* Darknet's argument order: the input's shape (the output's), then the added layer's */
    layers_ref[1] = make_shortcut_layer(batch, 0, out_w, out_h, out_c, w, h, c);
    layers_ours[1] = make_shortcut_layer(batch, 0, out_w, out_h, out_c, w, h, c);
    layers_ref[1].activation = layers_ours[1].activation = act;
    layers_ref[1].alpha = layers_ours[1].alpha = 1;
    layers_ref[1].beta = layers_ours[1].beta = 1;

    float *input = malloc(out_n * sizeof(float)), *grad = malloc(out_n * sizeof(float));
    float *prev_ref = calloc(out_n, sizeof(float)), *prev_ours = calloc(out_n, sizeof(float));
    fill_random(input, out_n, -1, 1);
    fill_random(grad, out_n, -1, 1);
    network net_ref = {0}, net_ours = {0};
    net_ref.n = net_ours.n = 2;
    net_ref.layers = layers_ref, net_ours.layers = layers_ours;
    net_ref.input = net_ours.input = input;
    net_ref.delta = prev_ref, net_ours.delta = prev_ours;
    net_ref.index = net_ours.index = 1;
    net_ref.train = net_ours.train = 1;
    CU_ASSERT_FATAL(shortcut_fused_install(&net_ours, 1));
    layer *r = &layers_ref[1], *o = &layers_ours[1];
    r->forward(*r, net_ref);
    o->forward(*o, net_ours);
    int ok = tensors_agree("shortcut output", o->output, r->output, out_n);
    memcpy(r->delta, grad, out_n * sizeof(float));
    memcpy(o->delta, grad, out_n * sizeof(float));
    r->backward(*r, net_ref);
    o->backward(*o, net_ours);
    ok &= tensors_agree("shortcut delta into the previous layer", prev_ours, prev_ref, out_n);
    ok &= tensors_agree("shortcut delta into the 'from' layer", layers_ours[0].delta,
                        layers_ref[0].delta, from_n);
    CU_ASSERT(ok);
    free(input), free(grad), free(prev_ref), free(prev_ours), free(from.output);
    free(layers_ref[0].delta), free(layers_ours[0].delta);
    free_layer(*r);
    free_layer(*o);
}

static void test_shortcut_layers(void)
{
    check_shortcut(3, 8, 8, 16, 8, 8, 16, RELU);
    check_shortcut(2, 8, 8, 8, 4, 4, 16, LEAKY); /* stride 2, channels zero-padded */
    check_shortcut(2, 6, 6, 8, 6, 6, 4, LINEAR); /* fewer output channels */
}

/* Whole networks, parsed once per backend from the same seed (same initial weights):
 * three training steps (forward, backward, update), then inference. */
static network *parse_with(const char *backend, const char *cfg)
{
    CU_ASSERT_FATAL(mcd_backend_select(backend) == 0);
    srand(3);
    network *net = mcd_parse_network_cfg(cfg);
    mcd_backend_select("onednn");
    return net;
}

static void check_network_training(const char *cfg)
{
    network *ref = parse_with("darknet", cfg), *ours = parse_with("onednn", cfg);
    CU_ASSERT_FATAL(ref && ours);
    size_t in_n = (size_t)ref->inputs * ref->batch;
    float *input = malloc(in_n * sizeof(float));
    int ok = 1;
    srand(5);
    for (int step = 0; step < 3; ++step) {
        fill_random(input, in_n, 0, 1);
        memset(ref->truth, 0, (size_t)ref->truths * ref->batch * sizeof(float));
        for (int b = 0; b < ref->batch; ++b) ref->truth[b * ref->truths + rand() % ref->truths] = 1;
        memcpy(ours->truth, ref->truth, (size_t)ref->truths * ref->batch * sizeof(float));
        memcpy(ref->input, input, in_n * sizeof(float));
        memcpy(ours->input, input, in_n * sizeof(float));
        float loss_ref = train_network_datum(ref), loss_ours = train_network_datum(ours);
        ok &= tensors_agree("loss", &loss_ours, &loss_ref, 1);
    }
    for (int i = 0; i < ref->n; ++i) {
        layer *r = &ref->layers[i], *o = &ours->layers[i];
        char what[64];
        if (r->type != CONVOLUTIONAL && r->type != CONNECTED) continue;
        snprintf(what, sizeof what, "layer %d weights", i);
        ok &= tensors_agree(what, o->weights, r->weights, r->nweights);
        snprintf(what, sizeof what, "layer %d biases", i);
        ok &= tensors_agree(what, o->biases, r->biases, r->n);
        if (r->batch_normalize) {
            snprintf(what, sizeof what, "layer %d scales", i);
            ok &= tensors_agree(what, o->scales, r->scales, r->n);
            snprintf(what, sizeof what, "layer %d rolling_variance", i);
            ok &= tensors_agree(what, o->rolling_variance, r->rolling_variance, r->n);
        }
    }
    float *p_ref = network_predict(ref, input), *p_ours = network_predict(ours, input);
    ok &= tensors_agree("predictions", p_ours, p_ref, (size_t)ref->outputs * ref->batch);
    if (!ok) printf("\n  network: %s", cfg);
    CU_ASSERT(ok);
    free(input);
    free_network(ref);
    free_network(ours);
}

static void test_network_training(void)
{
    check_network_training(TEST_CFG_DIR "/backend-resnet.cfg");
}

/* Inference: mcd_predict gives network_predict's result, at the cfg's batch and at batch 1
 * (plans rebuilt, as detect after valid), with residual fusion (inference.c) on; the
 * pairs it fuses are counted into *fused. Then layer by layer with it off: each output,
 * taken out of nChw16c where the backend keeps it so (blocked_output), equals Darknet's. */
static void check_network_inference(const char *cfg, int *fused)
{
    network *ref = parse_with("darknet", cfg), *ours = parse_with("onednn", cfg);
    CU_ASSERT_FATAL(ref && ours);
    srand(7);
    for (int i = 0; i < ref->n; ++i) { /* batch norm statistics as after some training */
        layer *r = &ref->layers[i], *o = &ours->layers[i];
        if (!r->batch_normalize) continue;
        fill_random(r->rolling_mean, r->n, -.2f, .2f);
        fill_random(r->rolling_variance, r->n, .5f, 2);
        fill_random(r->scales, r->n, .5f, 1.5f);
        fill_random(r->biases, r->n, -.1f, .1f);
        memcpy(o->rolling_mean, r->rolling_mean, r->n * sizeof(float));
        memcpy(o->rolling_variance, r->rolling_variance, r->n * sizeof(float));
        memcpy(o->scales, r->scales, r->n * sizeof(float));
        memcpy(o->biases, r->biases, r->n * sizeof(float));
    }
    size_t in_n = (size_t)ref->inputs * ref->batch;
    float *input = malloc(in_n * sizeof(float));
    fill_random(input, in_n, 0, 1);
    network at_inference = *ours;
    at_inference.train = 0;
    *fused = 0;
    for (int i = 0; i < ours->n; ++i) *fused += mcd_residual_from(&at_inference, i) >= 0;
    float *p_ref = network_predict(ref, input), *p_ours = mcd_predict(ours, input);
    int ok = tensors_agree("predictions", p_ours, p_ref, (size_t)ref->outputs * ref->batch);

    mcd_predict_fuse_residuals(0);
    mcd_predict(ours, input);
    mcd_predict_fuse_residuals(1);
    int blocked = 0;
    for (int i = 0; i < ref->n; ++i) {
        layer *r = &ref->layers[i], *o = &ours->layers[i];
        size_t n = (size_t)r->outputs * r->batch;
        float *plain = copy_of(o->output, n);
        if (blocked_output(&at_inference, i)) {
            blocked_to_plain(o->output, plain, o->batch, o->out_c, o->out_h, o->out_w);
            ++blocked;
        }
        char what[64];
        snprintf(what, sizeof what, "layer %d output", i);
        ok &= tensors_agree(what, plain, r->output, n);
        free(plain);
    }
    set_batch_network(ref, 1);
    set_batch_network(ours, 1);
    p_ref = network_predict(ref, input), p_ours = mcd_predict(ours, input);
    ok &= tensors_agree("predictions at batch 1", p_ours, p_ref, (size_t)ref->outputs);
    if (!ok) printf("\n  network: %s", cfg);
    CU_ASSERT(ok);
    CU_ASSERT(blocked > 0); /* the layout was exercised */
    free(input);
    free_network(ref);
    free_network(ours);
}

/* The fused residual block itself: the shortcut's output, which mcd_predict leaves in its
 * `from` layer's buffer (in nChw16c), equals Darknet's shortcut output; network_predict on
 * the same network (stock commands) agrees too. */
static void test_fused_residual(void)
{
    const char *cfg = TEST_CFG_DIR "/backend-residual.cfg";
    network *ref = parse_with("darknet", cfg), *ours = parse_with("onednn", cfg);
    CU_ASSERT_FATAL(ref && ours);
    srand(11);
    for (int i = 0; i < 3; ++i) {
        layer *r = &ref->layers[i], *o = &ours->layers[i];
        fill_random(r->rolling_mean, r->n, -.2f, .2f);
        fill_random(r->rolling_variance, r->n, .5f, 2);
        memcpy(o->rolling_mean, r->rolling_mean, r->n * sizeof(float));
        memcpy(o->rolling_variance, r->rolling_variance, r->n * sizeof(float));
    }
    network at_inference = *ours;
    at_inference.train = 0;
    CU_ASSERT_EQUAL_FATAL(mcd_residual_from(&at_inference, 2), 0);
    CU_ASSERT_EQUAL(mcd_residual_from(&at_inference, 1), -1); /* not before a shortcut */
    size_t in_n = (size_t)ref->inputs * ref->batch;
    float *input = malloc(in_n * sizeof(float));
    fill_random(input, in_n, -1, 1);
    float *p_ref = network_predict(ref, input), *p_ours = mcd_predict(ours, input);
    int ok = tensors_agree("predictions", p_ours, p_ref, (size_t)ref->outputs * ref->batch);
    const layer *s = &ref->layers[3];
    size_t n = (size_t)s->outputs * s->batch;
    float *plain = malloc(n * sizeof(float));
    blocked_to_plain(ours->layers[0].output, plain, s->batch, s->out_c, s->out_h, s->out_w);
    ok &= tensors_agree("shortcut output (in layer 0's buffer)", plain, s->output, n);
    /* and the average pool read it in nChw16c: bit for bit Darknet's order of sums */
    ok &= tensors_agree("avgpool output", ours->layers[4].output, ref->layers[4].output,
                        (size_t)ref->layers[4].outputs * ref->batch);
    /* Darknet's own loop (stock commands): no fusion, the average pool still blocked */
    p_ours = network_predict(ours, input);
    ok &= tensors_agree("network_predict", p_ours, p_ref, (size_t)ref->outputs * ref->batch);
    CU_ASSERT(ok);
    free(plain);
    free(input);
    free_network(ref);
    free_network(ours);
}

static void test_network_inference(void)
{
    int fused;
    check_network_inference(TEST_CFG_DIR "/backend-resnet.cfg", &fused);
    CU_ASSERT(fused > 0);
    /* its 1x1 projection reads `from` (no fusion in place over a layer's own input), its
     * other block's convolution is read by a [route] too */
    check_network_inference(TEST_CFG_DIR "/backend-layouts.cfg", &fused);
    CU_ASSERT_EQUAL(fused, 0);
}

/* Which outputs stay blocked, and the layout conversions (rare paths) round trip. */
static void test_blocked_layout(void)
{
    network *net = parse_with("onednn", TEST_CFG_DIR "/backend-layouts.cfg");
    CU_ASSERT_FATAL(net != NULL);
    net->train = 0;
    const int expect[] = {1, 1, 0, 0, 0, 1, 1, 1, 1, 1, 1, 0, 0, 0};
    CU_ASSERT_EQUAL_FATAL(net->n, (int)(sizeof expect / sizeof expect[0]));
    for (int i = 0; i < net->n; ++i) {
        if (blocked_output(net, i) != expect[i]) printf("\n  layer %d", i);
        CU_ASSERT_EQUAL(blocked_output(net, i), expect[i]);
    }
    net->train = 1; /* training passes are NCHW throughout */
    for (int i = 0; i < net->n; ++i) CU_ASSERT_EQUAL(blocked_output(net, i), 0);
    free_network(net);
    net = parse_with("darknet", TEST_CFG_DIR "/backend-layouts.cfg");
    net->train = 0; /* Darknet's layers: NCHW */
    for (int i = 0; i < net->n; ++i) CU_ASSERT_EQUAL(blocked_output(net, i), 0);
    free_network(net);

    const int b = 2, c = 32, h = 3, w = 5;
    const size_t n = (size_t)b * c * h * w;
    float *plain = malloc(n * sizeof(float)), *blocked = malloc(n * sizeof(float)),
          *back = malloc(n * sizeof(float));
    for (size_t i = 0; i < n; ++i) plain[i] = (float)i;
    blocked_from_plain(plain, blocked, b, c, h, w);
    /* image 1, channel 17 (block 1, lane 1), pixel (2, 4) */
    CU_ASSERT_EQUAL(blocked[(((size_t)1 * 2 + 1) * h * w + 2 * w + 4) * 16 + 1],
                    plain[((size_t)1 * c + 17) * h * w + 2 * w + 4]);
    blocked_to_plain(blocked, back, b, c, h, w);
    CU_ASSERT_EQUAL(memcmp(back, plain, n * sizeof(float)), 0);
    free(plain), free(blocked), free(back);
}

/* The blocked layout learns its readers and writers from the table the kernels register
 * in, and decides from the forward functions the layers have at the call. Three layers of
 * MCD_BLOCK channels, the last the network's output. */
static void blocked_rw(layer l, network net) {}
static void blocked_reader(layer l, network net) {}

static void test_blocked_registry(void)
{
    layer layers[3] = {{0}};
    float outputs[3];
    for (int i = 0; i < 3; ++i) {
        layers[i].type = CONVOLUTIONAL;
        layers[i].c = layers[i].out_c = MCD_BLOCK;
        layers[i].forward = blocked_rw;
        layers[i].output = &outputs[i];
    }
    network net = {0};
    net.n = 3, net.layers = layers, net.output = layers[2].output;
    CU_ASSERT_EQUAL(blocked_output(&net, 0), 0); /* not registered: NCHW */
    CU_ASSERT_EQUAL_FATAL(blocked_layout_register(blocked_rw, 1, 1), 0);
    CU_ASSERT_EQUAL(blocked_output(&net, 0), 1);
    CU_ASSERT_EQUAL(blocked_output(&net, 1), 1);
    CU_ASSERT_EQUAL(blocked_output(&net, 2), 0); /* the output */
    /* layer 1 goes back to an unregistered function: decided anew at the next call */
    layers[1].forward = blocked_reader;
    CU_ASSERT_EQUAL(blocked_output(&net, 0), 0);
    CU_ASSERT_EQUAL(blocked_output(&net, 1), 0);
    /* a reader that does not write (as [avgpool]) */
    CU_ASSERT_EQUAL_FATAL(blocked_layout_register(blocked_reader, 1, 0), 0);
    CU_ASSERT_EQUAL(blocked_output(&net, 0), 1);
    CU_ASSERT_EQUAL(blocked_output(&net, 1), 0);
    layers[0].out_c = MCD_BLOCK / 2; /* not a whole block */
    CU_ASSERT_EQUAL(blocked_output(&net, 0), 0);
    layers[0].out_c = MCD_BLOCK;
    /* registered again: the new entry replaces the old; 0, 0 removes it */
    CU_ASSERT_EQUAL_FATAL(blocked_layout_register(blocked_reader, 0, 1), 0);
    CU_ASSERT_EQUAL(blocked_output(&net, 0), 0);
    CU_ASSERT_EQUAL(blocked_layout_register(blocked_reader, 0, 0), 0);
    CU_ASSERT_EQUAL(blocked_layout_register(blocked_rw, 0, 0), 0);
    layers[1].forward = blocked_rw;
    CU_ASSERT_EQUAL(blocked_output(&net, 0), 0);
}

/* The parser installs a backend only through the hook a program gives it. */
static int parse_hook_calls;
static void count_parse(network *net)
{
    parse_hook_calls += net->n;
}

static void test_parse_hook(void)
{
    const char *cfg = TEST_CFG_DIR "/backend-residual.cfg";
    mcd_network_set_parse_hook(NULL);
    network *plain = mcd_parse_network_cfg(cfg);
    parse_hook_calls = 0;
    mcd_network_set_parse_hook(count_parse);
    network *counted = mcd_parse_network_cfg(cfg);
    mcd_network_set_parse_hook(mcd_backend_install);
    network *ours = mcd_parse_network_cfg(cfg);
    CU_ASSERT_FATAL(plain && counted && ours);
    CU_ASSERT_EQUAL(parse_hook_calls, counted->n);
    CU_ASSERT(plain->layers[0].forward == forward_convolutional_layer);
    CU_ASSERT(counted->layers[0].forward == forward_convolutional_layer);
    CU_ASSERT(conv_onednn_installed(&ours->layers[0]));
    free_network(plain);
    free_network(counted);
    free_network(ours);
}

/* A pass the backend cannot complete (scratch memory refused part-way): mcd_predict
 * returns NULL with the message, Darknet's own passes leave it to mcd_backend_check, the
 * rest of the pass touches nothing it should not (no crash; ASan under make SANITIZE=1),
 * and once it is reported the next pass runs and agrees with Darknet's layers again. */
static void test_failed_pass(void)
{
    const char *cfg = TEST_CFG_DIR "/backend-resnet.cfg";
    network *ref = parse_with("darknet", cfg), *ours = parse_with("onednn", cfg);
    CU_ASSERT_FATAL(ref && ours);
    const size_t in_n = (size_t)ref->inputs * ref->batch, out_n = (size_t)ref->outputs * ref->batch;
    float *input = malloc(in_n * sizeof(float));
    srand(13);
    fill_random(input, in_n, 0, 1);
    CU_ASSERT_EQUAL(mcd_backend_check(), 0);

    mcd_set_error("none");
    onednn_set_scratch_limit(1);
    CU_ASSERT_PTR_NULL(mcd_predict(ours, input));
    onednn_set_scratch_limit(0);
    CU_ASSERT_PTR_NOT_NULL(strstr(mcd_last_error(), "out of memory"));
    CU_ASSERT_EQUAL(mcd_backend_check(), 0); /* reported once */
    float *p_ref = network_predict(ref, input), *p_ours = mcd_predict(ours, input);
    CU_ASSERT_PTR_NOT_NULL_FATAL(p_ours);
    CU_ASSERT(tensors_agree("predictions after a failed pass", p_ours, p_ref, out_n));

    /* a training pass as the trainer runs it (forward_network, backward_network) */
    memcpy(ours->input, input, in_n * sizeof(float));
    ours->train = 1;
    mcd_set_error("none");
    onednn_set_scratch_limit(1);
    forward_network(ours);
    backward_network(ours);
    onednn_set_scratch_limit(0);
    CU_ASSERT_EQUAL(mcd_backend_check(), -1);
    CU_ASSERT_PTR_NOT_NULL(strstr(mcd_last_error(), "out of memory"));
    forward_network(ours);
    backward_network(ours);
    CU_ASSERT_EQUAL(mcd_backend_check(), 0);
    free(input);
    free_network(ref);
    free_network(ours);
}

static void test_backend_argument(void)
{
    char a0[] = "darknet", a1[] = "speed", a2[] = "-backend", a3[] = "darknet", a4[] = "x.cfg";
    char *argv[] = {a0, a1, a2, a3, a4, NULL};
    CU_ASSERT_EQUAL(mcd_backend_take_arg(5, argv), 3);
    CU_ASSERT_STRING_EQUAL(argv[2], "x.cfg");
    CU_ASSERT_PTR_NULL(argv[3]);
    CU_ASSERT_STRING_EQUAL(mcd_backend_name(), "darknet");
    char b2[] = "-backend", b3[] = "cuda";
    char *bad[] = {a0, a1, b2, b3, NULL};
    CU_ASSERT_EQUAL(mcd_backend_take_arg(4, bad), -1);
    CU_ASSERT_PTR_NOT_NULL(strstr(mcd_last_error(), "cuda"));
    mcd_backend_select("onednn");
}

int add_backend_suite(void)
{
    CU_pSuite s = test_add_suite("backend");
    if (!s) return -1;
    if (!CU_add_test(s, "conv layers: oneDNN vs Darknet, train and inference", test_conv_layers) ||
        !CU_add_test(s, "shortcut layers: fused vs Darknet", test_shortcut_layers) ||
        !CU_add_test(s, "a ResNet trained 3 steps both ways", test_network_training) ||
        !CU_add_test(s, "inference layer by layer, blocked layouts", test_network_inference) ||
        !CU_add_test(s, "a residual block fused at inference", test_fused_residual) ||
        !CU_add_test(s, "which outputs stay blocked", test_blocked_layout) ||
        !CU_add_test(s, "blocked kernels known by registration", test_blocked_registry) ||
        !CU_add_test(s, "the backend installed by the parse hook alone", test_parse_hook) ||
        !CU_add_test(s, "a pass out of memory: an error, no crash", test_failed_pass) ||
        !CU_add_test(s, "-backend is taken off the command line", test_backend_argument))
        return -1;
    return 0;
}
