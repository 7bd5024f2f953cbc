//! Auto-recovery (B39, B43, B44, D9): per down member, an attempt one interval after the drop
//! and one interval after each failed attempt, until it succeeds, the retry count is exhausted
//! (logged once, then only manual recovery remains) or auto-recovery is off (retry 0).
//!
//! An attempt: probe the member, drop what is left of the old connection, open a session and log
//! in with the credential held for the group, compare its objects with the group's table
//! ([`crate::reconcile`]: clone what it lacks, `reintroducing N token objects` — skipped when the
//! group's automatic synchronisation is off, D21 —, destroy what was deleted), rejoin (`HALOG_RECOVERED`); then members left with gaps are compared again, so a
//! failure found there (a copy source dropping) is logged after the rejoin it follows.
//!
//! While the application holds no login, an attempt reconnects the member and logs its outcome
//! on time but concludes nothing about what it holds: the comparison runs at the application's
//! next login (see [`crate::reconcile`]).

use crate::ckr::Ckr;
use crate::config::RetryLimit;
use crate::engine::HaEngine;
use crate::log::HaLogMessage;
use crate::ports::Millis;
use crate::state::{Down, DownReason, Liveness, Reconciliation};

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

    /// The recovery thread's run (B41): every recovery attempt due at or before `now`, groups in
    /// `NN` order, members in configuration order (D9). A manual recovery requested before
    /// `now` is due then too, so this run serves it (D9: the next drive attempts them): the
    /// application's next call has nothing left to drive (D115).
    pub fn on_timer(&mut self, now: Millis) {
        self.manual_pending = false;
        self.run_due(now, false);
        self.refill_requested(now);
    }

    /// Runs the attempts due at or before `now` (D9's order); with `manual_only`, only those of
    /// members a manual recovery is still waiting for (B45).
    fn run_due(&mut self, now: Millis, manual_only: bool) {
        for g in 0..self.group_count() {
            for m in 0..self.member_count(g) {
                let due = match &self.member(g, m).liveness {
                    Liveness::Down(d) => {
                        d.next_attempt.is_some_and(|t| t <= now) && (d.manual || !manual_only)
                    }
                    Liveness::Alive | Liveness::Removed => false,
                };
                if due {
                    self.attempt_recovery(g, m, now);
                }
            }
        }
    }

    /// The recovery settings changed while members are down (B44, D9): the next attempt is due
    /// one interval, in the interval now in force, after the last attempt (or the drop), and
    /// never before now; members waiting for nothing (auto-recovery was off) get an attempt one
    /// interval from now; with retry 0 none is scheduled. Whether an attempt may still run
    /// under a lowered retry count is decided when it is due. Exhausted members stay exhausted
    /// (only manual recovery resets them, D9).
    pub fn reschedule_recovery(&mut self, now: Millis) {
        let disabled = self.config.retry.exhausted_by(0);
        let interval_s = self.config.interval_s;
        let Some(rt) = self.runtime.as_mut() else {
            return;
        };
        for member in rt.groups.iter_mut().flat_map(|g| g.members.iter_mut()) {
            if let Liveness::Down(down) = &mut member.liveness {
                if down.exhausted || down.manual || down.reason == DownReason::LoginFailed {
                    continue;
                }
                let due = deadline_after(down.since, interval_s).max(now);
                if down.reason == DownReason::New {
                    // Joining a new member is not auto-recovery (B54): its pass is due one
                    // interval after it was added, whatever the retry count.
                    down.next_attempt = Some(due);
                } else if disabled {
                    down.next_attempt = None;
                } else if down.next_attempt.is_some() {
                    down.next_attempt = Some(due);
                } else {
                    // Switched on now: the schedule counts from the switch, so a later
                    // settings change (any command re-applies the configuration) moves the
                    // attempt relative to it, not to the drop (D9).
                    down.since = now;
                    down.next_attempt = Some(deadline_after(now, interval_s));
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
        let new = down.reason == DownReason::New;
        if !new
            && !down.manual
            && self.config.retry.exhausted_by(down.attempts)
            && !self.planted(crate::planted::PlantedBug::IgnoreRetryLimit)
        {
            // B44, D9: an attempt runs only while its counter is below the retry count in
            // force when it is due; a count lowered meanwhile ends automatic recovery here
            // (with auto-recovery off there is nothing to disable and nothing is logged).
            if self.config.retry == RetryLimit::Disabled {
                self.member_mut(g, m).liveness = Liveness::Down(Down {
                    next_attempt: None,
                    ..down
                });
            } else {
                self.exhaust(g, m, now, down);
            }
            return;
        }
        if new {
            // D24: a new member is detected once, at its first pass (B54).
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
            if new && !matches!(failure, Failure::Login(_)) {
                self.new_member_lost(g, m, now);
                return;
            }
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
        // Reachable again: it counts as alive while it is brought in, so a copy source lost
        // on the way is no total loss (B53).
        self.member_mut(g, m).liveness = Liveness::Alive;
        let compared = self.can_reconcile(g);
        let reintroduced = if compared {
            // D21: the one place automatic synchronisation is checked for recovery; a new
            // member is still replicated to (B54: joining is not recovery).
            let sync = new || self.config.auto_sync_enabled(&self.group(g).label);
            match self.reconcile(g, m, now, sync) {
                Ok(done) => {
                    self.member_mut(g, m).reconciliation = if done.gaps {
                        Reconciliation::Gaps
                    } else {
                        Reconciliation::Done
                    };
                    done.copied
                }
                Err(rv) => {
                    self.member_mut(g, m).forget_connection();
                    if new {
                        self.new_member_lost(g, m, now);
                    } else {
                        self.fail_attempt(g, m, now, down, Failure::Member(rv));
                    }
                    self.note_if_all_offline(g, now);
                    return;
                }
            }
        } else {
            // No login: reconnected, nothing concluded about what it holds (compared at the
            // application's next login).
            self.member_mut(g, m).reconciliation =
                if new && self.planted(crate::planted::PlantedBug::NewMemberNotReconciledAtLogin) {
                    Reconciliation::Done
                } else {
                    Reconciliation::AtLogin {
                        attempt: (!new).then_some(attempt),
                    }
                };
            0
        };
        self.group_mut(g).offline = false;
        tracing::debug!(group = g, member = %serial, attempt, reintroduced, compared, "member rejoined");
        // A new member is replicated to and scheduled (B54); it was never lost, so no
        // `recovery attempt` lines.
        if !new {
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
        // A returning member may hold what others lack (B19); a failure found there is logged
        // after the rejoin above.
        self.refill_gaps(g, now);
    }

    /// D24: a new member that cannot be brought in when it is detected is handled as a member
    /// dropped then: logged `has dropped member`, attempts numbered from 1, the first one
    /// interval later (D9).
    fn new_member_lost(&mut self, g: usize, m: usize, now: Millis) {
        let serial = self.member_serial(g, m);
        self.mark_down(g, m, now, DownReason::Dropped);
        self.log_group(g, now, HaLogMessage::DropMember { serial });
    }

    /// B44: the attempt counter has reached the retry count in force: automatic recovery
    /// stops for the member (logged once); only manual recovery remains.
    fn exhaust(&mut self, g: usize, m: usize, now: Millis, down: Down) {
        self.member_mut(g, m).liveness = Liveness::Down(Down {
            next_attempt: None,
            exhausted: true,
            ..down
        });
        let serial = self.member_serial(g, m);
        self.log_group(g, now, HaLogMessage::RecoveryExhausted { serial });
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
            since: now,
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
        // A drop code from the question fails the attempt like any other call's (D3).
        match member.properties() {
            Ok(p) if !p.activated => return Err(Failure::NotActivated),
            Err(rv) if rv.drops_member() => return Err(Failure::Member(rv)),
            _ => {}
        }
        // Sessions from before the outage are dead; clear them on the member side too.
        member.close_all_sessions().map_err(Failure::Member)?;
        self.slots[slot].reset_pending = false;
        self.member_mut(g, m).forget_connection();
        let s = self.slots[slot]
            .member
            .open_session()
            .map_err(Failure::Member)?;
        self.member_mut(g, m).mgmt = Some(s);
        // The held credential is for a group the application is logged in to (B43); without
        // that login the attempt reconnects the member and no more.
        let pin = if self.group(g).logged_in {
            self.rt().and_then(|rt| rt.credential.clone())
        } else {
            None
        };
        let Some(pin) = pin else {
            // No login will tell a deactivation that struck while the member was reconnected
            // (B51, D17: only a call needing a login shows it), so the activation is asked
            // again before the attempt claims the member back.
            let failure = match self.slots[slot].member.properties() {
                Ok(p) if !p.activated => Some(Failure::NotActivated),
                // A member that stops answering here is not back (D3, B43).
                Err(rv) if rv.drops_member() => Some(Failure::Member(rv)),
                _ => None,
            };
            if let Some(failure) = failure {
                self.close_member_session(slot, s);
                self.member_mut(g, m).forget_connection();
                return Err(failure);
            }
            return Ok(());
        };
        match self.slots[slot].member.login(s, &pin) {
            Ok(()) | Err(Ckr::CKR_USER_ALREADY_LOGGED_IN) => Ok(()),
            Err(Ckr::CKR_TOKEN_NOT_RECOGNIZED) => Err(Failure::NotActivated),
            Err(rv) if rv.refuses_credential() => Err(Failure::Login(rv)),
            // Not the credential (a busy member, D35): the attempt failed; retries go on (D43).
            Err(rv) => Err(Failure::Member(rv)),
        }
    }
}

impl HaEngine {
    /// `hagroup recover` (B45, D9): every down member of the group (all groups with `None`) gets
    /// a fresh attempt counter, exhausted ones included, and an attempt the next time the
    /// application uses the group (or time is driven); members left with gaps are compared
    /// with the group's table again then (B19).
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
        self.refill_pending = true;
    }

    /// Runs recovery that a manual request made due, before an application call (B45), when
    /// the recovery thread has not served it yet: the manual attempts only. An automatic
    /// attempt is the recovery thread's (B41): it never runs inside, nor stalls, an
    /// application call, even while that thread is still busy with an earlier run (D115).
    pub(crate) fn drive_pending(&mut self, now: Millis) {
        if self.manual_pending {
            self.manual_pending = false;
            self.run_due(now, true);
        }
        self.refill_requested(now);
    }
}

#[cfg(test)]
mod tests {
    use crate::config::{ClientConfig, GroupConfig, RetryLimit};
    use crate::log::HaLogSettings;
    use crate::ports::{KeyKind, Secret};
    use crate::state::VSessionHandle;
    use crate::test_support::{FIXTURE_CO, Fixture, fixture};

    /// Groups of these members (labels `a`, `b`, ...), retry 3, interval 60 s; initialised,
    /// one virtual session per group, logged in, one key made in each group.
    fn running(groups: &[&[&str]]) -> (Fixture, Vec<VSessionHandle>) {
        let serials: Vec<&str> = groups.iter().flat_map(|g| g.iter().copied()).collect();
        let mut f = fixture(&serials);
        let config = ClientConfig {
            groups: groups
                .iter()
                .zip('a'..)
                .map(|(members, label)| GroupConfig {
                    label: label.to_string(),
                    members: members.iter().map(|m| (*m).to_string()).collect(),
                    standby: Default::default(),
                })
                .collect(),
            retry: RetryLimit::Bounded(3),
            interval_s: 60,
            ..ClientConfig::default()
        };
        let log = HaLogSettings {
            path: Some("/ha-logs".to_string()),
            ..HaLogSettings::default()
        };
        f.engine.apply_config(config, log, 0).expect("configure");
        f.engine.initialize(0).expect("initialise");
        let mut sessions = Vec::new();
        for g in 0..groups.len() {
            let vs = f.engine.open_session(0, g).expect("session");
            f.engine
                .login(0, vs, &Secret::new(FIXTURE_CO))
                .expect("login");
            f.engine
                .generate_key(0, vs, KeyKind::Aes256, "k", true)
                .expect("key");
            sessions.push(vs);
        }
        (f, sessions)
    }

    /// The HA log lines that contain `text`.
    fn logged(f: &Fixture, text: &str) -> usize {
        f.sink.lines().iter().filter(|l| l.contains(text)).count()
    }

    #[test]
    fn a_manual_recovery_the_recovery_thread_served_is_not_driven_again_by_a_call() {
        // D115 (B45, D9, B41): the recovery thread's run at t=10 s made the manual attempt; the
        // application's call at t=100 s drives nothing, although attempt 2 is due (t=70 s): it is
        // the recovery thread's, which runs it when it is free.
        let (mut f, vs) = running(&[&["11", "22", "33"]]);
        f.controls[2].set_reachable(false);
        f.engine
            .generate_key(0, vs[0], KeyKind::Aes256, "k2", true)
            .expect("key on 11 and 22");
        assert_eq!(logged(&f, "has dropped member: 33"), 1);
        f.engine.request_recovery(10_000, None);
        assert!(f.engine.manual_pending);
        f.engine.on_timer(10_000);
        assert_eq!(logged(&f, "recovery attempt 1 failed for member: 33"), 1);
        assert!(
            !f.engine.manual_pending,
            "the thread's run served the request"
        );
        f.engine
            .generate_key(100_000, vs[0], KeyKind::Aes256, "k3", true)
            .expect("key on 11 and 22");
        assert_eq!(logged(&f, "recovery attempt 2"), 0, "{:#?}", f.sink.lines());
        f.engine.on_timer(100_000);
        assert_eq!(logged(&f, "recovery attempt 2 failed for member: 33"), 1);
    }

    #[test]
    fn a_call_drives_the_manual_attempts_and_no_automatic_one() {
        // D115 (B45, B41): `hagroup recover -group a` at t=10 s waits for the next drive; the
        // recovery thread has not run since (it is busy), so the application's call at t=100 s
        // drives it: member 22's manual attempt, not member 44's automatic attempt 1 of group
        // b (due at t=60 s), which stays the recovery thread's.
        let (mut f, vs) = running(&[&["11", "22"], &["33", "44"]]);
        f.controls[1].set_reachable(false);
        f.controls[3].set_reachable(false);
        f.engine
            .generate_key(0, vs[0], KeyKind::Aes256, "ka", true)
            .expect("key on 11");
        f.engine
            .generate_key(0, vs[1], KeyKind::Aes256, "kb", true)
            .expect("key on 33");
        assert_eq!(logged(&f, "has dropped member: 22"), 1);
        assert_eq!(logged(&f, "has dropped member: 44"), 1);
        f.engine.request_recovery(10_000, Some(0));
        f.engine
            .generate_key(100_000, vs[0], KeyKind::Aes256, "ka2", true)
            .expect("key on 11");
        assert_eq!(logged(&f, "recovery attempt 1 failed for member: 22"), 1);
        assert_eq!(
            logged(&f, "recovery attempt 1 failed for member: 44"),
            0,
            "{:#?}",
            f.sink.lines()
        );
        f.engine.on_timer(100_000);
        assert_eq!(logged(&f, "recovery attempt 1 failed for member: 44"), 1);
    }
}
