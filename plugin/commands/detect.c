/* `darknet mcd detect CFG WEIGHTS [IMAGE|DIR ...] [-list FILE] [-video FILE | -camera N]`:
 * classify images or video frames with an MCD network and call each one in-distribution
 * (ID) or out-of-distribution (OOD).
 *
 * Per input: the class the two heads predict on average, its probability, the L1 score
 * sum_k |p1_k - p2_k| (the network's output) and the verdict: OOD when the score is above
 * the threshold that `darknet mcd calibrate` stored in WEIGHTS.threshold (or -thresh).
 * The network's side is ood/detector.c; this file reads the inputs and writes the results. */
#define _GNU_SOURCE
#include <ctype.h>
#include <dirent.h>
#include <errno.h>
#include <math.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
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
#include "io/output_fields.h"
#include "io/video_writer.h"
#include "ood/detector.h"
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
     .value = "DIR", .help = "images: write every input image annotated, under its own name"},
    {.name = "-frames", .kind = MCD_OPT_LONG, .offset = offsetof(detect_options, max_frames),
     .value = "N", .min = 1, .max = 1e15, .help = "video: stop after N frames"},
    {.name = "-nodisplay", .kind = MCD_OPT_FLAG, .offset = offsetof(detect_options, nodisplay),
     .help = "video: no window (there is one only when DISPLAY is set)"},
    {.name = "-threads", .kind = MCD_OPT_INT, .offset = offsetof(detect_options, threads),
     .value = "N", .min = 1, .max = 4096,
     .help = "threads for the network's matrix products (default 1, fastest for\n"
             "one image at a time; unless OMP_NUM_THREADS or OPENBLAS_NUM_THREADS is set)"},
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
        "  DIR            every image in the directory (.png .jpg .jpeg .bmp .pgm .ppm .pnm\n"
        "                 .pbm .tif .tiff .webp), sorted by name; not recursive\n"
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
    mcd_detector det;
    FILE *log;
    int log_json, log_header_done;
    int failed;           /* inputs that could not be read or classified */
    mcd_string_list used; /* -outdir names given so far */
} detect_run;

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
    const mcd_verdict_result *r;
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
    fprintf(f, ",\"class_index\":%d,\"prob\":%.6f,\"score\":%.6f,\"threshold\":%.6g,"
               "\"verdict\":\"%s\"}\n",
            rec->r->cls, rec->r->prob, rec->r->score, rec->threshold,
            rec->r->ood ? "OOD" : "ID");
}

static void print_text(FILE *f, const record *rec)
{
    if (rec->file) fprintf(f, "%s: ", rec->file);
    else fprintf(f, "frame %ld (%.3f s): ", rec->frame, rec->time);
    fprintf(f, "%-3s  score %.4f  %s %.2f%%\n", rec->r->ood ? "OOD" : "ID", rec->r->score,
            rec->r->label, 100.0 * rec->r->prob);
}

static void print_csv(FILE *f, const record *rec, int header)
{
    if (header)
        fprintf(f, "%s,class,class_index,prob,score,threshold,verdict\n",
                rec->file ? "file" : "frame,time");
    if (rec->file) mcd_csv_field(f, rec->file);
    else fprintf(f, "%ld,%.3f", rec->frame, rec->time);
    fputc(',', f);
    mcd_csv_field(f, rec->r->label);
    fprintf(f, ",%d,%.6f,%.6f,%.6g,%s\n", rec->r->cls, rec->r->prob, rec->r->score,
            rec->threshold, rec->r->ood ? "OOD" : "ID");
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
    if (mcd_resolve_data_file(o->cfg, o->data, data, sizeof data, NULL)) return -1;
    if (mcd_read_class_names(data, d->m.classes, &d->names) == 0) return 0;
    if (o->data) return -1;
    if (access(data, F_OK) == 0)
        fprintf(stderr, "note: %s; classes are shown by index\n", mcd_last_error());
    else
        fprintf(stderr, "note: no %s (pass -data FILE for class names); classes are "
                        "shown by index\n", data);
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
    mcd_detector *d = &r->det;
    float threshold; /* read first: a missing threshold file is reported before the network loads */
    if (check_options(o) || load_threshold(o, &threshold) || mcd_gpu_select(o->gpu) ||
        mcd_detector_open(d, o->cfg, o->weights))
        return -1;
    d->threshold = threshold;
    if (o->threads) mcd_gemm_set_threads(o->threads);
    if (load_names(o, d)) return -1;
    return o->log ? open_log(r, o->log) : 0;
}

static int finish(detect_run *r)
{
    int rc = 0;
    if (r->log && fclose(r->log) != 0) {
        mcd_set_error("cannot write log: %s", strerror(errno));
        rc = -1;
    }
    mcd_detector_close(&r->det);
    mcd_string_list_free(&r->used);
    return rc;
}

/* --- images ---------------------------------------------------------------------------- */

static int is_image_name(const char *name)
{
    static const char *ext[] = {"png", "jpg", "jpeg", "jpe", "bmp", "dib", "pgm", "ppm",
                                "pnm", "pbm", "tif", "tiff", "webp"};
    const char *dot = strrchr(name, '.');
    if (!dot || name[0] == '.') return 0;
    for (size_t i = 0; i < sizeof ext / sizeof ext[0]; ++i)
        if (strcasecmp(dot + 1, ext[i]) == 0) return 1;
    return 0;
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
    size_t dl = strlen(dir);
    int rc = 0;
    while (!rc && (e = readdir(dp))) {
        if (!is_image_name(e->d_name)) continue;
        char *p = malloc(dl + strlen(e->d_name) + 2);
        sprintf(p, "%s%s%s", dir, dl && dir[dl - 1] == '/' ? "" : "/", e->d_name);
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

/* Where -outdir puts path's annotated picture: DIR/its file name, with -2, -3 ... before
 * the extension when an earlier input had the same name. */
static int outdir_name(const char *outdir, const char *path, mcd_string_list *used, char *buf,
                       size_t n)
{
    const char *base = strrchr(path, '/');
    base = base ? base + 1 : path;
    const char *dot = strrchr(base, '.');
    int stem = dot ? (int)(dot - base) : (int)strlen(base);
    snprintf(buf, n, "%s/%s", outdir, base);
    for (int k = 2; mcd_string_list_has(used, buf); ++k)
        snprintf(buf, n, "%s/%.*s-%d%s", outdir, stem, base, k, dot ? dot : "");
    return mcd_string_list_push(used, buf);
}

static int annotate_image(const char *path, image orig, const mcd_verdict_result *r,
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

/* One image: classify, print, annotate. Errors are reported here and counted. */
static void detect_image(detect_run *run, const char *path)
{
    const detect_options *o = run->o;
    image orig;
    mcd_verdict_result r;
    if (mcd_read_image(path, 0, 0, 3, &orig)) {
        if (looks_like_text(path))
            mcd_set_error("%s (a list of image paths? pass it with -list)", mcd_last_error());
        report_error(run);
        return;
    }
    if (mcd_detector_classify(&run->det, orig, &r)) {
        mcd_set_error("%s: %s", path, mcd_last_error());
        report_error(run);
        free_image(orig);
        return;
    }
    record rec = {path, 0, 0, &r, run->det.threshold};
    emit(run, &rec);
    char out[4096] = "";
    int rc = 0;
    if (o->out) snprintf(out, sizeof out, "%s", o->out);
    else if (o->outdir) rc = outdir_name(o->outdir, path, &run->used, out, sizeof out);
    if (rc || (out[0] && annotate_image(path, orig, &r, run->det.threshold, out)))
        report_error(run);
    free_image(orig);
}

/* Paths from standard input, like Darknet's `classifier predict`: one per line, with a
 * prompt on a terminal. */
static void detect_stdin(detect_run *run)
{
    int tty = isatty(0);
    char *line = NULL;
    size_t cap = 0;
    for (;;) {
        if (tty) fputs("Enter Image Path: ", stderr), fflush(stderr);
        if (getline(&line, &cap, stdin) < 0) break;
        char *s = mcd_trim(line);
        if (*s) detect_image(run, s);
    }
    free(line);
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
    if (o->out && (from_stdin || paths.n != 1)) {
        mcd_set_error("-out FILE takes one image (here %s): use -outdir DIR",
                      from_stdin ? "paths from standard input" : "several");
        rc = -1;
    } else if (o->outdir && mcd_make_dirs(o->outdir)) {
        rc = -1;
    } else {
        for (int i = 0; i < paths.n; ++i) detect_image(run, paths.v[i]);
        if (from_stdin) detect_stdin(run);
    }
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
} video_run;

/* The annotated frame to the window and to -out's video (opened on the first frame). */
static int show_and_write(detect_run *run, video_run *v, image frame, const mcd_verdict_result *r)
{
    const detect_options *o = run->o;
    mcd_verdict verdict = {r->label, r->prob, r->score, run->det.threshold, r->ood};
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

/* One frame: classify, print (it counts from here), show, write. */
static int video_frame(detect_run *run, video_run *v, image frame)
{
    mcd_verdict_result r;
    double t0 = mcd_now_seconds();
    int rc = mcd_detector_classify(&run->det, frame, &r);
    v->net_seconds += mcd_now_seconds() - t0;
    if (rc) {
        mcd_set_error("frame %ld: %s", v->frames, mcd_last_error());
        return -1;
    }
    const detect_options *o = run->o;
    record rec = {NULL, v->frames, 0, &r, run->det.threshold};
    rec.time = o->video && v->src_fps > 0 ? v->frames / v->src_fps : mcd_now_seconds() - v->t_start;
    emit(run, &rec);
    v->ood += r.ood;
    rc = (o->out || v->window) ? show_and_write(run, v, frame, &r) : 0;
    ++v->frames;
    return rc;
}

static int open_video(const detect_options *o, video_run *v)
{
    memset(v, 0, sizeof *v);
    v->cap = mcd_video_open(o->video, o->camera);
    if (!v->cap) return -1;
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
    if (open_video(o, &v)) return -1;
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
