//! Every producer's archives restore exactly (issue 11): a tree with the awkward parts of a real
//! backup (the `./` root, long and non-ASCII names, spaces, an empty directory and file, mtimes
//! before 1970 and after 2^33 seconds, modes 0600 to 0777, a mongodump layout, symlinks) is
//! archived by GNU tar, bsdtar, Python's tarfile, node-tar and busybox tar in every form they
//! offer (`tests/producers/matrix.rs` has the table), then restored with `a0backup unpack` and
//! with `a0backup restore` (after `a0backup encrypt`), and each restored tree is compared file
//! by file with what GNU tar extracts from the same archive.
//!
//! What is compared, and why: the set of paths, their kinds, file contents and symlink targets,
//! and for files and directories the mtime (seconds) and mode bits, against GNU tar run as an
//! ordinary user would get it (`--no-same-owner --no-same-permissions` under `umask 022`: modes
//! masked by the umask, as issue 11 asks of a0backup; the tests may run as root, where GNU tar
//! would otherwise keep the archive's modes). DEST itself (the `./` entry) is not compared, only
//! what is inside it: its mode and time are issue 11's "DEST keeps the mode" item, not the
//! archive's. Symlinks' own mode and mtime are not compared.
//!
//! As a check on the producer and the oracle, GNU tar's tree must also hold exactly the paths,
//! kinds and contents that were archived (formats that cannot hold an entry get a tree without
//! it: see `Holds`).
//!
//! Each test runs every case of one producer and reports all failing cases at the end.
//! A missing producer or oracle fails in CI and is skipped with a note elsewhere.

#[path = "producers/matrix.rs"]
mod matrix;

use std::collections::BTreeMap;
use std::ffi::OsString;
use std::fs;
use std::path::{Path, PathBuf};
use std::process::Command;

use matrix::{a0backup_bin, compare, describe, os, snapshot, umask_022, Case, Form, Node, TOP};

const PASSWORD: &str = "Passw0rd";

/// At most this many differences are shown per step.
const SHOWN: usize = 12;

fn diffs_to_failure(step: &str, diffs: Vec<String>) -> Result<(), String> {
    if diffs.is_empty() {
        return Ok(());
    }
    let n = diffs.len();
    let mut shown: Vec<String> = diffs.into_iter().take(SHOWN).collect();
    if n > SHOWN {
        shown.push(format!("... and {} more", n - SHOWN));
    }
    Err(format!(
        "{step}: {n} differences:\n      {}",
        shown.join("\n      ")
    ))
}

/// Runs `a0backup ARGS` (unpack or restore into `dest`) under umask 022 and compares `dest`
/// with the oracle's tree.
fn restore_and_compare(
    step: &str,
    args: &[OsString],
    dest: &Path,
    expected: &BTreeMap<PathBuf, Node>,
) -> Option<String> {
    let o = umask_022(&a0backup_bin(), args).output().unwrap();
    if !o.status.success() {
        return Some(format!("{step} failed, {}", describe(&o)));
    }
    diffs_to_failure(
        &format!("{step} vs GNU tar"),
        compare(expected, &snapshot(dest), true),
    )
    .err()
}

/// One case: produce, extract with the oracle, restore twice with a0backup, compare.
/// Returns every failure of the case (unpack and restore are both tried).
fn check(case: &Case) -> Vec<String> {
    let work = tempfile::tempdir().unwrap();
    // PRODUCERS_KEEP=1 keeps each case's directory (tree, archive, oracle, restores) to look at.
    let (_work, kept);
    let w: &Path = if std::env::var_os("PRODUCERS_KEEP").is_some() {
        kept = work.keep();
        eprintln!("kept: {} in {}", case.name, kept.display());
        &kept
    } else {
        _work = work;
        _work.path()
    };
    let (archive, tree) = match case.produce(w) {
        Ok(x) => x,
        Err(e) => return vec![e],
    };
    let oracle = w.join("oracle");
    if let Err(e) = matrix::oracle_extract(&archive, &oracle) {
        return vec![e];
    }
    let expected = snapshot(&oracle);

    // The producer archived the tree, and GNU tar reads it back: same paths, kinds, contents.
    let oracle_tree = match case.form {
        Form::Dot => oracle.clone(),
        Form::Dir => oracle.join(TOP),
    };
    let mut sanity = compare(&snapshot(&tree), &snapshot(&oracle_tree), false);
    if case.form == Form::Dir {
        let top: Vec<_> = fs::read_dir(&oracle)
            .unwrap()
            .map(|e| e.unwrap().file_name())
            .collect();
        if top != [TOP] {
            sanity.push(format!("the oracle's top level is {top:?}, not [{TOP:?}]"));
        }
    }
    if let Err(e) = diffs_to_failure(
        "the producer's archive, as GNU tar extracts it, is not the tree (test setup)",
        sanity,
    ) {
        return vec![e];
    }

    let mut failures = Vec::new();
    // a0backup unpack (links allowed: the tree holds symlinks that stay inside DEST).
    let unpacked = w.join("unpacked");
    let args = os(&[
        &"-q",
        &"unpack",
        &"--allow-symlinks",
        &archive,
        &"-C",
        &unpacked,
    ]);
    failures.extend(restore_and_compare("unpack", &args, &unpacked, &expected));

    // a0backup restore of the same archive, encrypted as the appliance does.
    let encrypted = w.join("archive.tar.gz.enc");
    let o = Command::new(a0backup_bin())
        .args(["encrypt", "--password", PASSWORD])
        .arg(&archive)
        .arg("-o")
        .arg(&encrypted)
        .output()
        .unwrap();
    if o.status.success() {
        let restored = w.join("restored");
        let args = os(&[
            &"-q",
            &"restore",
            &"--password",
            &PASSWORD,
            &"--allow-symlinks",
            &encrypted,
            &"-C",
            &restored,
        ]);
        failures.extend(restore_and_compare("restore", &args, &restored, &expected));
    } else {
        failures.push(format!("a0backup encrypt failed, {}", describe(&o)));
    }

    // Nothing left beside DEST (no staging directory or temp file), whatever happened.
    let mut left: Vec<String> = fs::read_dir(w)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .filter(|n| {
            ![
                "src",
                "archive.tar.gz",
                "archive.tar.gz.enc",
                "oracle",
                "unpacked",
                "restored",
            ]
            .contains(&n.as_str())
        })
        .collect();
    left.sort();
    if !left.is_empty() {
        failures.push(format!("left beside DEST: {left:?}"));
    }
    failures
}

/// Runs every installed case and fails with the list of all failing ones.
fn run_all(cases: Vec<Case>) {
    let cases = matrix::runnable(cases);
    let mut report = Vec::new();
    let total = cases.len();
    for case in &cases {
        let failures = check(case);
        if failures.is_empty() {
            eprintln!("ok: {}", case.name);
        } else {
            report.push(format!("{}:\n    {}", case.name, failures.join("\n    ")));
        }
    }
    assert!(
        report.is_empty(),
        "{} of {total} cases failed:\n\n{}",
        report.len(),
        report.join("\n\n")
    );
}

#[test]
fn gnu_tar_every_format_restores_exactly() {
    run_all(matrix::gnu_tar());
}

#[test]
fn gnu_tar_through_pigz_and_zero_padded_gzip_restores_exactly() {
    run_all(matrix::gnu_tar_other_gzip());
}

#[test]
fn bsdtar_every_format_restores_exactly() {
    run_all(matrix::bsdtar());
}

#[test]
fn python_tarfile_pax_gnu_ustar_restore_exactly() {
    run_all(matrix::python_tarfile());
}

#[test]
fn node_tar_restores_exactly() {
    run_all(matrix::node_tar());
}

#[test]
fn busybox_tar_restores_exactly() {
    run_all(matrix::busybox());
}

/// The tree really has the awkward parts (so a producer case cannot pass by testing less).
#[test]
fn the_tree_has_the_awkward_parts() {
    let dir = tempfile::tempdir().unwrap();
    let root = matrix::build_tree(dir.path(), matrix::HOLDS_ALL);
    let snap = snapshot(&root);
    let longest = snap.keys().map(|p| p.as_os_str().len()).max().unwrap();
    assert!(longest > 255, "longest path {longest}");
    let mtimes: Vec<i64> = snap.values().map(|n| n.mtime).collect();
    assert!(mtimes.contains(&matrix::PRE_EPOCH));
    assert!(mtimes.contains(&matrix::YEAR_2200));
    assert!(mtimes.contains(&matrix::BEYOND_2_33));
    let modes: Vec<u32> = snap.values().map(|n| n.mode).collect();
    for m in [0o600, 0o640, 0o644, 0o666, 0o700, 0o750, 0o755, 0o777] {
        assert!(modes.contains(&m), "no entry with mode {m:o}");
    }
    assert!(snap.keys().any(|p| !p.to_string_lossy().is_ascii()));
    assert!(snap.keys().any(|p| p.to_string_lossy().contains(' ')));
    assert!(snap.contains_key(Path::new("dump/admin/system.version.bson")));
    assert!(fs::read_dir(root.join("empty dir"))
        .unwrap()
        .next()
        .is_none());
    assert_eq!(fs::metadata(root.join("empty-file")).unwrap().len(), 0);
}
