//! The C ABI. The only module with `unsafe` code.
//!
//! # Contract
//!
//! * Every function is `a0b_`-prefixed. Opaque handles come in `a0b_<type>_new` /
//!   `a0b_<type>_free` pairs, and `_free(NULL)` does nothing.
//! * Functions return an `a0b_result`: `A0B_OK` (0) on success, a positive `A0B_ERR_*` code
//!   otherwise. Out-parameters are written only on success.
//! * Passwords are `(const uint8_t *, size_t)` and always required (an empty password is a
//!   non-NULL pointer with length 0), except for `a0b_pack`, where NULL means "do not encrypt".
//!   Paths are NUL-terminated UTF-8. A NULL where a pointer is required returns
//!   `A0B_ERR_INVALID_ARGUMENT`, never a crash.
//! * No panic crosses the boundary: one is caught and returned as `A0B_ERR_PANIC`.
//! * `a0b_last_error_message` gives a readable message for the last failure on the calling
//!   thread.
//! * Each error has one `A0B_ERR_*` code and one exit code of the `a0backup` command, both
//!   from [`Error::kind`]: `A0B_ERR_IO`, `_MALFORMED`, `_CANCELLED`, `_ALREADY_EXISTS` and
//!   `_CHANGED_WHILE_READING` are exit 1; `_INVALID_ARGUMENT` and `_UNSUPPORTED` exit 2; `_WRONG_PASSWORD` exit 3;
//!   `_CHECKSUM_MISMATCH` exit 4; `_UNSAFE_ARCHIVE` (a refused entry or an exceeded limit)
//!   exit 5.
//! * The file functions keep the library's guarantees: outputs appear under their final name
//!   only when complete and checked; on any failure (a cancel from the progress callback
//!   included) an existing output or destination is untouched and nothing partial is left.

#![allow(non_camel_case_types)]
#![allow(unsafe_code)]

use std::cell::RefCell;
use std::ffi::{c_char, c_void, CStr, CString};
use std::panic::{catch_unwind, AssertUnwindSafe};
use std::path::PathBuf;

use crate::archive::{PackOptions, UnpackOptions};
use crate::checksum::{Md5, Md5Digest};
use crate::cipher::Cipher;
use crate::error::{Error, ErrorKind};
use crate::files::{self, AtomicFile, FileOptions};
use crate::kdf::{Format, KeyIv, Password, DEFAULT_PBKDF2_ITERATIONS};
use crate::progress::Progress;
use crate::restore::{restore_file, RestoreOptions};
use crate::stream::DecryptOptions;

/// The result of every fallible function: `A0B_OK` or one of the `A0B_ERR_*` codes.
pub type a0b_result = i32;

/// Success.
pub const A0B_OK: a0b_result = 0;
/// An I/O error (a file that cannot be read or written, a full disk). The command: exit 1.
pub const A0B_ERR_IO: a0b_result = 1;
/// A NULL where a pointer is required, a path that is not UTF-8, a bad hex string, bad options.
/// The command: exit 2.
pub const A0B_ERR_INVALID_ARGUMENT: a0b_result = 2;
/// The decrypted data does not start as it must (gzip): almost always a wrong password. The
/// command: exit 3.
pub const A0B_ERR_WRONG_PASSWORD: a0b_result = 3;
/// The MD5 of the encrypted file is not the expected one. The command: exit 4.
pub const A0B_ERR_CHECKSUM_MISMATCH: a0b_result = 4;
/// The archive holds an entry the unpack policy refuses, or exceeds a limit (size, entries,
/// path length). The command: exit 5.
pub const A0B_ERR_UNSAFE_ARCHIVE: a0b_result = 5;
/// Damaged or truncated input (header, gzip, tar, status record). The command: exit 1.
pub const A0B_ERR_MALFORMED: a0b_result = 6;
/// The progress callback asked to stop. The command: exit 1.
pub const A0B_ERR_CANCELLED: a0b_result = 7;
/// A bug: a panic inside the library was caught at the boundary.
pub const A0B_ERR_PANIC: a0b_result = 8;
/// A format the library cannot read or write (or an ambiguous salted file without a format).
/// The command: exit 2.
pub const A0B_ERR_UNSUPPORTED: a0b_result = 9;
/// The output exists and `overwrite` was not set. The command: exit 1.
pub const A0B_ERR_ALREADY_EXISTS: a0b_result = 10;
/// `a0b_pack`: a file changed while it was read (it grew, shrank, was written to, or was
/// replaced by a symlink); nothing was written. Packing again once the tree is quiet may
/// succeed. The command: exit 1.
pub const A0B_ERR_CHANGED_WHILE_READING: a0b_result = 11;

/// Decrypt: detect the format from the header. Encrypt: the appliance's (Node) format.
pub const A0B_FORMAT_AUTO: u32 = 0;
/// No header, EVP_BytesToKey(MD5) without salt: Node `createCipher`, the appliance's format.
pub const A0B_FORMAT_NODE: u32 = 1;
/// `openssl enc -md md5`: `Salted__` header, EVP_BytesToKey(MD5) with the salt.
pub const A0B_FORMAT_OPENSSL_MD5: u32 = 2;
/// `openssl enc -pbkdf2 -md sha256`: `Salted__` header, PBKDF2-HMAC-SHA256.
pub const A0B_FORMAT_OPENSSL_PBKDF2: u32 = 3;

/// Progress callback: bytes done, bytes in all (0 when unknown), the caller's `user_data`.
/// Return 0 to go on, anything else to cancel (the call then fails with `A0B_ERR_CANCELLED`
/// and leaves nothing behind). Called on the thread that made the call.
pub type a0b_progress_fn =
    Option<unsafe extern "C" fn(done: u64, total: u64, user_data: *mut c_void) -> i32>;

/// Options of the file functions. Initialise with `a0b_options_init`, then change fields;
/// `struct_size` lets later versions add fields without breaking callers built against this
/// one. A NULL `a0b_options *` means all defaults.
#[repr(C)]
#[derive(Debug, Clone, Copy)]
pub struct a0b_options {
    /// `sizeof(a0b_options)` as the caller was compiled with; set by `a0b_options_init`.
    pub struct_size: usize,
    /// Replace an existing output file or non-empty destination directory.
    pub overwrite: bool,
    /// One of the `A0B_FORMAT_*` values.
    pub format: u32,
    /// PBKDF2 iterations for `A0B_FORMAT_OPENSSL_PBKDF2` (0: openssl's default, 10000).
    pub pbkdf2_iterations: u32,
    /// `a0b_decrypt_file`: require the plaintext to start with a gzip header, so a wrong
    /// password is reported before any output is written. `a0b_restore` always requires it.
    pub expect_gzip: bool,
    /// gzip level for `a0b_pack`, 0-9 (default 6).
    pub gzip_level: u32,
    /// `a0b_restore`: extract symlinks that stay inside the destination.
    pub allow_symlinks: bool,
    /// `a0b_restore`: extract hardlinks to files extracted earlier.
    pub allow_hardlinks: bool,
    /// `a0b_restore`: most bytes of file data to extract (0: the default, 1 TiB).
    pub max_total_bytes: u64,
    /// Progress callback, or NULL.
    pub progress: a0b_progress_fn,
    /// Passed to `progress` unchanged.
    pub user_data: *mut c_void,
    /// Do not flush outputs to stable storage before publishing them (default false: the
    /// output file, or every file and directory of a restored tree, is fsynced before it
    /// appears under its name, and its directory after). Faster; after a power loss a
    /// published output may hold empty or partial files. Added after the first layout: a
    /// caller built without it gets the default.
    pub no_sync: bool,
}

/// `sizeof(a0b_options)` of the first layout (up to `user_data`): the smallest accepted.
const FIRST_LAYOUT_SIZE: usize = std::mem::offset_of!(a0b_options, no_sync);

impl Default for a0b_options {
    fn default() -> Self {
        a0b_options {
            struct_size: std::mem::size_of::<a0b_options>(),
            overwrite: false,
            format: A0B_FORMAT_AUTO,
            pbkdf2_iterations: 0,
            expect_gzip: false,
            gzip_level: 6,
            allow_symlinks: false,
            allow_hardlinks: false,
            max_total_bytes: 0,
            progress: None,
            user_data: std::ptr::null_mut(),
            no_sync: false,
        }
    }
}

/// An AES-256-CTR keystream with its position. Not safe for concurrent use from two threads;
/// may be moved between threads.
#[derive(Debug)]
pub struct a0b_cipher {
    inner: Cipher,
}

/// An incremental MD5. Not safe for concurrent use from two threads; may be moved between
/// threads.
#[derive(Debug)]
pub struct a0b_md5 {
    inner: Md5,
}

thread_local! {
    static LAST_ERROR: RefCell<Option<CString>> = const { RefCell::new(None) };
}

fn set_last_error(message: String) {
    let c = CString::new(message.replace('\0', "\\0")).expect("NULs were replaced");
    LAST_ERROR.with(|e| *e.borrow_mut() = Some(c));
}

/// The C result code of an error: one per [`ErrorKind`], the same classes that give the
/// command its exit codes ([`ErrorKind::exit_code`]).
fn code_of(e: &Error) -> a0b_result {
    match e.kind() {
        ErrorKind::Io => A0B_ERR_IO,
        ErrorKind::InvalidArgument => A0B_ERR_INVALID_ARGUMENT,
        ErrorKind::WrongPassword => A0B_ERR_WRONG_PASSWORD,
        ErrorKind::ChecksumMismatch => A0B_ERR_CHECKSUM_MISMATCH,
        ErrorKind::UnsafeArchive => A0B_ERR_UNSAFE_ARCHIVE,
        ErrorKind::Malformed => A0B_ERR_MALFORMED,
        ErrorKind::Cancelled => A0B_ERR_CANCELLED,
        ErrorKind::Unsupported => A0B_ERR_UNSUPPORTED,
        ErrorKind::AlreadyExists => A0B_ERR_ALREADY_EXISTS,
        ErrorKind::ChangedWhileReading => A0B_ERR_CHANGED_WHILE_READING,
    }
}

fn fail(e: Error) -> a0b_result {
    let code = code_of(&e);
    set_last_error(e.to_string());
    code
}

fn invalid(what: &str) -> Error {
    Error::InvalidArgument(what.to_string())
}

/// Runs `body` inside the panic boundary, turning its error into a code and a message.
fn boundary(body: impl FnOnce() -> Result<(), Error>) -> a0b_result {
    match catch_unwind(AssertUnwindSafe(body)) {
        Ok(Ok(())) => A0B_OK,
        Ok(Err(e)) => fail(e),
        Err(panic) => {
            let what = panic
                .downcast_ref::<&str>()
                .map(|s| s.to_string())
                .or_else(|| panic.downcast_ref::<String>().cloned())
                .unwrap_or_else(|| "unknown".into());
            set_last_error(format!("internal error (panic): {what}"));
            A0B_ERR_PANIC
        }
    }
}

/// # Safety
/// `ptr` is NULL or points to `len` readable bytes.
unsafe fn password_arg(ptr: *const u8, len: usize) -> Result<Password, Error> {
    if ptr.is_null() {
        return Err(invalid(
            "password is NULL (pass a non-NULL pointer with length 0 for an empty password)",
        ));
    }
    Ok(Password::new(
        unsafe { std::slice::from_raw_parts(ptr, len) }.to_vec(),
    ))
}

/// # Safety
/// `ptr` is NULL or a NUL-terminated string.
unsafe fn path_arg(ptr: *const c_char, name: &str) -> Result<PathBuf, Error> {
    if ptr.is_null() {
        return Err(invalid(&format!("{name} is NULL")));
    }
    let s = unsafe { CStr::from_ptr(ptr) }
        .to_str()
        .map_err(|_| invalid(&format!("{name} is not UTF-8")))?;
    if s.is_empty() {
        return Err(invalid(&format!("{name} is empty")));
    }
    Ok(PathBuf::from(s))
}

/// # Safety
/// `ptr` is NULL or a NUL-terminated string.
unsafe fn md5_arg(ptr: *const c_char) -> Result<Option<Md5Digest>, Error> {
    if ptr.is_null() {
        return Ok(None);
    }
    let s = unsafe { CStr::from_ptr(ptr) }
        .to_str()
        .map_err(|_| invalid("expected_md5 is not UTF-8"))?;
    s.trim().parse().map(Some)
}

/// # Safety
/// `ptr` is NULL or points to an `a0b_options` whose first field is its size.
unsafe fn options_arg(ptr: *const a0b_options) -> Result<a0b_options, Error> {
    if ptr.is_null() {
        return Ok(a0b_options::default());
    }
    let size = unsafe { std::ptr::read_unaligned(ptr as *const usize) };
    // Nothing smaller than the first layout is valid. A caller built against an earlier
    // layout passes its smaller size: the fields it lacks keep their defaults.
    if size < FIRST_LAYOUT_SIZE {
        return Err(invalid(
            "a0b_options.struct_size is too small: initialise options with a0b_options_init",
        ));
    }
    let mut o = a0b_options::default();
    let n = size.min(std::mem::size_of::<a0b_options>());
    // SAFETY: the caller's struct has `size` readable bytes (its struct_size); `o` has at least
    // `n`. Every field is plain data that any bytes from a C caller's struct of the same
    // layout are valid for (bools as 0 or 1, as C writes them).
    unsafe {
        std::ptr::copy_nonoverlapping(ptr as *const u8, &mut o as *mut a0b_options as *mut u8, n)
    };
    Ok(o)
}

fn format_of(o: &a0b_options) -> Result<Option<Format>, Error> {
    let iterations = if o.pbkdf2_iterations == 0 {
        DEFAULT_PBKDF2_ITERATIONS
    } else {
        o.pbkdf2_iterations
    };
    match o.format {
        A0B_FORMAT_AUTO => Ok(None),
        A0B_FORMAT_NODE => Ok(Some(Format::Node)),
        A0B_FORMAT_OPENSSL_MD5 => Ok(Some(Format::OpenSslMd5)),
        A0B_FORMAT_OPENSSL_PBKDF2 => Ok(Some(Format::OpenSslPbkdf2 { iterations })),
        other => Err(invalid(&format!("unknown format {other}"))),
    }
}

fn decrypt_options_of(o: &a0b_options) -> Result<DecryptOptions, Error> {
    Ok(match format_of(o)? {
        Some(f) => DecryptOptions::new().format(f),
        None => DecryptOptions::new(),
    })
}

/// # Safety
/// `ptr` is NULL or points to `len` readable bytes. A NULL is accepted only for `len == 0`.
unsafe fn bytes_arg<'a>(ptr: *const u8, len: usize, name: &str) -> Result<&'a [u8], Error> {
    match (ptr.is_null(), len) {
        (_, 0) => Ok(&[]),
        (true, _) => Err(invalid(&format!("{name} is NULL"))),
        (false, _) => Ok(unsafe { std::slice::from_raw_parts(ptr, len) }),
    }
}

/// # Safety
/// As [`bytes_arg`], for writable bytes.
unsafe fn bytes_arg_mut<'a>(ptr: *mut u8, len: usize, name: &str) -> Result<&'a mut [u8], Error> {
    match (ptr.is_null(), len) {
        (_, 0) => Ok(&mut []),
        (true, _) => Err(invalid(&format!("{name} is NULL"))),
        (false, _) => Ok(unsafe { std::slice::from_raw_parts_mut(ptr, len) }),
    }
}

fn progress_of<'a>(o: &a0b_options) -> Progress<'a> {
    match o.progress {
        None => Progress::none(),
        Some(cb) => {
            let user_data = o.user_data;
            Progress::new(move |done, total| {
                // SAFETY: the caller promised a valid callback; user_data is passed through.
                unsafe { cb(done, total.unwrap_or(0), user_data) == 0 }
            })
        }
    }
}

fn write_hex(out: *mut c_char, d: &Md5Digest) {
    let hex = CString::new(d.to_string()).expect("hex has no NUL");
    // SAFETY: callers checked `out` is non-NULL; the contract gives it 33 bytes.
    unsafe { std::ptr::copy_nonoverlapping(hex.as_ptr(), out, 33) };
}

/// The library version, as a static NUL-terminated string.
#[no_mangle]
pub extern "C" fn a0b_version() -> *const c_char {
    concat!(env!("CARGO_PKG_VERSION"), "\0").as_ptr() as *const c_char
}

/// Copies the message of the last failure on this thread into `buf` (NUL-terminated, cut to
/// fit `len`), and returns the length needed including the NUL. With no failure yet the
/// message is empty. `buf` may be NULL (with any `len`) to ask for the length only.
///
/// # Safety
/// `buf` is NULL or points to `len` writable bytes.
#[no_mangle]
pub unsafe extern "C" fn a0b_last_error_message(buf: *mut c_char, len: usize) -> usize {
    catch_unwind(|| {
        LAST_ERROR.with(|e| {
            let e = e.borrow();
            let bytes = e.as_ref().map(|c| c.as_bytes()).unwrap_or(b"");
            if !buf.is_null() && len > 0 {
                let n = bytes.len().min(len - 1);
                // SAFETY: buf has len bytes and n < len.
                unsafe {
                    std::ptr::copy_nonoverlapping(bytes.as_ptr() as *const c_char, buf, n);
                    *buf.add(n) = 0;
                }
            }
            bytes.len() + 1
        })
    })
    .unwrap_or(0)
}

/// Fills `options` with the defaults and sets its `struct_size`. In C, through the header,
/// this is a macro for `a0b_options_init_size(options, sizeof(struct a0b_options))`, so the
/// whole struct the caller was compiled with is filled. The function itself (called by name, as the Node and
/// Python bindings do, or by a program built against the first header) fills only the fields
/// of the first layout, up to `user_data`, which every caller's struct has.
///
/// # Safety
/// `options` is NULL or points to a writable `a0b_options` of at least the first layout.
#[no_mangle]
pub unsafe extern "C" fn a0b_options_init(options: *mut a0b_options) -> a0b_result {
    unsafe { a0b_options_init_size(options, FIRST_LAYOUT_SIZE) }
}

/// Fills the first `size` bytes of `options` (its `sizeof`, as the caller was compiled) with
/// the defaults, and sets `struct_size` to what was filled. Fields past what this library
/// knows are left alone.
///
/// # Safety
/// `options` is NULL or points to `size` writable bytes.
#[no_mangle]
pub unsafe extern "C" fn a0b_options_init_size(
    options: *mut a0b_options,
    size: usize,
) -> a0b_result {
    boundary(|| {
        if options.is_null() {
            return Err(invalid("options is NULL"));
        }
        if size < FIRST_LAYOUT_SIZE {
            return Err(invalid("size is smaller than any a0b_options"));
        }
        let n = size.min(std::mem::size_of::<a0b_options>());
        let defaults = a0b_options {
            struct_size: n,
            ..a0b_options::default()
        };
        // SAFETY: the caller gives `size` >= n writable bytes; `defaults` has n readable ones.
        unsafe {
            std::ptr::copy_nonoverlapping(
                &defaults as *const a0b_options as *const u8,
                options as *mut u8,
                n,
            )
        };
        Ok(())
    })
}

/// Derives the key and IV of Node's `createCipher` (EVP_BytesToKey, MD5, one round, no salt).
///
/// # Safety
/// `password` points to `password_len` bytes; `key_out` to 32 and `iv_out` to 16 writable bytes.
#[no_mangle]
pub unsafe extern "C" fn a0b_derive_key_iv(
    password: *const u8,
    password_len: usize,
    key_out: *mut u8,
    iv_out: *mut u8,
) -> a0b_result {
    boundary(|| {
        let pw = unsafe { password_arg(password, password_len) }?;
        if key_out.is_null() || iv_out.is_null() {
            return Err(invalid("key_out or iv_out is NULL"));
        }
        let k = Format::Node.derive(&pw, None)?;
        unsafe {
            std::ptr::copy_nonoverlapping(k.key().as_ptr(), key_out, 32);
            std::ptr::copy_nonoverlapping(k.iv().as_ptr(), iv_out, 16);
        }
        Ok(())
    })
}

fn new_cipher(k: &KeyIv, out: *mut *mut a0b_cipher) -> Result<(), Error> {
    let handle = Box::new(a0b_cipher {
        inner: Cipher::new(k),
    });
    // SAFETY: callers checked `out` is non-NULL.
    unsafe { *out = Box::into_raw(handle) };
    Ok(())
}

/// A cipher keyed from a password as Node's `createCipher` does, at offset 0.
///
/// # Safety
/// `password` points to `password_len` bytes; `out` to a writable pointer.
#[no_mangle]
pub unsafe extern "C" fn a0b_cipher_new(
    password: *const u8,
    password_len: usize,
    out: *mut *mut a0b_cipher,
) -> a0b_result {
    boundary(|| {
        let pw = unsafe { password_arg(password, password_len) }?;
        if out.is_null() {
            return Err(invalid("out is NULL"));
        }
        new_cipher(&Format::Node.derive(&pw, None)?, out)
    })
}

/// A cipher from a raw 32-byte key and 16-byte IV, at offset 0.
///
/// # Safety
/// `key` points to 32 bytes, `iv` to 16; `out` to a writable pointer.
#[no_mangle]
pub unsafe extern "C" fn a0b_cipher_new_key_iv(
    key: *const u8,
    iv: *const u8,
    out: *mut *mut a0b_cipher,
) -> a0b_result {
    boundary(|| {
        if key.is_null() || iv.is_null() || out.is_null() {
            return Err(invalid("key, iv or out is NULL"));
        }
        let mut k = [0u8; 32];
        let mut v = [0u8; 16];
        unsafe {
            std::ptr::copy_nonoverlapping(key, k.as_mut_ptr(), 32);
            std::ptr::copy_nonoverlapping(iv, v.as_mut_ptr(), 16);
        }
        new_cipher(&KeyIv::new(k, v), out)
    })
}

/// Encrypts or decrypts (the same operation) `len` bytes of `buf` in place, advancing the
/// position. `buf` may be NULL when `len` is 0.
///
/// # Safety
/// `cipher` is a live handle; `buf` points to `len` writable bytes.
#[no_mangle]
pub unsafe extern "C" fn a0b_cipher_apply(
    cipher: *mut a0b_cipher,
    buf: *mut u8,
    len: usize,
) -> a0b_result {
    boundary(|| {
        let c = unsafe { cipher.as_mut() }.ok_or_else(|| invalid("cipher is NULL"))?;
        c.inner.apply(unsafe { bytes_arg_mut(buf, len, "buf") }?);
        Ok(())
    })
}

/// Moves the keystream to `byte_offset`.
///
/// # Safety
/// `cipher` is a live handle or NULL.
#[no_mangle]
pub unsafe extern "C" fn a0b_cipher_seek(cipher: *mut a0b_cipher, byte_offset: u64) -> a0b_result {
    boundary(|| {
        let c = unsafe { cipher.as_mut() }.ok_or_else(|| invalid("cipher is NULL"))?;
        c.inner.seek(byte_offset);
        Ok(())
    })
}

/// Frees a cipher (its key schedule is zeroized). NULL is a no-op.
///
/// # Safety
/// `cipher` is NULL or a handle from `a0b_cipher_new*` not freed before.
#[no_mangle]
pub unsafe extern "C" fn a0b_cipher_free(cipher: *mut a0b_cipher) {
    if !cipher.is_null() {
        let _ = catch_unwind(AssertUnwindSafe(|| drop(unsafe { Box::from_raw(cipher) })));
    }
}

/// A new, empty MD5.
///
/// # Safety
/// `out` points to a writable pointer.
#[no_mangle]
pub unsafe extern "C" fn a0b_md5_new(out: *mut *mut a0b_md5) -> a0b_result {
    boundary(|| {
        if out.is_null() {
            return Err(invalid("out is NULL"));
        }
        unsafe { *out = Box::into_raw(Box::new(a0b_md5 { inner: Md5::new() })) };
        Ok(())
    })
}

/// Hashes `len` more bytes. `data` may be NULL when `len` is 0.
///
/// # Safety
/// `md5` is a live handle; `data` points to `len` bytes.
#[no_mangle]
pub unsafe extern "C" fn a0b_md5_update(
    md5: *mut a0b_md5,
    data: *const u8,
    len: usize,
) -> a0b_result {
    boundary(|| {
        let h = unsafe { md5.as_mut() }.ok_or_else(|| invalid("md5 is NULL"))?;
        h.inner.update(unsafe { bytes_arg(data, len, "data") }?);
        Ok(())
    })
}

/// Writes the digest as 32 lowercase hex digits and a NUL, and starts the hash over (the
/// handle stays valid).
///
/// # Safety
/// `md5` is a live handle; `hex_out` points to 33 writable bytes.
#[no_mangle]
pub unsafe extern "C" fn a0b_md5_finish(md5: *mut a0b_md5, hex_out: *mut c_char) -> a0b_result {
    boundary(|| {
        let h = unsafe { md5.as_mut() }.ok_or_else(|| invalid("md5 is NULL"))?;
        if hex_out.is_null() {
            return Err(invalid("hex_out is NULL"));
        }
        write_hex(hex_out, &h.inner.finish_reset());
        Ok(())
    })
}

/// Frees an MD5. NULL is a no-op.
///
/// # Safety
/// `md5` is NULL or a handle from `a0b_md5_new` not freed before.
#[no_mangle]
pub unsafe extern "C" fn a0b_md5_free(md5: *mut a0b_md5) {
    if !md5.is_null() {
        let _ = catch_unwind(AssertUnwindSafe(|| drop(unsafe { Box::from_raw(md5) })));
    }
}

/// The MD5 of a file, as 32 lowercase hex digits and a NUL.
///
/// # Safety
/// `path` is a NUL-terminated string; `hex_out` points to 33 writable bytes.
#[no_mangle]
pub unsafe extern "C" fn a0b_md5_file(path: *const c_char, hex_out: *mut c_char) -> a0b_result {
    boundary(|| {
        let p = unsafe { path_arg(path, "path") }?;
        if hex_out.is_null() {
            return Err(invalid("hex_out is NULL"));
        }
        let d = crate::checksum::md5_file(&p)?;
        write_hex(hex_out, &d);
        Ok(())
    })
}

/// Decrypts `input` into `output`, which appears only when complete and, with
/// `expected_md5` (32 hex digits, or NULL for no check), only when the input's MD5 matches.
///
/// # Safety
/// Strings are NUL-terminated; `password` points to `password_len` bytes; `options` is NULL
/// or initialised with `a0b_options_init`.
#[no_mangle]
pub unsafe extern "C" fn a0b_decrypt_file(
    input: *const c_char,
    output: *const c_char,
    password: *const u8,
    password_len: usize,
    expected_md5: *const c_char,
    options: *const a0b_options,
) -> a0b_result {
    boundary(|| {
        let input = unsafe { path_arg(input, "input") }?;
        let output = unsafe { path_arg(output, "output") }?;
        let pw = unsafe { password_arg(password, password_len) }?;
        let expected = unsafe { md5_arg(expected_md5) }?;
        let o = unsafe { options_arg(options) }?;
        let decrypt = decrypt_options_of(&o)?.expect_gzip(o.expect_gzip);
        let opts = FileOptions::new()
            .overwrite(o.overwrite)
            .expected_md5(expected)
            .decrypt_options(decrypt)
            .sync(!o.no_sync)
            .progress(progress_of(&o));
        files::decrypt_file(&input, &output, &pw, opts).map(|_| ())
    })
}

/// Encrypts `input` into `output` in `options->format` (default: the appliance's Node format).
///
/// # Safety
/// As `a0b_decrypt_file`.
#[no_mangle]
pub unsafe extern "C" fn a0b_encrypt_file(
    input: *const c_char,
    output: *const c_char,
    password: *const u8,
    password_len: usize,
    options: *const a0b_options,
) -> a0b_result {
    boundary(|| {
        let input = unsafe { path_arg(input, "input") }?;
        let output = unsafe { path_arg(output, "output") }?;
        let pw = unsafe { password_arg(password, password_len) }?;
        let o = unsafe { options_arg(options) }?;
        let format = format_of(&o)?.unwrap_or_default();
        let opts = FileOptions::new()
            .overwrite(o.overwrite)
            .sync(!o.no_sync)
            .progress(progress_of(&o));
        files::encrypt_file(&input, &output, &pw, format, opts).map(|_| ())
    })
}

/// Restores an encrypted backup (`.tar.gz.enc`) into the directory `dest_dir` in one pass,
/// with the unpack safety policy. `dest_dir` appears (or is replaced, with `overwrite`) only
/// when everything checked out.
///
/// # Safety
/// As `a0b_decrypt_file`.
#[no_mangle]
pub unsafe extern "C" fn a0b_restore(
    input: *const c_char,
    dest_dir: *const c_char,
    password: *const u8,
    password_len: usize,
    expected_md5: *const c_char,
    options: *const a0b_options,
) -> a0b_result {
    boundary(|| {
        let input = unsafe { path_arg(input, "input") }?;
        let dest = unsafe { path_arg(dest_dir, "dest_dir") }?;
        let pw = unsafe { password_arg(password, password_len) }?;
        let expected = unsafe { md5_arg(expected_md5) }?;
        let o = unsafe { options_arg(options) }?;
        let decrypt = decrypt_options_of(&o)?;
        let mut unpack = UnpackOptions::new()
            .allow_symlinks(o.allow_symlinks)
            .allow_hardlinks(o.allow_hardlinks);
        if o.max_total_bytes > 0 {
            unpack = unpack.max_total_bytes(o.max_total_bytes);
        }
        let opts = RestoreOptions::new()
            .expected_md5(expected)
            .replace(o.overwrite)
            .decrypt_options(decrypt)
            .unpack(unpack)
            .sync(!o.no_sync)
            .progress(progress_of(&o));
        restore_file(&input, &dest, Some(&pw), opts).map(|_| ())
    })
}

/// Packs the directory `src_dir` into `output` as a `.tar.gz` (entries under the directory's
/// own name, as `tar czf output.tar.gz dump` stores `dump/...`), encrypted when `password` is
/// not NULL, and writes the MD5 of the output (what `a0cli backup-status` would report) to
/// `md5_hex_out` (33 bytes; may be NULL if not wanted).
///
/// # Safety
/// As `a0b_decrypt_file`; `md5_hex_out` is NULL or points to 33 writable bytes.
#[no_mangle]
pub unsafe extern "C" fn a0b_pack(
    src_dir: *const c_char,
    output: *const c_char,
    password: *const u8,
    password_len: usize,
    md5_hex_out: *mut c_char,
    options: *const a0b_options,
) -> a0b_result {
    boundary(|| {
        let src = unsafe { path_arg(src_dir, "src_dir") }?;
        let output = unsafe { path_arg(output, "output") }?;
        let o = unsafe { options_arg(options) }?;
        if o.gzip_level > 9 {
            return Err(invalid("gzip_level must be 0-9"));
        }
        let mut pack = PackOptions::new().level(o.gzip_level);
        if !password.is_null() {
            let pw = unsafe { password_arg(password, password_len) }?;
            pack = pack.encrypt(pw, format_of(&o)?.unwrap_or_default());
        }
        let out = AtomicFile::create(&output, o.overwrite)?.sync(!o.no_sync);
        let mut progress = progress_of(&o);
        let summary =
            match crate::archive::pack_with_progress(&src, out.as_file(), &pack, &mut progress) {
                Ok(s) => s,
                Err(e) => return Err(out.discard_after(e)),
            };
        out.commit()?;
        if !md5_hex_out.is_null() {
            write_hex(md5_hex_out, &summary.md5);
        }
        Ok(())
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    /// One of every [`Error`] variant. The `match` has no wildcard arm, so a new variant does
    /// not compile until it is added here (and so to the table test below).
    fn every_variant() -> Vec<Error> {
        let all = vec![
            Error::Io(std::io::Error::other("x")),
            Error::Path {
                path: "p".into(),
                source: std::io::Error::other("x"),
            },
            Error::ChecksumMismatch {
                expected: Md5Digest([0; 16]),
                actual: Md5Digest([1; 16]),
            },
            Error::WrongPassword { detail: "d".into() },
            Error::malformed("tar archive", Some(0), "d"),
            Error::UnsupportedFormat("f".into()),
            Error::UnsafeEntry {
                path: "../x".into(),
                reason: "r".into(),
            },
            Error::LimitExceeded {
                what: "entries",
                limit: 1,
            },
            Error::AlreadyExists("o".into()),
            Error::InvalidArgument("a".into()),
            Error::Cancelled,
            Error::ChangedWhileReading { path: "f".into() },
            Error::Leftover {
                what: "the staging directory",
                path: "s".into(),
                source: std::io::Error::other("x"),
                after: None,
            },
        ];
        let mut seen = [false; 13];
        for e in &all {
            let i = match e {
                Error::Io(_) => 0,
                Error::Path { .. } => 1,
                Error::ChecksumMismatch { .. } => 2,
                Error::WrongPassword { .. } => 3,
                Error::Malformed { .. } => 4,
                Error::UnsupportedFormat(_) => 5,
                Error::UnsafeEntry { .. } => 6,
                Error::LimitExceeded { .. } => 7,
                Error::AlreadyExists(_) => 8,
                Error::InvalidArgument(_) => 9,
                Error::Cancelled => 10,
                Error::ChangedWhileReading { .. } => 11,
                Error::Leftover { .. } => 12,
            };
            seen[i] = true;
        }
        assert!(seen.iter().all(|&s| s), "every variant is listed once");
        all
    }

    /// The fixed table: the command's exit code for each C result code.
    const EXIT_CODE_OF: &[(a0b_result, u8)] = &[
        (A0B_ERR_IO, 1),
        (A0B_ERR_INVALID_ARGUMENT, 2),
        (A0B_ERR_WRONG_PASSWORD, 3),
        (A0B_ERR_CHECKSUM_MISMATCH, 4),
        (A0B_ERR_UNSAFE_ARCHIVE, 5),
        (A0B_ERR_MALFORMED, 1),
        (A0B_ERR_CANCELLED, 1),
        (A0B_ERR_UNSUPPORTED, 2),
        (A0B_ERR_ALREADY_EXISTS, 1),
        (A0B_ERR_CHANGED_WHILE_READING, 1),
    ];

    #[test]
    fn exit_codes_and_c_codes_agree_for_every_error() {
        for e in every_variant() {
            let c = code_of(&e);
            let row = EXIT_CODE_OF.iter().find(|(code, _)| *code == c);
            let Some(&(_, exit)) = row else {
                panic!("{e:?}: C code {c} is not in the table");
            };
            assert_eq!(e.exit_code(), exit, "{e:?}: C code {c}");
            // Through the boundary too: what a C caller gets back.
            assert_eq!(boundary(|| Err(e)), c);
        }
        // The specific exit codes each come from one C code only, so a script and a C
        // caller draw the same line between a wrong password, a bad md5 and a hostile archive.
        for exit in [3u8, 4, 5] {
            assert_eq!(EXIT_CODE_OF.iter().filter(|(_, x)| *x == exit).count(), 1);
        }
    }

    #[test]
    fn a_limit_is_an_unsafe_archive_in_both() {
        let e = Error::LimitExceeded {
            what: "entries",
            limit: 1,
        };
        assert_eq!(code_of(&e), A0B_ERR_UNSAFE_ARCHIVE);
        assert_eq!(e.exit_code(), 5);
    }

    #[test]
    fn init_fills_no_more_than_the_callers_struct() {
        // A caller of the first layout: its struct ends at `no_sync`'s offset.
        let mut buf = [0xAAu8; std::mem::size_of::<a0b_options>() + 8];
        let p = buf.as_mut_ptr() as *mut a0b_options;
        assert_eq!(unsafe { a0b_options_init(p) }, A0B_OK);
        assert!(buf[FIRST_LAYOUT_SIZE..].iter().all(|&b| b == 0xAA));
        let read = unsafe { std::ptr::read_unaligned(p) };
        assert_eq!(read.struct_size, FIRST_LAYOUT_SIZE);
        assert_eq!(read.gzip_level, 6);
        // Through the header's macro: the whole struct, and nothing past it.
        let mut buf = [0xAAu8; std::mem::size_of::<a0b_options>() + 8];
        let p = buf.as_mut_ptr() as *mut a0b_options;
        let size = std::mem::size_of::<a0b_options>();
        assert_eq!(unsafe { a0b_options_init_size(p, size) }, A0B_OK);
        assert!(buf[size..].iter().all(|&b| b == 0xAA));
        let read = unsafe { std::ptr::read_unaligned(p) };
        assert_eq!((read.struct_size, read.no_sync), (size, false));
        assert_eq!(
            unsafe { a0b_options_init_size(p, FIRST_LAYOUT_SIZE - 1) },
            A0B_ERR_INVALID_ARGUMENT
        );
    }

    #[test]
    fn options_of_the_first_layout_are_accepted_with_defaults_for_the_rest() {
        let mut o = a0b_options {
            overwrite: true,
            no_sync: true,
            ..a0b_options::default()
        };
        o.struct_size = FIRST_LAYOUT_SIZE;
        // SAFETY: `o` is a live a0b_options.
        let read = unsafe { options_arg(&o) }.unwrap();
        assert!(read.overwrite, "fields of the first layout are read");
        assert!(
            !read.no_sync,
            "a field the caller's layout lacks keeps its default"
        );
        o.struct_size = std::mem::size_of::<a0b_options>();
        assert!(unsafe { options_arg(&o) }.unwrap().no_sync);
        o.struct_size = FIRST_LAYOUT_SIZE - 1;
        assert!(matches!(
            unsafe { options_arg(&o) },
            Err(Error::InvalidArgument(_))
        ));
    }
}
