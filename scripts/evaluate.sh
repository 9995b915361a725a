#!/usr/bin/env bash
# Evaluate a trained MCD network on the default data (needs `make data`): the pre-trained
# network (its MSP and other baselines) and the fine-tuned one, on the held-out and the
# transductive protocols, with the calibrated threshold. Prints `mcd valid`'s tables.
#   scripts/evaluate.sh [CFG] [BACKUP_DIR] [FINETUNED_WEIGHTS]
# defaults: cfg/mcd-resnet.cfg, backup, BACKUP_DIR/BASE_best.weights
set -euo pipefail
CFG=${1:-cfg/mcd-resnet.cfg}
BACKUP=${2:-backup}
base=$(basename "$CFG" .cfg)
FINE=${3:-$BACKUP/${base}_best.weights}
BIN=${DARKNET_BIN:-bin/darknet}
[ -f data/fmnist/.complete ] || { echo "evaluate: run 'make data' first" >&2; exit 1; }
for w in "$BACKUP/${base}_pretrain.weights" "$FINE"; do
    [ -f "$w" ] || { echo "evaluate: no $w" >&2; exit 1; }
    echo "=== $w"
    "$BIN" mcd calibrate "$CFG" "$w" 2>/dev/null | tail -n 2
    "$BIN" mcd valid "$CFG" "$w" -transductive 2>/dev/null
done
