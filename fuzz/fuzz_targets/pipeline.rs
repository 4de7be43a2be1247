//! Cleans arbitrary bytes with the built-in pipeline and checks the
//! invariants of the output: exact restore, NFC text, spans inside the
//! text (each entity's holding its spelling), idempotence.
//!
//! Idempotence failures are a bug class of their own and tend to recur, so
//! their handling is set by environment variables (the other invariants
//! always panic):
//!
//! - `LAVOIR_FUZZ_IDEMPOTENCE=panic` (default): any failure panics.
//! - `LAVOIR_FUZZ_IDEMPOTENCE=log`: no panic; the first input seen for each
//!   signature (the rule ids of the first stage that edits in the second
//!   run, see `signature`) is saved as
//!   `$LAVOIR_FUZZ_IDEMPOTENCE_DIR/<signature>--<hash>` (default dir
//!   `artifacts/pipeline/idempotence`), so fuzzing goes on.
//! - `LAVOIR_FUZZ_IDEMPOTENCE=off`: not checked.
//! - `LAVOIR_FUZZ_IDEMPOTENCE_ONLY=rule`: in panic mode, only failures whose
//!   signature contains `rule` panic (to minimize one class with `tmin`).
#![no_main]

use std::collections::hash_map::DefaultHasher;
use std::hash::{Hash, Hasher};
use std::path::PathBuf;
use std::sync::LazyLock;
use std::sync::atomic::{AtomicU64, Ordering};

use lavoir::Pipeline;
use libfuzzer_sys::fuzz_target;
use unicode_normalization::is_nfc;

static PIPELINE: LazyLock<Pipeline> = LazyLock::new(Pipeline::builtin);

enum Idempotence {
    Panic(Option<String>),
    Log(PathBuf),
    Off,
}

static IDEMPOTENCE: LazyLock<Idempotence> =
    LazyLock::new(
        || match std::env::var("LAVOIR_FUZZ_IDEMPOTENCE").as_deref() {
            Ok("off") => Idempotence::Off,
            Ok("log") => {
                let dir = std::env::var_os("LAVOIR_FUZZ_IDEMPOTENCE_DIR")
                    .map(PathBuf::from)
                    .unwrap_or_else(|| PathBuf::from("artifacts/pipeline/idempotence"));
                std::fs::create_dir_all(&dir).expect("cannot create the idempotence folder");
                Idempotence::Log(dir)
            }
            _ => Idempotence::Panic(std::env::var("LAVOIR_FUZZ_IDEMPOTENCE_ONLY").ok()),
        },
    );

/// Documents cleaned twice, and how many of them were not idempotent.
static CHECKED: AtomicU64 = AtomicU64::new(0);
static FAILED: AtomicU64 = AtomicU64::new(0);

/// What the second run did first: the stage of its first edit and the
/// sorted, distinct rule ids of that stage's edits, joined with `+` (`/` is
/// written `~`, for file names). Edits of later stages are often only
/// consequences, so they are left out: one signature, one kind of bug.
fn signature(edits: &[lavoir::Edit]) -> String {
    let Some(first) = edits.first() else {
        return "no-edit".to_string();
    };
    let mut rules: Vec<String> = edits
        .iter()
        .filter(|e| e.stage == first.stage)
        .map(|e| e.rule.replace('/', "~"))
        .collect();
    rules.sort();
    rules.dedup();
    let sig = rules.join("+");
    if sig.len() > 150 {
        format!("{}...", &sig[..sig.floor_char_boundary(150)])
    } else {
        sig
    }
}

fuzz_target!(|data: &[u8]| {
    let pipeline = &*PIPELINE;
    // An Err (binary input, undecodable bytes) is fine.
    let Ok((decoded, doc)) = pipeline.clean_bytes_keeping_input("fuzz", data) else {
        return;
    };

    // The edit log rebuilds the decoded input exactly.
    match doc.restore() {
        Ok(restored) => assert!(
            restored == decoded,
            "restore mismatch:\n  decoded:  {decoded:?}\n  restored: {restored:?}\n  text: {:?}",
            doc.text
        ),
        Err(e) => panic!(
            "restore failed: {e}\n  decoded: {decoded:?}\n  text: {:?}",
            doc.text
        ),
    }

    // The clean text is NFC.
    assert!(is_nfc(&doc.text), "text is not NFC: {:?}", doc.text);

    // Every span lies inside the clean text.
    let chars: Vec<char> = doc.text.chars().collect();
    let text_chars = chars.len();
    for b in &doc.blocks {
        assert!(
            b.start <= b.end && b.end <= text_chars,
            "block {b:?} outside text of {text_chars} chars: {:?}",
            doc.text
        );
    }
    for e in &doc.entities {
        assert!(
            e.start <= e.end && e.end <= text_chars,
            "entity {e:?} outside text of {text_chars} chars: {:?}",
            doc.text
        );
        // And holds the spelling it names.
        let span: String = chars[e.start..e.end].iter().collect();
        assert_eq!(span, *e.canonical, "entity {e:?} in {:?}", doc.text);
    }

    // Cleaning the clean text again changes nothing.
    if matches!(*IDEMPOTENCE, Idempotence::Off) {
        return;
    }
    let twice = match pipeline.clean(&doc.text) {
        Ok(d) => d,
        Err(e) => panic!("second clean failed: {e}\n  text: {:?}", doc.text),
    };
    let checked = CHECKED.fetch_add(1, Ordering::Relaxed) + 1;
    if checked % 25_000 == 0 {
        // A running tally, so that the log's last one is close to the total.
        let failed = FAILED.load(Ordering::Relaxed);
        eprintln!("idempotence failures: {failed} of {checked} documents cleaned twice");
    }
    if twice.text == doc.text {
        return;
    }
    let failed = FAILED.fetch_add(1, Ordering::Relaxed) + 1;
    if failed.is_power_of_two() {
        eprintln!("idempotence failures: {failed} of {checked} documents cleaned twice");
    }
    let sig = signature(&twice.edits);
    match &*IDEMPOTENCE {
        Idempotence::Off => return,
        Idempotence::Log(dir) => {
            let prefix = format!("{sig}--");
            let seen = std::fs::read_dir(dir)
                .into_iter()
                .flatten()
                .flatten()
                .any(|e| e.file_name().to_string_lossy().starts_with(&prefix));
            if !seen {
                let mut h = DefaultHasher::new();
                data.hash(&mut h);
                let path = dir.join(format!("{prefix}{:016x}", h.finish()));
                eprintln!("idempotence failure [{sig}] saved to {}", path.display());
                let _ = std::fs::write(path, data);
            }
            return;
        }
        Idempotence::Panic(Some(only)) if !sig.split('+').any(|r| r == only.replace('/', "~")) => {
            return;
        }
        Idempotence::Panic(_) => {}
    }
    panic!(
        "not idempotent [{sig}]:\n  decoded: {decoded:?}\n  once:  {:?}\n  twice: {:?}\n  edits: {:?}",
        doc.text,
        twice.text,
        twice
            .edits
            .iter()
            .map(|e| format!("{}:{:?}->{:?}", e.rule, e.original, e.new))
            .collect::<Vec<_>>()
    );
});
