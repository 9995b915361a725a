#include "train/checkpoint_choice.h"

void mcd_choice_init(mcd_choice *c)
{
    c->best_acc = 0;
    c->top_flagged = -1;
    c->chosen_flagged = -1;
    c->chosen_acc = 0;
}

/* Shares are counts over a fixed number of images (k/n): a difference of exactly
 * `tolerance` must count as within it whatever the rounding of the subtraction. */
#define SHARE_EPS 1e-9

int mcd_choice_update(mcd_choice *c, double flagged, double acc, double max_acc_drop,
                      double tolerance)
{
    if (acc > c->best_acc) c->best_acc = acc;
    if (acc < c->best_acc - max_acc_drop) return 0;
    if (tolerance <= 0) {
        if (flagged <= c->top_flagged) return 0;
    } else {
        double top = flagged > c->top_flagged ? flagged : c->top_flagged;
        double low = top - tolerance - SHARE_EPS;
        int chosen_tied = c->chosen_flagged >= 0 && c->chosen_flagged >= low;
        if (flagged < low) return 0;
        if (chosen_tied && acc <= c->chosen_acc) {
            c->top_flagged = top;
            return 0;
        }
    }
    if (flagged > c->top_flagged) c->top_flagged = flagged;
    c->chosen_flagged = flagged;
    c->chosen_acc = acc;
    return 1;
}
