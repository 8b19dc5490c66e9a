//! MD5 (RFC 1321) for one long stream, in safe Rust.
//!
//! The `md-5` crate computes the same function, but on x86-64 LLVM moves each step's round
//! constant to the end of the sum `a + M[i] + K[i] + F(b, c, d)`, which puts one more add on the
//! dependency chain that runs through all 64 steps of a block. MD5 is nothing but that chain, so
//! the extra add cost about a fifth of the speed here (0.65 GB/s, against 0.80 GB/s for
//! OpenSSL's assembly and about 0.73 GB/s for coreutils' `md5sum`). Reading the constants through
//! [`black_box`] hides their values from the optimizer, so `a + M[i] + K[i]` is summed while the
//! previous step is still running and only `F`, one add, the rotation and the add of `b` remain
//! on the chain. The round functions are the cheapest known forms (`G` with an add instead of an
//! or, so its two halves can be summed separately).
//!
//! `md-5` stays as the reference implementation in the tests.

use std::hint::black_box;

use zeroize::Zeroize;

/// `K[i] = floor(abs(sin(i + 1)) * 2^32)`, RFC 1321 section 3.4.
const K: [u32; 64] = [
    0xd76aa478, 0xe8c7b756, 0x242070db, 0xc1bdceee, 0xf57c0faf, 0x4787c62a, 0xa8304613, 0xfd469501,
    0x698098d8, 0x8b44f7af, 0xffff5bb1, 0x895cd7be, 0x6b901122, 0xfd987193, 0xa679438e, 0x49b40821,
    0xf61e2562, 0xc040b340, 0x265e5a51, 0xe9b6c7aa, 0xd62f105d, 0x02441453, 0xd8a1e681, 0xe7d3fbc8,
    0x21e1cde6, 0xc33707d6, 0xf4d50d87, 0x455a14ed, 0xa9e3e905, 0xfcefa3f8, 0x676f02d9, 0x8d2a4c8a,
    0xfffa3942, 0x8771f681, 0x6d9d6122, 0xfde5380c, 0xa4beea44, 0x4bdecfa9, 0xf6bb4b60, 0xbebfbc70,
    0x289b7ec6, 0xeaa127fa, 0xd4ef3085, 0x04881d05, 0xd9d4d039, 0xe6db99e5, 0x1fa27cf8, 0xc4ac5665,
    0xf4292244, 0x432aff97, 0xab9423a7, 0xfc93a039, 0x655b59c3, 0x8f0ccc92, 0xffeff47d, 0x85845dd1,
    0x6fa87e4f, 0xfe2ce6e0, 0xa3014314, 0x4e0811a1, 0xf7537e82, 0xbd3af235, 0x2ad7d2bb, 0xeb86d391,
];

const INITIAL_STATE: [u32; 4] = [0x67452301, 0xefcdab89, 0x98badcfe, 0x10325476];

/// The state of one MD5 computation: the chaining value, a partial block and the length.
#[derive(Clone)]
pub(crate) struct Md5State {
    state: [u32; 4],
    block: [u8; 64],
    filled: usize,
    length: u64,
}

impl Md5State {
    pub(crate) fn new() -> Md5State {
        Md5State {
            state: INITIAL_STATE,
            block: [0; 64],
            filled: 0,
            length: 0,
        }
    }

    pub(crate) fn update(&mut self, mut data: &[u8]) {
        self.length = self.length.wrapping_add(data.len() as u64);
        if self.filled > 0 {
            let take = data.len().min(64 - self.filled);
            self.block[self.filled..self.filled + take].copy_from_slice(&data[..take]);
            self.filled += take;
            data = &data[take..];
            if self.filled < 64 {
                return;
            }
            compress(&mut self.state, &self.block);
            self.filled = 0;
        }
        let whole = data.len() - data.len() % 64;
        compress(&mut self.state, &data[..whole]);
        let rest = &data[whole..];
        self.block[..rest.len()].copy_from_slice(rest);
        self.filled = rest.len();
    }

    /// The digest of everything so far; the state starts over empty.
    pub(crate) fn finish_reset(&mut self) -> [u8; 16] {
        let bits = self.length.wrapping_mul(8);
        // 0x80, zeros up to 56 bytes mod 64, then the length in bits, little-endian.
        let pad_len = if self.filled < 56 {
            56 - self.filled
        } else {
            120 - self.filled
        };
        let mut tail = [0u8; 72];
        tail[0] = 0x80;
        tail[pad_len..pad_len + 8].copy_from_slice(&bits.to_le_bytes());
        self.update(&tail[..pad_len + 8]);
        debug_assert_eq!(self.filled, 0);
        let mut out = [0u8; 16];
        for (o, w) in out.chunks_exact_mut(4).zip(self.state) {
            o.copy_from_slice(&w.to_le_bytes());
        }
        self.reset();
        out
    }

    fn reset(&mut self) {
        self.state = INITIAL_STATE;
        self.block.zeroize();
        self.filled = 0;
        self.length = 0;
    }
}

impl Drop for Md5State {
    // EVP_BytesToKey hashes the password and the key; none of it should outlive the hash.
    fn drop(&mut self) {
        self.state.zeroize();
        self.block.zeroize();
    }
}

#[inline(always)]
fn f(b: u32, c: u32, d: u32) -> u32 {
    d ^ (b & (c ^ d))
}

#[inline(always)]
fn g(b: u32, c: u32, d: u32) -> u32 {
    // `(b & d) | (c & !d)`: the two halves share no bits, so `+` equals `|`, and `c & !d` is
    // ready before `b` is.
    (b & d).wrapping_add(c & !d)
}

#[inline(always)]
fn h(b: u32, c: u32, d: u32) -> u32 {
    b ^ c ^ d
}

#[inline(always)]
fn i(b: u32, c: u32, d: u32) -> u32 {
    c ^ (b | !d)
}

/// Runs the compression function over whole 64-byte blocks.
fn compress(state: &mut [u32; 4], blocks: &[u8]) {
    debug_assert_eq!(blocks.len() % 64, 0);
    for block in blocks.chunks_exact(64) {
        compress_block(state, block);
    }
}

#[inline(always)]
fn compress_block(state: &mut [u32; 4], block: &[u8]) {
    let k: &[u32; 64] = black_box(&K);
    let mut x = [0u32; 16];
    for (w, bytes) in x.iter_mut().zip(block.chunks_exact(4)) {
        *w = u32::from_le_bytes([bytes[0], bytes[1], bytes[2], bytes[3]]);
    }
    let [mut a, mut b, mut c, mut d] = *state;

    // One step: `a = b + ((a + F(b, c, d) + X[j] + K[n]) <<< s)`, with the sum written so that
    // everything but `F` is added before `b` of this step is known.
    macro_rules! step {
        ($f:ident, $a:ident, $b:ident, $c:ident, $d:ident, $j:expr, $n:expr, $s:expr) => {
            $a = $f($b, $c, $d)
                .wrapping_add($a.wrapping_add(x[$j]).wrapping_add(k[$n]))
                .rotate_left($s)
                .wrapping_add($b);
        };
    }

    // Round 1.
    step!(f, a, b, c, d, 0, 0, 7);
    step!(f, d, a, b, c, 1, 1, 12);
    step!(f, c, d, a, b, 2, 2, 17);
    step!(f, b, c, d, a, 3, 3, 22);
    step!(f, a, b, c, d, 4, 4, 7);
    step!(f, d, a, b, c, 5, 5, 12);
    step!(f, c, d, a, b, 6, 6, 17);
    step!(f, b, c, d, a, 7, 7, 22);
    step!(f, a, b, c, d, 8, 8, 7);
    step!(f, d, a, b, c, 9, 9, 12);
    step!(f, c, d, a, b, 10, 10, 17);
    step!(f, b, c, d, a, 11, 11, 22);
    step!(f, a, b, c, d, 12, 12, 7);
    step!(f, d, a, b, c, 13, 13, 12);
    step!(f, c, d, a, b, 14, 14, 17);
    step!(f, b, c, d, a, 15, 15, 22);
    // Round 2.
    step!(g, a, b, c, d, 1, 16, 5);
    step!(g, d, a, b, c, 6, 17, 9);
    step!(g, c, d, a, b, 11, 18, 14);
    step!(g, b, c, d, a, 0, 19, 20);
    step!(g, a, b, c, d, 5, 20, 5);
    step!(g, d, a, b, c, 10, 21, 9);
    step!(g, c, d, a, b, 15, 22, 14);
    step!(g, b, c, d, a, 4, 23, 20);
    step!(g, a, b, c, d, 9, 24, 5);
    step!(g, d, a, b, c, 14, 25, 9);
    step!(g, c, d, a, b, 3, 26, 14);
    step!(g, b, c, d, a, 8, 27, 20);
    step!(g, a, b, c, d, 13, 28, 5);
    step!(g, d, a, b, c, 2, 29, 9);
    step!(g, c, d, a, b, 7, 30, 14);
    step!(g, b, c, d, a, 12, 31, 20);
    // Round 3.
    step!(h, a, b, c, d, 5, 32, 4);
    step!(h, d, a, b, c, 8, 33, 11);
    step!(h, c, d, a, b, 11, 34, 16);
    step!(h, b, c, d, a, 14, 35, 23);
    step!(h, a, b, c, d, 1, 36, 4);
    step!(h, d, a, b, c, 4, 37, 11);
    step!(h, c, d, a, b, 7, 38, 16);
    step!(h, b, c, d, a, 10, 39, 23);
    step!(h, a, b, c, d, 13, 40, 4);
    step!(h, d, a, b, c, 0, 41, 11);
    step!(h, c, d, a, b, 3, 42, 16);
    step!(h, b, c, d, a, 6, 43, 23);
    step!(h, a, b, c, d, 9, 44, 4);
    step!(h, d, a, b, c, 12, 45, 11);
    step!(h, c, d, a, b, 15, 46, 16);
    step!(h, b, c, d, a, 2, 47, 23);
    // Round 4.
    step!(i, a, b, c, d, 0, 48, 6);
    step!(i, d, a, b, c, 7, 49, 10);
    step!(i, c, d, a, b, 14, 50, 15);
    step!(i, b, c, d, a, 5, 51, 21);
    step!(i, a, b, c, d, 12, 52, 6);
    step!(i, d, a, b, c, 3, 53, 10);
    step!(i, c, d, a, b, 10, 54, 15);
    step!(i, b, c, d, a, 1, 55, 21);
    step!(i, a, b, c, d, 8, 56, 6);
    step!(i, d, a, b, c, 15, 57, 10);
    step!(i, c, d, a, b, 6, 58, 15);
    step!(i, b, c, d, a, 13, 59, 21);
    step!(i, a, b, c, d, 4, 60, 6);
    step!(i, d, a, b, c, 11, 61, 10);
    step!(i, c, d, a, b, 2, 62, 15);
    step!(i, b, c, d, a, 9, 63, 21);

    state[0] = state[0].wrapping_add(a);
    state[1] = state[1].wrapping_add(b);
    state[2] = state[2].wrapping_add(c);
    state[3] = state[3].wrapping_add(d);
}

#[cfg(test)]
mod tests {
    use super::*;

    fn hex(d: [u8; 16]) -> String {
        d.iter().map(|b| format!("{b:02x}")).collect()
    }

    #[test]
    fn rfc_1321_test_suite() {
        // RFC 1321, appendix A.5.
        let suite = [
            ("", "d41d8cd98f00b204e9800998ecf8427e"),
            ("a", "0cc175b9c0f1b6a831c399e269772661"),
            ("abc", "900150983cd24fb0d6963f7d28e17f72"),
            ("message digest", "f96b697d7cb7938d525a2f31aaf161d0"),
            (
                "abcdefghijklmnopqrstuvwxyz",
                "c3fcd3d76192e4007dfb496cca67e13b",
            ),
            (
                "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789",
                "d174ab98d277d9f5a5611c2c9f419d9f",
            ),
            (
                "12345678901234567890123456789012345678901234567890123456789012345678901234567890",
                "57edf4a22be3c955ac49da2e2107b67a",
            ),
        ];
        for (msg, want) in suite {
            let mut h = Md5State::new();
            h.update(msg.as_bytes());
            assert_eq!(hex(h.finish_reset()), want, "{msg:?}");
        }
    }

    #[test]
    fn the_constants_are_the_sines() {
        for (n, k) in K.iter().enumerate() {
            let want = ((n as f64 + 1.0).sin().abs() * 4_294_967_296.0).floor() as u32;
            assert_eq!(*k, want, "K[{n}]");
        }
    }

    #[test]
    fn every_padding_length_agrees_with_md5_crate() {
        use md5::Digest;
        let data: Vec<u8> = (0..300u32).map(|n| (n * 7 + 3) as u8).collect();
        let mut h = Md5State::new();
        for len in 0..=data.len() {
            h.update(&data[..len]);
            let want: [u8; 16] = md5::Md5::digest(&data[..len]).into();
            assert_eq!(h.finish_reset(), want, "length {len}");
        }
    }

    #[test]
    fn byte_at_a_time_equals_one_call() {
        let data: Vec<u8> = (0..1000u32).map(|n| (n ^ (n >> 3)) as u8).collect();
        let mut one = Md5State::new();
        one.update(&data);
        let mut bytes = Md5State::new();
        for b in &data {
            bytes.update(std::slice::from_ref(b));
        }
        bytes.update(&[]);
        assert_eq!(one.finish_reset(), bytes.finish_reset());
    }
}
