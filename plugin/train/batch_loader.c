#include "train/batch_loader.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "io/data_lists.h"
#include "image.h"
#include "io/image_io.h"
#include "network/train_config.h"
#include "util/mcd_error.h"
#include "util/seeded_random.h"

static float uniform(seeded_random *r, float lo, float hi)
{
    return lo + (hi - lo) * (float)seeded_random_uniform(r);
}

/* A scale in [1/s, s]: up or down with equal chance, as Darknet's rand_scale. */
static float random_scale(seeded_random *r, float s)
{
    float x = uniform(r, 1, s < 1 ? 1 / s : s);
    return seeded_random_next(r) & 1 ? x : 1 / x;
}

/* Keeps the outliers' generator apart from the rows' (same stream and batch number). */
#define OUTLIER_SEED_SALT 0x6f75746c69657273ULL /* "outliers" */

/* Every random number of one batch, in a fixed order. */
static void draw_batch(batch_loader *l)
{
    const batch_loader_config *c = &l->c;
    seeded_random r;
    seeded_random_init(&r, c->seed, (c->stream << 40) ^ l->number);
    int lo = c->min < c->max ? c->min : c->max, hi = c->min < c->max ? c->max : c->min;
    for (int i = 0; i < c->batch; ++i) {
        image_draw *d = &l->draws[i];
        d->index = (int)seeded_random_below(&r, (uint64_t)c->npaths);
        d->aspect = random_scale(&r, c->aspect);
        d->side = lo + (int)seeded_random_below(&r, (uint64_t)(hi - lo + 1));
        d->rotate = uniform(&r, -1, 1);
        d->dx = uniform(&r, -1, 1);
        d->dy = uniform(&r, -1, 1);
        d->flip = (int)(seeded_random_next(&r) & 1);
        d->hue = uniform(&r, -c->hue, c->hue);
        d->saturation = random_scale(&r, c->saturation);
        d->exposure = random_scale(&r, c->exposure);
    }
    /* after every usual number, from a generator of their own: a share of 0 draws nothing */
    seeded_random o;
    seeded_random_init(&o, c->seed ^ OUTLIER_SEED_SALT, (c->stream << 40) ^ l->number);
    mcd_outlier_spec spec = {c->outliers, c->outlier_kinds, c->nsource, l->source_class};
    mcd_outlier_draw_batch(&o, &spec, c->batch, l->outliers);
}

/* Darknet's random crop (random_augment_args + rotate_crop_image) with drawn numbers: scale
 * the short side to d->side, rotate, shift within the margin the scaling leaves. */
static image augment(image im, const image_draw *d, const batch_loader_config *c)
{
    float shortest = im.h < im.w * d->aspect ? im.h : (int)(im.w * d->aspect);
    if (shortest < 1) shortest = 1; /* a 1-pixel-wide image: Darknet would divide by 0 */
    float scale = d->side / shortest;
    float rad = d->rotate * c->angle * (float)M_PI / 180;
    float dx = d->dx * (im.w * scale / d->aspect - c->w) / 2;
    float dy = d->dy * (im.h * scale - c->h) / 2;
    image crop = rotate_crop_image(im, rad, scale, c->w, c->h, dx, dy, d->aspect);
    if (d->flip) flip_image(crop);
    distort_image(crop, d->hue, d->saturation, d->exposure);
    return crop;
}

/* paths[index] read, cropped, flipped and distorted by draw, as the network's channels;
 * 0, or -1 with the error in the loader's buffer. */
static int read_row(batch_loader *l, const char *path, const char *list,
                    const image_draw *draw, image *out)
{
    const batch_loader_config *c = &l->c;
    image im;
    if (mcd_read_image(path, 0, 0, 3, &im)) {
        /* the error buffer is this thread's own: copy it for the trainer */
        snprintf(l->error, sizeof l->error, "%s (listed in '%s')", mcd_last_error(), list);
        return -1;
    }
    image crop = augment(im, draw, c);
    free_image(im);
    if (c->c == 1) { /* distortion works on colour: grey after it */
        image grey = mcd_network_image(crop, 0, 0, 1);
        free_image(crop);
        crop = grey;
    }
    *out = crop;
    return 0;
}

/* Row i as an outlier: its source image (and mate), the same crop numbers, transformed. */
static int read_outlier(batch_loader *l, int i, image *out)
{
    const batch_loader_config *c = &l->c;
    const mcd_outlier_draw *o = &l->outliers[i];
    const char *list = c->source_list_name ? c->source_list_name : "the outliers' sources";
    image mate = {0};
    if (read_row(l, c->source_paths[o->source], list, &l->draws[i], out)) return -1;
    int rc = o->kind == MCD_OUTLIER_MIX ? read_row(l, c->source_paths[o->mate], list,
                                                   &l->draws[i], &mate) : 0;
    if (rc == 0 && mcd_outlier_apply(*out, mate, o)) {
        snprintf(l->error, sizeof l->error, "out of memory making a synthetic outlier from "
                 "'%s'", c->source_paths[o->source]);
        rc = -1;
    }
    if (mate.data) free_image(mate);
    if (rc) free_image(*out);
    return rc;
}

static void *load_batch(void *arg)
{
    batch_loader *l = arg;
    const batch_loader_config *c = &l->c;
    data *d = &l->result;
    memset(d, 0, sizeof *d);
    d->w = c->w;
    d->h = c->h;
    d->X.rows = c->batch;
    const int channels = c->c == 1 ? 1 : 3;
    d->X.cols = c->w * c->h * channels;
    d->X.vals = calloc(c->batch, sizeof(float *));
    d->y = make_matrix(c->batch, c->classes);
    for (int i = 0; i < c->batch; ++i) {
        const char *path = c->paths[l->draws[i].index];
        image row;
        int rc = l->outliers[i].kind ? read_outlier(l, i, &row)
                                     : read_row(l, path, c->list_name, &l->draws[i], &row);
        if (rc) {
            for (int j = i; j < c->batch; ++j) d->X.vals[j] = calloc(d->X.cols, sizeof(float));
            return NULL;
        }
        d->X.vals[i] = row.data;
        if (c->labels && !l->outliers[i].kind) {
            int k = mcd_label_of(path, c->labels, c->classes);
            if (k >= 0) d->y.vals[i][k] = 1;
        }
    }
    return NULL;
}

static void launch(batch_loader *l)
{
    l->error[0] = 0;
    draw_batch(l);
    if (pthread_create(&l->thread, NULL, load_batch, l) != 0) {
        /* no thread to be had: load in this one, same draws, same batch */
        load_batch(l);
        l->running = 0;
        return;
    }
    l->running = 1;
}

static void wait_batch(batch_loader *l)
{
    if (l->running) pthread_join(l->thread, NULL);
    l->running = 0;
}

void batch_loader_start(batch_loader *l, const batch_loader_config *c)
{
    memset(l, 0, sizeof *l);
    l->c = *c;
    l->number = c->first;
    l->draws = calloc(c->batch, sizeof *l->draws);
    l->outliers = calloc(c->batch, sizeof *l->outliers);
    if (c->outliers > 0 && c->nsource > 0) {
        l->source_class = malloc(sizeof(int) * (size_t)c->nsource);
        for (int i = 0; l->source_class && i < c->nsource; ++i)
            l->source_class[i] = c->source_labels ? mcd_label_of(c->source_paths[i],
                                                                 c->source_labels, c->classes)
                                                  : -1;
    }
    launch(l);
}

int batch_loader_next(batch_loader *l, data *out)
{
    wait_batch(l);
    *out = l->result;
    if (l->error[0]) {
        mcd_set_error("%s", l->error);
        free_data(*out);
        memset(out, 0, sizeof *out);
        memset(&l->result, 0, sizeof l->result);
        return -1;
    }
    l->number++;
    launch(l);
    return 0;
}

void batch_loader_stop(batch_loader *l)
{
    wait_batch(l);
    if (l->result.X.vals) free_data(l->result);
    memset(&l->result, 0, sizeof l->result);
    free(l->draws);
    free(l->outliers);
    free(l->source_class);
    l->draws = NULL;
    l->outliers = NULL;
    l->source_class = NULL;
}
