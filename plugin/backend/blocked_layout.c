/* Which layer outputs stay blocked at inference (blocked_layout.h). Decided from the
 * network as it is at each call, not stored: Darknet may resize layers, cut net->n, or a
 * convolution may go back to Darknet's code, and a stored decision could go stale. The
 * scan is over the layers that can read another layer's output; it costs nothing beside
 * the convolutions. */

#include "backend/blocked_layout.h"
#include "layers/discrepancy_layer.h"
#include "layers/split_layer.h"

static int produces_blocked(const layer *l)
{
    return (conv_onednn_installed(l) || shortcut_fused_installed(l)) && l->out_c % BLOCK == 0;
}

static int reads_blocked(const layer *l)
{
    return ((conv_onednn_installed(l) || avgpool_blocked_installed(l)) && l->c % BLOCK == 0) ||
           shortcut_fused_installed(l);
}

/* Whether layer j reads layer i's output other than as its input (j == i + 1). */
static int refers_to(const layer *j, int i)
{
    if (j->type == SHORTCUT || j->type == MCD_HEAD) return j->index == i;
    int count = j->type == ROUTE ? j->n : j->type == MCD_DISCREPANCY ? 2 : 0;
    for (int k = 0; k < count; ++k)
        if (j->input_layers[k] == i) return 1;
    return 0;
}

int output_read_after(const network *net, int i, int after)
{
    for (int j = after + 1; j < net->n; ++j)
        if (j == i + 1 || refers_to(&net->layers[j], i)) return 1;
    return 0;
}

int blocked_output(const network *net, int i)
{
    if (net->train || i < 0 || i >= net->n - 1 || !produces_blocked(&net->layers[i])) return 0;
    /* the layer whose output the caller reads (network_predict's net->output) */
    if (net->layers[i].output == net->output) return 0;
    for (int j = i + 1; j < net->n; ++j) {
        const layer *r = &net->layers[j];
        if ((j == i + 1 || refers_to(r, i)) && !reads_blocked(r)) return 0;
    }
    return 1;
}

int blocked_input(const network *net)
{
    int i = net->index - 1;
    return i >= 0 && net->input == net->layers[i].output && blocked_output(net, i);
}

void blocked_from_plain(const float *plain, float *blocked, int batch, int c, int h, int w)
{
    const size_t plane = (size_t)h * w;
    for (int b = 0; b < batch; ++b)
        for (int k = 0; k < c; ++k) {
            const float *from = plain + ((size_t)b * c + k) * plane;
            float *to = blocked + ((size_t)b * c + k / BLOCK * BLOCK) * plane + k % BLOCK;
            for (size_t p = 0; p < plane; ++p) to[p * BLOCK] = from[p];
        }
}

void blocked_to_plain(const float *blocked, float *plain, int batch, int c, int h, int w)
{
    const size_t plane = (size_t)h * w;
    for (int b = 0; b < batch; ++b)
        for (int k = 0; k < c; ++k) {
            const float *from = blocked + ((size_t)b * c + k / BLOCK * BLOCK) * plane + k % BLOCK;
            float *to = plain + ((size_t)b * c + k) * plane;
            for (size_t p = 0; p < plane; ++p) to[p] = from[p * BLOCK];
        }
}
