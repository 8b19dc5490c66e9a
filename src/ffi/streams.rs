//! The functions over read and write callbacks (`a0b_read_cb`, `a0b_write_cb`): memory, sockets,
//! HTTP bodies, a Node `Readable`, a Python file object. Every callback runs on the calling
//! thread, during the call.

use std::ffi::{c_char, c_void};
use std::io::Write;

use super::boundary::{md5_arg, optional_password_arg, password_arg, path_arg, HexOut};
use super::files::{file_options, pack_options, restore_options};
use super::io::{a0b_read_cb, a0b_write_cb, CallbackReader, CallbackWriter};
use super::options::{a0b_options, options_arg};
use super::*;
use crate::checksum::Md5Digest;
use crate::io_ext::read_full;
use crate::source::Source;
use crate::stream::DecryptOptions;

/// How much is decrypted and handed to the write callback at a time.
const CHUNK: usize = 256 * 1024;

/// Decrypts what `read_cb` gives into `write_cb`, as it comes. The format is detected from the
/// header unless `options->format` names one; with `options->expect_gzip` a wrong password is
/// reported (`A0B_ERR_WRONG_PASSWORD`) before anything is written. With `expected_md5` (32 hex
/// digits, or NULL for no check) the MD5 of all the input is compared at the end, after the
/// plaintext was written: `A0B_ERR_CHECKSUM_MISMATCH` then says to discard it. Progress
/// reports count input bytes, with a total of 0 (unknown).
///
/// # Safety
/// `read_cb` and `write_cb` are NULL or callbacks as the contract says, given their `userdata`;
/// `password` points to `password_len` bytes; `expected_md5` is NULL or NUL-terminated;
/// `options` is NULL or initialised with `a0b_options_init`.
#[no_mangle]
#[allow(clippy::too_many_arguments)]
pub unsafe extern "C" fn a0b_decrypt_stream(
    read_cb: a0b_read_cb,
    read_userdata: *mut c_void,
    write_cb: a0b_write_cb,
    write_userdata: *mut c_void,
    password: *const u8,
    password_len: usize,
    expected_md5: *const c_char,
    options: *const a0b_options,
) -> a0b_result {
    ffi_boundary! {
        let input = CallbackReader::new(read_cb, read_userdata)?;
        let mut output = CallbackWriter::new(write_cb, write_userdata)?;
        let pw = unsafe { password_arg(password, password_len) }?;
        let expected: Option<Md5Digest> = unsafe { md5_arg(expected_md5) }?;
        let o = unsafe { options_arg(options) }?;
        let decrypt = DecryptOptions::new().expect_gzip(o.expect_gzip);
        let decrypt = match o.format {
            Some(f) => decrypt.format(f),
            None => decrypt,
        };
        let mut progress = o.progress();
        // The source step of every job; the writes stay on this thread, as the callback's
        // contract says.
        let consumed = Source::new(input, expected, false).consume(Some(&pw), decrypt, |plain| {
            let header = plain.header_len();
            let mut buf = vec![0u8; CHUNK];
            let mut written = 0u64;
            loop {
                let n = read_full(plain, &mut buf)?;
                if n == 0 {
                    return Ok(());
                }
                output.write_all(&buf[..n])?;
                written += n as u64;
                progress.report(header + written, None)?;
            }
        })?;
        consumed.md5.map(|_| ())
    }
}

/// Encrypts what `read_cb` gives into `write_cb` in `options->format` (default: the appliance's Node
/// format), and writes the MD5 of the encrypted output to `md5_hex_out` (33 bytes; may be NULL
/// if not wanted). Progress reports count input bytes, with a total of 0 (unknown).
///
/// # Safety
/// As `a0b_decrypt_stream`; `md5_hex_out` is NULL or points to 33 writable bytes.
#[no_mangle]
#[allow(clippy::too_many_arguments)]
pub unsafe extern "C" fn a0b_encrypt_stream(
    read_cb: a0b_read_cb,
    read_userdata: *mut c_void,
    write_cb: a0b_write_cb,
    write_userdata: *mut c_void,
    password: *const u8,
    password_len: usize,
    md5_hex_out: *mut c_char,
    options: *const a0b_options,
) -> a0b_result {
    ffi_boundary! {
        let input = CallbackReader::new(read_cb, read_userdata)?;
        let output = CallbackWriter::new(write_cb, write_userdata)?;
        let pw = unsafe { password_arg(password, password_len) }?;
        let md5_out = unsafe { HexOut::optional(md5_hex_out) };
        let o = unsafe { options_arg(options) }?;
        let opts = file_options(&o).format(o.encrypt_format());
        let summary = crate::files::encrypt_stream(input, output, &pw, opts)?;
        md5_out.set(&summary.ciphertext_md5);
        Ok(())
    }
}

/// Restores an encrypted backup (`.tar.gz.enc`) that `read_cb` gives into the directory
/// `dest_dir`, in one pass, with the unpack safety policy and the guarantees of `a0b_restore`:
/// `dest_dir` appears (or is replaced, with `replace`) only when everything checked out,
/// `expected_md5` included; on any failure, a failed read callback included, it is as it was.
/// Progress reports count input bytes, with a total of 0 (unknown).
///
/// # Safety
/// As `a0b_decrypt_stream`; `dest_dir` is NUL-terminated.
#[no_mangle]
pub unsafe extern "C" fn a0b_restore_stream(
    read_cb: a0b_read_cb,
    read_userdata: *mut c_void,
    dest_dir: *const c_char,
    password: *const u8,
    password_len: usize,
    expected_md5: *const c_char,
    options: *const a0b_options,
) -> a0b_result {
    ffi_boundary! {
        let input = CallbackReader::new(read_cb, read_userdata)?;
        let dest = unsafe { path_arg(dest_dir, "dest_dir") }?;
        let pw = unsafe { password_arg(password, password_len) }?;
        let expected = unsafe { md5_arg(expected_md5) }?;
        let o = unsafe { options_arg(options) }?;
        let opts = restore_options(&o, expected);
        crate::restore::restore_reader(input, &dest, Some(&pw), opts).map(|_| ())
    }
}

/// Packs the directory `src_dir` as `a0b_pack` does (a `.tar.gz` with the directory's name as
/// its top entry, encrypted when `password` is not NULL) into `write_cb`, as it is produced, and
/// writes the MD5 of what was written to `md5_hex_out` (33 bytes; may be NULL if not wanted).
/// A failure (`A0B_ERR_CHANGED_WHILE_READING` among them) may come after part of the output
/// was written.
///
/// # Safety
/// As `a0b_encrypt_stream`; `src_dir` is NUL-terminated; `password` is NULL or points to
/// `password_len` bytes.
#[no_mangle]
pub unsafe extern "C" fn a0b_pack_stream(
    src_dir: *const c_char,
    write_cb: a0b_write_cb,
    write_userdata: *mut c_void,
    password: *const u8,
    password_len: usize,
    md5_hex_out: *mut c_char,
    options: *const a0b_options,
) -> a0b_result {
    ffi_boundary! {
        let src = unsafe { path_arg(src_dir, "src_dir") }?;
        let output = CallbackWriter::new(write_cb, write_userdata)?;
        let pw = unsafe { optional_password_arg(password, password_len) }?;
        let md5_out = unsafe { HexOut::optional(md5_hex_out) };
        let o = unsafe { options_arg(options) }?;
        let summary = crate::pack::pack_writer(&src, output, pw.as_ref(), pack_options(&o)?)?;
        md5_out.set(&summary.md5);
        Ok(())
    }
}

/// The MD5 of everything `read_cb` gives, as 32 lowercase hex digits and a NUL.
///
/// # Safety
/// `read_cb` is NULL or a callback as the contract says, given its `userdata`; `hex_out` points
/// to 33 writable bytes.
#[no_mangle]
pub unsafe extern "C" fn a0b_md5_stream(
    read_cb: a0b_read_cb,
    read_userdata: *mut c_void,
    hex_out: *mut c_char,
) -> a0b_result {
    ffi_boundary! {
        let input = CallbackReader::new(read_cb, read_userdata)?;
        let hex_out = unsafe { HexOut::required(hex_out, "hex_out") }?;
        let (digest, _) = crate::checksum::md5_reader(input)?;
        hex_out.set(&digest);
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::thread::ThreadId;

    /// A memory stream for the callbacks, which notes every call made off its thread.
    struct Mem {
        data: Vec<u8>,
        pos: usize,
        thread: ThreadId,
        calls: usize,
        off_thread: usize,
        fail_at: Option<usize>,
    }

    impl Mem {
        fn new(data: Vec<u8>) -> Mem {
            Mem {
                data,
                pos: 0,
                thread: std::thread::current().id(),
                calls: 0,
                off_thread: 0,
                fail_at: None,
            }
        }

        fn ud(&mut self) -> *mut c_void {
            self as *mut Mem as *mut c_void
        }

        fn note_call(&mut self) -> bool {
            self.calls += 1;
            if std::thread::current().id() != self.thread {
                self.off_thread += 1;
            }
            self.fail_at.is_some_and(|at| self.calls >= at)
        }
    }

    unsafe extern "C" fn mem_read(ud: *mut c_void, buf: *mut u8, len: usize, n: *mut usize) -> i32 {
        let m = unsafe { &mut *(ud as *mut Mem) };
        if m.note_call() {
            return 5;
        }
        let k = len.min(m.data.len() - m.pos).min(5000);
        unsafe { std::ptr::copy_nonoverlapping(m.data[m.pos..].as_ptr(), buf, k) };
        m.pos += k;
        unsafe { *n = k };
        0
    }

    unsafe extern "C" fn mem_write(
        ud: *mut c_void,
        buf: *const u8,
        len: usize,
        n: *mut usize,
    ) -> i32 {
        let m = unsafe { &mut *(ud as *mut Mem) };
        if m.note_call() {
            return 6;
        }
        m.data
            .extend_from_slice(unsafe { std::slice::from_raw_parts(buf, len) });
        unsafe { *n = len };
        0
    }

    const PW: &[u8] = b"Passw0rd";

    #[test]
    fn every_stream_function_calls_back_on_the_calling_thread_only() {
        let tree = tempfile::tempdir().unwrap();
        let dump = tree.path().join("dump");
        std::fs::create_dir(&dump).unwrap();
        let bson: Vec<u8> = (0..300_000u32).map(|i| (i * 7 % 251) as u8).collect();
        std::fs::write(dump.join("users.bson"), &bson).unwrap();
        let c = |s: &std::path::Path| std::ffi::CString::new(s.to_str().unwrap()).unwrap();
        let mut hex = [0 as c_char; 33];

        // Pack into memory, encrypted.
        let mut packed = Mem::new(Vec::new());
        let r = unsafe {
            a0b_pack_stream(
                c(&dump).as_ptr(),
                Some(mem_write),
                packed.ud(),
                PW.as_ptr(),
                PW.len(),
                hex.as_mut_ptr(),
                std::ptr::null(),
            )
        };
        assert_eq!(r, A0B_OK);
        assert!(packed.calls > 0 && packed.off_thread == 0);
        let md5 = unsafe { std::ffi::CStr::from_ptr(hex.as_ptr()) }.to_owned();
        assert_eq!(
            md5.to_str().unwrap(),
            crate::checksum::md5_bytes(&packed.data).to_string()
        );

        // Restore it from memory; a failing reader first, which leaves nothing behind.
        let work = tempfile::tempdir().unwrap();
        let dest = work.path().join("restored");
        let mut failing = Mem::new(packed.data.clone());
        failing.fail_at = Some(3);
        let r = unsafe {
            a0b_restore_stream(
                Some(mem_read),
                failing.ud(),
                c(&dest).as_ptr(),
                PW.as_ptr(),
                PW.len(),
                md5.as_ptr(),
                std::ptr::null(),
            )
        };
        assert_eq!(r, A0B_ERR_IO);
        assert_eq!(
            super::super::boundary::last_error(),
            "I/O error: the read callback failed: it returned 5"
        );
        assert_eq!((failing.calls, failing.off_thread), (3, 0));
        assert_eq!(std::fs::read_dir(work.path()).unwrap().count(), 0);
        let mut source = Mem::new(packed.data.clone());
        let r = unsafe {
            a0b_restore_stream(
                Some(mem_read),
                source.ud(),
                c(&dest).as_ptr(),
                PW.as_ptr(),
                PW.len(),
                md5.as_ptr(),
                std::ptr::null(),
            )
        };
        assert_eq!(r, A0B_OK);
        assert_eq!(source.off_thread, 0);
        assert_eq!(std::fs::read(dest.join("dump/users.bson")).unwrap(), bson);

        // Decrypt to the .tar.gz, encrypt it back: the same bytes (the Node format).
        let mut input = Mem::new(packed.data.clone());
        let mut plain = Mem::new(Vec::new());
        let r = unsafe {
            a0b_decrypt_stream(
                Some(mem_read),
                input.ud(),
                Some(mem_write),
                plain.ud(),
                PW.as_ptr(),
                PW.len(),
                md5.as_ptr(),
                std::ptr::null(),
            )
        };
        assert_eq!(r, A0B_OK);
        assert_eq!((input.off_thread, plain.off_thread), (0, 0));
        assert_eq!(&plain.data[..2], &[0x1f, 0x8b]);
        let mut again = Mem::new(plain.data.clone());
        let mut enc = Mem::new(Vec::new());
        let r = unsafe {
            a0b_encrypt_stream(
                Some(mem_read),
                again.ud(),
                Some(mem_write),
                enc.ud(),
                PW.as_ptr(),
                PW.len(),
                std::ptr::null_mut(),
                std::ptr::null(),
            )
        };
        assert_eq!(r, A0B_OK);
        assert_eq!((again.off_thread, enc.off_thread), (0, 0));
        assert_eq!(enc.data, packed.data);

        let mut whole = Mem::new(enc.data.clone());
        let r = unsafe { a0b_md5_stream(Some(mem_read), whole.ud(), hex.as_mut_ptr()) };
        assert_eq!(r, A0B_OK);
        assert_eq!(unsafe { std::ffi::CStr::from_ptr(hex.as_ptr()) }, &*md5);
    }
}
