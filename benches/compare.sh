#!/usr/bin/env bash
# Whole-process comparison of a0backup with the tools of the appliance's documented procedure
# (md5sum, the seed's Node decrypt script, tar) and the usual shell pipelines (openssl, pigz).
#
#   benches/compare.sh
#
# Builds `a0backup` (release, --features cli), makes test data, then for each row runs the peer
# and a0backup alternately (warm-up, then A B A B ... RUNS times each), each under
# `/usr/bin/time -f '%e %M'`, and prints a markdown table of median wall times and a0backup's
# peak RSS. Outputs of every run are removed before the next one; the test data is removed at the
# end unless KEEP=1.
#
# Environment:
#   BENCH_DIR  where the data goes             (default /tmp/a0backup-bench)
#   SIZE_MB    random file for decrypt and md5 (default 1024, MiB)
#   TREE_MB    mongodump tree for restore/pack (default 1000, MB)
#   RUNS       timed runs of each command      (default 5)
#   PACK_RUNS  timed runs for the pack rows    (default RUNS, at most 3: `tar czf` takes ~20 s)
#   ROWS       which rows, comma-separated     (default decrypt,md5,restore,pack; `decrypt` is
#              the decrypt rows (against cp, openssl and the seed's Node script), `md5` the md5
#              row, `restore` the restore rows and the restore's CPU floor; `sync` (not in the
#              default) is a0backup
#              against itself: decrypt and restore as they are, flushing to stable storage
#              before publishing, against the same with --no-sync; `check` (not in the
#              default) is `a0backup check` of the restore's backup against the restore itself;
#              `threads` (not in the default) is restore with the parallel inflater
#              (--threads=1, --threads=2, and both under `taskset -c 0`) against the default
#              sequential restore; `dump` (not in the default) is `a0backup dump` of the
#              largest collection (auth0.users) to a file of Extended JSON lines against
#              `a0backup check` of the whole backup, and against the appliance way of getting
#              the same JSON: `openssl enc -d | tar xz`, then pymongo's `bson.decode_file_iter`
#              and `json_util.dumps` over the extracted .bson; `diff` (not in the default) is
#              `a0backup diff` of the backup and a copy of it against two `a0backup check`s)
#   KEEP=1     keep BENCH_DIR afterwards
#   NO_PAGE_REPORTING=1  (root, Linux guests with virtio-balloon free page reporting) stop the
#              guest from handing free memory back to the host while the script runs, and
#              restore the setting at the end. With reporting on, memory freed more than about
#              2 s earlier comes back unbacked, and the first touch of each page costs a trap to
#              the host: writing 1 GiB of page cache then takes 1.3-2.7 s instead of 0.33 s, at
#              random for either side of a row. See BENCHMARKS.md.
#   A0BACKUP   an a0backup binary to use instead of building one
#
# Needs: /usr/bin/time (Debian package `time`), openssl, md5sum, tar, gzip, python3 (for the
# tree; `pymongo` is installed with pip when missing, else a pure-Python BSON encoder is used).
# Optional peers, skipped when missing: node (with createDecipher: Node <= 20), pigz.
set -euo pipefail

ROOT=$(cd "$(dirname "$0")/.." && pwd)
BENCH_DIR=${BENCH_DIR:-/tmp/a0backup-bench}
SIZE_MB=${SIZE_MB:-1024}
TREE_MB=${TREE_MB:-1000}
RUNS=${RUNS:-5}
PACK_RUNS=${PACK_RUNS:-$((RUNS < 3 ? RUNS : 3))}
KEEP=${KEEP:-0}
ROWS=${ROWS:-decrypt,md5,restore,pack}
PASSWORD=Passw0rd
OSSL=(openssl enc -aes-256-ctr -nosalt -md md5 -pass "pass:$PASSWORD")

say() { printf '%s\n' "$*" >&2; }
die() { say "compare.sh: $*"; exit 1; }
have() { command -v "$1" >/dev/null 2>&1; }
# A word quoted for bash -c.
q() { printf '%q' "$1"; }

[ -x /usr/bin/time ] || die "/usr/bin/time is missing: install the Debian package 'time' (apt-get install time)"
for tool in openssl md5sum tar gzip python3 head cmp; do
  have "$tool" || die "$tool is missing"
done
for n in SIZE_MB TREE_MB RUNS PACK_RUNS; do
  [[ ${!n} =~ ^[1-9][0-9]*$ ]] || die "$n must be a positive integer, not '${!n}'"
done
ROW_NAMES='decrypt|md5|restore|pack|sync|check|threads|dump|diff'
[[ $ROWS =~ ^($ROW_NAMES)(,($ROW_NAMES))*$ ]] ||
  die "ROWS is a comma-separated list of decrypt, md5, restore, pack, sync, check, threads, dump and diff, not '$ROWS'"
want() { [[ ",$ROWS," == *",$1,"* ]]; }

# --- a0backup ---------------------------------------------------------------------------------
if [ -n "${A0BACKUP:-}" ]; then
  A0=$A0BACKUP
else
  say "building a0backup (cargo build --release --features cli)"
  if ! (cd "$ROOT" && cargo build --release --features cli) >"${TMPDIR:-/tmp}/a0backup-bench-build.log" 2>&1; then
    tail -n 30 "${TMPDIR:-/tmp}/a0backup-bench-build.log" >&2
    die "cargo build failed (log: ${TMPDIR:-/tmp}/a0backup-bench-build.log)"
  fi
  A0=$ROOT/target/release/a0backup
fi
[ -x "$A0" ] || die "no a0backup binary at $A0"
has_sub() { "$A0" "$1" --help >/dev/null 2>&1; }

# --- Peers ------------------------------------------------------------------------------------
NODE_CIPHER=0
NODE_DECIPHER=0
if have node; then
  node -e 'process.exit(typeof require("crypto").createCipher === "function" ? 0 : 1)' && NODE_CIPHER=1
  node -e 'process.exit(typeof require("crypto").createDecipher === "function" ? 0 : 1)' && NODE_DECIPHER=1
fi
HAVE_PIGZ=0
have pigz && HAVE_PIGZ=1

# --- Data -------------------------------------------------------------------------------------
mkdir -p "$BENCH_DIR"
D=$(cd "$BENCH_DIR" && pwd)
# Only what this script makes is removed, so BENCH_DIR may be any directory.
MADE=(decrypt.js encrypt.js random.bin random.bin.enc out.bin tree backup.tar.gz
  dump.jsonl appliance-json.py extracted copy.tar.gz.enc
  backup-retrieve.tar.gz.enc restore.tar.gz floor.tar.gz floor.tar dest pack.tar.gz.enc .time
  .log .peer.times .a0.times .warm.times .part0.times .part1.times .part2.times .part3.times)
# shellcheck disable=SC2317  # called by the EXIT trap
cleanup() {
  if [ -n "${REPORTING_WAS:-}" ]; then
    echo "$REPORTING_WAS" >"$REPORTING_KNOB" && say "page_reporting_order restored to $REPORTING_WAS"
  fi
  if [ "$KEEP" = 1 ]; then
    say "kept the test data in $D"
  else
    (cd "$D" && rm -rf -- "${MADE[@]}")
    rmdir "$D" 2>/dev/null || true
  fi
}
trap cleanup EXIT

REPORTING_KNOB=/sys/module/page_reporting/parameters/page_reporting_order
REPORTING_NOTE="free page reporting left as it is"
if [ "${NO_PAGE_REPORTING:-0}" = 1 ]; then
  if [ -w "$REPORTING_KNOB" ]; then
    REPORTING_WAS=$(cat "$REPORTING_KNOB")
    # An order above the largest the buddy allocator has: no free block is ever reported.
    echo 11 >"$REPORTING_KNOB" || die "cannot write $REPORTING_KNOB"
    REPORTING_NOTE="free page reporting off for the run (page_reporting_order 11, was $REPORTING_WAS)"
  else
    REPORTING_NOTE="NO_PAGE_REPORTING=1 asked, but $REPORTING_KNOB is not writable: reporting left as it is"
  fi
  say "$REPORTING_NOTE"
fi

# The seed's decrypt script, verbatim (arguments: password, input, output).
cat >"$D/decrypt.js" <<'EOF'
'use strict';
const fs     = require('fs');
const crypto = require('crypto');
const ALGO = 'aes-256-ctr';
const password = process.argv[2]
const input = process.argv[3];
const output = process.argv[4];
const decrypt = crypto.createDecipher(ALGO, password);
const out = fs.createWriteStream(output);
fs.createReadStream(input).pipe(decrypt).pipe(out);
EOF
# The appliance's encryption (arguments: password, input, output).
cat >"$D/encrypt.js" <<'EOF'
'use strict';
const fs = require('fs');
const crypto = require('crypto');
const [password, input, output] = process.argv.slice(2);
const cipher = crypto.createCipher('aes-256-ctr', password);
fs.createReadStream(input).pipe(cipher).pipe(fs.createWriteStream(output));
EOF

# encrypt IN OUT: as the appliance does (Node createCipher), or the same bytes by openssl.
encrypt() {
  if [ "$NODE_CIPHER" = 1 ]; then
    node --no-deprecation --no-warnings "$D/encrypt.js" "$PASSWORD" "$1" "$2"
  else
    "${OSSL[@]}" -in "$1" -out "$2"
  fi
}
md5_of() { md5sum "$1" | cut -d' ' -f1; }

PLAIN=$D/random.bin
ENC=$D/random.bin.enc
OUT=$D/out.bin
BYTES=$((SIZE_MB * 1024 * 1024))
if { want decrypt || want md5 || want sync; } &&
  { [ "$(stat -c %s "$PLAIN" 2>/dev/null)" != "$BYTES" ] || [ "$(stat -c %s "$ENC" 2>/dev/null)" != "$BYTES" ]; }; then
  say "making ${SIZE_MB} MiB of random data and encrypting it ($([ "$NODE_CIPHER" = 1 ] && echo 'node createCipher' || echo 'openssl enc -nosalt -md md5'))"
  head -c "$BYTES" /dev/urandom >"$PLAIN"
  encrypt "$PLAIN" "$ENC"
fi
ENC_MD5=
{ want decrypt || want md5 || want sync; } && ENC_MD5=$(md5_of "$ENC")

# --- Measuring --------------------------------------------------------------------------------
TABLE=()
SIZES=()
STATUS=0
LAST_PEER_SIZE=
LAST_MINE_SIZE=
LAST_MINE_MEDIAN=
FLOOR=()
FLOOR_CPU=0
FLOOR_MAX=0

# run_one TIMES CMD CLEAN: cleans, then runs CMD (a bash command line) under /usr/bin/time and
# appends "wall-seconds peak-KiB user-seconds system-seconds" to TIMES.
run_one() {
  local times=$1 cmd=$2 clean=$3
  bash -c "$clean"
  sync
  if ! /usr/bin/time -f '%e %M %U %S' -o "$D/.time" bash -c "set -o pipefail; $cmd" >"$D/.log" 2>&1; then
    say "FAILED: $cmd"
    tail -n 5 "$D/.log" >&2
    tail -n 2 "$D/.time" >&2 || true
    return 1
  fi
  tail -n 1 "$D/.time" >>"$times"
}

median() { cut -d' ' -f1 "$1" | sort -n | awk '{ v[NR] = $1 } END { if (NR % 2) printf "%.2f", v[(NR + 1) / 2]; else printf "%.2f", (v[NR / 2] + v[NR / 2 + 1]) / 2 }'; }
# The median of user + system seconds.
cpu_median() { awk '{ print $3 + $4 }' "$1" | sort -n | awk '{ v[NR] = $1 } END { if (NR % 2) printf "%.2f", v[(NR + 1) / 2]; else printf "%.2f", (v[NR / 2] + v[NR / 2 + 1]) / 2 }'; }
max_rss_mib() { awk '$2 > m { m = $2 } END { printf "%.0f", m / 1024 }' "$1"; }

# row WORK PEER_LABEL PEER_CMD A0_CMD CLEAN CHECK [SIZED_FILE [N]]
#   CHECK (a bash command line, may be empty) runs after each warm-up run; SIZED_FILE's size is
#   recorded after the warm-ups in LAST_PEER_SIZE and LAST_MINE_SIZE.
row() {
  local work=$1 label=$2 peer=$3 mine=$4 clean=$5 check=$6 sized=${7:-} n=${8:-$RUNS}
  local pt=$D/.peer.times at=$D/.a0.times
  : >"$pt"
  : >"$at"
  say "== $work: $label vs a0backup ($n runs each)"
  if ! measure_row; then
    bash -c "$clean"
    TABLE+=("| $work | \`${label//|/\\|}\` | FAILED | | | |")
    STATUS=1
    return 0
  fi
  bash -c "$clean"
  local pm am ratio rss
  pm=$(median "$pt")
  am=$(median "$at")
  ratio=$(awk -v p="$pm" -v a="$am" 'BEGIN { if (a > 0) printf "%.2f", p / a; else print "n/a" }')
  rss=$(max_rss_mib "$at")
  say "   peer $pm s, a0backup $am s, ratio $ratio, a0backup peak RSS $rss MiB"
  LAST_MINE_MEDIAN=$am
  TABLE+=("| $work | \`${label//|/\\|}\` | $pm | $am | $ratio | $rss |")
}

# The runs of one row, with row's variables: a warm-up of each side (checked, and its output
# sized), then peer and a0backup alternately.
measure_row() {
  local warm=$D/.warm.times i
  run_one "$warm" "$peer" "$clean" || return 1
  if [ -n "$check" ] && ! bash -c "$check"; then
    say "FAILED check of the peer's output: $check"
    return 1
  fi
  [ -z "$sized" ] || LAST_PEER_SIZE=$(stat -c %s "$sized")
  run_one "$warm" "$mine" "$clean" || return 1
  if [ -n "$check" ] && ! bash -c "$check"; then
    say "FAILED check of a0backup's output: $check"
    return 1
  fi
  [ -z "$sized" ] || LAST_MINE_SIZE=$(stat -c %s "$sized")
  for ((i = 0; i < n; i++)); do
    run_one "$pt" "$peer" "$clean" || return 1
    run_one "$at" "$mine" "$clean" || return 1
  done
}

# floor_parts: the restore's CPU floor. Each part of its work runs alone on the same data (a
# warm-up each, then RUNS rounds of: the restore, then every part), so the restore is timed
# beside its parts under the same conditions of the machine. With every core busy a restore
# cannot end sooner than the parts' CPU seconds over the cores, nor sooner than its largest
# single-threaded part. Uses FLOOR_LABELS, FLOOR_CMDS, FLOOR_CLEANS and FLOOR_SINGLE (1: the
# part runs on one thread).
floor_parts() {
  local n=${#FLOOR_LABELS[@]} i r cpu wall rt=$D/.a0.times
  say "== restore's CPU floor: the restore and its $n parts alone, alternating ($RUNS rounds)"
  : >"$rt"
  for ((i = 0; i < n; i++)); do : >"$D/.part$i.times"; done
  for ((r = -1; r < RUNS; r++)); do
    run_one "$([ "$r" -lt 0 ] && echo "$D/.warm.times" || echo "$rt")" "$A0_R" "$CLEAN_R" || { STATUS=1; return 0; }
    for ((i = 0; i < n; i++)); do
      run_one "$([ "$r" -lt 0 ] && echo "$D/.warm.times" || echo "$D/.part$i.times")" \
        "${FLOOR_CMDS[$i]}" "${FLOOR_CLEANS[$i]}" || { STATUS=1; return 0; }
    done
  done
  bash -c "$CLEAN_R"
  for ((i = 0; i < n; i++)); do
    cpu=$(cpu_median "$D/.part$i.times")
    wall=$(median "$D/.part$i.times")
    say "   ${FLOOR_LABELS[$i]}: $cpu CPU s, $wall s"
    FLOOR+=("| ${FLOOR_LABELS[$i]} | $cpu | $wall |")
    FLOOR_CPU=$(awk -v a="$FLOOR_CPU" -v b="$cpu" 'BEGIN { printf "%.2f", a + b }')
    [ "${FLOOR_SINGLE[$i]}" = 1 ] && FLOOR_MAX=$(awk -v a="$FLOOR_MAX" -v b="$cpu" 'BEGIN { printf "%.2f", (b > a ? b : a) }')
    rm -f "$D/.part$i.times"
  done
  RESTORE_MEDIAN=$(median "$rt")
  RESTORE_CPU=$(cpu_median "$rt")
  FLOOR_S=$(awk -v c="$FLOOR_CPU" -v m="$FLOOR_MAX" -v n="$(nproc)" 'BEGIN { f = c / n; printf "%.2f", (m > f ? m : f) }')
  say "   restore: $RESTORE_MEDIAN s ($RESTORE_CPU CPU s); floor $FLOOR_S s"
}

skip() { # WORK PEER_LABEL REASON
  say "== $1: $2: $3"
  local label=$2
  TABLE+=("| $1 | \`${label//|/\\|}\` | $3 | | | |")
}

SZ="$SIZE_MB MiB"
QE=$(q "$ENC")
QO=$(q "$OUT")
QP=$(q "$PLAIN")
QA0=$(q "$A0")
OSSL_D="openssl enc -d -aes-256-ctr -nosalt -md md5 -pass pass:$PASSWORD"
OSSL_E="openssl enc -aes-256-ctr -nosalt -md md5 -pass pass:$PASSWORD"
NODE_D="node --no-deprecation $(q "$D/decrypt.js") $PASSWORD"
A0_D="$QA0 decrypt --password $PASSWORD"

if want decrypt; then
  # (0) the floor of any decrypt to a file: copying the same bytes, as --no-sync writes them,
  # and flushed before the end as a0backup's default does (`sync FILE` is fsync).
  row "decrypt $SZ to a file, not flushed" "cp (of the encrypted file)" \
    "cp $QE $QO" \
    "$A0_D --no-sync $QE -o $QO --force" \
    "rm -f $QO" ""
  row "decrypt $SZ to a file, flushed" "cp; sync FILE (of the encrypted file)" \
    "cp $QE $QO && sync $QO" \
    "$A0_D $QE -o $QO --force" \
    "rm -f $QO" ""

  # (a) decrypt to a file, openssl
  row "decrypt $SZ to a file" "openssl enc -d" \
    "$OSSL_D -in $QE -out $QO" \
    "$A0_D $QE -o $QO --force" \
    "rm -f $QO" "cmp -s $QO $QP"

  # (b) decrypt to a file, the seed's Node script
  if [ "$NODE_DECIPHER" = 1 ]; then
    row "decrypt $SZ to a file" "node decrypt.js (seed)" \
      "$NODE_D $QE $QO" \
      "$A0_D $QE -o $QO --force" \
      "rm -f $QO" "cmp -s $QO $QP"
  else
    skip "decrypt $SZ to a file" "node decrypt.js (seed)" "skipped: $(have node && echo 'node has no createDecipher' || echo 'no node')"
  fi

  # (c) decrypt and check the md5 in one command
  row "decrypt $SZ + check md5" "md5sum && openssl enc -d" \
    "md5sum $QE && $OSSL_D -in $QE -out $QO" \
    "$A0_D --md5 $ENC_MD5 $QE -o $QO --force" \
    "rm -f $QO" "cmp -s $QO $QP"
fi

# (e) what flushing costs: the same decrypt with --no-sync as the "peer"
if want sync; then
  row "decrypt $SZ to a file, fsync before the rename" "a0backup decrypt --no-sync" \
    "$A0_D --no-sync $QE -o $QO --force" \
    "$A0_D $QE -o $QO --force" \
    "rm -f $QO" "cmp -s $QO $QP"
fi

# (d) md5 alone
if want md5; then
  row "md5 of $SZ" "md5sum" \
    "md5sum $QE" \
    "$QA0 md5 $QE" \
    ":" ""
fi

# The random file is not needed any more (unless kept for another run).
[ "$KEEP" = 1 ] || rm -f "$PLAIN" "$ENC"

# --- Restore and pack -------------------------------------------------------------------------
HAS_RESTORE=0
HAS_PACK=0
{ want restore || want sync || want check || want threads || want dump || want diff; } && has_sub restore && HAS_RESTORE=1
want pack && has_sub pack && HAS_PACK=1

TREE=$D/tree
BACKUP=$D/backup-retrieve.tar.gz.enc
if [ "$HAS_RESTORE" = 1 ] || [ "$HAS_PACK" = 1 ]; then
  if [ "$(cat "$TREE/.mb" 2>/dev/null)" != "$TREE_MB" ]; then
    rm -rf "$TREE" "$BACKUP"
    if ! python3 -c 'import bson; bson.encode; bson.ObjectId' 2>/dev/null; then
      say "installing pymongo for its bson module"
      python3 -m pip install --quiet pymongo >&2 || say "pip install pymongo failed: using the pure-Python BSON encoder"
    fi
    say "making a ${TREE_MB} MB mongodump tree"
    python3 "$ROOT/benches/make_tree.py" "$TREE" --mb "$TREE_MB" >&2
    echo "$TREE_MB" >"$TREE/.mb"
  fi
fi

if [ "$HAS_RESTORE" = 1 ]; then
  if [ ! -s "$BACKUP" ]; then
    say "packing and encrypting the tree as the appliance does"
    gz=(gzip -6)
    [ "$HAVE_PIGZ" = 1 ] && gz=(pigz -6)
    tar cf - -C "$TREE" dump | "${gz[@]}" >"$D/backup.tar.gz"
    encrypt "$D/backup.tar.gz" "$BACKUP"
    rm -f "$D/backup.tar.gz"
  fi
  BACKUP_MD5=$(md5_of "$BACKUP")
  BSZ=$(awk -v b="$(stat -c %s "$BACKUP")" 'BEGIN { printf "%.0f MB", b / 1e6 }')
  TSZ=$(du -sb "$TREE/dump" | awk '{ printf "%.0f MB", $1 / 1e6 }')
  WORK="restore $BSZ backup ($TSZ tree)"
  QB=$(q "$BACKUP")
  QDEST=$(q "$D/dest")
  QTGZ=$(q "$D/restore.tar.gz")
  A0_R="$QA0 restore --password $PASSWORD --md5 $BACKUP_MD5 $QB -C $QDEST --force"
  CLEAN_R="rm -rf $QDEST $QTGZ"
  CHECK_R="diff -r $(q "$TREE/dump") $QDEST/dump"

  if want sync; then
    row "$WORK, every file and directory fsynced before the rename" "a0backup restore --no-sync" \
      "$A0_R --no-sync" "$A0_R" "$CLEAN_R" "$CHECK_R"
  fi
  if want check && has_sub check; then
    # check does all that restore does but the writes (and validates every BSON document).
    row "$WORK, checked instead (nothing written)" "a0backup restore" \
      "$A0_R" "$QA0 check -q --password $PASSWORD --md5 $BACKUP_MD5 $QB" "$CLEAN_R" ""
  fi
  if want threads; then
    # The parallel inflater against the default sequential one (zlib-rs), on every core and
    # on one (taskset), where its workers can only take turns with the rest of the pipeline.
    for t in 1 2; do
      row "$WORK, inflate on --threads=$t" "a0backup restore" \
        "$A0_R" "$A0_R --threads=$t" "$CLEAN_R" "$CHECK_R"
    done
    if have taskset; then
      for t in 1 2; do
        row "$WORK, inflate on --threads=$t, one core" "taskset -c 0 a0backup restore" \
          "taskset -c 0 $A0_R" "taskset -c 0 $A0_R --threads=$t" "$CLEAN_R" "$CHECK_R"
      done
    else
      skip "$WORK, one core" "taskset -c 0 a0backup restore" "skipped: no taskset"
    fi
  fi
  if want dump && has_sub dump; then
    # The largest collection as Extended JSON lines, as bsondump prints them.
    QJ=$(q "$D/dump.jsonl")
    USERS_MB=$(awk -v b="$(stat -c %s "$TREE/dump/auth0/users.bson")" 'BEGIN { printf "%.0f MB", b / 1e6 }')
    USERS_N=$("$A0" dump -q --password "$PASSWORD" "$BACKUP" auth0.users | wc -l)
    DWORK="dump auth0.users ($USERS_MB of BSON, $USERS_N documents) of the $BSZ backup to JSON lines"
    A0_J="$QA0 dump -q --password $PASSWORD $QB auth0.users >$QJ"
    CHECK_J="[ \"\$(wc -l <$QJ)\" = $USERS_N ]"
    # Within 1.2x of check's time is the aim: converting must keep up with inflating.
    row "$DWORK" "a0backup check (whole backup, nothing converted)" \
      "$QA0 check -q --password $PASSWORD $QB" "$A0_J" "rm -f $QJ" ""
    cat >"$D/appliance-json.py" <<'PYEOF'
import sys
import bson
from bson import json_util
from bson.codec_options import DatetimeConversion
from bson.json_util import CANONICAL_JSON_OPTIONS
options = CANONICAL_JSON_OPTIONS.with_options(datetime_conversion=DatetimeConversion.DATETIME_AUTO)
with open(sys.argv[1], "rb") as f, open(sys.argv[2], "w") as out:
    for doc in bson.decode_file_iter(f, options):
        out.write(json_util.dumps(doc, json_options=options) + "\n")
PYEOF
    QX=$(q "$D/extracted")
    row "$DWORK" "openssl enc -d | tar xz; pymongo decode_file_iter + json_util.dumps" \
      "mkdir -p $QX && $OSSL_D -in $QB | tar xz -C $QX && python3 $(q "$D/appliance-json.py") $QX/dump/auth0/users.bson $QJ" \
      "$A0_J" "rm -rf $QJ $QX" "$CHECK_J"
  fi
  if want diff && has_sub diff; then
    # The same bytes twice: every document compared (all unchanged), nothing printed but the
    # table; what two checks of the backups read and validate, plus the digests and the join.
    QC=$(q "$D/copy.tar.gz.enc")
    cp "$BACKUP" "$D/copy.tar.gz.enc"
    row "diff of two $BSZ backups ($TSZ trees)" "a0backup check OLD; a0backup check NEW" \
      "$QA0 check -q --password $PASSWORD $QB && $QA0 check -q --password $PASSWORD $QC" \
      "$QA0 diff -q --password $PASSWORD $QB $QC >/dev/null" ":" ""
    rm -f "$D/copy.tar.gz.enc"
  fi
  if ! want restore; then
    :
  elif [ "$NODE_DECIPHER" = 1 ]; then
    row "$WORK" "md5sum; node decrypt.js; mkdir; tar xf (seeds)" \
      "md5sum $QB && $NODE_D $QB $QTGZ && mkdir -p $QDEST && tar xf $QTGZ -C $QDEST" \
      "$A0_R" "$CLEAN_R" "$CHECK_R"
  else
    skip "$WORK" "md5sum; node decrypt.js; mkdir; tar xf (seeds)" "skipped: $(have node && echo 'node has no createDecipher' || echo 'no node')"
  fi
  if ! want restore; then
    :
  elif [ "$HAVE_PIGZ" = 1 ]; then
    row "$WORK" "openssl enc -d | pigz -d | tar x" \
      "mkdir -p $QDEST && $OSSL_D -in $QB | pigz -d | tar x -C $QDEST" \
      "$A0_R" "$CLEAN_R" "$CHECK_R"
  else
    skip "$WORK" "openssl enc -d | pigz -d | tar x" "skipped: no pigz"
  fi
  if want restore; then
    # The restore's CPU floor, from its parts alone (floor_parts); inflate is timed as `list`
    # of the decrypted .tar.gz, which spends over 95% of its time in zlib-rs (perf).
    QFG=$(q "$D/floor.tar.gz")
    QFT=$(q "$D/floor.tar")
    $A0_D --no-sync "$QB" -o "$D/floor.tar.gz" --force -q
    gzip -dc "$D/floor.tar.gz" >"$D/floor.tar"
    FLOOR_LABELS=("md5 of the backup" "decryption (to /dev/null)"
      "inflate (list of the decrypted .tar.gz)" "file writes (GNU tar x of the inflated tar)")
    FLOOR_CMDS=("$QA0 md5 $QB" "$A0_D -q $QB -o - >/dev/null" "$QA0 list $QFG >/dev/null"
      "mkdir -p $QDEST && tar xf $QFT -C $QDEST")
    FLOOR_CLEANS=(":" ":" ":" "rm -rf $QDEST")
    FLOOR_SINGLE=(1 0 1 0)
    floor_parts
    rm -f "$D/floor.tar.gz" "$D/floor.tar"
  fi
elif want restore; then
  skip "restore" "(all peers)" "skipped: a0backup has no restore yet"
fi

if [ "$HAS_PACK" = 1 ]; then
  TSZ=$(du -sb "$TREE/dump" | awk '{ printf "%.0f MB", $1 / 1e6 }')
  WORK="pack $TSZ tree"
  QT=$(q "$TREE")
  QPK=$(q "$D/pack.tar.gz.enc")
  # The default level (5) makes mongodump data smaller than gzip -6 does; level 6 is also
  # timed against pigz -6, with its size.
  A0_P="$QA0 pack --password $PASSWORD $(q "$TREE/dump") -o $QPK --force"
  A0_P6="$QA0 pack --password $PASSWORD --level 6 $(q "$TREE/dump") -o $QPK --force"
  CLEAN_P="rm -f $QPK"
  # The output must decrypt (Node format) to a gzipped tar holding the whole tree.
  CHECK_P="[ \"\$($OSSL_D -in $QPK 2>/dev/null | tar tzf - | grep -c '\\.bson\$')\" = $(find "$TREE/dump" -name '*.bson' | wc -l) ]"

  row "$WORK" "tar czf - | openssl enc" \
    "tar czf - -C $QT dump | $OSSL_E -out $QPK" \
    "$A0_P" "$CLEAN_P" "$CHECK_P" "$D/pack.tar.gz.enc" "$PACK_RUNS"
  GZIP_SIZE=$LAST_PEER_SIZE
  A0_SIZE=$LAST_MINE_SIZE
  PIGZ_SIZE=
  if [ "$HAVE_PIGZ" = 1 ]; then
    row "$WORK" "tar cf - | pigz -6 | openssl enc" \
      "tar cf - -C $QT dump | pigz -6 | $OSSL_E -out $QPK" \
      "$A0_P" "$CLEAN_P" "$CHECK_P" "$D/pack.tar.gz.enc" "$PACK_RUNS"
    PIGZ_SIZE=$LAST_PEER_SIZE
    row "$WORK, a0backup at --level 6" "tar cf - | pigz -6 | openssl enc" \
      "tar cf - -C $QT dump | pigz -6 | $OSSL_E -out $QPK" \
      "$A0_P6" "$CLEAN_P" "$CHECK_P" "$D/pack.tar.gz.enc" "$PACK_RUNS"
    A0_SIZE6=$LAST_MINE_SIZE
  else
    skip "$WORK" "tar cf - | pigz -6 | openssl enc" "skipped: no pigz"
  fi
  if [ -n "$GZIP_SIZE" ] && [ -n "$A0_SIZE" ]; then
    rel() { awk -v a="$1" -v b="$GZIP_SIZE" 'BEGIN { printf "%.4f", a / b }'; }
    SIZES+=("| gzip -6 (\`tar czf\`) | $GZIP_SIZE | 1.0000 |")
    [ -n "$PIGZ_SIZE" ] && SIZES+=("| pigz -6 | $PIGZ_SIZE | $(rel "$PIGZ_SIZE") |")
    SIZES+=("| a0backup pack (default level 5) | $A0_SIZE | $(rel "$A0_SIZE") |")
    [ -n "${A0_SIZE6:-}" ] && SIZES+=("| a0backup pack --level 6 | $A0_SIZE6 | $(rel "$A0_SIZE6") |")
  fi
elif want pack; then
  skip "pack" "(all peers)" "skipped: a0backup has no pack yet"
fi

# --- Report -----------------------------------------------------------------------------------
echo
echo "a0backup $("$A0" --version 2>/dev/null | awk '{ print $NF }') vs peers: $(nproc) cores ($(grep -m1 'model name' /proc/cpuinfo 2>/dev/null | cut -d: -f2 | sed 's/^ *//')),"
echo "$(openssl version | cut -d' ' -f1-2), node $(have node && node --version || echo none), pigz $(have pigz && pigz --version 2>&1 | awk '{ print $2 }' || echo none);"
echo "median of $RUNS runs (pack: $PACK_RUNS) after a warm-up, peer and a0backup alternating; outputs in $D;"
echo "$REPORTING_NOTE."
echo
echo "| work | peer | peer median s | a0backup median s | peer/a0backup | a0backup peak RSS MiB |"
echo "| --- | --- | --- | --- | --- | --- |"
printf '%s\n' "${TABLE[@]}"
if [ ${#FLOOR[@]} -gt 0 ]; then
  echo
  echo "| restore's part, alone | median CPU s | median s |"
  echo "| --- | --- | --- |"
  printf '%s\n' "${FLOOR[@]}"
  echo
  echo "CPU floor of the restore on $(nproc) cores: max($FLOOR_CPU CPU s / $(nproc), largest single-threaded part $FLOOR_MAX s) = $FLOOR_S s;"
  echo "a0backup restore (md5 checked), timed beside its parts: ${RESTORE_MEDIAN:-n/a} s (${RESTORE_CPU:-n/a} CPU s), $(awk -v r="${RESTORE_MEDIAN:-0}" -v f="$FLOOR_S" 'BEGIN { if (r > 0 && f > 0) printf "%.2f", r / f; else print "n/a" }')x its floor."
fi
if [ ${#SIZES[@]} -gt 0 ]; then
  echo
  echo "| pack output | bytes | vs gzip -6 |"
  echo "| --- | --- | --- |"
  printf '%s\n' "${SIZES[@]}"
fi
exit "$STATUS"
