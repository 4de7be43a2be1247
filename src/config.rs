//! `pipeline.yaml` and the data files it references: loading, validation and
//! error reporting. This is the only module that knows about the YAML crate.
//!
//! Every error names the file, line and column, the key, and what was
//! expected; all errors are collected and reported together.

mod node;

use std::fmt;
use std::path::{Component, Path, PathBuf};

use serde::Deserialize;
use serde::de::{self, Deserializer, MapAccess, SeqAccess, Visitor};
use serde_saphyr::Spanned;

pub use node::{Located, Pos, struct_fields};
use node::{Node, NodeError, Scalar, Typed, Value};

use crate::check::CheckConfig;
use crate::stages::StageConfig;

/// Largest pipeline or data file we agree to parse.
pub const MAX_CONFIG_BYTES: u64 = 16 * 1024 * 1024;

/// The files of the default pipeline, built into the binary so that
/// `lavoir run` works outside the repository too.
const BUILTIN: &[(&str, &str)] = &[
    ("pipeline.yaml", include_str!("../pipeline.yaml")),
    (
        "rules/boilerplate.fr.yaml",
        include_str!("../rules/boilerplate.fr.yaml"),
    ),
    (
        "rules/metadata.fr.yaml",
        include_str!("../rules/metadata.fr.yaml"),
    ),
    (
        "lexicons/names.fr.yaml",
        include_str!("../lexicons/names.fr.yaml"),
    ),
    (
        "lexicons/words.fr.txt",
        include_str!("../lexicons/words.fr.txt"),
    ),
];

/// One problem in a configuration or data file.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ConfigError {
    /// The file, as the user named it (or `<builtin>/…` for built-in files).
    pub file: String,
    /// 1-based line, 0 when the problem concerns the whole file.
    pub line: u64,
    /// 1-based column in characters, 0 when unknown.
    pub column: u64,
    pub message: String,
}

impl ConfigError {
    pub fn new(file: &str, pos: Pos, message: impl Into<String>) -> Self {
        ConfigError {
            file: file.to_string(),
            line: pos.line,
            column: pos.column,
            message: message.into(),
        }
    }

    fn whole_file(file: &str, message: impl Into<String>) -> Self {
        Self::new(file, Pos::default(), message)
    }
}

impl fmt::Display for ConfigError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match (self.line, self.column) {
            (0, _) => write!(f, "{}: {}", self.file, self.message),
            (line, 0) => write!(f, "{}:{line}: {}", self.file, self.message),
            (line, column) => write!(f, "{}:{line}:{column}: {}", self.file, self.message),
        }
    }
}

/// All the problems found in a configuration, in file order.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct ConfigErrors(pub Vec<ConfigError>);

impl fmt::Display for ConfigErrors {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for (i, e) in self.0.iter().enumerate() {
            if i > 0 {
                writeln!(f)?;
            }
            write!(f, "{e}")?;
        }
        Ok(())
    }
}

impl std::error::Error for ConfigErrors {}

impl From<ConfigError> for ConfigErrors {
    fn from(e: ConfigError) -> Self {
        ConfigErrors(vec![e])
    }
}

/// Where a configuration came from; data files are resolved against it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Origin {
    /// A file on disk: data paths are relative to its folder.
    File(PathBuf),
    /// The default pipeline built into the binary.
    Builtin,
}

/// One stage of the pipeline as configured.
#[derive(Clone, Debug)]
pub struct StageEntry {
    pub config: StageConfig,
    /// `enabled: false` keeps a stage in the file but skips it.
    pub enabled: bool,
    /// Where the stage is declared.
    pub pos: Pos,
}

/// A loaded, validated `pipeline.yaml`.
#[derive(Clone, Debug)]
pub struct Config {
    pub origin: Origin,
    /// Default inputs (files or folders), relative to the config's folder.
    pub input: Vec<PathBuf>,
    /// Default output folder, relative to the config's folder.
    pub output: PathBuf,
    /// File name patterns picked up when walking a folder (default `*.txt`).
    pub pattern: Vec<String>,
    /// Severities for `lavoir check`.
    pub check: CheckConfig,
    /// Documents larger than this (in bytes, as read) are refused, not
    /// cleaned: past a few MB a "document" is a dump, not an article, and
    /// cleaning takes memory in proportion.
    pub max_document_bytes: u64,
    pub stages: Vec<StageEntry>,
}

/// Default of `max_document_bytes`: 16 MiB.
pub const DEFAULT_MAX_DOCUMENT_BYTES: u64 = 16 << 20;

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct TopLevel {
    #[serde(default)]
    input: Option<StringList>,
    #[serde(default)]
    output: Option<String>,
    #[serde(default)]
    pattern: Option<StringList>,
    #[serde(default)]
    check: Option<CheckConfig>,
    #[serde(default)]
    max_document_bytes: Option<u64>,
    // Read by hand, stage by stage, so that one bad stage does not hide
    // the errors of the others.
    #[allow(dead_code)]
    stages: de::IgnoredAny,
}

/// A string or a list of strings.
struct StringList(Vec<String>);

impl<'de> Deserialize<'de> for StringList {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V;
        impl<'de> Visitor<'de> for V {
            type Value = StringList;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("a string or a list of strings")
            }
            fn visit_str<E: de::Error>(self, v: &str) -> Result<StringList, E> {
                Ok(StringList(vec![v.to_string()]))
            }
            fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<StringList, A::Error> {
                let mut out = Vec::new();
                while let Some(s) = seq.next_element::<String>()? {
                    out.push(s);
                }
                Ok(StringList(out))
            }
        }
        d.deserialize_any(V)
    }
}

impl Config {
    /// Display name of the config file, as used in error messages.
    pub fn file_name(&self) -> String {
        match &self.origin {
            Origin::File(p) => p.display().to_string(),
            Origin::Builtin => "<builtin>/pipeline.yaml".to_string(),
        }
    }

    /// The folder that relative paths in the config are resolved against
    /// (the current folder for the built-in config).
    pub fn base_dir(&self) -> PathBuf {
        match &self.origin {
            Origin::File(p) => p.parent().map(Path::to_path_buf).unwrap_or_default(),
            Origin::Builtin => PathBuf::new(),
        }
    }

    /// Reads a data file named in this config (rules, lexicons), refusing
    /// paths that leave the config's folder. Returns the text and the name
    /// to use in messages.
    pub fn read_data(&self, path: &Located<String>) -> Result<(String, String), ConfigError> {
        let rel = Path::new(&path.value);
        let escapes = rel.is_absolute()
            || rel
                .components()
                .any(|c| matches!(c, Component::ParentDir | Component::Prefix(_)));
        if escapes || path.value.is_empty() {
            return Err(ConfigError::new(
                &self.file_name(),
                path.pos,
                format!(
                    "data file `{}` must be a relative path inside the config's folder",
                    path.value
                ),
            ));
        }
        match &self.origin {
            Origin::Builtin => {
                let wanted = rel.to_string_lossy().replace('\\', "/");
                BUILTIN
                    .iter()
                    .find(|(name, _)| *name == wanted)
                    .map(|(name, text)| (text.to_string(), format!("<builtin>/{name}")))
                    .ok_or_else(|| {
                        ConfigError::new(
                            &self.file_name(),
                            path.pos,
                            format!("no built-in data file `{}`", path.value),
                        )
                    })
            }
            Origin::File(_) => {
                let full = self.base_dir().join(rel);
                let name = full.display().to_string();
                // A symlink must not lead out of the folder either.
                let base = std::fs::canonicalize(match self.base_dir() {
                    b if b.as_os_str().is_empty() => PathBuf::from("."),
                    b => b,
                });
                if let (Ok(base), Ok(target)) = (base, std::fs::canonicalize(&full))
                    && !target.starts_with(&base)
                {
                    return Err(ConfigError::new(
                        &self.file_name(),
                        path.pos,
                        format!(
                            "data file `{}` leads out of the config's folder (to {})",
                            path.value,
                            target.display()
                        ),
                    ));
                }
                read_limited(&full)
                    .map(|text| (text, name.clone()))
                    .map_err(|why| {
                        ConfigError::new(
                            &self.file_name(),
                            path.pos,
                            format!("cannot read data file `{}` ({name}): {why}", path.value),
                        )
                    })
            }
        }
    }
}

fn read_limited(path: &Path) -> Result<String, String> {
    let meta = std::fs::metadata(path).map_err(|e| e.to_string())?;
    if meta.len() > MAX_CONFIG_BYTES {
        return Err(format!(
            "file is {} bytes, more than the {MAX_CONFIG_BYTES} allowed",
            meta.len()
        ));
    }
    let bytes = std::fs::read(path).map_err(|e| e.to_string())?;
    // simdutf8 and a copy cost less than the standard library's check
    // (22 M instructions for the 5 MB word list, at every start).
    match simdutf8::basic::from_utf8(&bytes) {
        Ok(text) => Ok(text.to_owned()),
        Err(_) => String::from_utf8(bytes).map_err(|e| format!("not UTF-8 ({e})")),
    }
}

/// Loads a pipeline: the file at `path`, or the built-in default.
pub fn load(path: Option<&Path>) -> Result<Config, ConfigErrors> {
    match load_partial(path) {
        (Some(config), errors) if errors.is_empty() => Ok(config),
        (_, errors) => Err(ConfigErrors(errors)),
    }
}

/// Loads a pipeline from its text.
pub fn load_str(text: &str, origin: Origin) -> Result<Config, ConfigErrors> {
    match parse_config(text, origin) {
        (Some(config), errors) if errors.is_empty() => Ok(config),
        (_, errors) => Err(ConfigErrors(errors)),
    }
}

/// Like [`load`], but also returns what could be read of a config with
/// errors (the stages that parsed), so that building them can report
/// their own errors in the same run: the user sees every problem at once.
pub fn load_partial(path: Option<&Path>) -> (Option<Config>, Vec<ConfigError>) {
    match path {
        Some(p) => match read_limited(p) {
            Ok(text) => parse_config(&text, Origin::File(p.to_path_buf())),
            Err(why) => (
                None,
                vec![ConfigError::whole_file(
                    &p.display().to_string(),
                    format!("cannot read: {why}"),
                )],
            ),
        },
        None => parse_config(BUILTIN[0].1, Origin::Builtin),
    }
}

fn parse_config(text: &str, origin: Origin) -> (Option<Config>, Vec<ConfigError>) {
    let mut config = Config {
        origin,
        input: vec![PathBuf::from("seeds")],
        output: PathBuf::from("out"),
        pattern: vec!["*.txt".to_string()],
        check: CheckConfig::default(),
        max_document_bytes: DEFAULT_MAX_DOCUMENT_BYTES,
        stages: Vec::new(),
    };
    let file = config.file_name();
    let root = match parse_yaml(text, &file) {
        Ok(root) => root,
        Err(e) => return (None, vec![e]),
    };
    let located = |errors: Vec<NodeError>| -> Vec<ConfigError> {
        errors
            .into_iter()
            .map(|e| ConfigError::new(&file, e.pos.unwrap_or_default(), e.message))
            .collect()
    };
    let mut errors = Vec::new();

    let (top, top_errors) = node::from_node::<TopLevel>(&root);
    errors.extend(located(top_errors));
    if let Some(top) = top {
        if let Some(input) = top.input {
            config.input = input.0.into_iter().map(PathBuf::from).collect();
        }
        if let Some(output) = top.output {
            config.output = PathBuf::from(output);
        }
        if let Some(pattern) = top.pattern {
            config.pattern = pattern.0;
        }
        if let Some(check) = top.check {
            config.check = check;
        }
        if let Some(max) = top.max_document_bytes {
            config.max_document_bytes = max;
        }
    }

    let stages = match &root.value {
        Value::Map(entries) => entries
            .iter()
            .find(|(k, _)| k.as_str() == Some("stages"))
            .map(|(_, v)| v),
        _ => None,
    };
    match stages.map(|n| (n, &n.value)) {
        Some((_, Value::Seq(items))) => {
            for item in items {
                match parse_stage(item) {
                    Ok(entry) => config.stages.push(entry),
                    Err(e) => errors.extend(located(e)),
                }
            }
        }
        Some((n, _)) => errors.push(ConfigError::new(
            &file,
            n.pos,
            format!("`stages` must be a list of stages, found {}", n.describe()),
        )),
        None => {} // reported by TopLevel as a missing key
    }
    errors.sort_by_key(|e| (e.line, e.column));
    errors.dedup();
    (Some(config), errors)
}

/// Reads one entry of `stages`: `- name: {options}` or a bare `- name`.
fn parse_stage(item: &Node) -> Result<StageEntry, Vec<NodeError>> {
    let mut item = item.clone();
    let mut enabled = true;
    // `enabled` is common to every stage: take it out before the stage's own
    // options are checked.
    if let Value::Map(entries) = &mut item.value
        && let [(_, options)] = entries.as_mut_slice()
        && let Value::Map(opts) = &mut options.value
        && let Some(i) = opts.iter().position(|(k, _)| k.as_str() == Some("enabled"))
    {
        let (_, v) = opts.remove(i);
        match &v.value {
            Value::Scalar(Scalar {
                typed: Typed::Bool(b),
                ..
            }) => enabled = *b,
            _ => {
                return Err(vec![NodeError::at(
                    v.pos,
                    format!("`enabled` must be true or false, found {}", v.describe()),
                )]);
            }
        }
    }
    if let Value::Map(entries) = &item.value
        && entries.len() != 1
    {
        return Err(vec![NodeError::at(
            item.pos,
            "a stage is a mapping with a single key, the stage's name, e.g. `- unicode: {nfc: true}`",
        )]);
    }
    let (config, errors) = node::from_node::<StageConfig>(&item);
    match config {
        Some(config) => Ok(StageEntry {
            config,
            enabled,
            pos: item.pos,
        }),
        None => Err(errors),
    }
}

/// Parses a data file (rule pack, lexicon) into `T`, reporting every problem
/// with `file:line:column`.
pub fn parse_data<T: for<'de> Deserialize<'de>>(text: &str, file: &str) -> Result<T, ConfigErrors> {
    let root = parse_yaml(text, file)?;
    let (value, errors) = node::from_node::<T>(&root);
    match value {
        Some(v) => Ok(v),
        None => Err(ConfigErrors(
            errors
                .into_iter()
                .map(|e| ConfigError::new(file, e.pos.unwrap_or_default(), e.message))
                .collect(),
        )),
    }
}

/// YAML text -> [`Node`] tree, within bounded time and memory.
fn parse_yaml(text: &str, file: &str) -> Result<Node, ConfigError> {
    if text.len() as u64 > MAX_CONFIG_BYTES {
        return Err(ConfigError::whole_file(
            file,
            format!("file is larger than {MAX_CONFIG_BYTES} bytes"),
        ));
    }
    let options = serde_saphyr::options! {
        budget: serde_saphyr::budget! {
            max_documents: 1,
            max_depth: 64,
            max_nodes: 1_000_000,
            max_aliases: 1_000,
            max_anchors: 1_000,
            max_recorded_anchor_bytes: 1 << 20,
            max_total_scalar_bytes: 32 << 20,
        },
        // Aliases are replayed: bound the replay so an alias bomb fails fast.
        alias_limits: serde_saphyr::alias_limits! {
            max_total_replayed_events: 100_000,
            max_replay_stack_depth: 16,
        },
        strict_booleans: true,
        with_snippet: false,
    };
    let parsed: Result<Option<YamlNode>, _> = serde_saphyr::from_str_with_options(text, options);
    match parsed {
        Ok(Some(YamlNode(mut node))) => {
            respell(&mut node, text);
            Ok(node)
        }
        Ok(None) => Err(ConfigError::whole_file(file, "the file is empty")),
        Err(e) => {
            let pos = e
                .location()
                .map(|l| Pos {
                    line: l.line(),
                    column: l.column(),
                })
                .unwrap_or_default();
            let message = e.without_snippet().to_string();
            // The parser appends its own " at line X, column Y"; we print
            // the position in front, like every other error.
            let message = match message.rfind(" at line ") {
                Some(i) => message[..i].to_string(),
                None => message,
            };
            Err(ConfigError::new(
                file,
                pos,
                format!("invalid YAML: {message}"),
            ))
        }
    }
}

/// Gives plain booleans and numbers their text as written (`0x1F`, `no`).
fn respell(node: &mut Node, source: &str) {
    match &mut node.value {
        Value::Scalar(s) => {
            if let Some((at, len)) = s.source
                && let Some(raw) = source.get(at..at + len)
            {
                s.text = raw.to_string();
            }
        }
        Value::Seq(items) => items.iter_mut().for_each(|n| respell(n, source)),
        Value::Map(entries) => entries.iter_mut().for_each(|(k, v)| {
            respell(k, source);
            respell(v, source);
        }),
        Value::Null => {}
    }
}

/// Builds a [`Node`] (with positions) from the YAML parser's events.
struct YamlNode(Node);

impl<'de> Deserialize<'de> for YamlNode {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let spanned: Spanned<YamlValue> = Spanned::deserialize(d)?;
        let pos = Pos {
            line: spanned.referenced.line(),
            column: spanned.referenced.column(),
        };
        let mut value = spanned.value.0;
        // Plain booleans and numbers: remember where their text is, so a
        // string field gets the spelling as written (see `respell`).
        if let Value::Scalar(s) = &mut value
            && !matches!(s.typed, Typed::Str)
        {
            let span = spanned.referenced.span();
            if let (Some(at), Some(len)) = (span.byte_offset(), span.byte_len()) {
                s.source = Some((at as usize, len as usize));
            }
        }
        Ok(YamlNode(Node { pos, value }))
    }
}

struct YamlValue(Value);

impl<'de> Deserialize<'de> for YamlValue {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V;
        fn scalar(text: String, typed: Typed) -> YamlValue {
            YamlValue(Value::Scalar(Scalar {
                text,
                typed,
                source: None,
            }))
        }
        impl<'de> Visitor<'de> for V {
            type Value = YamlValue;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("any YAML value")
            }
            fn visit_bool<E>(self, v: bool) -> Result<YamlValue, E> {
                Ok(scalar(v.to_string(), Typed::Bool(v)))
            }
            fn visit_i64<E>(self, v: i64) -> Result<YamlValue, E> {
                Ok(scalar(v.to_string(), Typed::Int(v)))
            }
            fn visit_u64<E>(self, v: u64) -> Result<YamlValue, E> {
                Ok(scalar(v.to_string(), Typed::UInt(v)))
            }
            fn visit_f64<E>(self, v: f64) -> Result<YamlValue, E> {
                Ok(scalar(v.to_string(), Typed::Float(v)))
            }
            fn visit_str<E>(self, v: &str) -> Result<YamlValue, E> {
                Ok(scalar(v.to_string(), Typed::Str))
            }
            fn visit_string<E>(self, v: String) -> Result<YamlValue, E> {
                Ok(scalar(v, Typed::Str))
            }
            fn visit_unit<E>(self) -> Result<YamlValue, E> {
                Ok(YamlValue(Value::Null))
            }
            fn visit_none<E>(self) -> Result<YamlValue, E> {
                Ok(YamlValue(Value::Null))
            }
            fn visit_some<D: Deserializer<'de>>(self, d: D) -> Result<YamlValue, D::Error> {
                YamlValue::deserialize(d)
            }
            fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<YamlValue, A::Error> {
                let mut items = Vec::new();
                while let Some(YamlNode(n)) = seq.next_element()? {
                    items.push(n);
                }
                Ok(YamlValue(Value::Seq(items)))
            }
            fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<YamlValue, A::Error> {
                let mut entries = Vec::new();
                while let Some(YamlNode(k)) = map.next_key()? {
                    let YamlNode(v) = map.next_value()?;
                    entries.push((k, v));
                }
                Ok(YamlValue(Value::Map(entries)))
            }
        }
        d.deserialize_any(V)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn errors(yaml: &str) -> Vec<String> {
        match load_str(yaml, Origin::File("p.yaml".into())) {
            Ok(_) => vec![],
            Err(e) => e.0.iter().map(|e| e.to_string()).collect(),
        }
    }

    #[test]
    fn builtin_config_loads() {
        let config = load(None).expect("built-in pipeline.yaml is valid");
        assert!(!config.stages.is_empty());
        assert_eq!(config.input, vec![PathBuf::from("seeds")]);
    }

    #[test]
    fn scalars_keep_their_spelling_for_string_keys() {
        // `no` would be a boolean in YAML 1.1; the Rust type says string.
        let node = parse_yaml("a: no\nb: 0x1F\n", "t.yaml").unwrap();
        let Value::Map(entries) = &node.value else {
            panic!("expected a map")
        };
        assert_eq!(entries[0].1.as_str(), Some("no"));
        assert_eq!(entries[1].1.as_str(), Some("0x1F"));
    }

    #[test]
    fn reports_every_error_not_just_the_first() {
        let errs = errors(
            "inputt: x\nstages:\n  - unicod: {}\n  - unicode:\n      nfcc: true\n      zero_width: maybe\n",
        );
        assert_eq!(errs.len(), 4, "{errs:#?}");
        assert!(errs[0].starts_with("p.yaml:1:1: unknown key `inputt`"));
        assert!(
            errs[1].starts_with("p.yaml:3:5: unknown stage `unicod`"),
            "{errs:?}"
        );
        assert!(errs[1].contains("did you mean `unicode`?"));
        assert!(errs[2].starts_with("p.yaml:5:7: unknown key `nfcc`"));
        assert!(
            errs[3].starts_with(
                "p.yaml:6:19: `zero_width`: expected true or false, found a string `maybe`"
            ),
            "{errs:?}"
        );
    }

    #[test]
    fn bare_and_empty_stage_entries_mean_defaults() {
        let config = load_str(
            "stages:\n  - unicode\n  - unicode:\n  - unicode: {enabled: false}\n",
            Origin::Builtin,
        )
        .unwrap();
        assert_eq!(config.stages.len(), 3);
        assert!(config.stages[0].enabled && config.stages[1].enabled);
        assert!(!config.stages[2].enabled);
    }

    #[test]
    fn invalid_yaml_is_located() {
        let errs = errors("stages: [unicode\n");
        assert_eq!(errs.len(), 1);
        assert!(errs[0].starts_with("p.yaml:"), "{errs:?}");
        assert!(errs[0].contains("invalid YAML"), "{errs:?}");
    }

    #[test]
    fn alias_bomb_is_refused() {
        let mut yaml = String::from("a: &a [x, x, x, x, x, x, x, x, x, x]\n");
        for i in 1..12 {
            let prev = (b'a' + i - 1) as char;
            let cur = (b'a' + i) as char;
            yaml.push_str(&format!(
                "{cur}: &{cur} [*{prev}, *{prev}, *{prev}, *{prev}, *{prev}, *{prev}, *{prev}, *{prev}, *{prev}, *{prev}]\n"
            ));
        }
        yaml.push_str("stages: []\n");
        assert!(!errors(&yaml).is_empty());
    }

    #[test]
    fn data_paths_cannot_leave_the_config_folder() {
        let config = load_str("stages: []\n", Origin::File("conf/p.yaml".into())).unwrap();
        for bad in ["../secret.yaml", "/etc/passwd", "a/../../b.yaml", ""] {
            let located = Located {
                pos: Pos { line: 3, column: 9 },
                value: bad.to_string(),
            };
            let err = config.read_data(&located).unwrap_err();
            assert_eq!((err.line, err.column), (3, 9));
            assert!(err.message.contains("relative path"), "{err}");
        }
    }
}
