#include "layers/discrepancy_layer.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#ifdef GPU
#include "cuda.h"
#endif

/* Fields of Darknet's layer struct used here: classes; input_layers[0..1], the heads'
 * softmax layers (as a route layer lists its sources); thresh = margin; scale = weight;
 * joint = the loss (an mcd_loss_kind; Darknet's own code never reads joint);
 * cost[0] = B * L_u of the last pass (what Darknet reads), cost[1..2] = mean H(p1), mean H(p2)
 * of the last pass, cost[3] = its D, the discrepancy the loss hinges on (free_layer frees
 * cost, not loss). None of these is in a weights file. */

static const char *const loss_names[] = {"entropy", "l1", "skl"};
#define NLOSSES ((int)(sizeof loss_names / sizeof loss_names[0]))

const char *mcd_loss_kind_name(mcd_loss_kind kind)
{
    return (int)kind >= 0 && (int)kind < NLOSSES ? loss_names[kind] : "?";
}

int mcd_loss_kind_parse(const char *name)
{
    for (int i = 0; i < NLOSSES; ++i)
        if (strcmp(name, loss_names[i]) == 0) return i;
    return -1;
}

layer make_mcd_discrepancy_layer(int batch, int classes, int softmax1, int softmax2,
                                 float margin, float weight, mcd_loss_kind loss)
{
    fprintf(stderr, "mcd_discrepancy %4d,%4d      %4d classes, loss %s, margin %g, weight %g\n",
            softmax1, softmax2, classes, mcd_loss_kind_name(loss), margin, weight);
    layer l = {0};
    l.type = MCD_DISCREPANCY;
    l.batch = batch;
    l.classes = classes;
    l.inputs = classes;
    l.outputs = 2 * classes;
    l.out_w = l.out_h = 1;
    l.out_c = l.outputs;
    l.thresh = margin;
    l.scale = weight;
    l.joint = loss;
    l.input_layers = calloc(2, sizeof(int));
    l.input_layers[0] = softmax1;
    l.input_layers[1] = softmax2;
    l.output = calloc((size_t)l.outputs * batch, sizeof(float));
    l.delta = calloc((size_t)l.outputs * batch, sizeof(float));
    l.cost = calloc(4, sizeof(float));
    l.forward = forward_mcd_discrepancy_layer;
    l.backward = backward_mcd_discrepancy_layer;
#ifdef GPU
    l.forward_gpu = forward_mcd_discrepancy_layer_gpu;
    l.backward_gpu = backward_mcd_discrepancy_layer_gpu;
    if (gpu_index >= 0) {
        l.output_gpu = cuda_make_array(l.output, (size_t)l.outputs * batch);
        l.delta_gpu = cuda_make_array(l.delta, (size_t)l.outputs * batch);
    }
#endif
    return l;
}

/* p log p with its limit 0 at p = 0: a saturated softmax gives exact zeros. */
static double plogp(double p)
{
    return p > 0 ? p * log(p) : 0.0;
}

double mcd_entropy(const double *p, int classes)
{
    double h = 0;
    for (int k = 0; k < classes; ++k) h -= plogp(p[k]);
    return h;
}

/* H of one image's float probabilities, through a scratch of classes doubles. */
static double entropy(const float *p, int classes, double *scratch)
{
    for (int k = 0; k < classes; ++k) scratch[k] = p[k];
    return mcd_entropy(scratch, classes);
}

/* An inactive hinge: L = 0 and no gradient (the deltas, where given, are zeroed). */
static float inactive_hinge(float *delta1, float *delta2, size_t n)
{
    if (delta1) memset(delta1, 0, n * sizeof(float));
    if (delta2) memset(delta2, 0, n * sizeof(float));
    return 0;
}

float mcd_discrepancy_loss(const float *p1, const float *p2, int batch, int classes,
                           float margin, float weight, float *delta1, float *delta2,
                           float *h1, float *h2)
{
    double small[64], *scratch = classes <= 64 ? small : malloc(sizeof(double) * classes);
    double sum1 = 0, sum2 = 0;
    for (int b = 0; b < batch; ++b) {
        sum1 += entropy(p1 + b * classes, classes, scratch);
        sum2 += entropy(p2 + b * classes, classes, scratch);
    }
    double mean1 = sum1 / batch, mean2 = sum2 / batch;
    double hinge = margin - (mean1 - mean2);
    *h1 = (float)mean1;
    *h2 = (float)mean2;
    if (hinge <= 0) {
        if (scratch != small) free(scratch);
        return inactive_hinge(delta1, delta2, (size_t)batch * classes);
    }
    /* dH/dz_j = -p_j (log p_j + H). L = w (m - mean H1 + mean H2), so
     * dL/dz1 = +w/B p1 (log p1 + H1), dL/dz2 = -w/B p2 (log p2 + H2); delta = -dL/dz. */
    double s = (double)weight / batch;
    for (int b = 0; b < batch; ++b) {
        const float *q1 = p1 + b * classes, *q2 = p2 + b * classes;
        double e1 = entropy(q1, classes, scratch), e2 = entropy(q2, classes, scratch);
        for (int k = 0; k < classes; ++k) {
            double g1 = q1[k] > 0 ? q1[k] * (log(q1[k]) + e1) : 0.0;
            double g2 = q2[k] > 0 ? q2[k] * (log(q2[k]) + e2) : 0.0;
            if (delta1) delta1[b * classes + k] = (float)(-s * g1);
            if (delta2) delta2[b * classes + k] = (float)(s * g2);
        }
    }
    if (scratch != small) free(scratch);
    return (float)(weight * hinge);
}

/* One image's D for l1 or skl, and u1_k = p1_k dD/dp1_k, u2_k = p2_k dD/dp2_k (when u1 is
 * not NULL): what the softmax's backward needs, dD/dz_j = u_j - p_j sum_k u_k. */
static double row_distance(mcd_loss_kind kind, const float *p1, const float *p2, int classes,
                           double *u1, double *u2)
{
    double d = 0;
    for (int k = 0; k < classes; ++k) {
        double a = p1[k], b = p2[k], diff = a - b;
        if (kind == MCD_LOSS_L1) {
            /* d|a - b|/da = sign(a - b), 0 where a = b */
            double sign = diff > 0 ? 1.0 : diff < 0 ? -1.0 : 0.0;
            d += fabs(diff);
            if (u1) u1[k] = a * sign, u2[k] = -b * sign;
        } else {
            /* (a - b)(log a' - log b'), a' = max(a, floor): d/da = r + (a - b)/a above the
             * floor, r below it (the floor is a constant) */
            double r = log(fmax(a, MCD_SKL_FLOOR)) - log(fmax(b, MCD_SKL_FLOOR));
            d += diff * r;
            if (u1) {
                u1[k] = a * r + (a > MCD_SKL_FLOOR ? diff : 0.0);
                u2[k] = -b * r - (b > MCD_SKL_FLOOR ? diff : 0.0);
            }
        }
    }
    return d;
}

/* delta = -dL/dz for one head's image: L = w (m - mean_b D_b) while the hinge is active, so
 * -dL/dz_j = (w/B) dD/dz_j = (w/B) (u_j - p_j sum_k u_k). */
static void row_delta(const float *p, const double *u, int classes, double s, float *delta)
{
    double sum = 0;
    for (int k = 0; k < classes; ++k) sum += u[k];
    for (int k = 0; k < classes; ++k) delta[k] = (float)(s * (u[k] - p[k] * sum));
}

float mcd_discrepancy_loss_of(mcd_loss_kind kind, const float *p1, const float *p2, int batch,
                              int classes, float margin, float weight, float *delta1,
                              float *delta2, mcd_discrepancy_figures *fig)
{
    if (kind == MCD_LOSS_ENTROPY) {
        float L = mcd_discrepancy_loss(p1, p2, batch, classes, margin, weight, delta1, delta2,
                                       &fig->h1, &fig->h2);
        fig->distance = fig->h1 - fig->h2;
        return L;
    }
    double small[3 * 64], *scratch = classes <= 64 ? small : malloc(sizeof(double) * 3 * classes);
    double *u1 = scratch + classes, *u2 = scratch + 2 * classes;
    double sum = 0, sum1 = 0, sum2 = 0;
    for (int b = 0; b < batch; ++b) {
        const float *q1 = p1 + b * classes, *q2 = p2 + b * classes;
        sum += row_distance(kind, q1, q2, classes, NULL, NULL);
        sum1 += entropy(q1, classes, scratch);
        sum2 += entropy(q2, classes, scratch);
    }
    double mean = sum / batch, hinge = margin - mean;
    fig->h1 = (float)(sum1 / batch);
    fig->h2 = (float)(sum2 / batch);
    fig->distance = (float)mean;
    if (hinge <= 0) {
        if (scratch != small) free(scratch);
        return inactive_hinge(delta1, delta2, (size_t)batch * classes);
    }
    double s = (double)weight / batch;
    for (int b = 0; b < batch && (delta1 || delta2); ++b) {
        const float *q1 = p1 + b * classes, *q2 = p2 + b * classes;
        row_distance(kind, q1, q2, classes, u1, u2);
        if (delta1) row_delta(q1, u1, classes, s, delta1 + b * classes);
        if (delta2) row_delta(q2, u2, classes, s, delta2 + b * classes);
    }
    if (scratch != small) free(scratch);
    return (float)(weight * hinge);
}

/* input: head 2's probabilities (batch x classes); head 1's come from input_layers[0].
 * output: batch x [p1 | p2]. delta (own): batch x [-dL/dz1 | -dL/dz2] on unlabeled passes. */
void forward_mcd_discrepancy_layer(const layer l, network net)
{
    const int K = l.classes;
    const float *p1 = net.layers[l.input_layers[0]].output;
    const float *p2 = net.layers[l.input_layers[1]].output;
    for (int b = 0; b < l.batch; ++b) {
        memcpy(l.output + b * 2 * K, p1 + b * K, K * sizeof(float));
        memcpy(l.output + b * 2 * K + K, p2 + b * K, K * sizeof(float));
    }
    memset(l.delta, 0, (size_t)l.outputs * l.batch * sizeof(float));
    /* Unlabeled pass = training without truth; labeled passes train the heads with CE. */
    int unlabeled = net.train && !net.truth;
    float *d1 = NULL, *d2 = NULL;
    if (unlabeled) {
        d1 = malloc((size_t)K * l.batch * sizeof(float));
        d2 = malloc((size_t)K * l.batch * sizeof(float));
    }
    mcd_discrepancy_figures fig;
    float cost = mcd_discrepancy_loss_of((mcd_loss_kind)l.joint, p1, p2, l.batch, K, l.thresh,
                                         l.scale, d1, d2, &fig);
    l.cost[1] = fig.h1;
    l.cost[2] = fig.h2;
    l.cost[3] = fig.distance;
    /* Darknet's batch-sum convention (see the header): B * L_u and -B * dL_u/dz */
    l.cost[0] = unlabeled ? cost * l.batch : 0;
    if (unlabeled) {
        for (int b = 0; b < l.batch; ++b)
            for (int k = 0; k < K; ++k) {
                l.delta[b * 2 * K + k] = d1[b * K + k] * l.batch;
                l.delta[b * 2 * K + K + k] = d2[b * K + k] * l.batch;
            }
        free(d1);
        free(d2);
    }
}

/* Each half of the delta goes to its head's softmax layer, whose backward passes it on to
 * the head's logits (a softmax layer's delta is the gradient w.r.t. its input). */
void backward_mcd_discrepancy_layer(const layer l, network net)
{
    const int K = l.classes;
    float *d1 = net.layers[l.input_layers[0]].delta;
    float *d2 = net.layers[l.input_layers[1]].delta;
    for (int b = 0; b < l.batch; ++b)
        for (int k = 0; k < K; ++k) {
            d1[b * K + k] += l.delta[b * 2 * K + k];
            d2[b * K + k] += l.delta[b * 2 * K + K + k];
        }
}

#ifdef GPU
/* The heads' probabilities come to the host (2 x batch x classes floats), the loss and its
 * gradient are computed there by the code above, and the output goes back to the device
 * for [mcd_l1]. The delta stays on the host for the backward pass. */
void forward_mcd_discrepancy_layer_gpu(const layer l, network net)
{
    const layer *s1 = &net.layers[l.input_layers[0]], *s2 = &net.layers[l.input_layers[1]];
    cuda_pull_array(s1->output_gpu, s1->output, (size_t)s1->outputs * s1->batch);
    cuda_pull_array(s2->output_gpu, s2->output, (size_t)s2->outputs * s2->batch);
    forward_mcd_discrepancy_layer(l, net);
    cuda_push_array(l.output_gpu, l.output, (size_t)l.outputs * l.batch);
}

/* Only an unlabeled training pass has a gradient to hand on (forward above): then the
 * heads' softmax deltas come to the host, take their halves, and go back. */
void backward_mcd_discrepancy_layer_gpu(const layer l, network net)
{
    if (!net.train || net.truth) return;
    const layer *s1 = &net.layers[l.input_layers[0]], *s2 = &net.layers[l.input_layers[1]];
    size_t n1 = (size_t)s1->outputs * s1->batch, n2 = (size_t)s2->outputs * s2->batch;
    cuda_pull_array(s1->delta_gpu, s1->delta, n1);
    cuda_pull_array(s2->delta_gpu, s2->delta, n2);
    backward_mcd_discrepancy_layer(l, net);
    cuda_push_array(s1->delta_gpu, s1->delta, n1);
    cuda_push_array(s2->delta_gpu, s2->delta, n2);
}
#endif

int resize_mcd_discrepancy_layer(layer *l, const network *net)
{
    const layer *s1 = &net->layers[l->input_layers[0]], *s2 = &net->layers[l->input_layers[1]];
    return s1->outputs == l->classes && s2->outputs == l->classes ? 0 : -1;
}

float mcd_discrepancy_mean_entropy(const layer *l, int head)
{
    return l->cost[head == 1 ? 1 : 2];
}

float mcd_discrepancy_distance(const layer *l)
{
    return l->cost[3];
}

mcd_loss_kind mcd_discrepancy_loss_kind(const layer *l)
{
    return (mcd_loss_kind)l->joint;
}

float mcd_discrepancy_margin(const layer *l)
{
    return l->thresh;
}

float mcd_discrepancy_weight(const layer *l)
{
    return l->scale;
}
