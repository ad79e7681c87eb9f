#!/usr/bin/env bash
# Installs kms_envelope for users outside Bazel: the CLI, the shared and static library, the
# public headers, pkg-config and CMake metadata, the man page, bash and zsh completion; or
# removes exactly that.
#
#   bash scripts/install.sh [--prefix DIR] [--libdir DIR] [--destdir DIR]    # default /usr/local
#   bash scripts/install.sh uninstall [--prefix DIR] [--destdir DIR]
#   bash scripts/install.sh --cli-only [--prefix DIR]   # just the CLI and its man page
#
# --destdir stages the tree under DIR (as `make install DESTDIR=` does; the Debian package uses
# it); the installed metadata names the final paths (--prefix, --libdir). What was installed is
# listed in PREFIX/share/kms_envelope/install_manifest.txt, which `uninstall` reads.
set -euo pipefail
cd "$(dirname "$0")/.."
source scripts/lib/elevate.sh

action=install prefix=/usr/local libdir="" destdir="" build=1 cli_only=0
while (($#)); do
  case "$1" in
    install|uninstall) action=$1 ;;
    --prefix) prefix=$2; shift ;;
    --prefix=*) prefix=${1#*=} ;;
    --libdir) libdir=$2; shift ;;
    --libdir=*) libdir=${1#*=} ;;
    --destdir) destdir=$2; shift ;;
    --destdir=*) destdir=${1#*=} ;;
    --no-build) build=0 ;;
    --cli-only) cli_only=1 ;;
    *) echo "install.sh: unknown argument '$1'" >&2; exit 2 ;;
  esac
  shift
done
[ -n "$libdir" ] || libdir="$prefix/lib"
manifest_rel="$prefix/share/kms_envelope/install_manifest.txt"
manifest="$destdir$manifest_rel"

version=$(sed -n 's/^#define KMS_ENVELOPE_VERSION_STRING "\(.*\)"/\1/p' kms_envelope/version.h)
major=${version%%.*}

# The directory (under destdir) must be writable by us, else elevate (sudo only when needed).
run() { elevate_if_needed "$destdir$prefix" "$@"; }

if [ "$action" = uninstall ]; then
  [ -f "$manifest" ] || { echo "install.sh: no manifest at $manifest" >&2; exit 1; }
  while IFS= read -r f; do run rm -f "$destdir$f"; done < "$manifest"
  run rm -f "$manifest"
  # Directories the install created and left empty (never the prefix itself).
  for d in include/kms_envelope share/kms_envelope "${libdir#"$prefix"/}/cmake/kms_envelope" \
           share/bash-completion/completions share/zsh/vendor-completions; do
    [ -d "$destdir$prefix/$d" ] && run find "$destdir$prefix/$d" -depth -type d -empty -delete
  done
  echo "uninstalled kms_envelope from $destdir$prefix" >&2
  exit 0
fi

if ((build)) && ((cli_only)); then
  bazel build -c opt --jobs="${KMS_JOBS:-2}" //:kms-envelope >&2
elif ((build)); then
  # --force_pic: the shared library needs PIC objects; building everything so compiles it once.
  bazel build -c opt --force_pic --jobs="${KMS_JOBS:-2}" //kms_envelope/packaging >&2
fi
out=build/bin/kms_envelope/packaging

staging=$(mktemp -d)
trap 'rm -rf "$staging"' EXIT
absl_libs=$(python3 scripts/lib/absl_libs.py third_party/system.BUILD)
absl_cmake=$(python3 scripts/lib/absl_libs.py --cmake third_party/system.BUILD)
rel() { python3 -c 'import os,sys; print(os.path.relpath(sys.argv[1], sys.argv[2]))' "$1" "$2"; }
subst() {  # template -> file
  sed -e "s|@PREFIX@|$prefix|g" -e "s|@LIBDIR@|$libdir|g" -e "s|@INCLUDEDIR@|$prefix/include|g" \
      -e "s|@VERSION@|$version|g" -e "s|@MAJOR@|$major|g" -e "s|@ABSL_LIBS@|$absl_libs|g" -e "s|@ABSL_CMAKE_LIBS@|$absl_cmake|g" \
      -e "s|@REL_LIBDIR@|$(rel "$libdir" "$libdir/cmake/kms_envelope")|g" \
      -e "s|@REL_INCLUDEDIR@|$(rel "$prefix/include" "$libdir/cmake/kms_envelope")|g" "$1" > "$2"
}
subst kms_envelope/packaging/kms_envelope.pc.in "$staging/kms_envelope.pc"
subst kms_envelope/packaging/kms_envelopeConfig.cmake.in "$staging/kms_envelopeConfig.cmake"
subst kms_envelope/packaging/kms_envelopeConfigVersion.cmake.in "$staging/kms_envelopeConfigVersion.cmake"

: > "$staging/manifest"
put() {  # mode source destination(final path)
  run install -D -m "$1" "$2" "$destdir$3"
  echo "$3" >> "$staging/manifest"
}
link() {  # target name(final path)
  run ln -sfn "$1" "$destdir$2"
  echo "$2" >> "$staging/manifest"
}
put 0755 build/bin/kms_envelope/cli/kms-envelope "$prefix/bin/kms-envelope"
put 0644 kms_envelope/packaging/kms-envelope.1 "$prefix/share/man/man1/kms-envelope.1"
# Completion scripts come from the binary itself (its CLI11 definitions), so they match it.
build/bin/kms_envelope/cli/kms-envelope completion bash > "$staging/kms-envelope.bash"
build/bin/kms_envelope/cli/kms-envelope completion zsh > "$staging/_kms-envelope"
put 0644 "$staging/kms-envelope.bash" "$prefix/share/bash-completion/completions/kms-envelope"
put 0644 "$staging/_kms-envelope" "$prefix/share/zsh/vendor-completions/_kms-envelope"
if ((cli_only)); then
  run install -D -m 0644 "$staging/manifest" "$manifest"
  echo "installed $prefix/bin/kms-envelope (manifest: $manifest_rel)" >&2
  exit 0
fi
headers=$(python3 scripts/lib/public_headers.py kms_envelope/packaging/BUILD.bazel)
put 0644 "$out/libkms_envelope.so" "$libdir/libkms_envelope.so.$version"
link "libkms_envelope.so.$version" "$libdir/libkms_envelope.so.$major"
link "libkms_envelope.so.$major" "$libdir/libkms_envelope.so"
put 0644 "$out/libkms_envelope.a" "$libdir/libkms_envelope.a"
for h in $headers; do
  put 0644 "$h" "$prefix/include/$h"
done
put 0644 "$staging/kms_envelope.pc" "$libdir/pkgconfig/kms_envelope.pc"
put 0644 "$staging/kms_envelopeConfig.cmake" "$libdir/cmake/kms_envelope/kms_envelopeConfig.cmake"
put 0644 "$staging/kms_envelopeConfigVersion.cmake" \
  "$libdir/cmake/kms_envelope/kms_envelopeConfigVersion.cmake"
run install -D -m 0644 "$staging/manifest" "$manifest"
echo "installed $(wc -l < "$staging/manifest") files under $destdir$prefix (manifest: $manifest_rel)" >&2
