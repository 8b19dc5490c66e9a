//! What `std::io` lacks and every layer uses: filling a buffer whatever the reader's pieces,
//! and I/O errors that name their file.

use std::cell::Cell;
use std::io::{self, Read, Write};
use std::path::Path;
use std::rc::Rc;

use crate::error::Error;

/// Reads until `buf` is full or the reader is at its end.
pub(crate) fn read_full<R: Read + ?Sized>(reader: &mut R, buf: &mut [u8]) -> io::Result<usize> {
    let mut n = 0;
    while n < buf.len() {
        match reader.read(&mut buf[n..]) {
            Ok(0) => break,
            Ok(k) => n += k,
            Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
            Err(e) => return Err(e),
        }
    }
    Ok(n)
}

/// A reader or writer whose I/O errors name its file, so that an error coming out of a long
/// pipeline still says which file failed.
pub(crate) struct Labeled<'p, T> {
    inner: T,
    path: &'p Path,
}

impl<'p, T> Labeled<'p, T> {
    pub(crate) fn new(inner: T, path: &'p Path) -> Self {
        Labeled { inner, path }
    }

    fn label(&self, e: io::Error) -> io::Error {
        let already = e.get_ref().is_some_and(|inner| inner.is::<Error>());
        if already || e.kind() == io::ErrorKind::Interrupted {
            e
        } else {
            io::Error::from(Error::Path {
                path: self.path.to_path_buf(),
                source: e,
            })
        }
    }
}

impl<T: Read> Read for Labeled<'_, T> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        self.inner.read(buf).map_err(|e| self.label(e))
    }
}

impl<T: Write> Write for Labeled<'_, T> {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        self.inner.write(buf).map_err(|e| self.label(e))
    }

    fn flush(&mut self) -> io::Result<()> {
        self.inner.flush().map_err(|e| self.label(e))
    }
}

/// A reader that counts the bytes read through it, for progress reports read elsewhere.
pub(crate) struct Counting<R> {
    inner: R,
    count: Rc<Cell<u64>>,
}

impl<R> Counting<R> {
    pub(crate) fn new(inner: R) -> Self {
        Counting {
            inner,
            count: Rc::default(),
        }
    }

    /// The count, shared: it goes on counting after the reader has been handed over.
    pub(crate) fn count(&self) -> Rc<Cell<u64>> {
        self.count.clone()
    }
}

impl<R: Read> Read for Counting<R> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        let n = self.inner.read(buf)?;
        self.count.set(self.count.get() + n as u64);
        Ok(n)
    }
}
