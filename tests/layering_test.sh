#!/usr/bin/env bash
# The plugin's include rules (docs/architecture.md): a folder includes only from itself and
# from the folders below it in util < layers < network < backend < io < ood < train <
# api < commands, and no file includes itself back through others (tsort finds any loop).
set -euo pipefail
cd "$(dirname "$0")/.."
order=(util layers network backend io ood train api commands)
rank() { local i; for i in "${!order[@]}"; do [ "${order[$i]}" = "$1" ] && { echo "$i"; return; }; done; echo -1; }
bad=0
edges=$(mktemp)
trap 'rm -f "$edges"' EXIT
for f in $(git ls-files 'plugin/*.c' 'plugin/*.cpp' 'plugin/*.h'); do
    from=${f#plugin/}; from=${from%%/*}
    rf=$(rank "$from")
    if [ "$rf" -lt 0 ]; then echo "FAIL  $f: folder '$from' is not in the layering"; bad=1; continue; fi
    for inc in $(sed -n 's/^#include "\([a-z_]*\/[a-z_0-9]*\.h\)".*/\1/p' "$f"); do
        to=${inc%%/*}
        rt=$(rank "$to")
        if [ "$rt" -lt 0 ] || [ "$rt" -gt "$rf" ]; then
            echo "FAIL  $f includes $inc: $from may include only from ${order[*]:0:$((rf + 1))}"
            bad=1
        fi
        # file-level graph: a source and its header are one node
        echo "${f%.*} plugin/${inc%.h}" >> "$edges"
    done
done
if ! tsort "$edges" > /dev/null 2> "$edges.err"; then
    echo "FAIL  include loop:"; sed 's/^/      /' "$edges.err"; bad=1
fi
rm -f "$edges.err"
[ $bad = 0 ] && echo "layering: every include goes down the folder order; no include loop"
exit $bad
