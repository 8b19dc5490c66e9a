//! The functions that name files: each output appears under its name only when complete and
//! checked (`crate::files`, `crate::restore`).

use std::ffi::c_char;

use super::boundary::{md5_arg, optional_password_arg, password_arg, path_arg, HexOut};
use super::options::{a0b_options, options_arg, Options};
use super::*;
use crate::archive::{PackOptions, UnpackOptions};
use crate::files::{self, AtomicFile, FileOptions};
use crate::restore::{restore_file, RestoreOptions};

/// The options of a decrypt or encrypt to a file.
pub(crate) fn file_options<'a>(o: &Options) -> FileOptions<'a> {
    FileOptions::new()
        .overwrite(o.overwrite)
        .sync(o.sync)
        .progress(o.progress())
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

/// The options of a restore.
pub(crate) fn restore_options<'a>(o: &Options) -> RestoreOptions<'a> {
    let unpack = unpack_options(o);
    RestoreOptions::new()
        .replace(o.overwrite)
        .decrypt_options(o.decrypt())
        .unpack(unpack)
        .sync(o.sync)
        .progress(o.progress())
}

/// The options of a pack, encrypted with `password` when there is one.
pub(crate) fn pack_options(
    o: &Options,
    password: Option<crate::Password>,
) -> Result<PackOptions, crate::Error> {
    let pack = PackOptions::new().level(o.gzip_level()?);
    Ok(match password {
        Some(pw) => pack.encrypt(pw, o.encrypt_format()),
        None => pack,
    })
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
        let opts = file_options(&o)
            .expected_md5(expected)
            .decrypt_options(o.decrypt().expect_gzip(o.expect_gzip));
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
        files::encrypt_file(&input, &output, &pw, o.encrypt_format(), file_options(&o)).map(|_| ())
    }
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
    ffi_boundary! {
        let input = unsafe { path_arg(input, "input") }?;
        let dest = unsafe { path_arg(dest_dir, "dest_dir") }?;
        let pw = unsafe { password_arg(password, password_len) }?;
        let expected = unsafe { md5_arg(expected_md5) }?;
        let o = unsafe { options_arg(options) }?;
        let opts = restore_options(&o).expected_md5(expected);
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
        let pack = pack_options(&o, pw)?;
        let out = AtomicFile::create(&output, o.overwrite)?.sync(o.sync);
        let pack = pack.leave_out_output(&out)?;
        let mut progress = o.progress();
        let summary =
            match crate::archive::pack_with_progress(&src, out.as_file(), &pack, &mut progress) {
                Ok(s) => s,
                Err(e) => return Err(out.discard_after(e)),
            };
        out.commit()?;
        md5_out.set(&summary.md5);
        Ok(())
    }
}
