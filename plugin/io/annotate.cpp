#include "io/annotate.h"

#include <algorithm>
#include <cerrno>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <string>
#include <fcntl.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#ifdef OPENCV
#include <opencv2/highgui.hpp>
#include <opencv2/imgcodecs.hpp>
#include <opencv2/imgproc.hpp>
#endif

#include "util/mcd_error.h"

extern "C" int mcd_annotate_scale(int w, int h)
{
    int shorter = std::min(w, h), longer = std::max(w, h);
    if (shorter <= 0 || shorter >= MCD_ANNOTATE_MIN_SIDE) return 1;
    int s = (MCD_ANNOTATE_MIN_SIDE + shorter - 1) / shorter;
    while (s > 1 && (long)longer * s > MCD_ANNOTATE_MAX_SIDE) --s;
    return s;
}

#ifdef OPENCV
extern "C" cv::Mat image_to_mat(image im); /* Darknet's, in image_opencv.cpp */

struct mcd_canvas {
    cv::Mat m;
};

static const cv::Scalar GREEN(60, 190, 0), RED(40, 40, 225), WHITE(255, 255, 255),
    GREY(170, 170, 170), PANEL(35, 35, 35), TROUGH(80, 80, 80);
static const int FONT = cv::FONT_HERSHEY_SIMPLEX;

/* Darknet's planar RGB floats to BGR bytes, 3 channels. */
static cv::Mat to_bgr(image im)
{
    cv::Mat m = image_to_mat(im);
    if (m.channels() == 1) cv::cvtColor(m, m, cv::COLOR_GRAY2BGR);
    return m;
}

static bool usable(image im)
{
    if (!im.data || im.w <= 0 || im.h <= 0 || (im.c != 1 && im.c != 3)) {
        mcd_set_error("cannot draw an empty image or one with %d channels", im.c);
        return false;
    }
    return true;
}

/* The largest font scale, up to want, at which text fits in width pixels. */
static double fit_scale(const std::string &text, double want, int thickness, int width)
{
    int base;
    double s = want;
    while (s > 0.3 && cv::getTextSize(text, FONT, s, thickness, &base).width > width) s *= 0.9;
    return s;
}

/* Panel layout, all in pixels, from the canvas width alone (so that every frame of a
 * video gets the same size). */
struct panel_layout {
    int margin, line1, line2, bar_h, bar_gap, tick, label_h, height;
    double font; /* font scale of the second line; the verdict line is 1.3x */
};

static panel_layout layout_for(int width)
{
    panel_layout p;
    p.font = std::min(1.2, std::max(0.45, width / 520.0));
    p.margin = std::max(4, (int)std::lround(8 * p.font));
    p.line1 = (int)std::lround(30 * 1.3 * p.font);
    p.line2 = (int)std::lround(30 * p.font);
    p.bar_h = std::max(6, (int)std::lround(14 * p.font));
    p.bar_gap = p.margin;
    p.tick = std::max(2, p.bar_h / 4); /* the threshold mark's overhang */
    int base;
    p.label_h = p.tick + cv::getTextSize("0.5", FONT, 0.8 * p.font, 1, &base).height + 3;
    p.height = p.margin + p.line1 + p.line2 + p.bar_gap + p.bar_h + p.label_h + p.margin;
    return p;
}

static void put(cv::Mat &m, const std::string &text, cv::Point at, double scale,
                const cv::Scalar &colour, int thickness)
{
    cv::putText(m, text, at, FONT, scale, colour, thickness, cv::LINE_AA);
}

static void draw_panel(cv::Mat &m, int top, const panel_layout &p, const mcd_verdict *v)
{
    const int W = m.cols;
    const cv::Scalar &colour = v->ood ? RED : GREEN;
    const int inner = W - 2 * p.margin;
    char buf[512];

    /* verdict and score */
    std::string verdict = v->ood ? "OOD" : "ID";
    snprintf(buf, sizeof buf, "  score %.3f %s %.3f", v->score, v->ood ? ">" : "<=",
             v->threshold);
    std::string rest = buf;
    int thick1 = std::max(2, (int)std::lround(2 * p.font)); /* the verdict in bold */
    double s1 = fit_scale(verdict + rest, 1.3 * p.font, thick1, inner);
    int base, y = top + p.margin + p.line1 - p.line1 / 5;
    int vw = cv::getTextSize(verdict, FONT, s1, thick1, &base).width;
    put(m, verdict, cv::Point(p.margin, y), s1, colour, thick1);
    put(m, rest, cv::Point(p.margin + vw, y), s1, WHITE, std::max(1, (int)std::lround(p.font)));

    /* class */
    snprintf(buf, sizeof buf, "class %s %.1f%%", v->label ? v->label : "?", 100.0 * v->prob);
    std::string cls = buf;
    int thick2 = std::max(1, (int)std::lround(p.font));
    y += p.line2;
    put(m, cls, cv::Point(p.margin, y), fit_scale(cls, p.font, thick2, inner), WHITE, thick2);

    /* score bar, 0 .. 2, filled to the score, threshold marked */
    int bx0 = p.margin, bx1 = W - p.margin;
    int by0 = top + p.margin + p.line1 + p.line2 + p.bar_gap, by1 = by0 + p.bar_h;
    auto xat = [&](double s) {
        s = std::min(2.0, std::max(0.0, std::isfinite(s) ? s : 2.0));
        return bx0 + (int)std::lround(s / 2.0 * (bx1 - bx0));
    };
    cv::rectangle(m, cv::Point(bx0, by0), cv::Point(bx1, by1), TROUGH, cv::FILLED);
    if (xat(v->score) > bx0)
        cv::rectangle(m, cv::Point(bx0, by0), cv::Point(xat(v->score), by1), colour, cv::FILLED);
    int tx = xat(v->threshold);
    cv::line(m, cv::Point(tx, by0 - p.tick), cv::Point(tx, by1 + p.tick), WHITE,
             std::max(1, (int)std::lround(2 * p.font)));
    double ls = 0.8 * p.font;
    int ly = by1 + p.label_h;
    put(m, "0", cv::Point(bx0, ly), ls, GREY, 1);
    int w2 = cv::getTextSize("2", FONT, ls, 1, &base).width;
    put(m, "2", cv::Point(bx1 - w2, ly), ls, GREY, 1);
    snprintf(buf, sizeof buf, "%.2f", v->threshold);
    int wt = cv::getTextSize(buf, FONT, ls, 1, &base).width;
    int lx = std::min(bx1 - w2 - wt - p.margin, std::max(bx0 + w2 + p.margin, tx - wt / 2));
    put(m, buf, cv::Point(lx, ly), ls, WHITE, 1);
}

extern "C" mcd_canvas *mcd_canvas_annotated(image im, const mcd_verdict *v)
{
    if (!usable(im)) return nullptr;
    try {
        cv::Mat pic = to_bgr(im);
        int s = mcd_annotate_scale(im.w, im.h);
        if (s > 1) cv::resize(pic, pic, cv::Size(), s, s, cv::INTER_NEAREST); /* crisp pixels */
        panel_layout p = layout_for(pic.cols);
        mcd_canvas *c = new mcd_canvas;
        c->m = cv::Mat(pic.rows + p.height, pic.cols, CV_8UC3, PANEL);
        pic.copyTo(c->m(cv::Rect(0, 0, pic.cols, pic.rows)));
        /* frame the picture in the verdict's colour, thick enough to survive JPEG */
        int t = std::max(4, pic.cols / 64);
        cv::rectangle(c->m, cv::Rect(0, 0, pic.cols, pic.rows), v->ood ? RED : GREEN, 2 * t);
        draw_panel(c->m, pic.rows, p, v);
        return c;
    } catch (const cv::Exception &e) {
        mcd_set_error("cannot draw the verdict: %s", e.what());
        return nullptr;
    }
}

extern "C" mcd_canvas *mcd_canvas_plain(image im)
{
    if (!usable(im)) return nullptr;
    mcd_canvas *c = new mcd_canvas;
    c->m = to_bgr(im);
    return c;
}

extern "C" void mcd_canvas_free(mcd_canvas *c)
{
    delete c;
}

extern "C" int mcd_canvas_width(const mcd_canvas *c)
{
    return c->m.cols;
}

extern "C" int mcd_canvas_height(const mcd_canvas *c)
{
    return c->m.rows;
}

const cv::Mat &mcd_canvas_mat(const mcd_canvas *c)
{
    return c->m;
}

extern "C" int mcd_canvas_save(const mcd_canvas *c, const char *path)
{
    bool ok = false;
    try {
        ok = cv::imwrite(path, c->m);
    } catch (const cv::Exception &e) {
        mcd_set_error("cannot write image '%s': %s", path, e.what());
        return -1;
    }
    if (!ok) {
        mcd_set_error("cannot write image '%s' (an unwritable place, or an extension OpenCV "
                      "does not know: use .png or .jpg)", path);
        return -1;
    }
    return 0;
}

extern "C" int mcd_display_available(void)
{
    const char *d = getenv("DISPLAY");
    if (!d || !*d) return 0;
    fflush(stdout);
    fflush(stderr);
    pid_t pid = fork();
    if (pid < 0) return 0;
    if (pid == 0) {
        int null = open("/dev/null", O_WRONLY);
        if (null >= 0) dup2(null, 2);
        alarm(10); /* a display that never answers */
        try {
            cv::namedWindow("darknet-mcd display probe", cv::WINDOW_NORMAL);
            cv::destroyAllWindows();
        } catch (...) {
            _exit(1);
        }
        _exit(0);
    }
    int st;
    while (waitpid(pid, &st, 0) < 0)
        if (errno != EINTR) return 0;
    return WIFEXITED(st) && WEXITSTATUS(st) == 0;
}

extern "C" int mcd_canvas_show(const mcd_canvas *c, const char *window, int ms)
{
    try {
        cv::imshow(window, c->m);
        int k = cv::waitKey(ms);
        return k < 0 ? -1 : k % 256;
    } catch (const cv::Exception &e) {
        mcd_set_error("cannot show the window: %s", e.what());
        return -2;
    }
}

extern "C" int mcd_window_open(const char *window, int w, int h)
{
    make_window((char *)window, w, h, 0);
    return 0;
}

#else /* OPENCV=0: no drawing library; every picture-making call says so */

static int no_opencv(const char *what)
{
    mcd_set_error("%s needs OpenCV, and this darknet was built with OPENCV=0", what);
    return -1;
}

extern "C" mcd_canvas *mcd_canvas_annotated(image im, const mcd_verdict *v)
{
    no_opencv("an annotated picture");
    return nullptr;
}

extern "C" mcd_canvas *mcd_canvas_plain(image im)
{
    no_opencv("a picture");
    return nullptr;
}

/* No canvas is ever made: these see none. */
extern "C" void mcd_canvas_free(mcd_canvas *c)
{
}

extern "C" int mcd_canvas_width(const mcd_canvas *c)
{
    return 0;
}

extern "C" int mcd_canvas_height(const mcd_canvas *c)
{
    return 0;
}

extern "C" int mcd_canvas_save(const mcd_canvas *c, const char *path)
{
    return no_opencv("writing an image");
}

extern "C" int mcd_display_available(void)
{
    return 0;
}

extern "C" int mcd_canvas_show(const mcd_canvas *c, const char *window, int ms)
{
    no_opencv("a window");
    return -2;
}

extern "C" int mcd_window_open(const char *window, int w, int h)
{
    return no_opencv("a window");
}
#endif
