//! One test per hostile archive. Each builds the archive byte by byte (so nothing in a tar
//! library can tidy it up first), restores it through the same path the CLI's `unpack` and
//! `restore` use, and asserts the exact set of paths under the destination's parent afterwards:
//! nothing escaped, and a refused archive leaves nothing at all.

mod common;

use std::os::unix::fs::PermissionsExt;
use std::path::Path;

use a0backup::archive::{UnpackOptions, UnpackSummary};
use a0backup::error::{Input, Limit, OptIn};
use a0backup::restore::{restore_reader, RestoreOptions};
use a0backup::Error;

use common::tar_build::{dir, entry, file, gzip, symlink, tar};

/// A scratch parent with a file outside the destination that attacks aim at.
struct Scene {
    root: tempfile::TempDir,
}

impl Scene {
    fn new() -> Scene {
        let root = tempfile::tempdir().unwrap();
        std::fs::write(root.path().join("outside.txt"), b"precious").unwrap();
        Scene { root }
    }

    fn dest(&self) -> std::path::PathBuf {
        self.root.path().join("dest")
    }

    fn restore(&self, gz: &[u8], options: UnpackOptions) -> a0backup::Result<UnpackSummary> {
        restore_reader(
            gz,
            &self.dest(),
            None,
            RestoreOptions::new().unpack(options),
        )
        .map(|s| s.unpacked)
    }

    /// Every path under the scene's root, relative, sorted.
    fn paths(&self) -> Vec<String> {
        fn walk(base: &Path, dir: &Path, out: &mut Vec<String>) {
            for e in std::fs::read_dir(dir).unwrap() {
                let e = e.unwrap();
                let p = e.path();
                out.push(p.strip_prefix(base).unwrap().to_string_lossy().into_owned());
                if e.file_type().unwrap().is_dir() {
                    walk(base, &p, out);
                }
            }
        }
        let mut out = Vec::new();
        walk(self.root.path(), self.root.path(), &mut out);
        out.sort();
        out
    }

    fn assert_untouched(&self) {
        assert_eq!(self.paths(), vec!["outside.txt"]);
        assert_eq!(
            std::fs::read(self.root.path().join("outside.txt")).unwrap(),
            b"precious"
        );
    }
}

fn assert_unsafe<T: std::fmt::Debug>(r: a0backup::Result<T>, needle: &str) {
    match r {
        Err(Error::UnsafeEntry {
            path,
            reason,
            opt_in,
        }) => {
            assert!(
                path.contains(needle) || reason.contains(needle),
                "{path}: {reason}"
            );
            // A refusal an option lifts says which, as a value and not only in words.
            let lifted_by = if reason.starts_with("symlinks are not allowed") {
                Some(OptIn::Symlinks)
            } else if reason.starts_with("hardlinks are not allowed") {
                Some(OptIn::Hardlinks)
            } else {
                None
            };
            assert_eq!(opt_in, lifted_by, "{path}: {reason}");
        }
        other => panic!("expected an unsafe-entry refusal, got {other:?}"),
    }
}

fn refused(entries: &[Vec<u8>], options: UnpackOptions, needle: &str) {
    let s = Scene::new();
    assert_unsafe(s.restore(&gzip(&tar(entries)), options), needle);
    s.assert_untouched();
}

#[test]
fn parent_dir_path() {
    refused(
        &[file("ok", b"1"), file("../x", b"evil")],
        UnpackOptions::new(),
        "..",
    );
}

#[test]
fn parent_dir_in_the_middle() {
    refused(&[file("a/../../x", b"evil")], UnpackOptions::new(), "..");
}

#[test]
fn absolute_path() {
    refused(&[file("/abs", b"evil")], UnpackOptions::new(), "absolute");
}

#[test]
fn symlinks_are_refused_by_default() {
    refused(
        &[symlink("l", "a")],
        UnpackOptions::new(),
        "symlinks are not allowed",
    );
}

#[test]
fn symlink_to_outside_then_a_file_through_it() {
    let outside = Scene::new();
    let target = outside.root.path().display().to_string();
    refused(
        &[symlink("l", &target), file("l/x", b"evil")],
        UnpackOptions::new().allow_symlinks(true),
        "absolute",
    );
    refused(
        &[symlink("l", "../.."), file("l/x", b"evil")],
        UnpackOptions::new().allow_symlinks(true),
        "leaves the destination",
    );
    outside.assert_untouched();
}

#[test]
fn symlink_to_parent_then_a_directory_through_it() {
    refused(
        &[symlink("up", ".."), dir("up/d")],
        UnpackOptions::new().allow_symlinks(true),
        "leaves the destination",
    );
}

#[test]
fn file_through_an_inside_symlink_is_refused() {
    refused(
        &[dir("a"), symlink("l", "a"), file("l/x", b"1")],
        UnpackOptions::new().allow_symlinks(true),
        "passes through a symlink",
    );
}

#[test]
fn symlink_chain_that_would_escape_is_refused() {
    // e -> c/d/..  is inside lexically, but c/d later becoming a link to the root would make
    // e point above the destination: `..` may only undo a directory extracted earlier.
    refused(
        &[
            symlink("a", "."),
            dir("c"),
            symlink("e", "c/d/.."),
            symlink("c/d", "../a"),
        ],
        UnpackOptions::new().allow_symlinks(true),
        "climbs out of a path that is not a directory extracted earlier",
    );
    // Without `..`, a later symlink at a path an earlier target passes through is refused.
    refused(
        &[dir("c"), symlink("e", "c/d/f"), symlink("c/d", "../c")],
        UnpackOptions::new().allow_symlinks(true),
        "resolves through this path",
    );
}

#[test]
fn dot_dot_after_a_differently_cased_link_is_refused() {
    // On a case-insensitive file system `L` is the symlink `l`, which points at a/b: undoing
    // it with `..` twice would land above the destination, though lexically `L/../..` from
    // the root is only one level up. The rule: `..` undoes only directories extracted earlier,
    // spelled exactly.
    refused(
        &[
            dir("a"),
            dir("a/b"),
            symlink("l", "a/b"),
            symlink("x", "L/.."),
        ],
        UnpackOptions::new().allow_symlinks(true),
        "climbs out",
    );
    // The same through a real directory is fine.
    let s = Scene::new();
    s.restore(
        &gzip(&tar(&[dir("a"), dir("a/b"), symlink("x", "a/b/../b")])),
        UnpackOptions::new().allow_symlinks(true),
    )
    .unwrap();
    assert_eq!(
        std::fs::read_link(s.dest().join("x")).unwrap(),
        Path::new("a/b/../b")
    );
}

#[test]
fn inside_symlink_is_kept_when_allowed() {
    let s = Scene::new();
    s.restore(
        &gzip(&tar(&[dir("a"), file("a/f", b"1"), symlink("l", "a/f")])),
        UnpackOptions::new().allow_symlinks(true),
    )
    .unwrap();
    assert_eq!(
        s.paths(),
        vec!["dest", "dest/a", "dest/a/f", "dest/l", "outside.txt"]
    );
    assert_eq!(std::fs::read(s.dest().join("l")).unwrap(), b"1");
}

#[test]
fn hardlink_to_an_outside_file() {
    let hl = |target: &str| entry(b"h", b'1', b"", 0o644, target.as_bytes());
    refused(
        &[hl("../outside.txt")],
        UnpackOptions::new().allow_hardlinks(true),
        "outside",
    );
    refused(
        &[hl("/etc/passwd")],
        UnpackOptions::new().allow_hardlinks(true),
        "outside",
    );
    refused(
        &[file("f", b"1"), hl("f")],
        UnpackOptions::new(),
        "hardlinks are not allowed",
    );
    let s = Scene::new();
    s.restore(
        &gzip(&tar(&[file("f", b"1"), hl("f")])),
        UnpackOptions::new().allow_hardlinks(true),
    )
    .unwrap();
    assert_eq!(std::fs::read(s.dest().join("h")).unwrap(), b"1");
}

#[test]
fn fifo() {
    refused(
        &[entry(b"p", b'6', b"", 0o644, b"")],
        UnpackOptions::new(),
        "FIFO",
    );
}

#[test]
fn character_device() {
    refused(
        &[entry(b"null", b'3', b"", 0o666, b"")],
        UnpackOptions::new(),
        "device",
    );
}

#[test]
fn setuid_bits_are_dropped() {
    let s = Scene::new();
    s.restore(
        &gzip(&tar(&[
            entry(b"suid", b'0', b"#!/bin/sh\n", 0o6755, b""),
            entry(b"d", b'5', b"", 0o1777, b""),
        ])),
        UnpackOptions::new().preserve_permissions(true),
    )
    .unwrap();
    let mode = std::fs::metadata(s.dest().join("suid"))
        .unwrap()
        .permissions()
        .mode();
    assert_eq!(mode & 0o7777, 0o755);
    let mode = std::fs::metadata(s.dest().join("d"))
        .unwrap()
        .permissions()
        .mode();
    assert_eq!(mode & 0o7777, 0o777);
}

#[test]
fn modes_are_masked_by_the_umask_unless_preserved() {
    // The test harness runs with the process umask; read it as GNU tar would apply it.
    let status = std::fs::read_to_string("/proc/self/status").unwrap();
    let umask = status
        .lines()
        .find_map(|l| l.strip_prefix("Umask:"))
        .map(|v| u32::from_str_radix(v.trim(), 8).unwrap())
        .unwrap();
    assert_ne!(umask & 0o002, 0, "the test assumes a umask that clears o+w");
    let s = Scene::new();
    s.restore(
        &gzip(&tar(&[
            entry(b"open", b'0', b"x", 0o666, b""),
            entry(b"d", b'5', b"", 0o777, b""),
        ])),
        UnpackOptions::new(),
    )
    .unwrap();
    for (name, stored) in [("open", 0o666), ("d", 0o777)] {
        let mode = std::fs::metadata(s.dest().join(name))
            .unwrap()
            .permissions()
            .mode();
        assert_eq!(mode & 0o7777, stored & !umask, "{name}");
        assert_eq!(mode & 0o002, 0, "{name} is world-writable");
    }
}

#[test]
fn duplicate_entry() {
    refused(
        &[file("a", b"1"), file("a", b"2")],
        UnpackOptions::new(),
        "collides",
    );
    refused(&[dir("d"), dir("d")], UnpackOptions::new(), "collides");
    refused(
        &[file("d", b"1"), dir("d")],
        UnpackOptions::new(),
        "collides",
    );
}

#[test]
fn gnu_long_name_with_parent_dir() {
    let long = format!("{}/../../../evil", "a/".repeat(60));
    let mut name = long.clone().into_bytes();
    name.push(0);
    refused(
        &[
            entry(b"././@LongLink", b'L', &name, 0o644, b""),
            file("short", b"evil"),
        ],
        UnpackOptions::new(),
        "..",
    );
}

#[test]
fn pax_path_override_with_parent_dir() {
    let record = "path=../evil\n";
    let rec = format!("{} {record}", record.len() + 3);
    assert_eq!(rec.len(), record.len() + 3);
    refused(
        &[
            entry(b"PaxHeaders/x", b'x', rec.as_bytes(), 0o644, b""),
            file("innocent", b"evil"),
        ],
        UnpackOptions::new(),
        "..",
    );
}

fn assert_malformed<T: std::fmt::Debug>(r: a0backup::Result<T>, what: Input) {
    match r {
        Err(Error::Malformed { input, .. }) => assert_eq!(input, what),
        other => panic!("expected malformed {what}, got {other:?}"),
    }
}

#[test]
fn truncated_tar() {
    // a: header at 0, data 512..3512, padding to 3584; b: header at 3584, data at 4096.
    let t = tar(&[file("a", &[7u8; 3000]), file("b", b"2")]);
    for cut in [100, 512 + 100, 512 * 7 + 100, 512 * 8, 512 * 8 + 1] {
        let s = Scene::new();
        assert_malformed(
            s.restore(&gzip(&t[..cut]), UnpackOptions::new()),
            Input::Tar,
        );
        s.assert_untouched();
    }
}

#[test]
fn tar_without_end_blocks_is_accepted_with_a_warning_when_gzip_is_complete() {
    let t = tar(&[file("a", &[7u8; 3000]), file("b", b"2")]);
    // At an entry boundary, or with the end blocks cut off: the gzip trailer proves the
    // stream complete, so GNU tar, Go and Python accept it, and so does a0backup.
    for (cut, files) in [(512 * 7, 1), (t.len() - 1024, 2), (t.len() - 512, 2)] {
        let s = Scene::new();
        let summary = s.restore(&gzip(&t[..cut]), UnpackOptions::new()).unwrap();
        assert_eq!(summary.files, files, "{cut}");
        let warned = summary
            .warnings
            .iter()
            .any(|w| w.contains("end-of-archive"));
        assert_eq!(
            warned,
            cut == 512 * 7 || cut == t.len() - 1024,
            "{cut}: {:?}",
            summary.warnings
        );
    }
}

#[test]
fn truncated_gzip() {
    let gz = gzip(&tar(&[file("a", &common::pattern(100_000))]));
    for cut in [20, gz.len() / 2, gz.len() - 4, gz.len() - 1] {
        let s = Scene::new();
        match s.restore(&gz[..cut], UnpackOptions::new()) {
            Err(Error::Truncated { input: Input::Gzip }) => {}
            other => panic!("cut at {cut}: expected a truncated gzip stream, got {other:?}"),
        }
        s.assert_untouched();
    }
}

#[test]
fn corrupt_gzip_crc_after_a_valid_tar() {
    let mut gz = gzip(&tar(&[file("a", b"complete")]));
    let n = gz.len();
    gz[n - 8] ^= 0xff; // the CRC32 of the gzip trailer
    let s = Scene::new();
    assert_malformed(s.restore(&gz, UnpackOptions::new()), Input::Gzip);
    s.assert_untouched();
}

#[test]
fn gzip_bomb_over_the_limit() {
    let gz = gzip(&tar(&[file("zeros", &vec![0u8; 4 << 20])]));
    assert!(gz.len() * 50 < 4 << 20, "a small input that inflates a lot");
    let s = Scene::new();
    match s.restore(&gz, UnpackOptions::new().max_total_bytes(1 << 20)) {
        Err(Error::LimitExceeded { max, .. }) => assert_eq!(max, 1 << 20),
        other => panic!("expected a limit, got {other:?}"),
    }
    s.assert_untouched();
    // Zeros after the end marker count too, past a record's padding (1 MiB).
    let mut t = tar(&[file("a", b"1")]);
    t.extend(vec![0u8; 3 << 20]);
    let s = Scene::new();
    let r = s.restore(&gzip(&t), UnpackOptions::new().max_total_bytes(1 << 20));
    assert!(matches!(r, Err(Error::LimitExceeded { .. })), "{r:?}");
    s.assert_untouched();
}

#[test]
fn too_many_entries_and_too_long_paths() {
    let many: Vec<Vec<u8>> = (0..20).map(|i| file(&format!("f{i}"), b"")).collect();
    let s = Scene::new();
    assert!(matches!(
        s.restore(&gzip(&tar(&many)), UnpackOptions::new().max_entries(10)),
        Err(Error::LimitExceeded {
            limit: Limit::EntryCount,
            ..
        })
    ));
    s.assert_untouched();
    let s = Scene::new();
    assert!(matches!(
        s.restore(
            &gzip(&tar(&[file(&"n".repeat(90), b"")])),
            UnpackOptions::new().max_path_len(50)
        ),
        Err(Error::LimitExceeded {
            limit: Limit::PathLength,
            ..
        })
    ));
    s.assert_untouched();
}

#[test]
fn trailing_garbage_after_the_gzip_stream() {
    let mut gz = gzip(&tar(&[file("a", b"1")]));
    gz.extend_from_slice(b"this is not gzip");
    let s = Scene::new();
    assert_malformed(s.restore(&gz, UnpackOptions::new()), Input::Gzip);
    s.assert_untouched();
}

#[test]
fn bytes_after_the_end_marker_are_reported() {
    let mut t = tar(&[file("a", b"1")]);
    t.extend_from_slice(b"junk");
    let s = Scene::new();
    let r = restore_reader(&gzip(&t)[..], &s.dest(), None, RestoreOptions::new()).unwrap();
    assert_eq!(r.unpacked.trailing_bytes, 4);
    assert_eq!(s.paths(), vec!["dest", "dest/a", "outside.txt"]);
}

#[test]
fn concatenated_gzip_members_are_all_read() {
    let t = tar(&[file("a", b"first"), file("b", b"second")]);
    let mut gz = gzip(&t[..512]);
    gz.extend(gzip(&t[512..]));
    let s = Scene::new();
    s.restore(&gz, UnpackOptions::new()).unwrap();
    assert_eq!(std::fs::read(s.dest().join("b")).unwrap(), b"second");
}

#[test]
fn not_gzip_at_all() {
    let s = Scene::new();
    match s.restore(&tar(&[file("a", b"1")]), UnpackOptions::new()) {
        Err(
            e @ Error::Malformed {
                input: Input::Gzip, ..
            },
        ) => {
            assert!(e.to_string().contains("not gzip"), "{e}")
        }
        other => panic!("{other:?}"),
    }
    s.assert_untouched();
}
