/* Elapsed time for progress lines, throughput and ETAs: a monotonic clock, so that a
 * change of the system time (NTP, a user) cannot make a rate negative or an ETA jump. */
#ifndef MCD_WALL_CLOCK_H
#define MCD_WALL_CLOCK_H

/* Seconds of CLOCK_MONOTONIC: only differences between two calls mean anything. */
double mcd_now_seconds(void);

#endif
