#include "network/weights_file.h"

#include <errno.h>
#include <fcntl.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "util/mcd_error.h"

int mcd_trained_arrays(const layer *l, int loaded_only, float **arrays, long *sizes)
{
    int bn = l->batch_normalize && !(loaded_only && l->dontloadscales), k = 0;
    long n, w;
    switch (l->type) {
    case CONVOLUTIONAL:
    case DECONVOLUTIONAL:
        if (l->numload || l->binary) return -1;
        n = l->n, w = l->nweights;
        break;
    case CONNECTED:
        n = l->outputs, w = (long)l->outputs * l->inputs;
        break;
    case LOCAL:
        n = l->outputs, w = (long)l->size * l->size * l->c * l->n * l->out_w * l->out_h, bn = 0;
        break;
    case BATCHNORM:
        n = l->c, w = 0, bn = 1;
        break;
    case RNN:
    case LSTM:
    case GRU:
    case CRNN:
        return -1;
    default:
        return 0; /* weight-free: pooling, softmax, route, the plugin's layers, ... */
    }
    if (l->type != BATCHNORM) {
        arrays[k] = l->biases, sizes[k++] = n;
        arrays[k] = l->weights, sizes[k++] = w;
    }
    if (bn) {
        arrays[k] = l->scales, sizes[k++] = n;
        arrays[k] = l->rolling_mean, sizes[k++] = n;
        arrays[k] = l->rolling_variance, sizes[k++] = n;
    }
    return k;
}

/* Floats per layer, as parser.c's load_*_weights read them; -1 if unknown. */
static long layer_floats(const layer *l)
{
    float *arrays[MCD_MAX_TRAINED_ARRAYS];
    long sizes[MCD_MAX_TRAINED_ARRAYS], total = 0;
    int count = mcd_trained_arrays(l, 1, arrays, sizes);
    for (int i = 0; i < count; ++i) total += sizes[i];
    return count < 0 ? -1 : total;
}

static long header_bytes(int major, int minor)
{
    int seen_is_size_t = (major * 10 + minor) >= 2 && major < 1000 && minor < 1000;
    return 3 * sizeof(int) + (seen_is_size_t ? sizeof(size_t) : sizeof(int));
}

long mcd_weights_bytes(const network *net, int cutoff, int major, int minor)
{
    long bytes = header_bytes(major, minor);
    for (int i = 0; i < net->n && i < cutoff; ++i) {
        if (net->layers[i].dontload) continue;
        long f = layer_floats(&net->layers[i]);
        if (f < 0) return -1;
        bytes += f * (long)sizeof(float);
    }
    return bytes;
}

static int all_finite(const float *x, long n)
{
    for (long i = 0; x && i < n; ++i)
        if (!isfinite(x[i])) return 0;
    return 1;
}

/* The trained numbers of layer l, as load_weights_upto fills them: all finite? (A NaN in a
 * weights file would turn every score NaN without a word.) */
static int layer_finite(const layer *l)
{
    float *arrays[MCD_MAX_TRAINED_ARRAYS];
    long sizes[MCD_MAX_TRAINED_ARRAYS];
    int count = mcd_trained_arrays(l, 1, arrays, sizes);
    for (int i = 0; i < count; ++i)
        if (!all_finite(arrays[i], sizes[i])) return 0;
    return 1;
}

int mcd_load_weights(network *net, const char *file, int cutoff, int exact)
{
    FILE *fp = fopen(file, "rb");
    if (!fp) {
        mcd_set_error("cannot open weights file '%s': %s", file, strerror(errno));
        return -1;
    }
    int header[3];
    struct stat st;
    if (fstat(fileno(fp), &st) != 0 || !S_ISREG(st.st_mode)) {
        fclose(fp);
        mcd_set_error("weights file '%s' is not a regular file", file);
        return -1;
    }
    int ok = fread(header, sizeof(int), 3, fp) == 3;
    fclose(fp);
    if (!ok) {
        mcd_set_error("weights file '%s' is too short to hold a Darknet header", file);
        return -1;
    }
    /* Darknet writes version 0.2.0 (0.1.0 before `seen` became a size_t); 1000 and more
     * mean connected weights stored transposed, which the plugin never writes. */
    if (header[0] < 0 || header[1] < 0 || header[2] < 0 || header[0] >= 1000 || header[1] >= 1000) {
        mcd_set_error("weights file '%s' does not start with a Darknet weights header "
                      "(version %d.%d.%d)", file, header[0], header[1], header[2]);
        return -1;
    }
    long want = mcd_weights_bytes(net, cutoff, header[0], header[1]);
    if (want >= 0 && (exact ? st.st_size != want : st.st_size < want)) {
        mcd_set_error("weights file '%s' has %ld bytes but the network needs %s%ld: "
                      "was it written for another cfg, or cut short?", file, (long)st.st_size,
                      exact ? "" : "at least ", want);
        return -1;
    }
#ifdef GPU
    /* Darknet pushes each loaded layer to the device when the global gpu_index says a GPU
     * is in use: follow the network's own device instead (a CPU network has none) */
    int global = gpu_index;
    gpu_index = net->gpu_index;
#endif
    load_weights_upto(net, (char *)file, 0, cutoff);
#ifdef GPU
    gpu_index = global;
#endif
    for (int i = 0; i < net->n && i < cutoff; ++i)
        if (!net->layers[i].dontload && !layer_finite(&net->layers[i])) {
            mcd_set_error("weights file '%s': layer %d holds NaN or Inf values (saved from a "
                          "diverged run?)", file, i);
            return -1;
        }
    return 0;
}

int mcd_save_weights(network *net, const char *file)
{
    size_t n = strlen(file) + 16;
    char *tmp = malloc(n);
    snprintf(tmp, n, "%s.tmp", file);
    FILE *probe = fopen(tmp, "wb"); /* save_weights exits with status 0 if it cannot open */
    if (!probe) {
        mcd_set_error("cannot write weights file '%s': %s", tmp, strerror(errno));
        free(tmp);
        return -1;
    }
    fclose(probe);
#ifdef GPU
    /* the host copy as it is: Darknet's save would pull a GPU network's device copy over
     * it first (network_gpu.h: callers pull when they want that) */
    int global = gpu_index, own = net->gpu_index;
    gpu_index = net->gpu_index = -1;
#endif
    save_weights(net, tmp);
#ifdef GPU
    gpu_index = global;
    net->gpu_index = own;
#endif
    /* save_weights does not check its writes: check the size before replacing the file */
    struct stat st;
    long want = mcd_weights_bytes(net, net->n, 0, 2);
    if (stat(tmp, &st) != 0 || (want >= 0 && st.st_size != want)) {
        mcd_set_error("writing weights file '%s' failed (disk full?)", tmp);
        unlink(tmp);
        free(tmp);
        return -1;
    }
    int fd = open(tmp, O_RDONLY); /* on disk before it replaces the last good file */
    if (fd >= 0) {
        fsync(fd);
        close(fd);
    }
    if (rename(tmp, file) != 0) {
        mcd_set_error("cannot rename '%s' to '%s': %s", tmp, file, strerror(errno));
        unlink(tmp);
        free(tmp);
        return -1;
    }
    free(tmp);
    return 0;
}
