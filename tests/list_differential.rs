//! `a0backup list` against GNU `tar tf` (issue 11: "list and restore use one parser and agree on
//! every archive"): over every archive of the producer matrix (`tests/producers/matrix.rs`) and
//! every input of `fuzz/corpus/unpack/` (and `fuzz/regressions/unpack/`) that GNU tar reads,
//! a0backup must either refuse the archive (a clean non-zero exit, not a panic) or print exactly
//! the names GNU tar prints, in the same order and number.
//!
//! The names compared:
//! - GNU: `LC_ALL=C tar -P --quoting-style=escape -tzf ARCHIVE`. `-P` prints names as stored
//!   (no stripping of a leading `/` or `../`), `escape` quoting puts one name per line with
//!   `\\`, `\n`, `\t`... and `\ooo` for every other non-printable byte (every byte >= 0x80 in the C
//!   locale); those escapes are undone, giving the stored bytes.
//! - a0backup: the `path` of each line of `a0backup --json list ARCHIVE`.
//! - Normalised on both sides, and only this: the bytes are read as UTF-8 with invalid sequences
//!   replaced by U+FFFD (a0backup's JSON carries `to_string_lossy`), and trailing `/`s are dropped
//!   (GNU prints a directory name as stored, usually with one; `./` becomes `.`).

#[path = "producers/matrix.rs"]
mod matrix;

use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::Command;

use matrix::{a0backup_bin, describe, Tool};

/// Undoes GNU tar's `escape` quoting style.
fn unescape(line: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(line.len());
    let mut i = 0;
    while i < line.len() {
        if line[i] == b'\\' && i + 1 < line.len() {
            let c = line[i + 1];
            if (b'0'..=b'7').contains(&c) {
                let mut j = i + 1;
                let mut v: u32 = 0;
                while j < line.len() && j < i + 4 && (b'0'..=b'7').contains(&line[j]) {
                    v = v * 8 + u32::from(line[j] - b'0');
                    j += 1;
                }
                out.push(v as u8);
                i = j;
                continue;
            }
            let byte = match c {
                b'a' => Some(7),
                b'b' => Some(8),
                b'f' => Some(12),
                b'n' => Some(b'\n'),
                b'r' => Some(b'\r'),
                b't' => Some(b'\t'),
                b'v' => Some(11),
                b'\\' | b'?' | b'"' | b'\'' => Some(c),
                _ => None,
            };
            if let Some(b) = byte {
                out.push(b);
                i += 2;
                continue;
            }
        }
        out.push(line[i]);
        i += 1;
    }
    out
}

/// The comparison rule of the module comment.
fn normalise(name: &[u8]) -> String {
    let mut s = String::from_utf8_lossy(name).into_owned();
    while s.len() > 1 && s.ends_with('/') {
        s.pop();
    }
    s
}

/// Every line of `out`, an empty one included (an empty member name is an empty line).
fn lines(out: &[u8]) -> Vec<&[u8]> {
    if out.is_empty() {
        return Vec::new();
    }
    let mut v: Vec<&[u8]> = out.split(|b| *b == b'\n').collect();
    if v.last() == Some(&&b""[..]) {
        v.pop();
    }
    v
}

enum Outcome {
    /// Both listed the same names.
    Same(usize),
    /// a0backup refused the archive (allowed), with this message.
    Refused(String),
    /// GNU tar cannot read it: not compared.
    GnuFails(String),
}

/// Lists `archive` both ways; `Err` is a disagreement.
fn compare_lists(archive: &Path) -> Result<Outcome, String> {
    let gnu = Command::new("tar")
        .env("LC_ALL", "C")
        .args(["-P", "--quoting-style=escape", "-tzf"])
        .arg(archive)
        .output()
        .unwrap();
    if !gnu.status.success() {
        return Ok(Outcome::GnuFails(describe(&gnu)));
    }
    let gnu_names: Vec<String> = lines(&gnu.stdout)
        .into_iter()
        .map(|l| normalise(&unescape(l)))
        .collect();

    let a0b = Command::new(a0backup_bin())
        .args(["--json", "list"])
        .arg(archive)
        .output()
        .unwrap();
    if !a0b.status.success() {
        // A refusal is a clean exit with a code of its own, never a panic or a signal.
        return match a0b.status.code() {
            Some(1..=5) => Ok(Outcome::Refused(describe(&a0b))),
            _ => Err(format!(
                "a0backup list did not refuse cleanly: {}",
                describe(&a0b)
            )),
        };
    }
    let mut a0b_names = Vec::new();
    for l in lines(&a0b.stdout) {
        let v: serde_json::Value = serde_json::from_slice(l)
            .map_err(|e| format!("a0backup printed a line that is not JSON ({e}): {l:?}"))?;
        let p = v["path"]
            .as_str()
            .ok_or_else(|| format!("no path in {v}"))?;
        a0b_names.push(normalise(p.as_bytes()));
    }
    if gnu_names == a0b_names {
        return Ok(Outcome::Same(gnu_names.len()));
    }
    let only_gnu: Vec<&String> = gnu_names
        .iter()
        .filter(|n| !a0b_names.contains(n))
        .collect();
    let only_a0b: Vec<&String> = a0b_names
        .iter()
        .filter(|n| !gnu_names.contains(n))
        .collect();
    Err(format!(
        "the names differ: GNU tar lists {} {gnu_names:?}, a0backup lists {} {a0b_names:?} \
         (only GNU: {only_gnu:?}; only a0backup: {only_a0b:?})",
        gnu_names.len(),
        a0b_names.len()
    ))
}

fn finish(what: &str, total: usize, disagreements: Vec<String>) {
    assert!(
        disagreements.is_empty(),
        "a0backup list and GNU tar tf disagree on {} of {total} {what}:\n\n{}",
        disagreements.len(),
        disagreements.join("\n\n")
    );
}

#[test]
fn list_agrees_with_gnu_tar_on_every_producer_archive() {
    let cases = matrix::runnable(matrix::all_cases());
    let mut disagreements = Vec::new();
    for case in &cases {
        let work = tempfile::tempdir().unwrap();
        let archive = match case.produce(work.path()) {
            Ok((a, _)) => a,
            Err(e) => {
                disagreements.push(format!("{}: {e}", case.name));
                continue;
            }
        };
        match compare_lists(&archive) {
            Ok(Outcome::Same(n)) => eprintln!("same {n} names: {}", case.name),
            Ok(Outcome::Refused(m)) => eprintln!("a0backup refuses: {}: {m}", case.name),
            // A producer's own archive that GNU tar cannot list is a broken test setup.
            Ok(Outcome::GnuFails(m)) => {
                disagreements.push(format!("{}: GNU tar cannot list it: {m}", case.name))
            }
            Err(e) => disagreements.push(format!("{}: {e}", case.name)),
        }
    }
    finish("producer archives", cases.len(), disagreements);
}

/// A fuzz input of the `unpack` target as the `.tar.gz` it stands for (layout in
/// fuzz/src/checks.rs: a flags byte, then the `.tar.gz`, or with bit 0 a raw tar that is
/// gzipped, padded with an end-of-archive marker when bit 3 is set).
fn corpus_input_as_targz(data: &[u8]) -> Vec<u8> {
    let Some((&flags, payload)) = data.split_first() else {
        return Vec::new();
    };
    if flags & 1 == 0 {
        return payload.to_vec();
    }
    let mut tar = payload.to_vec();
    if flags & 8 != 0 {
        tar.resize(tar.len().div_ceil(512) * 512 + 1024, 0);
    }
    let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
    gz.write_all(&tar).unwrap();
    gz.finish().unwrap()
}

fn corpus_files() -> Vec<PathBuf> {
    let fuzz = Path::new(env!("CARGO_MANIFEST_DIR")).join("fuzz");
    let mut files = Vec::new();
    for dir in [fuzz.join("corpus/unpack"), fuzz.join("regressions/unpack")] {
        let Ok(entries) = std::fs::read_dir(&dir) else {
            continue;
        };
        files.extend(
            entries
                .map(|e| e.unwrap().path())
                .filter(|p| p.is_file())
                .filter(|p| !p.file_name().unwrap().to_string_lossy().starts_with('.')),
        );
    }
    files.sort();
    files
}

#[test]
fn list_agrees_with_gnu_tar_on_the_fuzz_corpus() {
    if !matrix::require(&[Tool::GnuTar, Tool::Gzip]) {
        return;
    }
    let files = corpus_files();
    assert!(!files.is_empty(), "fuzz/corpus/unpack/ is empty");
    let work = tempfile::tempdir().unwrap();
    let mut disagreements = Vec::new();
    let (mut compared, mut gnu_fails) = (0, 0);
    for file in &files {
        let name = file.file_name().unwrap().to_string_lossy().into_owned();
        let archive = work.path().join(format!("{name}.tar.gz"));
        std::fs::write(
            &archive,
            corpus_input_as_targz(&std::fs::read(file).unwrap()),
        )
        .unwrap();
        match compare_lists(&archive) {
            Ok(Outcome::Same(n)) => {
                compared += 1;
                eprintln!("same {n} names: {name}");
            }
            Ok(Outcome::Refused(m)) => {
                compared += 1;
                eprintln!("a0backup refuses: {name}: {m}");
            }
            Ok(Outcome::GnuFails(m)) => {
                gnu_fails += 1;
                eprintln!("not compared, GNU tar cannot list it: {name}: {m}");
            }
            Err(e) => {
                compared += 1;
                disagreements.push(format!("{name}: {e}"));
            }
        }
    }
    eprintln!("{compared} corpus inputs compared, {gnu_fails} that GNU tar cannot list left out");
    assert!(compared > 0, "GNU tar could list none of the corpus");
    finish("fuzz corpus inputs GNU tar reads", compared, disagreements);
}

#[test]
fn gnu_escapes_are_undone() {
    assert_eq!(
        unescape(br"a\\b\nc\tq\303\274\001"),
        b"a\\b\nc\tq\xc3\xbc\x01"
    );
    assert_eq!(normalise(b"./"), ".");
    assert_eq!(normalise(b"dump/admin/"), "dump/admin");
    assert_eq!(normalise(b""), "");
}
