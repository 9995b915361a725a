/* Which layer outputs stay blocked at inference (blocked_layout.h). Decided from the
 * network as it is at each call, not stored: Darknet may resize layers, cut net->n, or a
 * convolution may go back to Darknet's code, and a stored decision could go stale. The
 * scan is over the layers that can read another layer's output; it costs nothing beside
 * the convolutions. Which forward functions read and write nChw16c, the kernels tell this
 * file by registering (a layer's forward pointer is what it runs now, so a layer sent back
 * to Darknet's code drops out by itself). */

#include "backend/blocked_layout.h"
#include "layers/discrepancy_layer.h"
#include "layers/split_layer.h"
#include "util/mcd_error.h"

/* Three kernels register today; room to spare. */
enum { MAX_KERNELS = 8 };

static struct blocked_kernel {
    void (*forward)(layer, network);
    int reads, writes;
} kernels[MAX_KERNELS];
static int nkernels;

static struct blocked_kernel *kernel_of(void (*forward)(layer, network))
{
    for (int k = 0; k < nkernels; ++k)
        if (kernels[k].forward == forward) return &kernels[k];
    return NULL;
}

int blocked_layout_register(void (*forward)(layer, network), int reads, int writes)
{
    struct blocked_kernel *k = kernel_of(forward);
    if (!reads && !writes) {
        if (k) *k = kernels[--nkernels];
        return 0;
    }
    if (!k) {
        if (nkernels == MAX_KERNELS) {
            mcd_set_error("blocked layout: no room to register a %dth kernel", MAX_KERNELS + 1);
            return -1;
        }
        k = &kernels[nkernels++];
    }
    *k = (struct blocked_kernel){forward, reads != 0, writes != 0};
    return 0;
}

static int produces_blocked(const layer *l)
{
    const struct blocked_kernel *k = kernel_of(l->forward);
    return k && k->writes && l->out_c % MCD_BLOCK == 0;
}

/* A reader is given a blocked tensor only by a producer whose out_c is a multiple of MCD_BLOCK:
 * its own channel count needs no check. */
static int reads_blocked(const layer *l)
{
    const struct blocked_kernel *k = kernel_of(l->forward);
    return k && k->reads;
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
            float *to = blocked + ((size_t)b * c + k / MCD_BLOCK * MCD_BLOCK) * plane + k % MCD_BLOCK;
            for (size_t p = 0; p < plane; ++p) to[p * MCD_BLOCK] = from[p];
        }
}

void blocked_to_plain(const float *blocked, float *plain, int batch, int c, int h, int w)
{
    const size_t plane = (size_t)h * w;
    for (int b = 0; b < batch; ++b)
        for (int k = 0; k < c; ++k) {
            const float *from = blocked + ((size_t)b * c + k / MCD_BLOCK * MCD_BLOCK) * plane + k % MCD_BLOCK;
            float *to = plain + ((size_t)b * c + k) * plane;
            for (size_t p = 0; p < plane; ++p) to[p] = from[p * MCD_BLOCK];
        }
}
