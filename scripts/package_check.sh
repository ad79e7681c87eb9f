#!/usr/bin/env bash
# Checks the library as users outside Bazel get it:
#   1. builds the Debian packages (dpkg-buildpackage -b -us -uc) and runs lintian on them;
#   2. unpacks them into a temporary root (dpkg -x: no chroot, nothing touches the system);
#   3. builds and runs the consumer examples against that tree: CMake (C++), pkg-config (C++),
#      C on the C ABI (both through pkg-config and through CMake's kms_envelope::c);
#   4. runs the Python binding's pytest suite against the unpacked library and CLI;
#   5. installs with scripts/install.sh --prefix into another temp dir and uninstalls again,
#      checking that uninstall removes exactly what install listed.
# Prints one "ok NAME" / "FAIL NAME" line per check and ends with "N passed, N failed".
set -uo pipefail
cd "$(dirname "$0")/.."
root=$(mktemp -d)
trap 'rm -rf "$root"' EXIT
passed=0 failed=0
check() {  # check NAME CMD...
  local name=$1; shift
  if "$@" > "$root/log.$name" 2>&1; then
    echo "ok $name"; passed=$((passed + 1))
  else
    echo "FAIL $name"; sed 's/^/    /' "$root/log.$name" | tail -40; failed=$((failed + 1))
  fi
}

build_debs() {
  # A copy of the working tree (tracked and new files, not ignored ones): dpkg-buildpackage
  # writes into debian/ and puts the .deb files next to the source directory.
  local work="$root/src"
  mkdir -p "$work" "$root/debs" &&
    git ls-files -z --cached --others --exclude-standard | xargs -0 cp --parents -t "$work" &&
    (cd "$work" && dpkg-buildpackage -b -us -uc) && mv "$root"/*.deb "$root/debs/"
}
check deb-build build_debs
debs="$root/debs"
check deb-lintian bash -c "lintian --fail-on error --suppress-tags-from-file debian/lintian-suppressed $debs/*.deb"
check deb-unpack bash -c "for d in $debs/*.deb; do dpkg -x \"\$d\" $root/tree; done"

tree="$root/tree"
triplet=$(dpkg-architecture -qDEB_HOST_MULTIARCH)
libdir="$tree/usr/lib/$triplet"
export PKG_CONFIG_PATH="$libdir/pkgconfig"
# The unpacked .pc names /usr: point pkg-config at the unpacked tree instead.
export PKG_CONFIG_SYSROOT_DIR="$tree"
export LD_LIBRARY_PATH="$libdir"
out="$root/out"; mkdir -p "$out"
echo "kms_envelope consumer example input" > "$out/input.txt"

run_seal_file() {  # the example binary, then compare
  rm -rf "$out/store-$1" && "$2" "$out/store-$1" "$out/input.txt" "$out/$1.kmse" "$out/$1.txt" &&
    cmp "$out/input.txt" "$out/$1.txt"
}
check consumer-cmake bash -c "cmake -S examples/consumers/cmake -B $out/cmake -DCMAKE_PREFIX_PATH=$tree/usr \
  && cmake --build $out/cmake" 
check consumer-cmake-run run_seal_file cmake "$out/cmake/seal_file"
check consumer-pkgconfig make -C examples/consumers/pkgconfig OUT="$out/seal_file_pc"
check consumer-pkgconfig-run run_seal_file pc "$out/seal_file_pc"
check consumer-c-pkgconfig bash -c "cc -std=c99 -Wall -Werror -o $out/seal_c examples/consumers/c/seal.c \
  \$(pkg-config --cflags --libs kms_envelope) && $out/seal_c $out/store-c"
check consumer-c-cmake bash -c "cmake -S examples/consumers/c -B $out/cmake-c -DCMAKE_PREFIX_PATH=$tree/usr \
  && cmake --build $out/cmake-c && $out/cmake-c/seal $out/store-c2"
check cli-from-package "$tree/usr/bin/kms-envelope" --help
check python-binding env KMS_ENVELOPE_LIBRARY="$libdir/libkms_envelope.so.0" \
  KMS_ENVELOPE_CLI="$tree/usr/bin/kms-envelope" /usr/bin/python3 -m pytest -q -p no:cacheprovider python/tests

install_uninstall() {
  local p="$root/prefix"
  # From the package build's tree: its build/ holds the optimized outputs install.sh copies.
  (cd "$root/src" && bash scripts/install.sh --prefix "$p" --no-build) || return 1
  local listed; listed=$(sort "$p/share/kms_envelope/install_manifest.txt")
  local found; found=$(cd / && find "${p#/}" -type f -o -type l | sed 's|^|/|' | grep -v install_manifest | sort)
  [ "$listed" = "$found" ] || { diff <(echo "$listed") <(echo "$found"); return 1; }
  (cd "$root/src" && bash scripts/install.sh uninstall --prefix "$p") || return 1
  [ -z "$(find "$p" -type f -o -type l)" ] || { find "$p"; return 1; }
}
check install-uninstall install_uninstall

echo "$passed passed, $failed failed"
[ "$failed" -eq 0 ]
