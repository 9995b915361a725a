#define _GNU_SOURCE
#include "io/import_writer.h"

#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "io/data_lists.h"
#include "io/image_probe.h"
#include "network/cfg_rewrite.h"
#include "util/file_paths.h"
#include "util/file_tree.h"
#include "util/mcd_error.h"

/* The first line of every mcd.data that import writes: how it knows an OUT of its own. */
#define MARKER "# Written by darknet mcd import"

/* The folder under OUT/images/ of a split (OOD test sets: "ood-NAME"). */
static void split_folder(const mcd_import_plan *p, const mcd_import_image *im, char *buf, size_t n)
{
    switch (im->split) {
    case MCD_SPLIT_TRAIN: snprintf(buf, n, "train"); break;
    case MCD_SPLIT_VALID: snprintf(buf, n, "valid"); break;
    case MCD_SPLIT_TEST: snprintf(buf, n, "test"); break;
    case MCD_SPLIT_OOD_TEST: snprintf(buf, n, "ood-%s", p->ood_sets.v[im->set]); break;
    default: snprintf(buf, n, "unlabeled"); break;
    }
}

static int labeled(int split)
{
    return split == MCD_SPLIT_TRAIN || split == MCD_SPLIT_VALID || split == MCD_SPLIT_TEST;
}

/* The label tokens: "_<letter><digits>." with one width for all (so none is a substring of
 * another); the letter is the first of a few for which every labeled entry's path holds
 * its own token and no other (OUT's own path could hold "_c03." by chance). */
typedef struct tokens {
    char **v;
    int n;
} tokens;

static void free_tokens(tokens *t)
{
    for (int i = 0; i < t->n; ++i) free(t->v[i]);
    free(t->v);
    t->v = NULL;
    t->n = 0;
}

/* What the entry of image i is called: OUT/images/<split>/<index>[_token].<ext> */
static void entry_path(const mcd_import_plan *p, const char *out, const mcd_import_image *im,
                       int index, const tokens *t, char *buf, size_t n)
{
    char folder[300];
    split_folder(p, im, folder, sizeof folder);
    const char *slash = strrchr(im->path, '/');
    const char *dot = strrchr(slash ? slash : im->path, '.');
    char ext[16] = "img";
    if (dot && mcd_has_image_extension(im->path)) {
        size_t k = 0;
        for (const char *c = dot + 1; *c && k + 1 < sizeof ext; ++c) ext[k++] = (char)tolower((unsigned char)*c);
        ext[k] = 0;
    }
    if (labeled(im->split))
        snprintf(buf, n, "%s/images/%s/%06d%s%s", out, folder, index, t->v[im->cls], ext);
    else
        snprintf(buf, n, "%s/images/%s/%06d.%s", out, folder, index, ext);
}

/* Each image's index within its folder, in plan order. */
static int *folder_indices(const mcd_import_plan *p)
{
    int *idx = malloc(sizeof(int) * (size_t)(p->n_images ? p->n_images : 1));
    int next[MCD_SPLIT_COUNT] = {0};
    int *ood_next = calloc((size_t)(p->ood_sets.n ? p->ood_sets.n : 1), sizeof(int));
    if (!idx || !ood_next) {
        free(idx);
        free(ood_next);
        mcd_set_error("out of memory");
        return NULL;
    }
    for (int i = 0; i < p->n_images; ++i) {
        const mcd_import_image *im = &p->images[i];
        int s = im->split;
        if (s == MCD_SPLIT_POOL_OOD || s == MCD_SPLIT_POOL) s = MCD_SPLIT_POOL_ID; /* one folder */
        idx[i] = s == MCD_SPLIT_OOD_TEST ? ++ood_next[im->set] : ++next[s];
    }
    free(ood_next);
    return idx;
}

static int choose_tokens(const mcd_import_plan *p, const char *out, const int *idx, tokens *t)
{
    static const char letters[] = "ckqxz";
    int k = p->classes.n, width = 2;
    for (int m = k - 1; m >= 100; m /= 10) ++width;
    t->v = calloc((size_t)k, sizeof *t->v);
    if (!t->v) {
        mcd_set_error("out of memory");
        return -1;
    }
    t->n = k;
    for (int i = 0; i < k; ++i) t->v[i] = malloc(32);
    for (int i = 0; i < k; ++i)
        if (!t->v[i]) {
            mcd_set_error("out of memory");
            return -1;
        }
    for (const char *l = letters; *l; ++l) {
        for (int i = 0; i < k; ++i) snprintf(t->v[i], 32, "_%c%0*d.", *l, width & 15, i);
        int ok = 1;
        char path[PATH_MAX + 64];
        for (int i = 0; ok && i < p->n_images; ++i) {
            const mcd_import_image *im = &p->images[i];
            if (im->split == MCD_SPLIT_LEFT_OUT) continue;
            entry_path(p, out, im, idx[i], t, path, sizeof path);
            int found = mcd_label_of(path, t->v, k);
            ok = labeled(im->split) ? found == im->cls : found == -1;
        }
        if (ok) return 0;
    }
    mcd_set_error("no label tokens fit under '%s': its path holds them all; choose another -out", out);
    return -1;
}

/* Whether `inner` is `outer` or inside it (absolute, resolved paths). */
static int inside(const char *inner, const char *outer)
{
    size_t n = strlen(outer);
    if (n == 1 && outer[0] == '/') return 1;
    return strncmp(inner, outer, n) == 0 && (inner[n] == 0 || inner[n] == '/');
}

/* out as an absolute path with its existing part resolved (it may not exist yet): the
 * longest leading part that exists, resolved, then the rest as written. */
static int resolve_out(const char *out, char *abs, size_t n)
{
    char *probe = strdup(out);
    if (!probe) {
        mcd_set_error("out of memory");
        return -1;
    }
    size_t cut = strlen(probe);
    for (;;) {
        char real[PATH_MAX];
        const char *try = cut ? probe : ".";
        if (realpath(try, real)) {
            const char *rest = out + cut;
            if (cut == 0 && *rest != '/') rest = out; /* relative: below the cwd */
            int k = snprintf(abs, n, "%s%s%s", strcmp(real, "/") ? real : "",
                             *rest && *rest != '/' ? "/" : "", rest);
            free(probe);
            if (k < 0 || (size_t)k >= n) {
                mcd_set_error("-out '%s': path too long", out);
                return -1;
            }
            return 0;
        }
        if (cut == 0) {
            mcd_set_error("cannot resolve '%s': %s", out, strerror(errno));
            free(probe);
            return -1;
        }
        /* drop the last component */
        while (cut > 0 && probe[cut - 1] == '/') --cut;
        while (cut > 0 && probe[cut - 1] != '/') --cut;
        while (cut > 1 && probe[cut - 1] == '/') --cut;
        probe[cut] = 0;
    }
}

/* 1 when dir has no entries, 0 when it has, -1 with an error when it cannot be read. */
static int folder_is_empty(const char *dir)
{
    mcd_string_list names = {0};
    int rc = mcd_read_folder(dir, &names, NULL);
    int empty = rc ? -1 : names.n == 0;
    mcd_string_list_free(&names);
    return empty;
}

int mcd_import_check_output(const mcd_import_options *o, const char *out)
{
    if (!*out) {
        mcd_set_error("-out: empty path");
        return -1;
    }
    for (const char *c = out; *c; ++c)
        if (isspace((unsigned char)*c)) {
            mcd_set_error("-out '%s': the path has blanks, which Darknet's .data reader drops; "
                          "choose a path without them", out);
            return -1;
        }
    char abs[PATH_MAX];
    if (resolve_out(out, abs, sizeof abs)) return -1;
    const char *inputs[3] = {o->labeled, o->unlabeled, o->test};
    const char *const names[4] = {"-labeled", "-unlabeled", "-test", "-ood"};
    for (int i = 0; i < o->n_ood + 3; ++i) {
        const char *in = i < 3 ? inputs[i] : o->ood_dirs[i - 3];
        if (!in) continue;
        char real[PATH_MAX];
        if (!realpath(in, real)) continue; /* missing: the scan says so */
        if (inside(abs, real) || inside(real, abs)) {
            mcd_set_error("-out '%s' and %s '%s' overlap (one is inside the other): choose an output "
                          "folder outside the input folders", out, names[i < 3 ? i : 3], in);
            return -1;
        }
    }
    struct stat st;
    if (lstat(out, &st) == 0) {
        if (!S_ISDIR(st.st_mode)) {
            mcd_set_error("-out '%s' exists and is not a folder", out);
            return -1;
        }
        char data[PATH_MAX + 16];
        snprintf(data, sizeof data, "%s/mcd.data", out);
        FILE *f = fopen(data, "r");
        char first[128] = "";
        if (f) {
            if (!fgets(first, sizeof first, f)) first[0] = 0;
            fclose(f);
            if (strncmp(first, MARKER, strlen(MARKER)) == 0) return 0;
        }
        int empty = folder_is_empty(out);
        if (empty < 0) return -1;
        if (empty) return 0;
        mcd_set_error("-out '%s' exists and was not written by mcd import (no %s of its own): "
                      "choose a new folder", out, data);
        return -1;
    }
    return 0;
}

/* One list file being written in the new folder. */
typedef struct list_out {
    FILE *f;
    char path[PATH_MAX];
} list_out;

static int open_list(list_out *l, const char *dir, const char *name)
{
    snprintf(l->path, sizeof l->path, "%s/%s", dir, name);
    l->f = fopen(l->path, "w");
    if (!l->f) {
        mcd_set_error("cannot write '%s': %s", l->path, strerror(errno));
        return -1;
    }
    return 0;
}

static int close_list(list_out *l, int rc)
{
    if (!l->f) return rc;
    if ((ferror(l->f) | fclose(l->f)) && rc == 0) {
        mcd_set_error("cannot write '%s': %s", l->path, strerror(errno));
        rc = -1;
    }
    l->f = NULL;
    return rc;
}

/* Link (absolute target, so the link works from anywhere) or copy src to dst. */
static int place(const char *src, const char *dst, int copy)
{
    if (copy) return mcd_copy_file(src, dst);
    char real[PATH_MAX];
    if (!realpath(src, real)) {
        mcd_set_error("cannot resolve '%s': %s", src, strerror(errno));
        return -1;
    }
    if (symlink(real, dst) != 0) {
        mcd_set_error("cannot make link '%s': %s", dst, strerror(errno));
        return -1;
    }
    return 0;
}

static void parent_of(const char *path, char *buf, size_t n)
{
    snprintf(buf, n, "%s", path);
    char *slash = strrchr(buf, '/');
    if (slash) *slash = 0;
}

enum { L_TRAIN, L_VALID, L_TEST, L_POOL, L_POOL_ID, L_POOL_OOD, L_SOURCES, L_FIXED };

static int write_tree(const mcd_import_plan *p, const mcd_import_output *o, const char *out,
                      const char *tmp, const int *idx, const tokens *t, mcd_import_written *w)
{
    int k = p->classes.n, ns = p->ood_sets.n, rc = 0;
    int pool = p->counts[MCD_SPLIT_POOL_ID] + p->counts[MCD_SPLIT_POOL_OOD] + p->counts[MCD_SPLIT_POOL];
    int transductive = p->counts[MCD_SPLIT_POOL_ID] > 0 && p->counts[MCD_SPLIT_POOL_OOD] > 0;
    list_out l[L_FIXED] = {0};
    list_out *ood = calloc((size_t)(ns ? ns : 1), sizeof *ood);
    if (!ood) {
        mcd_set_error("out of memory");
        return -1;
    }
    static const char *const fixed[L_FIXED] = {"train.list", "valid.list", "id-test.list",
                                               "unlabeled.list", "unlabeled-id.list",
                                               "unlabeled-ood.list", "sources.tsv"};
    for (int i = 0; rc == 0 && i < L_FIXED; ++i) {
        if (i == L_POOL && !pool) continue;
        if ((i == L_POOL_ID || i == L_POOL_OOD) && !transductive) continue;
        rc = open_list(&l[i], tmp, fixed[i]);
    }
    for (int s = 0; rc == 0 && s < ns; ++s) {
        char name[300];
        snprintf(name, sizeof name, "ood-%s.list", p->ood_sets.v[s]);
        if (p->ood_counts[s * MCD_SPLIT_COUNT + MCD_SPLIT_OOD_TEST]) rc = open_list(&ood[s], tmp, name);
    }
    if (rc == 0 && l[L_SOURCES].f) fprintf(l[L_SOURCES].f, "entry\tsource\n");
    char entry[PATH_MAX + 64], file[PATH_MAX + 64], dir[PATH_MAX + 64], made[PATH_MAX + 64] = "";
    for (int i = 0; rc == 0 && i < p->n_images; ++i) {
        const mcd_import_image *im = &p->images[i];
        if (im->split == MCD_SPLIT_LEFT_OUT) continue;
        entry_path(p, out, im, idx[i], t, entry, sizeof entry);
        entry_path(p, tmp, im, idx[i], t, file, sizeof file);
        parent_of(file, dir, sizeof dir);
        if (strcmp(dir, made) != 0) {
            if (mcd_make_dirs(dir)) {
                rc = -1;
                break;
            }
            snprintf(made, sizeof made, "%s", dir);
        }
        if (place(im->path, file, o->copy)) {
            rc = -1;
            break;
        }
        FILE *f = NULL, *g = NULL;
        switch (im->split) {
        case MCD_SPLIT_TRAIN: f = l[L_TRAIN].f; break;
        case MCD_SPLIT_VALID: f = l[L_VALID].f; break;
        case MCD_SPLIT_TEST: f = l[L_TEST].f; break;
        case MCD_SPLIT_POOL: f = l[L_POOL].f; break;
        case MCD_SPLIT_POOL_ID: f = l[L_POOL].f, g = l[L_POOL_ID].f; break;
        case MCD_SPLIT_POOL_OOD: f = l[L_POOL].f, g = l[L_POOL_OOD].f; break;
        case MCD_SPLIT_OOD_TEST: f = ood[im->set].f; break;
        }
        if (f) fprintf(f, "%s\n", entry);
        if (g) fprintf(g, "%s\n", entry);
        fprintf(l[L_SOURCES].f, "%s\t%s\n", entry, im->path);
    }
    for (int i = 0; i < L_FIXED; ++i) rc = close_list(&l[i], rc);
    for (int s = 0; s < ns; ++s) rc = close_list(&ood[s], rc);
    list_out f = {0};
    if (rc == 0 && open_list(&f, tmp, "labels.list") == 0) {
        for (int c = 0; c < k; ++c) fprintf(f.f, "%s\n", t->v[c]);
        rc = close_list(&f, rc);
    } else rc = -1;
    if (rc == 0 && open_list(&f, tmp, "names.list") == 0) {
        for (int c = 0; c < k; ++c) fprintf(f.f, "%s\n", p->classes.v[c]);
        rc = close_list(&f, rc);
    } else rc = -1;
    if (rc == 0 && open_list(&f, tmp, "mcd.data") == 0) {
        const mcd_import_options *io = &p->opt;
        fprintf(f.f, MARKER " (a new import rewrites this folder, all but backup/)\n");
        fprintf(f.f, "# from %d classes in %s, seed %llu; shares: valid %g", k, io->labeled,
                (unsigned long long)io->seed, io->valid_share);
        if (io->test) fprintf(f.f, ", test = %s", io->test);
        else fprintf(f.f, " test %g", io->test_share);
        if (io->unlabeled) fprintf(f.f, ", unlabeled pool = %s\n", io->unlabeled);
        else fprintf(f.f, " pool %g of each class and %g of each OOD set\n", io->unlabeled_share,
                     io->ood_pool_share);
        fprintf(f.f, "# labels: Darknet's label tokens (one in each image's path); names: the class names\n");
        fprintf(f.f, "classes=%d\nlabels=%s/labels.list\nnames=%s/names.list\n", k, out, out);
        fprintf(f.f, "train=%s/train.list\nvalid=%s/valid.list\nid_test=%s/id-test.list\n", out, out, out);
        if (pool) fprintf(f.f, "unlabeled=%s/unlabeled.list\n", out);
        int first = 1;
        for (int s = 0; s < ns; ++s)
            if (p->ood_counts[s * MCD_SPLIT_COUNT + MCD_SPLIT_OOD_TEST]) {
                fprintf(f.f, "%s%s/ood-%s.list", first ? "ood=" : ",", out, p->ood_sets.v[s]);
                first = 0;
            }
        if (!first) fprintf(f.f, "\n");
        if (transductive)
            fprintf(f.f, "# the pool's ID and OOD parts, for mcd valid -transductive\n"
                         "transductive_id=%s/unlabeled-id.list\ntransductive_ood=%s/unlabeled-ood.list\n",
                    out, out);
        fprintf(f.f, "backup=%s/backup/\n", out);
        rc = close_list(&f, rc);
        snprintf(w->data, sizeof w->data, "%s/mcd.data", out);
    } else rc = -1;
    if (rc == 0 && o->cfg) {
        char name[512], dst[PATH_MAX + 600], data[PATH_MAX + 16], header[PATH_MAX + 1200];
        mcd_base_name(o->cfg, NULL, name, sizeof name);
        snprintf(dst, sizeof dst, "%s/%s", tmp, name);
        snprintf(data, sizeof data, "%s/mcd.data", out);
        snprintf(header, sizeof header,
                 "# Written by darknet mcd import from %s: both heads set to the %d classes of\n"
                 "# %s (names in %s/names.list) and data= set to it; every other line as there.\n",
                 o->cfg, k, data, out);
        rc = mcd_cfg_write_for_classes(o->cfg, dst, header, data, k);
        snprintf(w->cfg, sizeof w->cfg, "%s/%s", out, name);
    }
    free(ood);
    return rc;
}

int mcd_import_write(const mcd_import_plan *p, const mcd_import_output *o, mcd_import_written *w)
{
    memset(w, 0, sizeof *w);
    char out[PATH_MAX];
    snprintf(out, sizeof out, "%s", o->out);
    for (size_t n = strlen(out); n > 1 && out[n - 1] == '/'; --n) out[n - 1] = 0;
    if (mcd_import_check_output(&p->opt, out)) return -1;
    int *idx = folder_indices(p);
    tokens t = {0};
    if (!idx || choose_tokens(p, out, idx, &t)) {
        free(idx);
        free_tokens(&t);
        return -1;
    }
    char parent[PATH_MAX], tmp[PATH_MAX + 32], sub[PATH_MAX + 40];
    parent_of(out, parent, sizeof parent);
    snprintf(tmp, sizeof tmp, "%s.import-%ld", out, (long)getpid());
    int rc = -1;
    if (strchr(out, '/') && parent[0] && mcd_make_dirs(parent)) goto done;
    if (mcd_remove_tree(tmp)) goto done;
    if (mkdir(tmp, 0755) != 0) {
        mcd_set_error("cannot write in '%s': %s", parent[0] && strchr(out, '/') ? parent : ".",
                      strerror(errno));
        goto done;
    }
    if (write_tree(p, o, out, tmp, idx, &t, w)) {
        char msg[2048];
        snprintf(msg, sizeof msg, "%s", mcd_last_error());
        mcd_remove_tree(tmp);
        mcd_set_error("%s", msg);
        goto done;
    }
    struct stat st;
    if (lstat(out, &st) != 0) {
        if (rename(tmp, out) != 0) {
            mcd_set_error("cannot rename '%s' to '%s': %s", tmp, out, strerror(errno));
            mcd_remove_tree(tmp);
            goto done;
        }
        rc = 0;
        goto done;
    }
    int same = mcd_same_tree(tmp, out, "backup");
    if (same < 0) goto done;
    if (same == 1) {
        w->unchanged = 1;
        rc = mcd_remove_tree(tmp);
        goto done;
    }
    /* carry the training runs over, then swap the folders in one step */
    snprintf(sub, sizeof sub, "%s/backup", out);
    char moved[PATH_MAX + 40];
    snprintf(moved, sizeof moved, "%s/backup", tmp);
    int carried = lstat(sub, &st) == 0;
    if (carried && rename(sub, moved) != 0) {
        mcd_set_error("cannot move '%s' into the new output: %s", sub, strerror(errno));
        mcd_remove_tree(tmp);
        goto done;
    }
    if (renameat2(AT_FDCWD, tmp, AT_FDCWD, out, RENAME_EXCHANGE) == 0) {
        w->replaced = 1;
        rc = mcd_remove_tree(tmp); /* the old output */
        goto done;
    }
    /* a file system without exchange: two renames */
    char old[PATH_MAX + 40];
    snprintf(old, sizeof old, "%s.import-old-%ld", out, (long)getpid());
    if (rename(out, old) != 0 || rename(tmp, out) != 0) {
        mcd_set_error("cannot replace '%s': %s", out, strerror(errno));
        if (carried) rename(moved, sub);
        goto done;
    }
    w->replaced = 1;
    rc = mcd_remove_tree(old);
done:
    free(idx);
    free_tokens(&t);
    return rc;
}
