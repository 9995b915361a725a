/* What stock Darknet commands get from the plugin: Darknet functions replaced at link time
 * (-Wl,--wrap=NAME in the Makefile's WRAP), so that `darknet classifier ...`, `detector`
 * and the rest work on MCD cfgs too.
 *
 * This is the boundary with Darknet's code, which ignores errors: a wrapper whose plugin
 * function fails prints "darknet: error: <message>" and exits 1 here (as a command would)
 * rather than hand Darknet a network it would crash on. */
#include <stdio.h>
#include <stdlib.h>

#include "commands/stock_wrappers.h"

#include "darknet.h"
#include "network/mcd_network.h"
#include "network/network_resize.h"
#include "util/mcd_error.h"

/* parse_network_cfg: the plugin's parse loop reads MCD cfgs too, and a bad cfg ends the
 * program with a message naming the file, line and key instead of Darknet's crash further on. */
network *__wrap_parse_network_cfg(char *filename)
{
    network *net = mcd_parse_network_cfg(filename);
    if (!net) mcd_stock_command_failed(mcd_last_error());
    return net;
}

/* resize_network: Darknet's exits on the MCD layers, [connected] and [softmax]
 * (network_resize.h); `classifier train` with random=1 calls it every 40 batches. */
int __wrap_resize_network(network *net, int w, int h)
{
    if (mcd_resize_network(net, w, h)) mcd_stock_command_failed(mcd_last_error());
    return 0;
}

void mcd_stock_command_failed(const char *message)
{
    fprintf(stderr, "darknet: error: %s\n", message);
    exit(1);
}
