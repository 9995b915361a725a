#include "util/seeded_random.h"

#include <math.h>

static uint64_t splitmix64_mix(uint64_t z)
{
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
    return z ^ (z >> 31);
}

void seeded_random_init(seeded_random *r, uint64_t seed, uint64_t stream)
{
    /* Mixing seed and stream apart keeps nearby streams (class 0, class 1, ...) unrelated. */
    r->state = splitmix64_mix(seed ^ splitmix64_mix(stream + 0x9e3779b97f4a7c15ULL));
}

uint64_t seeded_random_next(seeded_random *r)
{
    r->state += 0x9e3779b97f4a7c15ULL;
    return splitmix64_mix(r->state);
}

double seeded_random_uniform(seeded_random *r)
{
    return (double)(seeded_random_next(r) >> 11) * 0x1.0p-53;
}

uint64_t seeded_random_below(seeded_random *r, uint64_t n)
{
    /* Reject the top partial block of 2^64 so every residue is equally likely. */
    uint64_t limit = UINT64_MAX - UINT64_MAX % n;
    uint64_t x;
    do {
        x = seeded_random_next(r);
    } while (x >= limit);
    return x % n;
}

double seeded_random_gaussian(seeded_random *r)
{
    /* The method yields a pair; the second value is dropped so that the generator keeps no
     * state besides its counter. */
    double u, v, s;
    do {
        u = 2.0 * seeded_random_uniform(r) - 1.0;
        v = 2.0 * seeded_random_uniform(r) - 1.0;
        s = u * u + v * v;
    } while (s >= 1.0 || s == 0.0);
    return u * sqrt(-2.0 * log(s) / s);
}

void seeded_random_shuffle(seeded_random *r, int *a, int n)
{
    for (int i = n - 1; i > 0; --i) {
        int j = (int)seeded_random_below(r, (uint64_t)i + 1);
        int t = a[i];
        a[i] = a[j];
        a[j] = t;
    }
}
