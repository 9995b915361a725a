/* Whole folders as one thing: removing one, comparing two, copying a file. What `mcd
 * import` needs to build its output beside the old one and swap it in only when it
 * differs. Links are never followed: a link is compared, copied and removed as a link. */
#ifndef MCD_FILE_TREE_H
#define MCD_FILE_TREE_H

#include "util/string_list.h"

/* The names in dir (not "." and ".."), sorted by bytes. With hidden non-NULL, names
 * starting with '.' are left out and counted there. 0, or -1 with an error naming dir. */
int mcd_read_folder(const char *dir, mcd_string_list *names, int *hidden);

/* rm -rf dir: 0, or -1 with an error naming the first entry that could not go. */
int mcd_remove_tree(const char *dir);

/* 1 when trees a and b hold the same names, each of the same type (folder, file, link),
 * files with the same bytes and links with the same targets; 0 when they differ; -1 with
 * an error when one cannot be read. A top-level entry named `skip` (may be NULL) is left
 * out of the comparison on both sides. */
int mcd_same_tree(const char *a, const char *b, const char *skip);

/* Copy the bytes of src to a new file dst (mode 0644). 0, or -1 with an error. */
int mcd_copy_file(const char *src, const char *dst);

#endif
