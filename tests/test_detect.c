/* `darknet mcd detect`, run through the binary on a network whose behaviour is known by
 * construction: tests/cfg/detect-tiny.cfg averages a 1-channel image to its mean
 * brightness m, and the heads' weights set below make them agree on dark images and
 * disagree on bright ones. The expected class, probability and L1 score of every image
 * and frame are computed here, in double precision, from those weights.
 *
 * The video test writes a video of dark frames followed by bright frames: the verdicts
 * must switch from ID to OOD exactly where the content switches, the annotated video must
 * have every frame at the documented size, framed green then red.
 *
 * One colour picture must reach every verb as the same input: grey (its luma) for
 * detect-tiny-grey.cfg, its R, G, B planes for detect-tiny.cfg, whose heads then weigh each
 * channel differently. */
#define _GNU_SOURCE
#include <ctype.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "io/annotate.h"
#include "darknet.h"
#include "io/image_io.h"
#include "util/mcd_error.h"
#include "network/mcd_network.h"
#include "test_util.h"
#include "ood/threshold_file.h"
#include "io/video_writer.h"
#include "train/batch_loader.h"
#include "network/weights_file.h"

#define TINY_CFG TEST_CFG_DIR "/detect-tiny.cfg"
#define GREY_CFG TEST_CFG_DIR "/detect-tiny-grey.cfg"
#define CLASSES 3
#define THRESHOLD 0.5
#define N_DARK 12   /* video: dark frames first ... */
#define N_BRIGHT 12 /* ... then bright ones */
#define FRAME_W 32
#define FRAME_H 24
#define VIDEO_FPS 10.0

/* Head h's logits: bias[h][k] + weight[h][k] * m. Both heads prefer class 0 on black;
 * brightness pushes head 1 to class 1 and head 2 (less sharply) to class 2. */
static const double head_bias[2][CLASSES] = {{3, 0, 0}, {3, 0, 0}};
static const double head_weight[2][CLASSES] = {{-6, 6, 0}, {-6, 3, 4}};
static const char *class_names[CLASSES] = {"dark", "bright, one", "other"};

static char dir[64];            /* the suite's scratch directory */
static char out[1 << 16];       /* the last command's stdout + stderr */
/* Each video frame's level, as decoded: the mean of its channels, its mean grey. */
static double frame_mean[N_DARK + N_BRIGHT], frame_grey[N_DARK + N_BRIGHT];

static int dark_level(int i)
{
    return 20 + (i % 4) * 5;
}

static int bright_level(int i)
{
    return 200 + (i % 4) * 10;
}

/* --- the reference ----------------------------------------------------------------- */

typedef struct expected {
    double score, prob;
    int cls;
} expected;

/* The class, probability and L1 score of the two heads' logits z. */
static expected expect_logits(double z[2][CLASSES])
{
    double p[2][CLASSES];
    for (int h = 0; h < 2; ++h) {
        double max = -1e300, sum = 0;
        for (int k = 0; k < CLASSES; ++k)
            if (z[h][k] > max) max = z[h][k];
        for (int k = 0; k < CLASSES; ++k) sum += p[h][k] = exp(z[h][k] - max);
        for (int k = 0; k < CLASSES; ++k) p[h][k] /= sum;
    }
    expected e = {0, -1, 0};
    for (int k = 0; k < CLASSES; ++k) {
        e.score += fabs(p[0][k] - p[1][k]);
        double avg = 0.5 * (p[0][k] + p[1][k]);
        if (avg > e.prob) e.prob = avg, e.cls = k;
    }
    return e;
}

static expected expect(double m)
{
    double z[2][CLASSES];
    for (int h = 0; h < 2; ++h)
        for (int k = 0; k < CLASSES; ++k) z[h][k] = head_bias[h][k] + head_weight[h][k] * m;
    return expect_logits(z);
}

/* For the colour test: detect-tiny's heads reading each channel's mean with weights of
 * their own, so that a network fed blue for red (or grey) scores differently. */
static const double colour_weight[2][CLASSES][3] = {
    {{4, -1, -3}, {-2, 5, 0}, {0, -3, 4}},
    {{-3, 2, 1}, {1, -4, 3}, {5, 0, -5}},
};

static expected expect_rgb(const double mean[3])
{
    double z[2][CLASSES];
    for (int h = 0; h < 2; ++h)
        for (int k = 0; k < CLASSES; ++k) {
            z[h][k] = head_bias[h][k];
            for (int c = 0; c < 3; ++c) z[h][k] += colour_weight[h][k][c] * mean[c];
        }
    return expect_logits(z);
}

/* --- a flat JSON object reader (strings, numbers, true/false/null) ------------------- */

#define MAX_FIELDS 16
typedef struct json_obj {
    int n;
    char key[MAX_FIELDS][32];
    char str[MAX_FIELDS][512]; /* string values, decoded */
    double num[MAX_FIELDS];
    int is_str[MAX_FIELDS];
} json_obj;

static const char *json_parse_string(const char *p, char *buf, size_t cap)
{
    if (*p++ != '"') return NULL;
    size_t n = 0;
    while (*p != '"') {
        unsigned c = (unsigned char)*p++;
        if (c == 0 || c < 0x20) return NULL;
        if (c == '\\') {
            char e = *p++;
            const char *from = "\"\\/bfnrt", *to = "\"\\/\b\f\n\r\t";
            if (e == 'u') {
                unsigned v;
                if (sscanf(p, "%4x", &v) != 1 || !isxdigit((unsigned char)p[3])) return NULL;
                p += 4;
                c = v < 0x80 ? v : '?'; /* enough for this test's names */
            } else if (e && strchr(from, e)) {
                c = (unsigned char)to[strchr(from, e) - from];
            } else {
                return NULL;
            }
        }
        if (n + 1 < cap) buf[n++] = (char)c;
    }
    buf[n] = 0;
    return p + 1;
}

static int json_parse(const char *line, json_obj *o)
{
    memset(o, 0, sizeof *o);
    const char *p = line;
    while (isspace((unsigned char)*p)) ++p;
    if (*p++ != '{') return -1;
    for (;;) {
        if (o->n == MAX_FIELDS) return -1;
        p = json_parse_string(p, o->key[o->n], sizeof o->key[0]);
        if (!p || *p++ != ':') return -1;
        if (*p == '"') {
            p = json_parse_string(p, o->str[o->n], sizeof o->str[0]);
            if (!p) return -1;
            o->is_str[o->n] = 1;
        } else if (strncmp(p, "true", 4) == 0 || strncmp(p, "null", 4) == 0) {
            p += 4;
        } else if (strncmp(p, "false", 5) == 0) {
            p += 5;
        } else {
            char *end;
            o->num[o->n] = strtod(p, &end);
            if (end == p || !isfinite(o->num[o->n])) return -1;
            p = end;
        }
        ++o->n;
        if (*p == ',') { ++p; continue; }
        if (*p++ != '}') return -1;
        while (isspace((unsigned char)*p)) ++p;
        return *p ? -1 : 0;
    }
}

static const char *json_str(const json_obj *o, const char *key)
{
    for (int i = 0; i < o->n; ++i)
        if (o->is_str[i] && strcmp(o->key[i], key) == 0) return o->str[i];
    return NULL;
}

static int json_num(const json_obj *o, const char *key, double *v)
{
    for (int i = 0; i < o->n; ++i)
        if (!o->is_str[i] && strcmp(o->key[i], key) == 0) return *v = o->num[i], 0;
    return -1;
}

/* Every line of a file that starts with '{', parsed; the count, or -1 if one does not
 * parse. */
static int read_json_lines(const char *path, json_obj *objs, int cap)
{
    FILE *f = fopen(path, "r");
    if (!f) return -1;
    char line[4096];
    int n = 0, bad = 0;
    while (fgets(line, sizeof line, f)) {
        if (n == cap) { bad = 1; break; }
        if (json_parse(line, &objs[n])) {
            printf("\nnot a JSON object: %s", line);
            bad = 1;
            break;
        }
        ++n;
    }
    fclose(f);
    return bad ? -1 : n;
}

/* --- fixtures -------------------------------------------------------------------------- */

static const char *run_env = ""; /* environment assignments for the next commands */

static int run(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static int run(const char *fmt, ...)
{
    char args[3000], cmd[4096];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(args, sizeof args, fmt, ap);
    va_end(ap);
    /* grouped, so that a "> FILE" in args takes stdout alone: stderr stays in out */
    snprintf(cmd, sizeof cmd, "{ %s %s mcd detect %s ; }", run_env, test_darknet_bin(), args);
    return test_run_command(cmd, out, sizeof out);
}

static const char *path_in(const char *name)
{
    static char buf[8][512];
    static int next;
    char *b = buf[next++ % 8];
    snprintf(b, sizeof buf[0], "%s/%s", dir, name);
    return b;
}

static image grey_image(int w, int h, int level)
{
    image im = make_image(w, h, 3);
    for (int i = 0; i < w * h * 3; ++i) im.data[i] = level / 255.0f;
    return im;
}

static int write_grey_png(const char *name, int level)
{
    image im = grey_image(FRAME_W, FRAME_H, level);
    mcd_canvas *c = mcd_canvas_plain(im);
    int rc = mcd_canvas_save(c, path_in(name));
    mcd_canvas_free(c);
    free_image(im);
    return rc;
}

/* A binary PGM of one grey level, under a name of its own (the extension is the test's). */
static int write_grey_pgm(const char *name, int level)
{
    FILE *f = fopen(path_in(name), "wb");
    if (!f) return -1;
    fprintf(f, "P5\n%d %d\n255\n", FRAME_W, FRAME_H);
    for (int i = 0; i < FRAME_W * FRAME_H; ++i) fputc(level, f);
    return fclose(f);
}

static int write_text(const char *name, const char *text)
{
    FILE *f = fopen(path_in(name), "w");
    if (!f) return -1;
    fputs(text, f);
    return fclose(f);
}

/* The mean of (RGB image) im's channels, or (grey) of 0.299 R + 0.587 G + 0.114 B. */
static double mean_level(image im, int grey)
{
    size_t n = (size_t)im.w * im.h;
    double s = 0;
    for (size_t i = 0; i < n; ++i)
        s += grey ? 0.299 * im.data[i] + 0.587 * im.data[n + i] + 0.114 * im.data[2 * n + i]
                  : (im.data[i] + im.data[n + i] + im.data[2 * n + i]) / 3.0;
    return s / n;
}

/* cfg's heads set to head_bias + head_weight * m, m the mean of the inputs (the image's
 * mean level: of its channels for detect-tiny, its grey level for detect-tiny-grey). */
static int make_weights(const char *cfg, const char *weights)
{
    network *net = mcd_parse_network_cfg(cfg);
    if (!net) return -1;
    mcd_layout m;
    if (mcd_find_layout(net, &m)) return -1;
    layer *heads[2] = {&net->layers[m.split + 1], &net->layers[m.head2 + 1]};
    for (int h = 0; h < 2; ++h) {
        int n = heads[h]->inputs;
        if (heads[h]->type != CONNECTED || n != net->c || heads[h]->outputs != CLASSES)
            return -1;
        for (int k = 0; k < CLASSES; ++k) {
            heads[h]->biases[k] = head_bias[h][k];
            for (int j = 0; j < n; ++j) heads[h]->weights[k * n + j] = head_weight[h][k] / n;
        }
    }
    int rc = mcd_save_weights(net, path_in(weights));
    free_network(net);
    return rc;
}

/* detect-tiny.cfg's heads set to head_bias + colour_weight . (mean R, G, B). */
static int make_colour_weights(const char *weights)
{
    network *net = mcd_parse_network_cfg(TINY_CFG);
    if (!net) return -1;
    mcd_layout m;
    if (mcd_find_layout(net, &m)) return -1;
    layer *heads[2] = {&net->layers[m.split + 1], &net->layers[m.head2 + 1]};
    for (int h = 0; h < 2; ++h) {
        if (heads[h]->type != CONNECTED || heads[h]->inputs != 3 || heads[h]->outputs != CLASSES)
            return -1;
        for (int k = 0; k < CLASSES; ++k) {
            heads[h]->biases[k] = head_bias[h][k];
            for (int c = 0; c < 3; ++c) heads[h]->weights[k * 3 + c] = colour_weight[h][k][c];
        }
    }
    int rc = mcd_save_weights(net, path_in(weights));
    free_network(net);
    return rc;
}

static int make_all_weights(void)
{
    if (make_weights(TINY_CFG, "tiny.weights") || make_weights(TINY_CFG, "nothresh.weights") ||
        make_weights(GREY_CFG, "grey.weights") || make_colour_weights("colour.weights"))
        return -1;
    mcd_threshold t = {THRESHOLD, 0.95, "a hand-made network", 0};
    char tp[512];
    mcd_threshold_path(path_in("tiny.weights"), tp, sizeof tp);
    return mcd_threshold_save(tp, &t);
}

/* N_DARK dark frames then N_BRIGHT bright ones; frame_mean from decoding it back. */
static int make_video(void)
{
    mcd_video_writer *vw = mcd_video_writer_open(path_in("in.avi"), FRAME_W, FRAME_H, VIDEO_FPS);
    if (!vw) return -1;
    for (int i = 0; i < N_DARK + N_BRIGHT; ++i) {
        image im = grey_image(FRAME_W, FRAME_H, i < N_DARK ? dark_level(i) : bright_level(i));
        mcd_canvas *c = mcd_canvas_plain(im);
        int rc = mcd_video_writer_write(vw, c);
        mcd_canvas_free(c);
        free_image(im);
        if (rc) return -1;
    }
    if (mcd_video_writer_close(vw)) return -1;
    void *cap = mcd_video_open(path_in("in.avi"), 0);
    if (!cap) return -1;
    int n = 0;
    for (image im; (im = mcd_video_frame(cap)).data; free_image(im), ++n)
        if (n < N_DARK + N_BRIGHT) frame_mean[n] = mean_level(im, 0), frame_grey[n] = mean_level(im, 1);
    mcd_video_close(cap);
    return n == N_DARK + N_BRIGHT ? 0 : -1;
}

static int setup(void)
{
    strcpy(dir, "/tmp/mcd-detect-XXXXXX");
    if (!mkdtemp(dir)) return -1;
    char names[256];
    /* blanks around names and a line of blanks: dropped, as in every list */
    snprintf(names, sizeof names, "%s \n  \t\n\t%s\n%s\n", class_names[0], class_names[1],
             class_names[2]);
    char data[600];
    snprintf(data, sizeof data, "classes=3\n# a comment\nnames = %s\n", path_in("tiny.names"));
    if (mkdir(path_in("img"), 0777) || write_grey_png("img/dark.png", 30) ||
        write_grey_png("img/bright.png", 220) || write_text("img/notes.txt", "not an image\n") ||
        write_grey_pgm("img/extra.PXM", 30) || write_grey_png("img/.hidden.png", 220) ||
        write_grey_png("we\"ird\\name.png", 30) || write_text("tiny.names", names) ||
        write_text("tiny.data", data) || write_text("broken.png", "img/dark.png\n") ||
        make_all_weights() || make_video())
        return -1;
    char list[1200];
    snprintf(list, sizeof list, "  %s \n \t\n%s\r\n", path_in("img/dark.png"),
             path_in("img/bright.png"));
    return write_text("images.list", list);
}

static int teardown(void)
{
    char cmd[128];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", dir);
    return system(cmd) == 0 ? 0 : -1;
}

/* The common arguments: the tiny network, its names. */
#define NET_ARGS "%s %s -data %s"
#define NET_VALS TINY_CFG, path_in("tiny.weights"), path_in("tiny.data")

static void check_image_result(const json_obj *o, double level)
{
    expected e = expect(level / 255.0);
    double score, prob, cls;
    CU_ASSERT_EQUAL_FATAL(json_num(o, "score", &score), 0);
    CU_ASSERT_EQUAL_FATAL(json_num(o, "prob", &prob), 0);
    CU_ASSERT_EQUAL_FATAL(json_num(o, "class_index", &cls), 0);
    CU_ASSERT(test_close(score, e.score, 1e-4, 0));
    CU_ASSERT(test_close(prob, e.prob, 1e-4, 0));
    CU_ASSERT_EQUAL(cls, e.cls);
    CU_ASSERT_STRING_EQUAL(json_str(o, "class"), class_names[e.cls]);
    CU_ASSERT_STRING_EQUAL(json_str(o, "verdict"), e.score > THRESHOLD ? "OOD" : "ID");
}

/* --- tests ----------------------------------------------------------------------------- */

static void test_reference_separates(void)
{
    /* the construction itself: low score on every dark level, high on every bright one */
    for (int i = 0; i < 4; ++i) {
        CU_ASSERT(expect(dark_level(i) / 255.0).score < 0.2);
        CU_ASSERT(expect(bright_level(i) / 255.0).score > 1.2);
        CU_ASSERT_EQUAL(expect(dark_level(i) / 255.0).cls, 0);
        CU_ASSERT_EQUAL(expect(bright_level(i) / 255.0).cls, 1);
    }
}

static void test_help(void)
{
    CU_ASSERT_EQUAL(run("-h"), 0);
    const char *opts[] = {"-list", "-video", "-camera", "-thresh", "-data", "-json", "-log",
                          "-out", "-outdir", "-frames", "-nodisplay", "-threads", "-h"};
    for (size_t i = 0; i < sizeof opts / sizeof opts[0]; ++i) {
        char o[32];
        snprintf(o, sizeof o, " %s ", opts[i]);
        if (!strstr(out, o)) printf("\nhelp lacks %s\n", opts[i]);
        CU_ASSERT_PTR_NOT_NULL(strstr(out, o));
    }
    char cmd[512];
    snprintf(cmd, sizeof cmd, "%s mcd -h", test_darknet_bin());
    CU_ASSERT_EQUAL(test_run_command(cmd, out, sizeof out), 0);
    CU_ASSERT_PTR_NOT_NULL(strstr(out, "detect CFG WEIGHTS"));
}

/* The JSON lines of a video's n frames: each frame's class, probability and score as
 * computed from its level, ID before N_DARK and OOD from there on. */
static void check_frames(const char *jsonl, const double *level, int n)
{
    static json_obj o[64];
    CU_ASSERT_EQUAL_FATAL(read_json_lines(jsonl, o, 64), n);
    int switches = 0;
    for (int i = 0; i < n; ++i) {
        double frame = -1, time = -1, score = -1, prob = -1, cls = -1;
        CU_ASSERT_EQUAL_FATAL(json_num(&o[i], "frame", &frame), 0);
        CU_ASSERT_EQUAL_FATAL(json_num(&o[i], "time", &time), 0);
        CU_ASSERT_EQUAL_FATAL(json_num(&o[i], "score", &score), 0);
        CU_ASSERT_EQUAL_FATAL(json_num(&o[i], "prob", &prob), 0);
        CU_ASSERT_EQUAL_FATAL(json_num(&o[i], "class_index", &cls), 0);
        CU_ASSERT_EQUAL(frame, i);
        CU_ASSERT(test_close(time, i / VIDEO_FPS, 1e-3, 0));
        expected e = expect(level[i]);
        if (!test_close(score, e.score, 1e-4, 0))
            printf("\nframe %d: score %g, expected %g\n", i, score, e.score);
        CU_ASSERT(test_close(score, e.score, 1e-4, 0));
        CU_ASSERT(test_close(prob, e.prob, 1e-4, 0));
        CU_ASSERT_EQUAL(cls, e.cls);
        CU_ASSERT_STRING_EQUAL(json_str(&o[i], "class"), class_names[e.cls]);
        const char *v = json_str(&o[i], "verdict");
        CU_ASSERT_PTR_NOT_NULL_FATAL(v);
        CU_ASSERT_STRING_EQUAL(v, i < N_DARK ? "ID" : "OOD");
        if (i > 0) switches += strcmp(v, json_str(&o[i - 1], "verdict")) != 0;
    }
    CU_ASSERT_EQUAL(switches, 1);
}

static void test_video_verdicts_switch(void)
{
    const int n = N_DARK + N_BRIGHT;
    int rc = run(NET_ARGS " -video %s -json -nodisplay -out %s -log %s > %s", NET_VALS,
                 path_in("in.avi"), path_in("out.avi"), path_in("log.csv"),
                 path_in("video.jsonl"));
    if (rc) printf("\n%s\n", out);
    CU_ASSERT_EQUAL_FATAL(rc, 0);
    CU_ASSERT_PTR_NOT_NULL(strstr(out, "frames/s"));
    check_frames(path_in("video.jsonl"), frame_mean, n);

    /* the CSV log: a header, a row per frame, the class name with its comma quoted */
    FILE *f = fopen(path_in("log.csv"), "r");
    CU_ASSERT_PTR_NOT_NULL_FATAL(f);
    char line[512];
    CU_ASSERT_PTR_NOT_NULL(fgets(line, sizeof line, f));
    CU_ASSERT_STRING_EQUAL(line, "frame,time,class,class_index,prob,score,threshold,verdict\n");
    int rows = 0;
    while (fgets(line, sizeof line, f)) {
        int frame;
        CU_ASSERT_EQUAL(sscanf(line, "%d,", &frame), 1);
        CU_ASSERT_EQUAL(frame, rows);
        const char *want = rows < N_DARK ? ",dark,0," : ",\"bright, one\",1,";
        CU_ASSERT_PTR_NOT_NULL(strstr(line, want));
        size_t len = strlen(line);
        CU_ASSERT(len > 4 && strcmp(line + len - (rows < N_DARK ? 4 : 5),
                                    rows < N_DARK ? ",ID\n" : ",OOD\n") == 0);
        ++rows;
    }
    fclose(f);
    CU_ASSERT_EQUAL(rows, n);

    /* the annotated video: every frame, upscaled (24 px -> 11x), a panel below, framed
     * green for ID and red for OOD */
    int frames, w, h;
    double fps;
    CU_ASSERT_EQUAL_FATAL(mcd_video_probe(path_in("out.avi"), &frames, &w, &h, &fps), 0);
    int s = (MCD_ANNOTATE_MIN_SIDE + FRAME_H - 1) / FRAME_H;
    CU_ASSERT_EQUAL(s, 11);
    CU_ASSERT_EQUAL(frames, n);
    CU_ASSERT_EQUAL(w, FRAME_W * s);
    CU_ASSERT(h > FRAME_H * s + 20);
    CU_ASSERT(test_close(fps, VIDEO_FPS, 0.01, 0));
    void *cap = mcd_video_open(path_in("out.avi"), 0);
    CU_ASSERT_PTR_NOT_NULL_FATAL(cap);
    int i = 0;
    for (image im; (im = mcd_video_frame(cap)).data; free_image(im), ++i) {
        double r = 0, g = 0;
        for (int y = 1; y < 4; ++y)
            for (int x = 0; x < im.w; ++x) {
                r += im.data[y * im.w + x];
                g += im.data[im.w * im.h + y * im.w + x];
            }
        r /= 3 * im.w, g /= 3 * im.w;
        CU_ASSERT(i < N_DARK ? g > r + 0.3 : r > g + 0.3);
    }
    mcd_video_close(cap);
    CU_ASSERT_EQUAL(i, n);
}

static void test_video_grey_network(void)
{
    /* a 1-channel network sees each frame as grey (0.299 R + 0.587 G + 0.114 B) */
    int rc = run("%s %s -data %s -thresh %g -video %s -json -nodisplay > %s", GREY_CFG,
                 path_in("grey.weights"), path_in("tiny.data"), THRESHOLD, path_in("in.avi"),
                 path_in("grey.jsonl"));
    if (rc) printf("\n%s\n", out);
    CU_ASSERT_EQUAL_FATAL(rc, 0);
    check_frames(path_in("grey.jsonl"), frame_grey, N_DARK + N_BRIGHT);
    /* and still images as grey */
    rc = run("%s %s -data %s -thresh %g %s -json > %s", GREY_CFG, path_in("grey.weights"),
             path_in("tiny.data"), THRESHOLD, path_in("img"), path_in("grey-img.jsonl"));
    CU_ASSERT_EQUAL_FATAL(rc, 0);
    static json_obj o[4];
    CU_ASSERT_EQUAL_FATAL(read_json_lines(path_in("grey-img.jsonl"), o, 4), 3);
    check_image_result(&o[0], 220);
    check_image_result(&o[1], 30);
    check_image_result(&o[2], 30);
}

static void test_video_frames_and_json_log(void)
{
    int rc = run(NET_ARGS " -video %s -nodisplay -frames 5 -log %s > %s", NET_VALS,
                 path_in("in.avi"), path_in("log.jsonl"), path_in("video.txt"));
    CU_ASSERT_EQUAL_FATAL(rc, 0);
    static json_obj o[16];
    CU_ASSERT_EQUAL(read_json_lines(path_in("log.jsonl"), o, 16), 5);
    /* text on stdout: a line per frame */
    FILE *f = fopen(path_in("video.txt"), "r");
    CU_ASSERT_PTR_NOT_NULL_FATAL(f);
    char line[512];
    int lines = 0;
    while (fgets(line, sizeof line, f)) {
        char want[64];
        snprintf(want, sizeof want, "frame %d (", lines);
        CU_ASSERT(strncmp(line, want, strlen(want)) == 0);
        CU_ASSERT_PTR_NOT_NULL(strstr(line, "ID   score "));
        CU_ASSERT_PTR_NOT_NULL(strstr(line, " dark "));
        ++lines;
    }
    fclose(f);
    CU_ASSERT_EQUAL(lines, 5);
}

static void test_video_window(void)
{
    /* a display that does not answer: a note, no window, no crash (OpenCV's Qt backend
     * would abort the process) */
    run_env = "DISPLAY=:97 QT_QPA_PLATFORM=xcb";
    int rc = run(NET_ARGS " -video %s -frames 3 > /dev/null", NET_VALS, path_in("in.avi"));
    CU_ASSERT_EQUAL(rc, 0);
    CU_ASSERT_PTR_NOT_NULL(strstr(out, "cannot open a window on DISPLAY=:97"));
    /* a display that works (Qt's offscreen platform): the frames go through the window */
    run_env = "DISPLAY=:97 QT_QPA_PLATFORM=offscreen XDG_RUNTIME_DIR=/tmp";
    rc = run(NET_ARGS " -video %s -frames 3 > /dev/null", NET_VALS, path_in("in.avi"));
    CU_ASSERT_EQUAL(rc, 0);
    CU_ASSERT_PTR_NULL(strstr(out, "cannot open a window"));
    CU_ASSERT_PTR_NOT_NULL(strstr(out, "3 frames"));
    /* -nodisplay: not even tried */
    rc = run(NET_ARGS " -video %s -frames 3 -nodisplay > /dev/null", NET_VALS, path_in("in.avi"));
    CU_ASSERT_EQUAL(rc, 0);
    run_env = "";
}

static void test_images_dir_list_stdin(void)
{
    static json_obj o[8];
    /* a directory: its images by `mcd import`'s extensions (case ignored: extra.PXM), sorted
     * by name; notes.txt and the hidden .hidden.png skipped */
    CU_ASSERT_EQUAL_FATAL(run(NET_ARGS " %s -json > %s", NET_VALS, path_in("img"),
                              path_in("dir.jsonl")), 0);
    CU_ASSERT_EQUAL_FATAL(read_json_lines(path_in("dir.jsonl"), o, 8), 3);
    CU_ASSERT_STRING_EQUAL(json_str(&o[0], "file"), path_in("img/bright.png"));
    CU_ASSERT_STRING_EQUAL(json_str(&o[1], "file"), path_in("img/dark.png"));
    CU_ASSERT_STRING_EQUAL(json_str(&o[2], "file"), path_in("img/extra.PXM"));
    check_image_result(&o[0], 220);
    check_image_result(&o[1], 30);
    check_image_result(&o[2], 30);

    /* a list file (blanks around paths, a line of blanks, CRLF) */
    CU_ASSERT_EQUAL_FATAL(run(NET_ARGS " -list %s -json > %s", NET_VALS,
                              path_in("images.list"), path_in("list.jsonl")), 0);
    CU_ASSERT_EQUAL_FATAL(read_json_lines(path_in("list.jsonl"), o, 8), 2);
    CU_ASSERT_STRING_EQUAL(json_str(&o[0], "file"), path_in("img/dark.png"));
    check_image_result(&o[0], 30);
    check_image_result(&o[1], 220);

    /* standard input, not a terminal: no prompt */
    CU_ASSERT_EQUAL_FATAL(run(NET_ARGS " -json < %s > %s", NET_VALS, path_in("images.list"),
                              path_in("stdin.jsonl")), 0);
    CU_ASSERT_PTR_NULL(strstr(out, "Enter"));
    CU_ASSERT_EQUAL_FATAL(read_json_lines(path_in("stdin.jsonl"), o, 8), 2);
    check_image_result(&o[1], 220);

    /* the thread count changes nothing but the speed */
    CU_ASSERT_EQUAL_FATAL(run(NET_ARGS " -list %s -json -threads 2 > %s", NET_VALS,
                              path_in("images.list"), path_in("threads.jsonl")), 0);
    CU_ASSERT_EQUAL_FATAL(read_json_lines(path_in("threads.jsonl"), o, 8), 2);
    check_image_result(&o[0], 30);
    check_image_result(&o[1], 220);

    /* text output */
    CU_ASSERT_EQUAL_FATAL(run(NET_ARGS " %s %s", NET_VALS, path_in("img/dark.png"),
                              path_in("img/bright.png")), 0);
    char want[600];
    snprintf(want, sizeof want, "%s: ID   score ", path_in("img/dark.png"));
    CU_ASSERT_PTR_NOT_NULL(strstr(out, want));
    snprintf(want, sizeof want, "%s: OOD  score ", path_in("img/bright.png"));
    CU_ASSERT_PTR_NOT_NULL(strstr(out, want));
    CU_ASSERT_PTR_NOT_NULL(strstr(out, "bright, one "));
}

static void test_json_escaping(void)
{
    const char *weird = path_in("we\"ird\\name.png");
    CU_ASSERT_EQUAL_FATAL(run(NET_ARGS " '%s' -json > %s", NET_VALS, weird,
                              path_in("weird.jsonl")), 0);
    static json_obj o[2];
    CU_ASSERT_EQUAL_FATAL(read_json_lines(path_in("weird.jsonl"), o, 2), 1);
    CU_ASSERT_STRING_EQUAL(json_str(&o[0], "file"), weird);
    check_image_result(&o[0], 30);
}

/* The border of an annotated picture at (3, 3): green (ID) or red (OOD). */
static void check_annotated(const char *path, int ood)
{
    image im;
    CU_ASSERT_EQUAL_FATAL(mcd_read_image(path, 0, 0, 3, &im), 0);
    int s = mcd_annotate_scale(FRAME_W, FRAME_H);
    CU_ASSERT_EQUAL(im.w, FRAME_W * s);
    CU_ASSERT(im.h > FRAME_H * s + 20);
    size_t at = 3 * im.w + 3, plane = (size_t)im.w * im.h;
    float r = im.data[at], g = im.data[plane + at];
    CU_ASSERT(ood ? r > g + 0.3 : g > r + 0.3);
    free_image(im);
}

static void test_annotated_images(void)
{
    CU_ASSERT_EQUAL_FATAL(run(NET_ARGS " %s -out %s", NET_VALS, path_in("img/dark.png"),
                              path_in("dark-verdict.png")), 0);
    check_annotated(path_in("dark-verdict.png"), 0);
    CU_ASSERT_EQUAL_FATAL(run(NET_ARGS " %s -outdir %s", NET_VALS, path_in("img"),
                              path_in("annotated")), 0);
    check_annotated(path_in("annotated/dark.png"), 0);
    check_annotated(path_in("annotated/bright.png"), 1);
    /* a grey-only format (extra.PXM) is annotated as a colour PNG, the verdict's colour kept */
    check_annotated(path_in("annotated/extra.png"), 0);
    /* -out takes one image; it never overwrites its input */
    CU_ASSERT_EQUAL(run(NET_ARGS " %s -out %s", NET_VALS, path_in("img"), path_in("x.png")), 1);
    CU_ASSERT_PTR_NOT_NULL(strstr(out, "-outdir"));
    CU_ASSERT_EQUAL(run(NET_ARGS " %s -out %s", NET_VALS, path_in("img/dark.png"),
                        path_in("img/dark.png")), 1);
    CU_ASSERT_PTR_NOT_NULL(strstr(out, "overwrite"));
}

static void test_threshold_sources(void)
{
    static json_obj o[4];
    /* WEIGHTS.threshold (0.5) is read ... */
    CU_ASSERT_EQUAL_FATAL(run(NET_ARGS " %s -json > %s", NET_VALS, path_in("img/bright.png"),
                              path_in("t.jsonl")), 0);
    CU_ASSERT_PTR_NOT_NULL(strstr(out, "tiny.weights.threshold"));
    CU_ASSERT_EQUAL_FATAL(read_json_lines(path_in("t.jsonl"), o, 4), 1);
    CU_ASSERT_STRING_EQUAL(json_str(&o[0], "verdict"), "OOD");
    /* ... -thresh overrides it */
    CU_ASSERT_EQUAL_FATAL(run(NET_ARGS " %s -json -thresh 1.9 > %s", NET_VALS,
                              path_in("img/bright.png"), path_in("t.jsonl")), 0);
    CU_ASSERT_EQUAL_FATAL(read_json_lines(path_in("t.jsonl"), o, 4), 1);
    CU_ASSERT_STRING_EQUAL(json_str(&o[0], "verdict"), "ID");
    double t;
    CU_ASSERT(json_num(&o[0], "threshold", &t) == 0 && t == 1.9);
    /* neither: an error that says what to do */
    CU_ASSERT_EQUAL(run("%s %s %s", TINY_CFG, path_in("nothresh.weights"),
                        path_in("img/dark.png")), 1);
    CU_ASSERT_PTR_NOT_NULL(strstr(out, "nothresh.weights.threshold"));
    CU_ASSERT_PTR_NOT_NULL(strstr(out, "mcd calibrate"));
    CU_ASSERT_PTR_NOT_NULL(strstr(out, "-thresh"));
    CU_ASSERT_EQUAL(run("%s %s %s -thresh 0.5", TINY_CFG, path_in("nothresh.weights"),
                        path_in("img/dark.png")), 0);
    /* a bad -thresh */
    CU_ASSERT_EQUAL(run(NET_ARGS " %s -thresh abc", NET_VALS, path_in("img/dark.png")), 1);
    CU_ASSERT_EQUAL(run(NET_ARGS " %s -thresh 3", NET_VALS, path_in("img/dark.png")), 1);
}

static void test_class_names_fallback(void)
{
    /* no usable names file by default (the tiny network has 3 classes): indices, a note */
    CU_ASSERT_EQUAL_FATAL(run("%s %s %s -json -data /nonexistent/x.data", TINY_CFG,
                              path_in("tiny.weights"), path_in("img/dark.png")), 1);
    CU_ASSERT_PTR_NOT_NULL(strstr(out, "/nonexistent/x.data"));
    CU_ASSERT_EQUAL_FATAL(run("%s %s %s -json > %s", TINY_CFG, path_in("tiny.weights"),
                              path_in("img/bright.png"), path_in("n.jsonl")), 0);
    CU_ASSERT_PTR_NOT_NULL(strstr(out, "note: "));
    static json_obj o[2];
    CU_ASSERT_EQUAL_FATAL(read_json_lines(path_in("n.jsonl"), o, 2), 1);
    CU_ASSERT_STRING_EQUAL(json_str(&o[0], "class"), "1");
}

/* One colour picture, its luma computed here from the bytes written. */
#define SWATCH 8 /* the grey network's input size: no resizing */
static double swatch_luma[SWATCH * SWATCH];
static double swatch_rgb[3][SWATCH * SWATCH]; /* its planes, R, G, B, in [0, 1] */

static int write_colour_swatch(const char *name)
{
    image im = make_image(SWATCH, SWATCH, 3);
    const int n = SWATCH * SWATCH;
    for (int i = 0; i < n; ++i) {
        int r = (37 * i + 11) % 256, g = (91 * i + 50) % 256, b = (13 * i + 200) % 256;
        im.data[i] = r / 255.0f, im.data[n + i] = g / 255.0f, im.data[2 * n + i] = b / 255.0f;
        swatch_luma[i] = (0.299 * r + 0.587 * g + 0.114 * b) / 255.0;
        swatch_rgb[0][i] = r / 255.0, swatch_rgb[1][i] = g / 255.0, swatch_rgb[2][i] = b / 255.0;
    }
    mcd_canvas *c = mcd_canvas_plain(im);
    int rc = mcd_canvas_save(c, path_in(name));
    mcd_canvas_free(c);
    free_image(im);
    return rc;
}

/* Largest difference between a (c planes) and the swatch as the network should see it:
 * its luma for c = 1, its R, G, B planes for c = 3; or its mirror image when mirrored. */
static double swatch_error(const float *a, int c, int mirrored)
{
    double worst = 0;
    for (int p = 0; p < c; ++p)
        for (int y = 0; y < SWATCH; ++y)
            for (int x = 0; x < SWATCH; ++x) {
                int i = y * SWATCH + (mirrored ? SWATCH - 1 - x : x);
                double want = c == 1 ? swatch_luma[i] : swatch_rgb[p][i];
                double d = fabs(a[p * SWATCH * SWATCH + y * SWATCH + x] - want);
                if (d > worst) worst = d;
            }
    return worst;
}

/* The number after the n-th comma of the first data row of a CSV file. */
static double csv_column(const char *path, int n)
{
    FILE *f = fopen(path, "r");
    char line[4096] = "";
    if (!f) return NAN;
    if (!fgets(line, sizeof line, f) || !fgets(line, sizeof line, f)) line[0] = 0;
    fclose(f);
    const char *p = line;
    for (int i = 0; i < n && p; ++i) p = strchr(p, ',') ? strchr(p, ',') + 1 : NULL;
    return p && *p ? atof(p) : NAN;
}

/* The swatch, written as NAME.png, as a c-channel network's input in every reader: the
 * one behind valid, calibrate and the checkpoint choice, the detector's (a decoded colour
 * picture or video frame) and the training loader's (augmentation off; it may mirror). */
static void check_swatch_readers(const char *name, int c)
{
    char png[512]; /* path_in's buffers are reused */
    snprintf(png, sizeof png, "%s.png", path_in(name));
    CU_ASSERT_EQUAL_FATAL(write_colour_swatch(strrchr(png, '/') + 1), 0);
    image read, colour;
    CU_ASSERT_EQUAL_FATAL(mcd_read_image(png, SWATCH, SWATCH, c, &read), 0);
    CU_ASSERT_EQUAL(read.c, c);
    CU_ASSERT(swatch_error(read.data, c, 0) < 1e-6);
    CU_ASSERT_EQUAL_FATAL(mcd_read_image(png, 0, 0, 3, &colour), 0);
    image det = mcd_network_image(colour, SWATCH, SWATCH, c);
    CU_ASSERT_EQUAL(det.c, c);
    CU_ASSERT(swatch_error(det.data, c, 0) < 1e-6);
    char *paths[1] = {png};
    batch_loader_config lc = {.paths = paths, .npaths = 1, .list_name = "swatch", .classes = CLASSES,
                              .batch = 2, .w = SWATCH, .h = SWATCH, .c = c, .min = SWATCH,
                              .max = SWATCH, .aspect = 1, .saturation = 1, .exposure = 1, .seed = 3};
    batch_loader l;
    data d;
    batch_loader_start(&l, &lc);
    CU_ASSERT_EQUAL_FATAL(batch_loader_next(&l, &d), 0);
    batch_loader_stop(&l);
    CU_ASSERT_EQUAL(d.X.cols, c * SWATCH * SWATCH);
    for (int b = 0; b < 2; ++b)
        CU_ASSERT(fmin(swatch_error(d.X.vals[b], c, 0), swatch_error(d.X.vals[b], c, 1)) < 1e-4);
    free_data(d);
    free_image(read);
    free_image(colour);
    free_image(det);
}

/* detect, valid and calibrate on NAME.png (the swatch) give the score want. */
static void check_swatch_verbs(const char *name, const char *cfg, const char *weights, double want)
{
    char png[512], list[512], data_file[512], data[1800], cmd[4096];
    snprintf(png, sizeof png, "%s.png", path_in(name));
    snprintf(list, sizeof list, "%s.list", path_in(name));
    snprintf(data_file, sizeof data_file, "%s.data", path_in(name));
    snprintf(data, sizeof data, "classes=3\nnames=%s\nvalid=%s\nid_test=%s\nood=%s\n",
             path_in("tiny.names"), list, list, list);
    CU_ASSERT_EQUAL_FATAL(test_write_text(list, png) || test_write_text(data_file, data), 0);
    int rc = run("%s %s -data %s -thresh 1 %s -json > %s.jsonl", cfg, path_in(weights),
                 data_file, png, path_in(name));
    if (rc) printf("\n%s\n", out);
    CU_ASSERT_EQUAL_FATAL(rc, 0);
    static json_obj o[1];
    double score = NAN;
    snprintf(cmd, sizeof cmd, "%s.jsonl", path_in(name));
    CU_ASSERT_EQUAL_FATAL(read_json_lines(cmd, o, 1), 1);
    CU_ASSERT_EQUAL(json_num(&o[0], "score", &score), 0);
    CU_ASSERT(fabs(score - want) < 1e-5);
    snprintf(cmd, sizeof cmd, "%s mcd valid %s %s -data %s -csv %s.csv", test_darknet_bin(), cfg,
             path_in(weights), data_file, path_in(name));
    CU_ASSERT_EQUAL_FATAL(test_run_command(cmd, out, sizeof out), 0);
    snprintf(cmd, sizeof cmd, "%s.csv", path_in(name));
    CU_ASSERT(fabs(csv_column(cmd, 7) - want) < 1e-5); /* mcd_l1 */
    snprintf(cmd, sizeof cmd, "%s mcd calibrate %s %s -data %s -tpr 1", test_darknet_bin(), cfg,
             path_in(weights), data_file);
    CU_ASSERT_EQUAL_FATAL(test_run_command(cmd, out, sizeof out), 0);
    mcd_threshold t;
    char tp[512];
    mcd_threshold_path(path_in(weights), tp, sizeof tp);
    CU_ASSERT_EQUAL_FATAL(mcd_threshold_load(tp, &t), 0);
    CU_ASSERT(fabs(t.threshold - want) < 1e-5); /* one image kept: its own score */
    remove(tp);
}

static void test_one_grey_path(void)
{
    /* a colour picture as a 1-channel network's input: its luma, in every reader ... */
    check_swatch_readers("swatch", 1);
    /* ... and the verbs give the score of that grey input */
    double m = 0;
    for (int i = 0; i < SWATCH * SWATCH; ++i) m += swatch_luma[i] / (SWATCH * SWATCH);
    check_swatch_verbs("swatch", GREY_CFG, "grey.weights", expect(m).score);
}

static void test_one_colour_path(void)
{
    /* a colour picture as a 3-channel network's input: R, G, B planes in that order, as
     * written, in every reader ... */
    check_swatch_readers("swatch-rgb", 3);
    /* ... and the verbs give the score of those channel means; the same picture with red
     * and blue swapped would score otherwise */
    double mean[3] = {0, 0, 0};
    for (int c = 0; c < 3; ++c)
        for (int i = 0; i < SWATCH * SWATCH; ++i) mean[c] += swatch_rgb[c][i] / (SWATCH * SWATCH);
    double swapped[3] = {mean[2], mean[1], mean[0]};
    CU_ASSERT(fabs(expect_rgb(mean).score - expect_rgb(swapped).score) > 0.05);
    check_swatch_verbs("swatch-rgb", TINY_CFG, "colour.weights", expect_rgb(mean).score);
}

static void test_bad_inputs(void)
{
    /* a missing image among good ones: the others still run, the exit status says so */
    int rc = run(NET_ARGS " -json %s %s %s > %s", NET_VALS, path_in("img/dark.png"),
                 path_in("img/missing.png"), path_in("img/bright.png"), path_in("bad.jsonl"));
    CU_ASSERT_EQUAL(rc, 1);
    CU_ASSERT_PTR_NOT_NULL(strstr(out, "img/missing.png"));
    static json_obj o[4];
    CU_ASSERT_EQUAL(read_json_lines(path_in("bad.jsonl"), o, 4), 2);
    /* a text file given as an image: named, and -list suggested */
    CU_ASSERT_EQUAL(run(NET_ARGS " %s", NET_VALS, path_in("broken.png")), 1);
    CU_ASSERT_PTR_NOT_NULL(strstr(out, "broken.png"));
    CU_ASSERT_PTR_NOT_NULL(strstr(out, "-list"));
    /* missing list, directory without images */
    CU_ASSERT_EQUAL(run(NET_ARGS " -list %s", NET_VALS, path_in("none.list")), 1);
    CU_ASSERT_PTR_NOT_NULL(strstr(out, "none.list"));
    CU_ASSERT_EQUAL(run(NET_ARGS " %s", NET_VALS, TEST_CFG_DIR), 1);
    CU_ASSERT_PTR_NOT_NULL(strstr(out, "has no images"));
    /* videos: missing, not a video, the camera that is not there */
    CU_ASSERT_EQUAL(run(NET_ARGS " -video %s", NET_VALS, path_in("missing.avi")), 1);
    CU_ASSERT_PTR_NOT_NULL(strstr(out, "missing.avi"));
    CU_ASSERT_EQUAL(run(NET_ARGS " -video %s", NET_VALS, path_in("tiny.names")), 1);
    CU_ASSERT_PTR_NOT_NULL(strstr(out, "cannot open video"));
    CU_ASSERT_PTR_NOT_NULL(strstr(out, "tiny.names"));
    CU_ASSERT_EQUAL(run(NET_ARGS " -camera 99 -nodisplay", NET_VALS), 1);
    CU_ASSERT_PTR_NOT_NULL(strstr(out, "camera 99"));
    CU_ASSERT_EQUAL(run(NET_ARGS " -video %s -out /nonexistent/out.avi", NET_VALS,
                        path_in("in.avi")), 1);
    CU_ASSERT_PTR_NOT_NULL(strstr(out, "/nonexistent/out.avi"));
    /* missing cfg, missing weights */
    CU_ASSERT_EQUAL(run("tests/cfg/none.cfg %s -thresh 0.5 %s", path_in("tiny.weights"),
                        path_in("img/dark.png")), 1);
    CU_ASSERT_PTR_NOT_NULL(strstr(out, "tests/cfg/none.cfg"));
    CU_ASSERT_EQUAL(run("%s %s -thresh 0.5 %s", TINY_CFG, path_in("none.weights"),
                        path_in("img/dark.png")), 1);
    CU_ASSERT_PTR_NOT_NULL(strstr(out, "none.weights"));
    /* options */
    CU_ASSERT_EQUAL(run(NET_ARGS " %s -bogus", NET_VALS, path_in("img/dark.png")), 1);
    CU_ASSERT_PTR_NOT_NULL(strstr(out, "-bogus"));
    CU_ASSERT_EQUAL(run(NET_ARGS " -video %s -camera 0", NET_VALS, path_in("in.avi")), 1);
    CU_ASSERT_EQUAL(run(NET_ARGS " -video", NET_VALS), 1);
    CU_ASSERT_PTR_NOT_NULL(strstr(out, "needs a value"));
    CU_ASSERT_EQUAL(run(NET_ARGS " %s -threads 0", NET_VALS, path_in("img/dark.png")), 1);
    CU_ASSERT_PTR_NOT_NULL(strstr(out, "-threads 0"));
    CU_ASSERT_EQUAL(run(NET_ARGS " %s -frames 2", NET_VALS, path_in("img/dark.png")), 1);
    CU_ASSERT_EQUAL(run("%s", TINY_CFG), 1);
}

int add_detect_suite(void)
{
    CU_pSuite s = CU_add_suite("mcd detect", setup, teardown);
    if (!s) return -1;
    return !CU_add_test(s, "the hand-made heads separate dark from bright",
                        test_reference_separates) ||
           !CU_add_test(s, "-h lists every option", test_help) ||
           !CU_add_test(s, "video: verdicts switch where the content does; annotated "
                           "video, CSV log", test_video_verdicts_switch) ||
           !CU_add_test(s, "a 1-channel network sees grey frames and images",
                        test_video_grey_network) ||
           !CU_add_test(s, "video: -frames, JSON-lines log, text output",
                        test_video_frames_and_json_log) ||
           !CU_add_test(s, "video: a window only on a working display", test_video_window) ||
           !CU_add_test(s, "images: directory, list, stdin, text", test_images_dir_list_stdin) ||
           !CU_add_test(s, "JSON escapes file names", test_json_escaping) ||
           !CU_add_test(s, "annotated images: -out, -outdir", test_annotated_images) ||
           !CU_add_test(s, "threshold: file, -thresh, neither", test_threshold_sources) ||
           !CU_add_test(s, "one colour image: the same grey input for training, valid, "
                           "calibrate and detect", test_one_grey_path) ||
           !CU_add_test(s, "one colour image: the same R, G, B input for training, valid, "
                           "calibrate and detect on a 3-channel network", test_one_colour_path) ||
           !CU_add_test(s, "class names: -data, fallback to indices",
                        test_class_names_fallback) ||
           !CU_add_test(s, "bad inputs: clear errors, exit 1, the rest still runs",
                        test_bad_inputs);
}
