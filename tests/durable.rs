//! Nothing left behind, whatever happens, and nothing published before it is durable: signals,
//! SIGKILL leftovers and their owners' locks, cleanup of read-only and deep trees, the modes of
//! DEST and of temporary entries, mount points inside DEST, `-C .`, and the order of fsyncs and
//! renames (seen through strace).
#![cfg(feature = "cli")]

mod common;

use std::collections::BTreeSet;
use std::fs::{self, File};
use std::io::{Read, Write};
use std::os::unix::fs::{MetadataExt, PermissionsExt};
use std::path::{Path, PathBuf};
use std::process::{Child, ChildStdin, Command, Output, Stdio};
use std::time::{Duration, Instant};

use a0backup::restore::{restore_file, RestoreOptions};
use a0backup::{EncryptWriter, Format, Password};
use flate2::write::GzEncoder;

const PW: &str = "Passw0rd";

fn bin() -> &'static str {
    env!("CARGO_BIN_EXE_a0backup")
}

/// Every name in `dir`, dot files included.
fn names(dir: &Path) -> BTreeSet<String> {
    fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect()
}

fn set(items: &[&str]) -> BTreeSet<String> {
    items.iter().map(|s| s.to_string()).collect()
}

fn mode(p: &Path) -> u32 {
    fs::symlink_metadata(p).unwrap().mode() & 0o7777
}

fn random(len: usize) -> Vec<u8> {
    let mut v = vec![0u8; len];
    File::open("/dev/urandom")
        .unwrap()
        .read_exact(&mut v)
        .unwrap();
    v
}

/// One entry of a test archive.
enum E<'a> {
    Dir(&'a str, u32),
    File(&'a str, &'a [u8], u32),
}

/// A `.tar.gz` of `entries`, in order.
fn tar_gz(entries: &[E<'_>]) -> Vec<u8> {
    let mut b = tar::Builder::new(GzEncoder::new(Vec::new(), flate2::Compression::fast()));
    for e in entries {
        let mut h = tar::Header::new_gnu();
        h.set_mtime(1_700_000_000);
        match e {
            E::Dir(path, mode) => {
                h.set_entry_type(tar::EntryType::Directory);
                h.set_mode(*mode);
                h.set_size(0);
                b.append_data(&mut h, path, &[][..]).unwrap();
            }
            E::File(path, data, mode) => {
                h.set_entry_type(tar::EntryType::Regular);
                h.set_mode(*mode);
                h.set_size(data.len() as u64);
                b.append_data(&mut h, path, *data).unwrap();
            }
        }
    }
    b.into_inner().unwrap().finish().unwrap()
}

fn encrypt(plain: &[u8]) -> Vec<u8> {
    let mut w = EncryptWriter::new(Vec::new(), &Password::from(PW), Format::Node).unwrap();
    w.write_all(plain).unwrap();
    w.finish().unwrap()
}

/// An encrypted backup of 16 MiB that does not compress: a small file first (so a staging
/// directory with something in it proves extraction started), then random data.
fn big_backup() -> Vec<u8> {
    let data = random(8 << 20);
    encrypt(&tar_gz(&[
        E::Dir("dump", 0o755),
        E::File("dump/first.bson", b"first", 0o644),
        E::File("dump/big.bson", &data, 0o644),
    ]))
}

/// Polls `dir` until an entry satisfies `ready`, and returns it. The bound is generous: it
/// only turns a hang into a failure.
fn wait_for(dir: &Path, ready: impl Fn(&Path) -> bool) -> PathBuf {
    let start = Instant::now();
    loop {
        for e in fs::read_dir(dir).unwrap() {
            let p = e.unwrap().path();
            if ready(&p) {
                return p;
            }
        }
        assert!(
            start.elapsed() < Duration::from_secs(120),
            "nothing ready in {}: {:?}",
            dir.display(),
            names(dir)
        );
        std::thread::sleep(Duration::from_millis(10));
    }
}

fn is_staging_of(p: &Path, dest_name: &str) -> bool {
    let name = p.file_name().unwrap().to_string_lossy().into_owned();
    name.starts_with(&format!(".{dest_name}.a0backup-staging-"))
        && fs::read_dir(p)
            .map(|mut d| d.next().is_some())
            .unwrap_or(false)
}

fn is_temp_of(p: &Path, out_name: &str) -> bool {
    let name = p.file_name().unwrap().to_string_lossy().into_owned();
    name.starts_with(&format!(".{out_name}."))
        && name.ends_with(".a0backup-tmp")
        && fs::metadata(p).map(|m| m.len() > 0).unwrap_or(false)
}

/// A command reading its input from a pipe the test feeds: it is stopped in the middle for as
/// long as the test wants, without any timing.
struct Fed {
    child: Child,
    stdin: Option<ChildStdin>,
    input: Vec<u8>,
    sent: usize,
}

impl Fed {
    fn start(cmd: &mut Command, input: Vec<u8>, first: usize) -> Fed {
        let mut child = cmd
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap();
        let mut stdin = child.stdin.take().unwrap();
        stdin.write_all(&input[..first]).unwrap();
        Fed {
            child,
            stdin: Some(stdin),
            input,
            sent: first,
        }
    }

    fn signal(&self, sig: &str) {
        let ok = Command::new("kill")
            .args(["-s", sig, &self.child.id().to_string()])
            .status()
            .unwrap()
            .success();
        assert!(ok, "kill -s {sig}");
    }

    /// Sends the rest of the input (the command may stop reading: errors are expected), closes
    /// it and waits.
    fn finish(mut self) -> Output {
        if let Some(mut s) = self.stdin.take() {
            let _ = s.write_all(&self.input[self.sent..]);
        }
        self.child.wait_with_output().unwrap()
    }
}

fn stderr(o: &Output) -> String {
    String::from_utf8_lossy(&o.stderr).into_owned()
}

/// Whether this process ignores signal `n` (as a background job of a shell without job
/// control ignores SIGINT, or `nohup` SIGHUP): the command then keeps ignoring it, by design.
fn ignored_here(n: u32) -> bool {
    let status = fs::read_to_string("/proc/self/status").unwrap_or_default();
    status
        .lines()
        .find_map(|l| l.strip_prefix("SigIgn:"))
        .and_then(|v| u64::from_str_radix(v.trim(), 16).ok())
        .is_some_and(|mask| mask & (1 << (n - 1)) != 0)
}

#[test]
fn signals_cancel_restore_and_decrypt_and_leave_nothing_behind() {
    let backup = big_backup();
    for (sig, number, code) in [("TERM", 15, 143), ("INT", 2, 130), ("HUP", 1, 129)] {
        if ignored_here(number) {
            eprintln!("SKIPPED: SIG{sig} is ignored by the test process, so by the command too");
            continue;
        }
        // restore from stdin
        let work = tempfile::tempdir().unwrap();
        let before = names(work.path());
        let mut cmd = Command::new(bin());
        cmd.args(["restore", "--password", PW, "-", "-C", "dest"])
            .current_dir(work.path());
        let fed = Fed::start(&mut cmd, backup.clone(), 4 << 20);
        let staging = wait_for(work.path(), |p| is_staging_of(p, "dest"));
        assert_eq!(mode(&staging), 0o700, "staging directories are 0700");
        fed.signal(sig);
        let out = fed.finish();
        assert_eq!(out.status.code(), Some(code), "SIG{sig}: {}", stderr(&out));
        assert!(stderr(&out).contains(&format!("stopped by SIG{sig}")));
        assert_eq!(names(work.path()), before, "SIG{sig} left something");
        assert!(!work.path().join("dest").exists());

        // decrypt from stdin to a file
        let mut cmd = Command::new(bin());
        cmd.args(["decrypt", "--password", PW, "-", "-o", "out.tar.gz"])
            .current_dir(work.path());
        let fed = Fed::start(&mut cmd, backup.clone(), 4 << 20);
        let temp = wait_for(work.path(), |p| is_temp_of(p, "out.tar.gz"));
        assert_eq!(mode(&temp), 0o600, "temporary files are 0600");
        fed.signal(sig);
        let out = fed.finish();
        assert_eq!(out.status.code(), Some(code), "SIG{sig}: {}", stderr(&out));
        assert_eq!(names(work.path()), before, "SIG{sig} left something");
        assert!(!work.path().join("out.tar.gz").exists());
    }
}

#[test]
fn signal_cancels_a_replacing_restore_and_dest_keeps_the_old_tree() {
    let backup = big_backup();
    let work = tempfile::tempdir().unwrap();
    let dest = work.path().join("dest");
    fs::create_dir(&dest).unwrap();
    fs::write(dest.join("old.bson"), b"old").unwrap();
    let before = names(work.path());
    let mut cmd = Command::new(bin());
    cmd.args(["restore", "--force", "--password", PW, "-", "-C", "dest"])
        .current_dir(work.path());
    let fed = Fed::start(&mut cmd, backup, 4 << 20);
    wait_for(work.path(), |p| is_staging_of(p, "dest"));
    fed.signal("TERM");
    let out = fed.finish();
    assert_eq!(out.status.code(), Some(143), "{}", stderr(&out));
    assert_eq!(names(work.path()), before);
    assert_eq!(names(&dest), set(&["old.bson"]));
}

#[test]
fn sigkill_leftovers_are_removed_by_the_next_run_on_the_same_destination() {
    let backup = big_backup();
    let work = tempfile::tempdir().unwrap();
    fs::write(work.path().join("backup.tar.gz.enc"), &backup).unwrap();
    let before = names(work.path());

    // restore, killed
    let mut cmd = Command::new(bin());
    cmd.args(["restore", "--password", PW, "-", "-C", "dest"])
        .current_dir(work.path());
    let mut fed = Fed::start(&mut cmd, backup.clone(), 4 << 20);
    let staging = wait_for(work.path(), |p| is_staging_of(p, "dest"));
    fed.child.kill().unwrap();
    let _ = fed.finish();
    assert!(staging.exists(), "SIGKILL leaves the staging directory");

    // decrypt, killed
    let mut cmd = Command::new(bin());
    cmd.args(["decrypt", "--password", PW, "-", "-o", "out.tar.gz"])
        .current_dir(work.path());
    let mut fed = Fed::start(&mut cmd, backup.clone(), 4 << 20);
    let temp = wait_for(work.path(), |p| is_temp_of(p, "out.tar.gz"));
    fed.child.kill().unwrap();
    let _ = fed.finish();
    assert!(temp.exists(), "SIGKILL leaves the temporary file");

    // A leftover of another destination is not this run's business.
    let other = work.path().join(".other.a0backup-staging-abc123");
    fs::create_dir(&other).unwrap();

    let out = Command::new(bin())
        .args([
            "restore",
            "--password",
            PW,
            "backup.tar.gz.enc",
            "-C",
            "dest",
        ])
        .current_dir(work.path())
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", stderr(&out));
    let out = Command::new(bin())
        .args([
            "decrypt",
            "--password",
            PW,
            "backup.tar.gz.enc",
            "-o",
            "out.tar.gz",
        ])
        .current_dir(work.path())
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", stderr(&out));

    let mut expected = before.clone();
    expected.extend(set(&[
        "dest",
        "out.tar.gz",
        ".other.a0backup-staging-abc123",
    ]));
    assert_eq!(names(work.path()), expected);
    assert_eq!(
        names(&work.path().join("dest/dump")),
        set(&["big.bson", "first.bson"])
    );
}

#[test]
fn a_leftover_whose_owner_is_alive_is_not_removed() {
    let backup = big_backup();
    let work = tempfile::tempdir().unwrap();
    fs::write(work.path().join("backup.tar.gz.enc"), &backup).unwrap();

    // A: a restore and a decrypt, stopped in the middle (alive, holding their locks).
    let mut cmd = Command::new(bin());
    cmd.args(["restore", "--password", PW, "-", "-C", "dest"])
        .current_dir(work.path());
    let restore_a = Fed::start(&mut cmd, backup.clone(), 4 << 20);
    let staging_a = wait_for(work.path(), |p| is_staging_of(p, "dest"));
    let mut cmd = Command::new(bin());
    cmd.args(["decrypt", "--password", PW, "-", "-o", "out.tar.gz"])
        .current_dir(work.path());
    let decrypt_a = Fed::start(&mut cmd, backup.clone(), 4 << 20);
    let temp_a = wait_for(work.path(), |p| is_temp_of(p, "out.tar.gz"));

    // B: the same jobs to the same names, to completion.
    for args in [
        [
            "restore",
            "--password",
            PW,
            "backup.tar.gz.enc",
            "-C",
            "dest",
        ],
        [
            "decrypt",
            "--password",
            PW,
            "backup.tar.gz.enc",
            "-o",
            "out.tar.gz",
        ],
    ] {
        let out = Command::new(bin())
            .args(args)
            .current_dir(work.path())
            .output()
            .unwrap();
        assert!(out.status.success(), "{}", stderr(&out));
    }
    assert!(
        staging_a.exists(),
        "a live run's staging directory was removed"
    );
    assert!(temp_a.exists(), "a live run's temporary file was removed");

    // A goes on, finds its output taken, and cleans up after itself: the restore says that
    // DEST was made while it ran (it was new when A started), the decrypt that it exists.
    for (fed, says) in [
        (
            restore_a,
            "dest was made by another restore (or program) while this one ran",
        ),
        (decrypt_a, "already exists"),
    ] {
        let out = fed.finish();
        assert_eq!(out.status.code(), Some(1), "{}", stderr(&out));
        assert!(stderr(&out).contains(says), "{}", stderr(&out));
    }
    assert_eq!(
        names(work.path()),
        set(&["backup.tar.gz.enc", "dest", "out.tar.gz"])
    );
}

/// Runs `args` as an unprivileged user (nobody, when the tests run as root), in `cwd`, which
/// that user must own. `None` when that is not possible here.
fn run_unprivileged(args: &[&str], cwd: &Path) -> Option<Output> {
    let root = rustix::process::geteuid().is_root();
    let mut cmd = if root {
        if !common::have("setpriv") {
            return None;
        }
        let mut c = Command::new("setpriv");
        c.args(["--reuid=65534", "--regid=65534", "--clear-groups", bin()]);
        c
    } else {
        Command::new(bin())
    };
    Some(cmd.args(args).current_dir(cwd).output().unwrap())
}

/// A work directory the unprivileged user owns, readable by everyone (0755).
fn unprivileged_work() -> tempfile::TempDir {
    let work = tempfile::Builder::new()
        .prefix("a0b-nobody-")
        .tempdir_in("/tmp")
        .unwrap();
    fs::set_permissions(work.path(), fs::Permissions::from_mode(0o755)).unwrap();
    if rustix::process::geteuid().is_root() {
        std::os::unix::fs::chown(work.path(), Some(65534), Some(65534)).unwrap();
    }
    work
}

/// A backup with read-only directories (0555) holding files, as an archive may have.
fn read_only_backup() -> Vec<u8> {
    encrypt(&tar_gz(&[
        E::Dir("dump", 0o755),
        E::Dir("dump/ro", 0o555),
        E::File("dump/ro/users.bson", b"users", 0o444),
        E::Dir("dump/ro/inner", 0o555),
        E::File("dump/ro/inner/x.bson", b"x", 0o000),
    ]))
}

#[test]
fn read_only_directories_are_cleaned_up_as_an_ordinary_user() {
    let work = unprivileged_work();
    fs::write(work.path().join("in.enc"), read_only_backup()).unwrap();
    fs::set_permissions(
        work.path().join("in.enc"),
        fs::Permissions::from_mode(0o644),
    )
    .unwrap();
    let wrong_md5 = "0123456789abcdef0123456789abcdef";
    let args = [
        "restore",
        "--password",
        PW,
        "--md5",
        wrong_md5,
        "in.enc",
        "-C",
        "dest",
    ];
    let Some(out) = run_unprivileged(&args, work.path()) else {
        eprintln!("SKIPPED: no way to run as an ordinary user");
        return;
    };
    assert_eq!(out.status.code(), Some(4), "{}", stderr(&out));
    assert_eq!(names(work.path()), set(&["in.enc"]));

    // Restored, then replaced: the old tree with its read-only directories goes.
    let ok = run_unprivileged(
        &["restore", "--password", PW, "in.enc", "-C", "dest"],
        work.path(),
    )
    .unwrap();
    assert!(ok.status.success(), "{}", stderr(&ok));
    assert_eq!(mode(&work.path().join("dest/dump/ro")), 0o555);
    let again = run_unprivileged(
        &[
            "restore",
            "--force",
            "--password",
            PW,
            "in.enc",
            "-C",
            "dest",
        ],
        work.path(),
    )
    .unwrap();
    assert!(again.status.success(), "{}", stderr(&again));
    assert_eq!(names(work.path()), set(&["dest", "in.enc"]));
}

#[test]
fn a_replaced_tree_that_cannot_be_removed_is_an_error_not_exit_0() {
    if !rustix::process::geteuid().is_root() {
        eprintln!("SKIPPED: needs root to make a directory an ordinary user cannot remove");
        return;
    }
    let work = unprivileged_work();
    fs::write(work.path().join("in.enc"), read_only_backup()).unwrap();
    fs::set_permissions(
        work.path().join("in.enc"),
        fs::Permissions::from_mode(0o644),
    )
    .unwrap();
    // DEST belongs to the user, but holds a directory of root's with a file in it.
    let dest = work.path().join("dest");
    fs::create_dir_all(dest.join("roots")).unwrap();
    fs::write(dest.join("roots/file"), b"root's").unwrap();
    std::os::unix::fs::chown(&dest, Some(65534), Some(65534)).unwrap();
    let Some(out) = run_unprivileged(
        &[
            "restore",
            "--force",
            "--password",
            PW,
            "in.enc",
            "-C",
            "dest",
        ],
        work.path(),
    ) else {
        eprintln!("SKIPPED: no setpriv");
        return;
    };
    assert_eq!(out.status.code(), Some(1), "{}", stderr(&out));
    let err = stderr(&out);
    assert!(
        err.contains("the replaced tree") && err.contains("could not be removed"),
        "{err}"
    );
    assert!(err.contains("the destination holds the new tree"), "{err}");
    assert_eq!(names(&dest), set(&["dump"]));
    // The next run on DEST cannot remove it either, and says so instead of going on.
    let next = run_unprivileged(
        &[
            "restore",
            "--force",
            "--password",
            PW,
            "in.enc",
            "-C",
            "dest",
        ],
        work.path(),
    )
    .unwrap();
    assert_eq!(next.status.code(), Some(1), "{}", stderr(&next));
    assert!(
        stderr(&next).contains("a leftover of an earlier run"),
        "{}",
        stderr(&next)
    );
}

/// A backup whose one file sits 300 directories deep: deeper than the open-file limit the
/// test gives the command.
fn deep_backup() -> Vec<u8> {
    let mut path = String::from("dump");
    let mut entries_paths = vec![path.clone()];
    for _ in 0..300 {
        path.push_str("/d");
        entries_paths.push(path.clone());
    }
    let file = format!("{path}/deep.bson");
    let mut entries: Vec<E<'_>> = entries_paths.iter().map(|p| E::Dir(p, 0o755)).collect();
    entries.push(E::File(&file, b"deep", 0o644));
    encrypt(&tar_gz(&entries))
}

fn with_fd_limit(limit: u32, args: &[&str], cwd: &Path) -> Output {
    Command::new("sh")
        .arg("-c")
        .arg(format!("ulimit -n {limit} && exec \"$0\" \"$@\""))
        .arg(bin())
        .args(args)
        .current_dir(cwd)
        .output()
        .unwrap()
}

#[test]
fn trees_deeper_than_the_open_file_limit_are_removed() {
    let work = tempfile::tempdir().unwrap();
    fs::write(work.path().join("deep.enc"), deep_backup()).unwrap();
    let wrong_md5 = "0123456789abcdef0123456789abcdef";
    let out = with_fd_limit(
        64,
        &[
            "restore",
            "--password",
            PW,
            "--md5",
            wrong_md5,
            "deep.enc",
            "-C",
            "dest",
        ],
        work.path(),
    );
    assert_eq!(out.status.code(), Some(4), "{}", stderr(&out));
    assert_eq!(names(work.path()), set(&["deep.enc"]));

    let out = with_fd_limit(
        64,
        &["restore", "--password", PW, "deep.enc", "-C", "dest"],
        work.path(),
    );
    assert!(out.status.success(), "{}", stderr(&out));
    let out = with_fd_limit(
        64,
        &[
            "restore",
            "--force",
            "--password",
            PW,
            "deep.enc",
            "-C",
            "dest",
        ],
        work.path(),
    );
    assert!(out.status.success(), "{}", stderr(&out));
    assert_eq!(names(work.path()), set(&["deep.enc", "dest"]));
}

fn small_backup() -> Vec<u8> {
    encrypt(&tar_gz(&[
        E::Dir("dump", 0o755),
        E::File("dump/users.bson", b"users", 0o644),
    ]))
}

#[test]
fn an_existing_dest_keeps_its_mode_and_a_new_one_follows_the_umask() {
    let work = tempfile::tempdir().unwrap();
    let backup = work.path().join("b.enc");
    fs::write(&backup, small_backup()).unwrap();
    let pw = Password::from(PW);

    // Empty DEST made 0700 beforehand.
    let empty = work.path().join("empty");
    fs::create_dir(&empty).unwrap();
    fs::set_permissions(&empty, fs::Permissions::from_mode(0o700)).unwrap();
    restore_file(&backup, &empty, Some(&pw), RestoreOptions::new()).unwrap();
    assert_eq!(mode(&empty), 0o700);

    // Non-empty DEST 0750, replaced.
    let full = work.path().join("full");
    fs::create_dir(&full).unwrap();
    fs::write(full.join("old"), b"").unwrap();
    fs::set_permissions(&full, fs::Permissions::from_mode(0o750)).unwrap();
    restore_file(
        &backup,
        &full,
        Some(&pw),
        RestoreOptions::new().replace(true),
    )
    .unwrap();
    assert_eq!(mode(&full), 0o750);
    assert_eq!(names(&full), set(&["dump"]));

    // New DEST: 0777 & !umask, like mkdir.
    for (umask, expected) in [("027", 0o750), ("002", 0o775), ("077", 0o700)] {
        let name = format!("new{umask}");
        let out = Command::new("sh")
            .arg("-c")
            .arg(format!("umask {umask} && exec \"$0\" \"$@\""))
            .arg(bin())
            .args(["restore", "--password", PW, "b.enc", "-C", &name])
            .current_dir(work.path())
            .output()
            .unwrap();
        assert!(out.status.success(), "{}", stderr(&out));
        assert_eq!(mode(&work.path().join(&name)), expected, "umask {umask}");
    }
}

#[test]
fn restore_into_the_empty_current_directory() {
    let work = tempfile::tempdir().unwrap();
    let backup = work.path().join("b.enc");
    fs::write(&backup, small_backup()).unwrap();
    let dest = work.path().join("here");
    fs::create_dir(&dest).unwrap();
    fs::set_permissions(&dest, fs::Permissions::from_mode(0o711)).unwrap();
    let out = Command::new(bin())
        .args([
            "restore",
            "--password",
            PW,
            backup.to_str().unwrap(),
            "-C",
            ".",
        ])
        .current_dir(&dest)
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", stderr(&out));
    assert_eq!(names(work.path()), set(&["b.enc", "here"]));
    assert_eq!(fs::read(dest.join("dump/users.bson")).unwrap(), b"users");
    assert_eq!(mode(&dest), 0o711);
}

#[test]
fn a_missing_parent_is_named_not_a_temporary_path() {
    let work = tempfile::tempdir().unwrap();
    fs::write(work.path().join("b.enc"), small_backup()).unwrap();
    for args in [
        ["restore", "--password", PW, "b.enc", "-C", "no/such/dest"],
        ["decrypt", "--password", PW, "b.enc", "-o", "no/such/out"],
    ] {
        let out = Command::new(bin())
            .args(args)
            .current_dir(work.path())
            .output()
            .unwrap();
        assert_eq!(out.status.code(), Some(1));
        let err = stderr(&out);
        assert!(err.contains("no/such: No such file or directory"), "{err}");
        assert!(!err.contains("a0backup-"), "{err}");
    }
    assert_eq!(names(work.path()), set(&["b.enc"]));
}

/// Unmounts on drop.
struct Mount(PathBuf);

impl Drop for Mount {
    fn drop(&mut self) {
        let _ = Command::new("umount").arg(&self.0).status();
    }
}

fn mount_tmpfs(at: &Path) -> Option<Mount> {
    let ok = Command::new("mount")
        .args(["-t", "tmpfs", "-o", "size=1m", "tmpfs"])
        .arg(at)
        .stderr(Stdio::null())
        .status()
        .map(|s| s.success())
        .unwrap_or(false);
    ok.then(|| Mount(at.to_path_buf()))
}

#[test]
fn force_refuses_a_dest_with_a_mount_point_inside() {
    let work = tempfile::tempdir().unwrap();
    fs::write(work.path().join("b.enc"), small_backup()).unwrap();
    let dest = work.path().join("dest");
    let mnt = dest.join("sub/mnt");
    fs::create_dir_all(&mnt).unwrap();
    fs::write(dest.join("old.bson"), b"old").unwrap();
    let Some(mount) = mount_tmpfs(&mnt) else {
        eprintln!("SKIPPED: cannot mount a tmpfs here (the check itself is unit-tested)");
        return;
    };
    fs::write(mnt.join("precious"), b"mounted data").unwrap();
    let out = Command::new(bin())
        .args([
            "restore",
            "--force",
            "--password",
            PW,
            "b.enc",
            "-C",
            "dest",
        ])
        .current_dir(work.path())
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1), "{}", stderr(&out));
    assert!(
        stderr(&out).contains("a file system is mounted here"),
        "{}",
        stderr(&out)
    );
    assert!(stderr(&out).contains("sub/mnt"), "{}", stderr(&out));
    assert_eq!(fs::read(mnt.join("precious")).unwrap(), b"mounted data");
    assert_eq!(names(&dest), set(&["old.bson", "sub"]));
    assert_eq!(names(work.path()), set(&["b.enc", "dest"]));

    // DEST itself a mount point: refused before any work, with what to do instead.
    drop(mount);
    let empty = work.path().join("empty");
    fs::create_dir(&empty).unwrap();
    let Some(_mount) = mount_tmpfs(&empty) else {
        return;
    };
    let out = Command::new(bin())
        .args(["restore", "--password", PW, "b.enc", "-C", "empty"])
        .current_dir(work.path())
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1), "{}", stderr(&out));
    assert!(
        stderr(&out).contains("is a mount point"),
        "{}",
        stderr(&out)
    );
    assert_eq!(names(work.path()), set(&["b.enc", "dest", "empty"]));
}

/// The system calls of a run that touch durability, as `strace -y` prints them.
fn traced(args: &[&str], cwd: &Path) -> Option<Vec<String>> {
    if !common::have("strace") {
        return None;
    }
    let log = cwd.join("..").join(format!(
        "strace-{}-{}.log",
        std::process::id(),
        args.join("_").len()
    ));
    let out = Command::new("strace")
        .args([
            "-f",
            "-qq",
            "-y",
            "-e",
            "trace=fsync,fdatasync,rename,renameat,renameat2,unlink,unlinkat,rmdir",
            "-o",
        ])
        .arg(&log)
        .arg(bin())
        .args(args)
        .current_dir(cwd)
        .output()
        .unwrap();
    let text = fs::read_to_string(&log).unwrap_or_default();
    let _ = fs::remove_file(&log);
    if !out.status.success() && text.is_empty() {
        eprintln!("SKIPPED: strace cannot trace here: {}", stderr(&out));
        return None;
    }
    assert!(out.status.success(), "{}", stderr(&out));
    Some(text.lines().map(str::to_owned).collect())
}

/// Whether `line` is a successful fsync of exactly the directory `dir`.
fn synced(line: &str, dir: &str) -> bool {
    line.contains("fsync(")
        && line.contains(&format!("<{dir}>)"))
        && line.trim_end().ends_with("= 0")
}

fn first(lines: &[String], pred: impl Fn(&str) -> bool) -> Option<usize> {
    lines.iter().position(|l| pred(l))
}

#[test]
fn everything_is_flushed_before_the_rename_and_the_parent_after() {
    let outer = tempfile::tempdir().unwrap();
    let work = outer.path().join("w");
    fs::create_dir(&work).unwrap();
    let work = work.canonicalize().unwrap();
    fs::write(work.join("b.enc"), small_backup()).unwrap();
    let w = work.display().to_string();

    // restore into a new DEST
    let Some(t) = traced(&["restore", "--password", PW, "b.enc", "-C", "dest"], &work) else {
        eprintln!("SKIPPED: no strace");
        return;
    };
    let rename = first(&t, |l| l.contains("rename") && l.contains("\"dest\"")).expect("the rename");
    // The staging root itself: `fsync(N</.../.dest.a0backup-staging-XXXX>) = 0`.
    let root = first(&t, |l| {
        l.contains("fsync(")
            && l.split("a0backup-staging-")
                .nth(1)
                .is_some_and(|rest| !rest.split('>').next().unwrap_or("/").contains('/'))
    });
    assert!(
        root.is_some_and(|i| i < rename),
        "no fsync of the staging root before the rename:\n{}",
        t.join("\n")
    );
    for what in ["dump/users.bson>", "dump>"] {
        let f = first(&t, |l| l.contains("fsync(") && l.contains(what));
        assert!(
            f.is_some_and(|i| i < rename),
            "no fsync of {what} before the rename:\n{}",
            t.join("\n")
        );
    }
    let parent_sync = first(&t[rename..], |l| synced(l, &w));
    assert!(
        parent_sync.is_some(),
        "no fsync of the parent after the rename:\n{}",
        t.join("\n")
    );

    // --force: exchanged, and the old tree removed only after the parent is flushed.
    let t = traced(
        &[
            "restore",
            "--force",
            "--password",
            PW,
            "b.enc",
            "-C",
            "dest",
        ],
        &work,
    )
    .unwrap();
    let swap = first(&t, |l| l.contains("RENAME_EXCHANGE")).expect("renameat2(RENAME_EXCHANGE)");
    let parent_sync = swap + first(&t[swap..], |l| synced(l, &w)).expect("parent fsync");
    let removal = first(&t, |l| {
        (l.contains("unlink") || l.contains("rmdir")) && l.contains("users.bson")
    })
    .expect("the old tree's removal");
    assert!(
        removal > parent_sync,
        "old tree removed before the new one was durable:\n{}",
        t.join("\n")
    );

    // decrypt: the file, then the rename, then the directory.
    let t = traced(
        &["decrypt", "--password", PW, "b.enc", "-o", "out.tar.gz"],
        &work,
    )
    .unwrap();
    let rename =
        first(&t, |l| l.contains("rename") && l.contains("\"out.tar.gz\"")).expect("the rename");
    assert!(
        first(&t, |l| l.contains("fsync(") && l.contains(".a0backup-tmp>"))
            .is_some_and(|i| i < rename)
    );
    assert!(first(&t[rename..], |l| synced(l, &w)).is_some());

    // --no-sync: no flush at all.
    for args in [
        &[
            "restore",
            "--no-sync",
            "--force",
            "--password",
            PW,
            "b.enc",
            "-C",
            "dest",
        ][..],
        &[
            "decrypt",
            "--no-sync",
            "--force",
            "--password",
            PW,
            "b.enc",
            "-o",
            "out.tar.gz",
        ][..],
    ] {
        let t = traced(args, &work).unwrap();
        assert_eq!(
            first(&t, |l| l.contains("fsync(") || l.contains("fdatasync(")),
            None,
            "{}",
            t.join("\n")
        );
    }
    assert_eq!(names(&work), set(&["b.enc", "dest", "out.tar.gz"]));
}
