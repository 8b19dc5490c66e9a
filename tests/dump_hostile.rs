//! dump, find and diff on what a red team brought (issue 24): a damaged `.metadata.json` is
//! check's verdict for dump and diff too; plain backups through pipes; a backup find could not
//! read is not a count; the filter's regular expressions are bounded in number; a diff's
//! spilled runs share one file handle; a diff of whole backups holds a bounded number of
//! collections; a document without `_id` is not `_id: null`.
#![cfg(feature = "cli")]

mod common;

use std::path::Path;
use std::process::{Command, Output};

use common::tar_build::{dir, file, gzip, tar};
use serde_json::Value;

fn a0backup(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_a0backup"))
        .args(args)
        .output()
        .expect("the binary runs")
}

/// `script` in bash, with `$A` the binary (for process substitution and ulimit).
fn bash(script: &str, cwd: &Path) -> Output {
    Command::new("bash")
        .args(["-c", script])
        .env("A", env!("CARGO_BIN_EXE_a0backup"))
        .current_dir(cwd)
        .output()
        .expect("bash runs")
}

fn text(b: &[u8]) -> String {
    String::from_utf8_lossy(b).into_owned()
}

fn users_bson() -> Vec<u8> {
    [
        bson::rawdoc! { "_id": 1, "n": "ann" },
        bson::rawdoc! { "_id": 2, "n": "bob" },
    ]
    .iter()
    .flat_map(|d| d.as_bytes().to_vec())
    .collect()
}

/// A plain backup of `auth0/users.bson` (two documents) and, when given, its metadata.
fn backup(metadata: Option<&[u8]>) -> Vec<u8> {
    let mut entries = vec![
        dir("dump/"),
        dir("dump/auth0/"),
        file("dump/auth0/users.bson", &users_bson()),
    ];
    if let Some(m) = metadata {
        entries.push(file("dump/auth0/users.metadata.json", m));
    }
    gzip(&tar(&entries))
}

#[test]
fn a_damaged_metadata_file_is_checks_verdict_for_dump_and_diff() {
    let t = tempfile::tempdir().unwrap();
    let good = t.path().join("good.tar.gz");
    std::fs::write(
        &good,
        backup(Some(br#"{"indexes":[],"collectionName":"users"}"#)),
    )
    .unwrap();
    let long_name = format!(r#"{{"indexes":[],"collectionName":"{}"}}"#, "u".repeat(300));
    let cases: [(&str, &[u8]); 3] = [
        (
            "raw-escape",
            b"{\"indexes\":[],\"collectionName\":\"us\x1b[31m\rers\"}",
        ),
        ("cut", br#"{"indexes":[{"key":{"_id":1},"na"#),
        ("long-name", long_name.as_bytes()),
    ];
    for (name, metadata) in cases {
        let path = t.path().join(format!("{name}.tar.gz"));
        std::fs::write(&path, backup(Some(metadata))).unwrap();
        let p = path.to_str().unwrap();
        let check = a0backup(&["check", p]);
        assert_eq!(
            check.status.code(),
            Some(6),
            "{name}: check calls it damaged"
        );
        let meta = a0backup(&["dump", p, "auth0.users", "--metadata"]);
        assert_eq!(
            meta.status.code(),
            check.status.code(),
            "{name}: {}",
            text(&meta.stderr)
        );
        assert!(meta.stdout.is_empty(), "{name}: nothing of it printed");
        let docs = a0backup(&["dump", p, "auth0.users"]);
        assert_eq!(
            docs.status.code(),
            check.status.code(),
            "{name}: {}",
            text(&docs.stderr)
        );
        assert_eq!(
            text(&docs.stdout).lines().count(),
            2,
            "{name}: the documents, then the damage"
        );
        for out in [&meta.stderr, &docs.stderr, &docs.stdout] {
            assert!(
                !out.contains(&0x1b) && !out.contains(&b'\r'),
                "{name}: escaped"
            );
        }
        let diff = a0backup(&["diff", good.to_str().unwrap(), p]);
        assert_eq!(
            diff.status.code(),
            check.status.code(),
            "{name}: {}",
            text(&diff.stderr)
        );
    }
}

#[test]
fn diff_and_find_read_a_plain_backup_from_a_pipe() {
    let t = tempfile::tempdir().unwrap();
    std::fs::write(t.path().join("b.tar.gz"), backup(None)).unwrap();
    let diff = bash(r#""$A" diff --json b.tar.gz <(cat b.tar.gz)"#, t.path());
    assert_eq!(diff.status.code(), Some(0), "{}", text(&diff.stderr));
    let row: Value = serde_json::from_str(text(&diff.stdout).lines().next().unwrap()).unwrap();
    assert_eq!(
        (row["unchanged"].as_u64(), row["added"].as_u64()),
        (Some(2), Some(0))
    );
    let find = bash(
        r#""$A" find --collection auth0.users --filter '{"n": "bob"}' <(cat b.tar.gz)"#,
        t.path(),
    );
    assert_eq!(find.status.code(), Some(0), "{}", text(&find.stderr));
    assert!(
        text(&find.stdout).trim_start().starts_with("1  /dev/fd/"),
        "{}",
        text(&find.stdout)
    );
}

#[test]
fn a_backup_find_could_not_read_is_not_a_count() {
    let t = tempfile::tempdir().unwrap();
    std::fs::write(t.path().join("b.tar.gz"), backup(None)).unwrap();
    std::fs::write(t.path().join("notes.txt"), b"not a backup\n").unwrap();
    let args = [
        "find",
        "--collection",
        "auth0.users",
        "--filter",
        "{}",
        "notes.txt",
        "b.tar.gz",
    ];
    let o = bash(
        &format!("\"$A\" {}", args.map(|a| format!("'{a}'")).join(" ")),
        t.path(),
    );
    assert_ne!(o.status.code(), Some(0));
    let lines: Vec<String> = text(&o.stdout)
        .lines()
        .map(|l| l.trim().to_string())
        .collect();
    assert_eq!(lines, ["error  notes.txt", "2  b.tar.gz"]);
    let json = bash(
        &format!("\"$A\" --json {}", args.map(|a| format!("'{a}'")).join(" ")),
        t.path(),
    );
    let first: Value = serde_json::from_str(text(&json.stdout).lines().next().unwrap()).unwrap();
    assert!(
        first["documents"].is_null() && first["present"].is_null(),
        "{first}"
    );
    assert!(first["error"].is_string());
}

#[test]
fn a_filter_holds_at_most_16_regular_expressions_and_a_top_level_not_is_explained() {
    let t = tempfile::tempdir().unwrap();
    let b = t.path().join("b.tar.gz");
    std::fs::write(&b, backup(None)).unwrap();
    let b = b.to_str().unwrap();
    let regexes = |n: usize| {
        let list: Vec<String> = (0..n)
            .map(|i| format!(r#"{{"$regex": "^x{i}"}}"#))
            .collect();
        format!(
            r#"{{"$or": [{}]}}"#,
            list.iter()
                .map(|r| format!(r#"{{"n": {r}}}"#))
                .collect::<Vec<_>>()
                .join(",")
        )
    };
    let ok = a0backup(&["dump", b, "auth0.users", "--filter", &regexes(16)]);
    assert_eq!(ok.status.code(), Some(0), "{}", text(&ok.stderr));
    let refused = a0backup(&["dump", b, "auth0.users", "--filter", &regexes(17)]);
    assert_eq!(refused.status.code(), Some(2));
    assert!(text(&refused.stderr).contains("17 regular expressions: a filter takes at most 16"));
    let not = a0backup(&[
        "dump",
        b,
        "auth0.users",
        "--filter",
        r#"{"$not": {"n": "ann"}}"#,
    ]);
    assert_eq!(not.status.code(), Some(2));
    assert!(
        text(&not.stderr).contains("$not applies to a field"),
        "{}",
        text(&not.stderr)
    );
}

#[test]
fn a_diff_merges_many_spilled_runs_with_few_file_handles() {
    let t = tempfile::tempdir().unwrap();
    // 300,000 documents at the least memory (1 MiB): about 60 runs a backup.
    let mut bson = Vec::with_capacity(300_000 * 20);
    for i in 0..300_000i32 {
        bson.extend_from_slice(bson::rawdoc! { "_id": i }.as_bytes());
    }
    let b = gzip(&tar(&[dir("d/"), file("d/c.bson", &bson)]));
    std::fs::write(t.path().join("b.tar.gz"), b).unwrap();
    let o = bash(
        r#"ulimit -n 24 && exec "$A" diff --json --memory 1 b.tar.gz b.tar.gz"#,
        t.path(),
    );
    assert_eq!(o.status.code(), Some(0), "{}", text(&o.stderr));
    let row: Value = serde_json::from_str(text(&o.stdout).lines().next().unwrap()).unwrap();
    assert_eq!(row["unchanged"].as_u64(), Some(300_000));
}

#[test]
fn a_diff_of_whole_backups_holds_at_most_10000_collections() {
    let t = tempfile::tempdir().unwrap();
    let doc = bson::rawdoc! { "_id": 1 };
    let mut entries = vec![dir("d/")];
    for i in 0..10_001 {
        entries.push(file(&format!("d/c{i}.bson"), doc.as_bytes()));
    }
    std::fs::write(t.path().join("b.tar.gz"), gzip(&tar(&entries))).unwrap();
    let whole = bash(r#""$A" diff b.tar.gz b.tar.gz"#, t.path());
    assert_eq!(whole.status.code(), Some(5), "{}", text(&whole.stderr));
    assert!(
        text(&whole.stderr).contains("collections in a diff of whole backups"),
        "{}",
        text(&whole.stderr)
    );
    let one = bash(
        r#""$A" diff --json --collection d.c10000 b.tar.gz b.tar.gz"#,
        t.path(),
    );
    assert_eq!(one.status.code(), Some(0), "{}", text(&one.stderr));
}

#[test]
fn a_document_without_id_is_not_id_null() {
    let t = tempfile::tempdir().unwrap();
    let old: Vec<u8> = bson::rawdoc! { "_id": bson::RawBson::Null, "v": 1 }
        .as_bytes()
        .to_vec();
    let new: Vec<u8> = [
        bson::rawdoc! { "_id": bson::RawBson::Null, "v": 1 },
        bson::rawdoc! { "v": 2 },
    ]
    .iter()
    .flat_map(|d| d.as_bytes().to_vec())
    .collect();
    for (name, bson) in [("old", &old), ("new", &new)] {
        let b = gzip(&tar(&[dir("d/"), file("d/c.bson", bson)]));
        std::fs::write(t.path().join(format!("{name}.tar.gz")), b).unwrap();
    }
    let text_out = bash(r#""$A" diff --ids old.tar.gz new.tar.gz"#, t.path());
    assert_eq!(
        text_out.status.code(),
        Some(0),
        "{}",
        text(&text_out.stderr)
    );
    assert_eq!(
        text(&text_out.stdout).lines().next(),
        Some("added d.c (no _id)")
    );
    let json = bash(r#""$A" diff --ids --json old.tar.gz new.tar.gz"#, t.path());
    let first: Value = serde_json::from_str(text(&json.stdout).lines().next().unwrap()).unwrap();
    assert_eq!(first["change"], "added");
    assert!(first.get("_id").is_none(), "{first}");
}

#[test]
fn a_standard_error_that_cannot_be_written_is_not_a_panic() {
    let t = tempfile::tempdir().unwrap();
    std::fs::write(t.path().join("b.tar.gz"), backup(None)).unwrap();
    for (cmd, code) in [
        (r#""$A" check b.tar.gz 2>/dev/full >/dev/null"#, 6), // no metadata: incomplete
        (
            r#""$A" dump b.tar.gz auth0.users 2>/dev/full >/dev/null"#,
            0,
        ),
        (r#""$A" dump b.tar.gz auth0.user 2>/dev/full"#, 2),
        (
            r#""$A" find --collection auth0.users --filter '{}' b.tar.gz 2>/dev/full >/dev/null"#,
            0,
        ),
        (r#""$A" diff b.tar.gz b.tar.gz 2>/dev/full >/dev/null"#, 0),
    ] {
        let o = bash(cmd, t.path());
        assert_eq!(o.status.code(), Some(code), "{cmd}");
    }
}
