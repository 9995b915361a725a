/* `darknet mcd import -labeled DIR -out DIR [...]`: from one folder per class to a data
 * set and a cfg the other verbs read (io/folder_import.h finds, checks and splits the
 * images; io/import_writer.h writes them). */
#include <math.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "commands/command_line.h"
#include "commands/verbs.h"
#include "io/folder_import.h"
#include "io/import_writer.h"
#include "network/cfg_rewrite.h"
#include "util/mcd_error.h"

typedef struct import_options {
    const char *labeled, *out, *unlabeled, *test, *classes, *cfg;
    mcd_arg_list ood;
    double valid_share, test_share, unlabeled_share, ood_pool_share;
    long seed, max_pixels;
    int link, copy, skip_bad;
} import_options;

/* The shipped cfgs for users' data, smallest input first; -cfg's default is the one whose
 * input is nearest the images' median size (those missing here are passed over). */
static const char *const shipped_cfgs[] = {
    "cfg/mcd-resnet.cfg", "cfg/mcd-resnet-32.cfg", "cfg/mcd-resnet-96.cfg",
    "cfg/mcd-resnet18-224.cfg",
};

static const mcd_option options[] = {
    {.name = "-labeled", .kind = MCD_OPT_STRING, .offset = offsetof(import_options, labeled),
     .value = "DIR", .help = "the labeled ID images: one sub-folder per class, named for the class\n"
                             "(required; folders inside a class folder are read too)"},
    {.name = "-out", .kind = MCD_OPT_STRING, .offset = offsetof(import_options, out),
     .value = "DIR", .help = "where the data set goes (required; a new folder, or one an earlier\n"
                             "import wrote, which is replaced all but its backup/)"},
    {.name = "-unlabeled", .kind = MCD_OPT_STRING, .offset = offsetof(import_options, unlabeled),
     .value = "DIR", .help = "the unlabeled pool for fine-tuning, as is (any images, no labels);\n"
                             "without it the pool is built from held-out shares (below)"},
    {.name = "-test", .kind = MCD_OPT_STRING, .offset = offsetof(import_options, test),
     .value = "DIR", .help = "the ID test images, one sub-folder per class (default: a share of\n"
                             "-labeled, -test_share)"},
    {.name = "-ood", .kind = MCD_OPT_LIST, .offset = offsetof(import_options, ood),
     .value = "NAME=DIR", .help = "an OOD set (any images under DIR); repeat for more sets, or with the\n"
                                  "same NAME to join folders into one set"},
    {.name = "-classes", .kind = MCD_OPT_STRING, .offset = offsetof(import_options, classes),
     .value = "A,B,..", .help = "use only these class folders, labels in this order (default: all,\n"
                                "sorted by name)"},
    {.name = "-valid_share", .kind = MCD_OPT_DOUBLE, .offset = offsetof(import_options, valid_share),
     .value = "X", .min = 0, .max = 1, .help = "of each class, for validation and calibration (default 0.1)"},
    {.name = "-test_share", .kind = MCD_OPT_DOUBLE, .offset = offsetof(import_options, test_share),
     .value = "X", .min = 0, .max = 1, .help = "of each class, for the ID test set (default 0.1; not with -test)"},
    {.name = "-unlabeled_share", .kind = MCD_OPT_DOUBLE,
     .offset = offsetof(import_options, unlabeled_share), .value = "X", .min = 0, .max = 1,
     .help = "of each class, held out of training into the pool (default 0.2;\n"
             "not with -unlabeled)"},
    {.name = "-ood_pool_share", .kind = MCD_OPT_DOUBLE,
     .offset = offsetof(import_options, ood_pool_share), .value = "X", .min = 0, .max = 1,
     .help = "of each -ood set, into the pool; the rest is its test set (default\n"
             "0.5; 0 keeps every OOD set unseen; not with -unlabeled)"},
    {.name = "-seed", .kind = MCD_OPT_LONG, .offset = offsetof(import_options, seed), .value = "N",
     .min = 0, .max = 9.2e18, .help = "the splits' seed: the same seed gives the same lists on every\n"
                                      "machine (default 1)"},
    {.name = "-link", .kind = MCD_OPT_FLAG, .offset = offsetof(import_options, link),
     .help = "OUT/images/ holds symbolic links to the images (default)"},
    {.name = "-copy", .kind = MCD_OPT_FLAG, .offset = offsetof(import_options, copy),
     .help = "OUT/images/ holds copies (the sources may then move)"},
    {.name = "-cfg", .kind = MCD_OPT_STRING, .offset = offsetof(import_options, cfg),
     .value = "CFG", .help = "write OUT/<CFG's name>: CFG with both heads set to the classes and\n"
                             "data=OUT/mcd.data (default: the shipped cfg nearest the images'\n"
                             "median size; none: write no cfg)"},
    MCD_MAX_PIXELS_OPTION(import_options, max_pixels),
    {.name = "-skip_bad", .kind = MCD_OPT_FLAG, .offset = offsetof(import_options, skip_bad),
     .help = "leave out unreadable images and images found in two classes (default:\n"
             "stop, naming them)"},
};

static int run(int argc, char **argv);

const mcd_command mcd_import_command = {
    .name = "import",
    .summary = "make a data set (OUT/mcd.data, lists, a cfg) from one folder of images per class",
    .description =
        "Reads -labeled DIR (one sub-folder per class; any image format OpenCV reads, any\n"
        "size, grey or colour), decodes every image once, and writes OUT/mcd.data with\n"
        "stratified, seeded splits (train, valid, id_test, the unlabeled pool, OOD sets) and\n"
        "OUT/<cfg>.cfg, so that `darknet mcd train OUT/<cfg>.cfg` then calibrate, valid and\n"
        "detect on it need no -data. Images are linked (or copied) under OUT/images/ with\n"
        "names that hold one label token each, so Darknet's substring label rule cannot\n"
        "mislabel them; names.list keeps the class names. Without -unlabeled, the pool is\n"
        "-unlabeled_share of each class plus -ood_pool_share of each -ood set.",
    .options = options, .n_options = MCD_COUNT(options),
    .notes = "Files that are not images are skipped and counted; unreadable images and images in\n"
             "two classes stop the import (exit 1) unless -skip_bad. Nothing is written until\n"
             "every image has been read; OUT is swapped in whole, and left untouched when it\n"
             "already holds the same output. Details: docs/data.md.",
    .run = run,
};

/* Split -ood NAME=DIR values. */
static int ood_sets(const import_options *o, const char ***names, const char ***dirs, char ***owned)
{
    int n = o->ood.n;
    *names = calloc((size_t)(n ? n : 1), sizeof **names);
    *dirs = calloc((size_t)(n ? n : 1), sizeof **dirs);
    *owned = calloc((size_t)(n ? n : 1), sizeof **owned);
    if (!*names || !*dirs || !*owned) {
        mcd_set_error("out of memory");
        return -1;
    }
    for (int i = 0; i < n; ++i) {
        const char *v = o->ood.v[i], *eq = strchr(v, '=');
        if (!eq || eq == v || !eq[1]) {
            mcd_set_error("-ood '%s': expected NAME=DIR", v);
            return -1;
        }
        (*owned)[i] = strndup(v, (size_t)(eq - v));
        if (!(*owned)[i]) {
            mcd_set_error("out of memory");
            return -1;
        }
        (*names)[i] = (*owned)[i];
        (*dirs)[i] = eq + 1;
    }
    return 0;
}

/* The shipped cfg nearest the images: by |log(side ratio)|, colour images kept off a
 * 1-channel cfg. NULL when none of them is here. */
static const char *fitting_cfg(const mcd_import_plan *p, mcd_cfg_shape *shape)
{
    double side = sqrt((double)p->median_w * p->median_h), best = 1e30;
    const char *chosen = NULL;
    for (int i = 0; i < MCD_COUNT(shipped_cfgs); ++i) {
        mcd_cfg_shape s;
        struct stat st;
        if (stat(shipped_cfgs[i], &st) != 0 || mcd_cfg_read_shape(shipped_cfgs[i], &s)) continue;
        double d = fabs(log(side / sqrt((double)s.width * s.height)));
        if (s.channels == 1 && p->colour_images > p->grey_images) d += 1;
        if (d < best) {
            best = d;
            chosen = shipped_cfgs[i];
            *shape = s;
        }
    }
    return chosen;
}

static void print_summary(const mcd_import_plan *p, const import_options *o)
{
    static const int shown[] = {MCD_SPLIT_TRAIN, MCD_SPLIT_VALID, MCD_SPLIT_TEST, MCD_SPLIT_POOL_ID};
    int wide = 5;
    for (int c = 0; c < p->classes.n; ++c)
        if ((int)strlen(p->classes.v[c]) > wide) wide = (int)strlen(p->classes.v[c]);
    if (wide > 40) wide = 40;
    int kept = 0;
    for (int k = MCD_SPLIT_TRAIN; k <= MCD_SPLIT_POOL_ID; ++k) kept += p->counts[k];
    printf("%d images in %d classes from %s", kept, p->classes.n, o->labeled);
    if (o->test) printf(" and %s", o->test);
    printf("\n");
    printf("  %-*s %7s %7s %7s %7s\n", wide, "class", "train", "valid", "test", "pool");
    for (int c = 0; c < p->classes.n; ++c) {
        printf("  %-*.*s", wide, wide, p->classes.v[c]);
        for (int k = 0; k < 4; ++k) printf(" %7d", p->class_counts[c * MCD_SPLIT_COUNT + shown[k]]);
        printf("\n");
    }
    printf("  %-*s", wide, "total");
    for (int k = 0; k < 4; ++k) printf(" %7d", p->counts[shown[k]]);
    printf("\n");
    for (int s = 0; s < p->ood_sets.n; ++s)
        printf("OOD set %s: %d test images, %d into the pool\n", p->ood_sets.v[s],
               p->ood_counts[s * MCD_SPLIT_COUNT + MCD_SPLIT_OOD_TEST],
               p->ood_counts[s * MCD_SPLIT_COUNT + MCD_SPLIT_POOL_OOD]);
    int pool = p->counts[MCD_SPLIT_POOL_ID] + p->counts[MCD_SPLIT_POOL_OOD] + p->counts[MCD_SPLIT_POOL];
    if (o->unlabeled)
        printf("unlabeled pool: %d images from %s, as given\n", pool, o->unlabeled);
    else if (pool)
        printf("unlabeled pool: %d images: %d held out of the classes (%g of each) + %d from the "
               "OOD sets (%g of each)\n", pool, p->counts[MCD_SPLIT_POOL_ID], o->unlabeled_share,
               p->counts[MCD_SPLIT_POOL_OOD], o->ood_pool_share);
    else
        printf("unlabeled pool: none (-unlabeled_share 0 and no OOD share): fine-tuning needs one; "
               "train will pre-train only with -finetune_batches 0\n");
    printf("image sizes (all sets): smallest %dx%d, median %dx%d, largest %dx%d; %d colour, %d grey\n",
           p->min_w, p->min_h, p->median_w, p->median_h, p->max_w, p->max_h, p->colour_images,
           p->grey_images);
    if (p->not_images || p->hidden || p->loose) {
        printf("skipped: %d file%s that %s not an image%s", p->not_images,
               p->not_images == 1 ? "" : "s", p->not_images == 1 ? "is" : "are",
               p->not_images == 1 ? "" : "s");
        for (int i = 0; i < p->skipped.n; ++i) printf("%s'%s'", i ? ", " : " (", p->skipped.v[i]);
        if (p->skipped.n) printf("%s)", p->not_images > p->skipped.n ? ", ..." : "");
        printf(", %d hidden entr%s, %d file%s outside the class folders\n", p->hidden,
               p->hidden == 1 ? "y" : "ies", p->loose, p->loose == 1 ? "" : "s");
    }
    if (p->unreadable || p->ambiguous)
        printf("left out (-skip_bad): %d unreadable images, %d images found in two classes or in a "
               "class and an OOD set\n", p->unreadable, p->ambiguous);
    if (p->duplicates)
        printf("note: %d labeled images are byte-identical copies of another of the same class\n",
               p->duplicates);
}

static int import(const import_options *o)
{
    const char **names = NULL, **dirs = NULL;
    char **owned = NULL;
    mcd_import_plan plan;
    memset(&plan, 0, sizeof plan);
    int rc = -1;
    if (!o->labeled || !o->out) {
        mcd_set_error("import needs -labeled DIR and -out DIR (darknet mcd import -h)");
        return -1;
    }
    if (o->link && o->copy) {
        mcd_set_error("-link and -copy: choose one");
        return -1;
    }
    mcd_import_options io = {
        .labeled = o->labeled, .unlabeled = o->unlabeled, .test = o->test, .n_ood = o->ood.n,
        .classes = o->classes, .valid_share = o->valid_share, .test_share = o->test_share,
        .unlabeled_share = o->unlabeled ? 0 : o->unlabeled_share,
        .ood_pool_share = o->ood_pool_share, .seed = (uint64_t)o->seed, .skip_bad = o->skip_bad,
        .progress = stderr,
    };
    if (ood_sets(o, &names, &dirs, &owned)) goto done;
    io.ood_names = names;
    io.ood_dirs = dirs;
    if (mcd_import_check_output(&io, o->out) || mcd_import_scan(&io, &plan)) goto done;
    mcd_cfg_shape shape = {0};
    const char *cfg = NULL;
    if (o->cfg && strcmp(o->cfg, "none") == 0) cfg = NULL;
    else if (o->cfg) {
        if (mcd_cfg_read_shape(o->cfg, &shape)) goto done;
        cfg = o->cfg;
    } else {
        cfg = fitting_cfg(&plan, &shape);
    }
    mcd_import_output out = {.out = o->out, .copy = o->copy, .cfg = cfg};
    mcd_import_written w;
    if (mcd_import_write(&plan, &out, &w)) goto done;
    print_summary(&plan, o);
    if (w.unchanged) printf("%s already holds this import: nothing changed\n", o->out);
    else printf("wrote %s%s\n", w.data, w.replaced ? " (replacing the earlier import; backup/ kept)" : "");
    if (cfg) {
        int train = plan.counts[MCD_SPLIT_TRAIN];
        printf("cfg: %s (input %dx%dx%d%s; median image %dx%d) -> %s\n", cfg, shape.width,
               shape.height, shape.channels, o->cfg ? ", -cfg" : ", the nearest shipped cfg",
               plan.median_w, plan.median_h, w.cfg);
        if (train && shape.max_batches)
            printf("its schedule: max_batches %d x batch %d = %.1f epochs of the %d training images\n",
                   shape.max_batches, shape.batch, (double)shape.max_batches * shape.batch / train,
                   train);
        printf("next: darknet mcd train %s\n", w.cfg);
    } else if (!o->cfg) {
        printf("no shipped cfg found (run from the darknet-mcd folder, or give -cfg)\n");
    }
    rc = 0;
done:
    mcd_import_plan_free(&plan);
    for (int i = 0; owned && i < o->ood.n; ++i) free(owned[i]);
    free(owned);
    free(names);
    free(dirs);
    return rc;
}

static int run(int argc, char **argv)
{
    import_options o = {.valid_share = 0.1, .test_share = 0.1, .unlabeled_share = -1,
                        .ood_pool_share = 0.5, .seed = 1};
    int status;
    if (mcd_command_start(&mcd_import_command, argc, argv, &o, &status)) {
        mcd_arg_list_free(&o.ood);
        return status;
    }
    int given = o.unlabeled_share >= 0;
    if (o.unlabeled && given) {
        mcd_arg_list_free(&o.ood);
        mcd_set_error("-unlabeled_share with -unlabeled: the pool is -unlabeled DIR as given; drop "
                      "one of them");
        return mcd_command_failed();
    }
    if (!given) o.unlabeled_share = o.unlabeled ? 0 : 0.2;
    mcd_set_image_max_pixels(o.max_pixels);
    int rc = import(&o);
    mcd_arg_list_free(&o.ood);
    return rc ? mcd_command_failed() : 0;
}
