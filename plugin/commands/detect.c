/* `darknet mcd detect CFG WEIGHTS [IMAGE|DIR ...] [-list FILE] [-video FILE | -camera N]`:
 * classify images or video frames with an MCD network and call each one in-distribution
 * (ID) or out-of-distribution (OOD).
 *
 * Per input: the class the two heads predict on average, its probability, the L1 score
 * sum_k |p1_k - p2_k| (the network's output) and the verdict: OOD when the score is above
 * the threshold that `darknet mcd calibrate` stored in WEIGHTS.threshold (or -thresh).
 * The network's side is the library API (include/mcd.h, plugin/api/): lists, directories and
 * standard input go through it in batches; this file reads the inputs and writes the results. */
#define _GNU_SOURCE
#include <ctype.h>
#include <dirent.h>
#include <errno.h>
#include <math.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <poll.h>
#include <strings.h>
#include <sys/stat.h>
#include <unistd.h>

#include "backend/gemm_backend.h"
#include "backend/gpu_device.h"
#include "commands/command_line.h"
#include "commands/verbs.h"
#include "io/annotate.h"
#include "io/data_lists.h"
#include "io/image_io.h"
#include "io/image_probe.h"
#include "io/output_fields.h"
#include "io/video_writer.h"
#include "api/detector_registry.h"
#include "ood/frame_verdicts.h"
#include "ood/threshold_file.h"
#include "util/mcd_error.h"
#include "util/file_paths.h"
#include "util/stop_signal.h"
#include "util/string_list.h"
#include "util/wall_clock.h"

#define DEFAULT_VIDEO_FPS 25.0
#define FROM_LIST 1 /* the tag of a -list FILE among the inputs */

typedef struct detect_options {
    const char *cfg, *weights, *data, *out, *outdir, *log, *video;
    double thresh;         /* NAN: WEIGHTS.threshold */
    int json, nodisplay;
    int camera;            /* -1: none */
    long max_frames;       /* 0: all */
    int threads;           /* 0: leave the gemm backend's thread count alone */
    long max_pixels;       /* images and video frames; 0: the default */
    int smooth, hold;      /* video: frames averaged, frames that must agree (1: off) */
    const char *alarm;     /* video: "SHARE:WINDOW", or NULL */
    int gpu;               /* -1: the CPU */
    mcd_arg_list sources;  /* images and directories, and -list files (tag FROM_LIST), in order */
} detect_options;

static const mcd_positional positionals[] = {
    {"CFG", offsetof(detect_options, cfg), 1},
    {"WEIGHTS", offsetof(detect_options, weights), 1},
};

static const mcd_option options[] = {
    {.name = "-list", .kind = MCD_OPT_LIST, .offset = offsetof(detect_options, sources),
     .value = "FILE", .tag = FROM_LIST,
     .help = "a list of image paths, one per line (repeatable)"},
    {.name = "-video", .kind = MCD_OPT_STRING, .offset = offsetof(detect_options, video),
     .value = "FILE", .help = "every frame of a video file"},
    {.name = "-camera", .kind = MCD_OPT_INT, .offset = offsetof(detect_options, camera),
     .value = "N", .min = 0, .max = 1e6,
     .help = "frames of camera N until the stream ends, Ctrl-C, or Esc/q in the window"},
    {.name = "-thresh", .kind = MCD_OPT_DOUBLE, .offset = offsetof(detect_options, thresh),
     .value = "X", .min = 0, .max = 2,
     .help = "the OOD threshold, in [0, 2] (default: WEIGHTS.threshold, written\n"
             "by 'darknet mcd calibrate')"},
    {.name = "-data", .kind = MCD_OPT_STRING, .offset = offsetof(detect_options, data),
     .value = "FILE", .help = "a Darknet .data file whose names= (or labels=) key lists the class\n"
                              "names, one per line (default: the cfg's data=, else\n"
                              MCD_DEFAULT_DATA "; without names, classes are shown by index)"},
    {.name = "-json", .kind = MCD_OPT_FLAG, .offset = offsetof(detect_options, json),
     .help = "one JSON object per line instead of text"},
    {.name = "-log", .kind = MCD_OPT_STRING, .offset = offsetof(detect_options, log),
     .value = "FILE", .help = "also write every result to FILE: JSON lines if FILE ends in .json\n"
                              "or .jsonl, else CSV with a header"},
    {.name = "-out", .kind = MCD_OPT_STRING, .offset = offsetof(detect_options, out),
     .value = "FILE", .help = "images: write the one input image annotated with its verdict\n"
                              "(class, score, ID/OOD; format from the extension, e.g. .png);\n"
                              "video: write the annotated video (Motion-JPEG, use .avi), at the\n"
                              "source's frame rate (25 when unknown)"},
    {.name = "-outdir", .kind = MCD_OPT_STRING, .offset = offsetof(detect_options, outdir),
     .value = "DIR", .help = "images: write every input image annotated, under its own name\n"
                             "(as NAME.png when its format cannot hold a colour picture:\n"
                             ".pgm .pbm .pfm .exr .hdr ...)"},
    {.name = "-frames", .kind = MCD_OPT_LONG, .offset = offsetof(detect_options, max_frames),
     .value = "N", .min = 1, .max = 1e15, .help = "video: stop after N frames"},
    {.name = "-nodisplay", .kind = MCD_OPT_FLAG, .offset = offsetof(detect_options, nodisplay),
     .help = "video: no window (there is one only when DISPLAY is set)"},
    {.name = "-threads", .kind = MCD_OPT_INT, .offset = offsetof(detect_options, threads),
     .value = "N", .min = 1, .max = 4096,
     .help = "threads for the network's matrix products (default 1, fastest for\n"
             "one image at a time; unless OMP_NUM_THREADS or OPENBLAS_NUM_THREADS is set)"},
    MCD_MAX_PIXELS_OPTION(detect_options, max_pixels),
    {.name = "-smooth", .kind = MCD_OPT_INT, .offset = offsetof(detect_options, smooth),
     .value = "N", .min = 1, .max = 100000,
     .help = "video: the verdict is taken on the mean score of the last N frames\n"
             "(default 1: each frame's own)"},
    {.name = "-hold", .kind = MCD_OPT_INT, .offset = offsetof(detect_options, hold),
     .value = "K", .min = 1, .max = 100000,
     .help = "video: the verdict changes only after K frames in a row call for it\n"
             "(default 1)"},
    {.name = "-alarm", .kind = MCD_OPT_STRING, .offset = offsetof(detect_options, alarm),
     .value = "S:W", .help = "video: one line (and a JSON event) when the share of OOD frames in\n"
                             "the last W rises above S, e.g. 0.5:50; one when it falls back"},
    MCD_GPU_OPTIONS(detect_options, gpu),
};

static int run(int argc, char **argv);

const mcd_command mcd_detect_command = {
    .name = "detect",
    .summary = "classify images, a video or a camera; call each input ID or OOD (score above the\n"
               "threshold of 'calibrate'); print, annotate, log",
    .description =
        "Classifies each image (or video frame) and calls it ID or OOD: OOD when the MCD\n"
        "score sum_k |p1_k - p2_k| (the disagreement of the two heads, in [0, 2]) is above\n"
        "the threshold. Prints, per input: the class the heads predict on average, its\n"
        "probability, the score and the verdict.\n\n"
        "Inputs (read in colour, made grey for a 1-channel network, resized to its size):\n"
        "  IMAGE          an image file\n"
        "  DIR            every image in the directory (by extension, as 'mcd import': .png\n"
        "                 .jpg .jpeg .bmp .tif .webp .pgm .ppm .pnm .exr .hdr ...), sorted by\n"
        "                 name; not recursive\n"
        "  -list FILE     a list of image paths, one per line\n"
        "  (none)         paths read from standard input, one per line\n"
        "  -video FILE or -camera N: video frames",
    .positionals = positionals, .n_positionals = MCD_COUNT(positionals),
    .more = "[IMAGE|DIR ...]", .more_offset = offsetof(detect_options, sources),
    .options = options, .n_options = MCD_COUNT(options),
    .notes = "Annotated pictures are upscaled (28x28 becomes 280x280) and get a panel below them\n"
             "with the verdict (green ID, red OOD), the score, the class and a score bar 0..2 with\n"
             "the threshold marked. Exit status: 0, or 1 when any input could not be read.\n",
    .run = run,
};

/* The options that cannot go together. */
static int check_options(const detect_options *o)
{
    int video = o->video || o->camera >= 0;
    const char *clash = NULL;
    if (o->video && o->camera >= 0) clash = "-video and -camera: pick one";
    else if (video && o->sources.n) clash = o->video ? "images and -video: pick one" : "images and -camera: pick one";
    else if (video && o->outdir) clash = "-outdir is for images; a video's annotated copy goes to -out FILE.avi";
    else if (!video && o->max_frames) clash = "-frames is for -video or -camera";
    else if (o->out && o->outdir) clash = "-out and -outdir: pick one";
#ifndef OPENCV
    else if (video) clash = "-video and -camera need OpenCV, and this darknet was built with OPENCV=0";
    else if (o->out || o->outdir) clash = "-out and -outdir need OpenCV, and this darknet was built with OPENCV=0";
#endif
    if (clash) mcd_set_error("%s", clash);
    return clash ? -1 : 0;
}

/* What the command holds while it runs. */
typedef struct detect_run {
    const detect_options *o;
    mcd_detector *det;
    float threshold;
    FILE *log;
    int log_json, log_header_done;
    int failed;           /* inputs that could not be read or classified */
    mcd_string_list used; /* -outdir names given so far */
    ood_frame_options frame_options; /* video: -smooth, -hold, -alarm */
} detect_run;

/* A verdict with its class's name (or index) for printing. */
typedef struct labelled_verdict {
    int cls;
    float prob, score;
    int ood;              /* the verdict reported (video: after -smooth and -hold) */
    char label[256];
    int smoothing;        /* video with -smooth: `smoothed` is printed too */
    float smoothed;
} labelled_verdict;

static void label_result(const mcd_result *m, labelled_verdict *r)
{
    memset(r, 0, sizeof *r);
    r->cls = m->class_index, r->prob = m->prob, r->score = m->score, r->ood = m->is_ood;
    if (m->class_name) snprintf(r->label, sizeof r->label, "%s", m->class_name);
    else snprintf(r->label, sizeof r->label, "%d", m->class_index);
}

static void report_error(detect_run *r)
{
    fprintf(stderr, "darknet: error: %s\n", mcd_last_error());
    ++r->failed;
}

/* --- output ------------------------------------------------------------------------ */

/* One result: an image (file) or a video frame (file NULL). */
typedef struct record {
    const char *file;
    long frame;
    double time;
    const labelled_verdict *r;
    float threshold;
} record;

static void print_json(FILE *f, const record *rec)
{
    fputc('{', f);
    if (rec->file) {
        fputs("\"file\":", f);
        mcd_json_string(f, rec->file);
    } else {
        fprintf(f, "\"frame\":%ld,\"time\":%.3f", rec->frame, rec->time);
    }
    fputs(",\"class\":", f);
    mcd_json_string(f, rec->r->label);
    fprintf(f, ",\"class_index\":%d,\"prob\":%.6f,\"score\":%.6f,", rec->r->cls, rec->r->prob,
            rec->r->score);
    if (rec->r->smoothing) fprintf(f, "\"smoothed_score\":%.6f,", rec->r->smoothed);
    fprintf(f, "\"threshold\":%.6g,\"verdict\":\"%s\"}\n", rec->threshold,
            rec->r->ood ? "OOD" : "ID");
}

static void print_text(FILE *f, const record *rec)
{
    if (rec->file) fprintf(f, "%s: ", rec->file);
    else fprintf(f, "frame %ld (%.3f s): ", rec->frame, rec->time);
    fprintf(f, "%-3s  score %.4f", rec->r->ood ? "OOD" : "ID", rec->r->score);
    if (rec->r->smoothing) fprintf(f, " (mean %.4f)", rec->r->smoothed);
    fprintf(f, "  %s %.2f%%\n", rec->r->label, 100.0 * rec->r->prob);
}

static void print_csv(FILE *f, const record *rec, int header)
{
    if (header)
        fprintf(f, "%s,class,class_index,prob,score,%sthreshold,verdict\n",
                rec->file ? "file" : "frame,time", rec->r->smoothing ? "smoothed_score," : "");
    if (rec->file) mcd_csv_field(f, rec->file);
    else fprintf(f, "%ld,%.3f", rec->frame, rec->time);
    fputc(',', f);
    mcd_csv_field(f, rec->r->label);
    fprintf(f, ",%d,%.6f,%.6f,", rec->r->cls, rec->r->prob, rec->r->score);
    if (rec->r->smoothing) fprintf(f, "%.6f,", rec->r->smoothed);
    fprintf(f, "%.6g,%s\n", rec->threshold, rec->r->ood ? "OOD" : "ID");
}

static void emit(detect_run *run, const record *rec)
{
    if (run->o->json) print_json(stdout, rec);
    else print_text(stdout, rec);
    fflush(stdout);
    if (run->log) {
        if (run->log_json) print_json(run->log, rec);
        else print_csv(run->log, rec, !run->log_header_done);
        run->log_header_done = 1;
    }
}

/* An alarm raised (+1) or cleared (-1) at a frame: a line, or a JSON event; the JSON log
 * gets the event too (a CSV log holds results only). */
static void emit_alarm(detect_run *run, long frame, double time, int event, double share)
{
    const ood_frame_options *fo = &run->frame_options;
    FILE *to[2] = {stdout, run->log && run->log_json ? run->log : NULL};
    for (int i = 0; i < 2; ++i) {
        FILE *f = to[i];
        if (!f) continue;
        if (run->o->json || f != stdout)
            fprintf(f, "{\"event\":\"alarm\",\"state\":\"%s\",\"frame\":%ld,\"time\":%.3f,"
                       "\"share\":%.4f,\"window\":%d,\"above\":%.4g}\n",
                    event > 0 ? "raised" : "cleared", frame, time, share, fo->alarm_window,
                    fo->alarm_share);
        else
            fprintf(f, "ALARM %s at frame %ld (%.3f s): %.0f%% of the last %d frames OOD (%s %.4g%%)\n",
                    event > 0 ? "raised" : "cleared", frame, time, 100 * share, fo->alarm_window,
                    event > 0 ? "above" : "not above", 100 * fo->alarm_share);
        fflush(f);
    }
}

/* --- set-up ------------------------------------------------------------------------- */

/* -thresh, else WEIGHTS.threshold; said on stderr. */
static int load_threshold(const detect_options *o, float *threshold)
{
    if (!isnan(o->thresh)) {
        *threshold = (float)o->thresh;
        fprintf(stderr, "threshold %g (-thresh)\n", o->thresh);
        return 0;
    }
    char path[4096];
    mcd_threshold t;
    mcd_threshold_path(o->weights, path, sizeof path);
    if (mcd_threshold_load(path, &t)) return -1;
    *threshold = t.threshold;
    fprintf(stderr, "threshold %g from %s", t.threshold, path);
    if (t.id_images > 0)
        fprintf(stderr, " (keeps %.1f%% of %d ID images of %s)", 100 * t.tpr, t.id_images,
                t.id_list);
    fputc('\n', stderr);
    return 0;
}

/* Class names from the data set; without -data, a data set without names is a note. */
static int load_names(const detect_options *o, mcd_detector *d)
{
    char data[4096];
    char **names = NULL;
    if (mcd_resolve_data_file(o->cfg, o->data, data, sizeof data, NULL)) return -1;
    if (mcd_read_class_names(data, d->gate.m.classes, &names) == 0)
        return mcd_detector_use_names(d, names);
    if (o->data) return -1;
    if (access(data, F_OK) == 0)
        fprintf(stderr, "note: %s; classes are shown by index\n", mcd_last_error());
    else
        fprintf(stderr, "note: no %s (pass -data FILE for class names); classes are "
                        "shown by index\n", data);
    return mcd_detector_use_names(d, NULL);
}

/* -alarm SHARE:WINDOW */
static int parse_alarm(const char *v, ood_frame_options *f)
{
    char *end;
    double share = strtod(v, &end);
    long window = 0;
    if (*end == ':') window = strtol(end + 1, &end, 10);
    if (*end || !(share >= 0 && share < 1) || window < 1 || window > 1000000) {
        mcd_set_error("-alarm '%s': expected SHARE:WINDOW, a share in [0, 1) and a window of "
                      "1 to 1000000 frames (e.g. 0.5:50)", v);
        return -1;
    }
    f->alarm_share = share;
    f->alarm_window = (int)window;
    return 0;
}

static int open_log(detect_run *r, const char *path)
{
    r->log = fopen(path, "w");
    if (!r->log) {
        mcd_set_error("cannot write log '%s': %s", path, strerror(errno));
        return -1;
    }
    const char *ext = strrchr(path, '.');
    r->log_json = ext && (strcmp(ext, ".json") == 0 || strcmp(ext, ".jsonl") == 0);
    return 0;
}

static int start(detect_run *r)
{
    const detect_options *o = r->o;
    int video = o->video || o->camera >= 0;
    r->frame_options = (ood_frame_options){.smooth = o->smooth ? o->smooth : 1,
                                           .hold = o->hold ? o->hold : 1};
    if (!video && (o->smooth || o->hold || o->alarm)) {
        mcd_set_error("-smooth, -hold and -alarm are for -video or -camera");
        return -1;
    }
    if (o->alarm && parse_alarm(o->alarm, &r->frame_options)) return -1;
    float threshold; /* read first: a missing threshold file is reported before the network loads */
    if (check_options(o) || load_threshold(o, &threshold) || mcd_gpu_select(o->gpu) ||
        !(r->det = mcd_detector_open(o->cfg, o->weights, "")))
        return -1;
    mcd_detector_set_threshold(r->det, threshold);
    r->threshold = threshold;
    if (o->threads) mcd_gemm_set_threads(o->threads);
    if (load_names(o, r->det)) return -1;
    return o->log ? open_log(r, o->log) : 0;
}

static int finish(detect_run *r)
{
    int rc = 0;
    if (r->log && fclose(r->log) != 0) {
        mcd_set_error("cannot write log: %s", strerror(errno));
        rc = -1;
    }
    mcd_detector_close(r->det);
    mcd_string_list_free(&r->used);
    return rc;
}

/* --- images ---------------------------------------------------------------------------- */

/* The extensions `mcd import` accepts too (io/image_probe.h); hidden files skipped. */
static int is_image_name(const char *name)
{
    return name[0] != '.' && mcd_has_image_extension(name);
}

static int by_name(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

/* Every image in dir, sorted, appended to paths. 0, or -1 with an error. */
static int expand_dir(const char *dir, mcd_string_list *paths)
{
    DIR *dp = opendir(dir);
    if (!dp) {
        mcd_set_error("cannot read directory '%s': %s", dir, strerror(errno));
        return -1;
    }
    mcd_string_list found = {0};
    struct dirent *e;
    int rc = 0;
    while (!rc && (e = readdir(dp))) {
        if (!is_image_name(e->d_name)) continue;
        char *p = mcd_path_join(dir, e->d_name);
        if (!p) {
            rc = -1;
            break;
        }
        struct stat st;
        if (stat(p, &st) == 0 && S_ISREG(st.st_mode)) rc = mcd_string_list_push(&found, p);
        free(p);
    }
    closedir(dp);
    if (!rc && found.n == 0) {
        mcd_set_error("directory '%s' has no images (.png, .jpg, ...)", dir);
        rc = -1;
    }
    if (!rc) qsort(found.v, found.n, sizeof *found.v, by_name);
    for (int i = 0; i < found.n && !rc; ++i) rc = mcd_string_list_push(paths, found.v[i]);
    mcd_string_list_free(&found);
    return rc;
}

/* The paths of an image list file, appended to paths. */
static int expand_list(const char *list, mcd_string_list *paths)
{
    int n, rc = 0;
    char **items = mcd_read_list(list, &n, 0);
    if (!items) return -1;
    for (int i = 0; i < n && !rc; ++i) rc = mcd_string_list_push(paths, items[i]);
    mcd_free_list(items, n);
    return rc;
}

/* Whether path starts with text (to suggest -list for a list given as an image). */
static int looks_like_text(const char *path)
{
    FILE *f = fopen(path, "rb");
    if (!f) return 0;
    unsigned char buf[512];
    size_t n = fread(buf, 1, sizeof buf, f);
    fclose(f);
    if (n == 0) return 0;
    for (size_t i = 0; i < n; ++i)
        if (!isprint(buf[i]) && !isspace(buf[i])) return 0;
    return 1;
}

static int same_file(const char *a, const char *b)
{
    struct stat sa, sb;
    return stat(a, &sa) == 0 && stat(b, &sb) == 0 && sa.st_dev == sb.st_dev &&
           sa.st_ino == sb.st_ino;
}

/* Whether a file name's extension is of a format that holds the annotated picture as it is
 * (8-bit colour): else -outdir writes a PNG (a .pgm would lose the verdict's colours, a
 * .pfm or .exr would not be written at all). */
static int holds_colour_picture(const char *dot)
{
    static const char *ext[] = {"png", "jpg", "jpeg", "jpe", "bmp", "dib", "tif", "tiff",
                                "webp", "ppm"};
    for (size_t i = 0; dot && i < sizeof ext / sizeof ext[0]; ++i)
        if (strcasecmp(dot + 1, ext[i]) == 0) return 1;
    return 0;
}

/* Where -outdir puts path's annotated picture: DIR/its file name (DIR/its stem.png when
 * its format cannot hold the picture), with -2, -3 ... before the extension when an
 * earlier input had the same name. */
static int outdir_name(const char *outdir, const char *path, mcd_string_list *used, char *buf,
                       size_t n)
{
    const char *base = strrchr(path, '/');
    base = base ? base + 1 : path;
    const char *dot = strrchr(base, '.');
    int stem = dot ? (int)(dot - base) : (int)strlen(base);
    const char *ext = holds_colour_picture(dot) ? dot : ".png";
    snprintf(buf, n, "%s/%.*s%s", outdir, stem, base, ext);
    for (int k = 2; mcd_string_list_has(used, buf); ++k)
        snprintf(buf, n, "%s/%.*s-%d%s", outdir, stem, base, k, ext);
    return mcd_string_list_push(used, buf);
}

static int annotate_image(const char *path, image orig, const labelled_verdict *r,
                          float threshold, const char *out)
{
    if (same_file(path, out)) {
        mcd_set_error("'%s' would overwrite the input image", out);
        return -1;
    }
    mcd_verdict v = {r->label, r->prob, r->score, threshold, r->ood};
    mcd_canvas *c = mcd_canvas_annotated(orig, &v);
    if (!c) return -1;
    int rc = mcd_canvas_save(c, out);
    mcd_canvas_free(c);
    return rc;
}

/* An image's verdict printed, and its annotated picture written with -out/-outdir (the
 * picture decoded again: only then). */
static void show_result(detect_run *run, const char *path, const mcd_result *m)
{
    const detect_options *o = run->o;
    labelled_verdict r;
    label_result(m, &r);
    record rec = {path, 0, 0, &r, run->threshold};
    emit(run, &rec);
    char out[4096] = "";
    if (o->out) snprintf(out, sizeof out, "%s", o->out);
    else if (o->outdir && outdir_name(o->outdir, path, &run->used, out, sizeof out)) {
        report_error(run);
        return;
    }
    if (!out[0]) return;
    image orig;
    if (mcd_read_image(path, 0, 0, 3, &orig) == 0) {
        if (annotate_image(path, orig, &r, run->threshold, out)) report_error(run);
        free_image(orig);
    } else {
        report_error(run);
    }
}

/* One image on its own: classified, or its error reported and counted. */
static void detect_image(detect_run *run, const char *path)
{
    mcd_result m;
    if (mcd_detector_classify_file(run->det, path, &m)) {
        if (looks_like_text(path))
            mcd_set_error("%s (a list of image paths? pass it with -list)", mcd_last_error());
        report_error(run);
        return;
    }
    show_result(run, path, &m);
}

/* Images through the network in batches of the cfg's batch size, decoded by a reader
 * thread ahead of it (mcd_detector_classify_batch), printed in input order. A chunk with
 * an image that cannot be read goes again one image at a time, so that the others are
 * classified and the bad ones reported, as without batches. */
static void detect_chunk(detect_run *run, char **paths, int n, mcd_result *results)
{
    if (n == 0) return;
    if (mcd_detector_classify_batch(run->det, (const char *const *)paths, n, results) == 0) {
        for (int i = 0; i < n; ++i) show_result(run, paths[i], &results[i]);
        return;
    }
    for (int i = 0; i < n; ++i) detect_image(run, paths[i]);
}

/* Paths per chunk: 8 batches of the shipped cfgs, small enough to keep memory flat. */
enum { CHUNK = 1024 };

/* Paths on standard input, one per line, read as they come (like Darknet's `classifier
 * predict`, with a prompt on a terminal). The lines already there are batched together;
 * when none is waiting, what has come is classified at once: a pipe that trickles is
 * answered line by line, a file of 100,000 paths in batches, in constant memory. */
typedef struct line_reader {
    char buf[1 << 16];
    size_t start, end;
    int eof;
} line_reader;

/* The next complete line (blanks trimmed, copied into line), 1; 0 when none is waiting
 * (and wait is 0), or at the end of input; a last line without its newline counts. */
static int next_line(line_reader *lr, int wait, char *line, size_t cap)
{
    for (;;) {
        char *nl = memchr(lr->buf + lr->start, '\n', lr->end - lr->start);
        if (nl || (lr->eof && lr->end > lr->start)) {
            size_t len = nl ? (size_t)(nl - (lr->buf + lr->start)) : lr->end - lr->start;
            size_t k = len < cap - 1 ? len : cap - 1;
            memcpy(line, lr->buf + lr->start, k);
            line[k] = 0;
            lr->start += len + (nl ? 1 : 0);
            return 1;
        }
        if (lr->eof) return 0;
        if (lr->start > 0) { /* keep the partial line at the front */
            memmove(lr->buf, lr->buf + lr->start, lr->end - lr->start);
            lr->end -= lr->start;
            lr->start = 0;
        }
        if (lr->end == sizeof lr->buf) { /* a line longer than the buffer: cut */
            lr->buf[lr->end - 1] = '\n';
            continue;
        }
        if (!wait) {
            struct pollfd p = {.fd = 0, .events = POLLIN};
            if (poll(&p, 1, 0) <= 0) return 0;
        }
        ssize_t got = read(0, lr->buf + lr->end, sizeof lr->buf - lr->end);
        if (got < 0 && errno == EINTR) continue;
        if (got <= 0) lr->eof = 1;
        else lr->end += (size_t)got;
    }
}

static void detect_stdin(detect_run *run, char **chunk, mcd_result *results)
{
    int tty = isatty(0);
    static line_reader lr;
    char line[4096];
    for (;;) {
        if (tty) fputs("Enter Image Path: ", stderr), fflush(stderr);
        int n = 0;
        while (n < (tty ? 1 : CHUNK) && next_line(&lr, n == 0, line, sizeof line)) {
            char *s = mcd_trim(line);
            if (*s && !(chunk[n++] = strdup(s))) --n;
        }
        if (n == 0 && lr.eof) break;
        detect_chunk(run, chunk, n, results);
        for (int i = 0; i < n; ++i) free(chunk[i]);
    }
    if (tty) fputc('\n', stderr);
}

static int run_images(detect_run *run)
{
    const detect_options *o = run->o;
    mcd_string_list paths = {0};
    for (int i = 0; i < o->sources.n; ++i) {
        const char *s = o->sources.v[i];
        struct stat st;
        int rc;
        if (o->sources.tag[i] == FROM_LIST) rc = expand_list(s, &paths);
        else if (stat(s, &st) == 0 && S_ISDIR(st.st_mode)) rc = expand_dir(s, &paths);
        else rc = mcd_string_list_push(&paths, s); /* a missing image is reported in turn */
        if (rc) report_error(run);
    }
    int from_stdin = o->sources.n == 0, rc = 0;
    char **chunk = malloc(sizeof *chunk * CHUNK);
    mcd_result *results = malloc(sizeof *results * CHUNK);
    if (!chunk || !results) {
        mcd_set_error("out of memory");
        rc = -1;
    } else if (o->out && (from_stdin || paths.n != 1)) {
        mcd_set_error("-out FILE takes one image (here %s): use -outdir DIR",
                      from_stdin ? "paths from standard input" : "several");
        rc = -1;
    } else if (o->outdir && mcd_make_dirs(o->outdir)) {
        rc = -1;
    } else {
        for (int i = 0; i < paths.n; i += CHUNK)
            detect_chunk(run, paths.v + i, paths.n - i < CHUNK ? paths.n - i : CHUNK, results);
        if (from_stdin) detect_stdin(run, chunk, results);
    }
    free(chunk);
    free(results);
    mcd_string_list_free(&paths);
    return rc;
}

/* --- video ----------------------------------------------------------------------------- */

static char window_name[] = "darknet mcd detect";

/* A video being read, shown and written, frame after frame. */
typedef struct video_run {
    void *cap;
    double src_fps;
    int window;
    mcd_video_writer *writer;
    long frames, ood;
    double net_seconds, t_start;
    int quit; /* Esc or q in the window */
    ood_frame_verdicts verdicts; /* -smooth, -hold, -alarm */
} video_run;

/* The annotated frame to the window and to -out's video (opened on the first frame). */
static int show_and_write(detect_run *run, video_run *v, image frame, const labelled_verdict *r)
{
    const detect_options *o = run->o;
    mcd_verdict verdict = {r->label, r->prob, r->smoothing ? r->smoothed : r->score,
                           run->threshold, r->ood};
    mcd_canvas *c = mcd_canvas_annotated(frame, &verdict);
    if (!c) return -1;
    int rc = 0;
    if (o->out && !v->writer) {
        if (o->video && same_file(o->video, o->out)) {
            mcd_set_error("'%s' would overwrite the input video", o->out);
            rc = -1;
        } else {
            v->writer = mcd_video_writer_open(o->out, mcd_canvas_width(c), mcd_canvas_height(c),
                                              v->src_fps > 0 ? v->src_fps : DEFAULT_VIDEO_FPS);
            if (!v->writer) rc = -1;
        }
    }
    if (rc == 0 && v->writer && mcd_video_writer_write(v->writer, c)) rc = -1;
    if (rc == 0 && v->window) {
        int key = -2; /* the window cannot be made */
        if (v->frames > 0 ||
            mcd_window_open(window_name, mcd_canvas_width(c), mcd_canvas_height(c)) == 0)
            key = mcd_canvas_show(c, window_name, 1);
        if (key == -2) rc = -1;
        if (key == 27 || key == 'q') v->quit = 1;
    }
    mcd_canvas_free(c);
    return rc;
}

/* One frame: classify, smooth and hold the verdict, print (it counts from here), sound
 * the alarm, show, write. */
static int video_frame(detect_run *run, video_run *v, image frame)
{
    mcd_result m;
    double t0 = mcd_now_seconds();
    int rc = mcd_detector_classify_image(run->det, frame, &m);
    v->net_seconds += mcd_now_seconds() - t0;
    if (rc) {
        mcd_set_error("frame %ld: %s", v->frames, mcd_last_error());
        return -1;
    }
    labelled_verdict r;
    label_result(&m, &r);
    ood_frame_step step;
    ood_frame_verdicts_push(&v->verdicts, m.score, run->threshold, &step);
    r.ood = step.verdict;
    r.smoothing = run->frame_options.smooth > 1;
    r.smoothed = step.smoothed;
    const detect_options *o = run->o;
    record rec = {NULL, v->frames, 0, &r, run->threshold};
    rec.time = o->video && v->src_fps > 0 ? v->frames / v->src_fps : mcd_now_seconds() - v->t_start;
    emit(run, &rec);
    if (step.alarm_event) emit_alarm(run, v->frames, rec.time, step.alarm_event, step.share);
    v->ood += r.ood;
    rc = (o->out || v->window) ? show_and_write(run, v, frame, &r) : 0;
    ++v->frames;
    return rc;
}

static int open_video(detect_run *run, video_run *v)
{
    const detect_options *o = run->o;
    memset(v, 0, sizeof *v);
    if (ood_frame_verdicts_init(&v->verdicts, &run->frame_options)) return -1;
    v->cap = mcd_video_open(o->video, o->camera);
    if (!v->cap) return -1;
    /* a frame is an image: the pixel limit holds for it too, checked before one is decoded */
    long long w, h, limit = mcd_image_max_pixels();
    mcd_video_frame_size(v->cap, &w, &h);
    if (h > 0 && w > limit / h) {
        char what[64];
        if (o->video) snprintf(what, sizeof what, "video");
        else snprintf(what, sizeof what, "camera %d", o->camera);
        mcd_set_error("%s%s%s%s: frames of %lldx%lld (%.0f pixels), over the limit of %lld "
                      "pixels (-max_pixels N raises the limit)", what, o->video ? " '" : "",
                      o->video ? o->video : "", o->video ? "'" : "", w, h, (double)w * h, limit);
        mcd_video_close(v->cap);
        v->cap = NULL;
        return -1;
    }
    v->src_fps = mcd_video_fps(v->cap);
    const char *display = getenv("DISPLAY");
    if (!o->nodisplay && display && *display) {
        v->window = mcd_display_available();
        if (!v->window)
            fprintf(stderr, "note: cannot open a window on DISPLAY=%s; going on without one\n",
                    display);
    }
    v->t_start = mcd_now_seconds();
    return 0;
}

/* Close the streams and say what was done. */
static void close_video(detect_run *run, video_run *v, int rc)
{
    const detect_options *o = run->o;
    double seconds = mcd_now_seconds() - v->t_start;
    mcd_video_close(v->cap);
    ood_frame_verdicts_free(&v->verdicts);
    int wrote = v->writer != NULL;
    if (v->writer && mcd_video_writer_close(v->writer)) {
        report_error(run);
        wrote = 0;
        rc = -1;
    }
    if (v->frames == 0 && rc == 0) {
        if (o->video) mcd_set_error("video '%s' has no frames", o->video);
        else mcd_set_error("camera %d gave no frames", o->camera);
        report_error(run);
    }
    if (v->frames > 0)
        fprintf(stderr, "%ld frames (%ld ID, %ld OOD) in %.2f s: %.1f frames/s; the network "
                        "alone: %.1f frames/s%s%s\n",
                v->frames, v->frames - v->ood, v->ood, seconds, v->frames / seconds,
                v->net_seconds > 0 ? v->frames / v->net_seconds : 0.0, wrote ? "; wrote " : "",
                wrote ? o->out : "");
}

static int run_video(detect_run *run)
{
    const detect_options *o = run->o;
    video_run v;
    if (open_video(run, &v)) {
        ood_frame_verdicts_free(&v.verdicts);
        return -1;
    }
    int rc = 0;
    mcd_stop_signal_install(1); /* Ctrl-C ends the stream politely, a second one at once */
    while (!rc && !v.quit && !mcd_stop_signal() &&
           (o->max_frames == 0 || v.frames < o->max_frames)) {
        image frame = mcd_video_frame(v.cap);
        if (!frame.data) break;
        rc = video_frame(run, &v, frame);
        free_image(frame);
        if (rc) report_error(run);
    }
    mcd_stop_signal_restore();
    close_video(run, &v, rc);
    return 0;
}

static int run(int argc, char **argv)
{
    /* one image at a time: the gemms are small, and threads that wait for each other cost
     * far more than they bring (measured on 2 cores: 25x slower when the machine is busy) */
    detect_options o = {.thresh = NAN, .camera = -1, .gpu = -1,
                        .threads = getenv("OMP_NUM_THREADS") || getenv("OPENBLAS_NUM_THREADS") ? 0 : 1};
    int status;
    if (mcd_command_start(&mcd_detect_command, argc, argv, &o, &status)) return status;
    mcd_set_image_max_pixels(o.max_pixels);
    detect_run r = {.o = &o};
    int video = o.video || o.camera >= 0;
    int rc = start(&r);
    if (!rc) rc = video ? run_video(&r) : run_images(&r);
    if (rc) mcd_command_failed();
    if (!video && r.failed)
        fprintf(stderr, "darknet: %d input%s failed (see above)\n", r.failed,
                r.failed == 1 ? "" : "s");
    if (finish(&r)) rc = mcd_command_failed();
    mcd_arg_list_free(&o.sources);
    return rc || r.failed ? 1 : 0;
}
