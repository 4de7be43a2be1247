//! Output formats of `lavoir check` and `lavoir diff`, one file each.

pub mod diff;
pub mod github;
pub mod human;
pub mod json;
pub mod sarif;

/// ANSI colours, used when the output is a terminal and NO_COLOR is unset.
pub(crate) mod ansi {
    pub const RED: &str = "\x1b[31m";
    pub const GREEN: &str = "\x1b[32m";
    pub const YELLOW: &str = "\x1b[33m";
    pub const CYAN: &str = "\x1b[36m";
    pub const BOLD: &str = "\x1b[1m";
    pub const RESET: &str = "\x1b[0m";

    /// `text` in `style` when `color` is on.
    pub fn paint(color: bool, style: &str, text: &str) -> String {
        if color {
            format!("{style}{text}{RESET}")
        } else {
            text.to_string()
        }
    }
}
