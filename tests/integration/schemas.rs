//! The JSON lavoir writes follows its schemas: annotated documents and
//! JSONL records (docs/*.schema.json), `check --format json` and SARIF.

use std::process::Command;

use serde_json::Value;

use crate::{PIPELINE, repo, seeds};

fn check(format: &str) -> String {
    let out = Command::new(env!("CARGO_BIN_EXE_lavoir"))
        .args([
            "check",
            "--format",
            format,
            "seeds",
            "tests/cmd/fixtures/crlf.txt",
        ])
        .current_dir(repo())
        .output()
        .unwrap();
    assert_eq!(
        out.status.code(),
        Some(1),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout).unwrap()
}

/// Validates `instances` against the schema in `schema_file`.
fn validate(schema_file: &str, instances: &[Value]) {
    let schema: Value =
        serde_json::from_str(&std::fs::read_to_string(repo().join(schema_file)).unwrap()).unwrap();
    let mut compiler = boon::Compiler::new();
    let mut schemas = boon::Schemas::new();
    let url = "file:///schema.json";
    compiler.add_resource(url, schema).unwrap();
    let index = compiler.compile(url, &mut schemas).unwrap();
    for instance in instances {
        if let Err(e) = schemas.validate(instance, index) {
            panic!("{schema_file}: {e:#}\n{instance:#}");
        }
    }
}

#[test]
fn json_findings_follow_their_schema() {
    let lines: Vec<Value> = check("json")
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    assert!(lines.len() > 100);
    validate("docs/check-finding.schema.json", &lines);
    // And the schema is strict enough to catch a broken finding.
    let mut broken = lines[0].clone();
    broken["line"] = Value::from(0);
    let schema: Value = serde_json::from_str(
        &std::fs::read_to_string(repo().join("docs/check-finding.schema.json")).unwrap(),
    )
    .unwrap();
    let mut compiler = boon::Compiler::new();
    let mut schemas = boon::Schemas::new();
    compiler.add_resource("file:///s.json", schema).unwrap();
    let index = compiler.compile("file:///s.json", &mut schemas).unwrap();
    assert!(schemas.validate(&broken, index).is_err());
}

#[test]
fn sarif_follows_the_sarif_2_1_0_schema() {
    let report: Value = serde_json::from_str(&check("sarif")).unwrap();
    assert_eq!(report["version"], "2.1.0");
    let results = report["runs"][0]["results"].as_array().unwrap();
    assert!(results.len() > 100);
    validate(
        "tests/schemas/sarif-schema-2.1.0.json",
        std::slice::from_ref(&report),
    );
    // The schema does bite: a result without a message is refused.
    let mut broken = report;
    broken["runs"][0]["results"][0]
        .as_object_mut()
        .unwrap()
        .remove("message");
    let schema: Value = serde_json::from_str(
        &std::fs::read_to_string(repo().join("tests/schemas/sarif-schema-2.1.0.json")).unwrap(),
    )
    .unwrap();
    let mut compiler = boon::Compiler::new();
    let mut schemas = boon::Schemas::new();
    compiler.add_resource("file:///s.json", schema).unwrap();
    let index = compiler.compile("file:///s.json", &mut schemas).unwrap();
    assert!(schemas.validate(&broken, index).is_err());
}

/// The compiled schema of `docs/<name>`, with the other docs schemas
/// loaded under their `$id` so that `$ref`s between them resolve.
fn docs_schema(name: &str) -> (boon::Schemas, boon::SchemaIndex) {
    let mut compiler = boon::Compiler::new();
    let mut target = None;
    for file in ["document.schema.json", "record.schema.json"] {
        let schema: Value =
            serde_json::from_str(&std::fs::read_to_string(repo().join("docs").join(file)).unwrap())
                .unwrap();
        let id = schema["$id"].as_str().unwrap().to_string();
        assert!(id.ends_with(&format!("/docs/{file}")), "{id}");
        compiler.add_resource(&id, schema).unwrap();
        if file == name {
            target = Some(id);
        }
    }
    let mut schemas = boon::Schemas::new();
    let index = compiler.compile(&target.unwrap(), &mut schemas).unwrap();
    (schemas, index)
}

#[test]
fn annotated_documents_follow_their_schema() {
    let (schemas, index) = docs_schema("document.schema.json");
    let mut inputs: Vec<Vec<u8>> = seeds().iter().map(|p| std::fs::read(p).unwrap()).collect();
    inputs.push(Vec::new()); // empty: a notice
    inputs.push(b"d\xc3\xa9j\xc3\xa0 vu, caf\xc3\xa9 \xff\xfe fin \xe2\x80".to_vec()); // repairs
    inputs.push("\u{feff}Publi\u{e9} par\r\nTexte.".as_bytes().to_vec()); // BOM, CRLF
    let mut seen_repairs = false;
    for bytes in &inputs {
        let doc = PIPELINE.clean_bytes("doc", bytes).unwrap();
        let json = serde_json::to_value(&doc).unwrap();
        seen_repairs |= json["input"]["repairs"].is_array();
        if let Err(e) = schemas.validate(&json, index) {
            panic!("{e:#}\n{json:#}");
        }
        // The schema does bite.
        let mut broken = json.clone();
        broken["edits"] = serde_json::json!([{"stage": "x"}]);
        assert!(schemas.validate(&broken, index).is_err());
    }
    assert!(seen_repairs);
}

#[test]
fn jsonl_records_follow_their_schema() {
    let (schemas, index) = docs_schema("record.schema.json");
    let dir = tempfile::tempdir().unwrap();
    let input: String = seeds()
        .iter()
        .map(|p| {
            let text = std::fs::read_to_string(p).unwrap();
            format!(
                "{}\n",
                serde_json::json!({"id": "a", "text": text, "url": 1})
            )
        })
        .collect();
    std::fs::write(dir.path().join("in.jsonl"), input).unwrap();
    let out = Command::new(env!("CARGO_BIN_EXE_lavoir"))
        .args(["run", "-q", "--jsonl", "in.jsonl"])
        .current_dir(dir.path())
        .output()
        .unwrap();
    assert!(out.status.success());
    let records: Vec<Value> = String::from_utf8(out.stdout)
        .unwrap()
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    assert_eq!(records.len(), 5);
    for record in &records {
        if let Err(e) = schemas.validate(record, index) {
            panic!("{e:#}\n{record:#}");
        }
        let mut broken = record.clone();
        broken["lavoir"]["meta"]["date"] = Value::from("hier");
        assert!(schemas.validate(&broken, index).is_err());
    }
}
