#include "io/data_lists.h"

#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "network/cfg_reader.h"
#include "io/image_io.h"
#include "util/mcd_error.h"
#include "option_list.h"

char *mcd_trim(char *line)
{
    while (isspace((unsigned char)*line)) ++line;
    size_t n = strlen(line);
    while (n && isspace((unsigned char)line[n - 1])) line[--n] = 0;
    return line;
}

char **mcd_read_list(const char *file, int *n, int check_files)
{
    FILE *f = cfg_open_text(file, "list file");
    if (!f) return NULL;
    int cap = 1024, count = 0;
    char **items = malloc(cap * sizeof *items);
    char *line = NULL;
    size_t len = 0;
    while (getline(&line, &len, f) != -1) {
        char *entry = mcd_trim(line); /* blank lines are skipped */
        if (!*entry) continue;
        if (count == cap) items = realloc(items, (cap *= 2) * sizeof *items);
        items[count++] = strdup(entry);
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

/* Darknet's read_data_cfg, stricter: a line that is not key=value is an error naming the
 * line (Darknet warns and keeps a key without a value); whitespace is dropped as
 * Darknet's strip() drops it. */
list *mcd_read_data_file(const char *file)
{
    FILE *f = cfg_open_text(file, "data file");
    if (!f) return NULL;
    list *options = make_list();
    char *line = NULL;
    size_t cap = 0;
    int nu = 0;
    while (getline(&line, &cap, f) != -1) {
        ++nu;
        char *w = line;
        for (char *r = line; *r; ++r)
            if (!isspace((unsigned char)*r)) *w++ = *r;
        *w = 0;
        if (line[0] == 0 || line[0] == '#' || line[0] == ';') continue;
        char *eq = strchr(line, '=');
        if (!eq || eq == line) {
            mcd_set_error("%s:%d: expected key=value, got '%s'", file, nu, line);
            fclose(f);
            free(line);
            mcd_free_data_file(options);
            return NULL;
        }
        *eq = 0; /* key and value share one buffer, as in Darknet's kvp */
        char *kv = malloc((size_t)(w - line) + 1);
        memcpy(kv, line, (size_t)(w - line) + 1);
        option_insert(options, kv, kv + (eq - line) + 1);
    }
    free(line);
    fclose(f);
    return options;
}

void mcd_free_data_file(list *options)
{
    if (!options) return;
    for (node *n = options->front; n; n = n->next) {
        kvp *p = (kvp *)n->val;
        free(p->key);
        free(p);
    }
    free_list(options);
}

const char *mcd_data_value(list *options, const char *file, const char *key)
{
    const char *v = option_find(options, (char *)key);
    if (!v || !*v) mcd_set_error("data file '%s' has no '%s=' line", file, key);
    return v && *v ? v : NULL;
}

int mcd_resolve_data_file(const char *cfg, const char *option, char *buf, size_t n,
                          const char **source)
{
    const char *from = "-data", *path = option;
    list *sections = NULL;
    if (!option) {
        sections = cfg_read(cfg);
        if (!sections) return -1;
        const char *key = sections->front ? cfg_find_str(sections->front->val, "data") : NULL;
        from = key ? "data= in CFG" : "default";
        path = key ? key : MCD_DEFAULT_DATA;
    }
    snprintf(buf, n, "%s", path);
    if (source) *source = from;
    if (sections) cfg_free(sections);
    return 0;
}

int mcd_read_class_names(const char *data, int classes, char ***names)
{
    *names = NULL;
    list *options = mcd_read_data_file(data);
    if (!options) return -1;
    const char *file = option_find(options, "names");
    if (!file || !*file) file = option_find(options, "labels");
    int rc = -1, n = 0;
    char **v = NULL;
    if (!file || !*file)
        mcd_set_error("data file '%s' has no names= or labels= line", data);
    else if (!(v = mcd_read_list(file, &n, 0)))
        mcd_set_error("%s (the class names of '%s')", mcd_last_error(), data);
    else if (n != classes)
        mcd_set_error("'%s' (from '%s') has %d class names, the network %d classes", file,
                      data, n, classes);
    else
        rc = 0;
    if (rc == 0) *names = v;
    else mcd_free_list(v, n);
    mcd_free_data_file(options);
    return rc;
}
