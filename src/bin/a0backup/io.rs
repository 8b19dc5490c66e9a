//! Inputs and outputs: `-` for stdin and stdout, sizes for the progress bar.

use std::fmt;
use std::fs::File;
use std::io::{self, Read, Write};
use std::path::Path;

use crate::failure::{io_failure, usage, Failure};

/// One line of results on standard output (see `outln!`).
pub fn print_line(line: fmt::Arguments) -> Result<(), Failure> {
    writeln!(io::stdout().lock(), "{line}").map_err(|e| io_failure(Path::new("-"), e))
}

pub fn is_dash(p: &Path) -> bool {
    p.as_os_str() == "-"
}

pub fn file_size(p: &Path) -> Option<u64> {
    std::fs::metadata(p).ok().map(|m| m.len())
}

/// `path` opened for reading (`-`: stdin), with its size when it has one. Its read errors
/// name it (`Error::Path`), however deep in the pipeline they come out.
pub fn input_reader(path: &Path) -> Result<(Box<dyn Read>, Option<u64>), Failure> {
    if is_dash(path) {
        let named = Named::new(io::stdin().lock(), Path::new("standard input"));
        Ok((Box::new(named), None))
    } else {
        let f = File::open(path).map_err(|e| io_failure(path, e))?;
        let len = f.metadata().ok().map(|m| m.len());
        let named = Named::new(io::BufReader::with_capacity(1 << 20, f), path);
        Ok((Box::new(named), len))
    }
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
    pub reader: Box<dyn Read>,
    pub size: Option<u64>,
    /// Up to the first 16 bytes (fewer only for a shorter input).
    pub head: Vec<u8>,
}

pub fn open_input(path: &Path) -> Result<Input, Failure> {
    let (mut reader, size) = input_reader(path)?;
    let mut head = Vec::with_capacity(16);
    (&mut reader)
        .take(16)
        .read_to_end(&mut head)
        .map_err(|e| io_failure(Path::new(&display_input(path)), e))?;
    Ok(Input {
        reader: Box::new(io::Cursor::new(head.clone()).chain(reader)),
        size,
        head,
    })
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
