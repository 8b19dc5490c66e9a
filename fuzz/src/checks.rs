//! The properties the fuzz targets check, one function per target.
//!
//! The libFuzzer targets in `fuzz/fuzz_targets/` call these, and the root package's
//! `tests/fuzz_corpus.rs` includes this very file (with `#[path]`) to replay every committed
//! corpus and regression input through them under `cargo test`. So this file uses only what the
//! root package already depends on (a0backup, tempfile, flate2, serde_json, and md-5 from its
//! dev-dependencies), and decodes the
//! fuzz input by hand: a corpus file means the same thing to libFuzzer and to `cargo test`.
//!
//! Each check returns `Err` with a description when a property does not hold; a panic inside
//! a0backup is a failure as well (libFuzzer reports it, the replay test catches it).

use std::borrow::Cow;
use std::collections::{BTreeMap, HashMap};
use std::fs;
use std::io::{Cursor, Read, Seek, SeekFrom, Write};
use std::os::unix::fs::{MetadataExt, PermissionsExt};
use std::path::{Component, Path, PathBuf};

use a0backup::archive::{list, EntryKind, UnpackOptions};
use a0backup::check::{check_reader, CheckOptions};
use a0backup::checksum::{md5_bytes, Md5};
use a0backup::gzip::{GzipReader, InflateOptions};
use a0backup::pack::{pack_writer, PackOptions};
use a0backup::restore::{restore_reader, RestoreOptions};
use a0backup::{
    BackupStatus, DecryptOptions, DecryptReader, EncryptWriter, Error, Format, Md5Digest, Password,
};

/// The fuzz targets, by name: the names of their corpus directories too.
pub const TARGETS: [&str; 10] = [
    "decrypt", "status", "unpack", "restore", "md5", "bson", "inflate", "extjson", "query", "dump",
];

#[path = "dump.rs"]
mod dump_check;
pub use dump_check::dump;

/// The most bytes of file data the `unpack` target lets an archive write.
pub const UNPACK_MAX_BYTES: u64 = 1 << 20;

/// The most entries the `unpack` target lets an archive hold.
pub const UNPACK_MAX_ENTRIES: u64 = 256;

const SALTED_MAGIC: &[u8; 8] = b"Salted__";
const GZIP_MAGIC: [u8; 3] = [0x1f, 0x8b, 0x08];

/// Runs the check of the target named `target` on one input.
pub fn check(target: &str, data: &[u8]) -> Result<(), String> {
    match target {
        "decrypt" => decrypt(data),
        "status" => status(data),
        "unpack" => unpack(data),
        "restore" => restore(data),
        "md5" => md5(data),
        "bson" => bson(data),
        "inflate" => inflate(data),
        "extjson" => extjson(data),
        "query" => query(data),
        "dump" => dump(data),
        other => Err(format!("unknown fuzz target {other:?}")),
    }
}

macro_rules! ensure {
    ($cond:expr, $($fmt:tt)+) => {
        if !$cond {
            return Err(format!($($fmt)+));
        }
    };
}

/// The fuzz input, consumed from the front. Past the end every read gives zeros (or nothing).
struct Input<'a>(&'a [u8]);

impl<'a> Input<'a> {
    fn byte(&mut self) -> u8 {
        match self.0.split_first() {
            Some((&b, rest)) => {
                self.0 = rest;
                b
            }
            None => 0,
        }
    }

    fn u16(&mut self) -> u16 {
        u16::from_le_bytes([self.byte(), self.byte()])
    }

    fn take(&mut self, n: usize) -> &'a [u8] {
        let (head, rest) = self.0.split_at(n.min(self.0.len()));
        self.0 = rest;
        head
    }

    fn rest(&mut self) -> &'a [u8] {
        std::mem::take(&mut self.0)
    }
}

fn describe<T>(r: &Result<T, Error>) -> String {
    match r {
        Ok(_) => "Ok".to_string(),
        Err(e) => format!("Err({e:?})"),
    }
}

/// An error that only a bug can cause: a thread of the pipeline panicked or stopped.
fn is_internal(e: &Error) -> bool {
    let text = e.to_string();
    text.contains("panicked") || text.contains("stopped early")
}

// ------------------------------------------------------------------------------------------
// decrypt
// ------------------------------------------------------------------------------------------

/// `decrypt`: input = flags, password length, password, chunk count, chunk sizes, seek offset
/// (u16 LE), 8 salt bytes, then the payload.
///
/// flags: bits 0-1 the format to read the payload as (0 detect, 1 node, 2 openssl-md5,
/// 3 openssl-pbkdf2), bits 2-3 the PBKDF2 iterations (1..=3), bit 4 expect gzip.
///
/// * Opening the payload as a [`DecryptReader`] never panics, fails exactly when it should and
///   with the right error, and yields what encrypting the payload again gives (CTR is its own
///   inverse), read in one go, in the fuzzer's chunk sizes, or after a seek.
/// * For every format, decrypting what [`EncryptWriter`] made of the payload (written in the
///   fuzzer's chunk sizes) gives the payload back.
/// * A `Salted__` header cut short is [`Error::Malformed`] whenever a salted format is given.
pub fn decrypt(data: &[u8]) -> Result<(), String> {
    let mut input = Input(data);
    let flags = input.byte();
    let iterations = u32::from((flags >> 2) & 3) % 3 + 1;
    let pbkdf2 = Format::OpenSslPbkdf2 { iterations };
    let format = match flags & 3 {
        0 => None,
        1 => Some(Format::Node),
        2 => Some(Format::OpenSslMd5),
        _ => Some(pbkdf2),
    };
    let expect_gzip = flags & 0x10 != 0;
    let pw_len = usize::from(input.byte());
    let password = Password::new(input.take(pw_len));
    let n_chunks = input.byte() % 9;
    let mut chunks: Vec<usize> = (0..n_chunks).map(|_| chunk_size(input.byte())).collect();
    if chunks.iter().all(|&c| c == 0) {
        chunks.push(1);
    }
    let seek_to = u64::from(input.u16());
    let mut salt = [0u8; 8];
    let s = input.take(8);
    salt[..s.len()].copy_from_slice(s);
    let payload = input.rest();

    check_open(payload, &password, format, expect_gzip, &chunks, seek_to)?;
    for f in [Format::Node, Format::OpenSslMd5, pbkdf2] {
        check_roundtrip(payload, &password, f, salt, &chunks)?;
    }
    for f in [Format::OpenSslMd5, pbkdf2] {
        check_cut_header(&password, f, salt)?;
    }
    check_zero_iterations(&password, salt)
}

/// A read or write size: mostly small, sometimes zero, sometimes several KiB.
fn chunk_size(b: u8) -> usize {
    match b {
        0xf0.. => 4096 * usize::from(b - 0xef),
        b => usize::from(b),
    }
}

fn open(
    bytes: &[u8],
    password: &Password,
    options: &DecryptOptions,
) -> Result<DecryptReader<Cursor<Vec<u8>>>, Error> {
    DecryptReader::new(Cursor::new(bytes.to_vec()), password, *options)
}

fn read_all<R: Read>(r: &mut R) -> Result<Vec<u8>, String> {
    let mut out = Vec::new();
    r.read_to_end(&mut out)
        .map_err(|e| format!("reading failed: {e}"))?;
    Ok(out)
}

/// Reads to the end in the given chunk sizes (cycled); a zero size must read nothing.
fn read_chunked<R: Read>(r: &mut R, chunks: &[usize]) -> Result<Vec<u8>, String> {
    let mut out = Vec::new();
    let mut buf = vec![0u8; chunks.iter().copied().max().unwrap_or(1)];
    for &size in chunks.iter().cycle() {
        let n = r
            .read(&mut buf[..size])
            .map_err(|e| format!("chunked read of {size} failed: {e}"))?;
        ensure!(n <= size, "read of {size} bytes returned {n}");
        if size == 0 {
            ensure!(n == 0, "a zero-length read returned {n} bytes");
            continue;
        }
        if n == 0 {
            break;
        }
        out.extend_from_slice(&buf[..n]);
    }
    Ok(out)
}

/// Writes `plain` through an [`EncryptWriter`] in the given chunk sizes.
fn encrypt(
    plain: &[u8],
    password: &Password,
    format: Format,
    salt: [u8; 8],
    chunks: &[usize],
) -> Result<Vec<u8>, String> {
    let mut w = EncryptWriter::with_salt(Vec::new(), password, format, Some(salt))
        .map_err(|e| format!("EncryptWriter::with_salt({format:?}) failed: {e}"))?;
    let mut pos = 0;
    for &size in chunks.iter().cycle() {
        if pos == plain.len() {
            break;
        }
        let end = pos.saturating_add(size).min(plain.len());
        let n = w
            .write(&plain[pos..end])
            .map_err(|e| format!("write failed: {e}"))?;
        ensure!(n <= end - pos, "write of {} bytes returned {n}", end - pos);
        ensure!(
            n > 0 || end == pos,
            "write of {} bytes accepted nothing",
            end - pos
        );
        pos += n;
    }
    ensure!(
        w.position() == plain.len() as u64,
        "EncryptWriter::position is {} after {} bytes",
        w.position(),
        plain.len()
    );
    w.finish().map_err(|e| format!("finish failed: {e}"))
}

/// What reading `payload` as `format` should give: its plaintext, computed by encrypting the
/// encrypted part again (CTR mode is its own inverse).
fn expected_plaintext(
    payload: &[u8],
    password: &Password,
    format: Format,
) -> Result<Vec<u8>, String> {
    if format.is_salted() {
        let mut salt = [0u8; 8];
        salt.copy_from_slice(&payload[8..16]);
        let out = encrypt(&payload[16..], password, format, salt, &[usize::MAX])?;
        Ok(out[16..].to_vec())
    } else {
        encrypt(payload, password, format, [0; 8], &[usize::MAX])
    }
}

fn check_open(
    payload: &[u8],
    password: &Password,
    format: Option<Format>,
    expect_gzip: bool,
    chunks: &[usize],
    seek_to: u64,
) -> Result<(), String> {
    let mut options = DecryptOptions::new().expect_gzip(expect_gzip);
    if let Some(f) = format {
        options = options.format(f);
    }
    let opened = open(payload, password, &options);
    let what = format!("DecryptReader::new({options:?}) of {} bytes", payload.len());

    let has_magic = payload.starts_with(SALTED_MAGIC);
    let salted = format.map_or(has_magic, |f| f.is_salted());
    let header_len = if salted { 16 } else { 0 };

    // The cases that must fail before any key is derived.
    if salted && (!has_magic || payload.len() < 16) {
        ensure!(
            matches!(opened, Err(Error::Malformed { .. })),
            "{what}: a salted format without a whole Salted__ header gave {}",
            describe(&opened)
        );
        return Ok(());
    }
    if expect_gzip && payload.len() - header_len < GZIP_MAGIC.len() {
        ensure!(
            matches!(opened, Err(Error::Malformed { .. })),
            "{what}: a payload too short for gzip gave {}",
            describe(&opened)
        );
        return Ok(());
    }
    let candidates = match format {
        Some(f) => vec![f],
        None if !salted => vec![Format::Node],
        None if expect_gzip => vec![
            Format::OpenSslPbkdf2 { iterations: 10_000 },
            Format::OpenSslMd5,
        ],
        None => {
            ensure!(
                matches!(opened, Err(Error::FormatNeeded)),
                "{what}: a salted file without a format gave {}",
                describe(&opened)
            );
            return Ok(());
        }
    };
    let mut chosen = None;
    for f in candidates {
        let plain = expected_plaintext(payload, password, f)?;
        if !expect_gzip || plain.starts_with(&GZIP_MAGIC) {
            chosen = Some((f, plain));
            break;
        }
    }
    let Some((format, plain)) = chosen else {
        ensure!(
            matches!(opened, Err(Error::WrongPassword { .. })),
            "{what}: no gzip header under any candidate format, but it gave {}",
            describe(&opened)
        );
        return Ok(());
    };
    let mut reader = opened.map_err(|e| format!("{what} failed: {e:?}"))?;
    ensure!(
        reader.format() == format,
        "{what}: read as {:?}, expected {format:?}",
        reader.format()
    );
    ensure!(
        reader.header_len() == header_len as u64,
        "{what}: header_len {}",
        reader.header_len()
    );
    let whole = read_all(&mut reader)?;
    ensure!(
        whole == plain,
        "{what}: reading in one go gave other bytes than encrypting again"
    );
    ensure!(
        reader.position() == plain.len() as u64,
        "{what}: position {} at the end of {} bytes",
        reader.position(),
        plain.len()
    );

    let mut reader = open(payload, password, &options).map_err(|e| format!("reopen: {e}"))?;
    let chunked = read_chunked(&mut reader, chunks)?;
    ensure!(
        chunked == whole,
        "{what}: reading in chunks {chunks:?} gave {} bytes that differ from one read ({})",
        chunked.len(),
        whole.len()
    );

    let mut reader = open(payload, password, &options).map_err(|e| format!("reopen: {e}"))?;
    let at = reader
        .seek(SeekFrom::Start(seek_to))
        .map_err(|e| format!("{what}: seek to {seek_to} failed: {e}"))?;
    ensure!(at == seek_to, "{what}: seek to {seek_to} returned {at}");
    let tail = read_chunked(&mut reader, chunks)?;
    let expected_tail = plain.get(seek_to as usize..).unwrap_or(&[]);
    ensure!(
        tail == expected_tail,
        "{what}: reading after a seek to {seek_to} gave {} bytes, expected {}",
        tail.len(),
        expected_tail.len()
    );
    Ok(())
}

fn check_roundtrip(
    plain: &[u8],
    password: &Password,
    format: Format,
    salt: [u8; 8],
    chunks: &[usize],
) -> Result<(), String> {
    let file = encrypt(plain, password, format, salt, chunks)?;
    let header_len = if format.is_salted() { 16 } else { 0 };
    ensure!(
        file.len() == plain.len() + header_len,
        "{format:?}: {} bytes encrypted to {}",
        plain.len(),
        file.len()
    );
    if format.is_salted() {
        ensure!(
            file[..8] == SALTED_MAGIC[..] && file[8..16] == salt,
            "{format:?}: the header is not Salted__ and the salt"
        );
    }
    let options = DecryptOptions::new().format(format);
    let mut reader = open(&file, password, &options)
        .map_err(|e| format!("{format:?}: decrypting what was just encrypted failed: {e:?}"))?;
    let back = read_chunked(&mut reader, chunks)?;
    ensure!(
        back == plain,
        "{format:?}: decrypt(encrypt(x)) != x for {} bytes",
        plain.len()
    );

    // The same file, gzip expected: accepted exactly when the plaintext starts with gzip.
    let gz = open(&file, password, &options.expect_gzip(true));
    if plain.len() < 3 {
        ensure!(
            matches!(gz, Err(Error::Malformed { .. })),
            "{format:?}: {} bytes with gzip expected gave {}",
            plain.len(),
            describe(&gz)
        );
    } else if plain.starts_with(&GZIP_MAGIC) {
        let mut reader = gz.map_err(|e| format!("{format:?}: gzip plaintext refused: {e:?}"))?;
        ensure!(
            read_all(&mut reader)? == plain,
            "{format:?}: gzip plaintext read back wrong"
        );
    } else {
        ensure!(
            matches!(gz, Err(Error::WrongPassword { .. })),
            "{format:?}: non-gzip plaintext with gzip expected gave {}",
            describe(&gz)
        );
    }

    // Without a format: a salted file cannot say which KDF made it; a Node file is read as one
    // (unless its ciphertext happens to start with the magic).
    let detected = open(&file, password, &DecryptOptions::new());
    if format.is_salted() {
        ensure!(
            matches!(detected, Err(Error::FormatNeeded)),
            "{format:?}: detecting without gzip gave {}",
            describe(&detected)
        );
    } else if !file.starts_with(SALTED_MAGIC) {
        let mut reader = detected.map_err(|e| format!("Node file not detected: {e:?}"))?;
        ensure!(
            reader.format() == Format::Node,
            "Node file detected as {:?}",
            reader.format()
        );
        ensure!(
            read_all(&mut reader)? == plain,
            "Node file detected but read back wrong"
        );
    }
    Ok(())
}

fn check_cut_header(password: &Password, format: Format, salt: [u8; 8]) -> Result<(), String> {
    let mut header = SALTED_MAGIC.to_vec();
    header.extend_from_slice(&salt);
    for cut in 0..16 {
        for gzip in [false, true] {
            let options = DecryptOptions::new().format(format).expect_gzip(gzip);
            let r = open(&header[..cut], password, &options);
            ensure!(
                matches!(r, Err(Error::Malformed { .. })),
                "{format:?} (gzip expected: {gzip}): a header cut at {cut} bytes gave {}",
                describe(&r)
            );
        }
    }
    Ok(())
}

fn check_zero_iterations(password: &Password, salt: [u8; 8]) -> Result<(), String> {
    let zero = Format::OpenSslPbkdf2 { iterations: 0 };
    let w = EncryptWriter::with_salt(Vec::new(), password, zero, Some(salt));
    ensure!(
        matches!(w, Err(Error::InvalidArgument(_))),
        "encrypting with 0 PBKDF2 iterations gave {}",
        describe(&w)
    );
    let mut file = SALTED_MAGIC.to_vec();
    file.extend_from_slice(&salt);
    file.extend_from_slice(b"payload");
    let r = open(&file, password, &DecryptOptions::new().format(zero));
    ensure!(
        matches!(r, Err(Error::InvalidArgument(_))),
        "decrypting with 0 PBKDF2 iterations gave {}",
        describe(&r)
    );
    Ok(())
}

// ------------------------------------------------------------------------------------------
// status
// ------------------------------------------------------------------------------------------

/// `md5`: a0backup's own MD5 against the `md-5` crate's.
///
/// The first byte says how many cut points follow (0 to 15), each two bytes; the rest is the
/// message. [`Md5`] fed the message in the pieces the cuts make (each cut taken modulo the
/// message's length plus one, so two may fall on one place) equals `md-5` of the whole
/// message, and so does [`md5_bytes`].
pub fn md5(data: &[u8]) -> Result<(), String> {
    use md5::Digest;
    let mut input = Input(data);
    let cut_count = usize::from(input.byte() % 16);
    let mut cuts: Vec<usize> = (0..cut_count).map(|_| usize::from(input.u16())).collect();
    let message = input.rest();
    let want = Md5Digest(md5::Md5::digest(message).into());
    cuts.iter_mut().for_each(|c| *c %= message.len() + 1);
    cuts.sort_unstable();
    let mut h = Md5::new();
    let mut start = 0;
    for cut in cuts.into_iter().chain([message.len()]) {
        h.update(&message[start..cut]);
        start = cut;
    }
    let pieces = h.finish();
    ensure!(pieces == want, "pieces gave {pieces}, md-5 says {want}");
    let whole = md5_bytes(message);
    ensure!(whole == want, "md5_bytes gave {whole}, md-5 says {want}");
    Ok(())
}

// ------------------------------------------------------------------------------------------

/// `status`: the input, lossily decoded as UTF-8, is a backup-status record.
///
/// * [`BackupStatus::parse`] never panics and fails only with [`Error::Malformed`].
/// * What it accepts re-serializes with `to_json` into strict JSON that parses to the same
///   record and serializes to the same text.
/// * Strict JSON is read for what it says: accepted exactly when it is an object with an
///   `arguments.md5` of 32 hex digits and string (or absent) `message` and `arguments.name`,
///   and no object in it gives a key twice (which is ambiguous: refused).
pub fn status(data: &[u8]) -> Result<(), String> {
    let text = String::from_utf8_lossy(data);
    let parsed = BackupStatus::parse(&text);
    if let Ok(value) = serde_json::from_str::<serde_json::Value>(&text) {
        let says = match has_duplicate_keys(&text) {
            true => None,
            false => status_from_value(&value),
        };
        match (&parsed, says) {
            (Ok(got), Some(want)) => ensure!(
                *got == want,
                "strict JSON {text:?} parsed to {got:?}, it says {want:?}"
            ),
            (Err(_), None) => {}
            (got, want) => {
                return Err(format!(
                    "strict JSON {text:?} parsed to {}, it says {want:?}",
                    describe(got)
                ))
            }
        }
    }
    let status = match parsed {
        Ok(s) => s,
        Err(Error::Malformed { .. }) => return Ok(()),
        Err(e) => return Err(format!("{text:?} was refused with {e:?}, not Malformed")),
    };
    let json = status.to_json();
    ensure!(
        serde_json::from_str::<serde_json::Value>(&json).is_ok(),
        "to_json of {status:?} is not strict JSON: {json:?}"
    );
    let again = BackupStatus::parse(&json)
        .map_err(|e| format!("to_json of {status:?} does not parse: {e:?}\n{json}"))?;
    ensure!(
        again == status,
        "{text:?} parsed to {status:?}, its to_json to {again:?}"
    );
    ensure!(
        again.to_json() == json,
        "to_json is not stable for {status:?}"
    );
    Ok(())
}

/// Whether an object anywhere in the strict JSON `text` gives a key twice (keys compared
/// unescaped). A scan of the tokens, independent of how a0backup finds them.
fn has_duplicate_keys(text: &str) -> bool {
    let b = text.as_bytes();
    // One entry per open object (the keys seen) or array (None).
    let mut stack: Vec<Option<std::collections::HashSet<String>>> = Vec::new();
    let mut key_next = false;
    let mut i = 0;
    while i < b.len() {
        match b[i] {
            b'{' => {
                stack.push(Some(Default::default()));
                key_next = true;
            }
            b'[' => {
                stack.push(None);
                key_next = false;
            }
            b'}' | b']' => {
                stack.pop();
                key_next = false;
            }
            b',' => key_next = matches!(stack.last(), Some(Some(_))),
            b'"' => {
                let start = i;
                i += 1;
                while i < b.len() && b[i] != b'"' {
                    i += if b[i] == b'\\' { 2 } else { 1 };
                }
                if key_next {
                    let raw = text.get(start..=i.min(b.len() - 1)).unwrap_or("");
                    let key: String = serde_json::from_str(raw).unwrap_or_default();
                    if let Some(Some(seen)) = stack.last_mut() {
                        if !seen.insert(key) {
                            return true;
                        }
                    }
                    key_next = false;
                }
            }
            _ => {}
        }
        i += 1;
    }
    false
}

/// The record a strict JSON value describes, if it is a valid one.
fn status_from_value(value: &serde_json::Value) -> Option<BackupStatus> {
    use serde_json::Value;
    let obj = value.as_object()?;
    let message = match obj.get("message") {
        None => None,
        Some(Value::String(s)) => Some(s.clone()),
        Some(_) => return None,
    };
    let args = obj.get("arguments")?.as_object()?;
    let md5: Md5Digest = args.get("md5")?.as_str()?.parse().ok()?;
    let name = match args.get("name") {
        None => None,
        Some(Value::String(s)) => Some(s.clone()),
        Some(_) => return None,
    };
    Some(BackupStatus { message, name, md5 })
}

// ------------------------------------------------------------------------------------------
// unpack
// ------------------------------------------------------------------------------------------

/// `unpack`: input = flags, then the payload.
///
/// flags: bit 0: the payload is a raw tar stream that is gzipped here first (bit 3: and padded
/// to 512 bytes and given an end-of-archive marker); otherwise it is the `.tar.gz` itself.
/// Bit 1 allows symlinks, bit 2 hardlinks.
///
/// `restore_reader` (no password) into `<tempdir>/dest` with 1 MiB and 256 entries at most:
/// never panics; on failure the tempdir is empty (no dest, no staging directory); on success
/// only `dest` is there, it holds only files, directories and allowed links that resolve inside
/// it, no setuid/setgid/sticky bits, at most 1 MiB of file data, and exactly what the summary
/// reports.
pub fn unpack(data: &[u8]) -> Result<(), String> {
    let mut input = Input(data);
    let flags = input.byte();
    let payload = input.rest();
    let allow_symlinks = flags & 2 != 0;
    let allow_hardlinks = flags & 4 != 0;
    let gz: Cow<'_, [u8]> = if flags & 1 != 0 {
        let mut tar = payload.to_vec();
        if flags & 8 != 0 {
            tar.resize(tar.len().div_ceil(512) * 512 + 1024, 0);
        }
        Cow::Owned(gzip(&tar)?)
    } else {
        Cow::Borrowed(payload)
    };

    let work = tempfile::tempdir().map_err(|e| format!("tempdir: {e}"))?;
    let dest = work.path().join("dest");
    let options = UnpackOptions::new()
        .max_total_bytes(UNPACK_MAX_BYTES)
        .max_entries(UNPACK_MAX_ENTRIES)
        .allow_symlinks(allow_symlinks)
        .allow_hardlinks(allow_hardlinks);
    let restore = RestoreOptions::new()
        .unpack(options.clone())
        .input_len(gz.len() as u64);
    let result = restore_reader(&gz[..], &dest, None, restore);
    let top = list_dir(work.path())?;
    same_verdict_as_check(&gz, &options, &result)?;
    let summary = match result {
        Err(e) => {
            ensure!(!is_internal(&e), "internal failure: {e:?}");
            ensure!(
                matches!(
                    e,
                    Error::WrongPassword { .. }
                        | Error::Malformed { .. }
                        | Error::Truncated { .. }
                        | Error::UnsafeEntry { .. }
                        | Error::LimitExceeded { .. }
                        | Error::Path { .. }
                ),
                "an archive was refused with an untyped error: {e:?}"
            );
            ensure!(
                top.is_empty(),
                "a refused archive ({e}) left {top:?} behind"
            );
            return Ok(());
        }
        Ok(s) => s,
    };
    ensure!(
        top == ["dest"],
        "an unpacked archive left {top:?} beside dest"
    );
    let root = fs::symlink_metadata(&dest).map_err(|e| format!("dest: {e}"))?;
    ensure!(root.is_dir(), "dest is not a directory: {root:?}");
    let tree = scan(&dest, false)?;

    let mut inodes: HashMap<(u64, u64), u64> = HashMap::new();
    let (mut names, mut dirs, mut symlinks) = (0u64, 0u64, 0u64);
    for (rel, node) in &tree {
        if rel.as_os_str().is_empty() {
            continue;
        }
        match node.kind {
            Kind::File => {
                names += 1;
                inodes.insert(node.inode, node.size);
            }
            Kind::Dir => dirs += 1,
            Kind::Symlink => {
                symlinks += 1;
                symlink_stays_inside(&tree, rel, node)?;
            }
            Kind::Other => return Err(format!("{rel:?} is a special file: {node:?}")),
        }
        ensure!(
            node.kind == Kind::Symlink || node.mode & 0o7000 == 0,
            "{rel:?} has mode {:o}",
            node.mode
        );
    }
    let bytes: u64 = inodes.values().sum();
    let u = &summary.unpacked;
    ensure!(
        bytes <= UNPACK_MAX_BYTES,
        "{bytes} bytes of files were written, the limit is {UNPACK_MAX_BYTES}"
    );
    ensure!(
        bytes == u.bytes,
        "the summary says {} bytes, the files hold {bytes}",
        u.bytes
    );
    ensure!(
        inodes.len() as u64 == u.files,
        "the summary says {} files, there are {}",
        u.files,
        inodes.len()
    );
    ensure!(
        dirs == u.directories,
        "the summary says {} directories, there are {dirs}",
        u.directories
    );
    let hardlinks = names - inodes.len() as u64;
    ensure!(
        symlinks + hardlinks == u.links,
        "the summary says {} links, there are {symlinks} symlinks and {hardlinks} hardlinks",
        u.links
    );
    ensure!(
        allow_symlinks || symlinks == 0,
        "{symlinks} symlinks were extracted without being allowed"
    );
    ensure!(
        allow_hardlinks || hardlinks == 0,
        "{hardlinks} hardlinks were extracted without being allowed"
    );
    // `list` reads with the same parser: it accepts what unpack accepted and names every file.
    let mut listed = std::collections::BTreeSet::new();
    let entries =
        list(&gz[..], options).map_err(|e| format!("unpack accepted what list refuses: {e}"))?;
    for e in entries {
        let e = e.map_err(|e| format!("unpack accepted an archive that list refuses: {e}"))?;
        if matches!(e.kind, EntryKind::File | EntryKind::Hardlink) {
            let normal: PathBuf = e
                .path
                .components()
                .filter(|c| matches!(c, Component::Normal(_)))
                .collect();
            listed.insert(normal);
        }
    }
    for (rel, node) in &tree {
        ensure!(
            node.kind != Kind::File || listed.contains(rel),
            "{rel:?} was written but list does not name it (listed: {listed:?})"
        );
    }
    Ok(())
}

/// One verdict on every path: `check` accepts what restore restored, and refuses, with the same
/// error, what restore refused; an error of the input itself (a damaged gzip stream) is the
/// same error on both. Restore never fails with an error of the file system (an `Error::Path`)
/// that the check, which writes nothing, could not have foreseen.
fn same_verdict_as_check<T>(
    gz: &[u8],
    options: &UnpackOptions,
    restored: &Result<T, Error>,
) -> Result<(), String> {
    let checked = check_reader(gz, None, CheckOptions::new().unpack(options.clone()));
    let refusal = |e: &Error| {
        matches!(
            e,
            Error::UnsafeEntry { .. }
                | Error::LimitExceeded { .. }
                | Error::Malformed {
                    input: a0backup::error::Input::Tar,
                    ..
                }
        )
    };
    match (restored, &checked) {
        (Ok(_), Ok(report)) => ensure!(
            report.restorable && report.refusal.is_none(),
            "restore accepted what check refuses: {:?}",
            report.refusal
        ),
        (Err(e), Ok(report)) if refusal(e) => ensure!(
            report.refusal.as_ref().map(ToString::to_string) == Some(e.to_string()),
            "restore refused with {e}, check says {:?}",
            report.refusal
        ),
        (Err(e), Err(c)) if !refusal(e) && !matches!(e, Error::Path { .. }) => ensure!(
            e.to_string() == c.to_string(),
            "restore failed with {e}, check with {c}"
        ),
        (r, c) => {
            return Err(format!(
                "restore and check disagree: restore {}, check {}",
                describe(r),
                describe(c)
            ))
        }
    }
    Ok(())
}

fn gzip(data: &[u8]) -> Result<Vec<u8>, String> {
    let mut e = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
    e.write_all(data).map_err(|e| format!("gzip: {e}"))?;
    e.finish().map_err(|e| format!("gzip: {e}"))
}

/// A symlink's target, resolved lexically from the link's directory, stays inside the tree
/// and does not pass through another symlink.
fn symlink_stays_inside(
    tree: &BTreeMap<PathBuf, Node>,
    rel: &Path,
    node: &Node,
) -> Result<(), String> {
    let target = node.target.as_deref().unwrap_or(Path::new(""));
    let mut at = rel.parent().map(Path::to_path_buf).unwrap_or_default();
    let components: Vec<_> = target.components().collect();
    for (i, c) in components.iter().enumerate() {
        match c {
            Component::Normal(n) => {
                at.push(n);
                let last = i + 1 == components.len();
                if !last && tree.get(&at).is_some_and(|n| n.kind == Kind::Symlink) {
                    return Err(format!(
                        "symlink {rel:?} -> {target:?} passes through the symlink {at:?}"
                    ));
                }
            }
            Component::CurDir => {}
            Component::ParentDir => {
                if !at.pop() {
                    return Err(format!("symlink {rel:?} -> {target:?} leaves dest"));
                }
            }
            Component::RootDir | Component::Prefix(_) => {
                return Err(format!("symlink {rel:?} -> {target:?} is absolute"))
            }
        }
    }
    Ok(())
}

// ------------------------------------------------------------------------------------------
// restore
// ------------------------------------------------------------------------------------------

/// `restore`: input = flags, password length (mod 17), password, item count (mod 8), items,
/// mutation count (mod 4), mutations.
///
/// flags: `flags % 3` the format (node, openssl-md5, openssl-pbkdf2 with `flags / 3 % 3 + 1`
/// iterations), `flags >> 4` the gzip level (mod 10).
/// An item: kind byte (bit 0 directory, the rest picks the parent among the directories made so
/// far), name length byte (mod 12, plus 1), name bytes (mapped to `[a-z0-9_-]`), and for a
/// file a content length (u16 LE, mod 2048) and the content. A name already taken is skipped.
/// A mutation: op byte (mod 4: 0 and 1 xor a byte, 2 truncate, 3 insert a byte), position (u16
/// LE), value byte.
///
/// The tree is packed with `pack(.., PackOptions::new().encrypt(..).prefix("t"))`, mutated, and
/// restored with the right password and format and the MD5 of the unmutated file. Unmutated,
/// the restored tree equals the original (kinds, modes, mtimes, contents). Mutated, the restore
/// fails with `ChecksumMismatch` (the md5 of the unmutated file is given) and leaves neither the destination nor
/// a staging directory behind.
pub fn restore(data: &[u8]) -> Result<(), String> {
    let mut input = Input(data);
    let flags = input.byte();
    let format = match flags % 3 {
        0 => Format::Node,
        1 => Format::OpenSslMd5,
        _ => Format::OpenSslPbkdf2 {
            iterations: u32::from(flags / 3 % 3) + 1,
        },
    };
    let level = u32::from(flags >> 4) % 10;
    let pw_len = usize::from(input.byte() % 17);
    let password = Password::new(input.take(pw_len));

    let work = tempfile::tempdir().map_err(|e| format!("tempdir: {e}"))?;
    let src = work.path().join("src");
    fs::create_dir(&src).map_err(|e| format!("mkdir src: {e}"))?;
    let mut dirs = vec![PathBuf::new()];
    for _ in 0..input.byte() % 8 {
        let kind = input.byte();
        let parent = dirs[usize::from(kind >> 1) % dirs.len()].clone();
        let name_len = usize::from(input.byte() % 12) + 1;
        let name = safe_name(input.take(name_len));
        let is_dir = kind & 1 == 1;
        let content = if is_dir {
            &[][..]
        } else {
            let len = usize::from(input.u16() % 2048);
            input.take(len)
        };
        let rel = parent.join(name);
        let full = src.join(&rel);
        if full.symlink_metadata().is_ok() {
            continue;
        }
        if is_dir {
            fs::create_dir(&full).map_err(|e| format!("mkdir {rel:?}: {e}"))?;
            dirs.push(rel);
        } else {
            fs::write(&full, content).map_err(|e| format!("write {rel:?}: {e}"))?;
        }
    }

    let mut file = Vec::new();
    let options = PackOptions::new().level(level).format(format).prefix("t");
    let packed = pack_writer(&src, &mut file, Some(&password), options)
        .map_err(|e| format!("pack failed: {e:?}"))?;
    ensure!(
        packed.md5 == md5_bytes(&file),
        "pack reported md5 {} for bytes whose md5 is {}",
        packed.md5,
        md5_bytes(&file)
    );
    ensure!(
        packed.output_bytes == file.len() as u64,
        "pack reported {} bytes, wrote {}",
        packed.output_bytes,
        file.len()
    );

    let mut mutated = file.clone();
    for _ in 0..input.byte() % 4 {
        let op = input.byte() % 4;
        let pos = usize::from(input.u16());
        let value = input.byte();
        match op {
            0 | 1 => {
                if !mutated.is_empty() {
                    let i = pos % mutated.len();
                    mutated[i] ^= value.max(1);
                }
            }
            2 => mutated.truncate(pos % (mutated.len() + 1)),
            _ => mutated.insert(pos % (mutated.len() + 1), value),
        }
    }
    let changed = mutated != file;

    let dest = work.path().join("out");
    let options = RestoreOptions::new()
        .expected_md5(packed.md5)
        .format(format)
        .input_len(mutated.len() as u64);
    let result = restore_reader(&mutated[..], &dest, Some(&password), options);
    let top = list_dir(work.path())?;
    if !changed {
        let summary = result.map_err(|e| format!("an intact {format:?} backup failed: {e:?}"))?;
        ensure!(
            top == ["out", "src"],
            "after a restore the work dir holds {top:?}"
        );
        ensure!(
            summary.md5 == Some(packed.md5),
            "restore reported md5 {:?}, the file's is {}",
            summary.md5,
            packed.md5
        );
        ensure!(
            summary.input_bytes == file.len() as u64,
            "restore read {} of {} bytes",
            summary.input_bytes,
            file.len()
        );
        let out = list_dir(&dest)?;
        ensure!(out == ["t"], "the restored tree holds {out:?}, not just t");
        let original = scan(&src, true)?;
        let restored = scan(&dest.join("t"), true)?;
        if original != restored {
            return Err(format!(
                "the restored tree differs from the original:\noriginal: {original:#?}\nrestored: {restored:#?}"
            ));
        }
        return Ok(());
    }
    let e = match result {
        Ok(s) => {
            return Err(format!(
                "a modified backup ({} -> {} bytes) was restored: {s:?}",
                file.len(),
                mutated.len()
            ))
        }
        Err(e) => e,
    };
    ensure!(!is_internal(&e), "internal failure: {e:?}");
    ensure!(
        top == ["src"],
        "a failed restore ({e}) left {top:?} in the work dir"
    );
    if let Error::ChecksumMismatch { expected, actual } = &e {
        ensure!(
            *expected == packed.md5 && *actual == md5_bytes(&mutated),
            "ChecksumMismatch names {expected} / {actual}, expected {} / {}",
            packed.md5,
            md5_bytes(&mutated)
        );
        return Ok(());
    }
    Err(format!(
        "a modified backup failed with {e:?}; with an expected md5 it must be ChecksumMismatch"
    ))
}

/// One safe path component from fuzzer bytes.
fn safe_name(bytes: &[u8]) -> String {
    const ALPHABET: &[u8] = b"abcdefghijklmnopqrstuvwxyz0123456789_-";
    if bytes.is_empty() {
        return "x".to_string();
    }
    bytes
        .iter()
        .map(|&b| char::from(ALPHABET[usize::from(b) % ALPHABET.len()]))
        .collect()
}

// ------------------------------------------------------------------------------------------
// trees
// ------------------------------------------------------------------------------------------

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Kind {
    File,
    Dir,
    Symlink,
    Other,
}

/// What a tree comparison looks at. `inode` and `nlink` are left out of equality.
#[derive(Debug, Clone)]
struct Node {
    kind: Kind,
    mode: u32,
    mtime: i64,
    size: u64,
    target: Option<PathBuf>,
    content: Option<Vec<u8>>,
    inode: (u64, u64),
}

impl PartialEq for Node {
    fn eq(&self, other: &Node) -> bool {
        self.kind == other.kind
            && self.mode == other.mode
            && self.mtime == other.mtime
            && self.size == other.size
            && self.target == other.target
            && self.content == other.content
    }
}

/// The names in a directory, sorted.
fn list_dir(dir: &Path) -> Result<Vec<String>, String> {
    let mut names = Vec::new();
    for e in fs::read_dir(dir).map_err(|e| format!("read_dir {dir:?}: {e}"))? {
        let e = e.map_err(|e| format!("read_dir {dir:?}: {e}"))?;
        names.push(e.file_name().to_string_lossy().into_owned());
    }
    names.sort();
    Ok(names)
}

/// Every path under `root` (the root itself as the empty path), without following symlinks.
/// Directories lacking owner rwx get it (after their mode is recorded), so that the walk and
/// the tempdir's removal work without root.
fn scan(root: &Path, contents: bool) -> Result<BTreeMap<PathBuf, Node>, String> {
    fn walk(
        root: &Path,
        rel: PathBuf,
        contents: bool,
        out: &mut BTreeMap<PathBuf, Node>,
    ) -> Result<(), String> {
        let full = root.join(&rel);
        let meta = fs::symlink_metadata(&full).map_err(|e| format!("stat {full:?}: {e}"))?;
        let ft = meta.file_type();
        let kind = if ft.is_file() {
            Kind::File
        } else if ft.is_dir() {
            Kind::Dir
        } else if ft.is_symlink() {
            Kind::Symlink
        } else {
            Kind::Other
        };
        let target = if kind == Kind::Symlink {
            Some(fs::read_link(&full).map_err(|e| format!("readlink {full:?}: {e}"))?)
        } else {
            None
        };
        let content = if contents && kind == Kind::File {
            Some(fs::read(&full).map_err(|e| format!("read {full:?}: {e}"))?)
        } else {
            None
        };
        let mode = meta.mode() & 0o7777;
        out.insert(
            rel.clone(),
            Node {
                kind,
                mode,
                mtime: meta.mtime(),
                size: if kind == Kind::Dir { 0 } else { meta.len() },
                target,
                content,
                inode: (meta.dev(), meta.ino()),
            },
        );
        if kind == Kind::Dir {
            if mode & 0o700 != 0o700 {
                fs::set_permissions(&full, fs::Permissions::from_mode(mode | 0o700))
                    .map_err(|e| format!("chmod {full:?}: {e}"))?;
            }
            let mut children = Vec::new();
            for e in fs::read_dir(&full).map_err(|e| format!("read_dir {full:?}: {e}"))? {
                let e = e.map_err(|e| format!("read_dir {full:?}: {e}"))?;
                children.push(e.file_name());
            }
            for child in children {
                walk(root, rel.join(child), contents, out)?;
            }
        }
        Ok(())
    }
    let mut out = BTreeMap::new();
    walk(root, PathBuf::new(), contents, &mut out)?;
    Ok(out)
}

// ------------------------------------------------------------------------------------------
// bson
// ------------------------------------------------------------------------------------------

/// `bson`: input = the bytes of a `.bson` file.
///
/// The streaming validator never panics and agrees with a walk that cuts the input by each
/// document's length prefix and checks each document alone: the same count of good documents,
/// their bytes, and the first bad one's index and offset (a prefix cut short by the end of the
/// input is bad too).
pub fn bson(data: &[u8]) -> Result<(), String> {
    use a0backup::check::bson::{check_document, validate_bson, MAX_DOCUMENT_SIZE};
    let summary = validate_bson(&mut &data[..]).map_err(|e| format!("read error: {e}"))?;
    ensure!(
        summary.file_bytes == data.len() as u64,
        "read {} of {} bytes",
        summary.file_bytes,
        data.len()
    );
    let (mut at, mut good, mut bytes) = (0usize, 0u64, 0u64);
    let mut first_bad = None;
    while at < data.len() {
        let rest = &data[at..];
        let len = if rest.len() >= 4 {
            i32::from_le_bytes([rest[0], rest[1], rest[2], rest[3]])
        } else {
            -1
        };
        let fits = len >= 5 && (len as usize) <= MAX_DOCUMENT_SIZE && (len as usize) <= rest.len();
        if !fits || check_document(&rest[..len as usize]).is_err() {
            first_bad = Some((good, at as u64));
            break;
        }
        good += 1;
        bytes += len as u64;
        at += len as usize;
    }
    ensure!(
        summary.documents == good && summary.bytes == bytes,
        "validator counted {} documents / {} bytes, the reference walk {good} / {bytes}",
        summary.documents,
        summary.bytes
    );
    let found = summary.error.as_ref().map(|e| (e.document, e.offset));
    ensure!(
        found == first_bad,
        "validator's first error {found:?}, the reference walk's {first_bad:?}"
    );
    Ok(())
}

// ------------------------------------------------------------------------------------------
// inflate
// ------------------------------------------------------------------------------------------

/// `inflate`: input = flags, then a gzip stream (flags bit 4 clear), or raw deflate data that
/// the check wraps in a gzip member whose trailer matches what zlib-rs inflates it to (bit 4
/// set, so that damage inside the deflate data is not merely a CRC mismatch on both sides).
///
/// flags: bits 0-1 the worker threads less one, bits 2-3 the chunk size (1, 2, 4 or 64 KiB).
///
/// * The parallel inflater ([`InflateOptions::threads`]) gives exactly the bytes and the
///   trailing-zero count that the sequential zlib-rs path (flate2) gives, or fails when it
///   fails, with the same error variant and message; never a panic or an internal error.
/// * With wrapped deflate data that zlib-rs inflates, the parallel inflater gives that output.
pub fn inflate(data: &[u8]) -> Result<(), String> {
    let mut input = Input(data);
    let flags = input.byte();
    let threads = 1 + usize::from(flags & 3);
    let chunk = [1024, 2048, 4096, 65536][usize::from(flags >> 2 & 3)];
    let rest = input.rest();
    let (gz, expected) = if flags & 16 != 0 {
        wrap_deflate(rest)
    } else {
        (rest.to_vec(), None)
    };
    let sequential = gunzip(&gz, &InflateOptions::new());
    let options = InflateOptions::new().threads(threads).chunk_size(chunk);
    let parallel = gunzip(&gz, &options);
    for r in [&sequential, &parallel] {
        if let Err(e) = r {
            ensure!(!is_internal(e), "internal error: {e}");
        }
    }
    match (&sequential, &parallel) {
        (Ok(a), Ok(b)) => ensure!(
            a == b,
            "{options:?}: output or trailing zeros differ ({} / {} bytes, {} / {} zeros)",
            a.0.len(),
            b.0.len(),
            a.1,
            b.1
        ),
        (Err(a), Err(b)) => ensure!(
            std::mem::discriminant(a) == std::mem::discriminant(b)
                && a.to_string() == b.to_string(),
            "{options:?}: zlib-rs {a:?}, parallel {b:?}"
        ),
        _ => {
            return Err(format!(
                "{options:?}: zlib-rs {}, parallel {}",
                describe(&sequential),
                describe(&parallel)
            ))
        }
    }
    if let Some(expected) = expected {
        match &parallel {
            Ok((out, _)) => ensure!(out == &expected, "{options:?}: not zlib-rs's raw output"),
            Err(e) => return Err(format!("{options:?}: zlib-rs inflates it, parallel: {e}")),
        }
    }
    Ok(())
}

fn gunzip(gz: &[u8], options: &InflateOptions) -> Result<(Vec<u8>, u64), Error> {
    let mut r = GzipReader::new(gz, *options)?;
    let mut out = Vec::new();
    r.read_to_end(&mut out)?;
    Ok((out, r.trailing_zeros()))
}

/// Raw deflate data in a gzip member: with the trailer of zlib-rs's output and only the bytes
/// zlib-rs consumed when it inflates them (that output is returned too), else as it is with a
/// zero trailer.
fn wrap_deflate(deflate: &[u8]) -> (Vec<u8>, Option<Vec<u8>>) {
    let mut z = flate2::Decompress::new(false);
    let mut out = Vec::with_capacity(deflate.len() * 4 + 1024);
    let mut expected = None;
    let mut used = deflate.len();
    loop {
        let before = (z.total_in(), z.total_out());
        let input = &deflate[z.total_in() as usize..];
        match z.decompress_vec(input, &mut out, flate2::FlushDecompress::Finish) {
            Ok(flate2::Status::StreamEnd) => {
                used = z.total_in() as usize;
                expected = Some(out);
                break;
            }
            Ok(_) if out.len() >= 64 << 20 => break,
            Ok(_) if (z.total_in(), z.total_out()) == before && out.len() < out.capacity() => break,
            Ok(_) => out.reserve(out.capacity().max(1024)),
            Err(_) => break,
        }
    }
    let mut gz = vec![0x1f, 0x8b, 8, 0, 0, 0, 0, 0, 0, 3];
    gz.extend_from_slice(&deflate[..used]);
    match &expected {
        Some(data) => {
            gz.extend_from_slice(&crc32(data).to_le_bytes());
            gz.extend_from_slice(&(data.len() as u32).to_le_bytes());
        }
        None => gz.extend_from_slice(&[0; 8]),
    }
    (gz, expected)
}

fn crc32(data: &[u8]) -> u32 {
    let mut h = flate2::Crc::new();
    h.update(data);
    h.sum()
}

// ------------------------------------------------------------------------------------------
// extjson
// ------------------------------------------------------------------------------------------

/// The outcome of writing one document: its JSON, or the error's offset and detail.
fn write_json(
    doc: &[u8],
    options: a0backup::extjson::ExtJsonOptions,
) -> Result<Result<String, (u64, String)>, String> {
    let mut out = Vec::new();
    match a0backup::extjson::write_document(doc, &mut out, options) {
        Ok(()) => String::from_utf8(out)
            .map(Ok)
            .map_err(|_| "the JSON is not UTF-8".to_string()),
        Err(Error::Malformed {
            at: Some(at),
            detail,
            ..
        }) => {
            ensure!(
                out.is_empty(),
                "a damaged document wrote {} bytes",
                out.len()
            );
            ensure!(
                at <= doc.len() as u64,
                "error offset {at} past the document ({} bytes)",
                doc.len()
            );
            Ok(Err((at, detail)))
        }
        Err(other) => Err(format!("not a Malformed error: {other:?}")),
    }
}

/// JSON text as a value, `None` past serde_json's nesting limit.
fn json_value(text: &str) -> Result<Option<serde_json::Value>, String> {
    match serde_json::from_str(text) {
        Ok(v) => Ok(Some(v)),
        Err(e) if e.to_string().contains("recursion limit") => Ok(None),
        Err(e) => Err(format!("not JSON ({e}): {text}")),
    }
}

/// `extjson`: input = flags, then one BSON document. flags: bit 0 relaxed.
///
/// * Writing never panics; a damaged document is [`Error::Malformed`] at an offset within it,
///   writes nothing, and is damaged alike in every mode (canonical, relaxed, pretty).
/// * The output is UTF-8 and JSON (where serde_json's nesting limit lets it be read), on one
///   line, and pretty output is the same JSON.
/// * What the writer accepts, `check::bson::check_document` (framing only) accepts.
/// * The document inside `{"pad": <70 000 bytes>, "d": DOC}`, whose JSON is past the writer's
///   64 KiB buffer (checked, then streamed), is written as `{"pad":"...","d":` + the document's
///   JSON + `}`, or refused at the document's error offset moved by its place (nesting limit
///   aside).
/// * An `ExtJsonWriter` writes the same bytes, and goes on after a damaged document.
pub fn extjson(data: &[u8]) -> Result<(), String> {
    use a0backup::extjson::{ExtJsonOptions, ExtJsonWriter};
    let mut input = Input(data);
    let flags = input.byte();
    let doc = input.rest();
    let options = ExtJsonOptions::new().relaxed(flags & 1 != 0);
    let compact = write_json(doc, options)?;
    let pretty = write_json(doc, options.pretty(true))?;
    let checked = a0backup::check::bson::check_document(doc);
    match (&compact, &pretty) {
        (Ok(c), Ok(p)) => {
            ensure!(!c.contains('\n'), "compact JSON holds a newline");
            ensure!(
                json_value(c)? == json_value(p)?,
                "pretty and compact differ:\n{c}\n{p}"
            );
            ensure!(
                checked.is_ok(),
                "written, but check_document says {checked:?}"
            );
        }
        (Err(c), Err(p)) => ensure!(c == p, "compact error {c:?}, pretty error {p:?}"),
        _ => return Err(format!("compact {compact:?}, pretty {pretty:?}")),
    }

    // The same document inside a large one.
    let envelope_ok =
        doc.len() >= 5 && doc[..4] == (doc.len() as i32).to_le_bytes() && doc.last() == Some(&0);
    if envelope_ok && doc.len() < 1 << 20 {
        let pad = "p".repeat(70_000);
        let mut outer = vec![0u8; 4];
        outer.extend_from_slice(b"\x02pad\0");
        outer.extend_from_slice(&(pad.len() as i32 + 1).to_le_bytes());
        outer.extend_from_slice(pad.as_bytes());
        outer.extend_from_slice(b"\0\x03d\0");
        let base = outer.len() as u64;
        outer.extend_from_slice(doc);
        outer.push(0);
        let len = outer.len() as i32;
        outer[..4].copy_from_slice(&len.to_le_bytes());
        let wrapped = write_json(&outer, options)?;
        match (&compact, &wrapped) {
            (Ok(inner), Ok(json)) => {
                let want = format!("{{\"pad\":\"{pad}\",\"d\":{inner}}}");
                ensure!(
                    *json == want,
                    "the wrapped document's JSON is not the composition"
                );
            }
            (Err((at, _)), Err((outer_at, _))) => {
                ensure!(
                    *outer_at == at + base,
                    "wrapped error at {outer_at}, alone at {at} (+{base})"
                );
            }
            (Ok(_), Err((_, detail))) if detail.contains("deeper") => {}
            _ => return Err(format!("alone {compact:?}, wrapped {wrapped:?}")),
        }
    }

    let mut w = ExtJsonWriter::new(Vec::new(), options);
    let first = w.write_document(doc).is_ok();
    w.write_document(b"\x05\0\0\0\0")
        .map_err(|e| format!("an empty document after this one: {e}"))?;
    let got = String::from_utf8(w.into_inner()).map_err(|_| "not UTF-8".to_string())?;
    let want = match &compact {
        Ok(json) => format!("{json}{{}}"),
        Err(_) => "{}".to_string(),
    };
    ensure!(
        first == compact.is_ok() && got == want,
        "ExtJsonWriter wrote {got:?}, want {want:?}"
    );
    Ok(())
}

// ------------------------------------------------------------------------------------------
// query
// ------------------------------------------------------------------------------------------

/// `query`: input = the filter's length (u16 LE), the filter's text (UTF-8, lossily), then one
/// BSON document.
///
/// * Parsing never panics; a refused filter is [`Error::InvalidArgument`].
/// * Matching never panics and gives the same answer twice; on a document the Extended JSON
///   writer accepts it never fails, and when it fails the writer refuses the document too.
/// * `{"$and": [F]}`, `{"$or": [F, F]}` and `{"$and": [F, {}]}` match as `F` does.
pub fn query(data: &[u8]) -> Result<(), String> {
    use a0backup::query::Filter;
    let mut input = Input(data);
    let n = usize::from(input.u16());
    let text = String::from_utf8_lossy(input.take(n)).into_owned();
    let doc = input.rest();
    let filter = match Filter::parse(&text) {
        Ok(f) => f,
        Err(Error::InvalidArgument(_)) => return Ok(()),
        Err(other) => return Err(format!("parsing {text:?}: not InvalidArgument: {other:?}")),
    };
    let verdict = filter.matches(doc);
    let valid =
        a0backup::extjson::write_document(doc, &mut std::io::sink(), Default::default()).is_ok();
    match &verdict {
        Ok(_) => {}
        Err(Error::Malformed { .. }) => {
            ensure!(!valid, "{text}: a valid document gave {verdict:?}")
        }
        Err(other) => return Err(format!("{text}: matching gave {other:?}")),
    }
    let again = filter.matches(doc).map_err(|e| e.to_string());
    ensure!(
        again == verdict.as_ref().map(|b| *b).map_err(|e| e.to_string()),
        "{text}: not deterministic"
    );
    let Ok(matched) = verdict else { return Ok(()) };
    for wrapped in [
        format!("{{\"$and\": [{text}]}}"),
        format!("{{\"$or\": [{text}, {text}]}}"),
        format!("{{\"$and\": [{text}, {{}}]}}"),
    ] {
        // Wrapping can pass serde_json's nesting limit; only a filter that parses is compared.
        if let Ok(f) = Filter::parse(&wrapped) {
            let got = f.matches(doc).map_err(|e| e.to_string())?;
            ensure!(
                got == matched,
                "{wrapped}: {got}, the filter alone: {matched}"
            );
        }
    }
    Ok(())
}
