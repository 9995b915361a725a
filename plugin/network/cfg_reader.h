/* A strict reader for Darknet cfg files.
 *
 * It yields what Darknet's read_cfg yields (sections of key=value options, in Darknet's
 * own list/kvp types, so that the stock parse_* functions can read them), but it also
 * remembers each section's line and rejects what read_cfg lets through or crashes on:
 * options before the first section, lines that are neither a section nor key=value,
 * a section header without its closing bracket. */
#ifndef MCD_CFG_READER_H
#define MCD_CFG_READER_H

#include "darknet.h"

typedef struct cfg_section {
    char *type;      /* "[convolutional]", with the brackets, as Darknet compares it */
    list *options;   /* of kvp*, as option_find expects */
    int line;        /* line of the header in the file */
} cfg_section;

/* NULL on error (message in mcd_last_error()). */
list *cfg_read(const char *filename);

/* fopen(file, "r"), or NULL with an error naming the file and `what` it is ("cfg file",
 * "list file", ...). A directory opens and reads as empty: it is refused here. */
FILE *cfg_open_text(const char *file, const char *what);
void cfg_free(list *sections);
void cfg_free_section(cfg_section *s);

/* Strict typed look-ups for the plugin's own sections. They mark the key used.
 * Return 0 and store the value (or def when absent), or -1 with an error naming
 * file:line, section and key when the value does not parse. */
/* A share or a threshold compared with exact ratios (k/n) needs the double strtod gave. */
int cfg_find_double(const char *file, const cfg_section *s, const char *key, double def,
                    double *out);
int cfg_find_float(const char *file, const cfg_section *s, const char *key, float def, float *out);
int cfg_find_int(const char *file, const cfg_section *s, const char *key, int def, int *out);
/* The raw value (NULL when absent); marks the key used. */
const char *cfg_find_str(const cfg_section *s, const char *key);
/* -1 with an error naming the first key of s that no look-up used. */
int cfg_check_unused(const char *file, const cfg_section *s);

#endif
