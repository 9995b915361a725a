/* Images in every format OpenCV writes, for the tests of io/image_header.c: written with
 * OpenCV's imwrite and measured with OpenCV's imread, the independent reference for the
 * size each header declares. C++ because OpenCV's C API is gone; the tests are C. */
#include "image_formats.h"

#include <cstdlib>
#include <string>
#include <vector>

#include <opencv2/core.hpp>
#include <opencv2/imgcodecs.hpp>

extern "C" int test_write_image_format(const char *path, int w, int h, int channels,
                                       int quality)
{
    std::string p(path);
    std::string ext = p.substr(p.rfind('.') + 1);
    /* OpenEXR is off unless asked for; the variable is read at its first use */
    if (ext == "exr") setenv("OPENCV_IO_ENABLE_OPENEXR", "1", 1);
    const bool floats = ext == "exr" || ext == "hdr" || ext == "pfm";
    cv::Mat m(h, w, CV_MAKETYPE(floats ? CV_32F : CV_8U, channels));
    for (int y = 0; y < h; ++y)
        for (int x = 0; x < w * channels; ++x) {
            int v = (x * 7 + y * 13) % 251;
            if (floats) m.ptr<float>(y)[x] = v / 251.0f;
            else m.ptr<unsigned char>(y)[x] = (unsigned char)v;
        }
    std::vector<int> params;
    if (ext == "webp") params = {cv::IMWRITE_WEBP_QUALITY, quality};
    if (ext == "jpg" && quality < 0) params = {cv::IMWRITE_JPEG_PROGRESSIVE, 1};
    try {
        return cv::imwrite(p, m, params) ? 0 : -1;
    } catch (const cv::Exception &) {
        return -1;
    }
}

extern "C" int test_decoded_size(const char *path, int *w, int *h)
{
    try {
        cv::Mat m = cv::imread(path, cv::IMREAD_COLOR);
        if (m.empty()) return -1;
        *w = m.cols;
        *h = m.rows;
        return 0;
    } catch (const cv::Exception &) {
        return -1;
    }
}
