/* Shared helpers for the CUnit suites. Each tests/test_*.c defines one add_*_suite(),
 * listed in tests/run_tests.c. */
#ifndef MCD_TEST_UTIL_H
#define MCD_TEST_UTIL_H

#include <CUnit/CUnit.h>

/* Directory of the committed fixtures and test cfgs (run from the repository root). */
#define FIXTURE_DIR "tests/fixtures"
#define TEST_CFG_DIR "tests/cfg"

/* The darknet binary under test: $DARKNET_BIN (set by `make test`), else bin/darknet. */
const char *test_darknet_bin(void);

/* Register a suite; returns NULL (and CUnit's error) on failure. */
CU_pSuite test_add_suite(const char *name);

/* Run `cmd` through the shell with stdout+stderr captured into out (NUL-terminated, cut at
 * cap). Returns the exit status, or -1 if it did not exit normally (a crash). */
int test_run_command(const char *cmd, char *out, size_t cap);

/* "dir/name" in one of 8 rotating static buffers (so a call can take a few of them). */
const char *test_path(const char *dir, const char *name);

/* Run the darknet binary under test with printf-formatted arguments, output captured as
 * test_run_command does; returns its exit status, or -1 on a crash. */
int test_run_darknet(char *out, size_t cap, const char *fmt, ...) __attribute__((format(printf, 3, 4)));

/* Write text to path (created or truncated); 0, or -1 if it cannot be opened. */
int test_write_text(const char *path, const char *text);

/* Write text to a fresh temporary file; returns its path (static buffer, one at a time). */
const char *test_write_temp(const char *text);

/* A PNG declaring w x h 8-bit grey pixels whose first `rows` rows (0 to h) are encoded,
 * all zero; with rows == h a whole image that decodes (a w x h decompression bomb when
 * large: zeros compress about 1000 to 1), with fewer a header that claims more than the
 * file holds. 0, or -1 if it cannot be written. */
int test_write_zero_png(const char *path, unsigned w, unsigned h, unsigned rows);

/* Run cmd (a program and its arguments, with the shell's redirections) under /usr/bin/time:
 * its exit status (-1 if it did not exit), with its output (stdout and stderr) in out, and
 * its wall time and peak resident set in *seconds and *max_rss_kb (-1 when not measured). */
int test_run_measured(const char *cmd, char *out, size_t cap, double *seconds, long *max_rss_kb);

/* A command's failure as the error policy wants it: exit status rc 1, "darknet: error: "
 * in its output, and want1 (and want2, unless NULL) in it. 1 if so; else 0, with the case,
 * the wants and the output printed. */
int test_is_error(int rc, const char *output, const char *case_name, const char *want1,
                  const char *want2);

/* DIR/small.cfg (cfg/mcd-small.cfg with batch 16: quick to train) and DIR/small.weights
 * (its initial weights). 0, or -1. */
int test_make_small_network(const char *dir);

/* |a-b| <= atol + rtol*|b| */
int test_close(double a, double b, double atol, double rtol);

/* Read a fixture of "KEY REST" lines (blank lines and '#' comments skipped): on_line(ctx,
 * KEY, REST) for each, 0 when it understands the line. 0; -1 when the file cannot be opened
 * or at the first line not understood (file, line number and key printed). */
int test_read_fixture(const char *path, int (*on_line)(void *ctx, char *key, char *rest),
                      void *ctx);

/* A fixture line's "N v1 ... v(N*per_item)" into a fresh array, N into *n; NULL when a
 * number is missing or N is out of range. */
double *test_parse_values(char *s, int *n, int per_item);

#endif
