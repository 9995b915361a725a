#!/usr/bin/env bash
# Determinism: two training runs with the same seed give bit-identical weights, and a
# different seed gives different ones. Short schedule (pre-training and fine-tuning, both
# loaders at work) on the small data set; about 15 s on 2 cores.
# Both runs use the same thread count for the gemm (OMP_NUM_THREADS, default 1 here): the
# batch content no longer depends on threads, but a sum split over another number of
# threads rounds differently.
# Usage: tests/determinism_test.sh [WORKDIR]
set -uo pipefail
BIN=${DARKNET_BIN:-bin/darknet}
export OMP_NUM_THREADS=${OMP_NUM_THREADS:-1}
work=${1:-$(mktemp -d /tmp/mcd-determinism-XXXXXX)}
rm -rf "$work" && mkdir -p "$work"
train() { # train RUN SEED
    "$BIN" mcd train cfg/mcd-small.cfg -data cfg/fmnist-small.data -backup "$work/$1" -seed "$2" \
        -pretrain_batches 12 -finetune_batches 6 >"$work/$1.log" 2>"$work/$1.err" ||
        { echo "FAIL  run $1 exited $?: $(tail -1 "$work/$1.err")"; exit 1; }
}
train a 11
train b 11
train c 12
failed=0
for f in mcd-small_pretrain.weights mcd-small_final.weights mcd-small_best.weights; do
    if cmp -s "$work/a/$f" "$work/b/$f"; then echo "PASS  seed 11 twice: $f identical"
    else failed=1; echo "FAIL  seed 11 twice: $f differs ($(cmp "$work/a/$f" "$work/b/$f" | head -1))"; fi
done
if cmp -s "$work/a/mcd-small_final.weights" "$work/c/mcd-small_final.weights"; then
    failed=1; echo "FAIL  seeds 11 and 12 gave the same weights"
else echo "PASS  seeds 11 and 12 differ"; fi
[ "$failed" -eq 0 ] && echo "determinism: passed" || echo "determinism: failed (work in $work)"
exit "$failed"
