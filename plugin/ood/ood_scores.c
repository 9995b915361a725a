#include "ood/ood_scores.h"

#include <math.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "io/image_io.h"
#include "layers/discrepancy_layer.h"
#include "backend/inference.h"
#include "util/mcd_error.h"
#include "util/wall_clock.h"
#include "network/weights_file.h"

static const char *const names[OOD_NSCORES] = {
    "mcd_l1", "entropy_gap", "msp1", "msp_avg", "max_logit1", "energy1", "entropy_avg",
};
static const char *const titles[OOD_NSCORES] = {
    "MCD L1", "entropy gap", "MSP (head 1)", "MSP (average)", "max logit (head 1)",
    "energy (head 1)", "entropy (average)",
};
/* +1: higher raw value = more OOD; -1: higher raw value = more ID. */
static const int orientation[OOD_NSCORES] = {+1, +1, -1, -1, -1, +1, +1};

const char *ood_score_name(int kind)
{
    return kind >= 0 && kind < OOD_NSCORES ? names[kind] : "?";
}

const char *ood_score_title(int kind)
{
    return kind >= 0 && kind < OOD_NSCORES ? titles[kind] : "?";
}

double ood_score_oodness(int kind, double raw)
{
    return kind >= 0 && kind < OOD_NSCORES ? orientation[kind] * raw : raw;
}

static int argmax(const double *v, int k)
{
    int best = 0;
    for (int i = 1; i < k; ++i)
        if (v[i] > v[best]) best = i;
    return best;
}

void ood_scores_compute(const float *p1, const float *p2, const float *z1, const float *z2,
                        int classes, float l1, ood_image_scores *out)
{
    (void)z2; /* head 2's logits: no score uses them yet */
    const int K = classes > 0 ? classes : 1;
    double small[3 * 64], *q1 = K <= 64 ? small : malloc(sizeof(double) * 3 * K);
    double *q2 = q1 + K, *qa = q2 + K;
    for (int k = 0; k < K; ++k) {
        q1[k] = p1[k];
        q2[k] = p2[k];
        qa[k] = 0.5 * (q1[k] + q2[k]);
    }
    double zmax = z1[0];
    for (int k = 1; k < K; ++k)
        if (z1[k] > zmax) zmax = z1[k];
    double sum = 0;
    for (int k = 0; k < K; ++k) sum += exp((double)z1[k] - zmax);
    out->pred1 = argmax(q1, K);
    out->pred2 = argmax(q2, K);
    out->pred_avg = argmax(qa, K);
    out->raw[OOD_MCD_L1] = l1;
    out->raw[OOD_ENTROPY_GAP] = mcd_entropy(q1, K) - mcd_entropy(q2, K);
    out->raw[OOD_MSP1] = q1[out->pred1];
    out->raw[OOD_MSP_AVG] = qa[out->pred_avg];
    out->raw[OOD_MAX_LOGIT1] = zmax;
    out->raw[OOD_ENERGY1] = -(zmax + log(sum));
    out->raw[OOD_ENTROPY_AVG] = mcd_entropy(qa, K);
    if (q1 != small) free(q1);
}

void ood_scores_from_network(const network *net, const mcd_layout *m, int b,
                             ood_image_scores *out)
{
    const int K = m->classes;
    /* the layer feeding each head's [softmax] holds its logits */
    const layer *z1 = &net->layers[m->softmax1 - 1], *z2 = &net->layers[m->softmax2 - 1];
    ood_scores_compute(mcd_head_probs(net, m, 1, b), mcd_head_probs(net, m, 2, b),
                       z1->output + (size_t)b * z1->outputs, z2->output + (size_t)b * z2->outputs,
                       K, net->layers[m->l1].output[b], out);
}

int ood_is_ood(double l1, double threshold)
{
    return (float)l1 > (float)threshold;
}

network *ood_load_network(const char *cfg, const char *weights, mcd_layout *m)
{
    network *net = mcd_parse_network_cfg(cfg);
    if (!net) return NULL;
    if (mcd_find_layout(net, m)) {
        mcd_set_error("%s: %s", cfg, mcd_last_error());
        free_network(net);
        return NULL;
    }
    if (mcd_load_weights(net, weights, net->n, 1)) {
        free_network(net);
        return NULL;
    }
    return net;
}

/* ---- batched scoring -------------------------------------------------------------------- */

typedef struct load_job {
    char **paths;
    int start, count;
    int w, h, c, inputs;
    float *buf;
    int failed;
    char err[1100];
} load_job;

static void *load_batch(void *arg)
{
    load_job *j = arg;
    for (int i = 0; i < j->count; ++i) {
        image im;
        if (mcd_read_image(j->paths[j->start + i], j->w, j->h, j->c, &im)) {
            snprintf(j->err, sizeof j->err, "%s", mcd_last_error());
            j->failed = 1;
            return NULL;
        }
        if (im.w * im.h * im.c != j->inputs) {
            snprintf(j->err, sizeof j->err, "image '%s' read as %dx%dx%d, the network takes %d values",
                     j->paths[j->start + i], im.w, im.h, im.c, j->inputs);
            free_image(im);
            j->failed = 1;
            return NULL;
        }
        memcpy(j->buf + (size_t)i * j->inputs, im.data, sizeof(float) * j->inputs);
        free_image(im);
    }
    return NULL;
}

int ood_score_images(network *net, const mcd_layout *m, char **paths, int n,
                     const char *list_name, const char *label, ood_image_scores *out)
{
    if (n < 1) {
        mcd_set_error("%s%sno images to score", list_name ? list_name : "", list_name ? ": " : "");
        return -1;
    }
    const int batch = net->batch, inputs = net->inputs;
    const int nbatches = (n + batch - 1) / batch;
    float *buf[2] = {malloc(sizeof(float) * (size_t)batch * inputs),
                     malloc(sizeof(float) * (size_t)batch * inputs)};
    if (!buf[0] || !buf[1]) {
        free(buf[0]);
        free(buf[1]);
        mcd_set_error("out of memory for a batch of %d images", batch);
        return -1;
    }
    load_job jobs[2];
    for (int i = 0; i < 2; ++i)
        jobs[i] = (load_job){.paths = paths, .w = net->w, .h = net->h, .c = net->c,
                             .inputs = inputs, .buf = buf[i]};
    const int progress = label && nbatches > 1;
    const int tty = isatty(2);
    const double t0 = mcd_now_seconds();
    double last = t0;
    int rc = 0, pass_failed = 0;

    /* batch k is read into buf[k % 2] while batch k - 1 is computed */
    jobs[0].start = 0;
    jobs[0].count = n < batch ? n : batch;
    load_batch(&jobs[0]);
    pthread_t thread;
    for (int k = 0; k < nbatches; ++k) {
        load_job *cur = &jobs[k % 2], *next = &jobs[(k + 1) % 2];
        if (cur->failed) {
            rc = -1;
            break;
        }
        int have_next = k + 1 < nbatches;
        if (have_next) {
            next->start = (k + 1) * batch;
            next->count = n - next->start < batch ? n - next->start : batch;
            next->failed = 0;
            if (pthread_create(&thread, NULL, load_batch, next)) {
                load_batch(next); /* no thread: read it now */
                have_next = 0;
            }
        }
        if (cur->count != net->batch) set_batch_network(net, cur->count);
        int predicted = mcd_predict(net, cur->buf) != NULL;
        for (int b = 0; predicted && b < cur->count; ++b)
            ood_scores_from_network(net, m, b, &out[cur->start + b]);
        if (have_next) pthread_join(thread, NULL);
        if (!predicted) { /* the backend could not complete the pass: its error is set */
            rc = -1;
            pass_failed = 1;
            break;
        }
        double t = mcd_now_seconds();
        int done = cur->start + cur->count;
        if (progress && (done == n || t - last >= (tty ? 0.5 : 10.0))) {
            fprintf(stderr, "%s%s: %d/%d images, %.0f images/s%s", tty ? "\r" : "", label, done,
                    n, done / (t - t0 > 1e-9 ? t - t0 : 1e-9), tty && done < n ? "" : "\n");
            fflush(stderr);
            last = t;
        }
    }
    if (rc && !pass_failed) {
        const load_job *bad = jobs[0].failed ? &jobs[0] : &jobs[1];
        if (list_name)
            mcd_set_error("%s: %s", list_name, bad->err);
        else
            mcd_set_error("%s", bad->err);
    }
    if (rc && progress && tty) fputc('\n', stderr);
    if (net->batch != batch) set_batch_network(net, batch);
    free(buf[0]);
    free(buf[1]);
    return rc;
}
