//! `restore --force` where the kernel cannot exchange two names (`renameat2(RENAME_EXCHANGE)`
//! fails with EINVAL on FUSE and NFS-like file systems): the old tree is renamed aside, then
//! the new one into place. A crash at any point of that, and any later run (one that fails on
//! a wrong password included), leaves DEST holding the old tree or the complete new one.
//!
//! The missing exchange is simulated with `strace -e inject=renameat2:error=EINVAL`, a crash
//! with `inject=SYSCALL:error=EIO:signal=KILL:when=N` (the call is not made, the process is
//! killed on entering it), at every rename, mkdir, fsync, rmdir and unlink of the publishing
//! thread; and the real thing on a FUSE mount (bindfs) where `/dev/fuse` exists.
#![cfg(feature = "cli")]

mod common;

use std::collections::{BTreeMap, BTreeSet};
use std::fs;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use a0backup::{EncryptWriter, Format, Password};
use flate2::write::GzEncoder;

const PW: &str = "Passw0rd";

fn bin() -> &'static str {
    env!("CARGO_BIN_EXE_a0backup")
}

/// Whether the traced command was killed by SIGKILL (strace ends the same way).
fn killed(o: &Output) -> bool {
    use std::os::unix::process::ExitStatusExt;
    o.status.signal() == Some(9) || o.status.code() == Some(137)
}

fn stderr(o: &Output) -> String {
    String::from_utf8_lossy(&o.stderr).into_owned()
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

/// The tree at `root`: every file's relative path and content, every directory's with an
/// empty content and a trailing `/`.
fn tree(root: &Path) -> BTreeMap<String, Vec<u8>> {
    let mut out = BTreeMap::new();
    let mut pending = vec![root.to_path_buf()];
    while let Some(dir) = pending.pop() {
        for e in fs::read_dir(&dir).unwrap() {
            let p = e.unwrap().path();
            let rel = p.strip_prefix(root).unwrap().to_string_lossy().into_owned();
            if p.is_dir() {
                out.insert(format!("{rel}/"), Vec::new());
                pending.push(p);
            } else {
                out.insert(rel, fs::read(&p).unwrap());
            }
        }
    }
    out
}

/// The backup: a few directories and files, so that every step of publishing (fsync of each
/// file and directory, the removal of the old tree) has more than one system call.
fn backup() -> Vec<u8> {
    let mut b = tar::Builder::new(GzEncoder::new(Vec::new(), flate2::Compression::fast()));
    for (path, data) in [
        ("dump/", None),
        ("dump/auth0/", None),
        ("dump/auth0/users.bson", Some(&b"new users"[..])),
        ("dump/auth0/users.metadata.json", Some(&b"{}"[..])),
        ("dump/admin/", None),
        ("dump/admin/system.version.bson", Some(&b"new version"[..])),
    ] {
        let mut h = tar::Header::new_gnu();
        h.set_mtime(1_700_000_000);
        match data {
            None => {
                h.set_entry_type(tar::EntryType::Directory);
                h.set_mode(0o755);
                h.set_size(0);
                b.append_data(&mut h, path, &[][..]).unwrap();
            }
            Some(d) => {
                h.set_entry_type(tar::EntryType::Regular);
                h.set_mode(0o644);
                h.set_size(d.len() as u64);
                b.append_data(&mut h, path, d).unwrap();
            }
        }
    }
    let gz = b.into_inner().unwrap().finish().unwrap();
    let mut w = EncryptWriter::new(Vec::new(), &Password::from(PW), Format::Node).unwrap();
    w.write_all(&gz).unwrap();
    w.finish().unwrap()
}

/// The tree DEST holds before the replacing restore.
fn make_old_tree(dest: &Path) {
    fs::create_dir_all(dest.join("dump/old")).unwrap();
    fs::write(dest.join("dump/old/keep.bson"), b"the old tree").unwrap();
    fs::write(dest.join("OLD"), b"").unwrap();
}

fn old_tree() -> BTreeMap<String, Vec<u8>> {
    let t = tempfile::tempdir().unwrap();
    make_old_tree(t.path());
    tree(t.path())
}

fn new_tree() -> BTreeMap<String, Vec<u8>> {
    let t = tempfile::tempdir().unwrap();
    fs::write(t.path().join("b.enc"), backup()).unwrap();
    let out = Command::new(bin())
        .args(["restore", "-q", "--password", PW, "b.enc", "-C", "d"])
        .current_dir(t.path())
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", stderr(&out));
    tree(&t.path().join("d"))
}

/// Whether strace can trace here. Outside CI a missing or unusable strace skips the test
/// (and says so); under CI it fails it.
fn strace_works() -> bool {
    if !common::have("strace") {
        return false;
    }
    let ok = Command::new("strace")
        .args(["-f", "-qq", "-o", "/dev/null", "true"])
        .status()
        .map(|s| s.success())
        .unwrap_or(false);
    if !ok {
        assert!(
            std::env::var_os("CI").is_none(),
            "strace cannot trace here, and CI must run these tests"
        );
        eprintln!("SKIPPED: strace cannot trace here");
    }
    ok
}

/// A traced run of the command: its output, and strace's log of `syscalls` (every line,
/// `PID call(...) = result`). `injects` are `-e inject=` specifications.
fn traced(args: &[&str], cwd: &Path, injects: &[String]) -> (Output, Vec<String>) {
    let log = tempfile::NamedTempFile::new().unwrap();
    let mut cmd = Command::new("strace");
    cmd.args(["-f", "-qq", "-e"])
        .arg("trace=rename,renameat,renameat2,mkdir,mkdirat,rmdir,unlink,unlinkat,fsync,flock");
    for i in injects {
        cmd.arg("-e").arg(format!("inject={i}"));
    }
    let out = cmd
        .arg("-o")
        .arg(log.path())
        .arg(bin())
        .args(args)
        .current_dir(cwd)
        .output()
        .unwrap();
    let text = fs::read_to_string(log.path()).unwrap();
    (out, text.lines().map(str::to_owned).collect())
}

/// The pid of the traced command (the first line of the log is its own).
fn main_pid(log: &[String]) -> &str {
    log[0].split_whitespace().next().unwrap()
}

/// How many times the command's main thread (which publishes) entered `call`.
fn calls_on_main(log: &[String], call: &str) -> usize {
    let pid = main_pid(log);
    log.iter()
        .filter(|l| l.split_whitespace().next() == Some(pid))
        .filter(|l| {
            l.split_whitespace()
                .nth(1)
                .is_some_and(|c| c.starts_with(&format!("{call}(")))
        })
        .count()
}

const NO_EXCHANGE: &str = "renameat2:error=EINVAL";

fn force_args<'a>(pw: &'a str, dest: &'a str) -> [&'a str; 8] {
    [
        "restore",
        "-q",
        "--force",
        "--password",
        pw,
        "b.enc",
        "-C",
        dest,
    ]
}

/// A work directory with the backup and DEST holding the old tree.
fn work_with_old_dest() -> tempfile::TempDir {
    let work = tempfile::tempdir().unwrap();
    fs::write(work.path().join("b.enc"), backup()).unwrap();
    make_old_tree(&work.path().join("dest"));
    work
}

#[test]
fn without_exchange_force_renames_aside_flushes_between_and_leaves_nothing() {
    if !strace_works() {
        return;
    }
    let work = work_with_old_dest();
    let (out, log) = traced(
        &force_args(PW, "dest"),
        work.path(),
        &[NO_EXCHANGE.to_string()],
    );
    assert!(out.status.success(), "{}", stderr(&out));
    let text = log.join("\n");
    let at = |pred: &dyn Fn(&str) -> bool, what: &str| -> usize {
        log.iter()
            .position(|l| pred(l))
            .unwrap_or_else(|| panic!("no {what} in:\n{text}"))
    };
    let exchange = at(
        &|l| l.contains("RENAME_EXCHANGE") && l.contains("(INJECTED)"),
        "failed exchange",
    );
    let aside = at(
        &|l| l.contains("rename(\"dest\", ") && l.contains(".dest.a0backup-aside-"),
        "rename of DEST aside",
    );
    let into = at(
        &|l| l.contains("rename(") && l.contains("a0backup-staging-") && l.contains(", \"dest\")"),
        "rename of the new tree into DEST",
    );
    let fsync_after = |from: usize| {
        log[from..]
            .iter()
            .position(|l| l.contains("fsync(") && l.ends_with("= 0"))
            .map(|i| i + from)
    };
    assert!(exchange < aside && aside < into, "{text}");
    // The parent is flushed between the two renames (the old tree's new name is durable
    // before the new tree takes DEST) and after the second; the old tree goes only then.
    assert!(fsync_after(aside).is_some_and(|f| f < into), "{text}");
    let flushed = fsync_after(into).expect("an fsync after the second rename");
    let removal = at(
        &|l| (l.contains("unlink") || l.contains("rmdir")) && l.contains("keep.bson"),
        "the old tree's removal",
    );
    assert!(removal > flushed, "{text}");
    assert_eq!(names(work.path()), set(&["b.enc", "dest"]));
    assert_eq!(tree(&work.path().join("dest")), new_tree());
}

/// After a crash of the replacing run, a run that fails (wrong password) must leave DEST with
/// the old or the complete new tree and nothing else beside it; then a good run replaces it.
fn assert_recovers(
    work: &Path,
    what: &str,
    old: &BTreeMap<String, Vec<u8>>,
    new: &BTreeMap<String, Vec<u8>>,
) {
    let out = Command::new(bin())
        .args(force_args("wrong password", "dest"))
        .current_dir(work)
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(3), "{what}: {}", stderr(&out));
    assert_eq!(
        names(work),
        set(&["b.enc", "dest"]),
        "{what}: the sweep left or lost something"
    );
    let t = tree(&work.join("dest"));
    assert!(
        &t == old || &t == new,
        "{what}: DEST holds neither tree: {:?}",
        t.keys().collect::<Vec<_>>()
    );
    let out = Command::new(bin())
        .args(force_args(PW, "dest"))
        .current_dir(work)
        .output()
        .unwrap();
    assert!(out.status.success(), "{what}: {}", stderr(&out));
    assert_eq!(&tree(&work.join("dest")), new, "{what}");
    assert_eq!(names(work), set(&["b.enc", "dest"]), "{what}");
}

#[test]
fn a_kill_at_any_step_of_a_replacing_restore_without_exchange_loses_no_tree() {
    if !strace_works() {
        return;
    }
    let (old, new) = (old_tree(), new_tree());
    // The calls of one whole run, counted on the thread that publishes.
    let work = work_with_old_dest();
    let (out, log) = traced(
        &force_args(PW, "dest"),
        work.path(),
        &[NO_EXCHANGE.to_string()],
    );
    assert!(out.status.success(), "{}", stderr(&out));
    let calls = ["mkdir", "rename", "fsync", "rmdir", "unlink", "unlinkat"];
    let mut points = 0;
    let mut between = false;
    for call in calls {
        for n in 1..=calls_on_main(&log, call) {
            let what = format!("killed entering {call} #{n}");
            let work = work_with_old_dest();
            let kill = format!("{call}:error=EIO:signal=KILL:when={n}");
            let (out, _) = traced(
                &force_args(PW, "dest"),
                work.path(),
                &[NO_EXCHANGE.to_string(), kill],
            );
            assert!(killed(&out), "{what}: {}", stderr(&out));
            if !work.path().join("dest").exists() {
                // The window the sweep exists for: the old tree is only at its aside name.
                between = true;
                assert!(
                    names(work.path())
                        .iter()
                        .any(|n| n.starts_with(".dest.a0backup-aside-")),
                    "{what}: {:?}",
                    names(work.path())
                );
            }
            assert_recovers(work.path(), &what, &old, &new);
            points += 1;
        }
    }
    assert!(points >= 10, "only {points} kill points");
    assert!(between, "no kill point fell between the two renames");
}

#[test]
fn a_kill_while_the_sweep_puts_the_old_tree_back_loses_nothing_either() {
    if !strace_works() {
        return;
    }
    let (old, new) = (old_tree(), new_tree());
    for (call, n) in [("rename", 1), ("fsync", 1)] {
        let what = format!("sweep killed entering {call} #{n}");
        let work = work_with_old_dest();
        // Killed between its two renames: DEST is missing.
        let (out, _) = traced(
            &force_args(PW, "dest"),
            work.path(),
            &[
                NO_EXCHANGE.to_string(),
                "rename:error=EIO:signal=KILL:when=2".to_string(),
            ],
        );
        assert!(killed(&out), "{}", stderr(&out));
        assert!(!work.path().join("dest").exists());
        // The next run dies while putting it back (its first rename and fsync are the sweep's).
        let (out, log) = traced(
            &force_args("wrong password", "dest"),
            work.path(),
            &[format!("{call}:error=EIO:signal=KILL:when={n}")],
        );
        assert!(killed(&out), "{what}: {}", stderr(&out));
        assert!(
            log.iter().any(|l| l.contains("a0backup-aside-")),
            "{what}: the run did not reach the sweep"
        );
        assert_recovers(work.path(), &what, &old, &new);
    }
}

#[test]
fn the_sweep_keeps_both_trees_when_dest_was_made_again_by_someone_else() {
    if !strace_works() {
        return;
    }
    let work = work_with_old_dest();
    let (out, _) = traced(
        &force_args(PW, "dest"),
        work.path(),
        &[
            NO_EXCHANGE.to_string(),
            "rename:error=EIO:signal=KILL:when=2".to_string(),
        ],
    );
    assert!(killed(&out), "{}", stderr(&out));
    // Someone makes DEST by hand before any run: neither the old tree (aside) nor the new
    // one (staging) may be removed, since DEST is neither.
    fs::create_dir(work.path().join("dest")).unwrap();
    fs::write(work.path().join("dest/mine"), b"").unwrap();
    let before = names(work.path());
    let aside: PathBuf = work.path().join(
        before
            .iter()
            .find(|n| n.starts_with(".dest.a0backup-aside-"))
            .unwrap(),
    );
    let out = Command::new(bin())
        .args(force_args(PW, "dest"))
        .current_dir(work.path())
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1), "{}", stderr(&out));
    assert!(
        stderr(&out).contains("was made again since"),
        "{}",
        stderr(&out)
    );
    assert_eq!(names(work.path()), before);
    assert_eq!(tree(&aside), old_tree());
}

/// A FUSE mount of a directory (bindfs), unmounted on drop.
struct Fuse {
    mnt: PathBuf,
}

impl Drop for Fuse {
    fn drop(&mut self) {
        let unmounted = Command::new("fusermount")
            .arg("-u")
            .arg(&self.mnt)
            .status()
            .is_ok_and(|s| s.success());
        if !unmounted {
            let _ = Command::new("umount").arg(&self.mnt).status();
        }
    }
}

/// Whether `renameat2(RENAME_EXCHANGE)` works in `dir`.
fn can_exchange(dir: &Path) -> bool {
    use rustix::fs::{renameat_with, RenameFlags, CWD};
    let (a, b) = (dir.join("probe-a"), dir.join("probe-b"));
    fs::create_dir(&a).unwrap();
    fs::create_dir(&b).unwrap();
    let ok = renameat_with(CWD, &a, CWD, &b, RenameFlags::EXCHANGE).is_ok();
    fs::remove_dir(&a).unwrap();
    fs::remove_dir(&b).unwrap();
    ok
}

#[test]
fn force_on_a_fuse_mount_without_exchange() {
    if !Path::new("/dev/fuse").exists() {
        eprintln!("SKIPPED: no /dev/fuse here");
        return;
    }
    if !common::have("bindfs") || !strace_works() {
        return;
    }
    let outer = tempfile::tempdir().unwrap();
    let (src, mnt) = (outer.path().join("src"), outer.path().join("mnt"));
    fs::create_dir(&src).unwrap();
    fs::create_dir(&mnt).unwrap();
    let out = Command::new("bindfs").arg(&src).arg(&mnt).output().unwrap();
    assert!(out.status.success(), "bindfs: {}", stderr(&out));
    let fuse = Fuse { mnt: mnt.clone() };
    assert!(
        !can_exchange(&fuse.mnt),
        "this FUSE mount exchanges names: the test would not test the fallback"
    );
    let (old, new) = (old_tree(), new_tree());

    fs::write(mnt.join("b.enc"), backup()).unwrap();
    make_old_tree(&mnt.join("dest"));
    let out = Command::new(bin())
        .args(force_args(PW, "dest"))
        .current_dir(&mnt)
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", stderr(&out));
    assert_eq!(tree(&mnt.join("dest")), new);
    assert_eq!(names(&mnt), set(&["b.enc", "dest"]));

    // Killed between the two renames, on the real thing.
    fs::remove_dir_all(mnt.join("dest")).unwrap();
    make_old_tree(&mnt.join("dest"));
    let (out, log) = traced(
        &force_args(PW, "dest"),
        &mnt,
        &["rename:error=EIO:signal=KILL:when=2".to_string()],
    );
    assert!(killed(&out), "{}", stderr(&out));
    assert!(
        log.iter().any(|l| l.contains("RENAME_EXCHANGE")
            && l.contains("EINVAL")
            && !l.contains("INJECTED")),
        "the mount itself refused the exchange:\n{}",
        log.join("\n")
    );
    assert!(!mnt.join("dest").exists());
    assert_recovers(&mnt, "killed between the renames on FUSE", &old, &new);
    drop(fuse);
}
