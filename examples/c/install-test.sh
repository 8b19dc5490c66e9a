#!/usr/bin/env bash
# Installs the C library into a temporary prefix and builds examples/c/restore.c against it
# with pkg-config, then restores the sample backup with it (shared and static). The install is
# `make install PREFIX=...`, and also `cargo cinstall --prefix=...` when cargo-c is installed.
# Run from the repository root.
set -euo pipefail
md5=$(sed -n 's/.*"md5": *"\([0-9a-f]*\)".*/\1/p' tests/data/sample-backup/backup-status.txt)
sample=tests/data/sample-backup/backup-retrieve.tar.gz.enc

# check PREFIX: what an install left under PREFIX, used as the README says.
check() {
  local prefix=$1 lib=$1/lib
  export PKG_CONFIG_PATH="$lib/pkgconfig"
  readelf -d "$lib/liba0backup.so" | grep -q 'SONAME.*liba0backup\.so\.0\.' \
    || { echo "install-test: no versioned soname"; exit 1; }
  local soname
  soname=$(readelf -d "$lib/liba0backup.so" | sed -n 's/.*soname: \[\(.*\)\]/\1/p')
  [ -f "$lib/$soname" ] || { echo "install-test: $lib/$soname is missing"; exit 1; }
  # shellcheck disable=SC2046
  cc -std=c99 -Wall -Wextra -Werror -pedantic examples/c/restore.c -o "$prefix/restore" \
     $(pkg-config --cflags --libs a0backup) -Wl,-rpath,"$lib"
  "$prefix/restore" "$sample" Passw0rd "$prefix/out" "$md5" 2>/dev/null
  (cd "$prefix/out" && sha256sum --quiet -c "$OLDPWD/tests/data/sample-backup/manifest.sha256")
  # The static library links too.
  # shellcheck disable=SC2046
  cc -std=c99 examples/c/restore.c -o "$prefix/restore-static" \
     $(pkg-config --cflags a0backup) "$lib/liba0backup.a" -lpthread -ldl -lm
  "$prefix/restore-static" "$sample" Passw0rd "$prefix/out2" "$md5" 2>/dev/null
  (cd "$prefix/out2" && sha256sum --quiet -c "$OLDPWD/tests/data/sample-backup/manifest.sha256")
}

prefixes=()
trap 'rm -rf "${prefixes[@]}"' EXIT
passed=0

prefix=$(mktemp -d)
prefixes+=("$prefix")
make install PREFIX="$prefix" >/dev/null
check "$prefix"
passed=$((passed + 1))

if cargo cinstall --version >/dev/null 2>&1; then
  prefix=$(mktemp -d)
  prefixes+=("$prefix")
  cargo cinstall --release --prefix="$prefix" --libdir=lib >/dev/null
  check "$prefix"
  passed=$((passed + 1))
else
  echo "install-test: cargo-c is not installed: only the Makefile's install was tested"
fi
echo "C install test: $passed passed, 0 failed"
