//! MongoDB query filters over raw BSON documents: the subset that finding a record needs.
//!
//! A [`Filter`] is parsed from a query document in Extended JSON (canonical or relaxed), as
//! `mongosh` or `find` take it, and matched against BSON documents with MongoDB's semantics:
//!
//! * equality on fields and dotted paths (`{"email": "a@b.c"}`, `{"identities.provider":
//!   "auth0"}`): an array matches when one of its elements does, or as a whole; a numeric path
//!   component (`"tags.0"`) is also an array index; a missing field equals `null`;
//! * `$eq $ne $gt $gte $lt $lte $in $nin $exists $regex` (with `$options`, or a
//!   `{"$regularExpression": ..}` value), `$and $or $not`;
//! * BSON's comparison order across types: MinKey < null < numbers < strings < documents <
//!   arrays < binary < ObjectId < booleans < dates < timestamps < regular expressions < MaxKey.
//!   Numbers compare by value across int32, int64, double and decimal128, exactly. `$gt` and
//!   the others only match values of the comparand's type bracket (`{"$gt": 5}` matches no
//!   string), as in MongoDB.
//!
//! Anything else (`$where`, `$elemMatch`, `$size`, `$type`, `$expr`, an unknown `$op`, a
//! duplicate key, a `$regex` the `regex` crate cannot match as PCRE would) is refused when the
//! filter is parsed, with an [`Error::InvalidArgument`] naming it: a filter never silently
//! ignores a condition.
//!
//! Matching reads only what the filter needs from a document, allocates nothing per document,
//! and is safe on hostile ones (its recursion is bounded by the filter, not the document).
//!
//! # Examples
//!
//! ```
//! use a0backup::query::Filter;
//! let filter = Filter::parse(r#"{"email": {"$regex": "@example\\.com$"}, "logins": {"$gte": 3}}"#)?;
//! let user = bson::rawdoc! { "email": "ann@example.com", "logins": 7_i64 };
//! assert!(filter.matches(user.as_bytes())?);
//! let other = bson::rawdoc! { "email": "bob@example.org", "logins": 9 };
//! assert!(!filter.matches(other.as_bytes())?);
//!
//! // Outside the subset: refused, with the operator named.
//! let refused = Filter::parse(r#"{"tags": {"$size": 2}}"#).unwrap_err();
//! assert!(refused.to_string().contains("$size"));
//! # Ok::<(), a0backup::Error>(())
//! ```

mod compare;
mod expr;
mod literal;
mod number;
mod parse;
mod path;
mod pcre;

use std::str::FromStr;

use crate::error::{Error, Result};
use crate::rawbson;

/// A parsed query filter. See the [module docs](self) for what it takes.
///
/// # Examples
///
/// ```
/// use a0backup::query::Filter;
/// let filter: Filter = r#"{"_id": {"$oid": "5f1d7e0b9c3a4b2d1e0f1a2b"}}"#.parse()?;
/// let id = bson::oid::ObjectId::parse_str("5f1d7e0b9c3a4b2d1e0f1a2b").unwrap();
/// assert!(filter.matches(bson::rawdoc! { "_id": id }.as_bytes())?);
/// # Ok::<(), a0backup::Error>(())
/// ```
#[derive(Debug, Clone)]
pub struct Filter {
    expr: expr::Expr,
}

impl Filter {
    /// Parses a filter from its Extended JSON text: an object, `{}` matching every document.
    ///
    /// # Errors
    ///
    /// [`Error::InvalidArgument`] when the text is not a JSON object, holds a key twice, uses an
    /// operator outside the subset (named in the message), gives an operator a value it does
    /// not take, or holds a regular expression that is invalid or that PCRE and the `regex`
    /// crate would not match alike.
    ///
    /// # Examples
    ///
    /// ```
    /// use a0backup::query::Filter;
    /// let filter = Filter::parse(r#"{"$or": [{"blocked": true}, {"logins_count": {"$lt": 1}}]}"#)?;
    /// assert!(filter.matches(bson::rawdoc! { "logins_count": 0 }.as_bytes())?);
    /// match Filter::parse(r#"{"$where": "this.a > 1"}"#) {
    ///     Err(a0backup::Error::InvalidArgument(why)) => assert!(why.contains("$where")),
    ///     other => panic!("{other:?}"),
    /// }
    /// # Ok::<(), a0backup::Error>(())
    /// ```
    pub fn parse(text: &str) -> Result<Filter> {
        parse::filter(text)
            .map(|expr| Filter { expr })
            .map_err(|why| Error::InvalidArgument(format!("filter: {why}")))
    }

    /// Whether `document` (one BSON document, as [`bson::RawDocument::as_bytes`] gives it)
    /// matches the filter.
    ///
    /// # Errors
    ///
    /// [`Error::Malformed`] (`input` = [`Input::Bson`](crate::error::Input::Bson)) when the document's envelope is
    /// damaged, or when a damaged part is met while looking for the filter's fields (damage
    /// elsewhere is not looked for: [`extjson`](crate::extjson) and [`check`](crate::check)
    /// find it).
    ///
    /// # Examples
    ///
    /// ```
    /// use a0backup::query::Filter;
    /// let filter = Filter::parse(r#"{"a.b": null}"#)?;
    /// assert!(filter.matches(bson::rawdoc! { "a": [{ "c": 1 }] }.as_bytes())?);
    /// assert!(!filter.matches(bson::rawdoc! { "a": { "b": 0 } }.as_bytes())?);
    /// assert!(filter.matches(b"\x05\0\0\0\x01").is_err());
    /// # Ok::<(), a0backup::Error>(())
    /// ```
    pub fn matches(&self, document: &[u8]) -> Result<bool> {
        let doc = rawbson::document(document).map_err(rawbson::Bad::into_error)?;
        self.expr.eval(doc).map_err(|bad| Error::Malformed {
            input: crate::error::Input::Bson,
            at: None,
            detail: bad.detail,
        })
    }

    /// Whether the filter matches every document (it is `{}`, or only holds empty `$and`s of
    /// such): a caller can skip calling [`matches`](Self::matches).
    ///
    /// # Examples
    ///
    /// ```
    /// use a0backup::query::Filter;
    /// assert!(Filter::parse("{}")?.matches_everything());
    /// assert!(!Filter::parse(r#"{"a": 1}"#)?.matches_everything());
    /// # Ok::<(), a0backup::Error>(())
    /// ```
    pub fn matches_everything(&self) -> bool {
        fn always(e: &expr::Expr) -> bool {
            matches!(e, expr::Expr::All(all) if all.iter().all(always))
        }
        always(&self.expr)
    }
}

impl FromStr for Filter {
    type Err = Error;

    /// [`Filter::parse`].
    fn from_str(text: &str) -> Result<Filter> {
        Filter::parse(text)
    }
}
