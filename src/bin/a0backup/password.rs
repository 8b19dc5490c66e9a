//! Where the password comes from: a file (or `-`, standard input), the environment, the
//! command line, or a prompt on the terminal.
//!
//! Three option groups with the same flags and different help texts: [`PasswordArgs`] for the
//! commands that always need one (decrypt, encrypt, restore), [`PackPasswordArgs`] (a
//! password makes pack encrypt) and [`ListPasswordArgs`] (list asks for one only when INPUT
//! looks encrypted).

use std::ffi::OsString;
use std::io::{self, BufRead, IsTerminal, Read};
use std::path::{Path, PathBuf};
use std::sync::OnceLock;

use a0backup::Password;
use clap::Args;

use crate::failure::{io_failure, usage, Failure};
use crate::io::{display_input, is_dash, looks_encrypted, looks_gzip, not_gzip};

/// How many times an empty password at the prompt is asked again before giving up.
const PROMPTS: usize = 3;

macro_rules! password_args {
    ($(#[$meta:meta])* $name:ident, file = $file:literal, env = $env:literal, pw = $pw:literal) => {
        $(#[$meta])*
        #[derive(Args, Debug, Default)]
        #[group(multiple = false)]
        pub struct $name {
            #[doc = $file]
            #[arg(long, value_name = "FILE")]
            pub password_file: Option<PathBuf>,
            #[doc = $env]
            #[arg(long, value_name = "VAR")]
            pub password_env: Option<OsString>,
            #[doc = $pw]
            #[arg(long, value_name = "P")]
            pub password: Option<OsString>,
        }

        impl $name {
            fn source(&self) -> Source<'_> {
                Source {
                    file: self.password_file.as_deref(),
                    env: self.password_env.as_deref(),
                    literal: self.password.as_deref(),
                }
            }

            /// Whether the password is to be read from standard input (`--password-file -`).
            #[allow(dead_code)] // pack reads nothing else from standard input
            pub fn reads_stdin(&self) -> bool {
                self.password_file.as_deref().is_some_and(is_dash)
            }

            /// The password given by these options, if any (never a prompt).
            pub fn given(&self, latin1: bool) -> Result<Option<Password>, Failure> {
                self.source().read(latin1)
            }
        }
    };
}

password_args!(
    /// Where the password comes from. Without any of these, it is asked for on the terminal.
    PasswordArgs,
    file = "Read the password from the first line of FILE (its newline stripped; - for \
            standard input).",
    env = "Read the password from the environment variable VAR.",
    pw = "The password itself. Visible to other users of this machine (ps, /proc): prefer \
          --password-file or --password-env."
);

password_args!(
    /// For pack: with a password the archive is encrypted; without one it is not (no prompt).
    PackPasswordArgs,
    file = "Encrypt, with the password from the first line of FILE (- for standard input).",
    env = "Encrypt, with the password from the environment variable VAR.",
    pw = "Encrypt, with this password (visible to other users: prefer the two above)."
);

password_args!(
    /// For list: the password of an encrypted INPUT, asked for on the terminal when INPUT
    /// looks encrypted and none of these is given.
    ListPasswordArgs,
    file = "Decrypt INPUT with the password from the first line of FILE (- for standard \
            input).",
    env = "Decrypt INPUT with the password from the environment variable VAR.",
    pw = "Decrypt INPUT with this password (visible to other users: prefer the two above)."
);

/// What a password is for: what the prompt and the refusal say.
#[derive(Clone, Copy)]
pub enum Purpose<'a> {
    /// Decrypting this input (decrypt, restore, list).
    Decrypt(&'a Path),
    /// Encrypting this input (encrypt): the prompt asks twice.
    Encrypt(&'a Path),
}

impl PasswordArgs {
    /// The password: from the options, else from the terminal.
    pub fn read(&self, latin1: bool, purpose: Purpose<'_>) -> Result<Password, Failure> {
        match self.given(latin1)? {
            Some(p) => Ok(p),
            None => prompt(latin1, purpose),
        }
    }
}

/// The password options of one command.
struct Source<'a> {
    file: Option<&'a Path>,
    env: Option<&'a std::ffi::OsStr>,
    literal: Option<&'a std::ffi::OsStr>,
}

impl Source<'_> {
    fn read(&self, latin1: bool) -> Result<Option<Password>, Failure> {
        let (bytes, from): (Vec<u8>, String) = if let Some(path) = self.file {
            let from = if is_dash(path) {
                "the first line of standard input".to_string()
            } else {
                format!("the first line of {}", path.display())
            };
            let line = if is_dash(path) {
                first_line(io::stdin().lock(), &from, Path::new("standard input"))?
            } else {
                let f = std::fs::File::open(path).map_err(|e| io_failure(path, e))?;
                first_line(f, &from, path)?
            };
            (line, from)
        } else if let Some(var) = self.env {
            let value = std::env::var_os(var).ok_or_else(|| {
                usage(format!(
                    "environment variable {} is not set",
                    var.to_string_lossy()
                ))
            })?;
            let from = format!("environment variable {}", var.to_string_lossy());
            (value.into_encoded_bytes(), from)
        } else if let Some(p) = self.literal {
            (
                p.to_os_string().into_encoded_bytes(),
                "--password".to_string(),
            )
        } else {
            return Ok(None);
        };
        // As at the prompt: an empty password is far more likely a mistake (an empty file, a
        // variable set to nothing) than a backup's password.
        if bytes.is_empty() {
            return Err(usage(format!("the password is empty ({from})")));
        }
        if self.file.is_some() {
            note_trailing_blanks(&bytes, &from);
        }
        password(bytes, latin1).map(Some)
    }
}

/// What a wrong password's message adds when the password file's line ends in blanks: they
/// are kept (a password may end in a space), and an editor that leaves them is the likelier
/// story. Set when the password is read; a command reads one password.
static TRAILING_BLANKS: OnceLock<String> = OnceLock::new();

/// Notes the spaces and tabs `password` (read from `from`) ends in, if any.
fn note_trailing_blanks(password: &[u8], from: &str) {
    let blanks: Vec<u8> = password
        .iter()
        .rev()
        .take_while(|b| matches!(b, b' ' | b'\t'))
        .copied()
        .collect();
    let spaces = blanks.iter().filter(|&&b| b == b' ').count();
    let tabs = blanks.len() - spaces;
    let counted = |n: usize, what: &str| match n {
        1 => format!("a {what}"),
        n => format!("{n} {what}s"),
    };
    let what = match (spaces, tabs) {
        (0, 0) => return,
        (s, 0) => counted(s, "space"),
        (0, t) => counted(t, "tab"),
        (s, t) => format!("{} and {}", counted(s, "space"), counted(t, "tab")),
    };
    let verb = if blanks.len() == 1 {
        "which is"
    } else {
        "which are"
    };
    let _ = TRAILING_BLANKS.set(format!(
        "{from} ends in {what}, {verb} part of the password"
    ));
}

/// `(the first line of pw.txt ends in 2 spaces, which are part of the password)`, when the
/// password was read from a file whose line ends in blanks: said with a wrong password.
pub fn trailing_blanks_hint() -> Option<String> {
    TRAILING_BLANKS.get().map(|h| format!(" ({h})"))
}

/// The longest first line a password file may have: a password is far shorter, and anything
/// longer (`yes | a0backup ... --password-file -`, a backup given by mistake) is refused
/// without being read further.
pub const PASSWORD_LINE_MAX: usize = 64 << 10;

/// The first line of `r` (described as `from`), read no further than its newline (or
/// [`PASSWORD_LINE_MAX`] bytes), without its line ending (`\n` or `\r\n`) and without a
/// UTF-8 byte order mark before it (as Windows editors save files).
fn first_line(r: impl Read, from: &str, path: &Path) -> Result<Vec<u8>, Failure> {
    let mut line = Vec::new();
    io::BufReader::with_capacity(4096, r.take(PASSWORD_LINE_MAX as u64 + 1))
        .read_until(b'\n', &mut line)
        .map_err(|e| io_failure(path, e))?;
    if line.last() == Some(&b'\n') {
        line.pop();
    } else if line.len() > PASSWORD_LINE_MAX {
        return Err(usage(format!(
            "{from} is longer than {} KiB: not a password",
            PASSWORD_LINE_MAX >> 10
        )));
    }
    if line.last() == Some(&b'\r') {
        line.pop();
    }
    if line.starts_with(BOM) {
        line.drain(..BOM.len());
    }
    Ok(line)
}

/// The UTF-8 byte order mark.
const BOM: &[u8] = b"\xEF\xBB\xBF";

fn password(bytes: Vec<u8>, latin1: bool) -> Result<Password, Failure> {
    if latin1 {
        let s = String::from_utf8(bytes)
            .map_err(|_| usage("--latin1-password needs a UTF-8 password to re-encode"))?;
        Ok(Password::from_latin1(&s))
    } else {
        Ok(Password::new(bytes))
    }
}

/// Whether there is a person at a terminal to ask: standard input is a terminal, or (as in
/// `a0cli ... backup-status | a0backup restore --status - ...`) standard input is a pipe but
/// standard error is a terminal and the process has one to read from (`/dev/tty`, where the
/// prompt reads). A script with neither gets the usage error instead of a prompt that waits.
fn can_ask() -> bool {
    io::stdin().is_terminal()
        || (io::stderr().is_terminal()
            && std::fs::OpenOptions::new()
                .read(true)
                .write(true)
                .open("/dev/tty")
                .is_ok())
}

/// The password, asked for on the terminal; without a terminal, a usage error naming the
/// options. An empty answer is asked again, a few times, then refused: a backup has no empty
/// password, and taking one would only end in "probably wrong password". A password to
/// encrypt with is typed twice.
impl ListPasswordArgs {
    /// The password for reading `input` (whose first bytes are `head`): the one given; else,
    /// when the input looks encrypted, the prompt (or, without a terminal, a usage error naming
    /// the options; see `looks_encrypted` for the rule); else none for a plain `.tar.gz`, and a
    /// usage error for anything that is neither.
    pub fn for_input(
        &self,
        latin1: bool,
        input: &Path,
        head: &[u8],
    ) -> Result<Option<Password>, Failure> {
        match self.given(latin1)? {
            Some(p) => Ok(Some(p)),
            None if looks_encrypted(input, head) => {
                Ok(Some(prompt(latin1, Purpose::Decrypt(input))?))
            }
            None if !looks_gzip(head) => Err(not_gzip(
                input,
                "give --password-file, --password-env or --password",
            )),
            None => Ok(None),
        }
    }
}

pub fn prompt(latin1: bool, purpose: Purpose<'_>) -> Result<Password, Failure> {
    if !can_ask() {
        return Err(usage(match purpose {
            Purpose::Decrypt(input) => format!(
                "{} looks encrypted: give --password-file, --password-env or --password \
                 (no terminal to ask at)",
                display_input(input)
            ),
            Purpose::Encrypt(_) => "no password to encrypt with: give --password-file, \
                 --password-env or --password (no terminal to ask at)"
                .to_string(),
        }));
    }
    let ask = |text: String| {
        rpassword::prompt_password(text)
            .map_err(|e| usage(format!("cannot read the password: {e}")))
    };
    for _ in 0..PROMPTS {
        let typed = match purpose {
            Purpose::Decrypt(input) => ask(format!("Password for {}: ", display_input(input)))?,
            Purpose::Encrypt(input) => ask(format!(
                "Password to encrypt {} with: ",
                display_input(input)
            ))?,
        };
        if typed.is_empty() {
            eprintln!("a0backup: the password is empty; type it again (Ctrl-C to stop)");
            continue;
        }
        if let Purpose::Encrypt(_) = purpose {
            if ask("The same password again: ".to_string())? != typed {
                return Err(usage("the two passwords differ: nothing was encrypted"));
            }
        }
        return password(typed.into_bytes(), latin1);
    }
    Err(usage(format!(
        "no password: {PROMPTS} empty answers at the prompt (give --password-file, \
         --password-env or --password)"
    )))
}
