//! `checksum::Md5` against two other MD5s: the `md-5` crate on long inputs, and coreutils
//! `md5sum` on files at every length around the block and padding boundaries and at a few large
//! sizes. (Random inputs cut at random points: the `md5` fuzz check, which
//! `tests/fuzz_corpus.rs` also runs under proptest.)

mod common;

use std::process::Command;

use a0backup::checksum::{md5_bytes, md5_file, md5_reader};
use md5::Digest;

fn reference(data: &[u8]) -> String {
    common::to_hex(&md5::Md5::digest(data))
}

#[test]
fn equals_md5_crate_on_long_inputs() {
    let mut rng = common::Rng::new(5);
    for len in [1 << 16, (1 << 20) + 13, 3 * (1 << 20) - 1] {
        let data = rng.bytes(len);
        assert_eq!(
            md5_bytes(&data).to_string(),
            reference(&data),
            "{len} bytes"
        );
        let (digest, n) = md5_reader(&data[..]).unwrap();
        assert_eq!((digest.to_string(), n), (reference(&data), len as u64));
    }
}

#[test]
fn equals_md5sum_at_every_boundary_length() {
    if !common::have("md5sum") {
        eprintln!("skipped: md5sum is not installed");
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let mut rng = common::Rng::new(11);
    let mut lengths: Vec<usize> = (0..=200).collect();
    lengths.extend([
        255,
        256,
        257,
        4095,
        4096,
        4097,
        (1 << 20) - 1,
        1 << 20,
        5_000_003,
    ]);
    let mut files = Vec::new();
    for len in &lengths {
        let path = dir.path().join(format!("{len}.bin"));
        std::fs::write(&path, rng.bytes(*len)).unwrap();
        files.push(path);
    }
    let out = Command::new("md5sum").args(&files).output().unwrap();
    assert!(out.status.success());
    let text = String::from_utf8(out.stdout).unwrap();
    let theirs: Vec<&str> = text.lines().map(|l| &l[..32]).collect();
    assert_eq!(theirs.len(), files.len());
    for (path, want) in files.iter().zip(theirs) {
        let ours = md5_file(path).unwrap().to_string();
        assert_eq!(ours, want, "{}", path.display());
    }
}
