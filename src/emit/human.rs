//! `path:line:col: rule-id (stage): message`, for people and editors.

use crate::check::{Finding, Severity};
use crate::emit::ansi::{BOLD, RED, YELLOW, paint};

/// One finding on one line.
pub fn finding(f: &Finding, color: bool) -> String {
    let rule_color = if f.severity == Severity::Error {
        RED
    } else {
        YELLOW
    };
    format!(
        "{}: {} ({}): {}",
        paint(color, BOLD, &format!("{}:{}:{}", f.path, f.line, f.column)),
        paint(color, rule_color, &f.rule),
        f.stage,
        f.message
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::document::EditKind;
    use std::sync::Arc;

    #[test]
    fn format() {
        let f = Finding {
            path: "a.txt".into(),
            line: 3,
            column: 7,
            end_line: 3,
            end_column: 9,
            rule: Arc::from("typography/apostrophe"),
            stage: Arc::from("typography"),
            kind: EditKind::Replace,
            category: None,
            severity: Severity::Warning,
            message: "\"'\" → \"’\"".into(),
            original: "'".into(),
            new: "’".into(),
        };
        assert_eq!(
            finding(&f, false),
            "a.txt:3:7: typography/apostrophe (typography): \"'\" → \"’\""
        );
        assert!(finding(&f, true).contains("\x1b[33mtypography/apostrophe\x1b[0m"));
    }
}
