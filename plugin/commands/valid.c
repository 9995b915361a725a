/* `darknet mcd valid CFG WEIGHTS [-data FILE] [-ood LIST ...] [-csv FILE] [-plot DIR]
 * [-transductive]`: score the ID test list and each OOD list, print AUROC, AUPR-In/Out,
 * FPR at 95% TPR (both conventions) and detection error for every score, and the heads'
 * ID accuracy. */
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "io/csv_field.h"
#include "io/data_lists.h"
#include "commands/verbs.h"
#include "util/mcd_error.h"
#include "ood/ood_metrics.h"
#include "ood/ood_scores.h"
#include "ood/plot_ood.h"
#include "ood/threshold_file.h"

#define DEFAULT_DATA "cfg/fmnist.data"
#define MAX_SETS 64

static void usage(FILE *f)
{
    fprintf(f,
        "usage: darknet mcd valid CFG WEIGHTS [-data FILE] [-ood LIST ...] [-csv FILE]\n"
        "                         [-plot DIR] [-transductive]\n"
        "  Scores the ID test images and each OOD set with the MCD L1 score and the baselines\n"
        "  of the same forward pass (entropy gap, MSP of head 1 and of the heads' average, max\n"
        "  logit and energy of head 1, entropy of the average), and prints per OOD set and score:\n"
        "  AUROC, AUPR-In, AUPR-Out, FPR at 95%% TPR with ID positive (the paper's: OOD accepted\n"
        "  when 95%% of ID is) and with OOD positive (OpenOOD's: ID flagged when 95%% of OOD is),\n"
        "  detection error; and the ID accuracy of head 1, head 2 and their average.\n"
        "  -data FILE      .data file (default " DEFAULT_DATA "): id_test=, ood= (comma-separated\n"
        "                  lists), labels=, classes=, transductive_id=, transductive_ood=\n"
        "  -ood LIST       an OOD list instead of the .data file's ood= (repeat, or a,b,c)\n"
        "  -csv FILE       one row per image: path, set, role, label, predictions, every score\n"
        "  -plot DIR       PNG figures (gnuplot): L1 histograms of ID and each OOD set, ROC\n"
        "                  curves of MCD L1 against MSP\n"
        "  -transductive   also the paper's transductive protocol: transductive_id= against\n"
        "                  transductive_ood= (the unlabeled images of fine-tuning)\n"
        "  With WEIGHTS.threshold (darknet mcd calibrate), also prints the share of each set on\n"
        "  the ID side of the calibrated threshold.\n");
}

typedef struct eval_set {
    const char *list;   /* list file */
    char name[128];     /* unique short name */
    int ood;            /* 1: scored as OOD */
    char **paths;
    int n;
    ood_image_scores *scores;
    int *labels;        /* ID sets with labels: class index, -1 none, -2 several */
} eval_set;

typedef struct protocol {
    const char *title;
    int id;             /* index into sets */
    int ood[MAX_SETS];
    int n_ood;
} protocol;

static eval_set sets[MAX_SETS];
static int n_sets;

static void die_usage(const char *fmt, const char *arg)
{
    fprintf(stderr, "darknet: error: ");
    fprintf(stderr, fmt, arg);
    fprintf(stderr, "\n\n");
    usage(stderr);
    exit(1);
}

/* "dir/ood-mnist.list" -> "ood-mnist", made unique among the sets. */
static void set_name(eval_set *s)
{
    for (int i = 0; i < n_sets; ++i) /* the same list in another role keeps its name */
        if (&sets[i] != s && strcmp(sets[i].list, s->list) == 0) {
            memcpy(s->name, sets[i].name, sizeof s->name);
            return;
        }
    const char *base = strrchr(s->list, '/');
    base = base ? base + 1 : s->list;
    char stem[100];
    snprintf(stem, sizeof stem, "%s", base);
    char *dot = strrchr(stem, '.');
    if (dot && dot != stem) *dot = 0;
    snprintf(s->name, sizeof s->name, "%s", stem);
    for (int k = 2;; ++k) {
        int taken = 0;
        for (int i = 0; i < n_sets; ++i)
            if (&sets[i] != s && strcmp(sets[i].name, s->name) == 0) taken = 1;
        if (!taken) return;
        snprintf(s->name, sizeof s->name, "%s-%d", stem, k);
    }
}

/* The set for this list (read once, however often it is named). */
static int add_set(const char *list, int ood)
{
    for (int i = 0; i < n_sets; ++i)
        if (strcmp(sets[i].list, list) == 0 && sets[i].ood == ood) return i;
    if (n_sets == MAX_SETS) {
        mcd_set_error("more than %d image lists", MAX_SETS);
        mcd_die();
    }
    eval_set *s = &sets[n_sets];
    memset(s, 0, sizeof *s);
    s->list = list;
    s->ood = ood;
    s->paths = mcd_read_list(list, &s->n, 1);
    if (!s->paths) mcd_die();
    set_name(s);
    return n_sets++;
}

/* Split a comma-separated value into sets. */
static void add_ood_lists(protocol *p, const char *value)
{
    char *copy = strdup(value), *save = NULL;
    for (char *tok = strtok_r(copy, ",", &save); tok; tok = strtok_r(NULL, ",", &save)) {
        while (*tok == ' ' || *tok == '\t') ++tok;
        char *end = tok + strlen(tok);
        while (end > tok && (end[-1] == ' ' || end[-1] == '\t')) *--end = 0;
        if (!*tok) continue;
        if (p->n_ood == MAX_SETS) die_usage("more than %s OOD lists", "64");
        p->ood[p->n_ood++] = add_set(strdup(tok), 1);
    }
    free(copy); /* the tokens were duplicated */
}

/* Whether path can be written (an existing file, or a new one in a writable directory). */
static int writable(const char *path)
{
    if (access(path, F_OK) == 0) return access(path, W_OK) == 0;
    char dir[4096];
    snprintf(dir, sizeof dir, "%s", path);
    char *slash = strrchr(dir, '/');
    if (!slash) snprintf(dir, sizeof dir, ".");
    else if (slash == dir) dir[1] = 0;
    else *slash = 0;
    return access(dir, W_OK) == 0;
}

static const char *data_value(list *options, const char *data, const char *key)
{
    const char *v = mcd_data_value(options, data, key);
    if (!v) mcd_die();
    return v;
}

static double pct(int k, int n)
{
    return n ? 100.0 * k / n : 0;
}

static void print_accuracy(const eval_set *s)
{
    int labeled = 0, ok1 = 0, ok2 = 0, oka = 0;
    for (int i = 0; i < s->n; ++i) {
        int y = s->labels[i];
        if (y < 0) continue;
        ++labeled;
        ok1 += s->scores[i].pred1 == y;
        ok2 += s->scores[i].pred2 == y;
        oka += s->scores[i].pred_avg == y;
    }
    if (labeled == 0) {
        printf("    accuracy: no image path contains exactly one label name\n");
        return;
    }
    printf("    accuracy: head 1 %.2f%%, head 2 %.2f%%, average %.2f%%", pct(ok1, labeled),
           pct(ok2, labeled), pct(oka, labeled));
    if (labeled < s->n)
        printf("  (%d of %d images: the others contain no label name or several)", labeled, s->n);
    printf("\n");
}

/* The oriented values of one score for a set (higher = more OOD). */
static double *oodness(const eval_set *s, int kind)
{
    double *v = malloc(sizeof(double) * s->n);
    for (int i = 0; i < s->n; ++i) v[i] = ood_score_oodness(kind, s->scores[i].raw[kind]);
    return v;
}

static double *raw_scores(const eval_set *s, int kind)
{
    double *v = malloc(sizeof(double) * s->n);
    for (int i = 0; i < s->n; ++i) v[i] = s->scores[i].raw[kind];
    return v;
}

static void print_protocol(const protocol *p)
{
    const eval_set *id = &sets[p->id];
    printf("\n%s: ID set %s against each OOD set (percent)\n", p->title, id->name);
    printf("%-20s %-20s %7s %8s %8s %10s %11s %8s\n", "OOD set", "score", "AUROC", "AUPR-In",
           "AUPR-Out", "FPR95 ID+", "FPR95 OOD+", "det.err");
    double *idv[OOD_NSCORES];
    for (int k = 0; k < OOD_NSCORES; ++k) idv[k] = oodness(id, k);
    for (int o = 0; o < p->n_ood; ++o) {
        const eval_set *ood = &sets[p->ood[o]];
        for (int k = 0; k < OOD_NSCORES; ++k) {
            double *ov = oodness(ood, k);
            ood_metrics m;
            if (ood_compute_metrics(idv[k], id->n, ov, ood->n, &m)) {
                char msg[1024];
                snprintf(msg, sizeof msg, "%s vs %s, %s: %s", id->name, ood->name,
                         ood_score_title(k), mcd_last_error());
                mcd_set_error("%s", msg);
                mcd_die();
            }
            printf("%-20s %-20s %7.2f %8.2f %8.2f %10.2f %11.2f %8.2f\n", k ? "" : ood->name,
                   ood_score_title(k), 100 * m.auroc, 100 * m.aupr_in, 100 * m.aupr_out,
                   100 * m.fpr95_id, 100 * m.fpr95_ood, 100 * m.detection_error);
            free(ov);
        }
    }
    for (int k = 0; k < OOD_NSCORES; ++k) free(idv[k]);
}

static void print_threshold(const char *weights, const protocol *protocols, int np)
{
    char path[4096];
    mcd_threshold_path(weights, path, sizeof path);
    if (access(path, F_OK) != 0) {
        printf("\n(no %s: 'darknet mcd calibrate' sets the detection threshold)\n", path);
        return;
    }
    mcd_threshold t;
    if (mcd_threshold_load(path, &t)) {
        fprintf(stderr, "darknet: warning: %s\n", mcd_last_error());
        return;
    }
    printf("\nCalibrated threshold %.6g (%s: keeps %.4g%% of %d images of %s); "
           "score <= threshold is ID\n", t.threshold, path, 100 * t.tpr, t.id_images, t.id_list);
    int shown[MAX_SETS] = {0};
    for (int q = 0; q < np; ++q) {
        int members[MAX_SETS + 1], nm = 0;
        members[nm++] = protocols[q].id;
        for (int o = 0; o < protocols[q].n_ood; ++o) members[nm++] = protocols[q].ood[o];
        for (int j = 0; j < nm; ++j) {
            const eval_set *s = &sets[members[j]];
            if (shown[members[j]]++) continue;
            int flagged = 0;
            for (int i = 0; i < s->n; ++i) flagged += ood_is_ood(s->scores[i].raw[OOD_MCD_L1], t.threshold);
            if (s->ood)
                printf("  %-20s OOD: %6.2f%% flagged as OOD (%d of %d)\n", s->name,
                       pct(flagged, s->n), flagged, s->n);
            else
                printf("  %-20s ID:  %6.2f%% kept as ID (%d of %d)\n", s->name,
                       pct(s->n - flagged, s->n), s->n - flagged, s->n);
        }
    }
}

static void write_csv(FILE *f, const char *path)
{
    fprintf(f, "path,set,role,label,pred_avg,pred1,pred2");
    for (int k = 0; k < OOD_NSCORES; ++k) fprintf(f, ",%s", ood_score_name(k));
    fprintf(f, "\n");
    for (int s = 0; s < n_sets; ++s)
        for (int i = 0; i < sets[s].n; ++i) {
            const ood_image_scores *sc = &sets[s].scores[i];
            mcd_csv_field(f, sets[s].paths[i]);
            fputc(',', f);
            mcd_csv_field(f, sets[s].name);
            fprintf(f, ",%s,", sets[s].ood ? "ood" : "id");
            if (sets[s].labels && sets[s].labels[i] >= 0) fprintf(f, "%d", sets[s].labels[i]);
            fprintf(f, ",%d,%d,%d", sc->pred_avg, sc->pred1, sc->pred2);
            for (int k = 0; k < OOD_NSCORES; ++k) fprintf(f, ",%.9g", sc->raw[k]);
            fputc('\n', f);
        }
    if (fclose(f) != 0) {
        mcd_set_error("cannot write '%s': %s", path, strerror(errno));
        mcd_die();
    }
}

static void make_plots(const char *dir, const protocol *protocols, int np, double threshold)
{
    static const int roc_kinds[] = {OOD_MCD_L1, OOD_MSP1, OOD_MSP_AVG};
    const int nroc = sizeof roc_kinds / sizeof roc_kinds[0];
    for (int q = 0; q < np; ++q) {
        const protocol *p = &protocols[q];
        const eval_set *id = &sets[p->id];
        double *id_l1 = raw_scores(id, OOD_MCD_L1);
        double *id_roc[3];
        const char *names[3];
        for (int c = 0; c < nroc; ++c) {
            id_roc[c] = oodness(id, roc_kinds[c]);
            names[c] = ood_score_title(roc_kinds[c]);
        }
        for (int o = 0; o < p->n_ood; ++o) {
            const eval_set *ood = &sets[p->ood[o]];
            char png[4096], title[512];
            double *ood_l1 = raw_scores(ood, OOD_MCD_L1);
            snprintf(png, sizeof png, "%s/hist-%s-vs-%s.png", dir, id->name, ood->name);
            snprintf(title, sizeof title, "MCD L1 score: ID %s vs OOD %s (%s)", id->name,
                     ood->name, p->title);
            if (ood_plot_histogram(png, title, "MCD L1 score  sum_k |p1_k - p2_k|", 0, 2, 50,
                                   id->name, id_l1, id->n, ood->name, ood_l1, ood->n, threshold))
                mcd_die();
            printf("wrote %s\n", png);
            free(ood_l1);
            double *ood_roc[3];
            for (int c = 0; c < nroc; ++c) ood_roc[c] = oodness(ood, roc_kinds[c]);
            snprintf(png, sizeof png, "%s/roc-%s-vs-%s.png", dir, id->name, ood->name);
            snprintf(title, sizeof title, "ROC, OOD positive: ID %s vs OOD %s (%s)", id->name,
                     ood->name, p->title);
            if (ood_plot_roc(png, title, nroc, names, (const double *const *)id_roc, id->n,
                             (const double *const *)ood_roc, ood->n))
                mcd_die();
            printf("wrote %s\n", png);
            for (int c = 0; c < nroc; ++c) free(ood_roc[c]);
        }
        free(id_l1);
        for (int c = 0; c < nroc; ++c) free(id_roc[c]);
    }
}

int mcd_valid(int argc, char **argv)
{
    const char *pos[2] = {NULL, NULL};
    const char *data = DEFAULT_DATA, *csv = NULL, *plot = NULL;
    const char *ood_args[MAX_SETS];
    int n_ood_args = 0, transductive = 0, npos = 0;
    for (int i = 1; i < argc; ++i) {
        const char *a = argv[i];
        if (strcmp(a, "-h") == 0 || strcmp(a, "--help") == 0) {
            usage(stdout);
            return 0;
        }
        int takes_value = !strcmp(a, "-data") || !strcmp(a, "-ood") || !strcmp(a, "-csv") ||
                          !strcmp(a, "-plot");
        if (takes_value && (i + 1 >= argc || argv[i + 1][0] == 0))
            die_usage("option %s needs a value", a);
        if (!strcmp(a, "-data")) data = argv[++i];
        else if (!strcmp(a, "-csv")) csv = argv[++i];
        else if (!strcmp(a, "-plot")) plot = argv[++i];
        else if (!strcmp(a, "-ood")) {
            if (n_ood_args == MAX_SETS) die_usage("too many -ood options (%s at most)", "64");
            ood_args[n_ood_args++] = argv[++i];
        } else if (!strcmp(a, "-transductive")) transductive = 1;
        else if (a[0] == '-' && a[1]) die_usage("unknown option '%s'", a);
        else if (npos < 2) pos[npos++] = a;
        else die_usage("unexpected argument '%s' (CFG and WEIGHTS are the only positionals)", a);
    }
    if (npos < 2) {
        usage(stderr);
        return 1;
    }
    const char *cfg = pos[0], *weights = pos[1];

    /* everything that can be checked before the network runs */
    list *options = mcd_read_data_file(data);
    if (!options) mcd_die();
    protocol protocols[2];
    int np = 0;
    protocol *ind = &protocols[np++];
    memset(ind, 0, sizeof *ind);
    ind->title = "inductive";
    ind->id = add_set(data_value(options, data, "id_test"), 0);
    if (n_ood_args)
        for (int i = 0; i < n_ood_args; ++i) add_ood_lists(ind, ood_args[i]);
    else
        add_ood_lists(ind, data_value(options, data, "ood"));
    if (ind->n_ood == 0) die_usage("no OOD list given (%s)", n_ood_args ? "-ood" : "ood=");
    if (transductive) {
        protocol *tr = &protocols[np++];
        memset(tr, 0, sizeof *tr);
        tr->title = "transductive";
        tr->id = add_set(data_value(options, data, "transductive_id"), 0);
        add_ood_lists(tr, data_value(options, data, "transductive_ood"));
    }
    const char *labels_file = mcd_data_value(options, data, "labels");
    const char *classes_str = mcd_data_value(options, data, "classes");
    if (csv && !writable(csv)) {
        mcd_set_error("cannot write -csv '%s': %s", csv, strerror(errno));
        mcd_die();
    }
    if (plot) {
        if (ood_plot_available()) mcd_die();
        struct stat st;
        if (stat(plot, &st) != 0 && mkdir(plot, 0777) != 0) {
            mcd_set_error("cannot create -plot directory '%s': %s", plot, strerror(errno));
            mcd_die();
        }
        if (stat(plot, &st) != 0 || !S_ISDIR(st.st_mode) || access(plot, W_OK) != 0) {
            mcd_set_error("-plot '%s' is not a writable directory", plot);
            mcd_die();
        }
    }

    mcd_layout m;
    network *net = ood_load_network(cfg, weights, &m);
    if (!net) mcd_die();
    if (classes_str && atoi(classes_str) != m.classes) {
        mcd_set_error("%s: classes=%s, but %s's heads have %d classes", data, classes_str, cfg,
                      m.classes);
        mcd_die();
    }
    char **labels = NULL;
    int n_labels = 0;
    if (labels_file) {
        labels = mcd_read_list(labels_file, &n_labels, 0);
        if (!labels) mcd_die();
        if (n_labels < m.classes) {
            mcd_set_error("%s: labels=%s has %d names, the network has %d classes", data,
                          labels_file, n_labels, m.classes);
            mcd_die();
        }
    }
    printf("MCD evaluation of %s with %s (%d classes, input %dx%dx%d)\n", cfg, weights,
           m.classes, net->w, net->h, net->c);

    for (int s = 0; s < n_sets; ++s) {
        eval_set *e = &sets[s];
        e->scores = malloc(sizeof(ood_image_scores) * e->n);
        char label[256];
        snprintf(label, sizeof label, "scoring %s", e->name);
        if (!e->scores || ood_score_images(net, &m, e->paths, e->n, e->list, label, e->scores))
            mcd_die();
        printf("%-3s %-20s %6d images  %s\n", e->ood ? "OOD" : "ID", e->name, e->n, e->list);
        if (!e->ood && labels) {
            e->labels = malloc(sizeof(int) * e->n);
            for (int i = 0; i < e->n; ++i) e->labels[i] = mcd_label_of(e->paths[i], labels, m.classes);
            print_accuracy(e);
        }
    }
    if (!labels) printf("(no labels= in %s: ID accuracy not computed)\n", data);

    for (int q = 0; q < np; ++q) print_protocol(&protocols[q]);
    printf("FPR95 ID+: share of OOD accepted when 95%% of ID is accepted (the MCD paper's).\n"
           "FPR95 OOD+: share of ID flagged when 95%% of OOD is flagged (OpenOOD's).\n"
           "AUPR: step-wise average precision (sklearn's average_precision_score).\n");
    print_threshold(weights, protocols, np);
    if (csv) {
        FILE *f = fopen(csv, "w");
        if (!f) {
            mcd_set_error("cannot write -csv '%s': %s", csv, strerror(errno));
            mcd_die();
        }
        write_csv(f, csv);
        printf("wrote %s\n", csv);
    }
    if (plot) {
        double threshold = NAN;
        char path[4096];
        mcd_threshold t;
        mcd_threshold_path(weights, path, sizeof path);
        if (access(path, F_OK) == 0 && mcd_threshold_load(path, &t) == 0) threshold = t.threshold;
        make_plots(plot, protocols, np, threshold);
    }
    free_network(net);
    return 0;
}
