#include "io/video_writer.h"

#include <cerrno>
#include <cmath>
#include <cstring>
#include <string>
#include <sys/stat.h>
#include <unistd.h>

#ifdef OPENCV
#include <opencv2/core/utils/logger.hpp>
#include <opencv2/videoio.hpp>
#endif

#include "util/mcd_error.h"

#ifdef OPENCV

struct mcd_video_writer {
    cv::VideoWriter w;
    std::string path, partial; /* where it goes; where it is written until closed */
    int width, height;
};

/* "dir/clip.avi" -> "dir/clip.partial.avi": the extension stays last, for OpenCV. */
static std::string partial_name(const std::string &path)
{
    size_t slash = path.rfind('/'), dot = path.rfind('.');
    if (dot == std::string::npos || (slash != std::string::npos && dot < slash) ||
        dot == (slash == std::string::npos ? 0 : slash + 1))
        return path + ".partial";
    return path.substr(0, dot) + ".partial" + path.substr(dot);
}

/* OpenCV logs a warning per backend it tries on a file it cannot open: keep the user's
 * terminal for the plugin's one error message. */
struct quiet_opencv {
    cv::utils::logging::LogLevel saved;
    quiet_opencv() : saved(cv::utils::logging::getLogLevel())
    {
        cv::utils::logging::setLogLevel(cv::utils::logging::LOG_LEVEL_SILENT);
    }
    ~quiet_opencv() { cv::utils::logging::setLogLevel(saved); }
};

static int check_input(const char *file)
{
    struct stat st;
    if (stat(file, &st) != 0) {
        mcd_set_error("cannot open video '%s': %s", file, strerror(errno));
        return -1;
    }
    if (!S_ISREG(st.st_mode)) {
        mcd_set_error("cannot open video '%s': not a regular file", file);
        return -1;
    }
    return 0;
}

extern "C" void *mcd_video_open(const char *file, int cam)
{
    if (file && check_input(file)) return nullptr;
    void *cap = nullptr;
    try {
        quiet_opencv q;
        cap = open_video_stream(file, cam, 0, 0, 0);
    } catch (const cv::Exception &e) {
        cap = nullptr;
    }
    if (!cap) {
        if (file)
            mcd_set_error("cannot open video '%s': not a video OpenCV can decode", file);
        else
            mcd_set_error("cannot open camera %d", cam);
    }
    return cap;
}

extern "C" image mcd_video_frame(void *cap)
{
    return get_image_from_stream(cap);
}

extern "C" double mcd_video_fps(void *cap)
{
    double fps = static_cast<cv::VideoCapture *>(cap)->get(cv::CAP_PROP_FPS);
    return std::isfinite(fps) && fps > 0 && fps < 1000 ? fps : 0;
}

extern "C" void mcd_video_frame_size(void *cap, long long *w, long long *h)
{
    cv::VideoCapture *c = static_cast<cv::VideoCapture *>(cap);
    double fw = c->get(cv::CAP_PROP_FRAME_WIDTH), fh = c->get(cv::CAP_PROP_FRAME_HEIGHT);
    bool known = std::isfinite(fw) && std::isfinite(fh) && fw >= 1 && fh >= 1 && fw < 1e9 && fh < 1e9;
    *w = known ? (long long)fw : 0;
    *h = known ? (long long)fh : 0;
}

extern "C" void mcd_video_close(void *cap)
{
    delete static_cast<cv::VideoCapture *>(cap);
}

extern "C" mcd_video_writer *mcd_video_writer_open(const char *path, int w, int h, double fps)
{
    mcd_video_writer *vw = new mcd_video_writer;
    vw->path = path;
    vw->partial = partial_name(vw->path);
    vw->width = w;
    vw->height = h;
    bool ok = false;
    try {
        quiet_opencv q;
        ok = vw->w.open(vw->partial, cv::VideoWriter::fourcc('M', 'J', 'P', 'G'), fps,
                        cv::Size(w, h));
    } catch (const cv::Exception &e) {
        ok = false;
    }
    if (!ok) {
        mcd_set_error("cannot write video '%s' (%dx%d Motion-JPEG): an unwritable place, or "
                      "a container that does not take MJPG (use .avi)", path, w, h);
        unlink(vw->partial.c_str());
        delete vw;
        return nullptr;
    }
    return vw;
}

extern "C" int mcd_video_writer_write(mcd_video_writer *vw, const mcd_canvas *frame)
{
    const cv::Mat &m = mcd_canvas_mat(frame);
    if (m.cols != vw->width || m.rows != vw->height) {
        mcd_set_error("video '%s': a %dx%d frame in a %dx%d video", vw->path.c_str(), m.cols,
                      m.rows, vw->width, vw->height);
        return -1;
    }
    try {
        vw->w.write(m);
    } catch (const cv::Exception &e) {
        mcd_set_error("cannot write to video '%s': %s", vw->path.c_str(), e.what());
        return -1;
    }
    return 0;
}

extern "C" int mcd_video_writer_close(mcd_video_writer *vw)
{
    vw->w.release();
    struct stat st;
    int rc = 0;
    if (stat(vw->partial.c_str(), &st) != 0 || st.st_size == 0) {
        mcd_set_error("video '%s' was not written", vw->path.c_str());
        unlink(vw->partial.c_str());
        rc = -1;
    } else if (rename(vw->partial.c_str(), vw->path.c_str()) != 0) {
        mcd_set_error("cannot rename '%s' to '%s': %s", vw->partial.c_str(), vw->path.c_str(),
                      strerror(errno));
        rc = -1;
    }
    delete vw;
    return rc;
}

extern "C" int mcd_video_probe(const char *path, int *frames, int *w, int *h, double *fps)
{
    if (check_input(path)) return -1;
    cv::VideoCapture cap;
    try {
        quiet_opencv q;
        if (!cap.open(path)) {
            mcd_set_error("cannot open video '%s'", path);
            return -1;
        }
        *fps = cap.get(cv::CAP_PROP_FPS);
        *frames = *w = *h = 0;
        cv::Mat m;
        while (cap.read(m) && !m.empty()) {
            if (*frames == 0) *w = m.cols, *h = m.rows;
            if (m.cols != *w || m.rows != *h) {
                mcd_set_error("video '%s': frame %d is %dx%d, frame 0 %dx%d", path, *frames,
                              m.cols, m.rows, *w, *h);
                return -1;
            }
            ++*frames;
        }
    } catch (const cv::Exception &e) {
        mcd_set_error("cannot read video '%s': %s", path, e.what());
        return -1;
    }
    return 0;
}

#else /* OPENCV=0: no video library; every call says so */

static int no_opencv(const char *what, const char *name)
{
    mcd_set_error("%s%s%s needs OpenCV, and this darknet was built with OPENCV=0", what,
                  name ? " " : "", name ? name : "");
    return -1;
}

extern "C" void *mcd_video_open(const char *file, int cam)
{
    if (file) no_opencv("video", file);
    else no_opencv("a camera", NULL);
    return nullptr;
}

/* No stream is ever opened: these see none. */
extern "C" image mcd_video_frame(void *cap)
{
    image none = {0, 0, 0, NULL};
    return none;
}

extern "C" double mcd_video_fps(void *cap)
{
    return 0;
}

extern "C" void mcd_video_close(void *cap)
{
}

extern "C" mcd_video_writer *mcd_video_writer_open(const char *path, int w, int h, double fps)
{
    no_opencv("writing video", path);
    return nullptr;
}

extern "C" int mcd_video_writer_write(mcd_video_writer *vw, const mcd_canvas *frame)
{
    return no_opencv("writing video", NULL);
}

extern "C" int mcd_video_writer_close(mcd_video_writer *vw)
{
    return no_opencv("writing video", NULL);
}

extern "C" int mcd_video_probe(const char *path, int *frames, int *w, int *h, double *fps)
{
    return no_opencv("reading video", path);
}
#endif
