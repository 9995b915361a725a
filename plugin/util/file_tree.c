#define _GNU_SOURCE
#include "util/file_tree.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "util/file_paths.h"
#include "util/mcd_error.h"

static int by_bytes(const void *x, const void *y)
{
    return strcmp(*(char *const *)x, *(char *const *)y);
}

int mcd_read_folder(const char *dir, mcd_string_list *names, int *hidden)
{
    DIR *d = opendir(dir);
    if (!d) {
        mcd_set_error("cannot read folder '%s': %s", dir, strerror(errno));
        return -1;
    }
    struct dirent *e;
    int rc = 0;
    errno = 0;
    while (rc == 0 && (e = readdir(d))) {
        if (strcmp(e->d_name, ".") == 0 || strcmp(e->d_name, "..") == 0) continue;
        if (hidden && e->d_name[0] == '.') {
            ++*hidden;
            continue;
        }
        rc = mcd_string_list_push(names, e->d_name);
        errno = 0;
    }
    if (rc == 0 && errno) {
        mcd_set_error("cannot read folder '%s': %s", dir, strerror(errno));
        rc = -1;
    }
    closedir(d);
    if (names->n > 1) qsort(names->v, (size_t)names->n, sizeof *names->v, by_bytes);
    return rc;
}

/* The names in dir but `skip`. */
static int names_of(const char *dir, mcd_string_list *names, const char *skip)
{
    mcd_string_list all = {0};
    int rc = mcd_read_folder(dir, &all, NULL);
    for (int i = 0; rc == 0 && i < all.n; ++i)
        if (!skip || strcmp(all.v[i], skip)) rc = mcd_string_list_push(names, all.v[i]);
    mcd_string_list_free(&all);
    return rc;
}

int mcd_remove_tree(const char *dir)
{
    struct stat st;
    if (lstat(dir, &st) != 0) {
        if (errno == ENOENT) return 0;
        mcd_set_error("cannot remove '%s': %s", dir, strerror(errno));
        return -1;
    }
    if (S_ISDIR(st.st_mode)) {
        mcd_string_list names = {0};
        int rc = names_of(dir, &names, NULL);
        for (int i = 0; rc == 0 && i < names.n; ++i) {
            char *p = mcd_path_join(dir, names.v[i]);
            rc = p ? mcd_remove_tree(p) : -1;
            free(p);
        }
        mcd_string_list_free(&names);
        if (rc) return -1;
        if (rmdir(dir) != 0) {
            mcd_set_error("cannot remove folder '%s': %s", dir, strerror(errno));
            return -1;
        }
        return 0;
    }
    if (unlink(dir) != 0) {
        mcd_set_error("cannot remove '%s': %s", dir, strerror(errno));
        return -1;
    }
    return 0;
}

static int same_bytes(const char *a, const char *b)
{
    FILE *fa = fopen(a, "rb"), *fb = fopen(b, "rb");
    int same = -1;
    if (!fa || !fb) {
        mcd_set_error("cannot read '%s': %s", fa ? b : a, strerror(errno));
    } else {
        char ba[65536], bb[65536];
        size_t na, nb;
        same = 1;
        do {
            na = fread(ba, 1, sizeof ba, fa);
            nb = fread(bb, 1, sizeof bb, fb);
            if (na != nb || memcmp(ba, bb, na)) same = 0;
        } while (same && na > 0);
    }
    if (fa) fclose(fa);
    if (fb) fclose(fb);
    return same;
}

int mcd_same_tree(const char *a, const char *b, const char *skip)
{
    struct stat sa, sb;
    if (lstat(a, &sa) != 0 || lstat(b, &sb) != 0) return 0;
    if ((sa.st_mode & S_IFMT) != (sb.st_mode & S_IFMT)) return 0;
    if (S_ISLNK(sa.st_mode)) {
        char ta[4096], tb[4096];
        ssize_t na = readlink(a, ta, sizeof ta), nb = readlink(b, tb, sizeof tb);
        return na >= 0 && na == nb && memcmp(ta, tb, (size_t)na) == 0;
    }
    if (S_ISREG(sa.st_mode)) return sa.st_size != sb.st_size ? 0 : same_bytes(a, b);
    if (!S_ISDIR(sa.st_mode)) return 0;
    mcd_string_list na = {0}, nb = {0};
    int same = names_of(a, &na, skip) || names_of(b, &nb, skip) ? -1 : na.n == nb.n;
    if (same == 1) {
        for (int i = 0; same == 1 && i < na.n; ++i) {
            if (strcmp(na.v[i], nb.v[i])) {
                same = 0;
                break;
            }
            char *pa = mcd_path_join(a, na.v[i]), *pb = mcd_path_join(b, nb.v[i]);
            same = pa && pb ? mcd_same_tree(pa, pb, NULL) : -1;
            free(pa);
            free(pb);
        }
    }
    mcd_string_list_free(&na);
    mcd_string_list_free(&nb);
    return same;
}

int mcd_copy_file(const char *src, const char *dst)
{
    int in = open(src, O_RDONLY | O_CLOEXEC);
    if (in < 0) {
        mcd_set_error("cannot read '%s': %s", src, strerror(errno));
        return -1;
    }
    int out = open(dst, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0644);
    if (out < 0) {
        mcd_set_error("cannot write '%s': %s", dst, strerror(errno));
        close(in);
        return -1;
    }
    char buf[65536];
    ssize_t n;
    int rc = 0;
    while (rc == 0 && (n = read(in, buf, sizeof buf)) > 0)
        for (ssize_t off = 0; off < n;) {
            ssize_t w = write(out, buf + off, (size_t)(n - off));
            if (w < 0) {
                if (errno == EINTR) continue;
                mcd_set_error("cannot write '%s': %s", dst, strerror(errno));
                rc = -1;
                break;
            }
            off += w;
        }
    if (n < 0 && rc == 0) {
        mcd_set_error("cannot read '%s': %s", src, strerror(errno));
        rc = -1;
    }
    if (close(out) != 0 && rc == 0) {
        mcd_set_error("cannot write '%s': %s", dst, strerror(errno));
        rc = -1;
    }
    close(in);
    return rc;
}
