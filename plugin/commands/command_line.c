#include "commands/command_line.h"

#include <errno.h>
#include <float.h>
#include <limits.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "util/mcd_error.h"

static const mcd_option *find_option(const mcd_command *c, const char *name)
{
    for (int i = 0; i < c->n_options; ++i)
        if (strcmp(c->options[i].name, name) == 0) return &c->options[i];
    return NULL;
}

/* "in [0, 2]", "in (0, 1]", ">= 1": the accepted range, as the error message says it. */
static void range_text(const mcd_option *o, char *buf, size_t n)
{
    double top = o->kind == MCD_OPT_INT ? INT_MAX : o->kind == MCD_OPT_LONG ? (double)LONG_MAX : DBL_MAX;
    if (o->max >= top) snprintf(buf, n, "%s %g", o->min_exclusive ? ">" : ">=", o->min);
    else snprintf(buf, n, "in %c%g, %g]", o->min_exclusive ? '(' : '[', o->min, o->max);
}

static int bad_value(const mcd_option *o, const char *v)
{
    char range[64];
    range_text(o, range, sizeof range);
    mcd_set_error("%s %s: expected %s %s", o->name, v,
                  o->kind == MCD_OPT_DOUBLE ? "a number" : "a whole number", range);
    return -1;
}

/* A number from the whole of v, in the option's range. */
static int read_number(const mcd_option *o, const char *v, double *out)
{
    char *end;
    errno = 0;
    double x;
    if (o->kind == MCD_OPT_DOUBLE) {
        x = strtod(v, &end);
        if (!*v || *end || errno || !isfinite(x) || x < o->min || x > o->max) return bad_value(o, v);
    } else { /* whole numbers compared as such: a double cannot hold every long */
        long long w = strtoll(v, &end, 10);
        if (!*v || *end || errno || w < (long long)o->min || w > (long long)o->max)
            return bad_value(o, v);
        x = (double)w;
    }
    if (o->min_exclusive && x <= o->min) return bad_value(o, v);
    *out = x;
    return 0;
}

static int append(mcd_arg_list *l, const char *v, int tag)
{
    if (l->n == l->cap) {
        int cap = l->cap ? 2 * l->cap : 8;
        const char **nv = realloc(l->v, cap * sizeof *nv);
        if (nv) l->v = nv;
        int *nt = nv ? realloc(l->tag, cap * sizeof *nt) : NULL;
        if (!nt) {
            mcd_set_error("out of memory reading the command line");
            return -1;
        }
        l->tag = nt;
        l->cap = cap;
    }
    l->v[l->n] = v;
    l->tag[l->n++] = tag;
    return 0;
}

void mcd_arg_list_free(mcd_arg_list *l)
{
    free(l->v);
    free(l->tag);
    memset(l, 0, sizeof *l);
}

static int set_option(const mcd_option *o, const char *v, void *opts)
{
    char *dest = (char *)opts + o->offset;
    double x;
    switch (o->kind) {
    case MCD_OPT_FLAG: *(int *)dest = 1; return 0;
    case MCD_OPT_STRING: *(const char **)dest = v; return 0;
    case MCD_OPT_LIST: return append((mcd_arg_list *)dest, v, o->tag);
    case MCD_OPT_INT:
        if (read_number(o, v, &x)) return -1;
        *(int *)dest = (int)x;
        return 0;
    case MCD_OPT_LONG: /* ranges within +-2^53: the double is exact */
        if (read_number(o, v, &x)) return -1;
        *(long *)dest = (long)x;
        return 0;
    case MCD_OPT_DOUBLE:
        if (read_number(o, v, &x)) return -1;
        *(double *)dest = x;
        return 0;
    }
    return 0;
}

static int set_positional(const mcd_command *c, int index, const char *arg, void *opts)
{
    if (index < c->n_positionals) {
        *(const char **)((char *)opts + c->positionals[index].offset) = arg;
        return 0;
    }
    if (c->more) return append((mcd_arg_list *)((char *)opts + c->more_offset), arg, 0);
    mcd_set_error("unexpected argument '%s'", arg);
    return -1;
}

int mcd_parse_command_line(const mcd_command *c, int argc, char **argv, void *opts)
{
    for (int i = 1; i < argc; ++i)
        if (strcmp(argv[i], "-h") == 0 || strcmp(argv[i], "--help") == 0) {
            mcd_print_command_help(c, stdout);
            return 1;
        }
    int npos = 0;
    for (int i = 1; i < argc; ++i) {
        const char *a = argv[i];
        if (a[0] != '-' || a[1] == 0) { /* "-" alone is a path (standard input) */
            if (set_positional(c, npos++, a, opts)) return -1;
            continue;
        }
        const mcd_option *o = find_option(c, a);
        if (!o) {
            mcd_set_error("unknown option '%s'", a);
            return -1;
        }
        const char *v = NULL;
        if (o->kind != MCD_OPT_FLAG) {
            if (i + 1 >= argc || argv[i + 1][0] == 0) {
                mcd_set_error("option %s needs a value (%s)", a, o->value);
                return -1;
            }
            v = argv[++i];
        }
        if (set_option(o, v, opts)) return -1;
    }
    for (int k = npos; k < c->n_positionals; ++k)
        if (c->positionals[k].required) {
            mcd_set_error("%s needs %s", c->name, c->positionals[k].name);
            return -1;
        }
    return 0;
}

void mcd_print_command_usage(const mcd_command *c, FILE *f)
{
    fprintf(f, "%s", c->name);
    for (int k = 0; k < c->n_positionals; ++k)
        fprintf(f, c->positionals[k].required ? " %s" : " [%s]", c->positionals[k].name);
    if (c->more) fprintf(f, " %s", c->more);
    if (c->n_options) fprintf(f, " [options]");
}

/* Text with every line after the first indented by `indent` spaces. */
static void print_indented(FILE *f, const char *text, int indent)
{
    for (const char *p = text; *p; ++p) {
        fputc(*p, f);
        if (*p == '\n' && p[1] && p[1] != '\n') fprintf(f, "%*s", indent, "");
    }
    fputc('\n', f);
}

void mcd_print_command_help(const mcd_command *c, FILE *f)
{
    fprintf(f, "usage: darknet mcd ");
    mcd_print_command_usage(c, f);
    fprintf(f, "\n\n  ");
    print_indented(f, c->description, 2);
    if (c->n_options) fprintf(f, "\noptions:\n");
    for (int i = 0; i < c->n_options; ++i) {
        const mcd_option *o = &c->options[i];
        char head[64];
        snprintf(head, sizeof head, "%s%s%s", o->name, o->value ? " " : "", o->value ? o->value : "");
        fprintf(f, "  %-20s", head);
        if (strlen(head) > 19) fprintf(f, "\n  %-20s", "");
        print_indented(f, o->help, 22);
    }
    fprintf(f, "  %-20s%s\n", "-h", "this help");
    if (c->notes) {
        fputc('\n', f);
        fputs(c->notes, f);
    }
}

int mcd_command_failed(void)
{
    const char *msg = mcd_last_error();
    fprintf(stderr, "darknet: error: %s\n", msg[0] ? msg : "unknown error");
    return 1;
}

int mcd_command_line_failed(const mcd_command *c)
{
    fprintf(stderr, "darknet: error: %s\n\nusage: darknet mcd ", mcd_last_error());
    mcd_print_command_usage(c, stderr);
    fprintf(stderr, "\n('darknet mcd %s -h' lists the options)\n", c->name);
    return 1;
}

/* The lists the parser filled, freed when the command stops before running. */
static void free_lists(const mcd_command *c, void *opts)
{
    for (int i = 0; i < c->n_options; ++i)
        if (c->options[i].kind == MCD_OPT_LIST)
            mcd_arg_list_free((mcd_arg_list *)((char *)opts + c->options[i].offset));
    if (c->more) mcd_arg_list_free((mcd_arg_list *)((char *)opts + c->more_offset));
}

int mcd_command_start(const mcd_command *c, int argc, char **argv, void *opts, int *status)
{
    int rc = mcd_parse_command_line(c, argc, argv, opts);
    if (rc == 0) return 0;
    free_lists(c, opts);
    *status = rc > 0 ? 0 : mcd_command_line_failed(c);
    return 1;
}
