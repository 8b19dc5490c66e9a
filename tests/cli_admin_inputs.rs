//! What an admin gives the command, read as meant: `--password-file -` reads one line, bounded
//! (`yes PW | ...` in a few MiB, measured with `/usr/bin/time -f %M`); a UTF-8 byte order mark
//! before a password or a status record is skipped; a status record that gives a key twice is
//! refused; and a DEST that a restore would refuse at its end (a symlink, `-C link/`, a missing
//! parent) is refused before any work, and still at the end.
#![cfg(feature = "cli")]

mod common;

use std::fs::{self, File};
use std::io::Write;
use std::os::unix::fs::MetadataExt;
use std::path::Path;
use std::process::{Command, Output, Stdio};
use std::time::{Duration, Instant};

use a0backup::{EncryptWriter, Format, Password};
use flate2::write::GzEncoder;

const PW: &str = "Passw0rd";

fn bin() -> &'static str {
    env!("CARGO_BIN_EXE_a0backup")
}

fn stderr(o: &Output) -> String {
    String::from_utf8_lossy(&o.stderr).into_owned()
}

fn names(dir: &Path) -> Vec<String> {
    let mut v: Vec<String> = fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    v.sort();
    v
}

/// An encrypted backup of one file, and its md5.
fn backup() -> (Vec<u8>, String) {
    let mut b = tar::Builder::new(GzEncoder::new(Vec::new(), flate2::Compression::fast()));
    let mut h = tar::Header::new_gnu();
    h.set_entry_type(tar::EntryType::Regular);
    h.set_mode(0o644);
    h.set_size(5);
    b.append_data(&mut h, "dump/users.bson", &b"users"[..])
        .unwrap();
    let gz = b.into_inner().unwrap().finish().unwrap();
    let mut w = EncryptWriter::new(Vec::new(), &Password::from(PW), Format::Node).unwrap();
    w.write_all(&gz).unwrap();
    let enc = w.finish().unwrap();
    let md5 = a0backup::checksum::md5_bytes(&enc).to_string();
    (enc, md5)
}

fn work() -> (tempfile::TempDir, String) {
    let w = tempfile::tempdir().unwrap();
    let (enc, md5) = backup();
    fs::write(w.path().join("b.enc"), enc).unwrap();
    (w, md5)
}

fn run(args: &[&str], cwd: &Path) -> Output {
    Command::new(bin())
        .args(args)
        .current_dir(cwd)
        .stdin(Stdio::null())
        .output()
        .unwrap()
}

/// Runs `script` under `sh -c` in `cwd` with `$A0B` set to the command, and returns its
/// output.
fn sh(script: &str, cwd: &Path) -> Output {
    Command::new("sh")
        .arg("-c")
        .arg(script)
        .env("A0B", bin())
        .current_dir(cwd)
        .output()
        .unwrap()
}

#[test]
fn password_from_an_endless_stdin_is_its_first_line_in_bounded_memory() {
    if !common::have("/usr/bin/time") {
        return;
    }
    let (w, _) = work();
    // 1 GB of `Passw0rd\n`: the command reads the first line and stops; before, it read it
    // all (and `yes` alone grew without end).
    let out = sh(
        "yes Passw0rd | head -c 1000000000 | /usr/bin/time -f %M -o rss \
         \"$A0B\" restore -q --password-file - b.enc -C dest",
        w.path(),
    );
    assert!(out.status.success(), "{}", stderr(&out));
    assert_eq!(
        fs::read(w.path().join("dest/dump/users.bson")).unwrap(),
        b"users"
    );
    let kib: u64 = fs::read_to_string(w.path().join("rss"))
        .unwrap()
        .trim()
        .parse()
        .unwrap();
    eprintln!("yes Passw0rd | restore --password-file -: max RSS {kib} KiB");
    assert!(kib < 32 << 10, "max RSS {kib} KiB");

    // A first line longer than the bound is refused, not read on.
    let out = sh(
        "head -c 1000000 /dev/zero | \"$A0B\" restore -q --password-file - b.enc -C dest2",
        w.path(),
    );
    assert_eq!(out.status.code(), Some(2), "{}", stderr(&out));
    assert!(
        stderr(&out).contains("the first line of standard input is longer than 64 KiB"),
        "{}",
        stderr(&out)
    );
    // Nor is an endless status record read for ever.
    let out = sh(
        "yes '{}' | head -c 1000000000 | \"$A0B\" verify --status - b.enc",
        w.path(),
    );
    assert_eq!(out.status.code(), Some(1), "{}", stderr(&out));
    assert!(
        stderr(&out).contains("--status standard input: not a status record (longer than 1024 KiB"),
        "{}",
        stderr(&out)
    );
}

#[test]
fn a_byte_order_mark_before_a_password_or_a_status_is_skipped() {
    let (w, md5) = work();
    fs::write(w.path().join("pw.txt"), format!("\u{feff}{PW}\r\n")).unwrap();
    fs::write(
        w.path().join("status.json"),
        format!("\u{feff}{{\"message\": \"Backup found\", \"arguments\": {{\"md5\": \"{md5}\"}}}}"),
    )
    .unwrap();
    let out = run(
        &[
            "restore",
            "--password-file",
            "pw.txt",
            "--status",
            "status.json",
            "b.enc",
            "-C",
            "dest",
        ],
        w.path(),
    );
    assert!(out.status.success(), "{}", stderr(&out));
    assert!(stderr(&out).contains(&format!("md5 {md5} matches status.json")));
    let out = sh("\"$A0B\" verify --status - b.enc < status.json", w.path());
    assert!(out.status.success(), "{}", stderr(&out));
    // The mark only: a password that differs otherwise is still wrong.
    fs::write(w.path().join("bad.txt"), format!("\u{feff} {PW}\n")).unwrap();
    let out = run(
        &["restore", "--password-file", "bad.txt", "b.enc", "-C", "d2"],
        w.path(),
    );
    assert_eq!(out.status.code(), Some(3), "{}", stderr(&out));
}

#[test]
fn a_status_record_with_a_key_twice_is_refused() {
    let (w, md5) = work();
    let other = "d41d8cd98f00b204e9800998ecf8427e";
    for (name, text) in [
        (
            "two-md5.json",
            format!("{{\"arguments\": {{\"md5\": \"{other}\", \"md5\": \"{md5}\"}}}}"),
        ),
        // The appliance's layout, comma missing, with the key twice.
        (
            "two-md5-sample.txt",
            format!(
                "{{\n  \"message\": \"Backup found\",\n  \"arguments\": {{\n    \"md5\": \"{md5}\"\n    \"md5\": \"{other}\"\n  }}\n}}"
            ),
        ),
        (
            "two-arguments.json",
            format!(
                "{{\"arguments\": {{\"md5\": \"{other}\"}}, \"arguments\": {{\"md5\": \"{md5}\"}}}}"
            ),
        ),
    ] {
        fs::write(w.path().join(name), &text).unwrap();
        for args in [
            vec!["verify", "--status", name, "b.enc"],
            vec![
                "restore", "--password", PW, "--status", name, "b.enc", "-C", "dest",
            ],
        ] {
            let out = run(&args, w.path());
            assert_eq!(out.status.code(), Some(1), "{name}: {}", stderr(&out));
            assert!(stderr(&out).contains("twice"), "{name}: {}", stderr(&out));
            assert!(!w.path().join("dest").exists());
        }
    }
}

#[test]
fn a_symlink_or_an_unusable_parent_as_dest_is_refused_before_any_work() {
    let (w, _) = work();
    fs::create_dir(w.path().join("real")).unwrap();
    std::os::unix::fs::symlink("real", w.path().join("link")).unwrap();
    fs::write(w.path().join("file"), b"").unwrap();
    // The status file and the input do not exist: had anything been read, they would be
    // what the error is about.
    for dest in ["link/", "link", "link//"] {
        for cmd in ["restore", "unpack"] {
            let mut args = vec![cmd];
            if cmd == "restore" {
                args.extend(["--password-file", "missing-pw"]);
            }
            args.extend(["--status", "missing.json", "missing.enc", "-C", dest]);
            let out = run(&args, w.path());
            assert_eq!(
                out.status.code(),
                Some(2),
                "{cmd} -C {dest}: {}",
                stderr(&out)
            );
            assert!(
                stderr(&out).contains("is a symlink (to real)"),
                "{cmd} -C {dest}: {}",
                stderr(&out)
            );
        }
    }
    for (dest, says) in [
        ("nodir/dest", "nodir/dest: its parent nodir: No such file"),
        ("file/dest", "file/dest: its parent file: Not a directory"),
    ] {
        let out = run(
            &[
                "restore",
                "--password-file",
                "missing-pw",
                "missing.enc",
                "-C",
                dest,
            ],
            w.path(),
        );
        assert_eq!(out.status.code(), Some(1), "{dest}: {}", stderr(&out));
        assert!(stderr(&out).contains(says), "{dest}: {}", stderr(&out));
    }
    assert_eq!(names(&w.path().join("real")), Vec::<String>::new());
    assert_eq!(names(w.path()), ["b.enc", "file", "link", "real"]);
}

/// Whether process `pid` waits for a flock on the file `ino` (a `->` line of /proc/locks).
fn waits_for_lock(pid: u32, ino: u64) -> bool {
    fs::read_to_string("/proc/locks")
        .unwrap()
        .lines()
        .filter(|l| l.contains("->") && l.contains("FLOCK"))
        .any(|l| {
            let f: Vec<&str> = l.split_whitespace().collect();
            f.len() >= 7
                && f[5] == pid.to_string()
                && f[6].rsplit(':').next() == Some(&ino.to_string())
        })
}

#[test]
fn a_dest_that_becomes_a_symlink_during_the_restore_is_refused_at_publish() {
    let (w, _) = work();
    fs::create_dir(w.path().join("real")).unwrap();
    // Hold the lock that publishing takes, so the restore waits just before it publishes.
    let lock = File::open(w.path()).unwrap();
    lock.lock().unwrap();
    let mut child = Command::new(bin())
        .args([
            "restore",
            "-q",
            "--force",
            "--password",
            PW,
            "b.enc",
            "-C",
            "dest/",
        ])
        .current_dir(w.path())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let ino = fs::metadata(w.path()).unwrap().ino();
    let start = Instant::now();
    while !waits_for_lock(child.id(), ino) {
        assert!(
            child.try_wait().unwrap().is_none(),
            "ended before publishing"
        );
        assert!(start.elapsed() < Duration::from_secs(120));
        std::thread::sleep(Duration::from_millis(10));
    }
    std::os::unix::fs::symlink("real", w.path().join("dest")).unwrap();
    lock.unlock().unwrap();
    let out = child.wait_with_output().unwrap();
    assert_eq!(out.status.code(), Some(2), "{}", stderr(&out));
    assert!(
        stderr(&out).contains("is a symlink (to real)"),
        "{}",
        stderr(&out)
    );
    assert_eq!(names(w.path()), ["b.enc", "dest", "real"]);
    assert_eq!(names(&w.path().join("real")), Vec::<String>::new());
}
