/* `darknet mcd detect CFG WEIGHTS [IMAGE|DIR ...] [-list FILE] [-video FILE | -camera N]`:
 * classify images or video frames with an MCD network and call each one in-distribution
 * (ID) or out-of-distribution (OOD).
 *
 * Per input: the class the two heads predict on average, its probability, the L1 score
 * sum_k |p1_k - p2_k| (the network's output) and the verdict: OOD when the score is above
 * the threshold that `darknet mcd calibrate` stored in WEIGHTS.threshold (or -thresh). */
#define _GNU_SOURCE
#include <ctype.h>
#include <dirent.h>
#include <errno.h>
#include <math.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "io/csv_field.h"
#include "io/annotate.h"
#include "io/image_io.h"
#include "backend/inference.h"
#include "backend/gemm_backend.h"
#include "commands/verbs.h"
#include "util/mcd_error.h"
#include "network/mcd_network.h"
#include "ood/ood_scores.h"
#include "ood/threshold_file.h"
#include "io/video_writer.h"
#include "network/weights_file.h"

#define DEFAULT_DATA "cfg/fmnist.data"
#define DEFAULT_VIDEO_FPS 25.0

static const char *usage_text =
    "usage: darknet mcd detect CFG WEIGHTS [IMAGE|DIR ...] [-list FILE] [options]\n"
    "       darknet mcd detect CFG WEIGHTS -video FILE | -camera N [options]\n"
    "\n"
    "  Classifies each image (or video frame) and calls it ID or OOD: OOD when the MCD\n"
    "  score sum_k |p1_k - p2_k| (the disagreement of the two heads, in [0, 2]) is above\n"
    "  the threshold. Prints, per input: the class the heads predict on average, its\n"
    "  probability, the score and the verdict.\n"
    "\n"
    "  inputs (read in colour, made grey for a 1-channel network, resized to its size):\n"
    "    IMAGE          an image file\n"
    "    DIR            every image in the directory (.png .jpg .jpeg .bmp .pgm .ppm .pnm\n"
    "                   .pbm .tif .tiff .webp), sorted by name; not recursive\n"
    "    -list FILE     a list of image paths, one per line (repeatable)\n"
    "    (none)         paths read from standard input, one per line\n"
    "    -video FILE    every frame of a video file\n"
    "    -camera N      frames of camera N until the stream ends, Ctrl-C, or Esc/q in\n"
    "                   the window\n"
    "\n"
    "  options:\n"
    "    -thresh X      the OOD threshold, in [0, 2] (default: WEIGHTS.threshold, written\n"
    "                   by 'darknet mcd calibrate')\n"
    "    -data FILE     a Darknet .data file whose names= (or labels=) key lists the class\n"
    "                   names, one per line (default " DEFAULT_DATA "; without it, classes\n"
    "                   are shown by index)\n"
    "    -json          one JSON object per line instead of text\n"
    "    -log FILE      also write every result to FILE: JSON lines if FILE ends in .json\n"
    "                   or .jsonl, else CSV with a header\n"
    "    -out FILE      images: write the one input image annotated with its verdict\n"
    "                   (class, score, ID/OOD; format from the extension, e.g. .png);\n"
    "                   video: write the annotated video (Motion-JPEG, use .avi), at the\n"
    "                   source's frame rate (25 when unknown)\n"
    "    -outdir DIR    images: write every input image annotated, under its own name\n"
    "    -frames N      video: stop after N frames\n"
    "    -nodisplay     video: no window (there is one only when DISPLAY is set)\n"
    "    -threads N     threads for the network's matrix products (default 1, fastest for\n"
    "                   one image at a time; unless OMP_NUM_THREADS or\n"
    "                   OPENBLAS_NUM_THREADS is set)\n"
    "    -h             this help\n"
    "\n"
    "  Annotated pictures are upscaled (28x28 becomes 280x280) and get a panel below them\n"
    "  with the verdict (green ID, red OOD), the score, the class and a score bar 0..2 with\n"
    "  the threshold marked. Exit status: 0, or 1 when any input could not be read.\n";

typedef struct strlist {
    char **v;
    int n, cap;
} strlist;

static void strlist_push(strlist *l, const char *s)
{
    if (l->n == l->cap) {
        l->cap = l->cap ? 2 * l->cap : 16;
        l->v = realloc(l->v, l->cap * sizeof *l->v);
        if (!l->v) {
            fprintf(stderr, "darknet: error: out of memory\n");
            exit(1);
        }
    }
    l->v[l->n++] = strdup(s);
}

static void strlist_free(strlist *l)
{
    for (int i = 0; i < l->n; ++i) free(l->v[i]);
    free(l->v);
    memset(l, 0, sizeof *l);
}

typedef struct detect_opts {
    const char *cfg, *weights;
    const char *data;
    int data_given;
    double thresh;
    int thresh_given;
    int json, nodisplay;
    const char *out, *outdir, *log, *video;
    int camera; /* -1: none */
    long max_frames; /* 0: all */
    int threads;     /* 0: leave the gemm backend's thread count alone */
    strlist sources; /* positional images and directories, and -list files, in order */
    strlist source_is_list; /* "1" for a -list FILE entry (parallel to sources) */
} detect_opts;

typedef struct detector {
    network *net;
    mcd_layout m;
    float threshold;
    char **names; /* NULL: classes shown by index */
    int failed;   /* inputs that could not be read or classified */
    FILE *log;
    int log_json, log_header_done;
} detector;

typedef struct result {
    int cls;
    float prob, score;
    int ood;
    char label[256];
} result;

/* One result: an image (file) or a video frame (file NULL). */
typedef struct record {
    const char *file;
    long frame;
    double time;
    const result *r;
    float threshold;
} record;

static void report_error(void)
{
    fprintf(stderr, "darknet: error: %s\n", mcd_last_error());
}

static double now_seconds(void)
{
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return t.tv_sec + 1e-9 * t.tv_nsec;
}

/* --- output ------------------------------------------------------------------------ */

/* s as a JSON string: quotes, backslashes and control characters escaped; bytes that are
 * not valid UTF-8 (a file name can hold any byte) become U+FFFD. */
static void json_string(FILE *f, const char *s)
{
    const unsigned char *p = (const unsigned char *)s;
    fputc('"', f);
    while (*p) {
        unsigned char c = *p;
        if (c == '"' || c == '\\') {
            fputc('\\', f);
            fputc(c, f);
            ++p;
        } else if (c < 0x20) {
            const char *esc = c == '\n' ? "\\n" : c == '\t' ? "\\t" : c == '\r' ? "\\r" : NULL;
            if (esc) fputs(esc, f);
            else fprintf(f, "\\u%04x", c);
            ++p;
        } else if (c < 0x80) {
            fputc(c, f);
            ++p;
        } else {
            int len = (c & 0xE0) == 0xC0 ? 2 : (c & 0xF0) == 0xE0 ? 3 : (c & 0xF8) == 0xF0 ? 4 : 0;
            int ok = len > 0 && !(c == 0xC0 || c == 0xC1 || c > 0xF4);
            for (int i = 1; ok && i < len; ++i) ok = (p[i] & 0xC0) == 0x80;
            if (ok) {
                fwrite(p, 1, len, f);
                p += len;
            } else {
                fputs("\\ufffd", f);
                ++p;
            }
        }
    }
    fputc('"', f);
}

static void print_json(FILE *f, const record *rec)
{
    fputc('{', f);
    if (rec->file) {
        fputs("\"file\":", f);
        json_string(f, rec->file);
    } else {
        fprintf(f, "\"frame\":%ld,\"time\":%.3f", rec->frame, rec->time);
    }
    fputs(",\"class\":", f);
    json_string(f, rec->r->label);
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

static void emit(detector *d, const detect_opts *o, const record *rec)
{
    if (o->json) print_json(stdout, rec);
    else print_text(stdout, rec);
    fflush(stdout);
    if (d->log) {
        if (d->log_json) print_json(d->log, rec);
        else print_csv(d->log, rec, !d->log_header_done);
        d->log_header_done = 1;
    }
}

/* --- the network --------------------------------------------------------------------- */

/* input: the network's w x h x c floats. */
static int classify(detector *d, const float *input, result *r)
{
    float *out = mcd_predict(d->net, (float *)input);
    if (!out) return -1; /* the backend could not complete the pass */
    const float *p1 = mcd_head_probs(d->net, &d->m, 1, 0);
    const float *p2 = mcd_head_probs(d->net, &d->m, 2, 0);
    r->score = out[0];
    r->cls = 0;
    r->prob = -1;
    for (int k = 0; k < d->m.classes; ++k) {
        float avg = 0.5f * (p1[k] + p2[k]);
        if (avg > r->prob) r->prob = avg, r->cls = k;
    }
    if (!isfinite(r->score) || !isfinite(r->prob)) {
        mcd_set_error("the network's output is not a number (score %g): broken weights?",
                      r->score);
        return -1;
    }
    r->ood = r->score > d->threshold;
    if (d->names) snprintf(r->label, sizeof r->label, "%s", d->names[r->cls]);
    else snprintf(r->label, sizeof r->label, "%d", r->cls);
    return 0;
}

/* An image or video frame (3 channels, any size) as the network's input: grey as OpenCV
 * converts colour (0.299 R + 0.587 G + 0.114 B) for a 1-channel network, then resized
 * with Darknet's resize_image as load_image_color does. Both steps are linear, so the
 * order does not matter. (Images are not read as 1 channel: Darknet's mat_to_image
 * swaps channels 0 and 2 of any image, running past the end of a 1-channel one.) */
static image network_input(image frame, int w, int h, int c)
{
    image in = frame;
    if (c == 1) {
        in = make_image(frame.w, frame.h, 1);
        size_t n = (size_t)frame.w * frame.h;
        for (size_t i = 0; i < n; ++i)
            in.data[i] = 0.299f * frame.data[i] + 0.587f * frame.data[n + i] +
                         0.114f * frame.data[2 * n + i];
    }
    if (in.w == w && in.h == h) return in.data == frame.data ? copy_image(in) : in;
    image r = resize_image(in, w, h);
    if (in.data != frame.data) free_image(in);
    return r;
}

static char *trim(char *s)
{
    while (isspace((unsigned char)*s)) ++s;
    size_t n = strlen(s);
    while (n && isspace((unsigned char)s[n - 1])) s[--n] = 0;
    return s;
}

/* The value of key in a Darknet .data file (key=value lines), malloc'd; NULL if absent. */
static char *data_value(FILE *f, const char *key)
{
    char *line = NULL, *val = NULL;
    size_t cap = 0;
    rewind(f);
    while (!val && getline(&line, &cap, f) >= 0) {
        char *s = trim(line), *eq = strchr(s, '=');
        if (*s == '#' || !eq) continue;
        *eq = 0;
        if (strcmp(trim(s), key) == 0) val = strdup(trim(eq + 1));
    }
    free(line);
    return val;
}

/* The class names from data's names= (or labels=) file, one per line, blank lines
 * skipped: exactly `classes` of them. 0 (names NULL when there is no data file and it was
 * not asked for), or -1 with an error. */
static int load_names(const char *data, int classes, char ***names)
{
    *names = NULL;
    FILE *f = fopen(data, "r");
    if (!f) {
        mcd_set_error("cannot open data file '%s': %s", data, strerror(errno));
        return -1;
    }
    char *file = data_value(f, "names");
    if (!file) file = data_value(f, "labels");
    fclose(f);
    if (!file) {
        mcd_set_error("data file '%s' has no names= or labels= key", data);
        return -1;
    }
    FILE *nf = fopen(file, "r");
    if (!nf) {
        mcd_set_error("cannot open the class names '%s' (from '%s'): %s", file, data,
                      strerror(errno));
        free(file);
        return -1;
    }
    strlist l = {0};
    char *line = NULL;
    size_t cap = 0;
    while (getline(&line, &cap, nf) >= 0) {
        char *s = trim(line);
        if (*s) strlist_push(&l, s);
    }
    free(line);
    fclose(nf);
    if (l.n != classes) {
        mcd_set_error("'%s' (from '%s') has %d class names, the network %d classes", file,
                      data, l.n, classes);
        strlist_free(&l);
        free(file);
        return -1;
    }
    free(file);
    *names = l.v;
    return 0;
}

static int load_detector(const detect_opts *o, detector *d)
{
    memset(d, 0, sizeof *d);
    char tpath[4096];
    if (o->thresh_given) {
        d->threshold = o->thresh;
        fprintf(stderr, "threshold %g (-thresh)\n", o->thresh);
    } else {
        mcd_threshold t;
        mcd_threshold_path(o->weights, tpath, sizeof tpath);
        if (mcd_threshold_load(tpath, &t)) return -1;
        d->threshold = t.threshold;
        fprintf(stderr, "threshold %g from %s", t.threshold, tpath);
        if (t.id_images > 0)
            fprintf(stderr, " (keeps %.1f%% of %d ID images of %s)", 100 * t.tpr, t.id_images,
                    t.id_list);
        fputc('\n', stderr);
    }
    d->net = ood_load_network(o->cfg, o->weights, &d->m);
    if (!d->net) return -1;
    if (d->net->c != 1 && d->net->c != 3) {
        mcd_set_error("%s: channels=%d: detect reads images as 1 or 3 channels", o->cfg,
                      d->net->c);
        return -1;
    }
    set_batch_network(d->net, 1);
    if (o->threads) mcd_gemm_set_threads(o->threads);
    if (load_names(o->data, d->m.classes, &d->names)) {
        if (o->data_given) return -1;
        if (access(o->data, F_OK) == 0)
            fprintf(stderr, "note: %s; classes are shown by index\n", mcd_last_error());
        else
            fprintf(stderr, "note: no %s (pass -data FILE for class names); classes are "
                            "shown by index\n", o->data);
    }
    if (o->log) {
        d->log = fopen(o->log, "w");
        if (!d->log) {
            mcd_set_error("cannot write log '%s': %s", o->log, strerror(errno));
            return -1;
        }
        const char *ext = strrchr(o->log, '.');
        d->log_json = ext && (strcmp(ext, ".json") == 0 || strcmp(ext, ".jsonl") == 0);
    }
    return 0;
}

static int free_detector(detector *d)
{
    int rc = 0;
    if (d->log && fclose(d->log) != 0) {
        mcd_set_error("cannot write log: %s", strerror(errno));
        rc = -1;
    }
    if (d->names) {
        for (int k = 0; k < d->m.classes; ++k) free(d->names[k]);
        free(d->names);
    }
    if (d->net) free_network(d->net);
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
static int expand_dir(const char *dir, strlist *paths)
{
    DIR *dp = opendir(dir);
    if (!dp) {
        mcd_set_error("cannot read directory '%s': %s", dir, strerror(errno));
        return -1;
    }
    strlist found = {0};
    struct dirent *e;
    size_t dl = strlen(dir);
    while ((e = readdir(dp))) {
        if (!is_image_name(e->d_name)) continue;
        char *p = malloc(dl + strlen(e->d_name) + 2);
        sprintf(p, "%s%s%s", dir, dl && dir[dl - 1] == '/' ? "" : "/", e->d_name);
        struct stat st;
        if (stat(p, &st) == 0 && S_ISREG(st.st_mode)) strlist_push(&found, p);
        free(p);
    }
    closedir(dp);
    if (found.n == 0) {
        mcd_set_error("directory '%s' has no images (.png, .jpg, ...)", dir);
        return -1;
    }
    qsort(found.v, found.n, sizeof *found.v, by_name);
    for (int i = 0; i < found.n; ++i) strlist_push(paths, found.v[i]);
    strlist_free(&found);
    return 0;
}

/* The paths in a list file, one per line (blank lines skipped). */
static int expand_list(const char *list, strlist *paths)
{
    FILE *f = fopen(list, "r");
    if (!f) {
        mcd_set_error("cannot open image list '%s': %s", list, strerror(errno));
        return -1;
    }
    char *line = NULL;
    size_t cap = 0;
    int n = 0;
    while (getline(&line, &cap, f) >= 0) {
        char *s = trim(line);
        if (*s) strlist_push(paths, s), ++n;
    }
    free(line);
    fclose(f);
    if (n == 0) {
        mcd_set_error("image list '%s' is empty", list);
        return -1;
    }
    return 0;
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
static void outdir_name(const char *outdir, const char *path, strlist *used, char *buf,
                        size_t n)
{
    const char *base = strrchr(path, '/');
    base = base ? base + 1 : path;
    const char *dot = strrchr(base, '.');
    int stem = dot ? (int)(dot - base) : (int)strlen(base);
    snprintf(buf, n, "%s/%s", outdir, base);
    for (int k = 2;; ++k) {
        int taken = 0;
        for (int i = 0; i < used->n && !taken; ++i) taken = strcmp(used->v[i], buf) == 0;
        if (!taken) break;
        snprintf(buf, n, "%s/%.*s-%d%s", outdir, stem, base, k, dot ? dot : "");
    }
    strlist_push(used, buf);
}

static int annotate_image(const char *path, image orig, const result *r, float threshold,
                          const char *out)
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
static void detect_image(detector *d, const detect_opts *o, const char *path, strlist *used)
{
    network *net = d->net;
    image orig;
    result r;
    if (mcd_read_image(path, 0, 0, 3, &orig)) {
        int hint = looks_like_text(path);
        fprintf(stderr, "darknet: error: %s%s\n", mcd_last_error(),
                hint ? " (a list of image paths? pass it with -list)" : "");
        ++d->failed;
        return;
    }
    image in = network_input(orig, net->w, net->h, net->c);
    int rc = classify(d, in.data, &r);
    free_image(in);
    if (rc) {
        fprintf(stderr, "darknet: error: %s: %s\n", path, mcd_last_error());
        free_image(orig);
        ++d->failed;
        return;
    }
    record rec = {path, 0, 0, &r, d->threshold};
    emit(d, o, &rec);
    char out[4096] = "";
    if (o->out) snprintf(out, sizeof out, "%s", o->out);
    else if (o->outdir) outdir_name(o->outdir, path, used, out, sizeof out);
    if (out[0] && annotate_image(path, orig, &r, d->threshold, out)) {
        report_error();
        ++d->failed;
    }
    free_image(orig);
}

static int make_dir(const char *dir)
{
    struct stat st;
    if (stat(dir, &st) == 0) {
        if (S_ISDIR(st.st_mode)) return 0;
        mcd_set_error("-outdir '%s' is not a directory", dir);
        return -1;
    }
    if (mkdir(dir, 0777) != 0) {
        mcd_set_error("cannot make directory '%s': %s", dir, strerror(errno));
        return -1;
    }
    return 0;
}

static int run_images(detector *d, const detect_opts *o)
{
    strlist paths = {0}, used = {0};
    for (int i = 0; i < o->sources.n; ++i) {
        const char *s = o->sources.v[i];
        struct stat st;
        int rc = 0;
        if (o->source_is_list.v[i][0] == '1') rc = expand_list(s, &paths);
        else if (stat(s, &st) == 0 && S_ISDIR(st.st_mode)) rc = expand_dir(s, &paths);
        else strlist_push(&paths, s); /* an image; a missing one is reported in turn */
        if (rc) report_error(), ++d->failed;
    }
    int from_stdin = o->sources.n == 0;
    if (o->out && (from_stdin || paths.n != 1)) {
        mcd_set_error("-out FILE takes one image (here %s): use -outdir DIR",
                      from_stdin ? "paths from standard input" : "several");
        strlist_free(&paths);
        return -1;
    }
    if (o->outdir && make_dir(o->outdir)) {
        strlist_free(&paths);
        return -1;
    }
    for (int i = 0; i < paths.n; ++i) detect_image(d, o, paths.v[i], &used);
    if (from_stdin) {
        /* like Darknet's `classifier predict`: a path per line, a prompt on a terminal */
        int tty = isatty(0);
        char *line = NULL;
        size_t cap = 0;
        for (;;) {
            if (tty) fputs("Enter Image Path: ", stderr), fflush(stderr);
            if (getline(&line, &cap, stdin) < 0) break;
            char *s = trim(line);
            if (*s) detect_image(d, o, s, &used);
        }
        free(line);
        if (tty) fputc('\n', stderr);
    }
    strlist_free(&paths);
    strlist_free(&used);
    return 0;
}

/* --- video ----------------------------------------------------------------------------- */

static volatile sig_atomic_t stop_requested;
static char window_name[] = "darknet mcd detect";

static void on_signal(int sig)
{
    stop_requested = 1;
    signal(sig, SIG_DFL); /* a second Ctrl-C ends the process at once */
}

static int run_video(detector *d, const detect_opts *o)
{
    void *cap = mcd_video_open(o->video, o->camera);
    if (!cap) return -1;
    double src_fps = mcd_video_fps(cap);
    int window = 0;
    if (!o->nodisplay && getenv("DISPLAY") && *getenv("DISPLAY")) {
        window = mcd_display_available();
        if (!window)
            fprintf(stderr, "note: cannot open a window on DISPLAY=%s; going on without one\n",
                    getenv("DISPLAY"));
    }
    mcd_video_writer *vw = NULL;
    long frames = 0, ood = 0;
    double net_seconds = 0, t_start = now_seconds();
    int rc = 0;
    stop_requested = 0;
    void (*old_int)(int) = signal(SIGINT, on_signal);
    void (*old_term)(int) = signal(SIGTERM, on_signal);
    while (!stop_requested && (o->max_frames == 0 || frames < o->max_frames)) {
        image frame = get_image_from_stream(cap);
        if (!frame.data) break;
        image in = network_input(frame, d->net->w, d->net->h, d->net->c);
        result r;
        double t0 = now_seconds();
        int crc = classify(d, in.data, &r);
        net_seconds += now_seconds() - t0;
        free_image(in);
        if (crc) {
            fprintf(stderr, "darknet: error: frame %ld: %s\n", frames, mcd_last_error());
            free_image(frame);
            rc = -1;
            break;
        }
        record rec = {NULL, frames, 0, &r, d->threshold};
        rec.time = o->video && src_fps > 0 ? frames / src_fps : now_seconds() - t_start;
        emit(d, o, &rec);
        ood += r.ood;
        if (o->out || window) {
            mcd_verdict v = {r.label, r.prob, r.score, d->threshold, r.ood};
            mcd_canvas *c = mcd_canvas_annotated(frame, &v);
            if (!c) rc = -1;
            if (c && o->out && !vw) {
                if (o->video && same_file(o->video, o->out)) {
                    mcd_set_error("'%s' would overwrite the input video", o->out);
                    rc = -1;
                } else {
                    vw = mcd_video_writer_open(o->out, mcd_canvas_width(c),
                                               mcd_canvas_height(c),
                                               src_fps > 0 ? src_fps : DEFAULT_VIDEO_FPS);
                    if (!vw) rc = -1;
                }
            }
            if (rc == 0 && vw && mcd_video_writer_write(vw, c)) rc = -1;
            if (rc == 0 && window) {
                if (frames == 0)
                    make_window(window_name, mcd_canvas_width(c), mcd_canvas_height(c), 0);
                int key = mcd_canvas_show(c, window_name, 1);
                if (key == -2) rc = -1;
                if (key == 27 || key == 'q') stop_requested = 1;
            }
            if (c) mcd_canvas_free(c);
        }
        free_image(frame);
        ++frames;
        if (rc) {
            report_error();
            break;
        }
    }
    double seconds = now_seconds() - t_start;
    signal(SIGINT, old_int);
    signal(SIGTERM, old_term);
    mcd_video_close(cap);
    int wrote = vw != NULL;
    if (vw && mcd_video_writer_close(vw)) report_error(), rc = rc ? rc : -1, wrote = 0;
    if (frames == 0 && rc == 0) {
        if (o->video) mcd_set_error("video '%s' has no frames", o->video);
        else mcd_set_error("camera %d gave no frames", o->camera);
        report_error();
        rc = -1;
    }
    if (frames > 0)
        fprintf(stderr, "%ld frames (%ld ID, %ld OOD) in %.2f s: %.1f frames/s; the network "
                        "alone: %.1f frames/s%s%s\n",
                frames, frames - ood, ood, seconds, frames / seconds,
                net_seconds > 0 ? frames / net_seconds : 0.0, wrote ? "; wrote " : "",
                wrote ? o->out : "");
    if (rc) ++d->failed;
    return 0;
}

/* --- arguments ------------------------------------------------------------------------- */

static int parse_double_arg(const char *opt, const char *s, double *out)
{
    char *end;
    errno = 0;
    double v = strtod(s, &end);
    if (!*s || *end || errno || !isfinite(v)) {
        mcd_set_error("%s %s: not a number", opt, s);
        return -1;
    }
    *out = v;
    return 0;
}

static int parse_long_arg(const char *opt, const char *s, long min, long *out)
{
    char *end;
    errno = 0;
    long v = strtol(s, &end, 10);
    if (!*s || *end || errno || v < min) {
        mcd_set_error("%s %s: expected a whole number >= %ld", opt, s, min);
        return -1;
    }
    *out = v;
    return 0;
}

static int parse_args(int argc, char **argv, detect_opts *o)
{
    memset(o, 0, sizeof *o);
    o->data = DEFAULT_DATA;
    o->camera = -1;
    /* one image at a time: the gemms are small, and threads that wait for each other cost
     * far more than they bring (measured on 2 cores: 25x slower when the machine is busy) */
    o->threads = getenv("OMP_NUM_THREADS") || getenv("OPENBLAS_NUM_THREADS") ? 0 : 1;
    int npos = 0;
    for (int i = 1; i < argc; ++i) {
        const char *a = argv[i];
        if (a[0] != '-' || a[1] == 0) {
            if (npos == 0) o->cfg = a;
            else if (npos == 1) o->weights = a;
            else strlist_push(&o->sources, a), strlist_push(&o->source_is_list, "0");
            ++npos;
            continue;
        }
        int flag = strcmp(a, "-json") == 0 || strcmp(a, "-nodisplay") == 0;
        if (!flag && i + 1 >= argc) {
            int known = 0;
            const char *valued[] = {"-data", "-thresh", "-list", "-out", "-outdir", "-log",
                                    "-video", "-camera", "-frames", "-threads"};
            for (size_t k = 0; k < sizeof valued / sizeof valued[0]; ++k)
                known |= strcmp(a, valued[k]) == 0;
            if (known) {
                mcd_set_error("option %s needs a value", a);
                return -1;
            }
        }
        long v;
        if (strcmp(a, "-json") == 0) o->json = 1;
        else if (strcmp(a, "-nodisplay") == 0) o->nodisplay = 1;
        else if (strcmp(a, "-data") == 0) o->data = argv[++i], o->data_given = 1;
        else if (strcmp(a, "-thresh") == 0) {
            if (parse_double_arg(a, argv[++i], &o->thresh)) return -1;
            if (o->thresh < 0 || o->thresh > 2) {
                mcd_set_error("-thresh %s: the score lies in [0, 2]", argv[i]);
                return -1;
            }
            o->thresh_given = 1;
        } else if (strcmp(a, "-list") == 0) {
            strlist_push(&o->sources, argv[++i]);
            strlist_push(&o->source_is_list, "1");
        } else if (strcmp(a, "-out") == 0) o->out = argv[++i];
        else if (strcmp(a, "-outdir") == 0) o->outdir = argv[++i];
        else if (strcmp(a, "-log") == 0) o->log = argv[++i];
        else if (strcmp(a, "-video") == 0) o->video = argv[++i];
        else if (strcmp(a, "-camera") == 0) {
            if (parse_long_arg(a, argv[++i], 0, &v)) return -1;
            o->camera = (int)v;
        } else if (strcmp(a, "-frames") == 0) {
            if (parse_long_arg(a, argv[++i], 1, &o->max_frames)) return -1;
        } else if (strcmp(a, "-threads") == 0) {
            if (parse_long_arg(a, argv[++i], 1, &v)) return -1;
            o->threads = (int)v;
        } else {
            mcd_set_error("unknown option '%s' (darknet mcd detect -h lists them)", a);
            return -1;
        }
    }
    if (npos < 2) {
        mcd_set_error("detect needs CFG and WEIGHTS (darknet mcd detect -h)");
        return -1;
    }
    int video = o->video || o->camera >= 0;
    if (o->video && o->camera >= 0) {
        mcd_set_error("-video and -camera: pick one");
        return -1;
    }
    if (video && o->sources.n) {
        mcd_set_error("images and %s: pick one", o->video ? "-video" : "-camera");
        return -1;
    }
    if (video && o->outdir) {
        mcd_set_error("-outdir is for images; a video's annotated copy goes to -out FILE.avi");
        return -1;
    }
    if (!video && o->max_frames) {
        mcd_set_error("-frames is for -video or -camera");
        return -1;
    }
    if (o->out && o->outdir) {
        mcd_set_error("-out and -outdir: pick one");
        return -1;
    }
    return 0;
}

int mcd_detect(int argc, char **argv)
{
    for (int i = 1; i < argc; ++i)
        if (strcmp(argv[i], "-h") == 0 || strcmp(argv[i], "--help") == 0) {
            fputs(usage_text, stdout);
            return 0;
        }
    if (argc < 3) {
        fputs(usage_text, stderr);
        return 1;
    }
    detect_opts o;
    detector d;
    int rc;
    if (parse_args(argc, argv, &o)) {
        report_error();
        rc = 1;
    } else if (load_detector(&o, &d)) {
        report_error();
        free_detector(&d);
        rc = 1;
    } else {
        rc = (o.video || o.camera >= 0) ? run_video(&d, &o) : run_images(&d, &o);
        if (rc) report_error();
        if (d.failed && !(o.video || o.camera >= 0))
            fprintf(stderr, "darknet: %d input%s failed (see above)\n", d.failed,
                    d.failed == 1 ? "" : "s");
        if (free_detector(&d)) report_error(), rc = -1;
        rc = rc || d.failed ? 1 : 0;
    }
    strlist_free(&o.sources);
    strlist_free(&o.source_is_list);
    return rc;
}
