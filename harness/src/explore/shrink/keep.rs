//! The steps no shrink pass may remove: those of the heal an invariant is checked at. I1 is
//! checked at the heal's checkpoints (`reconciled`: what recovery and the fresh login alone
//! reconciled; `final`: after `hagroup synchronize`); a shrunk scenario that lost the login
//! or the `synchronize` before its checkpoint would fail for another reason than the heal's
//! rule. The anchor is the checkpoint the shortest failing prefix ends at.

use std::collections::BTreeSet;

use super::super::plan::{AppCall, Plan, PlanStep};

/// The heal's checkpoint a failure is anchored at, if it is one.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Keep {
    checkpoint: Option<String>,
}

impl Keep {
    /// The anchor of a plan whose last step is where its invariant fails: that step, when it is
    /// a checkpoint.
    pub fn of(plan: &Plan) -> Keep {
        Keep {
            checkpoint: match plan.steps.last() {
                Some(PlanStep::Checkpoint(label)) => Some(label.clone()),
                _ => None,
            },
        }
    }

    /// Indices of `plan`'s steps to keep: the anchoring checkpoint (its last occurrence) and
    /// the heal step it checks: for `final` the last `hagroup synchronize` before it, for
    /// `reconciled` the last application login before it.
    pub fn protected(&self, plan: &Plan) -> BTreeSet<usize> {
        let mut out = BTreeSet::new();
        let Some(label) = &self.checkpoint else {
            return out;
        };
        let Some(at) = plan
            .steps
            .iter()
            .rposition(|s| matches!(s, PlanStep::Checkpoint(l) if l == label))
        else {
            return out;
        };
        out.insert(at);
        let checked = |step: &PlanStep| match label.as_str() {
            "final" => {
                matches!(step, PlanStep::Command(line) if line.starts_with("hagroup synchronize"))
            }
            "reconciled" => matches!(step, PlanStep::App(AppCall::Login)),
            _ => false,
        };
        if let Some(i) = plan.steps[..at].iter().rposition(checked) {
            out.insert(i);
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::explore::generate::generate;

    fn plan_with(steps: Vec<PlanStep>) -> Plan {
        let mut plan = generate(1);
        plan.steps = steps;
        plan
    }

    #[test]
    fn final_keeps_its_synchronize_and_reconciled_its_login() {
        let sync = PlanStep::Command("hagroup synchronize -group haGroup1".into());
        let plan = plan_with(vec![
            PlanStep::App(AppCall::Login),
            sync.clone(),
            PlanStep::App(AppCall::Login),
            PlanStep::Advance(61),
            PlanStep::Checkpoint("reconciled".into()),
            sync.clone(),
            PlanStep::Checkpoint("final".into()),
        ]);
        let keep = Keep::of(&plan);
        assert_eq!(keep.protected(&plan), BTreeSet::from([5, 6]));
        let mut reconciled = plan.clone();
        reconciled.steps.truncate(5);
        let keep = Keep::of(&reconciled);
        assert_eq!(keep.protected(&reconciled), BTreeSet::from([2, 4]));
    }

    #[test]
    fn a_failure_not_at_a_checkpoint_keeps_nothing() {
        let plan = plan_with(vec![
            PlanStep::Checkpoint("final".into()),
            PlanStep::App(AppCall::Login),
        ]);
        assert!(Keep::of(&plan).protected(&plan).is_empty());
    }
}
