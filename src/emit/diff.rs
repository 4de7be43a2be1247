//! A unified diff of what `lavoir run` would change.

use similar::TextDiff;

use crate::emit::ansi::{CYAN, GREEN, RED, paint};

/// The diff from `old` (the input) to `new` (the clean text), empty when
/// they are the same; coloured when `color` is on.
pub fn unified(path: &str, old: &str, new: &str, color: bool) -> String {
    if old == new {
        return String::new();
    }
    let diff = TextDiff::from_lines(old, new);
    let text = diff
        .unified_diff()
        .context_radius(2)
        .header(path, &format!("{path} (clean)"))
        .to_string();
    if !color {
        return text;
    }
    text.lines()
        .map(|l| {
            if l.starts_with("+++") || l.starts_with("---") {
                paint(true, crate::emit::ansi::BOLD, l)
            } else if l.starts_with('+') {
                paint(true, GREEN, l)
            } else if l.starts_with('-') {
                paint(true, RED, l)
            } else if l.starts_with("@@") {
                paint(true, CYAN, l)
            } else {
                l.to_string()
            }
        })
        .collect::<Vec<_>>()
        .join("\n")
        + "\n"
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn shows_the_changed_lines() {
        let d = unified("a.txt", "Titre\nSuleimani\n", "Titre\n\nSoleimani\n", false);
        assert!(d.starts_with("--- a.txt\n+++ a.txt (clean)\n"), "{d}");
        assert!(d.contains("-Suleimani\n"));
        assert!(d.contains("+Soleimani\n"));
        assert_eq!(unified("a.txt", "x\n", "x\n", false), "");
    }
}
