/* What the library API (include/mcd.h, api/mcd.c) keeps per process: the detectors that are
 * open, so that a closed or foreign pointer is refused instead of used, and the one lock
 * under which every pass through a network runs (the CPU backend's engine, stream, scratch
 * buffers and layer plans are process-wide; passes from two threads must not meet there).
 * `darknet mcd detect` reaches the gate of a detector through here for what the public API
 * has no call for (its class names from -data, video frames already decoded). */
#ifndef MCD_DETECTOR_REGISTRY_H
#define MCD_DETECTOR_REGISTRY_H

#include "mcd.h"
#include "ood/gate.h"

struct mcd_detector {
    ood_gate gate;
    int has_threshold;   /* 0 until a threshold file or mcd_detector_set_threshold */
};

/* Take the lock; with d, check that d is an open detector (else unlock, set the error
 * naming `call`, return -1). 0 with the lock held. */
int mcd_registry_enter(mcd_detector *d, const char *call);
/* The lock alone (opening a detector); mcd_registry_leave releases it. */
void mcd_registry_lock(void);
void mcd_registry_leave(void);

/* Record d as open / forget it (under the lock). 0, or -1 when out of memory. */
int mcd_registry_add(mcd_detector *d);
void mcd_registry_remove(mcd_detector *d);

/* Replace a detector's class names (names: gate.m.classes strings, owned by it from now on,
 * as mcd_read_class_names gives them). */
int mcd_detector_use_names(mcd_detector *d, char **names);

/* 0 when d has a threshold, else -1 with an error naming `call` (under the lock). */
int mcd_registry_need_threshold(const mcd_detector *d, const char *call);

/* A gate's verdict as the API's result. */
void mcd_registry_result(const mcd_detector *d, const ood_verdict *v, mcd_result *out);

/* Classify a decoded colour image (3 planes, [0, 1], any size: a video frame). */
int mcd_detector_classify_image(mcd_detector *d, image colour, mcd_result *out);

#endif
