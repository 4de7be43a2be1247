//! lavoir turns scraped news text into clean, annotated text.
//!
//! A [`Pipeline`] of configurable stages (declared in `pipeline.yaml`)
//! strips junk (leaked SEO prompts, captions, share widgets…), normalizes
//! spellings and typography, and returns a [`CleanDocument`]: the clean
//! text, metadata, entities, and an edit log from which the input can be
//! rebuilt exactly.
//!
//! ```
//! use lavoir::Pipeline;
//!
//! // The default pipeline, built into the crate.
//! let pipeline = Pipeline::builtin();
//! let input = "Customize this title in frenchSuleimani à Baghdad\n\nLaisser un commentaire\n";
//! let doc = pipeline.clean(input).unwrap();
//! assert!(doc.text.starts_with("Soleimani à Bagdad"));
//! assert!(!doc.text.contains("commentaire"));
//! // Nothing is lost: the edit log rebuilds the input.
//! assert_eq!(doc.restore().unwrap(), input);
//! ```
//!
//! A pipeline is built once (rules and automata are compiled then) and can
//! clean any number of documents, from several threads.
//!
//! Your own pipeline comes from a `pipeline.yaml` ([`Pipeline::load`]) or
//! from its text; data files named in a built-in config (`rules/…`,
//! `lexicons/…`) are the ones embedded in the crate:
//!
//! ```
//! use lavoir::config::{self, Origin};
//! use lavoir::Pipeline;
//!
//! let config = config::load_str(
//!     "stages:\n  - boilerplate:\n      packs: [rules/boilerplate.fr.yaml]\n  - spelling:\n      lexicons: [lexicons/names.fr.yaml]\n",
//!     Origin::Builtin,
//! )
//! .unwrap();
//! let pipeline = Pipeline::from_config(&config).unwrap();
//! assert_eq!(pipeline.stage_names(), ["boilerplate", "spelling"]);
//!
//! let doc = pipeline.clean("Ghaani à Baghdad\nSource link -57\n").unwrap();
//! assert_eq!(doc.text, "Qaani à Bagdad\n");
//! for edit in &doc.edits {
//!     // Which stage and rule changed what, where in the input.
//!     println!("{}:{} {} {:?} -> {:?}", edit.line, edit.column, edit.rule, edit.original, edit.new);
//! }
//! // Entities found while normalizing spellings, with their canonical form.
//! assert_eq!(&*doc.entities[0].canonical, "Qaani");
//! ```
//!
//! Errors in a config are all reported at once, each with its file, line
//! and column ([`ConfigErrors`]). For JSON Lines streams, see [`jsonl`].

pub mod check;
pub mod config;
pub mod dates;
pub mod document;
pub mod edits;
pub mod emit;
mod json_writer;
pub mod jsonl;
pub mod lanes;
mod letters;
pub mod pipeline;
pub mod run;
pub mod stages;
pub mod text_index;

pub use config::{Config, ConfigError, ConfigErrors};
pub use document::{CleanDocument, Edit, EditKind, Meta};
pub use pipeline::{Error, Pipeline, StageTime};
