/* darknet-mcd: the out-of-distribution gate as a C library (libdarknet-mcd).
 *
 * A detector is an MCD network (a Darknet cfg with two classifier heads, trained with
 * `darknet mcd train`), its weights and a threshold (from `darknet mcd calibrate`). It
 * classifies an image and scores how much the two heads disagree: the MCD L1 score
 * sum_k |p1_k - p2_k|, in [0, 2]; above the threshold, the image is something the model
 * was never trained on (out of distribution, OOD).
 *
 *     mcd_detector *d = mcd_detector_open("mine/mcd-resnet.cfg",
 *                                         "mine/backup/mcd-resnet_best.weights", NULL);
 *     mcd_result r;
 *     if (!d || mcd_detector_classify_file(d, "photo.jpg", &r))
 *         fprintf(stderr, "%s\n", mcd_last_error());
 *     else if (r.is_ood) ... // refuse: the model has not seen anything like it
 *     mcd_detector_close(d);
 *
 * Every function returns 0 (or a detector) on success and -1 (or NULL) on failure, with a
 * message naming the file or argument in mcd_last_error(). The library never exits the
 * program, never prints (set MCD_VERBOSE=1 in the environment to see Darknet's layer
 * table when a network is loaded) and frees all it allocates at mcd_detector_close.
 *
 * Threads: a detector is used by one thread at a time; several detectors may be used from
 * several threads at once. The CPU backend keeps process-wide state, so passes through the
 * networks run one at a time (a lock inside the library): threads are safe, not faster.
 * OMP_NUM_THREADS sets the threads of one pass. Link: pkg-config --cflags --libs darknet-mcd. */
#ifndef MCD_H
#define MCD_H

#ifdef __cplusplus
extern "C" {
#endif

typedef struct mcd_detector mcd_detector;

typedef struct {
    int class_index;          /* the class the two heads predict on average */
    const char *class_name;   /* from the data set's names, or NULL (valid until close) */
    float prob;               /* that class's averaged probability */
    float score;              /* MCD L1, sum_k |p1_k - p2_k|, in [0, 2] */
    float threshold;          /* the threshold in use */
    int is_ood;               /* score > threshold */
} mcd_result;

/* Load cfg and weights (checked against each other) and the threshold: threshold_file,
 * or NULL for WEIGHTS.threshold (written by `darknet mcd calibrate`), or "" for none (then
 * mcd_detector_set_threshold before classifying). Class names come from the data set the
 * cfg's data= names (its names= list), when it can be read. */
mcd_detector *mcd_detector_open(const char *cfg, const char *weights,
                                const char *threshold_file); /* NULL: WEIGHTS.threshold */

/* One image file (any format OpenCV reads; grey or colour, any size: converted and
 * resized to the network's input as training saw it). */
int mcd_detector_classify_file(mcd_detector *d, const char *path, mcd_result *out);

/* Pixels in memory: height rows of width pixels, each `channels` bytes (HWC, 8-bit):
 * 1 grey, 3 RGB, 4 RGBA (alpha ignored). Rows are packed (stride width * channels). */
int mcd_detector_classify_pixels(mcd_detector *d, const unsigned char *pixels, int width,
                                 int height, int channels, mcd_result *out); /* HWC, 8-bit */

/* n image files through the network in batches of the cfg's batch size, decoded by a
 * reader thread ahead of the network; out[i] is paths[i]'s result. On an unreadable image
 * it returns -1 naming it (the other results are then not set). */
int mcd_detector_classify_batch(mcd_detector *d, const char *const *paths, int n,
                                mcd_result *out);

/* The threshold from now on (a finite number; OOD when score > threshold). */
void mcd_detector_set_threshold(mcd_detector *d, float threshold);

/* The message of this thread's last failure ("" when none). */
const char *mcd_last_error(void);  /* thread-local message of the last failure */

/* Free everything the detector holds. NULL, or a detector already closed: nothing. */
void mcd_detector_close(mcd_detector *d);

/* "darknet-mcd X.Y.Z" */
const char *mcd_version(void);

#ifdef __cplusplus
}
#endif

#endif
