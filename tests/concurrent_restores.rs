//! Two restores into one new DEST at once: the one that publishes second says what happened
//! (DEST was made by another restore while it ran; `Error::DestinationAppeared`), with or
//! without `--force`, and replaces nothing. Made deterministic by holding the lock that
//! publishing takes (a `flock` on DEST's parent) until the runs wait on it, as `/proc/locks`
//! shows.
#![cfg(feature = "cli")]

use std::collections::BTreeSet;
use std::fs::{self, File};
use std::io::Write;
use std::os::unix::fs::MetadataExt;
use std::path::Path;
use std::process::{Child, Command, Output, Stdio};
use std::time::{Duration, Instant};

use a0backup::error::ErrorKind;
use a0backup::restore::{restore_reader, RestoreOptions};
use a0backup::{EncryptWriter, Error, Format, Password};
use flate2::write::GzEncoder;

const PW: &str = "Passw0rd";

fn bin() -> &'static str {
    env!("CARGO_BIN_EXE_a0backup")
}

fn names(dir: &Path) -> BTreeSet<String> {
    fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect()
}

fn set(items: &[&str]) -> BTreeSet<String> {
    items.iter().map(|s| s.to_string()).collect()
}

fn backup(content: &[u8]) -> Vec<u8> {
    let mut b = tar::Builder::new(GzEncoder::new(Vec::new(), flate2::Compression::fast()));
    let mut h = tar::Header::new_gnu();
    h.set_entry_type(tar::EntryType::Regular);
    h.set_mode(0o644);
    h.set_size(content.len() as u64);
    b.append_data(&mut h, "dump/users.bson", content).unwrap();
    let gz = b.into_inner().unwrap().finish().unwrap();
    let mut w = EncryptWriter::new(Vec::new(), &Password::from(PW), Format::Node).unwrap();
    w.write_all(&gz).unwrap();
    w.finish().unwrap()
}

fn spawn(args: &[&str], cwd: &Path) -> Child {
    Command::new(bin())
        .args(args)
        .current_dir(cwd)
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap()
}

/// Whether process `pid` waits for a flock on the file `ino` (a `->` line of /proc/locks).
fn waits_for_lock(pid: u32, ino: u64) -> bool {
    fs::read_to_string("/proc/locks")
        .unwrap()
        .lines()
        .filter(|l| l.contains("->") && l.contains("FLOCK"))
        .any(|l| {
            let f: Vec<&str> = l.split_whitespace().collect();
            // N: -> FLOCK ADVISORY WRITE PID MAJ:MIN:INODE START END
            f.len() >= 7
                && f[5] == pid.to_string()
                && f[6].rsplit(':').next() == Some(&ino.to_string())
        })
}

/// Waits until every one of `children` waits for the lock of `dir`. The bound only turns a
/// hang into a failure.
fn wait_until_blocked(children: &mut [&mut Child], dir: &Path) {
    let ino = fs::metadata(dir).unwrap().ino();
    let start = Instant::now();
    loop {
        for c in children.iter_mut() {
            if let Some(status) = c.try_wait().unwrap() {
                panic!("a restore ended before it waited for the lock: {status}");
            }
        }
        if children.iter().all(|c| waits_for_lock(c.id(), ino)) {
            return;
        }
        assert!(
            start.elapsed() < Duration::from_secs(120),
            "the restores never waited for the publishing lock"
        );
        std::thread::sleep(Duration::from_millis(10));
    }
}

fn stderr(o: &Output) -> String {
    String::from_utf8_lossy(&o.stderr).into_owned()
}

fn assert_appeared(o: &Output) {
    let e = stderr(o);
    assert_eq!(o.status.code(), Some(1), "{e}");
    assert!(
        e.contains("dest was made by another restore (or program) while this one ran"),
        "{e}"
    );
    assert!(e.contains("nothing was replaced"), "{e}");
    assert!(!e.contains("give --force"), "{e}");
}

#[test]
fn dest_made_while_a_restore_waits_to_publish_is_named_and_kept() {
    for force in [true, false] {
        let work = tempfile::tempdir().unwrap();
        fs::write(work.path().join("b.enc"), backup(b"new")).unwrap();
        let lock = File::open(work.path()).unwrap();
        lock.lock().unwrap();
        let mut args = vec!["restore", "-q", "--password", PW, "b.enc", "-C", "dest"];
        if force {
            args.push("--force");
        }
        let mut child = spawn(&args, work.path());
        wait_until_blocked(&mut [&mut child], work.path());
        // What another restore would have published meanwhile.
        fs::create_dir(work.path().join("dest")).unwrap();
        fs::write(work.path().join("dest/theirs"), b"theirs").unwrap();
        lock.unlock().unwrap();
        let out = child.wait_with_output().unwrap();
        assert_appeared(&out);
        assert_eq!(names(work.path()), set(&["b.enc", "dest"]), "force {force}");
        assert_eq!(names(&work.path().join("dest")), set(&["theirs"]));
    }
}

#[test]
fn two_restores_into_one_new_dest_one_wins_the_other_says_why() {
    for force in [true, false] {
        let work = tempfile::tempdir().unwrap();
        fs::write(work.path().join("a.enc"), backup(b"from a")).unwrap();
        fs::write(work.path().join("b.enc"), backup(b"from b")).unwrap();
        let lock = File::open(work.path()).unwrap();
        lock.lock().unwrap();
        let run = |input: &'static str| {
            let mut args = vec!["restore", "-q", "--password", PW, input, "-C", "dest"];
            if force {
                args.push("--force");
            }
            spawn(&args, work.path())
        };
        let (mut a, mut b) = (run("a.enc"), run("b.enc"));
        wait_until_blocked(&mut [&mut a, &mut b], work.path());
        lock.unlock().unwrap();
        let (a, b) = (a.wait_with_output().unwrap(), b.wait_with_output().unwrap());
        let (won, lost, content) = match (a.status.success(), b.status.success()) {
            (true, false) => (a, b, &b"from a"[..]),
            (false, true) => (b, a, &b"from b"[..]),
            _ => panic!(
                "exactly one must win (force {force}): a: {} b: {}",
                stderr(&a),
                stderr(&b)
            ),
        };
        assert!(won.stderr.is_empty(), "{}", stderr(&won));
        assert_appeared(&lost);
        assert_eq!(
            fs::read(work.path().join("dest/dump/users.bson")).unwrap(),
            content
        );
        assert_eq!(names(work.path()), set(&["a.enc", "b.enc", "dest"]));
    }
}

/// The library's error is typed: a caller matches the variant, and its kind is
/// `AlreadyExists` (exit 1, `A0B_ERR_ALREADY_EXISTS`).
#[test]
fn the_library_says_destination_appeared() {
    let work = tempfile::tempdir().unwrap();
    let dest = work.path().join("dest");
    let lock = File::open(work.path()).unwrap();
    lock.lock().unwrap();
    let enc = backup(b"new");
    let ino = fs::metadata(work.path()).unwrap().ino();
    std::thread::scope(|s| {
        let restore = s.spawn(|| {
            restore_reader(
                &enc[..],
                &dest,
                Some(&Password::from(PW)),
                RestoreOptions::new().replace(true),
            )
        });
        let start = Instant::now();
        while !waits_for_lock(std::process::id(), ino) {
            assert!(
                !restore.is_finished(),
                "the restore did not wait for the lock"
            );
            assert!(start.elapsed() < Duration::from_secs(120));
            std::thread::sleep(Duration::from_millis(10));
        }
        fs::create_dir(&dest).unwrap();
        fs::write(dest.join("theirs"), b"").unwrap();
        lock.unlock().unwrap();
        match restore.join().unwrap() {
            Err(e @ Error::DestinationAppeared(_)) => {
                assert_eq!(e.kind(), ErrorKind::AlreadyExists);
                assert_eq!(e.exit_code(), 1);
            }
            other => panic!("{other:?}"),
        }
    });
    assert_eq!(names(&dest), set(&["theirs"]));
}
