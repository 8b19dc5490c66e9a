//! The parallel inflater against zlib-rs (through flate2, the sequential path) and against the
//! original data, on streams from gzip(1) -1..-9, pigz (normal and -i), Python's zlib
//! (fixed-Huffman blocks), flate2 (stored blocks at level 0), multi-member concatenations,
//! tiny and empty members, data that looks like block headers, long matches, and thousands
//! of mutated and truncated streams: the same bytes, or the same error message. Chunks of
//! 1-4 KiB, so that chunk boundaries, false block starts and fallbacks happen often; 1 to 4
//! threads.

mod common;

use std::io::{Read, Write};
use std::process::{Command, Stdio};

use a0backup::gzip::{GzipReader, InflateOptions};
use common::{have, Rng};

fn inflate(gz: &[u8], options: &InflateOptions) -> Result<Vec<u8>, String> {
    let mut r = GzipReader::new(gz, *options).map_err(|e| format!("new: {e}"))?;
    let mut out = Vec::new();
    r.read_to_end(&mut out).map_err(|e| e.to_string())?;
    Ok(out)
}

fn configs() -> Vec<InflateOptions> {
    let mut v = Vec::new();
    for (threads, chunk) in [(1, 1024), (2, 1024), (3, 2048), (4, 4096), (2, 64 * 1024)] {
        v.push(InflateOptions::new().threads(threads).chunk_size(chunk));
    }
    v
}

/// Every config gives what zlib-rs gives (and, when `expect` is known, that).
fn same(gz: &[u8], expect: Option<&[u8]>, what: &str) {
    let reference = inflate(gz, &InflateOptions::new());
    if let Some(expect) = expect {
        assert_eq!(reference.as_deref(), Ok(expect), "{what}: zlib-rs");
    }
    for options in configs() {
        let got = inflate(gz, &options);
        match (&reference, &got) {
            (Ok(a), Ok(b)) => assert!(a == b, "{what}: {options:?}: output differs"),
            (Err(a), Err(b)) => assert_eq!(a, b, "{what}: {options:?}: the errors differ"),
            _ => panic!(
                "{what}: {options:?}: zlib-rs {:?}, parallel {:?}",
                reference.as_ref().map(Vec::len),
                got.as_ref().map(Vec::len)
            ),
        }
    }
}

fn run(program: &str, args: &[&str], input: &[u8]) -> Vec<u8> {
    let mut child = Command::new(program)
        .args(args)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .spawn()
        .unwrap();
    let mut stdin = child.stdin.take().unwrap();
    let input = input.to_vec();
    let writer = std::thread::spawn(move || stdin.write_all(&input));
    let out = child.wait_with_output().unwrap();
    writer.join().unwrap().unwrap();
    assert!(out.status.success(), "{program} {args:?}");
    out.stdout
}

/// Text-like data: words from a small vocabulary with numbers, as JSON and BSON dumps are.
fn text(rng: &mut Rng, len: usize) -> Vec<u8> {
    const WORDS: &[&str] = &[
        "user",
        "email",
        "\"_id\":",
        "tenant",
        "connection",
        "{",
        "}",
        "logins",
        "2026-11-23",
        "password",
        "auth0|",
        "name",
        "created_at",
        ",",
        "\n",
        "true",
        "false",
        "null",
    ];
    let mut out = Vec::with_capacity(len + 32);
    while out.len() < len {
        if rng.below(4) == 0 {
            out.extend_from_slice(rng.below(1_000_000).to_string().as_bytes());
        } else {
            out.extend_from_slice(WORDS[rng.below(WORDS.len() as u64) as usize].as_bytes());
        }
        out.push(b' ');
    }
    out.truncate(len);
    out
}

fn datasets() -> Vec<(String, Vec<u8>)> {
    let mut rng = Rng::new(15);
    let mut sets = vec![
        ("empty".to_string(), Vec::new()),
        ("one byte".to_string(), b"x".to_vec()),
        ("text 300 KB".to_string(), text(&mut rng, 300_000)),
        ("random 100 KB".to_string(), rng.bytes(100_000)),
        ("zeros 2 MB".to_string(), vec![0u8; 2_000_000]),
    ];
    // Mixed: runs of random bytes, text and repeats, so that block types alternate.
    let mut mixed = Vec::new();
    while mixed.len() < 400_000 {
        let n = 1 + rng.below(30_000) as usize;
        match rng.below(3) {
            0 => mixed.extend(rng.bytes(n)),
            1 => mixed.extend(text(&mut rng, n)),
            _ => {
                let b = rng.next() as u8;
                mixed.extend(std::iter::repeat_n(b, 1 + rng.below(50_000) as usize));
            }
        }
    }
    sets.push(("mixed".to_string(), mixed));
    // Data that looks like block headers: compressed streams stored inside the data.
    let inner = flate2_gz(&text(&mut rng, 200_000), 6);
    let mut looks = Vec::new();
    for _ in 0..4 {
        looks.extend_from_slice(&inner);
        looks.extend(rng.bytes(3000));
    }
    sets.push(("deflate inside".to_string(), looks));
    sets
}

fn flate2_gz(data: &[u8], level: u32) -> Vec<u8> {
    let mut e = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::new(level));
    e.write_all(data).unwrap();
    e.finish().unwrap()
}

#[test]
fn gzip_levels_and_flate2_stored_blocks() {
    let gzip = have("gzip");
    for (name, data) in datasets() {
        for level in [0, 1, 6, 9] {
            same(
                &flate2_gz(&data, level),
                Some(&data),
                &format!("flate2 -{level} {name}"),
            );
        }
        if gzip {
            for level in 1..=9 {
                let gz = run("gzip", &[&format!("-{level}"), "-c"], &data);
                same(&gz, Some(&data), &format!("gzip -{level} {name}"));
            }
        }
    }
}

#[test]
fn pigz_normal_and_independent_blocks() {
    if !have("pigz") {
        return;
    }
    for (name, data) in datasets() {
        for args in [
            &["-c"][..],
            &["-c", "-i"],
            &["-c", "-1", "-b", "32"],
            &["-c", "-9", "-i", "-b", "64"],
        ] {
            let gz = run("pigz", args, &data);
            same(&gz, Some(&data), &format!("pigz {args:?} {name}"));
        }
    }
}

#[test]
fn fixed_huffman_blocks_from_python_zlib() {
    if !have("python3") {
        return;
    }
    let script = "import sys, zlib\n\
                  d = sys.stdin.buffer.read()\n\
                  c = zlib.compressobj(6, zlib.DEFLATED, 31, 8, zlib.Z_FIXED)\n\
                  sys.stdout.buffer.write(c.compress(d) + c.flush())\n";
    for (name, data) in datasets() {
        let gz = run("python3", &["-c", script], &data);
        same(&gz, Some(&data), &format!("Z_FIXED {name}"));
    }
}

/// A dynamic block whose code-length code is empty: zlib reads each of its 257+ lengths as a
/// one-bit zero before it fails, so a stream that ends within those bits is cut short (as
/// fuzzing found), and one that goes on is damaged; the same answers on either path.
#[test]
fn empty_code_length_code_cut_short_or_not() {
    let header = [0x1f, 0x8b, 8, 0, 0, 0, 0, 0, 0, 3];
    // Not final, dynamic, HLIT 2 (259 codes), HDIST 0, HCLEN 0 (4 code-length codes, all 0).
    let block = [0x14, 0, 0];
    for tail in [4, 40, 300] {
        let mut gz = header.to_vec();
        gz.extend_from_slice(&block);
        gz.extend(std::iter::repeat_n(0u8, tail));
        let reference = inflate(&gz, &InflateOptions::new());
        let expected = if tail < 33 {
            "truncated"
        } else {
            "corrupt deflate stream"
        };
        assert!(
            reference.as_ref().is_err_and(|e| e.ends_with(expected)),
            "{tail}: zlib-rs {reference:?}"
        );
        same(
            &gz,
            None,
            &format!("empty code-length code, {tail} bytes after it"),
        );
    }
}

/// LSB-first bits, as deflate packs them, flushed with zero bits.
fn bits(fields: &[(u64, u32)]) -> Vec<u8> {
    let (mut out, mut acc, mut n) = (Vec::new(), 0u64, 0u32);
    for &(v, len) in fields {
        acc |= v << n;
        n += len;
        while n >= 8 {
            out.push(acc as u8);
            acc >>= 8;
            n -= 8;
        }
    }
    if n > 0 {
        out.push(acc as u8);
    }
    out
}

/// A final dynamic block with one-bit codes only: literal/length lengths `lit` (indexed by
/// symbol, 257 or more), one distance code of one bit, and a code-length code of symbols 0 and
/// 1 (one bit each) to send them; then `data`.
fn one_bit_codes(lit: &[u8], data: &[(u64, u32)]) -> Vec<u8> {
    let mut f = vec![
        (1, 1),
        (2, 2),
        ((lit.len() - 257) as u64, 5),
        (0, 5),
        (14, 4),
    ];
    // Code-length code lengths in their order (16, 17, 18, 0, 8, ..., 1): symbols 0 and 1.
    for sym in [16, 17, 18, 0, 8, 7, 9, 6, 10, 5, 11, 4, 12, 3, 13, 2, 14, 1] {
        f.push((u64::from(sym <= 1), 3));
    }
    f.extend(lit.iter().map(|&l| (u64::from(l), 1)));
    f.push((1, 1)); // the distance code's length
    f.extend_from_slice(data);
    let mut gz = vec![0x1f, 0x8b, 8, 0, 0, 0, 0, 0, 0, 0xff];
    gz.extend(bits(&f));
    gz
}

/// Codes zlib accepts but never writes (one code of one bit; a repeat with nothing before it)
/// and a stream that ends right after the bad bits: zlib says damaged or cut short by how many
/// bits it needs before it can tell, and so must the parallel path (a red-team pass found
/// three answers that differed).
#[test]
fn bad_codes_at_the_very_end() {
    // Only end-of-block, code 0: a 1 is an invalid literal/length code after one bit.
    let mut only_end = vec![0u8; 257];
    only_end[256] = 1;
    // End-of-block 0 and length 3 (symbol 257) 1, then the only distance code is 0: 1 is an
    // invalid distance code.
    let mut end_and_length = vec![0u8; 258];
    end_and_length[256] = 1;
    end_and_length[257] = 1;
    let cases = [
        (
            "invalid literal/length code",
            one_bit_codes(&only_end, &[(1, 1)]),
        ),
        (
            "invalid distance code",
            one_bit_codes(&end_and_length, &[(1, 1), (1, 1)]),
        ),
        // Code 16 first (nothing to repeat), its two extra bits cut off.
        (
            "repeat with nothing before it",
            vec![
                0x1f, 0x8b, 8, 0, 0, 0, 0, 0, 0, 0xff, 0x04, 0xe0, 0x0b, 0x90, 0x24, 0x49, 0x92,
                0x24, 0xc9, 0x7e,
            ],
        ),
    ];
    for (what, gz) in cases {
        let reference = inflate(&gz, &InflateOptions::new());
        assert!(reference.is_err(), "{what}: zlib-rs {reference:?}");
        same(&gz, None, what);
    }
}

#[test]
fn members_padding_and_tails() {
    let mut rng = Rng::new(7);
    let a = text(&mut rng, 50_000);
    let b = rng.bytes(20_000);
    let members = [
        flate2_gz(&a, 6),
        flate2_gz(b"", 6),
        flate2_gz(&b, 1),
        flate2_gz(b"z", 9),
    ];
    let all = members.concat();
    let expect = [a.clone(), b.clone(), b"z".to_vec()].concat();
    same(&all, Some(&expect), "four members");
    let many: Vec<u8> = (0..300)
        .flat_map(|i| flate2_gz(&text(&mut rng, i * 7), 6))
        .collect();
    same(&many, None, "300 small members");
    let padded = [all.clone(), vec![0; 10_000]].concat();
    same(&padded, Some(&expect), "zero padding");
    for tail in [
        &b"x"[..],
        b"\0\0\x01",
        b"\x1f",
        b"\x1f\x8b\x08",
        b"\x1f\x8b\x08\0\0\0\0\0\0\x03",
    ] {
        same(
            &[all.clone(), tail.to_vec()].concat(),
            None,
            &format!("tail {tail:?}"),
        );
    }
    same(
        &[all.clone(), vec![0; 5], members[0].clone()].concat(),
        None,
        "member after padding",
    );
    let mut named = flate2::GzBuilder::new()
        .filename("users.bson")
        .comment("made by a test")
        .extra(vec![1, 2, 3, 4])
        .write(Vec::new(), flate2::Compression::default());
    named.write_all(&a).unwrap();
    same(&named.finish().unwrap(), Some(&a), "header fields");
}

/// Mutations of real streams: flipped bits, changed bytes, cuts, insertions and deletions.
#[test]
fn mutated_and_truncated_streams() {
    let mut rng = Rng::new(1515);
    let mut bases = vec![
        flate2_gz(&text(&mut rng, 40_000), 6),
        flate2_gz(&rng.bytes(5_000), 1),
        [
            flate2_gz(&text(&mut rng, 8_000), 9),
            flate2_gz(&vec![3u8; 30_000], 1),
        ]
        .concat(),
    ];
    if have("gzip") {
        bases.push(run("gzip", &["-1", "-c"], &text(&mut rng, 30_000)));
    }
    let mut cases = 0;
    let options = [
        InflateOptions::new().threads(2).chunk_size(1024),
        InflateOptions::new().threads(3).chunk_size(2048),
    ];
    for base in &bases {
        for _ in 0..700 {
            let mut gz = base.clone();
            match rng.below(6) {
                0 => {
                    let at = rng.below(gz.len() as u64) as usize;
                    gz[at] ^= 1 << rng.below(8);
                }
                1 => {
                    for _ in 0..1 + rng.below(4) {
                        let at = rng.below(gz.len() as u64) as usize;
                        gz[at] = rng.next() as u8;
                    }
                }
                2 => gz.truncate(rng.below(gz.len() as u64) as usize),
                3 => {
                    let at = rng.below(gz.len() as u64) as usize;
                    gz.insert(at, rng.next() as u8);
                }
                4 => {
                    let at = rng.below(gz.len() as u64) as usize;
                    gz.remove(at);
                }
                _ => {
                    // Flip bits in the deflate data only (not the header), many of them.
                    for _ in 0..1 + rng.below(16) {
                        let at = 10 + rng.below(gz.len() as u64 - 18) as usize;
                        gz[at] ^= 1 << rng.below(8);
                    }
                }
            }
            let reference = inflate(&gz, &InflateOptions::new());
            for o in &options {
                let got = inflate(&gz, o);
                match (&reference, &got) {
                    (Ok(a), Ok(b)) => assert!(a == b, "case {cases}: {o:?}: output differs"),
                    (Err(a), Err(b)) => assert_eq!(a, b, "case {cases}: {o:?}: the errors differ"),
                    _ => panic!("case {cases}: {o:?}: zlib-rs {reference:?} vs parallel {got:?}"),
                }
            }
            cases += 1;
        }
    }
    assert!(cases >= 2100);
}
