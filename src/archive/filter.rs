//! Which entries a selective restore writes: shell patterns on archive paths, and whole
//! mongodump collections by name.

use std::path::Path;

use glob::{MatchOptions, Pattern};

use crate::error::{Error, Result};

/// A selection of an archive's entries for [`UnpackOptions::filter`](super::UnpackOptions::filter).
///
/// The rules are GNU tar's for member arguments with `--wildcards` (includes) and for
/// `--exclude`, as `tar -xf` applies them:
///
/// * Patterns are shell patterns in which `*` and `?` also match `/` (GNU tar's
///   `--wildcards-match-slash`, its default).
/// * An entry is written when an include (or a collection) selects it, or there is none, and
///   no exclude matches it; a directory entry likewise (with includes, the parents of the
///   selected entries that are not selected themselves are made as they are needed).
/// * An include is anchored: it matches the whole path, or a leading part of it that ends at
///   a `/`, so `dump/auth0` selects the directory and everything under it, and `auth0` or
///   `dump/au` select nothing there.
/// * An exclude is not anchored: it matches any run of whole components of the path, so
///   `admin`, `dump/admin` and `dump/ad*` all leave out `dump/admin` and everything under it,
///   and `users.bson` leaves out every file of that name.
/// * A leading `./` (and a trailing `/`) is not part of a name, on either side: `./dump/x` and
///   `dump/x` name the same entry whether the archive was made with `tar -C d .` (whose
///   names `list` prints as `./dump/x`) or `tar -C d dump`. (GNU tar compares them as
///   written, and says "Not found in archive" for the other form.)
///
/// The safety policy is the same either way: every entry is still read and judged, selected
/// or not. An include or collection that matches no file of the archive fails the job with
/// [`Error::NotInArchive`](crate::Error::NotInArchive), which names the archive's collections.
///
/// # Examples
///
/// ```
/// use a0backup::archive::EntryFilter;
/// let f = EntryFilter::new().collection("auth0.users")?.exclude("*.gz")?;
/// assert!(f.selects(b"dump/auth0/users.bson", false));
/// assert!(f.selects(b"dump/auth0/users.metadata.json", false));
/// assert!(!f.selects(b"dump/auth0/logs.bson", false));
/// assert!(!f.selects(b"dump/auth0/users.bson.gz", false));
///
/// // A directory selects, or leaves out, everything under it; `./` matches either form.
/// let f = EntryFilter::new().include("./dump/auth0")?.exclude("dump/auth0/tmp")?;
/// assert!(f.selects(b"dump/auth0/users.bson", false));
/// assert!(f.selects(b"./dump/auth0/", true));
/// assert!(!f.selects(b"./dump/auth0/tmp/x.bson", false));
/// assert!(!f.selects(b"dump/admin/system.version.bson", false));
/// assert!(!f.selects(b"dump/auth0x/users.bson", false));
/// # Ok::<(), a0backup::Error>(())
/// ```
#[derive(Debug, Clone, Default)]
pub struct EntryFilter {
    include: Vec<Pattern>,
    /// The includes as given, for messages.
    include_text: Vec<String>,
    exclude: Vec<Pattern>,
    /// (database, collection) pairs selected with [`collection`](Self::collection).
    collections: Vec<(String, String)>,
}

fn pattern(p: &str) -> Result<Pattern> {
    Pattern::new(normalized(p))
        .map_err(|e| Error::InvalidArgument(format!("bad pattern {p:?}: {e}")))
}

/// A name or pattern without its leading `./` (any number of them) and trailing `/`: how the
/// same entry is named by `tar -C d .` and `tar -C d dump`, and as a directory or not.
fn normalized(name: &str) -> &str {
    let mut s = name;
    while let Some(rest) = s.strip_prefix("./") {
        s = rest.trim_start_matches('/');
    }
    let trimmed = s.trim_end_matches('/');
    if trimmed.is_empty() {
        s
    } else {
        trimmed
    }
}

/// Whether `p` matches `path` or a leading part of it that ends at a `/` (GNU tar's member
/// arguments: a directory selects its subtree).
fn matches_leading(p: &Pattern, path: &str) -> bool {
    p.matches_with(path, OPTIONS)
        || path
            .match_indices('/')
            .any(|(i, _)| p.matches_with(&path[..i], OPTIONS))
}

/// Whether `p` matches a run of whole components of `path`: starting at its beginning or
/// after a `/`, ending at its end or before a `/` (GNU tar's `--exclude`, not anchored, and
/// what it leaves out, it leaves out with everything under it).
fn matches_components(p: &Pattern, path: &str) -> bool {
    let starts = std::iter::once(0).chain(path.match_indices('/').map(|(i, _)| i + 1));
    starts
        .filter(|&start| start < path.len())
        .any(|start| matches_leading(p, &path[start..]))
}

const OPTIONS: MatchOptions = MatchOptions {
    case_sensitive: true,
    require_literal_separator: false,
    require_literal_leading_dot: false,
};

impl EntryFilter {
    /// Selects everything.
    pub fn new() -> EntryFilter {
        EntryFilter::default()
    }

    /// Whether the filter selects every entry.
    pub fn is_all(&self) -> bool {
        self.include.is_empty() && self.exclude.is_empty() && self.collections.is_empty()
    }

    /// Also write the entries that `pattern` selects: those whose path it matches, and
    /// everything under a directory whose path it matches (anchored, as GNU tar's member
    /// arguments; see the type's docs).
    ///
    /// # Errors
    ///
    /// [`Error::InvalidArgument`] for a malformed pattern.
    pub fn include(mut self, pattern_text: &str) -> Result<Self> {
        self.include.push(pattern(pattern_text)?);
        self.include_text.push(pattern_text.to_string());
        Ok(self)
    }

    /// Never write the entries that `pattern` matches: those with a run of whole path
    /// components it matches, and so everything under a directory it matches (not anchored,
    /// as GNU tar's `--exclude`; see the type's docs).
    ///
    /// # Errors
    ///
    /// [`Error::InvalidArgument`] for a malformed pattern.
    pub fn exclude(mut self, pattern_text: &str) -> Result<Self> {
        self.exclude.push(pattern(pattern_text)?);
        Ok(self)
    }

    /// Also write the collection `DB.COLL`: its `.bson` and `.metadata.json` (and their `.gz`
    /// forms), wherever the database directory is in the archive.
    ///
    /// # Errors
    ///
    /// [`Error::InvalidArgument`] when the name has no `.` between database and collection.
    pub fn collection(mut self, name: &str) -> Result<Self> {
        let (db, coll) = name
            .split_once('.')
            .filter(|(d, c)| !d.is_empty() && !c.is_empty())
            .ok_or_else(|| Error::InvalidArgument(format!("not a DB.COLLECTION name: {name:?}")))?;
        self.collections.push((db.to_string(), coll.to_string()));
        Ok(self)
    }

    /// Whether the entry at `path` (as stored in the archive; `is_dir` for a directory entry)
    /// is written.
    pub fn selects(&self, path: &[u8], is_dir: bool) -> bool {
        let text = String::from_utf8_lossy(path);
        let text = normalized(&text);
        let included = (self.include.is_empty() && self.collections.is_empty())
            || self.include.iter().any(|p| matches_leading(p, text))
            || (!is_dir && self.is_selected_collection(text));
        included && !self.exclude.iter().any(|p| matches_components(p, text))
    }

    /// How many includes and collections there are: the length of the `found` slice of
    /// [`mark_found`](Self::mark_found).
    pub(crate) fn selector_count(&self) -> usize {
        self.include.len() + self.collections.len()
    }

    /// Marks in `found` each include and collection that the non-directory entry at `path`
    /// matches (excluded or not: it is in the archive).
    pub(crate) fn mark_found(&self, path: &[u8], found: &mut [bool]) {
        let text = String::from_utf8_lossy(path);
        let text = normalized(&text);
        let (patterns, collections) = found.split_at_mut(self.include.len());
        for (p, hit) in self.include.iter().zip(patterns) {
            *hit |= matches_leading(p, text);
        }
        for (c, hit) in self.collections.iter().zip(collections) {
            *hit |= Self::in_collection(c, text);
        }
    }

    /// Whether a collection is selected: only then are the archive's collections noted for
    /// [`Error::NotInArchive`].
    pub(crate) fn selects_collections(&self) -> bool {
        !self.collections.is_empty()
    }

    /// [`Error::NotInArchive`] naming the includes and collections that matched no file of
    /// the archive (a mistyped name would otherwise restore nothing, silently), with the
    /// collections it holds (`archive_collections`).
    pub(crate) fn not_found(&self, found: &[bool], archive_collections: Vec<String>) -> Result<()> {
        let (patterns, collections) = found.split_at(self.include.len());
        let patterns: Vec<String> = self
            .include_text
            .iter()
            .zip(patterns)
            .filter(|(_, &hit)| !hit)
            .map(|(p, _)| p.clone())
            .collect();
        let collections: Vec<String> = self
            .collections
            .iter()
            .zip(collections)
            .filter(|(_, &hit)| !hit)
            .map(|((d, c), _)| format!("{d}.{c}"))
            .collect();
        if patterns.is_empty() && collections.is_empty() {
            return Ok(());
        }
        Err(Error::NotInArchive {
            patterns,
            collections,
            archive_collections,
        })
    }

    /// The collection (`DB.COLL`) whose file (`.bson`, `.metadata.json`, or their `.gz`
    /// forms) is at `path` (as stored in the archive), if it is one.
    pub(crate) fn collection_of(path: &[u8]) -> Option<String> {
        let text = String::from_utf8_lossy(path);
        let p = Path::new(normalized(&text));
        let file = p.file_name()?.to_str()?;
        let db = p.parent()?.file_name()?.to_str()?;
        let file = file.strip_suffix(".gz").unwrap_or(file);
        let coll = file
            .strip_suffix(".bson")
            .or_else(|| file.strip_suffix(".metadata.json"))
            .filter(|c| !c.is_empty())?;
        Some(format!("{db}.{coll}"))
    }

    fn is_selected_collection(&self, path: &str) -> bool {
        self.collections
            .iter()
            .any(|c| Self::in_collection(c, path))
    }

    /// Whether `path` is a file of the collection `(db, coll)`.
    fn in_collection((db_name, coll_name): &(String, String), path: &str) -> bool {
        let p = Path::new(path);
        let (Some(file), Some(db)) = (
            p.file_name().and_then(|f| f.to_str()),
            p.parent()
                .and_then(Path::file_name)
                .and_then(|d| d.to_str()),
        ) else {
            return false;
        };
        let file = file.strip_suffix(".gz").unwrap_or(file);
        let coll = file
            .strip_suffix(".bson")
            .or_else(|| file.strip_suffix(".metadata.json"));
        db_name == db && coll == Some(coll_name.as_str())
    }
}
