#!/usr/bin/env bash
# Installs the Debian 12 packages kms_envelope builds and tests with. Idempotent: installs only
# what is missing. Run as root (or with sudo available).
set -euo pipefail

PACKAGES=(
  bazel-bootstrap          # the build (Bazel 4.2, offline)
  g++ clang libclang-rt-14-dev   # compilers; clang for sanitizers and libFuzzer
  libsodium-dev            # AEAD, HMAC, secure memory
  libssl-dev               # OpenSSL libcrypto: fast AES-256-GCM bulk path, HMAC-SHA1 (KMS V1)
  libipsec-mb-dev          # intel-ipsec-mb: VAES/AVX-512 AES-256-GCM and AES-CTR (default backend)
  libabsl-dev              # absl::Status/StatusOr, strings, synchronization
  libfmt-dev               # formatting in the CLI
  libgtest-dev libgmock-dev  # tests
  libbenchmark-dev         # benchmarks
  nlohmann-json3-dev       # JSON (API responses, store metadata, EncryptionContext)
  libcli11-dev             # CLI parsing
  libcpp-httplib-dev       # KMS-compatible HTTP server
  libcurl4-openssl-dev     # HTTP client of RemoteKeyProvider
  librocksdb-dev           # RocksDB encryption-at-rest integration
  protobuf-compiler        # protoc: generates the KMS 3.0 instance API messages at build time
  libprotobuf-dev          # protobuf runtime for the instance API (kms_envelope/instance)
  openssl                  # openssl CLI: instance tests check signatures and make ClientKeys
  python3 gnuplot-nox      # docs/performance.md chart
  ca-certificates
  libpq-dev                # libpq: the PostgreSQL branch key store (kms_envelope/branch)
  postgresql               # a real server for tests/branch (each test starts its own, on loopback)
  libexpat1-dev            # XML parser: RemoteKeyProvider reads Format=XML (<KMS>) answers too
  libargon2-1              # the reference Argon2 (dlopen in tests/local): checks the store's documented Argon2id parameters
  dpkg-dev debhelper lintian  # the Debian packages (dpkg-buildpackage) and their check
  pkg-config cmake         # the consumer examples build against the installed library with these
  python3-pytest           # the Python binding's tests (python/)
  zsh                      # zsh -n and compinit check `kms-envelope completion zsh` (tests/envelope:cli_completion_test)
  bsdutils                 # script(1): a real pseudo-terminal for the CLI progress-line test (essential, listed for clarity)
)

missing=()
for p in "${PACKAGES[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if ((${#missing[@]})); then
  SUDO=""
  [ "$(id -u)" -ne 0 ] && SUDO="sudo"
  echo "setup: installing ${missing[*]}"
  $SUDO apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}"
else
  echo "setup: all packages present"
fi

# Node.js and npm (Debian's) for the SDK conformance suite (tests/compat: Alibaba Cloud's
# official Node SDKs from npm against `kms-envelope serve`). Skipped when an npm is already on
# PATH (e.g. a NodeSource nodejs, which bundles npm and conflicts with Debian's npm package).
if ! command -v npm >/dev/null 2>&1; then
  SUDO=""
  [ "$(id -u)" -ne 0 ] && SUDO="sudo"
  echo "setup: installing nodejs npm"
  $SUDO apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends nodejs npm
fi
bash "$(dirname "$0")/compat_setup.sh"
