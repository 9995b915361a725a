/* Darknet's [shortcut] (src/shortcut_layer.c) fused: Darknet copies the input, adds the
 * other layer's output (shortcut_cpu), then activates, three passes over the batch, and the
 * backward pass takes three more. Here each (image, channel) plane is done in one pass,
 * threaded over planes. Same arithmetic: out = act(alpha * in + beta * add) on the channels
 * both have (add subsampled by its stride), out = act(in) on the others; backward
 * delta *= act'(out), prev.delta += alpha * delta, from.delta += beta * delta. */
#include "activation_cpu.h"
#include "shortcut_fused.h"

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

/* One (image b, channel k) plane of the forward pass. */
VECTOR_CLONES static void forward_plane(const layer *l, const network *net, shortcut_geometry g,
                                        int b, int k)
{
    const size_t at = ((size_t)b * l->out_c + k) * g.plane;
    const float *in = net->input + at;
    float *out = l->output + at;
    const float *add = net->layers[l->index].output + ((size_t)b * l->c + k) * l->w * l->h;
    if (k >= g.minc) {
        for (int i = 0; i < g.plane; ++i) out[i] = in[i];
    } else if (g.stride == 1) {
#pragma omp simd
        for (int i = 0; i < g.plane; ++i) out[i] = l->alpha * in[i] + l->beta * add[i];
    } else {
        for (int y = 0; y < l->out_h; ++y)
            for (int x = 0; x < l->out_w; ++x) {
                int o = y * l->out_w + x;
                out[o] = l->alpha * in[o] + l->beta * add[(y * g.stride) * l->w + x * g.stride];
            }
    }
    activate_plane(out, g.plane, l->activation);
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

typedef void plane_fn(const layer *, const network *, shortcut_geometry, int, int);

static void for_each_plane(const layer *l, const network *net, plane_fn *fn)
{
    const shortcut_geometry g = geometry(l);
#pragma omp parallel for schedule(static)
    for (int bk = 0; bk < l->batch * l->out_c; ++bk) fn(l, net, g, bk / l->out_c, bk % l->out_c);
}

static void forward_shortcut_layer_fused(layer l, network net)
{
    for_each_plane(&l, &net, forward_plane);
}

static void backward_shortcut_layer_fused(layer l, network net)
{
    for_each_plane(&l, &net, backward_plane);
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
    return 1;
}
