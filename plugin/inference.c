/* mcd_predict: Darknet's network_predict + forward_network (src/network.c) minus the delta
 * fill; same order, same inputs to each layer, same cost. */
#include "inference.h"
#include "network.h"

float *mcd_predict(network *net, float *input)
{
    network run = *net;
    run.input = input;
    run.truth = 0;
    run.train = 0;
    run.delta = 0;
    for (int i = 0; i < run.n; ++i) {
        run.index = i;
        layer l = run.layers[i];
        l.forward(l, run);
        run.input = l.output;
        if (l.truth) run.truth = l.output;
    }
    calc_network_cost(&run);
    return net->output;
}
