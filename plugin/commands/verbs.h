/* The `darknet mcd` verbs. Each takes argv from its verb on (argv[0] = verb name) and
 * returns the process exit status. */
#ifndef MCD_COMMANDS_H
#define MCD_COMMANDS_H

int run_mcd(int argc, char **argv);

int mcd_check(int argc, char **argv);
int mcd_detect(int argc, char **argv);
int mcd_train(int argc, char **argv);
int mcd_valid(int argc, char **argv);
int mcd_calibrate(int argc, char **argv);

#endif
