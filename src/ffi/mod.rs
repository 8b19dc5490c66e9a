//! a0backup's C API. include/a0backup.h is generated from src/ffi/ by cbindgen, with this
//! text at its top: it is the one statement of the C contract.
//!
//! Built only with the Cargo feature `capi`. The C libraries (liba0backup.so with a versioned
//! soname, liba0backup.so.0.Y for the 0.Y releases, which may each break the ABI;
//! liba0backup.a; a0backup.pc) come from `make capi` / `make install`, or from cargo-c's
//! `cargo cbuild` / `cargo cinstall`.
//!
//! # Contract
//!
//! - Names: functions and types are `a0b_`-prefixed, constants `A0B_`-prefixed.
//! - Results: every function that can fail returns an `a0b_result`, `A0B_OK` (0) or an
//!   `A0B_ERR_*` code. Each error has one code and one exit code of the a0backup command:
//!   `A0B_ERR_IO`, `_MALFORMED`, `_CANCELLED`, `_ALREADY_EXISTS`, `_CHANGED_WHILE_READING`
//!   exit 1; `_INVALID_ARGUMENT`, `_UNSUPPORTED` exit 2; `_WRONG_PASSWORD` exit 3;
//!   `_CHECKSUM_MISMATCH` exit 4; `_UNSAFE_ARCHIVE` (a refused entry or an exceeded limit)
//!   exit 5. `A0B_ERR_PANIC` is a bug in the library, caught before it reaches the caller: no
//!   panic crosses the boundary.
//! - Messages: `a0b_last_error_message` copies the message of the last failure on the calling
//!   thread. A later success does not clear it.
//! - Out-parameters are written only on success; after a failure they hold what they held.
//! - Pointers: a NULL where a pointer is required is `A0B_ERR_INVALID_ARGUMENT`, never a
//!   crash; a buffer may be NULL when its length is 0. Passwords are
//!   `(const uint8_t *, size_t)` and required (an empty password is a non-NULL pointer with
//!   length 0), except in `a0b_pack` and `a0b_pack_stream`, where NULL means "do not
//!   encrypt". Paths and MD5 hex strings are NUL-terminated UTF-8.
//! - Handles (`a0b_cipher`, `a0b_md5`) come in `_new` / `_free` pairs; `_free(NULL)` does
//!   nothing. A handle must not be used from two threads at once, but may move between
//!   threads. Functions without a handle may run on any number of threads at once.
//! - Options: a `struct a0b_options` is filled by `a0b_options_init` (a macro that passes the
//!   struct's size) before fields are changed; its `struct_size` lets later versions add
//!   fields without breaking callers built against an earlier header. A NULL
//!   `const a0b_options *` means all defaults. Flags are `uint8_t`: 0 is off, anything else on.
//! - Callbacks (progress, read, write) run on the thread that made the call, during the call,
//!   never after it returns. They must not unwind into the library (no C++ exception, no
//!   longjmp out of them). A non-zero return from the progress callback cancels the call
//!   (`A0B_ERR_CANCELLED`).
//! - Streams: an `a0b_read_cb` stores up to `len` bytes in `buf`, sets `*out_n` to how many it
//!   stored (0 at the end of the input, and again if called after that) and returns 0. An
//!   `a0b_write_cb` takes 1 to `len` bytes of `buf`, sets `*out_n` to how many it took and
//!   returns 0; it is called again for the rest. Any other return value fails the call with
//!   `A0B_ERR_IO`, whose message names the callback and the value, and that callback is not
//!   called again during the call. `buf` and `out_n` are valid only until the callback
//!   returns; `userdata` is passed through unchanged.
//! - Outputs: the file functions publish a file or directory only when it is complete and
//!   checked; on any failure (a cancel included) nothing partial is left and an existing
//!   output is untouched. A stream function writes its output as it goes, so on failure the
//!   writer may have received part of it, and an MD5 mismatch is found only at the end.

#![allow(non_camel_case_types)]
#![allow(unsafe_code)]

// In the order of the header: the boundary (and the last error), the in-memory handles, the
// options, the callbacks, then the functions over files and over callbacks.
#[macro_use]
mod boundary;
mod check;
mod dump;
mod files;
mod handles;
mod io;
mod options;
mod streams;

pub use boundary::a0b_last_error_message;
pub use check::{a0b_check, a0b_check_each, a0b_json_cb, a0b_string_free};
pub use dump::{a0b_diff, a0b_dump, A0B_JSON_CANONICAL, A0B_JSON_RELAXED};
pub use files::{a0b_decrypt_file, a0b_encrypt_file, a0b_md5_file, a0b_pack, a0b_restore};
pub use handles::{
    a0b_cipher, a0b_cipher_apply, a0b_cipher_free, a0b_cipher_new, a0b_cipher_new_key_iv,
    a0b_cipher_seek, a0b_derive_key_iv, a0b_md5, a0b_md5_finish, a0b_md5_free, a0b_md5_new,
    a0b_md5_update, a0b_version,
};
pub use io::{a0b_read_cb, a0b_write_cb};
pub use options::{
    a0b_options, a0b_options_init, a0b_options_init_size, a0b_progress_fn, A0B_FORMAT_AUTO,
    A0B_FORMAT_NODE, A0B_FORMAT_OPENSSL_MD5, A0B_FORMAT_OPENSSL_PBKDF2,
};
pub use streams::{
    a0b_decrypt_stream, a0b_encrypt_stream, a0b_md5_stream, a0b_pack_stream, a0b_restore_stream,
};

/// The result of every function that can fail: `A0B_OK` or one of the `A0B_ERR_*` codes.
pub type a0b_result = i32;

/// Success.
pub const A0B_OK: a0b_result = 0;
/// An I/O error (a file that cannot be read or written, a full disk, a read or write callback
/// that failed). The command: exit 1.
pub const A0B_ERR_IO: a0b_result = 1;
/// A NULL where a pointer is required, a path that is not UTF-8, a bad hex string, bad options.
/// The command: exit 2.
pub const A0B_ERR_INVALID_ARGUMENT: a0b_result = 2;
/// The decrypted data does not start as it must (gzip): almost always a wrong password. The
/// command: exit 3.
pub const A0B_ERR_WRONG_PASSWORD: a0b_result = 3;
/// The MD5 of the encrypted input is not the expected one. The command: exit 4.
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
