/* mcd_predict: Darknet's network_predict + forward_network (src/network.c) minus the delta
 * fill; same order, same inputs to each layer.
 *
 * One fusion Darknet's loop cannot do: a residual block's last convolution and the
 * [shortcut] after it. The shortcut's other input (the block's input, `from`) is read by
 * nothing later, so the convolution adds itself into that buffer in place (oneDNN's sum
 * post-op) with the shortcut's activation, and the shortcut's pass over memory (two
 * tensors read, one written) goes. The shortcut's output then lives in `from`'s buffer:
 * the pass goes on with a copy of the layer array (made at the first fusion) whose output
 * pointers say so, and the network's own layers are left as they were. Those two layers' outputs are then not
 * where network_predict leaves them; nothing but the last layer's is read after a pass. */
#include <stdlib.h>
#include <string.h>

#include "backend/blocked_layout.h"
#include "backend/conv_onednn.h"
#include "backend/cpu_backend.h"
#include "backend/inference.h"
#include "backend/shortcut_fused.h"
#include "network.h"
#include "network/network_gpu.h"

static int fuse_residuals = 1;

void mcd_predict_fuse_residuals(int on)
{
    fuse_residuals = on;
}

int mcd_residual_from(const network *net, int i)
{
    if (!fuse_residuals || net->train || i + 1 >= net->n) return -1;
    const layer *c = &net->layers[i], *s = &net->layers[i + 1];
    int j = s->index;
    if (!conv_onednn_installed(c) || c->activation != LINEAR || s->type != SHORTCUT ||
        !shortcut_fused_installed(s) || j < 0 || j >= i || s->alpha != 1 || s->beta != 1 ||
        s->w != s->out_w || s->h != s->out_h || s->c != s->out_c)
        return -1;
    /* not in place over the convolution's own input (a 1x1 projection of `from`) */
    if (net->layers[i - 1].output == net->layers[j].output) return -1;
    /* all three tensors in nChw16c; the convolution's output read by the shortcut alone,
     * `from`'s by nothing after it */
    if (!blocked_output(net, i) || !blocked_output(net, i + 1) || !blocked_output(net, j) ||
        output_read_after(net, i, i + 1) || output_read_after(net, j, i + 1))
        return -1;
    return j;
}

/* On a GPU: Darknet's forward_network_gpu (network_predict's pass), then to the host what
 * the plugin reads besides the output, each [softmax] layer's input (the logits) and output
 * (the probabilities); the layers' own deltas are zeroed on the device, which costs little
 * there. */
static float *predict_gpu(network *net, float *input)
{
    network run = *net;
    run.input = input;
    run.truth = 0;
    run.train = 0;
    run.delta = 0;
    forward_network(&run);
    for (int i = 1; i < net->n; ++i)
        if (net->layers[i].type == SOFTMAX) {
            mcd_network_pull_output(net, i - 1);
            mcd_network_pull_output(net, i);
        }
    if (mcd_backend_check()) return NULL;
    return net->output;
}

float *mcd_predict(network *net, float *input)
{
    if (mcd_network_on_gpu(net)) return predict_gpu(net, input);
    network run = *net;
    run.input = input;
    run.truth = 0;
    run.train = 0;
    run.delta = 0;
    layer *layers = NULL; /* the copy whose outputs say where fused results live */
    for (int i = 0; i < run.n; ++i) {
        run.index = i;
        layer l = run.layers[i];
        int from = mcd_residual_from(&run, i);
        if (from >= 0 && !layers && (layers = malloc(run.n * sizeof(layer)))) {
            memcpy(layers, net->layers, run.n * sizeof(layer));
            run.layers = layers;
        }
        if (from >= 0 && layers &&
            conv_onednn_forward_residual(&l, &run, layers[from].output,
                                         layers[i + 1].activation)) {
            layers[i + 1].output = layers[from].output;
            run.index = ++i;
            l = run.layers[i];
        } else {
            l.forward(l, run);
        }
        run.input = l.output;
        if (l.truth) run.truth = l.output;
    }
    calc_network_cost(&run);
    free(layers);
    if (mcd_backend_check()) return NULL;
    return net->output;
}
