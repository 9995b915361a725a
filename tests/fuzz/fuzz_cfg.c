/* libFuzzer harness for the cfg parser (fuzz_targets.c). */
#include "fuzz_targets.h"
#include "backend/cpu_backend.h"
#include "network/mcd_network.h"
#include "network/stock_section_check.h"

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
    fuzz_silence_stderr();
    mcd_network_set_parse_hook(mcd_backend_install); /* as bin/darknet parses */
    stock_check_set_buffer_limit(FUZZ_BUFFER_LIMIT);
    return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    fuzz_cfg_input(fuzz_input_file(data, size));
    return 0;
}
