//! `a0b_check`: will this backup restore? The report comes back as a JSON string that the
//! caller frees with `a0b_string_free`; `a0b_check_each` hands the collections' rows to a
//! callback one at a time instead, in bounded memory whatever the backup holds.

use std::ffi::{c_char, c_void, CString};

use super::boundary::{md5_arg, optional_password_arg, path_arg, Out};
use super::files::unpack_options;
use super::options::{a0b_options, options_arg};
use super::*;
use crate::check::{check_file, check_stream, CheckOptions};

/// Checks the backup file `input` without writing anything: its MD5 (when `expected_md5` is
/// not NULL), decryption (when `password` is not NULL; a plain `.tar.gz` otherwise), every gzip
/// member, the archive under `a0b_restore`'s parser and safety policy (as `options` sets it),
/// and every collection of the mongodump inside. On success `*report_json_out` receives a
/// NUL-terminated JSON report, to be freed with `a0b_string_free`: `restorable` and
/// `refusal` say whether `a0b_restore` would accept the archive, `collections_ok` and
/// `collections` how each collection reads (documents, bytes, indexes, the first damaged
/// document's index and offset). A backup that would not restore is a report, not an error.
///
/// Errors: `A0B_ERR_CHECKSUM_MISMATCH`, `A0B_ERR_WRONG_PASSWORD`, `A0B_ERR_MALFORMED` (a damaged
/// or non-gzip stream), `A0B_ERR_IO`, `A0B_ERR_INVALID_ARGUMENT`.
///
/// # Safety
/// `input` is a NUL-terminated path; `password` is NULL or points to `password_len` bytes;
/// `expected_md5` is NULL or 32 hex digits and a NUL; `options` is NULL or initialised;
/// `report_json_out` points to a writable pointer.
#[no_mangle]
pub unsafe extern "C" fn a0b_check(
    input: *const c_char,
    password: *const u8,
    password_len: usize,
    expected_md5: *const c_char,
    options: *const a0b_options,
    report_json_out: *mut *mut c_char,
) -> a0b_result {
    ffi_boundary! {
        let input = unsafe { path_arg(input, "input") }?;
        let pw = unsafe { optional_password_arg(password, password_len) }?;
        let expected = unsafe { md5_arg(expected_md5) }?;
        let o = unsafe { options_arg(options) }?;
        let out = unsafe { Out::new(report_json_out, "report_json_out") }?;
        let report = check_file(&input, pw.as_ref(), check_options(&o, expected))?;
        out.set(json_string(&report)?.into_raw());
        Ok(())
    }
}

/// Called with one JSON text (one object, NUL-terminated, `len` bytes without the NUL) and the
/// `userdata` given with the callback; returns 0 to go on, anything else to stop the call with
/// `A0B_ERR_CANCELLED`. `json` is valid only until the callback returns.
pub type a0b_json_cb =
    Option<unsafe extern "C" fn(userdata: *mut c_void, json: *const c_char, len: usize) -> i32>;

/// As `a0b_check`, but each collection's row of the report (the objects of its `collections`
/// array) goes to `each`, in archive-directory and name order, as the check reads them back
/// from its table; `*summary_json_out` then receives the report without its rows (its
/// `collections` array empty; `totals` and `collections_ok` over every row), to be freed with
/// `a0b_string_free`. Memory stays under 64 MiB whatever the backup holds.
///
/// Errors: as `a0b_check`, and `A0B_ERR_CANCELLED` when `each` returns non-zero.
///
/// # Safety
/// As `a0b_check`; `each` is a valid callback, called on this thread during the call only.
#[no_mangle]
pub unsafe extern "C" fn a0b_check_each(
    input: *const c_char,
    password: *const u8,
    password_len: usize,
    expected_md5: *const c_char,
    options: *const a0b_options,
    each: a0b_json_cb,
    userdata: *mut c_void,
    summary_json_out: *mut *mut c_char,
) -> a0b_result {
    ffi_boundary! {
        let input = unsafe { path_arg(input, "input") }?;
        let pw = unsafe { optional_password_arg(password, password_len) }?;
        let expected = unsafe { md5_arg(expected_md5) }?;
        let o = unsafe { options_arg(options) }?;
        let each = each.ok_or_else(|| super::boundary::invalid("each is NULL"))?;
        let out = unsafe { Out::new(summary_json_out, "summary_json_out") }?;
        let file = std::fs::File::open(&input).map_err(crate::Error::path(&input))?;
        let mut rows = check_stream(file, pw.as_ref(), check_options(&o, expected))?;
        for row in rows.by_ref() {
            let json = json_string(&row?)?;
            // SAFETY: the caller's promise: a valid callback; `json` lives across the call.
            let code = unsafe { each(userdata, json.as_ptr(), json.as_bytes().len()) };
            if code != 0 {
                return Err(crate::Error::Cancelled);
            }
        }
        let summary = json_string(&rows.finish()?)?;
        out.set(summary.into_raw());
        Ok(())
    }
}

/// The options of a check.
fn check_options<'a>(
    o: &super::options::Options,
    expected: Option<crate::Md5Digest>,
) -> CheckOptions<'a> {
    let mut options = CheckOptions::new()
        .unpack(unpack_options(o))
        .progress(o.progress());
    if let Some(f) = o.format {
        options = options.format(f);
    }
    if let Some(md5) = expected {
        options = options.expected_md5(md5);
    }
    options
}

/// `value` as JSON, NUL-terminated for C (JSON escapes any NUL inside strings).
pub(super) fn json_string(value: &impl serde::Serialize) -> Result<CString, crate::Error> {
    let text =
        serde_json::to_string(value).map_err(|e| crate::Error::InvalidArgument(e.to_string()))?;
    CString::new(text)
        .map_err(|_| crate::Error::InvalidArgument("the report holds a NUL byte".into()))
}

/// Frees a string returned by a0backup (such as `a0b_check`'s report). NULL is a no-op.
///
/// # Safety
/// `s` is NULL or a string a0backup returned, not freed before.
#[no_mangle]
pub unsafe extern "C" fn a0b_string_free(s: *mut c_char) {
    ffi_boundary! {
        if !s.is_null() {
            // SAFETY: the contract above: `s` came from CString::into_raw in this library.
            drop(unsafe { CString::from_raw(s) });
        }
        Ok(())
    }
}
