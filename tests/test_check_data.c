/* `darknet mcd check CFG -data FILE`: a class count that differs from the heads' is one error
 * line (exit status 1), training images whose median size is more than 2x from the input
 * one warning line; and the image sizes behind it (io/image_size: image headers,
 * other formats decoded, the median of an evenly spaced sample). */
#define _GNU_SOURCE
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "darknet.h"
#include "io/image_size.h"
#include "test_util.h"
#include "util/mcd_error.h"

#define CFG "cfg/mcd-resnet-32.cfg" /* 32x32 input, 10 classes */

static char dir[64];
static char out[1 << 16];

static const char *path_in(const char *name)
{
    return test_path(dir, name);
}

/* A w x h picture (a gradient, so that JPEG has something to code) as stem + extension. */
static void write_image(const char *stem, int w, int h, IMTYPE type)
{
    image im = make_image(w, h, 3);
    for (int i = 0; i < w * h * 3; ++i) im.data[i] = (float)(i % 97) / 96.0f;
    save_image_options(im, path_in(stem), type, 90);
    free_image(im);
}

static int lines_with(const char *text, const char *what)
{
    int n = 0;
    for (const char *p = text; (p = strstr(p, what)); p += strlen(what)) ++n;
    return n;
}

/* The first len bytes of file from into file to. */
static int copy_head(const char *from, const char *to, long len)
{
    FILE *f = fopen(from, "rb"), *g = fopen(to, "wb");
    if (!f || !g) return -1;
    char buf[4096];
    long n = fread(buf, 1, len < (long)sizeof buf ? len : (long)sizeof buf, f);
    fwrite(buf, 1, n, g);
    fclose(f);
    return fclose(g);
}

static void test_image_size(void)
{
    int w = 0, h = 0;
    write_image("a", 37, 23, PNG);
    write_image("b", 41, 19, JPG);
    write_image("c", 13, 29, BMP);
    CU_ASSERT_EQUAL(mcd_image_size(path_in("a.png"), &w, &h), 0);
    CU_ASSERT(w == 37 && h == 23);
    CU_ASSERT_EQUAL(mcd_image_size(path_in("b.jpg"), &w, &h), 0);
    CU_ASSERT(w == 41 && h == 19);
    CU_ASSERT_EQUAL(mcd_image_size(path_in("c.bmp"), &w, &h), 0); /* decoded */
    CU_ASSERT(w == 13 && h == 29);
    /* PNG and JPEG are read from the header: a file cut after it still has its size */
    CU_ASSERT_EQUAL_FATAL(copy_head(path_in("a.png"), path_in("cut.png"), 33), 0);
    CU_ASSERT_EQUAL(mcd_image_size(path_in("cut.png"), &w, &h), 0);
    CU_ASSERT(w == 37 && h == 23);
    /* a JPEG cut before its frame header, and other damaged files: decoded, so an error
     * naming the file */
    CU_ASSERT_EQUAL_FATAL(copy_head(path_in("b.jpg"), path_in("cut.jpg"), 30), 0);
    CU_ASSERT_EQUAL(mcd_image_size(path_in("cut.jpg"), &w, &h), -1);
    CU_ASSERT_PTR_NOT_NULL(strstr(mcd_last_error(), "cut.jpg"));
    CU_ASSERT_EQUAL_FATAL(test_write_text(path_in("text.png"), "not an image\n"), 0);
    CU_ASSERT_EQUAL(mcd_image_size(path_in("text.png"), &w, &h), -1);
    CU_ASSERT_PTR_NOT_NULL(strstr(mcd_last_error(), "text.png"));
    CU_ASSERT_EQUAL(mcd_image_size(path_in("missing.png"), &w, &h), -1);
    CU_ASSERT_PTR_NOT_NULL(strstr(mcd_last_error(), "missing.png"));
}

static void test_median_size(void)
{
    write_image("m1", 10, 90, PNG);
    write_image("m2", 20, 30, PNG);
    write_image("m3", 40, 50, JPG);
    write_image("m4", 80, 10, PNG);
    char *paths[4] = {strdup(path_in("m1.png")), strdup(path_in("m2.png")),
                      strdup(path_in("m3.jpg")), strdup(path_in("m4.png"))};
    int w, h, k;
    /* widths 10 20 40 80, heights 10 30 50 90: the lower middle of each */
    CU_ASSERT_EQUAL(mcd_median_image_size(paths, 4, 200, "l", &w, &h, &k), 0);
    CU_ASSERT(w == 20 && h == 30 && k == 4);
    /* a sample of 2 of 4: entries 0 and 2 */
    CU_ASSERT_EQUAL(mcd_median_image_size(paths, 4, 2, "l", &w, &h, &k), 0);
    CU_ASSERT(w == 10 && h == 50 && k == 2);
    CU_ASSERT_EQUAL(mcd_median_image_size(paths, 3, 3, "l", &w, &h, &k), 0);
    CU_ASSERT(w == 20 && h == 50 && k == 3);
    /* a missing image: the list and its entry named */
    free(paths[2]);
    paths[2] = strdup(path_in("gone.png"));
    CU_ASSERT_EQUAL(mcd_median_image_size(paths, 4, 200, "my.list", &w, &h, &k), -1);
    CU_ASSERT_PTR_NOT_NULL(strstr(mcd_last_error(), "my.list:3"));
    CU_ASSERT_PTR_NOT_NULL(strstr(mcd_last_error(), "gone.png"));
    for (int i = 0; i < 4; ++i) free(paths[i]);
}

/* A data set "NAME.data" of n training images of w x h, with the given classes= (0: no such
 * line) and a labels file of `labels` names (0: none). */
static const char *write_data(const char *name, int n, int w, int h, int classes, int labels)
{
    char stem[128], file[160], text[2400];
    snprintf(file, sizeof file, "%s.list", name);
    FILE *f = fopen(path_in(file), "w");
    for (int i = 0; i < n; ++i) {
        snprintf(stem, sizeof stem, "%s-%d", name, i);
        write_image(stem, w, h, PNG);
        fprintf(f, "%s.png\n", path_in(stem));
    }
    fclose(f);
    int len = snprintf(text, sizeof text, "train=%s\n", path_in(file));
    if (classes) len += snprintf(text + len, sizeof text - len, "classes=%d\n", classes);
    if (labels) {
        char names[400] = "";
        for (int i = 0; i < labels; ++i) snprintf(names + strlen(names), 20, "class%d\n", i);
        snprintf(file, sizeof file, "%s.labels", name);
        test_write_text(path_in(file), names);
        snprintf(text + len, sizeof text - len, "labels=%s\n", path_in(file));
    }
    snprintf(file, sizeof file, "%s.data", name);
    test_write_text(path_in(file), text);
    return path_in(file);
}

static int check(const char *data)
{
    return test_run_darknet(out, sizeof out, "mcd check %s -data %s", CFG, data);
}

static void test_data_fits(void)
{
    /* images at the input's size, classes= and labels= both 10 */
    CU_ASSERT_EQUAL(check(write_data("fits", 3, 32, 32, 10, 10)), 0);
    CU_ASSERT_PTR_NOT_NULL(strstr(out, "10 classes, as the heads"));
    CU_ASSERT_PTR_NOT_NULL(strstr(out, "median size 32x32 (3 of 3 measured)"));
    CU_ASSERT_EQUAL(lines_with(out, "darknet: "), 0);
    /* exactly 2x either way is not far (the rule is more than 2x) */
    CU_ASSERT_EQUAL(check(write_data("twice", 3, 64, 16, 10, 0)), 0);
    CU_ASSERT_EQUAL(lines_with(out, "darknet: "), 0);
}

static void test_size_far(void)
{
    /* larger: one warning line naming the list, both sizes and the cfg; exit status 0 */
    CU_ASSERT_EQUAL(check(write_data("large", 5, 100, 75, 10, 10)), 0);
    CU_ASSERT_EQUAL(lines_with(out, "darknet: "), 1);
    CU_ASSERT_EQUAL(lines_with(out, "darknet: warning: input size: "), 1);
    CU_ASSERT_PTR_NOT_NULL(strstr(out, "large.list"));
    CU_ASSERT_PTR_NOT_NULL(strstr(out, "100x75 is far from the input 32x32 of " CFG));
    /* smaller, in one dimension only */
    CU_ASSERT_EQUAL(check(write_data("narrow", 3, 15, 32, 10, 0)), 0);
    CU_ASSERT_EQUAL(lines_with(out, "darknet: warning: input size: "), 1);
    CU_ASSERT_PTR_NOT_NULL(strstr(out, "15x32"));
    /* the median decides: one odd image among three does not */
    write_image("odd-0", 32, 32, PNG);
    write_image("odd-1", 400, 400, PNG);
    write_image("odd-2", 30, 34, PNG);
    char list[2000];
    snprintf(list, sizeof list, "%s\n%s\n%s\n", path_in("odd-0.png"), path_in("odd-1.png"),
             path_in("odd-2.png"));
    test_write_text(path_in("odd.list"), list);
    snprintf(list, sizeof list, "classes=10\ntrain=%s\n", path_in("odd.list"));
    test_write_text(path_in("odd.data"), list);
    CU_ASSERT_EQUAL(check(path_in("odd.data")), 0);
    CU_ASSERT_PTR_NOT_NULL(strstr(out, "median size 32x34"));
    CU_ASSERT_EQUAL(lines_with(out, "darknet: "), 0);
}

static void test_class_count(void)
{
    /* classes= differs: one error line, exit status 1 */
    CU_ASSERT_EQUAL(check(write_data("k3", 2, 32, 32, 3, 0)), 1);
    CU_ASSERT_EQUAL(lines_with(out, "darknet: "), 1);
    CU_ASSERT_PTR_NOT_NULL(strstr(out, "darknet: error: class count: "));
    CU_ASSERT_PTR_NOT_NULL(strstr(out, "k3.data: classes=3, but the heads of " CFG
                                       " have 10 classes (output= of each head's [connected]"));
    /* the labels file differs (classes= agrees): that is named */
    CU_ASSERT_EQUAL(check(write_data("l4", 2, 32, 32, 10, 4)), 1);
    CU_ASSERT_EQUAL(lines_with(out, "darknet: error: class count: "), 1);
    CU_ASSERT_PTR_NOT_NULL(strstr(out, "l4.labels lists 4 names, but"));
    CU_ASSERT_PTR_EQUAL(strstr(out, "classes=10"), NULL);
    /* both differ, and the images are far: one line for the classes, one for the size */
    CU_ASSERT_EQUAL(check(write_data("both", 2, 128, 128, 5, 5)), 1);
    CU_ASSERT_EQUAL(lines_with(out, "darknet: "), 2);
    CU_ASSERT_PTR_NOT_NULL(strstr(out, "classes=5 and labels="));
    CU_ASSERT_EQUAL(lines_with(out, "darknet: warning: input size: "), 1);
    /* no class count at all */
    CU_ASSERT_EQUAL(check(write_data("none", 2, 32, 32, 0, 0)), 1);
    CU_ASSERT_PTR_NOT_NULL(strstr(out, "none.data: no classes=, labels= or names= line"));
    /* classes= that is not a number */
    test_write_text(path_in("nan.data"), "classes=ten\n");
    CU_ASSERT_EQUAL(check(path_in("nan.data")), 1);
    CU_ASSERT_PTR_NOT_NULL(strstr(out, "classes=ten is not a whole number"));
}

static void test_data_errors(void)
{
    /* a missing data file, a missing image in the list: one error naming it */
    CU_ASSERT_EQUAL(check(path_in("nothing.data")), 1);
    CU_ASSERT_EQUAL(lines_with(out, "darknet: error: "), 1);
    CU_ASSERT_PTR_NOT_NULL(strstr(out, "nothing.data"));
    const char *data = write_data("lost", 2, 32, 32, 10, 0);
    CU_ASSERT_EQUAL(unlink(path_in("lost-1.png")), 0);
    CU_ASSERT_EQUAL(check(data), 1);
    CU_ASSERT_EQUAL(lines_with(out, "darknet: error: "), 1);
    CU_ASSERT_PTR_NOT_NULL(strstr(out, "lost.list:2"));
    /* no train= list: the class count is still checked, the sizes are not */
    test_write_text(path_in("notrain.data"), "classes=10\n");
    CU_ASSERT_EQUAL(check(path_in("notrain.data")), 0);
    CU_ASSERT_PTR_NOT_NULL(strstr(out, "no train= list, image sizes not checked"));
}

static int setup(void)
{
    strcpy(dir, "/tmp/mcd-check-XXXXXX");
    return mkdtemp(dir) ? 0 : -1;
}

static int teardown(void)
{
    char cmd[128];
    snprintf(cmd, sizeof cmd, "rm -rf %s", dir);
    return system(cmd) == 0 ? 0 : -1;
}

int add_check_data_suite(void)
{
    CU_pSuite s = CU_add_suite("check data", setup, teardown);
    if (!s) return -1;
    return !CU_add_test(s, "image sizes: PNG and JPEG headers, other formats decoded", test_image_size) ||
           !CU_add_test(s, "the median size of an evenly spaced sample", test_median_size) ||
           !CU_add_test(s, "check -data: a data set that fits", test_data_fits) ||
           !CU_add_test(s, "check -data: images far from the input size, one warning line", test_size_far) ||
           !CU_add_test(s, "check -data: a class count unlike the heads', one error line", test_class_count) ||
           !CU_add_test(s, "check -data: unreadable data, no train= list", test_data_errors);
}
