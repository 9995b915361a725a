/* Image sizes from file headers, format by format (image_header.h lists where each size is
 * read). Every read is bounded: a header is a few bytes at known places, or a walk over
 * segments, boxes, tags or attributes whose count is capped, so a hostile file costs a few
 * reads, never a scan of the whole file or an allocation of its size.
 *
 * And cheap, since every image a command reads passes here first: one open, one fstat
 * and one 4 KB read, which holds the whole header of most files (the size of a PNG,
 * baseline JPEG or BMP is within its first 30 bytes); reads further on go through the same
 * window. */
#define _FILE_OFFSET_BITS 64
#include "io/image_header.h"

#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/types.h>
#include <unistd.h>

#include "util/mcd_error.h"

/* Walks over segments, boxes, directory entries and attributes stop after this many. */
#define MAX_STEPS 100000
#define WINDOW 4096

/* The file being read through a window of it; a cursor for the formats read in sequence;
 * why its header could not be read (for the error message). */
typedef struct src {
    int fd;
    unsigned char win[WINDOW];
    long long win_off; /* the file offset of win[0] */
    size_t win_n;      /* bytes of the file in win */
    long long pos;     /* the cursor */
    const char *why;
} src;

/* Move the window to start at off. */
static void fill(src *s, long long off)
{
    ssize_t got = pread(s->fd, s->win, WINDOW, (off_t)off);
    s->win_off = off;
    s->win_n = got > 0 ? (size_t)got : 0;
}

/* n bytes at offset off; 0, or -1 (and why = "cut short") when the file ends first. */
static int at(src *s, long long off, void *buf, size_t n)
{
    if (off >= 0 && n <= WINDOW && (off < s->win_off || off + (long long)n > s->win_off + (long long)s->win_n))
        fill(s, off);
    if (off < 0 || off < s->win_off || off + (long long)n > s->win_off + (long long)s->win_n) {
        s->why = "cut short";
        return -1;
    }
    memcpy(buf, s->win + (off - s->win_off), n);
    return 0;
}

/* The byte at the cursor, which moves past it; EOF at the end of the file. */
static int next_byte(src *s)
{
    unsigned char c;
    if (at(s, s->pos, &c, 1)) return EOF;
    ++s->pos;
    return c;
}

/* n bytes at the cursor, which moves past them; 0, or -1 when the file ends first. */
static int next_bytes(src *s, void *buf, size_t n)
{
    if (at(s, s->pos, buf, n)) return -1;
    s->pos += (long long)n;
    return 0;
}

static int bad(src *s, const char *why)
{
    s->why = why;
    return -1;
}

static uint32_t be16(const unsigned char *p) { return (uint32_t)p[0] << 8 | p[1]; }
static uint32_t le16(const unsigned char *p) { return (uint32_t)p[1] << 8 | p[0]; }
static uint32_t be32(const unsigned char *p) { return be16(p) << 16 | be16(p + 2); }
static uint32_t le32(const unsigned char *p) { return le16(p + 2) << 16 | le16(p); }
static uint64_t be64(const unsigned char *p) { return (uint64_t)be32(p) << 32 | be32(p + 4); }
static uint64_t le64(const unsigned char *p) { return (uint64_t)le32(p + 4) << 32 | le32(p); }

static int set_size(src *s, mcd_image_header *h, long long w, long long hh)
{
    if (w < 0 || hh < 0) return bad(s, "a negative size");
    h->width = w;
    h->height = hh;
    return 0;
}

/* --- PNG, Sun raster, BMP: the size at a fixed place ------------------------------------- */

static int png_size(src *s, mcd_image_header *h)
{
    unsigned char b[16]; /* length, "IHDR", width, height */
    if (at(s, 8, b, sizeof b)) return -1;
    if (memcmp(b + 4, "IHDR", 4) != 0) return bad(s, "no IHDR chunk first");
    return set_size(s, h, be32(b + 8), be32(b + 12));
}

static int sun_raster_size(src *s, mcd_image_header *h)
{
    unsigned char b[8];
    if (at(s, 4, b, sizeof b)) return -1;
    return set_size(s, h, be32(b), be32(b + 4));
}

static int bmp_size(src *s, mcd_image_header *h)
{
    unsigned char b[12]; /* the DIB header's size, then the size: 16-bit (OS/2 1.x) or 32-bit */
    if (at(s, 14, b, sizeof b)) return -1;
    uint32_t dib = le32(b);
    if (dib == 12) return set_size(s, h, le16(b + 4), le16(b + 6));
    if (dib < 16) return bad(s, "an unknown DIB header size");
    /* the height is negative for a top-down bitmap */
    return set_size(s, h, llabs((int32_t)le32(b + 4)), llabs((int32_t)le32(b + 8)));
}

/* --- JPEG: the first frame header ------------------------------------------------------- */

static int is_sof(unsigned m)
{
    return m >= 0xC0 && m <= 0xCF && m != 0xC4 && m != 0xC8 && m != 0xCC;
}

static int jpeg_size(src *s, mcd_image_header *h)
{
    long long off = 2;
    for (int step = 0; step < MAX_STEPS; ++step) {
        unsigned char m[2];
        if (at(s, off, m, 2)) return -1;
        if (m[0] != 0xFF) return bad(s, "no marker where one should be");
        if (m[1] == 0xFF) { /* fill byte */
            off += 1;
            continue;
        }
        off += 2;
        if (m[1] == 0xD8 || m[1] == 0x01 || (m[1] >= 0xD0 && m[1] <= 0xD7)) continue;
        if (m[1] == 0xD9 || m[1] == 0xDA) return bad(s, "no frame header before the image data");
        unsigned char seg[7]; /* length; for SOFn: precision, height, width */
        if (at(s, off, seg, is_sof(m[1]) ? 7 : 2)) return -1;
        uint32_t len = be16(seg);
        if (len < 2) return bad(s, "a segment shorter than its length field");
        if (is_sof(m[1])) return set_size(s, h, be16(seg + 5), be16(seg + 3));
        off += len;
    }
    return bad(s, "too many segments before the frame header");
}

/* --- TIFF: ImageWidth (256) and ImageLength (257) of the first directory ----------------- */

static int tiff_size(src *s, mcd_image_header *h)
{
    unsigned char b[16];
    if (at(s, 0, b, 8)) return -1;
    const int le = b[0] == 'I';
    uint32_t (*u16)(const unsigned char *) = le ? le16 : be16;
    uint32_t (*u32)(const unsigned char *) = le ? le32 : be32;
    uint64_t (*u64)(const unsigned char *) = le ? le64 : be64;
    const int big = u16(b + 2) == 43; /* BigTIFF: 64-bit offsets and counts */
    if (big && at(s, 0, b, 16)) return -1;
    uint64_t ifd = big ? u64(b + 8) : u32(b + 4);
    const int entry = big ? 20 : 12, count_bytes = big ? 8 : 2;
    if (ifd > (uint64_t)INT64_MAX / 2 || at(s, (long long)ifd, b, count_bytes))
        return bad(s, "its first directory is past the end of the file");
    uint64_t n = big ? u64(b) : u16(b);
    long long w = -1, hh = -1;
    for (uint64_t i = 0; i < n && i < MAX_STEPS && (w < 0 || hh < 0); ++i) {
        unsigned char e[20]; /* tag, type, count, value (or offset) */
        if (at(s, (long long)ifd + count_bytes + (long long)i * entry, e, entry)) return -1;
        uint32_t tag = u16(e), type = u16(e + 2);
        if (tag != 256 && tag != 257) continue;
        const unsigned char *v = e + (big ? 12 : 8);
        uint64_t x = type == 3 ? u16(v) : type == 4 ? u32(v) : type == 16 && big ? u64(v) : 0;
        long long value = type != 3 && type != 4 && !(type == 16 && big) ? -1
                        : x > (1ULL << 62) ? 1LL << 62 /* refused by any pixel limit */
                        : (long long)x;
        if (value < 0) return bad(s, "an image size that is not a SHORT or LONG");
        if (tag == 256) w = value;
        else hh = value;
    }
    if (w < 0 || hh < 0) return bad(s, "no ImageWidth or ImageLength in its first directory");
    return set_size(s, h, w, hh);
}

/* --- WebP: the extended header's canvas, else the lossy or lossless frame's size -------- */

static int webp_size(src *s, mcd_image_header *h)
{
    unsigned char b[30];
    if (at(s, 12, b, 4)) return -1;
    if (memcmp(b, "VP8X", 4) == 0) {
        if (at(s, 24, b, 6)) return -1;
        return set_size(s, h, 1 + (long long)(b[0] | b[1] << 8 | (uint32_t)b[2] << 16),
                        1 + (long long)(b[3] | b[4] << 8 | (uint32_t)b[5] << 16));
    }
    if (memcmp(b, "VP8L", 4) == 0) {
        if (at(s, 20, b, 5)) return -1;
        if (b[0] != 0x2F) return bad(s, "no lossless signature");
        uint32_t bits = le32(b + 1);
        return set_size(s, h, 1 + (bits & 0x3FFF), 1 + (bits >> 14 & 0x3FFF));
    }
    if (memcmp(b, "VP8 ", 4) == 0) {
        if (at(s, 20, b, 10)) return -1;
        if (b[3] != 0x9D || b[4] != 0x01 || b[5] != 0x2A) return bad(s, "no key frame start code");
        return set_size(s, h, le16(b + 6) & 0x3FFF, le16(b + 8) & 0x3FFF);
    }
    return bad(s, "no VP8, VP8L or VP8X chunk first");
}

/* --- PNM, PAM, PFM: numbers in text --------------------------------------------------- */

/* Text headers (PNM, PAM, PFM, Radiance) are read at most this far into the file. */
#define TEXT_HEADER_MAX 65536

/* One line of a text header, through its newline, into buf (n bytes, NUL-terminated).
 * Its length; -1 at the end of the file, a line that does not fit in buf, or a header
 * past TEXT_HEADER_MAX. */
static long text_line(src *s, char *buf, size_t n)
{
    size_t len = 0;
    int c = EOF;
    while (len + 1 < n && s->pos < TEXT_HEADER_MAX && (c = next_byte(s)) != EOF) {
        buf[len++] = (char)c;
        if (c == '\n') break;
    }
    buf[len] = 0;
    return len == 0 || c != '\n' ? -1 : (long)len;
}

/* The next number of a PNM header, after whitespace and # comments; -1 if none. */
static long long pnm_number(src *s)
{
    int c = next_byte(s);
    for (;;) {
        while (c != EOF && isspace(c)) c = next_byte(s);
        if (c != '#') break;
        while (c != EOF && c != '\n' && c != '\r' && s->pos < TEXT_HEADER_MAX) c = next_byte(s);
        if (s->pos >= TEXT_HEADER_MAX) return -1;
    }
    if (c == EOF || !isdigit(c)) return -1;
    long long v = 0;
    for (int digits = 0; c != EOF && isdigit(c); c = next_byte(s))
        if (++digits <= 18) v = 10 * v + (c - '0');
        else return -1; /* no image is that large: refuse rather than overflow */
    return v;
}

/* P1-P6 and PF/Pf: width and height are the first two numbers after the magic. */
static int pnm_size(src *s, mcd_image_header *h)
{
    s->pos = 2;
    long long w = pnm_number(s), hh = pnm_number(s);
    if (w < 0 || hh < 0) return bad(s, "no width and height");
    return set_size(s, h, w, hh);
}

/* A whole number after spaces at *p (at most 18 digits: no image is that large), moving
 * *p past it; -1 if there is none. */
static long long text_number(const char **p)
{
    const char *q = *p;
    while (*q == ' ' || *q == '\t') ++q;
    long long v = 0;
    int digits = 0;
    for (; isdigit((unsigned char)*q); ++q)
        if (++digits <= 18) v = 10 * v + (*q - '0'); /* past 18 digits: refused below */
    *p = q;
    return digits == 0 || digits > 18 ? -1 : v;
}

/* P7: "WIDTH n" and "HEIGHT n" lines before ENDHDR. */
static int pam_size(src *s, mcd_image_header *h)
{
    s->pos = 3;
    long long w = -1, hh = -1;
    char line[256];
    for (int step = 0; step < MAX_STEPS && text_line(s, line, sizeof line) >= 0; ++step) {
        const char *p = line;
        while (*p == ' ' || *p == '\t') ++p;
        if (strncmp(p, "ENDHDR", 6) == 0) break;
        if (strncmp(p, "WIDTH", 5) == 0 && (p += 5)) w = text_number(&p);
        else if (strncmp(p, "HEIGHT", 6) == 0 && (p += 6)) hh = text_number(&p);
    }
    if (w < 0 || hh < 0) return bad(s, "no WIDTH and HEIGHT lines");
    return set_size(s, h, w, hh);
}

/* --- Radiance HDR: the resolution line after the header's blank line -------------------- */

/* "[+-][XY] N": the axis ('X' or 'Y') and N; 0 if p holds no such thing. */
static char hdr_axis(const char **p, long long *n)
{
    const char *q = *p;
    while (*q == ' ' || *q == '\t') ++q;
    if ((q[0] != '+' && q[0] != '-') || (q[1] != 'X' && q[1] != 'Y')) return 0;
    char axis = q[1];
    q += 2;
    *n = text_number(&q);
    *p = q;
    return *n < 0 ? 0 : axis;
}

static int hdr_size(src *s, mcd_image_header *h)
{
    s->pos = 0;
    char line[512];
    int blank = 0;
    for (int step = 0; step < MAX_STEPS && text_line(s, line, sizeof line) >= 0; ++step) {
        if (!blank) {
            blank = line[0] == '\n' || (line[0] == '\r' && line[1] == '\n');
            continue;
        }
        const char *p = line;
        long long n1, n2;
        char a1 = hdr_axis(&p, &n1), a2 = a1 ? hdr_axis(&p, &n2) : 0;
        if (!a1 || !a2 || a1 == a2) break;
        return set_size(s, h, a1 == 'X' ? n1 : n2, a1 == 'Y' ? n1 : n2);
    }
    return bad(s, "no resolution line (-Y N +X M) after the header");
}

/* --- OpenEXR: the dataWindow attribute ---------------------------------------------------- */

/* A NUL-terminated name of at most n - 1 characters from the file; -1 if longer or cut. */
static int exr_name(src *s, char *buf, int n)
{
    for (int i = 0; i < n; ++i) {
        int c = next_byte(s);
        if (c == EOF) return -1;
        buf[i] = (char)c;
        if (c == 0) return 0;
    }
    return -1;
}

static int exr_size(src *s, mcd_image_header *h)
{
    s->pos = 8;
    for (int step = 0; step < MAX_STEPS; ++step) {
        char name[256], type[256];
        unsigned char b[16];
        if (exr_name(s, name, sizeof name)) return bad(s, "an attribute name cut short");
        if (!name[0]) break; /* the header's end */
        if (exr_name(s, type, sizeof type) || next_bytes(s, b, 4))
            return bad(s, "an attribute cut short");
        uint32_t size = le32(b);
        if (strcmp(name, "dataWindow") == 0 && strcmp(type, "box2i") == 0 && size == 16) {
            if (next_bytes(s, b, 16)) return bad(s, "cut short");
            long long x0 = (int32_t)le32(b), y0 = (int32_t)le32(b + 4);
            long long x1 = (int32_t)le32(b + 8), y1 = (int32_t)le32(b + 12);
            if (x1 < x0 || y1 < y0) return bad(s, "an empty dataWindow");
            return set_size(s, h, x1 - x0 + 1, y1 - y0 + 1);
        }
        s->pos += size; /* at most 4 GB a step: no overflow in MAX_STEPS of them */
    }
    return bad(s, "no dataWindow attribute");
}

/* --- JPEG 2000: the codestream's SIZ marker, alone (.j2k) or in a .jp2's jp2c box ---------- */

static int j2k_size(src *s, long long off, mcd_image_header *h)
{
    unsigned char b[24]; /* SOC, SIZ, Lsiz, Rsiz, Xsiz, Ysiz, XOsiz, YOsiz */
    if (at(s, off, b, sizeof b)) return -1;
    if (be16(b) != 0xFF4F || be16(b + 2) != 0xFF51) return bad(s, "no SIZ marker after SOC");
    long long x = be32(b + 8), y = be32(b + 12), x0 = be32(b + 16), y0 = be32(b + 20);
    if (x0 > x || y0 > y) return bad(s, "an image offset beyond the image");
    return set_size(s, h, x - x0, y - y0);
}

static int jp2_size(src *s, mcd_image_header *h)
{
    long long off = 0;
    for (int step = 0; step < MAX_STEPS; ++step) {
        unsigned char b[16];
        if (at(s, off, b, 8)) return bad(s, "no codestream box");
        long long len = be32(b), head = 8;
        if (len == 1) { /* a 64-bit length follows the type */
            if (at(s, off + 8, b + 8, 8)) return -1;
            uint64_t xl = be64(b + 8);
            if (xl > (uint64_t)INT64_MAX / 2) return bad(s, "a box longer than any file");
            len = (long long)xl;
            head = 16;
        }
        if (memcmp(b + 4, "jp2c", 4) == 0) return j2k_size(s, off + head, h);
        if (len == 0) break; /* the last box, and not the codestream */
        if (len < head) return bad(s, "a box shorter than its header");
        if (len > INT64_MAX / 2 - off) return bad(s, "a box longer than any file");
        off += len;
    }
    return bad(s, "no codestream box");
}

/* --- which format ----------------------------------------------------------------------- */

int mcd_read_image_header(const char *path, mcd_image_header *out)
{
    memset(out, 0, sizeof *out);
    src *s = malloc(sizeof *s);
    if (!s) {
        mcd_set_error("out of memory reading image '%s'", path);
        return -1;
    }
    /* not blocking on a FIFO or a device: only a regular file is an image here */
    int fd = open(path, O_RDONLY | O_NONBLOCK | O_CLOEXEC);
    struct stat st;
    const char *cannot = fd < 0 || fstat(fd, &st) != 0 ? strerror(errno)
                       : !S_ISREG(st.st_mode)        ? "not a readable file"
                                                     : NULL;
    if (cannot) {
        mcd_set_error("cannot read image '%s': %s", path, cannot);
        if (fd >= 0) close(fd);
        free(s);
        return -1;
    }
    s->fd = fd;
    s->pos = 0;
    s->why = NULL;
    fill(s, 0);
    const unsigned char *m = s->win;
    const size_t n = s->win_n;
    int rc = -1;
#define IS(sig) (n >= sizeof(sig) - 1 && memcmp(m, sig, sizeof(sig) - 1) == 0)
    if (n == 0) {
        mcd_set_error("cannot decode image '%s': empty file", path);
    } else if (IS("\x89PNG\r\n\x1a\n")) {
        out->format = "PNG", rc = png_size(s, out);
    } else if (IS("\xff\xd8\xff")) {
        out->format = "JPEG", rc = jpeg_size(s, out);
    } else if (IS("BM")) {
        out->format = "BMP", rc = bmp_size(s, out);
    } else if (IS("II*\0") || IS("MM\0*") || IS("II+\0") || IS("MM\0+")) {
        out->format = "TIFF", rc = tiff_size(s, out);
    } else if (n >= 12 && IS("RIFF") && memcmp(m + 8, "WEBP", 4) == 0) {
        out->format = "WebP", rc = webp_size(s, out);
    } else if (n >= 3 && m[0] == 'P' && isspace(m[2]) &&
               ((m[1] >= '1' && m[1] <= '6') || m[1] == 'F' || m[1] == 'f')) {
        out->format = m[1] == 'F' || m[1] == 'f' ? "PFM" : "PNM", rc = pnm_size(s, out);
    } else if (n >= 3 && IS("P7") && isspace(m[2])) {
        out->format = "PAM", rc = pam_size(s, out);
    } else if (IS("\x59\xa6\x6a\x95")) {
        out->format = "Sun raster", rc = sun_raster_size(s, out);
    } else if (IS("#?RADIANCE") || IS("#?RGBE")) {
        out->format = "Radiance HDR", rc = hdr_size(s, out);
    } else if (IS("\x76\x2f\x31\x01")) {
        out->format = "OpenEXR", rc = exr_size(s, out);
    } else if (IS("\0\0\0\x0cjP  \r\n\x87\n")) {
        out->format = "JPEG 2000", rc = jp2_size(s, out);
    } else if (IS("\xff\x4f\xff\x51")) {
        out->format = "JPEG 2000", rc = j2k_size(s, 0, out);
    } else if (n >= 132 && memcmp(m + 128, "DICM", 4) == 0) {
        mcd_set_error("cannot read image '%s': a DICOM file, whose size this program "
                      "cannot check before decoding (convert it to PNG)", path);
    } else {
        mcd_set_error("cannot decode image '%s': not an image in a format this program "
                      "reads (PNG, JPEG, BMP, TIFF, WebP, PNM/PAM/PFM, Sun raster, "
                      "Radiance HDR, JPEG 2000, OpenEXR)", path);
    }
#undef IS
    if (rc && out->format)
        mcd_set_error("cannot decode image '%s': %s header %s", path, out->format,
                      s->why ? s->why : "malformed");
    close(s->fd);
    free(s);
    return rc;
}
