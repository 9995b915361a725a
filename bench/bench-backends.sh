#!/usr/bin/env bash
# Training and inference speed of the gemm backends (oneDNN, the default, and OpenBLAS),
# images per second, on the default data. Needs `make data`. Usage:
#   bench/bench-backends.sh [CFG] [BATCHES]      (defaults: cfg/mcd-resnet.cfg 40)
# Prints one line per backend and thread count. Run it on an otherwise idle machine.
set -euo pipefail
CFG=${1:-cfg/mcd-resnet.cfg}
BATCHES=${2:-40}
[ -f data/fmnist/.complete ] || { echo "bench-backends: run 'make data' first" >&2; exit 1; }
make -s GEMM=onednn >/dev/null
make -s GEMM=openblas BUILD=build/openblas BIN=build/openblas/bin >/dev/null
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
for backend in onednn:bin/darknet openblas:build/openblas/bin/darknet; do
    name=${backend%%:*} bin=${backend#*:}
    for threads in 1 2; do
        rm -rf "$work/b"
        train=$(OMP_NUM_THREADS=$threads OPENBLAS_NUM_THREADS=$threads "$bin" mcd train "$CFG" \
                    -backup "$work/b" -seed 1 -pretrain_batches "$BATCHES" -finetune_batches 0 \
                    2>/dev/null | awk '/^pretrain +[0-9]+\// { v = $(NF - 3) } END { print v }')
        infer=$(OMP_NUM_THREADS=$threads OPENBLAS_NUM_THREADS=$threads "$bin" speed "$CFG" 500 \
                    2>&1 | awk '/Hz/ { print int($2) }')
        printf '%-9s threads %d  train %6s img/s (batch 128)  inference %6s img/s (batch 1)\n' \
               "$name" "$threads" "${train:-?}" "${infer:-?}"
    done
done
