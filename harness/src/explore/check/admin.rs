//! The invariants of generator v5's additions, on the [`Checker`]'s state:
//!
//! - **I8** the application's slot list (`C_GetSlotList`, D14, B34, B56, B57): every declared
//!   partition's physical slot, in discovery order and numbered from 0, except a group member
//!   the HA log has taken out of service (dropped, deactivated, unreachable) and not brought
//!   back; a partition outside the group (a spare, a removed member) is listed, since it
//!   answers; then the virtual slot. With `HAOnly` the virtual slot alone, at 0 (B57, B58).
//! - **I9** LunaCM acts with its own login (D22, B61, B9): `partition login` and `hagroup
//!   synchronize` do not succeed while a reachable partition they log in to has a Crypto
//!   Officer credential other than LunaCM's (the credential changed, `LoginFailure`).
//! - **I1, before `synchronize`**: at the heal's `reconciled` checkpoint (faults undone,
//!   `hagroup recover`, a fresh login, one more interval; before the heal's `synchronize`,
//!   which would copy everything everywhere and hide a gap), every usable member holds every
//!   token object this process created and did not destroy (B19, B20, B43, B54, D7). Skipped
//!   with `HASynchronize` off (D21: no reintroduction) and after a `partition clear`.

use std::collections::BTreeMap;

use super::{Checker, Millis, Violation, violation};

/// The success footer of a LunaCM command.
pub(super) const NO_ERROR: &str = "Command Result : No Error";

impl Checker<'_> {
    /// I8 for one `C_GetSlotList`.
    pub(super) fn slot_list(&self, at: Millis, listed: &[String]) -> Option<Violation> {
        let mut expected: Vec<(String, String)> = Vec::new();
        if !self.obs.settings.ha_only {
            let group = self.truth.group();
            for serial in self.obs.members.iter().chain(self.spares.iter()) {
                let out = group.contains(serial)
                    && matches!(
                        self.claims.get(serial),
                        Some(super::Claimed::Down { .. } | super::Claimed::Stopped)
                    );
                if !out {
                    expected.push(("Luna User Slot".into(), serial.clone()));
                }
            }
        }
        expected.push((
            "HA Virtual Card Slot".into(),
            super::super::plan::GROUP.into(),
        ));
        let seen: Vec<(String, String, String)> = listed
            .iter()
            .map(|line| {
                let parts: Vec<&str> = line.split("  ").collect();
                let field = |i: usize| parts.get(i).map(|s| s.to_string()).unwrap_or_default();
                // `slot N  description  label  serial`: a physical slot is named by its
                // serial, the virtual one by its label (its serial follows the founding
                // member, D13).
                let name = if field(1) == "HA Virtual Card Slot" {
                    field(2)
                } else {
                    field(3)
                };
                (field(0), field(1), name)
            })
            .collect();
        let wanted: Vec<(String, String, String)> = expected
            .into_iter()
            .enumerate()
            .map(|(i, (d, n))| (format!("slot {i}"), d, n))
            .collect();
        if seen == wanted {
            return None;
        }
        let show = |v: &[(String, String, String)]| {
            v.iter()
                .map(|(s, _, n)| format!("{s} {n}"))
                .collect::<Vec<_>>()
                .join(", ")
        };
        Some(violation(
            "I8",
            format!(
                "C_GetSlotList at {at} ms listed [{}] where [{}] was due",
                show(&seen),
                show(&wanted)
            ),
        ))
    }

    /// D37 with a `partition clear` (D67: the operator decides the fate of what a member
    /// holds): an orphan on a member the clear emptied (its `Member S:  N token objects
    /// destroyed` line) is gone before the engine could find it, so there is nothing left to
    /// report; the engine drops the tombstone as for a member that never held it.
    fn orphans_cleared(&mut self, output: &str) {
        let cleared: Vec<&str> = output
            .lines()
            .filter_map(|l| {
                let rest = l.trim().strip_prefix("Member ")?;
                let (serial, tail) = rest.split_once(':')?;
                tail.trim_end()
                    .ends_with(" token objects destroyed")
                    .then_some(serial.trim())
            })
            .collect();
        self.orphans
            .retain(|(_, member)| !cleared.contains(&member.as_str()));
    }

    /// I9 for one LunaCM command (and what a successful `partition clear` means for I1).
    pub(super) fn lunacm_data(
        &mut self,
        at: Millis,
        line: &str,
        output: &str,
    ) -> Option<Violation> {
        if !output.contains(NO_ERROR) {
            return None;
        }
        let words: Vec<&str> = line.split_whitespace().collect();
        // A member LunaCM found unreachable (a busy one answers `CKR_FUNCTION_FAILED` to its
        // probe) was skipped, not logged in to.
        let refused_by = |c: &Checker<'_>, serials: &[String]| -> Option<String> {
            serials
                .iter()
                .find(|s| {
                    c.truth.reachable(s)
                        && !c.truth.credential_ok(s)
                        && !output.contains(&format!("Member {s} is not reachable"))
                        && !c.fault_fired_at(s, at)
                })
                .cloned()
        };
        let target: Option<Vec<String>> = match (words.first(), words.get(1)) {
            (Some(&"partition"), Some(&"login")) => {
                let group = output.contains("the HA virtual slot of group");
                if group {
                    Some(self.truth.group())
                } else {
                    output
                        .split("logged in to partition ")
                        .nth(1)
                        .and_then(|r| r.split('.').next())
                        .map(|s| vec![s.trim().to_string()])
                }
            }
            (Some(&"hagroup"), Some(&"synchronize")) => Some(self.truth.group()),
            (Some(&"partition"), Some(&"clear")) => {
                // Every reachable member was cleared: what the application made is gone
                // (or not, for a member that could not be cleared).
                let labels: Vec<String> = self
                    .created
                    .keys()
                    .chain(self.direct.keys())
                    .cloned()
                    .collect();
                self.uncertain.extend(labels);
                self.cleared = true;
                self.orphans_cleared(output);
                // D85: the engine forgot them; the application's handles name nothing.
                let held: Vec<String> = self.created.keys().cloned().collect();
                self.cleared_handles.cleared(held);
                None
            }
            _ => None,
        };
        let member = refused_by(self, &target?)?;
        Some(violation(
            "I9",
            format!(
                "`{line}` succeeded at {at} ms although partition {member} no longer accepts LunaCM's Crypto Officer credential (LunaCM must log in for itself, D22)"
            ),
        ))
    }

    /// A partition added back with LunaCM's populated-partition answer (B12): `remove` deleted
    /// what it held (where it was the only holder, the object is gone by the operator's hand);
    /// `copy` brings what it held into the group (D8: a union; objects the application destroyed
    /// while it was out come back). Either way those objects' fate is the operator's, not the
    /// engine's: I1 does not count them.
    pub(super) fn populated_answer(&mut self, line: &str, output: &str) {
        if !line.starts_with("hagroup addmember") || !output.contains(NO_ERROR) {
            return;
        }
        if line.ends_with("-answer remove") && output.contains("token objects deleted") {
            let labels: Vec<String> = self.created.keys().cloned().collect();
            self.uncertain.extend(labels);
        } else if line.ends_with("-answer copy") && output.contains("already holds") {
            let labels: Vec<String> = self.destroyed.iter().cloned().collect();
            self.uncertain.extend(labels);
        } else {
            return;
        }
        // The operator's answer decided the fate of what the partition held (B12, D57): an
        // orphan of a creation cut short there (D37, D18) was deleted with it, or copied into
        // the group as the partition's own object; it is no longer the engine's to report, and
        // a copy may hold its label twice.
        let Some(serial) = line
            .split_whitespace()
            .skip_while(|w| *w != "-serialnumber")
            .nth(1)
        else {
            return;
        };
        self.orphans.retain(|(_, member)| member != serial);
        let copied = line.ends_with("-answer copy");
        let mut spread = Vec::new();
        for (label, members) in &mut self.orphan_risk {
            if members.remove(serial) && copied {
                spread.push(label.clone());
            }
        }
        self.orphan_risk.retain(|_, members| !members.is_empty());
        self.uncertain.extend(spread);
    }

    /// A fault on `member` struck at `at`: an armed one set off by this very command's calls
    /// (recorded after the command), e.g. a `LostAnswer` on LunaCM's login, which LunaCM takes
    /// as a member that does not answer.
    fn fault_fired_at(&self, member: &str, at: Millis) -> bool {
        self.obs.events.iter().any(|(t, h)| {
            *t == at && matches!(h, super::Happening::Fault { member: m, .. } if m == member)
        })
    }

    /// I1 at the `reconciled` checkpoint (see the module doc).
    pub(super) fn reconciled(
        &self,
        at: Millis,
        objects: &BTreeMap<String, Vec<String>>,
    ) -> Option<Violation> {
        if !self.obs.settings.synchronize || self.cleared {
            return None;
        }
        let usable = self.truth.usable_members(at);
        let index = Held::of(objects);
        let count = |member: &str, label: &str| index.count(member, label);
        for (label, pair) in &self.created {
            if self.uncertain.contains(label) || !self.created_here.contains(label) {
                continue;
            }
            let expected = if *pair { 2 } else { 1 };
            // A gap is due only where a usable member holds the object to copy from (B19).
            let Some(holder) = usable.iter().find(|m| count(m, label) >= expected) else {
                continue;
            };
            if let Some(member) = usable.iter().find(|m| count(m, label) < expected) {
                let mut v = violation(
                    "I1",
                    format!(
                        "at the heal, before synchronize, usable member {member} lacks {label} while usable member {holder} holds it (recovery and the login reconciled nothing)"
                    ),
                );
                v.expect = vec![self.reconciled_counts(&usable, objects)];
                return Some(v);
            }
        }
        None
    }

    /// What I1 requires at `reconciled`, for a regression file: each usable member's objects
    /// plus every certain object this process created that a usable member holds and it lacks.
    fn reconciled_counts(
        &self,
        usable: &[String],
        objects: &BTreeMap<String, Vec<String>>,
    ) -> String {
        let index = Held::of(objects);
        let count = |member: &str, label: &str| index.count(member, label);
        let counts: Vec<String> = usable
            .iter()
            .map(|member| {
                let have = objects.get(member).map_or(0, Vec::len);
                let missing: usize = self
                    .created
                    .iter()
                    .filter(|(label, _)| {
                        !self.uncertain.contains(*label) && self.created_here.contains(*label)
                    })
                    .map(|(label, pair)| {
                        let expected = if *pair { 2 } else { 1 };
                        let held = usable.iter().any(|m| count(m, label) >= expected);
                        if held {
                            expected.saturating_sub(count(member, label))
                        } else {
                            0
                        }
                    })
                    .sum();
                format!("{member}: {}", have + missing)
            })
            .collect();
        format!("ObjectCountsAt(\"reconciled\", {{{}}})", counts.join(", "))
    }
}

/// How many of each member's objects at a checkpoint carry each label (a key pair's halves
/// count two), counted once per checkpoint.
struct Held<'a>(BTreeMap<&'a str, BTreeMap<&'a str, usize>>);

impl<'a> Held<'a> {
    fn of(objects: &'a BTreeMap<String, Vec<String>>) -> Held<'a> {
        Held(
            objects
                .iter()
                .map(|(member, held)| {
                    let mut by_label: BTreeMap<&str, usize> = BTreeMap::new();
                    for o in held {
                        let label = o.split('/').next().unwrap_or(o);
                        *by_label.entry(label).or_default() += 1;
                    }
                    (member.as_str(), by_label)
                })
                .collect(),
        )
    }

    /// How many of `member`'s objects carry `label`.
    fn count(&self, member: &str, label: &str) -> usize {
        self.0
            .get(member)
            .and_then(|by_label| by_label.get(label))
            .copied()
            .unwrap_or(0)
    }
}
