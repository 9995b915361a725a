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
