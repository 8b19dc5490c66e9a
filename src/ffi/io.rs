//! C read and write callbacks as [`io::Read`] and [`io::Write`], as rustls-ffi's
//! `librustls/src/io.rs` does it.
//!
//! Both adapters hold the caller's `userdata` as a raw pointer, which makes them neither `Send`
//! nor `Sync`: the compiler itself keeps them, and so the callbacks, on the thread that made
//! the call, as the contract promises.

use std::ffi::c_void;
use std::io;

use super::boundary::invalid;
use crate::error::Error;

/// Read callback: store up to `len` bytes in `buf`, set `*out_n` to how many were stored (0 at
/// the end of the input) and return 0; any other return value fails the call with
/// `A0B_ERR_IO` (the value is in the message). `userdata` is the pointer given with the
/// callback.
pub type a0b_read_cb = Option<
    unsafe extern "C" fn(userdata: *mut c_void, buf: *mut u8, len: usize, out_n: *mut usize) -> i32,
>;

/// Write callback: take 1 to `len` bytes of `buf`, set `*out_n` to how many were taken and
/// return 0 (it is called again for the rest); any other return value fails the call with
/// `A0B_ERR_IO` (the value is in the message). `userdata` is the pointer given with the
/// callback.
pub type a0b_write_cb = Option<
    unsafe extern "C" fn(
        userdata: *mut c_void,
        buf: *const u8,
        len: usize,
        out_n: *mut usize,
    ) -> i32,
>;

type ReadFn =
    unsafe extern "C" fn(userdata: *mut c_void, buf: *mut u8, len: usize, out_n: *mut usize) -> i32;
type WriteFn = unsafe extern "C" fn(
    userdata: *mut c_void,
    buf: *const u8,
    len: usize,
    out_n: *mut usize,
) -> i32;

/// The error of a callback that failed: its return value, or a count it could not have.
fn callback_error(which: &str, detail: String) -> io::Error {
    io::Error::other(format!("the {which} callback failed: {detail}"))
}

/// An `a0b_read_cb` and its `userdata` as a reader. After a failure it fails again without
/// calling the callback.
pub(crate) struct CallbackReader {
    callback: ReadFn,
    userdata: *mut c_void,
    failed: Option<String>,
}

impl CallbackReader {
    /// A reader of `callback`, or `A0B_ERR_INVALID_ARGUMENT` for a NULL callback.
    pub(crate) fn new(callback: a0b_read_cb, userdata: *mut c_void) -> Result<Self, Error> {
        let callback = callback.ok_or_else(|| invalid("read callback is NULL"))?;
        Ok(CallbackReader {
            callback,
            userdata,
            failed: None,
        })
    }
}

impl io::Read for CallbackReader {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        if let Some(detail) = &self.failed {
            return Err(callback_error("read", detail.clone()));
        }
        if buf.is_empty() {
            return Ok(0);
        }
        let mut n = 0usize;
        // SAFETY: the caller gave a valid callback; `buf` and `n` live across the call.
        let code = unsafe { (self.callback)(self.userdata, buf.as_mut_ptr(), buf.len(), &mut n) };
        let detail = match code {
            0 if n <= buf.len() => return Ok(n),
            0 => format!("it reported {n} bytes stored in a buffer of {}", buf.len()),
            code => format!("it returned {code}"),
        };
        self.failed = Some(detail.clone());
        Err(callback_error("read", detail))
    }
}

/// An `a0b_write_cb` and its `userdata` as a writer. After a failure it fails again without
/// calling the callback.
pub(crate) struct CallbackWriter {
    callback: WriteFn,
    userdata: *mut c_void,
    failed: Option<String>,
}

impl CallbackWriter {
    /// A writer to `callback`, or `A0B_ERR_INVALID_ARGUMENT` for a NULL callback.
    pub(crate) fn new(callback: a0b_write_cb, userdata: *mut c_void) -> Result<Self, Error> {
        let callback = callback.ok_or_else(|| invalid("write callback is NULL"))?;
        Ok(CallbackWriter {
            callback,
            userdata,
            failed: None,
        })
    }
}

impl io::Write for CallbackWriter {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        if let Some(detail) = &self.failed {
            return Err(callback_error("write", detail.clone()));
        }
        if buf.is_empty() {
            return Ok(0);
        }
        let mut n = 0usize;
        // SAFETY: the caller gave a valid callback; `buf` and `n` live across the call.
        let code = unsafe { (self.callback)(self.userdata, buf.as_ptr(), buf.len(), &mut n) };
        let detail = match code {
            0 if n > 0 && n <= buf.len() => return Ok(n),
            0 if n == 0 => "it took none of the bytes".to_string(),
            0 => format!("it reported {n} bytes taken of {}", buf.len()),
            code => format!("it returned {code}"),
        };
        self.failed = Some(detail.clone());
        Err(callback_error("write", detail))
    }

    fn flush(&mut self) -> io::Result<()> {
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::{Read, Write};

    /// userdata: (the bytes left, how many calls were made, the code to fail with after them).
    type Source = (Vec<u8>, u32, Option<(u32, i32)>);

    unsafe extern "C" fn read_from(
        userdata: *mut c_void,
        buf: *mut u8,
        len: usize,
        out_n: *mut usize,
    ) -> i32 {
        let s = unsafe { &mut *(userdata as *mut Source) };
        s.1 += 1;
        if let Some((after, code)) = s.2 {
            if s.1 > after {
                return code;
            }
        }
        let n = len.min(s.0.len()).min(3);
        unsafe { std::ptr::copy_nonoverlapping(s.0.as_ptr(), buf, n) };
        s.0.drain(..n);
        unsafe { *out_n = n };
        0
    }

    #[test]
    fn a_read_callback_reads_to_the_end() {
        let mut src: Source = (b"hello, appliance".to_vec(), 0, None);
        let mut r =
            CallbackReader::new(Some(read_from), &mut src as *mut Source as *mut c_void).unwrap();
        let mut out = String::new();
        r.read_to_string(&mut out).unwrap();
        assert_eq!(out, "hello, appliance");
    }

    #[test]
    fn a_failed_read_names_the_code_and_is_not_retried() {
        let mut src: Source = (vec![7; 100], 0, Some((2, 42)));
        let mut r =
            CallbackReader::new(Some(read_from), &mut src as *mut Source as *mut c_void).unwrap();
        let mut out = Vec::new();
        let e = r.read_to_end(&mut out).unwrap_err();
        assert_eq!(e.to_string(), "the read callback failed: it returned 42");
        assert_eq!(out.len(), 6);
        assert!(r.read(&mut [0; 4]).is_err());
        drop(r);
        assert_eq!(src.1, 3, "no call after the failure");
    }

    unsafe extern "C" fn write_some(
        userdata: *mut c_void,
        buf: *const u8,
        len: usize,
        out_n: *mut usize,
    ) -> i32 {
        let sink = unsafe { &mut *(userdata as *mut Vec<u8>) };
        if sink.len() >= 10 {
            return -5;
        }
        let n = len.min(4);
        sink.extend_from_slice(unsafe { std::slice::from_raw_parts(buf, n) });
        unsafe { *out_n = n };
        0
    }

    #[test]
    fn short_writes_are_completed_and_a_failure_names_its_code() {
        let mut sink = Vec::new();
        let mut w = CallbackWriter::new(Some(write_some), &mut sink as *mut Vec<u8> as *mut c_void)
            .unwrap();
        w.write_all(b"0123456789").unwrap();
        let e = w.write_all(b"x").unwrap_err();
        assert_eq!(e.to_string(), "the write callback failed: it returned -5");
        drop(w);
        assert_eq!(sink, b"0123456789");
        assert!(matches!(
            CallbackWriter::new(None, std::ptr::null_mut()),
            Err(Error::InvalidArgument(_))
        ));
    }
}
