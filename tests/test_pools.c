/* Pools for the study of issue 15 (`prepare-data -pool`, `make data-pool`), made from
 * data/fmnist-small: exact counts and OOD shares, stratified ID images that are in no
 * training, validation or test list, smaller pools' ID images inside larger ones', the kinds
 * (MNIST digits of the unlabeled half; noise that is Gaussian or uniform by its pixels and
 * never one of the test sets' images), the .data file's keys, the same bytes on a second
 * run, and bad options refused with exit 1 and one line. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "darknet.h"
#include "io/data_lists.h"
#include "io/image_io.h"
#include "option_list.h"
#include "test_util.h"

#define FROM "data/fmnist-small"
#define POOL 1000 /* FROM's unlabeled-id images */
#define CLASSES 10

static const char *const label_names[CLASSES] = {
    "top", "trouser", "pullover", "dress", "coat", "sandal", "shirt", "sneaker", "bag", "boot",
};

static char root[64];
static char out[1 << 14];

static const char *converter(void)
{
    const char *v = getenv("PREPARE_DATA_BIN");
    return v && *v ? v : "build/prepare-data";
}

/* A sorted list file, for membership by bsearch. */
typedef struct sorted_list {
    char **v;
    int n;
} sorted_list;

static int cmp_str(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

static sorted_list read_sorted(const char *file)
{
    sorted_list l = {NULL, 0};
    l.v = mcd_read_list(file, &l.n, 0);
    if (!l.v) l.n = 0;
    else qsort(l.v, l.n, sizeof(char *), cmp_str);
    return l;
}

static void free_sorted(sorted_list *l)
{
    if (l->v) mcd_free_list(l->v, l->n);
    l->v = NULL;
    l->n = 0;
}

static int contains(const sorted_list *l, const char *s)
{
    return l->n && bsearch(&s, l->v, l->n, sizeof(char *), cmp_str) != NULL;
}

/* How many entries of a are in b. */
static int in_both(const sorted_list *a, const sorted_list *b)
{
    int k = 0;
    for (int i = 0; i < a->n; ++i) k += contains(b, a->v[i]);
    return k;
}

static int has_duplicates(const sorted_list *l)
{
    for (int i = 1; i < l->n; ++i)
        if (!strcmp(l->v[i - 1], l->v[i])) return 1;
    return 0;
}

static const char *pool_dir(const char *name)
{
    return test_path(root, name);
}

/* prepare-data -pool into ROOT/name; its exit status, output in out. */
static int make_pool(const char *name, const char *share, const char *kind)
{
    char cmd[1024];
    snprintf(cmd, sizeof cmd, "%s -pool -from %s -share %s -kind %s -out %s", converter(), FROM,
             share, kind, pool_dir(name));
    return test_run_command(cmd, out, sizeof out);
}

static sorted_list pool_list(const char *name, const char *list)
{
    char file[512];
    snprintf(file, sizeof file, "%s/%s.list", pool_dir(name), list);
    return read_sorted(file);
}

static sorted_list from_list(const char *list)
{
    return read_sorted(test_path(FROM, list));
}

static int setup(void)
{
    /* digits only: a label name ("bag", "top") in the folder would be refused */
    snprintf(root, sizeof root, "/tmp/mcd-pools-%ld", (long)getpid());
    struct stat st;
    if (stat(FROM "/unlabeled-id.list", &st) != 0) {
        printf("\n%s is missing: run `make data-small`\n", FROM);
        return -1;
    }
    return mkdir(root, 0777);
}

static int teardown(void)
{
    char cmd[256];
    snprintf(cmd, sizeof cmd, "rm -rf %s", root);
    return system(cmd) == 0 ? 0 : -1;
}

/* The parts of pool `name`: sizes, where each image comes from, nothing from the labeled
 * or test lists; ID images stratified. */
static void check_pool(const char *name, int nood, const char *ood_from)
{
    sorted_list all = pool_list(name, "unlabeled"), id = pool_list(name, "unlabeled-id"),
                ood = pool_list(name, "unlabeled-ood"), held = from_list("unlabeled-id.list");
    CU_ASSERT_EQUAL(all.n, POOL);
    CU_ASSERT_EQUAL(ood.n, nood);
    CU_ASSERT_EQUAL(id.n, POOL - nood);
    CU_ASSERT_FALSE(has_duplicates(&all));
    CU_ASSERT_EQUAL(in_both(&id, &all), id.n); /* unlabeled = its two parts */
    CU_ASSERT_EQUAL(in_both(&ood, &all), ood.n);
    CU_ASSERT_EQUAL(in_both(&id, &held), id.n); /* ID: FROM's held-out images */
    if (ood_from) {
        sorted_list src = from_list(ood_from);
        CU_ASSERT_EQUAL(in_both(&ood, &src), ood.n);
        free_sorted(&src);
    }
    const char *others[] = {"train.list", "id-valid.list", "id-test.list", "ood-mnist.list",
                            "ood-gaussian.list", "ood-uniform.list"};
    for (size_t i = 0; i < sizeof others / sizeof others[0]; ++i) {
        sorted_list o = from_list(others[i]);
        CU_ASSERT(o.n > 0);
        CU_ASSERT_EQUAL(in_both(&all, &o), 0);
        free_sorted(&o);
    }
    int per_class[CLASSES] = {0};
    for (int i = 0; i < id.n; ++i)
        for (int c = 0; c < CLASSES; ++c) per_class[c] += strstr(id.v[i], label_names[c]) != 0;
    for (int c = 0; c < CLASSES; ++c) /* stratified: the classes differ by one at most */
        CU_ASSERT(per_class[c] == id.n / CLASSES || per_class[c] == id.n / CLASSES + 1);
    free_sorted(&all);
    free_sorted(&id);
    free_sorted(&ood);
    free_sorted(&held);
}

static const char *data_value(list *opts, const char *key)
{
    const char *v = option_find(opts, (char *)key);
    return v ? v : "(absent)";
}

static void test_mnist_pool(void)
{
    CU_ASSERT_EQUAL_FATAL(make_pool("pool-mnist-0.1", "0.1", "mnist"), 0);
    check_pool("pool-mnist-0.1", 100, "unlabeled-ood.list");
    char file[512];
    snprintf(file, sizeof file, "%s/pool.data", pool_dir("pool-mnist-0.1"));
    list *opts = mcd_read_data_file(file);
    CU_ASSERT_PTR_NOT_NULL_FATAL(opts);
    CU_ASSERT_STRING_EQUAL(data_value(opts, "train"), FROM "/train.list");
    CU_ASSERT_STRING_EQUAL(data_value(opts, "valid"), FROM "/id-valid.list");
    CU_ASSERT_STRING_EQUAL(data_value(opts, "id_test"), FROM "/id-test.list");
    CU_ASSERT_STRING_EQUAL(data_value(opts, "labels"), FROM "/labels.list");
    CU_ASSERT_STRING_EQUAL(data_value(opts, "ood"), FROM "/ood-mnist.list," FROM
                           "/ood-gaussian.list," FROM "/ood-uniform.list");
    char want[512];
    snprintf(want, sizeof want, "%s/unlabeled.list", pool_dir("pool-mnist-0.1"));
    CU_ASSERT_STRING_EQUAL(data_value(opts, "unlabeled"), want);
    snprintf(want, sizeof want, "%s/unlabeled-ood.list", pool_dir("pool-mnist-0.1"));
    CU_ASSERT_STRING_EQUAL(data_value(opts, "transductive_ood"), want);
    mcd_free_data_file(opts);
}

/* Shares 0, 0.02, 0.5 (and 0.1 above): exact counts; share 0 has no OOD and no transductive
 * OOD list; a smaller share's ID images include a larger one's, its digits are among them. */
static void test_shares(void)
{
    CU_ASSERT_EQUAL_FATAL(make_pool("pool-mnist-0", "0", "mnist"), 0);
    CU_ASSERT_EQUAL_FATAL(make_pool("pool-mnist-0.02", "0.02", "mnist"), 0);
    CU_ASSERT_EQUAL_FATAL(make_pool("pool-mnist-0.5", "0.5", "mnist"), 0);
    if (access(test_path(pool_dir("pool-mnist-0.1"), "unlabeled.list"), R_OK))
        CU_ASSERT_EQUAL_FATAL(make_pool("pool-mnist-0.1", "0.1", "mnist"), 0);
    check_pool("pool-mnist-0", 0, NULL);
    check_pool("pool-mnist-0.02", 20, "unlabeled-ood.list");
    check_pool("pool-mnist-0.5", 500, "unlabeled-ood.list");
    char file[512];
    snprintf(file, sizeof file, "%s/pool.data", pool_dir("pool-mnist-0"));
    list *opts = mcd_read_data_file(file);
    CU_ASSERT_PTR_NOT_NULL_FATAL(opts);
    CU_ASSERT_PTR_NULL(option_find(opts, "transductive_ood"));
    mcd_free_data_file(opts);
    const char *order[] = {"pool-mnist-0", "pool-mnist-0.02", "pool-mnist-0.1", "pool-mnist-0.5"};
    for (int i = 0; i + 1 < 4; ++i) {
        sorted_list id_a = pool_list(order[i], "unlabeled-id"),
                    id_b = pool_list(order[i + 1], "unlabeled-id"),
                    ood_a = pool_list(order[i], "unlabeled-ood"),
                    ood_b = pool_list(order[i + 1], "unlabeled-ood");
        CU_ASSERT_EQUAL(in_both(&id_b, &id_a), id_b.n);
        CU_ASSERT_EQUAL(in_both(&ood_a, &ood_b), ood_a.n);
        free_sorted(&id_a);
        free_sorted(&id_b);
        free_sorted(&ood_a);
        free_sorted(&ood_b);
    }
}

/* The share of a grey image's pixels at 0 or 255, and its mean, in [0, 1]. */
static void pixel_stats(const char *path, double *extreme, double *mean)
{
    image im;
    if (mcd_read_image(path, 0, 0, 1, &im)) { /* Darknet's load_image mishandles 1 channel */
        *extreme = *mean = -1;
        return;
    }
    int n = im.w * im.h, ext = 0;
    double sum = 0;
    for (int i = 0; i < n; ++i) {
        ext += im.data[i] <= 0.5f / 255 || im.data[i] >= 254.5f / 255;
        sum += im.data[i];
    }
    *extreme = (double)ext / n;
    *mean = sum / n;
    free_image(im);
}

static char *read_bytes(const char *path, long *len)
{
    FILE *f = fopen(path, "rb");
    if (!f) return NULL;
    fseek(f, 0, SEEK_END);
    *len = ftell(f);
    fseek(f, 0, SEEK_SET);
    char *b = malloc(*len ? *len : 1);
    if (fread(b, 1, *len, f) != (size_t)*len) *len = -1;
    fclose(f);
    return b;
}

/* How many of `paths` have the bytes of one of `others`' files. */
static int same_files(const sorted_list *paths, const sorted_list *others)
{
    int same = 0;
    long *lens = calloc(others->n, sizeof(long));
    char **bytes = calloc(others->n, sizeof(char *));
    for (int j = 0; j < others->n; ++j) bytes[j] = read_bytes(others->v[j], &lens[j]);
    for (int i = 0; i < paths->n; ++i) {
        long len;
        char *b = read_bytes(paths->v[i], &len);
        for (int j = 0; b && j < others->n; ++j)
            if (bytes[j] && len == lens[j] && !memcmp(b, bytes[j], len)) ++same;
        free(b);
    }
    for (int j = 0; j < others->n; ++j) free(bytes[j]);
    free(bytes);
    free(lens);
    return same;
}

static void test_noise_pool(void)
{
    CU_ASSERT_EQUAL_FATAL(make_pool("pool-noise-0.5", "0.5", "noise"), 0);
    check_pool("pool-noise-0.5", 500, NULL);
    sorted_list ood = pool_list("pool-noise-0.5", "unlabeled-ood");
    sorted_list gauss = from_list("ood-gaussian.list"), unif = from_list("ood-uniform.list");
    int ngauss = 0, nunif = 0, kinds_ok = 1;
    for (int i = 0; i < ood.n; ++i) {
        double extreme, mean;
        pixel_stats(ood.v[i], &extreme, &mean);
        if (strstr(ood.v[i], "/pool-gaussian/")) {
            ++ngauss; /* N(0.5, 1) clipped: P(|z| > 0.5) = 0.617 of the pixels at 0 or 255 */
            kinds_ok &= extreme > 0.5 && extreme < 0.73 && mean > 0.44 && mean < 0.56;
        } else if (strstr(ood.v[i], "/pool-uniform/")) {
            ++nunif; /* U[0, 1]: 1/255 of the pixels at 0 or 255, mean 0.5 */
            kinds_ok &= extreme < 0.03 && mean > 0.45 && mean < 0.55;
        } else {
            kinds_ok = 0; /* no MNIST in a noise pool */
        }
        if (!kinds_ok) {
            printf("\n%s: %.3f at 0 or 255, mean %.3f\n", ood.v[i], extreme, mean);
            break;
        }
    }
    CU_ASSERT_EQUAL(ngauss, 250);
    CU_ASSERT_EQUAL(nunif, 250);
    CU_ASSERT(kinds_ok);
    /* made with seeds of its own: never one of the test sets' images */
    CU_ASSERT_EQUAL(same_files(&ood, &gauss), 0);
    CU_ASSERT_EQUAL(same_files(&ood, &unif), 0);
    free_sorted(&ood);
    free_sorted(&gauss);
    free_sorted(&unif);
    CU_ASSERT_EQUAL(make_pool("pool-gaussian-0.02", "0.02", "gaussian"), 0);
    check_pool("pool-gaussian-0.02", 20, NULL);
}

/* The same command twice: the same bytes, nothing rewritten. */
static void test_deterministic(void)
{
    CU_ASSERT_EQUAL_FATAL(make_pool("again-a", "0.1", "noise"), 0);
    CU_ASSERT_PTR_NOT_NULL(strstr(out, " 0 unchanged"));
    CU_ASSERT_EQUAL_FATAL(make_pool("again-a", "0.1", "noise"), 0);
    CU_ASSERT_PTR_NOT_NULL(strstr(out, " 0 files written"));
    CU_ASSERT_EQUAL_FATAL(make_pool("again-b", "0.1", "mnist"), 0);
    CU_ASSERT_EQUAL_FATAL(make_pool("again-c", "0.1", "mnist"), 0);
    long la, lb;
    char *a = read_bytes(test_path(pool_dir("again-b"), "unlabeled.list"), &la);
    char *b = read_bytes(test_path(pool_dir("again-c"), "unlabeled.list"), &lb);
    CU_ASSERT(a && b && la == lb && la > 0 && !memcmp(a, b, la));
    free(a);
    free(b);
}

static void test_bad_options(void)
{
    const char *cases[][3] = {
        {"-share 1.5 -kind mnist", "-share 1.5", "from 0 to 1"},
        {"-share lots -kind mnist", "-share lots", "from 0 to 1"},
        {"-kind mnist", "-share (missing)", "from 0 to 1"},
        {"-share 0.1 -kind fog", "-kind fog", "the kinds are mnist"},
    };
    char cmd[1024];
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; ++i) {
        snprintf(cmd, sizeof cmd, "%s -pool -from %s %s -out %s", converter(), FROM, cases[i][0],
                 pool_dir("bad"));
        int rc = test_run_command(cmd, out, sizeof out);
        int ok = rc == 1 && strstr(out, cases[i][1]) && strstr(out, cases[i][2]) &&
                 strchr(out, '\n') == out + strlen(out) - 1;
        if (!ok) printf("\n%s: exit %d: %s\n", cases[i][0], rc, out);
        CU_ASSERT(ok);
    }
    snprintf(cmd, sizeof cmd, "%s -pool -from %s/nothing -share 0.1 -out %s", converter(), root,
             pool_dir("bad"));
    CU_ASSERT_EQUAL(test_run_command(cmd, out, sizeof out), 1);
    CU_ASSERT_PTR_NOT_NULL(strstr(out, "nothing/unlabeled-id.list"));
    CU_ASSERT_PTR_NOT_NULL(strstr(out, "make data"));
    snprintf(cmd, sizeof cmd, "%s -pool -from %s -share 0.1 -out %s/", converter(), FROM, FROM);
    CU_ASSERT_EQUAL(test_run_command(cmd, out, sizeof out), 1);
    CU_ASSERT_PTR_NOT_NULL(strstr(out, "is -from"));
    struct stat st;
    CU_ASSERT_NOT_EQUAL(stat(pool_dir("bad"), &st), 0); /* nothing written */
}

int add_pools_suite(void)
{
    CU_pSuite s = CU_add_suite("data pools", setup, teardown);
    return !s ||
           !CU_add_test(s, "MNIST pool: counts, sources, no overlap, .data keys", test_mnist_pool) ||
           !CU_add_test(s, "shares 0, 0.02, 0.5: exact, nested", test_shares) ||
           !CU_add_test(s, "noise pool: kinds by pixels, not the test sets' images",
                        test_noise_pool) ||
           !CU_add_test(s, "deterministic, a second run rewrites nothing", test_deterministic) ||
           !CU_add_test(s, "bad options: exit 1, one line", test_bad_options);
}
