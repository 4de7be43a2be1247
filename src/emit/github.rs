//! GitHub Actions workflow commands: each finding becomes an annotation
//! on the file (`::warning file=…,line=…,col=…::message`).

use crate::check::{Finding, Severity};

/// Escapes a command's message (`%`, CR, LF).
fn data(s: &str) -> String {
    s.replace('%', "%25")
        .replace('\r', "%0D")
        .replace('\n', "%0A")
}

/// Escapes a command's property value (also `:` and `,`).
fn property(s: &str) -> String {
    data(s).replace(':', "%3A").replace(',', "%2C")
}

/// One finding as one workflow command.
pub fn finding(f: &Finding) -> String {
    let level = if f.severity == Severity::Error {
        "error"
    } else {
        "warning"
    };
    format!(
        "::{level} file={},line={},col={},endLine={},endColumn={},title={}::{}",
        property(&f.path),
        f.line,
        f.column,
        f.end_line,
        f.end_column,
        property(&format!("{} ({})", f.rule, f.stage)),
        data(&f.message)
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn escaping() {
        assert_eq!(data("50%\nfin"), "50%25%0Afin");
        assert_eq!(property("a:b,c"), "a%3Ab%2Cc");
    }
}
