/* Test images in OpenCV's formats (tests/image_formats.cpp), and OpenCV's own reading of
 * their size: the reference for io/image_header.c. */
#ifndef MCD_TEST_IMAGE_FORMATS_H
#define MCD_TEST_IMAGE_FORMATS_H

#ifdef __cplusplus
extern "C" {
#endif

/* A w x h image of `channels` channels written by cv::imwrite in the format of path's
 * extension (8-bit, or float for .exr, .hdr and .pfm); quality: .webp's (above 100:
 * lossless), and for .jpg a negative one asks for a progressive JPEG. 0, or -1 when
 * OpenCV cannot write it. */
int test_write_image_format(const char *path, int w, int h, int channels, int quality);

/* The size cv::imread(path, IMREAD_COLOR) decodes; 0, or -1 when it cannot. */
int test_decoded_size(const char *path, int *w, int *h);

#ifdef __cplusplus
}
#endif

#endif
