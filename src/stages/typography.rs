//! **typography**: the spacing and punctuation conventions of the text's
//! language, French by default (`language: en` for English).
//!
//! French: apostrophe ’ (U+2019); a narrow no-break space (U+202F) inside
//! « » and before ; ! ?; a no-break space (U+00A0) before a colon that
//! follows a word; no space before , . ) and after (; other no-break
//! spaces between words become plain spaces; one space between words; a «
//! standing where a quotation closes becomes » (`l’Irak« ,` →
//! `l’Irak »,`). English: apostrophe ’, no space before , . ; : ! ? ),
//! plain spaces.
//!
//! Only white space between tokens, apostrophes between letters and
//! guillemets change, so times (20:18), URLs, numbers and code-like tokens
//! (a;b, x?y) are left as they are; a no-break space between two digits
//! (2 500) is kept.

use crate::letters::{is_alphabetic, is_alphanumeric};
use std::sync::Arc;

use serde::Deserialize;

use crate::edits::{Change, StageCtx};
use crate::lanes::{Lanes, Stops};
use crate::stages::mojibake::{would_repair, would_repair_around};
use crate::stages::{Group, OptionDoc, RuleDoc, RuleInfo, Stage};

const NBSP: char = '\u{A0}';
const NNBSP: char = '\u{202F}';
// (As text, for the changes that insert them.)
const NBSP_STR: &str = "\u{A0}";
const NNBSP_STR: &str = "\u{202F}";

/// Language of the typographic rules.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Language {
    Fr,
    En,
}

/// Options of the `typography` stage.
#[derive(Clone, Debug, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct TypographyConfig {
    pub language: Language,
    /// ' between letters → ’.
    pub apostrophes: bool,
    /// Repair « and » used the wrong way round (French).
    pub guillemets: bool,
    /// Spaces around punctuation and between words.
    pub spaces: bool,
}

impl Default for TypographyConfig {
    fn default() -> Self {
        TypographyConfig {
            language: Language::Fr,
            apostrophes: true,
            guillemets: true,
            spaces: true,
        }
    }
}

/// The options of `typography`, for `lavoir stages`.
pub const OPTIONS: &[OptionDoc] = &[
    OptionDoc {
        name: "language",
        default: "fr",
        doc: "fr or en",
    },
    OptionDoc {
        name: "apostrophes",
        default: "true",
        doc: "' between letters becomes ’",
    },
    OptionDoc {
        name: "guillemets",
        default: "true",
        doc: "repair « and » used the wrong way round (fr)",
    },
    OptionDoc {
        name: "spaces",
        default: "true",
        doc: "spaces around punctuation and between words",
    },
];

/// The rules of the `typography` stage (examples in French).
pub const RULE_DOCS: &[RuleDoc] = &[
    RuleDoc {
        id: "typography/apostrophe",
        summary: "Writes the apostrophe between letters as ’ (U+2019).",
        example: ("l'Irak d'un jour", "l’Irak d’un jour"),
    },
    RuleDoc {
        id: "typography/closing-guillemet",
        summary: "Turns a « that closes a quotation (before punctuation or the end of the block) into ».",
        example: (
            "« Fin de l’Irak« , a-t-il dit",
            "«\u{202F}Fin de l’Irak\u{202F}», a-t-il dit",
        ),
    },
    RuleDoc {
        id: "typography/opening-guillemet",
        summary: "Turns a » that opens a quotation (after a space or at the start, before a word) into «.",
        example: ("»Sans lui", "«\u{202F}Sans lui"),
    },
    RuleDoc {
        id: "typography/guillemet-space",
        summary: "Puts a narrow no-break space (U+202F) inside « and ».",
        example: (
            "«non» et « oui »",
            "«\u{202F}non\u{202F}» et «\u{202F}oui\u{202F}»",
        ),
    },
    RuleDoc {
        id: "typography/punctuation-space",
        summary: "Puts a narrow no-break space before ; ! ? and a no-break space (U+00A0) before a colon that follows a word (not in 20:18 or URLs).",
        example: (
            "Pourquoi? Irak: à 20:18",
            "Pourquoi\u{202F}? Irak\u{A0}: à 20:18",
        ),
    },
    RuleDoc {
        id: "typography/no-space-before",
        summary: "Removes the space before , . ) ] and after ( [.",
        example: ("oui , dit-il ( hier ) .", "oui, dit-il (hier)."),
    },
    RuleDoc {
        id: "typography/space",
        summary: "Leaves one plain space between words: no-break spaces between words and runs of spaces become one space (a no-break space inside a number stays).",
        example: (
            "haut\u{A0}commandant  des 2\u{A0}500",
            "haut commandant des 2\u{A0}500",
        ),
    },
    RuleDoc {
        id: "typography/space-after-comma",
        summary: "Puts a space after a comma between two letters (never between digits: 2,5).",
        example: (
            "le Pentagone,elles et 2,5 %",
            "le Pentagone, elles et 2,5 %",
        ),
    },
];

/// The `typography` stage.
pub struct Typography {
    config: TypographyConfig,
    rules: Rules,
}

struct Rules {
    apostrophe: Arc<str>,
    closing: Arc<str>,
    opening: Arc<str>,
    guillemet_space: Arc<str>,
    punctuation_space: Arc<str>,
    no_space: Arc<str>,
    space: Arc<str>,
    space_after: Arc<str>,
}

impl Typography {
    pub fn new(config: TypographyConfig) -> Self {
        let r = |s: &str| Arc::from(s);
        Typography {
            config,
            rules: Rules {
                apostrophe: r("typography/apostrophe"),
                closing: r("typography/closing-guillemet"),
                opening: r("typography/opening-guillemet"),
                guillemet_space: r("typography/guillemet-space"),
                punctuation_space: r("typography/punctuation-space"),
                no_space: r("typography/no-space-before"),
                space: r("typography/space"),
                space_after: r("typography/space-after-comma"),
            },
        }
    }

    fn french(&self) -> bool {
        self.config.language == Language::Fr
    }

    /// What should stand between `prev` and `next`, and the rule that says
    /// so; `None` to leave the white space as it is.
    fn wanted(
        &self,
        prev: char,
        next: char,
        after_next: Option<char>,
        run: &str,
    ) -> Option<(&'static str, &Arc<str>)> {
        let r = &self.rules;
        let none = ("", &r.no_space);
        if prev.is_ascii_digit() && next.is_ascii_digit() && run.contains([NBSP, NNBSP]) {
            return None; // 2 500: number grouping
        }
        // A period glued to what follows is not the end of a sentence
        // (" .jpost.com"): the space before it stays.
        let period_ends = after_next.is_none_or(|c| c.is_whitespace() || "»”\")]’'".contains(c));
        let want = if self.french() {
            match (prev, next) {
                ('«', _) | (_, '»') => ("\u{202F}", &r.guillemet_space),
                (_, ';' | '!' | '?') => ("\u{202F}", &r.punctuation_space),
                (_, ':') => ("\u{A0}", &r.punctuation_space),
                (_, '.') if after_next == Some('.') => return None, // " ..."
                (_, '.') if !period_ends => (" ", &r.space),
                (_, ',' | '.' | ')' | ']') | ('(' | '[', _) => none,
                _ => (" ", &r.space),
            }
        } else {
            match (prev, next) {
                (_, '.') if after_next == Some('.') => return None,
                (_, '.') if !period_ends => (" ", &r.space),
                (_, ',' | '.' | ';' | ':' | '!' | '?' | ')' | ']') | ('(' | '[', _) => none,
                _ => (" ", &r.space),
            }
        };
        Some(want)
    }

    /// One line (`text[start..end]`), with buffers reused from line to
    /// line. Positions are byte offsets in `text`; characters are decoded
    /// where a pass looks, not all up front.
    /// `SHORTCUTS`: pass over, while scanning, the single spaces the
    /// spaces pass would leave, and stop there when no byte of the line
    /// [`matters`] (false only in a test that checks so).
    fn line<const SHORTCUTS: bool>(
        &self,
        text: &str,
        (start, end): (usize, usize),
        changes: &mut Vec<Change>,
        buffers: &mut LineBuffers,
    ) {
        buffers.clear();
        let LineBuffers {
            guillemets,
            apostrophes,
            commas,
            french,
            spaces,
            flipped,
        } = buffers;
        // Where the characters the passes act on are: each pass visits
        // those, not the whole line.
        let bytes = text.as_bytes();
        let stops = |p| scan_stops(bytes, (start, end), p, SHORTCUTS);
        let stops16 = |p| scan_stops16(bytes, p, SHORTCUTS);
        let mut stops = Stops::new(end, scan_vector_bounds(bytes, (start, end)), stops16, stops);
        let mut matters_somewhere = false;
        let mut p = start;
        loop {
            p = stops.from(p);
            if p == end {
                break;
            }
            matters_somewhere = matters_somewhere || matters(&text[start..end], p - start);
            let b = bytes[p];
            if b < 0x80 {
                match b {
                    b' ' | b'\t' | 0x0B | 0x0C | b'\r' => spaces.push((p, p + 1)),
                    b'\'' => apostrophes.push(p),
                    b',' => commas.push(p),
                    b';' | b'!' | b'?' | b':' => french.push(p),
                    _ => {}
                }
                p += 1;
                continue;
            }
            let c = text[p..].chars().next().expect("char boundary");
            let len = c.len_utf8();
            match c {
                '«' | '»' => {
                    guillemets.push(p);
                    french.push(p);
                }
                c if is_space(c) => spaces.push((p, p + len)),
                _ => {}
            }
            p += len;
        }
        if SHORTCUTS && !matters_somewhere {
            return;
        }
        let line = LineChars {
            text,
            start,
            end,
            flipped,
        };
        let r = &self.rules;

        if self.french() && self.config.guillemets {
            let next_visible = |p: usize| text[p..end].chars().find(|&c| !is_space(c));
            let mut open = false;
            for &p in guillemets.iter() {
                let after = p + 2; // « and » are two bytes
                match line.at(p) {
                    '«' => {
                        let next = next_visible(after);
                        let closes = next.is_none_or(|c| ",.;:!?)]".contains(c));
                        if open && closes && !line.would_repair_around(p, '»', after) {
                            line.flipped.guillemets.push((p, '»'));
                            changes.push(Change::replace(p..after, "»", &r.closing));
                            open = false;
                        } else {
                            open = true;
                        }
                    }
                    _ => {
                        let next = next_visible(after);
                        // Only after a plain space: » after a no-break space
                        // is the closing form this stage writes.
                        let starts_word = line.before(p).is_none_or(|(_, c)| c == ' ');
                        if !open
                            && starts_word
                            && next.is_some_and(is_alphabetic)
                            && !line.would_repair_around(p, '«', after)
                        {
                            line.flipped.guillemets.push((p, '«'));
                            changes.push(Change::replace(p..after, "«", &r.opening));
                            open = true;
                        } else {
                            open = false;
                        }
                    }
                }
            }
        }

        if self.config.apostrophes {
            for &p in apostrophes.iter() {
                if line.before(p).is_some_and(|(_, c)| is_alphabetic(c))
                    && line.after(p + 1).is_some_and(is_alphabetic)
                    && !line.would_repair_around(p, '’', p + 1)
                {
                    line.flipped.apostrophes.push((p, '’'));
                    changes.push(Change::replace(p..p + 1, "’", &r.apostrophe));
                }
            }
        }

        if !self.config.spaces {
            return;
        }
        // Runs of white space between two visible characters (the passes
        // above write none).
        let mut s = 0;
        while s < spaces.len() {
            let (a, mut i) = spaces[s];
            s += 1;
            while s < spaces.len() && spaces[s].0 == i {
                i = spaces[s].1;
                s += 1;
            }
            let (Some((_, prev)), Some(next)) = (line.before(a), line.after(i)) else {
                continue; // line edges belong to the structure stage
            };
            if i == a + 1
                && bytes[a] == b' '
                && is_alphanumeric(next)
                && !matches!(prev, '«' | '(' | '[')
            {
                continue; // one space between words: the common case
            }
            let run = &text[a..i];
            let after_next = line.after(line.end_of(i));
            if let Some((want, rule)) = self.wanted(prev, next, after_next, run)
                && want != run
                && !want.chars().next().is_some_and(|w| would_repair(prev, w))
            {
                changes.push(Change::replace(a..i, want, rule));
            }
        }
        // Spaces that are missing altogether: after a comma between
        // letters ("Pentagone,elles"; never between digits: 2,5).
        for &p in commas.iter() {
            // (The spaces before a comma go, so look past them.)
            if line.after(p + 1).is_some_and(is_alphabetic)
                && text[start..p]
                    .chars()
                    .rev()
                    .find(|&c| !is_space(c))
                    .is_some_and(is_alphabetic)
            {
                changes.push(Change::insert(p + 1, " ", &r.space_after));
            }
        }
        if self.french() {
            for &p in french.iter() {
                let c = line.at(p);
                let prev = line.before(p).map(|(_, c)| c);
                let next = line.after(line.end_of(p));
                let glued_before = prev.is_some_and(|p| !is_space(p));
                match c {
                    '«' if next.is_some_and(|c| !is_space(c)) => {
                        changes.push(Change::insert(
                            line.end_of(p),
                            NNBSP_STR,
                            &r.guillemet_space,
                        ));
                    }
                    '»' if glued_before && prev != Some('«') => {
                        changes.push(Change::insert(p, NNBSP_STR, &r.guillemet_space));
                    }
                    ';' | '!' | '?'
                        if prev.is_some_and(|p| is_alphanumeric(p) || p == '»' || p == ')')
                            && next.is_none_or(|c| is_space(c) || c == '»' || c == ')') =>
                    {
                        changes.push(Change::insert(p, NNBSP_STR, &r.punctuation_space));
                    }
                    ':' if prev.is_some_and(|p| is_alphabetic(p) && !would_repair(p, NBSP))
                        && next.is_none_or(|c| is_space(c) || c == '»') =>
                    {
                        changes.push(Change::insert(p, NBSP_STR, &r.punctuation_space));
                    }
                    _ => {}
                }
            }
        }
    }

    /// [`Stage::process`], with the line buffers of this thread.
    fn process_with(&self, ctx: &mut StageCtx<'_>, buffers: &mut LineBuffers) {
        let text = ctx.text;
        let mut start = 0;
        loop {
            let end =
                memchr::memchr(b'\n', &text.as_bytes()[start..]).map_or(text.len(), |i| start + i);
            if ctx.in_focus(&(start..end)) {
                // The white space around a line is structure's to trim: a
                // second run will not see it, so neither does this one.
                let line = &text[start..end];
                let lead = line.len() - line.trim_start().len();
                let content = (start + lead, start + lead + line.trim().len());
                self.line::<true>(text, content, &mut ctx.changes, buffers);
            }
            if end == text.len() {
                break;
            }
            start = end + 1;
        }
    }
}

/// Does the byte at `j` of `text` (one line, without its end white space)
/// say that a rule may change the line? A conservative look at the bytes
/// [`Typography::line`] stops at, so that the many lines with nothing to
/// change (words separated by single spaces, commas followed by a space)
/// are not decoded: a guillemet, an apostrophe between letters, a comma
/// before a letter, French punctuation, a control character, white space
/// other than one plain space before a letter or digit (and not after a
/// parenthesis or bracket) all say yes.
fn matters(text: &str, j: usize) -> bool {
    let line = text.as_bytes();
    let letter = |b: Option<&u8>| b.is_some_and(|&b| b.is_ascii_alphabetic() || b >= 0x80);
    let (prev, next) = (j.checked_sub(1).map(|p| &line[p]), line.get(j + 1));
    match line[j] {
        b'\'' => letter(prev) && letter(next),
        b',' => letter(next),
        b';' | b'!' | b'?' | b':' => true,
        0x00..=0x1F => true,
        // (A space is one byte: a character starts after it.)
        b' ' => matches!(prev, Some(b'(' | b'[')) || !text[j + 1..].starts_with(is_alphanumeric),
        // « » (C2 AB, C2 BB); no-break space, NEL (C2 A0, C2 85).
        0xC2 => matches!(next, Some(0xAB | 0xBB | 0xA0 | 0x85)),
        // U+1680, U+2000 to U+200A, U+2028, U+2029, U+202F, U+205F,
        // U+3000: the other white space.
        0xE1 => line[j..].starts_with(&[0xE1, 0x9A, 0x80]),
        0xE2 => is_e2_space(line, j),
        0xE3 => line[j..].starts_with(&[0xE3, 0x80, 0x80]),
        _ => false,
    }
}

/// Does [`Typography::line`] stop at byte `p` of the line `start..end`?
/// At the bytes of [`SCANNED`] but the E2 of characters other than white
/// space, and, with `skip_plain_spaces`, but a plain space the spaces pass
/// would leave: one between a word (or punctuation other than an opening
/// bracket) and an ASCII letter or digit.
fn scan_stops(
    bytes: &[u8],
    (start, end): (usize, usize),
    p: usize,
    skip_plain_spaces: bool,
) -> bool {
    let b = bytes[p];
    let plain_space = b == b' '
        && p > start
        && p + 1 < end
        && bytes[p + 1].is_ascii_alphanumeric()
        && bytes[p - 1] < 0x80
        && !matches!(
            bytes[p - 1],
            b' ' | b'\t' | 0x0B | 0x0C | b'\r' | b'(' | b'['
        );
    SCANNED[usize::from(b)]
        && (b != 0xE2 || is_e2_space(bytes, p))
        && !(skip_plain_spaces && plain_space)
}

/// [`scan_stops`] for the 16 bytes from `p`, which must be within
/// [`scan_vector_bounds`].
fn scan_stops16(bytes: &[u8], p: usize, skip_plain_spaces: bool) -> u32 {
    let (prev, b, next, after) = (
        Lanes::load(bytes, p - 1),
        Lanes::load(bytes, p),
        Lanes::load(bytes, p + 1),
        Lanes::load(bytes, p + 2),
    );
    let e2_space = b.eq(0xE2)
        & ((next.eq(0x80)
            & (after.in_range(0x80, 0x8A) | after.in_range(0xA8, 0xA9) | after.eq(0xAF)))
            | (next.eq(0x81) & after.eq(0x9F)));
    let scanned = b.in_range(0x00, 0x1F)
        | b.in_range(b' ', b'!')
        | b.eq(b'\'')
        | b.eq(b',')
        | b.in_range(b':', b';')
        | b.eq(b'?')
        | b.eq(0xC2)
        | b.eq(0xE1)
        | b.eq(0xE3)
        | e2_space;
    if !skip_plain_spaces {
        return scanned.mask();
    }
    let alnum = next.in_range(b'0', b'9') | next.in_range(b'A', b'Z') | next.in_range(b'a', b'z');
    let after_word = prev.in_range(0x00, 0x7F).and_not(
        prev.eq(b' ') | prev.eq(b'\t') | prev.in_range(0x0B, 0x0D) | prev.eq(b'(') | prev.eq(b'['),
    );
    scanned.and_not(b.eq(b' ') & alnum & after_word).mask()
}

/// Where [`scan_stops16`] may look at the line `start..end`: it reads the
/// byte before and the two after its 16, and may treat each space as one
/// with a byte of the line on either side.
fn scan_vector_bounds(bytes: &[u8], (start, end): (usize, usize)) -> (usize, usize) {
    (
        start + 1,
        end.saturating_sub(1).min(bytes.len().saturating_sub(2)),
    )
}

/// Is the E2 character at `p` white space (U+2000 to U+200A, U+2028,
/// U+2029, U+202F, U+205F)?
fn is_e2_space(bytes: &[u8], p: usize) -> bool {
    matches!(
        bytes.get(p + 1..p + 3),
        Some([0x80, 0x80..=0x8A | 0xA8 | 0xA9 | 0xAF] | [0x81, 0x9F])
    )
}

/// The bytes [`Typography::line`] stops at: the ASCII characters its
/// passes act on, the control characters (a line that holds one matters,
/// and tab, VT, FF and CR are white space), and the first bytes of « »,
/// the no-break spaces and the other white space (C2, E1 to E3). Every
/// other byte, inside a character or not, is passed over.
const SCANNED: [bool; 256] = {
    let mut table = [false; 256];
    let mut b = 0;
    while b < 256 {
        table[b] = matches!(
            b as u8,
            0x00..=0x1F | b' ' | b'\'' | b',' | b';' | b'!' | b'?' | b':' | 0xC2 | 0xE1..=0xE3
        );
        b += 1;
    }
    table
};

/// White space within a line (not a line end).
fn is_space(c: char) -> bool {
    c.is_whitespace() && c != '\n'
}

/// Where the characters [`Typography::line`] acts on are (byte offsets),
/// kept from line to line and document to document (one set per thread),
/// so that its vectors are seldom allocated.
#[derive(Default)]
struct LineBuffers {
    guillemets: Vec<usize>,
    apostrophes: Vec<usize>,
    commas: Vec<usize>,
    /// « » ; ! ? :
    french: Vec<usize>,
    /// White space: where each character starts and ends.
    spaces: Vec<(usize, usize)>,
    flipped: Flipped,
}

/// The characters the passes have changed so far, each list in order of
/// position.
#[derive(Default)]
struct Flipped {
    /// Guillemets turned round.
    guillemets: Vec<(usize, char)>,
    /// Straight apostrophes made curly.
    apostrophes: Vec<(usize, char)>,
}

impl LineBuffers {
    fn clear(&mut self) {
        self.guillemets.clear();
        self.apostrophes.clear();
        self.commas.clear();
        self.french.clear();
        self.spaces.clear();
        self.flipped.guillemets.clear();
        self.flipped.apostrophes.clear();
    }
}

/// The characters of one line as the passes have set them so far: the
/// text, but for the characters in `flipped`.
struct LineChars<'a> {
    text: &'a str,
    start: usize,
    end: usize,
    flipped: &'a mut Flipped,
}

impl LineChars<'_> {
    /// The character at byte `p` (a character start inside the line).
    fn at(&self, p: usize) -> char {
        let find = |list: &[(usize, char)]| {
            list.binary_search_by_key(&p, |&(q, _)| q)
                .ok()
                .map(|i| list[i].1)
        };
        find(&self.flipped.guillemets)
            .or_else(|| find(&self.flipped.apostrophes))
            .unwrap_or_else(|| self.text[p..].chars().next().expect("char boundary"))
    }

    /// Where the character at byte `p` ends in the text (a flipped
    /// apostrophe is longer than the one in the text).
    fn end_of(&self, p: usize) -> usize {
        p + self.text[p..].chars().next().map_or(0, char::len_utf8)
    }

    /// The character starting at byte `p`, if the line goes on there.
    fn after(&self, p: usize) -> Option<char> {
        (p < self.end).then(|| self.at(p))
    }

    /// The character ending at byte `p`, with where it starts.
    fn before(&self, p: usize) -> Option<(usize, char)> {
        let c = self.text[self.start..p].chars().next_back()?;
        let q = p - c.len_utf8();
        Some((q, self.at(q)))
    }

    /// [`would_repair_around`] for `c` in place of the character from
    /// byte `p` to byte `after`, with the three characters either side.
    fn would_repair_around(&self, p: usize, c: char, after: usize) -> bool {
        let mut before = ['\0'; 3];
        let mut n_before = 0;
        let mut q = p;
        while n_before < 3 {
            let Some((start, ch)) = self.before(q) else {
                break;
            };
            n_before += 1;
            before[3 - n_before] = ch;
            q = start;
        }
        let mut next = ['\0'; 3];
        let mut n_after = 0;
        let mut q = after;
        while n_after < 3 {
            let Some(ch) = self.after(q) else {
                break;
            };
            next[n_after] = ch;
            n_after += 1;
            q = self.end_of(q);
        }
        would_repair_around(&before[3 - n_before..], c, &next[..n_after])
    }
}

impl Stage for Typography {
    fn name(&self) -> &'static str {
        "typography"
    }

    fn rules(&self) -> Vec<RuleInfo> {
        RuleInfo::from_docs("typography", RULE_DOCS)
    }

    fn process(&self, ctx: &mut StageCtx<'_>) {
        thread_local! {
            // Kept from document to document, so that they are allocated
            // once per thread.
            static BUFFERS: std::cell::RefCell<LineBuffers> = Default::default();
        }
        BUFFERS.with_borrow_mut(|buffers| {
            self.process_with(ctx, buffers);
            // (A huge line leaves huge buffers: not kept.)
            if buffers.spaces.capacity() > 1 << 16 {
                *buffers = LineBuffers::default();
            }
        });
    }

    /// Each line is set on its own, so the pipeline can run this stage
    /// again on the lines the rule packs change, and them on the lines it
    /// changes.
    fn group(&self) -> Option<Group> {
        Some(Group::Lines)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::edits::{ChangeError, WorkDoc, restore};

    fn run(config: TypographyConfig, input: &str) -> String {
        let stage = Typography::new(config);
        let mut doc = WorkDoc::new(input.into());
        doc.run_stage::<ChangeError>("typography", |ctx| {
            stage.process(ctx);
            Ok(())
        })
        .unwrap();
        let done = doc.finish();
        assert_eq!(restore(&done.text, &done.edits).unwrap(), input);
        done.text
    }

    /// The changes the full look at `line` makes, in both languages.
    fn line_changes<const SHORTCUTS: bool>(line: &str) -> Vec<Change> {
        let mut changes = Vec::new();
        for language in [Language::Fr, Language::En] {
            let stage = Typography::new(TypographyConfig {
                language,
                ..Default::default()
            });
            stage.line::<SHORTCUTS>(
                line,
                (0, line.len()),
                &mut changes,
                &mut LineBuffers::default(),
            );
        }
        changes
    }

    /// Every string of up to three characters from an alphabet of the
    /// characters the rules look at (alone and between letters), and every
    /// line of the samples, trimmed.
    fn sample_lines() -> Vec<String> {
        let alphabet: Vec<char> = "aé2 ,.;:!?'’«»()[]-\u{A0}\u{202F}\u{2009}\t—…\""
            .chars()
            .collect();
        let mut lines: Vec<String> = Vec::new();
        for &a in &alphabet {
            for &b in &alphabet {
                for &c in &alphabet {
                    lines.push(format!("x{a}{b}{c}y"));
                    lines.push(format!("{a}{b}{c}"));
                }
            }
        }
        let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR"));
        for dir in ["seeds", "tests/golden"] {
            for entry in std::fs::read_dir(root.join(dir)).unwrap() {
                let text = std::fs::read_to_string(entry.unwrap().path()).unwrap_or_default();
                lines.extend(text.lines().map(|l| l.trim().to_string()));
            }
        }
        lines
    }

    #[test]
    fn lines_where_nothing_matters_have_nothing_to_change() {
        let mut skipped = 0;
        for line in sample_lines().iter().map(|l| l.trim()) {
            if !(0..line.len()).any(|j| matters(line, j)) {
                skipped += 1;
                let changes = line_changes::<false>(line);
                assert!(changes.is_empty(), "{line:?} skipped but would change");
            }
        }
        assert!(skipped > 1000, "only {skipped} lines skipped");
    }

    #[test]
    fn shortcuts_change_nothing() {
        for line in sample_lines() {
            assert_eq!(
                line_changes::<true>(&line),
                line_changes::<false>(&line),
                "{line:?}"
            );
        }
    }

    #[test]
    fn the_scan_stops_16_bytes_at_a_time_where_it_does_byte_by_byte() {
        let mut lines = sample_lines();
        lines.extend(sample_lines().chunks(7).map(|c| c.concat()));
        for line in &lines {
            let bytes = line.as_bytes();
            // Stops of a line within a longer text, as the stage sees it.
            for (start, end) in [(0, bytes.len()), (1.min(bytes.len()), bytes.len() / 2)] {
                for skip in [true, false] {
                    let stops = |p| scan_stops(bytes, (start, end), p, skip);
                    let stops16 = |p| scan_stops16(bytes, p, skip);
                    let bounds = scan_vector_bounds(bytes, (start, end));
                    let mut fast = Stops::new(end, bounds, stops16, stops);
                    let mut slow = Stops::new(end, (0, 0), stops16, stops);
                    let (mut p, mut q) = (start, start);
                    while p < end {
                        p = fast.from(p);
                        q = slow.from(q);
                        assert_eq!(p, q, "{line:?} {start}..{end}");
                        p += 1;
                        q += 1;
                    }
                }
            }
        }
    }

    #[test]
    fn french() {
        let n = "\u{A0}";
        let nn = "\u{202F}";
        let cases = [
            ("l'Irak d'un", "l’Irak d’un".to_string()),
            ("qu’ «\u{A0}il", format!("qu’ «{nn}il")),
            ("de là\u{A0}».", format!("de là{nn}».")),
            (
                "«rupture diplomatique»,",
                format!("«{nn}rupture diplomatique{nn}»,"),
            ),
            ("« Sky News Arabia »", format!("«{nn}Sky News Arabia{nn}»")),
            (
                "«\u{A0}L’escalade … l’Irak«\u{A0}, a déclaré",
                format!("«{nn}L’escalade … l’Irak{nn}», a déclaré"),
            ),
            ("Irak : L’ambassadrice", format!("Irak{n}: L’ambassadrice")),
            ("Irak: la", format!("Irak{n}: la")),
            (
                "à 20:18 et http://x.fr/?a=1;b",
                "à 20:18 et http://x.fr/?a=1;b".to_string(),
            ),
            (
                "Pourquoi ? Vraiment!",
                format!("Pourquoi{nn}? Vraiment{nn}!"),
            ),
            (
                "haut\u{A0}commandant  des",
                "haut commandant des".to_string(),
            ),
            ("nucléaire.\u{A0}Aucune", "nucléaire. Aucune".to_string()),
            (
                "2\u{A0}500 soldats, 2 500 autres",
                "2\u{A0}500 soldats, 2 500 autres".to_string(),
            ),
            ("Copyright 2024 . All", "Copyright 2024. All".to_string()),
            ("attendez ...", "attendez ...".to_string()),
            ("( le 3 janvier )", "(le 3 janvier)".to_string()),
            (
                "»Sans l’intervention",
                "«\u{202F}Sans l’intervention".to_string(),
            ),
        ];
        for (input, want) in cases {
            assert_eq!(run(TypographyConfig::default(), input), want, "{input:?}");
        }
    }

    #[test]
    fn english() {
        let en = TypographyConfig {
            language: Language::En,
            ..TypographyConfig::default()
        };
        assert_eq!(
            run(en.clone(), "Iran 's\u{A0}move : why ?"),
            "Iran 's move: why?"
        );
        assert_eq!(run(en, "don't"), "don’t");
    }

    #[test]
    fn idempotent() {
        let input = "«\u{A0}L’escalade » : l'Irak« , a-t-il dit ;  fin !";
        let once = run(TypographyConfig::default(), input);
        assert_eq!(run(TypographyConfig::default(), &once), once);
    }
}
