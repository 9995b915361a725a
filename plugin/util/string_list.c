#include "util/string_list.h"

#include <stdlib.h>
#include <string.h>

#include "util/mcd_error.h"

int mcd_string_list_push(mcd_string_list *l, const char *s)
{
    if (l->n == l->cap) {
        int cap = l->cap ? 2 * l->cap : 16;
        char **v = realloc(l->v, cap * sizeof *v);
        if (!v) {
            mcd_set_error("out of memory (a list of %d strings)", cap);
            return -1;
        }
        l->v = v;
        l->cap = cap;
    }
    char *copy = strdup(s);
    if (!copy) {
        mcd_set_error("out of memory");
        return -1;
    }
    l->v[l->n++] = copy;
    return 0;
}

int mcd_string_list_has(const mcd_string_list *l, const char *s)
{
    for (int i = 0; i < l->n; ++i)
        if (strcmp(l->v[i], s) == 0) return 1;
    return 0;
}

void mcd_string_list_free(mcd_string_list *l)
{
    for (int i = 0; i < l->n; ++i) free(l->v[i]);
    free(l->v);
    memset(l, 0, sizeof *l);
}
