#include "io/image_probe.h"

#include <cerrno>
#include <cstdio>
#include <cstring>
#include <strings.h>
#include <vector>

#ifdef OPENCV
#include <opencv2/imgcodecs.hpp>
#else
#include "stb_image.h" /* Darknet's copy; its image.o holds the code */
#endif

#include "io/image_header.h"
#include "io/image_io.h"

static const char *const image_extensions[] = {
    "bmp", "dib", "jpeg", "jpg", "jpe", "jp2", "png", "webp", "pbm", "pgm", "ppm", "pxm",
    "pnm", "pfm", "sr", "ras", "tiff", "tif", "exr", "hdr", "pic",
};

extern "C" int mcd_has_image_extension(const char *path)
{
    const char *slash = strrchr(path, '/');
    const char *dot = strrchr(slash ? slash : path, '.');
    if (!dot || dot[1] == 0) return 0;
    for (const char *e : image_extensions)
        if (strcasecmp(dot + 1, e) == 0) return 1;
    return 0;
}

static uint64_t fnv1a(const unsigned char *p, size_t n)
{
    uint64_t h = 1469598103934665603ULL;
    for (size_t i = 0; i < n; ++i) {
        h ^= p[i];
        h *= 1099511628211ULL;
    }
    return h;
}

#ifdef OPENCV
/* Equal channels in every pixel (the first three; a fourth is alpha). */
static int is_grey(const cv::Mat &m)
{
    if (m.channels() < 3) return 1;
    const int c = m.channels();
    for (int y = 0; y < m.rows; ++y) {
        if (m.depth() == CV_8U) {
            const unsigned char *p = m.ptr<unsigned char>(y);
            for (int x = 0; x < m.cols; ++x, p += c)
                if (p[0] != p[1] || p[1] != p[2]) return 0;
        } else if (m.depth() == CV_16U) {
            const unsigned short *p = m.ptr<unsigned short>(y);
            for (int x = 0; x < m.cols; ++x, p += c)
                if (p[0] != p[1] || p[1] != p[2]) return 0;
        } else {
            const float *p = m.ptr<float>(y); /* 32F (exr, hdr, pfm) */
            if (m.depth() != CV_32F) return 0;
            for (int x = 0; x < m.cols; ++x, p += c)
                if (p[0] != p[1] || p[1] != p[2]) return 0;
        }
    }
    return 1;
}
#endif

extern "C" mcd_probe_result mcd_probe_image(const char *path, mcd_image_info *info)
{
    memset(info, 0, sizeof *info);
    /* the pixel limit, from the header, before a byte is decoded (a file whose header is
     * not an image's goes on: it may be no image at all) */
    mcd_image_header h;
    if (mcd_read_image_header(path, &h) == 0 && h.width * h.height > mcd_image_max_pixels()) {
        snprintf(info->why, sizeof info->why, "%s of %lldx%lld pixels, above -max_pixels %lld",
                 h.format, h.width, h.height, mcd_image_max_pixels());
        return MCD_PROBE_UNREADABLE;
    }
    FILE *f = fopen(path, "rb");
    if (!f) {
        snprintf(info->why, sizeof info->why, "%s", strerror(errno));
        return MCD_PROBE_UNREADABLE;
    }
    std::vector<unsigned char> bytes;
    unsigned char chunk[65536];
    size_t got;
    while ((got = fread(chunk, 1, sizeof chunk, f)) > 0) bytes.insert(bytes.end(), chunk, chunk + got);
    int bad = ferror(f);
    fclose(f);
    if (bad) {
        snprintf(info->why, sizeof info->why, "read error");
        return MCD_PROBE_UNREADABLE;
    }
    info->bytes = (long long)bytes.size();
    info->hash = fnv1a(bytes.data(), bytes.size());
#ifdef OPENCV
    cv::Mat m;
    if (!bytes.empty()) {
        try {
            m = cv::imdecode(bytes, cv::IMREAD_UNCHANGED);
        } catch (const cv::Exception &e) {
            m = cv::Mat();
        }
    }
    int width = m.empty() ? 0 : m.cols, height = m.empty() ? 0 : m.rows;
    int channels = m.empty() ? 0 : m.channels(), grey = m.empty() ? 0 : is_grey(m);
#else /* OPENCV=0: stb_image decodes what Darknet's loader then reads */
    int width = 0, height = 0, channels = 0, grey = 0;
    unsigned char *px = bytes.empty() ? NULL
                        : stbi_load_from_memory(bytes.data(), (int)bytes.size(), &width,
                                                &height, &channels, 0);
    if (px) {
        grey = 1;
        for (long i = 0; channels >= 3 && grey && i < (long)width * height; ++i)
            grey = px[i * channels] == px[i * channels + 1] && px[i * channels + 1] == px[i * channels + 2];
        stbi_image_free(px);
    } else {
        width = height = 0;
    }
#endif
    if (width <= 0 || height <= 0) {
        if (!mcd_has_image_extension(path)) return MCD_PROBE_NOT_IMAGE;
        snprintf(info->why, sizeof info->why, "%s",
                 bytes.empty() ? "empty file" : "does not decode (truncated, corrupt or not an image)");
        return MCD_PROBE_UNREADABLE;
    }
    info->width = width;
    info->height = height;
    info->channels = channels;
    info->grey = grey;
    return MCD_PROBE_IMAGE;
}
