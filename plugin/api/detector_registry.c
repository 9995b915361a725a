#include "api/detector_registry.h"

#include <pthread.h>
#include <stdlib.h>

#include "io/data_lists.h"
#include "util/mcd_error.h"

static pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;
static mcd_detector **open_detectors;
static int n_open, cap_open;

int mcd_registry_enter(mcd_detector *d, const char *call)
{
    pthread_mutex_lock(&lock);
    if (!d) {
        pthread_mutex_unlock(&lock);
        mcd_set_error("%s: the detector is NULL", call);
        return -1;
    }
    for (int i = 0; i < n_open; ++i)
        if (open_detectors[i] == d) return 0;
    pthread_mutex_unlock(&lock);
    mcd_set_error("%s: not an open detector (closed already, or never opened)", call);
    return -1;
}

void mcd_registry_lock(void)
{
    pthread_mutex_lock(&lock);
}

void mcd_registry_leave(void)
{
    pthread_mutex_unlock(&lock);
}

int mcd_registry_add(mcd_detector *d)
{
    if (n_open == cap_open) {
        int cap = cap_open ? 2 * cap_open : 8;
        mcd_detector **grown = realloc(open_detectors, sizeof *grown * (size_t)cap);
        if (!grown) {
            mcd_set_error("out of memory");
            return -1;
        }
        open_detectors = grown;
        cap_open = cap;
    }
    open_detectors[n_open++] = d;
    return 0;
}

void mcd_registry_remove(mcd_detector *d)
{
    for (int i = 0; i < n_open; ++i)
        if (open_detectors[i] == d) {
            open_detectors[i] = open_detectors[--n_open];
            break;
        }
    if (n_open == 0) { /* nothing open: nothing kept (LeakSanitizer sees no block) */
        free(open_detectors);
        open_detectors = NULL;
        cap_open = 0;
    }
}

int mcd_detector_use_names(mcd_detector *d, char **names)
{
    if (mcd_registry_enter(d, "mcd_detector_use_names")) return -1;
    if (d->gate.names) mcd_free_list(d->gate.names, d->gate.m.classes);
    d->gate.names = names;
    mcd_registry_leave();
    return 0;
}

void mcd_registry_result(const mcd_detector *d, const ood_verdict *v, mcd_result *out)
{
    out->class_index = v->cls;
    out->class_name = d->gate.names ? d->gate.names[v->cls] : NULL;
    out->prob = v->prob;
    out->score = v->score;
    out->threshold = d->gate.threshold;
    out->is_ood = v->ood;
}

/* No threshold yet: an error, not a verdict against an arbitrary 0. */
static int need_threshold(const mcd_detector *d, const char *call)
{
    if (d->has_threshold) return 0;
    mcd_set_error("%s: the detector has no threshold: open it with a threshold file (run "
                  "darknet mcd calibrate) or call mcd_detector_set_threshold", call);
    return -1;
}

int mcd_detector_classify_image(mcd_detector *d, image colour, mcd_result *out)
{
    if (mcd_registry_enter(d, "mcd_detector_classify_image")) return -1;
    ood_verdict v;
    int rc = need_threshold(d, "mcd_detector_classify_image") ||
             ood_gate_classify(&d->gate, colour, &v) ? -1 : 0;
    if (rc == 0) mcd_registry_result(d, &v, out);
    mcd_registry_leave();
    return rc;
}

int mcd_registry_need_threshold(const mcd_detector *d, const char *call)
{
    return need_threshold(d, call);
}
