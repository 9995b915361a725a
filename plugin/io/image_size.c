#include "io/image_size.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "io/image_io.h"
#include "util/mcd_error.h"

static unsigned be16(const unsigned char *p)
{
    return (unsigned)p[0] << 8 | p[1];
}

static unsigned long be32(const unsigned char *p)
{
    return (unsigned long)p[0] << 24 | (unsigned long)p[1] << 16 | (unsigned long)p[2] << 8 | p[3];
}

/* PNG: the 8-byte signature, then the IHDR chunk (length, "IHDR", width, height). */
static int png_size(FILE *f, int *w, int *h)
{
    static const unsigned char sig[8] = {0x89, 'P', 'N', 'G', '\r', '\n', 0x1a, '\n'};
    unsigned char b[24];
    if (fseek(f, 0, SEEK_SET) || fread(b, 1, sizeof b, f) != sizeof b) return -1;
    if (memcmp(b, sig, 8) || memcmp(b + 12, "IHDR", 4)) return -1;
    unsigned long pw = be32(b + 16), ph = be32(b + 20);
    if (pw == 0 || ph == 0 || pw > 0x7fffffff || ph > 0x7fffffff) return -1;
    *w = (int)pw, *h = (int)ph;
    return 0;
}

/* JPEG: the segments after SOI up to the first start-of-frame marker (SOF0-SOF15 but DHT
 * C4, JPG C8 and DAC CC), whose payload is precision, height, width. */
static int jpeg_size(FILE *f, int *w, int *h)
{
    unsigned char b[8];
    if (fseek(f, 0, SEEK_SET) || fread(b, 1, 2, f) != 2 || b[0] != 0xff || b[1] != 0xd8)
        return -1;
    for (int segments = 0; segments < 4096; ++segments) {
        int c = fgetc(f);
        if (c != 0xff) return -1;
        while (c == 0xff) c = fgetc(f); /* fill bytes */
        if (c == EOF) return -1;
        if (c == 0x01 || (c >= 0xd0 && c <= 0xd8)) continue; /* no payload */
        if (c == 0xd9 || c == 0xda) return -1;              /* end, or scan data: no frame */
        if (fread(b, 1, 2, f) != 2) return -1;
        unsigned len = be16(b);
        if (len < 2) return -1;
        if (c >= 0xc0 && c <= 0xcf && c != 0xc4 && c != 0xc8 && c != 0xcc) {
            if (len < 7 || fread(b, 1, 5, f) != 5) return -1;
            unsigned fh = be16(b + 1), fw = be16(b + 3);
            if (fw == 0 || fh == 0) return -1; /* height from a DNL marker: decode instead */
            *w = (int)fw, *h = (int)fh;
            return 0;
        }
        if (fseek(f, (long)len - 2, SEEK_CUR)) return -1;
    }
    return -1;
}

int mcd_image_size(const char *path, int *w, int *h)
{
    FILE *f = fopen(path, "rb");
    if (f) {
        int rc = png_size(f, w, h) == 0 || jpeg_size(f, w, h) == 0 ? 0 : -1;
        fclose(f);
        if (rc == 0) return 0;
    }
    image im; /* another format, or a header not followed here: decode (and name the error) */
    if (mcd_read_image(path, 0, 0, 3, &im)) return -1;
    *w = im.w, *h = im.h;
    free_image(im);
    return 0;
}

static int by_int(const void *a, const void *b)
{
    int x = *(const int *)a, y = *(const int *)b;
    return (x > y) - (x < y);
}

int mcd_median_image_size(char **paths, int n, int max_sample, const char *list_name, int *w,
                          int *h, int *sampled)
{
    int k = n < max_sample ? n : max_sample;
    if (k <= 0) {
        mcd_set_error("%s: no images to measure", list_name ? list_name : "list");
        return -1;
    }
    int *ws = malloc(2 * sizeof(int) * (size_t)k), *hs = ws + k;
    for (int i = 0; i < k; ++i) {
        int at = (int)((long long)i * n / k);
        if (mcd_image_size(paths[at], &ws[i], &hs[i])) {
            if (list_name) mcd_set_error("%s:%d: %s", list_name, at + 1, mcd_last_error());
            free(ws);
            return -1;
        }
    }
    qsort(ws, k, sizeof(int), by_int);
    qsort(hs, k, sizeof(int), by_int);
    *w = ws[(k - 1) / 2];
    *h = hs[(k - 1) / 2];
    if (sampled) *sampled = k;
    free(ws);
    return 0;
}
