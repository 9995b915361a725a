/* The running mean of a network's trained numbers over fine-tuning (stochastic weight
 * averaging, Izmailov et al. 2018, with a constant learning rate): every layer's weights,
 * biases, batch-norm scales and rolling statistics, sampled at fixed iterations. MCD's
 * fine-tuning swings from one checkpoint to the next (ID accuracy and OOD separation move
 * by points within 25 iterations); the mean of the checkpoints is steadier than any one
 * of them (docs/results.md, docs/experiments.md).
 *
 * The mean is kept in the layout below, which only this file knows; it goes in and out of
 * the network through mcd_average_swap, so the network's own code (forward, save) is used
 * to score and to write it. */
#ifndef MCD_WEIGHT_AVERAGE_H
#define MCD_WEIGHT_AVERAGE_H

#include <stddef.h>

#include "darknet.h"

typedef struct mcd_weight_average {
    float *mean;
    long n;      /* floats */
    int samples; /* networks averaged so far */
} mcd_weight_average;

/* Room for the mean of `net`'s numbers, 0 samples. 0, or -1 with the error set. */
int mcd_average_init(mcd_weight_average *a, const network *net);
void mcd_average_free(mcd_weight_average *a);

/* Add the network's current numbers to the mean. */
void mcd_average_add(mcd_weight_average *a, network *net);

/* Exchange the mean and the network's numbers: after one call the network holds the mean
 * (to score or save it), after a second it holds its own numbers again. */
void mcd_average_swap(mcd_weight_average *a, network *net);

#endif
