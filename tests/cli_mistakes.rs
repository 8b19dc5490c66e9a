//! A new admin's mistakes, from a second walk-through of issue 13: a DEST that holds the backup
//! or the working directory, an archive packed into itself, an output that is a directory,
//! empty passwords, names in capitals, a selection that matches nothing. Each is refused with
//! an answer that names the mistake, and nothing is lost or left behind.
#![cfg(feature = "cli")]

mod common;

use std::path::Path;
use std::process::{Command, Stdio};

use common::{data, have};

const PW: &str = "Passw0rd";

/// Runs the command in `cwd` without input; its exit code and stderr.
fn a0backup(args: &[&str], cwd: &Path) -> (i32, String) {
    let o = Command::new(env!("CARGO_BIN_EXE_a0backup"))
        .args(args)
        .current_dir(cwd)
        .stdin(Stdio::null())
        .output()
        .unwrap();
    let err = String::from_utf8_lossy(&o.stderr).into_owned();
    (o.status.code().unwrap_or(-1), err)
}

fn sample() -> std::path::PathBuf {
    data("sample-backup/backup-retrieve.tar.gz.enc")
}

#[test]
fn a_dest_holding_the_backup_or_the_working_directory_is_never_replaced() {
    let work = tempfile::tempdir().unwrap();
    let dl = work.path().join("downloads");
    std::fs::create_dir_all(dl.join("sub")).unwrap();
    std::fs::copy(sample(), dl.join("backup.tar.gz.enc")).unwrap();
    std::fs::write(dl.join("notes.txt"), b"keep me").unwrap();
    let before = common::dir_names(&dl);
    let cases: [(&[&str], &Path, &str); 5] = [
        // `-C .` where the backup is: with and without --force.
        (
            &[
                "restore",
                "--password",
                PW,
                "backup.tar.gz.enc",
                "-C",
                ".",
                "--force",
            ],
            &dl,
            ". holds backup.tar.gz.enc",
        ),
        (
            &["restore", "--password", PW, "backup.tar.gz.enc", "-C", "."],
            &dl,
            ". holds backup.tar.gz.enc",
        ),
        // The backup elsewhere, DEST the working directory's parent.
        (
            &[
                "restore",
                "--password",
                PW,
                &sample().display().to_string(),
                "-C",
                "..",
                "--force",
            ],
            &dl.join("sub"),
            "downloads holds the current directory",
        ),
        // DEST named from outside, holding the backup.
        (
            &[
                "restore",
                "--password",
                PW,
                "downloads/backup.tar.gz.enc",
                "-C",
                "downloads",
                "-f",
            ],
            work.path(),
            "downloads holds downloads/backup.tar.gz.enc",
        ),
        (
            &[
                "unpack",
                "--status",
                "downloads/notes.txt",
                "x.tar.gz",
                "-C",
                "downloads",
                "-f",
            ],
            work.path(),
            "downloads holds downloads/notes.txt",
        ),
    ];
    for (args, cwd, said) in cases {
        let (code, err) = a0backup(args, cwd);
        assert_eq!(code, 2, "{args:?}: {err}");
        assert!(err.contains(said), "{args:?}: {err}");
        assert!(
            !err.contains("--force"),
            "{args:?}: no hint to force it: {err}"
        );
        assert_eq!(
            common::dir_names(&dl),
            before,
            "{args:?}: nothing removed or added"
        );
        assert_eq!(
            common::dir_names(work.path()),
            ["downloads"],
            "{args:?}: no leftovers"
        );
    }

    // The library refuses the same for its callers (C, Node, Python go through it).
    let err = a0backup::restore::restore_file(
        &dl.join("backup.tar.gz.enc"),
        &dl,
        Some(&a0backup::Password::from(PW)),
        a0backup::restore::RestoreOptions::new().replace(true),
    )
    .unwrap_err();
    assert!(
        matches!(err, a0backup::Error::InvalidArgument(_)),
        "{err:?}"
    );
    assert_eq!(common::dir_names(&dl), before);
}

#[test]
fn pack_leaves_its_own_output_out_of_the_archive() {
    let oracle = have("tar");
    let work = tempfile::tempdir().unwrap();
    let dump = work.path().join("dump");
    std::fs::create_dir_all(dump.join("auth0")).unwrap();
    std::fs::write(dump.join("auth0/users.bson"), b"\x05\0\0\0\0").unwrap();
    for round in ["first", "again, replacing the archive"] {
        let (code, err) = a0backup(
            &["pack", "dump", "-o", "dump/backup.tar.gz", "--force"],
            work.path(),
        );
        assert_eq!(code, 0, "{round}: {err}");
        if !oracle {
            continue;
        }
        let listed = Command::new("tar")
            .args(["tzf", "dump/backup.tar.gz"])
            .current_dir(work.path())
            .output()
            .unwrap();
        assert!(listed.status.success(), "{round}");
        let mut entries: Vec<String> = String::from_utf8(listed.stdout)
            .unwrap()
            .lines()
            .map(str::to_string)
            .collect();
        entries.sort();
        assert_eq!(
            entries,
            ["dump", "dump/auth0", "dump/auth0/users.bson"],
            "{round}: GNU tar lists no archive inside the archive"
        );
    }
}

#[test]
fn an_output_that_is_a_directory_is_named_as_one() {
    let work = tempfile::tempdir().unwrap();
    let d = work.path();
    std::fs::create_dir_all(d.join("dump/auth0")).unwrap();
    std::fs::create_dir(d.join("out")).unwrap();
    let sample = sample().display().to_string();
    for force in [false, true] {
        for args in [
            vec!["pack", "dump", "-o", "out"],
            vec!["decrypt", "--password", PW, &sample, "-o", "out"],
        ] {
            let mut args = args.clone();
            if force {
                args.push("--force");
            }
            let (code, err) = a0backup(&args, d);
            assert_eq!(code, 1, "{args:?}: {err}");
            assert!(err.contains("out: is a directory"), "{args:?}: {err}");
            assert!(!err.contains("--force"), "{args:?}: {err}");
            assert!(common::dir_names(&d.join("out")).is_empty(), "{args:?}");
        }
    }
    // Swapped arguments name the missing directory first, not the existing output.
    let (code, err) = a0backup(&["pack", "backup.tar.gz.enc", "-o", "dump"], d);
    assert_eq!(code, 1, "{err}");
    assert!(
        err.contains("backup.tar.gz.enc: No such file or directory"),
        "{err}"
    );
}

#[test]
fn an_empty_password_is_refused_from_every_source() {
    let work = tempfile::tempdir().unwrap();
    let d = work.path();
    std::fs::write(d.join("empty.txt"), b"\n").unwrap();
    std::fs::write(d.join("plain.tar.gz"), b"x").unwrap();
    let sample = sample().display().to_string();
    for (args, from) in [
        (
            vec!["encrypt", "--password", "", "plain.tar.gz", "-o", "x.enc"],
            "(--password)",
        ),
        (
            vec![
                "encrypt",
                "--password-file",
                "empty.txt",
                "plain.tar.gz",
                "-o",
                "x.enc",
            ],
            "(the first line of empty.txt)",
        ),
        (
            vec![
                "encrypt",
                "--password-env",
                "A0B_EMPTY",
                "plain.tar.gz",
                "-o",
                "x.enc",
            ],
            "(environment variable A0B_EMPTY)",
        ),
        (
            vec![
                "decrypt",
                "--password-file",
                "empty.txt",
                &sample,
                "-o",
                "x.tar.gz",
            ],
            "(the first line of empty.txt)",
        ),
    ] {
        let o = Command::new(env!("CARGO_BIN_EXE_a0backup"))
            .args(&args)
            .current_dir(d)
            .env("A0B_EMPTY", "")
            .stdin(Stdio::null())
            .output()
            .unwrap();
        let err = String::from_utf8_lossy(&o.stderr);
        assert_eq!(o.status.code(), Some(2), "{args:?}: {err}");
        assert!(
            err.contains(&format!("the password is empty {from}")),
            "{err}"
        );
        assert_eq!(
            common::dir_names(d),
            ["empty.txt", "plain.tar.gz"],
            "{args:?}"
        );
    }
}

#[test]
fn names_in_capitals_are_read_like_lower_case_ones() {
    let work = tempfile::tempdir().unwrap();
    let d = work.path();
    std::fs::copy(sample(), d.join("BACKUP.TAR.GZ.ENC")).unwrap();
    // A wrong password with a gzip name in capitals is refused, nothing written.
    let (code, err) = a0backup(
        &[
            "decrypt",
            "--password",
            "wrong",
            "BACKUP.TAR.GZ.ENC",
            "-o",
            "OUT.TGZ",
        ],
        d,
    );
    assert_eq!(code, 3, "{err}");
    let (code, err) = a0backup(&["decrypt", "--password", "wrong", "BACKUP.TAR.GZ.ENC"], d);
    assert_eq!(code, 3, "{err}");
    assert_eq!(common::dir_names(d), ["BACKUP.TAR.GZ.ENC"]);
    // The right one writes the name without .ENC.
    let (code, err) = a0backup(&["decrypt", "--password", PW, "BACKUP.TAR.GZ.ENC"], d);
    assert_eq!(code, 0, "{err}");
    assert_eq!(common::dir_names(d), ["BACKUP.TAR.GZ", "BACKUP.TAR.GZ.ENC"]);
}

#[test]
fn a_selection_that_matches_nothing_fails_and_writes_nothing() {
    let work = tempfile::tempdir().unwrap();
    let d = work.path();
    let sample = sample().display().to_string();
    let restore = ["restore", "--password", PW, &sample, "-C", "out"];
    for (extra, named, not_named) in [
        (
            vec!["--collection", "auth0.nosuch"],
            "collection auth0.nosuch",
            "",
        ),
        (
            vec![
                "--collection",
                "auth0.users",
                "--collection",
                "auth0.nosuch",
            ],
            "collection auth0.nosuch",
            "auth0.users",
        ),
        (vec!["--include", "nomatch*"], "pattern \"nomatch*\"", ""),
    ] {
        let args: Vec<&str> = restore.iter().copied().chain(extra.clone()).collect();
        let (code, err) = a0backup(&args, d);
        assert_eq!(code, 2, "{extra:?}: {err}");
        assert!(err.contains("not in the archive"), "{extra:?}: {err}");
        assert!(err.contains(named), "{extra:?}: {err}");
        assert!(not_named.is_empty() || !err.contains(not_named), "{err}");
        assert!(
            common::dir_names(d).is_empty(),
            "{extra:?}: nothing written or left"
        );

        let check: Vec<&str> = ["check", "--password", PW, &sample]
            .into_iter()
            .chain(extra.clone())
            .collect();
        // Check ends as restore does: the same code.
        let (code, err) = a0backup(&check, d);
        assert_eq!(code, 2, "check {extra:?}: {err}");
        assert!(err.contains(named), "check {extra:?}: {err}");
    }
    // The control: the same options with a real collection restore it.
    let args: Vec<&str> = restore
        .iter()
        .copied()
        .chain(["--collection", "auth0.users"])
        .collect();
    let (code, err) = a0backup(&args, d);
    assert_eq!(code, 0, "{err}");
}

#[test]
fn a_plain_tar_gz_given_to_decrypt_is_named_as_one() {
    let work = tempfile::tempdir().unwrap();
    let d = work.path();
    let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
    std::io::Write::write_all(&mut gz, &[0u8; 1024]).unwrap();
    let gz = gz.finish().unwrap();
    std::fs::write(d.join("plain.tar.gz"), &gz).unwrap();
    std::fs::write(d.join("plain.tar.gz.enc"), &gz).unwrap();
    // No password: no prompt, no "looks encrypted".
    let (code, err) = a0backup(&["decrypt", "plain.tar.gz", "-o", "out"], d);
    assert_eq!(code, 2, "{err}");
    assert!(
        err.contains("plain.tar.gz is a plain .tar.gz, not encrypted"),
        "{err}"
    );
    assert!(err.contains("a0backup unpack"), "{err}");
    // With one: a wrong password, and what the input looks like.
    for output in ["out.tar.gz", "-"] {
        let (code, err) = a0backup(
            &[
                "decrypt",
                "--password",
                PW,
                "plain.tar.gz.enc",
                "-o",
                output,
            ],
            d,
        );
        assert_eq!(code, 3, "{err}");
        assert!(
            err.contains("plain.tar.gz.enc begins like a plain .tar.gz"),
            "{err}"
        );
    }
    assert_eq!(common::dir_names(d), ["plain.tar.gz", "plain.tar.gz.enc"]);
}

#[test]
fn an_md5_given_to_status_points_to_md5() {
    let work = tempfile::tempdir().unwrap();
    let md5 = "eccdb928a3bab23f725f955b68ef66ff";
    let sample = sample().display().to_string();
    let (code, err) = a0backup(&["verify", "--status", md5, &sample], work.path());
    assert_eq!(code, 1, "{err}");
    assert!(
        err.contains(&format!("{md5}: No such file or directory")),
        "{err}"
    );
    assert!(err.contains("goes with --md5"), "{err}");
}

#[test]
fn a_cut_off_download_is_named_as_one() {
    let work = tempfile::tempdir().unwrap();
    let d = work.path();
    let full = std::fs::read(sample()).unwrap();
    std::fs::write(d.join("cut.tar.gz.enc"), &full[..full.len() / 2]).unwrap();
    for args in [
        vec!["restore", "--password", PW, "cut.tar.gz.enc", "-C", "out"],
        vec!["check", "--password", PW, "cut.tar.gz.enc"],
        vec!["list", "--password", PW, "cut.tar.gz.enc"],
    ] {
        let (code, err) = a0backup(&args, d);
        assert_eq!(code, 1, "{args:?}: {err}");
        assert!(err.contains("truncated"), "{args:?}: {err}");
        assert!(err.contains("an incomplete download?"), "{args:?}: {err}");
    }
    // With the md5, the mismatch says it first.
    let (code, err) = a0backup(
        &[
            "restore",
            "--password",
            PW,
            "--md5",
            "eccdb928a3bab23f725f955b68ef66ff",
            "cut.tar.gz.enc",
            "-C",
            "out",
        ],
        d,
    );
    assert_eq!(code, 4, "{err}");
    assert_eq!(common::dir_names(d), ["cut.tar.gz.enc"]);
}
