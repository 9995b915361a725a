/* Darknet's [avgpool] (global average pooling, src/avgpool_layer.c) reading nChw16c at
 * inference, so that the last residual block's output can stay in oneDNN's layout
 * (blocked_layout.h) instead of being written in NCHW for this one reader. Each channel is
 * summed over the plane in Darknet's order, so the result is Darknet's to the bit. Training
 * passes and NCHW inputs run Darknet's code; the backward pass is Darknet's. */
#include "backend/avgpool_blocked.h"
#include "avgpool_layer.h"
#include "backend/blocked_layout.h"
#include "backend/onednn_runtime.h"

static void forward_avgpool_layer_blocked(layer l, network net)
{
    if (onednn_failed()) return; /* the pass has failed: its input may never have been written */
    if (net.train || !blocked_input(&net)) {
        forward_avgpool_layer(l, net);
        return;
    }
    const int plane = l.h * l.w, blocks = l.c / MCD_BLOCK;
#pragma omp parallel for collapse(2) schedule(static)
    for (int b = 0; b < l.batch; ++b)
        for (int kb = 0; kb < blocks; ++kb) {
            const float *in = net.input + ((size_t)b * blocks + kb) * plane * MCD_BLOCK;
            float sum[MCD_BLOCK] = {0};
            for (int p = 0; p < plane; ++p)
                for (int lane = 0; lane < MCD_BLOCK; ++lane) sum[lane] += in[(size_t)p * MCD_BLOCK + lane];
            float *out = l.output + (size_t)b * l.c + kb * MCD_BLOCK;
            for (int lane = 0; lane < MCD_BLOCK; ++lane) out[lane] = sum[lane] / plane;
        }
}

int avgpool_blocked_install(network *net, int i)
{
    net->layers[i].forward = forward_avgpool_layer_blocked;
    blocked_layout_register(forward_avgpool_layer_blocked, 1, 0);
    return 1;
}
