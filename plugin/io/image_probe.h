/* Looking at one image file as `mcd import` does: the file is read once, its bytes hashed
 * (to find the same picture in two classes) and decoded once (to prove OpenCV reads it and
 * to learn its size and colour), nothing converted or kept. */
#ifndef MCD_IMAGE_PROBE_H
#define MCD_IMAGE_PROBE_H

#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

typedef enum mcd_probe_result {
    MCD_PROBE_IMAGE,       /* decoded */
    MCD_PROBE_NOT_IMAGE,   /* does not decode and its name has no image extension */
    MCD_PROBE_UNREADABLE,  /* cannot be read, named as an image and does not decode, or
                            * declares more pixels than mcd_image_max_pixels() (io/image_io.h) */
} mcd_probe_result;

typedef struct mcd_image_info {
    int width, height;
    int channels;        /* as stored: 1 grey, 2 grey + alpha, 3 colour, 4 colour + alpha */
    int grey;            /* 1 when every pixel has equal colour channels (or one channel) */
    uint64_t hash;       /* FNV-1a 64 of the file's bytes */
    long long bytes;     /* the file's size */
    char why[160];       /* MCD_PROBE_UNREADABLE: what went wrong */
} mcd_image_info;

/* Read and decode path. Never fails otherwise: the result says what the file is. */
mcd_probe_result mcd_probe_image(const char *path, mcd_image_info *info);

/* 1 when path ends in an extension of an image format OpenCV reads (case ignored):
 * bmp dib jpeg jpg jpe jp2 png webp pbm pgm ppm pxm pnm pfm sr ras tiff tif exr hdr pic. */
int mcd_has_image_extension(const char *path);

#ifdef __cplusplus
}
#endif

#endif
