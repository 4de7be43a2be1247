//! **spelling**: respells names with a gazetteer (`lexicons/*.yaml`), the
//! way the French press writes them, and annotates every mention.
//!
//! One Aho-Corasick pass (leftmost-longest, so "Esmail Ghaani" wins over
//! "Ghaani") finds every spelling of every entity. Matching is on whole
//! words and case-sensitive, but each spelling is also looked for in ALL
//! CAPS (the replacement is then in capitals too: BAGHDAD → BAGDAD) and
//! with a capital first letter; a space in a spelling also matches a
//! no-break space, and ' matches ’. The canonical form keeps its own case,
//! except that it takes a capital at the start of a sentence
//! (al-Maliki → Al-Maliki).

use crate::letters::{is_alphabetic, is_alphanumeric};
use std::collections::HashMap;
use std::ops::Range;
use std::sync::Arc;

use aho_corasick::{AhoCorasick, Anchored, Input, MatchKind, StartKind};
use compact_str::CompactString;
use serde::Deserialize;

use crate::config::{self, Config, ConfigError, Located, Pos};
use crate::edits::{Change, EntityInfo, Spanned, StageCtx, TextChange};
use crate::lanes::{LANES, Lanes};
use crate::stages::{Group, RuleInfo, Stage};

/// Options of the `spelling` stage.
#[derive(Clone, Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SpellingConfig {
    /// Lexicon files, relative to the config file.
    pub lexicons: Vec<Located<String>>,
    /// Canonical forms whose entries are left out.
    #[serde(default)]
    pub disable: Vec<String>,
}

/// The options of `spelling`, for `lavoir stages`.
pub const OPTIONS: &[crate::stages::OptionDoc] = &[
    crate::stages::OptionDoc {
        name: "lexicons",
        default: "required",
        doc: "lexicon files, relative to the config file",
    },
    crate::stages::OptionDoc {
        name: "disable",
        default: "[]",
        doc: "canonical forms whose entries are left out",
    },
];

/// A lexicon file.
#[derive(Clone, Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct LexiconFile {
    pub entities: Vec<EntitySpec>,
}

/// One entity: its canonical spelling and the variants to respell.
#[derive(Clone, Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct EntitySpec {
    pub canonical: Located<String>,
    /// `person`, `place` or `organization`.
    #[serde(rename = "type")]
    pub kind: String,
    pub variants: Vec<Located<String>>,
    /// Why the entry is as it is (for maintainers).
    #[serde(default)]
    pub note: Option<String>,
}

const KINDS: &[&str] = &["person", "place", "organization"];

/// How a pattern's letters relate to the spelling it came from.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Case {
    AsWritten,
    Capitalized,
    Upper,
}

#[derive(Clone, Debug)]
struct Pattern {
    entity: usize,
    case: Case,
}

#[derive(Clone, Debug)]
struct Entry {
    canonical: String,
    /// The canonical form as written in running text, at the start of a
    /// sentence and in capitals: shared by every mention's annotation.
    plain: Arc<str>,
    capitalized: Arc<str>,
    upper: Arc<str>,
    kind: Arc<str>,
    rule: Arc<str>,
    variants: Vec<String>,
}

/// The `spelling` stage.
pub struct Spelling {
    automaton: Option<AhoCorasick>,
    /// What the spellings start with: a match can only start there.
    starts: StartFilter,
    /// The bytes other than the capitals A to Z that start a spelling,
    /// when there are few ([`MAX_OTHER_FIRSTS`]), for the lanes'
    /// first-byte test.
    other_firsts: Option<Vec<u8>>,
    /// ASCII bytes no spelling holds and that do not let a sentence start
    /// be seen through them (see [`starts_sentence`]): no match spans one,
    /// and what follows it does not depend on what precedes it. A second
    /// look around a change starts and ends at one.
    barrier: [bool; 256],
    /// What a change made by another stage may leave unseen
    /// ([`Stage::affected_by`]).
    blind_to: BlindTo,
    patterns: Vec<Pattern>,
    entries: Vec<Entry>,
}

/// The changes that cannot make a spelling match, stop matching, or be
/// respelled otherwise, worked out from the spellings when they are
/// built: white space, or an apostrophe, where no spelling may hold it or
/// be glued by it ([`BlindTo::sees`]).
struct BlindTo {
    /// No spelling starts or ends with white space or an apostrophe, nor
    /// holds a line end (otherwise every change is seen).
    clear_edges: bool,
    /// The characters that spellings hold, ASCII by code, the others
    /// sorted.
    ascii_chars: [bool; 128],
    other_chars: Vec<char>,
    /// The pairs of characters that stand side by side in a spelling
    /// (each white space as a space, ’ as '): ASCII pairs by bit, the
    /// others sorted.
    ascii_pairs: Box<[u64; 256]>,
    other_pairs: Vec<(char, char)>,
}

/// Most spellings a single entry may expand to (spaces × apostrophes).
const MAX_EXPANSIONS: usize = 243;

impl Spelling {
    pub fn build(
        config: &SpellingConfig,
        pipeline: &Config,
        _pos: Pos,
    ) -> Result<Self, Vec<ConfigError>> {
        let mut errors = Vec::new();
        let mut entries: Vec<Entry> = Vec::new();
        // pattern text -> (pattern info, where it was written)
        let mut table: HashMap<String, (Pattern, String)> = HashMap::new();
        let mut derived: Vec<(String, Pattern)> = Vec::new();
        for lexicon in &config.lexicons {
            let (text, file) = match pipeline.read_data(lexicon) {
                Ok(found) => found,
                Err(e) => {
                    errors.push(e);
                    continue;
                }
            };
            let parsed: LexiconFile = match config::parse_data(&text, &file) {
                Ok(p) => p,
                Err(e) => {
                    errors.extend(e.0);
                    continue;
                }
            };
            for spec in parsed.entities {
                if config.disable.contains(&spec.canonical.value) {
                    continue;
                }
                if !KINDS.contains(&spec.kind.as_str()) {
                    errors.push(ConfigError::new(
                        &file,
                        spec.canonical.pos,
                        format!(
                            "entity `{}`: unknown type `{}`, expected one of: {}",
                            spec.canonical.value,
                            spec.kind,
                            KINDS.join(", ")
                        ),
                    ));
                    continue;
                }
                let entity = entries.len();
                let canonical = spec.canonical.value.trim().to_string();
                entries.push(Entry {
                    plain: Arc::from(canonical.as_str()),
                    capitalized: Arc::from(capitalize(&canonical)),
                    upper: Arc::from(canonical.to_uppercase()),
                    rule: Arc::from(format!("spelling/{canonical}").as_str()),
                    canonical,
                    kind: Arc::from(spec.kind.as_str()),
                    variants: spec.variants.iter().map(|v| v.value.clone()).collect(),
                });
                let spellings = std::iter::once(&spec.canonical).chain(&spec.variants);
                for spelling in spellings {
                    let written = spelling.value.trim();
                    if written.is_empty() {
                        errors.push(ConfigError::new(&file, spelling.pos, "empty spelling"));
                        continue;
                    }
                    let place = format!("{file}:{}:{}", spelling.pos.line, spelling.pos.column);
                    for form in expand(written) {
                        let pattern = Pattern {
                            entity,
                            case: Case::AsWritten,
                        };
                        match table.get(&form) {
                            Some((other, first)) if other.entity != entity => {
                                errors.push(ConfigError::new(
                                    &file,
                                    spelling.pos,
                                    format!(
                                        "`{written}` is listed for both `{}` and `{}` (first at {first})",
                                        entries[other.entity].canonical, entries[entity].canonical
                                    ),
                                ));
                                break;
                            }
                            Some(_) => {}
                            None => {
                                table.insert(form, (pattern, place.clone()));
                            }
                        }
                    }
                    let upper = written.to_uppercase();
                    if upper != written && written.chars().filter(|c| is_alphabetic(*c)).count() > 1
                    {
                        for form in expand(&upper) {
                            derived.push((
                                form,
                                Pattern {
                                    entity,
                                    case: Case::Upper,
                                },
                            ));
                        }
                    }
                    let capitalized = capitalize(written);
                    if capitalized != written {
                        for form in expand(&capitalized) {
                            derived.push((
                                form,
                                Pattern {
                                    entity,
                                    case: Case::Capitalized,
                                },
                            ));
                        }
                    }
                }
            }
        }
        if !errors.is_empty() {
            return Err(errors);
        }
        // A spelling may hold another entity's canonical form ("Mohammed
        // Chia al-Soudani" holds "al-Soudani"). Written with one of that
        // entity's variants instead ("Mohammed Chia al-Sudani"), it would
        // only be half respelled, into a variant matched by the next
        // cleaning: so it is listed too, for the whole entity.
        for (form, entity) in closure_spellings(&entries) {
            for (written, case) in [
                (form.to_uppercase(), Case::Upper),
                (capitalize(&form), Case::Capitalized),
                (form, Case::AsWritten),
            ] {
                for form in expand(&written) {
                    derived.push((form, Pattern { entity, case }));
                }
            }
        }
        // Spellings as written take precedence over derived case forms.
        for (form, pattern) in derived {
            table
                .entry(form)
                .or_insert_with(|| (pattern, String::new()));
        }
        let mut listed: Vec<(String, Pattern)> =
            table.into_iter().map(|(k, (p, _))| (k, p)).collect();
        listed.sort_by(|a, b| a.0.cmp(&b.0));
        let mut starts = StartFilter::default();
        let mut in_spelling = [false; 256];
        for (form, _) in &listed {
            for &b in form.as_bytes() {
                in_spelling[usize::from(b)] = true;
            }
            starts.add(form.as_bytes());
        }
        let barrier = std::array::from_fn(|b| {
            let c = b as u8;
            let seen_through = (c.is_ascii_whitespace() && c != b'\n') || b"\"([-".contains(&c);
            c.is_ascii() && !in_spelling[b] && !seen_through
        });
        let automaton = if listed.is_empty() {
            None
        } else {
            Some(
                AhoCorasick::builder()
                    .match_kind(MatchKind::LeftmostLongest)
                    .start_kind(StartKind::Anchored)
                    .build(listed.iter().map(|(k, _)| k))
                    .map_err(|e| {
                        vec![ConfigError::new(
                            &pipeline.file_name(),
                            Pos::default(),
                            format!("spelling: cannot build the automaton: {e}"),
                        )]
                    })?,
            )
        };
        let mut other_firsts: Vec<u8> = listed
            .iter()
            .filter_map(|(form, _)| form.bytes().next())
            .filter(|b| !b.is_ascii_uppercase())
            .collect();
        other_firsts.sort_unstable();
        other_firsts.dedup();
        let blind_to = BlindTo::of(&listed);
        Ok(Spelling {
            automaton,
            blind_to,
            other_firsts: (other_firsts.len() <= MAX_OTHER_FIRSTS).then_some(other_firsts),
            starts,
            barrier,
            patterns: listed.into_iter().map(|(_, p)| p).collect(),
            entries,
        })
    }

    /// Number of entities loaded.
    pub fn len(&self) -> usize {
        self.entries.len()
    }

    pub fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }
}

/// The spellings of each entity with another entity's canonical form, as
/// a whole word inside them, written as each of that entity's variants
/// (one replacement per spelling).
fn closure_spellings(entries: &[Entry]) -> Vec<(String, usize)> {
    let canonical: HashMap<&str, usize> = entries
        .iter()
        .enumerate()
        .map(|(i, e)| (e.canonical.as_str(), i))
        .collect();
    let mut found = Vec::new();
    for (entity, entry) in entries.iter().enumerate() {
        for spelling in std::iter::once(&entry.canonical).chain(&entry.variants) {
            let spelling = spelling.trim();
            // Every run of whole words but the spelling itself.
            let alnum = |c: Option<char>| c.is_some_and(is_alphanumeric);
            let (mut starts, mut ends) = (Vec::new(), Vec::new());
            for (i, c) in spelling.char_indices() {
                let before = spelling[..i].chars().next_back();
                if is_alphanumeric(c) && !alnum(before) {
                    starts.push(i);
                }
                if !is_alphanumeric(c) && alnum(before) {
                    ends.push(i);
                }
            }
            ends.push(spelling.len());
            for &start in &starts {
                for &end in ends.iter().filter(|&&e| e > start) {
                    if end - start == spelling.len() {
                        continue;
                    }
                    let Some(&other) = canonical.get(&spelling[start..end]) else {
                        continue;
                    };
                    if other == entity {
                        continue;
                    }
                    for variant in &entries[other].variants {
                        let form = format!(
                            "{}{}{}",
                            &spelling[..start],
                            variant.trim(),
                            &spelling[end..]
                        );
                        found.push((form, entity));
                    }
                }
            }
        }
    }
    found
}

/// First letter in capitals.
fn capitalize(s: &str) -> String {
    let mut chars = s.chars();
    match chars.next() {
        Some(first) => first.to_uppercase().chain(chars).collect(),
        None => String::new(),
    }
}

/// Every way `spelling` may be written: each space as a space, a no-break
/// space or a narrow no-break space; each apostrophe straight or curly.
fn expand(spelling: &str) -> Vec<String> {
    let mut forms = vec![String::new()];
    for c in spelling.chars() {
        let options: &[char] = match c {
            ' ' | '\u{A0}' | '\u{202F}' => &[' ', '\u{A0}', '\u{202F}'],
            '\'' | '’' => &['\'', '’'],
            _ => {
                forms.iter_mut().for_each(|f| f.push(c));
                continue;
            }
        };
        if forms.len() * options.len() > MAX_EXPANSIONS {
            forms.iter_mut().for_each(|f| f.push(options[0]));
            continue;
        }
        forms = forms
            .iter()
            .flat_map(|f| {
                options.iter().map(move |o| {
                    let mut f = f.clone();
                    f.push(*o);
                    f
                })
            })
            .collect();
    }
    forms
}

/// ASCII letters and digits, by byte.
const ASCII_WORD: [bool; 256] = {
    let mut table = [false; 256];
    let mut b = 0;
    while b < 256 {
        table[b] = (b as u8).is_ascii_alphanumeric();
        b += 1;
    }
    table
};

/// What the spellings start with, as bit sets: their first two bytes, the
/// pairs that start a spelling of fewer than four bytes, and (hashed) the
/// first four bytes of the others. Most capitalized words (and "a", "el"…)
/// pass the pair test; few pass the four-byte one, so the automaton seldom
/// runs for nothing.
#[derive(Default)]
struct StartFilter {
    pairs: BitSet,
    short_pairs: BitSet,
    fours: BitSet,
}

/// Most spellings are names: they start with a capital, or with one of a
/// few other bytes ("a" of "al-", "e" of "el-", the lead byte of "É").
/// Tested sixteen at a time before the pairs, these pass over the many
/// words that start with another small letter. (More than this many other
/// first bytes: no such test.)
const MAX_OTHER_FIRSTS: usize = 8;

/// 65,536 bits.
struct BitSet(Box<[u64; 1024]>);

impl Default for BitSet {
    fn default() -> Self {
        BitSet(Box::new([0; 1024]))
    }
}

impl BitSet {
    fn insert(&mut self, i: usize) {
        self.0[i / 64] |= 1 << (i % 64);
    }

    fn contains(&self, i: usize) -> bool {
        self.0[i / 64] & (1 << (i % 64)) != 0
    }
}

impl StartFilter {
    fn add(&mut self, form: &[u8]) {
        let seconds = match *form {
            [] => return,
            [_] => 0..256,
            [_, b, ..] => b as usize..b as usize + 1,
        };
        for second in seconds {
            let pair = usize::from(form[0]) << 8 | second;
            self.pairs.insert(pair);
            if form.len() < 4 {
                self.short_pairs.insert(pair);
            }
        }
        if let Some(four) = form.first_chunk::<4>() {
            self.fours.insert(hash4(four));
        }
    }

    /// The first two bytes at `pos` (the second 0 at the end of `bytes`).
    fn pair(bytes: &[u8], pos: usize) -> usize {
        usize::from(bytes[pos]) << 8 | usize::from(*bytes.get(pos + 1).unwrap_or(&0))
    }

    /// Do the two bytes at `pos` start a spelling?
    fn pair_starts(&self, bytes: &[u8], pos: usize) -> bool {
        self.pairs.contains(Self::pair(bytes, pos))
    }

    /// May a spelling start at `pos` of `bytes` (and end within them)?
    fn may_start(&self, bytes: &[u8], pos: usize) -> bool {
        let pair = Self::pair(bytes, pos);
        if !self.pairs.contains(pair) {
            return false;
        }
        if self.short_pairs.contains(pair) {
            return true;
        }
        bytes[pos..]
            .first_chunk::<4>()
            .is_some_and(|four| self.fours.contains(hash4(four)))
    }
}

/// 16 bits of four bytes (multiplicative hashing).
fn hash4(four: &[u8; 4]) -> usize {
    (u32::from_le_bytes(*four).wrapping_mul(0x9E37_79B1) >> 16) as usize
}

impl BlindTo {
    fn of(listed: &[(String, Pattern)]) -> Self {
        let mut ascii_chars = [false; 128];
        let mut other_chars: Vec<char> = Vec::new();
        let mut ascii_pairs = Box::new([0u64; 256]);
        let mut other_pairs: Vec<(char, char)> = Vec::new();
        let mut clear_edges = true;
        for (form, _) in listed {
            let edge =
                |c: Option<char>| c.is_some_and(|c| c.is_whitespace() || c == '\'' || c == '’');
            clear_edges &= !edge(form.chars().next())
                && !edge(form.chars().next_back())
                && !form.contains('\n');
            let mut prev: Option<char> = None;
            for c in form.chars() {
                match ascii(c) {
                    Some(i) => ascii_chars[i] = true,
                    None => other_chars.push(c),
                }
                let c = pair_char(c);
                if let Some(p) = prev {
                    match (ascii(p), ascii(c)) {
                        (Some(i), Some(j)) => {
                            let (word, bit) = ascii_pair_bit(i, j);
                            ascii_pairs[word] |= bit;
                        }
                        _ => other_pairs.push((p, c)),
                    }
                }
                prev = Some(c);
            }
        }
        other_chars.sort_unstable();
        other_chars.dedup();
        other_pairs.sort_unstable();
        other_pairs.dedup();
        BlindTo {
            clear_edges,
            ascii_chars,
            other_chars,
            ascii_pairs,
            other_pairs,
        }
    }

    fn in_spelling(&self, c: Option<char>) -> bool {
        c.is_some_and(|c| match ascii(c) {
            Some(i) => self.ascii_chars[i],
            None => self.other_chars.binary_search(&c).is_ok(),
        })
    }

    /// Do `a` and `b` stand side by side in some spelling?
    fn pair(&self, a: Option<char>, b: Option<char>) -> bool {
        let (Some(a), Some(b)) = (a.map(pair_char), b.map(pair_char)) else {
            return false;
        };
        match (ascii(a), ascii(b)) {
            (Some(i), Some(j)) => {
                let (word, bit) = ascii_pair_bit(i, j);
                self.ascii_pairs[word] & bit != 0
            }
            _ => self.other_pairs.binary_search(&(a, b)).is_ok(),
        }
    }

    /// See [`Stage::affected_by`]. Only white space for white space (not
    /// a line end) and an apostrophe for an apostrophe may go unseen: a
    /// match's case depends on what it sees back through white space
    /// ([`starts_sentence`]), and neither white space nor an apostrophe
    /// is a letter or digit, which a match may not be glued to. They go
    /// unseen when no match may hold them, before or after the change (no
    /// spelling starts or ends with them, so a match that holds them holds
    /// the characters on either side of them too, side by side with them),
    /// and when no match beside them becomes glued to a letter or digit or
    /// stops being so.
    fn sees(&self, change: &TextChange<'_>) -> bool {
        let (old, new) = (change.old, change.new);
        let spacing = |s: &str| s.chars().all(is_spacing);
        let apostrophe = |s: &str| {
            let mut chars = s.chars();
            matches!(chars.next(), Some('\'' | '’')) && chars.next().is_none()
        };
        if !self.clear_edges
            || !((spacing(old) && spacing(new)) || (apostrophe(old) && apostrophe(new)))
        {
            return true;
        }
        let (before, after) = (change.before, change.after);
        // Could a match hold `s`, between `before` and `after`?
        let held = |s: &str| match (s.chars().next(), s.chars().next_back()) {
            (Some(first), Some(last)) => {
                self.pair(before, Some(first))
                    && (s.chars().zip(s.chars().skip(1))).all(|(a, b)| self.pair(Some(a), Some(b)))
                    && self.pair(Some(last), after)
            }
            _ => self.pair(before, after),
        };
        let alphanumeric = |c: Option<char>| c.is_some_and(is_alphanumeric);
        held(old)
            || held(new)
            || ((old.is_empty() || new.is_empty())
                && ((self.in_spelling(before) && alphanumeric(after))
                    || (self.in_spelling(after) && alphanumeric(before))))
    }
}

/// `c`'s index if it is ASCII.
fn ascii(c: char) -> Option<usize> {
    c.is_ascii().then_some(c as usize)
}

/// Where the pair of ASCII characters `i`, `j` is in
/// [`BlindTo::ascii_pairs`]: its word and its bit.
fn ascii_pair_bit(i: usize, j: usize) -> (usize, u64) {
    let n = i << 7 | j;
    (n / 64, 1 << (n % 64))
}

/// White space within a line (a line end starts a sentence).
fn is_spacing(c: char) -> bool {
    c.is_whitespace() && c != '\n'
}

/// How [`BlindTo`] records `c` in a pair: white space as a space, ’ as '
/// (spellings are listed with each, see [`expand`]).
fn pair_char(c: char) -> char {
    match c {
        '’' => '\'',
        c if is_spacing(c) => ' ',
        c => c,
    }
}

/// True when `text[start..end]` is a whole word (no letter or digit glued
/// to it; hyphens and apostrophes are word limits).
fn whole_word(text: &str, start: usize, end: usize) -> bool {
    let before = text[..start].chars().next_back();
    let after = text[end..].chars().next();
    !before.is_some_and(is_alphanumeric) && !after.is_some_and(is_alphanumeric)
}

/// True when `start` begins a sentence: only opening punctuation and
/// spaces separate it from the start of a line or a . ! ? …
fn starts_sentence(text: &str, start: usize) -> bool {
    for c in text[..start].chars().rev() {
        match c {
            '\n' | '.' | '!' | '?' | '…' => return true,
            c if c.is_whitespace() => continue,
            '«' | '“' | '"' | '‘' | '(' | '[' | '—' | '–' | '-' => continue,
            _ => return false,
        }
    }
    true
}

impl Stage for Spelling {
    fn name(&self) -> &'static str {
        "spelling"
    }

    fn rules(&self) -> Vec<RuleInfo> {
        self.entries
            .iter()
            .map(|e| RuleInfo {
                id: e.rule.to_string(),
                stage: "spelling",
                kind: Some(e.kind.to_string()),
                summary: format!(
                    "Writes {} ({}) as the French press does, for: {}.",
                    e.canonical,
                    e.kind,
                    e.variants.join(", ")
                ),
                examples: e
                    .variants
                    .first()
                    .map(|v| {
                        let example = format!("Selon {v}, hier.");
                        let out = crate::edits::apply_once(&example, |ctx| self.process(ctx));
                        vec![(example, out)]
                    })
                    .unwrap_or_default(),
                counter_examples: Vec::new(),
            })
            .collect()
    }

    /// Spellings lie within lines, and respelling changes a line's length,
    /// which whole-line rules bound (`max_line_chars`): the rule packs look
    /// again at the lines spelling changed.
    fn group(&self) -> Option<Group> {
        Some(Group::Lines)
    }

    fn affected_by_all(&self) -> bool {
        false
    }

    fn affected_by(&self, change: &TextChange<'_>) -> bool {
        self.automaton.is_some() && self.blind_to.sees(change)
    }

    fn process(&self, ctx: &mut StageCtx<'_>) {
        if self.automaton.is_none() {
            return;
        }
        let text = ctx.text;
        match ctx.focus {
            None => self.respell(text, 0..text.len(), ctx),
            Some(changed) => {
                for window in self.windows(text, changed) {
                    self.respell(text, window, ctx);
                }
            }
        }
    }
}

impl Spelling {
    /// The first position from `pos` on (`end` if none) whose two bytes
    /// may start a spelling and that is not glued to an ASCII letter or
    /// digit before it. Sixteen bytes at a time: the word starts of a
    /// chunk that hold a byte starting a spelling come from one mask, and
    /// only they are looked up in the pair table (fewer instructions and
    /// mispredicted branches than a test per byte; the pairs still stop
    /// most of the words that start with a capital, "a" or "e").
    fn next_candidate(&self, bytes: &[u8], mut pos: usize, end: usize) -> usize {
        // Bit 0: the byte before `pos` is not a word byte.
        let mut after_gap = u32::from(pos == 0 || !ASCII_WORD[usize::from(bytes[pos - 1])]);
        while pos + LANES <= end {
            let lanes = Lanes::load(bytes, pos);
            let capitals = lanes.in_range(b'A', b'Z');
            let word = lanes.in_range(b'0', b'9') | lanes.in_range(b'a', b'z') | capitals;
            let gaps = !word.mask() & 0xFFFF;
            // Bit k: byte k follows a byte that is not a word byte (and
            // may start a spelling, when few bytes do).
            let firsts = self.other_firsts.as_ref().map_or(0xFFFF, |others| {
                others.iter().fold(capitals, |m, &b| m | lanes.eq(b)).mask()
            });
            let mut starts = (gaps << 1 | after_gap) & firsts;
            while starts != 0 {
                let k = starts.trailing_zeros() as usize;
                if self.starts.pair_starts(bytes, pos + k) {
                    return pos + k;
                }
                starts &= starts - 1;
            }
            after_gap = gaps >> (LANES - 1);
            pos += LANES;
        }
        while pos < end
            && !(self.starts.pair_starts(bytes, pos)
                && (pos == 0 || !ASCII_WORD[usize::from(bytes[pos - 1])]))
        {
            pos += 1;
        }
        pos.min(end)
    }

    /// Where to look again after the changes `changed` (sorted ranges of
    /// `text`): around each, from the barrier byte before it (and before
    /// the character preceding it) to the one after it (and after the
    /// character following it). A match that a change could make, unmake
    /// or respell differently lies within: it overlaps the change, or has
    /// it as a neighbour, or (a sentence start) sees it through spaces and
    /// opening punctuation, which are not barriers; no match spans a
    /// barrier. The matches outside are those of the last look, and a walk
    /// from just after a barrier is where a walk over the whole line would
    /// be too.
    fn windows(&self, text: &str, changed: &[Range<usize>]) -> Vec<Range<usize>> {
        let bytes = text.as_bytes();
        let is_barrier = |b: &u8| self.barrier[usize::from(*b)];
        let mut windows: Vec<Range<usize>> = Vec::new();
        for r in changed {
            // Bytes the last window holds are not scanned again: with no
            // barrier between it and the change, the two merge; and its
            // end is already the first barrier after this change's bytes.
            let before = r.start.min(bytes.len()).saturating_sub(4);
            let scanned_to = windows.last().map_or(0, |w| w.end).min(before);
            let start = bytes[scanned_to..before]
                .iter()
                .rposition(is_barrier)
                .map(|i| scanned_to + i + 1);
            let after = (r.end + 4).min(bytes.len());
            let end = || {
                bytes[after..]
                    .iter()
                    .position(is_barrier)
                    .map_or(bytes.len(), |i| after + i)
            };
            match (windows.last_mut(), start) {
                (Some(last), None) if after <= last.end => {}
                (Some(last), None) => last.end = end(),
                (_, start) => windows.push(start.unwrap_or(0)..end()),
            }
        }
        windows
    }

    /// Respells the whole words that start in `text[region]` (spellings
    /// never cross a line end or a barrier byte, where regions end).
    /// Spellings are whole words: only a byte that may start one, not
    /// glued to an ASCII letter or digit, where a spelling's first bytes
    /// are ([`StartFilter`]), is tried, with an anchored search (the
    /// longest spelling there). Most bytes are passed over eight at a time
    /// ([`Spelling::next_candidate`]).
    fn respell(&self, text: &str, region: Range<usize>, ctx: &mut StageCtx<'_>) {
        let Some(automaton) = &self.automaton else {
            return;
        };
        let bytes = text.as_bytes();
        let mut pos = region.start;
        loop {
            pos = self.next_candidate(&bytes[..region.end], pos, region.end);
            if pos >= region.end {
                break;
            }
            // (After a letter beyond ASCII, `whole_word` says no below.)
            if !self.starts.may_start(&bytes[..region.end], pos) {
                pos += 1;
                continue;
            }
            let found = automaton.find(
                Input::new(text)
                    .span(pos..region.end)
                    .anchored(Anchored::Yes),
            );
            let Some(m) = found.filter(|m| whole_word(text, m.start(), m.end())) else {
                pos += 1;
                continue;
            };
            let (start, end) = (m.start(), m.end());
            let pattern = &self.patterns[m.pattern().as_usize()];
            let entry = &self.entries[pattern.entity];
            let surface = &text[start..end];
            let respelled = match pattern.case {
                Case::Upper => &entry.upper,
                _ if starts_sentence(text, start) => &entry.capitalized,
                _ => &entry.plain,
            };
            let normalized = **respelled != *surface;
            if normalized {
                ctx.changes
                    .push(Change::replace(start..end, &**respelled, &entry.rule));
            }
            ctx.new_entities.push(Spanned {
                range: start..end,
                value: EntityInfo {
                    canonical: respelled.clone(),
                    surface: CompactString::from(surface),
                    kind: entry.kind.clone(),
                    normalized,
                },
            });
            pos = end;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::{Origin, load_str};
    use crate::edits::{ChangeError, WorkDoc, restore};

    #[test]
    fn a_second_look_around_changes_finds_what_a_whole_look_finds() {
        let spelling = stage(LEXICON);
        let rule: Arc<str> = Arc::from("edit");
        let clean = "Selon Esmaïl Qaani, le chef d’al-Qods. al-Maliki (Bagdad) : « Qaani »\nBagdad, al-Qods";
        let edits: [&dyn Fn(usize) -> Change; 5] = [
            &|p| Change::insert(p, " Ghaani ", &rule),
            &|p| Change::insert(p, ". ", &rule),
            &|p| Change::insert(p, "Al Maliki", &rule),
            &|p| Change::insert(p, "\u{a0}", &rule),
            &|p| {
                Change::remove(
                    p..p + clean[p..].chars().next().map_or(0, char::len_utf8),
                    &rule,
                )
            },
        ];
        let look = |doc: &mut WorkDoc, focus: Option<&[Range<usize>]>| {
            doc.run_stage_on::<ChangeError>("spelling", focus, |ctx| {
                spelling.process(ctx);
                Ok(())
            })
            .unwrap();
        };
        for p in (0..=clean.len()).filter(|&p| clean.is_char_boundary(p)) {
            for edit in &edits {
                let mut docs = [WorkDoc::new(clean.into()), WorkDoc::new(clean.into())];
                let mut changed = Vec::new();
                for (i, doc) in docs.iter_mut().enumerate() {
                    look(doc, None);
                    doc.run_stage::<ChangeError>("edit", |ctx| {
                        ctx.changes.push(edit(p));
                        Ok(())
                    })
                    .unwrap();
                    changed = doc.carry_forward(&[]);
                    look(doc, if i == 0 { Some(&changed) } else { None });
                }
                assert_eq!(
                    docs[0].text, docs[1].text,
                    "edit at {p}, changed {changed:?}"
                );
            }
        }
    }

    #[test]
    fn windows_are_each_change_s_barrier_to_barrier_span_merged() {
        let spelling = stage(LEXICON);
        let text = "Selon Esmaïl Qaani, le chef d’al-Qods. al-Maliki (Bagdad) : « Qaani »\nBagdad, al-Qods; 12 fois.".repeat(2);
        // Each change on its own, scanning the whole text; then merged.
        let reference = |changed: &[Range<usize>]| {
            let bytes = text.as_bytes();
            let barrier = |b: &u8| spelling.barrier[usize::from(*b)];
            let mut windows: Vec<Range<usize>> = Vec::new();
            for r in changed {
                let before = r.start.min(bytes.len()).saturating_sub(4);
                let start = bytes[..before]
                    .iter()
                    .rposition(barrier)
                    .map_or(0, |i| i + 1);
                let after = (r.end + 4).min(bytes.len());
                let end = bytes[after..]
                    .iter()
                    .position(barrier)
                    .map_or(bytes.len(), |i| after + i);
                match windows.last_mut() {
                    Some(last) if start <= last.end => last.end = last.end.max(end),
                    _ => windows.push(start..end),
                }
            }
            windows
        };
        let mut next = crate::lanes::test_numbers(7);
        for _ in 0..3000 {
            // Sorted, disjoint ranges, some empty, some at the text's ends.
            let mut changed = Vec::new();
            let mut at = 0;
            while changed.len() < 6 {
                at += next(30);
                if at > text.len() {
                    break;
                }
                let end = (at + next(6)).min(text.len());
                changed.push(at..end);
                at = end + usize::from(next(2) == 0);
            }
            assert_eq!(
                spelling.windows(&text, &changed),
                reference(&changed),
                "{changed:?}"
            );
        }
    }

    #[test]
    fn the_start_filter_lets_every_spelling_through() {
        let forms = [
            "Q",
            "Al",
            "EI",
            "Iran",
            "el-Maliki",
            "Bagdad",
            "États-Unis",
            "al\u{A0}Qods",
        ];
        let mut filter = StartFilter::default();
        for form in forms {
            filter.add(form.as_bytes());
        }
        for form in forms {
            for text in [form.to_string(), format!("{form} x")] {
                assert!(filter.may_start(text.as_bytes(), 0), "{text:?}");
            }
        }
        // Words that share a spelling's first two bytes only.
        let stopped = ["Irak", "elle", "Bah", "Éta", "alors"]
            .iter()
            .filter(|w| !filter.may_start(w.as_bytes(), 0))
            .count();
        assert!(stopped >= 4, "{stopped}");
    }

    #[test]
    fn candidates_are_found_as_byte_by_byte() {
        let spelling = stage(LEXICON);
        // (Few bytes start a spelling here: the lanes test them first.)
        assert!(
            spelling
                .other_firsts
                .as_ref()
                .is_some_and(|b| !b.is_empty())
        );
        let text = "« Quds »,Ghaani xGhaani 9al-Qods été Éa el-Maliki Al\u{a0}Maliki\nBaghdad \
             @Quds [Quds `Quds {Quds /Quds :Quds\x7fQuds ZQuds zQuds 0Quds "
            .repeat(3);
        let bytes = text.as_bytes();
        let slow = |from: usize, end: usize| {
            (from..end)
                .find(|&p| {
                    spelling.starts.pair_starts(&bytes[..end], p)
                        && (p == 0 || !ASCII_WORD[usize::from(bytes[p - 1])])
                })
                .unwrap_or(end)
        };
        for from in 0..bytes.len() {
            for end in [bytes.len(), (from + 13).min(bytes.len())] {
                assert_eq!(
                    spelling.next_candidate(&bytes[..end], from, end),
                    slow(from, end),
                    "{from}..{end}"
                );
            }
        }
    }

    fn stage(lexicon: &str) -> Spelling {
        // The lexicon is read while the stage is built; the folder goes after.
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("lex.yaml");
        std::fs::write(&path, lexicon).unwrap();
        let config = load_str(
            "stages: []\n",
            Origin::File(dir.path().join("pipeline.yaml")),
        )
        .unwrap();
        let cfg = SpellingConfig {
            lexicons: vec![Located {
                pos: Pos::default(),
                value: "lex.yaml".into(),
            }],
            disable: vec![],
        };
        Spelling::build(&cfg, &config, Pos::default()).unwrap()
    }

    fn respell(stage: &Spelling, input: &str) -> String {
        let mut doc = WorkDoc::new(input.into());
        doc.run_stage::<ChangeError>("spelling", |ctx| {
            stage.process(ctx);
            Ok(())
        })
        .unwrap();
        let done = doc.finish();
        assert_eq!(restore(&done.text, &done.edits).unwrap(), input);
        done.text
    }

    const LEXICON: &str = "entities:
  - canonical: Bagdad
    type: place
    variants: [Baghdad]
  - canonical: al-Maliki
    type: person
    variants: [Al Maliki, el-Maliki]
  - canonical: Esmaïl Qaani
    type: person
    variants: [Esmail Ghaani]
  - canonical: Qaani
    type: person
    variants: [Ghaani]
  - canonical: Al-Qods
    type: organization
    variants: [Quds, al-Qods]
";

    #[test]
    fn table() {
        let s = stage(LEXICON);
        let cases = [
            ("à Baghdad.", "à Bagdad."),
            ("BAGHDAD – Un", "BAGDAD – Un"),
            ("Baghdadi", "Baghdadi"),
            ("pro-Baghdad", "pro-Bagdad"),
            ("de Nouri Al\u{A0}Maliki et", "de Nouri al-Maliki et"),
            ("hier. Al Maliki a reçu", "hier. Al-Maliki a reçu"),
            ("d’Al Maliki", "d’al-Maliki"),
            ("« Al Maliki", "« Al-Maliki"),
            (
                "général Esmail Ghaani, puis Ghaani",
                "général Esmaïl Qaani, puis Qaani",
            ),
            (
                "la force al-Qods et la Force Quds",
                "la force Al-Qods et la Force Al-Qods",
            ),
            ("Qudsiya", "Qudsiya"),
            ("baghdad", "baghdad"),
        ];
        for (input, want) in cases {
            assert_eq!(respell(&s, input), want, "input {input:?}");
        }
    }

    #[test]
    fn mentions_are_annotated() {
        let s = stage(LEXICON);
        let mut doc = WorkDoc::new("Bagdad et Baghdad".into());
        doc.run_stage::<ChangeError>("spelling", |ctx| {
            s.process(ctx);
            Ok(())
        })
        .unwrap();
        let done = doc.finish();
        assert_eq!(done.entities.len(), 2);
        assert!(!done.entities[0].normalized);
        assert_eq!(done.entities[1].surface, "Baghdad");
        assert_eq!((done.entities[1].start, done.entities[1].end), (10, 16));
    }

    #[test]
    fn white_space_and_apostrophes_are_seen_where_a_spelling_may_hold_them() {
        let change = |before, old, new, after| TextChange {
            old,
            new,
            before: Some(before),
            after: Some(after),
        };
        let s = stage("entities:\n  - canonical: Qa'ad Ab\n    type: person\n    variants: []\n");
        // Inside "Qa'ad Ab" (written with ’ or a no-break space too): a
        // match may hold it, and be respelled for it.
        assert!(s.affected_by(&change('a', "'", "’", 'a')));
        assert!(s.affected_by(&change('d', " ", "\u{A0}", 'A')));
        // Between characters no spelling holds side by side: unseen.
        assert!(!s.affected_by(&change('l', "'", "’", 'I')));
        assert!(!s.affected_by(&change('x', " ", "\u{A0}", 'y')));
        assert!(!s.affected_by(&change('d', "", "\u{202F}", ';')));
        // Glued to a letter, or no longer: seen.
        assert!(s.affected_by(&change('d', " ", "", 'x')));
        // Not white space or an apostrophe: seen.
        assert!(s.affected_by(&change('x', "«", "»", 'y')));
        // Two spaces in a spelling: both, and the letters around them.
        let two =
            stage("entities:\n  - canonical: \"Ab  Cd\"\n    type: person\n    variants: []\n");
        assert!(two.affected_by(&change('b', "  ", " \u{A0}", 'C')));
        assert!(!two.affected_by(&change('b', "  ", " \u{A0}", 'x')));
        assert!(!s.affected_by(&change('d', "  ", " \u{A0}", 'A')));
        // A spelling that starts with an apostrophe: every change is seen.
        let edge = stage("entities:\n  - canonical: \"'Ab\"\n    type: person\n    variants: []\n");
        assert!(edge.affected_by(&change('x', " ", "\u{A0}", 'y')));
    }

    #[test]
    fn a_full_name_holding_another_entity_is_respelled_whole() {
        let s = stage(
            "entities:\n  - canonical: Mohamed Chia al-Soudani\n    type: person\n    variants: [Mohammed Chia al-Soudani]\n  - canonical: al-Soudani\n    type: person\n    variants: [al-Sudani, el-Soudani]\n",
        );
        for input in ["Mohammed Chia al-Sudani", "MOHAMMED CHIA EL-SOUDANI"] {
            let mut doc = WorkDoc::new(input.into());
            doc.run_stage::<ChangeError>("spelling", |ctx| {
                s.process(ctx);
                Ok(())
            })
            .unwrap();
            let done = doc.finish();
            assert_eq!(done.entities.len(), 1, "{input}");
            assert_eq!(done.edits.len(), 1, "{input}");
            assert_eq!(&*done.edits[0].rule, "spelling/Mohamed Chia al-Soudani");
        }
    }

    #[test]
    fn a_spelling_listed_for_two_entities_is_an_error() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(
            dir.path().join("lex.yaml"),
            "entities:\n  - canonical: A\n    type: place\n    variants: [Xy]\n  - canonical: B\n    type: place\n    variants: [Xy]\n",
        )
        .unwrap();
        let config = load_str("stages: []\n", Origin::File(dir.path().join("p.yaml"))).unwrap();
        let cfg = SpellingConfig {
            lexicons: vec![Located {
                pos: Pos::default(),
                value: "lex.yaml".into(),
            }],
            disable: vec![],
        };
        let errs = Spelling::build(&cfg, &config, Pos::default())
            .err()
            .unwrap();
        assert_eq!(errs.len(), 1);
        assert!(errs[0].to_string().contains("lex.yaml:7:16"), "{}", errs[0]);
    }
}
