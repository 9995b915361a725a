/* The pixel size of image files without decoding them (io/image_header.h reads every
 * format OpenCV reads), and the median size of a list of images: what `mcd check
 * -data` compares with a cfg's input size. */
#ifndef MCD_IMAGE_SIZE_H
#define MCD_IMAGE_SIZE_H

/* Width and height of the image in path: from its header (mcd_read_image_header), else by
 * decoding it with mcd_read_image. The sizes are as stored: a JPEG with an EXIF rotation
 * is not turned.
 * 0, or -1 with an error naming the file. */
int mcd_image_size(const char *path, int *w, int *h);

/* The median width and the median height (each the lower middle value for an even count)
 * of up to max_sample images of paths[0..n), taken evenly spaced through the list.
 * *sampled (if non-NULL) gets the count read. 0, or -1 with an error naming the file and,
 * with list_name, the list and its entry number. */
int mcd_median_image_size(char **paths, int n, int max_sample, const char *list_name, int *w,
                          int *h, int *sampled);

#endif
