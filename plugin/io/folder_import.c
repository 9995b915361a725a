#include "io/folder_import.h"

#include <ctype.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "io/folder_walk.h"
#include "io/image_probe.h"
#include "util/file_paths.h"
#include "util/mcd_error.h"
#include "util/seeded_random.h"

/* How many paths a one-line error names before "and N more". */
#define NAMED 3

const char *mcd_import_split_name(int split)
{
    static const char *const names[MCD_SPLIT_COUNT] = {
        "train", "valid", "test", "pool (ID)", "pool (OOD)", "pool", "OOD test", "left out",
    };
    return split >= 0 && split < MCD_SPLIT_COUNT ? names[split] : "?";
}

static uint64_t name_stream(const char *kind, const char *name)
{
    uint64_t h = 1469598103934665603ULL;
    for (const char *p = kind; *p; ++p) h = (h ^ (unsigned char)*p) * 1099511628211ULL;
    for (const char *p = name; *p; ++p) h = (h ^ (unsigned char)*p) * 1099511628211ULL;
    return h;
}

static int add_image(mcd_import_plan *p, const char *path, int cls, int set, int split)
{
    if (p->n_images == p->images_cap) {
        int cap = p->images_cap ? 2 * p->images_cap : 1024;
        mcd_import_image *g = realloc(p->images, sizeof *g * (size_t)cap);
        if (!g) {
            mcd_set_error("out of memory (%d images)", cap);
            return -1;
        }
        p->images = g;
        p->images_cap = cap;
    }
    mcd_import_image *im = &p->images[p->n_images];
    memset(im, 0, sizeof *im);
    im->path = strdup(path);
    if (!im->path) {
        mcd_set_error("out of memory");
        return -1;
    }
    im->cls = cls;
    im->set = set;
    im->split = split;
    ++p->n_images;
    return 0;
}

/* Every file under dir, as images of class cls / OOD set `set` with the split given. */
static int add_folder(mcd_import_plan *p, const char *dir, int cls, int set, int split)
{
    mcd_string_list files = {0};
    int rc = mcd_walk_files(dir, &files, &p->hidden);
    for (int i = 0; rc == 0 && i < files.n; ++i) rc = add_image(p, files.v[i], cls, set, split);
    mcd_string_list_free(&files);
    return rc;
}

static int find_name(const mcd_string_list *l, const char *s)
{
    for (int i = 0; i < l->n; ++i)
        if (strcmp(l->v[i], s) == 0) return i;
    return -1;
}

/* The class folders: all sub-folders of the labeled folder, or those -classes names. */
static int find_classes(mcd_import_plan *p)
{
    const mcd_import_options *o = &p->opt;
    mcd_string_list folders = {0}, loose = {0};
    int rc = mcd_list_subfolders(o->labeled, &folders, &loose, &p->hidden);
    p->loose = loose.n;
    mcd_string_list_free(&loose);
    if (rc == 0 && o->classes) {
        char *copy = strdup(o->classes);
        char *save = NULL;
        for (char *t = copy ? strtok_r(copy, ",", &save) : NULL; rc == 0 && t;
             t = strtok_r(NULL, ",", &save)) {
            if (find_name(&folders, t) < 0) {
                mcd_set_error("-classes: '%s' has no class folder '%s'", o->labeled, t);
                rc = -1;
            } else if (find_name(&p->classes, t) >= 0) {
                mcd_set_error("-classes: '%s' is named twice", t);
                rc = -1;
            } else {
                rc = mcd_string_list_push(&p->classes, t);
            }
        }
        free(copy);
    } else if (rc == 0) {
        for (int i = 0; rc == 0 && i < folders.n; ++i) rc = mcd_string_list_push(&p->classes, folders.v[i]);
    }
    mcd_string_list_free(&folders);
    if (rc) return -1;
    if (p->classes.n == 0) {
        mcd_set_error("'%s' has no class folders: -labeled wants one sub-folder of images per class",
                      o->labeled);
        return -1;
    }
    if (p->classes.n == 1) {
        mcd_set_error("'%s' has one class folder ('%s'): a classifier needs two classes or more",
                      o->labeled, p->classes.v[0]);
        return -1;
    }
    for (int i = 0; i < p->classes.n; ++i)
        if (strpbrk(p->classes.v[i], "\n\r")) {
            mcd_set_error("class folder name with a line break in '%s'", o->labeled);
            return -1;
        }
    return 0;
}

static int valid_set_name(const char *s)
{
    if (!*s) return 0;
    for (; *s; ++s)
        if (!isalnum((unsigned char)*s) && *s != '-' && *s != '_' && *s != '.') return 0;
    return 1;
}

static int find_sources(mcd_import_plan *p)
{
    const mcd_import_options *o = &p->opt;
    if (find_classes(p)) return -1;
    for (int i = 0; i < o->n_ood; ++i) {
        const char *name = o->ood_names[i];
        if (!valid_set_name(name)) {
            mcd_set_error("-ood '%s=%s': the name must be letters, digits, '-', '_' or '.'", name,
                          o->ood_dirs[i]);
            return -1;
        }
        for (int c = 0; c < p->classes.n; ++c)
            if (strcasecmp(p->classes.v[c], name) == 0) {
                mcd_set_error("-ood %s: '%s' is also a class of '%s': name the OOD set otherwise",
                              name, p->classes.v[c], o->labeled);
                return -1;
            }
        if (find_name(&p->ood_sets, name) < 0 && mcd_string_list_push(&p->ood_sets, name)) return -1;
    }
    for (int c = 0; c < p->classes.n; ++c) {
        char *dir = mcd_path_join(o->labeled, p->classes.v[c]);
        int rc = dir ? add_folder(p, dir, c, -1, -1) : -1;
        free(dir);
        if (rc) return -1;
    }
    if (o->test) {
        mcd_string_list folders = {0}, loose = {0};
        int rc = mcd_list_subfolders(o->test, &folders, &loose, &p->hidden);
        p->loose += loose.n;
        mcd_string_list_free(&loose);
        for (int i = 0; rc == 0 && i < folders.n; ++i) {
            int c = find_name(&p->classes, folders.v[i]);
            if (c < 0 && o->classes) continue; /* a class left out by -classes */
            if (c < 0) {
                mcd_set_error("-test: folder '%s' in '%s' is not a class of '%s'", folders.v[i],
                              o->test, o->labeled);
                rc = -1;
                break;
            }
            char *dir = mcd_path_join(o->test, folders.v[i]);
            rc = dir ? add_folder(p, dir, c, -1, MCD_SPLIT_TEST) : -1;
            free(dir);
        }
        mcd_string_list_free(&folders);
        if (rc) return -1;
    }
    for (int i = 0; i < o->n_ood; ++i)
        if (add_folder(p, o->ood_dirs[i], -1, find_name(&p->ood_sets, o->ood_names[i]), MCD_SPLIT_OOD_TEST))
            return -1;
    if (o->unlabeled && add_folder(p, o->unlabeled, -1, -1, MCD_SPLIT_POOL)) return -1;
    return 0;
}

/* "'a' (why), 'b' (why) and 7 more" into buf. */
static void name_some(char *buf, size_t n, const char *const *paths, const char *const *why,
                      int count)
{
    size_t k = 0;
    buf[0] = 0;
    for (int i = 0; i < count && i < NAMED && k < n; ++i)
        k += (size_t)snprintf(buf + k, n - k, "%s'%s'%s%s%s", i ? ", " : "", paths[i],
                              why ? " (" : "", why ? why[i] : "", why ? ")" : "");
    if (count > NAMED && k < n) snprintf(buf + k, n - k, " and %d more", count - NAMED);
}

/* Read and decode every file once. */
static int probe_all(mcd_import_plan *p)
{
    const char *bad[NAMED], *why_p[NAMED];
    char why[NAMED][160];
    int kept = 0;
    for (int i = 0; i < p->n_images; ++i) {
        mcd_import_image *im = &p->images[i];
        mcd_image_info info;
        mcd_probe_result r = mcd_probe_image(im->path, &info);
        if (p->opt.progress && p->n_images >= 2000 && (i + 1) % (p->n_images / 10) == 0)
            fprintf(p->opt.progress, "reading images: %d of %d\n", i + 1, p->n_images);
        if (r == MCD_PROBE_NOT_IMAGE) {
            if (p->skipped.n < NAMED) mcd_string_list_push(&p->skipped, im->path);
            ++p->not_images;
            free(im->path);
            continue;
        }
        if (r == MCD_PROBE_UNREADABLE) {
            if (p->unreadable < NAMED) {
                bad[p->unreadable] = im->path;
                snprintf(why[p->unreadable], sizeof why[0], "%s", info.why);
                why_p[p->unreadable] = why[p->unreadable];
            }
            ++p->unreadable;
            im->split = MCD_SPLIT_LEFT_OUT;
        } else {
            im->width = info.width;
            im->height = info.height;
            im->grey = info.grey;
            im->hash = info.hash ^ (uint64_t)info.bytes * 0x9E3779B97F4A7C15ULL;
        }
        p->images[kept++] = *im;
    }
    p->n_images = kept;
    if (p->unreadable && !p->opt.skip_bad) {
        char names[1024];
        name_some(names, sizeof names, bad, why_p, p->unreadable);
        mcd_set_error("%d unreadable image%s: %s (-skip_bad leaves them out)", p->unreadable,
                      p->unreadable == 1 ? "" : "s", names);
        return -1;
    }
    return 0;
}

static const mcd_import_image *sort_base;
static int by_hash(const void *a, const void *b)
{
    const mcd_import_image *x = &sort_base[*(const int *)a], *y = &sort_base[*(const int *)b];
    if (x->hash != y->hash) return x->hash < y->hash ? -1 : 1;
    return *(const int *)a - *(const int *)b;
}

/* The same file in two classes, or in a class and an OOD set: its label is unknown. */
static int find_ambiguous(mcd_import_plan *p)
{
    int n = p->n_images;
    int *order = malloc(sizeof(int) * (size_t)(n ? n : 1));
    if (!order) {
        mcd_set_error("out of memory");
        return -1;
    }
    for (int i = 0; i < n; ++i) order[i] = i;
    sort_base = p->images;
    qsort(order, (size_t)n, sizeof *order, by_hash);
    const char *pair[2 * NAMED];
    int named = 0;
    for (int i = 0; i < n;) {
        int j = i;
        while (j < n && p->images[order[j]].hash == p->images[order[i]].hash) ++j;
        int cls = -1, clash = 0, labeled = 0, ood = 0;
        for (int k = i; k < j; ++k) {
            const mcd_import_image *im = &p->images[order[k]];
            if (im->split == MCD_SPLIT_LEFT_OUT) continue;
            if (im->cls >= 0) {
                if (cls >= 0 && im->cls != cls) clash = 1;
                cls = im->cls;
                ++labeled;
            } else if (im->set >= 0) {
                ++ood;
            }
        }
        if (labeled && ood) clash = 1;
        if (clash) {
            if (named < NAMED) {
                pair[2 * named] = p->images[order[i]].path;
                pair[2 * named + 1] = p->images[order[i + 1]].path;
                ++named;
            }
            for (int k = i; k < j; ++k)
                if (p->images[order[k]].split != MCD_SPLIT_LEFT_OUT) {
                    p->images[order[k]].split = MCD_SPLIT_LEFT_OUT;
                    ++p->ambiguous;
                }
        } else if (labeled > 1) {
            p->duplicates += labeled - 1;
        }
        i = j;
    }
    free(order);
    if (p->ambiguous && !p->opt.skip_bad) {
        char names[1024];
        size_t k = 0;
        for (int i = 0; i < named && k < sizeof names; ++i)
            k += (size_t)snprintf(names + k, sizeof names - k, "%s'%s' = '%s'", i ? ", " : "",
                                  pair[2 * i], pair[2 * i + 1]);
        mcd_set_error("%d images are the same file in two classes (or in a class and an OOD set), "
                      "so their label is unknown: %s (-skip_bad leaves them out)", p->ambiguous, names);
        return -1;
    }
    return 0;
}

static int share_count(int n, double share)
{
    int k = (int)floor(n * share + 0.5);
    if (share > 0 && k == 0 && n >= 3) k = 1;
    return k;
}

/* Stratified, seeded: each class (and OOD set) shuffled with its own stream, so adding a
 * class changes no other class's split. */
static int split_images(mcd_import_plan *p)
{
    const mcd_import_options *o = &p->opt;
    int groups = p->classes.n + p->ood_sets.n;
    int *idx = malloc(sizeof(int) * (size_t)(p->n_images ? p->n_images : 1));
    if (!idx) {
        mcd_set_error("out of memory");
        return -1;
    }
    int rc = 0;
    for (int g = 0; rc == 0 && g < groups; ++g) {
        int is_class = g < p->classes.n, id = is_class ? g : g - p->classes.n;
        int n = 0;
        for (int i = 0; i < p->n_images; ++i) {
            const mcd_import_image *im = &p->images[i];
            if (im->split == MCD_SPLIT_LEFT_OUT || im->split == MCD_SPLIT_TEST ||
                im->split == MCD_SPLIT_POOL) continue;
            if (is_class ? im->cls == id : im->set == id) idx[n++] = i;
        }
        const char *name = is_class ? p->classes.v[id] : p->ood_sets.v[id];
        if (n == 0) {
            if (is_class) {
                int in_test = 0;
                for (int i = 0; i < p->n_images; ++i)
                    in_test += p->images[i].cls == id && p->images[i].split == MCD_SPLIT_TEST;
                mcd_set_error("class folder '%s/%s' holds no images%s", o->labeled, name,
                              in_test ? " (only its -test folder does)" : "");
            } else {
                mcd_set_error("-ood %s: no images in its folder", name);
            }
            rc = -1;
            break;
        }
        seeded_random r;
        seeded_random_init(&r, o->seed, name_stream(is_class ? "class:" : "ood:", name));
        seeded_random_shuffle(&r, idx, n);
        int at = 0;
        if (is_class) {
            int k_test = o->test ? 0 : share_count(n, o->test_share);
            int k_valid = share_count(n, o->valid_share);
            int k_pool = o->unlabeled ? 0 : share_count(n, o->unlabeled_share);
            if (k_test + k_valid + k_pool >= n) {
                mcd_set_error("class '%s' has %d image%s: too few for the shares (valid %d, test %d, "
                              "pool %d), none would train", name, n, n == 1 ? "" : "s", k_valid,
                              k_test, k_pool);
                rc = -1;
                break;
            }
            for (int k = 0; k < k_test; ++k) p->images[idx[at++]].split = MCD_SPLIT_TEST;
            for (int k = 0; k < k_valid; ++k) p->images[idx[at++]].split = MCD_SPLIT_VALID;
            for (int k = 0; k < k_pool; ++k) p->images[idx[at++]].split = MCD_SPLIT_POOL_ID;
            while (at < n) p->images[idx[at++]].split = MCD_SPLIT_TRAIN;
        } else {
            int k_pool = o->unlabeled ? 0 : share_count(n, o->ood_pool_share);
            if (o->ood_pool_share >= 1 && !o->unlabeled) k_pool = n;
            for (int k = 0; k < k_pool; ++k) p->images[idx[at++]].split = MCD_SPLIT_POOL_OOD;
            while (at < n) p->images[idx[at++]].split = MCD_SPLIT_OOD_TEST;
        }
    }
    free(idx);
    return rc;
}

static const mcd_import_image *size_base;
static int by_pixels(const void *a, const void *b)
{
    const mcd_import_image *x = &size_base[*(const int *)a], *y = &size_base[*(const int *)b];
    long long px = (long long)x->width * x->height, py = (long long)y->width * y->height;
    if (px != py) return px < py ? -1 : 1;
    if (x->width != y->width) return x->width - y->width;
    return *(const int *)a - *(const int *)b;
}

static int count(mcd_import_plan *p)
{
    int nc = p->classes.n, ns = p->ood_sets.n;
    p->class_counts = calloc((size_t)(nc ? nc : 1) * MCD_SPLIT_COUNT, sizeof(int));
    p->ood_counts = calloc((size_t)(ns ? ns : 1) * MCD_SPLIT_COUNT, sizeof(int));
    int *order = malloc(sizeof(int) * (size_t)(p->n_images ? p->n_images : 1));
    if (!p->class_counts || !p->ood_counts || !order) {
        free(order);
        mcd_set_error("out of memory");
        return -1;
    }
    int kept = 0;
    for (int i = 0; i < p->n_images; ++i) {
        const mcd_import_image *im = &p->images[i];
        ++p->counts[im->split];
        if (im->cls >= 0) ++p->class_counts[im->cls * MCD_SPLIT_COUNT + im->split];
        if (im->set >= 0) ++p->ood_counts[im->set * MCD_SPLIT_COUNT + im->split];
        if (im->split == MCD_SPLIT_LEFT_OUT) continue;
        order[kept++] = i;
        if (im->grey) ++p->grey_images;
        else ++p->colour_images;
    }
    if (kept) {
        size_base = p->images;
        qsort(order, (size_t)kept, sizeof *order, by_pixels);
        const mcd_import_image *lo = &p->images[order[0]], *mid = &p->images[order[kept / 2]],
                               *hi = &p->images[order[kept - 1]];
        p->min_w = lo->width, p->min_h = lo->height;
        p->median_w = mid->width, p->median_h = mid->height;
        p->max_w = hi->width, p->max_h = hi->height;
    }
    free(order);
    if (p->counts[MCD_SPLIT_VALID] == 0) {
        mcd_set_error("no ID validation images (calibration needs them): raise -valid_share");
        return -1;
    }
    if (p->counts[MCD_SPLIT_TEST] == 0) {
        mcd_set_error("no ID test images: raise -test_share or give -test DIR");
        return -1;
    }
    return 0;
}

static int check_shares(const mcd_import_options *o)
{
    double sum = o->valid_share + (o->test ? 0 : o->test_share) +
                 (o->unlabeled ? 0 : o->unlabeled_share);
    if (!(sum < 1)) {
        char terms[160];
        int k = snprintf(terms, sizeof terms, "-valid_share %g", o->valid_share);
        if (!o->test) k += snprintf(terms + k, sizeof terms - (size_t)k, " + -test_share %g", o->test_share);
        if (!o->unlabeled)
            snprintf(terms + k, sizeof terms - (size_t)k, " + -unlabeled_share %g", o->unlabeled_share);
        mcd_set_error("%s = %g: the shares must sum below 1 (the rest trains)", terms, sum);
        return -1;
    }
    return 0;
}

int mcd_import_scan(const mcd_import_options *o, mcd_import_plan *plan)
{
    memset(plan, 0, sizeof *plan);
    plan->opt = *o;
    if (check_shares(o) || find_sources(plan) || probe_all(plan) || find_ambiguous(plan) ||
        split_images(plan) || count(plan))
        return -1;
    return 0;
}

void mcd_import_plan_free(mcd_import_plan *p)
{
    for (int i = 0; i < p->n_images; ++i) free(p->images[i].path);
    free(p->images);
    free(p->class_counts);
    free(p->ood_counts);
    mcd_string_list_free(&p->classes);
    mcd_string_list_free(&p->ood_sets);
    mcd_string_list_free(&p->skipped);
    memset(p, 0, sizeof *p);
}
