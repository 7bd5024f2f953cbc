//! Auto-recovery (B39, B43, B44, D9): per down member, an attempt one interval after the drop
//! and one interval after each failed attempt, until it succeeds, the retry count is exhausted
//! (logged once, then only manual recovery remains) or auto-recovery is off (retry 0).
//!
//! An attempt: probe the member, drop what is left of the old connection, open a session and log
//! in with the credential held for the group, apply the deletions it missed, clone back the token
//! objects it missed (`reintroducing N token objects`), rejoin (`HALOG_RECOVERED`).

use std::collections::BTreeSet;

use crate::ckr::Ckr;
use crate::config::RetryLimit;
use crate::engine::HaEngine;
use crate::log::HaLogMessage;
use crate::ports::{Millis, ObjectClass, ObjectId, ObjectQuery};
use crate::replication::CloneError;
use crate::state::{Down, DownReason, Liveness};

/// Why a recovery attempt failed, which decides its log line.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Failure {
    /// The member did not answer or refused (`HALOG_RECOVERYFAILED`).
    Member(Ckr),
    /// The member is revoked (`HALOG_MEMBER_REVOKED`, D10).
    Revoked,
    /// The partition is not activated (B51).
    NotActivated,
    /// Logging in failed (`HALOG_LOGINFAILED`, B49): auto-recovery stops for the member.
    Login(Ckr),
}

/// The instant `seconds` after `now`, saturating at the end of time: a deadline never wraps
/// round to the past (a scenario near the end of the range simply has no more attempts).
pub fn deadline_after(now: Millis, seconds: u64) -> Millis {
    now.saturating_add(seconds.saturating_mul(1000))
}

impl HaEngine {
    /// The earliest instant at which `on_timer` has work, if any.
    pub fn next_deadline(&self) -> Option<Millis> {
        let rt = self.runtime.as_ref()?;
        rt.groups
            .iter()
            .flat_map(|g| g.members.iter())
            .filter_map(|m| match &m.liveness {
                Liveness::Down(d) => d.next_attempt,
                Liveness::Alive | Liveness::Removed => None,
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
                    Liveness::Alive | Liveness::Removed => false,
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
        let next = deadline_after(now, self.config.interval_s);
        let Some(rt) = self.runtime.as_mut() else {
            return;
        };
        for member in rt.groups.iter_mut().flat_map(|g| g.members.iter_mut()) {
            if let Liveness::Down(down) = &mut member.liveness {
                if down.exhausted || down.manual || down.reason == DownReason::LoginFailed {
                    continue;
                }
                if down.reason == DownReason::New && down.attempts == 0 {
                    // Joining a new member is not auto-recovery (B54); only a shorter interval
                    // brings its pass forward.
                    down.next_attempt = down.next_attempt.map(|t| t.min(next));
                } else if disabled {
                    down.next_attempt = None;
                } else {
                    // A shorter interval takes effect at once; a longer one from the next attempt.
                    down.next_attempt = Some(down.next_attempt.map_or(next, |t| t.min(next)));
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
        if down.reason == DownReason::New && down.attempts == 0 {
            self.log_group(
                g,
                now,
                HaLogMessage::NewMember {
                    serial: serial.clone(),
                },
            );
        }
        if let Err(failure) = self.try_reconnect(g, m) {
            tracing::debug!(group = g, member = %serial, attempt, failure = ?failure, "recovery attempt failed");
            self.fail_attempt(g, m, now, down, failure);
            return;
        }
        if matches!(
            down.reason,
            DownReason::NotActivated | DownReason::Deactivated
        ) {
            self.log_group(
                g,
                now,
                HaLogMessage::RecoveryNowActivated {
                    serial: serial.clone(),
                },
            );
            self.log_group(
                g,
                now,
                HaLogMessage::MemberNowActivated {
                    attempt,
                    serial: serial.clone(),
                },
            );
        }
        let reintroduced = match self.reconcile(g, m, now) {
            Ok(n) => n,
            Err(rv) => {
                self.member_mut(g, m).forget_connection();
                self.fail_attempt(g, m, now, down, Failure::Member(rv));
                return;
            }
        };
        self.member_mut(g, m).liveness = Liveness::Alive;
        self.group_mut(g).offline = false;
        self.fill_gaps_from(g, m, now);
        tracing::debug!(group = g, member = %serial, attempt, reintroduced, "member rejoined");
        if down.reason == DownReason::New {
            // A new member is replicated to and scheduled (B54); it was never lost.
            return;
        }
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
        self.log_group(g, now, HaLogMessage::Recovered { attempt, serial });
    }

    fn fail_attempt(&mut self, g: usize, m: usize, now: Millis, down: Down, failure: Failure) {
        let serial = self.member_serial(g, m);
        if let Failure::Login(code) = failure {
            // B49, D10: no further automatic attempts until `hagroup recover`.
            self.member_mut(g, m).liveness = Liveness::Down(Down {
                reason: DownReason::LoginFailed,
                next_attempt: None,
                manual: false,
                ..down
            });
            self.log_group(g, now, HaLogMessage::LoginFailed { serial, code });
            return;
        }
        let attempts = down.attempts + 1;
        // With auto-recovery off (retry 0) a failed manual attempt exhausts nothing: there was
        // no automatic recovery to disable, so the `exceeded maximum` line is not logged.
        let exhausted = self.config.retry != RetryLimit::Disabled
            && self.config.retry.exhausted_by(attempts)
            && !self.planted(crate::planted::PlantedBug::IgnoreRetryLimit);
        let disabled = self.config.retry == RetryLimit::Disabled;
        let next_attempt =
            (!exhausted && !disabled).then_some(deadline_after(now, self.config.interval_s));
        let reason = match failure {
            Failure::NotActivated if down.reason != DownReason::Deactivated => {
                DownReason::NotActivated
            }
            _ => down.reason,
        };
        self.member_mut(g, m).liveness = Liveness::Down(Down {
            reason,
            attempts,
            next_attempt,
            exhausted,
            manual: false,
        });
        let message = match failure {
            Failure::Member(code) => HaLogMessage::RecoveryFailed {
                attempt: attempts,
                serial: serial.clone(),
                code,
            },
            // D10: revocation is logged as such and counts as a failed attempt.
            Failure::Revoked => HaLogMessage::MemberRevoked {
                serial: serial.clone(),
            },
            Failure::NotActivated => HaLogMessage::RecoveryNotActivated {
                serial: serial.clone(),
            },
            Failure::Login(_) => return,
        };
        self.log_group(g, now, message);
        if exhausted {
            self.log_group(g, now, HaLogMessage::RecoveryExhausted { serial });
        }
    }

    /// Probe, activation check, clean up the old connection, open the engine's session and log in.
    fn try_reconnect(&mut self, g: usize, m: usize) -> Result<(), Failure> {
        let slot = self.member_slot(g, m);
        let member = &mut self.slots[slot].member;
        match member.token_info() {
            Ok(_) => {}
            Err(Ckr::CKR_DEVICE_REMOVED) => return Err(Failure::Revoked),
            Err(rv) => return Err(Failure::Member(rv)),
        }
        // The vendor extension tells activation without a login (B51); a generic token does
        // not have it, and then the login below tells.
        if member.properties().is_ok_and(|p| !p.activated) {
            return Err(Failure::NotActivated);
        }
        // Sessions from before the outage are dead; clear them on the member side too.
        member.close_all_sessions().map_err(Failure::Member)?;
        self.member_mut(g, m).forget_connection();
        let s = self.slots[slot]
            .member
            .open_session()
            .map_err(Failure::Member)?;
        self.member_mut(g, m).mgmt = Some(s);
        let Some(pin) = self.rt().and_then(|rt| rt.credential.clone()) else {
            return Ok(());
        };
        match self.slots[slot].member.login(s, &pin) {
            Ok(()) | Err(Ckr::CKR_USER_ALREADY_LOGGED_IN) => Ok(()),
            Err(Ckr::CKR_TOKEN_NOT_RECOGNIZED) => Err(Failure::NotActivated),
            Err(rv) if rv.drops_member() => Err(Failure::Member(rv)),
            Err(rv) => Err(Failure::Login(rv)),
        }
    }

    /// Applies missed deletions and clones missed token objects from an alive member (D7).
    /// Returns the number of objects reintroduced.
    fn reconcile(&mut self, g: usize, m: usize, now: Millis) -> Result<u64, Ckr> {
        self.member_mut(g, m).missing.clear();
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
            let group = self.group(g);
            // A half the group destroyed while the member was away (one half of a pair can be
            // destroyed alone): its id is still known, this class is not.
            let half_destroyed = !group.objects.contains_key(&key)
                && group.objects.keys().any(|(id, _)| *id == info.id);
            if half_destroyed || self.member(g, m).pending_deletes.contains(&info.id) {
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
            } else {
                tracing::debug!(member = m, id = %id, "no reachable member holds a missed object");
                self.member_mut(g, m).missing.insert((id, class));
            }
        }
        Ok(count)
    }

    /// B19: a member that rejoined without some objects (no holder was reachable then) gets
    /// them from `source`, which has just come back with them.
    fn fill_gaps_from(&mut self, g: usize, source: usize, now: Millis) {
        for other in self.group(g).alive() {
            if other == source {
                continue;
            }
            let gaps: Vec<(ObjectId, ObjectClass)> =
                self.member(g, other).missing.iter().cloned().collect();
            for (id, class) in gaps {
                if !self.group(g).objects.contains_key(&(id.clone(), class)) {
                    // Destroyed meanwhile: nothing to fill.
                    self.member_mut(g, other).missing.remove(&(id, class));
                    continue;
                }
                match self.clone_one(g, source, other, None, &id, class) {
                    Ok(_) => {
                        tracing::debug!(member = other, id = %id, "missed object filled");
                        self.member_mut(g, other).missing.remove(&(id, class));
                    }
                    Err(failure) => {
                        // Noticed during our own call (D19): the side that failed is handled.
                        let (who, rv) = match failure {
                            CloneError::Source(rv) => (source, rv),
                            CloneError::Target(rv) => (other, rv),
                        };
                        tracing::debug!(member = who, rv = %rv, "missed object not filled yet");
                        self.handle_member_error(g, who, now, rv);
                        break;
                    }
                }
            }
        }
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
                    down.manual = true;
                    down.next_attempt = Some(now);
                    if down.reason == DownReason::LoginFailed {
                        down.reason = DownReason::Dropped;
                    }
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
