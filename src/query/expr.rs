//! A parsed filter and its evaluation against one document, with the matching rules of
//! MongoDB's `ComparisonMatchExpression`, `InMatchExpression`, `RegexMatchExpression` and
//! `ExistsMatchExpression` (`src/mongo/db/matcher/expression_leaf.cpp`).

use std::cmp::Ordering;

use bson::raw::{RawBson, RawBsonRef, RawDocument};

use super::compare::{bracket, compare, is_nan};
use super::path::{self, Path};
use super::pcre::Pcre;
use crate::rawbson::Bad;

#[derive(Debug, Clone)]
pub(super) enum Expr {
    /// Every one (a filter document, `$and`, the operators of one field); none: always.
    All(Vec<Expr>),
    /// At least one (`$or`).
    Any(Vec<Expr>),
    /// `$not`, and `$ne`, `$nin`, `$exists: false` (MongoDB's own rewriting of them).
    Not(Box<Expr>),
    /// A predicate on the values a path reaches: true if one of them satisfies it.
    Field(Path, Pred),
}

#[derive(Debug, Clone)]
pub(super) enum Pred {
    Compare(Op, RawBson),
    In(InSet),
    Exists,
    Regex(Box<Pcre>),
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Op {
    Eq,
    Lt,
    Lte,
    Gt,
    Gte,
}

/// The values of an `$in`, sorted in BSON order, and its regular expressions.
#[derive(Debug, Clone)]
pub(super) struct InSet {
    values: Vec<RawBson>,
    regexes: Vec<Pcre>,
    /// `null` is among the values: missing fields and undefined match too.
    has_null: bool,
}

impl InSet {
    pub fn new(mut values: Vec<RawBson>, regexes: Vec<Pcre>) -> InSet {
        let has_null = values.iter().any(|v| matches!(v, RawBson::Null));
        // Values of a filter are well formed: comparing them cannot fail.
        values.sort_by(|a, b| {
            compare(&a.as_raw_bson_ref(), &b.as_raw_bson_ref()).unwrap_or(Ordering::Equal)
        });
        InSet {
            values,
            regexes,
            has_null,
        }
    }
}

impl Expr {
    pub fn eval(&self, doc: &RawDocument) -> Result<bool, Bad> {
        Ok(match self {
            Expr::All(all) => {
                for e in all {
                    if !e.eval(doc)? {
                        return Ok(false);
                    }
                }
                true
            }
            Expr::Any(any) => {
                for e in any {
                    if e.eval(doc)? {
                        return Ok(true);
                    }
                }
                false
            }
            Expr::Not(e) => !e.eval(doc)?,
            Expr::Field(path, pred) => path::any(doc, path, &mut |v| pred.matches(v))?,
        })
    }
}

impl Pred {
    /// Whether one value the path reached (`None`: missing) satisfies the predicate.
    fn matches(&self, v: Option<&RawBsonRef<'_>>) -> Result<bool, Bad> {
        match self {
            Pred::Compare(op, rhs) => comparison(*op, v, &rhs.as_raw_bson_ref()),
            Pred::Exists => Ok(v.is_some()),
            Pred::Regex(re) => Ok(regex(re, v)),
            Pred::In(set) => {
                if set.has_null && matches!(v, None | Some(RawBsonRef::Undefined)) {
                    return Ok(true);
                }
                let Some(v) = v else { return Ok(false) };
                let mut failed = None;
                let found = set.values.binary_search_by(|x| {
                    compare(&x.as_raw_bson_ref(), v).unwrap_or_else(|bad| {
                        failed = Some(bad);
                        Ordering::Equal
                    })
                });
                if let Some(bad) = failed {
                    return Err(bad);
                }
                Ok(found.is_ok() || set.regexes.iter().any(|re| regex(re, Some(v))))
            }
        }
    }
}

/// `ComparisonMatchExpression::matchesSingleElement`.
fn comparison(op: Op, v: Option<&RawBsonRef<'_>>, rhs: &RawBsonRef<'_>) -> Result<bool, Bad> {
    let same_type = v.is_some_and(|v| v.element_type() == rhs.element_type());
    if !same_type {
        let (left, right) = (bracket(v), bracket(Some(rhs)));
        if left != right {
            // null against undefined or missing: equal.
            if left + right == 5 {
                return Ok(matches!(op, Op::Eq | Op::Lte | Op::Gte));
            }
            return Ok(match rhs {
                RawBsonRef::MaxKey => matches!(op, Op::Lt | Op::Lte),
                RawBsonRef::MinKey => matches!(op, Op::Gt | Op::Gte),
                _ => false,
            });
        }
    }
    let Some(v) = v else { return Ok(false) };
    if op != Op::Eq && (is_nan(v) || is_nan(rhs)) {
        // NaN equals NaN, and is neither above nor below anything.
        return Ok(matches!(op, Op::Lte | Op::Gte) && is_nan(v) && is_nan(rhs));
    }
    let order = compare(v, rhs)?;
    Ok(match op {
        Op::Eq => order == Ordering::Equal,
        Op::Lt => order == Ordering::Less,
        Op::Lte => order != Ordering::Greater,
        Op::Gt => order == Ordering::Greater,
        Op::Gte => order != Ordering::Less,
    })
}

/// `RegexMatchExpression::matchesSingleElement`: strings and symbols are searched, a regular
/// expression value matches when its pattern and options are the same.
fn regex(re: &Pcre, v: Option<&RawBsonRef<'_>>) -> bool {
    match v {
        Some(RawBsonRef::String(s) | RawBsonRef::Symbol(s)) => re.is_match(s),
        Some(RawBsonRef::RegularExpression(r)) => {
            r.pattern.as_str() == re.pattern && r.options.as_str() == re.options
        }
        _ => false,
    }
}
