/* main of the `darknet` binary: `darknet mcd <verb> ...` runs the plugin, every other
 * command goes to Darknet's own main (examples/darknet.c, compiled as darknet_main). */
#include <stdio.h>
#include <string.h>

#include "mcd_commands.h"

int darknet_main(int argc, char **argv);

int main(int argc, char **argv)
{
    if (argc >= 2 && strcmp(argv[1], "mcd") == 0) return run_mcd(argc - 1, argv + 1);
    if (argc >= 2 && (strcmp(argv[1], "-h") == 0 || strcmp(argv[1], "--help") == 0)) {
        fprintf(stderr, "usage: %s <function> ...\n"
                        "  Darknet's own functions (classifier, detector, speed, ...) and\n"
                        "  mcd    out-of-distribution detection with two classifier heads;\n"
                        "         '%s mcd -h' lists its verbs\n", argv[0], argv[0]);
        return 0;
    }
    return darknet_main(argc, argv);
}
