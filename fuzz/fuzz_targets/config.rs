//! Parses arbitrary text as a built-in pipeline.yaml and builds it: must
//! never panic, and must return in bounded time (run with -timeout).
#![no_main]

use lavoir::Pipeline;
use lavoir::config::{self, Origin};
use libfuzzer_sys::fuzz_target;

/// Prefixes that steer the fuzzer into the `stages:` list, chosen by the
/// first byte of the input when it is one of the control bytes 0x01..=0x04
/// (never found in a real config).
const PREFIXES: &[&str] = &[
    "stages:\n",
    "stages:\n  - ",
    "stages:\n  - boilerplate:\n      packs: [rules/boilerplate.fr.yaml]\n",
    "stages:\n  - spelling:\n      lexicons: [lexicons/names.fr.yaml]\n",
];

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    let text = match text.as_bytes().first() {
        Some(&b @ 1..=4) => format!("{}{}", PREFIXES[usize::from(b - 1)], &text[1..]),
        _ => text.to_string(),
    };
    if let Ok(config) = config::load_str(&text, Origin::Builtin) {
        let _ = Pipeline::from_config(&config);
    }
});
