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
