//! One verdict on every path: `check` agrees with `unpack`/`restore` on every archive shape
//! (exit code and reason), in bounded memory (each run's peak resident size measured by
//! `wait4`'s rusage) and with every name from the archive escaped for the terminal.
//!
//! Every archive is generated here (tar crate, or byte by byte for the shapes no writer
//! makes), so the shapes are exactly the ones the tests name.

mod common;

use std::ffi::OsStr;
use std::io::{Read, Write};
use std::path::Path;
use std::process::{Command, Stdio};

use common::tar_build::{self, gnu_long, Head};

/// Resident memory every command must stay under, whatever the archive holds.
const MEMORY_BOUND: u64 = 64 << 20;

/// What one run of the command did.
struct Run {
    code: i32,
    stdout: Vec<u8>,
    stderr: String,
    /// Peak resident size of the process, in bytes.
    peak: u64,
}

impl Run {
    fn stdout(&self) -> String {
        String::from_utf8_lossy(&self.stdout).into_owned()
    }

    /// The error line, without `a0backup: ` and check's `restore would refuse this backup: `.
    fn reason(&self) -> String {
        let line = self
            .stderr
            .lines()
            .find(|l| l.starts_with("a0backup: ") && !l.starts_with("a0backup: warning"))
            .unwrap_or("")
            .trim_start_matches("a0backup: ");
        line.trim_start_matches("restore would refuse this backup: ")
            .to_string()
    }
}

/// Runs `a0backup ARGS` under `/usr/bin/time -f %M`, which measures the peak resident size of
/// that one process (the rusage of its own child, started from a small process: a child forked
/// from this test process would count this process's pages too).
fn run<S: AsRef<OsStr>>(args: &[S]) -> Run {
    assert!(
        Path::new(TIME).exists() || std::env::var_os("CI").is_none(),
        "{TIME} is not installed, and CI must measure memory"
    );
    let measured = tempfile::NamedTempFile::new().unwrap();
    let mut cmd = if Path::new(TIME).exists() {
        let mut c = Command::new(TIME);
        c.arg("-f").arg("%M").arg("-o").arg(measured.path());
        c.arg(env!("CARGO_BIN_EXE_a0backup"));
        c
    } else {
        eprintln!("SKIPPED: memory not measured, {TIME} is not installed");
        Command::new(env!("CARGO_BIN_EXE_a0backup"))
    };
    let out = cmd.args(args).stdin(Stdio::null()).output().unwrap();
    let kib: u64 = std::fs::read_to_string(measured.path())
        .unwrap()
        .lines()
        .last()
        .and_then(|l| l.trim().parse().ok())
        .unwrap_or(0);
    let code = out.status.code().unwrap_or(-1);
    Run {
        code,
        stdout: out.stdout,
        stderr: String::from_utf8_lossy(&out.stderr).into_owned(),
        peak: kib * 1024,
    }
}

/// GNU time, whose `%M` is the peak resident size in KiB.
const TIME: &str = "/usr/bin/time";

/// A gzip stream of a tar archive built by `fill` with the tar crate (GNU long names where a
/// name needs one).
fn tar_gz(fill: impl FnOnce(&mut tar::Builder<&mut Vec<u8>>)) -> Vec<u8> {
    let mut raw = Vec::new();
    {
        let mut b = tar::Builder::new(&mut raw);
        fill(&mut b);
        b.finish().unwrap();
    }
    let mut e = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::new(6));
    e.write_all(&raw).unwrap();
    e.finish().unwrap()
}

fn add_file(b: &mut tar::Builder<&mut Vec<u8>>, path: &str, data: &[u8]) {
    let mut h = tar::Header::new_gnu();
    h.set_size(data.len() as u64);
    h.set_mode(0o644);
    h.set_mtime(1_700_000_000);
    h.set_entry_type(tar::EntryType::Regular);
    b.append_data(&mut h, path, data).unwrap();
}

/// An empty BSON document, the smallest `.bson` file content.
const DOC: &[u8] = b"\x05\0\0\0\0";

fn metadata(name: &str) -> Vec<u8> {
    serde_json::json!({"options": {}, "indexes": [{"v": 2, "key": {"_id": 1}, "name": "_id_"}],
                       "collectionName": name, "type": "collection"})
    .to_string()
    .into_bytes()
}

fn write(dir: &Path, name: &str, data: &[u8]) -> String {
    let p = dir.join(name);
    std::fs::write(&p, data).unwrap();
    p.to_str().unwrap().to_string()
}

/// An entry path of exactly `len` bytes, in components of at most 250 bytes.
fn long_path(len: usize) -> String {
    let mut parts = Vec::new();
    let mut left = len;
    while left > 0 {
        let take = left.min(250);
        // A component and its `/`, except the last, which has none.
        let comp = if take == left { take } else { take - 1 };
        parts.push("p".repeat(comp.max(1)));
        left -= comp.max(1) + usize::from(take != left);
    }
    let p = parts.join("/");
    assert_eq!(p.len(), len);
    p
}

/// A 4,086-byte entry path restores under a destination whose own path is 3,400 bytes long
/// (4 KiB paths together: extraction opens every directory relative to its parent), with the
/// check agreeing; the same through `restore` of the encrypted backup.
#[test]
fn a_long_entry_path_restores_under_a_long_destination() {
    let work = tempfile::tempdir().unwrap();
    let path = long_path(4086);
    let gz = tar_gz(|b| add_file(b, &path, b"deep"));
    let archive = write(work.path(), "long.tar.gz", &gz);
    let mut dest = work.path().to_path_buf();
    while dest.as_os_str().len() < 3400 {
        dest.push("d".repeat(200));
    }
    std::fs::create_dir_all(&dest).unwrap();
    let checked = run(&["check", &archive]);
    assert_eq!(checked.code, 0, "{}", checked.stderr);
    assert!(checked.stdout().contains("total (0 collections)"));
    let out = dest.join("out");
    let unpacked = run(&["unpack", "-q", &archive, "-C", out.to_str().unwrap()]);
    assert_eq!(unpacked.code, 0, "{}", unpacked.stderr);
    // Read the file back relative to handles too: its absolute path is over PATH_MAX.
    let mut at =
        rustix::fs::open(&out, rustix::fs::OFlags::RDONLY, rustix::fs::Mode::empty()).unwrap();
    let parts: Vec<&str> = path.split('/').collect();
    for dir in &parts[..parts.len() - 1] {
        at = rustix::fs::openat(
            &at,
            *dir,
            rustix::fs::OFlags::RDONLY | rustix::fs::OFlags::DIRECTORY,
            rustix::fs::Mode::empty(),
        )
        .unwrap();
    }
    let file = rustix::fs::openat(
        &at,
        parts[parts.len() - 1],
        rustix::fs::OFlags::RDONLY,
        rustix::fs::Mode::empty(),
    )
    .unwrap();
    let mut content = String::new();
    std::fs::File::from(file)
        .read_to_string(&mut content)
        .unwrap();
    assert_eq!(content, "deep");

    // The same archive encrypted, through restore (staging, fsync of the tree, publish).
    let password = a0backup::Password::from("pw");
    let mut w =
        a0backup::EncryptWriter::new(Vec::new(), &password, a0backup::Format::Node).unwrap();
    w.write_all(&gz).unwrap();
    let enc = write(work.path(), "long.tar.gz.enc", &w.finish().unwrap());
    let restored = dest.join("restored");
    let r = run(&[
        "restore",
        "-q",
        "--password",
        "pw",
        &enc,
        "-C",
        restored.to_str().unwrap(),
    ]);
    assert_eq!(r.code, 0, "{}", r.stderr);
    let c = run(&["check", "--password", "pw", &enc]);
    assert_eq!(c.code, 0, "{}", c.stderr);
    // Replacing it walks the old tree by handles as well.
    let again = run(&[
        "restore",
        "-q",
        "--force",
        "--password",
        "pw",
        &enc,
        "-C",
        restored.to_str().unwrap(),
    ]);
    assert_eq!(again.code, 0, "{}", again.stderr);
    assert_eq!(common::dir_names(&dest), ["out", "restored"]);
}

/// The archive shapes restore refuses, each refused by check with the same exit code and the
/// same reason; and what restore accepts, check accepts.
#[test]
fn check_and_restore_agree_on_every_shape() {
    use tar_build::{dir, entry, file, symlink, tar};
    let long_name = format!("dump/{}", "n".repeat(256));
    let long_target = "t/".repeat(2048);
    let cases: Vec<(&str, Vec<u8>, Vec<&str>)> = vec![
        (
            "plain",
            tar(&[dir("dump/"), file("dump/a.bson", DOC)]),
            vec![],
        ),
        ("absolute", tar(&[file("/etc/x", b"1")]), vec![]),
        ("dot-dot", tar(&[file("dump/../../x", b"1")]), vec![]),
        ("symlink", tar(&[symlink("dump/l", "a.bson")]), vec![]),
        (
            "symlink-allowed",
            tar(&[symlink("dump/l", "a.bson")]),
            vec!["--allow-symlinks"],
        ),
        (
            "symlink-out",
            tar(&[symlink("dump/l", "../../x")]),
            vec!["--allow-symlinks"],
        ),
        (
            "through-symlink",
            tar(&[
                dir("dump/d/"),
                symlink("dump/l", "d"),
                file("dump/l/x", b"1"),
            ]),
            vec!["--allow-symlinks"],
        ),
        (
            "hardlink-to-nothing",
            tar(&[entry(b"dump/h", b'1', b"", 0o644, b"dump/none")]),
            vec!["--allow-hardlinks"],
        ),
        (
            "hardlink-to-file",
            tar(&[
                file("dump/a", b"1"),
                entry(b"dump/h", b'1', b"", 0o644, b"dump/a"),
            ]),
            vec!["--allow-hardlinks"],
        ),
        (
            "device",
            tar(&[entry(b"dump/dev", b'3', b"", 0o644, b"")]),
            vec![],
        ),
        (
            "fifo",
            tar(&[entry(b"dump/p", b'6', b"", 0o644, b"")]),
            vec![],
        ),
        (
            "collision",
            tar(&[file("dump/a", b"1"), file("dump/a", b"2")]),
            vec![],
        ),
        (
            "dir-over-file",
            tar(&[file("dump/a", b"1"), dir("dump/a/")]),
            vec![],
        ),
        (
            "parent-is-file",
            tar(&[file("dump/a", b"1"), file("dump/a/b", b"2")]),
            vec![],
        ),
        (
            "name-over-255",
            tar(&[gnu_long(b'L', long_name.as_bytes()), file("x", b"1")]),
            vec![],
        ),
        (
            "link-target-over-4095",
            tar(&[
                gnu_long(b'K', long_target.as_bytes()),
                tar_build::header(&Head {
                    name: b"dump/l",
                    typeflag: b'2',
                    ..Head::default()
                }),
            ]),
            vec!["--allow-symlinks"],
        ),
        (
            "too-many-entries",
            tar(&[file("a", b"1"), file("b", b"2"), file("c", b"3")]),
            vec!["--max-entries", "2"],
        ),
        (
            "too-large",
            tar(&[file("a", &[7u8; 5000])]),
            vec!["--max-size", "4096"],
        ),
        (
            "path-too-long",
            tar(&[file("a-long-name", b"1")]),
            vec!["--max-path-len", "4"],
        ),
        (
            "selection-not-found",
            tar(&[file("dump/db/a.bson", DOC)]),
            vec!["--collection", "db.b"],
        ),
        (
            "cut-inside-an-entry",
            tar(&[file("a", &[1u8; 2000])])[..1024].to_vec(),
            vec![],
        ),
    ];
    let work = tempfile::tempdir().unwrap();
    for (name, raw, options) in cases {
        let gz = tar_build::gzip(&raw);
        let archive = write(work.path(), &format!("{name}.tar.gz"), &gz);
        let dest = work.path().join(name);
        let mut args = vec![
            "unpack",
            "-q",
            archive.as_str(),
            "-C",
            dest.to_str().unwrap(),
        ];
        args.extend(&options);
        let restored = run(&args);
        let mut args = vec!["check", "-q", archive.as_str()];
        args.extend(&options);
        let checked = run(&args);
        // 6: the archive restores, but its collections are incomplete (a `.bson` alone).
        let (check_code, check_reason) = match checked.code {
            6 => (0, String::new()),
            code => (code, checked.reason()),
        };
        assert_eq!(
            (restored.code, restored.reason()),
            (check_code, check_reason),
            "{name}: unpack said {:?}, check said {:?}",
            restored.stderr,
            checked.stderr
        );
        assert!(
            restored.code != 1 || name.starts_with("cut"),
            "{name}: {}",
            restored.stderr
        );
    }
}

/// A clean backup of 60,000 collections: check, check --json, list --collections and unpack
/// all succeed, each under 64 MiB.
#[test]
fn sixty_thousand_collections_in_bounded_memory() {
    let n = 60_000;
    let gz = tar_gz(|b| {
        for i in 0..n {
            let db = format!("dump/tenant-database-number-{:03}", i % 300);
            let coll = format!("collection-with-a-rather-descriptive-name-{i:06}");
            add_file(b, &format!("{db}/{coll}.bson"), DOC);
            add_file(b, &format!("{db}/{coll}.metadata.json"), &metadata(&coll));
        }
    });
    let work = tempfile::tempdir().unwrap();
    let archive = write(work.path(), "many.tar.gz", &gz);

    let checked = run(&["check", "-q", &archive]);
    assert_eq!(checked.code, 0, "{}", checked.stderr);
    assert!(
        checked.peak < MEMORY_BOUND,
        "check took {} bytes",
        checked.peak
    );

    let json = run(&["check", "--json", &archive]);
    assert_eq!(json.code, 0, "{}", json.stderr);
    assert!(
        json.peak < MEMORY_BOUND,
        "check --json took {} bytes",
        json.peak
    );
    let report: serde_json::Value = serde_json::from_slice(&json.stdout).unwrap();
    assert_eq!(report["collections"].as_array().unwrap().len(), n);
    assert_eq!(report["totals"]["collections"], n);
    assert_eq!(report["collections_ok"], true);
    assert_eq!(report["restorable"], true);

    let listed = run(&["list", "--collections", &archive]);
    assert_eq!(listed.code, 0, "{}", listed.stderr);
    assert!(
        listed.peak < MEMORY_BOUND,
        "list took {} bytes",
        listed.peak
    );
    assert_eq!(
        listed
            .stdout()
            .lines()
            .filter(|l| l.ends_with(" both"))
            .count(),
        n
    );

    let dest = work.path().join("restored");
    let unpacked = run(&[
        "unpack",
        "-q",
        "--no-sync",
        &archive,
        "-C",
        dest.to_str().unwrap(),
    ]);
    assert_eq!(unpacked.code, 0, "{}", unpacked.stderr);
    assert!(
        unpacked.peak < MEMORY_BOUND,
        "unpack took {} bytes",
        unpacked.peak
    );
}

/// Metadata files whose `collectionName` is 15 MiB (a few hundred KB of gzip each): each is
/// read through, reported as damaged (over MongoDB's namespace limit), and never kept.
#[test]
fn huge_collection_names_are_reported_not_kept() {
    let long = "n".repeat(15 << 20);
    let gz = tar_gz(|b| {
        for i in 0..6 {
            add_file(b, &format!("dump/db/c{i}.bson"), DOC);
            add_file(b, &format!("dump/db/c{i}.metadata.json"), &metadata(&long));
        }
    });
    let work = tempfile::tempdir().unwrap();
    let archive = write(work.path(), "names.tar.gz", &gz);
    for args in [vec!["check", &archive], vec!["check", "--json", &archive]] {
        let r = run(&args);
        assert_eq!(r.code, 6, "{}", r.stderr);
        assert!(r.peak < MEMORY_BOUND, "{args:?} took {} bytes", r.peak);
        assert!(
            r.stdout.len() < 64 << 10,
            "{args:?} printed {} bytes",
            r.stdout.len()
        );
        assert!(r.stdout().contains("MongoDB namespace"), "{}", r.stdout());
    }
}

/// 30,000 collections whose file names are 3 KB long: `list --collections` lists them in
/// bounded memory; restore and check both refuse them (no file system takes such a name).
#[test]
fn long_named_collections_in_bounded_memory() {
    let n = 30_000;
    let gz = tar_gz(|b| {
        for i in 0..n {
            let coll = format!("{i:06}{}", "c".repeat(3000));
            add_file(b, &format!("dump/db/{coll}.bson"), DOC);
            add_file(b, &format!("dump/db/{coll}.metadata.json"), &metadata("x"));
        }
    });
    let work = tempfile::tempdir().unwrap();
    let archive = write(work.path(), "long-names.tar.gz", &gz);
    let listed = run(&["list", "--collections", "--json", &archive]);
    assert_eq!(listed.code, 0, "{}", listed.stderr);
    assert!(
        listed.peak < MEMORY_BOUND,
        "list took {} bytes",
        listed.peak
    );
    assert_eq!(listed.stdout().lines().count(), n);
    let checked = run(&["check", "--json", &archive]);
    assert_eq!(checked.code, 5, "{}", checked.stderr);
    assert!(
        checked.peak < MEMORY_BOUND,
        "check took {} bytes",
        checked.peak
    );
    let dest = work.path().join("restored");
    let unpacked = run(&["unpack", "-q", &archive, "-C", dest.to_str().unwrap()]);
    assert_eq!(
        (unpacked.code, unpacked.reason()),
        (checked.code, checked.reason())
    );
    assert!(
        unpacked.reason().contains("file name length"),
        "{}",
        unpacked.reason()
    );
}

/// 50,000 directories each holding an `oplog.bson` (the shape that was quadratic): one row each,
/// none of them the oplog; a real oplog beside database directories is one.
#[test]
fn oplog_directories_are_classified_in_one_pass() {
    let n = 50_000;
    let gz = tar_gz(|b| {
        add_file(b, "dump/oplog.bson", DOC);
        add_file(b, "dump/admin/system.version.bson", DOC);
        add_file(
            b,
            "dump/admin/system.version.metadata.json",
            &metadata("system.version"),
        );
        for i in 0..n {
            add_file(b, &format!("dump/d{i}/oplog.bson"), DOC);
        }
    });
    let work = tempfile::tempdir().unwrap();
    let archive = write(work.path(), "oplogs.tar.gz", &gz);
    let r = run(&["check", "--json", &archive]);
    assert_eq!(r.code, 6, "{}", r.stderr);
    assert!(r.peak < MEMORY_BOUND, "check took {} bytes", r.peak);
    let report: serde_json::Value = serde_json::from_slice(&r.stdout).unwrap();
    let rows = report["collections"].as_array().unwrap();
    assert_eq!(rows.len(), n + 2);
    let oplogs: Vec<&serde_json::Value> = rows.iter().filter(|c| c["kind"] == "oplog").collect();
    assert_eq!(oplogs.len(), 1, "{oplogs:?}");
    assert_eq!(oplogs[0]["bson_path"], "dump/oplog.bson");
    assert_eq!(report["totals"]["orphans"], n);
}

/// Names with ESC and CR (a database directory, a `collectionName`, an entry refused): every
/// human-readable output escapes them as GNU tar does; JSON stays JSON.
#[test]
fn names_from_the_archive_reach_the_terminal_escaped() {
    let gz = tar_gz(|b| {
        add_file(b, "dump/au\x1b[2Jth0/users.bson", DOC);
        add_file(
            b,
            "dump/au\x1b[2Jth0/users.metadata.json",
            &metadata("u\rok  "),
        );
    });
    let work = tempfile::tempdir().unwrap();
    let archive = write(work.path(), "esc.tar.gz", &gz);
    let raw = |r: &Run| {
        r.stdout.contains(&0x1b)
            || r.stdout.contains(&b'\r')
            || r.stderr.contains('\x1b')
            || r.stderr.contains('\r')
    };
    let table = run(&["check", &archive]);
    assert_eq!(table.code, 0, "{}", table.stderr);
    assert!(!raw(&table), "{:?}", table.stdout());
    assert!(
        table.stdout().contains("au\\033[2Jth0.u\\rok"),
        "{}",
        table.stdout()
    );
    // From the headers alone: the file's name, not the metadata's.
    let listed = run(&["list", "--collections", &archive]);
    assert!(!raw(&listed), "{:?}", listed.stdout());
    assert!(
        listed.stdout().contains("au\\033[2Jth0.users "),
        "{}",
        listed.stdout()
    );
    let json = run(&["check", "--json", &archive]);
    let report: serde_json::Value = serde_json::from_slice(&json.stdout).unwrap();
    assert_eq!(report["collections"][0]["database"], "au\x1b[2Jth0");
    assert_eq!(report["collections"][0]["collection"], "u\rok  ");

    // An entry refused by name: the error line escapes it too.
    let hostile = tar_build::gzip(&tar_build::tar(&[tar_build::symlink(
        "dump/\x1b[2J\rok",
        "x",
    )]));
    let archive = write(work.path(), "esc-link.tar.gz", &hostile);
    let dest = work.path().join("d");
    for r in [
        run(&["unpack", &archive, "-C", dest.to_str().unwrap()]),
        run(&["check", &archive]),
    ] {
        assert_eq!(r.code, 5, "{}", r.stderr);
        assert!(!raw(&r), "{:?}", r.stderr);
        assert!(r.stderr.contains("dump/\\033[2J\\rok"), "{}", r.stderr);
    }
}
