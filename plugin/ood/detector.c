#include "ood/detector.h"

#include <math.h>
#include <stdio.h>
#include <string.h>

#include "backend/inference.h"
#include "io/data_lists.h"
#include "io/image_io.h"
#include "ood/ood_scores.h"
#include "util/mcd_error.h"

int mcd_detector_open(mcd_detector *d, const char *cfg, const char *weights)
{
    memset(d, 0, sizeof *d);
    d->net = ood_load_network(cfg, weights, &d->m);
    if (!d->net) return -1;
    if (d->net->c != 1 && d->net->c != 3) {
        mcd_set_error("%s: channels=%d: images are read as 1 or 3 channels", cfg, d->net->c);
        mcd_detector_close(d);
        return -1;
    }
    set_batch_network(d->net, 1);
    return 0;
}

int mcd_detector_classify(mcd_detector *d, image colour, mcd_verdict_result *r)
{
    image in = mcd_network_image(colour, d->net->w, d->net->h, d->net->c);
    float *out = mcd_predict(d->net, in.data);
    free_image(in);
    if (!out) return -1; /* the backend could not complete the pass */
    const float *p1 = mcd_head_probs(d->net, &d->m, 1, 0);
    const float *p2 = mcd_head_probs(d->net, &d->m, 2, 0);
    r->score = out[0];
    r->cls = 0;
    r->prob = -1;
    for (int k = 0; k < d->m.classes; ++k) {
        float avg = 0.5f * (p1[k] + p2[k]);
        if (avg > r->prob) r->prob = avg, r->cls = k;
    }
    if (!isfinite(r->score) || !isfinite(r->prob)) {
        mcd_set_error("the network's output is not a number (score %g): broken weights?",
                      r->score);
        return -1;
    }
    r->ood = r->score > d->threshold;
    if (d->names) snprintf(r->label, sizeof r->label, "%s", d->names[r->cls]);
    else snprintf(r->label, sizeof r->label, "%d", r->cls);
    return 0;
}

void mcd_detector_close(mcd_detector *d)
{
    if (d->names) mcd_free_list(d->names, d->m.classes);
    if (d->net) free_network(d->net);
    memset(d, 0, sizeof *d);
}
