/* The `darknet mcd` verbs: each verb's file (commands/<verb>.c) defines its command (its
 * option table, help and run function, commands/command_line.h); verbs.c lists them. */
#ifndef MCD_VERBS_H
#define MCD_VERBS_H

#include "commands/command_line.h"

extern const mcd_command mcd_train_command;
extern const mcd_command mcd_valid_command;
extern const mcd_command mcd_calibrate_command;
extern const mcd_command mcd_check_command;
extern const mcd_command mcd_detect_command;
extern const mcd_command mcd_import_command;

/* `darknet mcd VERB ...`: argv[0] = "mcd". Returns the process exit status. */
int run_mcd(int argc, char **argv);

#endif
