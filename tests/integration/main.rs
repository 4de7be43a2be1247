//! Integration tests, in one binary to keep link times short.

mod articles;
mod bad_inputs;
mod cli;
mod cmd;
mod config_errors;
mod golden;
mod jsonl;
mod properties;
mod schemas;

use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};
use std::sync::LazyLock;

use lavoir::Pipeline;

/// The repository root (where pipeline.yaml, seeds/ and tests/golden are).
pub fn repo() -> &'static Path {
    Path::new(env!("CARGO_MANIFEST_DIR"))
}

/// The repository's default pipeline, built once.
pub static PIPELINE: LazyLock<Pipeline> = LazyLock::new(|| {
    Pipeline::load(Some(&repo().join("pipeline.yaml")))
        .expect("pipeline.yaml is valid")
        .1
});

/// The seed files, sorted.
pub fn seeds() -> Vec<PathBuf> {
    let mut seeds: Vec<PathBuf> = std::fs::read_dir(repo().join("seeds"))
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|e| e == "txt"))
        .collect();
    seeds.sort();
    assert_eq!(seeds.len(), 5, "the five sample articles");
    seeds
}

/// `lavoir ARGS` run in `dir` with `stdin` on its standard input (fed
/// from a thread, so that a large input cannot block on a full pipe).
pub fn lavoir_fed(dir: &Path, args: &[&str], stdin: &[u8]) -> Output {
    let mut child = Command::new(env!("CARGO_BIN_EXE_lavoir"))
        .args(args)
        .current_dir(dir)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("lavoir runs");
    let mut input = child.stdin.take().unwrap();
    let stdin = stdin.to_vec();
    let feeder = std::thread::spawn(move || {
        let _ = input.write_all(&stdin);
    });
    let out = child.wait_with_output().unwrap();
    feeder.join().unwrap();
    out
}
