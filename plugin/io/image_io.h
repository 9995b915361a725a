/* Reading images without Darknet's silent failures: with OpenCV, Darknet's load_image
 * returns a blank 10x10 image for a file it cannot read (and runs a shell command to log
 * it); without, it exits with status 0. These read the same pixels the same way
 * (OpenCV's imread, Darknet's mat_to_image: RGB, planar, [0,1]) but report failure. */
#ifndef MCD_IMAGE_IO_H
#define MCD_IMAGE_IO_H

#include "darknet.h"

#ifdef __cplusplus
extern "C" {
#endif

/* Read path as c channels (1 or 3), resized to w x h when both are nonzero (Darknet's
 * resize_image, as load_image_color does). 0, or -1 with an error naming the file. */
int mcd_read_image(const char *path, int w, int h, int c, image *out);

/* 0 if every path names a readable regular file, else -1 with an error naming the first
 * one that does not (and, with list_name, the list it came from and its line). */
int mcd_check_paths(char **paths, int n, const char *list_name);

#ifdef __cplusplus
}
#endif

#endif
