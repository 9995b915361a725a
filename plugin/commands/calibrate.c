/* `darknet mcd calibrate CFG WEIGHTS [-data FILE] [-tpr 0.95]`: pick the MCD L1 threshold
 * that keeps the share tpr of the ID validation images and save it as WEIGHTS.threshold. */
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "io/data_lists.h"
#include "commands/verbs.h"
#include "util/mcd_error.h"
#include "ood/ood_metrics.h"
#include "ood/ood_scores.h"
#include "ood/threshold_file.h"

#define DEFAULT_DATA "cfg/fmnist.data"

static void usage(FILE *f)
{
    fprintf(f,
        "usage: darknet mcd calibrate CFG WEIGHTS [-data FILE] [-tpr 0.95]\n"
        "  Scores the ID validation images (the .data file's valid= list) and saves, as\n"
        "  WEIGHTS.threshold, the smallest MCD L1 score t such that the share tpr of them\n"
        "  has score <= t (an image is OOD when its score is above t). No OOD data is needed.\n"
        "  -data FILE   .data file (default " DEFAULT_DATA ")\n"
        "  -tpr X       share of ID images to keep, in (0, 1] (default 0.95)\n");
}

static void die_usage(const char *fmt, const char *arg)
{
    fprintf(stderr, "darknet: error: ");
    fprintf(stderr, fmt, arg);
    fprintf(stderr, "\n\n");
    usage(stderr);
    exit(1);
}

int mcd_calibrate(int argc, char **argv)
{
    const char *pos[2] = {NULL, NULL};
    const char *data = DEFAULT_DATA;
    double tpr = 0.95;
    int npos = 0;
    for (int i = 1; i < argc; ++i) {
        const char *a = argv[i];
        if (strcmp(a, "-h") == 0 || strcmp(a, "--help") == 0) {
            usage(stdout);
            return 0;
        }
        int takes_value = !strcmp(a, "-data") || !strcmp(a, "-tpr");
        if (takes_value && (i + 1 >= argc || argv[i + 1][0] == 0))
            die_usage("option %s needs a value", a);
        if (!strcmp(a, "-data")) data = argv[++i];
        else if (!strcmp(a, "-tpr")) {
            const char *v = argv[++i];
            char *end;
            errno = 0;
            tpr = strtod(v, &end);
            if (*end || errno || !(tpr > 0 && tpr <= 1))
                die_usage("-tpr %s: expected a share of ID images in (0, 1], e.g. 0.95", v);
        } else if (a[0] == '-' && a[1]) die_usage("unknown option '%s'", a);
        else if (npos < 2) pos[npos++] = a;
        else die_usage("unexpected argument '%s' (CFG and WEIGHTS are the only positionals)", a);
    }
    if (npos < 2) {
        usage(stderr);
        return 1;
    }
    const char *cfg = pos[0], *weights = pos[1];

    list *options = mcd_read_data_file(data);
    if (!options) mcd_die();
    const char *valid = mcd_data_value(options, data, "valid");
    if (!valid) mcd_die();
    int n;
    char **paths = mcd_read_list(valid, &n, 1);
    if (!paths) mcd_die();

    mcd_layout m;
    network *net = ood_load_network(cfg, weights, &m);
    if (!net) mcd_die();
    ood_image_scores *sc = malloc(sizeof *sc * n);
    double *l1 = malloc(sizeof(double) * n);
    if (!sc || !l1 || ood_score_images(net, &m, paths, n, valid, "scoring ID validation images", sc))
        mcd_die();
    for (int i = 0; i < n; ++i) l1[i] = sc[i].raw[OOD_MCD_L1];

    mcd_threshold t = {.tpr = tpr, .id_images = n};
    if (ood_calibration_threshold(l1, n, tpr, &t.threshold)) mcd_die();
    snprintf(t.id_list, sizeof t.id_list, "%s", valid);
    int kept = 0;
    double lo = l1[0], hi = l1[0];
    for (int i = 0; i < n; ++i) {
        kept += !ood_is_ood(l1[i], t.threshold);
        lo = l1[i] < lo ? l1[i] : lo;
        hi = l1[i] > hi ? l1[i] : hi;
    }
    char path[4096];
    mcd_threshold_path(weights, path, sizeof path);
    if (mcd_threshold_save(path, &t)) mcd_die();
    printf("%d ID validation images (%s): MCD L1 scores from %.6g to %.6g\n", n, valid, lo, hi);
    printf("threshold %.9g keeps %.2f%% of them (%d of %d; asked for %.4g%%): an image whose "
           "L1 score is above it is OOD\n", t.threshold, 100.0 * kept / n, kept, n, 100 * tpr);
    printf("saved %s\n", path);
    free(sc);
    free(l1);
    mcd_free_list(paths, n);
    free_network(net);
    return 0;
}
