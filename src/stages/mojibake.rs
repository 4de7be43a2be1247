//! **mojibake**: repairs text that was UTF-8 but was read as Windows-1252
//! or Latin-1 ("Ã©" → "é", "lâ€™" → "l’", "Â«" → "«"), in whole documents
//! or in parts of them, including text garbled twice.
//!
//! It runs after `unicode` (so it sees composed text without invisible
//! characters), which leaves C1 controls that follow such characters for
//! it: Latin-1 readings put them in the middle of sequences ("â\u{80}\u{99}").
//!
//! Each run of characters that Windows-1252 (or Latin-1) would write as
//! bytes 0x80–0xFF is turned back into those bytes; complete UTF-8
//! sequences inside it are decoded. A repair is kept only when it gives a
//! character such mistakes produce: Latin-1 and Latin Extended-A letters,
//! common punctuation, or letters of other scripts, but not the rare
//! letters that legitimate text such as «CAFÉ» would give (É» → ɻ). ftfy is
//! the reference for what to fix and what to leave.

use std::ops::Range;
use std::sync::Arc;

use serde::Deserialize;

use crate::edits::{Change, StageCtx};
use crate::lanes::{Lanes, Stops};
use crate::stages::{Group, RuleDoc, RuleInfo, Stage};

/// Options of the `mojibake` stage (none besides `enabled`).
#[derive(Clone, Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct MojibakeConfig {}

/// The rules of the `mojibake` stage.
pub const RULE_DOCS: &[RuleDoc] = &[
    RuleDoc {
        id: "mojibake/utf8-read-as-cp1252",
        summary: "Repairs UTF-8 text that was read as Windows-1252 or Latin-1, even twice over; correct text that only looks like it is left alone.",
        example: ("lâ€™Ã©tÃ© Ã‰tats-Unis", "l’été États-Unis"),
    },
    RuleDoc {
        id: "mojibake/a-grave",
        summary: "Repairs a lone \"Ã\" after a word or an apostrophe: \"à\" whose no-break space became a plain space.",
        example: (
            "voyage Ã Paris jusqu'Ã demain",
            "voyage à Paris jusqu'à demain",
        ),
    },
];

/// The `mojibake` stage.
pub struct Mojibake {
    rule: Arc<str>,
    a_grave: Arc<str>,
}

impl Default for Mojibake {
    fn default() -> Self {
        Mojibake {
            rule: Arc::from("mojibake/utf8-read-as-cp1252"),
            a_grave: Arc::from("mojibake/a-grave"),
        }
    }
}

/// The byte Windows-1252 (or Latin-1, for C1 controls) writes `c` as.
pub(crate) fn cp1252_byte(c: char) -> Option<u8> {
    let b = match c {
        '\u{80}'..='\u{FF}' => c as u32 as u8,
        '€' => 0x80,
        '‚' => 0x82,
        'ƒ' => 0x83,
        '„' => 0x84,
        '…' => 0x85,
        '†' => 0x86,
        '‡' => 0x87,
        'ˆ' => 0x88,
        '‰' => 0x89,
        'Š' => 0x8A,
        '‹' => 0x8B,
        'Œ' => 0x8C,
        'Ž' => 0x8E,
        '‘' => 0x91,
        '’' => 0x92,
        '“' => 0x93,
        '”' => 0x94,
        '•' => 0x95,
        '–' => 0x96,
        '—' => 0x97,
        '˜' => 0x98,
        '™' => 0x99,
        'š' => 0x9A,
        '›' => 0x9B,
        'œ' => 0x9C,
        'ž' => 0x9E,
        'Ÿ' => 0x9F,
        _ => return None,
    };
    Some(b)
}

/// Windows-1252 reading of the bytes 0x80–0x9F; "" where it has none.
pub(crate) const CP1252_HIGH: [&str; 32] = [
    "€", "", "‚", "ƒ", "„", "…", "†", "‡", "ˆ", "‰", "Š", "‹", "Œ", "", "Ž", "", "", "‘", "’", "“",
    "”", "•", "–", "—", "˜", "™", "š", "›", "œ", "", "ž", "Ÿ",
];

/// Punctuation that legitimately follows a capital letter («CAFÉ», L’ÉTÉ…).
fn is_quote_like(c: char) -> bool {
    matches!(
        c,
        '»' | '«' | '’' | '‘' | '”' | '“' | '…' | '–' | '—' | '\u{A0}' | '·' | '°'
    )
}

/// What a decoded character is, for deciding whether to keep a repair.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Plausible {
    No,
    /// Latin letters and common punctuation.
    Common,
    /// Letters of another script: kept only two or more in a row.
    OtherScript,
}

/// Could `decoded` be what a UTF-8 → Windows-1252 mistake turned into
/// `garbled`, between `prev` and `next`?
fn plausible(decoded: char, garbled: &[char], prev: Option<char>, next: Option<char>) -> Plausible {
    let cp = decoded as u32;
    // A combining mark or a character NFC would change would make the
    // text change again on the next run of `unicode`.
    let stable = unicode_normalization::char::canonical_combining_class(decoded) == 0
        && unicode_normalization::is_nfc_quick(std::iter::once(decoded))
            == unicode_normalization::IsNormalized::Yes;
    // A no-break space byte only follows "Â" (NBSP) and "Ã" (à) in
    // mojibake: "SELKÄ EDELLÄ" is Finnish, not "SELKĠEDELLÄ".
    let nbsp_ok = garbled[1..].iter().all(|&c| c != '\u{A0}') || matches!(garbled[0], 'Â' | 'Ã');
    // A small letter between capitals is not what ALL-CAPS text hides
    // ("MÄ£ÄM" is leetspeak, not "MģÄM").
    let caps_ok = !(decoded.is_lowercase()
        && prev.is_some_and(char::is_uppercase)
        && next.is_some_and(char::is_uppercase));
    // Not an invisible character the unicode stage removes (U+061C, the
    // Arabic letter mark, sits among the Arabic letters).
    let visible = !crate::stages::unicode::vanishes(decoded);
    if !(stable && nbsp_ok && caps_ok && visible) {
        return Plausible::No;
    }
    // Not what the unicode stage removes (soft hyphen, invisible and bidi
    // characters): a repair must give visible text.
    if matches!(cp,
        0xA0..=0xAC | 0xAE..=0x17F      // Latin-1 and Latin Extended-A
        | 0x2010..=0x2027 | 0x202F..=0x205E // punctuation
        | 0x20AC | 0x2122 | 0xFFFD          // €, ™, and a � that was garbled too
        | 0x2190..=0x2BFF                   // arrows, symbols, dingbats (✔ ❤)
    ) {
        return Plausible::Common;
    }
    let other_script = matches!(cp,
        0x370..=0x3FF      // Greek
        | 0x400..=0x4FF    // Cyrillic
        | 0x590..=0x5FF    // Hebrew
        | 0x600..=0x6FF    // Arabic, Persian
        | 0x3000..=0x9FFF  // CJK
        | 0xAC00..=0xD7AF  // Hangul
        | 0x1F300..=0x1FAFF // emoji
    );
    if other_script && !garbled[1..].iter().copied().any(is_quote_like) {
        Plausible::OtherScript
    } else {
        Plausible::No
    }
}

/// Would this stage read `c`, written between `before` and `after` (the
/// characters of its line on either side), as part of one garbled
/// character: a pair as [`would_repair`] reads it, or a sequence of up to
/// four characters holding `c` ("â’ƒ" is the UTF-8 of "⒃", "âŸ’" of "⟒")?
pub(crate) fn would_repair_around(before: &[char], c: char, after: &[char]) -> bool {
    if before.last().is_some_and(|&p| would_repair(p, c))
        || after.first().is_some_and(|&n| would_repair(c, n))
    {
        return true;
    }
    let before = &before[before.len().saturating_sub(3)..];
    let after = &after[..after.len().min(3)];
    let window: Vec<char> = before.iter().chain([&c]).chain(after).copied().collect();
    let at = before.len();
    for start in 0..=at {
        for end in (at + 1).max(start + 2)..=(start + 4).min(window.len()) {
            let piece = &window[start..end];
            let Some(bytes) = piece
                .iter()
                .map(|&ch| cp1252_byte(ch))
                .collect::<Option<Vec<u8>>>()
            else {
                continue;
            };
            let mut decoded = std::str::from_utf8(&bytes)
                .ok()
                .into_iter()
                .flat_map(str::chars);
            if let (Some(d), None) = (decoded.next(), decoded.next())
                && plausible(d, piece, None, None) != Plausible::No
            {
                return true;
            }
        }
    }
    false
}

/// Would this stage read `first` followed by `second` as one garbled
/// character? Other stages check it so as not to write such pairs (an
/// apostrophe after "Ã" would read as "Ò" on the next run).
pub(crate) fn would_repair(first: char, second: char) -> bool {
    if second == ' ' {
        // "Â " and "Ã " are read as a no-break space and "à".
        return matches!(first, 'Â' | 'Ã');
    }
    let (Some(a), Some(b)) = (cp1252_byte(first), cp1252_byte(second)) else {
        return false;
    };
    matches!(a, 0xC2..=0xDF)
        && (0x80..=0xBF).contains(&b)
        && std::str::from_utf8(&[a, b])
            .ok()
            .and_then(|s| s.chars().next())
            .is_some_and(|c| plausible(c, &[first, second], None, None) == Plausible::Common)
}

/// Repairs one run of characters that all have a Windows-1252 byte;
/// `before` is the character before it. C1 controls left
/// over are read as Windows-1252 (they were left for this stage).
fn repair_run(run: &[char], before: Option<char>) -> Option<String> {
    let bytes: Vec<u8> = run.iter().map(|&c| cp1252_byte(c).expect("run")).collect();
    // (start, length, decoded character and its kind) of each repair.
    let mut pieces: Vec<(usize, usize, char, Plausible)> = Vec::new();
    let mut i = 0;
    while i < bytes.len() {
        // "ÂÂÂ§": C2 xx is U+00xx, which is the byte xx again, so a chain
        // of "Â" before such a character loses one "Â" per layer. Taken
        // all at once, the repair settles in one layer.
        let chain = bytes[i..].iter().take_while(|&&b| b == 0xC2).count();
        if chain > 1
            && let Some(&b) = bytes.get(i + chain)
            && (0x80..=0xBF).contains(&b)
        {
            let decoded = char::from(b);
            let prev = if i > 0 { Some(run[i - 1]) } else { before };
            let next = next_in_run(run, i + chain + 1);
            let kind = plausible(decoded, &run[i + chain - 1..=i + chain], prev, next);
            if kind != Plausible::No {
                pieces.push((i, chain + 1, decoded, kind));
                i += chain + 1;
                continue;
            }
        }
        let len = match bytes[i] {
            0xC2..=0xDF => 2,
            0xE0..=0xEF => 3,
            0xF0..=0xF4 => 4,
            _ => 0,
        };
        if len > 0
            && i + len <= bytes.len()
            && let Ok(s) = std::str::from_utf8(&bytes[i..i + len])
        {
            let decoded = s.chars().next().expect("one char");
            let prev = if i > 0 { Some(run[i - 1]) } else { before };
            // Only a capital inside the run counts after it: what follows
            // the run may still change (a name respelled), and the verdict
            // must not.
            let next = next_in_run(run, i + len);
            let kind = plausible(decoded, &run[i..i + len], prev, next);
            if kind != Plausible::No {
                pieces.push((i, len, decoded, kind));
                i += len;
                continue;
            }
        }
        i += 1;
    }
    // A lone letter of another script is a coincidence ("5×£35").
    let mut keep = vec![true; pieces.len()];
    let mut k = 0;
    while k < pieces.len() {
        if pieces[k].3 != Plausible::OtherScript {
            k += 1;
            continue;
        }
        let mut j = k;
        while j + 1 < pieces.len()
            && pieces[j + 1].3 == Plausible::OtherScript
            && pieces[j + 1].0 == pieces[j].0 + pieces[j].1
        {
            j += 1;
        }
        if j == k {
            keep[k] = false;
        }
        k = j + 1;
    }
    let mut out = String::with_capacity(run.len());
    let mut changed = false;
    let mut next_piece = pieces
        .iter()
        .zip(&keep)
        .filter(|(_, k)| **k)
        .map(|(p, _)| p)
        .peekable();
    let mut i = 0;
    while i < run.len() {
        if let Some(&&(start, len, decoded, _)) = next_piece.peek()
            && start == i
        {
            out.push(decoded);
            changed = true;
            i += len;
            next_piece.next();
            continue;
        }
        match run[i] {
            c @ '\u{80}'..='\u{9F}' => {
                out.push_str(CP1252_HIGH[c as usize - 0x80]);
                changed = true;
            }
            c => out.push(c),
        }
        i += 1;
    }
    changed.then_some(out)
}

/// What [`repair`] makes of a run that does not settle. Typography may
/// cut the run by the next cleaning: a no-break space in it may become a
/// plain space, and a narrow one goes after « and before ». The pieces
/// between such cuts are repaired on their own, as the next run will see
/// them. A piece that does not settle either keeps its characters; only
/// its C1 controls, which are never text, are written as Windows-1252
/// characters.
fn give_up(s: &str, before: Option<char>) -> Option<String> {
    let cuts = typography_cuts(s);
    if cuts.len() > 2 {
        let mut out = String::with_capacity(s.len());
        let mut any = false;
        let mut before = before;
        for w in cuts.windows(2) {
            let piece = &s[w[0]..w[1]];
            match repair(piece, before) {
                Some(fixed) => {
                    out.push_str(&fixed);
                    any = true;
                }
                None => out.push_str(piece),
            }
            before = Some(' ');
        }
        return any.then_some(out);
    }
    s.contains(|c: char| matches!(c, '\u{80}'..='\u{9F}'))
        .then(|| {
            s.chars()
                .map(|c| match c {
                    '\u{80}'..='\u{9F}' => CP1252_HIGH[c as usize - 0x80].to_string(),
                    c => c.to_string(),
                })
                .collect()
        })
}

/// The byte offsets where typography may cut `s` (after a no-break space or
/// a «, before a »), with 0 and `s.len()`, in order, without repeats.
fn typography_cuts(s: &str) -> Vec<usize> {
    let mut cuts = vec![0];
    for (i, c) in s.char_indices() {
        let at = match c {
            '\u{A0}' | '«' => i + c.len_utf8(),
            '»' => i,
            _ => continue,
        };
        if at > *cuts.last().expect("not empty") && at < s.len() {
            cuts.push(at);
        }
    }
    cuts.push(s.len());
    cuts
}

/// The character at `at` in `run`, as what follows a repair ending just
/// before it, unless typography may put a space there: after a « and
/// before a », where it cuts the run.
fn next_in_run(run: &[char], at: usize) -> Option<char> {
    let next = *run.get(at)?;
    (next != '»' && run[at - 1] != '«').then_some(next)
}

/// Can anything in this run change? (A cheap test before the real work.)
fn could_change(run: &str) -> bool {
    let mut prev_lead = false;
    let mut count = 0;
    for c in run.chars() {
        count += 1;
        let b = cp1252_byte(c).unwrap_or(0);
        if (0x80..=0x9F).contains(&(c as u32)) || (prev_lead && (0x80..=0xBF).contains(&b)) {
            return true;
        }
        prev_lead = (0xC2..=0xF4).contains(&b);
    }
    count == 1 && matches!(run, "Ã" | "Â")
}

/// Layers of garbling `repair` takes off a run. Real text is garbled two
/// or three times at most; a run that still changes after this many layers
/// is noise, not mojibake.
const MAX_LAYERS: usize = 16;

/// Repairs `s` until it no longer changes (text garbled twice). When that
/// takes more than [`MAX_LAYERS`] layers, the run is noise ([`give_up`]):
/// half a repair would be taken further by the next run.
fn repair(s: &str, before: Option<char>) -> Option<String> {
    let mut current = s.to_string();
    let mut any = false;
    for layer in 0..=MAX_LAYERS {
        let chars: Vec<char> = current.chars().collect();
        let mut out = String::with_capacity(current.len());
        let mut changed = false;
        let mut i = 0;
        while i < chars.len() {
            let is_high = |c: char| cp1252_byte(c).is_some();
            if !is_high(chars[i]) {
                out.push(chars[i]);
                i += 1;
                continue;
            }
            let start = i;
            while i < chars.len() && is_high(chars[i]) {
                i += 1;
            }
            let prev = if start > 0 {
                Some(chars[start - 1])
            } else {
                before
            };
            match repair_run(&chars[start..i], prev) {
                Some(fixed) => {
                    out.push_str(&fixed);
                    changed = true;
                }
                None => out.extend(&chars[start..i]),
            }
        }
        if !changed {
            break;
        }
        if layer == MAX_LAYERS {
            return give_up(s, before);
        }
        any = true;
        current = out;
    }
    any.then_some(current)
}

impl Stage for Mojibake {
    fn name(&self) -> &'static str {
        "mojibake"
    }

    fn rules(&self) -> Vec<RuleInfo> {
        RuleInfo::from_docs("mojibake", RULE_DOCS)
    }

    /// Text garbled twice comes back one layer at a time when a repair
    /// leaves a lone "Ã" or "Â" before a space ("Ãƒ " → "Ã " → "à").
    fn passes(&self) -> usize {
        8
    }

    fn process(&self, ctx: &mut StageCtx<'_>) {
        for region in ctx.regions() {
            self.repair_region(ctx.text, region, &mut ctx.changes);
        }
    }

    /// Runs of Windows-1252 characters never cross a line end: each line is
    /// judged on its own.
    fn group(&self) -> Option<Group> {
        Some(Group::Characters)
    }
}

/// Is the byte at `k` where a repair may start? A C1 control (C2 80 to
/// C2 9F), an "Â" or "Ã" (C3 82, C3 83), or a letter from U+00C0 to U+00FF
/// (C3 xx) followed by another character that is not ASCII: every run of
/// characters that [`could_change`] (or that ends in "Â" or "Ã") holds one.
/// Correct French text has few: its accented letters are followed by ASCII.
fn is_suspect(bytes: &[u8], k: usize) -> bool {
    let at = |k: usize| bytes.get(k).copied().unwrap_or(0);
    match at(k) {
        0xC2 => (0x80..=0x9F).contains(&at(k + 1)),
        0xC3 => matches!(at(k + 1), 0x82 | 0x83) || at(k + 2) >= 0x80,
        _ => false,
    }
}

/// The bytes up to `end` that [`is_suspect`], 16 at a time.
fn suspects(
    bytes: &[u8],
    end: usize,
) -> Stops<impl Fn(usize) -> u32 + '_, impl Fn(usize) -> bool + '_> {
    let suspects16 = move |i| {
        let (b, next, after) = (
            Lanes::load(bytes, i),
            Lanes::load(bytes, i + 1),
            Lanes::load(bytes, i + 2),
        );
        let c1 = b.eq(0xC2) & next.in_range(0x80, 0x9F);
        let latin = b.eq(0xC3) & (next.in_range(0x82, 0x83) | after.in_range(0x80, 0xFF));
        (c1 | latin).mask()
    };
    let bounds = (0, bytes.len().saturating_sub(2));
    Stops::new(end, bounds, suspects16, move |k| is_suspect(bytes, k))
}

impl Mojibake {
    /// Repairs the runs of `text` that start in `region`.
    fn repair_region(&self, text: &str, region: Range<usize>, changes: &mut Vec<Change>) {
        let bytes = text.as_bytes();
        let mut suspects = suspects(bytes, region.end);
        let mut i = region.start;
        // Where the last repair ended and the last character it wrote: what
        // comes before a lone "Ã" is judged as repaired, so that a second
        // run sees the same thing.
        let mut repaired: Option<(usize, char)> = None;
        while i < region.end {
            // Runs without a suspect byte cannot change: passed over.
            let suspect = suspects.from(i);
            if suspect == region.end {
                break;
            }
            // The run of characters that Windows-1252 has bytes for that
            // holds it.
            let start = suspect
                - text[i..suspect]
                    .chars()
                    .rev()
                    .take_while(|&c| cp1252_byte(c).is_some())
                    .map(char::len_utf8)
                    .sum::<usize>();
            let mut end = start;
            for c in text[start..].chars() {
                if cp1252_byte(c).is_none() {
                    break;
                }
                end += c.len_utf8();
            }
            debug_assert!(
                end > suspect,
                "a suspect byte starts a character of the run"
            );
            let run = &text[start..end];
            // Fast path: most runs are one accented letter of correct text.
            // Only a lead byte followed by a continuation byte, a C1
            // control, or a lone "Ã"/"Â" can change.
            // A trailing "Â" or "Ã" before a space may be a no-break space or "à".
            let before_space = text[end..].starts_with(' ');
            let may_change = could_change(run) || (before_space && run.ends_with(['Â', 'Ã']));
            if !may_change {
                i = end;
                continue;
            }
            // "Â" + a plain space: a no-break space (C2 A0) whose second
            // byte was turned into a space along the way.
            let (candidate, stop) = if run.ends_with('Â') && before_space {
                (format!("{run}\u{A0}"), end + 1)
            } else {
                (run.to_string(), end)
            };
            let before = text[..start].chars().next_back();
            if let Some(fixed) = repair(&candidate, before) {
                // Combining marks after the run compose with what it gives:
                // take them in, composed, so the text stays NFC.
                let marks: usize = text[stop..]
                    .chars()
                    .take_while(|&c| unicode_normalization::char::canonical_combining_class(c) != 0)
                    .map(char::len_utf8)
                    .sum();
                let fixed = if marks > 0 {
                    use unicode_normalization::UnicodeNormalization;
                    format!("{fixed}{}", &text[stop..stop + marks])
                        .nfc()
                        .collect()
                } else {
                    fixed
                };
                repaired = fixed.chars().next_back().map(|c| (stop + marks, c));
                changes.push(Change::replace(start..stop + marks, fixed, &self.rule));
                i = stop + marks;
                continue;
            }
            // "à" whose no-break space became a plain space: "voyage Ã Paris",
            // "jusqu'Ã nos jours", "Ã perturber" (but not "S Ã O").
            // At the start of a line (spaces before it do not count: the
            // structure stage trims them), after an apostrophe, or after a
            // space that follows a lower-case word or a punctuation mark.
            // A no-break space before the "Ã" belongs to the run (it has a
            // Windows-1252 byte) but is white space before a word here, as
            // typography will make it.
            let lone = run.rsplit('\u{A0}').next().unwrap_or(run);
            let start = end - lone.len();
            let before_spaces =
                text[..start].trim_end_matches(|c: char| c.is_whitespace() && c != '\n');
            let spaced = before_spaces.len() < start;
            let prev = match repaired {
                Some((at, c)) if at == before_spaces.len() => Some(c),
                _ => before_spaces.chars().next_back(),
            };
            let after_word = match prev {
                None | Some('\n') => true,
                Some('\'' | '’') => !spaced,
                // Typography puts a space after these.
                Some(',' | ';' | ':') => true,
                Some(c) => spaced && c.is_lowercase(),
            };
            if lone == "Ã" && after_word && before_space {
                // Portuguese "às" lost its no-break space the same way.
                let s_word = text[end + 1..].starts_with('s')
                    && text[end + 2..]
                        .chars()
                        .next()
                        .is_none_or(char::is_whitespace);
                if s_word {
                    changes.push(Change::replace(start..end + 2, "às", &self.a_grave));
                    i = end + 2;
                    continue;
                }
                changes.push(Change::replace(start..end, "à", &self.a_grave));
            }
            i = end;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::edits::{ChangeError, WorkDoc, restore};

    fn run(input: &str) -> String {
        let stage = Mojibake::default();
        let mut doc = WorkDoc::new(input.into());
        doc.run_stage::<ChangeError>("mojibake", |ctx| {
            stage.process(ctx);
            Ok(())
        })
        .unwrap();
        let done = doc.finish();
        assert_eq!(restore(&done.text, &done.edits).unwrap(), input);
        done.text
    }

    #[test]
    fn runs_that_may_change_hold_a_suspect_found_16_bytes_at_a_time() {
        let alphabet = [
            "a", " ", "é", "Ã", "Â", "©", "’", "\u{92}", "«", "ŕ", "한", "\n", "€", "\u{A0}", "Å",
            "ô",
        ];
        for text in crate::lanes::test_strings(&alphabet, (3, 4), 30, 5_000, 0x9E37_79B9_7F4A_7C15)
        {
            let bytes = text.as_bytes();
            // Every run that may change holds a suspect byte.
            let mut start = 0;
            for (k, c) in text.char_indices().chain([(text.len(), 'a')]) {
                if cp1252_byte(c).is_some() {
                    continue;
                }
                let run = &text[start..k];
                let before_space = text[k..].starts_with(' ');
                if could_change(run) || (before_space && run.ends_with(['Â', 'Ã'])) {
                    assert!(
                        (start..k).any(|j| is_suspect(bytes, j)),
                        "{run:?} in {text:?}"
                    );
                }
                start = k + c.len_utf8();
            }
            for i in 0..bytes.len() {
                for end in [i, (i + 20).min(bytes.len()), bytes.len()] {
                    let want = (i..end).find(|&k| is_suspect(bytes, k)).unwrap_or(end);
                    assert_eq!(suspects(bytes, end).from(i), want, "{text:?} {i}..{end}");
                }
            }
        }
    }

    #[test]
    fn tells_which_characters_would_complete_a_sequence() {
        let chars = |s: &str| s.chars().collect::<Vec<char>>();
        // "âŸ’" is E2 9F 92, the UTF-8 of "⟒"; "â’ƒ" of "⒃".
        assert!(would_repair_around(&chars("xâŸ"), '’', &chars("y")));
        assert!(would_repair_around(&chars("â"), '’', &chars("ƒ")));
        assert!(would_repair_around(&chars("Ã"), '’', &[]));
        assert!(!would_repair_around(&chars("l"), '’', &chars("Irak")));
        assert!(!would_repair_around(&chars("aujourd"), '’', &chars("hui")));
    }

    #[test]
    fn repairs() {
        let cases = [
            ("Ã©tÃ©", "été"),
            ("lâ€™Irak", "l’Irak"),
            ("Â«Â\u{A0}lâ€™escaladeÂ\u{A0}Â»", "«\u{A0}l’escalade\u{A0}»"),
            // The no-break space of "Â\u{A0}" became a plain space.
            ("Â«Â lâ€™escaladeÂ Â»", "«\u{A0}l’escalade\u{A0}»"),
            ("Ã‰tats-Unis", "États-Unis"),
            ("dÃ©jÃ\u{A0} vu", "déjà vu"),
            ("voyage Ã Paris", "voyage à Paris"),
            ("Å“uvre", "œuvre"),
            ("Â£100", "£100"),
            ("â€œquotedâ€\u{9D}", "“quoted”"),
            // Garbled twice.
            ("Ã\u{83}Â©tÃ\u{83}Â©", "été"),
            // Arabic read as Windows-1252.
            ("Ø¨ØºØ¯Ø§Ø¯", "بغداد"),
            // Latin-1 (C1 controls instead of Windows-1252 punctuation).
            ("l\u{E2}\u{80}\u{99}Irak", "l’Irak"),
            // A C1 control that is no sequence is read as Windows-1252.
            ("beaucoup parlé\u{85} Tu sais", "beaucoup parlé… Tu sais"),
            ("RÃ‰GION", "RÉGION"),
            (
                "Ã perturber la rÃ©flexion jusqu'Ã nos jours",
                "à perturber la réflexion jusqu'à nos jours",
            ),
            ("relatifs Ã l’utilisation", "relatifs à l’utilisation"),
            ("atenÃ§Ã£o Ã s crianÃ§as", "atenção às crianças"),
            ("bonne fÃªte Ø¹ÙŠØ¯ Ø³Ø¹ÙŠØ¯", "bonne fête عيد سعيد"),
            ("nÃƒÂ© en 1947", "né en 1947"),
            ("âœ” fait, Justinâ\u{9D}¤", "✔ fait, Justin❤"),
            ("l’Ã©valuation", "l’évaluation"),
            // A chain of "Â" (noise) goes in one run, however long.
            (&format!("x{}§ y", "Â".repeat(40)), "x§ y"),
        ];
        for (input, want) in cases {
            assert_eq!(run(input), want, "{input:?}");
        }
    }

    #[test]
    fn leaves_correct_text_alone() {
        let cases = [
            "été à Téhéran, où l’armée…",
            "«CAFÉ» et «L’ÉTÉ»",
            "SÃO PAULO",
            "¿Qué? Größe, naïve, Ça, À l’époque, Ère, OÙ",
            "DÛ» et Î»",
            "Ã",
            "10 € — 20 £ · 30 °C",
            // Cases in the spirit of ftfy's negative tests: characters that
            // look like mojibake but are correct text.
            "HYVÄ\u{A0}PÄIVÄ",
            "3×£20 la paire",
            "LÄ£ÄR ÑÍCH",
            "C O N C L U S Ã O",
            "PRIX 4288×…",
            "TU VAS OÙ…",
            "NESTLÉ® et CAFÉ¿",
            "« et “×” »",
            "mot\u{A0}è et là´´",
            "Ōø et ∆°",
        ];
        for input in cases {
            assert_eq!(run(input), input);
        }
    }
}
