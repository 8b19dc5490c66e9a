//! `a0b_options`: the versioned options struct shared by the file and stream functions, and
//! what the library makes of it.

use std::ffi::c_void;

use super::boundary::invalid;
use super::*;
use crate::error::Error;
use crate::kdf::{Format, DEFAULT_PBKDF2_ITERATIONS};
use crate::progress::Progress;

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

/// Options of the file and stream functions. Initialise with `a0b_options_init`, then change
/// fields; `struct_size` lets later versions add fields without breaking callers built against
/// this one. A NULL `a0b_options *` means all defaults. Flags are `uint8_t`: 0 is off, any
/// other value on (a C `bool` stored in them keeps working).
#[repr(C)]
#[derive(Debug, Clone, Copy)]
pub struct a0b_options {
    /// `sizeof(a0b_options)` as the caller was compiled with; set by `a0b_options_init`.
    pub struct_size: usize,
    /// Flag: replace an existing output file or non-empty destination directory (`replace` in
    /// Rust, Node and Python; the command's `--force`). Named `overwrite` before 0.2, at the
    /// same place.
    pub replace: u8,
    /// One of the `A0B_FORMAT_*` values.
    pub format: u32,
    /// PBKDF2 iterations for `A0B_FORMAT_OPENSSL_PBKDF2` (0: openssl's default, 10000).
    pub pbkdf2_iterations: u32,
    /// Flag, for decrypting: require the plaintext to start with a gzip header, so a wrong
    /// password is reported before any output is written. A restore always requires it.
    pub expect_gzip: u8,
    /// gzip level for packing, 0-9 (default 5: smaller than `gzip -6` on mongodump data).
    pub gzip_level: u32,
    /// Flag, for restoring: extract symlinks that stay inside the destination.
    pub allow_symlinks: u8,
    /// Flag, for restoring: extract hardlinks to files extracted earlier.
    pub allow_hardlinks: u8,
    /// For restoring: most bytes of file data to extract (0: the default, 1 TiB).
    pub max_total_bytes: u64,
    /// Progress callback, or NULL.
    pub progress: a0b_progress_fn,
    /// Passed to `progress` unchanged.
    pub user_data: *mut c_void,
    /// Flag: do not flush outputs to stable storage before publishing them (default 0: the
    /// output file, or every file and directory of a restored tree, is fsynced before it
    /// appears under its name, and its directory after). Faster; after a power loss a
    /// published output may hold empty or partial files. Added after the first layout: a
    /// caller built without it gets the default.
    pub no_sync: u8,
}

/// `sizeof(a0b_options)` of the first layout (up to `user_data`): the smallest accepted.
pub(crate) const FIRST_LAYOUT_SIZE: usize = std::mem::offset_of!(a0b_options, no_sync);

// The layout callers were built against (the flags were C `bool`s, one byte each, before they
// became `uint8_t`): it must never move.
#[cfg(target_pointer_width = "64")]
const _: () = {
    use std::mem::{offset_of, size_of};
    assert!(offset_of!(a0b_options, replace) == 8);
    assert!(offset_of!(a0b_options, format) == 12);
    assert!(offset_of!(a0b_options, pbkdf2_iterations) == 16);
    assert!(offset_of!(a0b_options, expect_gzip) == 20);
    assert!(offset_of!(a0b_options, gzip_level) == 24);
    assert!(offset_of!(a0b_options, allow_symlinks) == 28);
    assert!(offset_of!(a0b_options, allow_hardlinks) == 29);
    assert!(offset_of!(a0b_options, max_total_bytes) == 32);
    assert!(offset_of!(a0b_options, progress) == 40);
    assert!(offset_of!(a0b_options, user_data) == 48);
    assert!(offset_of!(a0b_options, no_sync) == 56);
    assert!(size_of::<a0b_options>() == 64);
};

impl Default for a0b_options {
    fn default() -> Self {
        a0b_options {
            struct_size: std::mem::size_of::<a0b_options>(),
            replace: 0,
            format: A0B_FORMAT_AUTO,
            pbkdf2_iterations: 0,
            expect_gzip: 0,
            gzip_level: crate::archive::DEFAULT_LEVEL,
            allow_symlinks: 0,
            allow_hardlinks: 0,
            max_total_bytes: 0,
            progress: None,
            user_data: std::ptr::null_mut(),
            no_sync: 0,
        }
    }
}

/// The options as the library reads them: flags as `bool`s, enums checked.
pub(crate) struct Options {
    pub(crate) replace: bool,
    pub(crate) expect_gzip: bool,
    pub(crate) allow_symlinks: bool,
    pub(crate) allow_hardlinks: bool,
    pub(crate) sync: bool,
    pub(crate) max_total_bytes: u64,
    /// `None` for `A0B_FORMAT_AUTO`.
    pub(crate) format: Option<Format>,
    gzip_level: u32,
    progress: a0b_progress_fn,
    user_data: *mut c_void,
}

impl Options {
    /// The format to encrypt in (default: Node, the appliance's).
    pub(crate) fn encrypt_format(&self) -> Format {
        self.format.unwrap_or_default()
    }

    /// The gzip level for packing, checked (only packing reads it).
    pub(crate) fn gzip_level(&self) -> Result<u32, Error> {
        match self.gzip_level {
            0..=9 => Ok(self.gzip_level),
            _ => Err(invalid("gzip_level must be 0-9")),
        }
    }

    /// The progress callback as a [`Progress`] (none if NULL).
    pub(crate) fn progress<'a>(&self) -> Progress<'a> {
        match self.progress {
            None => Progress::none(),
            Some(cb) => {
                let user_data = self.user_data;
                Progress::new(move |done, total| {
                    // SAFETY: the caller gave a valid callback; user_data is passed through.
                    unsafe { cb(done, total.unwrap_or(0), user_data) == 0 }
                })
            }
        }
    }
}

fn options_of(o: &a0b_options) -> Result<Options, Error> {
    let iterations = match o.pbkdf2_iterations {
        0 => DEFAULT_PBKDF2_ITERATIONS,
        n => n,
    };
    let format = match o.format {
        A0B_FORMAT_AUTO => None,
        A0B_FORMAT_NODE => Some(Format::Node),
        A0B_FORMAT_OPENSSL_MD5 => Some(Format::OpenSslMd5),
        A0B_FORMAT_OPENSSL_PBKDF2 => Some(Format::OpenSslPbkdf2 { iterations }),
        other => return Err(invalid(&format!("unknown format {other}"))),
    };
    Ok(Options {
        replace: o.replace != 0,
        expect_gzip: o.expect_gzip != 0,
        allow_symlinks: o.allow_symlinks != 0,
        allow_hardlinks: o.allow_hardlinks != 0,
        sync: o.no_sync == 0,
        max_total_bytes: o.max_total_bytes,
        format,
        gzip_level: o.gzip_level,
        progress: o.progress,
        user_data: o.user_data,
    })
}

/// Reads the caller's options: NULL is the defaults; a struct of an earlier (smaller) layout
/// gets the defaults for the fields it lacks.
///
/// # Safety
/// `ptr` is NULL or points to an `a0b_options` whose first field is its size.
pub(crate) unsafe fn options_arg(ptr: *const a0b_options) -> Result<Options, Error> {
    if ptr.is_null() {
        return options_of(&a0b_options::default());
    }
    // SAFETY: the caller's promise: the struct starts with its size.
    let size = unsafe { std::ptr::read_unaligned(ptr as *const usize) };
    if size < FIRST_LAYOUT_SIZE {
        return Err(invalid(
            "a0b_options.struct_size is too small: initialise options with a0b_options_init",
        ));
    }
    let mut o = a0b_options::default();
    let n = size.min(std::mem::size_of::<a0b_options>());
    // SAFETY: the caller's struct has `size` readable bytes (its struct_size); `o` has at least
    // `n`. Every field is an integer, a raw pointer or an optional function pointer, for which
    // any bytes a C caller stores are valid values (the flags are u8, not bool, for this).
    unsafe {
        std::ptr::copy_nonoverlapping(ptr as *const u8, &mut o as *mut a0b_options as *mut u8, n)
    };
    options_of(&o)
}

/// Fills `options` with the defaults and sets its `struct_size`. In C, through the header,
/// this is a macro for `a0b_options_init_size(options, sizeof(struct a0b_options))`, so the
/// whole struct the caller was compiled with is filled. The function itself (called by name,
/// as the Node and Python bindings do, or by a program built against the first header) fills
/// only the fields of the first layout, up to `user_data`, which every caller's struct has.
///
/// # Safety
/// `options` is NULL or points to a writable `a0b_options` of at least the first layout.
#[no_mangle]
pub unsafe extern "C" fn a0b_options_init(options: *mut a0b_options) -> a0b_result {
    ffi_boundary! {
        // SAFETY: the caller's promise, passed on.
        unsafe { init_size(options, FIRST_LAYOUT_SIZE) }
    }
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
    ffi_boundary! {
        // SAFETY: the caller's promise, passed on.
        unsafe { init_size(options, size) }
    }
}

/// Both init functions: the defaults over the first `size` bytes.
///
/// # Safety
/// `options` is NULL or points to `size` writable bytes.
unsafe fn init_size(options: *mut a0b_options, size: usize) -> Result<(), Error> {
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
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn init_fills_no_more_than_the_callers_struct() {
        // A caller of the first layout: its struct ends at `no_sync`'s offset.
        let mut buf = [0xAAu8; std::mem::size_of::<a0b_options>() + 8];
        let p = buf.as_mut_ptr() as *mut a0b_options;
        assert_eq!(unsafe { a0b_options_init(p) }, A0B_OK);
        assert!(buf[FIRST_LAYOUT_SIZE..].iter().all(|&b| b == 0xAA));
        let read = unsafe { std::ptr::read_unaligned(p) };
        assert_eq!(read.struct_size, FIRST_LAYOUT_SIZE);
        assert_eq!(read.gzip_level, 5);
        // Through the header's macro: the whole struct, and nothing past it.
        let mut buf = [0xAAu8; std::mem::size_of::<a0b_options>() + 8];
        let p = buf.as_mut_ptr() as *mut a0b_options;
        let size = std::mem::size_of::<a0b_options>();
        assert_eq!(unsafe { a0b_options_init_size(p, size) }, A0B_OK);
        assert!(buf[size..].iter().all(|&b| b == 0xAA));
        let read = unsafe { std::ptr::read_unaligned(p) };
        assert_eq!((read.struct_size, read.no_sync), (size, 0));
        assert_eq!(
            unsafe { a0b_options_init_size(p, FIRST_LAYOUT_SIZE - 1) },
            A0B_ERR_INVALID_ARGUMENT
        );
    }

    #[test]
    fn options_of_the_first_layout_are_accepted_with_defaults_for_the_rest() {
        let mut o = a0b_options {
            replace: 1,
            no_sync: 1,
            ..a0b_options::default()
        };
        o.struct_size = FIRST_LAYOUT_SIZE;
        // SAFETY: `o` is a live a0b_options.
        let read = unsafe { options_arg(&o) }.unwrap();
        assert!(read.replace, "fields of the first layout are read");
        assert!(
            read.sync,
            "a field the caller's layout lacks keeps its default"
        );
        o.struct_size = std::mem::size_of::<a0b_options>();
        assert!(!unsafe { options_arg(&o) }.unwrap().sync);
        o.struct_size = FIRST_LAYOUT_SIZE - 1;
        assert!(matches!(
            unsafe { options_arg(&o) },
            Err(Error::InvalidArgument(_))
        ));
    }

    #[test]
    fn any_non_zero_byte_is_a_set_flag() {
        // What a C caller may store in a flag: 2 or 0xFF were undefined behaviour as a Rust
        // bool; as a uint8_t they are plain "on".
        for on in [1u8, 2, 0x7F, 0xFF] {
            let o = a0b_options {
                replace: on,
                expect_gzip: on,
                allow_symlinks: on,
                allow_hardlinks: on,
                no_sync: on,
                ..a0b_options::default()
            };
            let read = unsafe { options_arg(&o) }.unwrap();
            assert!(read.replace && read.expect_gzip && read.allow_symlinks);
            assert!(read.allow_hardlinks && !read.sync);
        }
        let read = unsafe { options_arg(&a0b_options::default()) }.unwrap();
        assert!(!read.replace && !read.expect_gzip && read.sync);
    }

    #[test]
    fn bad_enums_are_invalid_arguments() {
        let o = a0b_options {
            format: 99,
            ..a0b_options::default()
        };
        assert!(matches!(
            unsafe { options_arg(&o) },
            Err(Error::InvalidArgument(_))
        ));
        let o = a0b_options {
            gzip_level: 10,
            ..a0b_options::default()
        };
        let read = unsafe { options_arg(&o) }.unwrap();
        assert!(matches!(read.gzip_level(), Err(Error::InvalidArgument(_))));
    }
}
