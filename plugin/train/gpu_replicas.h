/* Training on several GPUs (`mcd train -gpus 0,1,...`), as Darknet's train_networks does
 * it (src/network.c): one copy of the network per device, each taking an equal share of
 * every pass's batch in a thread of its own, and the copies' weights kept together.
 *
 * Where Darknet gives each GPU a whole batch and averages the weights every few batches
 * (with the learning rate multiplied by the number of GPUs), here the cfg's batch is split
 * and the copies are made one again at every update: the update buffers (the gradient sums)
 * of all copies are added into network 0's, network 0 takes Darknet's update with its
 * momentum, and its weights go to the others; the batch-norm rolling statistics are the
 * copies' mean. That is the update of one network on the whole batch, so the schedule,
 * checkpoints and resume are those of one device. Limits: batch normalisation computes
 * its statistics over each device's share, and [mcd_discrepancy]'s hinge is taken per share
 * (L_u of the share's mean entropies); the copies go through host memory (no peer-to-peer
 * or NCCL), three transfers of the weights per device and update (docs/gpu.md).
 *
 * With one device, or on the CPU, there is one network and every function below is the
 * plain single-network step. */
#ifndef MCD_GPU_REPLICAS_H
#define MCD_GPU_REPLICAS_H

#include "darknet.h"
#include "network/mcd_network.h"

#define MCD_MAX_GPUS 16

typedef struct mcd_replicas {
    int n;                        /* networks */
    network *net[MCD_MAX_GPUS];   /* net[0]: the trainer's own (checkpoints, scoring) */
    int device[MCD_MAX_GPUS];     /* -1: the CPU (n = 1) */
    int batch, share;             /* images in a pass, and per network */
} mcd_replicas;

/* net (parsed on devices[0], or on the CPU with n = 1, its weights loaded) and n - 1 more,
 * parsed from cfg on devices[1..n-1] with net's weights. 0, or -1 with the error set (the
 * batch does not split evenly, a parse failed); free with mcd_replicas_stop either way. */
int mcd_replicas_start(mcd_replicas *r, network *net, const char *cfg, const int *devices,
                       int n);
/* Free the networks it made (not net[0]). */
void mcd_replicas_stop(mcd_replicas *r);

/* job(net[i], i, arg) for every network, each in a thread on its device when the devices
 * differ (in turn when one device holds two copies); returns when all are done. */
typedef void (*mcd_replica_job)(network *net, int i, void *arg);
void mcd_replicas_run(mcd_replicas *r, mcd_replica_job job, void *arg);

/* One update of the weights from the gradients the passes since the last one left in the
 * update buffers (update_network), the copies made one again. */
void mcd_replicas_update(mcd_replicas *r);

/* Zero every network's update buffers (host and device): a new optimizer. */
void mcd_replicas_zero_updates(mcd_replicas *r);

/* mcd_block_head2 on every network. */
void mcd_replicas_block_head2(mcd_replicas *r, const mcd_layout *m, int blocked);

/* whole 1: net[0]'s layers take the whole batch (to score checkpoints on net[0] alone);
 * 0: back to its share. Nothing with one network. */
void mcd_replicas_whole_batch(mcd_replicas *r, int whole);

#endif
