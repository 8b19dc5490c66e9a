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

#[test]
fn an_md5_mismatch_says_nothing_was_written_and_what_to_do() {
    let work = tempfile::tempdir().unwrap();
    let d = work.path();
    std::fs::copy(sample(), d.join("B.enc")).unwrap();
    let zeros = "00000000000000000000000000000000";
    let actual = "eccdb928a3bab23f725f955b68ef66ff";
    let mismatch = format!("a0backup: md5 mismatch: expected {zeros}, got {actual}");
    let advice = format!(
        "(an incomplete download? download the backup again, or check that {zeros} is this \
         backup's md5, as `a0cli backup-status` reports it)\n"
    );
    for (args, wrote) in [
        (
            vec![
                "restore",
                "--password",
                PW,
                "--md5",
                zeros,
                "B.enc",
                "-C",
                "out",
            ],
            ": nothing was written into out ",
        ),
        (
            vec!["decrypt", "--password", PW, "--md5", zeros, "B.enc"],
            ": nothing was written to B ",
        ),
        (
            vec![
                "decrypt",
                "--password",
                PW,
                "--md5",
                zeros,
                "B.enc",
                "-o",
                "-",
            ],
            ": nothing was written to standard output ",
        ),
        (vec!["verify", "--md5", zeros, "B.enc"], " "),
        (
            vec!["check", "--password", PW, "--md5", zeros, "B.enc"],
            " ",
        ),
    ] {
        let o = a0backup(&args, d);
        assert_eq!(o.status.code(), Some(4), "{args:?}: {}", stderr(&o));
        assert_eq!(stderr(&o), format!("{mismatch}{wrote}{advice}"), "{args:?}");
        if args[0] != "check" {
            assert!(o.stdout.is_empty(), "{args:?}");
        }
        assert_eq!(
            common::dir_names(d),
            ["B.enc"],
            "{args:?}: nothing was written"
        );
    }
    // What restore and decrypt said is so: an existing DEST is as it was.
    std::fs::create_dir(d.join("out")).unwrap();
    std::fs::write(d.join("out/keep"), b"kept").unwrap();
    let o = a0backup(
        &[
            "restore",
            "--password",
            PW,
            "--md5",
            zeros,
            "--force",
            "B.enc",
            "-C",
            "out",
        ],
        d,
    );
    assert_eq!(o.status.code(), Some(4), "{}", stderr(&o));
    assert_eq!(common::dir_names(&d.join("out")), ["keep"]);
    std::fs::remove_dir_all(d.join("out")).unwrap();

    // Decrypting a pipe to standard output cannot take back what it wrote: it says so.
    let mut child = Command::new(env!("CARGO_BIN_EXE_a0backup"))
        .args(["decrypt", "--password", PW, "--md5", zeros, "-", "-o", "-"])
        .current_dir(d)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut pipe = child.stdin.take().unwrap();
    let backup = std::fs::read(d.join("B.enc")).unwrap();
    let feeder = std::thread::spawn(move || std::io::Write::write_all(&mut pipe, &backup));
    let o = child.wait_with_output().unwrap();
    feeder.join().unwrap().unwrap();
    assert_eq!(o.status.code(), Some(4), "{}", stderr(&o));
    assert_eq!(
        stderr(&o),
        format!(
            "{mismatch}: what was written to standard output is not the backup's: discard it \
             {advice}"
        )
    );

    // A download cut short, with --status: the mismatch is said first, and the question
    // whether the download is complete stays.
    let full = std::fs::read(d.join("B.enc")).unwrap();
    std::fs::write(d.join("cut.enc"), &full[..full.len() / 2]).unwrap();
    let status = data("sample-backup/backup-status.txt")
        .display()
        .to_string();
    for args in [
        vec![
            "restore",
            "--password",
            PW,
            "--status",
            &status,
            "cut.enc",
            "-C",
            "out",
        ],
        vec!["check", "--password", PW, "--status", &status, "cut.enc"],
    ] {
        let o = a0backup(&args, d);
        assert_eq!(o.status.code(), Some(4), "{args:?}: {}", stderr(&o));
        let err = stderr(&o);
        assert!(err.contains(&format!("expected {actual}, got ")), "{err}");
        assert!(
            err.contains("(an incomplete download? download the backup again, or check"),
            "{err}"
        );
    }
    assert_eq!(common::dir_names(d), ["B.enc", "cut.enc"]);
}

#[test]
fn a_password_files_trailing_blanks_are_named_with_a_wrong_password() {
    let work = tempfile::tempdir().unwrap();
    let d = work.path();
    std::fs::copy(sample(), d.join("B.enc")).unwrap();
    let wrong = "a0backup: probably wrong password: the decrypted data does not start with a gzip \
                 header (tried node)";
    for (line, blanks) in [
        ("Passw0rd  \n", "2 spaces, which are"),
        ("Passw0rd\t\r\n", "a tab, which is"),
        ("Passw0rd \t ", "2 spaces and a tab, which are"),
    ] {
        std::fs::write(d.join("pw.txt"), line).unwrap();
        let said =
            format!("{wrong} (the first line of pw.txt ends in {blanks} part of the password)\n");
        for args in [
            vec!["restore", "--password-file", "pw.txt", "B.enc", "-C", "out"],
            vec!["list", "--password-file", "pw.txt", "B.enc"],
            vec!["check", "--password-file", "pw.txt", "B.enc"],
            vec![
                "decrypt",
                "--password-file",
                "pw.txt",
                "--expect-gzip",
                "B.enc",
            ],
        ] {
            let o = a0backup(&args, d);
            assert_eq!(o.status.code(), Some(3), "{args:?}: {}", stderr(&o));
            assert_eq!(stderr(&o), said, "{args:?} {line:?}");
        }
        // A decrypt that does not require gzip warns, and says it too.
        let o = a0backup(
            &["decrypt", "--password-file", "pw.txt", "B.enc", "-o", "-"],
            d,
        );
        assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
        assert!(
            stderr(&o).contains(&format!(
                "or --expect-gzip, refuses such a result) (the first line of pw.txt ends in \
                 {blanks} part of the password)\n"
            )),
            "{}",
            stderr(&o)
        );
    }
    // Without blanks, no such words.
    std::fs::write(d.join("pw.txt"), "Passw0rd!\n").unwrap();
    let o = a0backup(&["list", "--password-file", "pw.txt", "B.enc"], d);
    assert_eq!(stderr(&o), format!("{wrong}\n"));
    assert_eq!(common::dir_names(d), ["B.enc", "pw.txt"]);

    // A password that does end in a space is read as it is.
    std::fs::create_dir_all(d.join("dump/auth0")).unwrap();
    std::fs::write(d.join("dump/auth0/users.bson"), [5, 0, 0, 0, 0]).unwrap();
    std::fs::write(d.join("pw.txt"), "spaced \n").unwrap();
    let o = a0backup(
        &[
            "pack",
            "--password-file",
            "pw.txt",
            "dump",
            "-o",
            "S.tar.gz.enc",
        ],
        d,
    );
    assert!(o.status.success(), "{}", stderr(&o));
    let o = a0backup(
        &[
            "restore",
            "--password-file",
            "pw.txt",
            "S.tar.gz.enc",
            "-C",
            "out",
        ],
        d,
    );
    assert!(o.status.success(), "{}", stderr(&o));
}

#[test]
fn dest_given_without_c_is_pointed_to_c() {
    let work = tempfile::tempdir().unwrap();
    let d = work.path();
    std::fs::copy(sample(), d.join("B.enc")).unwrap();
    let o = a0backup(&["restore", "--password", PW, "B.enc", "restored"], d);
    assert_eq!(o.status.code(), Some(2), "{}", stderr(&o));
    assert_eq!(
        stderr(&o),
        "error: unexpected argument 'restored' found\n\
         \n  tip: to restore into 'restored', give it with -C: `-C restored`\n\
         \nUsage: a0backup restore [OPTIONS] --directory <DEST> <INPUT>\n\
         \nFor more information, try '--help'.\n"
    );
    // An existing directory too, and unpack.
    std::fs::create_dir(d.join("old restore")).unwrap();
    let o = a0backup(&["unpack", "B.tar.gz", "old restore"], d);
    assert_eq!(o.status.code(), Some(2), "{}", stderr(&o));
    assert!(
        stderr(&o).contains(
            "\n  tip: to unpack into 'old restore', give it with -C: `-C 'old restore'`\n"
        ),
        "{}",
        stderr(&o)
    );
    // Where the operand is not a DEST (a file, a backup's name, -C given): clap's words alone.
    for args in [
        vec!["restore", "--password", PW, "restored", "B.enc"],
        vec!["restore", "--password", PW, "B.enc", "other.tar.gz.enc"],
        vec!["restore", "--password", PW, "B.enc", "x", "-C", "out"],
    ] {
        let o = a0backup(&args, d);
        assert_eq!(o.status.code(), Some(2), "{args:?}: {}", stderr(&o));
        assert!(
            stderr(&o).starts_with("error: unexpected argument"),
            "{args:?}"
        );
        assert!(!stderr(&o).contains("tip:"), "{args:?}: {}", stderr(&o));
    }
    assert_eq!(common::dir_names(d), ["B.enc", "old restore"]);
}

#[test]
fn a_mistyped_collection_gets_the_closest_name() {
    let work = tempfile::tempdir().unwrap();
    let d = work.path();
    let sample = sample();
    let missing = "selected but not in the archive (no file matches)";
    for (given, said) in [
        (
            "auth0.user",
            "collection auth0.user (did you mean auth0.users?)",
        ),
        (
            "auth0.usres",
            "collection auth0.usres (did you mean auth0.users?)",
        ),
        (
            "Auth0.logs",
            "collection Auth0.logs (did you mean auth0.logs?)",
        ),
        (
            "auth.clients",
            "collection auth.clients (did you mean auth0.clients?)",
        ),
        // Nothing close: nothing suggested.
        ("billing.invoices", "collection billing.invoices"),
    ] {
        let o = a0backup(
            &[
                "restore",
                "--password",
                PW,
                &sample,
                "-C",
                "out",
                "--collection",
                given,
            ],
            d,
        );
        assert_eq!(o.status.code(), Some(2), "{given}: {}", stderr(&o));
        assert_eq!(
            stderr(&o),
            format!("a0backup: invalid argument: {missing}: {said}\n")
        );
        let o = a0backup(
            &["check", "--password", PW, &sample, "--collection", given],
            d,
        );
        assert_eq!(o.status.code(), Some(2), "{given}: {}", stderr(&o));
        assert_eq!(
            stderr(&o),
            format!(
                "a0backup: restore would refuse this backup: invalid argument: {missing}: {said}\n"
            )
        );
    }
    // With an include and a right collection beside it: each missing one named, once.
    let o = a0backup(
        &[
            "restore",
            "--password",
            PW,
            &sample,
            "-C",
            "out",
            "--include",
            "nomatch*",
            "--collection",
            "auth0.users",
            "--collection",
            "auth0.user",
        ],
        d,
    );
    assert_eq!(
        stderr(&o),
        format!(
            "a0backup: invalid argument: {missing}: pattern \"nomatch*\", collection auth0.user \
             (did you mean auth0.users?)\n"
        )
    );
    assert!(common::dir_names(d).is_empty(), "nothing written");
}

#[test]
fn a_suggested_name_is_escaped_as_list_escapes_names() {
    use common::tar_build::{file, gzip, tar};
    let work = tempfile::tempdir().unwrap();
    let d = work.path();
    let archive = gzip(&tar(&[file("dump/auth0/us\x1bers.bson", &[5, 0, 0, 0, 0])]));
    std::fs::write(d.join("odd.tar.gz"), archive).unwrap();
    let o = a0backup(
        &[
            "unpack",
            "odd.tar.gz",
            "-C",
            "out",
            "--collection",
            "auth0.users",
        ],
        d,
    );
    assert_eq!(o.status.code(), Some(2), "{}", stderr(&o));
    assert_eq!(
        stderr(&o),
        "a0backup: invalid argument: selected but not in the archive (no file matches): \
         collection auth0.users (did you mean auth0.us\\033ers?)\n"
    );
    let listed = stdout(&a0backup(&["list", "odd.tar.gz"], d));
    assert!(listed.contains("dump/auth0/us\\033ers.bson"), "{listed}");
}

#[test]
fn dump_and_diff_of_a_mistyped_collection_get_the_closest_name() {
    let work = tempfile::tempdir().unwrap();
    let d = work.path();
    let sample = sample();
    for (given, said) in [
        ("auth0.user", " (did you mean auth0.users?)"),
        ("Auth0.logs", " (did you mean auth0.logs?)"),
        ("billing.invoices", ""),
    ] {
        let expected = format!("a0backup: the backup holds no collection {given}{said}\n");
        let dump = a0backup(&["dump", "--password", PW, &sample, given], d);
        assert_eq!(dump.status.code(), Some(2), "{given}: {}", stderr(&dump));
        assert_eq!(stderr(&dump), expected);
        assert!(dump.stdout.is_empty());
        let metadata = a0backup(&["dump", "--password", PW, &sample, given, "--metadata"], d);
        assert_eq!(metadata.status.code(), Some(2));
        assert_eq!(stderr(&metadata), expected);
        let diff = a0backup(
            &[
                "diff",
                "--password",
                PW,
                &sample,
                &sample,
                "--collection",
                given,
            ],
            d,
        );
        assert_eq!(diff.status.code(), Some(2), "{given}: {}", stderr(&diff));
        assert_eq!(stderr(&diff), expected);
    }
}
