//! A bit reader over a byte slice, least significant bit first (deflate's order).
//!
//! Reads past the end of the slice see zero bits; [`Bits::overrun`] tells afterwards whether
//! that happened, so a decoder can read a whole symbol first and then decide whether it was
//! really there (and otherwise roll back to where the symbol started and ask for more input).

/// A position in a byte slice, in bits.
#[derive(Debug, Clone)]
pub(crate) struct Bits<'a> {
    data: &'a [u8],
    pos: usize,
}

impl<'a> Bits<'a> {
    /// A reader over `data`, at bit `pos` (which may be past the end: everything reads as zero).
    pub(crate) fn new(data: &'a [u8], pos: usize) -> Self {
        Bits { data, pos }
    }

    /// The next `n` bits (at most 56), without consuming them.
    #[inline]
    pub(crate) fn peek(&self, n: u32) -> u64 {
        debug_assert!(n <= 56);
        let byte = self.pos >> 3;
        let word = match self.data.get(byte..byte + 8) {
            Some(eight) => {
                let mut b = [0u8; 8];
                b.copy_from_slice(eight);
                u64::from_le_bytes(b)
            }
            None => {
                let mut b = [0u8; 8];
                let rest = self.data.get(byte..).unwrap_or(&[]);
                b[..rest.len()].copy_from_slice(rest);
                u64::from_le_bytes(b)
            }
        };
        (word >> (self.pos & 7)) & ((1u64 << n) - 1)
    }

    /// Drops `n` bits.
    #[inline]
    pub(crate) fn consume(&mut self, n: u32) {
        self.pos += n as usize;
    }

    /// The next `n` bits (at most 56), consumed.
    #[inline]
    pub(crate) fn take(&mut self, n: u32) -> u64 {
        let v = self.peek(n);
        self.consume(n);
        v
    }

    /// The position, in bits from the start of the slice.
    pub(crate) fn pos(&self) -> usize {
        self.pos
    }

    /// Moves to bit `pos`.
    pub(crate) fn set_pos(&mut self, pos: usize) {
        self.pos = pos;
    }

    /// Moves to the next byte boundary (or stays on one).
    pub(crate) fn align(&mut self) {
        self.pos = self.pos.next_multiple_of(8);
    }

    /// Whether more bits were consumed than the slice holds.
    pub(crate) fn overrun(&self) -> bool {
        self.pos > self.data.len() * 8
    }

    /// Whole bytes left from the position (which must be on a byte boundary).
    pub(crate) fn bytes_left(&self) -> &'a [u8] {
        self.data.get(self.pos >> 3..).unwrap_or(&[])
    }

    /// The bits in the slice.
    pub(crate) fn len_bits(&self) -> usize {
        self.data.len() * 8
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lsb_first_zero_padded_and_overrun() {
        let data = [0b1010_1100u8, 0xff];
        let mut b = Bits::new(&data, 0);
        assert_eq!(b.take(3), 0b100);
        assert_eq!(b.take(5), 0b10101);
        assert_eq!(b.peek(12), 0xff);
        b.consume(8);
        assert!(!b.overrun());
        assert_eq!(b.take(1), 0);
        assert!(b.overrun());
    }
}
