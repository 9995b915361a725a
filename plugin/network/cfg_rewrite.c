#include "network/cfg_rewrite.h"

#include <ctype.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "network/cfg_reader.h"
#include "util/mcd_error.h"

int mcd_cfg_read_shape(const char *cfg, mcd_cfg_shape *out)
{
    list *sections = cfg_read(cfg);
    if (!sections) return -1;
    cfg_section *net = sections->front ? (cfg_section *)sections->front->val : NULL;
    int rc = -1;
    if (!net || (strcmp(net->type, "[net]") && strcmp(net->type, "[network]"))) {
        mcd_set_error("%s: the first section must be [net]", cfg);
    } else if (cfg_find_int(cfg, net, "width", 0, &out->width) ||
               cfg_find_int(cfg, net, "height", 0, &out->height) ||
               cfg_find_int(cfg, net, "channels", 3, &out->channels) ||
               cfg_find_int(cfg, net, "batch", 1, &out->batch) ||
               cfg_find_int(cfg, net, "max_batches", 0, &out->max_batches)) {
        /* error set */
    } else if (out->width <= 0 || out->height <= 0 || out->channels <= 0) {
        mcd_set_error("%s:%d: [net] needs width, height and channels above 0", cfg, net->line);
    } else {
        rc = 0;
    }
    cfg_free(sections);
    return rc;
}

/* One line of the cfg, as written, and what it is. */
typedef struct cfg_line {
    char *text;          /* without its newline */
    char section[64];    /* "[connected]" for a header line, "" otherwise */
    char key[64];        /* "output" for a key=value line (blanks dropped), "" otherwise */
} cfg_line;

static void classify(cfg_line *l)
{
    char squeezed[256];
    size_t k = 0;
    for (const char *p = l->text; *p && k + 1 < sizeof squeezed; ++p)
        if (!isspace((unsigned char)*p)) squeezed[k++] = *p;
    squeezed[k] = 0;
    l->section[0] = l->key[0] = 0;
    if (squeezed[0] == '#' || squeezed[0] == ';' || squeezed[0] == 0) return;
    if (squeezed[0] == '[') {
        snprintf(l->section, sizeof l->section, "%.63s", squeezed);
        return;
    }
    char *eq = strchr(squeezed, '=');
    if (eq && eq - squeezed < (long)sizeof l->key) {
        memcpy(l->key, squeezed, (size_t)(eq - squeezed));
        l->key[eq - squeezed] = 0;
    }
}

static int read_lines(const char *cfg, cfg_line **lines, int *n)
{
    FILE *f = cfg_open_text(cfg, "cfg file");
    if (!f) return -1;
    int cap = 0;
    char *buf = NULL;
    size_t bcap = 0;
    ssize_t len;
    *lines = NULL;
    *n = 0;
    while ((len = getline(&buf, &bcap, f)) >= 0) {
        while (len > 0 && (buf[len - 1] == '\n' || buf[len - 1] == '\r')) buf[--len] = 0;
        if (*n == cap) {
            cap = cap ? 2 * cap : 256;
            cfg_line *grown = realloc(*lines, sizeof **lines * (size_t)cap);
            if (!grown) break;
            *lines = grown;
        }
        cfg_line *l = &(*lines)[(*n)++];
        l->text = strdup(buf);
        if (!l->text) {
            --*n;
            break;
        }
        classify(l);
    }
    int bad = ferror(f) || !feof(f);
    free(buf);
    fclose(f);
    if (bad) {
        mcd_set_error("cannot read cfg file '%s'", cfg);
        return -1;
    }
    return 0;
}

/* Replace line i's value, keeping its key as written. */
static int set_value(cfg_line *l, const char *key, const char *value)
{
    size_t n = strlen(key) + strlen(value) + 2;
    char *t = malloc(n);
    if (!t) {
        mcd_set_error("out of memory");
        return -1;
    }
    snprintf(t, n, "%s=%s", key, value);
    free(l->text);
    l->text = t;
    return 0;
}

int mcd_cfg_write_for_classes(const char *cfg, const char *out, const char *header,
                              const char *data, int classes)
{
    cfg_line *lines;
    int n, rc = -1;
    if (read_lines(cfg, &lines, &n)) return -1;
    int net = -1, net_end = n, split = -1, heads = 0, data_line = -1;
    for (int i = 0; i < n; ++i) {
        if (lines[i].section[0]) {
            if (net < 0 && (strcmp(lines[i].section, "[net]") == 0 ||
                            strcmp(lines[i].section, "[network]") == 0)) net = i;
            else if (net >= 0 && net_end == n) net_end = i;
            if (split < 0 && strcmp(lines[i].section, "[mcd_split]") == 0) split = i;
        } else if (net >= 0 && net_end == n && strcmp(lines[i].key, "data") == 0) {
            data_line = i;
        }
    }
    char count[32];
    snprintf(count, sizeof count, "%d", classes);
    if (net < 0) {
        mcd_set_error("%s: no [net] section", cfg);
        goto done;
    }
    if (split < 0) {
        mcd_set_error("%s: no [mcd_split] section: not an MCD cfg", cfg);
        goto done;
    }
    /* each [softmax] after the split: the nearest layer before it that sets a width */
    int layer = -1;
    const char *key = NULL;
    for (int i = split + 1; i < n; ++i) {
        const char *s = lines[i].section;
        if (!s[0]) continue;
        if (strcmp(s, "[connected]") == 0 || strcmp(s, "[conn]") == 0) {
            layer = i;
            key = "output";
        } else if (strcmp(s, "[convolutional]") == 0 || strcmp(s, "[conv]") == 0) {
            layer = i;
            key = "filters";
        } else if (strcmp(s, "[softmax]") == 0 || strcmp(s, "[soft]") == 0) {
            if (layer < 0) {
                mcd_set_error("%s:%d: [softmax] with no [connected] or [convolutional] before it "
                              "in its head: cannot set the class count", cfg, i + 1);
                goto done;
            }
            int found = 0;
            for (int j = layer + 1; j < n && !lines[j].section[0]; ++j)
                if (strcmp(lines[j].key, key) == 0) {
                    if (set_value(&lines[j], key, count)) goto done;
                    found = 1;
                }
            if (!found) {
                mcd_set_error("%s:%d: %s has no %s= line to set the class count in", cfg,
                              layer + 1, lines[layer].section, key);
                goto done;
            }
            ++heads;
            layer = -1;
        } else if (strcmp(s, "[mcd_head]") == 0) {
            layer = -1;
        }
    }
    if (heads == 0) {
        mcd_set_error("%s: no [softmax] after [mcd_split]: the heads' class count is not in the cfg", cfg);
        goto done;
    }
    FILE *f = fopen(out, "w");
    if (!f) {
        mcd_set_error("cannot write '%s': %s", out, strerror(errno));
        goto done;
    }
    if (header) fputs(header, f);
    for (int i = 0; i < n; ++i) {
        if (i == data_line) {
            fprintf(f, "data=%s\n", data);
            continue;
        }
        fprintf(f, "%s\n", lines[i].text);
        if (i == net && data_line < 0) fprintf(f, "data=%s\n", data);
    }
    if (fclose(f) != 0) {
        mcd_set_error("cannot write '%s': %s", out, strerror(errno));
        goto done;
    }
    rc = 0;
done:
    for (int i = 0; i < n; ++i) free(lines[i].text);
    free(lines);
    return rc;
}
