//! # a0backup
//!
//! Decrypt, verify, restore and create the encrypted backups of Auth0 Appliance nodes.
//!
//! An appliance backup (`backup-retrieve.tar.gz.enc`) is a gzip-compressed tar of a `mongodump`
//! tree, encrypted with AES-256-CTR under a key and IV that Node's `crypto.createCipher` derives
//! from a password (OpenSSL's `EVP_BytesToKey` with MD5, one round, no salt). `a0cli
//! backup-status` reports the MD5 of the encrypted file. This crate reads and writes that format
//! (and the `openssl enc` salted and PBKDF2 formats) as streams, in constant memory.
//!
//! ## Restore a backup in a few lines
//!
//! The main job: md5 checked, decrypted, gunzipped and unpacked in one pass, into a directory
//! that appears only when everything checked out.
//!
//! ```no_run
//! use a0backup::{restore, BackupStatus, Password};
//! use std::path::Path;
//!
//! let status = BackupStatus::from_file(Path::new("backup-status.txt"))?;
//! let options = restore::RestoreOptions::new().expected_md5(status.md5);
//! let summary = restore::restore_file(
//!     Path::new("backup-retrieve.tar.gz.enc"),
//!     Path::new("restored"),
//!     Some(&Password::from("Passw0rd")),
//!     options,
//! )?;
//! println!("{} files", summary.unpacked.files);
//! # Ok::<(), a0backup::Error>(())
//! ```
//!
//! ## Decrypt as a stream
//!
//! ```
//! use std::io::{Cursor, Read, Write};
//! use a0backup::{DecryptOptions, DecryptReader, EncryptWriter, Format, Password};
//!
//! let password = Password::from("Passw0rd");
//! let mut w = EncryptWriter::new(Vec::new(), &password, Format::Node)?;
//! w.write_all(b"a mongodump tree, gzipped")?;
//! let encrypted = w.finish()?;
//!
//! let mut r = DecryptReader::new(Cursor::new(encrypted), &password, DecryptOptions::new())?;
//! let mut plain = String::new();
//! r.read_to_string(&mut plain)?;
//! assert_eq!(plain, "a mongodump tree, gzipped");
//! # Ok::<(), a0backup::Error>(())
//! ```
//!
//! ## Seek
//!
//! CTR mode lets a reader jump anywhere: [`DecryptReader`] is [`std::io::Seek`] when its inner
//! reader is.
//!
//! ```
//! use std::io::{Cursor, Read, Seek, SeekFrom, Write};
//! use a0backup::{DecryptOptions, DecryptReader, EncryptWriter, Format, Password};
//!
//! let password = Password::from("Passw0rd");
//! let mut w = EncryptWriter::new(Vec::new(), &password, Format::Node)?;
//! w.write_all(b"0123456789")?;
//! let mut r = DecryptReader::new(Cursor::new(w.finish()?), &password, DecryptOptions::new())?;
//! r.seek(SeekFrom::Start(7))?;
//! let mut tail = String::new();
//! r.read_to_string(&mut tail)?;
//! assert_eq!(tail, "789");
//! # Ok::<(), a0backup::Error>(())
//! ```
//!
//! ## Verify an MD5
//!
//! ```
//! use a0backup::{BackupStatus, checksum::md5_bytes};
//! let status = BackupStatus::parse(r#"{"arguments": {"md5": "900150983cd24fb0d6963f7d28e17f72"}}"#)?;
//! md5_bytes(b"abc").verify(&status.md5)?;
//! assert!(md5_bytes(b"abd").verify(&status.md5).is_err());
//! # Ok::<(), a0backup::Error>(())
//! ```
//!
//! ## Pack
//!
//! The other direction, as the appliance does it: a directory to a `.tar.gz.enc`, gzip on every
//! core, returning the md5 that `a0cli backup-status` would report.
//!
//! ```
//! use a0backup::pack::{pack_writer, PackOptions};
//! use a0backup::Password;
//! let tree = tempfile::tempdir()?;
//! std::fs::create_dir(tree.path().join("dump"))?;
//! std::fs::write(tree.path().join("dump/users.bson"), b"\x05\0\0\0\0")?;
//! let password = Password::from("Passw0rd");
//! let mut backup = Vec::new();
//! let summary = pack_writer(&tree.path().join("dump"), &mut backup, Some(&password), PackOptions::new())?;
//! assert_eq!(summary.md5, a0backup::checksum::md5_bytes(&backup));
//! # Ok::<(), a0backup::Error>(())
//! ```
//!
//! ## Formats
//!
//! | [`Format`] | layout | key derivation | made by |
//! | --- | --- | --- | --- |
//! | `Node` | no header | `EVP_BytesToKey(MD5)`, no salt | the appliance, Node `createCipher`, `openssl enc -nosalt -md md5` |
//! | `OpenSslMd5` | `Salted__` + salt | `EVP_BytesToKey(MD5)` with salt | `openssl enc -md md5` |
//! | `OpenSslPbkdf2` | `Salted__` + salt | PBKDF2-HMAC-SHA256 | `openssl enc -pbkdf2 -md sha256` |
//!
//! ## How the API is shaped
//!
//! One convention for every job (restore, check, list, unpack, pack, decrypt, encrypt, dump,
//! find, diff), in the manner of `std::fs::OpenOptions` and flate2's builders:
//!
//! * **Options are built, then given by value.** Each job has one options type,
//!   `XxxOptions::new()` (also its `Default`), changed by methods that take and return it
//!   (`fn replace(mut self, yes: bool) -> Self`) and passed by value as the job's last
//!   argument. Their fields are private and they have no getters: a caller sets what it means
//!   and the job reads it. Settings that shape a lower layer are that layer's options, given
//!   whole: [`archive::UnpackOptions`] (limits, links, selection) to `.unpack(..)`,
//!   [`gzip::InflateOptions`] to `.inflate(..)`.
//! * **A password is an argument**, never an option: `&Password` where the job cannot run
//!   without one (decrypt, encrypt), `Option<&Password>` where it reads or writes either a
//!   `.tar.gz.enc` or a plain `.tar.gz` (restore, check, list, pack, dump, find, diff). It is
//!   borrowed, and wiped when dropped ([`Password`]); a dump, which reads on a thread of its
//!   own while its iterator is held, keeps a copy for that time, wiped in the same way.
//! * **What to check is an option:** `.expected_md5(status.md5)` takes the digest the
//!   appliance reported ([`BackupStatus::md5`]); the file's md5 is computed on a thread of its
//!   own and compared at the end, before anything is published.
//! * **Progress and cancellation are one option:** `.progress(Progress::new(|done, total| ..))`;
//!   returning `false` cancels the job, which fails with [`Error::Cancelled`] and leaves
//!   nothing behind. A job reading from a `Read` knows the input's length only when told:
//!   `.input_len(n)`.
//! * **The same idea has the same name** in Rust, C, Node and Python: `replace` (an existing
//!   destination or output may be replaced; the command's `--force`), `sync`, `expected_md5`,
//!   `format`, `progress`, `threads`.
//! * **A job returns a summary** (`Result<XxxSummary>`): plain data with public fields,
//!   `#[non_exhaustive]` so that fields can be added, `Serialize` with the `serde` feature.
//!   A job whose result can be larger than memory (the rows of a check, the entries of a list,
//!   the documents of a dump) returns an iterator instead, and its summary at the end.
//! * **Errors are [`Error`]**, one variant per condition a caller may treat differently
//!   (truncated input, each [`error::Limit`], each [`error::Leftover`]), never text to match.
//!
//! ## The safety policy of unpack
//!
//! Archives are treated as hostile. [`archive::unpack`] and [`restore`] write only regular files
//! and directories inside the destination by default; they refuse absolute paths, `..`, paths
//! through symlinks, devices, FIFOs and colliding entries, allow links only on request and only
//! inside, drop setuid/setgid/sticky bits, never set ownership, and stop at limits on size,
//! entry count and path length. Each refusal is an [`Error::UnsafeEntry`] or
//! [`Error::LimitExceeded`] naming what was refused. See the [`archive`] module docs.
//!
//! ## Where things are
//!
//! One concern per module, `error` below everything, nothing in the core aware of the C ABI or
//! the command:
//!
//! | to read about | open |
//! | --- | --- |
//! | passwords, key derivation, the formats | [`kdf`] |
//! | AES-256-CTR itself | [`cipher`] |
//! | decrypting and encrypting streams, format detection | [`stream`] (`stream/detect.rs`) |
//! | MD5 and `md5sum` lines | [`checksum`] |
//! | the `a0cli backup-status` record | [`status`] |
//! | gzip: checked reader, inflate on several cores (`src/gzip/inflate/`), parallel writer | [`gzip`] |
//! | tar: the one parser, the path policy, the file-system writer, the tar.gz writer | [`archive`] (`tar_reader.rs`, `policy.rs`, `extract.rs`, `pack.rs`) |
//! | a job's input: decrypt if a password is given, md5 on the side, checked at the end | `src/source.rs` |
//! | whole jobs: restore, check, pack, decrypt/encrypt a file | [`restore`] (`target.rs`, `extract.rs`, `publish.rs`), [`check`] (`table.rs`, `spill.rs`), [`pack`], [`files`] |
//! | documents: Extended JSON, query filters | [`extjson`], [`query`] |
//! | threads and bounded channels between the steps | `src/pipeline.rs` |
//! | small pieces every layer uses: `read_full`, counting and labelled readers | `src/io_ext.rs` |
//! | locked temporaries and the leftover sweep | `src/durable.rs` |
//! | a file that appears under its name only once complete | `src/atomic_file.rs` |
//! | renames that exchange or never replace; the umask; writeback hints | `src/rename.rs`, `src/process.rs`, `src/writeback.rs` |
//! | whole trees relative to directory handles: removal, fsync, mount search | `src/tree.rs` |
//! | answers without a restore: a collection's documents, find across backups, diff of two | [`dump`] (`dump/source.rs`: the walk they share), [`find`], [`diff`] |
//! | errors, exit codes and C result codes | [`error`] |
//!
//! `tests/layers.rs` holds this layering: no module imports in a cycle, `archive`, `gzip`,
//! `stream` and `error` import no job, and nothing outside `ffi` knows the C API.
//!
//! ## The C ABI
//!
//! With the `capi` feature, the `ffi` module exports the same operations to C
//! (`include/a0backup.h`, generated from it by cbindgen), Node and Python: by file path or over
//! read/write callbacks. The crate itself is an rlib only; the C libraries (shared, with a
//! versioned soname, and static, with the header and `a0backup.pc`) are built by cargo-c
//! (`cargo cbuild`, `cargo cinstall`) or by `make capi` / `make install`. The C contract is
//! the module docs of `ffi`, also at the top of the header.
//!
//! ## Feature flags
//!
//! * `cli`: builds the `a0backup` command-line tool and its dependencies. Off by default, so a
//!   library user pays for none of them.
//! * `capi`: compiles the C API (the `ffi` module and its `a0b_*` exports). Off by default: a
//!   crate that depends on a0backup compiles and links none of it.

#![deny(missing_docs)]
#![deny(unsafe_code)]
#![warn(rust_2018_idioms, missing_debug_implementations)]

pub mod archive;
mod atomic_file;
pub mod check;
pub mod checksum;
pub mod cipher;
pub mod diff;
mod digest;
pub mod dump;
mod durable;
pub mod error;
pub mod extjson;
#[cfg(feature = "capi")]
pub mod ffi;
pub mod files;
pub mod find;
pub mod gzip;
mod io_ext;
pub mod kdf;
pub mod pack;
mod pipeline;
mod process;
pub mod progress;
pub mod query;
mod rawbson;
mod rename;
pub mod restore;
mod source;
pub mod status;
pub mod stream;
mod tree;
mod writeback;

pub use checksum::Md5Digest;
pub use cipher::Cipher;
pub use error::{Error, Result};
pub use kdf::{Format, KeyIv, Password};
pub use progress::Progress;
pub use status::BackupStatus;
pub use stream::{DecryptOptions, DecryptReader, EncryptWriter};

/// The README's examples, compiled and run as doctests.
#[doc = include_str!("../README.md")]
#[cfg(doctest)]
pub struct ReadmeDoctests;
