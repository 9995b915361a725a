/* `darknet mcd train CFG [WEIGHTS]`: the command. Its options go to the trainer
 * (train/trainer.h: pre-training, then MCD fine-tuning), whose result becomes the exit
 * status: 0 when the schedule is done, 1 on an error (printed), and 130/143 when SIGINT or
 * SIGTERM stopped it after saving a checkpoint, as a shell reports a process that a signal
 * ended. */
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "commands/verbs.h"
#include "train/trainer.h"
#include "util/mcd_error.h"
#include "util/stop_signal.h"

static void usage(FILE *f)
{
    fprintf(f,
        "usage: darknet mcd train CFG [WEIGHTS] [options]\n"
        "  Pre-trains both heads on labeled in-distribution images, then fine-tunes with\n"
        "  MCD (step A: labeled batch, head 2 kept off the trunk; step B: labeled batch +\n"
        "  unlabeled batch with the discrepancy loss). Given WEIGHTS, resumes where they\n"
        "  stopped (phase and batch). The schedule is in CFG's [net] section (see README).\n"
        "options:\n"
        "  -data FILE          data set (default: CFG's data= key, else cfg/fmnist.data)\n"
        "  -trunk FILE         start the feature extractor from a Darknet classifier's weights\n"
        "  -trunk_layers N     layers to load from -trunk (default: up to [mcd_split])\n"
        "  -backup DIR         where checkpoints and logs go (default: the data file's backup=)\n"
        "  -seed N             random seed (default: from the clock)\n"
        "  -pretrain_batches N override the cfg's max_batches (pre-training length)\n"
        "  -finetune_batches N override the cfg's finetune_batches\n"
        "  -clear              start the schedule from batch 0 even if WEIGHTS have seen images\n"
        "writes, in the backup directory (BASE = CFG's name without .cfg):\n"
        "  BASE.weights           latest checkpoint (resume from it)\n"
        "  BASE_pretrain.weights  at the end of pre-training\n"
        "  BASE_best.weights      best fine-tuning checkpoint, chosen without OOD labels;\n"
        "                         with finetune_average=1, the mean of the checkpoints\n"
        "  BASE_average.weights   that mean so far (finetune_average=1; resumes with BASE.weights)\n"
        "  BASE_final.weights     at the end of fine-tuning\n"
        "  BASE_train.csv, BASE_select.csv   progress and checkpoint-choice logs\n"
        "SIGINT/SIGTERM save BASE.weights and stop (exit status 130/143).\n");
}

static int parse_options(int argc, char **argv, mcd_train_options *o)
{
    memset(o, 0, sizeof *o);
    o->trunk_layers = -1;
    o->seed = -1;
    o->pretrain_batches = o->finetune_batches = -1;
    int pos = 0;
    for (int i = 1; i < argc; ++i) {
        const char *a = argv[i];
        int has_value = i + 1 < argc;
        if (strcmp(a, "-data") == 0 && has_value) o->data = argv[++i];
        else if (strcmp(a, "-trunk") == 0 && has_value) o->trunk = argv[++i];
        else if (strcmp(a, "-trunk_layers") == 0 && has_value) o->trunk_layers = atoi(argv[++i]);
        else if (strcmp(a, "-backup") == 0 && has_value) o->backup = argv[++i];
        else if (strcmp(a, "-seed") == 0 && has_value) o->seed = atoi(argv[++i]);
        else if (strcmp(a, "-pretrain_batches") == 0 && has_value)
            o->pretrain_batches = atoi(argv[++i]);
        else if (strcmp(a, "-finetune_batches") == 0 && has_value)
            o->finetune_batches = atoi(argv[++i]);
        else if (strcmp(a, "-clear") == 0) o->clear = 1;
        else if (a[0] == '-') {
            mcd_set_error("mcd train: unknown option or missing value: %s", a);
            return -1;
        } else if (pos == 0) o->cfg = argv[i], ++pos;
        else if (pos == 1) o->weights = argv[i], ++pos;
        else {
            mcd_set_error("mcd train: unexpected argument '%s'", a);
            return -1;
        }
    }
    if (!o->cfg) {
        mcd_set_error("mcd train: no CFG given (see 'darknet mcd train -h')");
        return -1;
    }
    if (o->seed < -1 || o->trunk_layers < -1 || o->pretrain_batches < -1 || o->finetune_batches < -1) {
        mcd_set_error("mcd train: -seed, -trunk_layers and -*_batches take numbers >= 0");
        return -1;
    }
    return 0;
}

int mcd_train(int argc, char **argv)
{
    if (argc >= 2 && (strcmp(argv[1], "-h") == 0 || strcmp(argv[1], "--help") == 0)) {
        usage(stdout);
        return 0;
    }
    mcd_train_options o;
    if (parse_options(argc, argv, &o)) {
        fprintf(stderr, "darknet: error: %s\n\n", mcd_last_error());
        usage(stderr);
        return 1;
    }
    int rc = mcd_trainer_run(&o);
    if (rc < 0) mcd_die();
    if (rc > 0) return mcd_stop_signal() == SIGTERM ? 143 : 130;
    return 0;
}
