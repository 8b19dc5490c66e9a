#!/usr/bin/env bash
# Tests the Node package as people install it: packs examples/node with `npm pack` (whose
# prepack step builds the C library with `make capi` and puts it in the package, with the
# LICENSE files), checks the tarball's contents, and on each Node (the system's, and those
# pinned by tests/node-*/, fetched from the npm registry by `npm ci`):
#
# - installs the tarball alone into an empty directory and, with no A0BACKUP_LIB, no
#   LD_LIBRARY_PATH and nothing of the environment but PATH and HOME, restores and checks the
#   sample backup (copied there) with it: the library must come from the package;
# - runs the tests (examples/node/test/) against the tarball installed into a scratch
#   directory with the tests' typescript and @types/node, A0BACKUP_LIB unset.
#
#   examples/node/test-packed.sh
#
# examples/run-tests.sh calls it. Outside CI, a Node of tests/node-*/ that cannot be installed
# (no network) is reported and skipped; with CI set, it fails the run.
set -euo pipefail
ROOT=$(cd "$(dirname "$0")/../.." && pwd)
PKG=$ROOT/examples/node
npm_quiet=(--no-audit --no-fund)
# Not the repository's build: the package must bring its own library.
unset A0BACKUP_LIB LD_LIBRARY_PATH

# --ignore-scripts: koffi's native module comes prebuilt in its platform package
# (@koromix/koffi-<os>-<arch>); its install script would only build one from source.
(cd "$PKG" && npm ci "${npm_quiet[@]}" --ignore-scripts)

scratch=$(mktemp -d "${TMPDIR:-/tmp}/a0backup-node-packed.XXXXXX")
trap 'rm -rf "$scratch"' EXIT
# prepack's output (make's) goes to stderr; stdout's last line is the tarball's name.
tarball=$(cd "$PKG" && npm pack --pack-destination "$scratch" | tail -n 1)
echo "test-packed: packed $tarball:"
tar tzvf "$scratch/$tarball" | sed 's/^/  /'

# What the tarball must hold: the library built here, in prebuilds/<platform>-<arch>/ under the
# libc's tag, and both licenses.
libc=$(node -p "process.report.getReport().header.glibcVersionRuntime ? 'glibc' : 'musl'")
lib_entry="package/prebuilds/$(node -p 'process.platform')-$(node -p 'process.arch')/liba0backup.$libc.so"
listing=$(tar tzf "$scratch/$tarball")
for entry in "$lib_entry" package/LICENSE-MIT package/LICENSE-APACHE; do
  grep -qxF "$entry" <<<"$listing" \
    || { echo "test-packed: $entry is not in $tarball" >&2; exit 1; }
done
mkdir "$scratch/unpacked"
tar xzf "$scratch/$tarball" -C "$scratch/unpacked" "$lib_entry"
readelf -d "$scratch/unpacked/$lib_entry" | grep 'Library soname: \[liba0backup\.so\.0\.' >/dev/null \
  || { echo "test-packed: $lib_entry has no liba0backup soname" >&2; exit 1; }

locked() { node -p "require('$PKG/package-lock.json').packages['node_modules/$1'].version"; }
(
  cd "$scratch"
  mkdir suite && cd suite
  echo '{ "private": true, "type": "module" }' > package.json
  npm install "${npm_quiet[@]}" --ignore-scripts --prefer-offline "../$tarball" \
    "typescript@$(locked typescript)" "@types/node@$(locked @types/node)"
)
cp -R "$PKG/test" "$scratch/suite/test"

# The smoke test: restore and check the sample with the package installed alone.
cat > "$scratch/smoke.mjs" <<'EOF'
import fs from 'node:fs';
import * as a0b from 'a0backup/promises';
const md5 = 'eccdb928a3bab23f725f955b68ef66ff';
await a0b.restore('backup-retrieve.tar.gz.enc', 'restored', 'Passw0rd', { expectedMd5: md5 });
const report = await a0b.checkBackup('backup-retrieve.tar.gz.enc', 'Passw0rd', { expectedMd5: md5 });
if (!report.restorable || !report.collectionsOk || report.md5 !== md5) throw new Error(JSON.stringify(report));
const users = fs.statSync('restored/dump/auth0/users.bson').size;
const row = report.collections.find((c) => c.database === 'auth0' && c.collection === 'users');
if (row.bytes !== users) throw new Error(`users.bson: ${users} bytes, the report says ${row.bytes}`);
try {
  await a0b.restore('backup-retrieve.tar.gz.enc', 'other', 'wrong');
  throw new Error('a wrong password restored');
} catch (e) {
  if (e.code !== 'A0B_ERR_WRONG_PASSWORD' || e.errno !== 3) throw e;
}
console.log(`smoke: ${a0b.libraryPath()}: restored and checked, ${report.collections.length} collections`);
EOF

# The tests find the repository's data through A0BACKUP_REPO, and check that they test the
# installed copy (A0BACKUP_EXPECT_INSTALLED) on the Node they were meant for.
failed=()
passed=0
run() { # NAME NODE [MAJOR]
  local name=$1 node=$2 major=${3:-}
  local app=$scratch/app-${major:-system}
  echo "test-packed: $name ($("$node" --version)): the tarball alone in $app"
  mkdir "$app"
  cp "$ROOT/tests/data/sample-backup/backup-retrieve.tar.gz.enc" "$scratch/smoke.mjs" "$app/"
  if (cd "$app" && echo '{ "private": true, "type": "module" }' > package.json \
        && env -i PATH="$(dirname "$node"):$PATH" HOME="$HOME" npm install "${npm_quiet[@]}" --ignore-scripts \
             --prefer-offline "../$tarball" >/dev/null \
        && env -i PATH="$PATH" HOME="$HOME" "$node" smoke.mjs \
        && (cd restored && sha256sum --quiet -c "$ROOT/tests/data/sample-backup/manifest.sha256")); then
    passed=$((passed + 1))
  else
    failed+=("$name (the tarball alone)")
  fi
  echo "test-packed: $name: node --test, against $scratch/suite/node_modules/a0backup"
  if (cd "$scratch/suite" && A0BACKUP_REPO=$ROOT A0BACKUP_EXPECT_INSTALLED=1 A0BACKUP_TEST_NODE_MAJOR=$major \
        "$node" --test test/*.test.mjs); then
    passed=$((passed + 1))
  else
    failed+=("$name (node --test)")
  fi
}
run "the system node" "$(command -v node)"

for pinned in "$ROOT"/tests/node-*/; do
  major=$(node -p "require('${pinned}package.json').dependencies.node.split('.')[0]")
  if (cd "$pinned" && npm ci "${npm_quiet[@]}" >/dev/null); then
    run "Node $major" "${pinned}node_modules/.bin/node" "$major"
  elif [ -n "${CI:-}" ]; then
    echo "test-packed: could not install Node $major (${pinned#"$ROOT"/})" >&2
    failed+=("Node $major (not installed)")
  else
    echo "test-packed: WARNING: could not install Node $major (${pinned#"$ROOT"/}): not tested on it" >&2
  fi
done

echo "test-packed: $passed passed, ${#failed[@]} failed"
if [ ${#failed[@]} -gt 0 ]; then
  echo "test-packed: FAILED: ${failed[*]}" >&2
  exit 1
fi
