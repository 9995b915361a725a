/* The plugin's cfg parse loop: Darknet's parse_network_cfg, plus the MCD sections and
 * the checks a two-head network needs, with errors instead of crashes.
 *
 * The cfg is validated as a whole before any layer is built (section names, the order of
 * the MCD sections, keys of the plugin's sections); stock sections are then built by
 * Darknet's own parse_* functions, exactly as parse_network_cfg would. Linking with
 * -Wl,--wrap=parse_network_cfg sends every stock command's cfg through here as well. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "network/cfg_reader.h"
#include "network/darknet_parser.h"
#include "layers/discrepancy_layer.h"
#include "layers/l1_layer.h"
#include "layers/mcd_layer_types.h"
#include "util/mcd_error.h"
#include "network/mcd_network.h"
#include "layers/split_layer.h"
#include "network/stock_section_check.h"
#include "network/train_config.h"

enum section_kind { SEC_STOCK, SEC_SPLIT, SEC_HEAD, SEC_DISCREPANCY, SEC_L1 };

static const struct {
    const char *name;
    enum section_kind kind;
} plugin_sections[] = {
    {"[mcd_split]", SEC_SPLIT},
    {"[mcd_head]", SEC_HEAD},
    {"[mcd_discrepancy]", SEC_DISCREPANCY},
    {"[mcd_l1]", SEC_L1},
};

#define MCD_DEFAULT_MARGIN 1.2f
#define MCD_DEFAULT_WEIGHT 1.0f

/* A build step: a cfg section to turn into a layer, or (section NULL) the [mcd_head] layer
 * that the parser inserts between symmetric heads. */
typedef struct build_step {
    cfg_section *s;
    enum section_kind kind;
} build_step;

typedef struct parse_state {
    const char *file;
    cfg_section **sec; /* sec[0] is [net] */
    int nsec;
    enum section_kind *kind;
    build_step *steps;
    int nsteps;
    int split, head, disc, l1; /* section indices, -1 when absent */
} parse_state;

static int is_net_section(const char *type)
{
    return strcmp(type, "[net]") == 0 || strcmp(type, "[network]") == 0;
}

static int classify_sections(parse_state *ps)
{
    for (int i = 1; i < ps->nsec; ++i) {
        cfg_section *s = ps->sec[i];
        ps->kind[i] = SEC_STOCK;
        int plugin = 0;
        for (size_t j = 0; j < sizeof plugin_sections / sizeof plugin_sections[0]; ++j)
            if (strcmp(s->type, plugin_sections[j].name) == 0) {
                ps->kind[i] = plugin_sections[j].kind;
                plugin = 1;
            }
        if (plugin) continue;
        if (is_net_section(s->type)) {
            mcd_set_error("%s:%d: %s may only be the first section", ps->file, s->line, s->type);
            return -1;
        }
        if (string_to_layer_type(s->type) == BLANK) {
            mcd_set_error("%s:%d: unknown section %s (neither a Darknet layer nor one of "
                          "[mcd_split], [mcd_head], [mcd_discrepancy], [mcd_l1])",
                          ps->file, s->line, s->type);
            return -1;
        }
    }
    return 0;
}

/* The one place of each MCD section; -1 with an error on a second one. */
static int find_unique(parse_state *ps, enum section_kind kind, int *at)
{
    *at = -1;
    for (int i = 1; i < ps->nsec; ++i) {
        if (ps->kind[i] != kind) continue;
        if (*at >= 0) {
            mcd_set_error("%s:%d: a second %s (the first is at line %d); a network has one",
                          ps->file, ps->sec[i]->line, ps->sec[i]->type, ps->sec[*at]->line);
            return -1;
        }
        *at = i;
    }
    return 0;
}

/* A head is sections [from, to): not empty, stock layers only, ending in [softmax]. */
static int check_head(parse_state *ps, int head, int from, int to)
{
    cfg_section *split = ps->sec[ps->split];
    if (from >= to) {
        mcd_set_error("%s:%d: head %d after [mcd_split] is empty; a head is stock layers "
                      "ending in [softmax]", ps->file, split->line, head);
        return -1;
    }
    cfg_section *last = ps->sec[to - 1];
    if (string_to_layer_type(last->type) != SOFTMAX) {
        mcd_set_error("%s:%d: head %d must end in [softmax], but ends in %s",
                      ps->file, last->line, head, last->type);
        return -1;
    }
    return 0;
}

static int check_structure(parse_state *ps)
{
    if (find_unique(ps, SEC_SPLIT, &ps->split) || find_unique(ps, SEC_HEAD, &ps->head) ||
        find_unique(ps, SEC_DISCREPANCY, &ps->disc) || find_unique(ps, SEC_L1, &ps->l1))
        return -1;
    const char *f = ps->file;
    if (ps->split < 0) {
        int stray = ps->head >= 0 ? ps->head : ps->disc >= 0 ? ps->disc : ps->l1;
        if (stray >= 0) {
            mcd_set_error("%s:%d: %s without an [mcd_split] before it", f,
                          ps->sec[stray]->line, ps->sec[stray]->type);
            return -1;
        }
        return 0; /* a stock network */
    }
    cfg_section *split = ps->sec[ps->split];
    if (ps->disc < 0 || ps->disc < ps->split) {
        mcd_set_error("%s:%d: [mcd_split] has no [mcd_discrepancy] after it to join the heads",
                      f, split->line);
        return -1;
    }
    if (ps->head >= 0 && (ps->head < ps->split || ps->head > ps->disc)) {
        mcd_set_error("%s:%d: [mcd_head] must stand between [mcd_split] and [mcd_discrepancy]",
                      f, ps->sec[ps->head]->line);
        return -1;
    }
    if (ps->l1 < 0 || ps->l1 < ps->disc) {
        mcd_set_error("%s:%d: [mcd_discrepancy] must be followed by [mcd_l1], the score layer",
                      f, ps->sec[ps->disc]->line);
        return -1;
    }
    if (ps->l1 != ps->disc + 1 || ps->l1 != ps->nsec - 1) {
        int bad = ps->l1 != ps->disc + 1 ? ps->disc + 1 : ps->l1 + 1;
        mcd_set_error("%s:%d: %s after [mcd_discrepancy]: only [mcd_l1] may follow it, "
                      "and it ends the network", f, ps->sec[bad]->line, ps->sec[bad]->type);
        return -1;
    }
    if (ps->head >= 0)
        return check_head(ps, 1, ps->split + 1, ps->head) ||
               check_head(ps, 2, ps->head + 1, ps->disc);
    return check_head(ps, 1, ps->split + 1, ps->disc);
}

/* The order in which layers are built. A symmetric head is built twice. */
static void plan_steps(parse_state *ps)
{
    ps->steps = calloc((size_t)2 * ps->nsec + 1, sizeof(build_step));
    int n = 0;
    int head_end = ps->split < 0 ? -1 : (ps->head >= 0 ? ps->head : ps->disc);
    for (int i = 1; i < ps->nsec; ++i) {
        ps->steps[n++] = (build_step){ps->sec[i], ps->kind[i]};
        if (ps->head < 0 && i == head_end - 1) {
            /* symmetric form: [mcd_head], then head 1's sections again */
            ps->steps[n++] = (build_step){NULL, SEC_HEAD};
            for (int j = ps->split + 1; j < head_end; ++j)
                ps->steps[n++] = (build_step){ps->sec[j], ps->kind[j]};
        }
    }
    ps->nsteps = n;
}

/* Numbers and names in [net] and every stock section; the plugin's own sections are read
 * strictly where they are built. */
static int check_values(parse_state *ps)
{
    for (int i = 0; i < ps->nsec; ++i)
        if ((i == 0 || ps->kind[i] == SEC_STOCK) && check_section_values(ps->file, ps->sec[i]))
            return -1;
    return 0;
}

static int check_net_options(parse_state *ps)
{
    cfg_section *s = ps->sec[0];
    list *o = s->options;
    int batch = option_find_int_quiet(o, "batch", 1);
    int subdivs = option_find_int_quiet(o, "subdivisions", 1);
    int h = option_find_int_quiet(o, "height", 0), w = option_find_int_quiet(o, "width", 0);
    int c = option_find_int_quiet(o, "channels", 0);
    int inputs = option_find_int_quiet(o, "inputs", h * w * c);
    if (batch < 1 || subdivs < 1 || batch < subdivs) {
        mcd_set_error("%s:%d: %s: batch=%d and subdivisions=%d must be >= 1 with "
                      "batch >= subdivisions", ps->file, s->line, s->type, batch, subdivs);
        return -1;
    }
    if (inputs <= 0 || h < 0 || w < 0 || c < 0) {
        mcd_set_error("%s:%d: %s: no input size: set height, width and channels (or inputs)",
                      ps->file, s->line, s->type);
        return -1;
    }
    if (check_buffer_size(ps->file, s, "the input (batch x height x width x channels)",
                          (long long)inputs * batch))
        return -1;
    /* the trainer's keys (train_config.h), checked here for every command, and marked read
     * so that only keys nobody reads are warned about */
    mcd_train_config tc;
    return mcd_read_train_section(ps->file, s, &tc);
}

/* The per-layer keys parse_network_cfg reads for every section, whatever its type. */
static void read_common_keys(layer *l, list *options, const network *net)
{
    l->clip = net->clip;
    l->truth = option_find_int_quiet(options, "truth", 0);
    l->onlyforward = option_find_int_quiet(options, "onlyforward", 0);
    l->stopbackward = option_find_int_quiet(options, "stopbackward", 0);
    l->dontsave = option_find_int_quiet(options, "dontsave", 0);
    l->dontload = option_find_int_quiet(options, "dontload", 0);
    l->numload = option_find_int_quiet(options, "numload", 0);
    l->dontloadscales = option_find_int_quiet(options, "dontloadscales", 0);
    l->learning_rate_scale = option_find_float_quiet(options, "learning_rate", 1);
    l->smooth = option_find_float_quiet(options, "smooth", 0);
}

static layer parse_stock(cfg_section *s, size_params params, network *net, int count)
{
    list *options = s->options;
    LAYER_TYPE lt = string_to_layer_type(s->type);
    layer l = {0};
    switch (lt) {
    case CONVOLUTIONAL: l = parse_convolutional(options, params); break;
    case DECONVOLUTIONAL: l = parse_deconvolutional(options, params); break;
    case LOCAL:
        l = parse_local(options, params);
        /* forward_local_layer unrolls its input into the network's shared workspace, but
         * make_local_layer never asks for one: size it, or im2col writes past its end */
        l.workspace_size = (size_t)l.out_h * l.out_w * l.size * l.size * l.c * sizeof(float);
        break;
    case ACTIVE: l = parse_activation(options, params); break;
    case LOGXENT: l = parse_logistic(options, params); break;
    case L2NORM: l = parse_l2norm(options, params); break;
    case RNN: l = parse_rnn(options, params); break;
    case GRU: l = parse_gru(options, params); break;
    case LSTM: l = parse_lstm(options, params); break;
    case CRNN: l = parse_crnn(options, params); break;
    case CONNECTED: l = parse_connected(options, params); break;
    case CROP: l = parse_crop(options, params); break;
    case COST: l = parse_cost(options, params); break;
    case REGION: l = parse_region(options, params); break;
    case YOLO: l = parse_yolo(options, params); break;
    case ISEG: l = parse_iseg(options, params); break;
    case DETECTION: l = parse_detection(options, params); break;
    case SOFTMAX:
        l = parse_softmax(options, params);
        net->hierarchy = l.softmax_tree;
        break;
    case NORMALIZATION: l = parse_normalization(options, params); break;
    case BATCHNORM:
        l = parse_batchnorm(options, params);
        /* make_batchnorm_layer leaves out the buffers its forward and backward use on the
         * CPU (the GPU build has them): without them any [batchnorm] crashes */
        l.x = calloc((size_t)l.outputs * l.batch, sizeof(float));
        l.x_norm = calloc((size_t)l.outputs * l.batch, sizeof(float));
        l.mean_delta = calloc(l.c, sizeof(float));
        l.variance_delta = calloc(l.c, sizeof(float));
        break;
    case MAXPOOL: l = parse_maxpool(options, params); break;
    case REORG: l = parse_reorg(options, params); break;
    case AVGPOOL: l = parse_avgpool(options, params); break;
    case ROUTE: l = parse_route(options, params, net); break;
    case UPSAMPLE: l = parse_upsample(options, params, net); break;
    case SHORTCUT: l = parse_shortcut(options, params, net); break;
    case DROPOUT:
        /* Darknet's dropout works in place on the layer before it */
        l = parse_dropout(options, params);
        l.output = net->layers[count - 1].output;
        l.delta = net->layers[count - 1].delta;
#ifdef GPU
        l.output_gpu = net->layers[count - 1].output_gpu;
        l.delta_gpu = net->layers[count - 1].delta_gpu;
#endif
        break;
    default: break; /* classify_sections let no other type through */
    }
    read_common_keys(&l, options, net);
    return l;
}

static int parse_plugin(parse_state *ps, build_step *st, size_params params, network *net,
                        int count, int *split_at, int *softmax1, layer *out)
{
    const char *f = ps->file;
    cfg_section *s = st->s;
    int w = params.w, h = params.h, c = params.c;
    if (w * h * c != params.inputs) w = h = 1, c = params.inputs; /* after [connected] */
    switch (st->kind) {
    case SEC_SPLIT:
        *split_at = count;
        *out = make_mcd_split_layer(params.batch, w, h, c);
        break;
    case SEC_HEAD:
        *softmax1 = count - 1;
        *out = make_mcd_head_layer(params.batch, *split_at, &net->layers[*split_at]);
        break;
    case SEC_DISCREPANCY: {
        float margin, weight;
        if (cfg_find_float(f, s, "margin", MCD_DEFAULT_MARGIN, &margin) ||
            cfg_find_float(f, s, "weight", MCD_DEFAULT_WEIGHT, &weight))
            return -1;
        if (margin <= 0) {
            mcd_set_error("%s:%d: [mcd_discrepancy]: margin=%g must be > 0", f, s->line, margin);
            return -1;
        }
        if (weight < 0) {
            mcd_set_error("%s:%d: [mcd_discrepancy]: weight=%g must be >= 0", f, s->line, weight);
            return -1;
        }
        const char *loss_name = cfg_find_str(s, "loss");
        int loss = loss_name ? mcd_loss_kind_parse(loss_name) : MCD_LOSS_ENTROPY;
        if (loss < 0) {
            mcd_set_error("%s:%d: [mcd_discrepancy]: loss=%s is not a loss: use entropy (the "
                          "default), l1 or skl", f, s->line, loss_name);
            return -1;
        }
        int k1 = net->layers[*softmax1].outputs, k2 = net->layers[count - 1].outputs;
        if (k1 != k2) {
            mcd_set_error("%s:%d: [mcd_discrepancy]: the heads have different class counts: "
                          "head 1's [softmax] has %d inputs, head 2's has %d (set the same "
                          "output= in both heads' last layer)", f, s->line, k1, k2);
            return -1;
        }
        *out = make_mcd_discrepancy_layer(params.batch, k1, *softmax1, count - 1, margin, weight,
                                          (mcd_loss_kind)loss);
        break;
    }
    case SEC_L1:
        *out = make_mcd_l1_layer(params.batch, net->layers[count - 1].classes);
        break;
    default: return -1;
    }
    /* the plugin's sections take only the keys above */
    return s ? cfg_check_unused(f, s) : 0;
}

/* Darknet's closing steps of parse_network_cfg: output, truth and input buffers; on a GPU
 * also their device copies, and the workspace in device memory (the GPU layers unroll
 * their inputs there). */
static void finish_network(network *net, size_t workspace_size)
{
    layer out = get_network_output_layer(net);
    net->outputs = out.outputs;
    net->truths = out.outputs;
    if (net->layers[net->n - 1].truths) net->truths = net->layers[net->n - 1].truths;
    net->output = out.output;
    net->input = calloc((size_t)net->inputs * net->batch, sizeof(float));
    net->truth = calloc((size_t)net->truths * net->batch, sizeof(float));
#ifdef GPU
    if (net->gpu_index >= 0) {
        net->output_gpu = out.output_gpu;
        net->input_gpu = cuda_make_array(net->input, (size_t)net->inputs * net->batch);
        net->truth_gpu = cuda_make_array(net->truth, (size_t)net->truths * net->batch);
        if (workspace_size)
            net->workspace = cuda_make_array(0, (workspace_size - 1) / sizeof(float) + 1);
        return;
    }
#endif
    if (workspace_size) net->workspace = calloc(1, workspace_size);
}

static void (*parse_hook)(network *net);

void mcd_network_set_parse_hook(void (*hook)(network *net))
{
    parse_hook = hook;
}

void mcd_network_run_parse_hook(network *net)
{
    if (parse_hook) parse_hook(net);
}

static network *build_network(parse_state *ps)
{
    network *net = make_network(ps->nsteps);
    net->gpu_index = gpu_index;
    parse_net_options(ps->sec[0]->options, net);

    size_params params;
    params.h = net->h;
    params.w = net->w;
    params.c = net->c;
    params.inputs = net->inputs;
    params.batch = net->batch;
    params.time_steps = net->time_steps;
    params.net = net;

    size_t workspace_size = 0;
    int split_at = -1, softmax1 = -1;
    fprintf(stderr, "layer     filters    size              input                output\n");
    for (int count = 0; count < ps->nsteps; ++count) {
        build_step *st = &ps->steps[count];
        params.index = count;
        layer l = {0};
        if (st->kind == SEC_STOCK) {
            if (check_layer_input(ps->file, st->s, params, count)) {
                free_network(net);
                return NULL;
            }
            fprintf(stderr, "%5d ", count);
            l = parse_stock(st->s, params, net, count);
            net->layers[count] = l;
            if (check_layer_output(ps->file, st->s, &l, params)) {
                free_network(net);
                return NULL;
            }
        } else {
            fprintf(stderr, "%5d ", count);
            if (parse_plugin(ps, st, params, net, count, &split_at, &softmax1, &l)) {
                net->layers[count] = l; /* a layer refused after it was made is freed too */
                free_network(net);
                return NULL;
            }
        }
        net->layers[count] = l;
        if (l.workspace_size > workspace_size) workspace_size = l.workspace_size;
        params.h = l.out_h;
        params.w = l.out_w;
        params.c = l.out_c;
        params.inputs = l.outputs;
    }
    finish_network(net, workspace_size);
    /* after the build, so that a head built twice warns once */
    for (int i = 0; i < ps->nsec; ++i)
        if (i == 0 || ps->kind[i] == SEC_STOCK) warn_unused_keys(ps->file, ps->sec[i]);
    mcd_network_run_parse_hook(net);
    return net;
}

network *mcd_parse_network_cfg(const char *filename)
{
    list *sections = cfg_read(filename);
    if (!sections) return NULL;
    parse_state ps = {.file = filename, .split = -1, .head = -1, .disc = -1, .l1 = -1};
    ps.nsec = sections->size;
    ps.sec = (cfg_section **)list_to_array(sections);
    ps.kind = calloc(ps.nsec ? ps.nsec : 1, sizeof *ps.kind);
    network *net = NULL;

    if (ps.nsec < 2) {
        mcd_set_error("%s: no layers: a cfg is a [net] section followed by layer sections",
                      filename);
    } else if (!is_net_section(ps.sec[0]->type)) {
        mcd_set_error("%s:%d: the first section must be [net] or [network], not %s", filename,
                      ps.sec[0]->line, ps.sec[0]->type);
    } else if (!classify_sections(&ps) && !check_structure(&ps) && !check_values(&ps) &&
               !check_net_options(&ps)) {
        plan_steps(&ps);
        net = build_network(&ps);
    }
    free(ps.steps);
    free(ps.kind);
    free(ps.sec);
    cfg_free(sections);
    return net;
}

int mcd_find_layout(const network *net, mcd_layout *m)
{
    m->split = m->head2 = m->discrepancy = m->l1 = -1;
    for (int i = 0; i < net->n; ++i) {
        LAYER_TYPE t = net->layers[i].type;
        if (t == MCD_SPLIT) m->split = i;
        if (t == MCD_HEAD) m->head2 = i;
        if (t == MCD_DISCREPANCY) m->discrepancy = i;
        if (t == MCD_L1) m->l1 = i;
    }
    if (m->split < 0 || m->head2 < 0 || m->discrepancy < 0 || m->l1 < 0) {
        mcd_set_error("not an MCD network: it needs [mcd_split], two heads, "
                      "[mcd_discrepancy] and [mcd_l1]");
        return -1;
    }
    const layer *d = &net->layers[m->discrepancy];
    m->softmax1 = d->input_layers[0];
    m->softmax2 = d->input_layers[1];
    m->classes = d->classes;
    return 0;
}

void mcd_block_head2(network *net, const mcd_layout *m, int blocked)
{
    mcd_head_set_blocked(&net->layers[m->head2], blocked);
}

const float *mcd_head_probs(const network *net, const mcd_layout *m, int head, int b)
{
    const layer *s = &net->layers[head == 1 ? m->softmax1 : m->softmax2];
    return s->output + (size_t)b * s->outputs;
}
