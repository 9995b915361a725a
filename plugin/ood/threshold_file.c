#include "ood/threshold_file.h"

#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "util/mcd_error.h"

void mcd_threshold_path(const char *weights, char *buf, size_t n)
{
    snprintf(buf, n, "%s.threshold", weights);
}

int mcd_threshold_save(const char *path, const mcd_threshold *t)
{
    /* a temporary file of its own (two calibrations of one weights file do not share one),
     * on disk before it is renamed over the old threshold: a crash or a kill leaves the
     * old file or the new one, whole */
    char tmp[4096];
    snprintf(tmp, sizeof tmp, "%s.XXXXXX", path);
    int fd = mkstemp(tmp);
    FILE *f = fd >= 0 ? fdopen(fd, "w") : NULL;
    if (!f) {
        mcd_set_error("cannot write threshold file '%s': %s", tmp, strerror(errno));
        if (fd >= 0) {
            close(fd);
            unlink(tmp);
        }
        return -1;
    }
    mode_t mask = umask(0); /* mkstemp makes it 0600: give it fopen's 0666 less the umask */
    umask(mask);
    if (fchmod(fd, 0666 & ~mask) != 0) {} /* only its permissions: not worth failing for */
    fprintf(f, "# darknet-mcd threshold: an image whose MCD L1 score is above it is OOD\n"
               "threshold=%.9g\ntpr=%.9g\nid_list=%s\nid_images=%d\n",
            t->threshold, t->tpr, t->id_list, t->id_images);
    int bad = fflush(f) != 0 || fsync(fd) != 0;
    if (fclose(f) != 0 || bad || rename(tmp, path) != 0) {
        mcd_set_error("cannot write threshold file '%s': %s", path, strerror(errno));
        unlink(tmp);
        return -1;
    }
    return 0;
}

static int parse_double(const char *path, int line, const char *key, const char *val, double *out)
{
    char *end;
    errno = 0;
    double v = strtod(val, &end);
    if (*val == 0 || *end != 0 || errno || !isfinite(v)) {
        mcd_set_error("%s:%d: %s=%s is not a finite number", path, line, key, val);
        return -1;
    }
    *out = v;
    return 0;
}

int mcd_threshold_load(const char *path, mcd_threshold *t)
{
    FILE *f = fopen(path, "r");
    if (!f) {
        mcd_set_error("cannot open threshold file '%s': %s (run 'darknet mcd calibrate' "
                      "or pass -thresh)", path, strerror(errno));
        return -1;
    }
    memset(t, 0, sizeof *t);
    int have_threshold = 0, line = 0, rc = 0;
    char buf[2048];
    while (rc == 0 && fgets(buf, sizeof buf, f)) {
        ++line;
        buf[strcspn(buf, "\r\n")] = 0;
        if (buf[0] == 0 || buf[0] == '#') continue;
        char *eq = strchr(buf, '=');
        if (!eq) {
            mcd_set_error("%s:%d: expected key=value, got '%s'", path, line, buf);
            rc = -1;
            break;
        }
        *eq = 0;
        const char *key = buf, *val = eq + 1;
        double v;
        if (strcmp(key, "threshold") == 0) {
            rc = parse_double(path, line, key, val, &t->threshold);
            have_threshold = 1;
        } else if (strcmp(key, "tpr") == 0) {
            rc = parse_double(path, line, key, val, &t->tpr);
        } else if (strcmp(key, "id_images") == 0) {
            rc = parse_double(path, line, key, val, &v);
            /* a count: converting anything else to int is undefined (found by make fuzz) */
            if (rc == 0 && (v < 0 || v > 2147483647.0 || v != floor(v))) {
                mcd_set_error("%s:%d: id_images=%s is not a count of images", path, line, val);
                rc = -1;
            }
            if (rc == 0) t->id_images = (int)v;
        } else if (strcmp(key, "id_list") == 0) {
            snprintf(t->id_list, sizeof t->id_list, "%s", val);
        } else {
            mcd_set_error("%s:%d: unknown key '%s'", path, line, key);
            rc = -1;
        }
    }
    fclose(f);
    if (rc == 0 && !have_threshold) {
        mcd_set_error("%s: no threshold= line", path);
        rc = -1;
    }
    return rc;
}
