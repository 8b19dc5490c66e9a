//! The JSON side of the writer: a small output buffer, commas and indentation, strings escaped
//! as MongoDB's Go driver (and so `bsondump`) escapes them, and doubles and dates spelled as
//! Extended JSON wants them. Nothing here knows BSON.

use std::io::{self, Write};

/// Bytes gathered before they go to the caller's writer: all of a document's JSON when it
/// fits (so a document found damaged halfway has written nothing), and otherwise chunks of
/// this size, so that a writer without a buffer of its own (a `File`, a socket) sees few
/// large writes.
pub(super) const BUFFER: usize = 64 * 1024;

/// Writes JSON tokens into `W` through a buffer, keeping track of commas, and of newlines and
/// tabs when pretty.
///
/// The layout is Go's `json.Indent(dst, src, "", "\t")` of the compact form, which is what
/// `bsondump --pretty` prints: a newline and one tab per level before every member, `": "`
/// between a key and its value, and empty objects and arrays as `{}` and `[]`.
pub(super) struct Emitter<'a, W: Write + ?Sized> {
    out: &'a mut W,
    buf: &'a mut Vec<u8>,
    /// Keep everything in `buf`, up to [`BUFFER`] bytes, and fail past that (setting
    /// `overflowed`) rather than pass anything on.
    hold: bool,
    pub overflowed: bool,
    pretty: bool,
    level: usize,
    /// No member written yet in the innermost open object or array.
    first: bool,
    /// A key was just written: the next value is its value, not an array element.
    after_key: bool,
}

impl<'a, W: Write + ?Sized> Emitter<'a, W> {
    pub fn new(out: &'a mut W, buf: &'a mut Vec<u8>, hold: bool, pretty: bool) -> Self {
        Emitter {
            out,
            buf,
            hold,
            overflowed: false,
            pretty,
            level: 0,
            first: true,
            after_key: false,
        }
    }

    pub fn raw(&mut self, bytes: &[u8]) -> io::Result<()> {
        if self.buf.len() + bytes.len() > BUFFER {
            if self.hold {
                self.overflowed = true;
                return Err(io::Error::other(
                    "the JSON of this document is larger than the buffer",
                ));
            }
            self.flush()?;
            if bytes.len() > BUFFER {
                return self.out.write_all(bytes);
            }
        }
        self.buf.extend_from_slice(bytes);
        Ok(())
    }

    /// Hands what is gathered to the writer (not `flush`ing the writer itself).
    pub fn flush(&mut self) -> io::Result<()> {
        self.out.write_all(self.buf)?;
        self.buf.clear();
        Ok(())
    }

    fn newline(&mut self) -> io::Result<()> {
        self.raw(b"\n")?;
        for _ in 0..self.level {
            self.raw(b"\t")?;
        }
        Ok(())
    }

    /// What comes before a value: nothing after a key or at the top, a comma (and a newline
    /// when pretty) between array elements.
    fn before_value(&mut self) -> io::Result<()> {
        if self.after_key {
            self.after_key = false;
            return Ok(());
        }
        if self.level == 0 {
            return Ok(());
        }
        if !self.first {
            self.raw(b",")?;
        }
        self.first = false;
        if self.pretty {
            self.newline()?;
        }
        Ok(())
    }

    /// Opens an object (`b'{'`) or an array (`b'['`).
    pub fn open(&mut self, bracket: u8) -> io::Result<()> {
        self.before_value()?;
        self.raw(&[bracket])?;
        self.level += 1;
        self.first = true;
        Ok(())
    }

    /// Closes what [`open`](Self::open) opened, with `b'}'` or `b']'`.
    pub fn close(&mut self, bracket: u8) -> io::Result<()> {
        self.level = self.level.saturating_sub(1);
        if self.pretty && !self.first {
            self.newline()?;
        }
        self.first = false;
        self.raw(&[bracket])
    }

    /// An object member's key; its value follows.
    pub fn key(&mut self, key: &str) -> io::Result<()> {
        if !self.first {
            self.raw(b",")?;
        }
        self.first = false;
        if self.pretty {
            self.newline()?;
        }
        self.string_body(key)?;
        self.after_key = true;
        self.raw(if self.pretty { b": " } else { b":" })
    }

    /// A scalar written as is: a number, `true`, `false` or `null`.
    pub fn literal(&mut self, text: &[u8]) -> io::Result<()> {
        self.before_value()?;
        self.raw(text)
    }

    /// A string value.
    pub fn string(&mut self, s: &str) -> io::Result<()> {
        self.before_value()?;
        self.string_body(s)
    }

    /// A string of characters that need no escaping (hex, base64, digits), quoted.
    pub fn plain_string(&mut self, ascii: &[u8]) -> io::Result<()> {
        self.before_value()?;
        self.raw(b"\"")?;
        self.raw(ascii)?;
        self.raw(b"\"")
    }

    /// `{"key": <plain string>}` in one go, the shape of most Extended JSON wrappers.
    pub fn wrapped(&mut self, key: &str, ascii: &[u8]) -> io::Result<()> {
        self.open(b'{')?;
        self.key(key)?;
        self.plain_string(ascii)?;
        self.close(b'}')
    }

    /// A quoted string, escaped as the Go driver's `writeStringWithEscapes` (HTML escaping off):
    /// `\"`, `\\`, `\n`, `\r`, `\t`, other control characters as `\u00XX`, and U+2028 and U+2029
    /// as `\u2028` and `\u2029`. Everything else, DEL and non-ASCII included, is written as is.
    fn string_body(&mut self, s: &str) -> io::Result<()> {
        const HEX: &[u8; 16] = b"0123456789abcdef";
        self.raw(b"\"")?;
        let bytes = s.as_bytes();
        let mut start = 0;
        let mut i = 0;
        while let Some(step) = bytes[i..].iter().position(|&b| SPECIAL[usize::from(b)]) {
            i += step;
            let b = bytes[i];
            let two = |c: u8| ([b'\\', c, 0, 0, 0, 0], 2, 1);
            let (escape, len, width) = match b {
                b'"' | b'\\' => two(b),
                b'\n' => two(b'n'),
                b'\r' => two(b'r'),
                b'\t' => two(b't'),
                0..0x20 => {
                    let (hi, lo) = (HEX[usize::from(b >> 4)], HEX[usize::from(b & 15)]);
                    ([b'\\', b'u', b'0', b'0', hi, lo], 6, 1)
                }
                // 0xE2: U+2028 and U+2029 are E2 80 A8 and E2 80 A9; other E2 sequences pass.
                _ => match bytes.get(i + 1..i + 3) {
                    Some([0x80, 0xa8]) => (*b"\\u2028", 6, 3),
                    Some([0x80, 0xa9]) => (*b"\\u2029", 6, 3),
                    _ => {
                        i += 1;
                        continue;
                    }
                },
            };
            self.raw(&bytes[start..i])?;
            self.raw(&escape[..len])?;
            i += width;
            start = i;
        }
        self.raw(&bytes[start..])?;
        self.raw(b"\"")
    }
}

/// The bytes [`Emitter::string_body`] looks at twice: control characters, `"`, `\`, and 0xE2
/// (the first byte of U+2028 and U+2029).
static SPECIAL: [bool; 256] = {
    let mut t = [false; 256];
    let mut b = 0;
    while b < 0x20 {
        t[b] = true;
        b += 1;
    }
    t[b'"' as usize] = true;
    t[b'\\' as usize] = true;
    t[0xe2] = true;
    t
};

/// A small buffer that `write!` can format into, for numbers.
pub(super) struct Digits {
    buf: [u8; 48],
    len: usize,
}

impl Digits {
    pub fn new() -> Self {
        Digits {
            buf: [0; 48],
            len: 0,
        }
    }

    pub fn as_bytes(&self) -> &[u8] {
        &self.buf[..self.len]
    }

    fn push(&mut self, b: u8) {
        if let Some(slot) = self.buf.get_mut(self.len) {
            *slot = b;
            self.len += 1;
        }
    }
}

impl std::fmt::Write for Digits {
    fn write_str(&mut self, s: &str) -> std::fmt::Result {
        let end = self.len + s.len();
        let slot = self.buf.get_mut(self.len..end).ok_or(std::fmt::Error)?;
        slot.copy_from_slice(s.as_bytes());
        self.len = end;
        Ok(())
    }
}

/// An integer in decimal.
pub(super) fn integer(n: i64) -> Digits {
    let mut d = Digits::new();
    let _ = std::fmt::Write::write_fmt(&mut d, format_args!("{n}"));
    d
}

/// A double as the Go driver spells it (`strconv.FormatFloat(f, 'G', -1, 64)`, with `.0` added
/// when that has neither a point nor an exponent): the shortest digits that read back as the
/// same double, in plain notation when the decimal exponent is in -4 ..= 5 and as `d.dddE±XX`
/// otherwise. So `1.0`, `-0.0`, `0.0001`, `100000.0`, `1E+06`, `1.2345678921232E+18`, `5E-324`,
/// `Infinity`, `-Infinity` and `NaN` (whatever its sign and payload).
pub(super) fn double(f: f64) -> Digits {
    let mut d = Digits::new();
    if f.is_nan() {
        let _ = std::fmt::Write::write_str(&mut d, "NaN");
        return d;
    }
    if f.is_sign_negative() {
        d.push(b'-');
    }
    if f.is_infinite() {
        let _ = std::fmt::Write::write_str(&mut d, "Infinity");
        return d;
    }
    if f == 0.0 {
        let _ = std::fmt::Write::write_str(&mut d, "0.0");
        return d;
    }
    // Rust's `{:e}` gives the shortest round-trip digits: "1.2345e-7", "5e0".
    let mut sci = Digits::new();
    let _ = std::fmt::Write::write_fmt(&mut sci, format_args!("{:e}", f.abs()));
    let text = sci.as_bytes();
    let e_at = text.iter().position(|&b| b == b'e').unwrap_or(text.len());
    let exp: i32 = std::str::from_utf8(&text[(e_at + 1).min(text.len())..])
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(0);
    let mut digits = [0u8; 24];
    let mut nd = 0;
    for &b in &text[..e_at] {
        if b.is_ascii_digit() && nd < digits.len() {
            digits[nd] = b;
            nd += 1;
        }
    }
    let digits = &digits[..nd];
    if !(-4..6).contains(&exp) {
        d.push(digits[0]);
        if nd > 1 {
            d.push(b'.');
            digits[1..].iter().for_each(|&b| d.push(b));
        }
        let _ = std::fmt::Write::write_fmt(
            &mut d,
            format_args!(
                "E{}{:02}",
                if exp < 0 { '-' } else { '+' },
                exp.unsigned_abs()
            ),
        );
        return d;
    }
    // Plain notation: the point goes after digit `exp` (counting from 0).
    let point = exp + 1;
    if point <= 0 {
        d.push(b'0');
        d.push(b'.');
        (0..-point).for_each(|_| d.push(b'0'));
        digits.iter().for_each(|&b| d.push(b));
    } else {
        let point = point as usize;
        (0..point).for_each(|i| d.push(digits.get(i).copied().unwrap_or(b'0')));
        d.push(b'.');
        if nd > point {
            digits[point..].iter().for_each(|&b| d.push(b));
        } else {
            d.push(b'0');
        }
    }
    d
}

/// The latest date relaxed mode writes as an ISO-8601 string: 9999-12-31T23:59:59.999Z. Later
/// ones, and those before 1970, are written as canonical `{"$numberLong": ...}`.
pub(super) const LAST_ISO_DATE_MS: i64 = 253_402_300_799_999;

/// `YYYY-MM-DDTHH:MM:SS[.mmm]Z` for milliseconds in 0 ..= [`LAST_ISO_DATE_MS`], as pymongo's
/// `json_util` writes it (the milliseconds only when they are not zero).
pub(super) fn iso_date(ms: i64) -> Digits {
    let days = ms.div_euclid(86_400_000);
    let in_day = ms.rem_euclid(86_400_000);
    // Days since 1970-01-01 to a civil date (Howard Hinnant's algorithm).
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = doy - (153 * mp + 2) / 5 + 1;
    let month = if mp < 10 { mp + 3 } else { mp - 9 };
    let year = yoe + era * 400 + i64::from(month <= 2);
    let (h, m, s, milli) = (
        in_day / 3_600_000,
        in_day / 60_000 % 60,
        in_day / 1000 % 60,
        in_day % 1000,
    );
    let mut d = Digits::new();
    let _ = std::fmt::Write::write_fmt(
        &mut d,
        format_args!("{year:04}-{month:02}-{day:02}T{h:02}:{m:02}:{s:02}"),
    );
    if milli != 0 {
        let _ = std::fmt::Write::write_fmt(&mut d, format_args!(".{milli:03}"));
    }
    d.push(b'Z');
    d
}

#[cfg(test)]
mod tests {
    use super::*;

    fn s(d: Digits) -> String {
        String::from_utf8(d.as_bytes().to_vec()).unwrap()
    }

    #[test]
    fn doubles_as_go_spells_them() {
        let cases = [
            (1.0, "1.0"),
            (-1.0, "-1.0"),
            (2.5, "2.5"),
            (4.01, "4.01"),
            (0.0, "0.0"),
            (-0.0, "-0.0"),
            (0.0001, "0.0001"),
            (0.00001, "1E-05"),
            (100000.0, "100000.0"),
            (123456.5, "123456.5"),
            (1e6, "1E+06"),
            (1234567.0, "1.234567E+06"),
            (1.2345678921232e18, "1.2345678921232E+18"),
            (-1.2345678921232e18, "-1.2345678921232E+18"),
            (1.0001220703125, "1.0001220703125"),
            (5e-324, "5E-324"),
            (f64::MAX, "1.7976931348623157E+308"),
            (f64::INFINITY, "Infinity"),
            (f64::NEG_INFINITY, "-Infinity"),
            (-f64::NAN, "NaN"),
        ];
        for (f, want) in cases {
            assert_eq!(s(double(f)), want, "{f:e}");
            if f.is_finite() {
                assert_eq!(s(double(f)).parse::<f64>().unwrap().to_bits(), f.to_bits());
            }
        }
    }

    #[test]
    fn dates_as_pymongo_spells_them() {
        assert_eq!(s(iso_date(0)), "1970-01-01T00:00:00Z");
        assert_eq!(s(iso_date(1_356_351_330_501)), "2012-12-24T12:15:30.501Z");
        assert_eq!(s(iso_date(951_782_400_000)), "2000-02-29T00:00:00Z");
        assert_eq!(s(iso_date(LAST_ISO_DATE_MS)), "9999-12-31T23:59:59.999Z");
    }

    #[test]
    fn strings_escaped_as_go_escapes_them() {
        let (mut out, mut buf) = (Vec::new(), Vec::new());
        let mut e = Emitter::new(&mut out, &mut buf, false, false);
        e.string("a\"b\\c\n\r\t\u{1}\u{8}\u{c}\u{7f}é\u{2028}\u{2029}<&>")
            .unwrap();
        e.flush().unwrap();
        assert_eq!(
            String::from_utf8(out).unwrap(),
            "\"a\\\"b\\\\c\\n\\r\\t\\u0001\\u0008\\u000c\u{7f}é\\u2028\\u2029<&>\""
        );
    }
}
