#include "util/mcd_error.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>

/* One per thread: the trainer's loading threads read images (and fail) at the same time. */
static __thread char last_error[1024];

void mcd_set_error(const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(last_error, sizeof last_error, fmt, ap);
    va_end(ap);
}

const char *mcd_last_error(void)
{
    return last_error;
}

void mcd_die(void)
{
    fprintf(stderr, "darknet: error: %s\n", last_error[0] ? last_error : "unknown error");
    exit(1);
}
