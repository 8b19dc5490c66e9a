//! The values a dotted path reaches in a document, as MongoDB's `BSONElementIterator` walks
//! them (`src/mongo/db/matcher/path.cpp`, leaf and non-leaf arrays traversed):
//!
//! * the path is followed through documents; a missing field, or a value that is neither a
//!   document nor an array with path left over, gives a *missing* value (which `null` and
//!   `$exists: false` match);
//! * at the end of the path, an array gives each of its elements, then itself (so `{a: 1}`
//!   and `{a: [1, 2]}` both match `[1, 2]`); arrays inside it are not opened;
//! * an array with path left over: each element that is a document is searched for the rest of
//!   the path (a document without it gives a missing value); when the next component is a
//!   number, the element at that index is also taken (the element itself if the path ends
//!   there, the rest of the path inside it if it is a document or an array). Other elements,
//!   and the array itself, give nothing.
//!
//! The walk stops at the first value the predicate accepts, allocates nothing, and its
//! recursion is bounded by the number of path components.

use bson::raw::{RawBsonRef, RawDocument};

use crate::rawbson::{self, Bad};

/// A dotted field path.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) struct Path {
    parts: Vec<Part>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
struct Part {
    name: String,
    /// All ASCII digits: also an array index.
    index: bool,
}

impl Path {
    /// `a.b.0.c`; every component non-empty.
    pub fn parse(text: &str) -> Result<Path, String> {
        let parts: Vec<Part> = text
            .split('.')
            .map(|name| Part {
                index: !name.is_empty() && name.bytes().all(|b| b.is_ascii_digit()),
                name: name.to_string(),
            })
            .collect();
        if parts.iter().any(|p| p.name.is_empty()) {
            return Err(format!("the field path {text:?} has an empty component"));
        }
        Ok(Path { parts })
    }
}

/// What the walk asks of each value: `None` is a missing field.
pub(super) type Accept<'f> = dyn FnMut(Option<&RawBsonRef<'_>>) -> Result<bool, Bad> + 'f;

/// Whether `accept` holds for one of the values `path` reaches in `doc`.
pub(super) fn any(doc: &RawDocument, path: &Path, accept: &mut Accept<'_>) -> Result<bool, Bad> {
    from_document(doc, &path.parts, accept)
}

fn from_document(doc: &RawDocument, parts: &[Part], accept: &mut Accept<'_>) -> Result<bool, Bad> {
    let mut doc = doc;
    let mut i = 0;
    loop {
        let Some(value) = field(doc, &parts[i].name)? else {
            return accept(None);
        };
        if i + 1 == parts.len() {
            return leaf(&value, accept);
        }
        match value {
            RawBsonRef::Document(inner) => {
                doc = inner;
                i += 1;
            }
            RawBsonRef::Array(array) => {
                return from_array(rawbson::array_document(array)?, &parts[i + 1..], accept);
            }
            _ => return accept(None),
        }
    }
}

/// The first field of that name (as `BSONObj::getField`).
fn field<'a>(doc: &'a RawDocument, name: &str) -> Result<Option<RawBsonRef<'a>>, Bad> {
    for element in rawbson::elements(doc) {
        let element = element?;
        if element.key == name {
            return Ok(Some(element.value));
        }
    }
    Ok(None)
}

/// The end of the path: an array's elements, then the value itself.
fn leaf(value: &RawBsonRef<'_>, accept: &mut Accept<'_>) -> Result<bool, Bad> {
    if let RawBsonRef::Array(array) = value {
        for element in rawbson::elements(rawbson::array_document(array)?) {
            if accept(Some(&element?.value))? {
                return Ok(true);
            }
        }
    }
    accept(Some(value))
}

/// An array with `rest` (not empty) of the path left.
fn from_array(array: &RawDocument, rest: &[Part], accept: &mut Accept<'_>) -> Result<bool, Bad> {
    let next = &rest[0];
    for element in rawbson::elements(array) {
        let element = element?;
        let at_index = next.index && element.key == next.name;
        if let RawBsonRef::Document(inner) = element.value {
            if from_document(inner, rest, accept)? {
                return Ok(true);
            }
        }
        if !at_index {
            continue;
        }
        let found = match (rest.len(), element.value) {
            (1, value) => accept(Some(&value))?,
            (_, RawBsonRef::Document(inner)) => from_document(inner, &rest[1..], accept)?,
            (_, RawBsonRef::Array(inner)) => {
                from_array(rawbson::array_document(inner)?, &rest[1..], accept)?
            }
            _ => false,
        };
        if found {
            return Ok(true);
        }
    }
    Ok(false)
}

#[cfg(test)]
mod tests {
    use super::*;
    use bson::{rawdoc, Bson, RawBson};

    /// Every value the path reaches, as `Bson` (`Undefined` for a missing one).
    fn reached(doc: &bson::RawDocumentBuf, path: &str) -> Vec<Bson> {
        let mut seen = Vec::new();
        let path = Path::parse(path).unwrap();
        any(doc, &path, &mut |v| {
            seen.push(match v {
                None => Bson::Undefined,
                Some(v) => Bson::try_from(RawBson::from(*v)).unwrap(),
            });
            Ok(false)
        })
        .unwrap();
        seen
    }

    #[test]
    fn as_mongod_walks() {
        let doc = rawdoc! { "a": [ { "b": 1 }, { "c": 2 }, 3, [ { "b": 4 } ], { "b": [5, [6]] } ] };
        assert_eq!(
            reached(&doc, "a.b"),
            [
                Bson::Int32(1),
                Bson::Undefined,
                Bson::Int32(5),
                Bson::Array(vec![Bson::Int32(6)]),
                Bson::Array(vec![Bson::Int32(5), Bson::Array(vec![Bson::Int32(6)])])
            ]
        );
        // An index: every document element is searched for a field "0" (missing here), the
        // element at 0 also for "b"; the nested array at 3 is opened with the rest.
        let missing = Bson::Undefined;
        assert_eq!(
            reached(&doc, "a.0.b"),
            [missing.clone(), Bson::Int32(1), missing.clone(), missing]
        );
        assert_eq!(
            reached(&doc, "a.3.b"),
            [
                Bson::Undefined,
                Bson::Undefined,
                Bson::Int32(4),
                Bson::Undefined
            ]
        );
        let m = Bson::Undefined;
        assert_eq!(
            reached(&doc, "a.2"),
            [m.clone(), m.clone(), Bson::Int32(3), m.clone()]
        );
        assert_eq!(reached(&doc, "a.2.x"), [m.clone(), m.clone(), m]);
        assert_eq!(
            reached(&rawdoc! { "a": [3, [4]] }, "a.1"),
            [Bson::Array(vec![Bson::Int32(4)])]
        );
        assert_eq!(reached(&rawdoc! { "a": 5 }, "a.b"), [Bson::Undefined]);
        assert_eq!(reached(&rawdoc! { "a": [] }, "a.b"), Vec::<Bson>::new());
        assert_eq!(
            reached(&rawdoc! { "a": { "0": "field" } }, "a.0"),
            [Bson::String("field".into())]
        );
        assert!(Path::parse("a..b").is_err());
        assert!(Path::parse("").is_err());
    }
}
