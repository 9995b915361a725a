/* Steadier verdicts on a stream of frames (`mcd detect -video/-camera`): each frame's MCD
 * score in, the verdict to report out.
 *
 *   smooth N   the verdict is taken on the mean score of the last N frames (fewer at the
 *              start), not the frame's own: one noisy frame moves it by 1/N of its jump
 *   hold K     the reported verdict changes only after K frames in a row call for the
 *              other one: a spike shorter than K frames never flips it
 *   alarm S:W  over the last W reported verdicts (once W frames have been seen), the alarm
 *              is raised when the share of OOD ones rises above S, and cleared when it
 *              falls back to S or below: the stream drifting away from the training data
 *
 * All off (N = 1, K = 1, no alarm) gives each frame's own verdict. */
#ifndef MCD_FRAME_VERDICTS_H
#define MCD_FRAME_VERDICTS_H

typedef struct ood_frame_options {
    int smooth;           /* N >= 1 */
    int hold;             /* K >= 1 */
    double alarm_share;   /* S in [0, 1); used when alarm_window > 0 */
    int alarm_window;     /* W, 0: no alarm */
} ood_frame_options;

typedef struct ood_frame_verdicts {
    ood_frame_options o;
    float *scores;        /* the last `smooth` scores, a ring */
    unsigned char *recent; /* the last `alarm_window` reported verdicts, a ring */
    long frames;
    int verdict;          /* reported: 1 OOD, 0 ID; -1 before the first frame */
    int against;          /* frames in a row that call for the other verdict */
    int recent_ood;       /* OOD verdicts in the ring */
    int alarm;            /* 1 while raised */
} ood_frame_verdicts;

typedef struct ood_frame_step {
    float smoothed;       /* the mean score the verdict was taken on */
    int verdict;          /* the verdict to report: 1 OOD, 0 ID */
    int alarm_event;      /* +1 raised at this frame, -1 cleared, 0 neither */
    double share;         /* OOD share of the last alarm_window verdicts (-1 before W frames) */
} ood_frame_step;

/* 0, or -1 with an error (a value out of range, no memory). */
int ood_frame_verdicts_init(ood_frame_verdicts *v, const ood_frame_options *o);
/* The next frame's score, against threshold. */
void ood_frame_verdicts_push(ood_frame_verdicts *v, float score, float threshold,
                             ood_frame_step *out);
void ood_frame_verdicts_free(ood_frame_verdicts *v);

#endif
