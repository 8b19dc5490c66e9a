//! `a0backup`: decrypt, verify, restore and create Auth0 Appliance backups from a terminal.

use std::ffi::OsString;
use std::fs::File;
use std::io::{self, IsTerminal, Read, Write};
use std::path::{Path, PathBuf};
use std::process::ExitCode;

use a0backup::archive::{self, PackOptions, UnpackOptions};
use a0backup::files::{self, FileOptions};
use a0backup::restore::{self as restore_mod, RestoreOptions};
use a0backup::{
    checksum, BackupStatus, DecryptOptions, Error, Format, Md5Digest, Password, Progress,
};
use clap::{Args, CommandFactory, Parser, Subcommand};
use serde_json::json;

const EXAMPLES: &str = "\
Examples:
  # Restore a retrieved backup, checking the md5 from `a0cli backup-status`:
  a0backup restore --password-file pw.txt --status status.txt backup-retrieve.tar.gz.enc -C restored

  # The appliance's `node decrypt` step, with the md5 checked first:
  a0backup decrypt --password-env A0_PW --md5 eccdb928a3bab23f725f955b68ef66ff backup.tar.gz.enc

  # Pack and encrypt a mongodump tree as the appliance does, printing its status record:
  a0backup pack --password-file pw.txt dump -o backup.tar.gz.enc

Exit codes: 0 ok, 1 error, 2 usage, 3 probably wrong password, 4 md5 mismatch, 5 unsafe archive
(an entry refused by the safety policy, or a --max-size/--max-entries/--max-path-len limit),
130/143/129 stopped by SIGINT/SIGTERM/SIGHUP (cleaned up, nothing published).";

/// Decrypt, verify, restore and create Auth0 Appliance backups.
#[derive(Parser, Debug)]
#[command(name = "a0backup", version, about, long_about = None, after_help = EXAMPLES)]
struct Cli {
    /// Print nothing but errors (no progress bar, no summary).
    #[arg(long, short, global = true)]
    quiet: bool,

    /// Print results as JSON (md5, verify, list, pack, restore).
    #[arg(long, global = true)]
    json: bool,

    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand, Debug)]
enum Command {
    /// Decrypt an encrypted backup (the appliance's `node decrypt` step), optionally checking
    /// its md5 first.
    Decrypt(DecryptArgs),
    /// Encrypt a file as the appliance does (or in an openssl enc format).
    Encrypt(EncryptArgs),
    /// Print the md5 of files, as md5sum does.
    Md5(Md5Args),
    /// Check a file's md5 against a value or an `a0cli backup-status` record.
    Verify(VerifyArgs),
    /// Restore an encrypted backup (.tar.gz.enc) straight into a directory, md5 checked, in
    /// one pass. Nothing appears in DEST unless everything checked out.
    Restore(RestoreArgs),
    /// Pack a directory into a .tar.gz, encrypted when a password option is given, and print
    /// its backup-status record.
    Pack(PackArgs),
    /// Unpack a plain .tar.gz into a directory, with the same safety policy as restore.
    Unpack(UnpackArgs),
    /// List the entries of a .tar.gz, or of a .tar.gz.enc when a password option is given.
    List(ListArgs),
    /// Print a shell completion script (bash, zsh, fish, elvish, powershell).
    Completions {
        /// The shell.
        shell: clap_complete::Shell,
    },
    /// Print the man page (roff) on standard output.
    Man,
}

#[derive(Args, Debug)]
struct SafetyArgs {
    /// Extract symlinks that resolve inside DEST (refused by default).
    #[arg(long)]
    allow_symlinks: bool,
    /// Extract hardlinks to files extracted earlier from the same archive (refused by default).
    #[arg(long)]
    allow_hardlinks: bool,
    /// Most bytes of file data to extract (default 1 TiB).
    #[arg(long, value_name = "BYTES")]
    max_size: Option<u64>,
    /// Most entries to accept (default 10 million).
    #[arg(long, value_name = "N")]
    max_entries: Option<u64>,
    /// Longest entry path in bytes (default 4096).
    #[arg(long, value_name = "BYTES")]
    max_path_len: Option<usize>,
    /// Keep the archive's permission bits (never setuid, setgid or sticky). By default they
    /// are masked by the umask, as GNU tar does for ordinary users.
    #[arg(long, short = 'p')]
    preserve_permissions: bool,
}

impl SafetyArgs {
    fn options(&self) -> UnpackOptions {
        let mut o = UnpackOptions::new()
            .allow_symlinks(self.allow_symlinks)
            .allow_hardlinks(self.allow_hardlinks)
            .preserve_permissions(self.preserve_permissions);
        if let Some(n) = self.max_size {
            o = o.max_total_bytes(n);
        }
        if let Some(n) = self.max_entries {
            o = o.max_entries(n);
        }
        if let Some(n) = self.max_path_len {
            o = o.max_path_len(n);
        }
        o
    }
}

#[derive(Args, Debug)]
struct RestoreArgs {
    #[command(flatten)]
    password: PasswordArgs,
    #[command(flatten)]
    expected: ExpectedMd5Args,
    #[command(flatten)]
    format: FormatArgs,
    #[command(flatten)]
    safety: SafetyArgs,
    /// Replace DEST if it exists and is not empty (only once the new tree is complete).
    #[arg(long, short)]
    force: bool,
    /// Do not flush the output to stable storage before publishing it (faster; after a power
    /// loss the output may hold empty or partial files).
    #[arg(long)]
    no_sync: bool,
    /// The encrypted backup, or - for standard input.
    input: PathBuf,
    /// The directory to restore into.
    #[arg(short = 'C', long = "directory", value_name = "DEST")]
    dest: PathBuf,
}

#[derive(Args, Debug)]
struct PackArgs {
    #[command(flatten)]
    password: OptionalPasswordArgs,
    #[command(flatten)]
    format: FormatArgs,
    /// gzip level, 0-9.
    #[arg(long, default_value_t = 6, value_parser = clap::value_parser!(u32).range(0..=9))]
    level: u32,
    /// Replace OUTPUT if it exists.
    #[arg(long, short)]
    force: bool,
    /// Do not flush the output to stable storage before publishing it (faster; after a power
    /// loss the output may hold empty or partial files).
    #[arg(long)]
    no_sync: bool,
    /// The directory to pack; entries are stored under its name.
    dir: PathBuf,
    /// The file to write.
    #[arg(long, short)]
    output: PathBuf,
}

/// Like [`PasswordArgs`], but without a password nothing is encrypted (no prompt).
#[derive(Args, Debug, Default)]
#[group(multiple = false)]
struct OptionalPasswordArgs {
    /// Encrypt, with the password from the first line of FILE.
    #[arg(long, value_name = "FILE")]
    password_file: Option<PathBuf>,
    /// Encrypt, with the password from the environment variable VAR.
    #[arg(long, value_name = "VAR")]
    password_env: Option<OsString>,
    /// Encrypt, with this password (visible to other users: prefer the two above).
    #[arg(long, value_name = "P")]
    password: Option<OsString>,
}

impl OptionalPasswordArgs {
    fn read(&self, latin1: bool) -> Result<Option<Password>, Failure> {
        if self.password_file.is_none() && self.password_env.is_none() && self.password.is_none() {
            return Ok(None);
        }
        PasswordArgs {
            password_file: self.password_file.clone(),
            password_env: self.password_env.clone(),
            password: self.password.clone(),
        }
        .read(latin1)
        .map(Some)
    }
}

#[derive(Args, Debug)]
struct UnpackArgs {
    #[command(flatten)]
    safety: SafetyArgs,
    /// Replace DEST if it exists and is not empty.
    #[arg(long, short)]
    force: bool,
    /// Do not flush the output to stable storage before publishing it (faster; after a power
    /// loss the output may hold empty or partial files).
    #[arg(long)]
    no_sync: bool,
    /// The .tar.gz, or - for standard input.
    input: PathBuf,
    /// The directory to unpack into.
    #[arg(short = 'C', long = "directory", value_name = "DEST")]
    dest: PathBuf,
}

#[derive(Args, Debug)]
struct ListArgs {
    #[command(flatten)]
    password: OptionalPasswordArgs,
    #[command(flatten)]
    format: FormatArgs,
    /// The archive, or - for standard input.
    input: PathBuf,
}

/// Where the password comes from. Without any of these, it is asked for on the terminal.
#[derive(Args, Debug, Default)]
#[group(multiple = false)]
struct PasswordArgs {
    /// Read the password from the first line of FILE (its newline stripped).
    #[arg(long, value_name = "FILE")]
    password_file: Option<PathBuf>,
    /// Read the password from the environment variable VAR.
    #[arg(long, value_name = "VAR")]
    password_env: Option<OsString>,
    /// The password itself. Visible to other users of this machine (ps, /proc): prefer
    /// --password-file or --password-env.
    #[arg(long, value_name = "P")]
    password: Option<OsString>,
}

#[derive(Args, Debug)]
#[group(multiple = false)]
struct ExpectedMd5Args {
    /// The expected md5 of the encrypted file (32 hex digits).
    #[arg(long, value_name = "HEX")]
    md5: Option<String>,
    /// Read the expected md5 from the output of `a0cli backup-status`.
    #[arg(long, value_name = "FILE")]
    status: Option<PathBuf>,
}

#[derive(Args, Debug)]
struct FormatArgs {
    /// The file format: node (the appliance's), openssl-md5 or openssl-pbkdf2.
    #[arg(long, value_name = "FORMAT")]
    format: Option<String>,
    /// PBKDF2 iterations for openssl-pbkdf2 (openssl's default is 10000).
    #[arg(long, value_name = "N")]
    iter: Option<u32>,
    /// Encode the password as Latin-1, as very old Node versions did (only for non-ASCII
    /// passwords of files made by them).
    #[arg(long)]
    latin1_password: bool,
}

#[derive(Args, Debug)]
struct DecryptArgs {
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
    /// Require the plaintext to be gzip (implied when INPUT ends in .gz.enc).
    #[arg(long)]
    expect_gzip: bool,
    /// The encrypted file, or - for standard input.
    input: PathBuf,
    /// Where to write (default: INPUT without .enc; - for standard output).
    #[arg(long, short)]
    output: Option<PathBuf>,
}

#[derive(Args, Debug)]
struct EncryptArgs {
    #[command(flatten)]
    password: PasswordArgs,
    #[command(flatten)]
    format: FormatArgs,
    /// Replace OUTPUT if it exists.
    #[arg(long, short)]
    force: bool,
    /// Do not flush the output to stable storage before publishing it (faster; after a power
    /// loss the output may hold empty or partial files).
    #[arg(long)]
    no_sync: bool,
    /// The file to encrypt, or - for standard input.
    input: PathBuf,
    /// Where to write (- for standard output).
    #[arg(long, short)]
    output: PathBuf,
}

#[derive(Args, Debug)]
struct Md5Args {
    /// Files to hash (- for standard input).
    #[arg(required = true)]
    files: Vec<PathBuf>,
}

#[derive(Args, Debug)]
struct VerifyArgs {
    #[command(flatten)]
    expected: ExpectedMd5Args,
    /// The file to check.
    file: PathBuf,
}

/// The process exit codes scripts can rely on. A library error's code is its
/// [`Error::exit_code`], the same mapping that gives the C ABI its result codes.
mod exit {
    pub const USAGE: u8 = 2;
}

/// A failure of the command: the message for stderr and the exit code.
struct Failure {
    code: u8,
    message: String,
}

impl From<Error> for Failure {
    fn from(e: Error) -> Failure {
        // Stopped by a signal: the exit status says which, as a shell reports it.
        if let (Error::Cancelled, Some(sig)) = (e.primary(), signals::received()) {
            return Failure {
                code: 128 + sig as u8,
                message: match e {
                    Error::Cancelled => format!(
                        "stopped by {}: nothing was published, nothing left behind",
                        signals::name(sig)
                    ),
                    other => format!("stopped by {}: {other}", signals::name(sig)),
                },
            };
        }
        // A failed cleanup is reported with the error before it; the code is that error's.
        Failure {
            code: e.exit_code(),
            message: e.to_string(),
        }
    }
}

/// SIGINT, SIGTERM and SIGHUP, turned into the library's cancel: the operation stops at its
/// next progress report and removes its staging directory or temporary file, and the command
/// exits with 128 + the signal's number (130, 143, 129). A second signal ends the process at
/// once (the next run on the same destination removes what it left). A signal that was
/// ignored when the command started (`nohup`) stays ignored.
mod signals {
    use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};

    use signal_hook::consts::{SIGHUP, SIGINT, SIGTERM};

    static RECEIVED: AtomicUsize = AtomicUsize::new(0);
    static ARMED: AtomicBool = AtomicBool::new(false);

    /// Whether `sig` is ignored (SIG_IGN), as `nohup` leaves SIGHUP.
    fn ignored(sig: libc::c_int) -> bool {
        // SAFETY: with a null new action, sigaction only writes the current one into `old`,
        // a zeroed plain C struct.
        unsafe {
            let mut old: libc::sigaction = std::mem::zeroed();
            libc::sigaction(sig, std::ptr::null(), &mut old) == 0
                && old.sa_sigaction == libc::SIG_IGN
        }
    }

    /// Installs the handlers. Call once the command has what it needs from the terminal (a
    /// Ctrl-C at the password prompt still ends the process at once).
    pub fn install() {
        for sig in [SIGINT, SIGTERM, SIGHUP] {
            if ignored(sig) {
                continue;
            }
            // The order matters: the second signal finds ARMED set by the first.
            let _ = signal_hook::flag::register_conditional_default(sig, &ARMED);
            let _ = signal_hook::flag::register_usize(sig, &RECEIVED, sig as usize);
            let _ = signal_hook::flag::register(sig, &ARMED);
        }
    }

    /// The signal received, if any.
    pub fn received() -> Option<i32> {
        match RECEIVED.load(Ordering::SeqCst) {
            0 => None,
            n => Some(n as i32),
        }
    }

    pub fn name(sig: i32) -> &'static str {
        match sig {
            SIGINT => "SIGINT",
            SIGTERM => "SIGTERM",
            SIGHUP => "SIGHUP",
            _ => "a signal",
        }
    }
}

fn usage(message: impl Into<String>) -> Failure {
    Failure {
        code: exit::USAGE,
        message: message.into(),
    }
}

fn io_failure(what: &Path, e: io::Error) -> Failure {
    Failure::from(Error::Path {
        path: what.to_path_buf(),
        source: e,
    })
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    let quiet = cli.quiet;
    let json = cli.json;
    let result = match cli.command {
        Command::Decrypt(a) => decrypt(a, quiet),
        Command::Encrypt(a) => encrypt(a, quiet),
        Command::Md5(a) => md5(a, json),
        Command::Verify(a) => verify(a, json, quiet),
        Command::Restore(a) => restore(a, quiet, json),
        Command::Pack(a) => pack(a, json),
        Command::Unpack(a) => unpack(a, quiet, json),
        Command::List(a) => list(a, json),
        Command::Completions { shell } => {
            clap_complete::generate(shell, &mut Cli::command(), "a0backup", &mut io::stdout());
            Ok(())
        }
        Command::Man => clap_mangen::Man::new(Cli::command())
            .render(&mut io::stdout())
            .map_err(|e| io_failure(Path::new("-"), e)),
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(f) => {
            eprintln!("a0backup: {}", f.message);
            ExitCode::from(f.code)
        }
    }
}

fn is_dash(p: &Path) -> bool {
    p.as_os_str() == "-"
}

impl PasswordArgs {
    fn read(&self, latin1: bool) -> Result<Password, Failure> {
        let bytes: Vec<u8> = if let Some(path) = &self.password_file {
            let mut all = std::fs::read(path).map_err(|e| io_failure(path, e))?;
            let end = all.iter().position(|&b| b == b'\n').unwrap_or(all.len());
            all.truncate(end);
            if all.last() == Some(&b'\r') {
                all.pop();
            }
            all
        } else if let Some(var) = &self.password_env {
            std::env::var_os(var)
                .ok_or_else(|| {
                    usage(format!(
                        "environment variable {} is not set",
                        var.to_string_lossy()
                    ))
                })?
                .into_encoded_bytes()
        } else if let Some(p) = &self.password {
            p.clone().into_encoded_bytes()
        } else if io::stdin().is_terminal() {
            rpassword::prompt_password("Password: ")
                .map_err(|e| usage(format!("cannot read the password: {e}")))?
                .into_bytes()
        } else {
            return Err(usage(
                "no password: give --password-file, --password-env or --password (stdin is not a terminal)",
            ));
        };
        if latin1 {
            let s = String::from_utf8(bytes)
                .map_err(|_| usage("--latin1-password needs a UTF-8 password to re-encode"))?;
            Ok(Password::from_latin1(&s))
        } else {
            Ok(Password::new(bytes))
        }
    }
}

impl ExpectedMd5Args {
    fn read(&self) -> Result<Option<Md5Digest>, Failure> {
        if let Some(hex) = &self.md5 {
            return hex
                .trim()
                .parse()
                .map(Some)
                .map_err(|_| usage(format!("--md5: not an md5 (32 hex digits): {hex:?}")));
        }
        if let Some(path) = &self.status {
            return Ok(Some(BackupStatus::from_file(path)?.md5));
        }
        Ok(None)
    }
}

impl FormatArgs {
    fn read(&self) -> Result<Option<Format>, Failure> {
        let format = match &self.format {
            None => None,
            Some(name) => Some(name.parse::<Format>().map_err(|e| usage(e.to_string()))?),
        };
        match (format, self.iter) {
            (_, Some(0)) => Err(usage("--iter must be at least 1")),
            (Some(Format::OpenSslPbkdf2 { .. }), Some(n)) => {
                Ok(Some(Format::OpenSslPbkdf2 { iterations: n }))
            }
            (None, Some(n)) => Ok(Some(Format::OpenSslPbkdf2 { iterations: n })),
            (Some(_), Some(_)) => Err(usage("--iter goes only with --format openssl-pbkdf2")),
            (f, None) => Ok(f),
        }
    }
}

/// A progress bar on stderr when it is a terminal, and the library callback that drives it.
struct Bar {
    bar: Option<indicatif::ProgressBar>,
}

impl Bar {
    fn new(quiet: bool, total: Option<u64>) -> Bar {
        if quiet || !io::stderr().is_terminal() {
            return Bar { bar: None };
        }
        let bar = match total {
            Some(t) => indicatif::ProgressBar::new(t),
            None => indicatif::ProgressBar::new_spinner(),
        };
        bar.set_style(
            indicatif::ProgressStyle::with_template(
                "{bar:40} {bytes}/{total_bytes} {bytes_per_sec} eta {eta}",
            )
            .expect("a valid template"),
        );
        Bar { bar: Some(bar) }
    }

    /// The callback: moves the bar, and cancels once a signal came (see [`signals`]).
    fn progress(&self) -> Progress<'_> {
        Progress::new(move |done, _| {
            if let Some(b) = &self.bar {
                b.set_position(done);
            }
            signals::received().is_none()
        })
    }
}

impl Drop for Bar {
    fn drop(&mut self) {
        if let Some(b) = &self.bar {
            b.finish_and_clear();
        }
    }
}

fn file_size(p: &Path) -> Option<u64> {
    std::fs::metadata(p).ok().map(|m| m.len())
}

fn decrypt(a: DecryptArgs, quiet: bool) -> Result<(), Failure> {
    let format = a.format.read()?;
    let expected = a.expected.read()?;
    let output = match &a.output {
        Some(o) => o.clone(),
        None if is_dash(&a.input) => PathBuf::from("-"),
        None => match a.input.to_str().and_then(|s| s.strip_suffix(".enc")) {
            Some(stem) if !stem.is_empty() => PathBuf::from(stem),
            _ => {
                return Err(usage(
                    "INPUT does not end in .enc, so give the output name with -o",
                ))
            }
        },
    };
    let name = a.input.to_string_lossy();
    let expect_gzip = a.expect_gzip || name.ends_with(".gz.enc") || name.ends_with(".tgz.enc");
    let password = a.password.read(a.format.latin1_password)?;
    let mut decrypt_options = DecryptOptions::new().expect_gzip(expect_gzip);
    if let Some(f) = format {
        decrypt_options = decrypt_options.format(f);
    }
    let total = if is_dash(&a.input) {
        None
    } else {
        file_size(&a.input)
    };
    let bar = Bar::new(quiet, total);
    let options = FileOptions::new()
        .overwrite(a.force)
        .expected_md5(expected)
        .decrypt_options(decrypt_options)
        .sync(!a.no_sync)
        .progress(bar.progress());
    signals::install();

    match (is_dash(&a.input), is_dash(&output)) {
        (false, false) => {
            files::decrypt_file(&a.input, &output, &password, options)?;
        }
        (true, false) => {
            files::decrypt_to_file(io::stdin().lock(), None, &output, &password, options)?;
        }
        (from_stdin, true) => {
            // Standard output cannot be taken back, so a file's md5 is checked before any
            // byte is written; from stdin it can only be checked at the end (exit code 4).
            if let (false, Some(e)) = (from_stdin, &expected) {
                files::verify_file(&a.input, e)?;
            }
            let options = if from_stdin {
                options
            } else {
                options.expected_md5(None)
            };
            let stdout = io::stdout();
            if from_stdin {
                files::decrypt_stream(io::stdin().lock(), stdout, None, &password, options)?;
            } else {
                let f = File::open(&a.input).map_err(|e| io_failure(&a.input, e))?;
                files::decrypt_stream(f, stdout, total, &password, options)?;
            }
        }
    }
    Ok(())
}

fn encrypt(a: EncryptArgs, quiet: bool) -> Result<(), Failure> {
    let format = a.format.read()?.unwrap_or_default();
    let password = a.password.read(a.format.latin1_password)?;
    let total = if is_dash(&a.input) {
        None
    } else {
        file_size(&a.input)
    };
    let bar = Bar::new(quiet, total);
    let options = FileOptions::new()
        .overwrite(a.force)
        .sync(!a.no_sync)
        .progress(bar.progress());
    signals::install();
    match (is_dash(&a.input), is_dash(&a.output)) {
        (false, false) => {
            files::encrypt_file(&a.input, &a.output, &password, format, options)?;
        }
        (true, false) => {
            files::encrypt_to_file(
                io::stdin().lock(),
                None,
                &a.output,
                &password,
                format,
                options,
            )?;
        }
        (from_stdin, true) => {
            let input: Box<dyn Read> = if from_stdin {
                Box::new(io::stdin().lock())
            } else {
                Box::new(File::open(&a.input).map_err(|e| io_failure(&a.input, e))?)
            };
            files::encrypt_stream(
                input,
                io::stdout().lock(),
                total,
                &password,
                format,
                options,
            )?;
        }
    }
    Ok(())
}

fn md5(a: Md5Args, json: bool) -> Result<(), Failure> {
    let mut failed = None;
    let mut records = Vec::new();
    let stdout = io::stdout();
    let mut out = stdout.lock();
    for path in &a.files {
        let result = if is_dash(path) {
            checksum::md5_reader(io::stdin().lock())
                .map(|(d, _)| d)
                .map_err(Error::from)
        } else {
            checksum::md5_file(path)
        };
        match result {
            Ok(d) if json => {
                records.push(json!({"file": path.to_string_lossy(), "md5": d.to_string()}))
            }
            Ok(d) => {
                writeln!(
                    out,
                    "{}",
                    checksum::md5sum_line(&d, &path.to_string_lossy())
                )
                .map_err(|e| io_failure(Path::new("-"), e))?;
            }
            Err(e) => {
                eprintln!("a0backup: {e}");
                failed = Some(Failure::from(e));
            }
        }
    }
    if json {
        writeln!(out, "{}", serde_json::Value::Array(records))
            .map_err(|e| io_failure(Path::new("-"), e))?;
    }
    match failed {
        None => Ok(()),
        Some(mut f) => {
            f.message = "some files could not be read".into();
            Err(f)
        }
    }
}

fn verify(a: VerifyArgs, json: bool, quiet: bool) -> Result<(), Failure> {
    let expected = a
        .expected
        .read()?
        .ok_or_else(|| usage("verify needs --md5 HEX or --status FILE"))?;
    let actual = checksum::md5_file(&a.file)?;
    let ok = actual == expected;
    if json {
        println!(
            "{}",
            json!({"file": a.file.to_string_lossy(), "expected": expected.to_string(),
                   "actual": actual.to_string(), "ok": ok})
        );
    } else if ok && !quiet {
        println!("{}: OK", a.file.display());
    }
    actual.verify(&expected)?;
    Ok(())
}

fn input_reader(path: &Path) -> Result<(Box<dyn Read>, Option<u64>), Failure> {
    if is_dash(path) {
        Ok((Box::new(io::stdin().lock()), None))
    } else {
        let f = File::open(path).map_err(|e| io_failure(path, e))?;
        let len = f.metadata().ok().map(|m| m.len());
        Ok((Box::new(io::BufReader::with_capacity(1 << 20, f)), len))
    }
}

fn decrypt_options(format: Option<Format>) -> DecryptOptions {
    let o = DecryptOptions::new().expect_gzip(true);
    match format {
        Some(f) => o.format(f),
        None => o,
    }
}

fn restore(a: RestoreArgs, quiet: bool, json: bool) -> Result<(), Failure> {
    let format = a.format.read()?;
    let expected = a.expected.read()?;
    let password = a.password.read(a.format.latin1_password)?;
    let (input, total) = input_reader(&a.input)?;
    let bar = Bar::new(quiet, total);
    let options = RestoreOptions::new()
        .expected_md5(expected)
        .replace(a.force)
        .decrypt_options(decrypt_options(format))
        .unpack(a.safety.options())
        .sync(!a.no_sync)
        .progress(bar.progress());
    signals::install();
    let s = restore_mod::restore_reader(input, total, &a.dest, Some(&password), options)?;
    drop(bar);
    report_unpacked(quiet, json, &a.dest, &s);
    Ok(())
}

fn report_unpacked(quiet: bool, json: bool, dest: &Path, summary: &restore_mod::RestoreSummary) {
    let s = &summary.unpacked;
    if json {
        println!(
            "{}",
            json!({"destination": dest.to_string_lossy(), "files": s.files,
                   "directories": s.directories, "links": s.links, "bytes": s.bytes,
                   "trailing_bytes": s.trailing_bytes, "warnings": s.warnings,
                   "md5": summary.md5.map(|d| d.to_string())})
        );
    }
    for w in &s.warnings {
        eprintln!("a0backup: warning: {w}");
    }
    if s.trailing_bytes > 0 {
        eprintln!(
            "a0backup: warning: {} non-zero bytes after the end of the archive were ignored",
            s.trailing_bytes
        );
    }
    if !quiet && !json {
        eprintln!(
            "restored {} files, {} directories, {} bytes into {}",
            s.files,
            s.directories,
            s.bytes,
            dest.display()
        );
    }
}

fn unpack(a: UnpackArgs, quiet: bool, json: bool) -> Result<(), Failure> {
    let (input, total) = input_reader(&a.input)?;
    let bar = Bar::new(quiet, total);
    let options = RestoreOptions::new()
        .replace(a.force)
        .unpack(a.safety.options())
        .sync(!a.no_sync)
        .progress(bar.progress());
    signals::install();
    let s = restore_mod::restore_reader(input, total, &a.dest, None, options)?;
    drop(bar);
    report_unpacked(quiet, json, &a.dest, &s);
    Ok(())
}

fn pack(a: PackArgs, json: bool) -> Result<(), Failure> {
    let format = a.format.read()?.unwrap_or_default();
    let password = a.password.read(a.format.latin1_password)?;
    let mut options = PackOptions::new().level(a.level);
    if let Some(pw) = password {
        options = options.encrypt(pw, format);
    }
    if !a.force && a.output.symlink_metadata().is_ok() {
        return Err(Error::AlreadyExists(a.output.clone()).into());
    }
    let out = files::AtomicFile::create(&a.output, a.force)?.sync(!a.no_sync);
    signals::install();
    let bar = Bar::new(true, None);
    let packed = archive::pack_with_progress(&a.dir, out.as_file(), &options, &mut bar.progress());
    drop(bar);
    let summary = match packed {
        Ok(s) => s,
        Err(e) => return Err(out.discard_after(e).into()),
    };
    out.commit()?;
    let status = BackupStatus {
        message: Some("Backup found".into()),
        name: a
            .output
            .file_name()
            .map(|n| n.to_string_lossy().into_owned()),
        md5: summary.md5,
    };
    if json {
        // One line, for scripts; the default output is laid out as `a0cli backup-status`.
        let v: serde_json::Value =
            serde_json::from_str(&status.to_json()).expect("our own JSON parses");
        println!("{v}");
    } else {
        println!("{}", status.to_json());
    }
    Ok(())
}

/// A name from an archive, escaped for the terminal as GNU tar prints it.
fn escape(p: &Path) -> String {
    archive::escape_name(p.as_os_str().as_encoded_bytes())
}

fn list(a: ListArgs, json: bool) -> Result<(), Failure> {
    let format = a.format.read()?;
    let password = a.password.read(a.format.latin1_password)?;
    let (input, _) = input_reader(&a.input)?;
    let stdout = io::stdout();
    let mut out = io::BufWriter::new(stdout.lock());
    let mut write_err = None;
    {
        let mut each = |e: &archive::EntryInfo| {
            if json {
                let line = json!({"path": e.path.to_string_lossy(), "type": e.kind.letter().to_string(),
                    "size": e.size, "mode": e.mode, "mtime": e.mtime,
                    "link_target": e.link_target.as_ref().map(|t| t.to_string_lossy())});
                if let Err(err) = writeln!(out, "{line}") {
                    write_err.get_or_insert(err);
                }
                return;
            }
            let link = e
                .link_target
                .as_ref()
                .map(|t| format!(" -> {}", escape(t)))
                .unwrap_or_default();
            if let Err(err) = writeln!(
                out,
                "{}{:o} {:>12} {:>11} {}{}",
                e.kind.letter(),
                e.mode & 0o7777,
                e.size,
                e.mtime,
                escape(&e.path),
                link
            ) {
                write_err.get_or_insert(err);
            }
        };
        match password {
            Some(pw) => {
                let options = decrypt_options(format).expect_gzip(true);
                let r = a0backup::DecryptReader::new(input, &pw, &options)?;
                archive::list(r, &mut each)?;
            }
            None => archive::list(input, &mut each)?,
        }
    }
    out.flush().map_err(|e| io_failure(Path::new("-"), e))?;
    match write_err {
        Some(e) => Err(io_failure(Path::new("-"), e)),
        None => Ok(()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cli_definition_is_consistent() {
        Cli::command().debug_assert();
    }

    #[test]
    fn usage_is_the_exit_code_of_an_invalid_argument() {
        assert_eq!(
            exit::USAGE,
            Error::InvalidArgument(String::new()).exit_code()
        );
    }
}
