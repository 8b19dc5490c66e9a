//! AES-256-CTR with the full 128-bit big-endian counter, as OpenSSL and Node run it.
//!
//! # Hazmat
//!
//! CTR mode is malleable and unauthenticated: anyone can flip bits of a ciphertext and the same
//! bits flip in the plaintext, and nothing here notices. Two files encrypted under the same key
//! and IV (every [`Format::Node`](crate::Format::Node) file under one password) share one
//! keystream, so XOR-ing them cancels the encryption. This module exists to read and write the
//! appliance's format, not to protect new data; see `SECURITY.md`.

use aes::Aes256;
use ctr::cipher::{KeyIvInit, StreamCipher, StreamCipherSeek};

use crate::kdf::KeyIv;

type Ctr = ctr::Ctr128BE<Aes256>;

/// An AES-256-CTR keystream positioned at a byte offset. Encrypting and decrypting are the same
/// operation: XOR with the keystream.
///
/// Holds the expanded key; it is not zeroized by the `aes` crate on drop unless that crate's
/// `zeroize` feature is enabled, which this crate enables.
///
/// # Examples
///
/// ```
/// use a0backup::{Cipher, Password, Format};
/// let key = Format::Node.derive(&Password::from("Passw0rd"), None)?;
/// let mut data = *b"hello, appliance";
/// Cipher::new(&key).apply(&mut data);
/// assert_eq!(data[0], 0x68 ^ 0x37 ^ 0x00); // keystream byte 0 is 0x37 for this password
/// let mut c = Cipher::new(&key);
/// c.apply(&mut data);
/// assert_eq!(&data, b"hello, appliance");
/// # Ok::<(), a0backup::Error>(())
/// ```
pub struct Cipher {
    ctr: Ctr,
    position: u64,
}

impl Cipher {
    /// A keystream at offset 0.
    ///
    /// # Examples
    ///
    /// ```
    /// use a0backup::{kdf::KeyIv, Cipher};
    /// let c = Cipher::new(&KeyIv::new([7; 32], [9; 16]));
    /// assert_eq!(c.position(), 0);
    /// ```
    pub fn new(key_iv: &KeyIv) -> Cipher {
        Cipher {
            ctr: Ctr::new(key_iv.key().into(), key_iv.iv().into()),
            position: 0,
        }
    }

    /// XORs the keystream into `buf` in place and advances the position by `buf.len()`.
    ///
    /// # Examples
    ///
    /// ```
    /// use a0backup::{kdf::KeyIv, Cipher};
    /// let k = KeyIv::new([7; 32], [9; 16]);
    /// let mut whole = *b"split across calls";
    /// Cipher::new(&k).apply(&mut whole);
    /// // Applying in pieces gives the same bytes as applying at once.
    /// let mut pieces = *b"split across calls";
    /// let mut c = Cipher::new(&k);
    /// c.apply(&mut pieces[..5]);
    /// c.apply(&mut pieces[5..]);
    /// assert_eq!(pieces, whole);
    /// assert_eq!(c.position(), 18);
    /// ```
    pub fn apply(&mut self, buf: &mut [u8]) {
        self.ctr.apply_keystream(buf);
        self.position += buf.len() as u64;
    }

    /// Moves to `byte_offset` of the keystream. Any offset is valid; seeking is O(1).
    ///
    /// # Examples
    ///
    /// ```
    /// use a0backup::{Cipher, kdf::KeyIv};
    /// let k = KeyIv::new([7; 32], [9; 16]);
    /// let mut whole = [0u8; 40];
    /// Cipher::new(&k).apply(&mut whole);
    /// let mut tail = [0u8; 7];
    /// let mut c = Cipher::new(&k);
    /// c.seek(33);
    /// c.apply(&mut tail);
    /// assert_eq!(tail, whole[33..]);
    /// ```
    pub fn seek(&mut self, byte_offset: u64) {
        // A u64 byte offset is at most 2^60 blocks: far inside the 128-bit counter, so the
        // seek cannot fail.
        self.ctr.seek(byte_offset);
        self.position = byte_offset;
    }

    /// The current byte offset in the keystream.
    ///
    /// # Examples
    ///
    /// ```
    /// use a0backup::{kdf::KeyIv, Cipher};
    /// let mut c = Cipher::new(&KeyIv::new([7; 32], [9; 16]));
    /// c.apply(&mut [0u8; 10]);
    /// assert_eq!(c.position(), 10);
    /// c.seek(3);
    /// assert_eq!(c.position(), 3);
    /// ```
    pub fn position(&self) -> u64 {
        self.position
    }
}

impl std::fmt::Debug for Cipher {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Cipher")
            .field("position", &self.position)
            .finish_non_exhaustive()
    }
}
