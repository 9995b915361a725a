/* libFuzzer harness for the weights loader (fuzz_targets.c). */
#include "fuzz_targets.h"
#include "backend/cpu_backend.h"
#include "network/mcd_network.h"

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
    fuzz_silence_stderr();
    mcd_network_set_parse_hook(mcd_backend_install); /* as bin/darknet parses */
    return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    fuzz_weights_input(fuzz_input_file(data, size));
    return 0;
}
