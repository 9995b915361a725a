/* Reader for IDX files (the format of MNIST and Fashion-MNIST), gzip-compressed as Debian's
 * dataset-fashion-mnist ships them (zlib also reads an uncompressed file as it is).
 *
 * IDX: a 4-byte magic (0, 0, data type, number of dimensions), one big-endian uint32 per
 * dimension, then the data in row-major order. Only unsigned bytes (type 0x08) are read.
 * idx_open reads and checks the header, so that the caller can check the dimensions before
 * any data is read; idx_read_data then checks that the data is exactly as long as the
 * header says (no truncation, no trailing bytes) and that the gzip stream is intact (CRC). */
#ifndef IDX_READER_H
#define IDX_READER_H

#include <stddef.h>
#include <stdint.h>
#include <zlib.h>

#define IDX_MAX_DIMS 3

typedef struct idx_file {
    const char *path;
    gzFile gz;
    int ndims;
    uint32_t dims[IDX_MAX_DIMS];
    size_t size;            /* product of dims: the number of data bytes */
    unsigned char *data;    /* after idx_read_data */
} idx_file;

/* Open an IDX file of unsigned bytes with `ndims` dimensions and read its header. Returns 0,
 * or -1 with a message that names the file in err (f is then closed). */
int idx_open(idx_file *f, const char *path, int ndims, char *err, size_t errcap);
/* Read the data, then check the end of the file. Returns 0, or -1 with err set. */
int idx_read_data(idx_file *f, char *err, size_t errcap);
/* Close the file and free the data (safe to call twice). */
void idx_close(idx_file *f);

#endif
