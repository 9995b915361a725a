/* Out-of-distribution detection metrics, exact, in double precision.
 *
 * Input: one score per image for a set of in-distribution (ID) images and a set of
 * out-of-distribution (OOD) images, oriented so that a HIGHER score means MORE OOD (for
 * scores where high means ID, such as the max softmax probability, pass the negated value;
 * ood_scores.h does this). Every threshold sweep visits every distinct score value: nothing
 * is interpolated, binned or dropped, so ties are handled exactly.
 *
 * With s the score, n_id and n_ood the set sizes:
 *   auroc      P(s_ood > s_id) + 0.5 P(s_ood == s_id) over all ID x OOD pairs: the area
 *              under the ROC curve with ties counting one half (the Mann-Whitney U statistic
 *              divided by n_id * n_ood). Symmetric: it is the same with ID as the positive
 *              class and -s as its score. = sklearn roc_auc_score(is_ood, s).
 *   aupr_out   average precision with OOD as the positive class, s as its score:
 *              AP = sum_k (R_k - R_{k-1}) P_k over the distinct thresholds t_k in decreasing
 *              order, "positive" meaning s >= t_k. This is the step-wise (uninterpolated)
 *              AP of sklearn's average_precision_score, NOT the trapezoidal area under the
 *              precision-recall curve that some OOD code bases (OpenOOD) report; the two
 *              differ by a few tenths of a percent on typical data.
 *   aupr_in    the same with ID as the positive class and -s as its score ("positive"
 *              meaning s <= t_k, thresholds in increasing order).
 *              = sklearn average_precision_score(is_id, -s).
 *   fpr95_id   FPR at 95% TPR with ID as the positive class (the MCD paper's and its
 *              official test code's convention): the fraction of OOD images accepted as ID
 *              (s <= t) at t = threshold95_id, the SMALLEST distinct score whose ID
 *              acceptance rate #(s_id <= t)/n_id is >= 0.95. That is the first point of
 *              sklearn's roc_curve(is_id, -s, drop_intermediate=False) whose TPR is >= 0.95.
 *              (The official test.py instead averages the FPR over a grid of thresholds with
 *              TPR in [0.9495, 0.9505]; this exact rule needs no grid.)
 *   fpr95_ood  FPR at 95% TPR with OOD as the positive class (OpenOOD's and pytorch-ood's
 *              convention): the fraction of ID images flagged as OOD (s >= t) at
 *              t = threshold95_ood, the LARGEST distinct score whose detection rate
 *              #(s_ood >= t)/n_ood is >= 0.95: the first point of
 *              roc_curve(is_ood, s, drop_intermediate=False) whose TPR is >= 0.95.
 *              (OpenOOD calls roc_curve with drop_intermediate=True, which can skip the
 *              exact 95% point when it lies inside a straight run of the curve.)
 *   detection_error  min over thresholds t of 0.5 * (P_ID(s > t) + P_OOD(s <= t)), t
 *              running over -infinity and every distinct score (so it is at most 0.5).
 * The TPR comparison is (double)count / n >= 0.95, computed as sklearn computes it.
 * All values are fractions in [0, 1]. */
#ifndef MCD_OOD_METRICS_H
#define MCD_OOD_METRICS_H

#include <stdint.h>

#define OOD_TPR95 0.95

typedef struct ood_metrics {
    int n_id, n_ood;
    double auroc;
    double aupr_in;
    double aupr_out;
    double fpr95_id;
    double fpr95_ood;
    double detection_error;
    double threshold95_id;   /* s <= threshold95_id is accepted as ID at fpr95_id */
    double threshold95_ood;  /* s >= threshold95_ood is flagged as OOD at fpr95_ood */
} ood_metrics;

/* 0, or -1 with an error (mcd_last_error) when a set is empty or a score is NaN.
 * The inputs are not modified. */
int ood_compute_metrics(const double *id, int n_id, const double *ood, int n_ood,
                        ood_metrics *out);

/* The same with image i of the ID set counted id_count[i] times (and likewise for OOD):
 * the metrics of a set in which each image appears that often (a bootstrap resample).
 * A count of 0 leaves the image out. NULL counts: each image once. 0, or -1 with an error
 * when a count is negative or every count of a set is 0. */
int ood_compute_metrics_counts(const double *id, const int *id_count, int n_id,
                               const double *ood, const int *ood_count, int n_ood,
                               ood_metrics *out);

/* Percentiles of v[0..n) (not modified), p[j] in [0, 100], numpy's default rule
 * (method="linear"): with v sorted and h = (n - 1) p / 100, the value
 * v[floor(h)] + (h - floor(h)) (v[floor(h) + 1] - v[floor(h)]). 0, or -1 with an error
 * (an empty set, a NaN score, p out of range). */
int ood_percentiles(const double *v, int n, const double *p, int np, double *out);

/* A 95% percentile-bootstrap interval: the 2.5th and 97.5th percentiles (the rule of
 * ood_percentiles) of a metric over the resamples. */
typedef struct ood_interval {
    double lo, hi;
} ood_interval;

typedef struct ood_bootstrap_intervals {
    ood_interval auroc, fpr95_id, fpr95_ood;
} ood_bootstrap_intervals;

/* Stratified bootstrap of AUROC, FPR95 ID+ and FPR95 OOD+ for n_scores scores of the same
 * images (id[k], ood[k]: score k of each image): `resamples` times, n_id ID images and
 * n_ood OOD images are drawn with replacement, each set on its own, by the seeded
 * generator (seed, stream) (util/seeded_random.h: ID counts, then OOD counts, resample by
 * resample), and every score is measured on the same resample. out[k]: score k's
 * intervals. The same arguments give the same intervals on every machine. 0, or -1 with
 * an error (as ood_compute_metrics; resamples < 1). */
int ood_bootstrap(const double *const *id, int n_id, const double *const *ood, int n_ood,
                  int n_scores, int resamples, uint64_t seed, uint64_t stream,
                  ood_bootstrap_intervals *out);
/* The calibration threshold: the smallest ID score t with #(id <= t)/n >= tpr, so that
 * "score <= t means ID" keeps (at least, and as close as the data allow to) the share tpr
 * of the ID images. Same rule as threshold95_id. tpr in (0, 1]. 0, or -1 with an error. */
int ood_calibration_threshold(const double *id, int n, double tpr, double *threshold);

/* The ROC curve with OOD as the positive class: for the distinct scores t in decreasing
 * order, fpr = #(s_id >= t)/n_id and tpr = #(s_ood >= t)/n_ood, preceded by the point
 * (0, 0). fpr and tpr must hold n_id + n_ood + 1 values. Returns the number of points,
 * or -1 with an error. = sklearn roc_curve(is_ood, s, drop_intermediate=False). */
int ood_roc_curve(const double *id, int n_id, const double *ood, int n_ood,
                  double *fpr, double *tpr);

#endif
