//! The walk over a document's elements, shared by the checking pass and the writing pass.

use std::io;

use bson::raw::{RawBsonRef, RawDocument};

use super::MAX_DEPTH;
use crate::error::Error;
use crate::rawbson::{self, Bad, Element};

/// Why a walk stopped.
pub(super) enum Failure {
    Bad(Bad),
    Io(io::Error),
}

impl Failure {
    pub(super) fn into_error(self) -> Error {
        match self {
            Failure::Bad(bad) => bad.into_error(),
            Failure::Io(e) => Error::Io(e),
        }
    }
}

impl From<io::Error> for Failure {
    fn from(e: io::Error) -> Self {
        Failure::Io(e)
    }
}

/// What a walk does with each element: nothing ([`Check`]) or write it
/// ([`Json`](super::json::Json)).
pub(super) trait Visit {
    /// Opens a document (`array` false) or an array.
    fn open(&mut self, array: bool) -> io::Result<()>;
    fn close(&mut self, array: bool) -> io::Result<()>;
    /// An object member's key (not called for array elements).
    fn key(&mut self, key: &str) -> io::Result<()>;
    /// A value that is neither a document, an array nor code with scope.
    fn scalar(&mut self, element: &Element<'_>) -> io::Result<()>;
    /// Code with scope: `{"$code": code, "$scope": ` ... the scope ... `}`.
    fn code_with_scope(&mut self, code: &str) -> io::Result<()>;
    fn end_code_with_scope(&mut self) -> io::Result<()>;
}

/// Walks a document (at `depth`), element by element, recursing into documents, arrays and
/// scopes; offsets in failures are from the start of `doc`.
pub(super) fn walk(doc: &RawDocument, depth: usize, visit: &mut impl Visit) -> Result<(), Failure> {
    for element in rawbson::elements(doc) {
        let element = element.map_err(Failure::Bad)?;
        visit.key(element.key)?;
        value(&element, depth, visit)?;
    }
    Ok(())
}

fn value(element: &Element<'_>, depth: usize, visit: &mut impl Visit) -> Result<(), Failure> {
    let nested = |inner: &RawDocument, at: usize, visit: &mut _, array: Option<bool>| {
        if depth >= MAX_DEPTH {
            return Err(Failure::Bad(Bad::new(
                element.offset,
                format!("nested deeper than {MAX_DEPTH} levels"),
            )));
        }
        if let Some(array) = array {
            Visit::open(visit, array)?;
        }
        let walked = match array {
            Some(true) => walk_array(inner, depth + 1, visit),
            _ => walk(inner, depth + 1, visit),
        };
        walked.map_err(|f| match f {
            Failure::Bad(bad) => Failure::Bad(bad.shifted(at)),
            io => io,
        })?;
        if let Some(array) = array {
            Visit::close(visit, array)?;
        }
        Ok(())
    };
    match element.value {
        RawBsonRef::Document(doc) => nested(doc, element.value_offset, visit, Some(false)),
        RawBsonRef::Array(array) => {
            let doc = rawbson::array_document(array)
                .map_err(|bad| Failure::Bad(bad.shifted(element.value_offset)))?;
            nested(doc, element.value_offset, visit, Some(true))
        }
        RawBsonRef::JavaScriptCodeWithScope(cws) => {
            visit.code_with_scope(cws.code)?;
            let at = element.value_offset + rawbson::scope_offset(cws.code);
            visit.open(false)?;
            nested(cws.scope, at, visit, None)?;
            visit.close(false)?;
            Ok(visit.end_code_with_scope()?)
        }
        _ => Ok(visit.scalar(element)?),
    }
}

/// An array's elements, without their keys (which are not checked to be "0", "1", ...:
/// mongod stores such arrays, and pymongo and bsondump read them).
fn walk_array(doc: &RawDocument, depth: usize, visit: &mut impl Visit) -> Result<(), Failure> {
    for element in rawbson::elements(doc) {
        value(&element.map_err(Failure::Bad)?, depth, visit)?;
    }
    Ok(())
}

/// The checking walk: decodes everything, writes nothing.
pub(super) struct Check;

impl Visit for Check {
    fn open(&mut self, _: bool) -> io::Result<()> {
        Ok(())
    }
    fn close(&mut self, _: bool) -> io::Result<()> {
        Ok(())
    }
    fn key(&mut self, _: &str) -> io::Result<()> {
        Ok(())
    }
    fn scalar(&mut self, _: &Element<'_>) -> io::Result<()> {
        Ok(())
    }
    fn code_with_scope(&mut self, _: &str) -> io::Result<()> {
        Ok(())
    }
    fn end_code_with_scope(&mut self) -> io::Result<()> {
        Ok(())
    }
}
