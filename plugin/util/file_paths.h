/* Path helpers shared by the commands and the trainer: making an output directory and
 * naming outputs after an input file (the trainer's BASE, from the cfg's name). Errors
 * follow mcd_error.h: -1 and a message naming the directory. */
#ifndef MCD_FILE_PATHS_H
#define MCD_FILE_PATHS_H

#include <stddef.h>

/* Create `dir` and any missing parents, like `mkdir -p`. 0 when it exists afterwards as a
 * directory; -1 with the error set naming the directory that could not be made, or `dir`
 * when it exists but is not a directory. */
int mcd_make_dirs(const char *dir);

/* dir + "/" + name in a new string (no second '/' when dir ends with one), or NULL with the
 * error set when memory runs out. Free it. */
char *mcd_path_join(const char *dir, const char *name);

/* The last component of `path` into out (n bytes, cut to fit), without `ext` when the
 * component ends with it; ext may be NULL. ("cfg/mcd-small.cfg", ".cfg") -> "mcd-small". */
void mcd_base_name(const char *path, const char *ext, char *out, size_t n);

#endif
