//! A pack that fails half-way leaves no deflate thread running: the parallel gzip encoder joins
//! its threads when it is dropped. A test binary of its own, so that no other test's threads
//! come and go while /proc/self/task is counted.

use std::path::Path;

use a0backup::pack::{pack_writer, PackOptions};
use a0backup::{Error, Progress};

fn threads() -> usize {
    std::fs::read_dir("/proc/self/task").unwrap().count()
}

/// Bytes that deflate slowly (few matches), so blocks are still being compressed when the pack
/// stops.
fn noise(len: usize, seed: u64) -> Vec<u8> {
    let mut x = seed | 1;
    (0..len)
        .map(|_| {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            (x % 64) as u8 + b' '
        })
        .collect()
}

#[test]
fn a_failed_pack_leaves_no_thread_running() {
    if !Path::new("/proc/self/task").exists() {
        eprintln!("SKIPPED: needs /proc");
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    // 4 blocks of 512 KiB in the first file; the pack is cancelled right after it, while
    // the last blocks are still being compressed.
    std::fs::write(dir.path().join("a.bson"), noise(2 << 20, 1)).unwrap();
    std::fs::write(dir.path().join("b.bson"), b"never packed").unwrap();
    let before = threads();
    for round in 0..3 {
        let stop = PackOptions::new()
            .level(9)
            .progress(Progress::new(|_, _| false));
        let r = pack_writer(dir.path(), std::io::sink(), None, stop);
        assert!(matches!(r, Err(Error::Cancelled)), "{r:?}");
        assert_eq!(threads(), before, "threads left after failed pack {round}");
    }
    // And after a pack that succeeds.
    pack_writer(dir.path(), std::io::sink(), None, PackOptions::new()).unwrap();
    assert_eq!(threads(), before);
}
