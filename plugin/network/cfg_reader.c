#include "network/cfg_reader.h"

#include <ctype.h>
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "list.h"
#include "util/mcd_error.h"
#include "option_list.h"

void cfg_free_section(cfg_section *s)
{
    node *n = s->options->front;
    while (n) {
        kvp *pair = (kvp *)n->val;
        free(pair->key); /* key and value share one buffer, as in Darknet */
        free(pair);
        node *next = n->next;
        free(n);
        n = next;
    }
    free(s->options);
    free(s->type);
    free(s);
}

void cfg_free(list *sections)
{
    if (!sections) return;
    node *n = sections->front;
    while (n) {
        node *next = n->next;
        cfg_free_section((cfg_section *)n->val);
        free(n);
        n = next;
    }
    free(sections);
}

/* Remove all whitespace, as Darknet's strip() does ("batch = 64" == "batch=64"). */
static void strip_spaces(char *s)
{
    char *w = s;
    for (char *r = s; *r; ++r)
        if (!isspace((unsigned char)*r)) *w++ = *r;
    *w = 0;
}

static char *read_line(FILE *f)
{
    size_t cap = 256, len = 0;
    char *buf = malloc(cap);
    int c;
    while ((c = fgetc(f)) != EOF && c != '\n') {
        if (len + 2 > cap) buf = realloc(buf, cap *= 2);
        buf[len++] = (char)c;
    }
    if (c == EOF && len == 0) {
        free(buf);
        return NULL;
    }
    buf[len] = 0;
    return buf;
}

FILE *cfg_open_text(const char *file, const char *what)
{
    FILE *f = fopen(file, "r");
    if (!f) {
        mcd_set_error("cannot open %s '%s': %s", what, file, strerror(errno));
        return NULL;
    }
    struct stat st;
    if (fstat(fileno(f), &st) != 0 || S_ISDIR(st.st_mode)) {
        mcd_set_error("cannot read %s '%s': it is a directory", what, file);
        fclose(f);
        return NULL;
    }
    return f;
}

list *cfg_read(const char *filename)
{
    FILE *f = cfg_open_text(filename, "cfg file");
    if (!f) return NULL;
    list *sections = make_list();
    cfg_section *cur = NULL;
    char *line;
    int nu = 0;
    while ((line = read_line(f))) {
        ++nu;
        strip_spaces(line);
        if (line[0] == 0 || line[0] == '#' || line[0] == ';') {
            free(line);
            continue;
        }
        if (line[0] == '[') {
            if (line[strlen(line) - 1] != ']') {
                mcd_set_error("%s:%d: section header '%s' has no closing ']'", filename, nu, line);
                goto fail;
            }
            cur = calloc(1, sizeof *cur);
            cur->type = line;
            cur->options = make_list();
            cur->line = nu;
            list_insert(sections, cur);
            continue;
        }
        char *eq = strchr(line, '=');
        if (!eq || eq == line) {
            mcd_set_error("%s:%d: expected [section] or key=value, got '%s'", filename, nu, line);
            goto fail;
        }
        if (!cur) {
            mcd_set_error("%s:%d: '%s' comes before the first section", filename, nu, line);
            goto fail;
        }
        *eq = 0;
        option_insert(cur->options, line, eq + 1);
    }
    fclose(f);
    return sections;
fail:
    free(line);
    fclose(f);
    cfg_free(sections);
    return NULL;
}

static kvp *find_kvp(const cfg_section *s, const char *key)
{
    for (node *n = s->options->front; n; n = n->next) {
        kvp *p = (kvp *)n->val;
        if (strcmp(p->key, key) == 0) return p;
    }
    return NULL;
}

/* The key's option, marked used (cfg_check_unused), or NULL when s has none. */
static kvp *use_kvp(const cfg_section *s, const char *key)
{
    kvp *p = find_kvp(s, key);
    if (p) p->used = 1;
    return p;
}

int cfg_find_double(const char *file, const cfg_section *s, const char *key, double def,
                    double *out)
{
    kvp *p = use_kvp(s, key);
    if (!p) return *out = def, 0;
    char *end;
    errno = 0;
    double v = strtod(p->val, &end);
    if (p->val[0] == 0 || *end != 0 || errno || !isfinite(v)) {
        mcd_set_error("%s:%d: %s: %s=%s is not a finite number", file, s->line, s->type, key, p->val);
        return -1;
    }
    *out = v;
    return 0;
}

int cfg_find_float(const char *file, const cfg_section *s, const char *key, float def, float *out)
{
    double v;
    if (cfg_find_double(file, s, key, def, &v)) return -1;
    *out = (float)v;
    return 0;
}

int cfg_find_int(const char *file, const cfg_section *s, const char *key, int def, int *out)
{
    kvp *p = use_kvp(s, key);
    if (!p) return *out = def, 0;
    char *end;
    errno = 0;
    long v = strtol(p->val, &end, 10);
    if (p->val[0] == 0 || *end != 0 || errno || v < -2147483647L || v > 2147483647L) {
        mcd_set_error("%s:%d: %s: %s=%s is not an integer", file, s->line, s->type, key, p->val);
        return -1;
    }
    *out = (int)v;
    return 0;
}

const char *cfg_find_str(const cfg_section *s, const char *key)
{
    kvp *p = use_kvp(s, key);
    return p ? p->val : NULL;
}

int cfg_check_unused(const char *file, const cfg_section *s)
{
    for (node *n = s->options->front; n; n = n->next) {
        kvp *p = (kvp *)n->val;
        if (!p->used) {
            mcd_set_error("%s:%d: %s: unknown key '%s'", file, s->line, s->type, p->key);
            return -1;
        }
    }
    return 0;
}
