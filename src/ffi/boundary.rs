//! The one boundary every export goes through, after rustls-ffi's `ffi_panic_boundary!` and
//! `try_ref_from_ptr!`: `ffi_boundary!` runs an export's body, catches a panic, turns an
//! [`Error`] into its `A0B_ERR_*` code and sets the per-thread last error; the argument
//! helpers below check every pointer before it is used, and [`Out`] / [`HexOut`] write
//! out-parameters only as the last step of a body that succeeded.

use std::cell::RefCell;
use std::ffi::{c_char, CStr, CString};
use std::panic::{catch_unwind, AssertUnwindSafe};
use std::path::PathBuf;
use std::ptr::NonNull;

use super::*;
use crate::checksum::Md5Digest;
use crate::error::{Error, ErrorKind};
use crate::kdf::Password;

thread_local! {
    static LAST_ERROR: RefCell<Option<CString>> = const { RefCell::new(None) };
}

fn set_last_error(message: String) {
    let c = CString::new(message.replace('\0', "\\0")).expect("NULs were replaced");
    LAST_ERROR.with(|e| *e.borrow_mut() = Some(c));
}

/// The C result code of an error: one per [`ErrorKind`], the same classes that give the
/// command its exit codes ([`ErrorKind::exit_code`]).
pub(crate) fn code_of(e: &Error) -> a0b_result {
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

/// What an export returns: the value of a body that succeeded, or what stands for a failure
/// (its code, for `a0b_result`; nothing, 0 or NULL for the few exports that cannot fail in C's
/// eyes).
pub(crate) trait Returned {
    /// What a successful body gives back.
    type Value;
    /// The return value for a success.
    fn ok(value: Self::Value) -> Self;
    /// The return value for a failure with `code`.
    fn failed(code: a0b_result) -> Self;
}

impl Returned for a0b_result {
    type Value = ();
    fn ok((): ()) -> Self {
        A0B_OK
    }
    fn failed(code: a0b_result) -> Self {
        code
    }
}

impl Returned for () {
    type Value = ();
    fn ok((): ()) {}
    fn failed(_: a0b_result) {}
}

impl Returned for usize {
    type Value = usize;
    fn ok(value: usize) -> Self {
        value
    }
    fn failed(_: a0b_result) -> Self {
        0
    }
}

impl Returned for *const c_char {
    type Value = *const c_char;
    fn ok(value: *const c_char) -> Self {
        value
    }
    fn failed(_: a0b_result) -> Self {
        std::ptr::null()
    }
}

/// Runs an export's body: a panic is caught and becomes `A0B_ERR_PANIC`, an [`Error`] its
/// code; either sets the last error of this thread. Use it through `ffi_boundary!`.
pub(crate) fn run<R: Returned>(body: impl FnOnce() -> Result<R::Value, Error>) -> R {
    match catch_unwind(AssertUnwindSafe(body)) {
        Ok(Ok(value)) => R::ok(value),
        Ok(Err(e)) => {
            let code = code_of(&e);
            set_last_error(e.to_string());
            R::failed(code)
        }
        Err(panic) => {
            let what = panic
                .downcast_ref::<&str>()
                .map(|s| s.to_string())
                .or_else(|| panic.downcast_ref::<String>().cloned())
                .unwrap_or_else(|| "unknown".into());
            set_last_error(format!("internal error (panic): {what}"));
            R::failed(A0B_ERR_PANIC)
        }
    }
}

/// The body of every `a0b_*` export: statements ending in a `Result<_, Error>`, run by
/// [`run`], so that no export can forget the panic boundary or the last error.
macro_rules! ffi_boundary {
    ($($body:tt)*) => {
        $crate::ffi::boundary::run(|| { $($body)* })
    };
}

/// The message of the last failure on this thread, as [`a0b_last_error_message`] copies it.
#[cfg(test)]
pub(crate) fn last_error() -> String {
    LAST_ERROR.with(|e| {
        e.borrow()
            .as_ref()
            .map(|c| c.to_string_lossy().into_owned())
            .unwrap_or_default()
    })
}

/// Copies the message of the last failure on this thread into `buf` (NUL-terminated, cut to
/// fit `len`), and returns the length needed including the NUL. With no failure yet the
/// message is empty. `buf` may be NULL (with any `len`) to ask for the length only.
///
/// # Safety
/// `buf` is NULL or points to `len` writable bytes.
#[no_mangle]
pub unsafe extern "C" fn a0b_last_error_message(buf: *mut c_char, len: usize) -> usize {
    ffi_boundary! {
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
            Ok(bytes.len() + 1)
        })
    }
}

// --- Arguments -------------------------------------------------------------------------------

pub(crate) fn invalid(what: &str) -> Error {
    Error::InvalidArgument(what.to_string())
}

/// A live handle behind `ptr`, or `A0B_ERR_INVALID_ARGUMENT` for NULL.
///
/// # Safety
/// `ptr` is NULL or a handle made by this library, not freed, used by no other thread.
pub(crate) unsafe fn handle_mut<'a, T>(ptr: *mut T, name: &str) -> Result<&'a mut T, Error> {
    // SAFETY: the caller's promise.
    unsafe { ptr.as_mut() }.ok_or_else(|| invalid(&format!("{name} is NULL")))
}

/// Hands a new handle to C.
pub(crate) fn into_handle<T>(value: T) -> *mut T {
    Box::into_raw(Box::new(value))
}

/// Takes back and drops a handle from [`into_handle`]; NULL is nothing to do.
///
/// # Safety
/// `ptr` is NULL or from [`into_handle`] and not freed before.
pub(crate) unsafe fn free_handle<T>(ptr: *mut T) {
    if !ptr.is_null() {
        // SAFETY: the caller's promise.
        drop(unsafe { Box::from_raw(ptr) });
    }
}

/// An out-parameter, checked for NULL up front and written only by [`Out::set`], the last
/// step of a body that succeeded.
pub(crate) struct Out<T>(NonNull<T>);

impl<T> Out<T> {
    /// # Safety
    /// `ptr` is NULL or valid for writing a `T`.
    pub(crate) unsafe fn new(ptr: *mut T, name: &str) -> Result<Out<T>, Error> {
        NonNull::new(ptr)
            .map(Out)
            .ok_or_else(|| invalid(&format!("{name} is NULL")))
    }

    pub(crate) fn set(self, value: T) {
        // SAFETY: checked non-NULL and valid for writes in `new`; unaligned writes are fine.
        unsafe { self.0.as_ptr().write_unaligned(value) }
    }

    /// Copies `value` in place, without a copy of it on the stack (for key material).
    pub(crate) fn copy_from(self, value: &T)
    where
        T: Copy,
    {
        // SAFETY: as `set`; `value` is a distinct, readable `T`.
        unsafe {
            std::ptr::copy_nonoverlapping(
                value as *const T as *const u8,
                self.0.as_ptr() as *mut u8,
                std::mem::size_of::<T>(),
            )
        }
    }
}

/// A 33-byte buffer for an MD5 as 32 lowercase hex digits and a NUL; optional where a
/// function says it may be NULL.
pub(crate) struct HexOut(Option<NonNull<c_char>>);

impl HexOut {
    /// A required buffer.
    ///
    /// # Safety
    /// `ptr` is NULL or points to 33 writable bytes.
    pub(crate) unsafe fn required(ptr: *mut c_char, name: &str) -> Result<HexOut, Error> {
        match NonNull::new(ptr) {
            Some(p) => Ok(HexOut(Some(p))),
            None => Err(invalid(&format!("{name} is NULL"))),
        }
    }

    /// A buffer that may be NULL (not wanted).
    ///
    /// # Safety
    /// `ptr` is NULL or points to 33 writable bytes.
    pub(crate) unsafe fn optional(ptr: *mut c_char) -> HexOut {
        HexOut(NonNull::new(ptr))
    }

    pub(crate) fn set(self, digest: &Md5Digest) {
        if let Some(p) = self.0 {
            let hex = CString::new(digest.to_string()).expect("hex has no NUL");
            // SAFETY: the constructors' contract gives 33 writable bytes; the hex is 32 + NUL.
            unsafe { std::ptr::copy_nonoverlapping(hex.as_ptr(), p.as_ptr(), 33) };
        }
    }
}

/// A required password.
///
/// # Safety
/// `ptr` is NULL or points to `len` readable bytes.
pub(crate) unsafe fn password_arg(ptr: *const u8, len: usize) -> Result<Password, Error> {
    if ptr.is_null() {
        return Err(invalid(
            "password is NULL (pass a non-NULL pointer with length 0 for an empty password)",
        ));
    }
    // SAFETY: the caller's promise.
    Ok(Password::new(
        unsafe { std::slice::from_raw_parts(ptr, len) }.to_vec(),
    ))
}

/// A password that may be NULL ("do not encrypt").
///
/// # Safety
/// As [`password_arg`].
pub(crate) unsafe fn optional_password_arg(
    ptr: *const u8,
    len: usize,
) -> Result<Option<Password>, Error> {
    match ptr.is_null() {
        true => Ok(None),
        // SAFETY: the caller's promise.
        false => unsafe { password_arg(ptr, len) }.map(Some),
    }
}

/// A required, non-empty UTF-8 path.
///
/// # Safety
/// `ptr` is NULL or a NUL-terminated string.
pub(crate) unsafe fn path_arg(ptr: *const c_char, name: &str) -> Result<PathBuf, Error> {
    // SAFETY: the caller's promise.
    let Some(s) = (unsafe { text_arg(ptr, name) })? else {
        return Err(invalid(&format!("{name} is NULL")));
    };
    if s.is_empty() {
        return Err(invalid(&format!("{name} is empty")));
    }
    Ok(PathBuf::from(s))
}

/// An expected MD5 as hex, or NULL for none.
///
/// # Safety
/// `ptr` is NULL or a NUL-terminated string.
pub(crate) unsafe fn md5_arg(ptr: *const c_char) -> Result<Option<Md5Digest>, Error> {
    // SAFETY: the caller's promise.
    match unsafe { text_arg(ptr, "expected_md5") }? {
        Some(s) => s.trim().parse().map(Some),
        None => Ok(None),
    }
}

/// UTF-8 text, or NULL for none.
///
/// # Safety
/// `ptr` is NULL or a NUL-terminated string that outlives `'a`.
pub(crate) unsafe fn text_arg<'a>(
    ptr: *const c_char,
    name: &str,
) -> Result<Option<&'a str>, Error> {
    if ptr.is_null() {
        return Ok(None);
    }
    // SAFETY: the caller's promise.
    let text = unsafe { CStr::from_ptr(ptr) }
        .to_str()
        .map_err(|_| invalid(&format!("{name} is not UTF-8")))?;
    Ok(Some(text))
}

/// Exactly `N` bytes.
///
/// # Safety
/// `ptr` is NULL or points to `N` readable bytes.
pub(crate) unsafe fn array_arg<const N: usize>(
    ptr: *const u8,
    name: &str,
) -> Result<[u8; N], Error> {
    if ptr.is_null() {
        return Err(invalid(&format!("{name} is NULL")));
    }
    let mut a = [0u8; N];
    // SAFETY: the caller's promise.
    unsafe { std::ptr::copy_nonoverlapping(ptr, a.as_mut_ptr(), N) };
    Ok(a)
}

/// `len` bytes; NULL is accepted only for `len == 0`.
///
/// # Safety
/// `ptr` is NULL or points to `len` readable bytes that outlive `'a`.
pub(crate) unsafe fn bytes_arg<'a>(
    ptr: *const u8,
    len: usize,
    name: &str,
) -> Result<&'a [u8], Error> {
    match (ptr.is_null(), len) {
        (_, 0) => Ok(&[]),
        (true, _) => Err(invalid(&format!("{name} is NULL"))),
        // SAFETY: the caller's promise.
        (false, _) => Ok(unsafe { std::slice::from_raw_parts(ptr, len) }),
    }
}

/// As [`bytes_arg`], for writable bytes.
///
/// # Safety
/// `ptr` is NULL or points to `len` writable bytes that outlive `'a`, aliased by nothing else.
pub(crate) unsafe fn bytes_arg_mut<'a>(
    ptr: *mut u8,
    len: usize,
    name: &str,
) -> Result<&'a mut [u8], Error> {
    match (ptr.is_null(), len) {
        (_, 0) => Ok(&mut []),
        (true, _) => Err(invalid(&format!("{name} is NULL"))),
        // SAFETY: the caller's promise.
        (false, _) => Ok(unsafe { std::slice::from_raw_parts_mut(ptr, len) }),
    }
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
            Error::malformed(crate::error::Input::Tar, Some(0), "d"),
            Error::Truncated {
                input: crate::error::Input::Gzip,
            },
            Error::UnsupportedFormat("f".into()),
            Error::FormatNeeded,
            Error::UnsafeEntry {
                path: "../x".into(),
                reason: "r".into(),
                opt_in: None,
            },
            Error::LimitExceeded {
                limit: crate::error::Limit::EntryCount,
                max: 1,
            },
            Error::AlreadyExists("o".into()),
            Error::DestinationAppeared("d".into()),
            Error::InvalidArgument("a".into()),
            Error::NotInArchive {
                patterns: vec![],
                collections: vec!["a.b".into()],
                archive_collections: vec![],
            },
            Error::Cancelled,
            Error::ChangedWhileReading { path: "f".into() },
            Error::Leftover {
                what: crate::error::Leftover::StagingDirectory,
                path: "s".into(),
                source: std::io::Error::other("x"),
                after: None,
            },
            Error::DamagedDocument {
                namespace: "d.c".into(),
                document: 0,
                offset: 0,
                at: 0,
                reason: "r".into(),
            },
            Error::NoSuchCollection {
                namespace: "d.c".into(),
                archive_collections: vec![],
            },
        ];
        let mut seen = [false; 19];
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
                Error::DestinationAppeared(_) => 13,
                Error::Truncated { .. } => 14,
                Error::FormatNeeded => 15,
                Error::DamagedDocument { .. } => 16,
                Error::NoSuchCollection { .. } => 17,
                Error::NotInArchive { .. } => 18,
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
            assert_eq!(run::<a0b_result>(|| Err(e)), c);
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
            limit: crate::error::Limit::EntryCount,
            max: 1,
        };
        assert_eq!(code_of(&e), A0B_ERR_UNSAFE_ARCHIVE);
        assert_eq!(e.exit_code(), 5);
    }

    #[test]
    fn a_panic_becomes_a0b_err_panic_with_its_message() {
        let r: a0b_result = run(|| panic!("boom"));
        assert_eq!(r, A0B_ERR_PANIC);
        assert_eq!(last_error(), "internal error (panic): boom");
        // The other return types give their failure value.
        let n: usize = run(|| panic!("again"));
        assert_eq!(n, 0);
        let p: *const c_char = run(|| Err(invalid("x")));
        assert!(p.is_null());
        assert_eq!(last_error(), "invalid argument: x");
    }

    /// Every `a0b_*` export of every file of `src/ffi/` (read from the directory, so a new
    /// file cannot be missed) starts its body with the boundary, and the exports are exactly
    /// the functions the header declares.
    #[test]
    fn every_export_runs_inside_the_boundary() {
        let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("src/ffi");
        let mut exports = std::collections::BTreeSet::new();
        for entry in std::fs::read_dir(&dir).unwrap() {
            let path = entry.unwrap().path();
            let file = std::fs::read_to_string(&path).unwrap();
            let lines: Vec<&str> = file.lines().collect();
            for (i, line) in lines.iter().enumerate() {
                let Some(at) = line.find(concat!("extern \"C\" fn ", "a0b_")) else {
                    continue;
                };
                if !line.starts_with("pub") {
                    continue;
                }
                let name = &line[at + "extern \"C\" fn ".len()..];
                let name = &name[..name.find('(').unwrap_or(name.len())];
                exports.insert(name.to_string());
                let body = lines[i..].iter().position(|l| l.ends_with('{')).unwrap() + i + 1;
                assert!(
                    lines[body].trim_start().starts_with("ffi_boundary! {"),
                    "{}: {line}: its body does not start with ffi_boundary!",
                    path.display()
                );
            }
        }
        let header = std::fs::read_to_string(dir.join("../../include/a0backup.h")).unwrap();
        let declared: std::collections::BTreeSet<String> = header
            .lines()
            .filter(|l| !l.starts_with([' ', '/', '#', '}']) && !l.starts_with("typedef"))
            .filter_map(|l| {
                let open = l.find('(')?;
                let at = l[..open].rfind([' ', '*'])? + 1;
                l[at..open]
                    .starts_with("a0b_")
                    .then(|| l[at..open].to_string())
            })
            .collect();
        assert!(!exports.is_empty());
        assert_eq!(
            exports, declared,
            "exports and the header's functions differ"
        );
    }

    #[test]
    fn out_parameters_are_written_only_by_set() {
        let mut slot = 7u32;
        let r: a0b_result = run(|| {
            let out = unsafe { Out::new(&mut slot, "out") }?;
            Err::<(), _>(invalid("later failure")).map(|()| out.set(1))
        });
        assert_eq!((r, slot), (A0B_ERR_INVALID_ARGUMENT, 7));
        let r: a0b_result =
            run(|| unsafe { Out::new(std::ptr::null_mut::<u32>(), "out") }.map(|_| ()));
        assert_eq!(r, A0B_ERR_INVALID_ARGUMENT);
        assert_eq!(last_error(), "invalid argument: out is NULL");
    }
}
