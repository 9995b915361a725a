/* Walking a folder tree for the files in it, as `mcd import` reads a user's class folders:
 * nested folders are entered, symbolic links followed (a link that leads back into a
 * folder being walked is a loop, and an error, not an endless walk), names starting with
 * '.' skipped (.git, .DS_Store, editors' files). */
#ifndef MCD_FOLDER_WALK_H
#define MCD_FOLDER_WALK_H

#include "util/string_list.h"

/* Append to files the path of every regular file under dir (dir + "/" + the names below
 * it), in byte order of the path, so that the same tree gives the same list on every
 * machine. *hidden (when non-NULL) counts the entries skipped for their leading '.'.
 * 0, or -1 with an error naming the folder that cannot be read, is not a folder, or
 * closes a symlink loop. */
int mcd_walk_files(const char *dir, mcd_string_list *files, int *hidden);

/* The sub-folders of dir (names, not paths; links to folders count), sorted; regular
 * files directly in dir are appended to loose (when non-NULL). 0, or -1 with an error. */
int mcd_list_subfolders(const char *dir, mcd_string_list *folders, mcd_string_list *loose,
                        int *hidden);

#endif
