//! Builds the stages of a [`Config`] once, then runs documents through them.

use std::ops::Range;
use std::path::Path;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use crate::config::{self, Config, ConfigError, ConfigErrors};
use crate::document::{CleanDocument, FORMAT_VERSION, InputInfo};
use crate::edits::{ChangeError, WorkDoc};
use crate::stages::decode::{DecodeError, Decoder};
use crate::stages::{Stage, StageConfig};

/// Why a document could not be cleaned.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    #[error(transparent)]
    Decode(#[from] DecodeError),
    /// The document is over the config's `max_document_bytes`.
    #[error(
        "{} bytes, over the limit of {limit} (`max_document_bytes` in the pipeline file): not cleaned",
        .bytes
    )]
    TooLarge { bytes: u64, limit: u64 },
    /// A stage produced an invalid change: a bug in lavoir.
    #[error("internal error: {0}")]
    Stage(#[from] ChangeError),
}

/// A ready-to-run pipeline: regexes and automata compiled, data loaded.
pub struct Pipeline {
    decoder: Decoder,
    stages: Vec<Box<dyn Stage>>,
    max_document_bytes: u64,
    /// One per stage, when the stages are timed ([`Pipeline::time_stages`]).
    clocks: Option<Box<[StageClock]>>,
}

/// The time a stage took, summed over the documents (and threads) a
/// pipeline cleaned since [`Pipeline::time_stages`].
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct StageTime {
    pub stage: &'static str,
    /// Runs over whole documents (one per document, more for a stage that
    /// makes passes while it changes the text).
    pub runs: u64,
    pub run_time: Duration,
    /// Second looks, at the lines the other stages of its group changed
    /// (see [`Stage::group`]).
    pub second_looks: u64,
    pub second_look_time: Duration,
}

/// Counters of one stage's runs, shared by the threads that clean.
#[derive(Default)]
struct StageClock {
    runs: AtomicU64,
    run_nanos: AtomicU64,
    second_looks: AtomicU64,
    second_look_nanos: AtomicU64,
}

impl StageClock {
    fn add(&self, second_look: bool, took: Duration) {
        let (count, nanos) = if second_look {
            (&self.second_looks, &self.second_look_nanos)
        } else {
            (&self.runs, &self.run_nanos)
        };
        count.fetch_add(1, Ordering::Relaxed);
        let took = u64::try_from(took.as_nanos()).unwrap_or(u64::MAX);
        nanos.fetch_add(took, Ordering::Relaxed);
    }
}

impl std::fmt::Debug for Pipeline {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Pipeline")
            .field("stages", &self.stage_names())
            .finish()
    }
}

impl Pipeline {
    /// Builds every stage of `config`, reporting all errors at once.
    pub fn from_config(config: &Config) -> Result<Self, ConfigErrors> {
        let (pipeline, errors) = Self::build(config);
        if errors.is_empty() {
            Ok(pipeline)
        } else {
            Err(ConfigErrors(errors))
        }
    }

    fn build(config: &Config) -> (Self, Vec<ConfigError>) {
        let mut errors: Vec<ConfigError> = Vec::new();
        let mut decoder = Decoder::utf8_only();
        let mut stages: Vec<Box<dyn Stage>> = Vec::new();
        // The stages are built on every thread of the pool (the rule packs
        // and the lexicon take most of the start-up), then taken in order.
        let mut built: Vec<_> = {
            use rayon::prelude::*;
            config
                .stages
                .par_iter()
                .map(|entry| entry.enabled.then(|| entry.config.build(config, entry.pos)))
                .collect()
        };
        for (i, entry) in config.stages.iter().enumerate() {
            if let StageConfig::Decode(decode) = &entry.config {
                if i != 0 {
                    errors.push(ConfigError::new(
                        &config.file_name(),
                        entry.pos,
                        "`decode` reads the input bytes: it must be the first stage",
                    ));
                }
                if !entry.enabled {
                    continue;
                }
                match Decoder::new(decode) {
                    Ok(d) => decoder = d,
                    Err((pos, why)) => {
                        errors.push(ConfigError::new(&config.file_name(), pos, why));
                        continue;
                    }
                }
            }
            match built[i].take() {
                None => {}
                Some(Ok(stage)) => stages.push(stage),
                Some(Err(e)) => errors.extend(e),
            }
        }
        let pipeline = Pipeline {
            decoder,
            stages,
            max_document_bytes: config.max_document_bytes,
            clocks: None,
        };
        (pipeline, errors)
    }

    /// Loads `path` (or the built-in default pipeline) and builds it. The
    /// errors of the file and of every stage are reported together.
    pub fn load(path: Option<&Path>) -> Result<(Config, Self), ConfigErrors> {
        let (config, mut errors) = config::load_partial(path);
        let Some(config) = config else {
            return Err(ConfigErrors(errors));
        };
        let (pipeline, build_errors) = Self::build(&config);
        errors.extend(build_errors);
        if errors.is_empty() {
            Ok((config, pipeline))
        } else {
            // Config file first, then data files, each in line order.
            let main = config.file_name();
            errors.sort_by(|a, b| {
                (a.file != main, &a.file, a.line, a.column).cmp(&(
                    b.file != main,
                    &b.file,
                    b.line,
                    b.column,
                ))
            });
            errors.dedup();
            Err(ConfigErrors(errors))
        }
    }

    /// Decodes input bytes as this pipeline's `decode` stage does.
    pub fn decode(&self, bytes: &[u8]) -> Result<crate::stages::decode::Decoded, DecodeError> {
        self.decoder.decode(bytes)
    }

    /// The built-in default pipeline (the repository's `pipeline.yaml`).
    pub fn builtin() -> Self {
        Self::load(None)
            .expect("the built-in pipeline is valid (tested)")
            .1
    }

    /// Every rule of every stage, documented, in pipeline order.
    pub fn rules(&self) -> Vec<crate::stages::RuleInfo> {
        self.stages.iter().flat_map(|s| s.rules()).collect()
    }

    /// The documentation of rule `id`, if a stage of this pipeline has it.
    pub fn explain(&self, id: &str) -> Option<crate::stages::RuleInfo> {
        self.stages
            .iter()
            .flat_map(|s| s.rules())
            .find(|r| r.id == id)
    }

    /// Names of the stages that run, in order.
    pub fn stage_names(&self) -> Vec<&'static str> {
        self.stages.iter().map(|s| s.name()).collect()
    }

    /// The stages, in order: for tools that drive them one by one, such as
    /// the per-stage benchmarks (`cargo bench`).
    pub fn stages(&self) -> &[Box<dyn Stage>] {
        &self.stages
    }

    /// Times each stage from now on (two clock reads a stage run; off by
    /// default): [`Pipeline::stage_times`] tells where the time went.
    pub fn time_stages(&mut self) {
        self.clocks = Some(self.stages.iter().map(|_| StageClock::default()).collect());
    }

    /// The time of each stage, in pipeline order, since
    /// [`Pipeline::time_stages`] (empty when the stages are not timed).
    pub fn stage_times(&self) -> Vec<StageTime> {
        let Some(clocks) = &self.clocks else {
            return Vec::new();
        };
        let nanos = |n: &AtomicU64| Duration::from_nanos(n.load(Ordering::Relaxed));
        (self.stages.iter().zip(clocks.iter()))
            .map(|(stage, clock)| StageTime {
                stage: stage.name(),
                runs: clock.runs.load(Ordering::Relaxed),
                run_time: nanos(&clock.run_nanos),
                second_looks: clock.second_looks.load(Ordering::Relaxed),
                second_look_time: nanos(&clock.second_look_nanos),
            })
            .collect()
    }

    /// The size over which documents are refused ([`Error::TooLarge`]).
    pub fn max_document_bytes(&self) -> u64 {
        self.max_document_bytes
    }

    /// Refuses a document of `bytes` bytes if it is over the limit.
    pub fn check_size(&self, bytes: u64) -> Result<(), Error> {
        if bytes > self.max_document_bytes {
            return Err(Error::TooLarge {
                bytes,
                limit: self.max_document_bytes,
            });
        }
        Ok(())
    }

    /// Cleans a text that is already decoded.
    pub fn clean(&self, text: &str) -> Result<CleanDocument, Error> {
        self.clean_owned(text.to_string())
    }

    /// [`Pipeline::clean`], taking the text (no copy).
    pub fn clean_owned(&self, text: String) -> Result<CleanDocument, Error> {
        self.check_size(text.len() as u64)?;
        let info = InputInfo {
            encoding: "UTF-8".into(),
            encoding_source: "text".into(),
            bom: false,
            bytes: text.len() as u64,
            chars: 0,
            repairs: Vec::new(),
        };
        self.clean_decoded("", text, info)
    }

    /// Decodes and cleans the bytes of one document named `id`.
    pub fn clean_bytes(&self, id: &str, bytes: &[u8]) -> Result<CleanDocument, Error> {
        self.check_size(bytes.len() as u64)?;
        let decoded = self.decoder.decode(bytes)?;
        self.clean_decoded(id, decoded.text, decoded.info)
    }

    /// Decodes and cleans; also returns the decoded input (for positions
    /// and diffs).
    pub fn clean_bytes_keeping_input(
        &self,
        id: &str,
        bytes: &[u8],
    ) -> Result<(String, CleanDocument), Error> {
        self.check_size(bytes.len() as u64)?;
        let decoded = self.decoder.decode(bytes)?;
        let doc = self.clean_decoded(id, decoded.text.clone(), decoded.info)?;
        Ok((decoded.text, doc))
    }

    fn clean_decoded(
        &self,
        id: &str,
        text: String,
        mut info: InputInfo,
    ) -> Result<CleanDocument, Error> {
        let mut notices = Vec::new();
        if text.trim().is_empty() {
            notices.push("empty document".to_string());
        }
        if info.encoding_source == "detected" {
            notices.push(format!(
                "not UTF-8: read as {} (detected{})",
                info.encoding,
                if info.encoding.starts_with("UTF-16") {
                    ", no byte order mark"
                } else {
                    ""
                }
            ));
        }
        for r in &info.repairs {
            notices.push(format!(
                "invalid {} bytes [{}] at byte {} replaced by {:?}",
                info.encoding, r.bytes, r.byte, r.text
            ));
        }
        let mut doc = WorkDoc::new(text);
        let stages = &self.stages;
        let mut i = 0;
        while i < stages.len() {
            let mut end = i + 1;
            while end < stages.len()
                && stages[i].group().is_some()
                && stages[end].group() == stages[i].group()
            {
                end += 1;
            }
            let clocks = self.clocks.as_deref().map(|c| &c[i..end]);
            run_group(&mut doc, &stages[i..end], clocks)?;
            i = end;
        }
        let done = doc.finish();
        info.chars = done.input_chars;
        Ok(CleanDocument {
            version: FORMAT_VERSION,
            id: id.to_string(),
            text: done.text,
            input: info,
            meta: done.meta,
            blocks: done.blocks,
            entities: done.entities,
            edits: done.edits,
            notices,
        })
    }
}

/// Runs a stage, or a run of consecutive stages of one group (see
/// [`Stage::group`]), each up to its [`Stage::passes`] while it changes
/// the text. A member of a group may change a line so that another would
/// now judge it otherwise: each member then runs again, in turn, on the
/// lines the others changed since it last looked, until no member has
/// such lines left (or a bound on the runs is reached).
///
/// `clocks`, when set, are the group's stages' own.
fn run_group(
    doc: &mut WorkDoc,
    group: &[Box<dyn Stage>],
    clocks: Option<&[StageClock]>,
) -> Result<(), Error> {
    let clock = |j: usize| clocks.map(|c| &c[j]);
    // For each member, where the others changed the text since it last ran,
    // in ranges of the current text.
    let mut pending: Vec<Vec<Range<usize>>> = vec![Vec::new(); group.len()];
    for (j, stage) in group.iter().enumerate() {
        for _ in 0..stage.passes() {
            run(doc, stage.as_ref(), None, clock(j))?;
            if !doc.changed() {
                break;
            }
            // The members after this one have not run yet: they see it all.
            for (m, seen) in pending[..j].iter_mut().enumerate() {
                *seen = carry_forward(doc, seen, group[m].as_ref());
            }
        }
    }
    let n = group.len();
    let mut runs = 0;
    let mut k = 0;
    while n > 1 && runs < 4 * n {
        let Some(next) = (0..n)
            .map(|d| (k + d) % n)
            .find(|&m| !pending[m].is_empty())
        else {
            break;
        };
        let focus = std::mem::take(&mut pending[next]);
        run(doc, group[next].as_ref(), Some(&focus), clock(next))?;
        runs += 1;
        if doc.changed() {
            for (m, seen) in pending.iter_mut().enumerate() {
                if m != next {
                    *seen = carry_forward(doc, seen, group[m].as_ref());
                }
            }
        }
        k = next + 1;
    }
    Ok(())
}

/// `seen`, the ranges `stage` is to look at again, after the last stage
/// run: with the changes that may affect it.
fn carry_forward(doc: &WorkDoc, seen: &[Range<usize>], stage: &dyn Stage) -> Vec<Range<usize>> {
    if stage.affected_by_all() {
        doc.carry_forward(seen)
    } else {
        doc.carry_forward_for(seen, Some(&|c| stage.affected_by(c)))
    }
}

/// Runs `stage` on `doc`, looking at the changed ranges `focus` (and the
/// lines holding them) only when it is set.
fn run(
    doc: &mut WorkDoc,
    stage: &dyn Stage,
    focus: Option<&[Range<usize>]>,
    clock: Option<&StageClock>,
) -> Result<(), Error> {
    let started = clock.map(|_| Instant::now());
    let result = doc.run_stage_on::<Error>(stage.name(), focus, |ctx| {
        stage.process(ctx);
        Ok(())
    });
    if let (Some(clock), Some(started)) = (clock, started) {
        clock.add(focus.is_some(), started.elapsed());
    }
    result
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::edits::{Change, TextChange};

    #[test]
    fn documented_examples_are_what_the_stages_do() {
        let pipeline = Pipeline::builtin();
        let mut problems = Vec::new();
        for stage in &pipeline.stages {
            // The near-duplicate rule needs a similarity below 1.
            let near = crate::stages::dedup::Dedup::new(crate::stages::dedup::DedupConfig {
                similarity: 0.6,
                ..Default::default()
            })
            .unwrap();
            for rule in stage.rules() {
                let runner: &dyn Stage = if rule.id == "dedup/near-paragraph" {
                    &near
                } else {
                    stage.as_ref()
                };
                for (input, want) in &rule.examples {
                    let got = crate::edits::apply_once(input, |ctx| runner.process(ctx));
                    if &got != want {
                        problems.push(format!(
                            "{}: {input:?} gives {got:?}, docs say {want:?}",
                            rule.id
                        ));
                    }
                }
            }
        }
        assert!(problems.is_empty(), "{}", problems.join("\n"));
        // Every rule id is documented once.
        let rules = pipeline.rules();
        let mut ids: Vec<&str> = rules.iter().map(|r| r.id.as_str()).collect();
        ids.sort_unstable();
        let before = ids.len();
        ids.dedup();
        assert_eq!(before, ids.len(), "a rule id is documented twice");
    }

    /// The changes and entities `stage` finds in `text`.
    fn look(stage: &dyn Stage, text: &str) -> (Vec<Change>, Vec<(Range<usize>, String)>) {
        let mut found = (Vec::new(), Vec::new());
        WorkDoc::new(text.to_string())
            .run_stage::<ChangeError>("look", |ctx| {
                stage.process(ctx);
                found.0 = ctx.changes.clone();
                found.1 = (ctx.new_entities.iter())
                    .map(|e| (e.range.clone(), e.value.canonical.to_string()))
                    .collect();
                Ok(())
            })
            .unwrap();
        found
    }

    /// What changes and their context are made of (nothing and a space
    /// more often than the rest).
    #[rustfmt::skip]
    const PALETTE: &[&str] = &[
        "", "", "", "", " ", " ", " ", "  ", "\u{A0}", "\u{202F}", "'", "’", "«", "»", ",",
        ";", "-", "a", "\n", "\n", " \u{202F}", "(", ".", "xy", "ambas-sades", "2", "Qaani",
    ];

    proptest::proptest! {
        #![proptest_config(proptest::prelude::ProptestConfig::with_cases(20_000))]
        /// A stage that says a change does not affect it finds, in the
        /// changed text, what it found before, moved with the text.
        #[test]
        fn a_change_a_stage_is_not_affected_by_leaves_its_verdicts(
            line in 0..10_000usize,
            anchor in 0..400usize,
            offset in -2..=2isize,
            old_chars in 0..3usize,
            pre in proptest::sample::select(PALETTE),
            new in proptest::sample::select(PALETTE),
        ) {
            static PIPELINE: std::sync::LazyLock<Pipeline> = std::sync::LazyLock::new(Pipeline::builtin);
            // Lines with the places where a change may matter: the ends of
            // the names spelling finds, hyphens, apostrophes.
            static LINES: std::sync::LazyLock<Vec<(String, Vec<usize>)>> = std::sync::LazyLock::new(|| {
                let spelling = PIPELINE.stages().iter().find(|s| s.name() == "spelling").unwrap();
                let mut lines = Vec::new();
                for dir in ["seeds", "tests/articles", "tests/golden"] {
                    for entry in std::fs::read_dir(dir).unwrap() {
                        let text = std::fs::read_to_string(entry.unwrap().path()).unwrap_or_default();
                        for line in text.lines().filter(|l| !l.trim().is_empty()) {
                            let names = look(spelling.as_ref(), line).1;
                            let inside = |r: &Range<usize>| line[r.clone()].match_indices(' ').map(|(i, _)| r.start + i).collect::<Vec<_>>();
                            let mut anchors: Vec<usize> = names.iter()
                                .flat_map(|(r, _)| [r.start, r.end].into_iter().chain(inside(r)))
                                .chain(line.match_indices(['-', '\'', '’', ',', ';']).map(|(i, _)| i))
                                .collect();
                            anchors.sort_unstable();
                            if !anchors.is_empty() {
                                lines.push((line.to_string(), anchors));
                            }
                        }
                    }
                }
                lines
            });
            // `pre` put in the line first, so that the change may take
            // away what no line holds (two spaces, a no-break space).
            let (line, anchors) = &LINES[line % LINES.len()];
            let starts: Vec<usize> = line.char_indices().map(|(i, _)| i).chain([line.len()]).collect();
            let at = starts.partition_point(|&i| i < anchors[anchor % anchors.len()]);
            let k = at.saturating_add_signed(offset).min(starts.len() - 1);
            let (p, q) = (starts[k], starts[(k + old_chars).min(starts.len() - 1)]);
            let t0 = &format!("{}{pre}{}", &line[..p], &line[p..]);
            let q = q + pre.len();
            let t1 = format!("{}{new}{}", &t0[..p], &t0[q..]);
            let change = TextChange::of(t0, p..q, new);
            let delta = new.len() as isize - (q - p) as isize;
            let moved = |r: &Range<usize>| {
                let start = if r.start < p { r.start } else if r.start < q { p } else { (r.start as isize + delta) as usize };
                let end = if r.end <= p { r.end } else if r.end < q { p + new.len() } else { (r.end as isize + delta) as usize };
                start..end
            };
            for stage in PIPELINE.stages().iter().filter(|s| ["spelling", "dehyphenate"].contains(&s.name())) {
                if stage.affected_by(&change) {
                    continue;
                }
                let (changes, entities) = look(stage.as_ref(), t0);
                let (changes1, entities1) = look(stage.as_ref(), &t1);
                // What it found in the text the change took away is gone.
                let kept = |r: &Range<usize>| !(p < q && p <= r.start && r.end <= q);
                let changes: Vec<Change> = changes.into_iter().filter(|c| kept(&c.range)).map(|c| Change { range: moved(&c.range), ..c }).collect();
                let entities: Vec<_> = entities.into_iter().filter(|(r, _)| kept(r)).map(|(r, c)| (moved(&r), c)).collect();
                proptest::prop_assert_eq!(changes, changes1, "{} on {:?} → {:?}", stage.name(), t0, t1);
                proptest::prop_assert_eq!(entities, entities1, "{} on {:?} → {:?}", stage.name(), t0, t1);
            }
        }
    }

    #[test]
    fn spelling_is_affected_by_the_changes_that_change_what_it_finds() {
        let pipeline = Pipeline::builtin();
        let spelling = (pipeline.stages().iter())
            .find(|s| s.name() == "spelling")
            .unwrap();
        // (text before, the part changed, text after, what the part
        // becomes, does it matter)
        let cases = [
            // Typography's common changes: nothing a spelling holds or is
            // glued by.
            ("l", "'", "Irak de Qaani", "’", false),
            ("Soleimani", "", "; puis", "\u{202F}", false),
            ("l’Irak de Qaani et d", "'", "Al-Qods", "’", false),
            ("selon Bagdad", "\u{A0}", "ce jour", " ", false),
            // White space inside a two-word name (which is respelled when
            // it holds a no-break space), or glued by it.
            ("Mohamed", " ", "Chia al-Soudani", "\u{A0}", true),
            ("Qassem", "  ", "Soleimani", " ", true),
            ("Qassem", " ", "Soleimani", "-", true),
            ("Soleimani", "", "2", " ", true),
            ("2", "", "Soleimani", " ", true),
            // A line start is a sentence start: al-Maliki becomes Al-Maliki.
            ("selon", " ", "al-Maliki", "\n", true),
            ("a-t-il dit,", " ", "al-Maliki", "\n", true),
            // An apostrophe for a guillemet: not seen through alike.
            (". ", "»", " al-Maliki", "«", true),
        ];
        for (head, old, tail, new, affects) in cases {
            let t0 = &format!("{head}{old}{tail}");
            let (p, q) = (head.len(), head.len() + old.len());
            let t1 = format!("{}{new}{}", &t0[..p], &t0[q..]);
            let change = TextChange::of(t0, p..q, new);
            assert_eq!(spelling.affected_by(&change), affects, "{t0:?} → {t1:?}");
            let names = |t: &str| -> Vec<String> {
                let (changes, entities) = look(spelling.as_ref(), t);
                (changes.iter().map(|c| c.new.to_string()))
                    .chain(entities.iter().map(|(r, _)| t[r.clone()].to_string()))
                    .collect()
            };
            let same = names(t0).len() == names(&t1).len()
                && names(t0)
                    .iter()
                    .zip(names(&t1))
                    .all(|(a, b)| a.replace('\'', "’") == b.replace('\'', "’"));
            assert_eq!(
                !same,
                affects,
                "{t0:?} → {t1:?}: {:?} {:?}",
                names(t0),
                names(&t1)
            );
        }
    }

    #[test]
    fn timed_stages_count_their_runs_and_second_looks() {
        let mut pipeline = Pipeline::builtin();
        assert!(pipeline.stage_times().is_empty(), "not timed by default");
        pipeline.time_stages();
        // typography (an apostrophe) and spelling (Baghdad) change the
        // line: the rule packs look at it again. dehyphenate and spelling
        // do not (neither change can make them judge a word otherwise);
        // typography, the last, has nothing new to look at.
        let input = "Le chef d'Al-Qods est arrivé à Baghdad.\n";
        for _ in 0..2 {
            let doc = pipeline.clean(input).unwrap();
            assert_eq!(doc.text, "Le chef d’Al-Qods est arrivé à Bagdad.\n");
        }
        let times = pipeline.stage_times();
        assert_eq!(
            times.iter().map(|t| t.stage).collect::<Vec<_>>(),
            pipeline.stage_names()
        );
        for t in &times {
            assert_eq!(t.runs, 2, "{t:?}");
            assert!(t.run_time > Duration::ZERO, "{t:?}");
            let want = if ["boilerplate", "metadata"].contains(&t.stage) {
                2
            } else {
                0
            };
            assert_eq!(t.second_looks, want, "{t:?}");
            assert_eq!(t.second_look_time > Duration::ZERO, want > 0, "{t:?}");
        }
    }

    #[test]
    fn boilerplate_sees_again_the_lines_metadata_changed() {
        let pipeline = Pipeline::builtin();
        // metadata takes the source off the end of the line, and what is
        // left is a caption; it takes the agency line away, and "Monde"
        // becomes one of the first two lines, where section labels are.
        let input = "Titre de l’article\nAFP\nMonde\nLe texte commence ici.\n\
                     Des manifestants à Bagdad, le 3 janvier 2020. © AFP. (Le Figaro)\n";
        let doc = pipeline.clean(input).unwrap();
        assert_eq!(doc.text, "Titre de l’article\n\nLe texte commence ici.\n");
        assert_eq!(
            doc.meta.captions,
            ["Des manifestants à Bagdad, le 3 janvier 2020. © AFP."]
        );
        assert_eq!(doc.meta.source.as_deref(), Some("Le Figaro"));
        assert_eq!(doc.restore().unwrap(), input);
        assert!(pipeline.clean(&doc.text).unwrap().edits.is_empty());
    }

    #[test]
    fn a_repeated_title_does_not_count_among_the_first_lines() {
        // dedup removes the second title after the rule packs ran: had
        // the packs counted it, "Monde" would be the third line now and
        // the second one when the clean text is cleaned again.
        let pipeline = Pipeline::builtin();
        let title = "Le chef de la force Al-Qods tué à Bagdad, selon l’AFP";
        let input = format!("{title}\n{title}\nMonde\nLe texte commence ici.\n");
        let doc = pipeline.clean(&input).unwrap();
        assert_eq!(doc.text, format!("{title}\n\nLe texte commence ici.\n"));
        assert_eq!(doc.restore().unwrap(), input);
        assert!(pipeline.clean(&doc.text).unwrap().edits.is_empty());
        // A line that only starts as the title does counts: "Monde" is the
        // third line, past the section label's first two.
        let input = format!("{title}\n{title}, puis à Téhéran\nMonde\nLe texte commence ici.\n");
        let doc = pipeline.clean(&input).unwrap();
        assert!(doc.text.contains("\nMonde\n"), "{}", doc.text);
    }

    #[test]
    fn a_document_is_cleaned_alike_after_others_on_the_same_thread() {
        // Each thread keeps the lists a document filled for the next one:
        // nothing of one document may show in another.
        let pipeline = Pipeline::builtin();
        let texts: Vec<String> = ["seeds", "tests/articles"]
            .iter()
            .flat_map(|dir| std::fs::read_dir(dir).unwrap())
            .map(|entry| entry.unwrap().path())
            .filter(|path| path.extension().is_some_and(|e| e == "txt"))
            .map(|path| std::fs::read_to_string(path).unwrap())
            .collect();
        assert!(texts.len() >= 4);
        // (A new thread starts with no kept lists.)
        let alone = |text: &String| {
            std::thread::scope(|s| s.spawn(|| pipeline.clean(text).unwrap()).join().unwrap())
        };
        for text in texts.iter().chain(texts.iter().rev()) {
            assert_eq!(pipeline.clean(text).unwrap(), alone(text));
        }
    }

    #[test]
    fn the_rule_packs_see_again_the_lines_spelling_shortens() {
        // Whole-line rules skip lines over 500 visible characters: a
        // caption of 501 that spelling shortens ("Hormuz" → "Ormuz") must
        // be judged again, or the second cleaning would remove it.
        let pipeline = Pipeline::builtin();
        let visible = |s: &str| s.chars().filter(|c| !c.is_whitespace()).count();
        let (head, tail) = ("Un pétrolier dans le détroit d’Hormuz,", " (Photo : AFP)");
        let need = 501 - visible(head) - visible(tail);
        let line = format!(
            "{head}{}{}{tail}",
            " et".repeat(need / 2),
            " à".repeat(need % 2)
        );
        assert_eq!(visible(&line), 501);
        let input = format!("Titre de l’article\n\nLe texte commence ici.\n\n{line}\n");
        let doc = pipeline.clean(&input).unwrap();
        assert_eq!(doc.text, "Titre de l’article\n\nLe texte commence ici.\n");
        assert_eq!(doc.meta.captions.len(), 1);
        assert!(doc.meta.captions[0].contains("d’Ormuz"));
        assert_eq!(doc.restore().unwrap(), input);
        assert!(pipeline.clean(&doc.text).unwrap().edits.is_empty());
    }

    #[test]
    fn the_builtin_pipeline_builds_with_every_stage() {
        let (config, pipeline) = Pipeline::load(None).expect("built-in data files are all there");
        assert_eq!(pipeline.stage_names().len(), config.stages.len());
        assert_eq!(
            pipeline.stage_names(),
            crate::stages::STAGES
                .iter()
                .map(|(name, _)| *name)
                .collect::<Vec<_>>()
        );
    }
}
