#include "util/mcd_error.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>

/* One per thread: the trainer's loading threads read images (and fail) at the same time. */
static __thread char last_error[1024];

void mcd_set_error(const char *fmt, ...)
{
    char message[sizeof last_error]; /* fmt's arguments may point into last_error */
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(message, sizeof message, fmt, ap);
    va_end(ap);
    memcpy(last_error, message, sizeof last_error);
}

const char *mcd_last_error(void)
{
    return last_error;
}
