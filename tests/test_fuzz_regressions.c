/* The fuzzers' seeds and past findings, replayed through the code each harness runs
 * (tests/fuzz/fuzz_targets.c): every input in tests/fuzz/seeds/TARGET/ and
 * tests/fuzz/regressions/TARGET/ must be read or refused without a crash, as it was once
 * fixed. `make SANITIZE=1 test-unit` replays them under ASan and UBSan too. */
#include <glob.h>
#include <stdio.h>

#include "fuzz/fuzz_targets.h"
#include "network/stock_section_check.h"
#include "test_util.h"

static int replay(const char *target, void (*input)(const char *path))
{
    int n = 0;
    const char *dirs[] = {"tests/fuzz/seeds", "tests/fuzz/regressions"};
    for (int d = 0; d < 2; ++d) {
        char pattern[256];
        snprintf(pattern, sizeof pattern, "%s/%s/*", dirs[d], target);
        glob_t g;
        if (glob(pattern, 0, NULL, &g) != 0) continue;
        for (size_t i = 0; i < g.gl_pathc; ++i, ++n) input(g.gl_pathv[i]);
        globfree(&g);
    }
    return n;
}

static void test_cfg_inputs(void)
{
    stock_check_set_buffer_limit(FUZZ_BUFFER_LIMIT); /* as the fuzzer ran them */
    CU_ASSERT(replay("cfg", fuzz_cfg_input) >= 3);
    stock_check_set_buffer_limit(1L << 28);
}

static void test_weights_inputs(void)
{
    CU_ASSERT(replay("weights", fuzz_weights_input) >= 3);
}

static void test_data_inputs(void)
{
    CU_ASSERT(replay("data", fuzz_data_input) >= 3);
}

int add_fuzz_regressions_suite(void)
{
    CU_pSuite s = test_add_suite("fuzz seeds and findings");
    if (!s) return -1;
    return !CU_add_test(s, "cfg parser", test_cfg_inputs) ||
           !CU_add_test(s, "weights loader", test_weights_inputs) ||
           !CU_add_test(s, "list, .data, threshold and image header readers", test_data_inputs);
}
