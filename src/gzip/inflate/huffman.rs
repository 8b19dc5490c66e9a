//! Canonical Huffman codes of deflate: built from code lengths with zlib's rules (which sets
//! are refused), decoded through a table of the first [`PRIMARY_BITS`] bits, with a
//! bit-by-bit walk for the rare longer codes.

/// Bits looked up at once; longer codes take the slow walk.
const PRIMARY_BITS: u32 = 10;
/// deflate's longest code.
pub(crate) const MAX_BITS: u32 = 15;

/// Which code a table is for: zlib refuses incomplete sets, except a literal/length or
/// distance code with a single code of one bit.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Kind {
    /// The code-length code of a dynamic block header.
    CodeLengths,
    /// The literal/length code.
    Literals,
    /// The distance code.
    Distances,
}

/// What a lookup found.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Symbol {
    /// A symbol of the code.
    Sym(u16),
    /// Bits that are no code of this (incomplete) set.
    Invalid,
}

/// One code, ready to decode.
#[derive(Debug, Clone)]
pub(crate) struct Huffman {
    /// Per first `PRIMARY_BITS` bits: `symbol << 4 | length`, or 0 when the code is longer
    /// (or invalid).
    primary: Vec<u32>,
    /// Codes of each length.
    counts: [u16; MAX_BITS as usize + 1],
    /// Symbols in canonical order (by length, then value).
    symbols: Vec<u16>,
}

impl Default for Huffman {
    fn default() -> Self {
        Huffman {
            primary: vec![0; 1 << PRIMARY_BITS],
            counts: [0; MAX_BITS as usize + 1],
            symbols: Vec::new(),
        }
    }
}

/// Checks a set of code lengths as zlib's `inflate_table` does; returns the count per length.
///
/// # Errors
///
/// An over-subscribed set, or an incomplete one that zlib refuses.
pub(crate) fn check_lengths(
    lengths: &[u8],
    kind: Kind,
) -> Result<[u16; MAX_BITS as usize + 1], &'static str> {
    let mut counts = [0u16; MAX_BITS as usize + 1];
    for &l in lengths {
        counts[l as usize] += 1;
    }
    counts[0] = 0;
    let max = (1..=MAX_BITS as usize).rev().find(|&l| counts[l] != 0);
    let Some(max) = max else {
        // No symbols at all: zlib accepts that for distances (any use is an error); for the
        // code-length code the lengths read from it all end in a missing end-of-block code.
        return match kind {
            Kind::Distances => Ok(counts),
            Kind::CodeLengths => Err("invalid code lengths set"),
            Kind::Literals => Err("invalid literal/lengths set"),
        };
    };
    let mut left: i32 = 1;
    for &count in &counts[1..] {
        left <<= 1;
        left -= i32::from(count);
        if left < 0 {
            return Err(over_subscribed(kind));
        }
    }
    if left > 0 && (kind == Kind::CodeLengths || max != 1) {
        return Err(over_subscribed(kind));
    }
    Ok(counts)
}

fn over_subscribed(kind: Kind) -> &'static str {
    match kind {
        Kind::CodeLengths => "invalid code lengths set",
        Kind::Literals => "invalid literal/lengths set",
        Kind::Distances => "invalid distances set",
    }
}

impl Huffman {
    /// Rebuilds this table for `lengths` (indexed by symbol).
    ///
    /// # Errors
    ///
    /// As [`check_lengths`].
    pub(crate) fn build(&mut self, lengths: &[u8], kind: Kind) -> Result<(), &'static str> {
        self.counts = check_lengths(lengths, kind)?;
        // First canonical code and first index into `symbols` of each length.
        let mut offsets = [0u16; MAX_BITS as usize + 2];
        for len in 1..=MAX_BITS as usize {
            offsets[len + 1] = offsets[len] + self.counts[len];
        }
        self.symbols.clear();
        self.symbols
            .resize(usize::from(offsets[MAX_BITS as usize + 1]), 0);
        for (sym, &len) in lengths.iter().enumerate() {
            if len != 0 {
                let at = &mut offsets[len as usize];
                self.symbols[usize::from(*at)] = sym as u16;
                *at += 1;
            }
        }
        self.primary.fill(0);
        let mut code: u32 = 0;
        let mut index = 0usize;
        for len in 1..=MAX_BITS {
            for _ in 0..self.counts[len as usize] {
                if len <= PRIMARY_BITS {
                    let reversed = code.reverse_bits() >> (32 - len);
                    let entry = u32::from(self.symbols[index]) << 4 | len;
                    let mut i = reversed as usize;
                    while i < self.primary.len() {
                        self.primary[i] = entry;
                        i += 1 << len;
                    }
                }
                code += 1;
                index += 1;
            }
            code <<= 1;
        }
        Ok(())
    }

    /// The symbol at the start of `peeked` (at least [`MAX_BITS`] bits, least significant
    /// first) and its length in bits (1 for invalid bits).
    #[inline]
    pub(crate) fn lookup(&self, peeked: u64) -> (Symbol, u32) {
        let entry = self.primary[(peeked & ((1 << PRIMARY_BITS) - 1)) as usize];
        if entry != 0 {
            return (Symbol::Sym((entry >> 4) as u16), entry & 15);
        }
        // The canonical walk (as zlib's puff.c).
        let (mut code, mut first, mut index) = (0i32, 0i32, 0i32);
        for len in 1..=MAX_BITS {
            code |= ((peeked >> (len - 1)) & 1) as i32;
            let count = i32::from(self.counts[len as usize]);
            if code - first < count {
                return (
                    Symbol::Sym(self.symbols[(index + code - first) as usize]),
                    len,
                );
            }
            index += count;
            first += count;
            first <<= 1;
            code <<= 1;
        }
        // Only the incomplete sets zlib accepts leave codes unused: one code of one bit, or
        // no distance code at all. zlib reports the other bit pattern as invalid after one bit,
        // so a stream that ends right after it is damaged, not cut short, on both paths.
        (Symbol::Invalid, 1)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::gzip::inflate::bits::Bits;

    #[test]
    fn zlib_rules_for_incomplete_and_oversubscribed_sets() {
        assert!(check_lengths(&[1, 1, 1], Kind::Literals).is_err());
        assert!(check_lengths(&[1, 2], Kind::Literals).is_err());
        assert!(check_lengths(&[1], Kind::Literals).is_ok());
        assert!(check_lengths(&[1], Kind::Distances).is_ok());
        assert!(check_lengths(&[1], Kind::CodeLengths).is_err());
        assert!(check_lengths(&[0, 0], Kind::Distances).is_ok());
        assert!(check_lengths(&[0, 0], Kind::CodeLengths).is_err());
        assert!(check_lengths(&[1, 2, 2], Kind::CodeLengths).is_ok());
    }

    #[test]
    fn long_and_short_codes_decode() {
        // Lengths 1, 2, ..., 14, 15, 15: complete.
        let mut lengths: Vec<u8> = (1..=15).collect();
        lengths.push(15);
        let mut h = Huffman::default();
        h.build(&lengths, Kind::Literals).unwrap();
        // Symbol 12 (length 13) has the code 1111111111110, sent MSB first.
        let code: u32 = 0b1111111111110;
        let bits_lsb = code.reverse_bits() >> (32 - 13);
        let data = (bits_lsb as u64).to_le_bytes();
        let b = Bits::new(&data, 0);
        assert_eq!(h.lookup(b.peek(MAX_BITS)), (Symbol::Sym(12), 13));
        assert_eq!(h.lookup(0), (Symbol::Sym(0), 1));
    }
}
