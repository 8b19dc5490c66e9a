//! The functions that name files: each output appears under its name only when complete and
//! checked (`crate::files`, `crate::restore`).

use std::ffi::c_char;

use super::boundary::{md5_arg, optional_password_arg, password_arg, path_arg, HexOut};
use super::options::{a0b_options, options_arg, Options};
use super::*;
use crate::archive::UnpackOptions;
use crate::checksum::Md5Digest;
use crate::files::{self, FileOptions};
use crate::pack::PackOptions;
use crate::restore::{restore_file, RestoreOptions};

/// The options of a decrypt or encrypt.
pub(crate) fn file_options<'a>(o: &Options) -> FileOptions<'a> {
    let options = FileOptions::new()
        .replace(o.replace)
        .sync(o.sync)
        .expect_gzip(o.expect_gzip)
        .progress(o.progress());
    match o.format {
        Some(f) => options.format(f),
        None => options,
    }
}

/// The safety policy of a restore (and of a check).
pub(crate) fn unpack_options(o: &Options) -> UnpackOptions {
    let unpack = UnpackOptions::new()
        .allow_symlinks(o.allow_symlinks)
        .allow_hardlinks(o.allow_hardlinks);
    if o.max_total_bytes > 0 {
        unpack.max_total_bytes(o.max_total_bytes)
    } else {
        unpack
    }
}

/// The options of a restore, checking `expected` when there is one.
pub(crate) fn restore_options<'a>(o: &Options, expected: Option<Md5Digest>) -> RestoreOptions<'a> {
    let mut options = RestoreOptions::new()
        .replace(o.replace)
        .unpack(unpack_options(o))
        .sync(o.sync)
        .progress(o.progress());
    if let Some(f) = o.format {
        options = options.format(f);
    }
    if let Some(md5) = expected {
        options = options.expected_md5(md5);
    }
    options
}

/// The options of a pack.
pub(crate) fn pack_options<'a>(o: &Options) -> Result<PackOptions<'a>, crate::Error> {
    Ok(PackOptions::new()
        .level(o.gzip_level()?)
        .format(o.encrypt_format())
        .replace(o.replace)
        .sync(o.sync)
        .progress(o.progress()))
}

/// The MD5 of a file, as 32 lowercase hex digits and a NUL.
///
/// # Safety
/// `path` is a NUL-terminated string; `hex_out` points to 33 writable bytes.
#[no_mangle]
pub unsafe extern "C" fn a0b_md5_file(path: *const c_char, hex_out: *mut c_char) -> a0b_result {
    ffi_boundary! {
        let p = unsafe { path_arg(path, "path") }?;
        let hex_out = unsafe { HexOut::required(hex_out, "hex_out") }?;
        hex_out.set(&crate::checksum::md5_file(&p)?);
        Ok(())
    }
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
    ffi_boundary! {
        let input = unsafe { path_arg(input, "input") }?;
        let output = unsafe { path_arg(output, "output") }?;
        let pw = unsafe { password_arg(password, password_len) }?;
        let expected = unsafe { md5_arg(expected_md5) }?;
        let o = unsafe { options_arg(options) }?;
        let mut opts = file_options(&o);
        if let Some(md5) = expected {
            opts = opts.expected_md5(md5);
        }
        files::decrypt_file(&input, &output, &pw, opts).map(|_| ())
    }
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
    ffi_boundary! {
        let input = unsafe { path_arg(input, "input") }?;
        let output = unsafe { path_arg(output, "output") }?;
        let pw = unsafe { password_arg(password, password_len) }?;
        let o = unsafe { options_arg(options) }?;
        let opts = file_options(&o).format(o.encrypt_format());
        files::encrypt_file(&input, &output, &pw, opts).map(|_| ())
    }
}

/// Restores an encrypted backup (`.tar.gz.enc`) into the directory `dest_dir` in one pass,
/// with the unpack safety policy. `dest_dir` appears (or is replaced, with `replace`) only
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
    ffi_boundary! {
        let input = unsafe { path_arg(input, "input") }?;
        let dest = unsafe { path_arg(dest_dir, "dest_dir") }?;
        let pw = unsafe { password_arg(password, password_len) }?;
        let expected = unsafe { md5_arg(expected_md5) }?;
        let o = unsafe { options_arg(options) }?;
        let opts = restore_options(&o, expected);
        restore_file(&input, &dest, Some(&pw), opts).map(|_| ())
    }
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
    ffi_boundary! {
        let src = unsafe { path_arg(src_dir, "src_dir") }?;
        let output = unsafe { path_arg(output, "output") }?;
        let pw = unsafe { optional_password_arg(password, password_len) }?;
        let md5_out = unsafe { HexOut::optional(md5_hex_out) };
        let o = unsafe { options_arg(options) }?;
        let summary = crate::pack::pack_file(&src, &output, pw.as_ref(), pack_options(&o)?)?;
        md5_out.set(&summary.md5);
        Ok(())
    }
}
