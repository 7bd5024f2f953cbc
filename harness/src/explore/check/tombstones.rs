//! I1's view of the deletions a member missed (D67; D7, D8, D22, D48 and the "synchronize never
//! deletes" decision): a token object the application destroyed while a member of the group was
//! away (not usable) or busy is still held there until the engine compares that member with
//! its table, which destroys it (the tombstone is this process's, D20). LunaCM's `hagroup
//! synchronize` is its own process (D22): it knows no tombstone and copies by union, never
//! deleting (D8). A synchronize that runs while such a member is reachable and not yet compared
//! may therefore copy the destroyed object back to every member, where no later comparison
//! removes it from the members that had applied the deletion (recovery compares the member that
//! rejoins, not the others): the label's fate is then not the application's, and I1 counts it
//! as uncertain.
//!
//! When a member counts as compared: an away member once the truth counts it usable (it is
//! back and the application logged in since, so the engine must have compared it); a busy
//! member (D48, it stays in service holding the object) at the application's next login while
//! it is usable and no longer busy.

use std::collections::BTreeMap;

use super::{Checker, Millis};

/// Why a member may still hold a destroyed object.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) enum Missed {
    /// Away (dropped, deactivated, unreachable, ...) when the object was destroyed.
    Away,
    /// In service but busy: it refused the deletion with a code that drops nothing (D48).
    Busy,
}

/// Members → the destroyed labels each may still hold, and why. Keyed by member (a group has
/// few) so that a step whose members are all still uncompared costs one look per member, not
/// one per destroyed label.
pub(super) type TombstoneRisk = BTreeMap<String, BTreeMap<String, Missed>>;

impl Checker<'_> {
    /// The application destroyed `label` at `at` (`CKR_OK`): the members of the group that
    /// could not apply the deletion then keep the object until compared.
    pub(super) fn deletion_missed(&mut self, label: &str, at: Millis) {
        let missed: BTreeMap<String, Missed> = self
            .truth
            .group()
            .into_iter()
            .filter_map(|m| {
                // A busy member the log counts in service refused the deletion and stays in
                // service (D48), whatever the truth says of its usability (an outage over
                // before the engine's next call, a recovery not yet due): no rejoin compares
                // it, only what D48 names.
                let in_service = matches!(self.claims.get(&m), Some(super::Claimed::Back));
                if in_service && self.truth.busy(&m, at) {
                    Some((m, Missed::Busy))
                } else if !self.truth.usable(&m, at) {
                    Some((m, Missed::Away))
                } else if self.truth.busy(&m, at) {
                    Some((m, Missed::Busy))
                } else {
                    None
                }
            })
            .collect();
        // A label destroyed again: its new risk replaces the old one.
        for labels in self.tombstone_risk.values_mut() {
            labels.remove(label);
        }
        for (member, why) in missed {
            self.tombstone_risk
                .entry(member)
                .or_default()
                .insert(label.to_string(), why);
        }
        self.tombstone_risk.retain(|_, labels| !labels.is_empty());
    }

    /// Members that must have been compared with the engine's table by `at` leave the risk
    /// (`login`: the application has just logged in, which compares busy members too).
    pub(super) fn tombstones_compared(&mut self, at: Millis, login: bool) {
        if self.tombstone_risk.is_empty() {
            return;
        }
        let truth = &self.truth;
        for (m, labels) in self.tombstone_risk.iter_mut() {
            // Each member's usability at `at` is computed once, for all its labels.
            if !truth.usable(m, at) {
                continue;
            }
            let busy_compared = login && !truth.busy(m, at);
            labels.retain(|_, why| match why {
                Missed::Away => false,
                Missed::Busy => !busy_compared,
            });
        }
        self.tombstone_risk.retain(|_, labels| !labels.is_empty());
    }

    /// A successful `hagroup synchronize` at `at`: a destroyed object still held by a reachable
    /// member that was not compared since may have been copied back everywhere (D8, D22).
    pub(super) fn synchronize_resurrects(&mut self, line: &str, output: &str) {
        let sync = line
            .split_whitespace()
            .take(2)
            .eq(["hagroup", "synchronize"]);
        let enable_only = line.contains("-enable") || line.contains("-disable");
        // Copies already made are kept when others fail (D8): a synchronize that reports an
        // error but cloned anything may have copied the object back too (seed 68972).
        let copied = output.contains(super::admin::NO_ERROR) || super::cloned_any(output);
        if !sync || enable_only || !copied {
            return;
        }
        let group = self.truth.group();
        let back: Vec<String> = self
            .tombstone_risk
            .iter()
            .filter(|(m, _)| group.contains(m) && self.truth.reachable(m))
            .flat_map(|(_, labels)| labels.keys().cloned())
            .collect();
        self.uncertain.extend(back);
    }
}

#[cfg(test)]
mod tests {
    use super::super::super::observe::{FaultObs, Happening, Observations, OpObs};
    use super::super::check;
    use super::Millis;

    fn obs(events: Vec<(Millis, Happening)>) -> Observations {
        super::super::tests::obs_retry(-1, events)
    }

    fn app(op: OpObs) -> Happening {
        super::super::tests::app(op, "CKR_OK", None)
    }

    fn fault(member: &str, fault: FaultObs) -> Happening {
        Happening::Fault {
            member: member.into(),
            fault,
        }
    }

    fn synchronize() -> Happening {
        synchronize_answering("Command Result : No Error")
    }

    fn synchronize_answering(output: &str) -> Happening {
        Happening::Command {
            line: "hagroup synchronize -group g".into(),
            output: output.into(),
        }
    }

    /// k1 made on A and B, B dropped, k1 destroyed (B misses the deletion), B restored at
    /// 20 s; `synchronize` at `sync_at` (if any); both members hold k1 at the end.
    fn run(restore: bool, sync_at: Option<Millis>) -> Observations {
        run_with(restore, sync_at.map(|at| (at, synchronize())))
    }

    fn run_with(restore: bool, sync: Option<(Millis, Happening)>) -> Observations {
        let prefix = "Wed Oct  4 16:29:21 2017 : [1] HA group: 1A ";
        let mut events = vec![
            (0, app(OpObs::Login)),
            (
                1,
                app(OpObs::Create {
                    label: "k1".into(),
                    token: true,
                    pair: false,
                }),
            ),
            (5, fault("B", FaultObs::Drop)),
            (
                10,
                Happening::Failed {
                    member: "B".into(),
                    call: "DestroyObject".into(),
                    code: "CKR_DEVICE_ERROR".into(),
                    called_at: 10,
                },
            ),
            (10, Happening::Log(format!("{prefix}has dropped member: B"))),
            (10, app(OpObs::Destroy { label: "k1".into() })),
        ];
        if restore {
            events.push((20_000, fault("B", FaultObs::Restore)));
        }
        if let Some(sync) = sync {
            events.push(sync);
        }
        events.push((
            300_000,
            Happening::Checkpoint {
                label: "final".into(),
                objects: [("A", "k1/SecretKey"), ("B", "k1/SecretKey")]
                    .into_iter()
                    .map(|(m, o)| (m.to_string(), vec![o.to_string()]))
                    .collect(),
                contents: std::collections::BTreeMap::new(),
            },
        ));
        obs(events)
    }

    fn verdict(o: &Observations) -> Option<String> {
        check(o, &[], None).map(|v| format!("{} {}", v.invariant, v.detail))
    }

    #[test]
    fn a_synchronize_before_the_member_that_missed_a_deletion_is_compared_may_bring_it_back() {
        // D8, D22: LunaCM copies by union from B, which still holds k1: k1 is uncertain.
        assert_eq!(verdict(&run(true, Some(30_000))), None);
        // No synchronize: B's comparison destroys k1; holding it is the engine's fault.
        let v = verdict(&run(true, None)).expect("a violation");
        assert!(
            v.contains("held although the application destroyed it"),
            "{v}"
        );
        // B unreachable at the synchronize: nothing to copy k1 from.
        let v = verdict(&run(false, Some(30_000))).expect("a violation");
        assert!(v.contains("I1"), "{v}");
        // B back and compared (usable one interval after the restore) before the synchronize:
        // the deletion was applied there, nothing left to copy.
        let v = verdict(&run(true, Some(200_000))).expect("a violation");
        assert!(
            v.contains("held although the application destroyed it"),
            "{v}"
        );
    }

    #[test]
    fn a_synchronize_that_failed_after_cloning_may_have_brought_it_back_too() {
        // D8: copies made are kept when others fail; B still held k1 and answered LunaCM.
        let failed = |cloned: u32| {
            synchronize_answering(&format!(
                "        Member A: {cloned} token objects cloned to it.\n\
                 Error: hagroup synchronize: 1 object copies could not be made\n\n\
                 Command Result : Operation Failed"
            ))
        };
        assert_eq!(verdict(&run_with(true, Some((30_000, failed(1))))), None);
        // It cloned nothing: k1 cannot have come back through it.
        let v = verdict(&run_with(true, Some((30_000, failed(0))))).expect("a violation");
        assert!(
            v.contains("held although the application destroyed it"),
            "{v}"
        );
    }

    /// B dropped (found at 10 s), restored at 20 s and back at 70 s (attempt 1, D9), before the
    /// truth can count it usable (81 s); busy from then, it refuses the deletion of k1 (D48)
    /// and stays in service; the application logs in at `login_at` (if any); `synchronize` at
    /// 150 s; both members hold k1 at the end. (The truth counts B usable from one interval
    /// after its busy spell, 136 s: an attempt may have found it busy, D43, D9.)
    fn busy_in_service(login_at: Option<Millis>) -> Observations {
        let prefix = "Wed Oct  4 16:29:21 2017 : [1] HA group: 1A ";
        let create = OpObs::Create {
            label: "k1".into(),
            token: true,
            pair: false,
        };
        let mut events = vec![
            (0, app(OpObs::Login)),
            (1, app(create)),
            (5_000, fault("B", FaultObs::Drop)),
            (
                10_000,
                Happening::Failed {
                    member: "B".into(),
                    call: "Sign".into(),
                    code: "CKR_DEVICE_ERROR".into(),
                    called_at: 10_000,
                },
            ),
            (
                10_000,
                Happening::Log(format!("{prefix}has dropped member: B")),
            ),
            (20_000, fault("B", FaultObs::Restore)),
            (
                70_000,
                Happening::Log(format!(
                    "{prefix}recovery attempt 1 succeeded for member: B"
                )),
            ),
            (70_000, fault("B", FaultObs::Busy(5_000))),
            (70_000, app(OpObs::Destroy { label: "k1".into() })),
        ];
        if let Some(at) = login_at {
            events.push((at, app(OpObs::Login)));
        }
        events.push((150_000, synchronize()));
        events.push((
            300_000,
            Happening::Checkpoint {
                label: "final".into(),
                objects: [("A", "k1/SecretKey"), ("B", "k1/SecretKey")]
                    .into_iter()
                    .map(|(m, o)| (m.to_string(), vec![o.to_string()]))
                    .collect(),
                contents: std::collections::BTreeMap::new(),
            },
        ));
        obs(events)
    }

    #[test]
    fn a_busy_member_in_service_is_compared_at_the_next_login_not_when_usable() {
        // Seed 79673: no login since the refusal, so no comparison (D48): the synchronize
        // may copy k1 back from B (D67).
        assert_eq!(verdict(&busy_in_service(None)), None);
        // A login once B is usable and no longer busy compares it: k1 is destroyed there
        // before the synchronize, so holding it is the engine's fault.
        let v = verdict(&busy_in_service(Some(140_000))).expect("a violation");
        assert!(
            v.contains("held although the application destroyed it"),
            "{v}"
        );
    }
}
