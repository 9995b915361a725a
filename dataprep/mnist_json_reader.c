#include "mnist_json_reader.h"

#include <ctype.h>
#include <errno.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* A value must lie within this many grey levels of a byte. Three decimals put b/255 at
 * most 0.0005 * 255 = 0.1275 levels away; half a level would be ambiguous. */
#define LEVEL_TOLERANCE 0.2

typedef struct json_text {
    const char *path;
    const char *s;
    size_t n, pos;
    char *err;
    size_t errcap;
} json_text;

static void skip_ws(json_text *t)
{
    while (t->pos < t->n && (t->s[t->pos] == ' ' || t->s[t->pos] == '\t' ||
                             t->s[t->pos] == '\n' || t->s[t->pos] == '\r'))
        ++t->pos;
}

/* "file:line:column: <message>", and ", found <what is at pos>" if show_found */
static int fail_at(json_text *t, size_t pos, int show_found, const char *fmt, ...)
{
    size_t line = 1, col = 1;
    for (size_t i = 0; i < pos && i < t->n; ++i) {
        if (t->s[i] == '\n') {
            ++line;
            col = 1;
        } else {
            ++col;
        }
    }
    char msg[256];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    char found[48] = "";
    if (!show_found)
        ;
    else if (pos >= t->n)
        snprintf(found, sizeof found, ", found the end of the file");
    else if (isprint((unsigned char)t->s[pos]))
        snprintf(found, sizeof found, ", found '%c'", t->s[pos]);
    else
        snprintf(found, sizeof found, ", found byte 0x%02x", (unsigned char)t->s[pos]);
    snprintf(t->err, t->errcap, "%s:%zu:%zu: %s%s", t->path, line, col, msg, found);
    return -1;
}

static int expect_char(json_text *t, char c, const char *where)
{
    skip_ws(t);
    if (t->pos < t->n && t->s[t->pos] == c) {
        ++t->pos;
        return 0;
    }
    return fail_at(t, t->pos, 1, "expected '%c' %s", c, where);
}

static int is_digit(json_text *t, size_t i)
{
    return i < t->n && t->s[i] >= '0' && t->s[i] <= '9';
}

/* One JSON number (RFC 8259: -?(0|[1-9][0-9]*)(.[0-9]+)?([eE][+-]?[0-9]+)?) as a byte. */
static int read_value(json_text *t, size_t index, unsigned char *out)
{
    size_t start = t->pos, i = t->pos;
    if (i < t->n && t->s[i] == '-') ++i;
    if (!is_digit(t, i)) return fail_at(t, start, 1, "expected a number (value %zu)", index);
    if (t->s[i] == '0') {
        ++i;
    } else {
        while (is_digit(t, i)) ++i;
    }
    if (i < t->n && t->s[i] == '.') {
        ++i;
        if (!is_digit(t, i)) return fail_at(t, i, 1, "expected a digit after '.' (value %zu)", index);
        while (is_digit(t, i)) ++i;
    }
    if (i < t->n && (t->s[i] == 'e' || t->s[i] == 'E')) {
        ++i;
        if (i < t->n && (t->s[i] == '+' || t->s[i] == '-')) ++i;
        if (!is_digit(t, i)) return fail_at(t, i, 1, "expected an exponent (value %zu)", index);
        while (is_digit(t, i)) ++i;
    }
    char token[64];
    if (i - start >= sizeof token) return fail_at(t, start, 0, "number too long (value %zu)", index);
    memcpy(token, t->s + start, i - start);
    token[i - start] = 0;
    double v = strtod(token, NULL); /* the C locale: '.' is the decimal point */
    if (!(v >= 0.0 && v <= 1.0))
        return fail_at(t, start, 0, "value %zu is %s, outside [0, 1]", index, token);
    double level = v * 255.0;
    double byte = floor(level + 0.5);
    if (fabs(level - byte) > LEVEL_TOLERANCE)
        return fail_at(t, start, 0, "value %zu is %s, not a grey level b/255", index, token);
    *out = (unsigned char)byte;
    t->pos = i;
    return 0;
}

static int read_file(const char *path, char **text, size_t *n, char *err, size_t errcap)
{
    FILE *f = fopen(path, "rb");
    if (!f) {
        snprintf(err, errcap, "%s: cannot open: %s", path, strerror(errno));
        return -1;
    }
    size_t cap = 1 << 20, len = 0;
    char *buf = malloc(cap);
    for (;;) {
        if (!buf) {
            snprintf(err, errcap, "%s: out of memory", path);
            fclose(f);
            return -1;
        }
        len += fread(buf + len, 1, cap - len, f);
        if (len < cap) break;
        char *bigger = realloc(buf, cap * 2);
        if (!bigger) free(buf);
        buf = bigger;
        cap *= 2;
    }
    if (ferror(f)) {
        snprintf(err, errcap, "%s: read error: %s", path, strerror(errno));
        free(buf);
        fclose(f);
        return -1;
    }
    fclose(f);
    *text = buf;
    *n = len;
    return 0;
}

int mnist_json_read(const char *path, unsigned char **pixels, size_t *count, char *err,
                    size_t errcap)
{
    *pixels = NULL;
    *count = 0;
    char *text;
    size_t n;
    if (read_file(path, &text, &n, err, errcap)) return -1;
    json_text t = {path, text, n, 0, err, errcap};
    size_t cap = 1 << 16, len = 0;
    unsigned char *px = malloc(cap);
    if (!px) {
        snprintf(err, errcap, "%s: out of memory", path);
        goto fail;
    }

    if (expect_char(&t, '{', "at the start of the file")) goto fail;
    skip_ws(&t);
    static const char key[] = "\"data\"";
    if (t.n - t.pos < sizeof key - 1 || memcmp(t.s + t.pos, key, sizeof key - 1) != 0) {
        fail_at(&t, t.pos, 1, "expected the key \"data\" (the package's only key)");
        goto fail;
    }
    t.pos += sizeof key - 1;
    if (expect_char(&t, ':', "after \"data\"")) goto fail;
    if (expect_char(&t, '[', "to open the \"data\" array")) goto fail;
    skip_ws(&t);
    if (t.pos < t.n && t.s[t.pos] == ']') {
        ++t.pos;
    } else {
        for (;;) {
            skip_ws(&t);
            if (len == cap) {
                unsigned char *bigger = realloc(px, cap * 2);
                if (!bigger) {
                    snprintf(err, errcap, "%s: out of memory", path);
                    goto fail;
                }
                px = bigger;
                cap *= 2;
            }
            if (read_value(&t, len, &px[len])) goto fail;
            ++len;
            skip_ws(&t);
            if (t.pos < t.n && t.s[t.pos] == ',') {
                ++t.pos;
                continue;
            }
            if (t.pos < t.n && t.s[t.pos] == ']') {
                ++t.pos;
                break;
            }
            fail_at(&t, t.pos, 1, "expected ',' or ']' after value %zu", len - 1);
            goto fail;
        }
    }
    if (expect_char(&t, '}', "after the \"data\" array (the package's only key)")) goto fail;
    skip_ws(&t);
    if (t.pos != t.n) {
        fail_at(&t, t.pos, 1, "expected the end of the file after the object");
        goto fail;
    }
    free(text);
    *pixels = px;
    *count = len;
    return 0;
fail:
    free(text);
    free(px);
    return -1;
}
