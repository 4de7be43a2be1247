//! The stages of the pipeline: one file each, a config type that serde reads
//! from `pipeline.yaml`, and a runtime object built from it once per run.

pub mod boilerplate;
pub mod decode;
pub mod dedup;
pub mod dehyphenate;
pub mod metadata;
pub mod mojibake;
pub mod rules;
pub mod spelling;
pub mod structure;
pub mod typography;
pub mod unicode;

use serde::Deserialize;

use crate::config::{Config, ConfigError, Pos};
use crate::edits::{StageCtx, TextChange};

/// A step of the pipeline. It reads the text in `ctx` and pushes the
/// changes it wants; the pipeline applies and logs them.
pub trait Stage: Send + Sync {
    /// The name used in the config and the edit log.
    fn name(&self) -> &'static str;

    /// Looks at `ctx.text` and fills `ctx.changes` (and annotations).
    fn process(&self, ctx: &mut StageCtx<'_>);

    /// The rules this stage can apply, documented: what `lavoir explain`
    /// prints and docs/rules.md lists.
    fn rules(&self) -> Vec<RuleInfo>;

    /// How many times at most the pipeline runs this stage in a row while
    /// it still changes the text. 1 for most stages; more for a stage
    /// whose repairs can uncover another one (text garbled twice), so that
    /// cleaning the clean text again finds nothing left to do.
    fn passes(&self) -> usize {
        1
    }

    /// The group this stage belongs to, if it can look at chosen lines
    /// only (`ctx.focus`), judging each line on its own (and by its
    /// position among the first lines). Consecutive stages of one group
    /// are run again by the pipeline on the lines the others changed: a
    /// credit taken off the end of a line can leave a caption that
    /// boilerplate removes.
    fn group(&self) -> Option<Group> {
        None
    }

    /// Could `change`, made by another stage of its group, make this stage
    /// judge some line otherwise than it did before the change? When not,
    /// the pipeline does not have it look again where the change was.
    /// Yes, unless the stage knows better (and says so with
    /// [`Stage::affected_by_all`]).
    fn affected_by(&self, _change: &TextChange<'_>) -> bool {
        true
    }

    /// Is this stage affected by every change ([`Stage::affected_by`] never
    /// answers no)? Then the pipeline does not ask it about each one.
    fn affected_by_all(&self) -> bool {
        true
    }
}

/// Stages that run as a group (see [`Stage::group`]).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Group {
    /// unicode and mojibake: a repair can leave a character the other
    /// fixes (a no-break space beside a space). The stages after them only
    /// remove text and set spaces and quotes: nothing for these to repair.
    Characters,
    /// dehyphenate, the rule packs, spelling and typography: a change can
    /// make a line look otherwise to the others (a space put after a comma
    /// completes a byline; a respelled name shortens a line under the
    /// length bound of whole-line rules).
    Lines,
}

/// One option of a stage, as `lavoir stages` lists it.
#[derive(Clone, Copy, Debug)]
pub struct OptionDoc {
    pub name: &'static str,
    /// The default, as YAML (`required` when there is none).
    pub default: &'static str,
    pub doc: &'static str,
}

/// The options of stage `name` (tested against the config types).
pub fn options(name: &str) -> &'static [OptionDoc] {
    match name {
        "decode" => decode::OPTIONS,
        "mojibake" => &[],
        "unicode" => unicode::OPTIONS,
        "boilerplate" | "metadata" => rules::OPTIONS,
        "dedup" => dedup::OPTIONS,
        "structure" => structure::OPTIONS,
        "dehyphenate" => dehyphenate::OPTIONS,
        "typography" => typography::OPTIONS,
        "spelling" => spelling::OPTIONS,
        _ => &[],
    }
}

/// The option every stage has.
pub const ENABLED: OptionDoc = OptionDoc {
    name: "enabled",
    default: "true",
    doc: "false keeps the stage in the file but skips it",
};

/// The documentation of a built-in rule, written beside its code.
#[derive(Clone, Copy, Debug)]
pub struct RuleDoc {
    pub id: &'static str,
    /// What it changes and why.
    pub summary: &'static str,
    /// An input and what the stage makes of it (checked by the tests).
    pub example: (&'static str, &'static str),
}

/// A rule as `lavoir explain` shows it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RuleInfo {
    pub id: String,
    pub stage: &'static str,
    /// For rule packs: the kind of text the rule takes out.
    pub kind: Option<String>,
    pub summary: String,
    /// Inputs and what the stage makes of them.
    pub examples: Vec<(String, String)>,
    /// Inputs the rule leaves alone.
    pub counter_examples: Vec<String>,
}

impl RuleInfo {
    /// The infos of a stage's built-in rules.
    pub fn from_docs(stage: &'static str, docs: &[RuleDoc]) -> Vec<RuleInfo> {
        docs.iter()
            .map(|d| RuleInfo {
                id: d.id.to_string(),
                stage,
                kind: None,
                summary: d.summary.to_string(),
                examples: vec![(d.example.0.to_string(), d.example.1.to_string())],
                counter_examples: Vec::new(),
            })
            .collect()
    }
}

/// The options of one stage, as written in `pipeline.yaml`
/// (`- unicode: {nfc: true}`).
#[derive(Clone, Debug, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum StageConfig {
    Decode(decode::DecodeConfig),
    Mojibake(mojibake::MojibakeConfig),
    Unicode(unicode::UnicodeConfig),
    Boilerplate(rules::PackConfig),
    Metadata(rules::PackConfig),
    Dedup(dedup::DedupConfig),
    Structure(structure::StructureConfig),
    Dehyphenate(dehyphenate::DehyphenateConfig),
    Spelling(spelling::SpellingConfig),
    Typography(typography::TypographyConfig),
}

/// Every stage with a one-line summary, in the usual pipeline order.
pub const STAGES: &[(&str, &str)] = &[
    (
        "decode",
        "bytes to UTF-8: BOM, UTF-16, legacy encodings, invalid bytes, CRLF/CR to LF",
    ),
    (
        "unicode",
        "NFC, invisible and control characters, soft hyphens, space variants",
    ),
    (
        "mojibake",
        "repairs UTF-8 read as Windows-1252 or Latin-1 (Ã© → é, â€™ → ’)",
    ),
    (
        "dehyphenate",
        "rejoins words split by a stray hyphen (ambas-sades → ambassades)",
    ),
    (
        "boilerplate",
        "rule packs that remove junk lines, prefixes and suffixes (SEO prompts, widgets…)",
    ),
    (
        "metadata",
        "rule packs that move datelines, agencies, bylines, sources and credits to the metadata",
    ),
    (
        "spelling",
        "a gazetteer that respells names the way the French press writes them",
    ),
    (
        "typography",
        "apostrophes, guillemets and the spaces of French (or English) typography",
    ),
    (
        "structure",
        "blocks (title, dek, headings, paragraphs) and the layout of the clean text",
    ),
    ("dedup", "removes paragraphs repeated later in the document"),
];

impl StageConfig {
    pub fn name(&self) -> &'static str {
        match self {
            StageConfig::Decode(_) => "decode",
            StageConfig::Mojibake(_) => "mojibake",
            StageConfig::Unicode(_) => "unicode",
            StageConfig::Boilerplate(_) => "boilerplate",
            StageConfig::Metadata(_) => "metadata",
            StageConfig::Dedup(_) => "dedup",
            StageConfig::Structure(_) => "structure",
            StageConfig::Dehyphenate(_) => "dehyphenate",
            StageConfig::Spelling(_) => "spelling",
            StageConfig::Typography(_) => "typography",
        }
    }

    /// Builds the runtime stage: loads data files, compiles regexes and
    /// automata. `pos` is where the stage is declared.
    pub fn build(&self, config: &Config, pos: Pos) -> Result<Box<dyn Stage>, Vec<ConfigError>> {
        let at = |why: String| vec![ConfigError::new(&config.file_name(), pos, why)];
        Ok(match self {
            StageConfig::Decode(c) => Box::new(c.line_ends()),
            StageConfig::Mojibake(_) => Box::new(mojibake::Mojibake::default()),
            StageConfig::Unicode(c) => Box::new(unicode::Unicode::new(c.clone())),
            StageConfig::Boilerplate(c) => Box::new(boilerplate::Boilerplate::build(c, config)?),
            StageConfig::Metadata(c) => Box::new(metadata::Metadata::build(c, config)?),
            StageConfig::Dedup(c) => Box::new(dedup::Dedup::new(c.clone()).map_err(at)?),
            StageConfig::Structure(c) => Box::new(structure::Structure::new(c.clone())),
            StageConfig::Dehyphenate(c) => Box::new(dehyphenate::Dehyphenate::build(c, config)?),
            StageConfig::Spelling(c) => Box::new(spelling::Spelling::build(c, config, pos)?),
            StageConfig::Typography(c) => Box::new(typography::Typography::new(c.clone())),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::{parse_data, struct_fields};

    /// The documented options of `stage` are the fields of `T`, and the
    /// documented defaults are the defaults. `minimal` gives the required
    /// options; `skip` lists defaults written for people (`auto`).
    fn check<T: for<'de> Deserialize<'de> + std::fmt::Debug>(
        stage: &str,
        minimal: &str,
        skip: &[&str],
    ) {
        let mut documented: Vec<&str> = options(stage).iter().map(|o| o.name).collect();
        let mut fields: Vec<&str> = struct_fields::<T>().to_vec();
        documented.sort_unstable();
        fields.sort_unstable();
        assert_eq!(documented, fields, "options of {stage}");
        let mut with_defaults = minimal.trim_end_matches('}').to_string();
        for o in options(stage) {
            if o.default == "required" || o.default.contains('…') || skip.contains(&o.name) {
                continue;
            }
            if with_defaults.len() > 1 {
                with_defaults.push_str(", ");
            }
            with_defaults.push_str(&format!("{}: {}", o.name, o.default));
        }
        with_defaults.push('}');
        let a: T = parse_data(minimal, "minimal").unwrap();
        let b: T = parse_data(&with_defaults, "defaults").unwrap();
        assert_eq!(format!("{a:?}"), format!("{b:?}"), "defaults of {stage}");
    }

    #[test]
    fn documented_options_are_the_config_fields_with_their_defaults() {
        check::<decode::DecodeConfig>("decode", "{}", &["encoding"]);
        check::<unicode::UnicodeConfig>("unicode", "{}", &[]);
        check::<rules::PackConfig>("boilerplate", "{packs: [x]}", &[]);
        check::<dedup::DedupConfig>("dedup", "{}", &[]);
        check::<structure::StructureConfig>("structure", "{}", &[]);
        check::<dehyphenate::DehyphenateConfig>("dehyphenate", "{words: x}", &[]);
        check::<typography::TypographyConfig>("typography", "{}", &[]);
        check::<spelling::SpellingConfig>("spelling", "{lexicons: [x]}", &[]);
        assert!(struct_fields::<mojibake::MojibakeConfig>().is_empty());
        for name in STAGES.iter().map(|(n, _)| *n) {
            assert!(
                !options(name).is_empty() || name == "mojibake",
                "{name} has no options"
            );
        }
    }
}
