/* Pictures annotated with an MCD verdict, for `darknet mcd detect`'s -out/-outdir images,
 * its output video and its window.
 *
 * A canvas is an 8-bit BGR picture (a cv::Mat inside). An annotated canvas is the input
 * picture, upscaled by the integer factor mcd_annotate_scale() so that small images such
 * as 28x28 stay readable, framed in the verdict's colour (green ID, red OOD), with a
 * panel below it: the verdict, the score against the threshold, the class and its
 * probability, and a score bar from 0 to 2 with the threshold marked.
 *
 * Text is drawn with OpenCV's putText: Darknet's bitmap font (load_alphabet) is looked
 * for in a directory that Debian does not install. A build without OpenCV (OPENCV=0)
 * makes no canvas and opens no window: those calls fail with an error that says so. */
#ifndef MCD_ANNOTATE_H
#define MCD_ANNOTATE_H

#include "darknet.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef struct mcd_verdict {
    const char *label; /* the predicted class (the heads' average prediction) */
    float prob;        /* its probability */
    float score;       /* the L1 discrepancy sum_k |p1_k - p2_k|, in [0, 2] */
    float threshold;   /* OOD when score > threshold */
    int ood;
} mcd_verdict;

typedef struct mcd_canvas mcd_canvas;

/* The upscaling factor for a w x h picture: the smallest integer s >= 1 that makes the
 * shorter side at least MCD_ANNOTATE_MIN_SIDE pixels, but never so large that the longer
 * side passes MCD_ANNOTATE_MAX_SIDE (then s = 1 at least). */
#define MCD_ANNOTATE_MIN_SIDE 256
#define MCD_ANNOTATE_MAX_SIDE 2048
int mcd_annotate_scale(int w, int h);

/* im (1 or 3 channels, Darknet's planar RGB in [0, 1]) annotated with v: width
 * im.w * s, height im.h * s + the panel (s = mcd_annotate_scale(im.w, im.h)); the panel's
 * height depends on the width only. NULL (with an error) if im is empty. */
mcd_canvas *mcd_canvas_annotated(image im, const mcd_verdict *v);
/* im as it is, converted to BGR bytes (to write plain frames). */
mcd_canvas *mcd_canvas_plain(image im);
void mcd_canvas_free(mcd_canvas *c);
int mcd_canvas_width(const mcd_canvas *c);
int mcd_canvas_height(const mcd_canvas *c);

/* Write c to path, the format from the name's extension (OpenCV's imwrite).
 * 0, or -1 with an error naming the file. */
int mcd_canvas_save(const mcd_canvas *c, const char *path);

/* Whether a window can be opened: DISPLAY is set and a throw-away child process manages
 * to open one (OpenCV's Qt backend aborts the process when the display is unreachable,
 * which no exception handler can catch). */
int mcd_display_available(void);
/* Make the named window, w x h (Darknet's make_window). 0, or -1 with the error set. */
int mcd_window_open(const char *window, int w, int h);
/* Show c in the named window (made with mcd_window_open) and wait up to ms
 * milliseconds for a key: the key, -1 for none, -2 (with an error) if showing failed. */
int mcd_canvas_show(const mcd_canvas *c, const char *window, int ms);

#ifdef __cplusplus
}
#endif
#if defined(__cplusplus) && defined(OPENCV)
#include <opencv2/core.hpp>
/* The picture itself, for the plugin's other C++ files (the video writer). */
const cv::Mat &mcd_canvas_mat(const mcd_canvas *c);
#endif

#endif
