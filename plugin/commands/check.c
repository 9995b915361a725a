/* `darknet mcd check CFG [WEIGHTS]`: parse a network, show its two-head layout. */
#include <stddef.h>
#include <stdio.h>

#include "layers/discrepancy_layer.h"
#include "commands/command_line.h"
#include "commands/verbs.h"
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
    const char *cfg, *weights;
} check_options;

static const mcd_positional positionals[] = {
    {"CFG", offsetof(check_options, cfg), 1},
    {"WEIGHTS", offsetof(check_options, weights), 0},
};

static int run(int argc, char **argv);

const mcd_command mcd_check_command = {
    .name = "check",
    .summary = "parse CFG, print the trunk, the two heads and the MCD settings; with WEIGHTS, load\n"
               "them and check that they fit",
    .description = "Parses CFG and prints its trunk, heads and MCD settings; with WEIGHTS,\n"
                   "loads them and checks that their size fits the network.",
    .positionals = positionals, .n_positionals = MCD_COUNT(positionals),
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
    printf("  classes %d, margin %g, weight %g\n", m->classes, mcd_discrepancy_margin(d),
           mcd_discrepancy_weight(d));
    if (o->weights) printf("  weights %s: loaded, %zu images seen\n", o->weights, *net->seen);
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
    free_network(net);
    return rc ? mcd_command_failed() : 0;
}
