//! **structure**: splits the text into blocks (title, dek, headings,
//! paragraphs) and lays it out: one block per non-empty line, no white
//! space around blocks, one blank line between blocks, one final newline.
//!
//! A headline is a short first line without final punctuation; the dek is
//! a short unpunctuated line right after it; a heading is a short line
//! without final punctuation between two blocks (all-caps ones included).
//! A long first line ending with a period is a paragraph.

use crate::letters::is_alphanumeric;
use std::ops::Range;
use std::sync::Arc;

use serde::Deserialize;

use crate::document::BlockKind;
use crate::edits::{Change, Spanned, StageCtx};
use crate::stages::{OptionDoc, RuleDoc, RuleInfo, Stage};

/// Options of the `structure` stage.
#[derive(Clone, Debug, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct StructureConfig {
    /// Normalize white space around blocks and between them.
    pub layout: bool,
    /// Longest first line taken as a headline (characters).
    pub max_title_chars: usize,
    /// Longest line taken as a dek (characters).
    pub max_dek_chars: usize,
    /// Longest line taken as a heading (characters).
    pub max_heading_chars: usize,
}

impl Default for StructureConfig {
    fn default() -> Self {
        StructureConfig {
            layout: true,
            max_title_chars: 250,
            max_dek_chars: 300,
            max_heading_chars: 120,
        }
    }
}

/// The options of `structure`, for `lavoir stages`.
pub const OPTIONS: &[OptionDoc] = &[
    OptionDoc {
        name: "layout",
        default: "true",
        doc: "normalize the white space around and between blocks",
    },
    OptionDoc {
        name: "max_title_chars",
        default: "250",
        doc: "longest first line taken as a headline",
    },
    OptionDoc {
        name: "max_dek_chars",
        default: "300",
        doc: "longest line taken as a dek",
    },
    OptionDoc {
        name: "max_heading_chars",
        default: "120",
        doc: "longest line taken as a heading",
    },
];

/// The rules of the `structure` stage.
pub const RULE_DOCS: &[RuleDoc] = &[
    RuleDoc {
        id: "structure/trim",
        summary: "Removes white space at the start and end of a block.",
        example: ("  Titre\u{A0}\n\nTexte.  \n", "Titre\n\nTexte.\n"),
    },
    RuleDoc {
        id: "structure/separator",
        summary: "Leaves exactly one blank line between two blocks.",
        example: (
            "Titre\nTexte.\n\n\n \nSuite.\n",
            "Titre\n\nTexte.\n\nSuite.\n",
        ),
    },
    RuleDoc {
        id: "structure/leading-blank-lines",
        summary: "Removes blank lines before the first block.",
        example: ("\n\nTexte.\n", "Texte.\n"),
    },
    RuleDoc {
        id: "structure/final-newline",
        summary: "Ends the text with exactly one line end.",
        example: ("Texte.\n\n\n", "Texte.\n"),
    },
];

/// The `structure` stage.
pub struct Structure {
    config: StructureConfig,
    trim: Arc<str>,
    separator: Arc<str>,
    blank_start: Arc<str>,
    final_newline: Arc<str>,
}

impl Structure {
    pub fn new(config: StructureConfig) -> Self {
        Structure {
            config,
            trim: Arc::from("structure/trim"),
            separator: Arc::from("structure/separator"),
            blank_start: Arc::from("structure/leading-blank-lines"),
            final_newline: Arc::from("structure/final-newline"),
        }
    }

    /// What kind of block each line is, given the trimmed texts in order.
    pub fn classify(&self, blocks: &[&str]) -> Vec<BlockKind> {
        let cfg = &self.config;
        let n = blocks.len();
        let mut kinds = vec![BlockKind::Paragraph; n];
        let short = |s: &str, max: usize| s.chars().count() <= max;
        let capitalized = |s: &str| {
            s.chars()
                .find(|c| is_alphanumeric(*c))
                .is_some_and(|c| c.is_uppercase() || c.is_numeric())
        };
        let mut first_body = 0;
        if n > 1 && short(blocks[0], cfg.max_title_chars) && is_unpunctuated(blocks[0]) {
            kinds[0] = BlockKind::Title;
            first_body = 1;
            if n > 2 && short(blocks[1], cfg.max_dek_chars) && is_unpunctuated(blocks[1]) {
                kinds[1] = BlockKind::Dek;
                first_body = 2;
            }
        }
        for i in first_body.max(1)..n.saturating_sub(1) {
            let b = blocks[i];
            if short(b, cfg.max_heading_chars) && is_unpunctuated(b) && capitalized(b) {
                kinds[i] = BlockKind::Heading;
            }
        }
        kinds
    }
}

/// A line that does not end like a sentence: no final . , ; : … and no
/// closing quote (a question or exclamation mark may end a headline).
fn is_unpunctuated(s: &str) -> bool {
    match s.trim_end().chars().next_back() {
        None => false,
        Some(c) => !matches!(
            c,
            '.' | ',' | ';' | ':' | '…' | '»' | '”' | '"' | '\'' | '’' | '-' | '–' | '—'
        ),
    }
}

/// The lines of `text`: (line range without its line end, content range
/// without leading and trailing white space).
fn lines(text: &str) -> Vec<(Range<usize>, Range<usize>)> {
    // (Counted first, a vector pass: the list is allocated once.)
    let mut out = Vec::with_capacity(memchr::memchr_iter(b'\n', text.as_bytes()).count() + 1);
    let mut start = 0;
    loop {
        let end =
            memchr::memchr(b'\n', &text.as_bytes()[start..]).map_or(text.len(), |i| start + i);
        let line = &text[start..end];
        let lead = line.len() - line.trim_start().len();
        let content = start + lead..start + lead + line.trim().len();
        out.push((start..end, content));
        if end == text.len() {
            break;
        }
        start = end + 1;
    }
    out
}

impl Stage for Structure {
    fn name(&self) -> &'static str {
        "structure"
    }

    fn rules(&self) -> Vec<RuleInfo> {
        RuleInfo::from_docs("structure", RULE_DOCS)
    }

    fn process(&self, ctx: &mut StageCtx<'_>) {
        let text = ctx.text;
        let blocks: Vec<Range<usize>> = lines(text)
            .into_iter()
            .map(|(_, content)| content)
            .filter(|c| !c.is_empty())
            .collect();
        let texts: Vec<&str> = blocks.iter().map(|r| &text[r.clone()]).collect();
        let kinds = self.classify(&texts);
        ctx.new_blocks = Some(
            blocks
                .iter()
                .zip(kinds)
                .map(|(r, kind)| Spanned {
                    range: r.clone(),
                    value: kind,
                })
                .collect(),
        );
        if self.config.layout {
            self.layout(text, &blocks, &mut ctx.changes);
        }
    }
}

impl Structure {
    /// Changes that leave exactly `\n\n` between blocks and `\n` at the end.
    fn layout(&self, text: &str, blocks: &[Range<usize>], changes: &mut Vec<Change>) {
        let Some(first) = blocks.first() else {
            if !text.is_empty() {
                changes.push(Change::remove(0..text.len(), &self.blank_start));
            }
            return;
        };
        // Before the first block: blank lines, then the indent of its line.
        self.gap(text, 0..first.start, None, &self.blank_start, changes);
        for pair in blocks.windows(2) {
            self.gap(
                text,
                pair[0].end..pair[1].start,
                Some("\n\n"),
                &self.separator,
                changes,
            );
        }
        let last = blocks.last().expect("not empty");
        self.gap(
            text,
            last.end..text.len(),
            Some("\n"),
            &self.final_newline,
            changes,
        );
    }

    /// Normalizes the white space `gap` between two blocks (or a block and
    /// an end of the text): trailing spaces of the line before, the line
    /// ends and blank lines (replaced by `lines`, or removed), the indent
    /// of the line after.
    fn gap(
        &self,
        text: &str,
        gap: Range<usize>,
        lines: Option<&str>,
        rule: &Arc<str>,
        changes: &mut Vec<Change>,
    ) {
        let s = &text[gap.clone()];
        let Some(first_nl) = s.find('\n') else {
            match lines {
                // Two blocks on one line cannot happen; the end of the text.
                Some(nl) => {
                    if !s.is_empty() {
                        changes.push(Change::remove(gap.clone(), &self.trim));
                    }
                    changes.push(Change::insert(gap.end, nl, rule));
                }
                None => {
                    if !s.is_empty() {
                        changes.push(Change::remove(gap, &self.trim));
                    }
                }
            }
            return;
        };
        let last_nl = s.rfind('\n').expect("has a newline");
        let (a, b, c) = (gap.start + first_nl, gap.start + last_nl + 1, gap.end);
        if lines.is_some() && a > gap.start {
            changes.push(Change::remove(gap.start..a, &self.trim));
        }
        let middle = match lines {
            Some(_) => a..b,
            // Before the first block: everything up to the last line end.
            None => gap.start..b,
        };
        let want = lines.unwrap_or("");
        if &text[middle.clone()] != want {
            changes.push(Change::replace(middle, want, rule));
        }
        if c > b {
            changes.push(Change::remove(b..c, &self.trim));
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::edits::{ChangeError, WorkDoc, restore};

    fn run(input: &str) -> (String, Vec<(BlockKind, String)>) {
        let stage = Structure::new(StructureConfig::default());
        let mut doc = WorkDoc::new(input.into());
        doc.run_stage::<ChangeError>("structure", |ctx| {
            stage.process(ctx);
            Ok(())
        })
        .unwrap();
        let done = doc.finish();
        assert_eq!(restore(&done.text, &done.edits).unwrap(), input);
        let chars: Vec<char> = done.text.chars().collect();
        let blocks = done
            .blocks
            .iter()
            .map(|b| (b.kind, chars[b.start..b.end].iter().collect()))
            .collect();
        (done.text, blocks)
    }

    #[test]
    fn layout() {
        let cases = [
            ("a\nb", "a\n\nb\n"),
            ("  a  \n\n\n \u{A0}\n b\u{A0}\n\n", "a\n\nb\n"),
            ("\n\n a", "a\n"),
            ("a\n\nb\n", "a\n\nb\n"),
            ("", ""),
            (" \n\n", ""),
        ];
        for (input, want) in cases {
            assert_eq!(run(input).0, want, "{input:?}");
        }
    }

    #[test]
    fn blocks() {
        use BlockKind::*;
        let (_, blocks) = run(
            "Le maître-espion iranien conseille une escalade mesurée contre les forces U.S\n\
             Le commandant iranien a appelé à une escalade contrôlée – sources\n\
             Tout en encourageant les représailles, ils ont conseillé la prudence.\n\
             RIVALITÉ US-IRANIENNE\n\
             Le plus grand pays à majorité chiite du monde arabe.\n\
             Harcèlement jusqu’au départ des Américains (modèle afghan)\n\
             « Nous resterons », a-t-il dit.\n\
             Fin sans point",
        );
        let kinds: Vec<BlockKind> = blocks.iter().map(|b| b.0).collect();
        assert_eq!(
            kinds,
            vec![
                Title, Dek, Paragraph, Heading, Paragraph, Heading, Paragraph, Paragraph
            ]
        );
    }

    #[test]
    fn a_long_first_line_with_a_period_is_a_paragraph() {
        let long = format!(
            "{}.",
            "Les États-Unis ont décidé de retirer une partie du personnel ".repeat(5)
        );
        let (_, blocks) = run(&format!("{long}\nSuite."));
        assert_eq!(blocks[0].0, BlockKind::Paragraph);
        let (_, blocks) = run("Un titre court.\nSuite.");
        assert_eq!(blocks[0].0, BlockKind::Paragraph);
    }
}
