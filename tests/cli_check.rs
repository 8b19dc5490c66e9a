//! `a0backup check`: exit 0 only for a backup that would restore with every collection clean,
//! 5 when restore would refuse it, 6 when collection data is damaged, 4 for a wrong md5; and
//! never a byte written.
#![cfg(feature = "cli")]

mod common;

use std::path::Path;
use std::process::{Command, Output};

use common::tar_build::{file, gzip, tar};

fn a0backup(args: &[&str], cwd: &Path) -> Output {
    Command::new(env!("CARGO_BIN_EXE_a0backup"))
        .args(args)
        .current_dir(cwd)
        .output()
        .unwrap()
}

#[test]
fn check_exit_codes_say_what_a_restore_would_meet() {
    let work = tempfile::tempdir().unwrap();
    let w = work.path();
    let sample = common::data("sample-backup/backup-retrieve.tar.gz.enc");
    let status = common::data("sample-backup/backup-status.txt");
    std::fs::copy(&sample, w.join("backup.tar.gz.enc")).unwrap();
    std::fs::copy(&status, w.join("status.txt")).unwrap();
    let before = common::dir_names(w);

    let ok = a0backup(
        &[
            "check",
            "--password",
            "Passw0rd",
            "--status",
            "status.txt",
            "backup.tar.gz.enc",
        ],
        w,
    );
    assert_eq!(ok.status.code(), Some(0), "{ok:?}");
    let table = String::from_utf8(ok.stdout).unwrap();
    assert!(table.contains("auth0.users"), "{table}");
    let said = String::from_utf8(ok.stderr).unwrap();
    assert!(
        said.contains("md5 eccdb928a3bab23f725f955b68ef66ff matches"),
        "{said}"
    );

    let json = a0backup(
        &[
            "check",
            "--json",
            "--password",
            "Passw0rd",
            "backup.tar.gz.enc",
        ],
        w,
    );
    let v: serde_json::Value = serde_json::from_slice(&json.stdout).unwrap();
    assert_eq!(v["restorable"], true);
    assert_eq!(v["collections_ok"], true);

    let wrong_md5 = a0backup(
        &[
            "check",
            "--password",
            "Passw0rd",
            "--md5",
            "00000000000000000000000000000000",
            "backup.tar.gz.enc",
        ],
        w,
    );
    assert_eq!(wrong_md5.status.code(), Some(4), "{wrong_md5:?}");

    // Restore would refuse it: 5, with restore's own reason.
    std::fs::write(
        w.join("hostile.tar.gz"),
        gzip(&tar(&[file("../escape.bson", b"\x05\0\0\0\0")])),
    )
    .unwrap();
    let hostile = a0backup(&["check", "hostile.tar.gz"], w);
    assert_eq!(hostile.status.code(), Some(5), "{hostile:?}");
    assert!(String::from_utf8_lossy(&hostile.stderr).contains("path contains '..'"));

    // It would restore, but a document is cut: 6, naming the collection.
    let metadata = br#"{"options":{},"indexes":[],"collectionName":"users","type":"collection"}"#;
    std::fs::write(
        w.join("damaged.tar.gz"),
        gzip(&tar(&[
            file("dump/auth0/users.bson", b"\x05\0\0\0\0\x06\0\0\0\0"),
            file("dump/auth0/users.metadata.json", metadata),
        ])),
    )
    .unwrap();
    let damaged = a0backup(&["check", "damaged.tar.gz"], w);
    assert_eq!(damaged.status.code(), Some(6), "{damaged:?}");
    assert!(String::from_utf8_lossy(&damaged.stdout).contains("auth0.users"));

    let mut expected = before;
    expected.extend(["damaged.tar.gz".to_string(), "hostile.tar.gz".to_string()]);
    expected.sort();
    assert_eq!(common::dir_names(w), expected, "check wrote something");
}

/// Selective restore: one collection of the sample, exactly its two files, judged and published
/// as a full restore is; what was left out is counted.
#[test]
fn restore_of_one_collection_writes_exactly_its_files() {
    let work = tempfile::tempdir().unwrap();
    let w = work.path();
    let sample = common::data("sample-backup/backup-retrieve.tar.gz.enc");
    let manifest = common::sample_manifest();
    let out = a0backup(
        &[
            "restore",
            "--password",
            "Passw0rd",
            "--collection",
            "auth0.users",
            sample.to_str().unwrap(),
            "-C",
            "one",
        ],
        w,
    );
    assert_eq!(out.status.code(), Some(0), "{out:?}");
    let said = String::from_utf8(out.stderr).unwrap();
    assert!(said.contains("entries not selected"), "{said}");
    let mut files = Vec::new();
    let mut stack = vec![w.join("one")];
    while let Some(d) = stack.pop() {
        for e in std::fs::read_dir(&d).unwrap() {
            let p = e.unwrap().path();
            if p.is_dir() {
                stack.push(p);
            } else {
                let rel = p
                    .strip_prefix(w.join("one"))
                    .unwrap()
                    .to_string_lossy()
                    .into_owned();
                assert_eq!(
                    common::sha256_hex(&std::fs::read(&p).unwrap()),
                    manifest[&rel],
                    "{rel}"
                );
                files.push(rel);
            }
        }
    }
    files.sort();
    let expected: Vec<&String> = manifest
        .keys()
        .filter(|k| k.ends_with("auth0/users.bson") || k.ends_with("auth0/users.metadata.json"))
        .collect();
    assert_eq!(files.iter().collect::<Vec<_>>(), expected);

    // Excluding by pattern, and a bad collection name.
    let out = a0backup(
        &[
            "restore",
            "--password",
            "Passw0rd",
            "--exclude",
            "*.metadata.json",
            sample.to_str().unwrap(),
            "-C",
            "no-metadata",
        ],
        w,
    );
    assert_eq!(out.status.code(), Some(0), "{out:?}");
    let bad = a0backup(
        &[
            "restore",
            "--password",
            "Passw0rd",
            "--collection",
            "users",
            sample.to_str().unwrap(),
            "-C",
            "x",
        ],
        w,
    );
    assert_eq!(bad.status.code(), Some(2), "{bad:?}");
    assert!(!w.join("x").exists());
}

/// `list --collections` reads the headers only; its sizes are the bytes `check` validates in
/// full, collection by collection.
#[test]
fn list_collections_agrees_with_check() {
    let work = tempfile::tempdir().unwrap();
    let w = work.path();
    let sample = common::data("sample-backup/backup-retrieve.tar.gz.enc");
    let s = sample.to_str().unwrap();
    let listed = a0backup(
        &[
            "--json",
            "list",
            "--collections",
            "--password",
            "Passw0rd",
            s,
        ],
        w,
    );
    assert_eq!(listed.status.code(), Some(0), "{listed:?}");
    let rows: Vec<serde_json::Value> = String::from_utf8(listed.stdout)
        .unwrap()
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    let checked = a0backup(&["--json", "check", "--password", "Passw0rd", s], w);
    let report: serde_json::Value = serde_json::from_slice(&checked.stdout).unwrap();
    let collections = report["collections"].as_array().unwrap();
    assert_eq!(rows.len(), collections.len());
    for c in collections {
        let row = rows
            .iter()
            .find(|r| r["database"] == c["database"] && r["collection"] == c["collection"])
            .unwrap_or_else(|| panic!("{c} not listed"));
        assert_eq!(row["bson_bytes"], c["bytes"], "{c}");
    }
    let table = a0backup(&["list", "--collections", "--password", "Passw0rd", s], w);
    assert!(String::from_utf8(table.stdout)
        .unwrap()
        .contains("auth0.users"));
}
