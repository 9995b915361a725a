/* The library API of include/mcd.h on the OOD gate (ood/gate.h). Every call takes the
 * registry's lock (api/detector_registry.h): one pass through a network at a time. */
#include "mcd.h"

#include <fcntl.h>
#include <limits.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "api/detector_registry.h"
#include "backend/cpu_backend.h"
#include "io/data_lists.h"
#include "io/image_io.h"
#include "network/mcd_network.h"
#include "ood/threshold_file.h"
#include "util/mcd_error.h"

#ifndef MCD_VERSION
#define MCD_VERSION "0.0.0"
#endif

const char *mcd_version(void)
{
    return "darknet-mcd " MCD_VERSION;
}

/* Darknet prints its layer table and "Loading weights" on stderr: the library does not
 * print, so stderr points at /dev/null while a network loads, unless MCD_VERBOSE=1. */
static int quiet_begin(void)
{
    const char *v = getenv("MCD_VERBOSE");
    if (v && *v && strcmp(v, "0") != 0) return -1;
    fflush(stderr);
    int saved = dup(2), null = open("/dev/null", O_WRONLY | O_CLOEXEC);
    if (saved < 0 || null < 0 || dup2(null, 2) < 0) {
        if (saved >= 0) close(saved);
        if (null >= 0) close(null);
        return -1;
    }
    close(null);
    return saved;
}

static void quiet_end(int saved)
{
    if (saved < 0) return;
    fflush(stderr);
    dup2(saved, 2);
    close(saved);
}

/* The threshold: the file given, WEIGHTS.threshold for NULL, none for "" (*has 0). */
static int load_threshold(const char *weights, const char *file, float *threshold, int *has)
{
    *has = 0;
    if (file && !*file) return 0;
    char path[PATH_MAX];
    if (file) snprintf(path, sizeof path, "%s", file);
    else mcd_threshold_path(weights, path, sizeof path);
    mcd_threshold t;
    if (mcd_threshold_load(path, &t)) return -1;
    *threshold = (float)t.threshold;
    *has = 1;
    return 0;
}

/* The class names of the cfg's data set, when it has readable ones. */
static void load_names(mcd_detector *d, const char *cfg)
{
    char data[PATH_MAX];
    char **names = NULL;
    if (mcd_resolve_data_file(cfg, NULL, data, sizeof data, NULL) == 0 &&
        mcd_read_class_names(data, d->gate.m.classes, &names) == 0)
        d->gate.names = names;
}

mcd_detector *mcd_detector_open(const char *cfg, const char *weights, const char *threshold_file)
{
    if (!cfg || !weights) {
        mcd_set_error("mcd_detector_open: %s is NULL", cfg ? "the weights path" : "the cfg path");
        return NULL;
    }
    mcd_detector *d = calloc(1, sizeof *d);
    if (!d) {
        mcd_set_error("out of memory");
        return NULL;
    }
    float threshold = 0;
    int has_threshold;
    /* first: a missing threshold file is said before the network loads */
    if (load_threshold(weights, threshold_file, &threshold, &has_threshold)) {
        free(d);
        return NULL;
    }
    mcd_registry_lock();
    mcd_network_set_parse_hook(mcd_backend_install);
    int quiet = quiet_begin();
    int rc = ood_gate_open(&d->gate, cfg, weights);
    quiet_end(quiet);
    d->gate.threshold = threshold;
    d->has_threshold = has_threshold;
    if (rc == 0) load_names(d, cfg);
    if (rc == 0) rc = mcd_registry_add(d);
    mcd_registry_leave();
    if (rc) {
        ood_gate_close(&d->gate);
        free(d);
        return NULL;
    }
    return d;
}

static int check_out(const void *out, const char *call)
{
    if (out) return 0;
    mcd_set_error("%s: the result pointer is NULL", call);
    return -1;
}

int mcd_detector_classify_file(mcd_detector *d, const char *path, mcd_result *out)
{
    static const char call[] = "mcd_detector_classify_file";
    if (check_out(out, call)) return -1;
    if (!path) {
        mcd_set_error("%s: the path is NULL", call);
        return -1;
    }
    if (mcd_registry_enter(d, call)) return -1;
    int rc = -1;
    image colour;
    ood_verdict v;
    if (mcd_registry_need_threshold(d, call) == 0 && mcd_read_image(path, 0, 0, 3, &colour) == 0) {
        rc = ood_gate_classify(&d->gate, colour, &v);
        free_image(colour);
        if (rc == 0) mcd_registry_result(d, &v, out);
        else mcd_set_error("%s: %s", path, mcd_last_error());
    }
    mcd_registry_leave();
    return rc;
}

/* At most 2^28 pixels (16384 x 16384): above that, a size is a mistake, not a picture. */
#define MAX_PIXELS (1L << 28)

int mcd_detector_classify_pixels(mcd_detector *d, const unsigned char *pixels, int width,
                                 int height, int channels, mcd_result *out)
{
    static const char call[] = "mcd_detector_classify_pixels";
    if (check_out(out, call)) return -1;
    if (!pixels) {
        mcd_set_error("%s: the pixels are NULL", call);
        return -1;
    }
    if (width <= 0 || height <= 0 || (long)width * height > MAX_PIXELS) {
        mcd_set_error("%s: size %dx%d: width and height must be above 0, at most %ld pixels", call,
                      width, height, MAX_PIXELS);
        return -1;
    }
    if (channels != 1 && channels != 3 && channels != 4) {
        mcd_set_error("%s: %d channels: 1 (grey), 3 (RGB) or 4 (RGBA)", call, channels);
        return -1;
    }
    image colour = make_image(width, height, 3);
    if (!colour.data) {
        mcd_set_error("%s: out of memory for %dx%d pixels", call, width, height);
        return -1;
    }
    const size_t n = (size_t)width * height;
    for (size_t i = 0; i < n; ++i) {
        const unsigned char *p = pixels + i * (size_t)channels;
        for (int k = 0; k < 3; ++k) colour.data[k * n + i] = (channels == 1 ? p[0] : p[k]) / 255.0f;
    }
    int rc = mcd_detector_classify_image(d, colour, out);
    if (rc) mcd_set_error("%s", mcd_last_error()); /* keeps the callee's message */
    free_image(colour);
    return rc;
}

int mcd_detector_classify_batch(mcd_detector *d, const char *const *paths, int n, mcd_result *out)
{
    static const char call[] = "mcd_detector_classify_batch";
    if (check_out(out, call)) return -1;
    if (!paths || n <= 0) {
        mcd_set_error("%s: %s", call, !paths ? "the paths are NULL" : "n must be above 0");
        return -1;
    }
    for (int i = 0; i < n; ++i)
        if (!paths[i]) {
            mcd_set_error("%s: paths[%d] is NULL", call, i);
            return -1;
        }
    ood_verdict *v = malloc(sizeof *v * (size_t)n);
    if (!v) {
        mcd_set_error("%s: out of memory (%d images)", call, n);
        return -1;
    }
    if (mcd_registry_enter(d, call)) {
        free(v);
        return -1;
    }
    int rc = mcd_registry_need_threshold(d, call) ||
             ood_gate_classify_paths(&d->gate, (char **)paths, n, v) ? -1 : 0;
    for (int i = 0; rc == 0 && i < n; ++i) mcd_registry_result(d, &v[i], &out[i]);
    mcd_registry_leave();
    free(v);
    return rc;
}

void mcd_detector_set_threshold(mcd_detector *d, float threshold)
{
    static const char call[] = "mcd_detector_set_threshold";
    if (!isfinite(threshold)) {
        mcd_set_error("%s: %g is not a finite number", call, threshold);
        return;
    }
    if (mcd_registry_enter(d, call)) return;
    d->gate.threshold = threshold;
    d->has_threshold = 1;
    mcd_registry_leave();
}

void mcd_detector_close(mcd_detector *d)
{
    if (!d || mcd_registry_enter(d, "mcd_detector_close")) return;
    mcd_registry_remove(d);
    ood_gate_close(&d->gate);
    free(d);
    mcd_registry_leave();
}
