//! Tar archives built byte by byte, so tests can make the shapes no well-behaved writer makes.
#![allow(dead_code)]

use std::io::Write;

/// The fields of one header; `Default` is a ustar regular file with mode 0644.
#[derive(Clone)]
pub struct Head<'a> {
    pub name: &'a [u8],
    pub typeflag: u8,
    pub size: u64,
    pub mode: u32,
    pub mtime: i64,
    pub link: &'a [u8],
    /// `ustar\0` `00` (POSIX) or `ustar  \0` (old GNU).
    pub gnu_magic: bool,
}

impl Default for Head<'_> {
    fn default() -> Self {
        Head {
            name: b"",
            typeflag: b'0',
            size: 0,
            mode: 0o644,
            mtime: 1_700_000_000,
            link: b"",
            gnu_magic: false,
        }
    }
}

/// Octal text, or GNU base-256 when the value does not fit (negative ones included).
fn number(field: &mut [u8], value: i64) {
    let digits = field.len() - 1;
    if value >= 0 && (value as u64) < 8u64.pow(digits as u32) {
        let s = format!("{:0digits$o}", value);
        field[..s.len()].copy_from_slice(s.as_bytes());
        return;
    }
    let bytes = (value as i128).to_be_bytes();
    let n = field.len();
    field.copy_from_slice(&bytes[16 - n..]);
    if value >= 0 {
        field[0] = 0x80;
    }
}

pub fn header(h: &Head<'_>) -> Vec<u8> {
    let mut b = vec![0u8; 512];
    b[..h.name.len().min(100)].copy_from_slice(&h.name[..h.name.len().min(100)]);
    number(&mut b[100..108], h.mode as i64);
    number(&mut b[108..116], 0);
    number(&mut b[116..124], 0);
    number(&mut b[124..136], h.size as i64);
    number(&mut b[136..148], h.mtime);
    b[156] = h.typeflag;
    b[157..157 + h.link.len().min(100)].copy_from_slice(&h.link[..h.link.len().min(100)]);
    if h.gnu_magic {
        b[257..265].copy_from_slice(b"ustar  \0");
    } else {
        b[257..263].copy_from_slice(b"ustar\0");
        b[263..265].copy_from_slice(b"00");
    }
    b[148..156].copy_from_slice(b"        ");
    let sum: u32 = b.iter().map(|&x| x as u32).sum();
    let s = format!("{sum:06o}\0 ");
    b[148..156].copy_from_slice(s.as_bytes());
    b
}

/// A header with its data, padded to whole blocks. The header's size is the data's length.
pub fn with_data(h: Head<'_>, data: &[u8]) -> Vec<u8> {
    let mut v = header(&Head {
        size: data.len() as u64,
        ..h
    });
    v.extend_from_slice(data);
    v.resize(v.len().div_ceil(512) * 512, 0);
    v
}

pub fn entry(name: &[u8], typeflag: u8, data: &[u8], mode: u32, link: &[u8]) -> Vec<u8> {
    with_data(
        Head {
            name,
            typeflag,
            mode,
            link,
            ..Head::default()
        },
        data,
    )
}

pub fn file(name: &str, data: &[u8]) -> Vec<u8> {
    entry(name.as_bytes(), b'0', data, 0o644, b"")
}

pub fn dir(name: &str) -> Vec<u8> {
    entry(name.as_bytes(), b'5', b"", 0o755, b"")
}

pub fn symlink(name: &str, target: &str) -> Vec<u8> {
    entry(name.as_bytes(), b'2', b"", 0o777, target.as_bytes())
}

/// One PAX record, `"%d %s=%s\n"` with its self-counting length.
pub fn pax_record(key: &str, value: &[u8]) -> Vec<u8> {
    let tail = 1 + key.len() + 1 + value.len() + 1;
    let mut len = tail + 1;
    while len.to_string().len() + tail != len {
        len += 1;
    }
    let mut r = format!("{len} {key}=").into_bytes();
    r.extend_from_slice(value);
    r.push(b'\n');
    r
}

/// A PAX extended header (`x`, or `g` for global) holding these records.
pub fn pax(typeflag: u8, records: &[(&str, &[u8])]) -> Vec<u8> {
    let data: Vec<u8> = records.iter().flat_map(|(k, v)| pax_record(k, v)).collect();
    entry(b"PaxHeaders.0/x", typeflag, &data, 0o644, b"")
}

/// A GNU long-name (`L`) or long-link (`K`) record.
pub fn gnu_long(typeflag: u8, name: &[u8]) -> Vec<u8> {
    let mut data = name.to_vec();
    data.push(0);
    with_data(
        Head {
            name: b"././@LongLink",
            typeflag,
            gnu_magic: true,
            ..Head::default()
        },
        &data,
    )
}

/// Entries followed by the two zero blocks that end an archive.
pub fn tar(entries: &[Vec<u8>]) -> Vec<u8> {
    let mut v: Vec<u8> = entries.concat();
    v.extend_from_slice(&[0u8; 1024]);
    v
}

pub fn gzip(data: &[u8]) -> Vec<u8> {
    let mut e = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
    e.write_all(data).unwrap();
    e.finish().unwrap()
}
