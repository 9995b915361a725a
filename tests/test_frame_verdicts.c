/* ood/frame_verdicts.c on made-up score streams (threshold 0.5): a spike flips the verdict
 * without options and never with hold 3; smoothing averages the last N scores; the alarm
 * rises within its window after a switch and clears when the stream comes back. */
#include <math.h>
#include <string.h>

#include "ood/frame_verdicts.h"
#include "test_util.h"

#define T 0.5f

/* Run scores through; verdicts[i] and events[i] (+1 raised, -1 cleared) out. */
static void run(const ood_frame_options *o, const float *scores, int n, int *verdicts,
                int *events, float *smoothed)
{
    ood_frame_verdicts v;
    CU_ASSERT_EQUAL_FATAL(ood_frame_verdicts_init(&v, o), 0);
    for (int i = 0; i < n; ++i) {
        ood_frame_step s;
        ood_frame_verdicts_push(&v, scores[i], T, &s);
        verdicts[i] = s.verdict;
        if (events) events[i] = s.alarm_event;
        if (smoothed) smoothed[i] = s.smoothed;
    }
    ood_frame_verdicts_free(&v);
}

static int flips(const int *verdicts, int n)
{
    int k = 0;
    for (int i = 1; i < n; ++i) k += verdicts[i] != verdicts[i - 1];
    return k;
}

static void test_spikes(void)
{
    float s[30];
    for (int i = 0; i < 30; ++i) s[i] = 0.01f;
    s[8] = s[19] = 1.6f;           /* two one-frame spikes */
    s[25] = s[26] = 1.4f;          /* and a two-frame one */
    int v[30];
    ood_frame_options off = {1, 1, 0, 0};
    run(&off, s, 30, v, NULL, NULL);
    CU_ASSERT_EQUAL(flips(v, 30), 6); /* into and out of each */
    CU_ASSERT_TRUE(v[8] && v[19] && v[25] && v[26] && !v[7] && !v[9]);
    ood_frame_options hold3 = {1, 3, 0, 0};
    run(&hold3, s, 30, v, NULL, NULL);
    CU_ASSERT_EQUAL(flips(v, 30), 0);
    CU_ASSERT_EQUAL(v[8], 0);
    /* a lasting change gets through hold 3 at its third frame */
    for (int i = 15; i < 30; ++i) s[i] = 1.5f;
    run(&hold3, s, 30, v, NULL, NULL);
    CU_ASSERT_EQUAL(flips(v, 30), 1);
    CU_ASSERT_EQUAL(v[16], 0);
    CU_ASSERT_EQUAL(v[17], 1);
}

static void test_smoothing(void)
{
    float s[6] = {0.0f, 1.2f, 0.3f, 0.0f, 0.0f, 0.0f}, m[6];
    int v[6];
    ood_frame_options o = {3, 1, 0, 0};
    run(&o, s, 6, v, NULL, m);
    const float want[6] = {0.0f, 0.6f, 0.5f, 0.5f, 0.1f, 0.0f};
    for (int i = 0; i < 6; ++i) CU_ASSERT_TRUE(fabsf(m[i] - want[i]) < 1e-6f);
    CU_ASSERT_EQUAL(v[1], 1);   /* 0.6 > 0.5 */
    CU_ASSERT_EQUAL(v[2], 0);   /* 0.5 is not above */
    CU_ASSERT_EQUAL(v[4], 0);
}

static void test_alarm(void)
{
    enum { N = 80 };
    float s[N];
    for (int i = 0; i < N; ++i) s[i] = i >= 30 && i < 60 ? 1.5f : 0.02f; /* OOD from 30 to 59 */
    s[10] = 1.7f;                                                    /* a spike before */
    int v[N], e[N];
    ood_frame_options o = {1, 1, 0.5, 10};
    run(&o, s, N, v, e, NULL);
    int raised = -1, cleared = -1, events = 0;
    for (int i = 0; i < N; ++i) {
        if (e[i] == 1) raised = i, ++events;
        if (e[i] == -1) cleared = i, ++events;
    }
    CU_ASSERT_EQUAL(events, 2);
    CU_ASSERT_TRUE(raised >= 30 && raised < 40); /* within the window after the switch */
    CU_ASSERT_EQUAL(raised, 35);                 /* 6 of 10 > 0.5 */
    CU_ASSERT_TRUE(cleared >= 60 && cleared < 70);
    /* no alarm before W frames, whatever they are */
    float all_ood[5] = {2, 2, 2, 2, 2};
    int v5[5], e5[5];
    ood_frame_options w10 = {1, 1, 0.1, 10};
    run(&w10, all_ood, 5, v5, e5, NULL);
    for (int i = 0; i < 5; ++i) CU_ASSERT_EQUAL(e5[i], 0);
}

static void test_bad_options(void)
{
    ood_frame_verdicts v;
    ood_frame_options bad[4] = {{0, 1, 0, 0}, {1, 0, 0, 0}, {1, 1, 1.0, 5}, {1, 1, -0.1, 5}};
    for (int i = 0; i < 4; ++i) CU_ASSERT_EQUAL(ood_frame_verdicts_init(&v, &bad[i]), -1);
}

int add_frame_verdicts_suite(void)
{
    CU_pSuite s = test_add_suite("frame verdicts");
    if (!s) return -1;
    return !CU_add_test(s, "spikes: flipped without hold, never with hold 3", test_spikes) ||
           !CU_add_test(s, "smoothing: the mean of the last N scores", test_smoothing) ||
           !CU_add_test(s, "alarm: raised within the window, cleared after", test_alarm) ||
           !CU_add_test(s, "bad options refused", test_bad_options);
}
