/* Checkpoint choice (plugin/train/checkpoint_choice.c): the plain maximum of the held-out flagged
 * share when select_tolerance is 0; with a tolerance, shares within it of the best are ties
 * won by ID validation accuracy; the accuracy limit; the select_tolerance, select_tpr and
 * finetune_average keys. */
#define _GNU_SOURCE
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "train/checkpoint_choice.h"
#include "util/mcd_error.h"
#include "test_util.h"
#include "network/train_config.h"

typedef struct check {
    double flagged, acc;
} check;

/* Feed the checks in order; the index of the last one chosen (-1: none). */
static int replay(const check *c, int n, double max_drop, double tolerance)
{
    mcd_choice s;
    mcd_choice_init(&s);
    int chosen = -1;
    for (int i = 0; i < n; ++i)
        if (mcd_choice_update(&s, c[i].flagged, c[i].acc, max_drop, tolerance)) chosen = i;
    return chosen;
}

/* backup/run3's BASE_select.csv (mcd-resnet, seed 1): iterations 25, 50, ..., 425, 430 */
static const check run3[] = {
    {.326, .9230}, {.306, .9180}, {.485, .9185}, {.488, .9170}, {.504, .9235}, {.481, .9240},
    {.496, .9185}, {.485, .9205}, {.487, .9240}, {.442, .9035}, {.500, .9225}, {.495, .9275},
    {.487, .9195}, {.495, .9110}, {.462, .9125}, {.497, .9225}, {.482, .9145}, {.429, .8605}};

static void test_plain_maximum(void)
{
    int n = sizeof run3 / sizeof run3[0];
    CU_ASSERT_EQUAL(replay(run3, n, 0.02, 0), 4); /* iteration 125: the highest share */
    /* equal shares: the first is kept, whatever its accuracy */
    check eq[] = {{.5, .90}, {.5, .95}};
    CU_ASSERT_EQUAL(replay(eq, 2, 0.1, 0), 0);
    /* a share above the best wins even when less accurate, if within the accuracy limit */
    check up[] = {{.5, .95}, {.6, .94}, {.7, .91}};
    CU_ASSERT_EQUAL(replay(up, 3, 0.02, 0), 1);
    CU_ASSERT_EQUAL(replay(up, 3, 0.05, 0), 2);
}

static void test_ties_go_to_accuracy(void)
{
    int n = sizeof run3 / sizeof run3[0];
    /* within 0.01 of 0.504: 175 (.496), 275 (.500), 300 (.495), 350, 400; 300 is the most
     * accurate of them */
    CU_ASSERT_EQUAL(replay(run3, n, 0.02, 0.01), 11);
    /* within 0.005: only 275 (.500, less accurate than 125's .9235) */
    CU_ASSERT_EQUAL(replay(run3, n, 0.02, 0.005), 4);
    /* a tie with equal accuracy keeps the first */
    check eq[] = {{.5, .90}, {.5, .90}, {.499, .90}};
    CU_ASSERT_EQUAL(replay(eq, 3, 0.1, 0.01), 0);
    /* a more accurate tie replaces the choice; a rise in the best share beyond the
     * tolerance puts the chosen one out of the tie, and the new best replaces it although
     * it is less accurate */
    check rise[] = {{.50, .90}, {.495, .92}, {.52, .91}, {.515, .915}, {.505, .99}};
    CU_ASSERT_EQUAL(replay(rise, 2, 0.1, 0.01), 1);
    CU_ASSERT_EQUAL(replay(rise, 3, 0.1, 0.01), 2);
    CU_ASSERT_EQUAL(replay(rise, 4, 0.1, 0.01), 3);
    /* .505 is 0.015 below the best (.52): no tie, however accurate */
    CU_ASSERT_EQUAL(replay(rise, 5, 0.1, 0.01), 3);
    /* a difference of exactly the tolerance is a tie, whatever the rounding: the cfg key is
     * a float, and 0.525 - 0.005f is just above 0.520 (a run's iterations 100 and 425) */
    check edge[] = {{520 / 1000.0, .9425}, {525 / 1000.0, .9395}};
    CU_ASSERT_EQUAL(replay(edge, 2, 0.02f, 0.005f), 0);
    check edge2[] = {{510 / 1000.0, .9305}, {505 / 1000.0, .9325}};
    CU_ASSERT_EQUAL(replay(edge2, 2, 0.02f, 0.005f), 1);
    /* the best share stays the best of the eligible checkpoints: a share that was too
     * inaccurate to compete does not raise it */
    check inel[] = {{.50, .95}, {.60, .80}, {.495, .96}};
    CU_ASSERT_EQUAL(replay(inel, 3, 0.02, 0.01), 2);
}

static void test_state(void)
{
    mcd_choice s;
    mcd_choice_init(&s);
    CU_ASSERT(s.chosen_flagged < 0);
    CU_ASSERT_EQUAL(mcd_choice_update(&s, .4, .90, 0.02, 0.01), 1);
    CU_ASSERT_EQUAL(mcd_choice_update(&s, .405, .89, 0.02, 0.01), 0);
    CU_ASSERT_DOUBLE_EQUAL(s.top_flagged, .405, 1e-12);
    CU_ASSERT_DOUBLE_EQUAL(s.chosen_flagged, .4, 1e-12);
    CU_ASSERT_DOUBLE_EQUAL(s.chosen_acc, .90, 1e-12);
    CU_ASSERT_DOUBLE_EQUAL(s.best_acc, .90, 1e-12);
    /* too inaccurate: never chosen, but it raises the best accuracy seen */
    CU_ASSERT_EQUAL(mcd_choice_update(&s, .3, .95, 0.02, 0.01), 0);
    CU_ASSERT_EQUAL(mcd_choice_update(&s, .405, .92, 0.02, 0.01), 0);
    CU_ASSERT_DOUBLE_EQUAL(s.best_acc, .95, 1e-12);
}

/* Each value of `key` in `bad`, alone in a [net] section written to `path`, is refused
 * with an error naming the file and the key. */
static void check_refused(const char *path, const char *key, const char *const *bad, size_t n)
{
    mcd_train_config tc;
    for (size_t i = 0; i < n; ++i) {
        char text[128];
        snprintf(text, sizeof text, "[net]\nbatch=1\n%s=%s\n", key, bad[i]);
        CU_ASSERT_EQUAL_FATAL(test_write_text(path, text), 0);
        CU_ASSERT_EQUAL(mcd_read_train_config(path, &tc), -1);
        CU_ASSERT(strstr(mcd_last_error(), key) != NULL);
        CU_ASSERT(strstr(mcd_last_error(), path) != NULL);
    }
}

static void test_config_key(void)
{
    mcd_train_config tc;
    const char *path = test_write_temp("[net]\nbatch=1\nselect_tolerance=0.005\n");
    CU_ASSERT_PTR_NOT_NULL_FATAL(path);
    CU_ASSERT_EQUAL(mcd_read_train_config(path, &tc), 0);
    CU_ASSERT_DOUBLE_EQUAL(tc.select_tolerance, 0.005, 1e-7);
    CU_ASSERT_EQUAL_FATAL(test_write_text(path, "[net]\nbatch=1\n"), 0);
    CU_ASSERT_EQUAL(mcd_read_train_config(path, &tc), 0);
    CU_ASSERT_EQUAL(tc.select_tolerance, 0);
    static const char *const bad[] = {"-0.01"};
    check_refused(path, "select_tolerance", bad, 1);
    remove(path);
}

/* select_tpr: 0.95 unless set, kept as the exact double (0.99 of 2000 images must be 1980,
 * not the 1981 a float's 0.99000001 gives), and refused outside (0, 1] naming the key. */
static void test_tpr_key(void)
{
    mcd_train_config tc;
    const char *path = test_write_temp("[net]\nbatch=1\n");
    CU_ASSERT_PTR_NOT_NULL_FATAL(path);
    CU_ASSERT_EQUAL(mcd_read_train_config(path, &tc), 0);
    CU_ASSERT_EQUAL(tc.select_tpr, 0.95);
    CU_ASSERT_EQUAL_FATAL(test_write_text(path, "[net]\nbatch=1\nselect_tpr=0.99\n"), 0);
    CU_ASSERT_EQUAL(mcd_read_train_config(path, &tc), 0);
    CU_ASSERT_EQUAL(tc.select_tpr, 0.99);
    CU_ASSERT_EQUAL_FATAL(test_write_text(path, "[net]\nbatch=1\nselect_tpr=1\n"), 0);
    CU_ASSERT_EQUAL(mcd_read_train_config(path, &tc), 0);
    static const char *const bad[] = {"0", "-0.5", "1.01", "95", "high"};
    check_refused(path, "select_tpr", bad, sizeof bad / sizeof bad[0]);
    remove(path);
}

/* finetune_average: off unless set; 0 and 1 only, refused otherwise naming the key. */
static void test_average_key(void)
{
    mcd_train_config tc;
    const char *path = test_write_temp("[net]\nbatch=1\n");
    CU_ASSERT_PTR_NOT_NULL_FATAL(path);
    CU_ASSERT_EQUAL(mcd_read_train_config(path, &tc), 0);
    CU_ASSERT_EQUAL(tc.finetune_average, 0);
    CU_ASSERT_EQUAL_FATAL(test_write_text(path, "[net]\nbatch=1\nfinetune_average=1\n"), 0);
    CU_ASSERT_EQUAL(mcd_read_train_config(path, &tc), 0);
    CU_ASSERT_EQUAL(tc.finetune_average, 1);
    static const char *const bad[] = {"2", "-1", "yes"};
    check_refused(path, "finetune_average", bad, sizeof bad / sizeof bad[0]);
    remove(path);
}

int add_checkpoint_choice_suite(void)
{
    CU_pSuite s = test_add_suite("checkpoint choice");
    if (!s) return -1;
    return !CU_add_test(s, "tolerance 0: the highest held-out share", test_plain_maximum) ||
           !CU_add_test(s, "tolerance: ties won by ID accuracy", test_ties_go_to_accuracy) ||
           !CU_add_test(s, "state after each check", test_state) ||
           !CU_add_test(s, "select_tolerance key", test_config_key) ||
           !CU_add_test(s, "select_tpr key", test_tpr_key) ||
           !CU_add_test(s, "finetune_average key", test_average_key);
}
