//! `a0backup list` prints as `tar tvf` does (issue 13), owner column aside: held line by line
//! against GNU tar's own listing of an archive GNU tar made.
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

/// The first `n` whitespace-separated fields of `line`, and the rest after one space.
fn fields(line: &str, n: usize) -> (Vec<&str>, &str) {
    let mut rest = line;
    let mut out = Vec::new();
    for _ in 0..n {
        rest = rest.trim_start_matches(' ');
        let end = rest.find(' ').unwrap_or(rest.len());
        out.push(&rest[..end]);
        rest = &rest[end..];
    }
    (out, rest.strip_prefix(' ').unwrap_or(rest))
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
fn list_prints_what_gnu_tar_tvf_prints_but_the_owner() {
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
    let gnu = Command::new("tar")
        .args(["-tvzf", "a.tar.gz"])
        .env("TZ", "UTC")
        .env("LC_ALL", "C.UTF-8")
        .current_dir(work.path())
        .output()
        .unwrap();
    assert!(gnu.status.success(), "{gnu:?}");
    let ours = a0backup(&["list", "a.tar.gz"], work.path());
    assert!(ours.status.success(), "{ours:?}");

    let gnu = String::from_utf8(gnu.stdout).unwrap();
    let ours = String::from_utf8(ours.stdout).unwrap();
    let (gnu_lines, our_lines): (Vec<&str>, Vec<&str>) =
        (gnu.lines().collect(), ours.lines().collect());
    assert_eq!(
        gnu_lines.len(),
        our_lines.len(),
        "GNU:\n{gnu}\nours:\n{ours}"
    );
    assert_eq!(gnu_lines.len(), 12, "{gnu}");
    for (g, o) in gnu_lines.iter().zip(&our_lines) {
        // GNU: mode, owner/group, size, date, time, name; ours: the same without the owner.
        let (gf, gname) = fields(g, 5);
        let (of, oname) = fields(o, 4);
        assert_eq!(
            (gf[0], gf[2], gf[3], gf[4], gname),
            (of[0], of[1], of[2], of[3], oname),
            "\nGNU:  {g}\nours: {o}"
        );
    }
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
