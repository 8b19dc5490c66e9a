//! Restore, unpack and check with the parallel inflater (`InflateOptions::threads`): the
//! sample backup gives its manifest's hashes, and damaged copies fail exactly as they do
//! with the sequential path (the same error variant, nothing left behind).

mod common;

use std::collections::BTreeMap;
use std::io::Read;
use std::path::Path;

use a0backup::archive::UnpackOptions;
use a0backup::check::{check_reader, CheckOptions};
use a0backup::gzip::InflateOptions;
use a0backup::restore::{restore_file, RestoreOptions};
use a0backup::{BackupStatus, Error, Password};
use common::{data, sample_manifest, sha256_hex};

fn files(dir: &Path) -> BTreeMap<String, String> {
    fn walk(base: &Path, dir: &Path, out: &mut BTreeMap<String, String>) {
        for e in std::fs::read_dir(dir).unwrap() {
            let p = e.unwrap().path();
            if p.is_dir() {
                walk(base, &p, out);
            } else {
                let rel = p.strip_prefix(base).unwrap().to_string_lossy().into_owned();
                out.insert(rel, sha256_hex(&std::fs::read(&p).unwrap()));
            }
        }
    }
    let mut out = BTreeMap::new();
    walk(dir, dir, &mut out);
    out
}

fn parallel(threads: usize, chunk: usize) -> UnpackOptions {
    UnpackOptions::new().inflate(InflateOptions::new().threads(threads).chunk_size(chunk))
}

fn md5() -> a0backup::Md5Digest {
    BackupStatus::from_file(&data("sample-backup/backup-status.txt"))
        .unwrap()
        .md5
}

#[test]
fn the_sample_restores_to_its_manifest_on_threads() {
    for (threads, chunk) in [(1, 1024), (2, 1024), (2, 4096), (4, 2048), (2, 512 * 1024)] {
        let work = tempfile::tempdir().unwrap();
        let dest = work.path().join("restored");
        let s = restore_file(
            &data("sample-backup/backup-retrieve.tar.gz.enc"),
            &dest,
            Some(&Password::from("Passw0rd")),
            RestoreOptions::new()
                .expected_md5(md5())
                .unpack(parallel(threads, chunk)),
        )
        .unwrap();
        assert_eq!(s.md5, Some(md5()));
        assert_eq!(
            files(&dest),
            sample_manifest(),
            "{threads} threads, {chunk}"
        );
    }
}

/// The error variant (what restore's callers and exit codes go by) and its message.
fn kind(e: &Error) -> (std::mem::Discriminant<Error>, String) {
    (std::mem::discriminant(e), e.to_string())
}

#[test]
fn damaged_backups_fail_as_with_the_sequential_path() {
    let good = std::fs::read(data("sample-backup/backup-retrieve.tar.gz.enc")).unwrap();
    let mut cases: Vec<(String, Vec<u8>)> = Vec::new();
    for at in (0..good.len()).step_by(997) {
        let mut b = good.clone();
        b[at] ^= 0x10;
        cases.push((format!("byte {at} flipped"), b));
    }
    for len in [
        0,
        3,
        16,
        30,
        1000,
        good.len() / 2,
        good.len() - 9,
        good.len() - 1,
    ] {
        cases.push((format!("cut at {len}"), good[..len].to_vec()));
    }
    let work = tempfile::tempdir().unwrap();
    let input = work.path().join("damaged.enc");
    let pw = Password::from("Passw0rd");
    for (what, bytes) in &cases {
        std::fs::write(&input, bytes).unwrap();
        for expected in [None, Some(md5())] {
            let run = |unpack: UnpackOptions| {
                let dest = work.path().join("dest");
                let r = restore_file(
                    &input,
                    &dest,
                    Some(&pw),
                    match expected {
                        Some(md5) => RestoreOptions::new().expected_md5(md5),
                        None => RestoreOptions::new(),
                    }
                    .unpack(unpack),
                );
                let left = dest.exists();
                if left {
                    std::fs::remove_dir_all(&dest).unwrap();
                }
                (r.map(|s| s.unpacked), left)
            };
            let (sequential, seq_left) = run(UnpackOptions::new());
            for unpack in [parallel(2, 1024), parallel(3, 4096)] {
                let (threaded, left) = run(unpack);
                match (&sequential, &threaded) {
                    (Ok(a), Ok(b)) => assert_eq!(a, b, "{what}"),
                    (Err(a), Err(b)) => assert_eq!(kind(a), kind(b), "{what}: {a} / {b}"),
                    _ => panic!("{what}: sequential {sequential:?}, threads {threaded:?}"),
                }
                assert_eq!(left, seq_left, "{what}");
                assert!(
                    threaded.is_ok() || !left,
                    "{what}: a failed restore left a tree"
                );
            }
        }
    }
}

#[test]
fn check_and_unpack_on_threads() {
    let pw = Password::from("Passw0rd");
    let enc = std::fs::read(data("sample-backup/backup-retrieve.tar.gz.enc")).unwrap();
    let sequential = check_reader(&enc[..], Some(&pw), CheckOptions::new()).unwrap();
    let threaded = check_reader(
        &enc[..],
        Some(&pw),
        CheckOptions::new().unpack(parallel(2, 1024)),
    )
    .unwrap();
    assert_eq!(threaded, sequential);

    // unpack of the plain .tar.gz inside.
    let mut gz = Vec::new();
    a0backup::DecryptReader::new(&enc[..], &pw, a0backup::DecryptOptions::new())
        .unwrap()
        .read_to_end(&mut gz)
        .unwrap();
    let dest = tempfile::tempdir().unwrap();
    a0backup::archive::unpack(&gz[..], dest.path(), parallel(2, 2048)).unwrap();
    assert_eq!(files(dest.path()), sample_manifest());
}
