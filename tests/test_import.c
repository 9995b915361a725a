/* `darknet mcd import` (plugin/commands/import.c, io/folder_import.c, io/import_writer.c) on
 * class folders generated here from the small data set: colour and grey, PNG and JPEG,
 * four sizes, nested folders, class names that are substrings of each other (shirt,
 * t-shirt, tshirt_long), a file that is not an image and a hidden one. Every labeled entry's
 * label is checked with Darknet's substring rule against the folder its source came from;
 * then the bad inputs of the issue, each refused with one line and nothing written; then
 * the user's whole path: import -> train (short) -> calibrate -> valid -> detect. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "darknet.h"
#include "io/data_lists.h"
#include "io/image_io.h"
#include "option_list.h"
#include "test_util.h"
#include "util/file_tree.h"

#define PER_CLASS 40
#define OOD_IMAGES 24
static const char *const class_dirs[3] = {"shirt", "t-shirt", "tshirt_long"};
static const char *const source_labels[3] = {"top", "trouser", "bag"}; /* Fashion-MNIST's */

static struct {
    int ready;
    char dir[64];       /* the temporary folder */
    char src[128];      /* its class folders */
    char ood[128];      /* MNIST digits: an OOD set */
    char out[128];      /* the first import */
} fx;

static char output[65536];

/* The first n images of label `want` in the small data set's train (or ood-mnist) list. */
static int pick(const char *list, const char *want, char **paths, int n)
{
    int total = 0, got = 0;
    char **all = mcd_read_list(list, &total, 0);
    if (!all) return 0;
    for (int i = 0; i < total && got < n; ++i)
        if (!want || strstr(all[i], want)) paths[got++] = strdup(all[i]);
    mcd_free_list(all, total);
    return got;
}

/* A tint that makes a grey picture colour: channel k scaled by 1, 0.7, 0.4. */
static void tint(image im)
{
    int n = im.w * im.h;
    for (int i = 0; i < n; ++i) {
        im.data[n + i] *= 0.7f;
        im.data[2 * n + i] *= 0.4f;
    }
}

/* Write source image `path` as image number i of a class: four kinds in turn. */
static int write_variant(const char *path, const char *class_dir, int i)
{
    image im;
    if (mcd_read_image(path, 0, 0, 3, &im)) return -1;
    static const int sizes[4][2] = {{28, 28}, {36, 40}, {32, 32}, {24, 24}};
    static const char *const subdirs[4] = {"", "/sub", "/sub/deeper", ""};
    int kind = i % 4;
    image r = resize_image(im, sizes[kind][0], sizes[kind][1]);
    char dir[512], name[600];
    snprintf(dir, sizeof dir, "%s%s", class_dir, subdirs[kind]);
    mkdir(dir, 0755);
    snprintf(name, sizeof name, "%s/img%03d", dir, i);
    if (kind == 1 || kind == 2) {
        tint(r);
        save_image_options(r, name, kind == 1 ? JPG : PNG, 90);
    } else {
        image g = make_image(r.w, r.h, 1); /* one channel: a grey file */
        memcpy(g.data, r.data, sizeof(float) * r.w * r.h);
        save_image_options(g, name, kind == 0 ? PNG : JPG, 90);
        free_image(g);
    }
    free_image(r);
    free_image(im);
    return 0;
}

static int make_folders(void)
{
    if (fx.ready) return fx.ready > 0 ? 0 : -1;
    fx.ready = -1;
    snprintf(fx.dir, sizeof fx.dir, "/tmp/mcd-import-XXXXXX");
    if (!mkdtemp(fx.dir)) return -1;
    snprintf(fx.src, sizeof fx.src, "%s/photos", fx.dir);
    snprintf(fx.ood, sizeof fx.ood, "%s/digits", fx.dir);
    snprintf(fx.out, sizeof fx.out, "%s/mine", fx.dir);
    mkdir(fx.src, 0755);
    mkdir(fx.ood, 0755);
    char *paths[PER_CLASS];
    for (int c = 0; c < 3; ++c) {
        int n = pick("data/fmnist-small/train.list", source_labels[c], paths, PER_CLASS);
        if (n != PER_CLASS) return -1;
        char class_dir[256];
        snprintf(class_dir, sizeof class_dir, "%s/%s", fx.src, class_dirs[c]);
        mkdir(class_dir, 0755);
        for (int i = 0; i < n; ++i) {
            if (write_variant(paths[i], class_dir, i)) return -1;
            free(paths[i]);
        }
    }
    test_write_text(test_path(fx.src, "shirt/notes.txt"), "not an image\n");
    test_write_text(test_path(fx.src, "t-shirt/.DS_Store"), "hidden\n");
    int n = pick("data/fmnist-small/ood-mnist.list", NULL, paths, OOD_IMAGES);
    for (int i = 0; i < n; ++i) {
        char dst[300];
        snprintf(dst, sizeof dst, "%s/%03d.png", fx.ood, i);
        if (mcd_copy_file(paths[i], dst)) return -1;
        free(paths[i]);
    }
    if (n != OOD_IMAGES) return -1;
    fx.ready = 1;
    return 0;
}

static int import(const char *out, const char *more)
{
    return test_run_darknet(output, sizeof output,
                            "mcd import -labeled %s -ood digits=%s -out %s -cfg cfg/mcd-small.cfg %s",
                            fx.src, fx.ood, out, more ? more : "");
}

static int exists(const char *path)
{
    struct stat st;
    return lstat(path, &st) == 0;
}

/* Read a list: n entries (free with mcd_free_list). */
static char **list_of(const char *out, const char *name, int *n)
{
    return mcd_read_list(test_path(out, name), n, 0);
}

static void test_import_labels(void)
{
    CU_ASSERT_FATAL(make_folders() == 0);
    int rc = import(fx.out, NULL);
    CU_ASSERT_EQUAL_FATAL(rc, 0);
    if (rc) printf("\n%s\n", output);
    CU_ASSERT_PTR_NOT_NULL(strstr(output, "120 images in 3 classes"));
    CU_ASSERT_PTR_NOT_NULL(strstr(output, "1 file that is not an image"));
    CU_ASSERT_PTR_NOT_NULL(strstr(output, "60 colour, 84 grey")); /* + 24 grey MNIST digits */
    CU_ASSERT_PTR_NOT_NULL(strstr(output, "smallest 24x24"));
    CU_ASSERT_PTR_NOT_NULL(strstr(output, "largest 36x40"));

    int k = 0, nn = 0;
    char **labels = list_of(fx.out, "labels.list", &k), **names = list_of(fx.out, "names.list", &nn);
    CU_ASSERT_EQUAL_FATAL(k, 3);
    CU_ASSERT_EQUAL_FATAL(nn, 3);
    for (int c = 0; c < 3; ++c) CU_ASSERT_STRING_EQUAL(names[c], class_dirs[c]);

    /* every entry of sources.tsv: its label (Darknet's rule) is the folder it came from */
    FILE *f = fopen(test_path(fx.out, "sources.tsv"), "r");
    CU_ASSERT_PTR_NOT_NULL_FATAL(f);
    char line[2048];
    int labeled = 0, unlabeled = 0, wrong = 0;
    int per_class[3] = {0};
    CU_ASSERT_PTR_NOT_NULL(fgets(line, sizeof line, f)); /* the header */
    while (fgets(line, sizeof line, f)) {
        line[strcspn(line, "\n")] = 0;
        char *tab = strchr(line, '\t');
        CU_ASSERT_PTR_NOT_NULL_FATAL(tab);
        *tab = 0;
        const char *entry = line, *source = tab + 1;
        int truth = -1;
        size_t n = strlen(fx.src);
        for (int c = 0; c < 3; ++c) {
            size_t m = strlen(class_dirs[c]);
            if (strncmp(source, fx.src, n) == 0 && strncmp(source + n + 1, class_dirs[c], m) == 0 &&
                source[n + 1 + m] == '/') truth = c;
        }
        int found = mcd_label_of(entry, labels, k);
        if (strstr(entry, "/images/train/") || strstr(entry, "/images/valid/") ||
            strstr(entry, "/images/test/")) {
            ++labeled;
            if (truth < 0 || found != truth) ++wrong;
            else ++per_class[truth];
        } else {
            ++unlabeled;
            if (found != -1) ++wrong; /* unlabeled and OOD entries hold no label */
        }
        /* the entry is a link to the source's real path */
        char target[1024], real[1024];
        ssize_t t = readlink(entry, target, sizeof target - 1);
        CU_ASSERT_TRUE(t > 0);
        if (t > 0) {
            target[t] = 0;
            CU_ASSERT_PTR_NOT_NULL(realpath(source, real));
            CU_ASSERT_STRING_EQUAL(target, real);
        }
    }
    fclose(f);
    CU_ASSERT_EQUAL(wrong, 0);
    CU_ASSERT_EQUAL(labeled + unlabeled, 3 * PER_CLASS + OOD_IMAGES);
    /* 40 per class: 4 valid, 4 test, 8 into the pool, 24 train */
    for (int c = 0; c < 3; ++c) CU_ASSERT_EQUAL(per_class[c], PER_CLASS - 8);
    int n = 0;
    char **train = list_of(fx.out, "train.list", &n);
    CU_ASSERT_EQUAL(n, 72);
    mcd_free_list(train, n);
    char **ood = list_of(fx.out, "ood-digits.list", &n);
    CU_ASSERT_EQUAL(n, OOD_IMAGES / 2);
    mcd_free_list(ood, n);
    char **pool = list_of(fx.out, "unlabeled.list", &n);
    CU_ASSERT_EQUAL(n, 24 + OOD_IMAGES / 2);
    mcd_free_list(pool, n);
    mcd_free_list(labels, k);
    mcd_free_list(names, nn);

    /* the data file names every key the verbs read, under OUT */
    list *data = mcd_read_data_file(test_path(fx.out, "mcd.data"));
    CU_ASSERT_PTR_NOT_NULL_FATAL(data);
    const char *keys[] = {"classes", "labels", "names", "train", "valid", "id_test", "unlabeled",
                          "ood", "backup", "transductive_id", "transductive_ood"};
    for (size_t i = 0; i < sizeof keys / sizeof *keys; ++i) {
        const char *v = option_find(data, (char *)keys[i]);
        CU_ASSERT_PTR_NOT_NULL(v);
        if (v && strcmp(keys[i], "classes")) CU_ASSERT_EQUAL(strncmp(v, fx.out, strlen(fx.out)), 0);
    }
    mcd_free_data_file(data);

    /* the cfg: heads of 3 classes, data= the import */
    rc = test_run_darknet(output, sizeof output, "mcd check %s/mcd-small.cfg", fx.out);
    CU_ASSERT_EQUAL(rc, 0);
    CU_ASSERT_PTR_NOT_NULL(strstr(output, "classes 3"));
    char cfg_text[8192] = "";
    FILE *cf = fopen(test_path(fx.out, "mcd-small.cfg"), "r");
    CU_ASSERT_PTR_NOT_NULL_FATAL(cf);
    cfg_text[fread(cfg_text, 1, sizeof cfg_text - 1, cf)] = 0;
    fclose(cf);
    char want[256];
    snprintf(want, sizeof want, "\ndata=%s/mcd.data\n", fx.out);
    CU_ASSERT_PTR_NOT_NULL(strstr(cfg_text, want));
}

/* Same arguments: no file changes. Another seed: other splits. */
static void test_import_repeat(void)
{
    CU_ASSERT_FATAL(make_folders() == 0);
    if (!exists(test_path(fx.out, "mcd.data"))) CU_ASSERT_EQUAL_FATAL(import(fx.out, NULL), 0);
    struct stat before, after;
    CU_ASSERT_EQUAL(stat(test_path(fx.out, "train.list"), &before), 0);
    sleep(1); /* an mtime that would show a rewrite */
    CU_ASSERT_EQUAL(import(fx.out, NULL), 0);
    CU_ASSERT_PTR_NOT_NULL(strstr(output, "nothing changed"));
    CU_ASSERT_EQUAL(stat(test_path(fx.out, "train.list"), &after), 0);
    CU_ASSERT_EQUAL(before.st_mtime, after.st_mtime);
    CU_ASSERT_EQUAL(before.st_ino, after.st_ino);

    /* the same seed into another folder: the same lists, OUT's name aside */
    char other[160];
    snprintf(other, sizeof other, "%s/again", fx.dir);
    CU_ASSERT_EQUAL_FATAL(import(other, NULL), 0);
    int n1 = 0, n2 = 0;
    char **a = list_of(fx.out, "train.list", &n1), **b = list_of(other, "train.list", &n2);
    CU_ASSERT_EQUAL_FATAL(n1, n2);
    int same = 1;
    for (int i = 0; i < n1; ++i)
        same &= strcmp(a[i] + strlen(fx.out), b[i] + strlen(other)) == 0;
    CU_ASSERT_TRUE(same);
    mcd_free_list(b, n2);
    /* seed 2: other images train */
    CU_ASSERT_EQUAL_FATAL(import(other, "-seed 2"), 0);
    CU_ASSERT_PTR_NOT_NULL(strstr(output, "replacing"));
    int differ = 0, n3 = 0;
    FILE *s1 = fopen(test_path(fx.out, "sources.tsv"), "r"), *s2 = fopen(test_path(other, "sources.tsv"), "r");
    char l1[2048], l2[2048];
    while (s1 && s2 && fgets(l1, sizeof l1, s1) && fgets(l2, sizeof l2, s2)) {
        ++n3;
        differ += strcmp(l1 + strlen(fx.out), l2 + strlen(other)) != 0;
    }
    if (s1) fclose(s1);
    if (s2) fclose(s2);
    CU_ASSERT_TRUE(differ > 10);
    mcd_free_list(a, n1);
    mcd_remove_tree(other);
}

/* One bad input: exit 1, one line naming `named`, OUT not made, no half-written folder. */
static void refused(const char *what, int rc, const char *out, const char *named)
{
    /* lines of ours (OpenCV's decoders may add their own warnings on a broken file) */
    int lines = 0;
    for (const char *p = output; p && *p; p = strchr(p, '\n') ? strchr(p, '\n') + 1 : NULL)
        lines += strncmp(p, "libpng", 6) != 0 && *p != '\n';
    int ok = rc == 1 && lines == 1 && strstr(output, "error:") && strstr(output, named) &&
             !exists(out);
    /* no OUT.import-<pid> left beside it */
    char cmd[400];
    snprintf(cmd, sizeof cmd, "ls -d %s* 2>/dev/null | grep -c import- ", out);
    char ls[256];
    test_run_command(cmd, ls, sizeof ls);
    ok &= atoi(ls) == 0;
    if (!ok) printf("\n%s: exit %d, output:\n%s\n", what, rc, output);
    CU_ASSERT_TRUE(ok);
}

static void test_import_bad_inputs(void)
{
    CU_ASSERT_FATAL(make_folders() == 0);
    char out[200], dir[400], bad[600];
    snprintf(out, sizeof out, "%s/bad-out", fx.dir);
    int rc;

    rc = test_run_darknet(output, sizeof output, "mcd import -labeled %s/none -out %s", fx.dir, out);
    refused("missing folder", rc, out, "/none");

    snprintf(bad, sizeof bad, "%s/inside", fx.src);
    rc = test_run_darknet(output, sizeof output, "mcd import -labeled %s -out %s", fx.src, bad);
    refused("output inside input", rc, bad, "overlap");

    rc = test_run_darknet(output, sizeof output, "mcd import -labeled %s -out %s", fx.src, fx.dir);
    CU_ASSERT_EQUAL(rc, 1);
    CU_ASSERT_PTR_NOT_NULL(strstr(output, "overlap"));

    rc = test_run_darknet(output, sizeof output, "mcd import -labeled %s -out %s", fx.ood, out);
    refused("no class folders", rc, out, "no class folders");

    snprintf(dir, sizeof dir, "%s/one", fx.dir);
    mkdir(dir, 0755);
    snprintf(bad, sizeof bad, "ln -s %s/shirt %s/shirt", fx.src, dir);
    test_run_command(bad, output, sizeof output);
    rc = test_run_darknet(output, sizeof output, "mcd import -labeled %s -out %s", dir, out);
    refused("one class", rc, out, "one class folder");

    snprintf(bad, sizeof bad, "-ood shirt=%s", fx.ood);
    rc = import(out, bad);
    refused("OOD name = class name", rc, out, "shirt");

    rc = import(out, "-valid_share 0.5 -test_share 0.4");
    refused("shares", rc, out, "sum below 1");

    /* an unwritable output: a path under a regular file */
    snprintf(dir, sizeof dir, "%s/file", fx.dir);
    test_write_text(dir, "x");
    snprintf(bad, sizeof bad, "%s/file/out", fx.dir);
    rc = import(bad, NULL);
    refused("unwritable output", rc, bad, "file");

    /* copies of the class folders, broken one way at a time */
    char copy[160];
    snprintf(copy, sizeof copy, "%s/copy", fx.dir);
    char cmd[600];
    snprintf(cmd, sizeof cmd, "rm -rf %s && cp -r %s %s", copy, fx.src, copy);
#define FRESH_COPY() CU_ASSERT_EQUAL(test_run_command(cmd, output, sizeof output), 0)
#define IMPORT_COPY(more) test_run_darknet(output, sizeof output, \
        "mcd import -labeled %s -out %s %s", copy, out, more)

    FRESH_COPY();
    snprintf(bad, sizeof bad, "%s/shirt/sub/loop", copy);
    CU_ASSERT_EQUAL(symlink("..", bad), 0);
    rc = IMPORT_COPY("");
    refused("symlink loop", rc, out, "symlink loop");

    FRESH_COPY();
    snprintf(bad, sizeof bad, "%s/empty", copy);
    mkdir(bad, 0755);
    test_write_text(test_path(bad, "readme.txt"), "no images here\n");
    rc = IMPORT_COPY("");
    refused("empty class", rc, out, "empty");

    FRESH_COPY();
    snprintf(bad, sizeof bad, "%s/t-shirt/broken.png", copy);
    test_write_text(bad, "\x89PNG\r\n\x1a\n truncated");
    rc = IMPORT_COPY("");
    refused("unreadable image", rc, out, "broken.png");
    rc = IMPORT_COPY("-skip_bad");
    CU_ASSERT_EQUAL(rc, 0);
    CU_ASSERT_PTR_NOT_NULL(strstr(output, "1 unreadable"));
    mcd_remove_tree(out);

    FRESH_COPY();
    snprintf(bad, sizeof bad, "%s/t-shirt/from-shirt.png", copy);
    CU_ASSERT_EQUAL(mcd_copy_file(test_path(copy, "shirt/img000.png"), bad), 0);
    rc = IMPORT_COPY("");
    refused("same image in two classes", rc, out, "from-shirt.png");
    rc = IMPORT_COPY("-skip_bad");
    CU_ASSERT_EQUAL(rc, 0);
    CU_ASSERT_PTR_NOT_NULL(strstr(output, "2 images found in two classes"));
    mcd_remove_tree(out);

    /* an output folder that import did not write is not replaced */
    mkdir(out, 0755);
    test_write_text(test_path(out, "precious.txt"), "keep me\n");
    rc = IMPORT_COPY("");
    CU_ASSERT_EQUAL(rc, 1);
    CU_ASSERT_PTR_NOT_NULL(strstr(output, "not written by mcd import"));
    CU_ASSERT_TRUE(exists(test_path(out, "precious.txt")));
    mcd_remove_tree(out);
    mcd_remove_tree(copy);
#undef FRESH_COPY
#undef IMPORT_COPY
}

/* The whole path: import -> train -> calibrate -> valid -> detect, with no -data. */
static void test_import_train_detect(void)
{
    CU_ASSERT_FATAL(make_folders() == 0);
    char out[160];
    snprintf(out, sizeof out, "%s/whole", fx.dir);
    CU_ASSERT_EQUAL_FATAL(import(out, "-ood_pool_share 0.5"), 0);
    char cfg[200], weights[240];
    snprintf(cfg, sizeof cfg, "%s/mcd-small.cfg", out);
    snprintf(weights, sizeof weights, "%s/backup/mcd-small_best.weights", out);
    int rc = test_run_darknet(output, sizeof output,
                              "mcd train %s -seed 3 -pretrain_batches 120 -finetune_batches 10", cfg);
    CU_ASSERT_EQUAL_FATAL(rc, 0);
    CU_ASSERT_TRUE(exists(weights));
    rc = test_run_darknet(output, sizeof output, "mcd calibrate %s %s", cfg, weights);
    CU_ASSERT_EQUAL(rc, 0);
    CU_ASSERT_PTR_NOT_NULL(strstr(output, "/valid.list"));
    rc = test_run_darknet(output, sizeof output, "mcd valid %s %s", cfg, weights);
    CU_ASSERT_EQUAL(rc, 0);
    CU_ASSERT_PTR_NOT_NULL(strstr(output, "ood-digits"));
    const char *acc = strstr(output, "average ");
    CU_ASSERT_PTR_NOT_NULL_FATAL(acc);
    double average = atof(acc + 8);
    CU_ASSERT_TRUE(average > 60); /* 3 classes: chance is 33% */
    if (average <= 60) printf("\nID accuracy %.2f%%\n%s\n", average, output);

    /* detect names the classes; its class is right for most ID test images */
    rc = test_run_darknet(output, sizeof output, "mcd detect %s %s %s/images/test", cfg, weights, out);
    CU_ASSERT_EQUAL(rc, 0);
    int n = 0, right = 0;
    for (char *line = strtok(output, "\n"); line; line = strtok(NULL, "\n")) {
        const char *tok = strstr(line, "_c0");
        if (!tok || !strstr(line, ": ")) continue;
        int c = tok[3] - '0';
        ++n;
        char want[40];
        snprintf(want, sizeof want, " %s ", class_dirs[c]);
        right += strstr(line, want) != NULL;
    }
    CU_ASSERT_EQUAL(n, 12);
    CU_ASSERT_TRUE(right >= 8);
    if (right < 8) printf("\ndetect: %d of %d right\n", right, n);
}

static void test_import_cleanup(void)
{
    if (fx.ready > 0) CU_ASSERT_EQUAL(mcd_remove_tree(fx.dir), 0);
    fx.ready = 0;
}

int add_import_suite(void)
{
    CU_pSuite s = test_add_suite("import");
    if (!s) return -1;
    return !CU_add_test(s, "class folders -> lists whose labels are the folders", test_import_labels) ||
           !CU_add_test(s, "same arguments change nothing; the seed decides", test_import_repeat) ||
           !CU_add_test(s, "bad inputs: one line, exit 1, nothing written", test_import_bad_inputs) ||
           !CU_add_test(s, "import -> train -> calibrate -> valid -> detect", test_import_train_detect) ||
           !CU_add_test(s, "cleanup", test_import_cleanup);
}
