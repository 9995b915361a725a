#include "io/image_size.h"

#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "io/image_header.h"
#include "io/image_io.h"
#include "util/mcd_error.h"

int mcd_image_size(const char *path, int *w, int *h)
{
    mcd_image_header hd; /* every format OpenCV reads, from its header (io/image_header.h) */
    if (mcd_read_image_header(path, &hd) == 0 && hd.width <= INT_MAX && hd.height <= INT_MAX) {
        *w = (int)hd.width, *h = (int)hd.height;
        return 0;
    }
    image im; /* a header not read there: decode (and name the error) */
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
