//! One JSON object per finding and per line (JSON Lines); the fields are
//! those of [`Finding`], described by docs/check-finding.schema.json.

use crate::check::Finding;

/// One finding as one line of JSON.
pub fn finding(f: &Finding) -> String {
    serde_json::to_string(f).expect("a finding serializes")
}
