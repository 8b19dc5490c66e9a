//! Speculative decoding of one chunk of a deflate stream whose start is unknown: find the
//! first bit where a block could start (a dynamic-Huffman header that zlib would accept, or a
//! stored block whose length checks), decode from there with markers for the unknown window,
//! and stop at the end of the first block that reaches the end of the chunk.

use super::bits::Bits;
use super::decoder::{read_dynamic, Decoder, Marked, Stop, WINDOW};

/// How a speculative decode started.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Start {
    /// A dynamic-Huffman block header at exactly this bit.
    Dynamic(u64),
    /// A stored block whose length field is at this byte: any bit from which three zero
    /// bits and the padding reach this byte starts the same block.
    Stored {
        /// The bit where the decode started.
        bit: u64,
        /// The byte of the length field.
        len_byte: u64,
    },
}

impl Start {
    /// Whether a decoder at `pos` (a block boundary), with `first3` the three bits there,
    /// would decode exactly what a decode from this start produced.
    pub(crate) fn matches(self, pos: u64, first3: u64) -> bool {
        match self {
            Start::Dynamic(bit) => pos == bit,
            Start::Stored { len_byte, .. } => {
                first3 == 0 && (pos + 3).next_multiple_of(8) == len_byte * 8
            }
        }
    }

    /// The last block boundary at which this start could still match.
    pub(crate) fn latest(self) -> u64 {
        match self {
            Start::Dynamic(bit) => bit,
            Start::Stored { len_byte, .. } => len_byte * 8 - 3,
        }
    }
}

/// A chunk decoded from a candidate block start.
#[derive(Debug)]
pub(crate) struct Speculated {
    /// Where the decode started (absolute).
    pub(crate) start: Start,
    /// The bit after the last block decoded (absolute).
    pub(crate) end: u64,
    /// Whether the last block had the final-block flag.
    pub(crate) last: bool,
    /// The output: [`WINDOW`] markers of the unknown window, then the data.
    pub(crate) data: Vec<u16>,
    /// The oldest window byte a marker in the data names (its index; [`WINDOW`] for none):
    /// the window must reach that far back.
    pub(crate) oldest: usize,
}

/// At most this many candidates are tried per chunk before giving it up.
const MAX_TRIES: usize = 16;

/// Decodes speculatively from the first good block start at or after the start of `input`
/// (which is bytes `[base, base + input.len())` of the stream) up to the first block end at or
/// after `chunk_end` (a byte offset within `input`), producing at most `cap` values.
/// `None` when no candidate within the chunk gets there (the consumer decodes it itself).
/// `buf` is the output buffer to use (taken on success, left for reuse otherwise).
pub(crate) fn speculate(
    input: &[u8],
    base: u64,
    chunk_end: usize,
    cap: usize,
    buf: &mut Vec<u16>,
) -> Option<Speculated> {
    let chunk_bits = chunk_end.min(input.len()) * 8;
    let mut bits = Bits::new(input, 0);
    let mut lengths = [0u8; 320];
    let mut decoder = Decoder::new();
    let mut tries = 0;
    let mut p = 0usize;
    let mut last_stored_byte = usize::MAX;
    while p < chunk_bits && tries < MAX_TRIES {
        bits.set_pos(p);
        let head = bits.peek(3);
        let start = match head {
            // Not final, dynamic: check the whole header.
            0b100 => {
                bits.consume(3);
                let ok = read_dynamic(&mut bits, &mut lengths, None).is_ok() && !bits.overrun();
                ok.then_some(Start::Dynamic(base * 8 + p as u64))
            }
            // Not final, stored: LEN must be the complement of NLEN.
            0b000 => {
                let at = (p + 3).div_ceil(8);
                match input.get(at..at + 4) {
                    Some(l) if at != last_stored_byte && l[0] == !l[2] && l[1] == !l[3] => {
                        last_stored_byte = at;
                        Some(Start::Stored {
                            bit: base * 8 + p as u64,
                            len_byte: base + at as u64,
                        })
                    }
                    _ => None,
                }
            }
            _ => None,
        };
        let Some(start) = start else {
            p += 1;
            continue;
        };
        tries += 1;
        let mut out = Marked::new(std::mem::take(buf), cap);
        let decoded = decode_from(input, base, p, chunk_bits, cap, &mut decoder, &mut out);
        match decoded {
            Ok(Some((end, last))) => {
                return Some(Speculated {
                    start,
                    end,
                    last,
                    data: out.buf,
                    oldest: out.oldest,
                });
            }
            // Too much output or not enough input: the consumer does this chunk.
            Ok(None) => {
                *buf = out.buf;
                return None;
            }
            Err(()) => {
                *buf = out.buf;
                p += 1;
            }
        }
    }
    None
}

/// The end bit and whether the last block was final, when the decode got there.
type Decoded = Option<(u64, bool)>;

fn decode_from(
    input: &[u8],
    base: u64,
    p: usize,
    chunk_bits: usize,
    cap: usize,
    decoder: &mut Decoder,
    out: &mut Marked,
) -> Result<Decoded, ()> {
    decoder.reset();
    let mut bits = Bits::new(input, p);
    loop {
        match decoder.run(&mut bits, out, WINDOW + cap) {
            Ok(Stop::BlockEnd) => {
                let last = decoder.was_final();
                if last || bits.pos() >= chunk_bits {
                    return Ok(Some((base * 8 + bits.pos() as u64, last)));
                }
            }
            Ok(Stop::OutputFull | Stop::NeedInput) => return Ok(None),
            Err(_) => return Err(()),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::Write;

    fn text(len: usize) -> Vec<u8> {
        let mut x = 12345u64;
        let mut out = Vec::new();
        while out.len() < len {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            out.extend_from_slice(format!("user{} ", x % 5000).as_bytes());
        }
        out
    }

    /// From the middle of a real stream: a block start is found, and every value that is not
    /// a marker is the byte the stream really has there.
    #[test]
    fn speculation_from_the_middle_agrees_with_the_data() {
        let data = text(400_000);
        let mut e = flate2::write::DeflateEncoder::new(Vec::new(), flate2::Compression::new(6));
        e.write_all(&data).unwrap();
        let deflate = e.finish().unwrap();
        let a = deflate.len() / 3;
        let s = speculate(&deflate[a..], a as u64, 64 * 1024, 1 << 20, &mut Vec::new())
            .expect("a block start");
        let values = &s.data[WINDOW..];
        assert!(values
            .iter()
            .all(|&v| v < 256 || usize::from(v & 0x7fff) >= s.oldest));
        assert!(values.len() > 10_000, "{}", values.len());
        assert!(s.start.latest() >= a as u64 * 8);
        assert!(s.end > (a + 64 * 1024) as u64 * 8 || s.last);
        // Where the values are in the data: at an offset where every literal agrees and every
        // marker names a byte that the same offset puts in the window.
        let agrees = |at: usize| {
            at >= WINDOW
                && values.iter().enumerate().all(|(i, &v)| {
                    let want = data.get(at + i).copied();
                    if v < 256 {
                        want == Some(v as u8)
                    } else {
                        want == Some(data[at - WINDOW + usize::from(v & 0x7fff)])
                    }
                })
        };
        assert!((0..data.len()).any(agrees), "no offset in the data agrees");
    }
}
