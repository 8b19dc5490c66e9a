//! `a0backup decrypt`: the appliance's `node decrypt` step, with the md5 checked.

use std::fs::File;
use std::io::{self, Read, Write};
use std::path::{Path, PathBuf};

use a0backup::files::{self, FileOptions};
use a0backup::{Error, Md5Digest};
use clap::Args;

use crate::args::{md5_said, ExpectedMd5Args, FormatArgs, Maybe};
use crate::failure::{after_mismatch, io_failure, usage, writing, Failure};
use crate::io::{display_input, is_dash, looks_gzip, name_ends, one_stdin, open_input, stdout};
use crate::password::{prompt, PasswordArgs, Purpose};
use crate::progress::Bar;
use crate::signals;

#[derive(Args, Debug)]
pub struct DecryptArgs {
    #[command(flatten)]
    password: PasswordArgs,
    #[command(flatten)]
    expected: ExpectedMd5Args,
    #[command(flatten)]
    format: FormatArgs,
    /// Replace OUTPUT if it exists.
    #[arg(long, short)]
    force: bool,
    /// Do not flush the output to stable storage before publishing it (faster; after a power
    /// loss the output may hold empty or partial files).
    #[arg(long)]
    no_sync: bool,
    /// Require the plaintext to be gzip, so a wrong password is refused before anything is
    /// written (implied when INPUT ends in .gz.enc or .tgz.enc, or OUTPUT in .gz or .tgz;
    /// otherwise a result that does not begin like gzip is only warned about).
    #[arg(long)]
    expect_gzip: bool,
    /// The encrypted file, or - for standard input.
    input: PathBuf,
    /// Where to write (default: INPUT without .enc; - for standard output).
    #[arg(long, short)]
    output: Option<PathBuf>,
}

pub fn decrypt(a: DecryptArgs, quiet: bool) -> Result<(), Failure> {
    one_stdin(&[
        ("INPUT -", is_dash(&a.input)),
        ("--password-file -", a.password.reads_stdin()),
        ("--status -", a.expected.reads_stdin()),
    ])?;
    let format = a.format.read()?;
    let checked = a.expected.read()?;
    let expected = checked.as_ref().map(|e| e.md5);
    let output = match &a.output {
        Some(o) => o.clone(),
        None if is_dash(&a.input) => PathBuf::from("-"),
        None => match a.input.to_str().filter(|_| name_ends(&a.input, ".enc")) {
            Some(name) if name.len() > 4 => PathBuf::from(&name[..name.len() - 4]),
            _ => {
                return Err(usage(
                    "INPUT does not end in .enc, so give the output name with -o",
                ))
            }
        },
    };
    let expect_gzip = a.expect_gzip || names_gzip(&a.input, &output);
    // INPUT is opened once and read from that handle: its first bytes (a plain .tar.gz given
    // by mistake is said so instead of asking for a password) come back through the reader.
    let input = open_input(&a.input)?;
    let input_head = input.head.clone();
    let latin1 = a.format.latin1_password;
    let password = match a.password.given(latin1)? {
        Some(p) => p,
        None if looks_gzip(&input_head) => {
            return Err(usage(format!(
                "{} is a plain .tar.gz, not encrypted: there is nothing to decrypt (unpack it \
                 with `a0backup unpack`)",
                display_input(&a.input)
            )))
        }
        None => prompt(latin1, Purpose::Decrypt(&a.input))?,
    };
    // With a password, a plain .tar.gz fails as a wrong password: say what it looks like.
    let plain_hint = |e: Error| {
        let wrong = matches!(e.primary(), Error::WrongPassword { .. });
        let mut f = writing(&output, e);
        if wrong && looks_gzip(&input_head) {
            f.message.push_str(&format!(
                " ({} begins like a plain .tar.gz: if it is one, use `a0backup unpack`)",
                display_input(&a.input)
            ));
        }
        f
    };
    let total = input.size;
    let bar = Bar::new(quiet, total);
    let options = |expected: Option<Md5Digest>| {
        FileOptions::new()
            .replace(a.force)
            .maybe(expected, FileOptions::expected_md5)
            .maybe(format, FileOptions::format)
            .maybe(total, FileOptions::input_len)
            .expect_gzip(expect_gzip)
            .sync(!a.no_sync)
            .progress(bar.progress())
    };
    signals::install();

    let (summary, head) = if !is_dash(&output) {
        // The output is written to a temporary file, renamed into place once the md5 matched.
        let nothing = format!("nothing was written to {}", output.display());
        let s = files::decrypt_reader(input.reader, &output, &password, options(expected))
            .map_err(|e| after_mismatch(e, &nothing, plain_hint))?;
        (s, file_head(&output))
    } else {
        // Standard output cannot be taken back, so the md5 of a regular file is checked
        // (through the same open file) before any byte is written; that of a pipe can only
        // be checked at its end (exit code 4).
        let (input, still_expected) = match expected {
            Some(e) => match input.rewound_md5()? {
                (Some(actual), input) => {
                    actual.verify(&e).map_err(|e| {
                        after_mismatch(e, "nothing was written to standard output", Failure::from)
                    })?;
                    (input, None)
                }
                (None, input) => (input, expected),
            },
            None => (input, None),
        };
        let mut stdout = HeadWriter::new(stdout().map_err(|e| io_failure(Path::new("-"), e))?);
        let s = files::decrypt_stream(
            input.reader,
            &mut stdout,
            &password,
            options(still_expected),
        )
        .map_err(|e| {
            after_mismatch(
                e,
                "what was written to standard output is not the backup's: discard it",
                plain_hint,
            )
        })?;
        (s, stdout.head)
    };
    drop(bar);
    if !expect_gzip && !looks_gzip(&head) {
        eprintln!(
            "a0backup: warning: the decrypted data does not begin like gzip (1f 8b 08): if {} \
             is a backup (.tar.gz.enc), the password is probably wrong (an OUTPUT named .tar.gz, \
             or --expect-gzip, refuses such a result){}",
            display_input(&a.input),
            crate::password::trailing_blanks_hint().unwrap_or_default()
        );
    }
    if !quiet {
        let into = if is_dash(&output) {
            "standard output".to_string()
        } else {
            output.display().to_string()
        };
        eprintln!(
            "decrypted {} into {into} ({} bytes, {} format); {}",
            display_input(&a.input),
            summary.plaintext_bytes,
            summary.format,
            md5_said(checked.as_ref())
        );
    }
    Ok(())
}

/// Whether the names say the plaintext is gzip: INPUT ends in `.gz.enc` or `.tgz.enc`, or
/// OUTPUT (a file) in `.gz` or `.tgz`, in any case.
fn names_gzip(input: &Path, output: &Path) -> bool {
    let ends = |p: &Path, suffixes: &[&str]| suffixes.iter().any(|s| name_ends(p, s));
    ends(input, &[".gz.enc", ".tgz.enc"]) || (!is_dash(output) && ends(output, &[".gz", ".tgz"]))
}

/// The first bytes of a file just written (empty if it cannot be read: only a warning hangs
/// on them).
fn file_head(path: &Path) -> Vec<u8> {
    let mut head = Vec::with_capacity(3);
    if let Ok(f) = File::open(path) {
        let _ = f.take(3).read_to_end(&mut head);
    }
    head
}

/// A writer that keeps the first bytes written through it.
struct HeadWriter<W> {
    inner: W,
    head: Vec<u8>,
}

impl<W> HeadWriter<W> {
    fn new(inner: W) -> Self {
        HeadWriter {
            inner,
            head: Vec::with_capacity(3),
        }
    }
}

impl<W: Write> Write for HeadWriter<W> {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        let n = self.inner.write(buf)?;
        let want = 3usize.saturating_sub(self.head.len()).min(n);
        self.head.extend_from_slice(&buf[..want]);
        Ok(n)
    }

    fn flush(&mut self) -> io::Result<()> {
        self.inner.flush()
    }
}
