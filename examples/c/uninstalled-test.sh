#!/usr/bin/env bash
# Runs the README's C steps without installing, exactly as the README writes them: the shell
# block after the line `<!-- examples/c/uninstalled-test.sh runs the block below -->`. They
# build the C library with `make capi`, compile examples/c/restore.c against the build tree's
# target/capi (or $CARGO_TARGET_DIR/capi) and run it with LD_LIBRARY_PATH (no rpath, no
# install), restoring the sample backup under the target directory, which is then checked
# against the sample's manifest. The block runs twice in a row, the second time with
# CARGO_TARGET_DIR set (to the first run's target directory as an absolute path, so nothing is
# rebuilt): it must not depend on a first run's leftovers, nor on the default target directory.
set -euo pipefail
cd "$(dirname "$0")/../.."
root=$PWD
t=${CARGO_TARGET_DIR:-target}
case "$t" in /*) ;; *) t="$root/$t" ;; esac

marker='<!-- examples/c/uninstalled-test.sh runs the block below -->'
steps=$(awk -v marker="$marker" '
  $0 == marker { found = 1; next }
  found && !open && /^```sh$/ { open = 1; next }
  open && /^```$/ { exit }
  open { print }
' README.md)
[ -n "$steps" ] || { echo "uninstalled-test: no block after the marker in README.md" >&2; exit 1; }
# Every path of the block goes through the target directory's variable: a literal target/
# would be wrong with CARGO_TARGET_DIR set, and a fixed /tmp path is shared by every checkout.
if printf '%s\n' "$steps" | sed -e 's/#.*//' -e 's/\${CARGO_TARGET_DIR:-target}//g' | grep -Eq 'target/|/tmp'; then
  echo "uninstalled-test: the README's block names target/ or /tmp directly:" >&2
  printf '  %s\n' "$steps" >&2
  exit 1
fi

check_restore() {
  (cd "$t/c-restore" && sha256sum --quiet -c "$root/tests/data/sample-backup/manifest.sha256")
}

echo "uninstalled-test: running the README's steps:"
printf '  %s\n' "$steps"
rm -rf "$t/c-restore"
trap 'rm -rf "$t/c-restore"' EXIT
passed=0
for run in 1 2; do
  if [ $run = 1 ]; then
    echo "uninstalled-test: run 1${CARGO_TARGET_DIR:+ (CARGO_TARGET_DIR=$CARGO_TARGET_DIR)}"
    bash -euo pipefail -c "$steps"
  else
    echo "uninstalled-test: run 2, with CARGO_TARGET_DIR=$t"
    CARGO_TARGET_DIR=$t bash -euo pipefail -c "$steps"
  fi
  check_restore
  passed=$((passed + 1))
done

# What `make capi` left: the soname's file and links, and a pkg-config file for the tree itself.
capi=$t/capi
readelf -d "$capi/liba0backup.so" | grep -q 'SONAME.*\[liba0backup\.so\.0\.' \
  || { echo "uninstalled-test: no versioned soname" >&2; exit 1; }
soname=$(readelf -d "$capi/liba0backup.so" | sed -n 's/.*soname: \[\(.*\)\]/\1/p')
[ -L "$capi/$soname" ] && [ -f "$capi/$soname" ] \
  || { echo "uninstalled-test: $capi/$soname is not a link to the library" >&2; exit 1; }
# shellcheck disable=SC2046
cc -std=c99 -Wall -Wextra -Werror -pedantic examples/c/restore.c -o "$t/restore-pc" \
   $(PKG_CONFIG_PATH=$capi pkg-config --cflags --libs a0backup-uninstalled)
rm -rf "$t/c-restore"
LD_LIBRARY_PATH=$capi "$t/restore-pc" tests/data/sample-backup/backup-retrieve.tar.gz.enc \
  Passw0rd "$t/c-restore" >/dev/null 2>&1
check_restore
passed=$((passed + 1))
echo "C uninstalled test: $passed passed, 0 failed"
