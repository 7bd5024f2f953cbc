//! **I10**, an object changed outside the group stays changed (B22, D64, D79): the group
//! surfaces the divergence, it never resolves it. From a `DirectChange` on, every copy of the
//! object (the changed one and the others, each with its content as a fingerprint read below
//! the injectors) keeps its content at every later checkpoint, and a copy that appears later
//! carries a content some copy held (a copy the engine made from the changed one carries the
//! change; one made from another copy carries that one's). Nothing in the group may silently
//! overwrite a copy that exists, nor make up a content no copy had.
//!
//! A copy may go where the application's or the operator's hand removed it: the application
//! destroyed the object (or its fate is uncertain, as I1 counts it), a partition was cleared
//! (`partition clear`, `addmember -answer remove`, B12), or the object is the orphan of a
//! creation cut short (D37, D18), which the engine destroys by rule. Those labels, or that
//! partition's copies, are no longer followed. Objects never changed outside the group are
//! not followed at all (all their copies are equal by construction).

use std::collections::{BTreeMap, BTreeSet};

use super::{Checker, Millis, Violation, violation};

/// What I10 follows: per changed label, each partition's copies (fingerprints, one per copy)
/// that must keep their content, and every content a copy has held since the change.
#[derive(Debug, Default)]
pub(super) struct Contents {
    /// label → partition → fingerprints it must still hold (a multiset, sorted).
    kept: BTreeMap<String, BTreeMap<String, Vec<String>>>,
    /// label → every fingerprint a copy held at or after a change.
    known: BTreeMap<String, BTreeSet<String>>,
    /// Labels not followed: at risk of being an orphan the engine destroys by rule.
    exempt: BTreeSet<String>,
}

impl Contents {
    /// A `DirectChange` of `label` was made; `copies` are every copy right after it.
    fn changed(&mut self, label: &str, copies: &[(String, String)], orphan_risk: bool) {
        if orphan_risk {
            self.exempt.insert(label.to_string());
        }
        if self.exempt.contains(label) {
            self.kept.remove(label);
            return;
        }
        let mut kept: BTreeMap<String, Vec<String>> = BTreeMap::new();
        for (partition, fp) in copies {
            kept.entry(partition.clone()).or_default().push(fp.clone());
            self.known
                .entry(label.to_string())
                .or_default()
                .insert(fp.clone());
        }
        for fps in kept.values_mut() {
            fps.sort();
        }
        self.kept.insert(label.to_string(), kept);
    }

    /// A partition's objects were deleted by the operator: its copies are no longer followed.
    pub(super) fn cleared(&mut self, partition: &str) {
        for kept in self.kept.values_mut() {
            kept.remove(partition);
        }
    }
}

/// `need` ⊆ `have`, both sorted multisets.
fn included(need: &[String], have: &[String]) -> bool {
    let mut have: Vec<&String> = have.iter().collect();
    need.iter()
        .all(|n| match have.iter().position(|h| *h == n) {
            Some(i) => {
                have.remove(i);
                true
            }
            None => false,
        })
}

impl Checker<'_> {
    /// A `DirectChange` was made on `member` (D64).
    pub(super) fn direct_changed(&mut self, label: &str, copies: &[(String, String)]) {
        let orphan_risk = self.orphan_labels.contains(label);
        self.contents.changed(label, copies, orphan_risk);
    }

    /// I10 at a checkpoint: `contents` is each partition's token data objects as `(label,
    /// fingerprint)`.
    pub(super) fn contents_kept(
        &mut self,
        at: Millis,
        checkpoint: &str,
        contents: &BTreeMap<String, Vec<(String, String)>>,
    ) -> Option<Violation> {
        let followed: Vec<String> = self
            .contents
            .kept
            .keys()
            .filter(|l| {
                !self.uncertain.contains(*l)
                    && !self.destroyed.contains(*l)
                    && !self.orphan_labels.contains(*l)
                    && !self.contents.exempt.contains(*l)
            })
            .cloned()
            .collect();
        for label in followed {
            let held = |partition: &str| -> Vec<String> {
                contents
                    .get(partition)
                    .into_iter()
                    .flatten()
                    .filter(|(l, _)| *l == label)
                    .map(|(_, fp)| fp.clone())
                    .collect()
            };
            let kept = self.contents.kept.get(&label).cloned().unwrap_or_default();
            for (partition, need) in &kept {
                let have = held(partition);
                if !included(need, &have) {
                    return Some(violation(
                        "I10",
                        format!(
                            "at checkpoint {checkpoint:?} ({at} ms) partition {partition} holds {label} as [{}] where its copy [{}] was kept since the object was changed outside the group: a copy was overwritten or lost (B22, D64: the divergence is surfaced, never resolved)",
                            have.join(", "),
                            need.join(", ")
                        ),
                    ));
                }
            }
            let known = self.contents.known.get(&label).cloned().unwrap_or_default();
            for (partition, objects) in contents {
                let have: Vec<String> = objects
                    .iter()
                    .filter(|(l, _)| *l == label)
                    .map(|(_, fp)| fp.clone())
                    .collect();
                if let Some(fp) = have.iter().find(|fp| !known.contains(*fp)) {
                    return Some(violation(
                        "I10",
                        format!(
                            "at checkpoint {checkpoint:?} ({at} ms) partition {partition} holds {label} with a content ({fp}) no copy held since the object was changed outside the group (B22, D64)"
                        ),
                    ));
                }
                // A copy that appeared since (recovery, `synchronize`) is followed from now on.
                if !have.is_empty() && !kept.contains_key(partition) {
                    let mut have = have;
                    have.sort();
                    if let Some(k) = self.contents.kept.get_mut(&label) {
                        k.insert(partition.clone(), have);
                    }
                }
            }
        }
        None
    }
}

#[cfg(test)]
mod tests {
    use super::included;

    #[test]
    fn inclusion_counts_copies() {
        let s = |v: &[&str]| v.iter().map(|x| x.to_string()).collect::<Vec<_>>();
        assert!(included(&s(&["a"]), &s(&["a", "b"])));
        assert!(included(&s(&[]), &s(&[])));
        assert!(!included(&s(&["a", "a"]), &s(&["a", "b"])));
        assert!(!included(&s(&["c"]), &s(&["a", "b"])));
    }
}
