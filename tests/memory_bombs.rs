//! Small archives that declare huge metadata: the CLI refuses them without taking the memory
//! they ask for. One test, so the peak resident size of this process's children (the only
//! children are the CLI runs below) measures exactly these runs.

mod common;

use std::path::Path;
use std::process::Command;

use common::tar_build::{dir, gzip, header, Head};

/// The largest peak resident size of any waited-for child so far, in bytes.
fn children_peak_rss() -> u64 {
    let mut usage = std::mem::MaybeUninit::<libc::rusage>::zeroed();
    // SAFETY: getrusage writes a whole rusage into the pointer it is given.
    let rc = unsafe { libc::getrusage(libc::RUSAGE_CHILDREN, usage.as_mut_ptr()) };
    assert_eq!(rc, 0);
    // SAFETY: initialised by the successful call above.
    let kib = unsafe { usage.assume_init() }.ru_maxrss;
    kib as u64 * 1024
}

fn run(args: &[&std::ffi::OsStr]) -> (i32, String) {
    let out = Command::new(env!("CARGO_BIN_EXE_a0backup"))
        .args(args)
        .output()
        .unwrap();
    (
        out.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

/// A header declaring `size` bytes of metadata, followed by all of it: one gzip member per
/// MiB of data, each the same few hundred bytes, so a 1 GiB record costs about 1 MB.
fn declared(typeflag: u8, size: u64) -> Vec<u8> {
    let mut gz = gzip(&header(&Head {
        name: b"bomb",
        typeflag,
        size,
        ..Head::default()
    }));
    let mib = gzip(&vec![b'1'; 1 << 20]);
    for _ in 0..size >> 20 {
        gz.extend_from_slice(&mib);
    }
    gz
}

#[test]
fn metadata_bombs_stay_under_64_mib() {
    let work = tempfile::tempdir().unwrap();
    let mut cases: Vec<(&str, Vec<u8>, &str)> = vec![
        (
            "pax-1gib",
            declared(b'x', 1 << 30),
            "PAX extended header size",
        ),
        (
            "pax-global-1gib",
            declared(b'g', 1 << 30),
            "PAX global header size",
        ),
        (
            "long-name-1gib",
            declared(b'L', 1 << 30),
            "entry path length",
        ),
        (
            "long-link-1gib",
            declared(b'K', 1 << 30),
            "link target length",
        ),
    ];
    // GNU sparse with a million map blocks: refused at its first header.
    let mut sparse = header(&Head {
        name: b"holes",
        typeflag: b'S',
        size: 1 << 20,
        ..Head::default()
    });
    sparse.extend(std::iter::repeat_n(0x30u8, 512 * 1000));
    cases.push(("sparse-map", gzip(&sparse), "sparse"));
    // Directories with 4000-byte paths (20 levels of 200-byte names) until the path model's
    // cap, written straight to disk: the kernel records this process's own peak in its
    // children's (they start in its address space), so it must stay small too.
    let long = format!("{}/", "y".repeat(199)).repeat(19);
    let dirs_file = work.path().join("many-long-dirs.tar.gz");
    let mut e = flate2::write::GzEncoder::new(
        std::fs::File::create(&dirs_file).unwrap(),
        flate2::Compression::fast(),
    );
    for i in 0..20_000 {
        use std::io::Write;
        let name = format!("{i:08}/{long}");
        // dir() writes a 100-byte name field; the long name travels in a PAX record.
        e.write_all(&common::tar_build::pax(b'x', &[("path", name.as_bytes())]))
            .unwrap();
        e.write_all(&dir(&name)).unwrap();
    }
    e.finish().unwrap();
    cases.push((
        "many-long-dirs",
        std::fs::read(&dirs_file).unwrap(),
        "memory for the archive",
    ));

    for (name, gz, needle) in &cases {
        let file = work.path().join(format!("{name}.tar.gz"));
        std::fs::write(&file, gz).unwrap();
        let dest = work.path().join(format!("{name}-out"));
        let (code, err) = run(&[
            "unpack".as_ref(),
            file.as_os_str(),
            "-C".as_ref(),
            dest.as_os_str(),
        ]);
        assert_eq!(code, 5, "{name}: {err}");
        assert!(err.contains(needle), "{name}: {err}");
        let (code, err) = run(&["list".as_ref(), file.as_os_str()]);
        if *name != "many-long-dirs" {
            assert_eq!(code, 5, "list {name}: {err}");
        }
        assert!(!Path::new(&dest).join("bomb").exists());
    }
    let peak = children_peak_rss();
    assert!(peak < 64 << 20, "peak RSS {} MiB", peak >> 20);
    eprintln!("peak RSS of the CLI over all bombs: {} KiB", peak >> 10);
}
