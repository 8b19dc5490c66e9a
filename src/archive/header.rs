//! One 512-byte tar header block, decoded the way GNU tar decodes it.
//!
//! Three layouts share the block: V7 (no magic), POSIX ustar (`ustar\0` `00`, with a 155-byte
//! name prefix) and old GNU (`ustar  \0`, whose prefix area holds other fields). Numbers are
//! octal text or, when they do not fit, GNU's base-256 (high bit set; `0xff` first for a
//! negative value, as pre-1970 mtimes are stored).

pub(super) const BLOCK: usize = 512;

/// A header block that passed its checksum.
pub(super) struct Header<'a> {
    block: &'a [u8; BLOCK],
}

/// Why a header block could not be decoded.
pub(super) enum HeaderError {
    /// The stored checksum matches neither the unsigned nor the signed sum.
    Checksum,
    /// A numeric field holds something other than octal text or base-256.
    Number(&'static str),
}

impl<'a> Header<'a> {
    /// Checks the block's checksum. The caller has already ruled out an all-zero block.
    pub(super) fn parse(block: &'a [u8; BLOCK]) -> Result<Header<'a>, HeaderError> {
        let stored = octal(&block[148..156]).ok_or(HeaderError::Checksum)?;
        // The sum counts the checksum field as eight spaces; GNU tar accepts the sum of the
        // bytes as unsigned or as signed chars, since old writers differed.
        let (mut unsigned, mut signed) = (0i64, 0i64);
        for (i, &b) in block.iter().enumerate() {
            let b = if (148..156).contains(&i) { b' ' } else { b };
            unsigned += i64::from(b);
            signed += i64::from(b as i8);
        }
        if stored != unsigned && stored != signed {
            return Err(HeaderError::Checksum);
        }
        Ok(Header { block })
    }

    pub(super) fn typeflag(&self) -> u8 {
        self.block[156]
    }

    /// `ustar\0` followed by any version: the POSIX layout with a name prefix.
    fn is_posix(&self) -> bool {
        &self.block[257..263] == b"ustar\0"
    }

    /// The name, joined to the ustar prefix where the layout has one.
    pub(super) fn name(&self) -> Vec<u8> {
        let name = cstr(&self.block[0..100]);
        let prefix = if self.is_posix() {
            cstr(&self.block[345..500])
        } else {
            &[]
        };
        if prefix.is_empty() {
            return name.to_vec();
        }
        let mut joined = Vec::with_capacity(prefix.len() + 1 + name.len());
        joined.extend_from_slice(prefix);
        joined.push(b'/');
        joined.extend_from_slice(name);
        joined
    }

    pub(super) fn link_name(&self) -> Vec<u8> {
        cstr(&self.block[157..257]).to_vec()
    }

    pub(super) fn mode(&self) -> Result<u32, HeaderError> {
        let m = number(&self.block[100..108]).ok_or(HeaderError::Number("mode"))?;
        Ok((m & 0o7777) as u32)
    }

    pub(super) fn size(&self) -> Result<u64, HeaderError> {
        let s = number(&self.block[124..136]).ok_or(HeaderError::Number("size"))?;
        u64::try_from(s).map_err(|_| HeaderError::Number("size"))
    }

    pub(super) fn mtime(&self) -> Result<i64, HeaderError> {
        number(&self.block[136..148]).ok_or(HeaderError::Number("mtime"))
    }

    /// `ustar` magic, POSIX (`ustar\0`) or old GNU (`ustar  \0`): the layouts with owner
    /// names and device numbers. GNU tar ignores those fields in a V7 header.
    fn has_owner_names(&self) -> bool {
        &self.block[257..262] == b"ustar"
    }

    /// The owner's uid and gid as stored; `None` for a field that is not a number (or is
    /// negative).
    pub(super) fn ids(&self) -> (Option<u64>, Option<u64>) {
        let id = |field: &[u8]| number(field).and_then(|n| u64::try_from(n).ok());
        (id(&self.block[108..116]), id(&self.block[116..124]))
    }

    /// The owner's user and group names (empty when not stored).
    pub(super) fn owner_names(&self) -> (Vec<u8>, Vec<u8>) {
        if !self.has_owner_names() {
            return (Vec::new(), Vec::new());
        }
        (
            cstr(&self.block[265..297]).to_vec(),
            cstr(&self.block[297..329]).to_vec(),
        )
    }

    /// A device's major and minor numbers (0 where not stored or not numbers).
    pub(super) fn device(&self) -> (u64, u64) {
        if !self.has_owner_names() {
            return (0, 0);
        }
        let n = |field: &[u8]| {
            number(field)
                .and_then(|n| u64::try_from(n).ok())
                .unwrap_or(0)
        };
        (n(&self.block[329..337]), n(&self.block[337..345]))
    }
}

/// The bytes before the first NUL.
fn cstr(field: &[u8]) -> &[u8] {
    let end = field.iter().position(|&b| b == 0).unwrap_or(field.len());
    &field[..end]
}

/// A numeric field: octal text or base-256. `None` when it is neither, or does not fit an i64.
pub(super) fn number(field: &[u8]) -> Option<i64> {
    match field.first() {
        Some(0x80) | Some(0xff) => base256(field),
        _ => octal(field),
    }
}

/// GNU base-256: big-endian two's complement over the whole field, the marker byte included
/// for a negative value; for a positive one the marker's high bit is not part of the number.
fn base256(field: &[u8]) -> Option<i64> {
    if field.len() > 15 {
        return None;
    }
    let mut unsigned: u128 = 0;
    for (i, &b) in field.iter().enumerate() {
        let b = if i == 0 && b == 0x80 { 0 } else { b };
        unsigned = (unsigned << 8) | u128::from(b);
    }
    let value = if field[0] == 0xff {
        unsigned as i128 - (1i128 << (8 * field.len()))
    } else {
        unsigned as i128
    };
    i64::try_from(value).ok()
}

/// Octal text: leading spaces, digits, then only spaces and NULs. A field of only spaces and
/// NULs is zero. Digits after a leading NUL are refused: GNU tar and Python stop at the NUL
/// (reading 0), Go skips it (reading the digits), so a size written that way frames the
/// archive two ways.
fn octal(field: &[u8]) -> Option<i64> {
    let start = field.iter().position(|&b| b != b' ').unwrap_or(field.len());
    let mut v: i64 = 0;
    let mut i = start;
    while i < field.len() && (b'0'..=b'7').contains(&field[i]) {
        v = v.checked_mul(8)?.checked_add(i64::from(field[i] - b'0'))?;
        i += 1;
    }
    if field[i..].iter().any(|&b| b != b' ' && b != 0) {
        return None;
    }
    Some(v)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn octal_fields() {
        assert_eq!(number(b"0000644\0"), Some(0o644));
        assert_eq!(number(b"   644 \0"), Some(0o644));
        assert_eq!(number(b"\0\0\0\0\0\0\0\0"), Some(0));
        assert_eq!(number(b"        "), Some(0));
        assert_eq!(number(b"0000648\0"), None);
        assert_eq!(number(b"12 34\0\0\0"), None);
        // Leading NULs before digits, as libarchive's timestamp_overflow test archive has them.
        assert_eq!(number(b"\0\0\0\0\0\0\x000016\0"), None);
        assert_eq!(number(b"77777777777\0"), Some(0o77777777777));
    }

    #[test]
    fn base256_fields() {
        let mut f = [0u8; 12];
        f[0] = 0x80;
        f[11] = 0x10;
        f[10] = 0x01;
        assert_eq!(number(&f), Some(0x110));
        // -1 and -86400 as GNU tar writes them.
        let minus_one = [0xffu8; 12];
        assert_eq!(number(&minus_one), Some(-1));
        let mut day = [0xffu8; 12];
        let v = (-86400i64).to_be_bytes();
        day[4..].copy_from_slice(&v);
        assert_eq!(number(&day), Some(-86400));
        // Too large for an i64.
        let mut big = [0x80u8; 12];
        big[1] = 0x7f;
        assert_eq!(number(&big), None);
    }
}
