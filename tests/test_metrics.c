/* OOD metrics (plugin/ood/ood_metrics.c) against scikit-learn: every case of
 * tests/fixtures/metrics.txt (made by make_metrics_fixtures.py), every metric, the
 * calibration threshold and the ROC points, to 1e-12. */
#include <math.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "util/mcd_error.h"
#include "ood/ood_metrics.h"
#include "test_util.h"

#define METRICS_FIXTURE FIXTURE_DIR "/metrics.txt"
#define TOL 1e-12

typedef struct metrics_case {
    char name[128];
    double *id, *ood;
    int n_id, n_ood;
    ood_metrics want;
    int have; /* bit mask of the metric lines read */
    double calib_tpr[8], calib_thr[8];
    int n_calib;
    double *roc; /* fpr, tpr pairs */
    int n_roc;
} metrics_case;

static metrics_case cases[64];
static int n_cases;

static const struct {
    const char *key;
    size_t offset;
} metric_keys[] = {
    {"auroc", offsetof(ood_metrics, auroc)},
    {"aupr_in", offsetof(ood_metrics, aupr_in)},
    {"aupr_out", offsetof(ood_metrics, aupr_out)},
    {"fpr95_id", offsetof(ood_metrics, fpr95_id)},
    {"threshold95_id", offsetof(ood_metrics, threshold95_id)},
    {"fpr95_ood", offsetof(ood_metrics, fpr95_ood)},
    {"threshold95_ood", offsetof(ood_metrics, threshold95_ood)},
    {"detection_error", offsetof(ood_metrics, detection_error)},
};
#define N_METRICS (int)(sizeof metric_keys / sizeof metric_keys[0])

/* One line of metrics.txt into the case under way (*ctx: NULL between cases). */
static int metrics_line(void *ctx, char *key, char *rest)
{
    metrics_case **cur = ctx, *c = *cur;
    int ok = 1;
    if (strcmp(key, "case") == 0) {
        ok = n_cases < (int)(sizeof cases / sizeof cases[0]);
        if (ok) {
            c = *cur = &cases[n_cases++];
            memset(c, 0, sizeof *c);
            snprintf(c->name, sizeof c->name, "%s", rest);
        }
    } else if (!c) {
        ok = 0;
    } else if (strcmp(key, "id") == 0) {
        ok = (c->id = test_parse_values(rest, &c->n_id, 1)) != NULL;
    } else if (strcmp(key, "ood") == 0) {
        ok = (c->ood = test_parse_values(rest, &c->n_ood, 1)) != NULL;
    } else if (strcmp(key, "roc") == 0) {
        ok = (c->roc = test_parse_values(rest, &c->n_roc, 2)) != NULL;
    } else if (strcmp(key, "calib") == 0) {
        ok = c->n_calib < 8 && sscanf(rest, "%lf %lf", &c->calib_tpr[c->n_calib],
                                      &c->calib_thr[c->n_calib]) == 2;
        c->n_calib++;
    } else if (strcmp(key, "end") == 0) {
        ok = c->id && c->ood && c->have == (1 << N_METRICS) - 1;
        *cur = NULL;
    } else {
        ok = 0;
        for (int k = 0; k < N_METRICS; ++k)
            if (strcmp(key, metric_keys[k].key) == 0) {
                ok = sscanf(rest, "%lf", (double *)((char *)&c->want + metric_keys[k].offset)) == 1;
                c->have |= 1 << k;
            }
    }
    return ok ? 0 : -1;
}

static int load_cases(void)
{
    if (n_cases) return 0;
    metrics_case *cur = NULL;
    return test_read_fixture(METRICS_FIXTURE, metrics_line, &cur) == 0 && n_cases > 0 ? 0 : -1;
}

static void test_fixture_file(void)
{
    CU_ASSERT_EQUAL_FATAL(load_cases(), 0);
    CU_ASSERT(n_cases >= 15);
}

static void check_value(const char *name, const char *what, double got, double want)
{
    int ok = test_close(got, want, TOL, TOL);
    if (!ok) printf("\n%s: %s = %.17g, sklearn %.17g\n", name, what, got, want);
    CU_ASSERT(ok);
}

static void test_metrics_match_sklearn(void)
{
    CU_ASSERT_EQUAL_FATAL(load_cases(), 0);
    for (int i = 0; i < n_cases; ++i) {
        const metrics_case *c = &cases[i];
        ood_metrics got;
        int rc = ood_compute_metrics(c->id, c->n_id, c->ood, c->n_ood, &got);
        CU_ASSERT_EQUAL(rc, 0);
        if (rc) continue;
        CU_ASSERT_EQUAL(got.n_id, c->n_id);
        CU_ASSERT_EQUAL(got.n_ood, c->n_ood);
        for (int k = 0; k < N_METRICS; ++k)
            check_value(c->name, metric_keys[k].key,
                        *(const double *)((const char *)&got + metric_keys[k].offset),
                        *(const double *)((const char *)&c->want + metric_keys[k].offset));
    }
}

static void test_calibration_matches_sklearn(void)
{
    CU_ASSERT_EQUAL_FATAL(load_cases(), 0);
    int checked = 0;
    for (int i = 0; i < n_cases; ++i) {
        const metrics_case *c = &cases[i];
        for (int k = 0; k < c->n_calib; ++k) {
            double t;
            CU_ASSERT_EQUAL(ood_calibration_threshold(c->id, c->n_id, c->calib_tpr[k], &t), 0);
            char what[64];
            snprintf(what, sizeof what, "threshold at TPR %g", c->calib_tpr[k]);
            check_value(c->name, what, t, c->calib_thr[k]);
            /* the threshold is one of the ID scores and keeps at least the share tpr */
            int kept = 0, is_score = 0;
            for (int j = 0; j < c->n_id; ++j) {
                kept += c->id[j] <= t;
                is_score |= c->id[j] == t;
            }
            CU_ASSERT(is_score);
            CU_ASSERT((double)kept / c->n_id >= c->calib_tpr[k]);
            ++checked;
        }
    }
    CU_ASSERT(checked >= 50);
}

static void test_roc_matches_sklearn(void)
{
    CU_ASSERT_EQUAL_FATAL(load_cases(), 0);
    int checked = 0;
    for (int i = 0; i < n_cases; ++i) {
        const metrics_case *c = &cases[i];
        if (!c->roc) continue;
        int cap = c->n_id + c->n_ood + 1;
        double *fpr = malloc(sizeof(double) * cap), *tpr = malloc(sizeof(double) * cap);
        int n = ood_roc_curve(c->id, c->n_id, c->ood, c->n_ood, fpr, tpr);
        if (n != c->n_roc) printf("\n%s: %d ROC points, sklearn %d\n", c->name, n, c->n_roc);
        CU_ASSERT_EQUAL(n, c->n_roc);
        for (int k = 0; k < n && k < c->n_roc; ++k) {
            check_value(c->name, "roc fpr", fpr[k], c->roc[2 * k]);
            check_value(c->name, "roc tpr", tpr[k], c->roc[2 * k + 1]);
        }
        free(fpr);
        free(tpr);
        ++checked;
    }
    CU_ASSERT(checked >= 8);
}

/* The inputs are left as they were (the metrics sort copies). */
static void test_inputs_unchanged(void)
{
    double id[] = {0.3, 0.1, 0.2}, ood[] = {0.9, 0.05};
    ood_metrics m;
    CU_ASSERT_EQUAL(ood_compute_metrics(id, 3, ood, 2, &m), 0);
    CU_ASSERT(id[0] == 0.3 && id[1] == 0.1 && id[2] == 0.2 && ood[0] == 0.9 && ood[1] == 0.05);
    double t;
    CU_ASSERT_EQUAL(ood_calibration_threshold(id, 3, 0.5, &t), 0);
    CU_ASSERT(id[0] == 0.3 && id[1] == 0.1 && id[2] == 0.2);
}

static void test_bad_inputs(void)
{
    double v[] = {0.1, NAN}, t;
    ood_metrics m;
    CU_ASSERT_EQUAL(ood_compute_metrics(v, 1, v, 0, &m), -1);
    CU_ASSERT(strstr(mcd_last_error(), "OOD set is empty") != NULL);
    CU_ASSERT_EQUAL(ood_compute_metrics(v, 0, v, 1, &m), -1);
    CU_ASSERT(strstr(mcd_last_error(), "ID set is empty") != NULL);
    CU_ASSERT_EQUAL(ood_compute_metrics(v, 2, v, 1, &m), -1);
    CU_ASSERT(strstr(mcd_last_error(), "NaN") != NULL);
    CU_ASSERT_EQUAL(ood_calibration_threshold(v, 1, 0, &t), -1);
    CU_ASSERT(strstr(mcd_last_error(), "TPR") != NULL);
    CU_ASSERT_EQUAL(ood_calibration_threshold(v, 1, 1.5, &t), -1);
    CU_ASSERT_EQUAL(ood_calibration_threshold(v, 1, NAN, &t), -1);
    CU_ASSERT_EQUAL(ood_calibration_threshold(v, 0, 0.95, &t), -1);
    CU_ASSERT_EQUAL(ood_calibration_threshold(v, 2, 0.95, &t), -1);
    CU_ASSERT_EQUAL(ood_roc_curve(v, 2, v, 1, &t, &t), -1);
}

int add_metrics_suite(void)
{
    CU_pSuite s = test_add_suite("metrics");
    if (!s) return -1;
    return !CU_add_test(s, "fixture file reads", test_fixture_file) ||
           !CU_add_test(s, "AUROC, AUPR, FPR95, detection error = sklearn", test_metrics_match_sklearn) ||
           !CU_add_test(s, "calibration threshold = sklearn roc_curve", test_calibration_matches_sklearn) ||
           !CU_add_test(s, "ROC points = sklearn roc_curve", test_roc_matches_sklearn) ||
           !CU_add_test(s, "inputs unchanged", test_inputs_unchanged) ||
           !CU_add_test(s, "empty sets, NaN, bad TPR", test_bad_inputs);
}
