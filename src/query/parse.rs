//! A filter document into an [`Expr`], with MongoDB's parsing rules for the subset
//! (`src/mongo/db/matcher/expression_parser.cpp`): a field's value is an operator object when
//! its first key starts with `$` (and it is neither an Extended JSON value such as
//! `{"$oid": ..}` nor a DBRef), a regular expression value means `$regex`, anything else
//! `$eq`. Everything outside the subset is refused, naming the operator.

use bson::RawBson;

use super::expr::{Expr, InSet, Op, Pred};
use super::literal::{self, is_wrapper, short, Json};
use super::path::Path;
use super::pcre;

/// What a filter may use, for the error of one it may not.
const SUBSET: &str = "$eq, $ne, $gt, $gte, $lt, $lte, $in, $nin, $exists, $regex (with \
                      $options), $not, $and and $or";

/// Operators of MongoDB's query language that a0backup's filters do not take.
const OUTSIDE: [&str; 26] = [
    "$nor",
    "$where",
    "$expr",
    "$text",
    "$jsonSchema",
    "$comment",
    "$elemMatch",
    "$size",
    "$type",
    "$all",
    "$mod",
    "$bitsAllSet",
    "$bitsAllClear",
    "$bitsAnySet",
    "$bitsAnyClear",
    "$geoWithin",
    "$geoIntersects",
    "$near",
    "$nearSphere",
    "$within",
    "$box",
    "$center",
    "$polygon",
    "$maxDistance",
    "$sampleRate",
    "$alwaysTrue",
];

fn unsupported(op: &str) -> String {
    let kind = if OUTSIDE.contains(&op) {
        "unsupported"
    } else {
        "unknown"
    };
    format!("{kind} query operator {op}: a0backup's filters take {SUBSET}")
}

/// The whole filter: a JSON object.
pub(super) fn filter(text: &str) -> Result<Expr, String> {
    let json = literal::parse(text)?;
    let regexes = count_regexes(&json);
    if regexes > pcre::MAX_REGEXES {
        return Err(format!(
            "{regexes} regular expressions: a filter takes at most {} (each may take {} KiB \
             compiled)",
            pcre::MAX_REGEXES,
            3 * pcre::SIZE_LIMIT / 1024
        ));
    }
    match json {
        Json::Object(members) => document(&members),
        other => Err(format!(
            "the filter must be a JSON object, not {}",
            short(&other)
        )),
    }
}

/// The regular expressions a filter would compile (`$regex`, `$regularExpression` values, in
/// `$in` and `$nin` too), counted before any is: memory is bounded by their number.
fn count_regexes(json: &Json) -> usize {
    match json {
        Json::Array(items) => items.iter().map(count_regexes).sum(),
        Json::Object(members) => members
            .iter()
            .map(|(k, v)| {
                usize::from(k == "$regex" || k == "$regularExpression") + count_regexes(v)
            })
            .sum(),
        _ => 0,
    }
}

fn document(members: &[(String, Json)]) -> Result<Expr, String> {
    let mut all = Vec::new();
    for (key, value) in members {
        match key.as_str() {
            "$and" | "$or" => {
                let Json::Array(items) = value else {
                    return Err(format!("{key} takes an array of filter documents"));
                };
                if items.is_empty() {
                    return Err(format!("{key} takes a non-empty array"));
                }
                let mut parts = Vec::with_capacity(items.len());
                for item in items {
                    let Json::Object(members) = item else {
                        return Err(format!("{key}'s elements must be filter documents"));
                    };
                    parts.push(document(members)?);
                }
                all.push(if key == "$and" {
                    Expr::All(parts)
                } else {
                    Expr::Any(parts)
                });
            }
            "$not" => {
                return Err(
                    "$not applies to a field: {\"FIELD\": {\"$not\": ...}} (a whole filter is negated with $nor, which a0backup's filters do not take)".into(),
                )
            }
            _ if key.starts_with('$') => return Err(unsupported(key)),
            _ => all.extend(field(&Path::parse(key)?, value)?),
        }
    }
    Ok(Expr::All(all))
}

/// Whether an object is operators (`{"$gt": 1}`) rather than a value (`{"$oid": ..}`,
/// `{"$ref": .., "$id": ..}`, `{"x": 1}`).
fn is_operators(members: &[(String, Json)]) -> bool {
    members
        .first()
        .is_some_and(|(k, _)| k.starts_with('$') && !is_wrapper(k) && k != "$ref")
}

/// The conditions one `field: value` member puts on the field.
fn field(path: &Path, value: &Json) -> Result<Vec<Expr>, String> {
    if let Json::Object(members) = value {
        if is_operators(members) {
            return operators(path, members);
        }
    }
    let pred = match literal::bson(value)? {
        RawBson::RegularExpression(re) => {
            Pred::Regex(Box::new(regex(re.pattern.as_str(), re.options.as_str())?))
        }
        other => Pred::Compare(Op::Eq, other),
    };
    Ok(vec![Expr::Field(path.clone(), pred)])
}

/// A value to compare with: not undefined (`cannot compare to undefined`, as mongod says).
fn operand(op: &str, value: &Json) -> Result<RawBson, String> {
    match literal::bson(value)? {
        RawBson::Undefined => Err(format!("{op} cannot compare to undefined")),
        other => Ok(other),
    }
}

fn operators(path: &Path, members: &[(String, Json)]) -> Result<Vec<Expr>, String> {
    let on = |pred| Expr::Field(path.clone(), pred);
    let not = |e| Expr::Not(Box::new(e));
    let mut all = Vec::new();
    let (mut pattern, mut pattern_options, mut options) = (None, None, None);
    for (op, arg) in members {
        let compare = |o| operand(op, arg).map(|v| on(Pred::Compare(o, v)));
        match op.as_str() {
            "$eq" => all.push(compare(Op::Eq)?),
            "$gt" => all.push(compare(Op::Gt)?),
            "$gte" => all.push(compare(Op::Gte)?),
            "$lt" => all.push(compare(Op::Lt)?),
            "$lte" => all.push(compare(Op::Lte)?),
            "$ne" => {
                let e = compare(Op::Eq)?;
                if matches!(
                    e,
                    Expr::Field(_, Pred::Compare(_, RawBson::RegularExpression(_)))
                ) {
                    return Err("$ne cannot take a regular expression (use $not)".into());
                }
                all.push(not(e));
            }
            "$in" => all.push(on(Pred::In(in_set(op, arg)?))),
            "$nin" => all.push(not(on(Pred::In(in_set(op, arg)?)))),
            "$exists" => {
                let exists = on(Pred::Exists);
                all.push(if truthy(&literal::bson(arg)?) {
                    exists
                } else {
                    not(exists)
                });
            }
            "$regex" => match arg {
                Json::String(s) => pattern = Some(s.clone()),
                _ => match literal::bson(arg) {
                    Ok(RawBson::RegularExpression(re)) => {
                        pattern = Some(re.pattern.into_string());
                        pattern_options = Some(re.options.into_string());
                    }
                    _ => return Err("$regex takes a string or a regular expression".into()),
                },
            },
            "$options" => match arg {
                Json::String(s) => options = Some(s.clone()),
                _ => return Err("$options takes a string".into()),
            },
            "$not" => all.push(not(negated(path, arg)?)),
            _ => return Err(unsupported(op)),
        }
    }
    if pattern.is_none() && options.is_some() {
        return Err("$options needs a $regex".into());
    }
    if let Some(pattern) = pattern {
        let flags = match (pattern_options.filter(|o| !o.is_empty()), options) {
            (Some(_), Some(o)) if !o.is_empty() => {
                return Err("options set in both $regex and $options".into());
            }
            (Some(o), _) | (None, Some(o)) => o,
            (None, None) => String::new(),
        };
        all.push(on(Pred::Regex(Box::new(regex(&pattern, &flags)?))));
    }
    Ok(all)
}

/// What `$not` negates: a regular expression or an operator object.
fn negated(path: &Path, arg: &Json) -> Result<Expr, String> {
    match arg {
        Json::Object(members) if members.is_empty() => Err("$not cannot be empty".into()),
        Json::Object(members) if is_operators(members) => Ok(Expr::All(operators(path, members)?)),
        Json::Object(_) => match literal::bson(arg)? {
            RawBson::RegularExpression(re) => Ok(Expr::Field(
                path.clone(),
                Pred::Regex(Box::new(regex(re.pattern.as_str(), re.options.as_str())?)),
            )),
            _ => Err("$not takes a regular expression or an operator object".into()),
        },
        _ => Err("$not takes a regular expression or an operator object".into()),
    }
}

fn in_set(op: &str, arg: &Json) -> Result<InSet, String> {
    let Json::Array(items) = arg else {
        return Err(format!("{op} takes an array"));
    };
    let (mut values, mut regexes) = (Vec::new(), Vec::new());
    for item in items {
        if let Json::Object(members) = item {
            if is_operators(members) {
                return Err(format!("{op} cannot hold operators ({})", short(item)));
            }
        }
        match operand(op, item)? {
            RawBson::RegularExpression(re) => {
                regexes.push(regex(re.pattern.as_str(), re.options.as_str())?)
            }
            other => values.push(other),
        }
    }
    Ok(InSet::new(values, regexes))
}

fn regex(pattern: &str, options: &str) -> Result<pcre::Pcre, String> {
    pcre::compile(pattern, options).map_err(|why| format!("$regex /{pattern}/{options}: {why}"))
}

/// `BSONElement::trueValue`, for `$exists`.
fn truthy(v: &RawBson) -> bool {
    match v {
        RawBson::Boolean(b) => *b,
        RawBson::Int32(n) => *n != 0,
        RawBson::Int64(n) => *n != 0,
        RawBson::Double(f) => *f != 0.0,
        RawBson::Decimal128(d) => {
            let zero = super::number::Number::Int(0);
            super::number::compare(super::number::Number::Decimal(d.bytes()), zero)
                != std::cmp::Ordering::Equal
        }
        RawBson::Null | RawBson::Undefined => false,
        _ => true,
    }
}
