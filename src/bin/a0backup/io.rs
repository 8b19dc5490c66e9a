//! Inputs and outputs: `-` for stdin and stdout, sizes for the progress bar, and the waits on
//! pipes, FIFOs and terminals. Every input is opened once and read from that handle (its
//! first bytes included: [`open_input`] peeks through the reader it returns), and where a read
//! or a write can wait for ever it waits in poll(2) with a short timeout, so that SIGINT,
//! SIGTERM and SIGHUP end the command wherever it waits (see [`wait_ready`]).

use std::fmt;
use std::fs::File;
use std::io::{self, Read, Write};
use std::os::fd::{AsFd, BorrowedFd};
use std::path::Path;
use std::sync::OnceLock;

use rustix::event::{poll, PollFd, PollFlags, Timespec};
use rustix::fs::FileType;

use crate::failure::{io_failure, usage, Failure};
use crate::signals;

/// One line of results on standard output (see `outln!`).
pub fn print_line(line: fmt::Arguments) -> Result<(), Failure> {
    // Formatted first, written once: formatting into the unbuffered stdout wrote each padding
    // character with a system call of its own (1.7M writes for a table of 25k rows).
    let text = format!("{line}\n");
    let mut out = stdout().map_err(|e| io_failure(Path::new("-"), e))?;
    out.write_all(text.as_bytes())
        .map_err(|e| io_failure(Path::new("-"), e))
}

pub fn is_dash(p: &Path) -> bool {
    p.as_os_str() == "-"
}

/// How long one wait on a pipe, a FIFO or a terminal lasts before the signal flag is looked
/// at again: a signal ends a wait within this time.
const TICK: Timespec = Timespec {
    tv_sec: 0,
    tv_nsec: 100_000_000,
};

/// The most bytes written to a pipe after it said it has room: what a pipe with one free
/// page takes without blocking.
const PIPE_CHUNK: usize = 4096;

/// How many bytes the pipe `f` takes now without blocking, counted low: its pages, less one
/// for each started page of what it holds and one more for a page the reader is part way
/// through. `None` when `f` is not a pipe (a terminal, a socket): [`PIPE_CHUNK`] then.
fn pipe_room(f: &File) -> Option<usize> {
    let size = rustix::pipe::fcntl_getpipe_size(f).ok()?;
    let held = usize::try_from(rustix::io::ioctl_fionread(f).ok()?).ok()?;
    let pages = size / PIPE_CHUNK;
    Some(pages.saturating_sub(held.div_ceil(PIPE_CHUNK) + 1) * PIPE_CHUNK)
}

/// Waits until `fd` is ready for `events` (or reports a hang-up or an error, which the read
/// or write that follows tells), looking at the signal flag every [`TICK`]: once a signal
/// came, the wait ends with `Error::Cancelled`, which the command reports as stopped by it.
fn wait_ready(fd: BorrowedFd<'_>, events: PollFlags) -> io::Result<()> {
    loop {
        if signals::received().is_some() {
            return Err(io::Error::from(a0backup::Error::Cancelled));
        }
        let mut fds = [PollFd::from_borrowed_fd(fd, events)];
        match poll(&mut fds, Some(&TICK)) {
            Ok(0) => {}
            Ok(_) => return Ok(()),
            Err(e) if e == rustix::io::Errno::INTR => {}
            Err(e) => return Err(e.into()),
        }
    }
}

/// Whether reading or writing `f` can wait for ever (a pipe, a FIFO, a socket, a terminal),
/// rather than only for a disk (a regular file, a block device).
fn can_wait(f: &File) -> io::Result<bool> {
    let kind = FileType::from_raw_mode(rustix::fs::fstat(f)?.st_mode);
    Ok(!matches!(
        kind,
        FileType::RegularFile | FileType::BlockDevice
    ))
}

/// An input read once, from the handle it was opened as: where reading it can wait (a pipe,
/// a FIFO, a process substitution, a socket, a terminal), each read first waits with poll(2)
/// until there is data or an end, so that a signal ends the wait.
pub struct Waiting {
    file: File,
    waits: bool,
}

impl Waiting {
    fn new(file: File) -> io::Result<Waiting> {
        let waits = can_wait(&file)?;
        Ok(Waiting { file, waits })
    }

    /// Whether the input is a regular file (or a block device): one that can be read again.
    pub fn is_regular(&self) -> bool {
        !self.waits
    }
}

impl Read for Waiting {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        if !self.waits {
            return self.file.read(buf);
        }
        loop {
            // A FIFO opened without a writer: Linux reports no hang-up before a writer came,
            // so this waits for the writer's data or its end, and the read tells which.
            wait_ready(self.file.as_fd(), PollFlags::IN)?;
            match self.file.read(buf) {
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => continue,
                other => return other,
            }
        }
    }
}

/// `path` opened for reading without waiting: O_NONBLOCK, so that a FIFO without a writer
/// does not block the open (the reads wait instead, see [`Waiting`]); a regular file gets its
/// blocking mode back.
fn open_path(path: &Path) -> io::Result<File> {
    use rustix::fs::{fcntl_getfl, fcntl_setfl, open, Mode, OFlags};
    let flags = OFlags::RDONLY | OFlags::NONBLOCK | OFlags::CLOEXEC | OFlags::NOCTTY;
    let file = File::from(open(path, flags, Mode::empty())?);
    if !can_wait(&file)? {
        fcntl_setfl(&file, fcntl_getfl(&file)? & !OFlags::NONBLOCK)?;
    }
    Ok(file)
}

/// `path` (`-`: standard input) opened once for reading, as a [`Waiting`] reader.
pub fn open_waiting(path: &Path) -> Result<Waiting, Failure> {
    let file = if is_dash(path) {
        io::stdin()
            .as_fd()
            .try_clone_to_owned()
            .map(File::from)
            .map_err(|e| io_failure(Path::new("standard input"), e))?
    } else {
        open_path(path).map_err(|e| io_failure(path, e))?
    };
    Waiting::new(file).map_err(|e| io_failure(Path::new(&display_input(path)), e))
}

/// `path` opened for reading (`-`: stdin), with its size when it has one. Its read errors
/// name it (`Error::Path`), however deep in the pipeline they come out.
pub fn input_reader(path: &Path) -> Result<(Box<dyn Read + Send>, Option<u64>), Failure> {
    Ok(reader_of(open_waiting(path)?, path))
}

fn reader_of(waiting: Waiting, path: &Path) -> (Box<dyn Read + Send>, Option<u64>) {
    let size = match waiting.is_regular() {
        true => waiting.file.metadata().ok().map(|m| m.len()),
        false => None,
    };
    let name = Path::new(&display_input(path)).to_path_buf();
    let named = Named::new(io::BufReader::with_capacity(1 << 20, waiting), &name);
    (Box::new(named), size)
}

/// A reader whose errors are `Error::Path` naming it (those already an `Error` and
/// `Interrupted` pass as they are).
pub struct Named<R> {
    inner: R,
    path: std::path::PathBuf,
}

impl<R> Named<R> {
    pub fn new(inner: R, path: &Path) -> Self {
        Named {
            inner,
            path: path.to_path_buf(),
        }
    }
}

impl<R: Read> Read for Named<R> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        self.inner.read(buf).map_err(|e| {
            let travelled = e.get_ref().is_some_and(|i| i.is::<a0backup::Error>());
            if travelled || e.kind() == io::ErrorKind::Interrupted {
                return e;
            }
            io::Error::from(a0backup::Error::Path {
                path: self.path.clone(),
                source: e,
            })
        })
    }
}

/// Standard output, written so that a signal ends a wait for a reader that does not read:
/// where writing can wait (a pipe, a terminal), each write first waits with poll(2) until
/// there is room, then writes no more than the pipe takes without blocking ([`pipe_room`]).
#[derive(Clone, Copy)]
pub struct Stdout {
    file: &'static File,
    waits: bool,
}

/// The command's standard output (one handle for the whole run).
pub fn stdout() -> io::Result<Stdout> {
    static OUT: OnceLock<(File, bool)> = OnceLock::new();
    if OUT.get().is_none() {
        let file = File::from(io::stdout().as_fd().try_clone_to_owned()?);
        let waits = can_wait(&file)?;
        let _ = OUT.set((file, waits));
    }
    let (file, waits) = OUT.get().expect("set above");
    Ok(Stdout {
        file,
        waits: *waits,
    })
}

impl Write for Stdout {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        if !self.waits || buf.is_empty() {
            return self.file.write(buf);
        }
        loop {
            wait_ready(self.file.as_fd(), PollFlags::OUT)?;
            let room = pipe_room(self.file).unwrap_or(0).max(PIPE_CHUNK);
            match self.file.write(&buf[..buf.len().min(room)]) {
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => continue,
                other => return other,
            }
        }
    }

    fn flush(&mut self) -> io::Result<()> {
        Ok(())
    }
}

/// A message made safe for a terminal: control characters (which a name from an archive may
/// carry into an error or a reason) become C or octal escapes, as GNU tar prints names; the rest
/// stays as it is (a name already escaped is not escaped twice).
pub fn safe(message: &str) -> String {
    if !message.chars().any(char::is_control) {
        return message.to_string();
    }
    let mut out = String::with_capacity(message.len() + 8);
    for c in message.chars() {
        if c.is_control() {
            let mut buf = [0u8; 4];
            out.push_str(&a0backup::archive::escape_name(
                c.encode_utf8(&mut buf).as_bytes(),
            ));
        } else {
            out.push(c);
        }
    }
    out
}

/// How INPUT is named in messages: its path, or "standard input" for `-`.
pub fn display_input(p: &Path) -> String {
    if is_dash(p) {
        "standard input".to_string()
    } else {
        p.display().to_string()
    }
}

/// An input opened with its first bytes already read (and given back by `reader`), so the
/// command can tell what it is before it chooses what to do with it.
pub struct Input {
    pub reader: Box<dyn Read + Send>,
    pub size: Option<u64>,
    /// Up to the first 16 bytes (fewer only for a shorter input).
    pub head: Vec<u8>,
    /// For a regular file, a second handle on the same open file (for [`Input::rewound_md5`]).
    regular: Option<(File, std::path::PathBuf)>,
}

/// `path` opened once (see [`input_reader`]), its first bytes read from that very handle and
/// given back by the reader.
pub fn open_input(path: &Path) -> Result<Input, Failure> {
    let waiting = open_waiting(path)?;
    let regular = match waiting.is_regular() {
        true => waiting
            .file
            .try_clone()
            .ok()
            .map(|f| (f, path.to_path_buf())),
        false => None,
    };
    let (mut reader, size) = reader_of(waiting, path);
    let mut head = Vec::with_capacity(16);
    (&mut reader)
        .take(16)
        .read_to_end(&mut head)
        .map_err(|e| Failure::from(a0backup::Error::from(e)))?;
    Ok(Input {
        reader: Box::new(io::Cursor::new(head.clone()).chain(reader)),
        size,
        head,
        regular,
    })
}

impl Input {
    /// For a regular file: its md5, read through the same open file from its start, and the
    /// input again from its start (what was read so far is dropped). For an input that can be
    /// read only once (a pipe, a FIFO): no md5 (it is known only at its end), and the input as
    /// it is.
    pub fn rewound_md5(self) -> Result<(Option<a0backup::Md5Digest>, Input), Failure> {
        use std::io::{Seek, SeekFrom};
        let Some((mut file, path)) = self.regular else {
            return Ok((None, self));
        };
        let named = |e: io::Error| io_failure(&path, e);
        file.seek(SeekFrom::Start(0)).map_err(named)?;
        let (md5, _) = a0backup::checksum::md5_reader(&mut file).map_err(named)?;
        file.seek(SeekFrom::Start(0)).map_err(named)?;
        let waiting = Waiting::new(file).map_err(named)?;
        let (reader, size) = reader_of(waiting, &path);
        let input = Input {
            reader,
            size,
            head: self.head,
            regular: None,
        };
        Ok((Some(md5), input))
    }
}

/// The first bytes of every gzip stream: the magic and the deflate method.
const GZIP_MAGIC: [u8; 3] = [0x1f, 0x8b, 0x08];

/// Whether `head` begins like gzip.
pub fn looks_gzip(head: &[u8]) -> bool {
    head.starts_with(&GZIP_MAGIC)
}

/// Whether the input named `path`, beginning with `head`, looks encrypted. The rule, in order:
/// a `Salted__` header (openssl enc) is encrypted; a gzip header (`1f 8b 08`) is a plain
/// `.tar.gz`, whatever its name; otherwise a name ending in `.enc` says encrypted. The
/// appliance's (Node) format has no header, so such a file under another name, or on standard
/// input, cannot be told from a damaged one: it does not look encrypted, and a command that
/// wants gzip says so, naming both ways out.
pub fn looks_encrypted(path: &Path, head: &[u8]) -> bool {
    if head.starts_with(b"Salted__") {
        return true;
    }
    if looks_gzip(head) {
        return false;
    }
    name_ends(path, ".enc")
}

/// Whether the input at `path` looks encrypted, for a command that opens it later by its
/// path (diff, find): a regular file by its first bytes, anything else (a pipe, a process
/// substitution) by its name alone, since reading it would take bytes the command needs.
pub fn file_looks_encrypted(path: &Path) -> bool {
    let mut head = Vec::new();
    if let Ok(f) = std::fs::File::open(path) {
        if f.metadata().is_ok_and(|m| m.is_file()) {
            let _ = std::io::Read::read_to_end(&mut std::io::Read::take(f, 16), &mut head);
        }
    }
    looks_encrypted(path, &head)
}

/// Whether `path` ends in `suffix`, in any case (`BACKUP.TAR.GZ.ENC` is named like a backup).
pub fn name_ends(path: &Path, suffix: &str) -> bool {
    let name = path.as_os_str().as_encoded_bytes();
    name.len() >= suffix.len()
        && name[name.len() - suffix.len()..].eq_ignore_ascii_case(suffix.as_bytes())
}

/// Refuses two uses of standard input in one command (`-` as INPUT, `--password-file -`,
/// `--status -`): one stream cannot feed both.
pub fn one_stdin(uses: &[(&str, bool)]) -> Result<(), Failure> {
    let named: Vec<&str> = uses.iter().filter(|(_, on)| *on).map(|(n, _)| *n).collect();
    if named.len() > 1 {
        return Err(usage(format!(
            "standard input can feed only one of INPUT, --password-file and --status: {} \
             {} ask for it",
            named.join(" and "),
            if named.len() == 2 { "both" } else { "all" }
        )));
    }
    Ok(())
}

/// INPUT does not begin like gzip, and does not look encrypted either: say so, and name
/// `encrypted`, the way out if it is an encrypted backup after all. (Exit code 1, as the
/// library's "not gzip".)
pub fn not_gzip(input: &Path, encrypted: &str) -> Failure {
    Failure {
        code: 1,
        message: format!(
            "{} is not a .tar.gz (it does not begin with the gzip header 1f 8b 08); if it is an \
             encrypted backup, {encrypted}",
            display_input(input)
        ),
    }
}
