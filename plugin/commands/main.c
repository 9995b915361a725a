/* main of the `darknet` binary: `darknet mcd <verb> ...` runs the plugin, every other
 * command goes to Darknet's own main (examples/darknet.c, compiled as darknet_main).
 * `-backend onednn|darknet`, anywhere on the line, picks the CPU backend (cpu_backend.h)
 * for every command, stock ones included: every parsed network gets it (the parse hook). */
#include <stdio.h>
#include <string.h>

#include "backend/cpu_backend.h"
#include "commands/command_line.h"
#include "commands/stock_wrappers.h"
#include "commands/verbs.h"
#include "network/mcd_network.h"
#include "util/mcd_error.h"

int darknet_main(int argc, char **argv);

int main(int argc, char **argv)
{
    argc = mcd_backend_take_arg(argc, argv);
    if (argc < 0) return mcd_command_failed();
    mcd_network_set_parse_hook(mcd_backend_install);
    if (argc >= 2 && strcmp(argv[1], "mcd") == 0) return run_mcd(argc - 1, argv + 1);
    if (argc >= 2 && (strcmp(argv[1], "-h") == 0 || strcmp(argv[1], "--help") == 0)) {
        fprintf(stderr, "usage: %s <function> ...\n"
                        "  Darknet's own functions (classifier, detector, speed, ...) and\n"
                        "  mcd    out-of-distribution detection with two classifier heads;\n"
                        "         '%s mcd -h' lists its verbs\n"
                        "  -backend onednn|darknet (or MCD_BACKEND) selects the CPU layer code\n"
                        "         (default onednn; darknet = Darknet's own)\n", argv[0], argv[0]);
        return 0;
    }
    /* Darknet's own commands never ask whether a pass worked: the first failure of the
     * backend ends them, before their next passes (and weight backups) run on garbage */
    mcd_backend_set_failure_hook(mcd_stock_command_failed);
    return darknet_main(argc, argv);
}
