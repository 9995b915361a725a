#include "idx_reader.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <zlib.h>

#define IDX_UBYTE 0x08

/* Read exactly n bytes. Returns 0; or -1 with err set: a short read is a truncated file,
 * a zlib error a corrupt gzip stream. */
static int read_exact(gzFile f, const char *path, const char *what, unsigned char *buf,
                      size_t n, char *err, size_t errcap)
{
    size_t got = 0;
    while (got < n) {
        size_t want = n - got > (1u << 30) ? (1u << 30) : n - got;
        int r = gzread(f, buf + got, (unsigned)want);
        if (r < 0) {
            int code;
            const char *msg = gzerror(f, &code);
            if (code == Z_BUF_ERROR) /* zlib's "unexpected end of file": a cut gzip stream */
                snprintf(err, errcap, "%s: truncated: the gzip stream ends after %zu of the %zu "
                         "bytes of the %s", path, got, n, what);
            else
                snprintf(err, errcap, "%s: corrupt gzip data in the %s: %s", path, what, msg);
            return -1;
        }
        if (r == 0) break;
        got += (size_t)r;
    }
    if (got < n) {
        snprintf(err, errcap, "%s: truncated: the %s has %zu of %zu bytes", path, what, got, n);
        return -1;
    }
    return 0;
}

static uint32_t big_endian_u32(const unsigned char *b)
{
    return (uint32_t)b[0] << 24 | (uint32_t)b[1] << 16 | (uint32_t)b[2] << 8 | (uint32_t)b[3];
}

int idx_open(idx_file *f, const char *path, int ndims, char *err, size_t errcap)
{
    memset(f, 0, sizeof *f);
    f->path = path;
    if (ndims < 1 || ndims > IDX_MAX_DIMS) {
        snprintf(err, errcap, "%s: cannot read IDX data with %d dimensions", path, ndims);
        return -1;
    }
    errno = 0;
    f->gz = gzopen(path, "rb");
    if (!f->gz) {
        snprintf(err, errcap, "%s: cannot open: %s", path, errno ? strerror(errno) : "out of memory");
        return -1;
    }
    unsigned char header[4 + 4 * IDX_MAX_DIMS];
    if (read_exact(f->gz, path, "IDX header", header, 4, err, errcap)) goto fail;
    uint32_t magic = big_endian_u32(header);
    uint32_t want_magic = IDX_UBYTE << 8 | (uint32_t)ndims;
    if (magic != want_magic) {
        snprintf(err, errcap,
                 "%s: bad magic number 0x%08x, expected 0x%08x (IDX, unsigned bytes, %d dimension%s)",
                 path, magic, want_magic, ndims, ndims == 1 ? "" : "s");
        goto fail;
    }
    if (read_exact(f->gz, path, "IDX header", header + 4, 4 * (size_t)ndims, err, errcap)) goto fail;
    f->ndims = ndims;
    f->size = 1;
    for (int i = 0; i < ndims; ++i) {
        f->dims[i] = big_endian_u32(header + 4 + 4 * i);
        /* 2^31 bytes is far above any MNIST-like file: a larger product is a broken header */
        if (f->dims[i] == 0 || f->dims[i] > (1u << 31) / f->size) {
            snprintf(err, errcap, "%s: bad IDX header: dimension %d is %u", path, i, f->dims[i]);
            goto fail;
        }
        f->size *= f->dims[i];
    }
    return 0;
fail:
    idx_close(f);
    return -1;
}

int idx_read_data(idx_file *f, char *err, size_t errcap)
{
    const char *path = f->path;
    free(f->data);
    f->data = malloc(f->size);
    if (!f->data) {
        snprintf(err, errcap, "%s: out of memory for %zu bytes", path, f->size);
        return -1;
    }
    if (read_exact(f->gz, path, "data", f->data, f->size, err, errcap)) return -1;
    /* Reading past the end also makes zlib check the gzip CRC and length. */
    unsigned char extra;
    int r = gzread(f->gz, &extra, 1);
    if (r > 0) {
        snprintf(err, errcap, "%s: has data after the %zu bytes that its header announces", path,
                 f->size);
        return -1;
    }
    if (r < 0) {
        int code;
        const char *msg = gzerror(f->gz, &code);
        if (code == Z_BUF_ERROR)
            snprintf(err, errcap, "%s: truncated: the gzip stream has no end (its CRC and length)",
                     path);
        else
            snprintf(err, errcap, "%s: corrupt gzip data at the end of the file: %s", path, msg);
        return -1;
    }
    gzclose(f->gz);
    f->gz = NULL;
    return 0;
}

void idx_close(idx_file *f)
{
    if (f->gz) gzclose(f->gz);
    f->gz = NULL;
    free(f->data);
    f->data = NULL;
}
