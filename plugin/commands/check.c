/* `darknet mcd check CFG [WEIGHTS] [-data FILE]`: parse a network, show its two-head layout;
 * with WEIGHTS, check they fit; with -data, check the data set against it (class count,
 * the training images' median size against the input size). */
#include <errno.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>

#include "commands/command_line.h"
#include "commands/verbs.h"
#include "io/data_lists.h"
#include "io/image_size.h"
#include "layers/discrepancy_layer.h"
#include "option_list.h"
#include "util/mcd_error.h"
#include "network/mcd_network.h"
#include "network/weights_file.h"

static long count_params(const network *net, int from, int to)
{
    long n = 0;
    for (int i = from; i < to; ++i) {
        const layer *l = &net->layers[i];
        long bn = l->batch_normalize ? 2 : 0; /* scales and biases; rolling stats are not trained */
        if (l->type == CONVOLUTIONAL || l->type == DECONVOLUTIONAL)
            n += l->nweights + l->n + bn * l->n;
        else if (l->type == CONNECTED)
            n += (long)l->outputs * l->inputs + l->outputs + bn * l->outputs;
        else if (l->type == BATCHNORM)
            n += 2L * l->c;
    }
    return n;
}

typedef struct check_options {
    const char *cfg, *weights, *data;
} check_options;

static const mcd_positional positionals[] = {
    {"CFG", offsetof(check_options, cfg), 1},
    {"WEIGHTS", offsetof(check_options, weights), 0},
};

static const mcd_option options[] = {
    {.name = "-data", .kind = MCD_OPT_STRING, .offset = offsetof(check_options, data),
     .value = "FILE", .help = "check the data set against CFG: its class count, and the median size\n"
                              "of (up to 200 of) its training images against CFG's input size"},
};

/* -data: how many training images are measured, and how far their median width or height
 * may be from the network's input (a factor, either way) before check says so. */
#define SIZE_SAMPLE 200
#define SIZE_FACTOR 2.0

static int run(int argc, char **argv);

const mcd_command mcd_check_command = {
    .name = "check",
    .summary = "parse CFG, print the trunk, the two heads and the MCD settings; with WEIGHTS, load\n"
               "them and check that they fit; with -data, check the data set against CFG",
    .description = "Parses CFG and prints its trunk, heads and MCD settings; with WEIGHTS,\n"
                   "loads them and checks that their size fits the network; with -data,\n"
                   "checks that the data set's class count is the heads' and compares the\n"
                   "training images' median size with the input size.",
    .positionals = positionals, .n_positionals = MCD_COUNT(positionals),
    .options = options, .n_options = MCD_COUNT(options),
    .notes = "exit status 1 on an error: a cfg or weights file that does not load, a data set\n"
             "whose class count differs from the heads'. Training images whose median width\n"
             "or height is more than 2x from the input's (either way) draw a warning only.\n",
    .run = run,
};

static void print_layout(const check_options *o, const network *net, const mcd_layout *m)
{
    const layer *d = &net->layers[m->discrepancy];
    const layer *s = &net->layers[m->split];
    printf("%s: MCD network, input %dx%dx%d, batch %d\n", o->cfg, net->w, net->h, net->c,
           net->batch * net->subdivisions);
    printf("  trunk   layers 0-%d, %ld parameters, features %dx%dx%d\n", m->split - 1,
           count_params(net, 0, m->split), s->out_w, s->out_h, s->out_c);
    printf("  head 1  layers %d-%d, %ld parameters\n", m->split + 1, m->softmax1,
           count_params(net, m->split + 1, m->softmax1 + 1));
    printf("  head 2  layers %d-%d, %ld parameters\n", m->head2 + 1, m->softmax2,
           count_params(net, m->head2 + 1, m->softmax2 + 1));
    printf("  classes %d, loss %s, margin %g, weight %g\n", m->classes,
           mcd_loss_kind_name(mcd_discrepancy_loss_kind(d)), mcd_discrepancy_margin(d),
           mcd_discrepancy_weight(d));
    if (o->weights) printf("  weights %s: loaded, %zu images seen\n", o->weights, *net->seen);
}

/* The data set's class count: classes= and the names in labels= (or names=), each
 * against the heads'. 0, or -1 with one line saying what differs. */
static int check_classes(const check_options *o, list *data, const network *net,
                         const mcd_layout *m)
{
    const char *classes = option_find(data, "classes");
    const char *names_key = "labels", *names = option_find(data, "labels");
    if (!names || !*names) names_key = "names", names = option_find(data, "names");
    long nc = -1;
    int nn = -1;
    if (classes && *classes) {
        char *end;
        errno = 0;
        nc = strtol(classes, &end, 10);
        if (*end || errno || nc < 1) {
            mcd_set_error("%s: classes=%s is not a whole number of classes", o->data, classes);
            return -1;
        }
    }
    if (names && *names) {
        char **v = mcd_read_list(names, &nn, 0);
        if (!v) {
            mcd_set_error("%s (%s= of '%s')", mcd_last_error(), names_key, o->data);
            return -1;
        }
        mcd_free_list(v, nn);
    }
    if (nc < 0 && nn < 0) {
        mcd_set_error("%s: no classes=, labels= or names= line: its class count is unknown",
                      o->data);
        return -1;
    }
    if ((nc < 0 || nc == m->classes) && (nn < 0 || nn == m->classes)) return 0;
    /* what differs: classes=, the names file, or both */
    int bad_nc = nc >= 0 && nc != m->classes, bad_nn = nn >= 0 && nn != m->classes;
    char have[1200], list[1100] = "";
    if (bad_nn) snprintf(list, sizeof list, "%s=%s lists %d names", names_key, names, nn);
    if (bad_nc) snprintf(have, sizeof have, "classes=%ld%s%s", nc, bad_nn ? " and " : "", list);
    else snprintf(have, sizeof have, "%s", list);
    /* where the heads' class count is written: the layer before each [softmax] */
    const layer *last = &net->layers[m->softmax1 - 1];
    const char *key = last->type == CONNECTED       ? "output= of each head's [connected] layer"
                      : last->type == CONVOLUTIONAL ? "filters= of each head's last [convolutional] layer"
                                                    : "each head's last layer";
    mcd_set_error("class count: %s: %s, but the heads of %s have %d classes (%s before its "
                  "[softmax])", o->data, have, o->cfg, m->classes, key);
    return -1;
}

/* The training images' median size against the input: a line on stdout, and a warning
 * line when the width or height is more than SIZE_FACTOR from the network's (a note
 * instead without a train= list). 0, or -1 with an error (an unreadable list or image). */
static int check_image_size(const check_options *o, list *data, const network *net)
{
    const char *train = option_find(data, "train");
    if (!train || !*train) {
        printf("  data    %s: no train= list, image sizes not checked\n", o->data);
        return 0;
    }
    int n, w, h, k;
    char **paths = mcd_read_list(train, &n, 0);
    if (!paths) return -1;
    int rc = mcd_median_image_size(paths, n, SIZE_SAMPLE, train, &w, &h, &k);
    mcd_free_list(paths, n);
    if (rc) return -1;
    printf("  data    %s: training images' median size %dx%d (%d of %d measured)\n", o->data,
           w, h, k, n);
    double rw = (double)w / net->w, rh = (double)h / net->h;
    if (rw > SIZE_FACTOR || rw < 1 / SIZE_FACTOR || rh > SIZE_FACTOR || rh < 1 / SIZE_FACTOR) {
        fflush(stdout);
        fprintf(stderr, "darknet: warning: input size: %s: the training images' median size "
                "%dx%d is far from the input %dx%d of %s (x%.2g wide, x%.2g high; more than x%g "
                "either way): a cfg whose width= and height= are nearer fits them better\n",
                train, w, h, net->w, net->h, o->cfg, rw, rh, SIZE_FACTOR);
    }
    return 0;
}

/* Both checks of -data, each reported on its own (an error line each). 0 if neither failed. */
static int check_data(const check_options *o, const network *net, const mcd_layout *m)
{
    list *data = mcd_read_data_file(o->data);
    if (!data) return mcd_command_failed();
    int failed = 0;
    if (check_classes(o, data, net, m)) failed = mcd_command_failed();
    else printf("  data    %s: %d classes, as the heads\n", o->data, m->classes);
    if (check_image_size(o, data, net)) failed = mcd_command_failed();
    mcd_free_data_file(data);
    return failed;
}

static int run(int argc, char **argv)
{
    check_options o = {0};
    int status;
    if (mcd_command_start(&mcd_check_command, argc, argv, &o, &status)) return status;
    network *net = mcd_parse_network_cfg(o.cfg);
    if (!net) return mcd_command_failed();
    mcd_layout m;
    int rc = 0;
    if (mcd_find_layout(net, &m)) {
        mcd_set_error("%s: %s", o.cfg, mcd_last_error());
        rc = -1;
    } else if (o.weights && mcd_load_weights(net, o.weights, net->n, 1)) {
        rc = -1;
    } else {
        print_layout(&o, net, &m);
    }
    if (rc) {
        free_network(net);
        return mcd_command_failed();
    }
    int data_failed = o.data ? check_data(&o, net, &m) : 0;
    free_network(net);
    return data_failed;
}
