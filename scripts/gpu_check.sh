#!/usr/bin/env bash
# The GPU check (docs/gpu.md): the CPU-against-GPU agreement suite and the GPU's pre-training
# speed on cfg/mcd-resnet.cfg, on a machine with a CUDA GPU, in a few minutes.
#
#   scripts/gpu_check.sh pack        here (no GPU needed): build the GPU binaries without
#                                    OpenCV (GPU=1 OPENCV=0 CUDA_ARCH=90: the GPU machine has
#                                    no Debian OpenCV) and pack them, the libraries they load
#                                    that are not glibc's or CUDA's, data/fmnist-small, and
#                                    Darknet's source with the headers a rebuild needs, into
#                                    build-gpu-noopencv/gpu-check.tar.xz (~25 MB)
#   scripts/gpu_check.sh run [DIR]   there, in a copy of this tree with that file: unpack,
#                                    run the agreement suite and time 240 pre-training
#                                    batches of cfg/mcd-resnet.cfg on GPU 0; results in
#                                    DIR/gpu_check.txt (DIR: $OUT, else /tmp/gpu-check). If
#                                    the packed binaries cannot start there (another C
#                                    library), they are built again there first (nvcc, gcc).
# Exit status: 0 when the suite passed on a GPU; 1 otherwise (a SKIP counts as a failure:
# the point is a real GPU).
set -euo pipefail
cd "$(dirname "$0")/.."
BUILD=build-gpu-noopencv
PACK=$BUILD/gpu-check.tar.xz
ARCH=${CUDA_ARCH:-90}

pack() {
    make -j"$(nproc)" GPU=1 OPENCV=0 CUDA_ARCH="$ARCH" "$BUILD/bin/darknet" "$BUILD/tests/run_tests"
    local stage=$BUILD/gpu-check
    rm -rf "$stage" && mkdir -p "$stage/bin" "$stage/lib/runtime" "$stage/include"
    cp "$BUILD/bin/darknet" "$BUILD/tests/run_tests" "$stage/bin/"
    # what the binaries load besides the C library's own and CUDA's (which the GPU machine
    # has at /usr/local/cuda): oneDNN, CUnit, libgomp, OpenCL's loader in lib/; the C++
    # runtime in lib/runtime/, used only if the machine's own does not do
    ldd "$stage"/bin/* | awk '/=> \//{print $3}' | sort -u | while read -r lib; do
        case $(basename "$lib") in
            libc.so*|libm.so*|libmvec.so*|libpthread.so*|libdl.so*|librt.so*|ld-linux*) ;;
            libcublas*|libcurand*|libcudart*) ;;
            libstdc++.so*|libgcc_s.so*) cp -L "$lib" "$stage/lib/runtime/" ;;
            *) cp -L "$lib" "$stage/lib/" ;;
        esac
    done
    # for a rebuild there: the headers of oneDNN and CUnit, CUnit's static library
    cp -r /usr/include/oneapi /usr/include/dnnl*.h /usr/include/CUnit "$stage/include/"
    cp -L /usr/lib/x86_64-linux-gnu/libcunit.a "$stage/lib/"
    ln -sf libdnnl.so.2 "$stage/lib/libdnnl.so"
    ln -sf libz.so.1 "$stage/lib/libz.so"
    cp -rL darknet "$stage/darknet-src"
    tar -cJf "$PACK" -C "$stage" bin lib include darknet-src -C "$PWD" data/fmnist-small
    rm -rf "$stage"
    ls -la "$PACK"
}

# Libraries of CUDA where the binary's rpath (/usr/local/cuda/lib64) may not reach them.
cuda_library_path() {
    local d dirs=""
    for d in /usr/local/cuda/lib64 /usr/local/cuda-13*/lib64 /usr/lib/x86_64-linux-gnu \
             $(python3 -c 'import glob, nvidia, os; print(" ".join(sorted({os.path.dirname(p) for p in glob.glob(os.path.join(os.path.dirname(nvidia.__path__[0]), "nvidia", "*", "lib", "lib*.so*"))})))' 2>/dev/null); do
        [ -e "$d/libcublas.so.13" ] || [ -e "$d/libcurand.so.10" ] && dirs="$dirs:$d"
    done
    echo "${dirs#:}"
}

run() {
    local out=${1:-${OUT:-/tmp/gpu-check}}
    mkdir -p "$out"
    set +e
    check "$out" 2>&1 | tee "$out/gpu_check.txt"
    exit "${PIPESTATUS[0]}"
}

check() {
    local out=$1 work
    work=$(mktemp -d)
    echo "gpu_check: $(date -u +%FT%TZ) on $(hostname)"
    command -v nvidia-smi >/dev/null && nvidia-smi --query-gpu=name,driver_version,memory.total --format=csv,noheader
    [ -f "$PACK" ] || { echo "gpu_check: no $PACK: run 'scripts/gpu_check.sh pack' here, carry it there"; return 1; }
    tar -xJf "$PACK" -C "$work"
    [ -f data/fmnist-small/.complete ] ||
        { rm -rf data/fmnist-small && mkdir -p data && mv "$work/data/fmnist-small" data/; }
    local bin=$work/bin libs=$work/lib:$(cuda_library_path)${LD_LIBRARY_PATH:+:$LD_LIBRARY_PATH}
    # both start (the runner answers an unknown suite with status 2)
    starts() {
        LD_LIBRARY_PATH=$1 "$bin/darknet" -h >/dev/null 2>&1 || return 1
        LD_LIBRARY_PATH=$1 TEST_SUITE=none TEST_LOG=/dev/null "$bin/run_tests" >/dev/null 2>&1
        [ $? = 2 ]
    }
    if [ -z "${GPU_CHECK_REBUILD:-}" ] && starts "$libs"; then
        :
    elif [ -z "${GPU_CHECK_REBUILD:-}" ] && starts "$libs:$work/lib/runtime"; then
        libs=$libs:$work/lib/runtime
        echo "gpu_check: with the packed C++ runtime"
    else
        LD_LIBRARY_PATH=$libs ldd "$bin/darknet" "$bin/run_tests" | grep "not found" || true
        echo "gpu_check: the packed binaries do not start here: building them here"
        local t0=$SECONDS
        CPATH=$work/include LIBRARY_PATH=$work/lib make -j"$(nproc)" GPU=1 OPENCV=0 \
            CUDA_ARCH="$ARCH" DARKNET_SRC="$work/darknet-src" BUILD="$work/build" \
            "$work/build/bin/darknet" "$work/build/tests/run_tests" > "$out/build.log" 2>&1 ||
            { tail -20 "$out/build.log"; return 1; }
        bin=$work/build/bin
        cp "$work/build/tests/run_tests" "$bin/"
        echo "gpu_check: built in $((SECONDS - t0)) s"
    fi
    export LD_LIBRARY_PATH=$libs
    "$bin/darknet" mcd -h >/dev/null

    echo "== the agreement suite (tests/test_gpu_agreement.c)"
    local t0=$SECONDS rc=0
    DARKNET_BIN=$bin/darknet TEST_LOG=$out/run_tests.stderr.log TEST_SUITE="gpu agreement" \
        "$bin/run_tests" > "$out/run_tests.stdout" || rc=1
    cat "$out/run_tests.stdout"
    grep -q "^SKIP gpu agreement" "$out/run_tests.stdout" && rc=1
    echo "gpu_check: agreement suite $([ $rc = 0 ] && echo passed || echo FAILED) in $((SECONDS - t0)) s"

    echo "== pre-training speed: cfg/mcd-resnet.cfg, batch 128, GPU 0"
    t0=$SECONDS
    timeout 300 "$bin/darknet" mcd train cfg/mcd-resnet.cfg -data cfg/fmnist-small.data -seed 1 \
        -pretrain_batches 240 -finetune_batches 0 -gpus 0 -backup "$out/resnet-gpu" \
        > "$out/resnet-gpu.log" 2>&1 || { tail -20 "$out/resnet-gpu.log"; rc=1; }
    grep -E "^(training on|pretrain)" "$out/resnet-gpu.log" || true
    # steady state: the progress lines after the first (which holds the start-up)
    awk '/^pretrain .*img\/s/ { n++; for (i = 1; i < NF; ++i) if ($(i + 1) == "img/s") v = $i;
                                if (n > 1) { s += v; k++ } }
         END { if (k) printf "gpu_check: GPU pre-training %.0f img/s = %.2f batches/s (mean of %d intervals of 20 batches)\n", s / k, s / k / 128, k }' \
        "$out/resnet-gpu.log"
    echo "gpu_check: timing run took $((SECONDS - t0)) s"
    rm -rf "$work"
    return $rc
}

case "${1:-}" in
    pack) pack ;;
    run) shift; run "$@" ;;
    *) sed -n '2,20p' "$0"; exit 2 ;;
esac
