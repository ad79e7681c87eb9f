#!/usr/bin/env bash
# Installs the SDK conformance suite's npm packages (tests/compat, exact versions from its
# package-lock.json) with `npm ci`. Needs the npm registry; the suite itself runs offline.
# Skips the install when node_modules already holds this lockfile's packages.
set -euo pipefail
cd "$(dirname "$0")/../tests/compat"
STAMP=node_modules/.kms-envelope-installed-lock.json
if [ -f "$STAMP" ] && cmp -s package-lock.json "$STAMP"; then
  echo "compat_setup: node_modules up to date"
  exit 0
fi
echo "compat_setup: npm ci in tests/compat (node $(node --version), npm $(npm --version))"
npm ci --no-audit --no-fund --loglevel=error
cp package-lock.json "$STAMP"
