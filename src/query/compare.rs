//! BSON's order of values, as MongoDB compares them (`BSONElement::compareElements` without a
//! collation): first the canonical type bracket, then the values within it.
//!
//! Brackets, low to high: MinKey < undefined (and a missing field) < null < numbers (int32,
//! int64, double, decimal128, compared by value) < strings and symbols < documents < arrays <
//! binary < ObjectId < booleans < dates < timestamps < regular expressions < DBPointers <
//! code < code with scope < MaxKey.
//!
//! Within a bracket: strings by their UTF-8 bytes; documents and arrays element by element
//! (each element's bracket, then its name, then its value; a prefix is smaller); binary by
//! length, then subtype, then bytes; ObjectIds by bytes; false < true; dates as signed and
//! timestamps as unsigned 64-bit integers; regular expressions by pattern, then options; code
//! by its text, code with scope by its text, then its scope.

use std::cmp::Ordering;

use bson::raw::{RawBinaryRef, RawBsonRef, RawDocument};
use bson::spec::BinarySubtype;

use super::number::{self, Number};
use crate::rawbson::{self, Bad};

/// The canonical type bracket of a value (`BSONElement::canonicalType`); `None` is a missing
/// field, which sorts with undefined.
pub(super) fn bracket(v: Option<&RawBsonRef<'_>>) -> i32 {
    let Some(v) = v else { return 0 };
    match v {
        RawBsonRef::MinKey => -1,
        RawBsonRef::Undefined => 0,
        RawBsonRef::Null => 5,
        RawBsonRef::Double(_)
        | RawBsonRef::Int32(_)
        | RawBsonRef::Int64(_)
        | RawBsonRef::Decimal128(_) => 10,
        RawBsonRef::String(_) | RawBsonRef::Symbol(_) => 15,
        RawBsonRef::Document(_) => 20,
        RawBsonRef::Array(_) => 25,
        RawBsonRef::Binary(_) => 30,
        RawBsonRef::ObjectId(_) => 35,
        RawBsonRef::Boolean(_) => 40,
        RawBsonRef::DateTime(_) => 45,
        RawBsonRef::Timestamp(_) => 47,
        RawBsonRef::RegularExpression(_) => 50,
        RawBsonRef::DbPointer(_) => 55,
        RawBsonRef::JavaScriptCode(_) => 60,
        RawBsonRef::JavaScriptCodeWithScope(_) => 65,
        RawBsonRef::MaxKey => 127,
    }
}

/// The value of a number, or `None` for anything else.
pub(super) fn number(v: &RawBsonRef<'_>) -> Option<Number> {
    Some(match *v {
        RawBsonRef::Int32(i) => Number::Int(i.into()),
        RawBsonRef::Int64(i) => Number::Int(i),
        RawBsonRef::Double(f) => Number::Double(f),
        RawBsonRef::Decimal128(d) => Number::Decimal(d.bytes()),
        _ => return None,
    })
}

/// Whether a value is a NaN double or decimal.
pub(super) fn is_nan(v: &RawBsonRef<'_>) -> bool {
    number(v).is_some_and(number::is_nan)
}

/// The order of two values. Errors only come from damaged documents or arrays met on the way.
pub(super) fn compare(a: &RawBsonRef<'_>, b: &RawBsonRef<'_>) -> Result<Ordering, Bad> {
    let by_bracket = bracket(Some(a)).cmp(&bracket(Some(b)));
    if by_bracket != Ordering::Equal {
        return Ok(by_bracket);
    }
    Ok(match (a, b) {
        (RawBsonRef::Document(x), RawBsonRef::Document(y)) => documents(x, y)?,
        (RawBsonRef::Array(x), RawBsonRef::Array(y)) => {
            documents(rawbson::array_document(x)?, rawbson::array_document(y)?)?
        }
        (RawBsonRef::Binary(x), RawBsonRef::Binary(y)) => binaries(x, y),
        (RawBsonRef::ObjectId(x), RawBsonRef::ObjectId(y)) => x.bytes().cmp(&y.bytes()),
        (RawBsonRef::Boolean(x), RawBsonRef::Boolean(y)) => x.cmp(y),
        (RawBsonRef::DateTime(x), RawBsonRef::DateTime(y)) => x.cmp(y),
        (RawBsonRef::Timestamp(x), RawBsonRef::Timestamp(y)) => {
            (x.time, x.increment).cmp(&(y.time, y.increment))
        }
        (RawBsonRef::RegularExpression(x), RawBsonRef::RegularExpression(y)) => {
            (x.pattern.as_str(), x.options.as_str()).cmp(&(y.pattern.as_str(), y.options.as_str()))
        }
        (RawBsonRef::JavaScriptCode(x), RawBsonRef::JavaScriptCode(y)) => x.cmp(y),
        (RawBsonRef::JavaScriptCodeWithScope(x), RawBsonRef::JavaScriptCodeWithScope(y)) => {
            match x.code.cmp(y.code) {
                Ordering::Equal => documents(x.scope, y.scope)?,
                other => other,
            }
        }
        _ => match (number(a), number(b), text(a), text(b)) {
            (Some(x), Some(y), _, _) => number::compare(x, y),
            (_, _, Some(x), Some(y)) => x.cmp(y),
            // MinKey, MaxKey, null and undefined equal themselves. Two DBPointers are never
            // compared: filters refuse DBPointer values, and documents are only compared
            // with values of a filter.
            _ => Ordering::Equal,
        },
    })
}

/// A string's or a symbol's text.
fn text<'a>(v: &RawBsonRef<'a>) -> Option<&'a str> {
    match *v {
        RawBsonRef::String(s) | RawBsonRef::Symbol(s) => Some(s),
        _ => None,
    }
}

/// Two documents (or arrays) element by element: bracket, then name, then value.
fn documents(x: &RawDocument, y: &RawDocument) -> Result<Ordering, Bad> {
    let (mut xs, mut ys) = (rawbson::elements(x), rawbson::elements(y));
    loop {
        let (p, q) = match (xs.next().transpose()?, ys.next().transpose()?) {
            (None, None) => return Ok(Ordering::Equal),
            (None, Some(_)) => return Ok(Ordering::Less),
            (Some(_), None) => return Ok(Ordering::Greater),
            (Some(p), Some(q)) => (p, q),
        };
        let order = bracket(Some(&p.value))
            .cmp(&bracket(Some(&q.value)))
            .then_with(|| p.key.cmp(q.key));
        let order = match order {
            Ordering::Equal => compare(&p.value, &q.value)?,
            other => other,
        };
        if order != Ordering::Equal {
            return Ok(order);
        }
    }
}

/// Binary values as mongod compares them: the stored length, then the subtype and the stored
/// bytes (for the old subtype 2, the inner length the crate strips comes first).
fn binaries(x: &RawBinaryRef<'_>, y: &RawBinaryRef<'_>) -> Ordering {
    let stored = |b: &RawBinaryRef<'_>| {
        let old = b.subtype == BinarySubtype::BinaryOld;
        let inner = (b.bytes.len() as u32).to_le_bytes();
        let prefix: &[u8] = if old { &inner } else { &[] };
        let length = b.bytes.len() + prefix.len();
        (length, u8::from(b.subtype), inner, old)
    };
    let (lx, sx, ix, ox) = stored(x);
    let (ly, sy, iy, oy) = stored(y);
    let px: &[u8] = if ox { &ix } else { &[] };
    let py: &[u8] = if oy { &iy } else { &[] };
    lx.cmp(&ly)
        .then(sx.cmp(&sy))
        .then_with(|| px.iter().chain(x.bytes).cmp(py.iter().chain(y.bytes)))
}

#[cfg(test)]
mod tests {
    use super::*;
    use bson::{rawdoc, RawBson};

    fn first(doc: &bson::RawDocumentBuf) -> RawBsonRef<'_> {
        doc.iter().next().unwrap().unwrap().1
    }

    #[test]
    fn brackets_then_values() {
        let docs = [
            rawdoc! { "v": RawBson::MinKey },
            rawdoc! { "v": RawBson::Null },
            rawdoc! { "v": 1.5 },
            rawdoc! { "v": 2 },
            rawdoc! { "v": "a" },
            rawdoc! { "v": "b" },
            rawdoc! { "v": { "a": 1 } },
            rawdoc! { "v": { "a": 1, "b": 1 } },
            rawdoc! { "v": { "b": 0 } },
            rawdoc! { "v": [1] },
            rawdoc! { "v": bson::Binary { subtype: BinarySubtype::Generic, bytes: vec![9] } },
            rawdoc! { "v": bson::Binary { subtype: BinarySubtype::Generic, bytes: vec![0, 0] } },
            rawdoc! { "v": bson::oid::ObjectId::from_bytes([0; 12]) },
            rawdoc! { "v": false },
            rawdoc! { "v": true },
            rawdoc! { "v": bson::DateTime::from_millis(-5) },
            rawdoc! { "v": bson::DateTime::from_millis(3) },
            rawdoc! { "v": bson::Timestamp { time: 1, increment: 9 } },
            rawdoc! { "v": bson::Timestamp { time: 2, increment: 0 } },
            rawdoc! { "v": RawBson::MaxKey },
        ];
        for (i, a) in docs.iter().enumerate() {
            for (j, b) in docs.iter().enumerate() {
                assert_eq!(
                    compare(&first(a), &first(b)).unwrap(),
                    i.cmp(&j),
                    "{a:?} vs {b:?}"
                );
            }
        }
    }

    #[test]
    fn documents_compare_types_before_names() {
        // {a: "x"} > {b: 1}: a string's bracket is above a number's, whatever the names.
        let x = rawdoc! { "v": { "a": "x" } };
        let y = rawdoc! { "v": { "b": 1 } };
        assert_eq!(compare(&first(&x), &first(&y)).unwrap(), Ordering::Greater);
        let z = rawdoc! { "v": { "a": 1_i64 } };
        let w = rawdoc! { "v": { "a": 1.0 } };
        assert_eq!(compare(&first(&z), &first(&w)).unwrap(), Ordering::Equal);
    }
}
