#include "io/image_io.h"

#include <atomic>
#include <cerrno>
#include <cstring>
#include <sys/stat.h>
#include <unistd.h>

#ifdef OPENCV
#include <opencv2/imgcodecs.hpp>
#else
#include "stb_image.h" /* Darknet's copy; its image.o holds the code */
#endif

#include "io/image_header.h"
#include "util/mcd_error.h"

#ifdef OPENCV
extern "C" image mat_to_image(cv::Mat m); /* Darknet's, in image_opencv.cpp */
#endif
extern "C" image resize_image(image im, int w, int h);
extern "C" image make_image(int w, int h, int c);
extern "C" image copy_image(image p);

static int check_file(const char *path)
{
    struct stat st;
    if (stat(path, &st) != 0) {
        mcd_set_error("cannot read image '%s': %s", path, strerror(errno));
        return -1;
    }
    if (!S_ISREG(st.st_mode) || access(path, R_OK) != 0) {
        mcd_set_error("cannot read image '%s': not a readable file", path);
        return -1;
    }
    return 0;
}

static std::atomic<long long> max_pixels(MCD_DEFAULT_MAX_PIXELS);

extern "C" void mcd_set_image_max_pixels(long long n)
{
    max_pixels = n > 0 ? n : MCD_DEFAULT_MAX_PIXELS;
}

extern "C" long long mcd_image_max_pixels(void)
{
    return max_pixels;
}

extern "C" int mcd_check_image_size(const char *path, long long limit)
{
    mcd_image_header h; /* its errors name a missing, unreadable or irregular file too */
    if (mcd_read_image_header(path, &h)) return -1;
    /* width x height > limit, without the product overflowing */
    if (h.height > 0 && h.width > limit / h.height) {
        mcd_set_error("image '%s' is %lldx%lld (%s, %.0f pixels), over the limit of %lld "
                      "pixels: refused before decoding (-max_pixels N raises the limit)", path,
                      h.width, h.height, h.format, (double)h.width * (double)h.height, limit);
        return -1;
    }
    return 0;
}

/* The picture at path as 3 planes (RGB) in [0, 1]: OpenCV's imread and Darknet's
 * mat_to_image, as Darknet's loader reads it; without OpenCV, stb_image (the same pixels
 * for PNG, BMP and the other lossless formats, divided as mat_to_image divides them: the
 * same floats; a JPEG may differ by a step). */
static int decode_colour(const char *path, image *out)
{
#ifdef OPENCV
    cv::Mat m;
    try {
        m = cv::imread(path, cv::IMREAD_COLOR);
    } catch (const cv::Exception &e) {
        mcd_set_error("cannot decode image '%s': %s", path, e.what());
        return -1;
    }
    if (m.empty()) {
        mcd_set_error("cannot decode image '%s': empty, truncated, corrupt or not an image format OpenCV reads", path);
        return -1;
    }
    *out = mat_to_image(m);
#else
    int w, h, channels;
    unsigned char *px = stbi_load(path, &w, &h, &channels, 3);
    if (!px) {
        mcd_set_error("cannot decode image '%s': %s", path, stbi_failure_reason());
        return -1;
    }
    *out = make_image(w, h, 3);
    const size_t n = (size_t)w * h;
    for (int k = 0; k < 3; ++k)
        for (size_t i = 0; i < n; ++i) out->data[k * n + i] = px[3 * i + k] / 255.; /* as mat_to_image */
    stbi_image_free(px);
#endif
    return 0;
}

extern "C" image mcd_network_image(image colour, int w, int h, int c)
{
    image in = colour;
    if (c == 1) {
        in = make_image(colour.w, colour.h, 1);
        const size_t n = (size_t)colour.w * colour.h;
        for (size_t i = 0; i < n; ++i)
            in.data[i] = 0.299f * colour.data[i] + 0.587f * colour.data[n + i] +
                         0.114f * colour.data[2 * n + i];
    }
    if (w && h && (in.w != w || in.h != h)) {
        image r = resize_image(in, w, h);
        if (in.data != colour.data) free_image(in);
        return r;
    }
    return in.data == colour.data ? copy_image(in) : in;
}

extern "C" int mcd_read_image(const char *path, int w, int h, int c, image *out)
{
    if (mcd_check_image_size(path, max_pixels)) return -1;
    if (c != 1 && c != 3) {
        mcd_set_error("cannot read image '%s' as %d channels (1 or 3)", path, c);
        return -1;
    }
    image colour;
    if (decode_colour(path, &colour)) return -1;
    if (c == 3 && (!w || !h || (colour.w == w && colour.h == h))) {
        *out = colour; /* nothing to convert: no copy */
        return 0;
    }
    *out = mcd_network_image(colour, w, h, c);
    free_image(colour);
    return 0;
}

extern "C" int mcd_check_paths(char **paths, int n, const char *list_name)
{
    for (int i = 0; i < n; ++i)
        if (check_file(paths[i])) {
            if (list_name) mcd_set_error("%s:%d: %s", list_name, i + 1, mcd_last_error());
            return -1;
        }
    return 0;
}
