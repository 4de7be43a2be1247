//! Line rules: the engine behind rule packs (`rules/*.yaml`).
//!
//! A rule matches a whole line, the start of a line (a prefix glued to the
//! text, like a leaked "Customize this title in french"), or its end. Rules
//! are regexes or literal phrases, case-insensitive unless asked otherwise.
//! All rules of a scope are tried at once with a `RegexSet`; only the
//! matching rule's own regex then runs, to find where the match ends.
//! Whole-line rules that would keep that shared search reading to the end
//! of every line run apart, on the lines that may match: those that need
//! a word (`needs`), and those read from the line's end (`read: backward`,
//! guarded by one reverse search for all of them).

use std::ops::Range;
use std::sync::Arc;

use rayon::prelude::*;
use regex::{Regex, RegexBuilder, RegexSet, RegexSetBuilder};
use serde::Deserialize;

use crate::config::{self, Config, ConfigError, Located};
use crate::document::Meta;
use crate::edits::{Change, StageCtx};
use crate::text_index::count_bytes;

/// Compiled size limit of one regex: bounds time and memory on hostile
/// rule packs.
const REGEX_SIZE_LIMIT: usize = 8 << 20;

/// Compiled size limit of the searches built from the rules' patterns (a
/// scope's set of many rules, a backward rule's end).
const SEARCH_SIZE_LIMIT: usize = REGEX_SIZE_LIMIT * 8;

/// The options of `boilerplate` and `metadata`, for `lavoir stages`.
pub const OPTIONS: &[crate::stages::OptionDoc] = &[
    crate::stages::OptionDoc {
        name: "packs",
        default: "required",
        doc: "rule pack files, relative to the config file",
    },
    crate::stages::OptionDoc {
        name: "disable",
        default: "[]",
        doc: "rule ids or kinds to leave out",
    },
    crate::stages::OptionDoc {
        name: "max_line_chars",
        default: "500",
        doc: "whole-line rules ignore lines with more visible characters",
    },
];

/// Options of a stage driven by rule packs (`boilerplate`, `metadata`).
#[derive(Clone, Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PackConfig {
    /// Rule pack files, relative to the config file.
    pub packs: Vec<Located<String>>,
    /// Rule ids or kinds to leave out.
    #[serde(default)]
    pub disable: Vec<String>,
    /// Whole-line rules ignore lines with more visible characters than
    /// this (junk lines are short; spaces are not counted, so that the
    /// typography of a line does not change the verdict).
    #[serde(default = "default_max_line_chars")]
    pub max_line_chars: usize,
}

fn default_max_line_chars() -> usize {
    500
}

/// A rule pack file.
#[derive(Clone, Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PackFile {
    /// What the pack is for.
    #[serde(default)]
    pub description: Option<String>,
    pub rules: Vec<RuleSpec>,
}

/// Where a rule looks.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Scope {
    /// The whole line (leading and trailing white space ignored).
    Line,
    /// The start of a line; the rest of the line is kept.
    Prefix,
    /// The end of a line; the rest of the line is kept.
    Suffix,
}

/// Which way a whole-line rule reads a line ([`RuleSpec::read`]).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Direction {
    #[default]
    Forward,
    Backward,
}

/// One rule as written in a pack.
#[derive(Clone, Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RuleSpec {
    /// Stable id, used in the edit log, `disable` lists and `explain`.
    pub id: Located<String>,
    /// What the matched text is (`seo-prompt`, `caption`, …).
    pub kind: String,
    #[serde(rename = "match")]
    pub scope: Scope,
    /// A regex (Rust `regex` syntax). Anchors are added by the scope.
    #[serde(default)]
    pub regex: Option<Located<String>>,
    /// Literal phrases; any white space in them matches any white space.
    #[serde(default)]
    pub literals: Option<Located<Vec<String>>>,
    /// Match case exactly (default: ignore case).
    #[serde(default)]
    pub case_sensitive: bool,
    /// Move the text to this metadata field instead of dropping it. The
    /// value is the regex group named `value` if there is one, else the
    /// matched text without enclosing parentheses. Groups named after a
    /// metadata field (`date`, `updated`, `author`…) fill that field too;
    /// a group named `drop` limits what is removed to its own text.
    #[serde(default)]
    pub to: Option<Located<String>>,
    /// What the rule removes and why: shown by `lavoir explain`.
    pub description: String,
    /// Lines the rule must match (checked by the test suite).
    #[serde(default)]
    pub examples: Vec<String>,
    /// Lines no rule of the pack may match (checked by the test suite).
    #[serde(default)]
    pub counter_examples: Vec<String>,
    /// Apply only to the first N non-empty lines of a document (section
    /// labels, kickers).
    #[serde(default)]
    pub first_lines: Option<usize>,
    /// Apply only to lines with at most N visible characters. Cheaper than
    /// a counted repetition like `.{0,100}`, which multiplies the states
    /// of the lazy DFA that runs all rules of a scope at once.
    #[serde(default)]
    pub max_chars: Option<usize>,
    /// How a whole-line rule reads a line: `forward` (from its start,
    /// with the pack's other forward rules in one lazy DFA) or `backward`
    /// (alone, from its end). The same lines match either way; `backward`
    /// suits a rule decided by how a line ends (`\S.*?\(photo : …\)`),
    /// which would keep the shared DFA reading to the end of every line.
    #[serde(default)]
    pub read: Direction,
    /// Words (ASCII letters in any case; other characters as written)
    /// every line the rule matches holds: the rule is only tried, alone,
    /// on lines holding one of them. For a whole-line rule that looks for
    /// a word anywhere (`.*cookies?.*`), which would keep the shared DFA
    /// reading to the end of every line.
    #[serde(default)]
    pub needs: Vec<String>,
}

/// A compiled rule.
#[derive(Clone, Debug)]
pub struct Rule {
    pub id: Arc<str>,
    pub kind: Arc<str>,
    pub scope: Scope,
    pub to: Option<Arc<str>>,
    pub spec: RuleSpec,
    /// The pattern, anchored as its scope says.
    pattern: String,
    /// It compiled on its own, for the rules that search with it: prefix
    /// and suffix rules (for where the match is), rules with named groups
    /// (for the captures) and those tried apart. A plain whole-line rule
    /// has none: the scope's set says that it matches, and the match is
    /// the line (24 built-in rules: 89 M instructions less at start-up).
    regex: Option<Regex>,
    /// Groups named after metadata fields, with the field.
    fields: Vec<(usize, Arc<str>)>,
    /// Has the pattern named groups (`drop`, `value`, fields)? Without,
    /// a hit needs no captures: the match is enough.
    named_groups: bool,
    /// For a whole-line rule with `read: backward` or `needs`: how it is
    /// tried outside the scope's shared search.
    apart: Option<Apart>,
    /// For a suffix rule: the bytes its matches may end with ([`last_bytes`];
    /// `None`: any).
    ends_with: Option<Vec<u8>>,
}

/// How a whole-line rule outside the shared search is tried: only on the
/// lines that pass its guards, with its own regex.
#[derive(Clone, Debug)]
struct Apart {
    /// Its `needs` (none: every line).
    needs: Needs,
    /// For `read: backward`, the pattern anchored at the end only. A line
    /// the rule matches ends with a match of it: this pattern
    /// ([`Searches::line_ends`]) is searched from the end of the line (a
    /// reverse lazy DFA), and stops as soon as no match can end the line.
    /// Each rule's on its own, once its `needs` let the line through: an
    /// end that reads far back (a caption's credit, up to 60 characters)
    /// is not read on the lines the rule's words rule out, nor for
    /// another rule.
    line_end: Option<String>,
}

impl Apart {
    /// Do the rule's guards let `line` through: it holds one of the words
    /// the rule needs (if any), and ends like a backward rule if the rule
    /// is one (`ends_like_one`, asked only then)?
    fn lets_through(&self, line: &str, ends_like_one: impl FnOnce() -> bool) -> bool {
        self.needs.are_in(line.as_bytes()) && (self.line_end.is_none() || ends_like_one())
    }
}

/// A rule's `needs`: the words, and the bytes searched for them when
/// there are at most three (each word's rarest byte, in both cases), so
/// that one `memchr3` pass finds them all: a caption's `)`, `:` and `©`
/// are looked for in one read of the line.
#[derive(Clone, Debug)]
struct Needs {
    words: Vec<Needed>,
    bytes: Option<[u8; 3]>,
}

impl Needs {
    fn new(words: &[String]) -> Self {
        let words: Vec<Needed> = words.iter().map(|w| Needed::new(w)).collect();
        let mut bytes: Vec<u8> = Vec::new();
        for w in &words {
            let b = w.word[w.at];
            for b in [b.to_ascii_lowercase(), b.to_ascii_uppercase()] {
                if !bytes.contains(&b) {
                    bytes.push(b);
                }
            }
        }
        // Unused places repeat the first byte.
        let bytes = match bytes[..] {
            [] => None,
            [a] => Some([a, a, a]),
            [a, b] => Some([a, b, a]),
            [a, b, c] => Some([a, b, c]),
            _ => None,
        };
        Needs { words, bytes }
    }

    /// Does `line` hold one of the words (none: yes)?
    fn are_in(&self, line: &[u8]) -> bool {
        match self.bytes {
            _ if self.words.is_empty() => true,
            Some([b0, b1, b2]) => memchr::memchr3_iter(b0, b1, b2, line).any(|i| {
                (self.words.iter())
                    .any(|w| w.word[w.at].eq_ignore_ascii_case(&line[i]) && w.is_at(line, i))
            }),
            None => self.words.iter().any(|w| w.is_in(line)),
        }
    }
}

/// A word of a rule's `needs`, found by its rarest byte (`memchr2` for both
/// cases of a letter), then compared whole.
#[derive(Clone, Debug)]
struct Needed {
    word: Box<[u8]>,
    /// Index in `word` of the byte searched for.
    at: usize,
}

impl Needed {
    fn new(word: &str) -> Self {
        // Letters by frequency in French and English text, commonest first,
        // then UTF-8 continuation bytes (é is C3 A9, © C2 A9); any other
        // byte counts as rarer than all of them.
        const COMMON: &[u8] = b"esaitnrulodcmphvgfbqyjxzwk";
        let rank = |b: u8| match b {
            0x80..=0xBF => COMMON.len(),
            _ => COMMON
                .iter()
                .position(|&c| c == b.to_ascii_lowercase())
                .map_or(COMMON.len() + 1, |i| i),
        };
        let word = word.as_bytes();
        let at = (0..word.len()).max_by_key(|&i| rank(word[i])).unwrap_or(0);
        Needed {
            word: word.into(),
            at,
        }
    }

    /// Does `line` hold the word (ASCII letters in any case)?
    fn is_in(&self, line: &[u8]) -> bool {
        let b = self.word[self.at];
        let (lower, upper) = (b.to_ascii_lowercase(), b.to_ascii_uppercase());
        memchr::memchr2_iter(lower, upper, line).any(|i| self.is_at(line, i))
    }

    /// Is the word in `line` with its searched byte at `i`?
    fn is_at(&self, line: &[u8], i: usize) -> bool {
        i >= self.at
            && line[i - self.at..]
                .get(..self.word.len())
                .is_some_and(|w| w.eq_ignore_ascii_case(&self.word))
    }
}

/// What a rule found on a line.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Hit {
    /// Index of the rule in [`RuleSet::rules`].
    pub rule: usize,
    /// Byte range of the text to take out of the line given: the match,
    /// or its group named `drop` when it has one.
    pub range: Range<usize>,
    /// Metadata found: `(field, value)` for `to` and for each group named
    /// after a metadata field.
    pub values: Vec<(Arc<str>, String)>,
}

/// All the rules of some packs, compiled.
#[derive(Clone, Debug)]
pub struct RuleSet {
    pub rules: Vec<Rule>,
    /// The searches run on every line, one copy per thread of the rayon
    /// pool the set was built in ([`RuleSet::searches`]).
    searches: Vec<Searches>,
    /// Whole-line rules tried apart ([`RuleSpec::read`], [`RuleSpec::needs`]).
    apart: Vec<usize>,
    /// Whole-line rules skip lines with more visible characters.
    pub max_line_chars: usize,
    /// Suffix rules only look at this many bytes at the end of a line.
    pub max_suffix_bytes: usize,
    /// The largest `first_lines` of the rules (0 when none has one).
    first_lines: usize,
}

/// The regex sets every line goes through.
#[derive(Clone, Debug)]
struct Searches {
    line: ScopeSet,
    /// The `read: backward` rules' patterns anchored at the end only,
    /// with their rule.
    line_ends: Vec<(usize, Regex)>,
    prefix: ScopeSet,
    suffix: ScopeSet,
}

impl Searches {
    /// The searches of `rules`, or why their patterns do not compile
    /// together within the size limit of a set.
    fn of(rules: &[Rule]) -> Result<Self, regex::Error> {
        let line_ends = (rules.iter().enumerate())
            .filter_map(|(i, r)| Some((i, r.apart.as_ref()?.line_end.as_deref()?)))
            .map(|(i, end)| {
                let regex = RegexBuilder::new(end)
                    .size_limit(SEARCH_SIZE_LIMIT)
                    .dfa_size_limit(SEARCH_SIZE_LIMIT)
                    .build()?;
                Ok((i, regex))
            })
            .collect::<Result<_, regex::Error>>()?;
        let (line, (prefix, suffix)) = rayon::join(
            || ScopeSet::build(rules, Scope::Line),
            || {
                rayon::join(
                    || ScopeSet::build(rules, Scope::Prefix),
                    || ScopeSet::build(rules, Scope::Suffix),
                )
            },
        );
        Ok(Searches {
            line: line?,
            line_ends,
            prefix: prefix?,
            suffix: suffix?,
        })
    }
}

#[derive(Clone, Debug)]
struct ScopeSet {
    set: RegexSet,
    /// Rule index of each pattern in `set`.
    rules: Vec<usize>,
    /// For suffix rules: the bytes a match may end with, when the
    /// patterns' suffix literals tell (all suffix rules of the built-in
    /// packs end with `)`); a line ending otherwise is not searched.
    last_bytes: Option<Box<[bool; 256]>>,
}

impl ScopeSet {
    /// The rules of `scope` but those tried apart.
    fn build(rules: &[Rule], scope: Scope) -> Result<Self, regex::Error> {
        let picked: Vec<usize> = (0..rules.len())
            .filter(|&i| rules[i].scope == scope && rules[i].apart.is_none())
            .collect();
        let set = regex_set(picked.iter().map(|&i| rules[i].pattern.as_str()))?;
        let last_bytes = if scope == Scope::Suffix {
            picked
                .iter()
                .try_fold(Box::new([false; 256]), |mut last, &i| {
                    for &b in rules[i].ends_with.as_ref()? {
                        last[usize::from(b)] = true;
                    }
                    Some(last)
                })
        } else {
            None
        };
        Ok(ScopeSet {
            set,
            rules: picked,
            last_bytes,
        })
    }

    /// The first rule (in pack order) that matches and may apply.
    fn first(&self, text: &str, may_apply: impl Fn(usize) -> bool) -> Option<usize> {
        // Most lines match no rule: a plain search stops early, the
        // overlapping one (to know which rules) only runs on a hit. (Most
        // packs have no prefix or suffix rule: no search at all.)
        let ends_well = || match &self.last_bytes {
            Some(last) => text
                .as_bytes()
                .last()
                .is_some_and(|&b| last[usize::from(b)]),
            None => true,
        };
        if self.rules.is_empty() || !ends_well() || !self.set.is_match(text) {
            return None;
        }
        self.set
            .matches(text)
            .iter()
            .map(|i| self.rules[i])
            .find(|&r| may_apply(r))
    }
}

/// The bytes a match of `hir` may end with, from its suffix literals
/// (every match ends with one of them); `None` when it has too many or may
/// match the empty string.
fn last_bytes(hir: &regex_syntax::hir::Hir) -> Option<Vec<u8>> {
    use regex_syntax::hir::literal::{ExtractKind, Extractor};
    let suffixes = Extractor::new().kind(ExtractKind::Suffix).extract(hir);
    suffixes
        .literals()?
        .iter()
        .map(|literal| literal.as_bytes().last().copied())
        .collect()
}

/// One search for rule patterns (each parsed; those that search on their
/// own compiled within the size limit of a single regex): the set may be
/// larger.
fn regex_set<'p>(patterns: impl IntoIterator<Item = &'p str>) -> Result<RegexSet, regex::Error> {
    RegexSetBuilder::new(patterns)
        .size_limit(SEARCH_SIZE_LIMIT)
        .dfa_size_limit(SEARCH_SIZE_LIMIT)
        .build()
}

/// The regex for a rule's literal phrases.
fn literal_regex(phrases: &[String]) -> String {
    let alternatives: Vec<String> = phrases
        .iter()
        .map(|p| {
            p.split_whitespace()
                .map(regex::escape)
                .collect::<Vec<_>>()
                .join(r"\s+")
        })
        .collect();
    alternatives.join("|")
}

impl RuleSet {
    /// Loads the packs of a stage's options.
    pub fn build(options: &PackConfig, config: &Config) -> Result<Self, Vec<ConfigError>> {
        let mut rules = Self::load(&options.packs, &options.disable, config)?;
        rules.max_line_chars = options.max_line_chars;
        Ok(rules)
    }

    /// Loads and compiles the packs named in `config`, leaving out the
    /// rules (or kinds) in `disable`. Every problem is reported.
    pub fn load(
        packs: &[Located<String>],
        disable: &[String],
        config: &Config,
    ) -> Result<Self, Vec<ConfigError>> {
        let mut errors = Vec::new();
        let mut rules: Vec<Rule> = Vec::new();
        let mut files: Vec<Arc<str>> = Vec::new(); // of each rule
        for pack in packs {
            let (text, file) = match config.read_data(pack) {
                Ok(found) => found,
                Err(e) => {
                    errors.push(e);
                    continue;
                }
            };
            let parsed: PackFile = match config::parse_data(&text, &file) {
                Ok(p) => p,
                Err(e) => {
                    errors.extend(e.0);
                    continue;
                }
            };
            let specs: Vec<RuleSpec> = parsed
                .rules
                .into_iter()
                .filter(|spec| {
                    !disable
                        .iter()
                        .any(|d| *d == spec.id.value || *d == spec.kind)
                })
                .collect();
            // Compiling the regexes is most of the start-up: on every
            // thread of the pool (in order, and so are the errors).
            let compiled: Vec<Result<Rule, ConfigError>> =
                specs.par_iter().map(|spec| compile(spec, &file)).collect();
            for (spec, result) in specs.iter().zip(compiled) {
                match result {
                    Ok(rule) => {
                        if rules.iter().any(|r| *r.id == *rule.id) {
                            errors.push(ConfigError::new(
                                &file,
                                spec.id.pos,
                                format!("rule id `{}` is used twice", spec.id.value),
                            ));
                        }
                        rules.push(rule);
                        files.push(Arc::from(file.as_str()));
                    }
                    Err(e) => errors.push(e),
                }
            }
        }
        if !errors.is_empty() {
            return Err(errors);
        }
        // Plain whole-line rules are compiled only in their scope's set:
        // when it fails, the rules too large on their own are told, as
        // when every rule was compiled on its own.
        let searches = Searches::of(&rules).map_err(|e| {
            let alone: Vec<ConfigError> = rules
                .iter()
                .zip(&files)
                .filter(|(rule, _)| rule.regex.is_none())
                .filter_map(|(rule, file)| compile_as(&rule.spec, file, true).err())
                .collect();
            if !alone.is_empty() {
                return alone;
            }
            vec![ConfigError::new(
                &config.file_name(),
                packs.first().map_or(Default::default(), |pack| pack.pos),
                format!(
                    "the rules of these packs do not compile together: {}",
                    one_line(&e.to_string())
                ),
            )]
        })?;
        Ok(Self::with_searches(rules, searches))
    }

    /// The rule set of `rules`, or why their patterns do not compile
    /// together within the size limit of a set (for tests; `load` tells
    /// which rules when they do not).
    #[cfg(test)]
    fn new(rules: Vec<Rule>) -> Result<Self, regex::Error> {
        let searches = Searches::of(&rules)?;
        Ok(Self::with_searches(rules, searches))
    }

    fn with_searches(rules: Vec<Rule>, searches: Searches) -> Self {
        RuleSet {
            // A regex lends its search cache without a lock only to the
            // first thread that used it: each thread gets its own copy
            // (the compiled automata are shared, the caches are not).
            searches: vec![searches; rayon::current_num_threads().max(1)],
            apart: (0..rules.len())
                .filter(|&i| rules[i].apart.is_some())
                .collect(),
            first_lines: rules
                .iter()
                .filter_map(|r| r.spec.first_lines)
                .max()
                .unwrap_or(0),
            rules,
            max_line_chars: 500,
            max_suffix_bytes: 300,
        }
    }

    /// This thread's copy of the searches (the first copy for a thread
    /// outside the pool, or beyond its size).
    fn searches(&self) -> &Searches {
        let i = rayon::current_thread_index().unwrap_or(0);
        self.searches.get(i).unwrap_or(&self.searches[0])
    }

    /// The whole-line rule matching `line` (already trimmed), if any, for
    /// a line at the top of a document.
    pub fn match_line(&self, line: &str) -> Option<Hit> {
        self.match_line_at(self.searches(), line, 0)
    }

    /// The prefix rule matching the start of `line` (trimmed), if any.
    pub fn match_prefix(&self, line: &str) -> Option<Hit> {
        self.match_prefix_at(self.searches(), line, 0)
    }

    /// The suffix rule matching the end of `line` (trimmed), if any.
    pub fn match_suffix(&self, line: &str) -> Option<Hit> {
        self.match_suffix_at(self.searches(), line, 0)
    }

    /// May rule `rule` apply to `line`, the `index`-th non-empty line?
    fn applies(&self, rule: usize, index: usize, line: &str) -> bool {
        let spec = &self.rules[rule].spec;
        spec.first_lines.is_none_or(|n| index < n)
            && spec
                .max_chars
                .is_none_or(|n| !more_visible_chars_than(line, n))
    }

    fn match_line_at(&self, searches: &Searches, line: &str, index: usize) -> Option<Hit> {
        if more_visible_chars_than(line, self.max_line_chars) {
            return None;
        }
        let forward = searches.line.first(line, |r| self.applies(r, index, line));
        // The first rule in pack order: one tried apart if it comes first.
        let apart = self
            .apart
            .iter()
            .copied()
            .take_while(|&r| forward.is_none_or(|f| r < f))
            .find(|&r| {
                let rule = &self.rules[r];
                let ends = || {
                    (searches.line_ends.iter())
                        .find(|(rule, _)| *rule == r)
                        .is_some_and(|(_, end)| end.is_match(line))
                };
                rule.apart
                    .as_ref()
                    .is_some_and(|apart| apart.lets_through(line, ends))
                    && self.applies(r, index, line)
                    && rule
                        .regex
                        .as_ref()
                        .is_some_and(|regex| regex.is_match(line))
            });
        self.hit(apart.or(forward)?, line, 0)
    }

    fn match_prefix_at(&self, searches: &Searches, line: &str, index: usize) -> Option<Hit> {
        let rule = searches
            .prefix
            .first(line, |r| self.applies(r, index, line))?;
        self.hit(rule, line, 0)
    }

    fn match_suffix_at(&self, searches: &Searches, line: &str, index: usize) -> Option<Hit> {
        let mut from = line.len().saturating_sub(self.max_suffix_bytes);
        while !line.is_char_boundary(from) {
            from += 1;
        }
        let rule = searches
            .suffix
            .first(&line[from..], |r| self.applies(r, index, line))?;
        self.hit(rule, line, from)
    }

    /// Runs rule `rule` on `line[from..]` for its captures.
    fn hit(&self, rule: usize, line: &str, from: usize) -> Option<Hit> {
        let r = &self.rules[rule];
        if !r.named_groups {
            // Only the match: a whole-line rule's is the line (its search
            // told that it matches), another's a search away; both are
            // what the captures would say, for less.
            let whole = match r.scope {
                Scope::Line => from..line.len(),
                Scope::Prefix | Scope::Suffix => {
                    let m = r.regex.as_ref()?.find(&line[from..])?;
                    from + m.start()..from + m.end()
                }
            };
            if whole.is_empty() {
                return None;
            }
            let values = match &r.to {
                Some(to) => vec![(
                    to.clone(),
                    unwrap_parens(line[whole.clone()].trim()).to_string(),
                )],
                None => Vec::new(),
            };
            return Some(Hit {
                rule,
                range: whole,
                values,
            });
        }
        self.hit_captured(rule, r.regex.as_ref()?, line, from)
    }

    /// [`RuleSet::hit`] read from the captures of `regex`, the rule's
    /// (what it means for every rule; needed for the rules with named
    /// groups).
    fn hit_captured(&self, rule: usize, regex: &Regex, line: &str, from: usize) -> Option<Hit> {
        let r = &self.rules[rule];
        let caps = regex.captures(&line[from..])?;
        let whole = caps.get(0)?;
        if whole.is_empty() {
            return None;
        }
        let cut = caps.name("drop").unwrap_or(whole);
        let mut values = Vec::new();
        if let Some(to) = &r.to {
            let value = match caps.name("value") {
                Some(v) => v.as_str().trim(),
                None => unwrap_parens(whole.as_str().trim()),
            };
            values.push((to.clone(), value.to_string()));
        }
        for (group, field) in &r.fields {
            if let Some(m) = caps.get(*group) {
                values.push((field.clone(), m.as_str().trim().to_string()));
            }
        }
        Some(Hit {
            rule,
            range: from + cut.start()..from + cut.end(),
            values,
        })
    }
}

/// Has `line` more than `n` visible (not white space) characters? Code
/// points less ASCII white space, counted in vector code, are an upper
/// bound; less the bytes that may start white space beyond ASCII (C2, E1,
/// E2, E3, also counted in vector code), a lower bound. Only when `n` lies
/// between the two are those characters decoded.
fn more_visible_chars_than(line: &str, n: usize) -> bool {
    if line.len() <= n {
        return false;
    }
    let upper = upper_visible_chars(line.as_bytes());
    if upper <= n {
        return false;
    }
    let wide_leads = count_bytes(line.as_bytes(), |b| {
        (b == 0xC2) | (b.wrapping_sub(0xE1) < 3)
    });
    upper.saturating_sub(wide_leads) > n || upper - wide_spaces(line) > n
}

/// Code points of `bytes` less ASCII white space.
fn upper_visible_chars(bytes: &[u8]) -> usize {
    count_bytes(bytes, |b| {
        let starts_char = (b as i8) >= -0x40;
        let ascii_space = (b == b' ') | (b'\t'..=b'\r').contains(&b);
        starts_char & !ascii_space
    })
}

/// The visible (not white space) characters of `line`, without decoding
/// it: code points less ASCII white space, less the white space beyond
/// ASCII.
#[cfg(test)]
fn visible_chars(line: &str) -> usize {
    upper_visible_chars(line.as_bytes()) - wide_spaces(line)
}

/// The white space characters of `line` beyond ASCII, which always start
/// with byte C2, E1, E2 or E3.
fn wide_spaces(line: &str) -> usize {
    let bytes = line.as_bytes();
    memchr::memchr3_iter(0xC2, 0xE1, 0xE2, bytes)
        .chain(memchr::memchr_iter(0xE3, bytes))
        .filter(|&i| line[i..].chars().next().is_some_and(char::is_whitespace))
        .count()
}

/// "(Le Figaro/Nova)" → "Le Figaro/Nova".
fn unwrap_parens(s: &str) -> &str {
    s.strip_prefix('(')
        .and_then(|s| s.strip_suffix(')'))
        .map(str::trim)
        .unwrap_or(s)
}

fn compile(spec: &RuleSpec, file: &str) -> Result<Rule, ConfigError> {
    compile_as(spec, file, false)
}

/// [`compile`], with a regex of its own for every rule when `every_regex`
/// (a plain whole-line rule has none otherwise): what tells, when a
/// scope's set does not compile, which rules are too large on their own.
fn compile_as(spec: &RuleSpec, file: &str, every_regex: bool) -> Result<Rule, ConfigError> {
    let err =
        |pos, msg: String| ConfigError::new(file, pos, format!("rule `{}`: {msg}", spec.id.value));
    let (pattern, pos) = match (&spec.regex, &spec.literals) {
        (Some(r), None) => (r.value.clone(), r.pos),
        (None, Some(l)) if !l.value.is_empty() => (literal_regex(&l.value), l.pos),
        (None, Some(l)) => return Err(err(l.pos, "`literals` is empty".into())),
        _ => {
            return Err(err(
                spec.id.pos,
                "give exactly one of `regex` and `literals`".into(),
            ));
        }
    };
    if let Some(to) = &spec.to
        && !Meta::FIELDS.contains(&to.value.as_str())
    {
        return Err(err(
            to.pos,
            format!(
                "`to: {}` is not a metadata field, expected one of: {}",
                to.value,
                Meta::FIELDS.join(", ")
            ),
        ));
    }
    let build = |pattern: &str| {
        RegexBuilder::new(pattern)
            .case_insensitive(!spec.case_sensitive)
            .size_limit(REGEX_SIZE_LIMIT)
            .dfa_size_limit(REGEX_SIZE_LIMIT)
            .build()
    };
    // The pattern on its own must be valid (so that it cannot close the
    // anchoring group below). Parsing is enough for that: the anchored
    // regex is the one compiled, with the size limits.
    let hir = regex_syntax::ParserBuilder::new()
        .case_insensitive(!spec.case_sensitive)
        .build()
        .parse(&pattern)
        .map_err(|e| err(pos, format!("invalid regex: {}", one_line(&e.to_string()))))?;
    // (The anchors added below change no suffix literal.)
    let ends_with = match spec.scope {
        Scope::Suffix => last_bytes(&hir),
        Scope::Line | Scope::Prefix => None,
    };
    // Flags and anchors go inside the pattern, so that the RegexSet of the
    // scope sees them too.
    let flagged = if spec.case_sensitive {
        pattern
    } else {
        format!("(?i:{pattern})")
    };
    let anchored = match spec.scope {
        Scope::Line => format!(r"\A(?:{flagged})\z"),
        Scope::Prefix => format!(r"\A(?:{flagged})"),
        Scope::Suffix => format!(r"(?:{flagged})\z"),
    };
    let apart = if spec.read == Direction::Forward && spec.needs.is_empty() {
        None
    } else if spec.scope != Scope::Line {
        return Err(err(
            spec.id.pos,
            "`read` and `needs` are for `match: line` rules".into(),
        ));
    } else if spec.needs.iter().any(|w| w.is_empty()) {
        return Err(err(spec.id.pos, "`needs` holds an empty word".into()));
    } else {
        let line_end = (spec.read == Direction::Backward).then(|| format!(r"(?:{flagged})\z"));
        Some(Apart {
            needs: Needs::new(&spec.needs),
            line_end,
        })
    };
    let named_groups = has_named_group(&hir);
    let regex = if every_regex || named_groups || apart.is_some() || spec.scope != Scope::Line {
        Some(build(&anchored).map_err(|e| err(pos, format!("invalid regex: {e}")))?)
    } else {
        None
    };
    let fields = regex
        .iter()
        .flat_map(|regex| regex.capture_names().enumerate())
        .filter_map(|(i, name)| {
            let name = name?;
            Meta::FIELDS.contains(&name).then(|| (i, Arc::from(name)))
        })
        .collect();
    Ok(Rule {
        id: Arc::from(spec.id.value.as_str()),
        kind: Arc::from(spec.kind.as_str()),
        scope: spec.scope,
        to: spec.to.as_ref().map(|t| Arc::from(t.value.as_str())),
        spec: spec.clone(),
        pattern: anchored,
        regex,
        fields,
        named_groups,
        apart,
        ends_with,
    })
}

/// Does the pattern have a group with a name?
fn has_named_group(hir: &regex_syntax::hir::Hir) -> bool {
    use regex_syntax::hir::HirKind;
    let mut todo = vec![hir];
    while let Some(hir) = todo.pop() {
        match hir.kind() {
            HirKind::Capture(group) if group.name.is_some() => return true,
            HirKind::Capture(group) => todo.push(&group.sub),
            HirKind::Repetition(repeated) => todo.push(&repeated.sub),
            HirKind::Concat(parts) | HirKind::Alternation(parts) => todo.extend(parts),
            HirKind::Empty | HirKind::Literal(_) | HirKind::Class(_) | HirKind::Look(_) => {}
        }
    }
    false
}

/// regex errors span several lines with a caret; keep the reason.
fn one_line(message: &str) -> String {
    message
        .lines()
        .rev()
        .find_map(|l| l.trim().strip_prefix("error: "))
        .map(str::to_string)
        .unwrap_or_else(|| message.split_whitespace().collect::<Vec<_>>().join(" "))
}

impl RuleSet {
    /// The rules, documented, with what the stage makes of each example.
    pub fn infos(&self, stage: &'static str) -> Vec<crate::stages::RuleInfo> {
        self.rules
            .iter()
            .map(|r| crate::stages::RuleInfo {
                id: r.id.to_string(),
                stage,
                kind: Some(r.kind.to_string()),
                summary: r
                    .spec
                    .description
                    .split_whitespace()
                    .collect::<Vec<_>>()
                    .join(" "),
                examples: r
                    .spec
                    .examples
                    .iter()
                    .map(|e| {
                        (
                            e.clone(),
                            crate::edits::apply_once(e, |ctx| self.process(ctx)),
                        )
                    })
                    .collect(),
                counter_examples: r.spec.counter_examples.clone(),
            })
            .collect()
    }

    /// Applies the rules to every line of `ctx.text`: whole-line rules
    /// remove the line and its line end; prefix and suffix rules remove
    /// their match and the white space joining it to the rest of the line
    /// (the whole line when nothing else is left). Values found go to the
    /// metadata and make the change a move.
    pub fn process(&self, ctx: &mut StageCtx<'_>) {
        let text = ctx.text;
        let mut start = 0;
        let mut index = 0; // of non-empty lines
        // Keys of the first lines counted: a line repeating one of them does
        // not count, since dedup (which runs later) may remove it. (The
        // start of the key is enough: lines dedup takes for repeats are
        // all among those it gives.)
        // (The keys' first 40 characters, with the line: the first 120,
        // what tells a repeat, are hashed only when those are alike.)
        let mut firsts: Vec<(u64, &str)> = Vec::new();
        // On a second look, past the lines positional rules count, the walk
        // goes from one line a focus range touches to the next: the lines
        // between would not be looked at (and their exact index no longer
        // matters, only that it is past `first_lines`).
        let mut next_range = 0; // the first focus range that may reach `start`
        while start < text.len() {
            if let Some(ranges) = ctx.focus
                && index >= self.first_lines
            {
                while ranges.get(next_range).is_some_and(|r| r.end < start) {
                    next_range += 1;
                }
                let Some(r) = ranges.get(next_range) else {
                    break;
                };
                let at = r.start.min(text.len());
                if at > start {
                    start = memchr::memrchr(b'\n', &text.as_bytes()[start..at])
                        .map_or(start, |i| start + i + 1);
                }
            }
            let end =
                memchr::memchr(b'\n', &text.as_bytes()[start..]).map_or(text.len(), |i| start + i);
            let next = (end + 1).min(text.len());
            let line = &text[start..end];
            let lead = line.len() - line.trim_start().len();
            let trimmed = line.trim();
            if !trimmed.is_empty() {
                // Positional rules see the first lines again, whatever the
                // focus, when the text changed at or before them (a line
                // removed above moves them up); otherwise their place and
                // text are as this stage last judged them.
                let moved = index < self.first_lines
                    && ctx
                        .focus
                        .is_none_or(|ranges| ranges.first().is_some_and(|r| r.start <= end));
                let gone = (moved || ctx.in_focus(&(start..end)))
                    && self.process_line(ctx, start..end, next, lead, trimmed, index);
                // Positions count the lines that stay, as the clean text
                // will have them: not those removed, nor repeats.
                if !gone && index < self.first_lines {
                    use crate::stages::dedup::key_hash_upto;
                    let (start_key, chars) = key_hash_upto(trimmed, 40);
                    let key = || key_hash_upto(trimmed, 120).0;
                    let repeat = chars > 0
                        && firsts.iter().any(|&(k, first)| {
                            k == start_key && key_hash_upto(first, 120).0 == key()
                        });
                    if !repeat {
                        firsts.push((start_key, trimmed));
                        index += 1;
                    }
                } else if !gone {
                    index += 1;
                }
            }
            start = if end == text.len() { text.len() } else { next };
        }
    }

    /// `line` is the line's byte range (without its line end), `next` the
    /// start of the next line; `trimmed` starts `lead` bytes into the line.
    /// Returns whether the whole line goes.
    ///
    /// Prefixes and suffixes are peeled off one after the other, and what
    /// is left is checked against the whole-line rules again: "Customize
    /// this title in frenchSource link -57" is junk twice.
    fn process_line(
        &self,
        ctx: &mut StageCtx<'_>,
        line: Range<usize>,
        next: usize,
        lead: usize,
        trimmed: &str,
        index: usize,
    ) -> bool {
        let base = line.start + lead;
        let searches = self.searches();
        // Pieces to remove, in byte ranges of `trimmed`, with their hits.
        let mut pieces: Vec<(Range<usize>, Hit)> = Vec::new();
        let (mut from, mut to) = (0, trimmed.len());
        for _ in 0..8 {
            let rest = &trimmed[from..to];
            if rest.is_empty() {
                break;
            }
            if let Some(hit) = self.match_line_at(searches, rest, index) {
                let whole = hit.range == (0..rest.len());
                let range = if whole {
                    from..to
                } else {
                    from + hit.range.start..from + hit.range.end
                };
                pieces.push((range, hit));
                if whole {
                    from = to;
                }
                break;
            }
            if let Some(hit) = self.match_prefix_at(searches, rest, index) {
                // With the white space that joined it to the rest.
                let after = &rest[hit.range.end..];
                let end = from + hit.range.end + (after.len() - after.trim_start().len());
                pieces.push((from + hit.range.start..end, hit));
                from = end;
                continue;
            }
            if let Some(hit) = self.match_suffix_at(searches, rest, index) {
                let before = &rest[..hit.range.start];
                let start = from + before.trim_end().len();
                pieces.push((start..from + hit.range.end, hit));
                to = start;
                continue;
            }
            break;
        }
        let all_gone = from >= to;
        for (range, hit) in pieces {
            // The piece at either edge of the line takes the line's white
            // space; when nothing is left, the line end goes too.
            let start = if range.start == 0 {
                line.start
            } else {
                base + range.start
            };
            let end = match range.end == trimmed.len() {
                true if all_gone => next,
                true => line.end,
                false => base + range.end,
            };
            self.push(ctx, start..end, &hit);
        }
        all_gone
    }

    fn push(&self, ctx: &mut StageCtx<'_>, range: Range<usize>, hit: &Hit) {
        let rule = &self.rules[hit.rule];
        let mut change = Change::remove(range, &rule.id).category(&rule.kind);
        let mut fields: Vec<&str> = Vec::new();
        for (field, value) in &hit.values {
            if ctx.meta.store(field, value) && !fields.contains(&&**field) {
                fields.push(field);
            }
        }
        if !fields.is_empty() {
            change = change.moved_to(&Arc::from(fields.join(",")));
        }
        ctx.changes.push(change);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config;
    use crate::stages::StageConfig;

    /// The rule sets of the built-in pipeline, by stage.
    fn builtin() -> Vec<(&'static str, RuleSet)> {
        let config = config::load(None).unwrap();
        config
            .stages
            .iter()
            .filter_map(|s| match &s.config {
                StageConfig::Boilerplate(p) => Some(("boilerplate", p)),
                StageConfig::Metadata(p) => Some(("metadata", p)),
                _ => None,
            })
            .map(|(name, p)| (name, RuleSet::build(p, &config).unwrap()))
            .collect()
    }

    /// What the engine does with one trimmed line: the first rule that fires.
    fn first_hit(rules: &RuleSet, line: &str) -> Option<Hit> {
        rules
            .match_line(line)
            .or_else(|| rules.match_prefix(line))
            .or_else(|| rules.match_suffix(line))
    }

    #[test]
    fn every_rule_fires_on_its_examples_and_no_rule_on_counter_examples() {
        let sets = builtin();
        assert_eq!(sets.len(), 2);
        let counted = regex::Regex::new(r"\{\d*,\d{3,}\}").unwrap();
        let mut problems = Vec::new();
        for (stage, set) in &sets {
            for (i, rule) in set.rules.iter().enumerate() {
                let id = format!("{stage}/{}", rule.id);
                assert!(!rule.spec.examples.is_empty(), "{id} has no example");
                assert!(
                    !rule.spec.counter_examples.is_empty(),
                    "{id} has no counter-example"
                );
                let pattern = rule.spec.regex.as_ref().map_or("", |r| r.value.as_str());
                assert!(
                    !pattern.replace(r"(?-u:\b)", "").contains(r"\b"),
                    "{id} uses a Unicode \\b: write (?-u:\\b) to keep the fast engine"
                );
                assert!(
                    !counted.is_match(pattern),
                    "{id} has a counted repetition of 100 or more: use .* and max_chars"
                );
                for example in &rule.spec.examples {
                    match first_hit(set, example) {
                        Some(hit) if hit.rule == i => {}
                        Some(hit) => problems.push(format!(
                            "{id}: example {example:?} is taken by {}",
                            set.rules[hit.rule].id
                        )),
                        None => problems.push(format!("{id}: example {example:?} does not match")),
                    }
                }
                // Counter-examples must get through every pack.
                for counter in &rule.spec.counter_examples {
                    for (other_stage, other) in &sets {
                        if let Some(hit) = first_hit(other, counter) {
                            problems.push(format!(
                                "{id}: counter-example {counter:?} is matched by {other_stage}/{}",
                                other.rules[hit.rule].id
                            ));
                        }
                    }
                }
            }
        }
        assert!(problems.is_empty(), "{}", problems.join("\n"));
    }

    #[test]
    fn max_chars_counts_visible_characters_of_the_line() {
        let pack: PackFile = config::parse_data(
            "rules:\n  - id: tail\n    kind: junk\n    match: line\n    max_chars: 14\n    \
             regex: '.*droits\\s+réservés'\n    description: test\n",
            "t.yaml",
        )
        .unwrap();
        let rules = RuleSet::new(
            pack.rules
                .iter()
                .map(|s| compile(s, "t.yaml").unwrap())
                .collect(),
        )
        .unwrap();
        // 14 visible characters, however many spaces.
        assert!(rules.match_line("droits réservés").is_some());
        assert!(rules.match_line("droits \u{A0}  \t réservés").is_some());
        assert!(rules.match_line("Tous droits réservés").is_none());
    }

    /// A rule set from pack text.
    fn rules_of(pack: &str) -> RuleSet {
        let pack: PackFile = config::parse_data(pack, "t.yaml").unwrap();
        RuleSet::new(
            pack.rules
                .iter()
                .map(|s| compile(s, "t.yaml").unwrap())
                .collect(),
        )
        .unwrap()
    }

    /// Every line of the seeds and test articles, and every example and
    /// counter-example, cut at each space (so that rules see endings and
    /// beginnings they would not see otherwise).
    fn sample_lines() -> Vec<String> {
        let mut lines: Vec<String> = Vec::new();
        for dir in ["seeds", "tests/articles"] {
            for entry in std::fs::read_dir(dir).unwrap() {
                let text = std::fs::read_to_string(entry.unwrap().path()).unwrap_or_default();
                lines.extend(text.lines().map(|l| l.trim().to_string()));
            }
        }
        let sets = builtin();
        for (_, set) in &sets {
            for rule in &set.rules {
                lines.extend(rule.spec.examples.iter().cloned());
                lines.extend(rule.spec.counter_examples.iter().cloned());
            }
        }
        let cuts: Vec<String> = lines
            .iter()
            .flat_map(|l| l.match_indices(' ').map(|(i, _)| l[i + 1..].to_string()))
            .collect();
        lines.extend(cuts);
        lines.retain(|l| !l.is_empty());
        lines
    }

    #[test]
    fn a_focused_look_makes_the_changes_of_a_whole_look_on_the_lines_in_focus() {
        // The seed articles with random focus ranges (one at the start, so
        // that the first lines count as moved and positional rules see
        // them): the changes are those of a whole look on the first lines
        // and on the lines a range touches, and no others.
        let rule_sets = builtin();
        let mut next = crate::lanes::test_numbers(11);
        let mut compared = 0;
        for entry in std::fs::read_dir("seeds").unwrap() {
            let text = std::fs::read_to_string(entry.unwrap().path()).unwrap();
            for (_, set) in &rule_sets {
                let look = |focus: Option<&[Range<usize>]>| {
                    let mut meta = crate::document::Meta::default();
                    let mut ctx = StageCtx {
                        text: &text,
                        meta: &mut meta,
                        blocks: &[],
                        changes: Vec::new(),
                        new_blocks: None,
                        new_entities: Vec::new(),
                        focus,
                    };
                    set.process(&mut ctx);
                    let mut changes: Vec<Range<usize>> =
                        ctx.changes.iter().map(|c| c.range.clone()).collect();
                    changes.sort_by_key(|r| r.start);
                    changes
                };
                let whole = look(None);
                let line_of = |p: usize| {
                    let start = text[..p].rfind('\n').map_or(0, |i| i + 1);
                    let end = text[p..].find('\n').map_or(text.len(), |i| p + i);
                    start..end
                };
                let changed_lines: Vec<usize> =
                    whole.iter().map(|r| line_of(r.start).start).collect();
                // The byte after the first lines' last: what a walk from the
                // top sees as positional (the seeds' first lines are neither
                // empty nor repeated, nor removed by position alone).
                let first_lines_end = text
                    .match_indices('\n')
                    .map(|(i, _)| i)
                    .filter(|&i| !text[..i].ends_with('\n'))
                    .nth(set.first_lines.saturating_sub(1))
                    .unwrap_or(text.len());
                for _ in 0..40 {
                    let mut ranges: Vec<Range<usize>> = Vec::new();
                    ranges.push(0..0);
                    let mut at = 0;
                    while at < text.len() {
                        at += 1 + next(2000);
                        // Some at a line start (often one the rules change):
                        // a removal there, or a range ending where it starts.
                        let changed_line = changed_lines.iter().find(|&&p| p >= at);
                        if let Some(&p) = changed_line.filter(|_| next(2) == 0) {
                            at = p;
                        } else if next(3) == 0 {
                            at = memchr::memchr(b'\n', &text.as_bytes()[at.min(text.len())..])
                                .map_or(text.len(), |i| at + i + 1);
                        }
                        let len = [0, 1, 30, 300][next(4)];
                        let (a, b) = (at.min(text.len()), (at + len).min(text.len()));
                        let (a, b) = match next(4) {
                            0 if a > 0 => (a - 1, a), // up to the start of the line at `at`
                            _ => (a, b),
                        };
                        let floor = |mut p: usize| {
                            while !text.is_char_boundary(p) {
                                p -= 1;
                            }
                            p
                        };
                        let (a, b) = (floor(a), floor(b));
                        if b >= a && a >= ranges.last().unwrap().end {
                            ranges.push(a..b);
                        }
                        at = b;
                    }
                    let touched = |r: &Range<usize>| {
                        let line = line_of(r.start);
                        line.start < first_lines_end
                            || ranges
                                .iter()
                                .any(|f| f.end >= line.start && f.start <= line.end)
                    };
                    let want: Vec<Range<usize>> =
                        whole.iter().filter(|r| touched(r)).cloned().collect();
                    assert_eq!(look(Some(&ranges)), want, "focus {ranges:?}");
                    compared += want.len();
                }
            }
        }
        assert!(compared > 100, "{compared} changes compared");
    }

    #[test]
    fn reading_backward_and_needs_give_the_verdicts_of_a_plain_read() {
        // `read: backward` and `needs` only make rules quicker: the built-in
        // packs without them match the same sample lines with the same rules.
        let lines = sample_lines();
        let sets = builtin();
        let mut backward_rules = 0;
        let mut needing_rules = 0;
        for (stage, set) in &sets {
            let forward = RuleSet::new(
                set.rules
                    .iter()
                    .map(|r| {
                        backward_rules += usize::from(r.spec.read == Direction::Backward);
                        needing_rules += usize::from(!r.spec.needs.is_empty());
                        let spec = RuleSpec {
                            read: Direction::Forward,
                            needs: Vec::new(),
                            ..r.spec.clone()
                        };
                        compile(&spec, "t.yaml").unwrap()
                    })
                    .collect(),
            )
            .unwrap();
            assert!(forward.searches[0].line_ends.is_empty());
            for line in &lines {
                assert_eq!(
                    set.match_line(line),
                    forward.match_line(line),
                    "{stage}: {line:?}"
                );
            }
        }
        assert!(
            backward_rules >= 2 && needing_rules >= 2,
            "the built-in packs read some rules backward, and some need words"
        );
        // Pack order decides between rules read either way.
        let rules = rules_of(
            "rules:
  - {id: a, kind: k, match: line, regex: 'x.*', description: d}
  - {id: b, kind: k, match: line, read: backward, regex: '.*y', description: d}
  - {id: c, kind: k, match: line, regex: '.*', description: d}
",
        );
        let rule = |line: &str| {
            rules
                .match_line(line)
                .map(|h| rules.rules[h.rule].id.to_string())
        };
        assert_eq!(rule("x y").as_deref(), Some("a"));
        assert_eq!(rule("z y").as_deref(), Some("b"));
        assert_eq!(rule("z y z").as_deref(), Some("c"));
    }

    #[test]
    fn hits_without_captures_are_what_the_captures_say() {
        // Every built-in rule on every sample line it matches, where the
        // stage would ask: whole-line rules on the line, prefix rules from
        // its start, suffix rules from each character boundary of its end.
        // (The built-in suffix rules all have named groups: a pack of
        // rules without them, moved to metadata or not, joins them.)
        let pack = r#"rules:
  - {id: s1, kind: k, match: suffix, regex: '\s*[-–|]\s*\w+', description: d}
  - {id: s2, kind: k, match: suffix, to: source, regex: '\s*\(\w+(?:/\w+)?\)', description: d}
  - {id: p1, kind: k, match: prefix, regex: '\w+\s*:', description: d}
  - {id: l1, kind: k, match: line, to: credit, regex: '\(?©.*', description: d}
"#;
        let mut sets: Vec<RuleSet> = builtin().into_iter().map(|(_, rules)| rules).collect();
        sets.push(rules_of(pack));
        let lines = sample_lines();
        let mut fast = [0; 3];
        for rules in &sets {
            // (A plain whole-line rule has no regex of its own: one is
            // compiled here.)
            let regexes: Vec<Regex> = rules
                .rules
                .iter()
                .map(|rule| {
                    rule.regex
                        .clone()
                        .unwrap_or_else(|| Regex::new(&rule.pattern).unwrap())
                })
                .collect();
            for line in &lines {
                for (i, (rule, regex)) in rules.rules.iter().zip(&regexes).enumerate() {
                    let froms: Vec<usize> = match rule.scope {
                        Scope::Line | Scope::Prefix => vec![0],
                        Scope::Suffix => (0..line.len().min(8))
                            .filter(|&f| line.is_char_boundary(f))
                            .collect(),
                    };
                    for from in froms {
                        if !regex.is_match(&line[from..]) {
                            continue;
                        }
                        fast[rule.scope as usize] += usize::from(!rule.named_groups);
                        assert_eq!(
                            rules.hit(i, line, from),
                            rules.hit_captured(i, regex, line, from),
                            "{} on {line:?} from {from}",
                            rule.id
                        );
                    }
                }
            }
        }
        assert!(
            fast.iter().all(|&n| n > 20),
            "hits without named groups: {fast:?}"
        );
    }

    #[test]
    fn suffix_rules_skip_lines_that_end_as_no_match_of_theirs_can() {
        let mut lines = sample_lines();
        let endings = [" (Avec AFP)", ". (AFP)", ". (Le Monde)", "»", " )"];
        let ended: Vec<String> = lines
            .iter()
            .flat_map(|l| endings.iter().map(move |e| format!("{l}{e}")))
            .collect();
        lines.extend(ended);
        let mut guarded = 0;
        for (stage, set) in builtin() {
            let mut unguarded = set.clone();
            for searches in &mut unguarded.searches {
                guarded += usize::from(searches.suffix.last_bytes.take().is_some());
            }
            for line in &lines {
                assert_eq!(
                    set.match_suffix(line),
                    unguarded.match_suffix(line),
                    "{stage}: {line:?}"
                );
            }
        }
        assert!(guarded > 0, "the built-in suffix rules all end with `)`");
        // The last bytes come from the patterns' suffix literals, in every
        // case of a letter.
        let suffix_rules = |regexes: &[&str]| {
            let rules: String = regexes
                .iter()
                .enumerate()
                .map(|(i, r)| {
                    format!(
                        "  - {{id: r{i}, kind: k, match: suffix, regex: '{r}', description: d}}\n"
                    )
                })
                .collect();
            let set = rules_of(&format!("rules:\n{rules}"));
            let last = set.searches[0].suffix.last_bytes.clone();
            last.map(|last| {
                (0..=255u8)
                    .filter(|&b| last[usize::from(b)])
                    .collect::<Vec<u8>>()
            })
        };
        assert_eq!(
            suffix_rules(&[r"x\)|ab", r"(?-i:c[de])"]).unwrap(),
            b")Bbde"
        );
        // A pattern that may match the empty string, or ends with a large
        // class: no guard.
        assert!(suffix_rules(&[r"x\)", "a*"]).is_none());
        assert!(suffix_rules(&[r"\w+"]).is_none());
    }

    #[test]
    fn each_thread_of_the_pool_searches_with_its_own_copy() {
        let pack = "rules:\n  - {id: a, kind: k, match: line, regex: 'x.*', description: d}\n";
        let pool = rayon::ThreadPoolBuilder::new()
            .num_threads(3)
            .build()
            .unwrap();
        let rules = pool.install(|| rules_of(pack));
        assert_eq!(rules.searches.len(), 3);
        let used: Vec<usize> = pool.broadcast(|_| {
            let mine = rules.searches();
            assert!(rules.match_line("x y").is_some());
            rules
                .searches
                .iter()
                .position(|s| std::ptr::eq(s, mine))
                .unwrap()
        });
        assert_eq!(used, [0, 1, 2]);
        // Outside the pool, and in a larger pool, the first copy serves.
        assert!(std::ptr::eq(rules.searches(), &rules.searches[0]));
        let larger = rayon::ThreadPoolBuilder::new()
            .num_threads(4)
            .build()
            .unwrap();
        let last = larger.broadcast(|_| std::ptr::eq(rules.searches(), &rules.searches[0]));
        assert!(last[3]);
        assert_eq!(rules.match_line("x y").map(|h| h.rule), Some(0));
    }

    #[test]
    fn needs_limits_a_rule_to_lines_holding_one_of_its_words() {
        let rules = rules_of(
            "rules:
  - {id: c, kind: k, match: line, needs: [cookie, '©'], regex: '.*(?:cookies?|©).*', description: d}
",
        );
        for (line, hit) in [
            ("Nous utilisons des cookies.", true),
            ("Nos COOKIES", true),
            ("cookie", true),
            ("© AFP", true),
            ("Des cookie\u{212A}s", true),
            // Only the word is searched, in ASCII letters of any case: the
            // regex would take a Kelvin sign for a k, the rule does not.
            ("cooKie", true),
            ("coo\u{212A}ie", false),
            ("Kookie", false),
            ("", false),
        ] {
            assert_eq!(rules.match_line(line).is_some(), hit, "{line:?}");
        }
        // The word search is a plain search, whatever byte it starts from.
        for word in ["cookie", "©", "k", "ée", "Qz"] {
            let needed = Needed::new(word);
            let lower = word.to_ascii_lowercase();
            let alphabet = [
                "c", "o", "k", "i", "e", "C", "O", "K", "I", "E", "é", "©", "Q", "q", "z", " ",
            ];
            for s in crate::lanes::test_strings(&alphabet, (16, 2), 20, 4000, 7) {
                let want = s.to_ascii_lowercase().contains(&lower);
                assert_eq!(needed.is_in(s.as_bytes()), want, "{word:?} in {s:?}");
            }
        }
        // Several words: one pass for up to three searched bytes (both
        // cases of a letter count as two), one per word beyond.
        for (words, one_pass) in [
            (&[")", ":", "©"][..], true),   // `)`, `:`, the lead byte of `©`
            (&["cookie", "©"], true),       // k, K and that byte
            (&["droits", "rights"], false), // d, D, g, G
            (&["k"], true),
            (&["ée", "Qz", ")"], false),
            (&["ok", "ko", "co", "oc"], false),
        ] {
            let words: Vec<String> = words.iter().map(|w| w.to_string()).collect();
            let needs = Needs::new(&words);
            assert_eq!(needs.bytes.is_some(), one_pass, "{words:?}");
            let alphabet = [
                "c", "o", "k", "i", "e", "C", "O", "K", "é", "©", "Q", "z", ")", ":", "d", "r",
                "g", "ts", "roi", "igh", "\u{a0}", " ",
            ];
            for s in crate::lanes::test_strings(&alphabet, (16, 2), 24, 3000, 11) {
                let lower = s.to_ascii_lowercase();
                let want = words
                    .iter()
                    .any(|w| lower.contains(&w.to_ascii_lowercase()));
                assert_eq!(needs.are_in(s.as_bytes()), want, "{words:?} in {s:?}");
            }
        }
        assert!(Needs::new(&[]).are_in(b"anything"));
    }

    #[test]
    fn read_and_needs_are_for_whole_line_rules() {
        for (options, message) in [
            (
                "match: prefix\n    read: backward",
                "are for `match: line` rules",
            ),
            (
                "match: suffix\n    needs: [x]",
                "are for `match: line` rules",
            ),
            ("match: line\n    needs: ['']", "empty word"),
            (
                "match: line\n    read: sideways",
                "expected one of: forward, backward",
            ),
        ] {
            let text = format!(
                "rules:\n  - id: r\n    kind: k\n    {options}\n    regex: x\n    description: d\n"
            );
            let error = match config::parse_data::<PackFile>(&text, "t.yaml") {
                Err(e) => format!("{e:?}"),
                Ok(pack) => format!("{:?}", compile(&pack.rules[0], "t.yaml").unwrap_err()),
            };
            assert!(error.contains(message), "{options}: {error}");
        }
    }

    #[test]
    fn rules_too_large_together_are_refused_not_compiled() {
        // A plain whole-line rule is compiled only in its scope's set: one
        // over the set's size limit is a configuration error, at load.
        let pack = "rules:\n  - {id: huge, kind: k, match: line, regex: '(?:\\w{1000}){100}', description: d}\n";
        let spec = &config::parse_data::<PackFile>(pack, "t.yaml")
            .unwrap()
            .rules[0];
        let rule = compile(spec, "t.yaml").unwrap();
        assert!(rule.regex.is_none());
        let error = RuleSet::new(vec![rule]).expect_err("too large").to_string();
        assert!(error.contains("exceeds size limit"), "{error}");
    }

    #[test]
    fn visible_characters_are_counted_exactly() {
        let line = "a b\t\u{A0}é€ \u{2009}\u{3000}\u{1680}😀«x»\u{7F}\u{85}\u{B}".repeat(40);
        for end in (0..=line.len()).filter(|&e| line.is_char_boundary(e)) {
            let exact = line[..end].chars().filter(|c| !c.is_whitespace()).count();
            assert_eq!(visible_chars(&line[..end]), exact, "at {end}");
            for n in [0, exact.saturating_sub(1), exact, exact + 1, end / 2] {
                assert_eq!(
                    more_visible_chars_than(&line[..end], n),
                    exact > n,
                    "{end} {n}"
                );
            }
        }
    }

    #[test]
    fn named_groups_fill_the_metadata() {
        let sets = builtin();
        let metadata = &sets.iter().find(|(s, _)| *s == "metadata").unwrap().1;
        let hit = metadata.match_line("22/01/2024 mis à jour: 20:18").unwrap();
        let values: Vec<(&str, &str)> =
            hit.values.iter().map(|(f, v)| (&**f, v.as_str())).collect();
        assert_eq!(values, vec![("date", "22/01/2024"), ("updated", "20:18")]);
        let hit = metadata
            .match_suffix("plusieurs milices chiites pro-iraniennes. (Le Figaro/Nova)")
            .unwrap();
        assert_eq!(hit.range, 41..58);
        assert_eq!(hit.values[0].1, "Le Figaro/Nova");
    }
}
