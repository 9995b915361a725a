/* mcd_resize_network: Darknet's resize_network (src/network.c) for every layer type of an
 * MCD network, with errors instead of exits.
 *
 * The same steps as Darknet's: each layer in turn on the output of the layer before it
 * (stock types by Darknet's own resize_*), then the network's output, input, truth and
 * workspace. Where it differs:
 *   - it resizes the MCD layers (resize_mcd_*), [batchnorm] and [dropout], and lets a
 *     [connected] or [softmax] layer through when its input count stays the same;
 *   - it goes on past the first [avgpool] (Darknet stops there), so that an [mcd_split] or
 *     a head before the pool is resized too, and every later layer is checked;
 *   - a layer that cannot take its new input is an error naming it, and the network is put
 *     back to its old size (the layers before it are resized back);
 *   - the CPU backend is installed again (reinstall_backend, below). */
#include "network/network_resize.h"
#include "network/mcd_network.h"
#include "network/network_gpu.h"

#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "avgpool_layer.h"
#include "convolutional_layer.h"
#include "cost_layer.h"
#include "crop_layer.h"
#include "dropout_layer.h"
#include "layers/discrepancy_layer.h"
#include "layers/l1_layer.h"
#include "layers/mcd_layer_types.h"
#include "layers/split_layer.h"
#include "maxpool_layer.h"
#include "network.h"
#include "normalization_layer.h"
#include "region_layer.h"
#include "reorg_layer.h"
#include "route_layer.h"
#include "shortcut_layer.h"
#include "upsample_layer.h"
#include "util/mcd_error.h"
#include "yolo_layer.h"

/* Darknet's resize_network asserts that no layer's workspace exceeds this. */
#define MAX_WORKSPACE_BYTES 2000000000u
/* The largest width or height, as the cfg checks allow in [net] (stock_section_check.c). */
#define MAX_SIDE (1 << 16)

/* Layer `index` and its input while the network is walked: the output of the layer before
 * it, at the network's new size to_w x to_h. */
typedef struct resize_step {
    int to_w, to_h;
    int index;
    int w, h, inputs;
} resize_step;

static const char *type_name(LAYER_TYPE t)
{
    switch ((int)t) {
    case MCD_SPLIT: return "mcd_split";
    case MCD_HEAD: return "mcd_head";
    case MCD_DISCREPANCY: return "mcd_discrepancy";
    case MCD_L1: return "mcd_l1";
    case UPSAMPLE: return "upsample"; /* the types get_layer_string has no name for */
    case ISEG: return "iseg";
    case LOGXENT: return "logistic";
    case L2NORM: return "l2norm";
    default: return get_layer_string(t);
    }
}

/* -1, with "resizing the network to WxH: layer I [type] <why>" as the error. */
static int refuse(const resize_step *st, const layer *l, const char *why, ...)
    __attribute__((format(printf, 3, 4)));
static int refuse(const resize_step *st, const layer *l, const char *why, ...)
{
    char text[512];
    va_list ap;
    va_start(ap, why);
    vsnprintf(text, sizeof text, why, ap);
    va_end(ap);
    mcd_set_error("resizing the network to %dx%d: layer %d [%s] %s", st->to_w, st->to_h,
                  st->index, type_name(l->type), text);
    return -1;
}

/* [connected] weights and [softmax] classes fix the input count; so does anything after
 * them that reads a flat vector. */
static int keep_input_count(const layer *l, const resize_step *st)
{
    if (st->inputs == l->inputs) return 0;
    return refuse(st, l, "would get %d inputs instead of the %d it was built for, and cannot "
                  "change that count%s", st->inputs, l->inputs,
                  l->type == CONNECTED || l->type == SOFTMAX
                      ? ": put a global [avgpool] before the heads, so that they get as many "
                        "inputs at any image size"
                      : "");
}

/* Whether Darknet's resize of l would give it an empty or negative output from a w x h
 * input (its formulas round a window larger than the input to a size, not to 0). */
static int input_too_small(const layer *l, int w, int h)
{
    switch (l->type) {
    case CONVOLUTIONAL: return w + 2 * l->pad < l->size || h + 2 * l->pad < l->size;
    case MAXPOOL: return w + l->pad < l->size || h + l->pad < l->size;
    case REORG: return !l->reverse && (w % l->stride || h % l->stride);
    case UPSAMPLE: return l->reverse && (w < l->stride || h < l->stride);
    case CROP: return l->scale * w < 1 || l->scale * h < 1;
    default: return w < 1 || h < 1;
    }
}

/* Darknet's resize_shortcut_layer gives the added layer (l->w, l->h) the new input size,
 * after asserting it had the output's: right for an identity shortcut only. The added
 * layer was resized before this one: its own output size is the right one. */
static void resize_shortcut(layer *l, const network *net, const resize_step *st)
{
    const layer *from = &net->layers[l->index];
    l->w = l->out_w;
    l->h = l->out_h;
    resize_shortcut_layer(l, st->w, st->h);
    l->w = from->out_w;
    l->h = from->out_h;
}

/* Darknet's resize_batchnorm_layer is a stub ("Not implemented"). Its buffers: output and
 * delta from make_batchnorm_layer, x and x_norm from the parse loop (parse_stock). New ones
 * first, so that a failed allocation leaves the layer whole. */
static int resize_batchnorm(layer *l, const resize_step *st)
{
    if (st->w * st->h * l->c != st->inputs) return keep_input_count(l, st);
    size_t n = (size_t)st->inputs * l->batch;
    float **buffers[] = {&l->output, &l->delta, &l->x, &l->x_norm};
    float *fresh[4];
    int ok = 1;
    for (int k = 0; k < 4; ++k) ok &= (fresh[k] = calloc(n, sizeof(float))) != NULL;
    if (!ok) {
        for (int k = 0; k < 4; ++k) free(fresh[k]);
        return refuse(st, l, "cannot have memory for its %zu outputs", n);
    }
    for (int k = 0; k < 4; ++k) {
        free(*buffers[k]);
        *buffers[k] = fresh[k];
    }
#ifdef GPU
    if (l->output_gpu) { /* a network on a GPU: its device buffers, anew */
        float **device[] = {&l->output_gpu, &l->delta_gpu, &l->x_gpu, &l->x_norm_gpu};
        for (int k = 0; k < 4; ++k) {
            cuda_free(*device[k]);
            *device[k] = cuda_make_array(*buffers[k], n);
        }
    }
#endif
    l->w = l->out_w = st->w;
    l->h = l->out_h = st->h;
    l->inputs = l->outputs = st->inputs;
    return 0;
}

/* [dropout] works in place on the layer before it (parse_stock): its output and delta are
 * that layer's, wherever the resize put them; its own buffer is the random mask. */
static void resize_dropout(layer *l, const network *net, const resize_step *st)
{
    const layer *prev = &net->layers[st->index - 1];
    if (st->inputs != l->inputs) {
        l->inputs = l->outputs = st->inputs;
        resize_dropout_layer(l, st->inputs);
    }
    l->out_w = prev->out_w;
    l->out_h = prev->out_h;
    l->out_c = prev->out_c;
    l->output = prev->output;
    l->delta = prev->delta;
#ifdef GPU
    l->output_gpu = prev->output_gpu;
    l->delta_gpu = prev->delta_gpu;
#endif
}

static int resize_mcd_layer(layer *l, const network *net, const resize_step *st)
{
    int failed = 0;
    switch ((int)l->type) {
    case MCD_SPLIT:
        if (st->w * st->h * l->c != st->inputs) return keep_input_count(l, st);
        failed = resize_mcd_split_layer(l, st->w, st->h);
        break;
    case MCD_HEAD: failed = resize_mcd_head_layer(l, &net->layers[l->index]); break;
    case MCD_DISCREPANCY:
        if (resize_mcd_discrepancy_layer(l, net))
            return refuse(st, l, "would get heads of another class count than its %d",
                          l->classes);
        return 0;
    case MCD_L1: return resize_mcd_l1_layer(l, st->inputs) ? keep_input_count(l, st) : 0;
    }
    return failed ? refuse(st, l, "cannot have memory for its new size") : 0;
}

/* Layer l on the input in st: 0, or -1 with the error set (and l as it was). */
static int resize_layer(layer *l, network *net, const resize_step *st)
{
    int w = st->w, h = st->h;
    switch ((int)l->type) {
    case CONVOLUTIONAL: case MAXPOOL: case REORG: case UPSAMPLE: case CROP:
    case AVGPOOL: case NORMALIZATION: case SHORTCUT: case REGION: case YOLO: case BATCHNORM:
        if (input_too_small(l, w, h))
            return refuse(st, l, "cannot take a %dx%d input: its output would be empty",
                          w, h);
    }
    switch ((int)l->type) {
    case CONVOLUTIONAL: resize_convolutional_layer(l, w, h); return 0;
    case MAXPOOL: resize_maxpool_layer(l, w, h); return 0;
    case REORG: resize_reorg_layer(l, w, h); return 0;
    case UPSAMPLE: resize_upsample_layer(l, w, h); return 0;
    case CROP: resize_crop_layer(l, w, h); return 0;
    case AVGPOOL: resize_avgpool_layer(l, w, h); return 0;
    case NORMALIZATION: resize_normalization_layer(l, w, h); return 0;
    case REGION: resize_region_layer(l, w, h); return 0;
    case YOLO: resize_yolo_layer(l, w, h); return 0;
    case ROUTE: resize_route_layer(l, net); return 0;
    case COST: resize_cost_layer(l, st->inputs); return 0;
    case SHORTCUT: resize_shortcut(l, net, st); return 0;
    case BATCHNORM: return resize_batchnorm(l, st);
    case DROPOUT: resize_dropout(l, net, st); return 0;
    case CONNECTED: case SOFTMAX: return keep_input_count(l, st);
    case MCD_SPLIT: case MCD_HEAD: case MCD_DISCREPANCY: case MCD_L1:
        return resize_mcd_layer(l, net, st);
    default: return refuse(st, l, "cannot be resized (Darknet has no resize for this type)");
    }
}

/* Every layer in turn on the output of the one before it; *workspace: the most any needs.
 * 0, or -1 (the error set) at the first layer that cannot take its new input. */
static int resize_layers(network *net, int w, int h, size_t *workspace)
{
    resize_step st = {w, h, 0, w, h, w * h * net->c};
    *workspace = 0;
    for (int i = 0; i < net->n; ++i) {
        layer *l = &net->layers[i];
        st.index = i;
        if (resize_layer(l, net, &st)) return -1;
        if (l->workspace_size > MAX_WORKSPACE_BYTES)
            return refuse(&st, l, "would need %zu bytes of workspace (Darknet allows 2 GB)",
                          l->workspace_size);
        if (l->workspace_size > *workspace) *workspace = l->workspace_size;
        st.w = l->out_w;
        st.h = l->out_h;
        st.inputs = l->outputs;
    }
    return 0;
}

/* Darknet's closing steps: the output layer, and input, truth and workspace buffers of the
 * new size. 0, or -1 when memory cannot be had (then nothing changed). */
static int replace_network_buffers(network *net, size_t workspace)
{
    layer out = get_network_output_layer(net);
    int last_truths = net->layers[net->n - 1].truths;
    int inputs = net->layers[0].inputs, truths = last_truths ? last_truths : out.outputs;
    float *input = calloc((size_t)inputs * net->batch, sizeof(float));
    float *truth = calloc((size_t)truths * net->batch, sizeof(float));
    float *ws = workspace ? calloc(1, workspace) : NULL;
    if (!input || !truth || (workspace && !ws)) {
        free(input), free(truth), free(ws);
        return -1;
    }
    free(net->input), free(net->truth);
#ifdef GPU
    if (mcd_network_on_gpu(net)) { /* the workspace in device memory, as after a parse */
        cuda_free(net->input_gpu), cuda_free(net->truth_gpu), cuda_free(net->workspace);
        net->input_gpu = cuda_make_array(input, (size_t)inputs * net->batch);
        net->truth_gpu = cuda_make_array(truth, (size_t)truths * net->batch);
        net->output_gpu = out.output_gpu;
        free(ws);
        ws = workspace ? cuda_make_array(0, (workspace - 1) / sizeof(float) + 1) : NULL;
    } else
#endif
        free(net->workspace);
    net->input = input, net->truth = truth, net->workspace = ws;
    net->inputs = inputs;
    net->outputs = out.outputs;
    net->truths = truths;
    net->output = out.output;
    return 0;
}

/* The CPU backend (cpu_backend.h) replaces the functions of [convolutional], [shortcut] and
 * [avgpool] layers and keeps state for their shape: a convolution's oneDNN plans are found
 * by its output buffer, which a resize may move or hand to another layer, and the fused
 * [shortcut] runs only shapes whose added layer is a whole multiple of the output. So
 * those layers get Darknet's functions back, as make_*_layer gave them, and
 * the parse hook (mcd_network.h: the program's backend install) gives them the selected
 * backend's where it can run them, as after a parse (a convolution's install also drops
 * the plans found at its buffer). */
static void reinstall_backend(network *net)
{
    for (int i = 0; i < net->n; ++i) {
        layer *l = &net->layers[i];
        if (l->type == CONVOLUTIONAL) {
            l->forward = forward_convolutional_layer;
            l->backward = backward_convolutional_layer;
        } else if (l->type == SHORTCUT) {
            l->forward = forward_shortcut_layer;
            l->backward = backward_shortcut_layer;
        } else if (l->type == AVGPOOL) {
            l->forward = forward_avgpool_layer;
            l->backward = backward_avgpool_layer;
        }
    }
    mcd_network_run_parse_hook(net);
}

int mcd_resize_network(network *net, int w, int h)
{
    if (w < 1 || h < 1 || w > MAX_SIDE || h > MAX_SIDE ||
        (long long)w * h * net->c * net->batch > INT_MAX) {
        mcd_set_error("cannot resize the network to %dx%d: width and height must be 1-%d, "
                      "and a batch of %d input images fit in %d floats", w, h, MAX_SIDE,
                      net->batch, INT_MAX);
        return -1;
    }
    size_t workspace;
    int ok = resize_layers(net, w, h, &workspace) == 0;
    if (ok && replace_network_buffers(net, workspace)) {
        mcd_set_error("resizing the network to %dx%d: no memory for its input and workspace",
                      w, h);
        ok = 0;
    }
    if (ok) {
        net->w = w;
        net->h = h;
    } else {
        /* back to the old size, keeping the error: the layers before the refused one are
         * resized back, the refused one (left as it was, or resized) too */
        char why[1024];
        snprintf(why, sizeof why, "%s", mcd_last_error());
        resize_layers(net, net->w, net->h, &workspace);
        mcd_set_error("%s", why);
    }
    reinstall_backend(net);
    return ok ? 0 : -1;
}
