//! `a0backup list`'s lines, as GNU `tar tvf` prints them (`simple_print_header` in GNU tar's
//! `list.c`): mode string, `owner/group`, size (`major,minor` for a device), modification time
//! in UTC to the minute, escaped name, then ` -> target` or ` link to target`.
//!
//! GNU tar pads `owner/group size` to a width that starts at 19 and only grows, over the
//! whole listing, to fit the widest seen so far; [`Tvf`] keeps that width, so its lines match
//! GNU's byte for byte. Owner names are escaped as names are (GNU prints them raw, control
//! characters included).

use std::ffi::OsStr;
use std::path::Path;

use a0backup::archive::{self, EntryInfo, EntryKind};

/// The listing so far: the widths GNU tar has grown to.
pub struct Tvf {
    /// Of `owner/group size`: at least 19.
    owner_size: usize,
    /// Of the date: at least `YYYY-MM-DD HH:MM`.
    date: usize,
}

impl Default for Tvf {
    fn default() -> Self {
        Tvf {
            owner_size: 19,
            date: "YYYY-MM-DD HH:MM".len(),
        }
    }
}

impl Tvf {
    /// The line for `e`, widening the columns for it and the lines after it as GNU tar does.
    pub fn line(&mut self, e: &EntryInfo) -> String {
        let user = owner(&e.uname, e.uid);
        let group = owner(&e.gname, e.gid);
        let size = match e.kind {
            EntryKind::Device | EntryKind::BlockDevice => {
                format!("{},{}", e.devmajor, e.devminor)
            }
            _ => e.size.to_string(),
        };
        let pad = user.len() + 1 + group.len() + 1 + size.len();
        self.owner_size = self.owner_size.max(pad);
        let date = utc_minute(e.mtime);
        self.date = self.date.max(date.len());
        let suffix = match (e.kind, &e.link_target) {
            (EntryKind::Symlink, Some(t)) => format!(" -> {}", escape(t)),
            (EntryKind::Hardlink, Some(t)) => format!(" link to {}", escape(t)),
            (EntryKind::VolumeLabel, _) => "--Volume Header--".to_string(),
            _ => String::new(),
        };
        format!(
            "{} {user}/{group} {size:>size_width$} {date:<date_width$} {}{suffix}",
            mode_string(e.kind.letter(), e.mode),
            escape(&e.path),
            size_width = self.owner_size - pad + size.len(),
            date_width = self.date,
        )
    }
}

/// The owner's name, or its id when the archive names none.
fn owner(name: &OsStr, id: u64) -> String {
    if name.is_empty() {
        id.to_string()
    } else {
        archive::escape_name(name.as_encoded_bytes())
    }
}

/// A name from an archive, escaped for the terminal as GNU tar prints it.
fn escape(p: &Path) -> String {
    archive::escape_name(p.as_os_str().as_encoded_bytes())
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
