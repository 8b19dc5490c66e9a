//! The tar reader at the edges of what real producers write and what attackers write: every
//! archive here is either restored exactly as GNU tar restores it, or refused; where both
//! read it, `list` names the same entries as `tar tf`.

mod common;

use std::collections::BTreeMap;
use std::os::unix::fs::{MetadataExt, PermissionsExt};
use std::path::Path;
use std::process::{Command, Stdio};

use a0backup::archive::{unpack, EntryInfo, EntryKind, UnpackOptions};
use a0backup::Error;
use common::tar_build::{dir, entry, file, gnu_long, gzip, pax, tar, with_data, Head};

/// Names as `tar tf` prints them, or `None` when GNU tar fails on the archive.
/// The entries of a `.tar.gz`, handed to `each` (the library's iterator, read to its end).
fn list(gz: &[u8], mut each: impl FnMut(&EntryInfo)) -> a0backup::Result<()> {
    for entry in a0backup::archive::list(gz, UnpackOptions::new())? {
        each(&entry?);
    }
    Ok(())
}

fn gnu_names(tar_bytes: &[u8]) -> Option<Vec<String>> {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("a.tar");
    std::fs::write(&path, tar_bytes).unwrap();
    let out = Command::new("tar")
        .env("LC_ALL", "C.UTF-8")
        .args(["--quoting-style=escape", "-tf"])
        .arg(&path)
        .output()
        .unwrap();
    out.status.success().then(|| {
        String::from_utf8(out.stdout)
            .unwrap()
            .lines()
            .map(str::to_string)
            .collect()
    })
}

/// Names as a0backup lists them, escaped as GNU tar escapes them.
fn our_names(tar_bytes: &[u8]) -> a0backup::Result<Vec<String>> {
    let mut names = Vec::new();
    list(&gzip(tar_bytes)[..], |e| {
        names.push(a0backup::archive::escape_name(
            e.path.as_os_str().as_encoded_bytes(),
        ))
    })?;
    Ok(names)
}

/// `list` agrees with `tar tf` wherever it reads the archive at all.
fn assert_lists_like_gnu_tar(tar_bytes: &[u8]) {
    if !common::have("tar") {
        return;
    }
    if let Ok(ours) = our_names(tar_bytes) {
        let gnu = gnu_names(tar_bytes).expect("GNU tar reads what a0backup lists");
        // GNU tar prints a directory's stored name, trailing slash included.
        let strip = |v: &[String]| -> Vec<String> {
            v.iter()
                .map(|n| n.trim_end_matches('/').to_string())
                .collect()
        };
        assert_eq!(strip(&ours), strip(&gnu));
    }
}

/// Every path under `root` with its kind, content, mode bits and mtime.
fn snapshot(root: &Path) -> BTreeMap<String, (char, Vec<u8>, u32, i64)> {
    let mut out = BTreeMap::new();
    let mut stack = vec![root.to_path_buf()];
    while let Some(d) = stack.pop() {
        for e in std::fs::read_dir(&d).unwrap() {
            let p = e.unwrap().path();
            let m = std::fs::symlink_metadata(&p).unwrap();
            let rel = p.strip_prefix(root).unwrap().to_string_lossy().into_owned();
            let (kind, content) = if m.is_dir() {
                stack.push(p.clone());
                ('d', Vec::new())
            } else if m.file_type().is_symlink() {
                (
                    'l',
                    std::fs::read_link(&p)
                        .unwrap()
                        .into_os_string()
                        .into_encoded_bytes(),
                )
            } else {
                ('-', std::fs::read(&p).unwrap())
            };
            out.insert(rel, (kind, content, m.mode() & 0o7777, m.mtime()));
        }
    }
    out
}

/// Unpacks with a0backup and with GNU tar (umask applied, as for an ordinary user) and
/// compares the trees.
fn assert_unpacks_like_gnu_tar(tar_bytes: &[u8], options: UnpackOptions) {
    let work = tempfile::tempdir().unwrap();
    let ours = work.path().join("ours");
    unpack(&gzip(tar_bytes)[..], &ours, options).unwrap_or_else(|e| panic!("{e}"));
    if !common::have("tar") {
        return;
    }
    let theirs = work.path().join("theirs");
    std::fs::create_dir(&theirs).unwrap();
    let archive = work.path().join("a.tar");
    std::fs::write(&archive, tar_bytes).unwrap();
    let st = Command::new("tar")
        .args(["--no-same-permissions", "--no-same-owner", "-xf"])
        .arg(&archive)
        .arg("-C")
        .arg(&theirs)
        .status()
        .unwrap();
    assert!(st.success());
    // GNU tar applies `./`'s mode to the directory it extracts into; a0backup keeps the
    // destination's own, so compare what is inside.
    assert_eq!(snapshot(&ours), snapshot(&theirs));
    assert_lists_like_gnu_tar(tar_bytes);
}

fn refused(tar_bytes: &[u8], options: UnpackOptions, needle: &str) -> Error {
    let work = tempfile::tempdir().unwrap();
    let dest = work.path().join("dest");
    let e = unpack(&gzip(tar_bytes)[..], &dest, options).expect_err("refused");
    assert!(e.to_string().contains(needle), "{needle:?} not in: {e}");
    assert_lists_like_gnu_tar(tar_bytes);
    e
}

fn gnu_tar(args: &[&str], cwd: &Path) -> Vec<u8> {
    let out = Command::new("tar")
        .args(args)
        .args(["-cf", "-"])
        .current_dir(cwd)
        .stderr(Stdio::inherit())
        .output()
        .unwrap();
    assert!(out.status.success(), "tar {args:?}");
    out.stdout
}

fn touch(path: &Path, date: &str) {
    let st = Command::new("touch")
        .args(["-h", "-d", date])
        .arg(path)
        .status()
        .unwrap();
    assert!(st.success());
}

#[test]
fn gnu_tar_of_dot_with_old_and_future_mtimes_restores_exactly() {
    if !common::have("tar") {
        return;
    }
    let src = tempfile::tempdir().unwrap();
    let root = src.path();
    std::fs::create_dir_all(root.join("admin/empty")).unwrap();
    std::fs::write(root.join("admin/system.version.bson"), b"\x05\0\0\0\0").unwrap();
    std::fs::write(root.join("old.bson"), b"old").unwrap();
    std::fs::write(root.join("future.bson"), b"future").unwrap();
    std::fs::write(root.join("empty file"), b"").unwrap();
    touch(&root.join("old.bson"), "1960-01-01 00:00:00 UTC");
    touch(&root.join("future.bson"), "2200-01-01 00:00:00 UTC");
    std::fs::set_permissions(root.join("old.bson"), PermissionsExt::from_mode(0o600)).unwrap();
    for format in ["gnu", "posix", "oldgnu"] {
        let t = gnu_tar(&[&format!("--format={format}"), "."], root);
        assert_unpacks_like_gnu_tar(&t, UnpackOptions::new());
        let work = tempfile::tempdir().unwrap();
        unpack(&gzip(&t)[..], &work.path().join("d"), UnpackOptions::new()).unwrap();
        let old = std::fs::metadata(work.path().join("d/old.bson")).unwrap();
        assert_eq!(old.mtime(), -315_619_200, "{format}");
        let future = std::fs::metadata(work.path().join("d/future.bson")).unwrap();
        assert_eq!(future.mtime(), 7_258_118_400, "{format}");
    }
}

#[test]
fn negative_and_huge_base256_mtimes_never_panic() {
    for mtime in [-1, -86_400 * 365 * 100, i64::MIN / 2, 1 << 40, i64::MAX / 2] {
        let t = tar(&[with_data(
            Head {
                name: b"f",
                mtime,
                ..Head::default()
            },
            b"x",
        )]);
        let work = tempfile::tempdir().unwrap();
        let r = unpack(&gzip(&t)[..], &work.path().join("d"), UnpackOptions::new());
        // A time the file system cannot hold is clamped by the kernel or refused by it; never
        // a panic, and the file's content is written either way.
        if r.is_ok() {
            assert_eq!(std::fs::read(work.path().join("d/f")).unwrap(), b"x");
        }
        let mut mtimes = Vec::new();
        list(&gzip(&t)[..], |e| mtimes.push(e.mtime)).unwrap();
        assert_eq!(mtimes, [mtime]);
    }
}

#[test]
fn zero_padding_after_the_gzip_stream_is_ignored_with_a_warning() {
    let mut gz = gzip(&tar(&[file("a", b"1")]));
    gz.extend_from_slice(&[0u8; 10_240]);
    let work = tempfile::tempdir().unwrap();
    let s = unpack(&gz[..], &work.path().join("d"), UnpackOptions::new()).unwrap();
    assert_eq!(s.files, 1);
    assert!(
        s.warnings.iter().any(|w| w.contains("10240 zero bytes")),
        "{:?}",
        s.warnings
    );
    if common::have("gzip") {
        // gzip(1) agrees: the data decompresses, the padding draws only a warning.
        let mut child = Command::new("gzip")
            .arg("-dc")
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap();
        use std::io::Write;
        child.stdin.take().unwrap().write_all(&gz).unwrap();
        let out = child.wait_with_output().unwrap();
        assert_eq!(out.stdout, tar(&[file("a", b"1")]));
    }
}

#[test]
fn old_style_directory_is_a_directory() {
    // V7 and early writers mark a directory only by the trailing slash of a regular entry.
    let t = tar(&[
        entry(b"olddir/", b'0', b"", 0o755, b""),
        entry(b"olddir/f", b'0', b"content", 0o644, b""),
        entry(b"old-a/", b'\0', b"", 0o700, b""),
    ]);
    assert_unpacks_like_gnu_tar(&t, UnpackOptions::new());
    let mut kinds = Vec::new();
    list(&gzip(&t)[..], |e| kinds.push(e.kind)).unwrap();
    assert_eq!(
        kinds,
        [EntryKind::Directory, EntryKind::File, EntryKind::Directory]
    );
}

#[test]
fn hardlink_with_a_size_carries_no_data() {
    // Old writers store the linked file's size in a hardlink's header but no data (libarchive's
    // test_compat_tar_hardlink_1); GNU tar, Go and Python read the next header right after it.
    let link = common::tar_build::header(&Head {
        name: b"b",
        typeflag: b'1',
        size: 12,
        link: b"a",
        ..Head::default()
    });
    let t = tar(&[
        file("a", b"same content"),
        link,
        file("c", b"after the link"),
    ]);
    assert_unpacks_like_gnu_tar(&t, UnpackOptions::new().allow_hardlinks(true));
    let work = tempfile::tempdir().unwrap();
    let d = work.path().join("d");
    unpack(
        &gzip(&t)[..],
        &d,
        UnpackOptions::new().allow_hardlinks(true),
    )
    .unwrap();
    assert_eq!(
        std::fs::metadata(d.join("a")).unwrap().ino(),
        std::fs::metadata(d.join("b")).unwrap().ino()
    );
    assert_eq!(std::fs::read(d.join("c")).unwrap(), b"after the link");
    let mut sizes = Vec::new();
    list(&gzip(&t)[..], |e| sizes.push(e.size)).unwrap();
    assert_eq!(sizes, [12, 0, 14]);
}

#[test]
fn special_entries_that_declare_data_are_refused() {
    // GNU tar skips a symlink's, device's or FIFO's declared data; Go and Python do not
    // (Go's hdr-only.tar). The same bytes would be read as different entries.
    for flag in [b'2', b'3', b'4', b'6'] {
        let t = tar(&[
            with_data(
                Head {
                    name: b"special",
                    typeflag: flag,
                    link: b"target",
                    ..Head::default()
                },
                &file("hidden", b"x")[..512],
            ),
            file("after", b"1"),
        ]);
        refused(
            &t,
            UnpackOptions::new().allow_symlinks(true),
            "readers disagree",
        );
    }
}

#[test]
fn root_entry_alone_restores_to_an_empty_tree() {
    let t = tar(&[dir("./"), dir("./sub/"), file("./sub/f", b"1")]);
    assert_unpacks_like_gnu_tar(&t, UnpackOptions::new());
    refused(&tar(&[file(".", b"x")]), UnpackOptions::new(), "empty path");
}

#[test]
fn sparse_files_are_refused_in_every_encoding() {
    if !common::have("tar") {
        return;
    }
    let src = tempfile::tempdir().unwrap();
    let f = std::fs::File::create(src.path().join("holes.bson")).unwrap();
    f.set_len(4 << 20).unwrap();
    use std::os::unix::fs::FileExt;
    f.write_at(b"data in the middle", 2 << 20).unwrap();
    drop(f);
    let forms: [&[&str]; 4] = [
        &["--format=gnu", "-S"],
        &["--format=posix", "-S", "--sparse-version=0.0"],
        &["--format=posix", "-S", "--sparse-version=0.1"],
        &["--format=posix", "-S", "--sparse-version=1.0"],
    ];
    for form in forms {
        let mut args = form.to_vec();
        args.push("holes.bson");
        let t = gnu_tar(&args, src.path());
        let work = tempfile::tempdir().unwrap();
        let e = unpack(&gzip(&t)[..], &work.path().join("d"), UnpackOptions::new())
            .expect_err("sparse is refused");
        assert!(e.to_string().contains("sparse"), "{form:?}: {e}");
        assert!(matches!(e, Error::UnsafeEntry { .. }), "{form:?}: {e:?}");
        assert!(list(&gzip(&t)[..], |_| {}).is_err(), "{form:?}");
    }
}

#[test]
fn ambiguous_names_are_refused_not_guessed() {
    let two_paths = pax(b'x', &[("path", b"a"), ("path", b"b")]);
    refused(
        &tar(&[two_paths, file("x", b"1")]),
        UnpackOptions::new(),
        "twice",
    );

    let long_and_pax = [
        gnu_long(b'L', b"from-long-name"),
        pax(b'x', &[("path", b"from-pax")]),
        file("x", b"1"),
    ];
    refused(
        &tar(&long_and_pax),
        UnpackOptions::new(),
        "both a GNU long name and a PAX path",
    );

    let two_long = [
        gnu_long(b'L', b"one"),
        gnu_long(b'L', b"two"),
        file("x", b"1"),
    ];
    refused(
        &tar(&two_long),
        UnpackOptions::new(),
        "two GNU long-name records",
    );

    let two_pax = [
        pax(b'x', &[("mtime", b"1")]),
        pax(b'x', &[("path", b"b")]),
        file("x", b"1"),
    ];
    refused(
        &tar(&two_pax),
        UnpackOptions::new(),
        "two PAX extended headers",
    );

    let mut malformed = entry(b"PaxHeaders/x", b'x', b"13 path=abc\n", 0o644, b"");
    malformed.extend(file("x", b"1"));
    refused(
        &tar(&[malformed]),
        UnpackOptions::new(),
        "PAX extended header",
    );

    let global_path = [pax(b'g', &[("path", b"everything")]), file("x", b"1")];
    refused(
        &tar(&global_path),
        UnpackOptions::new(),
        "global PAX header",
    );

    let dangling = [file("x", b"1"), pax(b'x', &[("path", b"nothing-follows")])];
    refused(&tar(&dangling), UnpackOptions::new(), "extension records");
}

#[test]
fn pax_size_that_contradicts_the_header_is_refused() {
    // CVE-2026-33055: the header says 1 block, PAX says 3; a reader that ignores either one
    // sees different entries in the same bytes.
    let inner = file("smuggled", b"evil");
    let mut data = b"x".repeat(512);
    data.extend_from_slice(&inner);
    let liar = [
        pax(b'x', &[("size", b"1536")]),
        with_data(
            Head {
                name: b"cover",
                ..Head::default()
            },
            &data[..512],
        ),
        data[512..].to_vec(),
    ];
    refused(&tar(&liar), UnpackOptions::new(), "contradicts");

    // TARmageddon's shape (header size 0, PAX size set) is how large files are stored: the PAX
    // size is taken, as GNU tar takes it.
    let big = [
        pax(b'x', &[("size", b"5")]),
        {
            let mut v = common::tar_build::header(&Head {
                name: b"big",
                size: 0,
                ..Head::default()
            });
            v.extend_from_slice(b"hello");
            v.resize(1024, 0);
            v
        },
        file("after", b"1"),
    ];
    assert_unpacks_like_gnu_tar(&tar(&big), UnpackOptions::new());
}

#[test]
fn a_directory_size_is_not_data() {
    // GNU tar, Go and Python read the header after a directory's, whatever its size says.
    let mut t = common::tar_build::header(&Head {
        name: b"d/",
        typeflag: b'5',
        size: 512,
        mode: 0o755,
        ..Head::default()
    });
    t.extend(file("d/inner", b"x"));
    let t = tar(&[t]);
    assert_unpacks_like_gnu_tar(&t, UnpackOptions::new());
}

#[test]
fn global_headers_count_against_the_entry_limit() {
    let mut entries: Vec<Vec<u8>> = (0..5).map(|_| pax(b'g', &[("comment", b"hi")])).collect();
    entries.push(file("a", b"1"));
    let t = tar(&entries);
    let work = tempfile::tempdir().unwrap();
    let r = unpack(
        &gzip(&t)[..],
        &work.path().join("d"),
        UnpackOptions::new().max_entries(3),
    );
    assert!(
        matches!(
            r,
            Err(Error::LimitExceeded {
                limit: a0backup::error::Limit::EntryCount,
                ..
            })
        ),
        "{r:?}"
    );
}

#[test]
fn oversized_metadata_is_refused_before_it_is_read() {
    // Headers that declare 1 GiB of long name or PAX data, with none of it present: the
    // refusal comes from the declared size, so nothing is allocated or awaited.
    for (flag, what) in [
        (b'L', "entry path length"),
        (b'K', "link target length"),
        (b'x', "PAX"),
    ] {
        let h = common::tar_build::header(&Head {
            name: b"bomb",
            typeflag: flag,
            size: 1 << 30,
            ..Head::default()
        });
        let work = tempfile::tempdir().unwrap();
        let e = unpack(&gzip(&h)[..], &work.path().join("d"), UnpackOptions::new()).unwrap_err();
        assert!(matches!(e, Error::LimitExceeded { .. }), "{e:?}");
        assert!(e.to_string().contains(what), "{e}");
    }
}

#[test]
fn damaged_headers_are_malformed() {
    let mut t = tar(&[file("a", b"1"), file("b", b"2")]);
    t[1024 + 10] ^= 1; // b's header, without fixing its checksum
    let work = tempfile::tempdir().unwrap();
    let e = unpack(&gzip(&t)[..], &work.path().join("d"), UnpackOptions::new()).unwrap_err();
    assert!(e.to_string().contains("bad header checksum"), "{e}");
    let e = list(&gzip(&[7u8; 2048])[..], |_| {}).unwrap_err();
    assert!(e.to_string().contains("not a tar archive"), "{e}");
}

#[test]
fn lone_zero_block_ends_the_archive_and_the_rest_is_counted() {
    // GNU tar, Python and tar-rs stop at the first zero block; what follows is not an entry.
    let mut t = file("a", b"1");
    t.extend_from_slice(&[0u8; 512]);
    t.extend(file("hidden", b"2"));
    t.extend_from_slice(&[0u8; 1024]);
    let work = tempfile::tempdir().unwrap();
    let s = unpack(&gzip(&t)[..], &work.path().join("d"), UnpackOptions::new()).unwrap();
    assert_eq!(s.files, 1);
    assert!(s.trailing_bytes > 0);
    assert!(!work.path().join("d/hidden").exists());
    assert_lists_like_gnu_tar(&t);
}

#[test]
fn block_devices_list_as_b_and_names_are_escaped_in_refusals() {
    let t = tar(&[
        entry(b"sda", b'4', b"", 0o660, b""),
        entry(b"tty", b'3', b"", 0o660, b""),
    ]);
    let mut letters = String::new();
    list(&gzip(&t)[..], |e| letters.push(e.kind.letter())).unwrap();
    assert_eq!(letters, "bc");

    let t = tar(&[entry(b"evil\x1b[2J/../x", b'0', b"", 0o644, b"")]);
    let work = tempfile::tempdir().unwrap();
    let e = unpack(&gzip(&t)[..], &work.path().join("d"), UnpackOptions::new()).unwrap_err();
    let shown = e.to_string();
    assert!(shown.contains("evil\\033[2J"), "{shown}");
    assert!(!shown.contains('\x1b'), "{shown:?}");
}

#[test]
fn old_style_directory_with_a_size_is_refused() {
    // GNU tar skips the declared data of `dir/` with a regular type flag, Go and Python do not
    // (libarchive's test_compat_tar_directory_1): the next entry exists for one and not the
    // other.
    for flag in [b'\0', b'0'] {
        let mut t = common::tar_build::header(&Head {
            name: b"directory1/",
            typeflag: flag,
            size: 1,
            ..Head::default()
        });
        t.extend(dir("directory2/"));
        refused(&tar(&[t]), UnpackOptions::new(), "readers disagree");
    }
}

#[test]
fn pax_mtime_with_trailing_junk_takes_its_numeric_prefix_as_gnu_tar_does() {
    let t = tar(&[
        pax(b'x', &[("mtime", b"1748089464.951928467a")]),
        file("empty", b""),
    ]);
    assert_unpacks_like_gnu_tar(&t, UnpackOptions::new());
    let work = tempfile::tempdir().unwrap();
    let s = unpack(&gzip(&t)[..], &work.path().join("d"), UnpackOptions::new()).unwrap();
    assert!(
        s.warnings.iter().any(|w| w.contains("PAX mtime")),
        "{:?}",
        s.warnings
    );
}

#[test]
fn volume_labels_are_listed_and_not_extracted() {
    let label = entry(b"backup of 2026-11-23", b'V', b"", 0o644, b"");
    let t = tar(&[label, file("a", b"1")]);
    assert_unpacks_like_gnu_tar(&t, UnpackOptions::new());
    let mut kinds = Vec::new();
    list(&gzip(&t)[..], |e| kinds.push(e.kind)).unwrap();
    assert_eq!(kinds, [EntryKind::VolumeLabel, EntryKind::File]);
}

#[test]
fn entries_left_out_by_a_filter_are_still_judged() {
    use a0backup::archive::EntryFilter;
    let only_a = || UnpackOptions::new().filter(EntryFilter::new().include("a").unwrap());
    for t in [
        tar(&[file("a", b"1"), file("../escape", b"2")]),
        tar(&[file("a", b"1"), entry(b"pipe", b'6', b"", 0o644, b"")]),
        tar(&[file("a", b"1"), entry(b"l", b'2', b"", 0o777, b"/etc")]),
    ] {
        let work = tempfile::tempdir().unwrap();
        let r = unpack(&gzip(&t)[..], &work.path().join("d"), only_a());
        assert!(matches!(r, Err(Error::UnsafeEntry { .. })), "{r:?}");
    }
    let work = tempfile::tempdir().unwrap();
    let t = tar(&[dir("d"), file("d/a", b"1"), file("d/b", b"2")]);
    let s = unpack(
        &gzip(&t)[..],
        &work.path().join("x"),
        UnpackOptions::new().filter(EntryFilter::new().exclude("*/b").unwrap()),
    )
    .unwrap();
    assert_eq!((s.files, s.skipped), (1, 1));
    assert!(!work.path().join("x/d/b").exists());
}
