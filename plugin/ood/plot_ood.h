/* PNG figures of OOD scores through gnuplot (Debian package gnuplot-nox, terminal pngcairo).
 * Each figure is one generated gnuplot script, data inline, run as `gnuplot SCRIPT`; the
 * script is removed when gnuplot succeeds and kept (its path in the error) when it fails. */
#ifndef MCD_PLOT_OOD_H
#define MCD_PLOT_OOD_H

/* 0 when a gnuplot executable is on PATH, else -1 with an error saying how to install it. */
int ood_plot_available(void);

/* Histograms of the scores of an ID set and an OOD set on [lo, hi] in `bins` bins, each
 * normalised to its set's size (the fraction of images per bin), as in Fig. 4 of the MCD
 * paper. threshold: a vertical line there (the calibrated threshold), none when NaN.
 * 0, or -1 with an error naming the PNG. */
int ood_plot_histogram(const char *png, const char *title, const char *xlabel,
                       double lo, double hi, int bins,
                       const char *id_name, const double *id, int n_id,
                       const char *ood_name, const double *ood, int n_ood, double threshold);

/* ROC curves (OOD positive: x = share of ID flagged, y = share of OOD flagged), one per
 * score; id[c] and ood[c] are score c's values, higher = more OOD; the legend gives each
 * curve's AUROC. 0, or -1 with an error. */
int ood_plot_roc(const char *png, const char *title, int ncurves, const char *const *names,
                 const double *const *id, int n_id, const double *const *ood, int n_ood);

#endif
