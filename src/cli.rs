//! Command-line arguments (the only module that knows clap) and what each
//! command does with the library.

use std::io::{self, IsTerminal, Write};
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::sync::Arc;
use std::sync::atomic::AtomicBool;

use anyhow::{Context, Result};
use clap::{Args, Parser, Subcommand, ValueEnum};
use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};

use lavoir::check::{self, Finding, Severity};
use lavoir::emit;
use lavoir::jsonl::{self, JsonlOptions, OnError, Output};
use lavoir::run::{self, Failure, InputFile, Observer, RunOptions};
use lavoir::stages::{self, RuleInfo};
use lavoir::{CleanDocument, Config, Pipeline};

/// Exit code when a check finds something to change.
pub const EXIT_FOUND: u8 = 1;
/// Exit code for errors (bad config, unreadable or failed input).
pub const EXIT_ERROR: u8 = 2;

/// Runs with more files than this get a progress bar (on a terminal).
const PROGRESS_MIN_FILES: usize = 50;

#[derive(Parser, Debug)]
#[command(
    name = "lavoir",
    version,
    about = "Turns scraped news text into clean, annotated text, with a lossless edit log."
)]
pub struct Cli {
    #[command(subcommand)]
    pub command: Command,
}

#[derive(Subcommand, Debug)]
pub enum Command {
    /// Clean files and folders into the output folder (`<out>/<rel>.txt`
    /// and `<out>/<rel>.json`); `-` cleans standard input to standard output.
    Run(RunArgs),
    /// Clean files in place (same as `run --write`).
    Fix(RunArgs),
    /// Report every change `run` would make, without writing anything;
    /// exit 1 when there is one.
    Check(CheckArgs),
    /// Show what `run` would change, as a unified diff; exit 1 when it
    /// would change something.
    Diff(DiffArgs),
    /// Load and build the pipeline and report every configuration error.
    Validate(ConfigArg),
    /// List the stages with their options and defaults.
    Stages,
    /// Say what a rule does, why, with an example.
    Explain(ExplainArgs),
    /// Print the original input rebuilt from an annotated document.
    Restore(RestoreArgs),
}

#[derive(Args, Debug)]
pub struct ConfigArg {
    /// Pipeline file (default: ./pipeline.yaml if present, else the
    /// built-in pipeline).
    #[arg(long, short, value_name = "FILE")]
    pub config: Option<PathBuf>,
}

#[derive(Args, Debug)]
pub struct RunArgs {
    #[command(flatten)]
    pub config: ConfigArg,
    /// Output folder (default: the config's `output`); with --jsonl, the
    /// output file (`-`, the default, for standard output; `.gz` and
    /// `.zst` are compressed).
    #[arg(long, short, value_name = "DIR|FILE")]
    pub out: Option<PathBuf>,
    /// Read and write JSON Lines records (`id`, `text`, optional
    /// `metadata`; other fields pass through) instead of files; inputs
    /// may be `.gz` or `.zst`, `-` (the default) is standard input.
    #[arg(long)]
    pub jsonl: bool,
    /// With --jsonl: the field that holds the text.
    #[arg(long, default_value = "text", value_name = "FIELD")]
    pub text_field: String,
    /// With --jsonl: skip a line that is not a record with a text (it is
    /// reported and counted, and the run exits 2), or stop the run.
    #[arg(long, value_enum, default_value = "skip")]
    pub on_error: OnErrorArg,
    /// Process only part K of N of the inputs (records, or files), e.g.
    /// `--shard 2/8`: deterministic, for splitting a corpus across jobs.
    #[arg(long, value_name = "K/N", value_parser = parse_shard)]
    pub shard: Option<(u64, u64)>,
    /// Worker threads (default: one per core).
    #[arg(long, short = 'j', value_name = "N")]
    pub threads: Option<usize>,
    /// Write the clean text over each input file; the annotated documents
    /// still go to the output folder.
    #[arg(long, short)]
    pub write: bool,
    /// Do not print the summary line.
    #[arg(long, short)]
    pub quiet: bool,
    /// Print the time each stage took (summed over threads), whole runs
    /// and second looks apart, after the summary.
    #[arg(long)]
    pub timings: bool,
    /// Files or folders to clean (default: the config's `input`); `-`
    /// for standard input.
    #[arg(value_name = "INPUT")]
    pub inputs: Vec<PathBuf>,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
pub enum OnErrorArg {
    Skip,
    Fail,
}

/// `K/N` with 1 <= K <= N.
fn parse_shard(s: &str) -> Result<(u64, u64), String> {
    let (k, n) = s
        .split_once('/')
        .ok_or_else(|| format!("`{s}` is not K/N (for example 2/8)"))?;
    let k: u64 = k
        .trim()
        .parse()
        .map_err(|_| format!("`{k}` is not a number"))?;
    let n: u64 = n
        .trim()
        .parse()
        .map_err(|_| format!("`{n}` is not a number"))?;
    if n == 0 || k == 0 || k > n {
        return Err(format!("shard {k}/{n}: K must be between 1 and N"));
    }
    Ok((k, n))
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
pub enum Format {
    /// `path:line:col: rule (stage): message`
    Human,
    /// One JSON object per line (docs/check-finding.schema.json)
    Json,
    /// GitHub Actions workflow commands (annotations)
    Github,
    /// SARIF 2.1.0, for code scanning
    Sarif,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
pub enum FailOn {
    /// Any finding fails the check
    Warning,
    /// Only findings rated error fail the check
    Error,
}

#[derive(Args, Debug)]
pub struct CheckArgs {
    #[command(flatten)]
    pub config: ConfigArg,
    #[arg(long, value_enum, default_value = "human")]
    pub format: Format,
    /// What makes the exit code 1.
    #[arg(long, value_enum, default_value = "warning")]
    pub fail_on: FailOn,
    /// Files or folders to check (default: the config's `input`).
    #[arg(value_name = "INPUT")]
    pub inputs: Vec<PathBuf>,
}

#[derive(Args, Debug)]
pub struct DiffArgs {
    #[command(flatten)]
    pub config: ConfigArg,
    /// Files or folders (default: the config's `input`).
    #[arg(value_name = "INPUT")]
    pub inputs: Vec<PathBuf>,
}

#[derive(Args, Debug)]
pub struct ExplainArgs {
    #[command(flatten)]
    pub config: ConfigArg,
    /// Every rule, as Markdown (the source of docs/rules.md).
    #[arg(long, conflicts_with = "rule")]
    pub all: bool,
    /// A rule id, as `check` prints it (`typography/apostrophe`,
    /// `seo-prompt-glued-instruction`, `spelling/Soleimani`).
    #[arg(value_name = "RULE", required_unless_present = "all")]
    pub rule: Option<String>,
}

#[derive(Args, Debug)]
pub struct RestoreArgs {
    /// An annotated document written by `lavoir run` (`<out>/<rel>.json`),
    /// or with --jsonl the output of `lavoir run --jsonl` (`-` for
    /// standard input; `.gz` and `.zst` are read compressed).
    #[arg(value_name = "FILE.json")]
    pub file: PathBuf,
    /// Rebuild the input records of a JSONL run, one per line, on standard
    /// output.
    #[arg(long)]
    pub jsonl: bool,
    /// With --jsonl: the field that holds the text.
    #[arg(long, value_name = "FIELD", default_value = "text")]
    pub text_field: String,
}

pub fn main() -> ExitCode {
    let cli = Cli::parse();
    let result = match cli.command {
        Command::Run(args) => cmd_run(&args, args.write),
        Command::Fix(args) => cmd_run(&args, true),
        Command::Check(args) => cmd_check(&args),
        Command::Diff(args) => cmd_diff(&args),
        Command::Validate(args) => cmd_validate(&args),
        Command::Stages => cmd_stages(),
        Command::Explain(args) => cmd_explain(&args),
        Command::Restore(args) => cmd_restore(&args),
    };
    match result {
        Ok(code) => code,
        Err(e) if is_broken_pipe(&e) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("lavoir: error: {e:#}");
            ExitCode::from(EXIT_ERROR)
        }
    }
}

fn is_broken_pipe(e: &anyhow::Error) -> bool {
    e.chain().any(|c| {
        c.downcast_ref::<io::Error>()
            .is_some_and(|io| io.kind() == io::ErrorKind::BrokenPipe)
    })
}

/// Colour on a terminal, unless NO_COLOR is set (https://no-color.org).
fn color_for(stream_is_terminal: bool) -> bool {
    stream_is_terminal && std::env::var_os("NO_COLOR").is_none_or(|v| v.is_empty())
}

/// The pipeline of `--config`, else ./pipeline.yaml, else the built-in
/// one; configuration errors are printed and give `Err(exit code)`.
fn load(arg: &ConfigArg) -> Result<(Config, Pipeline), ExitCode> {
    let path = arg.config.clone().or_else(|| {
        let local = PathBuf::from("pipeline.yaml");
        local.is_file().then_some(local)
    });
    Pipeline::load(path.as_deref()).map_err(|errors| {
        eprintln!("{errors}");
        let n = errors.0.len();
        eprintln!(
            "lavoir: {n} error{} in the configuration",
            if n == 1 { "" } else { "s" }
        );
        ExitCode::from(EXIT_ERROR)
    })
}

fn cmd_run(args: &RunArgs, in_place: bool) -> Result<ExitCode> {
    // Built with as many threads as the run will clean with (`--threads`).
    let loaded = match rayon::ThreadPoolBuilder::new()
        .num_threads(args.threads.unwrap_or(0))
        .build()
    {
        Ok(pool) => pool.install(|| load(&args.config)),
        Err(_) => load(&args.config),
    };
    let (config, mut pipeline) = match loaded {
        Ok(loaded) => loaded,
        Err(code) => return Ok(code),
    };
    if args.timings {
        pipeline.time_stages();
    }
    let code = if args.jsonl {
        cmd_run_jsonl(args, &pipeline)
    } else {
        cmd_run_files(args, in_place, &config, &pipeline)
    };
    if args.timings {
        eprint!("{}", stage_time_table(&pipeline.stage_times()));
    }
    code
}

/// `lavoir run` on files, folders or standard input.
fn cmd_run_files(
    args: &RunArgs,
    in_place: bool,
    config: &Config,
    pipeline: &Pipeline,
) -> Result<ExitCode> {
    if args.inputs.len() == 1 && args.inputs[0] == Path::new("-") {
        let doc = run::run_stream(pipeline, io::stdin().lock(), io::stdout().lock())
            .map_err(anyhow::Error::msg)?;
        for notice in &doc.notices {
            eprintln!("lavoir: -: {notice}");
        }
        return Ok(ExitCode::SUCCESS);
    }
    let options = RunOptions {
        inputs: args.inputs.clone(),
        output: args.out.clone(),
        in_place,
        threads: args.threads,
        shard: args.shard,
        cancel: Some(interrupt_flag()),
    };
    let observer = Progress::new();
    let summary = run::run(pipeline, config, &options, &observer);
    observer.finish();
    if !args.quiet {
        eprintln!("{}", summary.line(&pipeline.stage_names()));
    }
    Ok(if summary.skipped > 0 {
        ExitCode::from(EXIT_INTERRUPTED)
    } else if summary.failures.is_empty() {
        ExitCode::SUCCESS
    } else {
        ExitCode::from(EXIT_ERROR)
    })
}

fn cmd_run_jsonl(args: &RunArgs, pipeline: &Pipeline) -> Result<ExitCode> {
    let inputs = if args.inputs.is_empty() {
        vec![PathBuf::from("-")]
    } else {
        args.inputs.clone()
    };
    let out_path = args.out.clone().unwrap_or_else(|| PathBuf::from("-"));
    let output = Output::create(&out_path)
        .with_context(|| format!("cannot create {}", out_path.display()))?;
    let options = JsonlOptions {
        text_field: args.text_field.clone(),
        on_error: match args.on_error {
            OnErrorArg::Skip => OnError::Skip,
            OnErrorArg::Fail => OnError::Fail,
        },
        shard: args.shard,
        threads: args.threads,
        cancel: Some(interrupt_flag()),
        ..JsonlOptions::default()
    };
    let result = jsonl::run(pipeline, &inputs, output, &options, |bad| {
        eprintln!("lavoir: {}:{}: {}", bad.source, bad.line, bad.message);
    });
    let summary = match result {
        Ok(summary) => summary,
        Err(jsonl::JsonlError::BadLine(_)) => return Ok(ExitCode::from(EXIT_ERROR)),
        Err(e) => return Err(e.into()),
    };
    if !args.quiet {
        let secs = summary.elapsed.as_secs_f64().max(1e-9);
        let per_stage: Vec<String> = pipeline
            .stage_names()
            .iter()
            .map(|s| {
                let n = summary
                    .edits
                    .iter()
                    .find(|(name, _)| &**name == *s)
                    .map_or(0, |(_, n)| *n);
                format!("{s} {n}")
            })
            .collect();
        eprintln!(
            "lavoir: {} record{}, {} bad line{}, {:.1} MB in ({:.1} MB of text, {:.1} MB out), edits ({}), {secs:.2} s, {:.1} MB/s",
            summary.records,
            plural(summary.records as usize),
            summary.bad.len(),
            plural(summary.bad.len()),
            summary.bytes_in as f64 / 1e6,
            summary.text_in as f64 / 1e6,
            summary.text_out as f64 / 1e6,
            per_stage.join(", "),
            summary.bytes_in as f64 / 1e6 / secs,
        );
    }
    Ok(if summary.interrupted {
        eprintln!("lavoir: interrupted; the output file was not written");
        ExitCode::from(EXIT_INTERRUPTED)
    } else if summary.bad.is_empty() {
        ExitCode::SUCCESS
    } else {
        ExitCode::from(EXIT_ERROR)
    })
}

fn cmd_check(args: &CheckArgs) -> Result<ExitCode> {
    let (config, pipeline) = match load(&args.config) {
        Ok(loaded) => loaded,
        Err(code) => return Ok(code),
    };
    let color = args.format == Format::Human && color_for(io::stdout().is_terminal());
    let mut out = io::stdout().lock();
    let mut all: Vec<Finding> = Vec::new();
    let (mut files, mut changed, mut failed) = (0, 0, 0);
    let mut result: io::Result<()> = Ok(());
    run::for_each_document(&pipeline, &config, &args.inputs, |item| match item {
        Ok(checked) => {
            files += 1;
            let path = checked.file.path.display().to_string();
            let found = check::findings(&path, &checked.input, &checked.doc, &config.check);
            changed += usize::from(!found.is_empty());
            for f in &found {
                let line = match args.format {
                    Format::Human => Some(emit::human::finding(f, color)),
                    Format::Json => Some(emit::json::finding(f)),
                    Format::Github => Some(emit::github::finding(f)),
                    Format::Sarif => None,
                };
                if let Some(line) = line
                    && result.is_ok()
                {
                    result = writeln!(out, "{line}");
                }
            }
            all.extend(found);
        }
        Err(failure) => {
            failed += 1;
            eprintln!("lavoir: {}: {}", failure.path.display(), failure.message);
        }
    });
    result?;
    if args.format == Format::Sarif {
        let report = emit::sarif::report(&all, &pipeline.rules());
        serde_json::to_writer_pretty(&mut out, &report)?;
        writeln!(out)?;
    }
    out.flush()?;
    let errors = all.iter().filter(|f| f.severity == Severity::Error).count();
    let warnings = all.len() - errors;
    eprintln!(
        "lavoir check: {files} file{}, {changed} to clean, {errors} error{}, {warnings} warning{}{}",
        plural(files),
        plural(errors),
        plural(warnings),
        if failed > 0 {
            format!(", {failed} failed")
        } else {
            String::new()
        }
    );
    let fails = match args.fail_on {
        FailOn::Warning => !all.is_empty(),
        FailOn::Error => errors > 0,
    };
    Ok(if failed > 0 {
        ExitCode::from(EXIT_ERROR)
    } else if fails {
        ExitCode::from(EXIT_FOUND)
    } else {
        ExitCode::SUCCESS
    })
}

/// Exit code of a run stopped by SIGINT or SIGTERM (128 + SIGINT).
const EXIT_INTERRUPTED: u8 = 130;

/// A flag set by the first SIGINT or SIGTERM: the run stops taking new
/// documents, finishes the ones being written and exits 130. A second
/// signal ends the process at once.
fn interrupt_flag() -> Arc<AtomicBool> {
    let flag = Arc::new(AtomicBool::new(false));
    for signal in [signal_hook::consts::SIGINT, signal_hook::consts::SIGTERM] {
        // Registered first, so it sees the flag as the previous signal left it.
        let _ = signal_hook::flag::register_conditional_shutdown(
            signal,
            EXIT_INTERRUPTED.into(),
            Arc::clone(&flag),
        );
        let _ = signal_hook::flag::register(signal, Arc::clone(&flag));
    }
    flag
}

/// `--timings`: a line per stage, with its share of the stages' time.
fn stage_time_table(times: &[lavoir::StageTime]) -> String {
    let ms = |d: std::time::Duration| d.as_secs_f64() * 1e3;
    let total: f64 = times
        .iter()
        .map(|t| ms(t.run_time) + ms(t.second_look_time))
        .sum();
    let mut table = format!(
        "lavoir: time by stage, summed over threads\n  {:<12} {:>9} {:>11} {:>13} {:>11} {:>7}\n",
        "stage", "runs", "time", "second looks", "time", "share"
    );
    for t in times {
        let own = ms(t.run_time) + ms(t.second_look_time);
        table.push_str(&format!(
            "  {:<12} {:>9} {:>8.1} ms {:>13} {:>8.1} ms {:>6.1}%\n",
            t.stage,
            t.runs,
            ms(t.run_time),
            t.second_looks,
            ms(t.second_look_time),
            100.0 * own / total.max(1e-9),
        ));
    }
    table
}

fn plural(n: usize) -> &'static str {
    if n == 1 { "" } else { "s" }
}

fn cmd_diff(args: &DiffArgs) -> Result<ExitCode> {
    let (config, pipeline) = match load(&args.config) {
        Ok(loaded) => loaded,
        Err(code) => return Ok(code),
    };
    let color = color_for(io::stdout().is_terminal());
    let mut out = io::stdout().lock();
    let (mut changed, mut failed) = (0, 0);
    let mut result: io::Result<()> = Ok(());
    run::for_each_document(&pipeline, &config, &args.inputs, |item| match item {
        Ok(checked) => {
            let path = checked.file.path.display().to_string();
            let diff = emit::diff::unified(&path, &checked.input, &checked.doc.text, color);
            if !diff.is_empty() {
                changed += 1;
                if result.is_ok() {
                    result = out.write_all(diff.as_bytes());
                }
            }
        }
        Err(failure) => {
            failed += 1;
            eprintln!("lavoir: {}: {}", failure.path.display(), failure.message);
        }
    });
    result?;
    out.flush()?;
    Ok(if failed > 0 {
        ExitCode::from(EXIT_ERROR)
    } else if changed > 0 {
        ExitCode::from(EXIT_FOUND)
    } else {
        ExitCode::SUCCESS
    })
}

fn cmd_validate(args: &ConfigArg) -> Result<ExitCode> {
    let (config, pipeline) = match load(args) {
        Ok(loaded) => loaded,
        Err(code) => return Ok(code),
    };
    eprintln!(
        "{}: valid, {} stages ({}), {} rules",
        config.file_name(),
        pipeline.stage_names().len(),
        pipeline.stage_names().join(", "),
        pipeline.rules().len()
    );
    Ok(ExitCode::SUCCESS)
}

fn cmd_stages() -> Result<ExitCode> {
    let mut out = io::stdout().lock();
    for (name, summary) in stages::STAGES {
        writeln!(out, "{name}: {summary}")?;
        for o in stages::options(name).iter().chain([&stages::ENABLED]) {
            writeln!(out, "    {}: {}  # {}", o.name, o.default, o.doc)?;
        }
    }
    out.flush()?;
    Ok(ExitCode::SUCCESS)
}

fn cmd_explain(args: &ExplainArgs) -> Result<ExitCode> {
    let (_, pipeline) = match load(&args.config) {
        Ok(loaded) => loaded,
        Err(code) => return Ok(code),
    };
    let mut out = io::stdout().lock();
    if args.all {
        out.write_all(rules_markdown(&pipeline.rules()).as_bytes())?;
        return Ok(ExitCode::SUCCESS);
    }
    let id = args.rule.as_deref().unwrap_or_default();
    match pipeline.explain(id) {
        Some(rule) => {
            out.write_all(explain_text(&rule).as_bytes())?;
            Ok(ExitCode::SUCCESS)
        }
        None => {
            let rules = pipeline.rules();
            let mut near: Vec<&str> = rules
                .iter()
                .map(|r| r.id.as_str())
                .filter(|r| r.contains(id) || id.contains(*r))
                .collect();
            near.truncate(5);
            eprintln!(
                "lavoir: no rule `{id}` in this pipeline{}",
                if near.is_empty() {
                    String::new()
                } else {
                    format!(" (did you mean {}?)", near.join(", "))
                }
            );
            Ok(ExitCode::from(EXIT_ERROR))
        }
    }
}

/// `lavoir explain RULE`.
fn explain_text(rule: &RuleInfo) -> String {
    let mut s = format!("{} (stage {}", rule.id, rule.stage);
    if let Some(kind) = &rule.kind {
        s.push_str(&format!(", removes {kind}"));
    }
    s.push_str(")\n\n");
    s.push_str(&rule.summary);
    s.push('\n');
    for (input, output) in &rule.examples {
        s.push_str(&format!(
            "\nExample:\n  before: \"{}\"\n  after:  \"{}\"\n",
            check::visible(input),
            check::visible(output)
        ));
    }
    if !rule.counter_examples.is_empty() {
        s.push_str("\nLeft alone:\n");
        for c in &rule.counter_examples {
            s.push_str(&format!("  \"{}\"\n", check::visible(c)));
        }
    }
    s
}

/// docs/rules.md: every rule of the pipeline, by stage.
pub fn rules_markdown(rules: &[RuleInfo]) -> String {
    let mut s = String::from(
        "# Rules\n\nEvery rule of the default pipeline, by stage: what `lavoir explain RULE` prints.\n\
         Generated by `lavoir explain --all` (a test keeps this file in step).\n\
         Invisible characters are written `\\u{…}`.\n",
    );
    let mut stage = "";
    for r in rules {
        if r.stage != stage {
            stage = r.stage;
            s.push_str(&format!("\n## {stage}\n"));
        }
        s.push_str(&format!("\n### `{}`\n\n", r.id));
        if let Some(kind) = &r.kind {
            s.push_str(&format!("Kind: `{kind}`. "));
        }
        s.push_str(&r.summary);
        s.push('\n');
        for (input, output) in &r.examples {
            s.push_str(&format!("\n- `{}` → `{}`", md_code(input), md_code(output)));
        }
        for c in &r.counter_examples {
            s.push_str(&format!("\n- left alone: `{}`", md_code(c)));
        }
        if !r.examples.is_empty() || !r.counter_examples.is_empty() {
            s.push('\n');
        }
    }
    s
}

fn md_code(s: &str) -> String {
    let v = check::visible(s);
    if v.is_empty() {
        "(nothing)".to_string()
    } else {
        v.replace('`', "'")
    }
}

fn cmd_restore(args: &RestoreArgs) -> Result<ExitCode> {
    if args.jsonl {
        return cmd_restore_jsonl(args);
    }
    let text = std::fs::read_to_string(&args.file)
        .with_context(|| format!("cannot read {}", args.file.display()))?;
    let doc: CleanDocument = serde_json::from_str(&text)
        .with_context(|| format!("{} is not a lavoir document", args.file.display()))?;
    let original = doc.restore().with_context(|| {
        format!(
            "{}: the edit log does not fit the text",
            args.file.display()
        )
    })?;
    let mut out = io::stdout().lock();
    out.write_all(original.as_bytes())?;
    out.flush()?;
    Ok(ExitCode::SUCCESS)
}

fn cmd_restore_jsonl(args: &RestoreArgs) -> Result<ExitCode> {
    let mut input = jsonl::open_input(&args.file)
        .with_context(|| format!("cannot read {}", args.file.display()))?;
    let mut out = io::BufWriter::new(io::stdout().lock());
    let mut line = String::new();
    for number in 1.. {
        line.clear();
        let read = input
            .read_line(&mut line)
            .with_context(|| format!("{}:{number}", args.file.display()))?;
        if read == 0 {
            break;
        }
        if line.trim().is_empty() {
            continue;
        }
        let record = jsonl::restore_record(&line, &args.text_field)
            .map_err(|e| anyhow::anyhow!("{}:{number}: {e}", args.file.display()))?;
        writeln!(out, "{record}")?;
    }
    out.flush()?;
    Ok(ExitCode::SUCCESS)
}

/// Reports failures as they happen, with a progress bar on long runs.
struct Progress {
    bar: ProgressBar,
}

impl Progress {
    fn new() -> Self {
        Progress {
            bar: ProgressBar::hidden(),
        }
    }

    fn finish(&self) {
        self.bar.finish_and_clear();
    }
}

impl Observer for Progress {
    fn started(&self, files: usize) {
        if files >= PROGRESS_MIN_FILES && io::stderr().is_terminal() {
            self.bar.set_length(files as u64);
            self.bar.set_draw_target(ProgressDrawTarget::stderr());
            if let Ok(style) =
                ProgressStyle::with_template("{bar:40} {pos}/{len} files, {per_sec}, eta {eta}")
            {
                self.bar.set_style(style);
            }
        }
    }

    fn cleaned(&self, file: &InputFile, doc: &CleanDocument) {
        self.bar.inc(1);
        for notice in &doc.notices {
            self.bar
                .suspend(|| eprintln!("lavoir: {}: {notice}", file.path.display()));
        }
    }

    fn failed(&self, failure: &Failure) {
        self.bar.inc(1);
        self.bar
            .suspend(|| eprintln!("lavoir: {}: {}", failure.path.display(), failure.message));
    }
}
