/* CSV output shared by the commands that write per-image logs (valid, detect). */
#ifndef MCD_CSV_FIELD_H
#define MCD_CSV_FIELD_H

#include <stdio.h>

/* One RFC 4180 field: quoted (with doubled quotes) only when it holds , " CR or LF. */
void mcd_csv_field(FILE *f, const char *s);

#endif
