//! The one tar parser that `list`, `unpack` and `restore` share.
//!
//! It reads a tar stream entry by entry the way GNU tar does, with three differences, all on
//! purpose:
//!
//! * Metadata is bounded before it is read: a GNU long name or link is at most
//!   `max_path_len` bytes and a PAX header at most `2 × max_path_len + 64 KiB`, so a 1 GiB
//!   record is refused after reading its 512-byte header, not after allocating 1 GiB.
//! * Where readers disagree, it refuses instead of picking a reading: two long names for one
//!   entry (GNU `L` records or PAX `path`, in any mix), two PAX headers for one entry, a
//!   malformed or repeated PAX record, a PAX `size` that contradicts the header's, a global PAX
//!   header that renames or resizes, a symlink, device or FIFO that declares data (GNU tar
//!   skips it, Go and Python do not), extension records that no entry follows.
//! * Sparse files, in every encoding (GNU `S` and the PAX `GNU.sparse.*` formats 0.0, 0.1 and
//!   1.0), are refused: their data is a map plus fragments, and reading it as plain content
//!   would write a file of the wrong length.
//!
//! The reader stops at the first zero block (as GNU tar, Python and tar-rs do); a stream that
//! ends cleanly at a header boundary without one is accepted with a warning, because the gzip
//! layer under it has already proved the stream complete (CRC and length).

use std::io::{self, Read};

use crate::error::{Error, Input, Limit, Result};

use super::header::{Header, HeaderError, BLOCK};
use super::pax::{self, PaxOwner, PaxRecords};
use super::EntryKind;

/// A fixed allowance, on top of two paths, for the other keywords of one PAX header (times,
/// owner names, a few extended attributes).
const PAX_EXTRA: u64 = 64 * 1024;

/// One entry, with its extension records applied.
#[derive(Debug, Clone)]
pub(crate) struct TarEntry {
    /// The name as stored (long-name or PAX `path` applied), not yet checked for safety.
    pub(crate) path: Vec<u8>,
    /// The link target of a symlink or hardlink.
    pub(crate) link: Option<Vec<u8>>,
    pub(crate) kind: EntryKind,
    /// Bytes of data that follow the header (for a regular file, its content).
    pub(crate) size: u64,
    /// Permission bits as stored (setuid, setgid and sticky included).
    pub(crate) mode: u32,
    /// Seconds since the epoch; negative before 1970.
    pub(crate) mtime: i64,
    /// The owner, PAX records applied (listed, never applied).
    pub(crate) owner: Owner,
    /// A character or block device's major and minor numbers; (0, 0) for other kinds.
    pub(crate) device: (u64, u64),
}

/// An entry's owner as stored: ids and names (empty when the archive names none).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub(crate) struct Owner {
    pub(crate) uid: u64,
    pub(crate) gid: u64,
    pub(crate) uname: Vec<u8>,
    pub(crate) gname: Vec<u8>,
}

/// How the archive ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum TarEnd {
    /// A zero block: the end-of-archive marker.
    Marker,
    /// The stream ended at a header boundary without the marker.
    NoMarker,
}

/// Extension records read so far for the entry that follows them.
#[derive(Default)]
struct Pending {
    long_name: Option<Vec<u8>>,
    long_link: Option<Vec<u8>>,
    pax: Option<PaxRecords>,
    /// Offset of the first pending record, for messages.
    since: Option<u64>,
}

/// Streams entries out of an uncompressed tar stream.
pub(crate) struct TarReader<R> {
    inner: R,
    max_path_len: usize,
    max_entries: u64,
    /// Headers that count as entries (global PAX headers included).
    entries: u64,
    /// Bytes consumed from `inner`.
    offset: u64,
    /// Data of the current entry not yet read, then its padding.
    remaining: u64,
    padding: u64,
    end: Option<TarEnd>,
    block: Box<[u8; BLOCK]>,
    warnings: Vec<String>,
}

impl<R: Read> TarReader<R> {
    pub(crate) fn new(inner: R, max_path_len: usize, max_entries: u64) -> Self {
        TarReader {
            inner,
            max_path_len,
            max_entries,
            entries: 0,
            offset: 0,
            remaining: 0,
            padding: 0,
            end: None,
            block: Box::new([0; BLOCK]),
            warnings: Vec::new(),
        }
    }

    /// The stream under the reader, positioned after the end-of-archive marker, and what was
    /// accepted with a warning.
    pub(crate) fn into_parts(self) -> (R, Vec<String>) {
        let mut warnings = self.warnings;
        if self.end == Some(TarEnd::NoMarker) {
            warnings.push(
                "the archive lacks its end-of-archive blocks; the gzip trailer shows the stream is complete".into(),
            );
        }
        (self.inner, warnings)
    }

    fn malformed(&self, at: u64, detail: impl Into<String>) -> Error {
        Error::malformed(Input::Tar, Some(at), detail)
    }

    fn truncated(&self) -> Error {
        self.malformed(self.offset, "the stream ended inside an entry (truncated)")
    }

    fn refuse(at: u64, path: &[u8], reason: impl Into<String>) -> Error {
        Error::UnsafeEntry {
            path: super::escape_name(path),
            reason: format!("{} (header at byte {at})", reason.into()),
            opt_in: None,
        }
    }

    /// Reads up to `buf.len()` bytes of the current entry's data; 0 at its end.
    ///
    /// # Errors
    ///
    /// [`Error::Malformed`] when the stream ends before the entry's data does.
    pub(crate) fn read_data(&mut self, buf: &mut [u8]) -> Result<usize> {
        if self.remaining == 0 || buf.is_empty() {
            return Ok(0);
        }
        let want = buf
            .len()
            .min(usize::try_from(self.remaining).unwrap_or(usize::MAX));
        let n = loop {
            match self.inner.read(&mut buf[..want]) {
                Ok(n) => break n,
                Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
                Err(e) => return Err(Error::from(e)),
            }
        };
        if n == 0 {
            return Err(self.truncated());
        }
        self.remaining -= n as u64;
        self.offset += n as u64;
        Ok(n)
    }

    /// Skips what is left of the current entry's data and its padding.
    fn skip_rest(&mut self) -> Result<()> {
        let mut scratch = [0u8; 8192];
        let mut left = self.remaining + self.padding;
        self.remaining = left;
        self.padding = 0;
        while left > 0 {
            let n = self.read_data(&mut scratch)?;
            left -= n as u64;
        }
        Ok(())
    }

    /// Reads the next header block. `Ok(false)` at a clean end of stream.
    fn read_block(&mut self) -> Result<bool> {
        let n = crate::io_ext::read_full(&mut self.inner, &mut self.block[..])?;
        self.offset += n as u64;
        match n {
            0 => Ok(false),
            BLOCK => Ok(true),
            _ => Err(self.malformed(
                self.offset - n as u64,
                "the stream ended inside a header (truncated)",
            )),
        }
    }

    /// Reads a whole extension record's data, at most `limit` bytes.
    fn read_record(&mut self, size: u64, max: u64, limit: Limit) -> Result<Vec<u8>> {
        if size > max {
            return Err(Error::LimitExceeded { limit, max });
        }
        self.start_data(size);
        let mut data = vec![0u8; size as usize];
        let mut filled = 0;
        while filled < data.len() {
            filled += self.read_data(&mut data[filled..])?;
        }
        self.skip_rest()?;
        Ok(data)
    }

    fn start_data(&mut self, size: u64) {
        self.remaining = size;
        self.padding = (BLOCK as u64 - size % BLOCK as u64) % BLOCK as u64;
    }

    fn count_entry(&mut self) -> Result<()> {
        self.entries += 1;
        if self.entries > self.max_entries {
            return Err(Error::LimitExceeded {
                limit: Limit::EntryCount,
                max: self.max_entries,
            });
        }
        Ok(())
    }

    /// The next entry, or `None` at the end of the archive (see [`end`](Self::end)).
    ///
    /// # Errors
    ///
    /// [`Error::Malformed`] for a damaged or truncated stream, [`Error::UnsafeEntry`] for an
    /// ambiguous or sparse entry, [`Error::LimitExceeded`] for oversized metadata or too many
    /// entries.
    pub(crate) fn next_entry(&mut self) -> Result<Option<TarEntry>> {
        if self.end.is_some() {
            return Ok(None);
        }
        self.skip_rest()?;
        let mut pending = Pending::default();
        loop {
            let at = self.offset;
            if !self.read_block()? {
                if let Some(since) = pending.since {
                    return Err(self.malformed(
                        since,
                        "extension records at the end of the stream, with no entry after them",
                    ));
                }
                self.end = Some(TarEnd::NoMarker);
                return Ok(None);
            }
            if self.block.iter().all(|&b| b == 0) {
                if let Some(since) = pending.since {
                    return Err(self.malformed(
                        since,
                        "extension records followed by the end-of-archive marker",
                    ));
                }
                self.end = Some(TarEnd::Marker);
                return Ok(None);
            }
            let block = *self.block;
            let header = match Header::parse(&block) {
                Ok(h) => h,
                Err(_) if at == 0 => {
                    return Err(self.malformed(at, "not a tar archive (bad header checksum)"))
                }
                Err(_) => return Err(self.malformed(at, "bad header checksum")),
            };
            let size = header.size().map_err(|e| self.field_error(at, e))?;
            let flag = header.typeflag();
            match flag {
                b'L' | b'K' => {
                    let slot = if flag == b'L' {
                        &pending.long_name
                    } else {
                        &pending.long_link
                    };
                    if slot.is_some() {
                        return Err(Self::refuse(
                            at,
                            &header.name(),
                            "two GNU long-name records for one entry",
                        ));
                    }
                    let max = self.max_path_len as u64;
                    let limit = if flag == b'L' {
                        Limit::PathLength
                    } else {
                        Limit::LinkTargetLength
                    };
                    // The record holds the name and its terminating NUL: one byte more than
                    // the limit on the name, which is the limit to report.
                    if size > max + 1 {
                        return Err(Error::LimitExceeded { limit, max });
                    }
                    let data = self.read_record(size, max + 1, limit)?;
                    let end = data.iter().position(|&b| b == 0).unwrap_or(data.len());
                    let value = data[..end].to_vec();
                    pending.since.get_or_insert(at);
                    if flag == b'L' {
                        pending.long_name = Some(value);
                    } else {
                        pending.long_link = Some(value);
                    }
                }
                b'x' => {
                    if pending.pax.is_some() {
                        return Err(Self::refuse(
                            at,
                            &header.name(),
                            "two PAX extended headers for one entry",
                        ));
                    }
                    let limit = 2 * self.max_path_len as u64 + PAX_EXTRA;
                    let data = self.read_record(size, limit, Limit::PaxHeader)?;
                    let records = pax::parse(&data)
                        .map_err(|why| self.malformed(at, format!("PAX extended header: {why}")))?;
                    pending.since.get_or_insert(at);
                    pending.pax = Some(records);
                }
                b'g' => {
                    self.count_entry()?;
                    if let Some(since) = pending.since {
                        return Err(self.malformed(
                            since,
                            "a global PAX header between extension records and their entry",
                        ));
                    }
                    let limit = 2 * self.max_path_len as u64 + PAX_EXTRA;
                    let data = self.read_record(size, limit, Limit::PaxGlobalHeader)?;
                    let records = pax::parse(&data)
                        .map_err(|why| self.malformed(at, format!("PAX global header: {why}")))?;
                    if records.path.is_some()
                        || records.linkpath.is_some()
                        || records.size.is_some()
                        || records.sparse.is_some()
                    {
                        return Err(Self::refuse(
                            at,
                            &header.name(),
                            "a global PAX header that sets a path, link target, size or sparse map for every later entry",
                        ));
                    }
                }
                _ => return self.entry(at, &header, size, pending).map(Some),
            }
        }
    }

    fn field_error(&self, at: u64, e: HeaderError) -> Error {
        match e {
            HeaderError::Checksum => self.malformed(at, "bad header checksum"),
            HeaderError::Number(field) => {
                self.malformed(at, format!("the {field} field is not a number"))
            }
        }
    }

    /// Applies the pending extension records to an ordinary header.
    fn entry(
        &mut self,
        at: u64,
        header: &Header<'_>,
        header_size: u64,
        pending: Pending,
    ) -> Result<TarEntry> {
        self.count_entry()?;
        let flag = header.typeflag();
        let pax = pending.pax.unwrap_or_default();
        let path = match (pax.path, pending.long_name) {
            (Some(_), Some(long)) => {
                return Err(Self::refuse(
                    at,
                    &long,
                    "both a GNU long name and a PAX path for one entry",
                ))
            }
            (Some(p), None) | (None, Some(p)) => p,
            (None, None) => header.name(),
        };
        if let Some(key) = pax.sparse {
            return Err(Self::refuse(
                at,
                &path,
                format!("sparse files are not extracted (PAX {key})"),
            ));
        }
        let link = match (pax.linkpath, pending.long_link) {
            (Some(_), Some(_)) => {
                return Err(Self::refuse(
                    at,
                    &path,
                    "both a GNU long link name and a PAX linkpath for one entry",
                ))
            }
            (Some(l), None) | (None, Some(l)) => Some(l),
            (None, None) => Some(header.link_name()).filter(|l| !l.is_empty()),
        };
        let size = match pax.size {
            Some(s) if header_size == 0 || header_size == s => s,
            Some(s) => {
                return Err(Self::refuse(
                    at,
                    &path,
                    format!("the PAX size ({s}) contradicts the header's size ({header_size})"),
                ))
            }
            None => header_size,
        };
        let mode = header.mode().map_err(|e| self.field_error(at, e))?;
        if let Some(bad) = &pax.bad_mtime {
            self.warnings.push(format!(
                "{}: PAX mtime {bad:?} is not a number; its numeric prefix or the header's time is used",
                super::escape_name(&path)
            ));
        }
        let mtime = match pax.mtime {
            Some(t) => t,
            None => header.mtime().map_err(|e| self.field_error(at, e))?,
        };
        let owner = Self::owner(header, pax.owner);
        let old_style_dir = path.ends_with(b"/") && matches!(flag, b'0' | b'\0' | b'7');
        let kind = match flag {
            _ if old_style_dir => EntryKind::Directory,
            b'0' | b'\0' | b'7' => EntryKind::File,
            b'1' => EntryKind::Hardlink,
            b'2' => EntryKind::Symlink,
            b'3' => EntryKind::Device,
            b'4' => EntryKind::BlockDevice,
            b'5' | b'D' => EntryKind::Directory,
            b'6' => EntryKind::Fifo,
            b'V' => EntryKind::VolumeLabel,
            b'S' => {
                return Err(Self::refuse(
                    at,
                    &path,
                    "sparse files are not extracted (GNU sparse entry)",
                ))
            }
            _ => EntryKind::Other,
        };
        // Which entries carry data is where readers part ways. GNU tar, Go and Python agree
        // that directories and hardlinks carry none, whatever their size field says (old
        // writers put the linked file's size there). For symlinks, devices, FIFOs and old-style
        // directories GNU tar skips the declared size and the others skip nothing, so a
        // non-zero size there is refused rather than read one way.
        // An old-style directory (a regular type flag and a trailing slash) with a size is read
        // with data by GNU tar and without by Go and Python: refused below.
        let size = match kind {
            EntryKind::Hardlink => 0,
            EntryKind::Directory if flag == b'5' => 0,
            EntryKind::File | EntryKind::Other | EntryKind::VolumeLabel => size,
            EntryKind::Directory if flag == b'D' => size,
            _ if size == 0 => 0,
            _ => {
                return Err(Self::refuse(
                    at,
                    &path,
                    format!("a {} entry whose header declares {size} bytes of data (readers disagree on whether they follow)", kind_name(flag)),
                ))
            }
        };
        self.start_data(size);
        let link = match kind {
            EntryKind::Symlink | EntryKind::Hardlink => link,
            _ => None,
        };
        Ok(TarEntry {
            path,
            link,
            kind,
            size,
            mode,
            mtime,
            owner,
            device: match kind {
                EntryKind::Device | EntryKind::BlockDevice => header.device(),
                _ => (0, 0),
            },
        })
    }

    /// The header's owner with the PAX `uid`, `gid`, `uname` and `gname` over it. An id field
    /// that is not a number reads as 0: owners are only listed, so they never fail a restore.
    fn owner(header: &Header<'_>, pax: PaxOwner) -> Owner {
        let (uid, gid) = header.ids();
        let (uname, gname) = header.owner_names();
        Owner {
            uid: pax.uid.or(uid).unwrap_or(0),
            gid: pax.gid.or(gid).unwrap_or(0),
            uname: pax.uname.unwrap_or(uname),
            gname: pax.gname.unwrap_or(gname),
        }
    }
}

fn kind_name(flag: u8) -> &'static str {
    match flag {
        b'2' => "symlink",
        b'3' => "character device",
        b'4' => "block device",
        b'6' => "FIFO",
        b'V' => "volume label",
        _ => "directory",
    }
}
