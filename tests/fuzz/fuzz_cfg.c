/* libFuzzer harness for the cfg parser (fuzz_targets.c). */
#include "fuzz_targets.h"
#include "network/stock_section_check.h"

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
    fuzz_silence_stderr();
    stock_check_set_buffer_limit(FUZZ_BUFFER_LIMIT);
    return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    fuzz_cfg_input(fuzz_input_file(data, size));
    return 0;
}
