/* Checks on Darknet's own cfg sections, before and after its parse_* functions build them.
 *
 * Darknet reads numbers with atoi/atof ("filters=abc" is 0, "filters=1e3" is 1), takes any
 * value (stride=0 divides by zero, filters=-4 allocates a negative size), replaces an unknown
 * activation or policy by another with one line on stderr, and indexes layers named by
 * [route] and [shortcut] without a bounds check. These checks turn each of those into an
 * error naming the file, the section's line, the section and the key. */
#ifndef MCD_STOCK_SECTION_CHECK_H
#define MCD_STOCK_SECTION_CHECK_H

#include "network/cfg_reader.h"
#include "network/darknet_parser.h"

/* Numbers that parse in full, in range, and known activation / policy names: [net] and
 * every layer section. 0, or -1 with an error. */
int check_section_values(const char *file, const cfg_section *s);

/* Before building layer `index` from s with input params: an image input where the layer
 * needs one, a positive output size, sizes within memory, layer references in range. */
int check_layer_input(const char *file, const cfg_section *s, size_params params, int index);

/* After building: the layer's output is not empty. */
int check_layer_output(const char *file, const cfg_section *s, const layer *l, size_params params);

/* Warn (stderr, as Darknet's option_unused does, but with file and line) about keys of s
 * that no parse function read: a misspelt key is ignored, so say so. */
void warn_unused_keys(const char *file, const cfg_section *s);

/* 0 if a buffer of this many floats is within the limit below, else -1 with an error naming
 * file:line, section and `what`. */
int check_buffer_size(const char *file, const cfg_section *s, const char *what, long long floats);

/* The most floats one layer buffer may take (default 2^28, 1 GiB); the fuzzer lowers it. */
void stock_check_set_buffer_limit(long floats);

#endif
