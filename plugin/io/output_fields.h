/* Fields of the per-image logs the commands write (valid's -csv, detect's -log and -json):
 * a CSV field and a JSON string, escaped so that any file name round-trips. */
#ifndef MCD_OUTPUT_FIELDS_H
#define MCD_OUTPUT_FIELDS_H

#include <stdio.h>

/* One RFC 4180 field: quoted (with doubled quotes) only when it holds , " CR or LF. */
void mcd_csv_field(FILE *f, const char *s);

/* s as a JSON string: quotes, backslashes and control characters escaped; bytes that are
 * not valid UTF-8 (a file name can hold any byte) become U+FFFD. */
void mcd_json_string(FILE *f, const char *s);

#endif
