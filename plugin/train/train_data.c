#include "train/train_data.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "io/data_lists.h"
#include "option_list.h"
#include "util/file_paths.h"
#include "util/mcd_error.h"

/* The .data file's keys the trainer reads (the values live in the file's option list). */
typedef struct data_keys {
    const char *labels, *train, *valid, *unlabeled;
} data_keys;

static int read_keys(list *opts, const char *datafile, int finetune, data_keys *k)
{
    k->labels = mcd_data_value(opts, datafile, "labels");
    k->train = mcd_data_value(opts, datafile, "train");
    k->valid = mcd_data_value(opts, datafile, "valid");
    k->unlabeled = option_find(opts, "unlabeled");
    if (!k->labels || !k->train || !k->valid) return -1;
    if (finetune && !k->unlabeled) {
        mcd_set_error("data file '%s' has no 'unlabeled=' line, which fine-tuning needs "
                      "(or set finetune_batches=0)", datafile);
        return -1;
    }
    return 0;
}

/* -backup, else the data file's backup= (default "backup/"), without trailing slashes. */
static void backup_name(list *opts, const char *backup, char *buf, size_t n)
{
    if (!backup) backup = opts ? option_find(opts, "backup") : NULL;
    snprintf(buf, n, "%s", backup ? backup : "backup/");
    size_t len = strlen(buf); /* "backup/" + "/" + name would read oddly in messages */
    while (len > 1 && buf[len - 1] == '/') buf[--len] = 0;
}

static int make_backup(mcd_train_data *d, list *opts, const char *backup)
{
    backup_name(opts, backup, d->backup, sizeof d->backup);
    return mcd_make_dirs(d->backup);
}

int mcd_train_backup_dir(const char *datafile, const char *backup, char *buf, size_t n)
{
    list *opts = backup ? NULL : mcd_read_data_file(datafile);
    if (!backup && !opts) return -1;
    backup_name(opts, backup, buf, n);
    mcd_free_data_file(opts);
    return 0;
}

static int read_labels(mcd_train_data *d, const char *file, int classes)
{
    int n;
    d->labels = mcd_read_list(file, &n, 0);
    if (!d->labels) return -1;
    d->classes = n;
    if (n != classes) {
        mcd_set_error("'%s' has %d labels but the network's heads have %d classes", file, n,
                      classes);
        return -1;
    }
    return 0;
}

static void shuffle_paths(char **p, int n)
{
    for (int i = n - 1; i > 0; --i) {
        int j = rand() % (i + 1);
        char *t = p[i];
        p[i] = p[j];
        p[j] = t;
    }
}

/* The training list, and the ID validation images kept for checkpoint choice. */
static int read_labeled(mcd_train_data *d, const data_keys *k, const network *net,
                        int select_images)
{
    snprintf(d->train_list, sizeof d->train_list, "%s", k->train);
    d->train_paths = mcd_read_list(k->train, &d->ntrain, 1);
    if (!d->train_paths ||
        mcd_check_labels(d->train_paths, d->ntrain, d->labels, d->classes, k->train))
        return -1;
    int nvalid;
    char **valid = mcd_read_list(k->valid, &nvalid, 1);
    if (!valid) return -1;
    int rc = mcd_check_labels(valid, nvalid, d->labels, d->classes, k->valid);
    if (rc == 0) {
        shuffle_paths(valid, nvalid);
        int nsel = select_images < nvalid ? select_images : nvalid;
        rc = mcd_image_set_load(&d->sel_id, net, valid, nsel, d->labels, d->classes);
        if (rc) mcd_set_error("%s (listed in '%s')", mcd_last_error(), k->valid);
    }
    mcd_free_list(valid, nvalid);
    return rc;
}

/* The unlabeled list, less the images held out for checkpoint choice. */
static int read_unlabeled(mcd_train_data *d, const char *file, const network *net,
                          int select_holdout)
{
    snprintf(d->unl_list, sizeof d->unl_list, "%s", file);
    int n;
    char **unl = mcd_read_list(file, &n, 1);
    if (!unl) return -1;
    shuffle_paths(unl, n);
    int hold = select_holdout < n / 2 ? select_holdout : n / 2;
    if (mcd_image_set_load(&d->sel_unl, net, unl, hold, NULL, 0)) {
        mcd_set_error("%s (listed in '%s')", mcd_last_error(), file);
        mcd_free_list(unl, n);
        return -1;
    }
    for (int i = 0; i < hold; ++i) free(unl[i]);
    memmove(unl, unl + hold, sizeof(char *) * (n - hold));
    d->unl_paths = unl;
    d->nunl = n - hold;
    return 0;
}

int mcd_train_data_load(mcd_train_data *d, const char *datafile, const char *backup,
                        const network *net, const mcd_train_config *tc, int classes)
{
    list *opts = mcd_read_data_file(datafile);
    if (!opts) return -1;
    data_keys k;
    int rc = read_keys(opts, datafile, tc->finetune_batches > 0, &k);
    if (rc == 0) rc = make_backup(d, opts, backup);
    if (rc == 0) rc = read_labels(d, k.labels, classes);
    if (rc == 0) {
        fprintf(stderr, "checking the data lists of %s ...\n", datafile);
        rc = read_labeled(d, &k, net, tc->select_images);
    }
    if (rc == 0 && k.unlabeled) rc = read_unlabeled(d, k.unlabeled, net, tc->select_holdout);
    if (rc == 0)
        fprintf(stderr, "%d labeled training images, %d unlabeled for fine-tuning; checkpoint "
                "choice on %d ID validation + %d held-out unlabeled images\n",
                d->ntrain, d->nunl, d->sel_id.n, d->sel_unl.n);
    mcd_free_data_file(opts);
    return rc;
}

void mcd_train_data_free(mcd_train_data *d)
{
    mcd_free_list(d->labels, d->classes);
    mcd_free_list(d->train_paths, d->ntrain);
    mcd_free_list(d->unl_paths, d->nunl);
    mcd_image_set_free(&d->sel_id);
    mcd_image_set_free(&d->sel_unl);
    memset(d, 0, sizeof *d);
}
