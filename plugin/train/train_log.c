#include "train/train_log.h"

#include <errno.h>
#include <math.h>
#include <string.h>
#include <unistd.h>

#include "util/mcd_error.h"
#include "util/wall_clock.h"

/* A run killed while writing (SIGKILL, power loss) can leave a log's last line cut short:
 * drop it, so that the resumed run's lines follow whole ones. */
static void drop_partial_line(const char *path)
{
    FILE *f = fopen(path, "rb");
    if (!f) return;
    long keep = -1;
    if (fseek(f, 0, SEEK_END) == 0) {
        long size = ftell(f);
        for (long pos = size - 1; pos >= 0 && keep < 0; --pos)
            if (fseek(f, pos, SEEK_SET) == 0 && fgetc(f) == '\n') keep = pos + 1;
        if (keep < 0) keep = 0;
        if (keep == size) keep = -1; /* ends with a newline: whole */
    }
    fclose(f);
    if (keep >= 0 && truncate(path, keep) == 0)
        fprintf(stderr, "darknet: %s ended in a cut line (a run killed while writing); "
                        "dropped it\n", path);
}

static FILE *open_csv(const char *backup, const char *base, const char *suffix,
                      const char *header)
{
    char path[1400];
    snprintf(path, sizeof path, "%s/%s%s", backup, base, suffix);
    int exists = access(path, F_OK) == 0;
    if (exists) drop_partial_line(path);
    FILE *f = fopen(path, "a");
    if (!f) {
        mcd_set_error("cannot write log '%s': %s", path, strerror(errno));
        return NULL;
    }
    if (!exists) fprintf(f, "%s\n", header);
    return f;
}

int mcd_train_log_open(mcd_train_log *log, const char *backup, const char *base,
                       size_t pretrain_batches, size_t finetune_batches)
{
    memset(log, 0, sizeof *log);
    log->pretrain_batches = pretrain_batches;
    log->finetune_batches = finetune_batches;
    log->csv = open_csv(backup, base, "_train.csv",
                        "phase,batch,ce1,ce2,l_u,h1,h2,acc1,lr,images_per_s,d_u");
    log->select_csv = open_csv(backup, base, "_select.csv",
                               "iteration,id_val_acc,l1_threshold,heldout_flagged,saved");
    return log->csv && log->select_csv ? 0 : -1;
}

void mcd_train_log_close(mcd_train_log *log)
{
    if (log->csv) fclose(log->csv);
    if (log->select_csv) fclose(log->select_csv);
    log->csv = log->select_csv = NULL;
}

void mcd_train_log_start(mcd_train_log *log)
{
    log->interval_start = mcd_now_seconds();
}

static void add_pass(mcd_pass_sums *s, double a, double b, double c, double d)
{
    s->sum[0] += a;
    s->sum[1] += b;
    s->sum[2] += c;
    s->sum[3] += d;
    s->n++;
}

void mcd_train_log_labeled(mcd_train_log *log, double ce1, double ce2, double acc, int images)
{
    add_pass(&log->labeled, ce1, ce2, acc, 0);
    log->images += images;
}

void mcd_train_log_unlabeled(mcd_train_log *log, double lu, double h1, double h2, double d,
                             int images)
{
    add_pass(&log->unlabeled, lu, h1, h2, d);
    log->images += images;
}

void mcd_train_log_step(mcd_train_log *log)
{
    log->steps++;
}

static void format_eta(double s, char *buf, size_t n)
{
    if (s < 0 || !isfinite(s)) s = 0;
    int h = (int)(s / 3600), m = (int)(s / 60) % 60, sec = (int)s % 60;
    if (h) snprintf(buf, n, "%dh%02dm", h, m);
    else snprintf(buf, n, "%dm%02ds", m, sec);
}

/* Seconds to the end of the schedule from batch `cur`, at the speeds measured so far
 * (before the first fine-tuning line, an iteration counts as three pre-training steps). */
static double eta_seconds(const mcd_train_log *log, size_t cur)
{
    size_t P = log->pretrain_batches, F = log->finetune_batches;
    double ft_step = log->time_ft > 0 ? log->time_ft : 3 * log->time_pre;
    return (cur < P ? (P - cur) * log->time_pre : 0) + (cur < P ? F : P + F - cur) * ft_step;
}

/* The interval's mean of figure i, NaN without passes. */
static double mean_of(const mcd_pass_sums *s, int i)
{
    return s->n ? s->sum[i] / s->n : NAN;
}

void mcd_train_log_progress(mcd_train_log *log, int finetune, size_t step, float lr)
{
    double now = mcd_now_seconds();
    double dt = now - log->interval_start;
    double per_step = log->steps ? dt / log->steps : 0;
    if (finetune) log->time_ft = per_step;
    else log->time_pre = per_step;
    size_t total = finetune ? log->finetune_batches : log->pretrain_batches;
    char etas[32];
    format_eta(eta_seconds(log, finetune ? log->pretrain_batches + step : step), etas,
               sizeof etas);
    double ce1 = mean_of(&log->labeled, 0), ce2 = mean_of(&log->labeled, 1);
    double acc = mean_of(&log->labeled, 2), lu = mean_of(&log->unlabeled, 0);
    double h1 = mean_of(&log->unlabeled, 1), h2 = mean_of(&log->unlabeled, 2);
    double du = mean_of(&log->unlabeled, 3);
    double ips = dt > 0 ? log->images / dt : 0;
    if (finetune)
        printf("finetune %6zu/%zu  ce1 %.4f ce2 %.4f  L_u %.4f  H1 %.3f H2 %.3f  D %.3f"
               "  acc1 %.3f  lr %g  %.0f img/s  ETA %s\n", step, total, ce1, ce2, lu, h1, h2, du,
               acc, lr, ips, etas);
    else
        printf("pretrain %6zu/%zu  ce1 %.4f ce2 %.4f  acc1 %.3f  lr %g  %.0f img/s  ETA %s\n",
               step, total, ce1, ce2, acc, lr, ips, etas);
    fflush(stdout);
    fprintf(log->csv, "%s,%zu,%.6f,%.6f,%.6f,%.6f,%.6f,%.6f,%g,%.1f,%.6f\n",
            finetune ? "finetune" : "pretrain", step, ce1, ce2, lu, h1, h2, acc, lr, ips, du);
    fflush(log->csv);
    memset(&log->labeled, 0, sizeof log->labeled);
    memset(&log->unlabeled, 0, sizeof log->unlabeled);
    log->steps = 0;
    log->images = 0;
    log->interval_start = now;
}

void mcd_train_log_select(mcd_train_log *log, const char *iteration, double acc,
                          double threshold, double flagged, int saved)
{
    fprintf(log->select_csv, "%s,%.6f,%.6f,%.6f,%d\n", iteration, acc, threshold, flagged,
            saved);
    fflush(log->select_csv);
}
