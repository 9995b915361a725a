/* `darknet mcd check CFG [WEIGHTS]`: parse a network, show its two-head layout. */
#include <stdio.h>
#include <string.h>

#include "layers/discrepancy_layer.h"
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

int mcd_check(int argc, char **argv)
{
    if (argc < 2 || strcmp(argv[1], "-h") == 0) {
        fprintf(argc < 2 ? stderr : stdout,
                "usage: darknet mcd check CFG [WEIGHTS]\n"
                "  Parses CFG and prints its trunk, heads and MCD settings; with WEIGHTS,\n"
                "  loads them and checks that their size fits the network.\n");
        return argc < 2 ? 1 : 0;
    }
    network *net = mcd_parse_network_cfg(argv[1]);
    if (!net) mcd_die();
    mcd_layout m;
    if (mcd_find_layout(net, &m)) {
        fprintf(stderr, "darknet: error: %s: %s\n", argv[1], mcd_last_error());
        free_network(net);
        return 1;
    }
    if (argc > 2 && mcd_load_weights(net, argv[2], net->n, 1)) {
        free_network(net);
        mcd_die();
    }
    const layer *d = &net->layers[m.discrepancy];
    const layer *s = &net->layers[m.split];
    printf("%s: MCD network, input %dx%dx%d, batch %d\n", argv[1], net->w, net->h, net->c,
           net->batch * net->subdivisions);
    printf("  trunk   layers 0-%d, %ld parameters, features %dx%dx%d\n", m.split - 1,
           count_params(net, 0, m.split), s->out_w, s->out_h, s->out_c);
    printf("  head 1  layers %d-%d, %ld parameters\n", m.split + 1, m.softmax1,
           count_params(net, m.split + 1, m.softmax1 + 1));
    printf("  head 2  layers %d-%d, %ld parameters\n", m.head2 + 1, m.softmax2,
           count_params(net, m.head2 + 1, m.softmax2 + 1));
    printf("  classes %d, margin %g, weight %g\n", m.classes, mcd_discrepancy_margin(d),
           mcd_discrepancy_weight(d));
    if (argc > 2) printf("  weights %s: loaded, %zu images seen\n", argv[2], *net->seen);
    free_network(net);
    return 0;
}
