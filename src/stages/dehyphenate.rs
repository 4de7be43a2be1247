//! **dehyphenate**: rejoins a word split by a stray hyphen (a line break
//! hyphen that survived scraping): `ambas-sades` → `ambassades`,
//! `négo-ciations` → `négociations`, when the joined form is a word and the
//! hyphenated one is not. Compounds stay: `couvre-feu` and `anti-aérienne`
//! are words, `proiraniennes` is not, and a capital after the hyphen
//! (`vice-Premier`, `Moyen-Orient`) or a second part that is a word after a
//! prefix or a word (`pro-iraniennes`) means a real compound.
//!
//! The word list (one lower-case word per line, sorted) is loaded once and
//! searched by bisection in place (after a bisection of every 64th word),
//! so loading costs one pass over the file.

use crate::letters::{is_alphabetic, is_alphanumeric};
use std::sync::Arc;

use serde::Deserialize;

use crate::config::{Config, ConfigError, Located};
use crate::edits::{Change, StageCtx, TextChange};
use crate::stages::{Group, OptionDoc, RuleDoc, RuleInfo, Stage};

/// Options of the `dehyphenate` stage.
#[derive(Clone, Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DehyphenateConfig {
    /// The word list: one word per line, lower case (relative to the
    /// config file).
    pub words: Located<String>,
    /// Prefixes that make a compound with a word after them (`pro-`,
    /// `ex-`…), on top of the words of the list.
    #[serde(default = "default_prefixes")]
    pub prefixes: Vec<String>,
}

fn default_prefixes() -> Vec<String> {
    [
        "anti",
        "pro",
        "ex",
        "vice",
        "co",
        "néo",
        "post",
        "pré",
        "semi",
        "mini",
        "micro",
        "macro",
        "multi",
        "inter",
        "extra",
        "ultra",
        "super",
        "sous",
        "non",
        "auto",
        "contre",
        "demi",
        "mi",
        "quasi",
        "pseudo",
        "grand",
        "arrière",
        "avant",
        "arabo",
        "syro",
        "irano",
        "irako",
        "israélo",
        "américano",
        "franco",
        "russo",
        "turco",
        "kurdo",
        "saoudo",
        "libano",
        "palestino",
        "égypto",
        "euro",
        "afro",
        "sino",
        "indo",
        "gréco",
        "judéo",
        "islamo",
        "politico",
        "militaro",
        "socio",
        "géo",
    ]
    .iter()
    .map(|s| s.to_string())
    .collect()
}

/// A sorted word list, kept as one string and the offsets of its lines.
pub struct WordList {
    text: String,
    /// Byte range of each word in `text`, in sorted order.
    words: Vec<(u32, u32)>,
    /// The first word of each block of [`BLOCK`] words, by [`key8`]: a
    /// look-up bisects this small array (it stays in the cache) for the
    /// block, then the block. (A bisection of the whole list read some
    /// twenty places of a 9 MB list, most out of the cache: 2% of a run's
    /// time for 10,000 look-ups per 10 MB.)
    keys: Vec<u64>,
}

/// Words per block of [`WordList::keys`].
const BLOCK: usize = 64;

/// A word's first 8 bytes as a number, zero-padded: ordered as the words
/// are (never in the opposite order).
fn key8(word: &str) -> u64 {
    let mut key = [0u8; 8];
    let n = word.len().min(8);
    key[..n].copy_from_slice(&word.as_bytes()[..n]);
    u64::from_be_bytes(key)
}

impl WordList {
    /// Reads a list of words, one per line (sorting it if needed).
    pub fn new(text: String) -> Self {
        let mut words = Vec::with_capacity(text.len() / 10);
        let mut start = 0usize;
        for end in memchr::memchr_iter(b'\n', text.as_bytes()).chain(std::iter::once(text.len())) {
            let line = text[start..end].trim_end();
            if !line.trim_start().is_empty() {
                words.push((start as u32, (start + line.len()) as u32));
            }
            start = end + 1;
        }
        let mut list = WordList {
            text,
            words,
            keys: Vec::new(),
        };
        let sorted = list
            .words
            .windows(2)
            .all(|w| list.word(w[0]) <= list.word(w[1]));
        if !sorted {
            let mut words = std::mem::take(&mut list.words);
            words.sort_by(|a, b| list.word(*a).cmp(list.word(*b)));
            list.words = words;
        }
        list.keys = (list.words.iter().step_by(BLOCK))
            .map(|&w| key8(list.word(w)))
            .collect();
        list
    }

    fn word(&self, (start, end): (u32, u32)) -> &str {
        &self.text[start as usize..end as usize]
    }

    /// Is `word` (lower case) in the list? `oe` also matches `œ`.
    pub fn contains(&self, word: &str) -> bool {
        let found = |w: &str| {
            // The word is in the last block starting at or below its key,
            // or in a block before it whose first word has the same key.
            let key = key8(w);
            let first = self.keys.partition_point(|&k| k < key).saturating_sub(1);
            let last = self.keys.partition_point(|&k| k <= key);
            let blocks = first * BLOCK..(last * BLOCK).min(self.words.len());
            self.words[blocks]
                .binary_search_by(|&r| self.word(r).cmp(w))
                .is_ok()
        };
        found(word) || (word.contains("oe") && found(&word.replace("oe", "œ")))
    }

    pub fn len(&self) -> usize {
        self.words.len()
    }

    pub fn is_empty(&self) -> bool {
        self.words.is_empty()
    }
}

/// The options of `dehyphenate`, for `lavoir stages`.
pub const OPTIONS: &[OptionDoc] = &[
    OptionDoc {
        name: "words",
        default: "required",
        doc: "word list, one lower-case word per line, relative to the config file",
    },
    OptionDoc {
        name: "prefixes",
        default: "[anti, pro, ex, vice, co, …]",
        doc: "prefixes that make a compound with the word after them",
    },
];

/// The rules of the `dehyphenate` stage.
pub const RULE_DOCS: &[RuleDoc] = &[RuleDoc {
    id: "dehyphenate/stray-hyphen",
    summary: "Rejoins a word split by a hyphen left from a line break, when the joined form is a word and the hyphenated one is not; compounds (couvre-feu, pro-iraniennes, vice-Premier) stay.",
    example: (
        "des diplomates d’ambas-sades et un couvre-feu",
        "des diplomates d’ambassades et un couvre-feu",
    ),
}];

/// The `dehyphenate` stage.
pub struct Dehyphenate {
    words: WordList,
    prefixes: Vec<String>,
    rule: Arc<str>,
}

impl Dehyphenate {
    pub fn build(config: &DehyphenateConfig, pipeline: &Config) -> Result<Self, Vec<ConfigError>> {
        let (text, file) = pipeline.read_data(&config.words).map_err(|e| vec![e])?;
        let words = WordList::new(text);
        if words.is_empty() {
            return Err(vec![ConfigError::new(
                &pipeline.file_name(),
                config.words.pos,
                format!("the word list {file} is empty"),
            )]);
        }
        Ok(Dehyphenate {
            words,
            prefixes: config.prefixes.iter().map(|p| p.to_lowercase()).collect(),
            rule: Arc::from("dehyphenate/stray-hyphen"),
        })
    }

    /// Should `left-right` be written `leftright`?
    pub fn joins(&self, left: &str, right: &str) -> bool {
        if right.chars().next().is_none_or(char::is_uppercase) {
            return false; // vice-Premier, Moyen-Orient
        }
        // Both parts lower-cased into one buffer (`l` then `r`), the joined
        // word first: most hyphenated words are not one once joined, and
        // each look-up is a binary search of a long list. Then the hyphen
        // goes in between.
        let mut word = String::with_capacity(left.len() + right.len() + 1);
        push_lowercase(&mut word, left);
        let l_len = word.len();
        push_lowercase(&mut word, right);
        if !self.words.contains(&word) {
            return false;
        }
        word.insert(l_len, '-');
        if self.words.contains(&word) {
            return false;
        }
        let (l, r) = (&word[..l_len], &word[l_len + 1..]);
        // pro-iraniennes: a prefix or a word, then a word.
        let compound = self.words.contains(r)
            && (self.words.contains(l) || self.prefixes.iter().any(|p| p == l));
        !compound
    }
}

/// Appends `part` lower-cased as `str::to_lowercase` does it (a word on
/// its own: a final sigma stays final), without a string of its own when
/// it is ASCII.
fn push_lowercase(out: &mut String, part: &str) {
    if part.is_ascii() {
        out.extend(part.bytes().map(|b| char::from(b.to_ascii_lowercase())));
    } else {
        out.push_str(&part.to_lowercase());
    }
}

impl Stage for Dehyphenate {
    fn name(&self) -> &'static str {
        "dehyphenate"
    }

    fn rules(&self) -> Vec<RuleInfo> {
        RuleInfo::from_docs("dehyphenate", RULE_DOCS)
    }

    fn process(&self, ctx: &mut StageCtx<'_>) {
        let text = ctx.text;
        // Only the hyphens of the lines in focus (words never cross a line
        // end), found in those lines rather than judged one by one.
        // (A hyphen is one byte, and no other character holds that byte.)
        let hyphens = ctx.regions().into_iter().flat_map(|region| {
            memchr::memchr_iter(b'-', &text.as_bytes()[region.clone()])
                .map(move |i| region.start + i)
        });
        for i in hyphens {
            // Exactly two parts of letters: `ambas-sades`, not `a-t-il`.
            let left_start = text[..i]
                .char_indices()
                .rev()
                .take_while(|(_, c)| is_alphabetic(*c))
                .last()
                .map(|(j, _)| j);
            let right_end = text[i + 1..]
                .char_indices()
                .take_while(|(_, c)| is_alphabetic(*c))
                .last()
                .map(|(j, c)| i + 1 + j + c.len_utf8());
            let (Some(ls), Some(re)) = (left_start, right_end) else {
                continue;
            };
            // Judged again only when a change touches the two words or the
            // character on either side (at most four bytes each): otherwise
            // the verdict is the one this stage gave last time.
            if !ctx.in_focus(&(ls.saturating_sub(4)..re + 4)) {
                continue;
            }
            let before = text[..ls].chars().next_back();
            let after = text[re..].chars().next();
            let glued = |c: Option<char>| c.is_some_and(|c| c == '-' || is_alphanumeric(c));
            if glued(before) || glued(after) {
                continue;
            }
            if self.joins(&text[ls..i], &text[i + 1..re]) {
                ctx.changes.push(Change::remove(i..i + 1, &self.rule));
            }
        }
    }

    /// Each word is judged on its own: the pipeline may run this stage
    /// again on the lines a rule pack changed ("Customize this
    /// titleSourci-l" is one word until the prompt is taken off).
    fn group(&self) -> Option<Group> {
        Some(Group::Lines)
    }

    fn affected_by_all(&self) -> bool {
        false
    }

    /// A hyphen's verdict depends only on the run of letters, digits and
    /// hyphens that holds it (`ambas-sades`, or `a-t-il` and `2-ciations`,
    /// which stay). A change that no such run crosses into, before or after
    /// it, and that puts no hyphen in, leaves every hyphen's run as it was:
    /// typography's spaces and apostrophes, a name respelled between two
    /// spaces, a junk line taken away whole.
    fn affected_by(&self, change: &TextChange<'_>) -> bool {
        let word = |c: char| c == '-' || is_alphanumeric(c);
        let joined = |a: Option<char>, b: Option<char>| a.is_some_and(word) && b.is_some_and(word);
        let crossed = |text: &str| match (text.chars().next(), text.chars().next_back()) {
            (Some(first), Some(last)) => {
                joined(change.before, Some(first)) || joined(Some(last), change.after)
            }
            _ => joined(change.before, change.after),
        };
        change.new.contains('-') || crossed(change.old) || crossed(change.new)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::edits::{ChangeError, WorkDoc, restore};

    fn stage() -> Dehyphenate {
        let words = "ambassade\nambassades\nanti\nanti-aérienne\nantiaérienne\naérienne\ncouvre\ncouvre-feu\ndiplomates\nmates\nfeu\niraniennes\nnégo\nnégociations\npremier\nœuvre\n";
        Dehyphenate {
            words: WordList::new(words.to_string()),
            prefixes: default_prefixes(),
            rule: Arc::from("dehyphenate/stray-hyphen"),
        }
    }

    fn run(input: &str) -> String {
        let s = stage();
        let mut doc = WorkDoc::new(input.into());
        doc.run_stage::<ChangeError>("dehyphenate", |ctx| {
            s.process(ctx);
            Ok(())
        })
        .unwrap();
        let done = doc.finish();
        assert_eq!(restore(&done.text, &done.edits).unwrap(), input);
        done.text
    }

    #[test]
    fn table() {
        let cases = [
            (
                "des diplomates d’ambas-sades à Bagdad",
                "des diplomates d’ambassades à Bagdad",
            ),
            ("les négo-ciations", "les négociations"),
            ("NÉGO-ciations", "NÉGOciations"),
            ("Ambas-sades", "Ambassades"),
            ("diplo-mates", "diplomates"),
            ("un couvre-feu", "un couvre-feu"),
            ("défense anti-aérienne", "défense anti-aérienne"),
            ("milices pro-iraniennes", "milices pro-iraniennes"),
            ("le vice-Premier ministre", "le vice-Premier ministre"),
            ("a-t-il dit", "a-t-il dit"),
            ("x-ambas-sades", "x-ambas-sades"),
            ("oe-uvre", "oeuvre"),
        ];
        for (input, want) in cases {
            assert_eq!(run(input), want, "{input:?}");
        }
    }

    #[test]
    fn unsorted_lists_are_sorted() {
        let list = WordList::new("zèbre\nabri\nmaison\n".into());
        assert!(list.contains("abri") && list.contains("zèbre") && list.contains("maison"));
        assert!(!list.contains("chat"));
        assert_eq!(list.len(), 3);
    }

    #[test]
    fn words_are_found_across_blocks_and_no_others() {
        // Runs of words longer than a block with the same first 8 bytes,
        // short words, and words between them: each is found, and none of
        // the words around them.
        let mut words: Vec<String> = Vec::new();
        for i in 0..3 * BLOCK {
            words.push(format!("anticonstitutionnel{i:03}"));
            words.push(format!("b{}", i * 3));
            words.push(format!("ab{}", "c".repeat(i % 11)));
        }
        let list = WordList::new(words.join("\n"));
        for w in &words {
            assert!(list.contains(w), "{w}");
        }
        for i in 0..3 * BLOCK {
            for w in [
                format!("anticonstitutionnel{i:03}x"),
                format!("anticonstitutionnel{i}"),
                format!("b{}", i * 3 + 1),
                format!("a{i}"),
            ] {
                assert_eq!(list.contains(&w), words.contains(&w), "{w}");
            }
        }
        for w in [
            "",
            "a",
            "ab",
            "abd",
            "anticonstitutionnel",
            "zz",
            "\u{10FFFF}",
        ] {
            assert_eq!(list.contains(w), words.iter().any(|x| x == w), "{w:?}");
        }
    }
}
