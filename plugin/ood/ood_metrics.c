#include "ood/ood_metrics.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "util/mcd_error.h"
#include "util/seeded_random.h"

typedef struct scored {
    double s;
    int ood;
    int w;   /* how many times the image counts (1; a bootstrap resample's count) */
    int idx; /* its index in its set */
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

/* Both sets in one array sorted by increasing score, each image counted once; NULL with an
 * error. */
static scored *merge_sorted(const double *id, int n_id, const double *ood, int n_ood)
{
    if (check_set(id, n_id, "ID") || check_set(ood, n_ood, "OOD")) return NULL;
    scored *a = malloc(sizeof(scored) * ((size_t)n_id + n_ood));
    if (!a) {
        mcd_set_error("OOD metrics: out of memory for %d scores", n_id + n_ood);
        return NULL;
    }
    for (int i = 0; i < n_id; ++i) a[i] = (scored){id[i], 0, 1, i};
    for (int i = 0; i < n_ood; ++i) a[n_id + i] = (scored){ood[i], 1, 1, i};
    qsort(a, (size_t)n_id + n_ood, sizeof *a, by_score);
    return a;
}

/* Every metric of the sorted array a[0..n), each image counted w times (0: left out);
 * NI and NO are the ID and OOD totals of w, both > 0. */
static void sweep(const scored *a, int n, double NI, double NO, ood_metrics *out)
{
    ood_metrics m = {.n_id = (int)NI, .n_ood = (int)NO};

    /* Decreasing thresholds: "s >= t" is flagged OOD. tp = OOD flagged, fp = ID flagged. */
    double u2 = 0;  /* twice the Mann-Whitney U: integers, exact in double */
    double ap_out = 0, best_err = 0.5; /* t = +inf: nothing flagged, error 0.5 */
    long tp = 0, fp = 0;
    int have95 = 0;
    for (int hi = n - 1; hi >= 0;) {
        int lo = hi;
        while (lo > 0 && a[lo - 1].s == a[hi].s) --lo;
        long dtp = 0, dfp = 0;
        for (int i = lo; i <= hi; ++i) *(a[i].ood ? &dtp : &dfp) += a[i].w;
        /* ID images newly passed (dfp) are outscored by the tp OOD images above them and
         * tie with the dtp OOD images at this score. */
        u2 += (double)dfp * (2.0 * tp + dtp);
        tp += dtp;
        fp += dfp;
        if (dtp) ap_out += ((double)dtp / NO) * ((double)tp / (double)(tp + fp));
        double err = 0.5 * ((double)fp / NI + (NO - tp) / NO);
        if (err < best_err) best_err = err;
        if (!have95 && dtp && (double)tp / NO >= OOD_TPR95) {
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
        for (int i = lo; i <= hi; ++i) *(a[i].ood ? &dfp : &dtp) += a[i].w;
        tp += dtp;
        fp += dfp;
        if (dtp) ap_in += ((double)dtp / NI) * ((double)tp / (double)(tp + fp));
        if (!have95 && dtp && (double)tp / NI >= OOD_TPR95) {
            have95 = 1;
            m.fpr95_id = (double)fp / NO;
            m.threshold95_id = a[lo].s;
        }
        lo = hi + 1;
    }
    m.auroc = u2 / (2.0 * NI * NO);
    m.aupr_in = ap_in;
    m.aupr_out = ap_out;
    m.detection_error = best_err;
    *out = m;
}

int ood_compute_metrics(const double *id, int n_id, const double *ood, int n_ood,
                        ood_metrics *out)
{
    return ood_compute_metrics_counts(id, NULL, n_id, ood, NULL, n_ood, out);
}

/* The total of a set's counts; -1 with an error when one is negative or all are 0. */
static double count_total(const int *count, int n, const char *what)
{
    if (!count) return n;
    double total = 0;
    for (int i = 0; i < n; ++i) {
        if (count[i] < 0) {
            mcd_set_error("OOD metrics: count %d of the %s set is negative", i + 1, what);
            return -1;
        }
        total += count[i];
    }
    if (total == 0) mcd_set_error("OOD metrics: every count of the %s set is 0", what);
    return total > 0 ? total : -1;
}

int ood_compute_metrics_counts(const double *id, const int *id_count, int n_id,
                               const double *ood, const int *ood_count, int n_ood,
                               ood_metrics *out)
{
    scored *a = merge_sorted(id, n_id, ood, n_ood);
    if (!a) return -1;
    double NI = count_total(id_count, n_id, "ID"), NO = NI < 0 ? -1 : count_total(ood_count, n_ood, "OOD");
    if (NI < 0 || NO < 0) {
        free(a);
        return -1;
    }
    const int n = n_id + n_ood;
    for (int i = 0; i < n; ++i) {
        const int *c = a[i].ood ? ood_count : id_count;
        if (c) a[i].w = c[a[i].idx];
    }
    sweep(a, n, NI, NO, out);
    free(a);
    return 0;
}

static int by_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

/* The n scores of v, ascending, in a fresh array; NULL with an error naming `what`. */
static double *sorted_copy(const double *v, int n, const char *what)
{
    double *s = malloc(sizeof(double) * n);
    if (!s) {
        mcd_set_error("%s: out of memory for %d scores", what, n);
        return NULL;
    }
    memcpy(s, v, sizeof(double) * n);
    qsort(s, n, sizeof *s, by_double);
    return s;
}

int ood_calibration_threshold(const double *id, int n, double tpr, double *threshold)
{
    if (!(tpr > 0 && tpr <= 1)) {
        mcd_set_error("calibration: TPR %g is not in (0, 1]", tpr);
        return -1;
    }
    if (check_set(id, n, "ID")) return -1;
    double *s = sorted_copy(id, n, "calibration");
    if (!s) return -1;
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

/* The p-th percentile of sorted[0..n), numpy's default ("linear") rule. */
static double percentile_sorted(const double *sorted, int n, double p)
{
    double h = (n - 1) * (p / 100.0);
    int lo = (int)floor(h);
    if (lo >= n - 1) return sorted[n - 1];
    if (lo < 0) return sorted[0];
    return sorted[lo] + (h - lo) * (sorted[lo + 1] - sorted[lo]);
}

int ood_percentiles(const double *v, int n, const double *p, int np, double *out)
{
    if (check_set(v, n, "percentile")) return -1;
    for (int j = 0; j < np; ++j)
        if (!(p[j] >= 0 && p[j] <= 100)) {
            mcd_set_error("percentile %g is not in [0, 100]", p[j]);
            return -1;
        }
    double *s = sorted_copy(v, n, "percentiles");
    if (!s) return -1;
    for (int j = 0; j < np; ++j) out[j] = percentile_sorted(s, n, p[j]);
    free(s);
    return 0;
}

/* One resample of a set of n: how often each image was drawn (n draws with replacement,
 * each seeded_random_below(r, n), its rejection limit computed once). */
static void draw_counts(seeded_random *r, int *count, int n)
{
    for (int i = 0; i < n; ++i) count[i] = 0;
    const uint64_t limit = UINT64_MAX - UINT64_MAX % (uint64_t)n;
    for (int i = 0; i < n; ++i) {
        uint64_t x;
        do {
            x = seeded_random_next(r);
        } while (x >= limit);
        ++count[x % (uint64_t)n];
    }
}

/* The 2.5th and 97.5th percentiles of v[0..n) (sorted here). */
static ood_interval interval_of(double *v, int n)
{
    qsort(v, n, sizeof *v, by_double);
    return (ood_interval){percentile_sorted(v, n, 2.5), percentile_sorted(v, n, 97.5)};
}

/* One score's images in increasing order, for the resamples: key[i] is the image's place in
 * the count array (ID images 0..n_id-1, OOD images n_id + j), and the images of the g-th
 * group of equal scores are key[group_end[g-1]..group_end[g]). */
typedef struct sorted_score {
    int *key, *group_end;
    int n_groups;
} sorted_score;

static int sorted_score_make(sorted_score *o, const double *id, int n_id, const double *ood,
                             int n_ood)
{
    scored *a = merge_sorted(id, n_id, ood, n_ood);
    int n = n_id + n_ood;
    o->key = malloc(sizeof(int) * n);
    o->group_end = malloc(sizeof(int) * n);
    if (!a || !o->key || !o->group_end) {
        if (a) mcd_set_error("bootstrap: out of memory for %d scores", n);
        free(a);
        return -1;
    }
    o->n_groups = 0;
    for (int i = 0; i < n; ++i) {
        o->key[i] = a[i].ood ? n_id + a[i].idx : a[i].idx;
        if (i + 1 == n || a[i + 1].s != a[i].s) o->group_end[o->n_groups++] = i + 1;
    }
    free(a);
    return 0;
}

/* AUROC, FPR95 ID+ and FPR95 OOD+ of one resample (count: how often each image was drawn;
 * NI and NO the set sizes), by the definitions of ood_compute_metrics in one pass of
 * increasing thresholds. */
static void resample_metrics(const sorted_score *o, const int *count, int n_id, double NI,
                             double NO, double out[3])
{
    double u2 = 0, fpr_id = 0, fpr_ood = 0;
    long id_below = 0, ood_below = 0;
    int have_id = 0;
    for (int g = 0, lo = 0; g < o->n_groups; lo = o->group_end[g++]) {
        long di = 0, dood = 0;
        for (int i = lo; i < o->group_end[g]; ++i) {
            int k = o->key[i];
            *(k < n_id ? &di : &dood) += count[k];
        }
        /* OOD images here outscore the ID images below and tie with those here */
        u2 += (double)dood * (2.0 * id_below + di);
        /* the largest threshold (here: the last group with OOD images) flagging >= 95% of
         * OOD (s >= t): the ID share flagged there */
        if (dood && (NO - ood_below) / NO >= OOD_TPR95) fpr_ood = (NI - id_below) / NI;
        id_below += di;
        ood_below += dood;
        /* the smallest threshold accepting >= 95% of ID (s <= t): the OOD share accepted */
        if (!have_id && di && id_below / NI >= OOD_TPR95) {
            have_id = 1;
            fpr_id = ood_below / NO;
        }
    }
    out[0] = u2 / (2.0 * NI * NO);
    out[1] = fpr_id;
    out[2] = fpr_ood;
}

int ood_bootstrap(const double *const *id, int n_id, const double *const *ood, int n_ood,
                  int n_scores, int resamples, uint64_t seed, uint64_t stream,
                  ood_bootstrap_intervals *out)
{
    if (resamples < 1) {
        mcd_set_error("bootstrap: %d resamples (at least 1)", resamples);
        return -1;
    }
    sorted_score *sc = calloc(n_scores, sizeof *sc);
    int *count = malloc(sizeof(int) * ((size_t)n_id + n_ood + 1));
    double *v = malloc(sizeof(double) * 3 * (size_t)resamples * n_scores);
    int rc = sc && count && v ? 0 : -1;
    if (rc) mcd_set_error("bootstrap: out of memory for %d resamples", resamples);
    for (int k = 0; k < n_scores && !rc; ++k)
        rc = sorted_score_make(&sc[k], id[k], n_id, ood[k], n_ood);
    if (!rc) {
        /* the same resampled images for every score: their intervals are comparable */
        seeded_random r;
        seeded_random_init(&r, seed, stream);
        for (int b = 0; b < resamples; ++b) {
            draw_counts(&r, count, n_id);
            draw_counts(&r, count + n_id, n_ood);
            for (int k = 0; k < n_scores; ++k) {
                double m[3];
                resample_metrics(&sc[k], count, n_id, n_id, n_ood, m);
                double *vk = v + (size_t)3 * resamples * k;
                vk[b] = m[0];
                vk[resamples + b] = m[1];
                vk[2 * resamples + b] = m[2];
            }
        }
        for (int k = 0; k < n_scores; ++k) {
            double *vk = v + (size_t)3 * resamples * k;
            out[k].auroc = interval_of(vk, resamples);
            out[k].fpr95_id = interval_of(vk + resamples, resamples);
            out[k].fpr95_ood = interval_of(vk + 2 * resamples, resamples);
        }
    }
    for (int k = 0; sc && k < n_scores; ++k) {
        free(sc[k].key);
        free(sc[k].group_end);
    }
    free(sc);
    free(count);
    free(v);
    return rc;
}
