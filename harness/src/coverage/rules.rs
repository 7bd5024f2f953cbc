//! Owns the rules file `harness/rules.ron`: the spec's behaviour rules (B1..B65) and decisions
//! (D1..D20), each with a one-line summary, the spec's confidence and whether scenarios are
//! meant to pin it. The file is embedded in the binary ([`EMBEDDED`]) so hasim stands alone.

use std::collections::BTreeSet;
use std::fmt;

use serde::Deserialize;

/// The text of `harness/rules.ron`, embedded at build time.
pub const EMBEDDED: &str = include_str!("../../rules.ron");

/// How firmly the spec states a rule.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Deserialize)]
pub enum Confidence {
    /// Stated plainly in vendor documentation.
    H,
    /// Stated in older documentation only, partly visible, or secondary material.
    M,
    /// An inference where the documentation is silent.
    L,
    /// One of hasim's own decisions (the spec's §6 D-rules).
    Decision,
}

impl fmt::Display for Confidence {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Confidence::H => "H",
            Confidence::M => "M",
            Confidence::L => "L",
            Confidence::Decision => "decision",
        })
    }
}

/// One rule of the spec as the rules file describes it.
#[derive(Clone, Debug, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Rule {
    /// The spec's id: `B<n>` or `D<n>`.
    pub id: String,
    /// One line in hasim's words.
    pub summary: String,
    /// The spec's confidence; `Decision` for the D-rules.
    pub confidence: Confidence,
    /// True when hasim's scenarios are meant to pin this rule.
    pub required: bool,
    /// Why a rule is not required; present exactly when `required` is false.
    #[serde(default)]
    pub why_not_required: Option<String>,
}

/// Why the rules text is not a valid rules file.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum RulesError {
    /// The text is not a RON list of rules.
    #[error("rules.ron:{line}:{col}: {message}")]
    Syntax {
        /// 1-based line of ron's error.
        line: usize,
        /// 1-based column of ron's error.
        col: usize,
        /// ron's message.
        message: String,
    },
    /// An id is not `B<n>` or `D<n>` with n >= 1.
    #[error("rules.ron: rule id {id:?} is not of the form B<n> or D<n>")]
    BadId {
        /// The id as written.
        id: String,
    },
    /// An id appears twice.
    #[error("rules.ron: rule {id} is listed twice")]
    Duplicate {
        /// The repeated id.
        id: String,
    },
    /// A rule's fields contradict each other.
    #[error("rules.ron: rule {id}: {message}")]
    Inconsistent {
        /// The rule.
        id: String,
        /// What is wrong.
        message: String,
    },
}

/// The rules in file order, validated.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RuleBook {
    rules: Vec<Rule>,
}

impl RuleBook {
    /// Parses and validates rules-file text: ids are `B<n>`/`D<n>` and unique, D-rules (and only
    /// they) have confidence `Decision`, and `why_not_required` is given exactly for rules that
    /// are not required.
    pub fn parse(text: &str) -> Result<RuleBook, RulesError> {
        let options = ron::Options::default()
            .with_default_extension(ron::extensions::Extensions::IMPLICIT_SOME);
        let rules: Vec<Rule> = options.from_str(text).map_err(|e| RulesError::Syntax {
            line: e.span.start.line,
            col: e.span.start.col,
            message: e.code.to_string(),
        })?;
        let mut seen = BTreeSet::new();
        for rule in &rules {
            let Some((kind, _)) = split_id(&rule.id) else {
                return Err(RulesError::BadId {
                    id: rule.id.clone(),
                });
            };
            if !seen.insert(rule.id.as_str()) {
                return Err(RulesError::Duplicate {
                    id: rule.id.clone(),
                });
            }
            let inconsistent = |message: &str| {
                Err(RulesError::Inconsistent {
                    id: rule.id.clone(),
                    message: message.to_string(),
                })
            };
            match (kind, rule.confidence) {
                ('D', Confidence::Decision)
                | ('B', Confidence::H | Confidence::M | Confidence::L) => {}
                ('D', _) => return inconsistent("a D-rule's confidence is Decision"),
                _ => return inconsistent("only D-rules have confidence Decision"),
            }
            if rule.summary.trim().is_empty() || rule.summary.contains('\n') {
                return inconsistent("the summary must be one non-empty line");
            }
            match (rule.required, rule.why_not_required.as_deref()) {
                (true, Some(_)) => {
                    return inconsistent("a required rule has no why_not_required");
                }
                (false, None) => return inconsistent("a rule that is not required says why"),
                (false, Some(why)) if why.trim().is_empty() || why.contains('\n') => {
                    return inconsistent("why_not_required must be one non-empty line");
                }
                _ => {}
            }
        }
        Ok(RuleBook { rules })
    }

    /// The rules file embedded in the binary.
    pub fn embedded() -> Result<RuleBook, RulesError> {
        RuleBook::parse(EMBEDDED)
    }

    /// Every rule, in file order.
    pub fn rules(&self) -> &[Rule] {
        &self.rules
    }

    /// The rule with this id.
    pub fn get(&self, id: &str) -> Option<&Rule> {
        self.rules.iter().find(|rule| rule.id == id)
    }
}

/// `"B17"` -> `('B', 17)`; `None` unless the id is `B` or `D` followed by a number >= 1 written
/// without leading zeros.
pub fn split_id(id: &str) -> Option<(char, u32)> {
    let mut chars = id.chars();
    let kind = chars.next().filter(|c| matches!(c, 'B' | 'D'))?;
    let digits = chars.as_str();
    if digits.starts_with('0') || !digits.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    let n: u32 = digits.parse().ok()?;
    (n >= 1).then_some((kind, n))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn embedded_ids_are_unique_and_complete() {
        let book = RuleBook::embedded().unwrap();
        let ids: Vec<&str> = book.rules().iter().map(|r| r.id.as_str()).collect();
        let unique: BTreeSet<&str> = ids.iter().copied().collect();
        assert_eq!(unique.len(), ids.len(), "duplicate ids");
        let expected: BTreeSet<String> = (1..=65)
            .map(|n| format!("B{n}"))
            .chain((1..=26).map(|n| format!("D{n}")))
            .chain((27..=32).map(|n| format!("D{n}")))
            .chain((35..=49).map(|n| format!("D{n}")))
            .chain((51..=51).map(|n| format!("D{n}")))
            .chain((54..=55).map(|n| format!("D{n}")))
            .chain((57..=59).map(|n| format!("D{n}")))
            .chain((60..=73).map(|n| format!("D{n}")))
            .chain((76..=83).map(|n| format!("D{n}")))
            .chain((85..=85).map(|n| format!("D{n}")))
            .chain((91..=91).map(|n| format!("D{n}")))
            .chain((94..=96).map(|n| format!("D{n}")))
            .chain((97..=97).map(|n| format!("D{n}")))
            .chain((98..=100).map(|n| format!("D{n}")))
            .chain((101..=102).map(|n| format!("D{n}")))
            .chain((103..=109).map(|n| format!("D{n}")))
            .chain((110..=110).map(|n| format!("D{n}")))
            .chain((111..=111).map(|n| format!("D{n}")))
            .chain((113..=113).map(|n| format!("D{n}")))
            .chain((115..=115).map(|n| format!("D{n}")))
            .collect();
        let actual: BTreeSet<String> = ids.iter().map(|s| s.to_string()).collect();
        assert_eq!(actual, expected);
        assert_eq!(ids.len(), 162);
    }

    #[test]
    fn embedded_file_is_in_spec_order() {
        let book = RuleBook::embedded().unwrap();
        let keys: Vec<(char, u32)> = book
            .rules()
            .iter()
            .map(|r| split_id(&r.id).unwrap())
            .collect();
        let mut sorted = keys.clone();
        sorted.sort();
        assert_eq!(keys, sorted);
    }

    #[test]
    fn the_named_documentation_rules_are_not_required() {
        let book = RuleBook::embedded().unwrap();
        for id in ["B1", "B7", "B26", "B40", "B47", "B50", "B57"] {
            let rule = book.get(id).unwrap();
            assert!(!rule.required, "{id}");
            assert!(rule.why_not_required.is_some(), "{id}");
        }
        for id in ["B2", "B18", "B29", "B43", "D9", "D19"] {
            assert!(book.get(id).unwrap().required, "{id}");
        }
    }

    #[test]
    fn d_rules_are_decisions() {
        let book = RuleBook::embedded().unwrap();
        for rule in book.rules() {
            assert_eq!(
                rule.confidence == Confidence::Decision,
                rule.id.starts_with('D'),
                "{}",
                rule.id
            );
        }
    }

    #[test]
    fn duplicates_and_bad_ids_are_refused() {
        let one = r#"(id: "B1", summary: "s", confidence: H, required: true)"#;
        let dup = format!("[{one}, {one}]");
        assert_eq!(
            RuleBook::parse(&dup),
            Err(RulesError::Duplicate { id: "B1".into() })
        );
        let bad = r#"[(id: "B01", summary: "s", confidence: H, required: true)]"#;
        assert_eq!(
            RuleBook::parse(bad),
            Err(RulesError::BadId { id: "B01".into() })
        );
    }

    #[test]
    fn why_not_required_must_match_required() {
        let missing = r#"[(id: "B7", summary: "s", confidence: H, required: false)]"#;
        assert!(matches!(
            RuleBook::parse(missing),
            Err(RulesError::Inconsistent { .. })
        ));
        let extra =
            r#"[(id: "B7", summary: "s", confidence: H, required: true, why_not_required: "x")]"#;
        assert!(matches!(
            RuleBook::parse(extra),
            Err(RulesError::Inconsistent { .. })
        ));
    }

    #[test]
    fn syntax_errors_carry_a_position() {
        let err = RuleBook::parse("[\n  (id: 5)]").unwrap_err();
        assert!(matches!(err, RulesError::Syntax { line: 2, .. }), "{err}");
        assert!(err.to_string().starts_with("rules.ron:2:"), "{err}");
    }
}
