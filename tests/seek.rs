//! `DecryptReader` seeks correctly when the encrypted file sits inside a larger one: the inner
//! reader is at offset K, not 0, when the reader is made.

mod common;

use std::fs::File;
use std::io::{BufReader, Read, Seek, SeekFrom, Write};

use a0backup::{DecryptOptions, DecryptReader, EncryptWriter, Format, KeyIv, Password};
use common::Rng;

const PLAIN_LEN: usize = 10_007;

fn formats() -> [Format; 3] {
    [
        Format::Node,
        Format::OpenSslMd5,
        Format::OpenSslPbkdf2 { iterations: 100 },
    ]
}

/// Reads up to `n` bytes at the reader's position and checks them against the plaintext.
fn check_read<R: Read>(r: &mut R, plain: &[u8], pos: u64, n: usize, what: &str) {
    let mut buf = vec![0u8; n];
    let mut got = 0;
    loop {
        let k = r.read(&mut buf[got..]).unwrap();
        if k == 0 || got + k == n {
            got += k;
            break;
        }
        got += k;
    }
    let from = (pos as usize).min(plain.len());
    let want = &plain[from..(from + n).min(plain.len())];
    assert!(
        &buf[..got] == want,
        "{what}: {got} bytes read at {pos} differ from the plaintext"
    );
}

/// Every kind of seek, checked by reading after it.
fn exercise<R: Read + Seek>(r: &mut R, plain: &[u8], rng: &mut Rng, what: &str) {
    let len = plain.len() as u64;
    let mut seeks = vec![
        SeekFrom::Start(0),
        SeekFrom::Start(len),
        SeekFrom::Start(len + 5),
        SeekFrom::End(0),
        SeekFrom::End(-1),
        SeekFrom::End(-(len as i64)),
        SeekFrom::Current(0),
        SeekFrom::Start(15),
        SeekFrom::Start(16),
        SeekFrom::Start(17),
    ];
    for _ in 0..40 {
        seeks.push(match rng.below(3) {
            0 => SeekFrom::Start(rng.below(len + 1)),
            1 => SeekFrom::End(-(rng.below(len + 1) as i64)),
            _ => SeekFrom::Current(rng.below(200) as i64 - 150),
        });
    }
    let mut pos = r.stream_position().unwrap();
    for s in seeks {
        let expected = match s {
            SeekFrom::Start(n) => Some(n),
            SeekFrom::End(d) => len.checked_add_signed(d),
            SeekFrom::Current(d) => pos.checked_add_signed(d),
        };
        match (expected, r.seek(s)) {
            (Some(e), Ok(got)) => {
                assert_eq!(got, e, "{what}: {s:?}");
                pos = e;
            }
            // Before the start: refused, and the reader stays where it was.
            (None, Err(_)) => {}
            (e, got) => panic!("{what}: {s:?}: expected {e:?}, got {got:?}"),
        }
        let n = 1 + rng.below(300) as usize;
        check_read(r, plain, pos, n, what);
        pos = (pos + n as u64).min(pos.max(len));
        assert_eq!(
            r.stream_position().unwrap(),
            pos,
            "{what}: position after read"
        );
    }
}

#[test]
fn seeks_inside_a_larger_file_for_every_format_and_offset() {
    let mut rng = Rng::new(42);
    let plain = rng.bytes(PLAIN_LEN);
    let pw = Password::from("Passw0rd");
    let dir = tempfile::tempdir().unwrap();
    for format in formats() {
        let mut w = EncryptWriter::new(Vec::new(), &pw, format).unwrap();
        w.write_all(&plain).unwrap();
        let encrypted = w.finish().unwrap();
        let opts = DecryptOptions::new().format(format);
        for offset in [0u64, 1, 15, 16, 17, 4095, 100_003] {
            let path = dir.path().join("container");
            let mut container = rng.bytes(offset as usize);
            container.extend_from_slice(&encrypted);
            std::fs::write(&path, &container).unwrap();
            // Read nothing, part of the peeked bytes, or past them before the first seek:
            // the start must come out the same.
            for read_first in [0usize, 1, 3, 1000] {
                let what = format!(
                    "{} at offset {offset}, {read_first} read first",
                    format.name()
                );
                let mut f = File::open(&path).unwrap();
                f.seek(SeekFrom::Start(offset)).unwrap();
                let mut r = DecryptReader::new(f, &pw, opts).unwrap();
                check_read(&mut r, &plain, 0, read_first, &what);
                exercise(&mut r, &plain, &mut rng, &what);

                // Through a BufReader too, which reads ahead of what it hands out.
                let mut f = BufReader::with_capacity(4096, File::open(&path).unwrap());
                f.seek(SeekFrom::Start(offset)).unwrap();
                let mut r = DecryptReader::new(f, &pw, opts).unwrap();
                check_read(&mut r, &plain, 0, read_first, &what);
                exercise(&mut r, &plain, &mut rng, &format!("{what}, buffered"));
            }
        }
    }
}

#[test]
fn a_raw_key_stream_inside_a_larger_file_seeks_too() {
    let mut rng = Rng::new(7);
    let plain = rng.bytes(PLAIN_LEN);
    let k = KeyIv::new([9; 32], [8; 16]);
    let mut w = EncryptWriter::with_key_iv(Vec::new(), &k);
    w.write_all(&plain).unwrap();
    let mut container = rng.bytes(333);
    container.extend_from_slice(&w.finish().unwrap());
    let mut inner = std::io::Cursor::new(container);
    inner.seek(SeekFrom::Start(333)).unwrap();
    let mut r = DecryptReader::with_key_iv(inner, &k);
    exercise(&mut r, &plain, &mut rng, "raw key at 333");
}
