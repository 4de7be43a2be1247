//! The annotated document lavoir produces: clean text, the edit log that
//! rebuilds the input, metadata, blocks and entities.
//!
//! All offsets are Unicode code points (as Python, spaCy and dolma count).
//! The JSON form is documented in `docs/format.md`.

use crate::letters::is_alphabetic;
use std::hash::Hasher;
use std::sync::Arc;

use compact_str::CompactString;
use serde::{Deserialize, Serialize};

use crate::dates;
use crate::stages::dedup::{ASCII_KEY, Fnv, key_chars};

/// Version of the JSON document format; bumped on incompatible changes.
pub const FORMAT_VERSION: u32 = 1;

/// What an edit did.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum EditKind {
    /// Text deleted.
    Remove,
    /// Text replaced by other text.
    Replace,
    /// Text added where there was none.
    Insert,
    /// Text taken out of the body and kept in the metadata (see `to`).
    Move,
}

/// One change made by one stage. Applying the log backwards (last edit
/// first, replacing `new` at `at` by `original`) rebuilds the decoded input
/// exactly.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Edit {
    /// The stage that made the edit (`unicode`, `boilerplate`, …).
    pub stage: Arc<str>,
    /// The stable id of the rule that fired.
    pub rule: Arc<str>,
    pub kind: EditKind,
    /// What the removed text was, for junk (`seo-prompt`, `caption`, …).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub category: Option<Arc<str>>,
    /// For moves: the metadata field that received the text.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub to: Option<Arc<str>>,
    /// Start of the smallest span of the decoded input that holds the edit.
    pub start: usize,
    /// End (exclusive) of that span.
    pub end: usize,
    /// 1-based line of `start` in the decoded input.
    pub line: usize,
    /// 1-based column of `start` in that line, in code points.
    pub column: usize,
    /// Where the edit was applied, in the text as it was at that moment.
    pub at: usize,
    /// The text the stage saw. (Most edits are a few characters: a
    /// string of up to 24 bytes is kept inline, without an allocation.)
    pub original: CompactString,
    /// The text the stage wrote instead.
    pub new: CompactString,
}

/// What a block of the clean text is.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum BlockKind {
    Title,
    Dek,
    Heading,
    Paragraph,
}

/// A block of the clean text (one line of it).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Block {
    pub kind: BlockKind,
    pub start: usize,
    pub end: usize,
}

/// A mention of a known entity in the clean text.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Entity {
    pub start: usize,
    pub end: usize,
    /// The spelling the lexicon prescribes (as written in the clean text).
    pub canonical: Arc<str>,
    /// The spelling found in the input.
    pub surface: CompactString,
    /// `person`, `place`, `organization`.
    #[serde(rename = "type")]
    pub kind: Arc<str>,
    /// True when the surface was respelled.
    pub normalized: bool,
}

/// A piece of text that left the body, as listed in `meta.removed`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Removed {
    /// 1-based line in the decoded input.
    pub line: usize,
    /// What it was (`seo-prompt`, `caption`, `duplicate-paragraph`, …).
    pub kind: Arc<str>,
    pub text: String,
    pub rule: Arc<str>,
}

/// What the annotations say about the article.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Meta {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub title: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub dek: Option<String>,
    #[serde(default)]
    pub headings: Vec<String>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub captions: Vec<String>,
    /// Publication date, ISO 8601 (`2024-01-22`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub date: Option<String>,
    /// Publication time, ISO 8601 (`09:32`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub time: Option<String>,
    /// Update time, date or date-time, ISO 8601 (`20:18`,
    /// `2024-04-15T10:05`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub updated: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub author: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub agency: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub source: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub credit: Option<String>,
    /// Every piece of junk or metadata taken out of the body.
    #[serde(default)]
    pub removed: Vec<Removed>,
}

impl Meta {
    /// Stores a value found in the text under `field`, normalized: dates
    /// and times to ISO 8601, enclosing parentheses dropped, captions with
    /// typographic apostrophes. List fields keep one copy of each value
    /// (captions: of each caption, however it was reworded); single fields
    /// keep the first value. Returns false when the field is unknown or the
    /// value is not one (an unreadable date).
    pub fn store(&mut self, field: &str, value: &str) -> bool {
        let value = unwrap_parens(value.trim());
        if value.is_empty() {
            return false;
        }
        let first = |slot: &mut Option<String>, v: String| {
            if slot.is_none() {
                *slot = Some(v);
            }
            true
        };
        match field {
            "date" => {
                let Some(date) = dates::parse_date(value) else {
                    return false;
                };
                if let Some(time) = dates::parse_time_after_date(value) {
                    first(&mut self.time, time.to_string());
                }
                first(&mut self.date, date.to_string())
            }
            "time" => match dates::parse_time(value) {
                Some(t) => first(&mut self.time, t.to_string()),
                None => false,
            },
            "updated" => {
                let date = dates::parse_date(value);
                let time = if date.is_some() {
                    dates::parse_time_after_date(value)
                } else {
                    dates::parse_time(value)
                };
                let iso = match (date, time) {
                    (Some(d), Some(t)) => format!("{d}T{t}"),
                    (Some(d), None) => d.to_string(),
                    (None, Some(t)) => t.to_string(),
                    (None, None) => return false,
                };
                first(&mut self.updated, iso)
            }
            "captions" => {
                let caption = tidy(value);
                let words = caption_words(&caption);
                if !self
                    .captions
                    .iter()
                    .any(|c| same_caption(&caption_words(c), &words))
                {
                    self.captions.push(caption);
                }
                true
            }
            "headings" => {
                if !self.headings.iter().any(|h| h == value) {
                    self.headings.push(value.to_string());
                }
                true
            }
            "title" => first(&mut self.title, value.to_string()),
            "dek" => first(&mut self.dek, value.to_string()),
            "author" => first(&mut self.author, value.to_string()),
            "agency" => first(&mut self.agency, value.to_string()),
            "source" => first(&mut self.source, value.to_string()),
            "credit" => first(&mut self.credit, value.to_string()),
            _ => false,
        }
    }

    /// The metadata fields text may be moved to.
    pub const FIELDS: &'static [&'static str] = &[
        "title", "dek", "headings", "captions", "date", "time", "updated", "author", "agency",
        "source", "credit",
    ];
}

/// "(Le Figaro/Nova)" → "Le Figaro/Nova".
fn unwrap_parens(s: &str) -> &str {
    s.strip_prefix('(')
        .and_then(|s| s.strip_suffix(')'))
        .filter(|inner| !inner.contains(['(', ')']))
        .map(str::trim)
        .unwrap_or(s)
}

/// One space between words, and typographic apostrophes (an ASCII one
/// between two letters).
fn tidy(s: &str) -> String {
    let mut joined = String::with_capacity(s.len());
    for word in s.split_whitespace() {
        if !joined.is_empty() {
            joined.push(' ');
        }
        joined.push_str(word);
    }
    if !joined.contains('\'') {
        return joined;
    }
    let mut out = String::with_capacity(joined.len() + 8);
    let mut prev: Option<char> = None;
    let mut chars = joined.chars().peekable();
    while let Some(c) = chars.next() {
        let letters =
            prev.is_some_and(is_alphabetic) && chars.peek().is_some_and(|n| is_alphabetic(*n));
        out.push(if c == '\'' && letters { '’' } else { c });
        prev = Some(c);
    }
    out
}

/// The words of a caption, lower-cased, each once: hashed (dedup's FNV-1a
/// of the lower-cased word) and sorted, so that two captions are compared
/// without building a string per word.
fn caption_words(s: &str) -> Vec<u64> {
    let mut words: Vec<u64> = Vec::with_capacity(s.len() / 4);
    let mut word: Option<Fnv> = None;
    let mut buf = [0u8; 4];
    let bytes = s.as_bytes();
    let mut i = 0;
    while i < bytes.len() {
        // What dedup's key keeps of each character, looked up in its
        // tables for ASCII and Latin-1 (most of a caption).
        let kept = if bytes[i] < 0x80 {
            let k = ASCII_KEY[usize::from(bytes[i])];
            i += 1;
            if k != 0 {
                word.get_or_insert_default().write_u8(k);
                continue;
            }
            false
        } else {
            let c = s[i..].chars().next().expect("char boundary");
            i += c.len_utf8();
            key_chars(c, |lower| {
                word.get_or_insert_default()
                    .write(lower.encode_utf8(&mut buf).as_bytes());
            })
        };
        if !kept && let Some(h) = word.take() {
            words.push(h.finish());
        }
    }
    words.extend(word.map(|h| h.finish()));
    words.sort_unstable();
    words.dedup();
    words
}

/// Two captions of the same picture (given by [`caption_words`]): most of
/// their words are the same (pages repeat captions with small rewordings).
fn same_caption(a: &[u64], b: &[u64]) -> bool {
    let (mut i, mut j, mut common) = (0, 0, 0);
    while i < a.len() && j < b.len() {
        match a[i].cmp(&b[j]) {
            std::cmp::Ordering::Less => i += 1,
            std::cmp::Ordering::Greater => j += 1,
            std::cmp::Ordering::Equal => {
                common += 1;
                i += 1;
                j += 1;
            }
        }
    }
    let union = a.len() + b.len() - common;
    union > 0 && common * 10 >= union * 7
}

/// A byte sequence the decoder could not map to text as it stood, and what
/// it put in its place. With these, the exact input bytes can be rebuilt.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ByteRepair {
    /// Offset of the bytes in the input file.
    pub byte: u64,
    /// The bytes, in hexadecimal.
    pub bytes: String,
    /// Where the replacement starts in the decoded input (code points).
    pub at: usize,
    /// What the decoder wrote instead (U+FFFD, or the bytes read as
    /// Windows-1252 when that is plausible).
    pub text: String,
}

/// How the input was read.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct InputInfo {
    /// WHATWG name of the encoding (`UTF-8`, `windows-1252`, `UTF-16LE`…).
    pub encoding: String,
    /// How the encoding was chosen: `bom`, `utf-8`, `detected`, `config`,
    /// `text` (the input was already text).
    pub encoding_source: String,
    /// The input started with a byte order mark (not part of the text).
    pub bom: bool,
    /// Size of the input in bytes.
    pub bytes: u64,
    /// Size of the decoded input in code points.
    pub chars: usize,
    /// Invalid byte sequences and how they were repaired.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub repairs: Vec<ByteRepair>,
}

/// The output of the pipeline for one document.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct CleanDocument {
    /// Format version, see [`FORMAT_VERSION`].
    pub version: u32,
    /// The document's name: its path relative to the input folder, or the
    /// `id` of a JSONL record.
    pub id: String,
    /// The clean text.
    pub text: String,
    pub input: InputInfo,
    pub meta: Meta,
    #[serde(default)]
    pub blocks: Vec<Block>,
    #[serde(default)]
    pub entities: Vec<Entity>,
    /// Every change, in the order it was made.
    pub edits: Vec<Edit>,
    /// Warnings about the input (empty document, repaired bytes…).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub notices: Vec<String>,
}

impl CleanDocument {
    /// Rebuilds the decoded input from the clean text and the edit log,
    /// and checks it has the length the input had.
    pub fn restore(&self) -> Result<String, crate::edits::RestoreError> {
        let restored = crate::edits::restore(&self.text, &self.edits)?;
        let chars = restored.chars().count();
        if chars != self.input.chars {
            return Err(crate::edits::RestoreError {
                index: self.edits.len(),
                stage: "input".into(),
                rule: "length".into(),
                at: chars,
                expected: format!("{} characters, as input.chars says", self.input.chars),
            });
        }
        Ok(restored)
    }

    /// Number of edits made by each stage, in pipeline order.
    pub fn edits_per_stage(&self) -> Vec<(Arc<str>, usize)> {
        let mut counts: Vec<(Arc<str>, usize)> = Vec::with_capacity(16);
        for e in &self.edits {
            // (Edits come in runs of one stage: the last count first.)
            let same = |(s, _): &&mut (Arc<str>, usize)| Arc::ptr_eq(s, &e.stage);
            match counts.last_mut().filter(same) {
                Some((_, n)) => *n += 1,
                None => match counts.iter_mut().find(|(s, _)| *s == e.stage) {
                    Some((_, n)) => *n += 1,
                    None => counts.push((e.stage.clone(), 1)),
                },
            }
        }
        counts
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_caption_reworded_is_kept_once() {
        let mut meta = Meta::default();
        let first =
            "Des manifestants à Bagdad devant l’ambassade, le 31 décembre (crédit photo : REUTERS)";
        assert!(meta.store("captions", first));
        // Case, accents written in capitals and a few words differ: the
        // same picture (at least 70% of the words in common).
        assert!(meta.store(
            "captions",
            "DES MANIFESTANTS À BAGDAD devant l’ambassade le 31 DÉCEMBRE (photo : Reuters)"
        ));
        assert!(meta.store(
            "captions",
            "Le porte-avions Abraham Lincoln dans le golfe (Photo AFP)"
        ));
        assert_eq!(meta.captions.len(), 2, "{:?}", meta.captions);
        assert_eq!(meta.captions[0], first);
        // Half the words in common: another picture.
        assert!(meta.store(
            "captions",
            "Des manifestants à Téhéran brûlent un drapeau (AFP)"
        ));
        assert_eq!(meta.captions.len(), 3);
    }

    #[test]
    fn tidy_joins_words_with_one_space_and_turns_apostrophes_between_letters() {
        // The definition, one step after the other.
        let reference = |s: &str| -> String {
            let joined = s.split_whitespace().collect::<Vec<_>>().join(" ");
            let chars: Vec<char> = joined.chars().collect();
            (0..chars.len())
                .map(|i| {
                    let letters = i > 0
                        && chars[i - 1].is_alphabetic()
                        && chars.get(i + 1).is_some_and(|n| n.is_alphabetic());
                    if chars[i] == '\'' && letters {
                        '’'
                    } else {
                        chars[i]
                    }
                })
                .collect()
        };
        let cases = [
            "",
            "  ",
            "l'Iran  d'Irak\u{a0} ' x' 'y a'b",
            "'a' l'État\tl'été 3'4 é'\u{301}e",
            "Photo : AFP  (Qaani)  ",
            "''' a''b a'' b",
        ];
        for case in cases {
            assert_eq!(tidy(case), reference(case), "{case:?}");
        }
        assert_eq!(tidy(" l'Iran\n  d'ici "), "l’Iran d’ici");
    }

    #[test]
    fn caption_words_are_lower_cased_and_counted_once() {
        assert_eq!(
            caption_words("État état ÉTAT, 2024"),
            caption_words("2024 état")
        );
        assert_eq!(caption_words("État état ÉTAT, 2024").len(), 2);
        // The words are those of a split on what is not a letter or digit,
        // each hashed lower-cased.
        let reference = |caption: &str| {
            let hash = |w: &str| {
                let mut h = Fnv::default();
                let lower: String = w.chars().flat_map(char::to_lowercase).collect();
                h.write(lower.as_bytes());
                h.finish()
            };
            let mut words: Vec<u64> = caption
                .split(|c: char| !c.is_alphanumeric())
                .filter(|w| !w.is_empty())
                .map(hash)
                .collect();
            words.sort_unstable();
            words.dedup();
            words
        };
        let caption =
            "Des manifestants à Bagdad (Irak), le 3 janvier 2020. © AFP/Ahmad Al-Rubaye ΣΑΣ";
        assert_eq!(caption_words(caption), reference(caption));
        // Random captions from letters of several scripts, digits,
        // punctuation and the signs between Latin-1 letters (× ÷).
        let alphabet = [
            "a", "Z", "7", " ", ",", "-", "é", "É", "ß", "ÿ", "×", "÷", "©", "’", "Σ", "ǅ", "İ",
            "\u{2009}",
        ];
        for caption in crate::lanes::test_strings(&alphabet, (6, 2), 40, 300, 11) {
            assert_eq!(caption_words(&caption), reference(&caption), "{caption:?}");
        }
        assert!(caption_words("").is_empty());
        assert!(!same_caption(&[], &[]));
    }
}
