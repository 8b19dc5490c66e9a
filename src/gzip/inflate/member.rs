//! gzip member framing (RFC 1952) over bytes in memory, checked as flate2's `GzDecoder` does.

/// Header flags.
const FHCRC: u8 = 1 << 1;
const FEXTRA: u8 = 1 << 2;
const FNAME: u8 = 1 << 3;
const FCOMMENT: u8 = 1 << 4;
const FRESERVED: u8 = 0xe0;
/// flate2's longest file name or comment.
const MAX_FIELD: usize = 65535;

/// What [`header_len`] found.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Header {
    /// A complete, valid header of this many bytes.
    Complete(usize),
    /// The bytes end inside the header.
    Incomplete,
}

/// The length of the gzip member header at the start of `b`.
///
/// # Errors
///
/// A header flate2 refuses (bad magic or method, reserved flags, too long a name or comment,
/// a header CRC that does not match).
pub(crate) fn header_len(b: &[u8]) -> Result<Header, &'static str> {
    if b.len() < 10 {
        // flate2 reads all ten bytes before looking at them.
        return Ok(Header::Incomplete);
    }
    if b[0] != 0x1f || b[1] != 0x8b || b[2] != 8 || b[3] & FRESERVED != 0 {
        return Err("invalid gzip header");
    }
    let flags = b[3];
    let mut at = 10;
    if flags & FEXTRA != 0 {
        let Some(xlen) = b.get(at..at + 2) else {
            return Ok(Header::Incomplete);
        };
        at += 2 + usize::from(u16::from_le_bytes([xlen[0], xlen[1]]));
        if at > b.len() {
            return Ok(Header::Incomplete);
        }
    }
    for flag in [FNAME, FCOMMENT] {
        if flags & flag != 0 {
            let field = &b[at..];
            match field.iter().take(MAX_FIELD + 1).position(|&c| c == 0) {
                Some(n) => at += n + 1,
                None if field.len() > MAX_FIELD => return Err("gzip header field too long"),
                None => return Ok(Header::Incomplete),
            }
        }
    }
    if flags & FHCRC != 0 {
        let Some(crc) = b.get(at..at + 2) else {
            return Ok(Header::Incomplete);
        };
        let actual = crc32fast::hash(&b[..at]) as u16;
        if u16::from_le_bytes([crc[0], crc[1]]) != actual {
            return Err("corrupt gzip stream does not have a matching checksum");
        }
        at += 2;
    }
    Ok(Header::Complete(at))
}

#[cfg(test)]
mod tests {
    use super::*;
    use flate2::{Compression, GzBuilder};
    use std::io::Write;

    #[test]
    fn headers_as_flate2_writes_them() {
        let mut e = GzBuilder::new()
            .filename("users.bson")
            .comment("c")
            .extra(vec![1, 2, 3])
            .write(Vec::new(), Compression::fast());
        e.write_all(b"x").unwrap();
        let gz = e.finish().unwrap();
        let Header::Complete(n) = header_len(&gz).unwrap() else {
            panic!("complete")
        };
        assert_eq!(n, 10 + 2 + 3 + 11 + 2);
        for cut in 0..n {
            assert_eq!(header_len(&gz[..cut]), Ok(Header::Incomplete), "{cut}");
        }
        assert!(header_len(b"\x1f\x8b\x08\x20\0\0\0\0\0\0").is_err());
    }
}
