#include "network/stock_section_check.h"

#include <errno.h>
#include <float.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "activations.h"
#include "util/mcd_error.h"

/* A layer may hold at most this many floats in one buffer (1 GiB): beyond it a typo like
 * filters=100000 would take the machine's memory, or overflow Darknet's int sizes. */
static long max_buffer_floats = 1L << 28;

void stock_check_set_buffer_limit(long floats)
{
    max_buffer_floats = floats;
}

typedef enum { V_INT, V_FLOAT, V_INT_LIST, V_FLOAT_LIST, V_ACTIVATION, V_POLICY } value_kind;

typedef struct value_rule {
    const char *section; /* NULL: every layer section */
    const char *key;
    value_kind kind;
    double min, max;
} value_rule;

#define BIG 1e9 /* integers: counts and indices; floats go up to FLT_MAX (beyond, a float is Inf) */
static const value_rule rules[] = {
    /* keys parse_network_cfg reads for every layer */
    {NULL, "truth", V_INT, 0, BIG}, {NULL, "onlyforward", V_INT, 0, 1},
    {NULL, "stopbackward", V_INT, 0, 1}, {NULL, "dontsave", V_INT, 0, 1},
    {NULL, "dontload", V_INT, 0, 1}, {NULL, "numload", V_INT, 0, BIG},
    {NULL, "dontloadscales", V_INT, 0, 1}, {NULL, "learning_rate", V_FLOAT, 0, FLT_MAX},
    {NULL, "smooth", V_FLOAT, 0, 1}, {NULL, "activation", V_ACTIVATION, 0, 0},
    {NULL, "batch_normalize", V_INT, 0, 1},
    {"[net]", "batch", V_INT, 1, 1 << 20}, {"[net]", "subdivisions", V_INT, 1, 1 << 20},
    {"[net]", "height", V_INT, 0, 1 << 16}, {"[net]", "width", V_INT, 0, 1 << 16},
    {"[net]", "channels", V_INT, 0, 1 << 16}, {"[net]", "inputs", V_INT, 1, BIG},
    {"[net]", "time_steps", V_INT, 1, 1 << 20}, {"[net]", "max_batches", V_INT, 0, BIG},
    {"[net]", "burn_in", V_INT, 0, BIG}, {"[net]", "max_crop", V_INT, 1, 1 << 16},
    {"[net]", "min_crop", V_INT, 1, 1 << 16}, {"[net]", "step", V_INT, 1, BIG},
    {"[net]", "learning_rate", V_FLOAT, 0, FLT_MAX}, {"[net]", "momentum", V_FLOAT, 0, FLT_MAX},
    {"[net]", "decay", V_FLOAT, 0, FLT_MAX}, {"[net]", "angle", V_FLOAT, 0, 360},
    {"[net]", "aspect", V_FLOAT, 1e-3, 1e3}, {"[net]", "saturation", V_FLOAT, 1e-3, 1e3},
    {"[net]", "exposure", V_FLOAT, 1e-3, 1e3}, {"[net]", "hue", V_FLOAT, 0, 1},
    {"[net]", "max_ratio", V_FLOAT, 1e-3, 1e3}, {"[net]", "min_ratio", V_FLOAT, 1e-3, 1e3},
    {"[net]", "power", V_FLOAT, -FLT_MAX, FLT_MAX}, {"[net]", "gamma", V_FLOAT, -FLT_MAX, FLT_MAX},
    {"[net]", "scale", V_FLOAT, -FLT_MAX, FLT_MAX}, {"[net]", "clip", V_FLOAT, 0, FLT_MAX},
    {"[net]", "policy", V_POLICY, 0, 0}, {"[net]", "steps", V_INT_LIST, 0, BIG},
    {"[net]", "scales", V_FLOAT_LIST, 0, FLT_MAX},
    {"[convolutional]", "filters", V_INT, 1, 1 << 16}, {"[convolutional]", "size", V_INT, 1, 1 << 12},
    {"[convolutional]", "stride", V_INT, 1, 1 << 12}, {"[convolutional]", "pad", V_INT, 0, 1},
    {"[convolutional]", "padding", V_INT, 0, 1 << 12}, {"[convolutional]", "groups", V_INT, 1, 1 << 16},
    {"[deconvolutional]", "filters", V_INT, 1, 1 << 16}, {"[deconvolutional]", "size", V_INT, 1, 1 << 12},
    {"[deconvolutional]", "stride", V_INT, 1, 1 << 12}, {"[deconvolutional]", "pad", V_INT, 0, 1},
    {"[deconvolutional]", "padding", V_INT, 0, 1 << 12},
    {"[local]", "filters", V_INT, 1, 1 << 16}, {"[local]", "size", V_INT, 1, 1 << 12},
    {"[local]", "stride", V_INT, 1, 1 << 12}, {"[local]", "pad", V_INT, 0, 1},
    {"[connected]", "output", V_INT, 1, 1 << 24},
    {"[rnn]", "output", V_INT, 1, 1 << 20}, {"[gru]", "output", V_INT, 1, 1 << 20},
    {"[lstm]", "output", V_INT, 1, 1 << 20},
    {"[crnn]", "output_filters", V_INT, 1, 1 << 16}, {"[crnn]", "hidden_filters", V_INT, 1, 1 << 16},
    {"[maxpool]", "size", V_INT, 1, 1 << 12}, {"[maxpool]", "stride", V_INT, 1, 1 << 12},
    {"[maxpool]", "padding", V_INT, 0, 1 << 12},
    {"[softmax]", "groups", V_INT, 1, 1 << 16}, {"[softmax]", "temperature", V_FLOAT, 1e-6, FLT_MAX},
    {"[dropout]", "probability", V_FLOAT, 0, 0.999999},
    {"[shortcut]", "from", V_INT, -BIG, BIG}, {"[shortcut]", "alpha", V_FLOAT, -FLT_MAX, FLT_MAX},
    {"[shortcut]", "beta", V_FLOAT, -FLT_MAX, FLT_MAX},
    {"[route]", "layers", V_INT_LIST, -BIG, BIG},
    {"[upsample]", "stride", V_INT, -(1 << 12), 1 << 12}, {"[upsample]", "scale", V_FLOAT, -FLT_MAX, FLT_MAX},
    {"[reorg]", "stride", V_INT, 1, 1 << 12},
    {"[crop]", "crop_height", V_INT, 1, 1 << 16}, {"[crop]", "crop_width", V_INT, 1, 1 << 16},
    {"[normalization]", "size", V_INT, 1, 1 << 12}, {"[normalization]", "alpha", V_FLOAT, -FLT_MAX, FLT_MAX},
    {"[normalization]", "beta", V_FLOAT, -FLT_MAX, FLT_MAX}, {"[normalization]", "kappa", V_FLOAT, -FLT_MAX, FLT_MAX},
    {"[cost]", "scale", V_FLOAT, -FLT_MAX, FLT_MAX}, {"[cost]", "ratio", V_FLOAT, 0, 1},
};

/* Darknet's section names have short forms ([conv], [max], ...): compare by layer type. */
static int same_section(const char *rule, const char *type)
{
    if (strcmp(rule, "[net]") == 0)
        return strcmp(type, "[net]") == 0 || strcmp(type, "[network]") == 0;
    return string_to_layer_type((char *)rule) == string_to_layer_type((char *)type) &&
           string_to_layer_type((char *)type) != BLANK;
}

static int parse_number(const char *v, int integer, double *out)
{
    char *end;
    errno = 0;
    double x = integer ? (double)strtol(v, &end, 10) : strtod(v, &end);
    if (v[0] == 0 || end == v || *end != 0 || errno || !isfinite(x)) return -1;
    *out = x;
    return 0;
}

static int known_activation(const char *name)
{
    /* Darknet's own names, through its own table: get_activation_string of each value */
    for (int a = 0; a < 64; ++a)
        if (strcmp(get_activation_string((ACTIVATION)a), name) == 0) return 1;
    return 0;
}

static int known_policy(const char *name)
{
    static const char *names[] = {"random", "poly", "constant", "step", "exp", "sigmoid", "steps"};
    for (size_t i = 0; i < sizeof names / sizeof names[0]; ++i)
        if (strcmp(names[i], name) == 0) return 1;
    return 0;
}

static int check_value(const char *file, const cfg_section *s, const value_rule *r, const char *v)
{
    const char *what = NULL;
    double x;
    switch (r->kind) {
    case V_INT:
    case V_FLOAT:
        if (parse_number(v, r->kind == V_INT, &x))
            what = r->kind == V_INT ? "is not an integer" : "is not a finite number";
        else if (x < r->min || x > r->max) {
            mcd_set_error("%s:%d: %s: %s=%s is out of range [%g, %g]", file, s->line, s->type,
                          r->key, v, r->min, r->max);
            return -1;
        }
        break;
    case V_INT_LIST:
    case V_FLOAT_LIST: {
        /* comma-separated; Darknet counts commas and reads that many numbers */
        char buf[1024];
        snprintf(buf, sizeof buf, "%s", v);
        if (buf[0] == 0 || buf[strlen(buf) - 1] == ',') what = "is not a comma-separated list of numbers";
        for (char *p = buf, *next; p && !what; p = next) {
            next = strchr(p, ',');
            if (next) *next++ = 0;
            if (parse_number(p, r->kind == V_INT_LIST, &x))
                what = "is not a comma-separated list of numbers";
            else if (x < r->min || x > r->max)
                what = "has a number out of range";
        }
        break;
    }
    case V_ACTIVATION:
        if (!known_activation(v)) what = "is not one of Darknet's activations (linear, leaky, relu, logistic, ...)";
        break;
    case V_POLICY:
        if (!known_policy(v)) what = "is not a policy (constant, step, steps, exp, poly, sigmoid, random)";
        break;
    }
    if (what) {
        mcd_set_error("%s:%d: %s: %s=%s %s", file, s->line, s->type, r->key, v, what);
        return -1;
    }
    return 0;
}

static const char *find_value(const cfg_section *s, const char *key)
{
    for (node *n = s->options->front; n; n = n->next) {
        kvp *p = (kvp *)n->val;
        if (strcmp(p->key, key) == 0) return p->val;
    }
    return NULL;
}

static int list_length(const char *v)
{
    int n = 1;
    for (; *v; ++v) n += *v == ',';
    return n;
}

int check_section_values(const char *file, const cfg_section *s)
{
    int net = same_section("[net]", s->type);
    for (node *n = s->options->front; n; n = n->next) {
        kvp *p = (kvp *)n->val;
        for (size_t i = 0; i < sizeof rules / sizeof rules[0]; ++i) {
            const value_rule *r = &rules[i];
            if (strcmp(r->key, p->key) != 0) continue;
            if (r->section ? !same_section(r->section, s->type) : net) continue;
            if (check_value(file, s, r, p->val)) return -1;
        }
    }
    if (net) {
        /* policy=steps reads as many scales as there are steps, past the end of a shorter list */
        const char *policy = find_value(s, "policy"), *steps = find_value(s, "steps");
        const char *scales = find_value(s, "scales");
        if (policy && strcmp(policy, "steps") == 0 &&
            (!steps || !scales || list_length(steps) != list_length(scales))) {
            mcd_set_error("%s:%d: %s: policy=steps needs steps= and scales= with as many "
                          "numbers each", file, s->line, s->type);
            return -1;
        }
    }
    return 0;
}

static int int_or(const cfg_section *s, const char *key, int def)
{
    const char *v = find_value(s, key);
    return v ? atoi(v) : def;
}

int check_buffer_size(const char *file, const cfg_section *s, const char *what, long long floats)
{
    if (floats <= max_buffer_floats) return 0;
    mcd_set_error("%s:%d: %s: %s would take %lld floats (more than %ld): check the sizes",
                  file, s->line, s->type, what, floats, max_buffer_floats);
    return -1;
}

/* The index a [route]/[shortcut] value names: relative when negative, as Darknet reads it. */
static int check_reference(const char *file, const cfg_section *s, const char *key, int v, int index)
{
    int at = v < 0 ? index + v : v;
    if (at < 0 || at >= index) {
        char before[64] = "no layer comes before it";
        if (index > 0) snprintf(before, sizeof before, "only layers 0-%d come before it", index - 1);
        mcd_set_error("%s:%d: %s: %s=%d names layer %d, but %s", file, s->line, s->type, key,
                      v, at, before);
        return -1;
    }
    return 0;
}

/* What a section is built on: its file and section (for messages), its position and the
 * shape of its input (the layer before it, or [net]). */
typedef struct section_input {
    const char *file;
    const cfg_section *s;
    int index;
    long long w, h, c, batch, inputs;
} section_input;

static int needs_image_input(LAYER_TYPE t)
{
    return t == CONVOLUTIONAL || t == DECONVOLUTIONAL || t == LOCAL || t == MAXPOOL ||
           t == AVGPOOL || t == REORG || t == UPSAMPLE || t == CROP || t == NORMALIZATION ||
           t == CRNN;
}

/* The layer before gives something to build on: an image where the layer needs one. */
static int check_input_present(const section_input *in, LAYER_TYPE t)
{
    const cfg_section *s = in->s;
    if (needs_image_input(t) && (in->w <= 0 || in->h <= 0 || in->c <= 0)) {
        mcd_set_error("%s:%d: %s needs an image input, but the layer before gives %lldx%lldx%lld",
                      in->file, s->line, s->type, in->w, in->h, in->c);
        return -1;
    }
    if (in->inputs <= 0) {
        mcd_set_error("%s:%d: %s: the layer before it has no outputs", in->file, s->line, s->type);
        return -1;
    }
    return 0;
}

/* Darknet's padding of a convolution: padding=N, else pad=1 for size/2. */
static int conv_padding(const cfg_section *s, int size)
{
    return find_value(s, "padding") ? int_or(s, "padding", 0) : int_or(s, "pad", 0) ? size / 2 : 0;
}

/* A sliding window's output length over `in` with `pad` added in all; 0 when the window
 * does not fit even once (Darknet's formula would round that up to 1). */
static long long window_out(long long in, int pad, int size, int stride)
{
    return in + pad < size ? 0 : (in + pad - size) / stride + 1;
}

static int check_convolutional_input(const section_input *in, long long *out_w, long long *out_h)
{
    const cfg_section *s = in->s;
    int size = int_or(s, "size", 1), stride = int_or(s, "stride", 1), n = int_or(s, "filters", 1);
    int groups = int_or(s, "groups", 1), pad = conv_padding(s, size);
    if (in->c % groups || n % groups) {
        mcd_set_error("%s:%d: %s: groups=%d must divide the input channels (%lld) and "
                      "filters (%d)", in->file, s->line, s->type, groups, in->c, n);
        return -1;
    }
    *out_w = window_out(in->w, 2 * pad, size, stride);
    *out_h = window_out(in->h, 2 * pad, size, stride);
    return check_buffer_size(in->file, s, "the weights", in->c / groups * n * size * size) ||
           check_buffer_size(in->file, s, "the workspace",
                             *out_w * *out_h * size * size * in->c / groups) ||
           check_buffer_size(in->file, s, "the output", *out_w * *out_h * n * in->batch);
}

static int check_deconvolutional_input(const section_input *in, long long *out_w, long long *out_h)
{
    const cfg_section *s = in->s;
    int size = int_or(s, "size", 1), stride = int_or(s, "stride", 1), n = int_or(s, "filters", 1);
    int pad = conv_padding(s, size);
    *out_w = (in->w - 1) * stride + size - 2 * pad;
    *out_h = (in->h - 1) * stride + size - 2 * pad;
    return check_buffer_size(in->file, s, "the weights", in->c * n * size * size) ||
           check_buffer_size(in->file, s, "the workspace", in->w * in->h * size * size * n) ||
           check_buffer_size(in->file, s, "the output", *out_w * *out_h * n * in->batch);
}

static int check_local_input(const section_input *in, long long *out_w, long long *out_h)
{
    const cfg_section *s = in->s;
    int size = int_or(s, "size", 1), stride = int_or(s, "stride", 1), n = int_or(s, "filters", 1);
    int pad = int_or(s, "pad", 0) ? size / 2 : 0;
    *out_w = window_out(in->w, 2 * pad, size, stride);
    *out_h = window_out(in->h, 2 * pad, size, stride);
    return check_buffer_size(in->file, s, "the weights",
                             *out_w * *out_h * size * size * in->c * n) ||
           check_buffer_size(in->file, s, "the output", *out_w * *out_h * n * in->batch);
}

static int check_connected_input(const section_input *in)
{
    long long out = int_or(in->s, "output", 1);
    return check_buffer_size(in->file, in->s, "the weights", in->inputs * out) ||
           check_buffer_size(in->file, in->s, "the output", out * in->batch);
}

static int check_upsample_input(const section_input *in, long long *out_w, long long *out_h)
{
    const cfg_section *s = in->s;
    int stride = int_or(s, "stride", 1);
    if (stride == 0) {
        mcd_set_error("%s:%d: %s: stride=0 (use a positive stride to upsample, a negative "
                      "one to downsample)", in->file, s->line, s->type);
        return -1;
    }
    *out_w = stride > 0 ? in->w * stride : in->w / -stride;
    *out_h = stride > 0 ? in->h * stride : in->h / -stride;
    return check_buffer_size(in->file, s, "the output", *out_w * *out_h * in->c * in->batch);
}

/* reorg_cpu splits the input channels by stride^2 in both directions (c / stride^2 of
 * them, a division by zero below stride^2 channels) */
static int check_reorg_input(const section_input *in, long long *out_w, long long *out_h)
{
    const cfg_section *s = in->s;
    int stride = int_or(s, "stride", 1);
    int flat = int_or(s, "flatten", 0) || int_or(s, "extra", 0);
    if (!flat && in->c % ((long long)stride * stride)) {
        mcd_set_error("%s:%d: %s: stride=%d needs input channels divisible by %d, but the "
                      "layer before gives %lld", in->file, s->line, s->type, stride,
                      stride * stride, in->c);
        return -1;
    }
    if (!int_or(s, "reverse", 0) && (in->w % stride || in->h % stride)) *out_w = *out_h = 0;
    return 0;
}

/* [route] layers= and [shortcut] from= name layers before this one. */
static int check_references(const section_input *in, LAYER_TYPE t)
{
    const cfg_section *s = in->s;
    const char *key = t == ROUTE ? "layers" : "from";
    const char *v = find_value(s, key);
    if (!v) {
        mcd_set_error("%s:%d: %s has no %s= line", in->file, s->line, s->type, key);
        return -1;
    }
    /* a [route] lists them, comma-separated; a [shortcut] names one */
    for (const char *q = v; q; q = t == ROUTE && strchr(q, ',') ? strchr(q, ',') + 1 : NULL)
        if (check_reference(in->file, s, key, atoi(q), in->index)) return -1;
    return 0;
}

/* [dropout] works in place on the layer before it; a network of [cost] layers only has no
 * output layer (get_network_output_layer reads before the first layer) */
static int check_not_first(const section_input *in)
{
    if (in->index > 0) return 0;
    mcd_set_error("%s:%d: %s cannot be the first layer: it works on the output of the "
                  "layer before it", in->file, in->s->line, in->s->type);
    return -1;
}

/* The checks of one layer type; *out_w, *out_h: the output size, where the type has one
 * that the input may be too small for. */
static int check_type_input(const section_input *in, LAYER_TYPE t, long long *out_w,
                            long long *out_h)
{
    const cfg_section *s = in->s;
    switch (t) {
    case CONVOLUTIONAL: return check_convolutional_input(in, out_w, out_h);
    case DECONVOLUTIONAL: return check_deconvolutional_input(in, out_w, out_h);
    case LOCAL: return check_local_input(in, out_w, out_h);
    case CONNECTED: return check_connected_input(in);
    case UPSAMPLE: return check_upsample_input(in, out_w, out_h);
    case REORG: return check_reorg_input(in, out_w, out_h);
    case ROUTE:
    case SHORTCUT: return check_references(in, t);
    case DROPOUT:
    case COST: return check_not_first(in);
    case MAXPOOL: {
        int size = int_or(s, "size", 1), stride = int_or(s, "stride", 1);
        int padding = int_or(s, "padding", size - 1);
        *out_w = window_out(in->w, padding, size, stride);
        *out_h = window_out(in->h, padding, size, stride);
        return 0;
    }
    case CROP:
        if (int_or(s, "crop_height", 1) > in->h || int_or(s, "crop_width", 1) > in->w)
            *out_w = *out_h = 0;
        return 0;
    default: return 0;
    }
}

int check_layer_input(const char *file, const cfg_section *s, size_params p, int index)
{
    section_input in = {file, s, index, p.w, p.h, p.c, p.batch, p.inputs};
    LAYER_TYPE t = string_to_layer_type(s->type);
    long long out_w = in.w, out_h = in.h;
    if (check_input_present(&in, t) || check_type_input(&in, t, &out_w, &out_h)) return -1;
    if (needs_image_input(t) && (out_w <= 0 || out_h <= 0)) {
        mcd_set_error("%s:%d: %s: its input (%lldx%lldx%lld) is too small for size=%d, "
                      "stride=%d: the shapes do not connect", file, s->line, s->type, in.w,
                      in.h, in.c, int_or(s, "size", 1), int_or(s, "stride", 1));
        return -1;
    }
    return 0;
}

int check_layer_output(const char *file, const cfg_section *s, const layer *l, size_params p)
{
    if (l->outputs > 0 && l->out_w >= 0 && l->out_h >= 0 && l->out_c >= 0) return 0;
    mcd_set_error("%s:%d: %s: no output (%dx%dx%d) from its input (%dx%dx%d): the shapes do "
                  "not connect", file, s->line, s->type, l->out_w, l->out_h, l->out_c, p.w, p.h,
                  p.c);
    return -1;
}

/* [net] mixes Darknet's keys, some read only with some settings (steps with policy=steps),
 * and the trainer's: there an unread key is misspelt or has no effect here. */
void warn_unused_keys(const char *file, const cfg_section *s)
{
    int net = strcmp(s->type, "[net]") == 0 || strcmp(s->type, "[network]") == 0;
    for (node *n = s->options->front; n; n = n->next) {
        kvp *p = (kvp *)n->val;
        if (!p->used)
            fprintf(stderr,
                    net ? "darknet: warning: %s:%d: %s: key '%s' ignored (unknown, or unused "
                          "with these settings)\n"
                        : "darknet: warning: %s:%d: %s: unknown key '%s' ignored\n",
                    file, s->line, s->type, p->key);
    }
}
