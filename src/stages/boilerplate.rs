//! **boilerplate**: removes the junk scrapers keep (leaked SEO prompts,
//! captions, widgets, bylines without a name, copyright lines, teasers,
//! "Source link", counters, site names, breadcrumbs…) with rule packs.
//!
//! Rules see one line at a time, trimmed. A whole-line rule removes the
//! line and its line end; a prefix or suffix rule removes only the matched
//! part and the white space that joined it to the rest. Rules with `to`
//! move the text into the metadata instead.

use crate::config::{Config, ConfigError};
use crate::edits::StageCtx;
use crate::stages::rules::{PackConfig, RuleSet};
use crate::stages::{Group, RuleInfo, Stage};

/// The `boilerplate` stage.
pub struct Boilerplate {
    rules: RuleSet,
}

impl Boilerplate {
    pub fn build(config: &PackConfig, pipeline: &Config) -> Result<Self, Vec<ConfigError>> {
        Ok(Boilerplate {
            rules: RuleSet::build(config, pipeline)?,
        })
    }

    /// The rules, for `explain` and tests.
    pub fn rules(&self) -> &RuleSet {
        &self.rules
    }
}

impl Stage for Boilerplate {
    fn name(&self) -> &'static str {
        "boilerplate"
    }

    fn process(&self, ctx: &mut StageCtx<'_>) {
        self.rules.process(ctx);
    }

    fn group(&self) -> Option<Group> {
        Some(Group::Lines)
    }

    fn rules(&self) -> Vec<RuleInfo> {
        self.rules.infos("boilerplate")
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::{self, Origin};
    use crate::edits::{ChangeError, WorkDoc, restore};
    use crate::stages::StageConfig;

    /// The boilerplate stage of the built-in pipeline.
    fn builtin() -> Boilerplate {
        let config = config::load(None).unwrap();
        let cfg = config
            .stages
            .iter()
            .find_map(|s| match &s.config {
                StageConfig::Boilerplate(b) => Some(b.clone()),
                _ => None,
            })
            .expect("the default pipeline has a boilerplate stage");
        Boilerplate::build(&cfg, &config).unwrap()
    }

    fn clean(stage: &Boilerplate, input: &str) -> (String, Vec<String>, crate::document::Meta) {
        let mut doc = WorkDoc::new(input.into());
        doc.run_stage::<ChangeError>("boilerplate", |ctx| {
            stage.process(ctx);
            Ok(())
        })
        .unwrap();
        let done = doc.finish();
        assert_eq!(restore(&done.text, &done.edits).unwrap(), input);
        let kinds = done
            .edits
            .iter()
            .map(|e| e.category.as_deref().unwrap_or("").to_string())
            .collect();
        (done.text, kinds, done.meta)
    }

    #[test]
    fn table() {
        let stage = builtin();
        let cases: &[(&str, &str, &[&str])] = &[
            (
                "Customize this title in frenchLe chef iranien\n\nTexte.\n",
                "Le chef iranien\n\nTexte.\n",
                &["seo-prompt"],
            ),
            (
                "Titre\n\nMake this article seo compatible,Let there be subheadings, be in french\n\nTexte.",
                "Titre\n\n\nTexte.",
                &["seo-prompt"],
            ),
            ("Texte.\n\nSource link -57", "Texte.\n\n", &["source-link"]),
            (
                "Texte.\n\u{A0}Laisser un commentaire \nFin.\n",
                "Texte.\nFin.\n",
                &["comment-widget"],
            ),
            (
                "Publié par\n\nPublié par la Fédération des syndicats, le communiqué dénonce.\n",
                "\nPublié par la Fédération des syndicats, le communiqué dénonce.\n",
                &["empty-byline"],
            ),
            ("724\nTexte.\n", "Texte.\n", &["view-counter"]),
            ("Texte.\n\njpost.com\n", "Texte.\n\n", &[]),
        ];
        for (input, want, kinds) in cases {
            let (got, got_kinds, _) = clean(&stage, input);
            assert_eq!(&got, want, "input {input:?}");
            for k in *kinds {
                assert!(
                    got_kinds.iter().any(|g| g == k),
                    "input {input:?}: {got_kinds:?}"
                );
            }
        }
    }

    #[test]
    fn captions_move_to_the_metadata_once() {
        let stage = builtin();
        let caption = "Des manifestants à Bagdad (crédit photo : REUTERS/X)";
        let input = format!("{caption}\n{caption}\nTexte.\n");
        let (text, kinds, meta) = clean(&stage, &input);
        assert_eq!(text, "Texte.\n");
        assert_eq!(kinds, vec!["caption", "caption"]);
        assert_eq!(meta.captions, vec![caption.to_string()]);
    }

    #[test]
    fn disabled_rules_do_not_fire() {
        let config = config::load_str(
            "stages:\n  - boilerplate:\n      packs: [rules/boilerplate.fr.yaml]\n      disable: [view-counter, source-link]\n",
            Origin::Builtin,
        )
        .unwrap();
        let StageConfig::Boilerplate(cfg) = &config.stages[0].config else {
            panic!()
        };
        let stage = Boilerplate::build(cfg, &config).unwrap();
        let (text, _, _) = clean(&stage, "724\nSource link\n");
        assert_eq!(text, "724\nSource link\n");
    }
}
