#include "io/image_io.h"

#include <cerrno>
#include <cstring>
#include <sys/stat.h>
#include <unistd.h>

#include <opencv2/imgcodecs.hpp>

#include "util/mcd_error.h"

extern "C" image mat_to_image(cv::Mat m); /* Darknet's, in image_opencv.cpp */
extern "C" image resize_image(image im, int w, int h);
extern "C" image make_image(int w, int h, int c);

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

extern "C" int mcd_read_image(const char *path, int w, int h, int c, image *out)
{
    if (check_file(path)) return -1;
    if (c != 1 && c != 3) {
        mcd_set_error("cannot read image '%s' as %d channels (1 or 3)", path, c);
        return -1;
    }
    cv::Mat m;
    try {
        m = cv::imread(path, c == 1 ? cv::IMREAD_GRAYSCALE : cv::IMREAD_COLOR);
    } catch (const cv::Exception &e) {
        mcd_set_error("cannot decode image '%s': %s", path, e.what());
        return -1;
    }
    if (m.empty()) {
        mcd_set_error("cannot decode image '%s': empty, truncated, corrupt or not an image format OpenCV reads", path);
        return -1;
    }
    /* Darknet's mat_to_image swaps planes 0 and 2 whatever the channel count, which runs
     * past a 1-channel image: copy grey pixels ourselves. */
    image im;
    if (c == 1) {
        im = make_image(m.cols, m.rows, 1);
        for (int y = 0; y < m.rows; ++y)
            for (int x = 0; x < m.cols; ++x) im.data[y * m.cols + x] = m.at<unsigned char>(y, x) / 255.f;
    } else {
        im = mat_to_image(m);
    }
    if (w && h && (im.w != w || im.h != h)) {
        image r = resize_image(im, w, h);
        free_image(im);
        im = r;
    }
    *out = im;
    return 0;
}

extern "C" int mcd_check_paths(char **paths, int n, const char *list_name)
{
    for (int i = 0; i < n; ++i)
        if (check_file(paths[i])) {
            if (list_name) {
                char msg[1024];
                snprintf(msg, sizeof msg, "%s:%d: %s", list_name, i + 1, mcd_last_error());
                mcd_set_error("%s", msg);
            }
            return -1;
        }
    return 0;
}
