# The CUDA build, included by the Makefile (docs/gpu.md).
#   make GPU=1 [CUDA_ARCH="75 90"] [CUDNN=1] [OPENCV=0]
# Darknet's objects get -DGPU (and -DCUDNN) as its own Makefile gives them, its .cu kernels
# are compiled by nvcc for CUDA_ARCH, and the plugin is compiled with the same defines (the
# layer struct's layout depends on them). darknet/ stays as fetched: what CUDA 13 and
# cuDNN 8+ removed from under it is put back by plugin/backend/cuda_compat.h, force-included
# into Darknet's C objects. The plugin's gemm_gpu (plugin/backend/gemm_cuda.c) is linked
# beside the CPU gemm backend, so that Darknet's gemm.o stays out of the binary as before;
# it and the cuDNN shims (cuda_compat.c), which Darknet's objects call, are linked as objects
# before libdarknet.a (CUDA_OBJS), not from libmcd.a, which the linker has left by then.
SKIP_GPU_CHECK_GOALS := clean distclean help deps deps-fixtures
# The plugin's sources that Darknet's GPU objects call: in GPU builds only, as objects.
PLUGIN_CUDA_SRCS := plugin/backend/gemm_cuda.c plugin/backend/cuda_compat.c
ifeq ($(GPU),1)
NVCC ?= $(CUDA_PATH)/bin/nvcc
ifeq ($(filter $(SKIP_GPU_CHECK_GOALS),$(MAKECMDGOALS)),)
ifeq ($(wildcard $(NVCC)),)
$(error GPU=1: no nvcc at $(NVCC): install the CUDA toolkit, or set CUDA_PATH (or NVCC))
endif
endif
# Default: sm_70 to sm_90 (Volta, Turing, Ampere, Ada, Hopper), as far as this nvcc still
# compiles them (CUDA 13 dropped sm_70), plus PTX of the newest for the GPUs after it.
ifeq ($(origin CUDA_ARCH),undefined)
CUDA_ARCH := $(patsubst compute_%,%,$(filter $(addprefix compute_,70 75 80 86 89 90), \
                 $(shell $(NVCC) --list-gpu-arch 2>/dev/null)))
endif
CUDA_GENCODE := $(foreach a,$(CUDA_ARCH),-gencode arch=compute_$(a),code=sm_$(a)) \
                -gencode arch=compute_$(lastword $(CUDA_ARCH)),code=compute_$(lastword $(CUDA_ARCH))
DEFS      += -DGPU
INCLUDES  += -I$(CUDA_PATH)/include
DN_COMPAT := -include plugin/backend/cuda_compat.h
# cudart linked statically: the binary starts (and runs on the CPU) on a machine without a
# CUDA driver; cuRAND from CUDA_PATH, found at run time through the rpath, and cuBLAS
# opened from there when first used (plugin/backend/gemm_cuda.c: linked, it costs every
# start of the binary about a second).
CUDA_LIBS := -L$(CUDA_PATH)/lib64 -Wl,-rpath,$(CUDA_PATH)/lib64 -lcurand \
             -lcudart_static -ldl -lrt
# Darknet's CUDA helpers, wrapped (plugin/commands/stock_wrappers.c): with gpu_index < 0 no
# layer asks for GPU memory (Darknet's make_*_layer allocate it unconditionally), so a
# GPU build runs every command on the CPU on a machine without a GPU.
CUDA_WRAPPED := cuda_make_array cuda_make_int_array cuda_free cuda_set_device
CUDA_OBJS = $(PLUGIN_CUDA_SRCS:%=$(BUILD)/%.o)
ifeq ($(CUDNN),1)
DEFS      += -DCUDNN
CUDA_LIBS += -lcudnn
CUDA_WRAPPED += cudnn_handle
endif
else ifeq ($(CUDNN),1)
$(error CUDNN=1 needs GPU=1)
endif
