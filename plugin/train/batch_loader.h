/* The trainer's batch loader: Darknet's classification loading (random picks with
 * replacement, random scale/aspect/rotation crop, random flip, hue/saturation/exposure
 * distortion; labels by name in the path), made reproducible and checked.
 *
 * Darknet's load_data draws its random numbers with rand() inside its loading threads, so
 * with two loaders running at once (labeled and unlabeled batches) the draws interleave in
 * whatever order the threads run, and two runs with the same seed train on different
 * batches. Here every random number of a batch is drawn before its thread starts, from a
 * generator seeded with (seed, stream, batch number); the thread only reads and transforms
 * images. A batch's content is thus fixed by the seed and its number alone, whatever the
 * timing, and a resumed run draws the same batches as an uninterrupted one.
 *
 * An image that cannot be read or decoded stops training with its name (Darknet's loader
 * would train on a blank image).
 *
 * Synthetic outliers (synthetic_outliers.h; the unlabeled loader of fine-tuning, when
 * finetune_outliers > 0): a share of each batch's rows is made from labeled source images
 * instead of the loader's own. Their random numbers come from a generator of their own
 * (seeded with the run's seed, the stream and the batch number too), drawn after the rows'
 * usual ones: the other rows are exactly the batch a run without outliers would load, and a
 * share of 0 draws nothing and changes nothing. An outlier row keeps its row's crop, flip
 * and distortion numbers, applied to its source image (and to the mate of a mix). */
#ifndef MCD_BATCH_LOADER_H
#define MCD_BATCH_LOADER_H

#include <pthread.h>
#include <stdint.h>

#include "darknet.h"
#include "train/synthetic_outliers.h"

typedef struct batch_loader_config {
    char **paths;
    int npaths;
    const char *list_name; /* the list the paths came from, for messages */
    char **labels;   /* NULL: unlabeled, all-zero truth */
    int classes;
    int batch;       /* images per batch */
    int w, h;        /* the network's input size */
    int c;           /* its channels: 3, or 1 (luma, io/image_io.h's mcd_network_image);
                      * images are read and augmented in colour either way; 0 means 3 */
    /* augmentation, as Darknet's load_args: crop short side in [min, max] pixels, aspect
     * and saturation/exposure scales in [1/x, x], hue shift and angle (degrees) in [-x, x] */
    int min, max;
    float aspect, angle, hue, saturation, exposure;
    uint64_t seed;
    uint64_t stream; /* one per loader, so two loaders never share draws */
    uint64_t first;  /* number of the first batch to load */
    /* synthetic outliers: this share of each batch (0: none) of these kinds (MCD_OUTLIER_*
     * bits), made from source_paths, whose labels (for a mix of two classes) are found with
     * source_labels as Darknet finds them; their rows have no truth */
    double outliers;
    int outlier_kinds;
    char **source_paths;
    int nsource;
    char **source_labels;
    const char *source_list_name;
} batch_loader_config;

/* The random numbers of one image, drawn before loading. */
typedef struct image_draw {
    int index;            /* into paths */
    float aspect;         /* in [1/aspect, aspect] */
    int side;             /* short side after scaling, in [min, max] */
    float rotate, dx, dy; /* in [-1, 1]: fractions of the angle and of the free shift */
    int flip;
    float hue, saturation, exposure;
} image_draw;

typedef struct batch_loader {
    batch_loader_config c;
    uint64_t number;      /* of the batch in flight */
    image_draw *draws;    /* c.batch of them, for the batch in flight */
    mcd_outlier_draw *outliers; /* the same rows' outliers (kind 0: the row is paths[index]) */
    int *source_class;    /* the class of each source image, -1 where none is found */
    data result;
    char error[1024];     /* set by the thread when an image fails */
    pthread_t thread;
    int running;
} batch_loader;

/* Start loading batch c->first in the background. */
void batch_loader_start(batch_loader *l, const batch_loader_config *c);
/* Wait for the batch in flight, hand it over (free it with free_data) and start the next.
 * 0, or -1 with an error naming the image that failed. */
int batch_loader_next(batch_loader *l, data *out);
/* Wait for the batch in flight and drop it. */
void batch_loader_stop(batch_loader *l);

#endif
