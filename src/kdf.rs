//! Key derivation: from a password to an AES-256 key and a CTR IV.
//!
//! Three ways, all of them bit-exact with the tools that made the files:
//!
//! * [`Format::Node`]: `EVP_BytesToKey(MD5, 1 round, no salt)`, what Node's
//!   `crypto.createCipher('aes-256-ctr', password)` does, and so what the appliance writes. The
//!   same bytes come out of `openssl enc -aes-256-ctr -nosalt -md md5`.
//! * [`Format::OpenSslMd5`]: `openssl enc -aes-256-ctr -md md5`: the file starts with
//!   `Salted__` and an 8-byte salt, and the salt goes into `EVP_BytesToKey`.
//! * [`Format::OpenSslPbkdf2`]: `openssl enc -aes-256-ctr -pbkdf2 -md sha256 [-iter N]`: the
//!   same header, and PBKDF2-HMAC-SHA256 over the password and salt gives 48 bytes, key then IV.

use zeroize::{Zeroize, ZeroizeOnDrop, Zeroizing};

use crate::checksum::Md5;
use crate::error::{Error, Result};

/// The magic that starts every salted `openssl enc` file.
///
/// # Examples
///
/// ```
/// use std::io::Write;
/// use a0backup::{kdf::SALTED_MAGIC, EncryptWriter, Format, Password};
/// let w = EncryptWriter::new(Vec::new(), &Password::from("Passw0rd"), Format::OpenSslMd5)?;
/// assert!(w.finish()?.starts_with(SALTED_MAGIC));
/// # Ok::<(), a0backup::Error>(())
/// ```
pub const SALTED_MAGIC: &[u8; 8] = b"Salted__";

/// Length of a salted `openssl enc` header: the magic and an 8-byte salt.
///
/// # Examples
///
/// ```
/// use std::io::Write;
/// use a0backup::{kdf::SALTED_HEADER_LEN, EncryptWriter, Format, Password};
/// let mut w = EncryptWriter::new(Vec::new(), &Password::from("Passw0rd"), Format::OpenSslMd5)?;
/// w.write_all(b"abc")?;
/// assert_eq!(w.finish()?.len(), SALTED_HEADER_LEN + 3);
/// # Ok::<(), a0backup::Error>(())
/// ```
pub const SALTED_HEADER_LEN: usize = 16;

/// The iteration count `openssl enc -pbkdf2` uses when `-iter` is not given.
///
/// # Examples
///
/// ```
/// use a0backup::{kdf::DEFAULT_PBKDF2_ITERATIONS, Format};
/// let f: Format = "openssl-pbkdf2".parse()?;
/// assert_eq!(f, Format::OpenSslPbkdf2 { iterations: DEFAULT_PBKDF2_ITERATIONS });
/// # Ok::<(), a0backup::Error>(())
/// ```
pub const DEFAULT_PBKDF2_ITERATIONS: u32 = 10_000;

/// A password, as the bytes that go into the key derivation. Zeroized on drop.
///
/// Node encodes a string password as UTF-8, so `Password::from("pässwörd")` gives what the
/// appliance used. A password that is not valid UTF-8 can be given as bytes.
///
/// # Examples
///
/// ```
/// use a0backup::Password;
/// let p = Password::from("Passw0rd");
/// assert_eq!(p.as_bytes(), b"Passw0rd");
/// let raw = Password::new(vec![0x00, 0xff]);
/// assert_eq!(raw.as_bytes().len(), 2);
/// ```
#[derive(Clone)]
pub struct Password(Vec<u8>);

impl Drop for Password {
    fn drop(&mut self) {
        self.0.zeroize();
    }
}

impl ZeroizeOnDrop for Password {}

impl Password {
    /// A password from its exact bytes.
    ///
    /// # Examples
    ///
    /// ```
    /// use a0backup::Password;
    /// // Bytes that are not UTF-8 stay as they are.
    /// assert_eq!(Password::new(vec![b'p', 0xe4]).as_bytes(), Password::from_latin1("pä").as_bytes());
    /// ```
    pub fn new(bytes: impl Into<Vec<u8>>) -> Password {
        Password(bytes.into())
    }

    /// A password encoded the way old Node versions encoded string passwords ("binary", that is
    /// Latin-1): each UTF-16 code unit keeps only its low byte.
    ///
    /// Use it only for files made by such versions; for ASCII passwords it equals `from`.
    ///
    /// # Examples
    ///
    /// ```
    /// use a0backup::Password;
    /// assert_eq!(Password::from_latin1("pä").as_bytes(), &[b'p', 0xe4]);
    /// ```
    pub fn from_latin1(s: &str) -> Password {
        Password(s.encode_utf16().map(|unit| unit as u8).collect())
    }

    /// The password bytes.
    ///
    /// # Examples
    ///
    /// ```
    /// use a0backup::Password;
    /// // Node encodes string passwords as UTF-8: two bytes for "ä".
    /// assert_eq!(Password::from("pä").as_bytes(), "pä".as_bytes());
    /// assert_eq!(Password::from("pä").as_bytes().len(), 3);
    /// ```
    pub fn as_bytes(&self) -> &[u8] {
        &self.0
    }
}

impl From<&str> for Password {
    fn from(s: &str) -> Password {
        Password(s.as_bytes().to_vec())
    }
}

impl From<&[u8]> for Password {
    fn from(b: &[u8]) -> Password {
        Password(b.to_vec())
    }
}

impl std::fmt::Debug for Password {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Password(<redacted>)")
    }
}

/// A 256-bit AES key and a 128-bit initial counter block. Zeroized on drop.
///
/// # Examples
///
/// ```
/// use a0backup::kdf::{evp_bytes_to_key, KeyIv};
/// let k = evp_bytes_to_key(b"Passw0rd", None);
/// assert_eq!(k.iv()[0], 0x80);
/// let same = KeyIv::new(*k.key(), *k.iv());
/// assert_eq!(same, k);
/// ```
#[derive(Clone, PartialEq, Eq)]
pub struct KeyIv {
    key: [u8; 32],
    iv: [u8; 16],
}

impl Drop for KeyIv {
    fn drop(&mut self) {
        self.key.zeroize();
        self.iv.zeroize();
    }
}

impl ZeroizeOnDrop for KeyIv {}

impl KeyIv {
    /// A key and IV given directly (Node's `createCipheriv`, `openssl enc -K -iv`).
    ///
    /// # Examples
    ///
    /// ```
    /// use a0backup::kdf::KeyIv;
    /// let k = KeyIv::new([1; 32], [2; 16]);
    /// assert_eq!(k.key(), &[1; 32]);
    /// assert_eq!(k.iv(), &[2; 16]);
    /// // The Debug output never shows the key.
    /// assert_eq!(format!("{k:?}"), "KeyIv(<redacted>)");
    /// ```
    pub fn new(key: [u8; 32], iv: [u8; 16]) -> KeyIv {
        KeyIv { key, iv }
    }

    /// The AES-256 key.
    pub fn key(&self) -> &[u8; 32] {
        &self.key
    }

    /// The initial counter block.
    pub fn iv(&self) -> &[u8; 16] {
        &self.iv
    }

    fn from_48(bytes: &[u8; 48]) -> KeyIv {
        let mut key = [0u8; 32];
        let mut iv = [0u8; 16];
        key.copy_from_slice(&bytes[..32]);
        iv.copy_from_slice(&bytes[32..]);
        KeyIv { key, iv }
    }
}

impl std::fmt::Debug for KeyIv {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("KeyIv(<redacted>)")
    }
}

/// OpenSSL's `EVP_BytesToKey` with MD5 and one round: the key derivation of Node's
/// `createCipher` (no salt) and of `openssl enc -md md5` (with the 8-byte salt of its header).
///
/// `D_1 = MD5(password || salt)`, `D_i = MD5(D_{i-1} || password || salt)`; the first 32 bytes
/// of `D_1 || D_2 || D_3` are the key, the next 16 the IV.
///
/// # Examples
///
/// ```
/// use a0backup::kdf::evp_bytes_to_key;
/// // The appliance's sample password, checked against Node's createCipher.
/// let k = evp_bytes_to_key(b"Passw0rd", None);
/// assert_eq!(k.key()[..4], [0xd4, 0x1e, 0x98, 0xd1]);
/// ```
pub fn evp_bytes_to_key(password: &[u8], salt: Option<&[u8; 8]>) -> KeyIv {
    let mut out = Zeroizing::new([0u8; 48]);
    let mut prev: Option<Zeroizing<[u8; 16]>> = None;
    for chunk in out.chunks_mut(16) {
        let mut h = Md5::new();
        if let Some(p) = &prev {
            h.update(p.as_slice());
        }
        h.update(password);
        if let Some(s) = salt {
            h.update(s);
        }
        let d: Zeroizing<[u8; 16]> = Zeroizing::new(h.finish().0);
        chunk.copy_from_slice(d.as_slice());
        prev = Some(d);
    }
    KeyIv::from_48(&out)
}

/// `openssl enc -pbkdf2 -md sha256`: PBKDF2-HMAC-SHA256 over the password and the 8-byte salt,
/// 48 bytes, key then IV.
///
/// # Errors
///
/// [`Error::InvalidArgument`] when `iterations` is 0.
///
/// # Examples
///
/// ```
/// use a0backup::kdf::pbkdf2_sha256;
/// let k = pbkdf2_sha256(b"Passw0rd", &[1, 2, 3, 4, 5, 6, 7, 8], 1000)?;
/// assert_eq!(k.key().len(), 32);
/// # Ok::<(), a0backup::Error>(())
/// ```
pub fn pbkdf2_sha256(password: &[u8], salt: &[u8; 8], iterations: u32) -> Result<KeyIv> {
    if iterations == 0 {
        return Err(Error::InvalidArgument(
            "PBKDF2 needs at least one iteration".into(),
        ));
    }
    let mut out = Zeroizing::new([0u8; 48]);
    pbkdf2::pbkdf2_hmac::<sha2::Sha256>(password, salt, iterations, out.as_mut_slice());
    Ok(KeyIv::from_48(&out))
}

/// How an encrypted file is laid out and how its key is derived.
///
/// # Examples
///
/// ```
/// use a0backup::Format;
/// let f: Format = "openssl-pbkdf2".parse()?;
/// assert_eq!(f, Format::OpenSslPbkdf2 { iterations: 10_000 });
/// assert_eq!(Format::default(), Format::Node);
/// # Ok::<(), a0backup::Error>(())
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
#[non_exhaustive]
pub enum Format {
    /// No header; `EVP_BytesToKey(MD5)` without salt. The appliance's format (Node
    /// `createCipher`), and the default for writing because appliance tooling reads only this.
    #[default]
    Node,
    /// `Salted__` header; `EVP_BytesToKey(MD5)` with the salt (`openssl enc -md md5`).
    OpenSslMd5,
    /// `Salted__` header; PBKDF2-HMAC-SHA256 (`openssl enc -pbkdf2 -md sha256 -iter N`).
    OpenSslPbkdf2 {
        /// PBKDF2 rounds; `openssl enc` uses 10000 unless `-iter` says otherwise.
        iterations: u32,
    },
}

impl Format {
    /// Whether files of this format start with a `Salted__` header.
    ///
    /// # Examples
    ///
    /// ```
    /// use a0backup::Format;
    /// assert!(!Format::Node.is_salted());
    /// assert!(Format::OpenSslMd5.is_salted());
    /// assert!(Format::OpenSslPbkdf2 { iterations: 1 }.is_salted());
    /// ```
    pub fn is_salted(&self) -> bool {
        !matches!(self, Format::Node)
    }

    /// The name used on the command line: `node`, `openssl-md5` or `openssl-pbkdf2`.
    ///
    /// # Examples
    ///
    /// ```
    /// use a0backup::Format;
    /// let f = Format::OpenSslPbkdf2 { iterations: 1 };
    /// assert_eq!(f.name(), "openssl-pbkdf2");
    /// assert_eq!(f.to_string(), f.name());
    /// // The name parses back, though with the default iteration count.
    /// assert_eq!(Format::OpenSslMd5.name().parse::<Format>()?, Format::OpenSslMd5);
    /// # Ok::<(), a0backup::Error>(())
    /// ```
    pub fn name(&self) -> &'static str {
        match self {
            Format::Node => "node",
            Format::OpenSslMd5 => "openssl-md5",
            Format::OpenSslPbkdf2 { .. } => "openssl-pbkdf2",
        }
    }

    /// Derives the key and IV of this format. `salt` is ignored by [`Format::Node`] and
    /// required by the salted formats.
    ///
    /// # Errors
    ///
    /// [`Error::InvalidArgument`] for a salted format without a salt, or zero PBKDF2 iterations.
    ///
    /// # Examples
    ///
    /// ```
    /// use a0backup::{kdf::evp_bytes_to_key, Error, Format, Password};
    /// let pw = Password::from("Passw0rd");
    /// assert_eq!(Format::Node.derive(&pw, None)?, evp_bytes_to_key(b"Passw0rd", None));
    /// let salt = [1, 2, 3, 4, 5, 6, 7, 8];
    /// assert_eq!(
    ///     Format::OpenSslMd5.derive(&pw, Some(&salt))?,
    ///     evp_bytes_to_key(b"Passw0rd", Some(&salt)),
    /// );
    /// assert!(matches!(Format::OpenSslMd5.derive(&pw, None), Err(Error::InvalidArgument(_))));
    /// # Ok::<(), a0backup::Error>(())
    /// ```
    pub fn derive(&self, password: &Password, salt: Option<&[u8; 8]>) -> Result<KeyIv> {
        match (self, salt) {
            (Format::Node, _) => Ok(evp_bytes_to_key(password.as_bytes(), None)),
            (Format::OpenSslMd5, Some(s)) => Ok(evp_bytes_to_key(password.as_bytes(), Some(s))),
            (Format::OpenSslPbkdf2 { iterations }, Some(s)) => {
                pbkdf2_sha256(password.as_bytes(), s, *iterations)
            }
            (_, None) => Err(Error::InvalidArgument(format!(
                "format {} needs a salt",
                self.name()
            ))),
        }
    }
}

impl std::fmt::Display for Format {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.name())
    }
}

/// As its [`name`](Format::name).
#[cfg(feature = "serde")]
impl serde::Serialize for Format {
    fn serialize<S: serde::Serializer>(&self, s: S) -> std::result::Result<S::Ok, S::Error> {
        s.serialize_str(self.name())
    }
}

impl std::str::FromStr for Format {
    type Err = Error;

    fn from_str(s: &str) -> Result<Format> {
        match s {
            "node" => Ok(Format::Node),
            "openssl-md5" => Ok(Format::OpenSslMd5),
            "openssl-pbkdf2" => Ok(Format::OpenSslPbkdf2 {
                iterations: DEFAULT_PBKDF2_ITERATIONS,
            }),
            other => Err(Error::UnsupportedFormat(format!(
                "unknown format {other:?} (expected node, openssl-md5 or openssl-pbkdf2)"
            ))),
        }
    }
}
