//! The writing pass: each BSON value as its Extended JSON.

use std::io::{self, Write};

use base64::Engine as _;
use bson::raw::RawBsonRef;

use super::emit::{self, Emitter};
use super::walk::Visit;
use crate::rawbson::Element;

/// The writing walk.
pub(super) struct Json<'a, W: Write + ?Sized> {
    pub out: Emitter<'a, W>,
    pub relaxed: bool,
}

impl<W: Write + ?Sized> Json<'_, W> {
    fn date(&mut self, ms: i64) -> io::Result<()> {
        let out = &mut self.out;
        out.open(b'{')?;
        out.key("$date")?;
        if self.relaxed && (0..=emit::LAST_ISO_DATE_MS).contains(&ms) {
            out.plain_string(emit::iso_date(ms).as_bytes())?;
        } else {
            out.wrapped("$numberLong", emit::integer(ms).as_bytes())?;
        }
        out.close(b'}')
    }

    fn binary(&mut self, subtype: u8, bytes: &[u8]) -> io::Result<()> {
        const CHUNK: usize = 3 * 1024;
        let out = &mut self.out;
        out.open(b'{')?;
        out.key("$binary")?;
        out.open(b'{')?;
        out.key("base64")?;
        out.literal(b"\"")?;
        let mut encoded = [0u8; CHUNK / 3 * 4];
        for chunk in bytes.chunks(CHUNK) {
            let n = base64::engine::general_purpose::STANDARD
                .encode_slice(chunk, &mut encoded)
                .map_err(io::Error::other)?;
            out.raw(&encoded[..n])?;
        }
        out.raw(b"\"")?;
        out.key("subType")?;
        const HEX: &[u8; 16] = b"0123456789abcdef";
        out.plain_string(&[
            HEX[usize::from(subtype >> 4)],
            HEX[usize::from(subtype & 15)],
        ])?;
        out.close(b'}')?;
        out.close(b'}')
    }

    fn oid(&mut self, bytes: [u8; 12]) -> io::Result<()> {
        const HEX: &[u8; 16] = b"0123456789abcdef";
        let mut hex = [0u8; 24];
        for (i, b) in bytes.iter().enumerate() {
            hex[2 * i] = HEX[usize::from(b >> 4)];
            hex[2 * i + 1] = HEX[usize::from(b & 15)];
        }
        self.out.wrapped("$oid", &hex)
    }

    fn with_strings(&mut self, outer: &str, fields: [(&str, &str); 2]) -> io::Result<()> {
        let out = &mut self.out;
        out.open(b'{')?;
        out.key(outer)?;
        out.open(b'{')?;
        for (key, s) in fields {
            out.key(key)?;
            out.string(s)?;
        }
        out.close(b'}')?;
        out.close(b'}')
    }

    fn string_wrapper(&mut self, key: &str, s: &str) -> io::Result<()> {
        self.out.open(b'{')?;
        self.out.key(key)?;
        self.out.string(s)?;
        self.out.close(b'}')
    }
}

impl<W: Write + ?Sized> Visit for Json<'_, W> {
    fn open(&mut self, array: bool) -> io::Result<()> {
        self.out.open(if array { b'[' } else { b'{' })
    }

    fn close(&mut self, array: bool) -> io::Result<()> {
        self.out.close(if array { b']' } else { b'}' })
    }

    fn key(&mut self, key: &str) -> io::Result<()> {
        self.out.key(key)
    }

    fn scalar(&mut self, element: &Element<'_>) -> io::Result<()> {
        let relaxed = self.relaxed;
        let out = &mut self.out;
        match element.value {
            RawBsonRef::Double(f) if relaxed && f.is_finite() => {
                out.literal(emit::double(f).as_bytes())
            }
            RawBsonRef::Double(f) => out.wrapped("$numberDouble", emit::double(f).as_bytes()),
            RawBsonRef::String(s) => out.string(s),
            RawBsonRef::Boolean(b) => out.literal(if b { b"true" } else { b"false" }),
            RawBsonRef::Null => out.literal(b"null"),
            RawBsonRef::Int32(n) if relaxed => out.literal(emit::integer(n.into()).as_bytes()),
            RawBsonRef::Int32(n) => out.wrapped("$numberInt", emit::integer(n.into()).as_bytes()),
            RawBsonRef::Int64(n) if relaxed => out.literal(emit::integer(n).as_bytes()),
            RawBsonRef::Int64(n) => out.wrapped("$numberLong", emit::integer(n).as_bytes()),
            RawBsonRef::Decimal128(d) => out.wrapped("$numberDecimal", d.to_string().as_bytes()),
            RawBsonRef::DateTime(d) => self.date(d.timestamp_millis()),
            RawBsonRef::ObjectId(oid) => self.oid(oid.bytes()),
            RawBsonRef::Binary(bin) => self.binary(bin.subtype.into(), bin.bytes),
            RawBsonRef::Timestamp(ts) => {
                out.open(b'{')?;
                out.key("$timestamp")?;
                out.open(b'{')?;
                out.key("t")?;
                out.literal(emit::integer(ts.time.into()).as_bytes())?;
                out.key("i")?;
                out.literal(emit::integer(ts.increment.into()).as_bytes())?;
                out.close(b'}')?;
                out.close(b'}')
            }
            RawBsonRef::RegularExpression(re) => {
                let mut options: Vec<char> = re.options.as_str().chars().collect();
                options.sort_unstable();
                let options: String = options.into_iter().collect();
                let fields = [("pattern", re.pattern.as_str()), ("options", &options)];
                self.with_strings("$regularExpression", fields)
            }
            RawBsonRef::JavaScriptCode(code) => self.string_wrapper("$code", code),
            RawBsonRef::Symbol(s) => self.string_wrapper("$symbol", s),
            RawBsonRef::DbPointer(_) => {
                let Some((namespace, oid)) = element.db_pointer() else {
                    return Err(io::Error::other(
                        "a DBPointer the bson crate read but we cannot",
                    ));
                };
                self.out.open(b'{')?;
                self.out.key("$dbPointer")?;
                self.out.open(b'{')?;
                self.out.key("$ref")?;
                self.out.string(namespace)?;
                self.out.key("$id")?;
                self.oid(oid)?;
                self.out.close(b'}')?;
                self.out.close(b'}')
            }
            RawBsonRef::Undefined => {
                out.open(b'{')?;
                out.key("$undefined")?;
                out.literal(b"true")?;
                out.close(b'}')
            }
            RawBsonRef::MinKey | RawBsonRef::MaxKey => {
                out.open(b'{')?;
                let min = matches!(element.value, RawBsonRef::MinKey);
                out.key(if min { "$minKey" } else { "$maxKey" })?;
                out.literal(b"1")?;
                out.close(b'}')
            }
            // Documents, arrays and code with scope are walked, not scalars.
            RawBsonRef::Document(_)
            | RawBsonRef::Array(_)
            | RawBsonRef::JavaScriptCodeWithScope(_) => {
                Err(io::Error::other("a nested value passed as a scalar"))
            }
        }
    }

    fn code_with_scope(&mut self, code: &str) -> io::Result<()> {
        self.out.open(b'{')?;
        self.out.key("$code")?;
        self.out.string(code)?;
        self.out.key("$scope")
    }

    fn end_code_with_scope(&mut self) -> io::Result<()> {
        self.out.close(b'}')
    }
}
