//! **unicode**: canonical composition (NFC) and the invisible characters
//! scrapers leave behind: zero-width characters, soft hyphens, control and
//! bidi characters, exotic spaces, ligatures.
//!
//! No-break spaces (U+00A0, U+202F) are kept: they carry French
//! typography, which the typography stage handles.

use crate::letters::is_alphanumeric;
use std::ops::Range;
use std::sync::Arc;

use serde::Deserialize;
use unicode_normalization::{IsNormalized, UnicodeNormalization, is_nfc_quick};

use crate::edits::{Change, StageCtx};
use crate::lanes::{Lanes, Stops};
use crate::stages::mojibake::{CP1252_HIGH, cp1252_byte};
use crate::stages::{Group, OptionDoc, RuleDoc, RuleInfo, Stage};

/// Options of the `unicode` stage; each switches one family of fixes.
#[derive(Clone, Debug, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct UnicodeConfig {
    /// Compose characters (NFC): `e` + U+0301 → `é`.
    pub nfc: bool,
    /// Remove zero-width spaces and joiners, word joiners and stray BOMs.
    pub zero_width: bool,
    /// Remove soft hyphens (U+00AD).
    pub soft_hyphens: bool,
    /// Remove control characters (C0 but tab and line feed, DEL, C1) and
    /// the object replacement character.
    pub controls: bool,
    /// Remove bidirectional formatting characters (LRM, RLM, embeddings).
    pub bidi_controls: bool,
    /// Turn space variants (en, em, thin, hair, figure, ideographic, tab…)
    /// into a plain space, and a run of them into one.
    pub spaces: bool,
    /// Turn line and paragraph separators, NEL, VT and FF into `\n`.
    pub line_separators: bool,
    /// Spell out typographic ligatures (ﬁ → fi).
    pub ligatures: bool,
}

impl Default for UnicodeConfig {
    fn default() -> Self {
        UnicodeConfig {
            nfc: true,
            zero_width: true,
            soft_hyphens: true,
            controls: true,
            bidi_controls: true,
            spaces: true,
            line_separators: true,
            ligatures: true,
        }
    }
}

/// The fix for one character.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Fix {
    Drop(Rule),
    To(Rule, &'static str),
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Rule {
    ZeroWidth,
    SoftHyphen,
    Control,
    Bidi,
    Space,
    LineSeparator,
    Ligature,
    C1,
}

const RULES: [&str; 9] = [
    "unicode/zero-width",
    "unicode/soft-hyphen",
    "unicode/control",
    "unicode/bidi-control",
    "unicode/space",
    "unicode/line-separator",
    "unicode/ligature",
    "unicode/c1-control",
    "unicode/nfc",
];
const NFC: usize = 8;

/// The options of `unicode`, for `lavoir stages`.
pub const OPTIONS: &[OptionDoc] = &[
    OptionDoc {
        name: "nfc",
        default: "true",
        doc: "compose characters (NFC)",
    },
    OptionDoc {
        name: "zero_width",
        default: "true",
        doc: "remove zero-width characters and stray BOMs",
    },
    OptionDoc {
        name: "soft_hyphens",
        default: "true",
        doc: "remove soft hyphens",
    },
    OptionDoc {
        name: "controls",
        default: "true",
        doc: "remove control characters; C1 controls become their Windows-1252 characters",
    },
    OptionDoc {
        name: "bidi_controls",
        default: "true",
        doc: "remove bidirectional formatting characters",
    },
    OptionDoc {
        name: "spaces",
        default: "true",
        doc: "tabs and space variants become a plain space, a run of them one space",
    },
    OptionDoc {
        name: "line_separators",
        default: "true",
        doc: "U+2028, U+2029, VT, FF become LF",
    },
    OptionDoc {
        name: "ligatures",
        default: "true",
        doc: "spell out typographic ligatures",
    },
];

/// The rules of the `unicode` stage.
pub const RULE_DOCS: &[RuleDoc] = &[
    RuleDoc {
        id: "unicode/zero-width",
        summary: "Removes zero-width spaces, word joiners, stray byte order marks, and zero-width joiners that do not stand between two letters (or emoji) of other scripts: invisible characters that split words for search and matching.",
        example: ("Bag\u{200B}dad", "Bagdad"),
    },
    RuleDoc {
        id: "unicode/soft-hyphen",
        summary: "Removes soft hyphens (U+00AD), invisible hyphenation hints that split words for search and matching.",
        example: ("ambas\u{AD}sades", "ambassades"),
    },
    RuleDoc {
        id: "unicode/control",
        summary: "Removes control characters (C0 but tab and line ends, DEL) and the object replacement character left where a picture was.",
        example: ("Bagdad\u{7}\u{FFFC}", "Bagdad"),
    },
    RuleDoc {
        id: "unicode/bidi-control",
        summary: "Removes bidirectional formatting characters (LRM, RLM, embeddings, isolates) pasted in with names from right-to-left pages.",
        example: ("\u{200F}Irak\u{202C}", "Irak"),
    },
    RuleDoc {
        id: "unicode/space",
        summary: "Turns tabs and space variants (en, em, thin, hair, figure, ideographic) into a plain space, and a run of them (no-break spaces included) into its first; a lone no-break space is left to typography.",
        example: (
            "haut\u{2009}commandant\t\tiranien",
            "haut commandant iranien",
        ),
    },
    RuleDoc {
        id: "unicode/line-separator",
        summary: "Turns Unicode line and paragraph separators, vertical tabs and form feeds into LF.",
        example: ("Titre\u{2028}Texte.", "Titre\nTexte."),
    },
    RuleDoc {
        id: "unicode/ligature",
        summary: "Spells out typographic ligatures (ﬁ, ﬂ, ﬀ…), which PDF extraction leaves and which break search.",
        example: ("ef\u{FB01}cace", "efficace"),
    },
    RuleDoc {
        id: "unicode/c1-control",
        summary: "Writes C1 control characters as the Windows-1252 characters they stand for (text read as Latin-1): U+0092 is ’, U+0085 is …",
        example: ("l\u{92}Irak\u{85}", "l’Irak…"),
    },
    RuleDoc {
        id: "unicode/nfc",
        summary: "Composes characters (NFC): a letter followed by a combining accent becomes the accented letter, so that equal texts compare equal.",
        example: ("e\u{301}te\u{301}", "été"),
    },
];

/// The `unicode` stage.
pub struct Unicode {
    config: UnicodeConfig,
    rules: Vec<Arc<str>>,
}

impl Unicode {
    pub fn new(config: UnicodeConfig) -> Self {
        Unicode {
            config,
            rules: RULES.iter().map(|r| Arc::from(*r)).collect(),
        }
    }

    /// What to do with the character `c` at byte `i` of `text`. A
    /// joiner is judged by its visible neighbours: the invisible characters
    /// beside it may go in this very pass, and the decision must be the
    /// same when the clean text is cleaned again.
    fn fix_at(&self, text: &str, i: usize, c: char) -> Option<Fix> {
        let (before, after) = (&text[..i], &text[i + c.len_utf8()..]);
        if is_space(c) {
            // A run of spaces is a run even with a control character (that
            // goes in this pass) inside it, a C1 control that stands for
            // nothing (U+0081, U+008D, U+008F, U+0090, U+009D) included.
            let prev = before
                .char_indices()
                .rev()
                .find(|&(j, p)| {
                    let goes = matches!(
                        self.fix(p, before[..j].chars().next_back(), None),
                        Some(Fix::Drop(Rule::C1))
                    );
                    !(vanishes(p) || goes)
                })
                .map(|(_, p)| p);
            self.fix(c, prev, after.chars().next())
        } else if matches!(c, '\u{200C}' | '\u{200D}') {
            // As the neighbours will read once fixed: "ﬀ" becomes "ff".
            let prev = before.chars().rev().find(|&p| !vanishes(p));
            let next = after.chars().find(|&n| !vanishes(n));
            let prev = prev.map(|p| self.as_fixed(p, |s| s.chars().next_back()));
            let next = next.map(|n| self.as_fixed(n, |s| s.chars().next()));
            self.fix(c, prev, next)
        } else {
            self.fix(c, before.chars().next_back(), after.chars().next())
        }
    }

    /// The character `c` reads as once fixed on its own (`pick` chooses
    /// one of the characters it becomes), or `c` when it has no fix.
    fn as_fixed(&self, c: char, pick: impl Fn(&str) -> Option<char>) -> char {
        match self.fix(c, None, None) {
            Some(Fix::To(_, new)) => pick(new).unwrap_or(c),
            _ => c,
        }
    }

    /// What to do with `c`, given its neighbours (for joiners).
    fn fix(&self, c: char, prev: Option<char>, next: Option<char>) -> Option<Fix> {
        let cfg = &self.config;
        let fix = match c {
            '\u{200B}' | '\u{2060}' | '\u{FEFF}' | '\u{180E}' if cfg.zero_width => {
                Fix::Drop(Rule::ZeroWidth)
            }
            // Joiners matter inside Persian, Arabic or Indic words and emoji:
            // they stay only between two letters (or marks, emoji) of other
            // scripts. Next to punctuation, typography may put a space
            // beside them, and they would go on the next run.
            '\u{200C}' | '\u{200D}' if cfg.zero_width => {
                let joins = |n: Option<char>| {
                    n.is_some_and(|n| {
                        !n.is_ascii()
                            && (is_alphanumeric(n)
                                || unicode_normalization::char::canonical_combining_class(n) != 0
                                || matches!(n, '\u{FE0F}' | '\u{2600}'..='\u{27BF}' | '\u{1F000}'..))
                    })
                };
                if !(joins(prev) && joins(next)) {
                    Fix::Drop(Rule::ZeroWidth)
                } else {
                    return None;
                }
            }
            '\u{00AD}' if cfg.soft_hyphens => Fix::Drop(Rule::SoftHyphen),
            '\u{0B}' | '\u{0C}' | '\u{2028}' | '\u{2029}' if cfg.line_separators => {
                Fix::To(Rule::LineSeparator, "\n")
            }
            // A run of spaces becomes one: rules that bound a line's length
            // must see the lengths the clean text will have.
            c if cfg.spaces && is_space(c) && prev.is_some_and(is_space) => Fix::Drop(Rule::Space),
            '\t' | '\u{2000}'..='\u{200A}' | '\u{205F}' | '\u{3000}' | '\u{1680}' if cfg.spaces => {
                Fix::To(Rule::Space, " ")
            }
            // A C1 control after a character Windows-1252 has a high byte
            // for is likely a piece of mojibake ("â\u{80}\u{99}"): left for
            // the mojibake stage.
            '\u{80}'..='\u{84}' | '\u{86}'..='\u{9F}'
                if prev.is_some_and(|p| p >= '\u{80}' && cp1252_byte(p).is_some()) =>
            {
                return None;
            }
            // Other C1 controls are Windows-1252 characters read as Latin-1
            // ("\u{92}" for ’, "\u{85}" for …): written as such.
            '\u{80}'..='\u{9F}' if cfg.controls => match CP1252_HIGH[c as usize - 0x80] {
                "" => Fix::Drop(Rule::C1),
                text => Fix::To(Rule::C1, text),
            },
            // \r is left to `decode`, which owns line ends.
            '\u{0}'..='\u{8}' | '\u{0E}'..='\u{1F}' | '\u{7F}' | '\u{FFFC}' if cfg.controls => {
                Fix::Drop(Rule::Control)
            }
            '\u{200E}'
            | '\u{200F}'
            | '\u{061C}'
            | '\u{202A}'..='\u{202E}'
            | '\u{2066}'..='\u{2069}'
                if cfg.bidi_controls =>
            {
                Fix::Drop(Rule::Bidi)
            }
            '\u{FB00}'..='\u{FB06}' if cfg.ligatures => Fix::To(
                Rule::Ligature,
                ["ff", "fi", "fl", "ffi", "ffl", "st", "st"][c as usize - 0xFB00],
            ),
            _ => return None,
        };
        Some(fix)
    }

    fn rule(&self, rule: Rule) -> &Arc<str> {
        &self.rules[rule as usize]
    }

    /// Fast path: the text is NFC; only characters with a fix change.
    /// Returns false (and leaves no changes) when the text may not be NFC
    /// (NFC's quick check, made along the way on the characters from U+0300
    /// on) or when a removal would bring a combining mark next to a new
    /// neighbour: then composition must be redone, by the slow path.
    fn fix_characters(&self, text: &str, region: Range<usize>, changes: &mut Vec<Change>) -> bool {
        let bytes = text.as_bytes();
        let first_change = changes.len();
        let mut nfc = NfcQuickCheck::default();
        let mut to_look_at = to_look_at(bytes, region.end);
        let mut i = region.start;
        while i < region.end {
            i = to_look_at.from(i);
            if i == region.end {
                break;
            }
            let b = bytes[i];
            let second_space = b == b' '
                && i > 0
                && matches!(bytes[i - 1], b' ' | b'\t' | 0x00..=0x1F | 0x7F | 0x80..);
            if ((0x20..0x7F).contains(&b) && !second_space) || b == b'\n' || b == b'\r' {
                i += 1;
                continue;
            }
            if let Some(len) = no_fix_len(&bytes[i..]).or_else(|| kept_space_len(text, i)) {
                // Those of three bytes (U+2010 to U+203F, U+202F) are NFC
                // starters; the others are below U+0300.
                if len == 3 {
                    nfc.starter();
                }
                i += len;
                continue;
            }
            let c = text[i..].chars().next().expect("char boundary");
            let len = c.len_utf8();
            if self.config.nfc && c >= '\u{300}' && !nfc.accepts(c) {
                changes.truncate(first_change);
                return false;
            }
            if let Some(fix) = self.fix_at(text, i, c) {
                let next = text[i + len..].chars().next();
                let (rule, new) = match fix {
                    Fix::Drop(rule) => (rule, ""),
                    Fix::To(rule, new) => (rule, new),
                };
                if next.is_some_and(|n| !is_stable_start(n)) {
                    changes.truncate(first_change);
                    return false;
                }
                push_merged(changes, i..i + len, new, self.rule(rule));
            }
            i += len;
        }
        true
    }

    /// Slow path: work segment by segment (a segment ends before a
    /// character that never combines with what precedes it and has no fix
    /// of its own), fixing characters and composing, one change per
    /// changed segment.
    fn fix_and_compose(&self, text: &str, region: Range<usize>, changes: &mut Vec<Change>) {
        let mut start = region.start;
        let mut iter = text[region.clone()]
            .char_indices()
            .map(|(i, c)| (region.start + i, c))
            .peekable();
        while let Some((i, c)) = iter.next() {
            let end = i + c.len_utf8();
            let boundary = match iter.peek() {
                None => true,
                Some(&(j, n)) => is_stable_start(n) && self.fix_at(text, j, n).is_none(),
            };
            if boundary {
                self.fix_segment(text, start..end, changes);
                start = end;
            }
        }
    }

    fn fix_segment(&self, text: &str, range: std::ops::Range<usize>, changes: &mut Vec<Change>) {
        let segment = &text[range.clone()];
        let mut fixed = String::with_capacity(segment.len());
        let mut first_rule = None;
        for (j, c) in segment.char_indices() {
            match self.fix_at(text, range.start + j, c) {
                Some(Fix::Drop(rule)) => {
                    first_rule.get_or_insert(rule);
                }
                Some(Fix::To(rule, new)) => {
                    first_rule.get_or_insert(rule);
                    fixed.push_str(new);
                }
                None => fixed.push(c),
            }
        }
        let composed: String = if self.config.nfc {
            fixed.nfc().collect()
        } else {
            fixed
        };
        if composed != segment {
            let rule = match first_rule {
                Some(rule) => self.rule(rule),
                None => &self.rules[NFC],
            };
            push_merged(changes, range, &composed, rule);
        }
    }
}

/// The length of the character `bytes` starts with when it is one of the
/// common characters that have no fix (accented letters, dashes, quotes):
/// they are skipped without decoding them.
fn no_fix_len(bytes: &[u8]) -> Option<usize> {
    match *bytes {
        // U+00C0 to U+02FF.
        [0xC3..=0xCB, ..] => Some(2),
        // U+00A1 to U+00BF but the soft hyphen.
        [0xC2, 0xA1..=0xBF, ..] if bytes[1] != 0xAD => Some(2),
        // U+2010 to U+2027 and U+2030 to U+203F: dashes, quotes, bullets.
        [0xE2, 0x80, 0x90..=0xA7 | 0xB0..=0xBF, ..] => Some(3),
        _ => None,
    }
}

/// The length of the space at `i` when it is a plain, no-break or narrow
/// no-break space after a character that is neither a space nor one that
/// vanishes (as after "’", "»" or "…"): such a space has no fix, found
/// without [`Unicode::fix_at`]'s look back.
fn kept_space_len(text: &str, i: usize) -> Option<usize> {
    let len = match text.as_bytes()[i..] {
        [b' ', ..] => 1,
        [0xC2, 0xA0, ..] => 2,
        [0xE2, 0x80, 0xAF, ..] => 3,
        _ => return None,
    };
    let keeps = |p: char| !(is_space(p) || vanishes(p) || ('\u{80}'..='\u{9F}').contains(&p));
    text[..i]
        .chars()
        .next_back()
        .is_none_or(keeps)
        .then_some(len)
}

/// Can the byte at `i` be passed over? True for printable ASCII, line
/// ends, the bytes of characters from U+00C0 to U+02FF (accented letters),
/// a continuation byte of any character, and a space after a visible
/// character of those: the loop in `fix_characters` has nothing to do
/// there. (A space after any other character is looked at.)
fn passes_over(bytes: &[u8], i: usize) -> bool {
    let b = bytes[i];
    let printable = |b: u8| (0x21..=0x7E).contains(&b);
    let continues = |b: u8| (0x80..=0xBF).contains(&b);
    let letter = |b: u8| (0xC3..=0xCB).contains(&b);
    let after_visible = i >= 1
        && (printable(bytes[i - 1]) || (i >= 2 && continues(bytes[i - 1]) && letter(bytes[i - 2])));
    printable(b)
        || b == b'\n'
        || b == b'\r'
        || continues(b)
        || letter(b)
        || (b == b' ' && after_visible)
}

/// The bytes up to `end` that [`passes_over`] does not pass over, 16 at a
/// time. None is a continuation byte: a character starts at each.
fn to_look_at(
    bytes: &[u8],
    end: usize,
) -> Stops<impl Fn(usize) -> u32 + '_, impl Fn(usize) -> bool + '_> {
    let stops16 = move |i| {
        // The 16 bytes from `i`, and the same shifted by one and two bytes:
        // what comes before each.
        let (b, p, pp) = (
            Lanes::load(bytes, i),
            Lanes::load(bytes, i - 1),
            Lanes::load(bytes, i - 2),
        );
        let letter = |v: Lanes| v.in_range(0xC3, 0xCB);
        let after_visible = p.in_range(0x21, 0x7E) | (p.in_range(0x80, 0xBF) & letter(pp));
        let passed = b.in_range(0x21, 0x7E)
            | b.eq(b'\n')
            | b.eq(b'\r')
            | b.in_range(0x80, 0xBF)
            | letter(b)
            | (b.eq(b' ') & after_visible);
        !passed.mask() & 0xFFFF
    };
    Stops::new(end, (2, bytes.len()), stops16, move |i| {
        !passes_over(bytes, i)
    })
}

/// NFC's quick check, one character at a time, on the characters from
/// U+0300 on (those below never combine with what precedes them).
#[derive(Default)]
struct NfcQuickCheck {
    /// Combining class of the last character checked.
    last_class: u8,
}

impl NfcQuickCheck {
    /// Is the text surely still NFC with `c` next? False means "maybe not".
    fn accepts(&mut self, c: char) -> bool {
        let class = unicode_normalization::char::canonical_combining_class(c);
        if class != 0 && self.last_class > class {
            return false;
        }
        self.last_class = class;
        is_nfc_quick(std::iter::once(c)) == IsNormalized::Yes
    }

    /// Next is a character from U+0300 on known to be an NFC starter.
    fn starter(&mut self) {
        self.last_class = 0;
    }
}

/// A plain space, a character `spaces` turns into one, or a no-break
/// space: in a run of them, all but the first go (typography then makes
/// the one left a plain or a no-break space).
fn is_space(c: char) -> bool {
    matches!(
        c,
        ' ' | '\t' | '\u{A0}' | '\u{202F}' | '\u{2000}'
            ..='\u{200A}' | '\u{205F}' | '\u{3000}' | '\u{1680}'
    )
}

/// Invisible characters this stage may remove, skipped when a joiner or
/// a space looks for its neighbours.
pub(crate) fn vanishes(c: char) -> bool {
    matches!(
        c,
        '\u{0}'..='\u{8}'
            | '\u{E}'..='\u{1F}'
            | '\u{7F}'
            | '\u{FFFC}'
            | '\u{200B}'..='\u{200F}'
            | '\u{2060}'
            | '\u{FEFF}'
            | '\u{180E}'
            | '\u{00AD}'
            | '\u{061C}'
            | '\u{202A}'..='\u{202E}'
            | '\u{2066}'..='\u{2069}'
    )
}

/// A character with combining class 0 that is NFC-stable: nothing before
/// it can compose with it.
fn is_stable_start(c: char) -> bool {
    c.is_ascii()
        || (unicode_normalization::char::canonical_combining_class(c) == 0
            && is_nfc_quick(std::iter::once(c)) == IsNormalized::Yes)
}

/// Pushes a change, merging it with the previous one when they touch and
/// come from the same rule (a run of zero-width spaces is one edit).
fn push_merged(
    changes: &mut Vec<Change>,
    range: std::ops::Range<usize>,
    new: &str,
    rule: &Arc<str>,
) {
    if let Some(last) = changes.last_mut()
        && last.range.end == range.start
        && Arc::ptr_eq(&last.rule, rule)
        && !last.rule.ends_with("nfc")
    {
        last.range.end = range.end;
        last.new.push_str(new);
        return;
    }
    changes.push(Change::replace(range, new, rule));
}

impl Stage for Unicode {
    fn name(&self) -> &'static str {
        "unicode"
    }

    fn rules(&self) -> Vec<RuleInfo> {
        RuleInfo::from_docs("unicode", RULE_DOCS)
    }

    fn process(&self, ctx: &mut StageCtx<'_>) {
        let text = ctx.text;
        for region in ctx.regions() {
            if !self.fix_characters(text, region.clone(), &mut ctx.changes) {
                self.fix_and_compose(text, region, &mut ctx.changes);
            }
        }
    }

    /// Every character is judged by its neighbours on its line: the
    /// pipeline runs this stage again on the lines a repair of `mojibake`
    /// changed ("Â\u{A0}" becomes a no-break space beside a space).
    fn group(&self) -> Option<Group> {
        Some(Group::Characters)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::edits::{ChangeError, WorkDoc, restore};

    fn clean(input: &str) -> (String, Vec<String>) {
        let stage = Unicode::new(UnicodeConfig::default());
        let mut doc = WorkDoc::new(input.to_string());
        doc.run_stage::<ChangeError>("unicode", |ctx| {
            stage.process(ctx);
            Ok(())
        })
        .unwrap();
        let done = doc.finish();
        assert_eq!(restore(&done.text, &done.edits).unwrap(), input);
        let rules = done.edits.iter().map(|e| e.rule.to_string()).collect();
        (done.text, rules)
    }

    #[test]
    fn characters_skipped_unread_have_no_fix() {
        let stage = Unicode::new(UnicodeConfig::default());
        for c in ('\u{80}'..='\u{3000}').chain(['\u{FB01}', '\u{FEFF}']) {
            let text = format!("a{c}b");
            let skipped = no_fix_len(&text.as_bytes()[1..]);
            if skipped.is_some() {
                assert_eq!(skipped, Some(c.len_utf8()), "{c:?}");
                assert!(stage.fix_at(&text, 1, c).is_none(), "{c:?} has a fix");
                assert!(is_stable_start(c), "{c:?} combines");
            }
        }
        // A space after a letter passed over by `to_look_at` has no fix.
        for c in '\u{C0}'..='\u{2FF}' {
            let text = format!("{c} b");
            assert!(stage.fix_at(&text, c.len_utf8(), ' ').is_none(), "{c:?}");
        }
        // The fast path gives up on text that may not be NFC.
        let fast = |text: &str| stage.fix_characters(text, 0..text.len(), &mut Vec::new());
        assert!(fast("déjà l’Irak « x » 한국어"));
        assert!(!fast("de\u{301}ja\u{300}"));
        assert!(!fast("\u{1100}\u{1161}")); // Hangul jamo compose
        assert!(!fast("a\u{350}\u{316}")); // marks out of order
        assert!(fast("a\u{350}\u{2014}\u{316}")); // a dash between them
    }

    #[test]
    fn bytes_passed_over_have_nothing_to_fix() {
        // Random strings of characters around the ones the scan passes
        // over; every character it passes over must have no fix, and the
        // vector scan must stop where the byte-by-byte test does.
        let stage = Unicode::new(UnicodeConfig::default());
        let alphabet = [
            "a", "Z", " ", "é", "ʼ", "\n", "\r", ".", "  ", "\t", "\u{A0}", "\u{2009}", "\u{AD}",
            "e\u{301}", "’", "\u{7}", "\u{85}", "\u{200B}", "\u{200D}", "ﬀ", "Ω", "\u{202F}",
        ];
        let mut passed = 0;
        // Mostly the first nine, which the scan passes over.
        for text in crate::lanes::test_strings(&alphabet, (9, 8), 24, 20_000, 0x2545_F491_4F6C_DD1D)
        {
            let bytes = text.as_bytes();
            for i in (0..bytes.len()).filter(|&i| text.is_char_boundary(i)) {
                let stop = to_look_at(bytes, bytes.len()).from(i);
                let first = (i..bytes.len()).find(|&j| !passes_over(bytes, j));
                assert_eq!(stop, first.unwrap_or(bytes.len()), "{text:?} from {i}");
                assert!(text.is_char_boundary(stop));
                passed += text[i..stop].chars().count();
                if kept_space_len(&text, i).is_some() {
                    let c = text[i..].chars().next().unwrap();
                    assert!(stage.fix_at(&text, i, c).is_none(), "{text:?} at {i}");
                }
                for (j, c) in text[i..stop].char_indices() {
                    assert!(
                        stage.fix_at(&text, i + j, c).is_none(),
                        "{text:?} at {}",
                        i + j
                    );
                }
            }
        }
        assert!(passed > 100_000, "only {passed} characters passed over");
    }

    #[test]
    fn table() {
        let cases: &[(&str, &str, &[&str])] = &[
            ("déjà vu", "déjà vu", &[]),
            ("e\u{301}te\u{301}", "été", &["unicode/nfc", "unicode/nfc"]),
            ("ambas\u{AD}sades", "ambassades", &["unicode/soft-hyphen"]),
            ("a\u{200B}\u{200B}b", "ab", &["unicode/zero-width"]),
            ("\u{FEFF}Titre", "Titre", &["unicode/zero-width"]),
            (
                "a\u{2009}b\u{3000}c",
                "a b c",
                &["unicode/space", "unicode/space"],
            ),
            ("a\tb", "a b", &["unicode/space"]),
            ("a  \t\u{2009}b", "a b", &["unicode/space"]),
            ("a \u{A0} b", "a b", &["unicode/space"]),
            (
                "2\u{A0}500 et «\u{202F}texte\u{202F}»",
                "2\u{A0}500 et «\u{202F}texte\u{202F}»",
                &[],
            ),
            (
                "x\u{7}y\u{FFFC}",
                "xy",
                &["unicode/control", "unicode/control"],
            ),
            (
                "l\u{92}Irak\u{85} fin\u{81}",
                "l’Irak… fin",
                &[
                    "unicode/c1-control",
                    "unicode/c1-control",
                    "unicode/c1-control",
                ],
            ),
            (
                "\u{200F}Irak\u{202C}",
                "Irak",
                &["unicode/bidi-control", "unicode/bidi-control"],
            ),
            ("a\u{2028}b", "a\nb", &["unicode/line-separator"]),
            ("ef\u{FB01}cace", "efficace", &["unicode/ligature"]),
            // Lone no-break spaces belong to typography; CR to decode.
            (
                "l’Irak\u{A0}: 20:18\u{202F}»\r\n",
                "l’Irak\u{A0}: 20:18\u{202F}»\r\n",
                &[],
            ),
            // In a run of spaces, the first stays.
            ("20:18 \u{202F}»", "20:18 »", &["unicode/space"]),
            // A joiner inside a Persian word stays, next to Latin it goes.
            ("می\u{200C}خواهم", "می\u{200C}خواهم", &[]),
            // Judged by the visible neighbours: both go.
            ("ےے\u{200C}\u{200C}i", "ےےi", &["unicode/zero-width"]),
            ("Iran\u{200D} ", "Iran ", &["unicode/zero-width"]),
            // A C1 control that stands for nothing goes: still one run.
            (
                "a \u{90}\u{A0}b",
                "a b",
                &["unicode/c1-control", "unicode/space"],
            ),
            // By the neighbours as they will read: "ﬀ" is "ff" (Latin).
            (
                "ﬀ\u{200D}ے",
                "ffے",
                &["unicode/ligature", "unicode/zero-width"],
            ),
            // Fixes and composition in the same segment.
            ("e\u{AD}\u{301}", "é", &["unicode/soft-hyphen"]),
        ];
        for (input, want, rules) in cases {
            let (got, got_rules) = clean(input);
            assert_eq!(&got, want, "input {input:?}");
            assert_eq!(&got_rules, rules, "input {input:?}");
        }
    }

    #[test]
    fn switched_off_fixes_do_nothing() {
        let stage = Unicode::new(UnicodeConfig {
            soft_hyphens: false,
            ..UnicodeConfig::default()
        });
        let mut doc = WorkDoc::new("ambas\u{AD}sades".into());
        doc.run_stage::<ChangeError>("unicode", |ctx| {
            stage.process(ctx);
            Ok(())
        })
        .unwrap();
        assert_eq!(doc.text, "ambas\u{AD}sades");
    }
}
