/* Reading images without Darknet's silent failures: with OpenCV, Darknet's load_image
 * returns a blank 10x10 image for a file it cannot read (and runs a shell command to log
 * it); without, it exits with status 0. These read the same pixels the same way
 * (OpenCV's imread, Darknet's mat_to_image: RGB, planar, [0,1]; in an OPENCV=0 build
 * Darknet's stb_image, as its own loader then does) but report failure.
 *
 * And without its cost: before a decoder sees the file, the size its header declares
 * (io/image_header.h) is held against a pixel limit, so that a decompression bomb (a
 * 20000x20000 PNG of zeros is 425 KB) is refused in milliseconds instead of costing
 * gigabytes. A decoded image costs about 16 bytes a pixel (OpenCV's 8-bit RGB, then
 * Darknet's floats): 1 GB at the default limit. */
#ifndef MCD_IMAGE_IO_H
#define MCD_IMAGE_IO_H

#include "darknet.h"

#ifdef __cplusplus
extern "C" {
#endif

/* The one path from pixels to a network's input, used by training (the batch loader and
 * the checkpoint choice's images), calibration, validation and detection alike, so they
 * all see the same numbers for the same picture: a colour image (3 planes, any size)
 * becomes c = 1 plane of luma, 0.299 R + 0.587 G + 0.114 B (what OpenCV's colour-to-grey
 * conversion computes), or stays colour for c = 3; then it is resized to w x h with
 * Darknet's resize_image, as load_image_color does (w or h 0: size kept). Returns a new
 * image; the input is not freed. (Images are never decoded as 1 channel: Darknet's
 * mat_to_image swaps planes 0 and 2 of any image, running past the end of a 1-plane one.) */
image mcd_network_image(image colour, int w, int h, int c);

/* The default pixel limit: 64 Mpixel, 8192 x 8192 (a plain number: the help prints it). */
#define MCD_DEFAULT_MAX_PIXELS 67108864

/* The process's pixel limit, which mcd_read_image holds every image to; n < 1 restores the
 * default. Set it before starting threads that read images (the commands set it from
 * -max_pixels before reading anything); reading it is safe from any thread. */
void mcd_set_image_max_pixels(long long n);
long long mcd_image_max_pixels(void);

/* 0 when the image in path declares at most max_pixels pixels (width x height, from its
 * header: nothing is decoded); else -1 with an error naming the file: its size and the
 * limit, or why its header cannot be read (not a file, empty, in no format OpenCV reads,
 * a header cut short). For any reader, before it decodes a file it did not make. */
int mcd_check_image_size(const char *path, long long max_pixels);

/* Read path through mcd_network_image: c channels (1 or 3), resized to w x h when both
 * are nonzero; an image over mcd_image_max_pixels() is refused before it is decoded.
 * 0, or -1 with an error naming the file. */
int mcd_read_image(const char *path, int w, int h, int c, image *out);

/* 0 if every path names a readable regular file, else -1 with an error naming the first
 * one that does not (and, with list_name, the list it came from and its line). */
int mcd_check_paths(char **paths, int n, const char *list_name);

#ifdef __cplusplus
}
#endif

#endif
