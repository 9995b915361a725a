#include "ood/ood_metrics.h"

#include <math.h>
#include <stdlib.h>

#include "util/mcd_error.h"

typedef struct scored {
    double s;
    int ood;
} scored;

static int by_score(const void *a, const void *b)
{
    double x = ((const scored *)a)->s, y = ((const scored *)b)->s;
    return (x > y) - (x < y);
}

static int check_set(const double *v, int n, const char *what)
{
    if (n < 1) {
        mcd_set_error("OOD metrics: the %s set is empty", what);
        return -1;
    }
    for (int i = 0; i < n; ++i)
        if (isnan(v[i])) {
            mcd_set_error("OOD metrics: score %d of the %s set is NaN", i + 1, what);
            return -1;
        }
    return 0;
}

/* Both sets in one array sorted by increasing score; NULL with an error. */
static scored *merge_sorted(const double *id, int n_id, const double *ood, int n_ood)
{
    if (check_set(id, n_id, "ID") || check_set(ood, n_ood, "OOD")) return NULL;
    scored *a = malloc(sizeof(scored) * ((size_t)n_id + n_ood));
    if (!a) {
        mcd_set_error("OOD metrics: out of memory for %d scores", n_id + n_ood);
        return NULL;
    }
    for (int i = 0; i < n_id; ++i) a[i] = (scored){id[i], 0};
    for (int i = 0; i < n_ood; ++i) a[n_id + i] = (scored){ood[i], 1};
    qsort(a, (size_t)n_id + n_ood, sizeof *a, by_score);
    return a;
}

int ood_compute_metrics(const double *id, int n_id, const double *ood, int n_ood,
                        ood_metrics *out)
{
    scored *a = merge_sorted(id, n_id, ood, n_ood);
    if (!a) return -1;
    const int n = n_id + n_ood;
    const double NI = n_id, NO = n_ood;
    ood_metrics m = {.n_id = n_id, .n_ood = n_ood};

    /* Decreasing thresholds: "s >= t" is flagged OOD. tp = OOD flagged, fp = ID flagged. */
    double u2 = 0;  /* twice the Mann-Whitney U: integers, exact in double */
    double ap_out = 0, best_err = 0.5; /* t = +inf: nothing flagged, error 0.5 */
    long tp = 0, fp = 0;
    int have95 = 0;
    for (int hi = n - 1; hi >= 0;) {
        int lo = hi;
        while (lo > 0 && a[lo - 1].s == a[hi].s) --lo;
        long dtp = 0, dfp = 0;
        for (int i = lo; i <= hi; ++i) a[i].ood ? ++dtp : ++dfp;
        /* ID images newly passed (dfp) are outscored by the tp OOD images above them and
         * tie with the dtp OOD images at this score. */
        u2 += (double)dfp * (2.0 * tp + dtp);
        tp += dtp;
        fp += dfp;
        if (dtp) ap_out += ((double)dtp / NO) * ((double)tp / (double)(tp + fp));
        double err = 0.5 * ((double)fp / NI + (double)(n_ood - tp) / NO);
        if (err < best_err) best_err = err;
        if (!have95 && (double)tp / NO >= OOD_TPR95) {
            have95 = 1;
            m.fpr95_ood = (double)fp / NI;
            m.threshold95_ood = a[hi].s;
        }
        hi = lo - 1;
    }
    /* Increasing thresholds: "s <= t" is accepted as ID. tp = ID accepted, fp = OOD accepted. */
    double ap_in = 0;
    tp = fp = 0;
    have95 = 0;
    for (int lo = 0; lo < n;) {
        int hi = lo;
        while (hi + 1 < n && a[hi + 1].s == a[lo].s) ++hi;
        long dtp = 0, dfp = 0;
        for (int i = lo; i <= hi; ++i) a[i].ood ? ++dfp : ++dtp;
        tp += dtp;
        fp += dfp;
        if (dtp) ap_in += ((double)dtp / NI) * ((double)tp / (double)(tp + fp));
        if (!have95 && (double)tp / NI >= OOD_TPR95) {
            have95 = 1;
            m.fpr95_id = (double)fp / NO;
            m.threshold95_id = a[lo].s;
        }
        lo = hi + 1;
    }
    free(a);
    m.auroc = u2 / (2.0 * NI * NO);
    m.aupr_in = ap_in;
    m.aupr_out = ap_out;
    m.detection_error = best_err;
    *out = m;
    return 0;
}

static int by_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

int ood_calibration_threshold(const double *id, int n, double tpr, double *threshold)
{
    if (!(tpr > 0 && tpr <= 1)) {
        mcd_set_error("calibration: TPR %g is not in (0, 1]", tpr);
        return -1;
    }
    if (check_set(id, n, "ID")) return -1;
    double *s = malloc(sizeof(double) * n);
    if (!s) {
        mcd_set_error("calibration: out of memory for %d scores", n);
        return -1;
    }
    for (int i = 0; i < n; ++i) s[i] = id[i];
    qsort(s, n, sizeof *s, by_double);
    double t = s[n - 1];
    for (int lo = 0; lo < n;) {
        int hi = lo;
        while (hi + 1 < n && s[hi + 1] == s[lo]) ++hi;
        if ((double)(hi + 1) / (double)n >= tpr) {
            t = s[lo];
            break;
        }
        lo = hi + 1;
    }
    free(s);
    *threshold = t;
    return 0;
}

int ood_roc_curve(const double *id, int n_id, const double *ood, int n_ood,
                  double *fpr, double *tpr)
{
    scored *a = merge_sorted(id, n_id, ood, n_ood);
    if (!a) return -1;
    const int n = n_id + n_ood;
    int k = 0;
    fpr[k] = tpr[k] = 0;
    ++k;
    long tp = 0, fp = 0;
    for (int hi = n - 1; hi >= 0;) {
        int lo = hi;
        while (lo > 0 && a[lo - 1].s == a[hi].s) --lo;
        for (int i = lo; i <= hi; ++i) a[i].ood ? ++tp : ++fp;
        fpr[k] = (double)fp / n_id;
        tpr[k] = (double)tp / n_ood;
        ++k;
        hi = lo - 1;
    }
    free(a);
    return k;
}
