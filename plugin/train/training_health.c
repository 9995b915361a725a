#include "train/training_health.h"

#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "util/mcd_error.h"

static const char *names[] = {"unchecked", "healthy", "no-ood", "little-ood", "failed"};

const char *mcd_health_name(mcd_health_verdict v)
{
    return v >= 0 && v <= MCD_HEALTH_FAILED ? names[v] : "?";
}

double mcd_health_margin(const mcd_health_figures *f)
{
    double r = f->id_rate, se = 0;
    if (f->n_unl > 0 && f->n_val > 0)
        se = sqrt(r * (1 - r) * (1.0 / f->n_unl + 1.0 / f->n_val));
    double m = MCD_HEALTH_SIGMAS * se;
    return m > MCD_HEALTH_MIN_MARGIN ? m : MCD_HEALTH_MIN_MARGIN;
}

static double max2(double a, double b)
{
    return a > b ? a : b;
}

void mcd_health_judge(const mcd_health_figures *f, mcd_health *h)
{
    h->f = *f;
    h->margin = mcd_health_margin(f);
    const double r = f->id_rate, m = h->margin;
    double seen = max2(max2(f->pretrained, f->top), max2(f->chosen, f->result));
    if (f->result < 0 || f->n_unl <= 0 || f->n_val <= 0) {
        h->verdict = MCD_HEALTH_UNCHECKED;
        snprintf(h->reason, sizeof h->reason, "no held-out share of the result was measured "
                 "(no fine-tuning, or no held-out or validation images)");
    } else if (seen < r + m) {
        h->verdict = MCD_HEALTH_NO_OOD;
        snprintf(h->reason, sizeof h->reason, "the pool showed no OOD: no network flagged "
                 "more than %.4f of the held-out images (ID rate %.4f + margin %.4f); best "
                 "%.4f", r + m, r, m, seen);
    } else if (seen < r + 2 * m) {
        h->verdict = MCD_HEALTH_LITTLE_OOD;
        snprintf(h->reason, sizeof h->reason, "the pool showed too little OOD to judge: no "
                 "network flagged %.4f of the held-out images (ID rate %.4f + 2 margins of "
                 "%.4f), so no gain of a margin over pre-training can show; best %.4f",
                 r + 2 * m, r, m, seen);
    } else if (f->averaged && f->chosen > 0 && f->result < MCD_HEALTH_AVERAGE_RATIO * f->chosen) {
        h->verdict = MCD_HEALTH_FAILED;
        snprintf(h->reason, sizeof h->reason, "the weight average collapsed: it flags %.4f "
                 "of the held-out images, less than %.2f of the chosen checkpoint's %.4f",
                 f->result, MCD_HEALTH_AVERAGE_RATIO, f->chosen);
    } else if (f->pretrained >= 0 && f->result < f->pretrained + m) {
        h->verdict = MCD_HEALTH_FAILED;
        snprintf(h->reason, sizeof h->reason, "fine-tuning did not separate: the result "
                 "flags %.4f of the held-out images, less than the pre-trained network's "
                 "%.4f + margin %.4f", f->result, f->pretrained, m);
    } else if (f->result < r + m) {
        h->verdict = MCD_HEALTH_FAILED;
        snprintf(h->reason, sizeof h->reason, "the result flags %.4f of the held-out "
                 "images, within the margin %.4f of the ID rate %.4f, though a checkpoint "
                 "flagged %.4f", f->result, m, r, seen);
    } else {
        h->verdict = MCD_HEALTH_HEALTHY;
        if (f->pretrained >= 0)
            snprintf(h->reason, sizeof h->reason, "the result flags %.4f of the held-out "
                     "images, the pre-trained network %.4f (ID rate %.4f, margin %.4f)",
                     f->result, f->pretrained, r, m);
        else
            snprintf(h->reason, sizeof h->reason, "the result flags %.4f of the held-out "
                     "images (ID rate %.4f, margin %.4f); the pre-trained network's share "
                     "is not known (a resumed run without its record)", f->result, r, m);
    }
}

int mcd_health_write(const char *path, const mcd_health *h, int pending)
{
    char tmp[4200];
    snprintf(tmp, sizeof tmp, "%s.tmp", path);
    FILE *f = fopen(tmp, "w");
    if (!f) {
        mcd_set_error("cannot write '%s': %s", tmp, strerror(errno));
        return -1;
    }
    const mcd_health_figures *g = &h->f;
    fprintf(f, "# darknet mcd train: the label-free health check (docs/commands.md)\n");
    fprintf(f, "verdict=%s\nreason=%s\nseed=%ld\nattempt=%d\n",
            pending ? "pending" : mcd_health_name(h->verdict), pending ? "" : h->reason,
            h->seed, h->attempt);
    fprintf(f, "id_rate=%.6f\nmargin=%.6f\nvalidation_images=%d\nheldout_images=%d\n",
            g->id_rate, h->margin, g->n_val, g->n_unl);
    fprintf(f, "pretrained_flagged=%.6f\ntop_flagged=%.6f\nchosen_flagged=%.6f\n"
               "result_flagged=%.6f\naveraged=%d\n",
            g->pretrained, g->top, g->chosen, g->result, g->averaged);
    int bad = ferror(f);
    if (fclose(f) != 0 || bad || rename(tmp, path) != 0) {
        mcd_set_error("cannot write '%s': %s", path, strerror(errno));
        remove(tmp);
        return -1;
    }
    return 0;
}

/* One "key=value" line of a record into h; 0 when the key is not known. */
static int read_key(mcd_health *h, const char *key, const char *value, int *pending)
{
    mcd_health_figures *g = &h->f;
    char *end;
    if (!strcmp(key, "verdict")) {
        *pending = !strcmp(value, "pending");
        for (int v = 0; v <= MCD_HEALTH_FAILED; ++v)
            if (!strcmp(value, names[v])) h->verdict = v;
        return *pending || !strcmp(value, mcd_health_name(h->verdict));
    }
    if (!strcmp(key, "reason")) {
        snprintf(h->reason, sizeof h->reason, "%s", value);
        return 1;
    }
    static const char *ints[] = {"seed", "attempt", "validation_images", "heldout_images",
                                 "averaged"};
    for (int k = 0; k < 5; ++k)
        if (!strcmp(key, ints[k])) {
            long v = strtol(value, &end, 10);
            if (end == value || *end) return 0;
            if (k == 0) h->seed = v;
            else if (k == 1) h->attempt = (int)v;
            else if (k == 2) g->n_val = (int)v;
            else if (k == 3) g->n_unl = (int)v;
            else g->averaged = (int)v;
            return 1;
        }
    static const char *reals[] = {"id_rate", "margin", "pretrained_flagged", "top_flagged",
                                  "chosen_flagged", "result_flagged"};
    double *dest[] = {&g->id_rate, &h->margin, &g->pretrained, &g->top, &g->chosen, &g->result};
    for (int k = 0; k < 6; ++k)
        if (!strcmp(key, reals[k])) {
            *dest[k] = strtod(value, &end);
            return end != value && !*end;
        }
    return 0;
}

int mcd_health_read(const char *path, mcd_health *h, int *pending)
{
    FILE *f = fopen(path, "r");
    if (!f) {
        if (errno == ENOENT) return 1;
        mcd_set_error("cannot read '%s': %s", path, strerror(errno));
        return -1;
    }
    memset(h, 0, sizeof *h);
    h->seed = -1;
    h->f.pretrained = h->f.top = h->f.chosen = h->f.result = -1;
    *pending = 0;
    char line[1024];
    int lineno = 0, rc = 0, have_verdict = 0;
    while (!rc && fgets(line, sizeof line, f)) {
        ++lineno;
        line[strcspn(line, "\r\n")] = 0;
        if (!line[0] || line[0] == '#') continue;
        char *eq = strchr(line, '=');
        if (eq) *eq = 0;
        if (!eq || !read_key(h, line, eq + 1, pending)) {
            mcd_set_error("%s:%d: not a health record line ('%s')", path, lineno, line);
            rc = -1;
        }
        have_verdict |= eq && !strcmp(line, "verdict");
    }
    fclose(f);
    if (!rc && !have_verdict) {
        mcd_set_error("%s: no verdict= line: not a health record", path);
        rc = -1;
    }
    return rc;
}

void mcd_health_path_of_weights(const char *weights, char *buf, size_t n)
{
    char stem[4096];
    snprintf(stem, sizeof stem, "%s", weights);
    size_t len = strlen(stem);
    if (len > 8 && !strcmp(stem + len - 8, ".weights")) stem[len -= 8] = 0;
    const char *slash = strrchr(stem, '/');
    size_t name_at = slash ? (size_t)(slash - stem) + 1 : 0;
    static const char *run_suffixes[] = {"_best", "_final", "_pretrain", "_average"};
    for (int i = 0; i < 4; ++i) {
        size_t k = strlen(run_suffixes[i]);
        if (len > name_at + k && !strcmp(stem + len - k, run_suffixes[i])) {
            stem[len - k] = 0;
            break;
        }
    }
    snprintf(buf, n, "%s.health", stem);
}
