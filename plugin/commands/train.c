/* `darknet mcd train CFG [WEIGHTS]`: the command. Its options go to the trainer
 * (train/trainer.h: pre-training, then MCD fine-tuning), whose result becomes the exit
 * status: 0 when the schedule is done, 1 on an error (printed), and 130/143 when SIGINT or
 * SIGTERM stopped it after saving a checkpoint, as a shell reports a process that a signal
 * ended. */
#include <signal.h>
#include <stddef.h>

#include "commands/command_line.h"
#include "commands/verbs.h"
#include "io/data_lists.h"
#include "train/trainer.h"
#include "util/stop_signal.h"

static const mcd_positional positionals[] = {
    {"CFG", offsetof(mcd_train_options, cfg), 1},
    {"WEIGHTS", offsetof(mcd_train_options, weights), 0},
};

static const mcd_option options[] = {
    {.name = "-data", .kind = MCD_OPT_STRING, .offset = offsetof(mcd_train_options, data),
     .value = "FILE", .help = "data set (default: the cfg's data= key, else " MCD_DEFAULT_DATA ")"},
    {.name = "-trunk", .kind = MCD_OPT_STRING, .offset = offsetof(mcd_train_options, trunk),
     .value = "FILE", .help = "start the feature extractor from a Darknet classifier's weights"},
    {.name = "-trunk_layers", .kind = MCD_OPT_INT, .offset = offsetof(mcd_train_options, trunk_layers),
     .value = "N", .min = 0, .max = 1e6, .help = "layers to load from -trunk (default: up to [mcd_split])"},
    {.name = "-backup", .kind = MCD_OPT_STRING, .offset = offsetof(mcd_train_options, backup),
     .value = "DIR", .help = "where checkpoints and logs go (default: the data file's backup=)"},
    {.name = "-seed", .kind = MCD_OPT_INT, .offset = offsetof(mcd_train_options, seed),
     .value = "N", .min = 0, .max = 2147483647, .help = "random seed (default: from the clock)"},
    {.name = "-pretrain_batches", .kind = MCD_OPT_INT,
     .offset = offsetof(mcd_train_options, pretrain_batches), .value = "N", .min = 0,
     .max = 2147483647, .help = "override the cfg's max_batches (pre-training length)"},
    {.name = "-finetune_batches", .kind = MCD_OPT_INT,
     .offset = offsetof(mcd_train_options, finetune_batches), .value = "N", .min = 0,
     .max = 2147483647, .help = "override the cfg's finetune_batches"},
    {.name = "-retries", .kind = MCD_OPT_INT, .offset = offsetof(mcd_train_options, retries),
     .value = "N", .min = 0, .max = 100,
     .help = "when the health check at the end says failed, keep the run's\n"
             "files as BASE-failed-seedS* and train again from the start with\n"
             "seed + 1, at most N times (default 0; needs no WEIGHTS, or -clear)"},
    {.name = "-clear", .kind = MCD_OPT_FLAG, .offset = offsetof(mcd_train_options, clear),
     .help = "start the schedule from batch 0 even if WEIGHTS have seen images"},
    MCD_MAX_PIXELS_OPTION(mcd_train_options, max_pixels),
    {.name = "-gpus", .kind = MCD_OPT_STRING, .offset = offsetof(mcd_train_options, gpus),
     .value = "LIST", .help = "train on CUDA devices, e.g. 0 or 0,1 (a GPU build: make GPU=1;\n"
                              "default: the CPU); several GPUs each take an equal share of\n"
                              "every batch, their weights made one at every update (docs/gpu.md)"},
};

static int run(int argc, char **argv);

const mcd_command mcd_train_command = {
    .name = "train",
    .summary = "pre-train both heads on labeled ID images, then fine-tune with MCD on unlabeled\n"
               "images; resumes from WEIGHTS",
    .description =
        "Pre-trains both heads on labeled in-distribution images, then fine-tunes with\n"
        "MCD (step A: labeled batch, head 2 kept off the trunk; step B: labeled batch +\n"
        "unlabeled batch with the discrepancy loss). Given WEIGHTS, resumes where they\n"
        "stopped (phase and batch). The schedule is in CFG's [net] section\n"
        "(docs/cfg-keys.md).",
    .positionals = positionals, .n_positionals = MCD_COUNT(positionals),
    .options = options, .n_options = MCD_COUNT(options),
    .notes = "writes, in the backup directory (BASE = CFG's name without .cfg):\n"
             "  BASE.weights           latest checkpoint (resume from it)\n"
             "  BASE_pretrain.weights  at the end of pre-training\n"
             "  BASE_best.weights      best fine-tuning checkpoint, chosen without OOD labels;\n"
             "                         with finetune_average=1, the mean of the checkpoints\n"
             "  BASE_average.weights   that mean so far (finetune_average=1; resumes with BASE.weights)\n"
             "  BASE_final.weights     at the end of fine-tuning\n"
             "  BASE_train.csv, BASE_select.csv   progress and checkpoint-choice logs\n"
             "  BASE.health            the label-free health check: healthy, no-ood (the pool\n"
             "                         showed no OOD), little-ood (too little to judge),\n"
             "                         failed or unchecked (docs/commands.md);\n"
             "                         mcd valid prints it\n"
             "  BASE.lock              held while the run lasts: a second run into the same\n"
             "                         directory with the same BASE is refused (exit status 1)\n"
             "SIGINT/SIGTERM save BASE.weights and stop (exit status 130/143).\n",
    .run = run,
};

static int run(int argc, char **argv)
{
    mcd_train_options o = {.trunk_layers = -1, .seed = -1, .pretrain_batches = -1,
                           .finetune_batches = -1};
    int status;
    if (mcd_command_start(&mcd_train_command, argc, argv, &o, &status)) return status;
    int rc = mcd_trainer_run(&o);
    if (rc < 0) return mcd_command_failed();
    if (rc > 0) return mcd_stop_signal() == SIGTERM ? 143 : 130;
    return 0;
}
