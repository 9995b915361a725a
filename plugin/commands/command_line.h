/* The command line of a `darknet mcd` verb: one table per verb (its positionals and its
 * options: name, kind, destination, range, help), one parser that reads argv against it,
 * and the help printed from the same table, so that help and parser cannot drift apart.
 * Options keep Darknet's single-dash style (`-data FILE`); `-h`/`--help` anywhere prints
 * the help. Destinations are offsets into the verb's own options struct, so a table is a
 * constant and a verb can be run more than once in a process.
 *
 * Commands are the only code that prints errors and exits: below plugin/commands/,
 * functions return -1 (or NULL) and leave the message in mcd_last_error(). */
#ifndef MCD_COMMAND_LINE_H
#define MCD_COMMAND_LINE_H

#include <stddef.h>
#include <stdio.h>

#include "io/image_io.h" /* MCD_DEFAULT_MAX_PIXELS, for -max_pixels */

typedef enum mcd_option_kind {
    MCD_OPT_FLAG,   /* no value: sets an int to 1 */
    MCD_OPT_STRING, /* const char * */
    MCD_OPT_INT,    /* int, a whole number in [min, max] */
    MCD_OPT_LONG,   /* long, a whole number in [min, max] */
    MCD_OPT_DOUBLE, /* double, a finite number in [min, max] */
    MCD_OPT_LIST,   /* const char *: appended to an mcd_arg_list (repeatable) */
} mcd_option_kind;

/* Repeatable options and extra positionals, in command-line order (the strings are
 * argv's). Free with mcd_arg_list_free. */
typedef struct mcd_arg_list {
    const char **v;
    int *tag;          /* the option's tag (mcd_option.tag), 0 for a positional */
    int n, cap;
} mcd_arg_list;
void mcd_arg_list_free(mcd_arg_list *l);

typedef struct mcd_option {
    const char *name;      /* "-data" */
    mcd_option_kind kind;
    size_t offset;         /* where the value goes in the verb's options struct */
    const char *value;     /* the value's name in the help: "FILE", "N", "X" */
    double min, max;       /* numbers: the accepted range */
    int min_exclusive;     /* numbers: min itself is refused, (min, max] */
    const char *help;      /* lines after the first are indented under it */
    int tag;               /* MCD_OPT_LIST: recorded beside each value */
} mcd_option;

typedef struct mcd_positional {
    const char *name;      /* "CFG" */
    size_t offset;         /* a const char * in the options struct */
    int required;
} mcd_positional;

typedef struct mcd_command {
    const char *name;          /* the verb: "valid" */
    const char *summary;       /* for `darknet mcd -h`: one or two lines */
    const char *description;   /* for `darknet mcd VERB -h`: a paragraph */
    const mcd_positional *positionals;
    int n_positionals;
    const char *more;          /* positionals beyond the table ("[IMAGE|DIR ...]"), or NULL */
    size_t more_offset;        /* ...appended to an mcd_arg_list there */
    const mcd_option *options;
    int n_options;
    const char *notes;         /* printed after the options (files written, exit status) */
    int (*run)(int argc, char **argv);
} mcd_command;

#define MCD_COUNT(a) ((int)(sizeof(a) / sizeof((a)[0])))

#define MCD_STRINGIFY_(x) #x
#define MCD_STRINGIFY(x) MCD_STRINGIFY_(x)

/* -max_pixels N, one entry for every verb that reads images (train, valid, calibrate,
 * detect, and any new one): `field` is a long in the verb's options struct, 0 meaning the
 * default; after parsing, the verb passes it to mcd_set_image_max_pixels (io/image_io.h),
 * the limit mcd_read_image holds every image to, read from the file's header before
 * anything is decoded. */
#define MCD_MAX_PIXELS_OPTION(type, field)                                                  \
    {.name = "-max_pixels", .kind = MCD_OPT_LONG, .offset = offsetof(type, field),          \
     .value = "N", .min = 1, .max = 1e15,                                                   \
     .help = "refuse an image whose header declares more than N pixels (width x\n"          \
             "height), before decoding it (default " MCD_STRINGIFY(MCD_DEFAULT_MAX_PIXELS)   \
             " = 8192x8192)"}

/* -gpu N, and -i N as Darknet's commands spell it: the CUDA device a verb runs on, into an
 * int field of `type` whose default is -1 (the CPU; backend/gpu_device.h). */
#define MCD_GPU_OPTIONS(type, field)                                                          \
    {.name = "-gpu", .kind = MCD_OPT_INT, .offset = offsetof(type, field), .value = "N",     \
     .min = 0, .max = 63,                                                                    \
     .help = "run on CUDA device N (a GPU build: make GPU=1; default: the CPU)"},           \
    {.name = "-i", .kind = MCD_OPT_INT, .offset = offsetof(type, field), .value = "N",       \
     .min = 0, .max = 63, .help = "the same as -gpu N (Darknet's spelling)"}

/* Read argv (argv[0] = the verb) into opts, whose defaults the caller has set. Returns 0,
 * 1 when -h was asked for (the help is printed to stdout), or -1 with the error set (an
 * unknown option, a missing or bad value, a missing or extra positional). */
int mcd_parse_command_line(const mcd_command *c, int argc, char **argv, void *opts);

/* `usage: darknet mcd VERB ...`, the description, each option with its help, the notes. */
void mcd_print_command_help(const mcd_command *c, FILE *f);
/* The one-line usage: "VERB CFG WEIGHTS [options]". */
void mcd_print_command_usage(const mcd_command *c, FILE *f);

/* What a command does with a failure: print "darknet: error: <mcd_last_error()>" to
 * stderr and return the exit status 1. */
int mcd_command_failed(void);
/* The same for a bad command line, with a pointer to `darknet mcd VERB -h`. */
int mcd_command_line_failed(const mcd_command *c);

/* Parse, then: -h gives exit status 0, a bad line exit status 1 (the caller returns
 * *status); 0 means go on. */
int mcd_command_start(const mcd_command *c, int argc, char **argv, void *opts, int *status);

#endif
