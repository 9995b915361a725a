/* Synthetic outliers for MCD's step B (finetune_outliers, finetune_outlier_kinds): a share
 * of each unlabeled batch is replaced by images made from labeled ID images that are no
 * longer ID, so that the heads learn to disagree beyond the OOD kind of the pool.
 *
 * The kinds (bits in network/train_config.h), each made from one training image as the
 * loader read and augmented it, at the network's size:
 *   shuffle  its patches on a 4x4 grid (each patch a quarter of the side, rounded down; the
 *            pixels past the grid stay), in a random order other than their own
 *   permute  its pixels in a random order (the same for every channel)
 *   blur     three passes of a box blur of radius max(1, min(w, h) / 7), edges clamped:
 *            about a Gaussian of sigma 4.5 pixels on 28x28
 *   mix      lambda * it + (1 - lambda) * an image of another class (when the data has
 *            one), pixel by pixel, lambda uniform in [0.4, 0.6]
 * None is a noise generator: the Gaussian and uniform noise of the test sets
 * (dataprep/prepare_data.c) stay kinds the network never sees.
 *
 * Every random number comes from a seeded_random the caller seeds (batch_loader.c: the run's
 * seed, the loader's stream and the batch number), so a batch is the same in every run with
 * the same seed, and in a resumed run. */
#ifndef MCD_SYNTHETIC_OUTLIERS_H
#define MCD_SYNTHETIC_OUTLIERS_H

#include <stdint.h>

#include "darknet.h"
#include "util/seeded_random.h"

/* What to make: share of each batch, kinds (MCD_OUTLIER_* bits), and the images to make
 * outliers from, with their classes (-1 where unknown). */
typedef struct mcd_outlier_spec {
    double share;
    int kinds;
    int nsource;
    const int *source_class;
} mcd_outlier_spec;

/* One row's outlier, drawn before loading. */
typedef struct mcd_outlier_draw {
    int kind;       /* one MCD_OUTLIER_* bit; 0: the row stays a pool image */
    int source;     /* the image it is made from, into the spec's sources */
    int mate;       /* mix: the other image (of another class when there is one) */
    uint64_t seed;  /* the transform's own random numbers */
} mcd_outlier_draw;

/* The outliers of one batch of `batch` rows, into out[0..batch): floor(share * batch) rows,
 * one more with probability equal to the fraction left (so the mean share is exact), at
 * random rows (selection sampling); each of a kind drawn uniformly among spec->kinds. Nothing is drawn from r
 * when the share is 0 or there are no sources. */
void mcd_outlier_draw_batch(seeded_random *r, const mcd_outlier_spec *spec, int batch,
                            mcd_outlier_draw *out);

/* The transforms, in place on im (Darknet's layout: channel after channel); 0, or -1 when
 * memory for a copy could not be had (im is then as it was). */
int mcd_outlier_shuffle_patches(image im, seeded_random *r);
int mcd_outlier_permute_pixels(image im, seeded_random *r);
int mcd_outlier_blur(image im);
/* im = lambda * im + (1 - lambda) * other, lambda uniform in [0.4, 0.6]; same sizes. */
void mcd_outlier_mix(image im, image other, seeded_random *r);

/* Apply d's transform to im (other: the mate image, for mix only); 0 or -1 as above. */
int mcd_outlier_apply(image im, image other, const mcd_outlier_draw *d);

#endif
