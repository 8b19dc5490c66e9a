//! The command's answers as an appliance admin meets them (issue 13): hints that name the
//! command's own options, passwords and status records from stdin, a wrong password that never
//! passes silently, and one line on stderr saying what each success wrote and checked.
#![cfg(feature = "cli")]

mod common;

use std::io::Write;
use std::path::Path;
use std::process::{Command, Output, Stdio};

use common::data;

const PW: &str = "Passw0rd";
const SAMPLE_MD5: &str = "eccdb928a3bab23f725f955b68ef66ff";

fn status() -> String {
    data("sample-backup/backup-status.txt")
        .display()
        .to_string()
}

fn sample() -> String {
    data("sample-backup/backup-retrieve.tar.gz.enc")
        .display()
        .to_string()
}

/// Runs the command in `cwd`, with `stdin` as its standard input (empty when `None`).
fn run(args: &[&str], cwd: &Path, stdin: Option<&[u8]>) -> Output {
    let mut child = Command::new(env!("CARGO_BIN_EXE_a0backup"))
        .args(args)
        .current_dir(cwd)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("the binary runs");
    let mut input = child.stdin.take().unwrap();
    let data = stdin.unwrap_or_default().to_vec();
    // A writer thread, so a command that stops reading early cannot block the test.
    let feeder = std::thread::spawn(move || {
        let _ = input.write_all(&data);
    });
    let out = child.wait_with_output().unwrap();
    feeder.join().unwrap();
    out
}

fn a0backup(args: &[&str], cwd: &Path) -> Output {
    run(args, cwd, None)
}

fn stderr(o: &Output) -> String {
    String::from_utf8_lossy(&o.stderr).into_owned()
}

#[test]
fn hints_name_the_commands_own_options() {
    use common::tar_build::{dir, file, gzip, symlink, tar};
    let work = tempfile::tempdir().unwrap();
    let d = work.path();

    // An existing output: --force, not the library's force/overwrite.
    std::fs::write(d.join("out.tar.gz"), b"old").unwrap();
    let o = a0backup(
        &["decrypt", "--password", PW, &sample(), "-o", "out.tar.gz"],
        d,
    );
    assert_eq!(o.status.code(), Some(1), "{}", stderr(&o));
    assert!(stderr(&o).contains("out.tar.gz already exists (give --force to replace it)"));
    assert!(!stderr(&o).contains("overwrite"), "{}", stderr(&o));
    std::fs::create_dir(d.join("full")).unwrap();
    std::fs::write(d.join("full/x"), b"x").unwrap();
    let o = a0backup(&["restore", "--password", PW, &sample(), "-C", "full"], d);
    assert_eq!(o.status.code(), Some(1), "{}", stderr(&o));
    assert!(
        stderr(&o).contains("(give --force to replace it)"),
        "{}",
        stderr(&o)
    );

    // Links refused by default name the option that allows them.
    let t = tar(&[
        dir("t/"),
        file("t/a", b"a"),
        symlink("t/l", "a"),
        common::tar_build::entry(b"t/h", b'1', b"", 0o644, b"t/a"),
    ]);
    std::fs::write(d.join("links.tar.gz"), gzip(&t)).unwrap();
    let o = a0backup(&["unpack", "links.tar.gz", "-C", "u"], d);
    assert_eq!(o.status.code(), Some(5), "{}", stderr(&o));
    assert!(
        stderr(&o).contains("give --allow-symlinks"),
        "{}",
        stderr(&o)
    );
    let o = a0backup(
        &["unpack", "--allow-symlinks", "links.tar.gz", "-C", "u"],
        d,
    );
    assert_eq!(o.status.code(), Some(5), "{}", stderr(&o));
    assert!(
        stderr(&o).contains("give --allow-hardlinks"),
        "{}",
        stderr(&o)
    );
    assert!(!stderr(&o).contains("opt in"), "{}", stderr(&o));
    // And so does check, saying why restore would refuse the archive.
    let o = a0backup(&["check", "links.tar.gz"], d);
    assert_eq!(o.status.code(), Some(5), "{}", stderr(&o));
    assert!(
        stderr(&o).contains("restore would refuse this backup: unsafe archive entry \"t/l\": symlinks are not allowed (give --allow-symlinks"),
        "{}",
        stderr(&o)
    );
    assert!(!stderr(&o).contains("opt in"), "{}", stderr(&o));

    // Limits name their option.
    for (limit, option) in [
        (["--max-entries", "2"], "--max-entries"),
        (["--max-size", "1000"], "--max-size"),
        (["--max-path-len", "8"], "--max-path-len"),
    ] {
        let mut args = vec!["restore", "--password", PW];
        args.extend_from_slice(&limit);
        let s = sample();
        args.extend_from_slice(&[&s, "-C", "r"]);
        let o = a0backup(&args, d);
        assert_eq!(o.status.code(), Some(5), "{}", stderr(&o));
        assert!(
            stderr(&o).contains(&format!("raise it with {option}")),
            "{}",
            stderr(&o)
        );
    }

    // A link target longer than --max-path-len (a GNU long-link record) names it too.
    let long_link = tar(&[
        common::tar_build::gnu_long(b'K', &[b'a'; 40]),
        symlink("k", "a"),
    ]);
    std::fs::write(d.join("long-link.tar.gz"), gzip(&long_link)).unwrap();
    let o = a0backup(
        &[
            "unpack",
            "--allow-symlinks",
            "--max-path-len",
            "8",
            "long-link.tar.gz",
            "-C",
            "ll",
        ],
        d,
    );
    assert_eq!(o.status.code(), Some(5), "{}", stderr(&o));
    assert!(
        stderr(&o).contains("link target length (limit 8) (raise it with --max-path-len"),
        "{}",
        stderr(&o)
    );

    // A salted file whose key derivation cannot be told: --format, by name.
    let e = a0backup(
        &[
            "encrypt",
            "--password",
            PW,
            "--format",
            "openssl-md5",
            "links.tar.gz",
            "-o",
            "salted.bin",
        ],
        d,
    );
    assert!(e.status.success(), "{}", stderr(&e));
    let o = a0backup(
        &["decrypt", "--password", PW, "salted.bin", "-o", "plain.bin"],
        d,
    );
    assert_eq!(o.status.code(), Some(2), "{}", stderr(&o));
    assert!(
        stderr(&o).contains("give --format openssl-md5 or --format openssl-pbkdf2"),
        "{}",
        stderr(&o)
    );
}

#[test]
fn status_and_password_from_standard_input_but_not_both() {
    let work = tempfile::tempdir().unwrap();
    let d = work.path();
    let status_text = std::fs::read(status()).unwrap();

    // `a0cli -t NODE backup-status | a0backup restore --status - ...`
    let o = run(
        &[
            "restore",
            "--password",
            PW,
            "--status",
            "-",
            &sample(),
            "-C",
            "r",
        ],
        d,
        Some(&status_text),
    );
    assert!(o.status.success(), "{}", stderr(&o));
    assert!(d.join("r/dump/auth0/users.bson").is_file());
    let wrong =
        br#"{"message": "Backup found", "arguments": {"md5": "0123456789abcdef0123456789abcdef"}}"#;
    let o = run(
        &[
            "restore",
            "--password",
            PW,
            "--status",
            "-",
            &sample(),
            "-C",
            "r2",
        ],
        d,
        Some(wrong),
    );
    assert_eq!(o.status.code(), Some(4), "{}", stderr(&o));
    assert!(!d.join("r2").exists());
    let o = run(
        &["verify", "--status", "-", &sample()],
        d,
        Some(&status_text),
    );
    assert!(o.status.success(), "{}", stderr(&o));
    // A malformed status on stdin says where it came from.
    let o = run(
        &["verify", "--status", "-", &sample()],
        d,
        Some(b"Backup found, md5 is abc"),
    );
    assert_eq!(o.status.code(), Some(1), "{}", stderr(&o));
    assert!(
        stderr(&o).contains("--status standard input: malformed backup status"),
        "{}",
        stderr(&o)
    );
    // A malformed status file gives its position once: the `x` on line 3 of the file.
    let bad = "{\n \"arguments\": {\n  \"md5\": 12x\n }\n}\n";
    let column = bad.lines().nth(2).unwrap().find('x').unwrap() + 1;
    std::fs::write(d.join("bad-status.txt"), bad).unwrap();
    let o = run(
        &["verify", "--status", "bad-status.txt", &sample()],
        d,
        None,
    );
    assert_eq!(o.status.code(), Some(1), "{}", stderr(&o));
    let said = stderr(&o);
    assert!(
        said.contains(&format!(
            "--status bad-status.txt: malformed backup status: not JSON (line 3, column {column}: "
        )),
        "{said}"
    );
    assert_eq!(said.matches("line").count(), 1, "{said}");
    assert_eq!(said.matches("column").count(), 1, "{said}");

    // The password's first line from stdin.
    let o = run(
        &[
            "decrypt",
            "--password-file",
            "-",
            &sample(),
            "-o",
            "out.tar.gz",
        ],
        d,
        Some(b"Passw0rd\nnot this line\n"),
    );
    assert!(o.status.success(), "{}", stderr(&o));
    assert_eq!(
        std::fs::read(d.join("out.tar.gz")).unwrap()[..2],
        [0x1f, 0x8b]
    );

    // Standard input feeds one of them only; nothing is read or written.
    let sample_bytes = std::fs::read(sample()).unwrap();
    for (args, input) in [
        (
            vec![
                "restore",
                "--password-file",
                "-",
                "--status",
                "-",
                &sample(),
                "-C",
                "r3",
            ],
            &status_text[..],
        ),
        (
            vec![
                "restore",
                "--password",
                PW,
                "--status",
                "-",
                "-",
                "-C",
                "r3",
            ],
            &sample_bytes[..],
        ),
        (
            vec!["decrypt", "--password-file", "-", "-", "-o", "x.tar.gz"],
            &sample_bytes[..],
        ),
        (vec!["list", "--password-file", "-", "-"], &sample_bytes[..]),
        (vec!["verify", "--status", "-", "-"], &sample_bytes[..]),
    ] {
        let o = run(&args, d, Some(input));
        assert_eq!(o.status.code(), Some(2), "{args:?}: {}", stderr(&o));
        assert!(
            stderr(&o).contains("standard input can feed only one of"),
            "{args:?}: {}",
            stderr(&o)
        );
        assert_eq!(stderr(&o).lines().count(), 1, "{}", stderr(&o));
    }
    assert!(!d.join("r3").exists() && !d.join("x.tar.gz").exists());
}

#[test]
fn encrypted_inputs_without_a_password_are_named_and_unpack_points_to_restore() {
    use common::tar_build::{file, gzip, tar};
    let work = tempfile::tempdir().unwrap();
    let d = work.path();
    std::fs::write(d.join("plain.tar.gz"), gzip(&tar(&[file("a", b"a")]))).unwrap();
    // The same bytes three ways: the appliance's name, an openssl Salted__ file under a
    // neutral name, and the appliance's (headerless) format under a neutral name.
    std::fs::copy(sample(), d.join("backup.tar.gz.enc")).unwrap();
    for (format, name) in [("openssl-pbkdf2", "salted.bin"), ("node", "node.bin")] {
        let o = a0backup(
            &[
                "encrypt",
                "--password",
                PW,
                "--format",
                format,
                "plain.tar.gz",
                "-o",
                name,
            ],
            d,
        );
        assert!(o.status.success(), "{}", stderr(&o));
    }

    // list, without a terminal: a usage error naming the options (no "wrong password").
    for input in ["backup.tar.gz.enc", "salted.bin"] {
        let o = a0backup(&["list", input], d);
        assert_eq!(o.status.code(), Some(2), "{input}: {}", stderr(&o));
        assert!(
            stderr(&o).contains(&format!(
                "{input} looks encrypted: give --password-file, --password-env or --password"
            )),
            "{}",
            stderr(&o)
        );
        assert!(!stderr(&o).contains("wrong password"), "{}", stderr(&o));
    }
    // From stdin, a Salted__ header is enough to tell.
    let salted = std::fs::read(d.join("salted.bin")).unwrap();
    let o = run(&["list", "-"], d, Some(&salted));
    assert_eq!(o.status.code(), Some(2), "{}", stderr(&o));
    assert!(
        stderr(&o).contains("standard input looks encrypted"),
        "{}",
        stderr(&o)
    );
    // A headerless file under a neutral name cannot be told from damage: both ways are named.
    let o = a0backup(&["list", "node.bin"], d);
    assert_eq!(o.status.code(), Some(1), "{}", stderr(&o));
    assert!(
        stderr(&o).contains("node.bin is not a .tar.gz"),
        "{}",
        stderr(&o)
    );
    assert!(
        stderr(&o).contains("give --password-file"),
        "{}",
        stderr(&o)
    );
    // With the password it lists, whatever the name.
    let o = a0backup(&["list", "--password", PW, "node.bin"], d);
    assert!(o.status.success(), "{}", stderr(&o));
    assert!(String::from_utf8_lossy(&o.stdout).ends_with(" a\n"));

    // unpack points to restore.
    for input in ["backup.tar.gz.enc", "salted.bin", "node.bin"] {
        let o = a0backup(&["unpack", input, "-C", "u"], d);
        assert!(
            stderr(&o).contains("a0backup restore"),
            "{input}: {}",
            stderr(&o)
        );
        assert_ne!(o.status.code(), Some(0));
        assert!(!d.join("u").exists());
    }
    let o = a0backup(&["unpack", "backup.tar.gz.enc", "-C", "u"], d);
    assert_eq!(o.status.code(), Some(2), "{}", stderr(&o));

    // restore of a plain .tar.gz, without a password: unpack is the command for it.
    let o = a0backup(&["restore", "plain.tar.gz", "-C", "u"], d);
    assert_eq!(o.status.code(), Some(2), "{}", stderr(&o));
    assert!(stderr(&o).contains("a0backup unpack"), "{}", stderr(&o));
    // decrypt and restore without a password or a terminal: the same usage error as list.
    let o = a0backup(&["restore", "backup.tar.gz.enc", "-C", "u"], d);
    assert_eq!(o.status.code(), Some(2), "{}", stderr(&o));
    assert!(stderr(&o).contains("backup.tar.gz.enc looks encrypted: give --password-file"));
    let o = a0backup(&["decrypt", "backup.tar.gz.enc"], d);
    assert_eq!(o.status.code(), Some(2), "{}", stderr(&o));
    assert!(stderr(&o).contains("backup.tar.gz.enc looks encrypted: give --password-file"));
    assert!(!d.join("u").exists() && !d.join("backup.tar.gz").exists());
}

#[test]
fn a_missing_parent_is_reported_by_the_outputs_own_path() {
    let work = tempfile::tempdir().unwrap();
    let d = work.path();
    for (args, output) in [
        (
            vec!["restore", "--password", PW, &sample(), "-C", "gone/dest"],
            "gone/dest",
        ),
        (
            vec![
                "decrypt",
                "--password",
                PW,
                &sample(),
                "-o",
                "gone/out.tar.gz",
            ],
            "gone/out.tar.gz",
        ),
        (
            vec!["pack", "--password", PW, ".", "-o", "gone/p.tar.gz.enc"],
            "gone/p.tar.gz.enc",
        ),
    ] {
        let o = a0backup(&args, d);
        assert_eq!(o.status.code(), Some(1), "{args:?}: {}", stderr(&o));
        let err = stderr(&o);
        assert!(
            err.starts_with(&format!(
                "a0backup: {output}: its parent gone: No such file"
            )),
            "{err}"
        );
        assert!(!err.contains("a0backup-"), "{err}");
    }
    // A parent that is a file, likewise.
    std::fs::write(d.join("plain.txt"), b"x").unwrap();
    for args in [
        vec![
            "restore",
            "--password",
            PW,
            &sample(),
            "-C",
            "plain.txt/dest",
        ],
        vec![
            "decrypt",
            "--password",
            PW,
            &sample(),
            "-o",
            "plain.txt/o.tar.gz",
        ],
    ] {
        let o = a0backup(&args, d);
        let err = stderr(&o);
        assert_eq!(o.status.code(), Some(1), "{args:?}: {err}");
        let output = args.last().unwrap();
        assert!(
            err.starts_with(&format!(
                "a0backup: {output}: its parent plain.txt: Not a directory"
            )),
            "{err}"
        );
    }
}

#[test]
fn help_texts_say_what_each_password_option_does() {
    let d = tempfile::tempdir().unwrap();
    let list = String::from_utf8(a0backup(&["list", "--help"], d.path()).stdout).unwrap();
    assert!(!list.contains("Encrypt"), "{list}");
    assert!(list.contains("Decrypt INPUT with the password from the first line of FILE"));
    let pack = String::from_utf8(a0backup(&["pack", "--help"], d.path()).stdout).unwrap();
    assert!(pack.contains("Encrypt, with the password from the first line of FILE"));
    let restore = String::from_utf8(a0backup(&["restore", "--help"], d.path()).stdout).unwrap();
    assert!(restore.contains("Read the password from the first line of FILE"));
    assert!(restore.contains("- for standard input"));
}

/// The one line a success prints on stderr.
fn said(o: &Output) -> String {
    assert!(o.status.success(), "{}", stderr(o));
    let err = stderr(o);
    assert_eq!(err.lines().count(), 1, "one line on stderr: {err:?}");
    err.trim_end().to_string()
}

#[test]
fn every_success_says_what_it_wrote_and_what_it_checked() {
    let work = tempfile::tempdir().unwrap();
    let d = work.path();
    let status_text = std::fs::read(status()).unwrap();
    let not_checked = "md5 not checked (give --md5 or --status)";

    let line = said(&a0backup(
        &[
            "decrypt",
            "--password",
            PW,
            "--status",
            &status(),
            &sample(),
            "-o",
            "a.tar.gz",
        ],
        d,
    ));
    assert!(
        line.starts_with(&format!("decrypted {} into a.tar.gz (", sample())),
        "{line}"
    );
    assert!(
        line.ends_with(&format!("; md5 {SAMPLE_MD5} matches {}", status())),
        "{line}"
    );
    let line = said(&a0backup(
        &["decrypt", "--password", PW, &sample(), "-o", "b.tar.gz"],
        d,
    ));
    assert!(line.ends_with(not_checked), "{line}");
    // To standard output: the data on stdout, the line on stderr.
    let o = a0backup(
        &[
            "decrypt",
            "--password",
            PW,
            "--md5",
            SAMPLE_MD5,
            &sample(),
            "-o",
            "-",
        ],
        d,
    );
    assert_eq!(o.stdout, std::fs::read(d.join("a.tar.gz")).unwrap());
    let line = said(&o);
    assert!(line.contains("into standard output"), "{line}");
    assert!(
        line.ends_with(&format!("md5 {SAMPLE_MD5} matches --md5")),
        "{line}"
    );

    let line = said(&run(
        &[
            "restore",
            "--password",
            PW,
            "--status",
            "-",
            &sample(),
            "-C",
            "r1",
        ],
        d,
        Some(&status_text),
    ));
    assert!(
        line.starts_with("restored 9 files, 3 directories, "),
        "{line}"
    );
    assert!(line.contains(" into r1; "), "{line}");
    assert!(
        line.ends_with(&format!(
            "md5 {SAMPLE_MD5} matches the status on standard input"
        )),
        "{line}"
    );
    let line = said(&a0backup(
        &["restore", "--password", PW, &sample(), "-C", "r2"],
        d,
    ));
    assert!(line.ends_with(not_checked), "{line}");

    // unpack checks the md5 of the .tar.gz when given one.
    let gz_md5 = a0backup::checksum::md5_file(&d.join("a.tar.gz"))
        .unwrap()
        .to_string();
    let line = said(&a0backup(
        &["unpack", "--md5", &gz_md5, "a.tar.gz", "-C", "u1"],
        d,
    ));
    assert!(line.starts_with("unpacked 9 files"), "{line}");
    assert!(
        line.ends_with(&format!("md5 {gz_md5} matches --md5")),
        "{line}"
    );
    let o = a0backup(&["unpack", "--md5", SAMPLE_MD5, "a.tar.gz", "-C", "u2"], d);
    assert_eq!(o.status.code(), Some(4), "{}", stderr(&o));
    assert!(!d.join("u2").exists());
    let line = said(&a0backup(&["unpack", "a.tar.gz", "-C", "u3"], d));
    assert!(line.ends_with(not_checked), "{line}");

    // The writers say the md5 of what they wrote.
    let line = said(&a0backup(
        &[
            "encrypt",
            "--password",
            PW,
            "a.tar.gz",
            "-o",
            "again.tar.gz.enc",
        ],
        d,
    ));
    let md5 = a0backup::checksum::md5_file(&d.join("again.tar.gz.enc")).unwrap();
    assert!(
        line.starts_with("encrypted a.tar.gz into again.tar.gz.enc ("),
        "{line}"
    );
    assert!(line.ends_with(&format!("its md5 is {md5}")), "{line}");
    let o = a0backup(
        &["pack", "--password", PW, "r1/dump", "-o", "p.tar.gz.enc"],
        d,
    );
    let line = said(&o);
    let md5 = a0backup::checksum::md5_file(&d.join("p.tar.gz.enc")).unwrap();
    assert!(
        line.starts_with("packed r1/dump into p.tar.gz.enc ("),
        "{line}"
    );
    assert!(line.contains("encrypted, node format"), "{line}");
    assert!(line.ends_with(&format!("its md5 is {md5}")), "{line}");
    // pack without a password does not write an unencrypted file named .enc.
    let o = a0backup(&["pack", "r1/dump", "-o", "plain.tar.gz.enc"], d);
    assert_eq!(o.status.code(), Some(2), "{}", stderr(&o));
    assert!(!d.join("plain.tar.gz.enc").exists());

    // -q: nothing on stderr.
    for args in [
        vec![
            "-q",
            "decrypt",
            "--password",
            PW,
            &sample(),
            "-o",
            "q.tar.gz",
        ],
        vec!["restore", "-q", "--password", PW, &sample(), "-C", "q"],
        vec!["-q", "pack", "q/dump", "-o", "q2.tar.gz"],
    ] {
        let o = a0backup(&args, d);
        assert!(o.status.success(), "{args:?}: {}", stderr(&o));
        assert_eq!(stderr(&o), "", "{args:?}");
    }
}

#[test]
fn a_wrong_password_never_passes_silently() {
    let work = tempfile::tempdir().unwrap();
    let d = work.path();
    let backup = std::fs::read(sample()).unwrap();
    std::fs::write(d.join("backup.bin"), &backup).unwrap();
    std::fs::write(d.join("backup.tgz.enc"), &backup).unwrap();

    // The gzip check is on for a .gz/.tgz output (from a file or stdin) and a .tgz.enc input:
    // exit 3, nothing written.
    for (args, input) in [
        (
            vec!["decrypt", "--password", "nope", "-", "-o", "out.tar.gz"],
            true,
        ),
        (
            vec!["decrypt", "--password", "nope", "-", "-o", "out.tgz"],
            true,
        ),
        (
            vec![
                "decrypt",
                "--password",
                "nope",
                "backup.bin",
                "-o",
                "out.gz",
            ],
            false,
        ),
        (
            vec!["decrypt", "--password", "nope", "backup.tgz.enc"],
            false,
        ),
    ] {
        let o = run(&args, d, input.then_some(&backup[..]));
        assert_eq!(o.status.code(), Some(3), "{args:?}: {}", stderr(&o));
        assert!(
            stderr(&o).contains("probably wrong password"),
            "{}",
            stderr(&o)
        );
    }
    assert!(!d.join("out.tar.gz").exists() && !d.join("out.tgz").exists());
    assert!(!d.join("out.gz").exists() && !d.join("backup.tgz").exists());

    // Otherwise the result is written, with a warning when it does not begin like gzip.
    let warning = "warning: the decrypted data does not begin like gzip";
    for (args, input) in [
        (vec!["decrypt", "--password", "nope", "-", "-o", "-"], true),
        (
            vec![
                "decrypt",
                "--password",
                "nope",
                "backup.bin",
                "-o",
                "out.bin",
            ],
            false,
        ),
    ] {
        let o = run(&args, d, input.then_some(&backup[..]));
        assert!(o.status.success(), "{args:?}: {}", stderr(&o));
        assert!(stderr(&o).contains(warning), "{args:?}: {}", stderr(&o));
    }
    // The right password: no warning.
    let o = a0backup(
        &[
            "decrypt",
            "--force",
            "--password",
            PW,
            "backup.bin",
            "-o",
            "out.bin",
        ],
        d,
    );
    assert!(o.status.success(), "{}", stderr(&o));
    assert!(!stderr(&o).contains("warning"), "{}", stderr(&o));
}
