#include "util/stop_signal.h"

#include <signal.h>
#include <string.h>

static volatile sig_atomic_t caught;
static struct sigaction before_int, before_term; /* what the install replaced */

static void on_stop_signal(int sig)
{
    caught = sig;
}

void mcd_stop_signal_install(int second_ends)
{
    caught = 0;
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = on_stop_signal;
    sigemptyset(&sa.sa_mask);
    sa.sa_flags = second_ends ? SA_RESETHAND : 0; /* RESETHAND: the next acts as default */
    sigaction(SIGINT, &sa, &before_int);
    sigaction(SIGTERM, &sa, &before_term);
}

void mcd_stop_signal_restore(void)
{
    sigaction(SIGINT, &before_int, NULL);
    sigaction(SIGTERM, &before_term, NULL);
}

int mcd_stop_signal(void)
{
    return caught;
}
