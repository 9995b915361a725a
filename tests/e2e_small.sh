#!/usr/bin/env bash
# End-to-end: train mcd-small on the small data subset (cfg/fmnist-small.data) with its
# default schedule, then evaluate the pre-trained network and the fine-tuned one that the
# trainer chose (BASE_best.weights, chosen without OOD labels) on held-out Fashion-MNIST vs
# MNIST. Checks what MCD is for: the fine-tuned heads' L1 score separates MNIST from
# Fashion-MNIST (AUROC > 0.95), better than the pre-trained network's does; and the
# trainer's label-free health check, from the held-out pool (half MNIST), says healthy.
# A few minutes on 2 cores. Usage: tests/e2e_small.sh [WORKDIR]
set -uo pipefail
BIN=${DARKNET_BIN:-bin/darknet}
CFG=cfg/mcd-small.cfg
DATA=cfg/fmnist-small.data
work=${1:-$(mktemp -d /tmp/mcd-e2e-XXXXXX)}
mkdir -p "$work"
passed=0
failed=0
check() { # check NAME CONDITION-EXIT-STATUS DETAIL
    if [ "$2" -eq 0 ]; then passed=$((passed + 1)); echo "PASS  $1  ($3)";
    else failed=$((failed + 1)); echo "FAIL  $1  ($3)"; fi
}
# AUROC (percent) of the MCD L1 score, held-out MNIST against the ID test set
mnist_auroc() {
    "$BIN" mcd valid "$CFG" "$1" -data "$DATA" 2>>"$work/valid.err" |
        awk '$1 == "ood-mnist" && $2 == "MCD" && $3 == "L1" { print $4; exit }'
}

start=$(date +%s)
"$BIN" mcd train "$CFG" -data "$DATA" -backup "$work" -seed 7 >"$work/train.log" 2>"$work/train.err"
rc=$?
check "mcd train exits 0" $rc "exit $rc, $(( $(date +%s) - start )) s; log $work/train.log"
for f in mcd-small_pretrain.weights mcd-small_final.weights mcd-small_best.weights mcd-small.weights; do
    test -s "$work/$f"; check "checkpoint $f written" $? "$work/$f"
done

verdict=$(sed -n 's/^verdict=//p' "$work/mcd-small.health" 2>/dev/null)
test "$verdict" = healthy
check "health check: healthy" $? "${verdict:-no record}; $(grep '^training health' "$work/train.log")"
# (valid's output kept whole first: grep -q in a pipe would stop reading early and, under
# pipefail, count valid's SIGPIPE as a failure)
valid_out=$("$BIN" mcd valid "$CFG" "$work/mcd-small_best.weights" -data "$DATA" 2>>"$work/valid.err")
grep -q "^training health: $verdict: " <<<"$valid_out"
check "mcd valid prints the health record" $? "$work/mcd-small.health"

pre=$(mnist_auroc "$work/mcd-small_pretrain.weights")
fin=$(mnist_auroc "$work/mcd-small_best.weights")
echo "held-out MNIST AUROC (MCD L1): pre-trained ${pre:-?}, fine-tuned ${fin:-?}"
awk -v a="${fin:-0}" 'BEGIN { exit !(a > 95) }'
check "fine-tuned MNIST AUROC > 95" $? "${fin:-none}"
awk -v a="${fin:-0}" -v b="${pre:-100}" 'BEGIN { exit !(a > b) }'
check "fine-tuning raised MNIST AUROC" $? "${pre:-none} -> ${fin:-none}"

"$BIN" mcd calibrate "$CFG" "$work/mcd-small_best.weights" -data "$DATA" >/dev/null 2>>"$work/valid.err"
check "calibrate writes the threshold file" $? "$work/mcd-small_best.weights.threshold"

echo "e2e: $passed passed, $failed failed"
[ "$failed" -eq 0 ]
