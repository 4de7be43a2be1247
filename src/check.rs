//! `lavoir check`: every edit the pipeline would make, as a finding with
//! a position in the input file, a severity and a message.
//!
//! Lines and columns are 1-based; columns count Unicode code points (what
//! editors call characters), in the decoded input, whatever its encoding
//! or line ends.

use std::collections::BTreeMap;
use std::sync::Arc;

use serde::{Deserialize, Serialize};

use crate::document::{CleanDocument, Edit, EditKind};

/// How much a finding matters.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Severity {
    /// Not reported.
    Off,
    Warning,
    Error,
}

impl Severity {
    pub fn as_str(self) -> &'static str {
        match self {
            Severity::Off => "off",
            Severity::Warning => "warning",
            Severity::Error => "error",
        }
    }
}

/// The `check:` section of pipeline.yaml: the severity of each rule.
///
/// Keys are rule ids (`decode/crlf`, `seo-prompt-glued-instruction`),
/// kinds of junk (`seo-prompt`), stage names (`typography`), or prefixes
/// ending in `*` (`typography/*`). The most specific key wins: rule id,
/// then kind, then the longest prefix, then stage, then `default`.
#[derive(Clone, Debug, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CheckConfig {
    #[serde(default = "default_severity")]
    pub default: Severity,
    #[serde(default)]
    pub rules: BTreeMap<String, Severity>,
}

fn default_severity() -> Severity {
    Severity::Warning
}

impl Default for CheckConfig {
    fn default() -> Self {
        CheckConfig {
            default: default_severity(),
            rules: BTreeMap::new(),
        }
    }
}

impl CheckConfig {
    /// The severity of what `edit` found.
    pub fn severity(&self, edit: &Edit) -> Severity {
        if let Some(s) = self.rules.get(&*edit.rule) {
            return *s;
        }
        if let Some(s) = edit.category.as_deref().and_then(|c| self.rules.get(c)) {
            return *s;
        }
        let prefix = self
            .rules
            .iter()
            .filter_map(|(k, s)| {
                let p = k.strip_suffix('*')?;
                edit.rule.starts_with(p).then_some((p.len(), *s))
            })
            .max_by_key(|(len, _)| *len);
        if let Some((_, s)) = prefix {
            return s;
        }
        self.rules
            .get(&*edit.stage)
            .copied()
            .unwrap_or(self.default)
    }
}

/// One thing `check` reports.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Finding {
    /// The file, as given or found.
    pub path: String,
    /// 1-based line of the start in the decoded input.
    pub line: usize,
    /// 1-based column of the start, in code points.
    pub column: usize,
    pub end_line: usize,
    /// Column just after the end (exclusive), in code points.
    pub end_column: usize,
    pub rule: Arc<str>,
    pub stage: Arc<str>,
    pub kind: EditKind,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub category: Option<Arc<str>>,
    pub severity: Severity,
    pub message: String,
    /// The text as it stands, and what `run` would write instead.
    pub original: String,
    pub new: String,
}

/// Line starts of a text, in code points, to turn offsets into positions.
struct Lines {
    starts: Vec<usize>,
}

impl Lines {
    fn new(text: &str) -> Self {
        let mut starts = vec![0];
        for (i, c) in text.chars().enumerate() {
            if c == '\n' {
                starts.push(i + 1);
            }
        }
        Lines { starts }
    }

    /// 1-based line and column of code point offset `at`.
    fn position(&self, at: usize) -> (usize, usize) {
        let line = self.starts.partition_point(|&s| s <= at);
        (line, at - self.starts[line - 1] + 1)
    }
}

/// Shows invisible characters in quoted text: `\n`, `\u{a0}`…
pub fn visible(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\t' => out.push_str("\\t"),
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            c if c.is_control()
                || (c.is_whitespace() && c != ' ')
                || matches!(
                    c,
                    '\u{AD}'
                        | '\u{200B}'..='\u{200F}'
                        | '\u{202A}'..='\u{202E}'
                        | '\u{2060}'..='\u{2069}'
                        | '\u{FEFF}'
                        | '\u{FFF9}'..='\u{FFFC}'
                ) =>
            {
                out.push_str(&format!("\\u{{{:x}}}", c as u32));
            }
            c => out.push(c),
        }
    }
    out
}

/// At most `max` characters, with an ellipsis when cut.
fn shorten(s: &str, max: usize) -> String {
    if s.chars().count() <= max {
        s.to_string()
    } else {
        let cut: String = s.chars().take(max).collect();
        format!("{cut}…")
    }
}

/// What an edit would do, in words.
pub fn message(edit: &Edit) -> String {
    let quote = |s: &str| format!("\"{}\"", visible(&shorten(s, 80)));
    // A removed line is shown without its line end.
    let line = |s: &str| {
        if s.len() > 1 {
            quote(s.strip_suffix('\n').unwrap_or(s))
        } else {
            quote(s)
        }
    };
    let what = edit
        .category
        .as_deref()
        .map(|c| format!("{c} "))
        .unwrap_or_default();
    match edit.kind {
        EditKind::Move => format!(
            "move {what}to meta.{}: {}",
            edit.to.as_deref().unwrap_or("?").replace(',', ", meta."),
            line(&edit.original)
        ),
        EditKind::Remove => format!("remove {what}{}", line(&edit.original)),
        EditKind::Insert => format!("insert {}", quote(&edit.new)),
        EditKind::Replace => format!("{} → {}", quote(&edit.original), quote(&edit.new)),
    }
}

/// The findings for one document: `input` is its decoded text.
pub fn findings(
    path: &str,
    input: &str,
    doc: &CleanDocument,
    config: &CheckConfig,
) -> Vec<Finding> {
    let lines = Lines::new(input);
    let mut out: Vec<Finding> = doc
        .edits
        .iter()
        .filter_map(|e| {
            let severity = config.severity(e);
            if severity == Severity::Off {
                return None;
            }
            let (end_line, end_column) = lines.position(e.end);
            Some(Finding {
                path: path.to_string(),
                line: e.line,
                column: e.column,
                end_line,
                end_column,
                rule: e.rule.clone(),
                stage: e.stage.clone(),
                kind: e.kind,
                category: e.category.clone(),
                severity,
                message: message(e),
                original: e.original.to_string(),
                new: e.new.to_string(),
            })
        })
        .collect();
    out.sort_by_key(|f| (f.line, f.column));
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::Pipeline;

    fn edit(stage: &str, rule: &str, category: Option<&str>) -> Edit {
        Edit {
            stage: Arc::from(stage),
            rule: Arc::from(rule),
            kind: EditKind::Remove,
            category: category.map(Arc::from),
            to: None,
            start: 0,
            end: 1,
            line: 1,
            column: 1,
            at: 0,
            original: "x".into(),
            new: "".into(),
        }
    }

    #[test]
    fn the_most_specific_key_wins() {
        let config = CheckConfig {
            default: Severity::Warning,
            rules: [
                ("typography", Severity::Off),
                ("typography/apo*", Severity::Error),
                ("seo-prompt", Severity::Error),
                ("source-link", Severity::Off),
            ]
            .into_iter()
            .map(|(k, s)| (k.to_string(), s))
            .collect(),
        };
        let s = |e: Edit| config.severity(&e);
        assert_eq!(
            s(edit("typography", "typography/space", None)),
            Severity::Off
        );
        assert_eq!(
            s(edit("typography", "typography/apostrophe", None)),
            Severity::Error
        );
        assert_eq!(
            s(edit("boilerplate", "seo-prompt-x", Some("seo-prompt"))),
            Severity::Error
        );
        assert_eq!(
            s(edit("boilerplate", "source-link", Some("source-link"))),
            Severity::Off
        );
        assert_eq!(s(edit("unicode", "unicode/nfc", None)), Severity::Warning);
    }

    #[test]
    fn positions_count_characters_and_survive_crlf() {
        let pipeline = Pipeline::builtin();
        let input = "Texte sûr.\r\nLe général Suleimani.\r\n";
        let doc = pipeline.clean(input).unwrap();
        let found = findings("a.txt", input, &doc, &CheckConfig::default());
        let soleimani = found.iter().find(|f| f.rule.contains("Soleimani")).unwrap();
        assert_eq!((soleimani.line, soleimani.column), (2, 12));
        assert_eq!((soleimani.end_line, soleimani.end_column), (2, 21));
        let crlf = found.iter().find(|f| &*f.rule == "decode/crlf").unwrap();
        assert_eq!((crlf.line, crlf.column), (1, 11));
        assert_eq!(soleimani.message, "\"Suleimani\" → \"Soleimani\"");
    }

    #[test]
    fn messages_show_invisible_characters() {
        assert_eq!(visible("a\u{A0}b\n"), "a\\u{a0}b\\n");
    }
}
