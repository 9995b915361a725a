#!/usr/bin/env bash
# Determinism, and runs that collide. Two training runs with the same seed give
# bit-identical weights, and a different seed gives different ones. The second run with
# the seed (b) is not alone: while it trains, other commands aim at its backup directory,
# as a user would by mistake, and each must be refused at once, with exit status 1 and one
# line naming the directory and b's process id, writing nothing:
#   - a second training with another seed into the same -backup;
#   - a resume from b's own checkpoint (`mcd train CFG BACKUP/BASE.weights`), the backup
#     directory spelt differently (a trailing slash, a ./);
#   - `mcd calibrate` of b's BASE.weights, which b will replace.
# b's weights must then still be byte-identical to the lone run a's, and its logs hold as
# many rows as a's (nothing of the refused runs in them).
# Short schedule (pre-training and fine-tuning, both loaders at work) on the small data
# set; about 20 s on 2 cores.
# Both runs use the same thread count for the gemm (OMP_NUM_THREADS, default 1 here): the
# batch content no longer depends on threads, but a sum split over another number of
# threads rounds differently.
# Usage: tests/determinism_test.sh [WORKDIR]
set -uo pipefail
BIN=${DARKNET_BIN:-bin/darknet}
export OMP_NUM_THREADS=${OMP_NUM_THREADS:-1}
work=${1:-$(mktemp -d /tmp/mcd-determinism-XXXXXX)}
rm -rf "$work" && mkdir -p "$work"
CFG=cfg/mcd-small.cfg
DATA=cfg/fmnist-small.data
SCHEDULE=(-pretrain_batches 12 -finetune_batches 6)
failed=0
pass() { echo "PASS  $*"; }
fail() { failed=1; echo "FAIL  $*"; }
train() { # train RUN SEED
    "$BIN" mcd train "$CFG" -data "$DATA" -backup "$work/$1" -seed "$2" "${SCHEDULE[@]}" \
        >"$work/$1.log" 2>"$work/$1.err" ||
        { echo "FAIL  run $1 exited $?: $(tail -1 "$work/$1.err")"; exit 1; }
}

train a 11

# b: seed 11 again, in the background; the others wait for its lock (taken once its data
# is checked, before its first write)
"$BIN" mcd train "$CFG" -data "$DATA" -backup "$work/b" -seed 11 "${SCHEDULE[@]}" \
    >"$work/b.log" 2>"$work/b.err" &
bpid=$!
for _ in $(seq 1 600); do
    grep -q "^pid $bpid " "$work/b/mcd-small.lock" 2>/dev/null && break
    kill -0 "$bpid" 2>/dev/null || break
    sleep 0.05
done
grep -q "^pid $bpid " "$work/b/mcd-small.lock" 2>/dev/null || fail "run b took no lock ($work/b/mcd-small.lock)"
# b is paused while the others try (SIGSTOP: it holds its lock and computes the same), so
# that its short schedule cannot end first and the refusals are timed on a quiet machine
kill -STOP "$bpid"

# collide NAME WANT COMMAND...: exit 1 within 5 s (start-up: a sanitized build is slow), one
# line on stderr (nothing parsed or read before it: no layer table) with the directory
# (or, for calibrate, the lock), WANT and b's process id, nothing on stdout
collide() {
    local name=$1 want=$2
    shift 2
    local t0 t1 rc
    t0=$(date +%s.%N)
    "$@" >"$work/$name.out" 2>"$work/$name.err"
    rc=$?
    t1=$(date +%s.%N)
    local secs lines
    secs=$(awk -v a="$t0" -v b="$t1" 'BEGIN { printf "%.2f", b - a }')
    lines=$(wc -l <"$work/$name.err")
    if [ "$rc" -eq 1 ] && [ "$lines" -eq 1 ] && [ ! -s "$work/$name.out" ] &&
        grep -q "$want" "$work/$name.err" && grep -q "process $bpid" "$work/$name.err" &&
        awk -v s="$secs" 'BEGIN { exit !(s < 5) }'; then
        pass "$name refused in $secs s: $(cat "$work/$name.err")"
    else
        fail "$name: exit $rc in $secs s, $lines lines on stderr: $(head -3 "$work/$name.err")"
    fi
}
collide "second run (seed 12)" "backup directory '$work/b' is in use" \
    "$BIN" mcd train "$CFG" -data "$DATA" -backup "$work/b" -seed 12 "${SCHEDULE[@]}"
collide "resume of the running run" "is in use" \
    "$BIN" mcd train "$CFG" "$work/b/mcd-small.weights" -data "$DATA" -backup "$work/b/"
collide "another spelling of the directory" "is in use" \
    "$BIN" mcd train "$CFG" -data "$DATA" -backup "$work/./b" -seed 13 "${SCHEDULE[@]}"
collide "calibrate of the weights it rewrites" "holds $work/b/mcd-small.lock" \
    "$BIN" mcd calibrate "$CFG" "$work/b/mcd-small.weights" -data "$DATA"
kill -CONT "$bpid"
wait "$bpid"
rc=$?
[ "$rc" -eq 0 ] && pass "run b exited 0" || fail "run b exited $rc: $(tail -1 "$work/b.err")"
[ -e "$work/b/mcd-small.weights.threshold" ] && fail "calibrate wrote a threshold for b's weights"

train c 12
for f in mcd-small_pretrain.weights mcd-small_final.weights mcd-small_best.weights mcd-small.weights; do
    if cmp -s "$work/a/$f" "$work/b/$f"; then pass "seed 11 twice: $f identical"
    else fail "seed 11 twice: $f differs ($(cmp "$work/a/$f" "$work/b/$f" 2>&1 | head -1))"; fi
done
# the logs: the same rows (images/s aside), none from the refused runs
for f in mcd-small_train.csv mcd-small_select.csv; do
    if diff <(cut -d, -f1-9 "$work/a/$f") <(cut -d, -f1-9 "$work/b/$f") >/dev/null; then
        pass "seed 11 twice: $f has the same $(wc -l <"$work/b/$f") rows"
    else fail "seed 11 twice: $f differs"; fi
done
extra=$(ls "$work/b" | grep -v -x -F -f <(ls "$work/a"))
[ -z "$extra" ] && pass "b's directory holds the files a's does" || fail "files in b not in a: $extra"
if cmp -s "$work/a/mcd-small_final.weights" "$work/c/mcd-small_final.weights"; then
    fail "seeds 11 and 12 gave the same weights"
else pass "seeds 11 and 12 differ"; fi
[ "$failed" -eq 0 ] && echo "determinism: passed" || echo "determinism: failed (work in $work)"
exit "$failed"
