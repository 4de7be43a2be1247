//! **dedup**: removes a paragraph (a line) repeated later in the same
//! document; the first stays. Paragraphs are compared without case,
//! punctuation, apostrophes or spacing, so "ont déclaré trois sources de la
//! milice, informées" repeats "…de la milice informées". With
//! `similarity` below 1, near-duplicates go too: MinHash signatures of
//! word trigrams, banded (LSH) so that only likely pairs are compared, then
//! checked with the exact Jaccard similarity. Linear in the document.

use crate::letters::is_alphanumeric;
use std::collections::hash_map::Entry;
use std::collections::{HashMap, HashSet};
use std::hash::{BuildHasher, Hash, Hasher};
use std::ops::Range;
use std::sync::Arc;

use serde::Deserialize;

use crate::edits::{Change, StageCtx};
use crate::stages::{OptionDoc, RuleDoc, RuleInfo, Stage};

/// Options of the `dedup` stage.
#[derive(Clone, Debug, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct DedupConfig {
    /// 1.0: only paragraphs that are the same once case, punctuation and
    /// spacing are ignored; below: also paragraphs whose word trigrams
    /// overlap at least this much (Jaccard).
    pub similarity: f64,
    /// Paragraphs shorter than this (letters and digits) are never
    /// removed: short lines repeat legitimately.
    pub min_chars: usize,
}

impl Default for DedupConfig {
    fn default() -> Self {
        DedupConfig {
            similarity: 1.0,
            min_chars: 40,
        }
    }
}

/// The options of `dedup`, for `lavoir stages`.
pub const OPTIONS: &[OptionDoc] = &[
    OptionDoc {
        name: "similarity",
        default: "1.0",
        doc: "1.0: same text but for case, punctuation and spaces; below (to 0.3): word-trigram Jaccard",
    },
    OptionDoc {
        name: "min_chars",
        default: "40",
        doc: "shorter paragraphs (letters and digits) are never removed",
    },
];

/// The rules of the `dedup` stage.
pub const RULE_DOCS: &[RuleDoc] = &[
    RuleDoc {
        id: "dedup/paragraph",
        summary: "Removes a paragraph that repeats an earlier one once case, punctuation, apostrophes and spacing are ignored (pages repeat paragraphs); the first stays.",
        example: (
            "Les milices ont attaqué les forces américaines, selon Reuters.\nSuite.\nLes milices ont attaqué les forces américaines selon Reuters !\n",
            "Les milices ont attaqué les forces américaines, selon Reuters.\nSuite.\n",
        ),
    },
    RuleDoc {
        id: "dedup/near-paragraph",
        summary: "With `similarity` below 1: removes a paragraph whose word trigrams overlap an earlier one's at least that much (this example: 0.6).",
        example: (
            "Les milices irakiennes ont attaqué les forces américaines en Irak et en Syrie à plusieurs reprises cette semaine.\nLes milices irakiennes ont attaqué les forces américaines en Irak et en Syrie à plusieurs reprises la semaine dernière.\n",
            "Les milices irakiennes ont attaqué les forces américaines en Irak et en Syrie à plusieurs reprises cette semaine.\n",
        ),
    },
];

/// The `dedup` stage.
pub struct Dedup {
    config: DedupConfig,
    rule: Arc<str>,
    near_rule: Arc<str>,
    category: Arc<str>,
}

const HASHES: usize = 32;
const BANDS: usize = 8;
const ROWS: usize = HASHES / BANDS;

impl Dedup {
    pub fn new(config: DedupConfig) -> Result<Self, String> {
        if !(0.3..=1.0).contains(&config.similarity) {
            return Err(format!(
                "`similarity: {}` must be between 0.3 and 1.0",
                config.similarity
            ));
        }
        Ok(Dedup {
            config,
            rule: Arc::from("dedup/paragraph"),
            near_rule: Arc::from("dedup/near-paragraph"),
            category: Arc::from("duplicate-paragraph"),
        })
    }
}

/// Characters of a key's start hashed for every paragraph (at least
/// `min_chars`, which tells the short ones); the whole key is hashed only
/// when two paragraphs start alike. (The fewer, the cheaper: with the
/// default `min_chars`, 40, rather than 64 of them, 17 M fewer
/// instructions on the 10 MB corpus, whose paragraphs seldom share 40.)
const KEY_START_CHARS: usize = 32;

/// Letters and digits only, lower-cased: the comparison key.
fn key(s: &str) -> String {
    s.chars()
        .filter(|c| is_alphanumeric(*c))
        .flat_map(char::to_lowercase)
        .collect()
}

/// The hash of [`key`] and its length in characters, without building it
/// (ASCII fast path): most paragraphs are seen once.
fn key_hash(s: &str) -> (u64, usize) {
    key_hash_upto(s, usize::MAX)
}

/// [`key_hash`] of the key's first `limit` characters (or a few more).
pub(crate) fn key_hash_upto(s: &str, limit: usize) -> (u64, usize) {
    let bytes = s.as_bytes();
    let mut h = Fnv::default();
    let mut n = 0;
    let mut buf = [0u8; 4];
    let mut i = 0;
    while i < bytes.len() && n < limit {
        let b = bytes[i];
        if b < 0x80 {
            // ASCII, without decoding: what the key keeps of the byte.
            let k = ASCII_KEY[usize::from(b)];
            if k != 0 {
                h.0 = (h.0 ^ u64::from(k)).wrapping_mul(0x100000001b3);
                n += 1;
            }
            i += 1;
            continue;
        }
        let c = s[i..].chars().next().expect("char boundary");
        i += c.len_utf8();
        key_chars(c, |l| {
            h.write(l.encode_utf8(&mut buf).as_bytes());
            n += 1;
        });
    }
    (h.finish(), n)
}

/// What the key keeps of each ASCII byte: letters in small letters,
/// digits; 0 for the rest.
pub(crate) const ASCII_KEY: [u8; 128] = {
    let mut table = [0u8; 128];
    let mut b = 0;
    while b < 128 {
        let c = b as u8;
        if c.is_ascii_alphanumeric() {
            table[b] = c.to_ascii_lowercase();
        }
        b += 1;
    }
    table
};

/// Calls `keep` with what [`key`] keeps of the character `c` (beyond
/// ASCII, which [`ASCII_KEY`] tells): its small letters, or nothing; and
/// says whether it kept any. Accented letters and general punctuation
/// without the Unicode tables.
pub(crate) fn key_chars(c: char, mut keep: impl FnMut(char)) -> bool {
    match latin1_key(c) {
        Some(Some(lower)) => keep(lower),
        Some(None) => return false,
        None if is_alphanumeric(c) => c.to_lowercase().for_each(keep),
        None => return false,
    }
    true
}

/// What [`key`] keeps of `c` when that is quick to tell: for U+00C0 to
/// U+00FF (letters but × and ÷) and the general punctuation block (no
/// letters), `Some(kept)`; `None` for other characters.
fn latin1_key(c: char) -> Option<Option<char>> {
    match c {
        '\u{D7}' | '\u{F7}' | '\u{2000}'..='\u{206F}' => Some(None),
        // À to Þ: their small letters are 0x20 further.
        '\u{C0}'..='\u{DE}' => Some(char::from_u32(c as u32 + 0x20)),
        '\u{DF}'..='\u{FF}' => Some(Some(c)),
        _ => None,
    }
}

/// Hashes of the word trigrams (words when there are fewer than three).
fn shingles(s: &str) -> HashSet<u64> {
    let words: Vec<String> = s
        .split(|c: char| !is_alphanumeric(c))
        .filter(|w| !w.is_empty())
        .map(str::to_lowercase)
        .collect();
    let n = if words.len() >= 3 { 3 } else { 1 };
    words
        .windows(n)
        .map(|w| {
            let mut h = Fnv::default();
            w.hash(&mut h);
            h.finish()
        })
        .collect()
}

/// FNV-1a: a fixed, fast hash, so signatures do not depend on a seed.
pub(crate) struct Fnv(u64);

impl Default for Fnv {
    /// The FNV-1a offset basis.
    fn default() -> Self {
        Fnv(0xcbf29ce484222325)
    }
}

impl Hasher for Fnv {
    fn finish(&self) -> u64 {
        self.0
    }
    fn write(&mut self, bytes: &[u8]) {
        for b in bytes {
            self.0 = (self.0 ^ u64::from(*b)).wrapping_mul(0x100000001b3);
        }
    }
}

#[derive(Clone, Copy)]
struct FixedState;
impl BuildHasher for FixedState {
    type Hasher = Fnv;
    fn build_hasher(&self) -> Fnv {
        Fnv::default()
    }
}

fn minhash(shingles: &HashSet<u64>) -> [u64; HASHES] {
    let mut sig = [u64::MAX; HASHES];
    for &s in shingles {
        for (i, slot) in sig.iter_mut().enumerate() {
            // Cheap independent permutations: multiply-xorshift by i.
            let mut x = s ^ (i as u64).wrapping_mul(0x9E3779B97F4A7C15);
            x = (x ^ (x >> 33)).wrapping_mul(0xff51afd7ed558ccd);
            x ^= x >> 33;
            *slot = (*slot).min(x);
        }
    }
    sig
}

fn jaccard(a: &HashSet<u64>, b: &HashSet<u64>) -> f64 {
    let inter = a.intersection(b).count();
    let union = a.len() + b.len() - inter;
    if union == 0 {
        1.0
    } else {
        inter as f64 / union as f64
    }
}

/// What removing the paragraph `line` (ending at `next`, after its line
/// end) takes away: the line, its line end and one blank line beside it,
/// so that the layout `structure` made (one blank line between blocks, a
/// final newline) stays as it was when dedup runs after it.
fn removal(text: &str, line: &Range<usize>, next: usize) -> Range<usize> {
    let bytes = text.as_bytes();
    let blank_before = line.start >= 2 && &bytes[line.start - 2..line.start] == b"\n\n";
    if bytes.get(next) == Some(&b'\n') {
        // "A\n\nDUP\n\nB": the blank line after goes too.
        line.start..next + 1
    } else if blank_before && (next == text.len() || next == line.end) {
        // "A\n\nDUP\n" or "A\n\nDUP" at the end: the blank line before.
        line.start - 1..next
    } else {
        line.start..next
    }
}

impl Stage for Dedup {
    fn name(&self) -> &'static str {
        "dedup"
    }

    fn rules(&self) -> Vec<RuleInfo> {
        RuleInfo::from_docs("dedup", RULE_DOCS)
    }

    fn process(&self, ctx: &mut StageCtx<'_>) {
        let text = ctx.text;
        let near = self.config.similarity < 1.0;
        // Hash of each paragraph's key -> the paragraphs with that hash.
        let mut seen: HashMap<u64, Vec<Range<usize>>, FixedState> =
            HashMap::with_hasher(FixedState);
        // Most paragraphs are seen once: a hash of the start of the key
        // tells them apart without reading them whole. Hash of a key start
        // -> the first paragraph with it, until a second one comes; then
        // both go by the hash of their whole key (`seen`). (Near-duplicate
        // search reads every paragraph whole anyway.)
        let mut starts: HashMap<u64, Option<Range<usize>>, FixedState> =
            HashMap::with_hasher(FixedState);
        let start_chars = self.config.min_chars.max(KEY_START_CHARS);
        let mut kept: Vec<HashSet<u64>> = Vec::new();
        let mut buckets: HashMap<(usize, u64), Vec<usize>, FixedState> =
            HashMap::with_hasher(FixedState);
        let mut start = 0;
        while start < text.len() {
            let end =
                memchr::memchr(b'\n', &text.as_bytes()[start..]).map_or(text.len(), |i| start + i);
            let next = (end + 1).min(text.len());
            let line: Range<usize> = start..end;
            start = if end == text.len() { text.len() } else { next };
            let (start_hash, chars) = key_hash_upto(&text[line.clone()], start_chars);
            if chars < self.config.min_chars {
                continue;
            }
            if !near {
                match starts.entry(start_hash) {
                    Entry::Vacant(slot) => {
                        slot.insert(Some(line.clone()));
                        continue;
                    }
                    Entry::Occupied(mut slot) => {
                        if let Some(first) = slot.get_mut().take() {
                            let (first_hash, _) = key_hash(&text[first.clone()]);
                            seen.entry(first_hash).or_default().push(first);
                        }
                    }
                }
            }
            let (hash, _) = key_hash(&text[line.clone()]);
            // Same hash: compare the keys themselves before removing.
            let candidates = seen.entry(hash).or_default();
            let key_here = || key(&text[line.clone()]);
            if !candidates.is_empty()
                && candidates
                    .iter()
                    .any(|r: &Range<usize>| key(&text[r.clone()]) == key_here())
            {
                ctx.changes.push(
                    Change::remove(removal(text, &line, next), &self.rule).category(&self.category),
                );
                continue;
            }
            candidates.push(line.clone());
            if !near {
                continue;
            }
            let sh = shingles(&text[line.clone()]);
            let sig = minhash(&sh);
            let bands: Vec<(usize, u64)> = (0..BANDS)
                .map(|b| {
                    let mut h = Fnv::default();
                    sig[b * ROWS..(b + 1) * ROWS].hash(&mut h);
                    (b, h.finish())
                })
                .collect();
            let mut candidates: Vec<usize> = bands
                .iter()
                .filter_map(|band| buckets.get(band))
                .flatten()
                .copied()
                .collect();
            candidates.sort_unstable();
            candidates.dedup();
            if candidates
                .iter()
                .any(|&c| jaccard(&kept[c], &sh) >= self.config.similarity)
            {
                ctx.changes.push(
                    Change::remove(removal(text, &line, next), &self.near_rule)
                        .category(&self.category),
                );
                continue;
            }
            let id = kept.len();
            kept.push(sh);
            for band in bands {
                buckets.entry(band).or_default().push(id);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn equal_keys_hash_alike_and_others_apart() {
        let lines = [
            "Tout en encourageant, les représailles",
            "TOUT EN ENCOURAGEANT les représailles !",
            "tout-en-encourageant les REPRÉSAILLES",
            "Tout en encourageant les représaille",
            "Τout en encourageant les représailles (grec)",
            "2 500 soldats",
            "25 00 soldats",
            "2 501 soldats",
        ];
        for a in lines {
            for b in lines {
                let same_key = key(a) == key(b);
                let (ha, na) = key_hash(a);
                let (hb, _) = key_hash(b);
                assert_eq!(ha == hb, same_key, "{a:?} / {b:?}");
                assert_eq!(na, key(a).chars().count());
            }
        }
        // A prefix of the key: its first `limit` characters.
        let (h, n) = key_hash_upto("Abc, déf ghi", 5);
        assert_eq!((h, n), key_hash("abcdé"));
    }

    #[test]
    fn the_quick_key_of_a_character_is_the_key() {
        for c in ('\u{C0}'..='\u{FF}').chain('\u{2000}'..='\u{206F}') {
            let slow: String = key(&c.to_string());
            let quick: String = latin1_key(c).expect("covered").into_iter().collect();
            assert_eq!(quick, slow, "{c:?}");
        }
    }
    use crate::edits::{ChangeError, WorkDoc, restore};

    fn run(config: DedupConfig, input: &str) -> String {
        let stage = Dedup::new(config).unwrap();
        let mut doc = WorkDoc::new(input.into());
        doc.run_stage::<ChangeError>("dedup", |ctx| {
            stage.process(ctx);
            Ok(())
        })
        .unwrap();
        let done = doc.finish();
        assert_eq!(restore(&done.text, &done.edits).unwrap(), input);
        done.text
    }

    #[test]
    fn repeated_paragraphs_go_the_first_stays() {
        let a = "Tout en encourageant les représailles, ont déclaré trois sources de la milice, informées de la réunion.";
        let b = "Tout en encourageant les représailles, ont déclaré trois sources de la milice informées de la réunion.";
        let c = "TOUT EN ENCOURAGEANT les représailles , ont déclaré trois sources de la milice informées de la réunion !";
        let input = format!(
            "{a}\n\nAutre paragraphe assez long pour compter dans la comparaison.\n{b}\n{c}\nFin."
        );
        let out = run(DedupConfig::default(), &input);
        assert_eq!(
            out,
            format!("{a}\n\nAutre paragraphe assez long pour compter dans la comparaison.\nFin.")
        );
    }

    #[test]
    fn paragraphs_that_only_start_alike_stay() {
        // The same first 100 letters; only the ends tell them apart.
        let start = "Le chef de la force Al-Qods a été tué à Bagdad vendredi matin par une frappe de drone américaine près de l’aéroport";
        let a = format!("{start}, a annoncé le Pentagone.");
        let b = format!("{start}, a confirmé Téhéran.");
        let c = format!("{start} , a annoncé le PENTAGONE !");
        let input = format!("{a}\n{b}\n{a}\n{c}\n{b}\nFin.");
        assert_eq!(
            run(DedupConfig::default(), &input),
            format!("{a}\n{b}\nFin.")
        );
    }

    #[test]
    fn the_layout_of_blocks_is_kept() {
        let a = "Le chef de la force Al-Qods a été tué à Bagdad vendredi matin.";
        let b = "Lechef de la force Al-Qods a été tué à Bagdad vendredi matin !";
        let cfg = DedupConfig::default;
        assert_eq!(
            run(cfg(), &format!("T\n\n{a}\n\n{b}\n\nFin.\n")),
            format!("T\n\n{a}\n\nFin.\n")
        );
        assert_eq!(
            run(cfg(), &format!("T\n\n{a}\n\n{b}\n")),
            format!("T\n\n{a}\n")
        );
        assert_eq!(run(cfg(), &format!("{a}\n\n{b}")), format!("{a}\n"));
        assert_eq!(run(cfg(), &format!("{a}\n{b}\nFin.")), format!("{a}\nFin."));
    }

    #[test]
    fn short_lines_are_kept() {
        let input = "Inquiétude\nTexte.\nInquiétude\n";
        assert_eq!(run(DedupConfig::default(), input), input);
    }

    #[test]
    fn near_duplicates_with_a_lower_similarity() {
        let a = "Les milices irakiennes ont attaqué les forces américaines en Irak et en Syrie à plusieurs reprises cette semaine.";
        let b = "Les milices irakiennes ont attaqué les forces américaines en Irak et en Syrie à plusieurs reprises la semaine dernière.";
        let input = format!("{a}\n{b}\n");
        assert_eq!(run(DedupConfig::default(), &input), input);
        let out = run(
            DedupConfig {
                similarity: 0.6,
                ..DedupConfig::default()
            },
            &input,
        );
        assert_eq!(out, format!("{a}\n"));
    }

    #[test]
    fn bad_similarity_is_refused() {
        assert!(
            Dedup::new(DedupConfig {
                similarity: 1.5,
                ..DedupConfig::default()
            })
            .is_err()
        );
    }
}
