//! A deflate decoder that can start at any bit, stop at an output limit or at the end of its
//! input, and go on later from where it stopped.
//!
//! Output goes to an [`Out`]: plain bytes with a known history ([`Known`]), or 16-bit values
//! where the 32 KiB before the start are unknown ([`Marked`]): a back-reference into them
//! copies a marker that names the position, resolved once the history is known.

use std::sync::OnceLock;

use super::bits::Bits;
use super::huffman::{check_lengths, Huffman, Kind, Symbol};

/// deflate's window.
pub(crate) const WINDOW: usize = 32 * 1024;

const LENGTH_BASE: [u16; 29] = [
    3, 4, 5, 6, 7, 8, 9, 10, 11, 13, 15, 17, 19, 23, 27, 31, 35, 43, 51, 59, 67, 83, 99, 115, 131,
    163, 195, 227, 258,
];
const LENGTH_EXTRA: [u8; 29] = [
    0, 0, 0, 0, 0, 0, 0, 0, 1, 1, 1, 1, 2, 2, 2, 2, 3, 3, 3, 3, 4, 4, 4, 4, 5, 5, 5, 5, 0,
];
const DIST_BASE: [u16; 30] = [
    1, 2, 3, 4, 5, 7, 9, 13, 17, 25, 33, 49, 65, 97, 129, 193, 257, 385, 513, 769, 1025, 1537,
    2049, 3073, 4097, 6145, 8193, 12289, 16385, 24577,
];
const DIST_EXTRA: [u8; 30] = [
    0, 0, 0, 0, 1, 1, 2, 2, 3, 3, 4, 4, 5, 5, 6, 6, 7, 7, 8, 8, 9, 9, 10, 10, 11, 11, 12, 12, 13,
    13,
];
/// The order in which a dynamic header sends the code-length code's lengths.
const CODE_LENGTH_ORDER: [usize; 19] = [
    16, 17, 18, 0, 8, 7, 9, 6, 10, 5, 11, 4, 12, 3, 13, 2, 14, 1, 15,
];

/// Damage in a deflate stream (zlib's wording).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct DeflateError(pub(crate) &'static str);

/// Where decoded data goes.
pub(crate) trait Out {
    /// Values written so far (including any history given at the start).
    fn len(&self) -> usize;
    /// Appends a literal byte.
    fn literal(&mut self, b: u8);
    /// Appends `len` values copied from `dist` back.
    ///
    /// # Errors
    ///
    /// When `dist` reaches before the known history.
    fn copy(&mut self, dist: usize, len: usize) -> Result<(), DeflateError>;
    /// Appends the bytes of a stored block.
    fn stored(&mut self, bytes: &[u8]);
}

/// Bytes, after a history: `buf[floor..]` may be referred back to.
pub(crate) struct Known<'a> {
    pub(crate) buf: &'a mut Vec<u8>,
    pub(crate) floor: usize,
}

impl Out for Known<'_> {
    fn len(&self) -> usize {
        self.buf.len()
    }
    #[inline]
    fn literal(&mut self, b: u8) {
        self.buf.push(b);
    }
    #[inline]
    fn copy(&mut self, dist: usize, len: usize) -> Result<(), DeflateError> {
        if dist > self.buf.len() - self.floor {
            return Err(DeflateError("invalid distance too far back"));
        }
        copy_within(self.buf, dist, len);
        Ok(())
    }
    fn stored(&mut self, bytes: &[u8]) {
        self.buf.extend_from_slice(bytes);
    }
}

/// Values below 256 are bytes; `MARKER | i` is byte `i` of the unknown 32 KiB window before
/// the start (`i = 0` the oldest, `WINDOW - 1` the byte just before the start).
pub(crate) const MARKER: u16 = 0x8000;

/// 16-bit output that starts with the unknown window as markers.
pub(crate) struct Marked {
    pub(crate) buf: Vec<u16>,
    /// The oldest window byte referred to (its marker index; [`WINDOW`] for none): copies
    /// from the markers bring in indices, copies of copies only repeat them.
    pub(crate) oldest: usize,
}

impl Marked {
    /// An output in `buf` (emptied) holding only the markers of the unknown window, with room
    /// for `cap` values more (allocated at once, so that growing never doubles past it).
    pub(crate) fn new(mut buf: Vec<u16>, cap: usize) -> Self {
        buf.clear();
        buf.reserve(WINDOW + cap + 258);
        buf.extend((0..WINDOW as u16).map(|i| MARKER | i));
        Marked {
            buf,
            oldest: WINDOW,
        }
    }
}

impl Out for Marked {
    fn len(&self) -> usize {
        self.buf.len()
    }
    #[inline]
    fn literal(&mut self, b: u8) {
        self.buf.push(u16::from(b));
    }
    #[inline]
    fn copy(&mut self, dist: usize, len: usize) -> Result<(), DeflateError> {
        // The markers make the whole window available: the check happens on resolving.
        self.oldest = self.oldest.min(self.buf.len() - dist);
        copy_within(&mut self.buf, dist, len);
        Ok(())
    }
    fn stored(&mut self, bytes: &[u8]) {
        self.buf.extend(bytes.iter().map(|&b| u16::from(b)));
    }
}

/// LZ77 copy of `len` values from `dist` back (`1 <= dist <= buf.len()`), overlapping
/// allowed.
#[inline]
fn copy_within<T: Copy>(buf: &mut Vec<T>, dist: usize, len: usize) {
    let start = buf.len() - dist;
    if dist >= len {
        buf.extend_from_within(start..start + len);
    } else {
        // Everything from `start` on repeats with period `dist`: copy as much of it as there
        // is each time, doubling.
        let mut left = len;
        while left > 0 {
            let n = left.min(buf.len() - start);
            buf.extend_from_within(start..start + n);
            left -= n;
        }
    }
}

/// Why [`Decoder::run`] returned.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Stop {
    /// A block ended; [`Decoder::was_final`] tells whether it was the last one.
    BlockEnd,
    /// The output reached the limit.
    OutputFull,
    /// The input ran out; the decoder is at a point it can go on from with more input.
    NeedInput,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum State {
    /// Before a block header.
    BlockStart,
    /// Inside a stored block, with these bytes left.
    Stored(u32),
    /// Inside a Huffman block (the tables are in the decoder).
    Codes,
}

/// The fixed Huffman codes.
fn fixed() -> &'static (Huffman, Huffman) {
    static FIXED: OnceLock<(Huffman, Huffman)> = OnceLock::new();
    FIXED.get_or_init(|| {
        let mut lengths = [0u8; 288];
        lengths[..144].fill(8);
        lengths[144..256].fill(9);
        lengths[256..280].fill(7);
        lengths[280..].fill(8);
        let (mut lit, mut dist) = (Huffman::default(), Huffman::default());
        // Complete sets: cannot fail.
        let built = lit
            .build(&lengths, Kind::Literals)
            .and_then(|()| dist.build(&[5; 32], Kind::Distances));
        debug_assert!(built.is_ok());
        (lit, dist)
    })
}

/// A resumable deflate decoder.
pub(crate) struct Decoder {
    state: State,
    last: bool,
    fixed: bool,
    lit: Huffman,
    dist: Huffman,
    lengths: [u8; 320],
}

impl Decoder {
    /// A decoder before a block header.
    pub(crate) fn new() -> Self {
        Decoder {
            state: State::BlockStart,
            last: false,
            fixed: false,
            lit: Huffman::default(),
            dist: Huffman::default(),
            lengths: [0; 320],
        }
    }

    /// Back before a block header (a new stream).
    pub(crate) fn reset(&mut self) {
        self.state = State::BlockStart;
        self.last = false;
    }

    /// Whether the decoder is between blocks.
    pub(crate) fn at_block_start(&self) -> bool {
        self.state == State::BlockStart
    }

    /// Whether the block that ended last had the final-block flag.
    pub(crate) fn was_final(&self) -> bool {
        self.last
    }

    /// Decodes from `bits` into `out` until a block ends, `out` holds `limit` values or more
    /// (a match may go up to 257 past it), or the input runs out.
    ///
    /// # Errors
    ///
    /// Damage; never because input is missing (that is [`Stop::NeedInput`]).
    pub(crate) fn run<O: Out>(
        &mut self,
        bits: &mut Bits<'_>,
        out: &mut O,
        limit: usize,
    ) -> Result<Stop, DeflateError> {
        loop {
            match self.state {
                State::BlockStart => {
                    let start = bits.pos();
                    let read = self.header(bits);
                    if bits.overrun() {
                        // Zero bits read past the end can look like anything: ask for more.
                        bits.set_pos(start);
                        self.state = State::BlockStart;
                        return Ok(Stop::NeedInput);
                    }
                    read?;
                }
                State::Stored(mut left) => {
                    while left > 0 {
                        let room = limit.saturating_sub(out.len());
                        if room == 0 {
                            self.state = State::Stored(left);
                            return Ok(Stop::OutputFull);
                        }
                        let avail = bits.bytes_left();
                        let n = avail.len().min(left as usize).min(room);
                        if n == 0 {
                            self.state = State::Stored(left);
                            return Ok(Stop::NeedInput);
                        }
                        out.stored(&avail[..n]);
                        bits.consume(n as u32 * 8);
                        left -= n as u32;
                    }
                    self.state = State::BlockStart;
                    return Ok(Stop::BlockEnd);
                }
                State::Codes => return self.codes(bits, out, limit),
            }
        }
    }

    /// Reads a block header; sets the state for the block's data.
    fn header(&mut self, bits: &mut Bits<'_>) -> Result<(), DeflateError> {
        let head = bits.take(3);
        self.last = head & 1 == 1;
        match head >> 1 {
            0 => {
                bits.align();
                let len = bits.take(16) as u16;
                let nlen = bits.take(16) as u16;
                if len != !nlen {
                    return Err(DeflateError("invalid stored block lengths"));
                }
                self.state = State::Stored(u32::from(len));
            }
            1 => {
                self.fixed = true;
                self.state = State::Codes;
            }
            2 => {
                read_dynamic(
                    bits,
                    &mut self.lengths,
                    Some((&mut self.lit, &mut self.dist)),
                )?;
                self.fixed = false;
                self.state = State::Codes;
            }
            _ => return Err(DeflateError("invalid block type")),
        }
        Ok(())
    }

    fn codes<O: Out>(
        &mut self,
        bits: &mut Bits<'_>,
        out: &mut O,
        limit: usize,
    ) -> Result<Stop, DeflateError> {
        let (lit, dist) = if self.fixed {
            let f = fixed();
            (&f.0, &f.1)
        } else {
            (&self.lit, &self.dist)
        };
        loop {
            if out.len() >= limit {
                return Ok(Stop::OutputFull);
            }
            let start = bits.pos();
            // One look at the next 56 bits holds a whole literal/length, distance and their
            // extra bits (at most 48).
            let v = bits.peek(56);
            let (sym, mut used) = lit.lookup(v);
            let sym = match sym {
                Symbol::Sym(s) if s <= 256 => {
                    bits.consume(used);
                    if bits.overrun() {
                        bits.set_pos(start);
                        return Ok(Stop::NeedInput);
                    }
                    if s == 256 {
                        self.state = State::BlockStart;
                        return Ok(Stop::BlockEnd);
                    }
                    out.literal(s as u8);
                    continue;
                }
                Symbol::Sym(s) if usize::from(s - 257) < LENGTH_BASE.len() => usize::from(s - 257),
                _ => {
                    bits.consume(used);
                    return more_or(bits, start, "invalid literal/length code");
                }
            };
            let extra = u32::from(LENGTH_EXTRA[sym]);
            let len = usize::from(LENGTH_BASE[sym]) + ((v >> used) & ((1 << extra) - 1)) as usize;
            used += extra;
            let (d, dlen) = dist.lookup(v >> used);
            used += dlen;
            let d = match d {
                Symbol::Sym(d) if usize::from(d) < DIST_BASE.len() => usize::from(d),
                _ => {
                    bits.consume(used);
                    return more_or(bits, start, "invalid distance code");
                }
            };
            let extra = u32::from(DIST_EXTRA[d]);
            let distance = usize::from(DIST_BASE[d]) + ((v >> used) & ((1 << extra) - 1)) as usize;
            bits.consume(used + extra);
            if bits.overrun() {
                bits.set_pos(start);
                return Ok(Stop::NeedInput);
            }
            if let Err(e) = out.copy(distance, len) {
                bits.set_pos(start);
                return Err(e);
            }
        }
    }
}

/// An error found after reading past the input is missing input instead.
fn more_or(bits: &mut Bits<'_>, start: usize, error: &'static str) -> Result<Stop, DeflateError> {
    if bits.overrun() {
        bits.set_pos(start);
        Ok(Stop::NeedInput)
    } else {
        Err(DeflateError(error))
    }
}

/// Reads a dynamic block header after its three first bits, checking it as zlib does; builds
/// the two codes into `tables` when given (the block-start finder only checks).
///
/// # Errors
///
/// A header zlib refuses. (Reading past the end of the input may cause any error: callers
/// check [`Bits::overrun`].)
pub(crate) fn read_dynamic(
    bits: &mut Bits<'_>,
    lengths: &mut [u8; 320],
    tables: Option<(&mut Huffman, &mut Huffman)>,
) -> Result<(), DeflateError> {
    let nlen = bits.take(5) as usize + 257;
    let ndist = bits.take(5) as usize + 1;
    let ncode = bits.take(4) as usize + 4;
    if nlen > 286 || ndist > 30 {
        return Err(DeflateError("too many length or distance symbols"));
    }
    let mut code_lengths = [0u8; 19];
    for &at in &CODE_LENGTH_ORDER[..ncode] {
        code_lengths[at] = bits.take(3) as u8;
    }
    let total = nlen + ndist;
    if code_lengths.iter().all(|&l| l == 0) {
        // zlib takes an empty code-length code and reads every length with it as a zero of
        // one bit, and only then finds the end-of-block code missing; reading the same bits
        // here makes a stream cut short in them missing input on both paths, not damage.
        bits.consume(total as u32);
        return Err(DeflateError("invalid code -- missing end-of-block"));
    }
    check_lengths(&code_lengths, Kind::CodeLengths).map_err(DeflateError)?;
    let code = CodeLengthCode::new(&code_lengths);
    let mut have = 0;
    while have < total {
        let sym = code.decode(bits);
        if sym < 16 {
            lengths[have] = sym as u8;
            have += 1;
            continue;
        }
        let (value, repeat) = match sym {
            16 => {
                // zlib reads the repeat count before it finds nothing to repeat.
                let repeat = 3 + bits.take(2) as usize;
                if have == 0 {
                    return Err(DeflateError("invalid bit length repeat"));
                }
                (lengths[have - 1], repeat)
            }
            17 => (0, 3 + bits.take(3) as usize),
            _ => (0, 11 + bits.take(7) as usize),
        };
        if have + repeat > total {
            return Err(DeflateError("invalid bit length repeat"));
        }
        lengths[have..have + repeat].fill(value);
        have += repeat;
    }
    if lengths[256] == 0 {
        return Err(DeflateError("invalid code -- missing end-of-block"));
    }
    let (lit_lengths, dist_lengths) = lengths[..total].split_at(nlen);
    match tables {
        Some((lit, dist)) => {
            lit.build(lit_lengths, Kind::Literals)
                .map_err(DeflateError)?;
            dist.build(dist_lengths, Kind::Distances)
                .map_err(DeflateError)?;
        }
        None => {
            check_lengths(lit_lengths, Kind::Literals).map_err(DeflateError)?;
            check_lengths(dist_lengths, Kind::Distances).map_err(DeflateError)?;
        }
    }
    Ok(())
}

/// The code-length code of a dynamic header (complete, at most 7 bits): one table lookup.
struct CodeLengthCode {
    /// Per next 7 bits: `symbol << 4 | length`.
    table: [u16; 128],
}

impl CodeLengthCode {
    /// The table for a complete set of lengths (as [`check_lengths`] accepted).
    fn new(lengths: &[u8; 19]) -> Self {
        let mut table = [0u16; 128];
        let mut code: u32 = 0;
        for len in 1..=7u32 {
            for (sym, &l) in lengths.iter().enumerate() {
                if u32::from(l) != len {
                    continue;
                }
                let reversed = code.reverse_bits() >> (32 - len);
                let mut i = reversed as usize;
                while i < 128 {
                    table[i] = (sym as u16) << 4 | len as u16;
                    i += 1 << len;
                }
                code += 1;
            }
            code <<= 1;
        }
        CodeLengthCode { table }
    }

    #[inline]
    fn decode(&self, bits: &mut Bits<'_>) -> u16 {
        let entry = self.table[bits.peek(7) as usize];
        bits.consume(u32::from(entry & 15));
        entry >> 4
    }
}
