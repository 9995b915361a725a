/* `darknet mcd`: the verb table and the help that lists it, printed from each verb's own
 * command table (commands/command_line.h). */
#include "commands/verbs.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "backend/gemm_backend.h"

static const mcd_command *const verbs[] = {
    &mcd_train_command, &mcd_valid_command, &mcd_calibrate_command, &mcd_check_command,
    &mcd_detect_command, &mcd_import_command,
};

static void print_help(FILE *f)
{
    fprintf(f, "usage: darknet mcd <verb> [options]\n\n"
               "Out-of-distribution detection by Maximum Classifier Discrepancy (Yu & Aizawa,\n"
               "ICCV 2019): one feature extractor, two classifier heads; an image is OOD when\n"
               "the heads disagree (L1 score sum_k |p1_k - p2_k| in [0, 2]).\n\nverbs:\n");
    for (int i = 0; i < MCD_COUNT(verbs); ++i) {
        fprintf(f, "  ");
        mcd_print_command_usage(verbs[i], f);
        fprintf(f, "\n      ");
        for (const char *p = verbs[i]->summary; *p; ++p)
            fprintf(f, *p == '\n' ? "\n      " : "%c", *p);
        fputc('\n', f);
    }
    fprintf(f, "\nevery verb (and every stock command):\n"
               "  -backend onednn|darknet     the CPU code for convolutions, batch norm and\n"
               "      shortcuts: oneDNN (default) or Darknet's own layers; or MCD_BACKEND=NAME\n"
               "  OMP_NUM_THREADS=N           threads (the mcd verbs default to 1)\n"
               "The verbs that read a data set (train, valid, calibrate, detect) take it from\n"
               "-data FILE, else from the cfg's data= key, else cfg/fmnist.data.\n"
               "\n'darknet mcd <verb> -h' gives a verb's options.\n");
}

int run_mcd(int argc, char **argv)
{
    if (argc < 2 || strcmp(argv[1], "-h") == 0 || strcmp(argv[1], "--help") == 0 ||
        strcmp(argv[1], "help") == 0) {
        print_help(argc < 2 ? stderr : stdout);
        return argc < 2 ? 1 : 0;
    }
    /* one gemm thread unless the user's environment asks for more (see gemm_backend.h) */
    if (!getenv("OMP_NUM_THREADS") && !getenv("OPENBLAS_NUM_THREADS")) mcd_gemm_set_threads(1);
    for (int i = 0; i < MCD_COUNT(verbs); ++i)
        if (strcmp(argv[1], verbs[i]->name) == 0) return verbs[i]->run(argc - 1, argv + 1);
    fprintf(stderr, "darknet: error: unknown mcd verb '%s'\n\n", argv[1]);
    print_help(stderr);
    return 1;
}
