//! Model tiers: which tier each model belongs to, in either of the two
//! shapes users write, and the tier of models no tier lists.

use std::collections::HashMap;

use crate::error::{PolicyError, TierProblem, clip};

/// The tier of a model that no tier lists, when the policy names no
/// `default_tier`.
pub const UNLISTED_TIER: &str = "unknown";

/// The other name a `model_tier` condition may use for [`UNLISTED_TIER`]:
/// a model that is not listed is not approved.
pub const UNLISTED_ALIAS: &str = "unapproved";

/// One entry as written: a tier with its models, or a model with its tier.
#[derive(Clone, Debug)]
pub(crate) enum TierEntry {
    Tier { tier: String, models: Vec<String> },
    Model { model: String, tier: String },
}

/// The model tiers of a built policy.
#[derive(Clone, Debug, Default)]
pub(crate) struct ModelTiers {
    /// Tier names as first written; tier names compare without regard to
    /// ASCII case.
    names: Vec<String>,
    /// Each tier's models, in the order written.
    models: Vec<Vec<String>>,
    /// Model name (exact) to tier index.
    lookup: HashMap<String, usize>,
    /// The tier of unlisted models, when `default_tier` is set.
    default: Option<usize>,
}

/// What a `model_tier` condition accepts: models of one tier, unlisted
/// models, or both.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct TierMatch {
    tier: Option<usize>,
    unlisted: bool,
}

impl TierMatch {
    /// Whether a model of tier `tier` (`None`: unlisted) satisfies it.
    pub(crate) fn accepts(self, tier: Option<usize>) -> bool {
        match tier {
            Some(index) => self.tier == Some(index),
            None => self.unlisted,
        }
    }
}

impl ModelTiers {
    /// Builds the tiers from the entries as written and the default tier.
    pub(crate) fn build(
        entries: Vec<TierEntry>,
        default: Option<String>,
    ) -> Result<ModelTiers, PolicyError> {
        let mut tiers = ModelTiers::default();
        for entry in entries {
            match entry {
                TierEntry::Tier { tier, models } => {
                    let index = tiers.intern(tier)?;
                    for model in models {
                        tiers.assign(model, index)?;
                    }
                }
                TierEntry::Model { model, tier } => {
                    let index = tiers.intern(tier)?;
                    tiers.assign(model, index)?;
                }
            }
        }
        if let Some(default) = default {
            if default.is_empty() {
                return Err(PolicyError::tiers(TierProblem::BadDefault {
                    found: "an empty string",
                }));
            }
            tiers.default = Some(tiers.intern(default)?);
        }
        Ok(tiers)
    }

    /// The index of the tier called `name`, added when new.
    fn intern(&mut self, name: String) -> Result<usize, PolicyError> {
        if name.is_empty() {
            return Err(PolicyError::tiers(TierProblem::EmptyName { what: "tier" }));
        }
        if let Some(index) = self.index_of(&name) {
            return Ok(index);
        }
        self.names.push(name);
        self.models.push(Vec::new());
        Ok(self.names.len() - 1)
    }

    fn assign(&mut self, model: String, index: usize) -> Result<(), PolicyError> {
        if model.is_empty() {
            return Err(PolicyError::tiers(TierProblem::EmptyName { what: "model" }));
        }
        match self.lookup.get(&model) {
            Some(&first) if first == index => Ok(()),
            Some(&first) => Err(PolicyError::tiers(TierProblem::ModelInTwoTiers {
                model: clip(&model),
                first: clip(&self.names[first]),
                second: clip(&self.names[index]),
            })),
            None => {
                self.lookup.insert(model.clone(), index);
                self.models[index].push(model);
                Ok(())
            }
        }
    }

    fn index_of(&self, name: &str) -> Option<usize> {
        self.names.iter().position(|known| known.eq_ignore_ascii_case(name))
    }

    /// The tier index of `model`; `None` for an unlisted model without a
    /// default tier.
    pub(crate) fn tier_of(&self, model: &str) -> Option<usize> {
        self.lookup.get(model).copied().or(self.default)
    }

    /// The name of a tier index as [`ModelTiers::tier_of`] returns it.
    pub(crate) fn name_of(&self, tier: Option<usize>) -> &str {
        tier.map_or(UNLISTED_TIER, |index| &self.names[index])
    }

    /// What a `model_tier` condition naming `wanted` accepts, or `None` when
    /// no model can have that tier.
    pub(crate) fn resolve(&self, wanted: &str) -> Option<TierMatch> {
        let tier = self.index_of(wanted);
        let unlisted = self.default.is_none()
            && (wanted.eq_ignore_ascii_case(UNLISTED_TIER)
                || wanted.eq_ignore_ascii_case(UNLISTED_ALIAS));
        (tier.is_some() || unlisted).then_some(TierMatch { tier, unlisted })
    }

    /// The tier names a condition may use, in words.
    pub(crate) fn expected(&self) -> String {
        let mut names: Vec<&str> = self.names.iter().map(String::as_str).collect();
        if self.default.is_none() {
            for alias in [UNLISTED_TIER, UNLISTED_ALIAS] {
                if self.index_of(alias).is_none() {
                    names.push(alias);
                }
            }
        }
        match names.split_last() {
            None => "no tier: the policy defines none".to_string(),
            Some((last, [])) => format!("'{last}'"),
            Some((last, rest)) => {
                let rest: Vec<String> = rest.iter().map(|name| format!("'{name}'")).collect();
                format!("{} or '{last}'", rest.join(", "))
            }
        }
    }

    /// The tiers in the order first written, each with its models.
    pub(crate) fn iter(&self) -> impl Iterator<Item = (&str, &[String])> {
        self.names.iter().map(String::as_str).zip(self.models.iter().map(Vec::as_slice))
    }

    /// The tier of unlisted models, when the policy names one.
    pub(crate) fn default_tier(&self) -> Option<&str> {
        self.default.map(|index| self.names[index].as_str())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn tier(name: &str, models: &[&str]) -> TierEntry {
        TierEntry::Tier {
            tier: name.into(),
            models: models.iter().map(|m| m.to_string()).collect(),
        }
    }

    fn model(model: &str, tier: &str) -> TierEntry {
        TierEntry::Model { model: model.into(), tier: tier.into() }
    }

    #[test]
    fn both_shapes_give_the_same_tiers() {
        let lists = ModelTiers::build(vec![tier("approved", &["gpt-4o", "m2"])], None).unwrap();
        let pairs =
            ModelTiers::build(vec![model("gpt-4o", "approved"), model("m2", "Approved")], None)
                .unwrap();
        for tiers in [&lists, &pairs] {
            assert_eq!(tiers.name_of(tiers.tier_of("gpt-4o")), "approved");
            assert_eq!(tiers.name_of(tiers.tier_of("m2")), "approved");
            assert_eq!(tiers.tier_of("other"), None);
            assert_eq!(tiers.name_of(tiers.tier_of("other")), "unknown");
            let approved: Vec<_> = tiers.iter().collect();
            assert_eq!(approved, [("approved", &["gpt-4o".to_string(), "m2".to_string()][..])]);
        }
    }

    #[test]
    fn unlisted_models_answer_to_unknown_and_unapproved_without_a_default() {
        let tiers = ModelTiers::build(vec![tier("approved", &["gpt-4o"])], None).unwrap();
        for name in ["unknown", "UNAPPROVED", "unapproved"] {
            let wanted = tiers.resolve(name).unwrap();
            assert!(wanted.accepts(None), "{name}");
            assert!(!wanted.accepts(tiers.tier_of("gpt-4o")), "{name}");
        }
        let approved = tiers.resolve("APPROVED").unwrap();
        assert!(approved.accepts(tiers.tier_of("gpt-4o")));
        assert!(!approved.accepts(None));
        assert_eq!(tiers.resolve("aproved"), None);
        assert_eq!(tiers.expected(), "'approved', 'unknown' or 'unapproved'");
    }

    #[test]
    fn a_default_tier_replaces_the_implicit_names() {
        let tiers =
            ModelTiers::build(vec![tier("approved", &["gpt-4o"])], Some("restricted".into()))
                .unwrap();
        assert_eq!(tiers.name_of(tiers.tier_of("other")), "restricted");
        assert_eq!(tiers.default_tier(), Some("restricted"));
        assert!(tiers.resolve("restricted").unwrap().accepts(tiers.tier_of("other")));
        assert_eq!(tiers.resolve("unknown"), None);
        assert_eq!(tiers.resolve("unapproved"), None);
        assert_eq!(tiers.expected(), "'approved' or 'restricted'");
    }

    #[test]
    fn a_model_in_two_tiers_is_refused() {
        let err = ModelTiers::build(
            vec![tier("approved", &["gpt-4o"]), model("gpt-4o", "restricted")],
            None,
        )
        .unwrap_err();
        assert_eq!(
            err.to_string(),
            "invalid policy: model 'gpt-4o' is in tier 'approved' and in tier 'restricted': \
             expected one tier"
        );
        let same = ModelTiers::build(vec![tier("a", &["m", "m"]), model("m", "A")], None);
        assert_eq!(same.unwrap().iter().next().unwrap().1, ["m".to_string()]);
    }

    #[test]
    fn empty_names_are_refused() {
        let err = ModelTiers::build(vec![tier("", &["m"])], None).unwrap_err();
        assert_eq!(err.to_string(), "invalid policy: model_tiers has an empty tier name");
        let err = ModelTiers::build(vec![tier("a", &[""])], None).unwrap_err();
        assert_eq!(err.to_string(), "invalid policy: model_tiers has an empty model name");
        let err = ModelTiers::build(vec![], Some(String::new())).unwrap_err();
        assert_eq!(
            err.to_string(),
            "invalid policy: default_tier must be a tier name (a non-empty string), \
             found an empty string"
        );
    }
}
