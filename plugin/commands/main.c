/* main of the `darknet` binary: `darknet mcd <verb> ...` runs the plugin, every other
 * command goes to Darknet's own main (examples/darknet.c, compiled as darknet_main).
 * `-backend onednn|darknet`, anywhere on the line, picks the CPU backend (cpu_backend.h)
 * for every command, stock ones included: every parsed network gets it (the parse hook).
 * In a GPU build (docs/gpu.md) the plugin's verbs run on the CPU unless -gpu/-gpus asks,
 * and Darknet's commands on GPU 0 (its -i N, -nogpu), or on the CPU where there is no GPU. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "backend/cpu_backend.h"
#include "backend/gpu_device.h"
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
    mcd_gpu_select(-1);
    if (argc >= 2 && strcmp(argv[1], "mcd") == 0) return run_mcd(argc - 1, argv + 1);
    if (argc >= 2 && (strcmp(argv[1], "-h") == 0 || strcmp(argv[1], "--help") == 0)) {
        fprintf(stderr, "usage: %s <function> ...\n"
                        "  Darknet's own functions (classifier, detector, speed, ...) and\n"
                        "  mcd    out-of-distribution detection with two classifier heads;\n"
                        "         '%s mcd -h' lists its verbs\n"
                        "  -backend onednn|darknet (or MCD_BACKEND) selects the CPU layer code\n"
                        "         (default onednn; darknet = Darknet's own)\n"
                        "%s", argv[0], argv[0],
                mcd_gpu_built() ? "  -i N, -nogpu: the GPU of Darknet's commands (default 0; on a\n"
                                  "         machine without one, the CPU)\n" : "");
        return 0;
    }
    /* Darknet's own commands never ask whether a pass worked: the first failure of the
     * backend ends them, before their next passes (and weight backups) run on garbage */
    mcd_backend_set_failure_hook(mcd_stock_command_failed);
    if (mcd_gpu_built() && mcd_gpu_count(NULL) == 0) {
        /* Darknet's main would pick GPU 0 and stop on its CUDA error: the CPU, as a CPU
         * build runs every command */
        char **args = malloc((argc + 2) * sizeof *args);
        if (!args) return 1;
        memcpy(args, argv, argc * sizeof *args);
        args[argc] = "-nogpu";
        args[argc + 1] = NULL;
        return darknet_main(argc + 1, args);
    }
    return darknet_main(argc, argv);
}
