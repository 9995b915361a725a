/* Synthetic outliers for step B (train/synthetic_outliers.c and their use in
 * train/batch_loader.c): each transform's defining property, the rows a batch gets, the
 * loader's batches with and without them (a share of 0 changes no byte; the other rows stay
 * as they were; same seed, same batch; a resumed loader gives the same batches), and the
 * cfg keys refused with one line naming the key. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "darknet.h"
#include "network/train_config.h"
#include "test_util.h"
#include "train/batch_loader.h"
#include "train/synthetic_outliers.h"
#include "util/mcd_error.h"
#include "util/seeded_random.h"

static char dir[64];

static image random_image(int w, int h, int c, uint64_t seed)
{
    image im = make_image(w, h, c);
    seeded_random r;
    seeded_random_init(&r, seed, 0);
    for (int i = 0; i < w * h * c; ++i) im.data[i] = (float)seeded_random_uniform(&r);
    return im;
}

/* Pixel p of channel k holds p + 10000 k: every value tells where it came from. */
static image index_image(int w, int h, int c)
{
    image im = make_image(w, h, c);
    for (int k = 0; k < c; ++k)
        for (int p = 0; p < w * h; ++p) im.data[k * w * h + p] = (float)(p + 10000 * k);
    return im;
}

static void test_permute(void)
{
    const int w = 28, h = 28, n = w * h;
    image im = index_image(w, h, 3);
    seeded_random r;
    seeded_random_init(&r, 5, 0);
    CU_ASSERT_EQUAL(mcd_outlier_permute_pixels(im, &r), 0);
    char *seen = calloc(n, 1);
    int moved = 0, ok = 1;
    for (int p = 0; p < n; ++p) {
        int from = (int)im.data[p];
        ok &= from >= 0 && from < n && !seen[from];
        if (from >= 0 && from < n) seen[from] = 1;
        moved += from != p;
        /* the same permutation in every channel: a pixel keeps its colour */
        ok &= im.data[n + p] == from + 10000 && im.data[2 * n + p] == from + 20000;
    }
    CU_ASSERT(ok);             /* a permutation of the pixels: the multiset is kept */
    CU_ASSERT(moved > n / 2);  /* and not (nearly) the identity */
    free(seen);
    free_image(im);
}

/* 30x30: 4x4 cells of 7x7 pixels, and a border of 2 that stays. */
static void test_shuffle_patches(void)
{
    const int w = 30, h = 30, cell = 7;
    image im = index_image(w, h, 3);
    seeded_random r;
    seeded_random_init(&r, 6, 0);
    CU_ASSERT_EQUAL(mcd_outlier_shuffle_patches(im, &r), 0);
    int used[16] = {0}, moved = 0, ok = 1;
    for (int cy = 0; cy < 4; ++cy)
        for (int cx = 0; cx < 4; ++cx) {
            /* the cell's top-left value says which input cell it holds */
            int v = (int)im.data[cy * cell * w + cx * cell];
            int sx = v % w, sy = v / w;
            ok &= sx % cell == 0 && sy % cell == 0 && sx < 4 * cell && sy < 4 * cell;
            if (!ok) continue;
            int src = (sy / cell) * 4 + sx / cell;
            ok &= !used[src]++;
            moved += src != cy * 4 + cx;
            for (int k = 0; k < 3; ++k) /* its contents, whole, in every channel */
                for (int y = 0; y < cell; ++y)
                    for (int x = 0; x < cell; ++x)
                        ok &= im.data[k * w * h + (cy * cell + y) * w + cx * cell + x] ==
                              (float)((sy + y) * w + sx + x + 10000 * k);
        }
    CU_ASSERT(ok);
    CU_ASSERT(moved >= 2);
    int border = 1;
    for (int k = 0; k < 3; ++k)
        for (int p = 0; p < w * h; ++p)
            if (p % w >= 4 * cell || p / w >= 4 * cell)
                border &= im.data[k * w * h + p] == (float)(p + 10000 * k);
    CU_ASSERT(border);
    free_image(im);
}

/* Sum of squared differences between neighbours: the high-frequency energy. */
static double roughness(image im)
{
    double e = 0;
    for (int k = 0; k < im.c; ++k)
        for (int y = 0; y < im.h; ++y)
            for (int x = 0; x < im.w; ++x) {
                float v = im.data[(k * im.h + y) * im.w + x];
                if (x + 1 < im.w) e += (v - im.data[(k * im.h + y) * im.w + x + 1]) *
                                       (double)(v - im.data[(k * im.h + y) * im.w + x + 1]);
                if (y + 1 < im.h) e += (v - im.data[(k * im.h + y + 1) * im.w + x]) *
                                       (double)(v - im.data[(k * im.h + y + 1) * im.w + x]);
            }
    return e;
}

static void test_blur(void)
{
    image im = random_image(28, 28, 3, 7);
    double before = roughness(im);
    CU_ASSERT_EQUAL(mcd_outlier_blur(im), 0);
    double after = roughness(im);
    CU_ASSERT(after < 0.01 * before); /* heavy: noise of variance 1/12 loses over 99% */
    int inside = 1;
    for (int i = 0; i < 28 * 28 * 3; ++i) inside &= im.data[i] >= 0 && im.data[i] <= 1;
    CU_ASSERT(inside); /* an average: no value outside the input's range */
    free_image(im);
    image flat = make_image(28, 28, 1);
    fill_image(flat, 0.3f);
    mcd_outlier_blur(flat);
    int same = 1;
    for (int i = 0; i < 28 * 28; ++i) same &= test_close(flat.data[i], 0.3, 1e-6, 0);
    CU_ASSERT(same); /* a flat image stays flat: the edges are clamped, nothing is lost */
    free_image(flat);
}

static void test_mix(void)
{
    image a = random_image(28, 28, 3, 8), b = random_image(28, 28, 3, 9);
    image m = copy_image(a);
    seeded_random r;
    seeded_random_init(&r, 10, 0);
    mcd_outlier_mix(m, b, &r);
    /* one lambda for the image, in [0.4, 0.6]: m = lambda a + (1 - lambda) b */
    int i0 = 0;
    while (test_close(a.data[i0], b.data[i0], 0.1, 0)) ++i0;
    float lambda = (m.data[i0] - b.data[i0]) / (a.data[i0] - b.data[i0]);
    CU_ASSERT(lambda >= 0.4f - 1e-4f && lambda <= 0.6f + 1e-4f);
    int ok = 1;
    for (int i = 0; i < 28 * 28 * 3; ++i)
        ok &= test_close(m.data[i], lambda * a.data[i] + (1 - lambda) * b.data[i], 1e-5, 0);
    CU_ASSERT(ok);
    free_image(a);
    free_image(b);
    free_image(m);
}

static void test_same_seed_same_image(void)
{
    for (int kind = 1; kind <= MCD_OUTLIER_MIX; kind <<= 1) {
        image a = random_image(16, 16, 3, 11), b = copy_image(a), c = copy_image(a);
        image mate = random_image(16, 16, 3, 12);
        mcd_outlier_draw d = {kind, 0, 0, 99}, e = {kind, 0, 0, 100};
        mcd_outlier_apply(a, mate, &d);
        mcd_outlier_apply(b, mate, &d);
        mcd_outlier_apply(c, mate, &e);
        CU_ASSERT(memcmp(a.data, b.data, sizeof(float) * 16 * 16 * 3) == 0);
        if (kind != MCD_OUTLIER_BLUR) /* blur draws nothing */
            CU_ASSERT(memcmp(a.data, c.data, sizeof(float) * 16 * 16 * 3) != 0);
        free_image(a);
        free_image(b);
        free_image(c);
        free_image(mate);
    }
}

static void test_draw_batch(void)
{
    int classes[30];
    for (int i = 0; i < 30; ++i) classes[i] = i % 3;
    mcd_outlier_draw out[10];
    seeded_random r, r0;
    /* share 0: nothing drawn, no row changed */
    mcd_outlier_spec off = {0, MCD_OUTLIER_ALL, 30, classes};
    seeded_random_init(&r, 1, 2);
    r0 = r;
    mcd_outlier_draw_batch(&r, &off, 10, out);
    CU_ASSERT_EQUAL(r.state, r0.state);
    int none = 1;
    for (int i = 0; i < 10; ++i) none &= out[i].kind == 0;
    CU_ASSERT(none);
    /* share 0.35 of 10: 3 or 4 rows, 3.5 on average; only the kinds asked for; a mix's
     * two images of different classes */
    mcd_outlier_spec on = {0.35, MCD_OUTLIER_BLUR | MCD_OUTLIER_MIX, 30, classes};
    long total = 0;
    int counts_ok = 1, kinds_ok = 1, mates_ok = 1, kinds_seen = 0;
    const int batches = 4000;
    for (int b = 0; b < batches; ++b) {
        seeded_random_init(&r, 3, (uint64_t)b);
        mcd_outlier_draw_batch(&r, &on, 10, out);
        int n = 0;
        for (int i = 0; i < 10; ++i) {
            if (!out[i].kind) continue;
            ++n;
            kinds_seen |= out[i].kind;
            kinds_ok &= out[i].kind == MCD_OUTLIER_BLUR || out[i].kind == MCD_OUTLIER_MIX;
            kinds_ok &= out[i].source >= 0 && out[i].source < 30;
            if (out[i].kind == MCD_OUTLIER_MIX)
                mates_ok &= classes[out[i].mate] != classes[out[i].source];
        }
        counts_ok &= n == 3 || n == 4;
        total += n;
    }
    CU_ASSERT(counts_ok);
    CU_ASSERT(kinds_ok);
    CU_ASSERT(mates_ok);
    CU_ASSERT_EQUAL(kinds_seen, MCD_OUTLIER_BLUR | MCD_OUTLIER_MIX);
    /* mean 3.5, standard deviation 0.5 per batch: 0.008 for the mean of 4000 */
    CU_ASSERT(test_close((double)total / batches, 3.5, 0.04, 0));
    /* same generator state, same rows */
    mcd_outlier_draw again[10];
    seeded_random_init(&r, 3, 7);
    mcd_outlier_draw_batch(&r, &on, 10, out);
    seeded_random_init(&r, 3, 7);
    mcd_outlier_draw_batch(&r, &on, 10, again);
    CU_ASSERT(memcmp(out, again, sizeof out) == 0);
}

/* --- the loader ----------------------------------------------------------------------- */

static const char *names[] = {"alpha", "beta", "gamma"};
#define NPOOL 12
#define NSOURCE 9
static char *pool[NPOOL], *source[NSOURCE];

/* Pool images: noise; source images: a gradient of their own per class and index. */
static char *write_png(const char *stem, int cls, int i)
{
    image im = make_image(12, 12, 3);
    seeded_random r;
    seeded_random_init(&r, 77, (uint64_t)i + 1000 * (cls + 1));
    for (int p = 0; p < 144 * 3; ++p)
        im.data[p] = cls < 0 ? (float)seeded_random_uniform(&r)
                             : (float)((p % 144) * (cls + 1) % 97) / 96 + 0.01f * i;
    char path[256];
    snprintf(path, sizeof path, "%s/%s", dir, stem);
    save_image_options(im, path, PNG, 0); /* appends .png */
    free_image(im);
    strcat(path, ".png");
    return strdup(path);
}

static int setup(void)
{
    strcpy(dir, "/tmp/mcd-outliers-XXXXXX");
    if (!mkdtemp(dir)) return -1;
    char stem[64];
    for (int i = 0; i < NPOOL; ++i) {
        snprintf(stem, sizeof stem, "pool%02d", i);
        pool[i] = write_png(stem, -1, i);
    }
    for (int i = 0; i < NSOURCE; ++i) {
        snprintf(stem, sizeof stem, "src%02d_%s", i, names[i % 3]);
        source[i] = write_png(stem, i % 3, i);
    }
    return 0;
}

static int teardown(void)
{
    for (int i = 0; i < NPOOL; ++i) {
        unlink(pool[i]);
        free(pool[i]);
    }
    for (int i = 0; i < NSOURCE; ++i) {
        unlink(source[i]);
        free(source[i]);
    }
    rmdir(dir);
    return 0;
}

static batch_loader_config loader_config(double share, int with_sources, uint64_t first)
{
    batch_loader_config c = {
        .paths = pool, .npaths = NPOOL, .list_name = "pool", .classes = 3, .batch = 8,
        .w = 12, .h = 12, .c = 3, .min = 12, .max = 12, .aspect = 1, .saturation = 1,
        .exposure = 1, .seed = 21, .stream = 3, .first = first,
        .outliers = share, .outlier_kinds = MCD_OUTLIER_ALL,
    };
    if (with_sources) {
        c.source_paths = source;
        c.nsource = NSOURCE;
        c.source_labels = (char **)names;
        c.source_list_name = "sources";
    }
    return c;
}

/* Batches first.. first+n-1 of a loader; 0, or -1. */
static int load(const batch_loader_config *c, int n, data *out)
{
    batch_loader l;
    batch_loader_start(&l, c);
    int rc = 0;
    for (int i = 0; i < n && rc == 0; ++i) rc = batch_loader_next(&l, &out[i]);
    batch_loader_stop(&l);
    return rc;
}

static int rows_differing(data a, data b)
{
    int n = 0;
    for (int i = 0; i < a.X.rows; ++i)
        n += memcmp(a.X.vals[i], b.X.vals[i], sizeof(float) * a.X.cols) != 0;
    return n;
}

static void test_loader_share_zero(void)
{
    data plain[3], zero[3];
    batch_loader_config a = loader_config(0, 0, 0), b = loader_config(0, 1, 0);
    CU_ASSERT_EQUAL_FATAL(load(&a, 3, plain), 0);
    CU_ASSERT_EQUAL_FATAL(load(&b, 3, zero), 0);
    for (int i = 0; i < 3; ++i) {
        CU_ASSERT_EQUAL(rows_differing(plain[i], zero[i]), 0);
        free_data(plain[i]);
        free_data(zero[i]);
    }
}

static void test_loader_share(void)
{
    enum { N = 6 };
    data plain[N], half[N], again[N], resumed[2];
    batch_loader_config a = loader_config(0, 0, 0), b = loader_config(0.5, 1, 0);
    batch_loader_config r = loader_config(0.5, 1, 4);
    CU_ASSERT_EQUAL_FATAL(load(&a, N, plain), 0);
    CU_ASSERT_EQUAL_FATAL(load(&b, N, half), 0);
    CU_ASSERT_EQUAL_FATAL(load(&b, N, again), 0);
    CU_ASSERT_EQUAL_FATAL(load(&r, 2, resumed), 0);
    for (int i = 0; i < N; ++i) {
        /* 0.5 of 8: exactly 4 rows made from the sources, the other 4 the pool's as before */
        CU_ASSERT_EQUAL(rows_differing(plain[i], half[i]), 4);
        CU_ASSERT_EQUAL(rows_differing(half[i], again[i]), 0); /* same seed, same batch */
        int zero_truth = 1;
        for (int j = 0; j < 8; ++j)
            for (int k = 0; k < 3; ++k) zero_truth &= half[i].y.vals[j][k] == 0;
        CU_ASSERT(zero_truth); /* unlabeled: no truth, outliers neither */
    }
    /* a loader started at batch 4 (a resumed run) loads batches 4 and 5 as they were */
    CU_ASSERT_EQUAL(rows_differing(half[4], resumed[0]), 0);
    CU_ASSERT_EQUAL(rows_differing(half[5], resumed[1]), 0);
    CU_ASSERT(rows_differing(half[0], half[1]) > 0);
    for (int i = 0; i < N; ++i) {
        free_data(plain[i]);
        free_data(half[i]);
        free_data(again[i]);
    }
    free_data(resumed[0]);
    free_data(resumed[1]);
}

/* A source image that cannot be read stops the batch with its name and list. */
static void test_loader_bad_source(void)
{
    char *bad[1] = {"/nonexistent/src_alpha.png"};
    batch_loader_config c = loader_config(1, 1, 0);
    c.source_paths = bad;
    c.nsource = 1;
    data d[1];
    CU_ASSERT_EQUAL(load(&c, 1, d), -1);
    CU_ASSERT(strstr(mcd_last_error(), "/nonexistent/src_alpha.png") != NULL);
    CU_ASSERT(strstr(mcd_last_error(), "sources") != NULL);
}

/* --- the cfg keys --------------------------------------------------------------------- */

static int read_net(const char *keys, mcd_train_config *tc)
{
    char text[512];
    snprintf(text, sizeof text, "[net]\nbatch=8\n%s\n", keys);
    return mcd_read_train_config(test_write_temp(text), tc);
}

static void test_cfg_keys(void)
{
    mcd_train_config tc;
    CU_ASSERT_EQUAL_FATAL(read_net("", &tc), 0);
    CU_ASSERT_EQUAL(tc.finetune_outliers, 0); /* off by default */
    CU_ASSERT_EQUAL(tc.finetune_outlier_kinds, MCD_OUTLIER_ALL);
    CU_ASSERT_EQUAL_FATAL(read_net("finetune_outliers=0.25\nfinetune_outlier_kinds=mix,permute",
                                   &tc), 0);
    CU_ASSERT_EQUAL(tc.finetune_outliers, 0.25);
    CU_ASSERT_EQUAL(tc.finetune_outlier_kinds, MCD_OUTLIER_MIX | MCD_OUTLIER_PERMUTE);
    const char *bad[][2] = {
        {"finetune_outliers=1.5", "finetune_outliers=1.5 must be between 0 and 1"},
        {"finetune_outliers=-0.1", "finetune_outliers=-0.1 must be between 0 and 1"},
        {"finetune_outliers=lots", "finetune_outliers=lots is not a finite number"},
        {"finetune_outlier_kinds=shuffle,gaussian", "unknown kind 'gaussian'"},
        {"finetune_outlier_kinds=blur,blur", "repeated kind 'blur'"},
        {"finetune_outlier_kinds=", "unknown kind ''"},
        {"finetune_outlier_kinds=blur,", "unknown kind ''"},
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; ++i) {
        int rc = read_net(bad[i][0], &tc);
        const char *e = mcd_last_error();
        int ok = rc == -1 && strstr(e, bad[i][1]) && !strchr(e, '\n') && strstr(e, ":1: [net]");
        if (!ok) printf("\n%s: rc %d, error '%s'\n", bad[i][0], rc, e);
        CU_ASSERT(ok);
    }
}

/* Through the binary: exit 1, one line naming the key, before any training. */
static void test_cfg_refused_by_train(void)
{
    char cfg[128], out[4096];
    snprintf(cfg, sizeof cfg, "%s/bad.cfg", dir);
    test_write_text(cfg, "[net]\nbatch=8\nheight=12\nwidth=12\nchannels=3\n"
                         "finetune_outlier_kinds=shuffle,noise\n"
                         "[convolutional]\nfilters=4\nsize=3\nactivation=leaky\n[avgpool]\n"
                         "[mcd_split]\n[connected]\noutput=3\nactivation=linear\n[softmax]\n"
                         "[mcd_discrepancy]\n[mcd_l1]\n");
    int rc = test_run_darknet(out, sizeof out, "mcd train %s -backup %s/backup", cfg, dir);
    CU_ASSERT(test_is_error(rc, out, "bad outlier kind", "finetune_outlier_kinds",
                            "unknown kind 'noise'"));
    unlink(cfg);
    rmdir(test_path(dir, "backup"));
}

int add_synthetic_outliers_suite(void)
{
    CU_pSuite s = CU_add_suite("synthetic outliers", setup, teardown);
    return !s ||
           !CU_add_test(s, "permute: a permutation of the pixels, colours kept", test_permute) ||
           !CU_add_test(s, "shuffle: whole patches moved, the border kept", test_shuffle_patches) ||
           !CU_add_test(s, "blur: high frequencies gone, flat stays flat", test_blur) ||
           !CU_add_test(s, "mix: lambda a + (1 - lambda) b, lambda in [0.4, 0.6]", test_mix) ||
           !CU_add_test(s, "same seed, same outlier", test_same_seed_same_image) ||
           !CU_add_test(s, "rows: count, kinds, mates of another class", test_draw_batch) ||
           !CU_add_test(s, "loader: share 0 changes no byte", test_loader_share_zero) ||
           !CU_add_test(s, "loader: the share, other rows kept, seeded, resumable",
                        test_loader_share) ||
           !CU_add_test(s, "loader: an unreadable source image named", test_loader_bad_source) ||
           !CU_add_test(s, "cfg: bad values refused naming the key", test_cfg_keys) ||
           !CU_add_test(s, "mcd train refuses a bad kind, exit 1", test_cfg_refused_by_train);
}
