/* Image sizes from headers and the pixel limit (io/image_header.c, io/image_io's
 * mcd_check_image_size, -max_pixels):
 *   - every format OpenCV writes, written by OpenCV's imwrite at 97x71: the header says
 *     97x71, and so does OpenCV's imread (the independent reference); hand-made variants
 *     that OpenCV reads but does not write (fill bytes before JPEG markers, a top-down
 *     BMP, big-endian TIFF, BigTIFF, PNM comments, a raw JPEG 2000 codestream);
 *   - headers cut short, malformed, of no format, empty, DICOM: an error naming the file;
 *   - the limit at its boundary, a header claiming 100000x100000 and one claiming
 *     4294967295 squared (no overflow), the process-wide limit of mcd_read_image;
 *   - -max_pixels through every verb that reads images (train, valid, calibrate, detect):
 *     over the limit is an error naming the file (and list); detect goes on with the
 *     other images and exits 1; a video whose frames are over it is refused unread. */
#define _GNU_SOURCE
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "darknet.h"
#include "image_formats.h"
#include "io/image_header.h"
#include "io/annotate.h"
#include "io/image_io.h"
#include "io/video_writer.h"
#include "test_util.h"
#include "util/mcd_error.h"

#define SMALL "data/fmnist-small"
#define W 97 /* JPEG 2000's encoder wants 64 pixels a side */
#define H 71

static char dir[64];
static char out[1 << 16];

static const char *path_in(const char *name)
{
    return test_path(dir, name);
}

#define run(...) test_run_darknet(out, sizeof out, __VA_ARGS__)

static int write_bytes(const char *name, const void *data, size_t n)
{
    FILE *f = fopen(path_in(name), "wb");
    if (!f) return -1;
    size_t w = fwrite(data, 1, n, f);
    return fclose(f) == 0 && w == n ? 0 : -1;
}

/* The whole of a file; *n its size. NULL if it cannot be read. */
static unsigned char *read_bytes(const char *name, size_t *n)
{
    FILE *f = fopen(path_in(name), "rb");
    if (!f) return NULL;
    fseek(f, 0, SEEK_END);
    long size = ftell(f);
    fseek(f, 0, SEEK_SET);
    unsigned char *b = malloc(size > 0 ? size : 1);
    *n = b ? fread(b, 1, size, f) : 0;
    fclose(f);
    return b;
}

static int setup(void)
{
    strcpy(dir, "/tmp/mcd-imglim-XXXXXX");
    if (!mkdtemp(dir)) return -1;
    return test_make_small_network(dir);
}

static int teardown(void)
{
    char cmd[128];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", dir);
    mcd_set_image_max_pixels(0);
    return system(cmd) != 0;
}

/* The header of a file in dir is w x h of `format`, and OpenCV decodes that size. */
static void expect_size(const char *name, const char *format, long long w, long long h)
{
    mcd_image_header hd;
    int rc = mcd_read_image_header(path_in(name), &hd), dw = -1, dh = -1;
    int decoded = test_decoded_size(path_in(name), &dw, &dh);
    int ok = rc == 0 && hd.width == w && hd.height == h && strcmp(hd.format, format) == 0 &&
             decoded == 0 && dw == w && dh == h;
    if (!ok)
        printf("\n%s: header %s %lldx%lld (%s), OpenCV %s %dx%d; want %s %lldx%lld\n", name,
               rc ? mcd_last_error() : "read", hd.width, hd.height, hd.format ? hd.format : "-",
               decoded ? "cannot decode it" : "decodes", dw, dh, format, w, h);
    CU_ASSERT(ok);
}

static const struct {
    const char *name, *format;
    int channels, quality;
} formats[] = {
    {"a.png", "PNG", 3, 0},        {"a.jpg", "JPEG", 3, 95},      {"p.jpg", "JPEG", 3, -1},
    {"a.bmp", "BMP", 3, 0},        {"a.tiff", "TIFF", 3, 0},      {"lossy.webp", "WebP", 3, 90},
    {"lossless.webp", "WebP", 3, 101},                            {"alpha.webp", "WebP", 4, 90},
    {"a.pbm", "PNM", 1, 0},        {"a.pgm", "PNM", 1, 0},        {"a.ppm", "PNM", 3, 0},
    {"a.pam", "PAM", 3, 0},        {"a.pfm", "PFM", 3, 0},        {"a.ras", "Sun raster", 3, 0},
    {"a.hdr", "Radiance HDR", 3, 0}, {"a.jp2", "JPEG 2000", 3, 0}, {"a.exr", "OpenEXR", 3, 0},
};

static void test_formats_match_opencv(void)
{
    for (size_t i = 0; i < sizeof formats / sizeof formats[0]; ++i) {
        if (test_write_image_format(path_in(formats[i].name), W, H, formats[i].channels,
                                    formats[i].quality)) {
            printf("\nOpenCV cannot write %s\n", formats[i].name);
            CU_FAIL("OpenCV cannot write a test image");
            continue;
        }
        expect_size(formats[i].name, formats[i].format, W, H);
    }
    /* the three WebP kinds: lossy (VP8), lossless (VP8L), with alpha (VP8X) */
    const char *webp[][2] = {{"lossy.webp", "VP8 "}, {"lossless.webp", "VP8L"}, {"alpha.webp", "VP8X"}};
    for (int i = 0; i < 3; ++i) {
        size_t n;
        unsigned char *b = read_bytes(webp[i][0], &n);
        CU_ASSERT(b && n > 16 && memcmp(b + 12, webp[i][1], 4) == 0);
        free(b);
    }
}

static void put32(unsigned char *p, uint32_t v, int be)
{
    for (int i = 0; i < 4; ++i) p[be ? i : 3 - i] = (unsigned char)(v >> (24 - 8 * i));
}

static void put16(unsigned char *p, uint32_t v, int be)
{
    p[be ? 0 : 1] = (unsigned char)(v >> 8);
    p[be ? 1 : 0] = (unsigned char)v;
}

/* An uncompressed 8-bit grey TIFF of w x h by hand: big-endian or little, classic or
 * BigTIFF; its width a LONG, its height a SHORT (both kinds a header may use). */
static int write_tiff(const char *name, int be, int big, int w, int h)
{
    unsigned char b[4096] = {0};
    const int entries = 8, esize = big ? 20 : 12, csize = big ? 8 : 2, head = big ? 16 : 8;
    const int ifd = head, data = ifd + csize + entries * esize + (big ? 8 : 4);
    b[0] = b[1] = be ? 'M' : 'I';
    put16(b + 2, big ? 43 : 42, be);
    if (big) {
        put16(b + 4, 8, be);
        put32(b + (be ? 12 : 8), ifd, be); /* a 64-bit offset: its low half */
    } else {
        put32(b + 4, ifd, be);
    }
    if (big) put32(b + ifd + (be ? 4 : 0), entries, be);
    else put16(b + ifd, entries, be);
    const uint32_t tags[8][3] = {{256, 4, w},   {257, 3, h},   {258, 3, 8},       {259, 3, 1},
                                 {262, 3, 1},   {273, 4, data}, {278, 3, h},      {279, 4, w * h}};
    for (int i = 0; i < entries; ++i) {
        unsigned char *e = b + ifd + csize + i * esize;
        put16(e, tags[i][0], be);
        put16(e + 2, tags[i][1], be);
        if (big) put32(e + (be ? 8 : 4), 1, be);
        else put32(e + 4, 1, be);
        unsigned char *v = e + (big ? 12 : 8);
        if (tags[i][1] == 3) put16(v, tags[i][2], be);
        else put32(v, tags[i][2], be);
    }
    for (int i = 0; i < w * h; ++i) b[data + i] = (unsigned char)(i * 5);
    return write_bytes(name, b, data + w * h);
}

static void test_crafted_headers(void)
{
    size_t n;
    /* JPEG: fill bytes (0xFF runs) before its first marker after SOI */
    unsigned char *jpg = read_bytes("a.jpg", &n);
    CU_ASSERT_PTR_NOT_NULL_FATAL(jpg);
    unsigned char *filled = malloc(n + 3);
    memcpy(filled, jpg, 2);
    memset(filled + 2, 0xFF, 3);
    memcpy(filled + 5, jpg + 2, n - 2);
    CU_ASSERT_EQUAL(write_bytes("filled.jpg", filled, n + 3), 0);
    expect_size("filled.jpg", "JPEG", W, H);
    /* the frame header comes after SOS: no size before the image data */
    memcpy(filled, jpg, n);
    filled[2] = 0xFF, filled[3] = 0xDA;
    CU_ASSERT_EQUAL(write_bytes("sos-first.jpg", filled, n), 0);
    free(filled);
    free(jpg);
    /* BMP: a negative height is a top-down bitmap */
    unsigned char *bmp = read_bytes("a.bmp", &n);
    CU_ASSERT_PTR_NOT_NULL_FATAL(bmp);
    int32_t hh = -H;
    memcpy(bmp + 22, &hh, 4);
    CU_ASSERT_EQUAL(write_bytes("topdown.bmp", bmp, n), 0);
    expect_size("topdown.bmp", "BMP", W, H);
    free(bmp);
    /* TIFF in both byte orders, classic and BigTIFF */
    CU_ASSERT_EQUAL(write_tiff("be.tif", 1, 0, 41, 19), 0);
    expect_size("be.tif", "TIFF", 41, 19);
    CU_ASSERT_EQUAL(write_tiff("le.tif", 0, 0, 41, 19), 0);
    expect_size("le.tif", "TIFF", 41, 19);
    CU_ASSERT_EQUAL(write_tiff("big-le.tif", 0, 1, 41, 19), 0);
    expect_size("big-le.tif", "TIFF", 41, 19);
    CU_ASSERT_EQUAL(write_tiff("big-be.tif", 1, 1, 41, 19), 0);
    expect_size("big-be.tif", "TIFF", 41, 19);
    /* PNM: comments between the numbers */
    char pgm[8192];
    int len = snprintf(pgm, sizeof pgm, "P5\n# made by hand\n%d # width\n# height next\n%d\n255\n", W, H);
    memset(pgm + len, 128, W * H);
    CU_ASSERT_EQUAL(write_bytes("comments.pgm", pgm, len + W * H), 0);
    expect_size("comments.pgm", "PNM", W, H);
    /* JPEG 2000: the codestream alone (.j2k), taken out of the .jp2's jp2c box */
    unsigned char *jp2 = read_bytes("a.jp2", &n);
    CU_ASSERT_PTR_NOT_NULL_FATAL(jp2);
    size_t off = 0;
    while (off + 8 <= n && memcmp(jp2 + off + 4, "jp2c", 4) != 0)
        off += (size_t)jp2[off] << 24 | jp2[off + 1] << 16 | jp2[off + 2] << 8 | jp2[off + 3];
    CU_ASSERT_FATAL(off + 8 < n);
    CU_ASSERT_EQUAL(write_bytes("a.j2k", jp2 + off + 8, n - off - 8), 0);
    expect_size("a.j2k", "JPEG 2000", W, H);
    free(jp2);
}

/* mcd_read_image_header fails on `name` with an error naming it and saying `want`. */
static void expect_header_error(const char *name, const char *want)
{
    mcd_image_header hd;
    int rc = mcd_read_image_header(path_in(name), &hd);
    int ok = rc == -1 && strstr(mcd_last_error(), path_in(name)) &&
             strstr(mcd_last_error(), want);
    if (!ok) printf("\n%s: rc %d, '%s'; want '%s'\n", name, rc, rc ? mcd_last_error() : "", want);
    CU_ASSERT(ok);
}

static void test_bad_headers(void)
{
    /* every format's file cut to its first 6 bytes: no size in it */
    for (size_t i = 0; i < sizeof formats / sizeof formats[0]; ++i) {
        size_t n;
        unsigned char *b = read_bytes(formats[i].name, &n);
        if (!b) continue;
        char cut[64];
        snprintf(cut, sizeof cut, "cut-%s", formats[i].name);
        CU_ASSERT_EQUAL(write_bytes(cut, b, n < 6 ? n : 6), 0);
        free(b);
        expect_header_error(cut, "image");
    }
    expect_header_error("sos-first.jpg", "no frame header before the image data");
    write_bytes("empty.png", "", 0);
    expect_header_error("empty.png", "empty file");
    test_write_text(path_in("text.png"), "data/fmnist-small/train/00015_boot.png\n");
    expect_header_error("text.png", "not an image in a format");
    unsigned char dicom[200] = {0};
    memcpy(dicom + 128, "DICM", 4);
    write_bytes("scan.dcm", dicom, sizeof dicom);
    expect_header_error("scan.dcm", "DICOM");
    /* a PNG whose first chunk is not IHDR; a TIFF whose directory is past its end */
    unsigned char png[33] = "\x89PNG\r\n\x1a\n\0\0\0\x0dIHDX";
    write_bytes("noihdr.png", png, sizeof png);
    expect_header_error("noihdr.png", "no IHDR chunk first");
    unsigned char tif[8] = {'I', 'I', 42, 0, 0xFF, 0xFF, 0, 0};
    write_bytes("far.tif", tif, sizeof tif);
    expect_header_error("far.tif", "past the end");
    write_bytes("neg.ppm", "P6\n-5 3\n255\n", 12);
    expect_header_error("neg.ppm", "no width and height");
    write_bytes("noendhdr.pam", "P7\nWIDTH 4\nDEPTH 3\n", 20);
    expect_header_error("noendhdr.pam", "no WIDTH and HEIGHT");
    /* sizes of 19 digits and more are refused, not overflowed (a fuzzer's finding) */
    const char *pam = "P7\nWIDTH 99999999999999999999\nHEIGHT 1\nENDHDR\n";
    write_bytes("huge.pam", pam, strlen(pam));
    expect_header_error("huge.pam", "no WIDTH and HEIGHT");
    write_bytes("huge.ppm", "P6\n99999999999999999999 3\n255\n", 30);
    expect_header_error("huge.ppm", "no width and height");
}

static double now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return ts.tv_sec + ts.tv_nsec * 1e-9;
}

static void test_pixel_limit(void)
{
    CU_ASSERT_EQUAL_FATAL(test_write_image_format(path_in("40x30.png"), 40, 30, 3, 0), 0);
    CU_ASSERT_EQUAL(mcd_check_image_size(path_in("40x30.png"), 1200), 0);
    CU_ASSERT_EQUAL(mcd_check_image_size(path_in("40x30.png"), 1199), -1);
    CU_ASSERT_PTR_NOT_NULL(strstr(mcd_last_error(), "40x30"));
    CU_ASSERT_PTR_NOT_NULL(strstr(mcd_last_error(), path_in("40x30.png")));
    /* a header that claims 100000x100000 (the file holds no pixel): refused at once */
    CU_ASSERT_EQUAL_FATAL(test_write_zero_png(path_in("claim.png"), 100000, 100000, 0), 0);
    double t0 = now();
    CU_ASSERT_EQUAL(mcd_check_image_size(path_in("claim.png"), MCD_DEFAULT_MAX_PIXELS), -1);
    CU_ASSERT(now() - t0 < 0.05);
    CU_ASSERT_PTR_NOT_NULL(strstr(mcd_last_error(), "is 100000x100000 (PNG, 10000000000 pixels)"));
    /* the largest size a PNG can claim, against the largest limit: no overflow */
    CU_ASSERT_EQUAL_FATAL(test_write_zero_png(path_in("max.png"), 0xFFFFFFFFu, 0xFFFFFFFFu, 0), 0);
    CU_ASSERT_EQUAL(mcd_check_image_size(path_in("max.png"), 1000000000000000LL), -1);
    CU_ASSERT_PTR_NOT_NULL(strstr(mcd_last_error(), "4294967295x4294967295"));
    /* the limit mcd_read_image holds every image to */
    image im;
    CU_ASSERT_EQUAL(mcd_image_max_pixels(), MCD_DEFAULT_MAX_PIXELS);
    CU_ASSERT_EQUAL(MCD_DEFAULT_MAX_PIXELS, 8192 * 8192);
    mcd_set_image_max_pixels(1199);
    CU_ASSERT_EQUAL(mcd_read_image(path_in("40x30.png"), 0, 0, 3, &im), -1);
    CU_ASSERT_PTR_NOT_NULL(strstr(mcd_last_error(), "over the limit of 1199 pixels"));
    mcd_set_image_max_pixels(1200);
    CU_ASSERT_EQUAL_FATAL(mcd_read_image(path_in("40x30.png"), 0, 0, 3, &im), 0);
    CU_ASSERT(im.w == 40 && im.h == 30 && im.c == 3);
    free_image(im);
    mcd_set_image_max_pixels(0); /* the default again */
    CU_ASSERT_EQUAL(mcd_image_max_pixels(), MCD_DEFAULT_MAX_PIXELS);
    CU_ASSERT_EQUAL(mcd_read_image(path_in("claim.png"), 28, 28, 1, &im), -1);
}

/* exit 1, Darknet's error prefix, and every wanted piece of the message */
#define expect_error(rc, case_name, want1, want2) \
    CU_ASSERT(test_is_error(rc, out, case_name, want1, want2))

static void test_max_pixels_every_verb(void)
{
    static const char *verbs[] = {"train", "valid", "calibrate", "detect"};
    for (int i = 0; i < 4; ++i) {
        CU_ASSERT_EQUAL(run("mcd %s -h", verbs[i]), 0);
        CU_ASSERT_PTR_NOT_NULL(strstr(out, "-max_pixels N"));
        CU_ASSERT_PTR_NOT_NULL(strstr(out, "default " "67108864"));
    }
    char cfg[600], w[600]; /* path_in's buffers are reused */
    snprintf(cfg, sizeof cfg, "%s", path_in("small.cfg"));
    snprintf(w, sizeof w, "%s", path_in("small.weights"));
    const char *good = SMALL "/id-test/00001_pullover.png"; /* 28x28 */
    /* detect: the image over the limit is reported, the others still classified; exit 1 */
    int rc = run("mcd detect %s %s -thresh 0.5 %s %s", cfg, w, path_in("claim.png"), good);
    expect_error(rc, "detect claim", "claim.png' is 100000x100000", "refused before decoding");
    CU_ASSERT_PTR_NOT_NULL(strstr(out, "00001_pullover.png: "));
    expect_error(run("mcd detect %s %s -thresh 0.5 -max_pixels 783 %s", cfg, w, good),
                 "detect -max_pixels 783", "00001_pullover.png' is 28x28", "limit of 783");
    CU_ASSERT_EQUAL(run("mcd detect %s %s -thresh 0.5 -max_pixels 784 %s", cfg, w, good), 0);
    expect_error(run("mcd detect %s %s -thresh 0.5 -max_pixels 0 %s", cfg, w, good),
                 "detect -max_pixels 0", "-max_pixels 0", NULL);
    /* valid: an id_test list naming the claim; calibrate, train: a limit under 28x28 */
    char list[600], text[2048];
    snprintf(list, sizeof list, "%s\n%s\n", good, path_in("claim.png"));
    test_write_text(path_in("claim.list"), list);
    snprintf(text, sizeof text, "classes=10\nlabels=" SMALL "/labels.list\nid_test=%s\n"
             "ood=" SMALL "/ood-mnist.list\nvalid=" SMALL "/id-valid.list\ntrain=" SMALL
             "/train.list\nunlabeled=" SMALL "/unlabeled.list\n", path_in("claim.list"));
    test_write_text(path_in("claim.data"), text);
    expect_error(run("mcd valid %s %s -data %s", cfg, w, path_in("claim.data")), "valid claim",
                 "claim.list", "claim.png' is 100000x100000");
    expect_error(run("mcd calibrate %s %s -data %s -max_pixels 783", cfg, w,
                     path_in("claim.data")), "calibrate -max_pixels", "is 28x28",
                 "limit of 783");
    CU_ASSERT_NOT_EQUAL(access(test_path(dir, "small.weights.threshold"), F_OK), 0);
    expect_error(run("mcd train %s -data %s -backup %s -seed 1 -pretrain_batches 2 "
                     "-finetune_batches 1 -max_pixels 783", cfg, path_in("claim.data"),
                     path_in("bk")), "train -max_pixels", "is 28x28", "limit of 783");
    /* a video's frames, by the size its container declares, before one is decoded */
    mcd_video_writer *vw = mcd_video_writer_open(path_in("v.avi"), 28, 28, 25);
    CU_ASSERT_PTR_NOT_NULL_FATAL(vw);
    image frame = make_image(28, 28, 3);
    mcd_canvas *c = mcd_canvas_plain(frame);
    for (int i = 0; i < 3; ++i) CU_ASSERT_EQUAL(mcd_video_writer_write(vw, c), 0);
    mcd_canvas_free(c);
    free_image(frame);
    CU_ASSERT_EQUAL_FATAL(mcd_video_writer_close(vw), 0);
    expect_error(run("mcd detect %s %s -thresh 0.5 -nodisplay -video %s -max_pixels 783", cfg, w,
                     path_in("v.avi")), "detect -video -max_pixels", "v.avi': frames of 28x28",
                 "limit of 783");
    CU_ASSERT_PTR_NULL(strstr(out, "frame 0"));
    CU_ASSERT_EQUAL(run("mcd detect %s %s -thresh 0.5 -nodisplay -video %s -max_pixels 784", cfg,
                        w, path_in("v.avi")), 0);
    CU_ASSERT_PTR_NOT_NULL(strstr(out, "3 frames"));
}

int add_image_limits_suite(void)
{
    CU_pSuite s = CU_add_suite("image limits", setup, teardown);
    if (!s) return -1;
    return !CU_add_test(s, "every OpenCV format: the header's size is the decoded size",
                        test_formats_match_opencv) ||
           !CU_add_test(s, "hand-made headers: fill bytes, top-down, TIFF orders, BigTIFF, "
                           "comments, J2K", test_crafted_headers) ||
           !CU_add_test(s, "cut, malformed, empty, unknown, DICOM headers: errors naming the file",
                        test_bad_headers) ||
           !CU_add_test(s, "the pixel limit: boundary, claims, no overflow", test_pixel_limit) ||
           !CU_add_test(s, "-max_pixels in train, valid, calibrate, detect (images, video)",
                        test_max_pixels_every_verb);
}
