//! Numbers compared by value across int32, int64, double and decimal128, exactly, as MongoDB's
//! `compare_numbers.h` does: NaN (double or decimal) equals NaN and is below every other
//! number, -0 equals 0, infinities of either type are equal, and a double, an integer and a
//! decimal are compared as the exact values they stand for (`0.1` the double is not `0.1` the
//! decimal). No allocation: integers, doubles and decimals close enough in magnitude to need it
//! are compared with a fixed-size big integer.

use std::cmp::Ordering;

/// A BSON number.
#[derive(Debug, Clone, Copy)]
pub(super) enum Number {
    Int(i64),
    Double(f64),
    /// The 16 bytes of a decimal128, little-endian.
    Decimal([u8; 16]),
}

/// A number's value, taken apart.
#[derive(Debug, Clone, Copy, PartialEq)]
enum Value {
    NaN,
    Infinite {
        negative: bool,
    },
    Zero,
    /// `coefficient * 2^exp` (an integer or a double) or `coefficient * 10^exp` (a decimal),
    /// the coefficient not zero.
    Finite {
        negative: bool,
        coefficient: u128,
        exp: i32,
        decimal: bool,
    },
}

const MAX_DECIMAL_COEFFICIENT: u128 = 10u128.pow(34) - 1;

fn value(n: Number) -> Value {
    match n {
        Number::Int(0) => Value::Zero,
        Number::Int(i) => Value::Finite {
            negative: i < 0,
            coefficient: u128::from(i.unsigned_abs()),
            exp: 0,
            decimal: false,
        },
        Number::Double(f) if f.is_nan() => Value::NaN,
        Number::Double(f) if f.is_infinite() => Value::Infinite { negative: f < 0.0 },
        Number::Double(0.0) => Value::Zero, // and -0.0
        Number::Double(f) => {
            let bits = f.to_bits();
            let biased = ((bits >> 52) & 0x7ff) as i32;
            let fraction = bits & ((1 << 52) - 1);
            let (mantissa, exp2) = if biased == 0 {
                (fraction, -1074)
            } else {
                (fraction | (1 << 52), biased - 1075)
            };
            Value::Finite {
                negative: f < 0.0,
                coefficient: u128::from(mantissa),
                exp: exp2,
                decimal: false,
            }
        }
        Number::Decimal(bytes) => {
            let bits = u128::from_le_bytes(bytes);
            let negative = bits >> 127 == 1;
            match (bits >> 122) & 0x1f {
                0x1f => return Value::NaN,
                0x1e => return Value::Infinite { negative },
                _ => {}
            }
            // The "11" form stores an implicit 100 prefix: its coefficient is always above the
            // largest one, so it is (as the spec says) zero.
            let (biased, coefficient) = if (bits >> 125) & 0b11 == 0b11 {
                ((bits >> 111) & 0x3fff, u128::MAX)
            } else {
                ((bits >> 113) & 0x3fff, bits & ((1 << 113) - 1))
            };
            if coefficient == 0 || coefficient > MAX_DECIMAL_COEFFICIENT {
                return Value::Zero;
            }
            Value::Finite {
                negative,
                coefficient,
                exp: biased as i32 - 6176,
                decimal: true,
            }
        }
    }
}

/// Whether `n` is NaN (double or decimal).
pub(super) fn is_nan(n: Number) -> bool {
    value(n) == Value::NaN
}

/// MongoDB's order of two numbers.
pub(super) fn compare(a: Number, b: Number) -> Ordering {
    // Rank: NaN, -inf, negatives, zero, positives, +inf.
    let rank = |v: &Value| match v {
        Value::NaN => 0,
        Value::Infinite { negative: true } => 1,
        Value::Finite { negative: true, .. } => 2,
        Value::Zero => 3,
        Value::Finite {
            negative: false, ..
        } => 4,
        Value::Infinite { negative: false } => 5,
    };
    let (x, y) = (value(a), value(b));
    match rank(&x).cmp(&rank(&y)) {
        Ordering::Equal => {}
        other => return other,
    }
    match (x, y) {
        (
            Value::Finite {
                negative,
                coefficient: c1,
                exp: e1,
                decimal: d1,
            },
            Value::Finite {
                coefficient: c2,
                exp: e2,
                decimal: d2,
                ..
            },
        ) => {
            let magnitude = compare_magnitudes((c1, e1, d1), (c2, e2, d2));
            if negative {
                magnitude.reverse()
            } else {
                magnitude
            }
        }
        _ => Ordering::Equal,
    }
}

/// A coefficient, an exponent, and whether the exponent is of 10 (else of 2).
type Magnitude = (u128, i32, bool);

fn bits(c: u128) -> i32 {
    128 - c.leading_zeros() as i32
}

fn digits(c: u128) -> i32 {
    let mut n = 1;
    let mut p = 10u128;
    while n < 39 && p <= c {
        n += 1;
        p = p.saturating_mul(10);
    }
    n
}

/// Compares two magnitudes (coefficients not zero).
fn compare_magnitudes(x: Magnitude, y: Magnitude) -> Ordering {
    match (x, y) {
        ((c1, b1, false), (c2, b2, false)) => {
            // Both binary: the highest bit first, then the coefficients aligned on it.
            let (t1, t2) = (b1 + bits(c1), b2 + bits(c2));
            if t1 != t2 {
                return t1.cmp(&t2);
            }
            (c1 << (128 - bits(c1))).cmp(&(c2 << (128 - bits(c2))))
        }
        ((c1, d1, true), (c2, d2, true)) => {
            // Both decimal: the adjusted exponent first, then the coefficients padded to the
            // same number of digits (at most 34: they fit).
            let (n1, n2) = (digits(c1), digits(c2));
            let (a1, a2) = (d1 + n1, d2 + n2);
            if a1 != a2 {
                return a1.cmp(&a2);
            }
            let n = n1.max(n2);
            let pad = |c: u128, digits: i32| c * 10u128.pow((n - digits) as u32);
            pad(c1, n1).cmp(&pad(c2, n2))
        }
        ((c1, d1, true), (c2, b2, false)) => mixed((c1, d1), (c2, b2)),
        ((c1, b1, false), (c2, d2, true)) => mixed((c2, d2), (c1, b1)).reverse(),
    }
}

/// Compares the decimal `c * 10^e` with the binary `m * 2^k`.
fn mixed((c, e): (u128, i32), (m, k): (u128, i32)) -> Ordering {
    // log2 of each side, within one: the decimal's from its bits and e * log2(10).
    const LOG2_10: f64 = std::f64::consts::LOG2_10;
    let decimal = f64::from(bits(c)) + f64::from(e) * LOG2_10;
    let binary = f64::from(bits(m) + k);
    if decimal > binary + 3.0 {
        return Ordering::Greater;
    }
    if decimal < binary - 3.0 {
        return Ordering::Less;
    }
    // Close: c * 5^e * 2^e against m * 2^k, exactly. Here |e| is at most about 330 (a
    // binary side is an i64 or a finite double), so the big integers stay under 1200 bits.
    let mut left = Big::from(c);
    let mut right = Big::from(m);
    if e >= 0 {
        left.mul_pow5(e as u32);
    } else {
        right.mul_pow5(e.unsigned_abs());
    }
    let shift = i64::from(e) - i64::from(k);
    if shift >= 0 {
        left.shl(shift as u32);
    } else {
        right.shl(shift.unsigned_abs() as u32);
    }
    left.cmp(&right)
}

/// An unsigned integer of up to 64 * 40 bits, little-endian limbs. Operations that would
/// overflow it saturate to its largest value (they cannot happen for the magnitudes
/// [`mixed`] gives it).
#[derive(Debug, Clone, PartialEq, Eq)]
struct Big {
    limbs: [u64; 40],
}

impl From<u128> for Big {
    fn from(v: u128) -> Big {
        let mut limbs = [0; 40];
        limbs[0] = v as u64;
        limbs[1] = (v >> 64) as u64;
        Big { limbs }
    }
}

impl Big {
    fn saturate(&mut self) {
        self.limbs = [u64::MAX; 40];
    }

    fn mul_small(&mut self, factor: u64) {
        let mut carry = 0u128;
        for limb in self.limbs.iter_mut() {
            let product = u128::from(*limb) * u128::from(factor) + carry;
            *limb = product as u64;
            carry = product >> 64;
        }
        if carry != 0 {
            self.saturate();
        }
    }

    fn mul_pow5(&mut self, mut n: u32) {
        const POW5_27: u64 = 7_450_580_596_923_828_125; // 5^27, the largest power in a u64
        while n >= 27 {
            self.mul_small(POW5_27);
            n -= 27;
        }
        self.mul_small(5u64.pow(n));
    }

    fn shl(&mut self, n: u32) {
        let (words, bits) = ((n / 64) as usize, n % 64);
        if words >= self.limbs.len() {
            if self.limbs.iter().any(|&l| l != 0) {
                self.saturate();
            }
            return;
        }
        let top = self.limbs.len() - words;
        if self.limbs[top..].iter().any(|&l| l != 0)
            || (bits > 0 && self.limbs[top - 1] >> (64 - bits) != 0)
        {
            self.saturate();
            return;
        }
        for i in (0..self.limbs.len()).rev() {
            let lower = if i >= words { self.limbs[i - words] } else { 0 };
            let below = if i > words && bits > 0 {
                self.limbs[i - words - 1] >> (64 - bits)
            } else {
                0
            };
            self.limbs[i] = if bits > 0 {
                lower << bits | below
            } else {
                lower
            };
        }
    }
}

impl PartialOrd for Big {
    fn partial_cmp(&self, other: &Big) -> Option<Ordering> {
        Some(self.cmp(other))
    }
}

impl Ord for Big {
    fn cmp(&self, other: &Big) -> Ordering {
        self.limbs.iter().rev().cmp(other.limbs.iter().rev())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn dec(s: &str) -> Number {
        Number::Decimal(s.parse::<bson::Decimal128>().unwrap().bytes())
    }

    #[test]
    fn across_types() {
        use Ordering::*;
        let cases = [
            (Number::Int(1), Number::Double(1.0), Equal),
            (Number::Int(1), dec("1.000"), Equal),
            (Number::Double(0.1), dec("0.1"), Greater), // the double is 0.1000000000000000055...
            (Number::Double(0.5), dec("0.5"), Equal),
            (Number::Double(-0.0), Number::Int(0), Equal),
            (dec("-0E+30"), Number::Double(0.0), Equal),
            (Number::Double(f64::NAN), dec("NaN"), Equal),
            (
                Number::Double(f64::NAN),
                Number::Double(f64::NEG_INFINITY),
                Less,
            ),
            (dec("-Infinity"), Number::Double(f64::NEG_INFINITY), Equal),
            (dec("1E+400"), Number::Double(f64::MAX), Greater),
            (dec("1E-400"), Number::Double(5e-324), Less),
            (Number::Int(i64::MAX), Number::Double(i64::MAX as f64), Less),
            (
                Number::Int(i64::MIN),
                Number::Double(i64::MIN as f64),
                Equal,
            ),
            (
                Number::Int(9007199254740993),
                Number::Double(9007199254740992.0),
                Greater,
            ),
            (
                dec("9007199254740993"),
                Number::Double(9007199254740992.0),
                Greater,
            ),
            (
                dec("1.7976931348623157E+308"),
                Number::Double(f64::MAX),
                Less,
            ),
            (dec("-5E-324"), Number::Double(-5e-324), Less), // the double is -4.94...e-324
            (
                dec("1E+6144"),
                dec("9.999999999999999999999999999999999E+6143"),
                Greater,
            ),
            (dec("12.30"), dec("12.3"), Equal),
        ];
        for (a, b, want) in cases {
            assert_eq!(compare(a, b), want, "{a:?} vs {b:?}");
            assert_eq!(compare(b, a), want.reverse(), "{b:?} vs {a:?}");
        }
    }

    #[test]
    fn big_shifts() {
        let mut b = Big::from(1);
        b.shl(64 * 39 + 63);
        assert_eq!(b.limbs[39], 1 << 63);
        b.shl(1);
        assert_eq!(
            b,
            Big {
                limbs: [u64::MAX; 40]
            }
        );
    }
}
