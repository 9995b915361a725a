#include "ood/frame_verdicts.h"

#include <stdlib.h>
#include <string.h>

#include "ood/ood_scores.h"
#include "util/mcd_error.h"

int ood_frame_verdicts_init(ood_frame_verdicts *v, const ood_frame_options *o)
{
    memset(v, 0, sizeof *v);
    if (o->smooth < 1 || o->hold < 1 || o->alarm_window < 0 ||
        (o->alarm_window > 0 && !(o->alarm_share >= 0 && o->alarm_share < 1))) {
        mcd_set_error("frame verdicts: smooth %d, hold %d, alarm %g:%d out of range", o->smooth,
                      o->hold, o->alarm_share, o->alarm_window);
        return -1;
    }
    v->o = *o;
    v->verdict = -1;
    v->scores = calloc((size_t)o->smooth, sizeof *v->scores);
    v->recent = calloc((size_t)(o->alarm_window ? o->alarm_window : 1), 1);
    if (!v->scores || !v->recent) {
        ood_frame_verdicts_free(v);
        mcd_set_error("out of memory (a window of %d frames)", o->alarm_window);
        return -1;
    }
    return 0;
}

void ood_frame_verdicts_push(ood_frame_verdicts *v, float score, float threshold,
                             ood_frame_step *out)
{
    const ood_frame_options *o = &v->o;
    v->scores[v->frames % o->smooth] = score;
    long have = v->frames + 1 < o->smooth ? v->frames + 1 : o->smooth;
    double sum = 0; /* summed afresh: a running sum would drift over a long stream */
    for (long i = 0; i < have; ++i) sum += v->scores[i];
    out->smoothed = (float)(sum / have);
    int wants = ood_is_ood(out->smoothed, threshold);
    if (v->verdict < 0) {
        v->verdict = wants;
    } else if (wants != v->verdict) {
        if (++v->against >= o->hold) v->verdict = wants, v->against = 0;
    } else {
        v->against = 0;
    }
    out->verdict = v->verdict;
    out->alarm_event = 0;
    out->share = -1;
    if (o->alarm_window > 0) {
        int slot = (int)(v->frames % o->alarm_window);
        if (v->frames >= o->alarm_window) v->recent_ood -= v->recent[slot];
        v->recent[slot] = (unsigned char)v->verdict;
        v->recent_ood += v->verdict;
        if (v->frames + 1 >= o->alarm_window) {
            out->share = (double)v->recent_ood / o->alarm_window;
            if (!v->alarm && out->share > o->alarm_share) v->alarm = 1, out->alarm_event = 1;
            else if (v->alarm && out->share <= o->alarm_share) v->alarm = 0, out->alarm_event = -1;
        }
    }
    ++v->frames;
}

void ood_frame_verdicts_free(ood_frame_verdicts *v)
{
    free(v->scores);
    free(v->recent);
    v->scores = NULL;
    v->recent = NULL;
}
