//! PAX extended header records (`"%d %s=%s\n"`), read strictly.
//!
//! Readers disagree on malformed or repeated records (GNU tar takes the last of two `path`
//! records, tar-rs the first), and that disagreement is how entries get smuggled past a
//! reviewer (CVE-2025-62518, CVE-2026-33055). So a record set that is not exactly well formed,
//! or names a keyword twice, is refused instead of read one way.

use std::collections::HashMap;

/// The keywords a0backup acts on, from one extended header.
#[derive(Debug, Default)]
pub(super) struct PaxRecords {
    pub(super) path: Option<Vec<u8>>,
    pub(super) linkpath: Option<Vec<u8>>,
    pub(super) size: Option<u64>,
    pub(super) mtime: Option<i64>,
    /// An `mtime` whose value is not exactly a number: GNU tar takes its numeric prefix (or the
    /// header's time when there is none), and so does a0backup, with a warning; a time changes
    /// no entry's name or framing.
    pub(super) bad_mtime: Option<String>,
    /// The first `GNU.sparse.*` keyword seen: the entry is a sparse file.
    pub(super) sparse: Option<String>,
    /// The owner, overriding the header's.
    pub(super) owner: PaxOwner,
}

/// The PAX `uid`, `gid`, `uname` and `gname` records. A uid or gid that is not a decimal
/// number is ignored (the header's stands): owners are only listed, never applied.
#[derive(Debug, Default)]
pub(super) struct PaxOwner {
    pub(super) uid: Option<u64>,
    pub(super) gid: Option<u64>,
    pub(super) uname: Option<Vec<u8>>,
    pub(super) gname: Option<Vec<u8>>,
}

/// Parses the records of one extended header. `Err` says what is wrong, for the message.
pub(super) fn parse(data: &[u8]) -> Result<PaxRecords, String> {
    let mut seen: HashMap<&[u8], ()> = HashMap::new();
    let mut out = PaxRecords::default();
    let mut rest = data;
    while !rest.is_empty() {
        // Some writers pad the data with NULs; nothing else may follow the last record.
        if rest.iter().all(|&b| b == 0) {
            break;
        }
        let space = rest
            .iter()
            .position(|&b| b == b' ')
            .ok_or("a record without a length")?;
        let digits = &rest[..space];
        if digits.is_empty() || !digits.iter().all(u8::is_ascii_digit) || digits.len() > 19 {
            return Err("a record length that is not a decimal number".into());
        }
        let len: usize = std::str::from_utf8(digits)
            .ok()
            .and_then(|d| d.parse().ok())
            .ok_or("a record length that is not a decimal number")?;
        if len <= space + 1 || len > rest.len() {
            return Err(format!(
                "a record length ({len}) past the end of the header"
            ));
        }
        let record = &rest[space + 1..len];
        let Some((&b'\n', body)) = record.split_last() else {
            return Err("a record that does not end in a newline".into());
        };
        let eq = body
            .iter()
            .position(|&b| b == b'=')
            .ok_or("a record without '='")?;
        let (key, value) = (&body[..eq], &body[eq + 1..]);
        if key.is_empty() || key.contains(&0) {
            return Err("a record with an empty keyword or a NUL byte in it".into());
        }
        let key_text = String::from_utf8_lossy(key);
        if key.starts_with(b"GNU.sparse.") {
            out.sparse
                .get_or_insert_with(|| key_text.clone().into_owned());
        }
        if seen.insert(key, ()).is_some() && out.sparse.is_none() {
            return Err(format!("the keyword {key_text:?} twice"));
        }
        match key {
            b"path" => out.path = Some(name_value(value, "path")?),
            b"linkpath" => out.linkpath = Some(name_value(value, "linkpath")?),
            b"size" => out.size = Some(size_value(value)?),
            b"uid" => out.owner.uid = size_value(value).ok(),
            b"gid" => out.owner.gid = size_value(value).ok(),
            b"uname" => out.owner.uname = Some(value.to_vec()),
            b"gname" => out.owner.gname = Some(value.to_vec()),
            b"mtime" => match time_value(value) {
                Ok(t) => out.mtime = Some(t),
                Err(prefix) => {
                    out.mtime = prefix;
                    out.bad_mtime = Some(String::from_utf8_lossy(value).into_owned());
                }
            },
            _ => {}
        }
        rest = &rest[len..];
    }
    Ok(out)
}

/// A name: not empty (an empty value would mean "fall back to the header", which readers
/// treat differently) and without NUL (C readers would cut it there).
fn name_value(value: &[u8], key: &str) -> Result<Vec<u8>, String> {
    if value.is_empty() {
        return Err(format!("an empty {key}"));
    }
    if value.contains(&0) {
        return Err(format!("a NUL byte inside {key}"));
    }
    Ok(value.to_vec())
}

fn size_value(value: &[u8]) -> Result<u64, String> {
    std::str::from_utf8(value)
        .ok()
        .filter(|v| !v.is_empty() && v.bytes().all(|b| b.is_ascii_digit()))
        .and_then(|v| v.parse().ok())
        .ok_or_else(|| "a size that is not a decimal number".to_string())
}

/// Seconds with an optional fraction and sign; the fraction is dropped towards minus infinity,
/// as the seconds of a timestamp are. Like GNU tar, the longest numeric prefix is taken; `Err`
/// carries it when something else follows, `Err(None)` when there is no number at all.
fn time_value(value: &[u8]) -> Result<i64, Option<i64>> {
    let (negative, rest) = match value.strip_prefix(b"-") {
        Some(r) => (true, r),
        None => (false, value),
    };
    let whole_len = rest.iter().take_while(|b| b.is_ascii_digit()).count();
    if whole_len == 0 {
        return Err(None);
    }
    let mut end = whole_len;
    let mut has_fraction = false;
    if rest.get(end) == Some(&b'.') {
        let digits = rest[end + 1..].iter().take_while(|b| b.is_ascii_digit());
        let fraction: Vec<u8> = digits.copied().collect();
        has_fraction = fraction.iter().any(|&b| b != b'0');
        end += 1 + fraction.len();
    }
    // Beyond an i64 of seconds no file system can store it: take the nearest end.
    let secs: i64 = std::str::from_utf8(&rest[..whole_len])
        .expect("ASCII digits")
        .parse()
        .unwrap_or(i64::MAX);
    let t = match (negative, has_fraction) {
        (false, _) => secs,
        (true, false) => -secs,
        (true, true) => (-secs).saturating_sub(1),
    };
    if end == rest.len() {
        Ok(t)
    } else {
        Err(Some(t))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn record(key: &str, value: &str) -> String {
        let body = format!(" {key}={value}\n");
        let mut len = body.len() + 1;
        while format!("{len}{body}").len() != len {
            len += 1;
        }
        format!("{len}{body}")
    }

    #[test]
    fn reads_the_keywords_it_acts_on() {
        let data = [
            record("path", "dump/a b.bson"),
            record("linkpath", "x"),
            record("size", "12"),
            record("mtime", "-1.5"),
            record("uid", "0"),
            record("gid", "2097152"),
            record("uname", "café admin"),
            record("gname", "staff"),
        ]
        .concat();
        let r = parse(data.as_bytes()).unwrap_or_else(|e| panic!("{e}"));
        assert_eq!((r.owner.uid, r.owner.gid), (Some(0), Some(2_097_152)));
        assert_eq!(r.owner.uname.as_deref(), Some("café admin".as_bytes()));
        assert_eq!(r.owner.gname.as_deref(), Some(&b"staff"[..]));
        // A uid that is not a number is left out, not a refusal: owners are never applied.
        let odd = parse(record("uid", "-1").as_bytes()).unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(odd.owner.uid, None);
        assert_eq!(r.path.as_deref(), Some(&b"dump/a b.bson"[..]));
        assert_eq!(r.linkpath.as_deref(), Some(&b"x"[..]));
        assert_eq!((r.size, r.mtime), (Some(12), Some(-2)));
        assert!(r.sparse.is_none());
    }

    #[test]
    fn refuses_what_readers_would_read_differently() {
        let twice = [record("path", "a"), record("path", "b")].concat();
        assert!(parse(twice.as_bytes()).unwrap_err().contains("twice"));
        for bad in [
            "5 a=b",
            "x path=a\n",
            "99 path=a\n",
            "9 path=a ",
            "7 =ab\n",
            "8 pathab\n",
        ] {
            assert!(parse(bad.as_bytes()).is_err(), "{bad:?}");
        }
        assert!(parse(record("size", "1x").as_bytes()).is_err());
        assert!(parse(b"31 SCHILY.xattr.null\0=fizzbuzz\n").is_err());
        let bad_time = parse(record("mtime", "1748089464.9a").as_bytes()).unwrap();
        assert_eq!(
            (bad_time.mtime, bad_time.bad_mtime.as_deref()),
            (Some(1748089464), Some("1748089464.9a"))
        );
        let no_number = parse(record("mtime", "x1").as_bytes()).unwrap();
        assert_eq!(
            (no_number.mtime, no_number.bad_mtime.is_some()),
            (None, true)
        );
        assert!(parse(record("path", "").as_bytes()).is_err());
        assert!(parse(b"11 path=a\0b\n").is_err());
    }

    #[test]
    fn marks_sparse_files() {
        let data = [
            record("GNU.sparse.major", "1"),
            record("GNU.sparse.minor", "0"),
        ]
        .concat();
        let r = parse(data.as_bytes()).unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(r.sparse.as_deref(), Some("GNU.sparse.major"));
        // Format 0.0 repeats its offset/numbytes keywords: still sparse, not "twice".
        let old = [
            record("GNU.sparse.offset", "0"),
            record("GNU.sparse.offset", "1"),
        ]
        .concat();
        assert!(parse(old.as_bytes()).unwrap().sparse.is_some());
    }

    #[test]
    fn nul_padding_after_the_records_is_accepted() {
        let mut data = record("path", "a").into_bytes();
        data.extend_from_slice(&[0; 20]);
        assert_eq!(parse(&data).unwrap().path.as_deref(), Some(&b"a"[..]));
    }
}
