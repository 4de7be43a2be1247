//! Each seed through the default pipeline, compared with tests/golden:
//! the clean text byte for byte, and the metadata the gold lists.

use std::fs;

use lavoir::CleanDocument;
use serde_json::Value;

use crate::{PIPELINE, repo, seeds};

/// The gold text and metadata of a seed.
fn gold(name: &str) -> (String, Value) {
    let dir = repo().join("tests/golden");
    let stem = name.trim_end_matches(".txt");
    let text = fs::read_to_string(dir.join(format!("{stem}.txt"))).unwrap();
    let meta = fs::read_to_string(dir.join(format!("{stem}.meta.json"))).unwrap();
    (text, serde_json::from_str(&meta).unwrap())
}

fn clean(seed: &std::path::Path) -> CleanDocument {
    let name = seed.file_name().unwrap().to_string_lossy().to_string();
    PIPELINE
        .clean_bytes(&name, &fs::read(seed).unwrap())
        .unwrap()
}

/// A readable diff of two texts, line by line, with invisible spaces shown.
fn diff(got: &str, want: &str) -> String {
    let show = |s: &str| s.replace('\u{A0}', "⍽").replace('\u{202F}', "·");
    let mut out = String::new();
    for (i, (g, w)) in got.split('\n').zip(want.split('\n')).enumerate() {
        if g != w {
            out.push_str(&format!(
                "line {}:\n  got  {}\n  want {}\n",
                i + 1,
                show(g),
                show(w)
            ));
        }
    }
    let (g, w) = (got.split('\n').count(), want.split('\n').count());
    if g != w {
        out.push_str(&format!("{g} lines, want {w}\n"));
    }
    out
}

#[test]
fn seeds_match_the_gold_text_exactly() {
    let mut problems = Vec::new();
    for seed in seeds() {
        let doc = clean(&seed);
        let (want, _) = gold(&doc.id);
        if doc.text != want {
            problems.push(format!("{}:\n{}", doc.id, diff(&doc.text, &want)));
        }
    }
    assert!(problems.is_empty(), "{}", problems.join("\n"));
}

#[test]
fn seeds_carry_the_gold_metadata() {
    let mut problems = Vec::new();
    for seed in seeds() {
        let doc = clean(&seed);
        let (_, want) = gold(&doc.id);
        let got = serde_json::to_value(&doc.meta).unwrap();
        for (field, value) in want.as_object().unwrap() {
            if field == "removed" {
                continue;
            }
            if got.get(field) != Some(value) {
                problems.push(format!(
                    "{}: meta.{field} is {:?}, want {value}",
                    doc.id,
                    got.get(field)
                ));
            }
        }
        for field in [
            "title", "source", "credit", "date", "updated", "agency", "author", "time",
        ] {
            if got.get(field).is_some() && want.get(field).is_none() {
                problems.push(format!(
                    "{}: unexpected meta.{field} {}",
                    doc.id, got[field]
                ));
            }
        }
        let removed: Vec<(u64, &str, &str)> = doc
            .meta
            .removed
            .iter()
            .map(|r| (r.line as u64, &*r.kind, r.text.as_str()))
            .collect();
        let want_removed: Vec<(u64, &str, &str)> = want["removed"]
            .as_array()
            .unwrap()
            .iter()
            .map(|r| {
                (
                    r["line"].as_u64().unwrap(),
                    r["kind"].as_str().unwrap(),
                    r["text"].as_str().unwrap(),
                )
            })
            .collect();
        if removed != want_removed {
            problems.push(format!(
                "{}: removed\n  got  {removed:?}\n  want {want_removed:?}",
                doc.id
            ));
        }
    }
    assert!(problems.is_empty(), "{}", problems.join("\n"));
}

#[test]
fn cleaning_the_gold_again_changes_nothing() {
    for seed in seeds() {
        let name = seed.file_name().unwrap().to_string_lossy().to_string();
        let (want, _) = gold(&name);
        let again = PIPELINE.clean(&want).unwrap();
        assert_eq!(again.text, want, "{name}: {:?}", again.edits);
        assert!(again.edits.is_empty(), "{name}: {:?}", again.edits);
    }
}

#[test]
fn restore_rebuilds_every_seed_exactly() {
    for seed in seeds() {
        let bytes = fs::read(&seed).unwrap();
        let decoded = PIPELINE.decode(&bytes).unwrap().text;
        let doc = PIPELINE.clean_bytes("seed", &bytes).unwrap();
        assert_eq!(doc.restore().unwrap(), decoded, "{}", seed.display());
        // Through JSON too, as `lavoir restore` reads it.
        let json = serde_json::to_string(&doc).unwrap();
        let back: CleanDocument = serde_json::from_str(&json).unwrap();
        assert_eq!(back.restore().unwrap(), decoded);
    }
}

#[test]
fn edits_and_spans_point_at_the_right_text() {
    for seed in seeds() {
        let bytes = fs::read(&seed).unwrap();
        let decoded = PIPELINE.decode(&bytes).unwrap().text;
        let input: Vec<char> = decoded.chars().collect();
        let doc = clean(&seed);
        let text: Vec<char> = doc.text.chars().collect();
        for e in &doc.edits {
            assert!(e.start <= e.end && e.end <= input.len(), "{e:?}");
            // Junk is removed where the input has it.
            if e.category.is_some() {
                let span: String = input[e.start..e.end].iter().collect();
                assert!(
                    span.contains(e.original.trim()),
                    "{}: {e:?} vs {span:?}",
                    doc.id
                );
            }
            let line_start: usize = decoded
                .split('\n')
                .take(e.line - 1)
                .map(|l| l.chars().count() + 1)
                .sum();
            assert_eq!(line_start + e.column - 1, e.start, "{e:?}");
        }
        for ent in &doc.entities {
            let span: String = text[ent.start..ent.end].iter().collect();
            assert_eq!(span, *ent.canonical);
        }
        for b in &doc.blocks {
            let span: String = text[b.start..b.end].iter().collect();
            assert!(!span.is_empty() && span.trim() == span && !span.contains('\n'));
        }
        let blocks: Vec<String> = doc
            .blocks
            .iter()
            .map(|b| text[b.start..b.end].iter().collect())
            .collect();
        assert_eq!(
            blocks.join("\n\n") + if blocks.is_empty() { "" } else { "\n" },
            doc.text
        );
    }
}
