//! Auto-recovery (B39, B43, B44, D9): per down member, an attempt one interval after the drop
//! and one interval after each failed attempt, until it succeeds, the retry count is exhausted
//! (logged once, then only manual recovery remains) or auto-recovery is off (retry 0).
//!
//! An attempt: probe the member, drop what is left of the old connection, open a session and log
//! in with the credential held for the group, apply the deletions it missed, clone back the token
//! objects it missed (`reintroducing N token objects`), rejoin (`HALOG_RECOVERED`).

use std::collections::BTreeSet;

use crate::ckr::Ckr;
use crate::engine::HaEngine;
use crate::log::HaLogMessage;
use crate::ports::{Millis, ObjectClass, ObjectId, ObjectQuery};
use crate::replication::CloneError;
use crate::state::{Down, Liveness};

impl HaEngine {
    /// The earliest instant at which `on_timer` has work, if any.
    pub fn next_deadline(&self) -> Option<Millis> {
        let rt = self.runtime.as_ref()?;
        rt.groups
            .iter()
            .flat_map(|g| g.members.iter())
            .filter_map(|m| match &m.liveness {
                Liveness::Down(d) => d.next_attempt,
                Liveness::Alive => None,
            })
            .min()
    }

    /// Runs every recovery attempt due at or before `now`: groups in `NN` order, members in
    /// configuration order (D9).
    pub fn on_timer(&mut self, now: Millis) {
        for g in 0..self.group_count() {
            for m in 0..self.member_count(g) {
                let due = match &self.member(g, m).liveness {
                    Liveness::Down(d) => d.next_attempt.is_some_and(|t| t <= now),
                    Liveness::Alive => false,
                };
                if due {
                    self.attempt_recovery(g, m, now);
                }
            }
        }
    }

    /// A retry count changed while members are down: the new count applies at once. Members
    /// waiting for nothing get an attempt one interval from now; with retry 0 none is scheduled.
    /// Exhausted members stay exhausted (only manual recovery resets them, D9).
    pub fn reschedule_recovery(&mut self, now: Millis) {
        let disabled = self.config.retry.exhausted_by(0);
        let next = now + self.config.interval_s * 1000;
        let Some(rt) = self.runtime.as_mut() else {
            return;
        };
        for member in rt.groups.iter_mut().flat_map(|g| g.members.iter_mut()) {
            if let Liveness::Down(down) = &mut member.liveness {
                if down.exhausted {
                    continue;
                }
                if disabled {
                    down.next_attempt = None;
                } else if down.next_attempt.is_none() {
                    down.next_attempt = Some(next);
                }
            }
        }
    }

    fn attempt_recovery(&mut self, g: usize, m: usize, now: Millis) {
        let Liveness::Down(down) = self.member(g, m).liveness.clone() else {
            return;
        };
        let attempt = down.attempts + 1;
        let serial = self.member_serial(g, m);
        match self.try_reconnect(g, m) {
            Ok(()) => {}
            Err(rv) => {
                tracing::debug!(group = g, member = %serial, attempt, rv = %rv, "recovery attempt failed");
                self.fail_attempt(g, m, now, down, rv);
                return;
            }
        }
        let reintroduced = match self.reconcile(g, m, now) {
            Ok(n) => n,
            Err(rv) => {
                self.member_mut(g, m).forget_connection();
                self.fail_attempt(g, m, now, down, rv);
                return;
            }
        };
        if reintroduced > 0 {
            self.log_group(
                g,
                now,
                HaLogMessage::Reintroducing {
                    attempt,
                    count: reintroduced,
                    token: serial.clone(),
                },
            );
        }
        self.member_mut(g, m).liveness = Liveness::Alive;
        self.group_mut(g).offline = false;
        tracing::debug!(group = g, member = %serial, attempt, reintroduced, "member recovered");
        self.log_group(g, now, HaLogMessage::Recovered { attempt, serial });
    }

    fn fail_attempt(&mut self, g: usize, m: usize, now: Millis, down: Down, rv: Ckr) {
        let attempts = down.attempts + 1;
        let serial = self.member_serial(g, m);
        let retry = self.config.retry;
        let exhausted = retry.exhausted_by(attempts);
        let next_attempt = (!exhausted).then_some(now + self.config.interval_s * 1000);
        self.member_mut(g, m).liveness = Liveness::Down(Down {
            attempts,
            next_attempt,
            exhausted,
            ..down
        });
        self.log_group(
            g,
            now,
            HaLogMessage::RecoveryFailed {
                attempt: attempts,
                serial: serial.clone(),
                code: rv,
            },
        );
        if exhausted {
            self.log_group(g, now, HaLogMessage::RecoveryExhausted { serial });
        }
    }

    /// Probe, clean up the old connection, open the engine's session and log in.
    fn try_reconnect(&mut self, g: usize, m: usize) -> Result<(), Ckr> {
        let slot = self.member_slot(g, m);
        self.slots[slot].member.token_info()?;
        // Sessions from before the outage are dead; clear them on the member side too.
        self.slots[slot].member.close_all_sessions()?;
        self.member_mut(g, m).forget_connection();
        self.ensure_mgmt(g, m)?;
        Ok(())
    }

    /// Applies missed deletions and clones missed token objects from an alive member (D7).
    /// Returns the number of objects reintroduced.
    fn reconcile(&mut self, g: usize, m: usize, now: Millis) -> Result<u64, Ckr> {
        let s = self.ensure_mgmt(g, m)?;
        let slot = self.member_slot(g, m);
        let listed = self.slots[slot].member.find_objects(
            s,
            &ObjectQuery {
                token: Some(true),
                ..ObjectQuery::default()
            },
        )?;
        let mut present: BTreeSet<(ObjectId, ObjectClass)> = BTreeSet::new();
        for h in listed {
            let info = self.slots[slot].member.object_info(s, h)?;
            let key = (info.id.clone(), info.class);
            if self.member(g, m).pending_deletes.contains(&info.id) {
                self.slots[slot].member.destroy_object(s, h)?;
            } else {
                self.member_mut(g, m).handles.insert(key.clone(), h);
                present.insert(key);
            }
        }
        self.member_mut(g, m).pending_deletes.clear();
        let missing: Vec<(ObjectId, ObjectClass)> = self
            .group(g)
            .objects
            .values()
            .filter(|o| o.token && !present.contains(&(o.id.clone(), o.class)))
            .map(|o| (o.id.clone(), o.class))
            .collect();
        let mut count = 0;
        for (id, class) in missing {
            let sources: Vec<usize> = self
                .group(g)
                .alive()
                .into_iter()
                .filter(|&x| x != m)
                .collect();
            let mut done = false;
            for source in sources {
                match self.clone_one(g, source, m, None, &id, class) {
                    Ok(_) => {
                        done = true;
                        break;
                    }
                    Err(CloneError::Source(rv)) => {
                        // The source is in trouble, not the member being recovered (D19: the
                        // failure is noticed now, during our own call).
                        self.handle_member_error(g, source, now, rv);
                    }
                    Err(CloneError::Target(rv)) => return Err(rv),
                }
            }
            if done {
                count += 1;
            }
        }
        Ok(count)
    }
}

impl HaEngine {
    /// `hagroup recover` (B45, D9): every down member of the group (all groups with `None`) gets
    /// a fresh attempt counter, exhausted ones included, and an attempt the next time the
    /// application uses the group (or time is driven).
    pub fn request_recovery(&mut self, now: Millis, group: Option<usize>) {
        let Some(rt) = self.runtime.as_mut() else {
            return;
        };
        for g in rt.groups.iter_mut() {
            if group.is_some_and(|i| i != g.index) {
                continue;
            }
            for member in &mut g.members {
                if let Liveness::Down(down) = &mut member.liveness {
                    down.attempts = 0;
                    down.exhausted = false;
                    down.next_attempt = Some(now);
                }
            }
        }
        self.manual_pending = true;
    }

    /// Runs recovery that a manual request made due, before an application call (B45).
    pub(crate) fn drive_pending(&mut self, now: Millis) {
        if self.manual_pending {
            self.manual_pending = false;
            self.on_timer(now);
        }
    }
}
