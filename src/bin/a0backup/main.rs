//! `a0backup`: decrypt, verify, restore and create Auth0 Appliance backups from a terminal.
//!
//! This file holds the command line (clap) and the dispatch; each command lives in its own
//! module, and the shared parts (password input, the progress bar, signals, failures and
//! inputs/outputs) in theirs.
//!
//! No `unsafe` here but in one audited place: `signals.rs` asks `sigaction(2)` whether a
//! signal is ignored (the library's `sync_file_range(2)` is in its `writeback.rs`).

#![deny(unsafe_code)]

/// `println!` for the command's results: a write error (a reader that went away, as `| head`
/// does) is returned as a [`failure::Failure`] instead of the panic `println!` gives.
macro_rules! outln {
    ($($arg:tt)*) => {
        crate::io::print_line(format_args!($($arg)*))
    };
}

/// `eprintln!` without its panic: a message that cannot be written to standard error (closed,
/// or `2>/dev/full`) is dropped, and the command ends with its own exit code rather than a
/// panic's 101. It shadows the standard macro in every module below.
macro_rules! eprintln {
    ($($arg:tt)*) => {{
        use std::io::Write as _;
        let _ = writeln!(std::io::stderr(), $($arg)*);
    }};
}

mod args;
mod check;
mod collections;
mod decrypt;
mod diff;
mod dump;
mod encrypt;
mod failure;
mod find;
mod io;
mod jsonl;
mod list;
mod man;
mod pack;
mod password;
mod progress;
mod restore;
#[allow(unsafe_code)] // sigaction(2), audited: see the module
mod signals;
mod tvf;
mod usage_hints;
mod verify;

use std::process::ExitCode;

use clap::{CommandFactory, Parser, Subcommand};

use crate::failure::Failure;

const EXAMPLES: &str = "\
Examples:
  # Restore a retrieved backup, checking the md5 from `a0cli backup-status`:
  a0backup restore --password-file pw.txt --status status.txt backup-retrieve.tar.gz.enc -C restored

  # The appliance's `node decrypt` step, with the md5 checked first:
  a0backup decrypt --password-env A0_PW --md5 eccdb928a3bab23f725f955b68ef66ff backup.tar.gz.enc

  # Pack and encrypt a mongodump tree as the appliance does, printing its status record:
  a0backup pack --password-file pw.txt dump -o backup.tar.gz.enc

  # One user back from a backup, as Extended JSON, without restoring it:
  a0backup dump --password-file pw.txt backup.tar.gz.enc auth0.users --filter '{\"email\": \"ann@example.com\"}'

Exit codes: 0 ok, 1 error, 2 usage (dump: no such collection), 3 probably wrong password,
4 md5 mismatch, 5 unsafe archive (an entry refused by the safety policy, or a
--max-size/--max-entries/--max-path-len limit), 6 (check, dump, find, diff) restorable but
collection data damaged, 130/143/129 stopped by SIGINT/SIGTERM/SIGHUP (cleaned up, nothing
published), 141 the reader of standard output went away (`| head`).";

/// Decrypt, verify, restore and create Auth0 Appliance backups.
#[derive(Parser, Debug)]
#[command(name = "a0backup", version, about, long_about = None, after_help = EXAMPLES)]
struct Cli {
    /// Print nothing but errors and warnings (no progress bar, no summary line).
    #[arg(long, short, global = true)]
    quiet: bool,

    /// Print results as JSON on stdout (md5, verify, list, check, pack, restore, unpack).
    #[arg(long, global = true)]
    json: bool,

    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand, Debug)]
enum Command {
    /// Decrypt an encrypted backup (the appliance's `node decrypt` step), optionally checking
    /// its md5 first.
    Decrypt(decrypt::DecryptArgs),
    /// Encrypt a file as the appliance does (or in an openssl enc format).
    Encrypt(encrypt::EncryptArgs),
    /// Print the md5 of files, as md5sum does.
    Md5(verify::Md5Args),
    /// Check a file's md5 against a value or an `a0cli backup-status` record.
    Verify(verify::VerifyArgs),
    /// Restore an encrypted backup (.tar.gz.enc) straight into a directory, md5 checked, in
    /// one pass. Nothing appears in DEST unless everything checked out.
    Restore(restore::RestoreArgs),
    /// Pack a directory into a .tar.gz, encrypted when a password option is given, and print
    /// its backup-status record.
    Pack(pack::PackArgs),
    /// Unpack a plain .tar.gz into a directory, with the same safety policy as restore.
    Unpack(restore::UnpackArgs),
    /// List the entries of a .tar.gz (or of a .tar.gz.enc, with its password) as `tar tvf`
    /// does: mode, owner/group, size (major,minor for a device), date and time (UTC), name;
    /// --json for one object per entry.
    List(list::ListArgs),
    /// Check that a backup would restore, without restoring it: its md5, decryption, gzip, the
    /// archive under restore's safety policy, and every collection's BSON and metadata. Exit 0
    /// only when it would restore and every collection reads cleanly; restore's own exit code
    /// when restore would refuse it (5 for the safety policy); 6 when it would restore but
    /// collection data is damaged or incomplete.
    Check(check::CheckArgs),
    /// Print one collection of a backup as MongoDB Extended JSON, one document per line, as
    /// bsondump does (canonical; --relaxed, --pretty), straight from the encrypted file,
    /// optionally only the documents a --filter selects; or its metadata (--metadata).
    /// Reading stops once the collection's files are behind. Exit 6 at a damaged document.
    Dump(dump::DumpArgs),
    /// Count the documents a --filter selects in one collection of each of many backups (a
    /// week of nightly ones): which hold the record; --docs prints them, tagged with their
    /// backup.
    Find(find::FindArgs),
    /// Compare two backups: per collection, the documents added, removed, changed and
    /// unchanged (by _id), the indexes and options changed, the collections in one only.
    Diff(diff::DiffArgs),
    /// Print a shell completion script (bash, zsh, fish, elvish, powershell).
    Completions {
        /// The shell.
        shell: clap_complete::Shell,
    },
    /// Show the man page of a0backup or of one subcommand (formatted on a terminal, roff when
    /// piped or redirected), or write them all into a directory.
    Man(man::ManArgs),
}

fn main() -> ExitCode {
    let args: Vec<std::ffi::OsString> = std::env::args_os().collect();
    let cli = Cli::try_parse_from(&args).unwrap_or_else(|e| usage_hints::add(e, &args).exit());
    let quiet = cli.quiet;
    let json = cli.json;
    let result = match cli.command {
        Command::Decrypt(a) => decrypt::decrypt(a, quiet),
        Command::Encrypt(a) => encrypt::encrypt(a, quiet),
        Command::Md5(a) => verify::md5(a, json),
        Command::Verify(a) => verify::verify(a, json, quiet),
        Command::Restore(a) => restore::restore(a, quiet, json),
        Command::Pack(a) => pack::pack(a, quiet, json),
        Command::Unpack(a) => restore::unpack(a, quiet, json),
        Command::List(a) => list::list(a, json),
        Command::Check(a) => check::check(a, quiet, json),
        Command::Dump(a) => dump::dump(a, quiet),
        Command::Find(a) => find::find(a, quiet, json),
        Command::Diff(a) => diff::diff(a, quiet, json),
        Command::Completions { shell } => {
            clap_complete::generate(shell, &mut command(), "a0backup", &mut std::io::stdout());
            Ok(())
        }
        Command::Man(a) => man::man(a, quiet),
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(f) => report(f),
    }
}

/// The command line, as `--help`, completions and the man pages describe it.
fn command() -> clap::Command {
    Cli::command()
}

fn report(f: Failure) -> ExitCode {
    if !f.message.is_empty() {
        // A name from the archive may be in the message: no control character reaches the
        // terminal raw.
        eprintln!("a0backup: {}", io::safe(&f.message));
    }
    ExitCode::from(f.code)
}

#[cfg(test)]
mod tests {
    use super::*;
    use a0backup::Error;

    #[test]
    fn cli_definition_is_consistent() {
        Cli::command().debug_assert();
    }

    #[test]
    fn usage_is_the_exit_code_of_an_invalid_argument() {
        assert_eq!(
            failure::exit::USAGE,
            Error::InvalidArgument(String::new()).exit_code()
        );
    }
}
