//! An I/O error while reading the input is an I/O error, on every path and every command: it
//! names the input, exits 1 as an I/O error, never blames the backup ("malformed gzip stream"),
//! and leaves nothing behind. The disk fault is injected with `strace -P INPUT -e
//! inject=read:error=EIO:when=3+`: the first reads of the input succeed (the log shows them),
//! the third and every later one fail, mid-stream. The library and the C stream API are held
//! to the same with readers that fail.
#![cfg(feature = "cli")]

mod common;

use std::collections::BTreeSet;
use std::fs;
use std::io::{self, Read, Write};
use std::path::Path;
use std::process::Command;

use a0backup::error::ErrorKind;
use a0backup::gzip::InflateOptions;
use a0backup::pack::{pack_writer, PackOptions};
use a0backup::restore::{restore_reader, RestoreOptions};
use a0backup::{archive, Error, Password};

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

/// Incompressible data, so that the archives are several MiB and need many reads.
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

/// A work directory with `tree/dump/` (two files), `b.tar.gz` and `b.enc` packed from it.
fn work() -> tempfile::TempDir {
    let w = tempfile::tempdir().unwrap();
    let dump = w.path().join("tree/dump");
    fs::create_dir_all(&dump).unwrap();
    fs::write(dump.join("a.bson"), noise(6 << 20, 1)).unwrap();
    fs::write(dump.join("b.bson"), noise(3 << 20, 2)).unwrap();
    let plain = fs::File::create(w.path().join("b.tar.gz")).unwrap();
    pack_writer(&dump, plain, None, PackOptions::new()).unwrap();
    let enc = fs::File::create(w.path().join("b.enc")).unwrap();
    pack_writer(&dump, enc, Some(&Password::from(PW)), PackOptions::new()).unwrap();
    w
}

/// Whether strace can trace here; outside CI a missing or unusable one skips (and says so).
fn strace_works() -> bool {
    if !common::have("strace") {
        return false;
    }
    let ok = Command::new("strace")
        .args(["-f", "-qq", "-o", "/dev/null", "true"])
        .status()
        .is_ok_and(|s| s.success());
    if !ok {
        assert!(
            std::env::var_os("CI").is_none(),
            "strace cannot trace here, and CI must run these tests"
        );
        eprintln!("SKIPPED: strace cannot trace here");
    }
    ok
}

#[test]
fn a_read_error_of_the_input_is_an_io_error_for_every_command() {
    if !strace_works() {
        return;
    }
    let w = work();
    let cases: &[(&str, &[&str])] = &[
        (
            "b.enc",
            &["restore", "--password", PW, "b.enc", "-C", "dest"],
        ),
        (
            "b.enc",
            &[
                "restore",
                "--threads=2",
                "--password",
                PW,
                "b.enc",
                "-C",
                "dest",
            ],
        ),
        (
            "b.enc",
            &[
                "restore",
                "--md5",
                "00000000000000000000000000000000",
                "--password",
                PW,
                "b.enc",
                "-C",
                "dest",
            ],
        ),
        ("b.tar.gz", &["unpack", "b.tar.gz", "-C", "dest"]),
        (
            "b.tar.gz",
            &["unpack", "--threads=2", "b.tar.gz", "-C", "dest"],
        ),
        ("b.enc", &["check", "--password", PW, "b.enc"]),
        (
            "b.enc",
            &["check", "--threads=2", "--password", PW, "b.enc"],
        ),
        ("b.tar.gz", &["check", "b.tar.gz"]),
        ("b.enc", &["list", "--password", PW, "b.enc"]),
        (
            "b.enc",
            &["list", "--collections", "--password", PW, "b.enc"],
        ),
        ("b.tar.gz", &["list", "b.tar.gz"]),
        (
            "b.enc",
            &["decrypt", "--password", PW, "b.enc", "-o", "out.tar.gz"],
        ),
        (
            "b.enc",
            &["decrypt", "--password", PW, "b.enc", "-o", "out.bin"],
        ),
        ("b.enc", &["decrypt", "--password", PW, "b.enc", "-o", "-"]),
        ("b.enc", &["md5", "b.enc"]),
        (
            "b.enc",
            &[
                "verify",
                "--md5",
                "00000000000000000000000000000000",
                "b.enc",
            ],
        ),
        (
            "b.tar.gz",
            &["encrypt", "--password", PW, "b.tar.gz", "-o", "x.enc"],
        ),
        ("tree/dump/a.bson", &["pack", "tree/dump", "-o", "p.tar.gz"]),
    ];
    let before = names(w.path());
    for (input, args) in cases {
        let what = args.join(" ");
        let log = w
            .path()
            .join("..")
            .join(format!("io-errors-{}.log", std::process::id()));
        let out = Command::new("strace")
            .args(["-f", "-qq", "-y", "-o"])
            .arg(&log)
            .args([
                "-P",
                input,
                "-e",
                "trace=read",
                "-e",
                "inject=read:error=EIO:when=3+",
            ])
            .arg(bin())
            .args(*args)
            .current_dir(w.path())
            .output()
            .unwrap();
        let trace = fs::read_to_string(&log).unwrap();
        fs::remove_file(&log).unwrap();
        let err = String::from_utf8_lossy(&out.stderr);
        // Mid-stream: some reads of the input returned data before the fault.
        let good_reads = trace
            .lines()
            .take_while(|l| !l.contains("(INJECTED)"))
            .filter(|l| l.contains("read(") && !l.trim_end().ends_with("= 0"))
            .count();
        assert!(
            good_reads >= 2,
            "{what}: the fault did not land mid-stream:\n{trace}"
        );
        assert!(
            trace.contains("EIO (Input/output error) (INJECTED)"),
            "{what}:\n{trace}"
        );
        assert_eq!(out.status.code(), Some(1), "{what}: {err}");
        assert!(
            err.contains(&format!("{input}: Input/output error (os error 5)")),
            "{what}: {err}"
        );
        for blame in [
            "malformed",
            "wrong password",
            "md5 mismatch",
            "unsafe",
            "truncated",
        ] {
            assert!(!err.contains(blame), "{what}: {err}");
        }
        assert_eq!(names(w.path()), before, "{what}: something was left behind");
    }
}

/// A reader that gives `data`, then fails as a disk does.
struct FailingAfter<'a>(&'a [u8]);

impl Read for FailingAfter<'_> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        if self.0.is_empty() {
            return Err(io::Error::from_raw_os_error(5));
        }
        let n = buf.len().min(self.0.len()).min(64 << 10);
        buf[..n].copy_from_slice(&self.0[..n]);
        self.0 = &self.0[n..];
        Ok(n)
    }
}

#[test]
fn the_library_reports_a_failing_reader_as_an_io_error_on_both_inflate_paths() {
    let w = work();
    let enc = fs::read(w.path().join("b.enc")).unwrap();
    let plain = fs::read(w.path().join("b.tar.gz")).unwrap();
    let pw = Password::from(PW);
    for threads in [None, Some(2)] {
        for cut in [1 << 20, enc.len() / 2, enc.len() - 100] {
            for (data, password) in [(&enc, Some(&pw)), (&plain, None)] {
                let cut = cut.min(data.len() - 1);
                let mut inflate = InflateOptions::new();
                if let Some(n) = threads {
                    inflate = inflate.threads(n);
                }
                let opts =
                    RestoreOptions::new().unpack(archive::UnpackOptions::new().inflate(inflate));
                let dest = w.path().join("lib-dest");
                let r = restore_reader(FailingAfter(&data[..cut]), &dest, password, opts);
                match &r {
                    Err(e @ Error::Io(io)) => {
                        assert_eq!(io.raw_os_error(), Some(5), "{e}");
                        assert_eq!(e.kind(), ErrorKind::Io);
                    }
                    other => panic!("threads {threads:?}, cut {cut}: {other:?}"),
                }
                assert!(!dest.exists());
            }
        }
    }
    let mut sink = Vec::new();
    let r = a0backup::files::decrypt_stream(
        FailingAfter(&enc[..enc.len() / 2]),
        &mut sink,
        &pw,
        a0backup::files::FileOptions::new(),
    );
    assert!(matches!(r, Err(Error::Io(_))), "{r:?}");
    let r = a0backup::check::check_reader(
        FailingAfter(&enc[..enc.len() / 2]),
        Some(&pw),
        a0backup::check::CheckOptions::new(),
    );
    assert!(matches!(&r, Err(e) if e.kind() == ErrorKind::Io), "{r:?}");
    let _ = io::stderr().flush();
}
