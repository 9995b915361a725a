/* gate: the OOD gate of darknet-mcd in a program of its own, through include/mcd.h alone.
 *
 *   cc gate.c $(pkg-config --cflags --libs darknet-mcd) -o gate
 *   ./gate CFG WEIGHTS IMAGE...
 *
 * For each image it prints what `darknet mcd detect` prints: the verdict (OOD when the
 * two heads disagree more than the calibrated threshold, WEIGHTS.threshold), the score,
 * the class and its probability. Exit status 1 when any image could not be classified. */
#include <stdio.h>

#include <mcd.h>

int main(int argc, char **argv)
{
    if (argc < 4) {
        fprintf(stderr, "usage: %s CFG WEIGHTS IMAGE...   (%s)\n", argv[0], mcd_version());
        return 1;
    }
    mcd_detector *d = mcd_detector_open(argv[1], argv[2], NULL);
    if (!d) {
        fprintf(stderr, "gate: %s\n", mcd_last_error());
        return 1;
    }
    int failed = 0;
    for (int i = 3; i < argc; ++i) {
        mcd_result r;
        if (mcd_detector_classify_file(d, argv[i], &r)) {
            fprintf(stderr, "gate: %s\n", mcd_last_error());
            failed = 1;
            continue;
        }
        char index[16];
        snprintf(index, sizeof index, "%d", r.class_index);
        printf("%s: %-3s  score %.4f  %s %.2f%%\n", argv[i], r.is_ood ? "OOD" : "ID", r.score,
               r.class_name ? r.class_name : index, 100.0 * r.prob);
    }
    mcd_detector_close(d);
    return failed;
}
