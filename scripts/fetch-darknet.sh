#!/usr/bin/env bash
# Fetch the pinned Darknet source into DEST (default: darknet/).
#
# Darknet is Debian's source package `darknet` 0.0.0+git20180914.61c9d02e-2: upstream
# pjreddie/darknet commit 61c9d02e plus Debian's five patches (the OpenCV 4 fixes among them).
# No machine here reaches GitHub, so the source comes from Debian's archive with
# `apt-get source`, through a private apt state directory: the machine's apt configuration
# is never changed. apt checks the files against the archive's signed Sources index;
# we also pin the .dsc's SHA-256 so that a different upload can never slip in.
# dpkg-source -x unpacks the upstream tarball and applies Debian's patches.
set -euo pipefail

PKG=darknet
VERSION=0.0.0+git20180914.61c9d02e-2
DSC_SHA256=4844e416dcdedc300e9c449b15a62a6b36cb48fff32cb165ce71d4841cf18323
DEST=${1:-darknet}
STAMP="$DEST/.mcd-darknet-version"

if [ -f "$STAMP" ] && [ "$(cat "$STAMP")" = "$VERSION" ]; then
    echo "fetch-darknet: $DEST already holds $PKG $VERSION"
    exit 0
fi
if [ -e "$DEST" ]; then
    echo "fetch-darknet: $DEST exists but is not a complete fetch of $PKG $VERSION;" \
         "remove it and run again" >&2
    exit 1
fi
for tool in apt-get dpkg-source xz sha256sum; do
    if ! command -v "$tool" >/dev/null; then
        echo "fetch-darknet: '$tool' is missing; run 'make deps' first" >&2
        exit 1
    fi
done

# The archive to fetch from: the one this machine's apt already uses, unless MIRROR is set.
if [ -z "${MIRROR:-}" ]; then
    MIRROR=$(cat /etc/apt/sources.list /etc/apt/sources.list.d/*.list \
                 /etc/apt/sources.list.d/*.sources 2>/dev/null \
             | grep -oE 'https?://[^ ]+/debian/?( |$)' | grep -v security | head -n1 | tr -d ' ' || true)
    MIRROR=${MIRROR:-http://deb.debian.org/debian}
fi

work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
mkdir -p "$work/lists/partial" "$work/parts"
echo "deb-src $MIRROR bookworm main" > "$work/sources.list"
apt_opts=(-o "Dir::Etc::SourceList=$work/sources.list"
          -o "Dir::Etc::SourceParts=$work/parts"
          -o "Dir::State::Lists=$work/lists"
          -o "APT::Sandbox::User=root")

echo "fetch-darknet: reading the source index of $MIRROR"
apt-get "${apt_opts[@]}" -qq update
echo "fetch-darknet: downloading $PKG $VERSION"
(cd "$work" && apt-get "${apt_opts[@]}" -qq source --download-only "$PKG=$VERSION")

dsc="$work/${PKG}_${VERSION}.dsc"
echo "$DSC_SHA256  $dsc" | sha256sum --quiet -c - || {
    echo "fetch-darknet: $dsc does not match the pinned SHA-256" >&2; exit 1; }

# Unpack inside the work directory (dpkg-source leaves a copy of the upstream tarball next
# to its target), then move into place, so that an interrupted fetch leaves no DEST.
tmpdest="$DEST.partial.$$"
rm -rf "$tmpdest"
dpkg-source -q -x "$dsc" "$work/src" 2>&1 | grep -v -e 'cannot verify inline signature' -e '^gpgv:' >&2 || true
[ -f "$work/src/src/parser.c" ] || { echo "fetch-darknet: unpacking failed" >&2; exit 1; }
mv "$work/src" "$tmpdest"
echo "$VERSION" > "$tmpdest/.mcd-darknet-version"
mv "$tmpdest" "$DEST"
echo "fetch-darknet: $PKG $VERSION is in $DEST"
