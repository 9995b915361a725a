/* `darknet mcd valid CFG WEIGHTS [-data FILE] [-ood LIST ...] [-csv FILE] [-plot DIR]
 * [-transductive] [-bootstrap N [-seed S]]`: score the ID test list and each OOD list, print
 * the training run's health record, each set's MCD L1 percentiles, AUROC, AUPR-In/Out, FPR
 * at 95% TPR (both conventions) and detection error for every score (with bootstrap
 * intervals on request), and the heads' ID accuracy. */
#include <errno.h>
#include <math.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "backend/gpu_device.h"
#include "commands/command_line.h"
#include "commands/verbs.h"
#include "io/output_fields.h"
#include "io/data_lists.h"
#include "ood/ood_metrics.h"
#include "ood/ood_scores.h"
#include "ood/plot_ood.h"
#include "ood/threshold_file.h"
#include "option_list.h"
#include "train/training_health.h"
#include "util/file_paths.h"
#include "util/mcd_error.h"

#define MAX_SETS 64

typedef struct valid_options {
    const char *cfg, *weights, *data, *csv, *plot;
    mcd_arg_list ood;
    int transductive;
    int bootstrap, seed;
    long max_pixels;
    int gpu; /* -1: the CPU */
} valid_options;

static const mcd_positional positionals[] = {
    {"CFG", offsetof(valid_options, cfg), 1},
    {"WEIGHTS", offsetof(valid_options, weights), 1},
};

static const mcd_option options[] = {
    {.name = "-data", .kind = MCD_OPT_STRING, .offset = offsetof(valid_options, data),
     .value = "FILE", .help = ".data file (default: the cfg's data=, else " MCD_DEFAULT_DATA "):\n"
                              "id_test=, ood= (comma-separated lists), labels=, classes=,\n"
                              "transductive_id=, transductive_ood="},
    {.name = "-ood", .kind = MCD_OPT_LIST, .offset = offsetof(valid_options, ood),
     .value = "LIST", .help = "an OOD list instead of the .data file's ood= (repeat, or a,b,c)"},
    {.name = "-csv", .kind = MCD_OPT_STRING, .offset = offsetof(valid_options, csv),
     .value = "FILE", .help = "one row per image: path, set, role, label, predictions, every score"},
    {.name = "-plot", .kind = MCD_OPT_STRING, .offset = offsetof(valid_options, plot),
     .value = "DIR", .help = "PNG figures (gnuplot): L1 histograms of ID and each OOD set, ROC\n"
                             "curves of MCD L1 against MSP"},
    {.name = "-transductive", .kind = MCD_OPT_FLAG, .offset = offsetof(valid_options, transductive),
     .help = "also the paper's transductive protocol: transductive_id= against\n"
             "transductive_ood= (the unlabeled images of fine-tuning)"},
    {.name = "-bootstrap", .kind = MCD_OPT_INT, .offset = offsetof(valid_options, bootstrap),
     .value = "N", .min = 1, .max = 100000,
     .help = "95% intervals of AUROC and both FPR95s from N stratified bootstrap\n"
             "resamples (ID and OOD drawn apart, with replacement; the 2.5th and\n"
             "97.5th percentiles, numpy's linear rule); 1000 is usual"},
    {.name = "-seed", .kind = MCD_OPT_INT, .offset = offsetof(valid_options, seed),
     .value = "S", .min = 0, .max = 2147483647,
     .help = "the bootstrap's seed (default 1: the same intervals on every run)"},
    MCD_MAX_PIXELS_OPTION(valid_options, max_pixels),
    MCD_GPU_OPTIONS(valid_options, gpu),
};

static int run(int argc, char **argv);

const mcd_command mcd_valid_command = {
    .name = "valid",
    .summary = "score the ID test set and each OOD set: AUROC, AUPR, FPR at 95% TPR, detection error\n"
               "of MCD L1 and the baselines, the heads' ID accuracy",
    .description =
        "Scores the ID test images and each OOD set with the MCD L1 score and the baselines\n"
        "of the same forward pass (entropy gap, MSP of head 1 and of the heads' average, max\n"
        "logit and energy of head 1, entropy of the average), and prints per OOD set and score:\n"
        "AUROC, AUPR-In, AUPR-Out, FPR at 95% TPR with ID positive (the paper's: OOD accepted\n"
        "when 95% of ID is) and with OOD positive (OpenOOD's: ID flagged when 95% of OOD is),\n"
        "detection error; and the ID accuracy of head 1, head 2 and their average.\n"
        "First the training run's health record (BASE.health next to WEIGHTS, written by\n"
        "darknet mcd train), then per set the MCD L1 score's 5th percentile, median and\n"
        "95th percentile (numpy's linear interpolation).\n"
        "With WEIGHTS.threshold (darknet mcd calibrate), also prints the share of each set on\n"
        "the ID side of the calibrated threshold.",
    .positionals = positionals, .n_positionals = MCD_COUNT(positionals),
    .options = options, .n_options = MCD_COUNT(options),
    .run = run,
};

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
    int id;             /* index into the sets */
    int ood[MAX_SETS];
    int n_ood;
} protocol;

/* Everything one evaluation reads and computes. */
typedef struct evaluation {
    eval_set sets[MAX_SETS];
    int n_sets;
    protocol protocols[2];
    int n_protocols;
    list *dataset;      /* the .data file's keys */
    char data[4096];    /* its path */
    char **labels;      /* its labels= names, or NULL */
    int n_labels;
    char **names;       /* the class names (names=, else labels=), or NULL */
    int n_names;
    char *list_names[2 * MAX_SETS]; /* OOD list names split from comma-separated values */
    int n_list_names;
} evaluation;

/* "dir/ood-mnist.list" -> "ood-mnist", made unique among the sets. */
static void set_name(evaluation *ev, eval_set *s)
{
    for (int i = 0; i < ev->n_sets; ++i) /* the same list in another role keeps its name */
        if (&ev->sets[i] != s && strcmp(ev->sets[i].list, s->list) == 0) {
            memcpy(s->name, ev->sets[i].name, sizeof s->name);
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
        for (int i = 0; i < ev->n_sets; ++i)
            if (&ev->sets[i] != s && strcmp(ev->sets[i].name, s->name) == 0) taken = 1;
        if (!taken) return;
        snprintf(s->name, sizeof s->name, "%s-%d", stem, k);
    }
}

/* The set for this list (read once, however often it is named): its index, or -1. */
static int add_set(evaluation *ev, const char *list, int ood)
{
    for (int i = 0; i < ev->n_sets; ++i)
        if (strcmp(ev->sets[i].list, list) == 0 && ev->sets[i].ood == ood) return i;
    if (ev->n_sets == MAX_SETS) {
        mcd_set_error("more than %d image lists", MAX_SETS);
        return -1;
    }
    eval_set *s = &ev->sets[ev->n_sets];
    memset(s, 0, sizeof *s);
    s->list = list;
    s->ood = ood;
    s->paths = mcd_read_list(list, &s->n, 1);
    if (!s->paths) return -1;
    set_name(ev, s);
    return ev->n_sets++;
}

/* A protocol's OOD sets from a comma-separated value. */
static int add_ood_lists(evaluation *ev, protocol *p, const char *value)
{
    char *copy = strdup(value), *save = NULL;
    int rc = 0;
    for (char *tok = strtok_r(copy, ",", &save); tok && !rc; tok = strtok_r(NULL, ",", &save)) {
        while (*tok == ' ' || *tok == '\t') ++tok;
        char *end = tok + strlen(tok);
        while (end > tok && (end[-1] == ' ' || end[-1] == '\t')) *--end = 0;
        if (!*tok) continue;
        if (p->n_ood == MAX_SETS || ev->n_list_names == 2 * MAX_SETS) {
            mcd_set_error("more than %d OOD lists", MAX_SETS);
            rc = -1;
            break;
        }
        char *name = ev->list_names[ev->n_list_names++] = strdup(tok);
        int k = add_set(ev, name, 1);
        if (k < 0) rc = -1;
        else p->ood[p->n_ood++] = k;
    }
    free(copy);
    return rc;
}

static int add_protocol(evaluation *ev, const char *title, const char *id_key,
                        const mcd_arg_list *ood_args, const char *ood_key)
{
    protocol *p = &ev->protocols[ev->n_protocols++];
    memset(p, 0, sizeof *p);
    p->title = title;
    const char *id = mcd_data_value(ev->dataset, ev->data, id_key);
    if (!id || (p->id = add_set(ev, id, 0)) < 0) return -1;
    if (ood_args && ood_args->n) {
        for (int i = 0; i < ood_args->n; ++i)
            if (add_ood_lists(ev, p, ood_args->v[i])) return -1;
    } else {
        const char *ood = mcd_data_value(ev->dataset, ev->data, ood_key);
        if (!ood || add_ood_lists(ev, p, ood)) return -1;
    }
    if (p->n_ood == 0) {
        mcd_set_error("no OOD list given (%s)", ood_args && ood_args->n ? "-ood" : ood_key);
        return -1;
    }
    return 0;
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

/* -csv and -plot checked before the network runs. */
static int check_outputs(const valid_options *o)
{
    if (o->csv && !writable(o->csv)) {
        mcd_set_error("cannot write -csv '%s': %s", o->csv, strerror(errno));
        return -1;
    }
    if (!o->plot) return 0;
    if (ood_plot_available()) return -1;
    if (mcd_make_dirs(o->plot)) {
        mcd_set_error("-plot: %s", mcd_last_error());
        return -1;
    }
    if (access(o->plot, W_OK) != 0) {
        mcd_set_error("-plot '%s' is not a writable directory", o->plot);
        return -1;
    }
    return 0;
}

/* Everything that can be checked before the network runs: the data file, the lists,
 * the output places. */
static int plan(evaluation *ev, const valid_options *o)
{
    ev->dataset = mcd_read_data_file(ev->data);
    if (!ev->dataset || add_protocol(ev, "inductive", "id_test", &o->ood, "ood")) return -1;
    if (o->transductive &&
        add_protocol(ev, "transductive", "transductive_id", NULL, "transductive_ood"))
        return -1;
    return check_outputs(o);
}

/* The data set's classes= and labels= against the network's heads. */
static int check_classes(evaluation *ev, const char *cfg, const mcd_layout *m)
{
    const char *classes = option_find(ev->dataset, "classes");
    if (classes && *classes && atoi(classes) != m->classes) {
        mcd_set_error("%s: classes=%s, but %s's heads have %d classes", ev->data, classes, cfg,
                      m->classes);
        return -1;
    }
    const char *labels = option_find(ev->dataset, "labels");
    if (!labels || !*labels) return 0;
    ev->labels = mcd_read_list(labels, &ev->n_labels, 0);
    if (!ev->labels) return -1;
    if (ev->n_labels < m->classes) {
        mcd_set_error("%s: labels=%s has %d names, the network has %d classes", ev->data,
                      labels, ev->n_labels, m->classes);
        return -1;
    }
    /* the names for the per-class line; without them (or with a wrong count) no such line */
    if (mcd_read_class_names(ev->data, m->classes, &ev->names) == 0) ev->n_names = m->classes;
    return 0;
}

static double pct(int k, int n)
{
    return n ? 100.0 * k / n : 0;
}

/* The averaged heads' accuracy per class, by the class names (names= of the .data file). */
static void print_class_accuracy(const eval_set *s, char **names, int classes)
{
    int *n = calloc((size_t)classes, sizeof(int)), *ok = calloc((size_t)classes, sizeof(int));
    if (n && ok) {
        for (int i = 0; i < s->n; ++i) {
            int y = s->labels[i];
            if (y < 0 || y >= classes) continue;
            ++n[y];
            ok[y] += s->scores[i].pred_avg == y;
        }
        printf("    per class (average):");
        for (int c = 0, col = 0; c < classes; ++c) {
            if (!n[c]) continue;
            if (col && col % 5 == 0) printf("\n                        ");
            printf(" %s %.2f%%%s", names[c], pct(ok[c], n[c]), c + 1 < classes ? "," : "");
            ++col;
        }
        printf("\n");
    }
    free(n);
    free(ok);
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

/* Every set through the network, and the ID sets' accuracy. */
static int score_sets(evaluation *ev, network *net, const mcd_layout *m)
{
    for (int s = 0; s < ev->n_sets; ++s) {
        eval_set *e = &ev->sets[s];
        e->scores = malloc(sizeof(ood_image_scores) * e->n);
        char label[256];
        snprintf(label, sizeof label, "scoring %s", e->name);
        if (!e->scores || ood_score_images(net, m, e->paths, e->n, e->list, label, e->scores))
            return -1;
        printf("%-3s %-20s %6d images  %s\n", e->ood ? "OOD" : "ID", e->name, e->n, e->list);
        if (!e->ood && ev->labels) {
            e->labels = malloc(sizeof(int) * e->n);
            for (int i = 0; i < e->n; ++i)
                e->labels[i] = mcd_label_of(e->paths[i], ev->labels, m->classes);
            print_accuracy(e);
            if (ev->names) print_class_accuracy(e, ev->names, m->classes);
        }
    }
    if (!ev->labels) printf("(no labels= in %s: ID accuracy not computed)\n", ev->data);
    return 0;
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

/* The MCD L1 score's 5th percentile, median and 95th percentile of every set: the gap
 * between ID and OOD in numbers. */
static int print_percentiles(const evaluation *ev)
{
    static const double p[] = {5, 50, 95};
    printf("\nMCD L1 score per set (numpy's linear percentiles)\n");
    printf("%-3s %-20s %8s %10s %10s %10s\n", "", "set", "images", "5th", "median", "95th");
    for (int s = 0; s < ev->n_sets; ++s) {
        const eval_set *e = &ev->sets[s];
        double *v = raw_scores(e, OOD_MCD_L1), q[3];
        int rc = ood_percentiles(v, e->n, p, 3, q);
        free(v);
        if (rc) {
            mcd_set_error("%s: %s", e->name, mcd_last_error());
            return -1;
        }
        printf("%-3s %-20s %8d %10.4f %10.4f %10.4f\n", e->ood ? "OOD" : "ID", e->name, e->n,
               q[0], q[1], q[2]);
    }
    return 0;
}

/* -bootstrap: every score's intervals for one OOD set, all scores on the same resamples.
 * The generator's stream is the OOD set's index: a set's intervals do not depend on the
 * other sets named. */
static int print_bootstrap_set(const eval_set *id, double *const *idv, const eval_set *ood,
                               int ood_index, const valid_options *o)
{
    double *ov[OOD_NSCORES];
    for (int k = 0; k < OOD_NSCORES; ++k) ov[k] = oodness(ood, k);
    ood_bootstrap_intervals iv[OOD_NSCORES];
    int rc = ood_bootstrap((const double *const *)idv, id->n, (const double *const *)ov, ood->n,
                           OOD_NSCORES, o->bootstrap, (uint64_t)o->seed, (uint64_t)ood_index, iv);
    for (int k = 0; k < OOD_NSCORES; ++k) free(ov[k]);
    if (rc) {
        mcd_set_error("%s vs %s, bootstrap: %s", id->name, ood->name, mcd_last_error());
        return -1;
    }
    for (int k = 0; k < OOD_NSCORES; ++k)
        printf("%-20s %-20s %7.2f-%-7.2f %8.2f-%-8.2f %8.2f-%-8.2f\n", k ? "" : ood->name,
               ood_score_title(k), 100 * iv[k].auroc.lo, 100 * iv[k].auroc.hi,
               100 * iv[k].fpr95_id.lo, 100 * iv[k].fpr95_id.hi, 100 * iv[k].fpr95_ood.lo,
               100 * iv[k].fpr95_ood.hi);
    return 0;
}

/* One OOD set's row per score. */
static int print_ood_set(const eval_set *id, double *const *idv, const eval_set *ood)
{
    for (int k = 0; k < OOD_NSCORES; ++k) {
        double *ov = oodness(ood, k);
        ood_metrics m;
        int rc = ood_compute_metrics(idv[k], id->n, ov, ood->n, &m);
        free(ov);
        if (rc) {
            mcd_set_error("%s vs %s, %s: %s", id->name, ood->name, ood_score_title(k),
                          mcd_last_error());
            return -1;
        }
        printf("%-20s %-20s %7.2f %8.2f %8.2f %10.2f %11.2f %8.2f\n", k ? "" : ood->name,
               ood_score_title(k), 100 * m.auroc, 100 * m.aupr_in, 100 * m.aupr_out,
               100 * m.fpr95_id, 100 * m.fpr95_ood, 100 * m.detection_error);
    }
    return 0;
}

static int print_protocol(const evaluation *ev, const protocol *p, const valid_options *opt)
{
    const eval_set *id = &ev->sets[p->id];
    printf("\n%s: ID set %s against each OOD set (percent)\n", p->title, id->name);
    printf("%-20s %-20s %7s %8s %8s %10s %11s %8s\n", "OOD set", "score", "AUROC", "AUPR-In",
           "AUPR-Out", "FPR95 ID+", "FPR95 OOD+", "det.err");
    double *idv[OOD_NSCORES];
    for (int k = 0; k < OOD_NSCORES; ++k) idv[k] = oodness(id, k);
    int rc = 0;
    for (int o = 0; o < p->n_ood && !rc; ++o) rc = print_ood_set(id, idv, &ev->sets[p->ood[o]]);
    if (!rc && opt->bootstrap) {
        printf("\n%s: 95%% bootstrap intervals, %d resamples, seed %d (percent)\n", p->title,
               opt->bootstrap, opt->seed);
        printf("%-20s %-20s %-15s %-17s %-17s\n", "OOD set", "score", "AUROC", "FPR95 ID+",
               "FPR95 OOD+");
        for (int o = 0; o < p->n_ood && !rc; ++o)
            rc = print_bootstrap_set(id, idv, &ev->sets[p->ood[o]], p->ood[o], opt);
    }
    for (int k = 0; k < OOD_NSCORES; ++k) free(idv[k]);
    return rc;
}

/* The share of each set on either side of WEIGHTS.threshold (darknet mcd calibrate), and
 * that threshold for the plots; NAN when there is none or it cannot be read (a warning). */
static double print_threshold(const evaluation *ev, const char *weights)
{
    char path[4096];
    mcd_threshold t;
    mcd_threshold_path(weights, path, sizeof path);
    if (access(path, F_OK) != 0) {
        printf("\n(no %s: 'darknet mcd calibrate' sets the detection threshold)\n", path);
        return NAN;
    }
    if (mcd_threshold_load(path, &t)) {
        fprintf(stderr, "darknet: warning: %s\n", mcd_last_error());
        return NAN;
    }
    printf("\nCalibrated threshold %.6g (%s: keeps %.4g%% of %d images of %s); "
           "score <= threshold is ID\n", t.threshold, path, 100 * t.tpr, t.id_images, t.id_list);
    int shown[MAX_SETS] = {0};
    for (int q = 0; q < ev->n_protocols; ++q) {
        const protocol *p = &ev->protocols[q];
        for (int j = -1; j < p->n_ood; ++j) {
            int k = j < 0 ? p->id : p->ood[j];
            const eval_set *s = &ev->sets[k];
            if (shown[k]++) continue;
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
    return t.threshold;
}

static int write_csv(const evaluation *ev, const char *path)
{
    FILE *f = fopen(path, "w");
    if (!f) {
        mcd_set_error("cannot write -csv '%s': %s", path, strerror(errno));
        return -1;
    }
    fprintf(f, "path,set,role,label,pred_avg,pred1,pred2");
    for (int k = 0; k < OOD_NSCORES; ++k) fprintf(f, ",%s", ood_score_name(k));
    fprintf(f, "\n");
    for (int s = 0; s < ev->n_sets; ++s) {
        const eval_set *e = &ev->sets[s];
        for (int i = 0; i < e->n; ++i) {
            const ood_image_scores *sc = &e->scores[i];
            mcd_csv_field(f, e->paths[i]);
            fputc(',', f);
            mcd_csv_field(f, e->name);
            fprintf(f, ",%s,", e->ood ? "ood" : "id");
            if (e->labels && e->labels[i] >= 0) fprintf(f, "%d", e->labels[i]);
            fprintf(f, ",%d,%d,%d", sc->pred_avg, sc->pred1, sc->pred2);
            for (int k = 0; k < OOD_NSCORES; ++k) fprintf(f, ",%.9g", sc->raw[k]);
            fputc('\n', f);
        }
    }
    if (fclose(f) != 0) {
        mcd_set_error("cannot write '%s': %s", path, strerror(errno));
        return -1;
    }
    printf("wrote %s\n", path);
    return 0;
}

#define N_ROC 3
static const int roc_kinds[N_ROC] = {OOD_MCD_L1, OOD_MSP1, OOD_MSP_AVG};

/* The L1 histogram and the ROC curves of one ID set against one OOD set. */
static int plot_pair(const char *dir, const char *title, const eval_set *id, double *const *id_roc,
                     const eval_set *ood, double threshold)
{
    char png[4096], caption[512];
    double *id_l1 = raw_scores(id, OOD_MCD_L1), *ood_l1 = raw_scores(ood, OOD_MCD_L1);
    snprintf(png, sizeof png, "%s/hist-%s-vs-%s.png", dir, id->name, ood->name);
    snprintf(caption, sizeof caption, "MCD L1 score: ID %s vs OOD %s (%s)", id->name, ood->name,
             title);
    int rc = ood_plot_histogram(png, caption, "MCD L1 score  sum_k |p1_k - p2_k|", 0, 2, 50,
                                id->name, id_l1, id->n, ood->name, ood_l1, ood->n, threshold);
    free(id_l1);
    free(ood_l1);
    if (rc) return -1;
    printf("wrote %s\n", png);
    const char *names[N_ROC];
    double *ood_roc[N_ROC];
    for (int c = 0; c < N_ROC; ++c) {
        names[c] = ood_score_title(roc_kinds[c]);
        ood_roc[c] = oodness(ood, roc_kinds[c]);
    }
    snprintf(png, sizeof png, "%s/roc-%s-vs-%s.png", dir, id->name, ood->name);
    snprintf(caption, sizeof caption, "ROC, OOD positive: ID %s vs OOD %s (%s)", id->name,
             ood->name, title);
    rc = ood_plot_roc(png, caption, N_ROC, names, (const double *const *)id_roc, id->n,
                      (const double *const *)ood_roc, ood->n);
    for (int c = 0; c < N_ROC; ++c) free(ood_roc[c]);
    if (rc) return -1;
    printf("wrote %s\n", png);
    return 0;
}

/* threshold: marked on the histograms (NAN: none). */
static int make_plots(const evaluation *ev, const char *dir, double threshold)
{
    int rc = 0;
    for (int q = 0; q < ev->n_protocols && !rc; ++q) {
        const protocol *p = &ev->protocols[q];
        const eval_set *id = &ev->sets[p->id];
        double *id_roc[N_ROC];
        for (int c = 0; c < N_ROC; ++c) id_roc[c] = oodness(id, roc_kinds[c]);
        for (int o = 0; o < p->n_ood && !rc; ++o)
            rc = plot_pair(dir, p->title, id, id_roc, &ev->sets[p->ood[o]], threshold);
        for (int c = 0; c < N_ROC; ++c) free(id_roc[c]);
    }
    return rc;
}

/* The training run's health record (train/training_health.h), found by the weights' name;
 * a line saying there is none when it is missing or unreadable (a warning then). */
static void print_health(const char *weights)
{
    char path[4200];
    mcd_health h;
    int pending;
    mcd_health_path_of_weights(weights, path, sizeof path);
    int rc = mcd_health_read(path, &h, &pending);
    if (rc < 0) fprintf(stderr, "darknet: warning: %s\n", mcd_last_error());
    if (rc) {
        printf("training health: no health record (%s)\n", path);
    } else if (pending) {
        printf("training health: pending: the run has not finished fine-tuning (%s; "
               "pre-trained network's held-out share %.4f)\n", path, h.f.pretrained);
    } else {
        printf("training health: %s: %s (%s; seed %ld, attempt %d)\n",
               mcd_health_name(h.verdict), h.reason, path, h.seed, h.attempt);
    }
}

static int evaluate(evaluation *ev, const valid_options *o)
{
    mcd_layout m;
    network *net = ood_load_network(o->cfg, o->weights, &m);
    if (!net) return -1;
    int rc = check_classes(ev, o->cfg, &m);
    if (!rc) {
        printf("MCD evaluation of %s with %s (%d classes, input %dx%dx%d)\n", o->cfg, o->weights,
               m.classes, net->w, net->h, net->c);
        print_health(o->weights);
        rc = score_sets(ev, net, &m);
    }
    free_network(net);
    if (!rc) rc = print_percentiles(ev);
    for (int q = 0; q < ev->n_protocols && !rc; ++q)
        rc = print_protocol(ev, &ev->protocols[q], o);
    if (rc) return -1;
    printf("FPR95 ID+: share of OOD accepted when 95%% of ID is accepted (the MCD paper's).\n"
           "FPR95 OOD+: share of ID flagged when 95%% of OOD is flagged (OpenOOD's).\n"
           "AUPR: step-wise average precision (sklearn's average_precision_score).\n");
    double threshold = print_threshold(ev, o->weights);
    if (o->csv && write_csv(ev, o->csv)) return -1;
    return o->plot ? make_plots(ev, o->plot, threshold) : 0;
}

static void free_evaluation(evaluation *ev)
{
    for (int s = 0; s < ev->n_sets; ++s) {
        mcd_free_list(ev->sets[s].paths, ev->sets[s].n);
        free(ev->sets[s].scores);
        free(ev->sets[s].labels);
    }
    for (int i = 0; i < ev->n_list_names; ++i) free(ev->list_names[i]);
    mcd_free_list(ev->labels, ev->n_labels);
    if (ev->names) mcd_free_list(ev->names, ev->n_names);
    mcd_free_data_file(ev->dataset);
    free(ev);
}

static int run(int argc, char **argv)
{
    valid_options o = {.gpu = -1, .seed = 1};
    int status;
    if (mcd_command_start(&mcd_valid_command, argc, argv, &o, &status)) return status;
    mcd_set_image_max_pixels(o.max_pixels);
    evaluation *ev = calloc(1, sizeof *ev);
    int rc = !ev || mcd_gpu_select(o.gpu) || mcd_resolve_data_file(o.cfg, o.data, ev->data, sizeof ev->data, NULL) ||
             plan(ev, &o) || evaluate(ev, &o);
    if (ev) free_evaluation(ev);
    mcd_arg_list_free(&o.ood);
    return rc ? mcd_command_failed() : 0;
}
