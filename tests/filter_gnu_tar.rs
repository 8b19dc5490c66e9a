//! `--include` and `--exclude` select as GNU tar's member arguments (with `--wildcards`) and
//! `--exclude` do, with GNU tar itself as the oracle: on archives made by GNU tar from a
//! generated tree, both as `tar -C d dump other` and as `tar -C d .` (whose names begin with
//! `./`), `a0backup unpack` writes exactly the paths `tar -xzf` extracts, and fails where it
//! says "Not found in archive".
//!
//! One deliberate difference: a leading `./` is not part of a name on either side, so a
//! pattern is given to GNU tar in the archive's own form (GNU tar compares them as written).
#![cfg(feature = "cli")]

mod common;

use std::collections::BTreeSet;
use std::fs;
use std::path::Path;
use std::process::{Command, Output};

fn bin() -> &'static str {
    env!("CARGO_BIN_EXE_a0backup")
}

/// Every path under `root` (files and directories), relative, without `./`.
fn paths(root: &Path) -> BTreeSet<String> {
    let mut out = BTreeSet::new();
    let mut pending = vec![root.to_path_buf()];
    while let Some(dir) = pending.pop() {
        for e in fs::read_dir(&dir).unwrap() {
            let p = e.unwrap().path();
            out.insert(p.strip_prefix(root).unwrap().to_string_lossy().into_owned());
            if p.is_dir() && !p.is_symlink() {
                pending.push(p);
            }
        }
    }
    out
}

/// The tree the archives are made of: nested databases, two `admin` directories, names that
/// share a prefix (`db`, `dbx`), an empty directory and a name with a space.
fn make_tree(d: &Path) {
    for (path, data) in [
        ("dump/db/c.bson", "c"),
        ("dump/db/c.metadata.json", "{}"),
        ("dump/db/sub/deep.bson", "deep"),
        ("dump/admin/s.bson", "s"),
        ("dump/dbx/y.bson", "y"),
        ("dump/top.bson", "top"),
        ("dump/with space/f.bson", "f"),
        ("other/admin/z.bson", "z"),
    ] {
        let p = d.join(path);
        fs::create_dir_all(p.parent().unwrap()).unwrap();
        fs::write(p, data).unwrap();
    }
    fs::create_dir_all(d.join("dump/empty")).unwrap();
}

/// `./` off the front and `/` off the end, as the filter reads a pattern.
fn bare(p: &str) -> &str {
    let p = p.trim_start_matches("./");
    p.strip_suffix('/').unwrap_or(p)
}

struct Case<'a> {
    include: &'a [&'a str],
    exclude: &'a [&'a str],
}

fn ours(archive: &Path, case: &Case<'_>, out: &Path) -> Output {
    let mut cmd = Command::new(bin());
    cmd.args(["unpack", "-q", "--no-sync"])
        .arg(archive)
        .arg("-C")
        .arg(out);
    for p in case.include {
        cmd.args(["--include", p]);
    }
    for p in case.exclude {
        cmd.args(["--exclude", p]);
    }
    cmd.output().unwrap()
}

fn gnu(archive: &Path, dotted: bool, case: &Case<'_>, out: &Path) -> Output {
    fs::create_dir(out).unwrap();
    let mut cmd = Command::new("tar");
    cmd.arg("-C").arg(out).arg("-xzf").arg(archive);
    for p in case.exclude {
        cmd.arg(format!("--exclude={}", bare(p)));
    }
    if !case.include.is_empty() {
        cmd.arg("--wildcards");
    }
    for p in case.include {
        let member = match dotted {
            true => format!("./{}", bare(p)),
            false => bare(p).to_string(),
        };
        cmd.arg(member);
    }
    cmd.output().unwrap()
}

#[test]
fn include_and_exclude_select_what_gnu_tar_extracts() {
    if !common::have("tar") {
        return;
    }
    let work = tempfile::tempdir().unwrap();
    let d = work.path().join("d");
    make_tree(&d);
    let plain = work.path().join("plain.tar.gz");
    let dotted = work.path().join("dotted.tar.gz");
    for (archive, members) in [(&plain, &["dump", "other"][..]), (&dotted, &["."][..])] {
        let ok = Command::new("tar")
            .arg("-C")
            .arg(&d)
            .arg("-czf")
            .arg(archive)
            .args(members)
            .status()
            .unwrap()
            .success();
        assert!(ok);
    }
    let includes: &[&str] = &[
        "dump/db",
        "dump/db/",
        "./dump/db",
        "dump/db/c.bson",
        "./dump/db/c.bson",
        "dump/d*",
        "*.bson",
        "dump/*/c.*",
        "db",
        "dump/d",
        "dump",
        "*/admin",
        "dump/a?min",
        "dump/with space",
        "*/sub",
        "dump/[ad]*",
        "other",
        // A directory with nothing in it: GNU tar finds it and makes it.
        "dump/empty",
    ];
    let excludes: &[&str] = &[
        "dump/admin",
        "./dump/admin",
        "admin",
        "dump/ad*",
        "db",
        "dump/db/c.bson",
        "./dump/db/c.bson",
        "c.bson",
        "*.bson",
        "db/c.bson",
        "dump/*.bson",
        "b",
        "dump",
        "*/db",
        "sub",
        "empty",
        "with space",
        "d?",
    ];
    let mut cases: Vec<Case<'_>> = Vec::new();
    for p in includes {
        cases.push(Case {
            include: std::slice::from_ref(p),
            exclude: &[],
        });
    }
    for p in excludes {
        cases.push(Case {
            include: &[],
            exclude: std::slice::from_ref(p),
        });
    }
    cases.push(Case {
        include: &["dump"],
        exclude: &["admin"],
    });
    cases.push(Case {
        include: &["*.bson"],
        exclude: &["db"],
    });
    cases.push(Case {
        include: &["dump/db", "other"],
        exclude: &["sub", "z.bson"],
    });
    let mut compared = 0;
    let mut selected_something = 0;
    for (archive, is_dotted) in [(&plain, false), (&dotted, true)] {
        for (i, case) in cases.iter().enumerate() {
            let what = format!(
                "{} --include {:?} --exclude {:?}",
                archive.file_name().unwrap().to_string_lossy(),
                case.include,
                case.exclude
            );
            let (a, b) = (
                work.path().join(format!("ours-{is_dotted}-{i}")),
                work.path().join(format!("gnu-{is_dotted}-{i}")),
            );
            let o = ours(archive, case, &a);
            let g = gnu(archive, is_dotted, case, &b);
            let gnu_err = String::from_utf8_lossy(&g.stderr);
            if g.status.success() {
                assert!(
                    o.status.success(),
                    "{what}: GNU tar extracts, we fail: {}",
                    String::from_utf8_lossy(&o.stderr)
                );
                assert_eq!(paths(&a), paths(&b), "{what}");
                if !paths(&b).is_empty() {
                    selected_something += 1;
                }
            } else {
                assert!(
                    gnu_err.contains("Not found in archive"),
                    "{what}: {gnu_err}"
                );
                assert_eq!(o.status.code(), Some(2), "{what}: we must fail too");
                assert!(
                    String::from_utf8_lossy(&o.stderr).contains("selected but not in the archive"),
                    "{what}"
                );
                assert!(!a.exists(), "{what}: nothing is written");
            }
            compared += 1;
        }
    }
    assert_eq!(compared, 2 * cases.len());
    assert!(selected_something > cases.len(), "{selected_something}");
}
