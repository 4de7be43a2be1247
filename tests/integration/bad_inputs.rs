//! What a scraper may hand lavoir, and what an untrusted pipeline file may
//! hold (tests/bad_inputs/, plus cases made on the fly: a 200 MB line,
//! symlink loops, files that vanish). Each bad input gets a message that
//! names it, the others are cleaned, nothing is lost or overwritten.

use std::fs;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};
use std::time::{Duration, Instant};

use lavoir::CleanDocument;
use lavoir::run::{self, Failure, InputFile, Observer, RunOptions};

use crate::{PIPELINE, repo};

fn bad_inputs() -> PathBuf {
    repo().join("tests/bad_inputs")
}

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

/// A folder with the committed bad files, the repository's pipeline, and
/// the cases that cannot be committed.
fn bad_folder() -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    let input = dir.path().join("in");
    fs::create_dir(&input).unwrap();
    for entry in fs::read_dir(bad_inputs()).unwrap() {
        let path = entry.unwrap().path();
        if path.extension().is_some_and(|e| e == "txt") {
            fs::copy(&path, input.join(path.file_name().unwrap())).unwrap();
        }
    }
    // 200 MB on a single line: over the default max_document_bytes.
    let huge = fs::File::create(input.join("huge-line.txt")).unwrap();
    let line = "mot ".repeat(1 << 18);
    let mut writer = std::io::BufWriter::new(huge);
    for _ in 0..200 {
        std::io::Write::write_all(&mut writer, line.as_bytes()).unwrap();
    }
    drop(writer);
    // A link to nowhere, and a folder that links to its parent.
    std::os::unix::fs::symlink("nowhere.txt", input.join("broken-link.txt")).unwrap();
    fs::create_dir(input.join("sub")).unwrap();
    fs::write(input.join("sub/article.txt"), "Texte de l'article.\n").unwrap();
    std::os::unix::fs::symlink("..", input.join("sub/loop")).unwrap();
    for file in ["rules", "lexicons"] {
        copy_dir(&repo().join(file), &dir.path().join(file));
    }
    fs::copy(
        repo().join("pipeline.yaml"),
        dir.path().join("pipeline.yaml"),
    )
    .unwrap();
    dir
}

fn copy_dir(from: &Path, to: &Path) {
    fs::create_dir_all(to).unwrap();
    for entry in fs::read_dir(from).unwrap() {
        let path = entry.unwrap().path();
        fs::copy(&path, to.join(path.file_name().unwrap())).unwrap();
    }
}

/// Every file under `dir` with its bytes.
fn snapshot(dir: &Path) -> Vec<(PathBuf, Vec<u8>)> {
    let mut files = Vec::new();
    let mut stack = vec![dir.to_path_buf()];
    while let Some(d) = stack.pop() {
        for entry in fs::read_dir(&d).unwrap() {
            let path = entry.unwrap().path();
            let meta = fs::symlink_metadata(&path).unwrap();
            if meta.is_dir() {
                stack.push(path);
            } else if meta.is_file() {
                let bytes = fs::read(&path).unwrap();
                files.push((path, bytes));
            }
        }
    }
    files.sort();
    files
}

#[test]
fn each_bad_file_is_reported_and_the_others_are_cleaned() {
    let dir = bad_folder();
    let before = snapshot(&dir.path().join("in"));
    let started = Instant::now();
    let out = lavoir(dir.path(), &["run", "in", "--out", "out"]);
    let elapsed = started.elapsed();
    let err = stderr(&out);
    assert_eq!(out.status.code(), Some(2), "{err}");
    // The 200 MB file is refused from its size, not read.
    assert!(elapsed < Duration::from_secs(60), "{elapsed:?}");

    for expected in [
        "in/binary.txt: binary file (NUL byte at offset 8), skipped",
        "in/huge-line.txt: 209715200 bytes, over the limit of 16777216 (`max_document_bytes`",
        "in/broken-link.txt: cannot read (broken link?)",
        "in/sub/loop: symlink loop, skipped",
        // Cleaned, with a warning that names what was odd.
        "in/empty.txt: empty document",
        "in/invalid-utf8.txt: invalid UTF-8 bytes [ff] at byte 135 replaced by \"\u{FFFD}\"",
        "in/utf16le-nobom.txt: not UTF-8: read as UTF-16LE (detected, no byte order mark)",
        "in/windows-1252.txt: not UTF-8: read as windows-1252 (detected)",
        "lavoir: 8 documents, 4 failed",
    ] {
        assert!(err.contains(expected), "{expected:?} not in\n{err}");
    }

    // Whatever the encoding, the same article comes out.
    let out_dir = dir.path().join("out");
    let reference = fs::read_to_string(out_dir.join("utf16le-bom.txt")).unwrap();
    assert!(reference.starts_with("Le chef de la force Al-Qods, Qassem Soleimani"));
    for name in ["utf16be-bom", "utf16le-nobom", "windows-1252"] {
        let text = fs::read_to_string(out_dir.join(format!("{name}.txt"))).unwrap();
        assert_eq!(text, reference, "{name}");
    }
    assert_eq!(fs::read(out_dir.join("empty.txt")).unwrap(), b"");
    assert_eq!(fs::read(out_dir.join("only-junk.txt")).unwrap(), b"");
    assert!(out_dir.join("sub/article.txt").exists());
    for refused in ["binary", "huge-line", "broken-link"] {
        assert!(
            !out_dir.join(format!("{refused}.txt")).exists(),
            "{refused}"
        );
    }

    // Nothing is lost: each annotated document rebuilds its decoded input,
    // and for UTF-8 files (even invalid ones) that is the file.
    for name in ["invalid-utf8", "only-junk", "empty", "utf16le-nobom"] {
        let json = fs::read_to_string(out_dir.join(format!("{name}.json"))).unwrap();
        let doc: CleanDocument = serde_json::from_str(&json).unwrap();
        let restored = doc.restore().unwrap();
        let input = fs::read(bad_inputs().join(format!("{name}.txt"))).unwrap();
        assert_eq!(restored, PIPELINE.decode(&input).unwrap().text, "{name}");
        match name {
            "utf16le-nobom" => {
                let units: Vec<u16> = input
                    .chunks(2)
                    .map(|c| u16::from_le_bytes([c[0], c[1]]))
                    .collect();
                assert_eq!(restored, String::from_utf16(&units).unwrap());
            }
            // Each invalid sequence is recorded with its bytes.
            "invalid-utf8" => {
                let repairs: Vec<(u64, &str)> = doc
                    .input
                    .repairs
                    .iter()
                    .map(|r| (r.byte, r.bytes.as_str()))
                    .collect();
                assert_eq!(repairs, [(135, "ff"), (148, "e2 80")]);
            }
            _ => assert_eq!(restored.as_bytes(), input.as_slice(), "{name}"),
        }
    }

    // Inputs untouched, and nothing written outside the output folder.
    assert_eq!(snapshot(&dir.path().join("in")), before);
    let mut top: Vec<String> = fs::read_dir(dir.path())
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    top.sort();
    assert_eq!(top, ["in", "lexicons", "out", "pipeline.yaml", "rules"]);
}

#[test]
fn a_long_single_line_under_the_limit_is_cleaned_and_restored() {
    // 1 MB in one line, junk and variants inside.
    let mut line = String::new();
    while line.len() < 1 << 20 {
        line.push_str("Suleimani  à Baghdad ,l'ambassade « protégée »; ");
    }
    let doc = PIPELINE.clean(&line).unwrap();
    assert!(
        doc.text
            .contains("Soleimani à Bagdad, l’ambassade «\u{202F}protégée\u{202F}»")
    );
    assert_eq!(doc.restore().unwrap(), line);
}

#[test]
fn the_size_limit_is_configurable_and_applies_to_stdin_and_jsonl() {
    let dir = tempfile::tempdir().unwrap();
    fs::write(
        dir.path().join("pipeline.yaml"),
        "max_document_bytes: 1000\nstages:\n  - unicode\n",
    )
    .unwrap();
    fs::write(dir.path().join("small.txt"), "court\n").unwrap();
    fs::write(dir.path().join("big.txt"), "long ".repeat(300)).unwrap();
    let out = lavoir(dir.path(), &["run", "small.txt", "big.txt", "--out", "out"]);
    assert_eq!(out.status.code(), Some(2));
    assert!(
        stderr(&out).contains("big.txt: 1500 bytes, over the limit of 1000"),
        "{}",
        stderr(&out)
    );
    assert!(dir.path().join("out/small.txt").exists());

    // JSONL: a record over the limit, and a line too long to be held.
    let records = format!(
        "{{\"id\":1,\"text\":\"ok\"}}\n{{\"id\":2,\"text\":\"{}\"}}\n{{\"id\":3,\"text\":\"{}\"}}\n{{\"id\":4,\"text\":\"fin\"}}\n",
        "x".repeat(1500),
        "y".repeat(3 << 20),
    );
    fs::write(dir.path().join("in.jsonl"), records).unwrap();
    let out = lavoir(dir.path(), &["run", "--jsonl", "in.jsonl"]);
    assert_eq!(out.status.code(), Some(2));
    let err = stderr(&out);
    assert!(
        err.contains("in.jsonl:2: 1500 bytes, over the limit of 1000"),
        "{err}"
    );
    assert!(
        err.contains("in.jsonl:3: line of 3145747 bytes, too long"),
        "{err}"
    );
    let ids: Vec<serde_json::Value> = String::from_utf8(out.stdout)
        .unwrap()
        .lines()
        .map(|l| serde_json::from_str::<serde_json::Value>(l).unwrap()["id"].clone())
        .collect();
    assert_eq!(ids, [serde_json::json!(1), serde_json::json!(4)]);
}

/// Deletes one input file once the run has listed its inputs.
struct Saboteur(PathBuf);

impl Observer for Saboteur {
    fn started(&self, _files: usize) {
        fs::remove_file(&self.0).unwrap();
    }
    fn cleaned(&self, _file: &InputFile, _doc: &CleanDocument) {}
    fn failed(&self, _failure: &Failure) {}
}

#[test]
fn a_file_that_disappears_during_the_run_is_reported() {
    let dir = tempfile::tempdir().unwrap();
    let input = dir.path().join("in");
    fs::create_dir(&input).unwrap();
    for name in ["a", "b", "c"] {
        fs::write(input.join(format!("{name}.txt")), "Suleimani\n").unwrap();
    }
    let (config, _) = lavoir::Pipeline::load(None).unwrap();
    let options = RunOptions {
        inputs: vec![input.clone()],
        output: Some(dir.path().join("out")),
        ..RunOptions::default()
    };
    let summary = run::run(&PIPELINE, &config, &options, &Saboteur(input.join("b.txt")));
    assert_eq!(summary.documents, 2);
    assert_eq!(summary.failures.len(), 1);
    assert_eq!(summary.failures[0].path, input.join("b.txt"));
    assert!(
        summary.failures[0].message.starts_with("cannot read: "),
        "{:?}",
        summary.failures
    );
    assert!(dir.path().join("out/a.txt").exists() && dir.path().join("out/c.txt").exists());
}

#[test]
fn outputs_never_overwrite_inputs() {
    let dir = tempfile::tempdir().unwrap();
    let input = dir.path().join("in");
    fs::create_dir(&input).unwrap();
    fs::write(input.join("a.txt"), "Suleimani\n").unwrap();
    let before = snapshot(&input);

    let out = lavoir(dir.path(), &["run", "in", "--out", "in"]);
    assert_eq!(out.status.code(), Some(2));
    assert!(
        stderr(&out).contains("in: this folder is also the output folder"),
        "{}",
        stderr(&out)
    );

    let out = lavoir(dir.path(), &["run", "in/a.txt", "--out", "in"]);
    assert_eq!(out.status.code(), Some(2));
    assert!(
        stderr(&out).contains("would overwrite this input"),
        "{}",
        stderr(&out)
    );
    assert_eq!(snapshot(&input), before);

    // Asked for: --write cleans in place, the annotations go to --out.
    let out = lavoir(
        dir.path(),
        &["run", "--write", "in/a.txt", "--out", "notes"],
    );
    assert!(out.status.success(), "{}", stderr(&out));
    assert_eq!(
        fs::read_to_string(input.join("a.txt")).unwrap(),
        "Soleimani\n"
    );
    assert!(dir.path().join("notes/a.json").exists());
}

#[test]
fn an_interrupted_run_leaves_whole_files_and_exits_130() {
    let dir = tempfile::tempdir().unwrap();
    let input = dir.path().join("in");
    fs::create_dir(&input).unwrap();
    let article = fs::read(repo().join("seeds/001_0e0bac3095cba6a0.txt")).unwrap();
    for i in 0..1500 {
        fs::write(input.join(format!("{i:04}.txt")), &article).unwrap();
    }
    let mut child = Command::new(env!("CARGO_BIN_EXE_lavoir"))
        .args(["run", "in", "--out", "out", "-j", "2"])
        .current_dir(dir.path())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    // Wait for the first outputs, then interrupt.
    let out_dir = dir.path().join("out");
    let deadline = Instant::now() + Duration::from_secs(60);
    while fs::read_dir(&out_dir).map_or(0, |d| d.count()) < 4 {
        assert!(Instant::now() < deadline, "no output after 60 s");
        std::thread::sleep(Duration::from_millis(5));
    }
    let kill = Command::new("kill")
        .args(["-INT", &child.id().to_string()])
        .status()
        .unwrap();
    assert!(kill.success());
    let status = child.wait().unwrap();
    let mut err = String::new();
    std::io::Read::read_to_string(&mut child.stderr.take().unwrap(), &mut err).unwrap();
    assert_eq!(status.code(), Some(130), "{err}");
    assert!(err.contains("interrupted:"), "{err}");

    // Every file there is whole: no temporary file, each text has its
    // annotated document and they agree.
    let expected = PIPELINE.clean_bytes("x", &article).unwrap().text;
    let mut texts = 0;
    for entry in fs::read_dir(&out_dir).unwrap() {
        let path = entry.unwrap().path();
        let name = path.file_name().unwrap().to_string_lossy().into_owned();
        assert!(!name.ends_with(".tmp"), "temporary file left: {name}");
        if name.ends_with(".txt") {
            texts += 1;
            assert_eq!(fs::read_to_string(&path).unwrap(), expected, "{name}");
            let json = fs::read_to_string(path.with_extension("json")).unwrap();
            let doc: CleanDocument = serde_json::from_str(&json).unwrap();
            assert_eq!(doc.text, expected);
        }
    }
    assert!(texts > 0 && texts < 1500, "{texts} documents written");
}

#[test]
fn an_interrupted_jsonl_run_does_not_create_its_output() {
    let dir = tempfile::tempdir().unwrap();
    let article = fs::read_to_string(repo().join("seeds/001_0e0bac3095cba6a0.txt")).unwrap();
    let record = serde_json::json!({"text": article}).to_string();
    let mut input = String::new();
    for _ in 0..20_000 {
        input.push_str(&record);
        input.push('\n');
    }
    fs::write(dir.path().join("in.jsonl"), input).unwrap();
    let mut child = Command::new(env!("CARGO_BIN_EXE_lavoir"))
        .args(["run", "--jsonl", "in.jsonl", "--out", "out.jsonl"])
        .current_dir(dir.path())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    // The temporary output appears once records are written.
    let deadline = Instant::now() + Duration::from_secs(60);
    while !fs::read_dir(dir.path())
        .unwrap()
        .any(|e| e.unwrap().file_name().to_string_lossy().ends_with(".tmp"))
    {
        assert!(Instant::now() < deadline, "no output after 60 s");
        std::thread::sleep(Duration::from_millis(5));
    }
    Command::new("kill")
        .args(["-INT", &child.id().to_string()])
        .status()
        .unwrap();
    let status = child.wait().unwrap();
    assert_eq!(status.code(), Some(130));
    let names: Vec<String> = fs::read_dir(dir.path())
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    assert_eq!(names, ["in.jsonl"], "no output, no temporary file");
}

#[test]
fn untrusted_configs_are_refused_quickly_with_located_errors() {
    let dir = tempfile::tempdir().unwrap();
    copy_dir(&bad_inputs().join("config"), dir.path());
    // Over the 16 MB a pipeline file may have.
    let mut huge = String::from("stages: []\n");
    while huge.len() <= 16 << 20 {
        huge.push_str("# padding padding padding padding padding padding padding\n");
    }
    fs::write(dir.path().join("huge.yaml"), huge).unwrap();
    // A data file that is a link out of the config's folder.
    std::os::unix::fs::symlink("/etc/hostname", dir.path().join("names.yaml")).unwrap();
    fs::write(
        dir.path().join("symlink-escape.yaml"),
        "stages:\n  - spelling:\n      lexicons: [names.yaml]\n",
    )
    .unwrap();

    for (file, expected) in [
        (
            "alias-bomb.yaml",
            "alias-bomb.yaml:5:36: invalid YAML: alias replay limit exceeded",
        ),
        ("deep.yaml", "deep.yaml:1:72: invalid YAML: budget breached"),
        (
            "escape.yaml",
            "escape.yaml:3:15: data file `../../../../etc/passwd` must be a relative path inside the config's folder",
        ),
        (
            "regex-bomb.yaml",
            "regex-bomb.rules.yaml:6:12: rule `huge`: invalid regex: Compiled regex exceeds size limit",
        ),
        ("huge.yaml", "more than the 16777216 allowed"),
        (
            "symlink-escape.yaml",
            "symlink-escape.yaml:3:18: data file `names.yaml` leads out of the config's folder",
        ),
    ] {
        let started = Instant::now();
        let out = lavoir(dir.path(), &["validate", "--config", file]);
        assert!(
            started.elapsed() < Duration::from_secs(10),
            "{file}: {:?}",
            started.elapsed()
        );
        assert_eq!(out.status.code(), Some(2), "{file}");
        assert!(
            stderr(&out).contains(expected),
            "{file}: {expected:?} not in\n{}",
            stderr(&out)
        );
    }
}

#[test]
fn bad_jsonl_lines_are_reported_with_their_line_numbers() {
    let out = lavoir(
        &bad_inputs(),
        &[
            "run",
            "--jsonl",
            "records.jsonl",
            "--config",
            "../../pipeline.yaml",
        ],
    );
    assert_eq!(out.status.code(), Some(2));
    let err = stderr(&out);
    for expected in [
        "records.jsonl:2: not JSON: EOF while parsing a value",
        "records.jsonl:3: not a JSON object but a string",
        "records.jsonl:4: no `text` field",
        "records.jsonl:5: `text` is a number, not a string",
        "records.jsonl:8: not UTF-8 (byte 27)",
        "lavoir: 2 records, 5 bad lines",
    ] {
        assert!(err.contains(expected), "{expected:?} not in\n{err}");
    }
    let ids: Vec<String> = String::from_utf8(out.stdout)
        .unwrap()
        .lines()
        .map(|l| serde_json::from_str::<serde_json::Value>(l).unwrap()["id"].to_string())
        .collect();
    assert_eq!(ids, ["\"ok-1\"", "\"ok-2\""]);
}
