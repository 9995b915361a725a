#include "ood/gate.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "backend/inference.h"
#include "io/data_lists.h"
#include "io/image_io.h"
#include "ood/ood_scores.h"
#include "util/mcd_error.h"

int ood_gate_open(ood_gate *g, const char *cfg, const char *weights)
{
    memset(g, 0, sizeof *g);
    g->net = ood_load_network(cfg, weights, &g->m);
    if (!g->net) return -1;
    if (g->net->c != 1 && g->net->c != 3) {
        mcd_set_error("%s: channels=%d: images are read as 1 or 3 channels", cfg, g->net->c);
        ood_gate_close(g);
        return -1;
    }
    g->batch = g->net->batch > 0 ? g->net->batch : 1;
    set_batch_network(g->net, 1);
    return 0;
}

/* A verdict from an image's scores; -1 when they are not numbers. */
static int verdict(const ood_gate *g, const ood_image_scores *s, ood_verdict *r)
{
    r->cls = s->pred_avg;
    r->prob = (float)s->raw[OOD_MSP_AVG];
    r->score = (float)s->raw[OOD_MCD_L1];
    if (!isfinite(r->score) || !isfinite(r->prob)) {
        mcd_set_error("the network's output is not a number (score %g): broken weights?",
                      r->score);
        return -1;
    }
    r->ood = ood_is_ood(r->score, g->threshold);
    return 0;
}

int ood_gate_classify(ood_gate *g, image colour, ood_verdict *r)
{
    if (g->net->batch != 1) set_batch_network(g->net, 1);
    image in = mcd_network_image(colour, g->net->w, g->net->h, g->net->c);
    float *out = mcd_predict(g->net, in.data);
    free_image(in);
    if (!out) return -1; /* the backend could not complete the pass */
    ood_image_scores s;
    ood_scores_from_network(g->net, &g->m, 0, &s);
    return verdict(g, &s, r);
}

int ood_gate_classify_paths(ood_gate *g, char **paths, int n, ood_verdict *out)
{
    ood_image_scores *s = malloc(sizeof *s * (size_t)(n > 0 ? n : 1));
    if (!s) {
        mcd_set_error("out of memory (%d images)", n);
        return -1;
    }
    /* the network stays at this batch size after: the next call's batches (and the layers'
     * plans, built per batch size) are ready for it */
    int b = n < g->batch ? n : g->batch;
    if (g->net->batch != b) set_batch_network(g->net, b);
    int rc = ood_score_images(g->net, &g->m, paths, n, NULL, NULL, s);
    for (int i = 0; rc == 0 && i < n; ++i) rc = verdict(g, &s[i], &out[i]);
    free(s);
    return rc;
}

void ood_gate_close(ood_gate *g)
{
    if (g->names) mcd_free_list(g->names, g->m.classes);
    if (g->net) free_network(g->net);
    memset(g, 0, sizeof *g);
}
