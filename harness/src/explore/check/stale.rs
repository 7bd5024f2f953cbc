//! I1 and the application's own stale handles (D69, D20, PKCS#11): every handle dies with
//! `C_Finalize`, and the engine of the next `C_Initialize` numbers its handles afresh. An
//! application profile that, after reinitialising, re-finds a label, finds nothing and keeps the
//! handle it had (`runner::HANDLE_KEPT`) holds a number that may now name another object of the
//! new process. A `C_DestroyObject` through it that succeeds destroyed an unknown object: what
//! the application made is then not the engine's to keep, and I1 counts every label it created
//! (and the one it named) as uncertain.

use super::{Checker, OpObs};

impl Checker<'_> {
    /// Bookkeeping of the processes handles belong to, for one application call (`ok`: it
    /// returned `CKR_OK`).
    pub(super) fn handles_of_processes(&mut self, op: &OpObs, ok: bool) {
        match op {
            OpObs::Finalize => self.processes += 1,
            OpObs::Create { label, .. } => {
                self.born.insert(label.clone(), self.processes);
                self.stale.remove(label);
            }
            OpObs::Destroy { label } if ok && self.stale.contains(label) => {
                let labels: Vec<String> = self.created.keys().cloned().collect();
                self.uncertain.extend(labels);
                self.uncertain.insert(label.clone());
            }
            _ => {}
        }
    }

    /// A profile re-found `label`, found nothing and kept its handle: stale when the handle
    /// was made by an earlier process.
    pub(super) fn handle_kept(&mut self, label: &str) {
        if self.born.get(label).is_some_and(|p| *p < self.processes) {
            self.stale.insert(label.to_string());
        }
    }
}

#[cfg(test)]
mod tests {
    use super::super::super::observe::{Happening, Observations, OpObs};
    use super::super::Millis;
    use super::super::check;

    fn app(op: OpObs) -> Happening {
        super::super::tests::app(op, "CKR_OK", None)
    }

    fn create(label: &str) -> Happening {
        app(OpObs::Create {
            label: label.into(),
            token: true,
            pair: false,
        })
    }

    /// k1 and k2 made; a restart; the profile keeps k1's old handle (`kept`) and destroys it;
    /// at the end nobody holds k2 (the old number named it in the new process).
    fn run(kept: bool, restart: bool) -> Observations {
        let mut events: Vec<(Millis, Happening)> =
            vec![(0, app(OpObs::Login)), (1, create("k1")), (2, create("k2"))];
        if restart {
            events.push((3, app(OpObs::Finalize)));
            events.push((3, app(OpObs::Initialize)));
            events.push((3, app(OpObs::OpenSession)));
            events.push((3, app(OpObs::Login)));
        }
        if kept {
            events.push((4, Happening::HandleKept { label: "k1".into() }));
        }
        events.push((5, app(OpObs::Destroy { label: "k1".into() })));
        events.push((
            10,
            Happening::Checkpoint {
                label: "final".into(),
                objects: [
                    ("A", vec!["k1/SecretKey".to_string()]),
                    ("B", vec!["k1/SecretKey".to_string()]),
                ]
                .into_iter()
                .map(|(m, o)| (m.to_string(), o))
                .collect(),
                contents: std::collections::BTreeMap::new(),
            },
        ));
        super::super::tests::obs(events)
    }

    #[test]
    fn a_destroy_through_a_handle_kept_across_a_restart_makes_the_objects_uncertain() {
        assert_eq!(check(&run(true, true), &[], None), None);
        // A handle kept within one process still names its object: k2 lost, k1 held.
        let v = check(&run(true, false), &[], None).expect("a violation");
        assert_eq!(v.invariant, "I1");
        // No kept handle: the destroy named k1.
        let v = check(&run(false, true), &[], None).expect("a violation");
        assert_eq!(v.invariant, "I1");
    }
}
