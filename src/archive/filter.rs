//! Which entries a selective restore writes: shell patterns on archive paths, and whole
//! mongodump collections by name.

use std::path::Path;

use glob::{MatchOptions, Pattern};

use crate::error::{Error, Result};

/// A selection of an archive's entries for [`UnpackOptions::filter`](super::UnpackOptions::filter).
///
/// A regular file, link or other non-directory entry is written when it matches an include
/// (or there is none) and no exclude. Patterns are matched against the whole archive path
/// without a leading `./`, as GNU tar's `--wildcards` does: `*` and `?` also match `/`.
/// Directory entries are written only when no include is given; with includes, the parents of
/// the selected entries are made as they are needed. The safety policy is the same either way:
/// every entry is still read and judged, selected or not.
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
/// # Ok::<(), a0backup::Error>(())
/// ```
#[derive(Debug, Clone, Default)]
pub struct EntryFilter {
    include: Vec<Pattern>,
    exclude: Vec<Pattern>,
    /// (database, collection) pairs selected with [`collection`](Self::collection).
    collections: Vec<(String, String)>,
}

fn pattern(p: &str) -> Result<Pattern> {
    Pattern::new(p).map_err(|e| Error::InvalidArgument(format!("bad pattern {p:?}: {e}")))
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

    /// Also write entries whose path matches `pattern`.
    ///
    /// # Errors
    ///
    /// [`Error::InvalidArgument`] for a malformed pattern.
    pub fn include(mut self, pattern_text: &str) -> Result<Self> {
        self.include.push(pattern(pattern_text)?);
        Ok(self)
    }

    /// Never write entries whose path matches `pattern`.
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

    /// Whether the entry at `path` (as stored in the archive) is written.
    pub fn selects(&self, path: &[u8], is_dir: bool) -> bool {
        let text = String::from_utf8_lossy(path);
        let text = text.trim_start_matches("./");
        let included = self.include.is_empty() && self.collections.is_empty();
        if is_dir {
            return included;
        }
        let included = included
            || self.include.iter().any(|p| p.matches_with(text, OPTIONS))
            || self.is_selected_collection(text);
        included && !self.exclude.iter().any(|p| p.matches_with(text, OPTIONS))
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
        let text = text.trim_start_matches("./");
        let (patterns, collections) = found.split_at_mut(self.include.len());
        for (p, hit) in self.include.iter().zip(patterns) {
            *hit |= p.matches_with(text, OPTIONS);
        }
        for (c, hit) in self.collections.iter().zip(collections) {
            *hit |= Self::in_collection(c, text);
        }
    }

    /// [`Error::InvalidArgument`] naming the includes and collections that matched no file of
    /// the archive (a mistyped name would otherwise restore nothing, silently).
    pub(crate) fn not_found(&self, found: &[bool]) -> Result<()> {
        let patterns = self
            .include
            .iter()
            .map(|p| format!("pattern {:?}", p.as_str()));
        let collections = self
            .collections
            .iter()
            .map(|(d, c)| format!("collection {d}.{c}"));
        let missing: Vec<String> = patterns
            .chain(collections)
            .zip(found)
            .filter(|(_, &hit)| !hit)
            .map(|(what, _)| what)
            .collect();
        if missing.is_empty() {
            return Ok(());
        }
        Err(Error::InvalidArgument(format!(
            "selected but not in the archive (no file matches): {}",
            missing.join(", ")
        )))
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
