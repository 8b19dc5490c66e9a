#!/usr/bin/env bash
# Runs the README's C steps without installing, exactly as the README writes them: the shell
# block after the line `<!-- examples/c/uninstalled-test.sh runs the block below -->`. They
# build the C library with `make capi`, compile examples/c/restore.c with
# `-Iinclude -Ltarget/capi -la0backup` and run it with LD_LIBRARY_PATH=target/capi (no rpath,
# no install), restoring the sample backup into /tmp/c-restore, which is then checked against
# the sample's manifest. Run from anywhere; it works in the repository root.
set -euo pipefail
cd "$(dirname "$0")/../.."

marker='<!-- examples/c/uninstalled-test.sh runs the block below -->'
steps=$(awk -v marker="$marker" '
  $0 == marker { found = 1; next }
  found && !open && /^```sh$/ { open = 1; next }
  open && /^```$/ { exit }
  open { print }
' README.md)
[ -n "$steps" ] || { echo "uninstalled-test: no block after the marker in README.md" >&2; exit 1; }

# The README restores into /tmp/c-restore, which must not hold an earlier run's tree.
rm -rf /tmp/c-restore target/restore
trap 'rm -rf /tmp/c-restore' EXIT
echo "uninstalled-test: running the README's steps:"
printf '  %s\n' "$steps"
bash -euo pipefail -c "$steps"
(cd /tmp/c-restore && sha256sum --quiet -c "$OLDPWD/tests/data/sample-backup/manifest.sha256")

# What `make capi` left: the soname's file and links, and a pkg-config file for the tree itself.
readelf -d target/capi/liba0backup.so | grep -q 'SONAME.*\[liba0backup\.so\.0\.' \
  || { echo "uninstalled-test: no versioned soname" >&2; exit 1; }
soname=$(readelf -d target/capi/liba0backup.so | sed -n 's/.*soname: \[\(.*\)\]/\1/p')
[ -L "target/capi/$soname" ] && [ -f "target/capi/$soname" ] \
  || { echo "uninstalled-test: target/capi/$soname is not a link to the library" >&2; exit 1; }
# shellcheck disable=SC2046
cc -std=c99 -Wall -Wextra -Werror -pedantic examples/c/restore.c -o target/restore-pc \
   $(PKG_CONFIG_PATH=target/capi pkg-config --cflags --libs a0backup-uninstalled)
rm -rf /tmp/c-restore
LD_LIBRARY_PATH=target/capi target/restore-pc tests/data/sample-backup/backup-retrieve.tar.gz.enc \
  Passw0rd /tmp/c-restore >/dev/null 2>&1
(cd /tmp/c-restore && sha256sum --quiet -c "$OLDPWD/tests/data/sample-backup/manifest.sha256")
echo "C uninstalled test: 1 passed, 0 failed"
