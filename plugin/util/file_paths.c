#include "util/file_paths.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "util/mcd_error.h"

static int is_dir(const char *path)
{
    struct stat st;
    return stat(path, &st) == 0 && S_ISDIR(st.st_mode);
}

int mcd_make_dirs(const char *dir)
{
    if (!dir || !*dir) {
        mcd_set_error("cannot create a directory with an empty name");
        return -1;
    }
    char *buf = strdup(dir);
    if (!buf) {
        mcd_set_error("out of memory for the directory name '%s'", dir);
        return -1;
    }
    int rc = 0;
    /* each prefix ending before a '/' (the first character is a name or the root), then
     * the whole path */
    for (char *p = buf + 1; rc == 0; ++p) {
        if (*p != '/' && *p != 0) continue;
        char c = *p;
        *p = 0;
        if (mkdir(buf, 0777) != 0 && errno != EEXIST) {
            mcd_set_error("cannot create directory '%s': %s", buf, strerror(errno));
            rc = -1;
        }
        *p = c;
        if (!c) break;
    }
    /* mkdir's EEXIST also covers a file of that name */
    if (rc == 0 && !is_dir(dir)) {
        mcd_set_error("'%s' exists and is not a directory", dir);
        rc = -1;
    }
    free(buf);
    return rc;
}

void mcd_base_name(const char *path, const char *ext, char *out, size_t n)
{
    if (!n) return;
    const char *s = strrchr(path, '/');
    s = s ? s + 1 : path;
    size_t len = strlen(s), elen = ext ? strlen(ext) : 0;
    if (elen && len >= elen && strcmp(s + len - elen, ext) == 0) len -= elen;
    if (len >= n) len = n - 1;
    memcpy(out, s, len);
    out[len] = 0;
}

char *mcd_path_join(const char *dir, const char *name)
{
    size_t n = strlen(dir), m = strlen(name);
    char *p = malloc(n + m + 2);
    if (!p) {
        mcd_set_error("out of memory (a path under '%s')", dir);
        return NULL;
    }
    memcpy(p, dir, n);
    size_t k = n;
    if (n && dir[n - 1] != '/') p[k++] = '/';
    memcpy(p + k, name, m + 1);
    return p;
}
