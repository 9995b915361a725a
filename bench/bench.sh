#!/usr/bin/env bash
# make bench: training and inference speed of a cfg (default cfg/bench-resnet.cfg) with this
# build's oneDNN backend, Darknet's own layers (-backend darknet) and, when python3-torch is
# installed, the same network in PyTorch (bench/bench_torch.py), at 1 and 2 threads.
# Runs are interleaved (ours, PyTorch, ours, ...) and repeated BENCH_REPEATS times, so load
# from other work hits both alike; the table gives medians over the repeats of each run's
# median step. Darknet's own layers are slow: they run once, with few steps.
# Then the project's own network, cfg/mcd-resnet.cfg (MCD sections: no PyTorch twin), with
# both backends on one thread (the mcd verbs' default).
#   bench/bench.sh [CFG]      env: BENCH_REPEATS (3), BENCH_THREADS ("1 2"), BENCH_DARKNET
set -euo pipefail
CFG=${1:-cfg/bench-resnet.cfg}
REPEATS=${BENCH_REPEATS:-3}
THREADS=${BENCH_THREADS:-"1 2"}
BIN=${BENCH_DARKNET:-build/bench-darknet}
TORCH=/usr/bin/python3
have_torch=0
"$TORCH" -c 'import torch' 2>/dev/null && have_torch=1
[ $have_torch = 1 ] || echo "bench: python3-torch not installed, PyTorch columns left empty" >&2
results=$(mktemp)
trap 'rm -f "$results"' EXIT

steps() { case $1 in train) echo 10 ;; infer) echo 30 ;; latency) echo 500 ;; esac; }
run() { # impl threads mode steps command...
    local impl=$1 threads=$2 mode=$3 n=$4
    shift 4
    local line
    line=$(OMP_NUM_THREADS=$threads "$@" "$CFG" "$mode" "$n" "$threads" 2>/dev/null | tail -1)
    echo "$impl $threads $line" >> "$results"
    echo "  $impl threads=$threads $line" >&2
}

for threads in $THREADS; do
    for mode in train infer latency; do
        case $mode in train) n=2 ;; infer) n=3 ;; latency) n=50 ;; esac
        run darknet "$threads" "$mode" "$n" "$BIN" -backend darknet
    done
    for rep in $(seq "$REPEATS"); do
        for mode in train infer latency; do
            run onednn "$threads" "$mode" "$(steps $mode)" "$BIN" -backend onednn
            [ $have_torch = 1 ] && run pytorch "$threads" "$mode" "$(steps $mode)" "$TORCH" bench/bench_torch.py
        done
    done
done

# the median of a space-separated list of numbers, "" for none
MEDIAN='
function median(list,   n, i, j, t, a) {
    n = split(list, a, " ")
    for (i = 1; i <= n; ++i) for (j = i + 1; j <= n; ++j) if (a[j] < a[i]) { t = a[i]; a[i] = a[j]; a[j] = t }
    return n ? a[int((n + 1) / 2)] : ""
}'

# results: impl threads mode seconds images/s rss_mib  ->  medians per (impl, threads, mode)
awk -v cfg="$CFG" "$MEDIAN"'
{ k = $1 SUBSEP $2 SUBSEP $3; vals[k] = vals[k] " " $5; rss[k] = rss[k] " " $6; thr[$2] = 1 }
function v(impl, t, mode) { return median(vals[impl SUBSEP t SUBSEP mode]) }
function r(impl, t, mode) { return median(rss[impl SUBSEP t SUBSEP mode]) }
function ratio(a, b) { return (a == "" || b == "" || b == 0) ? "-" : sprintf("%.2fx", a / b) }
function ms(x) { return x == "" ? "-" : sprintf("%.2f", 1000 / x) }
END {
    printf "%s, batch from the cfg, median of the repeats\n\n", cfg
    printf "| threads | measure | Darknet layers | oneDNN backend | PyTorch | backend / PyTorch |\n"
    printf "|---|---|---|---|---|---|\n"
    for (t = 1; t <= 64; ++t) {
        if (!(t in thr)) continue
        printf "| %d | training (img/s) | %s | **%s** | %s | %s |\n", t, v("darknet", t, "train"), v("onednn", t, "train"), v("pytorch", t, "train"), ratio(v("onednn", t, "train"), v("pytorch", t, "train"))
        printf "| %d | inference (img/s) | %s | **%s** | %s | %s |\n", t, v("darknet", t, "infer"), v("onednn", t, "infer"), v("pytorch", t, "infer"), ratio(v("onednn", t, "infer"), v("pytorch", t, "infer"))
        printf "| %d | batch-1 latency (ms) | %s | **%s** | %s | %s |\n", t, ms(v("darknet", t, "latency")), ms(v("onednn", t, "latency")), ms(v("pytorch", t, "latency")), ratio(v("onednn", t, "latency"), v("pytorch", t, "latency")) " faster"
        printf "| %d | peak RSS, training (MiB) | %s | **%s** | %s | %s |\n", t, r("darknet", t, "train"), r("onednn", t, "train"), r("pytorch", t, "train"), ratio(r("onednn", t, "train"), r("pytorch", t, "train"))
    }
}' "$results"

echo
echo "cfg/mcd-resnet.cfg, 1 thread, median of $REPEATS runs (img/s)"
echo
echo "| measure | Darknet layers | oneDNN backend | backend / Darknet |"
echo "|---|---|---|---|"
for mode in train infer; do
    for backend in darknet onednn; do
        for rep in $(seq "$REPEATS"); do
            OMP_NUM_THREADS=1 "$BIN" -backend $backend cfg/mcd-resnet.cfg $mode 5 1 2>/dev/null |
                awk -v b=$backend '{ print b, $3 }'
        done
    done | awk -v mode=$mode "$MEDIAN"'
        { v[$1] = v[$1] " " $2 }
        END {
            d = median(v["darknet"]); o = median(v["onednn"])
            printf "| %s | %s | **%s** | %.2fx |\n", mode == "train" ? "training, batch 128" : "inference, batch 128", d, o, o / d
        }'
done
