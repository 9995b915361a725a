/* Score percentiles and the bootstrap intervals of `mcd valid -bootstrap`
 * (plugin/ood/ood_metrics.c): percentiles against numpy, the metrics of resamples (images
 * counted as often as drawn) against scikit-learn on the same resamples (both from
 * tests/fixtures/score_stats.txt, made by make_metrics_fixtures.py), and the bootstrap's
 * own properties: the same seed gives the same intervals, the intervals hold the point
 * estimate, narrow as the sets grow, and 1,000 resamples of 10,000 scores are fast. */
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ood/ood_metrics.h"
#include "test_util.h"
#include "util/mcd_error.h"
#include "util/seeded_random.h"
#include "util/wall_clock.h"

#define STATS_FIXTURE FIXTURE_DIR "/score_stats.txt"
#define TOL 1e-12

typedef struct stats_case {
    char name[128];
    int resample; /* 0: a percentile case */
    double *values, *p, *want;
    int n_values, n_p, n_want;
    double *id, *ood;
    int n_id, n_ood;
    int *id_idx, *ood_idx;
    int n_id_idx, n_ood_idx;
    double auroc, fpr95_id, fpr95_ood;
    int have; /* bit mask of the metric lines */
} stats_case;

static stats_case cases[64];
static int n_cases;

static int *read_ints(char *s, int *n)
{
    int k;
    double *d = test_parse_values(s, &k, 1);
    if (!d) return NULL;
    int *v = malloc(sizeof(int) * (k ? k : 1));
    for (int i = 0; i < k; ++i) v[i] = (int)d[i];
    free(d);
    *n = k;
    return v;
}

/* One line "KEY rest" of the current case; 0 when it is not understood. */
static int read_line(stats_case *c, const char *key, char *rest)
{
    if (!strcmp(key, "values")) return (c->values = test_parse_values(rest, &c->n_values, 1)) != NULL;
    if (!strcmp(key, "p")) return (c->p = test_parse_values(rest, &c->n_p, 1)) != NULL;
    if (!strcmp(key, "want")) return (c->want = test_parse_values(rest, &c->n_want, 1)) != NULL;
    if (!strcmp(key, "id")) return (c->id = test_parse_values(rest, &c->n_id, 1)) != NULL;
    if (!strcmp(key, "ood")) return (c->ood = test_parse_values(rest, &c->n_ood, 1)) != NULL;
    if (!strcmp(key, "id_idx")) return (c->id_idx = read_ints(rest, &c->n_id_idx)) != NULL;
    if (!strcmp(key, "ood_idx")) return (c->ood_idx = read_ints(rest, &c->n_ood_idx)) != NULL;
    static const char *metrics[] = {"auroc", "fpr95_id", "fpr95_ood"};
    double *dest[] = {&c->auroc, &c->fpr95_id, &c->fpr95_ood};
    for (int k = 0; k < 3; ++k)
        if (!strcmp(key, metrics[k])) {
            c->have |= 1 << k;
            return sscanf(rest, "%lf", dest[k]) == 1;
        }
    return 0;
}

static int complete(const stats_case *c)
{
    if (!c->resample) return c->values && c->p && c->want && c->n_p == c->n_want;
    return c->id && c->ood && c->id_idx && c->ood_idx && c->n_id_idx == c->n_id &&
           c->n_ood_idx == c->n_ood && c->have == 7;
}

/* One line of score_stats.txt into the case under way (*ctx: NULL between cases). */
static int stats_line(void *ctx, char *key, char *rest)
{
    stats_case **cur = ctx, *c = *cur;
    int ok;
    if (!strcmp(key, "percentile") || !strcmp(key, "resample")) {
        ok = !c && n_cases < (int)(sizeof cases / sizeof cases[0]);
        if (ok) {
            c = *cur = &cases[n_cases++];
            memset(c, 0, sizeof *c);
            c->resample = key[0] == 'r';
            snprintf(c->name, sizeof c->name, "%s", rest);
        }
    } else if (!strcmp(key, "end")) {
        ok = c && complete(c);
        *cur = NULL;
    } else {
        ok = c && read_line(c, key, rest);
    }
    return ok ? 0 : -1;
}

static int load_cases(void)
{
    if (n_cases) return 0;
    stats_case *cur = NULL;
    return test_read_fixture(STATS_FIXTURE, stats_line, &cur) == 0 && n_cases > 0 ? 0 : -1;
}

static void check(const char *name, const char *what, double got, double want)
{
    int ok = test_close(got, want, TOL, TOL);
    if (!ok) printf("\n%s: %s = %.17g, reference %.17g\n", name, what, got, want);
    CU_ASSERT(ok);
}

static void test_percentiles_match_numpy(void)
{
    CU_ASSERT_EQUAL_FATAL(load_cases(), 0);
    int checked = 0;
    for (int i = 0; i < n_cases; ++i) {
        const stats_case *c = &cases[i];
        if (c->resample) continue;
        double *got = malloc(sizeof(double) * c->n_p);
        CU_ASSERT_EQUAL(ood_percentiles(c->values, c->n_values, c->p, c->n_p, got), 0);
        for (int k = 0; k < c->n_p; ++k) {
            char what[64];
            snprintf(what, sizeof what, "percentile %g", c->p[k]);
            check(c->name, what, got[k], c->want[k]);
        }
        free(got);
        ++checked;
    }
    CU_ASSERT(checked >= 7);
    double v[] = {1, 2}, p = 101, out;
    CU_ASSERT_EQUAL(ood_percentiles(v, 2, &p, 1, &out), -1);
    CU_ASSERT_EQUAL(ood_percentiles(v, 0, v, 1, &out), -1);
}

/* A resample as counts (image i drawn count[i] times) scores as sklearn scores the drawn
 * scores themselves. */
static void test_resamples_match_sklearn(void)
{
    CU_ASSERT_EQUAL_FATAL(load_cases(), 0);
    int checked = 0;
    for (int i = 0; i < n_cases; ++i) {
        const stats_case *c = &cases[i];
        if (!c->resample) continue;
        int *cid = calloc(c->n_id, sizeof(int)), *cood = calloc(c->n_ood, sizeof(int));
        for (int k = 0; k < c->n_id; ++k) ++cid[c->id_idx[k]];
        for (int k = 0; k < c->n_ood; ++k) ++cood[c->ood_idx[k]];
        ood_metrics m;
        CU_ASSERT_EQUAL(ood_compute_metrics_counts(c->id, cid, c->n_id, c->ood, cood, c->n_ood,
                                                   &m), 0);
        check(c->name, "auroc", m.auroc, c->auroc);
        check(c->name, "fpr95_id", m.fpr95_id, c->fpr95_id);
        check(c->name, "fpr95_ood", m.fpr95_ood, c->fpr95_ood);
        free(cid);
        free(cood);
        ++checked;
    }
    CU_ASSERT(checked >= 12);
    double v[] = {0.1, 0.2};
    int zero[] = {0, 0}, neg[] = {1, -1};
    ood_metrics m;
    CU_ASSERT_EQUAL(ood_compute_metrics_counts(v, zero, 2, v, NULL, 2, &m), -1);
    CU_ASSERT(strstr(mcd_last_error(), "every count of the ID set is 0") != NULL);
    CU_ASSERT_EQUAL(ood_compute_metrics_counts(v, NULL, 2, v, neg, 2, &m), -1);
}

/* One resample (resamples = 1: the interval is that resample's value) is the resample the
 * header describes (ID counts, then OOD counts, from seeded_random_below), measured as
 * ood_compute_metrics_counts measures it: on every fixture set, ties included. */
static void test_bootstrap_is_the_resample(void)
{
    CU_ASSERT_EQUAL_FATAL(load_cases(), 0);
    int checked = 0;
    for (int i = 0; i < n_cases; ++i) {
        const stats_case *c = &cases[i];
        if (!c->resample) continue;
        for (uint64_t seed = 1; seed <= 3; ++seed) {
            seeded_random r;
            seeded_random_init(&r, seed, 5);
            int *cid = calloc(c->n_id, sizeof(int)), *cood = calloc(c->n_ood, sizeof(int));
            for (int k = 0; k < c->n_id; ++k) ++cid[seeded_random_below(&r, c->n_id)];
            for (int k = 0; k < c->n_ood; ++k) ++cood[seeded_random_below(&r, c->n_ood)];
            ood_metrics want;
            CU_ASSERT_EQUAL(ood_compute_metrics_counts(c->id, cid, c->n_id, c->ood, cood,
                                                       c->n_ood, &want), 0);
            const double *ids[1] = {c->id}, *oods[1] = {c->ood};
            ood_bootstrap_intervals got;
            CU_ASSERT_EQUAL(ood_bootstrap(ids, c->n_id, oods, c->n_ood, 1, 1, seed, 5, &got), 0);
            check(c->name, "bootstrap auroc", got.auroc.lo, want.auroc);
            check(c->name, "bootstrap fpr95_id", got.fpr95_id.lo, want.fpr95_id);
            check(c->name, "bootstrap fpr95_ood", got.fpr95_ood.hi, want.fpr95_ood);
            free(cid);
            free(cood);
            ++checked;
        }
    }
    CU_ASSERT(checked >= 36);
}

/* n ID scores N(0, 1) and n OOD scores N(1, 1), from a seeded generator. */
static void gaussian_sets(int n, uint64_t stream, double *id, double *ood)
{
    seeded_random r;
    seeded_random_init(&r, 42, stream);
    for (int i = 0; i < n; ++i) id[i] = seeded_random_gaussian(&r);
    for (int i = 0; i < n; ++i) ood[i] = 1 + seeded_random_gaussian(&r);
}

static int inside(ood_interval iv, double v)
{
    return iv.lo <= v && v <= iv.hi;
}

static void test_bootstrap_properties(void)
{
    enum { SMALL = 200, LARGE = 5000, B = 300 };
    double *id = malloc(sizeof(double) * LARGE), *ood = malloc(sizeof(double) * LARGE);
    const double *ids[1] = {id}, *oods[1] = {ood};
    ood_bootstrap_intervals small, small2, other_seed, large;
    ood_metrics point_small, point_large;

    gaussian_sets(SMALL, 1, id, ood);
    CU_ASSERT_EQUAL_FATAL(ood_compute_metrics(id, SMALL, ood, SMALL, &point_small), 0);
    CU_ASSERT_EQUAL_FATAL(ood_bootstrap(ids, SMALL, oods, SMALL, 1, B, 1, 0, &small), 0);
    CU_ASSERT_EQUAL_FATAL(ood_bootstrap(ids, SMALL, oods, SMALL, 1, B, 1, 0, &small2), 0);
    CU_ASSERT_EQUAL_FATAL(ood_bootstrap(ids, SMALL, oods, SMALL, 1, B, 2, 0, &other_seed), 0);
    /* the same seed, the same intervals (to the bit); another seed, others */
    CU_ASSERT(memcmp(&small, &small2, sizeof small) == 0);
    CU_ASSERT(memcmp(&small, &other_seed, sizeof small) != 0);
    CU_ASSERT(inside(small.auroc, point_small.auroc));
    CU_ASSERT(inside(small.fpr95_id, point_small.fpr95_id));
    CU_ASSERT(inside(small.fpr95_ood, point_small.fpr95_ood));
    /* N(0,1) against N(1,1): AUROC Phi(1/sqrt 2) = 0.7602 */
    CU_ASSERT(inside(small.auroc, 0.7602));

    gaussian_sets(LARGE, 2, id, ood);
    CU_ASSERT_EQUAL_FATAL(ood_compute_metrics(id, LARGE, ood, LARGE, &point_large), 0);
    CU_ASSERT_EQUAL_FATAL(ood_bootstrap(ids, LARGE, oods, LARGE, 1, B, 1, 0, &large), 0);
    CU_ASSERT(inside(large.auroc, point_large.auroc));
    CU_ASSERT(inside(large.fpr95_id, point_large.fpr95_id));
    CU_ASSERT(inside(large.fpr95_ood, point_large.fpr95_ood));
    /* width ~ 1/sqrt(n): 25 times the images, about a fifth of the width */
    double w_small = small.auroc.hi - small.auroc.lo, w_large = large.auroc.hi - large.auroc.lo;
    printf("\n    AUROC interval width: %d+%d images %.4f, %d+%d images %.4f (ratio %.2f)\n",
           SMALL, SMALL, w_small, LARGE, LARGE, w_large, w_small / w_large);
    CU_ASSERT(w_large < w_small / 3 && w_large > w_small / 8);
    CU_ASSERT(large.fpr95_id.hi - large.fpr95_id.lo < (small.fpr95_id.hi - small.fpr95_id.lo) / 2);
    CU_ASSERT(large.auroc.lo > 0.74 && large.auroc.hi < 0.78);

    CU_ASSERT_EQUAL(ood_bootstrap(ids, LARGE, oods, LARGE, 1, 0, 1, 0, &large), -1);
    free(id);
    free(ood);
}

/* 1,000 resamples of 10,000 ID and 10,000 OOD scores, for one score and for valid's seven:
 * both run; the time is printed, not asserted (speed is measured by hand, docs/commands.md). */
static void test_bootstrap_speed(void)
{
    enum { N = 10000, B = 1000, K = 7 };
    double *id[K], *ood[K];
    for (int k = 0; k < K; ++k) {
        id[k] = malloc(sizeof(double) * N);
        ood[k] = malloc(sizeof(double) * N);
        gaussian_sets(N, 10 + k, id[k], ood[k]);
    }
    ood_bootstrap_intervals iv[K];
    double t0 = mcd_now_seconds();
    CU_ASSERT_EQUAL(ood_bootstrap((const double *const *)id, N, (const double *const *)ood, N,
                                  1, B, 1, 0, iv), 0);
    double t1 = mcd_now_seconds();
    CU_ASSERT_EQUAL(ood_bootstrap((const double *const *)id, N, (const double *const *)ood, N,
                                  K, B, 1, 0, iv), 0);
    double t2 = mcd_now_seconds();
    printf("\n    bootstrap, %d resamples of %d+%d scores: 1 score %.2f s, %d scores %.2f s\n",
           B, N, N, t1 - t0, K, t2 - t1);
    for (int k = 0; k < K; ++k) {
        free(id[k]);
        free(ood[k]);
    }
}

int add_score_stats_suite(void)
{
    CU_pSuite s = test_add_suite("score stats");
    if (!s) return -1;
    return !CU_add_test(s, "percentiles = numpy (linear)", test_percentiles_match_numpy) ||
           !CU_add_test(s, "metrics of a resample = sklearn", test_resamples_match_sklearn) ||
           !CU_add_test(s, "bootstrap: each resample = the counted metrics",
                        test_bootstrap_is_the_resample) ||
           !CU_add_test(s, "bootstrap: seeded, holds the estimate, narrows",
                        test_bootstrap_properties) ||
           !CU_add_test(s, "bootstrap: 1,000 resamples of 10,000 scores, timed",
                        test_bootstrap_speed);
}
