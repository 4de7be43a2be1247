//! `lavoir run` as a library call: find the input files, clean each one,
//! write `<out>/<rel>.txt` and `<out>/<rel>.json`, and sum up.
//!
//! A document that fails is reported and the run goes on. Files are
//! written atomically (a temporary file beside the target, then a rename),
//! so an interrupted run never leaves a half-written file.

use std::fs;
use std::io::{self, Read, Write};
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use regex::Regex;

use crate::config::Config;
use crate::document::CleanDocument;
use crate::pipeline::Pipeline;

/// What to run on and where to write.
#[derive(Clone, Debug, Default)]
pub struct RunOptions {
    /// Files or folders; empty means the config's `input`.
    pub inputs: Vec<PathBuf>,
    /// Output folder; `None` means the config's `output`.
    pub output: Option<PathBuf>,
    /// Write the clean text over each input file (`lavoir fix`); the
    /// annotated documents still go to the output folder.
    pub in_place: bool,
    /// Worker threads (default: one per core).
    pub threads: Option<usize>,
    /// `(k, n)`: only the files whose index in the sorted list is `k - 1`
    /// modulo `n`.
    pub shard: Option<(u64, u64)>,
    /// Set (by a signal handler) to stop: files not started yet are left
    /// alone, the ones being written are finished (writes are atomic).
    pub cancel: Option<Arc<AtomicBool>>,
}

/// One input file and its path relative to the input it was found in.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct InputFile {
    pub path: PathBuf,
    pub rel: PathBuf,
}

/// A document that could not be cleaned or written.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Failure {
    pub path: PathBuf,
    pub message: String,
}

/// Totals of a run.
#[derive(Clone, Debug, Default)]
pub struct Summary {
    pub documents: usize,
    pub failures: Vec<Failure>,
    pub bytes_in: u64,
    pub bytes_out: u64,
    /// Edits per stage, in pipeline order.
    pub edits: Vec<(Arc<str>, usize)>,
    pub elapsed: Duration,
    /// Files left alone because the run was cancelled.
    pub skipped: usize,
}

impl Summary {
    fn add(&mut self, doc: &CleanDocument) {
        self.documents += 1;
        self.bytes_in += doc.input.bytes;
        self.bytes_out += doc.text.len() as u64;
        for (stage, n) in doc.edits_per_stage() {
            match self.edits.iter_mut().find(|(s, _)| *s == stage) {
                Some((_, total)) => *total += n,
                None => self.edits.push((stage, n)),
            }
        }
    }

    /// Adds the totals of another summary.
    pub fn merge(&mut self, other: Summary) {
        self.documents += other.documents;
        self.bytes_in += other.bytes_in;
        self.bytes_out += other.bytes_out;
        for (stage, n) in other.edits {
            match self.edits.iter_mut().find(|(s, _)| *s == stage) {
                Some((_, total)) => *total += n,
                None => self.edits.push((stage, n)),
            }
        }
        self.failures.extend(other.failures);
        self.skipped += other.skipped;
    }

    /// The one-line summary printed at the end of a run.
    pub fn line(&self, stage_order: &[&str]) -> String {
        let total: usize = self.edits.iter().map(|(_, n)| n).sum();
        let per_stage: Vec<String> = stage_order
            .iter()
            .map(|s| {
                let n = self
                    .edits
                    .iter()
                    .find(|(name, _)| &**name == *s)
                    .map_or(0, |(_, n)| *n);
                format!("{s} {n}")
            })
            .collect();
        let secs = self.elapsed.as_secs_f64();
        let failed = if self.failures.is_empty() {
            String::new()
        } else {
            format!(", {} failed", self.failures.len())
        };
        let failed = if self.skipped > 0 {
            format!("{failed}, interrupted: {} not cleaned", self.skipped)
        } else {
            failed
        };
        format!(
            "lavoir: {} document{}{failed}, {} in, {} out, {total} edits ({}), {secs:.2} s, {:.1} MB/s",
            self.documents,
            if self.documents == 1 { "" } else { "s" },
            human_bytes(self.bytes_in),
            human_bytes(self.bytes_out),
            per_stage.join(", "),
            self.bytes_in as f64 / 1e6 / secs.max(1e-9),
        )
    }
}

fn human_bytes(n: u64) -> String {
    match n {
        0..1_000 => format!("{n} B"),
        1_000..1_000_000 => format!("{:.1} kB", n as f64 / 1e3),
        1_000_000..1_000_000_000 => format!("{:.1} MB", n as f64 / 1e6),
        _ => format!("{:.2} GB", n as f64 / 1e9),
    }
}

/// Hears about the progress of a run (for progress bars and messages).
pub trait Observer: Sync {
    /// The files are known.
    fn started(&self, _files: usize) {}
    /// One document is cleaned and written.
    fn cleaned(&self, _file: &InputFile, _doc: &CleanDocument) {}
    /// An input could not be found, read, cleaned or written.
    fn failed(&self, _failure: &Failure) {}
}

/// An observer that says nothing.
pub struct Quiet;
impl Observer for Quiet {}

/// Turns a file name pattern (`*.txt`, `**/*.md`, `*.{txt,text}`) into a
/// regex over `/`-separated relative paths. A pattern without `/` matches
/// the file name in any folder.
pub fn glob_regex(glob: &str) -> Result<Regex, regex::Error> {
    let mut re = String::from(r"\A");
    if !glob.contains('/') {
        re.push_str("(?:.*/)?");
    }
    let mut chars = glob.chars().peekable();
    let mut in_braces = false;
    while let Some(c) = chars.next() {
        match c {
            '*' if chars.peek() == Some(&'*') => {
                chars.next();
                if chars.peek() == Some(&'/') {
                    chars.next();
                    re.push_str("(?:.*/)?");
                } else {
                    re.push_str(".*");
                }
            }
            '*' => re.push_str("[^/]*"),
            '?' => re.push_str("[^/]"),
            '{' => {
                in_braces = true;
                re.push_str("(?:");
            }
            '}' if in_braces => {
                in_braces = false;
                re.push(')');
            }
            ',' if in_braces => re.push('|'),
            c => re.push_str(&regex::escape(&c.to_string())),
        }
    }
    re.push_str(r"\z");
    Regex::new(&re)
}

/// The files to clean: each input file as given, and the files under each
/// input folder whose relative path matches one of the patterns, sorted.
/// Problems (missing inputs, unreadable folders, symlink loops, an input
/// that is the output folder) are returned as failures.
pub fn find_inputs(
    inputs: &[PathBuf],
    patterns: &[String],
    output: Option<&Path>,
) -> (Vec<InputFile>, Vec<Failure>) {
    let mut files = Vec::new();
    let mut failures = Vec::new();
    let fail = |path: &Path, message: String| Failure {
        path: path.to_path_buf(),
        message,
    };
    let globs: Vec<Regex> = match patterns.iter().map(|p| glob_regex(p)).collect() {
        Ok(g) => g,
        Err(e) => {
            failures.push(fail(Path::new("pattern"), format!("bad file pattern: {e}")));
            return (files, failures);
        }
    };
    let out_dir = output.and_then(|o| fs::canonicalize(o).ok());
    for input in inputs {
        let meta = match fs::metadata(input) {
            Ok(m) => m,
            Err(e) => {
                failures.push(fail(input, format!("cannot read: {e}")));
                continue;
            }
        };
        if meta.is_file() {
            let rel = input.file_name().map(PathBuf::from).unwrap_or_default();
            files.push(InputFile {
                path: input.clone(),
                rel,
            });
            continue;
        }
        let canonical = fs::canonicalize(input).ok();
        if canonical.is_some() && canonical == out_dir {
            failures.push(fail(
                input,
                "this folder is also the output folder; choose another --out".into(),
            ));
            continue;
        }
        let mut found = Vec::new();
        walk(
            input,
            input,
            &globs,
            out_dir.as_deref(),
            &mut Vec::new(),
            &mut found,
            &mut failures,
        );
        found.sort_by(|a: &InputFile, b| a.rel.cmp(&b.rel));
        files.extend(found);
    }
    (files, failures)
}

/// Recursive folder walk, following symlinks but never into a folder it
/// is already inside (symlink loops).
fn walk(
    root: &Path,
    dir: &Path,
    globs: &[Regex],
    out_dir: Option<&Path>,
    ancestors: &mut Vec<PathBuf>,
    found: &mut Vec<InputFile>,
    failures: &mut Vec<Failure>,
) {
    let canonical = match fs::canonicalize(dir) {
        Ok(c) => c,
        Err(e) => {
            failures.push(Failure {
                path: dir.to_path_buf(),
                message: format!("cannot read folder: {e}"),
            });
            return;
        }
    };
    if ancestors.contains(&canonical) {
        failures.push(Failure {
            path: dir.to_path_buf(),
            message: "symlink loop, skipped".into(),
        });
        return;
    }
    if Some(canonical.as_path()) == out_dir {
        return; // never read what we write
    }
    let entries = match fs::read_dir(dir) {
        Ok(e) => e,
        Err(e) => {
            failures.push(Failure {
                path: dir.to_path_buf(),
                message: format!("cannot read folder: {e}"),
            });
            return;
        }
    };
    ancestors.push(canonical);
    for entry in entries.flatten() {
        let path = entry.path();
        let Ok(meta) = fs::metadata(&path) else {
            failures.push(Failure {
                path: path.clone(),
                message: "cannot read (broken link?)".into(),
            });
            continue;
        };
        if meta.is_dir() {
            walk(root, &path, globs, out_dir, ancestors, found, failures);
        } else if meta.is_file() {
            let rel = path.strip_prefix(root).unwrap_or(&path).to_path_buf();
            let rel_text = rel.to_string_lossy().replace('\\', "/");
            if globs.iter().any(|g| g.is_match(&rel_text)) {
                found.push(InputFile { path, rel });
            }
        }
    }
    ancestors.pop();
}

/// Where the clean text and the annotated document of `rel` go.
pub fn output_paths(out: &Path, rel: &Path) -> (PathBuf, PathBuf) {
    let text = out.join(rel);
    let json = if rel.extension().is_some_and(|e| e == "json") {
        text.with_extension("lavoir.json")
    } else {
        text.with_extension("json")
    };
    (text, json)
}

/// Opens where the new content of `path` goes: a temporary file beside it
/// (created with its folder), returned too, to be renamed over `path` once
/// whole; or `path` itself when it is a device, a FIFO or a socket
/// (`/dev/null`, `/dev/stdout`, a named pipe), which a rename would replace.
pub fn create_replacement(path: &Path) -> io::Result<(fs::File, Option<PathBuf>)> {
    if fs::metadata(path).is_ok_and(|m| !m.is_file() && !m.is_dir()) {
        return Ok((fs::OpenOptions::new().write(true).open(path)?, None));
    }
    let dir = path
        .parent()
        .filter(|d| !d.as_os_str().is_empty())
        .unwrap_or(Path::new("."));
    fs::create_dir_all(dir)?;
    let name = path.file_name().unwrap_or_default().to_string_lossy();
    let tmp = dir.join(format!(".{name}.lavoir-{}.tmp", std::process::id()));
    Ok((fs::File::create(&tmp)?, Some(tmp)))
}

/// Writes `bytes` to `path` through a temporary file and a rename, so the
/// file is either the old one or the whole new one, whenever lavoir stops.
/// (No fsync: that would guard against power loss, at a high cost per file.)
pub fn write_atomic(path: &Path, bytes: &[u8]) -> io::Result<()> {
    let (mut file, tmp) = create_replacement(path)?;
    let result = file.write_all(bytes).and_then(|()| match &tmp {
        Some(tmp) => fs::rename(tmp, path),
        None => Ok(()),
    });
    if result.is_err()
        && let Some(tmp) = &tmp
    {
        let _ = fs::remove_file(tmp);
    }
    result
}

/// Reads a whole input, refusing it (without reading it all) when it is
/// over the pipeline's `max_document_bytes`.
pub fn read_limited(pipeline: &Pipeline, input: impl Read) -> Result<Vec<u8>, String> {
    let limit = pipeline.max_document_bytes();
    let mut bytes = Vec::new();
    input
        .take(limit.saturating_add(1))
        .read_to_end(&mut bytes)
        .map_err(|e| format!("cannot read: {e}"))?;
    if bytes.len() as u64 > limit {
        return Err(format!(
            "more than {limit} bytes, over `max_document_bytes` in the pipeline file: not cleaned"
        ));
    }
    Ok(bytes)
}

/// Are `a` and `b` the same existing file?
fn same_file(a: &Path, b: &Path) -> bool {
    match (fs::canonicalize(a), fs::canonicalize(b)) {
        (Ok(a), Ok(b)) => a == b,
        _ => false,
    }
}

/// Opens and reads a file, checking its size first.
fn read_file(pipeline: &Pipeline, path: &Path) -> Result<Vec<u8>, String> {
    let file = fs::File::open(path).map_err(|e| format!("cannot read: {e}"))?;
    if let Ok(meta) = file.metadata() {
        pipeline.check_size(meta.len()).map_err(|e| e.to_string())?;
    }
    read_limited(pipeline, file)
}

/// Cleans one file and writes its outputs.
fn process_file(
    pipeline: &Pipeline,
    file: &InputFile,
    out: &Path,
    in_place: bool,
) -> Result<CleanDocument, String> {
    let bytes = read_file(pipeline, &file.path)?;
    let id = file.rel.to_string_lossy().replace('\\', "/");
    let doc = pipeline
        .clean_bytes(&id, &bytes)
        .map_err(|e| e.to_string())?;
    let (text_path, json_path) = output_paths(out, &file.rel);
    let text_path = if in_place {
        file.path.clone()
    } else {
        text_path
    };
    if !in_place && same_file(&text_path, &file.path) {
        return Err(format!(
            "the output {} would overwrite this input; choose another --out (or --write to clean in place)",
            text_path.display()
        ));
    }
    let json = serde_json::to_vec_pretty(&doc).map_err(|e| e.to_string())?;
    write_atomic(&text_path, doc.text.as_bytes())
        .and_then(|()| write_atomic(&json_path, &json))
        .map_err(|e| format!("cannot write {}: {e}", text_path.display()))?;
    Ok(doc)
}

/// Runs `pipeline` over the inputs of `options` (or of `config`).
pub fn run(
    pipeline: &Pipeline,
    config: &Config,
    options: &RunOptions,
    observer: &dyn Observer,
) -> Summary {
    let started = Instant::now();
    let base = config.base_dir();
    let inputs: Vec<PathBuf> = if options.inputs.is_empty() {
        config.input.iter().map(|p| base.join(p)).collect()
    } else {
        options.inputs.clone()
    };
    let out = options
        .output
        .clone()
        .unwrap_or_else(|| base.join(&config.output));
    let (mut files, failures) = find_inputs(&inputs, &config.pattern, Some(&out));
    if let Some((k, n)) = options.shard {
        files = files
            .into_iter()
            .enumerate()
            .filter(|(i, _)| *i as u64 % n == k - 1)
            .map(|(_, f)| f)
            .collect();
    }
    let mut summary = Summary::default();
    for failure in failures {
        observer.failed(&failure);
        summary.failures.push(failure);
    }
    observer.started(files.len());
    // Files are independent: clean them in parallel, keep only totals.
    let threads = options.threads.unwrap_or(0);
    let pool = rayon::ThreadPoolBuilder::new().num_threads(threads).build();
    let one = |file: &InputFile| -> Result<Summary, Failure> {
        if options
            .cancel
            .as_ref()
            .is_some_and(|c| c.load(Ordering::Relaxed))
        {
            return Ok(Summary {
                skipped: 1,
                ..Summary::default()
            });
        }
        match process_file(pipeline, file, &out, options.in_place) {
            Ok(doc) => {
                observer.cleaned(file, &doc);
                let mut s = Summary::default();
                s.add(&doc);
                Ok(s)
            }
            Err(message) => {
                let failure = Failure {
                    path: file.path.clone(),
                    message,
                };
                observer.failed(&failure);
                Err(failure)
            }
        }
    };
    let results: Vec<Result<Summary, Failure>> = match pool {
        Ok(pool) => pool.install(|| {
            use rayon::prelude::*;
            files.par_iter().map(one).collect()
        }),
        Err(_) => files.iter().map(one).collect(),
    };
    for result in results {
        match result {
            Ok(s) => summary.merge(s),
            Err(f) => summary.failures.push(f),
        }
    }
    summary.elapsed = started.elapsed();
    summary
}

/// A document cleaned without writing anything (`check`, `diff`).
pub struct Checked {
    pub file: InputFile,
    /// The decoded input.
    pub input: String,
    pub doc: CleanDocument,
}

/// Cleans every input of `inputs` (or of the config) and hands each
/// result to `each`, writing nothing; inputs that cannot be found or read
/// come as failures.
pub fn for_each_document(
    pipeline: &Pipeline,
    config: &Config,
    inputs: &[PathBuf],
    mut each: impl FnMut(Result<Checked, Failure>),
) {
    let inputs: Vec<PathBuf> = if inputs.is_empty() {
        let base = config.base_dir();
        config.input.iter().map(|p| base.join(p)).collect()
    } else {
        inputs.to_vec()
    };
    let (files, failures) = find_inputs(&inputs, &config.pattern, None);
    for failure in failures {
        each(Err(failure));
    }
    for file in files {
        let result = read_file(pipeline, &file.path).and_then(|bytes| {
            let id = file.rel.to_string_lossy().replace('\\', "/");
            pipeline
                .clean_bytes_keeping_input(&id, &bytes)
                .map_err(|e| e.to_string())
        });
        each(match result {
            Ok((input, doc)) => Ok(Checked { file, input, doc }),
            Err(message) => Err(Failure {
                path: file.path,
                message,
            }),
        });
    }
}

/// Cleans one document from `input` and writes the clean text to `output`
/// (`lavoir run -`).
pub fn run_stream(
    pipeline: &Pipeline,
    mut input: impl Read,
    mut output: impl Write,
) -> Result<CleanDocument, String> {
    let bytes = read_limited(pipeline, &mut input)?;
    let doc = pipeline
        .clean_bytes("-", &bytes)
        .map_err(|e| e.to_string())?;
    output
        .write_all(doc.text.as_bytes())
        .and_then(|()| output.flush())
        .map_err(|e| format!("cannot write: {e}"))?;
    Ok(doc)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn globs() {
        let cases = [
            ("*.txt", "a.txt", true),
            ("*.txt", "sub/dir/a.txt", true),
            ("*.txt", "a.txt.json", false),
            ("*.{txt,md}", "x/b.md", true),
            ("news/**/*.txt", "news/a/b/c.txt", true),
            ("news/**/*.txt", "news/c.txt", true),
            ("news/*.txt", "other/news/c.txt", false),
            ("a?.txt", "ab.txt", true),
        ];
        for (glob, path, want) in cases {
            assert_eq!(
                glob_regex(glob).unwrap().is_match(path),
                want,
                "{glob} {path}"
            );
        }
    }

    #[test]
    fn output_paths_keep_the_relative_path() {
        let (t, j) = output_paths(Path::new("out"), Path::new("a/b.txt"));
        assert_eq!(t, PathBuf::from("out/a/b.txt"));
        assert_eq!(j, PathBuf::from("out/a/b.json"));
        let (_, j) = output_paths(Path::new("out"), Path::new("x.json"));
        assert_eq!(j, PathBuf::from("out/x.lavoir.json"));
    }
}
