//! `a0b_dump` and `a0b_diff`: answers from a backup without a restore. Each document, or each
//! change, goes to an `a0b_json_cb` as one JSON text while the backup is read, so memory stays
//! bounded whatever the collection holds; the summary comes back as a JSON string.

use std::ffi::{c_char, c_void};

use super::boundary::{invalid, md5_arg, optional_password_arg, path_arg, text_arg, Out};
use super::check::{a0b_json_cb, json_string};
use super::files::unpack_options;
use super::options::{a0b_options, options_arg, Options};
use super::*;
use crate::diff::{diff_files, DiffOptions};
use crate::dump::{dump_file, DumpOptions, Namespace};
use crate::extjson::{ExtJsonOptions, ExtJsonWriter};
use crate::query::Filter;
use crate::Error;

/// `a0b_dump`'s documents as canonical Extended JSON (what `bsondump` prints).
pub const A0B_JSON_CANONICAL: u32 = 0;
/// `a0b_dump`'s documents as relaxed Extended JSON (numbers and dates as JSON has them).
pub const A0B_JSON_RELAXED: u32 = 1;

/// Hands the documents of the collection `collection` (`"DATABASE.COLLECTION"`) of the backup
/// file `input` to `each`, one compact Extended JSON text per document (field order kept), in
/// the order of its `.bson`: those `filter_json` selects (a MongoDB query document in Extended
/// JSON; NULL for all), at most `limit` of them (0 for no limit). `password` NULL reads a plain
/// `.tar.gz`. The backup is read as `a0b_check` reads it (md5 when `expected_md5` is not NULL,
/// decryption, gzip, the archive under `a0b_restore`'s parser and `options`' safety policy, each
/// document checked), and only until the collection's files are behind (the rest is then read
/// only for the md5). On success `*summary_json_out` receives a JSON summary (`documents`
/// handed over, `scanned`, `bytes`, `md5`, `metadata`: the collection's `.metadata.json` text
/// or null), to be freed with `a0b_string_free`.
///
/// Errors: `A0B_ERR_INVALID_ARGUMENT` (no such collection in the backup, a filter outside the
/// supported subset, a `json_mode` that is neither `A0B_JSON_CANONICAL` nor
/// `A0B_JSON_RELAXED`), `A0B_ERR_MALFORMED` (a damaged document, at its index and offset in
/// the message; a damaged stream), `A0B_ERR_CHECKSUM_MISMATCH`, `A0B_ERR_WRONG_PASSWORD`,
/// `A0B_ERR_UNSAFE_ARCHIVE` (an archive restore would refuse), `A0B_ERR_IO`,
/// `A0B_ERR_CANCELLED` (when `each` or the progress callback returns non-zero).
///
/// # Safety
/// `input` and `collection` are NUL-terminated; `password` is NULL or points to `password_len`
/// bytes; `expected_md5` and `filter_json` are NULL or NUL-terminated; `options` is NULL or
/// initialised; `each` is a valid callback, called on this thread during the call only;
/// `summary_json_out` points to a writable pointer.
#[no_mangle]
pub unsafe extern "C" fn a0b_dump(
    input: *const c_char,
    password: *const u8,
    password_len: usize,
    expected_md5: *const c_char,
    options: *const a0b_options,
    collection: *const c_char,
    filter_json: *const c_char,
    json_mode: u32,
    limit: u64,
    each: a0b_json_cb,
    userdata: *mut c_void,
    summary_json_out: *mut *mut c_char,
) -> a0b_result {
    ffi_boundary! {
        let input = unsafe { path_arg(input, "input") }?;
        let pw = unsafe { optional_password_arg(password, password_len) }?;
        let expected = unsafe { md5_arg(expected_md5) }?;
        let o = unsafe { options_arg(options) }?;
        let namespace = unsafe { namespace_arg(collection) }?;
        let filter = match unsafe { text_arg(filter_json, "filter_json") }? {
            Some(text) => Some(Filter::parse(text)?),
            None => None,
        };
        let json = match json_mode {
            A0B_JSON_CANONICAL => ExtJsonOptions::new(),
            A0B_JSON_RELAXED => ExtJsonOptions::new().relaxed(true),
            other => return Err(invalid(&format!("json_mode {other} is not A0B_JSON_*"))),
        };
        let each = each.ok_or_else(|| invalid("each is NULL"))?;
        let out = unsafe { Out::new(summary_json_out, "summary_json_out") }?;
        let mut dump = DumpOptions::new()
            .unpack(unpack_options(&o))
            .progress(o.progress());
        if let Some(f) = o.format {
            dump = dump.format(f);
        }
        if let Some(md5) = expected {
            dump = dump.expected_md5(md5);
        }
        if let Some(filter) = filter {
            dump = dump.filter(filter);
        }
        if limit > 0 {
            dump = dump.limit(limit);
        }
        let mut documents = dump_file(&input, &namespace, pw.as_ref(), dump)?;
        let mut writer = ExtJsonWriter::new(Vec::new(), json);
        for doc in documents.by_ref() {
            let doc = doc?;
            writer.get_mut().clear();
            writer.write_document(&doc.bytes)?;
            let text = writer.get_mut();
            let len = text.len();
            text.push(0);
            // SAFETY: the caller's promise: a valid callback; `text` (NUL-terminated, no NUL
            // inside: JSON escapes it) lives across the call.
            let code = unsafe { each(userdata, text.as_ptr().cast(), len) };
            if code != 0 {
                return Err(Error::Cancelled);
            }
        }
        let summary = json_string(&documents.finish()?)?;
        out.set(summary.into_raw());
        Ok(())
    }
}

/// Compares the backup files `old` and `new` (the same `password`; NULL for plain `.tar.gz`
/// files), each checked against its expected md5 when `old_md5` / `new_md5` is not NULL, both
/// read at once and as `a0b_check` reads them: per collection (`collection` only, when not
/// NULL), documents added, removed, changed (same `_id`, other bytes) and unchanged, indexes
/// and options added, removed and changed, and whether it is in one backup only. Each
/// collection's row goes to `each` as one JSON object (`collection`, `presence`: `"both"`,
/// `"old_only"` or `"new_only"`, `added`, `removed`, `changed`, `unchanged`, `indexes` and
/// `options`, each with `added`, `removed`, `changed` name lists), as `a0backup diff --json`
/// prints it; with `ids` non-zero, before its row, one object per document added, removed or
/// changed (`collection`, `change`, `_id` as canonical Extended JSON; no `_id` key for a
/// document without one). On success `*summary_json_out` receives the totals (`collections`,
/// `changed_collections`, `added`, `removed`, `changed`, `unchanged`, `old_md5`, `new_md5`),
/// to be freed with `a0b_string_free`. Memory is bounded: past 16 MiB the documents' digests
/// go, sorted, to an unnamed temporary file.
///
/// Errors: as `a0b_dump`'s (`A0B_ERR_INVALID_ARGUMENT` when `collection` is in neither
/// backup); `A0B_ERR_CANCELLED` when `each` returns non-zero.
///
/// # Safety
/// `old` and `new` are NUL-terminated; `password` is NULL or points to `password_len` bytes;
/// `old_md5`, `new_md5` and `collection` are NULL or NUL-terminated; `options` is NULL or
/// initialised; `each` is a valid callback, called on this thread during the call only;
/// `summary_json_out` points to a writable pointer.
#[no_mangle]
pub unsafe extern "C" fn a0b_diff(
    old: *const c_char,
    new: *const c_char,
    password: *const u8,
    password_len: usize,
    old_md5: *const c_char,
    new_md5: *const c_char,
    options: *const a0b_options,
    collection: *const c_char,
    ids: u8,
    each: a0b_json_cb,
    userdata: *mut c_void,
    summary_json_out: *mut *mut c_char,
) -> a0b_result {
    ffi_boundary! {
        let old = unsafe { path_arg(old, "old") }?;
        let new = unsafe { path_arg(new, "new") }?;
        let pw = unsafe { optional_password_arg(password, password_len) }?;
        let old_md5 = unsafe { md5_arg(old_md5) }?;
        let new_md5 = unsafe { md5_arg(new_md5) }?;
        let o = unsafe { options_arg(options) }?;
        let only = match unsafe { text_arg(collection, "collection") }? {
            Some(text) => Some(Namespace::parse(text)?),
            None => None,
        };
        let each = each.ok_or_else(|| invalid("each is NULL"))?;
        let out = unsafe { Out::new(summary_json_out, "summary_json_out") }?;
        let mut diff = diff_options(&o).ids(ids != 0);
        if let Some(md5) = old_md5 {
            diff = diff.old_md5(md5);
        }
        if let Some(md5) = new_md5 {
            diff = diff.new_md5(md5);
        }
        if let Some(ns) = only {
            diff = diff.collection(ns);
        }
        let mut entries = diff_files(&old, &new, pw.as_ref(), diff)?;
        for entry in entries.by_ref() {
            let json = json_string(&entry?)?;
            // SAFETY: the caller's promise: a valid callback; `json` lives across the call.
            let code = unsafe { each(userdata, json.as_ptr(), json.as_bytes().len()) };
            if code != 0 {
                return Err(Error::Cancelled);
            }
        }
        let summary = json_string(&entries.finish()?)?;
        out.set(summary.into_raw());
        Ok(())
    }
}

/// A diff's options from the C options (the safety policy and the format).
fn diff_options(o: &Options) -> DiffOptions {
    let diff = DiffOptions::new().unpack(unpack_options(o));
    match o.format {
        Some(f) => diff.format(f),
        None => diff,
    }
}

/// A required `"DATABASE.COLLECTION"`.
///
/// # Safety
/// `ptr` is NULL or a NUL-terminated string.
unsafe fn namespace_arg(ptr: *const c_char) -> Result<Namespace, Error> {
    // SAFETY: the caller's promise.
    match unsafe { text_arg(ptr, "collection") }? {
        Some(text) => Namespace::parse(text),
        None => Err(invalid("collection is NULL")),
    }
}
