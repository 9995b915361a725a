/* The label-free health check's rule, record and path (plugin/train/training_health.c):
 * each verdict from figures made to sit on either side of its boundaries, the margin's
 * formula, a record written and read back, and the record's name from a weights file's. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "test_util.h"
#include "train/training_health.h"
#include "util/mcd_error.h"

/* The default figures: select_tpr 0.95, 2000 validation and 1000 held-out images, a
 * weight average. Margin: 4 sqrt(0.05 * 0.95 * (1/1000 + 1/2000)) = 0.03376. */
static mcd_health_figures figures(double pretrained, double top, double chosen, double result)
{
    return (mcd_health_figures){.id_rate = 0.05, .n_val = 2000, .n_unl = 1000,
                                .pretrained = pretrained, .top = top, .chosen = chosen,
                                .result = result, .averaged = 1};
}

static mcd_health_verdict judge(mcd_health_figures f)
{
    mcd_health h;
    memset(&h, 0, sizeof h);
    mcd_health_judge(&f, &h);
    CU_ASSERT(h.reason[0] != 0);
    return h.verdict;
}

static void test_margin(void)
{
    mcd_health_figures f = figures(0.05, 0.5, 0.5, 0.5);
    double want = 4 * sqrt(0.05 * 0.95 * (1.0 / 1000 + 1.0 / 2000));
    CU_ASSERT(fabs(mcd_health_margin(&f) - want) < 1e-15);
    CU_ASSERT(fabs(want - 0.033764) < 1e-6);
    /* many images: the floor of 0.01 */
    f.n_val = f.n_unl = 1000000;
    CU_ASSERT_EQUAL(mcd_health_margin(&f), 0.01);
    /* select_tpr 1: the threshold is the highest ID score, no ID image above it */
    f = figures(0, 0, 0, 0);
    f.id_rate = 0;
    CU_ASSERT_EQUAL(mcd_health_margin(&f), 0.01);
}

static void test_verdicts(void)
{
    const double m = 4 * sqrt(0.05 * 0.95 * (1.0 / 1000 + 1.0 / 2000)), r = 0.05;
    /* the paper's setting: half the pool OOD, fine-tuning separates most of it */
    CU_ASSERT_EQUAL(judge(figures(0.12, 0.48, 0.47, 0.45)), MCD_HEALTH_HEALTHY);
    /* a pool of ID only: every share near the ID rate */
    CU_ASSERT_EQUAL(judge(figures(0.05, 0.07, 0.07, 0.06)), MCD_HEALTH_NO_OOD);
    CU_ASSERT_EQUAL(judge(figures(0.04, r + m - 0.001, 0.06, 0.05)), MCD_HEALTH_NO_OOD);
    /* past one margin but under two: too little OOD to judge */
    CU_ASSERT_EQUAL(judge(figures(0.04, r + m + 0.001, r + m + 0.001, r + m + 0.001)),
                    MCD_HEALTH_LITTLE_OOD);
    CU_ASSERT_EQUAL(judge(figures(0.04, r + 2 * m - 0.001, 0.06, r + 2 * m - 0.001)),
                    MCD_HEALTH_LITTLE_OOD);
    /* just past two margins, and the result holds it: healthy */
    CU_ASSERT_EQUAL(judge(figures(0.04, r + 2 * m + 0.001, r + 2 * m + 0.001,
                                  r + 2 * m + 0.001)),
                    MCD_HEALTH_HEALTHY);
    /* ... and the reasons say which: none, or too little */
    mcd_health h;
    mcd_health_figures g = figures(0.04, r + m - 0.001, 0.06, 0.05);
    mcd_health_judge(&g, &h);
    CU_ASSERT_PTR_NOT_NULL(strstr(h.reason, "showed no OOD"));
    g = figures(0.04, r + m + 0.001, 0.06, 0.05);
    mcd_health_judge(&g, &h);
    CU_ASSERT_PTR_NOT_NULL(strstr(h.reason, "too little OOD to judge"));
    /* a pool of 2% MNIST (issue 15's study, select_tpr 0.99, seed 5): it was `failed`, and
     * -retries would have pre-trained again for nothing */
    g = (mcd_health_figures){.id_rate = 0.01, .n_val = 2000, .n_unl = 1000, .pretrained = 0.021,
                             .top = 0.036, .chosen = 0.021, .result = 0.033, .averaged = 1};
    CU_ASSERT_EQUAL(judge(g), MCD_HEALTH_LITTLE_OOD);
    /* the average collapsed: under 0.75 of the chosen checkpoint's share */
    CU_ASSERT_EQUAL(judge(figures(0.10, 0.48, 0.48, 0.30)), MCD_HEALTH_FAILED);
    CU_ASSERT_EQUAL(judge(figures(0.10, 0.48, 0.48, 0.75 * 0.48 + 0.001)), MCD_HEALTH_HEALTHY);
    /* without an average the ratio does not apply */
    mcd_health_figures f = figures(0.10, 0.48, 0.48, 0.30);
    f.averaged = 0;
    CU_ASSERT_EQUAL(judge(f), MCD_HEALTH_HEALTHY);
    /* fine-tuning no better than pre-training (which already saw OOD) */
    CU_ASSERT_EQUAL(judge(figures(0.30, 0.31, 0.31, 0.30 + m - 0.001)), MCD_HEALTH_FAILED);
    CU_ASSERT_EQUAL(judge(figures(0.30, 0.35, 0.35, 0.30 + m + 0.001)), MCD_HEALTH_HEALTHY);
    /* the pre-trained network flagged OOD but fine-tuning lost it */
    CU_ASSERT_EQUAL(judge(figures(0.20, 0.06, 0.06, 0.06)), MCD_HEALTH_FAILED);
    /* pre-trained share unknown (a resumed run without its record): judged without it */
    CU_ASSERT_EQUAL(judge(figures(-1, 0.48, 0.47, 0.45)), MCD_HEALTH_HEALTHY);
    CU_ASSERT_EQUAL(judge(figures(-1, 0.07, 0.07, 0.06)), MCD_HEALTH_NO_OOD);
    /* a checkpoint saw OOD, the (un-averaged) result does not hold it */
    f = figures(-1, 0.40, 0.06, 0.06);
    f.averaged = 0;
    CU_ASSERT_EQUAL(judge(f), MCD_HEALTH_FAILED);
    /* nothing measured */
    CU_ASSERT_EQUAL(judge(figures(0.1, -1, -1, -1)), MCD_HEALTH_UNCHECKED);
    f = figures(0.1, 0.4, 0.4, 0.4);
    f.n_unl = 0;
    CU_ASSERT_EQUAL(judge(f), MCD_HEALTH_UNCHECKED);
}

static void test_record(void)
{
    char path[256];
    snprintf(path, sizeof path, "%s.health", test_write_temp(""));
    mcd_health h, back;
    memset(&h, 0, sizeof h);
    mcd_health_figures f = figures(0.125, 0.5, 0.48, 0.3);
    mcd_health_judge(&f, &h);
    h.seed = 17;
    h.attempt = 2;
    int pending = -1;
    CU_ASSERT_EQUAL_FATAL(mcd_health_write(path, &h, 0), 0);
    CU_ASSERT_EQUAL_FATAL(mcd_health_read(path, &back, &pending), 0);
    CU_ASSERT_EQUAL(pending, 0);
    CU_ASSERT_EQUAL(back.verdict, MCD_HEALTH_FAILED);
    CU_ASSERT_STRING_EQUAL(back.reason, h.reason);
    CU_ASSERT_EQUAL(back.seed, 17);
    CU_ASSERT_EQUAL(back.attempt, 2);
    CU_ASSERT(back.f.pretrained == 0.125 && back.f.top == 0.5 && back.f.chosen == 0.48 &&
              back.f.result == 0.3 && back.f.averaged == 1 && back.f.n_unl == 1000 &&
              back.f.n_val == 2000);
    CU_ASSERT(fabs(back.margin - h.margin) < 1e-6);
    CU_ASSERT_EQUAL_FATAL(mcd_health_write(path, &h, 1), 0);
    CU_ASSERT_EQUAL(mcd_health_read(path, &back, &pending), 0);
    CU_ASSERT_EQUAL(pending, 1);
    CU_ASSERT_EQUAL(mcd_health_read("/nonexistent/x.health", &back, &pending), 1);
    test_write_text(path, "verdict=healthy\nbogus=1\n");
    CU_ASSERT_EQUAL(mcd_health_read(path, &back, &pending), -1);
    CU_ASSERT(strstr(mcd_last_error(), ":2: not a health record line") != NULL);
    test_write_text(path, "seed=1\n");
    CU_ASSERT_EQUAL(mcd_health_read(path, &back, &pending), -1);
    CU_ASSERT(strstr(mcd_last_error(), "no verdict=") != NULL);
    /* every verdict's name reads back as itself */
    for (int v = MCD_HEALTH_UNCHECKED; v <= MCD_HEALTH_FAILED; ++v) {
        h.verdict = v;
        CU_ASSERT_EQUAL_FATAL(mcd_health_write(path, &h, 0), 0);
        CU_ASSERT_EQUAL(mcd_health_read(path, &back, &pending), 0);
        CU_ASSERT_EQUAL(back.verdict, v);
    }
    CU_ASSERT_STRING_EQUAL(mcd_health_name(MCD_HEALTH_LITTLE_OOD), "little-ood");
    test_write_text(path, "verdict=great\n");
    CU_ASSERT_EQUAL(mcd_health_read(path, &back, &pending), -1);
    remove(path);
}

static void test_path_of_weights(void)
{
    static const char *cases[][2] = {
        {"backup/mcd_best.weights", "backup/mcd.health"},
        {"backup/mcd_final.weights", "backup/mcd.health"},
        {"backup/mcd_pretrain.weights", "backup/mcd.health"},
        {"backup/mcd.weights", "backup/mcd.health"},
        {"b/mcd-failed-seed5_best.weights", "b/mcd-failed-seed5.health"},
        {"my_net.weights", "my_net.health"},
        {"dir_best/_best.weights", "dir_best/_best.health"},
        {"weights/model", "weights/model.health"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; ++i) {
        char got[256];
        mcd_health_path_of_weights(cases[i][0], got, sizeof got);
        if (strcmp(got, cases[i][1])) printf("\n%s -> %s, want %s\n", cases[i][0], got, cases[i][1]);
        CU_ASSERT_STRING_EQUAL(got, cases[i][1]);
    }
}

int add_training_health_suite(void)
{
    CU_pSuite s = test_add_suite("training health");
    if (!s) return -1;
    return !CU_add_test(s, "the margin: 4 standard errors, at least 0.01", test_margin) ||
           !CU_add_test(s, "verdicts on either side of each boundary", test_verdicts) ||
           !CU_add_test(s, "the record, written and read back", test_record) ||
           !CU_add_test(s, "the record's name from the weights'", test_path_of_weights);
}
