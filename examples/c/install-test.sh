#!/usr/bin/env bash
# Installs the C library into a temporary prefix and builds examples/c/restore.c against it
# with pkg-config, then restores the sample backup with it. Run from the repository root.
set -euo pipefail
prefix=$(mktemp -d)
trap 'rm -rf "$prefix"' EXIT
make install PREFIX="$prefix" >/dev/null
export PKG_CONFIG_PATH="$prefix/lib/pkgconfig"
readelf -d "$prefix/lib/liba0backup.so" | grep -q 'SONAME.*liba0backup.so.0' || { echo "no versioned soname"; exit 1; }
# shellcheck disable=SC2046
cc -std=c99 -Wall -Wextra -Werror -pedantic examples/c/restore.c -o "$prefix/restore" \
   $(pkg-config --cflags --libs a0backup) -Wl,-rpath,"$prefix/lib"
md5=$(sed -n 's/.*"md5": *"\([0-9a-f]*\)".*/\1/p' tests/data/sample-backup/backup-status.txt)
"$prefix/restore" tests/data/sample-backup/backup-retrieve.tar.gz.enc Passw0rd "$prefix/out" "$md5" 2>/dev/null
(cd "$prefix/out" && sha256sum --quiet -c "$OLDPWD/tests/data/sample-backup/manifest.sha256")
# The static library links too.
cc -std=c99 examples/c/restore.c -o "$prefix/restore-static" \
   $(pkg-config --cflags a0backup) "$prefix/lib/liba0backup.a" -lpthread -ldl -lm
"$prefix/restore-static" tests/data/sample-backup/backup-retrieve.tar.gz.enc Passw0rd "$prefix/out2" "$md5" 2>/dev/null
echo "C install test: 1 passed, 0 failed"
