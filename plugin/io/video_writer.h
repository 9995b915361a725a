/* Video through OpenCV, for what Darknet's wrappers (open_video_stream,
 * get_image_from_stream in image_opencv.cpp) leave out: writing a video, the source's
 * frame rate, releasing a capture, reading a video back to check it. A build without
 * OpenCV (OPENCV=0) opens no video: every call fails with an error that says so. */
#ifndef MCD_VIDEO_WRITER_H
#define MCD_VIDEO_WRITER_H

#include "io/annotate.h"

#ifdef __cplusplus
extern "C" {
#endif

/* Open a video file (file != NULL) or camera `cam` with Darknet's open_video_stream,
 * called with 0,0,0 for the size and frame rate (it passes its width argument for all
 * three). OpenCV's own warnings about an unreadable file are kept quiet. NULL, with an
 * error naming the file or camera, when it cannot be opened. */
void *mcd_video_open(const char *file, int cam);
/* The next frame (Darknet's get_image_from_stream: RGB, planar, [0, 1]); data NULL at the
 * end of the stream. */
image mcd_video_frame(void *cap);
/* The stream's frames per second, 0 when not known. */
double mcd_video_fps(void *cap);
/* The size of the stream's frames as its container or camera declares it, before a frame
 * is decoded; 0 x 0 when not known. */
void mcd_video_frame_size(void *cap, long long *w, long long *h);
/* Release a stream from mcd_video_open (Darknet has no release: its streams are
 * cv::VideoCapture objects made with new). */
void mcd_video_close(void *cap);

typedef struct mcd_video_writer mcd_video_writer;

/* A Motion-JPEG video of w x h frames at fps (an .avi name: OpenCV's container follows
 * the extension). It is written under a temporary name beside path (NAME.partial.EXT) and
 * renamed to path by mcd_video_writer_close: the encoder buffers frames, so a video cut
 * short by a kill would lack its last frames and index; path is whole or absent. NULL,
 * with an error naming the file, when it cannot be written. */
mcd_video_writer *mcd_video_writer_open(const char *path, int w, int h, double fps);
/* 0, or -1 (with an error) when the frame's size is not the video's. */
int mcd_video_writer_write(mcd_video_writer *vw, const mcd_canvas *frame);
/* Finish the file, rename it to its path and free vw. 0, or -1 (with an error) if the file
 * is missing or empty, or cannot be renamed. */
int mcd_video_writer_close(mcd_video_writer *vw);

/* Decode every frame of a video file: how many, their size and the frame rate the
 * container declares. 0, or -1 with an error naming the file. */
int mcd_video_probe(const char *path, int *frames, int *w, int *h, double *fps);

#ifdef __cplusplus
}
#endif

#endif
