//! What follows the end of an archive, judged alike by restore (`unpack`) and `check`: GNU
//! tar's zero padding never counts against `--max-size`; non-zero data after the end does,
//! and both warn of it in the same words. And `check` counts each unclean collection once.
#![cfg(feature = "cli")]

mod common;

use std::process::{Command, Output};

use common::tar_build::{dir, file, gzip, tar};

fn a0backup(args: &[&str], cwd: &std::path::Path) -> Output {
    Command::new(env!("CARGO_BIN_EXE_a0backup"))
        .args(args)
        .current_dir(cwd)
        .output()
        .expect("the binary runs")
}

fn stderr(o: &Output) -> String {
    String::from_utf8_lossy(&o.stderr).into_owned()
}

/// A 219-byte file, then the end of the archive, then `after`.
fn archive(after: &[u8]) -> Vec<u8> {
    let mut t = tar(&[dir("dump/"), file("dump/a.txt", &[b'x'; 219])]);
    t.extend_from_slice(after);
    gzip(&t)
}

#[test]
fn trailing_data_is_one_verdict_for_restore_and_check() {
    let w = tempfile::tempdir().unwrap();
    let d = w.path();
    // GNU tar and Python's tarfile pad to a 10240-byte record: zeros, never counted.
    let padded = archive(&vec![0u8; 10240 - 3 * 512 - 1024]);
    // 700 bytes that are not zero after the end (a hidden entry, garbage).
    let garbage = archive(&[b'g'; 700]);
    for (name, data, max, code, warning) in [
        ("padded", &padded, "219", 0, None),
        ("garbage", &garbage, "300", 5, None),
        (
            "garbage",
            &garbage,
            "1000",
            0,
            Some("700 non-zero bytes after the end of the archive were ignored"),
        ),
    ] {
        std::fs::write(d.join(format!("{name}.tar.gz")), data).unwrap();
        let input = format!("{name}.tar.gz");
        let dest = format!("out-{name}-{max}");
        let unpack = a0backup(&["unpack", &input, "-C", &dest, "--max-size", max], d);
        let check = a0backup(&["check", &input, "--max-size", max], d);
        assert_eq!(
            unpack.status.code(),
            Some(code),
            "unpack {name} {max}: {}",
            stderr(&unpack)
        );
        assert_eq!(
            check.status.code(),
            Some(code),
            "check {name} {max}: {}",
            stderr(&check)
        );
        if code == 5 {
            for o in [&unpack, &check] {
                assert!(
                    stderr(o).contains("bytes after the end of the archive"),
                    "{}",
                    stderr(o)
                );
            }
        }
        if let Some(w) = warning {
            let line = format!("a0backup: warning: {w}\n");
            assert!(stderr(&unpack).contains(&line), "{}", stderr(&unpack));
            assert!(stderr(&check).contains(&line), "{}", stderr(&check));
        }
    }
}

#[test]
fn a_collection_both_damaged_and_incomplete_counts_once() {
    let w = tempfile::tempdir().unwrap();
    let d = w.path();
    // A metadata file that is not JSON, without its .bson: damaged and incomplete at once.
    let data = gzip(&tar(&[
        dir("dump/"),
        dir("dump/db/"),
        file("dump/db/c.metadata.json", b"{"),
    ]));
    std::fs::write(d.join("b.tar.gz"), data).unwrap();
    let check = a0backup(&["check", "b.tar.gz"], d);
    assert_eq!(check.status.code(), Some(6), "{}", stderr(&check));
    assert!(
        stderr(&check).contains("but 1 of 1 collections are damaged or incomplete"),
        "{}",
        stderr(&check)
    );
}
