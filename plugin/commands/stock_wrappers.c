/* What stock Darknet commands get from the plugin. The binary is linked with
 * -Wl,--wrap=NAME for each function here, so Darknet's own code (`darknet classifier
 * ...`, `darknet speed`, ...) calls these instead of its own. Darknet's callers ignore
 * errors, so this is where an error ends the program with its message, as a command does. */
#include <stdio.h>
#include <stdlib.h>

#include "darknet.h"
#include "network/mcd_network.h"
#include "util/mcd_error.h"

static void stock_command_failed(void)
{
    fprintf(stderr, "darknet: error: %s\n", mcd_last_error());
    exit(1);
}

/* Every stock command that loads a cfg comes here: the plugin's parse loop reads MCD cfgs
 * too, and a bad cfg ends the program with a message instead of Darknet's crash further on. */
network *__wrap_parse_network_cfg(char *filename)
{
    network *net = mcd_parse_network_cfg(filename);
    if (!net) stock_command_failed();
    return net;
}
