#include "test_util.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <math.h>
#include <unistd.h>
#include <zlib.h>

#include "network/mcd_network.h"
#include "network/weights_file.h"

const char *test_darknet_bin(void)
{
    const char *b = getenv("DARKNET_BIN");
    return b && *b ? b : "bin/darknet";
}

CU_pSuite test_add_suite(const char *name)
{
    return CU_add_suite(name, NULL, NULL);
}

int test_run_command(const char *cmd, char *out, size_t cap)
{
    char full[4096];
    snprintf(full, sizeof full, "%s 2>&1", cmd);
    FILE *p = popen(full, "r");
    if (!p) return -1;
    size_t n = fread(out, 1, cap - 1, p);
    out[n] = 0;
    while (fgetc(p) != EOF) {} /* drain */
    int st = pclose(p);
    if (st == -1 || !WIFEXITED(st)) return -1;
    return WEXITSTATUS(st);
}

const char *test_path(const char *dir, const char *name)
{
    static char buf[8][640];
    static int k;
    k = (k + 1) % 8;
    snprintf(buf[k], sizeof buf[k], "%s/%s", dir, name);
    return buf[k];
}

int test_run_darknet(char *out, size_t cap, const char *fmt, ...)
{
    char args[3000], cmd[4096];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(args, sizeof args, fmt, ap);
    va_end(ap);
    snprintf(cmd, sizeof cmd, "%s %s", test_darknet_bin(), args);
    return test_run_command(cmd, out, cap);
}

int test_write_text(const char *path, const char *text)
{
    FILE *f = fopen(path, "wb");
    if (!f) return -1;
    fputs(text, f);
    return fclose(f) == 0 ? 0 : -1;
}

const char *test_write_temp(const char *text)
{
    static char path[64];
    strcpy(path, "/tmp/mcd-test-XXXXXX");
    int fd = mkstemp(path);
    if (fd < 0) return NULL;
    FILE *f = fdopen(fd, "w");
    fputs(text, f);
    fclose(f);
    return path;
}

int test_close(double a, double b, double atol, double rtol)
{
    return fabs(a - b) <= atol + rtol * fabs(b);
}

int test_read_fixture(const char *path, int (*on_line)(void *ctx, char *key, char *rest),
                      void *ctx)
{
    FILE *f = fopen(path, "r");
    if (!f) {
        printf("\ncannot open %s\n", path);
        return -1;
    }
    char *line = NULL;
    size_t cap = 0;
    int lineno = 0, ok = 1;
    while (ok && getline(&line, &cap, f) > 0) {
        ++lineno;
        line[strcspn(line, "\r\n")] = 0;
        if (!line[0] || line[0] == '#') continue;
        char *sp = strchr(line, ' ');
        char *rest = sp ? sp + 1 : line + strlen(line);
        if (sp) *sp = 0;
        ok = on_line(ctx, line, rest) == 0;
        if (!ok) printf("\n%s:%d: bad line '%s'\n", path, lineno, line);
    }
    free(line);
    fclose(f);
    return ok ? 0 : -1;
}

double *test_parse_values(char *s, int *n, int per_item)
{
    char *end;
    long k = strtol(s, &end, 10);
    if (end == s || k < 0 || k > 10000000) return NULL;
    size_t m = (size_t)k * per_item;
    double *v = malloc(sizeof(double) * (m ? m : 1));
    for (size_t i = 0; i < m; ++i) {
        s = end;
        v[i] = strtod(s, &end);
        if (end == s) {
            free(v);
            return NULL;
        }
    }
    *n = (int)k;
    return v;
}

static int png_chunk(FILE *f, const char *type, const unsigned char *data, unsigned len)
{
    unsigned char head[8] = {len >> 24, len >> 16 & 255, len >> 8 & 255, len & 255};
    memcpy(head + 4, type, 4);
    uLong crc = crc32(crc32(0L, Z_NULL, 0), head + 4, 4);
    if (len) crc = crc32(crc, data, len);
    unsigned char tail[4] = {crc >> 24, crc >> 16 & 255, crc >> 8 & 255, crc & 255};
    return fwrite(head, 1, 8, f) == 8 && (!len || fwrite(data, 1, len, f) == len) &&
                   fwrite(tail, 1, 4, f) == 4
               ? 0
               : -1;
}

int test_write_zero_png(const char *path, unsigned w, unsigned h, unsigned rows)
{
    FILE *f = fopen(path, "wb");
    if (!f) return -1;
    unsigned char ihdr[13] = {w >> 24, w >> 16 & 255, w >> 8 & 255, w & 255,
                              h >> 24, h >> 16 & 255, h >> 8 & 255, h & 255,
                              8, 0, 0, 0, 0}; /* 8-bit grey, deflate, no interlace */
    int rc = fwrite("\x89PNG\r\n\x1a\n", 1, 8, f) == 8 ? png_chunk(f, "IHDR", ihdr, 13) : -1;
    /* the rows (a filter byte and w zeros each) deflated as one stream, an IDAT chunk for
     * each piece of output */
    z_stream z;
    memset(&z, 0, sizeof z);
    unsigned char *row = calloc((size_t)w + 1, 1), *buf = malloc(1 << 20);
    if (rc == 0 && rows && (!row || !buf || deflateInit(&z, 9) != Z_OK)) rc = -1;
    for (unsigned r = 0; rc == 0 && r < rows; ++r) {
        z.next_in = row;
        z.avail_in = w + 1;
        int flush = r + 1 == rows ? Z_FINISH : Z_NO_FLUSH, zr;
        do {
            z.next_out = buf;
            z.avail_out = 1 << 20;
            zr = deflate(&z, flush);
            unsigned have = (1 << 20) - z.avail_out;
            if (have && png_chunk(f, "IDAT", buf, have)) rc = -1;
        } while (rc == 0 && zr != Z_STREAM_ERROR &&
                 (z.avail_out == 0 || (flush == Z_FINISH && zr != Z_STREAM_END)));
    }
    if (rows) deflateEnd(&z);
    free(row);
    free(buf);
    if (rc == 0) rc = png_chunk(f, "IEND", NULL, 0);
    return fclose(f) == 0 ? rc : -1;
}

int test_run_measured(const char *cmd, char *out, size_t cap, double *seconds, long *max_rss_kb)
{
    char tfile[] = "/tmp/mcd-time-XXXXXX", full[4096];
    int fd = mkstemp(tfile);
    if (fd < 0) return -1;
    close(fd);
    snprintf(full, sizeof full, "/usr/bin/time -o %s -f '%%e %%M' %s", tfile, cmd);
    int rc = test_run_command(full, out, cap);
    FILE *f = fopen(tfile, "r");
    *seconds = -1;
    *max_rss_kb = -1;
    /* /usr/bin/time writes "Command exited with non-zero status N" before its format */
    char line[256];
    while (f && fgets(line, sizeof line, f)) sscanf(line, "%lf %ld", seconds, max_rss_kb);
    if (f) fclose(f);
    unlink(tfile);
    return rc;
}

int test_is_error(int rc, const char *output, const char *case_name, const char *want1,
                  const char *want2)
{
    int ok = rc == 1 && strstr(output, "darknet: error: ") && strstr(output, want1) &&
             (!want2 || strstr(output, want2));
    if (!ok) printf("\n%s: exit %d, want '%s'%s%s:\n%s\n", case_name, rc, want1,
                    want2 ? " and " : "", want2 ? want2 : "", output);
    return ok;
}

int test_make_small_network(const char *dir)
{
    char cmd[1024];
    snprintf(cmd, sizeof cmd, "sed -e 's/^batch=128/batch=16/' cfg/mcd-small.cfg > %s",
             test_path(dir, "small.cfg"));
    if (system(cmd) != 0) return -1;
    network *net = mcd_parse_network_cfg(test_path(dir, "small.cfg"));
    if (!net) return -1;
    int rc = mcd_save_weights(net, test_path(dir, "small.weights"));
    free_network(net);
    return rc;
}
