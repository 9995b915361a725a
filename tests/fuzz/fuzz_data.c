/* libFuzzer harness for the list, .data, threshold and image header readers (fuzz_targets.c). */
#include "fuzz_targets.h"

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
    fuzz_silence_stderr();
    return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    fuzz_data_input(fuzz_input_file(data, size));
    return 0;
}
