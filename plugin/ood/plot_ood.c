#include "ood/plot_ood.h"

#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "util/mcd_error.h"
#include "ood/ood_metrics.h"

static int find_gnuplot(char *out, size_t n)
{
    const char *path = getenv("PATH");
    if (!path || !*path) path = "/usr/bin:/bin";
    while (*path) {
        size_t len = strcspn(path, ":");
        snprintf(out, n, "%.*s/gnuplot", (int)len, len ? path : ".");
        struct stat st;
        if (stat(out, &st) == 0 && S_ISREG(st.st_mode) && access(out, X_OK) == 0) return 0;
        path += len;
        if (*path == ':') ++path;
    }
    return -1;
}

int ood_plot_available(void)
{
    char exe[4096];
    if (find_gnuplot(exe, sizeof exe) == 0) return 0;
    mcd_set_error("-plot needs gnuplot, which is not on PATH (Debian: apt-get install "
                  "gnuplot-nox)");
    return -1;
}

/* A gnuplot single-quoted string: ' doubled. */
static void put_string(FILE *f, const char *s)
{
    fputc('\'', f);
    for (; *s; ++s) {
        if (*s == '\'') fputc('\'', f);
        if (*s != '\n') fputc(*s, f);
    }
    fputc('\'', f);
}

/* A script file open for writing, its path in path. */
static FILE *open_script(char *path, size_t n)
{
    snprintf(path, n, "/tmp/mcd-plot-XXXXXX.gp");
    int fd = mkstemps(path, 3);
    if (fd < 0) {
        mcd_set_error("cannot create a gnuplot script in /tmp: %s", strerror(errno));
        return NULL;
    }
    return fdopen(fd, "w");
}

static void put_header(FILE *f, const char *png, int w, int h, const char *title)
{
    fprintf(f, "set terminal pngcairo size %d,%d font 'sans,11' noenhanced\nset output ", w, h);
    put_string(f, png);
    fprintf(f, "\nset title ");
    put_string(f, title);
    fprintf(f, "\nset grid lc rgb '#dddddd'\n");
}

/* Close the script, run gnuplot on it, check its status and the PNG. */
static int run_script(FILE *f, const char *script, const char *png)
{
    if (fclose(f) != 0) {
        mcd_set_error("cannot write gnuplot script '%s': %s", script, strerror(errno));
        return -1;
    }
    char exe[4096];
    if (find_gnuplot(exe, sizeof exe)) {
        ood_plot_available();
        remove(script);
        return -1;
    }
    remove(png); /* so that a stale figure cannot pass for a new one */
    if (strchr(exe, '\'')) {
        mcd_set_error("gnuplot's path '%s' has a quote in it", exe);
        return -1;
    }
    char cmd[8400];
    snprintf(cmd, sizeof cmd, "'%s' '%s' 2>&1", exe, script); /* mkstemps: no quotes in it */
    FILE *p = popen(cmd, "r");
    if (!p) {
        mcd_set_error("cannot run %s: %s", exe, strerror(errno));
        return -1;
    }
    char out[2048];
    size_t n = fread(out, 1, sizeof out - 1, p);
    out[n] = 0;
    while (fgetc(p) != EOF) {}
    int st = pclose(p);
    struct stat ps;
    if (st == -1 || !WIFEXITED(st) || WEXITSTATUS(st) != 0 || stat(png, &ps) != 0 || ps.st_size == 0) {
        while (n > 0 && (out[n - 1] == '\n' || out[n - 1] == '\r')) out[--n] = 0;
        mcd_set_error("gnuplot failed to write '%s' (exit %d; script kept in %s)%s%s", png,
                      st != -1 && WIFEXITED(st) ? WEXITSTATUS(st) : -1, script,
                      out[0] ? ": " : "", out);
        return -1;
    }
    remove(script);
    return 0;
}

int ood_plot_histogram(const char *png, const char *title, const char *xlabel,
                       double lo, double hi, int bins,
                       const char *id_name, const double *id, int n_id,
                       const char *ood_name, const double *ood, int n_ood, double threshold)
{
    if (bins < 1 || !(hi > lo) || n_id < 1 || n_ood < 1) {
        mcd_set_error("histogram '%s': empty set or bad range", png);
        return -1;
    }
    double *h = calloc((size_t)2 * bins, sizeof(double));
    const double *sets[2] = {id, ood};
    const int ns[2] = {n_id, n_ood};
    for (int s = 0; s < 2; ++s)
        for (int i = 0; i < ns[s]; ++i) {
            double v = sets[s][i];
            if (isnan(v)) continue;
            int b = (int)floor((v - lo) / (hi - lo) * bins);
            b = b < 0 ? 0 : b >= bins ? bins - 1 : b; /* the range's ends are closed */
            h[2 * b + s] += 1.0 / ns[s];
        }
    char script[64];
    FILE *f = open_script(script, sizeof script);
    if (!f) {
        free(h);
        return -1;
    }
    const double width = (hi - lo) / bins;
    put_header(f, png, 900, 540, title);
    fprintf(f, "set xlabel ");
    put_string(f, xlabel);
    fprintf(f, "\nset ylabel 'fraction of the set''s images per bin'\n"
               "set xrange [%.17g:%.17g]\nset yrange [0:*]\nset offsets 0, 0, graph 0.15, 0\n"
               "set boxwidth %.17g absolute\n"
               "set style fill transparent solid 0.45 border\nset key top center box opaque\n",
            lo, hi, width);
    if (!isnan(threshold)) {
        fprintf(f, "set arrow from %.9g, graph 0 to %.9g, graph 1 nohead dt 2 lw 2 lc rgb '#333333'\n",
                threshold, threshold);
        /* along the line, on its left: clear of the key and of the bars' tops */
        fprintf(f, "set label 'calibrated threshold %.4g' at %.9g, graph 0.5 center rotate by 90 "
                   "offset -1,0 tc rgb '#333333'\n", threshold, threshold);
    }
    fprintf(f, "$hist << EOD\n");
    for (int b = 0; b < bins; ++b)
        fprintf(f, "%.9g %.9g %.9g\n", lo + (b + 0.5) * width, h[2 * b], h[2 * b + 1]);
    fprintf(f, "EOD\n");
    char t_id[1200], t_ood[1200];
    snprintf(t_id, sizeof t_id, "ID: %s (%d images)", id_name, n_id);
    snprintf(t_ood, sizeof t_ood, "OOD: %s (%d images)", ood_name, n_ood);
    fprintf(f, "plot $hist using 1:2 with boxes lc rgb '#1f77b4' title ");
    put_string(f, t_id);
    fprintf(f, ", \\\n     $hist using 1:3 with boxes lc rgb '#d62728' title ");
    put_string(f, t_ood);
    fprintf(f, "\n");
    free(h);
    return run_script(f, script, png);
}

int ood_plot_roc(const char *png, const char *title, int ncurves, const char *const *names,
                 const double *const *id, int n_id, const double *const *ood, int n_ood)
{
    static const char *const colours[] = {"#d62728", "#1f77b4", "#2ca02c", "#9467bd",
                                          "#ff7f0e", "#8c564b", "#e377c2"};
    const int cap = n_id + n_ood + 1;
    double *fpr = malloc(sizeof(double) * cap), *tpr = malloc(sizeof(double) * cap);
    char script[64];
    FILE *f = fpr && tpr ? open_script(script, sizeof script) : NULL;
    if (!f) {
        if (!fpr || !tpr) mcd_set_error("ROC '%s': out of memory", png);
        free(fpr);
        free(tpr);
        return -1;
    }
    put_header(f, png, 700, 640, title);
    fprintf(f, "set xlabel 'false positive rate: share of ID images flagged as OOD'\n"
               "set ylabel 'true positive rate: share of OOD images flagged'\n"
               "set xrange [0:1]\nset yrange [0:1.002]\nset size ratio -1\n"
               "set key bottom right box opaque\n");
    double auroc[16];
    for (int c = 0; c < ncurves && c < 16; ++c) {
        int n = ood_roc_curve(id[c], n_id, ood[c], n_ood, fpr, tpr);
        ood_metrics m;
        if (n < 0 || ood_compute_metrics(id[c], n_id, ood[c], n_ood, &m)) {
            fclose(f);
            remove(script);
            free(fpr);
            free(tpr);
            return -1;
        }
        auroc[c] = m.auroc;
        fprintf(f, "$roc%d << EOD\n", c);
        for (int k = 0; k < n; ++k) fprintf(f, "%.9g %.9g\n", fpr[k], tpr[k]);
        fprintf(f, "EOD\n");
    }
    fprintf(f, "plot ");
    for (int c = 0; c < ncurves && c < 16; ++c) {
        char t[512];
        snprintf(t, sizeof t, "%s (AUROC %.2f%%)", names[c], 100 * auroc[c]);
        fprintf(f, "$roc%d using 1:2 with lines lw %d lc rgb '%s' title ", c, c == 0 ? 3 : 2,
                colours[c % 7]);
        put_string(f, t);
        fprintf(f, ", \\\n     ");
    }
    fprintf(f, "x with lines dt 2 lc rgb '#888888' title 'chance'\n");
    free(fpr);
    free(tpr);
    return run_script(f, script, png);
}
