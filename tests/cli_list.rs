//! `a0backup list` prints as `tar tvf` does (issue 13): held byte for byte, line by line,
//! against GNU tar's own listing of archives GNU tar and Python's tarfile made: modes, owners
//! by name and by number (PAX overrides included), device numbers, and GNU's column widths.
#![cfg(feature = "cli")]

mod common;

use std::fs::{self, File};
use std::os::unix::fs::PermissionsExt;
use std::path::Path;
use std::process::Command;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

fn a0backup(args: &[&str], cwd: &Path) -> std::process::Output {
    Command::new(env!("CARGO_BIN_EXE_a0backup"))
        .args(args)
        .current_dir(cwd)
        .output()
        .expect("the binary runs")
}

/// GNU tar's listing of `archive` (in `dir`) and ours, both as text.
fn both_listings(dir: &Path, archive: &str) -> (String, String) {
    let gnu = Command::new("tar")
        .args(["-tvzf", archive])
        .env("TZ", "UTC")
        .env("LC_ALL", "C.UTF-8")
        .current_dir(dir)
        .output()
        .unwrap();
    assert!(gnu.status.success(), "{gnu:?}");
    let ours = a0backup(&["list", archive], dir);
    assert!(ours.status.success(), "{ours:?}");
    (
        String::from_utf8(gnu.stdout).unwrap(),
        String::from_utf8(ours.stdout).unwrap(),
    )
}

/// The same lines, byte for byte.
fn assert_same_lines(gnu: &str, ours: &str, count: usize) {
    let (gnu_lines, our_lines): (Vec<&str>, Vec<&str>) =
        (gnu.lines().collect(), ours.lines().collect());
    assert_eq!(gnu_lines.len(), count, "GNU:\n{gnu}");
    assert_eq!(
        gnu_lines.len(),
        our_lines.len(),
        "GNU:\n{gnu}\nours:\n{ours}"
    );
    for (g, o) in gnu_lines.iter().zip(&our_lines) {
        assert_eq!(g, o, "\nGNU:  {g}\nours: {o}");
    }
}

fn set_mtime(p: &Path, t: SystemTime) {
    File::options()
        .write(true)
        .open(p)
        .unwrap()
        .set_modified(t)
        .unwrap();
}

fn chmod(p: &Path, mode: u32) {
    fs::set_permissions(p, fs::Permissions::from_mode(mode)).unwrap();
}

#[test]
fn list_prints_what_gnu_tar_tvf_prints() {
    if !common::have("tar") {
        return;
    }
    let work = tempfile::tempdir().unwrap();
    let t = work.path().join("tree");
    fs::create_dir(&t).unwrap();
    let files: [(&str, u32, i64); 7] = [
        ("plain", 0o644, 1_700_000_000),
        ("secret", 0o600, 1_700_000_059),
        ("run.sh", 0o4755, 1_600_000_000),
        ("group", 0o2640, 0),
        ("old", 0o644, -86_400 * 400),
        ("name with space", 0o644, 1_000_000_000),
        ("new\nline \\ café", 0o444, 1_700_000_000),
    ];
    for (name, mode, mtime) in files {
        let p = t.join(name);
        fs::write(&p, name.repeat(3)).unwrap();
        let when = if mtime >= 0 {
            UNIX_EPOCH + Duration::from_secs(mtime as u64)
        } else {
            UNIX_EPOCH - Duration::from_secs(mtime.unsigned_abs())
        };
        set_mtime(&p, when);
        chmod(&p, mode);
    }
    fs::hard_link(t.join("plain"), t.join("hard")).unwrap();
    std::os::unix::fs::symlink("plain", t.join("link")).unwrap();
    fs::create_dir(t.join("sticky")).unwrap();
    chmod(&t.join("sticky"), 0o1777);
    assert!(Command::new("mkfifo")
        .arg(t.join("fifo"))
        .status()
        .unwrap()
        .success());

    let made = Command::new("tar")
        .args(["-czf", "a.tar.gz", "tree"])
        .current_dir(work.path())
        .output()
        .unwrap();
    assert!(made.status.success(), "{made:?}");
    let (gnu, ours) = both_listings(work.path(), "a.tar.gz");
    assert_same_lines(&gnu, &ours, 12);
    // The kinds this tree was made to hold, as GNU tar shows them.
    for expected in [
        "-rwsr-xr-x",
        "-rw-r-S---",
        "drwxrwxrwt",
        "lrwxrwxrwx",
        "prw-r--r--",
        "hrw-r--r--",
        "1968-11-27 00:00 tree/old",
        "tree/link -> plain",
        "link to tree/",
        "tree/new\\nline \\\\ café",
    ] {
        assert!(ours.contains(expected), "{expected:?} in\n{ours}");
    }

    // --json is unchanged: one object per line, the raw fields.
    let json = a0backup(&["--json", "list", "a.tar.gz"], work.path());
    let first: serde_json::Value = serde_json::from_str(
        String::from_utf8_lossy(&json.stdout)
            .lines()
            .next()
            .unwrap(),
    )
    .unwrap();
    assert_eq!(first["path"], "tree/");
    assert_eq!(first["type"], "d");
    assert_eq!(first["mode"].as_u64().map(|m| m & 0o777), Some(0o755));
    assert!(first["mtime"].is_i64());
}

/// A tree of two files, archived by GNU tar with `args`.
fn gnu_tar_archive(dir: &Path, name: &str, args: &[&str]) {
    let t = dir.join("t");
    if !t.exists() {
        fs::create_dir(&t).unwrap();
        fs::write(t.join("a"), b"a").unwrap();
        fs::write(t.join("b"), b"bbb").unwrap();
    }
    let made = Command::new("tar")
        .args(args)
        .args(["-czf", name, "t"])
        .current_dir(dir)
        .output()
        .unwrap();
    assert!(made.status.success(), "{made:?}");
}

#[test]
fn owners_by_name_and_by_number_as_gnu_tar_lists_them() {
    if !common::have("tar") {
        return;
    }
    let work = tempfile::tempdir().unwrap();
    let d = work.path();
    for (name, args, owner) in [
        (
            "names.tar.gz",
            &["--owner=alice:1001", "--group=staff:50"][..],
            "alice/staff",
        ),
        // No names stored: GNU tar shows the ids.
        (
            "numbers.tar.gz",
            &["--owner=:1234", "--group=:77", "--numeric-owner"][..],
            "1234/77",
        ),
        // Wider than GNU's 19 columns: the column grows.
        (
            "wide.tar.gz",
            &["--owner=a very long user name here:5", "--group=grp sp:6"][..],
            "a very long user name here/grp sp 0 ",
        ),
        // Ids beyond 7 octal digits: PAX records (posix) and base-256 fields (gnu).
        (
            "pax-ids.tar.gz",
            &[
                "--format=posix",
                "--owner=:3000000",
                "--group=:4000000",
                "--numeric-owner",
            ][..],
            "3000000/4000000",
        ),
        (
            "base256-ids.tar.gz",
            &[
                "--format=gnu",
                "--owner=:3000000",
                "--group=:4000000",
                "--numeric-owner",
            ][..],
            "3000000/4000000",
        ),
    ] {
        gnu_tar_archive(d, name, args);
        let (gnu, ours) = both_listings(d, name);
        assert_same_lines(&gnu, &ours, 3);
        assert!(ours.contains(owner), "{owner:?} in\n{ours}");
    }
}

/// Python's tarfile writes what GNU tar cannot be asked to: devices, PAX `uname`/`gname`
/// records (names that are not ASCII), and owners of several widths in one archive.
const PYTHON_ARCHIVE: &str = r#"
import io, sys, tarfile
entries = [
    # name, type, uid, gid, uname, gname, size, major, minor
    ("a", tarfile.REGTYPE, 1, 2, "u", "g", 3, 0, 0),
    ("b", tarfile.REGTYPE, 3, 4, "averyveryverylongusername", "agroupname", 123456, 0, 0),
    ("c", tarfile.REGTYPE, 1, 2, "u", "g", 3, 0, 0),
    ("caf\u00e9", tarfile.REGTYPE, 7, 8, "caf\u00e9", "\u00e9quipe", 1, 0, 0),
    ("big-ids", tarfile.REGTYPE, 2**21 + 5, 2**22, "", "", 0, 0, 0),
    ("null", tarfile.CHRTYPE, 0, 0, "root", "root", 0, 1, 3),
    ("sda", tarfile.BLKTYPE, 6, 6, "", "", 0, 8, 0),
    ("wide-dev", tarfile.CHRTYPE, 1000, 1001, "", "", 0, 259, 65536),
]
with tarfile.open(sys.argv[1], "w:gz", format=tarfile.PAX_FORMAT) as t:
    for name, kind, uid, gid, uname, gname, size, major, minor in entries:
        i = tarfile.TarInfo(name)
        i.type, i.uid, i.gid, i.uname, i.gname = kind, uid, gid, uname, gname
        i.size, i.devmajor, i.devminor, i.mode, i.mtime = size, major, minor, 0o640, 1700000000
        t.addfile(i, io.BytesIO(b"x" * size) if kind == tarfile.REGTYPE else None)
"#;

#[test]
fn devices_and_pax_owners_as_gnu_tar_lists_them() {
    if !common::have("tar") || !common::have("python3") {
        return;
    }
    let work = tempfile::tempdir().unwrap();
    let d = work.path();
    let made = Command::new("python3")
        .args(["-c", PYTHON_ARCHIVE, "py.tar.gz"])
        .current_dir(d)
        .output()
        .unwrap();
    assert!(made.status.success(), "{made:?}");
    let (gnu, ours) = both_listings(d, "py.tar.gz");
    assert_same_lines(&gnu, &ours, 8);
    for expected in [
        "u/g ",
        "café/équipe ",
        "2097157/4194304 ",
        "crw-r----- root/root ",
        " 1,3 ",
        "brw-r----- 6/6 ",
        " 8,0 ",
        "1000/1001 ",
        " 259,65536 ",
    ] {
        assert!(ours.contains(expected), "{expected:?} in\n{ours}");
    }

    // --json keeps its fields and adds the owner and device numbers.
    let json = a0backup(&["--json", "list", "py.tar.gz"], d);
    assert!(json.status.success(), "{json:?}");
    let lines: Vec<serde_json::Value> = String::from_utf8(json.stdout)
        .unwrap()
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    let cafe = &lines[3];
    assert_eq!(cafe["path"], "café");
    assert_eq!(cafe["size"], 1);
    assert_eq!(
        (&cafe["uid"], &cafe["gid"], &cafe["uname"], &cafe["gname"]),
        (&7.into(), &8.into(), &"café".into(), &"équipe".into())
    );
    let dev = &lines[7];
    assert_eq!(dev["type"], "c");
    assert_eq!(
        (&dev["devmajor"], &dev["devminor"]),
        (&259.into(), &65536.into())
    );
    assert_eq!(lines[4]["uname"], "");
    assert_eq!(lines[4]["uid"], 2_097_157);
}
