#!/usr/bin/env bash
# Runs the library's unit tests and the hostile-input integration tests under AddressSanitizer
# (stable toolchain with RUSTC_BOOTSTRAP=1, as fuzz/run.sh does), in a target directory of its
# own. The C tests already run under valgrind in `cargo test --test c_api`.
set -euo pipefail
cd "$(dirname "$0")/.."
host=$(rustc -vV | sed -n 's/^host: //p')
export RUSTC_BOOTSTRAP=1
export RUSTFLAGS="-Zsanitizer=address"
export RUSTDOCFLAGS="-Zsanitizer=address"
export ASAN_OPTIONS="detect_leaks=1"
cargo test --target "$host" --target-dir target/asan \
  --lib --test vectors --test unpack_safety --test restore --test fuzz_corpus --test roundtrip
