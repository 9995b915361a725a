#!/usr/bin/env bash
# Kill test: no fault loses training work. Trains mcd-small on the small data set with a
# short schedule and a checkpoint every 2 batches, SIGKILLs the trainer at random moments of
# its training (KILLS times, each after 0-3 of its progress lines), and restarts it each time from BACKUP/mcd-small.weights, as a user would.
# After every kill each checkpoint in the backup directory must load with its exact size
# (`mcd check`: a half-written file would not), and each restart must resume at or after
# the batch of the checkpoint it was given, never from batch 0. The last run goes to the end
# and its final weights must load. About a minute on 2 cores.
# Usage: tests/kill_test.sh [WORKDIR]   (KILL_SEED fixes the kill moments)
set -uo pipefail
BIN=${DARKNET_BIN:-bin/darknet}
DATA=cfg/fmnist-small.data
KILLS=${KILLS:-5}
work=${1:-$(mktemp -d /tmp/mcd-kill-XXXXXX)}
rm -rf "$work" && mkdir -p "$work/backup"
RANDOM=${KILL_SEED:-$$}
cfg="$work/mcd-small.cfg"
sed -e 's/^checkpoint_interval=.*/checkpoint_interval=2/' -e 's/^select_interval=.*/select_interval=3/' \
    -e 's/^log_interval=.*/log_interval=2/' cfg/mcd-small.cfg >"$cfg"
train=("$BIN" mcd train "$cfg" -data "$DATA" -backup "$work/backup" -seed 5
       -pretrain_batches 24 -finetune_batches 12)
last="$work/backup/mcd-small.weights"
failed=0
hits=0
fail() { failed=$((failed + 1)); echo "FAIL  $*"; }

# Batches a weights file has seen, from `mcd check` (seen images / batch 128).
batches_of() {
    "$BIN" mcd check "$cfg" "$1" 2>/dev/null |
        awk '/images seen/ { for (i = 1; i < NF; ++i) if ($(i+1) == "images") print int($i / 128) }'
}

check_checkpoints() {
    for w in "$work"/backup/*.weights; do
        [ -e "$w" ] || continue
        if ! "$BIN" mcd check "$cfg" "$w" >/dev/null 2>"$work/check.err"; then
            fail "after kill $1: $w does not load: $(cat "$work/check.err")"
        fi
    done
}

for k in $(seq 1 "$KILLS"); do
    args=("${train[@]}")
    from=0
    if [ -e "$last" ]; then args+=("$last"); from=$(batches_of "$last"); fi
    "${args[@]}" >"$work/run$k.log" 2>"$work/run$k.err" &
    pid=$!
    # kill once this run has printed a random number (0-3) of progress lines, plus up to
    # 0.2 s: the kill lands while it trains however fast the machine runs the schedule, and
    # five kills fit in its 18 lines (24 + 12 batches, a line every 2)
    target=$((RANDOM % 4))
    for _ in $(seq 1 1200); do
        kill -0 "$pid" 2>/dev/null || break
        if grep -q '^\(pre-training: batches\|fine-tuning: iterations\)' "$work/run$k.log" 2>/dev/null &&
           [ "$(grep -c '^pretrain \|^finetune ' "$work/run$k.log")" -ge "$target" ]; then break; fi
        sleep 0.05
    done
    sleep "0.$((RANDOM % 3))"
    kill -KILL "$pid" 2>/dev/null
    wait "$pid" 2>/dev/null
    [ $? -eq 137 ] && hits=$((hits + 1))
    started=$(awk '/^(pre-training: batches|fine-tuning: iterations)/ { print $3; exit }' "$work/run$k.log")
    phase=$(awk '/^(pre-training: batches|fine-tuning: iterations)/ { print $1; exit }' "$work/run$k.log")
    [ "$phase" = fine-tuning: ] && started=$((started + 24))
    echo "kill $k: resumed from batch $from, started at ${started:-?} ($phase), killed after $(grep -c '^pretrain\|^finetune' "$work/run$k.log") log lines"
    if [ -n "$started" ] && [ "$started" -lt "$from" ]; then fail "run $k restarted at $started, before its checkpoint's batch $from"; fi
    check_checkpoints "$k"
done

args=("${train[@]}")
[ -e "$last" ] && args+=("$last")
"${args[@]}" >"$work/final.log" 2>"$work/final.err"
rc=$?
[ "$rc" -eq 0 ] || fail "the last run exited $rc: $(tail -1 "$work/final.err")"
"$BIN" mcd check "$cfg" "$work/backup/mcd-small_final.weights" >/dev/null 2>"$work/check.err" ||
    fail "final weights do not load: $(cat "$work/check.err")"
n=$(batches_of "$work/backup/mcd-small_final.weights")
[ "${n:-0}" -eq 36 ] || fail "final weights have seen ${n:-?} batches, not 24 + 12"
# a kill that came after the run had ended would test nothing
[ "$hits" -ge $((KILLS > 2 ? KILLS - 2 : 1)) ] || fail "only $hits of $KILLS kills hit a running trainer"
if [ "$failed" -eq 0 ]; then echo "kill test: passed ($KILLS kills, $hits while it trained; work in $work)"; else echo "kill test: $failed failures (work in $work)"; fi
[ "$failed" -eq 0 ]
