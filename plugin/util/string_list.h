/* A growable list of strings the list owns (copies), in the order they were added. */
#ifndef MCD_STRING_LIST_H
#define MCD_STRING_LIST_H

typedef struct mcd_string_list {
    char **v;
    int n, cap;
} mcd_string_list;

/* Append a copy of s: 0, or -1 with the error set when memory runs out. */
int mcd_string_list_push(mcd_string_list *l, const char *s);
/* Whether s is in the list. */
int mcd_string_list_has(const mcd_string_list *l, const char *s);
void mcd_string_list_free(mcd_string_list *l);

#endif
