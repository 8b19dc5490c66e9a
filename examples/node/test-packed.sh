#!/usr/bin/env bash
# Tests the Node package as people install it: packs examples/node with `npm pack`, installs
# the tarball into a scratch directory (its dependency koffi, and the tests' typescript and
# @types/node at the versions of package-lock.json, from npm's cache or registry), and runs the
# tests there, against the installed copy, on the system node and on the current Node pinned
# by tests/node-current (whose `npm ci` fetches it from the npm registry).
#
#   A0BACKUP_LIB=target/capi/liba0backup.so examples/node/test-packed.sh
#
# examples/run-tests.sh calls it with the library it built. Outside CI, a current Node that
# cannot be installed (no network) is reported and skipped; with CI set, it fails the run.
set -euo pipefail
ROOT=$(cd "$(dirname "$0")/../.." && pwd)
PKG=$ROOT/examples/node
CURRENT=$ROOT/tests/node-current
: "${A0BACKUP_LIB:?set A0BACKUP_LIB to the library to test}"
export A0BACKUP_LIB
npm_quiet=(--no-audit --no-fund)

# --ignore-scripts: koffi's native module comes prebuilt in its platform package
# (@koromix/koffi-<os>-<arch>); its install script would only build one from source.
(cd "$PKG" && npm ci "${npm_quiet[@]}" --ignore-scripts)

scratch=$(mktemp -d "${TMPDIR:-/tmp}/a0backup-node-packed.XXXXXX")
trap 'rm -rf "$scratch"' EXIT
tarball=$(cd "$PKG" && npm pack --silent --pack-destination "$scratch" | tail -n 1)
echo "test-packed: packed $tarball"
locked() { node -p "require('$PKG/package-lock.json').packages['node_modules/$1'].version"; }
(
  cd "$scratch"
  echo '{ "private": true, "type": "module" }' > package.json
  npm install "${npm_quiet[@]}" --ignore-scripts --prefer-offline "./$tarball" \
    "typescript@$(locked typescript)" "@types/node@$(locked @types/node)"
)
cp -R "$PKG/test" "$scratch/test"

# The tests find the repository's data through A0BACKUP_REPO, and check that they test the
# installed copy (A0BACKUP_EXPECT_INSTALLED) on the Node they were meant for.
export A0BACKUP_REPO=$ROOT A0BACKUP_EXPECT_INSTALLED=1
failed=()
run() { # NAME NODE [MAJOR]
  echo "test-packed: node --test on $1 ($("$2" --version)), against $scratch/node_modules/a0backup"
  (cd "$scratch" && A0BACKUP_TEST_NODE_MAJOR=${3:-} "$2" --test test/*.test.mjs) || failed+=("$1")
}
run "the system node" "$(command -v node)"

current_major=$(node -p "require('$CURRENT/package.json').dependencies.node.split('.')[0]")
if (cd "$CURRENT" && npm ci "${npm_quiet[@]}"); then
  run "Node $current_major" "$CURRENT/node_modules/.bin/node" "$current_major"
elif [ -n "${CI:-}" ]; then
  echo "test-packed: could not install Node $current_major (tests/node-current)" >&2
  failed+=("Node $current_major (not installed)")
else
  echo "test-packed: WARNING: could not install Node $current_major (tests/node-current): not tested on it" >&2
fi

if [ ${#failed[@]} -gt 0 ]; then
  echo "test-packed: FAILED: ${failed[*]}" >&2
  exit 1
fi
echo "test-packed: passed"
