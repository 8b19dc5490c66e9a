//! Archive paths to mongodump files: `PREFIX/DB/COLL.bson`, `PREFIX/DB/COLL.metadata.json`,
//! their `.gz` forms (`mongodump --gzip`) and `PREFIX/oplog.bson`.

/// Which of a collection's two files a path is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Role {
    Bson,
    Metadata,
}

/// A path that names a mongodump file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct DumpFile {
    /// The directory holding the file (its database's), without a trailing slash; empty at
    /// the top of the archive.
    pub(crate) dir: Vec<u8>,
    /// The file name without its suffix: the collection name as mongodump escaped it.
    pub(crate) stem: Vec<u8>,
    pub(crate) role: Role,
    /// Compressed by `mongodump --gzip`.
    pub(crate) gzip: bool,
    /// The stem began with `system.buckets.` (a timeseries collection's data), which `stem`
    /// no longer holds.
    pub(crate) buckets: bool,
}

/// The most bytes of a `collectionName` kept: MongoDB's limit for a whole namespace
/// (`db.collection`) is 255 bytes, so a longer name is reported, and shown cut.
pub(crate) const NAME_KEPT: usize = 255;

/// The most bytes of a reason kept in a report (a parser's message may quote the input).
pub(crate) const REASON_KEPT: usize = 512;

/// `s` cut to at most `max` bytes at a character boundary, with `...` when cut.
pub(crate) fn cut(s: &str, max: usize) -> String {
    if s.len() <= max {
        return s.to_string();
    }
    let mut end = max;
    while !s.is_char_boundary(end) {
        end -= 1;
    }
    format!("{}...", &s[..end])
}

/// A reason as a report keeps it: at most [`REASON_KEPT`] bytes.
pub(crate) fn bounded(reason: &str) -> String {
    cut(reason, REASON_KEPT)
}

const SUFFIXES: [(&[u8], Role, bool); 4] = [
    (b".metadata.json.gz", Role::Metadata, true),
    (b".metadata.json", Role::Metadata, false),
    (b".bson.gz", Role::Bson, true),
    (b".bson", Role::Bson, false),
];

/// The mongodump file a path names, if it names one.
pub(crate) fn classify(path: &[u8]) -> Option<DumpFile> {
    let mut path = path;
    while let Some(rest) = path.strip_prefix(b"./") {
        path = rest;
    }
    let (dir, file) = match path.iter().rposition(|&b| b == b'/') {
        Some(i) => (&path[..i], &path[i + 1..]),
        None => (&path[..0], path),
    };
    SUFFIXES.iter().find_map(|&(suffix, role, gzip)| {
        let stem = file.strip_suffix(suffix).filter(|s| !s.is_empty())?;
        let (stem, buckets) = match stem.strip_prefix(b"system.buckets.") {
            Some(rest) => (rest, true),
            None => (stem, false),
        };
        Some(DumpFile {
            dir: dir.to_vec(),
            stem: stem.to_vec(),
            role,
            gzip,
            buckets,
        })
    })
}

/// The last component of a directory: the database name.
pub(crate) fn database(dir: &[u8]) -> String {
    let last = dir.rsplit(|&b| b == b'/').next().unwrap_or(dir);
    String::from_utf8_lossy(last).into_owned()
}

/// Undoes mongodump's URL path escaping of collection names (`%2F` for `/`, `%24` for `$`, ...);
/// a `%` not followed by two hex digits stays as it is.
pub(crate) fn unescape(name: &[u8]) -> String {
    let hex = |b: u8| (b as char).to_digit(16);
    let mut out = Vec::with_capacity(name.len());
    let mut i = 0;
    while i < name.len() {
        let decoded = match name.get(i..i + 3) {
            Some([b'%', h, l]) => hex(*h).zip(hex(*l)).map(|(h, l)| (h * 16 + l) as u8),
            _ => None,
        };
        match decoded {
            Some(b) => {
                out.push(b);
                i += 3;
            }
            None => {
                out.push(name[i]);
                i += 1;
            }
        }
    }
    String::from_utf8_lossy(&out).into_owned()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn paths_of_a_dump() {
        let f = classify(b"./dump/auth0/users.metadata.json").unwrap();
        assert_eq!(
            (&f.dir[..], &f.stem[..], f.role, f.gzip),
            (&b"dump/auth0"[..], &b"users"[..], Role::Metadata, false)
        );
        let f = classify(b"auth0/x.bson.bson.gz").unwrap();
        assert_eq!(
            (&f.stem[..], f.role, f.gzip),
            (&b"x.bson"[..], Role::Bson, true)
        );
        let f = classify(b"db/system.buckets.weather.bson").unwrap();
        assert_eq!((&f.stem[..], f.buckets), (&b"weather"[..], true));
        let f = classify(b"oplog.bson").unwrap();
        assert_eq!((&f.dir[..], &f.stem[..]), (&b""[..], &b"oplog"[..]));
        assert_eq!(classify(b"dump/auth0/.bson"), None);
        assert_eq!(classify(b"dump/auth0/notes.json"), None);
        assert_eq!(classify(b"dump/prelude.json"), None);
        assert_eq!(database(b"dump/auth0"), "auth0");
        assert_eq!(database(b"admin"), "admin");
    }

    #[test]
    fn parents_and_escapes() {
        assert_eq!(unescape(b"a%2Fb%2ec%24d"), "a/b.c$d");
        assert_eq!(unescape(b"100%"), "100%");
        assert_eq!(unescape(b"%zz%4"), "%zz%4");
    }
}

#[cfg(test)]
mod cut_tests {
    use super::*;

    #[test]
    fn cuts_at_a_character_boundary() {
        assert_eq!(cut("abc", 3), "abc");
        assert_eq!(cut("abcd", 3), "abc...");
        assert_eq!(cut("aé", 2), "a...");
    }
}
