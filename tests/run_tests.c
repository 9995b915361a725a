/* The CUnit runner: `make test` runs it from the repository root. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <CUnit/Basic.h>

#include "backend/cpu_backend.h"
#include "backend/gpu_device.h"
#include "network/mcd_network.h"
#include "test_util.h"

int add_parser_suite(void);
int add_data_suite(void);
int add_metrics_suite(void);
int add_score_stats_suite(void);
int add_training_health_suite(void);
int add_eval_commands_suite(void);
int add_detect_suite(void);
int add_detect_trained_suite(void);
int add_train_suite(void);
int add_discrepancy_suite(void);
int add_bad_inputs_suite(void);
int add_fuzz_regressions_suite(void);
int add_backend_suite(void);
int add_checkpoint_choice_suite(void);
int add_util_helpers_suite(void);
int add_resize_suite(void);
int add_import_suite(void);
int add_api_suite(void);
int add_frame_verdicts_suite(void);
int add_image_limits_suite(void);
int add_robust_suites(void);

/* The suites `make test-robust` runs (their names start with this): left out of a plain
 * run, run when TEST_SUITE names them. */
#define ROBUST_PREFIX "robust: "
int add_replicas_suite(void);
int add_gpu_agreement_suite(void);
int add_trunk_suite(void);
int add_check_data_suite(void);
int add_synthetic_outliers_suite(void);
int add_pools_suite(void);

int main(void)
{
    /* Darknet prints every layer it builds to stderr: keep that out of the report. */
    const char *log = getenv("TEST_LOG") ? getenv("TEST_LOG") : "build/tests/run_tests.stderr.log";
    if (!freopen(log, "w", stderr)) return 2;
    /* as bin/darknet does: tests that compare backends rely on the parse installing it */
    mcd_network_set_parse_hook(mcd_backend_install);
    mcd_gpu_select(-1); /* the CPU, also in a GPU build (Darknet's default is GPU 0) */
    if (CU_initialize_registry() != CUE_SUCCESS) return 2;
    int (*suites[])(void) = {
        add_parser_suite,
        add_data_suite,
        add_metrics_suite,
        add_score_stats_suite,
        add_training_health_suite,
        add_eval_commands_suite,
        add_detect_suite,
        add_detect_trained_suite,
        add_train_suite,
        add_discrepancy_suite,
        add_bad_inputs_suite,
        add_fuzz_regressions_suite,
        add_backend_suite,
        add_checkpoint_choice_suite,
        add_util_helpers_suite,
        add_resize_suite,
        add_import_suite,
        add_api_suite,
        add_frame_verdicts_suite,
        add_image_limits_suite,
        add_robust_suites,
        add_replicas_suite,
        add_gpu_agreement_suite,
        add_trunk_suite,
        add_check_data_suite,
        add_synthetic_outliers_suite,
        add_pools_suite,
    };
    for (size_t i = 0; i < sizeof suites / sizeof suites[0]; ++i)
        if (suites[i]()) {
            printf("cannot register a suite: %s\n", CU_get_error_msg());
            return 2;
        }
    CU_basic_set_mode(CU_BRM_VERBOSE);
    /* TEST_SUITE="bad inputs": run one suite (while working on it); several, separated by
     * commas: TEST_SUITE="robust: bombs,robust: kill -9" */
    const char *only = getenv("TEST_SUITE");
    unsigned failed = 0, run = 0;
    if (only) {
        char *names = strdup(only), *save = NULL;
        for (char *name = strtok_r(names, ",", &save); name; name = strtok_r(NULL, ",", &save)) {
            CU_pSuite suite = CU_get_suite(name);
            if (!suite) {
                printf("no suite named '%s'\n", name);
                free(names);
                return 2;
            }
            CU_basic_run_suite(suite);
            failed += CU_get_number_of_failures() + CU_get_number_of_tests_failed();
            run += CU_get_number_of_tests_run();
        }
        free(names);
    } else {
        for (CU_pSuite s = CU_get_registry()->pSuite; s; s = s->pNext)
            if (strncmp(s->pName, ROBUST_PREFIX, strlen(ROBUST_PREFIX)) == 0)
                CU_set_suite_active(s, CU_FALSE);
        CU_set_fail_on_inactive(CU_FALSE);
        CU_basic_run_tests();
        failed = CU_get_number_of_failures() + CU_get_number_of_tests_failed();
        run = CU_get_number_of_tests_run();
    }
    CU_cleanup_registry();
    printf("(Darknet's own messages: %s)\n", log);
    return (failed || run == 0) ? 1 : 0;
}
