//! The reading side: every member in turn, each one's CRC and length checked
//! by flate2, and zero bytes after the last member ignored (block-padded copies and tape tools
//! add them; gzip(1) ignores them too, with a warning).

use std::io::{self, BufRead, BufReader, Read};

use flate2::bufread::GzDecoder;

use super::GZIP_MAGIC;
use crate::error::{Error, Input, Result};

type Source<R> = BufReader<io::Chain<io::Cursor<[u8; 3]>, SourceErrors<R>>>;

/// The input of the decoder, whose read errors are marked as such on their way through
/// flate2: an error of the input (a disk's EIO, a failed callback) comes out as that I/O
/// error, never as damage to the gzip stream.
struct SourceErrors<R>(R);

impl<R: Read> Read for SourceErrors<R> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        self.0.read(buf).map_err(|e| {
            let travelled = e.get_ref().is_some_and(|i| i.is::<Error>());
            if travelled || e.kind() == io::ErrorKind::Interrupted {
                e
            } else {
                // Error::Io(e) unwraps to e on the way into an io::Error: box it instead, so
                // that `gzip_error` sees it has travelled and `Error::from` gives Error::Io.
                io::Error::other(Error::Io(e))
            }
        })
    }
}

/// What it means when the stream does not start like gzip.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum NotGzip {
    /// The stream was decrypted first: a wrong password is the likely cause.
    WrongPassword,
    /// The stream was read as it is: it is simply not gzip.
    Malformed,
}

/// Reads the first three bytes of a gzip stream and checks that they are the gzip magic.
///
/// # Errors
///
/// [`Error::WrongPassword`] or [`Error::Malformed`] (as `not_gzip` says) when the stream
/// does not start with a gzip header, and read errors.
pub(crate) fn read_magic<R: Read>(r: &mut R, not_gzip: NotGzip) -> Result<[u8; 3]> {
    let mut magic = [0u8; 3];
    let n = crate::io_ext::read_full(r, &mut magic)?;
    if n < 3 || magic != GZIP_MAGIC {
        let detail = if n < 3 {
            "the stream is too short to be gzip"
        } else {
            "the stream does not start with a gzip header (1f 8b 08)"
        };
        return Err(match not_gzip {
            NotGzip::WrongPassword => Error::WrongPassword {
                detail: detail.into(),
            },
            NotGzip::Malformed => {
                Error::malformed(Input::Gzip, Some(0), format!("not gzip: {detail}"))
            }
        });
    }
    Ok(magic)
}

/// A multi-member gzip decoder that first checks the magic and maps damage to
/// [`Error::Malformed`].
pub(crate) struct GzipChecked<R: Read> {
    /// The member being decoded, or `None` once the stream is done.
    member: Option<GzDecoder<Source<R>>>,
    /// Where the decoder is parked between members.
    between: Option<Source<R>>,
    trailing_zeros: u64,
}

impl<R: Read> GzipChecked<R> {
    /// Reads the first three bytes to check for the gzip magic.
    ///
    /// # Errors
    ///
    /// [`Error::WrongPassword`] or [`Error::Malformed`] (as `not_gzip` says) when the stream
    /// does not start with a gzip header, and read errors.
    #[cfg(test)]
    pub(crate) fn new(mut r: R, not_gzip: NotGzip) -> Result<Self> {
        let magic = read_magic(&mut r, not_gzip)?;
        Ok(Self::after_magic(r, magic))
    }

    /// A decoder of `r`, whose first three bytes `magic` [`read_magic`] read already.
    pub(crate) fn after_magic(r: R, magic: [u8; 3]) -> Self {
        let source =
            BufReader::with_capacity(64 * 1024, io::Cursor::new(magic).chain(SourceErrors(r)));
        GzipChecked {
            member: Some(GzDecoder::new(source)),
            between: None,
            trailing_zeros: 0,
        }
    }

    /// Zero bytes found (and ignored) after the last member.
    pub(crate) fn trailing_zeros(&self) -> u64 {
        self.trailing_zeros
    }

    /// After a member ended: starts the next one, or reads the zero padding to the end.
    /// Returns whether another member started.
    fn next_member(&mut self) -> io::Result<bool> {
        let Some(mut source) = self.between.take() else {
            return Ok(false);
        };
        loop {
            let available = source.fill_buf()?;
            if available.is_empty() {
                return Ok(false);
            }
            if self.trailing_zeros == 0 && available[0] == GZIP_MAGIC[0] {
                self.member = Some(GzDecoder::new(source));
                return Ok(true);
            }
            if let Some(pos) = available.iter().position(|&b| b != 0) {
                let at = self.trailing_zeros + pos as u64;
                return Err(io::Error::from(Error::malformed(
                    Input::Gzip,
                    None,
                    format!(
                        "bytes after the last gzip member that are neither a gzip member nor zero padding ({at} bytes after it)"
                    ),
                )));
            }
            let n = available.len();
            self.trailing_zeros += n as u64;
            source.consume(n);
        }
    }
}

impl<R: Read> Read for GzipChecked<R> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        if buf.is_empty() {
            return Ok(0);
        }
        loop {
            let Some(member) = self.member.as_mut() else {
                return Ok(0);
            };
            let n = member.read(buf).map_err(gzip_error)?;
            if n > 0 {
                return Ok(n);
            }
            let done = self.member.take().expect("checked above");
            self.between = Some(done.into_inner());
            if !self.next_member()? {
                return Ok(0);
            }
        }
    }
}

fn gzip_error(e: io::Error) -> io::Error {
    let travelled = e.get_ref().is_some_and(|i| i.is::<Error>());
    if travelled || e.kind() == io::ErrorKind::Interrupted {
        return e;
    }
    if e.kind() == io::ErrorKind::UnexpectedEof {
        return io::Error::from(Error::Truncated { input: Input::Gzip });
    }
    io::Error::from(Error::malformed(Input::Gzip, None, e.to_string()))
}

#[cfg(test)]
mod tests {
    use super::*;
    use flate2::{write::GzEncoder, Compression};
    use std::io::Write;

    fn gz(data: &[u8]) -> Vec<u8> {
        let mut e = GzEncoder::new(Vec::new(), Compression::fast());
        e.write_all(data).unwrap();
        e.finish().unwrap()
    }

    fn inflate(input: &[u8]) -> (Result<Vec<u8>>, u64) {
        let mut g = match GzipChecked::new(input, NotGzip::Malformed) {
            Ok(g) => g,
            Err(e) => return (Err(e), 0),
        };
        let mut out = Vec::new();
        let r = g.read_to_end(&mut out).map(|_| out).map_err(Error::from);
        (r, g.trailing_zeros())
    }

    #[test]
    fn members_in_turn_then_zero_padding() {
        let mut input = [gz(b"hello "), gz(b""), gz(b"world")].concat();
        input.extend_from_slice(&[0u8; 70_000]);
        let (out, zeros) = inflate(&input);
        assert_eq!(out.unwrap(), b"hello world");
        assert_eq!(zeros, 70_000);
    }

    #[test]
    fn garbage_after_the_stream_is_an_error() {
        for tail in [&b"x"[..], b"\0\0\0x", b"\x1f\x8b\x08"] {
            let input = [gz(b"data"), tail.to_vec()].concat();
            let (out, _) = inflate(&input);
            assert!(
                matches!(out, Err(Error::Malformed { .. } | Error::Truncated { .. })),
                "{tail:?}: {out:?}"
            );
        }
        // A member after zero padding is not a member: padding ends the stream.
        let input = [gz(b"a"), vec![0; 4], gz(b"b")].concat();
        assert!(inflate(&input).0.is_err());
    }

    /// A reader that gives `data`, then fails as a disk does.
    struct FailingAfter<'a>(&'a [u8]);

    impl Read for FailingAfter<'_> {
        fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
            if self.0.is_empty() {
                return Err(io::Error::from_raw_os_error(5)); // EIO
            }
            let n = buf.len().min(self.0.len()).min(1000);
            buf[..n].copy_from_slice(&self.0[..n]);
            self.0 = &self.0[n..];
            Ok(n)
        }
    }

    #[test]
    fn a_read_error_of_the_input_is_an_io_error_not_damage() {
        let full = gz(&(0..200_000u32)
            .map(|i| (i * 7 % 251) as u8)
            .collect::<Vec<_>>());
        for cut in [3, 10, full.len() / 2, full.len() - 1, full.len()] {
            let mut g = GzipChecked::new(FailingAfter(&full[..cut]), NotGzip::Malformed).unwrap();
            let e = Error::from(g.read_to_end(&mut Vec::new()).unwrap_err());
            match &e {
                Error::Io(io) => assert_eq!(io.raw_os_error(), Some(5), "{cut}: {e}"),
                other => panic!("{cut}: {other:?}"),
            }
            assert_eq!(e.kind(), crate::error::ErrorKind::Io);
        }
    }

    #[test]
    fn truncation_and_not_gzip() {
        let full = gz(&[7u8; 5000]);
        for cut in [10, full.len() - 8, full.len() - 1] {
            assert!(
                matches!(inflate(&full[..cut]).0, Err(Error::Truncated { .. })),
                "{cut}"
            );
        }
        let e = inflate(b"plain text").0.unwrap_err();
        assert!(e.to_string().contains("not gzip"), "{e}");
        let e = GzipChecked::new(&b"plain"[..], NotGzip::WrongPassword).err();
        assert!(matches!(e, Some(Error::WrongPassword { .. })));
    }
}
