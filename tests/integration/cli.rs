//! `lavoir run` and `lavoir restore` as a user runs them.

use std::fs;
use std::path::Path;
use std::process::{Command, Output};

use lavoir::CleanDocument;

use crate::{lavoir_fed, repo, seeds};

fn lavoir(dir: &Path, args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_lavoir"))
        .args(args)
        .current_dir(dir)
        .output()
        .expect("lavoir runs")
}

fn stderr(out: &Output) -> String {
    String::from_utf8_lossy(&out.stderr).into_owned()
}

/// A copy of the repository's pipeline, rules, lexicons and seeds.
fn project() -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    for sub in ["rules", "lexicons", "seeds"] {
        fs::create_dir_all(dir.path().join(sub)).unwrap();
        for entry in fs::read_dir(repo().join(sub)).unwrap() {
            let entry = entry.unwrap();
            fs::copy(entry.path(), dir.path().join(sub).join(entry.file_name())).unwrap();
        }
    }
    fs::copy(
        repo().join("pipeline.yaml"),
        dir.path().join("pipeline.yaml"),
    )
    .unwrap();
    dir
}

#[test]
fn timings_list_every_stage_after_the_summary() {
    let dir = project();
    let record = r#"{"id": "a", "text": "Le chef d'Al-Qods à Baghdad."}"#;
    let run = |args: &[&str]| lavoir_fed(dir.path(), args, format!("{record}\n").as_bytes());
    let out = run(&["run", "--timings", "--jsonl", "-"]);
    assert!(out.status.success(), "{}", stderr(&out));
    let err = stderr(&out);
    let lines: Vec<&str> = err.lines().collect();
    assert!(lines[0].starts_with("lavoir: 1 record,"), "{err}");
    assert_eq!(lines[1], "lavoir: time by stage, summed over threads");
    let stages = [
        "decode",
        "unicode",
        "mojibake",
        "dehyphenate",
        "boilerplate",
        "metadata",
        "spelling",
        "typography",
        "structure",
        "dedup",
    ];
    assert_eq!(lines.len(), 3 + stages.len(), "{err}");
    for (line, stage) in lines[3..].iter().zip(stages) {
        // stage, runs, time, ms, second looks, time, ms, share
        let cells: Vec<&str> = line.split_whitespace().collect();
        assert_eq!(cells[..2], [stage, "1"], "{err}");
        let again = ["boilerplate", "metadata"].contains(&stage);
        assert_eq!(cells[4], if again { "1" } else { "0" }, "{err}");
    }
    // Without the flag, the summary only.
    let out = run(&["run", "--jsonl", "-"]);
    assert_eq!(stderr(&out).lines().count(), 1, "{}", stderr(&out));
}

#[test]
fn bare_run_cleans_seeds_into_out() {
    let dir = project();
    let out = lavoir(dir.path(), &["run"]);
    assert!(out.status.success(), "{}", stderr(&out));
    let summary = stderr(&out);
    assert!(summary.starts_with("lavoir: 5 documents,"), "{summary}");
    assert!(summary.contains("boilerplate"), "{summary}");
    for seed in seeds() {
        let name = seed.file_name().unwrap().to_string_lossy().to_string();
        let text = fs::read_to_string(dir.path().join("out").join(&name)).unwrap();
        let json =
            fs::read_to_string(dir.path().join("out").join(name.replace(".txt", ".json"))).unwrap();
        let doc: CleanDocument = serde_json::from_str(&json).unwrap();
        assert_eq!(doc.text, text);
        assert_eq!(doc.id, name);

        // `lavoir restore` prints the input back.
        let json_path = format!("out/{}", name.replace(".txt", ".json"));
        let restored = lavoir(dir.path(), &["restore", &json_path]);
        assert!(restored.status.success(), "{}", stderr(&restored));
        assert_eq!(restored.stdout, fs::read(&seed).unwrap());
    }
}

#[test]
fn run_on_a_folder_keeps_going_after_a_bad_file_and_exits_2() {
    let dir = project();
    let input = dir.path().join("in");
    fs::create_dir_all(input.join("sub")).unwrap();
    fs::copy(&seeds()[0], input.join("sub/a.txt")).unwrap();
    fs::write(input.join("b.txt"), b"Suleimani \xc3\xa0 Baghdad\r\n").unwrap();
    fs::write(input.join("binary.txt"), b"\x7fELF\x00\x01\x02").unwrap();
    fs::write(input.join("ignored.md"), b"not a .txt").unwrap();
    let out = lavoir(dir.path(), &["run", "--out", "cleaned", "in"]);
    assert_eq!(out.status.code(), Some(2), "{}", stderr(&out));
    let err = stderr(&out);
    assert!(err.contains("binary.txt: binary file"), "{err}");
    assert!(err.contains("2 documents, 1 failed"), "{err}");
    assert_eq!(
        fs::read_to_string(dir.path().join("cleaned/b.txt")).unwrap(),
        "Soleimani à Bagdad\n"
    );
    assert!(dir.path().join("cleaned/sub/a.json").is_file());
    assert!(!dir.path().join("cleaned/ignored.md").exists());
    assert!(!dir.path().join("cleaned/binary.txt").exists());
}

#[test]
fn dash_cleans_stdin_to_stdout() {
    let dir = project();
    let out = lavoir_fed(
        dir.path(),
        &["run", "-"],
        "Customize this title in frenchLa force Quds à Baghdad\n\nSource link -57".as_bytes(),
    );
    assert!(out.status.success(), "{}", stderr(&out));
    let text = String::from_utf8(out.stdout).unwrap();
    assert!(text.starts_with("La force Al-Qods à Bagdad\n"), "{text:?}");
    assert!(!text.contains("Source link"));
}

#[test]
fn a_broken_config_exits_2_with_located_errors() {
    let dir = project();
    fs::write(dir.path().join("bad.yaml"), "stages:\n  - unicod: {}\n").unwrap();
    let out = lavoir(dir.path(), &["run", "--config", "bad.yaml"]);
    assert_eq!(out.status.code(), Some(2));
    let err = stderr(&out);
    assert!(
        err.contains("bad.yaml:2:5: unknown stage `unicod`"),
        "{err}"
    );
    assert!(err.contains("did you mean `unicode`?"), "{err}");
}

#[test]
fn missing_input_is_reported() {
    let dir = project();
    let out = lavoir(dir.path(), &["run", "--out", "o", "nowhere.txt"]);
    assert_eq!(out.status.code(), Some(2));
    assert!(
        stderr(&out).contains("nowhere.txt: cannot read"),
        "{}",
        stderr(&out)
    );
}

#[test]
fn restore_refuses_a_document_that_does_not_fit() {
    let dir = project();
    let out = lavoir(
        dir.path(),
        &["run", "--out", "o", "seeds/000_4f3f5b0c35267988.txt"],
    );
    assert!(out.status.success());
    let path = dir.path().join("o/000_4f3f5b0c35267988.json");
    let mut doc: CleanDocument = serde_json::from_str(&fs::read_to_string(&path).unwrap()).unwrap();
    doc.text = doc.text.replacen("Soleimani", "Xoleimani", 1);
    fs::write(&path, serde_json::to_string(&doc).unwrap()).unwrap();
    let out = lavoir(dir.path(), &["restore", "o/000_4f3f5b0c35267988.json"]);
    assert_eq!(out.status.code(), Some(2));
    assert!(stderr(&out).contains("does not fit"), "{}", stderr(&out));
}

#[test]
fn docs_rules_md_is_what_explain_prints() {
    let out = lavoir(repo(), &["explain", "--all"]);
    assert!(out.status.success(), "{}", stderr(&out));
    let want = fs::read_to_string(repo().join("docs/rules.md")).unwrap();
    assert!(
        String::from_utf8(out.stdout).unwrap() == want,
        "docs/rules.md is out of date: run `cargo run -- explain --all > docs/rules.md`"
    );
}

#[test]
fn fix_cleans_files_in_place_and_keeps_the_log() {
    let dir = project();
    let input = dir.path().join("in");
    fs::create_dir_all(&input).unwrap();
    let original = "Customize this title in frenchLe chef de la force Quds\n\nl'Irak à Baghdad.\n";
    fs::write(input.join("a.txt"), original).unwrap();
    let out = lavoir(dir.path(), &["fix", "--out", "log", "in"]);
    assert!(out.status.success(), "{}", stderr(&out));
    let cleaned = fs::read_to_string(input.join("a.txt")).unwrap();
    assert_eq!(cleaned, "Le chef de la force Al-Qods\n\nl’Irak à Bagdad.\n");
    // No temporary file is left beside it, the log rebuilds the original.
    let names: Vec<String> = fs::read_dir(&input)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    assert_eq!(names, vec!["a.txt"]);
    let restored = lavoir(dir.path(), &["restore", "log/a.json"]);
    assert_eq!(String::from_utf8(restored.stdout).unwrap(), original);
    // `run --write` is the same command; a second pass changes nothing.
    let again = lavoir(dir.path(), &["run", "--write", "--out", "log2", "in"]);
    assert!(again.status.success());
    assert_eq!(fs::read_to_string(input.join("a.txt")).unwrap(), cleaned);
    let check = lavoir(dir.path(), &["check", "in"]);
    assert_eq!(
        check.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&check.stdout)
    );
}
