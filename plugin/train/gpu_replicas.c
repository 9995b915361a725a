/* The copies of a network on several GPUs (gpu_replicas.h). */
#include "train/gpu_replicas.h"

#include <pthread.h>
#include <string.h>

#include "backend/gpu_device.h"
#include "network/network_gpu.h"
#include "network/weights_file.h"
#include "util/mcd_error.h"

/* The layers take `share` images a pass; net->batch stays the whole batch, which Darknet's
 * update (lr / batch) and schedule (seen / batch) read: the network updates as one of the
 * whole batch. */
static void take_share(network *net, int batch, int share)
{
    set_batch_network(net, share);
    net->batch = batch;
}

/* dst's trained arrays (host copies) = src's. */
static void copy_trained(network *dst, const network *src)
{
    for (int i = 0; i < src->n; ++i) {
        float *from[MCD_MAX_TRAINED_ARRAYS], *to[MCD_MAX_TRAINED_ARRAYS];
        long sizes[MCD_MAX_TRAINED_ARRAYS];
        int count = mcd_trained_arrays(&src->layers[i], 0, from, sizes);
        mcd_trained_arrays(&dst->layers[i], 0, to, sizes);
        for (int k = 0; k < count; ++k) memcpy(to[k], from[k], sizes[k] * sizeof(float));
        if (src->layers[i].type == BATCHNORM) /* trained, but not in weights files */
            memcpy(dst->layers[i].biases, src->layers[i].biases, src->layers[i].c * sizeof(float));
    }
}

int mcd_replicas_start(mcd_replicas *r, network *net, const char *cfg, const int *devices,
                       int n)
{
    memset(r, 0, sizeof *r);
    r->n = 1;
    r->net[0] = net;
    r->device[0] = n > 0 ? devices[0] : -1;
    r->batch = r->share = net->batch;
    if (n <= 1) return 0;
    if (net->batch % n) {
        mcd_set_error("-gpus: %d devices cannot share a batch of %d images evenly (batch=%d, "
                      "subdivisions=%d in the cfg)", n, net->batch,
                      net->batch * net->subdivisions, net->subdivisions);
        return -1;
    }
    r->share = net->batch / n;
    for (int g = 1; g < n; ++g) {
        if (mcd_gpu_select(devices[g])) return -1;
        network *copy = mcd_parse_network_cfg(cfg);
        if (!copy) return -1;
        r->net[r->n] = copy;
        r->device[r->n++] = devices[g];
        copy_trained(copy, net);
        mcd_network_push_weights(copy);
    }
    mcd_gpu_select(devices[0]);
    for (int g = 0; g < r->n; ++g) take_share(r->net[g], r->batch, r->share);
    return 0;
}

void mcd_replicas_stop(mcd_replicas *r)
{
    for (int g = 1; g < r->n; ++g) {
        mcd_gpu_select(r->device[g]);
        free_network(r->net[g]);
    }
    if (r->n > 1) mcd_gpu_select(r->device[0]);
    r->n = 1;
}

typedef struct replica_thread {
    mcd_replicas *r;
    int i;
    mcd_replica_job job;
    void *arg;
} replica_thread;

static void *run_replica(void *p)
{
    replica_thread *t = p;
    if (t->r->device[t->i] >= 0) mcd_gpu_select(t->r->device[t->i]);
    t->job(t->r->net[t->i], t->i, t->arg);
    return NULL;
}

static int devices_differ(const mcd_replicas *r)
{
    for (int a = 0; a < r->n; ++a)
        for (int b = a + 1; b < r->n; ++b)
            if (r->device[a] == r->device[b]) return 0;
    return 1;
}

void mcd_replicas_run(mcd_replicas *r, mcd_replica_job job, void *arg)
{
    replica_thread t[MCD_MAX_GPUS];
    pthread_t thread[MCD_MAX_GPUS];
    int started[MCD_MAX_GPUS] = {0};
    int parallel = r->n > 1 && devices_differ(r);
    for (int i = 0; i < r->n; ++i) {
        t[i] = (replica_thread){r, i, job, arg};
        if (parallel && pthread_create(&thread[i], NULL, run_replica, &t[i]) == 0)
            started[i] = 1;
        else
            run_replica(&t[i]);
    }
    for (int i = 0; i < r->n; ++i)
        if (started[i]) pthread_join(thread[i], NULL);
    if (r->device[0] >= 0) mcd_gpu_select(r->device[0]);
}

/* Zero net's update buffers on the host, and on its device. */
static void zero_updates(network *net, int device)
{
    for (int i = 0; i < net->n; ++i) {
        float *u[MCD_MAX_UPDATE_ARRAYS];
        long un[MCD_MAX_UPDATE_ARRAYS];
        int nu = mcd_update_arrays(&net->layers[i], u, un);
        for (int k = 0; k < nu; ++k) memset(u[k], 0, un[k] * sizeof(float));
    }
    if (device >= 0) mcd_gpu_select(device);
    mcd_network_push_updates(net);
}

/* into[k] += from[k] over n floats */
static void add_into(float *into, const float *from, long n)
{
    for (long k = 0; k < n; ++k) into[k] += from[k];
}

/* net[0]'s update buffers += every copy's; its rolling statistics = the copies' mean. */
static void gather(mcd_replicas *r)
{
    network *base = r->net[0];
    for (int i = 0; i < base->n; ++i) {
        layer *l0 = &base->layers[i];
        float *u0[MCD_MAX_UPDATE_ARRAYS], *u[MCD_MAX_UPDATE_ARRAYS];
        long un[MCD_MAX_UPDATE_ARRAYS];
        int nu = mcd_update_arrays(l0, u0, un);
        int stats = l0->rolling_mean && (l0->batch_normalize || l0->type == BATCHNORM);
        long ns = l0->type == CONNECTED ? l0->outputs : l0->type == BATCHNORM ? l0->c : l0->n;
        for (int g = 1; g < r->n; ++g) {
            layer *l = &r->net[g]->layers[i];
            mcd_update_arrays(l, u, un);
            for (int k = 0; k < nu; ++k) add_into(u0[k], u[k], un[k]);
            if (stats) {
                add_into(l0->rolling_mean, l->rolling_mean, ns);
                add_into(l0->rolling_variance, l->rolling_variance, ns);
            }
        }
        for (long k = 0; stats && k < ns; ++k) {
            l0->rolling_mean[k] /= r->n;
            l0->rolling_variance[k] /= r->n;
        }
    }
}

void mcd_replicas_update(mcd_replicas *r)
{
    network *base = r->net[0];
    if (r->n == 1) {
        update_network(base);
        return;
    }
    for (int g = 0; g < r->n; ++g) {
        mcd_gpu_select(r->device[g]);
        mcd_network_pull_updates(r->net[g]);
        mcd_network_pull_weights(r->net[g]);
    }
    gather(r);
    mcd_gpu_select(r->device[0]);
    mcd_network_push_updates(base);
    mcd_network_push_weights(base);
    update_network(base);
    mcd_network_pull_weights(base);
    for (int g = 1; g < r->n; ++g) {
        mcd_gpu_select(r->device[g]);
        copy_trained(r->net[g], base);
        mcd_network_push_weights(r->net[g]);
    }
    /* the others' buffers start from zero: the momentum is network 0's */
    for (int g = 1; g < r->n; ++g) zero_updates(r->net[g], r->device[g]);
    mcd_gpu_select(r->device[0]);
}

void mcd_replicas_zero_updates(mcd_replicas *r)
{
    for (int g = 0; g < r->n; ++g) zero_updates(r->net[g], r->device[g]);
    if (r->device[0] >= 0) mcd_gpu_select(r->device[0]);
}

void mcd_replicas_block_head2(mcd_replicas *r, const mcd_layout *m, int blocked)
{
    for (int g = 0; g < r->n; ++g) mcd_block_head2(r->net[g], m, blocked);
}

void mcd_replicas_whole_batch(mcd_replicas *r, int whole)
{
    if (r->n == 1) return;
    if (whole) set_batch_network(r->net[0], r->batch);
    else take_share(r->net[0], r->batch, r->share);
}
