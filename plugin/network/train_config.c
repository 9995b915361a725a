#include "network/train_config.h"

#include <stdio.h>
#include <string.h>

#include "network/cfg_reader.h"
#include "list.h"
#include "util/mcd_error.h"

static int check_min(const char *file, const cfg_section *s, const char *key, double v, double min)
{
    if (v < min) {
        mcd_set_error("%s:%d: %s: %s=%g must be >= %g", file, s->line, s->type, key, v, min);
        return -1;
    }
    return 0;
}

/* min < v <= max */
static int check_range(const char *file, const cfg_section *s, const char *key, double v,
                       double min, double max)
{
    if (!(v > min && v <= max)) {
        mcd_set_error("%s:%d: %s: %s=%g must be above %g and at most %g", file, s->line,
                      s->type, key, v, min, max);
        return -1;
    }
    return 0;
}

static int check_flag(const char *file, const cfg_section *s, const char *key, int v)
{
    if (v != 0 && v != 1) {
        mcd_set_error("%s:%d: %s: %s=%d must be 0 or 1", file, s->line, s->type, key, v);
        return -1;
    }
    return 0;
}

static const char *const outlier_kind_names[MCD_OUTLIER_KINDS] = {"shuffle", "permute", "blur",
                                                                 "mix"};

const char *mcd_outlier_kind_name(int i)
{
    return i >= 0 && i < MCD_OUTLIER_KINDS ? outlier_kind_names[i] : "?";
}

/* finetune_outlier_kinds: names separated by commas (blanks around them allowed), each
 * once; absent means all. */
static int read_outlier_kinds(const char *file, const cfg_section *s, int *kinds)
{
    const char *key = "finetune_outlier_kinds", *v = cfg_find_str(s, key);
    *kinds = MCD_OUTLIER_ALL;
    if (!v) return 0;
    *kinds = 0;
    const char *p = v;
    for (;;) {
        while (*p == ' ' || *p == '\t') ++p;
        size_t n = strcspn(p, ", \t");
        int k = -1;
        for (int i = 0; i < MCD_OUTLIER_KINDS; ++i)
            if (n == strlen(outlier_kind_names[i]) && !strncmp(p, outlier_kind_names[i], n))
                k = i;
        if (k < 0 || (*kinds & (1 << k))) {
            mcd_set_error("%s:%d: %s: %s=%s: %s '%.*s' (the kinds are shuffle, permute, blur, "
                          "mix, separated by commas, each once)", file, s->line, s->type, key,
                          v, k < 0 ? "unknown kind" : "repeated kind", (int)n, p);
            return -1;
        }
        *kinds |= 1 << k;
        p += n;
        while (*p == ' ' || *p == '\t') ++p;
        if (!*p) return 0;
        if (*p++ != ',') break; /* only blanks and commas can follow a name */
    }
    mcd_set_error("%s:%d: %s: %s=%s: the kinds are separated by commas", file, s->line, s->type,
                  key, v);
    return -1;
}

/* min <= v <= max */
static int check_closed(const char *file, const cfg_section *s, const char *key, double v,
                        double min, double max)
{
    if (!(v >= min && v <= max)) {
        mcd_set_error("%s:%d: %s: %s=%g must be between %g and %g", file, s->line, s->type,
                      key, v, min, max);
        return -1;
    }
    return 0;
}

int mcd_read_train_section(const char *f, const cfg_section *s, mcd_train_config *tc)
{
    cfg_find_str(s, "data"); /* a known key: mcd_resolve_data_file reads it */
    int rc = cfg_find_int(f, s, "finetune_batches", 0, &tc->finetune_batches) ||
             cfg_find_float(f, s, "finetune_learning_rate", 0.01f, &tc->finetune_learning_rate) ||
             cfg_find_float(f, s, "finetune_momentum", 0.9f, &tc->finetune_momentum) ||
             cfg_find_float(f, s, "finetune_decay", 0.0001f, &tc->finetune_decay) ||
             cfg_find_int(f, s, "finetune_augment", 0, &tc->finetune_augment) ||
             cfg_find_int(f, s, "finetune_average", 0, &tc->finetune_average) ||
             cfg_find_double(f, s, "finetune_outliers", 0, &tc->finetune_outliers) ||
             read_outlier_kinds(f, s, &tc->finetune_outlier_kinds) ||
             cfg_find_int(f, s, "no_ood_keep_pretrained", 1, &tc->no_ood_keep_pretrained) ||
             cfg_find_int(f, s, "checkpoint_interval", 200, &tc->checkpoint_interval) ||
             cfg_find_int(f, s, "select_interval", 50, &tc->select_interval) ||
             cfg_find_int(f, s, "select_images", 2000, &tc->select_images) ||
             cfg_find_int(f, s, "select_holdout", 1000, &tc->select_holdout) ||
             cfg_find_float(f, s, "select_max_acc_drop", 0.02f, &tc->select_max_acc_drop) ||
             cfg_find_float(f, s, "select_tolerance", 0, &tc->select_tolerance) ||
             cfg_find_double(f, s, "select_tpr", 0.95, &tc->select_tpr) ||
             cfg_find_int(f, s, "log_interval", 10, &tc->log_interval);
    if (!rc)
        rc = check_min(f, s, "finetune_batches", tc->finetune_batches, 0) ||
             check_min(f, s, "finetune_learning_rate", tc->finetune_learning_rate, 0) ||
             check_min(f, s, "finetune_momentum", tc->finetune_momentum, 0) ||
             check_min(f, s, "finetune_decay", tc->finetune_decay, 0) ||
             check_flag(f, s, "finetune_average", tc->finetune_average) ||
             check_flag(f, s, "no_ood_keep_pretrained", tc->no_ood_keep_pretrained) ||
             check_closed(f, s, "finetune_outliers", tc->finetune_outliers, 0, 1) ||
             check_min(f, s, "checkpoint_interval", tc->checkpoint_interval, 1) ||
             check_min(f, s, "select_interval", tc->select_interval, 1) ||
             check_min(f, s, "select_images", tc->select_images, 0) ||
             check_min(f, s, "select_holdout", tc->select_holdout, 0) ||
             check_min(f, s, "select_max_acc_drop", tc->select_max_acc_drop, 0) ||
             check_min(f, s, "select_tolerance", tc->select_tolerance, 0) ||
             check_range(f, s, "select_tpr", tc->select_tpr, 0, 1) ||
             check_min(f, s, "log_interval", tc->log_interval, 1);
    return rc ? -1 : 0;
}

int mcd_read_train_config(const char *cfgfile, mcd_train_config *tc)
{
    list *sections = cfg_read(cfgfile);
    if (!sections) return -1;
    int rc = -1;
    if (!sections->front) mcd_set_error("%s: empty cfg", cfgfile);
    else rc = mcd_read_train_section(cfgfile, (const cfg_section *)sections->front->val, tc);
    cfg_free(sections);
    return rc;
}
