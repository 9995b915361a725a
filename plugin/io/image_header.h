/* The width and height an image file declares, read from its header without decoding a
 * pixel, so that a file can be refused by its size before a decoder allocates it (a
 * 20000x20000 PNG of zeros is 425 KB on disk and 4.8 GB as Darknet's float image).
 *
 * The format is told by the file's first bytes, as OpenCV's imread tells it (never by the
 * name), and the size is read where the decoder OpenCV would use reads it:
 *   PNG        IHDR                          JPEG        the first SOFn frame header
 *   BMP        the DIB header (|height|)     TIFF        the first IFD's ImageWidth/Length
 *                                                        (classic and BigTIFF, either order)
 *   WebP       VP8X canvas, VP8 or VP8L      PNM/PAM/PFM the header's numbers (P1-P7, PF, Pf)
 *   Sun raster its header                    Radiance    the resolution line (-Y N +X M)
 *   JPEG 2000  the codestream's SIZ marker   OpenEXR     the dataWindow attribute
 *              (raw .j2k, or a .jp2's jp2c box: the codestream, not the ihdr box, is what
 *              OpenJPEG sizes the image by)
 * OpenCV's other readers (DICOM through GDCM, GDAL's formats) are not sized here: such a
 * file is refused as a format this program does not read. */
#ifndef MCD_IMAGE_HEADER_H
#define MCD_IMAGE_HEADER_H

#include <stddef.h>

#ifdef __cplusplus
extern "C" {
#endif

typedef struct mcd_image_header {
    long long width, height; /* as declared: may be huge; never negative */
    const char *format;      /* "PNG", "JPEG", ... (a static string) */
} mcd_image_header;

/* The header of the image in `path`. 0, or -1 with an error naming the file: it cannot
 * be opened, is empty, is in no format listed above, or its header is cut short or
 * malformed (no size to be found). */
int mcd_read_image_header(const char *path, mcd_image_header *out);

#ifdef __cplusplus
}
#endif

#endif
