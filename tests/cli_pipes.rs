//! Inputs are read once, from the handle they were opened as: a named pipe (FIFO) or a process
//! substitution (`<(cat b.enc)`) works like the file itself for every command, the first bytes
//! the command looks at included. And a signal ends the command wherever it waits: opening a
//! FIFO that has no writer yet, reading a pipe whose writer stalls, writing to a standard
//! output that nobody reads; it cleans up what it made and exits 128 + the signal.
//!
//! No timing: each signal is sent once the command is seen waiting in poll(2) (its wchan in
//! /proc), and the state it waits in is made by the test (a FIFO held open, a pipe not read).
#![cfg(feature = "cli")]

use std::collections::{BTreeMap, BTreeSet};
use std::fs::{self, File, OpenOptions};
use std::io::{Read, Write};
use std::os::unix::process::ExitStatusExt;
use std::path::Path;
use std::process::{Child, Command, Output, Stdio};
use std::time::{Duration, Instant};

use a0backup::pack::PackOptions;
use a0backup::Password;

const PW: &str = "Passw0rd";

fn bin() -> &'static str {
    env!("CARGO_BIN_EXE_a0backup")
}

fn stderr(o: &Output) -> String {
    String::from_utf8_lossy(&o.stderr).into_owned()
}

fn names(dir: &Path) -> BTreeSet<String> {
    fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect()
}

/// Every file under `root` with its content.
fn tree(root: &Path) -> BTreeMap<String, Vec<u8>> {
    let mut out = BTreeMap::new();
    let mut pending = vec![root.to_path_buf()];
    while let Some(dir) = pending.pop() {
        for e in fs::read_dir(&dir).unwrap() {
            let p = e.unwrap().path();
            let rel = p.strip_prefix(root).unwrap().to_string_lossy().into_owned();
            if p.is_dir() {
                pending.push(p);
            } else {
                out.insert(rel, fs::read(&p).unwrap());
            }
        }
    }
    out
}

fn noise(len: usize, seed: u64) -> Vec<u8> {
    let mut x = seed | 1;
    (0..len)
        .map(|_| {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            x as u8
        })
        .collect()
}

/// A work directory with `b.enc` and `b.tar.gz` of a mongodump-like tree (a collection that
/// `check` reads cleanly) with `size` bytes of noise beside it (so the archives are that big).
fn work(size: usize) -> tempfile::TempDir {
    let w = tempfile::tempdir().unwrap();
    let dump = w.path().join("tree/dump/auth0");
    fs::create_dir_all(&dump).unwrap();
    fs::write(dump.join("blob.dat"), noise(size, 3)).unwrap();
    fs::write(dump.join("users.bson"), [5u8, 0, 0, 0, 0].repeat(1000)).unwrap();
    fs::write(dump.join("users.metadata.json"), b"{}").unwrap();
    let top = w.path().join("tree/dump");
    let plain = PackOptions::new();
    a0backup::pack::pack_writer(
        &top,
        File::create(w.path().join("b.tar.gz")).unwrap(),
        None,
        plain,
    )
    .unwrap();
    let pw = Password::from(PW);
    let enc = File::create(w.path().join("b.enc")).unwrap();
    a0backup::pack::pack_writer(&top, enc, Some(&pw), PackOptions::new()).unwrap();
    fs::remove_dir_all(w.path().join("tree")).unwrap();
    w
}

fn mkfifo(path: &Path) {
    let ok = Command::new("mkfifo").arg(path).status().unwrap().success();
    assert!(ok, "mkfifo {}", path.display());
}

/// Whether a thread of process `pid` waits in poll(2).
fn waits_in_poll(pid: u32) -> bool {
    let Ok(tasks) = fs::read_dir(format!("/proc/{pid}/task")) else {
        return false;
    };
    tasks
        .flatten()
        .any(|t| fs::read_to_string(t.path().join("wchan")).is_ok_and(|w| w.contains("poll")))
}

/// Waits until `ready` holds, failing (not hanging) if `child` ends first or after a bound
/// that is only there to turn a hang into a failure.
fn wait_until(child: &mut Child, what: &str, ready: impl Fn() -> bool) {
    let start = Instant::now();
    while !ready() {
        if let Some(status) = child.try_wait().unwrap() {
            panic!("{what}: the command ended ({status}) before it waited");
        }
        assert!(
            start.elapsed() < Duration::from_secs(120),
            "{what}: never waited"
        );
        std::thread::sleep(Duration::from_millis(10));
    }
}

fn signal(child: &Child, sig: &str) {
    let ok = Command::new("kill")
        .args(["-s", sig, &child.id().to_string()])
        .status()
        .unwrap()
        .success();
    assert!(ok);
}

/// Whether this process ignores signal `n` (a background job without job control ignores
/// SIGINT): the command then ignores it too, by design.
fn ignored_here(n: u32) -> bool {
    fs::read_to_string("/proc/self/status")
        .unwrap_or_default()
        .lines()
        .find_map(|l| l.strip_prefix("SigIgn:"))
        .and_then(|v| u64::from_str_radix(v.trim(), 16).ok())
        .is_some_and(|mask| mask & (1 << (n - 1)) != 0)
}

/// What a run left: its standard output, the files it wrote, and its exit code.
#[derive(Debug, PartialEq)]
struct RunResult {
    code: Option<i32>,
    stdout: Vec<u8>,
    files: BTreeMap<String, Vec<u8>>,
}

/// The commands, with `IN` where INPUT goes; their outputs go into `out/`.
const COMMANDS: &[(&str, &[&str])] = &[
    (
        "b.enc",
        &[
            "decrypt",
            "-q",
            "--password",
            PW,
            "IN",
            "-o",
            "out/b.tar.gz",
        ],
    ),
    // Not named .gz: no gzip check, so lost first bytes would pass silently.
    (
        "b.enc",
        &["decrypt", "-q", "--password", PW, "IN", "-o", "out/b.bin"],
    ),
    (
        "b.enc",
        &["decrypt", "-q", "--password", PW, "IN", "-o", "-"],
    ),
    (
        "b.enc",
        &[
            "restore",
            "-q",
            "--password",
            PW,
            "IN",
            "-C",
            "out/restored",
        ],
    ),
    (
        "b.enc",
        &[
            "restore",
            "-q",
            "--threads=2",
            "--password",
            PW,
            "IN",
            "-C",
            "out/restored",
        ],
    ),
    ("b.tar.gz", &["unpack", "-q", "IN", "-C", "out/unpacked"]),
    ("b.enc", &["list", "--password", PW, "IN"]),
    ("b.tar.gz", &["list", "IN"]),
    ("b.enc", &["check", "--json", "--password", PW, "IN"]),
    (
        "b.enc",
        &[
            "encrypt",
            "-q",
            "--password",
            PW,
            "IN",
            "-o",
            "out/again.enc",
        ],
    ),
    ("b.enc", &["verify", "-q", "--md5", "MD5", "IN"]),
    ("b.enc", &["md5", "--json", "IN"]),
];

fn args_for(args: &[&str], input: &str, md5: &str) -> Vec<String> {
    args.iter()
        .map(|a| match *a {
            "IN" => input.to_string(),
            "MD5" => md5.to_string(),
            other => other.to_string(),
        })
        .collect()
}

/// The run's result, with `md5 --json`'s file name (which is INPUT as given) taken out.
fn result(w: &Path, out: Output) -> RunResult {
    let mut stdout = out.stdout;
    if let Ok(serde_json::Value::Array(mut records)) = serde_json::from_slice(&stdout) {
        for r in &mut records {
            r.as_object_mut().unwrap().remove("file");
        }
        stdout = serde_json::to_vec(&records).unwrap();
    }
    let files = tree(&w.join("out"));
    fs::remove_dir_all(w.join("out")).unwrap();
    fs::create_dir(w.join("out")).unwrap();
    RunResult {
        code: out.status.code(),
        stdout,
        files,
    }
}

#[test]
fn every_command_reads_a_fifo_and_a_process_substitution_as_the_file() {
    let w = work(3 << 20);
    let w = w.path();
    fs::create_dir(w.join("out")).unwrap();
    let md5 = a0backup::checksum::md5_file(&w.join("b.enc"))
        .unwrap()
        .to_string();
    for (file, args) in COMMANDS {
        let what = args.join(" ");
        let run = |input: &str| {
            Command::new(bin())
                .args(args_for(args, input, &md5))
                .current_dir(w)
                .stdin(Stdio::null())
                .output()
                .unwrap()
        };
        let reference = run(file);
        assert!(reference.status.success(), "{what}: {}", stderr(&reference));
        let reference = result(w, reference);

        // A FIFO whose writer comes only after the command started (it waits for it).
        let fifo = w.join("fifo");
        mkfifo(&fifo);
        let mut child = Command::new(bin())
            .args(args_for(args, "fifo", &md5))
            .current_dir(w)
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap();
        let data = fs::read(w.join(file)).unwrap();
        let fifo_path = fifo.clone();
        let writer = std::thread::spawn(move || {
            // Blocks until the command has the FIFO open for reading.
            let mut f = OpenOptions::new().write(true).open(&fifo_path).unwrap();
            let _ = f.write_all(&data);
        });
        let mut stdout = Vec::new();
        child
            .stdout
            .take()
            .unwrap()
            .read_to_end(&mut stdout)
            .unwrap();
        let out = child.wait_with_output().unwrap();
        writer.join().unwrap();
        fs::remove_file(&fifo).unwrap();
        assert!(out.status.success(), "{what} < FIFO: {}", stderr(&out));
        let got = result(w, Output { stdout, ..out });
        assert_eq!(got, reference, "{what}: a FIFO reads differently");

        // A process substitution, as bash makes it (/dev/fd/63).
        let script = format!(
            "exec \"$0\" {}",
            args_for(args, &format!("<(cat {file})"), &md5)
                .iter()
                .map(|a| if a.starts_with("<(") {
                    a.clone()
                } else {
                    format!("'{a}'")
                })
                .collect::<Vec<_>>()
                .join(" ")
        );
        let out = Command::new("bash")
            .arg("-c")
            .arg(&script)
            .arg(bin())
            .current_dir(w)
            .stdin(Stdio::null())
            .output()
            .unwrap();
        assert!(out.status.success(), "{script}: {}", stderr(&out));
        assert_eq!(result(w, out), reference, "{script}: reads differently");
    }
    assert_eq!(
        names(w),
        ["b.enc", "b.tar.gz", "out"].map(String::from).into()
    );
}

/// Spawns `args` in `w` with standard output piped (and not read until it ends).
fn spawn(w: &Path, args: &[&str]) -> Child {
    Command::new(bin())
        .args(args)
        .current_dir(w)
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap()
}

/// `child` ended because of `sig` (number `n`): with 128 + n when it cleans up (`cleans`), or
/// killed by it where it had made nothing yet (the handlers are not installed before the
/// password is known, so a wait there ends as the signal's default does).
fn assert_stopped(out: &Output, n: i32, cleans: bool, what: &str) {
    if cleans {
        assert_eq!(out.status.code(), Some(128 + n), "{what}: {}", stderr(out));
        assert!(
            stderr(out).contains("stopped by SIG"),
            "{what}: {}",
            stderr(out)
        );
    } else {
        assert!(
            out.status.code() == Some(128 + n) || out.status.signal() == Some(n),
            "{what}: {:?} {}",
            out.status,
            stderr(out)
        );
    }
}

#[test]
fn a_signal_ends_a_wait_for_a_fifo_writer_that_never_comes() {
    let w = work(1 << 20);
    let w = w.path();
    let before = names(w);
    for args in [
        &["restore", "--password", PW, "fifo", "-C", "dest"][..],
        &["decrypt", "--password", PW, "fifo", "-o", "out.tar.gz"][..],
        &["list", "fifo"][..],
        &["md5", "fifo"][..],
        &["encrypt", "--password", PW, "fifo", "-o", "x.enc"][..],
    ] {
        let what = args.join(" ");
        mkfifo(&w.join("fifo"));
        let mut child = spawn(w, args);
        let pid = child.id();
        wait_until(&mut child, &what, || waits_in_poll(pid));
        signal(&child, "TERM");
        let out = child.wait_with_output().unwrap();
        assert_stopped(&out, 15, false, &what);
        fs::remove_file(w.join("fifo")).unwrap();
        assert_eq!(names(w), before, "{what}: something was left");
    }
}

#[test]
fn a_signal_ends_a_wait_for_a_stalled_writer_and_everything_is_cleaned_up() {
    let w = work(8 << 20);
    let w = w.path();
    let before = names(w);
    let enc = fs::read(w.join("b.enc")).unwrap();
    for (sig, n) in [("TERM", 15), ("INT", 2), ("HUP", 1)] {
        if ignored_here(n as u32) {
            eprintln!("SKIPPED: SIG{sig} is ignored by the test process, so by the command too");
            continue;
        }
        for (args, made) in [
            (
                &["restore", "--password", PW, "fifo", "-C", "dest"][..],
                ".dest.a0backup-staging-",
            ),
            (
                &["decrypt", "--password", PW, "fifo", "-o", "out.tar.gz"][..],
                ".out.tar.gz.",
            ),
        ] {
            let what = format!("SIG{sig} {}", args.join(" "));
            mkfifo(&w.join("fifo"));
            let mut child = spawn(w, args);
            // The test holds the FIFO open for writing: 3 MiB, then nothing, and no end.
            let mut feed = OpenOptions::new().write(true).open(w.join("fifo")).unwrap();
            feed.write_all(&enc[..3 << 20]).unwrap();
            let pid = child.id();
            wait_until(&mut child, &what, || {
                waits_in_poll(pid) && names(w).iter().any(|n| n.starts_with(made))
            });
            signal(&child, sig);
            let out = child.wait_with_output().unwrap();
            drop(feed);
            assert_stopped(&out, n, true, &what);
            fs::remove_file(w.join("fifo")).unwrap();
            assert_eq!(names(w), before, "{what}: something was left");
        }
    }
}

#[test]
fn a_signal_ends_a_wait_for_a_reader_of_standard_output_that_does_not_read() {
    let w = work(4 << 20);
    let w = w.path();
    let before = names(w);
    for args in [
        &["decrypt", "--password", PW, "b.enc", "-o", "-"][..],
        &["encrypt", "--password", PW, "b.tar.gz", "-o", "-"][..],
    ] {
        let what = args.join(" ");
        // Standard output is a pipe this test never reads: it fills, then the command waits.
        let mut child = spawn(w, args);
        let pid = child.id();
        wait_until(&mut child, &what, || waits_in_poll(pid));
        signal(&child, "TERM");
        let out = child.wait_with_output().unwrap();
        assert_stopped(&out, 15, true, &what);
        assert!(
            !out.stdout.is_empty(),
            "{what}: nothing was written before the wait"
        );
        assert_eq!(names(w), before, "{what}: something was left");
    }
}
