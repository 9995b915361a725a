/* Darknet's [shortcut] (src/shortcut_layer.c) fused: Darknet copies the input, adds the
 * other layer's output (shortcut_cpu), then activates, three passes over the batch, and the
 * backward pass takes three more. Here each (image, channel) plane is done in one pass,
 * threaded over planes. Same arithmetic: out = act(alpha * in + beta * add) on the channels
 * both have (add subsampled by its stride), out = act(in) on the others; backward
 * delta *= act'(out), prev.delta += alpha * delta, from.delta += beta * delta.
 * At inference the tensors may be in oneDNN's nChw16c instead (blocked_layout.h). */
#include "backend/activation_cpu.h"
#include "backend/onednn_runtime.h"
#include "backend/blocked_layout.h"
#include "backend/shortcut_fused.h"

/* The planes of the added layer that meet the output: every stride-th pixel of its first
 * minc channels. */
typedef struct shortcut_geometry {
    int stride, plane, minc;
} shortcut_geometry;

static shortcut_geometry geometry(const layer *l)
{
    return (shortcut_geometry){l->w / l->out_w, l->out_w * l->out_h,
                               l->c < l->out_c ? l->c : l->out_c};
}

/* Where a forward pass reads and writes: Darknet's buffers, or plain copies of blocked ones. */
typedef struct shortcut_io {
    const float *in, *add;
    float *out;
} shortcut_io;

/* Leaky, relu and linear are v > 0 ? v : low v, applied in the same pass as the sum (low
 * 1 for linear, and for the others, which activate_plane applies after). */
static float fused_low(ACTIVATION a)
{
    return a == RELU ? 0.f : a == LEAKY ? .1f : 1.f;
}

static int activation_fused(ACTIVATION a)
{
    return a == LINEAR || a == RELU || a == LEAKY;
}

/* n contiguous outputs: out = act(alpha in + beta add) on channels both have, out = act(in)
 * where the added layer has none (add NULL). Inlined into each caller's vector clone. */
static inline void sum_run(const layer *l, float *out, const float *in, const float *add,
                           size_t n, float low)
{
    if (!add) {
#pragma omp simd
        for (size_t i = 0; i < n; ++i) {
            float v = in[i], scaled = low * v;
            out[i] = v > 0 ? v : scaled;
        }
        return;
    }
#pragma omp simd
    for (size_t i = 0; i < n; ++i) {
        float v = l->alpha * in[i] + l->beta * add[i], scaled = low * v;
        out[i] = v > 0 ? v : scaled;
    }
}

/* One (image b, channel k) plane of the forward pass, NCHW. */
VECTOR_CLONES static void forward_plane(const layer *l, shortcut_io io, shortcut_geometry g,
                                        int b, int k)
{
    const size_t at = ((size_t)b * l->out_c + k) * g.plane;
    const float *in = io.in + at;
    float *out = io.out + at;
    const float *add = io.add + ((size_t)b * l->c + k) * l->w * l->h;
    const float low = fused_low(l->activation);
    if (k >= g.minc || g.stride == 1) {
        sum_run(l, out, in, k >= g.minc ? NULL : add, (size_t)g.plane, low);
    } else {
        for (int y = 0; y < l->out_h; ++y)
            for (int x = 0; x < l->out_w; ++x) {
                int o = y * l->out_w + x;
                float v = l->alpha * in[o] + l->beta * add[(y * g.stride) * l->w + x * g.stride];
                out[o] = v > 0 ? v : low * v;
            }
    }
    if (!activation_fused(l->activation)) activate_plane(out, g.plane, l->activation);
}

/* One (image b, channel block kb) of the forward pass, nChw16c: MCD_BLOCK channels of a pixel
 * are adjacent, so the same loops run over MCD_BLOCK-wide pixels. */
VECTOR_CLONES static void forward_block(const layer *l, shortcut_io io, shortcut_geometry g,
                                        int b, int kb)
{
    const size_t n = (size_t)g.plane * MCD_BLOCK;
    const size_t at = ((size_t)b * l->out_c / MCD_BLOCK + kb) * n;
    const float *in = io.in + at;
    float *out = io.out + at;
    const float *add = io.add + ((size_t)b * l->c / MCD_BLOCK + kb) * l->w * l->h * MCD_BLOCK;
    const float low = fused_low(l->activation);
    const int no_add = kb * MCD_BLOCK >= g.minc;
    if (no_add || g.stride == 1) {
        sum_run(l, out, in, no_add ? NULL : add, n, low);
    } else {
        for (int y = 0; y < l->out_h; ++y)
            for (int x = 0; x < l->out_w; ++x) {
                size_t o = ((size_t)y * l->out_w + x) * MCD_BLOCK;
                sum_run(l, out + o, in + o,
                        add + ((size_t)y * g.stride * l->w + x * g.stride) * MCD_BLOCK, MCD_BLOCK, low);
            }
    }
    if (!activation_fused(l->activation)) activate_plane(out, (int)n, l->activation);
}

/* One plane of the backward pass. */
VECTOR_CLONES static void backward_plane(const layer *l, const network *net, shortcut_geometry g,
                                         int b, int k)
{
    const size_t at = ((size_t)b * l->out_c + k) * g.plane;
    float *d = l->delta + at;
    gradient_plane(l->output + at, g.plane, l->activation, d);
    if (net->delta) {
        float *prev = net->delta + at;
#pragma omp simd
        for (int i = 0; i < g.plane; ++i) prev[i] += l->alpha * d[i];
    }
    if (k >= g.minc) return;
    float *fd = net->layers[l->index].delta + ((size_t)b * l->c + k) * l->w * l->h;
    if (g.stride == 1) {
#pragma omp simd
        for (int i = 0; i < g.plane; ++i) fd[i] += l->beta * d[i];
    } else {
        for (int y = 0; y < l->out_h; ++y)
            for (int x = 0; x < l->out_w; ++x)
                fd[(y * g.stride) * l->w + x * g.stride] += l->beta * d[y * l->out_w + x];
    }
}

typedef void backward_fn(const layer *, const network *, shortcut_geometry, int, int);

static void backward_planes(const layer *l, const network *net, backward_fn *fn)
{
    const shortcut_geometry g = geometry(l);
#pragma omp parallel for schedule(static)
    for (int bk = 0; bk < l->batch * l->out_c; ++bk) fn(l, net, g, bk / l->out_c, bk % l->out_c);
}

typedef void forward_fn(const layer *, shortcut_io, shortcut_geometry, int, int);

/* fn over every (image, channel) plane, or every (image, channel block) */
static void forward_parts(const layer *l, shortcut_io io, forward_fn *fn, int per_part)
{
    const shortcut_geometry g = geometry(l);
    const int parts = l->out_c / per_part;
#pragma omp parallel for schedule(static)
    for (int bk = 0; bk < l->batch * parts; ++bk) fn(l, io, g, bk / parts, bk % parts);
}

/* At inference the input, the added layer's output and this output may each be in
 * nChw16c (blocked_layout.h). All three blocked: the blocked loops. All plain: the plane
 * loops. A mix (where the network goes back to Darknet's layers): plain copies. Nothing
 * once a failure is recorded (onednn_runtime.h), such as no memory for those copies. */
static void forward_shortcut_layer_fused(layer l, network net)
{
    if (onednn_failed()) return;
    const layer *from = &net.layers[l.index];
    const int in_blocked = blocked_input(&net), add_blocked = blocked_output(&net, l.index);
    const int out_blocked = blocked_output(&net, net.index);
    shortcut_io io = {net.input, from->output, l.output};
    if (in_blocked && add_blocked && out_blocked) {
        forward_parts(&l, io, forward_block, MCD_BLOCK);
        return;
    }
    const size_t n = (size_t)l.outputs * l.batch;
    float *in = in_blocked ? onednn_scratch(SLOT_SRC, n * sizeof(float)) : NULL;
    float *add = add_blocked
                     ? onednn_scratch(SLOT_AUX, (size_t)from->outputs * l.batch * sizeof(float))
                     : NULL;
    if (out_blocked) io.out = onednn_scratch(SLOT_DST, n * sizeof(float));
    if (onednn_failed()) return; /* no memory for a copy */
    if (in_blocked) {
        blocked_to_plain(net.input, in, l.batch, l.out_c, l.out_h, l.out_w);
        io.in = in;
    }
    if (add_blocked) {
        blocked_to_plain(from->output, add, l.batch, l.c, l.h, l.w);
        io.add = add;
    }
    forward_parts(&l, io, forward_plane, 1);
    if (out_blocked) blocked_from_plain(io.out, l.output, l.batch, l.out_c, l.out_h, l.out_w);
}

static void backward_shortcut_layer_fused(layer l, network net)
{
    if (onednn_failed()) return;
    backward_planes(&l, &net, backward_plane);
}

int shortcut_fused_installed(const layer *l)
{
    return l->forward == forward_shortcut_layer_fused;
}

int shortcut_fused_install(network *net, int i)
{
    layer *l = &net->layers[i];
    /* Darknet's sample > 1 case (a smaller layer added into a larger one) stays stock */
    if (l->w < l->out_w || l->h < l->out_h || l->w % l->out_w || l->h % l->out_h ||
        l->w / l->out_w != l->h / l->out_h)
        return 0;
    l->forward = forward_shortcut_layer_fused;
    l->backward = backward_shortcut_layer_fused;
    /* reads an input or added layer in either layout (plain copies of a mix) */
    blocked_layout_register(forward_shortcut_layer_fused, 1, 1);
    return 1;
}
