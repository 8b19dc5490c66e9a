//! What the first bytes of an encrypted file say: which format (a `Salted__` header or none),
//! and, when the caller expects gzip and left the format open, which key derivation turns the
//! payload's first bytes into a gzip header.

use crate::cipher::Cipher;
use crate::error::{Error, Input, Result};
use crate::kdf::{Format, Password, DEFAULT_PBKDF2_ITERATIONS, SALTED_HEADER_LEN, SALTED_MAGIC};

use super::DecryptOptions;
use crate::gzip::GZIP_MAGIC;

/// Bytes to peek at before decrypting: a salted header and a few payload bytes to test for gzip.
pub(super) const PEEK_LEN: usize = SALTED_HEADER_LEN + GZIP_MAGIC.len();

/// The format found, its cipher at payload offset 0, and the header's length.
pub(super) struct Detected {
    pub(super) format: Format,
    pub(super) cipher: Cipher,
    pub(super) header_len: usize,
}

/// Detects the format of a file that begins with `head` (at most [`PEEK_LEN`] bytes; fewer only
/// when the file is that short).
pub(super) fn detect(
    head: &[u8],
    password: &Password,
    options: &DecryptOptions,
) -> Result<Detected> {
    let (header_len, salt) = read_header(head, options.format)?;
    let payload_head = &head[header_len..];
    if options.expect_gzip && payload_head.len() < GZIP_MAGIC.len() {
        return Err(Error::malformed(
            Input::Encrypted,
            Some(header_len as u64),
            format!(
                "{} bytes of payload: too short to hold a gzip header",
                payload_head.len()
            ),
        ));
    }
    let candidates = candidates(salt.is_some(), options)?;
    let (format, cipher) = choose(&candidates, password, salt.as_ref(), payload_head, options)?;
    Ok(Detected {
        format,
        cipher,
        header_len,
    })
}

/// The header's length and the salt it carries: a salted format (given, or found by its
/// `Salted__` magic) has 16 bytes of header, the Node format none.
fn read_header(head: &[u8], hint: Option<Format>) -> Result<(usize, Option<[u8; 8]>)> {
    let has_magic = head.starts_with(SALTED_MAGIC);
    let salted = match hint {
        Some(f) => f.is_salted(),
        None => has_magic,
    };
    if !salted {
        return Ok((0, None));
    }
    if !has_magic || head.len() < SALTED_HEADER_LEN {
        return Err(Error::malformed(
            Input::OpensslHeader,
            Some(0),
            if has_magic {
                format!("Salted__ header cut short: {} of 16 bytes", head.len())
            } else {
                "missing Salted__ header".to_string()
            },
        ));
    }
    let mut salt = [0u8; 8];
    salt.copy_from_slice(&head[8..16]);
    Ok((SALTED_HEADER_LEN, Some(salt)))
}

/// The formats the file may be in. A salted header does not say whether MD5 or PBKDF2 made the
/// key, so without a hint both are tried, which only gzip's magic can decide.
fn candidates(salted: bool, options: &DecryptOptions) -> Result<Vec<Format>> {
    Ok(match options.format {
        Some(f) => vec![f],
        None if !salted => vec![Format::Node],
        None if options.expect_gzip => vec![
            Format::OpenSslPbkdf2 {
                iterations: DEFAULT_PBKDF2_ITERATIONS,
            },
            Format::OpenSslMd5,
        ],
        None => return Err(Error::FormatNeeded),
    })
}

/// The first candidate whose key decrypts the payload's first bytes to gzip's magic (or simply
/// the first, when gzip is not expected), with its cipher at payload offset 0.
fn choose(
    candidates: &[Format],
    password: &Password,
    salt: Option<&[u8; 8]>,
    payload_head: &[u8],
    options: &DecryptOptions,
) -> Result<(Format, Cipher)> {
    for format in candidates {
        let key = format.derive(password, salt)?;
        let mut cipher = Cipher::new(&key);
        if options.expect_gzip {
            let mut probe = [0u8; 3];
            probe.copy_from_slice(&payload_head[..3]);
            cipher.apply(&mut probe);
            if probe != GZIP_MAGIC {
                continue;
            }
            cipher.seek(0);
        }
        return Ok((*format, cipher));
    }
    Err(Error::WrongPassword {
        detail: format!(
            "the decrypted data does not start with a gzip header (tried {})",
            candidates
                .iter()
                .map(Format::name)
                .collect::<Vec<_>>()
                .join(", ")
        ),
    })
}
