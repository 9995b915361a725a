/* The compile-time check that darknet_parser.h matches the Darknet tree being compiled.
 *
 * darknet_parser.h copies what Darknet's src/parser.c keeps to itself: the size_params
 * struct and the parse_* prototypes. Against a parser.c that differs (another commit, a
 * patch), the plugin would still compile and link, and every parse_* call would pass its
 * arguments in a shape Darknet does not read. So the Makefile makes
 * $(BUILD)/generated/darknet_parser_defs.h from $(DARKNET_SRC)/src/parser.c with sed:
 * parser.c's includes, its size_params renamed dn_size_params, a prototype for each of its
 * parse_* definitions (and string_to_layer_type), and SIZE_PARAMS_FIELD(name) for each
 * field of either struct. This file puts both in one translation unit, which then does not
 * compile when
 *   - a prototype in darknet_parser.h differs from parser.c's definition: the compiler's
 *     "conflicting types for 'parse_...'", pointing at both lines;
 *   - a field is in one struct and not the other ("has no member named"), or differs in
 *     type or offset, or the structs differ in size: a static assertion naming the field.
 * It is part of the plugin's sources, so every build compiles it before libmcd (make,
 * SANITIZE=1, make fuzz). It holds no code. */
#include <stddef.h>

#include "network/darknet_parser.h"

#define SIZE_PARAMS_FIELD(f)                                                                  \
    _Static_assert(offsetof(size_params, f) == offsetof(dn_size_params, f),                  \
                   "darknet_parser.h: size_params." #f " is not where Darknet's parser.c "    \
                   "has it");                                                                 \
    _Static_assert(__builtin_types_compatible_p(__typeof__(((size_params *)0)->f),             \
                                                __typeof__(((dn_size_params *)0)->f)),        \
                   "darknet_parser.h: size_params." #f " has another type in Darknet's "      \
                   "parser.c");

#include "darknet_parser_defs.h"

_Static_assert(sizeof(size_params) == sizeof(dn_size_params),
               "darknet_parser.h: size_params has another size than Darknet's parser.c's");
