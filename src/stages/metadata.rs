//! **metadata**: lines and fragments that describe the article leave the
//! text for `meta`, each recorded as a move: datelines and update times
//! (as ISO dates and times), agency lines, named bylines, trailing sources
//! such as "(Le Figaro/Nova)", credits such as "(Avec AFP)".
//!
//! It runs the same rule engine as `boilerplate` (see `rules.rs`), with
//! packs whose rules say where the text goes: `to: credit`, or groups
//! named after fields (`(?P<date>…)`, `(?P<updated>…)`, `(?P<author>…)`).

use crate::config::{Config, ConfigError};
use crate::edits::StageCtx;
use crate::stages::rules::{PackConfig, RuleSet};
use crate::stages::{Group, RuleInfo, Stage};

/// The `metadata` stage.
pub struct Metadata {
    rules: RuleSet,
}

impl Metadata {
    pub fn build(config: &PackConfig, pipeline: &Config) -> Result<Self, Vec<ConfigError>> {
        Ok(Metadata {
            rules: RuleSet::build(config, pipeline)?,
        })
    }

    /// The rules, for `explain` and tests.
    pub fn rules(&self) -> &RuleSet {
        &self.rules
    }
}

impl Stage for Metadata {
    fn name(&self) -> &'static str {
        "metadata"
    }

    fn process(&self, ctx: &mut StageCtx<'_>) {
        self.rules.process(ctx);
    }

    fn group(&self) -> Option<Group> {
        Some(Group::Lines)
    }

    fn rules(&self) -> Vec<RuleInfo> {
        self.rules.infos("metadata")
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config;
    use crate::document::Meta;
    use crate::edits::{ChangeError, WorkDoc, restore};
    use crate::stages::StageConfig;

    fn builtin() -> Metadata {
        let config = config::load(None).unwrap();
        let pack = config
            .stages
            .iter()
            .find_map(|s| match &s.config {
                StageConfig::Metadata(p) => Some(p.clone()),
                _ => None,
            })
            .unwrap();
        Metadata::build(&pack, &config).unwrap()
    }

    fn run(stage: &Metadata, input: &str) -> (String, Meta) {
        let mut doc = WorkDoc::new(input.into());
        doc.run_stage::<ChangeError>("metadata", |ctx| {
            stage.process(ctx);
            Ok(())
        })
        .unwrap();
        let done = doc.finish();
        assert_eq!(restore(&done.text, &done.edits).unwrap(), input);
        (done.text, done.meta)
    }

    #[test]
    fn table() {
        let stage = builtin();
        type Check = fn(&Meta) -> bool;
        let cases: &[(&str, &str, Check)] = &[
            (
                "Titre\n22/01/2024 mis à jour: 20:18\nAFP\nTexte.\n",
                "Titre\nTexte.\n",
                |m| {
                    m.date.as_deref() == Some("2024-01-22")
                        && m.updated.as_deref() == Some("20:18")
                        && m.agency.as_deref() == Some("AFP")
                },
            ),
            (
                "Publié le 14/04/2024 à 09h32\nTexte.\n",
                "Texte.\n",
                |m| m.date.as_deref() == Some("2024-04-14") && m.time.as_deref() == Some("09:32"),
            ),
            ("Par Camille Martin\nTexte.\n", "Texte.\n", |m| {
                m.author.as_deref() == Some("Camille Martin")
            }),
            ("Texte fini. (Le Figaro/Nova)\n", "Texte fini.\n", |m| {
                m.source.as_deref() == Some("Le Figaro/Nova")
            }),
            (
                "Texte.\n(Avec la contribution des agences)\n",
                "Texte.\n",
                |m| m.credit.as_deref() == Some("Avec la contribution des agences"),
            ),
            // Article text that looks like metadata stays.
            (
                "Publié par la Fédération des syndicats, le communiqué dénonce la répression.\n",
                "Publié par la Fédération des syndicats, le communiqué dénonce la répression.\n",
                |m| m.author.is_none() && m.removed.is_empty(),
            ),
            (
                "Par ailleurs, Téhéran a démenti.\n",
                "Par ailleurs, Téhéran a démenti.\n",
                |m| m.removed.is_empty(),
            ),
            (
                "Le groupe État islamique (EI) a revendiqué l’attaque.\n",
                "Le groupe État islamique (EI) a revendiqué l’attaque.\n",
                |m| m.source.is_none(),
            ),
            (
                "Reuters a publié une enquête.\n",
                "Reuters a publié une enquête.\n",
                |m| m.agency.is_none(),
            ),
        ];
        for (input, want, check) in cases {
            let (text, meta) = run(&stage, input);
            assert_eq!(&text, want, "{input:?}");
            assert!(check(&meta), "{input:?}: {meta:?}");
        }
    }
}
