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
    pub fn eq(self, b: u8) -> u32 {
        imp::eq(self.0, b)
    }

    /// The bytes from `lo` to `hi` (both included, unsigned).
    #[inline]
    pub fn in_range(self, lo: u8, hi: u8) -> u32 {
        debug_assert!(lo <= hi);
        imp::in_range(self.0, lo, hi)
    }
}

/// The first position from `from` to `to` where `stops` holds (`to` when
/// there is none), 16 positions at a time where it can: `stops16(p)` must
/// give the mask of `stops` for the positions `p` to `p + 15`, and is only
/// called for `p` in `lo..=hi - 16`, so that it may load the bytes it needs
/// around `p` (positions past `to` in its mask are ignored).
#[inline]
pub fn first_stop(
    (from, to): (usize, usize),
    (lo, hi): (usize, usize),
    stops16: impl Fn(usize) -> u32,
    stops: impl Fn(usize) -> bool,
) -> usize {
    let mut p = from;
    while p < to {
        if p >= lo && p + LANES <= hi {
            let mask = stops16(p);
            if mask != 0 {
                return to.min(p + mask.trailing_zeros() as usize);
            }
            p += LANES;
        } else if stops(p) {
            return p;
        } else {
            p += 1;
        }
    }
    to
}

#[cfg(target_arch = "x86_64")]
mod imp {
    use std::arch::x86_64::{
        __m128i, _mm_cmpeq_epi8, _mm_loadu_si128, _mm_min_epu8, _mm_movemask_epi8, _mm_set1_epi8,
        _mm_sub_epi8,
    };

    pub type Vector = __m128i;

    // SAFETY (of the `unsafe` blocks below): SSE2 is part of every x86_64
    // target, so its instructions are always there; the compiler still asks
    // for `unsafe` to call them outside a `#[target_feature]` function.

    #[inline]
    pub fn load(chunk: &[u8; 16]) -> Vector {
        // SAFETY: `chunk` is 16 readable bytes, and this load has no
        // alignment requirement (and SSE2, see below).
        unsafe { _mm_loadu_si128(chunk.as_ptr().cast()) }
    }

    #[inline]
    pub fn eq(v: Vector, b: u8) -> u32 {
        unsafe { _mm_movemask_epi8(_mm_cmpeq_epi8(v, _mm_set1_epi8(b as i8))) as u32 }
    }

    #[inline]
    pub fn in_range(v: Vector, lo: u8, hi: u8) -> u32 {
        // b - lo (wrapping) is at most hi - lo exactly for the bytes in
        // range: min(d, hi - lo) == d.
        unsafe {
            let d = _mm_sub_epi8(v, _mm_set1_epi8(lo as i8));
            let m = _mm_cmpeq_epi8(_mm_min_epu8(d, _mm_set1_epi8((hi - lo) as i8)), d);
            _mm_movemask_epi8(m) as u32
        }
    }
}

#[cfg(not(target_arch = "x86_64"))]
mod imp {
    pub type Vector = [u8; 16];

    #[inline]
    pub fn load(chunk: &[u8; 16]) -> Vector {
        *chunk
    }

    #[inline]
    fn mask(v: Vector, f: impl Fn(u8) -> bool) -> u32 {
        v.iter()
            .enumerate()
            .fold(0, |m, (k, &b)| m | (u32::from(f(b)) << k))
    }

    #[inline]
    pub fn eq(v: Vector, b: u8) -> u32 {
        mask(v, |x| x == b)
    }

    #[inline]
    pub fn in_range(v: Vector, lo: u8, hi: u8) -> u32 {
        mask(v, |x| (lo..=hi).contains(&x))
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
                assert_eq!(lanes.eq(b), mask(&|x| x == b), "eq {b:#x} at {at}");
                for &hi in bounds.iter().filter(|&&hi| hi >= b) {
                    let want = mask(&|x| (b..=hi).contains(&x));
                    assert_eq!(lanes.in_range(b, hi), want, "{b:#x}..={hi:#x} at {at}");
                }
            }
        }
    }
}
