//! The MD5 digest value: 16 bytes that print as `md5sum` prints them. It depends on nothing in
//! the crate, so that [`Error`](crate::Error) can carry it; computing, parsing and checking
//! digests is in [`checksum`](crate::checksum).

use std::fmt;

/// A 16-byte MD5 digest. Displays as 32 lowercase hex digits, as `md5sum` prints it.
///
/// # Examples
///
/// ```
/// use a0backup::Md5Digest;
/// let d: Md5Digest = "D41D8CD98F00B204E9800998ECF8427E".parse()?;
/// assert_eq!(d.to_string(), "d41d8cd98f00b204e9800998ecf8427e");
/// assert_eq!(d, a0backup::checksum::md5_bytes(b""));
/// # Ok::<(), a0backup::Error>(())
/// ```
#[derive(Clone, Copy, PartialEq, Eq, Hash)]
pub struct Md5Digest(pub [u8; 16]);

impl Md5Digest {
    /// The digest bytes.
    ///
    /// # Examples
    ///
    /// ```
    /// use a0backup::checksum::md5_bytes;
    /// let d = md5_bytes(b"abc");
    /// assert_eq!(d.as_bytes()[..4], [0x90, 0x01, 0x50, 0x98]);
    /// assert_eq!(d.as_bytes(), &d.0);
    /// ```
    pub fn as_bytes(&self) -> &[u8; 16] {
        &self.0
    }
}

impl fmt::Display for Md5Digest {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for b in self.0 {
            write!(f, "{b:02x}")?;
        }
        Ok(())
    }
}

/// As its 32 hex digits.
#[cfg(feature = "serde")]
impl serde::Serialize for Md5Digest {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_str(self)
    }
}

impl fmt::Debug for Md5Digest {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Md5Digest({self})")
    }
}
