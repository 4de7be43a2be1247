//! Writes the largest parts of an output record, its text, blocks, entities
//! and edit log, as JSON without serde: byte for byte what `serde_json`
//! writes, but strings are checked 16 bytes at a time and keys are written
//! as they are. (An edit log has about ten strings per edit, and records
//! are about four times the size of their text.)

use crate::document::{Block, BlockKind, Edit, EditKind, Entity};
use crate::text_index::ok_chunks_len;

/// Appends `s` as a JSON string, escaped as `serde_json` escapes it:
/// `"`, `\` and the control characters below U+0020; nothing else.
pub fn write_str(out: &mut Vec<u8>, s: &str) {
    out.reserve(s.len() + 2);
    out.push(b'"');
    let bytes = s.as_bytes();
    let mut start = 0; // of the bytes not yet written
    while let Some(i) = next_escape(bytes, start) {
        out.extend_from_slice(&bytes[start..i]);
        escape(out, bytes[i]);
        start = i + 1;
    }
    out.extend_from_slice(&bytes[start..]);
    out.push(b'"');
}

/// The first byte from `from` on that needs escaping. Sixteen bytes at a
/// time while none does, then eight (the last eight of `bytes` for what is
/// left, so that short strings, most of an edit log, take a word or two
/// rather than a test per byte).
fn next_escape(bytes: &[u8], from: usize) -> Option<usize> {
    let mut i = from + ok_chunks_len(&bytes[from..], |b| !needs_escape(b));
    let word = |at: usize| u64::from_le_bytes(bytes[at..at + 8].try_into().expect("8 bytes"));
    while i + 8 <= bytes.len() {
        let mask = escape_mask(word(i));
        if mask != 0 {
            return Some(i + mask.trailing_zeros() as usize / 8);
        }
        i += 8;
    }
    if i == bytes.len() {
        None
    } else if bytes.len() >= 8 {
        // The last eight bytes, less those before `i` (already seen).
        let last = bytes.len() - 8;
        let mask = escape_mask(word(last)) & (u64::MAX << (8 * (i - last)));
        (mask != 0).then(|| last + mask.trailing_zeros() as usize / 8)
    } else {
        bytes[i..]
            .iter()
            .position(|&b| needs_escape(b))
            .map(|k| i + k)
    }
}

fn needs_escape(b: u8) -> bool {
    (b < 0x20) | (b == b'"') | (b == b'\\')
}

/// Bit 7 set in each byte of `word` that needs escaping, other bits clear.
/// Each test works on a byte's low seven bits, so that no carry crosses
/// into the next byte: exact for every byte.
fn escape_mask(word: u64) -> u64 {
    const ONES: u64 = 0x0101_0101_0101_0101;
    const LOW7: u64 = 0x7F * ONES;
    let zero = |x: u64| !(((x & LOW7) + LOW7) | x | LOW7);
    let below_space = !((word & LOW7) + (0x80 - 0x20) * ONES) & !word & !LOW7;
    below_space | zero(word ^ (u64::from(b'"') * ONES)) | zero(word ^ (u64::from(b'\\') * ONES))
}

fn escape(out: &mut Vec<u8>, b: u8) {
    const HEX: &[u8; 16] = b"0123456789abcdef";
    match b {
        b'"' => out.extend_from_slice(b"\\\""),
        b'\\' => out.extend_from_slice(b"\\\\"),
        b'\n' => out.extend_from_slice(b"\\n"),
        b'\r' => out.extend_from_slice(b"\\r"),
        b'\t' => out.extend_from_slice(b"\\t"),
        0x08 => out.extend_from_slice(b"\\b"),
        0x0C => out.extend_from_slice(b"\\f"),
        _ => out.extend_from_slice(&[
            b'\\',
            b'u',
            b'0',
            b'0',
            HEX[usize::from(b >> 4)],
            HEX[usize::from(b & 0xF)],
        ]),
    }
}

fn write_usize(out: &mut Vec<u8>, n: usize) {
    out.extend_from_slice(itoa::Buffer::new().format(n).as_bytes());
}

/// Appends `items` as a JSON array, each written by `write`.
fn write_array<T>(out: &mut Vec<u8>, items: &[T], mut write: impl FnMut(&mut Vec<u8>, &T)) {
    out.push(b'[');
    for (i, item) in items.iter().enumerate() {
        if i > 0 {
            out.push(b',');
        }
        write(out, item);
    }
    out.push(b']');
}

/// Appends `edits` as a JSON array, as `serde_json` writes `Vec<Edit>`.
pub fn write_edits(out: &mut Vec<u8>, edits: &[Edit]) {
    write_array(out, edits, |out, e| {
        out.extend_from_slice(b"{\"stage\":");
        write_str(out, &e.stage);
        out.extend_from_slice(b",\"rule\":");
        write_str(out, &e.rule);
        out.extend_from_slice(match e.kind {
            EditKind::Remove => b",\"kind\":\"remove\"",
            EditKind::Replace => b",\"kind\":\"replace\"",
            EditKind::Insert => b",\"kind\":\"insert\"",
            EditKind::Move => b",\"kind\":\"move\"",
        });
        if let Some(category) = &e.category {
            out.extend_from_slice(b",\"category\":");
            write_str(out, category);
        }
        if let Some(to) = &e.to {
            out.extend_from_slice(b",\"to\":");
            write_str(out, to);
        }
        for (key, n) in [
            (&b",\"start\":"[..], e.start),
            (b",\"end\":", e.end),
            (b",\"line\":", e.line),
            (b",\"column\":", e.column),
            (b",\"at\":", e.at),
        ] {
            out.extend_from_slice(key);
            write_usize(out, n);
        }
        out.extend_from_slice(b",\"original\":");
        write_str(out, &e.original);
        out.extend_from_slice(b",\"new\":");
        write_str(out, &e.new);
        out.push(b'}');
    });
}

/// Appends `blocks` as `serde_json` writes `Vec<Block>`.
pub fn write_blocks(out: &mut Vec<u8>, blocks: &[Block]) {
    write_array(out, blocks, |out, b| {
        out.extend_from_slice(match b.kind {
            BlockKind::Title => b"{\"kind\":\"title\",\"start\":",
            BlockKind::Dek => b"{\"kind\":\"dek\",\"start\":",
            BlockKind::Heading => b"{\"kind\":\"heading\",\"start\":",
            BlockKind::Paragraph => b"{\"kind\":\"paragraph\",\"start\":",
        });
        write_usize(out, b.start);
        out.extend_from_slice(b",\"end\":");
        write_usize(out, b.end);
        out.push(b'}');
    });
}

/// Appends `entities` as `serde_json` writes `Vec<Entity>`.
pub fn write_entities(out: &mut Vec<u8>, entities: &[Entity]) {
    write_array(out, entities, |out, e| {
        out.extend_from_slice(b"{\"start\":");
        write_usize(out, e.start);
        out.extend_from_slice(b",\"end\":");
        write_usize(out, e.end);
        out.extend_from_slice(b",\"canonical\":");
        write_str(out, &e.canonical);
        out.extend_from_slice(b",\"surface\":");
        write_str(out, &e.surface);
        out.extend_from_slice(b",\"type\":");
        write_str(out, &e.kind);
        out.extend_from_slice(if e.normalized {
            b",\"normalized\":true}"
        } else {
            b",\"normalized\":false}"
        });
    });
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;
    use std::sync::Arc;

    fn serde(value: &impl serde::Serialize) -> String {
        serde_json::to_string(value).unwrap()
    }

    fn ours(f: impl FnOnce(&mut Vec<u8>)) -> String {
        let mut out = Vec::new();
        f(&mut out);
        String::from_utf8(out).unwrap()
    }

    #[test]
    fn the_escape_mask_is_the_byte_test() {
        // Every byte in every place of a word, beside bytes on both sides
        // of each class's bounds (where a carry would show).
        for b in 0..=255u8 {
            for k in 0..8 {
                for filler in [0x00, 0x1F, 0x20, 0x21, 0x22, 0x5C, 0x7F, 0x80, 0xFF] {
                    let mut bytes = [filler; 8];
                    bytes[k] = b;
                    let want = (0..8)
                        .filter(|&j| needs_escape(bytes[j]))
                        .fold(0u64, |m, j| m | 0x80 << (8 * j));
                    assert_eq!(escape_mask(u64::from_le_bytes(bytes)), want, "{bytes:?}");
                }
            }
        }
    }

    #[test]
    fn the_next_escape_is_the_first_from_there() {
        // Strings of every length up to 40 with bytes to escape here and
        // there, searched from every position.
        let mut next = crate::lanes::test_numbers(5);
        for len in 0..40 {
            for _ in 0..20 {
                let bytes: Vec<u8> = (0..len)
                    .map(|_| {
                        [b'a', b'a', b'a', b'a', b'\n', b'"', b'\\', 0x1F, b' ', 0xC3][next(10)]
                    })
                    .collect();
                for from in 0..=len {
                    let want = bytes[from..]
                        .iter()
                        .position(|&b| needs_escape(b))
                        .map(|k| from + k);
                    assert_eq!(next_escape(&bytes, from), want, "{bytes:?} from {from}");
                }
            }
        }
    }

    #[test]
    fn every_character_below_u0100_is_escaped_as_serde_json_does() {
        let all: String = ('\0'..='\u{FF}').collect();
        for s in [
            all.clone(),
            all.repeat(3),
            format!("{}{all}", "x".repeat(15)),
        ] {
            assert_eq!(ours(|o| write_str(o, &s)), serde(&s));
        }
    }

    fn edit(strings: [String; 6], numbers: [usize; 5], kind: u8) -> Edit {
        let [stage, rule, category, to, original, new] = strings;
        Edit {
            stage: Arc::from(stage),
            rule: Arc::from(rule),
            kind: [
                EditKind::Remove,
                EditKind::Replace,
                EditKind::Insert,
                EditKind::Move,
            ][usize::from(kind % 4)],
            category: (!category.is_empty()).then(|| Arc::from(category)),
            to: (!to.is_empty()).then(|| Arc::from(to)),
            start: numbers[0],
            end: numbers[1],
            line: numbers[2],
            column: numbers[3],
            at: numbers[4],
            original: original.into(),
            new: new.into(),
        }
    }

    proptest! {
        #[test]
        fn strings_are_written_as_serde_json_writes_them(s in ".*", t in "[\"\\\\\u{0}-\u{1F}a-zé€ ]{0,80}") {
            prop_assert_eq!(ours(|o| write_str(o, &s)), serde(&s));
            prop_assert_eq!(ours(|o| write_str(o, &t)), serde(&t));
        }

        #[test]
        fn blocks_and_entities_are_written_as_serde_json_writes_them(
            blocks in proptest::collection::vec((any::<u8>(), any::<usize>(), any::<usize>()), 0..6),
            entities in proptest::collection::vec(
                (any::<[usize; 2]>(), any::<[String; 3]>(), any::<bool>()),
                0..6,
            ),
        ) {
            let kinds = [BlockKind::Title, BlockKind::Dek, BlockKind::Heading, BlockKind::Paragraph];
            let blocks: Vec<Block> = blocks
                .into_iter()
                .map(|(kind, start, end)| Block { kind: kinds[usize::from(kind % 4)], start, end })
                .collect();
            prop_assert_eq!(ours(|o| write_blocks(o, &blocks)), serde(&blocks));
            let entities: Vec<Entity> = entities
                .into_iter()
                .map(|([start, end], [canonical, surface, kind], normalized)| Entity {
                    start,
                    end,
                    canonical: Arc::from(canonical),
                    surface: surface.into(),
                    kind: Arc::from(kind),
                    normalized,
                })
                .collect();
            prop_assert_eq!(ours(|o| write_entities(o, &entities)), serde(&entities));
        }

        #[test]
        fn edit_logs_are_written_as_serde_json_writes_them(
            edits in proptest::collection::vec(
                (any::<[String; 6]>(), any::<[usize; 5]>(), any::<u8>()),
                0..6,
            )
        ) {
            let edits: Vec<Edit> = edits
                .into_iter()
                .map(|(strings, numbers, kind)| edit(strings, numbers, kind))
                .collect();
            prop_assert_eq!(ours(|o| write_edits(o, &edits)), serde(&edits));
        }
    }
}
