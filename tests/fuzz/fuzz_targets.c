#include "fuzz_targets.h"

#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

#include "darknet.h"
#include "io/data_lists.h"
#include "io/image_header.h"
#include "io/image_io.h"
#include "network/mcd_network.h"
#include "ood/threshold_file.h"
#include "network/weights_file.h"

void fuzz_cfg_input(const char *path)
{
    network *net = mcd_parse_network_cfg(path);
    if (net) free_network(net);
}

/* trunk: conv with batch norm; heads: connected + softmax (the network of the seeds in
 * tests/fuzz/seeds/weights/) */
static network *weights_network(void)
{
    static network *net;
    if (net) return net;
    char cfg[64];
    snprintf(cfg, sizeof cfg, "/tmp/mcd-fuzz-%d.cfg", (int)getpid());
    FILE *f = fopen(cfg, "w");
    if (!f) abort();
    fputs("[net]\nbatch=1\nheight=4\nwidth=4\nchannels=1\n"
          "[convolutional]\nbatch_normalize=1\nfilters=2\nsize=3\npad=1\nactivation=leaky\n"
          "[avgpool]\n[mcd_split]\n[connected]\noutput=2\nactivation=linear\n[softmax]\n"
          "[mcd_discrepancy]\n[mcd_l1]\n", f);
    fclose(f);
    net = mcd_parse_network_cfg(cfg);
    unlink(cfg);
    if (!net) abort();
    return net;
}

void fuzz_weights_input(const char *path)
{
    network *net = weights_network();
    mcd_load_weights(net, path, net->n, 1);
    mcd_load_weights(net, path, 2, 0); /* the trunk, as -trunk loads it */
}

void fuzz_data_input(const char *path)
{
    static char *labels[] = {"top", "coat", "bag"};
    int n;
    char **items = mcd_read_list(path, &n, 0);
    if (items) {
        mcd_check_labels(items, n, labels, 3, path);
        mcd_free_list(items, n);
    }
    list *opts = mcd_read_data_file(path);
    if (opts) {
        mcd_data_value(opts, path, "train");
        mcd_data_value(opts, path, "classes");
        mcd_free_data_file(opts);
    }
    mcd_threshold t;
    mcd_threshold_load(path, &t);
    /* an image's header, as every reader checks it before decoding (never decoded here) */
    mcd_image_header h;
    mcd_read_image_header(path, &h);
    mcd_check_image_size(path, MCD_DEFAULT_MAX_PIXELS);
}

const char *fuzz_input_file(const uint8_t *data, size_t size)
{
    static char path[64];
    if (!path[0]) snprintf(path, sizeof path, "/tmp/mcd-fuzz-%d.input", (int)getpid());
    FILE *f = fopen(path, "wb");
    if (!f) abort();
    if (size && fwrite(data, 1, size, f) != size) abort();
    fclose(f);
    return path;
}

void fuzz_silence_stderr(void)
{
    FILE *null = fopen("/dev/null", "w");
    if (null) stderr = null;
}
