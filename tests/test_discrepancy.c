/* The MCD math: the discrepancy losses (loss=entropy, l1, skl) against PyTorch, the
 * plugin's layers inside a real Darknet network (unlabeled, labeled and inference passes,
 * the L1 score, the split's gradient sum and its step-A block), and Darknet's whole backward
 * pass against central finite differences of the losses it reports.
 *
 * Reference numbers come from tests/fixtures/discrepancy.txt and discrepancy_losses.txt
 * (PyTorch autograd in float64, made by tests/fixtures/make_discrepancy_fixtures.py) or from
 * finite differences; the formulas re-derived here in double only check the layers'
 * plumbing inside the network. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "darknet.h"
#include "layers/discrepancy_layer.h"
#include "layers/l1_layer.h"
#include "util/mcd_error.h"
#include "network/mcd_network.h"
#include "layers/split_layer.h"
#include "test_util.h"

/* ---------------------------------------------------------------------------------------
 * a. mcd_discrepancy_loss against the PyTorch fixtures
 * ------------------------------------------------------------------------------------- */

typedef struct disc_case {
    char name[64];
    int kind; /* an mcd_loss_kind; MCD_LOSS_ENTROPY in discrepancy.txt */
    int B, K, active, saturated;
    float margin, weight;
    float *z1, *z2, *p1, *p2; /* z: read for completeness, the C side takes p */
    double loss, dist, h1, h2; /* dist: D, the discrepancy the loss hinges on */
    double *g1, *g2; /* dL/dz, PyTorch's sign */
} disc_case;

/* The next white-space separated token, skipping '#' comment lines. */
static int next_token(FILE *f, char *tok, size_t cap)
{
    char fmt[16];
    snprintf(fmt, sizeof fmt, "%%%zus", cap - 1);
    while (fscanf(f, fmt, tok) == 1) {
        if (tok[0] != '#') return 1;
        int c;
        while ((c = fgetc(f)) != EOF && c != '\n') {}
    }
    return 0;
}

static int expect(FILE *f, const char *word)
{
    char tok[64];
    if (next_token(f, tok, sizeof tok) && strcmp(tok, word) == 0) return 1;
    printf("\nfixture: expected '%s'\n", word);
    return 0;
}

static int read_floats(FILE *f, const char *key, float **out, int n)
{
    if (!expect(f, key)) return 0;
    *out = malloc(sizeof(float) * n);
    for (int i = 0; i < n; ++i)
        if (fscanf(f, "%f", &(*out)[i]) != 1) return 0;
    return 1;
}

static int read_doubles(FILE *f, const char *key, double **out, int n)
{
    if (!expect(f, key)) return 0;
    *out = malloc(sizeof(double) * n);
    for (int i = 0; i < n; ++i)
        if (fscanf(f, "%lf", &(*out)[i]) != 1) return 0;
    return 1;
}

static void free_cases(disc_case *c, int n)
{
    for (int i = 0; i < n; ++i) {
        free(c[i].z1), free(c[i].z2), free(c[i].p1), free(c[i].p2);
        free(c[i].g1), free(c[i].g2);
    }
    free(c);
}

/* Returns the cases (NULL on a malformed file), their number in *n. with_loss: the format
 * of discrepancy_losses.txt (each case names its loss and gives D), else discrepancy.txt. */
static disc_case *read_fixtures(const char *path, int with_loss, int *n)
{
    FILE *f = fopen(path, "r");
    if (!f) {
        printf("\ncannot open %s\n", path);
        return NULL;
    }
    disc_case *cases = NULL;
    int ok = expect(f, "cases") && fscanf(f, "%d", n) == 1 && *n > 0;
    if (ok) cases = calloc(*n, sizeof *cases);
    for (int i = 0; ok && i < *n; ++i) {
        disc_case *c = &cases[i];
        char loss[16] = "entropy";
        ok = expect(f, "case") && fscanf(f, "%63s", c->name) == 1 &&
             (!with_loss || fscanf(f, "%15s", loss) == 1) &&
             (c->kind = mcd_loss_kind_parse(loss)) >= 0 &&
             fscanf(f, "%d %d %f %f %d %d", &c->B, &c->K, &c->margin, &c->weight, &c->active,
                    &c->saturated) == 6 && c->B > 0 && c->K > 1;
        int bk = ok ? c->B * c->K : 0;
        ok = ok && read_floats(f, "z1", &c->z1, bk) && read_floats(f, "z2", &c->z2, bk) &&
             read_floats(f, "p1", &c->p1, bk) && read_floats(f, "p2", &c->p2, bk) &&
             expect(f, "loss") && fscanf(f, "%lf", &c->loss) == 1 &&
             (!with_loss || fscanf(f, "%lf", &c->dist) == 1) &&
             fscanf(f, "%lf %lf", &c->h1, &c->h2) == 2 &&
             read_doubles(f, "g1", &c->g1, bk) && read_doubles(f, "g2", &c->g2, bk) &&
             expect(f, "end");
        if (ok && !with_loss) c->dist = c->h1 - c->h2;
        if (!ok) printf("\n%s: malformed case %d\n", path, i);
    }
    fclose(f);
    if (!ok && cases) {
        free_cases(cases, *n);
        return NULL;
    }
    return cases;
}

/* Tolerances against the float64 reference. The C side gets p rounded to float32 (relative
 * error u = 6e-8 per entry) and returns floats: the loss and entropies agree to ~1e-7
 * relative, so 2e-6 relative (plus 1e-6 absolute, for values near 0) still catches any
 * wrong term or factor. A delta entry w/B p_k (log p_k + H) moves by at most about
 * w/B u (H + 2) <= w/B u (log K + 2) when p is rounded: that bound (x3) is the absolute
 * tolerance; where log p_k + H ~ 0 the relative precision is lost, never the absolute one.
 * Elsewhere 1e-4 relative. The other losses' deltas are w/B (u_k - p_k sum_j u_j)
 * (discrepancy_layer.c): for l1, u_k = +-p_k, which rounding moves by at most
 * w/B u (p_k + p_k sum_j p_j) <= 2 w/B u (bound: 4 w/B u); for skl,
 * u_k = p_k r_k + (p1_k - p2_k) with r_k the floored log ratio, moved by at most
 * u (|r_k| + 4) p_k, so w/B u (max |r| + 6) bounds the delta's. */
#define LOSS_ATOL 1e-6
#define LOSS_RTOL 2e-6
#define GRAD_ROUNDING 2e-7 /* ~3 u */
#define GRAD_RTOL 1e-4

static int all_finite_f(const float *x, int n)
{
    for (int i = 0; i < n; ++i)
        if (!isfinite(x[i])) return 0;
    return 1;
}

/* The loss under test: mcd_discrepancy_loss (of_kind 0: the entropy loss's own entry) or
 * mcd_discrepancy_loss_of with the case's loss. */
static float run_loss(const disc_case *c, int of_kind, float *d1, float *d2,
                      mcd_discrepancy_figures *fig)
{
    if (of_kind)
        return mcd_discrepancy_loss_of(c->kind, c->p1, c->p2, c->B, c->K, c->margin, c->weight,
                                       d1, d2, fig);
    float L = mcd_discrepancy_loss(c->p1, c->p2, c->B, c->K, c->margin, c->weight, d1, d2,
                                   &fig->h1, &fig->h2);
    fig->distance = fig->h1 - fig->h2;
    return L;
}

/* The largest |log max(p1, floor) - log max(p2, floor)| of a case (skl's log ratios). */
static double max_log_ratio(const disc_case *c)
{
    double r = 0;
    for (int i = 0; i < c->B * c->K; ++i)
        r = fmax(r, fabs(log(fmax(c->p1[i], MCD_SKL_FLOOR)) - log(fmax(c->p2[i], MCD_SKL_FLOOR))));
    return r;
}

/* The absolute tolerance of a case's deltas (see above). */
static double grad_atol(const disc_case *c)
{
    if (c->kind == MCD_LOSS_L1) return GRAD_ROUNDING * c->weight * 4 / c->B;
    if (c->kind == MCD_LOSS_SKL) return GRAD_ROUNDING * c->weight * (max_log_ratio(c) + 6) / c->B;
    return GRAD_ROUNDING * c->weight * (log(c->K) + 2) / c->B;
}

/* Compares one case; prints what differs (at most a few entries per array). */
static int check_case(const disc_case *c, int of_kind)
{
    int n = c->B * c->K, bad = 0;
    float *d1 = malloc(sizeof(float) * n), *d2 = malloc(sizeof(float) * n);
    mcd_discrepancy_figures fig;
    float L = run_loss(c, of_kind, d1, d2, &fig);
    const struct { const char *what; double got, want; } scalars[] = {
        {"L", L, c->loss}, {"D", fig.distance, c->dist}, {"mean H1", fig.h1, c->h1},
        {"mean H2", fig.h2, c->h2}};
    for (int i = 0; i < 4; ++i)
        if (!isfinite(scalars[i].got) ||
            !test_close(scalars[i].got, scalars[i].want, LOSS_ATOL, LOSS_RTOL)) {
            printf("\n%s: %s = %.9g, PyTorch %.9g (diff %.3g)", c->name, scalars[i].what,
                   scalars[i].got, scalars[i].want, scalars[i].got - scalars[i].want);
            ++bad;
        }
    const float *got[2] = {d1, d2};
    const double *want[2] = {c->g1, c->g2};
    for (int h = 0; h < 2; ++h) {
        double atol = grad_atol(c);
        int shown = 0;
        for (int i = 0; i < n; ++i) {
            double expect_delta = -want[h][i]; /* Darknet's delta = -dL/dz */
            int ok = isfinite(got[h][i]) &&
                     test_close(got[h][i], expect_delta, atol, GRAD_RTOL);
            /* an inactive hinge gives exactly no gradient */
            if (!c->active) ok = ok && got[h][i] == 0.0f;
            if (!ok && shown++ < 4)
                printf("\n%s: delta%d[b=%d][k=%d] = %.9g, want -dL/dz = %.9g", c->name, h + 1,
                       i / c->K, i % c->K, got[h][i], expect_delta);
            bad += !ok;
        }
    }
    /* the deltas are optional outputs: without them, the same loss and figures */
    mcd_discrepancy_figures fn;
    float Ln = run_loss(c, of_kind, NULL, NULL, &fn);
    if (Ln != L || fn.h1 != fig.h1 || fn.h2 != fig.h2 || fn.distance != fig.distance) {
        printf("\n%s: NULL deltas change the result", c->name);
        ++bad;
    }
    free(d1);
    free(d2);
    return bad;
}

static void test_loss_against_pytorch(void)
{
    int n = 0;
    disc_case *cases = read_fixtures(FIXTURE_DIR "/discrepancy.txt", 0, &n);
    CU_ASSERT_PTR_NOT_NULL_FATAL(cases);
    int active = 0, inactive = 0, saturated = 0, bad_cases = 0;
    for (int i = 0; i < n; ++i) {
        active += cases[i].active;
        inactive += !cases[i].active;
        saturated += cases[i].saturated;
        int bad = check_case(&cases[i], 0);
        if (bad) printf("\n%s: %d values differ from PyTorch\n", cases[i].name, bad);
        bad_cases += bad != 0;
    }
    CU_ASSERT_EQUAL(bad_cases, 0);
    /* the fixture covers what it promises */
    CU_ASSERT(n >= 30);
    CU_ASSERT(active >= 10);
    CU_ASSERT(inactive >= 3);
    CU_ASSERT(saturated >= 5);
    free_cases(cases, n);
}

/* Every loss of discrepancy_losses.txt against PyTorch, through mcd_discrepancy_loss_of
 * (for entropy: the same numbers as mcd_discrepancy_loss, which it calls). */
static void test_losses_against_pytorch(void)
{
    int n = 0;
    disc_case *cases = read_fixtures(FIXTURE_DIR "/discrepancy_losses.txt", 1, &n);
    CU_ASSERT_PTR_NOT_NULL_FATAL(cases);
    int count[3] = {0}, active[3] = {0}, inactive[3] = {0}, saturated[3] = {0}, bad_cases = 0;
    for (int i = 0; i < n; ++i) {
        int k = cases[i].kind;
        ++count[k];
        active[k] += cases[i].active;
        inactive[k] += !cases[i].active;
        saturated[k] += cases[i].saturated;
        int bad = check_case(&cases[i], 1);
        if (bad) printf("\n%s: %d values differ from PyTorch\n", cases[i].name, bad);
        bad_cases += bad != 0;
    }
    CU_ASSERT_EQUAL(bad_cases, 0);
    /* the fixture covers what it promises, for each new loss; entropy is there too */
    for (int k = MCD_LOSS_L1; k <= MCD_LOSS_SKL; ++k) {
        CU_ASSERT(count[k] >= 30);
        CU_ASSERT(active[k] >= 20);
        CU_ASSERT(inactive[k] >= 5);
        CU_ASSERT(saturated[k] >= 7);
    }
    CU_ASSERT(count[MCD_LOSS_ENTROPY] >= 4 && inactive[MCD_LOSS_ENTROPY] >= 1);
    free_cases(cases, n);
}

/* D's range for a loss: the entropy gap in [-log K, log K], the L1 distance in [0, 2], the
 * symmetric KL with its floor in [0, 2 log(1/floor)]. */
static int distance_in_range(int kind, float d, int K)
{
    double hi = kind == MCD_LOSS_L1 ? 2 : kind == MCD_LOSS_SKL ? -2 * log(MCD_SKL_FLOOR) : log(K);
    double lo = kind == MCD_LOSS_ENTROPY ? -hi : 0;
    return d >= lo - 1e-6 * hi && d <= hi * (1 + 1e-6);
}

/* Saturated probabilities (exact 0s and 1s) give finite values; entropies and D stay in
 * range. */
static void saturated_finite(const char *path, int with_loss)
{
    int n = 0;
    disc_case *cases = read_fixtures(path, with_loss, &n);
    CU_ASSERT_PTR_NOT_NULL_FATAL(cases);
    for (int i = 0; i < n; ++i) {
        const disc_case *c = &cases[i];
        int bk = c->B * c->K;
        float *d = malloc(sizeof(float) * 2 * bk);
        mcd_discrepancy_figures fig;
        float L = run_loss(c, with_loss, d, d + bk, &fig);
        float hmax = logf((float)c->K) * (1 + 1e-6f);
        int ok = isfinite(L) && L >= 0 && all_finite_f(d, 2 * bk) && fig.h1 >= 0 &&
                 fig.h2 >= 0 && fig.h1 <= hmax && fig.h2 <= hmax &&
                 distance_in_range(c->kind, fig.distance, c->K);
        if (!ok)
            printf("\n%s: L %g, H1 %g, H2 %g, D %g, or a delta not finite\n", c->name, L,
                   fig.h1, fig.h2, fig.distance);
        CU_ASSERT(ok);
        free(d);
    }
    free_cases(cases, n);
}

static void test_loss_saturated_finite(void)
{
    saturated_finite(FIXTURE_DIR "/discrepancy.txt", 0);
    saturated_finite(FIXTURE_DIR "/discrepancy_losses.txt", 1);
}

/* ---------------------------------------------------------------------------------------
 * The network under test: a trunk with smooth activations (no kinks for the finite
 * differences), [mcd_split], two [connected] heads with [softmax], the MCD layers.
 * ------------------------------------------------------------------------------------- */

#define NB 3 /* batch */
#define NK 4 /* classes */
#define IMG_W 5
#define IMG_H 5
#define IMG_C 2
#define NIN (IMG_W * IMG_H * IMG_C)
#define FEATURES 6

static const int labels[NB] = {0, 2, 3};

/* Heads of one [connected] layer (as in the paper), or of one 1x1 [convolutional] on the
 * trunk's 1x1x6 features: the same function, but Darknet's 1x1 convolution backward
 * overwrites the delta below it (gemm with beta 0) where other layers add to it.
 * margin > log K keeps the hinge active for any probabilities: no kink anywhere. */
enum head_kind { HEAD_CONNECTED, HEAD_CONV1X1 };

/* loss: the value of [mcd_discrepancy] loss=, or NULL for a cfg without the key. */
static network *make_net_loss(const char *loss, float margin, float weight,
                              enum head_kind kind, mcd_layout *m)
{
    char head[128], cfg[1024], loss_key[32] = "";
    if (loss) snprintf(loss_key, sizeof loss_key, "loss=%s\n", loss);
    if (kind == HEAD_CONV1X1)
        snprintf(head, sizeof head,
                 "[convolutional]\nfilters=%d\nsize=1\nstride=1\nactivation=linear\n", NK);
    else
        snprintf(head, sizeof head, "[connected]\noutput=%d\nactivation=linear\n", NK);
    snprintf(cfg, sizeof cfg,
             "[net]\nbatch=%d\nheight=%d\nwidth=%d\nchannels=%d\n"
             "[convolutional]\nfilters=3\nsize=3\nstride=1\npad=1\nactivation=logistic\n"
             "[connected]\noutput=%d\nactivation=tanh\n"
             "[mcd_split]\n%s[softmax]\n"
             "[mcd_discrepancy]\n%smargin=%g\nweight=%g\n[mcd_l1]\n",
             NB, IMG_H, IMG_W, IMG_C, FEATURES, head, loss_key, margin, weight);
    srand(1234); /* Darknet's weight init draws from rand() */
    const char *path = test_write_temp(cfg);
    network *net = mcd_parse_network_cfg(path);
    unlink(path);
    if (!net) {
        printf("\n%s\n", mcd_last_error());
        return NULL;
    }
    if (mcd_find_layout(net, m) != 0 || m->split != 2 || m->head2 != 5 || m->classes != NK) {
        printf("\nunexpected layout\n");
        free_network(net);
        return NULL;
    }
    return net;
}

static network *make_net(float margin, float weight, enum head_kind kind, mcd_layout *m)
{
    return make_net_loss(NULL, margin, weight, kind, m);
}

/* Indices of the layers with weights in make_net's network (head 1, head 2: either kind). */
enum { CONV = 0, TRUNK_FC = 1, HEAD1_FC = 3, HEAD2_FC = 6 };

static void make_input(float *x)
{
    srand(99);
    for (int i = 0; i < NB * NIN; ++i) x[i] = 2.0f * rand() / (float)RAND_MAX - 1.0f;
}

/* One training forward (and backward) pass: labeled (one-hot truth) or unlabeled
 * (net->truth NULL, as the plugin's trainer passes unlabeled batches). */
static void run_pass(network *net, const float *x, int labeled, int train, int backward)
{
    memcpy(net->input, x, sizeof(float) * NB * NIN);
    float *truth = net->truth;
    memset(truth, 0, sizeof(float) * NB * NK);
    for (int b = 0; b < NB; ++b) truth[b * NK + labels[b]] = 1;
    if (!labeled) net->truth = NULL;
    net->train = train;
    forward_network(net);
    if (backward) backward_network(net);
    net->truth = truth;
}

static int nweights(const layer *l)
{
    return l->type == CONVOLUTIONAL ? l->nweights : l->inputs * l->outputs;
}

static int nbiases(const layer *l)
{
    return l->type == CONVOLUTIONAL ? l->n : l->outputs;
}

/* weight_updates accumulates across passes (it doubles as the momentum buffer). */
static void zero_updates(network *net)
{
    for (int i = 0; i < net->n; ++i) {
        layer *l = &net->layers[i];
        if (l->type != CONVOLUTIONAL && l->type != CONNECTED) continue;
        memset(l->weight_updates, 0, sizeof(float) * nweights(l));
        memset(l->bias_updates, 0, sizeof(float) * nbiases(l));
    }
}

static int any_nonzero(const float *x, int n)
{
    for (int i = 0; i < n; ++i)
        if (x[i] != 0) return 1;
    return 0;
}

static double entropy_d(const float *p)
{
    double h = 0;
    for (int k = 0; k < NK; ++k)
        if (p[k] > 0) h -= p[k] * log(p[k]);
    return h;
}

/* ---------------------------------------------------------------------------------------
 * b. the discrepancy layer inside the network
 * ------------------------------------------------------------------------------------- */

static void test_network_unlabeled_pass(void)
{
    const float margin = 5, weight = 1.5f;
    mcd_layout m;
    network *net = make_net(margin, weight, HEAD_CONNECTED, &m);
    CU_ASSERT_PTR_NOT_NULL_FATAL(net);
    float x[NB * NIN];
    make_input(x);
    run_pass(net, x, 0, 1, 1);
    layer *d = &net->layers[m.discrepancy], *s1 = &net->layers[m.softmax1],
          *s2 = &net->layers[m.softmax2];
    /* the loss of the formula, from the softmax layers' own outputs */
    double H1[NB], H2[NB], m1 = 0, m2 = 0;
    for (int b = 0; b < NB; ++b) {
        H1[b] = entropy_d(s1->output + b * NK);
        H2[b] = entropy_d(s2->output + b * NK);
        m1 += H1[b] / NB;
        m2 += H2[b] / NB;
    }
    double L = weight * fmax(0, margin - (m1 - m2));
    CU_ASSERT(L > 0);
    /* Darknet's batch-sum convention (discrepancy_layer.h): the layer reports B * L_u and
     * -B * dL_u/dz, so that update_network's division by B applies exactly L_u */
    CU_ASSERT(test_close(d->cost[0], NB * L, 1e-6, 1e-6));
    CU_ASSERT(test_close(mcd_discrepancy_loss(s1->output, s2->output, NB, NK, margin, weight,
                                              NULL, NULL, &(float){0}, &(float){0}),
                         L, 1e-6, 1e-6));
    CU_ASSERT(test_close(mcd_discrepancy_mean_entropy(d, 1), m1, 1e-6, 1e-6));
    CU_ASSERT(test_close(mcd_discrepancy_mean_entropy(d, 2), m2, 1e-6, 1e-6));
    CU_ASSERT_EQUAL(mcd_discrepancy_margin(d), margin);
    CU_ASSERT_EQUAL(mcd_discrepancy_weight(d), weight);
    /* output [p1 | p2] per image */
    for (int b = 0; b < NB; ++b) {
        CU_ASSERT(!memcmp(d->output + b * 2 * NK, s1->output + b * NK, sizeof(float) * NK));
        CU_ASSERT(!memcmp(d->output + b * 2 * NK + NK, s2->output + b * NK, sizeof(float) * NK));
    }
    /* softmax layers without truth carry no CE delta: theirs (and the linear heads' logit
     * deltas) are -B dL_u/dz as the method's formula gives */
    const layer *fc1 = &net->layers[HEAD1_FC], *fc2 = &net->layers[HEAD2_FC];
    int bad = 0;
    for (int b = 0; b < NB; ++b)
        for (int k = 0; k < NK; ++k) {
            int i = b * NK + k;
            double p1 = s1->output[i], p2 = s2->output[i];
            double want1 = -weight * p1 * (log(p1) + H1[b]); /* -B dL_u/dz1 */
            double want2 = weight * p2 * (log(p2) + H2[b]);
            int ok = test_close(s1->delta[i], want1, 1e-7, 1e-5) &&
                     test_close(s2->delta[i], want2, 1e-7, 1e-5) &&
                     fc1->delta[i] == s1->delta[i] && fc2->delta[i] == s2->delta[i];
            if (!ok)
                printf("\nb=%d k=%d: delta1 %g (want %g), delta2 %g (want %g)\n", b, k,
                       s1->delta[i], want1, s2->delta[i], want2);
            bad += !ok;
        }
    CU_ASSERT_EQUAL(bad, 0);
    free_network(net);
}

/* The l1 and skl losses inside the network: the layer runs the cfg's loss on the softmax
 * layers' outputs, reports B * L_u, the entropies and D (re-derived here from those outputs),
 * and hands B times the loss's delta to each head's softmax; a labeled pass has none. */
static void network_loss_pass(const char *loss, int kind)
{
    const float margin = 5, weight = 1.5f;
    mcd_layout m;
    network *net = make_net_loss(loss, margin, weight, HEAD_CONNECTED, &m);
    CU_ASSERT_PTR_NOT_NULL_FATAL(net);
    layer *d = &net->layers[m.discrepancy], *s1 = &net->layers[m.softmax1],
          *s2 = &net->layers[m.softmax2];
    CU_ASSERT_EQUAL(mcd_discrepancy_loss_kind(d), kind);
    float x[NB * NIN];
    make_input(x);
    run_pass(net, x, 0, 1, 1);
    double D = 0, m1 = 0, m2 = 0;
    for (int b = 0; b < NB; ++b) {
        m1 += entropy_d(s1->output + b * NK) / NB;
        m2 += entropy_d(s2->output + b * NK) / NB;
        for (int k = 0; k < NK; ++k) {
            double a = s1->output[b * NK + k], c = s2->output[b * NK + k];
            D += (kind == MCD_LOSS_L1 ? fabs(a - c) : (a - c) * (log(a) - log(c))) / NB;
        }
    }
    double L = weight * fmax(0, margin - D);
    CU_ASSERT(D > 1e-3 && L > 0);
    CU_ASSERT(test_close(d->cost[0], NB * L, 1e-6, 1e-6));
    CU_ASSERT(test_close(mcd_discrepancy_distance(d), D, 1e-6, 1e-6));
    CU_ASSERT(test_close(mcd_discrepancy_mean_entropy(d, 1), m1, 1e-6, 1e-6));
    CU_ASSERT(test_close(mcd_discrepancy_mean_entropy(d, 2), m2, 1e-6, 1e-6));
    float g1[NB * NK], g2[NB * NK];
    mcd_discrepancy_figures fig;
    mcd_discrepancy_loss_of(kind, s1->output, s2->output, NB, NK, margin, weight, g1, g2, &fig);
    CU_ASSERT(any_nonzero(g1, NB * NK) && any_nonzero(g2, NB * NK));
    int bad = 0;
    for (int i = 0; i < NB * NK; ++i)
        bad += !test_close(s1->delta[i], NB * g1[i], 1e-7, 1e-6) ||
               !test_close(s2->delta[i], NB * g2[i], 1e-7, 1e-6);
    CU_ASSERT_EQUAL(bad, 0);
    /* labeled pass: no discrepancy term */
    run_pass(net, x, 1, 1, 1);
    CU_ASSERT_EQUAL(d->cost[0], 0.0f);
    CU_ASSERT(!any_nonzero(d->delta, 2 * NK * NB));
    free_network(net);
}

static void test_network_l1_skl_pass(void)
{
    network_loss_pass("l1", MCD_LOSS_L1);
    network_loss_pass("skl", MCD_LOSS_SKL);
    /* entropy, named or not, is the same layer */
    mcd_layout m;
    network *net = make_net_loss("entropy", 1, 1, HEAD_CONNECTED, &m);
    CU_ASSERT_PTR_NOT_NULL_FATAL(net);
    CU_ASSERT_EQUAL(mcd_discrepancy_loss_kind(&net->layers[m.discrepancy]), MCD_LOSS_ENTROPY);
    free_network(net);
    net = make_net(1, 1, HEAD_CONNECTED, &m);
    CU_ASSERT_PTR_NOT_NULL_FATAL(net);
    CU_ASSERT_EQUAL(mcd_discrepancy_loss_kind(&net->layers[m.discrepancy]), MCD_LOSS_ENTROPY);
    free_network(net);
}

static void test_network_labeled_pass(void)
{
    mcd_layout m;
    network *net = make_net(5, 1.5f, HEAD_CONNECTED, &m);
    CU_ASSERT_PTR_NOT_NULL_FATAL(net);
    float x[NB * NIN];
    make_input(x);
    run_pass(net, x, 1, 1, 1);
    layer *d = &net->layers[m.discrepancy];
    /* labeled: the discrepancy term is off, cost and gradient exactly 0 */
    CU_ASSERT_EQUAL(d->cost[0], 0.0f);
    CU_ASSERT(!any_nonzero(d->delta, 2 * NK * NB));
    /* ... and each head's softmax carries its CE: delta = t - p, cost = sum_b -log p_y */
    for (int h = 0; h < 2; ++h) {
        const layer *s = &net->layers[h ? m.softmax2 : m.softmax1];
        double ce = 0;
        int bad = 0;
        for (int b = 0; b < NB; ++b) {
            ce -= log(s->output[b * NK + labels[b]]);
            for (int k = 0; k < NK; ++k) {
                float t = k == labels[b] ? 1.0f : 0.0f;
                bad += s->delta[b * NK + k] != t - s->output[b * NK + k];
            }
        }
        CU_ASSERT_EQUAL(bad, 0);
        CU_ASSERT(ce > 0);
        CU_ASSERT(test_close(s->cost[0], ce, 1e-6, 1e-5));
    }
    /* inference (train=0, no truth): no loss either, but the entropies are measured */
    run_pass(net, x, 0, 0, 0);
    CU_ASSERT_EQUAL(d->cost[0], 0.0f);
    CU_ASSERT(!any_nonzero(d->delta, 2 * NK * NB));
    CU_ASSERT(mcd_discrepancy_mean_entropy(d, 1) > 0);
    free_network(net);
}

/* Head 1 uniform, head 2 nearly one-hot: D > margin for every loss (gap = log NK = 1.39 >
 * 0.5; L1 = 2 - 2/NK = 1.5 > 1; symmetric KL ~ 20 > 1), the hinge is inactive and no
 * gradient reaches any weight. */
static void inactive_hinge(const char *loss, float margin, double want_distance)
{
    mcd_layout m;
    network *net = make_net_loss(loss, margin, 1, HEAD_CONNECTED, &m);
    CU_ASSERT_PTR_NOT_NULL_FATAL(net);
    layer *fc1 = &net->layers[HEAD1_FC], *fc2 = &net->layers[HEAD2_FC];
    memset(fc1->weights, 0, sizeof(float) * nweights(fc1));
    memset(fc1->biases, 0, sizeof(float) * NK);
    memset(fc2->weights, 0, sizeof(float) * nweights(fc2));
    fc2->biases[1] = 30;
    float x[NB * NIN];
    make_input(x);
    zero_updates(net);
    run_pass(net, x, 0, 1, 1);
    layer *d = &net->layers[m.discrepancy];
    CU_ASSERT(test_close(mcd_discrepancy_mean_entropy(d, 1), log(NK), 1e-6, 1e-6));
    CU_ASSERT(mcd_discrepancy_mean_entropy(d, 2) < 1e-9);
    CU_ASSERT(mcd_discrepancy_distance(d) > margin);
    if (want_distance > 0) CU_ASSERT(test_close(mcd_discrepancy_distance(d), want_distance, 1e-6, 1e-6));
    CU_ASSERT_EQUAL(d->cost[0], 0.0f);
    for (int i = 0; i < net->n; ++i) {
        layer *l = &net->layers[i];
        if (l->type == CONVOLUTIONAL || l->type == CONNECTED) {
            CU_ASSERT(!any_nonzero(l->weight_updates, nweights(l)));
            CU_ASSERT(!any_nonzero(l->bias_updates, nbiases(l)));
        }
    }
    free_network(net);
}

static void test_network_inactive_hinge(void)
{
    inactive_hinge(NULL, 0.5f, log(NK));
    inactive_hinge("l1", 1, 2 - 2.0 / NK);
    inactive_hinge("skl", 1, 0);
}

/* Logits +-200 and +80: float32 softmax outputs exact 0s and 1s; nothing may become NaN.
 * The margin keeps the hinge active (skl's D reaches ~20 here, below 40). */
static void saturated_network(const char *loss, float margin)
{
    mcd_layout m;
    network *net = make_net_loss(loss, margin, 1, HEAD_CONNECTED, &m);
    CU_ASSERT_PTR_NOT_NULL_FATAL(net);
    layer *fc1 = &net->layers[HEAD1_FC], *fc2 = &net->layers[HEAD2_FC];
    fc1->biases[0] = 80; /* p1: ~1, exp(-80) ~ 2e-35 (tiny, not 0), exactly 0 */
    fc1->biases[3] = -200;
    fc2->biases[1] = 200;
    fc2->biases[2] = -200;
    float x[NB * NIN];
    make_input(x);
    zero_updates(net);
    run_pass(net, x, 0, 1, 1);
    const layer *s2 = &net->layers[m.softmax2];
    const layer *s1 = &net->layers[m.softmax1];
    CU_ASSERT(s1->output[3] == 0.0f && s1->output[1] > 0); /* really saturated */
    CU_ASSERT(s2->output[1] == 1.0f && s2->output[0] == 0.0f);
    int ok = 1;
    for (int i = 0; i < net->n; ++i) {
        layer *l = &net->layers[i];
        ok &= all_finite_f(l->output, l->outputs * NB) && all_finite_f(l->delta, l->outputs * NB);
        if (l->cost) ok &= isfinite(l->cost[0]);
        if (l->type == CONVOLUTIONAL || l->type == CONNECTED)
            ok &= all_finite_f(l->weight_updates, nweights(l)) &&
                  all_finite_f(l->bias_updates, nbiases(l));
    }
    CU_ASSERT(ok);
    CU_ASSERT(net->layers[m.discrepancy].cost[0] > 0);
    free_network(net);
}

static void test_network_saturated_finite(void)
{
    saturated_network(NULL, 5);
    saturated_network("l1", 5);
    saturated_network("skl", 40);
}

/* ---------------------------------------------------------------------------------------
 * c. [mcd_l1]
 * ------------------------------------------------------------------------------------- */

static void test_l1_score(void)
{
    mcd_layout m;
    network *net = make_net(5, 1, HEAD_CONNECTED, &m);
    CU_ASSERT_PTR_NOT_NULL_FATAL(net);
    float x[NB * NIN];
    make_input(x);
    const layer *s1 = &net->layers[m.softmax1], *s2 = &net->layers[m.softmax2];
    const layer *l1 = &net->layers[m.l1];
    CU_ASSERT_EQUAL(l1->type, MCD_L1);
    CU_ASSERT_EQUAL(net->outputs, 1);
    float *out = network_predict(net, x);
    CU_ASSERT_PTR_EQUAL(out, l1->output);
    for (int b = 0; b < NB; ++b) {
        double s = 0;
        for (int k = 0; k < NK; ++k) s += fabs((double)s1->output[b * NK + k] - s2->output[b * NK + k]);
        CU_ASSERT(s > 1e-3); /* independently initialised heads disagree */
        CU_ASSERT(test_close(out[b], s, 1e-6, 1e-6));
        CU_ASSERT(out[b] >= 0 && out[b] <= 2);
    }
    /* identical heads: exactly 0 */
    layer *fc1 = &net->layers[HEAD1_FC], *fc2 = &net->layers[HEAD2_FC];
    memcpy(fc2->weights, fc1->weights, sizeof(float) * nweights(fc1));
    memcpy(fc2->biases, fc1->biases, sizeof(float) * NK);
    out = network_predict(net, x);
    for (int b = 0; b < NB; ++b) CU_ASSERT_EQUAL(out[b], 0.0f);
    /* one-hot on different classes: the maximum, 2 */
    memset(fc1->weights, 0, sizeof(float) * nweights(fc1));
    memset(fc2->weights, 0, sizeof(float) * nweights(fc2));
    memset(fc1->biases, 0, sizeof(float) * NK);
    memset(fc2->biases, 0, sizeof(float) * NK);
    fc1->biases[0] = 200;
    fc2->biases[3] = 200;
    out = network_predict(net, x);
    for (int b = 0; b < NB; ++b) CU_ASSERT(test_close(out[b], 2.0, 1e-6, 0));
    /* head 1 uniform, head 2 one-hot: 2 - 2/NK, the trained model's OOD score */
    fc1->biases[0] = 0;
    out = network_predict(net, x);
    for (int b = 0; b < NB; ++b) CU_ASSERT(test_close(out[b], 2.0 - 2.0 / NK, 1e-6, 0));
    free_network(net);
}

/* ---------------------------------------------------------------------------------------
 * d. the split's gradient sum and the step-A block
 * ------------------------------------------------------------------------------------- */

/* A head's gradient at the split: its linear layer's logit delta times W ([connected], or
 * a 1x1 [convolutional] on 1x1 features: the same weight layout, outputs x inputs). */
static void head_input_grad(const layer *fc, double *g)
{
    for (int b = 0; b < NB; ++b)
        for (int i = 0; i < fc->inputs; ++i) {
            double s = 0;
            for (int o = 0; o < fc->outputs; ++o)
                s += (double)fc->delta[b * fc->outputs + o] * fc->weights[o * fc->inputs + i];
            g[b * fc->inputs + i] = s;
        }
}

static int compare_split_grad(const network *net, int with_head2, const char *what)
{
    double g1[NB * FEATURES], g2[NB * FEATURES];
    head_input_grad(&net->layers[HEAD1_FC], g1);
    head_input_grad(&net->layers[HEAD2_FC], g2);
    const float *trunk = net->layers[TRUNK_FC].delta;
    int bad = 0;
    double gmax = 0;
    for (int i = 0; i < NB * FEATURES; ++i) {
        double want = g1[i] + (with_head2 ? g2[i] : 0);
        gmax = fmax(gmax, fabs(want));
        if (!test_close(trunk[i], want, 1e-7, 1e-5)) {
            if (bad++ < 4) printf("\n%s: trunk delta[%d] = %g, want %g\n", what, i, trunk[i], want);
        }
    }
    if (gmax == 0) printf("\n%s: no gradient at all\n", what);
    return bad + (gmax == 0);
}

static void split_gradient_sum(enum head_kind kind)
{
    mcd_layout m;
    network *net = make_net(5, 1, kind, &m);
    CU_ASSERT_PTR_NOT_NULL_FATAL(net);
    float x[NB * NIN];
    make_input(x);
    /* Stop backward at the trunk's last layer: its delta then holds exactly what the split
     * handed down, before its own backward scales it by tanh'. */
    layer *trunk = &net->layers[TRUNK_FC];
    trunk->stopbackward = 1;
    const layer *fc2 = &net->layers[HEAD2_FC];
    int nw = nweights(fc2);
    float *head2_updates = malloc(sizeof(float) * nw);
    for (int labeled = 0; labeled < 2; ++labeled) {
        const char *what = labeled ? "labeled" : "unlabeled";
        if (kind == HEAD_CONV1X1) what = labeled ? "1x1 conv heads, labeled" : "1x1 conv heads, unlabeled";
        zero_updates(net);
        run_pass(net, x, labeled, 1, 1);
        CU_ASSERT_EQUAL(compare_split_grad(net, 1, what), 0);
        memcpy(head2_updates, fc2->weight_updates, sizeof(float) * nw);
        CU_ASSERT(any_nonzero(head2_updates, nw));
        /* step A: head 2's gradient stays out of the trunk but still trains head 2 */
        mcd_block_head2(net, &m, 1);
        CU_ASSERT(mcd_head_is_blocked(&net->layers[m.head2]));
        zero_updates(net);
        run_pass(net, x, labeled, 1, 1);
        CU_ASSERT_EQUAL(compare_split_grad(net, 0, what), 0);
        CU_ASSERT(!memcmp(head2_updates, fc2->weight_updates, sizeof(float) * nw));
        mcd_block_head2(net, &m, 0);
        CU_ASSERT(!mcd_head_is_blocked(&net->layers[m.head2]));
    }
    free(head2_updates);
    free_network(net);
}

static void test_split_gradient_sum(void)
{
    split_gradient_sum(HEAD_CONNECTED);
    split_gradient_sum(HEAD_CONV1X1);
}

/* ---------------------------------------------------------------------------------------
 * e. Darknet's backward pass against central finite differences
 * ------------------------------------------------------------------------------------- */

enum loss_kind { LOSS_UNLABELED, LOSS_CE_BOTH, LOSS_CE1, LOSS_CE2 };

/* The loss as the layers report it (net->cost is an average over layers, not a loss):
 * on an unlabeled pass the discrepancy layer's B * L_u, whose gradient Darknet's backward
 * accumulates (-dL/dw) into weight_updates; on a labeled pass each softmax's sum_b CE_b. */
static double pass_loss(network *net, const mcd_layout *m, const float *x, enum loss_kind kind)
{
    run_pass(net, x, kind != LOSS_UNLABELED, 1, 0);
    double ce1 = net->layers[m->softmax1].cost[0], ce2 = net->layers[m->softmax2].cost[0];
    switch (kind) {
    case LOSS_UNLABELED: return net->layers[m->discrepancy].cost[0];
    case LOSS_CE_BOTH: return ce1 + ce2;
    case LOSS_CE1: return ce1;
    default: return ce2;
    }
}

/* Float32 forward passes: the losses are 8-25 here (sum_b CE_b; B * L_u), ulp ~2e-6, so
 * eps 1e-2 leaves ~1e-4 of rounding noise in the difference quotient, while the O(eps^2)
 * truncation error of the central difference stays ~1e-4 relative for these smooth
 * layers. A gradient matches within 2% relative plus 1e-3 absolute (the largest
 * mismatch seen is ~10% of that); at least a quarter of each layer's gradients must
 * exceed 1e-2, so the check cannot pass on vanishing gradients. */
#define FD_EPS 1e-2f
#define FD_ATOL 1e-3
#define FD_RTOL 2e-2

typedef struct fd_stats {
    int checked, bad, significant; /* significant: |fd| > 10 atol */
    double max_abs;
} fd_stats;

/* Darknet's -dL/dparam (param's update buffer) against the finite difference of `kind`. */
static void fd_check(network *net, const mcd_layout *m, const float *x, enum loss_kind kind,
                     float *param, const float *updates, int n, const char *what, fd_stats *st)
{
    for (int i = 0; i < n; ++i) {
        float saved = param[i];
        param[i] = saved + FD_EPS;
        double lp = pass_loss(net, m, x, kind);
        param[i] = saved - FD_EPS;
        double lm = pass_loss(net, m, x, kind);
        param[i] = saved;
        double fd = (lp - lm) / (2.0 * FD_EPS);
        double analytic = -updates[i]; /* Darknet accumulates -dL/dw */
        ++st->checked;
        st->max_abs = fmax(st->max_abs, fabs(fd));
        st->significant += fabs(fd) > 10 * FD_ATOL;
        if (!test_close(analytic, fd, FD_ATOL, FD_RTOL) || !isfinite(analytic)) {
            if (st->bad < 6)
                printf("\n%s[%d]: Darknet dL/dw = %.6g, finite difference %.6g\n", what, i,
                       analytic, fd);
            ++st->bad;
        }
    }
}

/* Which loss each weight layer's gradient is checked against. */
typedef struct fd_target {
    int layer;
    enum loss_kind kind;
} fd_target;

/* The smallest |p1_bk - p2_bk| of the last pass: l1's kinks are where it is 0. */
static double min_head_difference(const network *net, const mcd_layout *m)
{
    const float *p1 = net->layers[m->softmax1].output, *p2 = net->layers[m->softmax2].output;
    double least = INFINITY;
    for (int i = 0; i < NB * NK; ++i) least = fmin(least, fabs((double)p1[i] - p2[i]));
    return least;
}

/* loss: [mcd_discrepancy] loss= (NULL: the default). Margin 5 keeps every loss's hinge
 * active for these heads (l1's D is below 2, the others' well below 5 at this init). */
static void gradient_check_heads(const char *label, const char *loss, enum head_kind kind,
                                 int labeled, int block_head2, const fd_target *t, int nt)
{
    char name[96];
    snprintf(name, sizeof name, "%s, %s heads", label,
             kind == HEAD_CONV1X1 ? "1x1 [convolutional]" : "[connected]");
    mcd_layout m;
    network *net = make_net_loss(loss, 5, 1.5f, kind, &m);
    CU_ASSERT_PTR_NOT_NULL_FATAL(net);
    float x[NB * NIN];
    make_input(x);
    mcd_block_head2(net, &m, block_head2);
    zero_updates(net);
    run_pass(net, x, labeled, 1, 1);
    if (!labeled) {
        const layer *d = &net->layers[m.discrepancy];
        CU_ASSERT(d->cost[0] > 0 && mcd_discrepancy_distance(d) < 4);
        /* an eps step moves p by ~1e-3: no |p1 - p2| kink within reach */
        if (loss && strcmp(loss, "l1") == 0) CU_ASSERT(min_head_difference(net, &m) > 5e-3);
    }
    for (int j = 0; j < nt; ++j) {
        layer *l = &net->layers[t[j].layer];
        char what[160];
        fd_stats st = {0};
        snprintf(what, sizeof what, "%s: layer %d weights", name, t[j].layer);
        fd_check(net, &m, x, t[j].kind, l->weights, l->weight_updates, nweights(l), what, &st);
        snprintf(what, sizeof what, "%s: layer %d biases", name, t[j].layer);
        fd_check(net, &m, x, t[j].kind, l->biases, l->bias_updates, nbiases(l), what, &st);
        if (st.bad || st.significant < st.checked / 4)
            printf("\n%s: layer %d: %d of %d differ, %d significant, max |dL/dw| %.3g\n", name,
                   t[j].layer, st.bad, st.checked, st.significant, st.max_abs);
        CU_ASSERT_EQUAL(st.bad, 0);
        /* not a vacuous check: a good share of the gradients is well above the tolerance */
        CU_ASSERT(st.significant >= st.checked / 4);
    }
    free_network(net);
}

static void gradient_check(const char *label, int labeled, int block_head2, const fd_target *t,
                           int nt)
{
    gradient_check_heads(label, NULL, HEAD_CONNECTED, labeled, block_head2, t, nt);
    gradient_check_heads(label, NULL, HEAD_CONV1X1, labeled, block_head2, t, nt);
}

static const fd_target unlabeled_targets[] = {{CONV, LOSS_UNLABELED}, {TRUNK_FC, LOSS_UNLABELED},
                                              {HEAD1_FC, LOSS_UNLABELED},
                                              {HEAD2_FC, LOSS_UNLABELED}};

static void test_fd_unlabeled(void)
{
    gradient_check("unlabeled L_u", 0, 0, unlabeled_targets, 4);
}

static void test_fd_unlabeled_l1(void)
{
    gradient_check_heads("unlabeled L_u, loss=l1", "l1", HEAD_CONNECTED, 0, 0, unlabeled_targets, 4);
    gradient_check_heads("unlabeled L_u, loss=l1", "l1", HEAD_CONV1X1, 0, 0, unlabeled_targets, 4);
}

static void test_fd_unlabeled_skl(void)
{
    gradient_check_heads("unlabeled L_u, loss=skl", "skl", HEAD_CONNECTED, 0, 0, unlabeled_targets, 4);
    gradient_check_heads("unlabeled L_u, loss=skl", "skl", HEAD_CONV1X1, 0, 0, unlabeled_targets, 4);
}

static void test_fd_labeled(void)
{
    const fd_target t[] = {{CONV, LOSS_CE_BOTH}, {TRUNK_FC, LOSS_CE_BOTH},
                           {HEAD1_FC, LOSS_CE_BOTH}, {HEAD2_FC, LOSS_CE_BOTH}};
    gradient_check("labeled CE1+CE2", 1, 0, t, 4);
}

/* Step A: the trunk learns from head 1's CE only; each head from its own CE. */
static void test_fd_step_a(void)
{
    const fd_target t[] = {{CONV, LOSS_CE1}, {TRUNK_FC, LOSS_CE1}, {HEAD1_FC, LOSS_CE1},
                           {HEAD2_FC, LOSS_CE2}};
    gradient_check("step A (head 2 blocked)", 1, 1, t, 4);
}

int add_discrepancy_suite(void)
{
    CU_pSuite s = test_add_suite("discrepancy math");
    if (!s) return -1;
    return !CU_add_test(s, "loss, entropies, delta vs PyTorch fixtures", test_loss_against_pytorch) ||
           !CU_add_test(s, "losses entropy, l1, skl vs PyTorch fixtures", test_losses_against_pytorch) ||
           !CU_add_test(s, "saturated probabilities: finite, in range", test_loss_saturated_finite) ||
           !CU_add_test(s, "network, unlabeled pass: L_u and its delta", test_network_unlabeled_pass) ||
           !CU_add_test(s, "network, loss=l1 and skl: L_u, D and delta", test_network_l1_skl_pass) ||
           !CU_add_test(s, "network, labeled pass: no L_u, heads' CE", test_network_labeled_pass) ||
           !CU_add_test(s, "network, inactive hinge: no gradient", test_network_inactive_hinge) ||
           !CU_add_test(s, "network, saturated logits: no NaN/Inf", test_network_saturated_finite) ||
           !CU_add_test(s, "mcd_l1 = sum |p1 - p2| in [0, 2]", test_l1_score) ||
           !CU_add_test(s, "split: trunk gets head 1 + head 2, step A blocks 2", test_split_gradient_sum) ||
           !CU_add_test(s, "finite differences: unlabeled L_u", test_fd_unlabeled) ||
           !CU_add_test(s, "finite differences: unlabeled L_u, loss=l1", test_fd_unlabeled_l1) ||
           !CU_add_test(s, "finite differences: unlabeled L_u, loss=skl", test_fd_unlabeled_skl) ||
           !CU_add_test(s, "finite differences: labeled CE1 + CE2", test_fd_labeled) ||
           !CU_add_test(s, "finite differences: step A, head 2 blocked", test_fd_step_a);
}
