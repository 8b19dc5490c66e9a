//! Restore and pack end to end: the sample backup, GNU tar interop in both directions, the
//! appliance's Node decrypt and `openssl enc -d` on what pack writes, and faults that must leave
//! the destination as it was.

mod common;

use std::collections::BTreeMap;
use std::os::unix::fs::{MetadataExt, PermissionsExt};
use std::path::Path;
use std::process::Command;

use a0backup::pack::{pack_writer, PackOptions};
use a0backup::restore::{restore_file, RestoreOptions};
use a0backup::{BackupStatus, Error, Format, Password};
use common::{data, have, sha256_hex};

/// Every path under `dir` with (kind, sha256 or link target, permission bits).
fn snapshot(dir: &Path) -> BTreeMap<String, (char, String, u32)> {
    fn walk(base: &Path, dir: &Path, out: &mut BTreeMap<String, (char, String, u32)>) {
        for e in std::fs::read_dir(dir).unwrap() {
            let e = e.unwrap();
            let p = e.path();
            let rel = p.strip_prefix(base).unwrap().to_string_lossy().into_owned();
            let m = std::fs::symlink_metadata(&p).unwrap();
            let mode = m.permissions().mode() & 0o7777;
            if m.is_dir() {
                out.insert(rel, ('d', String::new(), mode));
                walk(base, &p, out);
            } else if m.file_type().is_symlink() {
                let t = std::fs::read_link(&p)
                    .unwrap()
                    .to_string_lossy()
                    .into_owned();
                out.insert(rel, ('l', t, 0));
            } else {
                out.insert(rel, ('-', sha256_hex(&std::fs::read(&p).unwrap()), mode));
            }
        }
    }
    let mut out = BTreeMap::new();
    walk(dir, dir, &mut out);
    out
}

fn sample_status() -> BackupStatus {
    BackupStatus::from_file(&data("sample-backup/backup-status.txt")).unwrap()
}

#[test]
fn sample_restores_to_exactly_its_manifest() {
    let work = tempfile::tempdir().unwrap();
    let dest = work.path().join("restored");
    let s = restore_file(
        &data("sample-backup/backup-retrieve.tar.gz.enc"),
        &dest,
        Some(&Password::from("Passw0rd")),
        RestoreOptions::new().expected_md5(sample_status().md5),
    )
    .unwrap();
    assert_eq!(s.md5, Some(sample_status().md5));
    let files: BTreeMap<String, String> = snapshot(&dest)
        .into_iter()
        .filter(|(_, (k, _, _))| *k == '-')
        .map(|(p, (_, h, _))| (p, h))
        .collect();
    assert_eq!(files, common::sample_manifest());
    // Nothing but the destination was left beside it (no staging directory).
    assert_eq!(std::fs::read_dir(work.path()).unwrap().count(), 1);
}

/// A tree with the awkward cases: long and non-ASCII names, empty directories, empty files.
fn awkward_tree(root: &Path) {
    let long_dir = root.join("d".repeat(120));
    std::fs::create_dir_all(&long_dir).unwrap();
    std::fs::write(
        long_dir.join(format!("{}.bson", "x".repeat(140))),
        b"long names",
    )
    .unwrap();
    let deeper = root
        .join("a".repeat(100))
        .join("b".repeat(100))
        .join("c".repeat(100));
    std::fs::create_dir_all(&deeper).unwrap();
    std::fs::write(deeper.join("over-255-bytes.bson"), common::pattern(70_000)).unwrap();
    std::fs::write(root.join("usuários-ñ-漢字.json"), "{\"ok\":true}").unwrap();
    std::fs::create_dir(root.join("empty-dir")).unwrap();
    std::fs::write(root.join("empty.bson"), b"").unwrap();
    std::fs::write(root.join("exec.sh"), b"#!/bin/sh\n").unwrap();
    std::fs::set_permissions(root.join("exec.sh"), std::fs::Permissions::from_mode(0o750)).unwrap();
}

#[test]
fn pack_extracts_with_gnu_tar_to_identical_files() {
    if !have("tar") {
        return;
    }
    let work = tempfile::tempdir().unwrap();
    let src = work.path().join("dump");
    std::fs::create_dir(&src).unwrap();
    awkward_tree(&src);
    let out = work.path().join("b.tar.gz");
    pack_writer(
        &src,
        std::fs::File::create(&out).unwrap(),
        None,
        PackOptions::new(),
    )
    .unwrap();
    let x = work.path().join("x");
    std::fs::create_dir(&x).unwrap();
    let st = Command::new("tar")
        .arg("xzf")
        .arg(&out)
        .arg("-C")
        .arg(&x)
        .status()
        .unwrap();
    assert!(st.success());
    assert_eq!(snapshot(&x.join("dump")), snapshot(&src));
    let mt = |p: &Path| std::fs::metadata(p).unwrap().mtime();
    assert_eq!(mt(&x.join("dump/exec.sh")), mt(&src.join("exec.sh")));
}

#[test]
fn gnu_tar_archives_in_every_format_restore_to_identical_files() {
    if !have("tar") {
        return;
    }
    for format in ["ustar", "gnu", "pax"] {
        let work = tempfile::tempdir().unwrap();
        let src = work.path().join("dump");
        std::fs::create_dir(&src).unwrap();
        if format == "ustar" {
            // ustar cannot hold names this long; keep to what it can.
            std::fs::write(src.join("users.bson"), common::pattern(5000)).unwrap();
            std::fs::create_dir(src.join("empty-dir")).unwrap();
            std::fs::write(src.join("empty.bson"), b"").unwrap();
        } else {
            awkward_tree(&src);
        }
        let gz = work.path().join("t.tar.gz");
        let st = Command::new("tar")
            .arg(format!("--format={format}"))
            .arg("-czf")
            .arg(&gz)
            .arg("-C")
            .arg(work.path())
            .arg("dump")
            .status()
            .unwrap();
        assert!(st.success(), "{format}");
        let dest = work.path().join("out");
        restore_file(&gz, &dest, None, RestoreOptions::new()).unwrap();
        assert_eq!(snapshot(&dest.join("dump")), snapshot(&src), "{format}");
    }
}

#[test]
fn packed_backups_decrypt_with_node_and_openssl() {
    let work = tempfile::tempdir().unwrap();
    let src = work.path().join("dump");
    std::fs::create_dir(&src).unwrap();
    awkward_tree(&src);
    let pw = Password::from("Passw0rd");
    for (format, ossl) in [
        (Format::Node, "-nosalt -md md5"),
        (Format::OpenSslMd5, "-md md5"),
        (
            Format::OpenSslPbkdf2 { iterations: 10_000 },
            "-pbkdf2 -md sha256",
        ),
    ] {
        let enc = work.path().join("b.tar.gz.enc");
        let summary = pack_writer(
            &src,
            std::fs::File::create(&enc).unwrap(),
            Some(&pw),
            PackOptions::new().format(format),
        )
        .unwrap();
        assert_eq!(a0backup::checksum::md5_file(&enc).unwrap(), summary.md5);
        if have("openssl") {
            let plain = work.path().join("o.tar.gz");
            let cmd = format!(
                "openssl enc -d -aes-256-ctr {ossl} -pass pass:Passw0rd -in '{}' -out '{}'",
                enc.display(),
                plain.display()
            );
            assert!(Command::new("sh")
                .args(["-c", &cmd])
                .status()
                .unwrap()
                .success());
            let dest = work.path().join(format!("o-{}", format.name()));
            restore_file(&plain, &dest, None, RestoreOptions::new()).unwrap();
            assert_eq!(snapshot(&dest.join("dump")), snapshot(&src));
        }
        if format == Format::Node && have("node") {
            // The seed's decrypt script, verbatim in spirit: createDecipher piped to a file.
            let script = "const c=require('crypto'),fs=require('fs');\
                if(!c.createDecipher){console.log('SKIP');process.exit(0)}\
                fs.createReadStream(process.argv[2]).pipe(c.createDecipher('aes-256-ctr',process.argv[1]))\
                .pipe(fs.createWriteStream(process.argv[3]));";
            let plain = work.path().join("n.tar.gz");
            let out = Command::new("node")
                .args(["--no-deprecation", "-e", script, "Passw0rd"])
                .arg(&enc)
                .arg(&plain)
                .output()
                .unwrap();
            assert!(out.status.success());
            if !String::from_utf8_lossy(&out.stdout).contains("SKIP") {
                let dest = work.path().join("n");
                restore_file(&plain, &dest, None, RestoreOptions::new()).unwrap();
                assert_eq!(snapshot(&dest.join("dump")), snapshot(&src));
            }
        }
    }
}

fn existing_dest(work: &Path) -> (std::path::PathBuf, BTreeMap<String, (char, String, u32)>) {
    let dest = work.join("dest");
    std::fs::create_dir(&dest).unwrap();
    std::fs::write(dest.join("old.bson"), b"yesterday").unwrap();
    let snap = snapshot(&dest);
    (dest, snap)
}

fn assert_only_dest_beside(work: &Path) {
    let names: Vec<_> = std::fs::read_dir(work)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .filter(|n| n != "backup.tar.gz.enc")
        .collect();
    assert_eq!(names, vec!["dest"], "no staging directory left behind");
}

#[test]
fn wrong_password_and_wrong_md5_leave_the_destination_as_it_was() {
    let work = tempfile::tempdir().unwrap();
    let (dest, before) = existing_dest(work.path());
    let input = data("sample-backup/backup-retrieve.tar.gz.enc");
    let err = restore_file(
        &input,
        &dest,
        Some(&Password::from("wrong")),
        RestoreOptions::new().replace(true),
    )
    .unwrap_err();
    assert!(matches!(err, Error::WrongPassword { .. }), "{err}");
    let wrong = "ffffffffffffffffffffffffffffffff".parse().unwrap();
    let err = restore_file(
        &input,
        &dest,
        Some(&Password::from("Passw0rd")),
        RestoreOptions::new().replace(true).expected_md5(wrong),
    )
    .unwrap_err();
    assert!(matches!(err, Error::ChecksumMismatch { .. }), "{err}");
    // Not empty and no replace: refused before any work.
    let err = restore_file(
        &input,
        &dest,
        Some(&Password::from("Passw0rd")),
        RestoreOptions::new(),
    )
    .unwrap_err();
    assert!(matches!(err, Error::AlreadyExists(_)), "{err}");
    assert_eq!(snapshot(&dest), before);
    assert_only_dest_beside(work.path());

    // With replace and everything right, the old tree goes and the new one stands.
    restore_file(
        &input,
        &dest,
        Some(&Password::from("Passw0rd")),
        RestoreOptions::new().replace(true),
    )
    .unwrap();
    assert!(!dest.join("old.bson").exists());
    assert!(dest.join("dump/auth0/users.bson").exists());
    assert_only_dest_beside(work.path());
}

#[test]
fn cancel_from_progress_leaves_nothing() {
    let work = tempfile::tempdir().unwrap();
    let dest = work.path().join("dest");
    let err = restore_file(
        &data("sample-backup/backup-retrieve.tar.gz.enc"),
        &dest,
        Some(&Password::from("Passw0rd")),
        RestoreOptions::new().progress(a0backup::Progress::new(|_, _| false)),
    )
    .unwrap_err();
    assert!(matches!(err, Error::Cancelled), "{err}");
    assert_eq!(std::fs::read_dir(work.path()).unwrap().count(), 0);
}

#[test]
fn a_destination_that_runs_out_of_space_is_left_as_it_was() {
    // RLIMIT_FSIZE makes every write past 64 KiB fail (EFBIG), as a full disk would, without
    // needing a small filesystem. The CLI runs in a shell that ignores SIGXFSZ.
    // Cargo names the binary even when its `cli` feature is off and it was not built.
    let bin = match option_env!("CARGO_BIN_EXE_a0backup").filter(|b| Path::new(b).exists()) {
        Some(b) => b,
        None => {
            eprintln!("SKIPPED: needs the cli feature");
            return;
        }
    };
    let work = tempfile::tempdir().unwrap();
    let (dest, before) = existing_dest(work.path());
    let src = work.path().join("src");
    std::fs::create_dir(&src).unwrap();
    std::fs::write(src.join("big.bson"), common::pattern(1 << 20)).unwrap();
    let enc = work.path().join("backup.tar.gz.enc");
    pack_writer(
        &src,
        std::fs::File::create(&enc).unwrap(),
        Some(&Password::from("p")),
        PackOptions::new().format(Format::Node),
    )
    .unwrap();
    std::fs::remove_dir_all(&src).unwrap();
    let cmd = format!(
        "trap '' XFSZ; ulimit -f 64; exec '{bin}' restore --password p --force '{}' -C '{}'",
        enc.display(),
        dest.display()
    );
    let out = Command::new("sh").args(["-c", &cmd]).output().unwrap();
    assert_eq!(
        out.status.code(),
        Some(1),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(String::from_utf8_lossy(&out.stderr).contains("big.bson"));
    assert_eq!(snapshot(&dest), before);
    assert_only_dest_beside(work.path());
}

#[test]
fn a_damaged_download_is_reported_as_an_md5_mismatch_when_the_md5_is_known() {
    let work = tempfile::tempdir().unwrap();
    let good = std::fs::read(data("sample-backup/backup-retrieve.tar.gz.enc")).unwrap();
    let cases: Vec<(&str, Vec<u8>)> = vec![
        ("flipped byte in the deflate data", {
            let mut b = good.clone();
            b[good.len() / 2] ^= 0x40;
            b
        }),
        ("flipped gzip magic", {
            let mut b = good.clone();
            b[0] ^= 0xff;
            b
        }),
        ("truncated", good[..good.len() - 100].to_vec()),
    ];
    for (what, bytes) in cases {
        let input = work.path().join("damaged.enc");
        std::fs::write(&input, &bytes).unwrap();
        let dest = work.path().join("dest");
        let err = restore_file(
            &input,
            &dest,
            Some(&Password::from("Passw0rd")),
            RestoreOptions::new().expected_md5(sample_status().md5),
        )
        .unwrap_err();
        match err {
            Error::ChecksumMismatch { expected, actual } => {
                assert_eq!(expected, sample_status().md5, "{what}");
                assert_eq!(actual, a0backup::checksum::md5_bytes(&bytes), "{what}");
            }
            other => panic!("{what}: {other}"),
        }
        // Without the md5 the same damage is still a typed error, just a less specific one.
        let err = restore_file(
            &input,
            &dest,
            Some(&Password::from("Passw0rd")),
            RestoreOptions::new(),
        )
        .unwrap_err();
        assert!(
            matches!(
                err,
                Error::Malformed { .. } | Error::Truncated { .. } | Error::WrongPassword { .. }
            ),
            "{what}: {err}"
        );
        assert!(!dest.exists());
    }
}
