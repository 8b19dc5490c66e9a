#!/usr/bin/env bash
# Runs every fuzz target for SECONDS_PER_TARGET seconds (default 60) and prints, per target,
# the executions and the crashes found.
#
#   fuzz/run.sh [SECONDS_PER_TARGET]
#   FUZZ_TARGETS="inflate restore" fuzz/run.sh 300     # only these targets
#   FUZZ_FLAGS="-max_len=65536" fuzz/run.sh            # more libFuzzer flags, for every target
#
# Any single allocation over MALLOC_LIMIT_MB (default 64) is a crash libFuzzer reports, so an
# allocation bomb cannot hide; RSS_LIMIT_MB (default 2048: AddressSanitizer's shadow memory
# counts) bounds the whole process.
#
# Each target starts from a copy of fuzz/corpus/<target>/ (plus fuzz/regressions/<target>/), so
# the committed corpus does not grow by accident; crashing inputs land in
# fuzz/artifacts/<target>/ (ignored by git). Copy one to fuzz/regressions/<target>/ to make
# `cargo test --test fuzz_corpus` replay it.
#
# cargo-fuzz needs nightly features: RUSTC_BOOTSTRAP=1 lets the stable toolchain provide them.
# AddressSanitizer is tried first; if it does not build here, the targets run without a
# sanitizer. Set FUZZ_SANITIZER=address|none to choose, and NICE=0 to run at normal priority.
# Full libFuzzer logs are kept in fuzz/target/fuzz-logs/<target>.log.
set -euo pipefail

secs="${1:-60}"
case "$secs" in
'' | *[!0-9]*)
    echo "usage: $0 [SECONDS_PER_TARGET]" >&2
    exit 2
    ;;
esac

CARGO_FUZZ_VERSION=0.13.2
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
cd "$here"
export RUSTC_BOOTSTRAP=1
nice_cmd=(nice -n "${NICE:-19}")

if ! cargo fuzz --version >/dev/null 2>&1; then
    echo "== installing cargo-fuzz $CARGO_FUZZ_VERSION"
    "${nice_cmd[@]}" cargo install cargo-fuzz --version "$CARGO_FUZZ_VERSION" --locked
fi

read -r -a targets <<<"${FUZZ_TARGETS:-decrypt status unpack restore md5 bson inflate extjson query dump}"
read -r -a extra_flags <<<"${FUZZ_FLAGS:-}"
work="$(mktemp -d "${TMPDIR:-/tmp}/a0backup-fuzz.XXXXXX")"
trap 'rm -rf "$work"' EXIT
touch "$work/start"
logs="$here/target/fuzz-logs"
mkdir -p "$logs"

sanitizer="${FUZZ_SANITIZER:-}"
if [ -z "$sanitizer" ]; then
    echo "== building the targets with AddressSanitizer"
    if "${nice_cmd[@]}" cargo fuzz build -s address >"$work/build-address.log" 2>&1; then
        sanitizer=address
    else
        echo "   AddressSanitizer build failed (last lines below); using -s none"
        tail -n 5 "$work/build-address.log" | sed 's/^/   | /'
        sanitizer=none
    fi
fi
echo "== building the targets (-s $sanitizer)"
"${nice_cmd[@]}" cargo fuzz build -s "$sanitizer"

declare -A execs crashes status
for t in "${targets[@]}"; do
    corpus="$work/corpus-$t"
    mkdir -p "$corpus" "artifacts/$t"
    cp -p corpus/"$t"/* "$corpus"/ 2>/dev/null || true
    cp -p regressions/"$t"/* "$corpus"/ 2>/dev/null || true
    before="$(find "artifacts/$t" -type f | wc -l)"
    log="$logs/$t.log"
    echo "== fuzzing $t for ${secs}s"
    set +e
    "${nice_cmd[@]}" cargo fuzz run -s "$sanitizer" "$t" "$corpus" -- \
        -max_total_time="$secs" -rss_limit_mb="${RSS_LIMIT_MB:-2048}" \
        -malloc_limit_mb="${MALLOC_LIMIT_MB:-64}" -print_final_stats=1 \
        ${extra_flags[@]+"${extra_flags[@]}"} >"$log" 2>&1
    rc=$?
    set -e
    n="$(sed -n 's/^stat::number_of_executed_units: *\([0-9]*\).*/\1/p' "$log" | tail -n 1)"
    if [ -z "$n" ]; then
        n="$(grep -oE '^#[0-9]+' "$log" | tail -n 1 | tr -d '#')"
    fi
    execs[$t]="${n:-?}"
    after="$(find "artifacts/$t" -type f | wc -l)"
    crashes[$t]=$((after - before))
    status[$t]=$rc
    if [ "$rc" -ne 0 ]; then
        echo "   exit status $rc; the failure (full log: $log):"
        # From the panic or sanitizer report on, without libFuzzer's progress lines.
        awk '/panicked at|^==[0-9]+==ERROR|^ERROR: libFuzzer|deadly signal/ { on = 1 } on' "$log" |
            grep -v -e '^#[0-9]' -e '^INFO:' | head -n 60 | sed 's/^/   | /'
    fi
done

echo
echo "== summary (${secs}s per target, -s $sanitizer)"
printf '%-10s %14s %8s %s\n' target executions crashes "artifacts (logs: fuzz/target/fuzz-logs/)"
failed=0
for t in "${targets[@]}"; do
    printf '%-10s %14s %8s %s\n' "$t" "${execs[$t]}" "${crashes[$t]}" "fuzz/artifacts/$t/"
    if [ "${crashes[$t]}" -ne 0 ] || [ "${status[$t]}" -ne 0 ]; then
        failed=1
    fi
done
if [ "$failed" -ne 0 ]; then
    echo "crashes (or errors) found: see fuzz/artifacts/<target>/ and the logs above"
    for t in "${targets[@]}"; do
        find "artifacts/$t" -type f -newer "$work/start" 2>/dev/null | sed 's/^/  /'
    done
fi
exit "$failed"
