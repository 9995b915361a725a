/* Darknet's [convolutional] layer on oneDNN: one convolution over the whole mini-batch
 * (Darknet loops over images: im2col + gemm each), in the blocked layouts oneDNN's JIT
 * kernels want, with reorders from and to Darknet's NCHW buffers.
 *
 * Training:  forward  conv(input) -> l.x (or l.output), then batch norm + activation
 *                     (batchnorm_cpu.c) -> l.output
 *            backward activation + batch norm gradients in l.delta, then backward-weights
 *                     (added into l.weight_updates) and backward-data (added into the
 *                     previous layer's delta), as Darknet's += semantics require
 * Inference: batch norm (rolling statistics) folded into the weights and bias, the
 *            activation a post-op: one primitive per layer. Input and output stay in
 *            nChw16c when the neighbours work in it too (blocked_layout.h): no reorders.
 * Plans (primitives + ports) are built on first use for the batch size and input size in
 * use, and rebuilt when either changes (set_batch_network, resize). A layer whose plan
 * oneDNN cannot build goes back to Darknet's code with a note on stderr. Out of memory in a
 * pass is recorded (onednn_runtime.h, onednn_fail) and the layer returns: nothing more of
 * the pass runs here until the failure is taken. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "backend/onednn_runtime.h"
#include "backend/batchnorm_cpu.h"
#include "backend/blocked_layout.h"
#include "backend/conv_onednn.h"
#include "convolutional_layer.h"

typedef struct train_plan {
    int batch, h, w; /* what it was built for; batch 0: not built */
    onednn_primitive fwd, bwd_data, bwd_weights;
    onednn_port src, weights, dst;
    onednn_port diff_dst, weights_bd, diff_src;
    onednn_port src_bw, diff_dst_bw, diff_weights;
    int diff_dst_shared; /* backward-weights takes backward-data's diff_dst as it is */
} train_plan;

typedef struct infer_plan {
    int batch, h, w;
    int in_blocked, out_blocked; /* input / output in nChw16c (blocked_layout.h) */
    int residual; /* 1 + the following shortcut's activation: dst = act(conv + dst) */
    onednn_primitive fwd;
    onednn_port src, weights, bias, dst;
    int activation_after; /* an activation that is not a oneDNN post-op */
    /* the parameters the primitive's weights and bias were last made from (weights,
     * biases and, with batch norm, scales and rolling statistics): folding and the weights'
     * reorder (a Winograd transform, costly) run again only when one of them changed;
     * checking costs a compare, folding every call cost a fifth of batch-1 latency */
    float *params;
    float *folded_weights, *folded_bias; /* the weights port may take these as they are */
} infer_plan;

/* A layer's state, found by its output buffer (the layer struct has no field for it). */
typedef struct conv_state {
    const float *key;
    train_plan train;
    infer_plan infer;
    int infer_failed; /* oneDNN could not build the inference plan: Darknet's code runs */
} conv_state;

static conv_state **states;
static int nstates;

static conv_state *find_state(const float *key)
{
    for (int i = 0; i < nstates; ++i)
        if (states[i]->key == key) return states[i];
    return NULL;
}

static void destroy_train_plan(train_plan *p)
{
    onednn_primitive_destroy(&p->fwd);
    onednn_primitive_destroy(&p->bwd_data);
    onednn_primitive_destroy(&p->bwd_weights);
    onednn_port *ports[] = {&p->src, &p->weights, &p->dst, &p->diff_dst, &p->weights_bd,
                            &p->diff_src, &p->src_bw, &p->diff_dst_bw, &p->diff_weights};
    for (size_t i = 0; i < sizeof ports / sizeof ports[0]; ++i) onednn_port_destroy(ports[i]);
    memset(p, 0, sizeof *p);
}

static void destroy_infer_plan(infer_plan *p)
{
    onednn_primitive_destroy(&p->fwd);
    onednn_port *ports[] = {&p->src, &p->weights, &p->bias, &p->dst};
    for (size_t i = 0; i < sizeof ports / sizeof ports[0]; ++i) onednn_port_destroy(ports[i]);
    free(p->params);
    free(p->folded_weights);
    free(p->folded_bias);
    memset(p, 0, sizeof *p);
}

/* The plain (Darknet) descriptors of a layer's tensors at a batch size. */
typedef struct conv_mds {
    dnnl_memory_desc_t src, weights, bias, dst, any_src, any_weights, any_dst;
    dnnl_dims_t strides, pad_l, pad_r;
} conv_mds;

static void layer_mds(const layer *l, conv_mds *m)
{
    dnnl_dims_t src = {l->batch, l->c, l->h, l->w}, weights = {l->n, l->c, l->size, l->size};
    dnnl_dims_t dst = {l->batch, l->n, l->out_h, l->out_w}, bias = {l->n};
    onednn_plain_md(&m->src, 4, src);
    onednn_plain_md(&m->weights, 4, weights);
    onednn_plain_md(&m->dst, 4, dst);
    onednn_plain_md(&m->bias, 1, bias);
    dnnl_memory_desc_init_by_tag(&m->any_src, 4, src, dnnl_f32, dnnl_format_tag_any);
    dnnl_memory_desc_init_by_tag(&m->any_weights, 4, weights, dnnl_f32, dnnl_format_tag_any);
    dnnl_memory_desc_init_by_tag(&m->any_dst, 4, dst, dnnl_f32, dnnl_format_tag_any);
    m->strides[0] = m->strides[1] = l->stride;
    m->pad_l[0] = m->pad_l[1] = l->pad;
    /* Darknet's output size is (h + 2 pad - size) / stride + 1: the right/bottom padding
     * oneDNN needs for it may be less than pad */
    m->pad_r[0] = (l->out_h - 1) * l->stride + l->size - l->h - l->pad;
    m->pad_r[1] = (l->out_w - 1) * l->stride + l->size - l->w - l->pad;
}

#define TRY(call)                                                                            \
    do {                                                                                     \
        if ((st = (call)) != dnnl_success) goto done;                                        \
    } while (0)

static const dnnl_memory_desc_t *query(const_dnnl_primitive_desc_t pd, dnnl_query_t what)
{
    return dnnl_primitive_desc_query_md(pd, what, 0);
}

/* Winograd (F(4x4, 3x3): 2.25x fewer multiplications) where oneDNN has it for this CPU and
 * shape (3x3, stride 1), from 32 input and output channels; else direct convolution. With
 * 16 channels oneDNN 2.6's Winograd kernel ran 1.3-2.5x slower than its direct one here, in
 * every direction (forward, backward data and weights: per-primitive times, the least of 3
 * alternating runs, on cfg/mcd-resnet-32.cfg's 16-channel 32x32 layers); from 32 channels
 * it is the faster one at inference (docs/performance.md). */
static int try_winograd(const layer *l)
{
    return l->size == 3 && l->stride == 1 && l->c >= 32 && l->n >= 32;
}

static dnnl_status_t build_train_plan_alg(const layer *l, train_plan *p, dnnl_alg_kind_t alg)
{
    dnnl_engine_t eng = onednn_engine();
    conv_mds m;
    layer_mds(l, &m);
    dnnl_status_t st;
    dnnl_convolution_desc_t fd, bdd, bwd;
    dnnl_primitive_desc_t fpd = NULL, bdpd = NULL, bwpd = NULL;
    dnnl_primitive_attr_t attr = NULL;
    TRY(dnnl_convolution_forward_desc_init(&fd, dnnl_forward_training, alg,
                                           &m.any_src, &m.any_weights, NULL, &m.any_dst,
                                           m.strides, m.pad_l, m.pad_r));
    TRY(onednn_attr_create(&attr));
    TRY(dnnl_primitive_desc_create(&fpd, &fd, attr, eng, NULL));
    TRY(dnnl_convolution_backward_data_desc_init(&bdd, alg, &m.any_src,
                                                 &m.any_weights, &m.any_dst, m.strides,
                                                 m.pad_l, m.pad_r));
    TRY(dnnl_primitive_desc_create(&bdpd, &bdd, attr, eng, fpd));
    TRY(dnnl_convolution_backward_weights_desc_init(&bwd, alg, &m.any_src,
                                                    &m.any_weights, NULL, &m.any_dst,
                                                    m.strides, m.pad_l, m.pad_r));
    TRY(dnnl_primitive_desc_create(&bwpd, &bwd, attr, eng, fpd));

    TRY(onednn_primitive_init(&p->fwd, fpd));
    TRY(onednn_primitive_init(&p->bwd_data, bdpd));
    TRY(onednn_primitive_init(&p->bwd_weights, bwpd));
    TRY(onednn_port_init(&p->src, &m.src, query(fpd, dnnl_query_src_md), PORT_IN, SLOT_SRC));
    TRY(onednn_port_init(&p->weights, &m.weights, query(fpd, dnnl_query_weights_md), PORT_IN,
                         SLOT_WEIGHTS));
    TRY(onednn_port_init(&p->dst, &m.dst, query(fpd, dnnl_query_dst_md), PORT_OUT, SLOT_DST));
    TRY(onednn_port_init(&p->diff_dst, &m.dst, query(bdpd, dnnl_query_diff_dst_md), PORT_IN,
                         SLOT_DST));
    TRY(onednn_port_init(&p->weights_bd, &m.weights, query(bdpd, dnnl_query_weights_md),
                         PORT_IN, SLOT_WEIGHTS));
    TRY(onednn_port_init(&p->diff_src, &m.src, query(bdpd, dnnl_query_diff_src_md),
                         PORT_OUT_ADD, SLOT_SRC));
    TRY(onednn_port_init(&p->src_bw, &m.src, query(bwpd, dnnl_query_src_md), PORT_IN,
                         SLOT_SRC));
    p->diff_dst_shared = dnnl_memory_desc_equal(query(bdpd, dnnl_query_diff_dst_md),
                                                query(bwpd, dnnl_query_diff_dst_md));
    TRY(onednn_port_init(&p->diff_dst_bw, &m.dst, query(bwpd, dnnl_query_diff_dst_md),
                         PORT_IN, SLOT_AUX));
    TRY(onednn_port_init(&p->diff_weights, &m.weights,
                         query(bwpd, dnnl_query_diff_weights_md), PORT_OUT_ADD,
                         SLOT_DIFF_WEIGHTS));
    p->batch = l->batch, p->h = l->h, p->w = l->w;
done:
    if (fpd) dnnl_primitive_desc_destroy(fpd);
    if (bdpd) dnnl_primitive_desc_destroy(bdpd);
    if (bwpd) dnnl_primitive_desc_destroy(bwpd);
    if (attr) dnnl_primitive_attr_destroy(attr);
    if (st != dnnl_success) destroy_train_plan(p);
    return st;
}

static dnnl_status_t build_train_plan(const layer *l, train_plan *p)
{
    if (try_winograd(l) && build_train_plan_alg(l, p, dnnl_convolution_winograd) == dnnl_success)
        return dnnl_success;
    return build_train_plan_alg(l, p, dnnl_convolution_direct);
}

/* leaky and relu become a post-op of the convolution; other activations run after it */
static int activation_post_op(ACTIVATION a, float *alpha)
{
    if (a == LEAKY) *alpha = .1f;
    else if (a == RELU) *alpha = 0;
    else return 0;
    return 1;
}

/* The descriptor of a tensor that stays in nChw16c between layers (blocked_layout.h). */
static void blocked_md(dnnl_memory_desc_t *md, const dnnl_memory_desc_t *plain)
{
    dnnl_dims_t dims;
    memcpy(dims, plain->dims, sizeof dims);
    dnnl_memory_desc_init_by_tag(md, 4, dims, dnnl_f32, dnnl_aBcd16b);
}

static dnnl_status_t build_infer_plan_alg(const layer *l, infer_plan *p, dnnl_alg_kind_t alg,
                                          int in_blocked, int out_blocked, int residual)
{
    dnnl_engine_t eng = onednn_engine();
    conv_mds m;
    layer_mds(l, &m);
    /* a blocked input or output is taken as it is: the primitive works in that layout and
     * the port has no reorder */
    if (in_blocked) blocked_md(&m.src, &m.src), m.any_src = m.src;
    if (out_blocked) blocked_md(&m.dst, &m.dst), m.any_dst = m.dst;
    dnnl_status_t st;
    dnnl_convolution_desc_t fd;
    dnnl_primitive_desc_t fpd = NULL;
    dnnl_primitive_attr_t attr = NULL;
    dnnl_post_ops_t ops = NULL;
    float alpha;
    /* residual: the destination holds the shortcut's other input; the sum post-op adds
     * the convolution to it, then the shortcut's activation */
    ACTIVATION act = residual ? (ACTIVATION)(residual - 1) : l->activation;
    p->activation_after = act != LINEAR;
    TRY(onednn_attr_create(&attr));
    int with_act = activation_post_op(act, &alpha);
    if (with_act || residual) {
        TRY(dnnl_post_ops_create(&ops));
        if (residual) TRY(dnnl_post_ops_append_sum(ops, 1.f));
        if (with_act) TRY(dnnl_post_ops_append_eltwise(ops, 1.f, dnnl_eltwise_relu, alpha, 0.f));
        TRY(dnnl_primitive_attr_set_post_ops(attr, ops));
        p->activation_after = 0;
    }
    TRY(dnnl_convolution_forward_desc_init(&fd, dnnl_forward_inference, alg,
                                           &m.any_src, &m.any_weights, &m.bias, &m.any_dst,
                                           m.strides, m.pad_l, m.pad_r));
    TRY(dnnl_primitive_desc_create(&fpd, &fd, attr, eng, NULL));
    TRY(onednn_primitive_init(&p->fwd, fpd));
    TRY(onednn_port_init(&p->src, &m.src, query(fpd, dnnl_query_src_md), PORT_IN, SLOT_SRC));
    TRY(onednn_port_init(&p->weights, &m.weights, query(fpd, dnnl_query_weights_md), PORT_IN,
                         SLOT_OWN));
    /* oneDNN 2.6 has no bias query: the bias is the weights' second descriptor */
    const dnnl_memory_desc_t *bias_md = dnnl_primitive_desc_query_md(fpd, dnnl_query_weights_md, 1);
    TRY(onednn_port_init(&p->bias, &m.bias, bias_md, PORT_IN, SLOT_BIAS));
    TRY(onednn_port_init(&p->dst, &m.dst, query(fpd, dnnl_query_dst_md), PORT_OUT, SLOT_DST));
    p->batch = l->batch, p->h = l->h, p->w = l->w;
    p->in_blocked = in_blocked, p->out_blocked = out_blocked, p->residual = residual;
done:
    if (fpd) dnnl_primitive_desc_destroy(fpd);
    if (ops) dnnl_post_ops_destroy(ops);
    if (attr) dnnl_primitive_attr_destroy(attr);
    if (st != dnnl_success) destroy_infer_plan(p);
    return st;
}

static dnnl_status_t build_infer_plan(const layer *l, infer_plan *p, int in_blocked,
                                      int out_blocked, int residual)
{
    if (try_winograd(l) &&
        build_infer_plan_alg(l, p, dnnl_convolution_winograd, in_blocked, out_blocked,
                             residual) == dnnl_success)
        return dnnl_success;
    return build_infer_plan_alg(l, p, dnnl_convolution_direct, in_blocked, out_blocked,
                                residual);
}

/* Back to Darknet's code for training this layer, for good: oneDNN could not build its
 * training plan. -1 (the failure recorded) without memory for the x_norm Darknet's code
 * needs. */
static int fall_back(layer *l, network *net, dnnl_status_t st)
{
    layer *stored = &net->layers[net->index];
    if (stored->batch_normalize && !stored->x_norm &&
        !(stored->x_norm = calloc((size_t)stored->batch * stored->outputs, sizeof(float)))) {
        onednn_fail("layer %d: out of memory for Darknet's convolution", net->index);
        return -1;
    }
    fprintf(stderr, "darknet: layer %d: oneDNN cannot train this convolution (status %d); "
                    "Darknet's code runs it\n", net->index, (int)st);
    stored->forward = forward_convolutional_layer;
    stored->backward = backward_convolutional_layer;
    l->x_norm = stored->x_norm;
    return 0;
}

static int plan_fits(int batch, int h, int w, const layer *l)
{
    return batch == l->batch && h == l->h && w == l->w;
}

/* NULL (the failure recorded) when there is no memory for a new one. */
static conv_state *state_for(const layer *l)
{
    conv_state *s = find_state(l->output);
    if (s) return s;
    /* the layer was resized (a new buffer): start over */
    conv_state **grown = realloc(states, (nstates + 1) * sizeof *states);
    if (grown) states = grown;
    if (!grown || !(s = calloc(1, sizeof *s))) {
        onednn_fail("out of memory for a convolution's oneDNN state");
        return NULL;
    }
    s->key = l->output;
    states[nstates++] = s;
    return s;
}

/* Weights and bias of the inference primitive: batch norm with the rolling statistics
 * folded in, scale / (sqrt(var) + 1e-6) as Darknet normalizes. */
static void fold_batchnorm(const layer *l, float *weights, float *bias)
{
    const int per_filter = l->nweights / l->n;
    for (int f = 0; f < l->n; ++f) {
        float k = 1, shift = 0;
        if (l->batch_normalize) {
            k = l->scales[f] / (sqrtf(l->rolling_variance[f]) + .000001f);
            shift = -l->rolling_mean[f] * k;
        }
        bias[f] = l->biases[f] + shift;
        const float *w = l->weights + (size_t)f * per_filter;
        float *out = weights + (size_t)f * per_filter;
        for (int i = 0; i < per_filter; ++i) out[i] = w[i] * k;
    }
}

/* The layer's parameter arrays, in the order infer_plan.params keeps them. */
static int param_arrays(const layer *l, const float *arrays[5], size_t sizes[5])
{
    const float *a[5] = {l->weights, l->biases, l->scales, l->rolling_mean, l->rolling_variance};
    int count = l->batch_normalize ? 5 : 2;
    for (int i = 0; i < count; ++i) arrays[i] = a[i], sizes[i] = i ? (size_t)l->n : (size_t)l->nweights;
    return count;
}

/* Whether the parameters differ from those saved in p->params; saves them if so. -1 (the
 * failure recorded) without memory to save them. */
static int params_changed(const layer *l, infer_plan *p)
{
    const float *arrays[5];
    size_t sizes[5], total = 0;
    int count = param_arrays(l, arrays, sizes);
    for (int i = 0; i < count; ++i) total += sizes[i];
    int changed = !p->params;
    if (!p->params && !(p->params = malloc(total * sizeof(float)))) {
        onednn_fail("out of memory for a convolution's folded parameters");
        return -1;
    }
    float *saved = p->params;
    for (int i = 0; i < count; saved += sizes[i], ++i)
        if (changed || memcmp(saved, arrays[i], sizes[i] * sizeof(float)) != 0) {
            memcpy(saved, arrays[i], sizes[i] * sizeof(float));
            changed = 1;
        }
    return changed;
}

static void forward_inference(layer *l, infer_plan *p, network *net, float *dst)
{
    int changed = params_changed(l, p);
    if (changed < 0) return;
    if (changed) {
        if (!p->folded_weights) p->folded_weights = malloc((size_t)l->nweights * sizeof(float));
        if (!p->folded_bias) p->folded_bias = malloc((size_t)l->n * sizeof(float));
        if (!p->folded_weights || !p->folded_bias) {
            free(p->params); /* folded next time, whatever the parameters */
            p->params = NULL;
            onednn_fail("out of memory for a convolution's folded parameters");
            return;
        }
        fold_batchnorm(l, p->folded_weights, p->folded_bias);
        onednn_port_in(&p->weights, p->folded_weights);
        if (onednn_failed()) { /* the primitive's weights are not these: fold again next time */
            free(p->params);
            p->params = NULL;
            return;
        }
    }
    dnnl_exec_arg_t args[] = {
        {DNNL_ARG_SRC, onednn_port_in(&p->src, net->input)},
        {DNNL_ARG_WEIGHTS, p->weights.inner},
        {DNNL_ARG_BIAS, onednn_port_in(&p->bias, p->folded_bias)},
        {DNNL_ARG_DST, onednn_port_out(&p->dst, dst)},
    };
    onednn_primitive_run(&p->fwd, 4, args);
    onednn_port_flush(&p->dst);
    /* elementwise: the same whatever the layout */
    if (p->activation_after) activate_array(dst, l->outputs * l->batch, l->activation);
}

/* Inference with Darknet's code (oneDNN built no plan), in and out of nChw16c as the
 * neighbours expect. */
static void forward_inference_darknet(layer *l, network *net, int in_blocked, int out_blocked)
{
    network plain = *net;
    if (in_blocked) {
        float *in = onednn_scratch(SLOT_SRC, (size_t)l->inputs * l->batch * sizeof(float));
        if (!in) return; /* recorded */
        blocked_to_plain(net->input, in, l->batch, l->c, l->h, l->w);
        plain.input = in;
    }
    forward_convolutional_layer(*l, plain);
    if (out_blocked) {
        size_t n = (size_t)l->outputs * l->batch;
        float *out = onednn_scratch(SLOT_DST, n * sizeof(float));
        if (!out) return; /* recorded */
        memcpy(out, l->output, n * sizeof(float));
        blocked_from_plain(out, l->output, l->batch, l->n, l->out_h, l->out_w);
    }
}

static void forward_training(layer *l, train_plan *p, network *net)
{
    float *conv_out = l->batch_normalize ? l->x : l->output;
    dnnl_exec_arg_t args[] = {
        {DNNL_ARG_SRC, onednn_port_in(&p->src, net->input)},
        {DNNL_ARG_WEIGHTS, onednn_port_in(&p->weights, l->weights)},
        {DNNL_ARG_DST, onednn_port_out(&p->dst, conv_out)},
    };
    onednn_primitive_run(&p->fwd, 3, args);
    onednn_port_flush(&p->dst);
    if (onednn_failed()) return; /* no output: the rolling statistics stay as they were */
    if (l->batch_normalize) batchnorm_cpu_forward(l);
    else bias_activation_cpu_forward(l);
}

/* The inference plan for these layouts, built if need be; 0 when oneDNN cannot run it
 * (said once on stderr; Darknet's code runs the layer from then on). */
static int infer_plan_ready(conv_state *s, const layer *l, const network *net, int in_blocked,
                            int out_blocked, int residual)
{
    infer_plan *p = &s->infer;
    if (s->infer_failed) return 0;
    if (plan_fits(p->batch, p->h, p->w, l) && p->in_blocked == in_blocked &&
        p->out_blocked == out_blocked && p->residual == residual)
        return 1;
    destroy_infer_plan(p);
    dnnl_status_t st = build_infer_plan(l, p, in_blocked, out_blocked, residual);
    if (st == dnnl_success) return 1;
    if (residual) return 0; /* the caller runs the convolution and the sum apart */
    fprintf(stderr, "darknet: layer %d: oneDNN cannot run this convolution (status %d); "
                    "Darknet's code runs it\n", net->index, (int)st);
    s->infer_failed = 1;
    return 0;
}

static void forward_convolutional_layer_onednn(layer l, network net)
{
    conv_state *s = onednn_failed() ? NULL : state_for(&l);
    if (!s) return; /* a failure is recorded: nothing more this pass */
    dnnl_status_t st = dnnl_success;
    if (net.train) {
        if (!plan_fits(s->train.batch, s->train.h, s->train.w, &l)) {
            destroy_train_plan(&s->train);
            st = build_train_plan(&l, &s->train);
        }
        if (st == dnnl_success) {
            forward_training(&l, &s->train, &net);
            return;
        }
        if (fall_back(&l, &net, st) == 0) forward_convolutional_layer(l, net);
        return;
    }
    int in_blocked = blocked_input(&net), out_blocked = blocked_output(&net, net.index);
    if (infer_plan_ready(s, &l, &net, in_blocked, out_blocked, 0))
        forward_inference(&l, &s->infer, &net, l.output);
    else forward_inference_darknet(&l, &net, in_blocked, out_blocked);
}

int conv_onednn_forward_residual(layer *l, network *net, float *sum, ACTIVATION act)
{
    conv_state *s = onednn_failed() ? NULL : state_for(l);
    if (!s || net->train || l->activation != LINEAR ||
        !(act == LINEAR || act == RELU || act == LEAKY) ||
        !infer_plan_ready(s, l, net, blocked_input(net), 1, 1 + (int)act))
        return 0;
    forward_inference(l, &s->infer, net, sum);
    return 1;
}

static void backward_convolutional_layer_onednn(layer l, network net)
{
    conv_state *s = onednn_failed() ? NULL : state_for(&l);
    if (!s) return; /* a failure is recorded: nothing more this pass */
    train_plan *p = &s->train;
    if (!plan_fits(p->batch, p->h, p->w, &l)) {
        /* backward without a training forward at this size (Darknet allows it) */
        destroy_train_plan(p);
        dnnl_status_t st = build_train_plan(&l, p);
        if (st != dnnl_success) {
            if (fall_back(&l, &net, st) == 0) backward_convolutional_layer(l, net);
            return;
        }
    }
    if (l.batch_normalize) batchnorm_cpu_backward(&l, net.train);
    else bias_activation_cpu_backward(&l);

    dnnl_memory_t diff_dst = onednn_port_in(&p->diff_dst, l.delta);
    dnnl_memory_t diff_dst_bw = diff_dst;
    if (!p->diff_dst_shared) diff_dst_bw = onednn_port_in(&p->diff_dst_bw, l.delta);
    dnnl_exec_arg_t bw[] = {
        {DNNL_ARG_SRC, onednn_port_in(&p->src_bw, net.input)},
        {DNNL_ARG_DIFF_DST, diff_dst_bw},
        {DNNL_ARG_DIFF_WEIGHTS, onednn_port_out(&p->diff_weights, l.weight_updates)},
    };
    onednn_primitive_run(&p->bwd_weights, 3, bw);
    onednn_port_flush(&p->diff_weights);
    if (!net.delta) return;
    dnnl_exec_arg_t bd[] = {
        {DNNL_ARG_DIFF_DST, diff_dst},
        {DNNL_ARG_WEIGHTS, onednn_port_in(&p->weights_bd, l.weights)},
        {DNNL_ARG_DIFF_SRC, onednn_port_out(&p->diff_src, net.delta)},
    };
    onednn_primitive_run(&p->bwd_data, 3, bd);
    onednn_port_flush(&p->diff_src);
}

int conv_onednn_installed(const layer *l)
{
    return l->forward == forward_convolutional_layer_onednn;
}

int conv_onednn_install(network *net, int i)
{
    layer *l = &net->layers[i];
    if (l->groups != 1 || l->binary || l->xnor) return 0;
    /* a fresh layer may reuse a freed layer's output address: forget that layer's plans */
    conv_state *old = find_state(l->output);
    if (old) {
        destroy_train_plan(&old->train);
        destroy_infer_plan(&old->infer);
    }
    l->forward = forward_convolutional_layer_onednn;
    l->backward = backward_convolutional_layer_onednn;
    blocked_layout_register(forward_convolutional_layer_onednn, 1, 1);
    /* batch norm's backward here needs only l->x: x_norm would be a copy of every output */
    free(l->x_norm);
    l->x_norm = NULL;
    return 1;
}
