/* Data set files, read with checks: Darknet's readers exit with status 0 on a missing file
 * (file_error) and its label matching only prints a warning for a path with no label. */
#ifndef MCD_DATA_LISTS_H
#define MCD_DATA_LISTS_H

#include "darknet.h"

/* line without the blanks around it (cut at its end, returned from its first non-blank):
 * how a list file's entries and paths on standard input are read. */
char *mcd_trim(char *line);

/* A list file: one entry per line, blanks around it dropped, blank lines skipped. With check_files, every entry
 * must be a readable file. NULL (error naming the list, line and entry) on failure. */
char **mcd_read_list(const char *file, int *n, int check_files);
void mcd_free_list(char **items, int n);

/* Index of the one label name that occurs in path (Darknet's fill_truth rule: substring),
 * -1 when none does, -2 when several do. */
int mcd_label_of(const char *path, char **labels, int k);
/* 0 if every path has exactly one label, else -1 with an error naming list:line. */
int mcd_check_labels(char **paths, int n, char **labels, int k, const char *list_name);

/* A Darknet .data file (key=value lines, # comments). NULL with an error naming the file
 * (and line) if it cannot be read or a line is not key=value. */
list *mcd_read_data_file(const char *file);
void mcd_free_data_file(list *options);
/* A key's value; NULL with an error naming the .data file and key when it is absent. */
const char *mcd_data_value(list *options, const char *file, const char *key);

/* The data set of a cfg: `darknet mcd` verbs read the .data file named by -data FILE when
 * given (option non-NULL), else by the data= key of the cfg's [net] section, else
 * MCD_DEFAULT_DATA. The path is written to buf; *source (when non-NULL) says which of the
 * three it came from ("-data", "data= in CFG", "default"). 0, or -1 with an error when
 * the cfg cannot be read. */
#define MCD_DEFAULT_DATA "cfg/fmnist.data"
int mcd_resolve_data_file(const char *cfg, const char *option, char *buf, size_t n,
                          const char **source);

/* The class names of a .data file: its names= (or else labels=) list, one per line,
 * blank lines skipped, exactly `classes` of them. *names (free with mcd_free_list) and 0,
 * or -1 with an error naming the files. */
int mcd_read_class_names(const char *data, int classes, char ***names);

#endif
