//! Articles in the styles of other sites (tests/articles): the rules must
//! generalize beyond the seeds.

use std::fs;

use serde_json::{Value, json};

use crate::{PIPELINE, repo};

#[test]
fn articles_from_other_sites_clean_as_expected() {
    let dir = repo().join("tests/articles");
    let mut names: Vec<String> = fs::read_dir(&dir)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .filter_map(|n| n.strip_suffix(".txt").map(str::to_string))
        .collect();
    names.sort();
    assert!(names.len() >= 2);
    for name in names {
        let input = fs::read(dir.join(format!("{name}.txt"))).unwrap();
        let doc = PIPELINE.clean_bytes(&name, &input).unwrap();
        let want = fs::read_to_string(dir.join(format!("{name}.clean"))).unwrap();
        assert_eq!(doc.text, want, "{name}");
        assert_eq!(
            doc.restore().unwrap(),
            PIPELINE.decode(&input).unwrap().text
        );

        let mut meta = serde_json::to_value(&doc.meta).unwrap();
        let removed: Vec<Value> = doc
            .meta
            .removed
            .iter()
            .map(|r| json!({"line": r.line, "kind": r.kind, "text": r.text}))
            .collect();
        meta["removed"] = Value::Array(removed);
        let want: Value = serde_json::from_str(
            &fs::read_to_string(dir.join(format!("{name}.meta.json"))).unwrap(),
        )
        .unwrap();
        assert_eq!(meta, want, "{name}");

        let again = PIPELINE.clean(&doc.text).unwrap();
        assert!(again.edits.is_empty(), "{name}: {:?}", again.edits);
    }
}
