//! `lavoir run --jsonl` and `lavoir restore --jsonl` as a preprocessing
//! step in another tool's pipeline.

use std::fs;
use std::io::{Read, Write};
use std::process::Command;

use serde_json::{Value, json};

use crate::{PIPELINE, lavoir_fed, repo, seeds};

fn records(bytes: &[u8]) -> Vec<Value> {
    String::from_utf8(bytes.to_vec())
        .unwrap()
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect()
}

/// The seeds as many JSONL records (`id` = index), with varied fields.
fn corpus(copies: usize) -> String {
    let texts: Vec<String> = seeds()
        .iter()
        .map(|p| fs::read_to_string(p).unwrap())
        .collect();
    let mut out = String::new();
    for i in 0..copies * texts.len() {
        let record = json!({
            "id": format!("doc-{i:05}"),
            "text": texts[i % texts.len()],
            "metadata": {"url": format!("https://example.org/{i}"), "n": i},
        });
        out.push_str(&record.to_string());
        out.push('\n');
    }
    out
}

#[test]
fn records_come_out_clean_annotated_and_in_order_with_two_threads() {
    let dir = tempfile::tempdir().unwrap();
    let input = corpus(40); // 200 records, several batches
    let out = lavoir_fed(
        dir.path(),
        &["run", "--jsonl", "-j", "2", "--config"]
            .into_iter()
            .chain([repo().join("pipeline.yaml").to_str().unwrap()])
            .collect::<Vec<_>>(),
        input.as_bytes(),
    );
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let summary = String::from_utf8_lossy(&out.stderr);
    assert!(
        summary.starts_with("lavoir: 200 records, 0 bad lines"),
        "{summary}"
    );

    let gold: Vec<String> = seeds()
        .iter()
        .map(|p| {
            let name = p.file_name().unwrap().to_str().unwrap();
            fs::read_to_string(repo().join("tests/golden").join(name)).unwrap()
        })
        .collect();
    let gold_meta: Vec<String> = seeds()
        .iter()
        .map(|p| {
            let name = p.file_name().unwrap().to_str().unwrap();
            let meta = repo()
                .join("tests/golden")
                .join(name.replace(".txt", ".meta.json"));
            fs::read_to_string(meta).unwrap()
        })
        .collect();
    let output = records(&out.stdout);
    assert_eq!(output.len(), 200);
    for (i, record) in output.iter().enumerate() {
        assert_eq!(record["id"], format!("doc-{i:05}"), "order");
        assert_eq!(record["metadata"]["n"], i, "other fields pass through");
        assert_eq!(record["text"], gold[i % gold.len()], "record {i}");
        let lavoir = &record["lavoir"];
        assert!(
            !lavoir["edits"].as_array().unwrap().is_empty(),
            "record {i}"
        );
        let meta: Value = serde_json::from_str(&gold_meta[i % gold.len()]).unwrap();
        assert_eq!(lavoir["meta"]["title"], meta["title"], "record {i}");
        let removed = |meta: &Value| -> Vec<(Value, Value)> {
            let list = meta["removed"].as_array().unwrap();
            list.iter()
                .map(|r| (r["kind"].clone(), r["text"].clone()))
                .collect()
        };
        assert_eq!(removed(&lavoir["meta"]), removed(&meta), "record {i}");
    }

    // The input comes back, byte for byte.
    let restored = lavoir_fed(dir.path(), &["restore", "--jsonl", "-"], &out.stdout);
    assert!(
        restored.status.success(),
        "{}",
        String::from_utf8_lossy(&restored.stderr)
    );
    assert_eq!(String::from_utf8(restored.stdout).unwrap(), input);
}

#[test]
fn compressed_input_and_output_by_extension() {
    let dir = tempfile::tempdir().unwrap();
    let input = corpus(2);
    let gz = dir.path().join("in.jsonl.gz");
    let mut encoder =
        flate2::write::GzEncoder::new(fs::File::create(&gz).unwrap(), Default::default());
    encoder.write_all(input.as_bytes()).unwrap();
    encoder.finish().unwrap();

    let out = lavoir_fed(
        dir.path(),
        &[
            "run",
            "-q",
            "--jsonl",
            "in.jsonl.gz",
            "--out",
            "clean/out.jsonl.zst",
        ],
        b"",
    );
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let mut decoded = Vec::new();
    zstd::stream::read::Decoder::new(
        fs::File::open(dir.path().join("clean/out.jsonl.zst")).unwrap(),
    )
    .unwrap()
    .read_to_end(&mut decoded)
    .unwrap();
    let output = records(&decoded);
    assert_eq!(output.len(), 10);
    let first = fs::read_to_string(&seeds()[0]).unwrap();
    assert_eq!(output[0]["text"], PIPELINE.clean(&first).unwrap().text);

    // `restore` reads the compressed output too.
    let restored = lavoir_fed(
        dir.path(),
        &["restore", "--jsonl", "clean/out.jsonl.zst"],
        b"",
    );
    assert_eq!(String::from_utf8(restored.stdout).unwrap(), input);
}

#[test]
fn shards_partition_the_corpus() {
    let dir = tempfile::tempdir().unwrap();
    fs::write(dir.path().join("in.jsonl"), corpus(3)).unwrap();
    let mut ids = Vec::new();
    for k in 1..=4 {
        let shard = format!("{k}/4");
        let out = lavoir_fed(
            dir.path(),
            &["run", "-q", "--jsonl", "in.jsonl", "--shard", &shard],
            b"",
        );
        assert!(out.status.success());
        let part: Vec<String> = records(&out.stdout)
            .iter()
            .map(|r| r["id"].as_str().unwrap().to_string())
            .collect();
        assert!(!part.is_empty(), "shard {shard}");
        ids.extend(part);
    }
    ids.sort();
    let all: Vec<String> = (0..15).map(|i| format!("doc-{i:05}")).collect();
    assert_eq!(ids, all, "every record in exactly one shard");

    for bad in ["0/4", "5/4", "1/0", "x"] {
        let out = lavoir_fed(
            dir.path(),
            &["run", "--jsonl", "in.jsonl", "--shard", bad],
            b"",
        );
        assert_eq!(out.status.code(), Some(2), "--shard {bad}");
    }
}

#[test]
fn bad_lines_are_reported_counted_and_fail_the_run_on_request() {
    let dir = tempfile::tempdir().unwrap();
    let input = b"{\"id\":1,\"text\":\"Bonjour\"}\n{\"id\":2,\"text\":\nnull\n{\"id\":3,\"body\":\"x\"}\n\xff\xfe\n{\"id\":4,\"text\":\"Fin\"}\n";

    let out = lavoir_fed(dir.path(), &["run", "--jsonl", "-"], input);
    assert_eq!(out.status.code(), Some(2));
    let stderr = String::from_utf8_lossy(&out.stderr);
    for expected in [
        "-:2: not JSON",
        "-:3: not a JSON object but null",
        "-:4: no `text` field",
        "-:5: not UTF-8 (byte 1)",
        "lavoir: 2 records, 4 bad lines",
    ] {
        assert!(stderr.contains(expected), "{expected} in {stderr}");
    }
    let ids: Vec<Value> = records(&out.stdout)
        .iter()
        .map(|r| r["id"].clone())
        .collect();
    assert_eq!(ids, [json!(1), json!(4)]);

    // Another text field.
    let out = lavoir_fed(
        dir.path(),
        &["run", "-q", "--jsonl", "--text-field", "body"],
        input,
    );
    let output = records(&out.stdout);
    assert_eq!(output.len(), 1);
    assert_eq!(output[0]["body"], "x\n");

    // --on-error fail stops at the first bad line.
    let out = lavoir_fed(
        dir.path(),
        &["run", "--jsonl", "--on-error", "fail", "-"],
        input,
    );
    assert_eq!(out.status.code(), Some(2));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains("-:2: not JSON"), "{stderr}");
    assert!(!stderr.contains("-:3:"), "{stderr}");
}

/// `--out /dev/null`, `--out /dev/stdout` or a named pipe: lavoir writes
/// into it, and does not rename a file over it (which replaced /dev/null
/// with a regular file).
#[cfg(unix)]
#[test]
fn a_named_pipe_as_output_is_written_to_not_replaced() {
    use std::os::unix::fs::FileTypeExt;
    let dir = tempfile::tempdir().unwrap();
    let fifo = dir.path().join("out.fifo");
    let made = Command::new("mkfifo").arg(&fifo).status().unwrap();
    assert!(made.success());
    let input: String = seeds()
        .iter()
        .enumerate()
        .map(|(i, path)| {
            let text = fs::read_to_string(path).unwrap();
            format!("{}\n", json!({"id": i, "text": text}))
        })
        .collect();
    fs::write(dir.path().join("in.jsonl"), &input).unwrap();
    let reader = {
        let fifo = fifo.clone();
        std::thread::spawn(move || {
            let mut out = Vec::new();
            fs::File::open(fifo).unwrap().read_to_end(&mut out).unwrap();
            out
        })
    };
    let out = lavoir_fed(
        dir.path(),
        &["run", "-q", "--jsonl", "in.jsonl", "--out", "out.fifo"],
        b"",
    );
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    // (Checked before waiting for the reader, which would wait forever on
    // a pipe nobody opened.)
    assert!(
        fs::metadata(&fifo).unwrap().file_type().is_fifo(),
        "replaced"
    );
    let written = records(&reader.join().unwrap());
    assert_eq!(written.len(), seeds().len());
    let leftovers: Vec<_> = fs::read_dir(dir.path())
        .unwrap()
        .map(|e| e.unwrap().file_name())
        .filter(|n| n.to_string_lossy().ends_with(".tmp"))
        .collect();
    assert!(leftovers.is_empty(), "{leftovers:?}");
}
