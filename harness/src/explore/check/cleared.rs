//! I2 and the handles a LunaCM `partition clear` killed (D85; D7, D8, D22, D67, D81).
//!
//! A `partition clear -force` on the group's virtual slot while the application runs reports
//! what it cleared to the running engine (`HaEngine::forget_cleared_objects`): the engine
//! forgets every token object of its table, so the application's handles to them name nothing
//! any more, and a member that could not be cleared loses them when it is compared again. A
//! LunaCM `hagroup synchronize` meanwhile (a process of its own that copies by union, D8, D22)
//! may copy such an object back from that member to every member (as D67 for a deletion): the
//! copies are the operator's, and the table's word stands (D81: a find does not take the object
//! back). A call through a handle made before the clear then answers
//! `CKR_OBJECT_HANDLE_INVALID` while members hold an object of that label: the application's
//! own state (its object was cleared), not a member the engine failed to use (seed 29140).
//! A handle made since (a creation of the label, or a profile's re-find that found it) is
//! alive again.

use std::collections::BTreeSet;

/// The labels whose handle the application holds from before a clear.
#[derive(Clone, Debug, Default)]
pub(super) struct ClearedHandles {
    dead: BTreeSet<String>,
    /// The label the last call re-found (`C_FindObjects` answered `CKR_OK`), and whether its
    /// handle was dead before: the find renewed it unless the profile says it found nothing.
    refound: Option<(String, bool)>,
}

impl ClearedHandles {
    /// A `partition clear` succeeded: the handles of `labels` (the token objects the
    /// application made and holds) are dead.
    pub(super) fn cleared(&mut self, labels: impl IntoIterator<Item = String>) {
        self.dead.extend(labels);
    }

    /// An application call: a creation makes a new handle (or none), a find that succeeded
    /// may renew one.
    pub(super) fn call(&mut self, op: &super::OpObs, ok: bool) {
        self.refound = None;
        match op {
            super::OpObs::Create { label, .. } => {
                self.dead.remove(label);
            }
            super::OpObs::Find { label } if ok => {
                let was_dead = self.dead.remove(label);
                self.refound = Some((label.clone(), was_dead));
            }
            _ => {}
        }
    }

    /// The profile's re-find of `label` found nothing and kept the old handle.
    pub(super) fn kept(&mut self, label: &str) {
        if let Some((found, true)) = self.refound.take()
            && found == label
        {
            self.dead.insert(found);
        }
    }

    /// Whether the application's handle for `label` was killed by a clear.
    pub(super) fn dead(&self, label: &str) -> bool {
        self.dead.contains(label)
    }
}

#[cfg(test)]
mod tests {
    use super::super::super::observe::{Happening, Millis, Observations, OpObs};
    use super::super::check;
    use super::super::tests::{app, create_k1, login, obs};

    fn command(line: &str, output: &str) -> Happening {
        Happening::Command {
            line: line.into(),
            output: format!("{output}\nCommand Result : No Error"),
        }
    }

    fn destroy_k1() -> Happening {
        app(
            OpObs::Destroy { label: "k1".into() },
            "CKR_OBJECT_HANDLE_INVALID",
            Some(&["A", "B"]),
        )
    }

    /// k1 made on A and B; `cleared`: LunaCM clears the group, B cannot be cleared, and a
    /// synchronize copies k1 back to A; then `tail`, then the application destroys k1 through
    /// its handle and gets `CKR_OBJECT_HANDLE_INVALID` while A and B hold k1.
    fn run(cleared: bool, tail: Vec<Happening>) -> Observations {
        let mut events: Vec<(Millis, Happening)> = vec![
            (0, app(OpObs::OpenSession, "CKR_OK", None)),
            (0, login()),
            (1, create_k1()),
        ];
        if cleared {
            events.push((2, command("slot set -slot 3", "")));
            events.push((
                2,
                command(
                    "partition clear -force",
                    "Member A:  1 token objects destroyed\nMember B:  not cleared (CKR_DEVICE_ERROR)",
                ),
            ));
            events.push((
                3,
                command(
                    "hagroup synchronize -group g",
                    "Member A: 1 token objects cloned to it.",
                ),
            ));
        }
        events.extend(tail.into_iter().map(|h| (4, h)));
        events.push((5, destroy_k1()));
        obs(events)
    }

    fn find_k1() -> Happening {
        app(OpObs::Find { label: "k1".into() }, "CKR_OK", None)
    }

    #[test]
    fn a_handle_from_before_a_clear_names_nothing() {
        // Seed 29140 (D85): the operator cleared k1; synchronize's copies are the operator's.
        assert_eq!(check(&run(true, vec![]), &[], None), None);
        // A re-find that found nothing keeps the dead handle.
        let kept = vec![find_k1(), Happening::HandleKept { label: "k1".into() }];
        assert_eq!(check(&run(true, kept), &[], None), None);
    }

    #[test]
    fn a_live_handle_or_one_a_find_renewed_is_the_engines_to_serve() {
        // No clear: A and B hold k1, the destroy's failure is the engine's.
        assert_eq!(
            check(&run(false, vec![]), &[], None).map(|v| v.invariant),
            Some("I2")
        );
        // A re-find that found k1 gave the application a new handle.
        assert_eq!(
            check(&run(true, vec![find_k1()]), &[], None).map(|v| v.invariant),
            Some("I2")
        );
    }
}
