#include "data_lists.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "image_io.h"
#include "mcd_error.h"
#include "option_list.h"

char **mcd_read_list(const char *file, int *n, int check_files)
{
    FILE *f = fopen(file, "r");
    if (!f) {
        mcd_set_error("cannot open list file '%s': %s", file, strerror(errno));
        return NULL;
    }
    int cap = 1024, count = 0;
    char **items = malloc(cap * sizeof *items);
    char *line = NULL;
    size_t len = 0;
    while (getline(&line, &len, f) != -1) {
        line[strcspn(line, "\r\n")] = 0;
        if (line[0] == 0) continue;
        if (count == cap) items = realloc(items, (cap *= 2) * sizeof *items);
        items[count++] = strdup(line);
    }
    free(line);
    fclose(f);
    if (count == 0) {
        mcd_set_error("list file '%s' is empty", file);
        free(items);
        return NULL;
    }
    if (check_files && mcd_check_paths(items, count, file)) {
        mcd_free_list(items, count);
        return NULL;
    }
    *n = count;
    return items;
}

void mcd_free_list(char **items, int n)
{
    if (!items) return;
    for (int i = 0; i < n; ++i) free(items[i]);
    free(items);
}

int mcd_label_of(const char *path, char **labels, int k)
{
    int found = -1;
    for (int i = 0; i < k; ++i)
        if (strstr(path, labels[i])) {
            if (found >= 0) return -2;
            found = i;
        }
    return found;
}

int mcd_check_labels(char **paths, int n, char **labels, int k, const char *list_name)
{
    for (int i = 0; i < n; ++i) {
        int c = mcd_label_of(paths[i], labels, k);
        if (c < 0) {
            mcd_set_error("%s:%d: '%s' contains %s of the %d label names (Darknet finds an "
                          "image's label as the one label name inside its path)",
                          list_name, i + 1, paths[i], c == -1 ? "none" : "more than one", k);
            return -1;
        }
    }
    return 0;
}

list *mcd_read_data_file(const char *file)
{
    FILE *f = fopen(file, "r");
    if (!f) {
        mcd_set_error("cannot open data file '%s': %s", file, strerror(errno));
        return NULL;
    }
    fclose(f);
    return read_data_cfg((char *)file);
}

const char *mcd_data_value(list *options, const char *file, const char *key)
{
    const char *v = option_find(options, (char *)key);
    if (!v || !*v) mcd_set_error("data file '%s' has no '%s=' line", file, key);
    return v && *v ? v : NULL;
}
