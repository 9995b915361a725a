#!/usr/bin/env bash
# make bench: training and inference speed of cfgs with this build's oneDNN backend, Darknet's
# own layers (-backend darknet) and, when python3-torch is installed, the same network in
# PyTorch (bench/bench_torch.py, built from the same cfg: an MCD cfg's two heads too), at 1
# and 2 threads. The cfgs: cfg/bench-resnet.cfg (a 32x32 ResNet, one head), cfg/mcd-resnet-32.cfg
# and cfg/mcd-resnet18-224.cfg at batch 8 (CFG:N runs a copy of CFG with batch=N).
# Runs are interleaved (ours, PyTorch, ours, ...) and repeated BENCH_REPEATS times, so load
# from other work hits both alike; a table gives medians over the repeats of each run's
# median step, and the spread of the ratio over the repeats (run i of ours against run i of
# PyTorch). Darknet's own layers are slow: they run once, with few steps.
# Then the project's own network, cfg/mcd-resnet.cfg (28x28; no PyTorch twin in the table),
# with both backends on one thread (the mcd verbs' default).
# BENCH_CLOCK=cpu times every step in process CPU time instead of wall time: on a machine
# that other work keeps busy, wall time includes waiting for a core (the longer the step,
# the more), CPU time does not; with one thread it is the step's own compute time.
#   bench/bench.sh [CFG[:BATCH] ...]
#   env: BENCH_REPEATS (3), BENCH_THREADS ("1 2"), BENCH_CLOCK (wall|cpu), BENCH_DARKNET
set -euo pipefail
CFGS=${*:-cfg/bench-resnet.cfg cfg/mcd-resnet-32.cfg cfg/mcd-resnet18-224.cfg:8}
REPEATS=${BENCH_REPEATS:-3}
THREADS=${BENCH_THREADS:-"1 2"}
BIN=${BENCH_DARKNET:-build/bench-darknet}
TORCH=/usr/bin/python3
have_torch=0
"$TORCH" -c 'import torch' 2>/dev/null && have_torch=1
[ $have_torch = 1 ] || echo "bench: python3-torch not installed, PyTorch columns left empty" >&2
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

# the median of a space-separated list of numbers, "" for none
MEDIAN='
function median(list,   n, i, j, t, a) {
    n = split(list, a, " ")
    for (i = 1; i <= n; ++i) for (j = i + 1; j <= n; ++j) if (a[j] + 0 < a[i] + 0) { t = a[i]; a[i] = a[j]; a[j] = t }
    return n ? a[int((n + 1) / 2)] : ""
}'

# One cfg: every run into $results, then its table on stdout.
bench_cfg() { # CFG [BATCH]
    local cfg=$1 batch=${2:-} title=$1
    if [ -n "$batch" ]; then
        cfg=$work/$(basename "$1")
        sed -e "s/^batch=.*/batch=$batch/" -e "s/^subdivisions=.*/subdivisions=1/" "$1" > "$cfg"
    fi
    local width
    width=$(sed -n 's/^width=//p' "$cfg" | head -1)
    # steps per run: fewer for a large input, whose steps are long
    local train_steps=10 infer_steps=30 latency_steps=500
    [ "$width" -ge 128 ] && infer_steps=10 latency_steps=100
    local results=$work/results
    : > "$results"
    run() { # impl threads mode rep steps command...
        local impl=$1 threads=$2 mode=$3 rep=$4 n=$5
        shift 5
        local line
        line=$(OMP_NUM_THREADS=$threads "$@" "$cfg" "$mode" "$n" "$threads" 2>/dev/null | tail -1)
        echo "$impl $threads $rep $line" >> "$results"
        echo "  $title $impl threads=$threads $line" >&2
    }
    for threads in $THREADS; do
        for mode in train infer latency; do
            case $mode in train) n=2 ;; infer) n=3 ;; latency) n=20 ;; esac
            run darknet "$threads" "$mode" 0 "$n" "$BIN" -backend darknet
        done
        for rep in $(seq "$REPEATS"); do
            for mode in train infer latency; do
                case $mode in train) n=$train_steps ;; infer) n=$infer_steps ;; latency) n=$latency_steps ;; esac
                run onednn "$threads" "$mode" "$rep" "$n" "$BIN" -backend onednn
                [ $have_torch = 1 ] && run pytorch "$threads" "$mode" "$rep" "$n" "$TORCH" bench/bench_torch.py
            done
        done
    done
    [ -n "$batch" ] || batch=$(sed -n 's/^batch=//p' "$cfg" | head -1)
    # results: impl threads rep mode seconds images/s rss_mib -> medians per (impl, threads, mode)
    awk -v title="$title" -v batch="$batch" -v clock="${BENCH_CLOCK:-wall}" "$MEDIAN"'
    { k = $1 SUBSEP $2 SUBSEP $4; vals[k] = vals[k] " " $6; rss[k] = rss[k] " " $7; thr[$2] = 1
      at[$1, $2, $4, $3] = $6 }
    function v(impl, t, mode) { return median(vals[impl SUBSEP t SUBSEP mode]) }
    function r(impl, t, mode) { return median(rss[impl SUBSEP t SUBSEP mode]) }
    function ratio(a, b) { return (a == "" || b == "" || b == 0) ? "-" : sprintf("%.2fx", a / b) }
    # the lowest and highest ratio of run i of ours to run i of PyTorch
    function spread(t, mode,   i, lo, hi, q) {
        lo = ""; hi = ""
        for (i = 1; ((("onednn", t, mode, i) in at) && (("pytorch", t, mode, i) in at)); ++i) {
            if (at["pytorch", t, mode, i] == 0) continue
            q = at["onednn", t, mode, i] / at["pytorch", t, mode, i]
            if (lo == "" || q < lo) lo = q
            if (hi == "" || q > hi) hi = q
        }
        return lo == "" ? "-" : sprintf("%.2f-%.2f", lo, hi)
    }
    function ms(x) { return x == "" ? "-" : sprintf("%.2f", 1000 / x) }
    function row(t, name, mode, suffix) {
        printf "| %d | %s | %s | **%s** | %s | %s%s | %s |\n", t, name, v("darknet", t, mode),
               v("onednn", t, mode), v("pytorch", t, mode),
               ratio(v("onednn", t, mode), v("pytorch", t, mode)), suffix, spread(t, mode)
    }
    END {
        printf "%s, batch %s (1 for latency), %s time, median of the repeats\n\n", title,
               batch, clock == "cpu" ? "process CPU" : "wall-clock"
        printf "| threads | measure | Darknet layers | oneDNN backend | PyTorch | backend / PyTorch | spread |\n"
        printf "|---|---|---|---|---|---|---|\n"
        for (t = 1; t <= 64; ++t) {
            if (!(t in thr)) continue
            row(t, "training (img/s)", "train", "")
            row(t, "inference (img/s)", "infer", "")
            printf "| %d | batch-1 latency (ms) | %s | **%s** | %s | %s faster | %s |\n", t,
                   ms(v("darknet", t, "latency")), ms(v("onednn", t, "latency")),
                   ms(v("pytorch", t, "latency")),
                   ratio(v("onednn", t, "latency"), v("pytorch", t, "latency")), spread(t, "latency")
            printf "| %d | peak RSS, training (MiB) | %s | **%s** | %s | %s | |\n", t,
                   r("darknet", t, "train"), r("onednn", t, "train"), r("pytorch", t, "train"),
                   ratio(r("onednn", t, "train"), r("pytorch", t, "train"))
        }
        printf "\n"
    }' "$results"
}

for spec in $CFGS; do
    case $spec in *:*) bench_cfg "${spec%%:*}" "${spec##*:}" ;; *) bench_cfg "$spec" ;; esac
done

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
