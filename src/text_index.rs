//! Byte offset -> code point offset, line and column, in O(1) amortized
//! space and a short scan per query.

/// Bytes between two checkpoints of the code point count.
const STRIDE: usize = 64;

/// An index over one text answering "which code point, line and column is
/// at this byte offset".
pub struct TextIndex<'a> {
    bytes: &'a [u8],
    /// Code points before each multiple of `STRIDE`.
    checkpoints: Vec<usize>,
    /// Byte offset of the start of each line, found on the first question
    /// about lines (an index of the clean text is only asked for code
    /// points).
    line_starts: std::cell::OnceCell<Vec<usize>>,
}

impl<'a> TextIndex<'a> {
    pub fn new(text: &'a str) -> Self {
        let bytes = text.as_bytes();
        // One per stride, the last one partial, and one for the end.
        let mut checkpoints = Vec::with_capacity(bytes.len().div_ceil(STRIDE) + 1);
        let mut chars = 0;
        for chunk in bytes.chunks(STRIDE) {
            checkpoints.push(chars);
            chars += count_chars(chunk);
        }
        checkpoints.push(chars);
        TextIndex {
            bytes,
            checkpoints,
            line_starts: std::cell::OnceCell::new(),
        }
    }

    fn line_starts(&self) -> &[usize] {
        self.line_starts.get_or_init(|| {
            // (Counted first, a vector pass: the list is allocated once.)
            let bytes = self.bytes;
            let mut starts = Vec::with_capacity(memchr::memchr_iter(b'\n', bytes).count() + 1);
            starts.push(0);
            starts.extend(memchr::memchr_iter(b'\n', bytes).map(|i| i + 1));
            starts
        })
    }

    /// Code points before byte offset `byte` (which need not be a char
    /// boundary: a partial char counts as one).
    pub fn char_at(&self, byte: usize) -> usize {
        let byte = byte.min(self.bytes.len());
        let k = byte / STRIDE;
        self.checkpoints[k] + count_chars(&self.bytes[k * STRIDE..byte])
    }

    /// 1-based line and 1-based column (in code points) of byte `byte`.
    pub fn line_col(&self, byte: usize) -> (usize, usize) {
        let (_, line, column) = self.position(byte);
        (line, column)
    }

    /// The code points before byte `byte` ([`TextIndex::char_at`]), and its
    /// 1-based line and column ([`TextIndex::line_col`]), counted once.
    pub fn position(&self, byte: usize) -> (usize, usize, usize) {
        let line = self.line(byte);
        let start = self.line_starts()[line - 1];
        let chars = self.char_at(byte);
        (chars, line, chars - self.char_at(start) + 1)
    }

    /// The 1-based line of byte `byte`.
    pub fn line(&self, byte: usize) -> usize {
        self.line_starts().partition_point(|&s| s <= byte)
    }

    /// Number of lines (a final line without `\n` counts; an empty text has
    /// none).
    pub fn lines(&self) -> usize {
        if self.bytes.is_empty() {
            0
        } else if self.bytes.ends_with(b"\n") {
            self.line_starts().len() - 1
        } else {
            self.line_starts().len()
        }
    }
}

/// Code points in a UTF-8 byte slice: every byte that is not a continuation
/// byte starts one.
pub fn count_chars(bytes: &[u8]) -> usize {
    if bytes.len() > SHORT {
        return count_bytes(bytes, |b| (b as i8) >= -0x40);
    }
    // Most calls count a few dozen bytes (from a checkpoint, between two
    // changes), where the vector loop's set-up and tail cost more than
    // the count: eight bytes at a time instead, each continuation byte
    // (10xxxxxx) giving a 1 in its lane. (Lanes sum to at most 8 over the
    // 64 bytes; the bytes shifted in are zeros, no continuation.)
    const LOW: u64 = 0x0101_0101_0101_0101;
    let continuation = |w: u64| (w >> 7) & !(w >> 6) & LOW;
    let mut lanes = 0u64;
    let mut words = bytes.chunks_exact(8);
    for word in &mut words {
        lanes += continuation(u64::from_le_bytes(word.try_into().unwrap_or_default()));
    }
    let rest = words.remainder().len();
    if rest > 0 && bytes.len() >= 8 {
        // The last eight bytes, less those counted already (the low ones).
        let last = u64::from_le_bytes(bytes[bytes.len() - 8..].try_into().unwrap_or_default());
        lanes += continuation(last >> (8 * (8 - rest)));
    } else {
        for &b in words.remainder() {
            lanes += u64::from(b & 0xC0 == 0x80);
        }
    }
    // The lanes' sum, in the top byte.
    bytes.len() - (lanes.wrapping_mul(LOW) >> 56) as usize
}

/// Up to this many bytes, [`count_chars`] counts eight at a time.
const SHORT: usize = 64;

/// The bytes of `bytes` that pass `ok`, counted in byte-wide lanes 255
/// bytes at a time (a byte counter cannot overflow there): with a test
/// written without branches, the compiler turns this into vector code.
pub fn count_bytes(bytes: &[u8], ok: impl Fn(u8) -> bool) -> usize {
    bytes
        .chunks(255)
        .map(|chunk| chunk.iter().fold(0u8, |n, &b| n + u8::from(ok(b))) as usize)
        .sum()
}

/// The length of the run of whole 16-byte chunks at the start of `bytes`
/// whose bytes all pass `ok`: a test written without branches over a
/// chunk compiles to vector code, so long runs are passed over quickly.
pub fn ok_chunks_len(bytes: &[u8], ok: impl Fn(u8) -> bool) -> usize {
    bytes
        .chunks_exact(16)
        .take_while(|chunk| chunk.iter().fold(true, |all, &b| all & ok(b)))
        .count()
        * 16
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn counts_code_points_and_lines() {
        let text = "é\nab\n€x";
        let idx = TextIndex::new(text);
        assert_eq!(idx.char_at(0), 0);
        assert_eq!(idx.char_at(2), 1); // after é
        assert_eq!(idx.line_col(3), (2, 1)); // 'a'
        assert_eq!(idx.line_col(4), (2, 2)); // 'b'
        assert_eq!(idx.line_col(9), (3, 2)); // 'x' after €
        assert_eq!(idx.char_at(text.len()), 7);
        assert_eq!(idx.lines(), 3);
    }

    #[test]
    fn short_and_long_counts_are_those_of_a_byte_by_byte_count() {
        // Every length around the short bound, from every start, cut
        // anywhere (a partial character counts as one).
        let text = "aé€😀 \u{80}\u{7ff}\u{800}\u{ffff}\u{10000}".repeat(12);
        let bytes = text.as_bytes();
        for start in 0..16 {
            for end in start..bytes.len().min(start + 3 * SHORT) {
                let slice = &bytes[start..end];
                let want = slice.iter().filter(|&&b| b & 0xC0 != 0x80).count();
                assert_eq!(count_chars(slice), want, "{start}..{end}");
            }
        }
        assert_eq!(count_chars(&[0xBF; SHORT]), 0);
        assert_eq!(count_chars(&[0xFF; SHORT]), SHORT);
    }

    #[test]
    fn counts_code_points_across_chunks() {
        let text = "aé€😀 ".repeat(300);
        for end in (0..=text.len()).filter(|&e| text.is_char_boundary(e)) {
            assert_eq!(
                count_chars(&text.as_bytes()[..end]),
                text[..end].chars().count()
            );
        }
    }

    #[test]
    fn ok_chunks_stop_at_the_chunk_of_the_first_other_byte() {
        let ascii = |b: u8| b < 0x80;
        for n in 0..50 {
            let text = format!("{}é{}", "a".repeat(n), "b".repeat(40));
            assert_eq!(ok_chunks_len(text.as_bytes(), ascii), n / 16 * 16);
        }
        assert_eq!(ok_chunks_len(&[b'a'; 40], ascii), 32);
    }

    #[test]
    fn long_text_uses_checkpoints() {
        let text = "aé".repeat(1000);
        let idx = TextIndex::new(&text);
        for (chars, (byte, _)) in text.char_indices().enumerate() {
            assert_eq!(idx.char_at(byte), chars);
        }
        assert_eq!(idx.char_at(text.len()), 2000);
    }
    #[test]
    fn code_points_lines_and_columns_are_those_counted_from_the_start() {
        // Texts of every length around the 64-byte strides, with line ends
        // and characters of one to four bytes anywhere.
        let alphabet = ["a", " ", "\n", "é", "€", "😀", "\r\n", "«"];
        for text in crate::lanes::test_strings(&alphabet, (8, 1), 90, 60, 7) {
            for len in (0..=text.len()).filter(|&n| text.is_char_boundary(n)) {
                let text = &text[..len];
                let idx = TextIndex::new(text);
                let (mut line, mut column) = (1, 1);
                for (chars, (byte, c)) in text.char_indices().enumerate() {
                    assert_eq!(idx.char_at(byte), chars, "{text:?} at {byte}");
                    assert_eq!(idx.line_col(byte), (line, column), "{text:?} at {byte}");
                    assert_eq!(
                        idx.position(byte),
                        (chars, line, column),
                        "{text:?} at {byte}"
                    );
                    assert_eq!(idx.line(byte), line, "{text:?} at {byte}");
                    (line, column) = if c == '\n' {
                        (line + 1, 1)
                    } else {
                        (line, column + 1)
                    };
                }
                assert_eq!(idx.char_at(len), text.chars().count());
                assert_eq!(idx.lines(), text.lines().count(), "{text:?}");
            }
        }
    }
}
