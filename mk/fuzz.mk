# Fuzzing, included by the Makefile.
# make fuzz [FUZZ_SECONDS=60]: libFuzzer (clang-14, libclang-rt-14-dev) on the cfg parser, the
# weights loader and the data readers, FUZZ_SECONDS each, from the seeds in tests/fuzz/seeds/.
# Darknet and the plugin are compiled again with clang, coverage and ASan + UBSan, into
# $(FUZZ_BUILD); new inputs go to $(FUZZ_BUILD)/corpus, crashes to $(FUZZ_BUILD)/artifacts
# (copy one to tests/fuzz/regressions/TARGET/ once fixed: test_fuzz_regressions.c runs them).
FUZZ_SECONDS  ?= 60
FUZZ_CC       ?= clang-14
FUZZ_CXX      ?= clang++-14
FUZZ_BUILD    := $(BUILD)/fuzz
FUZZ_TARGETS  := cfg weights data
# The fuzzers are a CPU build, also under GPU=1 (its objects then go to build-gpu/fuzz).
FUZZ_FLAGS    := -g -O1 -fsanitize=fuzzer-no-link,address,undefined $(filter-out -DGPU -DCUDNN,$(DEFS))
FUZZ_DN_OBJS  := $(addprefix $(FUZZ_BUILD)/darknet/,$(DN_OBJ))
FUZZ_MCD_OBJS := $(PLUGIN_SRCS:%=$(FUZZ_BUILD)/%.o)
FUZZ_GEMM_OBJ := $(FUZZ_BUILD)/plugin/backend/gemm_$(GEMM).c.o
FUZZ_BINS     := $(FUZZ_TARGETS:%=$(FUZZ_BUILD)/fuzz_%)

$(FUZZ_BUILD)/darknet/%.o: $(DARKNET_SRC)/src/%.c $(DARKNET_SRC)/include/darknet.h
	@mkdir -p $(@D)
	$(FUZZ_CC) $(FUZZ_FLAGS) -w -fPIC $(INCLUDES) -c $< -o $@

$(FUZZ_BUILD)/darknet/%.o: $(DARKNET_SRC)/src/%.cpp $(DARKNET_SRC)/include/darknet.h
	@mkdir -p $(@D)
	$(FUZZ_CXX) -std=c++11 $(FUZZ_FLAGS) -w -fPIC $(INCLUDES) -c $< -o $@

# The plugin and the fuzz targets (tests/fuzz/*.c)
$(FUZZ_BUILD)/%.c.o: %.c $(DARKNET_SRC)/include/darknet.h
	@mkdir -p $(@D)
	$(FUZZ_CC) -std=gnu11 $(FUZZ_FLAGS) $(DEPFLAGS) $(INCLUDES) -c $< -o $@

$(FUZZ_BUILD)/%.cpp.o: %.cpp $(DARKNET_SRC)/include/darknet.h
	@mkdir -p $(@D)
	$(FUZZ_CXX) -std=c++11 $(FUZZ_FLAGS) $(DEPFLAGS) $(INCLUDES) -c $< -o $@

$(FUZZ_BUILD)/libmcd.a: $(FUZZ_MCD_OBJS)
	rm -f $@ && ar rcs $@ $^

$(FUZZ_BUILD)/libdarknet.a: $(FUZZ_DN_OBJS)
	rm -f $@ && ar rcs $@ $^

# As bin/darknet is linked (the gemm backend before libdarknet.a), but by clang++: the
# plugin's C++ files need the C++ parts of the sanitizer runtimes.
$(FUZZ_BUILD)/fuzz_%: $(FUZZ_BUILD)/tests/fuzz/fuzz_%.c.o $(FUZZ_BUILD)/tests/fuzz/fuzz_targets.c.o \
                      $(FUZZ_BUILD)/libmcd.a $(FUZZ_GEMM_OBJ) $(FUZZ_BUILD)/libdarknet.a
	$(FUZZ_CXX) $(FUZZ_FLAGS) -fsanitize=fuzzer $^ -o $@ $(OPENCV_LIBS) $(GEMM_LIBS_$(GEMM)) $(BACKEND_LIBS) -lm -pthread

.SECONDARY: $(FUZZ_DN_OBJS) $(FUZZ_MCD_OBJS) $(FUZZ_GEMM_OBJ) \
            $(FUZZ_TARGETS:%=$(FUZZ_BUILD)/tests/fuzz/fuzz_%.c.o) $(FUZZ_BUILD)/tests/fuzz/fuzz_targets.c.o

fuzz: $(FUZZ_BINS)
	@for t in $(FUZZ_TARGETS); do \
	    mkdir -p $(FUZZ_BUILD)/corpus/$$t $(FUZZ_BUILD)/artifacts; \
	    echo "fuzz_$$t: $(FUZZ_SECONDS) s"; \
	    ASAN_OPTIONS=$$(cat tests/sanitize/asan.options):detect_leaks=1 UBSAN_OPTIONS=$$(cat tests/sanitize/ubsan.options) \
	    LSAN_OPTIONS=suppressions=tests/sanitize/lsan.supp \
	    $(FUZZ_BUILD)/fuzz_$$t -max_total_time=$(FUZZ_SECONDS) -rss_limit_mb=2048 -max_len=4096 \
	        -timeout=10 -print_final_stats=1 -artifact_prefix=$(FUZZ_BUILD)/artifacts/$$t- \
	        $(FUZZ_BUILD)/corpus/$$t tests/fuzz/seeds/$$t tests/fuzz/regressions/$$t 2>$(FUZZ_BUILD)/fuzz_$$t.log \
	    || { tail -40 $(FUZZ_BUILD)/fuzz_$$t.log; echo "fuzz_$$t: a finding, in $(FUZZ_BUILD)/artifacts/"; exit 1; }; \
	    grep -E "stat::number_of_executed_units|cov:" $(FUZZ_BUILD)/fuzz_$$t.log | tail -2; \
	done
