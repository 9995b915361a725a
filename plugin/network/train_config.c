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

int mcd_read_train_section(const char *f, const cfg_section *s, mcd_train_config *tc)
{
    cfg_find_str(s, "data"); /* a known key: mcd_resolve_data_file reads it */
    int rc = cfg_find_int(f, s, "finetune_batches", 0, &tc->finetune_batches) ||
             cfg_find_float(f, s, "finetune_learning_rate", 0.01f, &tc->finetune_learning_rate) ||
             cfg_find_float(f, s, "finetune_momentum", 0.9f, &tc->finetune_momentum) ||
             cfg_find_float(f, s, "finetune_decay", 0.0001f, &tc->finetune_decay) ||
             cfg_find_int(f, s, "finetune_augment", 0, &tc->finetune_augment) ||
             cfg_find_int(f, s, "finetune_average", 0, &tc->finetune_average) ||
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
