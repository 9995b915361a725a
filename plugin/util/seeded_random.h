/* Seeded random numbers: SplitMix64 (Steele, Lea and Flood, 2014), a 64-bit generator small
 * enough to write out here, the same on every machine and with every C library (rand() and
 * random() are not). The data converter's splits and noise images come from it, and so do
 * the trainer's batch picks and augmentation (batch_loader.c), which must not depend on the
 * order in which threads call rand().
 *
 * A generator is seeded with (seed, stream): each class of a split and each noise image has
 * its own stream, so a subset (the small data set) takes a prefix of the same sequence; each
 * training batch has its own too, so a batch's images do not depend on the batches before. */
#ifndef SEEDED_RANDOM_H
#define SEEDED_RANDOM_H

#include <stdint.h>

typedef struct seeded_random {
    uint64_t state;
} seeded_random;

void seeded_random_init(seeded_random *r, uint64_t seed, uint64_t stream);
uint64_t seeded_random_next(seeded_random *r);
/* Uniform in [0, 1), 53 random bits. */
double seeded_random_uniform(seeded_random *r);
/* Uniform integer in [0, n), n >= 1, without modulo bias. */
uint64_t seeded_random_below(seeded_random *r, uint64_t n);
/* Standard normal N(0, 1): Marsaglia's polar method. The one libm call is log(); sqrt is
 * exact in IEEE arithmetic. */
double seeded_random_gaussian(seeded_random *r);
/* Fisher-Yates shuffle of a[0..n). */
void seeded_random_shuffle(seeded_random *r, int *a, int n);

#endif
