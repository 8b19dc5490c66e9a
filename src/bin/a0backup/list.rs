//! `a0backup list`: the entries of a `.tar.gz`, or of a `.tar.gz.enc` with a password.

use std::io::{self, Write};
use std::path::{Path, PathBuf};

use a0backup::archive::{self, EntryInfo, EntryKind};
use clap::Args;
use serde_json::json;

use crate::args::{decrypt_options, FormatArgs};
use crate::failure::{io_failure, Failure};
use crate::io::{is_dash, one_stdin, open_input};
use crate::password::ListPasswordArgs;

#[derive(Args, Debug)]
pub struct ListArgs {
    #[command(flatten)]
    password: ListPasswordArgs,
    #[command(flatten)]
    format: FormatArgs,
    /// Print a table by database and collection (from the headers alone: sizes, no document
    /// counts; `a0backup check` reads the documents).
    #[arg(long)]
    collections: bool,
    /// The archive, or - for standard input.
    input: PathBuf,
}

/// A name from an archive, escaped for the terminal as GNU tar prints it.
fn escape(p: &Path) -> String {
    archive::escape_name(p.as_os_str().as_encoded_bytes())
}

/// One entry as `tar tvf` prints it, without the owner column (the library does not report
/// owners): mode string, size, modification time in UTC to the minute, escaped name, and
/// ` -> target` for a symlink or ` link to target` for a hardlink.
fn tvf_line(e: &EntryInfo) -> String {
    let suffix = match (e.kind, &e.link_target) {
        (EntryKind::Symlink, Some(t)) => format!(" -> {}", escape(t)),
        (EntryKind::Hardlink, Some(t)) => format!(" link to {}", escape(t)),
        (EntryKind::VolumeLabel, _) => "--Volume Header--".to_string(),
        _ => String::new(),
    };
    format!(
        "{} {:>12} {} {}{}",
        mode_string(e.kind.letter(), e.mode),
        e.size,
        utc_minute(e.mtime),
        escape(&e.path),
        suffix
    )
}

/// `ls -l`'s mode string, as GNU tar prints it: the type letter, then `rwx` three times, with
/// `s`/`S` for setuid and setgid and `t`/`T` for the sticky bit.
fn mode_string(kind: char, mode: u32) -> String {
    let mut s = String::with_capacity(10);
    s.push(kind);
    let special = [(0o4000, 's', 'S'), (0o2000, 's', 'S'), (0o1000, 't', 'T')];
    for (i, (bit, set_x, set_no_x)) in special.into_iter().enumerate() {
        let shift = 6 - 3 * i as u32;
        let rwx = (mode >> shift) & 7;
        s.push(if rwx & 4 != 0 { 'r' } else { '-' });
        s.push(if rwx & 2 != 0 { 'w' } else { '-' });
        s.push(match (mode & bit != 0, rwx & 1 != 0) {
            (true, true) => set_x,
            (true, false) => set_no_x,
            (false, true) => 'x',
            (false, false) => '-',
        });
    }
    s
}

/// Seconds since the Unix epoch as `YYYY-MM-DD HH:MM` in UTC (proleptic Gregorian, negative
/// times included; Howard Hinnant's `civil_from_days`).
fn utc_minute(secs: i64) -> String {
    let days = secs.div_euclid(86_400);
    let rem = secs.rem_euclid(86_400);
    let z = days as i128 + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = doy - (153 * mp + 2) / 5 + 1;
    let month = if mp < 10 { mp + 3 } else { mp - 9 };
    let year = yoe + era * 400 + i128::from(month <= 2);
    format!(
        "{year:04}-{month:02}-{day:02} {:02}:{:02}",
        rem / 3600,
        rem % 3600 / 60
    )
}

pub fn list(a: ListArgs, json: bool) -> Result<(), Failure> {
    one_stdin(&[
        ("INPUT -", is_dash(&a.input)),
        ("--password-file -", a.password.reads_stdin()),
    ])?;
    let format = a.format.read()?;
    let latin1 = a.format.latin1_password;
    let input = open_input(&a.input)?;
    let password = a.password.for_input(latin1, &a.input, &input.head)?;
    let input = input.reader;
    let stdout = io::stdout();
    let mut out = io::BufWriter::new(stdout.lock());
    let mut write_err = None;
    let mut table = crate::collections::Table::default();
    {
        let mut each = |e: &EntryInfo| {
            if a.collections {
                table.add(e);
                return;
            }
            if json {
                let line = json!({"path": e.path.to_string_lossy(), "type": e.kind.letter().to_string(),
                    "size": e.size, "mode": e.mode, "mtime": e.mtime,
                    "link_target": e.link_target.as_ref().map(|t| t.to_string_lossy())});
                if let Err(err) = writeln!(out, "{line}") {
                    write_err.get_or_insert(err);
                }
                return;
            }
            if let Err(err) = writeln!(out, "{}", tvf_line(e)) {
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
    if a.collections {
        table.print(json);
    }
    match write_err {
        Some(e) => Err(io_failure(Path::new("-"), e)),
        None => Ok(()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn mode_strings_as_ls_and_tar_print_them() {
        assert_eq!(mode_string('-', 0o644), "-rw-r--r--");
        assert_eq!(mode_string('d', 0o755), "drwxr-xr-x");
        assert_eq!(mode_string('l', 0o777), "lrwxrwxrwx");
        assert_eq!(mode_string('-', 0o4755), "-rwsr-xr-x");
        assert_eq!(mode_string('-', 0o2644), "-rw-r-Sr--");
        assert_eq!(mode_string('d', 0o1777), "drwxrwxrwt");
        assert_eq!(mode_string('d', 0o1770), "drwxrwx--T");
    }

    #[test]
    fn utc_minutes_before_and_after_1970() {
        assert_eq!(utc_minute(0), "1970-01-01 00:00");
        assert_eq!(utc_minute(1_700_000_000), "2023-11-14 22:13");
        assert_eq!(utc_minute(-1), "1969-12-31 23:59");
        assert_eq!(utc_minute(951_782_400), "2000-02-29 00:00");
        assert_eq!(utc_minute(-2_208_988_800), "1900-01-01 00:00");
        assert_eq!(utc_minute(253_402_300_799), "9999-12-31 23:59");
    }
}
