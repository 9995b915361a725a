/* Bad inputs through the binary (issue 7): each gets one clear error naming the file (and
 * line, section, key where there is one), exit status 1, no crash, and no output file.
 *   - cfg: Darknet's own sections with values Darknet would crash on or misread, shapes
 *     that do not connect; a misspelt key warns with its file and line.
 *   - weights: missing, empty, truncated, too long, from another cfg, a wrong header,
 *     NaN values, a directory; through `mcd check`, `mcd detect` and `mcd train`.
 *   - data: a .data file without a key, list files missing or empty, images that are
 *     corrupt, empty, text or over the pixel limit; images of other sizes and channel
 *     counts train fine.
 * The data cases use a few images of the small data set (make data-small). */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "darknet.h"
#include "util/mcd_error.h"
#include "network/mcd_network.h"
#include "test_util.h"
#include "ood/threshold_file.h"
#include "network/weights_file.h"

#define SMALL "data/fmnist-small"
#define MCD_CFG "cfg/mcd-small.cfg"

static char dir[64];
static char out[1 << 16];

static const char *path_in(const char *name)
{
    return test_path(dir, name);
}

static void write_text(const char *name, const char *text)
{
    test_write_text(path_in(name), text);
}

#define run(...) test_run_darknet(out, sizeof out, __VA_ARGS__)

/* exit 1, Darknet's error prefix, and every wanted piece of the message */
#define expect_error(rc, case_name, want1, want2) \
    CU_ASSERT(test_is_error(rc, out, case_name, want1, want2))

/* The first n lines of a list of the small set, into a list of ours. */
static void copy_list(const char *from, const char *to, int n)
{
    FILE *in = fopen(from, "r"), *o = fopen(path_in(to), "w");
    char line[512];
    for (int i = 0; i < n && in && o && fgets(line, sizeof line, in); ++i) fputs(line, o);
    if (in) fclose(in);
    if (o) fclose(o);
}

static void write_data(const char *name, const char *train, const char *skip_key)
{
    char text[4096] = "";
    const char *keys[][2] = {{"classes", "10"}, {"labels", SMALL "/labels.list"},
                             {"train", train}, {"valid", path_in("valid.list")},
                             {"unlabeled", path_in("unlabeled.list")}};
    for (size_t i = 0; i < sizeof keys / sizeof keys[0]; ++i) {
        if (skip_key && strcmp(keys[i][0], skip_key) == 0) continue;
        size_t len = strlen(text);
        snprintf(text + len, sizeof text - len, "%s=%s\n", keys[i][0], keys[i][1]);
    }
    write_text(name, text);
}

/* A short training run on our lists: a few batches each phase, no checkpoint expected. */
#define TRAIN_ARGS "mcd train %s -data %s -backup %s -seed 1 -pretrain_batches 2 -finetune_batches 1"

static int setup(void)
{
    strcpy(dir, "/tmp/mcd-badin-XXXXXX");
    if (!mkdtemp(dir)) return 1;
    copy_list(SMALL "/id-valid.list", "valid.list", 20);
    copy_list(SMALL "/unlabeled.list", "unlabeled.list", 20);
    copy_list(SMALL "/train.list", "train.list", 40);
    /* a cfg of mcd-small's shape with a smaller batch: quick to train */
    char cmd[1024];
    snprintf(cmd, sizeof cmd, "sed -e 's/^batch=128/batch=16/' " MCD_CFG " > %s",
             path_in("small.cfg"));
    return system(cmd) != 0;
}

static int teardown(void)
{
    char cmd[128];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", dir);
    return system(cmd) != 0;
}

/* --- cfg: Darknet's own sections ----------------------------------------------------------- */

#define NET "[net]\nbatch=4\nheight=6\nwidth=6\nchannels=1\n"
/* NET is lines 1-5: a section after it starts at line 6 */
static const struct {
    const char *text;
    const char *want[2];
} bad_stock[] = {
    {NET "[convolutional]\nfilters=-4\nsize=3\n", {":6: [convolutional]", "filters=-4 is out of range"}},
    {NET "[convolutional]\nfilters=abc\nsize=3\n", {":6:", "filters=abc is not an integer"}},
    {NET "[convolutional]\nfilters=1e3\nsize=3\n", {":6:", "filters=1e3 is not an integer"}},
    {NET "[convolutional]\nfilters=4\nsize=0\n", {":6:", "size=0"}},
    {NET "[convolutional]\nfilters=4\nsize=3\nstride=0\n", {":6:", "stride=0"}},
    {NET "[convolutional]\nfilters=4\nsize=20\n", {":6:", "shapes do not connect"}},
    {NET "[convolutional]\nfilters=4\nsize=3\ngroups=3\n", {":6:", "groups=3"}},
    {NET "[convolutional]\nfilters=4\nsize=3\nactivation=lekay\n", {":6:", "activation=lekay"}},
    {NET "[convolutional]\nfilters=70000\nsize=3\n", {":6:", "filters=70000"}},
    {NET "[convolutional]\nfilters=60000\nsize=3\npad=1\n[convolutional]\nfilters=60000\nsize=3\n",
     {":10:", "would take"}},
    {NET "[maxpool]\nsize=2\nstride=0\n", {":6: [maxpool]", "stride=0"}},
    {NET "[connected]\noutput=0\n", {":6: [connected]", "output=0"}},
    {NET "[connected]\noutput=3\n[convolutional]\nfilters=2\nsize=3\n", {":8:", "shapes do not connect"}},
    {NET "[softmax]\ngroups=0\n", {":6: [softmax]", "groups=0"}},
    {NET "[route]\nlayers=5\n", {":6: [route]", "layers=5"}},
    {NET "[connected]\noutput=3\n[route]\nlayers=-1,x\n", {":8: [route]", "layers=-1,x"}},
    {NET "[shortcut]\nfrom=-3\n", {":6: [shortcut]", "from=-3"}},
    {NET "[dropout]\nprobability=0.5\n", {":6: [dropout]", "first layer"}},
    {NET "[cost]\n", {":6: [cost]", "first layer"}},
    {NET "[connected]\noutput=3\n[dropout]\nprobability=1.5\n", {":8:", "probability=1.5"}},
    {NET "[upsample]\nstride=0\n", {":6: [upsample]", "stride=0"}},
    {"[net]\nbatch=0\nheight=6\nwidth=6\nchannels=1\n[connected]\noutput=3\n", {":1: [net]", "batch=0"}},
    {"[net]\nbatch=4\nheight=six\nwidth=6\nchannels=1\n[connected]\noutput=3\n", {":1: [net]", "height=six"}},
    {"[net]\nbatch=4\nheight=6\nwidth=6\nchannels=1\nlearning_rate=inf\n[connected]\noutput=3\n",
     {":1: [net]", "learning_rate=inf"}},
    {"[net]\nbatch=4\nheight=6\nwidth=6\nchannels=1\npolicy=stpes\n[connected]\noutput=3\n",
     {":1: [net]", "policy=stpes"}},
    {"[net]\nbatch=4\nheight=6\nwidth=6\nchannels=1\npolicy=steps\nsteps=10,20\nscales=.1\n"
     "[connected]\noutput=3\n", {":1: [net]", "policy=steps"}},
    {"[net]\nbatch=100000\nheight=600\nwidth=600\nchannels=3\n[connected]\noutput=3\n",
     {":1: [net]", "the input"}},
};

static void test_bad_stock_sections(void)
{
    static const char *commands[] = {"mcd check", "speed"};
    for (size_t i = 0; i < sizeof bad_stock / sizeof bad_stock[0]; ++i) {
        const char *path = test_write_temp(bad_stock[i].text);
        /* the API: NULL and the message */
        mcd_set_error("%s", "");
        network *net = mcd_parse_network_cfg(path);
        CU_ASSERT_PTR_NULL(net);
        if (net) {
            printf("\ncase %zu parsed:\n%s\n", i, bad_stock[i].text);
            free_network(net);
        }
        snprintf(out, sizeof out, "darknet: error: %s", mcd_last_error());
        char name[64];
        snprintf(name, sizeof name, "stock cfg case %zu (API)", i);
        expect_error(1, name, bad_stock[i].want[0], bad_stock[i].want[1]);
        CU_ASSERT_PTR_NOT_NULL(strstr(out, path));
        /* the binary: the plugin's verb and a stock command (which crashed on most) */
        for (int c = 0; c < 2; ++c) {
            snprintf(name, sizeof name, "stock cfg case %zu (%s)", i, commands[c]);
            expect_error(run("%s %s", commands[c], path), name, bad_stock[i].want[0], path);
        }
        unlink(path);
    }
}

static void test_misspelt_key_warns(void)
{
    /* mcd-small with a misspelt key in its first [convolutional] */
    char cmd[1024];
    snprintf(cmd, sizeof cmd, "sed -e '0,/^filters=16/s//filtres=16/' " MCD_CFG " > %s",
             path_in("misspelt.cfg"));
    CU_ASSERT_EQUAL_FATAL(system(cmd), 0);
    int rc = run("mcd check %s", path_in("misspelt.cfg"));
    CU_ASSERT_EQUAL(rc, 0); /* Darknet ignores it (filters takes its default): a warning */
    const char *w = strstr(out, "darknet: warning: ");
    CU_ASSERT_PTR_NOT_NULL(w);
    CU_ASSERT_PTR_NOT_NULL(strstr(out, "misspelt.cfg:"));
    CU_ASSERT_PTR_NOT_NULL(strstr(out, "[convolutional]: unknown key 'filtres'"));
}

/* [net] holds Darknet's keys and the trainer's: a misspelt one of either warns; a bad
 * trainer value stops every command, not only `mcd train`. */
static void test_net_keys_checked(void)
{
    char cmd[1024];
    snprintf(cmd, sizeof cmd,
             "sed -e 's/^finetune_learning_rate=/finetune_learnig_rate=/' -e 's/^momentum=/momentun=/' "
             MCD_CFG " > %s", path_in("net-keys.cfg"));
    CU_ASSERT_EQUAL_FATAL(system(cmd), 0);
    CU_ASSERT_EQUAL(run("mcd check %s", path_in("net-keys.cfg")), 0);
    CU_ASSERT_PTR_NOT_NULL(strstr(out, "net-keys.cfg:"));
    CU_ASSERT_PTR_NOT_NULL(strstr(out, "[net]: key 'finetune_learnig_rate' ignored"));
    CU_ASSERT_PTR_NOT_NULL(strstr(out, "[net]: key 'momentun' ignored"));
    /* keys that are read draw no warning */
    CU_ASSERT_PTR_NULL(strstr(out, "'finetune_batches'"));
    CU_ASSERT_PTR_NULL(strstr(out, "'max_batches'"));

    snprintf(cmd, sizeof cmd, "sed -e 's/^finetune_batches=.*/finetune_batches=-3/' " MCD_CFG
             " > %s", path_in("net-bad-value.cfg"));
    CU_ASSERT_EQUAL_FATAL(system(cmd), 0);
    expect_error(run("mcd check %s", path_in("net-bad-value.cfg")), "bad trainer key",
                 "finetune_batches=-3", "net-bad-value.cfg");
    unlink(path_in("net-keys.cfg"));
    unlink(path_in("net-bad-value.cfg"));
}

/* --- weights ---------------------------------------------------------------------------------- */

static long file_size(const char *path)
{
    struct stat st;
    return stat(path, &st) == 0 ? (long)st.st_size : -1;
}

static void copy_prefix(const char *from, const char *to, long bytes, const char *append,
                        size_t append_len)
{
    FILE *in = fopen(from, "rb"), *o = fopen(to, "wb");
    for (long i = 0; i < bytes && in && o; ++i) {
        int ch = fgetc(in);
        if (ch == EOF) break;
        fputc(ch, o);
    }
    if (append && o) fwrite(append, 1, append_len, o);
    if (in) fclose(in);
    if (o) fclose(o);
}

static void test_bad_weights(void)
{
    network *net = mcd_parse_network_cfg(MCD_CFG);
    CU_ASSERT_PTR_NOT_NULL_FATAL(net);
    char good[640];
    snprintf(good, sizeof good, "%s", path_in("good.weights"));
    CU_ASSERT_EQUAL_FATAL(mcd_save_weights(net, good), 0);
    long size = file_size(good);
    /* weights of another network: mcd-small with 8 filters in its first layer */
    char cmd[1024];
    snprintf(cmd, sizeof cmd, "sed -e '0,/^filters=16/s//filters=8/' " MCD_CFG " > %s",
             path_in("other.cfg"));
    CU_ASSERT_EQUAL_FATAL(system(cmd), 0);
    network *other = mcd_parse_network_cfg(path_in("other.cfg"));
    CU_ASSERT_PTR_NOT_NULL_FATAL(other);
    CU_ASSERT_EQUAL(mcd_save_weights(other, path_in("other.weights")), 0);
    free_network(other);
    /* the same file with a NaN in the first layer's biases (right after the 20-byte header) */
    network *nan_net = mcd_parse_network_cfg(MCD_CFG);
    nan_net->layers[0].biases[0] = NAN;
    CU_ASSERT_EQUAL(mcd_save_weights(nan_net, path_in("nan.weights")), 0);
    free_network(nan_net);
    copy_prefix(good, path_in("short.weights"), size / 2, NULL, 0);
    copy_prefix(good, path_in("long.weights"), size, "extra bytes", 11);
    copy_prefix(good, path_in("header-only.weights"), 8, NULL, 0);
    copy_prefix(good, path_in("empty.weights"), 0, NULL, 0);
    int bad_header[3] = {0x474e5089, 0x0a1a0a0d, 13}; /* a PNG's first bytes */
    FILE *f = fopen(path_in("png.weights"), "wb");
    fwrite(bad_header, sizeof bad_header, 1, f);
    fclose(f);
    mkdir(path_in("dir.weights"), 0755);
    const struct {
        const char *file;
        const char *want;
    } cases[] = {
        {"missing.weights", "No such file"},
        {"empty.weights", "too short"},
        {"header-only.weights", "too short"},
        {"short.weights", "cut short"},
        {"long.weights", "another cfg"},
        {"other.weights", "another cfg"},
        {"png.weights", "Darknet weights header"},
        {"nan.weights", "NaN"},
        {"dir.weights", "not a regular file"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; ++i) {
        const char *w = path_in(cases[i].file);
        CU_ASSERT_EQUAL(mcd_load_weights(net, w, net->n, 1), -1);
        expect_error(run("mcd check %s %s", MCD_CFG, w), cases[i].file, w, cases[i].want);
        expect_error(run("mcd detect %s %s -thresh 0.5 %s", MCD_CFG, w, SMALL "/train/00015_boot.png"),
                     cases[i].file, w, cases[i].want);
        /* resuming training from it: refused before anything is written */
        char backup[640];
        snprintf(backup, sizeof backup, "%s", path_in("resume"));
        write_data("resume.data", path_in("train.list"), NULL);
        expect_error(run(TRAIN_ARGS " %s", path_in("small.cfg"), path_in("resume.data"), backup, w),
                     cases[i].file, w, cases[i].want);
        CU_ASSERT_NOT_EQUAL(access(path_in("resume/small.weights"), F_OK), 0);
    }
    /* the good file loads */
    CU_ASSERT_EQUAL(run("mcd check %s %s", MCD_CFG, good), 0);
    free_network(net);
}

/* --- data ------------------------------------------------------------------------------------- */

static void test_bad_data_files(void)
{
    /* a key missing from the .data file */
    static const char *keys[] = {"labels", "train", "valid", "unlabeled"};
    for (size_t i = 0; i < sizeof keys / sizeof keys[0]; ++i) {
        write_data("nokey.data", path_in("train.list"), keys[i]);
        char want[64];
        snprintf(want, sizeof want, "'%s='", keys[i]);
        expect_error(run(TRAIN_ARGS, path_in("small.cfg"), path_in("nokey.data"), path_in("nokey")),
                     keys[i], "nokey.data", strstr(want, "unlabeled") ? "unlabeled=" : want);
    }
    /* a line that is not key=value (Darknet warns and reads on) */
    write_text("garbled.data", "classes=10\ntrain " SMALL "/train.list\n");
    expect_error(run(TRAIN_ARGS, path_in("small.cfg"), path_in("garbled.data"), path_in("nokey")),
                 "garbled .data", "garbled.data:2:", "key=value");
    /* list files: missing, empty, a line naming no file */
    write_text("empty.list", "");
    write_text("blank.list", "\n\n");
    mkdir(path_in("dir.list"), 0755);
    const char *lists[][2] = {{"missing.list", "cannot open list file"},
                              {"empty.list", "is empty"},
                              {"blank.list", "is empty"},
                              {"dir.list", "is a directory"}};
    for (size_t i = 0; i < sizeof lists / sizeof lists[0]; ++i) {
        write_data("list.data", path_in(lists[i][0]), NULL);
        expect_error(run(TRAIN_ARGS, path_in("small.cfg"), path_in("list.data"), path_in("lists")),
                     lists[i][0], path_in(lists[i][0]), lists[i][1]);
    }
    CU_ASSERT_NOT_EQUAL(access(path_in("lists/small.weights"), F_OK), 0);
    /* a threshold file whose image count does not fit an int (found by make fuzz) */
    write_text("big.threshold", "threshold=0.5\nid_images=4999555555555555555555\n");
    mcd_threshold th;
    CU_ASSERT_EQUAL(mcd_threshold_load(path_in("big.threshold"), &th), -1);
    CU_ASSERT_PTR_NOT_NULL(strstr(mcd_last_error(), "big.threshold:2: id_images="));
    /* a directory given as the cfg or the .data file */
    expect_error(run("mcd check %s", dir), "directory as cfg", dir, "is a directory");
    expect_error(run(TRAIN_ARGS, path_in("small.cfg"), dir, path_in("lists")), "directory as .data",
                 dir, "is a directory");
}

/* Images that are not images, or too large to decode: each alone in the training list, so
 * the first batch picks it. */
static void test_bad_images(void)
{
    char cmd[1024];
    /* a PNG cut in half (its name carries a label, as the loader wants) */
    snprintf(cmd, sizeof cmd, "head -c 150 " SMALL "/train/00015_boot.png > %s",
             path_in("cut_boot.png"));
    CU_ASSERT_EQUAL_FATAL(system(cmd), 0);
    write_text("empty_boot.png", "");
    write_text("text_boot.png", "this is a text file\n");
    /* a PNG whose header claims 100000x100000: over the pixel limit, refused unread */
    CU_ASSERT_EQUAL_FATAL(test_write_zero_png(path_in("claim_boot.png"), 100000, 100000, 0), 0);
    static const char *images[] = {"cut_boot.png", "empty_boot.png", "text_boot.png",
                                   "claim_boot.png"};
    for (size_t i = 0; i < sizeof images / sizeof images[0]; ++i) {
        char list[700];
        snprintf(list, sizeof list, "%s\n", path_in(images[i]));
        write_text("bad-image.list", list);
        write_data("img.data", path_in("bad-image.list"), NULL);
        expect_error(run(TRAIN_ARGS, path_in("small.cfg"), path_in("img.data"), path_in("imgs")),
                     images[i], path_in(images[i]), "bad-image.list");
        /* no checkpoint from a run that never trained */
        CU_ASSERT_NOT_EQUAL(access(path_in("imgs/small.weights"), F_OK), 0);
        /* in the validation list, found while loading it, before training */
        write_data("img.data", path_in("train.list"), NULL);
        char text[2048];
        snprintf(text, sizeof text, "classes=10\nlabels=" SMALL "/labels.list\ntrain=%s\n"
                 "valid=%s\nunlabeled=%s\n", path_in("train.list"), path_in("bad-image.list"),
                 path_in("unlabeled.list"));
        write_text("img.data", text);
        expect_error(run(TRAIN_ARGS, path_in("small.cfg"), path_in("img.data"), path_in("imgs")),
                     images[i], path_in(images[i]), "bad-image.list");
        /* and `mcd detect` names it, exit 1 */
        expect_error(run("mcd detect %s %s -thresh 0.5 %s", path_in("small.cfg"),
                         path_in("good.weights"), path_in(images[i])), images[i],
                     path_in(images[i]), NULL);
    }
}

/* Images of another size or channel count are read as the network's 3 channels and
 * resized or cropped, as Darknet's loader does: training runs. */
static void test_other_image_shapes(void)
{
    struct {
        const char *stem;
        int w, h, c;
    } shapes[] = {{"wide_coat", 40, 30, 3}, {"grey_bag", 28, 28, 1}, {"alpha_top", 20, 24, 4},
                  {"tiny_dress", 3, 3, 3}, {"thin_sandal", 1, 20, 3}};
    FILE *f = fopen(path_in("shapes.list"), "w");
    for (size_t i = 0; i < sizeof shapes / sizeof shapes[0]; ++i) {
        image im = make_image(shapes[i].w, shapes[i].h, shapes[i].c);
        for (int k = 0; k < im.w * im.h * im.c; ++k) im.data[k] = (float)((k * 37) % 101) / 100;
        save_image_options(im, path_in(shapes[i].stem), PNG, 0);
        free_image(im);
        fprintf(f, "%s.png\n", path_in(shapes[i].stem));
    }
    fclose(f);
    write_data("shapes.data", path_in("shapes.list"), NULL);
    int rc = run(TRAIN_ARGS, path_in("small.cfg"), path_in("shapes.data"), path_in("shapes"));
    if (rc != 0) printf("\n%s\n", out);
    CU_ASSERT_EQUAL(rc, 0);
    CU_ASSERT_EQUAL(run("mcd check %s %s", path_in("small.cfg"), path_in("shapes/small_final.weights")), 0);
}

/* Stock layers that crash Darknet on the CPU ([batchnorm] without its buffers, [local]
 * past the workspace) run once the plugin's parser has completed them: `speed` runs
 * forward passes of the fuzzers' stock seed, which has both. */
static void test_completed_layers_run(void)
{
    int rc = run("speed tests/fuzz/seeds/cfg/stock.cfg");
    if (rc != 0) printf("\n%s\n", out);
    CU_ASSERT_EQUAL(rc, 0);
    CU_ASSERT_PTR_NOT_NULL(strstr(out, "Speed: "));
}

int add_bad_inputs_suite(void)
{
    CU_pSuite s = CU_add_suite("bad inputs", setup, teardown);
    if (!s) return -1;
    return !CU_add_test(s, "cfg: Darknet's sections, bad values and shapes: exit 1, file:line",
                        test_bad_stock_sections) ||
           !CU_add_test(s, "cfg: a misspelt key warns with file:line", test_misspelt_key_warns) ||
           !CU_add_test(s, "cfg: [net] keys, Darknet's and the trainer's", test_net_keys_checked) ||
           !CU_add_test(s, "weights: missing, short, long, other cfg, header, NaN: exit 1",
                        test_bad_weights) ||
           !CU_add_test(s, "data: missing keys, missing or empty lists: exit 1", test_bad_data_files) ||
           !CU_add_test(s, "images: cut, empty, text, over the pixel limit: exit 1 naming image and list",
                        test_bad_images) ||
           !CU_add_test(s, "images of other sizes and channels train", test_other_image_shapes) ||
           !CU_add_test(s, "[batchnorm] and [local] run (Darknet crashes)", test_completed_layers_run);
}
