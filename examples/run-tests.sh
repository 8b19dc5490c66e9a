#!/usr/bin/env bash
# Tests of the Node (koffi) and Python (ctypes) callers of the C library.
#
#   examples/run-tests.sh
#
# Builds the C library with `make capi` (into target/capi/, or $CARGO_TARGET_DIR/capi/) when
# liba0backup.so is missing there or older than the sources (or uses $A0BACKUP_LIB as it is),
# then tests the Node package as installed from its `npm pack` tarball, on the system node and
# on the current Node of tests/node-current (examples/node/test-packed.sh), and runs the Python
# unittest suite against the package installed into a fresh venv. Exits non-zero if anything
# fails. Needs cargo, make, node with npm, and python3 with its venv module (Debian:
# python3-venv); pip fetches the package's build backend (setuptools) from its index.
set -euo pipefail
ROOT=$(cd "$(dirname "$0")/.." && pwd)
cd "$ROOT"

case "$(uname -s)" in
  Darwin) LIB_NAME=liba0backup.dylib ;;
  MINGW* | MSYS* | CYGWIN*) LIB_NAME=a0backup.dll ;;
  *) LIB_NAME=liba0backup.so ;;
esac

for tool in node npm python3; do
  command -v "$tool" >/dev/null || { echo "run-tests: $tool is not installed" >&2; exit 1; }
done

# --- The library ----------------------------------------------------------------------------------
if [ -n "${A0BACKUP_LIB:-}" ]; then
  [ -f "$A0BACKUP_LIB" ] || { echo "run-tests: A0BACKUP_LIB=$A0BACKUP_LIB does not exist" >&2; exit 1; }
  A0BACKUP_LIB=$(cd "$(dirname "$A0BACKUP_LIB")" && pwd)/$(basename "$A0BACKUP_LIB")
  echo "run-tests: using A0BACKUP_LIB=$A0BACKUP_LIB"
else
  target_dir=${CARGO_TARGET_DIR:-target}
  case "$target_dir" in /*) ;; *) target_dir="$ROOT/$target_dir" ;; esac
  lib="$target_dir/capi/$LIB_NAME"
  stale=
  if [ ! -f "$lib" ]; then
    stale="it is missing"
  elif [ -n "$(find src include Cargo.toml Cargo.lock Makefile -newer "$lib" -print -quit 2>/dev/null)" ]; then
    stale="the sources are newer"
  fi
  if [ -n "$stale" ]; then
    echo "run-tests: building $lib ($stale)"
    make capi TARGET_DIR="$target_dir"
  else
    echo "run-tests: reusing $lib"
  fi
  [ -f "$lib" ] || { echo "run-tests: make capi did not make $lib" >&2; exit 1; }
  A0BACKUP_LIB=$lib
fi
export A0BACKUP_LIB

echo "run-tests: node $(node --version), npm $(npm --version 2>/dev/null), $(python3 --version)"

# --- The suites: all of them run, and any failure fails the script --------------------------------
failed=()

echo "run-tests: examples/node/test-packed.sh"
examples/node/test-packed.sh || failed+=("node")

# --- Python: examples/python installed by pip into a fresh venv, tested from outside the tree ----
# The suite runs with the venv's python from a scratch directory, so `import a0backup` can only
# find the installed package (tests/test_install.py checks that it does).
py_tmp=$(mktemp -d "${TMPDIR:-/tmp}/a0b-py-venv.XXXXXX")
py=$py_tmp/venv/bin/python
echo "run-tests: python3 -m venv $py_tmp/venv; pip install examples/python"
if python3 -m venv "$py_tmp/venv" && "$py" -m pip install --quiet "$ROOT/examples/python"; then
  echo "run-tests: $py -m unittest discover -s examples/python/tests -v"
  (cd "$py_tmp" && "$py" -m unittest discover -s "$ROOT/examples/python/tests" -v) || failed+=("python")
else
  failed+=("python (venv or pip install)")
fi
rm -rf "$py_tmp"
# --- end of Python --------------------------------------------------------------------------------

if [ ${#failed[@]} -gt 0 ]; then
  echo "run-tests: FAILED: ${failed[*]}" >&2
  exit 1
fi
echo "run-tests: all passed"
