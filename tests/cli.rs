//! The `a0backup` command: its fixed interface, exit codes and refusal to leave partial output.

mod common;

use std::path::Path;
use std::process::{Command, Output};

use common::data;

fn a0backup(args: &[&str], cwd: &Path) -> Output {
    Command::new(env!("CARGO_BIN_EXE_a0backup"))
        .args(args)
        .current_dir(cwd)
        .output()
        .expect("the binary runs")
}

fn sample() -> String {
    data("sample-backup/backup-retrieve.tar.gz.enc")
        .display()
        .to_string()
}

fn status() -> String {
    data("sample-backup/backup-status.txt")
        .display()
        .to_string()
}

#[test]
fn decrypt_sample_with_status_then_gnu_tar_lists_it() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::copy(sample(), dir.path().join("backup.tar.gz.enc")).unwrap();
    std::fs::write(dir.path().join("pw"), "Passw0rd\n").unwrap();
    let out = a0backup(
        &[
            "decrypt",
            "--password-file",
            "pw",
            "--status",
            &status(),
            "backup.tar.gz.enc",
        ],
        dir.path(),
    );
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    // Default output: INPUT without .enc.
    let tar = Command::new("tar")
        .args(["tzf", "backup.tar.gz"])
        .current_dir(dir.path())
        .output()
        .unwrap();
    assert!(tar.status.success());
    assert!(String::from_utf8_lossy(&tar.stdout).contains("dump/auth0/users.bson"));

    // A second run refuses to overwrite, and --force replaces.
    let again = a0backup(
        &["decrypt", "--password", "Passw0rd", "backup.tar.gz.enc"],
        dir.path(),
    );
    assert_eq!(again.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&again.stderr).contains("already exists"));
    let forced = a0backup(
        &[
            "decrypt",
            "--password",
            "Passw0rd",
            "--force",
            "backup.tar.gz.enc",
        ],
        dir.path(),
    );
    assert!(forced.status.success());
}

#[test]
fn wrong_password_exits_3_and_writes_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let out = a0backup(
        &["decrypt", "--password", "nope", &sample(), "-o", "x.tar.gz"],
        dir.path(),
    );
    assert_eq!(
        out.status.code(),
        Some(3),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(String::from_utf8_lossy(&out.stderr).contains("wrong password"));
    assert!(common::dir_names(dir.path()).is_empty());
}

#[test]
fn wrong_md5_exits_4_and_writes_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let out = a0backup(
        &[
            "decrypt",
            "--password",
            "Passw0rd",
            "--md5",
            "0123456789abcdef0123456789abcdef",
            &sample(),
            "-o",
            "x",
        ],
        dir.path(),
    );
    assert_eq!(out.status.code(), Some(4));
    assert!(common::dir_names(dir.path()).is_empty());
    let v = a0backup(
        &[
            "verify",
            "--md5",
            "0123456789abcdef0123456789abcdef",
            &sample(),
        ],
        dir.path(),
    );
    assert_eq!(v.status.code(), Some(4));
    let ok = a0backup(&["verify", "--status", &status(), &sample()], dir.path());
    assert!(ok.status.success());
    assert!(String::from_utf8_lossy(&ok.stdout).ends_with(": OK\n"));
}

#[test]
fn md5_prints_what_md5sum_prints() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("a b"), b"hello").unwrap();
    std::fs::write(dir.path().join("c"), b"").unwrap();
    let ours = a0backup(&["md5", "a b", "c"], dir.path());
    assert!(ours.status.success());
    if common::have("md5sum") {
        let theirs = Command::new("md5sum")
            .args(["a b", "c"])
            .current_dir(dir.path())
            .output()
            .unwrap();
        assert_eq!(
            String::from_utf8_lossy(&ours.stdout),
            String::from_utf8_lossy(&theirs.stdout)
        );
    }
    let missing = a0backup(&["md5", "c", "nope"], dir.path());
    assert_eq!(missing.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&missing.stdout).contains("  c\n"));
}

#[test]
fn encrypt_then_decrypt_in_every_format_and_openssl_reads_it() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("plain"), common::pattern(5000)).unwrap();
    std::fs::write(dir.path().join("pw"), "s3cret\n").unwrap();
    for (format, ossl) in [
        ("node", "-nosalt -md md5"),
        ("openssl-md5", "-md md5"),
        ("openssl-pbkdf2", "-pbkdf2 -md sha256 -iter 2000"),
    ] {
        let mut args = vec![
            "encrypt",
            "--password-file",
            "pw",
            "--format",
            format,
            "plain",
            "-o",
            "enc",
            "--force",
        ];
        if format == "openssl-pbkdf2" {
            args.extend(["--iter", "2000"]);
        }
        let e = a0backup(&args, dir.path());
        assert!(
            e.status.success(),
            "{format}: {}",
            String::from_utf8_lossy(&e.stderr)
        );
        let mut dargs = vec![
            "decrypt",
            "--password-file",
            "pw",
            "--format",
            format,
            "enc",
            "-o",
            "back",
            "--force",
        ];
        if format == "openssl-pbkdf2" {
            dargs.extend(["--iter", "2000"]);
        }
        let d = a0backup(&dargs, dir.path());
        assert!(
            d.status.success(),
            "{format}: {}",
            String::from_utf8_lossy(&d.stderr)
        );
        assert_eq!(
            std::fs::read(dir.path().join("back")).unwrap(),
            common::pattern(5000)
        );
        if common::have("openssl") {
            let cmd = format!("openssl enc -d -aes-256-ctr {ossl} -pass file:pw -in enc -out ossl");
            let o = Command::new("sh")
                .args(["-c", &cmd])
                .current_dir(dir.path())
                .output()
                .unwrap();
            assert!(o.status.success(), "{format}");
            assert_eq!(
                std::fs::read(dir.path().join("ossl")).unwrap(),
                common::pattern(5000)
            );
        }
    }
}

#[test]
fn stdin_to_stdout_with_dashes() {
    let dir = tempfile::tempdir().unwrap();
    let input = std::fs::File::open(sample()).unwrap();
    let out = Command::new(env!("CARGO_BIN_EXE_a0backup"))
        .args([
            "decrypt",
            "--password",
            "Passw0rd",
            "--expect-gzip",
            "-",
            "-o",
            "-",
        ])
        .stdin(input)
        .current_dir(dir.path())
        .output()
        .unwrap();
    assert!(out.status.success());
    assert_eq!(&out.stdout[..2], &[0x1f, 0x8b]);
}

#[test]
fn bad_input_gives_one_clear_line_and_the_right_code() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    // Unknown format flag: usage.
    let o = a0backup(
        &[
            "encrypt",
            "--password",
            "x",
            "--format",
            "rot13",
            &sample(),
            "-o",
            "y",
        ],
        d,
    );
    assert_eq!(o.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&o.stderr).contains("unknown format"));
    // Unreadable input.
    let o = a0backup(&["decrypt", "--password", "x", "missing.enc"], d);
    assert_eq!(o.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&o.stderr).contains("missing.enc"));
    // Output directory missing.
    let o = a0backup(
        &[
            "decrypt",
            "--password",
            "Passw0rd",
            &sample(),
            "-o",
            "no/such/dir/out",
        ],
        d,
    );
    assert_eq!(o.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&o.stderr).contains("no/such/dir"));
    // Malformed status text.
    std::fs::write(d.join("status"), "Backup found, md5 is abc").unwrap();
    let o = a0backup(&["verify", "--status", "status", &sample()], d);
    assert_eq!(o.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&o.stderr).contains("malformed backup status"));
    // A truncated salted header.
    std::fs::write(d.join("short.enc"), b"Salted__\x01\x02").unwrap();
    let o = a0backup(
        &[
            "decrypt",
            "--password",
            "x",
            "--format",
            "openssl-md5",
            "short.enc",
            "-o",
            "z",
        ],
        d,
    );
    assert_eq!(o.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&o.stderr).contains("cut short"));
    // No password and no terminal.
    let o = a0backup(&["decrypt", &sample(), "-o", "w"], d);
    assert_eq!(o.status.code(), Some(2));
    // Exactly one line on stderr each time.
    assert_eq!(String::from_utf8_lossy(&o.stderr).lines().count(), 1);
    assert_eq!(common::dir_names(d), vec!["short.enc", "status"]);
}

#[test]
fn restore_pack_unpack_list_round_trip_and_exit_codes() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let o = a0backup(
        &[
            "restore",
            "--password",
            "Passw0rd",
            "--status",
            &status(),
            &sample(),
            "-C",
            "restored",
        ],
        d,
    );
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    assert!(d.join("restored/dump/auth0/users.bson").is_file());

    // Wrong password: 3, wrong md5: 4, nothing created.
    let o = a0backup(&["restore", "--password", "nope", &sample(), "-C", "r2"], d);
    assert_eq!(o.status.code(), Some(3));
    let o = a0backup(
        &[
            "restore",
            "--password",
            "Passw0rd",
            "--md5",
            "0123456789abcdef0123456789abcdef",
            &sample(),
            "-C",
            "r2",
        ],
        d,
    );
    assert_eq!(o.status.code(), Some(4));
    assert!(!d.join("r2").exists());

    // Pack prints a status record that verify and restore accept.
    let o = a0backup(
        &[
            "pack",
            "--password",
            "pw",
            "restored/dump",
            "-o",
            "again.tar.gz.enc",
        ],
        d,
    );
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    std::fs::write(d.join("status.json"), &o.stdout).unwrap();
    let st = a0backup::BackupStatus::parse(&String::from_utf8_lossy(&o.stdout)).unwrap();
    assert_eq!(st.name.as_deref(), Some("again.tar.gz.enc"));
    assert!(a0backup(
        &["verify", "--status", "status.json", "again.tar.gz.enc"],
        d
    )
    .status
    .success());
    let o = a0backup(
        &[
            "restore",
            "--password",
            "pw",
            "--status",
            "status.json",
            "again.tar.gz.enc",
            "-C",
            "r3",
        ],
        d,
    );
    assert!(o.status.success());
    assert_eq!(
        std::fs::read(d.join("r3/dump/auth0/users.bson")).unwrap(),
        std::fs::read(d.join("restored/dump/auth0/users.bson")).unwrap()
    );
    let o = a0backup(&["list", "--password", "pw", "again.tar.gz.enc"], d);
    assert!(o.status.success());
    assert!(String::from_utf8_lossy(&o.stdout).contains("dump/auth0/users.bson"));

    // A plain .tar.gz with a symlink: unpack refuses it with 5 unless allowed.
    std::fs::create_dir(d.join("withlink")).unwrap();
    std::os::unix::fs::symlink("/etc/passwd", d.join("withlink/l")).unwrap();
    let o = a0backup(&["pack", "withlink", "-o", "l.tar.gz"], d);
    assert!(o.status.success());
    let o = a0backup(&["unpack", "l.tar.gz", "-C", "u"], d);
    assert_eq!(
        o.status.code(),
        Some(5),
        "{}",
        String::from_utf8_lossy(&o.stderr)
    );
    let o = a0backup(&["unpack", "--allow-symlinks", "l.tar.gz", "-C", "u"], d);
    assert_eq!(o.status.code(), Some(5), "absolute targets stay refused");
    assert!(!d.join("u").exists());
    let o = a0backup(&["list", "l.tar.gz"], d);
    assert!(String::from_utf8_lossy(&o.stdout).contains("withlink/l -> /etc/passwd"));
}

#[test]
fn json_output_completions_and_man_page() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let o = a0backup(&["md5", "--json", &sample()], d);
    let v: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
    assert_eq!(v[0]["md5"], "eccdb928a3bab23f725f955b68ef66ff");
    let o = a0backup(
        &[
            "verify",
            "--json",
            "--md5",
            "0123456789abcdef0123456789abcdef",
            &sample(),
        ],
        d,
    );
    assert_eq!(o.status.code(), Some(4));
    let v: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
    assert_eq!(v["ok"], false);
    assert_eq!(v["actual"], "eccdb928a3bab23f725f955b68ef66ff");
    let o = a0backup(&["list", "--json", "--password", "Passw0rd", &sample()], d);
    let lines: Vec<serde_json::Value> = String::from_utf8_lossy(&o.stdout)
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    assert!(lines
        .iter()
        .any(|l| l["path"] == "dump/auth0/users.bson" && l["size"] == 83198));
    let o = a0backup(
        &[
            "restore",
            "--json",
            "--password",
            "Passw0rd",
            "--status",
            &status(),
            &sample(),
            "-C",
            "r",
        ],
        d,
    );
    let v: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
    assert_eq!(v["files"], 9);
    assert_eq!(v["md5"], "eccdb928a3bab23f725f955b68ef66ff");
    let o = a0backup(&["pack", "--json", "r/dump", "-o", "p.tar.gz"], d);
    let v: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
    assert_eq!(v["arguments"]["name"], "p.tar.gz");

    let o = a0backup(&["completions", "bash"], d);
    assert!(o.status.success());
    assert!(String::from_utf8_lossy(&o.stdout).contains("restore"));
    let o = a0backup(&["man"], d);
    assert!(String::from_utf8_lossy(&o.stdout).contains(".TH a0backup"));
    let o = a0backup(&["--help"], d);
    assert!(String::from_utf8_lossy(&o.stdout).contains("Exit codes"));
    let o = a0backup(&["--version"], d);
    assert!(String::from_utf8_lossy(&o.stdout).starts_with("a0backup "));
}

#[test]
fn every_limit_exits_5_as_the_c_api_returns_unsafe_archive() {
    // The sample holds 9 files of which users.bson is 83198 bytes, all under a few directories.
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let limits: [&[&str]; 3] = [
        &["--max-entries", "2"],
        &["--max-size", "1000"],
        &["--max-path-len", "8"],
    ];
    for limit in limits {
        let mut args = vec!["restore", "--password", "Passw0rd"];
        args.extend_from_slice(limit);
        let s = sample();
        args.extend_from_slice(&[&s, "-C", "r"]);
        let o = a0backup(&args, d);
        let stderr = String::from_utf8_lossy(&o.stderr);
        assert_eq!(o.status.code(), Some(5), "{limit:?}: {stderr}");
        assert!(!d.join("r").exists(), "{limit:?}");
    }
    assert!(common::dir_names(d).is_empty());
}

#[test]
fn list_escapes_names_unpack_warns_and_modes_follow_the_umask() {
    use common::tar_build::{entry, gzip};
    use std::os::unix::fs::PermissionsExt;
    let work = tempfile::tempdir().unwrap();
    // No end-of-archive blocks (a warning), a name with an escape sequence, a 0666 file.
    let t = [
        entry(b"evil\x1b[2J.bson", b'0', b"x", 0o666, b""),
        entry(b"plain.bson", b'0', b"y", 0o666, b""),
    ]
    .concat();
    std::fs::write(work.path().join("a.tar.gz"), gzip(&t)).unwrap();

    let out = a0backup(&["list", "a.tar.gz"], work.path());
    assert!(out.status.success(), "{out:?}");
    let listed = String::from_utf8(out.stdout).unwrap();
    assert!(listed.contains("evil\\033[2J.bson"), "{listed}");
    assert!(!listed.contains('\x1b'), "{listed:?}");

    let out = a0backup(&["unpack", "a.tar.gz", "-C", "masked"], work.path());
    assert!(out.status.success(), "{out:?}");
    let err = String::from_utf8(out.stderr).unwrap();
    assert!(
        err.contains("warning: the archive lacks its end-of-archive blocks"),
        "{err}"
    );
    let mode = |p: &str| {
        std::fs::metadata(work.path().join(p))
            .unwrap()
            .permissions()
            .mode()
            & 0o777
    };
    // The test runs under the usual umask 022 (checked), as GNU tar for an ordinary user.
    let status = std::fs::read_to_string("/proc/self/status").unwrap();
    assert!(
        status.contains("Umask:\t0022"),
        "the test expects umask 022"
    );
    assert_eq!(mode("masked/plain.bson"), 0o644);

    let out = a0backup(
        &["unpack", "--preserve-permissions", "a.tar.gz", "-C", "kept"],
        work.path(),
    );
    assert!(out.status.success(), "{out:?}");
    assert_eq!(mode("kept/plain.bson"), 0o666);
}

/// A reader of standard output that went away (`a0backup list ... | head`) ends the command
/// as `tar` and `md5sum` end, killed by SIGPIPE as a shell reports it (141), with no message
/// and no panic; a restore whose JSON nobody reads has still published DEST.
#[test]
fn a_closed_standard_output_ends_quietly_with_141() {
    let dir = tempfile::tempdir().unwrap();
    let (sample, status) = (sample(), status());
    let dest = dir.path().join("dest");
    let dest = dest.to_str().unwrap();
    let cases: [&[&str]; 6] = [
        &["list", "--password", "Passw0rd", &sample],
        &["check", "--json", "--password", "Passw0rd", &sample],
        &["md5", &sample],
        &["man"],
        &["decrypt", "--password", "Passw0rd", "-o", "-", &sample],
        &[
            "restore",
            "--json",
            "--password",
            "Passw0rd",
            "--status",
            &status,
            &sample,
            "-C",
            dest,
        ],
    ];
    for args in cases {
        let (reader, writer) = std::io::pipe().unwrap();
        drop(reader);
        let out = Command::new(env!("CARGO_BIN_EXE_a0backup"))
            .args(args)
            .current_dir(dir.path())
            .stdout(writer)
            .stderr(std::process::Stdio::piped())
            .output()
            .unwrap();
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(141), "{args:?}: {stderr}");
        assert!(!stderr.contains("panicked"), "{args:?}: {stderr}");
        assert!(!stderr.contains("Broken pipe"), "{args:?}: {stderr}");
    }
    assert!(
        Path::new(dest).join("dump").is_dir(),
        "restore published DEST"
    );
}

#[test]
fn restore_unpack_and_check_take_threads() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    for (i, threads) in ["--threads=2", "--threads"].into_iter().enumerate() {
        let dest = format!("r{i}");
        let o = a0backup(
            &[
                "restore",
                threads,
                "--password",
                "Passw0rd",
                "--status",
                &status(),
                &sample(),
                "-C",
                &dest,
            ],
            d,
        );
        assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
        let manifest = common::sample_manifest();
        for (path, hash) in &manifest {
            let bytes = std::fs::read(d.join(&dest).join(path)).unwrap();
            assert_eq!(&common::sha256_hex(&bytes), hash, "{threads} {path}");
        }
        let o = a0backup(&["check", threads, "--password", "Passw0rd", &sample()], d);
        assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    }
    // Without `=`, the next word is not taken as N.
    let o = a0backup(
        &[
            "restore",
            "--password",
            "Passw0rd",
            "--threads",
            &sample(),
            "-C",
            "r9",
        ],
        d,
    );
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    let o = a0backup(&["restore", "--threads=x", &sample(), "-C", "r8"], d);
    assert_eq!(o.status.code(), Some(2));
}
