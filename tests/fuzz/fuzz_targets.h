/* What each libFuzzer harness (make fuzz) does with one input, shared with the regression
 * test (tests/test_fuzz_regressions.c) that replays the seeds and past findings. The
 * plugin's readers take file names, so an input is a file. Any input must be read or refused
 * with an error: never a crash, an exit, a hang or a leak. */
#ifndef MCD_FUZZ_TARGETS_H
#define MCD_FUZZ_TARGETS_H

#include <stddef.h>
#include <stdint.h>

/* Buffers a real cfg may take (1 GiB each) are beyond a fuzzer's memory budget: the cfg
 * target runs with this limit (stock_check_set_buffer_limit). */
#define FUZZ_BUFFER_LIMIT (1L << 16)

/* The cfg parser (cfg_reader.c, network_parser.c, stock_section_check.c). */
void fuzz_cfg_input(const char *path);
/* The checked weights loader (weights_file.c) on a small MCD network, whole and cut. */
void fuzz_weights_input(const char *path);
/* A list file, a .data file and its keys, label matching, a threshold file, an image
 * header (io/image_header.c). */
void fuzz_data_input(const char *path);

/* libFuzzer side: write the input to this process's scratch file, return its path. */
const char *fuzz_input_file(const uint8_t *data, size_t size);
/* libFuzzer side: Darknet's chatter on the stderr stream goes to /dev/null (sanitizer
 * reports use file descriptor 2 directly, which stays open). */
void fuzz_silence_stderr(void);

#endif
