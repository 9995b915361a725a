/* What stock Darknet commands get from the plugin (stock_wrappers.c): the wrappers of
 * parse_network_cfg and resize_network, linked in with -Wl,--wrap, and what ends a stock
 * command when the CPU backend fails a pass. */
#ifndef MCD_STOCK_WRAPPERS_H
#define MCD_STOCK_WRAPPERS_H

#include "darknet.h"

network *__wrap_parse_network_cfg(char *filename);
int __wrap_resize_network(network *net, int w, int h);

/* Print "darknet: error: <message>" and exit 1: Darknet's callers would go on with a bad
 * network or a pass's garbage. The wrappers end with it, and so does the CPU backend's
 * first failure in a stock command (mcd_backend_set_failure_hook, backend/cpu_backend.h). */
void mcd_stock_command_failed(const char *message) __attribute__((noreturn));

#endif
