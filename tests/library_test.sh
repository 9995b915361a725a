#!/usr/bin/env bash
# The library as a user gets it (issue 16): `make install PREFIX=tmp`, examples/gate.c built
# against the installed copy with pkg-config, shared and static, and its verdicts on
# Fashion-MNIST and MNIST images compared with `darknet mcd detect`'s on the same images
# (the shipped model and its threshold). Also: the shared library exports the API alone.
# Usage: tests/library_test.sh (from the repository root; make's variables in MAKE_ARGS)
set -uo pipefail
BIN=${DARKNET_BIN:-bin/darknet}
prefix=$(mktemp -d /tmp/mcd-install-XXXXXX)
work=$(mktemp -d /tmp/mcd-gate-XXXXXX)
trap 'rm -rf "$prefix"; [ "$failed" -eq 0 ] && rm -rf "$work"' EXIT
passed=0 failed=0
check() { # NAME STATUS DETAIL
    if [ "$2" -eq 0 ]; then passed=$((passed + 1)); echo "PASS  $1"; else failed=$((failed + 1)); echo "FAIL  $1  ($3)"; fi
}
make --no-print-directory ${MAKE_ARGS:-} install PREFIX="$prefix" >"$work/install.log" 2>&1
check "make install PREFIX=$prefix" $? "$work/install.log"
for f in lib/libdarknet-mcd.so lib/libdarknet-mcd.a include/mcd.h lib/pkgconfig/darknet-mcd.pc; do
    test -s "$prefix/$f"; check "installed $f" $? "$prefix/$f"
done
exported=$(nm -D --defined-only "$prefix/lib/libdarknet-mcd.so" | awk '{print $3}' | sort | tr '\n' ' ')
want="mcd_detector_classify_batch mcd_detector_classify_file mcd_detector_classify_pixels mcd_detector_close mcd_detector_open mcd_detector_set_threshold mcd_last_error mcd_version "
[ "$exported" = "$want" ]; check "the shared library exports the API alone" $? "$exported"

export PKG_CONFIG_PATH=$prefix/lib/pkgconfig
cc -Wall -Werror examples/gate.c $(pkg-config --cflags --libs darknet-mcd) -o "$work/gate" 2>"$work/cc.log"
check "gate.c builds against the shared library (pkg-config)" $? "$work/cc.log"
cc -Wall -Werror examples/gate.c $(pkg-config --cflags darknet-mcd) "$prefix/lib/libdarknet-mcd.a" \
    $(pkg-config --static --libs-only-other --libs-only-l darknet-mcd | sed 's/-ldarknet-mcd//') \
    -o "$work/gate-static" 2>"$work/cc-static.log"
check "gate.c builds against the static library" $? "$work/cc-static.log"

images=$(head -6 data/fmnist-small/id-test.list; head -6 data/fmnist-small/ood-mnist.list)
# the shipped network with the small data set's class names (what CI has)
sed 's|^data=.*|data=cfg/fmnist-small.data|' cfg/mcd-resnet.cfg >"$work/net.cfg"
"$BIN" mcd detect "$work/net.cfg" weights/mcd-resnet.weights $images \
    >"$work/detect.txt" 2>"$work/detect.err"
check "mcd detect runs" $? "$work/detect.err"
for g in gate gate-static; do
    "$work/$g" "$work/net.cfg" weights/mcd-resnet.weights $images >"$work/$g.txt" 2>"$work/$g.err"
    check "$g runs, prints nothing on stderr" $(( $? || $(wc -c <"$work/$g.err") )) "$work/$g.err"
    cmp -s "$work/detect.txt" "$work/$g.txt"
    check "$g's verdicts, scores and classes = mcd detect's" $? "diff $work/detect.txt $work/$g.txt"
done
grep -q "OOD" "$work/detect.txt" && grep -q " ID " "$work/detect.txt"
check "the images hold both verdicts" $? "$work/detect.txt"
echo "library: $passed passed, $failed failed"
[ "$failed" -eq 0 ]
