/* Writing an imported data set (io/folder_import.h's plan) as the verbs read it:
 *
 *   OUT/mcd.data                 every key the verbs need; backup=OUT/backup/
 *   OUT/labels.list, names.list  the label tokens Darknet matches, the class names
 *   OUT/train.list valid.list id-test.list unlabeled.list ood-NAME.list
 *   OUT/unlabeled-id.list unlabeled-ood.list   (the pool's known parts: transductive keys)
 *   OUT/sources.tsv              each entry's source file
 *   OUT/images/<split>/<index>_<token>.<ext>   links to (or copies of) the sources
 *   OUT/<cfg name>.cfg           with -cfg: the cfg for these classes and this data
 *
 * Darknet finds an image's label as the label name its path contains (a substring), so
 * the labels are tokens like "_c03." that occur once in each labeled entry's path and
 * nowhere else; the class names live in names.list. The output is built in a folder
 * beside OUT and swapped in whole: a failed import leaves OUT as it was, and an import
 * whose output would not differ leaves every file untouched. OUT/backup/ (the training
 * runs of an earlier import) is carried over, never removed. */
#ifndef MCD_IMPORT_WRITER_H
#define MCD_IMPORT_WRITER_H

#include <stddef.h>

#include "io/folder_import.h"

typedef struct mcd_import_output {
    const char *out;          /* the folder; its path is written into the lists as given */
    int copy;                 /* 0: symbolic links to the sources, 1: copies */
    const char *cfg;          /* a cfg to write for these classes, or NULL */
} mcd_import_output;

typedef struct mcd_import_written {
    char data[4096];          /* OUT/mcd.data */
    char cfg[4096];           /* OUT/<name>.cfg, "" without a cfg */
    int unchanged;            /* 1: OUT already held this output; nothing was written */
    int replaced;             /* 1: an earlier import's OUT was replaced */
} mcd_import_written;

/* Refuse an output folder that is an input folder, inside one or holds one, whose path
 * has blanks (Darknet's .data reader drops them), or that exists and was not written by
 * an import (unless empty); before the images are read, so that a bad -out fails at once.
 * 0, or -1 with an error naming the folder. */
int mcd_import_check_output(const mcd_import_options *o, const char *out);

/* Write the plan; 0, or -1 with an error (and OUT as it was). */
int mcd_import_write(const mcd_import_plan *p, const mcd_import_output *o, mcd_import_written *w);

#endif
