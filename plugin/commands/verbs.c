/* `darknet mcd`: the verb table and the help that lists it. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "backend/gemm_backend.h"
#include "commands/verbs.h"

typedef struct mcd_verb {
    const char *name;
    int (*run)(int argc, char **argv);
    const char *usage;
    const char *help;
} mcd_verb;

static const mcd_verb verbs[] = {
    {"train", mcd_train, "train CFG [WEIGHTS] [-data FILE] [-trunk FILE]",
     "pre-train both heads on labeled ID images, then fine-tune with MCD on unlabeled\n"
     "      images; resumes from WEIGHTS"},
    {"valid", mcd_valid,
     "valid CFG WEIGHTS [-data FILE] [-ood LIST] [-transductive] [-csv FILE] [-plot DIR]",
     "score the ID test set and each OOD set: AUROC, AUPR, FPR at 95% TPR, detection error\n"
     "      of MCD L1 and the baselines, the heads' ID accuracy"},
    {"calibrate", mcd_calibrate, "calibrate CFG WEIGHTS [-data FILE] [-tpr 0.95]",
     "pick the L1 threshold that keeps the share tpr of the ID validation images, save it\n"
     "      as WEIGHTS.threshold"},
    {"check", mcd_check, "check CFG [WEIGHTS]",
     "parse CFG, print the trunk, the two heads and the MCD settings; with WEIGHTS, load\n"
     "      them and check that they fit"},
    {"detect", mcd_detect, "detect CFG WEIGHTS [IMAGE|DIR ...] [-video FILE|-camera N]",
     "classify images, a video or a camera; call each input ID or OOD (score above the\n"
     "      threshold of 'calibrate'); print, annotate, log"},
};

static void print_help(FILE *f, const char *prog)
{
    fprintf(f, "usage: %s mcd <verb> [options]\n\n"
               "Out-of-distribution detection by Maximum Classifier Discrepancy (Yu & Aizawa,\n"
               "ICCV 2019): one feature extractor, two classifier heads; an image is OOD when\n"
               "the heads disagree (L1 score sum_k |p1_k - p2_k| in [0, 2]).\n\nverbs:\n",
            prog);
    for (size_t i = 0; i < sizeof verbs / sizeof verbs[0]; ++i)
        fprintf(f, "  %-28s\n      %s\n", verbs[i].usage, verbs[i].help);
    fprintf(f, "\nevery verb (and every stock command):\n"
               "  -backend onednn|darknet     the CPU code for convolutions, batch norm and\n"
               "      shortcuts: oneDNN (default) or Darknet's own layers; or MCD_BACKEND=NAME\n"
               "  OMP_NUM_THREADS=N           threads (the mcd verbs default to 1)\n"
               "\n'%s mcd <verb> -h' gives a verb's options.\n", prog);
}

int run_mcd(int argc, char **argv)
{
    const char *prog = "darknet";
    if (argc < 2 || strcmp(argv[1], "-h") == 0 || strcmp(argv[1], "--help") == 0 ||
        strcmp(argv[1], "help") == 0) {
        print_help(argc < 2 ? stderr : stdout, prog);
        return argc < 2 ? 1 : 0;
    }
    /* one gemm thread unless the user's environment asks for more (see gemm_backend.h) */
    if (!getenv("OMP_NUM_THREADS") && !getenv("OPENBLAS_NUM_THREADS")) mcd_gemm_set_threads(1);
    for (size_t i = 0; i < sizeof verbs / sizeof verbs[0]; ++i)
        if (strcmp(argv[1], verbs[i].name) == 0) return verbs[i].run(argc - 1, argv + 1);
    fprintf(stderr, "darknet: error: unknown mcd verb '%s'\n\n", argv[1]);
    print_help(stderr, prog);
    return 1;
}
