//! SARIF 2.1.0, the format of GitHub code scanning and other static
//! analysis dashboards. Columns are Unicode code points
//! (`columnKind: unicodeCodePoints`).

use serde_json::{Value, json};

use crate::check::{Finding, Severity};
use crate::stages::RuleInfo;

fn level(s: Severity) -> &'static str {
    match s {
        Severity::Error => "error",
        _ => "warning",
    }
}

/// A relative path as a URI reference: `/` kept, other reserved bytes
/// percent-encoded.
fn uri(path: &str) -> String {
    let path = path.replace('\\', "/");
    let mut out = String::with_capacity(path.len());
    for b in path.bytes() {
        match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'.' | b'_' | b'~' | b'/' => {
                out.push(b as char)
            }
            _ => out.push_str(&format!("%{b:02X}")),
        }
    }
    out
}

/// The whole report: one run, the rules that fired, one result per finding.
pub fn report(findings: &[Finding], rules: &[RuleInfo]) -> Value {
    let mut ids: Vec<&str> = findings.iter().map(|f| &*f.rule).collect();
    ids.sort_unstable();
    ids.dedup();
    let descriptors: Vec<Value> = ids
        .iter()
        .map(|id| {
            let info = rules.iter().find(|r| r.id == *id);
            let summary = info.map_or_else(|| format!("lavoir rule {id}"), |r| r.summary.clone());
            let severity = findings
                .iter()
                .filter(|f| &*f.rule == *id)
                .map(|f| f.severity)
                .max()
                .unwrap_or(Severity::Warning);
            json!({
                "id": id,
                "shortDescription": { "text": summary },
                "help": { "text": format!("lavoir explain {id}") },
                "defaultConfiguration": { "level": level(severity) },
                "properties": { "stage": info.map(|r| r.stage) },
            })
        })
        .collect();
    let results: Vec<Value> = findings
        .iter()
        .map(|f| {
            json!({
                "ruleId": &*f.rule,
                "ruleIndex": ids.iter().position(|id| *id == &*f.rule),
                "level": level(f.severity),
                "message": { "text": f.message },
                "locations": [{
                    "physicalLocation": {
                        "artifactLocation": { "uri": uri(&f.path) },
                        "region": {
                            "startLine": f.line,
                            "startColumn": f.column,
                            "endLine": f.end_line,
                            "endColumn": f.end_column,
                        }
                    }
                }],
            })
        })
        .collect();
    json!({
        "$schema": "https://json.schemastore.org/sarif-2.1.0.json",
        "version": "2.1.0",
        "runs": [{
            "tool": {
                "driver": {
                    "name": "lavoir",
                    "version": env!("CARGO_PKG_VERSION"),
                    "rules": descriptors,
                }
            },
            "columnKind": "unicodeCodePoints",
            "results": results,
        }]
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn uris() {
        assert_eq!(uri("seeds/a b.txt"), "seeds/a%20b.txt");
        assert_eq!(uri("été.txt"), "%C3%A9t%C3%A9.txt");
    }
}
