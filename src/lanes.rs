//! Byte classes of 16 bytes at once, as bit masks (bit k for byte k).
//!
//! The stages pass over the text looking for the few bytes that may need a
//! fix. Testing 16 bytes with one vector instruction per byte class, then
//! jumping to the first set bit, costs a fraction of an instruction per
//! byte of plain text, where a byte-by-byte loop costs several. On x86_64
//! this is SSE2, which every x86_64 processor has; elsewhere a plain loop
//! gives the same masks.

/// Bytes tested at once.
pub const LANES: usize = 16;

/// 16 bytes of a text, to be tested by class.
#[derive(Clone, Copy)]
pub struct Lanes(imp::Vector);

/// Which of 16 bytes are in a class: combined with `|`, `&` and
/// [`Hits::and_not`] while still in a vector register, then read as a bit
/// mask once ([`Hits::mask`]).
#[derive(Clone, Copy)]
pub struct Hits(imp::Hits);

impl Lanes {
    /// The 16 bytes of `bytes` from `at`.
    ///
    /// # Panics
    /// When fewer than 16 bytes follow `at`.
    #[inline]
    pub fn load(bytes: &[u8], at: usize) -> Self {
        let chunk: &[u8; LANES] = bytes[at..at + LANES].try_into().expect("16 bytes");
        Lanes(imp::load(chunk))
    }

    /// The bytes equal to `b`.
    #[inline]
    pub fn eq(self, b: u8) -> Hits {
        Hits(imp::eq(self.0, b))
    }

    /// The bytes from `lo` to `hi` (both included, unsigned).
    #[inline]
    pub fn in_range(self, lo: u8, hi: u8) -> Hits {
        debug_assert!(lo <= hi);
        Hits(imp::in_range(self.0, lo, hi))
    }
}

impl Hits {
    /// Bit k set for byte k in the class.
    #[inline]
    pub fn mask(self) -> u32 {
        imp::mask(self.0)
    }

    /// The bytes in this class but not in `other`.
    #[inline]
    pub fn and_not(self, other: Hits) -> Hits {
        Hits(imp::and_not(self.0, other.0))
    }
}

impl std::ops::BitOr for Hits {
    type Output = Hits;
    #[inline]
    fn bitor(self, other: Hits) -> Hits {
        Hits(imp::or(self.0, other.0))
    }
}

impl std::ops::BitAnd for Hits {
    type Output = Hits;
    #[inline]
    fn bitand(self, other: Hits) -> Hits {
        Hits(imp::and(self.0, other.0))
    }
}

/// The positions up to `to` where a predicate holds ("stops"), found 16
/// at a time where it can, for a loop that goes from one stop to the next
/// (and may skip some): each 16 positions are tested once.
///
/// `stops16(p)` must give the mask of `stops` for the positions `p` to
/// `p + 15`; it is only called for `p` in `lo..=hi - 16`, so that it may
/// load the bytes it needs around `p` (bits past `to` are ignored).
pub struct Stops<F16, F> {
    to: usize,
    lo: usize,
    hi: usize,
    stops16: F16,
    stops: F,
    /// The last 16 positions tested at once: the first, and their mask.
    chunk: (usize, u32),
}

impl<F16: Fn(usize) -> u32, F: Fn(usize) -> bool> Stops<F16, F> {
    pub fn new(to: usize, (lo, hi): (usize, usize), stops16: F16, stops: F) -> Self {
        Stops {
            to,
            lo,
            hi,
            stops16,
            stops,
            // (No chunk yet: no position is at or after `usize::MAX`.)
            chunk: (usize::MAX, 0),
        }
    }

    /// The first stop from `p` on (`to` when there is none).
    #[inline]
    pub fn from(&mut self, mut p: usize) -> usize {
        let (base, mask) = self.chunk;
        if p >= base && p - base < LANES {
            let rest = mask & (u32::MAX << (p - base));
            if rest != 0 {
                return self.to.min(base + rest.trailing_zeros() as usize);
            }
            p = base + LANES;
        }
        while p < self.to {
            if p >= self.lo && p + LANES <= self.hi {
                let mask = (self.stops16)(p);
                self.chunk = (p, mask);
                if mask != 0 {
                    return self.to.min(p + mask.trailing_zeros() as usize);
                }
                p += LANES;
            } else if (self.stops)(p) {
                return p;
            } else {
                p += 1;
            }
        }
        self.to
    }
}

#[cfg(target_arch = "x86_64")]
mod imp {
    use std::arch::x86_64::{
        __m128i, _mm_and_si128, _mm_andnot_si128, _mm_cmpeq_epi8, _mm_loadu_si128, _mm_min_epu8,
        _mm_movemask_epi8, _mm_or_si128, _mm_set1_epi8, _mm_sub_epi8,
    };

    pub type Vector = __m128i;
    /// 0xFF in the bytes of the class, 0 elsewhere.
    pub type Hits = __m128i;

    // SAFETY (of the `unsafe` blocks below): SSE2 is part of every x86_64
    // target, so its instructions are always there; the compiler still asks
    // for `unsafe` to call them outside a `#[target_feature]` function.

    #[inline]
    pub fn load(chunk: &[u8; 16]) -> Vector {
        // SAFETY: `chunk` is 16 readable bytes, and this load has no
        // alignment requirement (and SSE2, see above).
        unsafe { _mm_loadu_si128(chunk.as_ptr().cast()) }
    }

    #[inline]
    pub fn eq(v: Vector, b: u8) -> Hits {
        unsafe { _mm_cmpeq_epi8(v, _mm_set1_epi8(b as i8)) }
    }

    #[inline]
    pub fn in_range(v: Vector, lo: u8, hi: u8) -> Hits {
        // b - lo (wrapping) is at most hi - lo exactly for the bytes in
        // range: min(d, hi - lo) == d.
        unsafe {
            let d = _mm_sub_epi8(v, _mm_set1_epi8(lo as i8));
            _mm_cmpeq_epi8(_mm_min_epu8(d, _mm_set1_epi8((hi - lo) as i8)), d)
        }
    }

    #[inline]
    pub fn mask(h: Hits) -> u32 {
        unsafe { _mm_movemask_epi8(h) as u32 }
    }

    #[inline]
    pub fn or(a: Hits, b: Hits) -> Hits {
        unsafe { _mm_or_si128(a, b) }
    }

    #[inline]
    pub fn and(a: Hits, b: Hits) -> Hits {
        unsafe { _mm_and_si128(a, b) }
    }

    #[inline]
    pub fn and_not(a: Hits, b: Hits) -> Hits {
        unsafe { _mm_andnot_si128(b, a) }
    }
}

#[cfg(not(target_arch = "x86_64"))]
mod imp {
    pub type Vector = [u8; 16];
    pub type Hits = u32;

    #[inline]
    pub fn load(chunk: &[u8; 16]) -> Vector {
        *chunk
    }

    #[inline]
    fn hits(v: Vector, f: impl Fn(u8) -> bool) -> Hits {
        v.iter()
            .enumerate()
            .fold(0, |m, (k, &b)| m | (u32::from(f(b)) << k))
    }

    #[inline]
    pub fn eq(v: Vector, b: u8) -> Hits {
        hits(v, |x| x == b)
    }

    #[inline]
    pub fn in_range(v: Vector, lo: u8, hi: u8) -> Hits {
        hits(v, |x| (lo..=hi).contains(&x))
    }

    #[inline]
    pub fn mask(h: Hits) -> u32 {
        h
    }

    #[inline]
    pub fn or(a: Hits, b: Hits) -> Hits {
        a | b
    }

    #[inline]
    pub fn and(a: Hits, b: Hits) -> Hits {
        a & b
    }

    #[inline]
    pub fn and_not(a: Hits, b: Hits) -> Hits {
        a & !b
    }
}

/// Strings to test the scans with: `count` strings of `picks` random
/// entries of `alphabet`, one pick in `rare` from all of it and the others
/// from its first `common` entries (the characters a scan passes over, so
/// that long stretches are passed over at once). Deterministic: xorshift
/// from `seed`.
#[cfg(test)]
pub(crate) fn test_strings(
    alphabet: &[&str],
    (common, rare): (u64, u64),
    picks: usize,
    count: usize,
    mut seed: u64,
) -> Vec<String> {
    (0..count)
        .map(|_| {
            let mut text = String::new();
            for _ in 0..picks {
                seed ^= seed << 13;
                seed ^= seed >> 7;
                seed ^= seed << 17;
                let pick = if seed.is_multiple_of(rare) {
                    seed >> 8
                } else {
                    (seed >> 8) % common
                };
                text.push_str(alphabet[(pick % alphabet.len() as u64) as usize]);
            }
            text
        })
        .collect()
}

/// Numbers below `n`, from xorshift started at `seed` (not 0): for tests
/// that draw random cases, deterministically.
#[cfg(test)]
pub(crate) fn test_numbers(mut seed: u64) -> impl FnMut(usize) -> usize {
    move |n| {
        seed ^= seed << 13;
        seed ^= seed >> 7;
        seed ^= seed << 17;
        (seed >> 8) as usize % n
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn masks_match_a_byte_by_byte_test() {
        let bytes: Vec<u8> = (0..=255u8).chain((0..=255u8).rev()).collect();
        let bounds = [
            0u8, 1, 0x1F, 0x20, 0x7E, 0x7F, 0x80, 0xBF, 0xC0, 0xC3, 0xFE, 0xFF,
        ];
        for at in 0..=bytes.len() - LANES {
            let lanes = Lanes::load(&bytes, at);
            let chunk = &bytes[at..at + LANES];
            let mask = |f: &dyn Fn(u8) -> bool| {
                (0..LANES).fold(0u32, |m, k| m | (u32::from(f(chunk[k])) << k))
            };
            for &b in &bounds {
                assert_eq!(lanes.eq(b).mask(), mask(&|x| x == b), "eq {b:#x} at {at}");
                for &hi in bounds.iter().filter(|&&hi| hi >= b) {
                    let want = mask(&|x| (b..=hi).contains(&x));
                    let hits = lanes.in_range(b, hi);
                    assert_eq!(hits.mask(), want, "{b:#x}..={hi:#x} at {at}");
                    let odd = mask(&|x| x % 2 == 1);
                    let odd_hits = (0..128).fold(lanes.eq(1), |h, k| h | lanes.eq(2 * k + 1));
                    assert_eq!(odd_hits.mask(), odd);
                    assert_eq!((hits & odd_hits).mask(), want & odd);
                    assert_eq!(hits.and_not(odd_hits).mask(), want & !odd);
                }
            }
        }
    }
}
