/* The plugin's cfg parser: every shipped cfg parses, every malformed cfg gets an error that
 * names the file, line, section and key, through the API and through the binary (non-zero
 * exit, never a crash), and the standard weights format round-trips bit-exactly. */
#include <glob.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "darknet.h"
#include "layers/discrepancy_layer.h"
#include "network/darknet_parser.h"
#include "util/mcd_error.h"
#include "network/mcd_network.h"
#include "layers/split_layer.h"
#include "test_util.h"
#include "network/weights_file.h"

#define NET "[net]\nbatch=4\nheight=6\nwidth=6\nchannels=1\n"
#define TRUNK "[convolutional]\nfilters=4\nsize=3\npad=1\nactivation=leaky\n[avgpool]\n"
/* NET is lines 1-5 of a cfg, TRUNK lines 6-11: a section after them is at line 12. */
#define HEAD "[connected]\noutput=3\nactivation=linear\n[softmax]\n"

static const char *good_symmetric = NET TRUNK "[mcd_split]\n" HEAD
    "[mcd_discrepancy]\nmargin=0.5\nweight=2\n[mcd_l1]\n";
static const char *good_asymmetric = NET TRUNK "[mcd_split]\n" HEAD "[mcd_head]\n"
    "[connected]\noutput=5\nactivation=tanh\n" HEAD "[mcd_discrepancy]\n[mcd_l1]\n";

static void test_shipped_cfgs_parse(void)
{
    glob_t g;
    CU_ASSERT_FATAL(glob("cfg/*.cfg", 0, NULL, &g) == 0);
    CU_ASSERT(g.gl_pathc >= 1);
    int mcd = 0;
    for (size_t i = 0; i < g.gl_pathc; ++i) {
        network *net = mcd_parse_network_cfg(g.gl_pathv[i]);
        if (!net) printf("\n%s: %s\n", g.gl_pathv[i], mcd_last_error());
        CU_ASSERT_PTR_NOT_NULL_FATAL(net);
        mcd_layout m;
        if (mcd_find_layout(net, &m) == 0) {
            ++mcd;
            CU_ASSERT(m.classes >= 2);
            CU_ASSERT_EQUAL(net->outputs, 1); /* the L1 score */
            CU_ASSERT_EQUAL(net->truths, m.classes);
        }
        free_network(net);
    }
    CU_ASSERT(mcd >= 1);
    globfree(&g);
}

static void test_symmetric_layout(void)
{
    network *net = mcd_parse_network_cfg(test_write_temp(good_symmetric));
    CU_ASSERT_PTR_NOT_NULL_FATAL(net);
    mcd_layout m;
    CU_ASSERT_EQUAL_FATAL(mcd_find_layout(net, &m), 0);
    /* conv, avgpool, split, conn, softmax, head, conn, softmax, disc, l1 */
    CU_ASSERT_EQUAL(net->n, 10);
    CU_ASSERT_EQUAL(m.split, 2);
    CU_ASSERT_EQUAL(m.softmax1, 4);
    CU_ASSERT_EQUAL(m.head2, 5);
    CU_ASSERT_EQUAL(m.softmax2, 7);
    CU_ASSERT_EQUAL(m.discrepancy, 8);
    CU_ASSERT_EQUAL(m.l1, 9);
    CU_ASSERT_EQUAL(m.classes, 3);
    /* independent random initialisation of the two heads */
    layer *c1 = &net->layers[3], *c2 = &net->layers[6];
    CU_ASSERT_EQUAL(c1->type, CONNECTED);
    CU_ASSERT_EQUAL(c2->type, CONNECTED);
    CU_ASSERT(memcmp(c1->weights, c2->weights, 12 * sizeof(float)) != 0);
    CU_ASSERT_EQUAL(net->layers[m.head2].inputs, net->layers[m.split].outputs);
    free_network(net);
}

/* [mcd_discrepancy] loss=: entropy when absent, l1 and skl when named. */
static void test_discrepancy_loss_key(void)
{
    const char *names[] = {NULL, "entropy", "l1", "skl"};
    const int kinds[] = {MCD_LOSS_ENTROPY, MCD_LOSS_ENTROPY, MCD_LOSS_L1, MCD_LOSS_SKL};
    for (int i = 0; i < 4; ++i) {
        char cfg[512], key[32] = "";
        if (names[i]) snprintf(key, sizeof key, "loss=%s\n", names[i]);
        snprintf(cfg, sizeof cfg, "%s%s%s%s%s%s", NET TRUNK, "[mcd_split]\n", HEAD,
                 "[mcd_discrepancy]\n", key, "margin=0.7\n[mcd_l1]\n");
        network *net = mcd_parse_network_cfg(test_write_temp(cfg));
        if (!net) printf("\nloss=%s: %s\n", names[i] ? names[i] : "(absent)", mcd_last_error());
        CU_ASSERT_PTR_NOT_NULL_FATAL(net);
        mcd_layout m;
        CU_ASSERT_EQUAL_FATAL(mcd_find_layout(net, &m), 0);
        const layer *d = &net->layers[m.discrepancy];
        CU_ASSERT_EQUAL(mcd_discrepancy_loss_kind(d), kinds[i]);
        CU_ASSERT_STRING_EQUAL(mcd_loss_kind_name(mcd_discrepancy_loss_kind(d)),
                               names[i] ? names[i] : "entropy");
        CU_ASSERT_EQUAL(mcd_discrepancy_margin(d), 0.7f);
        free_network(net);
    }
}

static void test_asymmetric_layout(void)
{
    network *net = mcd_parse_network_cfg(test_write_temp(good_asymmetric));
    CU_ASSERT_PTR_NOT_NULL_FATAL(net);
    mcd_layout m;
    CU_ASSERT_EQUAL_FATAL(mcd_find_layout(net, &m), 0);
    CU_ASSERT_EQUAL(net->n, 11);
    CU_ASSERT_EQUAL(m.head2, 5);
    CU_ASSERT_EQUAL(net->layers[6].outputs, 5);
    CU_ASSERT_EQUAL(net->layers[7].inputs, 5);
    CU_ASSERT_EQUAL(m.softmax2, 8);
    free_network(net);
}

static void test_stock_cfg_unchanged(void)
{
    /* a cfg without plugin sections builds what Darknet's own parser builds */
    const char *text = NET TRUNK HEAD;
    const char *path = test_write_temp(text);
    network *ours = mcd_parse_network_cfg(path);
    network *stock = __real_parse_network_cfg((char *)path);
    CU_ASSERT_PTR_NOT_NULL_FATAL(ours);
    CU_ASSERT_EQUAL_FATAL(ours->n, stock->n);
    for (int i = 0; i < ours->n; ++i) {
        CU_ASSERT_EQUAL(ours->layers[i].type, stock->layers[i].type);
        CU_ASSERT_EQUAL(ours->layers[i].outputs, stock->layers[i].outputs);
    }
    CU_ASSERT_EQUAL(ours->outputs, stock->outputs);
    CU_ASSERT_EQUAL(ours->truths, stock->truths);
    free_network(ours);
    free_network(stock);
}

/* Malformed cfgs: each must give NULL and an error with all of `want`. */
typedef struct bad_cfg {
    const char *name;
    const char *text;
    const char *want[3];
} bad_cfg;

static const bad_cfg bad_cfgs[] = {
    {"unknown section", NET TRUNK "[mcd_spilt]\n" HEAD "[mcd_discrepancy]\n[mcd_l1]\n",
     {"[mcd_spilt]", "unknown section", ":12:"}},
    {"heads with different class counts",
     NET TRUNK "[mcd_split]\n" HEAD "[mcd_head]\n[connected]\noutput=4\n[softmax]\n"
     "[mcd_discrepancy]\n[mcd_l1]\n",
     {"[mcd_discrepancy]", "different class counts", "output="}},
    {"head 1 without softmax", NET TRUNK "[mcd_split]\n[connected]\noutput=3\n[mcd_head]\n" HEAD
     "[mcd_discrepancy]\n[mcd_l1]\n",
     {"head 1", "[softmax]", "[connected]"}},
    {"head 2 without softmax", NET TRUNK "[mcd_split]\n" HEAD "[mcd_head]\n[connected]\noutput=3\n"
     "[mcd_discrepancy]\n[mcd_l1]\n",
     {"head 2", "[softmax]", "[connected]"}},
    {"symmetric head without softmax", NET TRUNK "[mcd_split]\n[connected]\noutput=3\n"
     "[mcd_discrepancy]\n[mcd_l1]\n",
     {"head 1", "must end in [softmax]", ":13:"}},
    {"empty head", NET TRUNK "[mcd_split]\n[mcd_discrepancy]\n[mcd_l1]\n",
     {"head 1", "empty", "[mcd_split]"}},
    {"no discrepancy after split", NET TRUNK "[mcd_split]\n" HEAD "[mcd_l1]\n",
     {"[mcd_split]", "no [mcd_discrepancy]", ":12:"}},
    {"discrepancy without split", NET TRUNK HEAD "[mcd_discrepancy]\n[mcd_l1]\n",
     {"[mcd_discrepancy]", "without an [mcd_split]", NULL}},
    {"second split", NET TRUNK "[mcd_split]\n[mcd_split]\n" HEAD "[mcd_discrepancy]\n[mcd_l1]\n",
     {"second [mcd_split]", ":13:", "line 12"}},
    {"margin zero", NET TRUNK "[mcd_split]\n" HEAD "[mcd_discrepancy]\nmargin=0\n[mcd_l1]\n",
     {"[mcd_discrepancy]", "margin", "> 0"}},
    {"margin negative", NET TRUNK "[mcd_split]\n" HEAD "[mcd_discrepancy]\nmargin=-1.2\n[mcd_l1]\n",
     {"[mcd_discrepancy]", "margin=-1.2", "> 0"}},
    {"margin not a number", NET TRUNK "[mcd_split]\n" HEAD "[mcd_discrepancy]\nmargin=big\n[mcd_l1]\n",
     {"[mcd_discrepancy]", "margin=big", "not a finite number"}},
    {"margin nan", NET TRUNK "[mcd_split]\n" HEAD "[mcd_discrepancy]\nmargin=nan\n[mcd_l1]\n",
     {"[mcd_discrepancy]", "margin=nan", "not a finite number"}},
    {"weight negative", NET TRUNK "[mcd_split]\n" HEAD "[mcd_discrepancy]\nweight=-1\n[mcd_l1]\n",
     {"[mcd_discrepancy]", "weight", ">= 0"}},
    {"loss not a loss", NET TRUNK "[mcd_split]\n" HEAD "[mcd_discrepancy]\nloss=bogus\n[mcd_l1]\n",
     {"[mcd_discrepancy]:", "loss=bogus", ":17:"}},
    {"loss in capitals", NET TRUNK "[mcd_split]\n" HEAD "[mcd_discrepancy]\nloss=L1\n[mcd_l1]\n",
     {"[mcd_discrepancy]", "loss=L1", "entropy (the default), l1 or skl"}},
    {"unknown key in plugin section",
     NET TRUNK "[mcd_split]\n" HEAD "[mcd_discrepancy]\nmargn=1\n[mcd_l1]\n",
     {"[mcd_discrepancy]", "unknown key", "margn"}},
    {"key in mcd_split", NET TRUNK "[mcd_split]\nheads=2\n" HEAD "[mcd_discrepancy]\n[mcd_l1]\n",
     {"[mcd_split]", "unknown key", "heads"}},
    {"no l1", NET TRUNK "[mcd_split]\n" HEAD "[mcd_discrepancy]\n",
     {"[mcd_discrepancy]", "[mcd_l1]", NULL}},
    {"layer after discrepancy", NET TRUNK "[mcd_split]\n" HEAD "[mcd_discrepancy]\n[softmax]\n[mcd_l1]\n",
     {"[softmax]", "after [mcd_discrepancy]", NULL}},
    {"layer after l1", NET TRUNK "[mcd_split]\n" HEAD "[mcd_discrepancy]\n[mcd_l1]\n[softmax]\n",
     {"[softmax]", "after [mcd_discrepancy]", NULL}},
    {"mcd_head outside the heads", NET "[mcd_head]\n" TRUNK "[mcd_split]\n" HEAD
     "[mcd_discrepancy]\n[mcd_l1]\n",
     {"[mcd_head]", "between", NULL}},
    {"second mcd_head", NET TRUNK "[mcd_split]\n" HEAD "[mcd_head]\n" HEAD "[mcd_head]\n" HEAD
     "[mcd_discrepancy]\n[mcd_l1]\n",
     {"second [mcd_head]", NULL, NULL}},
    {"first section not net", TRUNK NET, {"first section", "[net]", "[convolutional]"}},
    {"net twice", NET TRUNK NET HEAD, {"[net]", "only be the first", ":12:"}},
    {"option before section", "batch=1\n" NET TRUNK HEAD, {":1:", "batch=1", "before the first"}},
    {"garbage line", NET TRUNK "this is not a cfg line\n" HEAD, {":12:", "key=value", "thisisnot"}},
    {"unclosed header", NET "[convolutional\nfilters=1\n", {":6:", "closing", NULL}},
    {"empty file", "", {"no layers", NULL, NULL}},
    {"net only", NET, {"no layers", NULL, NULL}},
    {"no input size", "[net]\nbatch=1\n" TRUNK HEAD, {"[net]", "height", NULL}},
    {"batch below subdivisions", "[net]\nbatch=2\nsubdivisions=4\nheight=6\nwidth=6\nchannels=1\n" TRUNK HEAD,
     {"[net]", "subdivisions=4", NULL}},
};

static void expect_parse_error(const bad_cfg *b, const char *path)
{
    mcd_set_error("%s", "");
    network *net = mcd_parse_network_cfg(path);
    if (net) printf("\n'%s' parsed\n", b->name);
    CU_ASSERT_PTR_NULL(net);
    if (net) {
        free_network(net);
        return;
    }
    const char *msg = mcd_last_error();
    CU_ASSERT(strstr(msg, path) != NULL); /* the file */
    for (int i = 0; i < 3 && b->want[i]; ++i) {
        int found = strstr(msg, b->want[i]) != NULL;
        if (!found) printf("\n'%s': '%s' not in: %s\n", b->name, b->want[i], msg);
        CU_ASSERT(found);
    }
}

static void test_bad_cfgs_api(void)
{
    for (size_t i = 0; i < sizeof bad_cfgs / sizeof bad_cfgs[0]; ++i)
        expect_parse_error(&bad_cfgs[i], test_write_temp(bad_cfgs[i].text));
}

static void test_missing_cfg(void)
{
    CU_ASSERT_PTR_NULL(mcd_parse_network_cfg("/nonexistent/x.cfg"));
    CU_ASSERT(strstr(mcd_last_error(), "/nonexistent/x.cfg") != NULL);
    CU_ASSERT(strstr(mcd_last_error(), "No such file") != NULL);
}

/* The binary: the plugin's verb and a stock command both exit 1 with the message. */
static void test_bad_cfgs_binary(void)
{
    static const char *commands[] = {"mcd check", "speed"};
    char out[16384], cmd[512];
    for (size_t i = 0; i < sizeof bad_cfgs / sizeof bad_cfgs[0]; ++i) {
        const char *path = test_write_temp(bad_cfgs[i].text);
        for (int c = 0; c < 2; ++c) {
            snprintf(cmd, sizeof cmd, "%s %s %s", test_darknet_bin(), commands[c], path);
            int rc = test_run_command(cmd, out, sizeof out);
            if (rc != 1) printf("\n%s ('%s'): exit %d\n%s\n", cmd, bad_cfgs[i].name, rc, out);
            CU_ASSERT_EQUAL(rc, 1);
            CU_ASSERT(strstr(out, "darknet: error: ") != NULL);
            CU_ASSERT(strstr(out, bad_cfgs[i].want[0]) != NULL);
        }
        unlink(path);
    }
}

static void fill_random(float *x, int n, float lo, float hi)
{
    for (int i = 0; i < n; ++i) x[i] = lo + (hi - lo) * (float)rand() / (float)RAND_MAX;
}

static int layers_equal(const layer *a, const layer *b)
{
    int ok = 1;
    if (a->type == CONNECTED) {
        ok &= !memcmp(a->weights, b->weights, sizeof(float) * a->inputs * a->outputs);
        ok &= !memcmp(a->biases, b->biases, sizeof(float) * a->outputs);
    }
    if (a->type == CONVOLUTIONAL) {
        ok &= !memcmp(a->weights, b->weights, sizeof(float) * a->nweights);
        ok &= !memcmp(a->biases, b->biases, sizeof(float) * a->n);
        if (a->batch_normalize) {
            ok &= !memcmp(a->scales, b->scales, sizeof(float) * a->n);
            ok &= !memcmp(a->rolling_mean, b->rolling_mean, sizeof(float) * a->n);
            ok &= !memcmp(a->rolling_variance, b->rolling_variance, sizeof(float) * a->n);
        }
    }
    return ok;
}

static void test_weights_round_trip(void)
{
    const char *cfg = "cfg/mcd-small.cfg";
    network *a = mcd_parse_network_cfg(cfg);
    network *b = mcd_parse_network_cfg(cfg);
    CU_ASSERT_PTR_NOT_NULL_FATAL(a);
    CU_ASSERT_PTR_NOT_NULL_FATAL(b);
    srand(7);
    for (int i = 0; i < a->n; ++i) { /* batch-norm statistics too, not just their defaults */
        layer *l = &a->layers[i];
        if (l->type == CONVOLUTIONAL && l->batch_normalize) {
            fill_random(l->scales, l->n, 0.5f, 1.5f);
            fill_random(l->rolling_mean, l->n, -1, 1);
            fill_random(l->rolling_variance, l->n, 0.5f, 2);
        }
    }
    *a->seen = 12345;
    char path[] = "/tmp/mcd-weights-XXXXXX";
    close(mkstemp(path));
    CU_ASSERT_EQUAL_FATAL(mcd_save_weights(a, path), 0);
    char tmp[64];
    snprintf(tmp, sizeof tmp, "%s.tmp", path);
    CU_ASSERT_EQUAL(access(tmp, F_OK), -1); /* renamed into place */
    CU_ASSERT_EQUAL_FATAL(mcd_load_weights(b, path, b->n, 1), 0);
    CU_ASSERT_EQUAL(*b->seen, 12345);
    for (int i = 0; i < a->n; ++i) CU_ASSERT(layers_equal(&a->layers[i], &b->layers[i]));
    /* and the same scores for the same images */
    set_batch_network(a, 2);
    set_batch_network(b, 2);
    float *x = malloc(sizeof(float) * a->inputs * 2);
    fill_random(x, a->inputs * 2, 0, 1);
    float sa[2], sb[2];
    memcpy(sa, network_predict(a, x), sizeof sa);
    memcpy(sb, network_predict(b, x), sizeof sb);
    CU_ASSERT(memcmp(sa, sb, sizeof sa) == 0);
    /* a file cut short, or from another cfg, is refused with its name */
    FILE *f = fopen(path, "r+b");
    CU_ASSERT_EQUAL(ftruncate(fileno(f), 100), 0);
    fclose(f);
    CU_ASSERT_EQUAL(mcd_load_weights(b, path, b->n, 1), -1);
    CU_ASSERT(strstr(mcd_last_error(), path) != NULL);
    CU_ASSERT_EQUAL(mcd_load_weights(b, "/nonexistent.weights", b->n, 1), -1);
    unlink(path);
    free(x);
    free_network(a);
    free_network(b);
}

int add_parser_suite(void)
{
    CU_pSuite s = test_add_suite("parser");
    if (!s) return -1;
    return !CU_add_test(s, "every cfg in cfg/ parses", test_shipped_cfgs_parse) ||
           !CU_add_test(s, "symmetric heads: layout, independent init", test_symmetric_layout) ||
           !CU_add_test(s, "asymmetric heads: layout", test_asymmetric_layout) ||
           !CU_add_test(s, "[mcd_discrepancy] loss= entropy, l1, skl", test_discrepancy_loss_key) ||
           !CU_add_test(s, "stock cfg: same network as Darknet's parser", test_stock_cfg_unchanged) ||
           !CU_add_test(s, "bad cfgs: error names file, line, section, key", test_bad_cfgs_api) ||
           !CU_add_test(s, "missing cfg file", test_missing_cfg) ||
           !CU_add_test(s, "bad cfgs: bin/darknet exits 1, no crash", test_bad_cfgs_binary) ||
           !CU_add_test(s, "weights save/load round trip is bit-exact", test_weights_round_trip);
}
