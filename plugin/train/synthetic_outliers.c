/* Synthetic outliers: which rows of a batch, and the transforms (see the header). */
#include "train/synthetic_outliers.h"

#include <stdlib.h>
#include <string.h>

#include "network/train_config.h"

/* Tries at finding a mix partner of another class before taking any other image (a data
 * set of one class, or one class nearly alone). */
#define MATE_TRIES 64

static int draw_mate(seeded_random *r, const mcd_outlier_spec *spec, int source)
{
    int mate = source;
    for (int t = 0; t < MATE_TRIES; ++t) {
        mate = (int)seeded_random_below(r, (uint64_t)spec->nsource);
        if (!spec->source_class || spec->source_class[mate] < 0 ||
            spec->source_class[mate] != spec->source_class[source])
            return mate;
    }
    return mate;
}

void mcd_outlier_draw_batch(seeded_random *r, const mcd_outlier_spec *spec, int batch,
                            mcd_outlier_draw *out)
{
    memset(out, 0, sizeof *out * (size_t)batch);
    if (!(spec->share > 0) || spec->nsource <= 0 || !(spec->kinds & MCD_OUTLIER_ALL)) return;
    double want = spec->share * batch;
    int n = (int)want;
    if (n < batch && seeded_random_uniform(r) < want - n) ++n;
    int kinds[MCD_OUTLIER_KINDS], nkinds = 0;
    for (int i = 0; i < MCD_OUTLIER_KINDS; ++i)
        if (spec->kinds & (1 << i)) kinds[nkinds++] = 1 << i;
    /* selection sampling (Knuth's algorithm S): n of the rows, each set of n equally likely */
    for (int i = 0, chosen = 0; i < batch && chosen < n; ++i) {
        if (seeded_random_below(r, (uint64_t)(batch - i)) >= (uint64_t)(n - chosen)) continue;
        ++chosen;
        mcd_outlier_draw *d = &out[i];
        d->kind = kinds[seeded_random_below(r, (uint64_t)nkinds)];
        d->source = (int)seeded_random_below(r, (uint64_t)spec->nsource);
        d->mate = d->kind == MCD_OUTLIER_MIX ? draw_mate(r, spec, d->source) : d->source;
        d->seed = seeded_random_next(r);
    }
}

/* A random permutation of 0..n-1 that is not the identity (n >= 2). */
static void non_identity_shuffle(seeded_random *r, int *a, int n)
{
    for (int i = 0; i < n; ++i) a[i] = i;
    seeded_random_shuffle(r, a, n);
    int same = 1;
    for (int i = 0; i < n && same; ++i) same = a[i] == i;
    if (same && n >= 2) { /* the identity would leave the image as it was */
        a[0] = 1;
        a[1] = 0;
    }
}

#define GRID 4

int mcd_outlier_shuffle_patches(image im, seeded_random *r)
{
    int side = im.w < im.h ? im.w : im.h, g = GRID < side ? GRID : side;
    if (g < 2) return 0; /* a 1-pixel line: nothing to shuffle */
    int pw = im.w / g, ph = im.h / g, cells = g * g;
    int order[GRID * GRID];
    non_identity_shuffle(r, order, cells);
    float *src = malloc(sizeof(float) * (size_t)im.w * im.h * im.c);
    if (!src) return -1;
    memcpy(src, im.data, sizeof(float) * (size_t)im.w * im.h * im.c);
    /* cell i of the output holds cell order[i] of the input */
    for (int i = 0; i < cells; ++i) {
        int ox = (i % g) * pw, oy = (i / g) * ph;
        int sx = (order[i] % g) * pw, sy = (order[i] / g) * ph;
        for (int k = 0; k < im.c; ++k)
            for (int y = 0; y < ph; ++y)
                memcpy(im.data + ((size_t)k * im.h + oy + y) * im.w + ox,
                       src + ((size_t)k * im.h + sy + y) * im.w + sx, sizeof(float) * pw);
    }
    free(src);
    return 0;
}

int mcd_outlier_permute_pixels(image im, seeded_random *r)
{
    int n = im.w * im.h;
    if (n < 2) return 0;
    int *order = malloc(sizeof(int) * (size_t)n);
    float *src = malloc(sizeof(float) * (size_t)n);
    int rc = order && src ? 0 : -1;
    if (rc == 0) {
        non_identity_shuffle(r, order, n);
        for (int k = 0; k < im.c; ++k) {
            float *plane = im.data + (size_t)k * n;
            memcpy(src, plane, sizeof(float) * (size_t)n);
            for (int i = 0; i < n; ++i) plane[i] = src[order[i]];
        }
    }
    free(order);
    free(src);
    return rc;
}

/* One box-blur pass along a line of n values spaced `step` apart, edges clamped; tmp holds
 * n values. */
static void box_line(float *v, int n, int step, int radius, float *tmp)
{
    for (int i = 0; i < n; ++i) tmp[i] = v[(size_t)i * step];
    for (int i = 0; i < n; ++i) {
        float sum = 0;
        for (int j = i - radius; j <= i + radius; ++j)
            sum += tmp[j < 0 ? 0 : j >= n ? n - 1 : j];
        v[(size_t)i * step] = sum / (2 * radius + 1);
    }
}

int mcd_outlier_blur(image im)
{
    int side = im.w < im.h ? im.w : im.h, radius = side / 7 > 1 ? side / 7 : 1;
    float *tmp = malloc(sizeof(float) * (size_t)(im.w > im.h ? im.w : im.h));
    if (!tmp) return -1;
    for (int pass = 0; pass < 3; ++pass)
        for (int k = 0; k < im.c; ++k) {
            float *plane = im.data + (size_t)k * im.w * im.h;
            for (int y = 0; y < im.h; ++y) box_line(plane + (size_t)y * im.w, im.w, 1, radius, tmp);
            for (int x = 0; x < im.w; ++x) box_line(plane + x, im.h, im.w, radius, tmp);
        }
    free(tmp);
    return 0;
}

void mcd_outlier_mix(image im, image other, seeded_random *r)
{
    float lambda = 0.4f + 0.2f * (float)seeded_random_uniform(r);
    size_t n = (size_t)im.w * im.h * im.c;
    for (size_t i = 0; i < n; ++i) im.data[i] = lambda * im.data[i] + (1 - lambda) * other.data[i];
}

int mcd_outlier_apply(image im, image other, const mcd_outlier_draw *d)
{
    seeded_random r;
    seeded_random_init(&r, d->seed, 0);
    switch (d->kind) {
    case MCD_OUTLIER_SHUFFLE: return mcd_outlier_shuffle_patches(im, &r);
    case MCD_OUTLIER_PERMUTE: return mcd_outlier_permute_pixels(im, &r);
    case MCD_OUTLIER_BLUR: return mcd_outlier_blur(im);
    case MCD_OUTLIER_MIX: mcd_outlier_mix(im, other, &r); return 0;
    default: return 0;
    }
}
