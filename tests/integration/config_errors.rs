//! The messages a user sees for a broken pipeline.yaml: file, line and
//! column, the key, what was expected; every error at once.

use std::fs;

use insta::assert_snapshot;
use lavoir::Pipeline;

const RULES: &str = "rules:
  - id: ok-rule
    kind: teaser
    match: line
    regex: 'Lire aussi'
    description: fine
  - id: broken-rule
    kind: teaser
    match: line
    regex: 'Lire (aussi'
    description: an unclosed group
";

/// Loads `pipeline` (with `rules.yaml` beside it) and returns the errors,
/// with the temporary folder shown as `[DIR]`.
fn errors(pipeline: &str) -> String {
    let dir = tempfile::tempdir().unwrap();
    fs::write(dir.path().join("rules.yaml"), RULES).unwrap();
    let path = dir.path().join("pipeline.yaml");
    fs::write(&path, pipeline).unwrap();
    let err = Pipeline::load(Some(&path)).expect_err("the pipeline is broken");
    err.to_string()
        .replace(&dir.path().display().to_string(), "[DIR]")
}

#[test]
fn unknown_stage() {
    assert_snapshot!(errors(
        "stages:\n  - decode: {}\n  - boilerplat:\n      packs: [rules.yaml]\n"
    ));
}

#[test]
fn unknown_key() {
    assert_snapshot!(errors("stages:\n  - unicode:\n      nfcc: true\n"));
}

#[test]
fn bad_regex() {
    assert_snapshot!(errors(
        "stages:\n  - boilerplate:\n      packs: [rules.yaml]\n"
    ));
}

#[test]
fn missing_rules_file() {
    assert_snapshot!(errors(
        "stages:\n  - boilerplate:\n      packs: [rules/missing.yaml]\n"
    ));
}

#[test]
fn all_errors_are_reported_together() {
    assert_snapshot!(errors(
        "inptu: seeds
stages:
  - decode:
      encoding: klingon
  - unicode:
      nfcc: true
      soft_hyphens: maybe
  - boilerplat: {}
  - boilerplate:
      packs: [rules.yaml, missing.yaml]
  - spelling:
      lexicons: [../../etc/passwd]
"
    ));
}

#[test]
fn broken_yaml() {
    assert_snapshot!(errors("stages:\n  - unicode: {nfc: true\n"));
}
