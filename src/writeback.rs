//! Writeback hints: the kernel is told to start writing a file's dirty pages while the job
//! goes on, so that the fsync before publishing has little left to do.

#![allow(unsafe_code)] // one call: sync_file_range(2), which rustix does not wrap

use std::cell::Cell;
use std::fs::File;
use std::io::{self, Write};

/// Start writeback of a streamed output every this many bytes.
const WRITEBACK_EVERY: u64 = 8 << 20;

thread_local! {
    /// Whether [`start_writeback`] does anything on this thread.
    static WRITEBACK: Cell<bool> = const { Cell::new(false) };
}

/// Runs `f` with [`start_writeback`] switched on (or off) on this thread.
pub(crate) fn with_writeback<T>(on: bool, f: impl FnOnce() -> T) -> T {
    let before = WRITEBACK.with(|w| w.replace(on));
    let out = f();
    WRITEBACK.with(|w| w.set(before));
    out
}

/// Starts writing back the dirty pages of a file just written, without waiting for them, so
/// that the fsync before publishing has little left to do. Does nothing unless the calling
/// thread is inside [`with_writeback`]`(true, ..)`, and nothing off Linux. Errors are ignored:
/// this is only a head start, the fsync that follows reports what matters.
pub(crate) fn start_writeback(f: &File) {
    if !WRITEBACK.with(Cell::get) {
        return;
    }
    #[cfg(target_os = "linux")]
    {
        use std::os::fd::AsRawFd;
        // SAFETY: sync_file_range only reads its integer arguments; the descriptor is borrowed
        // from a live File for the duration of the call.
        unsafe {
            libc::sync_file_range(f.as_raw_fd(), 0, 0, libc::SYNC_FILE_RANGE_WRITE);
        }
    }
    #[cfg(not(target_os = "linux"))]
    let _ = f;
}

/// Starts writeback of `len` bytes at `offset` (see [`start_writeback`]), for a file written
/// in one long stream. Not tied to [`with_writeback`]: callers decide.
pub(crate) fn start_writeback_range(f: &File, offset: u64, len: u64) {
    #[cfg(target_os = "linux")]
    {
        use std::os::fd::AsRawFd;
        let (Ok(off), Ok(n)) = (i64::try_from(offset), i64::try_from(len)) else {
            return;
        };
        // SAFETY: as in start_writeback.
        unsafe {
            libc::sync_file_range(f.as_raw_fd(), off, n, libc::SYNC_FILE_RANGE_WRITE);
        }
    }
    #[cfg(not(target_os = "linux"))]
    let _ = (f, offset, len);
}

/// A writer into a temporary output that starts writeback of what it wrote every
/// [`WRITEBACK_EVERY`] bytes when `on`.
pub(crate) struct Writeback<'f> {
    file: &'f File,
    written: u64,
    started: u64,
    on: bool,
}

impl<'f> Writeback<'f> {
    pub(crate) fn new(file: &'f File, on: bool) -> Self {
        Writeback {
            file,
            written: 0,
            started: 0,
            on,
        }
    }
}

impl Write for Writeback<'_> {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        let n = self.file.write(buf)?;
        self.written += n as u64;
        if self.on && self.written - self.started >= WRITEBACK_EVERY {
            start_writeback_range(self.file, self.started, self.written - self.started);
            self.started = self.written;
        }
        Ok(n)
    }

    fn flush(&mut self) -> io::Result<()> {
        self.file.flush()
    }
}
