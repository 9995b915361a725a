#include "io/folder_walk.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "util/file_paths.h"
#include "util/file_tree.h"
#include "util/mcd_error.h"

/* The folders from the walk's root down to the one being read: a folder met again on
 * this chain (same device and inode) is a link loop. */
typedef struct folder_chain {
    dev_t dev;
    ino_t ino;
    const struct folder_chain *up;
} folder_chain;

static int by_bytes(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

/* stat dir into st; -1 with an error unless it is a folder. */
static int check_folder(const char *dir, struct stat *st)
{
    if (stat(dir, st) != 0) {
        mcd_set_error("cannot read folder '%s': %s", dir, strerror(errno));
        return -1;
    }
    if (!S_ISDIR(st->st_mode)) {
        mcd_set_error("'%s' is not a folder", dir);
        return -1;
    }
    return 0;
}

static int walk(const char *dir, const folder_chain *up, mcd_string_list *files, int *hidden)
{
    struct stat st;
    if (check_folder(dir, &st)) return -1;
    for (const folder_chain *c = up; c; c = c->up)
        if (c->dev == st.st_dev && c->ino == st.st_ino) {
            mcd_set_error("symlink loop: '%s' leads back to a folder it is inside", dir);
            return -1;
        }
    folder_chain here = {st.st_dev, st.st_ino, up};
    mcd_string_list names = {0};
    int rc = mcd_read_folder(dir, &names, hidden);
    for (int i = 0; rc == 0 && i < names.n; ++i) {
        char *path = mcd_path_join(dir, names.v[i]);
        if (!path) {
            rc = -1;
            break;
        }
        struct stat s;
        if (stat(path, &s) != 0) {
            /* a dangling link or a file gone since readdir: unreadable, say which */
            mcd_set_error("cannot read '%s': %s", path, strerror(errno));
            rc = -1;
        } else if (S_ISDIR(s.st_mode)) {
            rc = walk(path, &here, files, hidden);
        } else if (S_ISREG(s.st_mode)) {
            rc = mcd_string_list_push(files, path);
        } /* sockets, devices, fifos: not images, not read */
        free(path);
    }
    mcd_string_list_free(&names);
    return rc;
}

int mcd_walk_files(const char *dir, mcd_string_list *files, int *hidden)
{
    int first = files->n;
    int rc = walk(dir, NULL, files, hidden);
    /* one folder's entries come sorted, but "a/b" vs "a.png" order by path needs a sort */
    if (rc == 0 && files->n - first > 1)
        qsort(files->v + first, (size_t)(files->n - first), sizeof *files->v, by_bytes);
    return rc;
}

int mcd_list_subfolders(const char *dir, mcd_string_list *folders, mcd_string_list *loose,
                        int *hidden)
{
    struct stat st;
    if (check_folder(dir, &st)) return -1;
    mcd_string_list names = {0};
    int rc = mcd_read_folder(dir, &names, hidden);
    for (int i = 0; rc == 0 && i < names.n; ++i) {
        char *path = mcd_path_join(dir, names.v[i]);
        struct stat s;
        if (!path) rc = -1;
        else if (stat(path, &s) != 0) {
            mcd_set_error("cannot read '%s': %s", path, strerror(errno));
            rc = -1;
        } else if (S_ISDIR(s.st_mode)) rc = mcd_string_list_push(folders, names.v[i]);
        else if (S_ISREG(s.st_mode) && loose) rc = mcd_string_list_push(loose, path);
        free(path);
    }
    mcd_string_list_free(&names);
    return rc;
}
