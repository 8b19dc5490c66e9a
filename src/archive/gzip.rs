//! The gzip layer under the tar reader.

use std::io::{self, Read};

use flate2::read::MultiGzDecoder;

use crate::error::{Error, Result};
use crate::stream::GZIP_MAGIC;

/// A gzip decoder that first checks the magic (a wrong password shows here) and maps damage to
/// [`Error::Malformed`].
pub(crate) struct GzipChecked<R: Read> {
    inner: MultiGzDecoder<io::Chain<io::Cursor<[u8; 3]>, R>>,
}

impl<R: Read> GzipChecked<R> {
    pub(crate) fn new(mut r: R) -> Result<Self> {
        let mut magic = [0u8; 3];
        let n = crate::pipeline::read_full(&mut r, &mut magic)?;
        if n < 3 || magic != GZIP_MAGIC {
            return Err(Error::WrongPassword {
                detail: if n < 3 {
                    "the stream is too short to be gzip".into()
                } else {
                    "the stream does not start with a gzip header".into()
                },
            });
        }
        let chained = io::Cursor::new(magic).chain(r);
        Ok(GzipChecked {
            inner: MultiGzDecoder::new(chained),
        })
    }
}

impl<R: Read> Read for GzipChecked<R> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        self.inner.read(buf).map_err(gzip_error)
    }
}

fn gzip_error(e: io::Error) -> io::Error {
    let travelled = e.get_ref().is_some_and(|i| i.is::<Error>());
    if travelled || e.kind() == io::ErrorKind::Interrupted {
        return e;
    }
    io::Error::from(Error::malformed(
        "gzip stream",
        None,
        if e.kind() == io::ErrorKind::UnexpectedEof {
            "truncated".to_string()
        } else {
            e.to_string()
        },
    ))
}
