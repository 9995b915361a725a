#!/usr/bin/env bash
# mcd detect -list against mcd valid on the same 5,000 test-ID images (make data), the
# shipped model, alternating ROUNDS times; then the peak memory of detect with N paths on
# standard input (the test-ID list repeated). Prints seconds per run, the ratio
# detect/valid (median and range), and the peak RSS. Usage: bench/detect_vs_valid.sh
set -euo pipefail
BIN=${DARKNET_BIN:-bin/darknet}
ROUNDS=${ROUNDS:-3}
LIST=data/fmnist/id-test.list
work=$(mktemp -d /tmp/mcd-dvv-XXXXXX)
trap 'rm -rf "$work"' EXIT
head -1 data/fmnist/ood-mnist.list >"$work/one.list"   # valid needs an OOD set: one image
n=$(wc -l <"$LIST")
ratios=()
for r in $(seq "$ROUNDS"); do
    t0=$(date +%s.%N)
    "$BIN" mcd detect cfg/mcd-resnet.cfg weights/mcd-resnet.weights -list "$LIST" >"$work/d.txt" 2>/dev/null
    t1=$(date +%s.%N)
    "$BIN" mcd valid cfg/mcd-resnet.cfg weights/mcd-resnet.weights -ood "$work/one.list" >/dev/null 2>&1
    t2=$(date +%s.%N)
    d=$(awk -v a="$t0" -v b="$t1" 'BEGIN {print b - a}'); v=$(awk -v a="$t1" -v b="$t2" 'BEGIN {print b - a}')
    [ "$(wc -l <"$work/d.txt")" -eq "$n" ] || { echo "detect printed $(wc -l <"$work/d.txt") lines, not $n"; exit 1; }
    ratio=$(awk -v a="$d" -v b="$v" 'BEGIN {print a / b}')
    ratios+=("$ratio")
    printf "round %d: detect -list %.2f s (%.0f img/s), valid %.2f s: ratio %.3f\n" "$r" "$d" \
        "$(awk -v a="$n" -v b="$d" 'BEGIN {print a / b}')" "$v" "$ratio"
done
printf "%s\n" "${ratios[@]}" | sort -g | awk '{a[NR]=$1} END {printf "detect/valid time: median %.3f, range %.3f-%.3f (%d rounds)\n", a[int((NR+1)/2)], a[1], a[NR], NR}'
for total in ${STDIN_SIZES:-5000 50000 100000}; do
    awk -v t="$total" '{l[NR]=$0} END {for (i = 0; i < t; ++i) print l[i % NR + 1]}' "$LIST" >"$work/paths.txt"
    /usr/bin/time -f "%M" -o "$work/rss" "$BIN" mcd detect cfg/mcd-resnet.cfg weights/mcd-resnet.weights \
        <"$work/paths.txt" >"$work/out.txt" 2>/dev/null
    printf "stdin: %6d paths, %6d results, peak RSS %d KB\n" "$total" "$(wc -l <"$work/out.txt")" "$(cat "$work/rss")"
done
