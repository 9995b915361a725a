/* Per-image scores (plugin/ood/ood_scores.c) and the `mcd valid` / `mcd calibrate` commands, on a
 * tiny MCD network with random weights and a few synthetic PNGs written to /tmp: batching,
 * the score formulas, the CSV, the threshold file, the figures, and the errors. The metric
 * values themselves are checked against scikit-learn in test_metrics.c. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "backend/onednn_runtime.h"
#include "darknet.h"
#include "util/mcd_error.h"
#include "network/mcd_network.h"
#include "ood/ood_metrics.h"
#include "ood/ood_scores.h"
#include "test_util.h"
#include "ood/threshold_file.h"
#include "network/weights_file.h"

/* batch 4: 6 ID test images make one full and one shorter batch */
static const char *tiny_cfg =
    "[net]\nbatch=4\nheight=8\nwidth=8\nchannels=1\n"
    "[convolutional]\nfilters=4\nsize=3\npad=1\nactivation=leaky\n[avgpool]\n"
    "[mcd_split]\n[connected]\noutput=3\nactivation=linear\n[softmax]\n"
    "[mcd_discrepancy]\n[mcd_l1]\n";
static const char *labels[] = {"alpha", "bravo", "charlie"};

enum { N_ID = 6, N_VALID = 5, N_OOD_A = 3, N_OOD_B = 2 };

static struct {
    int ready;
    char dir[64];
    char cfg[128], weights[128], data[128];
    char id_list[128], valid_list[128], ood_a[128], ood_b[128];
} fx;

static void write_file(const char *path, const char *text)
{
    FILE *f = fopen(path, "w");
    if (f) {
        fputs(text, f);
        fclose(f);
    }
}

/* n PNGs dir/img/PREFIXi_LABEL.png (labels cycling), listed in list. */
static void write_images(const char *list, const char *prefix, int n, int noise)
{
    FILE *f = fopen(list, "w");
    for (int i = 0; i < n; ++i) {
        image im = make_image(8, 8, 1);
        for (int j = 0; j < 64; ++j)
            im.data[j] = noise ? (float)rand() / RAND_MAX : (float)((j + i) % 8) / 8.0f;
        char name[256];
        snprintf(name, sizeof name, "%s/img/%s%d_%s", fx.dir, prefix, i, labels[i % 3]);
        save_image_options(im, name, PNG, 0);
        fprintf(f, "%s.png\n", name);
        free_image(im);
    }
    fclose(f);
}

static int setup(void)
{
    if (fx.ready) return 0;
    strcpy(fx.dir, "/tmp/mcd-eval-XXXXXX");
    if (!mkdtemp(fx.dir)) return -1;
    char path[256];
    snprintf(path, sizeof path, "%s/img", fx.dir);
    mkdir(path, 0777);
    snprintf(fx.cfg, sizeof fx.cfg, "%s/tiny.cfg", fx.dir);
    write_file(fx.cfg, tiny_cfg);
    network *net = mcd_parse_network_cfg(fx.cfg);
    if (!net) return -1;
    snprintf(fx.weights, sizeof fx.weights, "%s/tiny.weights", fx.dir);
    int rc = mcd_save_weights(net, fx.weights);
    free_network(net);
    if (rc) return -1;
    srand(11);
    snprintf(fx.id_list, sizeof fx.id_list, "%s/id-test.list", fx.dir);
    snprintf(fx.valid_list, sizeof fx.valid_list, "%s/id-valid.list", fx.dir);
    snprintf(fx.ood_a, sizeof fx.ood_a, "%s/ood-a.list", fx.dir);
    snprintf(fx.ood_b, sizeof fx.ood_b, "%s/ood-b.list", fx.dir);
    write_images(fx.id_list, "test", N_ID, 0);
    write_images(fx.valid_list, "valid", N_VALID, 0);
    write_images(fx.ood_a, "oa", N_OOD_A, 1);
    write_images(fx.ood_b, "ob", N_OOD_B, 1);
    snprintf(path, sizeof path, "%s/labels.list", fx.dir);
    write_file(path, "alpha\nbravo\ncharlie\n");
    char text[2048];
    snprintf(text, sizeof text,
             "classes=3\nvalid=%s\nlabels=%s/labels.list\nid_test=%s\nood=%s, %s\n"
             "transductive_id=%s\ntransductive_ood=%s\n",
             fx.valid_list, fx.dir, fx.id_list, fx.ood_a, fx.ood_b, fx.valid_list, fx.ood_a);
    snprintf(fx.data, sizeof fx.data, "%s/tiny.data", fx.dir);
    write_file(fx.data, text);
    fx.ready = 1;
    return 0;
}

static char **read_list(const char *path, int *n)
{
    static char buf[64][256];
    static char *items[64];
    FILE *f = fopen(path, "r");
    *n = 0;
    while (f && *n < 64 && fgets(buf[*n], sizeof buf[*n], f)) {
        buf[*n][strcspn(buf[*n], "\n")] = 0;
        items[*n] = buf[*n];
        ++*n;
    }
    if (f) fclose(f);
    return items;
}

/* ---- the score API --------------------------------------------------------------------- */

static void test_score_formulas(void)
{
    enum { K = 4 };
    float p1[K] = {0.25f, 0.25f, 0.25f, 0.25f}, p2[K] = {0, 0, 1, 0};
    float z1[K] = {0, 0, 0, 0}, z2[K] = {0, 0, 9, 0};
    ood_image_scores s;
    ood_scores_compute(p1, p2, z1, z2, K, 1.5f, &s);
    CU_ASSERT_EQUAL(s.raw[OOD_MCD_L1], 1.5);
    CU_ASSERT(test_close(s.raw[OOD_ENTROPY_GAP], log(4.0), 1e-7, 0));
    CU_ASSERT(test_close(s.raw[OOD_MSP1], 0.25, 1e-7, 0));
    CU_ASSERT(test_close(s.raw[OOD_MSP_AVG], 0.625, 1e-7, 0));
    CU_ASSERT(test_close(s.raw[OOD_MAX_LOGIT1], 0, 1e-12, 0));
    CU_ASSERT(test_close(s.raw[OOD_ENERGY1], -log(4.0), 1e-12, 0));
    double pa[K] = {0.125, 0.125, 0.625, 0.125}, h = 0;
    for (int k = 0; k < K; ++k) h -= pa[k] * log(pa[k]);
    CU_ASSERT(test_close(s.raw[OOD_ENTROPY_AVG], h, 1e-7, 0));
    CU_ASSERT_EQUAL(s.pred1, 0); /* a tie: the lowest index */
    CU_ASSERT_EQUAL(s.pred2, 2);
    CU_ASSERT_EQUAL(s.pred_avg, 2);
    /* energy and max logit of large logits: no overflow */
    float big[K] = {1000, 999, 0, -1000};
    ood_scores_compute(p2, p2, big, big, K, 0, &s);
    CU_ASSERT(test_close(s.raw[OOD_MAX_LOGIT1], 1000, 1e-9, 0));
    CU_ASSERT(test_close(s.raw[OOD_ENERGY1], -(1000 + log(1 + exp(-1.0))), 1e-9, 0));
    CU_ASSERT(isfinite(s.raw[OOD_ENTROPY_GAP]));
    /* orientation: the scores where high means ID are negated */
    CU_ASSERT_EQUAL(ood_score_oodness(OOD_MCD_L1, 0.5), 0.5);
    CU_ASSERT_EQUAL(ood_score_oodness(OOD_ENTROPY_GAP, 0.5), 0.5);
    CU_ASSERT_EQUAL(ood_score_oodness(OOD_MSP1, 0.5), -0.5);
    CU_ASSERT_EQUAL(ood_score_oodness(OOD_MSP_AVG, 0.5), -0.5);
    CU_ASSERT_EQUAL(ood_score_oodness(OOD_MAX_LOGIT1, 0.5), -0.5);
    CU_ASSERT_EQUAL(ood_score_oodness(OOD_ENERGY1, 0.5), 0.5);
    CU_ASSERT_EQUAL(ood_score_oodness(OOD_ENTROPY_AVG, 0.5), 0.5);
    for (int k = 0; k < OOD_NSCORES; ++k) CU_ASSERT(strcmp(ood_score_name(k), "?") != 0);
}

/* Batched scoring = one image at a time; the tail batch shrinks and the batch comes back. */
static void test_batched_scoring(void)
{
    CU_ASSERT_EQUAL_FATAL(setup(), 0);
    mcd_layout m;
    network *net = ood_load_network(fx.cfg, fx.weights, &m);
    CU_ASSERT_PTR_NOT_NULL_FATAL(net);
    CU_ASSERT_EQUAL(net->batch, 4);
    int n;
    char **paths = read_list(fx.id_list, &n);
    CU_ASSERT_EQUAL_FATAL(n, N_ID);
    ood_image_scores batched[N_ID], single[N_ID];
    CU_ASSERT_EQUAL_FATAL(ood_score_images(net, &m, paths, n, fx.id_list, NULL, batched), 0);
    CU_ASSERT_EQUAL(net->batch, 4);
    CU_ASSERT_EQUAL(net->layers[m.l1].batch, 4);
    for (int i = 0; i < n; ++i)
        CU_ASSERT_EQUAL_FATAL(ood_score_images(net, &m, paths + i, 1, NULL, NULL, &single[i]), 0);
    int distinct = 0;
    for (int i = 0; i < n; ++i) {
        for (int k = 0; k < OOD_NSCORES; ++k)
            CU_ASSERT(test_close(batched[i].raw[k], single[i].raw[k], 1e-5, 1e-5));
        CU_ASSERT_EQUAL(batched[i].pred1, single[i].pred1);
        CU_ASSERT_EQUAL(batched[i].pred2, single[i].pred2);
        CU_ASSERT_EQUAL(batched[i].pred_avg, single[i].pred_avg);
        CU_ASSERT(batched[i].raw[OOD_MCD_L1] >= 0 && batched[i].raw[OOD_MCD_L1] <= 2);
        distinct += i && batched[i].raw[OOD_MCD_L1] != batched[0].raw[OOD_MCD_L1];
    }
    CU_ASSERT(distinct > 0); /* different images, different scores */
    /* a file that is not an image: an error naming it and its list, no crash */
    char bad[256];
    snprintf(bad, sizeof bad, "%s/not-an-image.png", fx.dir);
    write_file(bad, "plain text\n");
    char *mixed[] = {paths[0], paths[1], paths[2], paths[3], paths[4], bad};
    CU_ASSERT_EQUAL(ood_score_images(net, &m, mixed, 6, "my.list", NULL, batched), -1);
    CU_ASSERT(strstr(mcd_last_error(), bad) != NULL);
    CU_ASSERT(strstr(mcd_last_error(), "my.list") != NULL);
    CU_ASSERT_EQUAL(net->batch, 4);
    free_network(net);
}

/* A pass the backend could not complete (recorded as the backend records one): scoring
 * stops with -1 and the backend's message, the batch size restored. */
static void test_failed_pass(void)
{
    CU_ASSERT_EQUAL_FATAL(setup(), 0);
    mcd_layout m;
    network *net = ood_load_network(fx.cfg, fx.weights, &m);
    CU_ASSERT_PTR_NOT_NULL_FATAL(net);
    int n;
    char **paths = read_list(fx.id_list, &n);
    ood_image_scores scores[N_ID];
    onednn_fail("a test's backend failure");
    CU_ASSERT_EQUAL(ood_score_images(net, &m, paths + 1, n - 1, fx.id_list, NULL, scores), -1);
    CU_ASSERT_STRING_EQUAL(mcd_last_error(), "a test's backend failure");
    CU_ASSERT_EQUAL(net->batch, 4);
    CU_ASSERT_EQUAL(ood_score_images(net, &m, paths, n, fx.id_list, NULL, scores), 0);
    free_network(net);
}

/* A threshold read back from its file decides as the float score it was taken from. */
static void test_threshold_round_trip(void)
{
    CU_ASSERT_EQUAL_FATAL(setup(), 0);
    char path[256];
    snprintf(path, sizeof path, "%s/rt.threshold", fx.dir);
    srand(3);
    for (int i = 0; i < 200; ++i) {
        float score = 2.0f * rand() / RAND_MAX;
        mcd_threshold t = {.threshold = score, .tpr = 0.95, .id_images = 1}, back;
        CU_ASSERT_EQUAL_FATAL(mcd_threshold_save(path, &t), 0);
        CU_ASSERT_EQUAL_FATAL(mcd_threshold_load(path, &back), 0);
        CU_ASSERT_FALSE(ood_is_ood(score, back.threshold));
        CU_ASSERT_TRUE(ood_is_ood(nextafterf(score, 3.0f), back.threshold));
    }
}

/* ---- the commands ------------------------------------------------------------------------ */

static int run(const char *args, char *out, size_t cap)
{
    char cmd[4096];
    snprintf(cmd, sizeof cmd, "%s mcd %s", test_darknet_bin(), args);
    int rc = test_run_command(cmd, out, cap);
    return rc;
}

/* Rows of a CSV (header excluded); with set, only those whose second field is set. */
static int csv_rows(const char *path, const char *set, char *header, size_t cap)
{
    FILE *f = fopen(path, "r");
    if (!f) return -1;
    char line[4096];
    int rows = 0;
    if (!fgets(line, sizeof line, f)) {
        fclose(f);
        return -1;
    }
    if (header) snprintf(header, cap, "%.*s", (int)cap - 1, line);
    while (fgets(line, sizeof line, f)) {
        char *c1 = strchr(line, ',');
        if (!c1) continue;
        char *c2 = strchr(c1 + 1, ',');
        if (!set || (c2 && (size_t)(c2 - c1 - 1) == strlen(set) && !strncmp(c1 + 1, set, strlen(set))))
            ++rows;
    }
    fclose(f);
    return rows;
}

/* Column col (0-based) of the rows whose set and role match, as doubles. */
static int csv_column(const char *path, const char *set, const char *role, int col, double *out)
{
    FILE *f = fopen(path, "r");
    if (!f) return -1;
    char line[4096];
    int n = 0;
    if (!fgets(line, sizeof line, f)) n = -1;
    while (n >= 0 && fgets(line, sizeof line, f)) {
        char *fields[32], *rest = line;
        int nf = 0;
        line[strcspn(line, "\n")] = 0;
        while (rest && nf < 32) fields[nf++] = strsep(&rest, ","); /* keeps empty fields */
        if (nf > col && !strcmp(fields[1], set) && !strcmp(fields[2], role)) out[n++] = atof(fields[col]);
    }
    fclose(f);
    return n;
}

static void test_valid_command(void)
{
    CU_ASSERT_EQUAL_FATAL(setup(), 0);
    static char out[65536];
    char args[2048], csv[256];
    snprintf(csv, sizeof csv, "%s/scores.csv", fx.dir);
    snprintf(args, sizeof args, "valid %s %s -data %s -csv %s", fx.cfg, fx.weights, fx.data, csv);
    int rc = run(args, out, sizeof out);
    if (rc != 0) printf("\n%s\n", out);
    CU_ASSERT_EQUAL_FATAL(rc, 0);
    CU_ASSERT(strstr(out, "AUROC") != NULL);
    CU_ASSERT(strstr(out, "FPR95 ID+") != NULL);
    CU_ASSERT(strstr(out, "accuracy: head 1 ") != NULL);
    for (int k = 0; k < OOD_NSCORES; ++k) CU_ASSERT(strstr(out, ood_score_title(k)) != NULL);
    CU_ASSERT(strstr(out, "ood-a") != NULL && strstr(out, "ood-b") != NULL);
    char header[1024];
    CU_ASSERT_EQUAL(csv_rows(csv, NULL, header, sizeof header), N_ID + N_OOD_A + N_OOD_B);
    CU_ASSERT_EQUAL(csv_rows(csv, "id-test", NULL, 0), N_ID);
    CU_ASSERT_EQUAL(csv_rows(csv, "ood-a", NULL, 0), N_OOD_A);
    CU_ASSERT_EQUAL(csv_rows(csv, "ood-b", NULL, 0), N_OOD_B);
    CU_ASSERT(strncmp(header, "path,set,role,label,pred_avg,pred1,pred2,mcd_l1,", 48) == 0);
    for (int k = 0; k < OOD_NSCORES; ++k) CU_ASSERT(strstr(header, ood_score_name(k)) != NULL);
    /* labels come from the names: image i of the ID list is labels[i % 3] */
    double lab[N_ID];
    CU_ASSERT_EQUAL_FATAL(csv_column(csv, "id-test", "id", 3, lab), N_ID);
    for (int i = 0; i < N_ID; ++i) CU_ASSERT_EQUAL((int)lab[i], i % 3);

    /* the table agrees with the metrics of the CSV's scores, in each score's orientation */
    for (int k = 0; k < OOD_NSCORES; ++k) {
        double id[N_ID], ood[N_OOD_A];
        CU_ASSERT_EQUAL_FATAL(csv_column(csv, "id-test", "id", 7 + k, id), N_ID);
        CU_ASSERT_EQUAL_FATAL(csv_column(csv, "ood-a", "ood", 7 + k, ood), N_OOD_A);
        for (int i = 0; i < N_ID; ++i) id[i] = ood_score_oodness(k, id[i]);
        for (int i = 0; i < N_OOD_A; ++i) ood[i] = ood_score_oodness(k, ood[i]);
        ood_metrics m;
        CU_ASSERT_EQUAL_FATAL(ood_compute_metrics(id, N_ID, ood, N_OOD_A, &m), 0);
        /* the first row of this score in the table (after the percentile rows, which
         * name MCD L1 too) is ood-a's */
        const char *table = strstr(out, "\ninductive: ");
        CU_ASSERT_PTR_NOT_NULL_FATAL(table);
        const char *row = strstr(table, ood_score_title(k));
        while (row && row[strlen(ood_score_title(k))] != ' ') row = strstr(row + 1, ood_score_title(k));
        CU_ASSERT_PTR_NOT_NULL_FATAL(row);
        double v[6];
        int got = sscanf(row + strlen(ood_score_title(k)), "%lf %lf %lf %lf %lf %lf", &v[0], &v[1],
                         &v[2], &v[3], &v[4], &v[5]);
        CU_ASSERT_EQUAL_FATAL(got, 6);
        const double want[6] = {m.auroc, m.aupr_in, m.aupr_out, m.fpr95_id, m.fpr95_ood,
                                m.detection_error};
        for (int j = 0; j < 6; ++j) {
            /* printed to 0.01% */
            int ok = fabs(v[j] - 100 * want[j]) <= 0.0051;
            if (!ok) printf("\n%s column %d: table %.2f, from CSV %.4f\n", ood_score_title(k), j,
                            v[j], 100 * want[j]);
            CU_ASSERT(ok);
        }
    }

    /* -ood replaces the .data file's OOD lists; -transductive adds the second protocol */
    snprintf(args, sizeof args, "valid %s %s -data %s -csv %s -ood %s -transductive", fx.cfg,
             fx.weights, fx.data, csv, fx.ood_b);
    rc = run(args, out, sizeof out);
    if (rc != 0) printf("\n%s\n", out);
    CU_ASSERT_EQUAL(rc, 0);
    CU_ASSERT(strstr(out, "inductive: ID set id-test") != NULL);
    CU_ASSERT(strstr(out, "transductive: ID set id-valid") != NULL);
    CU_ASSERT_EQUAL(csv_rows(csv, NULL, NULL, 0), N_ID + N_OOD_B + N_VALID + N_OOD_A);
    CU_ASSERT_EQUAL(csv_rows(csv, "ood-a", NULL, 0), N_OOD_A);
}

static void test_calibrate_command(void)
{
    CU_ASSERT_EQUAL_FATAL(setup(), 0);
    static char out[65536];
    char args[2048], tpath[256], csv[256];
    snprintf(tpath, sizeof tpath, "%s.threshold", fx.weights);
    unlink(tpath);
    snprintf(args, sizeof args, "calibrate %s %s -data %s -tpr 0.6", fx.cfg, fx.weights, fx.data);
    int rc = run(args, out, sizeof out);
    if (rc != 0) printf("\n%s\n", out);
    CU_ASSERT_EQUAL_FATAL(rc, 0);
    CU_ASSERT(strstr(out, tpath) != NULL);
    mcd_threshold t;
    CU_ASSERT_EQUAL_FATAL(mcd_threshold_load(tpath, &t), 0);
    CU_ASSERT_EQUAL(t.id_images, N_VALID);
    CU_ASSERT(test_close(t.tpr, 0.6, 1e-12, 0));
    CU_ASSERT_STRING_EQUAL(t.id_list, fx.valid_list);

    /* the rule, on the validation images' scores as `valid` reports them: the smallest
     * score that keeps at least 60% (3 of 5) */
    snprintf(csv, sizeof csv, "%s/valid-scores.csv", fx.dir);
    snprintf(args, sizeof args, "valid %s %s -data %s -csv %s -ood %s", fx.cfg, fx.weights,
             fx.data, csv, fx.valid_list);
    rc = run(args, out, sizeof out);
    CU_ASSERT_EQUAL_FATAL(rc, 0);
    double l1[N_VALID];
    CU_ASSERT_EQUAL_FATAL(csv_column(csv, "id-valid", "ood", 7, l1), N_VALID);
    int kept = 0, below = 0, equal = 0;
    for (int i = 0; i < N_VALID; ++i) {
        kept += !ood_is_ood(l1[i], t.threshold);
        below += (float)l1[i] < (float)t.threshold;
        equal += (float)l1[i] == (float)t.threshold;
    }
    CU_ASSERT(equal >= 1);
    CU_ASSERT((double)kept / N_VALID >= 0.6);
    CU_ASSERT((double)below / N_VALID < 0.6);
    /* valid reports the calibrated threshold's keep and catch rates */
    CU_ASSERT(strstr(out, "Calibrated threshold") != NULL);
    CU_ASSERT(strstr(out, "kept as ID") != NULL);
    CU_ASSERT(strstr(out, "flagged as OOD") != NULL);
}

static int is_png(const char *path)
{
    unsigned char sig[8] = {0};
    FILE *f = fopen(path, "rb");
    if (!f) return 0;
    size_t n = fread(sig, 1, 8, f);
    fclose(f);
    return n == 8 && !memcmp(sig, "\x89PNG\r\n\x1a\n", 8);
}

/* tiny_cfg with data=DATA in its [net] section, written to dir/NAME. */
static void write_cfg_with_data(const char *path, const char *data)
{
    char text[2048];
    snprintf(text, sizeof text, "[net]\ndata=%s\n%s", data, tiny_cfg + strlen("[net]\n"));
    write_file(path, text);
}

static void test_data_from_cfg(void)
{
    /* without -data, every verb reads the cfg's data= (not cfg/fmnist.data, whose 10
     * classes and missing lists would make each of these fail) */
    CU_ASSERT_EQUAL_FATAL(setup(), 0);
    static char out[65536];
    char cfg[256], args[2048], tpath[256], backup[256], data[256], text[2048];
    snprintf(cfg, sizeof cfg, "%s/with-data.cfg", fx.dir);
    write_cfg_with_data(cfg, fx.data);
    snprintf(args, sizeof args, "valid %s %s", cfg, fx.weights);
    CU_ASSERT_EQUAL(run(args, out, sizeof out), 0);
    CU_ASSERT(strstr(out, "ood-a") != NULL && strstr(out, "accuracy: head 1 ") != NULL);
    snprintf(tpath, sizeof tpath, "%s.threshold", fx.weights);
    unlink(tpath);
    snprintf(args, sizeof args, "calibrate %s %s", cfg, fx.weights);
    CU_ASSERT_EQUAL(run(args, out, sizeof out), 0);
    mcd_threshold t;
    CU_ASSERT_EQUAL_FATAL(mcd_threshold_load(tpath, &t), 0);
    CU_ASSERT_STRING_EQUAL(t.id_list, fx.valid_list);
    CU_ASSERT_EQUAL(t.id_images, N_VALID);
    unlink(tpath);
    /* detect: the class names come from that data set's labels= */
    snprintf(args, sizeof args, "detect %s %s -thresh 1 -json -list %s", cfg, fx.weights,
             fx.id_list);
    CU_ASSERT_EQUAL(run(args, out, sizeof out), 0);
    CU_ASSERT(strstr(out, "\"class\":\"alpha\"") || strstr(out, "\"class\":\"bravo\"") ||
              strstr(out, "\"class\":\"charlie\""));
    CU_ASSERT(strstr(out, "note: ") == NULL);
    /* train: its backup= directory is the one of the cfg's data set */
    snprintf(backup, sizeof backup, "%s/from-data", fx.dir);
    snprintf(data, sizeof data, "%s/train.data", fx.dir);
    snprintf(text, sizeof text, "classes=3\ntrain=%s\nvalid=%s\nlabels=%s/labels.list\nbackup=%s\n",
             fx.id_list, fx.valid_list, fx.dir, backup);
    write_file(data, text);
    snprintf(cfg, sizeof cfg, "%s/train-data.cfg", fx.dir);
    write_cfg_with_data(cfg, data);
    snprintf(args, sizeof args, "train %s -pretrain_batches 2 -finetune_batches 0 -seed 1", cfg);
    int rc = run(args, out, sizeof out);
    if (rc) printf("\n%s\n", out);
    CU_ASSERT_EQUAL(rc, 0);
    snprintf(text, sizeof text, "%s/train-data.weights", backup);
    CU_ASSERT_EQUAL(access(text, F_OK), 0);
    /* -data wins over data= */
    snprintf(args, sizeof args, "valid %s %s -data %s/none.data", cfg, fx.weights, fx.dir);
    CU_ASSERT_EQUAL(run(args, out, sizeof out), 1);
    CU_ASSERT(strstr(out, "none.data") != NULL);
}

static void test_valid_plots(void)
{
    CU_ASSERT_EQUAL_FATAL(setup(), 0);
    static char out[65536];
    char args[2048], dir[256], png[512];
    snprintf(dir, sizeof dir, "%s/plots", fx.dir);
    if (access("/usr/bin/gnuplot", X_OK) == 0) {
        snprintf(args, sizeof args, "valid %s %s -data %s -plot %s", fx.cfg, fx.weights, fx.data, dir);
        int rc = run(args, out, sizeof out);
        if (rc != 0) printf("\n%s\n", out);
        CU_ASSERT_EQUAL(rc, 0);
        const char *figs[] = {"hist-id-test-vs-ood-a", "roc-id-test-vs-ood-a",
                              "hist-id-test-vs-ood-b", "roc-id-test-vs-ood-b"};
        for (int i = 0; i < 4; ++i) {
            snprintf(png, sizeof png, "%s/%s.png", dir, figs[i]);
            if (!is_png(png)) printf("\nno figure %s\n", png);
            CU_ASSERT(is_png(png));
        }
    } else {
        printf("\n(gnuplot is not installed: only its absence is tested)\n");
    }
    /* without gnuplot: a clear error before any work */
    char cmd[4096];
    snprintf(cmd, sizeof cmd, "PATH=/nonexistent %s mcd valid %s %s -data %s -plot %s",
             test_darknet_bin(), fx.cfg, fx.weights, fx.data, dir);
    CU_ASSERT_EQUAL(test_run_command(cmd, out, sizeof out), 1);
    CU_ASSERT(strstr(out, "gnuplot") != NULL);
}

/* fmt with {cfg}, {weights}, {data}, {dir} replaced by the fixture's paths. */
static void expand(char *out, size_t cap, const char *fmt)
{
    const struct { const char *key, *value; } subs[] = {
        {"{cfg}", fx.cfg}, {"{weights}", fx.weights}, {"{data}", fx.data}, {"{dir}", fx.dir}};
    size_t n = 0;
    while (*fmt && n + 1 < cap) {
        int done = 0;
        for (size_t i = 0; i < sizeof subs / sizeof subs[0] && !done; ++i)
            if (!strncmp(fmt, subs[i].key, strlen(subs[i].key))) {
                n += snprintf(out + n, cap - n, "%s", subs[i].value);
                fmt += strlen(subs[i].key);
                done = 1;
            }
        if (!done) out[n++] = *fmt++;
        if (n >= cap) n = cap - 1;
    }
    out[n] = 0;
}

/* Bad input: exit 1 and a message naming what is wrong. */
static void test_errors(void)
{
    CU_ASSERT_EQUAL_FATAL(setup(), 0);
    static char out[65536];
    char nodata[256], nomcd[256], badlist[256], baddata[256];
    snprintf(nodata, sizeof nodata, "%s/no-id-test.data", fx.dir);
    write_file(nodata, "classes=3\nood=/x.list\n");
    snprintf(nomcd, sizeof nomcd, "%s/plain.cfg", fx.dir);
    write_file(nomcd, "[net]\nbatch=1\nheight=8\nwidth=8\nchannels=1\n"
                      "[connected]\noutput=3\n[softmax]\n");
    snprintf(badlist, sizeof badlist, "%s/bad.list", fx.dir);
    char text[512];
    snprintf(text, sizeof text, "%s/not-an-image.png\n", fx.dir);
    write_file(badlist, text);
    snprintf(text, sizeof text, "%s/not-an-image.png", fx.dir);
    write_file(text, "plain text\n");
    snprintf(baddata, sizeof baddata, "%s/wrong-classes.data", fx.dir);
    snprintf(text, sizeof text, "classes=7\nid_test=%s\nood=%s\nvalid=%s\n", fx.id_list,
             fx.ood_a, fx.valid_list);
    write_file(baddata, text);

    const struct {
        const char *fmt; /* with {cfg}, {weights}, {data}, {dir} */
        const char *want[2];
    } cases[] = {
        {"valid {cfg} {weights} -data {data} -ood {dir}/missing.list", {"missing.list", NULL}},
        {"valid {cfg} {dir}/missing.weights -data {data}", {"missing.weights", NULL}},
        {"calibrate {cfg} {dir}/missing.weights -data {data}", {"missing.weights", NULL}},
        {"calibrate {cfg} {weights} -data {data} -tpr 1.5", {"-tpr", "1.5"}},
        {"calibrate {cfg} {weights} -data {data} -tpr abc", {"-tpr", "abc"}},
        {"calibrate {cfg} {weights} -data {data} -tpr 0", {"-tpr", "(0, 1]"}},
        {"calibrate {cfg} {weights} -data {data} -tpr", {"-tpr", "needs a value"}},
        {"valid {cfg} {weights} -data {dir}/missing.data", {"missing.data", NULL}},
        {"calibrate {cfg} {weights} -data {dir}/missing.data", {"missing.data", NULL}},
        {"valid {cfg} {weights} -data {dir}/no-id-test.data", {"no-id-test.data", "id_test"}},
        {"calibrate {cfg} {weights} -data {dir}/no-id-test.data", {"no-id-test.data", "valid"}},
        {"valid {dir}/plain.cfg {weights} -data {data}", {"plain.cfg", "not an MCD network"}},
        {"calibrate {dir}/plain.cfg {weights} -data {data}", {"plain.cfg", "not an MCD network"}},
        {"valid {cfg} {weights} -data {data} -ood {dir}/bad.list", {"bad.list", "not-an-image.png"}},
        {"valid {cfg} {weights} -data {dir}/wrong-classes.data", {"classes=7", "3 classes"}},
        {"valid {cfg} {weights} -data {data} -bogus", {"unknown option", "-bogus"}},
        {"valid {cfg} {weights} -data {data} -csv /nonexistent/dir/x.csv", {"-csv", "/nonexistent/dir"}},
        {"valid {cfg}", {"usage", NULL}},
        {"calibrate", {"usage", NULL}},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; ++i) {
        char args[2048];
        expand(args, sizeof args, cases[i].fmt);
        int rc = run(args, out, sizeof out);
        int ok = rc == 1;
        for (int j = 0; j < 2 && cases[i].want[j]; ++j) ok &= strstr(out, cases[i].want[j]) != NULL;
        if (!ok) printf("\n'%s': exit %d\n%s\n", args, rc, out);
        CU_ASSERT(ok);
    }
    /* -h: help on stdout, exit 0 */
    CU_ASSERT_EQUAL(run("valid -h", out, sizeof out), 0);
    CU_ASSERT(strstr(out, "-transductive") != NULL);
    CU_ASSERT_EQUAL(run("calibrate -h", out, sizeof out), 0);
    CU_ASSERT(strstr(out, "-tpr") != NULL);
}

/* The suite's files go when it ends (the directory is mkdtemp's: no quoting needed). */
static int cleanup(void)
{
    if (fx.ready) {
        char cmd[128];
        snprintf(cmd, sizeof cmd, "rm -rf '%s'", fx.dir);
        if (system(cmd) != 0) return 1;
        fx.ready = 0;
    }
    return 0;
}

int add_eval_commands_suite(void)
{
    CU_pSuite s = CU_add_suite("eval commands", NULL, cleanup);
    if (!s) return -1;
    return !CU_add_test(s, "score formulas and orientation", test_score_formulas) ||
           !CU_add_test(s, "batched scoring = one image at a time", test_batched_scoring) ||
           !CU_add_test(s, "a pass the backend could not complete: -1", test_failed_pass) ||
           !CU_add_test(s, "threshold file round trip decides as the float score", test_threshold_round_trip) ||
           !CU_add_test(s, "mcd valid: table, CSV, -ood, -transductive", test_valid_command) ||
           !CU_add_test(s, "mcd calibrate: threshold file and its rule", test_calibrate_command) ||
           !CU_add_test(s, "every verb reads the cfg's data= unless -data is given",
                         test_data_from_cfg) ||
           !CU_add_test(s, "mcd valid -plot: PNGs; clear error without gnuplot", test_valid_plots) ||
           !CU_add_test(s, "bad input: exit 1, message names it", test_errors);
}
