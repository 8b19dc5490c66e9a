//! Writing a directory tree as a `.tar.gz`: the tar and gzip layers of packing, with no
//! encryption and no output file (the `pack` job composes those: `crate::pack`).

use std::fs::{self, File, OpenOptions};
use std::io::{self, Read, Write};
use std::os::unix::ffi::OsStrExt;
use std::os::unix::fs::{MetadataExt, OpenOptionsExt};

use std::path::{Path, PathBuf};

use crate::error::{Error, Result};
use crate::gzip::ParallelGzEncoder;
use crate::progress::Progress;

/// The gzip level packing uses unless told otherwise.
///
/// 5, not gzip's 6: with the deflate of zlib-rs, level 5 makes mongodump data about 2.4%
/// smaller than `gzip -6` does (level 6: 3.2%; level 4: 1.2% larger) and takes about 16% less
/// time than level 6 (BENCHMARKS.md), so the default is as small as the appliance's own
/// `.tar.gz` and as fast as that allows.
pub(crate) const DEFAULT_LEVEL: u32 = 5;

/// How to write the tar.gz of a directory.
#[derive(Debug, Clone)]
pub(crate) struct TarGz {
    /// gzip level, 0 to 9.
    pub(crate) level: u32,
    /// The path entries are stored under; `None`: the directory's own name.
    pub(crate) prefix: Option<PathBuf>,
    /// (device, inode) of files never packed: the archive being written.
    pub(crate) leave_out: Vec<(u64, u64)>,
}

impl TarGz {
    /// Leaves the file `meta` describes out of the archive, wherever it is in the tree (the
    /// archive being written, inside the directory packed: GNU tar's "file is the archive;
    /// not dumped").
    pub(crate) fn leave_out(&mut self, meta: &fs::Metadata) {
        self.leave_out.push((meta.dev(), meta.ino()));
    }
}

/// Writes the directory `dir` as a tar (GNU headers, so long and non-ASCII names survive),
/// gzip at `options.level`, into `output`, reporting the bytes of file data packed; returns
/// `output` and (entries, file bytes).
///
/// Entries come in a stable order (sorted by name bytes, each directory before its contents);
/// files, directories (empty ones too) and symlinks are kept with their modes and mtimes.
/// Each file is read as GNU tar reads it: opened without following a symlink, its header made
/// from the open file's own metadata, exactly that many bytes copied, and the file checked
/// afterwards to have neither grown, shrunk nor been modified meanwhile; a file that changed
/// fails with [`Error::ChangedWhileReading`].
pub(crate) fn write_tar_gz<W: Write>(
    dir: &Path,
    output: W,
    options: &TarGz,
    progress: &mut Progress<'_>,
) -> Result<(W, (u64, u64))> {
    let meta = fs::metadata(dir).map_err(Error::path(dir))?;
    if !meta.is_dir() {
        return Err(Error::InvalidArgument(format!(
            "{} is not a directory",
            dir.display()
        )));
    }
    let prefix = match &options.prefix {
        Some(p) => p.clone(),
        None => dir
            .canonicalize()
            .map_err(Error::path(dir))?
            .file_name()
            .map(PathBuf::from)
            .unwrap_or_default(),
    };
    let gz = ParallelGzEncoder::new(output, options.level.min(9))?;
    let mut builder = tar::Builder::new(gz);
    builder.mode(tar::HeaderMode::Complete);
    builder.follow_symlinks(false);
    let mut counts = (0u64, 0u64);
    if !prefix.as_os_str().is_empty() {
        append_entry(&mut builder, dir, &prefix, &mut counts, &[])?;
    }
    let leave_out = &options.leave_out[..];
    walk(&mut builder, dir, &prefix, &mut counts, leave_out, progress)?;
    let gz = builder.into_inner()?;
    Ok((gz.finish()?, counts))
}

fn walk<W: Write>(
    builder: &mut tar::Builder<W>,
    dir: &Path,
    name: &Path,
    counts: &mut (u64, u64),
    leave_out: &[(u64, u64)],
    progress: &mut Progress<'_>,
) -> Result<()> {
    let mut children: Vec<_> = fs::read_dir(dir)
        .map_err(Error::path(dir))?
        .map(|e| e.map(|e| e.file_name()))
        .collect::<io::Result<_>>()
        .map_err(Error::path(dir))?;
    children.sort_by(|a, b| a.as_bytes().cmp(b.as_bytes()));
    for child in children {
        let path = dir.join(&child);
        let entry_name = name.join(&child);
        let is_dir = append_entry(builder, &path, &entry_name, counts, leave_out)?;
        progress.report(counts.1, None)?;
        if is_dir {
            walk(builder, &path, &entry_name, counts, leave_out, progress)?;
        }
    }
    Ok(())
}

/// Appends one entry, unless it is one of the files to `leave_out` (device, inode); returns
/// whether it was a directory to descend into.
fn append_entry<W: Write>(
    builder: &mut tar::Builder<W>,
    path: &Path,
    name: &Path,
    counts: &mut (u64, u64),
    leave_out: &[(u64, u64)],
) -> Result<bool> {
    let meta = fs::symlink_metadata(path).map_err(Error::path(path))?;
    if leave_out.contains(&(meta.dev(), meta.ino())) {
        return Ok(false);
    }
    let ft = meta.file_type();
    counts.0 += 1;
    if ft.is_file() {
        counts.1 += append_file(builder, path, name)?;
        return Ok(false);
    }
    let mut header = tar::Header::new_gnu();
    header.set_metadata_in_mode(&meta, tar::HeaderMode::Complete);
    if ft.is_dir() {
        header.set_size(0);
        builder
            .append_data(&mut header, name, io::empty())
            .map_err(Error::path(path))?;
        Ok(true)
    } else if ft.is_symlink() {
        let target = fs::read_link(path).map_err(Error::path(path))?;
        header.set_size(0);
        builder
            .append_link(&mut header, name, &target)
            .map_err(Error::path(path))?;
        Ok(false)
    } else {
        Err(Error::InvalidArgument(format!(
            "{} is a special file (device, FIFO or socket); backups hold only files, directories and symlinks",
            path.display()
        )))
    }
}

/// How a file to pack is opened: a symlink swapped in after the directory was read is not
/// followed (`ELOOP`), and a FIFO swapped in does not block the open; as GNU tar opens files.
const OPEN_FLAGS: i32 = libc::O_NOFOLLOW | libc::O_NONBLOCK | libc::O_NOCTTY;

/// Appends the regular file at `path`, which the directory walk saw, as GNU tar does: opened
/// without following a symlink, described by the open file's metadata, exactly that many
/// bytes copied, then checked to have neither grown nor changed. Returns the bytes packed.
fn append_file<W: Write>(builder: &mut tar::Builder<W>, path: &Path, name: &Path) -> Result<u64> {
    let changed = || Error::ChangedWhileReading {
        path: path.to_path_buf(),
    };
    let file = OpenOptions::new()
        .read(true)
        .custom_flags(OPEN_FLAGS)
        .open(path)
        .map_err(|e| {
            if e.raw_os_error() == Some(libc::ELOOP) {
                changed()
            } else {
                Error::Path {
                    path: path.to_path_buf(),
                    source: e,
                }
            }
        })?;
    let before = file.metadata().map_err(Error::path(path))?;
    if !before.is_file() {
        return Err(changed());
    }
    let size = before.len();
    let mut header = tar::Header::new_gnu();
    header.set_metadata_in_mode(&before, tar::HeaderMode::Complete);
    let exact = ExactReader {
        file: &file,
        left: size,
        path,
    };
    builder
        .append_data(&mut header, name, exact)
        .map_err(|e| match Error::from(e) {
            Error::Io(source) => Error::Path {
                path: path.to_path_buf(),
                source,
            },
            other => other,
        })?;
    // Grown: a read at the size the header gave still returns bytes.
    if read_some(&file, &mut [0u8; 1]).map_err(Error::path(path))? != 0 {
        return Err(changed());
    }
    // Shrunk and grown back, or written in place: GNU tar compares the status-change time.
    let after = file.metadata().map_err(Error::path(path))?;
    if after.len() != size
        || (after.ctime(), after.ctime_nsec()) != (before.ctime(), before.ctime_nsec())
    {
        return Err(changed());
    }
    Ok(size)
}

/// `read`, retried when interrupted.
fn read_some(mut file: &File, buf: &mut [u8]) -> io::Result<usize> {
    loop {
        match file.read(buf) {
            Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
            other => return other,
        }
    }
}

/// Yields exactly `left` bytes of `file`, and fails with [`Error::ChangedWhileReading`] if the
/// file ends sooner: tar's `append_data` copies whatever its reader yields, and a tar entry
/// must hold exactly the size its header gives.
struct ExactReader<'a> {
    file: &'a File,
    left: u64,
    path: &'a Path,
}

impl Read for ExactReader<'_> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        if self.left == 0 || buf.is_empty() {
            return Ok(0);
        }
        let want = buf
            .len()
            .min(usize::try_from(self.left).unwrap_or(usize::MAX));
        let n = read_some(self.file, &mut buf[..want])?;
        if n == 0 {
            return Err(Error::ChangedWhileReading {
                path: self.path.to_path_buf(),
            }
            .into());
        }
        self.left -= n as u64;
        Ok(n)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn builder() -> tar::Builder<Vec<u8>> {
        tar::Builder::new(Vec::new())
    }

    #[test]
    fn a_symlink_where_the_walk_saw_a_file_is_not_followed() {
        // What append_file meets when a symlink was swapped in after the walk's lstat.
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join("secret"), b"not for the backup").unwrap();
        std::os::unix::fs::symlink("secret", dir.path().join("users.bson")).unwrap();
        let mut b = builder();
        let path = dir.path().join("users.bson");
        match append_file(&mut b, &path, Path::new("dump/users.bson")) {
            Err(Error::ChangedWhileReading { path: p }) => assert_eq!(p, path),
            other => panic!("{other:?}"),
        }
        let written = b.into_inner().unwrap();
        assert!(!written
            .windows(b"not for the backup".len())
            .any(|w| w == b"not for the backup"));
    }

    #[test]
    fn a_fifo_or_a_directory_where_the_walk_saw_a_file_is_refused_without_blocking() {
        let dir = tempfile::tempdir().unwrap();
        let fifo = dir.path().join("fifo");
        let st = std::process::Command::new("mkfifo")
            .arg(&fifo)
            .status()
            .unwrap();
        assert!(st.success());
        let sub = dir.path().join("sub");
        std::fs::create_dir(&sub).unwrap();
        for path in [fifo, sub] {
            let mut b = builder();
            match append_file(&mut b, &path, Path::new("x")) {
                Err(Error::ChangedWhileReading { path: p }) => assert_eq!(p, path),
                other => panic!("{}: {other:?}", path.display()),
            }
        }
    }

    #[test]
    fn the_reader_yields_exactly_the_size_and_fails_on_a_short_file() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("f");
        std::fs::write(&path, b"0123456789").unwrap();
        let file = File::open(&path).unwrap();
        let mut out = Vec::new();
        let n = io::copy(
            &mut ExactReader {
                file: &file,
                left: 4,
                path: &path,
            },
            &mut out,
        )
        .unwrap();
        assert_eq!((n, &out[..]), (4, &b"0123"[..]));
        // 6 bytes are left in the file; 7 are asked for.
        let e = io::copy(
            &mut ExactReader {
                file: &file,
                left: 7,
                path: &path,
            },
            &mut io::sink(),
        )
        .unwrap_err();
        match Error::from(e) {
            Error::ChangedWhileReading { path: p } => assert_eq!(p, path),
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn an_unchanged_file_is_packed_with_its_size_and_content() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("f");
        let data: Vec<u8> = (0..70_000u32).map(|i| (i % 251) as u8).collect();
        std::fs::write(&path, &data).unwrap();
        let mut b = builder();
        assert_eq!(append_file(&mut b, &path, Path::new("f")).unwrap(), 70_000);
        let tar = b.into_inner().unwrap();
        let mut a = tar::Archive::new(&tar[..]);
        let mut e = a.entries().unwrap().next().unwrap().unwrap();
        assert_eq!(e.header().size().unwrap(), 70_000);
        let mut back = Vec::new();
        e.read_to_end(&mut back).unwrap();
        assert!(back == data);
    }
}
